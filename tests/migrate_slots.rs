//! Whole-slot migration (CLUSTER MIGRATESLOTS) through the real binary:
//! under redis-py's RedisCluster writing and reading, with replicas on
//! both ends, and with either end killed halfway.

mod common;

use common::{has_redis_py, redis_cli, run_python_client, three_master_cluster, Server};
use redstone::slot::key_slot;
use std::process::Command;
use std::time::{Duration, Instant};

fn cli(port: u16, args: &[&str]) -> String {
    redis_cli(port, args)
        .expect("redis-cli is installed")
        .trim_end()
        .to_string()
}

fn myid(port: u16) -> String {
    cli(port, &["CLUSTER", "MYID"])
}

fn info_field(port: u16, field: &str) -> Option<String> {
    let info = cli(port, &["INFO", "cluster"]);
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// Starts `CLUSTER MIGRATESLOTS SLOTSRANGE first last NODE <to>` on `from`.
fn migrate_slots(from: u16, first: u16, last: u16, to: u16) {
    let (first, last) = (first.to_string(), last.to_string());
    let to = myid(to);
    let args = [
        "CLUSTER",
        "MIGRATESLOTS",
        "SLOTSRANGE",
        &first,
        &last,
        "NODE",
        &to,
    ];
    assert_eq!(cli(from, &args), "OK");
}

/// Waits until the migration started on `port` is over; its final state.
fn migration_end(port: u16) -> String {
    let start = Instant::now();
    loop {
        let state = info_field(port, "slot_migration_state").expect("a migration");
        if state == "done" || state == "failed" {
            return state;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the migration did not end"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn keys_in_slots(port: u16, slots: std::ops::RangeInclusive<u16>) -> usize {
    slots
        .map(|slot| {
            cli(port, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()])
                .parse::<usize>()
                .expect("count")
        })
        .sum()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_ok(port: u16) {
    let address = format!("127.0.0.1:{port}");
    wait_for("redis-cli --cluster check stays unhappy", || {
        let out = Command::new("redis-cli")
            .args(["--cluster", "check", &address])
            .output()
            .expect("redis-cli");
        let out = String::from_utf8_lossy(&out.stdout);
        out.contains("[OK] All nodes agree about slots configuration.")
            && out.contains("[OK] All 16384 slots covered.")
            && !out.contains("[WARNING]")
            && !out.contains("[ERR]")
    });
}

/// `count` keys of `size` bytes, all in `slots`, written pipelined to
/// `port`; their names.
fn fill(port: u16, slots: std::ops::RangeInclusive<u16>, count: usize, size: usize) -> Vec<String> {
    let keys: Vec<String> = (0..)
        .map(|i| format!("key:{i}"))
        .filter(|k| slots.contains(&key_slot(k.as_bytes())))
        .take(count)
        .collect();
    let mut connection = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .expect("connect");
    for chunk in keys.chunks(1000) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.set(key, format!("{key}:{}", "x".repeat(size)))
                .ignore();
        }
        let () = pipe.query(&mut connection).expect("fill");
    }
    keys
}

/// redis-py's RedisCluster writes and reads through a whole-slot migration
/// of 300 slots (tests/clients/redis_py_reshard.py --migrateslots) with no
/// error and no lost write; afterwards the slots' keys are all on the
/// target and the source deleted its copies.
#[test]
fn migrateslots_moves_slots_under_a_redis_py_cluster_client() {
    if !has_redis_py() {
        return;
    }
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let (a, b) = (nodes[0].port, nodes[1].port);
    let mut args = vec!["--migrateslots".to_string()];
    args.extend(nodes.iter().map(|n| n.port.to_string()));
    run_python_client("redis_py_reshard.py", &args);
    assert_eq!(migration_end(a), "done");
    check_ok(a);
    assert!(keys_in_slots(b, 0..=299) > 0, "no key reached the target");
    wait_for("the source keeps keys of slots it gave away", || {
        keys_in_slots(a, 0..=299) == 0
    });
    let sent: u64 = info_field(a, "slot_migration_keys_sent")
        .and_then(|n| n.parse().ok())
        .expect("keys sent");
    assert!(sent > 0);
    // The slots are the target's, and a second migration of them is refused.
    let to = myid(b);
    assert_eq!(
        cli(
            a,
            &[
                "CLUSTER",
                "MIGRATESLOTS",
                "SLOTSRANGE",
                "0",
                "0",
                "NODE",
                &to
            ]
        ),
        "ERR I'm not the owner of hash slot 0"
    );
}

/// Replicas of both masters follow: the target's get the keys it loaded
/// (all types, TTLs), the source's lose them.
#[test]
fn replicas_of_both_ends_follow_a_whole_slot_migration() {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        return;
    }
    let nodes: Vec<Server> = (0..6).map(|_| Server::start_cluster_node(&[])).collect();
    let mut args = vec!["--cluster".to_string(), "create".to_string()];
    args.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
    args.extend(["--cluster-replicas", "1", "--cluster-yes"].map(String::from));
    let out = Command::new("redis-cli")
        .args(&args)
        .output()
        .expect("create");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[OK] All 16384 slots covered."),
        "{out:?}"
    );
    for node in &nodes {
        wait_for("cluster_state never ok", || {
            cli(node.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        });
    }
    let masters: Vec<u16> = (nodes.iter())
        .filter(|n| cli(n.port, &["ROLE"]).starts_with("master"))
        .map(|n| n.port)
        .collect();
    assert_eq!(masters.len(), 3);
    let (a, b) = (masters[0], masters[1]);
    let a_slots = |port: u16| {
        let nodes = cli(port, &["CLUSTER", "NODES"]);
        let line = nodes
            .lines()
            .find(|l| l.contains("myself"))
            .expect("myself");
        let range = line.split(' ').nth(8).expect("a slot range").to_string();
        let (first, last) = range.split_once('-').expect("first-last");
        (
            first.parse::<u16>().expect("first"),
            last.parse::<u16>().expect("last"),
        )
    };
    let (first, last) = a_slots(a);
    let moved = first..=first + 999;
    let tags = (0..)
        .map(|i| format!("{{t{i}}}"))
        .filter(|tag| moved.contains(&key_slot(tag.as_bytes())))
        .take(40);
    for key in tags {
        cli(a, &["SET", &format!("{key}s"), "v", "EX", "1000"]);
        cli(a, &["HSET", &format!("{key}h"), "f", "1", "g", "2"]);
        cli(a, &["RPUSH", &format!("{key}l"), "1", "2", "3"]);
        cli(a, &["SADD", &format!("{key}e"), "x", "y"]);
        cli(a, &["ZADD", &format!("{key}z"), "1", "x", "2.5", "y"]);
    }
    assert_eq!(cli(a, &["DBSIZE"]), "200");
    assert!(last > first + 999);
    migrate_slots(a, first, first + 999, b);
    assert_eq!(migration_end(a), "done");
    // Everything a node holds, as text; replicas answer after READONLY.
    let dump = |port: u16| {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
            .expect("connect");
        let () = redis::cmd("READONLY").query(&mut c).expect("readonly");
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
        keys.sort();
        keys.into_iter()
            .map(|k| {
                // A replica still holding a moved key (its master's deletion
                // not yet replicated) answers MOVED for it: a difference that
                // the caller waits out, not a failure.
                let kind: String = match redis::cmd("TYPE").arg(&k).query(&mut c) {
                    Ok(kind) => kind,
                    Err(e) => return format!("{k} unreadable: {e}"),
                };
                let mut read = |name: &str, extra: &[&str]| -> Vec<String> {
                    redis::cmd(name)
                        .arg(&k)
                        .arg(extra)
                        .query(&mut c)
                        .unwrap_or_else(|e| vec![format!("unreadable: {e}")])
                };
                let mut value = match kind.as_str() {
                    "string" => read("GET", &[]),
                    "hash" => read("HGETALL", &[]),
                    "list" => read("LRANGE", &["0", "-1"]),
                    "set" => read("SMEMBERS", &[]),
                    _ => read("ZRANGE", &["0", "-1", "WITHSCORES"]),
                };
                if kind == "set" || kind == "hash" {
                    value.sort();
                }
                let ttl: i64 = redis::cmd("TTL").arg(&k).query(&mut c).unwrap_or(-3);
                format!("{k} {kind} {value:?} {}", ttl > 0)
            })
            .collect::<Vec<_>>()
    };
    wait_for("the source keeps the moved keys", || {
        cli(a, &["DBSIZE"]) == "0"
    });
    let on_b = dump(b);
    assert!(on_b.iter().any(|k| k.contains(" zset ")), "{on_b:?}");
    assert!(on_b.iter().any(|k| k.ends_with(" true")), "TTLs: {on_b:?}");
    for replica in nodes.iter().filter(|n| !masters.contains(&n.port)) {
        let info = cli(replica.port, &["INFO", "replication"]);
        let master: u16 = (info.lines())
            .find_map(|l| l.strip_prefix("master_port:"))
            .and_then(|p| p.trim().parse().ok())
            .expect("master_port");
        wait_for("a replica differs from its master", || {
            dump(replica.port) == dump(master)
        });
    }
    check_ok(a);
}

/// A three-master cluster whose first master is moving slots 0..=5000
/// (20,000 strings of 4 KB, and 200 small hashes among them) to the
/// second, which has loaded some of them and is paused (SIGSTOP): the
/// migration cannot get past its snapshot until that node answers again.
///
/// The target ingests strings 64 MB at a time but writes hashes as they
/// come, so the hashes show it has begun early, not 64 MB in.
fn halfway_through_a_migration() -> Option<(Vec<Server>, Vec<String>)> {
    let nodes = three_master_cluster(&[])?;
    let (a, b) = (nodes[0].port, nodes[1].port);
    let mut keys = fill(a, 0..=5000, 20_000, 4000);
    let mut connection = nodes[0].client();
    let hashes = (0..)
        .map(|i| format!("hash:{i}"))
        .filter(|k| key_slot(k.as_bytes()) <= 5000)
        .take(200);
    for hash in hashes {
        let added: i64 = redis::cmd("HSET")
            .arg(&hash)
            .arg("field")
            .arg("value")
            .query(&mut connection)
            .expect("HSET");
        assert_eq!(added, 1);
        keys.push(hash);
    }
    migrate_slots(a, 0, 5000, b);
    wait_for("nothing reached the target", || {
        cli(b, &["DBSIZE"]).parse::<usize>().expect("dbsize") > 0
    });
    nodes[1].pause();
    assert_eq!(
        info_field(a, "slot_migration_state").as_deref(),
        Some("snapshot"),
        "the migration got past its snapshot before the target was paused"
    );
    Some((nodes, keys))
}

/// `kill -9` of the target halfway: the source keeps the slots and every
/// key; the restarted target deletes what it had loaded (its marker).
#[test]
fn a_target_killed_during_a_whole_slot_migration_leaves_the_slots_with_the_source() {
    let Some((mut nodes, keys)) = halfway_through_a_migration() else {
        return;
    };
    let (a, b) = (nodes[0].port, nodes[1].port);
    nodes[1].kill9();
    assert_eq!(migration_end(a), "failed", "it ended before the kill");
    assert!(info_field(a, "slot_migration_error").is_some());
    assert_eq!(cli(a, &["DBSIZE"]), keys.len().to_string());
    assert_eq!(cli(a, &["SET", &keys[0], "written after"]), "OK");
    nodes[1].restart();
    wait_for("the restarted target keeps what it loaded", || {
        redis_cli(b, &["DBSIZE"]).is_some_and(|n| n.trim() == "0")
    });
    check_ok(a);
    assert_eq!(keys_in_slots(a, 0..=5000), keys.len());
    assert_eq!(cli(a, &["GET", &keys[0]]), "written after");
}

/// `kill -9` of the source halfway: the target drops what it loaded when
/// the connection goes; the restarted source still serves every key.
#[test]
fn a_source_killed_during_a_whole_slot_migration_keeps_its_slots() {
    let Some((mut nodes, keys)) = halfway_through_a_migration() else {
        return;
    };
    let (a, b) = (nodes[0].port, nodes[1].port);
    nodes[0].kill9();
    nodes[1].resume();
    wait_for("the target keeps what an unfinished import loaded", || {
        cli(b, &["DBSIZE"]) == "0"
    });
    nodes[0].restart();
    check_ok(b);
    assert_eq!(keys_in_slots(a, 0..=5000), keys.len());
    for key in keys.iter().filter(|k| k.starts_with("key:")).step_by(997) {
        assert!(cli(b, &["-c", "GET", key]).starts_with(&format!("{key}:")));
    }
}
