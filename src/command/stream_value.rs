//! A stream as stored: its summary in the key's metadata, its entries,
//! consumer groups, pending entries and consumers as members of one
//! collection version (`keyspace::collection`), each kind under its own
//! sub-key tag so that each reads as one ordered range:
//!
//! - entry:    `0 | id` → `ordinal u64 | (len u32 | field | len u32 | value)*`
//! - group:    `1 | name` → `last id | entries read i64 | pending u64 | consumers u64`
//! - pending:  `2 | group len u32 | group | id` → `delivered ms u64 | deliveries u64 | consumer`
//! - consumer: `3 | group len u32 | group | name` → `seen ms u64 | pending u64`
//! - owned:    `4 | group len u32 | group | consumer len u32 | consumer | id` → empty
//!
//! IDs are 16 big-endian bytes, so byte order is ID order; groups and
//! consumers come in name order, Redis' radix-tree order.
//!
//! An entry's `ordinal` is the stream's `entries_added` when it was added.
//! Redis keeps entries in nodes of `stream-node-max-entries` (a listpack
//! each) and approximate trimming (`~`) removes whole nodes only; here a
//! node is the entries whose ordinals share `ordinal / node size`, which
//! is the same grouping as long as no node of Redis' was closed early by
//! `stream-node-max-bytes` (or the size changed while the stream lived).
//!
//! The metadata's payload is [`Summary`]; its first 8 bytes are the length,
//! so `Meta::size` is the entry count like any collection's. An empty
//! stream is not deleted: it keeps its last ID and its groups.

use super::args::{err, of_kind};
use super::stream_id::StreamId;
use crate::keyspace::{KeyRead, KeyType, Members, Meta, Span, Txn};
use crate::rdb;
use crate::resp::Frame;
use bytes::{BufMut, Bytes, BytesMut};
use std::ops::Bound;

const ENTRY: u8 = 0;
const GROUP: u8 = 1;
const PENDING: u8 = 2;
const CONSUMER: u8 = 3;
const OWNED: u8 = 4;

/// Rows read at a time when a command walks a whole range.
const CHUNK: usize = 1024;

/// A range of at most this many entries is read with one scan.
pub const READ_IN_ONE_SCAN: usize = CHUNK;

/// Redis' `SCG_INVALID_ENTRIES_READ`.
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

/// What the key's metadata says of its stream (Redis' `stream` struct
/// without the radix tree).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub length: u64,
    pub last_id: StreamId,
    /// The first entry's ID as recorded (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: u64,
}

const SUMMARY_LEN: usize = 8 + 16 * 3 + 8 + 8;

impl Summary {
    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(SUMMARY_LEN);
        out.put_u64(self.length);
        for id in [self.last_id, self.first_id, self.max_deleted_id] {
            out.put_slice(&id.to_bytes());
        }
        out.put_u64(self.entries_added);
        out.put_u64(self.groups);
        out.freeze()
    }

    fn decode(payload: &[u8]) -> Option<Summary> {
        if payload.len() < SUMMARY_LEN {
            return None;
        }
        let id = |at: usize| StreamId::from_bytes(&payload[at..at + 16]);
        Some(Summary {
            length: u64_at(payload, 0)?,
            last_id: id(8)?,
            first_id: id(24)?,
            max_deleted_id: id(40)?,
            entries_added: u64_at(payload, 56)?,
            groups: u64_at(payload, 64)?,
        })
    }

    /// Whether an entry in `start..=end` was deleted (Redis'
    /// `streamRangeHasTombstones`: only the largest deleted ID is known).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// How many entries were added up to and including `id`, when that can
    /// be known (Redis' `streamEstimateDistanceFromFirstEverEntry`).
    pub fn entries_up_to(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag: the entries not yet delivered to it, when known.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(group.last_id, StreamId::MAX)
        {
            return Some(added - group.entries_read);
        }
        self.entries_up_to(group.last_id)
            .map(|read| added - read as i64)
    }

    /// The group's read counter after it was handed `id` (Redis'
    /// `streamReplyWithRange` bookkeeping).
    pub fn entries_read_after(&self, group: &Group, id: StreamId) -> i64 {
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(id, StreamId::MAX)
        {
            group.entries_read + 1
        } else if self.entries_added != 0 {
            self.entries_up_to(id)
                .map_or(ENTRIES_READ_UNKNOWN, |n| n as i64)
        } else {
            group.entries_read
        }
    }
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn corrupt() -> Frame {
    err("ERR corrupt stream record")
}

/// One entry: its ID and field/value pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: StreamId,
    pub fields: Vec<(Bytes, Bytes)>,
}

impl Entry {
    /// `[id, [field, value, ...]]`, as every stream reply shows an entry.
    pub fn reply(&self) -> Frame {
        let mut flat = Vec::with_capacity(self.fields.len() * 2);
        for (field, value) in &self.fields {
            flat.push(Frame::Bulk(field.clone()));
            flat.push(Frame::Bulk(value.clone()));
        }
        Frame::Array(vec![self.id.reply(), Frame::Array(flat)])
    }
}

/// An array of entries.
pub fn entries_reply(entries: &[Entry]) -> Frame {
    Frame::Array(entries.iter().map(Entry::reply).collect())
}

fn encode_entry(ordinal: u64, fields: &[Bytes]) -> Bytes {
    let size = 8 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    out.put_u64(ordinal);
    for item in fields {
        out.put_u32(item.len() as u32);
        out.put_slice(item);
    }
    out.freeze()
}

/// (ordinal, entry) of a stored entry.
fn decode_entry(id: StreamId, stored: &Bytes) -> Result<(u64, Entry), Frame> {
    let ordinal = u64_at(stored, 0).ok_or_else(corrupt)?;
    let mut items = Vec::new();
    let mut at = 8;
    while at < stored.len() {
        let len = stored
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(corrupt)?;
        let item = stored.get(at + 4..at + 4 + len).ok_or_else(corrupt)?;
        items.push(stored.slice_ref(item));
        at += 4 + len;
    }
    // XADD always gives at least one pair.
    if items.is_empty() || !items.len().is_multiple_of(2) {
        return Err(corrupt());
    }
    let mut fields = Vec::with_capacity(items.len() / 2);
    let mut items = items.into_iter();
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        fields.push((field, value));
    }
    Ok((ordinal, Entry { id, fields }))
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: Bytes,
    pub last_id: StreamId,
    pub entries_read: i64,
    /// Entries in its pending entries list.
    pub pending: u64,
    pub consumers: u64,
}

impl Group {
    pub fn new(name: Bytes, last_id: StreamId, entries_read: i64) -> Group {
        Group {
            name,
            last_id,
            entries_read,
            pending: 0,
            consumers: 0,
        }
    }

    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(40);
        out.put_slice(&self.last_id.to_bytes());
        out.put_i64(self.entries_read);
        out.put_u64(self.pending);
        out.put_u64(self.consumers);
        out.freeze()
    }

    fn decode(name: Bytes, stored: &[u8]) -> Result<Group, Frame> {
        let last_id = StreamId::from_bytes(stored).ok_or_else(corrupt)?;
        let number = |at| u64_at(stored, at).ok_or_else(corrupt);
        Ok(Group {
            name,
            last_id,
            entries_read: number(16)? as i64,
            pending: number(24)?,
            consumers: number(32)?,
        })
    }
}

/// An entry of a group's pending entries list: delivered, not acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub id: StreamId,
    /// Unix ms of the last delivery.
    pub delivered_ms: u64,
    pub deliveries: u64,
    pub consumer: Bytes,
}

impl Pending {
    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(16 + self.consumer.len());
        out.put_u64(self.delivered_ms);
        out.put_u64(self.deliveries);
        out.put_slice(&self.consumer);
        out.freeze()
    }

    fn decode(id: StreamId, stored: &Bytes) -> Result<Pending, Frame> {
        Ok(Pending {
            id,
            delivered_ms: u64_at(stored, 0).ok_or_else(corrupt)?,
            deliveries: u64_at(stored, 8).ok_or_else(corrupt)?,
            consumer: stored.slice(16.min(stored.len())..),
        })
    }
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    pub name: Bytes,
    /// Unix ms it was last seen (read, claimed).
    pub seen_ms: u64,
    /// Pending entries it owns.
    pub pending: u64,
}

impl Consumer {
    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(16);
        out.put_u64(self.seen_ms);
        out.put_u64(self.pending);
        out.freeze()
    }

    fn decode(name: Bytes, stored: &[u8]) -> Result<Consumer, Frame> {
        Ok(Consumer {
            name,
            seen_ms: u64_at(stored, 0).ok_or_else(corrupt)?,
            pending: u64_at(stored, 8).ok_or_else(corrupt)?,
        })
    }
}

/// `tag | len u32 | name`: the prefix of a group's pending entries or
/// consumers, or (tag OWNED, two names) of a consumer's entries.
fn named_prefix(tag: u8, names: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![tag];
    for name in names {
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name);
    }
    out
}

fn with_id(mut prefix: Vec<u8>, id: StreamId) -> Vec<u8> {
    prefix.extend_from_slice(&id.to_bytes());
    prefix
}

/// A trimming request (XADD's and XTRIM's MAXLEN / MINID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trim {
    pub threshold: Threshold,
    /// `~`: whole nodes only.
    pub approx: bool,
    /// At most this many entries (0: no limit).
    pub limit: u64,
}

/// A stream key, open for reading or writing.
pub struct Stream {
    meta: Meta,
    pub summary: Summary,
    members: Members,
}

impl Stream {
    /// The stream at `key`: `None` if there is no key, WRONGTYPE if another
    /// type is there.
    pub fn open(reader: &mut dyn KeyRead, db: usize, key: &[u8]) -> Result<Option<Stream>, Frame> {
        let Some(meta) = of_kind(reader.meta(db, key)?, KeyType::Stream)? else {
            return Ok(None);
        };
        let summary = Summary::decode(&meta.payload).ok_or_else(corrupt)?;
        let members = reader.members(db, key, &meta);
        Ok(Some(Stream {
            meta,
            summary,
            members,
        }))
    }

    /// The stream at `key`, or a new empty one (written by [`Stream::save`]).
    pub fn open_or_create(txn: &mut Txn, db: usize, key: &[u8]) -> Result<Stream, Frame> {
        if let Some(stream) = Stream::open(txn, db, key)? {
            return Ok(stream);
        }
        let meta = Meta::collection(KeyType::Stream, txn.new_version());
        let members = txn.members(db, key, &meta);
        Ok(Stream {
            meta,
            summary: Summary::default(),
            members,
        })
    }

    /// Writes the metadata back (creating the key if it is new).
    pub fn save(mut self, txn: &mut Txn, db: usize, key: &[u8]) -> Result<(), Frame> {
        self.meta.payload = self.summary.encode();
        txn.put(db, key, self.meta)?;
        Ok(())
    }

    fn rows(
        &self,
        reader: &mut dyn KeyRead,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        rev: bool,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>, Frame> {
        let span = Span { lower, upper, rev };
        Ok(reader.member_span(&self.members, span, limit)?)
    }

    /// Up to `limit` rows whose sub keys start with `prefix`, in order.
    fn prefixed_rows(
        &self,
        reader: &mut dyn KeyRead,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>, Frame> {
        let end = crate::engine::prefix_successor(prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.rows(reader, Bound::Included(prefix), upper, false, limit)
    }

    // Entries.

    /// Up to `limit` entries with IDs in `from..=to`, from `to` down when
    /// `rev`, each with its ordinal.
    fn entries_with_ordinals(
        &self,
        reader: &mut dyn KeyRead,
        from: StreamId,
        to: StreamId,
        rev: bool,
        limit: usize,
    ) -> Result<Vec<(u64, Entry)>, Frame> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = self.id_rows(reader, vec![ENTRY], (from, to), rev, limit)?;
        rows.into_iter()
            .map(|(id, stored)| decode_entry(id, &stored))
            .collect()
    }

    /// Up to `limit` rows whose sub keys are `prefix | id` with the ID in
    /// `from..=to`, from `to` down when `rev`: (ID, stored value).
    fn id_rows(
        &self,
        reader: &mut dyn KeyRead,
        prefix: Vec<u8>,
        (from, to): (StreamId, StreamId),
        rev: bool,
        limit: usize,
    ) -> Result<Vec<(StreamId, Bytes)>, Frame> {
        if from > to {
            return Ok(Vec::new());
        }
        let at = prefix.len();
        let (lower, upper) = (with_id(prefix.clone(), from), with_id(prefix, to));
        let rows = self.rows(
            reader,
            Bound::Included(&lower),
            Bound::Included(&upper),
            rev,
            limit,
        )?;
        rows.into_iter()
            .map(|(sub, stored)| {
                let id = sub
                    .get(at..)
                    .and_then(StreamId::from_bytes)
                    .ok_or_else(corrupt)?;
                Ok((id, stored))
            })
            .collect()
    }

    /// Up to `limit` entries (0: all) with IDs in `from..=to`, reversed when
    /// `rev`.
    pub fn range(
        &self,
        reader: &mut dyn KeyRead,
        from: StreamId,
        to: StreamId,
        rev: bool,
        limit: usize,
    ) -> Result<Vec<Entry>, Frame> {
        let limit = if limit == 0 { usize::MAX } else { limit };
        let mut out = Vec::new();
        let (mut from, mut to) = (from, to);
        loop {
            let want = (limit - out.len()).min(CHUNK);
            let chunk = self.entries_with_ordinals(reader, from, to, rev, want)?;
            let full = chunk.len() == want;
            let step = chunk
                .last()
                .map(|(_, last)| if rev { last.id.prev() } else { last.id.next() });
            out.extend(chunk.into_iter().map(|(_, entry)| entry));
            match step {
                Some(Some(next)) if full && out.len() < limit => match rev {
                    true => to = next,
                    false => from = next,
                },
                _ => return Ok(out),
            }
        }
    }

    pub fn entry(&self, reader: &mut dyn KeyRead, id: StreamId) -> Result<Option<Entry>, Frame> {
        Ok(self.range(reader, id, id, false, 1)?.pop())
    }

    /// The first (or, `rev`, last) entry.
    pub fn edge(&self, reader: &mut dyn KeyRead, rev: bool) -> Result<Option<Entry>, Frame> {
        Ok(self
            .range(reader, StreamId::MIN, StreamId::MAX, rev, 1)?
            .pop())
    }

    /// Appends an entry (the caller checked `id` > the last ID).
    pub fn add(&mut self, txn: &mut Txn, id: StreamId, fields: &[Bytes]) {
        let stored = encode_entry(self.summary.entries_added, fields);
        txn.member_put(&self.members, &with_id(vec![ENTRY], id), stored);
        let summary = &mut self.summary;
        summary.length += 1;
        summary.entries_added += 1;
        summary.last_id = id;
        if summary.length == 1 {
            summary.first_id = id;
        }
    }

    /// Deletes entry `id` (XDEL); whether it was there. The recorded first
    /// ID is the caller's to refresh ([`Stream::refresh_first_id`]).
    pub fn delete(&mut self, txn: &mut Txn, id: StreamId) -> Result<bool, Frame> {
        let sub = with_id(vec![ENTRY], id);
        if txn.member(&self.members, &sub)?.is_none() {
            return Ok(false);
        }
        txn.member_delete(&self.members, &sub);
        self.summary.length -= 1;
        self.summary.max_deleted_id = self.summary.max_deleted_id.max(id);
        Ok(true)
    }

    pub fn refresh_first_id(&mut self, reader: &mut dyn KeyRead) -> Result<(), Frame> {
        self.summary.first_id = match self.summary.length {
            0 => StreamId::MIN,
            _ => self.edge(reader, false)?.map_or(StreamId::MIN, |e| e.id),
        };
        Ok(())
    }

    /// Trims from the oldest entry (Redis' `streamTrim`); the number of
    /// entries deleted. `node_entries` is `stream-node-max-entries`.
    pub fn trim(&mut self, txn: &mut Txn, trim: Trim, node_entries: u64) -> Result<u64, Frame> {
        let node_entries = if node_entries == 0 {
            u64::MAX
        } else {
            node_entries
        };
        let mut deleted = 0u64;
        loop {
            let done = match trim.threshold {
                Threshold::MaxLen(max) => self.summary.length <= max,
                Threshold::MinId(_) => false,
            };
            if done {
                break;
            }
            // The head node: the entries sharing the first one's node.
            let head = self.entries_with_ordinals(txn, StreamId::MIN, StreamId::MAX, false, 1)?;
            let Some((ordinal, _)) = head.first() else {
                break;
            };
            let node_end = (ordinal / node_entries)
                .saturating_add(1)
                .saturating_mul(node_entries);
            let node = self.head_node(txn, node_end)?;
            let count = node.len() as u64;
            if trim.limit != 0 && deleted + count > trim.limit {
                break;
            }
            let whole = match trim.threshold {
                Threshold::MaxLen(max) => self.summary.length - count >= max,
                Threshold::MinId(min) => node.last().is_some_and(|id| *id < min),
            };
            if whole {
                for id in &node {
                    self.remove_entry(txn, *id);
                }
                deleted += count;
                continue;
            }
            if trim.approx {
                break;
            }
            for id in node {
                let stop = match trim.threshold {
                    Threshold::MaxLen(max) => self.summary.length <= max,
                    Threshold::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                self.remove_entry(txn, id);
                deleted += 1;
            }
            break;
        }
        if deleted > 0 {
            self.refresh_first_id(txn)?;
        }
        Ok(deleted)
    }

    /// The IDs of the leading entries whose ordinals are below `node_end`.
    fn head_node(&self, txn: &mut Txn, node_end: u64) -> Result<Vec<StreamId>, Frame> {
        let mut ids = Vec::new();
        let mut from = StreamId::MIN;
        loop {
            let chunk = self.entries_with_ordinals(txn, from, StreamId::MAX, false, CHUNK)?;
            let full = chunk.len() == CHUNK;
            for (ordinal, entry) in chunk {
                if ordinal >= node_end {
                    return Ok(ids);
                }
                ids.push(entry.id);
            }
            match ids.last().and_then(|id| id.next()) {
                Some(next) if full => from = next,
                _ => return Ok(ids),
            }
        }
    }

    /// Deletes an entry known to exist (trimming: no tombstone recorded).
    fn remove_entry(&mut self, txn: &mut Txn, id: StreamId) {
        txn.member_delete(&self.members, &with_id(vec![ENTRY], id));
        self.summary.length -= 1;
    }

    /// How many of Redis' nodes (radix-tree keys) the entries fill, from the
    /// first and last entries' ordinals.
    pub fn nodes(&self, reader: &mut dyn KeyRead, node_entries: u64) -> Result<u64, Frame> {
        let node_entries = if node_entries == 0 {
            u64::MAX
        } else {
            node_entries
        };
        let mut ends = [0u64; 2];
        for (end, rev) in ends.iter_mut().zip([false, true]) {
            let edge = self.entries_with_ordinals(reader, StreamId::MIN, StreamId::MAX, rev, 1)?;
            match edge.first() {
                Some((ordinal, _)) => *end = ordinal / node_entries,
                None => return Ok(0),
            }
        }
        Ok(ends[1].saturating_sub(ends[0]) + 1)
    }

    // Consumer groups.

    pub fn group(&self, reader: &mut dyn KeyRead, name: &[u8]) -> Result<Option<Group>, Frame> {
        let mut sub = vec![GROUP];
        sub.extend_from_slice(name);
        reader
            .member(&self.members, &sub)?
            .map(|stored| Group::decode(Bytes::copy_from_slice(name), &stored))
            .transpose()
    }

    /// Every group, in name order.
    pub fn groups(&self, reader: &mut dyn KeyRead) -> Result<Vec<Group>, Frame> {
        let rows = self.prefixed_rows(reader, &[GROUP], usize::MAX)?;
        rows.into_iter()
            .map(|(sub, stored)| Group::decode(sub.slice(1..), &stored))
            .collect()
    }

    /// Creates or updates a group (a new one counts in the summary).
    pub fn put_group(&mut self, txn: &mut Txn, group: &Group) -> Result<(), Frame> {
        let mut sub = vec![GROUP];
        sub.extend_from_slice(&group.name);
        if txn.member(&self.members, &sub)?.is_none() {
            self.summary.groups += 1;
        }
        txn.member_put(&self.members, &sub, group.encode());
        Ok(())
    }

    /// Deletes a group with its pending entries and consumers.
    pub fn destroy_group(&mut self, txn: &mut Txn, name: &[u8]) -> Result<(), Frame> {
        let mut sub = vec![GROUP];
        sub.extend_from_slice(name);
        txn.member_delete(&self.members, &sub);
        self.summary.groups -= 1;
        for prefix in [
            named_prefix(PENDING, &[name]),
            named_prefix(CONSUMER, &[name]),
            named_prefix(OWNED, &[name]),
        ] {
            self.delete_prefixed(txn, &prefix)?;
        }
        Ok(())
    }

    fn delete_prefixed(&self, txn: &mut Txn, prefix: &[u8]) -> Result<(), Frame> {
        loop {
            let rows = self.prefixed_rows(txn, prefix, CHUNK)?;
            for (sub, _) in &rows {
                txn.member_delete(&self.members, sub);
            }
            if rows.len() < CHUNK {
                return Ok(());
            }
        }
    }

    // Pending entries.

    pub fn pending(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
        id: StreamId,
    ) -> Result<Option<Pending>, Frame> {
        let sub = with_id(named_prefix(PENDING, &[group]), id);
        reader
            .member(&self.members, &sub)?
            .map(|stored| Pending::decode(id, &stored))
            .transpose()
    }

    /// Up to `limit` pending entries of `group` with IDs in `from..=to`.
    pub fn pending_range(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
        from: StreamId,
        to: StreamId,
        limit: usize,
    ) -> Result<Vec<Pending>, Frame> {
        let prefix = named_prefix(PENDING, &[group]);
        let rows = self.id_rows(reader, prefix, (from, to), false, limit)?;
        rows.iter()
            .map(|(id, stored)| Pending::decode(*id, stored))
            .collect()
    }

    /// The last pending entry of `group`.
    pub fn last_pending(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
    ) -> Result<Option<Pending>, Frame> {
        let prefix = named_prefix(PENDING, &[group]);
        let rows = self.id_rows(reader, prefix, (StreamId::MIN, StreamId::MAX), true, 1)?;
        rows.first()
            .map(|(id, stored)| Pending::decode(*id, stored))
            .transpose()
    }

    /// Records `pending` (new, or re-delivered) for its consumer, moving it
    /// from another owner if it had one; keeps the counts of `group`
    /// and of the consumers, and writes the consumers it changed.
    pub fn put_pending(
        &mut self,
        txn: &mut Txn,
        group: &mut Group,
        pending: &Pending,
    ) -> Result<(), Frame> {
        let previous = self.pending(txn, &group.name, pending.id)?;
        match &previous {
            None => group.pending += 1,
            Some(old) if old.consumer != pending.consumer => {
                self.disown(txn, &group.name, &old.consumer, pending.id)?;
            }
            Some(_) => {}
        }
        if previous
            .as_ref()
            .is_none_or(|old| old.consumer != pending.consumer)
        {
            let owned = with_id(
                named_prefix(OWNED, &[&group.name, &pending.consumer]),
                pending.id,
            );
            txn.member_put(&self.members, &owned, Bytes::new());
            let mut consumer = self
                .consumer(txn, &group.name, &pending.consumer)?
                .ok_or_else(corrupt)?;
            consumer.pending += 1;
            self.put_consumer(txn, &group.name, &consumer);
        }
        let sub = with_id(named_prefix(PENDING, &[&group.name]), pending.id);
        txn.member_put(&self.members, &sub, pending.encode());
        Ok(())
    }

    /// Acknowledges `id` in `group`: out of the pending entries and its
    /// consumer's. Whether it was pending.
    pub fn ack(&mut self, txn: &mut Txn, group: &mut Group, id: StreamId) -> Result<bool, Frame> {
        let Some(pending) = self.pending(txn, &group.name, id)? else {
            return Ok(false);
        };
        self.disown(txn, &group.name, &pending.consumer, id)?;
        let sub = with_id(named_prefix(PENDING, &[&group.name]), id);
        txn.member_delete(&self.members, &sub);
        group.pending -= 1;
        Ok(true)
    }

    /// Takes `id` out of `consumer`'s own list.
    fn disown(
        &mut self,
        txn: &mut Txn,
        group: &[u8],
        consumer: &[u8],
        id: StreamId,
    ) -> Result<(), Frame> {
        let owned = with_id(named_prefix(OWNED, &[group, consumer]), id);
        txn.member_delete(&self.members, &owned);
        if let Some(mut record) = self.consumer(txn, group, consumer)? {
            record.pending = record.pending.saturating_sub(1);
            self.put_consumer(txn, group, &record);
        }
        Ok(())
    }

    // Consumers.

    pub fn consumer(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
        name: &[u8],
    ) -> Result<Option<Consumer>, Frame> {
        let mut sub = named_prefix(CONSUMER, &[group]);
        sub.extend_from_slice(name);
        reader
            .member(&self.members, &sub)?
            .map(|stored| Consumer::decode(Bytes::copy_from_slice(name), &stored))
            .transpose()
    }

    /// Every consumer of `group`, in name order.
    pub fn consumers(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
    ) -> Result<Vec<Consumer>, Frame> {
        let prefix = named_prefix(CONSUMER, &[group]);
        let rows = self.prefixed_rows(reader, &prefix, usize::MAX)?;
        rows.into_iter()
            .map(|(sub, stored)| Consumer::decode(sub.slice(prefix.len()..), &stored))
            .collect()
    }

    pub fn put_consumer(&mut self, txn: &mut Txn, group: &[u8], consumer: &Consumer) {
        let mut sub = named_prefix(CONSUMER, &[group]);
        sub.extend_from_slice(&consumer.name);
        txn.member_put(&self.members, &sub, consumer.encode());
    }

    /// The consumer `name`, created (and counted in `group`) if new; its
    /// seen time becomes `now_ms`. Whether it was created.
    pub fn touch_consumer(
        &mut self,
        txn: &mut Txn,
        group: &mut Group,
        name: &[u8],
        now_ms: u64,
    ) -> Result<(Consumer, bool), Frame> {
        let (mut consumer, created) = match self.consumer(txn, &group.name, name)? {
            Some(consumer) => (consumer, false),
            None => {
                group.consumers += 1;
                let consumer = Consumer {
                    name: Bytes::copy_from_slice(name),
                    seen_ms: now_ms,
                    pending: 0,
                };
                (consumer, true)
            }
        };
        consumer.seen_ms = now_ms;
        self.put_consumer(txn, &group.name, &consumer);
        Ok((consumer, created))
    }

    /// Deletes a consumer and its pending entries; how many it had.
    pub fn delete_consumer(
        &mut self,
        txn: &mut Txn,
        group: &mut Group,
        name: &[u8],
    ) -> Result<u64, Frame> {
        let Some(consumer) = self.consumer(txn, &group.name, name)? else {
            return Ok(0);
        };
        let owned = self.owned(
            txn,
            &group.name,
            name,
            StreamId::MIN,
            StreamId::MAX,
            usize::MAX,
        )?;
        let prefix = named_prefix(PENDING, &[&group.name]);
        for id in &owned {
            txn.member_delete(&self.members, &with_id(prefix.clone(), *id));
        }
        self.delete_prefixed(txn, &named_prefix(OWNED, &[&group.name, name]))?;
        let mut sub = named_prefix(CONSUMER, &[&group.name]);
        sub.extend_from_slice(name);
        txn.member_delete(&self.members, &sub);
        group.pending -= owned.len() as u64;
        group.consumers -= 1;
        Ok(consumer.pending)
    }

    /// Up to `limit` IDs `consumer` owns in `from..=to`.
    pub fn owned(
        &self,
        reader: &mut dyn KeyRead,
        group: &[u8],
        consumer: &[u8],
        from: StreamId,
        to: StreamId,
        limit: usize,
    ) -> Result<Vec<StreamId>, Frame> {
        let prefix = named_prefix(OWNED, &[group, consumer]);
        let rows = self.id_rows(reader, prefix, (from, to), false, limit)?;
        Ok(rows.into_iter().map(|(id, _)| id).collect())
    }
}

/// DUMP, MIGRATE and full syncs: a stream as RDB carries it, and back.
impl Stream {
    /// The whole stream, entries, groups, pending entries and consumers.
    pub fn to_rdb(&self, reader: &mut dyn KeyRead) -> Result<rdb::Stream, Frame> {
        let entries = self.range(reader, StreamId::MIN, StreamId::MAX, false, 0)?;
        let mut groups = Vec::new();
        for group in self.groups(reader)? {
            let pending = self.pending_range(
                reader,
                &group.name,
                StreamId::MIN,
                StreamId::MAX,
                usize::MAX,
            )?;
            let mut consumers = Vec::new();
            for consumer in self.consumers(reader, &group.name)? {
                let owned = self.owned(
                    reader,
                    &group.name,
                    &consumer.name,
                    StreamId::MIN,
                    StreamId::MAX,
                    usize::MAX,
                )?;
                consumers.push(rdb::Consumer {
                    name: consumer.name,
                    seen_time: consumer.seen_ms,
                    active_time: None,
                    pending: owned,
                });
            }
            groups.push(rdb::Group {
                name: group.name,
                last_id: group.last_id,
                entries_read: group.entries_read,
                pending: pending
                    .into_iter()
                    .map(|p| rdb::Pending {
                        id: p.id,
                        delivery_time: p.delivered_ms,
                        delivery_count: p.deliveries,
                    })
                    .collect(),
                consumers,
            });
        }
        let summary = self.summary;
        Ok(rdb::Stream {
            entries: entries.into_iter().map(|e| (e.id, e.fields)).collect(),
            last_id: summary.last_id,
            first_id: summary.first_id,
            max_deleted_id: summary.max_deleted_id,
            entries_added: summary.entries_added,
            groups,
        })
    }

    /// Writes `value` at `key`, which holds nothing (RESTORE, a full sync's
    /// load). The reader checked it: IDs ascend, every pending entry has
    /// one owner among its group's consumers.
    pub fn restore(txn: &mut Txn, db: usize, key: &[u8], value: rdb::Stream) -> Result<(), Frame> {
        let mut stream = Stream::open_or_create(txn, db, key)?;
        let length = value.entries.len() as u64;
        // Ordinals continue the count of entries ever added.
        let first_ordinal = value.entries_added.saturating_sub(length);
        for (ordinal, (id, fields)) in (first_ordinal..).zip(value.entries) {
            let flat: Vec<Bytes> = fields.into_iter().flat_map(|(f, v)| [f, v]).collect();
            txn.member_put(
                &stream.members,
                &with_id(vec![ENTRY], id),
                encode_entry(ordinal, &flat),
            );
        }
        stream.summary = Summary {
            length,
            last_id: value.last_id,
            first_id: value.first_id,
            max_deleted_id: value.max_deleted_id,
            entries_added: value.entries_added,
            groups: 0,
        };
        for group in value.groups {
            let mut record = Group::new(group.name.clone(), group.last_id, group.entries_read);
            record.consumers = group.consumers.len() as u64;
            record.pending = group.pending.len() as u64;
            let mut owners = std::collections::BTreeMap::new();
            for consumer in &group.consumers {
                for id in &consumer.pending {
                    owners.insert(*id, consumer.name.clone());
                }
                let owned = named_prefix(OWNED, &[&group.name, &consumer.name]);
                for id in &consumer.pending {
                    txn.member_put(&stream.members, &with_id(owned.clone(), *id), Bytes::new());
                }
                let record = Consumer {
                    name: consumer.name.clone(),
                    seen_ms: consumer.seen_time,
                    pending: consumer.pending.len() as u64,
                };
                stream.put_consumer(txn, &group.name, &record);
            }
            let prefix = named_prefix(PENDING, &[&group.name]);
            for pending in group.pending {
                let stored = Pending {
                    id: pending.id,
                    delivered_ms: pending.delivery_time,
                    deliveries: pending.delivery_count,
                    consumer: owners.remove(&pending.id).unwrap_or_default(),
                };
                txn.member_put(
                    &stream.members,
                    &with_id(prefix.clone(), pending.id),
                    stored.encode(),
                );
            }
            stream.put_group(txn, &record)?;
        }
        stream.save(txn, db, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn summaries_round_trip(a: (u64, u64, u64, u64), b: (u64, u64, u64, u64), c: (u64, u64)) -> bool {
            let summary = Summary {
                length: a.0,
                last_id: StreamId::new(a.1, a.2),
                first_id: StreamId::new(a.3, b.0),
                max_deleted_id: StreamId::new(b.1, b.2),
                entries_added: b.3,
                groups: c.0,
            };
            Summary::decode(&summary.encode()) == Some(summary)
        }

        fn entries_round_trip(ordinal: u64, items: Vec<(Vec<u8>, Vec<u8>)>) -> bool {
            if items.is_empty() {
                return true;
            }
            let flat: Vec<Bytes> = items.iter().flat_map(|(f, v)| [Bytes::from(f.clone()), Bytes::from(v.clone())]).collect();
            let id = StreamId::new(1, 2);
            let fields = items.into_iter().map(|(f, v)| (Bytes::from(f), Bytes::from(v))).collect();
            decode_entry(id, &encode_entry(ordinal, &flat)) == Ok((ordinal, Entry { id, fields }))
        }
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let stored = encode_entry(3, &[Bytes::from_static(b"f"), Bytes::from_static(b"v")]);
        for cut in 0..stored.len() {
            assert!(
                decode_entry(StreamId::MIN, &stored.slice(..cut)).is_err(),
                "cut {cut}"
            );
        }
        assert!(Group::decode(Bytes::new(), &[0; 39]).is_err());
        assert!(Consumer::decode(Bytes::new(), &[0; 15]).is_err());
        assert!(Pending::decode(StreamId::MIN, &Bytes::from_static(&[0; 15])).is_err());
        assert_eq!(Summary::decode(&[0; SUMMARY_LEN - 1]), None);
    }

    fn summary(length: u64, first: u64, last: u64, max_deleted: u64, added: u64) -> Summary {
        Summary {
            length,
            first_id: StreamId::new(first, 0),
            last_id: StreamId::new(last, 0),
            max_deleted_id: StreamId::new(max_deleted, 0),
            entries_added: added,
            groups: 1,
        }
    }

    #[test]
    fn read_counters_follow_redis_estimates() {
        let id = |ms| StreamId::new(ms, 0);
        // 1..=5 added, none deleted.
        let s = summary(5, 1, 5, 0, 5);
        assert_eq!(s.entries_up_to(id(5)), Some(5));
        assert_eq!(s.entries_up_to(id(1)), Some(1));
        assert_eq!(s.entries_up_to(id(0)), Some(0));
        assert_eq!(s.entries_up_to(id(3)), None, "inside the stream: unknown");
        assert_eq!(s.entries_up_to(id(6)), None, "the future: unknown");
        let group = Group::new(Bytes::new(), id(0), ENTRIES_READ_UNKNOWN);
        assert_eq!(s.lag(&group), Some(5));
        // 3 was deleted: a group before it cannot know its lag.
        let s = summary(4, 1, 5, 3, 5);
        assert!(s.range_has_tombstones(id(2), StreamId::MAX));
        assert!(!s.range_has_tombstones(id(4), StreamId::MAX));
        let group = Group::new(Bytes::new(), id(2), 2);
        assert_eq!(s.lag(&group), None);
        let group = Group::new(Bytes::new(), id(4), 3);
        assert_eq!(s.lag(&group), Some(2));
        assert_eq!(s.entries_read_after(&group, id(5)), 4);
        // A never used stream.
        assert_eq!(Summary::default().lag(&group), Some(0));
    }
}
