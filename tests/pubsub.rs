//! Pub/sub through the real binary: reply and message shapes in RESP2 and
//! RESP3 (byte for byte what redis-server 7.0.15 sends), patterns, shard
//! channels, PUBSUB introspection, the RESP2 subscribed-mode rule, cleanup
//! on RESET and disconnect, fan-out, `client-output-buffer-limit pubsub`,
//! and delivery across a cluster.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, bulks, error, int, start, Raw, NIL};
use std::time::{Duration, Instant};

/// A RESP3 push of bulk strings.
fn push(items: &[&str]) -> String {
    let mut out = format!(">{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

/// A (un)subscribe confirmation: `[kind, name, count]`, `*` in RESP2 and
/// `>` in RESP3; `None` is the nil name of an UNSUBSCRIBE with nothing to
/// unsubscribe from.
fn confirm(resp3: bool, kind: &str, name: Option<&str>, count: i64) -> String {
    let name = match (name, resp3) {
        (Some(name), _) => bulk(name),
        (None, false) => NIL.to_string(),
        (None, true) => "_\r\n".to_string(),
    };
    format!(
        "{}3\r\n{}{}{}",
        if resp3 { '>' } else { '*' },
        bulk(kind),
        name,
        int(count)
    )
}

fn resp2(kind: &str, name: &str, count: i64) -> String {
    confirm(false, kind, Some(name), count)
}

/// What a RESP2 client in subscribed mode gets for any other command.
fn not_allowed(command: &str) -> String {
    error(&format!(
        "ERR Can't execute '{command}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn hello3(c: &mut Raw) {
    assert!(c.line("HELLO 3").starts_with("%7\r\n"));
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn numsub(c: &mut Raw, channel: &str) -> String {
    c.cmd(&["PUBSUB", "NUMSUB", channel])
}

/// The text of a bulk or verbatim reply (CLIENT LIST, CLIENT INFO, INFO).
fn text(reply: &str) -> String {
    let body = reply.split_once("\r\n").map_or("", |(_, body)| body);
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

// ---- shapes ----

#[test]
fn resp2_subscriptions_and_messages_are_byte_exact() {
    let (server, mut sub) = start();
    let mut publisher = Raw::connect(server.port);
    assert_eq!(
        sub.line("UNSUBSCRIBE"),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        sub.line("PUNSUBSCRIBE"),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        sub.line("SUNSUBSCRIBE"),
        "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    );

    // One confirmation per argument; a repeated channel counts once.
    assert_eq!(
        sub.line("SUBSCRIBE c1 c2 c1"),
        "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"
    );
    assert_eq!(sub.reply(), resp2("subscribe", "c2", 2));
    assert_eq!(sub.reply(), resp2("subscribe", "c1", 2));
    assert_eq!(sub.line("PSUBSCRIBE c*"), resp2("psubscribe", "c*", 3));
    // Shard channels are counted on their own.
    assert_eq!(sub.line("SSUBSCRIBE s1"), resp2("ssubscribe", "s1", 1));

    assert_eq!(publisher.line("PUBLISH c1 hello"), int(2));
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$5\r\nhello\r\n"
    );
    assert_eq!(
        sub.reply(),
        "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nc1\r\n$5\r\nhello\r\n"
    );
    assert_eq!(publisher.line("SPUBLISH s1 hello"), int(1));
    assert_eq!(
        sub.reply(),
        "*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$5\r\nhello\r\n"
    );
    // Binary payloads go through untouched.
    assert_eq!(
        publisher.cmd(&[&b"PUBLISH"[..], b"c2", b"\x00\r\n\xff"]),
        int(2)
    );
    assert_eq!(
        sub.reply_bytes(),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nc2\r\n$4\r\n\x00\r\n\xff\r\n".to_vec()
    );
    sub.reply();
    assert_eq!(publisher.line("PUBLISH nobody x"), int(0));

    // Unsubscribing from everything lists the channels in subscription
    // order; the counts include the pattern.
    assert_eq!(sub.line("UNSUBSCRIBE c9"), resp2("unsubscribe", "c9", 3));
    assert_eq!(sub.line("UNSUBSCRIBE"), resp2("unsubscribe", "c1", 2));
    assert_eq!(sub.reply(), resp2("unsubscribe", "c2", 1));
    assert_eq!(
        sub.line("UNSUBSCRIBE"),
        confirm(false, "unsubscribe", None, 1)
    );
    assert_eq!(sub.line("PUNSUBSCRIBE"), resp2("punsubscribe", "c*", 0));
    assert_eq!(sub.line("SUNSUBSCRIBE"), resp2("sunsubscribe", "s1", 0));
    // Out of subscribed mode again.
    assert_eq!(sub.line("GET x"), NIL);
}

#[test]
fn resp3_subscriptions_and_messages_are_pushes() {
    let (server, mut sub) = start();
    let mut publisher = Raw::connect(server.port);
    hello3(&mut sub);
    assert_eq!(
        sub.line("UNSUBSCRIBE"),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
    assert_eq!(
        sub.line("SUBSCRIBE c1"),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n"
    );
    // RESP3 clients may run any command while subscribed.
    assert_eq!(sub.line("PING"), "+PONG\r\n");
    assert_eq!(sub.line("GET x"), "_\r\n");
    assert_eq!(
        sub.line("PSUBSCRIBE c*"),
        confirm(true, "psubscribe", Some("c*"), 2)
    );
    assert_eq!(publisher.line("PUBLISH c1 hello"), int(2));
    assert_eq!(sub.reply(), push(&["message", "c1", "hello"]));
    assert_eq!(sub.reply(), push(&["pmessage", "c*", "c1", "hello"]));
    assert_eq!(
        sub.line("SSUBSCRIBE s1 s2"),
        confirm(true, "ssubscribe", Some("s1"), 1)
    );
    assert_eq!(sub.reply(), confirm(true, "ssubscribe", Some("s2"), 2));
    assert_eq!(publisher.line("SPUBLISH s1 x"), int(1));
    assert_eq!(sub.reply(), push(&["smessage", "s1", "x"]));
    assert_eq!(sub.line("PUBSUB NUMSUB c1"), "*2\r\n$2\r\nc1\r\n:1\r\n");
    assert_eq!(
        sub.line("UNSUBSCRIBE"),
        confirm(true, "unsubscribe", Some("c1"), 1)
    );
    assert_eq!(
        sub.line("PUNSUBSCRIBE nope"),
        confirm(true, "punsubscribe", Some("nope"), 1)
    );
}

#[test]
fn a_message_to_oneself_comes_before_the_publish_reply() {
    let (_server, mut c) = start();
    hello3(&mut c);
    // Exactly what redis-server sends for this pipeline.
    let pipeline = [
        resp::encode(&["SUBSCRIBE", "c"]),
        resp::encode(&["PUBLISH", "c", "m"]),
        resp::encode(&["PUBLISH", "c", "n"]),
    ]
    .concat();
    c.send_bytes(&pipeline);
    let mut got = String::new();
    for _ in 0..5 {
        got.push_str(&c.reply());
    }
    assert_eq!(
        got,
        ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n\
         >3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n:1\r\n\
         >3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nn\r\n:1\r\n"
    );
}

#[test]
fn subscribed_resp2_clients_may_only_run_pubsub_commands() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SSUBSCRIBE s1"), resp2("ssubscribe", "s1", 1));
    for (command, name) in [
        ("GET x", "get"),
        ("SET x 1", "set"),
        ("CLIENT INFO", "client|info"),
        ("HELLO 3", "hello"),
        ("AUTH x", "auth"),
        ("SELECT 1", "select"),
        ("ECHO 1", "echo"),
        ("PUBLISH a b", "publish"),
        ("PUBSUB NUMPAT", "pubsub|numpat"),
    ] {
        assert_eq!(c.line(command), not_allowed(name), "{command}");
    }
    // Unknown commands and arity errors come first, as in Redis.
    assert_eq!(
        c.line("NOSUCHCMD"),
        error("ERR unknown command 'NOSUCHCMD', with args beginning with: ")
    );
    assert_eq!(c.line("GET"), arity("get"));
    assert_eq!(c.line("PING a b"), arity("ping"));
    // PING answers as a message-shaped array.
    assert_eq!(c.line("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(c.line("PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    assert_eq!(c.line("QUIT extra"), "+OK\r\n");
    assert!(c.is_closed());
}

#[test]
fn subscription_errors_match_redis() {
    let (_server, mut c) = start();
    for command in ["subscribe", "psubscribe", "ssubscribe"] {
        assert_eq!(c.line(command), arity(command));
    }
    assert_eq!(c.line("PUBLISH a"), arity("publish"));
    assert_eq!(c.line("SPUBLISH a"), arity("spublish"));
    assert_eq!(c.line("PUBSUB"), arity("pubsub"));
    assert_eq!(c.line("PUBSUB NUMPAT x"), arity("pubsub|numpat"));
    assert_eq!(c.line("PUBSUB HELP x"), arity("pubsub|help"));
    assert_eq!(
        c.line("PUBSUB CHANNELS a b"),
        error(
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
        )
    );
    assert_eq!(
        c.line("pubsub shardchannels a b"),
        error("ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.")
    );
    assert_eq!(
        c.line("PUBSUB foo"),
        error("ERR unknown subcommand 'foo'. Try PUBSUB HELP.")
    );
}

// ---- introspection ----

#[test]
fn pubsub_subcommands_report_channels_patterns_and_counts() {
    let (server, mut c) = start();
    let mut a = Raw::connect(server.port);
    let mut b = Raw::connect(server.port);
    a.line("SUBSCRIBE news sport");
    a.reply();
    a.line("PSUBSCRIBE p* q*");
    a.reply();
    b.line("SUBSCRIBE news");
    b.line("PSUBSCRIBE p*");
    b.line("SSUBSCRIBE s1 s2");
    b.reply();

    assert_eq!(c.line("PUBSUB CHANNELS"), bulks(&["news", "sport"]));
    assert_eq!(c.line("PUBSUB CHANNELS s*"), bulks(&["sport"]));
    assert_eq!(c.line("PUBSUB CHANNELS x*"), "*0\r\n");
    assert_eq!(
        c.line("PUBSUB NUMSUB news sport none"),
        "*6\r\n$4\r\nnews\r\n:2\r\n$5\r\nsport\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(c.line("PUBSUB NUMSUB"), "*0\r\n");
    // Distinct patterns.
    assert_eq!(c.line("PUBSUB NUMPAT"), int(2));
    assert_eq!(c.line("PUBSUB SHARDCHANNELS"), bulks(&["s1", "s2"]));
    assert_eq!(c.line("PUBSUB SHARDCHANNELS *2"), bulks(&["s2"]));
    assert_eq!(
        c.line("PUBSUB SHARDNUMSUB s1 x"),
        "*4\r\n$2\r\ns1\r\n:1\r\n$1\r\nx\r\n:0\r\n"
    );
    // One per channel subscriber plus one per matching pattern subscription.
    assert_eq!(c.line("PUBLISH news x"), int(2));
    assert_eq!(c.line("PUBLISH pz x"), int(2));
    assert_eq!(c.line("PUBLISH qz x"), int(1));

    let info = text(&c.line("INFO stats"));
    for line in [
        "pubsub_channels:2",
        "pubsub_patterns:2",
        "pubsubshard_channels:2",
    ] {
        assert!(info.contains(line), "{line} in {info}");
    }

    let help = c.value(&["PUBSUB", "HELP"]);
    let lines = resp::strings(&help);
    assert_eq!(
        lines[0],
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    assert_eq!(lines.len(), 14);
    assert_eq!(lines[13], "    Prints this help.");
}

#[test]
fn client_list_shows_subscription_counts_and_type() {
    let (server, mut c) = start();
    let mut sub = Raw::connect(server.port);
    let id = sub.int(&["CLIENT", "ID"]).to_string();
    sub.line("SUBSCRIBE a b");
    sub.reply();
    sub.line("PSUBSCRIBE p*");
    sub.line("SSUBSCRIBE s");
    let line = text(&c.cmd(&["CLIENT", "LIST", "ID", &id]));
    assert_eq!(field(&line, "flags"), "P");
    assert_eq!(field(&line, "sub"), "2");
    assert_eq!(field(&line, "psub"), "1");
    assert_eq!(field(&line, "ssub"), "1");
    let pubsub = text(&c.line("CLIENT LIST TYPE pubsub"));
    assert_eq!(pubsub.lines().count(), 1);
    assert_eq!(field(&pubsub, "id"), id);
    assert_eq!(text(&c.line("CLIENT LIST TYPE normal")).lines().count(), 1);
    assert_eq!(field(&text(&c.line("CLIENT INFO")), "flags"), "N");

    assert_eq!(c.line("CLIENT KILL TYPE pubsub"), int(1));
    assert!(sub.is_closed());
    wait_until("the subscriptions to go", Duration::from_secs(5), || {
        c.line("PUBSUB NUMPAT") == int(0)
    });
}

// ---- cleanup ----

#[test]
fn reset_and_disconnect_drop_every_subscription() {
    let (server, mut c) = start();
    let mut sub = Raw::connect(server.port);
    sub.line("SUBSCRIBE a");
    sub.line("PSUBSCRIBE p*");
    sub.line("SSUBSCRIBE s");
    assert_eq!(sub.line("RESET"), "+RESET\r\n");
    assert_eq!(numsub(&mut c, "a"), "*2\r\n$1\r\na\r\n:0\r\n");
    assert_eq!(c.line("PUBSUB NUMPAT"), int(0));
    assert_eq!(c.line("PUBSUB SHARDCHANNELS"), "*0\r\n");
    assert_eq!(c.line("PUBLISH a x"), int(0));
    // Out of subscribed mode, and a fresh subscription counts from 1.
    assert_eq!(sub.line("GET k"), NIL);
    assert_eq!(sub.line("SUBSCRIBE a"), resp2("subscribe", "a", 1));
    assert_eq!(c.line("PUBLISH a x"), int(1));
    assert_eq!(sub.reply(), bulks(&["message", "a", "x"]));

    // RESET also leaves RESP3; messages are arrays again.
    hello3(&mut c);
    let mut sub3 = Raw::connect(server.port);
    hello3(&mut sub3);
    sub3.line("SUBSCRIBE b");
    assert_eq!(sub3.line("RESET"), "+RESET\r\n");
    assert_eq!(sub3.line("SUBSCRIBE b"), resp2("subscribe", "b", 1));
    assert_eq!(c.line("PUBLISH b y"), int(1));
    assert_eq!(sub3.reply(), bulks(&["message", "b", "y"]));

    drop(sub);
    drop(sub3);
    wait_until(
        "disconnected subscribers to go",
        Duration::from_secs(5),
        || c.line("PUBSUB CHANNELS") == "*0\r\n",
    );
    assert_eq!(c.line("PUBLISH a x"), int(0));
}

#[test]
fn idle_subscribers_are_not_timed_out() {
    let server = Server::start(&["--timeout", "1"]);
    let mut sub = Raw::connect(server.port);
    sub.line("SUBSCRIBE a");
    let mut idle = Raw::connect(server.port);
    assert_eq!(idle.line("PING"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(idle.is_closed(), "a plain idle client is closed");
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("PUBLISH a still-here"), int(1));
    assert_eq!(sub.reply(), bulks(&["message", "a", "still-here"]));
}

// ---- fan-out ----

#[test]
fn one_publish_reaches_many_subscribers_in_order() {
    let (server, mut publisher) = start();
    let mut channel_subs: Vec<Raw> = (0..100).map(|_| Raw::connect(server.port)).collect();
    for sub in &mut channel_subs {
        assert_eq!(sub.line("SUBSCRIBE fan"), resp2("subscribe", "fan", 1));
    }
    let mut pattern_subs: Vec<Raw> = (0..50).map(|_| Raw::connect(server.port)).collect();
    for sub in &mut pattern_subs {
        hello3(sub);
        assert_eq!(
            sub.line("PSUBSCRIBE f*"),
            confirm(true, "psubscribe", Some("f*"), 1)
        );
    }
    for i in 0..20 {
        assert_eq!(
            publisher.cmd(&["PUBLISH", "fan", &format!("m{i}")]),
            int(150)
        );
    }
    for sub in &mut channel_subs {
        for i in 0..20 {
            assert_eq!(sub.reply(), bulks(&["message", "fan", &format!("m{i}")]));
        }
    }
    for sub in &mut pattern_subs {
        for i in 0..20 {
            assert_eq!(
                sub.reply(),
                push(&["pmessage", "f*", "fan", &format!("m{i}")])
            );
        }
    }
}

// ---- client-output-buffer-limit pubsub ----

/// Peak resident memory of a process, in bytes (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Publishes `count` messages of `size` bytes, reading the replies as it
/// goes; returns them.
fn flood(publisher: &mut Raw, channel: &str, count: usize, size: usize) -> Vec<String> {
    let payload = "x".repeat(size);
    let mut replies = Vec::new();
    for batch in 0..count.div_ceil(20) {
        let n = 20.min(count - batch * 20);
        let pipeline: Vec<u8> = (0..n)
            .flat_map(|_| resp::encode(&["PUBLISH", channel, &payload]))
            .collect();
        publisher.send_bytes(&pipeline);
        for _ in 0..n {
            replies.push(publisher.reply());
        }
    }
    replies
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_off_at_the_hard_limit() {
    let server = Server::start(&["--client-output-buffer-limit", "pubsub 1mb 256kb 60"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(
        c.line("CONFIG GET client-output-buffer-limit"),
        bulks(&[
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 262144 60"
        ])
    );
    let mut slow = Raw::connect(server.port);
    assert_eq!(slow.line("SUBSCRIBE feed"), resp2("subscribe", "feed", 1));
    let mut other = Raw::connect(server.port);
    assert_eq!(
        other.line("SUBSCRIBE other"),
        resp2("subscribe", "other", 1)
    );
    let before = peak_rss(server.pid()).unwrap_or(0);

    // 2000 x 100 KB = 200 MB for a subscriber that reads nothing.
    let mut publisher = Raw::connect(server.port);
    let replies = flood(&mut publisher, "feed", 2000, 100_000);
    assert_eq!(replies[0], int(1));
    assert_eq!(replies[1999], int(0), "the slow subscriber is gone");
    assert!(
        slow.is_closed(),
        "the slow subscriber's connection is closed"
    );
    // Everybody else carries on.
    assert_eq!(c.line("PING"), "+PONG\r\n");
    assert_eq!(numsub(&mut c, "feed"), "*2\r\n$4\r\nfeed\r\n:0\r\n");
    assert_eq!(publisher.line("PUBLISH other hi"), int(1));
    assert_eq!(other.reply(), bulks(&["message", "other", "hi"]));

    // Its backlog was never held: memory grew far less than 200 MB.
    if let Some(after) = peak_rss(server.pid()) {
        assert!(
            after.saturating_sub(before) < 64 * 1024 * 1024,
            "peak RSS grew from {before} to {after}"
        );
    }
    wait_until("the log line", Duration::from_secs(5), || {
        server.log_lines().iter().any(|line| {
            line.contains("# Client id=")
                && line.contains(" flags=P ")
                && line.ends_with(
                    " scheduled to be closed ASAP for overcoming of output buffer limits.",
                )
        })
    });
}

#[test]
fn the_soft_limit_cuts_off_a_subscriber_that_stays_over_it() {
    // No hard limit: only staying over 64 KB for more than 2 seconds counts.
    let server = Server::start(&["--client-output-buffer-limit", "pubsub 0 64kb 2"]);
    let mut c = Raw::connect(server.port);
    let mut slow = Raw::connect(server.port);
    slow.line("SUBSCRIBE feed");
    let mut publisher = Raw::connect(server.port);
    let started = Instant::now();
    // Enough to fill the socket buffers and go well over the soft limit.
    flood(&mut publisher, "feed", 200, 100_000);
    wait_until("the soft limit", Duration::from_secs(20), || {
        publisher.line("PUBLISH feed more");
        numsub(&mut c, "feed") == "*2\r\n$4\r\nfeed\r\n:0\r\n"
    });
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "cut off after {:?}",
        started.elapsed()
    );
    assert!(slow.is_closed());
}

#[test]
fn config_set_changes_the_limit_for_live_subscribers() {
    let (server, mut c) = start();
    assert_eq!(
        c.line("CONFIG GET client-output-buffer-limit"),
        bulks(&[
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        ])
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1"]),
        error("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "master 1 1 1"]),
        error("ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.")
    );
    let mut slow = Raw::connect(server.port);
    slow.line("SUBSCRIBE feed");
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 512kb 0 0"
        ]),
        resp::OK
    );
    let mut publisher = Raw::connect(server.port);
    let replies = flood(&mut publisher, "feed", 400, 100_000);
    assert_eq!(replies.last(), Some(&int(0)));
    assert!(slow.is_closed());
}

// ---- cluster ----

#[test]
fn in_a_cluster_publish_reaches_every_node_and_shard_channels_route_by_slot() {
    let Some(nodes) = common::three_master_cluster(&[]) else {
        return;
    };

    // PUBLISH: counted locally, delivered everywhere.
    let mut subs: Vec<Raw> = nodes.iter().map(|n| Raw::connect(n.port)).collect();
    for sub in &mut subs {
        assert_eq!(sub.line("SUBSCRIBE news"), resp2("subscribe", "news", 1));
    }
    let mut publisher = Raw::connect(nodes[1].port);
    assert_eq!(publisher.line("PUBLISH news hi"), int(1));
    for sub in &mut subs {
        assert_eq!(sub.reply(), bulks(&["message", "news", "hi"]));
    }
    let mut psub = Raw::connect(nodes[2].port);
    hello3(&mut psub);
    psub.line("PSUBSCRIBE n*");
    assert_eq!(publisher.line("PUBLISH news again"), int(1));
    assert_eq!(psub.reply(), push(&["pmessage", "n*", "news", "again"]));

    // SSUBSCRIBE runs on the slot's owner only; others redirect.
    let mut owner = None;
    for (i, node) in nodes.iter().enumerate() {
        let mut c = Raw::connect(node.port);
        let reply = c.line("SSUBSCRIBE orders");
        if reply == resp2("ssubscribe", "orders", 1) {
            owner = Some((i, c));
        } else {
            assert!(reply.starts_with("-MOVED "), "{reply}");
        }
    }
    let (owner_index, mut shard_sub) = owner.expect("one node owns the slot");
    let mut other = Raw::connect(nodes[(owner_index + 1) % 3].port);
    assert!(other.line("SPUBLISH orders x").starts_with("-MOVED "));
    assert_eq!(
        other.line("SSUBSCRIBE orders news"),
        error("CROSSSLOT Keys in request don't hash to the same slot")
    );
    let mut at_owner = Raw::connect(nodes[owner_index].port);
    assert_eq!(at_owner.line("SPUBLISH orders x"), int(1));
    assert_eq!(shard_sub.reply(), bulks(&["smessage", "orders", "x"]));
}
