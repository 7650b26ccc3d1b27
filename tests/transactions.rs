//! MULTI/EXEC/DISCARD/WATCH/UNWATCH through the real binary: replies byte
//! for byte as redis-server 7.0.15 sends them, WATCH aborts (another
//! client, this client, expiry, FLUSHALL/FLUSHDB/SWAPDB), isolation under
//! concurrent optimistic-locking loops, and cluster-mode queue errors.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, error, int, start, Raw, NIL, NOT_INTEGER, OK};
use std::time::Duration;

const QUEUED: &str = "+QUEUED\r\n";
const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const ABORTED_RESP2: &str = "*-1\r\n";

#[test]
fn queued_commands_run_at_exec_and_reply_in_one_array() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET k 1"), QUEUED);
    assert_eq!(c.line("INCR k"), QUEUED);
    assert_eq!(c.line("GET k"), QUEUED);
    // Nothing ran yet.
    assert_eq!(other.line("GET k"), NIL);
    assert_eq!(c.line("EXEC"), format!("*3\r\n{OK}{}{}", int(2), bulk("2")));
    assert_eq!(other.line("GET k"), bulk("2"));
    // An empty transaction.
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("EXEC"), "*0\r\n");
}

#[test]
fn run_time_errors_are_returned_in_place_without_rollback() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    for command in [
        "SET a 1",
        "INCR a",
        "SET a b",
        "INCR a",
        "HSET a b c",
        "SET z 9",
    ] {
        assert_eq!(c.line(command), QUEUED);
    }
    assert_eq!(
        c.line("EXEC"),
        format!("*6\r\n{OK}{}{OK}{NOT_INTEGER}{WRONGTYPE}{OK}", int(2))
    );
    assert_eq!(c.line("GET a"), bulk("b"));
    assert_eq!(c.line("GET z"), bulk("9"));
}

#[test]
fn queue_time_errors_abort_exec() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET x 1"), QUEUED);
    assert_eq!(
        c.line("FOO bar"),
        error("ERR unknown command 'FOO', with args beginning with: 'bar' ")
    );
    assert_eq!(c.line("GET"), arity("get"));
    assert_eq!(c.line("EXEC"), EXECABORT);
    assert_eq!(c.line("GET x"), NIL, "nothing of the transaction ran");
    // The client is out of MULTI again.
    assert_eq!(c.line("EXEC"), error("ERR EXEC without MULTI"));
}

/// SAVE, SHUTDOWN, SYNC and PSYNC are refused inside MULTI (not queued,
/// and the server goes on), and EXEC then aborts (Redis' `no_multi`).
#[test]
fn no_multi_commands_are_refused_and_abort_exec() {
    let (_server, mut c) = start();
    for command in ["SAVE", "SHUTDOWN NOSAVE", "SYNC", "PSYNC ? -1"] {
        assert_eq!(c.line("MULTI"), OK);
        assert_eq!(c.line("SET x 1"), QUEUED);
        assert_eq!(
            c.line(command),
            error("ERR Command not allowed inside a transaction"),
            "{command}"
        );
        assert_eq!(c.line("EXEC"), EXECABORT, "{command}");
        assert_eq!(c.line("GET x"), NIL, "{command}: nothing of it ran");
    }
    assert_eq!(c.line("PING"), "+PONG\r\n", "the server still serves");
}

#[test]
fn nesting_and_misplaced_commands() {
    let (_server, mut c) = start();
    assert_eq!(c.line("EXEC"), error("ERR EXEC without MULTI"));
    assert_eq!(c.line("DISCARD"), error("ERR DISCARD without MULTI"));
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("MULTI"), error("ERR MULTI calls can not be nested"));
    assert_eq!(
        c.line("WATCH a"),
        error("ERR WATCH inside MULTI is not allowed")
    );
    // Neither error dooms the transaction (as in Redis).
    assert_eq!(c.line("SET a 1"), QUEUED);
    assert_eq!(c.line("UNWATCH"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*2\r\n{OK}{OK}"));
}

#[test]
fn discard_and_reset_drop_the_queue() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET d 1"), QUEUED);
    assert_eq!(c.line("DISCARD"), OK);
    assert_eq!(c.line("GET d"), NIL);
    assert_eq!(c.line("EXEC"), error("ERR EXEC without MULTI"));

    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET d 1"), QUEUED);
    assert_eq!(c.line("RESET"), "+RESET\r\n");
    assert_eq!(c.line("GET d"), NIL);
    assert_eq!(c.line("EXEC"), error("ERR EXEC without MULTI"));

    // RESET also unwatches.
    let mut other = Raw::connect(_server.port);
    assert_eq!(c.line("WATCH w"), OK);
    assert_eq!(c.line("RESET"), "+RESET\r\n");
    assert_eq!(other.line("SET w 1"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn subscribe_inside_multi_runs_at_exec_like_redis() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SUBSCRIBE ch"), QUEUED);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(
        c.line("EXEC"),
        "*2\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
    assert_eq!(c.line("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn watch_aborts_when_another_client_writes() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("WATCH k other"), OK);
    assert_eq!(other.line("SET k 1"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET k 2"), QUEUED);
    assert_eq!(c.line("EXEC"), ABORTED_RESP2);
    assert_eq!(c.line("GET k"), bulk("1"));
    // EXEC unwatched: the next transaction goes through.
    assert_eq!(other.line("SET k 3"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET k 2"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*1\r\n{OK}"));
    // A write to another key, or the same key in another db, does not count.
    assert_eq!(c.line("WATCH k"), OK);
    assert_eq!(other.line("SET unrelated 1"), OK);
    assert_eq!(other.line("SELECT 1"), OK);
    assert_eq!(other.line("SET k 1"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("GET k"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*1\r\n{}", bulk("2")));
}

#[test]
fn watch_sees_member_writes_and_own_writes() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("HSET h f 1"), int(1));
    assert_eq!(c.line("WATCH h"), OK);
    // Overwriting a field leaves the hash's size alone.
    assert_eq!(other.line("HSET h f 2"), int(0));
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("EXEC"), ABORTED_RESP2);

    // This client's own write counts too, as in Redis, even in the same
    // pipelined batch as the EXEC.
    let mut pipeline = Vec::new();
    for command in [
        &["WATCH", "s"][..],
        &["SET", "s", "1"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ] {
        pipeline.extend(resp::encode(command));
    }
    c.send_bytes(&pipeline);
    for expected in [OK, OK, OK, QUEUED, ABORTED_RESP2] {
        assert_eq!(c.reply(), expected);
    }
    // A write before the WATCH in the same batch does not.
    let mut pipeline = Vec::new();
    for command in [
        &["SET", "s", "2"][..],
        &["WATCH", "s"],
        &["MULTI"],
        &["GET", "s"],
        &["EXEC"],
    ] {
        pipeline.extend(resp::encode(command));
    }
    c.send_bytes(&pipeline);
    for expected in [OK, OK, OK, QUEUED] {
        assert_eq!(c.reply(), expected);
    }
    assert_eq!(c.reply(), format!("*1\r\n{}", bulk("2")));
}

#[test]
fn resp3_aborted_exec_is_a_null() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert!(c.line("HELLO 3").starts_with("%7\r\n"));
    assert_eq!(c.line("WATCH k"), OK);
    assert_eq!(other.line("SET k 1"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("EXEC"), "_\r\n");
}

#[test]
fn watch_aborts_when_the_key_expires() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET e 1 PX 100"), OK);
    assert_eq!(c.line("WATCH e"), OK);
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("EXEC"), ABORTED_RESP2);
    // A key with a future expiry does not abort.
    assert_eq!(c.line("SET e 1 EX 100"), OK);
    assert_eq!(c.line("WATCH e"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn flushes_and_swaps_touch_watched_keys_that_exist() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    let exec_after = |c: &mut Raw, other: &mut Raw, watch: &str, action: &str| {
        assert_eq!(c.line(&format!("WATCH {watch}")), OK);
        other.line(action);
        assert_eq!(c.line("MULTI"), OK);
        assert_eq!(c.line("PING"), QUEUED);
        c.line("EXEC")
    };
    assert_eq!(c.line("SET w 1"), OK);
    assert_eq!(
        exec_after(&mut c, &mut other, "w", "FLUSHALL"),
        ABORTED_RESP2
    );
    // Redis 7.0 leaves a watched key that did not exist alone.
    assert_eq!(
        exec_after(&mut c, &mut other, "nokey", "FLUSHALL"),
        "*1\r\n+PONG\r\n"
    );
    assert_eq!(c.line("SET w 1"), OK);
    assert_eq!(
        exec_after(&mut c, &mut other, "w", "FLUSHDB"),
        ABORTED_RESP2
    );
    // Swapping in a database that has the key counts too.
    assert_eq!(c.line("SELECT 1"), OK);
    assert_eq!(c.line("SET s 1"), OK);
    assert_eq!(c.line("SELECT 0"), OK);
    assert_eq!(
        exec_after(&mut c, &mut other, "s", "SWAPDB 0 1"),
        ABORTED_RESP2
    );
}

#[test]
fn unwatch_forgets_the_keys() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("WATCH u"), OK);
    assert_eq!(other.line("SET u 1"), OK);
    assert_eq!(c.line("UNWATCH"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("GET u"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*1\r\n{}", bulk("1")));
    // DISCARD unwatches as well.
    assert_eq!(c.line("WATCH u"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("DISCARD"), OK);
    assert_eq!(other.line("SET u 2"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("GET u"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*1\r\n{}", bulk("2")));
}

#[test]
fn exec_reads_its_own_writes_and_sees_them_in_scans() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    for command in ["SET a 1", "SADD s x y", "DBSIZE", "KEYS a", "SCARD s"] {
        assert_eq!(c.line(command), QUEUED);
    }
    assert_eq!(
        c.line("EXEC"),
        format!(
            "*5\r\n{OK}{}{}*1\r\n{}{}",
            int(2),
            int(2),
            bulk("a"),
            int(2)
        )
    );
}

/// Optimistic locking: clients retry WATCH/GET/MULTI/SET/EXEC on one
/// counter; no increment may be lost, and none applied twice.
#[test]
fn concurrent_watch_retry_loops_lose_no_update() {
    let server = Server::start(&[]);
    const CLIENTS: usize = 4;
    const INCREMENTS: usize = 50;
    let port = server.port;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut aborts = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        assert_eq!(c.line("WATCH counter"), OK);
                        let value = match c.line("GET counter") {
                            reply if reply == NIL => 0,
                            reply => reply
                                .lines()
                                .nth(1)
                                .and_then(|n| n.parse::<i64>().ok())
                                .expect("a number"),
                        };
                        assert_eq!(c.line("MULTI"), OK);
                        let next = (value + 1).to_string();
                        assert_eq!(c.cmd(&["SET", "counter", &next]), QUEUED);
                        match c.line("EXEC") {
                            reply if reply == ABORTED_RESP2 => aborts += 1,
                            reply => {
                                assert_eq!(reply, format!("*1\r\n{OK}"));
                                break;
                            }
                        }
                    }
                }
                aborts
            })
        })
        .collect();
    let aborts: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    let mut c = Raw::connect(port);
    assert_eq!(
        c.line("GET counter"),
        bulk(&(CLIENTS * INCREMENTS).to_string()),
        "after {aborts} aborted attempts"
    );
}

/// EXEC is atomic for other clients: a reader never sees half of it.
#[test]
fn exec_is_isolated_from_concurrent_readers() {
    let server = Server::start(&[]);
    let port = server.port;
    let mut c = Raw::connect(port);
    assert_eq!(c.line("MSET a 0 b 0"), OK);
    let reader = resp::check_pairs_untorn(port, "transaction");
    for i in 1..200 {
        assert_eq!(c.line("MULTI"), OK);
        assert_eq!(c.line(&format!("SET a {i}")), QUEUED);
        assert_eq!(c.line(&format!("SET b {i}")), QUEUED);
        assert_eq!(c.line("EXEC"), format!("*2\r\n{OK}{OK}"));
    }
    reader.join().expect("reader");
}

#[test]
fn cluster_mode_routing_errors_abort_the_transaction() {
    let (_server, mut c) = resp::start_cluster();
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("MSET a 1 b 2"), crossslot);
    assert_eq!(c.line("EXEC"), EXECABORT);
    // Keys of different commands must share a slot too (checked at EXEC).
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET a 1"), QUEUED);
    assert_eq!(c.line("SET b 1"), QUEUED);
    assert_eq!(c.line("EXEC"), crossslot);
    assert_eq!(c.line("GET a"), NIL);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET {t}a 1"), QUEUED);
    assert_eq!(c.line("SET {t}b 1"), QUEUED);
    assert_eq!(c.line("EXEC"), format!("*2\r\n{OK}{OK}"));
}

#[test]
fn client_list_shows_multi_and_dirty_watch() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    let line_of = |other: &mut Raw| {
        let list = other.line("CLIENT LIST");
        list.lines()
            .find(|line| line.contains("cmd=ping"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no client ran PING: {list:?}"))
    };
    assert_eq!(c.line("PING"), "+PONG\r\n");
    let line = line_of(&mut other);
    assert!(
        line.contains(" flags=N ") && line.contains(" multi=-1 "),
        "{line}"
    );
    assert_eq!(c.line("WATCH k"), OK);
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(c.line("PING"), QUEUED);
    assert_eq!(other.line("SET k 1"), OK);
    let line = line_of(&mut other);
    assert!(
        line.contains(" flags=xd ") && line.contains(" multi=2 "),
        "{line}"
    );
    assert_eq!(c.line("EXEC"), ABORTED_RESP2);
}
