//! Byte layouts of storage keys and metadata values (DESIGN.md §3).
//!
//! - meta key:   `ns u32 | slot u16 | user key`
//! - expire key: `expire_at_ms u64 | ns u32 | slot u16 | user key`
//! - meta value: `type u8 | encoding u8 | expire_at_ms u64 | version u64 | payload`
//!   (a string's payload is its value; a collection's is `size u64`, a
//!   list's `size u64 | head u64 | tail u64`)
//! - data key:   `ns u32 | slot u16 | key len u32 | user key | version u64 | sub key`
//!
//! All integers are big-endian so that byte order is numeric order. `ns` is a
//! namespace id: each logical database maps to one, and FLUSHDB / SWAPDB only
//! change that mapping (see `store.rs`).

use crate::slot::key_slot;
use bytes::{BufMut, Bytes, BytesMut};

pub const NS_LEN: usize = 4;
const META_PREFIX_LEN: usize = NS_LEN + 2;
const META_HEADER_LEN: usize = 2 + 8 + 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    String = 0,
    Hash = 1,
    List = 2,
    Set = 3,
    ZSet = 4,
}

impl KeyType {
    fn from_byte(byte: u8) -> Option<KeyType> {
        Some(match byte {
            0 => KeyType::String,
            1 => KeyType::Hash,
            2 => KeyType::List,
            3 => KeyType::Set,
            4 => KeyType::ZSet,
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
        if bytes.len() < META_HEADER_LEN {
            return None;
        }
        let kind = KeyType::from_byte(bytes[0])?;
        Some(Meta {
            kind,
            encoding: bytes[1],
            expire_at: read_u64(&bytes[2..10]),
            version: read_u64(&bytes[10..18]),
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
    let mut out = BytesMut::with_capacity(META_PREFIX_LEN + key.len());
    out.put_u32(ns);
    out.put_u16(slot);
    out.put_slice(key);
    out.freeze()
}

/// The prefix shared by the meta keys of one hash slot of a namespace.
pub fn slot_prefix(ns: u32, slot: u16) -> [u8; META_PREFIX_LEN] {
    let mut prefix = [0u8; META_PREFIX_LEN];
    prefix[..4].copy_from_slice(&ns.to_be_bytes());
    prefix[4..].copy_from_slice(&slot.to_be_bytes());
    prefix
}

/// The prefix shared by every meta key of a namespace.
pub fn ns_prefix(ns: u32) -> [u8; NS_LEN] {
    ns.to_be_bytes()
}

/// Splits a meta key into (ns, slot, user key).
pub fn split_meta_key(raw: &Bytes) -> Option<(u32, u16, Bytes)> {
    if raw.len() < META_PREFIX_LEN {
        return None;
    }
    let ns = read_u32(raw);
    let slot = u16::from_be_bytes([raw[4], raw[5]]);
    Some((ns, slot, raw.slice(META_PREFIX_LEN..)))
}

/// The prefix shared by the members of one version of a collection:
/// `ns | slot | key len u32 | key | version`. The length makes the prefix of
/// one (key, version) never a prefix of another's.
pub fn data_prefix(ns: u32, key: &[u8], version: u64) -> Bytes {
    let mut out = BytesMut::with_capacity(META_PREFIX_LEN + 4 + key.len() + 8);
    out.put_u32(ns);
    out.put_u16(key_slot(key));
    out.put_u32(key.len() as u32);
    out.put_slice(key);
    out.put_u64(version);
    out.freeze()
}

/// The (ns, user key) a member's data key belongs to.
pub fn split_data_key(raw: &[u8]) -> Option<(u32, &[u8])> {
    let len = raw.get(META_PREFIX_LEN..META_PREFIX_LEN + 4)?;
    let len = read_u32(len) as usize;
    let start = META_PREFIX_LEN + 4;
    Some((read_u32(raw), raw.get(start..start + len)?))
}

pub fn expire_key(expire_at: u64, ns: u32, key: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + META_PREFIX_LEN + key.len());
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
        assert_eq!(a[..6], b[..6]);
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
    fn data_prefixes_never_nest() {
        let a = data_prefix(1, b"ab", 7);
        let b = data_prefix(1, b"a", 7);
        assert!(!a.starts_with(&b) && !b.starts_with(&a));
        assert!(!data_prefix(1, b"k", 7).starts_with(&data_prefix(1, b"k", 8)));
        assert_eq!(data_prefix(3, b"k", 1)[..6], meta_key(3, b"k")[..6]);
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
