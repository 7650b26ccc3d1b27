//! Redis Cluster, sans-IO: the node table, slots, epochs, gossip, failure
//! detection, elections and config-conflict resolution live in `Node`, a pure
//! state machine driven by `handle_*` inputs and drained through `poll_*`.
//! `codec` turns bus messages into bytes; `nodes_conf` persists a node's view;
//! `shell` is the pure half of a driver (start-up and the drain after each
//! input) that the server's bus and the simulator share.

mod admin;
pub mod codec;
mod cron;
mod error;
mod failover;
pub mod message;
mod migration;
pub mod node;
pub mod nodes_conf;
mod receive;
pub mod routing;
pub mod shell;
#[cfg(test)]
mod tests;

pub use error::ClusterError;
pub use migration::SetSlot;
pub use node::{ClusterInfo, Config, Event, FailoverMode, Node, SlotOwner, Transmit};

use std::fmt;

use crate::slot::SLOT_COUNT;

/// A node's name: 40 lowercase hex characters, random, kept for life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 40]);

impl NodeId {
    pub const LEN: usize = 40;

    /// A fresh random id from the caller's RNG (never an ambient one).
    pub fn random(rng: &mut impl rand::Rng) -> NodeId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0u8; 40];
        for byte in &mut id {
            *byte = HEX[rng.random_range(0..16)];
        }
        NodeId(id)
    }

    /// Parses 40 hex characters (either case is accepted, stored lowercase).
    pub fn parse(text: &[u8]) -> Option<NodeId> {
        if text.len() != Self::LEN || !text.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let mut id = [0u8; 40];
        for (out, byte) in id.iter_mut().zip(text) {
            *out = byte.to_ascii_lowercase();
        }
        Some(NodeId(id))
    }

    pub fn as_bytes(&self) -> &[u8; 40] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Only constructed from ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", &self.as_str()[..8])
    }
}

/// Node flags with Redis' names (CLUSTER NODES prints them).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeFlags(u16);

impl NodeFlags {
    pub const MASTER: NodeFlags = NodeFlags(1 << 0);
    pub const REPLICA: NodeFlags = NodeFlags(1 << 1);
    pub const PFAIL: NodeFlags = NodeFlags(1 << 2);
    pub const FAIL: NodeFlags = NodeFlags(1 << 3);
    pub const MYSELF: NodeFlags = NodeFlags(1 << 4);
    pub const HANDSHAKE: NodeFlags = NodeFlags(1 << 5);
    pub const NOADDR: NodeFlags = NodeFlags(1 << 6);
    pub const MEET: NodeFlags = NodeFlags(1 << 7);
    pub const MIGRATE_TO: NodeFlags = NodeFlags(1 << 8);
    pub const NOFAILOVER: NodeFlags = NodeFlags(1 << 9);

    /// In CLUSTER NODES order.
    const NAMES: [(NodeFlags, &'static str); 8] = [
        (NodeFlags::MYSELF, "myself"),
        (NodeFlags::MASTER, "master"),
        (NodeFlags::REPLICA, "slave"),
        (NodeFlags::PFAIL, "fail?"),
        (NodeFlags::FAIL, "fail"),
        (NodeFlags::HANDSHAKE, "handshake"),
        (NodeFlags::NOADDR, "noaddr"),
        (NodeFlags::NOFAILOVER, "nofailover"),
    ];

    pub const fn empty() -> NodeFlags {
        NodeFlags(0)
    }

    pub const fn bits(self) -> u16 {
        self.0
    }

    pub const fn from_bits(bits: u16) -> NodeFlags {
        NodeFlags(bits & 0x3ff)
    }

    pub const fn contains(self, other: NodeFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn insert(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: NodeFlags) {
        self.0 &= !other.0;
    }

    /// `myself,master`, `slave,fail?`, or `noflags` — CLUSTER NODES' column.
    pub fn names(self) -> String {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        if names.is_empty() {
            "noflags".to_string()
        } else {
            names.join(",")
        }
    }

    /// Parses CLUSTER NODES' flag column (unknown names are an error).
    pub fn parse_names(text: &str) -> Option<NodeFlags> {
        let mut flags = NodeFlags::empty();
        if text == "noflags" {
            return Some(flags);
        }
        for name in text.split(',') {
            let (flag, _) = Self::NAMES.iter().find(|(_, n)| *n == name)?;
            flags.insert(*flag);
        }
        Some(flags)
    }
}

impl std::ops::BitOr for NodeFlags {
    type Output = NodeFlags;
    fn bitor(self, rhs: NodeFlags) -> NodeFlags {
        NodeFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names())
    }
}

/// A set of hash slots: a 16384-bit bitmap, as on Redis' bus.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotSet(Box<[u8; SlotSet::BYTES]>);

impl SlotSet {
    pub const BYTES: usize = SLOT_COUNT as usize / 8;

    pub fn new() -> SlotSet {
        SlotSet(Box::new([0; SlotSet::BYTES]))
    }

    pub fn from_bytes(bytes: &[u8; SlotSet::BYTES]) -> SlotSet {
        SlotSet(Box::new(*bytes))
    }

    pub fn as_bytes(&self) -> &[u8; SlotSet::BYTES] {
        &self.0
    }

    pub fn contains(&self, slot: u16) -> bool {
        let slot = usize::from(slot);
        slot < SLOT_COUNT as usize && self.0[slot / 8] & (1 << (slot % 8)) != 0
    }

    /// Panics on a slot ≥ 16384: callers validate slots from the outside.
    pub fn insert(&mut self, slot: u16) {
        assert!(slot < SLOT_COUNT, "slot {slot} out of range");
        let slot = usize::from(slot);
        self.0[slot / 8] |= 1 << (slot % 8);
    }

    pub fn remove(&mut self, slot: u16) {
        assert!(slot < SLOT_COUNT, "slot {slot} out of range");
        let slot = usize::from(slot);
        self.0[slot / 8] &= !(1 << (slot % 8));
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The slots in the set, ascending. Skips empty bytes, so sparse sets
    /// are cheap to walk even in debug builds.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, &byte)| byte != 0)
            .flat_map(|(index, &byte)| {
                (0..8u16)
                    .filter(move |bit| byte & (1 << bit) != 0)
                    .map(move |bit| index as u16 * 8 + bit)
            })
    }

    /// Whether the two sets share a slot.
    pub fn intersects(&self, other: &SlotSet) -> bool {
        self.0.iter().zip(other.0.iter()).any(|(a, b)| a & b != 0)
    }

    /// Maximal runs of consecutive slots, as `(first, last)` inclusive —
    /// the shape CLUSTER NODES, SLOTS and SHARDS print. Walks bytes, and a
    /// full byte extends a run by 8 at once: every nodes.conf save prints
    /// every node's ranges, and slot by slot that was most of the
    /// simulator's time in debug builds.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        fn extend(ranges: &mut Vec<(u16, u16)>, first: u16, last: u16) {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == first => *end = last,
                _ => ranges.push((first, last)),
            }
        }
        let mut ranges: Vec<(u16, u16)> = Vec::new();
        for (index, &byte) in self.0.iter().enumerate() {
            let base = index as u16 * 8;
            match byte {
                0 => {}
                0xff => extend(&mut ranges, base, base + 7),
                _ => {
                    for bit in (0..8u16).filter(|bit| byte & (1 << bit) != 0) {
                        extend(&mut ranges, base + bit, base + bit);
                    }
                }
            }
        }
        ranges
    }
}

impl Default for SlotSet {
    fn default() -> SlotSet {
        SlotSet::new()
    }
}

impl fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.ranges().iter().map(|(a, b)| format!("{a}-{b}")))
            .finish()
    }
}

/// One row of the node table as CLUSTER NODES and nodes.conf show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    /// `cluster-announce-hostname`, empty when unset.
    pub hostname: String,
    pub flags: NodeFlags,
    pub master: Option<NodeId>,
    /// Unix milliseconds of the ping still unanswered, 0 when none.
    pub ping_sent_ms: u64,
    /// Unix milliseconds of the last PONG received.
    pub pong_received_ms: u64,
    pub config_epoch: u64,
    pub connected: bool,
    pub slots: SlotSet,
    /// Slots this node (myself) is migrating to / importing from another node.
    pub migrating: Vec<(u16, NodeId)>,
    pub importing: Vec<(u16, NodeId)>,
}

/// What nodes.conf holds: the whole table plus the epochs and vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    pub nodes: Vec<NodeRecord>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}
