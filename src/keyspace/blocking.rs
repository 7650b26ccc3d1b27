//! Blocked clients by key (Redis' `blocking_keys`): which clients wait for
//! which (db, key), in the order they blocked, and a wake-up per client.
//!
//! [`super::Txn`] commits report the keys they changed here, under the
//! store's write lock and after the engine write (like WATCH). A changed key
//! wakes only the *head* of its queue, the client blocked longest, and
//! records the key in that client's ready list. The woken client takes the
//! write lock, drains its ready list ([`BlockingKeys::wake_reason`]) and
//! tries to serve itself from those keys, in the order they were signalled:
//!
//! - served: it leaves with [`BlockingKeys::finish`]; its own commit (the
//!   pop) signals the key again, which wakes the next client in line;
//! - nothing there (another client took it): it stays at the head and waits.
//!
//! A client that leaves for any other reason (timeout, CLIENT UNBLOCK,
//! disconnect, an error reply) passes the keys it was woken for on to their
//! new heads. So a key with data and waiters always has a woken head, and
//! no wake-up is lost; a spurious wake-up costs one retry. Serving happens
//! under the write lock and the client leaves the queues in the same
//! critical section, so an element goes to one client only.
//!
//! What "serve" means (pop a list, pop a sorted set) is the command's
//! business: this module knows keys and client ids only. No clock, no I/O.

use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A key in one logical database.
pub type DbKey = (usize, Bytes);

/// Why CLIENT UNBLOCK ended a wait: answer like a timeout, or with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    Timeout,
    Error,
}

/// What a woken client finds.
#[derive(Debug, PartialEq, Eq)]
pub enum Woken {
    /// Keys that changed since the last look, in signal order (possibly
    /// none: a spurious wake-up).
    Ready(Vec<DbKey>),
    /// CLIENT UNBLOCK took it out of the queues.
    Interrupted(Interrupt),
}

struct Waiter {
    keys: Vec<DbKey>,
    ready: Vec<DbKey>,
    wake: Arc<Notify>,
    timed: bool,
}

#[derive(Default)]
struct Inner {
    /// (db, key) → blocked clients, longest-blocked first.
    queues: HashMap<DbKey, VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
    /// Clients CLIENT UNBLOCK removed, until they read why.
    interrupted: HashMap<u64, Interrupt>,
}

#[derive(Default)]
pub struct BlockingKeys {
    /// Number of blocked clients: 0 keeps commits off the lock.
    blocked: AtomicUsize,
    /// How many of them have a timeout.
    timed: AtomicUsize,
    inner: Mutex<Inner>,
}

impl BlockingKeys {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether any client is blocked.
    pub fn active(&self) -> bool {
        self.blocked.load(Ordering::Acquire) > 0
    }

    /// INFO's `blocked_clients`.
    pub fn count(&self) -> usize {
        self.blocked.load(Ordering::Acquire)
    }

    /// INFO's `clients_in_timeout_table`: blocked clients with a timeout.
    pub fn timed(&self) -> usize {
        self.timed.load(Ordering::Acquire)
    }

    /// Blocks `client` on `keys` (duplicates count once), `timed` if it has
    /// a timeout. Call it under the store's write lock, after finding every
    /// key empty: a commit after that sees the registration.
    pub fn block(
        &self,
        client: u64,
        keys: impl IntoIterator<Item = DbKey>,
        wake: Arc<Notify>,
        timed: bool,
    ) {
        let mut inner = self.lock();
        let mut unique: Vec<DbKey> = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        for key in &unique {
            inner
                .queues
                .entry(key.clone())
                .or_default()
                .push_back(client);
        }
        inner.interrupted.remove(&client);
        let previous = inner.waiters.insert(
            client,
            Waiter {
                keys: unique,
                ready: Vec::new(),
                wake,
                timed,
            },
        );
        debug_assert!(previous.is_none(), "client {client} blocked twice");
        if previous.is_none() {
            self.blocked.fetch_add(1, Ordering::AcqRel);
            self.timed.fetch_add(usize::from(timed), Ordering::AcqRel);
        }
    }

    /// A commit changed these keys (and emptied or swapped the databases in
    /// `remapped`): wakes the head of each key's queue.
    pub fn signal<'k>(
        &self,
        keys: impl IntoIterator<Item = (usize, &'k [u8])>,
        remapped: &HashSet<usize>,
    ) {
        let mut inner = self.lock();
        if !remapped.is_empty() {
            let all: Vec<DbKey> = inner
                .queues
                .keys()
                .filter(|(db, _)| remapped.contains(db))
                .cloned()
                .collect();
            for key in all {
                wake_head(&mut inner, key);
            }
        }
        for (db, key) in keys {
            let key = (db, Bytes::copy_from_slice(key));
            if inner.queues.contains_key(&key) {
                wake_head(&mut inner, key);
            }
        }
    }

    /// What the woken `client` should do; drains its ready list. A client
    /// that is not blocked (any more) finds nothing ready.
    pub fn wake_reason(&self, client: u64) -> Woken {
        let mut inner = self.lock();
        if let Some(interrupt) = inner.interrupted.remove(&client) {
            return Woken::Interrupted(interrupt);
        }
        Woken::Ready(
            inner
                .waiters
                .get_mut(&client)
                .map(|waiter| std::mem::take(&mut waiter.ready))
                .unwrap_or_default(),
        )
    }

    /// `client` stops waiting (served, timed out, failed, disconnected).
    /// The keys in `woken_for` (those it was woken for and took), and any
    /// it has not looked at yet, are passed on to their new heads. `Err`
    /// when CLIENT UNBLOCK took it out first: its answer wins.
    pub fn finish(&self, client: u64, woken_for: &[DbKey]) -> Result<(), Interrupt> {
        let mut inner = self.lock();
        if let Some(interrupt) = inner.interrupted.remove(&client) {
            pass_on(&mut inner, woken_for.iter().cloned());
            return Err(interrupt);
        }
        self.remove(&mut inner, client, woken_for);
        Ok(())
    }

    /// CLIENT UNBLOCK: takes `client` out of the queues and wakes it to
    /// answer as `interrupt` says. False if it is not blocked.
    pub fn interrupt(&self, client: u64, interrupt: Interrupt) -> bool {
        let mut inner = self.lock();
        let Some(wake) = inner.waiters.get(&client).map(|w| w.wake.clone()) else {
            return false;
        };
        self.remove(&mut inner, client, &[]);
        inner.interrupted.insert(client, interrupt);
        wake.notify_one();
        true
    }

    /// Forgets `client` whatever its state (disconnect, kill).
    pub fn forget(&self, client: u64) {
        let mut inner = self.lock();
        inner.interrupted.remove(&client);
        self.remove(&mut inner, client, &[]);
    }

    pub fn is_blocked(&self, client: u64) -> bool {
        self.lock().waiters.contains_key(&client)
    }

    fn remove(&self, inner: &mut Inner, client: u64, woken_for: &[DbKey]) {
        let Some(waiter) = inner.waiters.remove(&client) else {
            pass_on(inner, woken_for.iter().cloned());
            return;
        };
        self.blocked.fetch_sub(1, Ordering::AcqRel);
        self.timed
            .fetch_sub(usize::from(waiter.timed), Ordering::AcqRel);
        for key in &waiter.keys {
            if let Some(queue) = inner.queues.get_mut(key) {
                queue.retain(|&id| id != client);
                if queue.is_empty() {
                    inner.queues.remove(key);
                }
            }
        }
        pass_on(inner, woken_for.iter().cloned().chain(waiter.ready));
    }
}

/// Wakes the new heads of `keys`.
fn pass_on(inner: &mut Inner, keys: impl IntoIterator<Item = DbKey>) {
    for key in keys {
        wake_head(inner, key);
    }
}

/// Marks `key` ready for the head of its queue and wakes it.
fn wake_head(inner: &mut Inner, key: DbKey) {
    let Some(&head) = inner.queues.get(&key).and_then(|queue| queue.front()) else {
        return;
    };
    if let Some(waiter) = inner.waiters.get_mut(&head) {
        if !waiter.ready.contains(&key) {
            waiter.ready.push(key);
        }
        waiter.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &'static str) -> DbKey {
        (0, Bytes::from_static(name.as_bytes()))
    }

    fn ready(keys: &[&'static str]) -> Woken {
        Woken::Ready(keys.iter().map(|k| key(k)).collect())
    }

    fn signal(b: &BlockingKeys, name: &str) {
        b.signal([(0, name.as_bytes())], &HashSet::new());
    }

    #[test]
    fn a_signal_wakes_only_the_longest_blocked_client() {
        let b = BlockingKeys::default();
        for id in 1..=3 {
            b.block(id, [key("k")], Arc::new(Notify::new()), false);
        }
        assert_eq!(b.count(), 3);
        signal(&b, "k");
        assert_eq!(b.wake_reason(1), ready(&["k"]));
        assert_eq!(b.wake_reason(2), ready(&[]));
        // Served: the next one is woken by the serving commit.
        assert_eq!(b.finish(1, &[]), Ok(()));
        signal(&b, "k");
        assert_eq!(b.wake_reason(2), ready(&["k"]));
        assert_eq!(b.wake_reason(3), ready(&[]));
        assert_eq!(b.count(), 2);
    }

    #[test]
    fn leaving_passes_the_wake_up_to_the_next_client() {
        let b = BlockingKeys::default();
        b.block(1, [key("a"), key("b")], Arc::new(Notify::new()), false);
        b.block(2, [key("b")], Arc::new(Notify::new()), false);
        signal(&b, "a");
        signal(&b, "b");
        // Client 1 takes both, is served from "a": "b" goes to client 2.
        let Woken::Ready(keys) = b.wake_reason(1) else {
            panic!("not interrupted");
        };
        assert_eq!(keys, vec![key("a"), key("b")]);
        assert_eq!(b.finish(1, &keys), Ok(()));
        assert_eq!(b.wake_reason(2), ready(&["b"]));
        // Timing out before looking passes on what was pending too.
        b.block(3, [key("c")], Arc::new(Notify::new()), false);
        b.block(4, [key("c")], Arc::new(Notify::new()), false);
        signal(&b, "c");
        b.forget(3);
        assert_eq!(b.wake_reason(4), ready(&["c"]));
    }

    #[test]
    fn signals_of_other_keys_and_databases_wake_nobody() {
        let b = BlockingKeys::default();
        b.block(1, [key("k")], Arc::new(Notify::new()), false);
        b.signal([(1, &b"k"[..]), (0, &b"other"[..])], &HashSet::new());
        assert_eq!(b.wake_reason(1), ready(&[]));
        b.signal(std::iter::empty(), &HashSet::from([0]));
        assert_eq!(b.wake_reason(1), ready(&["k"]));
    }

    #[test]
    fn client_unblock_wins_over_a_later_serve() {
        let b = BlockingKeys::default();
        b.block(1, [key("k")], Arc::new(Notify::new()), false);
        b.block(2, [key("k")], Arc::new(Notify::new()), false);
        signal(&b, "k");
        assert!(b.interrupt(1, Interrupt::Error));
        assert!(!b.interrupt(1, Interrupt::Error), "already out");
        assert!(!b.is_blocked(1));
        // Its pending wake-up went to client 2.
        assert_eq!(b.wake_reason(2), ready(&["k"]));
        assert_eq!(b.finish(1, &[]), Err(Interrupt::Error));
        assert_eq!(b.count(), 1);
        assert_eq!(b.wake_reason(1), ready(&[]));
    }

    #[test]
    fn interrupted_client_reads_why_once() {
        let b = BlockingKeys::default();
        let wake = Arc::new(Notify::new());
        b.block(7, [key("k"), key("k")], wake, true);
        assert_eq!((b.count(), b.timed()), (1, 1));
        assert!(b.interrupt(7, Interrupt::Timeout));
        assert_eq!(b.wake_reason(7), Woken::Interrupted(Interrupt::Timeout));
        assert_eq!(b.wake_reason(7), ready(&[]));
        assert!(!b.active());
        b.forget(7);
        assert_eq!((b.count(), b.timed()), (0, 0));
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// A client blocks on some of three keys (if it may: not blocked,
        /// every key empty).
        Block(u8, Vec<u8>),
        /// A push to a key: its commit signals it.
        Push(u8),
        /// A client handles its wake-up: serves itself from the first ready
        /// key with elements (that pop's commit signals the key).
        Wake(u8),
        TimeOut(u8),
        Unblock(u8),
    }

    impl quickcheck::Arbitrary for Op {
        fn arbitrary(g: &mut quickcheck::Gen) -> Op {
            let client = u8::arbitrary(g) % 5;
            let key = |g: &mut quickcheck::Gen| u8::arbitrary(g) % 3;
            match u8::arbitrary(g) % 10 {
                0..=2 => Op::Block(
                    client,
                    (0..1 + u8::arbitrary(g) % 3).map(|_| key(g)).collect(),
                ),
                3..=4 => Op::Push(key(g)),
                5..=7 => Op::Wake(client),
                8 => Op::TimeOut(client),
                _ => Op::Unblock(client),
            }
        }
    }

    fn name(key: u8) -> DbKey {
        (0, Bytes::from(vec![b'a' + key]))
    }

    /// No wake-up is lost: a key with elements and waiters always has a
    /// head that is woken for it.
    fn check_woken(b: &BlockingKeys, lengths: &[u32; 3]) -> bool {
        let inner = b.lock();
        (0..3).all(|k| {
            let key = name(k);
            lengths[k as usize] == 0
                || inner
                    .queues
                    .get(&key)
                    .and_then(|q| q.front())
                    .is_none_or(|head| inner.waiters[head].ready.contains(&key))
        })
    }

    /// One client's wake-up, as `on_wake` does it: every element it pops
    /// is counted in `served`.
    fn wake(b: &BlockingKeys, lengths: &mut [u32; 3], client: u64, served: &mut u32) {
        let Woken::Ready(keys) = b.wake_reason(client) else {
            return;
        };
        let Some(key) = keys
            .iter()
            .find(|(_, k)| lengths[usize::from(k[0] - b'a')] > 0)
        else {
            return;
        };
        lengths[usize::from(key.1[0] - b'a')] -= 1;
        *served += 1;
        assert_eq!(b.finish(client, &keys), Ok(()));
        b.signal([(0, &key.1[..])], &HashSet::new());
    }

    #[test]
    fn random_schedules_lose_no_wake_up_and_serve_each_element_once() {
        fn property(ops: Vec<Op>) -> bool {
            let b = BlockingKeys::default();
            let mut lengths = [0u32; 3];
            let (mut pushed, mut served) = (0u32, 0u32);
            for op in ops {
                match op {
                    Op::Block(client, keys) => {
                        let client = u64::from(client);
                        if !b.is_blocked(client)
                            && keys.iter().all(|&k| lengths[usize::from(k)] == 0)
                        {
                            b.block(
                                client,
                                keys.into_iter().map(name),
                                Arc::new(Notify::new()),
                                false,
                            );
                        }
                    }
                    Op::Push(k) => {
                        lengths[usize::from(k)] += 1;
                        pushed += 1;
                        b.signal([(0, &name(k).1[..])], &HashSet::new());
                    }
                    Op::Wake(client) => wake(&b, &mut lengths, u64::from(client), &mut served),
                    Op::TimeOut(client) => {
                        let _ = b.finish(u64::from(client), &[]);
                    }
                    Op::Unblock(client) => {
                        b.interrupt(u64::from(client), Interrupt::Timeout);
                        let _ = b.wake_reason(u64::from(client));
                    }
                }
                if !check_woken(&b, &lengths) {
                    return false;
                }
            }
            // Let every woken client run until nothing changes: no key is
            // left with both elements and waiters.
            for _ in 0..64 {
                for client in 0..5 {
                    wake(&b, &mut lengths, client, &mut served);
                }
            }
            let inner = b.lock();
            let stuck =
                (0..3).any(|k| lengths[usize::from(k)] > 0 && inner.queues.contains_key(&name(k)));
            !stuck && served + lengths.iter().sum::<u32>() == pushed
        }
        quickcheck::QuickCheck::new()
            .tests(500)
            .quickcheck(property as fn(Vec<Op>) -> bool);
    }
}
