//! An in-memory engine for tests and simulation.
//!
//! It keeps two copies of the data: `live`, what readers see, and `durable`,
//! what would survive a power cut. [`Engine::sync`] copies the unsynced
//! batches into `durable`; [`MemoryEngine::power_cut`] throws `live` away.

use super::{Batch, Engine, EngineStats, KeyRange, Op, Partition, Reader, Result, ScanIter};
use crate::sync::{lock, read, write};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};

type Map = BTreeMap<Bytes, Bytes>;

#[derive(Clone, Default)]
struct Maps {
    partitions: [Map; 5],
}

impl Maps {
    fn apply(&mut self, batch: &Batch) {
        for (partition, op) in &batch.ops {
            let map = &mut self.partitions[partition.index()];
            match op {
                Op::Put(k, v) => {
                    map.insert(k.clone(), v.clone());
                }
                Op::Delete(k) => {
                    map.remove(k);
                }
            }
        }
    }
}

#[derive(Default)]
pub struct MemoryEngine {
    live: Arc<RwLock<Maps>>,
    durable: Mutex<(Maps, Vec<Batch>)>,
}

impl MemoryEngine {
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    /// Simulates losing power: every write since the last sync vanishes.
    pub fn power_cut(&self) {
        let durable = lock(&self.durable);
        let mut live = write(&self.live);
        *live = durable.0.clone();
        drop(live);
        drop(durable);
        lock(&self.durable).1.clear();
    }
}

/// A scan that re-seeks after each item so that no lock is held between calls.
struct MapScan {
    maps: Arc<RwLock<Maps>>,
    partition: Partition,
    range: KeyRange,
    reverse: bool,
}

impl Iterator for MapScan {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        let maps = read(&self.maps);
        let map = &maps.partitions[self.partition.index()];
        let mut range = map.range::<Bytes, _>((self.range.0.clone(), self.range.1.clone()));
        let (k, v) = if self.reverse {
            range.next_back()?
        } else {
            range.next()?
        };
        let (k, v) = (k.clone(), v.clone());
        if self.reverse {
            self.range.1 = Bound::Excluded(k.clone());
        } else {
            self.range.0 = Bound::Excluded(k.clone());
        }
        Some(Ok((k, v)))
    }
}

fn get_from(maps: &RwLock<Maps>, partition: Partition, key: &[u8]) -> Option<Bytes> {
    read(maps).partitions[partition.index()].get(key).cloned()
}

impl Reader for MemoryEngine {
    fn get(&self, partition: Partition, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(get_from(&self.live, partition, key))
    }

    fn scan(&self, partition: Partition, range: KeyRange) -> ScanIter {
        Box::new(MapScan {
            maps: self.live.clone(),
            partition,
            range,
            reverse: false,
        })
    }

    fn scan_rev(&self, partition: Partition, range: KeyRange) -> ScanIter {
        Box::new(MapScan {
            maps: self.live.clone(),
            partition,
            range,
            reverse: true,
        })
    }
}

impl Engine for MemoryEngine {
    fn ingest(&self, partition: Partition, rows: Vec<(Bytes, Bytes)>) -> Result<()> {
        let mut batch = Batch::default();
        for (key, value) in rows {
            batch.put(partition, key, value);
        }
        self.write(batch)
    }

    fn write(&self, batch: Batch) -> Result<()> {
        // Lock order: durable, then live (as in power_cut).
        let mut durable = lock(&self.durable);
        write(&self.live).apply(&batch);
        durable.1.push(batch);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        // Nothing sits in a process buffer here; only a power cut loses data.
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut durable = lock(&self.durable);
        let (maps, pending) = &mut *durable;
        for batch in pending.drain(..) {
            maps.apply(&batch);
        }
        Ok(())
    }

    fn snapshot(&self) -> Arc<dyn Reader> {
        let copy = read(&self.live).clone();
        Arc::new(MemoryEngine {
            live: Arc::new(RwLock::new(copy)),
            durable: Mutex::default(),
        })
    }

    fn stats(&self) -> EngineStats {
        EngineStats::default()
    }

    fn approximate_len(&self, partition: Partition) -> u64 {
        read(&self.live).partitions[partition.index()].len() as u64
    }

    /// Deleted entries take no space here.
    fn compact(&self, _partition: Partition) -> Result<()> {
        Ok(())
    }
}
