//! A full sync's snapshot as the RDB file a replica loads, produced a
//! chunk at a time, so that a data set larger than memory streams to the
//! replica without ever being held whole (DESIGN.md §5).

use crate::keyspace::{Snapshot, Store};
use crate::rdb::file::Writer;
use bytes::Bytes;

/// Keys read from the snapshot per step.
const KEYS_PER_STEP: usize = 256;

pub struct RdbStream {
    snapshot: Snapshot,
    /// `None` once the file is complete.
    writer: Option<Writer>,
    header: Option<(String, u64)>,
    db: usize,
    /// The last key of `db` written, to continue after.
    after: Option<Bytes>,
}

impl RdbStream {
    /// The file for `snapshot`, taken when the feed of replication id
    /// `replid` stood at `offset`.
    pub fn new(snapshot: Snapshot, replid: String, offset: u64) -> RdbStream {
        RdbStream {
            snapshot,
            writer: Some(Writer::new()),
            header: Some((replid, offset)),
            db: 0,
            after: None,
        }
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
        if let Some((replid, offset)) = self.header.take() {
            let unix_secs = self.snapshot.now_ms() / 1000;
            let offset = offset.to_string();
            writer.header(
                out,
                unix_secs,
                &[
                    ("repl-id", replid.as_bytes()),
                    ("repl-offset", offset.as_bytes()),
                ],
            );
        }
        let target = out.len() + budget;
        while out.len() < target {
            if self.db == self.snapshot.databases() {
                if let Some(writer) = self.writer.take() {
                    writer.finish(out);
                }
                return Ok(false);
            }
            let keys = self
                .snapshot
                .keys(self.db, self.after.as_deref(), KEYS_PER_STEP)
                .map_err(|e| e.to_string())?;
            if self.after.is_none() && !keys.is_empty() {
                writer.select_db(out, self.db);
            }
            let mut reader = self.snapshot.read(store);
            for (key, meta) in &keys {
                let value =
                    super::dump::value_of(&mut reader, self.db, key, meta).map_err(|reply| {
                        format!("reading {:?}: {reply:?}", String::from_utf8_lossy(key))
                    })?;
                let expire = (meta.expire_at != 0).then_some(meta.expire_at);
                writer.entry(out, key, &value, expire);
            }
            match keys.last() {
                Some((key, _)) if keys.len() == KEYS_PER_STEP => self.after = Some(key.clone()),
                _ => {
                    self.db += 1;
                    self.after = None;
                }
            }
        }
        Ok(true)
    }
}
