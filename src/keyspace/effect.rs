//! What a write did, as the commands a replica must run to do the same:
//! the unit of the change feed (`replication::ChangeFeed`).
//!
//! Effects, not the original commands: a replica must end up with the same
//! data whatever its clock or its random numbers say, so a command whose
//! outcome depends on either is recorded as what it did (SPOP → SREM,
//! EXPIRE → PEXPIREAT, a key found expired → DEL), as Redis propagates.
//! A [`Txn`](super::Txn) records them in the order its writes happen,
//! rolls them back with a savepoint, and hands them over at commit.

use bytes::Bytes;

/// One entry of a transaction's effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A command to run in database `db`.
    Command {
        db: usize,
        args: Vec<Bytes>,
    },
    /// The effects up to the matching [`Effect::Exec`] apply atomically
    /// (MULTI/EXEC on the wire).
    Multi,
    Exec,
}

impl Effect {
    /// A command from its words, in database `db`.
    pub fn command<const N: usize>(db: usize, words: [&[u8]; N]) -> Effect {
        Effect::Command {
            db,
            args: words.iter().map(|w| Bytes::copy_from_slice(w)).collect(),
        }
    }

    /// The deletion of a key (`DEL key`), for an expired key or a command
    /// whose outcome was to delete it.
    pub fn del(db: usize, key: &[u8]) -> Effect {
        Effect::command(db, [b"DEL", key])
    }
}
