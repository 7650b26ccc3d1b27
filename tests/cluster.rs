//! Cluster mode through the real binary: `redis-cli --cluster create` and
//! `check`, redirects, the CLUSTER commands' replies and errors (the
//! expected texts are what Redis 7.0.15 answers), failure detection after
//! `kill -9`, restarts, and real cluster clients (the `redis` crate here,
//! redis-py in tests/clients/redis_py_cluster.py).

mod common;

use common::{has_redis_py, redis_cli, run_python_client, Server};
use redis::Commands;
use std::process::Command;
use std::time::{Duration, Instant};

fn have_redis_cli() -> bool {
    let found = Command::new("redis-cli").arg("--version").output().is_ok();
    if !found {
        eprintln!("note: redis-cli is not installed; skipping this test");
    }
    found
}

fn cli(node: &Server, args: &[&str]) -> String {
    redis_cli(node.port, args).expect("run redis-cli")
}

/// Runs `redis-cli --cluster <args>` and returns stdout + stderr.
fn cluster_tool(args: &[String]) -> String {
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

fn address(node: &Server) -> String {
    format!("127.0.0.1:{}", node.port)
}

fn start_nodes(count: usize, extra: &[&str]) -> Vec<Server> {
    (0..count)
        .map(|_| Server::start_cluster_node(extra))
        .collect()
}

/// `redis-cli --cluster create` over `nodes`, asserting it succeeds.
fn create(nodes: &[Server], replicas: usize) -> String {
    let mut args = vec!["create".to_string()];
    args.extend(nodes.iter().map(address));
    args.extend([
        "--cluster-replicas".into(),
        replicas.to_string(),
        "--cluster-yes".into(),
    ]);
    let output = cluster_tool(&args);
    assert!(
        output.contains("[OK] All 16384 slots covered."),
        "create failed:\n{output}"
    );
    output
}

/// Three masters made into a cluster by redis-cli, all reporting ok.
fn running_cluster(extra: &[&str]) -> Vec<Server> {
    let nodes = start_nodes(3, extra);
    create(&nodes, 0);
    wait_until("cluster_state:ok", Duration::from_secs(10), || {
        all_ok(&nodes)
    });
    nodes
}

fn info_field(node: &Server, field: &str) -> String {
    let info = cli(node, &["CLUSTER", "INFO"]);
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

fn all_ok(nodes: &[Server]) -> bool {
    nodes.iter().all(|n| info_field(n, "cluster_state") == "ok")
}

#[test]
fn redis_cli_creates_and_checks_a_three_master_cluster() {
    if !have_redis_cli() {
        return;
    }
    let nodes = start_nodes(3, &[]);
    create(&nodes, 0);
    let check = cluster_tool(&["check".into(), address(&nodes[0])]);
    assert!(
        check.contains("[OK] All nodes agree about slots configuration."),
        "{check}"
    );
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");
    wait_until(
        "cluster_state:ok everywhere",
        Duration::from_secs(10),
        || all_ok(&nodes),
    );
    for node in &nodes {
        assert_eq!(info_field(node, "cluster_known_nodes"), "3");
        assert_eq!(info_field(node, "cluster_size"), "3");
        assert_eq!(info_field(node, "cluster_slots_assigned"), "16384");
    }
    // CLUSTER LINKS: a link to and a link from each peer, named by its id.
    let peers: Vec<String> = nodes[1..]
        .iter()
        .map(|n| cli(n, &["CLUSTER", "MYID"]).trim().to_string())
        .collect();
    wait_until(
        "links to and from both peers",
        Duration::from_secs(10),
        || {
            let links = cli(&nodes[0], &["CLUSTER", "LINKS"]);
            let lines: Vec<&str> = links.lines().collect();
            peers.iter().all(|peer| {
                ["to", "from"].iter().all(|direction| {
                    lines
                        .windows(4)
                        .any(|w| w == ["direction", *direction, "node", peer.as_str()])
                })
            })
        },
    );
    // Every node tells the same story in CLUSTER NODES.
    let masters = cli(&nodes[1], &["CLUSTER", "NODES"]);
    assert_eq!(
        masters.lines().filter(|l| l.contains("master")).count(),
        3,
        "{masters}"
    );
    assert_eq!(
        masters.lines().filter(|l| l.contains("myself")).count(),
        1,
        "{masters}"
    );
}

#[test]
fn six_nodes_with_one_replica_each_form_the_topology() {
    if !have_redis_cli() {
        return;
    }
    let nodes = start_nodes(6, &[]);
    create(&nodes, 1);
    let check = cluster_tool(&["check".into(), address(&nodes[0])]);
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");
    wait_until(
        "every node to see 3 masters and 3 replicas",
        Duration::from_secs(15),
        || {
            nodes.iter().all(|node| {
                let text = cli(node, &["CLUSTER", "NODES"]);
                let replicas: Vec<&str> = text.lines().filter(|l| l.contains("slave")).collect();
                text.lines().filter(|l| l.contains("master")).count() == 3
                    && replicas.len() == 3
                    && replicas
                        .iter()
                        .all(|l| l.split(' ').nth(3).is_some_and(|m| m.len() == 40))
            })
        },
    );
}

#[test]
fn keys_are_served_by_their_slot_owner_and_others_redirect() {
    if !have_redis_cli() {
        return;
    }
    let nodes = running_cluster(&[]);
    let slot: u16 = cli(&nodes[0], &["CLUSTER", "KEYSLOT", "foo"])
        .trim()
        .parse()
        .expect("slot");
    assert_eq!(slot, 12182);
    let owner = nodes
        .iter()
        .find(|n| cli(n, &["SET", "foo", "bar"]).trim() == "OK")
        .expect("one node owns slot 12182");
    for node in nodes.iter().filter(|n| n.port != owner.port) {
        assert_eq!(
            cli(node, &["GET", "foo"]).trim(),
            format!("MOVED 12182 127.0.0.1:{}", owner.port)
        );
    }
    assert_eq!(
        cli(owner, &["MSET", "a", "1", "b", "2"]).trim(),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    // Keys sharing a hash tag live in one slot and can be used together.
    let tagged_owner = nodes
        .iter()
        .find(|n| cli(n, &["MSET", "{user1}.a", "1", "{user1}.b", "2"]).trim() == "OK")
        .expect("one node owns {user1}");
    let tag_slot = cli(tagged_owner, &["CLUSTER", "KEYSLOT", "user1"]);
    assert_eq!(
        cli(
            tagged_owner,
            &["CLUSTER", "COUNTKEYSINSLOT", tag_slot.trim()]
        )
        .trim(),
        "2"
    );
    let keys = cli(
        tagged_owner,
        &["CLUSTER", "GETKEYSINSLOT", tag_slot.trim(), "10"],
    );
    assert_eq!(keys.lines().collect::<Vec<_>>(), ["{user1}.a", "{user1}.b"]);
    // Commands without keys run anywhere; SELECT is limited to db 0.
    assert_eq!(cli(&nodes[0], &["PING"]).trim(), "PONG");
    assert_eq!(cli(&nodes[0], &["SELECT", "0"]).trim(), "OK");
    assert_eq!(
        cli(&nodes[0], &["SELECT", "1"]).trim(),
        "ERR SELECT is not allowed in cluster mode"
    );
}

#[test]
fn cluster_command_errors_match_redis() {
    if !have_redis_cli() {
        return;
    }
    let node = Server::start_cluster_node(&[]);
    let myid = cli(&node, &["CLUSTER", "MYID"]).trim().to_string();
    assert_eq!(myid.len(), 40);
    let cases: &[(&[&str], &str)] = &[
        (
            &["CLUSTER", "ADDSLOTS", "99999"],
            "ERR Invalid or out of range slot",
        ),
        (
            &["CLUSTER", "ADDSLOTS", "abc"],
            "ERR Invalid or out of range slot",
        ),
        (
            &["CLUSTER", "ADDSLOTSRANGE", "5", "3"],
            "ERR start slot number 5 is greater than end slot number 3",
        ),
        (
            &["CLUSTER", "ADDSLOTSRANGE", "0"],
            "ERR wrong number of arguments for 'cluster|addslotsrange' command",
        ),
        (&["CLUSTER", "COUNTKEYSINSLOT", "99999"], "ERR Invalid slot"),
        (
            &["CLUSTER", "COUNTKEYSINSLOT", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["CLUSTER", "GETKEYSINSLOT", "0", "-1"],
            "ERR Invalid slot or number of keys",
        ),
        (
            &["CLUSTER", "GETKEYSINSLOT", "16384", "1"],
            "ERR Invalid slot or number of keys",
        ),
        (&["CLUSTER", "FORGET", "abc"], "ERR Unknown node abc"),
        (&["CLUSTER", "REPLICATE", "abc"], "ERR Unknown node abc"),
        (
            &["CLUSTER", "MEET", "127.0.0.1", "abc"],
            "ERR Invalid TCP base port specified: abc",
        ),
        (
            &["CLUSTER", "MEET", "nohost", "1234"],
            "ERR Invalid node address specified: nohost:1234",
        ),
        (
            &["CLUSTER", "SET-CONFIG-EPOCH", "-1"],
            "ERR Invalid config epoch specified: -1",
        ),
        (
            &["CLUSTER", "FAILOVER"],
            "ERR You should send CLUSTER FAILOVER to a replica",
        ),
        (&["CLUSTER", "FAILOVER", "foo"], "ERR syntax error"),
        (&["CLUSTER", "RESET", "foo"], "ERR syntax error"),
        (
            &["CLUSTER", "COUNT-FAILURE-REPORTS", "abc"],
            "ERR Unknown node abc",
        ),
        (
            &["CLUSTER", "INFO", "extra"],
            "ERR wrong number of arguments for 'cluster|info' command",
        ),
        (
            &["CLUSTER", "FOO"],
            "ERR unknown subcommand 'FOO'. Try CLUSTER HELP.",
        ),
        (
            &["SWAPDB", "0", "1"],
            "ERR SWAPDB is not allowed in cluster mode",
        ),
        // No slot is assigned yet: keyed commands cannot run.
        (&["SET", "foo", "bar"], "CLUSTERDOWN Hash slot not served"),
    ];
    for (args, expected) in cases {
        assert_eq!(cli(&node, args).trim(), *expected, "{args:?}");
    }
    let forget_myself = cli(&node, &["CLUSTER", "FORGET", &myid]);
    assert_eq!(
        forget_myself.trim(),
        "ERR I tried hard but I can't forget myself..."
    );
    assert_eq!(
        cli(&node, &["CLUSTER", "REPLICATE", &myid]).trim(),
        "ERR Can't replicate myself"
    );
    assert_eq!(cli(&node, &["CLUSTER", "ADDSLOTS", "0", "1"]).trim(), "OK");
    assert_eq!(
        cli(&node, &["CLUSTER", "ADDSLOTS", "1"]).trim(),
        "ERR Slot 1 is already busy"
    );
    assert_eq!(
        cli(&node, &["CLUSTER", "DELSLOTS", "5"]).trim(),
        "ERR Slot 5 is already unassigned"
    );
    assert_eq!(
        cli(&node, &["CLUSTER", "SET-CONFIG-EPOCH", "5"]).trim(),
        "OK"
    );
    assert_eq!(
        cli(&node, &["CLUSTER", "SET-CONFIG-EPOCH", "6"]).trim(),
        "ERR Node config epoch is already non-zero"
    );
    let slots = cli(&node, &["CLUSTER", "SLOTS"]);
    assert_eq!(
        slots.lines().take(5).collect::<Vec<_>>(),
        ["0", "1", "127.0.0.1", &node.port.to_string(), &myid]
    );
}

#[test]
fn a_killed_master_is_marked_fail_and_rejoins_after_restart() {
    if !have_redis_cli() {
        return;
    }
    const NODE_TIMEOUT_MS: u64 = 2000;
    let mut nodes = running_cluster(&["--cluster-node-timeout", "2000"]);
    let victim_id = cli(&nodes[2], &["CLUSTER", "MYID"]).trim().to_string();
    nodes[2].kill9();
    let limit = Duration::from_millis(2 * NODE_TIMEOUT_MS + 1000);
    let took = wait_until(
        "the others to mark the killed master FAIL",
        limit + Duration::from_secs(5),
        || {
            nodes[..2].iter().all(|n| {
                let text = cli(n, &["CLUSTER", "NODES"]);
                text.lines().any(|l| {
                    l.starts_with(&victim_id) && l.contains(",fail") && !l.contains("fail?")
                }) && info_field(n, "cluster_state") == "fail"
            })
        },
    );
    eprintln!("FAIL reached after {took:?} (limit {limit:?})");
    assert!(
        took <= limit,
        "FAIL took {took:?}, more than 2 × node-timeout + 1 s"
    );
    nodes[2].restart();
    wait_until(
        "cluster_state:ok after the restart",
        Duration::from_secs(15),
        || all_ok(&nodes),
    );
    // It came back as itself, with its slots.
    assert_eq!(cli(&nodes[2], &["CLUSTER", "MYID"]).trim(), victim_id);
}

#[test]
fn restarting_every_node_keeps_the_cluster_configuration() {
    if !have_redis_cli() {
        return;
    }
    let mut nodes = running_cluster(&[]);
    let before: Vec<String> = nodes.iter().map(|n| cli(n, &["CLUSTER", "MYID"])).collect();
    let slots_before = cli(&nodes[0], &["CLUSTER", "SLOTS"]);
    for node in &mut nodes {
        node.terminate();
    }
    for node in &mut nodes {
        node.restart();
    }
    wait_until(
        "cluster_state:ok after restarting everything",
        Duration::from_secs(15),
        || all_ok(&nodes),
    );
    let after: Vec<String> = nodes.iter().map(|n| cli(n, &["CLUSTER", "MYID"])).collect();
    assert_eq!(before, after);
    assert_eq!(cli(&nodes[0], &["CLUSTER", "SLOTS"]), slots_before);
    assert_eq!(info_field(&nodes[0], "cluster_current_epoch"), "3");
}

#[test]
fn the_redis_crate_cluster_client_works() {
    if !have_redis_cli() {
        return;
    }
    let nodes = running_cluster(&[]);
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let mut conn = client.get_connection().expect("connect to the cluster");
    for i in 0..200 {
        let _: () = conn.set(format!("key:{i}"), i).expect("SET");
    }
    for i in 0..200 {
        let value: i64 = conn.get(format!("key:{i}")).expect("GET");
        assert_eq!(value, i);
    }
    let _: () = conn
        .mset(&[("{tag}a", "1"), ("{tag}b", "2")])
        .expect("MSET with a hash tag");
    let values: Vec<String> = conn.mget(&["{tag}a", "{tag}b"]).expect("MGET");
    assert_eq!(values, ["1", "2"]);
    let mut pipe = redis::cluster::cluster_pipe();
    for i in 0..50 {
        pipe.set(format!("p:{i}"), i).ignore();
    }
    let () = pipe.query(&mut conn).expect("cluster pipeline");
    let total: usize = nodes
        .iter()
        .map(|n| cli(n, &["DBSIZE"]).trim().parse::<usize>().expect("dbsize"))
        .sum();
    assert_eq!(total, 200 + 2 + 50, "every key landed on exactly one node");
    assert!(
        nodes.iter().all(|n| cli(n, &["DBSIZE"]).trim() != "0"),
        "keys spread over all nodes"
    );

    // Pub/sub: a subscriber on the last node hears a PUBLISH sent through
    // the cluster connection, wherever that lands.
    let mut subscriber = nodes[2].client();
    let mut pubsub = subscriber.as_pubsub();
    pubsub.subscribe("news").expect("SUBSCRIBE");
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("hello")
        .query(&mut conn)
        .expect("PUBLISH");
    let message = pubsub.get_message().expect("a message");
    assert_eq!(message.get_channel_name(), "news");
    assert_eq!(message.get_payload::<String>().expect("payload"), "hello");
}

#[test]
fn redis_py_cluster_client_smoke_test() {
    if !have_redis_cli() {
        return;
    }
    if !has_redis_py() {
        return;
    }
    let nodes = running_cluster(&[]);
    let ports: Vec<String> = nodes.iter().map(|n| n.port.to_string()).collect();
    run_python_client("redis_py_cluster.py", &ports);
}

#[test]
fn a_corrupt_nodes_conf_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("nodes.conf"), "this is not a node line\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_redstone-server"))
        .args(["--port", "0", "--cluster-enabled", "yes", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run redstone-server");
    assert!(
        !out.status.success(),
        "started despite a corrupt nodes.conf"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corrupted cluster config file") && stderr.contains("nodes.conf line 1"),
        "{stderr}"
    );
}

/// The node id and CLUSTER NODES line of the node listening on `port`, as
/// `observer` sees it.
fn line_of(observer: &Server, port: u16) -> String {
    let text = cli(observer, &["CLUSTER", "NODES"]);
    let needle = format!("127.0.0.1:{port}@");
    text.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_default()
        .to_string()
}

/// Makes `nodes` (six) a cluster of three masters with a replica each and
/// returns the indexes of the master of slot 0 and of its replica, once
/// every node knows that replica.
fn slot_0_master_and_replica(nodes: &[Server]) -> (usize, usize) {
    create(nodes, 1);
    wait_until("cluster_state:ok", Duration::from_secs(15), || {
        all_ok(nodes)
    });
    let master = nodes
        .iter()
        .position(|n| {
            line_of(n, n.port).contains("myself,master") && line_of(n, n.port).contains(" 0-")
        })
        .expect("a master owns slot 0");
    let master_id = cli(&nodes[master], &["CLUSTER", "MYID"]).trim().to_string();
    let follows = format!("slave {master_id}");
    let replica = nodes
        .iter()
        .position(|n| line_of(n, n.port).contains(&follows))
        .expect("the master of slot 0 has a replica");
    // Right after create, some nodes may not have heard of the replica's
    // role yet: wait until everyone agrees.
    wait_until(
        "every node to know the replica",
        Duration::from_secs(15),
        || {
            nodes
                .iter()
                .all(|n| line_of(n, nodes[replica].port).contains(&follows))
        },
    );
    (master, replica)
}

#[test]
fn a_manual_failover_under_writes_loses_no_acknowledged_write() {
    if !have_redis_cli() {
        return;
    }
    let nodes = start_nodes(6, &["--cluster-node-timeout", "2000"]);
    let (master, replica) = slot_0_master_and_replica(&nodes);
    // A client writes to slot 0 through the master, one write after the
    // other, until the master redirects it.
    let mut writer = nodes[master].client();
    let writes = std::thread::spawn(move || {
        let started = Instant::now();
        let mut acknowledged = Vec::new();
        for i in 0.. {
            let written: redis::RedisResult<String> = redis::cmd("SET")
                .arg(format!("{{06S}}:{i}"))
                .arg(i)
                .query(&mut writer);
            match written {
                Ok(_) => acknowledged.push(i),
                Err(e) => {
                    assert!(e.to_string().to_lowercase().contains("moved"), "{e}");
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never redirected"
            );
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cli(&nodes[replica], &["CLUSTER", "FAILOVER"]).trim(), "OK");
    let took = wait_until("the manual failover", Duration::from_secs(20), || {
        line_of(&nodes[replica], nodes[replica].port).contains("myself,master")
    });
    eprintln!("manual failover done after {took:?}");
    let acknowledged = writes.join().expect("the writer");
    assert!(
        acknowledged.len() > 10,
        "the writer wrote before the failover"
    );
    let mut promoted = nodes[replica].client();
    for i in acknowledged {
        let value: Option<i64> = redis::cmd("GET")
            .arg(format!("{{06S}}:{i}"))
            .query(&mut promoted)
            .expect("a read of slot 0");
        assert_eq!(value, Some(i), "acknowledged write {i} survived");
    }
}

#[test]
fn a_replica_takes_over_a_killed_master_with_its_data_and_the_master_rejoins_as_its_replica() {
    if !have_redis_cli() {
        return;
    }
    let mut nodes = start_nodes(6, &["--cluster-node-timeout", "2000"]);
    let (victim, replica) = slot_0_master_and_replica(&nodes);
    // Writes the replica acknowledged (WAIT) survive the master's death.
    let mut writer = nodes[victim].client();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("{{06S}}:{i}"))
            .arg(i)
            .query(&mut writer)
            .expect("a write to slot 0");
    }
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(10_000)
        .query(&mut writer)
        .expect("wait");
    assert_eq!(acked, 1, "the replica acknowledged the writes");
    nodes[victim].kill9();
    let observer = (0..6)
        .find(|&i| i != victim && i != replica)
        .expect("a third node");
    let took = wait_until(
        "the replica to be promoted",
        Duration::from_secs(20),
        || {
            let line = line_of(&nodes[observer], nodes[replica].port);
            line.contains(" master ")
                && line.contains(" 0-")
                && info_field(&nodes[observer], "cluster_state") == "ok"
        },
    );
    eprintln!("replica promoted and cluster ok after {took:?}");
    // Slot 0 is served by the promoted replica now.
    let key = "{06S}"; // hash slot 0
    assert_eq!(
        cli(&nodes[observer], &["CLUSTER", "KEYSLOT", key]).trim(),
        "0"
    );
    let mut promoted = nodes[replica].client();
    for i in 0..200 {
        let value: Option<i64> = redis::cmd("GET")
            .arg(format!("{{06S}}:{i}"))
            .query(&mut promoted)
            .expect("a read of slot 0");
        assert_eq!(value, Some(i), "key {i} survived the failover");
    }
    assert_eq!(cli(&nodes[replica], &["SET", key, "v"]).trim(), "OK");
    // The old master comes back as a replica of its successor.
    nodes[victim].restart();
    let replica_id = cli(&nodes[replica], &["CLUSTER", "MYID"])
        .trim()
        .to_string();
    wait_until(
        "the old master to follow the new one",
        Duration::from_secs(20),
        || {
            line_of(&nodes[victim], nodes[victim].port)
                .contains(&format!("myself,slave {replica_id}"))
        },
    );
    // ...and replicates it: the write made after the failover reaches it.
    let mut old_master = nodes[victim].client();
    let _: () = redis::cmd("READONLY")
        .query(&mut old_master)
        .expect("readonly");
    wait_until(
        "the old master to replicate the new one",
        Duration::from_secs(20),
        || {
            redis::cmd("GET")
                .arg(key)
                .query::<Option<String>>(&mut old_master)
                .ok()
                .flatten()
                .as_deref()
                == Some("v")
        },
    );
}

#[test]
fn config_set_applies_cluster_options_to_the_running_node() {
    if !have_redis_cli() {
        return;
    }
    let node = Server::start_cluster_node(&[]);
    // Only slot 0 is served: with full coverage required the cluster is down.
    assert_eq!(cli(&node, &["CLUSTER", "ADDSLOTS", "0"]).trim(), "OK");
    let key = "{06S}"; // hash slot 0
    assert_eq!(
        cli(&node, &["GET", key]).trim(),
        "CLUSTERDOWN The cluster is down"
    );
    let set = ["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"];
    assert_eq!(cli(&node, &set).trim(), "OK");
    assert_eq!(cli(&node, &["GET", key]).trim(), "");
    assert_eq!(
        cli(&node, &["SET", key, "v"]).trim(),
        "CLUSTERDOWN The cluster is down and only accepts read commands"
    );
    let set = ["CONFIG", "SET", "cluster-require-full-coverage", "no"];
    assert_eq!(cli(&node, &set).trim(), "OK");
    wait_until(
        "cluster_state:ok without full coverage",
        Duration::from_secs(5),
        || info_field(&node, "cluster_state") == "ok",
    );
    assert_eq!(cli(&node, &["SET", key, "v"]).trim(), "OK");
    // An announced hostname shows in CLUSTER NODES and is saved in nodes.conf.
    let set = [
        "CONFIG",
        "SET",
        "cluster-announce-hostname",
        "node-a.example",
    ];
    assert_eq!(cli(&node, &set).trim(), "OK");
    let myself = cli(&node, &["CLUSTER", "NODES"]);
    assert!(
        myself.contains(&format!(
            "127.0.0.1:{}@{},node-a.example ",
            node.port,
            node.port + 10000
        )),
        "{myself}"
    );
    let saved = std::fs::read_to_string(node.dir.join("nodes.conf")).expect("nodes.conf");
    assert!(saved.contains(",node-a.example "), "{saved}");
}
