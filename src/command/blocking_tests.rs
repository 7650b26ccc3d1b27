//! Replies of the blocking list commands that do not block: served at
//! once, inside MULTI/EXEC, and every argument error, checked against
//! redis-server 7.0.15. (Blocking itself is tested through the real server
//! in `tests/blocking.rs`.)

use super::tests::transcript;
use crate::resp::Protocol;

const SESSION: &[&[&str]] = &[
    &["RPUSH", "l", "a", "b", "c", "d"],
    &["BLPOP", "nokey", "l", "0"],
    &["BRPOP", "l", "0.5"],
    &["BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "5"],
    &["RPUSH", "l", "x"],
    &["BLMOVE", "l", "dst", "RIGHT", "LEFT", "0"],
    &["RPUSH", "l", "y"],
    &["BRPOPLPUSH", "l", "dst", "0"],
    &["LRANGE", "dst", "0", "-1"],
    &["MULTI"],
    &["BLPOP", "l", "0"],
    &["BRPOP", "l", "1"],
    &["BLMOVE", "l", "dst", "LEFT", "LEFT", "0"],
    &["BRPOPLPUSH", "l", "dst", "0"],
    &["BLMPOP", "0", "1", "l", "RIGHT"],
    &["EXEC"],
    &["SET", "s", "v"],
    &["BLPOP", "nokey", "s", "0"],
    &["BLMPOP", "0", "1", "s", "LEFT"],
    &["BLMOVE", "s", "dst", "LEFT", "LEFT", "0"],
    &["RPUSH", "l", "z"],
    &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
    &["BLPOP", "l", "x"],
    &["BLPOP", "l", "-1"],
    &["BLPOP", "l", "inf"],
    &["BLPOP", "l"],
    &["BLMPOP", "0", "0", "l", "LEFT"],
    &["BLMPOP", "x", "1", "l", "LEFT"],
    &["BLMPOP", "0", "2", "l", "LEFT"],
    &["BLMPOP", "0", "1", "l", "UP"],
    &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"],
    &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"],
    &["BLMOVE", "l", "d", "UP", "LEFT", "x"],
    &["BLMOVE", "l", "d", "LEFT", "LEFT", "-0.5"],
    &["BRPOPLPUSH", "l", "d", "nan"],
    &["CLIENT", "UNBLOCK", "1", "maybe"],
    &["CLIENT", "UNBLOCK", "x"],
    &["CLIENT", "UNBLOCK", "12345", "ERROR"],
    &["CLIENT", "UNBLOCK", "1", "2", "3"],
    &["client", "unblock", "1", "2", "3"],
];

/// RESP2 only: in RESP3 `COMMAND INFO` sends its tips, key specs and
/// subcommands as arrays where Redis sends sets (introspection.rs).
const COMMAND_INFO: &[&str] = &["COMMAND", "INFO", "blpop", "blmpop", "blmove"];

#[test]
fn blocking_replies_in_resp2() {
    let session = [SESSION, &[COMMAND_INFO]].concat();
    insta::assert_snapshot!(transcript(Protocol::Resp2, &session));
}

#[test]
fn blocking_replies_in_resp3() {
    insta::assert_snapshot!(transcript(Protocol::Resp3, SESSION));
}
