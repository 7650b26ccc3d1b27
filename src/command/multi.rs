//! One client's MULTI/EXEC and WATCH state: the commands queued since
//! MULTI and the keys it watches. `transactions.rs` is the commands that
//! change it.

use crate::keyspace::watch::Dirty;
use bytes::Bytes;
use std::collections::HashMap;

/// A transaction being queued.
#[derive(Default)]
pub struct Multi {
    pub(super) queued: Vec<Vec<Bytes>>,
    /// A command was refused at queue time: EXEC will answer EXECABORT.
    pub(super) failed: bool,
}

/// One client's WATCHed keys, each with the expiry it had when watched.
#[derive(Default)]
pub struct WatchState {
    pub(super) keys: HashMap<(usize, Bytes), u64>,
    pub(super) dirty: Dirty,
}

impl Multi {
    /// Number of queued commands (CLIENT LIST's `multi`).
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }
}

impl WatchState {
    pub fn dirty(&self) -> &Dirty {
        &self.dirty
    }
}
