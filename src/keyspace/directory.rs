//! The key directory: every key's header (type, expiry, version) in RAM,
//! by namespace, with exact key counts per hash slot (issue 18; Aerospike's
//! primary index and KeyDB-FLASH keep the same split: what a write must
//! know of a key in RAM, the values on disk).
//!
//! A write that replaces a key needs only its header: whether it exists,
//! whether it expires (the expire index entry to delete), and for a
//! collection its version (the members to reclaim). Reading that from the
//! LSM was the dearest part of a SET, and of every write to a key that does
//! not exist, which the LSM can only prove by looking everywhere. The
//! directory answers both with one hash lookup.
//!
//! It is kept under the store's write lock: a [`super::Txn`] reads it for
//! keys it has not written yet and applies its writes to it after its batch
//! is in the engine, so it always equals the meta partition of every live
//! namespace. [`Directory::build`] reads it back from the meta rows at open.
//! The per-slot counts are also readable without the lock
//! ([`SlotCounts`]), for CLUSTER COUNTKEYSINSLOT.

use super::encoding::{self, Header};
use super::store::{corrupt, KeyCounts, Result};
use crate::engine::{prefix_range, Engine, KeyRange, Partition};
use crate::slot::{key_slot, SLOT_COUNT};
use crate::sync::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Keys are user input: the hasher is seeded per map, fast, and resists
/// the collisions a client could aim at a fixed one.
type Keys = HashMap<Box<[u8]>, Header, foldhash::fast::RandomState>;

/// Exact key counts per hash slot of one namespace, expired keys not yet
/// deleted included (as Redis' `countkeysinslot`).
pub struct SlotCounts(Box<[AtomicU32]>);

impl SlotCounts {
    fn new() -> SlotCounts {
        SlotCounts((0..SLOT_COUNT).map(|_| AtomicU32::new(0)).collect())
    }

    pub fn get(&self, slot: u16) -> u32 {
        self.0
            .get(usize::from(slot))
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }

    fn add(&self, slot: u16, delta: i32) {
        if let Some(count) = self.0.get(usize::from(slot)) {
            let now = count.load(Ordering::Relaxed);
            count.store(now.saturating_add_signed(delta), Ordering::Relaxed);
        }
    }
}

struct Namespace {
    keys: Keys,
    /// How many of `keys` have a deadline.
    expiring: u64,
    slots: Arc<SlotCounts>,
}

/// The slot counts of every namespace the directory holds, for readers
/// that do not hold the write lock.
pub type SlotCountsView = Arc<Mutex<HashMap<u32, Arc<SlotCounts>>>>;

pub(super) struct Directory {
    namespaces: HashMap<u32, Namespace>,
    view: SlotCountsView,
}

impl Directory {
    pub fn new() -> Directory {
        Directory {
            namespaces: HashMap::new(),
            view: SlotCountsView::default(),
        }
    }

    /// Reads the headers of namespaces `live` from the meta partition.
    /// This reads every meta row (strings' values are inline), most of a
    /// restart's time: two threads scan half the slots each while this
    /// one fills the maps.
    pub fn build(engine: &dyn Engine, live: impl IntoIterator<Item = u32>) -> Result<Directory> {
        let mut directory = Directory::new();
        for ns in live {
            let (start, end) = prefix_range(&encoding::ns_prefix(ns));
            let middle = Bound::Included(encoding::slot_prefix(ns, SLOT_COUNT / 2));
            let middle_end = Bound::Excluded(encoding::slot_prefix(ns, SLOT_COUNT / 2));
            let halves = [(start, middle_end), (middle, end)];
            in_parallel(engine, halves, |slot, key, header| {
                directory.insert_in_slot(ns, slot, key, header)
            })?;
        }
        Ok(directory)
    }

    pub fn view(&self) -> SlotCountsView {
        self.view.clone()
    }

    pub fn get(&self, ns: u32, key: &[u8]) -> Option<Header> {
        self.namespaces.get(&ns)?.keys.get(key).copied()
    }

    /// The keys of `ns`, and how many of them expire.
    pub fn counts(&self, ns: u32) -> KeyCounts {
        self.namespaces
            .get(&ns)
            .map_or_else(KeyCounts::default, |namespace| KeyCounts {
                keys: namespace.keys.len() as u64,
                expires: namespace.expiring,
            })
    }

    pub fn insert(&mut self, ns: u32, key: &[u8], header: Header) {
        let namespace = self.namespace(ns);
        if let Some(old) = namespace.keys.get_mut(key) {
            namespace.expiring -= u64::from(old.expire_at != 0);
            namespace.expiring += u64::from(header.expire_at != 0);
            *old = header;
            return;
        }
        self.insert_in_slot(ns, key_slot(key), key, header);
    }

    fn insert_in_slot(&mut self, ns: u32, slot: u16, key: &[u8], header: Header) {
        let namespace = self.namespace(ns);
        if let Some(old) = namespace.keys.insert(key.into(), header) {
            namespace.expiring -= u64::from(old.expire_at != 0);
        } else {
            namespace.slots.add(slot, 1);
        }
        namespace.expiring += u64::from(header.expire_at != 0);
    }

    pub fn remove(&mut self, ns: u32, key: &[u8]) {
        let Some(namespace) = self.namespaces.get_mut(&ns) else {
            return;
        };
        if let Some(old) = namespace.keys.remove(key) {
            namespace.expiring -= u64::from(old.expire_at != 0);
            namespace.slots.add(key_slot(key), -1);
        }
    }

    /// Forgets a namespace that died (FLUSHDB, a switched or aborted load).
    pub fn drop_namespace(&mut self, ns: u32) {
        lock(&self.view).remove(&ns);
        if let Some(namespace) = self.namespaces.remove(&ns) {
            drop_large(namespace.keys);
        }
    }

    fn namespace(&mut self, ns: u32) -> &mut Namespace {
        self.namespaces.entry(ns).or_insert_with(|| {
            let slots = Arc::new(SlotCounts::new());
            lock(&self.view).insert(ns, slots.clone());
            Namespace {
                keys: Keys::default(),
                expiring: 0,
                slots,
            }
        })
    }
}

/// Headers read in one go by a scanning thread.
#[cfg(not(madsim))]
type Chunk = Vec<(u16, Bytes, Header)>;
#[cfg(not(madsim))]
const CHUNK_LEN: usize = 4096;

/// Scans every range of `ranges` on a thread of its own, handing each
/// row's slot, key and header to `found` on this thread.
#[cfg(not(madsim))]
fn in_parallel(
    engine: &dyn Engine,
    ranges: [KeyRange; 2],
    mut found: impl FnMut(u16, &[u8], Header),
) -> Result<()> {
    std::thread::scope(|scope| {
        let (send, chunks) = std::sync::mpsc::sync_channel::<Result<Chunk>>(8);
        for range in ranges {
            let send = send.clone();
            scope.spawn(move || {
                let mut chunk = Vec::with_capacity(CHUNK_LEN);
                for row in engine.scan(Partition::Meta, range) {
                    match row.and_then(|(raw_key, raw_meta)| decode_row(&raw_key, &raw_meta)) {
                        Ok(entry) => chunk.push(entry),
                        Err(e) => {
                            let _ = send.send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == CHUNK_LEN {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_LEN));
                        if send.send(Ok(full)).is_err() {
                            return;
                        }
                    }
                }
                let _ = send.send(Ok(chunk));
            });
        }
        drop(send);
        for chunk in chunks {
            for (slot, key, header) in chunk? {
                found(slot, &key, header);
            }
        }
        Ok(())
    })
}

/// The madsim build has no threads: the ranges are scanned in turn.
#[cfg(madsim)]
fn in_parallel(
    engine: &dyn Engine,
    ranges: [KeyRange; 2],
    mut found: impl FnMut(u16, &[u8], Header),
) -> Result<()> {
    for range in ranges {
        for row in engine.scan(Partition::Meta, range) {
            let (raw_key, raw_meta) = row?;
            let (slot, key, header) = decode_row(&raw_key, &raw_meta)?;
            found(slot, &key, header);
        }
    }
    Ok(())
}

fn decode_row(raw_key: &Bytes, raw_meta: &[u8]) -> Result<(u16, Bytes, Header)> {
    let (_, slot, key) = encoding::split_meta_key(raw_key).ok_or_else(|| corrupt("meta key"))?;
    let header = encoding::decode_header(raw_meta).ok_or_else(|| corrupt("key metadata"))?;
    Ok((slot, key, header))
}

/// Frees a big map on a thread of its own: a flushed database's million
/// keys take a while to free, and the writer holds the write lock.
fn drop_large(keys: Keys) {
    #[cfg(not(madsim))]
    if keys.len() > 100_000 {
        std::thread::spawn(move || drop(keys));
        return;
    }
    drop(keys);
}
