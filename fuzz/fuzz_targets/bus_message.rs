#![no_main]
//! Decodes arbitrary bytes as a cluster-bus frame, twice: as given, and
//! "repaired" (magic, version, declared length and CRC32 made valid) so that
//! the fuzzer explores the payload parser instead of stopping at the
//! checksum. Whatever decodes must survive a round trip: re-encoding gives a
//! frame that decodes to the same message and is consumed whole. (Frames are
//! not byte-identical in general: node ids are accepted in either case and
//! stored lowercase.)
use libfuzzer_sys::fuzz_target;
use redstone::cluster::codec::{crc32, decode, encode, encoded_len, CHECKSUM_LEN, PREFIX_LEN};
use redstone::cluster::message::{Body, Gossip, Header, Message};
use redstone::cluster::{NodeFlags, NodeId, SlotSet};

fn check(data: &[u8]) {
    let Ok(Some((msg, consumed))) = decode(data) else {
        return;
    };
    assert!(consumed <= data.len());
    let mut again = Vec::new();
    encode(&msg, &mut again);
    assert_eq!(again.len(), encoded_len(&msg));
    assert_eq!(decode(&again), Ok(Some((msg, again.len()))));
}

/// A valid frame with two gossip entries: the template the fuzzer edits.
fn template() -> Vec<u8> {
    let id = |c: u8| NodeId::parse(&[c; 40]).unwrap_or_else(|| unreachable!());
    let gossip = |c: u8| Gossip {
        node: id(c),
        ping_sent_ago_ms: 5,
        pong_received_ago_ms: 10,
        ip: "10.0.0.2".to_string(),
        port: 6380,
        bus_port: 16380,
        flags: NodeFlags::REPLICA,
    };
    let message = Message {
        header: Header {
            sender: id(b'a'),
            current_epoch: 7,
            config_epoch: 3,
            repl_offset: 1234,
            slots: SlotSet::new(),
            master: Some(id(b'd')),
            ip: "10.0.0.1".to_string(),
            port: 6379,
            bus_port: 16379,
            hostname: "node".to_string(),
            shard_id: id(b'b'),
            flags: NodeFlags::MASTER,
            state_fail: false,
            paused: false,
            force_ack: false,
        },
        body: Body::Ping { gossip: vec![gossip(b'c'), gossip(b'e')] },
    };
    let mut frame = Vec::new();
    encode(&message, &mut frame);
    frame
}

/// The template with the input written over it: byte 0 picks the message
/// kind, bytes 1-2 the offset in the payload where the rest of the input is
/// written (extending the frame if it runs past the end). The declared length
/// and CRC32 are then made valid, so the fuzzer explores the payload parser
/// instead of stopping at the checksum.
fn repaired(data: &[u8]) -> Vec<u8> {
    let [kind, high, low, rest @ ..] = data else {
        return Vec::new();
    };
    let mut frame = template();
    frame.truncate(frame.len() - CHECKSUM_LEN);
    frame[5] = kind % 12;
    let offset = PREFIX_LEN + usize::from(u16::from_be_bytes([*high, *low])) % (frame.len() - PREFIX_LEN);
    for (i, byte) in rest.iter().enumerate() {
        match frame.get_mut(offset + i) {
            Some(slot) => *slot = *byte,
            None => frame.push(*byte),
        }
    }
    let total = (frame.len() + CHECKSUM_LEN) as u32;
    frame[6..10].copy_from_slice(&total.to_be_bytes());
    let sum = crc32(&frame);
    frame.extend_from_slice(&sum.to_be_bytes());
    frame
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&repaired(data));
});
