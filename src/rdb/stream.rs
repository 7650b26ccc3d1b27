//! Streams in RDB serialization, as redis-server 7.0.15 writes them (type
//! 19, `RDB_TYPE_STREAM_LISTPACKS_2`) and as 5.0 to 7.2 write them (15,
//! 19, 21) for reading.
//!
//! A stream is a radix tree of nodes: each node is the 16-byte big-endian
//! ID of its first entry (the "master ID") and a listpack: the master entry
//! (live count, deleted count, field count, the first entry's field names,
//! 0), then each entry as flags (`DELETED`, `SAMEFIELDS`), ms and seq as
//! deltas from the master ID, the field count and names unless they are
//! the master entry's, the values, and the number of listpack elements the
//! entry took. Then the stream's length, last ID, first ID, largest deleted
//! ID and entries added (19 and 21), and its consumer groups: name, last
//! delivered ID, entries read (19 and 21), the pending entries list (raw
//! IDs, delivery time, delivery count), and consumers (name, seen time,
//! active time in 21, the IDs they own).
//!
//! The writer lays nodes out as Redis' `streamAppendItem` does when the
//! entries are added one by one with XADD (`NodeLimits`: its
//! `stream-node-max-entries` and `stream-node-max-bytes`), so a stream
//! never touched by XDEL or XTRIM dumps to redis-server's bytes when it
//! runs with `rdbcompression no` (Redis compresses strings with LZF, this
//! writer does not; Redis loads both). Entries Redis marks deleted but
//! keeps in a node are not part of `Stream` and are not written.
//!
//! The reader reads one node, then the stream's metadata, then one group
//! per `step`, and checks what Redis' deep sanitization checks and more:
//! node listpacks well formed, IDs strictly ascending and not past the last
//! ID, counts that agree, each pending entry owned by exactly one consumer
//! of its group, no duplicate group or consumer names or pending IDs.

use super::value::{listpack, put_len, put_raw_string, Cursor, Fault};
use bytes::Bytes;

type Parsed<T> = Result<T, Fault>;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// A stream as DUMP and RDB files carry it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {
    /// Entries in ID order, each its field/value pairs in order.
    pub entries: Vec<(StreamId, Vec<(Bytes, Bytes)>)>,
    pub last_id: StreamId,
    /// Redis 7's recorded first entry id, max deleted entry id, entries added.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// In name order (bytewise), as Redis keeps them; the writer sorts.
    pub groups: Vec<Group>,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub name: Bytes,
    pub last_id: StreamId,
    /// -1 when unknown (Redis' SCG_INVALID_ENTRIES_READ).
    pub entries_read: i64,
    /// The group's pending entries list, in ID order.
    pub pending: Vec<Pending>,
    /// In name order (bytewise), as Redis keeps them; the writer sorts.
    pub consumers: Vec<Consumer>,
}

/// One entry of a group's pending entries list.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub id: StreamId,
    /// Unix time in milliseconds of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    pub name: Bytes,
    /// Unix time in milliseconds the consumer was last seen.
    pub seen_time: u64,
    /// 7.2's active time, read from type 21; `None` from types 15 and 19,
    /// which do not have it (7.2 then takes `seen_time`, its best
    /// estimate). Type 19, which this module writes, has no place for it:
    /// it is not written.
    pub active_time: Option<u64>,
    /// The IDs this consumer owns, in ID order, each also in the group's
    /// `pending`.
    pub pending: Vec<StreamId>,
}

/// How many entries and bytes a node takes before the next entry starts a
/// new one: Redis' `stream-node-max-entries` and `stream-node-max-bytes`
/// (0: no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> NodeLimits {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

/// Entry flags in a node.
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// A listpack can hold no more (Redis' `STREAM_LISTPACK_MAX_SIZE`).
const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// A listpack's header: total bytes (u32) and element count (u16).
const LISTPACK_HEADER: usize = 6;
/// The element count of a listpack with more elements than a u16 holds.
const LISTPACK_COUNT_UNKNOWN: u16 = u16::MAX;

pub(super) const TYPE_STREAM_LISTPACKS: u8 = 15;
pub(super) const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub(super) const TYPE_STREAM_LISTPACKS_3: u8 = 21;

fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&id.ms.to_be_bytes());
    raw[8..].copy_from_slice(&id.seq.to_be_bytes());
    raw
}

fn id_from_bytes(raw: [u8; 16]) -> StreamId {
    let (ms, seq) = raw.split_at(8);
    StreamId {
        ms: u64::from_be_bytes(ms.try_into().expect("8 bytes")),
        seq: u64::from_be_bytes(seq.try_into().expect("8 bytes")),
    }
}

// ---------------------------------------------------------------- writing

/// The decimal integer `text` is, if it is one exactly as Redis prints it
/// (no sign but `-`, no leading zeros, fits an i64): listpack.c's
/// `lpStringToInt64` and util.c's `string2ll`, which decide when Redis
/// stores a string as an integer.
pub(super) fn canonical_int(text: &[u8]) -> Option<i64> {
    // At most 20 characters (Redis' LONG_STR_SIZE is 21).
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = std::str::from_utf8(digits).ok()?.parse::<u64>().ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// One listpack element as listpack.c encodes it: the encoding and data,
/// then the back length.
fn lp_element(out: &mut Vec<u8>, encoded: &[u8]) {
    out.extend_from_slice(encoded);
    let len = encoded.len() as u64;
    // lpEncodeBacklen: 7 bits a byte, most significant first, every byte
    // but the first with its high bit set.
    let bytes = match len {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    for i in (0..bytes).rev() {
        let part = (len >> (7 * i)) as u8 & 0x7f;
        out.push(if i + 1 == bytes { part } else { part | 0x80 });
    }
}

/// An integer element in the smallest encoding (lpEncodeIntegerGetType).
fn lp_int(out: &mut Vec<u8>, v: i64) {
    let le = v.to_le_bytes();
    let mut buf = [0u8; 9];
    let encoded: &[u8] = match v {
        0..=127 => {
            buf[0] = v as u8;
            &buf[..1]
        }
        -4096..=4095 => {
            let v = (v & 0x1fff) as u16;
            buf[0] = 0xc0 | (v >> 8) as u8;
            buf[1] = v as u8;
            &buf[..2]
        }
        _ => {
            let (tag, width) = match v {
                -32_768..=32_767 => (0xf1, 2),
                -8_388_608..=8_388_607 => (0xf2, 3),
                -2_147_483_648..=2_147_483_647 => (0xf3, 4),
                _ => (0xf4, 8),
            };
            buf[0] = tag;
            buf[1..=width].copy_from_slice(&le[..width]);
            &buf[..=width]
        }
    };
    lp_element(out, encoded);
}

/// A string element: an integer if it reads as one, else as a string of 6,
/// 12 or 32 bit length (lpEncodeGetType, lpEncodeString).
fn lp_string(out: &mut Vec<u8>, s: &[u8]) {
    if let Some(v) = canonical_int(s) {
        return lp_int(out, v);
    }
    let len = s.len();
    let mut encoded = Vec::with_capacity(len + 5);
    if len < 64 {
        encoded.push(0x80 | len as u8);
    } else if len < 4096 {
        encoded.extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]);
    } else {
        encoded.push(0xf0);
        encoded.extend_from_slice(&(len as u32).to_le_bytes());
    }
    encoded.extend_from_slice(s);
    lp_element(out, &encoded);
}

/// A node being filled as `streamAppendItem` fills it.
struct Node {
    master: StreamId,
    master_fields: Vec<Bytes>,
    /// Live entries: the master entry's first element, rewritten at every
    /// append (its encoding may grow).
    count: u64,
    /// The encoded elements after `count`, and how many there are.
    rest: Vec<u8>,
    elements: usize,
}

impl Node {
    fn new(master: StreamId, fields: &[(Bytes, Bytes)]) -> Node {
        let mut node = Node {
            master,
            master_fields: fields.iter().map(|(field, _)| field.clone()).collect(),
            count: 0,
            rest: Vec::new(),
            elements: 1,
        };
        node.int(0); // deleted
        node.int(fields.len() as i64);
        for (field, _) in fields {
            node.string(field);
        }
        node.int(0); // the master entry's terminator
        node
    }

    fn int(&mut self, v: i64) {
        lp_int(&mut self.rest, v);
        self.elements += 1;
    }

    fn string(&mut self, s: &[u8]) {
        lp_string(&mut self.rest, s);
        self.elements += 1;
    }

    fn count_element(&self) -> Vec<u8> {
        let mut count = Vec::new();
        lp_int(&mut count, self.count as i64);
        count
    }

    /// lpBytes: header, elements, end byte.
    fn bytes(&self) -> u64 {
        (LISTPACK_HEADER + self.count_element().len() + self.rest.len() + 1) as u64
    }

    fn append(&mut self, id: StreamId, fields: &[(Bytes, Bytes)]) {
        let same = fields.len() == self.master_fields.len()
            && fields
                .iter()
                .zip(&self.master_fields)
                .all(|((field, _), master)| field == master);
        self.count += 1;
        self.int(if same { FLAG_SAMEFIELDS } else { 0 });
        self.int(id.ms.wrapping_sub(self.master.ms) as i64);
        self.int(id.seq.wrapping_sub(self.master.seq) as i64);
        if !same {
            self.int(fields.len() as i64);
        }
        for (field, value) in fields {
            if !same {
                self.string(field);
            }
            self.string(value);
        }
        let pieces = if same {
            fields.len() + 3
        } else {
            2 * fields.len() + 4
        };
        self.int(pieces as i64);
    }

    /// The node's rax key and listpack.
    fn finish(self) -> ([u8; 16], Vec<u8>) {
        let count = self.count_element();
        let total = LISTPACK_HEADER + count.len() + self.rest.len() + 1;
        let mut lp = Vec::with_capacity(total);
        lp.extend_from_slice(&(total as u32).to_le_bytes());
        let elements = u16::try_from(self.elements).unwrap_or(LISTPACK_COUNT_UNKNOWN);
        lp.extend_from_slice(&elements.to_le_bytes());
        lp.extend_from_slice(&count);
        lp.extend_from_slice(&self.rest);
        lp.push(0xff);
        (id_bytes(self.master), lp)
    }
}

/// The nodes Redis would hold for `entries` added one by one.
fn nodes(
    entries: &[(StreamId, Vec<(Bytes, Bytes)>)],
    limits: NodeLimits,
) -> Vec<([u8; 16], Vec<u8>)> {
    let max_bytes = match limits.max_bytes {
        0 => LISTPACK_MAX_SIZE,
        n => n.min(LISTPACK_MAX_SIZE),
    };
    let mut done = Vec::new();
    let mut node: Option<Node> = None;
    for (id, fields) in entries {
        let added: u64 = fields
            .iter()
            .map(|(field, value)| (field.len() + value.len()) as u64)
            .sum();
        if let Some(open) = &node {
            let full = open.bytes() + added >= max_bytes
                || (limits.max_entries != 0 && open.count >= limits.max_entries);
            if full {
                done.extend(node.take().map(Node::finish));
            }
        }
        node.get_or_insert_with(|| Node::new(*id, fields))
            .append(*id, fields);
    }
    done.extend(node.map(Node::finish));
    done
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_len(out, id.ms);
    put_len(out, id.seq);
}

/// `stream` as type 19 writes it, after the type byte.
pub(super) fn put_stream(out: &mut Vec<u8>, stream: &Stream, limits: NodeLimits) {
    put_stream_as(out, stream, limits, TYPE_STREAM_LISTPACKS_2);
}

/// `stream` in the layout of RDB type `kind`: 19, or for tests of the
/// reader 15 (without the 7.0 counters) or 21 (with 7.2's active times,
/// `seen_time` where there is none).
fn put_stream_as(out: &mut Vec<u8>, stream: &Stream, limits: NodeLimits, kind: u8) {
    let nodes = nodes(&stream.entries, limits);
    put_len(out, nodes.len() as u64);
    for (key, lp) in &nodes {
        put_raw_string(out, key);
        put_raw_string(out, lp);
    }
    put_len(out, stream.entries.len() as u64);
    put_id(out, stream.last_id);
    if kind != TYPE_STREAM_LISTPACKS {
        put_id(out, stream.first_id);
        put_id(out, stream.max_deleted_id);
        put_len(out, stream.entries_added);
    }
    put_len(out, stream.groups.len() as u64);
    let mut groups: Vec<&Group> = stream.groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    for group in groups {
        put_raw_string(out, &group.name);
        put_id(out, group.last_id);
        if kind != TYPE_STREAM_LISTPACKS {
            put_len(out, group.entries_read as u64);
        }
        put_len(out, group.pending.len() as u64);
        for pending in &group.pending {
            out.extend_from_slice(&id_bytes(pending.id));
            out.extend_from_slice(&pending.delivery_time.to_le_bytes());
            put_len(out, pending.delivery_count);
        }
        put_len(out, group.consumers.len() as u64);
        let mut consumers: Vec<&Consumer> = group.consumers.iter().collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        for consumer in consumers {
            put_raw_string(out, &consumer.name);
            out.extend_from_slice(&consumer.seen_time.to_le_bytes());
            if kind == TYPE_STREAM_LISTPACKS_3 {
                let active = consumer.active_time.unwrap_or(consumer.seen_time);
                out.extend_from_slice(&active.to_le_bytes());
            }
            put_len(out, consumer.pending.len() as u64);
            for id in &consumer.pending {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

// ---------------------------------------------------------------- reading

/// A stream being read: its nodes one by one, then its metadata, then its
/// groups one by one.
pub(super) struct Reading {
    kind: u8,
    stream: Stream,
    nodes_left: usize,
    /// Whether the metadata (length to group count) has been read.
    meta_read: bool,
    /// The highest ID of any entry read, deleted ones included.
    top: Option<StreamId>,
    /// The last node's master ID.
    last_master: Option<StreamId>,
}

/// Starts reading a stream of RDB type `kind` (15, 19 or 21): its node
/// count. Returns the reader and how many steps there are before the
/// group count is known (the nodes and the metadata).
pub(super) fn start(cursor: &mut Cursor, kind: u8) -> Parsed<(Reading, usize)> {
    let nodes_left = cursor.len()?;
    let reading = Reading {
        kind,
        stream: Stream::default(),
        nodes_left,
        meta_read: false,
        top: None,
        last_master: None,
    };
    Ok((reading, nodes_left.checked_add(1).ok_or(Fault::Bad)?))
}

fn read_id(cursor: &mut Cursor) -> Parsed<StreamId> {
    Ok(StreamId {
        ms: cursor.len_u64()?,
        seq: cursor.len_u64()?,
    })
}

fn raw_id(cursor: &mut Cursor) -> Parsed<StreamId> {
    Ok(id_from_bytes(cursor.array()?))
}

fn ms_time(cursor: &mut Cursor) -> Parsed<u64> {
    Ok(u64::from_le_bytes(cursor.array()?))
}

/// The integer a structural listpack element holds.
fn int_of(element: Option<&Bytes>) -> Parsed<i64> {
    element.and_then(|e| canonical_int(e)).ok_or(Fault::Bad)
}

fn count_of(element: Option<&Bytes>) -> Parsed<usize> {
    usize::try_from(int_of(element)?).map_err(|_| Fault::Bad)
}

/// The entries of one node (`master` its rax key): live ones, and the ID
/// of every entry (deleted ones too) in order.
type NodeEntries = (Vec<(StreamId, Vec<(Bytes, Bytes)>)>, Vec<StreamId>);

fn node_entries(master: StreamId, lp: &[u8]) -> Parsed<NodeEntries> {
    let elements = listpack(lp).ok_or(Fault::Bad)?;
    let mut at = elements.iter();
    let live = count_of(at.next())?;
    let deleted = count_of(at.next())?;
    let master_count = count_of(at.next())?;
    let master_fields: Vec<&Bytes> = at.by_ref().take(master_count).collect();
    if master_fields.len() != master_count || int_of(at.next())? != 0 {
        return Err(Fault::Bad);
    }
    let (mut entries, mut ids) = (Vec::new(), Vec::new());
    let mut deleted_seen = 0;
    // Every entry takes at least four elements: a forged count ends at the
    // end of the elements, not after allocating for it.
    while let Some(flags) = at.next() {
        let flags = int_of(Some(flags))?;
        if flags & !(FLAG_DELETED | FLAG_SAMEFIELDS) != 0 {
            return Err(Fault::Bad);
        }
        let id = StreamId {
            ms: master.ms.wrapping_add(int_of(at.next())? as u64),
            seq: master.seq.wrapping_add(int_of(at.next())? as u64),
        };
        let same = flags & FLAG_SAMEFIELDS != 0;
        let count = if same {
            master_count
        } else {
            count_of(at.next())?
        };
        let mut fields = Vec::new();
        let mut names = master_fields.iter().copied();
        // Runs out with the elements, whatever `count` says.
        for _ in 0..count {
            let field = if same { names.next() } else { at.next() };
            let value = at.next().ok_or(Fault::Bad)?;
            fields.push((field.ok_or(Fault::Bad)?.clone(), value.clone()));
        }
        let pieces = if same { count + 3 } else { 2 * count + 4 };
        if count_of(at.next())? != pieces {
            return Err(Fault::Bad);
        }
        ids.push(id);
        if flags & FLAG_DELETED != 0 {
            deleted_seen += 1;
        } else {
            entries.push((id, fields));
        }
    }
    if entries.len() != live || deleted_seen != deleted {
        return Err(Fault::Bad);
    }
    Ok((entries, ids))
}

/// Where Redis' `streamEstimateDistanceFromFirstEverEntry` puts `id` in a
/// stream loaded from type 15 (no deletions recorded, entries added =
/// length).
fn estimated_entries_read(stream: &Stream, id: StreamId) -> i64 {
    let added = stream.entries_added as i64;
    if added == 0 {
        return 0;
    }
    match id.cmp(&stream.last_id) {
        std::cmp::Ordering::Equal => return added,
        std::cmp::Ordering::Greater => return -1,
        std::cmp::Ordering::Less => {}
    }
    match id.cmp(&stream.first_id) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Equal => 1,
        std::cmp::Ordering::Greater => -1,
    }
}

/// `items` sorted by `key`, or `Bad` if a key repeats.
fn sorted_unique<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) -> Parsed<()> {
    items.sort_by_key(&key);
    if items.windows(2).any(|pair| key(&pair[0]) == key(&pair[1])) {
        return Err(Fault::Bad);
    }
    Ok(())
}

impl Reading {
    /// Reads one more node, the metadata, or one more group; returns how
    /// many steps are left. On failure nothing is added.
    pub(super) fn step(&mut self, cursor: &mut Cursor, left: usize) -> Parsed<usize> {
        if self.nodes_left > 0 {
            self.node(cursor)?;
            self.nodes_left -= 1;
            Ok(left - 1)
        } else if !self.meta_read {
            let groups = self.meta(cursor)?;
            self.meta_read = true;
            Ok(groups)
        } else {
            self.group(cursor)?;
            Ok(left - 1)
        }
    }

    /// The stream read, leaving this one empty.
    pub(super) fn finish(&mut self) -> Stream {
        std::mem::take(&mut self.stream)
    }

    fn node(&mut self, cursor: &mut Cursor) -> Parsed<()> {
        let key = cursor.string()?;
        let lp = cursor.string()?;
        let master = id_from_bytes(key.as_ref().try_into().map_err(|_| Fault::Bad)?);
        if self.last_master.is_some_and(|last| master <= last) {
            return Err(Fault::Bad);
        }
        let (entries, ids) = node_entries(master, &lp)?;
        let mut previous = self.top;
        for &id in &ids {
            if id < master || previous.is_some_and(|previous| id <= previous) {
                return Err(Fault::Bad);
            }
            previous = Some(id);
        }
        self.top = previous;
        self.last_master = Some(master);
        self.stream.entries.extend(entries);
        Ok(())
    }

    /// Length, IDs and counters, and the group count.
    fn meta(&mut self, cursor: &mut Cursor) -> Parsed<usize> {
        let length = cursor.len_u64()?;
        let last_id = read_id(cursor)?;
        let recorded = if self.kind == TYPE_STREAM_LISTPACKS {
            None
        } else {
            Some((read_id(cursor)?, read_id(cursor)?, cursor.len_u64()?))
        };
        let groups = cursor.len()?;
        if length != self.stream.entries.len() as u64 || self.top.is_some_and(|top| top > last_id) {
            return Err(Fault::Bad);
        }
        let stream = &mut self.stream;
        stream.last_id = last_id;
        (stream.first_id, stream.max_deleted_id, stream.entries_added) = match recorded {
            Some(recorded) => recorded,
            // Redis 7 loading a stream of 5.0 or 6.x: the first live
            // entry (with none, the largest ID, as streamGetEdgeID gives),
            // no deletions, every entry added is still there.
            None => {
                let first = stream.entries.first().map_or(
                    StreamId {
                        ms: u64::MAX,
                        seq: u64::MAX,
                    },
                    |(id, _)| *id,
                );
                (first, StreamId::default(), length)
            }
        };
        Ok(groups)
    }

    fn group(&mut self, cursor: &mut Cursor) -> Parsed<()> {
        let name = cursor.string()?;
        let last_id = read_id(cursor)?;
        let entries_read = if self.kind == TYPE_STREAM_LISTPACKS {
            estimated_entries_read(&self.stream, last_id)
        } else {
            cursor.len_u64()? as i64
        };
        let mut pending = Vec::new();
        for _ in 0..cursor.len()? {
            pending.push(Pending {
                id: raw_id(cursor)?,
                delivery_time: ms_time(cursor)?,
                delivery_count: cursor.len_u64()?,
            });
        }
        sorted_unique(&mut pending, |p| p.id)?;
        let mut consumers = Vec::new();
        for _ in 0..cursor.len()? {
            let name = cursor.string()?;
            let seen_time = ms_time(cursor)?;
            let active_time = match self.kind {
                TYPE_STREAM_LISTPACKS_3 => Some(ms_time(cursor)?),
                _ => None,
            };
            let mut ids = Vec::new();
            for _ in 0..cursor.len()? {
                ids.push(raw_id(cursor)?);
            }
            consumers.push(Consumer {
                name,
                seen_time,
                active_time,
                pending: ids,
            });
        }
        sorted_unique(&mut consumers, |c| c.name.clone())?;
        // Each pending entry is owned by exactly one consumer.
        let mut owned = vec![false; pending.len()];
        for consumer in &mut consumers {
            sorted_unique(&mut consumer.pending, |id| *id)?;
            for id in &consumer.pending {
                let at = pending
                    .binary_search_by(|p| p.id.cmp(id))
                    .map_err(|_| Fault::Bad)?;
                if std::mem::replace(&mut owned[at], true) {
                    return Err(Fault::Bad);
                }
            }
        }
        if owned.contains(&false) {
            return Err(Fault::Bad);
        }
        let groups = &mut self.stream.groups;
        let at = match groups.binary_search_by(|g| g.name.cmp(&name)) {
            Ok(_) => return Err(Fault::Bad),
            Err(at) => at,
        };
        groups.insert(
            at,
            Group {
                name,
                last_id,
                entries_read,
                pending,
                consumers,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{crc64, dump, dump_with, restore, RestoreError, Value, RDB_VERSION};
    use super::*;
    use quickcheck::{Arbitrary, Gen, QuickCheck};

    fn b(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `body` (type byte first) in a DUMP envelope.
    fn payload(mut body: Vec<u8>) -> Vec<u8> {
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    }

    /// A DUMP payload's body: without its version and checksum.
    fn body(payload: &[u8]) -> Vec<u8> {
        payload[..payload.len() - 10].to_vec()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
        items.iter().map(|(f, v)| (b(f), b(v))).collect()
    }

    // The payloads below are what redis-server 7.0.15 answered to DUMP.

    /// Same and different fields, integer-looking values (one too large
    /// for an i64), two groups (one named like an integer, entries read
    /// unknown), XREADGROUP, XACK, XCLAIM; `rdbcompression no`.
    const GROUPS: &str = "13011000000000000000010000000000000001406d6d0000001f00040100010201816602816e020001020100010001817602dffb020501020100010101f2701101040101050100010401dfff020101817802f400a22f4dffffffff0906010201040100018330303704943138343436373434303733373039353531363136150501ff040501010100000402c07b050181ffffffffffffffff00000167050003020000000000000001000000000000000233ef1452a2010000020000000000000005000000000000000033ef1452a2010000010305616c69636533ef1452a20100000003626f6233ef1452a20100000100000000000000050000000000000000056361726f6c33ef1452a201000001000000000000000100000000000000020a00987c616ec73d649d";

    pub(in super::super) fn groups_stream() -> Stream {
        let t = 1_796_673_433_395;
        let consumer = |name: &str, pending: Vec<StreamId>| Consumer {
            name: b(name),
            seen_time: t,
            active_time: None,
            pending,
        };
        Stream {
            entries: vec![
                (id(1, 1), pairs(&[("f", "v"), ("n", "-5")])),
                (id(1, 2), pairs(&[("f", "70000"), ("n", "1")])),
                (id(5, 0), pairs(&[("x", "-3000000000")])),
                (
                    id(5, 1),
                    pairs(&[("f", "007"), ("n", "18446744073709551616")]),
                ),
            ],
            last_id: id(5, 1),
            first_id: id(1, 1),
            max_deleted_id: id(0, 0),
            entries_added: 4,
            groups: vec![
                Group {
                    name: b("123"),
                    last_id: id(5, 1),
                    entries_read: -1,
                    pending: vec![],
                    consumers: vec![],
                },
                Group {
                    name: b("g"),
                    last_id: id(5, 0),
                    entries_read: 3,
                    pending: vec![
                        Pending {
                            id: id(1, 2),
                            delivery_time: t,
                            delivery_count: 2,
                        },
                        Pending {
                            id: id(5, 0),
                            delivery_time: t,
                            delivery_count: 1,
                        },
                    ],
                    consumers: vec![
                        consumer("alice", vec![]),
                        consumer("bob", vec![id(5, 0)]),
                        consumer("carol", vec![id(1, 2)]),
                    ],
                },
            ],
        }
    }

    /// Seven entries, 2-0 and 7-0 deleted by XDEL (still in the node,
    /// flagged); the listpack LZF-compressed (`rdbcompression yes`).
    const DELETED: &str = "13011000000000000000010000000000000000c34061408613860000002800050102010101856669656c640600200c000020010a8676616c75653107040103201cc00f0032200f00022001c00f0033600f0003e0000f0034600f0004e0000f0035600f0005e0000f0036200f02030106e0000f0037200f00ff0507000100070007000a0074be2df08650b2ab";

    fn deleted_stream() -> Stream {
        Stream {
            entries: [1, 3, 4, 5, 6]
                .iter()
                .map(|&i| (id(i, 0), vec![(b("field"), b(&format!("value{i}")))]))
                .collect(),
            last_id: id(7, 0),
            first_id: id(1, 0),
            max_deleted_id: id(7, 0),
            entries_added: 7,
            groups: vec![],
        }
    }

    /// XGROUP CREATE MKSTREAM: no entries, one group.
    const EMPTY: &str =
        "130000000000000000000103677270000081ffffffffffffffff00000a001b8ab73492bb33be";

    fn empty_stream() -> Stream {
        Stream {
            groups: vec![Group {
                name: b("grp"),
                last_id: id(0, 0),
                entries_read: -1,
                pending: vec![],
                consumers: vec![],
            }],
            ..Stream::default()
        }
    }

    #[test]
    fn redis_stream_dumps_are_read_and_written_back_byte_for_byte() {
        for (payload, stream) in [(GROUPS, groups_stream()), (EMPTY, empty_stream())] {
            let payload = hex(payload);
            let value = Value::Stream(stream);
            assert_eq!(restore(&payload), Ok(value.clone()));
            assert_eq!(dump(&value), payload);
        }
    }

    #[test]
    fn redis_streams_with_deleted_entries_and_lzf_nodes_are_read() {
        let value = Value::Stream(deleted_stream());
        assert_eq!(restore(&hex(DELETED)), Ok(value.clone()));
        // Written without the deleted entries, the listpack uncompressed.
        let ours = dump(&value);
        assert_ne!(ours, hex(DELETED));
        assert_eq!(restore(&ours), Ok(value));
    }

    #[test]
    fn listpack_elements_are_encoded_as_listpack_c_does() {
        let encode = |s: &str| {
            let mut out = Vec::new();
            lp_string(&mut out, s.as_bytes());
            out
        };
        assert_eq!(encode("0"), [0x00, 1]);
        assert_eq!(encode("127"), [0x7f, 1]);
        assert_eq!(encode("-1"), [0xdf, 0xff, 2]);
        assert_eq!(encode("-4096"), [0xd0, 0x00, 2]);
        assert_eq!(encode("4095"), [0xcf, 0xff, 2]);
        assert_eq!(encode("4096"), [0xf1, 0x00, 0x10, 3]);
        assert_eq!(encode("-32769"), [0xf2, 0xff, 0x7f, 0xff, 4]);
        assert_eq!(encode("-3000000000"), hex("f400a22f4dffffffff09"));
        assert_eq!(encode("9223372036854775807").len(), 10);
        // Not integers as Redis reads them: strings.
        for text in ["-0", "007", "+1", "", "-", "9223372036854775808", "1 "] {
            let out = encode(text);
            assert_eq!(out[0], 0x80 | text.len() as u8, "{text:?}");
        }
        // Back lengths of 2 bytes: 7 bits each, most significant first.
        let long = encode(&"a".repeat(200));
        assert_eq!(&long[..2], [0xe0, 200]);
        assert_eq!(&long[202..], [1, 0x80 | 74]);
        // The element reader agrees.
        let mut lp = vec![0; LISTPACK_HEADER];
        for text in ["0", "-1", "4096", "-3000000000", "007", &"a".repeat(5000)] {
            lp.extend(encode(text));
        }
        lp.push(0xff);
        let total = lp.len() as u32;
        lp[..4].copy_from_slice(&total.to_le_bytes());
        let read: Vec<Bytes> = listpack(&lp).unwrap();
        assert_eq!(read[3], b("-3000000000"));
        assert_eq!(read[5].len(), 5000);
    }

    #[test]
    fn nodes_split_at_the_entry_and_byte_limits() {
        let stream = Stream {
            entries: (1..=250)
                .map(|i| (id(i, 0), pairs(&[("f", "v")])))
                .collect(),
            last_id: id(250, 0),
            ..Stream::default()
        };
        let node_count = |limits| nodes(&stream.entries, limits).len();
        assert_eq!(node_count(NodeLimits::default()), 3);
        let unlimited = NodeLimits {
            max_entries: 0,
            max_bytes: 0,
        };
        assert_eq!(node_count(unlimited), 1);
        // An entry goes into a node while the node's bytes and the
        // entry's field and value bytes stay below the limit: the entry's
        // own listpack elements (flags, deltas, value, lp-count and their
        // back lengths, at most 11 bytes here) may take the node past it.
        let small = NodeLimits {
            max_entries: 0,
            max_bytes: 100,
        };
        let split = nodes(&stream.entries, small);
        assert!(split.len() > 10);
        assert!(split.iter().all(|(_, lp)| lp.len() < 100 + 11));
        assert!(split.iter().any(|(_, lp)| lp.len() >= 100));
        let value = Value::Stream(stream);
        assert_eq!(restore(&dump_with(&value, small)), Ok(value));
    }

    /// The stream in a DUMP payload of type `kind`.
    fn payload_as(stream: &Stream, kind: u8) -> Vec<u8> {
        let mut body = vec![kind];
        put_stream_as(&mut body, stream, NodeLimits::default(), kind);
        payload(body)
    }

    /// redis-server 7.0.15, RESTOREing these type 15 payloads, showed the
    /// same counters in XINFO STREAM FULL.
    #[test]
    fn streams_of_redis_5_and_6_get_the_counters_redis_7_derives() {
        let mut stream = groups_stream();
        let mut expected = stream.clone();
        // Entries added is the length, no deletion is known, the first
        // ID is the first entry's.
        stream.entries_added = 99;
        stream.max_deleted_id = id(3, 3);
        stream.first_id = id(0, 0);
        // Entries read: the last entry's counter for a group at the last
        // ID, unknown (-1) for one between the first and the last, and the
        // first's and before the first's are exact.
        let at = |last_id, entries_read| (last_id, entries_read);
        for (last_id, entries_read) in [
            at(id(5, 1), 4),
            at(id(5, 0), -1),
            at(id(1, 1), 1),
            at(id(1, 0), 0),
            at(id(9, 0), -1),
        ] {
            stream.groups[1].last_id = last_id;
            expected.groups[1].last_id = last_id;
            expected.groups[1].entries_read = entries_read;
            expected.groups[0].entries_read = 4;
            let payload = payload_as(&stream, TYPE_STREAM_LISTPACKS);
            assert_eq!(restore(&payload), Ok(Value::Stream(expected.clone())));
        }
        // An old empty stream: no first entry, so Redis records the
        // largest ID; entries read of a group is 0.
        let old_empty = payload_as(&empty_stream(), TYPE_STREAM_LISTPACKS);
        let mut expected = empty_stream();
        expected.first_id = id(u64::MAX, u64::MAX);
        expected.groups[0].entries_read = 0;
        assert_eq!(restore(&old_empty), Ok(Value::Stream(expected)));
    }

    #[test]
    fn streams_of_redis_7_2_keep_their_consumers_active_times() {
        let mut stream = groups_stream();
        stream.groups[1].consumers[1].active_time = Some(17);
        let mut expected = stream.clone();
        for consumer in &mut expected.groups[1].consumers {
            consumer.active_time.get_or_insert(consumer.seen_time);
        }
        let payload = payload_as(&stream, TYPE_STREAM_LISTPACKS_3);
        assert_eq!(restore(&payload), Ok(Value::Stream(expected)));
    }

    /// `stream` (valid) written with a change made to it after checks.
    fn forged(stream: &Stream, change: impl FnOnce(&mut Stream)) -> Result<Value, RestoreError> {
        let mut stream = stream.clone();
        change(&mut stream);
        restore(&payload_as(&stream, TYPE_STREAM_LISTPACKS_2))
    }

    #[test]
    fn inconsistent_streams_are_refused() {
        let good = groups_stream();
        assert!(forged(&good, |_| {}).is_ok());
        let bad = || Err(RestoreError::BadFormat);
        // Entry IDs out of order.
        assert_eq!(forged(&good, |s| s.entries.swap(0, 1)), bad());
        // Twice the same ID.
        assert_eq!(forged(&good, |s| s.entries[1].0 = id(1, 1)), bad());
        // The last ID behind the last entry.
        assert_eq!(forged(&good, |s| s.last_id = id(5, 0)), bad());
        // A consumer owning an ID its group's PEL lacks.
        assert_eq!(
            forged(&good, |s| s.groups[1].consumers[0].pending = vec![id(1, 1)]),
            bad()
        );
        // Two consumers owning one ID; a PEL entry nobody owns.
        assert_eq!(
            forged(&good, |s| s.groups[1].consumers[0].pending = vec![id(1, 2)]),
            bad()
        );
        assert_eq!(
            forged(&good, |s| s.groups[1].consumers[1].pending.clear()),
            bad()
        );
        // Duplicate group, consumer, PEL entry.
        assert_eq!(forged(&good, |s| s.groups[0].name = b("g")), bad());
        assert_eq!(
            forged(&good, |s| s.groups[1].consumers[0].name = b("bob")),
            bad()
        );
        assert_eq!(
            forged(&good, |s| {
                let first = s.groups[1].pending[0].clone();
                s.groups[1].pending.push(first);
            }),
            bad()
        );
        // A length that is not the number of entries.
        let mut body = body(&dump(&Value::Stream(good.clone())));
        let length_at = 1 + 1 + 1 + 16 + 2 + 0x6d;
        assert_eq!(body[length_at], 4, "the stream's length");
        body[length_at] = 5;
        assert_eq!(restore(&payload(body)), bad());
    }

    #[test]
    fn damaged_nodes_are_refused_without_panics() {
        let good = body(&hex(GROUPS));
        // Every byte of the payload changed, every prefix: an error or
        // another stream, never a panic.
        for at in 0..good.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut damaged = good.clone();
                damaged[at] ^= flip;
                let _ = restore(&payload(damaged));
            }
            assert_eq!(
                restore(&payload(good[..at].to_vec())),
                Err(RestoreError::BadFormat)
            );
        }
        // A node count, a PEL size, a consumer count of 2^64 - 1: refused
        // before anything is allocated for them.
        for forged_count in [
            vec![0x13, 0x81],
            vec![0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81],
        ] {
            let mut body = forged_count;
            body.extend_from_slice(&[0xff; 8]);
            assert_eq!(restore(&payload(body)), Err(RestoreError::BadFormat));
        }
        // A node key that is not 16 bytes.
        let mut short_key = vec![0x13, 1, 15];
        short_key.extend_from_slice(&good[3 + 1..]);
        assert_eq!(restore(&payload(short_key)), Err(RestoreError::BadFormat));
    }

    fn bytes(g: &mut Gen) -> Bytes {
        let pool = [
            "f", "v", "0", "-1", "127", "128", "-4097", "70000", "-0", "007",
        ];
        match u8::arbitrary(g) % 8 {
            0 => Bytes::from(i64::arbitrary(g).to_string()),
            1 => Bytes::from(vec![b'x'; usize::arbitrary(g) % 5000]),
            2 | 3 => Bytes::from(Vec::<u8>::arbitrary(g)),
            _ => b(g.choose(&pool).unwrap()),
        }
    }

    fn arbitrary_id(g: &mut Gen) -> StreamId {
        id(u64::arbitrary(g), u64::arbitrary(g))
    }

    /// IDs strictly ascending from `from`: small and large steps, sequence
    /// numbers that restart (a delta below the master's).
    fn ascending(g: &mut Gen, from: StreamId, count: usize) -> Vec<StreamId> {
        let mut ids = Vec::new();
        let mut at = from;
        for _ in 0..count {
            let next = match u8::arbitrary(g) % 4 {
                0 => at.seq.checked_add(1).map(|seq| id(at.ms, seq)),
                1 => at.ms.checked_add(1).map(|ms| id(ms, u64::arbitrary(g) % 3)),
                2 => at
                    .ms
                    .checked_add(u64::arbitrary(g) % (1 << 40) + 1)
                    .map(|ms| id(ms, 0)),
                _ => at.ms.checked_add(1).map(|ms| id(ms, u64::arbitrary(g))),
            };
            match next {
                Some(next) => {
                    ids.push(next);
                    at = next;
                }
                None => break,
            }
        }
        ids
    }

    fn unique_names(g: &mut Gen) -> Vec<Bytes> {
        let mut names: Vec<Bytes> = (0..usize::arbitrary(g) % 4).map(|_| bytes(g)).collect();
        names.sort();
        names.dedup();
        names
    }

    impl Arbitrary for Stream {
        fn arbitrary(g: &mut Gen) -> Stream {
            let start = if bool::arbitrary(g) {
                id(0, 0)
            } else {
                arbitrary_id(g)
            };
            let count = usize::arbitrary(g) % 40;
            let master: Vec<(Bytes, Bytes)> = (0..usize::arbitrary(g) % 4)
                .map(|_| (bytes(g), bytes(g)))
                .collect();
            let entries: Vec<(StreamId, Vec<(Bytes, Bytes)>)> = ascending(g, start, count)
                .into_iter()
                .map(|entry_id| {
                    let fields = match u8::arbitrary(g) % 3 {
                        // Same fields as the first entry, other values.
                        0 => master.iter().map(|(f, _)| (f.clone(), bytes(g))).collect(),
                        _ => (0..usize::arbitrary(g) % 4)
                            .map(|_| (bytes(g), bytes(g)))
                            .collect(),
                    };
                    (entry_id, fields)
                })
                .collect();
            let top = entries.last().map_or(start, |(id, _)| *id);
            let beyond = usize::arbitrary(g) % 2;
            let last_id = ascending(g, top, beyond).pop().unwrap_or(top);
            let groups = unique_names(g)
                .into_iter()
                .map(|name| {
                    let (from, count) = (arbitrary_id(g), usize::arbitrary(g) % 6);
                    let pending: Vec<Pending> = ascending(g, from, count)
                        .into_iter()
                        .map(|id| Pending {
                            id,
                            delivery_time: u64::arbitrary(g),
                            delivery_count: u64::arbitrary(g),
                        })
                        .collect();
                    let mut consumers: Vec<Consumer> = unique_names(g)
                        .into_iter()
                        .map(|name| Consumer {
                            name,
                            seen_time: u64::arbitrary(g),
                            active_time: None,
                            pending: vec![],
                        })
                        .collect();
                    if consumers.is_empty() && !pending.is_empty() {
                        consumers.push(Consumer {
                            name: b("c"),
                            seen_time: 0,
                            active_time: None,
                            pending: vec![],
                        });
                    }
                    for p in &pending {
                        let owner = usize::arbitrary(g) % consumers.len();
                        consumers[owner].pending.push(p.id);
                    }
                    Group {
                        name,
                        last_id: arbitrary_id(g),
                        entries_read: i64::arbitrary(g),
                        pending,
                        consumers,
                    }
                })
                .collect();
            Stream {
                entries,
                last_id,
                first_id: arbitrary_id(g),
                max_deleted_id: arbitrary_id(g),
                entries_added: u64::arbitrary(g),
                groups,
            }
        }
    }

    #[test]
    fn any_stream_round_trips_with_any_node_limits() {
        fn property(stream: Stream, entries: u8, bytes: u16) -> bool {
            let value = Value::Stream(stream);
            let limits = NodeLimits {
                max_entries: u64::from(entries % 8),
                max_bytes: u64::from(bytes % 600),
            };
            restore(&dump_with(&value, limits)) == Ok(value.clone())
                && restore(&dump(&value)) == Ok(value)
        }
        QuickCheck::new()
            .tests(300)
            .quickcheck(property as fn(Stream, u8, u16) -> bool);
    }

    #[test]
    fn damaged_dumps_of_any_stream_are_refused_or_read_without_panics() {
        fn property(stream: Stream, at: usize, flip: u8, cut: usize) -> bool {
            let good = body(&dump_with(
                &Value::Stream(stream),
                NodeLimits {
                    max_entries: 3,
                    max_bytes: 0,
                },
            ));
            let mut damaged = good.clone();
            damaged[at % good.len()] ^= flip.max(1);
            let _ = restore(&payload(damaged));
            let cut = cut % good.len();
            restore(&payload(good[..cut].to_vec())) == Err(RestoreError::BadFormat)
        }
        QuickCheck::new()
            .tests(300)
            .quickcheck(property as fn(Stream, usize, u8, usize) -> bool);
    }
}
