//! The storage engine: ordered byte keys in a few named partitions, atomic
//! cross-partition write batches, consistent snapshots, range scans and an
//! explicit durability step.
//!
//! The trait is deliberately small so that another engine can be plugged in.
//! Two implementations: [`fjall::FjallEngine`] for production and
//! [`memory::MemoryEngine`] for tests and simulation (it can simulate a power
//! cut: writes that were not synced vanish).
//!
//! Invariant: a committed batch survives a crash of the process once
//! [`Engine::flush`] returned (its bytes reached the OS), and a power cut
//! once [`Engine::sync`] returned. Callers acknowledge a write only after
//! the step their durability policy asks for.

pub mod copy;
pub mod fjall;
mod journal_sync;
pub mod memory;
pub mod row_cache;

use bytes::Bytes;
use std::ops::Bound;
use std::sync::Arc;

/// The named key spaces. Each is an ordered map of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Partition {
    /// `ns | slot | user key` → metadata (and inline string values).
    Meta,
    /// Members of collections: `ns | slot | key len | key | version | sub key` → value.
    Data,
    /// Sorted-set score index.
    ZScore,
    /// `expire_at_ms | ns | slot | key` → empty. Walked in time order by active expiry.
    Expire,
    /// Server bookkeeping: namespace table, key counts, version ceiling.
    Sys,
}

impl Partition {
    pub const ALL: [Partition; 5] = [
        Partition::Meta,
        Partition::Data,
        Partition::ZScore,
        Partition::Expire,
        Partition::Sys,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Partition::Meta => "meta",
            Partition::Data => "data",
            Partition::ZScore => "zscore",
            Partition::Expire => "expire",
            Partition::Sys => "sys",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One write in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put(Bytes, Bytes),
    Delete(Bytes),
}

impl Op {
    pub fn key(&self) -> &[u8] {
        match self {
            Op::Put(key, _) | Op::Delete(key) => key,
        }
    }
}

/// An atomic group of writes across partitions.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub ops: Vec<(Partition, Op)>,
}

impl Batch {
    pub fn put(&mut self, partition: Partition, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.ops
            .push((partition, Op::Put(key.into(), value.into())));
    }

    pub fn delete(&mut self, partition: Partition, key: impl Into<Bytes>) {
        self.ops.push((partition, Op::Delete(key.into())));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Drops every op that a later op of the batch on the same key
    /// overrides: the batch is applied atomically, so nobody could see it.
    /// A pipeline of 16 SADDs to one set rewrites the set's metadata 16
    /// times; the engine then journals and inserts it once.
    pub fn drop_overridden(&mut self) {
        if self.ops.len() < 2 {
            return;
        }
        let keep: Vec<bool> = {
            let mut seen = std::collections::HashSet::with_capacity(self.ops.len());
            let mut keep: Vec<bool> = self
                .ops
                .iter()
                .rev()
                .map(|(partition, op)| seen.insert((*partition, op.key())))
                .collect();
            keep.reverse();
            keep
        };
        let mut keep = keep.into_iter();
        self.ops.retain(|_| keep.next().unwrap_or(true));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

/// An engine failure, with what was being done.
#[derive(Debug)]
pub struct EngineError {
    pub context: &'static str,
    pub message: String,
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage error while {}: {}", self.context, self.message)
    }
}

impl std::error::Error for EngineError {}

pub type Result<T> = std::result::Result<T, EngineError>;

/// A key range: (start, end) bounds over raw storage keys.
pub type KeyRange = (Bound<Bytes>, Bound<Bytes>);

/// Iterator over `(key, value)` pairs in key order.
pub type ScanIter = Box<dyn Iterator<Item = Result<(Bytes, Bytes)>> + Send>;

/// Read access shared by the live engine and its snapshots.
pub trait Reader: Send + Sync {
    fn get(&self, partition: Partition, key: &[u8]) -> Result<Option<Bytes>>;
    /// Ascending scan of `range`.
    fn scan(&self, partition: Partition, range: KeyRange) -> ScanIter;
    /// Descending scan of `range`.
    fn scan_rev(&self, partition: Partition, range: KeyRange) -> ScanIter;
}

/// Sizes and counters shown by `INFO`.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    pub disk_bytes: u64,
    pub cache_capacity: u64,
    pub cache_bytes: u64,
    pub write_buffer_bytes: u64,
    /// Bytes of rows held by the row cache.
    pub row_cache_bytes: u64,
}

pub trait Engine: Reader {
    /// Applies every op of `batch` atomically; readers see it at once.
    fn write(&self, batch: Batch) -> Result<()>;
    /// Hands every batch written so far to the OS, so it survives a crash of
    /// this process. One call covers many batches (group flush).
    fn flush(&self) -> Result<()>;
    /// Makes every batch written so far survive a power cut (implies flush).
    fn sync(&self) -> Result<()>;
    /// A consistent, point-in-time read view.
    fn snapshot(&self) -> Arc<dyn Reader>;
    fn stats(&self) -> EngineStats;
    /// Roughly how many entries `partition` holds, deletion markers
    /// included (an LSM tree keeps both until compaction meets them).
    fn approximate_len(&self, partition: Partition) -> u64;
    /// Rewrites `partition` so that deleted entries stop taking disk space.
    /// Blocks for a time proportional to the partition's size.
    fn compact(&self, partition: Partition) -> Result<()>;
    /// Bulk-loads `rows`, sorted by key with no key twice, into
    /// `partition`, past the journal and the memtable (fjall's ingestion:
    /// written as tables). Readers see them when it returns. Not atomic
    /// with any batch, and not undone by anything: for rows of keys
    /// nobody else writes (a whole-slot import).
    fn ingest(&self, partition: Partition, rows: Vec<(Bytes, Bytes)>) -> Result<()>;
}

/// The range of keys that start with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyRange {
    let start = Bound::Included(Bytes::copy_from_slice(prefix));
    let end = match prefix_successor(prefix) {
        Some(end) => Bound::Excluded(Bytes::from(end)),
        None => Bound::Unbounded,
    };
    (start, end)
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests;
