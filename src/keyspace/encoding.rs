//! Byte layouts of storage keys and metadata values (DESIGN.md §3).
//!
//! - meta key:   `ns | slot u16 | user key` (`ns` takes 1 to 5 bytes, see
//!   [`put_ns`])
//! - expire key: `expire_at_ms u64 | ns | slot u16 | user key`
//! - meta value: `type u8 | encoding u8 | expire_at_ms u64 | version u64 | payload`
//!   (a string's payload is its value; a collection's is `size u64`, a
//!   list's `size u64 | head u64 | tail u64`)
//! - data key:   `ns | slot u16 | key len u32 | user key | version u64 | sub key`
//!
//! All integers are big-endian so that byte order is numeric order. `ns` is a
//! namespace id: each logical database maps to one, and FLUSHDB / SWAPDB only
//! change that mapping (see `store.rs`).

use crate::slot::key_slot;
use bytes::{BufMut, Bytes, BytesMut};

const META_HEADER_LEN: usize = 2 + 8 + 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    String = 0,
    Hash = 1,
    List = 2,
    Set = 3,
    ZSet = 4,
    Stream = 5,
}

impl KeyType {
    pub fn from_byte(byte: u8) -> Option<KeyType> {
        Some(match byte {
            0 => KeyType::String,
            1 => KeyType::Hash,
            2 => KeyType::List,
            3 => KeyType::Set,
            4 => KeyType::ZSet,
            5 => KeyType::Stream,
            _ => return None,
        })
    }

    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
            KeyType::Stream => "stream",
        }
    }
}

/// `Meta::encoding` of a string built in place by APPEND or SETRANGE, which
/// Redis reports as `raw` whatever its length.
pub const ENCODING_RAW: u8 = 1;

/// `Meta::encoding` of a hash or set that outgrew the compact encoding
/// (Redis' `hashtable`; below the limits a hash is `listpack`, a set
/// `intset`). Like Redis, a collection never converts back while it exists.
pub const ENCODING_HASHTABLE: u8 = 1;

/// `Meta::encoding` of a sorted set that outgrew `listpack` (more than 128
/// members or a member over 64 bytes, Redis 7.0's defaults): `skiplist`
/// for good.
pub const ENCODING_SKIPLIST: u8 = 1;

/// A score as 8 bytes whose byte order is the numeric order (-inf first,
/// +inf last), the first part of a score index sub key. -0.0 and +0.0 are
/// one score, as in Redis. NaN is never stored.
pub fn score_bytes(score: f64) -> [u8; 8] {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    ordered.to_be_bytes()
}

/// The score [`score_bytes`] encoded (`None` if `bytes` is shorter than 8).
pub fn score_from_bytes(bytes: &[u8]) -> Option<f64> {
    let ordered = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    Some(f64::from_bits(bits))
}

/// What a write needs to know of the key it replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: KeyType,
    /// Absolute unix time in ms; 0 means no expiry.
    pub expire_at: u64,
    pub version: u64,
}

impl Header {
    pub fn is_collection(&self) -> bool {
        self.kind != KeyType::String
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

impl From<&Meta> for Header {
    fn from(meta: &Meta) -> Header {
        Header {
            kind: meta.kind,
            expire_at: meta.expire_at,
            version: meta.version,
        }
    }
}

/// The [`Header`] of a stored meta value (`None` if it is not one), without
/// copying its payload.
pub fn decode_header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < META_HEADER_LEN {
        return None;
    }
    Some(Header {
        kind: KeyType::from_byte(bytes[0])?,
        expire_at: read_u64(&bytes[2..10]),
        version: read_u64(&bytes[10..18]),
    })
}

/// Where the indices of a new list start (see [`Meta::list_bounds`]).
pub const LIST_MIDDLE: u64 = 1 << 63;

/// A key's metadata. For strings `payload` is the value itself; for
/// collections it is the member count (`size u64`).

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub kind: KeyType,
    pub encoding: u8,
    /// Absolute unix time in ms; 0 means no expiry.
    pub expire_at: u64,
    pub version: u64,
    pub payload: Bytes,
}

impl Meta {
    pub fn string(value: Bytes, expire_at: u64) -> Meta {
        Meta {
            kind: KeyType::String,
            encoding: 0,
            expire_at,
            version: 0,
            payload: value,
        }
    }

    /// An empty collection of `kind` whose members live under `version`.
    pub fn collection(kind: KeyType, version: u64) -> Meta {
        Meta {
            kind,
            encoding: 0,
            expire_at: 0,
            version,
            payload: Bytes::copy_from_slice(&0u64.to_be_bytes()),
        }
    }

    pub fn is_collection(&self) -> bool {
        self.kind != KeyType::String
    }

    /// A collection's member count (O(1): kept in the metadata).
    pub fn size(&self) -> u64 {
        if self.payload.len() >= 8 {
            read_u64(&self.payload)
        } else {
            0
        }
    }

    pub fn set_size(&mut self, size: u64) {
        self.payload = Bytes::copy_from_slice(&size.to_be_bytes());
    }

    /// A list's element indices `[head, tail)`: element `i` (from the left)
    /// is the member whose sub key is the big-endian u64 `head + i`. A new
    /// list starts in the middle of the u64 range so both ends can grow.
    pub fn list_bounds(&self) -> (u64, u64) {
        if self.payload.len() >= 24 {
            (
                read_u64(&self.payload[8..16]),
                read_u64(&self.payload[16..24]),
            )
        } else {
            (LIST_MIDDLE, LIST_MIDDLE + self.size())
        }
    }

    /// Sets a list's bounds, and its size to `tail - head`.
    pub fn set_list_bounds(&mut self, head: u64, tail: u64) {
        let mut out = BytesMut::with_capacity(24);
        out.put_u64(tail - head);
        out.put_u64(head);
        out.put_u64(tail);
        self.payload = out.freeze();
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(META_HEADER_LEN + self.payload.len());
        out.put_u8(self.kind as u8);
        out.put_u8(self.encoding);
        out.put_u64(self.expire_at);
        out.put_u64(self.version);
        out.put_slice(&self.payload);
        out.freeze()
    }

    /// Decodes a stored value; `None` means the bytes are not a valid record
    /// (treated as corruption by the caller).
    pub fn decode(bytes: Bytes) -> Option<Meta> {
        let header = decode_header(&bytes)?;
        Some(Meta {
            kind: header.kind,
            encoding: bytes[1],
            expire_at: header.expire_at,
            version: header.version,
            payload: bytes.slice(META_HEADER_LEN..),
        })
    }
}

pub fn read_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(buf)
}

pub fn read_u32(bytes: &[u8]) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(buf)
}

pub fn meta_key(ns: u32, key: &[u8]) -> Bytes {
    meta_key_in_slot(ns, key_slot(key), key)
}

pub fn meta_key_in_slot(ns: u32, slot: u16, key: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(MAX_SLOT_PREFIX_LEN + key.len());
    put_ns(&mut out, ns);
    out.put_u16(slot);
    out.put_slice(key);
    out.freeze()
}

/// Namespaces below this take one byte.
const NS_ONE_BYTE_BELOW: u32 = 0xC0;
/// Namespaces below this (and from [`NS_ONE_BYTE_BELOW`]) take two bytes,
/// the first in `0xC0..=0xFE`.
const NS_TWO_BYTES_BELOW: u32 = NS_ONE_BYTE_BELOW + (0x3F << 8);
/// The first byte of a namespace written as `0xFF | ns u32`.
const NS_WIDE: u8 = 0xFF;
const MAX_NS_LEN: usize = 5;
const MAX_SLOT_PREFIX_LEN: usize = MAX_NS_LEN + 2;

/// Writes `ns` in 1, 2 or 5 bytes; the first byte tells how many, and byte
/// order stays numeric order.
///
/// Why not a plain u32: fjall keeps a key of up to 20 bytes inline and
/// compares the first 4 bytes of longer ones before following a pointer.
/// With a one-byte namespace those 4 bytes hold the slot, which differs
/// between most keys, so the memtable's skip list and the blocks' binary
/// searches rarely touch another cache line; and a 16-byte key such as
/// `key:000000123456` fits inline altogether.
fn put_ns(out: &mut BytesMut, ns: u32) {
    if ns < NS_ONE_BYTE_BELOW {
        out.put_u8(ns as u8);
    } else if ns < NS_TWO_BYTES_BELOW {
        let offset = ns - NS_ONE_BYTE_BELOW;
        out.put_u8(NS_ONE_BYTE_BELOW as u8 + (offset >> 8) as u8);
        out.put_u8(offset as u8);
    } else {
        out.put_u8(NS_WIDE);
        out.put_u32(ns);
    }
}

/// Reads a namespace [`put_ns`] wrote: (ns, bytes it took).
fn read_ns(raw: &[u8]) -> Option<(u32, usize)> {
    let first = *raw.first()?;
    if u32::from(first) < NS_ONE_BYTE_BELOW {
        Some((u32::from(first), 1))
    } else if first != NS_WIDE {
        let low = *raw.get(1)?;
        let offset = u32::from(first - NS_ONE_BYTE_BELOW as u8) << 8 | u32::from(low);
        Some((NS_ONE_BYTE_BELOW + offset, 2))
    } else {
        Some((read_u32(raw.get(1..5)?), 5))
    }
}

/// The prefix shared by the meta keys of one hash slot of a namespace.
pub fn slot_prefix(ns: u32, slot: u16) -> Bytes {
    let mut out = BytesMut::with_capacity(MAX_SLOT_PREFIX_LEN);
    put_ns(&mut out, ns);
    out.put_u16(slot);
    out.freeze()
}

/// The prefix shared by every meta and data key of a namespace.
pub fn ns_prefix(ns: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(MAX_NS_LEN);
    put_ns(&mut out, ns);
    out.freeze()
}

/// Reads the `ns | slot` a meta or data key starts with: (ns, slot, the
/// length of that prefix).
fn read_slot_prefix(raw: &[u8]) -> Option<(u32, u16, usize)> {
    let (ns, len) = read_ns(raw)?;
    let slot = raw.get(len..len + 2)?;
    Some((ns, u16::from_be_bytes([slot[0], slot[1]]), len + 2))
}

/// Splits a meta key into (ns, slot, user key).
pub fn split_meta_key(raw: &Bytes) -> Option<(u32, u16, Bytes)> {
    let (ns, slot, len) = read_slot_prefix(raw)?;
    Some((ns, slot, raw.slice(len..)))
}

/// The prefix shared by the members of one version of a collection:
/// `ns | slot | key len u32 | key | version`. The length makes the prefix of
/// one (key, version) never a prefix of another's.
pub fn data_prefix(ns: u32, key: &[u8], version: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(MAX_SLOT_PREFIX_LEN + 4 + key.len() + 8);
    put_ns(&mut out, ns);
    out.put_u16(key_slot(key));
    out.put_u32(key.len() as u32);
    out.put_slice(key);
    out.put_u64(version);
    out.freeze()
}

/// The (ns, user key) a member's data key belongs to.
pub fn split_data_key(raw: &[u8]) -> Option<(u32, &[u8])> {
    let (ns, _slot, start) = read_slot_prefix(raw)?;
    let len = read_u32(raw.get(start..start + 4)?) as usize;
    let start = start + 4;
    Some((ns, raw.get(start..start + len)?))
}

pub fn expire_key(expire_at: u64, ns: u32, key: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + MAX_SLOT_PREFIX_LEN + key.len());
    out.put_u64(expire_at);
    out.put_slice(&meta_key(ns, key));
    out.freeze()
}

/// Splits an expire key into (expire_at, ns, user key).
pub fn split_expire_key(raw: &Bytes) -> Option<(u64, u32, Bytes)> {
    if raw.len() < 8 {
        return None;
    }
    let (ns, _slot, key) = split_meta_key(&raw.slice(8..))?;
    Some((read_u64(raw), ns, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn meta_keys_of_one_slot_are_contiguous() {
        let a = meta_key(7, b"{tag}a");
        let b = meta_key(7, b"{tag}b");
        assert_eq!(a[..3], b[..3]);
        assert!(a.starts_with(&slot_prefix(7, key_slot(b"{tag}"))));
        assert!(a < b);
        assert!(meta_key(7, b"zzz") < meta_key(8, b"a"));
    }

    quickcheck! {
        fn meta_round_trips(expire_at: u64, version: u64, payload: Vec<u8>) -> bool {
            let meta = Meta { kind: KeyType::String, encoding: 0, expire_at, version, payload: payload.into() };
            Meta::decode(meta.encode()) == Some(meta)
        }

        fn expire_key_round_trips(at: u64, ns: u32, key: Vec<u8>) -> bool {
            split_expire_key(&expire_key(at, ns, &key)) == Some((at, ns, Bytes::from(key)))
        }

        fn namespaces_round_trip_in_numeric_order(a: u32, b: u32, key: Vec<u8>) -> bool {
            let (x, y) = (meta_key(a, &key), meta_key(b, &key));
            let x_back = split_meta_key(&x).map(|(ns, _, k)| (ns, k));
            x_back == Some((a, Bytes::from(key.clone())))
                && a.cmp(&b) == ns_prefix(a).cmp(&ns_prefix(b))
                && (a == b || !(x.starts_with(&ns_prefix(b)) || y.starts_with(&ns_prefix(a))))
        }

        fn expire_keys_sort_by_time(a: u64, b: u64, key: Vec<u8>) -> bool {
            (a < b) == (expire_key(a, 1, &key) < expire_key(b, 1, &key))
        }
    }

    quickcheck! {
        fn score_bytes_sort_like_scores(a: f64, b: f64) -> bool {
            if a.is_nan() || b.is_nan() {
                return true;
            }
            let (x, y) = (score_bytes(a), score_bytes(b));
            a.partial_cmp(&b) == Some(x.cmp(&y))
                && score_from_bytes(&x) == Some(if a == 0.0 { 0.0 } else { a })
        }
    }

    #[test]
    fn infinities_and_zeros_order_like_redis_scores() {
        let order = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
        ];
        let bytes: Vec<[u8; 8]> = order.iter().map(|s| score_bytes(*s)).collect();
        assert!(bytes.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(score_bytes(-0.0), score_bytes(0.0));
        assert!(score_from_bytes(&score_bytes(-0.0)).is_some_and(|s| s.is_sign_positive()));
        assert_eq!(score_from_bytes(b"short"), None);
    }

    #[test]
    fn namespaces_take_one_two_or_five_bytes_at_the_edges() {
        for (ns, len) in [
            (0, 1),
            (0xBF, 1),
            (0xC0, 2),
            (16319, 2),
            (16320, 5),
            (u32::MAX, 5),
        ] {
            let prefix = ns_prefix(ns);
            assert_eq!(
                (prefix.len(), read_ns(&prefix)),
                (len, Some((ns, len))),
                "ns {ns}"
            );
        }
        let edges = [0, 0xBF, 0xC0, 0xC1, 0x1BF, 16319, 16320, u32::MAX].map(ns_prefix);
        assert!(edges.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(read_ns(&[0xC5]), None);
        assert_eq!(read_ns(&[NS_WIDE, 0, 0]), None);
    }

    #[test]
    fn data_prefixes_never_nest() {
        let a = data_prefix(1, b"ab", 7);
        let b = data_prefix(1, b"a", 7);
        assert!(!a.starts_with(&b) && !b.starts_with(&a));
        assert!(!data_prefix(1, b"k", 7).starts_with(&data_prefix(1, b"k", 8)));
        assert_eq!(data_prefix(3, b"k", 1)[..3], meta_key(3, b"k")[..3]);
        assert_eq!(
            split_data_key(&data_prefix(300, b"key", 1)),
            Some((300, &b"key"[..]))
        );
    }

    #[test]
    fn collection_meta_keeps_its_size() {
        let mut meta = Meta::collection(KeyType::Hash, 9);
        assert_eq!(meta.size(), 0);
        meta.set_size(1 << 40);
        let back = Meta::decode(meta.encode()).expect("decode");
        assert_eq!(back.size(), 1 << 40);
        assert!(back.is_collection());
    }

    #[test]
    fn truncated_meta_is_rejected() {
        assert_eq!(Meta::decode(Bytes::from_static(b"\x00\x00")), None);
        let mut bad_type = Meta::string(Bytes::new(), 0).encode().to_vec();
        bad_type[0] = 200;
        assert_eq!(Meta::decode(bad_type.into()), None);
    }
}
