use quickcheck::{Arbitrary, Gen, QuickCheck};

use super::*;
use crate::cluster::SlotSet;

fn id(text: &str) -> NodeId {
    NodeId::parse(text.as_bytes()).expect("test id")
}

const A: &str = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
const B: &str = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1";
const C: &str = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f";

fn record(id_text: &str, flags: NodeFlags) -> NodeRecord {
    NodeRecord {
        id: id(id_text),
        ip: "127.0.0.1".to_string(),
        port: 30001,
        bus_port: 40001,
        hostname: String::new(),
        flags,
        master: None,
        ping_sent_ms: 0,
        pong_received_ms: 0,
        config_epoch: 0,
        connected: false,
        slots: SlotSet::new(),
        migrating: Vec::new(),
        importing: Vec::new(),
    }
}

fn slots(ranges: &[(u16, u16)]) -> SlotSet {
    let mut set = SlotSet::new();
    for &(first, last) in ranges {
        for slot in first..=last {
            set.insert(slot);
        }
    }
    set
}

// ---- node_line snapshots ----------------------------------------------------

#[test]
fn myself_master_with_ranges() {
    let mut r = record(A, NodeFlags::MYSELF | NodeFlags::MASTER);
    r.pong_received_ms = 1426238316000;
    r.config_epoch = 1;
    r.slots = slots(&[(0, 5460), (5462, 5462), (6000, 6001), (16383, 16383)]);
    assert_eq!(
        node_line(&r),
        format!("{A} 127.0.0.1:30001@40001 myself,master - 0 1426238316000 1 connected 0-5460 5462 6000-6001 16383")
    );
}

#[test]
fn replica() {
    let mut r = record(B, NodeFlags::REPLICA);
    r.port = 30004;
    r.bus_port = 40004;
    r.master = Some(id(A));
    r.pong_received_ms = 1426238317239;
    r.config_epoch = 4;
    r.connected = true;
    assert_eq!(
        node_line(&r),
        format!("{B} 127.0.0.1:30004@40004 slave {A} 0 1426238317239 4 connected")
    );
}

#[test]
fn failing_master_disconnected() {
    let mut r = record(C, NodeFlags::MASTER | NodeFlags::PFAIL);
    r.ping_sent_ms = 1700000000500;
    r.pong_received_ms = 1699999990000;
    r.config_epoch = 3;
    r.slots = slots(&[(10923, 16383)]);
    assert_eq!(
        node_line(&r),
        format!("{C} 127.0.0.1:30001@40001 master,fail? - 1700000000500 1699999990000 3 disconnected 10923-16383")
    );
    r.flags = NodeFlags::MASTER | NodeFlags::FAIL | NodeFlags::NOFAILOVER;
    assert!(node_line(&r).contains(" master,fail,nofailover - "));
}

#[test]
fn handshake_noaddr_and_noflags() {
    let mut r = record(C, NodeFlags::HANDSHAKE);
    r.ping_sent_ms = 1700000000000;
    assert_eq!(
        node_line(&r),
        format!("{C} 127.0.0.1:30001@40001 handshake - 1700000000000 0 0 disconnected")
    );
    let mut r = record(C, NodeFlags::MASTER | NodeFlags::FAIL | NodeFlags::NOADDR);
    r.ip.clear();
    r.port = 0;
    r.bus_port = 0;
    assert_eq!(
        node_line(&r),
        format!("{C} :0@0 master,fail,noaddr - 0 0 0 disconnected")
    );
    // MEET is transient and has no CLUSTER NODES name.
    let r = record(C, NodeFlags::MEET);
    assert_eq!(
        node_line(&r),
        format!("{C} 127.0.0.1:30001@40001 noflags - 0 0 0 disconnected")
    );
}

#[test]
fn hostname_follows_the_address() {
    let mut r = record(A, NodeFlags::MYSELF | NodeFlags::MASTER);
    r.hostname = "node-1.example.com".to_string();
    assert_eq!(
        node_line(&r),
        format!("{A} 127.0.0.1:30001@40001,node-1.example.com myself,master - 0 0 0 connected")
    );
}

#[test]
fn migrating_and_importing_in_slot_order_for_myself_only() {
    let mut r = record(A, NodeFlags::MYSELF | NodeFlags::MASTER);
    r.config_epoch = 1;
    r.slots = slots(&[(0, 100)]);
    r.migrating = vec![(100, id(B)), (7, id(C))];
    r.importing = vec![(200, id(C)), (7, id(B))]; // 7 is also migrating: migrating wins
    assert_eq!(
        node_line(&r),
        format!("{A} 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-100 [7->-{C}] [100->-{B}] [200-<-{C}]")
    );
    r.flags = NodeFlags::MASTER;
    r.connected = true;
    assert_eq!(
        node_line(&r),
        format!("{A} 127.0.0.1:30001@40001 master - 0 0 1 connected 0-100")
    );
}

#[test]
fn ipv6_address() {
    let mut r = record(A, NodeFlags::MYSELF | NodeFlags::MASTER);
    r.ip = "::1".to_string();
    assert!(node_line(&r).starts_with(&format!("{A} ::1:30001@40001 myself,master")));
    assert_eq!(
        parse(&serialize(&ClusterConfig {
            nodes: vec![r.clone()],
            current_epoch: 0,
            last_vote_epoch: 0
        }))
        .unwrap()
        .nodes,
        vec![{
            let mut r = r;
            r.connected = true;
            r
        }]
    );
}

#[test]
fn serialize_skips_handshake_nodes_like_redis() {
    let mut myself = record(A, NodeFlags::MYSELF | NodeFlags::MASTER);
    myself.slots = slots(&[(0, 16383)]);
    let config = ClusterConfig {
        nodes: vec![myself, record(B, NodeFlags::HANDSHAKE)],
        current_epoch: 5,
        last_vote_epoch: 4,
    };
    assert_eq!(
        serialize(&config),
        format!(
            "{A} 127.0.0.1:30001@40001 myself,master - 0 0 0 connected 0-16383\n\
             vars currentEpoch 5 lastVoteEpoch 4\n"
        )
    );
    // CLUSTER NODES output does list them, and parse accepts it.
    let listed = format!(
        "{}\n{}\n",
        node_line(&config.nodes[0]),
        node_line(&config.nodes[1])
    );
    assert_eq!(parse(&listed).map(|c| c.nodes.len()), Ok(2));
}

// ---- a real Redis 7.0 nodes.conf ---------------------------------------------

const REDIS_7_0: &str = "\
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@40005 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1680000002000 2 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002 master - 0 1680000001000 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@40003 master - 0 1680000002500 3 connected 10923-16383
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@40006 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1680000001500 3 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 1680000000000 1 connected 0-5460
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1680000003000 1 connected
vars currentEpoch 6 lastVoteEpoch 0
";

#[test]
fn parses_a_redis_7_0_file() {
    let config = parse(REDIS_7_0).expect("loads");
    assert_eq!(config.current_epoch, 6);
    assert_eq!(config.last_vote_epoch, 0);
    assert_eq!(config.nodes.len(), 6);
    let myself = &config.nodes[4];
    assert_eq!(myself.id, id(A));
    assert_eq!(myself.flags, NodeFlags::MYSELF | NodeFlags::MASTER);
    assert_eq!(myself.slots.ranges(), vec![(0, 5460)]);
    assert_eq!((myself.port, myself.bus_port), (30001, 40001));
    let replica = &config.nodes[0];
    assert_eq!(replica.flags, NodeFlags::REPLICA);
    assert_eq!(replica.master, Some(id(B)));
    assert_eq!(replica.pong_received_ms, 1680000002000);
    assert!(replica.slots.is_empty());
    let total: usize = config.nodes.iter().map(|n| n.slots.len()).sum();
    assert_eq!(total, 16384);
    // And it is written back byte for byte.
    assert_eq!(serialize(&config), REDIS_7_0);
}

#[test]
fn accepts_redis_variants() {
    let text = format!(
        "\r\n{A} 10.0.0.1:7000,host.local myself,master - 0 0 5 connected 0 [1-<-{B}] [2->-{C}]\r\n\
         \n   \n\
         {B} :0@0 master,fail,noaddr - 0 0 0 disconnected\n\
         vars lastVoteEpoch 4 someFutureKey x currentEpoch 9\n"
    );
    let config = parse(&text).expect("loads");
    assert_eq!((config.current_epoch, config.last_vote_epoch), (9, 4));
    let myself = &config.nodes[0];
    assert_eq!((myself.port, myself.bus_port), (7000, 17000));
    assert_eq!(myself.hostname, "host.local");
    assert_eq!(myself.importing, vec![(1, id(B))]);
    assert_eq!(myself.migrating, vec![(2, id(C))]);
    let noaddr = &config.nodes[1];
    assert_eq!(
        (noaddr.ip.as_str(), noaddr.port, noaddr.bus_port),
        ("", 0, 0)
    );
    // No vars line: epochs are 0. Uppercase ids load as lowercase.
    let config = parse(&format!(
        "{} :1@2 myself,slave - 0 0 0 connected",
        A.to_uppercase()
    ))
    .expect("loads");
    assert_eq!(config.nodes[0].id, id(A));
    assert_eq!((config.current_epoch, config.last_vote_epoch), (0, 0));
}

// ---- round trip ---------------------------------------------------------------

fn gen_id(g: &mut Gen) -> NodeId {
    let hex = b"0123456789abcdef";
    let text: Vec<u8> = (0..NodeId::LEN)
        .map(|_| *g.choose(hex).unwrap_or(&b'0'))
        .collect();
    NodeId::parse(&text).expect("generated hex is valid")
}

fn gen_slots(g: &mut Gen) -> SlotSet {
    let mut set = SlotSet::new();
    if bool::arbitrary(g) {
        for _ in 0..u8::arbitrary(g) % 6 {
            let start = u16::arbitrary(g) % SLOT_COUNT;
            let len = u16::arbitrary(g) % 2000;
            for slot in start..start.saturating_add(len).min(SLOT_COUNT) {
                set.insert(slot);
            }
        }
    } else {
        for _ in 0..u8::arbitrary(g) % 20 {
            set.insert(u16::arbitrary(g) % SLOT_COUNT);
        }
    }
    set
}

/// Hostnames as Redis allows them: no whitespace, no commas.
fn gen_hostname(g: &mut Gen) -> String {
    let chars = b"abcdefghijklmnopqrstuvwxyz0123456789.-_";
    let len = usize::arbitrary(g) % 3 * (usize::arbitrary(g) % 20);
    (0..len)
        .map(|_| char::from(*g.choose(chars).unwrap_or(&b'a')))
        .collect()
}

/// Only flags CLUSTER NODES can print, MYSELF left to the caller.
fn gen_flags(g: &mut Gen) -> NodeFlags {
    let mut flags = NodeFlags::empty();
    for flag in [
        NodeFlags::MASTER,
        NodeFlags::REPLICA,
        NodeFlags::PFAIL,
        NodeFlags::FAIL,
        NodeFlags::HANDSHAKE,
        NodeFlags::NOADDR,
        NodeFlags::NOFAILOVER,
    ] {
        if u8::arbitrary(g) % 4 == 0 {
            flags.insert(flag);
        }
    }
    flags
}

fn gen_record(g: &mut Gen, id: NodeId, myself: bool) -> NodeRecord {
    let ips = [
        "127.0.0.1",
        "10.1.2.3",
        "",
        "::1",
        "fe80::1ff:fe23:4567:890a",
    ];
    let mut flags = gen_flags(g);
    let (mut migrating, mut importing) = (Vec::new(), Vec::new());
    if myself {
        // A node never handshakes with itself.
        flags.remove(NodeFlags::HANDSHAKE);
        flags.insert(NodeFlags::MYSELF);
        // One entry per slot, sorted: how node_line prints them back.
        let mut moving = BTreeMap::new();
        for _ in 0..u8::arbitrary(g) % 5 {
            moving.insert(
                u16::arbitrary(g) % SLOT_COUNT,
                (bool::arbitrary(g), gen_id(g)),
            );
        }
        for (slot, (out, peer)) in moving {
            if out {
                migrating.push((slot, peer));
            } else {
                importing.push((slot, peer));
            }
        }
    }
    NodeRecord {
        id,
        ip: ips[usize::arbitrary(g) % ips.len()].to_string(),
        port: u16::arbitrary(g),
        bus_port: u16::arbitrary(g),
        hostname: gen_hostname(g),
        flags,
        master: bool::arbitrary(g).then(|| gen_id(g)),
        ping_sent_ms: u64::arbitrary(g),
        pong_received_ms: u64::arbitrary(g),
        config_epoch: u64::arbitrary(g),
        // Redis prints the myself node as connected whatever its link says.
        connected: myself || bool::arbitrary(g),
        slots: gen_slots(g),
        migrating,
        importing,
    }
}

/// Valid configs: unique ids, exactly one myself node, which alone may carry
/// migrating/importing entries and is always connected.
impl Arbitrary for ClusterConfig {
    fn arbitrary(g: &mut Gen) -> ClusterConfig {
        let count = usize::arbitrary(g) % 8 + 1;
        let myself = usize::arbitrary(g) % count;
        let mut ids: Vec<NodeId> = Vec::new();
        while ids.len() < count {
            let candidate = gen_id(g);
            if !ids.contains(&candidate) {
                ids.push(candidate);
            }
        }
        let nodes = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| gen_record(g, id, i == myself))
            .collect();
        ClusterConfig {
            nodes,
            current_epoch: u64::arbitrary(g),
            last_vote_epoch: u64::arbitrary(g),
        }
    }
}

/// Identity, except that handshake nodes are not persisted.
#[test]
fn round_trip() {
    fn prop(mut config: ClusterConfig) -> bool {
        let text = serialize(&config);
        config
            .nodes
            .retain(|n| !n.flags.contains(NodeFlags::HANDSHAKE));
        parse(&text) == Ok(config)
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(ClusterConfig) -> bool);
}

// ---- errors -------------------------------------------------------------------

fn parse_err(text: &str) -> ParseError {
    parse(text).expect_err("should not parse")
}

fn myself_line() -> String {
    format!("{A} 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460")
}

/// `bad` put on line 3, after a valid myself line and a blank line.
fn err_on_line_3(bad: &str) -> ParseError {
    let e = parse_err(&format!(
        "{}\n\n{bad}\nvars currentEpoch 1 lastVoteEpoch 0\n",
        myself_line()
    ));
    assert_eq!(e.line, 3, "{e}");
    e
}

#[test]
fn display() {
    let e = err_on_line_3(&format!(
        "{B} 127.0.0.1:30002@40002 master,wat - 0 0 0 connected"
    ));
    assert_eq!(
        e.to_string(),
        "nodes.conf line 3: unknown flag \"wat\" in \"master,wat\""
    );
}

#[test]
fn errors_name_the_problem() {
    let base = |rest: &str| format!("{B} {rest}");
    let cases = [
        (
            base("127.0.0.1:30002@40002 master - 0 0 0"),
            "at least 8 fields",
        ),
        (
            format!("zz{} 1.2.3.4:1@2 master - 0 0 0 connected", &B[2..]),
            "bad node id",
        ),
        (
            format!("{} 1.2.3.4:1@2 master - 0 0 0 connected", &B[1..]),
            "bad node id",
        ),
        (base("127.0.0.1 master - 0 0 0 connected"), "bad address"),
        (base("127.0.0.1:x@2 master - 0 0 0 connected"), "bad port"),
        (
            base("127.0.0.1:70000@2 master - 0 0 0 connected"),
            "port 70000 out of range",
        ),
        (
            base("127.0.0.1:60000 master - 0 0 0 connected"),
            "no implicit bus port",
        ),
        (
            base("1.2.3.4:1@2 noflags,master - 0 0 0 connected"),
            "unknown flag \"noflags\"",
        ),
        (
            base("1.2.3.4:1@2 slave nothex - 0 0 connected"),
            "bad master id",
        ),
        (
            base("1.2.3.4:1@2 master - -1 0 0 connected"),
            "bad ping_sent",
        ),
        (
            base("1.2.3.4:1@2 master - 0 1e3 0 connected"),
            "bad pong_received",
        ),
        (
            base("1.2.3.4:1@2 master - 0 0 18446744073709551616 connected"),
            "config epoch 18446744073709551616 out of range",
        ),
        (base("1.2.3.4:1@2 master - 0 0 0 up"), "bad link state"),
        (
            base("1.2.3.4:1@2 master - 0 0 0 connected 16384"),
            "slot 16384 out of range",
        ),
        (
            base("1.2.3.4:1@2 master - 0 0 0 connected 0-16384"),
            "slot 16384 out of range",
        ),
        (
            base("1.2.3.4:1@2 master - 0 0 0 connected 10-5"),
            "backwards",
        ),
        (base("1.2.3.4:1@2 master - 0 0 0 connected 5-"), "bad slot"),
        (base("1.2.3.4:1@2 master - 0 0 0 connected x"), "bad slot"),
        (
            format!("{B} 1.2.3.4:1@2 master - 0 0 0 connected [5->-{C}]"),
            "not myself",
        ),
        (
            format!("{A} 1.2.3.4:1@2 master - 0 0 0 connected"),
            "duplicate node id",
        ),
        (
            format!("{B} 1.2.3.4:1@2 myself,slave - 0 0 0 connected"),
            "second node flagged myself (first on line 1)",
        ),
        ("vars currentEpoch".to_string(), "has no value"),
        (
            "vars currentEpoch x lastVoteEpoch 0".to_string(),
            "bad currentEpoch",
        ),
    ];
    for (line, reason) in cases {
        let e = err_on_line_3(&line);
        assert!(e.reason.contains(reason), "{line:?}: {e}");
    }
}

#[test]
fn bad_migrating_entries_on_myself() {
    let cases = [
        (format!("[5->-{C}"), "unterminated"),
        (format!("[5=>{C}]"), "bad slot entry"),
        (format!("[16384->-{C}]"), "out of range"),
        ("[5-<-abc]".to_string(), "bad importing source"),
        ("[5->-abc]".to_string(), "bad migrating target"),
    ];
    for (token, reason) in cases {
        let text = format!("\n{} {token}\n", myself_line());
        let e = parse_err(&text);
        assert_eq!(e.line, 2, "{e}");
        assert!(e.reason.contains(reason), "{token}: {e}");
    }
}

#[test]
fn empty_and_myself_less_files() {
    assert_eq!(parse_err("").reason, "empty: no node lines");
    let e = parse_err("\n  \n\t\n");
    assert_eq!((e.line, e.reason.as_str()), (3, "empty: no node lines"));
    let e = parse_err("vars currentEpoch 1 lastVoteEpoch 1\n");
    assert_eq!(e.reason, "empty: no node lines");
    let e = parse_err(&format!(
        "{B} 1.2.3.4:1@2 master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"
    ));
    assert_eq!(
        (e.line, e.reason.as_str()),
        (2, "no node is flagged myself")
    );
}
