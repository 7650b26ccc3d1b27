//! The cluster bus driver: the I/O around the sans-IO `cluster::Node`.
//!
//! - The listener on the bus port accepts peers' links; each link's bytes
//!   are cut into messages by `cluster::codec` and fed to the node. A
//!   malformed or foreign message is logged and its link dropped.
//! - Frames the node wants sent (encoded by `cluster::shell::drain`, inside
//!   `ClusterHandle::with_node`, after nodes.conf was saved) go out on one
//!   outgoing link per peer address, connected on demand. A link that
//!   cannot connect or write ends, its queued messages dropped as Redis
//!   does, and tells the node (`Node::link_lost`), whose next cron sends a
//!   PING (or the MEET of a handshake) again, which opens a new link.
//! - The node's `handle_timeout` (clusterCron, election starts) runs when
//!   the node asked to be woken (`Node::poll_timeout`, re-armed after every
//!   input, wherever it came from), not on a fixed tick.

use crate::cluster::codec;
use crate::cluster::shell::{self, Outgoing};
use crate::command::cluster::handle::{node_config, BusFeed, ClusterHandle};
use crate::config::Config;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::StartError;
use crate::clock::monotonic_ms;

/// The longest the bus sleeps without waking the node. The node asks for at
/// most one cron period (100 ms) ahead, so this never binds today; it is a
/// backstop so that a missing deadline (`None`), or one computed against a
/// wall clock that has since been stepped, cannot stall clusterCron for more
/// than a second.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Messages queued for one peer before newer ones are dropped.
const LINK_QUEUE: usize = 1024;
/// Longest a bus frame may be (matches the codec's own limit).
const READ_CHUNK: usize = 64 * 1024;

/// Where nodes.conf lives: `cluster-config-file`, relative to `dir`.
pub fn nodes_conf_path(config: &Config) -> PathBuf {
    let file = PathBuf::from(&config.cluster.config_file);
    if file.is_absolute() {
        file
    } else {
        config.dir.join(file)
    }
}

/// The bus port we listen on: `cluster-port`, or client port + 10000.
fn bus_port(config: &Config) -> Result<u16, StartError> {
    if config.cluster.port != 0 {
        return Ok(config.cluster.port);
    }
    config.port.checked_add(10000).ok_or_else(|| {
        StartError(format!(
            "The client port {} is too high to derive the cluster bus port (port + 10000); set cluster-port",
            config.port
        ))
    })
}

/// The running bus: created before the server's shared state (which holds
/// the handle), started once that exists.
pub struct Bus {
    listener: TcpListener,
    feed: BusFeed,
}

/// Loads or creates the node (a corrupt nodes.conf stops start-up) and binds
/// the bus port. `config.port` must already be the real client port.
pub async fn open(config: &Config) -> Result<(Arc<ClusterHandle>, Bus), StartError> {
    let path = nodes_conf_path(config);
    let bus_port = bus_port(config)?;
    let node_config = node_config(config, bus_port);
    let seed: u64 = rand::random();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(StartError(format!("Can't read {}: {e}", path.display()))),
    };
    let node = shell::start(node_config, text.as_deref(), seed, monotonic_ms()).map_err(|e| {
        StartError(match e {
            shell::StartError::Corrupt(e) => format!(
                "Unrecoverable error: corrupted cluster config file {}: {e}",
                path.display()
            ),
            shell::StartError::Unloadable(e) => format!("Can't load {}: {e}", path.display()),
        })
    })?;
    let bind = config
        .bind
        .first()
        .map(|a| a.trim_start_matches('-').to_string())
        .unwrap_or_else(|| "0.0.0.0".to_string());
    let listener = TcpListener::bind((bind.as_str(), bus_port))
        .await
        .map_err(|e| {
            StartError(format!(
                "Could not bind the cluster bus port {bind}:{bus_port}: {e}"
            ))
        })?;
    let allow_reads = config.cluster.allow_reads_when_down;
    let (handle, feed) = ClusterHandle::new(node, path, allow_reads, bus_port);
    let handle = Arc::new(handle);
    // Persist at once: a new node's id must survive a restart, and a
    // nodes.conf we cannot write should stop start-up, not the first vote.
    handle
        .save_config()
        .map_err(|e| StartError(format!("Can't write the cluster config file: {e}")))?;
    // Build the routing table before the first client arrives.
    let _ = handle.with_node(|_| ());
    crate::log::notice(&format!(
        "Cluster node {} listening for the cluster bus on {bind}:{bus_port}",
        handle.read(|node| node.myself())
    ));
    Ok((handle, Bus { listener, feed }))
}

/// A message read from a peer, for the node task.
struct Inbound {
    from_ip: String,
    message: crate::cluster::message::Message,
}

impl Bus {
    /// Runs the bus until the process ends.
    pub fn spawn(self, handle: Arc<ClusterHandle>) {
        let (inbound_tx, inbound_rx) = mpsc::channel(4096);
        tokio::spawn(accept_loop(self.listener, inbound_tx, handle.clone()));
        tokio::spawn(node_loop(handle, inbound_rx, self.feed));
    }
}

/// Feeds the node its inputs (peers' messages, its wake-ups) and sends what
/// it produced. Wake-ups are scheduled from the node's own deadline:
/// `feed.wake` is re-armed by every `with_node`, including the CLUSTER
/// commands that run on connection tasks.
async fn node_loop(
    handle: Arc<ClusterHandle>,
    mut inbound: mpsc::Receiver<Inbound>,
    mut feed: BusFeed,
) {
    let mut links: HashMap<(String, u16), mpsc::Sender<Vec<u8>>> = HashMap::new();
    loop {
        let wait = sleep_for(*feed.wake.borrow_and_update(), monotonic_ms());
        select! {
            Some(Inbound { from_ip, message }) = inbound.recv() => {
                let _ = handle.with_node(|node| node.handle_message(monotonic_ms(), &from_ip, message));
            }
            Some(outgoing) = feed.outgoing.recv() => send(&handle, &mut links, outgoing),
            // Re-armed by an input: the next turn sleeps to the new deadline.
            Ok(()) = feed.wake.changed() => {}
            () = tokio::time::sleep(wait) => {
                let _ = handle.with_node(|node| node.handle_timeout(monotonic_ms()));
            }
        }
    }
}

/// How long to sleep until the node's deadline `wake_at` (node clock, the
/// unix milliseconds of `monotonic_ms`), at most [`MAX_SLEEP`].
fn sleep_for(wake_at: Option<u64>, now: u64) -> Duration {
    wake_at.map_or(MAX_SLEEP, |at| {
        Duration::from_millis(at.saturating_sub(now)).min(MAX_SLEEP)
    })
}

/// Queues a message on the link to its destination, opening the link if
/// there is none (or the old one has ended).
fn send(
    handle: &Arc<ClusterHandle>,
    links: &mut HashMap<(String, u16), mpsc::Sender<Vec<u8>>>,
    outgoing: Outgoing,
) {
    let key = (outgoing.ip, outgoing.bus_port);
    let alive = links.get(&key).is_some_and(|link| !link.is_closed());
    if !alive {
        let (tx, rx) = mpsc::channel(LINK_QUEUE);
        tokio::spawn(outgoing_link(
            handle.clone(),
            outgoing.to.to_string(),
            key.clone(),
            rx,
        ));
        links.insert(key.clone(), tx);
    }
    if let Some(link) = links.get(&key) {
        // A full queue means the peer is not reading: drop, like Redis.
        let _ = link.try_send(outgoing.frame);
    }
}

/// One outgoing link: connects, then writes queued frames until the queue
/// closes. If it cannot connect, or a write fails, the link ends, dropping
/// what was queued on it, and tells the node, which (as Redis after freeing
/// a link) reconnects at its next cron by sending a PING, or its MEET again
/// while in handshake: a link that ended silently left a lost MEET unsent
/// for good, and the handshake expired. The next frame for the peer opens a
/// new link, so attempts follow the node's cron, not a backoff of their own.
async fn outgoing_link(
    handle: Arc<ClusterHandle>,
    node: String,
    (ip, port): (String, u16),
    mut queue: mpsc::Receiver<Vec<u8>>,
) {
    let connect = tokio::time::timeout(
        Duration::from_secs(1),
        TcpStream::connect((ip.as_str(), port)),
    );
    if let Ok(Ok(mut stream)) = connect.await {
        let _ = stream.set_nodelay(true);
        let link = handle.open_link("to", node, monotonic_ms());
        let ended = write_frames(&mut stream, &mut queue).await;
        handle.close_link(link);
        if ended {
            return;
        }
    }
    queue.close();
    let _ = handle.with_node(|node| node.link_lost(monotonic_ms(), &ip, port));
}

/// Writes frames until the queue closes (true) or the socket fails (false).
async fn write_frames(stream: &mut TcpStream, queue: &mut mpsc::Receiver<Vec<u8>>) -> bool {
    while let Some(frame) = queue.recv().await {
        let mut batch = frame;
        while let Ok(more) = queue.try_recv() {
            batch.extend_from_slice(&more);
        }
        if stream.write_all(&batch).await.is_err() || stream.flush().await.is_err() {
            return false;
        }
    }
    true
}

async fn accept_loop(
    listener: TcpListener,
    inbound: mpsc::Sender<Inbound>,
    handle: Arc<ClusterHandle>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(incoming_link(stream, peer, inbound.clone(), handle.clone()));
            }
            Err(e) => {
                crate::log::warning(&format!("Accepting cluster bus connection: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Reads one peer's link until it closes or sends something that is not a
/// valid bus message.
async fn incoming_link(
    mut stream: TcpStream,
    peer: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    handle: Arc<ClusterHandle>,
) {
    let from_ip = peer.ip().to_string();
    let link = handle.open_link("from", String::new(), monotonic_ms());
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    'read: loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            match codec::decode(&buffer) {
                Ok(Some((message, used))) => {
                    buffer.drain(..used);
                    handle.name_link(link, message.header.sender.as_str());
                    let from_ip = from_ip.clone();
                    if inbound.send(Inbound { from_ip, message }).await.is_err() {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    crate::log::warning(&format!("Dropping the cluster bus link from {peer}: {e}"));
                    break 'read;
                }
            }
        }
    }
    handle.close_link(link);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_node_deadline_and_at_most_max_sleep() {
        assert_eq!(sleep_for(Some(1_150), 1_000), Duration::from_millis(150));
        assert_eq!(sleep_for(Some(900), 1_000), Duration::ZERO);
        assert_eq!(sleep_for(Some(60_000), 1_000), MAX_SLEEP);
        assert_eq!(sleep_for(None, 1_000), MAX_SLEEP);
    }
}
