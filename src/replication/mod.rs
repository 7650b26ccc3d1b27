//! Replication, as pure state: the change feed every commit appends to
//! (what a replica is streamed), and the master's side of PSYNC.

pub mod feed;
pub mod master;
pub mod replica;

pub use feed::{write_command, ChangeFeed, Gap};
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
/// `offset`, or at its deadline (`clock::monotonic_ms`; `None` waits
/// forever).
pub struct WaitFor {
    pub offset: u64,
    pub replicas: usize,
    pub deadline_ms: Option<u64>,
}

/// The master this node replicates (REPLICAOF host port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterAddr {
    pub host: String,
    pub port: u16,
}

/// How far a full sync's load has come (INFO's `master_sync_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// The RDB's length, when the master announced it (`$<length>`
    /// framing; `$EOF:` streams have none).
    pub total_bytes: Option<u64>,
    pub read_bytes: u64,
    pub keys: u64,
}

/// How the link to our master stands, as INFO and ROLE show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpstreamState {
    /// Connecting, or in the handshake (ROLE's `connect`).
    #[default]
    Connecting,
    /// Receiving and loading a full sync (`sync`), this far.
    Syncing(SyncProgress),
    /// Streaming (`connected`).
    Connected,
}
