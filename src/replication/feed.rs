//! The change feed: every committed write's effects, in commit order, as
//! the replication stream a Redis replica reads (RESP commands, with
//! `SELECT` whenever the database changes and `MULTI`/`EXEC` around an
//! atomic unit), and its byte offset (Redis' `master_repl_offset`).
//!
//! The commit path appends to it while it still holds the store's write
//! lock, so the feed's order is the order in which writes were applied.
//! It keeps the last `capacity` bytes (the backlog, `repl-backlog-size`),
//! from which a replica that knows its offset continues.
//!
//! Pure: no I/O, no clock; whoever streams it asks [`ChangeFeed::read_from`].

use crate::keyspace::Effect;
use crate::resp::encode::{write_array_header, write_bulk};
use bytes::{Bytes, BytesMut};

/// Redis' default `repl-backlog-size`.
pub const DEFAULT_BACKLOG: usize = 1024 * 1024;

/// The stream's bytes and where it stands.
pub struct ChangeFeed {
    /// Bytes ever appended: the offset of the next byte.
    offset: u64,
    /// The database the stream last selected (Redis' `slaveseldb`).
    selected: Option<usize>,
    backlog: Backlog,
    /// Reused for encoding, so an append allocates nothing in steady state.
    scratch: BytesMut,
}

/// Why [`ChangeFeed::read_from`] cannot continue from an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gap {
    /// The bytes from there were dropped from the backlog already.
    Overrun,
    /// The offset is beyond what the feed has ever held.
    Future,
}

impl ChangeFeed {
    pub fn new(capacity: usize) -> ChangeFeed {
        ChangeFeed {
            offset: 0,
            selected: None,
            backlog: Backlog::new(capacity),
            scratch: BytesMut::new(),
        }
    }

    /// The offset of the next byte (`master_repl_offset`).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The backlog's size (`repl-backlog-size`).
    pub fn capacity(&self) -> usize {
        self.backlog.capacity
    }

    /// Resizes the backlog (CONFIG SET repl-backlog-size), keeping the
    /// newest bytes that fit.
    pub fn set_capacity(&mut self, capacity: usize) {
        let kept = self.backlog.copy_out(0, self.backlog.len());
        self.backlog = Backlog::new(capacity);
        self.backlog.push(&kept);
    }

    /// How many bytes the backlog holds (`repl_backlog_histlen`).
    pub fn held(&self) -> usize {
        self.backlog.len()
    }

    /// The offset of the oldest byte still in the backlog.
    pub fn first_offset(&self) -> u64 {
        self.offset - self.backlog.len() as u64
    }

    /// Appends `effects` to the stream. A `Command` in another database
    /// than the last one is preceded by `SELECT`; so is a `Multi`, with
    /// the database of the first command inside it, as Redis does.
    pub fn append(&mut self, effects: &[Effect]) {
        let mut out = std::mem::take(&mut self.scratch);
        for (at, effect) in effects.iter().enumerate() {
            match effect {
                Effect::Command { db, args } => {
                    self.select(*db, &mut out);
                    write_command(&mut out, args.iter().map(|a| &a[..]));
                }
                Effect::Multi => {
                    let first_db = effects[at..].iter().find_map(|e| match e {
                        Effect::Command { db, .. } => Some(*db),
                        _ => None,
                    });
                    if let Some(db) = first_db {
                        self.select(db, &mut out);
                    }
                    write_command(&mut out, [&b"MULTI"[..]]);
                }
                Effect::Exec => write_command(&mut out, [&b"EXEC"[..]]),
            }
        }
        self.offset += out.len() as u64;
        self.backlog.push(&out);
        out.clear();
        self.scratch = out;
    }

    /// Appends a command for the replicas' link rather than their data,
    /// which needs no database: PING, which tells the replicas of an idle
    /// master that it is alive, and `REPLCONF GETACK *`, which asks them
    /// to acknowledge their offset now (WAIT).
    pub fn append_control(&mut self, words: &[&[u8]]) {
        let mut out = std::mem::take(&mut self.scratch);
        write_command(&mut out, words.iter().copied());
        self.offset += out.len() as u64;
        self.backlog.push(&out);
        out.clear();
        self.scratch = out;
    }

    /// Appends a master's stream as it came (a replica's feed is its
    /// master's, byte for byte). The database it left selected is unknown.
    pub fn append_stream(&mut self, bytes: &[u8]) {
        self.offset += bytes.len() as u64;
        self.backlog.push(bytes);
        self.selected = None;
    }

    /// Starts over at `offset` with an empty backlog: a replica's feed
    /// after a full sync from a master whose stream stood there.
    pub fn restart_at(&mut self, offset: u64) {
        let capacity = self.backlog.capacity;
        *self = ChangeFeed::new(capacity);
        self.offset = offset;
    }

    /// The next command selects its database whatever the last one was:
    /// a replica that starts from a snapshot has selected nothing yet.
    pub fn force_select(&mut self) {
        self.selected = None;
    }

    fn select(&mut self, db: usize, out: &mut BytesMut) {
        if self.selected != Some(db) {
            let number = db.to_string();
            write_command(out, [&b"SELECT"[..], number.as_bytes()]);
            self.selected = Some(db);
        }
    }

    /// Up to `max` bytes of the stream from `offset` on (empty when the
    /// reader is up to date).
    pub fn read_from(&self, offset: u64, max: usize) -> Result<Bytes, Gap> {
        if offset > self.offset {
            return Err(Gap::Future);
        }
        if offset < self.first_offset() {
            return Err(Gap::Overrun);
        }
        let skip = (offset - self.first_offset()) as usize;
        Ok(self.backlog.copy_out(skip, max))
    }
}

/// One command as a RESP array of bulk strings.
/// One command as a RESP array of bulk strings (the stream's, and
/// MIGRATE's requests).
pub fn write_command<'a>(out: &mut BytesMut, args: impl IntoIterator<Item = &'a [u8]> + Clone) {
    write_array_header(out, args.clone().into_iter().count());
    for arg in args {
        write_bulk(out, arg);
    }
}

/// A ring buffer holding the last `capacity` bytes appended.
struct Backlog {
    buf: Vec<u8>,
    capacity: usize,
    /// Where the next byte goes (once the buffer is full).
    head: usize,
    len: usize,
}

impl Backlog {
    fn new(capacity: usize) -> Backlog {
        Backlog {
            buf: Vec::new(),
            capacity: capacity.max(1),
            head: 0,
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if bytes.len() >= self.capacity {
            bytes = &bytes[bytes.len() - self.capacity..];
        }
        // Grow lazily: a server nobody replicates from keeps only what it wrote.
        if self.buf.len() < self.capacity {
            let room = self.capacity - self.buf.len();
            let now = bytes.len().min(room);
            self.buf.extend_from_slice(&bytes[..now]);
            self.len = self.buf.len();
            self.head = self.buf.len() % self.capacity;
            bytes = &bytes[now..];
        }
        while !bytes.is_empty() {
            let now = bytes.len().min(self.capacity - self.head);
            self.buf[self.head..self.head + now].copy_from_slice(&bytes[..now]);
            self.head = (self.head + now) % self.capacity;
            bytes = &bytes[now..];
        }
        self.len = self.buf.len();
    }

    /// Up to `max` bytes starting `skip` bytes after the oldest one.
    fn copy_out(&self, skip: usize, max: usize) -> Bytes {
        let want = self.len.saturating_sub(skip).min(max);
        let oldest = if self.buf.len() < self.capacity {
            0
        } else {
            self.head
        };
        let mut out = Vec::with_capacity(want);
        let start = (oldest + skip) % self.buf.len().max(1);
        let first = want.min(self.buf.len() - start);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..want - first]);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests;
