//! Redstone's own cluster-bus wire format for [`Message`]: pure, no I/O.
//!
//! We do not speak Redis' `clusterMsg` layout; peers are other Redstone nodes.
//! A frame is
//!
//! ```text
//! "RSbu" | version u8 | kind u8 | total length u32 BE | payload | CRC32 u32 BE
//! ```
//!
//! where `total length` counts the whole frame and the CRC32 (IEEE) covers
//! every byte before it. The payload is the [`Header`] followed by the body
//! fields of `kind`; all integers are big-endian, node ids are their 40 ASCII
//! hex bytes, strings are a length prefix plus UTF-8 bytes.
//!
//! [`decode`] is incremental: it returns `Ok(None)` until a whole frame is
//! buffered, so a stream cut into any chunks decodes the same. It rejects
//! anything malformed with a [`DecodeError`]; the driver then drops the link,
//! so there is no resynchronisation. Every length is checked against the
//! frame before it is used, so a hostile peer cannot make us allocate more
//! than the frame it actually sent (itself capped at [`MAX_FRAME_LEN`]).

use std::fmt;

use super::message::{Body, Gossip, Header, Message};
use super::{NodeFlags, NodeId, SlotSet};

pub const MAGIC: [u8; 4] = *b"RSbu";
pub const VERSION: u8 = 1;
/// Magic, version, kind and total length.
pub const PREFIX_LEN: usize = 10;
pub const CHECKSUM_LEN: usize = 4;
/// Largest payload we accept: gossip is a few KiB, so this is for PUBLISH.
pub const MAX_PAYLOAD_LEN: usize = 8 * 1024 * 1024;
pub const MAX_FRAME_LEN: usize = PREFIX_LEN + MAX_PAYLOAD_LEN + CHECKSUM_LEN;
/// Longest textual IPv6 address (`INET6_ADDRSTRLEN` - 1).
pub const MAX_IP_LEN: usize = 46;
/// Redis' limit for `cluster-announce-hostname`.
pub const MAX_HOSTNAME_LEN: usize = 255;

/// Body kinds, numbered as Redis numbers its `CLUSTERMSG_TYPE_*`.
mod kind {
    pub const PING: u8 = 0;
    pub const PONG: u8 = 1;
    pub const MEET: u8 = 2;
    pub const FAIL: u8 = 3;
    pub const PUBLISH: u8 = 4;
    pub const AUTH_REQUEST: u8 = 5;
    pub const AUTH_ACK: u8 = 6;
    pub const UPDATE: u8 = 7;
    pub const MF_START: u8 = 8;
    pub const PUBLISH_SHARD: u8 = 10;

    pub const fn is_known(kind: u8) -> bool {
        kind <= MF_START || kind == PUBLISH_SHARD
    }
}

/// Header booleans, packed into one byte; other bits must be zero.
const STATE_FAIL: u8 = 1 << 0;
const PAUSED: u8 = 1 << 1;
const FORCE_ACK: u8 = 1 << 2;

/// Bytes of a gossip entry with empty ip: node, two u64, ip length, two
/// ports, flags. Bounds how many entries a payload can really hold.
const MIN_GOSSIP_LEN: usize = NodeId::LEN + 8 + 8 + 2 + 2 + 2 + 2;

/// Why a frame was rejected. `field` names say which part was malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u8),
    UnknownKind(u8),
    /// The declared total length cannot even hold the prefix and checksum.
    LengthTooSmall(u32),
    LengthTooLarge(u32),
    ChecksumMismatch {
        declared: u32,
        computed: u32,
    },
    /// The payload ended in the middle of `field`.
    Truncated {
        field: &'static str,
    },
    /// `field` is not 40 hex characters.
    BadNodeId {
        field: &'static str,
    },
    NotUtf8 {
        field: &'static str,
    },
    StringTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A presence byte, flag word or bool byte with undefined bits set.
    InvalidValue {
        field: &'static str,
        value: u64,
    },
    /// The body ended before the frame's payload did.
    TrailingBytes(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadMagic => write!(f, "bad magic (not a Redstone bus frame)"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported bus version {v}"),
            DecodeError::UnknownKind(k) => write!(f, "unknown message kind {k}"),
            DecodeError::LengthTooSmall(len) => write!(
                f,
                "frame length {len} too small (minimum {})",
                PREFIX_LEN + CHECKSUM_LEN
            ),
            DecodeError::LengthTooLarge(len) => {
                write!(f, "frame length {len} too large (maximum {MAX_FRAME_LEN})")
            }
            DecodeError::ChecksumMismatch { declared, computed } => write!(
                f,
                "checksum mismatch (frame says {declared:#010x}, computed {computed:#010x})"
            ),
            DecodeError::Truncated { field } => write!(f, "truncated field {field}"),
            DecodeError::BadNodeId { field } => {
                write!(f, "bad node id in {field} (want 40 hex characters)")
            }
            DecodeError::NotUtf8 { field } => write!(f, "{field} is not UTF-8"),
            DecodeError::StringTooLong { field, len, max } => {
                write!(f, "{field} is {len} bytes long (maximum {max})")
            }
            DecodeError::InvalidValue { field, value } => {
                write!(f, "invalid value {value:#x} in {field}")
            }
            DecodeError::TrailingBytes(n) => write!(f, "{n} trailing bytes inside the frame"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// CRC-32/IEEE (as zlib, PNG, Ethernet), table-driven; the table is built at
/// compile time. A `static`, not a `const`: an unoptimised build copies a
/// `const` array onto the stack at every use, 1 KiB per byte checked, which
/// made the codec dominate the debug-built simulator.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    let crc = bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    });
    !crc
}

/// Appends `msg` as one frame to `out`.
///
/// Strings longer than the caps ([`MAX_IP_LEN`], [`MAX_HOSTNAME_LEN`]) are cut
/// at the cap (on a character boundary) so the frame always decodes; callers
/// validate addresses and hostnames long before they reach the bus. A PUBLISH
/// larger than [`MAX_PAYLOAD_LEN`] yields a frame peers reject — check
/// [`encoded_len`] first if that can happen.
pub fn encode(msg: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind_of(&msg.body));
    out.extend_from_slice(&[0; 4]); // total length, patched below
    encode_header(&msg.header, out);
    match &msg.body {
        Body::Ping { gossip } | Body::Pong { gossip } | Body::Meet { gossip } => {
            // More than u16::MAX entries never happens (Redis sends ~1/10 of
            // the table); extra entries are dropped rather than miscounted.
            let count = u16::try_from(gossip.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&count.to_be_bytes());
            for entry in gossip.iter().take(usize::from(count)) {
                encode_gossip(entry, out);
            }
        }
        Body::Fail { node } => out.extend_from_slice(node.as_bytes()),
        Body::Publish {
            channel, message, ..
        } => {
            put_bytes32(out, channel);
            put_bytes32(out, message);
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
        Body::Update {
            node,
            config_epoch,
            slots,
        } => {
            out.extend_from_slice(node.as_bytes());
            out.extend_from_slice(&config_epoch.to_be_bytes());
            out.extend_from_slice(slots.as_bytes());
        }
    }
    // An oversized frame gets a length the decoder rejects instead of a
    // wrapped-around one.
    let total = u32::try_from(out.len() - start + CHECKSUM_LEN).unwrap_or(u32::MAX);
    out[start + 6..start + 10].copy_from_slice(&total.to_be_bytes());
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The number of bytes [`encode`] appends for `msg`.
pub fn encoded_len(msg: &Message) -> usize {
    let h = &msg.header;
    let header = NodeId::LEN * 2
        + 8 * 3
        + SlotSet::BYTES
        + 1
        + h.master.map_or(0, |_| NodeId::LEN)
        + 2
        + capped(&h.ip, MAX_IP_LEN).len()
        + 2 * 2
        + 2
        + capped(&h.hostname, MAX_HOSTNAME_LEN).len()
        + 2
        + 1;
    let body = match &msg.body {
        Body::Ping { gossip } | Body::Pong { gossip } | Body::Meet { gossip } => {
            2 + gossip
                .iter()
                .take(usize::from(u16::MAX))
                .map(|g| MIN_GOSSIP_LEN + capped(&g.ip, MAX_IP_LEN).len())
                .sum::<usize>()
        }
        Body::Fail { .. } => NodeId::LEN,
        Body::Publish {
            channel, message, ..
        } => 4 + channel.len() + 4 + message.len(),
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => 0,
        Body::Update { .. } => NodeId::LEN + 8 + SlotSet::BYTES,
    };
    PREFIX_LEN + header + body + CHECKSUM_LEN
}

fn kind_of(body: &Body) -> u8 {
    match body {
        Body::Ping { .. } => kind::PING,
        Body::Pong { .. } => kind::PONG,
        Body::Meet { .. } => kind::MEET,
        Body::Fail { .. } => kind::FAIL,
        Body::Publish { sharded: false, .. } => kind::PUBLISH,
        Body::Publish { sharded: true, .. } => kind::PUBLISH_SHARD,
        Body::FailoverAuthRequest => kind::AUTH_REQUEST,
        Body::FailoverAuthAck => kind::AUTH_ACK,
        Body::Update { .. } => kind::UPDATE,
        Body::MfStart => kind::MF_START,
    }
}

fn encode_header(h: &Header, out: &mut Vec<u8>) {
    out.extend_from_slice(h.sender.as_bytes());
    out.extend_from_slice(&h.current_epoch.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.to_be_bytes());
    out.extend_from_slice(&h.repl_offset.to_be_bytes());
    out.extend_from_slice(h.slots.as_bytes());
    match &h.master {
        Some(master) => {
            out.push(1);
            out.extend_from_slice(master.as_bytes());
        }
        None => out.push(0),
    }
    put_str16(out, capped(&h.ip, MAX_IP_LEN));
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&h.bus_port.to_be_bytes());
    put_str16(out, capped(&h.hostname, MAX_HOSTNAME_LEN));
    out.extend_from_slice(h.shard_id.as_bytes());
    out.extend_from_slice(&h.flags.bits().to_be_bytes());
    let mut bools = 0;
    for (set, bit) in [
        (h.state_fail, STATE_FAIL),
        (h.paused, PAUSED),
        (h.force_ack, FORCE_ACK),
    ] {
        if set {
            bools |= bit;
        }
    }
    out.push(bools);
}

fn encode_gossip(g: &Gossip, out: &mut Vec<u8>) {
    out.extend_from_slice(g.node.as_bytes());
    out.extend_from_slice(&g.ping_sent_ago_ms.to_be_bytes());
    out.extend_from_slice(&g.pong_received_ago_ms.to_be_bytes());
    put_str16(out, capped(&g.ip, MAX_IP_LEN));
    out.extend_from_slice(&g.port.to_be_bytes());
    out.extend_from_slice(&g.bus_port.to_be_bytes());
    out.extend_from_slice(&g.flags.bits().to_be_bytes());
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn capped(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Callers pass strings already `capped` to ≤ 255 bytes.
fn put_str16(out: &mut Vec<u8>, text: &str) {
    let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&text.as_bytes()[..usize::from(len)]);
}

fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    // Beyond 4 GiB the frame is already far over MAX_FRAME_LEN and rejected.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..bytes.len().min(len as usize)]);
}

/// Decodes the frame at the start of `buf`.
///
/// `Ok(None)`: `buf` is a valid beginning of a frame but more bytes are
/// needed. `Ok(Some((msg, consumed)))`: the first `consumed` bytes were one
/// frame. Prefix fields are checked as soon as they arrive so garbage is
/// rejected without waiting for a (possibly huge) declared length.
pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, DecodeError> {
    let seen = buf.len().min(MAGIC.len());
    if buf[..seen] != MAGIC[..seen] {
        return Err(DecodeError::BadMagic);
    }
    if let Some(&version) = buf.get(4) {
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
    }
    if let Some(&kind) = buf.get(5) {
        if !kind::is_known(kind) {
            return Err(DecodeError::UnknownKind(kind));
        }
    }
    let Some(len_bytes) = buf.get(6..PREFIX_LEN) else {
        return Ok(None);
    };
    let declared = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let total = declared as usize;
    if total < PREFIX_LEN + CHECKSUM_LEN {
        return Err(DecodeError::LengthTooSmall(declared));
    }
    if total > MAX_FRAME_LEN {
        return Err(DecodeError::LengthTooLarge(declared));
    }
    let Some(frame) = buf.get(..total) else {
        return Ok(None);
    };
    let (covered, checksum) = frame.split_at(total - CHECKSUM_LEN);
    let declared_crc = u32::from_be_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
    let computed = crc32(covered);
    if declared_crc != computed {
        return Err(DecodeError::ChecksumMismatch {
            declared: declared_crc,
            computed,
        });
    }

    let mut r = Reader(&covered[PREFIX_LEN..]);
    let header = decode_header(&mut r)?;
    let body = match frame[5] {
        kind::PING => Body::Ping {
            gossip: decode_gossip_list(&mut r)?,
        },
        kind::PONG => Body::Pong {
            gossip: decode_gossip_list(&mut r)?,
        },
        kind::MEET => Body::Meet {
            gossip: decode_gossip_list(&mut r)?,
        },
        kind::FAIL => Body::Fail {
            node: r.node_id("fail.node")?,
        },
        k @ (kind::PUBLISH | kind::PUBLISH_SHARD) => Body::Publish {
            sharded: k == kind::PUBLISH_SHARD,
            channel: r.bytes32("publish.channel")?,
            message: r.bytes32("publish.message")?,
        },
        kind::AUTH_REQUEST => Body::FailoverAuthRequest,
        kind::AUTH_ACK => Body::FailoverAuthAck,
        kind::UPDATE => Body::Update {
            node: r.node_id("update.node")?,
            config_epoch: r.u64("update.config_epoch")?,
            slots: r.slots("update.slots")?,
        },
        kind::MF_START => Body::MfStart,
        other => return Err(DecodeError::UnknownKind(other)),
    };
    if !r.0.is_empty() {
        return Err(DecodeError::TrailingBytes(r.0.len()));
    }
    Ok(Some((Message { header, body }, total)))
}

fn decode_header(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
    let sender = r.node_id("header.sender")?;
    let current_epoch = r.u64("header.current_epoch")?;
    let config_epoch = r.u64("header.config_epoch")?;
    let repl_offset = r.u64("header.repl_offset")?;
    let slots = r.slots("header.slots")?;
    let master = match r.u8("header.master")? {
        0 => None,
        1 => Some(r.node_id("header.master")?),
        other => {
            return Err(DecodeError::InvalidValue {
                field: "header.master",
                value: other.into(),
            })
        }
    };
    let ip = r.str16("header.ip", MAX_IP_LEN)?;
    let port = r.u16("header.port")?;
    let bus_port = r.u16("header.bus_port")?;
    let hostname = r.str16("header.hostname", MAX_HOSTNAME_LEN)?;
    let shard_id = r.node_id("header.shard_id")?;
    let flags = r.flags("header.flags")?;
    let bools = r.u8("header.bools")?;
    if bools & !(STATE_FAIL | PAUSED | FORCE_ACK) != 0 {
        return Err(DecodeError::InvalidValue {
            field: "header.bools",
            value: bools.into(),
        });
    }
    Ok(Header {
        sender,
        current_epoch,
        config_epoch,
        repl_offset,
        slots,
        master,
        ip,
        port,
        bus_port,
        hostname,
        shard_id,
        flags,
        state_fail: bools & STATE_FAIL != 0,
        paused: bools & PAUSED != 0,
        force_ack: bools & FORCE_ACK != 0,
    })
}

fn decode_gossip_list(r: &mut Reader<'_>) -> Result<Vec<Gossip>, DecodeError> {
    let count = usize::from(r.u16("gossip.count")?);
    // Trust the count only as far as the payload can back it.
    let mut gossip = Vec::with_capacity(count.min(r.0.len() / MIN_GOSSIP_LEN));
    for _ in 0..count {
        gossip.push(Gossip {
            node: r.node_id("gossip.node")?,
            ping_sent_ago_ms: r.u64("gossip.ping_sent_ago_ms")?,
            pong_received_ago_ms: r.u64("gossip.pong_received_ago_ms")?,
            ip: r.str16("gossip.ip", MAX_IP_LEN)?,
            port: r.u16("gossip.port")?,
            bus_port: r.u16("gossip.bus_port")?,
            flags: r.flags("gossip.flags")?,
        });
    }
    Ok(gossip)
}

/// The unread rest of a checksummed payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Truncated { field });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    fn node_id(&mut self, field: &'static str) -> Result<NodeId, DecodeError> {
        NodeId::parse(self.take(NodeId::LEN, field)?).ok_or(DecodeError::BadNodeId { field })
    }

    fn slots(&mut self, field: &'static str) -> Result<SlotSet, DecodeError> {
        Ok(SlotSet::from_bytes(&self.array(field)?))
    }

    /// Flags outside the defined bits are rejected, not masked, so a frame
    /// decodes to exactly one message.
    fn flags(&mut self, field: &'static str) -> Result<NodeFlags, DecodeError> {
        let bits = self.u16(field)?;
        let flags = NodeFlags::from_bits(bits);
        if flags.bits() != bits {
            return Err(DecodeError::InvalidValue {
                field,
                value: bits.into(),
            });
        }
        Ok(flags)
    }

    fn str16(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if len > max {
            return Err(DecodeError::StringTooLong { field, len, max });
        }
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::NotUtf8 { field })
    }

    fn bytes32(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = u32::from_be_bytes(self.array(field)?) as usize;
        Ok(self.take(len, field)?.to_vec())
    }
}

#[cfg(test)]
mod tests;
