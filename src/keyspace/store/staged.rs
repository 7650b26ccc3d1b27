//! A replica's full sync, loaded where nothing reads it until it is whole.
//!
//! [`Store::stage`] hands out one fresh namespace per database, which no
//! database maps to, and records each with a `staged:` marker. The load
//! writes there ([`Txn::load_staged`]) in as many commits as it likes;
//! clients keep reading the old data meanwhile. [`Txn::switch_to_staged`]
//! then maps every database to its staged namespace in one commit, and
//! the old namespaces die as after FLUSHDB. A load that fails is dropped
//! with [`Store::abort_staged`]: its namespaces die instead, and the old
//! data was never touched. A crash in between leaves the markers, which
//! [`Store::open`] turns into dead ones.

use super::{corrupt, sys_key, Result, Store, Txn, SYS_DEAD_NS, SYS_NEXT_NS};
use crate::engine::{prefix_range, Batch, Engine, EngineError, Partition};
use crate::sync::lock;
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// `staged: | ns` → empty: a namespace a full sync is loading into.
const SYS_STAGED_NS: &[u8] = b"staged:";

/// The namespaces of one full sync's load, by database.
#[derive(Debug)]
pub struct Staged {
    namespaces: Vec<u32>,
}

impl Staged {
    pub fn namespaces(&self) -> &[u32] {
        &self.namespaces
    }
}

impl Store {
    /// Allocates a staged namespace for every database.
    pub fn stage(&self) -> Result<Staged> {
        let mut state = self.state.lock();
        let first = state.next_ns;
        let next = u32::try_from(self.databases())
            .ok()
            .and_then(|n| first.checked_add(n))
            .ok_or_else(|| EngineError {
                context: "staging a full sync",
                message: "namespace ids exhausted".into(),
            })?;
        let mut batch = Batch::default();
        batch.put(Partition::Sys, SYS_NEXT_NS, next.to_be_bytes().to_vec());
        for ns in first..next {
            batch.put(Partition::Sys, sys_key(SYS_STAGED_NS, ns), Bytes::new());
        }
        self.engine.write(batch)?;
        state.next_ns = next;
        state.staged.extend(first..next);
        self.write_seq.fetch_add(1, Ordering::AcqRel);
        Ok(Staged {
            namespaces: (first..next).collect(),
        })
    }

    /// Drops a load that will not be switched to: its namespaces are dead
    /// (the sweeper reclaims what was loaded), the databases untouched.
    pub fn abort_staged(&self, staged: &Staged) -> Result<()> {
        let mut state = self.state.lock();
        let mut batch = Batch::default();
        for &ns in &staged.namespaces {
            kill(&mut batch, ns);
        }
        self.engine.write(batch)?;
        let mut view = lock(&self.counts_view);
        for ns in &staged.namespaces {
            state.staged.remove(ns);
            state.counts.remove(ns);
            view.remove(ns);
            state.directory.drop_namespace(*ns);
        }
        self.write_seq.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

impl Txn<'_> {
    /// This transaction loads a full sync into `staged`: every database's
    /// reads and writes go to its staged namespace, so its commit changes
    /// no database's data; it records no keyspace events (Redis sends none
    /// for a load).
    pub fn load_staged(&mut self, staged: &Staged) {
        debug_assert!(self.ns_override.is_empty(), "a load remaps nothing");
        self.loading_into = Some(staged.namespaces.clone());
        self.notify_mask = 0;
    }

    /// Maps every database to its staged namespace, with the counts its
    /// load committed, and marks the old namespaces dead as FLUSHDB does:
    /// the load becomes visible whole, in this transaction's commit. If
    /// that commit fails, `staged` is still to abort.
    pub fn switch_to_staged(&mut self, staged: &Staged) {
        debug_assert!(self.loading_into.is_none(), "a load does not switch");
        for (db, &ns) in staged.namespaces.iter().enumerate() {
            self.batch
                .delete(Partition::Sys, sys_key(SYS_STAGED_NS, ns));
            self.replace_ns(db, ns);
        }
    }
}

/// The batch that kills staged namespace `ns`.
fn kill(batch: &mut Batch, ns: u32) {
    batch.delete(Partition::Sys, sys_key(SYS_STAGED_NS, ns));
    batch.put(Partition::Sys, sys_key(SYS_DEAD_NS, ns), Bytes::new());
}

/// At open: the loads a crash interrupted are dead.
pub(super) fn drop_leftovers(engine: &dyn Engine, batch: &mut Batch) -> Result<()> {
    for item in engine.scan(Partition::Sys, prefix_range(SYS_STAGED_NS)) {
        let (marker, _) = item?;
        match marker.get(SYS_STAGED_NS.len()..) {
            Some(id) if id.len() == 4 => {
                kill(batch, super::encoding::read_u32(id));
            }
            _ => return Err(corrupt("staged namespace marker")),
        }
    }
    Ok(())
}
