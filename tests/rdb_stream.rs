//! Streams in DUMP payloads against a real redis-server 7.0 (installed by
//! `.ci/run`; the tests skip when it is missing): `rdb::restore` reads what
//! redis-server DUMPs into the stream XRANGE and XINFO STREAM FULL show,
//! `rdb::dump` of that stream is redis-server's DUMP byte for byte (with
//! `rdbcompression no`; Redis compresses with LZF otherwise) unless XDEL or
//! XTRIM left deleted entries in its nodes, and redis-server RESTOREs what
//! `rdb::dump` writes into the same stream.

mod common;

use common::real_redis::RealRedis;
use common::streams;
use redstone::rdb::{self, NodeLimits, Value};

fn run(con: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn dump(con: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(con).expect("DUMP")
}

/// Streams whose nodes hold no deleted entries (made by XADD, or emptied
/// by XDEL), which `rdb::dump` lays out as Redis does; named for what they
/// exercise.
fn build_appended(con: &mut redis::Connection) -> Vec<&'static str> {
    // Different field sets, integer-looking fields and values of every
    // listpack integer width, negative numbers, text that is not an
    // integer for Redis ("007", "-0", 20 digits), a binary value.
    for (id, pairs) in [
        ("1-1", vec!["f", "v", "n", "-5"]),
        ("1-2", vec!["f", "70000", "n", "1"]),
        ("1-3", vec!["n", "1", "f", "2"]),
        ("2-0", vec!["12", "-4096", "-4097", "127", "128", "-32769"]),
        ("2-5", vec!["f", "007", "n", "-0"]),
        (
            "3-0",
            vec!["f", "-9223372036854775808", "n", "9223372036854775807"],
        ),
        (
            "3-1",
            vec!["f", "18446744073709551616", "n", "\u{0}\u{ff}\r\n"],
        ),
    ] {
        let mut args = vec!["XADD", "mixed", id];
        args.extend(pairs);
        run(con, &args);
    }
    // More than 100 entries: several nodes; same fields mostly, every 7th
    // with another set; sequence numbers that restart in later ms (a
    // negative seq delta from the node's master ID).
    for i in 0..350u64 {
        let seq = i % 3 + if i / 3 % 2 == 0 { 5 } else { 0 };
        let id = format!("{}-{seq}", 1000 + i / 3);
        let value = format!("{}", i as i64 * 37 - 5000);
        if i % 7 == 3 {
            run(con, &["XADD", "many", &id, "other", &value]);
        } else {
            run(con, &["XADD", "many", &id, "a", &value, "b", "x"]);
        }
    }
    // Big values: nodes split by bytes (4096) before 100 entries, 12 and
    // 32 bit listpack string lengths.
    for (i, len) in [10, 70, 5000, 100, 3000, 1500, 70_000, 5]
        .iter()
        .enumerate()
    {
        let value = "v".repeat(*len);
        run(
            con,
            &["XADD", "big", &format!("{}-0", i + 1), "field", &value],
        );
    }
    // Edge IDs: 0-1 (0-0 cannot be added), the largest ms and seq.
    run(con, &["XADD", "edges", "0-1", "f", "v"]);
    run(con, &["XADD", "edges", "0-18446744073709551614", "f", "v"]);
    run(con, &["XADD", "edges", "9223372036854775808-0", "f", "v"]);
    run(con, &["XADD", "edges", "18446744073709551615-0", "f", "v"]);
    run(
        con,
        &[
            "XADD",
            "edges",
            "18446744073709551615-18446744073709551615",
            "f",
            "v",
        ],
    );
    // Consumer groups: deliveries, acks, claims, a consumer with nothing
    // pending, a group at the end, names that read as integers.
    for i in 1..=12 {
        run(
            con,
            &["XADD", "groups", &format!("{i}-0"), "k", &i.to_string()],
        );
    }
    run(con, &["XGROUP", "CREATE", "groups", "g", "0"]);
    run(con, &["XGROUP", "CREATE", "groups", "123", "$"]);
    run(
        con,
        &[
            "XGROUP",
            "CREATE",
            "groups",
            "mid",
            "5-0",
            "ENTRIESREAD",
            "5",
        ],
    );
    run(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "4",
            "STREAMS",
            "groups",
            ">",
        ],
    );
    run(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "-5",
            "COUNT",
            "3",
            "STREAMS",
            "groups",
            ">",
        ],
    );
    run(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "mid",
            "bob",
            "STREAMS",
            "groups",
            ">",
        ],
    );
    run(con, &["XACK", "groups", "g", "2-0", "5-0"]);
    run(con, &["XCLAIM", "groups", "g", "carol", "0", "1-0", "6-0"]);
    run(
        con,
        &[
            "XCLAIM",
            "groups",
            "g",
            "carol",
            "0",
            "1-0",
            "RETRYCOUNT",
            "9",
        ],
    );
    run(con, &["XGROUP", "CREATECONSUMER", "groups", "g", "idle"]);
    run(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "STREAMS",
            "groups",
            "0",
        ],
    );
    // No entries: a group made with MKSTREAM; XSETID past everything.
    run(con, &["XGROUP", "CREATE", "empty", "grp", "$", "MKSTREAM"]);
    run(con, &["XADD", "setid", "5-5", "f", "v"]);
    run(
        con,
        &[
            "XSETID",
            "setid",
            "99-0",
            "ENTRIESADDED",
            "1000",
            "MAXDELETEDID",
            "7-0",
        ],
    );
    // XDEL of a node's last live entry drops the node: no deleted entry
    // is left behind.
    run(con, &["XADD", "all-gone", "1-0", "f", "v"]);
    run(con, &["XADD", "all-gone", "2-0", "f", "v"]);
    run(con, &["XDEL", "all-gone", "1-0", "2-0"]);
    vec![
        "mixed", "many", "big", "edges", "groups", "empty", "setid", "all-gone",
    ]
}

/// Streams with entries deleted by XDEL and XTRIM, which Redis keeps in
/// their nodes flagged as deleted.
fn build_deleted(con: &mut redis::Connection) -> Vec<&'static str> {
    for i in 1..=250 {
        run(
            con,
            &["XADD", "holes", &format!("{i}-0"), "f", &i.to_string()],
        );
    }
    run(
        con,
        &["XDEL", "holes", "1-0", "50-0", "101-0", "102-0", "250-0"],
    );
    run(con, &["XGROUP", "CREATE", "holes", "g", "0"]);
    run(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "3",
            "STREAMS",
            "holes",
            ">",
        ],
    );
    // A deleted entry still pending.
    run(con, &["XDEL", "holes", "3-0"]);
    for i in 1..=150 {
        run(con, &["XADD", "trimmed", &format!("{i}-0"), "f", "v"]);
    }
    run(con, &["XTRIM", "trimmed", "MAXLEN", "=", "120"]);
    vec!["holes", "trimmed"]
}

/// redis-server RESTOREs `payload` into the stream `expected` at `key`.
fn check_redis_restores(
    con: &mut redis::Connection,
    key: &str,
    payload: &[u8],
    expected: &rdb::Stream,
) {
    let copy = format!("{key}:copy");
    redis::cmd("RESTORE")
        .arg(&copy)
        .arg(0)
        .arg(payload)
        .arg("REPLACE")
        .exec(con)
        .unwrap_or_else(|e| panic!("RESTORE of our dump of {key}: {e}"));
    assert_eq!(
        &streams::read(con, copy.as_bytes()),
        expected,
        "{key} restored"
    );
}

fn read(payload: &[u8], key: &str) -> rdb::Stream {
    match rdb::restore(payload) {
        Ok(Value::Stream(stream)) => stream,
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn stream_dumps_match_redis_server_both_ways() {
    let Some(real) = RealRedis::start_with(&["--rdbcompression", "no"]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut con = real.client();
    for key in build_appended(&mut con) {
        let payload = dump(&mut con, key);
        let stream = read(&payload, key);
        assert_eq!(stream, streams::read(&mut con, key.as_bytes()), "{key}");
        let ours = rdb::dump(&Value::Stream(stream.clone()));
        assert!(
            ours == payload,
            "{key}: our dump differs from redis-server's"
        );
        check_redis_restores(&mut con, key, &ours, &stream);
    }
    for key in build_deleted(&mut con) {
        let payload = dump(&mut con, key);
        let stream = read(&payload, key);
        assert_eq!(stream, streams::read(&mut con, key.as_bytes()), "{key}");
        // Written without the deleted entries: other bytes, same stream.
        let ours = rdb::dump(&Value::Stream(stream.clone()));
        assert_ne!(ours, payload, "{key}");
        assert_eq!(read(&ours, key), stream);
        check_redis_restores(&mut con, key, &ours, &stream);
    }
}

#[test]
fn lzf_compressed_stream_dumps_are_read() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut con = real.client();
    let keys = [build_appended(&mut con), build_deleted(&mut con)].concat();
    for key in keys {
        let payload = dump(&mut con, key);
        let stream = read(&payload, key);
        assert_eq!(stream, streams::read(&mut con, key.as_bytes()), "{key}");
        let ours = rdb::dump(&Value::Stream(stream.clone()));
        check_redis_restores(&mut con, key, &ours, &stream);
    }
}

#[test]
fn nodes_split_at_redis_server_node_limits() {
    let Some(real) = RealRedis::start_with(&["--rdbcompression", "no"]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut con = real.client();
    for (entries, bytes) in [(5, 0), (0, 300), (7, 200), (1000, 100_000)] {
        let (entries_text, bytes_text) = (entries.to_string(), bytes.to_string());
        run(
            &mut con,
            &["CONFIG", "SET", "stream-node-max-entries", &entries_text],
        );
        run(
            &mut con,
            &["CONFIG", "SET", "stream-node-max-bytes", &bytes_text],
        );
        run(&mut con, &["DEL", "s"]);
        for i in 1..=400u64 {
            let value = "x".repeat((i * 13 % 90) as usize);
            run(
                &mut con,
                &[
                    "XADD",
                    "s",
                    &format!("{i}-0"),
                    "f",
                    &value,
                    "i",
                    &i.to_string(),
                ],
            );
        }
        let payload = dump(&mut con, "s");
        let limits = NodeLimits {
            max_entries: entries,
            max_bytes: bytes,
        };
        let value = Value::Stream(read(&payload, "s"));
        assert!(
            rdb::dump_with(&value, limits) == payload,
            "our nodes differ at limits {limits:?}"
        );
    }
}
