//! Set commands against a real server, with the replies Redis 7.0.15 gives
//! (checked against redis-server 7.0.15), plus how the generic key commands
//! treat sets, persistence, cluster routing of multi-key set commands, and
//! O(1) deletion of a big set.

mod common;
mod resp;

use common::Server;
use resp::{
    arity, bulk, bulks, error, fill_pipelined, int, pending, start, time_del, Raw, NIL,
    NOT_INTEGER, OK, SYNTAX,
};
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn sorted(value: &redis::Value) -> Vec<String> {
    let mut items = resp::strings(value);
    items.sort();
    items
}

fn members(c: &mut Raw, key: &str) -> Vec<String> {
    sorted(&c.value(&["SMEMBERS", key]))
}

// ---- SADD / SREM / SISMEMBER / SMISMEMBER / SCARD / SMEMBERS ----

#[test]
fn sadd_srem_and_membership() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SADD s a b c a"), int(3));
    assert_eq!(c.line("SADD s c d"), int(1));
    assert_eq!(c.line("SCARD s"), int(4));
    assert_eq!(c.line("SCARD nokey"), int(0));
    assert_eq!(c.line("SISMEMBER s a"), int(1));
    assert_eq!(c.line("SISMEMBER s z"), int(0));
    assert_eq!(c.line("SISMEMBER nokey a"), int(0));
    assert_eq!(c.line("SMISMEMBER s a z d"), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(c.line("SMISMEMBER nokey a"), "*1\r\n:0\r\n");
    assert_eq!(c.line("SMEMBERS s"), bulks(&["a", "b", "c", "d"]));
    assert_eq!(c.line("SMEMBERS nokey"), "*0\r\n");
    assert_eq!(c.line("SREM s a z"), int(1));
    assert_eq!(c.line("SREM nokey a"), int(0));
    assert_eq!(c.line("TYPE s"), "+set\r\n");
    // Removing the last member deletes the key.
    assert_eq!(c.line("SREM s b c d"), int(3));
    assert_eq!(c.line("EXISTS s"), int(0));
    assert_eq!(c.line("TYPE s"), "+none\r\n");
}

#[test]
fn arity_errors_name_the_command() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SADD s"), arity("sadd"));
    assert_eq!(c.line("SREM s"), arity("srem"));
    assert_eq!(c.line("SCARD"), arity("scard"));
    assert_eq!(c.line("SISMEMBER s"), arity("sismember"));
    assert_eq!(c.line("SMISMEMBER s"), arity("smismember"));
    assert_eq!(c.line("SINTER"), arity("sinter"));
    assert_eq!(c.line("SINTERSTORE d"), arity("sinterstore"));
    assert_eq!(c.line("SINTERCARD 1"), arity("sintercard"));
    assert_eq!(c.line("SMOVE a b"), arity("smove"));
    assert_eq!(c.line("SSCAN s"), arity("sscan"));
}

#[test]
fn binary_members_round_trip() {
    let (_server, mut c) = start();
    let member: Vec<u8> = (0..=255u8).collect();
    assert_eq!(c.cmd(&[&b"SADD"[..], b"s", &member]), int(1));
    let mut expected = b"*1\r\n$256\r\n".to_vec();
    expected.extend_from_slice(&member);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd_bytes(&["SMEMBERS", "s"]), expected);
    assert_eq!(c.cmd(&[&b"SISMEMBER"[..], b"s", &member]), int(1));
}

#[test]
fn resp3_replies_are_sets_where_redis_sends_sets() {
    let (_server, mut c) = start();
    c.line("SADD s a b");
    c.line("HELLO 3");
    assert_eq!(c.line("SMEMBERS s"), "~2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(c.line("SMEMBERS nokey"), "~0\r\n");
    assert_eq!(c.line("SINTER s s"), "~2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(c.line("SUNION nokey"), "~0\r\n");
    assert_eq!(c.line("SDIFF s"), "~2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(c.line("SPOP nokey"), "_\r\n");
    assert_eq!(c.line("SPOP nokey 2"), "~0\r\n");
    assert_eq!(c.line("SPOP s 0"), "~0\r\n");
    assert_eq!(c.line("SRANDMEMBER nokey"), "_\r\n");
    assert_eq!(c.line("SRANDMEMBER nokey 2"), "*0\r\n");
    let one = c.line("SRANDMEMBER s 1");
    assert!(one.starts_with("*1\r\n"), "{one}");
    assert_eq!(c.line("SMISMEMBER s a z"), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(c.line("SINTERCARD 1 nokey"), int(0));
    let popped = c.line("SPOP s 5");
    assert!(popped.starts_with("~2\r\n"), "{popped}");
    assert_eq!(c.line("EXISTS s"), int(0));
}

#[test]
fn smembers_through_the_redis_crate() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let added: i64 = redis::cmd("SADD")
        .arg("s")
        .arg(&["x", "y", "z"])
        .query(&mut con)
        .unwrap();
    assert_eq!(added, 3);
    let all: std::collections::HashSet<String> =
        redis::cmd("SMEMBERS").arg("s").query(&mut con).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.contains("y"));
    let is: bool = redis::cmd("SISMEMBER")
        .arg("s")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert!(is);
    let inter: Vec<String> = redis::cmd("SINTER")
        .arg("s")
        .arg("s")
        .query(&mut con)
        .unwrap();
    assert_eq!(inter, ["x", "y", "z"]);
}

// ---- SPOP / SRANDMEMBER / SMOVE ----

#[test]
fn spop_pops_distinct_members_and_deletes_an_emptied_set() {
    let (_server, mut c) = start();
    c.line("SADD s 1 2 3 4 5");
    assert_eq!(
        c.line("SPOP s -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        c.line("SPOP s x"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        c.line("SPOP nokey -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.line("SPOP s 1 2"), SYNTAX);
    assert_eq!(c.line("SPOP nokey"), NIL);
    assert_eq!(c.line("SPOP nokey 3"), "*0\r\n");
    assert_eq!(c.line("SPOP s 0"), "*0\r\n");
    let one = resp::strings(&redis::Value::Array(vec![c.value(&["SPOP", "s"])]));
    assert_eq!(one.len(), 1);
    assert_eq!(c.line("SCARD s"), int(4));
    let two = sorted(&c.value(&["SPOP", "s", "2"]));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    let rest = members(&mut c, "s");
    assert_eq!(rest.len(), 2);
    let mut all: Vec<String> = one.into_iter().chain(two).chain(rest.clone()).collect();
    all.sort();
    assert_eq!(all, ["1", "2", "3", "4", "5"]);
    assert_eq!(sorted(&c.value(&["SPOP", "s", "10"])), rest);
    assert_eq!(c.line("EXISTS s"), int(0));
    c.line("SET str x");
    assert_eq!(c.line("SPOP str"), WRONGTYPE);
    assert_eq!(c.line("SPOP str 0"), WRONGTYPE);
}

#[test]
fn srandmember_counts_and_errors() {
    let (_server, mut c) = start();
    c.line("SADD s a b c");
    assert_eq!(c.line("SRANDMEMBER nokey"), NIL);
    assert_eq!(c.line("SRANDMEMBER nokey 3"), "*0\r\n");
    assert_eq!(c.line("SRANDMEMBER s 0"), "*0\r\n");
    assert_eq!(c.line("SRANDMEMBER s x"), NOT_INTEGER);
    assert_eq!(c.line("SRANDMEMBER s 1 2"), SYNTAX);
    assert_eq!(
        c.line("SRANDMEMBER s -9223372036854775808"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    let one = resp::strings(&redis::Value::Array(vec![c.value(&["SRANDMEMBER", "s"])]));
    assert!(["a", "b", "c"].contains(&one[0].as_str()));
    // A positive count: distinct members, at most the whole set.
    assert_eq!(
        sorted(&c.value(&["SRANDMEMBER", "s", "10"])),
        ["a", "b", "c"]
    );
    let two = sorted(&c.value(&["SRANDMEMBER", "s", "2"]));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    // A negative count: exactly that many, repeats allowed.
    let many = resp::strings(&c.value(&["SRANDMEMBER", "s", "-20"]));
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
    // Nothing was removed.
    assert_eq!(c.line("SCARD s"), int(3));
    c.line("SET str x");
    assert_eq!(c.line("SRANDMEMBER str"), WRONGTYPE);
}

#[test]
fn smove_moves_one_member() {
    let (_server, mut c) = start();
    c.line("SADD a x y");
    c.line("SET str v");
    assert_eq!(c.line("SMOVE nokey str m"), int(0));
    assert_eq!(c.line("SMOVE a str x"), WRONGTYPE);
    assert_eq!(c.line("SMOVE str a x"), WRONGTYPE);
    assert_eq!(c.line("SMOVE a a x"), int(1));
    assert_eq!(c.line("SMOVE a a z"), int(0));
    assert_eq!(c.line("SMOVE a b z"), int(0));
    assert_eq!(c.line("EXISTS b"), int(0));
    assert_eq!(c.line("SMOVE a b x"), int(1));
    assert_eq!(c.line("SMEMBERS b"), bulks(&["x"]));
    assert_eq!(c.line("SMOVE a b y"), int(1));
    assert_eq!(c.line("EXISTS a"), int(0));
    assert_eq!(members(&mut c, "b"), ["x", "y"]);
}

// ---- SINTER / SUNION / SDIFF, STORE variants, SINTERCARD ----

#[test]
fn algebra_and_store_variants() {
    let (_server, mut c) = start();
    c.line("SADD a 1 2 3 x");
    c.line("SADD b 2 3 4");
    c.line("SADD c 3 9");
    assert_eq!(sorted(&c.value(&["SINTER", "a", "b"])), ["2", "3"]);
    assert_eq!(sorted(&c.value(&["SINTER", "a", "b", "c"])), ["3"]);
    assert_eq!(c.line("SINTER a nokey"), "*0\r\n");
    assert_eq!(
        sorted(&c.value(&["SUNION", "a", "b", "nokey"])),
        ["1", "2", "3", "4", "x"]
    );
    assert_eq!(sorted(&c.value(&["SDIFF", "a", "b", "c"])), ["1", "x"]);
    assert_eq!(c.line("SDIFF nokey a"), "*0\r\n");
    assert_eq!(
        sorted(&c.value(&["SDIFF", "a", "nokey"])),
        ["1", "2", "3", "x"]
    );

    assert_eq!(c.line("SINTERSTORE d a b"), int(2));
    assert_eq!(members(&mut c, "d"), ["2", "3"]);
    assert_eq!(c.line("OBJECT ENCODING d"), bulk("intset"));
    assert_eq!(c.line("SUNIONSTORE d a b"), int(5));
    assert_eq!(c.line("OBJECT ENCODING d"), bulk("hashtable"));
    assert_eq!(c.line("SDIFFSTORE d a b c"), int(2));
    assert_eq!(members(&mut c, "d"), ["1", "x"]);
    // An empty result deletes the destination.
    assert_eq!(c.line("SINTERSTORE d a nokey"), int(0));
    assert_eq!(c.line("EXISTS d"), int(0));
    // The destination is overwritten whatever its type, and loses its TTL.
    c.line("SET d string");
    c.line("EXPIRE d 100");
    assert_eq!(c.line("SUNIONSTORE d c"), int(2));
    assert_eq!(c.line("TYPE d"), "+set\r\n");
    assert_eq!(c.line("TTL d"), int(-1));
    c.line("HSET h f v");
    assert_eq!(c.line("SDIFFSTORE h c"), int(2));
    assert_eq!(c.line("TYPE h"), "+set\r\n");
    // A destination that is also a source.
    assert_eq!(c.line("SINTERSTORE a a b"), int(2));
    assert_eq!(members(&mut c, "a"), ["2", "3"]);
}

#[test]
fn sintercard_counts_with_a_limit() {
    let (_server, mut c) = start();
    c.line("SADD a 1 2 3 4");
    c.line("SADD b 2 3 4 5");
    assert_eq!(c.line("SINTERCARD 2 a b"), int(3));
    assert_eq!(c.line("SINTERCARD 2 a b LIMIT 2"), int(2));
    assert_eq!(c.line("SINTERCARD 2 a b LIMIT 0"), int(3));
    assert_eq!(c.line("SINTERCARD 2 a b limit 1 LIMIT 0"), int(3));
    assert_eq!(c.line("SINTERCARD 1 a"), int(4));
    assert_eq!(c.line("SINTERCARD 2 a nokey"), int(0));
    assert_eq!(
        c.line("SINTERCARD 0 a"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.line("SINTERCARD x a"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.line("SINTERCARD 3 a b"),
        error("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        c.line("SINTERCARD 1 a LIMIT -1"),
        error("ERR LIMIT can't be negative")
    );
    assert_eq!(
        c.line("SINTERCARD 1 a LIMIT x"),
        error("ERR LIMIT can't be negative")
    );
    assert_eq!(c.line("SINTERCARD 1 a LIMIT"), SYNTAX);
    assert_eq!(c.line("SINTERCARD 1 a FOO 1"), SYNTAX);
}

#[test]
fn command_getkeys_and_info_know_the_set_key_positions() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1"),
        bulks(&["a", "b"])
    );
    assert_eq!(
        c.line("COMMAND GETKEYS SINTERCARD 3 a b"),
        error("ERR Invalid arguments specified for command")
    );
    assert_eq!(
        c.line("COMMAND GETKEYS SINTERCARD x a"),
        error("ERR Invalid arguments specified for command")
    );
    assert_eq!(
        c.line("COMMAND GETKEYS SINTERSTORE d a b"),
        bulks(&["d", "a", "b"])
    );
    assert_eq!(c.line("COMMAND GETKEYS SMOVE a b m"), bulks(&["a", "b"]));
    let info = c.line("COMMAND INFO sintercard sadd smembers");
    assert!(
        info.starts_with("*3\r\n*10\r\n$10\r\nsintercard\r\n:-3\r\n*2\r\n+readonly\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@read\r\n+@set\r\n+@slow\r\n"),
        "{info}"
    );
    assert!(info.contains("$6\r\nkeynum\r\n"), "{info}");
    assert!(info.contains("$4\r\nsadd\r\n:-3\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@set\r\n+@fast\r\n"), "{info}");
    assert!(info.contains("$8\r\nsmembers\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@set\r\n+@slow\r\n"), "{info}");
}

/// Byte for byte what redis-server 7.0.15 answers (two key specs, tips).
#[test]
fn command_info_matches_redis_for_multi_key_specs_and_tips() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND INFO smove"),
        "*1\r\n*10\r\n$5\r\nsmove\r\n:4\r\n*2\r\n+write\r\n+fast\r\n:1\r\n:2\r\n:1\r\n*3\r\n+@write\r\n+@set\r\n+@fast\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RW\r\n+insert\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(
        c.line("COMMAND INFO sunionstore smembers"),
        "*2\r\n*10\r\n$11\r\nsunionstore\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:1\r\n*3\r\n+@write\r\n+@set\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$8\r\nsmembers\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@set\r\n+@slow\r\n*1\r\n$29\r\nnondeterministic_output_order\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
}

#[test]
fn cluster_routing_sees_every_key_of_multi_key_set_commands() {
    let (_server, mut c) = resp::start_cluster();
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(c.line("SINTERCARD 2 a b"), crossslot);
    assert_eq!(c.line("SINTERCARD 2 {t}a {t}b LIMIT 1"), int(0));
    assert_eq!(c.line("SINTERSTORE d {t}a"), crossslot);
    assert_eq!(c.line("SMOVE {t}a b m"), crossslot);
    assert_eq!(c.line("SUNION {t}a {t}b b"), crossslot);
    c.line("SADD {t}a 1 2");
    assert_eq!(c.line("SUNIONSTORE {t}d {t}a {t}b"), int(2));
    // A numkeys that announces no keys is the command's own error.
    assert_eq!(
        c.line("SINTERCARD 0 a"),
        error("ERR numkeys should be greater than 0")
    );
}

// ---- SSCAN ----

fn sscan_all(c: &mut Raw, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let reply = c.value(&args);
        calls += 1;
        let redis::Value::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        let next = resp::strings(&redis::Value::Array(vec![parts[0].clone()]))[0].clone();
        out.extend(resp::strings(&parts[1]));
        if next == "0" {
            return (out, calls);
        }
        cursor = next;
    }
}

#[test]
fn sscan_returns_an_intset_at_once_and_pages_a_hashtable() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SSCAN nokey 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.line("SSCAN nokey 0 foo"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.line("SSCAN s x"), error("ERR invalid cursor"));
    c.line("SADD s 10 9 -1");
    // Numeric order, like Redis' intset.
    assert_eq!(
        c.line("SSCAN s 0 COUNT 1"),
        "*2\r\n$1\r\n0\r\n*3\r\n$2\r\n-1\r\n$1\r\n9\r\n$2\r\n10\r\n"
    );
    assert_eq!(c.line("SMEMBERS s"), bulks(&["-1", "9", "10"]));
    assert_eq!(
        c.line("SSCAN s 0 MATCH 1*"),
        "*2\r\n$1\r\n0\r\n*1\r\n$2\r\n10\r\n"
    );
    assert_eq!(c.line("SSCAN s 0 COUNT 0"), SYNTAX);
    assert_eq!(c.line("SSCAN s 0 COUNT x"), NOT_INTEGER);
    assert_eq!(c.line("SSCAN s 0 COUNT"), SYNTAX);
    assert_eq!(c.line("SSCAN s 0 foo bar"), SYNTAX);
    c.line("SET str x");
    assert_eq!(c.line("SSCAN str 0"), WRONGTYPE);

    let mut args = vec!["SADD".to_string(), "big".to_string()];
    args.extend((0..300).map(|i| format!("m{i}")));
    assert_eq!(c.cmd(&args), int(300));
    let (mut got, calls) = sscan_all(&mut c, "big", &["COUNT", "50"]);
    assert!(calls >= 6, "{calls} calls");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 300);
    let (matched, _) = sscan_all(&mut c, "big", &["MATCH", "m1?", "COUNT", "7"]);
    assert_eq!(matched.len(), 10);
}

// ---- encodings, types and generic key commands ----

#[test]
fn object_encoding_follows_redis_7_0_intset_limits() {
    let (_server, mut c) = start();
    c.line("SADD i 1 2 -3");
    assert_eq!(c.line("OBJECT ENCODING i"), bulk("intset"));
    // Not string2ll integers: leading zeros, -0, +1.
    for (key, member) in [("z", "01"), ("m", "-0"), ("p", "+1")] {
        c.cmd(&["SADD", key, member]);
        assert_eq!(
            c.cmd(&["OBJECT", "ENCODING", key]),
            bulk("hashtable"),
            "{member}"
        );
    }
    c.line("SADD i x");
    assert_eq!(c.line("OBJECT ENCODING i"), bulk("hashtable"));
    // Never converts back.
    c.line("SREM i x");
    assert_eq!(c.line("OBJECT ENCODING i"), bulk("hashtable"));
    let mut args = vec!["SADD".to_string(), "n".to_string()];
    args.extend((0..512).map(|i| i.to_string()));
    assert_eq!(c.cmd(&args), int(512));
    assert_eq!(c.line("OBJECT ENCODING n"), bulk("intset"));
    assert_eq!(c.line("SADD n 512"), int(1));
    assert_eq!(c.line("OBJECT ENCODING n"), bulk("hashtable"));
    // SMOVE into a new set creates it by the member.
    c.line("SADD src 7 y");
    c.line("SMOVE src dst 7");
    assert_eq!(c.line("OBJECT ENCODING dst"), bulk("intset"));
    c.line("SMOVE src dst2 y");
    assert_eq!(c.line("OBJECT ENCODING dst2"), bulk("hashtable"));
}

#[test]
fn wrong_types_are_refused_both_ways() {
    let (_server, mut c) = start();
    c.line("SET str v");
    c.line("SADD s a");
    for command in [
        "SADD str a",
        "SREM str a",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SMEMBERS str",
        "SINTER s str",
        "SINTER nokey str",
        "SUNION s str",
        "SDIFF nokey str",
        "SINTERSTORE d nokey str",
        "SUNIONSTORE d s str",
        "SDIFFSTORE d str",
        "SINTERCARD 2 nokey str",
        "GET s",
        "APPEND s x",
        "INCR s",
        "HGET s a",
        "HSET s a b",
    ] {
        assert_eq!(c.line(command), WRONGTYPE, "{command}");
    }
    assert_eq!(c.line("SET s v"), OK);
    assert_eq!(c.line("TYPE s"), "+string\r\n");
    // A failed STORE leaves its destination alone.
    c.line("SADD d keep");
    assert_eq!(c.line("SUNIONSTORE d str"), WRONGTYPE);
    assert_eq!(c.line("SMEMBERS d"), bulks(&["keep"]));
}

#[test]
fn ttls_rename_copy_move_and_scan_type() {
    let (_server, mut c) = start();
    c.line("SADD s a b");
    assert_eq!(c.line("EXPIRE s 100"), int(1));
    c.line("SADD s c");
    assert!(c.int(&["TTL", "s"]) > 0);
    assert_eq!(c.line("RENAME s r"), OK);
    assert_eq!(c.line("EXISTS s"), int(0));
    assert_eq!(members(&mut c, "r"), ["a", "b", "c"]);
    assert!(c.int(&["TTL", "r"]) > 0);
    assert_eq!(c.line("COPY r copy"), int(1));
    c.line("SADD copy d");
    assert_eq!(c.line("SCARD r"), int(3));
    assert_eq!(c.line("SCARD copy"), int(4));
    assert_eq!(c.line("MOVE copy 2"), int(1));
    c.line("SELECT 2");
    assert_eq!(members(&mut c, "copy"), ["a", "b", "c", "d"]);
    assert_eq!(c.line("TYPE copy"), "+set\r\n");
    c.line("SELECT 0");
    c.line("SADD s2 x");
    c.line("HSET h f v");
    let reply = c.value(&["SCAN", "0", "TYPE", "set", "COUNT", "100"]);
    let redis::Value::Array(parts) = reply else {
        panic!()
    };
    assert_eq!(sorted(&parts[1]), ["r", "s2"]);
    assert_eq!(c.line("PEXPIRE s2 30"), int(1));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.line("SISMEMBER s2 x"), int(0));
    assert_eq!(c.line("SADD s2 y"), int(1));
    assert_eq!(c.line("SMEMBERS s2"), bulks(&["y"]));
    assert_eq!(c.line("UNLINK r s2"), int(2));
    assert_eq!(c.line("SCARD r"), int(0));
}

#[test]
fn a_pipeline_reads_its_own_member_writes_and_failures_leave_no_trace() {
    let (_server, mut c) = start();
    let mut batch = Vec::new();
    let commands: &[&[&str]] = &[
        &["SADD", "s", "a", "b"],
        &["SISMEMBER", "s", "a"],
        &["SCARD", "s"],
        &["SMOVE", "s", "t", "a"],
        &["SUNIONSTORE", "u", "s", "t"],
        &["SET", "str", "x"],
        &["SINTERSTORE", "u", "s", "str"],
        &["SMEMBERS", "u"],
        &["SPOP", "s"],
        &["EXISTS", "s"],
        &["SSCAN", "t", "0"],
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
            int(1),
            int(2),
            int(1),
            int(2),
            OK.to_string(),
            WRONGTYPE.to_string(),
            bulks(&["a", "b"]),
            bulk("b"),
            int(0),
            "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n".to_string(),
        ]
    );
}

#[test]
fn sets_survive_a_restart() {
    let mut server = Server::start(&[]);
    {
        let mut c = Raw::connect(server.port);
        c.line("SADD s a b 1");
        c.line("SADD gone a");
        c.line("DEL gone");
        c.line("EXPIRE s 1000");
        assert_eq!(c.line("SAVE"), OK);
    }
    server.terminate();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(members(&mut c, "s"), ["1", "a", "b"]);
    assert_eq!(c.line("SCARD s"), int(3));
    assert_eq!(c.line("OBJECT ENCODING s"), bulk("hashtable"));
    assert!(c.int(&["TTL", "s"]) > 0);
    assert_eq!(c.line("EXISTS gone"), int(0));
}

// ---- O(1) DEL ----

/// Fills `key` with `count` members, 1000 per SADD, pipelined.
fn fill(c: &mut Raw, key: &str, count: usize) {
    fill_pipelined(c, "SADD", key, count, |i| vec![format!("member:{i}")]);
}

#[test]
fn deleting_a_huge_set_is_as_fast_as_a_small_one_and_the_sweeper_reclaims_it() {
    let (_server, mut c) = start();
    fill(&mut c, "big", 200_000);
    assert_eq!(c.line("SCARD big"), int(200_000));
    let mut small = Duration::MAX;
    for i in 0..5 {
        let key = format!("small{i}");
        fill(&mut c, &key, 10);
        small = small.min(time_del(&mut c, &key));
    }
    let big = time_del(&mut c, "big");
    println!("DEL of a 10-member set: {small:?}; DEL of a 200000-member set: {big:?}");
    assert!(
        big < small * 20 + Duration::from_millis(5),
        "big {big:?} vs small {small:?}"
    );
    assert_eq!(c.line("EXISTS big"), int(0));
    assert_eq!(c.line("SCARD big"), int(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    let started = Instant::now();
    while pending(&mut c) > 0 {
        assert!(Instant::now() < deadline, "sweeper too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("reclaimed in {:?}", started.elapsed());
    assert_eq!(c.line("SADD big m"), int(1));
    assert_eq!(c.line("SMEMBERS big"), bulks(&["m"]));
}
