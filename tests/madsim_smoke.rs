//! The real server driver under madsim: a simulated node runs `server::serve`
//! on the memory engine and a client node talks RESP to it over the
//! simulated network. Runs only in the madsim build:
//!
//!   RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test --test madsim_smoke
#![cfg(madsim)]

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
