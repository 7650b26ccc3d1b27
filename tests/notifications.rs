//! Keyspace notifications through the real binary: the
//! `notify-keyspace-events` setting (CONFIG GET/SET, command line, config
//! file) and the exact event sequences of representative commands of every
//! family, each checked against redis-server 7.0.15 with
//! `redis-cli psubscribe '__key*__:*'`.

mod common;
mod resp;

use common::Server;
use resp::{error, Raw, OK};
use std::time::{Duration, Instant};

/// A subscriber to every keyevent channel (and to `done`, which marks the
/// end of a sequence). Events read as `"<db> <event> <key>"`.
struct Listener {
    raw: Raw,
}

impl Listener {
    fn new(server: &Server, pattern: &str) -> Listener {
        let mut raw = Raw::connect(server.port);
        raw.cmd(&["PSUBSCRIBE", pattern]);
        raw.cmd(&["SUBSCRIBE", "done"]);
        Listener { raw }
    }

    /// The next message as `(channel, payload)`.
    fn message(&mut self) -> (String, String) {
        let value = redis::parse_redis_value(&self.raw.reply_bytes()).expect("a push");
        let parts = resp::strings(&value);
        match parts[0].as_str() {
            "pmessage" => (parts[2].clone(), parts[3].clone()),
            _ => (parts[1].clone(), parts[2].clone()),
        }
    }

    /// Every event published before `writer` publishes to `done`.
    fn events(&mut self, writer: &mut Raw) -> Vec<String> {
        writer.cmd(&["PUBLISH", "done", "x"]);
        let mut out = Vec::new();
        loop {
            let (channel, payload) = self.message();
            if channel == "done" {
                return out;
            }
            out.push(describe(&channel, &payload));
        }
    }
}

/// `__keyevent@0__:set` + `k` → `0 set k`; `__keyspace@0__:k` + `set` →
/// `0 k set`.
fn describe(channel: &str, payload: &str) -> String {
    let rest = channel
        .strip_prefix("__keyevent@")
        .or_else(|| channel.strip_prefix("__keyspace@"))
        .unwrap_or_else(|| panic!("not a notification channel: {channel}"));
    let (db, name) = rest.split_once("__:").expect("db and name");
    format!("{db} {name} {payload}")
}

/// A server with `flags`, a listener on every keyevent channel and a
/// writer connection.
fn setup(flags: &str) -> (Server, Listener, Raw) {
    let server = Server::start(&["--notify-keyspace-events", flags]);
    let listener = Listener::new(&server, "__keyevent@*__:*");
    let writer = Raw::connect(server.port);
    (server, listener, writer)
}

/// Runs each command (split on spaces) and returns the events they caused.
fn run(listener: &mut Listener, writer: &mut Raw, commands: &[&str]) -> Vec<String> {
    for command in commands {
        let reply = writer.line(command);
        assert!(!reply.starts_with('-'), "{command}: {reply}");
    }
    listener.events(writer)
}

fn expect(events: &[&str]) -> Vec<String> {
    events.iter().map(|e| format!("0 {e}")).collect()
}

fn config_get(c: &mut Raw) -> String {
    let value = c.value(&["CONFIG", "GET", "notify-keyspace-events"]);
    resp::strings(&value)[1].clone()
}

// ---- the setting ----

#[test]
fn config_set_normalises_flags_like_redis() {
    let (_server, mut c) = resp::start();
    assert_eq!(config_get(&mut c), "");
    for (set, shown) in [
        ("KEA", "AKE"),
        ("Ag", "A"),
        ("g$lshzxetdn", "A"),
        ("mnKE", "nKEm"),
        ("Elg", "glE"),
        ("", ""),
    ] {
        assert_eq!(c.cmd(&["CONFIG", "SET", "notify-keyspace-events", set]), OK);
        assert_eq!(config_get(&mut c), shown, "after setting {set:?}");
    }
}

#[test]
fn config_set_refuses_unknown_classes() {
    let (_server, mut c) = resp::start();
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KE$"]);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "xyz"]),
        error("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    );
    assert_eq!(config_get(&mut c), "$KE", "unchanged");
}

#[test]
fn command_line_and_config_file_set_the_flags() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    assert_eq!(config_get(&mut Raw::connect(server.port)), "AKE");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("redstone.conf");
    std::fs::write(&file, "notify-keyspace-events Elh\n").expect("write config");
    let path = file.to_string_lossy().into_owned();
    let server = Server::start(&[&path]);
    assert_eq!(config_get(&mut Raw::connect(server.port)), "lhE");
}

#[test]
fn nothing_is_published_by_default() {
    let server = Server::start(&[]);
    let mut listener = Listener::new(&server, "__key*__:*");
    let mut writer = Raw::connect(server.port);
    let events = run(
        &mut listener,
        &mut writer,
        &["SET k v", "HSET h f v", "DEL k"],
    );
    assert_eq!(events, Vec::<String>::new());
}

#[test]
fn keyspace_channels_carry_the_event_name() {
    let server = Server::start(&["--notify-keyspace-events", "K$g"]);
    let mut listener = Listener::new(&server, "__key*__:*");
    let mut writer = Raw::connect(server.port);
    let events = run(&mut listener, &mut writer, &["SET k v", "DEL k"]);
    assert_eq!(events, ["0 k set", "0 k del"]);
}

#[test]
fn only_the_configured_classes_are_published() {
    let (_server, mut listener, mut writer) = setup("Eh");
    let events = run(
        &mut listener,
        &mut writer,
        &["SET k v", "HSET h f v", "SADD s m", "HDEL h f"],
    );
    assert_eq!(events, expect(&["hset h", "hdel h"]));
}

#[test]
fn events_follow_a_config_set_at_run_time() {
    let server = Server::start(&[]);
    let mut listener = Listener::new(&server, "__keyevent@*__:*");
    let mut writer = Raw::connect(server.port);
    writer.cmd(&["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    let events = run(&mut listener, &mut writer, &["SET k v"]);
    assert_eq!(events, expect(&["set k"]));
    writer.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    assert_eq!(run(&mut listener, &mut writer, &["SET k v"]), expect(&[]));
}

// ---- strings ----

#[test]
fn string_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "SET k v",
            "SET k v2 EX 100",
            "SET k v3 NX",
            "GETDEL k",
            "SET n 1",
            "INCRBY n 2",
            "DECR n",
            "INCRBYFLOAT n 1.5",
            "APPEND n x",
            "SETRANGE n 0 y",
            "GETEX n EX 100",
            "GETEX n PERSIST",
            "GETEX n PERSIST",
            "GETEX n",
            "SETNX n v",
            "MSET a 1 b 2",
            "MSETNX c 1 a 2",
            "GETSET a 2",
            "SETEX e 100 v",
        ],
    );
    assert_eq!(
        events,
        expect(&[
            "new k",
            "set k",
            "set k",
            "expire k",
            "del k",
            "new n",
            "set n",
            "incrby n",
            "incrby n",
            "incrbyfloat n",
            "append n",
            "setrange n",
            "expire n",
            "persist n",
            "new a",
            "set a",
            "new b",
            "set b",
            "set a",
            "new e",
            "set e",
            "expire e",
        ])
    );
}

#[test]
fn a_deadline_in_the_past_sets_then_expires_or_deletes() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &["SET k v EXAT 1", "SET g v", "GETEX g PXAT 1", "EXISTS k g"],
    );
    assert_eq!(
        events,
        expect(&[
            "new k",
            "set k",
            "expire k",
            "expired k",
            "new g",
            "set g",
            "del g",
        ])
    );
    assert_eq!(writer.line("EXISTS k g"), resp::int(0));
}

// ---- generic ----

#[test]
fn generic_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "SET a 1",
            "SET b 2",
            "DEL a b nosuch",
            "SET c 1",
            "EXPIRE c 100",
            "EXPIRE c 100 NX",
            "PERSIST c",
            "PERSIST c",
            "EXPIRE c -1",
            "SET e 1",
            "RENAME e f",
            "RENAME f f",
            "SET g 1",
            "RENAME g f",
            "RENAMENX f g",
            "COPY g h",
            "COPY g h REPLACE",
            "COPY g h DB 1",
            "UNLINK h",
        ],
    );
    assert_eq!(
        events,
        [
            "0 new a",
            "0 set a",
            "0 new b",
            "0 set b",
            "0 del a",
            "0 del b",
            "0 new c",
            "0 set c",
            "0 expire c",
            "0 persist c",
            "0 del c",
            "0 new e",
            "0 set e",
            "0 new f",
            "0 rename_from e",
            "0 rename_to f",
            "0 new g",
            "0 set g",
            "0 new f",
            "0 rename_from g",
            "0 rename_to f",
            "0 new g",
            "0 rename_from f",
            "0 rename_to g",
            "0 new h",
            "0 copy_to h",
            "0 new h",
            "0 copy_to h",
            "1 new h",
            "1 copy_to h",
            "0 del h",
        ]
    );
    let events = run(&mut listener, &mut writer, &["MOVE g 2"]);
    assert_eq!(events, ["2 new g", "0 move_from g", "2 move_to g"]);
}

#[test]
fn active_expiry_publishes_expired() {
    let (_server, mut listener, mut writer) = setup("Ex");
    writer.line("SET k v PX 50");
    let (channel, payload) = listener.message();
    assert_eq!(describe(&channel, &payload), "0 expired k");
}

#[test]
fn lazy_expiry_on_a_write_reports_expired_first() {
    // hz 1: active expiry runs once a second, so the SET finds the key.
    let server = Server::start(&["--notify-keyspace-events", "EAn", "--hz", "1"]);
    let mut listener = Listener::new(&server, "__keyevent@*__:*");
    let mut writer = Raw::connect(server.port);
    writer.line("SET k v PX 1");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(writer.line("SET k v2"), OK);
    let events = listener.events(&mut writer);
    // Should active expiry come first after all, the sequence is the same.
    assert_eq!(
        events,
        expect(&["new k", "set k", "expire k", "expired k", "new k", "set k"])
    );
}

// ---- hashes, sets, lists ----

#[test]
fn hash_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "HSET h f v",
            "HSET h f v",
            "HMSET h f v2 g w",
            "HSETNX h f v",
            "HSETNX h z v",
            "HINCRBY h n 1",
            "HINCRBYFLOAT h m 1.5",
            "HDEL h f nosuch",
            "HDEL h nosuch",
            "HDEL h g n m z",
        ],
    );
    assert_eq!(
        events,
        expect(&[
            "new h",
            "hset h",
            "hset h",
            "hset h",
            "hset h",
            "hincrby h",
            "hincrbyfloat h",
            "hdel h",
            "hdel h",
            "del h",
        ])
    );
}

#[test]
fn sorted_set_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "ZADD z 1 a 2 b 3 c",
            "ZADD z XX 1 a",
            "ZADD z XX CH 5 a",
            "ZADD z INCR 1 a",
            "ZINCRBY z 1 b",
            "ZREM z nosuch",
            "ZREM z a",
            "ZPOPMIN z",
            "ZPOPMAX z 0",
            "ZADD y 1 x 2 w",
            "ZUNIONSTORE u 2 z y",
            "ZINTERSTORE u 2 z y",
            "ZDIFFSTORE u 2 y y",
            "ZRANGESTORE r y 0 0",
            "ZRANGESTORE r y 5 6",
            "ZREMRANGEBYSCORE y 1 1",
            "ZREMRANGEBYRANK y 0 0",
            "ZADD l 0 a 0 b",
            "ZREMRANGEBYLEX l [a [a",
            "ZMPOP 1 l MAX",
            "ZPOPMAX z 5",
        ],
    );
    // What redis-server 7.0.15 publishes for the same commands.
    assert_eq!(
        events,
        expect(&[
            "new z",
            "zadd z",
            "zadd z",
            "zincr z",
            "zincr z",
            "zrem z",
            "zpopmin z",
            "new y",
            "zadd y",
            "new u",
            "zunionstore u",
            "del u",
            "new r",
            "zrangestore r",
            "del r",
            "zremrangebyscore y",
            "zremrangebyrank y",
            "del y",
            "new l",
            "zadd l",
            "zremrangebylex l",
            "zpopmax l",
            "del l",
            "zpopmax z",
            "del z",
        ])
    );
}

#[test]
fn set_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "SADD s a b c",
            "SADD s a",
            "SREM s nosuch",
            "SREM s a",
            "SPOP s",
            "SPOP s 5",
            "SPOP s 0",
            "SADD t x y",
            "SADD s x",
            "SMOVE t s x",
            "SMOVE t s y",
            "SMOVE s s y",
            "SADD u 1 2",
            "SINTERSTORE dst u nosuch",
            "SUNIONSTORE dst u s",
            "SUNIONSTORE dst u s",
            "SDIFFSTORE dst u u",
        ],
    );
    assert_eq!(
        events,
        expect(&[
            "new s",
            "sadd s",
            "srem s",
            "spop s",
            "spop s",
            "del s",
            "new t",
            "sadd t",
            "new s",
            "sadd s",
            "srem t",
            "srem t",
            "del t",
            "sadd s",
            "new u",
            "sadd u",
            "new dst",
            "sunionstore dst",
            "sunionstore dst",
            "del dst",
        ])
    );
}

#[test]
fn list_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "RPUSH l a b c",
            "LPUSH l z",
            "RPUSHX l y",
            "LPUSHX nosuch y",
            "LINSERT l BEFORE a x",
            "LINSERT l BEFORE nosuch x",
            "LSET l 0 w",
            "LREM l 0 nosuch",
            "LREM l 1 a",
            "LTRIM l 0 100",
            "LTRIM l 1 2",
            "LPOP l",
            "RPOP l",
            "RPUSH m 1 2 3",
            "LMOVE m n LEFT RIGHT",
            "RPOPLPUSH m n",
            "LMOVE n n LEFT LEFT",
            "LMOVE m n RIGHT LEFT",
            "LMPOP 2 nosuch n RIGHT COUNT 5",
        ],
    );
    assert_eq!(
        events,
        expect(&[
            "new l",
            "rpush l",
            "lpush l",
            "rpush l",
            "linsert l",
            "lset l",
            "lrem l",
            "ltrim l",
            "ltrim l",
            "lpop l",
            "rpop l",
            "del l",
            "new m",
            "rpush m",
            "new n",
            "rpush n",
            "lpop m",
            "lpush n",
            "rpop m",
            "lpush n",
            "lpop n",
            "lpush n",
            "rpop m",
            "del m",
            "rpop n",
            "del n",
        ])
    );
}

#[test]
fn bitmap_and_hyperloglog_commands_report_redis_events() {
    let (_server, mut listener, mut writer) = setup("EAn");
    let events = run(
        &mut listener,
        &mut writer,
        &[
            "SETBIT b 7 1",
            "SETBIT b 7 1",
            "SETBIT b 100 0",
            "BITFIELD f SET u8 0 5 GET u8 0",
            "BITFIELD f GET u8 0",
            "BITFIELD f INCRBY u8 0 300 OVERFLOW FAIL INCRBY u8 0 300",
            "BITFIELD f OVERFLOW FAIL INCRBY u8 0 300",
            "SET s1 abc",
            "BITOP AND d s1 b",
            "BITOP AND d nosuch1 nosuch2",
            "BITOP NOT e nosuch",
            "PFADD h a",
            "PFADD h a",
            "PFADD h",
            "PFADD h2",
            "PFMERGE h3 h",
            "PFCOUNT h",
            "PFCOUNT h h2",
        ],
    );
    assert_eq!(
        events,
        expect(&[
            "new b", "setbit b", "setbit b", "new f", "setbit f", "setbit f", "new s1", "set s1",
            "new d", "set d", "del d", "new h", "pfadd h", "new h2", "pfadd h2", "new h3",
            "pfadd h3",
        ])
    );
}

// ---- delivery ----

#[test]
fn events_of_a_transaction_go_out_after_exec() {
    let (server, mut listener, mut writer) = setup("EAn");
    writer.line("MULTI");
    writer.line("SET k v");
    writer.line("INCR k");
    writer.line("HSET h f v");
    // Nothing is published while the commands are queued.
    let mut other = Raw::connect(server.port);
    assert_eq!(listener.events(&mut other), Vec::<String>::new());
    let exec = writer.line("EXEC");
    assert!(exec.starts_with("*3\r\n"), "{exec}");
    assert_eq!(
        listener.events(&mut writer),
        expect(&["new k", "set k", "new h", "hset h"]),
        "the failed INCR reports nothing"
    );
}

#[test]
fn a_discarded_transaction_reports_nothing() {
    let (_server, mut listener, mut writer) = setup("EAn");
    writer.line("MULTI");
    writer.line("SET k v");
    writer.line("DISCARD");
    assert_eq!(listener.events(&mut writer), Vec::<String>::new());
}

#[test]
fn pipelined_events_keep_command_order_around_publish() {
    let (_server, mut listener, mut writer) = setup("EAn");
    writer.send_bytes(b"SET a 1\r\nPUBLISH __keyevent@0__:mine m\r\nDEL a\r\n");
    for _ in 0..3 {
        writer.reply();
    }
    assert_eq!(
        listener.events(&mut writer),
        expect(&["new a", "set a", "mine m", "del a"])
    );
}

#[test]
fn a_resp3_client_gets_its_own_events_before_the_reply() {
    let server = Server::start(&["--notify-keyspace-events", "E$"]);
    let mut c = Raw::connect(server.port);
    c.line("HELLO 3");
    c.cmd(&["SUBSCRIBE", "__keyevent@0__:set"]);
    c.send(&["SET", "k", "v"]);
    assert_eq!(
        c.reply(),
        ">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"
    );
    assert_eq!(c.reply(), OK);
}

#[test]
fn active_expiry_reports_every_expired_key() {
    let (_server, mut listener, mut writer) = setup("EAn");
    for i in 0..20 {
        writer.cmd(&["SET", &format!("k{i}"), "v", "PX", "300"]);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut expired = Vec::new();
    listener.events(&mut writer);
    while expired.len() < 20 {
        assert!(Instant::now() < deadline, "only {expired:?} expired");
        let (channel, payload) = listener.message();
        if channel.ends_with(":expired") {
            expired.push(payload);
        }
    }
    expired.sort();
    let mut keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    keys.sort();
    assert_eq!(expired, keys);
}

#[test]
fn in_a_cluster_events_stay_on_the_node_that_changed_the_key() {
    let Some(nodes) = common::three_master_cluster(&["--notify-keyspace-events", "E$"]) else {
        return;
    };
    let mut listeners: Vec<Listener> = nodes
        .iter()
        .map(|node| Listener::new(node, "__keyevent@*__:*"))
        .collect();
    let owner = nodes
        .iter()
        .position(|node| Raw::connect(node.port).line("SET k v") == OK)
        .expect("one node owns k");
    // PUBLISH reaches every node over the bus; the event did not.
    let mut writer = Raw::connect(nodes[owner].port);
    for (i, listener) in listeners.iter_mut().enumerate() {
        let events = listener.events(&mut writer);
        let expected = if i == owner {
            expect(&["set k"])
        } else {
            expect(&[])
        };
        assert_eq!(events, expected, "node {i}");
    }
}
