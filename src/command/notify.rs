//! Keyspace notifications: how a handler reports an event, and how the
//! events of a transaction reach subscribers once it has committed.
//!
//! A handler records events in the batch's transaction, in the order its
//! changes happen: `ctx.notify(Class::Hash, "hset", key)` after its write,
//! or `txn.notify(db, ...)` inside one. The transaction itself records
//! `expired` (lazy expiry) and `new` (a key created). Whoever commits the
//! transaction publishes its events after the commit ([`commit`]): the
//! connection does so after each command that recorded any, so events go
//! out in command order, before the command's reply, and only for changes
//! that are committed; a command that fails is rolled back with its events;
//! inside MULTI/EXEC they go out once EXEC has committed. Active expiry
//! publishes the `expired` events of its own transactions.
//!
//! Like Redis, notifications are published on this node only: in cluster
//! mode they are not sent over the bus.

use super::{Ctx, Shared};
use crate::keyspace::{Meta, Txn};
use crate::notify::{Class, Event};
use crate::resp::Frame;

/// Publishes `events` to this node's subscribers, on the keyspace and/or
/// keyevent channels the flags ask for.
pub fn publish(shared: &Shared, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let flags = shared.store.notify_flags();
    for event in events {
        if flags.keyspace() {
            let (channel, message) = event.keyspace_message();
            super::pubsub::deliver(shared, false, &channel, &message);
        }
        if flags.keyevent() {
            let (channel, message) = event.keyevent_message();
            super::pubsub::deliver(shared, false, &channel, &message);
        }
    }
}

impl Ctx<'_, '_> {
    /// Reports that `event` (of `class`) happened to `key` of the current
    /// database. Called after the write that made the change; the event is
    /// published once that write is committed.
    pub fn notify(&mut self, class: Class, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        match self.txn.as_mut() {
            Some(txn) => txn.notify(db, class, event, key),
            // Nothing waits to be committed: publish at once.
            None if self.shared.store.notify_flags().mask() & class.bit() != 0 => publish(
                self.shared,
                vec![Event {
                    db,
                    name: event,
                    key: bytes::Bytes::copy_from_slice(key),
                }],
            ),
            None => {}
        }
    }
}

/// A collection a command changed in the transaction (a hash, set or list
/// being written), whose metadata is written back once at the end.
pub trait Written: Sized {
    /// The class of the collection's events.
    const CLASS: Class;

    /// Its metadata as the command left it, and whether the key existed
    /// before.
    fn into_meta(self) -> (Meta, bool);

    /// Writes the metadata back and reports `event`. An emptied collection
    /// is deleted instead and `del` follows the event, as in Redis; a new
    /// one reports `new` first (recorded by `Txn::put`).
    fn finish(
        self,
        txn: &mut Txn,
        db: usize,
        key: &[u8],
        event: &'static str,
    ) -> Result<(), Frame> {
        let (meta, existed) = self.into_meta();
        if meta.size() > 0 {
            txn.put(db, key, meta)?;
            txn.notify(db, Self::CLASS, event, key);
        } else if existed {
            txn.notify(db, Self::CLASS, event, key);
            txn.delete(db, key)?;
            txn.notify(db, Class::Generic, "del", key);
        }
        Ok(())
    }
}
