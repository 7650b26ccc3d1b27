//! One value in RDB serialization, shared by the DUMP payload (`super`)
//! and whole files (`super::file`).
//!
//! Writing: the plain types (string, list, set, hash, ZSET_2), which every
//! Redis since 4.0 loads, and streams (`super::stream`, type 19). Reading:
//! those, sorted sets with text scores, the compact encodings redis-server
//! writes (integer and LZF strings, intsets, listpacks, quicklists, and the
//! ziplists of servers before 7.0), and streams of types 15, 19 and 21.
//!
//! Collections are read one element at a time (`Partial`; a stream one
//! node, then its metadata, then one consumer group at a time) so that a file
//! reader whose input is still arriving can stop between elements and go
//! on later without parsing the elements it already has again. Running out
//! of input (`Fault::Short`) is told apart from malformed input for the
//! same reason.

use super::stream::{self, NodeLimits, Reading, Stream};
use bytes::Bytes;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
use stream::{TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3};

/// A value as DUMP and RDB files carry it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    /// Members and scores (never NaN).
    ZSet(Vec<(Bytes, f64)>),
    Stream(Stream),
}

/// Why a value could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// The input ends before the value does; it would need at least this
    /// many bytes (counted from where the `Cursor` started).
    Short(usize),
    /// The bytes do not decode as the value they announce.
    Bad,
    /// A type byte no Redis version we read writes.
    Unknown(u8),
    /// A type Redis writes that Redstone cannot hold (modules).
    Unsupported(&'static str),
}

pub(super) type Parsed<T> = Result<T, Fault>;

/// The RDB type byte `put_body` writes for `value`.
pub(super) fn kind(value: &Value) -> u8 {
    match value {
        Value::String(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST,
        Value::Set(_) => TYPE_SET,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    }
}

/// `value` after its type byte, in the encoding of type `kind(value)`; a
/// stream's nodes split at `limits`.
pub(super) fn put_body(out: &mut Vec<u8>, value: &Value, limits: NodeLimits) {
    match value {
        Value::String(bytes) => put_string(out, bytes),
        Value::List(items) | Value::Set(items) => {
            put_len(out, items.len() as u64);
            for item in items {
                put_string(out, item);
            }
        }
        Value::Hash(pairs) => {
            put_len(out, pairs.len() as u64);
            for (field, value) in pairs {
                put_string(out, field);
                put_string(out, value);
            }
        }
        Value::ZSet(members) => {
            put_len(out, members.len() as u64);
            for (member, score) in members {
                put_string(out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
        Value::Stream(stream) => stream::put_stream(out, stream, limits),
    }
}

pub(super) fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

pub(super) fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A string as Redis' `rdbSaveRawString` writes it with `rdbcompression
/// no`: one that reads as a 32-bit integer exactly as Redis prints it is
/// written as that integer (1, 2 or 4 bytes), anything else as it is.
pub(super) fn put_raw_string(out: &mut Vec<u8>, bytes: &[u8]) {
    match stream::canonical_int(bytes) {
        Some(n) if i8::try_from(n).is_ok() => out.extend_from_slice(&[0xc0, n as u8]),
        Some(n) if i16::try_from(n).is_ok() => {
            out.push(0xc1);
            out.extend_from_slice(&(n as i16).to_le_bytes());
        }
        Some(n) if i32::try_from(n).is_ok() => {
            out.push(0xc2);
            out.extend_from_slice(&(n as i32).to_le_bytes());
        }
        _ => put_string(out, bytes),
    }
}

/// Bytes being read front to back; nothing is consumed by a read that
/// fails, and a read past the end says how much input it would need.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// What a length byte announces: a length, or a specially encoded string.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, at: 0 }
    }

    /// How many bytes have been read.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> Parsed<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(Fault::Bad)?;
        let head = self.bytes.get(self.at..end).ok_or(Fault::Short(end))?;
        self.at = end;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Parsed<[u8; N]> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(super) fn byte(&mut self) -> Parsed<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn raw_len(&mut self) -> Parsed<Len> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            3 => Len::Encoded(first & 0x3f),
            _ if first == 0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            _ if first == 0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
            _ => return Err(Fault::Bad),
        })
    }

    pub(super) fn len(&mut self) -> Parsed<usize> {
        usize::try_from(self.len_u64()?).map_err(|_| Fault::Bad)
    }

    /// A length field holding a number (an ID part, a counter).
    pub(super) fn len_u64(&mut self) -> Parsed<u64> {
        match self.raw_len()? {
            Len::Plain(len) => Ok(len),
            Len::Encoded(_) => Err(Fault::Bad),
        }
    }

    pub(super) fn string(&mut self) -> Parsed<Bytes> {
        Ok(match self.raw_len()? {
            Len::Plain(len) => {
                let len = usize::try_from(len).map_err(|_| Fault::Bad)?;
                Bytes::copy_from_slice(self.take(len)?)
            }
            Len::Encoded(0) => int_text(i64::from(i8::from_le_bytes(self.array()?))),
            Len::Encoded(1) => int_text(i64::from(i16::from_le_bytes(self.array()?))),
            Len::Encoded(2) => int_text(i64::from(i32::from_le_bytes(self.array()?))),
            Len::Encoded(3) => {
                let compressed = self.len()?;
                let len = self.len()?;
                Bytes::from(lzf_decompress(self.take(compressed)?, len).ok_or(Fault::Bad)?)
            }
            Len::Encoded(_) => return Err(Fault::Bad),
        })
    }

    /// An old-style score: its length in one byte (253 NaN, 254 +inf,
    /// 255 -inf) then its decimal text.
    fn text_score(&mut self) -> Parsed<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            len => parse_score(self.take(usize::from(len))?),
        }
    }
}

/// The start of a value, read after its type byte.
pub(super) enum Start {
    /// A value encoded in one piece (a string, or a collection as one blob).
    Whole(Value),
    /// A collection whose elements follow one by one.
    Elements(Partial),
}

/// A collection read so far, and how many elements are still to come.
pub(super) struct Partial {
    left: usize,
    items: Items,
}

enum Items {
    /// A linked list (1), or a quicklist of ziplists (14) or of listpacks
    /// and plain nodes (18): each element is a node with many items.
    List(Vec<Bytes>, ListNodes),
    Set(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    ZSet(Vec<(Bytes, f64)>, Scores),
    /// A stream: its nodes, its metadata, its groups (`stream::Reading`).
    Stream(Box<Reading>),
}

#[derive(Clone, Copy)]
enum ListNodes {
    Strings,
    Ziplists,
    Quicklist2,
}

#[derive(Clone, Copy)]
enum Scores {
    Text,
    Binary,
}

/// Reads the value of RDB type `kind`, up to its first element if it is a
/// collection whose elements follow one by one.
pub(super) fn start(cursor: &mut Cursor, kind: u8) -> Parsed<Start> {
    let items = match kind {
        TYPE_STRING => return Ok(Start::Whole(Value::String(cursor.string()?))),
        TYPE_LIST => Items::List(Vec::new(), ListNodes::Strings),
        TYPE_LIST_QUICKLIST => Items::List(Vec::new(), ListNodes::Ziplists),
        TYPE_LIST_QUICKLIST_2 => Items::List(Vec::new(), ListNodes::Quicklist2),
        TYPE_SET => Items::Set(Vec::new()),
        TYPE_HASH => Items::Hash(Vec::new()),
        TYPE_ZSET => Items::ZSet(Vec::new(), Scores::Text),
        TYPE_ZSET_2 => Items::ZSet(Vec::new(), Scores::Binary),
        TYPE_SET_INTSET | TYPE_LIST_ZIPLIST | TYPE_ZSET_ZIPLIST | TYPE_HASH_ZIPLIST
        | TYPE_HASH_LISTPACK | TYPE_ZSET_LISTPACK => {
            let blob = cursor.string()?;
            return blob_value(kind, &blob).map(Start::Whole);
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            let (reading, left) = stream::start(cursor, kind)?;
            let items = Items::Stream(Box::new(reading));
            return Ok(Start::Elements(Partial { left, items }));
        }
        TYPE_MODULE | TYPE_MODULE_2 => return Err(Fault::Unsupported("module value")),
        _ => return Err(Fault::Unknown(kind)),
    };
    let left = cursor.len()?;
    Ok(Start::Elements(Partial { left, items }))
}

/// A collection Redis stores as one blob (intset, listpack, ziplist).
fn blob_value(kind: u8, blob: &[u8]) -> Parsed<Value> {
    let value = match kind {
        TYPE_SET_INTSET => intset(blob).map(Value::Set),
        TYPE_LIST_ZIPLIST => ziplist(blob).map(Value::List),
        TYPE_HASH_ZIPLIST => ziplist(blob).and_then(pairs).map(Value::Hash),
        TYPE_HASH_LISTPACK => listpack(blob).and_then(pairs).map(Value::Hash),
        TYPE_ZSET_ZIPLIST => return ziplist(blob).ok_or(Fault::Bad).and_then(text_scored),
        _ => return listpack(blob).ok_or(Fault::Bad).and_then(text_scored),
    };
    value.ok_or(Fault::Bad)
}

/// Members and scores as text, alternating, as a sorted set.
fn text_scored(flat: Vec<Bytes>) -> Parsed<Value> {
    pairs(flat)
        .ok_or(Fault::Bad)?
        .into_iter()
        .map(|(member, score)| Ok((member, parse_score(&score)?)))
        .collect::<Parsed<Vec<_>>>()
        .map(Value::ZSet)
}

impl Partial {
    /// Whether every element has been read.
    pub(super) fn done(&self) -> bool {
        self.left == 0
    }

    /// Elements still to come.
    pub(super) fn left(&self) -> usize {
        self.left
    }

    /// Reads one more element; on failure nothing is added.
    pub(super) fn step(&mut self, cursor: &mut Cursor) -> Parsed<()> {
        match &mut self.items {
            Items::Stream(reading) => {
                self.left = reading.step(cursor, self.left)?;
                return Ok(());
            }
            Items::List(items, ListNodes::Strings) | Items::Set(items) => {
                items.push(cursor.string()?)
            }
            Items::List(items, ListNodes::Ziplists) => {
                items.extend(ziplist(&cursor.string()?).ok_or(Fault::Bad)?)
            }
            Items::List(items, ListNodes::Quicklist2) => {
                let container = cursor.len()?;
                let node = cursor.string()?;
                match container {
                    1 => items.push(node),
                    2 => items.extend(listpack(&node).ok_or(Fault::Bad)?),
                    _ => return Err(Fault::Bad),
                }
            }
            Items::Hash(pairs) => {
                let field = cursor.string()?;
                pairs.push((field, cursor.string()?));
            }
            Items::ZSet(members, scores) => {
                let member = cursor.string()?;
                let score = match scores {
                    Scores::Text => cursor.text_score()?,
                    Scores::Binary => f64::from_le_bytes(cursor.array()?),
                };
                members.push((member, not_nan(score)?));
            }
        }
        self.left -= 1;
        Ok(())
    }

    /// The collection read, leaving this one empty.
    pub(super) fn finish(&mut self) -> Value {
        match &mut self.items {
            Items::List(items, _) => Value::List(std::mem::take(items)),
            Items::Set(items) => Value::Set(std::mem::take(items)),
            Items::Hash(pairs) => Value::Hash(std::mem::take(pairs)),
            Items::ZSet(members, _) => Value::ZSet(std::mem::take(members)),
            Items::Stream(reading) => Value::Stream(reading.finish()),
        }
    }
}

/// A sorted set's score as text; NaN is refused, as Redis does.
fn parse_score(text: &[u8]) -> Parsed<f64> {
    let score = std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(Fault::Bad)?;
    not_nan(score)
}

fn not_nan(score: f64) -> Parsed<f64> {
    if score.is_nan() {
        Err(Fault::Bad)
    } else {
        Ok(score)
    }
}

fn int_text(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

/// A little-endian two's complement integer of 1 to 8 bytes.
fn signed_le(bytes: &[u8]) -> i64 {
    let mut wide = [0u8; 8];
    wide[..bytes.len()].copy_from_slice(bytes);
    let shift = 64 - 8 * bytes.len() as u32;
    (i64::from_le_bytes(wide) << shift) >> shift
}

fn pairs(flat: Vec<Bytes>) -> Option<Vec<(Bytes, Bytes)>> {
    if flat.len() % 2 == 1 {
        return None;
    }
    let mut flat = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(field), Some(value)) = (flat.next(), flat.next()) {
        out.push((field, value));
    }
    Some(out)
}

fn u32_le(blob: &[u8], at: usize) -> Option<usize> {
    let bytes = blob.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
}

/// An intset blob: encoding (bytes per integer), count, little-endian integers.
fn intset(blob: &[u8]) -> Option<Vec<Bytes>> {
    let width = u32_le(blob, 0)?;
    let count = u32_le(blob, 4)?;
    let body = blob.get(8..)?;
    if !matches!(width, 2 | 4 | 8) || body.len() != count.checked_mul(width)? {
        return None;
    }
    Some(
        body.chunks_exact(width)
            .map(|chunk| int_text(signed_le(chunk)))
            .collect(),
    )
}

/// `len` bytes of `blob` from `at`.
fn slice(blob: &[u8], at: usize, len: usize) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(blob.get(at..at.checked_add(len)?)?))
}

/// A listpack's elements, integers as their decimal text.
pub(super) fn listpack(blob: &[u8]) -> Option<Vec<Bytes>> {
    if u32_le(blob, 0)? != blob.len() {
        return None;
    }
    let mut at = 6;
    let mut out = Vec::new();
    loop {
        let encoding = *blob.get(at)?;
        let (value, header, data): (Bytes, usize, usize) = match encoding {
            0xff => return (at + 1 == blob.len()).then_some(out),
            0x00..=0x7f => (int_text(i64::from(encoding)), 1, 0),
            0x80..=0xbf => {
                let len = usize::from(encoding & 0x3f);
                (slice(blob, at + 1, len)?, 1, len)
            }
            0xc0..=0xdf => {
                let raw = i64::from(encoding & 0x1f) << 8 | i64::from(*blob.get(at + 1)?);
                (int_text((raw << 51) >> 51), 2, 0)
            }
            0xe0..=0xef => {
                let len = usize::from(encoding & 0x0f) << 8 | usize::from(*blob.get(at + 1)?);
                (slice(blob, at + 2, len)?, 2, len)
            }
            0xf0 => {
                let len = u32_le(blob, at + 1)?;
                (slice(blob, at + 5, len)?, 5, len)
            }
            0xf1..=0xf4 => {
                let width = match encoding {
                    0xf1 => 2,
                    0xf2 => 3,
                    0xf3 => 4,
                    _ => 8,
                };
                let int = signed_le(blob.get(at + 1..at + 1 + width)?);
                (int_text(int), 1 + width, 0)
            }
            _ => return None,
        };
        out.push(value);
        let entry = header + data;
        let backlen = match entry {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2_097_150 => 3,
            2_097_151..=268_435_454 => 4,
            _ => 5,
        };
        at = at.checked_add(entry + backlen)?;
    }
}

/// A ziplist's elements (what Redis before 7.0 wrote where 7.0 writes
/// listpacks): total bytes, tail offset, count, then entries of previous
/// entry length (1 byte, or 0xfe and 4), encoding, data; 0xff ends it.
fn ziplist(blob: &[u8]) -> Option<Vec<Bytes>> {
    if u32_le(blob, 0)? != blob.len() {
        return None;
    }
    let mut at = 10;
    let mut out = Vec::new();
    loop {
        match *blob.get(at)? {
            0xff => return (at + 1 == blob.len()).then_some(out),
            0xfe => at += 5,
            _ => at += 1,
        }
        let encoding = *blob.get(at)?;
        let (value, next) = match encoding >> 6 {
            0 => {
                let len = usize::from(encoding & 0x3f);
                (slice(blob, at + 1, len)?, at + 1 + len)
            }
            1 => {
                let len = usize::from(encoding & 0x3f) << 8 | usize::from(*blob.get(at + 1)?);
                (slice(blob, at + 2, len)?, at + 2 + len)
            }
            2 if encoding == 0x80 => {
                let high = blob.get(at + 1..at + 5)?;
                let len = u32::from_be_bytes(high.try_into().ok()?) as usize;
                (slice(blob, at + 5, len)?, at.checked_add(5 + len)?)
            }
            _ => {
                let width = match encoding {
                    0xc0 => 2,
                    0xd0 => 4,
                    0xe0 => 8,
                    0xf0 => 3,
                    0xfe => 1,
                    0xf1..=0xfd => 0,
                    _ => return None,
                };
                let int = if width == 0 {
                    i64::from(encoding & 0x0f) - 1
                } else {
                    signed_le(blob.get(at + 1..at + 1 + width)?)
                };
                (int_text(int), at + 1 + width)
            }
        };
        out.push(value);
        at = next;
    }
}

/// LZF (liblzf's format, as Redis compresses strings): literal runs and
/// back references; `len` is the decompressed size Redis stored.
fn lzf_decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(256)));
    let mut at = 0;
    while at < input.len() {
        let ctrl = usize::from(input[at]);
        at += 1;
        if ctrl < 32 {
            out.extend_from_slice(input.get(at..at + ctrl + 1)?);
            at += ctrl + 1;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += usize::from(*input.get(at)?);
                at += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(at)?) + 1;
            at += 1;
            // Byte by byte: the copy may overlap what it produces.
            let start = out.len().checked_sub(back)?;
            for from in start..start + run + 2 {
                let byte = out[from];
                out.push(byte);
            }
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}
