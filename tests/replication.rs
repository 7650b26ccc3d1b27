//! Replication against the real thing: Debian's redis-server 7.0 as a
//! replica of Redstone (full sync as an RDB file, then the change feed).
//! Skipped when redis-server is not installed (`.ci/run` installs it).

mod common;

use common::real_redis::RealRedis;
use common::Server;
use redis::{Connection, Value};
use std::time::{Duration, Instant};

fn info_field(c: &mut Connection, section: &str, field: &str) -> Option<String> {
    let text: String = redis::cmd("INFO").arg(section).query(c).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes of every type, with TTLs, in two databases.
fn write_mixed(c: &mut Connection, tag: &str) {
    let cmds: Vec<Vec<String>> = vec![
        vec!["SELECT".into(), "0".into()],
        vec!["SET".into(), format!("s:{tag}"), "plain".into()],
        vec!["SET".into(), format!("n:{tag}"), "12345".into()],
        vec![
            "SET".into(),
            format!("ttl:{tag}"),
            "v".into(),
            "EX".into(),
            "1000".into(),
        ],
        vec![
            "RPUSH".into(),
            format!("l:{tag}"),
            "a".into(),
            "b".into(),
            "c".into(),
        ],
        vec![
            "HSET".into(),
            format!("h:{tag}"),
            "f1".into(),
            "v1".into(),
            "f2".into(),
            "v2".into(),
        ],
        vec![
            "SADD".into(),
            format!("si:{tag}"),
            "1".into(),
            "2".into(),
            "3".into(),
        ],
        vec!["SADD".into(), format!("ss:{tag}"), "x".into(), "y".into()],
        vec![
            "ZADD".into(),
            format!("z:{tag}"),
            "1.5".into(),
            "m1".into(),
            "-2".into(),
            "m2".into(),
        ],
        vec!["INCRBYFLOAT".into(), format!("f:{tag}"), "2.5".into()],
        // A stream whose IDs are the master's clock, a group that read
        // with and without acknowledgement, and an approximate trim.
        vec![
            "XADD".into(),
            format!("x:{tag}"),
            "*".into(),
            "a".into(),
            "1".into(),
        ],
        vec![
            "XADD".into(),
            format!("x:{tag}"),
            "*".into(),
            "b".into(),
            "2".into(),
        ],
        vec![
            "XGROUP".into(),
            "DESTROY".into(),
            format!("x:{tag}"),
            "g".into(),
        ],
        vec![
            "XGROUP".into(),
            "CREATE".into(),
            format!("x:{tag}"),
            "g".into(),
            "0".into(),
        ],
        vec![
            "XREADGROUP".into(),
            "GROUP".into(),
            "g".into(),
            "alice".into(),
            "COUNT".into(),
            "1".into(),
            "STREAMS".into(),
            format!("x:{tag}"),
            ">".into(),
        ],
        vec![
            "XADD".into(),
            format!("x:{tag}"),
            "MAXLEN".into(),
            "~".into(),
            "1".into(),
            "*".into(),
            "c".into(),
            "3".into(),
        ],
        vec![
            "XREADGROUP".into(),
            "GROUP".into(),
            "g".into(),
            "bob".into(),
            "NOACK".into(),
            "STREAMS".into(),
            format!("x:{tag}"),
            ">".into(),
        ],
        vec!["SELECT".into(), "3".into()],
        vec!["SET".into(), format!("db3:{tag}"), "three".into()],
        vec!["SELECT".into(), "0".into()],
    ];
    for args in cmds {
        let mut cmd = redis::cmd(&args[0]);
        for arg in &args[1..] {
            cmd.arg(arg);
        }
        let _: Value = cmd.query(c).expect("write");
    }
    // Large collections (hashtable, skiplist, quicklist encodings on Redis).
    let mut hset = redis::cmd("HSET");
    let mut zadd = redis::cmd("ZADD");
    let mut rpush = redis::cmd("RPUSH");
    hset.arg(format!("bigh:{tag}"));
    zadd.arg(format!("bigz:{tag}"));
    rpush.arg(format!("bigl:{tag}"));
    for i in 0..700 {
        hset.arg(format!("field{i}")).arg(format!("value{i}"));
        zadd.arg(i).arg(format!("member{i}"));
        rpush.arg(format!("item{i}"));
    }
    for cmd in [hset, zadd, rpush] {
        let _: Value = cmd.query(c).expect("big write");
    }
}

/// A function library the master holds before the replica links (the full
/// sync carries it) and its function, which writes.
const LIBRARY_BEFORE: &str = "#!lua name=before\nredis.register_function('before', function(keys, args) return redis.call('set', keys[1], args[1]) end)";

fn function_load(m: &mut Connection, code: &str) {
    let _: Value = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(code)
        .query(m)
        .expect("function load");
}

/// Every function library's name and code, in name order.
fn libraries(c: &mut Connection) -> Vec<String> {
    let list: Vec<Vec<Value>> = redis::cmd("FUNCTION")
        .arg("LIST")
        .arg("WITHCODE")
        .query(c)
        .expect("function list");
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    };
    let mut out: Vec<String> = list
        .iter()
        .map(|fields| {
            let field = |name: &str| {
                fields
                    .chunks(2)
                    .find(|pair| text(&pair[0]) == name)
                    .map(|pair| text(&pair[1]))
                    .unwrap_or_default()
            };
            format!("{}: {}", field("library_name"), field("library_code"))
        })
        .collect();
    out.sort();
    out
}

/// What the stream must carry once the replica is linked: more of every
/// type, and effects that depend on the master's clock or choices.
fn write_after_the_sync(m: &mut Connection) {
    write_mixed(m, "after");
    let _: Value = redis::cmd("SPOP").arg("ss:after").query(m).expect("spop");
    let _: Value = redis::cmd("EXPIRE")
        .arg("s:after")
        .arg(500)
        .query(m)
        .expect("expire");
    let _: Value = redis::cmd("DEL").arg("l:before").query(m).expect("del");
    let _: Value = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("counter")
        .cmd("LPOP")
        .arg("l:after")
        .query(m)
        .expect("exec");
    // A script's effects, not the script: its SPOP arrives as the member
    // the master popped, its SELECT holds for the script only.
    let popped: Value = redis::cmd("EVAL")
        .arg(
            "local popped = redis.call('spop', 'ss:after')
             redis.call('select', 3)
             redis.call('set', KEYS[1], 'from a script')
             return popped",
        )
        .arg(1)
        .arg("scripted")
        .query(m)
        .expect("eval");
    assert!(matches!(popped, Value::BulkString(_)), "{popped:?}");
    let _: Value = redis::cmd("INCRBY")
        .arg("counter")
        .arg(5)
        .query(m)
        .expect("incrby");
    // Libraries come as the commands that changed them; a function's
    // writes as its effects (its SPOP as the member the master popped).
    let dumped: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(m)
        .expect("function dump");
    function_load(
        m,
        "#!lua name=flushed\nredis.register_function('flushed', function() return 1 end)",
    );
    let _: Value = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(m)
        .expect("function flush");
    let _: Value = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(dumped)
        .query(m)
        .expect("function restore");
    function_load(
        m,
        "#!lua name=after\nredis.register_function('after', function(keys) redis.call('sadd', 'fset', 'a', 'b', 'c', 'd') return redis.call('set', keys[1], redis.call('spop', 'fset')) end)",
    );
    function_load(
        m,
        "#!lua name=gone\nredis.register_function('gone', function() return 1 end)",
    );
    let _: Value = redis::cmd("FUNCTION")
        .arg("DELETE")
        .arg("gone")
        .query(m)
        .expect("function delete");
    for (function, key) in [("after", "fcalled"), ("before", "fcalled:before")] {
        let _: Value = redis::cmd("FCALL")
            .arg(function)
            .arg(1)
            .arg(key)
            .arg("from a function")
            .query(m)
            .expect("fcall");
    }
}

/// Every key of databases 0 and 3 with its type and value, read with
/// ordinary commands so that Redstone and Redis compare whatever their
/// encodings.
fn contents(c: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in [0, 3] {
        let _: () = redis::cmd("SELECT").arg(db).query(c).expect("select");
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(c).expect("keys");
        keys.sort();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(c).expect("type");
            let value = match kind.as_str() {
                "string" => redis::cmd("GET").arg(&key).query::<String>(c),
                "list" => redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query::<Vec<String>>(c)
                    .map(|v| v.join(",")),
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query::<Vec<String>>(c)
                    .map(|v| {
                        let mut pairs: Vec<String> = v.chunks(2).map(|p| p.join("=")).collect();
                        pairs.sort();
                        pairs.join(",")
                    }),
                "set" => redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query::<Vec<String>>(c)
                    .map(|mut v| {
                        v.sort();
                        v.join(",")
                    }),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query::<Vec<String>>(c)
                    .map(|v| v.join(",")),
                // Entries, groups and pending entries: nothing of the clock
                // but the IDs, which must be the master's.
                "stream" => ["XRANGE", "XINFO", "XPENDING"]
                    .into_iter()
                    .map(|name| {
                        let mut cmd = redis::cmd(name);
                        match name {
                            "XRANGE" => cmd.arg(&key).arg("-").arg("+"),
                            "XINFO" => cmd.arg("GROUPS").arg(&key),
                            _ => cmd.arg(&key).arg("g"),
                        };
                        cmd.query::<Value>(c).map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|parts| parts.join(" ")),
                other => Ok(format!("unexpected type {other}")),
            }
            .expect("read");
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(c).expect("pttl");
            let has_ttl = ttl > 0;
            out.push(format!("{db} {key} {kind} ttl={has_ttl} {value}"));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(c).expect("select");
    out
}

fn offset(c: &mut Connection) -> u64 {
    info_field(c, "replication", "master_repl_offset")
        .and_then(|offset| offset.parse().ok())
        .unwrap_or(0)
}

/// Waits until the replica has applied everything the master had sent
/// when called (the master's PINGs may take both further meanwhile).
fn wait_for_offset(master: &mut Connection, replica: &mut Connection) {
    let target = offset(master);
    wait_for("the replica to reach the master's offset", || {
        offset(replica) >= target
    });
}

#[test]
fn a_redis_server_replica_gets_the_data_set_and_then_the_stream() {
    let master = Server::start(&[]);
    let mut m = master.client();
    write_mixed(&mut m, "before");
    function_load(&mut m, LIBRARY_BEFORE);
    let Some(replica) =
        RealRedis::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()])
    else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut r = replica.client();
    wait_for("the replica's link", || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
    });
    write_after_the_sync(&mut m);
    wait_for_offset(&mut m, &mut r);
    let expected = contents(&mut m);
    assert_eq!(expected.len(), 31, "{} keys", expected.len());
    assert!(
        expected.iter().any(|key| key.contains("from a script")),
        "{expected:?}"
    );
    assert_eq!(contents(&mut r), expected);
    let functions = libraries(&mut m);
    assert_eq!(functions.len(), 2, "{functions:?}");
    assert_eq!(libraries(&mut r), functions);

    assert_eq!(
        info_field(&mut m, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    let slave0 = info_field(&mut m, "replication", "slave0").expect("slave0");
    assert!(slave0.contains("state=online"), "{slave0}");
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut m).expect("role");
    assert_eq!(role[0], Value::BulkString(b"master".to_vec()));

    // WAIT: the replica acknowledges what it has; a second one never comes.
    let _: () = redis::cmd("SET")
        .arg("waited")
        .arg("1")
        .query(&mut m)
        .expect("set");
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut m)
        .expect("wait");
    assert_eq!(acked, 1);
    let started = Instant::now();
    let acked: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(200)
        .query(&mut m)
        .expect("wait");
    assert_eq!(acked, 1);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // A dropped link continues from the backlog: no second full sync.
    let link = replica_link_id(&mut m);
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(link)
        .query(&mut m)
        .expect("kill");
    wait_for("the replica to reconnect", || {
        replica_link_id(&mut m) != link
    });
    write_mixed(&mut m, "reconnected");
    wait_for_offset(&mut m, &mut r);
    assert_eq!(contents(&mut r), contents(&mut m));
    assert_eq!(
        info_field(&mut m, "stats", "sync_full").as_deref(),
        Some("1")
    );
    assert_eq!(
        info_field(&mut m, "stats", "sync_partial_ok").as_deref(),
        Some("1")
    );
}

/// The client id of the replica's link (the connection that sent PSYNC).
fn replica_link_id(c: &mut Connection) -> u64 {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(c)
        .expect("client list");
    list.lines()
        .find(|line| line.contains("cmd=psync"))
        .and_then(|line| line.strip_prefix("id="))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn replicate(replica: &mut Connection, port: u16) {
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(port)
        .query(replica)
        .expect("replicaof");
    wait_for("the link to the master", || {
        info_field(replica, "replication", "master_link_status").as_deref() == Some("up")
    });
}

/// A real redis-server master holding `write_mixed`'s data: the server, a
/// connection to it and its port; `None` (noted) when it is not installed.
fn redis_master_with_mixed_data() -> Option<(RealRedis, Connection, u16)> {
    let port = free_port();
    let Some(redis) = RealRedis::start_with(&["--port", &port.to_string()]) else {
        eprintln!("redis-server is not installed: skipping");
        return None;
    };
    let mut m = redis.client();
    write_mixed(&mut m, "before");
    function_load(&mut m, LIBRARY_BEFORE);
    Some((redis, m, port))
}

#[test]
fn redstone_replicates_a_redis_server_master_its_encodings_and_its_stream() {
    let Some((_redis, mut m, port)) = redis_master_with_mixed_data() else {
        return;
    };
    let replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, port);
    write_after_the_sync(&mut m);
    wait_for_offset(&mut m, &mut r);
    let expected = contents(&mut m);
    assert_eq!(expected.len(), 31, "{} keys", expected.len());
    assert!(
        expected.iter().any(|key| key.contains("from a script")),
        "{expected:?}"
    );
    assert_eq!(contents(&mut r), expected);
    let functions = libraries(&mut m);
    assert_eq!(functions.len(), 2, "{functions:?}");
    assert_eq!(libraries(&mut r), functions);

    // A replica is read-only, and says what it is.
    let refused: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg("v").query(&mut r);
    let refused = refused.expect_err("a write to a replica");
    assert!(
        refused.to_string().contains("read only replica"),
        "{refused}"
    );
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut r).expect("role");
    assert_eq!(role[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(role[3], Value::BulkString(b"connected".to_vec()));
}

#[test]
fn a_redstone_replica_promoted_keeps_every_write_and_serves_writes() {
    let master = Server::start(&[]);
    let mut m = master.client();
    write_mixed(&mut m, "before");
    let replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    write_mixed(&mut m, "after");
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut m)
        .expect("wait");
    assert_eq!(acked, 1, "the replica acknowledged every write");
    let expected = contents(&mut m);
    drop(m);
    drop(master);

    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut r)
        .expect("promote");
    assert_eq!(contents(&mut r), expected);
    let _: () = redis::cmd("SET")
        .arg("new")
        .arg("write")
        .query(&mut r)
        .expect("a write");
    assert_eq!(
        info_field(&mut r, "replication", "role").as_deref(),
        Some("master")
    );
}

/// One round of the concurrent load: every type written, then changed
/// and partly deleted, keys reused across rounds (`round % 7`).
fn mixed_round(c: &mut Connection, round: u64) {
    let tag = format!("r{}", round % 7);
    write_mixed(c, &tag);
    let _: Value = redis::pipe()
        .cmd("SPOP")
        .arg(format!("ss:{tag}"))
        .cmd("LPOP")
        .arg(format!("l:{tag}"))
        .cmd("HDEL")
        .arg(format!("bigh:{tag}"))
        .arg(format!("field{round}"))
        .cmd("ZINCRBY")
        .arg(format!("bigz:{tag}"))
        .arg(2)
        .arg("member3")
        .cmd("EXPIRE")
        .arg(format!("s:{tag}"))
        .arg(300 + round)
        .cmd("PERSIST")
        .arg(format!("ttl:{tag}"))
        .cmd("DEL")
        .arg(format!("n:r{}", (round + 3) % 7))
        .cmd("INCR")
        .arg("counter")
        .query(c)
        .expect("changes");
    let _: Value = redis::pipe()
        .atomic()
        .cmd("RPOPLPUSH")
        .arg(format!("bigl:{tag}"))
        .arg("moved")
        .cmd("SMOVE")
        .arg(format!("si:{tag}"))
        .arg("si:moved")
        .arg("2")
        .query(c)
        .expect("exec");
}

/// A replica converges on its master under a concurrent load of every
/// type with TTLs, through its full sync (taken while the load runs) and
/// a link dropped mid-stream (a partial resync).
#[test]
fn a_replica_converges_under_a_concurrent_mixed_load() {
    // A backlog for the writes made while the link is down (the load
    // writes over 1 MB a second; past the backlog a full sync is right).
    let master = Server::start(&["--repl-backlog-size", "64mb"]);
    let mut m = master.client();
    // Enough data for the full sync to overlap the load.
    let mut fill = redis::pipe();
    for i in 0..20_000 {
        fill.cmd("SET").arg(format!("fill:{i}")).arg(i).ignore();
    }
    let _: () = fill.query(&mut m).expect("fill");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = master.client();
    let running = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut round = 0;
        while !running.load(std::sync::atomic::Ordering::Relaxed) {
            mixed_round(&mut load, round);
            round += 1;
        }
        round
    });
    let replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    std::thread::sleep(Duration::from_millis(300));
    // The link is a replica client (flags S) to the master, and the
    // replica's link to it a master client (flags M).
    let clients_of_type = |con: &mut redis::Connection, kind: &str| -> String {
        (redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg(kind))
            .query(con)
            .expect("client list")
    };
    let listed = clients_of_type(&mut m, "replica");
    assert!(listed.contains("flags=S"), "{listed}");
    let listed = clients_of_type(&mut r, "master");
    assert!(listed.contains("flags=M"), "{listed}");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut m)
        .expect("kill the link");
    assert_eq!(killed, 1, "the replica's link");
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = writer.join().expect("the writer");
    assert!(rounds > 10, "only {rounds} rounds of load");
    wait_for("the link to come back", || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
    });
    wait_for_offset(&mut m, &mut r);
    assert_eq!(contents(&mut r), contents(&mut m));
    assert_eq!(stat(&mut m, "sync_full"), 1, "one full sync only");
    assert!(stat(&mut m, "sync_partial_ok") >= 1, "a partial resync");
}

#[test]
fn a_replica_of_a_replica_gets_the_masters_stream_byte_for_byte() {
    let master = Server::start(&[]);
    let middle = Server::start(&[]);
    let last = Server::start(&[]);
    let (mut m, mut r1, mut r2) = (master.client(), middle.client(), last.client());
    replicate(&mut r1, master.port);
    replicate(&mut r2, middle.port);
    // A write and a transaction in one read of the middle replica's link:
    // the EXEC commits the batch's start early, which must not put anything
    // but the master's bytes in its feed.
    for round in 0..20 {
        let _: Value = redis::pipe()
            .cmd("SET")
            .arg(format!("plain:{round}"))
            .arg(round)
            .cmd("MULTI")
            .cmd("INCR")
            .arg("counter")
            .cmd("RPUSH")
            .arg("list")
            .arg(round)
            .cmd("EXEC")
            .query(&mut m)
            .expect("a pipelined transaction");
    }
    wait_for_offset(&mut m, &mut r1);
    wait_for_offset(&mut m, &mut r2);
    assert_eq!(
        offset(&mut r1),
        offset(&mut m),
        "the middle replica's offset"
    );
    assert_eq!(offset(&mut r2), offset(&mut m), "the last replica's offset");
    let expected = contents(&mut m);
    assert_eq!(contents(&mut r1), expected);
    assert_eq!(contents(&mut r2), expected);
    let counter: i64 = redis::cmd("GET")
        .arg("counter")
        .query(&mut r2)
        .expect("get");
    assert_eq!(counter, 20);

    // Idle past the ping period: only the master's PINGs are in the
    // stream, so the offsets still agree (a middle replica that pinged its
    // own replica moved them off its master's).
    std::thread::sleep(Duration::from_secs(11));
    let _: () = redis::cmd("SET")
        .arg("late")
        .arg(1)
        .query(&mut m)
        .expect("set");
    wait_for_offset(&mut m, &mut r2);
    assert_eq!(
        offset(&mut r1),
        offset(&mut m),
        "the middle replica's offset"
    );
    assert_eq!(offset(&mut r2), offset(&mut m), "the last replica's offset");
    // WAIT would put a GETACK of its own in a replica's stream.
    let refused: redis::RedisResult<i64> = redis::cmd("WAIT").arg(1).arg(10).query(&mut r1);
    let refused = refused.expect_err("WAIT on a replica");
    assert!(
        refused.to_string().contains("replica instances"),
        "{refused}"
    );
    assert_eq!(
        offset(&mut r1),
        offset(&mut m),
        "the middle replica's offset"
    );
}

fn stat(c: &mut Connection, field: &str) -> u64 {
    info_field(c, "stats", field)
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Writes whose last one is in database 3, so the master's stream has
/// database 3 selected afterwards: a replica that resumes it must too.
fn write_ending_in_db3(m: &mut Connection, tag: &str) {
    write_mixed(m, tag);
    let _: Value = redis::pipe()
        .cmd("SELECT")
        .arg(3)
        .cmd("SET")
        .arg(format!("db3:last:{tag}"))
        .arg(tag)
        .cmd("SELECT")
        .arg(0)
        .query(m)
        .expect("a write in db 3");
}

/// A Redstone replica of the master at `port` (reached by `m`), stopped
/// (kill -9, then SHUTDOWN) while the master goes on writing, and
/// restarted on its data directory: it continues the master's stream from
/// where its data stands (a partial resync), and ends with the master's
/// data.
fn a_restarted_replica_continues(m: &mut Connection, port: u16) {
    let mut replica = Server::start(&["--appendfsync", "always"]);
    let mut r = replica.client();
    replicate(&mut r, port);
    let (full, partial) = (stat(m, "sync_full"), stat(m, "sync_partial_ok"));
    for (round, stop) in ["kill -9", "SHUTDOWN"].into_iter().enumerate() {
        write_ending_in_db3(m, &format!("linked{round}"));
        wait_for_offset(m, &mut r);
        let before = offset(&mut r);
        if stop == "SHUTDOWN" {
            let _ = redis::cmd("SHUTDOWN").query::<Value>(&mut r);
            replica.wait_exit();
        } else {
            replica.kill9();
        }
        // The stream goes on in database 3 without selecting it again.
        let _: Value = redis::pipe()
            .cmd("SELECT")
            .arg(3)
            .cmd("SET")
            .arg(format!("db3:selected:{round}"))
            .arg(round)
            .query(m)
            .expect("a write in db 3");
        let _: Value = redis::cmd("SET")
            .arg(format!("db3:still:{round}"))
            .arg(round)
            .query(m)
            .expect("a write in db 3");
        let _: () = redis::cmd("SELECT").arg(0).query(m).expect("select");
        write_mixed(m, &format!("down{round}"));

        replica.restart();
        r = replica.client();
        // Its data and offset are the point of the master's history it
        // stopped at (a crash may lose the last writes, with their offset).
        let restarted = offset(&mut r);
        match stop {
            "SHUTDOWN" => assert_eq!(restarted, before, "{stop}"),
            _ => assert!(restarted > 0 && restarted <= before, "{stop}: {restarted}"),
        }
        replicate(&mut r, port);
        wait_for_offset(m, &mut r);
        assert_eq!(contents(&mut r), contents(m), "after {stop}");
        assert_eq!(stat(m, "sync_full"), full, "after {stop}");
        assert_eq!(
            stat(m, "sync_partial_ok"),
            partial + round as u64 + 1,
            "after {stop}"
        );
    }
}

#[test]
fn a_restarted_replica_resyncs_partially_with_a_redstone_master() {
    let master = Server::start(&[]);
    let mut m = master.client();
    write_mixed(&mut m, "before");
    a_restarted_replica_continues(&mut m, master.port);
}

#[test]
fn a_restarted_replica_resyncs_partially_with_a_redis_server_master() {
    let Some((_redis, mut m, port)) = redis_master_with_mixed_data() else {
        return;
    };
    a_restarted_replica_continues(&mut m, port);
}

/// A promoted replica that wrote on its own no longer is a point of its
/// old master's history: restarted and pointed back at that master, it
/// resyncs in full instead of continuing with data the master never had.
#[test]
fn a_promoted_replica_that_wrote_resyncs_in_full_after_a_restart() {
    let master = Server::start(&[]);
    let mut m = master.client();
    write_mixed(&mut m, "before");
    let mut replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    wait_for_offset(&mut m, &mut r);
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut r)
        .expect("promote");
    let _: () = redis::cmd("SET")
        .arg("mine")
        .arg("local")
        .query(&mut r)
        .expect("a write of its own");
    let _ = redis::cmd("SHUTDOWN").query::<Value>(&mut r);
    replica.wait_exit();
    write_mixed(&mut m, "meanwhile");
    let full = stat(&mut m, "sync_full");

    replica.restart();
    let mut r = replica.client();
    replicate(&mut r, master.port);
    wait_for_offset(&mut m, &mut r);
    assert_eq!(stat(&mut m, "sync_full"), full + 1);
    assert_eq!(contents(&mut r), contents(&mut m));
}

/// A fake master for a Redstone replica: a listener that answers the
/// replica's handshake, then sends whatever a test wants.
struct FakeMaster {
    listener: std::net::TcpListener,
}

/// The fake master's replication id.
const FAKE_ID: &str = "fa4efa4efa4efa4efa4efa4efa4efa4efa4efa4e";

impl FakeMaster {
    fn start() -> FakeMaster {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        FakeMaster { listener }
    }

    fn port(&self) -> u16 {
        self.listener.local_addr().expect("address").port()
    }

    /// Accepts the replica's next link, answers PING and REPLCONF, and
    /// returns the link with the arguments of its PSYNC, after answering
    /// `+FULLRESYNC <FAKE_ID> 0`.
    fn full_resync(&self) -> (std::net::TcpStream, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut link = loop {
            match self.listener.accept() {
                Ok((link, _)) => break link,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the replica did not connect");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        link.set_nonblocking(false).expect("blocking");
        link.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        loop {
            let command = read_command(&mut link);
            let reply = match command[0].to_ascii_lowercase().as_str() {
                "ping" => "+PONG\r\n".to_string(),
                "replconf" => "+OK\r\n".to_string(),
                "psync" => format!("+FULLRESYNC {FAKE_ID} 0\r\n"),
                other => panic!("unexpected {other} in the handshake"),
            };
            send(&mut link, reply.as_bytes());
            if command[0].eq_ignore_ascii_case("psync") {
                return (link, command);
            }
        }
    }
}

fn send(link: &mut std::net::TcpStream, bytes: &[u8]) {
    use std::io::Write;
    link.write_all(bytes).expect("send");
}

/// One RESP command (an array of bulk strings) read from `link`.
fn read_command(link: &mut std::net::TcpStream) -> Vec<String> {
    let count: usize = read_line(link)
        .strip_prefix('*')
        .and_then(|n| n.parse().ok())
        .expect("a command");
    (0..count)
        .map(|_| {
            let len: usize = read_line(link)
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .expect("a bulk string");
            let arg = read_line(link);
            assert_eq!(arg.len(), len);
            arg
        })
        .collect()
}

fn read_line(link: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut line = Vec::new();
    let mut byte = [0u8];
    while !line.ends_with(b"\r\n") {
        link.read_exact(&mut byte).expect("a line from the replica");
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).expect("text")
}

/// Waits until the replica closes `link` (what it sends meanwhile, ACKs,
/// is dropped).
fn wait_closed(link: &mut std::net::TcpStream) {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match link.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(_) => {}
        }
        assert!(Instant::now() < deadline, "the replica kept the link");
    }
}

/// A string key of an RDB file: database, key, value, deadline (unix ms).
type Key = (usize, String, String, Option<u64>);

/// An RDB file of `keys`.
fn rdb_file(keys: &[Key]) -> Vec<u8> {
    use redstone::rdb::file::Writer;
    let mut writer = Writer::new();
    let mut out = Vec::new();
    writer.header(&mut out, 0, &[]);
    let mut selected = None;
    for (db, key, value, expire_at) in keys {
        if selected != Some(*db) {
            writer.select_db(&mut out, *db);
            selected = Some(*db);
        }
        let value = redstone::rdb::Value::String(value.clone().into());
        writer.entry(&mut out, key.as_bytes(), &value, *expire_at);
    }
    writer.finish(&mut out);
    out
}

/// 3000 keys of 100 bytes in database 0: more than one load batch.
fn big_keys() -> Vec<Key> {
    (0..3000)
        .map(|i| (0, format!("big:{i}"), format!("{i:0100}"), None))
        .collect()
}

/// What the good sync brings: keys in databases 0 and 2, one with a TTL.
fn good_keys() -> Vec<Key> {
    let in_a_day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64 + 86_400_000)
        .expect("clock");
    vec![
        (0, "good:a".into(), "1".into(), None),
        (0, "good:ttl".into(), "2".into(), Some(in_a_day)),
        (2, "good:b".into(), "3".into(), None),
    ]
}

/// Every key of databases 0 to 3 with its value and whether it has a TTL.
/// A key listed and then gone means a sync switched the data in between:
/// the reading starts again.
fn strings(c: &mut Connection) -> Vec<String> {
    loop {
        if let Some(strings) = strings_unless_switched(c) {
            return strings;
        }
    }
}

fn strings_unless_switched(c: &mut Connection) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for db in 0..4 {
        let _: () = redis::cmd("SELECT").arg(db).query(c).expect("select");
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(c).expect("keys");
        keys.sort();
        for key in keys {
            let value: Option<String> = redis::cmd("GET").arg(&key).query(c).expect("get");
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(c).expect("pttl");
            out.push(format!("{db} {key} {} ttl={}", value?, ttl > 0));
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(c).expect("select");
    Some(out)
}

fn expected(keys: &[Key]) -> Vec<String> {
    let mut out: Vec<String> = keys
        .iter()
        .map(|(db, key, value, ttl)| format!("{db} {key} {value} ttl={}", ttl.is_some()))
        .collect();
    out.sort();
    out
}

/// The replica's data before it replicates: two keys, in databases 0 and 3.
fn old_keys() -> Vec<Key> {
    vec![
        (0, "old:a".into(), "x".into(), None),
        (3, "old:b".into(), "y".into(), None),
    ]
}

/// A replica with `old_keys`, following a fake master whose first full
/// sync sends `first`, a part at a time (then closes the link if `close`).
/// That sync must fail without the replica ever serving anything but its
/// old data (checked after each part, while a truncated file is still
/// loading too), or, with `loads`, but that file, continued up to the
/// offset given, and log `reason`. It must reconnect, and its second full
/// sync (a good file) must leave it with exactly that file's data.
fn bad_first_sync(first: &[&[u8]], close: bool, loads: Option<(&[Key], u64)>, reason: &str) {
    let replica = Server::start(&[]);
    let mut r = replica.client();
    for (db, key, value, _) in old_keys() {
        let _: Value = redis::pipe()
            .cmd("SELECT")
            .arg(db)
            .cmd("SET")
            .arg(key)
            .arg(value)
            .cmd("SELECT")
            .arg(0)
            .query(&mut r)
            .expect("old data");
    }
    let fake = FakeMaster::start();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(fake.port())
        .query(&mut r)
        .expect("replicaof");

    let (mut link, psync) = fake.full_resync();
    let before = match loads {
        Some((file, _)) => expected(file),
        None => expected(&old_keys()),
    };
    // While it loads, and after: the old data whole, nothing half-loaded.
    for part in first {
        send(&mut link, part);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(strings(&mut r), before, "while the first sync is handled");
    }
    if close {
        // Still loading (the file is not all there): old data served, but
        // what Redis refuses during an async load is refused.
        assert_eq!(
            info_field(&mut r, "persistence", "async_loading").as_deref(),
            Some("1")
        );
        let refused: redis::RedisResult<()> =
            redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r);
        let refused = refused.expect_err("REPLICAOF while loading");
        assert_eq!(refused.code(), Some("LOADING"), "{refused}");
        drop(link);
    } else {
        wait_closed(&mut link);
    }
    let (mut link, again) = fake.full_resync();
    assert_eq!(strings(&mut r), before, "after the first sync failed");
    assert_eq!(
        info_field(&mut r, "persistence", "async_loading").as_deref(),
        Some("0")
    );
    match loads {
        // The file was loaded: the replica continues the fake's history.
        Some((_, offset)) => {
            assert_eq!(again, ["PSYNC", FAKE_ID, &(offset + 1).to_string()])
        }
        None => assert_eq!(again, psync, "the same history and offset again"),
    }

    let good = good_keys();
    // Framed by an end mark, with a command right behind it in one write.
    let mark = "5eba5eba5eba5eba5eba5eba5eba5eba5eba5eba";
    let command = b"*3\r\n$3\r\nSET\r\n$8\r\ngood:cmd\r\n$1\r\n4\r\n";
    let mut good_sync = format!("$EOF:{mark}\r\n").into_bytes();
    good_sync.extend_from_slice(&rdb_file(&good));
    good_sync.extend_from_slice(mark.as_bytes());
    good_sync.extend_from_slice(command);
    send(&mut link, &good_sync);
    let mut want = good.clone();
    want.push((0, "good:cmd".into(), "4".into(), None));
    let want = expected(&want);
    wait_for("the good sync and a command", || strings(&mut r) == want);
    let at = command.len() as u64;
    assert_eq!(offset(&mut r), at, "the offset after the command");
    let logged = replica.log_lines().join("\n");
    assert!(
        logged.contains(reason),
        "{reason:?} not in the log:\n{logged}"
    );
}

/// A sync whose RDB stops halfway, after `header` (its framing line).
fn truncated_sync(header: impl FnOnce(usize) -> String) {
    let file = rdb_file(&big_keys());
    let mut first = header(file.len()).into_bytes();
    first.extend_from_slice(&file[..file.len() / 2]);
    bad_first_sync(
        &[&first],
        true,
        None,
        "the master closed the link during the sync",
    );
}

#[test]
fn a_truncated_rdb_keeps_the_old_data() {
    truncated_sync(|length| format!("${length}\r\n"));
}

#[test]
fn a_truncated_rdb_with_an_end_mark_keeps_the_old_data() {
    truncated_sync(|_| "$EOF:0123456789012345678901234567890123456789\r\n".to_string());
}

#[test]
fn a_length_shorter_than_its_rdb_fails_without_waiting() {
    let file = rdb_file(&big_keys());
    let half = &file[..file.len() / 2];
    let mut first = format!("${}\r\n", half.len()).into_bytes();
    first.extend_from_slice(half);
    // Stream bytes follow; the link stays open.
    first.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    bad_first_sync(
        &[&first],
        false,
        None,
        "the snapshot ended before its RDB file did",
    );
}

#[test]
fn garbage_instead_of_an_rdb_keeps_the_old_data() {
    bad_first_sync(&[b"$10\r\n0123456789"], false, None, "the snapshot: ");
}

#[test]
fn a_bad_rdb_header_line_keeps_the_old_data() {
    bad_first_sync(
        &[b"*1\r\n$4\r\nPING\r\n"],
        false,
        None,
        "Bad protocol from MASTER",
    );
}

#[test]
fn garbage_in_the_stream_after_a_good_rdb_drops_the_link() {
    let first_keys = vec![(1, "first:k".to_string(), "v".to_string(), None)];
    let file = rdb_file(&first_keys);
    // What the declared length holds after the file is ignored, as
    // redis-server's rdbLoad ignores it; a PING, then garbage.
    let junk = b"*3\r\n$3\r\nSET\r\n$4\r\njunk\r\n$1\r\n1\r\n";
    let ping = b"*1\r\n$4\r\nPING\r\n";
    let mut first = format!("${}\r\n", file.len() + junk.len()).into_bytes();
    first.extend_from_slice(&file);
    first.extend_from_slice(junk);
    first.extend_from_slice(ping);
    let loads = Some((&first_keys[..], ping.len() as u64));
    bad_first_sync(&[&first, b"*x\r\n"], false, loads, "the master's stream: ");
}

fn query_error(c: &mut Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    match cmd.query::<Value>(c) {
        Ok(value) => panic!("{args:?} answered {value:?}, not an error"),
        // The error line as sent, which the crate splits in two.
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

#[test]
fn a_replica_authenticates_with_masterauth_and_masteruser() {
    let master = Server::start(&["--requirepass", "s3cret"]);
    let replica = Server::start(&["--masterauth", "s3cret", "--masteruser", "default"]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    let mut m = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}", master.port))
        .and_then(|client| client.get_connection())
        .expect("the master");
    write_mixed(&mut m, "auth");
    wait_for_offset(&mut m, &mut r);
    assert_eq!(contents(&mut r), contents(&mut m));

    // Without the password the link never comes up, and the log says why.
    let stranger = Server::start(&[]);
    let mut s = stranger.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut s)
        .expect("replicaof");
    wait_for("the refusal in the log", || {
        stranger
            .log_lines()
            .iter()
            .any(|line| line.contains("Unable to AUTH to MASTER") || line.contains("NOAUTH"))
    });
    assert_eq!(
        info_field(&mut s, "replication", "master_link_status").as_deref(),
        Some("down")
    );
}

#[test]
fn min_replicas_to_write_refuses_writes_until_a_replica_acknowledges() {
    let master = Server::start(&[
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "10",
    ]);
    let mut m = master.client();
    assert_eq!(
        query_error(&mut m, &["SET", "k", "v"]),
        "NOREPLICAS Not enough good replicas to write."
    );
    let _: () = redis::cmd("MULTI").query(&mut m).expect("multi");
    assert!(query_error(&mut m, &["SET", "k", "v"]).starts_with("NOREPLICAS"));
    assert!(query_error(&mut m, &["EXEC"]).starts_with("EXECABORT"));
    assert_eq!(
        info_field(&mut m, "replication", "min_slaves_good_slaves").as_deref(),
        Some("0")
    );
    let replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    wait_for("a good replica", || {
        info_field(&mut m, "replication", "min_slaves_good_slaves").as_deref() == Some("1")
    });
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut m)
        .expect("a write");
    // Reads never needed the replica.
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut m).expect("a read");
}

#[test]
fn a_writable_replica_keeps_its_own_writes_out_of_the_stream() {
    let master = Server::start(&[]);
    let replica = Server::start(&["--replica-read-only", "no"]);
    let mut m = master.client();
    let mut r = replica.client();
    replicate(&mut r, master.port);
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg("1")
        .query(&mut m)
        .expect("set");
    wait_for_offset(&mut m, &mut r);
    let _: () = redis::cmd("SET")
        .arg("local")
        .arg("x")
        .query(&mut r)
        .expect("a local write");
    assert_eq!(
        info_field(&mut r, "replication", "slave_read_only").as_deref(),
        Some("0")
    );
    // The replica's offset is still its master's: the write stayed local.
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg("2")
        .query(&mut m)
        .expect("set");
    wait_for_offset(&mut m, &mut r);
    assert_eq!(offset(&mut r), offset(&mut m));
    let b: Option<String> = redis::cmd("GET").arg("b").query(&mut r).expect("get");
    assert_eq!(b.as_deref(), Some("2"));

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-read-only")
        .arg("yes")
        .query(&mut r)
        .expect("config set");
    assert_eq!(
        query_error(&mut r, &["SET", "k", "v"]),
        "READONLY You can't write against a read only replica."
    );
}

#[test]
fn a_replica_that_lost_its_master_answers_masterdown_without_stale_data() {
    let master = Server::start(&[]);
    let replica = Server::start(&["--replica-serve-stale-data", "no"]);
    let mut r = replica.client();
    replicate(&mut r, master.port);
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut r).expect("link up");
    drop(master);
    wait_for("the link to drop", || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("down")
    });
    assert_eq!(
        query_error(&mut r, &["GET", "k"]),
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    );
    // Commands flagged `stale` (INFO, REPLICAOF) are still served; as in
    // Redis 7, PING is not one of them.
    assert!(query_error(&mut r, &["PING"]).starts_with("MASTERDOWN"));
    let _: String = redis::cmd("INFO").query(&mut r).expect("info");
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut r)
        .expect("promote");
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut r).expect("a master");
}

#[test]
fn the_backlog_size_is_a_setting() {
    let master = Server::start(&["--repl-backlog-size", "64kb"]);
    let mut m = master.client();
    assert_eq!(
        info_field(&mut m, "replication", "repl_backlog_size").as_deref(),
        Some("65536")
    );
    for i in 0..2000 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut m)
            .expect("set");
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-backlog-size")
        .arg("1000")
        .query(&mut m)
        .expect("config set");
    assert_eq!(
        info_field(&mut m, "replication", "repl_backlog_histlen").as_deref(),
        Some("1000"),
        "the newest bytes that fit are kept"
    );
}

#[test]
fn a_full_sync_shows_its_progress_in_info_and_the_log() {
    let replica = Server::start(&[]);
    let mut r = replica.client();
    let fake = FakeMaster::start();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(fake.port())
        .query(&mut r)
        .expect("replicaof");
    let (mut link, _) = fake.full_resync();
    let file = rdb_file(&big_keys());
    let half = file.len() / 2;
    send(&mut link, format!("${}\r\n", file.len()).as_bytes());
    send(&mut link, &file[..half]);
    let field = |r: &mut Connection, name: &str| info_field(r, "replication", name);
    wait_for("half the file read", || {
        field(&mut r, "master_sync_read_bytes") == Some(half.to_string())
    });
    assert_eq!(
        field(&mut r, "master_sync_in_progress").as_deref(),
        Some("1")
    );
    assert_eq!(
        field(&mut r, "master_sync_total_bytes"),
        Some(file.len().to_string())
    );
    assert_eq!(
        field(&mut r, "master_sync_left_bytes"),
        Some((file.len() - half).to_string())
    );
    let percent: f64 = field(&mut r, "master_sync_perc")
        .and_then(|p| p.parse().ok())
        .expect("a percentage");
    assert!((49.0..=51.0).contains(&percent), "{percent}");

    send(&mut link, &file[half..]);
    wait_for("the load to finish", || {
        field(&mut r, "master_sync_in_progress").as_deref() == Some("0")
    });
    assert_eq!(field(&mut r, "master_sync_read_bytes"), None);
    let logged = replica.log_lines().join("\n");
    assert!(logged.contains(&format!("receiving {} bytes from master", file.len())));
    assert!(logged.contains("loaded 3000 keys"), "{logged}");
}

#[test]
fn a_replica_that_stops_reading_is_dropped_after_repl_timeout() {
    let master = Server::start(&["--repl-timeout", "2"]);
    let mut m = master.client();
    // Far more than the socket buffers hold: the sync blocks on the replica.
    let value = "x".repeat(100_000);
    for i in 0..400 {
        let _: () = redis::cmd("SET")
            .arg(format!("big:{i}"))
            .arg(&value)
            .query(&mut m)
            .expect("set");
    }
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", master.port)).expect("connect");
    send(
        &mut stalled,
        b"REPLCONF capa eof capa psync2\r\nPSYNC ? -1\r\n",
    );
    wait_for("the replica to attach", || {
        info_field(&mut m, "replication", "connected_slaves").as_deref() == Some("1")
    });
    // It never reads: the master gives up on it.
    wait_for("the stalled replica to be dropped", || {
        info_field(&mut m, "replication", "connected_slaves").as_deref() == Some("0")
    });
    assert!(master
        .log_lines()
        .iter()
        .any(|line| line.contains("the replica stopped reading")));
    drop(stalled);
}
