//! The change feed as commands produce it: what each write records (its
//! effect, not always the command sent), and a property that replaying
//! the feed on an empty server reproduces the data exactly.

use super::tests::{args, fresh_state, run};
use super::*;
use crate::resp::{Limits, RequestParser};
use bytes::BytesMut;
use quickcheck::{Arbitrary, Gen, QuickCheck};

/// The feed's commands from `offset` on, one line each.
fn feed_lines(shared: &Shared, offset: u64) -> Vec<String> {
    let bytes = crate::sync::lock(&shared.feed)
        .read_from(offset, usize::MAX)
        .expect("feed");
    parse_commands(&bytes)
        .into_iter()
        .map(|words| {
            words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn parse_commands(bytes: &[u8]) -> Vec<Vec<Bytes>> {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(words) = parser
        .parse(&mut buf, false)
        .expect("the feed is valid RESP")
    {
        out.push(words);
    }
    assert!(buf.is_empty(), "the feed ends with a whole command");
    out
}

fn offset(shared: &Shared) -> u64 {
    crate::sync::lock(&shared.feed).offset()
}

/// The effects each command records, after `setup` ran.
fn effects_of(setup: &[&[&str]], commands: &[&[&str]]) -> String {
    let (shared, mut client) = fresh_state();
    for words in setup {
        run(&shared, &mut client, words);
    }
    let mut out = String::new();
    for words in commands {
        let before = offset(&shared);
        let reply = run(&shared, &mut client, words);
        out.push_str(&format!("> {}  ({reply:?})\n", words.join(" ")));
        for line in feed_lines(&shared, before) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

#[test]
fn writes_are_recorded_as_their_effects() {
    insta::assert_snapshot!(effects_of(
        &[
            &["SADD", "s", "only"],
            &["RPUSH", "l", "a", "b", "c", "d"],
            &["ZADD", "z", "1", "m", "2", "n"],
        ],
        &[
            // As sent.
            &["SET", "k", "v"],
            &["HSET", "h", "f", "1"],
            // Relative times become absolute ones.
            &["SET", "k", "v", "EX", "100"],
            &["SETEX", "k2", "10", "v"],
            &["EXPIRE", "k", "50"],
            &["EXPIRE", "k2", "-1"],
            &["GETEX", "k", "PERSIST"],
            &["GETEX", "k", "PX", "5"],
            // What was picked or computed here, not by the replica.
            &["SPOP", "s"],
            &["INCRBYFLOAT", "f", "1.5"],
            &["HINCRBYFLOAT", "h", "f", "0.25"],
            // Pops, blocking or not, name the key and what they took.
            &["BLPOP", "nothing", "l", "0"],
            &["BRPOPLPUSH", "l", "other", "0"],
            &["LMPOP", "2", "nothing", "l", "RIGHT", "COUNT", "5"],
            &["BZPOPMIN", "z", "0"],
            &["ZMPOP", "1", "z", "MAX"],
            // Nothing changed, nothing recorded.
            &["SREM", "s", "absent"],
            &["GET", "k"],
            &["INCR", "k"],
            // Another database: SELECT first.
            &["SELECT", "3"],
            &["SET", "k", "v3"],
        ],
    ));
}

#[test]
fn stream_writes_are_recorded_as_what_they_did() {
    insta::assert_snapshot!(effects_of(
        &[
            &["XADD", "x", "1-1", "f", "v"],
            &["XGROUP", "CREATE", "x", "g", "0"]
        ],
        &[
            // The generated ID; the approximate trim as the exact one.
            &["XADD", "x", "*", "f", "v"],
            &[
                "XADD",
                "x",
                "MAXLEN",
                "~",
                "1",
                "LIMIT",
                "10",
                "1800000000000-*",
                "f",
                "v"
            ],
            &["XTRIM", "x", "MINID", "~", "0"],
            &["XTRIM", "x", "MAXLEN", "=", "2"],
            // A group read: each entry claimed, then the group's position.
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "x", ">"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "NOACK",
                "STREAMS",
                "x",
                "0"
            ],
            &["XCLAIM", "x", "g", "bob", "0", "5-0", "JUSTID"],
            &["XAUTOCLAIM", "x", "g", "carol", "0", "0"],
            &["XCLAIM", "x", "g", "bob", "0", "9-9", "LASTID", "9-9"],
            &["XACK", "x", "g", "5-0"],
        ],
    ));
}

#[test]
fn a_transaction_is_recorded_as_one_unit() {
    insta::assert_snapshot!(effects_of(
        &[],
        &[
            &["MULTI"],
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["GET", "a"],
            &["SELECT", "2"],
            &["SET", "b", "2"],
            &["EXEC"],
            // A command that reads the committed state commits the
            // writes before it; the unit still closes with EXEC.
            &["MULTI"],
            &["SET", "c", "3"],
            &["DBSIZE"],
            &["EXEC"],
            // A transaction that writes nothing records nothing.
            &["MULTI"],
            &["GET", "a"],
            &["EXEC"],
        ],
    ));
}

/// Runs `words` at `now_ms` and commits, like a connection.
fn run_at(shared: &Shared, client: &mut Client, now_ms: u64, words: &[&str]) -> Frame {
    let mut txn = None;
    let mut ctx = Ctx::new(shared, client, now_ms, &mut txn);
    let reply = execute(&mut ctx, &args(words));
    ctx.commit_pending().expect("commit");
    reply
}

#[test]
fn a_key_found_expired_is_deleted_before_the_command_that_found_it() {
    let (shared, mut client) = fresh_state();
    run_at(&shared, &mut client, 1000, &["SET", "k", "old", "PX", "10"]);
    let before = offset(&shared);
    run_at(&shared, &mut client, 2000, &["APPEND", "k", "new"]);
    run_at(&shared, &mut client, 2000, &["GET", "k"]);
    assert_eq!(feed_lines(&shared, before), ["DEL k", "APPEND k new"]);
}

#[test]
fn restore_with_a_relative_ttl_is_recorded_with_its_deadline() {
    let (shared, mut client) = fresh_state();
    run_at(&shared, &mut client, 1000, &["SET", "k", "v"]);
    let Frame::Bulk(payload) = run_at(&shared, &mut client, 1000, &["DUMP", "k"]) else {
        panic!("DUMP");
    };
    let before = offset(&shared);
    let mut txn = None;
    let mut ctx = Ctx::new(&shared, &mut client, 5000, &mut txn);
    let restore = [&b"RESTORE"[..], b"r", b"300", &payload];
    let restore: Vec<Bytes> = restore.iter().map(|w| Bytes::copy_from_slice(w)).collect();
    assert_eq!(execute(&mut ctx, &restore), Frame::ok());
    ctx.commit_pending().expect("commit");
    let lines = feed_lines(&shared, before);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("RESTORE r 5300 "), "{lines:?}");
    assert!(lines[0].ends_with(" ABSTTL"), "{lines:?}");
}

#[test]
fn active_expiry_records_a_del_for_each_expired_key() {
    let (shared, mut client) = fresh_state();
    run(&shared, &mut client, &["SET", "gone", "v", "PX", "10"]);
    run(&shared, &mut client, &["SET", "kept", "v"]);
    let before = offset(&shared);
    let cycle = shared
        .store
        .expire_cycle(1_700_000_000_000 + 11, 10)
        .expect("cycle");
    let mut txn = cycle.txn.expect("a key is due");
    commit::commit(&shared, &mut txn).expect("commit");
    drop(txn);
    assert_eq!(feed_lines(&shared, before), ["DEL gone"]);
}

/// One random write, with small key and member spaces so commands meet.
#[derive(Clone, Debug)]
struct Write(Vec<String>);

impl Arbitrary for Write {
    fn arbitrary(g: &mut Gen) -> Write {
        let key = |g: &mut Gen, prefix: &str| format!("{prefix}{}", u8::arbitrary(g) % 3);
        let member = |g: &mut Gen| format!("m{}", u8::arbitrary(g) % 5);
        let number = |g: &mut Gen| (i8::arbitrary(g) % 20).to_string();
        let id = |g: &mut Gen| format!("1700000000000-{}", u8::arbitrary(g) % 4);
        let consumer = |g: &mut Gen| format!("c{}", u8::arbitrary(g) % 3);
        let words: Vec<String> = match u8::arbitrary(g) % 36 {
            0 => vec!["SET".into(), key(g, "s"), number(g)],
            1 => vec![
                "SET".into(),
                key(g, "s"),
                member(g),
                "PX".into(),
                "1000".into(),
            ],
            2 => vec!["INCRBYFLOAT".into(), key(g, "s"), "1.5".into()],
            3 => vec!["APPEND".into(), key(g, "s"), member(g)],
            4 => vec!["EXPIRE".into(), key(g, "s"), number(g)],
            5 => vec!["PERSIST".into(), key(g, "s")],
            6 => vec!["DEL".into(), key(g, "s"), key(g, "l")],
            7 => vec!["RPUSH".into(), key(g, "l"), member(g), member(g)],
            8 => vec!["LPOP".into(), key(g, "l")],
            9 => vec![
                "BLMOVE".into(),
                key(g, "l"),
                key(g, "l"),
                "LEFT".into(),
                "RIGHT".into(),
                "0".into(),
            ],
            10 => vec![
                "LMPOP".into(),
                "2".into(),
                key(g, "l"),
                key(g, "l"),
                "RIGHT".into(),
            ],
            11 => vec!["SADD".into(), key(g, "t"), member(g), number(g)],
            12 => vec!["SPOP".into(), key(g, "t")],
            13 => vec!["SPOP".into(), key(g, "t"), "2".into()],
            14 => vec!["HSET".into(), key(g, "h"), member(g), number(g)],
            15 => vec!["HINCRBYFLOAT".into(), key(g, "h"), member(g), "0.5".into()],
            16 => vec!["HDEL".into(), key(g, "h"), member(g)],
            17 => vec!["ZADD".into(), key(g, "z"), number(g), member(g)],
            18 => vec!["ZPOPMIN".into(), key(g, "z")],
            19 => vec![
                "BZMPOP".into(),
                "0".into(),
                "1".into(),
                key(g, "z"),
                "MAX".into(),
            ],
            20 => vec!["SELECT".into(), (u8::arbitrary(g) % 2).to_string()],
            21 => vec!["GETEX".into(), key(g, "s"), "EX".into(), number(g)],
            22 => vec!["SMOVE".into(), key(g, "t"), key(g, "t"), member(g)],
            23 => vec!["RENAME".into(), key(g, "s"), key(g, "s")],
            // Streams: generated IDs, approximate trims, group reads and
            // claims must reach the replica as what they did.
            24 => vec![
                "XADD".into(),
                key(g, "x"),
                "*".into(),
                "f".into(),
                member(g),
            ],
            25 => vec![
                "XADD".into(),
                key(g, "x"),
                "MAXLEN".into(),
                "~".into(),
                "1".into(),
                "*".into(),
                "f".into(),
                "v".into(),
            ],
            26 => vec!["XTRIM".into(), key(g, "x"), "MAXLEN".into(), "1".into()],
            27 => vec![
                "XGROUP".into(),
                "CREATE".into(),
                key(g, "x"),
                "g".into(),
                "0".into(),
                "MKSTREAM".into(),
            ],
            28 => vec![
                "XREADGROUP".into(),
                "GROUP".into(),
                "g".into(),
                consumer(g),
                "COUNT".into(),
                "1".into(),
                "STREAMS".into(),
                key(g, "x"),
                ">".into(),
            ],
            29 => vec![
                "XREADGROUP".into(),
                "GROUP".into(),
                "g".into(),
                consumer(g),
                "NOACK".into(),
                "STREAMS".into(),
                key(g, "x"),
                ">".into(),
            ],
            30 => vec![
                "XAUTOCLAIM".into(),
                key(g, "x"),
                "g".into(),
                consumer(g),
                "0".into(),
                "0".into(),
                "COUNT".into(),
                "1".into(),
            ],
            31 => vec!["XDEL".into(), key(g, "x"), id(g)],
            32 => vec![
                "XGROUP".into(),
                "DELCONSUMER".into(),
                key(g, "x"),
                "g".into(),
                consumer(g),
            ],
            33 => vec![
                "XREADGROUP".into(),
                "GROUP".into(),
                "g".into(),
                consumer(g),
                "STREAMS".into(),
                key(g, "x"),
                "0".into(),
            ],
            34 => vec!["XACK".into(), key(g, "x"), "g".into(), id(g)],
            _ => vec![
                "XCLAIM".into(),
                key(g, "x"),
                "g".into(),
                consumer(g),
                "0".into(),
                id(g),
                "FORCE".into(),
            ],
        };
        Write(words)
    }
}

/// Every key of the first two databases with its type, TTL and value (as
/// DUMP serialises it).
fn contents(shared: &Shared, now_ms: u64) -> Vec<String> {
    let mut client = Client::new(
        shared
            .clients
            .register("127.0.0.1:2".into(), "127.0.0.1:6379".into(), 0),
        true,
    );
    let mut out = Vec::new();
    for db in ["0", "1"] {
        let mut at = |words: &[&str]| {
            let mut txn = None;
            let mut ctx = Ctx::new(shared, &mut client, now_ms, &mut txn);
            execute(&mut ctx, &args(words))
        };
        at(&["SELECT", db]);
        let Frame::Array(keys) = at(&["KEYS", "*"]) else {
            panic!("KEYS");
        };
        for key in keys {
            let Frame::Bulk(key) = key else {
                panic!("a key")
            };
            let key = String::from_utf8_lossy(&key).into_owned();
            let dump = at(&["DUMP", &key]);
            let ttl = at(&["PTTL", &key]);
            out.push(format!("{db} {key} {ttl:?} {dump:?}"));
        }
    }
    out.sort();
    out
}

/// Runs `writes` on one server, one request at a time, then replays the
/// feed on a fresh one: both hold the same data.
fn replaying_the_feed_reproduces_the_data(writes: Vec<Write>) -> bool {
    const NOW: u64 = 1_700_000_000_000;
    let (master, mut client) = fresh_state();
    for Write(words) in &writes {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        run(&master, &mut client, &words);
        // A blocking command that found nothing gives up at once.
        blocking::forget(&master, &mut client);
    }
    let (replica, mut applier) = fresh_state();
    let stream = crate::sync::lock(&master.feed)
        .read_from(0, usize::MAX)
        .expect("feed");
    for words in parse_commands(&stream) {
        let mut txn = None;
        let mut ctx = Ctx::new(&replica, &mut applier, NOW, &mut txn);
        let reply = execute(&mut ctx, &words);
        assert!(!matches!(reply, Frame::Error(_)), "{words:?}: {reply:?}");
        ctx.commit_pending().expect("commit");
    }
    let (expected, replayed) = (contents(&master, NOW), contents(&replica, NOW));
    if expected != replayed {
        eprintln!("master:  {expected:#?}\nreplica: {replayed:#?}");
    }
    expected == replayed
}

#[test]
fn the_feed_replayed_reproduces_the_data() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(replaying_the_feed_reproduces_the_data as fn(Vec<Write>) -> bool);
}
