//! A full sync's snapshot as the RDB file a replica loads, produced a
//! chunk at a time, so that a data set larger than memory streams to the
//! replica without ever being held whole (DESIGN.md §5). A whole-slot
//! migration sends the same file of its slots only.

use crate::keyspace::{Snapshot, Store, ALL_SLOTS};
use crate::rdb::file::Writer;
use bytes::Bytes;
use std::ops::RangeInclusive;

/// Keys read from the snapshot per step.
const KEYS_PER_STEP: usize = 256;

pub struct RdbStream {
    snapshot: Snapshot,
    /// `None` once the file is complete.
    writer: Option<Writer>,
    /// Whether the header is written.
    started: bool,
    /// The header's replication id and offset (a full sync's).
    header: Option<(String, u64)>,
    /// What the file holds: slot ranges of databases, in order.
    parts: Vec<(usize, RangeInclusive<u16>)>,
    /// The part being written.
    part: usize,
    /// The database the file selected last.
    selected: Option<usize>,
    /// The last key of the part written, to continue after.
    after: Option<Bytes>,
    /// Keys written so far.
    keys: u64,
}

impl RdbStream {
    /// The file for `snapshot`, taken when the feed of replication id
    /// `replid` stood at `offset`.
    pub fn new(snapshot: Snapshot, replid: String, offset: u64) -> RdbStream {
        let parts = (0..snapshot.databases())
            .map(|db| (db, ALL_SLOTS))
            .collect();
        RdbStream::of_parts(snapshot, Some((replid, offset)), parts)
    }

    /// The file of `slots` of database 0 only, with no replication point:
    /// what a whole-slot migration sends.
    /// Its checksum is left out (0), the reader being
    /// `Reader::unchecked`.
    pub fn of_slots(snapshot: Snapshot, slots: &[RangeInclusive<u16>]) -> RdbStream {
        let parts = slots.iter().map(|range| (0, range.clone())).collect();
        let mut stream = RdbStream::of_parts(snapshot, None, parts);
        stream.writer = Some(Writer::unchecked());
        stream
    }

    fn of_parts(
        snapshot: Snapshot,
        header: Option<(String, u64)>,
        parts: Vec<(usize, RangeInclusive<u16>)>,
    ) -> RdbStream {
        RdbStream {
            snapshot,
            writer: Some(Writer::new()),
            started: false,
            header,
            parts,
            part: 0,
            selected: None,
            after: None,
            keys: 0,
        }
    }

    /// How many keys the file holds so far.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Appends the next part of the file to `out`, at least `budget` bytes
    /// unless the file ends first. Returns false once it has ended.
    pub fn next_chunk(
        &mut self,
        store: &Store,
        out: &mut Vec<u8>,
        budget: usize,
    ) -> Result<bool, String> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(false);
        };
        if !self.started {
            self.started = true;
            let unix_secs = self.snapshot.now_ms() / 1000;
            match self.header.take() {
                Some((replid, offset)) => {
                    let offset = offset.to_string();
                    writer.header(
                        out,
                        unix_secs,
                        &[
                            ("repl-id", replid.as_bytes()),
                            ("repl-offset", offset.as_bytes()),
                        ],
                    );
                    // A full sync carries the function libraries too.
                    for code in self.snapshot.functions().map_err(|e| e.to_string())? {
                        writer.function(out, &code);
                    }
                }
                None => writer.header(out, unix_secs, &[]),
            }
        }
        let target = out.len() + budget;
        while out.len() < target {
            let Some((db, slots)) = self.parts.get(self.part).cloned() else {
                if let Some(writer) = self.writer.take() {
                    writer.finish(out);
                }
                return Ok(false);
            };
            let keys = self
                .snapshot
                .keys_in_slots(db, slots, self.after.as_deref(), KEYS_PER_STEP)
                .map_err(|e| e.to_string())?;
            if self.selected != Some(db) && !keys.is_empty() {
                writer.select_db(out, db);
                self.selected = Some(db);
            }
            let mut reader = self.snapshot.read(store);
            for (key, meta) in &keys {
                let value = super::dump::value_of(&mut reader, db, key, meta).map_err(|reply| {
                    format!("reading {:?}: {reply:?}", String::from_utf8_lossy(key))
                })?;
                let expire = (meta.expire_at != 0).then_some(meta.expire_at);
                writer.entry(out, key, &value, expire);
            }
            self.keys += keys.len() as u64;
            match keys.last() {
                Some((key, _)) if keys.len() == KEYS_PER_STEP => self.after = Some(key.clone()),
                _ => {
                    self.part += 1;
                    self.after = None;
                }
            }
        }
        Ok(true)
    }
}
