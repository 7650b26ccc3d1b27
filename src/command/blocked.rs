//! The blocked clients' side of the state (Redis' `blocked` clients):
//! each blocked client's command, its deadline and its reply slot. The
//! keys they wait on are in `keyspace::blocking`; the commands that block
//! are in `blocking.rs`, and `commit::serve_ready` serves them.

use crate::keyspace::{KeyType, Txn};
use crate::resp::Frame;
use crate::sync::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Serves a blocked command from `key` of database `db`: `Some(reply)`
/// once done (an error reply too), `None` when the key has nothing for it.
/// Called in a savepoint: an error leaves no trace.
pub type Serve = fn(&mut Txn, usize, &[Bytes], &Bytes) -> Result<Option<Frame>, Frame>;

/// A blocked command as whoever serves it sees it, and its reply slot.
pub struct Waiting {
    pub(super) args: Vec<Bytes>,
    /// Keys are served only while they hold this type.
    pub(super) kind: KeyType,
    pub(super) serve: Serve,
    /// The reply, and whether it acknowledges a write.
    pub(super) reply: Mutex<Option<(Frame, bool)>>,
    pub(super) wake: Notify,
}

impl Waiting {
    /// Hands the client its reply (the caller won `BlockingKeys::unblock`).
    pub(super) fn answer(&self, reply: Frame, wrote: bool) {
        *lock(&self.reply) = Some((reply, wrote));
        self.wake.notify_one();
    }

    /// Resolves when the reply may be there.
    pub async fn answered(&self) {
        self.wake.notified().await;
    }
}

/// Every blocked client's command, by client id.
#[derive(Default)]
pub struct BlockedClients {
    pub(super) waiting: Mutex<HashMap<u64, Arc<Waiting>>>,
}

impl BlockedClients {
    pub(super) fn get(&self, client: u64) -> Option<Arc<Waiting>> {
        lock(&self.waiting).get(&client).cloned()
    }
}

/// A client's own side of its blocked command.
pub struct Blocked {
    pub(super) waiting: Arc<Waiting>,
    /// On the monotonic clock (`clock::monotonic_ms`); `None` waits
    /// forever.
    pub(super) deadline_ms: Option<u64>,
}

impl Blocked {
    pub fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }

    pub fn waiting(&self) -> Arc<Waiting> {
        self.waiting.clone()
    }
}
