//! Generic key commands against a real server: options, error replies and
//! expiry, with the replies Redis 7.0.15 gives.

mod common;
mod resp;

use common::Server;
use resp::{
    arity, bulk, bulks, error, int, invalid_expire, start, strings, Raw, NIL, NOT_INTEGER, OK,
    SYNTAX,
};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

const DB_RANGE: &str = "-ERR DB index is out of range\r\n";
const SAME_OBJECT: &str = "-ERR source and destination objects are the same\r\n";

fn sorted(value: &redis::Value) -> BTreeSet<String> {
    strings(value).into_iter().collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---- DEL / UNLINK / EXISTS / TOUCH / TYPE ----

#[test]
fn del_counts_the_keys_it_removed() {
    let (_server, mut c) = start();
    c.line("MSET a 1 b 2");
    assert_eq!(c.line("DEL a b c"), int(2));
    assert_eq!(c.line("DEL a"), int(0));
    assert_eq!(c.line("EXISTS a b"), int(0));
    assert_eq!(c.line("DEL"), arity("del"));
}

#[test]
fn del_counts_a_repeated_key_once() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("DEL a a a"), int(1));
}

#[test]
fn unlink_removes_keys_like_del() {
    let (_server, mut c) = start();
    c.line("MSET a 1 b 2");
    assert_eq!(c.line("UNLINK a a b nokey"), int(2));
    assert_eq!(c.line("EXISTS a b"), int(0));
    assert_eq!(c.line("UNLINK"), arity("unlink"));
}

#[test]
fn exists_counts_a_repeated_key_each_time() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXISTS a"), int(1));
    assert_eq!(c.line("EXISTS a a a nokey"), int(3));
    assert_eq!(c.line("EXISTS nokey"), int(0));
    assert_eq!(c.line("EXISTS"), arity("exists"));
}

#[test]
fn touch_counts_existing_keys() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("TOUCH a a nokey"), int(2));
    assert_eq!(c.line("TOUCH nokey"), int(0));
    assert_eq!(c.line("TOUCH"), arity("touch"));
}

#[test]
fn type_names_strings_and_missing_keys() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("TYPE a"), "+string\r\n");
    assert_eq!(c.line("TYPE nokey"), "+none\r\n");
    assert_eq!(c.line("TYPE"), arity("type"));
    assert_eq!(c.line("TYPE a b"), arity("type"));
}

// ---- RENAME / RENAMENX ----

#[test]
fn rename_moves_the_value_and_its_ttl() {
    let (_server, mut c) = start();
    c.line("SET a v EX 100");
    c.line("SET b old");
    assert_eq!(c.line("RENAME a b"), OK);
    assert_eq!(c.line("GET b"), bulk("v"));
    assert_eq!(c.line("EXISTS a"), int(0));
    assert!(c.int(&["TTL", "b"]) > 90);
}

#[test]
fn rename_to_itself_is_ok_when_the_key_exists() {
    let (_server, mut c) = start();
    c.line("SET a v");
    assert_eq!(c.line("RENAME a a"), OK);
    assert_eq!(c.line("GET a"), bulk("v"));
}

#[test]
fn rename_of_a_missing_key_is_an_error() {
    let (_server, mut c) = start();
    let no_such_key = error("ERR no such key");
    assert_eq!(c.line("RENAME nokey x"), no_such_key);
    assert_eq!(c.line("RENAME nokey nokey"), no_such_key);
    assert_eq!(c.line("RENAMENX nokey x"), no_such_key);
    assert_eq!(c.line("RENAMENX nokey nokey"), no_such_key);
    assert_eq!(c.line("RENAME a"), arity("rename"));
    assert_eq!(c.line("RENAMENX a"), arity("renamenx"));
}

#[test]
fn renamenx_only_renames_to_a_missing_key() {
    let (_server, mut c) = start();
    c.line("MSET a 1 b 2");
    assert_eq!(c.line("RENAMENX a b"), int(0));
    assert_eq!(c.line("GET b"), bulk("2"));
    assert_eq!(c.line("RENAMENX a a"), int(0));
    assert_eq!(c.line("RENAMENX a c"), int(1));
    assert_eq!(c.line("GET c"), bulk("1"));
    assert_eq!(c.line("EXISTS a"), int(0));
}

// ---- COPY / MOVE ----

#[test]
fn copy_copies_the_value_and_ttl() {
    let (_server, mut c) = start();
    c.line("SET a v EX 100");
    assert_eq!(c.line("COPY a b"), int(1));
    assert_eq!(c.line("GET b"), bulk("v"));
    assert!(c.int(&["TTL", "b"]) > 90);
    assert_eq!(c.line("GET a"), bulk("v"));
}

#[test]
fn copy_does_not_overwrite_without_replace() {
    let (_server, mut c) = start();
    c.line("MSET a 1 b 2");
    assert_eq!(c.line("COPY a b"), int(0));
    assert_eq!(c.line("GET b"), bulk("2"));
    assert_eq!(c.line("COPY a b REPLACE"), int(1));
    assert_eq!(c.line("GET b"), bulk("1"));
    assert_eq!(c.line("COPY a b REPLACE REPLACE"), int(1));
}

#[test]
fn copy_of_a_missing_key_returns_zero() {
    let (_server, mut c) = start();
    assert_eq!(c.line("COPY nokey x"), int(0));
    assert_eq!(c.line("EXISTS x"), int(0));
}

#[test]
fn copy_to_another_database() {
    let (_server, mut c) = start();
    c.line("SET x 1");
    assert_eq!(c.line("COPY x y DB 1"), int(1));
    assert_eq!(c.line("COPY x y DB 1"), int(0));
    c.line("SET x 2");
    assert_eq!(c.line("COPY x y DB 1 REPLACE"), int(1));
    // The same name in another database is a different key.
    assert_eq!(c.line("COPY x x DB 1"), int(1));
    assert_eq!(c.line("EXISTS y"), int(0));
    assert_eq!(c.line("SELECT 1"), OK);
    assert_eq!(c.line("MGET x y"), bulks(&["2", "2"]));
}

#[test]
fn copy_rejects_the_same_source_and_destination() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("COPY a a"), SAME_OBJECT);
    assert_eq!(c.line("COPY a a DB 0"), SAME_OBJECT);
    assert_eq!(c.line("COPY nokey nokey"), SAME_OBJECT);
}

#[test]
fn copy_rejects_bad_options() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("COPY a x DB 16"), DB_RANGE);
    assert_eq!(c.line("COPY a x DB -1"), DB_RANGE);
    assert_eq!(c.line("COPY a x DB abc"), NOT_INTEGER);
    assert_eq!(c.line("COPY nokey x DB 99"), DB_RANGE);
    assert_eq!(c.line("COPY a x DB"), SYNTAX);
    assert_eq!(c.line("COPY a x FOO"), SYNTAX);
    assert_eq!(c.line("COPY a"), arity("copy"));
    assert_eq!(c.line("EXISTS x"), int(0));
}

#[test]
fn move_moves_a_key_to_another_database() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("MOVE a 1"), int(1));
    assert_eq!(c.line("EXISTS a"), int(0));
    c.line("SET a 2");
    assert_eq!(c.line("MOVE a 1"), int(0));
    assert_eq!(c.line("GET a"), bulk("2"));
    assert_eq!(c.line("MOVE nokey 1"), int(0));
    c.line("SELECT 1");
    assert_eq!(c.line("GET a"), bulk("1"));
}

#[test]
fn move_rejects_bad_databases() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("MOVE a 0"), SAME_OBJECT);
    assert_eq!(c.line("MOVE nokey 0"), SAME_OBJECT);
    assert_eq!(c.line("MOVE a 16"), DB_RANGE);
    assert_eq!(c.line("MOVE a -1"), DB_RANGE);
    assert_eq!(c.line("MOVE nokey 99"), DB_RANGE);
    assert_eq!(c.line("MOVE a abc"), NOT_INTEGER);
    assert_eq!(c.line("MOVE a"), arity("move"));
    assert_eq!(c.line("EXISTS a"), int(1));
}

// ---- EXPIRE family ----

#[test]
fn expire_and_pexpire_set_relative_ttls() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a 100"), int(1));
    let ttl = c.int(&["TTL", "a"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    assert_eq!(c.line("PEXPIRE a 50000"), int(1));
    let pttl = c.int(&["PTTL", "a"]);
    assert!((49_000..=50_000).contains(&pttl), "pttl {pttl}");
    assert_eq!(c.line("EXPIRE nokey 100"), int(0));
    assert_eq!(c.line("PEXPIRE nokey 100"), int(0));
}

#[test]
fn expireat_and_pexpireat_set_absolute_deadlines() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIREAT a 99999999999"), int(1));
    assert_eq!(c.line("EXPIRETIME a"), int(99_999_999_999));
    assert_eq!(c.line("PEXPIRETIME a"), int(99_999_999_999_000));
    assert_eq!(c.line("PEXPIREAT a 99999999999123"), int(1));
    assert_eq!(c.line("PEXPIRETIME a"), int(99_999_999_999_123));
    assert_eq!(c.line("EXPIREAT nokey 99999999999"), int(0));
}

#[test]
fn expiretime_rounds_to_the_nearest_second() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    c.line("PEXPIREAT a 99999999999499");
    assert_eq!(c.line("EXPIRETIME a"), int(99_999_999_999));
    c.line("PEXPIREAT a 99999999999500");
    assert_eq!(c.line("EXPIRETIME a"), int(100_000_000_000));
}

#[test]
fn ttl_family_reports_minus_one_and_minus_two() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    for command in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&[command, "a"]), int(-1), "{command}");
        assert_eq!(c.cmd(&[command, "nokey"]), int(-2), "{command}");
        assert_eq!(c.cmd(&[command]), arity(&command.to_lowercase()));
    }
}

#[test]
fn expire_nx_only_sets_a_ttl_on_a_key_without_one() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a 100 NX"), int(1));
    assert_eq!(c.line("EXPIRE a 200 NX"), int(0));
    assert!(c.int(&["TTL", "a"]) <= 100);
    assert_eq!(c.line("EXPIRE a 200 nx"), int(0));
}

#[test]
fn expire_xx_only_changes_an_existing_ttl() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a 100 XX"), int(0));
    assert_eq!(c.line("TTL a"), int(-1));
    c.line("EXPIRE a 100");
    assert_eq!(c.line("EXPIRE a 200 XX"), int(1));
    assert!(c.int(&["TTL", "a"]) > 150);
}

#[test]
fn expire_gt_only_extends_a_ttl() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    // No TTL counts as an infinite one.
    assert_eq!(c.line("EXPIRE a 100 GT"), int(0));
    assert_eq!(c.line("TTL a"), int(-1));
    c.line("EXPIRE a 100");
    assert_eq!(c.line("EXPIRE a 50 GT"), int(0));
    assert_eq!(c.line("EXPIRE a 300 GT"), int(1));
    assert!(c.int(&["TTL", "a"]) > 250);
}

#[test]
fn expire_lt_only_shortens_a_ttl() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a 200 LT"), int(1));
    assert_eq!(c.line("EXPIRE a 400 LT"), int(0));
    assert_eq!(c.line("EXPIRE a 10 LT"), int(1));
    assert!(c.int(&["TTL", "a"]) <= 10);
}

#[test]
fn expire_xx_with_gt_or_lt_is_allowed() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a 100 XX GT"), int(0));
    c.line("EXPIRE a 100");
    assert_eq!(c.line("EXPIRE a 200 XX GT"), int(1));
    assert_eq!(c.line("EXPIRE a 50 XX LT"), int(1));
    assert!(c.int(&["TTL", "a"]) <= 50);
}

#[test]
fn expire_rejects_incompatible_options() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    let nx = error("ERR NX and XX, GT or LT options at the same time are not compatible");
    let gt_lt = error("ERR GT and LT options at the same time are not compatible");
    for command in [
        "EXPIRE a 100 NX XX",
        "EXPIRE a 100 XX NX",
        "EXPIRE a 100 NX GT",
        "PEXPIRE a 100 NX LT",
        "EXPIREAT nokey 100 NX XX",
    ] {
        assert_eq!(c.line(command), nx, "{command}");
    }
    assert_eq!(c.line("EXPIRE a 100 GT LT"), gt_lt);
    assert_eq!(c.line("PEXPIREAT a 100 LT GT"), gt_lt);
    assert_eq!(c.line("TTL a"), int(-1));
}

#[test]
fn expire_rejects_unknown_options() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(
        c.line("EXPIRE a 100 FOO"),
        error("ERR Unsupported option FOO")
    );
    assert_eq!(
        c.line("EXPIRE nokey 100 FOO"),
        error("ERR Unsupported option FOO")
    );
    assert_eq!(c.line("EXPIRE a 1 2"), error("ERR Unsupported option 2"));
    assert_eq!(c.line("EXPIRE a"), arity("expire"));
}

#[test]
fn expire_rejects_non_integer_and_overflowing_times() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a abc"), NOT_INTEGER);
    assert_eq!(c.line("EXPIRE a 1.5"), NOT_INTEGER);
    assert_eq!(c.line("EXPIRE nokey abc"), NOT_INTEGER);
    assert_eq!(
        c.line("EXPIRE a 9223372036854775807"),
        invalid_expire("expire")
    );
    assert_eq!(
        c.line("EXPIRE a -9223372036854775808"),
        invalid_expire("expire")
    );
    assert_eq!(
        c.line("PEXPIRE a 9223372036854775807"),
        invalid_expire("pexpire")
    );
    assert_eq!(
        c.line("EXPIREAT a 9223372036854775807"),
        invalid_expire("expireat")
    );
    assert_eq!(c.line("TTL a"), int(-1));
    assert_eq!(c.line("PEXPIREAT a 9223372036854775807"), int(1));
    assert_eq!(c.line("PEXPIRETIME a"), int(i64::MAX));
}

#[test]
fn expire_with_a_negative_or_past_time_deletes_the_key() {
    let (_server, mut c) = start();
    for command in [
        "EXPIRE a -1",
        "EXPIRE a 0",
        "PEXPIRE a 0",
        "PEXPIRE a -100",
        "EXPIREAT a 1",
        "EXPIREAT a 0",
        "EXPIREAT a -5",
        "PEXPIREAT a 1000",
    ] {
        c.line("SET a 1");
        assert_eq!(c.line(command), int(1), "{command}");
        assert_eq!(c.line("EXISTS a"), int(0), "{command}");
    }
}

#[test]
fn expire_past_time_respects_the_conditions() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("EXPIRE a -1 XX"), int(0));
    assert_eq!(c.line("EXPIRE a -1 GT"), int(0));
    assert_eq!(c.line("EXISTS a"), int(1));
    assert_eq!(c.line("EXPIRE a -1 NX"), int(1));
    assert_eq!(c.line("EXISTS a"), int(0));
    c.line("SET b 1 EX 100");
    assert_eq!(c.line("EXPIRE b -1 LT"), int(1));
    assert_eq!(c.line("EXISTS b"), int(0));
}

#[test]
fn persist_removes_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET a 1 EX 100");
    assert_eq!(c.line("PERSIST a"), int(1));
    assert_eq!(c.line("TTL a"), int(-1));
    assert_eq!(c.line("PERSIST a"), int(0));
    assert_eq!(c.line("PERSIST nokey"), int(0));
    assert_eq!(c.line("PERSIST"), arity("persist"));
}

#[test]
fn key_with_a_ttl_disappears_after_it_expires() {
    let (_server, mut c) = start();
    c.line("SET a 1 PX 100");
    c.line("SET b 1");
    assert_eq!(c.line("PEXPIRE b 100"), int(1));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.line("GET a"), NIL);
    assert_eq!(c.line("EXISTS a b"), int(0));
    assert_eq!(c.line("TTL b"), int(-2));
    assert_eq!(c.line("KEYS *"), "*0\r\n");
}

#[test]
fn active_expiry_reclaims_keys_nobody_reads() {
    let (_server, mut c) = start();
    let mut pipeline = Vec::new();
    for i in 0..2000 {
        pipeline.extend(resp::encode(&[
            "SET".to_string(),
            format!("key:{i}"),
            "v".to_string(),
            "PX".to_string(),
            "100".to_string(),
        ]));
    }
    c.send_bytes(&pipeline);
    for _ in 0..2000 {
        assert_eq!(c.reply(), OK);
    }
    c.line("SET keeper v");
    assert!(c.int(&["DBSIZE"]) > 1);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let size = c.int(&["DBSIZE"]);
        if size == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "DBSIZE still {size} long after the keys expired"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.line("GET keeper"), bulk("v"));
}

// ---- KEYS / SCAN / RANDOMKEY / DBSIZE ----

#[test]
fn keys_matches_glob_patterns() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(server.port);
    c.cmd(&[
        "MSET", "foo", "1", "fob", "2", "bar", "3", "f", "4", "hello", "5", "hallo", "6", "hxllo",
        "7", "h*llo", "8", "a[b", "9",
    ]);
    let mut keys = |pattern: &str| sorted(&c.value(&["KEYS", pattern]));
    assert_eq!(keys("*").len(), 9);
    assert_eq!(keys("f*"), set_of(&["foo", "fob", "f"]));
    assert_eq!(keys("f?o"), set_of(&["foo"]));
    assert_eq!(keys("fo[ob]"), set_of(&["foo", "fob"]));
    assert_eq!(keys("h[ae]llo"), set_of(&["hello", "hallo"]));
    assert_eq!(keys("h[^e]llo"), set_of(&["hallo", "hxllo", "h*llo"]));
    assert_eq!(keys("h[a-e]llo"), set_of(&["hello", "hallo"]));
    assert_eq!(keys("h\\*llo"), set_of(&["h*llo"]));
    assert_eq!(keys("a\\[b"), set_of(&["a[b"]));
    assert_eq!(keys("nomatch*"), set_of(&[]));
    assert_eq!(c.line("KEYS"), arity("keys"));
}

#[test]
fn keys_only_sees_the_selected_database() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    c.line("SELECT 1");
    c.line("SET b 1");
    assert_eq!(c.line("KEYS *"), bulks(&["b"]));
}

fn fill(c: &mut Raw, count: usize) {
    let mut args = vec!["MSET".to_string()];
    for i in 0..count {
        args.push(format!("key:{i}"));
        args.push(i.to_string());
    }
    assert_eq!(c.cmd(&args), OK);
}

/// One SCAN call: the next cursor and the keys.
fn scan(c: &mut Raw, args: &[&str]) -> (String, Vec<String>) {
    match c.value(args) {
        redis::Value::Array(parts) if parts.len() == 2 => {
            let cursor = match &parts[0] {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("cursor is not a bulk string: {other:?}"),
            };
            (cursor, strings(&parts[1]))
        }
        other => panic!("not a SCAN reply: {other:?}"),
    }
}

#[test]
fn scan_iterates_over_every_key() {
    let (_server, mut c) = start();
    fill(&mut c, 1000);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, keys) = scan(&mut c, &["SCAN", &cursor]);
        seen.extend(keys);
        calls += 1;
        assert!(calls < 10_000, "SCAN does not terminate");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert!(calls > 1, "COUNT 10 needs many calls for 1000 keys");
    let expected: HashSet<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn scan_count_sets_the_batch_size() {
    let (_server, mut c) = start();
    fill(&mut c, 1000);
    let (cursor, keys) = scan(&mut c, &["SCAN", "0", "COUNT", "1000000"]);
    assert_eq!(cursor, "0");
    assert_eq!(keys.len(), 1000);
    let (cursor, keys) = scan(&mut c, &["SCAN", "0", "COUNT", "5"]);
    assert_ne!(cursor, "0");
    assert!(!keys.is_empty() && keys.len() < 1000);
}

#[test]
fn scan_match_filters_keys() {
    let (_server, mut c) = start();
    fill(&mut c, 100);
    c.line("SET other 1");
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys) = scan(&mut c, &["SCAN", &cursor, "MATCH", "key:1?", "COUNT", "7"]);
        seen.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    let expected: BTreeSet<String> = (10..20).map(|i| format!("key:{i}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn scan_type_filters_by_value_type() {
    let (_server, mut c) = start();
    fill(&mut c, 20);
    let (cursor, keys) = scan(&mut c, &["SCAN", "0", "TYPE", "string", "COUNT", "100"]);
    assert_eq!(cursor, "0");
    assert_eq!(keys.len(), 20);
    let (_, keys) = scan(&mut c, &["SCAN", "0", "TYPE", "STRING", "COUNT", "100"]);
    assert_eq!(keys.len(), 20);
    for kind in ["hash", "list", "set", "zset", "nosuchtype"] {
        let (_, keys) = scan(&mut c, &["SCAN", "0", "TYPE", kind, "COUNT", "100"]);
        assert!(keys.is_empty(), "TYPE {kind}: {keys:?}");
    }
}

#[test]
fn scan_rejects_invalid_cursors() {
    let (_server, mut c) = start();
    let invalid = error("ERR invalid cursor");
    for cursor in ["abc", "1.5", " 0", "0 ", "0x10", "18446744073709551616"] {
        assert_eq!(c.cmd(&["SCAN", cursor]), invalid, "{cursor:?}");
    }
    assert_eq!(
        c.line("SCAN 18446744073709551615"),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
}

#[test]
fn scan_accepts_cursors_like_strtoul() {
    let (_server, mut c) = start();
    for cursor in ["", "+0", "00", "-0", "-1"] {
        assert_eq!(
            c.cmd(&["SCAN", cursor]),
            "*2\r\n$1\r\n0\r\n*0\r\n",
            "{cursor:?}"
        );
    }
}

#[test]
fn scan_rejects_bad_options() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SCAN 0 COUNT 0"), SYNTAX);
    assert_eq!(c.line("SCAN 0 COUNT -1"), SYNTAX);
    assert_eq!(c.line("SCAN 0 COUNT abc"), NOT_INTEGER);
    assert_eq!(c.line("SCAN 0 COUNT"), SYNTAX);
    assert_eq!(c.line("SCAN 0 MATCH"), SYNTAX);
    assert_eq!(c.line("SCAN 0 TYPE"), SYNTAX);
    assert_eq!(c.line("SCAN 0 FOO bar"), SYNTAX);
    assert_eq!(c.line("SCAN"), arity("scan"));
}

#[test]
fn randomkey_returns_nil_on_an_empty_database_and_a_key_otherwise() {
    let (_server, mut c) = start();
    assert_eq!(c.line("RANDOMKEY"), NIL);
    c.line("MSET a 1 b 2 c 3");
    for _ in 0..20 {
        let key = c.line("RANDOMKEY");
        assert!(
            [bulk("a"), bulk("b"), bulk("c")].contains(&key),
            "RANDOMKEY gave {key:?}"
        );
    }
    assert_eq!(c.line("RANDOMKEY x"), arity("randomkey"));
}

#[test]
fn dbsize_counts_the_keys_of_the_selected_database() {
    let (_server, mut c) = start();
    assert_eq!(c.line("DBSIZE"), int(0));
    c.line("MSET a 1 b 2");
    assert_eq!(c.line("DBSIZE"), int(2));
    c.line("SELECT 1");
    assert_eq!(c.line("DBSIZE"), int(0));
    assert_eq!(c.line("DBSIZE x"), arity("dbsize"));
}

// ---- FLUSHDB / FLUSHALL / SWAPDB / SELECT ----

#[test]
fn flushdb_empties_only_the_selected_database() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    c.line("SELECT 1");
    c.line("SET b 2");
    assert_eq!(c.line("FLUSHDB"), OK);
    assert_eq!(c.line("DBSIZE"), int(0));
    c.line("SELECT 0");
    assert_eq!(c.line("GET a"), bulk("1"));
}

#[test]
fn flushdb_and_flushall_accept_async_and_sync() {
    let (_server, mut c) = start();
    for command in [
        "FLUSHDB ASYNC",
        "FLUSHDB SYNC",
        "FLUSHDB sync",
        "FLUSHALL ASYNC",
        "FLUSHALL SYNC",
    ] {
        c.line("SET a 1");
        assert_eq!(c.line(command), OK, "{command}");
        assert_eq!(c.line("DBSIZE"), int(0), "{command}");
    }
}

#[test]
fn flushdb_and_flushall_reject_other_arguments() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    for command in [
        "FLUSHDB FOO",
        "FLUSHDB ASYNC SYNC",
        "FLUSHALL FOO",
        "FLUSHALL SYNC ASYNC",
    ] {
        assert_eq!(c.line(command), SYNTAX, "{command}");
    }
    assert_eq!(c.line("DBSIZE"), int(1));
}

#[test]
fn flushall_empties_every_database() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    c.line("SELECT 5");
    c.line("SET b 1");
    assert_eq!(c.line("FLUSHALL"), OK);
    assert_eq!(c.line("DBSIZE"), int(0));
    c.line("SELECT 0");
    assert_eq!(c.line("DBSIZE"), int(0));
    c.line("SET c 1");
    assert_eq!(c.line("GET c"), bulk("1"));
}

#[test]
fn swapdb_swaps_the_data_of_two_databases() {
    let (_server, mut c) = start();
    c.line("SET a 1 EX 100");
    c.line("SELECT 1");
    c.line("SET b 2");
    assert_eq!(c.line("SWAPDB 0 1"), OK);
    assert_eq!(c.line("GET b"), NIL);
    assert_eq!(c.line("GET a"), bulk("1"));
    assert!(c.int(&["TTL", "a"]) > 90);
    c.line("SELECT 0");
    assert_eq!(c.line("GET b"), bulk("2"));
    assert_eq!(c.line("GET a"), NIL);
    assert_eq!(c.line("SWAPDB 0 0"), OK);
    assert_eq!(c.line("GET b"), bulk("2"));
}

#[test]
fn swapdb_is_seen_by_other_connections() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(server.port);
    let mut other = Raw::connect(server.port);
    c.line("SET a 1");
    assert_eq!(other.line("SELECT 3"), OK);
    assert_eq!(c.line("SWAPDB 0 3"), OK);
    assert_eq!(other.line("GET a"), bulk("1"));
    assert_eq!(c.line("GET a"), NIL);
}

#[test]
fn swapdb_rejects_bad_indexes() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SWAPDB 0 16"), DB_RANGE);
    assert_eq!(c.line("SWAPDB 16 0"), DB_RANGE);
    assert_eq!(c.line("SWAPDB -1 0"), DB_RANGE);
    assert_eq!(c.line("SWAPDB abc 0"), error("ERR invalid first DB index"));
    assert_eq!(c.line("SWAPDB 1.5 0"), error("ERR invalid first DB index"));
    assert_eq!(c.line("SWAPDB 0 abc"), error("ERR invalid second DB index"));
    assert_eq!(
        c.line("SWAPDB abc def"),
        error("ERR invalid first DB index")
    );
    assert_eq!(c.line("SWAPDB 0"), arity("swapdb"));
}

#[test]
fn select_switches_database_and_rejects_bad_indexes() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("SELECT 15"), OK);
    assert_eq!(c.line("GET a"), NIL);
    assert_eq!(c.line("SELECT 16"), DB_RANGE);
    assert_eq!(c.line("SELECT -1"), DB_RANGE);
    assert_eq!(c.line("SELECT abc"), NOT_INTEGER);
    assert_eq!(c.line("SELECT 1.5"), NOT_INTEGER);
    assert_eq!(c.line("SELECT"), arity("select"));
    // Still on database 15 after the errors.
    c.line("SET b 1");
    c.line("SELECT 0");
    assert_eq!(c.line("GET a"), bulk("1"));
    assert_eq!(c.line("GET b"), NIL);
}

// ---- OBJECT ----

#[test]
fn object_encoding_reports_int_embstr_and_raw() {
    let (_server, mut c) = start();
    let cases = [
        ("12345", "int"),
        ("-12", "int"),
        ("0", "int"),
        ("9223372036854775807", "int"),
        ("9223372036854775808", "embstr"),
        ("01", "embstr"),
        (" 1", "embstr"),
        ("hello", "embstr"),
        ("12345678901234567890123456789012345678901234", "embstr"),
        ("123456789012345678901234567890123456789012345", "raw"),
    ];
    for (value, encoding) in cases {
        c.cmd(&["SET", "k", value]);
        assert_eq!(c.line("OBJECT ENCODING k"), bulk(encoding), "{value:?}");
    }
    c.line("INCR counter");
    assert_eq!(c.line("OBJECT ENCODING counter"), bulk("int"));
    assert_eq!(c.line("OBJECT ENCODING nokey"), NIL);
}

#[test]
fn object_encoding_of_an_appended_or_setrange_value_is_raw() {
    // Redis turns a string it modifies in place into a raw one.
    let (_server, mut c) = start();
    c.line("SETRANGE sr 0 abc");
    assert_eq!(c.line("OBJECT ENCODING sr"), bulk("raw"));
    c.line("SET ap abc");
    c.line("APPEND ap def");
    assert_eq!(c.line("OBJECT ENCODING ap"), bulk("raw"));
}

#[test]
fn object_freq_needs_an_lfu_policy() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(
        c.line("OBJECT FREQ k"),
        error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(c.line("OBJECT FREQ nokey"), NIL);
}

#[test]
fn object_rejects_unknown_subcommands_and_bad_arity() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("OBJECT FOO"),
        error("ERR unknown subcommand 'FOO'. Try OBJECT HELP.")
    );
    assert_eq!(c.line("OBJECT"), arity("object"));
    assert_eq!(c.line("OBJECT ENCODING"), arity("object|encoding"));
    assert_eq!(c.line("OBJECT ENCODING a b"), arity("object|encoding"));
}
