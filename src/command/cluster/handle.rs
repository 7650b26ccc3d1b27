//! The running node as commands and the bus driver share it: the sans-IO
//! [`Node`] behind a lock, the routing snapshot connections read without that
//! lock, and the outbox of bus messages the driver sends.
//!
//! Every change to the node goes through [`ClusterHandle::with_node`], which
//! after the change, in this order: writes nodes.conf if the persisted state
//! changed (so nothing is acted on or acknowledged before it is durable),
//! hands the messages to send to the driver, applies the events, and
//! refreshes the routing snapshot.

use crate::cluster::node::{Config as NodeConfig, Event, Node, Transmit};
use crate::cluster::nodes_conf;
use crate::cluster::routing::Routing;
use crate::cluster::ClusterConfig;
use crate::config::Config;
use crate::sync::{lock, read, write};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

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
    outbox: tokio::sync::mpsc::UnboundedSender<Transmit>,
    /// The bus links the driver has open, for CLUSTER LINKS.
    links: Mutex<Vec<LinkInfo>>,
    next_link_id: std::sync::atomic::AtomicU64,
    /// Delivers messages published on other nodes to this node's
    /// subscribers; attached once the server state exists (it is built
    /// after the handle, and holds it).
    deliver: std::sync::OnceLock<Deliver>,
}

/// Delivers one relayed message: (sharded, channel, message).
pub type Deliver = Box<dyn Fn(bool, &[u8], &[u8]) + Send + Sync>;

impl ClusterHandle {
    /// Wraps `node`; the returned receiver yields what the bus must send.
    pub fn new(
        node: Node,
        nodes_conf: PathBuf,
        allow_reads_when_down: bool,
        bus_port: u16,
    ) -> (
        ClusterHandle,
        tokio::sync::mpsc::UnboundedReceiver<Transmit>,
    ) {
        let (outbox, transmits) = tokio::sync::mpsc::unbounded_channel();
        let handle = ClusterHandle {
            node: Mutex::new(node),
            routing: RwLock::new(Arc::new(Routing::empty())),
            nodes_conf,
            allow_reads_when_down: allow_reads_when_down.into(),
            bus_port,
            outbox,
            links: Mutex::new(Vec::new()),
            next_link_id: 0.into(),
            deliver: std::sync::OnceLock::new(),
        };
        (handle, transmits)
    }

    /// Runs `change` on the node, then persists, sends, applies events and
    /// refreshes routing (see the module comment). A failure to write
    /// nodes.conf is returned after the change: Redis treats it as fatal
    /// for the change being acknowledged.
    pub fn with_node<T>(&self, change: impl FnOnce(&mut Node) -> T) -> Result<T, String> {
        let mut node = lock(&self.node);
        let value = change(&mut node);
        let mut saved: Result<(), String> = Ok(());
        while let Some(config) = node.poll_save() {
            saved = write_nodes_conf(&self.nodes_conf, &config).map_err(|e| e.to_string());
            if let Err(e) = &saved {
                crate::log::warning(&format!("Writing {}: {e}", self.nodes_conf.display()));
            }
        }
        while let Some(transmit) = node.poll_transmit() {
            let _ = self.outbox.send(transmit);
        }
        let mut published = Vec::new();
        while let Some(event) = node.poll_event() {
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
                // Routing is refreshed below whatever happened.
                _ => {}
            }
        }
        self.refresh_routing(&node);
        drop(node);
        // Messages relayed by other nodes reach this node's subscribers
        // outside the node lock.
        if let Some(deliver) = self.deliver.get() {
            for (sharded, channel, message) in published {
                deliver(sharded, &channel, &message);
            }
        }
        saved.map(|()| value)
    }

    /// Gives the handle the way to deliver relayed messages.
    pub fn attach(&self, deliver: Deliver) {
        let _ = self.deliver.set(deliver);
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

    pub fn nodes_conf_path(&self) -> &Path {
        &self.nodes_conf
    }

    fn refresh_routing(&self, node: &Node) {
        let allow_reads = self
            .allow_reads_when_down
            .load(std::sync::atomic::Ordering::Relaxed);
        let routing = Routing::new(node.myself(), &node.records(), node.state_ok(), allow_reads);
        *write(&self.routing) = Arc::new(routing);
    }
}

/// Writes nodes.conf the crash-safe way: a temporary file in the same
/// directory, fsync, rename over the old one, fsync the directory.
pub fn write_nodes_conf(path: &Path, config: &ClusterConfig) -> std::io::Result<()> {
    let text = nodes_conf::serialize(config);
    let temp = path.with_extension("tmp-redstone");
    {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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
