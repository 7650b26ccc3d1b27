//! The one place where writes are committed. Every write of every command,
//! of EXEC, of a served blocked client and of active expiry is committed
//! by [`commit`] (or, between the commands of an EXEC, by
//! [`commit_within_exec`]), which in this order, still holding the store's
//! write lock:
//! 1. applies the transaction as one engine batch (`Txn::commit_in_place`,
//!    which also marks the WATCHers of changed keys dirty and signals the
//!    keys blocked clients wait on),
//! 2. appends the transaction's effects to the change feed (`Shared::feed`),
//!    so the feed's order is the order writes were applied,
//! 3. publishes its keyspace notifications,
//! 4. serves the blocked clients its changes made ready, committing each
//!    serve the same way.
//!
//! Nothing is published or fed for a transaction whose batch fails.

use super::context::lock;
use super::Shared;
use crate::engine::EngineError;
use crate::keyspace::{Effect, Txn};

/// Commits everything `txn` holds and keeps it (and the write lock) for
/// more. Returns whether anything was written.
pub fn commit(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    let wrote = apply_and_publish(shared, txn)?;
    Ok(wrote | super::blocking::serve_ready(shared, txn))
}

/// Inside EXEC, before a command that reads the committed state: steps 1
/// and 2 only. The events and the blocked clients wait for the commit
/// after EXEC, as in Redis.
pub fn commit_within_exec(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    apply(shared, txn)
}

/// Steps 1 to 3: what committing a serve of blocked clients does too.
pub(super) fn apply_and_publish(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    let events = txn.take_events();
    let wrote = apply(shared, txn)?;
    super::notify::publish(shared, events);
    Ok(wrote)
}

fn apply(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    let effects = txn.take_effects();
    let wrote = txn.commit_in_place()?;
    // Only the EXEC closing a unit whose commands committed already may
    // come without a write.
    debug_assert!(
        wrote || effects.iter().all(|e| *e == Effect::Exec),
        "effects without a write: {effects:?}"
    );
    if !effects.is_empty() {
        lock(&shared.feed).append(&effects);
    }
    Ok(wrote)
}
