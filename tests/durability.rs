//! Data survives restarts: a clean shutdown keeps everything, and with
//! `appendfsync always` (and, because every batch reaches the OS before it
//! is acknowledged, also `everysec`) a `kill -9` loses no acknowledged write.

mod common;
use common::Server;
use redis::Commands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn clean_shutdown_keeps_values_ttls_and_counts() {
    let mut server = Server::start(&[]);
    let mut con = server.client();
    for i in 0..500 {
        let _: () = con.set(format!("key:{i}"), format!("value:{i}")).unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = con.set("in-db-3", "yes").unwrap();
    drop(con);
    server.terminate();
    server.restart();

    let mut con = server.client();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 501);
    for i in (0..500).step_by(37) {
        let value: String = con.get(format!("key:{i}")).unwrap();
        assert_eq!(value, format!("value:{i}"));
    }
    let ttl: i64 = con.ttl("ttl").unwrap();
    assert!((990..=1000).contains(&ttl), "ttl after restart: {ttl}");
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    assert_eq!(con.get::<_, String>("in-db-3").unwrap(), "yes");
}

/// Writers set `w{writer}:{n}` as fast as they can, `batch` SETs per round
/// trip (a pipeline when more than one), and remember every acknowledged `n`;
/// the server is killed mid-stream and restarted.
fn acknowledged_writes_survive_kill9(policy: &str, trials: usize, batch: u64) {
    let dir = tempfile::tempdir().unwrap();
    for trial in 0..trials {
        let mut server = Server::start_in(dir.path(), &["--appendfsync", policy]);
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let (url, stop, acknowledged) = (server.url(), stop.clone(), acknowledged.clone());
                std::thread::spawn(move || {
                    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let keys: Vec<(String, u64)> = (n..n + batch)
                            .map(|i| (format!("t{trial}:w{writer}:{i}"), i))
                            .collect();
                        let mut pipe = redis::pipe();
                        for (key, i) in &keys {
                            pipe.set(key, *i).ignore();
                        }
                        match pipe.query::<()>(&mut con) {
                            Ok(()) => acknowledged.lock().unwrap().extend(keys),
                            Err(_) => return,
                        }
                        n += batch;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(
            acknowledged.len() > 50,
            "too few writes to mean anything: {}",
            acknowledged.len()
        );

        server.restart();
        let mut con = server.client();
        let mut lost = Vec::new();
        for (key, n) in &acknowledged {
            if con.get::<_, Option<u64>>(key).unwrap() != Some(*n) {
                lost.push(key.clone());
            }
        }
        assert!(
            lost.is_empty(),
            "trial {trial} ({policy}): {} of {} acknowledged writes lost, e.g. {:?}",
            lost.len(),
            acknowledged.len(),
            &lost[..lost.len().min(5)]
        );
        server.kill9();
    }
}

#[test]
fn appendfsync_always_loses_no_acknowledged_write_on_kill9() {
    acknowledged_writes_survive_kill9("always", 3, 1);
}

#[test]
fn appendfsync_everysec_loses_no_acknowledged_write_on_process_crash() {
    acknowledged_writes_survive_kill9("everysec", 2, 1);
}

#[test]
fn appendfsync_always_loses_no_acknowledged_pipelined_write_on_kill9() {
    acknowledged_writes_survive_kill9("always", 3, 20);
}

#[test]
fn shutdown_command_exits_and_keeps_data() {
    let mut server = Server::start(&[]);
    let mut con = server.client();
    let _: () = con.set("k", "v").unwrap();
    let _ = redis::cmd("SHUTDOWN").query::<redis::Value>(&mut con);
    assert!(server.wait_exit().success());
    server.restart();
    assert_eq!(server.client().get::<_, String>("k").unwrap(), "v");
}

#[test]
fn flushall_is_durable_and_old_data_does_not_come_back() {
    let mut server = Server::start(&[]);
    let mut con = server.client();
    for i in 0..2000 {
        let _: () = con.set(format!("old:{i}"), i).unwrap();
    }
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let _: () = con.set("new", 1).unwrap();
    drop(con);
    server.kill9();
    server.restart();
    let mut con = server.client();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(con.get::<_, Option<i64>>("old:7").unwrap(), None);
    let keys: Vec<String> = con.keys("*").unwrap();
    assert_eq!(keys, vec!["new".to_string()]);
}
