//! The DUMP payload: one value in Redis' RDB serialization, then the RDB
//! version (2 bytes) and a CRC64 (Jones) of everything before it, as
//! redis-server 7.0.15 writes and checks them.
//!
//! `dump` writes the plain types (string, list, set, hash, sorted set with
//! binary scores: RDB types 0, 1, 2, 4, 5), which Redis 4 and later
//! restore. `restore` reads those, sorted sets with text scores (3), and
//! what redis-server 7.0 dumps for small values: integer and LZF strings,
//! intsets (11), listpack hashes (16) and sorted sets (17), quicklist
//! lists of listpacks (18). Other encodings (ziplists of older servers,
//! streams, modules) are `BadFormat`.
//!
//! **Invariant:** pure functions over bytes; a malformed payload is an
//! error, never a panic.

use bytes::Bytes;

/// The RDB version Redis 7.0 writes; newer payloads are refused.
pub const RDB_VERSION: u16 = 10;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;

/// A value as DUMP carries it.
#[derive(Debug, PartialEq)]
pub enum Value {
    String(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    /// Members and scores (never NaN).
    ZSet(Vec<(Bytes, f64)>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// "DUMP payload version or checksum are wrong"
    VersionOrChecksum,
    /// "Bad data format"
    BadFormat,
}

/// Redis' CRC64 (Jones polynomial, reflected, no final xor).
pub fn crc64(data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut crc = 0u64;
    for &byte in data {
        crc ^= u64::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// The DUMP payload of `value`.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::String(bytes) => {
            out.push(TYPE_STRING);
            put_string(&mut out, bytes);
        }
        Value::List(items) | Value::Set(items) => {
            out.push(if matches!(value, Value::List(_)) {
                TYPE_LIST
            } else {
                TYPE_SET
            });
            put_len(&mut out, items.len() as u64);
            for item in items {
                put_string(&mut out, item);
            }
        }
        Value::Hash(pairs) => {
            out.push(TYPE_HASH);
            put_len(&mut out, pairs.len() as u64);
            for (field, value) in pairs {
                put_string(&mut out, field);
                put_string(&mut out, value);
            }
        }
        Value::ZSet(members) => {
            out.push(TYPE_ZSET_2);
            put_len(&mut out, members.len() as u64);
            for (member, score) in members {
                put_string(&mut out, member);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn put_len(out: &mut Vec<u8>, len: u64) {
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

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The value in a DUMP payload, after checking its version and checksum.
pub fn restore(payload: &[u8]) -> Result<Value, RestoreError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(RestoreError::VersionOrChecksum);
    };
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[body_len + 2..]);
    if version > RDB_VERSION || crc64(&payload[..body_len + 2]) != u64::from_le_bytes(crc) {
        return Err(RestoreError::VersionOrChecksum);
    }
    let mut reader = Reader {
        bytes: &payload[..body_len],
    };
    let value = reader.value().ok_or(RestoreError::BadFormat)?;
    if !reader.bytes.is_empty() {
        return Err(RestoreError::BadFormat);
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
}

/// What a length byte announces: a length, or a specially encoded string.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn raw_len(&mut self) -> Option<Len> {
        let first = self.byte()?;
        Some(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            3 => Len::Encoded(first & 0x3f),
            _ if first == 0x80 => Len::Plain(u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            _ if first == 0x81 => Len::Plain(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            _ => return None,
        })
    }

    fn len(&mut self) -> Option<usize> {
        match self.raw_len()? {
            Len::Plain(len) => usize::try_from(len).ok(),
            Len::Encoded(_) => None,
        }
    }

    fn string(&mut self) -> Option<Bytes> {
        Some(match self.raw_len()? {
            Len::Plain(len) => Bytes::copy_from_slice(self.take(usize::try_from(len).ok()?)?),
            Len::Encoded(0) => int_text(i64::from(self.byte()? as i8)),
            Len::Encoded(1) => int_text(i64::from(i16::from_le_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            Len::Encoded(2) => int_text(i64::from(i32::from_le_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            Len::Encoded(3) => {
                let compressed = self.len()?;
                let len = self.len()?;
                Bytes::from(lzf_decompress(self.take(compressed)?, len)?)
            }
            Len::Encoded(_) => return None,
        })
    }

    /// `count` strings; the count is checked against the bytes left so a
    /// forged length cannot make us allocate.
    fn strings(&mut self, count: usize) -> Option<Vec<Bytes>> {
        if count > self.bytes.len() {
            return None;
        }
        (0..count).map(|_| self.string()).collect()
    }

    fn value(&mut self) -> Option<Value> {
        Some(match self.byte()? {
            TYPE_STRING => Value::String(self.string()?),
            TYPE_LIST => {
                let count = self.len()?;
                Value::List(self.strings(count)?)
            }
            TYPE_SET => {
                let count = self.len()?;
                Value::Set(self.strings(count)?)
            }
            TYPE_HASH => {
                let count = self.len()?.checked_mul(2)?;
                Value::Hash(pairs(self.strings(count)?)?)
            }
            kind @ (TYPE_ZSET | TYPE_ZSET_2) => {
                let binary = kind == TYPE_ZSET_2;
                let count = self.len()?;
                let mut members = Vec::new();
                for _ in 0..count.min(self.bytes.len()) {
                    let member = self.string()?;
                    let score = if binary {
                        f64::from_le_bytes(self.take(8)?.try_into().ok()?)
                    } else {
                        self.text_score()?
                    };
                    members.push((member, score));
                }
                (members.len() == count).then_some(())?;
                Value::ZSet(scored(members)?)
            }
            TYPE_SET_INTSET => Value::Set(intset(&self.string()?)?),
            TYPE_ZSET_LISTPACK => {
                let flat = listpack(&self.string()?)?;
                let members = pairs(flat)?
                    .into_iter()
                    .map(|(member, score)| Some((member, parse_score(&score)?)))
                    .collect::<Option<Vec<_>>>()?;
                Value::ZSet(scored(members)?)
            }
            TYPE_HASH_LISTPACK => Value::Hash(pairs(listpack(&self.string()?)?)?),
            TYPE_LIST_QUICKLIST_2 => {
                let nodes = self.len()?;
                let mut items = Vec::new();
                for _ in 0..nodes.min(self.bytes.len()) {
                    match self.len()? {
                        1 => items.push(self.string()?),
                        2 => items.extend(listpack(&self.string()?)?),
                        _ => return None,
                    }
                }
                Value::List(items)
            }
            _ => return None,
        })
    }
}

impl Reader<'_> {
    /// An old-style score: its length in one byte (253 NaN, 254 +inf,
    /// 255 -inf) then its decimal text.
    fn text_score(&mut self) -> Option<f64> {
        match self.byte()? {
            253 => Some(f64::NAN),
            254 => Some(f64::INFINITY),
            255 => Some(f64::NEG_INFINITY),
            len => parse_score(self.take(usize::from(len))?),
        }
    }
}

fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Sorted-set members as loaded, refused if a score is NaN.
fn scored(members: Vec<(Bytes, f64)>) -> Option<Vec<(Bytes, f64)>> {
    members
        .iter()
        .all(|(_, score)| !score.is_nan())
        .then_some(members)
}

fn int_text(n: i64) -> Bytes {
    Bytes::from(n.to_string())
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

/// An intset blob: encoding (bytes per integer), count, little-endian integers.
fn intset(blob: &[u8]) -> Option<Vec<Bytes>> {
    let width = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    let count = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
    let body = blob.get(8..)?;
    if !matches!(width, 2 | 4 | 8) || body.len() != count.checked_mul(width)? {
        return None;
    }
    Some(
        body.chunks_exact(width)
            .map(|chunk| {
                let mut bytes = [0u8; 8];
                bytes[..width].copy_from_slice(chunk);
                // Sign-extend from `width` bytes.
                let shift = 64 - 8 * width as u32;
                int_text((i64::from_le_bytes(bytes) << shift) >> shift)
            })
            .collect(),
    )
}

/// A listpack's elements, integers as their decimal text.
fn listpack(blob: &[u8]) -> Option<Vec<Bytes>> {
    let total = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    if total != blob.len() {
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
                (
                    Bytes::copy_from_slice(blob.get(at + 1..at + 1 + len)?),
                    1,
                    len,
                )
            }
            0xc0..=0xdf => {
                let raw = i64::from(encoding & 0x1f) << 8 | i64::from(*blob.get(at + 1)?);
                (int_text((raw << 51) >> 51), 2, 0)
            }
            0xe0..=0xef => {
                let len = usize::from(encoding & 0x0f) << 8 | usize::from(*blob.get(at + 1)?);
                (
                    Bytes::copy_from_slice(blob.get(at + 2..at + 2 + len)?),
                    2,
                    len,
                )
            }
            0xf0 => {
                let len = u32::from_le_bytes(blob.get(at + 1..at + 5)?.try_into().ok()?) as usize;
                (
                    Bytes::copy_from_slice(blob.get(at + 5..at.checked_add(5 + len)?)?),
                    5,
                    len,
                )
            }
            0xf1..=0xf4 => {
                let width = match encoding {
                    0xf1 => 2,
                    0xf2 => 3,
                    0xf3 => 4,
                    _ => 8,
                };
                let mut bytes = [0u8; 8];
                bytes[..width].copy_from_slice(blob.get(at + 1..at + 1 + width)?);
                let shift = 64 - 8 * width as u32;
                (
                    int_text((i64::from_le_bytes(bytes) << shift) >> shift),
                    1 + width,
                    0,
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_redis_jones_crc() {
        // The check value in Redis' crc64.c.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn dump_then_restore_gives_the_value_back() {
        let big = Bytes::from(vec![b'x'; 70_000]);
        for value in [
            Value::String(big.clone()),
            Value::List(vec![Bytes::from("a"), big.clone()]),
            Value::Set(vec![Bytes::from("1"), Bytes::from("b")]),
            Value::Hash(vec![(Bytes::from("f"), big)]),
            Value::ZSet(vec![
                (Bytes::from("m"), 1.5),
                (Bytes::from("n"), f64::NEG_INFINITY),
            ]),
        ] {
            assert_eq!(restore(&dump(&value)), Ok(value));
        }
    }

    #[test]
    fn a_damaged_payload_is_refused() {
        let mut payload = dump(&Value::String(Bytes::from("v")));
        payload[1] ^= 1;
        assert_eq!(restore(&payload), Err(RestoreError::VersionOrChecksum));
        assert_eq!(restore(b"short"), Err(RestoreError::VersionOrChecksum));
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    // The payloads below are what redis-server 7.0.15 answered to DUMP.

    #[test]
    fn restore_reads_redis_int_and_lzf_strings() {
        let int = hex("00c139300a009d94ea2793fc08b9");
        assert_eq!(restore(&int), Ok(Value::String(Bytes::from("12345"))));
        let lzf = hex("00c30932016161e025000161610a0009ac48b9ab15fbc9");
        assert_eq!(
            restore(&lzf),
            Ok(Value::String(Bytes::from("a".repeat(50))))
        );
    }

    #[test]
    fn restore_reads_redis_intsets() {
        let payload = hex("0b140400000003000000feffffff01000000e09304000a00c1a88fb6df40a557");
        assert_eq!(
            restore(&payload),
            Ok(Value::Set(strings(&["-2", "1", "300000"])))
        );
    }

    #[test]
    fn restore_reads_redis_listpack_hashes() {
        let payload = hex("102c2c0000000800816602817602816e02dffb028362696704f270110104836e656704f400a22f4dffffffff09ff0a00b2999a5e6a706980");
        let Ok(Value::Hash(pairs)) = restore(&payload) else {
            panic!("a hash");
        };
        let flat: Vec<Bytes> = pairs.into_iter().flat_map(|(f, v)| [f, v]).collect();
        assert_eq!(
            flat,
            strings(&["f", "v", "n", "-5", "big", "70000", "neg", "-3000000000"])
        );
    }

    #[test]
    fn restore_reads_redis_hashtable_hashes_with_encoded_strings() {
        let payload = hex("040401660176016ec0fbc3094046017878e03900017878017903626967c2701101000a00b7e4ea703b40156c");
        let Ok(Value::Hash(pairs)) = restore(&payload) else {
            panic!("a hash");
        };
        assert_eq!(pairs.len(), 4);
        assert!(pairs.contains(&(Bytes::from("n"), Bytes::from("-5"))));
        assert!(pairs.contains(&(Bytes::from("big"), Bytes::from("70000"))));
        assert!(pairs.contains(&(Bytes::from("x".repeat(70)), Bytes::from("y"))));
    }

    #[test]
    fn restore_reads_redis_quicklists_of_compressed_listpacks() {
        let payload = hex(
            "120102c31927112700000004008161020101f26079fe049462e00a000115ff0a0049ae8d19ac3d673b",
        );
        let b20 = "b".repeat(20);
        assert_eq!(
            restore(&payload),
            Ok(Value::List(strings(&["a", "1", "-100000", &b20])))
        );
    }

    #[test]
    fn restore_reads_redis_listpack_sorted_sets() {
        let payload = hex(
            "111d1d0000000600816202842d696e660581610283312e35048163020301ff0a002970c58fcde6fc31",
        );
        let members = vec![
            (Bytes::from("b"), f64::NEG_INFINITY),
            (Bytes::from("a"), 1.5),
            (Bytes::from("c"), 3.0),
        ];
        assert_eq!(restore(&payload), Ok(Value::ZSet(members)));
    }
}
