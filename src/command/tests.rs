use super::*;
use std::collections::HashSet;

pub(super) fn args(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
}

fn error_text(frame: Frame) -> String {
    match frame {
        Frame::Error(text) => String::from_utf8_lossy(&text).into_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn table_names_are_lowercase_unique_and_have_arity() {
    let mut seen = HashSet::new();
    for command in table() {
        assert_eq!(command.name, command.name.to_ascii_lowercase());
        assert!(seen.insert(command.name), "duplicate {}", command.name);
        assert_ne!(command.arity, 0, "{}", command.name);
        let mut subs = HashSet::new();
        for sub in command.subcommands {
            assert!(
                subs.insert(sub.name),
                "duplicate {}|{}",
                command.name,
                sub.name
            );
            assert!(
                sub.arity.abs() >= 2,
                "{}|{} arity must count the container",
                command.name,
                sub.name
            );
        }
    }
}

#[test]
fn writes_and_reads_are_flagged() {
    for command in table() {
        assert!(
            !(command.has_flag("write") && command.has_flag("readonly")),
            "{} is both write and readonly",
            command.name
        );
    }
    assert!(lookup(b"SET").is_some_and(|c| c.has_flag("write")));
    assert!(lookup(b"get").is_some_and(|c| c.has_flag("readonly")));
}

#[test]
fn lookup_is_case_insensitive_and_rejects_long_names() {
    assert_eq!(lookup(b"gEt").map(|c| c.name), Some("get"));
    assert!(lookup(&[b'a'; 100]).is_none());
    assert!(lookup(b"").is_none());
}

#[test]
fn unknown_command_lists_its_arguments_like_redis() {
    let reply = resolve(&args(&["foo", "a", "b"])).err().map(error_text);
    assert_eq!(
        reply.as_deref(),
        Some("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
    );
}

#[test]
fn arity_errors_name_the_full_command() {
    let reply = resolve(&args(&["get"])).err().map(error_text);
    assert_eq!(
        reply.as_deref(),
        Some("ERR wrong number of arguments for 'get' command")
    );
    let reply = resolve(&args(&["config", "get"])).err().map(error_text);
    assert_eq!(
        reply.as_deref(),
        Some("ERR wrong number of arguments for 'config|get' command")
    );
    let reply = resolve(&args(&["config"])).err().map(error_text);
    assert_eq!(
        reply.as_deref(),
        Some("ERR wrong number of arguments for 'config' command")
    );
}

#[test]
fn unknown_subcommand_points_to_help() {
    let reply = resolve(&args(&["client", "nope"])).err().map(error_text);
    assert_eq!(
        reply.as_deref(),
        Some("ERR unknown subcommand 'nope'. Try CLIENT HELP.")
    );
}

#[test]
fn key_positions_follow_first_last_step() {
    let mset = lookup(b"mset").expect("mset");
    assert_eq!(mset.key_positions(7), vec![1, 3, 5]);
    let del = lookup(b"del").expect("del");
    assert_eq!(del.key_positions(4), vec![1, 2, 3]);
    let rename = lookup(b"rename").expect("rename");
    assert_eq!(rename.key_positions(3), vec![1, 2]);
    assert!(lookup(b"ping").expect("ping").key_positions(1).is_empty());
}

/// A fresh in-memory server state and an authenticated client of it.
pub(super) fn fresh_state() -> (std::sync::Arc<Shared>, Client) {
    let engine = std::sync::Arc::new(crate::engine::memory::MemoryEngine::new());
    let shared = Shared::new(crate::config::Config::default(), engine, None, 0).expect("state");
    let handle = shared
        .clients
        .register("127.0.0.1:1".into(), "127.0.0.1:6379".into(), 0);
    let client = Client::new(handle, true);
    (shared, client)
}

/// Runs one command and commits it, like a connection does.
pub(super) fn run(shared: &Shared, client: &mut Client, words: &[&str]) -> Frame {
    let mut txn = None;
    let mut ctx = Ctx::new(shared, client, 1_700_000_000_000, &mut txn);
    let reply = execute(&mut ctx, &args(words));
    ctx.commit_pending().expect("commit");
    reply
}

/// Runs commands on a fresh in-memory server state and renders every reply
/// as the exact bytes a client receives, for snapshot tests.
pub(super) fn transcript(protocol: crate::resp::Protocol, commands: &[&[&str]]) -> String {
    let (shared, mut client) = fresh_state();
    client.protocol = protocol;
    let mut out = String::new();
    for words in commands {
        let reply = run(&shared, &mut client, words);
        // Like the connection: messages this command caused, then extra
        // replies (one per channel of SUBSCRIBE), then the reply.
        let mut bytes = bytes::BytesMut::new();
        if let Some(subscriber) = &client.pubsub.subscriber {
            subscriber.drain_into(&mut bytes);
        }
        for extra in client.extra_replies.drain(..) {
            crate::resp::encode(&extra, client.protocol, &mut bytes);
        }
        crate::resp::encode(&reply, client.protocol, &mut bytes);
        out.push_str(&format!(
            "> {}\n{}\n",
            words.join(" "),
            String::from_utf8_lossy(&bytes).escape_debug()
        ));
    }
    out
}

const SESSION: &[&[&str]] = &[
    &["SET", "k", "v", "EX", "100"],
    &["GET", "k"],
    &["GET", "missing"],
    &["TTL", "k"],
    &["INCR", "n"],
    &["INCRBYFLOAT", "n", "0.5"],
    &["MGET", "k", "missing", "n"],
    &["SET", "k", "v", "NX", "GET"],
    &["SET", "k", "v", "EX", "0"],
    &["INCR", "k"],
    &["GETRANGE", "k", "0", "-1"],
    &["TYPE", "k"],
    &["EXISTS", "k", "k", "missing"],
    &["SCAN", "0", "COUNT", "100"],
    &["DBSIZE"],
    &["OBJECT", "ENCODING", "n"],
    &["COMMAND", "INFO", "get"],
    &["CONFIG", "GET", "maxclients"],
    &["CLIENT", "GETNAME"],
    &["ECHO", "hi"],
    &["PING"],
    &["NOPE", "a"],
];

#[test]
fn replies_in_resp2() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp2, SESSION));
}

#[test]
fn replies_in_resp3() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp3, SESSION));
}

/// Pub/sub on one connection that publishes to itself, checked against
/// redis-server 7.0.15.
const PUBSUB_SESSION: &[&[&str]] = &[
    &["UNSUBSCRIBE"],
    &["PUNSUBSCRIBE"],
    &["SUBSCRIBE", "news", "sport", "news"],
    &["PSUBSCRIBE", "n*"],
    &["SSUBSCRIBE", "s1"],
    &["PING"],
    &["PING", "hi"],
    &["GET", "k"],
    &["CLIENT", "INFO"],
    &["PUBLISH", "news", "hello"],
    &["SPUBLISH", "s1", "shard"],
    &["PUBSUB", "NUMSUB", "news", "none"],
    &["UNSUBSCRIBE", "nope"],
    &["UNSUBSCRIBE"],
    &["PUNSUBSCRIBE"],
    &["SUNSUBSCRIBE"],
    &["PUBSUB", "CHANNELS"],
    &["PUBSUB", "NUMPAT"],
    &["PUBSUB", "CHANNELS", "a", "b"],
    &["PUBSUB", "HELP"],
    &["SUBSCRIBE", "x"],
    &["RESET"],
    &["PUBSUB", "CHANNELS"],
    &["PING"],
];

#[test]
fn pubsub_replies_in_resp2() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp2, PUBSUB_SESSION));
}

#[test]
fn pubsub_replies_in_resp3() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp3, PUBSUB_SESSION));
}

/// SORT and SORT_RO, errors included, checked against redis-server 7.0.15.
const SORT_SESSION: &[&[&str]] = &[
    &["RPUSH", "l", "3", "1", "2"],
    &["MSET", "w_1", "30", "w_2", "20"],
    &["HSET", "o_3", "name", "three"],
    &["SORT", "l"],
    &[
        "SORT",
        "l",
        "BY",
        "w_*",
        "GET",
        "#",
        "GET",
        "w_*",
        "GET",
        "o_*->name",
    ],
    &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "0", "2"],
    &["SORT_RO", "l", "ALPHA", "DESC"],
    &["SORT", "l", "STORE", "dst"],
    &["SORT", "nosuch"],
    &["SORT", "w_1"],
    &["SORT", "l", "LIMIT", "0"],
    &["SORT", "l", "LIMIT", "a", "1"],
    &["SORT_RO", "l", "STORE", "dst"],
    &["RPUSH", "bad", "1", "x"],
    &["SORT", "bad"],
    &["CONFIG", "SET", "notify-keyspace-events", "KEA?"],
];

#[test]
fn sort_replies_in_resp2() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp2, SORT_SESSION));
}

#[test]
fn sort_replies_in_resp3() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp3, SORT_SESSION));
}

/// A RESP3 client subscribed to its own keyspace events gets each one
/// before the reply of the command that caused it, byte for byte what
/// redis-server 7.0.15 sends. (Redis answers a few commands, HSET among
/// them, before it publishes; Redstone always publishes first.)
const NOTIFY_SESSION: &[&[&str]] = &[
    &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
    &["CONFIG", "GET", "notify-keyspace-events"],
    &["PSUBSCRIBE", "__key*@0__:*"],
    &["SET", "k", "v"],
    &["SADD", "s", "m"],
    &["SREM", "s", "m"],
    &["DEL", "nosuch"],
];

#[test]
fn notifications_in_resp3() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp3, NOTIFY_SESSION));
}

/// SORT's element order, LIMIT and STORE, checked against a model: a list
/// of small integers sorted numerically or as strings, either way.
#[test]
fn sort_matches_a_model() {
    fn prop(items: Vec<i8>, desc: bool, alpha: bool, limit: Option<(i8, i8)>) -> bool {
        let (shared, mut client) = fresh_state();
        let texts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let mut words = vec!["RPUSH", "l"];
        words.extend(texts.iter().map(String::as_str));
        if !texts.is_empty() {
            run(&shared, &mut client, &words);
        }
        let mut expected = texts.clone();
        if alpha {
            expected.sort();
        } else {
            expected.sort_by_key(|t| t.parse::<i64>().unwrap_or_default());
        }
        if desc {
            expected.reverse();
        }
        let mut options: Vec<String> = Vec::new();
        if desc {
            options.push("DESC".into());
        }
        if alpha {
            options.push("ALPHA".into());
        }
        if let Some((offset, count)) = limit {
            options.extend(["LIMIT".into(), offset.to_string(), count.to_string()]);
            let start = usize::try_from(offset).unwrap_or(0).min(expected.len());
            expected.drain(..start);
            if let Ok(count) = usize::try_from(count) {
                expected.truncate(count);
            }
        }
        let bulks = Frame::bulk_array(expected.iter().map(|t| Bytes::from(t.clone())));
        let mut sort = vec!["SORT", "l"];
        sort.extend(options.iter().map(String::as_str));
        let mut store = sort.clone();
        store.extend(["STORE", "dst"]);
        run(&shared, &mut client, &sort) == bulks
            && run(&shared, &mut client, &store) == Frame::Integer(expected.len() as i64)
            && run(&shared, &mut client, &["LRANGE", "dst", "0", "-1"]) == bulks
    }
    quickcheck::quickcheck(prop as fn(Vec<i8>, bool, bool, Option<(i8, i8)>) -> bool);
}

/// Sorted sets, checked against redis-server 7.0.15 (except the
/// WITHSCORE of ZRANK, which is Redis 7.2's, and double formatting, which
/// follows the codec's shortest round-trip text).
const ZSET_SESSION: &[&[&str]] = &[
    &[
        "ZADD", "z", "1", "a", "2.5", "b", "-inf", "c", "+inf", "d", "-0", "e",
    ],
    &["ZADD", "z", "NX", "XX", "1", "a"],
    &["ZADD", "z", "GT", "LT", "1", "a"],
    &["ZADD", "z", "INCR", "1", "a", "2", "b"],
    &["ZADD", "z", "1", "a", "2"],
    &["ZADD", "z", "x", "a"],
    &["ZADD", "z", "CH", "GT", "5", "a", "0", "b", "1", "new"],
    &["ZADD", "z", "INCR", "1", "a"],
    &["ZADD", "z", "NX", "INCR", "1", "a"],
    &["ZINCRBY", "z", "-inf", "d"],
    &["ZSCORE", "z", "e"],
    &["ZSCORE", "z", "nosuch"],
    &["ZMSCORE", "z", "a", "nosuch", "c"],
    &["ZCARD", "z"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &[
        "ZRANGE",
        "z",
        "(0",
        "+inf",
        "BYSCORE",
        "LIMIT",
        "1",
        "2",
        "WITHSCORES",
    ],
    &["ZRANGE", "z", "+inf", "(0", "BYSCORE", "REV"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
    &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
    &["ZRANGE", "z", "a", "b", "BYSCORE"],
    &["ZRANGEBYLEX", "z", "a", "b"],
    &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "-inf", "2", "REV"],
    &["ZCOUNT", "z", "(0", "5"],
    &["ZRANK", "z", "a"],
    &["ZREVRANK", "z", "a", "WITHSCORE"],
    &["ZRANK", "z", "nosuch", "WITHSCORE"],
    &["ZPOPMIN", "z"],
    &["ZPOPMAX", "z", "2"],
    &["ZPOPMIN", "z", "-1"],
    &["ZMPOP", "1", "z", "MIN", "COUNT", "1"],
    &["ZMPOP", "1", "nokey", "MIN"],
    &["ZMPOP", "0", "z", "MIN"],
    &["ZADD", "l", "0", "a", "0", "b", "0", "c"],
    &["ZRANGEBYLEX", "l", "(a", "+"],
    &["ZLEXCOUNT", "l", "[b", "[c"],
    &["ZREMRANGEBYLEX", "l", "-", "[a"],
    &["ZUNION", "2", "z", "l", "WEIGHTS", "2", "3", "WITHSCORES"],
    &["ZINTER", "2", "z", "l", "AGGREGATE", "MAX", "WITHSCORES"],
    &["ZDIFF", "2", "l", "z"],
    &["ZUNIONSTORE", "d", "2", "z", "l"],
    &["ZINTERCARD", "2", "z", "l", "LIMIT", "1"],
    &["ZUNION", "0", "z"],
    &["ZUNION", "1", "z", "WEIGHTS", "x"],
    &["ZRANGESTORE", "d2", "d", "0", "0"],
    &["ZRANDMEMBER", "nokey"],
    &["ZRANDMEMBER", "d2", "-2", "WITHSCORES"],
    &["ZSCAN", "d", "0"],
    &["OBJECT", "ENCODING", "d"],
    &["TYPE", "d"],
    &["SET", "s", "x"],
    &["ZADD", "s", "1", "a"],
    &["ZUNION", "2", "d", "s"],
    &["ZINCRBY", "z", "1"],
];

#[test]
fn zset_replies_in_resp2() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp2, ZSET_SESSION));
}

#[test]
fn zset_replies_in_resp3() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp3, ZSET_SESSION));
}

/// Bitmaps and HyperLogLog, replies and errors checked against
/// redis-server 7.0.15.
const BITS_SESSION: &[&[&str]] = &[
    &["SETBIT", "b", "7", "1"],
    &["SETBIT", "b", "7", "0"],
    &["SETBIT", "b", "-1", "1"],
    &["SETBIT", "b", "0", "2"],
    &["SETBIT", "b", "4294967296", "1"],
    &["GETBIT", "b", "7"],
    &["SET", "s", "foobar"],
    &["BITCOUNT", "s"],
    &["BITCOUNT", "s", "1", "-2", "BIT"],
    &["BITCOUNT", "s", "0"],
    &["BITCOUNT", "s", "0", "1", "WORD"],
    &["BITPOS", "s", "0", "1"],
    &["BITPOS", "s", "2"],
    &["BITOP", "AND", "d", "s", "b"],
    &["BITOP", "NOT", "d", "s", "b"],
    &["BITOP", "NAND", "d", "s"],
    &[
        "BITFIELD", "f", "SET", "i8", "#1", "-1", "INCRBY", "u4", "0", "17", "OVERFLOW", "FAIL",
        "INCRBY", "u4", "0", "16",
    ],
    &["BITFIELD", "f", "GET", "u64", "0"],
    &["BITFIELD", "f", "OVERFLOW", "UP"],
    &["BITFIELD_RO", "f", "SET", "u8", "0", "1"],
    &["RPUSH", "l", "x"],
    &["GETBIT", "l", "0"],
    &["PFADD", "h", "a", "b", "c"],
    &["PFCOUNT", "h"],
    &["GET", "h"],
    &["PFMERGE", "h2", "h"],
    &["PFDEBUG", "DECODE", "h2"],
    &["PFDEBUG", "ENCODING", "h2"],
    &["PFADD", "s", "x"],
    &["PFCOUNT", "l"],
    &["PFDEBUG", "GETREG", "nope"],
    &["COMMAND", "INFO", "bitop"],
];

#[test]
fn bits_replies_in_resp2() {
    insta::assert_snapshot!(transcript(crate::resp::Protocol::Resp2, BITS_SESSION));
}

#[test]
fn members_written_are_read_from_each_collection_writes_arguments() {
    let members = |words: &[&str]| {
        let args = args(words);
        members_written(&words[0].to_lowercase(), &args)
            .map(|found| found.iter().map(|m| m.to_vec()).collect::<Vec<_>>())
    };
    let bytes = |words: &[&str]| Some(words.iter().map(|w| w.as_bytes().to_vec()).collect());
    assert_eq!(members(&["SADD", "s", "a", "b"]), bytes(&["a", "b"]));
    assert_eq!(
        members(&["HSET", "h", "f1", "v1", "f2", "v2"]),
        bytes(&["f1", "f2"])
    );
    assert_eq!(members(&["HSETNX", "h", "f", "v"]), bytes(&["f"]));
    assert_eq!(
        members(&["ZADD", "z", "NX", "ch", "1", "m1", "2.5", "m2"]),
        bytes(&["m1", "m2"])
    );
    assert_eq!(members(&["ZADD", "z", "1", "m"]), bytes(&["m"]));
    // Malformed arguments yield something or nothing, never a panic: the
    // command reports them when it runs.
    assert_eq!(members(&["ZADD", "z", "xx"]), bytes(&[]));
    assert_eq!(members(&["SADD", "s"]), bytes(&[]));
    assert_eq!(members(&["SADD"]), None);
    assert_eq!(members(&["SET", "k", "v"]), None);
}
