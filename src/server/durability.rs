//! When written batches are flushed to the OS and synced to disk.
//!
//! Every connection flushes (or waits for a flush that covers) its writes
//! before it replies, so an acknowledged write survives `kill -9` whatever
//! the policy. A flush already done by another connection is not repeated.
//! Then, following `appendfsync`:
//!
//! - `always`: a connection whose batch of commands wrote waits, before it
//!   replies, until a sync covers its writes. One sync serves every waiting
//!   client (group commit).
//! - `everysec`: a sync every second, when something was written.
//! - `no`: only at shutdown; committed batches already reached the OS, so
//!   a crash of the process alone loses nothing.
//!
//! Syncing runs on its own OS thread so that an fsync never stalls the
//! async workers (a task under madsim, where threads are not allowed).

use crate::command::Shared;
use crate::config::AppendFsync;
use crate::sync::{lock, watch};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[cfg(madsim)]
thread_local! {
    static DISK_LATENCY: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// A slow disk for the simulation running on this thread (madsim build
/// only): each sync takes up to `max`, drawn from the seed.
#[cfg(madsim)]
pub fn set_disk_latency(max: Duration) {
    DISK_LATENCY.with(|latency| latency.set(max));
}

pub struct Durability {
    /// The highest write sequence known to be flushed to the OS.
    flushed: std::sync::atomic::AtomicU64,
    flush_lock: Mutex<()>,
    /// The highest write sequence a client is waiting for.
    requested: Mutex<u64>,
    wake: Condvar,
    synced: watch::Sender<u64>,
}

impl Durability {
    pub fn new() -> Durability {
        Durability {
            flushed: std::sync::atomic::AtomicU64::new(0),
            flush_lock: Mutex::new(()),
            requested: Mutex::new(0),
            wake: Condvar::new(),
            synced: watch::channel(0).0,
        }
    }

    /// Whether every batch up to `seq` already reached the OS.
    pub fn is_flushed(&self, seq: u64) -> bool {
        self.flushed.load(Ordering::Acquire) >= seq
    }

    /// Makes sure every batch up to `seq` reached the OS.
    pub fn flush_upto(&self, shared: &Shared, seq: u64) {
        if self.is_flushed(seq) {
            return;
        }
        let _guard = lock(&self.flush_lock);
        if self.flushed.load(Ordering::Acquire) >= seq {
            return;
        }
        let target = shared.store.write_seq();
        match shared.store.engine().flush() {
            Ok(()) => self.flushed.fetch_max(target, Ordering::AcqRel),
            Err(e) => {
                crate::log::warning(&format!("flush failed: {e}"));
                0
            }
        };
    }

    /// Waits until every batch up to `seq` is synced.
    pub async fn wait_synced(&self, seq: u64) {
        if *self.synced.borrow() >= seq {
            return;
        }
        let mut receiver = self.synced.subscribe();
        {
            let mut requested = lock(&self.requested);
            *requested = (*requested).max(seq);
            self.wake.notify_one();
        }
        // The sender lives as long as `self`, so this only ends when synced.
        let _ = receiver.wait_for(|synced| *synced >= seq).await;
    }

    /// Syncs everything written so far and publishes it.
    pub fn sync_now(&self, shared: &Shared) {
        let target = shared.store.write_seq();
        if *self.synced.borrow() >= target {
            return;
        }
        match shared.store.engine().sync() {
            Ok(()) => {
                self.flushed
                    .fetch_max(target, std::sync::atomic::Ordering::AcqRel);
                self.synced.send_replace(target);
            }
            Err(e) => crate::log::warning(&format!("sync failed: {e}")),
        }
    }

    /// Syncs if a client waits for it or the `everysec` second is over.
    fn step(&self, shared: &Shared, last_periodic: &mut Instant) {
        if self.sync_due(shared, last_periodic) {
            self.sync_now(shared);
        }
    }

    /// Whether a client waits for a sync or the `everysec` second is over
    /// (then the next second starts now).
    fn sync_due(&self, shared: &Shared, last_periodic: &mut Instant) -> bool {
        let requested = *lock(&self.requested);
        let periodic_due = shared.appendfsync() == AppendFsync::EverySec
            && last_periodic.elapsed() >= Duration::from_secs(1);
        if periodic_due {
            *last_periodic = Instant::now();
        }
        requested > *self.synced.borrow() || periodic_due
    }

    /// The sync loop on its own OS thread; returns when `stop` says so.
    pub fn run(self: Arc<Self>, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
        let mut last_periodic = Instant::now();
        while !stop.load(Ordering::Acquire) {
            {
                let guard = lock(&self.requested);
                let _ = self
                    .wake
                    .wait_timeout_while(guard, Duration::from_millis(100), |requested| {
                        *requested <= *self.synced.borrow()
                    })
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            self.step(&shared, &mut last_periodic);
        }
        self.sync_now(&shared);
    }

    /// The same loop as a task, for madsim, which forbids OS threads: it
    /// polls every millisecond of simulated time, and a sync takes as long
    /// as the simulated disk says ([`set_disk_latency`]): the clients
    /// waiting for it wait that long, and a power cut meanwhile loses what
    /// it was to make durable.
    #[cfg(madsim)]
    pub async fn run_task(self: Arc<Self>, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
        let mut last_periodic = Instant::now();
        while !stop.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if self.sync_due(&shared, &mut last_periodic) {
                let max = DISK_LATENCY.with(std::cell::Cell::get);
                if !max.is_zero() {
                    use madsim::rand::Rng;
                    let latency = madsim::rand::thread_rng().gen_range(Duration::ZERO..=max);
                    tokio::time::sleep(latency).await;
                }
                self.sync_now(&shared);
            }
        }
        self.sync_now(&shared);
    }

    /// Wakes the loop (used at shutdown).
    pub fn wake(&self) {
        self.wake.notify_all();
    }
}

impl Default for Durability {
    fn default() -> Self {
        Durability::new()
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::memory::MemoryEngine;
    use crate::keyspace::Meta;
    use bytes::Bytes;
    use std::sync::atomic::AtomicBool;

    fn write(shared: &Shared, key: &str) -> u64 {
        let mut txn = shared.store.begin(0);
        txn.put(0, key.as_bytes(), Meta::string(Bytes::from("v"), 0))
            .expect("put");
        txn.commit().expect("commit");
        shared.store.write_seq()
    }

    #[tokio::test]
    async fn a_waited_for_write_survives_a_power_cut_and_an_unsynced_one_does_not() {
        let engine = Arc::new(MemoryEngine::new());
        let config = Config {
            appendfsync: AppendFsync::No,
            ..Config::default()
        };
        let shared = crate::command::Shared::new(config, engine.clone(), None, 0).expect("state");
        let durability = Arc::new(Durability::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (durability, shared, stop) = (durability.clone(), shared.clone(), stop.clone());
            std::thread::spawn(move || durability.run(shared, stop))
        };

        let seq = write(&shared, "acknowledged");
        durability.wait_synced(seq).await;
        write(&shared, "never-synced");
        // With `appendfsync no` nothing syncs on its own before the cut.
        std::thread::sleep(Duration::from_millis(250));
        engine.power_cut();

        let now = 0;
        assert!(shared
            .store
            .get(0, b"acknowledged", now)
            .expect("get")
            .is_some());
        assert!(shared
            .store
            .get(0, b"never-synced", now)
            .expect("get")
            .is_none());
        stop.store(true, std::sync::atomic::Ordering::Release);
        durability.wake();
        thread.join().expect("join");
    }
}
