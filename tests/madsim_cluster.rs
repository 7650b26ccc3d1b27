//! Cluster failover with data, the whole stack in madsim: three masters,
//! the first with two replicas, the second with one (real servers on
//! memory engines that survive crashes as disks do, `appendfsync always`,
//! node timeout 1 s). A client writes to one slot of the first master with
//! `WAIT 1`, following redirections; the seed decides whether the second
//! replica is cut off for a while (so that the two replicas' offsets
//! differ) and when the master dies (with a power cut). Then it comes back.
//! Every scenario runs over a network as slow and lossy as its seed draws
//! (latency up to 50 ms, up to 5 % of packets lost), bus links included,
//! on disks whose syncs take up to 20 ms.
//!
//! Invariants:
//! - the slot gets a new master, which has every write `WAIT 1` confirmed
//!   (the replica with the highest offset is the one promoted);
//! - once the old master is back: every node sees every slot served by
//!   exactly one master, the masters' config epochs are unique, and every
//!   replica holds exactly its master's data.
//!
//! More scenarios on the same cluster: a manual CLUSTER FAILOVER under
//! writes loses no acknowledged write; a master cut off from every other
//! node acknowledges no write two node timeouts after the cut (its replica
//! takes over, and the client follows); a slot moved key by key (SETSLOT,
//! MIGRATE) while a client overwrites its keys loses no write.
//!
//!   RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test --profile sim --test madsim_cluster
#![cfg(madsim)]

mod madsim_common;

use madsim::rand::Rng;
use madsim_common::{
    command, connect, info_field, seed_catching, server_node, slow_disk, try_command, try_connect,
    unreliable_network, ScratchDir, PORT,
};
use redstone::config::{AppendFsync, Config};
use redstone::engine::memory::MemoryEngine;
use redstone::planted::Bug;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

const NODES: usize = 6;
/// Node i's role: masters 0..3; 3 and 4 replicate 0, 5 replicates 1.
const MASTER_OF: [Option<usize>; NODES] = [None, None, None, Some(0), Some(0), Some(1)];
const LONG: Duration = Duration::from_secs(60);
const NODE_TIMEOUT_MS: u64 = 1000;
/// The network's worst: each seed draws its latency and loss up to these.
const MAX_LATENCY: Duration = Duration::from_millis(50);
const MAX_LOSS: f64 = 0.05;
/// The disks' worst: each seed draws its sync latency up to this.
const MAX_SYNC_LATENCY: Duration = Duration::from_millis(20);

fn ip(i: usize) -> IpAddr {
    format!("192.0.2.{}", 41 + i).parse().unwrap()
}

fn address(i: usize) -> SocketAddr {
    SocketAddr::new(ip(i), PORT)
}

/// Sets the time of day of a random server node forward or back by up to
/// three node timeouts, every one to four seconds, for the rest of the
/// run (as NTP or an operator may): what the cluster decides runs on its
/// monotonic clock, so no invariant may notice.
async fn jump_clocks(nodes: Vec<madsim::task::NodeId>) {
    loop {
        let (wait, node, by) = {
            let mut rng = madsim::rand::thread_rng();
            let reach = 3 * NODE_TIMEOUT_MS as i64;
            (
                rng.gen_range(1000..4000),
                nodes[rng.gen_range(0..nodes.len())],
                rng.gen_range(-reach..=reach),
            )
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        redstone::clock::jump(node, by);
    }
}

/// The key of the writer's n-th write (its value is n): a new key each
/// time, all in slot 5061 ("bar"), master 0's at first.
fn key(n: u64) -> String {
    format!("{{bar}}:{n}")
}

#[madsim::test]
async fn a_failover_promotes_the_replica_with_every_confirmed_write() {
    failover_with_data().await;
}

/// The invariant on elections is live: with replicas ranked backwards,
/// some seed promotes the lagging replica and loses confirmed writes.
#[test]
fn the_simulation_catches_promoting_the_replica_with_the_lowest_offset() {
    let caught = seed_catching(
        Bug::PromoteLowestOffset,
        30,
        "WAIT confirmed",
        failover_with_data,
    );
    assert!(caught.is_some(), "no seed in 1..=30 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The simulated cluster: its server nodes (with their engines and data
/// directories, which outlive crashes) and a client node.
struct Cluster {
    handle: madsim::runtime::Handle,
    nodes: Vec<madsim::runtime::NodeHandle>,
    engines: Vec<Arc<MemoryEngine>>,
    client: madsim::runtime::NodeHandle,
    _dirs: Vec<ScratchDir>,
}

impl Cluster {
    /// Six server nodes with `appendfsync always` and a node timeout of
    /// 1 s, formed into the cluster of the module comment, over a network
    /// as slow and lossy as the seed decides (latency up to 50 ms, up to
    /// 5 % of packets lost and resent, bus connections refused alike), on
    /// disks whose syncs take up to 20 ms.
    async fn start() -> Cluster {
        unreliable_network(MAX_LATENCY, MAX_LOSS);
        slow_disk(MAX_SYNC_LATENCY);
        let handle = madsim::runtime::Handle::current();
        let dirs: Vec<ScratchDir> = (0..NODES).map(|_| ScratchDir::new()).collect();
        let engines: Vec<Arc<MemoryEngine>> =
            (0..NODES).map(|_| Arc::new(MemoryEngine::new())).collect();
        let nodes: Vec<madsim::runtime::NodeHandle> = (0..NODES)
            .map(|i| {
                let mut config = Config {
                    appendfsync: AppendFsync::Always,
                    dir: dirs[i].path().to_path_buf(),
                    ..Config::default()
                };
                config.cluster.enabled = true;
                config.cluster.node_timeout = NODE_TIMEOUT_MS;
                let name = format!("node{i}");
                server_node(&handle, &name, ip(i), engines[i].clone(), config)
            })
            .collect();
        let client = handle
            .create_node()
            .name("client")
            .ip("192.0.2.49".parse().unwrap())
            .build();
        client.spawn(form_cluster()).await.unwrap();
        redstone::clock::reset_jumps();
        let ids: Vec<_> = nodes.iter().map(madsim::runtime::NodeHandle::id).collect();
        client.spawn(jump_clocks(ids));
        Cluster {
            handle,
            nodes,
            engines,
            client,
            _dirs: dirs,
        }
    }
}

/// CLUSTER FAILOVER under writes: the master pauses its writers until its
/// replica has everything, so not one acknowledged write is lost.
#[madsim::test]
async fn a_manual_failover_loses_no_acknowledged_write() {
    let cluster = Cluster::start().await;
    let writer = Writer::start(&cluster.client);
    let pause = madsim::rand::thread_rng().gen_range(200..1500);
    cluster
        .client
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let mut replica = connect(address(3), LONG).await;
            assert_eq!(command(&mut replica, &["CLUSTER", "FAILOVER"]).await, "OK");
            let start = tokio::time::Instant::now();
            while master_of_slot(3, 5061).await != 3 {
                assert!(start.elapsed() < LONG, "the manual failover never happened");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .unwrap();
    // The old master now redirects: what it acknowledged was before.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acknowledged = writer.stop().await.acknowledged;
    assert!(acknowledged.len() > 10, "too few writes");
    cluster
        .client
        .spawn(async move {
            let data = served_contents(3).await;
            for (n, _, _) in acknowledged {
                assert!(
                    data.get(&key(n)) == Some(&n.to_string()),
                    "{}: acknowledged, lost by the manual failover",
                    key(n)
                );
            }
        })
        .await
        .unwrap();
}

/// A master cut off from every other node stops taking writes within two
/// node timeouts (it sees itself in the minority), and its replica takes
/// its slots; once the partition heals, the cluster settles as after a
/// crash (one master per slot, unique epochs, every replica holds its
/// master's data: the old master dropped what it took while cut off).
#[madsim::test]
async fn an_isolated_master_stops_taking_writes() {
    isolated_master().await;
}

/// The invariant on a minority master is live: with a master that keeps
/// its cluster state ok without a majority, some seed sees it acknowledge
/// writes long after it was cut off.
#[test]
fn the_simulation_catches_a_minority_master_taking_writes() {
    let caught = seed_catching(
        Bug::MinorityMasterKeepsWriting,
        10,
        "the isolated master acknowledged",
        isolated_master,
    );
    assert!(caught.is_some(), "no seed in 1..=10 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The same invariant is live against clock jumps: with the cluster's
/// timers on the time of day, the isolated master whose clock was set
/// back goes on acknowledging writes.
#[test]
fn the_simulation_catches_a_cluster_on_the_wall_clock() {
    let caught = seed_catching(
        Bug::ClusterOnWallClock,
        10,
        "the isolated master acknowledged",
        isolated_master,
    );
    assert!(caught.is_some(), "no seed in 1..=10 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The invariant on replicas' data is live: with the old master
/// continued past the end of the history its new master shares with it,
/// some seed leaves it holding the writes it took while cut off.
#[test]
fn the_simulation_catches_a_partial_resync_past_the_failover() {
    let caught = seed_catching(
        Bug::PsyncPastTheFailover,
        10,
        "every replica to hold its master's data",
        isolated_master,
    );
    assert!(caught.is_some(), "no seed in 1..=10 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

async fn isolated_master() {
    let net = madsim::net::NetSim::current();
    let cluster = Cluster::start().await;
    let writer = Writer::start(&cluster.client);
    tokio::time::sleep(Duration::from_millis(
        madsim::rand::thread_rng().gen_range(200..1000),
    ))
    .await;
    for other in &cluster.nodes[1..] {
        net.clog_link(cluster.nodes[0].id(), other.id());
        net.clog_link(other.id(), cluster.nodes[0].id());
    }
    let isolated = tokio::time::Instant::now();
    // Its time of day is set back three node timeouts: a cluster driven by
    // it would keep counting its peers' silence from the past.
    redstone::clock::jump(cluster.nodes[0].id(), -3 * NODE_TIMEOUT_MS as i64);
    // A replica takes the slot over; the writer goes on a while after.
    let promoted = cluster
        .client
        .spawn(async move {
            let start = tokio::time::Instant::now();
            loop {
                let owner = master_of_slot(3, 5061).await;
                if owner != 0 {
                    return owner;
                }
                assert!(start.elapsed() < LONG, "the isolated master kept its slot");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .unwrap();
    let failed_over = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(2 * NODE_TIMEOUT_MS)).await;
    let ledger = writer.stop().await;
    let limit = isolated + Duration::from_millis(2 * NODE_TIMEOUT_MS);
    let late: Vec<u64> = (ledger.acknowledged.iter())
        .filter(|(_, when, by)| *when > limit && *by == address(0))
        .map(|(n, _, _)| *n)
        .collect();
    assert!(
        late.is_empty(),
        "the isolated master acknowledged writes {late:?} more than two node timeouts after the partition"
    );
    // The writer followed: writes went on after the failover.
    let followed = (ledger.acknowledged.iter()).any(|(_, when, _)| *when > failed_over);
    assert!(
        followed,
        "no write was acknowledged after node{promoted} took over"
    );
    // The partition heals: the old master, which took writes its replicas
    // never had while cut off, rejoins as a replica and drops them.
    for other in &cluster.nodes[1..] {
        net.unclog_link(cluster.nodes[0].id(), other.id());
        net.unclog_link(other.id(), cluster.nodes[0].id());
    }
    cluster.client.spawn(settled()).await.unwrap();
}

/// The invariant on config epochs is live: with collisions never
/// resolved, some seed (one that formed the cluster without setting the
/// epochs) ends with two masters sharing one.
#[test]
fn the_simulation_catches_an_unresolved_epoch_collision() {
    let caught = seed_catching(
        Bug::EpochCollisionUnresolved,
        10,
        "share config epoch",
        failover_with_data,
    );
    assert!(caught.is_some(), "no seed in 1..=10 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

async fn failover_with_data() {
    let net = madsim::net::NetSim::current();
    let Cluster {
        handle,
        nodes,
        engines,
        client,
        _dirs,
    } = Cluster::start().await;

    let writer = Writer::start(&client);
    // The master dies only once some write is confirmed: a slow seed may
    // form the cluster so late that no WAIT would come before the kill.
    let ledger = writer.ledger.clone();
    wait_until("a first confirmed write", || {
        let confirmed = !ledger.lock().unwrap().confirmed.is_empty();
        async move { confirmed }
    })
    .await;
    let mut rng = madsim::rand::thread_rng();
    tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1000))).await;
    if rng.gen_bool(0.7) {
        // The second replica falls behind.
        net.clog_link(nodes[0].id(), nodes[4].id());
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..800))).await;
    }
    handle.kill(nodes[0].id());
    engines[0].power_cut();
    // The writer goes on through the failover, to the new master.
    tokio::time::sleep(Duration::from_millis(rng.gen_range(3000..5000))).await;
    let confirmed = writer.stop().await.confirmed;
    assert!(!confirmed.is_empty(), "WAIT never confirmed a write");
    net.unclog_link(nodes[0].id(), nodes[4].id());
    client
        .spawn(async move {
            let owner = master_of_slot(3, 5061).await;
            assert!(owner == 3 || owner == 4, "node{owner} serves the slot");
            let data = served_contents(owner).await;
            for n in confirmed {
                assert!(
                    data.get(&key(n)) == Some(&n.to_string()),
                    "{}: WAIT confirmed it, the new master node{owner} has {:?}",
                    key(n),
                    data.get(&key(n))
                );
            }
        })
        .await
        .unwrap();

    // The old master comes back as a replica; the cluster settles.
    handle.restart(nodes[0].id());
    client.spawn(settled()).await.unwrap();
}

/// Masters 0..3 take a third of the slots each and, as the seed decides,
/// a config epoch each, or none (they all start at epoch 0 and the
/// cluster must tell them apart, resolving the collisions); all meet, the
/// replicas replicate; returns once every node says ok and every
/// replica's link is up.
async fn form_cluster() {
    let set_epochs = madsim::rand::thread_rng().gen_bool(0.5);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ranges = [("0", "5460"), ("5461", "10922"), ("10923", "16383")];
    let mut ids = Vec::new();
    for i in 0..NODES {
        let mut stream = connect(address(i), LONG).await;
        ids.push(command(&mut stream, &["CLUSTER", "MYID"]).await);
        if let Some((first, last)) = ranges.get(i) {
            let added = command(&mut stream, &["CLUSTER", "ADDSLOTSRANGE", first, last]).await;
            assert_eq!(added, "OK");
            if set_epochs {
                let epoch = (i + 1).to_string();
                let set = ["CLUSTER", "SET-CONFIG-EPOCH", &epoch];
                assert_eq!(command(&mut stream, &set).await, "OK");
            }
        }
        if i > 0 {
            let meet = ["CLUSTER", "MEET", "192.0.2.41", "6379"];
            assert_eq!(command(&mut stream, &meet).await, "OK");
        }
    }
    for i in 0..NODES {
        wait_until(&format!("node{i} ok"), || async move {
            cluster_info(i, "cluster_state").await.as_deref() == Some("ok")
        })
        .await;
    }
    for (i, master) in MASTER_OF.iter().enumerate() {
        let Some(master) = master else { continue };
        let id = ids[*master].clone();
        wait_until(&format!("node{i} replicates node{master}"), || {
            let id = id.clone();
            async move {
                let mut stream = connect(address(i), LONG).await;
                let reply = try_command(&mut stream, &["CLUSTER", "REPLICATE", &id]).await;
                reply.as_deref() == Ok("OK")
            }
        })
        .await;
    }
    for (i, master) in MASTER_OF.iter().enumerate() {
        if master.is_some() {
            wait_until(&format!("node{i}'s link up"), || async move {
                let mut stream = connect(address(i), LONG).await;
                info_field(&mut stream, "replication", "master_link_status")
                    .await
                    .as_deref()
                    == Some("up")
            })
            .await;
        }
    }
}

/// The writer's writes, by n: those acknowledged (`OK`, when and by
/// whom), and those a `WAIT 1` then confirmed.
#[derive(Default)]
struct Ledger {
    acknowledged: Vec<(u64, tokio::time::Instant, SocketAddr)>,
    confirmed: Vec<u64>,
}

/// The client's writer task ([`write_until`]) and what it records.
struct Writer {
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    task: madsim::task::JoinHandle<()>,
}

impl Writer {
    fn start(client: &madsim::runtime::NodeHandle) -> Writer {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = client.spawn(write_until(ledger.clone(), stop.clone()));
        Writer { ledger, stop, task }
    }

    /// Stops writing; what was written.
    async fn stop(self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        std::mem::take(&mut *self.ledger.lock().unwrap())
    }
}

/// Writes `SET {bar}:n n` for n = 0, 1, ... with a `WAIT 1 300` every
/// five writes, following MOVED and trying the next node after a failure,
/// until `stop`.
async fn write_until(ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    let (mut at, mut n) = (address(0), 0u64);
    let mut unconfirmed = Vec::new();
    'connect: while !stop.load(Ordering::Relaxed) {
        let Some(mut stream) = try_connect(at).await else {
            at = next(at);
            continue;
        };
        unconfirmed.clear();
        while !stop.load(Ordering::Relaxed) {
            let reply = try_command(&mut stream, &["SET", &key(n), &n.to_string()]).await;
            n += 1;
            match reply.as_deref() {
                Ok("OK") => {
                    let now = tokio::time::Instant::now();
                    ledger.lock().unwrap().acknowledged.push((n - 1, now, at));
                    unconfirmed.push(n - 1);
                }
                Ok(moved) if moved.starts_with("-MOVED") => {
                    at = moved
                        .rsplit(' ')
                        .next()
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(at);
                    continue 'connect;
                }
                Ok(_) => {
                    // CLUSTERDOWN and the like: ask another node.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    at = next(at);
                    continue 'connect;
                }
                Err(_) => {
                    at = next(at);
                    continue 'connect;
                }
            }
            if n % 5 == 0 {
                match try_command(&mut stream, &["WAIT", "1", "300"])
                    .await
                    .as_deref()
                {
                    Ok("1") => ledger.lock().unwrap().confirmed.append(&mut unconfirmed),
                    Ok(_) => {}
                    Err(_) => continue 'connect,
                }
            }
        }
    }
}

/// The node after `at`, round robin.
fn next(at: SocketAddr) -> SocketAddr {
    let i = (0..NODES).find(|&i| address(i) == at).unwrap_or(0);
    address((i + 1) % NODES)
}

/// Once node 0 is back: every node's view agrees that each slot has one
/// master, the masters' config epochs differ, and every replica holds its
/// master's data.
async fn settled() {
    wait_until("every node to agree on the slot map", || async {
        let mut views = Vec::new();
        for i in 0..NODES {
            let Some(view) = slot_map(i).await else {
                return false;
            };
            views.push(view);
        }
        views.windows(2).all(|w| w[0] == w[1]) && views[0].0.len() == 16384
    })
    .await;
    let (owners, epochs) = slot_map(1).await.unwrap();
    let mut seen = BTreeMap::new();
    for (master, epoch) in epochs {
        if let Some(other) = seen.insert(epoch, master.clone()) {
            panic!("masters {other} and {master} share config epoch {epoch}");
        }
    }
    assert!(owners.values().all(|owner| !owner.is_empty()));
    // Each replica, wherever it went (a master with two replicas may give
    // one to a master left without any), holds its master's data.
    wait_until("every replica to hold its master's data", || async {
        for i in 0..NODES {
            let Some(master) = master_of(i).await else {
                return false;
            };
            let Some(master) = master else { continue };
            let Some(expected) = contents(&mut connect(address(master), LONG).await).await else {
                return false;
            };
            let mut stream = connect(address(i), LONG).await;
            if try_command(&mut stream, &["READONLY"]).await.as_deref() != Ok("OK") {
                return false;
            }
            if contents(&mut stream).await.as_ref() != Some(&expected) {
                return false;
            }
        }
        true
    })
    .await;
}

/// Whom node i replicates in its own view: `Some(None)` when it is a
/// master, `None` when that cannot be told yet.
async fn master_of(i: usize) -> Option<Option<usize>> {
    let mut stream = connect(address(i), LONG).await;
    let nodes = try_command(&mut stream, &["CLUSTER", "NODES"]).await.ok()?;
    let mine = nodes.lines().find(|line| line.contains("myself"))?;
    let fields: Vec<&str> = mine.split(' ').collect();
    if !fields.get(2)?.contains("slave") {
        return Some(None);
    }
    let master = *fields.get(3)?;
    for j in 0..NODES {
        let mut stream = connect(address(j), LONG).await;
        if try_command(&mut stream, &["CLUSTER", "MYID"])
            .await
            .as_deref()
            == Ok(master)
        {
            return Some(Some(j));
        }
    }
    None
}

/// Node i's view: the master of each slot, and each master's config epoch.
async fn slot_map(i: usize) -> Option<(BTreeMap<u16, String>, BTreeMap<String, u64>)> {
    let mut stream = connect(address(i), LONG).await;
    let nodes = try_command(&mut stream, &["CLUSTER", "NODES"]).await.ok()?;
    let (mut owners, mut epochs) = (BTreeMap::new(), BTreeMap::new());
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() < 8 || !fields[2].contains("master") || fields[2].contains("fail") {
            continue;
        }
        let id = fields[0].to_string();
        epochs.insert(id.clone(), fields[6].parse().ok()?);
        for range in &fields[8..] {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            for slot in first.parse::<u16>().ok()?..=last.parse::<u16>().ok()? {
                if owners.insert(slot, id.clone()).is_some() {
                    return None; // two masters claim it: not settled
                }
            }
        }
    }
    Some((owners, epochs))
}

/// The node serving `slot` in node `view`'s opinion, once there is one.
async fn master_of_slot(view: usize, slot: u16) -> usize {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(owner) = owner_of(view, slot).await {
            return owner;
        }
        assert!(start.elapsed() < LONG, "slot {slot} never got a master");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn owner_of(view: usize, slot: u16) -> Option<usize> {
    let (owners, _) = slot_map(view).await?;
    let id = owners.get(&slot)?;
    for i in 0..NODES {
        let Some(mut stream) = try_connect(address(i)).await else {
            continue;
        };
        if try_command(&mut stream, &["CLUSTER", "MYID"])
            .await
            .as_deref()
            == Ok(id)
        {
            return Some(i);
        }
    }
    None
}

async fn cluster_info(i: usize, field: &str) -> Option<String> {
    let mut stream = connect(address(i), LONG).await;
    let info = try_command(&mut stream, &["CLUSTER", "INFO"]).await.ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
}

/// Every key and its value on the node `stream` is connected to; `None`
/// if it refuses to serve them (CLUSTERDOWN while it settles).
async fn contents(stream: &mut TcpStream) -> Option<BTreeMap<String, String>> {
    let keys = try_command(stream, &["KEYS", "*"]).await.ok()?;
    if keys.starts_with('-') {
        return None;
    }
    let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
    let mut values = BTreeMap::new();
    for chunk in keys.chunks(100) {
        let mut mget = vec!["MGET"];
        mget.extend(chunk);
        let found = try_command(stream, &mget).await.ok()?;
        if found.starts_with('-') {
            return None;
        }
        for (key, value) in chunk.iter().zip(found.split('\n')) {
            values.insert(key.to_string(), value.to_string());
        }
    }
    Some(values)
}

/// [`contents`] of node i, once it serves them.
async fn served_contents(i: usize) -> BTreeMap<String, String> {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(values) = contents(&mut connect(address(i), LONG).await).await {
            return values;
        }
        assert!(start.elapsed() < LONG, "node{i} never served the keys");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `done` every 100 ms, failing after a minute of simulated time.
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = tokio::time::Instant::now();
    while !done().await {
        assert!(start.elapsed() < LONG, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Slot 5061 moves from master 0 to master 1 as `redis-cli --cluster
/// reshard` moves a slot (SETSLOT IMPORTING and MIGRATING, GETKEYSINSLOT
/// and MIGRATE three keys at a time, SETSLOT NODE on every master), while a
/// client keeps overwriting 40 keys of the slot, following ASK. MIGRATE
/// does not stop the source, so keys are written while they are in flight.
///
/// Invariants: a reader following ASK never sees a key's value go back
/// (values only grow); once the slot is on master 1, master 0 holds none
/// of its keys, and every key holds the last value acknowledged for it, or
/// a value written after that one whose reply was lost; never an older one.
#[madsim::test]
async fn a_slot_moves_under_overwrites_and_keeps_every_write() {
    slot_migration().await;
}

/// The same with the slot moved whole (CLUSTER MIGRATESLOTS): snapshot,
/// catch-up of the overwrites, paused handover.
#[madsim::test]
async fn a_slot_moved_whole_under_overwrites_keeps_every_write() {
    migration_under_overwrites(Mover::Whole).await;
}

/// MIGRATE's check is live: when it deletes keys written while in
/// flight, some seed sees an acknowledged overwrite lost.
#[test]
fn the_simulation_catches_migrate_deleting_a_key_written_in_flight() {
    let caught = seed_catching(
        Bug::MigrateDeletesChangedKeys,
        20,
        "lost by the migration",
        slot_migration,
    );
    assert!(caught.is_some(), "no seed in 1..=20 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The 40 keys the migration scenario overwrites, all in slot 5061.
const HOT_KEYS: u64 = 40;

/// What the overwriting client saw: per key, the values whose SET was
/// acknowledged, in order, and every value it tried after the last
/// acknowledged one.
#[derive(Default)]
struct Overwrites {
    acknowledged: BTreeMap<u64, u64>,
    attempted_after: BTreeMap<u64, Vec<u64>>,
}

async fn slot_migration() {
    migration_under_overwrites(Mover::KeyByKey).await;
}

/// How the scenario moves the slot.
#[derive(Clone, Copy)]
enum Mover {
    /// redis-cli's way: SETSLOT, MIGRATE, SETSLOT NODE.
    KeyByKey,
    /// CLUSTER MIGRATESLOTS.
    Whole,
}

async fn migration_under_overwrites(mover: Mover) {
    let cluster = Cluster::start().await;
    let overwrites = Arc::new(Mutex::new(Overwrites::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = cluster
        .client
        .spawn(overwrite_until(overwrites.clone(), stop.clone()));
    let reader = cluster
        .client
        .spawn(read_until(overwrites.clone(), stop.clone()));
    // Once every key exists and was overwritten: keys then change while
    // in flight.
    let written = overwrites.clone();
    cluster
        .client
        .spawn(async move {
            wait_until("the writer to write every key", || async {
                written.lock().unwrap().acknowledged.len() as u64 == HOT_KEYS
            })
            .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            match mover {
                Mover::KeyByKey => move_slot(5061, 0, 1).await,
                Mover::Whole => move_slot_whole(5061, 0, 1).await,
            }
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    reader.await.unwrap();
    let overwrites = std::mem::take(&mut *overwrites.lock().unwrap());
    assert!(overwrites.acknowledged.len() > 10, "too few writes");
    cluster
        .client
        .spawn(async move {
            wait_until("every node to see master 1 serve the slot", || async {
                let mut all = true;
                for view in 0..NODES {
                    all &= owner_of(view, 5061).await == Some(1);
                }
                all
            })
            .await;
            let left = served_contents(0).await;
            assert!(
                !left.keys().any(|k| k.starts_with("{bar}")),
                "master 0 kept keys of the moved slot: {left:?}"
            );
            let data = served_contents(1).await;
            for (k, last) in &overwrites.acknowledged {
                let value: u64 = data
                    .get(&key(*k))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{}: acknowledged, lost by the migration", key(*k)));
                let later = overwrites.attempted_after.get(k);
                assert!(
                    value == *last || later.is_some_and(|l| l.contains(&value)),
                    "{}: holds {value}, but {last} was acknowledged after it: lost by the migration",
                    key(*k)
                );
            }
        })
        .await
        .unwrap();
}

/// `redis-cli --cluster reshard`'s steps for one slot, each retried until
/// it is answered (the network loses packets).
async fn move_slot(slot: u16, from: usize, to: usize) {
    let slot = slot.to_string();
    let id = |i: usize| async move {
        command(&mut connect(address(i), LONG).await, &["CLUSTER", "MYID"]).await
    };
    let (from_id, to_id) = (id(from).await, id(to).await);
    let mut source = connect(address(from), LONG).await;
    let mut target = connect(address(to), LONG).await;
    let importing = ["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id];
    assert_eq!(command(&mut target, &importing).await, "OK");
    let migrating = ["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id];
    assert_eq!(command(&mut source, &migrating).await, "OK");
    let port = PORT.to_string();
    let host = ip(to).to_string();
    let mut failed = false;
    loop {
        let keys = command(&mut source, &["CLUSTER", "GETKEYSINSLOT", &slot, "3"]).await;
        let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
        if keys.is_empty() {
            break;
        }
        // After a failure the target may have some of the keys already:
        // retried with REPLACE, as `redis-cli --cluster fix` does (the
        // source's copy is the one clients write while it has it).
        let mut migrate = vec!["MIGRATE", &host, &port, "", "0", "4000"];
        if failed {
            migrate.push("REPLACE");
        }
        migrate.push("KEYS");
        migrate.extend(&keys);
        let reply = command(&mut source, &migrate).await;
        failed = !(reply == "OK" || reply == "NOKEY");
        assert!(
            !failed || reply.starts_with("-IOERR") || reply.contains("BUSYKEY"),
            "MIGRATE: {reply}"
        );
    }
    let node = ["CLUSTER", "SETSLOT", &slot, "NODE", &to_id];
    assert_eq!(command(&mut target, &node).await, "OK");
    assert_eq!(command(&mut source, &node).await, "OK");
    let mut other = connect(address(2), LONG).await;
    assert_eq!(command(&mut other, &node).await, "OK");
}

/// CLUSTER MIGRATESLOTS of one slot, started again after a failure (the
/// slot then stays with `from`) until INFO says it is done.
async fn move_slot_whole(slot: u16, from: usize, to: usize) {
    let slot = slot.to_string();
    let to_id = command(&mut connect(address(to), LONG).await, &["CLUSTER", "MYID"]).await;
    let mut source = connect(address(from), LONG).await;
    let start = [
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        &slot,
        &slot,
        "NODE",
        &to_id,
    ];
    loop {
        assert_eq!(command(&mut source, &start).await, "OK");
        let state = loop {
            let info = command(&mut source, &["INFO", "cluster"]).await;
            let state = (info.lines())
                .find_map(|l| l.trim().strip_prefix("slot_migration_state:"))
                .unwrap_or("")
                .to_string();
            if state == "done" || state == "failed" {
                break state;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        if state == "done" {
            return;
        }
    }
}

/// Overwrites `{bar}:k` (k < HOT_KEYS, drawn at random) with n = 0, 1, ...,
/// following MOVED and ASK (ASKING on the node asked), until `stop`.
async fn overwrite_until(overwrites: Arc<Mutex<Overwrites>>, stop: Arc<AtomicBool>) {
    let mut at = address(0);
    let mut n = 0u64;
    'connect: while !stop.load(Ordering::Relaxed) {
        let Some(mut stream) = try_connect(at).await else {
            at = next(at);
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            // In no order the migration could keep in step with.
            let k = madsim::rand::thread_rng().gen_range(0..HOT_KEYS);
            let value = n.to_string();
            n += 1;
            overwrites
                .lock()
                .unwrap()
                .attempted_after
                .entry(k)
                .or_default()
                .push(n - 1);
            let reply = command_following_ask(&mut stream, &["SET", &key(k), &value]).await;
            match reply.as_deref() {
                Ok("OK") => {
                    let mut seen = overwrites.lock().unwrap();
                    seen.acknowledged.insert(k, n - 1);
                    seen.attempted_after.insert(k, Vec::new());
                }
                Ok(moved) if moved.starts_with("-MOVED") => {
                    at = moved
                        .rsplit(' ')
                        .next()
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(at);
                    continue 'connect;
                }
                Ok(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'connect;
                }
                Err(_) => continue 'connect,
            }
        }
    }
}

/// Reads the hot keys round robin, following MOVED and ASK, until `stop`,
/// and checks that no read returns less than the value acknowledged for
/// the key before the read began, nor less than an earlier read returned.
async fn read_until(overwrites: Arc<Mutex<Overwrites>>, stop: Arc<AtomicBool>) {
    let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
    let mut at = address(0);
    let mut k = 0u64;
    'connect: while !stop.load(Ordering::Relaxed) {
        let Some(mut stream) = try_connect(at).await else {
            at = next(at);
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            k = (k + 1) % HOT_KEYS;
            let acknowledged = overwrites.lock().unwrap().acknowledged.get(&k).copied();
            let reply = command_following_ask(&mut stream, &["GET", &key(k)]).await;
            match reply.as_deref() {
                Ok(moved) if moved.starts_with("-MOVED") => {
                    at = moved
                        .rsplit(' ')
                        .next()
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(at);
                    continue 'connect;
                }
                Ok(value) if !value.starts_with('-') && !value.is_empty() => {
                    let value: u64 = value.parse().expect("a value the writer wrote");
                    let before = seen
                        .insert(k, value)
                        .unwrap_or(0)
                        .max(acknowledged.unwrap_or(0));
                    assert!(
                        value >= before,
                        "{}: read {value} after {before} was written or read: lost by the migration",
                        key(k)
                    );
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(_) => continue 'connect,
            }
        }
    }
}

/// Sends `args`; an `-ASK slot address` reply sends them again to that
/// node, after ASKING, and returns its reply.
async fn command_following_ask(stream: &mut TcpStream, args: &[&str]) -> Result<String, String> {
    let reply = try_command(stream, args).await?;
    let Some(to) = (reply.strip_prefix("-ASK ")).and_then(|a| a.rsplit(' ').next()) else {
        return Ok(reply);
    };
    let to: SocketAddr = to.parse().map_err(|_| format!("bad ASK: {reply}"))?;
    let mut asked = try_connect(to).await.ok_or("no connection")?;
    try_command(&mut asked, &["ASKING"]).await?;
    try_command(&mut asked, args).await
}
