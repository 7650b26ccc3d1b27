//! Hash commands against a real server, with the replies Redis 7.0.15 gives
//! (checked against redis-server 7.0.15), plus how the generic key commands
//! treat hashes, persistence, and O(1) deletion of a big hash.

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

// ---- HSET / HGET / HMSET / HSETNX ----

#[test]
fn hset_counts_new_fields_and_hget_reads_them() {
    let (_server, mut c) = start();
    assert_eq!(c.line("HSET h f v f v2 g w"), int(2));
    assert_eq!(c.line("HGET h f"), bulk("v2"));
    assert_eq!(c.line("HGET h nope"), NIL);
    assert_eq!(c.line("HGET nokey f"), NIL);
    assert_eq!(c.line("HSET h f x"), int(0));
    assert_eq!(c.line("HLEN h"), int(2));
    assert_eq!(c.line("HLEN nokey"), int(0));
    assert_eq!(c.line("HMSET h a 1 b 2"), OK);
    assert_eq!(c.line("HLEN h"), int(4));
    assert_eq!(c.line("HSETNX h f z"), int(0));
    assert_eq!(c.line("HSETNX h n z"), int(1));
    assert_eq!(c.line("HGET h f"), bulk("x"));
    assert_eq!(c.line("HSETNX fresh f z"), int(1));
    assert_eq!(c.line("TYPE fresh"), "+hash\r\n");
}

#[test]
fn hset_and_hmset_check_their_arity() {
    let (_server, mut c) = start();
    assert_eq!(c.line("HSET h"), arity("hset"));
    assert_eq!(c.line("HSET h f"), arity("hset"));
    assert_eq!(c.line("HSET h f v x"), arity("hset"));
    assert_eq!(c.line("HMSET h f"), arity("hmset"));
    assert_eq!(c.line("HMSET h f v x"), arity("hmset"));
    assert_eq!(c.line("HDEL h"), arity("hdel"));
    assert_eq!(c.line("HGET h"), arity("hget"));
    assert_eq!(c.line("EXISTS h"), int(0));
}

#[test]
fn binary_fields_and_values_round_trip() {
    let (_server, mut c) = start();
    let field: Vec<u8> = (0..=255u8).collect();
    let value: Vec<u8> = (0..=255u8).rev().collect();
    assert_eq!(c.cmd(&[&b"HSET"[..], b"h", &field, &value]), int(1));
    let mut expected = b"$256\r\n".to_vec();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd_bytes(&[&b"HGET"[..], b"h", &field]), expected);
    assert_eq!(c.cmd(&[&b"HSTRLEN"[..], b"h", &field]), int(256));
    assert_eq!(c.cmd(&["HSET", "h", "", ""]), int(1));
    assert_eq!(c.cmd(&["HGET", "h", ""]), bulk(""));
}

// ---- HDEL / HEXISTS / HSTRLEN / HMGET ----

#[test]
fn hdel_counts_removed_fields_and_the_last_one_deletes_the_key() {
    let (_server, mut c) = start();
    assert_eq!(c.line("HDEL nokey f"), int(0));
    c.line("HSET h f 1 n 2 q 3");
    assert_eq!(c.line("HDEL h f f n nope"), int(2));
    assert_eq!(c.line("HEXISTS h q"), int(1));
    assert_eq!(c.line("HEXISTS h f"), int(0));
    assert_eq!(c.line("HEXISTS nokey f"), int(0));
    assert_eq!(c.line("HDEL h q"), int(1));
    assert_eq!(c.line("EXISTS h"), int(0));
    assert_eq!(c.line("TYPE h"), "+none\r\n");
}

#[test]
fn hstrlen_and_hmget() {
    let (_server, mut c) = start();
    c.line("HSET h f v2 g w");
    assert_eq!(c.line("HSTRLEN h f"), int(2));
    assert_eq!(c.line("HSTRLEN h nope"), int(0));
    assert_eq!(c.line("HSTRLEN nokey f"), int(0));
    assert_eq!(
        c.line("HMGET h f nope g"),
        "*3\r\n$2\r\nv2\r\n$-1\r\n$1\r\nw\r\n"
    );
    assert_eq!(c.line("HMGET nokey a b"), "*2\r\n$-1\r\n$-1\r\n");
}

// ---- HGETALL / HKEYS / HVALS ----

#[test]
fn hgetall_is_a_flat_array_in_resp2_and_a_map_in_resp3() {
    let (_server, mut c) = start();
    c.line("HSET h a 1 b 2");
    assert_eq!(c.line("HGETALL h"), bulks(&["a", "1", "b", "2"]));
    assert_eq!(c.line("HGETALL nokey"), "*0\r\n");
    assert_eq!(c.line("HKEYS h"), bulks(&["a", "b"]));
    assert_eq!(c.line("HVALS h"), bulks(&["1", "2"]));
    assert_eq!(c.line("HKEYS nokey"), "*0\r\n");
    c.line("HELLO 3");
    assert_eq!(
        c.line("HGETALL h"),
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.line("HGETALL nokey"), "%0\r\n");
}

/// Like Redis' listpack, a small hash replies in the order its fields were
/// added: an update keeps a field's place, a field deleted and added again
/// goes last. Past the listpack limits the order is the field order.
#[test]
fn a_small_hash_replies_in_insertion_order() {
    let (_server, mut c) = start();
    c.line("HSET h z 1 a 2 m 3");
    assert_eq!(c.line("HKEYS h"), bulks(&["z", "a", "m"]));
    c.line("HSET h a 20");
    c.line("HINCRBY h z 5");
    assert_eq!(c.line("HGETALL h"), bulks(&["z", "6", "a", "20", "m", "3"]));
    c.line("HDEL h z");
    c.line("HSETNX h z 7");
    c.line("HINCRBYFLOAT h b 1.5");
    assert_eq!(c.line("HKEYS h"), bulks(&["a", "m", "z", "b"]));
    assert_eq!(c.line("HVALS h"), bulks(&["20", "3", "7", "1.5"]));
    assert_eq!(
        c.line("HSCAN h 0"),
        format!(
            "*2\r\n$1\r\n0\r\n{}",
            bulks(&["a", "20", "m", "3", "z", "7", "b", "1.5"])
        )
    );
    // RESTORE and COPY keep the order.
    let redis::Value::BulkString(payload) = c.value(&["DUMP", "h"]) else {
        panic!("DUMP gives a bulk string");
    };
    assert_eq!(
        c.cmd(&[b"RESTORE".as_slice(), b"h3", b"0", &payload]),
        "+OK\r\n"
    );
    assert_eq!(c.line("HKEYS h3"), bulks(&["a", "m", "z", "b"]));
    c.line("COPY h h2");
    assert_eq!(c.line("HKEYS h2"), bulks(&["a", "m", "z", "b"]));
    // A hashtable hash replies in field order.
    c.line("CONFIG SET hash-max-listpack-entries 4");
    c.line("HSET h c 1");
    assert_eq!(c.line("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    assert_eq!(c.line("HKEYS h"), bulks(&["a", "b", "c", "m", "z"]));
}

#[test]
fn hgetall_through_the_redis_crate() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg(&["x", "1", "y", "2", "z", "3"])
        .query(&mut con)
        .unwrap();
    let all: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg("h").query(&mut con).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all["y"], "2");
    let keys: Vec<String> = redis::cmd("HKEYS").arg("h").query(&mut con).unwrap();
    assert_eq!(keys, ["x", "y", "z"]);
}

// ---- HINCRBY / HINCRBYFLOAT ----

#[test]
fn hincrby_follows_redis_errors_and_overflow() {
    let (_server, mut c) = start();
    c.line("HSET h f v nn 007 e x");
    assert_eq!(c.line("HINCRBY h n 1"), int(1));
    assert_eq!(
        c.line("HINCRBY h f 1"),
        error("ERR hash value is not an integer")
    );
    assert_eq!(
        c.line("HINCRBY h nn 1"),
        error("ERR hash value is not an integer")
    );
    assert_eq!(c.line("HINCRBY h n x"), NOT_INTEGER);
    assert_eq!(
        c.line("HINCRBY h n 9223372036854775807"),
        error("ERR increment or decrement would overflow")
    );
    assert_eq!(c.line("HINCRBY h n -3"), int(-2));
    assert_eq!(c.line("HINCRBY h m -9223372036854775808"), int(i64::MIN));
    assert_eq!(
        c.line("HINCRBY h m -1"),
        error("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd(&["HSET", "h", "e", ""]), int(0));
    assert_eq!(
        c.line("HINCRBY h e 1"),
        error("ERR hash value is not an integer")
    );
    assert_eq!(c.line("HINCRBY newkey f 5"), int(5));
}

#[test]
fn hincrbyfloat_follows_redis_errors_and_formatting() {
    let (_server, mut c) = start();
    c.line("HSET h f v");
    assert_eq!(c.line("HINCRBYFLOAT h x 0.1"), bulk("0.1"));
    assert_eq!(c.line("HINCRBYFLOAT h x 0.2"), bulk("0.3"));
    assert_eq!(c.line("HINCRBYFLOAT h q 1e5"), bulk("100000"));
    assert_eq!(c.line("HINCRBYFLOAT h q 1.0e1"), bulk("100010"));
    assert_eq!(c.line("HINCRBYFLOAT h e2 5.0"), bulk("5"));
    assert_eq!(c.line("HINCRBYFLOAT h e3 .5"), bulk("0.5"));
    assert_eq!(
        c.line("HINCRBYFLOAT h f 1"),
        error("ERR hash value is not a float")
    );
    assert_eq!(c.cmd(&["HSET", "h", "ws", " 1"]), int(1));
    assert_eq!(
        c.line("HINCRBYFLOAT h ws 1"),
        error("ERR hash value is not a float")
    );
    assert_eq!(
        c.line("HINCRBYFLOAT h x nope"),
        error("ERR value is not a valid float")
    );
    assert_eq!(
        c.line("HINCRBYFLOAT h x inf"),
        error("ERR value is NaN or Infinity")
    );
    assert_eq!(
        c.line("HINCRBYFLOAT h x -inf"),
        error("ERR value is NaN or Infinity")
    );
    assert_eq!(
        c.line("HINCRBYFLOAT h x nan"),
        error("ERR value is not a valid float")
    );
    assert_eq!(c.line("HGET h x"), bulk("0.3"));
}

// ---- HRANDFIELD ----

#[test]
fn hrandfield_single_counts_and_errors() {
    let (_server, mut c) = start();
    assert_eq!(c.line("HRANDFIELD nokey"), NIL);
    assert_eq!(c.line("HRANDFIELD nokey 5"), "*0\r\n");
    assert_eq!(c.line("HRANDFIELD nokey 5 WITHVALUES"), "*0\r\n");
    c.line("HSET h a 1 b 2 c 3");
    let one = c.line("HRANDFIELD h");
    assert!(["a", "b", "c"].iter().any(|f| one == bulk(f)), "{one}");
    assert_eq!(c.line("HRANDFIELD h 0"), "*0\r\n");
    // A count at least the size: every field, once.
    assert_eq!(
        sorted(&c.value(&["HRANDFIELD", "h", "10"])),
        ["a", "b", "c"]
    );
    let two = sorted(&c.value(&["HRANDFIELD", "h", "2"]));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    // Negative: exactly |count| picks, repeats allowed.
    let many = resp::strings(&c.value(&["HRANDFIELD", "h", "-20"]));
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|f| ["a", "b", "c"].contains(&f.as_str())));
    let pairs = resp::strings(&c.value(&["HRANDFIELD", "h", "-5", "WITHVALUES"]));
    assert_eq!(pairs.len(), 10);
    for pair in pairs.chunks(2) {
        let expected = match pair[0].as_str() {
            "a" => "1",
            "b" => "2",
            _ => "3",
        };
        assert_eq!(pair[1], expected);
    }
    assert_eq!(c.line("HRANDFIELD h x"), NOT_INTEGER);
    assert_eq!(c.line("HRANDFIELD nokey x"), NOT_INTEGER);
    assert_eq!(c.line("HRANDFIELD h 1 foo"), SYNTAX);
    assert_eq!(c.line("HRANDFIELD h 1 withvalue"), SYNTAX);
    assert_eq!(c.line("HRANDFIELD h 1 WITHVALUES extra"), SYNTAX);
    assert_eq!(
        c.line("HRANDFIELD h -9223372036854775808 WITHVALUES"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        c.line("HRANDFIELD h -4611686018427387904 WITHVALUES"),
        error("ERR value is out of range")
    );
    assert_eq!(
        c.line("HRANDFIELD h 4611686018427387904 WITHVALUES"),
        error("ERR value is out of range")
    );
}

#[test]
fn hrandfield_withvalues_is_pairs_in_resp3() {
    let (_server, mut c) = start();
    c.line("HSET h a 1");
    assert_eq!(c.line("HRANDFIELD h 1 WITHVALUES"), bulks(&["a", "1"]));
    c.line("HELLO 3");
    assert_eq!(
        c.line("HRANDFIELD h 1 WITHVALUES"),
        "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        c.line("HRANDFIELD h -2 WITHVALUES"),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.line("HRANDFIELD h 1"), bulks(&["a"]));
}

// ---- HSCAN ----

fn hscan_all(c: &mut Raw, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut fields = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let reply = c.value(&args);
        calls += 1;
        let redis::Value::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        let next = resp::strings(&redis::Value::Array(vec![parts[0].clone()]))[0].clone();
        let items = resp::strings(&parts[1]);
        fields.extend(items.chunks(2).map(|p| format!("{}={}", p[0], p[1])));
        if next == "0" {
            return (fields, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan_returns_a_small_hash_at_once_and_pages_a_big_one() {
    let (_server, mut c) = start();
    assert_eq!(c.line("HSCAN nokey 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.line("HSCAN nokey 0 foo"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.line("HSCAN h x"), error("ERR invalid cursor"));
    assert_eq!(
        c.line("HSCAN h 18446744073709551616"),
        error("ERR invalid cursor")
    );
    c.line("HSET h n 5 q 6");
    assert_eq!(
        c.line("HSCAN h 0 COUNT 1"),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nn\r\n$1\r\n5\r\n$1\r\nq\r\n$1\r\n6\r\n"
    );
    assert_eq!(
        c.line("HSCAN h 0 MATCH q*"),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nq\r\n$1\r\n6\r\n"
    );
    assert_eq!(c.line("HSCAN h 0 count 0"), SYNTAX);
    assert_eq!(c.line("HSCAN h 0 count -1"), SYNTAX);
    assert_eq!(c.line("HSCAN h 0 count x"), NOT_INTEGER);
    assert_eq!(c.line("HSCAN h 0 foo"), SYNTAX);
    assert_eq!(c.line("HSCAN h 0 count"), SYNTAX);
    assert_eq!(c.line("HSCAN h 0 novalues"), SYNTAX);

    let mut args = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..600 {
        args.push(format!("f{i}"));
        args.push(format!("v{i}"));
    }
    assert_eq!(c.cmd(&args), int(600));
    let (mut fields, calls) = hscan_all(&mut c, "big", &["COUNT", "50"]);
    assert!(calls >= 12, "{calls} calls");
    fields.sort();
    fields.dedup();
    assert_eq!(fields.len(), 600);
    assert!(fields.contains(&"f42=v42".to_string()));
    let (matched, _) = hscan_all(&mut c, "big", &["MATCH", "f1?", "COUNT", "7"]);
    assert_eq!(matched.len(), 10);
}

// ---- types and generic key commands ----

#[test]
fn wrong_types_are_refused_both_ways() {
    let (_server, mut c) = start();
    c.line("SET s v");
    c.line("HSET h f v");
    for command in [
        "HGET s f",
        "HSET s f v",
        "HLEN s",
        "HDEL s f",
        "HGETALL s",
        "HSCAN s 0",
        "HRANDFIELD s",
        "HRANDFIELD s 1",
        "HINCRBY s f 1",
        "HINCRBYFLOAT s f 1",
        "HMGET s f",
        "HSETNX s f v",
        "HSTRLEN s f",
        "HEXISTS s f",
        "HKEYS s",
        "HVALS s",
        "HMSET s f v",
    ] {
        assert_eq!(c.line(command), WRONGTYPE, "{command}");
    }
    for command in [
        "GET h",
        "APPEND h x",
        "INCR h",
        "GETRANGE h 0 1",
        "STRLEN h",
        "GETSET h x",
    ] {
        assert_eq!(c.line(command), WRONGTYPE, "{command}");
    }
    assert_eq!(c.line("MGET h s"), "*2\r\n$-1\r\n$1\r\nv\r\n");
    // SET overwrites whatever the type.
    assert_eq!(c.line("SET h s"), OK);
    assert_eq!(c.line("GET h"), bulk("s"));
    assert_eq!(c.line("HSET h f v"), WRONGTYPE);
}

#[test]
fn object_encoding_follows_redis_listpack_limits() {
    let (_server, mut c) = start();
    let mut args = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..512 {
        args.push(format!("f{i}"));
        args.push("v".to_string());
    }
    c.cmd(&args);
    assert_eq!(c.line("OBJECT ENCODING h"), bulk("listpack"));
    c.line("HSET h f512 v");
    assert_eq!(c.line("OBJECT ENCODING h"), bulk("hashtable"));
    // Never converts back.
    c.line("HDEL h f512 f511");
    assert_eq!(c.line("OBJECT ENCODING h"), bulk("hashtable"));

    // The thresholds are settings (and the old ziplist names still work).
    assert_eq!(c.line("CONFIG SET hash-max-ziplist-entries 2"), OK);
    assert_eq!(
        c.line("CONFIG GET hash-max-listpack-entries"),
        "*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n2\r\n"
    );
    c.line("HSET small a 1 b 2");
    assert_eq!(c.line("OBJECT ENCODING small"), bulk("listpack"));
    c.line("HSET small c 3");
    assert_eq!(c.line("OBJECT ENCODING small"), bulk("hashtable"));
    assert_eq!(c.line("CONFIG SET hash-max-listpack-entries 512"), OK);

    c.cmd(&["HSET", "v", "f", &"x".repeat(64)]);
    assert_eq!(c.line("OBJECT ENCODING v"), bulk("listpack"));
    c.cmd(&["HSET", "v", "g", &"x".repeat(65)]);
    assert_eq!(c.line("OBJECT ENCODING v"), bulk("hashtable"));
    c.cmd(&["HSET", "k", &"x".repeat(65), "v"]);
    assert_eq!(c.line("OBJECT ENCODING k"), bulk("hashtable"));
    c.line("HSET n f 1");
    c.line("HINCRBYFLOAT n f 1e100");
    assert_eq!(c.line("OBJECT ENCODING n"), bulk("hashtable"));
}

#[test]
fn ttls_expiry_and_persist_apply_to_hashes() {
    let (_server, mut c) = start();
    c.line("HSET h f v");
    assert_eq!(c.line("TTL h"), int(-1));
    assert_eq!(c.line("EXPIRE h 100"), int(1));
    assert!((99..=100).contains(&c.int(&["TTL", "h"])));
    // Writing fields keeps the TTL.
    c.line("HSET h g w");
    assert!(c.int(&["TTL", "h"]) > 0);
    assert_eq!(c.line("PERSIST h"), int(1));
    assert_eq!(c.line("TTL h"), int(-1));
    assert_eq!(c.line("PEXPIRE h 50"), int(1));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.line("HGET h f"), NIL);
    assert_eq!(c.line("HLEN h"), int(0));
    assert_eq!(c.line("EXISTS h"), int(0));
    // A new hash under the same name starts empty.
    assert_eq!(c.line("HSET h x 1"), int(1));
    assert_eq!(c.line("HGETALL h"), bulks(&["x", "1"]));
}

#[test]
fn active_expiry_removes_hashes_and_reclaims_their_fields() {
    let (_server, mut c) = start();
    for key in ["a", "b", "c"] {
        c.cmd(&["HSET", key, "f", "v", "g", "w"]);
        c.cmd(&["PEXPIRE", key, "30"]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = c.line("INFO keyspace");
        if !info.contains("db0:") && pending(&mut c) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rename_copy_and_move_carry_the_fields() {
    let (_server, mut c) = start();
    c.line("HSET h a 1 b 2");
    c.line("EXPIRE h 100");
    assert_eq!(c.line("RENAME h r"), OK);
    assert_eq!(c.line("EXISTS h"), int(0));
    assert_eq!(c.line("HGETALL r"), bulks(&["a", "1", "b", "2"]));
    assert!(c.int(&["TTL", "r"]) > 0);
    c.line("HSET other z 9");
    assert_eq!(c.line("RENAMENX r other"), int(0));
    assert_eq!(c.line("RENAME r other"), OK);
    assert_eq!(c.line("HGETALL other"), bulks(&["a", "1", "b", "2"]));
    assert_eq!(c.line("COPY other copy"), int(1));
    c.line("HSET copy a changed");
    assert_eq!(c.line("HGET other a"), bulk("1"));
    assert_eq!(c.line("HGET copy a"), bulk("changed"));
    assert_eq!(c.line("COPY other copy"), int(0));
    assert_eq!(c.line("COPY other copy REPLACE"), int(1));
    assert_eq!(c.line("HGET copy a"), bulk("1"));
    assert_eq!(c.line("COPY other copy DB 1"), int(1));
    assert_eq!(c.line("MOVE copy 2"), int(1));
    assert_eq!(c.line("EXISTS copy"), int(0));
    c.line("SELECT 2");
    assert_eq!(c.line("HGETALL copy"), bulks(&["a", "1", "b", "2"]));
    assert_eq!(c.line("TYPE copy"), "+hash\r\n");
    c.line("SELECT 1");
    assert_eq!(c.line("HLEN copy"), int(2));
}

#[test]
fn scan_filters_by_type_hash() {
    let (_server, mut c) = start();
    c.line("HSET h1 f v");
    c.line("HSET h2 f v");
    c.line("SET s v");
    let reply = c.value(&["SCAN", "0", "TYPE", "hash", "COUNT", "100"]);
    let redis::Value::Array(parts) = reply else {
        panic!()
    };
    assert_eq!(sorted(&parts[1]), ["h1", "h2"]);
}

#[test]
fn flushdb_and_del_empty_out_hashes() {
    let (_server, mut c) = start();
    c.line("HSET h a 1");
    c.line("HSET g a 1");
    assert_eq!(c.line("DEL h"), int(1));
    assert_eq!(c.line("UNLINK g nokey"), int(1));
    assert_eq!(c.line("HGET h a"), NIL);
    c.line("HSET h a 1");
    assert_eq!(c.line("FLUSHDB"), OK);
    assert_eq!(c.line("HLEN h"), int(0));
    assert_eq!(c.line("HSET h b 2"), int(1));
    assert_eq!(c.line("HGETALL h"), bulks(&["b", "2"]));
}

#[test]
fn a_pipeline_reads_its_own_field_writes_and_failures_leave_no_trace() {
    let (_server, mut c) = start();
    let mut batch = Vec::new();
    for command in [
        &["HSET", "h", "a", "1", "b", "x"][..],
        &["HGET", "h", "a"],
        &["HGETALL", "h"],
        &["HINCRBY", "h", "b", "1"],
        &["HDEL", "h", "a"],
        &["HLEN", "h"],
        &["HSCAN", "h", "0"],
        &["DEL", "h"],
        &["HGET", "h", "b"],
        &["HSET", "h", "c", "3"],
        &["HKEYS", "h"],
    ] {
        batch.extend(resp::encode(command));
    }
    c.send_bytes(&batch);
    let replies: Vec<String> = (0..11).map(|_| c.reply()).collect();
    assert_eq!(
        replies,
        [
            int(2),
            bulk("1"),
            bulks(&["a", "1", "b", "x"]),
            error("ERR hash value is not an integer"),
            int(1),
            int(1),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\nx\r\n".to_string(),
            int(1),
            NIL.to_string(),
            int(1),
            bulks(&["c"]),
        ]
    );
}

#[test]
fn hashes_survive_a_restart() {
    let mut server = Server::start(&[]);
    {
        let mut c = Raw::connect(server.port);
        c.line("HSET h a 1 b 2");
        c.line("HSET gone a 1");
        c.line("DEL gone");
        c.line("HINCRBY h n 7");
        c.line("EXPIRE h 1000");
        assert_eq!(c.line("SAVE"), OK);
    }
    server.terminate();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("HGETALL h"), bulks(&["a", "1", "b", "2", "n", "7"]));
    assert_eq!(c.line("HLEN h"), int(3));
    assert!(c.int(&["TTL", "h"]) > 0);
    assert_eq!(c.line("EXISTS gone"), int(0));
    assert_eq!(c.line("HSET h c 3"), int(1));
}

/// Fills `key` with `fields` fields, 1000 per HSET, pipelined.
fn fill(c: &mut Raw, key: &str, fields: usize) {
    fill_pipelined(c, "HSET", key, fields, |i| {
        vec![format!("field:{i}"), format!("value:{i}")]
    });
}

#[test]
fn deleting_a_huge_hash_is_as_fast_as_a_small_one_and_the_sweeper_reclaims_it() {
    let (_server, mut c) = start();
    fill(&mut c, "big", 200_000);
    assert_eq!(c.line("HLEN big"), int(200_000));
    // The small DEL, best of a few, to take the noise out.
    let mut small = Duration::MAX;
    for i in 0..5 {
        let key = format!("small{i}");
        fill(&mut c, &key, 10);
        small = small.min(time_del(&mut c, &key));
    }
    let big = time_del(&mut c, "big");
    println!("DEL of a 10-field hash: {small:?}; DEL of a 200000-field hash: {big:?}");
    assert!(
        big < small * 20 + Duration::from_millis(5),
        "big {big:?} vs small {small:?}"
    );
    assert_eq!(c.line("EXISTS big"), int(0));
    assert_eq!(c.line("HLEN big"), int(0));
    // The fields are garbage now; the background sweeper deletes them.
    let deadline = Instant::now() + Duration::from_secs(120);
    let started = Instant::now();
    while pending(&mut c) > 0 {
        assert!(Instant::now() < deadline, "sweeper too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("reclaimed in {:?}", started.elapsed());
    // The six hashes deleted, all reclaimed.
    assert!(c.line("INFO memory").contains("lazyfreed_objects:6\r\n"));
    // A new hash of the same name starts empty.
    assert_eq!(c.line("HSET big f v"), int(1));
    assert_eq!(c.line("HLEN big"), int(1));
}

#[test]
fn command_info_describes_the_hash_family_like_redis() {
    let (_server, mut c) = start();
    let reply = c.cmd(&["COMMAND", "INFO", "hset", "hkeys"]);
    assert!(
        reply.starts_with("*2\r\n*10\r\n$4\r\nhset\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@hash\r\n+@fast\r\n"),
        "{reply}"
    );
    assert!(reply.contains("$5\r\nhkeys\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@hash\r\n+@slow\r\n"), "{reply}");
}
