//! List commands against a real server, with the replies Redis 7.0.15 gives
//! (checked against redis-server 7.0.15), plus how the generic key commands
//! treat lists, persistence, and O(1) deletion of a big list.

mod common;
mod resp;

use common::Server;
use resp::{
    arity, bulk, bulks, error, fill_pipelined, int, pending, start, time_del, Raw, NIL,
    NOT_INTEGER, OK, SYNTAX,
};
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const EMPTY: &str = "*0\r\n";
const NIL_ARRAY: &str = "*-1\r\n";

fn range(c: &mut Raw, key: &str) -> String {
    c.cmd(&["LRANGE", key, "0", "-1"])
}

#[test]
fn pushes_pops_and_lengths() {
    let (_server, mut c) = start();
    assert_eq!(c.line("RPUSH l a b c"), int(3));
    assert_eq!(c.line("LPUSH l y x"), int(5));
    assert_eq!(range(&mut c, "l"), bulks(&["x", "y", "a", "b", "c"]));
    assert_eq!(c.line("LLEN l"), int(5));
    assert_eq!(c.line("LLEN nokey"), int(0));
    assert_eq!(c.line("LPUSHX nokey a"), int(0));
    assert_eq!(c.line("RPUSHX nokey a"), int(0));
    assert_eq!(c.line("EXISTS nokey"), int(0));
    assert_eq!(c.line("LPUSHX l w"), int(6));
    assert_eq!(c.line("RPUSHX l d e"), int(8));
    assert_eq!(c.line("LPOP l"), bulk("w"));
    assert_eq!(c.line("RPOP l"), bulk("e"));
    assert_eq!(c.line("LPOP l 2"), bulks(&["x", "y"]));
    assert_eq!(c.line("RPOP l 2"), bulks(&["d", "c"]));
    assert_eq!(c.line("LPOP l 0"), EMPTY);
    assert_eq!(c.line("RPOP l 0"), EMPTY);
    assert_eq!(c.line("LPOP l 100"), bulks(&["a", "b"]));
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(c.line("TYPE l"), "+none\r\n");
    // A missing key: a nil string without a count, a nil array with one.
    assert_eq!(c.line("LPOP nokey"), NIL);
    assert_eq!(c.line("LPOP nokey 0"), NIL_ARRAY);
    assert_eq!(c.line("RPOP nokey 2"), NIL_ARRAY);
    assert_eq!(
        c.line("LPOP l -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        c.line("LPOP nokey x"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.line("LPOP l 1 2"), arity("lpop"));
}

#[test]
fn indexes_ranges_and_lset() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c d e");
    assert_eq!(c.line("LINDEX l 0"), bulk("a"));
    assert_eq!(c.line("LINDEX l -1"), bulk("e"));
    assert_eq!(c.line("LINDEX l 5"), NIL);
    assert_eq!(c.line("LINDEX l -6"), NIL);
    assert_eq!(c.line("LINDEX nokey x"), NIL);
    assert_eq!(c.line("LINDEX l x"), NOT_INTEGER);
    assert_eq!(c.line("LRANGE l 1 3"), bulks(&["b", "c", "d"]));
    assert_eq!(c.line("LRANGE l -2 -1"), bulks(&["d", "e"]));
    assert_eq!(
        c.line("LRANGE l -100 100"),
        bulks(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(c.line("LRANGE l 3 1"), EMPTY);
    assert_eq!(c.line("LRANGE l 5 10"), EMPTY);
    assert_eq!(c.line("LRANGE nokey 0 -1"), EMPTY);
    assert_eq!(c.line("LRANGE nokey x 1"), NOT_INTEGER);
    assert_eq!(c.line("LSET l 1 B"), OK);
    assert_eq!(c.line("LSET l -1 E"), OK);
    assert_eq!(range(&mut c, "l"), bulks(&["a", "B", "c", "d", "E"]));
    assert_eq!(c.line("LSET l 5 z"), error("ERR index out of range"));
    assert_eq!(c.line("LSET l -6 z"), error("ERR index out of range"));
    assert_eq!(c.line("LSET nokey 0 z"), error("ERR no such key"));
    assert_eq!(c.line("LSET nokey x z"), error("ERR no such key"));
    assert_eq!(c.line("LSET l x z"), NOT_INTEGER);
}

#[test]
fn linsert_lrem_and_ltrim() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c a b c");
    assert_eq!(c.line("LINSERT l BEFORE a p1"), int(7));
    assert_eq!(c.line("LINSERT l after c p2"), int(8));
    assert_eq!(c.line("LINSERT l AFTER zz x"), int(-1));
    assert_eq!(c.line("LINSERT nokey BEFORE a x"), int(0));
    assert_eq!(c.line("LINSERT l MIDDLE a x"), SYNTAX);
    assert_eq!(
        range(&mut c, "l"),
        bulks(&["p1", "a", "b", "c", "p2", "a", "b", "c"])
    );
    // Near the tail: the back side shifts.
    assert_eq!(c.line("LINSERT l BEFORE p2 p3"), int(9));
    assert_eq!(
        range(&mut c, "l"),
        bulks(&["p1", "a", "b", "c", "p3", "p2", "a", "b", "c"])
    );
    assert_eq!(c.line("LREM l 1 a"), int(1));
    assert_eq!(c.line("LREM l -1 b"), int(1));
    assert_eq!(
        range(&mut c, "l"),
        bulks(&["p1", "b", "c", "p3", "p2", "a", "c"])
    );
    assert_eq!(c.line("LREM l 0 c"), int(2));
    assert_eq!(c.line("LREM l 0 zz"), int(0));
    assert_eq!(c.line("LREM nokey 0 a"), int(0));
    assert_eq!(c.line("LREM l x a"), NOT_INTEGER);
    assert_eq!(range(&mut c, "l"), bulks(&["p1", "b", "p3", "p2", "a"]));
    assert_eq!(c.line("LTRIM l 1 -2"), OK);
    assert_eq!(range(&mut c, "l"), bulks(&["b", "p3", "p2"]));
    assert_eq!(c.line("LTRIM l 0 100"), OK);
    assert_eq!(c.line("LLEN l"), int(3));
    assert_eq!(c.line("LTRIM l 0 x"), NOT_INTEGER);
    assert_eq!(c.line("LTRIM nokey 0 1"), OK);
    assert_eq!(c.line("LTRIM l 5 1"), OK);
    assert_eq!(c.line("EXISTS l"), int(0));
    c.line("RPUSH l a");
    assert_eq!(c.line("LREM l 0 a"), int(1));
    assert_eq!(c.line("EXISTS l"), int(0));
}

#[test]
fn lpos_options_and_errors() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c a b c");
    assert_eq!(c.line("LPOS l c"), int(2));
    assert_eq!(c.line("LPOS l c RANK -1"), int(5));
    assert_eq!(c.line("LPOS l c RANK 2"), int(5));
    assert_eq!(c.line("LPOS l c RANK 3"), NIL);
    assert_eq!(c.line("LPOS l z"), NIL);
    assert_eq!(c.line("LPOS l c COUNT 0"), "*2\r\n:2\r\n:5\r\n");
    assert_eq!(c.line("LPOS l c COUNT 0 RANK -1"), "*2\r\n:5\r\n:2\r\n");
    assert_eq!(c.line("LPOS l c COUNT 1 MAXLEN 3"), "*1\r\n:2\r\n");
    assert_eq!(c.line("LPOS l a COUNT 0 MAXLEN 3 RANK -1"), "*1\r\n:3\r\n");
    assert_eq!(c.line("LPOS l z COUNT 0"), EMPTY);
    assert_eq!(c.line("LPOS nokey a"), NIL);
    assert_eq!(c.line("LPOS nokey a COUNT 0"), EMPTY);
    assert_eq!(c.line("LPOS l a RANK -9223372036854775808"), int(3));
    assert_eq!(
        c.line("LPOS l a RANK 0"),
        error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
    );
    assert_eq!(c.line("LPOS l a RANK x"), NOT_INTEGER);
    assert_eq!(
        c.line("LPOS l a COUNT -1"),
        error("ERR COUNT can't be negative")
    );
    assert_eq!(
        c.line("LPOS l a COUNT x"),
        error("ERR COUNT can't be negative")
    );
    assert_eq!(
        c.line("LPOS l a MAXLEN -1"),
        error("ERR MAXLEN can't be negative")
    );
    assert_eq!(c.line("LPOS l a FOO 1"), SYNTAX);
    assert_eq!(c.line("LPOS l a RANK"), SYNTAX);
}

#[test]
fn lmove_rpoplpush_and_rotation() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c");
    assert_eq!(c.line("RPOPLPUSH l l"), bulk("c"));
    assert_eq!(range(&mut c, "l"), bulks(&["c", "a", "b"]));
    assert_eq!(c.line("LMOVE l l LEFT RIGHT"), bulk("c"));
    assert_eq!(range(&mut c, "l"), bulks(&["a", "b", "c"]));
    assert_eq!(c.line("LMOVE l d LEFT RIGHT"), bulk("a"));
    assert_eq!(c.line("LMOVE l d right left"), bulk("c"));
    assert_eq!(range(&mut c, "d"), bulks(&["c", "a"]));
    assert_eq!(c.line("RPOPLPUSH l d"), bulk("b"));
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(range(&mut c, "d"), bulks(&["b", "c", "a"]));
    assert_eq!(c.line("RPOPLPUSH nokey d"), NIL);
    assert_eq!(c.line("LMOVE nokey d LEFT LEFT"), NIL);
    assert_eq!(c.line("LMOVE d x UP LEFT"), SYNTAX);
    c.line("SET s v");
    // A missing source wins over a wrong-typed destination.
    assert_eq!(c.line("LMOVE nokey s LEFT RIGHT"), NIL);
    assert_eq!(c.line("LMOVE d s LEFT RIGHT"), WRONGTYPE);
    assert_eq!(c.line("RPOPLPUSH s d"), WRONGTYPE);
    assert_eq!(range(&mut c, "d"), bulks(&["b", "c", "a"]));
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c");
    assert_eq!(
        c.line("LMPOP 2 nokey l LEFT COUNT 2"),
        "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.line("LMPOP 1 l RIGHT"),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nc\r\n"
    );
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(c.line("LMPOP 1 l LEFT"), NIL_ARRAY);
    let numkeys = error("ERR numkeys should be greater than 0");
    assert_eq!(c.line("LMPOP 0 l LEFT"), numkeys);
    assert_eq!(c.line("LMPOP x l LEFT"), numkeys);
    let count = error("ERR count should be greater than 0");
    assert_eq!(c.line("LMPOP 1 l LEFT COUNT 0"), count);
    assert_eq!(c.line("LMPOP 1 l LEFT COUNT x"), count);
    assert_eq!(c.line("LMPOP 1 l MIDDLE"), SYNTAX);
    assert_eq!(c.line("LMPOP 2 l LEFT"), SYNTAX);
    assert_eq!(c.line("LMPOP 5 l LEFT"), SYNTAX);
    assert_eq!(c.line("LMPOP 1 l LEFT COUNT 2 COUNT 3"), SYNTAX);
    assert_eq!(c.line("LMPOP 1 l LEFT COUNT"), SYNTAX);
    assert_eq!(c.line("LMPOP 1 l"), arity("lmpop"));
    c.line("SET s v");
    assert_eq!(c.line("LMPOP 2 nokey s LEFT"), WRONGTYPE);
    c.line("RPUSH l z");
    // Keys after the one popped from are not looked at.
    assert_eq!(
        c.line("LMPOP 2 l s LEFT"),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nz\r\n"
    );
}

#[test]
fn resp3_nulls_and_shapes() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b");
    c.line("HELLO 3");
    assert_eq!(c.line("LPOP nokey"), "_\r\n");
    assert_eq!(c.line("LPOP nokey 2"), "_\r\n");
    assert_eq!(c.line("LINDEX l 9"), "_\r\n");
    assert_eq!(c.line("LPOS l z"), "_\r\n");
    assert_eq!(c.line("LMPOP 1 nokey LEFT"), "_\r\n");
    assert_eq!(c.line("LMOVE nokey l LEFT LEFT"), "_\r\n");
    assert_eq!(c.line("LRANGE l 0 -1"), bulks(&["a", "b"]));
    assert_eq!(
        c.line("LMPOP 1 l LEFT"),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"
    );
}

#[test]
fn wrong_types_are_refused_both_ways() {
    let (_server, mut c) = start();
    c.line("SET s v");
    for command in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 2",
        "LLEN s",
        "LINDEX s x",
        "LRANGE s 0 1",
        "LSET s x v",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
    ] {
        assert_eq!(c.line(command), WRONGTYPE, "{command}");
    }
    // Argument errors come first where Redis parses before the lookup.
    assert_eq!(
        c.line("LPOP s x"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.line("LPOS s a FOO 1"), SYNTAX);
    assert_eq!(c.line("LINSERT s MIDDLE a b"), SYNTAX);
    c.line("RPUSH l a");
    assert_eq!(c.line("GET l"), WRONGTYPE);
    assert_eq!(c.line("SADD l a"), WRONGTYPE);
    assert_eq!(c.line("HGET l a"), WRONGTYPE);
    assert_eq!(c.line("TYPE l"), "+list\r\n");
    assert_eq!(c.line("OBJECT ENCODING l"), bulk("quicklist"));
}

#[test]
fn arity_errors_name_the_command() {
    let (_server, mut c) = start();
    assert_eq!(c.line("LPUSH l"), arity("lpush"));
    assert_eq!(c.line("RPUSH"), arity("rpush"));
    assert_eq!(c.line("LPOP"), arity("lpop"));
    assert_eq!(c.line("LLEN"), arity("llen"));
    assert_eq!(c.line("LINDEX l"), arity("lindex"));
    assert_eq!(c.line("LRANGE l 0"), arity("lrange"));
    assert_eq!(c.line("LSET l 0"), arity("lset"));
    assert_eq!(c.line("LINSERT l BEFORE a"), arity("linsert"));
    assert_eq!(c.line("LPOS l"), arity("lpos"));
    assert_eq!(c.line("LMOVE a b LEFT"), arity("lmove"));
    assert_eq!(c.line("RPOPLPUSH a"), arity("rpoplpush"));
}

#[test]
fn binary_elements_round_trip() {
    let (_server, mut c) = start();
    let value: Vec<u8> = (0..=255u8).collect();
    assert_eq!(c.cmd(&[&b"RPUSH"[..], b"l", &value]), int(1));
    let mut expected = b"*1\r\n$256\r\n".to_vec();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd_bytes(&["LRANGE", "l", "0", "-1"]), expected);
    assert_eq!(c.cmd(&[&b"LPOS"[..], b"l", &value]), int(0));
}

/// Byte for byte what redis-server 7.0.15 answers.
#[test]
fn command_info_and_getkeys_match_redis() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND INFO lmpop lmove"),
        "*2\r\n*10\r\n$5\r\nlmpop\r\n:-4\r\n*2\r\n+write\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@write\r\n+@list\r\n+@slow\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n*10\r\n$5\r\nlmove\r\n:5\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:2\r\n:1\r\n*3\r\n+@write\r\n+@list\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+insert\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(
        c.line("COMMAND INFO llen"),
        "*1\r\n*10\r\n$4\r\nllen\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@list\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(
        c.line("COMMAND GETKEYS LMPOP 2 a b LEFT COUNT 1"),
        bulks(&["a", "b"])
    );
    assert_eq!(
        c.line("COMMAND GETKEYS LMOVE a b LEFT RIGHT"),
        bulks(&["a", "b"])
    );
}

#[test]
fn ttls_rename_copy_move_and_scan_type() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b");
    c.line("LPUSH l z");
    assert_eq!(c.line("EXPIRE l 100"), int(1));
    c.line("RPUSH l c");
    assert!(c.int(&["TTL", "l"]) > 0);
    assert_eq!(c.line("RENAME l r"), OK);
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(range(&mut c, "r"), bulks(&["z", "a", "b", "c"]));
    assert!(c.int(&["TTL", "r"]) > 0);
    assert_eq!(c.line("COPY r copy"), int(1));
    c.line("LPUSH copy y");
    c.line("RPUSH copy d");
    assert_eq!(c.line("LLEN r"), int(4));
    assert_eq!(c.line("LINDEX copy 0"), bulk("y"));
    assert_eq!(c.line("MOVE copy 2"), int(1));
    c.line("SELECT 2");
    assert_eq!(
        range(&mut c, "copy"),
        bulks(&["y", "z", "a", "b", "c", "d"])
    );
    assert_eq!(c.line("LPOP copy"), bulk("y"));
    assert_eq!(c.line("TYPE copy"), "+list\r\n");
    c.line("SELECT 0");
    c.line("RPUSH l2 x");
    c.line("SADD s x");
    let reply = c.value(&["SCAN", "0", "TYPE", "list", "COUNT", "100"]);
    let redis::Value::Array(parts) = reply else {
        panic!()
    };
    let mut keys = resp::strings(&parts[1]);
    keys.sort();
    assert_eq!(keys, ["l2", "r"]);
    assert_eq!(c.line("PEXPIRE l2 30"), int(1));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.line("LLEN l2"), int(0));
    assert_eq!(c.line("RPUSH l2 y"), int(1));
    assert_eq!(range(&mut c, "l2"), bulks(&["y"]));
}

#[test]
fn a_pipeline_reads_its_own_writes_and_failures_leave_no_trace() {
    let (_server, mut c) = start();
    let mut batch = Vec::new();
    let commands: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b"],
        &["LPUSH", "l", "z"],
        &["LINDEX", "l", "0"],
        &["LLEN", "l"],
        &["LMOVE", "l", "m", "RIGHT", "LEFT"],
        &["SET", "s", "x"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "m", "0", "-1"],
    ];
    for command in commands {
        batch.extend(resp::encode(command));
    }
    c.send_bytes(&batch);
    let replies: Vec<String> = (0..commands.len()).map(|_| c.reply()).collect();
    assert_eq!(
        replies,
        [
            int(2),
            int(3),
            bulk("z"),
            int(3),
            bulk("b"),
            OK.to_string(),
            WRONGTYPE.to_string(),
            bulks(&["z", "a"]),
            bulks(&["b"]),
        ]
    );
}

#[test]
fn lists_survive_a_restart() {
    let mut server = Server::start(&[]);
    {
        let mut c = Raw::connect(server.port);
        c.line("RPUSH l a b c");
        c.line("LPUSH l z");
        c.line("RPUSH gone a");
        c.line("DEL gone");
        c.line("EXPIRE l 1000");
        assert_eq!(c.line("SAVE"), OK);
    }
    server.terminate();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(range(&mut c, "l"), bulks(&["z", "a", "b", "c"]));
    assert_eq!(c.line("LPUSH l y"), int(5));
    assert_eq!(c.line("LINDEX l 0"), bulk("y"));
    assert!(c.int(&["TTL", "l"]) > 0);
    assert_eq!(c.line("EXISTS gone"), int(0));
}

// ---- O(1) DEL ----

/// Fills `key` with `count` elements, 1000 per RPUSH, pipelined.
fn fill(c: &mut Raw, key: &str, count: usize) {
    fill_pipelined(c, "RPUSH", key, count, |i| vec![format!("element:{i}")]);
}

#[test]
fn deleting_a_huge_list_is_as_fast_as_a_small_one_and_the_sweeper_reclaims_it() {
    let (_server, mut c) = start();
    fill(&mut c, "big", 200_000);
    assert_eq!(c.line("LLEN big"), int(200_000));
    assert_eq!(c.line("LINDEX big 123456"), bulk("element:123456"));
    assert_eq!(
        c.line("LRANGE big -2 -1"),
        bulks(&["element:199998", "element:199999"])
    );
    let mut small = Duration::MAX;
    for i in 0..5 {
        let key = format!("small{i}");
        fill(&mut c, &key, 10);
        small = small.min(time_del(&mut c, &key));
    }
    let big = time_del(&mut c, "big");
    println!("DEL of a 10-element list: {small:?}; DEL of a 200000-element list: {big:?}");
    assert!(
        big < small * 20 + Duration::from_millis(5),
        "big {big:?} vs small {small:?}"
    );
    assert_eq!(c.line("EXISTS big"), int(0));
    assert_eq!(c.line("LLEN big"), int(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let started = Instant::now();
    while pending(&mut c) > 0 {
        assert!(Instant::now() < deadline, "sweeper too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("reclaimed in {:?}", started.elapsed());
    assert_eq!(c.line("RPUSH big m"), int(1));
    assert_eq!(range(&mut c, "big"), bulks(&["m"]));
}
