//! Collections (hashes, sets, lists, sorted sets): members in the data
//! partition, keyed by the collection's *version*.
//!
//! - member key: `data_prefix(ns, key, version) | sub key` → value
//!   (`data_prefix` = `ns u32 | slot u16 | key len u32 | key | version u64`).
//! - a sorted set also keeps a score index in the zscore partition under
//!   the same prefix (`Members::score_index`): `prefix | score (8 bytes,
//!   order-preserving) | member` → empty, so score order is key order.
//! - the meta value holds type, encoding, expiry, version and the member
//!   count, so HLEN-style counts are one point read.
//!
//! Invariants:
//! - Only members under the version in a key's live metadata are visible;
//!   versions never repeat, so members of a dead version are garbage that no
//!   read can reach.
//! - Deleting, overwriting, expiring or flushing a collection is O(1): the
//!   metadata goes (or gets another type/version) and `Txn::put`/`remove`
//!   record `gc: | data prefix` in the sys partition in the same batch.
//!   [`Store::sweep_dead`] deletes those members later, a budget at a time.
//! - A transaction reads its own member writes (an ordered overlay merged
//!   into range scans) and a savepoint rollback undoes them.

use super::encoding::{self, KeyType, Meta};
use super::store::{delete_prefixed, Result, Store, Txn, SYS_DEAD_MEMBERS};
use crate::engine::{prefix_range, prefix_successor, Batch, KeyRange, Partition, Reader};
use bytes::{BufMut, Bytes, BytesMut};
use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Store {
    /// Reads the rows of `members` of the collection `meta` describes, only
    /// so that fjall's block cache holds their blocks, and the CPU's cache
    /// their memtable nodes, when a write reads them again under the write
    /// lock (see `Session::warm_ahead`). Members have no row cache.
    pub fn warm_members(
        &self,
        db: usize,
        key: &[u8],
        meta: &Meta,
        members: &[&[u8]],
    ) -> Result<()> {
        if !meta.is_collection() {
            return Ok(());
        }
        let at = Members::new(self.ns(db), key, meta.version);
        for member in members {
            self.engine().get(Partition::Data, &at.key(member))?;
        }
        Ok(())
    }
}

/// Where one version of a collection keeps its members (or, for a sorted
/// set, its score index): a partition and a key prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Members {
    prefix: Bytes,
    partition: Partition,
}

impl Members {
    pub fn new(ns: u32, key: &[u8], version: u64) -> Members {
        Members {
            prefix: encoding::data_prefix(ns, key, version),
            partition: Partition::Data,
        }
    }

    /// The sorted-set score index of the same collection version: sub keys
    /// `score (encoding::score_bytes) | member`, empty values.
    pub fn score_index(&self) -> Members {
        Members {
            prefix: self.prefix.clone(),
            partition: Partition::ZScore,
        }
    }

    /// The data key of member `sub`.
    pub fn key(&self, sub: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(self.prefix.len() + sub.len());
        out.put_slice(&self.prefix);
        out.put_slice(sub);
        out.freeze()
    }

    fn sub_of(&self, raw: &Bytes) -> Bytes {
        raw.slice(self.prefix.len().min(raw.len())..)
    }

    /// The storage keys of the members whose sub keys lie between `lower`
    /// and `upper`.
    fn span(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> KeyRange {
        let start = match lower {
            Bound::Included(sub) => Bound::Included(self.key(sub)),
            Bound::Excluded(sub) => Bound::Excluded(self.key(sub)),
            Bound::Unbounded => Bound::Included(self.prefix.clone()),
        };
        let end = match upper {
            Bound::Included(sub) => Bound::Included(self.key(sub)),
            Bound::Excluded(sub) => Bound::Excluded(self.key(sub)),
            Bound::Unbounded => match prefix_successor(&self.prefix) {
                Some(end) => Bound::Excluded(Bytes::from(end)),
                None => Bound::Unbounded,
            },
        };
        (start, end)
    }
}

/// Sub-key bounds of a [`KeyRead::member_span`] and its direction.
#[derive(Clone, Copy, Debug)]
pub struct Span<'a> {
    pub lower: Bound<&'a [u8]>,
    pub upper: Bound<&'a [u8]>,
    /// Descending order (from `upper` down).
    pub rev: bool,
}

impl Span<'_> {
    /// Every sub key, ascending.
    pub const ALL: Span<'static> = Span {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        rev: false,
    };
}

/// Read access to keys and collection members: a [`Txn`] (reads its own
/// writes) or [`StoreRead`] (straight to the engine, no lock).
pub trait KeyRead {
    /// A key's live metadata (expired keys read as absent).
    fn meta(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>>;
    /// Where the members of `key` (whose metadata is `meta`) live.
    fn members(&self, db: usize, key: &[u8], meta: &Meta) -> Members;
    fn member(&mut self, members: &Members, sub: &[u8]) -> Result<Option<Bytes>>;
    /// Up to `limit` members of `span`, in its order.
    fn member_span(
        &mut self,
        members: &Members,
        span: Span,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>>;

    /// Up to `limit` members in sub key order, after `after`.
    fn member_range(
        &mut self,
        members: &Members,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let span = Span { lower, ..Span::ALL };
        self.member_span(members, span, limit)
    }

    /// Every member, read in chunks.
    fn all_members(&mut self, members: &Members) -> Result<Vec<(Bytes, Bytes)>> {
        const CHUNK: usize = 4096;
        let mut out: Vec<(Bytes, Bytes)> = Vec::new();
        loop {
            let after = out.last().map(|(sub, _)| sub.clone());
            let chunk = self.member_range(members, after.as_deref(), CHUNK)?;
            let done = chunk.len() < CHUNK;
            out.extend(chunk);
            if done {
                return Ok(out);
            }
        }
    }
}

/// Lock-free reads of the committed state: of the live engine, or of one
/// snapshot of it for a command that reads more than once (a key's
/// metadata, then its members in several chunks) and must see a single
/// point in time without holding the write lock.
pub struct StoreRead<'s> {
    pub store: &'s Store,
    pub now_ms: u64,
    pub snapshot: Option<Arc<dyn Reader>>,
    /// The namespace of each database as of `snapshot`, when it must not
    /// follow a FLUSHDB or SWAPDB committed since (a full sync's snapshot).
    pub namespaces: Option<Arc<[u32]>>,
}

impl StoreRead<'_> {
    fn view(&self) -> &dyn Reader {
        match &self.snapshot {
            Some(snapshot) => &**snapshot,
            None => &**self.store.engine(),
        }
    }

    fn ns(&self, db: usize) -> u32 {
        match &self.namespaces {
            Some(namespaces) => namespaces[db],
            None => self.store.ns(db),
        }
    }
}

impl KeyRead for StoreRead<'_> {
    fn meta(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>> {
        self.store
            .get_in(self.view(), self.ns(db), key, self.now_ms)
    }

    fn members(&self, db: usize, key: &[u8], meta: &Meta) -> Members {
        Members::new(self.ns(db), key, meta.version)
    }

    fn member(&mut self, members: &Members, sub: &[u8]) -> Result<Option<Bytes>> {
        self.view().get(members.partition, &members.key(sub))
    }

    fn member_span(
        &mut self,
        members: &Members,
        span: Span,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let range = members.span(span.lower, span.upper);
        let view = self.view();
        let scan = match span.rev {
            false => view.scan(members.partition, range),
            true => view.scan_rev(members.partition, range),
        };
        scan.take(limit)
            .map(|item| item.map(|(raw, value)| (members.sub_of(&raw), value)))
            .collect()
    }
}

impl KeyRead for Txn<'_> {
    fn meta(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>> {
        self.get(db, key)
    }

    fn members(&self, db: usize, key: &[u8], meta: &Meta) -> Members {
        Members::new(self.ns(db), key, meta.version)
    }

    fn member(&mut self, members: &Members, sub: &[u8]) -> Result<Option<Bytes>> {
        let key = (members.partition, members.key(sub));
        match self.member_writes.get(&key) {
            Some(value) => Ok(value.clone()),
            None => self.store.engine().get(key.0, &key.1),
        }
    }

    /// Merges the engine's members with this transaction's writes.
    fn member_span(
        &mut self,
        members: &Members,
        span: Span,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let partition = members.partition;
        let (start, end) = members.span(span.lower, span.upper);
        let engine = self.store.engine();
        let mut stored = match span.rev {
            false => engine.scan(partition, (start.clone(), end.clone())),
            true => engine.scan_rev(partition, (start.clone(), end.clone())),
        }
        .peekable();
        let tagged = |bound: Bound<Bytes>| bound.map(|key| (partition, key));
        let written = self
            .member_writes
            .range((tagged(start), tagged(end)))
            .filter(|((p, _), _)| *p == partition)
            .map(|((_, key), value)| (key, value));
        let written: Box<dyn Iterator<Item = _>> = match span.rev {
            false => Box::new(written),
            true => Box::new(written.rev()),
        };
        let mut written = written.peekable();
        let mut out = Vec::new();
        while out.len() < limit {
            let stored_key = match stored.peek() {
                Some(Ok((key, _))) => Some(key.clone()),
                Some(Err(_)) => match stored.next() {
                    Some(Err(e)) => return Err(e),
                    _ => None,
                },
                None => None,
            };
            let take_written = match (&stored_key, written.peek()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(s), Some((w, _))) => {
                    if *w == s {
                        stored.next(); // shadowed by this transaction's write
                    }
                    // The one that comes first in the scan's direction.
                    if span.rev {
                        *w >= s
                    } else {
                        *w <= s
                    }
                }
            };
            if take_written {
                if let Some((key, Some(value))) = written.next() {
                    out.push((members.sub_of(key), value.clone()));
                }
            } else if let Some(item) = stored.next() {
                let (key, value) = item?;
                out.push((members.sub_of(&key), value));
            }
        }
        Ok(out)
    }
}

impl Txn<'_> {
    pub fn member_put(&mut self, members: &Members, sub: &[u8], value: Bytes) {
        let key = members.key(sub);
        self.batch
            .put(members.partition, key.clone(), value.clone());
        self.set_member((members.partition, key), Some(value));
        self.changes += 1;
    }

    pub fn member_delete(&mut self, members: &Members, sub: &[u8]) {
        let key = members.key(sub);
        self.batch.delete(members.partition, key.clone());
        self.set_member((members.partition, key), None);
        self.changes += 1;
    }

    fn set_member(&mut self, key: (Partition, Bytes), value: Option<Bytes>) {
        let previous = self.member_writes.insert(key.clone(), value);
        self.member_undo.push((key, previous));
    }

    /// Undoes member writes back to the first `len` of the undo log.
    pub(super) fn undo_members(&mut self, len: usize) {
        while self.member_undo.len() > len {
            let Some((key, previous)) = self.member_undo.pop() else {
                break;
            };
            match previous {
                Some(value) => self.member_writes.insert(key, value),
                None => self.member_writes.remove(&key),
            };
        }
    }

    /// Records that the members of (`key`, `version`) are garbage.
    pub(super) fn reclaim(&mut self, ns: u32, key: &[u8], version: u64) {
        let prefix = encoding::data_prefix(ns, key, version);
        let mut marker = BytesMut::with_capacity(SYS_DEAD_MEMBERS.len() + prefix.len());
        marker.put_slice(SYS_DEAD_MEMBERS);
        marker.put_slice(&prefix);
        self.batch
            .put(Partition::Sys, marker.freeze(), Bytes::new());
        self.reclaims += 1;
    }

    /// The value of `src_key` (metadata `meta`) made ready to be stored at
    /// `dst_key` of `dst_db` (RENAME, COPY, MOVE): a string as is; a
    /// collection gets a fresh version and a copy of its members (O(n)).
    /// The caller writes the returned metadata.
    pub fn copy_value(
        &mut self,
        src_db: usize,
        src_key: &[u8],
        meta: &Meta,
        dst_db: usize,
        dst_key: &[u8],
    ) -> Result<Meta> {
        if !meta.is_collection() {
            return Ok(meta.clone());
        }
        let mut copy = meta.clone();
        copy.version = self.new_version();
        let from = self.members(src_db, src_key, meta);
        let to = self.members(dst_db, dst_key, &copy);
        self.copy_members(&from, &to)?;
        if meta.kind == KeyType::ZSet {
            self.copy_members(&from.score_index(), &to.score_index())?;
        }
        Ok(copy)
    }

    fn copy_members(&mut self, from: &Members, to: &Members) -> Result<()> {
        const CHUNK: usize = 1024;
        let mut after: Option<Bytes> = None;
        loop {
            let chunk = self.member_range(from, after.as_deref(), CHUNK)?;
            let done = chunk.len() < CHUNK;
            for (sub, value) in chunk {
                self.member_put(to, &sub, value);
                after = Some(sub);
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// The partitions a dead collection version has entries in.
const SWEPT: [Partition; 2] = [Partition::Data, Partition::ZScore];

impl Store {
    /// Deletes up to `budget` members (and score index entries) of dead
    /// collection versions, and the markers of versions fully reclaimed.
    /// Returns the number of deletes.
    pub(super) fn sweep_dead_members(&self, budget: usize) -> Result<usize> {
        let engine = self.engine();
        let mut batch = Batch::default();
        let mut finished = 0u64;
        let mut resume = crate::sync::lock(&self.sweep_resume);
        'markers: for item in engine.scan(Partition::Sys, prefix_range(SYS_DEAD_MEMBERS)) {
            let (marker, _) = item?;
            let prefix = marker.slice(SYS_DEAD_MEMBERS.len()..);
            let steps = SWEPT.map(|partition| (partition, &prefix[..]));
            let left = budget.saturating_sub(batch.len());
            if !delete_prefixed(engine.as_ref(), &steps, &mut resume, left, &mut batch)? {
                break 'markers;
            }
            batch.delete(Partition::Sys, marker);
            *resume = None;
            finished += 1;
        }
        let deleted = batch.len();
        if deleted == 0 {
            return Ok(0);
        }
        engine.write(batch)?;
        self.reclaimed.fetch_add(finished, Ordering::Relaxed);
        let _ = self
            .reclaim_pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(finished))
            });
        Ok(deleted)
    }

    /// Number of entries in the data partition (tests and diagnostics).
    pub fn data_entries(&self) -> Result<usize> {
        self.partition_entries(Partition::Data)
    }

    /// Number of entries in `partition` (tests and diagnostics).
    pub fn partition_entries(&self, partition: Partition) -> Result<usize> {
        let mut n = 0;
        for item in self
            .engine()
            .scan(partition, (Bound::Unbounded, Bound::Unbounded))
        {
            item?;
            n += 1;
        }
        Ok(n)
    }
}
