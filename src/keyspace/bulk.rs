//! Strings written in bulk past the journal and the memtable
//! (`Engine::ingest`): a replica's full
//! sync loads into staged namespaces and a whole-slot import into emptied
//! slots, so the caller knows each key holds nothing. They gather here
//! until enough waits for one ingestion, which writes whole tables.

use super::{Meta, Txn};
use crate::engine::{Engine, Partition, Result};
use bytes::Bytes;
use std::sync::Arc;

/// Strings waiting to be ingested, by database.
#[derive(Default)]
pub struct BulkStrings {
    by_db: Vec<Vec<(Bytes, Meta)>>,
    bytes: usize,
}

impl BulkStrings {
    /// Strings are written once this much of them waits: big enough for
    /// tables of a useful size, small enough to keep RAM in bounds.
    const DUE_BYTES: usize = 64 << 20;

    /// Adds the string `value` at `key` of `db`, expiring at `expire_at`
    /// (unix ms, 0 for never).
    pub fn push(&mut self, db: usize, key: Bytes, value: Bytes, expire_at: u64) {
        if self.by_db.len() <= db {
            self.by_db.resize_with(db + 1, Vec::new);
        }
        self.bytes += key.len() + value.len();
        self.by_db[db].push((key, Meta::string(value, expire_at)));
    }

    /// Whether enough waits to be written now.
    pub fn is_due(&self) -> bool {
        self.bytes >= Self::DUE_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0 && self.by_db.iter().all(Vec::is_empty)
    }

    /// The waiting strings of `db`: key and metadata (its payload is the
    /// value).
    pub fn of_db(&self, db: usize) -> &[(Bytes, Meta)] {
        self.by_db.get(db).map_or(&[], Vec::as_slice)
    }
}

impl Txn<'_> {
    /// Takes every string waiting in `strings` into this transaction: its
    /// counts and expire index change now, and the rows go to the engine
    /// when the returned [`Ingestion`] runs, which may be on another
    /// thread while the caller goes on. Until it has run, the keys read as
    /// absent; so the caller runs it before anyone can read them.
    pub fn ingest_later(&mut self, strings: &mut BulkStrings) -> Ingestion {
        let by_db = std::mem::take(&mut strings.by_db);
        strings.bytes = 0;
        let tables = by_db
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(db, rows)| self.account_absent(db, rows))
            .collect();
        Ingestion {
            engine: self.engine().clone(),
            tables,
        }
    }

    /// [`Txn::ingest_later`], run at once.
    pub fn ingest(&mut self, strings: &mut BulkStrings) -> Result<()> {
        self.ingest_later(strings).run()
    }
}

/// Sorted metadata rows to write past the journal, one ingestion each.
pub struct Ingestion {
    engine: Arc<dyn Engine>,
    tables: Vec<Vec<(Bytes, Bytes)>>,
}

impl Ingestion {
    pub fn run(self) -> Result<()> {
        for rows in self.tables {
            self.engine.ingest(Partition::Meta, rows)?;
        }
        Ok(())
    }
}
