//! The production engine on fjall: one fjall keyspace per [`Partition`].

use super::journal_sync::JournalSync;
use super::row_cache::{Lookup, RowCache};
use super::{
    Batch, Engine, EngineError, EngineStats, KeyRange, Op, Partition, Reader, Result, ScanIter,
};
use crate::sync::lock;
use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

/// Sizes a user can tune (`storage-cache-size`, `storage-write-buffer-size`,
/// `storage-max-journal-size`).
#[derive(Clone, Copy, Debug)]
pub struct FjallOptions {
    pub cache_bytes: u64,
    /// Memtable size of each partition.
    pub write_buffer_bytes: u64,
    /// Journal bytes beyond which fjall flushes the memtables that pin the
    /// oldest journal. Partitions with few writes (sys, expire) would
    /// otherwise keep every journal alive up to fjall's 512 MB default.
    pub max_journal_bytes: u64,
    /// Rows of the meta partition kept in RAM ([`RowCache`]); 0 for none.
    pub row_cache_bytes: u64,
}

pub struct FjallEngine {
    db: Database,
    partitions: Vec<Keyspace>,
    /// In front of the meta partition, read by nearly every command.
    meta_rows: Option<RowCache>,
    /// Orders batches that change cached rows, so that the cache sees
    /// them in the order the engine applied them.
    cached_writes: std::sync::Mutex<()>,
    /// See [`MemtableRotation`].
    rotation: MemtableRotation,
    /// Syncs the journal outside fjall's lock (`journal_sync.rs`).
    journal: JournalSync,
}

/// Rotates each partition's memtable once about `limit` bytes went into it.
///
/// fjall 3.1.13 does this itself by queueing a rotation request to its
/// worker on every write made while the memtable is over its size (a
/// bounded queue of 1000). While its single worker compacts, the queue
/// fills; the worker then handles a rotation and blocks for good sending
/// itself the flush that follows (seen under `redis-benchmark -t set`):
/// no memtable is ever flushed again and memory grows without bound. So
/// fjall's own limit is set to twice ours (new databases record it at
/// creation), our count overestimates its, and we rotate first, from the
/// writer's thread, which the worker then serves.
struct MemtableRotation {
    limit: u64,
    written: Vec<std::sync::atomic::AtomicU64>,
}

/// What an entry costs a memtable beyond its key and value (fjall counts
/// less), so that our count reaches the limit before fjall's.
const MEMTABLE_ENTRY_OVERHEAD: u64 = 64;

impl MemtableRotation {
    fn new(limit: u64) -> MemtableRotation {
        MemtableRotation {
            limit,
            written: Partition::ALL
                .iter()
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    /// Counts `bytes` written to `partition`; true when its memtable is due
    /// for a rotation (the count restarts).
    fn add(&self, partition: Partition, bytes: u64) -> bool {
        use std::sync::atomic::Ordering;
        let counter = &self.written[partition.index()];
        let total = counter.fetch_add(bytes, Ordering::Relaxed) + bytes;
        total >= self.limit && counter.swap(0, Ordering::Relaxed) >= self.limit
    }
}

fn err(context: &'static str) -> impl FnOnce(fjall::Error) -> EngineError {
    move |e| EngineError {
        context,
        message: e.to_string(),
    }
}

impl FjallEngine {
    pub fn open(path: &Path, options: FjallOptions) -> Result<FjallEngine> {
        let db = Database::builder(path)
            .cache_size(options.cache_bytes)
            // We flush the journal ourselves, once per batch of client
            // commands rather than once per write (see `Engine::flush`).
            .manual_journal_persist(true)
            // fjall 3.1's worker 0 re-queues compaction messages while other
            // workers are busy, spinning a core; one worker avoids that and
            // leaves the second core to the server on small machines.
            .worker_threads(1)
            .max_journaling_size(options.max_journal_bytes.max(64 << 20))
            .open()
            .map_err(err("opening the database"))?;
        // Each partition gets its own memtable of this size; the meta partition
        // takes nearly all writes of strings.
        let memtable = options.write_buffer_bytes.max(1 << 20);
        let partitions = Partition::ALL
            .iter()
            .map(|p| {
                db.keyspace(p.name(), || {
                    let options = KeyspaceCreateOptions::default().max_memtable_size(memtable * 2);
                    match p {
                        // Strings are written whole and read by point reads:
                        // merging 8 flushed memtables at a time instead of 4
                        // halves the compaction CPU per SET of 1 KB values
                        // (11.9 -> 6.0 us). Partitions read by range scans
                        // (sorted sets, lists) keep 4, as more runs to merge
                        // cost ZRANGEBYSCORE 10-17 % more.
                        //
                        // No key-value separation (fjall's blob files): a
                        // partly stale blob file is rewritten only by a
                        // compaction covering every table that points into
                        // it, rare under overwrites of random keys, and the
                        // disk held 5 to 15 times the live data
                        // (`engine::tests::random_overwrites_give_their_disk_space_back`).
                        Partition::Meta => options.compaction_strategy(Arc::new(
                            fjall::compaction::Leveled::default().with_l0_threshold(8),
                        )),
                        _ => options,
                    }
                })
                .map_err(err("opening a partition"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FjallEngine {
            db,
            partitions,
            meta_rows: RowCache::new(options.row_cache_bytes),
            cached_writes: std::sync::Mutex::new(()),
            rotation: MemtableRotation::new(memtable),
            journal: JournalSync::new(path.to_path_buf()),
        })
    }

    fn partition(&self, p: Partition) -> &Keyspace {
        &self.partitions[p.index()]
    }
}

fn to_fjall_bound(bound: &Bound<Bytes>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_ref()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// fjall's keys and values are `byteview` slices, which keep up to 20
/// bytes inline: comparing memtable keys mostly never leaves the skiplist
/// node (with the `bytes_1` feature every comparison followed a pointer).
/// A row read back is wrapped, not copied.
fn from_fjall(slice: fjall::Slice) -> Bytes {
    Bytes::from_owner(slice)
}

fn into_scan(iter: impl Iterator<Item = fjall::Guard> + Send + 'static) -> ScanIter {
    Box::new(iter.map(|guard| {
        guard
            .into_inner()
            .map(|(k, v)| (from_fjall(k), from_fjall(v)))
            .map_err(err("scanning"))
    }))
}

impl FjallEngine {
    fn read(&self, partition: Partition, key: &[u8]) -> Result<Option<Bytes>> {
        self.partition(partition)
            .get(key)
            .map(|v| v.map(from_fjall))
            .map_err(err("reading"))
    }

    fn cache_of(&self, partition: Partition) -> Option<&RowCache> {
        match partition {
            Partition::Meta => self.meta_rows.as_ref(),
            _ => None,
        }
    }
}

impl Reader for FjallEngine {
    fn get(&self, partition: Partition, key: &[u8]) -> Result<Option<Bytes>> {
        let Some(cache) = self.cache_of(partition) else {
            return self.read(partition, key);
        };
        match cache.get(key) {
            Lookup::Hit(row) => Ok(row),
            Lookup::Miss(ticket) => {
                let row = self.read(partition, key)?;
                cache.fill(key, ticket, row.as_deref());
                Ok(row)
            }
        }
    }

    fn scan(&self, partition: Partition, range: KeyRange) -> ScanIter {
        let bounds = (to_fjall_bound(&range.0), to_fjall_bound(&range.1));
        into_scan(self.partition(partition).range::<&[u8], _>(bounds))
    }

    fn scan_rev(&self, partition: Partition, range: KeyRange) -> ScanIter {
        let bounds = (to_fjall_bound(&range.0), to_fjall_bound(&range.1));
        into_scan(self.partition(partition).range::<&[u8], _>(bounds).rev())
    }
}

impl Engine for FjallEngine {
    fn ingest(&self, partition: Partition, rows: Vec<(Bytes, Bytes)>) -> Result<()> {
        let keyspace = self.partition(partition);
        let mut ingestion = keyspace
            .start_ingestion()
            .map_err(err("starting an ingestion"))?;
        let keys: Vec<Bytes> = match self.cache_of(partition) {
            Some(_) => rows.iter().map(|(key, _)| key.clone()).collect(),
            None => Vec::new(),
        };
        let mut last: Option<Bytes> = None;
        for (key, value) in rows {
            // fjall panics on a key out of order: refuse it first.
            if last.as_ref().is_some_and(|last| key <= *last) {
                return Err(EngineError {
                    context: "ingesting rows",
                    message: "rows out of order".to_string(),
                });
            }
            last = Some(key.clone());
            ingestion
                .write(&key[..], &value[..])
                .map_err(err("writing an ingestion"))?;
        }
        let _ordered = lock(&self.cached_writes);
        ingestion.finish().map_err(err("finishing an ingestion"))?;
        if let Some(cache) = self.cache_of(partition) {
            for key in keys {
                cache.written(key, None);
            }
        }
        Ok(())
    }

    fn write(&self, batch: Batch) -> Result<()> {
        let mut fjall_batch = self.db.batch();
        // The changed rows of cached partitions (`None`: deleted).
        let mut cached = Vec::new();
        let mut written = [0u64; Partition::ALL.len()];
        for (partition, op) in batch.ops {
            let keyspace = self.partition(partition);
            let cache = self.cache_of(partition);
            written[partition.index()] += MEMTABLE_ENTRY_OVERHEAD
                + match &op {
                    Op::Put(k, v) => (k.len() + v.len()) as u64,
                    Op::Delete(k) => k.len() as u64,
                };
            match op {
                Op::Put(k, v) => {
                    if let Some(cache) = cache {
                        cached.push((cache, k.clone(), Some(v.clone())));
                    }
                    fjall_batch.insert(keyspace, &k[..], &v[..])
                }
                Op::Delete(k) => {
                    if let Some(cache) = cache {
                        cached.push((cache, k.clone(), None));
                    }
                    fjall_batch.remove(keyspace, &k[..])
                }
            }
        }
        if cached.is_empty() {
            fjall_batch.commit().map_err(err("committing a batch"))?;
        } else {
            let _ordered = lock(&self.cached_writes);
            fjall_batch.commit().map_err(err("committing a batch"))?;
            for (cache, key, row) in cached {
                cache.written(key, row);
            }
        }
        for partition in Partition::ALL {
            let bytes = written[partition.index()];
            if bytes > 0 && self.rotation.add(partition, bytes) {
                self.partition(partition)
                    .rotate_memtable()
                    .map_err(err("rotating a memtable"))?;
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db
            .persist(PersistMode::Buffer)
            .map_err(err("flushing the journal"))
    }

    fn sync(&self) -> Result<()> {
        self.flush()?;
        self.journal.sync_active().map_err(|e| EngineError {
            context: "syncing the journal",
            message: e.to_string(),
        })
    }

    fn snapshot(&self) -> Arc<dyn Reader> {
        Arc::new(FjallSnapshot {
            snapshot: self.db.snapshot(),
            partitions: self.partitions.clone(),
        })
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            disk_bytes: self.db.disk_space().unwrap_or(0),
            cache_capacity: self.db.cache_capacity(),
            cache_bytes: self.db.cache_size(),
            write_buffer_bytes: self.db.write_buffer_size(),
            row_cache_bytes: self.meta_rows.as_ref().map_or(0, RowCache::used_bytes),
        }
    }

    fn approximate_len(&self, partition: Partition) -> u64 {
        self.partition(partition).approximate_len() as u64
    }

    /// Flushes the memtable (its deletion markers must reach the tables,
    /// and its journal may then be dropped), then merges every table.
    /// Both calls are `doc(hidden)` in fjall 3.1, hence the pinned version.
    fn compact(&self, partition: Partition) -> Result<()> {
        let keyspace = self.partition(partition);
        keyspace
            .rotate_memtable_and_wait()
            .map_err(err("flushing a memtable"))?;
        keyspace.major_compact().map_err(err("compacting"))
    }
}

struct FjallSnapshot {
    snapshot: fjall::Snapshot,
    partitions: Vec<Keyspace>,
}

impl Reader for FjallSnapshot {
    fn get(&self, partition: Partition, key: &[u8]) -> Result<Option<Bytes>> {
        self.snapshot
            .get(&self.partitions[partition.index()], key)
            .map(|v| v.map(from_fjall))
            .map_err(err("reading a snapshot"))
    }

    fn scan(&self, partition: Partition, range: KeyRange) -> ScanIter {
        let bounds = (to_fjall_bound(&range.0), to_fjall_bound(&range.1));
        into_scan(
            self.snapshot
                .range::<&[u8], _>(&self.partitions[partition.index()], bounds),
        )
    }

    fn scan_rev(&self, partition: Partition, range: KeyRange) -> ScanIter {
        let bounds = (to_fjall_bound(&range.0), to_fjall_bound(&range.1));
        into_scan(
            self.snapshot
                .range::<&[u8], _>(&self.partitions[partition.index()], bounds)
                .rev(),
        )
    }
}
