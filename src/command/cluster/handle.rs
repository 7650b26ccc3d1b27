//! The running node as commands and the bus driver share it: the sans-IO
//! [`Node`] behind a lock, the routing snapshot connections read without that
//! lock, and the feed the bus driver serves (frames to send, the node's next
//! wake-up).
//!
//! Every change to the node goes through [`ClusterHandle::with_node`], which
//! after the change drains the node with [`shell::drain`] (the same function
//! the simulator drives its nodes with) and carries out the plan in its
//! order: writes nodes.conf if the persisted state changed (so nothing is
//! sent or acknowledged before it is durable), hands the frames to the
//! driver, applies the events, refreshes the routing snapshot and re-arms the
//! driver's wake-up at the node's deadline.

use crate::cluster::node::{Config as NodeConfig, Event, Node};
use crate::cluster::nodes_conf;
use crate::cluster::routing::Routing;
use crate::cluster::shell::{self, Outgoing};
use crate::config::Config;
use crate::sync::{lock, read, watch, write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// A bus link as CLUSTER LINKS shows it, kept up to date by the driver.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    id: u64,
    /// "to" (we connected) or "from" (they connected).
    pub direction: &'static str,
    /// The peer's node id (of an incoming link: once its first message came).
    pub node: String,
    pub created_ms: u64,
}

pub struct ClusterHandle {
    node: Mutex<Node>,
    routing: RwLock<Arc<Routing>>,
    nodes_conf: PathBuf,
    allow_reads_when_down: std::sync::atomic::AtomicBool,
    /// The bus port we listen on (announced ports fall back to it).
    bus_port: u16,
    outbox: mpsc::UnboundedSender<Outgoing>,
    /// The node's next wake-up (`Plan::wake_at`, node clock), watched by
    /// the bus driver so that an input from anywhere re-arms its timer.
    wake: watch::Sender<Option<u64>>,
    /// The last nodes.conf write failed: the next change writes the whole
    /// state again, changed or not, before anything else is sent.
    unsaved: AtomicBool,
    /// The bus links the driver has open, for CLUSTER LINKS.
    links: Mutex<Vec<LinkInfo>>,
    next_link_id: std::sync::atomic::AtomicU64,
    /// What the node's events need of the server (deliver relayed
    /// messages, follow role changes) and what it announces of it (the
    /// replication offset); attached once the server state exists (it is
    /// built after the handle, and holds it).
    hooks: std::sync::OnceLock<ServerHooks>,
}

/// Delivers one relayed message: (sharded, channel, message).
pub type Deliver = Box<dyn Fn(bool, &[u8], &[u8]) + Send + Sync>;
/// Myself became a replica of the master at this client address (ip,
/// port), or a master (`None`).
pub type RoleChanged = Box<dyn Fn(Option<(String, u16)>) + Send + Sync>;

/// The server as the cluster handle drives it.
pub struct ServerHooks {
    pub deliver: Deliver,
    /// Replication follows the node's role.
    pub role_changed: RoleChanged,
    /// This node's replication offset, which its pings announce (replicas
    /// are ranked by it in elections).
    pub repl_offset: Box<dyn Fn() -> u64 + Send + Sync>,
    /// A manual failover pauses writes until a time (`Event::ClientsPaused`)
    /// or ends the pause (`None`); once paused, the server calls
    /// `Node::writes_paused` through the handle.
    pub pause_writes: Box<dyn Fn(Option<u64>) + Send + Sync>,
    /// Deletes the keys of slots a newer owner took (`Event::SlotsLost`).
    pub drop_slots: Box<dyn Fn(Vec<u16>) + Send + Sync>,
    /// Runs a whole-slot migration in the background (CLUSTER
    /// MIGRATESLOTS).
    pub export_slots: Box<dyn Fn(super::super::slot_migration::ExportPlan) + Send + Sync>,
}

/// What the bus driver serves: the frames to send, and the node's next
/// wake-up deadline (re-armed after every input).
pub struct BusFeed {
    pub outgoing: mpsc::UnboundedReceiver<Outgoing>,
    pub wake: watch::Receiver<Option<u64>>,
}

impl ClusterHandle {
    /// Wraps `node`; the returned feed is what the bus must serve.
    pub fn new(
        node: Node,
        nodes_conf: PathBuf,
        allow_reads_when_down: bool,
        bus_port: u16,
    ) -> (ClusterHandle, BusFeed) {
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let (wake, wake_rx) = watch::channel(node.poll_timeout());
        let handle = ClusterHandle {
            node: Mutex::new(node),
            routing: RwLock::new(Arc::new(Routing::empty())),
            nodes_conf,
            allow_reads_when_down: allow_reads_when_down.into(),
            bus_port,
            outbox,
            wake,
            unsaved: AtomicBool::new(false),
            links: Mutex::new(Vec::new()),
            next_link_id: 0.into(),
            hooks: std::sync::OnceLock::new(),
        };
        let feed = BusFeed {
            outgoing,
            wake: wake_rx,
        };
        (handle, feed)
    }

    /// Runs `change` on the node, then carries out what [`shell::drain`]
    /// says (see the module comment). A failure to write nodes.conf is
    /// returned after the change: Redis treats it as fatal for the change
    /// being acknowledged. The frames that followed the failed save are
    /// dropped, never sent ahead of the state they announce; the node's
    /// timers resend what matters, as after a lost message.
    pub fn with_node<T>(&self, change: impl FnOnce(&mut Node) -> T) -> Result<T, String> {
        let mut node = lock(&self.node);
        if let Some(hooks) = self.hooks.get() {
            node.set_repl_offset((hooks.repl_offset)());
        }
        let value = change(&mut node);
        let mut plan = shell::drain(&mut node);
        if self.unsaved.load(Ordering::Relaxed) {
            plan.save = Some(nodes_conf::serialize(&node.persisted()));
            plan.sync = true;
        }
        let saved = plan
            .save
            .as_deref()
            .map_or(Ok(()), |text| self.persist(text, plan.sync));
        if saved.is_ok() {
            for frame in plan.sends {
                let _ = self.outbox.send(frame);
            }
        }
        let mut published = Vec::new();
        let mut role = None;
        let mut pause = None;
        let mut lost = Vec::new();
        for event in plan.events {
            match event {
                Event::Log {
                    warning: true,
                    text,
                } => crate::log::warning(&text),
                Event::Log {
                    warning: false,
                    text,
                } => crate::log::notice(&text),
                Event::Publish {
                    sharded,
                    channel,
                    message,
                } => published.push((sharded, channel, message)),
                Event::RoleChanged { master } => {
                    role = Some(master.and_then(|id| node.address_of(id)));
                }
                Event::ClientsPaused { until } => pause = Some(until),
                Event::SlotsLost { slots } => lost.extend(slots),
                // Routing is refreshed below whatever happened.
                _ => {}
            }
        }
        self.refresh_routing(&node);
        self.wake.send_if_modified(|wake| {
            let changed = *wake != plan.wake_at;
            *wake = plan.wake_at;
            changed
        });
        drop(node);
        // Messages relayed by other nodes reach this node's subscribers
        // outside the node lock.
        if let Some(hooks) = self.hooks.get() {
            for (sharded, channel, message) in published {
                (hooks.deliver)(sharded, &channel, &message);
            }
            if let Some(master) = role {
                (hooks.role_changed)(master);
            }
            if let Some(until) = pause {
                (hooks.pause_writes)(until);
            }
            if !lost.is_empty() {
                (hooks.drop_slots)(lost);
            }
        }
        saved.map(|()| value)
    }

    /// Writes the node's whole persisted state now, whether it changed or
    /// not (start-up, CLUSTER SAVECONFIG). Under the node lock, so it never
    /// overwrites a newer save with an older state.
    pub fn save_config(&self) -> Result<(), String> {
        let node = lock(&self.node);
        self.persist(&nodes_conf::serialize(&node.persisted()), true)
    }

    /// Makes `text` the content of nodes.conf (synced to the disk when
    /// `sync`); the caller holds
    /// the node lock, so saves land in the order of the states they hold.
    /// While saves fail, the node sends nothing (see `with_node`): logged
    /// when that starts and ends, not at every retry.
    fn persist(&self, text: &str, sync: bool) -> Result<(), String> {
        let written = if sync {
            crate::fsutil::write_atomically(&self.nodes_conf, text.as_bytes())
        } else {
            crate::fsutil::write_atomically_unsynced(&self.nodes_conf, text.as_bytes())
        };
        let was_unsaved = self.unsaved.swap(written.is_err(), Ordering::Relaxed);
        match written {
            Ok(()) => {
                if was_unsaved {
                    crate::log::notice("The cluster config is saved again: bus messages resume");
                }
                Ok(())
            }
            Err(e) => {
                let e = format!("Saving the cluster config: {e}");
                if !was_unsaved {
                    crate::log::warning(&format!(
                        "{e}; no cluster bus message is sent until it can be saved"
                    ));
                }
                Err(e)
            }
        }
    }

    /// Gives the handle its hooks into the server, and applies the role
    /// the node has now (a replica restarted from nodes.conf replicates
    /// its master again).
    pub fn attach(&self, hooks: ServerHooks) {
        let master = {
            let node = lock(&self.node);
            node.master_of_myself().and_then(|id| node.address_of(id))
        };
        if master.is_some() {
            (hooks.role_changed)(master);
        }
        let _ = self.hooks.set(hooks);
    }

    /// Starts a whole-slot migration the command checked.
    pub fn start_slot_export(&self, plan: super::super::slot_migration::ExportPlan) {
        if let Some(hooks) = self.hooks.get() {
            (hooks.export_slots)(plan);
        }
    }

    /// Reads the node without changing it.
    pub fn read<T>(&self, look: impl FnOnce(&Node) -> T) -> T {
        look(&lock(&self.node))
    }

    pub fn routing(&self) -> Arc<Routing> {
        read(&self.routing).clone()
    }

    /// Records a link the driver opened (or accepted); returns its handle
    /// for [`ClusterHandle::name_link`] and [`ClusterHandle::close_link`].
    pub fn open_link(&self, direction: &'static str, node: String, created_ms: u64) -> u64 {
        let id = self
            .next_link_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let link = LinkInfo {
            id,
            direction,
            node,
            created_ms,
        };
        lock(&self.links).push(link);
        id
    }

    /// Names the peer of an incoming link once it has said who it is.
    pub fn name_link(&self, id: u64, node: &str) {
        let mut links = lock(&self.links);
        if let Some(link) = links.iter_mut().find(|l| l.id == id && l.node != node) {
            link.node = node.to_string();
        }
    }

    pub fn close_link(&self, id: u64) {
        lock(&self.links).retain(|l| l.id != id);
    }

    /// The open links, for CLUSTER LINKS.
    pub fn links(&self) -> Vec<LinkInfo> {
        lock(&self.links).clone()
    }

    /// Applies CONFIG SET of `cluster-*` options to the running node.
    pub fn apply_config(&self, config: &Config) -> Result<(), String> {
        self.allow_reads_when_down.store(
            config.cluster.allow_reads_when_down,
            std::sync::atomic::Ordering::Relaxed,
        );
        let node_config = node_config(config, self.bus_port);
        self.with_node(|node| node.set_config(node_config))
    }

    fn refresh_routing(&self, node: &Node) {
        let allow_reads = self
            .allow_reads_when_down
            .load(std::sync::atomic::Ordering::Relaxed);
        let routing = Routing::new(node.myself(), &node.records(), node.state_ok(), allow_reads);
        *write(&self.routing) = Arc::new(routing);
    }
}

/// The address this node announces: `cluster-announce-ip`, else the bind
/// address when it is a specific one, else empty (peers then use the
/// address our messages come from).
fn announced_ip(config: &Config) -> String {
    if !config.cluster.announce_ip.is_empty() {
        return config.cluster.announce_ip.clone();
    }
    let first = config.bind.first().map(|a| a.trim_start_matches('-'));
    match first {
        Some(address) if !matches!(address, "*" | "0.0.0.0" | "::" | "::*") => address.to_string(),
        _ => String::new(),
    }
}

/// The node's settings from the server's: `cluster-*` options, with the
/// announced addresses falling back to the real ones.
pub fn node_config(config: &Config, bus_port: u16) -> NodeConfig {
    let cluster = &config.cluster;
    let nonzero = |announced: u16, real: u16| if announced != 0 { announced } else { real };
    NodeConfig {
        node_timeout: cluster.node_timeout,
        require_full_coverage: cluster.require_full_coverage,
        migration_barrier: cluster.migration_barrier,
        replica_no_failover: cluster.replica_no_failover,
        ip: announced_ip(config),
        port: nonzero(cluster.announce_port, config.port),
        bus_port: nonzero(cluster.announce_bus_port, bus_port),
        hostname: cluster.announce_hostname.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    /// A handle whose nodes.conf lives in `dir/sub`, a directory that does
    /// not exist until the test creates it.
    fn handle_in(dir: &std::path::Path) -> (ClusterHandle, BusFeed) {
        let node = shell::start(NodeConfig::default(), None, 1, T0).expect("fresh node");
        ClusterHandle::new(node, dir.join("sub/nodes.conf"), false, 16379)
    }

    #[test]
    fn nothing_is_sent_until_the_state_it_follows_is_saved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (handle, mut feed) = handle_in(dir.path());
        // A MEET leaves at the cron after it (one every 100 ms).
        let meet = |bus_port: u16, now: u64| {
            move |node: &mut Node| {
                node.meet(now, "127.0.0.1", bus_port - 10000, bus_port)
                    .expect("valid address");
                node.handle_timeout(now);
            }
        };
        let failed = handle.with_node(meet(17001, T0));
        assert!(
            failed.as_ref().is_err_and(|e| e.contains("sub/")),
            "{failed:?}"
        );
        assert!(feed.outgoing.try_recv().is_err(), "a MEET left unsaved");
        // Once the file can be written, the next input saves the whole
        // state first (a handshake changes nothing persisted), then its
        // frames leave.
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        handle.with_node(meet(17002, T0 + 100)).expect("saved");
        let text = std::fs::read_to_string(dir.path().join("sub/nodes.conf")).expect("read");
        let saved = nodes_conf::parse(&text).expect("parses");
        assert_eq!(saved, handle.read(Node::persisted));
        let sent: Vec<u16> = std::iter::from_fn(|| feed.outgoing.try_recv().ok())
            .map(|frame| frame.bus_port)
            .collect();
        assert!(sent.contains(&17002), "{sent:?}");
    }

    #[test]
    fn every_input_re_arms_the_wake_up_at_the_node_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let (handle, mut feed) = handle_in(dir.path());
        handle
            .with_node(|node| node.handle_timeout(T0))
            .expect("saved");
        assert!(feed.wake.has_changed().expect("sender alive"));
        let deadline = *feed.wake.borrow_and_update();
        assert_eq!(deadline, handle.read(Node::poll_timeout));
        assert!(deadline > Some(T0));
        // An input that does not move the deadline does not wake the bus.
        handle.with_node(|_| ()).expect("nothing to save");
        assert!(!feed.wake.has_changed().expect("sender alive"));
    }
}
