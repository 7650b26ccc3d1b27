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
    assert_eq!(expected.len(), 26, "{} keys", expected.len());
    assert_eq!(contents(&mut r), expected);

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

#[test]
fn redstone_replicates_a_redis_server_master_its_encodings_and_its_stream() {
    let port = free_port();
    let Some(redis) = RealRedis::start_with(&["--port", &port.to_string()]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut m = redis.client();
    write_mixed(&mut m, "before");
    let replica = Server::start(&[]);
    let mut r = replica.client();
    replicate(&mut r, port);
    write_after_the_sync(&mut m);
    wait_for_offset(&mut m, &mut r);
    let expected = contents(&mut m);
    assert_eq!(expected.len(), 26, "{} keys", expected.len());
    assert_eq!(contents(&mut r), expected);

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
    let port = free_port();
    let Some(redis) = RealRedis::start_with(&["--port", &port.to_string()]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut m = redis.client();
    write_mixed(&mut m, "before");
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
