//! DUMP and RESTORE against a real server, and values moved both ways with
//! a real redis-server 7.0 (installed by `.ci/run`).

mod common;
mod resp;

use common::real_redis::RealRedis;
use common::Server;
use resp::{error, start, NIL, NOT_INTEGER, SYNTAX};

fn dump(con: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(con).unwrap()
}

fn restore(con: &mut redis::Connection, key: &str, ttl: i64, payload: &[u8]) {
    let _: () = redis::cmd("RESTORE")
        .arg(key)
        .arg(ttl)
        .arg(payload)
        .query(con)
        .unwrap_or_else(|e| panic!("RESTORE {key} {payload:?}: {e}"));
}

const KEYS: [&str; 7] = ["s", "n", "l", "i", "t", "h", "z"];

/// Fills `con` with one key of each type DUMP serializes.
fn fill(con: &mut redis::Connection) {
    let _: () = redis::pipe()
        .cmd("SET")
        .arg("s")
        .arg("x".repeat(100))
        .cmd("SET")
        .arg("n")
        .arg(12345)
        .cmd("RPUSH")
        .arg("l")
        .arg("a")
        .arg(-100000)
        .arg("b".repeat(20))
        .cmd("SADD")
        .arg("i")
        .arg(1)
        .arg(-2)
        .arg(300000)
        .cmd("SADD")
        .arg("t")
        .arg("x")
        .arg("y")
        .cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .arg("n")
        .arg(-5)
        .arg("x".repeat(70))
        .arg("y")
        .cmd("ZADD")
        .arg("z")
        .arg(1.5)
        .arg("a")
        .arg("-inf")
        .arg("b")
        .arg(3)
        .arg("c")
        .query(con)
        .unwrap();
}

/// The value of every key `fill` writes, type-independently comparable.
fn contents(con: &mut redis::Connection) -> Vec<String> {
    let mut sets: Vec<Vec<String>> = ["i", "t"]
        .iter()
        .map(|key| redis::cmd("SMEMBERS").arg(*key).query(con).unwrap())
        .collect();
    sets.iter_mut().for_each(|members| members.sort());
    let mut hash: Vec<(String, String)> = redis::cmd("HGETALL").arg("h").query(con).unwrap();
    hash.sort();
    let strings: Vec<String> = redis::cmd("MGET").arg("s").arg("n").query(con).unwrap();
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg("l")
        .arg(0)
        .arg(-1)
        .query(con)
        .unwrap();
    vec![
        format!("{strings:?}"),
        format!("{list:?}"),
        format!("{sets:?}"),
        format!("{hash:?}"),
    ]
}

#[test]
fn values_move_between_redstone_and_redis_server_both_ways() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server is not installed: skipping the cross-check");
        return;
    };
    let mut theirs = real.client();
    let server = Server::start(&[]);
    let mut ours = server.client();
    fill(&mut theirs);
    let expected = contents(&mut theirs);
    for key in KEYS {
        let payload = dump(&mut theirs, key);
        restore(&mut ours, key, 0, &payload);
    }
    assert_eq!(contents(&mut ours), expected);
    let _: () = redis::cmd("FLUSHALL").query(&mut theirs).unwrap();
    for key in KEYS {
        let payload = dump(&mut ours, key);
        restore(&mut theirs, key, 0, &payload);
    }
    assert_eq!(contents(&mut theirs), expected);
}

#[test]
fn dump_of_a_missing_key_is_nil() {
    let (_server, mut c) = start();
    assert_eq!(c.line("DUMP nokey"), NIL);
}

#[test]
fn restore_sets_a_relative_or_absolute_ttl() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let payload = dump(&mut con, "k");
    restore(&mut con, "rel", 100_000, &payload);
    let pttl: i64 = redis::cmd("PTTL").arg("rel").query(&mut con).unwrap();
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    let _: () = redis::cmd("RESTORE")
        .arg("abs")
        .arg(4_000_000_000_000u64)
        .arg(&payload)
        .arg("ABSTTL")
        .query(&mut con)
        .unwrap();
    let at: i64 = redis::cmd("PEXPIRETIME")
        .arg("abs")
        .query(&mut con)
        .unwrap();
    assert_eq!(at, 4_000_000_000_000);
}

#[test]
fn restore_with_a_past_absolute_ttl_creates_nothing() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let payload = dump(&mut con, "k");
    let reply: String = redis::cmd("RESTORE")
        .arg("k")
        .arg(1)
        .arg(&payload)
        .arg("ABSTTL")
        .arg("REPLACE")
        .query(&mut con)
        .unwrap();
    assert_eq!(reply, "OK");
    let exists: i64 = redis::cmd("EXISTS").arg("k").query(&mut con).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn restore_refuses_an_existing_key_without_replace() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let payload = dump(&mut con, "k");
    let refused = redis::cmd("RESTORE")
        .arg("k")
        .arg(0)
        .arg(&payload)
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(refused.code(), Some("BUSYKEY"));
    let _: () = redis::cmd("RPUSH")
        .arg("l")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("l")
        .arg(0)
        .arg(&payload)
        .arg("REPLACE")
        .query(&mut con)
        .unwrap();
    let value: String = redis::cmd("GET").arg("l").query(&mut con).unwrap();
    assert_eq!(value, "v");
}

#[test]
fn restore_errors_have_redis_wording() {
    let (_server, mut c) = start();
    let bad = "\x00\x01v\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    assert_eq!(
        c.cmd(&["RESTORE", "k", "0", bad]),
        error("ERR DUMP payload version or checksum are wrong")
    );
    assert_eq!(
        c.cmd(&["RESTORE", "k", "-1", bad]),
        error("ERR Invalid TTL value, must be >= 0")
    );
    assert_eq!(c.cmd(&["RESTORE", "k", "x", bad]), NOT_INTEGER);
    assert_eq!(c.cmd(&["RESTORE", "k", "0", bad, "foo"]), SYNTAX);
    assert_eq!(
        c.cmd(&["RESTORE", "k", "0", bad, "IDLETIME", "-1"]),
        error("ERR Invalid IDLETIME value, must be >= 0")
    );
    assert_eq!(
        c.cmd(&["RESTORE", "k", "0", bad, "FREQ", "256"]),
        error("ERR Invalid FREQ value, must be >= 0 and <= 255")
    );
    assert_eq!(
        c.cmd(&["RESTORE", "k", "0", bad, "FREQ", "1", "IDLETIME", "1"]),
        SYNTAX
    );
}

#[test]
fn restore_refuses_an_unknown_encoding() {
    let (_server, mut c) = start();
    // A valid envelope (version, CRC64) around RDB type 3 (old sorted sets).
    let mut payload = vec![3u8, 0, 10, 0];
    payload.extend_from_slice(&redstone::rdb::crc64(&payload).to_le_bytes());
    assert_eq!(
        c.cmd(&[&b"RESTORE"[..], b"k", b"0", &payload]),
        error("ERR Bad data format")
    );
}
