//! Streams on the real binary: blocked readers served by writers on other
//! connections, blocked group readers answered when their group or key
//! goes, streams and their groups across a restart, and cluster routing.
//! Replies are checked against redis-server in `clients/redis_py_families.py`
//! and Redis' own suite; replication in `replication.rs`.

mod common;
mod resp;

use common::Server;
use resp::{blocked, bulk, error, int, start, wait_blocked, Raw};
use std::time::{Duration, Instant};

const NIL_ARRAY: &str = "*-1\r\n";

/// `[[key, [[id, [field, value]]]]]`: one stream, one entry of one pair.
fn one_entry(key: &str, id: &str, field: &str, value: &str) -> String {
    format!(
        "*1\r\n*2\r\n{}*1\r\n*2\r\n{}*2\r\n{}{}",
        bulk(key),
        bulk(id),
        bulk(field),
        bulk(value)
    )
}

#[test]
fn each_blocked_reader_waits_for_entries_after_its_own_id() {
    let (server, mut c) = start();
    assert_eq!(c.line("XADD s 5 f v"), bulk("5-0"));
    // One waits past a future ID, the next for anything new ($ = 5-0).
    let mut future = blocked(&server, &mut c, "XREAD BLOCK 0 STREAMS s 10", 0);
    let mut next = blocked(&server, &mut c, "XREAD BLOCK 0 STREAMS s $", 1);
    assert_eq!(c.line("XADD s 7 f seven"), bulk("7-0"));
    // The first waiter is not satisfied by 7-0, and does not hold up the
    // second.
    assert_eq!(next.reply(), one_entry("s", "7-0", "f", "seven"));
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("XADD s 11 f eleven"), bulk("11-0"));
    assert_eq!(future.reply(), one_entry("s", "11-0", "f", "eleven"));
    wait_blocked(&mut c, 0);
}

#[test]
fn a_blocked_read_times_out_with_a_null_array_and_ignores_other_types() {
    let (server, mut c) = start();
    let started = Instant::now();
    assert_eq!(c.line("XREAD BLOCK 100 STREAMS nokey $"), NIL_ARRAY);
    assert!(started.elapsed() >= Duration::from_millis(100));
    let mut b = blocked(&server, &mut c, "XREAD BLOCK 0 STREAMS k $", 0);
    // The key becomes a string, then goes, then a stream again.
    assert_eq!(c.line("SET k v"), "+OK\r\n");
    assert_eq!(c.line("DEL k"), int(1));
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("XADD k 1 a b"), bulk("1-0"));
    assert_eq!(b.reply(), one_entry("k", "1-0", "a", "b"));
    // Inside MULTI a blocking read answers at once.
    assert_eq!(c.line("MULTI"), "+OK\r\n");
    assert_eq!(c.line("XREAD BLOCK 0 STREAMS k $"), "+QUEUED\r\n");
    assert_eq!(c.line("EXEC"), format!("*1\r\n{NIL_ARRAY}"));
}

#[test]
fn a_blocked_group_reader_gets_new_entries_as_pending() {
    let (server, mut c) = start();
    assert_eq!(c.line("XGROUP CREATE s g $ MKSTREAM"), "+OK\r\n");
    let mut b = blocked(
        &server,
        &mut c,
        "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        0,
    );
    assert_eq!(c.line("XADD s 3 f v"), bulk("3-0"));
    assert_eq!(b.reply(), one_entry("s", "3-0", "f", "v"));
    let summary = c.line("XPENDING s g");
    assert!(
        summary.starts_with("*4\r\n:1\r\n$3\r\n3-0\r\n$3\r\n3-0\r\n"),
        "{summary:?}"
    );
    assert!(summary.contains("alice"), "{summary:?}");
    assert_eq!(c.line("XACK s g 3-0"), int(1));
}

#[test]
fn a_blocked_group_reader_is_told_when_its_group_or_key_goes() {
    let (server, mut c) = start();
    assert_eq!(c.line("XGROUP CREATE s g $ MKSTREAM"), "+OK\r\n");
    let mut b = blocked(
        &server,
        &mut c,
        "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        0,
    );
    assert_eq!(c.line("XGROUP DESTROY s g"), int(1));
    assert_eq!(
        b.reply(),
        error("NOGROUP the consumer group this client was blocked on no longer exists")
    );
    assert_eq!(c.line("XGROUP CREATE s g $"), "+OK\r\n");
    let mut b = blocked(
        &server,
        &mut c,
        "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        0,
    );
    assert_eq!(c.line("DEL s"), int(1));
    assert_eq!(
        b.reply(),
        error("UNBLOCKED the stream key no longer exists")
    );
    wait_blocked(&mut c, 0);
}

#[test]
fn streams_and_their_groups_survive_a_restart() {
    let mut server = Server::start(&["--appendfsync", "always"]);
    let mut c = Raw::connect(server.port);
    for i in 1..=250 {
        c.line(&format!("XADD s {i} field{i} value{i}"));
    }
    c.line("XDEL s 2");
    c.line("XGROUP CREATE s g 0");
    c.line("XREADGROUP GROUP g alice COUNT 5 STREAMS s >");
    c.line("XACK s g 1");
    c.line("XTRIM s MAXLEN ~ 120");
    let before = [
        c.line("XINFO STREAM s FULL COUNT 0"),
        c.line("XRANGE s - +"),
        c.line("XLEN s"),
        c.line("DUMP s"),
    ];
    assert_eq!(
        before[2],
        int(150),
        "250 added, one deleted: the first node (99 left) goes, as in Redis"
    );
    server.kill9();
    server.restart();
    let mut c = Raw::connect(server.port);
    let after = [
        c.line("XINFO STREAM s FULL COUNT 0"),
        c.line("XRANGE s - +"),
        c.line("XLEN s"),
        c.line("DUMP s"),
    ];
    assert_eq!(after, before);
    // The restored DUMP is the same stream, groups included.
    let dump = c.cmd_bytes(&["DUMP", "s"]);
    let payload =
        &dump[dump.iter().position(|&b| b == b'\n').expect("bulk header") + 1..dump.len() - 2];
    assert_eq!(c.cmd(&[&b"RESTORE"[..], b"copy", b"0", payload]), "+OK\r\n");
    assert_eq!(
        c.line("XINFO STREAM copy FULL COUNT 0"),
        before[0],
        "a stream restored from its DUMP"
    );
}

#[test]
fn reads_of_several_streams_route_by_all_their_keys_in_cluster_mode() {
    let (_server, mut c) = resp::start_cluster();
    let keys = c.line("COMMAND GETKEYS XREADGROUP GROUP g c COUNT 1 STREAMS {a}1 {a}2 > >");
    assert_eq!(keys, format!("*2\r\n{}{}", bulk("{a}1"), bulk("{a}2")));
    assert_eq!(
        c.line("XREAD STREAMS a b 0 0"),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
}
