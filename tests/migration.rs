//! Moving keys and slots through the real binary: MIGRATE (its replies are
//! what redis-server 7.0.15 answers to the same requests), to and from a
//! real redis-server, ASK / ASKING / TRYAGAIN while a slot is open, and
//! `redis-cli --cluster reshard`, `rebalance`, `add-node` and `del-node`
//! with data, while redis-py's RedisCluster reads and writes.

mod common;

use common::real_redis::RealRedis;
use common::{has_redis_py, redis_cli, run_python_client, three_master_cluster, Server};
use std::process::Command;
use std::time::{Duration, Instant};

fn cli(port: u16, args: &[&str]) -> String {
    redis_cli(port, args)
        .expect("redis-cli is installed")
        .trim_end()
        .to_string()
}

fn have_redis_cli() -> bool {
    let found = Command::new("redis-cli").arg("--version").output().is_ok();
    if !found {
        eprintln!("note: redis-cli is not installed; skipping this test");
    }
    found
}

/// `MIGRATE 127.0.0.1 <to> ...` on `from`, as redis-cli prints the reply.
fn migrate(from: u16, to: u16, rest: &[&str]) -> String {
    let to = to.to_string();
    let mut args = vec!["MIGRATE", "127.0.0.1", to.as_str()];
    args.extend_from_slice(rest);
    cli(from, &args)
}

#[test]
fn migrate_moves_keys_with_their_ttls_and_answers_as_redis_does() {
    if !have_redis_cli() {
        return;
    }
    let source = Server::start(&[]);
    let target = Server::start(&[]);
    let (s, t) = (source.port, target.port);
    cli(s, &["SET", "a", "1"]);
    cli(s, &["RPUSH", "l", "x", "y", "z"]);
    cli(s, &["SET", "t", "v", "PX", "100000"]);

    assert_eq!(migrate(s, t, &["a", "0", "1000"]), "OK");
    assert_eq!(
        migrate(s, t, &["", "0", "1000", "KEYS", "l", "t", "nothere"]),
        "OK"
    );
    assert_eq!(migrate(s, t, &["nothere", "0", "1000"]), "NOKEY");
    assert_eq!(cli(s, &["DBSIZE"]), "0");
    assert_eq!(cli(t, &["LRANGE", "l", "0", "-1"]), "x\ny\nz");
    let ttl: i64 = cli(t, &["PTTL", "t"]).parse().expect("pttl");
    assert!((90_000..=100_000).contains(&ttl), "ttl {ttl}");

    // The same key again: the target refuses, REPLACE and COPY overwrite
    // it and keep the source's.
    cli(s, &["SET", "a", "2"]);
    assert_eq!(
        migrate(s, t, &["a", "0", "1000"]),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    assert_eq!(migrate(s, t, &["a", "0", "1000", "COPY", "REPLACE"]), "OK");
    assert_eq!(cli(s, &["GET", "a"]), "2");
    assert_eq!(cli(t, &["GET", "a"]), "2");
    // Into another database of the target, with the link's SELECT.
    assert_eq!(migrate(s, t, &["a", "3", "1000"]), "OK");
    assert_eq!(cli(t, &["-n", "3", "GET", "a"]), "2");

    cli(s, &["SET", "a", "3"]);
    let closed = free_port();
    assert_eq!(
        migrate(s, closed, &["a", "0", "1000"]),
        "IOERR error or timeout writing to target instance"
    );
    assert_eq!(
        migrate(s, t, &["a", "0", "1000", "AUTH", "x"]),
        "ERR Target instance replied with error: ERR AUTH <password> called without any \
         password configured for the default user. Are you sure your configuration is correct?"
    );
    assert_eq!(
        migrate(s, t, &["a", "0", "1000", "KEYS", "a"]),
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
    );
    assert_eq!(
        migrate(s, t, &["a", "0", "1000", "foo"]),
        "ERR syntax error"
    );
    assert_eq!(
        migrate(s, t, &["a", "x", "1000"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(cli(s, &["GET", "a"]), "3", "a failed MIGRATE kept the key");
}

/// Keys move between Redstone and a real redis-server in both directions:
/// each side's RESTORE reads the other's DUMP format.
#[test]
fn migrate_to_and_from_a_real_redis_server() {
    if !have_redis_cli() {
        return;
    }
    let r = free_port();
    let Some(_redis) = RealRedis::start_with(&["--port", &r.to_string()]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let ours = Server::start(&[]);
    let o = ours.port;
    cli(o, &["HSET", "h", "f1", "v1", "f2", "v2"]);
    cli(o, &["ZADD", "z", "1", "a", "2.5", "b"]);
    cli(o, &["SADD", "s", "1", "2", "3"]);
    cli(o, &["SET", "str", "hello", "EX", "500"]);
    assert_eq!(
        migrate(o, r, &["", "0", "1000", "KEYS", "h", "z", "s", "str"]),
        "OK"
    );
    assert_eq!(cli(o, &["DBSIZE"]), "0");
    assert_eq!(cli(r, &["HGETALL", "h"]), "f1\nv1\nf2\nv2");
    assert_eq!(
        cli(r, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "a\n1\nb\n2.5"
    );
    assert_eq!(cli(r, &["SMEMBERS", "s"]), "1\n2\n3");
    assert!(cli(r, &["TTL", "str"]).parse::<i64>().expect("ttl") > 490);

    // And back: redis-server sends its own encodings (listpack, intset).
    assert_eq!(
        migrate(r, o, &["", "0", "1000", "KEYS", "h", "z", "s", "str"]),
        "OK"
    );
    assert_eq!(cli(r, &["DBSIZE"]), "0");
    assert_eq!(cli(o, &["HGETALL", "h"]), "f1\nv1\nf2\nv2");
    assert_eq!(
        cli(o, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        "a\n1\nb\n2.5"
    );
    assert_eq!(cli(o, &["SMEMBERS", "s"]), "1\n2\n3");
    assert_eq!(cli(o, &["GET", "str"]), "hello");
}

fn myid(port: u16) -> String {
    cli(port, &["CLUSTER", "MYID"])
}

/// An open slot, set up by hand as redis-cli does: while slot 5061
/// ("{bar}") moves from its owner to another master, the owner serves the
/// keys it still has, sends ASK for those it does not, and TRYAGAIN for a
/// request that needs both; the importer serves only after ASKING.
#[test]
fn an_open_slot_asks_for_moved_keys_and_the_importer_serves_after_asking() {
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let slot = "5061";
    let from = (nodes.iter())
        .position(|n| cli(n.port, &["SET", "{bar}here", "1"]) == "OK")
        .expect("the slot's owner");
    let to = (from + 1) % 3;
    let (f, t) = (nodes[from].port, nodes[to].port);
    cli(f, &["SET", "{bar}moved", "2"]);
    assert_eq!(
        cli(t, &["CLUSTER", "SETSLOT", slot, "IMPORTING", &myid(f)]),
        "OK"
    );
    assert_eq!(
        cli(f, &["CLUSTER", "SETSLOT", slot, "MIGRATING", &myid(t)]),
        "OK"
    );
    assert_eq!(migrate(f, t, &["{bar}moved", "0", "1000"]), "OK");

    assert_eq!(cli(f, &["GET", "{bar}here"]), "1");
    assert_eq!(
        cli(f, &["GET", "{bar}moved"]),
        format!("ASK {slot} 127.0.0.1:{t}")
    );
    assert_eq!(
        cli(f, &["SET", "{bar}new", "3"]),
        format!("ASK {slot} 127.0.0.1:{t}")
    );
    assert_eq!(
        cli(f, &["MGET", "{bar}here", "{bar}moved"]),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    // The importer redirects back unless asked; ASKING lasts one command.
    assert_eq!(
        cli(t, &["GET", "{bar}moved"]),
        format!("MOVED {slot} 127.0.0.1:{f}")
    );
    let asked = Command::new("redis-cli")
        .args(["-p", &t.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(
                b"ASKING\nGET {bar}moved\nGET {bar}moved\nASKING\nMGET {bar}moved {bar}here\n",
            )?;
            drop(stdin);
            child.wait_with_output()
        })
        .expect("redis-cli");
    let replies = (String::from_utf8_lossy(&asked.stdout).lines())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        replies,
        format!(
            "OK\n2\nMOVED {slot} 127.0.0.1:{f}\nOK\n\
             TRYAGAIN Multiple keys request during rehashing of slot"
        )
    );
    assert_eq!(
        cli(f, &["CLUSTER", "SETSLOT", slot, "NODE", &myid(t)]),
        format!(
            "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
        )
    );
    assert_eq!(migrate(f, t, &["{bar}here", "0", "1000"]), "OK");
    assert_eq!(
        cli(t, &["CLUSTER", "SETSLOT", slot, "NODE", &myid(t)]),
        "OK"
    );
    assert_eq!(
        cli(f, &["CLUSTER", "SETSLOT", slot, "NODE", &myid(t)]),
        "OK"
    );
    assert_eq!(
        cli(f, &["GET", "{bar}here"]),
        format!("MOVED {slot} 127.0.0.1:{t}")
    );
    assert_eq!(cli(t, &["MGET", "{bar}here", "{bar}moved"]), "1\n2");
    let start = Instant::now();
    let third = nodes[(from + 2) % 3].port;
    while cli(third, &["GET", "{bar}here"]) != format!("MOVED {slot} 127.0.0.1:{t}") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the third node never learned the new owner"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every node reports `cluster_state:ok` (a node that just
/// started or joined answers CLUSTERDOWN for a moment, as Redis does).
fn wait_state_ok(ports: &[u16]) {
    let start = Instant::now();
    while !ports
        .iter()
        .all(|&p| cli(p, &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "cluster_state never ok"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port nothing listens on (bound by the OS, then released).
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr").port()
}

/// How many keys the nodes hold together.
fn total_keys(nodes: &[Server]) -> usize {
    (nodes.iter())
        .map(|n| cli(n.port, &["DBSIZE"]).parse::<usize>().expect("dbsize"))
        .sum()
}

fn cluster_tool(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("--cluster")
        .args(args)
        .output()
        .expect("run redis-cli --cluster");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn check_ok(port: u16) {
    let address = format!("127.0.0.1:{port}");
    let start = Instant::now();
    loop {
        let out = cluster_tool(&["check", &address]);
        if out.contains("[OK] All nodes agree about slots configuration.")
            && out.contains("[OK] All 16384 slots covered.")
            && !out.contains("[WARNING]")
            && !out.contains("[ERR]")
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "check failed:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `redis-cli --cluster reshard` moves 300 slots with their keys while
/// redis-py's RedisCluster writes and reads through it
/// (tests/clients/redis_py_reshard.py), with no error and no lost write.
#[test]
fn reshard_moves_slots_under_a_redis_py_cluster_client() {
    if !has_redis_py() {
        return;
    }
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let ports: Vec<String> = nodes.iter().map(|n| n.port.to_string()).collect();
    run_python_client("redis_py_reshard.py", &ports);
    check_ok(nodes[0].port);
    let moved: usize = (0..300)
        .map(|slot| {
            cli(
                nodes[1].port,
                &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()],
            )
            .parse::<usize>()
            .expect("count")
        })
        .sum();
    assert!(
        moved > 0,
        "no key of the first 300 slots reached the target"
    );
}

/// A fourth node joins with `add-node`, takes slots and their keys with
/// `reshard`, gives them back with `rebalance` (weight 0), and leaves with
/// `del-node`; no key is lost on the way.
#[test]
fn add_node_reshard_rebalance_and_del_node_keep_every_key() {
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let first = nodes[0].port;
    let keys: Vec<String> = (0..300).map(|i| format!("key:{i}")).collect();
    for key in &keys {
        assert_eq!(cli(first, &["-c", "SET", key, key]), "OK");
    }
    let new = Server::start_cluster_node(&[]);
    let out = cluster_tool(&[
        "add-node",
        &format!("127.0.0.1:{}", new.port),
        &format!("127.0.0.1:{first}"),
    ]);
    assert!(out.contains("[OK] New node added correctly."), "{out}");
    // Every node must know the newcomer before slots can move to it.
    let start = Instant::now();
    let id = myid(new.port);
    while !(nodes.iter()).all(|n| cli(n.port, &["CLUSTER", "NODES"]).contains(&id)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the new node never joined"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    check_ok(first);
    wait_state_ok(&[first, new.port]);
    let out = cluster_tool(&[
        "reshard",
        &format!("127.0.0.1:{first}"),
        "--cluster-from",
        "all",
        "--cluster-to",
        &myid(new.port),
        "--cluster-slots",
        "120",
        "--cluster-yes",
    ]);
    assert!(!out.contains("[ERR]") && !out.contains("failed"), "{out}");
    check_ok(first);
    let held: usize = cli(new.port, &["DBSIZE"]).parse().expect("dbsize");
    assert!(held > 0, "the new node holds no key after the reshard");

    let out = cluster_tool(&[
        "rebalance",
        &format!("127.0.0.1:{first}"),
        "--cluster-weight",
        &format!("{}=0", myid(new.port)),
    ]);
    assert!(!out.contains("[ERR]") && !out.contains("failed"), "{out}");
    check_ok(first);
    // Left without slots, it follows the master that took its last one
    // (cluster-allow-replica-migration, as in Redis 7.0).
    let me = cli(new.port, &["CLUSTER", "NODES"]);
    let me = me.lines().find(|l| l.contains("myself")).expect("myself");
    assert!(me.contains("myself,slave"), "{me}");

    let out = cluster_tool(&["del-node", &format!("127.0.0.1:{first}"), &myid(new.port)]);
    assert!(
        out.contains("CLUSTER RESET SOFT to the deleted node."),
        "{out}"
    );
    assert_eq!(
        cli(new.port, &["DBSIZE"]),
        "0",
        "a reset replica keeps no data"
    );
    check_ok(first);
    for key in &keys {
        assert_eq!(&cli(first, &["-c", "GET", key]), key);
    }
}

/// `redis-cli --cluster import` copies a standalone redis-server's keys
/// into the cluster (MIGRATE from redis-server to each key's Redstone
/// owner), and `fix` closes a slot left open halfway.
#[test]
fn import_from_redis_server_and_fix_an_open_slot() {
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let r = free_port();
    let Some(_redis) = RealRedis::start_with(&["--port", &r.to_string()]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    for i in 0..200 {
        cli(r, &["SET", &format!("imported:{i}"), &i.to_string()]);
    }
    cli(r, &["HSET", "hash", "f", "v"]);
    let first = nodes[0].port;
    let out = cluster_tool(&[
        "import",
        &format!("127.0.0.1:{first}"),
        "--cluster-from",
        &format!("127.0.0.1:{r}"),
        "--cluster-copy",
    ]);
    assert!(!out.contains("ERR"), "{out}");
    let total: usize = total_keys(&nodes);
    assert_eq!(total, 201);
    assert_eq!(cli(first, &["-c", "GET", "imported:77"]), "77");
    assert_eq!(cli(first, &["-c", "HGET", "hash", "f"]), "v");

    // Slot 100 left open between the first two masters (whatever they hold).
    let (a, b) = (nodes[0].port, nodes[1].port);
    let owner = (nodes.iter())
        .find(|n| {
            cli(
                n.port,
                &["CLUSTER", "SETSLOT", "100", "MIGRATING", &myid(b)],
            ) == "OK"
        })
        .map(|n| n.port);
    assert_eq!(owner, Some(a), "slot 100 is the first master's");
    assert_eq!(
        cli(b, &["CLUSTER", "SETSLOT", "100", "IMPORTING", &myid(a)]),
        "OK"
    );
    let out = cluster_tool(&["check", &format!("127.0.0.1:{first}")]);
    assert!(out.contains("The following slots are open: 100."), "{out}");
    let out = cluster_tool(&["fix", &format!("127.0.0.1:{first}"), "--cluster-yes"]);
    assert!(!out.contains("[ERR]"), "{out}");
    check_ok(first);
}

/// Migration reaches replicas through replication: after a reshard of a
/// cluster with one replica per master, every replica holds exactly its
/// master's keys (the target's RESTOREs and the source's DELs are in their
/// streams).
#[test]
fn replicas_follow_a_reshard() {
    if !have_redis_cli() {
        return;
    }
    let nodes: Vec<Server> = (0..6).map(|_| Server::start_cluster_node(&[])).collect();
    let mut args = vec!["create".to_string()];
    args.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
    args.extend([
        "--cluster-replicas".into(),
        "1".into(),
        "--cluster-yes".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cluster_tool(&args);
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    let first = nodes[0].port;
    check_ok(first);
    wait_state_ok(&nodes.iter().map(|n| n.port).collect::<Vec<_>>());
    for i in 0..300 {
        assert_eq!(cli(first, &["-c", "SET", &format!("k:{i}"), "v"]), "OK");
    }
    let masters: Vec<u16> = (nodes.iter())
        .filter(|n| cli(n.port, &["ROLE"]).starts_with("master"))
        .map(|n| n.port)
        .collect();
    assert_eq!(masters.len(), 3);
    let out = cluster_tool(&[
        "reshard",
        &format!("127.0.0.1:{first}"),
        "--cluster-from",
        &myid(masters[0]),
        "--cluster-to",
        &myid(masters[1]),
        "--cluster-slots",
        "150",
        "--cluster-yes",
    ]);
    assert!(!out.contains("[ERR]") && !out.contains("failed"), "{out}");
    check_ok(first);
    let keys = |port: u16| {
        let mut keys: Vec<String> = cli(port, &["KEYS", "*"])
            .lines()
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    };
    for replica in nodes.iter().filter(|n| !masters.contains(&n.port)) {
        let info = cli(replica.port, &["INFO", "replication"]);
        let master_port: u16 = (info.lines())
            .find_map(|l| l.strip_prefix("master_port:"))
            .and_then(|p| p.trim().parse().ok())
            .expect("master_port");
        let start = Instant::now();
        while keys(replica.port) != keys(master_port) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "replica {} never matched master {master_port}",
                replica.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `kill -9` of the source halfway through a reshard: once it is back and
/// `redis-cli --cluster fix` has closed the open slot, every key is served
/// with its value and held by exactly one master (a key the target had
/// restored before the crash, and the source had not deleted yet, is
/// resolved by fix's MIGRATE ... REPLACE, the source's copy winning).
#[test]
fn a_source_killed_during_a_reshard_loses_and_duplicates_no_key() {
    killed_during_a_reshard(0);
}

/// The same with the target killed: what it acknowledged to MIGRATE was
/// durable, so the keys the source deleted are there after its restart.
#[test]
fn a_target_killed_during_a_reshard_loses_and_duplicates_no_key() {
    killed_during_a_reshard(1);
}

/// Reshards from node 0 to node 1, `kill -9`s node `victim` halfway,
/// restarts it, runs `fix` until the cluster checks clean, and checks
/// every key.
fn killed_during_a_reshard(victim: usize) {
    let Some(mut nodes) = three_master_cluster(&[]) else {
        return;
    };
    let first = nodes[0].port;
    let keys: Vec<String> = (0..1500).map(|i| format!("key:{i}")).collect();
    for key in &keys {
        assert_eq!(cli(first, &["-c", "SET", key, key]), "OK");
    }
    let (a, b) = (nodes[0].port, nodes[1].port);
    let mut reshard = Command::new("redis-cli")
        .args(["--cluster", "reshard", &format!("127.0.0.1:{a}")])
        .args(["--cluster-from", &myid(a), "--cluster-to", &myid(b)])
        .args(["--cluster-slots", "3000", "--cluster-yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-cli");
    // Kill once some keys have moved, well before the end.
    let start = Instant::now();
    while cli(b, &["DBSIZE"]).parse::<usize>().expect("dbsize") < 520 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the reshard made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    nodes[victim].kill9();
    let _ = reshard.wait();
    nodes[victim].restart();
    let start = Instant::now();
    loop {
        let out = cluster_tool(&["fix", &format!("127.0.0.1:{b}"), "--cluster-yes"]);
        let check = cluster_tool(&["check", &format!("127.0.0.1:{b}")]);
        if check.contains("[OK] All 16384 slots covered.") && !check.contains("[WARNING]") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "fix did not close the slots:\n{out}\n{check}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let total: usize = total_keys(&nodes);
    assert_eq!(total, keys.len(), "keys lost or duplicated");
    wait_state_ok(&nodes.iter().map(|n| n.port).collect::<Vec<_>>());
    for key in &keys {
        assert_eq!(&cli(b, &["-c", "GET", key]), key);
    }
}

/// `redis-cli --cluster add-node --cluster-slave` joins a node as the
/// replica of the master with the fewest replicas, which then holds that
/// master's keys.
#[test]
fn add_node_as_a_replica_gets_its_masters_keys() {
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let first = nodes[0].port;
    for i in 0..200 {
        assert_eq!(cli(first, &["-c", "SET", &format!("key:{i}"), "v"]), "OK");
    }
    let new = Server::start_cluster_node(&[]);
    let out = cluster_tool(&[
        "add-node",
        &format!("127.0.0.1:{}", new.port),
        &format!("127.0.0.1:{first}"),
        "--cluster-slave",
    ]);
    assert!(out.contains("[OK] New node added correctly."), "{out}");
    let start = Instant::now();
    loop {
        let role = cli(new.port, &["ROLE"]);
        let master: Option<u16> = role.lines().nth(2).and_then(|p| p.parse().ok());
        let master_keys = master.map(|m| cli(m, &["DBSIZE"]));
        if role.starts_with("slave") && master_keys == Some(cli(new.port, &["DBSIZE"])) {
            assert_ne!(master_keys.as_deref(), Some("0"));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never a synced replica: {role}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    check_ok(first);
}

/// A master whose slot another master takes with a greater config epoch
/// (here forced by hand: DELSLOTS, ADDSLOTS, BUMPEPOCH) deletes the keys it
/// still holds there, as Redis does with its dirty slots, instead of
/// keeping keys of a slot it no longer serves.
#[test]
fn a_master_drops_the_keys_of_a_slot_taken_by_a_newer_claim() {
    let Some(nodes) = three_master_cluster(&[]) else {
        return;
    };
    let owner = (nodes.iter())
        .position(|n| cli(n.port, &["SET", "{bar}a", "1"]) == "OK")
        .expect("the slot's owner");
    let (o, t) = (nodes[owner].port, nodes[(owner + 1) % 3].port);
    cli(o, &["SET", "{bar}b", "2"]);
    assert_eq!(cli(o, &["CLUSTER", "COUNTKEYSINSLOT", "5061"]), "2");
    assert_eq!(cli(t, &["CLUSTER", "DELSLOTS", "5061"]), "OK");
    assert_eq!(cli(t, &["CLUSTER", "ADDSLOTS", "5061"]), "OK");
    assert!(cli(t, &["CLUSTER", "BUMPEPOCH"]).starts_with("BUMPED"));
    let start = Instant::now();
    while cli(o, &["CLUSTER", "COUNTKEYSINSLOT", "5061"]) != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the old owner kept the slot's keys"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cli(o, &["GET", "{bar}a"]),
        format!("MOVED 5061 127.0.0.1:{t}")
    );
}

/// Redis' verifyClusterConfigWithData at start: a master with keys in a
/// slot nobody serves takes it; with keys in another master's slot it
/// marks that slot importing (for `redis-cli --cluster fix`).
#[test]
fn a_restarted_master_adopts_or_imports_the_slots_it_has_keys_in() {
    let Some(mut nodes) = three_master_cluster(&[]) else {
        return;
    };
    let (a, b) = (nodes[0].port, nodes[1].port);
    // Slots 10 and 11 are a's.
    let key_in = |slot: u16| {
        (0..)
            .map(|i| format!("k{i}"))
            .find(|k| redstone::slot::key_slot(k.as_bytes()) == slot)
            .expect("a key")
    };
    let (orphan, foreign) = (key_in(10), key_in(11));
    assert_eq!(cli(a, &["SET", &orphan, "1"]), "OK");
    assert_eq!(cli(a, &["SET", &foreign, "2"]), "OK");
    // Slot 10 left to nobody, slot 11 taken by b under a newer epoch.
    assert_eq!(cli(a, &["CLUSTER", "DELSLOTS", "10", "11"]), "OK");
    assert_eq!(cli(b, &["CLUSTER", "DELSLOTS", "11"]), "OK");
    assert_eq!(cli(b, &["CLUSTER", "ADDSLOTS", "11"]), "OK");
    cli(b, &["CLUSTER", "BUMPEPOCH"]);
    let b_id = myid(b);
    let start = Instant::now();
    while !cli(a, &["CLUSTER", "NODES"])
        .lines()
        .any(|l| l.starts_with(&b_id) && l.split(' ').skip(8).any(|s| s == "11"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a never saw b take 11"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nodes[0].kill9();
    nodes[0].restart();
    let start = Instant::now();
    loop {
        let nodes_out = cli(a, &["CLUSTER", "NODES"]);
        let myself = nodes_out
            .lines()
            .find(|l| l.contains("myself"))
            .unwrap_or("")
            .to_string();
        // Serving the orphan's slot 10 again, and importing 11.
        let importing = myself.contains(&format!(" [11-<-{b_id}]"));
        if importing && redis_cli(a, &["GET", &orphan]).is_some_and(|v| v.trim() == "1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "slot 10 not adopted or 11 not importing: {myself}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
