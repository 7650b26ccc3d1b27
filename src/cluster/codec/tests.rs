use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

use super::*;

// ---- generators -------------------------------------------------------------

fn gen_node_id(g: &mut Gen) -> NodeId {
    let hex = b"0123456789abcdef";
    let text: Vec<u8> = (0..NodeId::LEN)
        .map(|_| *g.choose(hex).unwrap_or(&b'0'))
        .collect();
    NodeId::parse(&text).expect("generated hex is valid")
}

/// Empty, a few ranges, random bits or everything: the shapes that occur.
fn gen_slots(g: &mut Gen) -> SlotSet {
    let mut slots = SlotSet::new();
    match u8::arbitrary(g) % 4 {
        0 => {}
        1 => {
            for _ in 0..u8::arbitrary(g) % 5 {
                let start = u16::arbitrary(g) % 16384;
                let len = u16::arbitrary(g) % 3000;
                for slot in start..start.saturating_add(len).min(16384) {
                    slots.insert(slot);
                }
            }
        }
        2 => {
            let mut bytes = [0u8; SlotSet::BYTES];
            for byte in &mut bytes {
                *byte = u8::arbitrary(g);
            }
            slots = SlotSet::from_bytes(&bytes);
        }
        _ => slots = SlotSet::from_bytes(&[0xff; SlotSet::BYTES]),
    }
    slots
}

/// An arbitrary (possibly non-ASCII) string of at most `max` bytes.
fn gen_string(g: &mut Gen, max: usize) -> String {
    let mut out = String::new();
    for c in String::arbitrary(g).chars() {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

fn gen_ip(g: &mut Gen) -> String {
    let samples = [
        "",
        "127.0.0.1",
        "10.0.0.17",
        "::1",
        "2001:db8::ff00:42:8329",
    ];
    if bool::arbitrary(g) {
        samples[usize::arbitrary(g) % samples.len()].to_string()
    } else {
        gen_string(g, MAX_IP_LEN)
    }
}

fn gen_flags(g: &mut Gen) -> NodeFlags {
    NodeFlags::from_bits(u16::arbitrary(g))
}

fn gen_gossip(g: &mut Gen) -> Vec<Gossip> {
    let count = usize::arbitrary(g) % 12;
    (0..count)
        .map(|_| Gossip {
            node: gen_node_id(g),
            ping_sent_ago_ms: u64::arbitrary(g),
            pong_received_ago_ms: u64::arbitrary(g),
            ip: gen_ip(g),
            port: u16::arbitrary(g),
            bus_port: u16::arbitrary(g),
            flags: gen_flags(g),
        })
        .collect()
}

impl Arbitrary for Message {
    fn arbitrary(g: &mut Gen) -> Message {
        let header = Header {
            sender: gen_node_id(g),
            current_epoch: u64::arbitrary(g),
            config_epoch: u64::arbitrary(g),
            repl_offset: u64::arbitrary(g),
            slots: gen_slots(g),
            master: bool::arbitrary(g).then(|| gen_node_id(g)),
            ip: gen_ip(g),
            port: u16::arbitrary(g),
            bus_port: u16::arbitrary(g),
            hostname: gen_string(g, MAX_HOSTNAME_LEN),
            shard_id: gen_node_id(g),
            flags: gen_flags(g),
            state_fail: bool::arbitrary(g),
            paused: bool::arbitrary(g),
            force_ack: bool::arbitrary(g),
        };
        let body = match u8::arbitrary(g) % 10 {
            0 => Body::Ping {
                gossip: gen_gossip(g),
            },
            1 => Body::Pong {
                gossip: gen_gossip(g),
            },
            2 => Body::Meet {
                gossip: gen_gossip(g),
            },
            3 => Body::Fail {
                node: gen_node_id(g),
            },
            4 | 5 => Body::Publish {
                sharded: bool::arbitrary(g),
                channel: Vec::arbitrary(g),
                message: Vec::arbitrary(g),
            },
            6 => Body::FailoverAuthRequest,
            7 => Body::FailoverAuthAck,
            8 => Body::Update {
                node: gen_node_id(g),
                config_epoch: u64::arbitrary(g),
                slots: gen_slots(g),
            },
            _ => Body::MfStart,
        };
        Message { header, body }
    }
}

fn encoded(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(msg, &mut out);
    out
}

fn qc() -> QuickCheck {
    QuickCheck::new().tests(300)
}

// ---- properties -------------------------------------------------------------

#[test]
fn round_trip() {
    fn prop(msg: Message) -> bool {
        let bytes = encoded(&msg);
        bytes.len() == encoded_len(&msg) && decode(&bytes) == Ok(Some((msg, bytes.len())))
    }
    qc().quickcheck(prop as fn(Message) -> bool);
}

/// Decoding only looks at its own frame, whatever follows it.
#[test]
fn decode_ignores_what_follows() {
    fn prop(msg: Message, tail: Vec<u8>) -> bool {
        let mut bytes = encoded(&msg);
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        decode(&bytes) == Ok(Some((msg, len)))
    }
    qc().quickcheck(prop as fn(Message, Vec<u8>) -> bool);
}

/// A stream cut into arbitrary chunks, decoded the way the link driver does
/// it (append, decode until `None`, drop what was consumed).
#[test]
fn chunked_stream() {
    fn prop(msgs: Vec<Message>, cuts: Vec<u16>) -> bool {
        let msgs: Vec<Message> = msgs.into_iter().take(5).collect();
        let mut stream = Vec::new();
        for msg in &msgs {
            encode(msg, &mut stream);
        }
        let mut decoded = Vec::new();
        let mut buf = Vec::new();
        let mut rest = &stream[..];
        let mut cuts = cuts.into_iter().cycle();
        while !rest.is_empty() {
            let n = (usize::from(cuts.next().unwrap_or(u16::MAX)) % 3000 + 1).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            buf.extend_from_slice(chunk);
            loop {
                match decode(&buf) {
                    Ok(Some((msg, used))) => {
                        decoded.push(msg);
                        buf.drain(..used);
                    }
                    Ok(None) => break,
                    Err(_) => return false,
                }
            }
        }
        buf.is_empty() && decoded == msgs
    }
    qc().quickcheck(prop as fn(Vec<Message>, Vec<u16>) -> bool);
}

/// Any single corrupted byte is caught; a corrupted length may also just
/// look like "need more bytes".
#[test]
fn corruption_is_detected() {
    fn prop(msg: Message, at: usize, xor: u8) -> TestResult {
        if xor == 0 {
            return TestResult::discard();
        }
        let mut bytes = encoded(&msg);
        let at = at % bytes.len();
        bytes[at] ^= xor;
        TestResult::from_bool(match decode(&bytes) {
            Err(_) => true,
            Ok(None) => (6..10).contains(&at),
            Ok(Some(_)) => false,
        })
    }
    qc().quickcheck(prop as fn(Message, usize, u8) -> TestResult);
}

#[test]
fn truncated_frames_need_more() {
    fn prop(msg: Message, cut: usize) -> bool {
        let bytes = encoded(&msg);
        decode(&bytes[..cut % bytes.len()]) == Ok(None)
    }
    qc().quickcheck(prop as fn(Message, usize) -> bool);
}

/// Arbitrary payloads, and valid payloads with a byte changed and the frame
/// resealed, behind a valid prefix and checksum: never a panic, and whatever
/// decodes survives another round trip (a poor man's fuzzer).
#[test]
fn sealed_garbage() {
    fn check(bytes: &[u8]) -> bool {
        match decode(bytes) {
            Ok(Some((msg, used))) => {
                let again = encoded(&msg);
                used == bytes.len() && decode(&again) == Ok(Some((msg, again.len())))
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }
    fn prop(kind: u8, payload: Vec<u8>, msg: Message, at: usize, byte: u8) -> bool {
        let kinds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10];
        let mut garbage = prefix(kinds[usize::from(kind) % kinds.len()]);
        garbage.extend_from_slice(&payload);
        let mut mutated = encoded(&msg);
        mutated.truncate(mutated.len() - CHECKSUM_LEN);
        let at = PREFIX_LEN + at % (mutated.len() - PREFIX_LEN);
        mutated[at] = byte;
        check(&seal(garbage)) && check(&seal(mutated))
    }
    qc().quickcheck(prop as fn(u8, Vec<u8>, Message, usize, u8) -> bool);
}

// ---- one test per error -----------------------------------------------------

fn sample() -> Message {
    let id = |c: u8| NodeId::parse(&[c; 40]).expect("hex");
    Message {
        header: Header {
            sender: id(b'a'),
            current_epoch: 7,
            config_epoch: 3,
            repl_offset: 1234,
            slots: SlotSet::new(),
            master: None,
            ip: "10.0.0.1".to_string(),
            port: 6379,
            bus_port: 16379,
            hostname: String::new(),
            shard_id: id(b'b'),
            flags: NodeFlags::MASTER,
            state_fail: false,
            paused: false,
            force_ack: false,
        },
        body: Body::Ping {
            gossip: vec![Gossip {
                node: id(b'c'),
                ping_sent_ago_ms: 0,
                pong_received_ago_ms: 10,
                ip: "10.0.0.2".to_string(),
                port: 6380,
                bus_port: 16380,
                flags: NodeFlags::REPLICA,
            }],
        },
    }
}

/// Offsets in `sample()`'s frame.
const SENDER: usize = PREFIX_LEN;
const MASTER_BYTE: usize = PREFIX_LEN + 40 + 24 + SlotSet::BYTES;
const IP_LEN: usize = MASTER_BYTE + 1;
const IP: usize = IP_LEN + 2;
const FLAGS: usize = IP + 8 + 4 + 2 + 40;
const BOOLS: usize = FLAGS + 2;
const GOSSIP_COUNT: usize = BOOLS + 1;

fn prefix(kind: u8) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&[VERSION, kind, 0, 0, 0, 0]);
    bytes
}

/// Sets the length field and appends the checksum.
fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let total = (bytes.len() + CHECKSUM_LEN) as u32;
    bytes[6..10].copy_from_slice(&total.to_be_bytes());
    let crc = crc32(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes
}

/// `sample()`'s frame with `edit` applied before sealing.
fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = encoded(&sample());
    bytes.truncate(bytes.len() - CHECKSUM_LEN);
    edit(&mut bytes);
    seal(bytes)
}

#[test]
fn sample_offsets_are_right() {
    let bytes = encoded(&sample());
    assert_eq!(&bytes[IP..IP + 8], b"10.0.0.1");
    assert_eq!(bytes[BOOLS], 0);
    assert_eq!(&bytes[GOSSIP_COUNT..GOSSIP_COUNT + 2], &[0, 1]);
}

#[test]
fn crc32_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn bad_magic() {
    assert_eq!(decode(b"X"), Err(DecodeError::BadMagic));
    assert_eq!(decode(b"RSbx\x01\x00"), Err(DecodeError::BadMagic));
    assert_eq!(decode(b"RSb"), Ok(None));
    assert_eq!(decode(b""), Ok(None));
}

#[test]
fn unsupported_version() {
    let mut bytes = encoded(&sample());
    bytes[4] = 2;
    assert_eq!(decode(&bytes[..5]), Err(DecodeError::UnsupportedVersion(2)));
}

#[test]
fn unknown_kind() {
    for kind in [9, 11, 255] {
        assert_eq!(decode(&prefix(kind)), Err(DecodeError::UnknownKind(kind)));
    }
}

#[test]
fn length_too_small() {
    let mut bytes = prefix(kind::PING);
    bytes[9] = 13;
    assert_eq!(decode(&bytes), Err(DecodeError::LengthTooSmall(13)));
}

#[test]
fn length_too_large_is_rejected_before_buffering() {
    let mut bytes = prefix(kind::PUBLISH);
    let total = MAX_FRAME_LEN as u32 + 1;
    bytes[6..10].copy_from_slice(&total.to_be_bytes());
    assert_eq!(decode(&bytes), Err(DecodeError::LengthTooLarge(total)));
    bytes[6..10].copy_from_slice(&(total - 1).to_be_bytes());
    assert_eq!(decode(&bytes), Ok(None));
}

#[test]
fn checksum_mismatch() {
    let mut bytes = encoded(&sample());
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        decode(&bytes),
        Err(DecodeError::ChecksumMismatch { .. })
    ));
}

#[test]
fn truncated_field() {
    let bytes = seal([prefix(kind::PING), vec![b'a'; 10]].concat());
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::Truncated {
            field: "header.sender"
        })
    );
    // Claims two gossip entries but carries one.
    let bytes = edited(|b| b[GOSSIP_COUNT + 1] = 2);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::Truncated {
            field: "gossip.node"
        })
    );
}

#[test]
fn bad_node_id() {
    let bytes = edited(|b| b[SENDER + 39] = b'g');
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadNodeId {
            field: "header.sender"
        })
    );
}

#[test]
fn uppercase_node_ids_are_accepted() {
    let bytes = edited(|b| b[SENDER..SENDER + 40].copy_from_slice(&[b'A'; 40]));
    let (msg, _) = decode(&bytes).unwrap().unwrap();
    assert_eq!(msg.header.sender, NodeId::parse(&[b'a'; 40]).unwrap());
}

#[test]
fn string_not_utf8() {
    let bytes = edited(|b| b[IP] = 0xff);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::NotUtf8 { field: "header.ip" })
    );
}

#[test]
fn string_too_long() {
    let bytes = edited(|b| b[IP_LEN + 1] = 47);
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::StringTooLong {
            field: "header.ip",
            len: 47,
            max: MAX_IP_LEN
        })
    );
}

#[test]
fn invalid_values() {
    let cases = [
        (MASTER_BYTE, 2, "header.master", 2),
        (FLAGS, 0x04, "header.flags", 0x0401),
        (BOOLS, 0x08, "header.bools", 0x08),
    ];
    for (at, byte, field, value) in cases {
        let bytes = edited(|b| b[at] = byte);
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::InvalidValue { field, value }),
            "{field}"
        );
    }
}

#[test]
fn trailing_bytes() {
    let bytes = edited(|b| b.extend_from_slice(b"xyz"));
    assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes(3)));
}

#[test]
fn oversized_strings_are_capped_on_a_char_boundary() {
    let mut msg = sample();
    msg.header.ip = "é".repeat(30); // 60 bytes
    msg.header.hostname = "h".repeat(300);
    let (decoded, _) = decode(&encoded(&msg)).unwrap().unwrap();
    assert_eq!(decoded.header.ip, "é".repeat(23));
    assert_eq!(decoded.header.hostname, "h".repeat(MAX_HOSTNAME_LEN));
}

#[test]
fn errors_display_on_one_line() {
    let errors = [
        DecodeError::BadMagic,
        DecodeError::UnsupportedVersion(2),
        DecodeError::UnknownKind(9),
        DecodeError::LengthTooSmall(3),
        DecodeError::LengthTooLarge(u32::MAX),
        DecodeError::ChecksumMismatch {
            declared: 1,
            computed: 2,
        },
        DecodeError::Truncated { field: "x" },
        DecodeError::BadNodeId { field: "x" },
        DecodeError::NotUtf8 { field: "x" },
        DecodeError::StringTooLong {
            field: "x",
            len: 3,
            max: 2,
        },
        DecodeError::InvalidValue {
            field: "x",
            value: 2,
        },
        DecodeError::TrailingBytes(1),
    ];
    for e in errors {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
    }
    assert_eq!(
        DecodeError::ChecksumMismatch {
            declared: 1,
            computed: 0xabcdef
        }
        .to_string(),
        "checksum mismatch (frame says 0x00000001, computed 0x00abcdef)"
    );
}
