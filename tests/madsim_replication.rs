//! Replication under faults, the whole stack in madsim: a master and a
//! replica (real servers on memory engines that survive crashes as disks
//! do, `appendfsync always`), a client writing with `WAIT 1` and another
//! reading from the replica, while the seed decides the network's latency
//! and loss, the disks' sync latency (up to 20 ms), partitions of the
//! replication link (both ways or one way) and crashes (with power cuts)
//! of either node.
//!
//! Invariants:
//! - a write the master acknowledged survives its crashes (`always`);
//! - the replica never shows a value that was never written;
//! - after healing, the replica's data equals the master's;
//! - when the master dies for good, the promoted replica has every write
//!   `WAIT 1` confirmed.
//!
//!   RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test --profile sim --test madsim_replication
#![cfg(madsim)]

mod madsim_common;

use madsim::rand::Rng;
use madsim_common::{
    command, connect, info_field, seed_catching, server_node, slow_disk, try_command,
    unreliable_network, PORT,
};
use redstone::config::{AppendFsync, Config};
use redstone::engine::memory::MemoryEngine;
use redstone::planted::Bug;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// Keys the writer cycles through; the value written is the write's
/// sequence number `n`, to key `k{n % KEYS}`.
const KEYS: u64 = 40;
const LONG: Duration = Duration::from_secs(60);

fn durable() -> Config {
    Config {
        appendfsync: AppendFsync::Always,
        ..Config::default()
    }
}

/// What the writer knows, by key: the last write the master acknowledged,
/// and the last one `WAIT 1` confirmed a replica had.
#[derive(Default)]
struct Ledger {
    acknowledged: HashMap<u64, u64>,
    replicated: HashMap<u64, u64>,
}

/// Writes `SET k{n % KEYS} n` for n = 0, 1, ... through the master, with a
/// `WAIT 1 300` every five writes, reconnecting after any failure, until
/// `stop`. `attempted` is one more than the highest n ever sent.
async fn write_until(
    master: SocketAddr,
    ledger: Arc<Mutex<Ledger>>,
    attempted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut stream = connect(master, LONG).await;
        // Writes acknowledged on this connection since its last WAIT.
        let mut unconfirmed = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let key = n % KEYS;
            attempted.store(n + 1, Ordering::Relaxed);
            let reply =
                try_command(&mut stream, &["SET", &format!("k{key}"), &n.to_string()]).await;
            match reply.as_deref() {
                Ok("OK") => {
                    ledger.lock().unwrap().acknowledged.insert(key, n);
                    unconfirmed.push((key, n));
                }
                _ => break,
            }
            n += 1;
            if n.is_multiple_of(5) {
                match try_command(&mut stream, &["WAIT", "1", "300"])
                    .await
                    .as_deref()
                {
                    Ok("1") => {
                        let mut ledger = ledger.lock().unwrap();
                        for (key, n) in unconfirmed.drain(..) {
                            ledger.replicated.insert(key, n);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads random keys from the replica until `stop`: every value must be
/// one the writer sent to that key.
async fn read_until(replica: SocketAddr, attempted: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let mut stream = connect(replica, LONG).await;
        while !stop.load(Ordering::Relaxed) {
            let key = madsim::rand::thread_rng().gen_range(0..KEYS);
            let Ok(value) = try_command(&mut stream, &["GET", &format!("k{key}")]).await else {
                break;
            };
            if !value.is_empty() && !value.starts_with('-') {
                let n: u64 = value.parse().expect("a written value is a number");
                assert!(
                    n % KEYS == key && n < attempted.load(Ordering::Relaxed),
                    "k{key} read {n}, which was never written to it"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every key's value (all are numbers), read with KEYS and GET.
async fn contents(stream: &mut TcpStream) -> HashMap<u64, u64> {
    let mut values = HashMap::new();
    for key in 0..KEYS {
        let value = command(stream, &["GET", &format!("k{key}")]).await;
        if !value.is_empty() {
            let n = value
                .parse()
                .unwrap_or_else(|_| panic!("GET k{key}: {value}"));
            values.insert(key, n);
        }
    }
    values
}

async fn offset(stream: &mut TcpStream) -> u64 {
    info_field(stream, "replication", "master_repl_offset")
        .await
        .and_then(|offset| offset.parse().ok())
        .unwrap_or(0)
}

/// Makes the node at `replica` replicate `master`.
async fn follow(replica: SocketAddr, master: IpAddr) {
    let mut stream = connect(replica, LONG).await;
    let port = PORT.to_string();
    assert_eq!(
        command(&mut stream, &["REPLICAOF", &master.to_string(), &port]).await,
        "OK"
    );
}

#[madsim::test]
async fn a_replica_converges_and_keeps_what_wait_confirmed_through_crashes_and_partitions() {
    faults_then_failover().await;
}

/// The invariant on WAIT is live: with WAIT counting replicas that did not
/// acknowledge, some seed loses a confirmed write.
#[test]
fn the_simulation_catches_wait_counting_unacknowledged_replicas() {
    let caught = seed_catching(
        Bug::WaitIgnoresAcknowledgements,
        40,
        "WAIT confirmed",
        faults_then_failover,
    );
    assert!(caught.is_some(), "no seed in 1..=40 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The invariant on acknowledged writes is live: with replies sent before
/// the sync `appendfsync always` asks for, some seed's power cut loses an
/// acknowledged write.
#[test]
fn the_simulation_catches_replies_before_the_sync() {
    let caught = seed_catching(
        Bug::ReplyBeforeSync,
        20,
        "acknowledged",
        faults_then_failover,
    );
    assert!(caught.is_some(), "no seed in 1..=20 caught the planted bug");
    eprintln!("the planted bug was caught by seed {caught:?}");
}

/// The scenario of the module comment.
async fn faults_then_failover() {
    let handle = madsim::runtime::Handle::current();
    let net = madsim::net::NetSim::current();
    unreliable_network(Duration::from_millis(50), 0.05);
    slow_disk(Duration::from_millis(20));
    let master_ip: IpAddr = "192.0.2.31".parse().unwrap();
    let replica_ip: IpAddr = "192.0.2.32".parse().unwrap();
    let (master_engine, replica_engine) =
        (Arc::new(MemoryEngine::new()), Arc::new(MemoryEngine::new()));
    let master = server_node(
        &handle,
        "master",
        master_ip,
        master_engine.clone(),
        durable(),
    );
    let replica = server_node(
        &handle,
        "replica",
        replica_ip,
        replica_engine.clone(),
        durable(),
    );
    let client = handle
        .create_node()
        .name("client")
        .ip("192.0.2.39".parse().unwrap())
        .build();
    let (master_at, replica_at) = (
        SocketAddr::new(master_ip, PORT),
        SocketAddr::new(replica_ip, PORT),
    );
    client.spawn(follow(replica_at, master_ip)).await.unwrap();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let attempted = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = client.spawn(write_until(
        master_at,
        ledger.clone(),
        attempted.clone(),
        stop.clone(),
    ));
    let reader = client.spawn(read_until(replica_at, attempted.clone(), stop.clone()));

    // The faults, as the seed decides.
    let mut rng = madsim::rand::thread_rng();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        let down = Duration::from_millis(rng.gen_range(100..2000));
        let fault = rng.gen_range(0..5);
        eprintln!(
            "fault {fault} at n={} for {down:?}",
            attempted.load(Ordering::Relaxed)
        );
        match fault {
            0 => {
                net.clog_link(master.id(), replica.id());
                net.clog_link(replica.id(), master.id());
                tokio::time::sleep(down).await;
                net.unclog_link(master.id(), replica.id());
                net.unclog_link(replica.id(), master.id());
            }
            1 => {
                handle.kill(replica.id());
                replica_engine.power_cut();
                tokio::time::sleep(down).await;
                handle.restart(replica.id());
                client.spawn(follow(replica_at, master_ip)).await.unwrap();
            }
            2 => {
                handle.kill(master.id());
                master_engine.power_cut();
                tokio::time::sleep(down).await;
                handle.restart(master.id());
            }
            3 => {
                // One way only: the stream flows, the acknowledgements do
                // not (or the other way round).
                let (from, to) = if rng.gen_bool(0.5) {
                    (master.id(), replica.id())
                } else {
                    (replica.id(), master.id())
                };
                net.clog_link(from, to);
                tokio::time::sleep(down).await;
                net.unclog_link(from, to);
            }
            _ => {}
        }
    }
    // Healed: the replica catches up and holds exactly the master's data,
    // which holds every write it acknowledged.
    let checked = {
        let ledger = ledger.clone();
        client.spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut m = connect(master_at, LONG).await;
            let mut r = connect(replica_at, LONG).await;
            // Writes stop (the writer waits) while the two are compared.
            assert_eq!(
                command(&mut m, &["CLIENT", "PAUSE", "20000", "WRITE"]).await,
                "OK"
            );
            let acknowledged = ledger.lock().unwrap().acknowledged.clone();
            let target = offset(&mut m).await;
            let history = info_field(&mut m, "replication", "master_replid").await;
            let start = tokio::time::Instant::now();
            // Caught up: linked, in the master's history, at its offset.
            loop {
                let linked = info_field(&mut r, "replication", "master_link_status").await;
                if linked.as_deref() == Some("up")
                    && info_field(&mut r, "replication", "master_replid").await == history
                    && offset(&mut r).await >= target
                {
                    break;
                }
                assert!(start.elapsed() < LONG, "the replica never caught up");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let master_data = contents(&mut m).await;
            assert_eq!(contents(&mut r).await, master_data, "the replica differs");
            for (key, n) in acknowledged {
                let kept = master_data.get(&key).copied();
                assert!(
                    kept.is_some_and(|kept| kept >= n),
                    "k{key}: acknowledged {n}, the master has {kept:?}"
                );
            }
            assert_eq!(command(&mut m, &["CLIENT", "UNPAUSE"]).await, "OK");
        })
    };
    checked.await.unwrap();

    // The master dies for good mid-stream, maybe after its replica was cut
    // off for a while; the replica takes over with every write WAIT
    // confirmed.
    tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1000))).await;
    if rng.gen_bool(0.5) {
        net.clog_link(master.id(), replica.id());
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..1000))).await;
    }
    handle.kill(master.id());
    stop.store(true, Ordering::Relaxed);
    let _ = writer.await;
    let _ = reader.await;
    let replicated = ledger.lock().unwrap().replicated.clone();
    assert!(!replicated.is_empty(), "WAIT never confirmed a write");
    client
        .spawn(async move {
            let mut r = connect(replica_at, LONG).await;
            assert_eq!(command(&mut r, &["REPLICAOF", "NO", "ONE"]).await, "OK");
            let data = contents(&mut r).await;
            for (key, n) in replicated {
                let kept = data.get(&key).copied();
                assert!(
                    kept.is_some_and(|kept| kept >= n),
                    "k{key}: WAIT confirmed {n}, the promoted replica has {kept:?}"
                );
            }
        })
        .await
        .unwrap();
}
