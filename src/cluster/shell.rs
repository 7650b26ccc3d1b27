//! The pure half of every cluster driver: how a node starts from its
//! nodes.conf text ([`start`]) and what the I/O around it must do after each
//! input ([`drain`]).
//!
//! The production bus (`server::cluster_bus` and `ClusterHandle::with_node`)
//! and the simulator (`sim/`) both call these two functions, so what the
//! simulator checks is the driver logic that ships: the poll order, the wire
//! codec, the nodes.conf text and the wake-up deadline. What is left to each
//! driver is only the I/O itself: writing a file, moving bytes, sleeping.

use std::fmt;

use super::node::{Config, Event, Node};
use super::nodes_conf::{self, ParseError};
use super::{codec, ClusterError, NodeId};

/// One encoded bus frame and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The receiver's id (a temporary one while in handshake): for the
    /// driver's bookkeeping of links, not for routing.
    pub to: NodeId,
    /// The address the frame is sent to.
    pub ip: String,
    pub bus_port: u16,
    /// One whole frame of `cluster::codec`.
    pub frame: Vec<u8>,
}

/// What the driver must do after an input, in this order: make `save`
/// durable, then send `sends` (in order; frames to one destination must
/// keep their order), then act on `events`, then wake the node at
/// `wake_at`.
///
/// The order of the first two is the one that matters: a transmit may
/// announce state (a vote, a new configEpoch) that a restarted node must not
/// forget, so it may leave only once that state is on disk. A driver that
/// cannot save must not send `sends` at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The full nodes.conf text, when the persisted state changed.
    pub save: Option<String>,
    /// Whether `save` must be synced to the disk before `sends` go
    /// (`Node::poll_sync_needed`), or may stay in the OS' cache.
    pub sync: bool,
    pub sends: Vec<Outgoing>,
    pub events: Vec<Event>,
    /// When to call `Node::handle_timeout` next, on the node's clock
    /// (milliseconds, the same clock as the `now` the node is given).
    pub wake_at: Option<u64>,
}

/// Empties the node's outputs after an input, in the node's documented
/// poll order (`poll_save`, `poll_transmit`, `poll_event`, `poll_timeout`),
/// serialising the saved state as nodes.conf and encoding each message with
/// the wire codec.
pub fn drain(node: &mut Node) -> Plan {
    // `poll_save` hands out the latest state once; nothing older is queued.
    let save = node
        .poll_save()
        .map(|config| nodes_conf::serialize(&config));
    let sync = save.is_some() && node.poll_sync_needed();
    let sends = std::iter::from_fn(|| node.poll_transmit())
        .map(|transmit| {
            let mut frame = Vec::with_capacity(codec::encoded_len(&transmit.message));
            codec::encode(&transmit.message, &mut frame);
            Outgoing {
                to: transmit.to,
                ip: transmit.ip,
                bus_port: transmit.bus_port,
                frame,
            }
        })
        .collect();
    let events = std::iter::from_fn(|| node.poll_event()).collect();
    Plan {
        save,
        sync,
        sends,
        events,
        wake_at: node.poll_timeout(),
    }
}

/// Why a node could not start from its nodes.conf text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The text is not in nodes.conf's format (Redis refuses to start too).
    Corrupt(ParseError),
    /// It parses, but is not a node table a node can load.
    Unloadable(ClusterError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Corrupt(e) => write!(f, "corrupted cluster config file: {e}"),
            StartError::Unloadable(e) => write!(f, "cannot load the cluster config file: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Starts a node from the nodes.conf text it last persisted, or as a fresh
/// node when there is none (`None`, or an empty file: what an interrupted
/// first start leaves). Production start-up and the simulator's restarts
/// both come through here, so a restart in simulation reads the same bytes
/// the real node would.
pub fn start(
    config: Config,
    nodes_conf: Option<&str>,
    seed: u64,
    now: u64,
) -> Result<Node, StartError> {
    match nodes_conf {
        Some(text) if !text.trim().is_empty() => {
            let saved = nodes_conf::parse(text).map_err(StartError::Corrupt)?;
            Node::load(config, saved, seed, now).map_err(StartError::Unloadable)
        }
        _ => Ok(Node::new(config, seed, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::{config, T0};

    #[test]
    fn a_fresh_node_is_saved_and_woken_at_its_own_deadline() {
        let mut node = start(config(0), None, 1, T0).expect("fresh node");
        let plan = drain(&mut node);
        let text = plan.save.expect("a new node's id is persisted at once");
        assert_eq!(nodes_conf::parse(&text), Ok(node.persisted()));
        assert!(plan.sends.is_empty());
        assert_eq!(plan.wake_at, node.poll_timeout());
        assert!(plan.wake_at.is_some());
        // Drained: nothing is handed out twice.
        let again = drain(&mut node);
        assert_eq!(again.save, None);
        assert!(again.events.is_empty());
        assert_eq!(again.wake_at, node.poll_timeout());
    }

    #[test]
    fn the_save_covers_the_state_the_frames_announce() {
        let mut node = start(config(0), None, 1, T0).expect("fresh node");
        drain(&mut node);
        node.add_slots(&[1, 2, 3]).expect("free slots");
        node.set_config_epoch(7).expect("fresh node");
        node.meet(T0, "127.0.0.1", 7001, 17001)
            .expect("valid address");
        // The MEET itself leaves at the next cron.
        node.handle_timeout(T0);
        let plan = drain(&mut node);
        let saved = nodes_conf::parse(plan.save.as_deref().expect("slots changed"))
            .expect("our own text parses");
        let mine = &saved.nodes[0];
        assert_eq!((mine.config_epoch, mine.slots.len()), (7, 3));
        let [meet] = plan.sends.as_slice() else {
            panic!("one MEET expected: {:?}", plan.sends);
        };
        assert_eq!((meet.ip.as_str(), meet.bus_port), ("127.0.0.1", 17001));
        let (message, used) = codec::decode(&meet.frame)
            .expect("our own frame decodes")
            .expect("a whole frame");
        assert_eq!(used, meet.frame.len());
        assert_eq!(message.body.kind_name(), "meet");
        assert_eq!(message.header.config_epoch, mine.config_epoch);
        assert_eq!(message.header.slots, mine.slots);
        assert_eq!(plan.wake_at, node.poll_timeout());
    }

    #[test]
    fn a_restart_from_the_saved_text_keeps_the_identity() {
        let mut node = start(config(0), None, 1, T0).expect("fresh node");
        node.add_slots(&[42]).expect("free slot");
        let text = drain(&mut node).save.expect("saved");
        let restarted = start(config(0), Some(&text), 2, T0 + 5).expect("loads");
        assert_eq!(restarted.myself(), node.myself());
        assert!(restarted.my_slots().contains(42));
        assert_eq!(
            start(config(0), Some("  \n"), 3, T0).map(|n| n.known_nodes()),
            Ok(1),
            "an empty file is a first start"
        );
        assert!(matches!(
            start(config(0), Some("not a node line\n"), 4, T0),
            Err(StartError::Corrupt(_))
        ));
    }
}
