//! String commands against a real server: every option and error reply,
//! with the replies Redis 7.0.15 gives.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, bulks, error, int, invalid_expire, start, NIL, NOT_INTEGER, OK, SYNTAX};

const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

// ---- GET / SET ----

#[test]
fn get_returns_nil_for_missing_key_and_value_after_set() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let missing: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(missing, None);
    let reply: redis::Value = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    assert_eq!(reply, redis::Value::Okay);
    let value: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value.as_deref(), Some("v"));
}

#[test]
fn set_stores_binary_values_unchanged() {
    let (_server, mut c) = start();
    let value: Vec<u8> = (0..=255u8).collect();
    assert_eq!(c.cmd_bytes(&[&b"SET"[..], b"bin", &value]), OK.as_bytes());
    let mut expected = b"$256\r\n".to_vec();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd_bytes(&["GET", "bin"]), expected);
}

#[test]
fn set_ex_sets_a_ttl_in_seconds() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v EX 100"), OK);
    let ttl = c.int(&["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
}

#[test]
fn set_px_sets_a_ttl_in_milliseconds() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v PX 100000"), OK);
    let pttl = c.int(&["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
}

#[test]
fn set_exat_and_pxat_set_absolute_deadlines() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v EXAT 99999999999"), OK);
    assert_eq!(c.line("EXPIRETIME k"), int(99_999_999_999));
    assert_eq!(c.line("SET k v PXAT 99999999999123"), OK);
    assert_eq!(c.line("PEXPIRETIME k"), int(99_999_999_999_123));
}

#[test]
fn set_keywords_are_case_insensitive() {
    let (_server, mut c) = start();
    assert_eq!(c.line("set k v Ex 100 nX"), OK);
    assert!(c.int(&["TTL", "k"]) > 0);
    assert_eq!(c.line("SET k v2 nx"), NIL);
}

#[test]
fn set_nx_only_sets_a_missing_key() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v1 NX"), OK);
    assert_eq!(c.line("SET k v2 NX"), NIL);
    assert_eq!(c.line("GET k"), bulk("v1"));
}

#[test]
fn set_xx_only_sets_an_existing_key() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v1 XX"), NIL);
    assert_eq!(c.line("EXISTS k"), int(0));
    c.line("SET k v1");
    assert_eq!(c.line("SET k v2 XX"), OK);
    assert_eq!(c.line("GET k"), bulk("v2"));
}

#[test]
fn set_without_keepttl_clears_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("SET k v2"), OK);
    assert_eq!(c.line("TTL k"), int(-1));
}

#[test]
fn set_keepttl_keeps_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("SET k v2 KEEPTTL"), OK);
    let ttl = c.int(&["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    assert_eq!(c.line("GET k"), bulk("v2"));
    assert_eq!(c.line("SET fresh v KEEPTTL"), OK);
    assert_eq!(c.line("TTL fresh"), int(-1));
}

#[test]
fn set_get_returns_the_old_value() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v1 GET"), NIL);
    assert_eq!(c.line("SET k v2 GET"), bulk("v1"));
    assert_eq!(c.line("GET k"), bulk("v2"));
}

#[test]
fn set_get_with_nx_or_xx_returns_the_old_value_whether_or_not_it_sets() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("SET k new NX GET"), bulk("v"));
    assert_eq!(c.line("GET k"), bulk("v"));
    assert_eq!(c.line("SET missing new XX GET"), NIL);
    assert_eq!(c.line("EXISTS missing"), int(0));
    assert_eq!(c.line("SET k new XX GET"), bulk("v"));
    assert_eq!(c.line("GET k"), bulk("new"));
}

#[test]
fn set_rejects_incompatible_options() {
    let (_server, mut c) = start();
    for command in [
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v EX 10 PX 100",
        "SET k v PX 100 EXAT 99999999999",
        "SET k v EXAT 99999999999 PXAT 99999999999000",
        "SET k v EX 10 KEEPTTL",
        "SET k v KEEPTTL EX 10",
        "SET k v KEEPTTL PXAT 99999999999000",
        "SET k v PERSIST",
        "SET k v FOO",
        "SET k v EX",
        "SET k v PX",
        "SET k v NX XX GET",
    ] {
        assert_eq!(c.line(command), SYNTAX, "{command}");
    }
    assert_eq!(c.line("EXISTS k"), int(0));
}

#[test]
fn set_accepts_a_repeated_option_and_the_last_value_wins() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v EX 10 EX 1000"), OK);
    let ttl = c.int(&["TTL", "k"]);
    assert!((999..=1000).contains(&ttl), "ttl {ttl}");
    assert_eq!(c.line("SET k v PX 10 PX 100000"), OK);
    assert!(c.int(&["PTTL", "k"]) > 10_000);
    assert_eq!(c.line("SET k v KEEPTTL KEEPTTL"), OK);
    assert_eq!(c.line("SET k v2 NX NX"), NIL);
    assert_eq!(c.line("SET k v3 GET GET"), bulk("v"));
}

#[test]
fn set_rejects_non_positive_expire_times() {
    let (_server, mut c) = start();
    for command in [
        "SET k v EX 0",
        "SET k v EX -1",
        "SET k v PX 0",
        "SET k v PX -100",
        "SET k v EXAT 0",
        "SET k v PXAT -5",
    ] {
        assert_eq!(c.line(command), invalid_expire("set"), "{command}");
    }
    assert_eq!(c.line("EXISTS k"), int(0));
}

#[test]
fn set_rejects_expire_times_that_overflow() {
    let (_server, mut c) = start();
    for command in [
        "SET k v EX 9223372036854775807",
        "SET k v EX 9223372036854775",
        "SET k v PX 9223372036854775807",
        "SET k v EXAT 9223372036854775807",
    ] {
        assert_eq!(c.line(command), invalid_expire("set"), "{command}");
    }
    assert_eq!(c.line("SET k v PXAT 9223372036854775807"), OK);
    assert_eq!(c.line("PEXPIRETIME k"), int(i64::MAX));
}

#[test]
fn set_rejects_non_integer_expire_times() {
    let (_server, mut c) = start();
    for command in [
        "SET k v EX abc",
        "SET k v EX 1.5",
        "SET k v PX 10ms",
        "SET k v EXAT +100",
        "SET k v PXAT 9223372036854775808",
    ] {
        assert_eq!(c.line(command), NOT_INTEGER, "{command}");
    }
}

#[test]
fn set_reports_a_syntax_error_before_checking_the_expire_value() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v EX abc FOO"), SYNTAX);
    assert_eq!(c.line("SET k v EX abc PX 10"), SYNTAX);
    assert_eq!(c.line("SET k v EX 0 KEEPTTL"), SYNTAX);
}

#[test]
fn set_with_a_past_deadline_deletes_the_key() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("SET k v2 PXAT 1"), OK);
    assert_eq!(c.line("EXISTS k"), int(0));
    assert_eq!(c.line("SET k v3 EXAT 1"), OK);
    assert_eq!(c.line("GET k"), NIL);
}

#[test]
fn set_and_get_check_their_arity() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k"), arity("set"));
    assert_eq!(c.line("SET"), arity("set"));
    assert_eq!(c.line("GET"), arity("get"));
    assert_eq!(c.line("GET a b"), arity("get"));
}

#[test]
fn key_with_px_ttl_disappears_after_it_expires() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k v PX 100"), OK);
    assert_eq!(c.line("GET k"), bulk("v"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(c.line("GET k"), NIL);
    assert_eq!(c.line("EXISTS k"), int(0));
    assert_eq!(c.line("TTL k"), int(-2));
}

// ---- SETNX / SETEX / PSETEX ----

#[test]
fn setnx_sets_only_a_missing_key() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETNX k v1"), int(1));
    assert_eq!(c.line("SETNX k v2"), int(0));
    assert_eq!(c.line("GET k"), bulk("v1"));
    assert_eq!(c.line("TTL k"), int(-1));
    assert_eq!(c.line("SETNX k"), arity("setnx"));
}

#[test]
fn setex_sets_the_value_and_a_ttl_in_seconds() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETEX k 100 v"), OK);
    assert_eq!(c.line("GET k"), bulk("v"));
    let ttl = c.int(&["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
}

#[test]
fn psetex_sets_the_value_and_a_ttl_in_milliseconds() {
    let (_server, mut c) = start();
    assert_eq!(c.line("PSETEX k 100000 v"), OK);
    assert_eq!(c.line("GET k"), bulk("v"));
    let pttl = c.int(&["PTTL", "k"]);
    assert!((99_000..=100_000).contains(&pttl), "pttl {pttl}");
}

#[test]
fn setex_and_psetex_reject_invalid_expire_times() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETEX k 0 v"), invalid_expire("setex"));
    assert_eq!(c.line("SETEX k -1 v"), invalid_expire("setex"));
    assert_eq!(
        c.line("SETEX k 9223372036854775807 v"),
        invalid_expire("setex")
    );
    assert_eq!(c.line("PSETEX k 0 v"), invalid_expire("psetex"));
    assert_eq!(c.line("PSETEX k -10 v"), invalid_expire("psetex"));
    assert_eq!(c.line("SETEX k abc v"), NOT_INTEGER);
    assert_eq!(c.line("SETEX k 1.5 v"), NOT_INTEGER);
    assert_eq!(c.line("PSETEX k x v"), NOT_INTEGER);
    assert_eq!(c.line("SETEX k 100"), arity("setex"));
    assert_eq!(c.line("EXISTS k"), int(0));
}

// ---- MGET / MSET / MSETNX ----

#[test]
fn mget_returns_values_and_nil_for_missing_keys() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    c.line("SET b 2");
    assert_eq!(
        c.line("MGET a nokey b a"),
        "*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.line("MGET"), arity("mget"));
}

#[test]
fn mset_sets_every_pair_and_clears_ttls() {
    let (_server, mut c) = start();
    c.line("SET a old EX 100");
    assert_eq!(c.line("MSET a 1 b 2 a 3"), OK);
    assert_eq!(c.line("MGET a b"), bulks(&["3", "2"]));
    assert_eq!(c.line("TTL a"), int(-1));
}

#[test]
fn mset_and_msetnx_reject_an_odd_number_of_arguments() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MSET a 1 b"), arity("mset"));
    assert_eq!(c.line("MSET a"), arity("mset"));
    assert_eq!(c.line("MSETNX a 1 b"), arity("msetnx"));
    assert_eq!(c.line("MSETNX a"), arity("msetnx"));
    assert_eq!(c.line("EXISTS a"), int(0));
}

#[test]
fn msetnx_sets_all_keys_or_none() {
    let (_server, mut c) = start();
    c.line("SET a 1");
    assert_eq!(c.line("MSETNX a 9 x 2"), int(0));
    assert_eq!(c.line("MGET a x"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assert_eq!(c.line("MSETNX x 1 y 2"), int(1));
    assert_eq!(c.line("MGET x y"), bulks(&["1", "2"]));
    // A key given twice: both are "missing", the last value wins.
    assert_eq!(c.line("MSETNX q 1 q 2"), int(1));
    assert_eq!(c.line("GET q"), bulk("2"));
}

// ---- GETSET / GETDEL ----

#[test]
fn getset_returns_the_old_value_and_clears_the_ttl() {
    let (_server, mut c) = start();
    assert_eq!(c.line("GETSET k v1"), NIL);
    assert_eq!(c.line("GET k"), bulk("v1"));
    c.line("SET k v2 EX 100");
    assert_eq!(c.line("GETSET k v3"), bulk("v2"));
    assert_eq!(c.line("GET k"), bulk("v3"));
    assert_eq!(c.line("TTL k"), int(-1));
    assert_eq!(c.line("GETSET k"), arity("getset"));
}

#[test]
fn getdel_returns_the_value_and_deletes_the_key() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETDEL k"), bulk("v"));
    assert_eq!(c.line("EXISTS k"), int(0));
    assert_eq!(c.line("GETDEL k"), NIL);
    assert_eq!(c.line("GETDEL"), arity("getdel"));
}

// ---- GETEX ----

#[test]
fn getex_without_options_leaves_the_ttl_alone() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("GETEX k"), bulk("v"));
    assert!(c.int(&["TTL", "k"]) > 90);
    c.line("SET p v");
    assert_eq!(c.line("GETEX p"), bulk("v"));
    assert_eq!(c.line("TTL p"), int(-1));
}

#[test]
fn getex_sets_relative_ttls() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETEX k EX 50"), bulk("v"));
    let ttl = c.int(&["TTL", "k"]);
    assert!((49..=50).contains(&ttl), "ttl {ttl}");
    assert_eq!(c.line("GETEX k PX 50000"), bulk("v"));
    let pttl = c.int(&["PTTL", "k"]);
    assert!((49_000..=50_000).contains(&pttl), "pttl {pttl}");
}

#[test]
fn getex_sets_absolute_deadlines() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETEX k EXAT 99999999999"), bulk("v"));
    assert_eq!(c.line("EXPIRETIME k"), int(99_999_999_999));
    assert_eq!(c.line("GETEX k PXAT 99999999999123"), bulk("v"));
    assert_eq!(c.line("PEXPIRETIME k"), int(99_999_999_999_123));
}

#[test]
fn getex_persist_removes_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("GETEX k PERSIST"), bulk("v"));
    assert_eq!(c.line("TTL k"), int(-1));
    assert_eq!(c.line("GETEX k PERSIST PERSIST"), bulk("v"));
}

#[test]
fn getex_accepts_a_repeated_option() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETEX k EX 10 EX 1000"), bulk("v"));
    assert!(c.int(&["TTL", "k"]) > 900);
}

#[test]
fn getex_rejects_invalid_options() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    for command in [
        "GETEX k PERSIST EX 10",
        "GETEX k EX 10 PERSIST",
        "GETEX k EX 10 PX 100",
        "GETEX k KEEPTTL",
        "GETEX k NX",
        "GETEX k GET",
        "GETEX k FOO",
        "GETEX k EX",
        "GETEX k EX abc FOO",
        "GETEX nokey FOO",
    ] {
        assert_eq!(c.line(command), SYNTAX, "{command}");
    }
    assert!(c.int(&["TTL", "k"]) > 90);
}

#[test]
fn getex_rejects_invalid_expire_times() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETEX k EX 0"), invalid_expire("getex"));
    assert_eq!(c.line("GETEX k EX -1"), invalid_expire("getex"));
    assert_eq!(c.line("GETEX k PX 0"), invalid_expire("getex"));
    assert_eq!(
        c.line("GETEX k EX 9223372036854775807"),
        invalid_expire("getex")
    );
    assert_eq!(c.line("GETEX k EX abc"), NOT_INTEGER);
    assert_eq!(c.line("TTL k"), int(-1));
}

#[test]
fn getex_on_a_missing_key_is_nil_even_with_an_invalid_expire_time() {
    let (_server, mut c) = start();
    assert_eq!(c.line("GETEX nokey"), NIL);
    assert_eq!(c.line("GETEX nokey EX 10"), NIL);
    assert_eq!(c.line("GETEX nokey EX 0"), NIL);
    assert_eq!(c.line("GETEX nokey EX abc"), NIL);
    assert_eq!(c.line("EXISTS nokey"), int(0));
    assert_eq!(c.line("GETEX"), arity("getex"));
}

#[test]
fn getex_with_a_past_deadline_returns_the_value_and_deletes_the_key() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("GETEX k PXAT 1"), bulk("v"));
    assert_eq!(c.line("EXISTS k"), int(0));
    c.line("SET k v");
    assert_eq!(c.line("GETEX k EXAT 1"), bulk("v"));
    assert_eq!(c.line("EXISTS k"), int(0));
}

// ---- APPEND / STRLEN ----

#[test]
fn append_creates_and_extends_a_value() {
    let (_server, mut c) = start();
    assert_eq!(c.cmd(&["APPEND", "k", "hello"]), int(5));
    assert_eq!(c.cmd(&["APPEND", "k", " world"]), int(11));
    assert_eq!(c.line("GET k"), bulk("hello world"));
    assert_eq!(c.cmd(&["APPEND", "empty", ""]), int(0));
    assert_eq!(c.line("EXISTS empty"), int(1));
    assert_eq!(c.line("APPEND k"), arity("append"));
}

#[test]
fn append_keeps_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("APPEND k x"), int(2));
    assert!(c.int(&["TTL", "k"]) > 90);
}

#[test]
fn strlen_counts_bytes_and_is_zero_for_a_missing_key() {
    let (_server, mut c) = start();
    c.cmd(&["SET", "k", "héllo"]);
    assert_eq!(c.line("STRLEN k"), int(6));
    assert_eq!(c.line("STRLEN nokey"), int(0));
    assert_eq!(c.line("STRLEN"), arity("strlen"));
}

// ---- GETRANGE / SUBSTR ----

#[test]
fn getrange_returns_the_inclusive_range() {
    let (_server, mut c) = start();
    c.cmd(&["SET", "s", "Hello, World"]);
    assert_eq!(c.line("GETRANGE s 0 4"), bulk("Hello"));
    assert_eq!(c.line("GETRANGE s 0 -1"), bulk("Hello, World"));
    assert_eq!(c.line("GETRANGE s 11 11"), bulk("d"));
    assert_eq!(c.line("GETRANGE s 7 100"), bulk("World"));
    assert_eq!(
        c.line("GETRANGE s 0 9223372036854775807"),
        bulk("Hello, World")
    );
}

#[test]
fn getrange_counts_negative_indexes_from_the_end() {
    let (_server, mut c) = start();
    c.cmd(&["SET", "s", "Hello, World"]);
    assert_eq!(c.line("GETRANGE s -5 -1"), bulk("World"));
    assert_eq!(c.line("GETRANGE s -3 -3"), bulk("r"));
    assert_eq!(c.line("GETRANGE s -100 3"), bulk("Hell"));
    assert_eq!(c.line("GETRANGE s 0 -100"), bulk("H"));
    // Both ends clamp to 0 before the range is checked: Redis 7.0 quirk.
    assert_eq!(c.line("GETRANGE s -100 -50"), bulk("H"));
    assert_eq!(
        c.line("GETRANGE s -9223372036854775808 -1"),
        bulk("Hello, World")
    );
}

#[test]
fn getrange_out_of_range_is_empty() {
    let (_server, mut c) = start();
    c.cmd(&["SET", "s", "Hello, World"]);
    for command in [
        "GETRANGE s 100 200",
        "GETRANGE s 12 12",
        "GETRANGE s 5 2",
        "GETRANGE s -1 -5",
        "GETRANGE nokey 0 -1",
        "GETRANGE nokey 0 10",
    ] {
        assert_eq!(c.line(command), bulk(""), "{command}");
    }
    c.cmd(&["SET", "empty", ""]);
    assert_eq!(c.line("GETRANGE empty 0 -1"), bulk(""));
    assert_eq!(c.line("GETRANGE empty 0 0"), bulk(""));
}

#[test]
fn getrange_rejects_non_integer_indexes() {
    let (_server, mut c) = start();
    c.line("SET s hello");
    assert_eq!(c.line("GETRANGE s a 1"), NOT_INTEGER);
    assert_eq!(c.line("GETRANGE s 1 b"), NOT_INTEGER);
    assert_eq!(c.line("GETRANGE s 0"), arity("getrange"));
}

#[test]
fn substr_is_an_alias_of_getrange() {
    let (_server, mut c) = start();
    c.line("SET s hello");
    assert_eq!(c.line("SUBSTR s 1 3"), bulk("ell"));
    assert_eq!(c.line("SUBSTR s -3 -1"), bulk("llo"));
    assert_eq!(c.line("SUBSTR s 1"), arity("substr"));
}

// ---- SETRANGE ----

#[test]
fn setrange_pads_a_missing_key_with_zero_bytes() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETRANGE k 5 hi"), int(7));
    assert_eq!(c.cmd_bytes(&["GET", "k"]), b"$7\r\n\0\0\0\0\0hi\r\n");
    assert_eq!(c.line("SETRANGE k 0 HE"), int(7));
    assert_eq!(c.cmd_bytes(&["GET", "k"]), b"$7\r\nHE\0\0\0hi\r\n");
}

#[test]
fn setrange_overwrites_and_extends_keeping_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET k v EX 100");
    assert_eq!(c.line("SETRANGE k 1 xyz"), int(4));
    assert_eq!(c.line("GET k"), bulk("vxyz"));
    assert!(c.int(&["TTL", "k"]) > 90);
}

#[test]
fn setrange_with_an_empty_value_does_not_create_the_key() {
    let (_server, mut c) = start();
    assert_eq!(c.cmd(&["SETRANGE", "nokey", "0", ""]), int(0));
    assert_eq!(c.cmd(&["SETRANGE", "nokey", "10", ""]), int(0));
    assert_eq!(c.cmd(&["SETRANGE", "nokey", "536870912", ""]), int(0));
    assert_eq!(c.line("EXISTS nokey"), int(0));
    c.line("SET k abc");
    assert_eq!(c.cmd(&["SETRANGE", "k", "100", ""]), int(3));
    assert_eq!(c.line("GET k"), bulk("abc"));
}

#[test]
fn setrange_rejects_bad_offsets() {
    let (_server, mut c) = start();
    c.line("SET k abc");
    let out_of_range = error("ERR offset is out of range");
    assert_eq!(c.line("SETRANGE k -1 x"), out_of_range);
    assert_eq!(c.cmd(&["SETRANGE", "nokey", "-1", ""]), out_of_range);
    assert_eq!(c.line("SETRANGE k abc x"), NOT_INTEGER);
    assert_eq!(
        c.line("SETRANGE k 536870912 x"),
        error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    assert_eq!(
        c.line("SETRANGE nokey 536870912 x"),
        error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    assert_eq!(c.line("GET k"), bulk("abc"));
    assert_eq!(c.line("SETRANGE k 0"), arity("setrange"));
}

// ---- INCR family ----

#[test]
fn incr_and_decr_count_from_zero() {
    let (_server, mut c) = start();
    assert_eq!(c.line("INCR n"), int(1));
    assert_eq!(c.line("INCR n"), int(2));
    assert_eq!(c.line("DECR n"), int(1));
    assert_eq!(c.line("DECR m"), int(-1));
    assert_eq!(c.line("GET n"), bulk("1"));
    assert_eq!(c.line("INCR"), arity("incr"));
    assert_eq!(c.line("DECR"), arity("decr"));
}

#[test]
fn incrby_and_decrby_add_signed_amounts() {
    let (_server, mut c) = start();
    assert_eq!(c.line("INCRBY n 10"), int(10));
    assert_eq!(c.line("DECRBY n 3"), int(7));
    assert_eq!(c.line("INCRBY n -5"), int(2));
    assert_eq!(c.line("DECRBY n -5"), int(7));
    assert_eq!(c.line("GET n"), bulk("7"));
    assert_eq!(c.line("INCRBY n"), arity("incrby"));
    assert_eq!(c.line("DECRBY n"), arity("decrby"));
}

#[test]
fn incr_family_rejects_values_that_are_not_integers() {
    let (_server, mut c) = start();
    for value in [
        "foo",
        "1.5",
        " 1",
        "1 ",
        "007",
        "+5",
        "123456789012345678901",
        "",
    ] {
        c.cmd(&["SET", "k", value]);
        assert_eq!(c.line("INCR k"), NOT_INTEGER, "{value:?}");
        assert_eq!(c.line("DECR k"), NOT_INTEGER, "{value:?}");
        assert_eq!(c.line("INCRBY k 1"), NOT_INTEGER, "{value:?}");
    }
}

#[test]
fn incrby_rejects_increments_that_are_not_integers() {
    let (_server, mut c) = start();
    assert_eq!(c.line("INCRBY n abc"), NOT_INTEGER);
    assert_eq!(c.line("INCRBY n 1.5"), NOT_INTEGER);
    assert_eq!(c.line("INCRBY n 9223372036854775808"), NOT_INTEGER);
    assert_eq!(c.line("DECRBY n x"), NOT_INTEGER);
    assert_eq!(c.line("EXISTS n"), int(0));
}

#[test]
fn incr_family_detects_overflow() {
    let (_server, mut c) = start();
    let overflow = error("ERR increment or decrement would overflow");
    c.line("SET big 9223372036854775807");
    assert_eq!(c.line("INCR big"), overflow);
    assert_eq!(c.line("INCRBY big 1"), overflow);
    c.line("SET small -9223372036854775808");
    assert_eq!(c.line("DECR small"), overflow);
    assert_eq!(c.line("DECRBY small 1"), overflow);
    assert_eq!(c.line("GET big"), bulk("9223372036854775807"));
    c.line("SET n 5");
    assert_eq!(c.line("INCRBY n -9223372036854775808"), int(i64::MIN + 5));
}

#[test]
fn decrby_with_i64_min_is_an_overflow() {
    let (_server, mut c) = start();
    c.line("SET z 0");
    assert_eq!(
        c.line("DECRBY z -9223372036854775808"),
        error("ERR decrement would overflow")
    );
    assert_eq!(c.line("GET z"), bulk("0"));
}

#[test]
fn incr_keeps_the_ttl() {
    let (_server, mut c) = start();
    c.line("SET n 5 EX 100");
    assert_eq!(c.line("INCR n"), int(6));
    assert!(c.int(&["TTL", "n"]) > 90);
}

// ---- INCRBYFLOAT ----

#[test]
fn incrbyfloat_formats_results_like_redis() {
    let (_server, mut c) = start();
    assert_eq!(c.line("INCRBYFLOAT f 10.5"), bulk("10.5"));
    assert_eq!(c.line("INCRBYFLOAT f 0.1"), bulk("10.6"));
    assert_eq!(c.line("INCRBYFLOAT f -5"), bulk("5.6"));
    assert_eq!(c.line("INCRBYFLOAT g 5.0e3"), bulk("5000"));
    assert_eq!(c.line("INCRBYFLOAT g 1.5"), bulk("5001.5"));
    assert_eq!(c.line("INCRBYFLOAT h 3.0"), bulk("3"));
    assert_eq!(c.line("INCRBYFLOAT i -3.5"), bulk("-3.5"));
    assert_eq!(c.line("INCRBYFLOAT j 0.1"), bulk("0.1"));
    assert_eq!(c.line("INCRBYFLOAT j -0.1"), bulk("0"));
    assert_eq!(c.line("GET f"), bulk("5.6"));
}

#[test]
fn incrbyfloat_reads_exponent_and_integer_values() {
    let (_server, mut c) = start();
    c.line("SET e 5.0e3");
    assert_eq!(c.line("INCRBYFLOAT e 0"), bulk("5000"));
    c.line("SET n 7");
    assert_eq!(c.line("INCRBYFLOAT n +1.5"), bulk("8.5"));
    assert_eq!(c.line("INCRBYFLOAT n .5"), bulk("9"));
    assert_eq!(c.line("INCRBYFLOAT n 1e2"), bulk("109"));
}

#[test]
fn incrbyfloat_sums_like_long_double() {
    // Redis adds in long double and prints 17 decimals: 0.1 + 0.2 is "0.3".
    let (_server, mut c) = start();
    assert_eq!(c.line("INCRBYFLOAT f 0.1"), bulk("0.1"));
    assert_eq!(c.line("INCRBYFLOAT f 0.2"), bulk("0.3"));
    // Its 64-bit mantissa shows in the digits (values from redis-server
    // 7.0.15), and its range goes past f64's.
    c.line("SET g 123456789.123456789");
    assert_eq!(
        c.line("INCRBYFLOAT g 0.000000001"),
        bulk("123456789.12345678999554366")
    );
    c.line("SET h 1e20");
    assert_eq!(c.line("INCRBYFLOAT h 0.5"), bulk("100000000000000000000"));
    c.line("SET i 1e400");
    assert!(c
        .line("INCRBYFLOAT i 1")
        .starts_with("$401\r\n10000000000000000000281880"));
    assert_eq!(
        c.line("HINCRBYFLOAT hash f 1e20"),
        bulk("100000000000000000000")
    );
    assert_eq!(
        c.line("HINCRBYFLOAT hash f 0.5"),
        bulk("100000000000000000000")
    );
}

#[test]
fn incrbyfloat_rejects_values_that_are_not_floats() {
    let (_server, mut c) = start();
    for value in ["abc", " 1", "1 ", "", "1.5x"] {
        c.cmd(&["SET", "k", value]);
        assert_eq!(c.line("INCRBYFLOAT k 1"), NOT_FLOAT, "{value:?}");
    }
}

#[test]
fn incrbyfloat_rejects_increments_that_are_not_floats() {
    let (_server, mut c) = start();
    c.line("SET f 1.5");
    for increment in ["abc", "nan", " 1", "1 ", "", "1_0"] {
        assert_eq!(
            c.cmd(&["INCRBYFLOAT", "f", increment]),
            NOT_FLOAT,
            "{increment:?}"
        );
    }
    assert_eq!(c.line("GET f"), bulk("1.5"));
}

#[test]
fn incrbyfloat_refuses_infinity() {
    let (_server, mut c) = start();
    let infinite = error("ERR increment would produce NaN or Infinity");
    c.line("SET f 1.5");
    assert_eq!(c.line("INCRBYFLOAT f inf"), infinite);
    assert_eq!(c.line("INCRBYFLOAT f -inf"), infinite);
    assert_eq!(c.line("INCRBYFLOAT f +inf"), infinite);
    c.line("SET i inf");
    assert_eq!(c.line("INCRBYFLOAT i 1"), infinite);
    assert_eq!(c.line("GET f"), bulk("1.5"));
}

#[test]
fn incrbyfloat_keeps_the_ttl_and_checks_arity() {
    let (_server, mut c) = start();
    c.line("SET f 1.5 EX 100");
    assert_eq!(c.line("INCRBYFLOAT f 1"), bulk("2.5"));
    assert!(c.int(&["TTL", "f"]) > 90);
    assert_eq!(c.line("INCRBYFLOAT f"), arity("incrbyfloat"));
}
