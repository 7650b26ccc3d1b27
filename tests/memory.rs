//! MEMORY USAGE against a real server: Redis' arguments and errors, and an
//! estimate that grows with what the key holds.

mod common;
mod resp;

use resp::{start, NIL, NOT_INTEGER, SYNTAX};

#[test]
fn memory_usage_of_a_missing_key_is_nil() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MEMORY USAGE nokey"), NIL);
}

#[test]
fn memory_usage_counts_at_least_the_key_and_value() {
    let (_server, mut c) = start();
    c.cmd(&["SET", "k", &"x".repeat(1000)]);
    let usage = c.int(&["MEMORY", "USAGE", "k"]);
    assert!((1001..2000).contains(&usage), "{usage}");
}

#[test]
fn memory_usage_of_a_collection_scales_with_its_members() {
    let (_server, mut c) = start();
    for i in 0..100 {
        c.cmd(&["HSET", "small", &format!("f{i}"), "v"]);
        c.cmd(&["HSET", "big", &format!("f{i}"), &"v".repeat(100)]);
    }
    let small = c.int(&["MEMORY", "USAGE", "small"]);
    let big = c.int(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]);
    assert!(small > 100 * 3, "{small}");
    // Sampling the first five members makes both estimates approximate.
    assert!(big > small + 100 * 90, "{small} {big}");
}

#[test]
fn memory_usage_option_errors_have_redis_wording() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("MEMORY USAGE k SAMPLES x"), NOT_INTEGER);
    assert_eq!(c.line("MEMORY USAGE k SAMPLES -1"), SYNTAX);
    assert_eq!(c.line("MEMORY USAGE k SAMPLES"), SYNTAX);
    assert_eq!(c.line("MEMORY USAGE k foo"), SYNTAX);
}

#[test]
fn memory_usage_of_a_sorted_set_counts_its_score_index() {
    let (_server, mut c) = start();
    for i in 0..10 {
        c.cmd(&["SADD", "set", &format!("member-{i}")]);
        c.cmd(&["ZADD", "zset", "1", &format!("member-{i}")]);
    }
    let set = c.int(&["MEMORY", "USAGE", "set", "SAMPLES", "0"]);
    let zset = c.int(&["MEMORY", "USAGE", "zset", "SAMPLES", "0"]);
    // Per member: the 8-byte score value, and an index entry longer than the member's.
    assert!(zset > 2 * set, "{set} {zset}");
}
