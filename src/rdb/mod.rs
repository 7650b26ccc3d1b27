//! Redis' RDB serialization, as redis-server 7.0.15 writes and reads it:
//! the DUMP payload here (one value, then the RDB version in 2 bytes and a
//! CRC64 of everything before it) and whole RDB files in `file` (what
//! replication sends a replica). `value` holds the value encodings both
//! share.
//!
//! `dump` writes the plain types (string, list, set, hash, sorted set with
//! binary scores: RDB types 0, 1, 2, 4, 5), which Redis 4 and later
//! restore, and streams as Redis 7.0 writes them (19, see `stream`).
//! `restore` reads those, sorted sets with text scores (3), and
//! what redis-server dumps for small values: integer and LZF strings,
//! intsets (11), listpack hashes (16) and sorted sets (17), quicklist
//! lists of listpacks (18), the ziplists of servers before 7.0 (10,
//! 12, 13, 14), and the streams of 5.0 to 7.2 (15, 19, 21). Modules are
//! `BadFormat`.
//!
//! **Invariant:** pure functions over bytes (no I/O, no clock); a
//! malformed payload is an error, never a panic.

pub mod file;
pub mod functions;
mod stream;
mod value;

pub use stream::{Consumer, Group, NodeLimits, Pending, Stream, StreamId};
pub use value::Value;
use value::{Cursor, Start};

/// The RDB version Redis 7.0 writes; newer payloads are refused.
pub const RDB_VERSION: u16 = 10;

#[derive(Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// "DUMP payload version or checksum are wrong"
    VersionOrChecksum,
    /// "Bad data format"
    BadFormat,
}

/// Redis' CRC64 (Jones polynomial, reflected, no final xor).
pub fn crc64(data: &[u8]) -> u64 {
    crc64_update(0, data)
}

/// `crc64` of the bytes behind `crc` followed by `data`: a file's checksum
/// is computed as it is written or read, piece by piece. crc-fast folds
/// 16 bytes a step with carry-less multiplication where the CPU has it:
/// table-driven, the checksum was a quarter of both ends' CPU in a full
/// sync.
pub fn crc64_update(crc: u64, data: &[u8]) -> u64 {
    let mut digest = crc_fast::Digest::new_with_init_state(crc_fast::CrcAlgorithm::Crc64Redis, crc);
    digest.update(data);
    digest.finalize()
}

/// The DUMP payload of `value` (a stream's nodes split as Redis' default
/// `stream-node-max-entries` and `stream-node-max-bytes` split them).
pub fn dump(value: &Value) -> Vec<u8> {
    dump_with(value, NodeLimits::default())
}

/// `dump`, a stream's nodes split at `limits`.
pub fn dump_with(value: &Value, limits: NodeLimits) -> Vec<u8> {
    let mut out = vec![value::kind(value)];
    value::put_body(&mut out, value, limits);
    seal(&mut out);
    out
}

/// Ends a DUMP payload (a key's, FUNCTION DUMP's): the RDB version in 2
/// bytes, then the CRC64 of everything before.
fn seal(out: &mut Vec<u8>) {
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A DUMP payload's body, if its version is one read here and its
/// checksum holds.
fn unseal(payload: &[u8]) -> Option<&[u8]> {
    let body_len = payload.len().checked_sub(10)?;
    let version = u16::from_le_bytes([payload[body_len], payload[body_len + 1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[body_len + 2..]);
    (version <= RDB_VERSION && crc64(&payload[..body_len + 2]) == u64::from_le_bytes(crc))
        .then(|| &payload[..body_len])
}

/// The value in a DUMP payload, after checking its version and checksum.
pub fn restore(payload: &[u8]) -> Result<Value, RestoreError> {
    let body = unseal(payload).ok_or(RestoreError::VersionOrChecksum)?;
    let mut cursor = Cursor::new(body);
    let value = read_value(&mut cursor).ok_or(RestoreError::BadFormat)?;
    if cursor.remaining() > 0 {
        return Err(RestoreError::BadFormat);
    }
    Ok(value)
}

/// The whole value at `cursor`, its type byte first.
fn read_value(cursor: &mut Cursor) -> Option<Value> {
    let kind = cursor.byte().ok()?;
    match value::start(cursor, kind).ok()? {
        Start::Whole(value) => Some(value),
        Start::Elements(mut partial) => {
            // Every element takes at least a byte: a forged count fails
            // here rather than after reading all there is.
            if partial.left() > cursor.remaining() {
                return None;
            }
            while !partial.done() {
                partial.step(cursor).ok()?;
            }
            Some(partial.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// The reference: Redis' crc64.c, one table lookup a byte.
    fn crc64_bytewise(crc: u64, data: &[u8]) -> u64 {
        const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
        let table: Vec<u64> = (0..256u64)
            .map(|byte| {
                (0..8).fold(byte, |crc, _| {
                    if crc & 1 == 1 {
                        (crc >> 1) ^ POLY
                    } else {
                        crc >> 1
                    }
                })
            })
            .collect();
        data.iter().fold(crc, |crc, &byte| {
            table[usize::from(crc as u8 ^ byte)] ^ (crc >> 8)
        })
    }

    #[test]
    fn crc64_is_redis_jones_crc() {
        // The check value in Redis' crc64.c.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        // The fast path agrees with the reference at every length and
        // split.
        let data: Vec<u8> = (0..700u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in 0..data.len() {
            let whole = crc64_bytewise(0, &data[..len]);
            assert_eq!(crc64(&data[..len]), whole, "length {len}");
            let (a, b) = data[..len].split_at(len / 3);
            assert_eq!(crc64_update(crc64(a), b), whole, "split {len}");
        }
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

    /// `body` in a DUMP envelope (version 10 and checksum).
    fn payload(mut body: Vec<u8>) -> Vec<u8> {
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    }

    #[test]
    fn restore_reads_the_ziplists_of_servers_before_7() {
        // The ziplist of "2", "5", "Hello World" that ziplist.c's comment
        // takes apart: immediate integers, then a short string.
        let ziplist = hex("1c0000000e000000030000f302f6020b48656c6c6f20576f726c64ff");
        let expected = Value::List(strings(&["2", "5", "Hello World"]));
        let mut list = vec![10, ziplist.len() as u8];
        list.extend_from_slice(&ziplist);
        assert_eq!(restore(&payload(list)), Ok(expected));
        // A quicklist (14) of that ziplist twice.
        let mut quicklist = vec![14, 2];
        for _ in 0..2 {
            quicklist.push(ziplist.len() as u8);
            quicklist.extend_from_slice(&ziplist);
        }
        let twice = strings(&["2", "5", "Hello World", "2", "5", "Hello World"]);
        assert_eq!(restore(&payload(quicklist)), Ok(Value::List(twice)));
    }
}
