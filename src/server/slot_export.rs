//! CLUSTER MIGRATESLOTS' background half: moves whole slots to another
//! master over one client connection (`CLUSTER IMPORTSLOTS` on the far
//! side), in four steps:
//!
//! 1. **Snapshot.** Under the write lock, a storage snapshot is taken and
//!    the slot tap installed (`Shared::slot_tap`): every later commit's
//!    writes to the slots are recorded there. The snapshot's keys of the
//!    slots go over as an RDB file, a megabyte per `LOAD`, a few in flight.
//! 2. **Catch-up.** What the tap recorded meanwhile is sent, round after
//!    round, until little is left.
//! 3. **Handover.** Writes pause (all of them, for as long as the last
//!    round and the target's claim take: milliseconds). Once the write
//!    lock has been taken after the pause began, no write commits here;
//!    the tap's last commands go over, then `FINISH`, on which the target
//!    takes the slots under a new config epoch and answers.
//! 4. **Release.** This node gives the slots to the target, resumes
//!    writes (a paused write to the slots then gets MOVED) and deletes its
//!    copy of the keys, each deletion replicated.
//!
//! A failure before FINISH changes no owner: writes resume here and the
//! target drops what it loaded when the connection closes. If FINISH's
//! answer is lost, the outcome is unknown: writes stay paused until the
//! target's claim arrives by gossip (then it is a success) or twice the
//! node timeout passed (then a failure).

use crate::cluster::SlotSet;
use crate::command::full_sync::RdbStream;
use crate::command::pause::{PauseKind, PausePurpose};
use crate::command::slot_migration::{ExportPlan, Phase};
use crate::command::slot_tap::{SlotTap, Taken};
use crate::command::{pausing, Shared};
use crate::keyspace::Txn;
use crate::replication::write_command;
use crate::resp::{parse_frame, Frame};
use crate::sync::lock;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::clock::now_ms;

/// The snapshot's file goes over this many bytes per LOAD ...
const LOAD_BYTES: usize = 1 << 20;
/// ... with at most this many unanswered.
const LOADS_IN_FLIGHT: usize = 4;
/// A catch-up round sends at most this much.
const ROUND_BYTES: usize = 256 << 10;
/// Writes pause once less than this waits.
const HANDOVER_BELOW: usize = 64 << 10;
/// Catch-up rounds before the handover comes anyway.
const MAX_ROUNDS: usize = 100;
/// The tap holds at most this much: writes faster than the migration.
const TAP_LIMIT: usize = 256 << 20;

/// Runs the migration `plan` and records how it ended.
pub async fn run(shared: Arc<Shared>, plan: ExportPlan) {
    crate::log::notice(&format!(
        "Migrating {} slots to {} ({}:{})",
        plan.slots.len(),
        plan.target,
        plan.host,
        plan.port
    ));
    let outcome = export(&shared, &plan).await;
    *lock(&shared.slot_tap) = None;
    pausing::set(&shared, |pause| pause.unpause(PausePurpose::SlotMigration));
    shared.unpaused.notify_waiters();
    match &outcome {
        Ok(()) => crate::log::notice(&format!(
            "Migrated {} slots to {}",
            plan.slots.len(),
            plan.target
        )),
        Err(e) => crate::log::warning(&format!("Slot migration to {} failed: {e}", plan.target)),
    }
    let done = outcome.is_ok();
    update(&shared, |status| {
        status.ended_ms = Some(now_ms());
        match outcome {
            Ok(()) => status.phase = Phase::Done,
            Err(e) => {
                status.phase = Phase::Failed;
                status.error = Some(e);
            }
        }
    });
    if done {
        super::drop_slot_keys(shared, plan.slots, "migrated to another master").await;
    }
}

async fn export(shared: &Arc<Shared>, plan: &ExportPlan) -> Result<(), String> {
    let Some(cluster) = shared.cluster.clone() else {
        return Err("cluster mode is off".into());
    };
    let timeout = Duration::from_millis(shared.config().cluster.node_timeout.max(1000));
    let mut link = Link::connect(shared, plan, timeout).await?;

    // 1. The snapshot, and the tap from the same point on.
    let snapshot = {
        let txn = write_lock(shared).await;
        let mut slots = SlotSet::new();
        for &slot in &plan.slots {
            slots.insert(slot);
        }
        *lock(&shared.slot_tap) = Some(SlotTap::new(slots, TAP_LIMIT));
        txn.snapshot()
    };
    let myself = cluster.read(|node| node.myself());
    let mut begin: Vec<Vec<u8>> = vec![
        b"CLUSTER".to_vec(),
        b"IMPORTSLOTS".to_vec(),
        b"BEGIN".to_vec(),
        myself.as_str().as_bytes().to_vec(),
    ];
    for range in &plan.ranges {
        begin.push(range.start().to_string().into_bytes());
        begin.push(range.end().to_string().into_bytes());
    }
    link.send_command(begin.iter().map(|w| &w[..])).await?;
    link.expect_ok().await?;

    // The file is made on another task while this one sends: on one
    // machine the two ends then use both cores.
    let mut chunks = make_file(shared.clone(), RdbStream::of_slots(snapshot, &plan.ranges));
    while let Some(made) = chunks.recv().await {
        let (chunk, keys) = made?;
        link.send_load(&chunk).await?;
        link.in_flight += 1;
        while link.in_flight > LOADS_IN_FLIGHT {
            link.expect_ok().await?;
            link.in_flight -= 1;
        }
        update(shared, |status| {
            status.keys_sent = keys;
            status.bytes_sent += chunk.len() as u64;
        });
    }
    while link.in_flight > 0 {
        link.expect_ok().await?;
        link.in_flight -= 1;
    }

    // 2. The writes made since, until little is left.
    update(shared, |status| status.phase = Phase::CatchUp);
    for _ in 0..MAX_ROUNDS {
        forward(shared, &mut link).await?;
        if tap_held(shared)? < HANDOVER_BELOW {
            break;
        }
    }

    // 3. The handover, writes paused.
    update(shared, |status| status.phase = Phase::Handover);
    let paused_at = now_ms();
    let claim_wait = 2 * timeout;
    let pause_until = paused_at + claim_wait.as_millis() as u64 + 1000;
    pausing::set(shared, |pause| {
        pause.pause(PausePurpose::SlotMigration, pause_until, PauseKind::Writes)
    });
    // Whoever held the write lock before the pause commits first; every
    // batch after it sees the pause (`Session::execute_batch`).
    drop(write_lock(shared).await);
    cluster
        .read(|node| node.check_export(&plan.slots, plan.target.as_bytes()))
        .map_err(|e| format!("the slots changed meanwhile: {e}"))?;
    while tap_held(shared)? > 0 {
        forward(shared, &mut link).await?;
    }
    link.send_command([&b"CLUSTER"[..], b"IMPORTSLOTS", b"FINISH"])
        .await?;
    match link.reply().await {
        Ok(Frame::Error(e)) => {
            return Err(format!(
                "the target refused the slots: {}",
                String::from_utf8_lossy(&e)
            ))
        }
        Ok(_) => {}
        Err(e) => {
            crate::log::warning(&format!(
                "Slot migration: no answer to FINISH ({e}); waiting for the target's claim"
            ));
            if !claimed(shared, plan, claim_wait).await {
                return Err(format!(
                    "no answer to FINISH ({e}), and the target did not claim the slots"
                ));
            }
        }
    }

    // 4. The slots are the target's.
    if let Err(e) = cluster.with_node(|node| node.give_slots(&plan.slots, plan.target.as_bytes())) {
        crate::log::warning(&format!("Slot migration: saving the handover: {e}"));
    }
    *lock(&shared.slot_tap) = None;
    pausing::set(shared, |pause| pause.unpause(PausePurpose::SlotMigration));
    shared.unpaused.notify_waiters();
    update(shared, |status| {
        status.paused_ms = now_ms().saturating_sub(paused_at)
    });
    Ok(())
}

/// The parts of `rdb`'s file, about a LOAD each, with the keys written
/// so far, made on a task of their own a few ahead of the sender. The
/// task stops when the receiver goes.
fn make_file(
    shared: Arc<Shared>,
    mut rdb: RdbStream,
) -> mpsc::Receiver<Result<(Vec<u8>, u64), String>> {
    let (parts, received) = mpsc::channel(2);
    tokio::spawn(async move {
        loop {
            let mut chunk = Vec::with_capacity(LOAD_BYTES + LOAD_BYTES / 4);
            let made = rdb.next_chunk(&shared.store, &mut chunk, LOAD_BYTES);
            let more = made.as_ref().is_ok_and(|&more| more);
            let part = made.map(|_| (chunk, rdb.keys()));
            if parts.send(part).await.is_err() || !more {
                return;
            }
        }
    });
    received
}

/// Sends one round of the tap's commands and reads their replies.
async fn forward(shared: &Shared, link: &mut Link) -> Result<(), String> {
    let Taken { bytes, commands } = {
        let mut tap = lock(&shared.slot_tap);
        let tap = tap.as_mut().ok_or("the slot tap is gone")?;
        tap.take(ROUND_BYTES)
    };
    if commands == 0 {
        return Ok(());
    }
    link.send(&bytes).await?;
    for _ in 0..commands {
        if let Frame::Error(e) = link.reply().await? {
            return Err(format!(
                "the target refused a forwarded write: {}",
                String::from_utf8_lossy(&e)
            ));
        }
    }
    update(shared, |status| status.forwarded += commands as u64);
    Ok(())
}

/// The bytes the tap holds, or why it cannot go on.
fn tap_held(shared: &Shared) -> Result<usize, String> {
    let tap = lock(&shared.slot_tap);
    let tap = tap.as_ref().ok_or("the slot tap is gone")?;
    if tap.overflowed() {
        return Err("the writes to the slots outran the migration".into());
    }
    Ok(tap.held())
}

/// Waits up to `wait` for the target's claim of every slot to arrive by
/// gossip.
async fn claimed(shared: &Shared, plan: &ExportPlan, wait: Duration) -> bool {
    let Some(cluster) = shared.cluster.as_deref() else {
        return false;
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let all = cluster.read(|node| {
            plan.slots.iter().all(|&slot| {
                node.slot_owner(slot)
                    .is_some_and(|owner| owner.id.as_str() == plan.target)
            })
        });
        if all {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The store's write lock, waited for without blocking the thread.
async fn write_lock(shared: &Shared) -> Txn<'_> {
    loop {
        if let Some(txn) = shared.store.try_begin(now_ms()) {
            return txn;
        }
        shared.store.until_writable().await;
    }
}

fn update(shared: &Shared, change: impl FnOnce(&mut crate::command::slot_migration::ExportStatus)) {
    if let Some(status) = lock(&shared.slot_export).as_mut() {
        change(status);
    }
}

/// The connection to the target, each read and write bounded by
/// `timeout`.
struct Link {
    stream: TcpStream,
    input: BytesMut,
    /// The next request, reused so that a megabyte LOAD allocates nothing.
    output: BytesMut,
    timeout: Duration,
    /// LOADs sent and not answered yet.
    in_flight: usize,
}

impl Link {
    /// Connects and authenticates as replication does (`masteruser`,
    /// `masterauth`).
    async fn connect(
        shared: &Shared,
        plan: &ExportPlan,
        timeout: Duration,
    ) -> Result<Link, String> {
        let address = format!("{}:{}", plan.host, plan.port);
        let stream = tokio::time::timeout(timeout, TcpStream::connect(&address))
            .await
            .map_err(|_| format!("connecting to {address}: timed out"))?
            .map_err(|e| format!("connecting to {address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut link = Link {
            stream,
            input: BytesMut::new(),
            output: BytesMut::new(),
            timeout,
            in_flight: 0,
        };
        let auth = {
            let config = shared.config();
            let options = &config.replication;
            options
                .masterauth
                .clone()
                .map(|password| (options.masteruser.clone(), password))
        };
        if let Some((user, password)) = auth {
            let mut words: Vec<&[u8]> = vec![b"AUTH"];
            if !user.is_empty() {
                words.push(user.as_bytes());
            }
            words.push(&password);
            link.send_command(words.iter().copied()).await?;
            link.expect_ok().await?;
        }
        Ok(link)
    }

    async fn send_command<'a>(
        &mut self,
        words: impl IntoIterator<Item = &'a [u8]> + Clone,
    ) -> Result<(), String> {
        let mut out = std::mem::take(&mut self.output);
        out.clear();
        write_command(&mut out, words);
        let sent = self.send(&out).await;
        self.output = out;
        sent
    }

    /// `CLUSTER IMPORTSLOTS LOAD <chunk>`, the chunk written as it is.
    async fn send_load(&mut self, chunk: &[u8]) -> Result<(), String> {
        let header = format!(
            "*4\r\n$7\r\nCLUSTER\r\n$11\r\nIMPORTSLOTS\r\n$4\r\nLOAD\r\n${}\r\n",
            chunk.len()
        );
        self.send_parts(&[header.as_bytes(), chunk, b"\r\n"]).await
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.send_parts(&[bytes]).await
    }

    async fn send_parts(&mut self, parts: &[&[u8]]) -> Result<(), String> {
        let written = async {
            for part in parts {
                self.stream.write_all(part).await?;
            }
            self.stream.flush().await
        };
        match tokio::time::timeout(self.timeout, written).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("writing to the target: {e}")),
            Err(_) => Err("writing to the target: timed out".into()),
        }
    }

    async fn reply(&mut self) -> Result<Frame, String> {
        loop {
            match parse_frame(&self.input) {
                Ok(Some((frame, used))) => {
                    let _ = self.input.split_to(used);
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("the target's reply: {e:?}")),
            }
            match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.input)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(Ok(_)) => return Err("the target closed the connection".into()),
                Ok(Err(e)) => return Err(format!("reading from the target: {e}")),
                Err(_) => return Err("reading from the target: timed out".into()),
            }
        }
    }

    /// Reads one reply, which must not be an error.
    async fn expect_ok(&mut self) -> Result<(), String> {
        match self.reply().await? {
            Frame::Error(e) => Err(format!("the target: {}", String::from_utf8_lossy(&e))),
            _ => Ok(()),
        }
    }
}
