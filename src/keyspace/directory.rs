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

use super::encoding::{self, Header, KeyType};
use super::store::{corrupt, KeyCounts, Result};
use crate::engine::{prefix_range, Engine, KeyRange, Partition};
use crate::slot::{key_slot, SLOT_COUNT};
use crate::sync::lock;
use bytes::Bytes;
use hashbrown::hash_table::{self, HashTable};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Keys are user input: the hasher is seeded per map, fast, and resists
/// the collisions a client could aim at a fixed one.
type Hasher = foldhash::fast::RandomState;

/// The keys of a namespace. An entry is one allocation, header then key,
/// behind a 16-byte table slot: about 58 bytes per 11-byte key where a
/// map of boxed keys to headers took about 100 (issue 18 allows 64 beyond
/// the key).
#[derive(Default)]
struct Keys {
    table: HashTable<Entry>,
    hasher: Hasher,
}

/// `kind (1) | expire_at (8, LE) | version (8, LE) | key`.
struct Entry(Box<[u8]>);

const ENTRY_HEADER_LEN: usize = 17;

impl Entry {
    fn new(key: &[u8], header: Header) -> Entry {
        let mut bytes = Vec::with_capacity(ENTRY_HEADER_LEN + key.len());
        bytes.push(header.kind as u8);
        bytes.extend_from_slice(&header.expire_at.to_le_bytes());
        bytes.extend_from_slice(&header.version.to_le_bytes());
        bytes.extend_from_slice(key);
        Entry(bytes.into_boxed_slice())
    }

    fn key(&self) -> &[u8] {
        &self.0[ENTRY_HEADER_LEN..]
    }

    fn header(&self) -> Header {
        let word = |at: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&self.0[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        Header {
            kind: KeyType::from_byte(self.0[0]).expect("entries hold a kind they were given"),
            expire_at: word(1),
            version: word(9),
        }
    }

    fn set_header(&mut self, header: Header) {
        self.0[0] = header.kind as u8;
        self.0[1..9].copy_from_slice(&header.expire_at.to_le_bytes());
        self.0[9..17].copy_from_slice(&header.version.to_le_bytes());
    }
}

impl Keys {
    fn len(&self) -> usize {
        self.table.len()
    }

    fn get(&self, key: &[u8]) -> Option<Header> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |entry| entry.key() == key)
            .map(Entry::header)
    }

    /// Sets `key`'s header; the one it replaces, if any.
    fn insert(&mut self, key: &[u8], header: Header) -> Option<Header> {
        let hash = self.hasher.hash_one(key);
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |entry| entry.key() == key,
            |entry| hasher.hash_one(entry.key()),
        ) {
            hash_table::Entry::Occupied(mut found) => {
                let old = found.get().header();
                found.get_mut().set_header(header);
                Some(old)
            }
            hash_table::Entry::Vacant(vacant) => {
                vacant.insert(Entry::new(key, header));
                None
            }
        }
    }

    fn remove(&mut self, key: &[u8]) -> Option<Header> {
        let hash = self.hasher.hash_one(key);
        let found = self
            .table
            .find_entry(hash, |entry| entry.key() == key)
            .ok()?;
        Some(found.remove().0.header())
    }
}

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
        self.namespaces.get(&ns)?.keys.get(key)
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
        self.insert_with(ns, key, header, || key_slot(key));
    }

    fn insert_in_slot(&mut self, ns: u32, slot: u16, key: &[u8], header: Header) {
        self.insert_with(ns, key, header, || slot);
    }

    /// `slot` is asked only for a new key: hashing a key for its slot costs
    /// a CRC, and replacing one needs none.
    fn insert_with(&mut self, ns: u32, key: &[u8], header: Header, slot: impl FnOnce() -> u16) {
        let namespace = self.namespace(ns);
        match namespace.keys.insert(key, header) {
            Some(old) => namespace.expiring -= u64::from(old.expire_at != 0),
            None => namespace.slots.add(slot(), 1),
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

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn header(kind: KeyType, expire_at: u64, version: u64) -> Header {
        Header {
            kind,
            expire_at,
            version,
        }
    }

    #[test]
    fn an_entry_gives_back_its_key_and_header() {
        let mut entry = Entry::new(b"user:1", header(KeyType::ZSet, u64::MAX, 7));
        assert_eq!(entry.key(), b"user:1");
        assert_eq!(entry.header(), header(KeyType::ZSet, u64::MAX, 7));
        entry.set_header(header(KeyType::String, 0, u64::MAX));
        assert_eq!(entry.key(), b"user:1");
        assert_eq!(entry.header(), header(KeyType::String, 0, u64::MAX));
        assert_eq!(Entry::new(b"", header(KeyType::List, 1, 2)).key(), b"");
    }

    #[test]
    fn the_directory_counts_keys_expiries_and_slots() {
        let mut directory = Directory::new();
        directory.insert(3, b"a", header(KeyType::String, 0, 0));
        directory.insert(3, b"b", header(KeyType::Hash, 99, 5));
        directory.insert(3, b"a", header(KeyType::String, 50, 0));
        directory.insert(4, b"a", header(KeyType::Set, 0, 6));
        assert_eq!(directory.get(3, b"a"), Some(header(KeyType::String, 50, 0)));
        assert_eq!(directory.get(4, b"a"), Some(header(KeyType::Set, 0, 6)));
        assert_eq!(directory.get(5, b"a"), None);
        let counts = directory.counts(3);
        assert_eq!((counts.keys, counts.expires), (2, 2));
        let slots = lock(&directory.view)[&3].clone();
        assert_eq!(slots.get(key_slot(b"a")), 1);
        directory.remove(3, b"b");
        directory.remove(3, b"missing");
        let counts = directory.counts(3);
        assert_eq!((counts.keys, counts.expires), (1, 1));
        assert_eq!(slots.get(key_slot(b"b")), 0);
        directory.drop_namespace(3);
        assert_eq!(directory.get(3, b"a"), None);
        assert!(!lock(&directory.view).contains_key(&3));
    }

    quickcheck! {
        /// The table behaves as a map from key to header, through growth.
        fn keys_match_a_map(ops: Vec<(u8, Option<(u64, u64)>)>) -> bool {
            let mut keys = Keys::default();
            let mut model = HashMap::new();
            for (key, op) in ops {
                let key = [key % 64; 3];
                match op {
                    Some((expire_at, version)) => {
                        let new = header(KeyType::Hash, expire_at, version);
                        if keys.insert(&key, new) != model.insert(key, new) {
                            return false;
                        }
                    }
                    None => {
                        if keys.remove(&key) != model.remove(&key) {
                            return false;
                        }
                    }
                }
            }
            keys.len() == model.len() && model.iter().all(|(key, h)| keys.get(key) == Some(*h))
        }
    }
}
