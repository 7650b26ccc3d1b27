//! LCS against a real server, with the replies redis-server 7.0.15 gives.

mod common;
mod resp;

use resp::{bulk, error, int, start, NOT_INTEGER, SYNTAX};

#[test]
fn lcs_returns_the_longest_common_subsequence() {
    let (_server, mut c) = start();
    c.line("MSET a ohmytext b mynewtext");
    assert_eq!(c.line("LCS a b"), bulk("mytext"));
    assert_eq!(c.line("LCS a b LEN"), int(6));
}

#[test]
fn lcs_idx_lists_the_matches_from_the_end() {
    let (_server, mut c) = start();
    c.line("MSET a ohmytext b mynewtext");
    assert_eq!(
        c.line("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        c.line("LCS a b IDX"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
}

#[test]
fn lcs_treats_a_missing_key_as_empty() {
    let (_server, mut c) = start();
    c.line("SET a ohmytext");
    assert_eq!(c.line("LCS a missing"), bulk(""));
}

#[test]
fn lcs_refuses_non_strings_before_looking_at_options() {
    let (_server, mut c) = start();
    c.line("SET a ohmytext");
    c.line("LPUSH l x");
    let refusal = error("ERR The specified keys must contain string values");
    assert_eq!(c.line("LCS a l"), refusal);
    assert_eq!(c.line("LCS a l foo"), refusal);
}

#[test]
fn lcs_option_errors_have_redis_wording() {
    let (_server, mut c) = start();
    c.line("MSET a ohmytext b mynewtext");
    assert_eq!(c.line("LCS a b foo"), SYNTAX);
    assert_eq!(c.line("LCS a b MINMATCHLEN x"), NOT_INTEGER);
    assert_eq!(
        c.line("LCS a b IDX LEN"),
        error("ERR If you want both the length and indexes, please just use IDX.")
    );
}
