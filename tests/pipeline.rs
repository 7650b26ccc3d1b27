//! Pipelined commands share one write transaction per batch: they must
//! behave exactly as if sent one at a time.

mod common;
use common::{exchange, Server};
use redis::Commands;
use std::time::Duration;

fn inline(commands: &[&str]) -> Vec<u8> {
    commands
        .iter()
        .flat_map(|c| format!("{c}\r\n").into_bytes())
        .collect()
}

#[test]
fn a_pipeline_answers_like_commands_sent_one_by_one() {
    let commands = [
        "SET a 1",
        "INCR a",
        "GET a",
        "SET b x EX 0",
        "INCR b",
        "SET b x",
        "INCR b",
        "MGET a b c",
        "DBSIZE",
        "KEYS *",
        "SELECT 2",
        "SET a in-db-2",
        "SWAPDB 0 2",
        "GET a",
        "SELECT 0",
        "GET a",
        "FLUSHDB",
        "DBSIZE",
        "SET c 1",
        "RENAME c d",
        "EXISTS c d",
        "QUIT",
    ];
    let pipelined = {
        let server = Server::start(&[]);
        exchange(
            &mut server.raw(),
            &inline(&commands),
            Duration::from_secs(5),
        )
    };
    let one_by_one = {
        let server = Server::start(&[]);
        let mut stream = server.raw();
        let mut replies = Vec::new();
        for command in commands {
            stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            replies.extend(exchange(
                &mut stream,
                &inline(&[command]),
                Duration::from_millis(300),
            ));
        }
        replies
    };
    assert_eq!(
        String::from_utf8_lossy(&pipelined),
        String::from_utf8_lossy(&one_by_one)
    );
    assert!(String::from_utf8_lossy(&pipelined).starts_with("+OK\r\n:2\r\n$1\r\n2\r\n"));
}

#[test]
fn concurrent_pipelines_lose_no_increment() {
    let server = Server::start(&[]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                for _ in 0..50 {
                    let mut pipe = redis::pipe();
                    for _ in 0..100 {
                        pipe.incr("counter", 1).ignore();
                    }
                    pipe.query::<()>(&mut con).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let total: i64 = server.client().get("counter").unwrap();
    assert_eq!(total, 4 * 50 * 100);
}

/// Pipelines that contend for the write lock wait for it as tasks, keeping
/// the request that found it taken: every request still runs once, in the
/// order sent, with reads and writes interleaved.
#[test]
fn contended_pipelines_run_every_request_once_in_order() {
    let server = Server::start(&[]);
    let threads: Vec<_> = (0..4)
        .map(|client| {
            let url = server.url();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                let list = format!("list:{client}");
                for round in 0..20 {
                    let mut pipe = redis::pipe();
                    for i in 0..50 {
                        pipe.incr("shared", 1).ignore();
                        pipe.cmd("LLEN").arg(&list);
                        pipe.rpush(&list, round * 50 + i).ignore();
                    }
                    // Each LLEN runs after exactly the pushes sent before it.
                    let lengths: Vec<i64> = pipe.query(&mut con).unwrap();
                    let expected: Vec<i64> = (round * 50..round * 50 + 50).collect();
                    assert_eq!(lengths, expected);
                }
                let items: Vec<i64> = redis::cmd("LRANGE")
                    .arg(&list)
                    .arg(0)
                    .arg(-1)
                    .query(&mut con)
                    .unwrap();
                assert_eq!(items, (0..1000).collect::<Vec<i64>>());
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let total: i64 = server.client().get("shared").unwrap();
    assert_eq!(total, 4 * 20 * 50);
}

/// A batch that finds the write lock taken reads the requests behind it
/// ahead of time. Those behind a blocking command must still run once the
/// client is served, with no further input from it.
#[test]
fn requests_read_ahead_behind_a_blocking_command_run_once_it_is_served() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let server = Server::start(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    // Writers keep the write lock busy, so that the pipelines below find it
    // taken and read ahead.
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let (url, stop) = (server.url(), stop.clone());
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let mut pipe = redis::pipe();
                    for i in 0..50 {
                        pipe.set(format!("w{writer}:{i}"), i).ignore();
                    }
                    pipe.query::<()>(&mut con).unwrap();
                }
            })
        })
        .collect();
    let mut con = server.client();
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for round in 0..30 {
        let queue = format!("queue:{round}");
        let pusher = {
            let (url, queue) = (server.url(), queue.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                con.rpush::<_, _, ()>(&queue, round).unwrap();
            })
        };
        let mut pipe = redis::pipe();
        pipe.incr("rounds", 1).ignore();
        pipe.cmd("BLPOP").arg(&queue).arg(0);
        pipe.set(format!("after:{round}"), round).ignore();
        pipe.get(format!("after:{round}"));
        let (popped, after): ((String, i64), i64) = pipe.query(&mut con).unwrap();
        assert_eq!((popped, after), ((queue, round), round));
        pusher.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
}

#[test]
fn other_clients_read_a_pipeline_only_after_it_is_answered() {
    let server = Server::start(&[]);
    let mut writer = server.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.set(format!("k{i}"), i).ignore();
    }
    pipe.query::<()>(&mut writer).unwrap();
    // Acknowledged means visible to everyone.
    let mut reader = server.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut reader).unwrap();
    assert_eq!(n, 2000);
    assert_eq!(reader.get::<_, i64>("k1999").unwrap(), 1999);
}
