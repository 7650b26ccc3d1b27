use super::*;
use std::collections::HashSet;

fn args(words: &[&str]) -> Vec<Bytes> {
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

/// Runs commands on a fresh in-memory server state and renders every reply
/// as the exact bytes a client receives, for snapshot tests.
pub(super) fn transcript(protocol: crate::resp::Protocol, commands: &[&[&str]]) -> String {
    let engine = std::sync::Arc::new(crate::engine::memory::MemoryEngine::new());
    let shared =
        crate::server::build_shared(crate::config::Config::default(), engine, None).expect("state");
    let handle = shared
        .clients
        .register("127.0.0.1:1".into(), "127.0.0.1:6379".into(), 0);
    let mut client = Client::new(handle, true);
    client.protocol = protocol;
    let mut out = String::new();
    for words in commands {
        let mut txn = None;
        let mut ctx = Ctx {
            shared: &shared,
            client: &mut client,
            now_ms: 1_700_000_000_000,
            txn: &mut txn,
        };
        let reply = execute(&mut ctx, &args(words));
        ctx.commit_pending().expect("commit");

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
