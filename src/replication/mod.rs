//! Replication, as pure state: the change feed every commit appends to
//! (what a replica is streamed), and the master's side of PSYNC.

pub mod feed;
pub mod master;

pub use feed::{ChangeFeed, Gap};
pub use master::{Handshake, LinkState, Master, Psync};

use crate::keyspace::Snapshot;

/// A replica's PSYNC (or SYNC) was answered: what its link sends next.
pub struct SyncStart {
    /// A full sync's snapshot, taken when the feed stood at `from`.
    pub snapshot: Option<Snapshot>,
    /// The feed index the stream continues from.
    pub from: u64,
    /// What the replica said it can read.
    pub handshake: Handshake,
}

/// A client in WAIT: it is answered once `replicas` replicas acknowledged
/// `offset`, or at its deadline (unix ms; `None` waits forever).
pub struct WaitFor {
    pub offset: u64,
    pub replicas: usize,
    pub deadline_ms: Option<u64>,
}
