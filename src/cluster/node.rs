//! The sans-IO cluster node: the node table, slots, epochs and outputs.
//!
//! `Node` never does IO and never reads a clock: every input carries `now`
//! (milliseconds), randomness comes from a `StdRng` seeded by the caller, and
//! every iteration that can influence behaviour walks a `BTreeMap` or a
//! sorted list, so a run is a pure function of its inputs and seed.
//!
//! Behaviour follows the Redis Cluster specification and Redis 7.0's
//! cluster.c; this file holds the table and the admin commands, `receive`
//! the bus message handling, `cron` the periodic work (pings, failure
//! detection, cluster state) and `failover` elections and votes.

use std::collections::{BTreeMap, VecDeque};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::error::ClusterError;
use super::message::{Body, Header, Message};
use super::{ClusterConfig, NodeFlags, NodeId, NodeRecord, SlotSet};
use crate::slot::SLOT_COUNT;

/// Knobs of the cluster, named after redis.conf's `cluster-*` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `cluster-node-timeout`, milliseconds.
    pub node_timeout: u64,
    /// `cluster-require-full-coverage`.
    pub require_full_coverage: bool,
    /// `cluster-migration-barrier`.
    pub migration_barrier: u32,
    /// `cluster-replica-no-failover`.
    pub replica_no_failover: bool,
    /// The address this node announces (`cluster-announce-ip` or bind).
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    /// `cluster-announce-hostname`, empty when unset.
    pub hostname: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            node_timeout: 15_000,
            require_full_coverage: true,
            migration_barrier: 1,
            replica_no_failover: false,
            ip: "127.0.0.1".to_string(),
            port: 6379,
            bus_port: 16379,
            hostname: String::new(),
        }
    }
}

/// A bus message to send to a node at `ip:bus_port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The receiver's id (a temporary random one while in handshake).
    pub to: NodeId,
    pub ip: String,
    pub bus_port: u16,
    pub message: Message,
}

/// Things the driver must act on or may log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `cluster_state` flipped: when not ok, the driver rejects commands.
    StateChanged {
        ok: bool,
    },
    /// Myself became a replica of `Some(master)` or a master (`None`): the
    /// driver starts or stops replication.
    RoleChanged {
        master: Option<NodeId>,
    },
    /// The slot map changed.
    SlotsChanged,
    /// Myself, still a master, lost these slots to a newer owner (an
    /// UPDATE, a claim with a greater epoch): the driver deletes the keys
    /// it still holds in them (Redis' dirty slots, `delKeysInSlot`).
    SlotsLost {
        slots: Vec<u16>,
    },
    /// A PUBLISH / SPUBLISH relayed from another node, to deliver locally.
    Publish {
        sharded: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// Manual failover on a master: pause client writes until `until`
    /// (milliseconds, same clock as `now`), or resume them when `None`.
    /// Once no write is in flight any more, the driver calls
    /// [`Node::writes_paused`] (with the final offset set): only then does
    /// the replica learn the offset it must reach.
    ClientsPaused {
        until: Option<u64>,
    },
    Log {
        warning: bool,
        text: String,
    },
}

/// CLUSTER FAILOVER's modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverMode {
    /// Wait for the master to pause and for the offsets to match.
    Default,
    /// Start an election at once, even if the master is unreachable.
    Force,
    /// Take the slots with a fresh epoch, without any vote.
    Takeover,
}

/// What CLUSTER INFO prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    pub state_ok: bool,
    pub slots_assigned: usize,
    pub slots_ok: usize,
    pub slots_pfail: usize,
    pub slots_fail: usize,
    pub known_nodes: usize,
    /// Masters serving at least one slot.
    pub size: usize,
    pub current_epoch: u64,
    pub my_epoch: u64,
    pub messages_sent: BTreeMap<&'static str, u64>,
    pub messages_received: BTreeMap<&'static str, u64>,
}

/// Who serves a slot, as MOVED/ASK redirects and CLUSTER SLOTS need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotOwner<'a> {
    pub id: NodeId,
    pub ip: &'a str,
    pub port: u16,
    pub hostname: &'a str,
}

/// Redis' CLUSTER_FAIL_REPORT_VALIDITY_MULT: failure reports expire after
/// this many node timeouts.
pub(crate) const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
/// CLUSTER_FAIL_UNDO_TIME_MULT: a master with slots stays FAIL at least this
/// many node timeouts, so that a replica has time to take over.
pub(crate) const FAIL_UNDO_TIME_MULT: u64 = 2;
/// CLUSTER_MF_TIMEOUT: a manual failover is abandoned after this long.
pub(crate) const MANUAL_FAILOVER_TIMEOUT: u64 = 5_000;
/// How long a forgotten node may not be re-added from gossip.
pub(crate) const BLACKLIST_TTL: u64 = 60_000;
/// clusterCron's period.
pub(crate) const CRON_PERIOD: u64 = 100;

/// One row of the node table (Redis' `clusterNode`), myself included.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    pub hostname: String,
    pub flags: NodeFlags,
    /// For replicas: the master, when known.
    pub master: Option<NodeId>,
    pub config_epoch: u64,
    /// Slots this node serves as far as I know; only masters have any.
    pub slots: SlotSet,
    /// `slots.len()`, cached.
    pub numslots: usize,
    /// Creation time (handshake timeout).
    pub ctime: u64,
    /// Time of the ping still unanswered, 0 when none.
    pub ping_sent: u64,
    pub pong_received: u64,
    /// Last time any message from this node arrived.
    pub data_received: u64,
    /// Whether we consider a "link" open: a PING/MEET was sent on it.
    pub link: bool,
    /// When the link was (re)opened.
    pub link_time: u64,
    pub fail_time: u64,
    /// Last time I voted for a replica of this master.
    pub voted_time: u64,
    /// When this master became orphaned (replica migration), 0 if not.
    pub orphaned_time: u64,
    pub repl_offset: u64,
    /// Masters that reported this node as PFAIL/FAIL, and when.
    pub failure_reports: BTreeMap<NodeId, u64>,
}

impl Entry {
    pub(crate) fn new(id: NodeId, flags: NodeFlags, now: u64) -> Entry {
        Entry {
            id,
            ip: String::new(),
            port: 0,
            bus_port: 0,
            hostname: String::new(),
            flags,
            master: None,
            config_epoch: 0,
            slots: SlotSet::new(),
            numslots: 0,
            ctime: now,
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            link: false,
            link_time: 0,
            fail_time: 0,
            voted_time: 0,
            orphaned_time: 0,
            repl_offset: 0,
            failure_reports: BTreeMap::new(),
        }
    }

    pub(crate) fn is_master(&self) -> bool {
        self.flags.contains(NodeFlags::MASTER)
    }

    pub(crate) fn is_replica(&self) -> bool {
        self.flags.contains(NodeFlags::REPLICA)
    }

    pub(crate) fn in_handshake(&self) -> bool {
        self.flags.contains(NodeFlags::HANDSHAKE)
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.flags.contains(NodeFlags::PFAIL)
    }

    pub(crate) fn failed(&self) -> bool {
        self.flags.contains(NodeFlags::FAIL)
    }

    /// A master serving slots: one of the `size()` masters of the quorum,
    /// with the right to report failures and to vote.
    pub(crate) fn is_voting_master(&self) -> bool {
        self.is_master() && self.numslots > 0
    }

    /// Neither PFAIL nor FAIL.
    pub(crate) fn reachable(&self) -> bool {
        !self.timed_out() && !self.failed()
    }
}

/// An election in progress (Redis' `failover_auth_*` fields).
#[derive(Clone, Debug, Default)]
pub(crate) struct Election {
    /// When the election starts (or started).
    pub time: u64,
    pub count: usize,
    pub sent: bool,
    pub rank: usize,
    pub epoch: u64,
}

/// A manual failover in progress (Redis' `mf_*` fields).
#[derive(Clone, Debug, Default)]
pub(crate) struct ManualFailover {
    /// Deadline; 0 when no manual failover is in progress.
    pub end: u64,
    /// Replica side: the election may start.
    pub can_start: bool,
    /// Master side: the replica that asked.
    pub replica: Option<NodeId>,
    /// Master side: the server says writes are paused and the last one is
    /// in my offset ([`Node::writes_paused`]); my pings say so from now on.
    pub paused: bool,
    /// Replica side: the paused master's offset, once announced.
    pub master_offset: Option<u64>,
    /// Replica side: when MFSTART was last sent (repeated every second
    /// until the master announces its offset: a bus link may have dropped
    /// it).
    pub asked_at: u64,
}

impl SyncMark {
    /// Whether a restart from the save that made `synced` would lose
    /// nothing of this state that the cluster cannot give back.
    fn covered_by(&self, synced: &SyncMark) -> bool {
        let same = (self.current_epoch, self.last_vote_epoch, self.config_epoch)
            == (
                synced.current_epoch,
                synced.last_vote_epoch,
                synced.config_epoch,
            )
            && (self.myself, self.master) == (synced.myself, synced.master);
        same && (self.known.iter()).all(|id| synced.known.binary_search(id).is_ok())
    }
}

/// The persisted state a power cut must not take back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyncMark {
    current_epoch: u64,
    last_vote_epoch: u64,
    config_epoch: u64,
    myself: NodeId,
    master: Option<NodeId>,
    known: Vec<NodeId>,
}

/// The sans-IO cluster state machine of one node.
pub struct Node {
    pub(crate) config: Config,
    pub(crate) rng: StdRng,
    pub(crate) myself: NodeId,
    pub(crate) nodes: BTreeMap<NodeId, Entry>,
    /// Who serves each slot in my view (Redis' `cluster->slots`).
    pub(crate) slot_owner: Vec<Option<NodeId>>,
    /// Slots myself serves and is moving to another master (Redis'
    /// `migrating_slots_to`), and slots it is taking from one
    /// (`importing_slots_from`): CLUSTER SETSLOT, see `migration.rs`.
    pub(crate) migrating: BTreeMap<u16, NodeId>,
    pub(crate) importing: BTreeMap<u16, NodeId>,
    pub(crate) current_epoch: u64,
    pub(crate) last_vote_epoch: u64,
    pub(crate) state_ok: bool,
    pub(crate) first_call_time: u64,
    pub(crate) among_minority_time: Option<u64>,
    pub(crate) now: u64,
    pub(crate) next_cron: u64,
    pub(crate) iteration: u64,
    pub(crate) blacklist: BTreeMap<NodeId, u64>,
    pub(crate) repl_offset: u64,
    pub(crate) election: Election,
    pub(crate) manual: ManualFailover,
    /// Why the last election could not start, to log changes only.
    pub(crate) cant_failover_reason: u8,
    pub(crate) save_pending: bool,
    /// What the last synced save held of the state that must be synced
    /// (`poll_sync_needed`); `None` before the first.
    pub(crate) synced: Option<SyncMark>,
    /// CLUSTER ADDSLOTS claimed slots since the last save: synced too.
    pub(crate) slots_claimed: bool,
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) stats_sent: BTreeMap<&'static str, u64>,
    pub(crate) stats_received: BTreeMap<&'static str, u64>,
}

impl Node {
    /// A fresh node: a random id, a master with no slots, epochs 0.
    pub fn new(config: Config, seed: u64, now: u64) -> Node {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = NodeId::random(&mut rng);
        let mut me = Entry::new(id, NodeFlags::MYSELF | NodeFlags::MASTER, now);
        me.ip = config.ip.clone();
        me.port = config.port;
        me.bus_port = config.bus_port;
        me.hostname = config.hostname.clone();
        let mut nodes = BTreeMap::new();
        nodes.insert(id, me);
        let mut node = Node {
            config,
            rng,
            myself: id,
            nodes,
            slot_owner: vec![None; usize::from(SLOT_COUNT)],
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            state_ok: false,
            first_call_time: now,
            among_minority_time: None,
            now,
            next_cron: now,
            iteration: 0,
            blacklist: BTreeMap::new(),
            repl_offset: 0,
            election: Election::default(),
            manual: ManualFailover::default(),
            cant_failover_reason: 0,
            save_pending: true,
            synced: None,
            slots_claimed: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats_sent: BTreeMap::new(),
            stats_received: BTreeMap::new(),
        };
        node.log(false, format!("No cluster configuration found, I'm {}", id));
        node
    }

    /// Restarts from what nodes.conf held. Peers start disconnected and not
    /// failed; they are pinged at the first cron.
    pub fn load(
        config: Config,
        saved: ClusterConfig,
        seed: u64,
        now: u64,
    ) -> Result<Node, ClusterError> {
        let mut mine = saved
            .nodes
            .iter()
            .filter(|record| record.flags.contains(NodeFlags::MYSELF));
        let me = match (mine.next(), mine.next()) {
            (Some(me), None) => me.id,
            _ => {
                return Err(ClusterError::new(
                    "ERR nodes.conf must describe exactly one node flagged myself",
                ))
            }
        };
        let mut node = Node::new(config, seed, now);
        node.nodes.clear();
        node.myself = me;
        node.current_epoch = saved.current_epoch;
        node.last_vote_epoch = saved.last_vote_epoch;
        let kept = NodeFlags::MASTER | NodeFlags::REPLICA | NodeFlags::NOFAILOVER;
        for record in &saved.nodes {
            if record.flags.contains(NodeFlags::HANDSHAKE) || node.nodes.contains_key(&record.id) {
                continue;
            }
            let mut flags = NodeFlags::from_bits(record.flags.bits() & kept.bits());
            if flags.contains(NodeFlags::MASTER) && flags.contains(NodeFlags::REPLICA) {
                flags.remove(NodeFlags::REPLICA);
            }
            if !flags.contains(NodeFlags::REPLICA) {
                flags.insert(NodeFlags::MASTER);
            }
            if record.id == me {
                flags.insert(NodeFlags::MYSELF);
            }
            let mut entry = Entry::new(record.id, flags, now);
            entry.ip = record.ip.clone();
            entry.port = record.port;
            entry.bus_port = record.bus_port;
            entry.hostname = record.hostname.clone();
            entry.config_epoch = record.config_epoch;
            if record.id == me {
                entry.ip = node.config.ip.clone();
                entry.port = node.config.port;
                entry.bus_port = node.config.bus_port;
                entry.hostname = node.config.hostname.clone();
            }
            node.nodes.insert(record.id, entry);
        }
        // Masters and slots once every node exists.
        for record in &saved.nodes {
            if !node.nodes.contains_key(&record.id) {
                continue;
            }
            let master = record
                .master
                .filter(|m| *m != record.id && node.nodes.contains_key(m));
            let is_replica = node.nodes.get(&record.id).is_some_and(Entry::is_replica);
            if is_replica {
                if let Some(entry) = node.nodes.get_mut(&record.id) {
                    entry.master = master;
                }
                if let Some(m) = master.and_then(|m| node.nodes.get_mut(&m)) {
                    m.flags.insert(NodeFlags::MIGRATE_TO);
                }
            } else {
                for slot in record.slots.iter() {
                    node.assign_slot(slot, record.id);
                }
            }
            if record.id == me {
                let known = |(_, id): &&(u16, NodeId)| node.nodes.contains_key(id);
                let migrating = record.migrating.iter().filter(known).copied().collect();
                let importing = record.importing.iter().filter(known).copied().collect();
                (node.migrating, node.importing) = (migrating, importing);
            }
        }
        if node.current_epoch < node.max_config_epoch() {
            node.current_epoch = node.max_config_epoch();
        }
        node.events.clear();
        node.log(false, format!("Node configuration loaded, I'm {}", me));
        node.save_pending = false;
        node.synced = Some(node.sync_mark());
        node.debug_check();
        Ok(node)
    }

    // ----- inputs -----

    /// Advances the node's notion of time (never backwards).
    pub(crate) fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// The replication offset myself has (as master) or has processed (as
    /// replica); used to rank replicas in elections and for manual failover.
    pub fn set_repl_offset(&mut self, offset: u64) {
        self.repl_offset = offset;
        let me = self.myself;
        if let Some(entry) = self.nodes.get_mut(&me) {
            entry.repl_offset = offset;
        }
    }

    /// Relays a PUBLISH to every node, or an SPUBLISH to my shard.
    pub fn publish(&mut self, sharded: bool, channel: &[u8], message: &[u8]) {
        let body = Body::Publish {
            sharded,
            channel: channel.to_vec(),
            message: message.to_vec(),
        };
        let shard = self.my_master_or_me();
        let targets: Vec<NodeId> = self
            .peers()
            .filter(|e| !e.in_handshake())
            .filter(|e| !sharded || e.id == shard || e.master == Some(shard))
            .map(|e| e.id)
            .collect();
        for id in targets {
            self.send(id, body.clone());
        }
    }

    // ----- outputs -----

    /// The configuration to persist, when it changed since the last call.
    pub fn poll_save(&mut self) -> Option<ClusterConfig> {
        if !self.save_pending {
            return None;
        }
        self.save_pending = false;
        Some(self.persisted())
    }

    /// Whether the save just polled must reach the disk (fsync) before the
    /// transmits that follow: it changes an epoch, the vote, or who myself
    /// is or follows, or it adds a node myself knows, or slots myself
    /// claimed by CLUSTER ADDSLOTS: what elections rely on after a power
    /// cut, and what no peer could teach a restarted node (a node only
    /// learns a stranger through MEET). Other changes (slot migration
    /// states, slots handed over by SETSLOT or learned from peers, peers'
    /// flags and addresses) are written without a sync, as Redis does: a
    /// power cut may take them back, as it takes the last second of data
    /// under `appendfsync everysec`.
    pub fn poll_sync_needed(&mut self) -> bool {
        let mark = self.sync_mark();
        let claimed = std::mem::take(&mut self.slots_claimed);
        let covered = (self.synced.as_ref()).is_some_and(|synced| mark.covered_by(synced));
        if claimed || !covered {
            self.synced = Some(mark);
        }
        claimed || !covered
    }

    fn sync_mark(&self) -> SyncMark {
        SyncMark {
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
            config_epoch: self.me().config_epoch,
            myself: self.myself,
            master: self.master_of_myself(),
            known: (self.nodes.values())
                .filter(|e| !e.in_handshake())
                .map(|e| e.id)
                .collect(),
        }
    }

    /// What nodes.conf holds (handshake nodes have temporary ids: left out).
    pub fn persisted(&self) -> ClusterConfig {
        ClusterConfig {
            nodes: self
                .records()
                .into_iter()
                .filter(|r| !r.flags.contains(NodeFlags::HANDSHAKE))
                .collect(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- getters -----

    pub fn myself(&self) -> NodeId {
        self.myself
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The client address (ip, port) of a known node: where a replica
    /// connects to replicate its master.
    pub fn address_of(&self, id: NodeId) -> Option<(String, u16)> {
        self.nodes.get(&id).map(|node| (node.ip.clone(), node.port))
    }

    /// CONFIG SET of a `cluster-*` option: timeouts apply from the next
    /// cron, announced addresses from the next message.
    pub fn set_config(&mut self, config: Config) {
        if let Some(me) = self.nodes.get_mut(&self.myself) {
            me.ip = config.ip.clone();
            me.port = config.port;
            me.bus_port = config.bus_port;
            me.hostname = config.hostname.clone();
        }
        if config != self.config {
            self.save_pending = true;
        }
        self.config = config;
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn state_ok(&self) -> bool {
        self.state_ok
    }

    /// The slots myself serves (empty for a replica).
    pub fn my_slots(&self) -> &SlotSet {
        &self.me().slots
    }

    /// My configEpoch (CLUSTER INFO's cluster_my_epoch).
    pub fn my_config_epoch(&self) -> u64 {
        self.me().config_epoch
    }

    /// Whether `id` is in my table past its handshake.
    pub fn knows(&self, id: NodeId) -> bool {
        self.is_known(id)
    }

    /// Number of nodes in my table, handshakes included, myself included.
    pub fn known_nodes(&self) -> usize {
        self.nodes.len()
    }

    pub fn master_of_myself(&self) -> Option<NodeId> {
        let me = self.me();
        if me.is_replica() {
            me.master
        } else {
            None
        }
    }

    /// CLUSTER NODES rows: myself first, then by id.
    pub fn records(&self) -> Vec<NodeRecord> {
        let mut rows = vec![self.record(self.me())];
        rows.extend(self.peers().map(|e| self.record(e)));
        rows
    }

    fn record(&self, e: &Entry) -> NodeRecord {
        let myself = e.id == self.myself;
        NodeRecord {
            id: e.id,
            ip: e.ip.clone(),
            port: e.port,
            bus_port: e.bus_port,
            hostname: e.hostname.clone(),
            flags: e.flags,
            master: if e.is_replica() { e.master } else { None },
            ping_sent_ms: e.ping_sent,
            pong_received_ms: e.pong_received,
            config_epoch: self.node_epoch(e),
            connected: myself || (e.link && e.data_received >= e.link_time),
            slots: e.slots.clone(),
            migrating: if myself {
                pairs(&self.migrating)
            } else {
                Vec::new()
            },
            importing: if myself {
                pairs(&self.importing)
            } else {
                Vec::new()
            },
        }
    }

    /// Redis' `nodeEpoch`: a replica shows its master's configEpoch.
    fn node_epoch(&self, e: &Entry) -> u64 {
        match e.master.filter(|_| e.is_replica()) {
            Some(master) => self
                .nodes
                .get(&master)
                .map_or(e.config_epoch, |m| m.config_epoch),
            None => e.config_epoch,
        }
    }

    /// Who serves `slot` in my view.
    pub fn slot_owner(&self, slot: u16) -> Option<SlotOwner<'_>> {
        let id = (*self.slot_owner.get(usize::from(slot))?)?;
        let e = self.nodes.get(&id)?;
        Some(SlotOwner {
            id,
            ip: &e.ip,
            port: e.port,
            hostname: &e.hostname,
        })
    }

    /// CLUSTER INFO's fields.
    pub fn info(&self) -> ClusterInfo {
        let (mut assigned, mut ok, mut pfail, mut fail) = (0, 0, 0, 0);
        for owner in self.slot_owner.iter().flatten() {
            assigned += 1;
            match self.nodes.get(owner) {
                Some(e) if e.failed() => fail += 1,
                Some(e) if e.timed_out() => pfail += 1,
                _ => ok += 1,
            }
        }
        ClusterInfo {
            state_ok: self.state_ok,
            slots_assigned: assigned,
            slots_ok: ok,
            slots_pfail: pfail,
            slots_fail: fail,
            known_nodes: self.nodes.len(),
            size: self.size(),
            current_epoch: self.current_epoch,
            my_epoch: self.me().config_epoch,
            messages_sent: self.stats_sent.clone(),
            messages_received: self.stats_received.clone(),
        }
    }

    // ----- table helpers -----

    pub(crate) fn me(&self) -> &Entry {
        self.nodes
            .get(&self.myself)
            .expect("myself is always in the table")
    }

    pub(crate) fn me_mut(&mut self) -> &mut Entry {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always in the table")
    }

    /// Every entry but myself, by id.
    pub(crate) fn peers(&self) -> impl Iterator<Item = &Entry> + '_ {
        let me = self.myself;
        self.nodes.values().filter(move |e| e.id != me)
    }

    /// The master whose slots myself serves or replicates.
    pub(crate) fn my_master_or_me(&self) -> NodeId {
        self.master_of_myself().unwrap_or(self.myself)
    }

    pub(crate) fn lookup(&self, id: &[u8]) -> Result<NodeId, ClusterError> {
        NodeId::parse(id)
            .filter(|id| self.nodes.contains_key(id))
            .ok_or_else(|| {
                ClusterError::new(format!("ERR Unknown node {}", String::from_utf8_lossy(id)))
            })
    }

    /// A random id no entry has.
    pub(crate) fn fresh_id(&mut self) -> NodeId {
        loop {
            let id = NodeId::random(&mut self.rng);
            if !self.nodes.contains_key(&id) {
                return id;
            }
        }
    }

    /// Masters serving at least one slot (Redis' `cluster->size`).
    pub(crate) fn size(&self) -> usize {
        self.nodes.values().filter(|e| e.is_voting_master()).count()
    }

    pub(crate) fn max_config_epoch(&self) -> u64 {
        self.nodes
            .values()
            .map(|e| e.config_epoch)
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn oldest_valid_report(&self) -> u64 {
        self.now
            .saturating_sub(self.config.node_timeout * FAIL_REPORT_VALIDITY_MULT)
    }

    /// Replicas of `master` in my table, by id.
    pub(crate) fn replicas_of(&self, master: NodeId) -> impl Iterator<Item = &Entry> + '_ {
        self.nodes
            .values()
            .filter(move |e| e.is_replica() && e.master == Some(master))
    }

    /// Gives `slot` to `owner`, taking it from whoever served it.
    pub(crate) fn assign_slot(&mut self, slot: u16, owner: NodeId) {
        self.unassign_slot(slot);
        if let Some(e) = self.nodes.get_mut(&owner) {
            e.slots.insert(slot);
            e.numslots += 1;
            self.slot_owner[usize::from(slot)] = Some(owner);
        }
        self.save_pending = true;
    }

    pub(crate) fn unassign_slot(&mut self, slot: u16) {
        if let Some(old) = self.slot_owner[usize::from(slot)].take() {
            if let Some(e) = self.nodes.get_mut(&old) {
                e.slots.remove(slot);
                e.numslots -= 1;
            }
            self.save_pending = true;
        }
    }

    /// clusterDelNodeSlots.
    pub(crate) fn del_node_slots(&mut self, id: NodeId) -> usize {
        let slots: Vec<u16> = self
            .nodes
            .get(&id)
            .map_or(Vec::new(), |e| e.slots.iter().collect());
        for &slot in &slots {
            self.unassign_slot(slot);
        }
        slots.len()
    }

    pub(crate) fn slots_changed(&mut self) {
        self.save_pending = true;
        self.events.push_back(Event::SlotsChanged);
        self.debug_check();
    }

    /// clusterDelNode: unassigns its slots, drops its failure reports and
    /// orphans its replicas.
    pub(crate) fn del_node(&mut self, id: NodeId) {
        if id == self.myself {
            return;
        }
        if self.del_node_slots(id) > 0 {
            self.events.push_back(Event::SlotsChanged);
        }
        self.migrating.retain(|_, to| *to != id);
        self.importing.retain(|_, from| *from != id);
        for e in self.nodes.values_mut() {
            e.failure_reports.remove(&id);
            if e.master == Some(id) {
                e.master = None;
            }
        }
        if self.manual.replica == Some(id) {
            self.reset_manual_failover();
        }
        self.nodes.remove(&id);
        self.save_pending = true;
    }

    /// clusterSetNodeAsMaster.
    pub(crate) fn set_as_master(&mut self, id: NodeId) {
        let myself = self.myself;
        let Some(e) = self.nodes.get_mut(&id) else {
            return;
        };
        if e.is_master() {
            return;
        }
        let was_replicating = e.master.take().is_some();
        e.flags.remove(NodeFlags::REPLICA);
        e.flags.insert(NodeFlags::MASTER);
        if was_replicating && id != myself {
            e.flags.insert(NodeFlags::MIGRATE_TO);
        }
        self.save_pending = true;
    }

    /// clusterSetMaster: myself becomes a replica of `master`.
    pub(crate) fn set_my_master(&mut self, master: NodeId) {
        if master == self.myself || !self.nodes.contains_key(&master) {
            return;
        }
        let was_master = self.me().is_master();
        if was_master {
            if self.del_node_slots(self.myself) > 0 {
                self.events.push_back(Event::SlotsChanged);
            }
            let me = self.me_mut();
            me.flags.remove(NodeFlags::MASTER);
            me.flags.remove(NodeFlags::MIGRATE_TO);
            me.flags.insert(NodeFlags::REPLICA);
            // clusterCloseAllSlots: a replica moves no slot.
            self.migrating.clear();
            self.importing.clear();
        }
        self.me_mut().master = Some(master);
        if let Some(m) = self.nodes.get_mut(&master) {
            m.flags.insert(NodeFlags::MIGRATE_TO);
        }
        self.reset_manual_failover();
        self.save_pending = true;
        self.log(false, format!("Configured as a replica of {master}"));
        self.events.push_back(Event::RoleChanged {
            master: Some(master),
        });
    }

    // ----- sending -----

    /// My header: my view of myself (my master's slots and epoch when I am
    /// a replica).
    pub(crate) fn header(&self) -> Header {
        let me = self.me();
        let master = if me.is_replica() {
            me.master.and_then(|m| self.nodes.get(&m))
        } else {
            Some(me)
        };
        Header {
            sender: self.myself,
            current_epoch: self.current_epoch,
            config_epoch: master.map_or(0, |m| m.config_epoch),
            repl_offset: self.repl_offset,
            slots: master.map_or_else(SlotSet::new, |m| m.slots.clone()),
            master: if me.is_replica() { me.master } else { None },
            ip: self.config.ip.clone(),
            port: self.config.port,
            bus_port: self.config.bus_port,
            hostname: self.config.hostname.clone(),
            shard_id: self.my_master_or_me(),
            flags: NodeFlags::from_bits(
                me.flags.bits()
                    & (NodeFlags::MASTER | NodeFlags::REPLICA | NodeFlags::NOFAILOVER).bits(),
            ),
            state_fail: !self.state_ok,
            paused: me.is_master() && self.manual.end != 0 && self.manual.paused,
            force_ack: false,
        }
    }

    /// Queues `body` for the node `to` (known by id).
    pub(crate) fn send(&mut self, to: NodeId, body: Body) {
        let header = self.header();
        self.send_with_header(to, header, body);
    }

    pub(crate) fn send_with_header(&mut self, to: NodeId, header: Header, body: Body) {
        let now = self.now;
        let Some(e) = self.nodes.get_mut(&to) else {
            return;
        };
        if matches!(body, Body::Ping { .. }) && e.ping_sent == 0 {
            e.ping_sent = now;
        }
        let (ip, bus_port) = (e.ip.clone(), e.bus_port);
        self.send_to_address(to, ip, bus_port, Message { header, body });
    }

    pub(crate) fn send_to_address(
        &mut self,
        to: NodeId,
        ip: String,
        bus_port: u16,
        message: Message,
    ) {
        *self.stats_sent.entry(message.body.kind_name()).or_insert(0) += 1;
        self.transmits.push_back(Transmit {
            to,
            ip,
            bus_port,
            message,
        });
    }

    /// clusterBroadcastMessage: to every node past the handshake.
    pub(crate) fn broadcast(&mut self, body: Body) {
        let header = self.header();
        let targets: Vec<NodeId> = self
            .peers()
            .filter(|e| !e.in_handshake() && !e.flags.contains(NodeFlags::NOADDR))
            .map(|e| e.id)
            .collect();
        for id in targets {
            self.send_with_header(id, header.clone(), body.clone());
        }
    }

    pub(crate) fn log(&mut self, warning: bool, text: String) {
        self.events.push_back(Event::Log { warning, text });
    }

    /// Internal consistency of the table; cheap enough for debug builds of
    /// the unit tests, skipped in release.
    pub(crate) fn debug_check(&self) {
        if cfg!(debug_assertions) {
            for (id, e) in &self.nodes {
                debug_assert_eq!(*id, e.id);
                debug_assert!(
                    !(e.is_master() && e.is_replica()),
                    "{id} is both master and replica"
                );
                debug_assert!(e.numslots == 0 || e.is_master(), "replica {id} owns slots");
            }
            debug_assert!(self.me().flags.contains(NodeFlags::MYSELF));
        }
    }

    /// Full slot-table check (16384 slots): for tests.
    #[cfg(test)]
    pub(crate) fn check_slot_table(&self) {
        let mut total = 0;
        for (slot, owner) in self.slot_owner.iter().enumerate() {
            if let Some(owner) = owner {
                total += 1;
                assert!(self.nodes[owner].slots.contains(slot as u16));
            }
        }
        assert_eq!(
            total,
            self.nodes.values().map(|e| e.numslots).sum::<usize>()
        );
        for e in self.nodes.values() {
            assert_eq!(e.numslots, e.slots.len());
        }
    }
}

fn pairs(slots: &BTreeMap<u16, NodeId>) -> Vec<(u16, NodeId)> {
    slots.iter().map(|(&slot, &id)| (slot, id)).collect()
}
