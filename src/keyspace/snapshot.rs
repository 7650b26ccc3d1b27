//! The whole keyspace at one point in time: what a full sync sends a
//! replica. Taken under the write lock (`Txn::snapshot`), so it holds
//! exactly the commits before it; reading it later sees none after it,
//! whatever is flushed or swapped meanwhile.

use super::collection::StoreRead;
use super::encoding::{self, Meta};
use super::store::{Result, Store, Txn};
use crate::engine::{prefix_range, Partition, Reader};
use bytes::Bytes;
use std::ops::{Bound, RangeInclusive};
use std::sync::Arc;

/// Every slot: the whole of a database.
pub const ALL_SLOTS: RangeInclusive<u16> = 0..=crate::slot::SLOT_COUNT - 1;

pub struct Snapshot {
    reader: Arc<dyn Reader>,
    /// The namespace of each database when it was taken.
    namespaces: Arc<[u32]>,
    /// Keys whose deadline has passed by then are left out.
    now_ms: u64,
}

impl Txn<'_> {
    /// The committed keyspace as of now. Only what was committed is in
    /// it: commit this transaction's writes first.
    pub fn snapshot(&self) -> Snapshot {
        debug_assert_eq!(self.pending_ops(), 0, "a snapshot of uncommitted writes");
        Snapshot {
            reader: self.store.engine().snapshot(),
            namespaces: (0..self.databases()).map(|db| self.ns(db)).collect(),
            now_ms: self.now_ms(),
        }
    }
}

impl Snapshot {
    pub fn databases(&self) -> usize {
        self.namespaces.len()
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The function libraries' code when it was taken.
    pub fn functions(&self) -> Result<Vec<Bytes>> {
        super::store::read_functions(&*self.reader)
    }

    /// Up to `limit` live keys of `db` with their metadata, in storage
    /// order, after the key `after` (from the start with `None`).
    pub fn keys(
        &self,
        db: usize,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Meta)>> {
        self.keys_in_slots(db, ALL_SLOTS, after, limit)
    }

    /// [`Snapshot::keys`] of the slots `slots` only (a whole-slot
    /// migration's): one contiguous range of rows, since every meta key
    /// starts with its slot.
    pub fn keys_in_slots(
        &self,
        db: usize,
        slots: RangeInclusive<u16>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Meta)>> {
        let ns = self.namespaces[db];
        let (start, _) = prefix_range(&encoding::slot_prefix(ns, *slots.start()));
        let (_, end) = prefix_range(&encoding::slot_prefix(ns, *slots.end()));
        let start = match after {
            Some(key) => Bound::Excluded(encoding::meta_key(ns, key)),
            None => start,
        };
        let mut out = Vec::new();
        for item in self.reader.scan(Partition::Meta, (start, end)) {
            let (raw_key, raw_meta) = item?;
            let (_, _, key) = encoding::split_meta_key(&raw_key)
                .ok_or_else(|| super::store::corrupt("meta key"))?;
            let meta = super::store::decode_meta(raw_meta)?;
            if !meta.is_expired(self.now_ms) {
                out.push((key, meta));
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Read access to the keys and members of the snapshot.
    pub fn read<'s>(&self, store: &'s Store) -> StoreRead<'s> {
        StoreRead {
            store,
            now_ms: self.now_ms,
            snapshot: Some(self.reader.clone()),
            namespaces: Some(self.namespaces.clone()),
        }
    }
}
