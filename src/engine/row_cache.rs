//! A bounded cache of whole rows (key → value, or key → absent) in front of
//! the fjall engine's point reads of the partitions read by nearly every
//! command. An LSM point read searches the memtables, then each level's
//! filter, index block and data block; a hit here is one hash lookup. It
//! matters most for writes that must read the old row first (SET reads the
//! header of the key it replaces).
//!
//! Invariant: an entry equals what the engine holds for its key. Writers
//! update the cache after the engine has applied their batch: a put is
//! cached (write-through), a deletion drops the row, so that the sweeper's
//! and active expiry's deletions do not fill the cache with absent keys;
//! absence is cached when a reader finds it. A reader that missed fills the cache only
//! if no writer touched the key's shard between the moment it looked and the
//! moment it fills (the shard's write count did not move), so a slow reader
//! cannot put back a row that a writer has replaced meanwhile.

use crate::sync::lock;
use bytes::Bytes;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

/// Independent locks, so that threads rarely wait for each other.
const SHARDS: usize = 64;
/// What an entry costs beyond its key and value bytes (table slot, headers).
const ENTRY_OVERHEAD: u64 = 64;
/// Used only to size each shard's table up front.
const TYPICAL_ROW: u64 = 256;

#[derive(Clone)]
struct RowWeight;

impl quick_cache::Weighter<Bytes, Option<Bytes>> for RowWeight {
    fn weight(&self, key: &Bytes, value: &Option<Bytes>) -> u64 {
        key.len() as u64 + value.as_ref().map_or(0, |v| v.len() as u64) + ENTRY_OVERHEAD
    }
}

struct Shard {
    /// Bumped by every write to a key of this shard.
    writes: u64,
    rows: quick_cache::unsync::Cache<Bytes, Option<Bytes>, RowWeight, RowHasher>,
}

/// What a lookup found.
pub enum Lookup {
    /// The row (`None`: the engine holds no such key).
    Hit(Option<Bytes>),
    /// Read the engine, then hand the result and this ticket to
    /// [`RowCache::fill`].
    Miss(Ticket),
}

/// Proof of when a reader missed: see the module's invariant.
pub struct Ticket {
    shard: usize,
    writes: u64,
}

pub struct RowCache {
    shards: Box<[Mutex<Shard>]>,
    hasher: RowHasher,
}

/// Every read and write of a meta row hashes its key twice (shard, then
/// the shard's table): foldhash rather than the standard library's SipHash,
/// which cost 2 % of a SET.
type RowHasher = foldhash::fast::RandomState;

impl RowCache {
    /// A cache holding about `capacity_bytes` of rows; `None` for 0.
    pub fn new(capacity_bytes: u64) -> Option<RowCache> {
        if capacity_bytes == 0 {
            return None;
        }
        let per_shard = (capacity_bytes / SHARDS as u64).max(1);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    writes: 0,
                    rows: quick_cache::unsync::Cache::with(
                        (per_shard / TYPICAL_ROW).max(16) as usize,
                        per_shard,
                        RowWeight,
                        RowHasher::default(),
                        Default::default(),
                    ),
                })
            })
            .collect();
        Some(RowCache {
            shards,
            hasher: RowHasher::default(),
        })
    }

    fn shard_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        lock(&self.shards[shard])
    }

    pub fn get(&self, key: &[u8]) -> Lookup {
        let shard = self.shard_of(key);
        let guard = self.lock(shard);
        match guard.rows.get(key) {
            Some(row) => Lookup::Hit(row.clone()),
            None => Lookup::Miss(Ticket {
                shard,
                writes: guard.writes,
            }),
        }
    }

    /// Caches what a reader found in the engine after `ticket`'s miss,
    /// unless a write to the shard happened since. The value is copied: a
    /// value read from a table shares the whole block's buffer.
    pub fn fill(&self, key: &[u8], ticket: Ticket, value: Option<&[u8]>) {
        let mut guard = self.lock(ticket.shard);
        if guard.writes == ticket.writes {
            guard.rows.insert(
                Bytes::copy_from_slice(key),
                value.map(Bytes::copy_from_slice),
            );
        }
    }

    /// Records a write the engine has applied (`None`: a deletion).
    pub fn written(&self, key: Bytes, value: Option<Bytes>) {
        let mut guard = self.lock(self.shard_of(&key));
        guard.writes += 1;
        match value {
            Some(value) => {
                guard.rows.insert(key, Some(value));
            }
            None => {
                guard.rows.remove(&key[..]);
            }
        }
    }

    /// Bytes of rows held (for INFO).
    pub fn used_bytes(&self) -> u64 {
        (0..SHARDS)
            .map(|shard| self.lock(shard).rows.weight())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(cache: &RowCache, key: &[u8]) -> Option<Option<Bytes>> {
        match cache.get(key) {
            Lookup::Hit(row) => Some(row),
            Lookup::Miss(_) => None,
        }
    }

    #[test]
    fn a_fill_after_a_miss_is_served_and_absent_keys_are_cached_too() {
        let cache = RowCache::new(1 << 20).expect("cache");
        let Lookup::Miss(ticket) = cache.get(b"k") else {
            panic!("empty cache hit");
        };
        cache.fill(b"k", ticket, Some(b"v"));
        assert_eq!(hit(&cache, b"k"), Some(Some(Bytes::from_static(b"v"))));

        let Lookup::Miss(ticket) = cache.get(b"gone") else {
            panic!("empty cache hit");
        };
        cache.fill(b"gone", ticket, None);
        assert_eq!(hit(&cache, b"gone"), Some(None));
    }

    #[test]
    fn a_reader_that_missed_before_a_write_cannot_put_the_old_row_back() {
        let cache = RowCache::new(1 << 20).expect("cache");
        let Lookup::Miss(ticket) = cache.get(b"k") else {
            panic!("empty cache hit");
        };
        // The reader read "old" from the engine; then a writer replaced it.
        cache.written(Bytes::from_static(b"k"), Some(Bytes::from_static(b"new")));
        cache.fill(b"k", ticket, Some(b"old"));
        assert_eq!(hit(&cache, b"k"), Some(Some(Bytes::from_static(b"new"))));

        // Also when the write was a deletion, which drops the row.
        let Lookup::Miss(ticket) = cache.get(b"j") else {
            panic!("empty cache hit");
        };
        cache.written(Bytes::from_static(b"j"), None);
        cache.fill(b"j", ticket, Some(b"old"));
        assert_eq!(hit(&cache, b"j"), None);
        cache.written(Bytes::from_static(b"k"), None);
        assert_eq!(hit(&cache, b"k"), None);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let capacity = 64 * 1024;
        let cache = RowCache::new(capacity).expect("cache");
        for i in 0..10_000u32 {
            cache.written(
                Bytes::from(i.to_be_bytes().to_vec()),
                Some(Bytes::from(vec![0u8; 100])),
            );
        }
        assert!(cache.used_bytes() <= capacity, "{}", cache.used_bytes());
        assert!(cache.used_bytes() > capacity / 2, "{}", cache.used_bytes());
    }

    /// One step of a reader/writer schedule over a few keys. A `Read`
    /// misses or hits; on a miss, `writes_between` writes run between the
    /// reader's engine read and its fill.
    #[derive(Clone, Debug)]
    enum Step {
        Write {
            key: u8,
            value: Option<u8>,
        },
        Read {
            key: u8,
            writes_between: Vec<(u8, Option<u8>)>,
        },
    }

    impl quickcheck::Arbitrary for Step {
        fn arbitrary(g: &mut quickcheck::Gen) -> Step {
            let key = |g: &mut quickcheck::Gen| u8::arbitrary(g) % 6;
            if bool::arbitrary(g) {
                Step::Write {
                    key: key(g),
                    value: Option::arbitrary(g),
                }
            } else {
                let n = usize::arbitrary(g) % 3;
                Step::Read {
                    key: key(g),
                    writes_between: (0..n).map(|_| (key(g), Option::arbitrary(g))).collect(),
                }
            }
        }
    }

    /// Whatever the interleaving, and however small the cache, every hit
    /// equals what the engine (a map here) holds.
    #[test]
    fn hits_always_match_the_engine() {
        fn prop(steps: Vec<Step>, tiny: bool) -> bool {
            let cache = RowCache::new(if tiny { 300 } else { 1 << 20 }).expect("cache");
            let mut engine = std::collections::HashMap::<u8, u8>::new();
            let write = |engine: &mut std::collections::HashMap<u8, u8>, key: u8, value| {
                match value {
                    Some(v) => engine.insert(key, v),
                    None => engine.remove(&key),
                };
                cache.written(Bytes::from(vec![key]), value.map(|v| Bytes::from(vec![v])));
            };
            for step in steps {
                match step {
                    Step::Write { key, value } => write(&mut engine, key, value),
                    Step::Read {
                        key,
                        writes_between,
                    } => match cache.get(&[key]) {
                        Lookup::Hit(row) => {
                            if row.as_deref() != engine.get(&key).map(std::slice::from_ref) {
                                return false;
                            }
                        }
                        Lookup::Miss(ticket) => {
                            let read = engine.get(&key).copied();
                            for (key, value) in writes_between {
                                write(&mut engine, key, value);
                            }
                            cache.fill(&[key], ticket, read.as_ref().map(std::slice::from_ref));
                        }
                    },
                }
            }
            (0..6u8).all(|key| match cache.get(&[key]) {
                Lookup::Hit(row) => row.as_deref() == engine.get(&key).map(std::slice::from_ref),
                Lookup::Miss(_) => true,
            })
        }
        quickcheck::QuickCheck::new()
            .tests(2000)
            .quickcheck(prop as fn(Vec<Step>, bool) -> bool);
    }

    #[test]
    fn zero_capacity_means_no_cache() {
        assert!(RowCache::new(0).is_none());
    }
}
