//! The one place where writes are committed. Every write of every command,
//! of EXEC, of a served blocked client and of active expiry is committed
//! by [`commit`] (or, between the commands of an EXEC, by
//! [`commit_within_exec`]), which in this order, still holding the store's
//! write lock:
//! 1. applies the transaction as one engine batch (`Txn::commit_in_place`,
//!    which also marks the WATCHers of changed keys dirty and signals the
//!    keys blocked clients wait on),
//! 2. appends the transaction's effects to the change feed (`Shared::feed`),
//!    so the feed's order is the order writes were applied (and those on
//!    the slots a whole-slot migration moves to its tap, `Shared::slot_tap`),
//! 3. publishes its keyspace notifications,
//! 4. serves the blocked clients its changes made ready, committing each
//!    serve the same way.
//!
//! Nothing is published or fed for a transaction whose batch fails.

use super::Shared;
use crate::engine::EngineError;
use crate::keyspace::{Effect, KeyType, Origin, Txn};
use crate::sync::lock;

/// Commits everything `txn` holds and keeps it (and the write lock) for
/// more. Returns whether anything was written.
pub fn commit(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    let wrote = apply_and_publish(shared, txn, None)?;
    Ok(wrote | serve_ready(shared, txn))
}

/// [`commit`] for what a replica applied from its master's stream: the
/// feed gets `stream`, the master's own bytes for those commands, instead
/// of the effects recorded here, so that this node's offsets are its
/// master's and its own replicas are streamed what it was. The batch also
/// records the history point the data is then (the offset after `stream`,
/// where the stream has selected `db`), so a restart can continue there.
pub fn commit_from_master(
    shared: &Shared,
    txn: &mut Txn,
    stream: &[u8],
    db: usize,
) -> Result<bool, EngineError> {
    // Under the write lock: no other commit moves the feed meanwhile.
    let origin = Origin {
        replid: lock(&shared.master).replid().to_string(),
        offset: lock(&shared.feed).offset() + stream.len() as u64,
        db,
    };
    txn.set_origin(origin);
    let wrote = apply_and_publish(shared, txn, Some(stream))?;
    Ok(wrote | serve_ready(shared, txn))
}

/// Commits part of a replica's full sync load (`Txn::load_staged`): it
/// changes no database, so nothing is fed, published or served.
pub fn commit_staged(txn: &mut Txn) -> Result<bool, EngineError> {
    txn.commit_in_place()
}

/// Commits a replica's switch to its master's snapshot (`txn` maps every
/// database to the loaded data, `Txn::switch_to_staged`) as point `origin`
/// of the master's history, and restarts the feed there under the
/// master's id, before the write lock is released: no commit comes
/// between, and a failed commit changes nothing.
pub fn commit_full_sync(
    shared: &Shared,
    txn: &mut Txn,
    origin: Origin,
) -> Result<bool, EngineError> {
    let (replid, offset) = (origin.replid.clone(), origin.offset);
    txn.set_origin(origin);
    let wrote = apply_and_publish(shared, txn, Some(&[]))?;
    lock(&shared.feed).restart_at(offset);
    lock(&shared.master).adopt(replid);
    Ok(wrote | serve_ready(shared, txn))
}

/// Inside EXEC, before a command that reads the committed state: steps 1
/// and 2 only. The events and the blocked clients wait for the commit
/// after EXEC, as in Redis.
pub fn commit_within_exec(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    apply(shared, txn, None)
}

/// Steps 1 to 3: what committing a serve of blocked clients does too.
fn apply_and_publish(
    shared: &Shared,
    txn: &mut Txn,
    from_master: Option<&[u8]>,
) -> Result<bool, EngineError> {
    let events = txn.take_events();
    let wrote = apply(shared, txn, from_master)?;
    super::notify::publish(shared, events);
    Ok(wrote)
}

fn apply(shared: &Shared, txn: &mut Txn, from_master: Option<&[u8]>) -> Result<bool, EngineError> {
    let effects = txn.take_effects();
    let wrote = txn.commit_in_place()?;
    let appended = match from_master {
        Some(stream) => {
            lock(&shared.feed).append_stream(stream);
            !stream.is_empty()
        }
        None => {
            // Only the EXEC closing a unit whose commands committed already
            // may come without a write.
            debug_assert!(
                wrote || effects.iter().all(|e| *e == Effect::Exec),
                "effects without a write: {effects:?}"
            );
            // A writable replica's own writes stay local (as in Redis):
            // its feed is its master's stream.
            let feeds = !effects.is_empty() && !shared.store.is_replica();
            if feeds {
                lock(&shared.feed).append(&effects);
                if let Some(tap) = lock(&shared.slot_tap).as_mut() {
                    tap.record(&effects);
                }
            }
            feeds
        }
    };
    if appended {
        shared.feed_grew.notify_waiters();
    }
    Ok(wrote)
}

/// Serves the clients blocked on keys that became ready, key by key in the
/// order they were signalled, each key's clients in the order they blocked,
/// under the write lock `txn` holds (with nothing pending). Each key's
/// serves are committed before their clients get their replies; a serve
/// that pushes (BLMOVE) makes its destination ready in turn. A storage
/// failure answers the clients of that key with the error and stops.
pub fn serve_ready(shared: &Shared, txn: &mut Txn) -> bool {
    let mut wrote = false;
    while let Some(((db, key), waiters)) = shared.store.blocking.next_ready() {
        let mut served = Vec::new();
        for id in waiters {
            let Some(waiting) = shared.blocked.get(id) else {
                continue;
            };
            // Stream readers each wait for entries after their own ID, and a
            // group reader is answered when its key goes: their serve step
            // decides alone, and one left waiting does not stop the next.
            let stream = waiting.kind == KeyType::Stream;
            match txn.get(db, &key) {
                _ if stream => {}
                Ok(Some(meta)) if meta.kind == waiting.kind => {}
                _ => break,
            }
            let savepoint = txn.savepoint();
            let (reply, keep) = match (waiting.serve)(txn, db, &waiting.args, &key) {
                Ok(None) if stream => continue,
                Ok(None) => break,
                Ok(Some(reply)) => (reply, true),
                Err(reply) => (reply, false),
            };
            // The one decision: a client that timed out (or was unblocked)
            // meanwhile gets nothing, and its element stays.
            let won = shared.store.blocking.unblock(id);
            if !(won && keep) {
                txn.rollback_to(savepoint);
            }
            if won {
                served.push((waiting, reply, keep));
            }
        }
        match apply_and_publish(shared, txn, None) {
            Ok(committed) => {
                wrote |= committed;
                for (waiting, reply, keep) in served {
                    waiting.answer(reply, keep);
                }
            }
            Err(e) => {
                crate::log::warning(&format!("serving blocked clients failed: {e}"));
                let failure = super::storage_error(e);
                for (waiting, _, _) in served {
                    waiting.answer(failure.clone(), false);
                }
                break;
            }
        }
    }
    wrote
}
