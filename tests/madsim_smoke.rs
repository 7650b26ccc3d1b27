//! The real server driver under madsim: a simulated node runs `server::serve`
//! on the memory engine and a client node talks RESP to it over the
//! simulated network. Runs only in the madsim build:
//!
//!   RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test --profile sim --test madsim_smoke
#![cfg(madsim)]

mod madsim_common;

use madsim_common::command;
use redstone::config::Config;
use redstone::engine::memory::MemoryEngine;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` and reads until `expected_len` bytes have arrived.
async fn exchange(stream: &mut TcpStream, request: &[u8], expected_len: usize) -> String {
    stream.write_all(request).await.expect("write");
    stream.flush().await.expect("flush");
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while reply.len() < expected_len {
        // Servers keep timers running, so a missing reply would otherwise
        // wait forever in simulated time instead of failing.
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        let Ok(read) = read else {
            panic!(
                "no complete reply; got {:?}",
                String::from_utf8_lossy(&reply)
            );
        };
        let n = read.expect("read");

        assert!(
            n > 0,
            "server closed after {:?}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// Node addresses are virtual (RFC 5737 documentation range; madsim keeps
/// loopback addresses node-local): no packet leaves the process.
#[madsim::test]
async fn the_driver_serves_clients_in_simulation() {
    let handle = madsim::runtime::Handle::current();
    let server_ip = "192.0.2.1".parse().expect("ip");
    let server = handle.create_node().name("server").ip(server_ip).build();
    server.spawn(async move {
        let config = Config {
            bind: vec![server_ip.to_string()],
            port: 6379,
            ..Config::default()
        };
        let engine = Arc::new(MemoryEngine::new());
        let result = redstone::server::serve(config, engine).await;
        panic!("server stopped: {:?}", result.err().map(|e| e.to_string()));
    });
    let client = handle
        .create_node()
        .name("client")
        .ip("192.0.2.2".parse().expect("ip"))
        .build();
    client
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let address = SocketAddr::new(server_ip, 6379);
            let mut stream = TcpStream::connect(address).await.expect("connect");
            let expected = "+OK\r\n:2\r\n$1\r\n2\r\n:1\r\n";
            let reply = exchange(
                &mut stream,
                b"SET n 1\r\nINCR n\r\nGET n\r\nDBSIZE\r\n",
                expected.len(),
            )
            .await;
            assert_eq!(reply, expected);
            // Expiry runs on simulated time.
            let reply = exchange(&mut stream, b"SET t x PX 200\r\n", 5).await;
            assert_eq!(reply, "+OK\r\n");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let reply = exchange(&mut stream, b"EXISTS t\r\nDBSIZE\r\n", 8).await;
            assert_eq!(reply, ":0\r\n:1\r\n");
            // Pub/sub: a publish on one connection is written out by the
            // subscriber's own task.
            let mut subscriber = TcpStream::connect(address).await.expect("connect");
            let confirm = "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
            let reply = exchange(&mut subscriber, b"SUBSCRIBE news\r\n", confirm.len()).await;
            assert_eq!(reply, confirm);
            let reply = exchange(&mut stream, b"PUBLISH news hi\r\n", 4).await;
            assert_eq!(reply, ":1\r\n");
            let message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
            assert_eq!(exchange(&mut subscriber, b"", message.len()).await, message);
        })
        .await
        .expect("client");
}

/// DESIGN.md §7: with `appendfsync always`, every acknowledged write
/// survives a crash of its node, even one that loses everything not synced
/// (a power cut). The kill lands at a seed-dependent moment mid-stream.
#[madsim::test]
async fn acknowledged_writes_survive_a_power_cut_with_appendfsync_always() {
    let handle = madsim::runtime::Handle::current();
    let server_ip: std::net::IpAddr = "192.0.2.1".parse().expect("ip");
    let engine = Arc::new(MemoryEngine::new());
    let server = {
        let engine = engine.clone();
        handle
            .create_node()
            .name("server")
            .ip(server_ip)
            .init(move || {
                let engine = engine.clone();
                async move {
                    let config = Config {
                        bind: vec![server_ip.to_string()],
                        port: 6379,
                        appendfsync: redstone::config::AppendFsync::Always,
                        ..Config::default()
                    };
                    let _ = redstone::server::serve(config, engine).await;
                }
            })
            .build()
    };
    let client = handle
        .create_node()
        .name("client")
        .ip("192.0.2.2".parse().expect("ip"))
        .build();
    let address = SocketAddr::new(server_ip, 6379);
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = {
        let acknowledged = acknowledged.clone();
        client.spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut stream = TcpStream::connect(address).await.expect("connect");
            for i in 0u64.. {
                let request = format!("SET k{i} {i}\r\n");
                // A simulated stream delivers bytes only when flushed.
                if stream.write_all(request.as_bytes()).await.is_err()
                    || stream.flush().await.is_err()
                {
                    return;
                }

                let mut reply = [0u8; 5];
                match stream.read_exact(&mut reply).await {
                    Ok(_) if &reply == b"+OK\r\n" => acknowledged.lock().expect("lock").push(i),
                    _ => return,
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300 + rand::random::<u64>() % 700)).await;
    handle.kill(server.id());
    engine.power_cut();
    let _ = writer.await;
    handle.restart(server.id());

    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 10,
        "too few writes: {}",
        acknowledged.len()
    );
    client
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut stream = TcpStream::connect(address).await.expect("reconnect");
            for i in acknowledged {
                let expected = format!("${}\r\n{i}\r\n", i.to_string().len());
                let reply = exchange(
                    &mut stream,
                    format!("GET k{i}\r\n").as_bytes(),
                    expected.len(),
                )
                .await;
                assert_eq!(reply, expected, "acknowledged write k{i} lost");
            }
        })
        .await
        .expect("check");
}

async fn cluster_state(address: SocketAddr) -> Option<String> {
    let connect = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(address));
    let mut stream = connect.await.ok()?.ok()?;
    let info = command(&mut stream, &["CLUSTER", "INFO"]).await;
    info.lines()
        .find_map(|l| l.strip_prefix("cluster_state:"))
        .map(|s| s.trim().to_string())
}

/// Polls until `address` reports `state`; returns how long that took.
async fn wait_for_state(address: SocketAddr, state: &str, limit: Duration) -> Duration {
    let start = tokio::time::Instant::now();
    loop {
        if cluster_state(address).await.as_deref() == Some(state) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{address} never reported cluster_state:{state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The whole stack in cluster mode: three server nodes form a cluster the
/// way `redis-cli --cluster create` builds one, serve and redirect keys,
/// detect a killed master (FAIL within 2 × node-timeout + 1 s of simulated
/// time) and take it back after a restart from its nodes.conf.
#[madsim::test]
async fn three_nodes_form_a_cluster_detect_a_crash_and_recover() {
    const NODE_TIMEOUT_MS: u64 = 1000;
    let handle = madsim::runtime::Handle::current();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let ips: Vec<std::net::IpAddr> = (0..3)
        .map(|i| format!("192.0.2.{}", 11 + i).parse().expect("ip"))
        .collect();
    let mut nodes = Vec::new();
    for (i, ip) in ips.iter().copied().enumerate() {
        let dir = dirs[i].path().to_path_buf();
        let node = handle
            .create_node()
            .name(format!("node{i}"))
            .ip(ip)
            .init(move || {
                let dir = dir.clone();
                async move {
                    let mut config = Config {
                        bind: vec![ip.to_string()],
                        port: 7000,
                        dir,
                        ..Config::default()
                    };
                    config.cluster.enabled = true;
                    config.cluster.node_timeout = NODE_TIMEOUT_MS;
                    let _ = redstone::server::serve(config, Arc::new(MemoryEngine::new())).await;
                }
            })
            .build();
        nodes.push(node);
    }
    let client = handle
        .create_node()
        .name("client")
        .ip("192.0.2.20".parse().expect("ip"))
        .build();
    let addresses: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, 7000)).collect();
    let setup = addresses.clone();
    client
        .spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let ranges = [("0", "5460"), ("5461", "10922"), ("10923", "16383")];
            for (i, address) in setup.iter().enumerate() {
                let mut stream = TcpStream::connect(*address).await.expect("connect");
                let (first, last) = ranges[i];
                let epoch = (i + 1).to_string();
                assert_eq!(
                    command(&mut stream, &["CLUSTER", "ADDSLOTSRANGE", first, last]).await,
                    "OK"
                );
                assert_eq!(
                    command(&mut stream, &["CLUSTER", "SET-CONFIG-EPOCH", &epoch]).await,
                    "OK"
                );
                if i > 0 {
                    let meet = ["CLUSTER", "MEET", "192.0.2.11", "7000"];
                    assert_eq!(command(&mut stream, &meet).await, "OK");
                }
            }
            for address in &setup {
                wait_for_state(*address, "ok", Duration::from_secs(20)).await;
            }
            // Each key is served by its slot's owner; the others redirect.
            let mut first = TcpStream::connect(setup[0]).await.expect("connect");
            assert_eq!(command(&mut first, &["SET", "bar", "1"]).await, "OK"); // slot 5061
            assert_eq!(
                command(&mut first, &["SET", "foo", "1"]).await,
                "-MOVED 12182 192.0.2.13:7000"
            );
        })
        .await
        .expect("cluster setup");

    handle.kill(nodes[2].id());
    let watcher = addresses.clone();
    let took = client
        .spawn(async move { wait_for_state(watcher[0], "fail", Duration::from_secs(30)).await })
        .await
        .expect("failure detection");
    assert!(
        took <= Duration::from_millis(2 * NODE_TIMEOUT_MS + 1000),
        "FAIL took {took:?}"
    );

    handle.restart(nodes[2].id());
    let watcher = addresses.clone();
    client
        .spawn(async move {
            for address in &watcher {
                wait_for_state(*address, "ok", Duration::from_secs(30)).await;
            }
            // The restarted node kept its slots (and its identity) from nodes.conf.
            let mut third = TcpStream::connect(watcher[2]).await.expect("connect");
            assert_eq!(command(&mut third, &["SET", "foo", "2"]).await, "OK");
        })
        .await
        .expect("recovery");
}
