//! SORT and SORT_RO through the real binary: a transcript recorded from
//! redis-server 7.0.15 replayed byte for byte (numeric, ALPHA, DESC, LIMIT,
//! BY with `nosort` and hash fields, GET with `#` and hash fields, STORE,
//! the errors, COMMAND INFO and GETKEYS), the keyspace events of STORE, and
//! Redis 7.0's refusals of BY/GET patterns in cluster mode.

mod common;
mod resp;

use common::Server;
use resp::{error, int, Raw};
use std::time::{Duration, Instant};

/// Each command (split on spaces) and the exact reply redis-server 7.0.15
/// gave, in order, starting from an empty database.
const TRANSCRIPT: &[(&str, &str)] = &[
    ("rpush l 3 1 2 10", ":4\r\n"),
    ("sort l", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"),
    ("sort l desc", "*4\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n"),
    ("sort l alpha", "*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n"),
    ("sort l alpha desc", "*4\r\n$1\r\n3\r\n$1\r\n2\r\n$2\r\n10\r\n$1\r\n1\r\n"),
    ("sort l limit 1 2", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"),
    ("sort l limit 1 2 desc", "*2\r\n$1\r\n3\r\n$1\r\n2\r\n"),
    ("sort_ro l limit 0 -1 alpha", "*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n"),
    ("sadd s 3 1 2 10", ":4\r\n"),
    ("sort s", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"),
    ("sort s by nosort", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"),
    ("sort s by nosort desc limit 1 2", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n"),
    ("sadd t b a c", ":3\r\n"),
    ("sort t", "-ERR One or more scores can't be converted into double\r\n"),
    ("sort t alpha", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("sort t by nosort store tdst", ":3\r\n"),
    ("lrange tdst 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("mset w_1 30 w_2 20 w_3 10 w_10 40", "+OK\r\n"),
    ("sort l by w_*", "*4\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n$2\r\n10\r\n"),
    ("sort l by w_* desc", "*4\r\n$2\r\n10\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
    ("sort l by w_* get # get w_*", "*8\r\n$1\r\n3\r\n$2\r\n10\r\n$1\r\n2\r\n$2\r\n20\r\n$1\r\n1\r\n$2\r\n30\r\n$2\r\n10\r\n$2\r\n40\r\n"),
    ("sort l by nosort get w_*", "*4\r\n$2\r\n10\r\n$2\r\n30\r\n$2\r\n20\r\n$2\r\n40\r\n"),
    ("sort l by nosort desc limit 0 2", "*2\r\n$2\r\n10\r\n$1\r\n2\r\n"),
    ("hset o_1 name one n 5", ":2\r\n"),
    ("hset o_2 name two n 1", ":2\r\n"),
    ("sort l by o_*->n get o_*->name get #", "*8\r\n$-1\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n$3\r\ntwo\r\n$1\r\n2\r\n$3\r\none\r\n$1\r\n1\r\n"),
    ("sort l by o_*->name alpha get o_*->name", "*4\r\n$-1\r\n$-1\r\n$3\r\none\r\n$3\r\ntwo\r\n"),
    ("sort l get nothing", "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"),
    ("sort l by w_* store out", ":4\r\n"),
    ("lrange out 0 -1", "*4\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n$2\r\n10\r\n"),
    ("type out", "+list\r\n"),
    ("sort l by w_* get o_*->name store out2", ":4\r\n"),
    ("lrange out2 0 -1", "*4\r\n$0\r\n\r\n$3\r\ntwo\r\n$3\r\none\r\n$0\r\n\r\n"),
    ("sort nosuch", "*0\r\n"),
    ("sort nosuch store out", ":0\r\n"),
    ("exists out", ":0\r\n"),
    ("set str x", "+OK\r\n"),
    ("sort str", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("hset h a b", ":1\r\n"),
    ("sort h", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ("sort l store", "-ERR syntax error\r\n"),
    ("sort l limit 0", "-ERR syntax error\r\n"),
    ("sort l limit x 1", "-ERR value is not an integer or out of range\r\n"),
    ("sort l foo", "-ERR syntax error\r\n"),
    ("sort_ro l store out", "-ERR syntax error\r\n"),
    ("sort_ro l by w_* get #", "*4\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n$2\r\n10\r\n"),
    ("rpush bad 1 x 2", ":3\r\n"),
    ("sort bad", "-ERR One or more scores can't be converted into double\r\n"),
    ("sort bad alpha", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n"),
    ("sort bad store out2", "-ERR One or more scores can't be converted into double\r\n"),
    ("exists out2", ":1\r\n"),
    ("sort bad by nosort", "*3\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n2\r\n"),
    ("rpush e 1 1 1 2", ":4\r\n"),
    ("sort e", "*4\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n2\r\n"),
    ("sort l by nosort limit 0 0", "*0\r\n"),
    ("sort l limit 0 0 store out", ":0\r\n"),
    ("exists out", ":0\r\n"),
    ("rpush bin b ab a B", ":4\r\n"),
    ("sort bin alpha", "*4\r\n$1\r\nB\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n"),
    ("sort bin alpha desc", "*4\r\n$1\r\nb\r\n$2\r\nab\r\n$1\r\na\r\n$1\r\nB\r\n"),
    ("sort l get # get # limit 1 1", "*2\r\n$1\r\n2\r\n$1\r\n2\r\n"),
    ("command info sort sort_ro", "*2\r\n*10\r\n$4\r\nsort\r\n:-2\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n*6\r\n+@write\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n*0\r\n*3\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*8\r\n$5\r\nnotes\r\n$120\r\nFor the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n*8\r\n$5\r\nnotes\r\n$116\r\nFor the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n*0\r\n*10\r\n$7\r\nsort_ro\r\n:-2\r\n*2\r\n+readonly\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n*6\r\n+@read\r\n+@set\r\n+@sortedset\r\n+@list\r\n+@slow\r\n+@dangerous\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*8\r\n$5\r\nnotes\r\n$120\r\nFor the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$7\r\nunknown\r\n$4\r\nspec\r\n*0\r\n*0\r\n"),
    ("command getkeys sort a store b limit 0 1 store c", "*2\r\n$1\r\na\r\n$1\r\nc\r\n"),
    ("command getkeys sort a by x store", "*1\r\n$1\r\na\r\n"),
    ("command getkeys sort_ro a by x get y", "*1\r\n$1\r\na\r\n"),
    ("command getkeys sort a", "*1\r\n$1\r\na\r\n"),
    // Sorted sets: members in score order under BY nosort.
    ("zadd z 3 10 1 30 2 20 2 5", ":4\r\n"),
    ("sort z", "*4\r\n$1\r\n5\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n"),
    ("sort z desc limit 0 2", "*2\r\n$2\r\n30\r\n$2\r\n20\r\n"),
    ("sort z by nosort", "*4\r\n$2\r\n30\r\n$2\r\n20\r\n$1\r\n5\r\n$2\r\n10\r\n"),
    ("sort z by nosort desc", "*4\r\n$2\r\n10\r\n$1\r\n5\r\n$2\r\n20\r\n$2\r\n30\r\n"),
    ("sort z by nosort limit 1 2", "*2\r\n$2\r\n20\r\n$1\r\n5\r\n"),
    ("sort z alpha", "*4\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n$1\r\n5\r\n"),
    ("sort z by nosort store zdst", ":4\r\n"),
    ("lrange zdst 0 -1", "*4\r\n$2\r\n30\r\n$2\r\n20\r\n$1\r\n5\r\n$2\r\n10\r\n"),
    ("zadd zz 1 b 2 a", ":2\r\n"),
    ("sort zz", "-ERR One or more scores can't be converted into double\r\n"),
    ("sort zz alpha", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
];

#[test]
fn replies_match_redis_7_0_15() {
    let (_server, mut c) = resp::start();
    for (command, expected) in TRANSCRIPT {
        assert_eq!(c.line(command), *expected, "{command}");
    }
}

#[test]
fn store_replaces_any_type_and_drops_the_ttl() {
    let (_server, mut c) = resp::start();
    c.line("RPUSH src b a");
    c.line("HSET dst f v");
    c.line("EXPIRE dst 100");
    assert_eq!(c.line("SORT src ALPHA STORE dst"), int(2));
    assert_eq!(c.line("TYPE dst"), "+list\r\n");
    assert_eq!(c.line("TTL dst"), int(-1));
    assert_eq!(c.line("LRANGE dst 0 -1"), resp::bulks(&["a", "b"]));
    // The stored list is a list like any other.
    assert_eq!(c.line("LPUSH dst z"), int(3));
    assert_eq!(c.line("LPOP dst 3"), resp::bulks(&["z", "a", "b"]));
    assert_eq!(c.line("EXISTS dst"), int(0));
}

#[test]
fn store_onto_the_source_replaces_it() {
    let (_server, mut c) = resp::start();
    c.line("RPUSH l 3 1 2");
    assert_eq!(c.line("SORT l STORE l"), int(3));
    assert_eq!(c.line("LRANGE l 0 -1"), resp::bulks(&["1", "2", "3"]));
    assert_eq!(c.line("SORT l LIMIT 0 0 STORE l"), int(0));
    assert_eq!(c.line("EXISTS l"), int(0));
}

#[test]
fn sort_reads_its_own_pipeline_writes() {
    let (_server, mut c) = resp::start();
    c.send_bytes(b"RPUSH l 2 1\r\nSET w_1 9\r\nSORT l BY w_* GET #\r\n");
    assert_eq!(c.reply(), int(2));
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), resp::bulks(&["2", "1"]));
}

#[test]
fn store_reports_sortstore_or_del() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut events = Raw::connect(server.port);
    events.cmd(&["PSUBSCRIBE", "__keyevent@*__:*"]);
    let mut c = Raw::connect(server.port);
    c.line("RPUSH l 3 1 2");
    c.line("SORT l STORE d");
    c.line("SORT l LIMIT 0 0 STORE d");
    c.line("SORT l LIMIT 0 0 STORE d");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let value = redis::parse_redis_value(&events.reply_bytes()).expect("a message");
        let parts = resp::strings(&value);
        seen.push(format!("{} {}", parts[2], parts[3]));
    }
    assert_eq!(
        seen,
        [
            "__keyevent@0__:rpush l",
            "__keyevent@0__:sortstore d",
            "__keyevent@0__:del d",
        ]
    );
}

#[test]
fn cluster_mode_refuses_by_and_get_patterns() {
    let node = Server::start_cluster_node(&[]);
    let mut c = Raw::connect(node.port);
    assert_eq!(c.line("CLUSTER ADDSLOTSRANGE 0 16383"), "+OK\r\n");
    let start = Instant::now();
    while !c.line("CLUSTER INFO").contains("cluster_state:ok") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "cluster_state:ok"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    c.line("RPUSH l 3 1 2");
    for (command, expected) in [
        ("SORT l", resp::bulks(&["1", "2", "3"])),
        ("SORT l BY nosort", resp::bulks(&["3", "1", "2"])),
        ("SORT_RO l BY nosort DESC", resp::bulks(&["2", "1", "3"])),
        ("SORT l STORE {l}dst", int(3)),
        (
            "SORT l STORE dst",
            error("CROSSSLOT Keys in request don't hash to the same slot"),
        ),
        (
            "SORT l BY w_*",
            error("ERR BY option of SORT denied in Cluster mode."),
        ),
        (
            "SORT l BY {l}*",
            error("ERR BY option of SORT denied in Cluster mode."),
        ),
        (
            "SORT l GET #",
            error("ERR GET option of SORT denied in Cluster mode."),
        ),
        (
            "SORT_RO l BY nosort GET {l}*",
            error("ERR GET option of SORT denied in Cluster mode."),
        ),
        ("SORT l FOO BY w_*", error("ERR syntax error")),
    ] {
        assert_eq!(c.line(command), expected, "{command}");
    }
}
