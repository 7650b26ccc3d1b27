//! Exact key counts per hash slot (COUNTKEYSINSLOT in O(1)).
//!
//! Each namespace's count of keys in each slot is a `slots: | ns | slot`
//! row of the sys partition, written in the same batch as the keys it
//! counts, so a crash never parts them; a count that drops to zero loses
//! its row. The committed counts are also in RAM (at most 16384 of them
//! per namespace that holds keys), loaded at open. Like DBSIZE, and like
//! Redis' own count, a key past its deadline that is not deleted yet
//! still counts. A store written before the counts existed is counted
//! once at open (a scan of its keys), then marked `slot_counts`.

use super::{corrupt, encoding, Result};
use crate::engine::{prefix_range, Batch, Engine, Partition};
use crate::slot::SLOT_COUNT;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap};

/// `slots: | ns u32 | slot u16` → count u64.
const SYS_SLOT_COUNT: &[u8] = b"slots:";
/// Present once every namespace's slots are counted.
const SYS_SLOT_COUNTS_KEPT: &[u8] = b"slot_counts";

fn row_key(ns: u32, slot: u16) -> Bytes {
    let mut out = BytesMut::with_capacity(SYS_SLOT_COUNT.len() + 6);
    out.put_slice(SYS_SLOT_COUNT);
    out.put_u32(ns);
    out.put_u16(slot);
    out.freeze()
}

/// The prefix of namespace `ns`'s count rows (swept with it).
pub(super) fn ns_rows(ns: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(SYS_SLOT_COUNT.len() + 4);
    out.put_slice(SYS_SLOT_COUNT);
    out.put_u32(ns);
    out.freeze()
}

/// The committed counts of every namespace that holds keys.
#[derive(Default)]
pub(super) struct SlotCounts {
    by_ns: HashMap<u32, Box<[u64]>>,
}

/// A transaction's changes to the counts, by (namespace, slot).
pub(super) type SlotDeltas = BTreeMap<(u32, u16), i64>;

impl SlotCounts {
    /// Reads the counts; counts the keys of `namespaces` first if the
    /// store predates the counts (writing the rows and the mark to
    /// `batch`).
    pub(super) fn open(
        engine: &dyn Engine,
        namespaces: &[u32],
        batch: &mut Batch,
    ) -> Result<SlotCounts> {
        let mut counts = SlotCounts::default();
        if engine.get(Partition::Sys, SYS_SLOT_COUNTS_KEPT)?.is_none() {
            for &ns in namespaces {
                for row in engine.scan(Partition::Meta, prefix_range(&encoding::ns_prefix(ns))) {
                    let (raw_key, _) = row?;
                    let (_, slot, _) =
                        encoding::split_meta_key(&raw_key).ok_or_else(|| corrupt("meta key"))?;
                    counts.slots_mut(ns)[usize::from(slot)] += 1;
                }
            }
            for (&ns, slots) in &counts.by_ns {
                for (slot, &count) in (0..).zip(slots.iter()).filter(|(_, &n)| n > 0) {
                    batch.put(
                        Partition::Sys,
                        row_key(ns, slot),
                        count.to_be_bytes().to_vec(),
                    );
                }
            }
            batch.put(Partition::Sys, SYS_SLOT_COUNTS_KEPT, Bytes::new());
            return Ok(counts);
        }
        for row in engine.scan(Partition::Sys, prefix_range(SYS_SLOT_COUNT)) {
            let (key, value) = row?;
            let id = &key[SYS_SLOT_COUNT.len()..];
            if id.len() != 6 || value.len() != 8 {
                return Err(corrupt("slot count"));
            }
            let slot = u16::from_be_bytes([id[4], id[5]]);
            if slot >= SLOT_COUNT {
                return Err(corrupt("slot count"));
            }
            counts.slots_mut(encoding::read_u32(&id[..4]))[usize::from(slot)] =
                encoding::read_u64(&value);
        }
        Ok(counts)
    }

    fn slots_mut(&mut self, ns: u32) -> &mut [u64] {
        self.by_ns
            .entry(ns)
            .or_insert_with(|| vec![0; usize::from(SLOT_COUNT)].into_boxed_slice())
    }

    pub(super) fn get(&self, ns: u32, slot: u16) -> u64 {
        self.by_ns
            .get(&ns)
            .map_or(0, |slots| slots[usize::from(slot)])
    }

    /// The rows that record `deltas` applied to these counts.
    pub(super) fn write(&self, deltas: &SlotDeltas, batch: &mut Batch) {
        for (&(ns, slot), &delta) in deltas {
            match self.get(ns, slot).saturating_add_signed(delta) {
                0 => batch.delete(Partition::Sys, row_key(ns, slot)),
                n => batch.put(Partition::Sys, row_key(ns, slot), n.to_be_bytes().to_vec()),
            }
        }
    }

    /// After the rows of [`SlotCounts::write`] are committed.
    pub(super) fn apply(&mut self, deltas: SlotDeltas) {
        for ((ns, slot), delta) in deltas {
            let count = &mut self.slots_mut(ns)[usize::from(slot)];
            *count = count.saturating_add_signed(delta);
        }
    }

    /// Forgets a dead namespace; its rows are swept with it.
    pub(super) fn remove(&mut self, ns: u32) {
        self.by_ns.remove(&ns);
    }
}
