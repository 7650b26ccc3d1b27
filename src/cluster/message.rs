//! The messages cluster nodes exchange on the bus, as plain values. They carry
//! what Redis' `clusterMsg` carries (see the Redis Cluster specification);
//! `codec` turns them into bytes and back.

use super::{NodeFlags, NodeId, SlotSet};

/// Every message starts with the sender's view of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub sender: NodeId,
    /// The sender's currentEpoch.
    pub current_epoch: u64,
    /// The sender's configEpoch, or its master's when the sender is a replica.
    pub config_epoch: u64,
    /// Replication offset: a master's own, a replica's processed offset.
    pub repl_offset: u64,
    /// The slots the sender serves (its master's, when it is a replica).
    pub slots: SlotSet,
    /// The sender's master, when the sender is a replica.
    pub master: Option<NodeId>,
    /// Address as the sender announces it; empty means "use the address the
    /// message came from".
    pub ip: String,
    /// Client port (what MOVED redirects name).
    pub port: u16,
    /// Cluster bus port.
    pub bus_port: u16,
    /// `cluster-announce-hostname`, empty when unset.
    pub hostname: String,
    /// The shard the sender belongs to (CLUSTER MYSHARDID / SHARDS).
    pub shard_id: NodeId,
    /// MASTER / REPLICA / NOFAILOVER as the sender sees itself.
    pub flags: NodeFlags,
    /// The sender thinks the cluster is down (`cluster_state:fail`).
    pub state_fail: bool,
    /// Manual failover: the sender (a master) has paused its clients.
    pub paused: bool,
    /// FAILOVER_AUTH_REQUEST: vote even though the master is not FAIL
    /// (manual failover).
    pub force_ack: bool,
}

/// What the sender knows about another node, piggybacked on PING/PONG/MEET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub node: NodeId,
    /// Milliseconds since the sender last pinged it without an answer (0 when
    /// no ping is pending); wall-clock-free, so the receiver needs no
    /// synchronised clock.
    pub ping_sent_ago_ms: u64,
    /// Milliseconds since the sender last got a PONG from it.
    pub pong_received_ago_ms: u64,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    pub flags: NodeFlags,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Ping {
        gossip: Vec<Gossip>,
    },
    Pong {
        gossip: Vec<Gossip>,
    },
    /// A PING that also asks the receiver to add the sender to its table.
    Meet {
        gossip: Vec<Gossip>,
    },
    /// `node` has been marked FAIL; everyone should agree.
    Fail {
        node: NodeId,
    },
    /// PUBLISH (or SPUBLISH when `sharded`) relayed to other nodes.
    Publish {
        sharded: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// A replica asks the masters for a vote in the sender's currentEpoch.
    FailoverAuthRequest,
    /// A master votes for the sender of the request.
    FailoverAuthAck,
    /// "Your view of `node` is stale: it serves `slots` at `config_epoch`."
    Update {
        node: NodeId,
        config_epoch: u64,
        slots: SlotSet,
    },
    /// A replica asks its master to pause clients for a manual failover.
    MfStart,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

impl Body {
    /// The name Redis uses in `CLUSTER INFO`'s `cluster_stats_messages_*`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Body::Ping { .. } => "ping",
            Body::Pong { .. } => "pong",
            Body::Meet { .. } => "meet",
            Body::Fail { .. } => "fail",
            Body::Publish { sharded: false, .. } => "publish",
            Body::Publish { sharded: true, .. } => "publishshard",
            Body::FailoverAuthRequest => "auth-req",
            Body::FailoverAuthAck => "auth-ack",
            Body::Update { .. } => "update",
            Body::MfStart => "mfstart",
        }
    }
}
