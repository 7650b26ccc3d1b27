//! Unit tests of the cluster node, driving a few nodes by hand.

use quickcheck::quickcheck;

use super::message::{Body, Gossip, Header, Message};
use super::node::{Config, Event, FailoverMode, Node};
use super::{NodeFlags, NodeId, SlotSet};

pub(super) const T0: u64 = 1_700_000_000_000;

/// Node `i` of a test cluster: ports 7000 + i, a one-second timeout.
pub(super) fn config(i: u16) -> Config {
    Config {
        node_timeout: 1_000,
        ip: "127.0.0.1".into(),
        port: 7000 + i,
        bus_port: 17000 + i,
        ..Config::default()
    }
}

/// A tiny lossless network: routes transmits by bus port, instantly.
struct Net {
    nodes: Vec<Node>,
    now: u64,
    /// Nodes cut off from everyone.
    down: Vec<bool>,
}

impl Net {
    fn new(n: u16) -> Net {
        Net {
            nodes: (0..n)
                .map(|i| Node::new(config(i), u64::from(i) + 1, T0))
                .collect(),
            now: T0,
            down: vec![false; usize::from(n)],
        }
    }

    /// Delivers every queued message (and the replies) until quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(t) = self.nodes[i].poll_transmit() {
                    moved = true;
                    let to = usize::from(t.bus_port - 17000);
                    if to < self.nodes.len() && !self.down[i] && !self.down[to] {
                        let now = self.now;
                        self.nodes[to].handle_message(now, "127.0.0.1", t.message);
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances time in cron steps, pumping messages.
    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            for i in 0..self.nodes.len() {
                if !self.down[i] {
                    let now = self.now;
                    self.nodes[i].handle_timeout(now);
                    // A driver pauses writes as soon as it is asked to.
                    if self.nodes[i].manual.replica.is_some() {
                        self.nodes[i].writes_paused();
                    }
                }
            }
            self.pump();
        }
    }

    fn id(&self, i: usize) -> NodeId {
        self.nodes[i].myself()
    }

    /// Masters 0..masters each take a slot range and an epoch, everyone
    /// meets node 0, the rest replicate masters round robin.
    fn cluster(n: u16, masters: usize) -> Net {
        let mut net = Net::new(n);
        for m in 0..masters {
            let slots: Vec<u16> = (m * 16384 / masters..(m + 1) * 16384 / masters)
                .map(|s| s as u16)
                .collect();
            net.nodes[m].add_slots(&slots).unwrap();
            net.nodes[m].set_config_epoch(m as u64 + 1).unwrap();
        }
        for i in 1..usize::from(n) {
            let now = net.now;
            net.nodes[i].meet(now, "127.0.0.1", 7000, 17000).unwrap();
        }
        net.run(3_000);
        for r in masters..usize::from(n) {
            let master = net.id((r - masters) % masters);
            net.nodes[r].replicate(master.as_bytes()).unwrap();
        }
        net.run(3_000);
        net
    }
}

#[test]
fn handshake_learns_real_ids() {
    let mut net = Net::new(3);
    let now = net.now;
    net.nodes[1].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.nodes[2].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.run(2_000);
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                assert!(
                    net.nodes[i].knows(net.id(j)),
                    "node {i} does not know node {j}"
                );
            }
        }
        assert_eq!(net.nodes[i].known_nodes(), 3, "leftover handshake entries");
    }
}

/// A MEET lost with its link (the driver could not connect) is sent again
/// at the next cron once the driver says so, and the handshake completes.
#[test]
fn a_meet_lost_with_its_link_is_resent() {
    let mut net = Net::new(2);
    let now = net.now;
    net.nodes[1].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.now += 100;
    let now = net.now;
    net.nodes[1].handle_timeout(now);
    let meet = net.nodes[1].poll_transmit().expect("the MEET");
    assert_eq!(meet.message.body.kind_name(), "meet");
    assert!(net.nodes[1].poll_transmit().is_none());
    // Lost, and nothing says so: the MEET is not resent.
    net.now += 100;
    let now = net.now;
    net.nodes[1].handle_timeout(now);
    assert!(net.nodes[1].poll_transmit().is_none());
    // The driver reports the failed link: the next cron resends it.
    net.nodes[1].link_lost(now, "127.0.0.1", 17000);
    net.run(1_000);
    assert!(net.nodes[0].knows(net.id(1)) && net.nodes[1].knows(net.id(0)));
    assert_eq!(net.nodes[1].known_nodes(), 2, "leftover handshake entries");
}

/// The PONG answering a MEET is lost (the receiver's connection back could
/// not be made) and is never resent; the receiver's own handshake with the
/// meeting node, from the same address, completes the latter's instead.
#[test]
fn a_meet_whose_pong_is_lost_completes_on_the_peers_ping() {
    let mut net = Net::new(2);
    let now = net.now;
    net.nodes[1].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.now += 100;
    let now = net.now;
    net.nodes[1].handle_timeout(now);
    let meet = net.nodes[1].poll_transmit().expect("the MEET");
    net.nodes[0].handle_message(now, "127.0.0.1", meet.message);
    let pong = net.nodes[0].poll_transmit().expect("the PONG");
    assert_eq!(pong.message.body.kind_name(), "pong");
    drop(pong);
    // Node 0's next cron meets its own handshake entry for node 1.
    net.run(600);
    assert!(net.nodes[0].knows(net.id(1)) && net.nodes[1].knows(net.id(0)));
    assert_eq!(net.nodes[1].known_nodes(), 2, "leftover handshake entries");
}

#[test]
fn handshake_times_out() {
    let mut net = Net::new(2);
    let now = net.now;
    net.nodes[0].meet(now, "127.0.0.1", 7999, 17999).unwrap();
    assert_eq!(net.nodes[0].records().len(), 2);
    assert!(net.nodes[0].records()[1]
        .flags
        .contains(NodeFlags::HANDSHAKE));
    net.run(1_200);
    assert_eq!(net.nodes[0].records().len(), 1);
}

#[test]
fn cluster_becomes_ok() {
    let net = Net::cluster(6, 3);
    for node in &net.nodes {
        assert!(node.state_ok());
        assert_eq!(node.info().slots_assigned, 16384);
        assert_eq!(node.info().size, 3);
        node.check_slot_table();
    }
    assert_eq!(net.nodes[3].master_of_myself(), Some(net.id(0)));
}

#[test]
fn pfail_becomes_fail_with_a_quorum_of_masters() {
    let mut net = Net::cluster(4, 3);
    let victim = net.id(2);
    net.down[2] = true;
    net.run(1_600);
    // Timed out in everyone's view; FAIL needs reports from 2 of 3 masters.
    let flags = |net: &Net, i: usize| {
        net.nodes[i]
            .records()
            .into_iter()
            .find(|r| r.id == victim)
            .unwrap()
            .flags
    };
    net.run(2_000);
    assert!(
        flags(&net, 0).contains(NodeFlags::FAIL),
        "{:?}",
        flags(&net, 0)
    );
    assert!(flags(&net, 3).contains(NodeFlags::FAIL));
    assert!(
        net.nodes[0]
            .count_failure_reports(victim.as_bytes())
            .unwrap()
            >= 1
    );
    assert!(
        !net.nodes[0].state_ok(),
        "slots of a FAIL master are not served"
    );
}

/// Masters 0, 1 and 2 serve slots; master 3 serves none (a new empty
/// master, or a stale one whose slots were failed over while it was cut
/// off).
fn three_masters_and_an_empty_one() -> Net {
    let mut net = Net::new(4);
    for m in 0..3 {
        let slots: Vec<u16> = (m * 16384 / 3..(m + 1) * 16384 / 3)
            .map(|s| s as u16)
            .collect();
        net.nodes[m].add_slots(&slots).unwrap();
        net.nodes[m].set_config_epoch(m as u64 + 1).unwrap();
    }
    for i in 1..4 {
        let now = net.now;
        net.nodes[i].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    }
    net.run(3_000);
    for node in &net.nodes {
        assert_eq!(node.info().size, 3);
    }
    net
}

/// A PING from `reporter` whose gossip says `about` is PFAIL.
fn pfail_report(net: &Net, reporter: usize, about: usize) -> Message {
    let mut flags = NodeFlags::MASTER;
    flags.insert(NodeFlags::PFAIL);
    Message {
        header: net.nodes[reporter].header(),
        body: Body::Ping {
            gossip: vec![Gossip {
                node: net.id(about),
                ping_sent_ago_ms: 1_500,
                pong_received_ago_ms: 1_500,
                ip: "127.0.0.1".into(),
                port: 7000 + about as u16,
                bus_port: 17000 + about as u16,
                flags,
            }],
        },
    }
}

/// FAIL needs a majority of the masters serving slots (the ones `size`
/// counts): a master without slots is no voter, neither as a reporter nor
/// as the node counting (Valkey's fix of Redis, valkey#634). Found by the
/// simulator (seed 758230141): a master cut off long enough to lose its
/// slots to a failover came back still reporting everyone as PFAIL, and
/// its report plus those of a minority of the real masters marked a
/// reachable master FAIL; one of its replicas was then elected.
#[test]
fn only_masters_serving_slots_make_a_fail_quorum() {
    let mut net = three_masters_and_an_empty_one();
    let victim = net.id(2);
    let is_failed = |node: &Node| {
        node.records()
            .into_iter()
            .find(|r| r.id == victim)
            .unwrap()
            .flags
            .contains(NodeFlags::FAIL)
    };
    // Node 0 (serving slots) times node 2 out; the empty master agrees.
    let now = net.now;
    net.nodes[0]
        .nodes
        .get_mut(&victim)
        .unwrap()
        .flags
        .insert(NodeFlags::PFAIL);
    let report = pfail_report(&net, 3, 2);
    net.nodes[0].handle_message(now, "127.0.0.1", report);
    assert!(
        !is_failed(&net.nodes[0]),
        "1 of 3 slot-owning masters plus an empty one is no majority"
    );
    assert_eq!(net.nodes[0].count_failure_reports(victim.as_bytes()), Ok(0));
    // Node 1 (serving slots) agrees too: 2 of 3.
    let report = pfail_report(&net, 1, 2);
    net.nodes[0].handle_message(now, "127.0.0.1", report);
    assert!(is_failed(&net.nodes[0]), "2 of 3 slot-owning masters");

    // The empty master does not count itself either.
    net.nodes[3]
        .nodes
        .get_mut(&victim)
        .unwrap()
        .flags
        .insert(NodeFlags::PFAIL);
    let report = pfail_report(&net, 0, 2);
    net.nodes[3].handle_message(now, "127.0.0.1", report);
    assert!(
        !is_failed(&net.nodes[3]),
        "an empty master's own PFAIL is no vote"
    );
    let report = pfail_report(&net, 1, 2);
    net.nodes[3].handle_message(now, "127.0.0.1", report);
    assert!(is_failed(&net.nodes[3]), "reports from 2 of 3 masters");
}

#[test]
fn crashed_master_is_replaced_and_rejoins_as_replica() {
    let mut net = Net::cluster(4, 3);
    let replica = net.id(3);
    net.down[0] = true; // master of node 3
    net.run(6_000);
    assert_eq!(
        net.nodes[3].master_of_myself(),
        None,
        "replica was not promoted"
    );
    assert!(net.nodes[1].slot_owner(0).is_some_and(|o| o.id == replica));
    assert!(net.nodes[1].state_ok());
    // The old master comes back and follows the winner.
    net.down[0] = false;
    net.run(4_000);
    assert_eq!(net.nodes[0].master_of_myself(), Some(replica));
}

/// Five nodes where node 2 (a master) has replicas 3 and 4; node 0, taken
/// out of the network and drained, sees node 2 as FAIL. Returns the net,
/// node 0, and the failover-auth request replica `r` would send for the
/// next epoch.
fn voter_for_a_failed_master(r: usize) -> (Net, Node, Message) {
    let mut net = Net::cluster(5, 3);
    let failed = net.id(2);
    // Make node 4 a second replica of node 2 (it was given node 1).
    net.nodes[4].reset(true);
    let now = net.now;
    net.nodes[4].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.run(2_000);
    net.nodes[4].replicate(failed.as_bytes()).ok();
    net.nodes[3].replicate(failed.as_bytes()).ok();
    net.run(2_000);
    let mut voter = std::mem::replace(&mut net.nodes[0], Node::new(config(9), 9, T0));
    // Node 2 is FAIL in the voter's view.
    voter
        .nodes
        .get_mut(&failed)
        .unwrap()
        .flags
        .insert(NodeFlags::FAIL);
    while voter.poll_transmit().is_some() {}
    while voter.poll_save().is_some() {}
    let mut header = net.nodes[r].header();
    header.current_epoch = voter.current_epoch() + 1;
    let request = Message {
        header,
        body: Body::FailoverAuthRequest,
    };
    (net, voter, request)
}

#[test]
fn votes_once_per_epoch_and_persists_before_acking() {
    let (net, mut a_node, request) = voter_for_a_failed_master(3);
    let epoch = request.header.current_epoch;
    a_node.handle_message(net.now, "127.0.0.1", request);
    let saved = a_node.poll_save().expect("the vote is persisted");
    assert_eq!(saved.last_vote_epoch, epoch);
    let acks = std::iter::from_fn(|| a_node.poll_transmit())
        .filter(|t| t.message.body == Body::FailoverAuthAck)
        .count();
    assert_eq!(acks, 1);
    // A second replica asking in the same epoch gets nothing.
    let mut header = net.nodes[4].header();
    header.current_epoch = epoch;
    let second = Message {
        header,
        body: Body::FailoverAuthRequest,
    };
    a_node.handle_message(net.now, "127.0.0.1", second);
    let acks = std::iter::from_fn(|| a_node.poll_transmit())
        .filter(|t| t.message.body == Body::FailoverAuthAck)
        .count();
    assert_eq!(acks, 0);
}

/// What a driver gets from `shell::drain` after a vote: the nodes.conf text
/// that records it, to make durable before the frame that casts it.
#[test]
fn the_drained_plan_saves_the_vote_it_casts() {
    let (net, mut voter, request) = voter_for_a_failed_master(3);
    let epoch = request.header.current_epoch;
    voter.handle_message(net.now, "127.0.0.1", request);
    let plan = super::shell::drain(&mut voter);
    let text = plan.save.expect("the vote changes the persisted state");
    let saved = super::nodes_conf::parse(&text).expect("our own text parses");
    assert_eq!(saved.last_vote_epoch, epoch);
    let acks: Vec<Message> = plan
        .sends
        .iter()
        .map(|out| match super::codec::decode(&out.frame) {
            Ok(Some((message, used))) if used == out.frame.len() => message,
            other => panic!("our own frame does not decode: {other:?}"),
        })
        .filter(|message| message.body == Body::FailoverAuthAck)
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(plan.sends[0].to, net.id(3));
    assert_eq!(plan.wake_at, voter.poll_timeout());
}

#[test]
fn no_vote_when_the_master_is_up() {
    let mut net = Net::cluster(4, 3);
    while net.nodes[1].poll_transmit().is_some() {}
    let mut header = net.nodes[3].header();
    header.current_epoch += 1;
    let now = net.now;
    net.nodes[1].handle_message(
        now,
        "127.0.0.1",
        Message {
            header,
            body: Body::FailoverAuthRequest,
        },
    );
    assert!(std::iter::from_fn(|| net.nodes[1].poll_transmit())
        .all(|t| t.message.body != Body::FailoverAuthAck));
}

#[test]
fn epoch_collision_smaller_id_bumps() {
    let mut net = Net::new(2);
    net.nodes[0].add_slots(&[0]).unwrap();
    net.nodes[1].add_slots(&[1]).unwrap();
    let now = net.now;
    net.nodes[1].meet(now, "127.0.0.1", 7000, 17000).unwrap();
    net.run(2_000);
    let (e0, e1) = (
        net.nodes[0].my_config_epoch(),
        net.nodes[1].my_config_epoch(),
    );
    assert_ne!(e0, e1);
    let smaller = if net.id(0) < net.id(1) { 0 } else { 1 };
    assert!(net.nodes[smaller].my_config_epoch() > net.nodes[1 - smaller].my_config_epoch());
}

#[test]
fn stale_claim_gets_an_update_and_newer_claim_wins() {
    let mut net = Net::cluster(3, 3);
    let stale_sender = net.id(1);
    // Node 1 claims slot 0 (node 0's, epoch 1) with an older epoch 0.
    let mut header = net.nodes[1].header();
    header.config_epoch = 0;
    header.slots.insert(0);
    while net.nodes[0].poll_transmit().is_some() {}
    let now = net.now;
    net.nodes[0].handle_message(
        now,
        "127.0.0.1",
        Message {
            header: header.clone(),
            body: Body::Ping { gossip: vec![] },
        },
    );
    let update = std::iter::from_fn(|| net.nodes[0].poll_transmit())
        .find(|t| matches!(t.message.body, Body::Update { .. }));
    let update = update.expect("an UPDATE to the stale sender");
    assert_eq!(update.to, stale_sender);
    assert!(
        matches!(update.message.body, Body::Update { node, config_epoch: 1, .. } if node == net.id(0))
    );
    // With a newer epoch the claim wins, and node 2 sees slot 0 move.
    header.config_epoch = 10;
    net.nodes[2].handle_message(
        now,
        "127.0.0.1",
        Message {
            header,
            body: Body::Ping { gossip: vec![] },
        },
    );
    assert_eq!(net.nodes[2].slot_owner(0).map(|o| o.id), Some(stale_sender));
    net.nodes[2].check_slot_table();
}

#[test]
fn losing_every_slot_makes_a_master_a_replica() {
    let mut net = Net::cluster(3, 3);
    let winner = net.id(1);
    let mut header = net.nodes[1].header();
    header.config_epoch = 10;
    for slot in net.nodes[0].my_slots().iter().collect::<Vec<_>>() {
        header.slots.insert(slot);
    }
    let now = net.now;
    net.nodes[0].handle_message(
        now,
        "127.0.0.1",
        Message {
            header,
            body: Body::Pong { gossip: vec![] },
        },
    );
    assert_eq!(net.nodes[0].master_of_myself(), Some(winner));
    let events: Vec<Event> = std::iter::from_fn(|| net.nodes[0].poll_event()).collect();
    assert!(events.contains(&Event::RoleChanged {
        master: Some(winner)
    }));
}

#[test]
fn admin_errors_have_redis_texts() {
    let mut net = Net::cluster(4, 3);
    let n = &mut net.nodes[0];
    assert_eq!(
        n.add_slots(&[0]).unwrap_err().to_string(),
        "ERR Slot 0 is already busy"
    );
    let free: u16 = 16383;
    n.del_slots(&[free]).ok();
    let mut fresh = Node::new(config(20), 20, T0);
    assert_eq!(
        fresh.add_slots(&[5, 5]).unwrap_err().to_string(),
        "ERR Slot 5 specified multiple times"
    );
    assert_eq!(
        fresh.del_slots(&[7]).unwrap_err().to_string(),
        "ERR Slot 7 is already unassigned"
    );
    assert_eq!(fresh.info().slots_assigned, 0, "all or nothing");
    let me = fresh.myself();
    assert_eq!(
        fresh.forget(T0, me.as_bytes()).unwrap_err().to_string(),
        "ERR I tried hard but I can't forget myself..."
    );
    assert_eq!(
        fresh.forget(T0, b"nope").unwrap_err().to_string(),
        "ERR Unknown node nope"
    );
    assert_eq!(
        fresh.replicate(me.as_bytes()).unwrap_err().to_string(),
        "ERR Can't replicate myself"
    );
    assert_eq!(
        fresh
            .failover(T0, FailoverMode::Default)
            .unwrap_err()
            .to_string(),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
    assert_eq!(
        fresh.meet(T0, "not-an-ip", 1, 2).unwrap_err().to_string(),
        "ERR Invalid node address specified: not-an-ip:1"
    );
    assert_eq!(fresh.bump_epoch(), (true, 1));
    assert_eq!(fresh.bump_epoch(), (false, 1));
    assert_eq!(
        fresh.set_config_epoch(3).unwrap_err().to_string(),
        "ERR Node config epoch is already non-zero"
    );
    let replica = &mut net.nodes[3];
    let master = replica.master_of_myself().unwrap();
    assert_eq!(
        replica
            .forget(T0, master.as_bytes())
            .unwrap_err()
            .to_string(),
        "ERR Can't forget my master!"
    );
    let n0 = net.id(0);
    assert_eq!(
        net.nodes[1].set_config_epoch(9).unwrap_err().to_string(),
        "ERR The user can assign a config epoch only when the node does not know any other node."
    );
    assert_eq!(
        net.nodes[1]
            .replicate(n0.as_bytes())
            .unwrap_err()
            .to_string(),
        "ERR To set a master the node must be empty and without assigned slots."
    );
    let r = net.id(3);
    assert_eq!(
        net.nodes[2]
            .replicate(r.as_bytes())
            .unwrap_err()
            .to_string(),
        "ERR I can only replicate a master, not a replica."
    );
}

#[test]
fn forget_blacklists_for_a_minute() {
    let mut net = Net::cluster(3, 3);
    let gone = net.id(2);
    let now = net.now;
    net.nodes[0].forget(now, gone.as_bytes()).unwrap();
    assert!(!net.nodes[0].knows(gone));
    assert!(
        net.nodes[0].slot_owner(16383).is_none(),
        "its slots become unassigned"
    );
    net.run(5_000);
    assert!(
        !net.nodes[0].knows(gone),
        "re-learned a forgotten node from gossip"
    );
}

#[test]
fn load_restores_the_table() {
    let mut net = Net::cluster(4, 3);
    let saved = net.nodes[3].poll_save().or_else(|| {
        net.nodes[3].save_pending = true;
        net.nodes[3].poll_save()
    });
    let saved = saved.unwrap();
    let loaded = Node::load(config(3), saved, 99, net.now).unwrap();
    assert_eq!(loaded.myself(), net.id(3));
    assert_eq!(loaded.master_of_myself(), Some(net.id(0)));
    assert_eq!(loaded.info().slots_assigned, 16384);
    assert_eq!(loaded.current_epoch(), net.nodes[3].current_epoch());
    loaded.check_slot_table();
}

#[test]
fn manual_failover_default_waits_for_the_master() {
    let mut net = Net::cluster(4, 3);
    let now = net.now;
    net.nodes[3].failover(now, FailoverMode::Default).unwrap();
    net.run(3_000);
    assert_eq!(net.nodes[3].master_of_myself(), None);
    assert_eq!(net.nodes[0].master_of_myself(), Some(net.id(3)));
}

#[test]
fn a_manual_failover_asks_again_when_its_mfstart_is_lost() {
    let mut net = Net::cluster(4, 3);
    let now = net.now;
    // The master misses the request (its link dropped it).
    net.down[0] = true;
    net.nodes[3].failover(now, FailoverMode::Default).unwrap();
    net.pump();
    net.down[0] = false;
    net.run(3_000);
    assert_eq!(net.nodes[3].master_of_myself(), None);
    assert_eq!(net.nodes[0].master_of_myself(), Some(net.id(3)));
}

/// One arbitrary, possibly nonsensical message.
fn odd_message(ids: &[NodeId], op: (u8, u16, u64, u8)) -> Message {
    let (kind, slot, epoch, who) = op;
    let sender = ids[usize::from(who) % ids.len()];
    let other = ids[usize::from(who / 7) % ids.len()];
    let mut slots = SlotSet::new();
    slots.insert(slot % 16384);
    slots.insert(slot.wrapping_mul(31) % 16384);
    let header = Header {
        sender,
        current_epoch: epoch % 20,
        config_epoch: epoch % 13,
        repl_offset: epoch,
        slots: slots.clone(),
        master: (who % 3 == 0).then_some(other),
        ip: if who % 2 == 0 {
            String::new()
        } else {
            "127.0.0.9".into()
        },
        port: slot,
        bus_port: slot.wrapping_add(1),
        hostname: String::new(),
        shard_id: sender,
        flags: NodeFlags::from_bits(u16::from(kind)),
        state_fail: kind % 2 == 0,
        paused: kind % 3 == 0,
        force_ack: kind % 5 == 0,
    };
    let gossip = vec![Gossip {
        node: other,
        ping_sent_ago_ms: epoch,
        pong_received_ago_ms: epoch.wrapping_mul(3),
        ip: "127.0.0.8".into(),
        port: 1,
        bus_port: 2,
        flags: NodeFlags::from_bits(u16::from(kind) << 2),
    }];
    let body = match kind % 10 {
        0 => Body::Ping { gossip },
        1 => Body::Pong { gossip },
        2 => Body::Meet { gossip },
        3 => Body::Fail { node: other },
        4 => Body::Publish {
            sharded: who % 2 == 0,
            channel: vec![1],
            message: vec![2],
        },
        5 => Body::FailoverAuthRequest,
        6 => Body::FailoverAuthAck,
        7 => Body::Update {
            node: other,
            config_epoch: epoch % 17,
            slots,
        },
        8 => Body::MfStart,
        _ => Body::Pong { gossip: vec![] },
    };
    Message { header, body }
}

#[test]
fn slot_ranges_cross_byte_edges() {
    let set = |slots: &[u16]| {
        let mut set = SlotSet::new();
        slots.iter().for_each(|&s| set.insert(s));
        set
    };
    let all: Vec<u16> = (0..16384).collect();
    assert_eq!(set(&all).ranges(), vec![(0, 16383)]);
    assert_eq!(set(&[7, 8]).ranges(), vec![(7, 8)]);
    let byte_and_after: Vec<u16> = (8..17).collect();
    assert_eq!(set(&byte_and_after).ranges(), vec![(8, 16)]);
    assert_eq!(
        set(&[0, 2, 16383]).ranges(),
        vec![(0, 0), (2, 2), (16383, 16383)]
    );
    assert_eq!(SlotSet::new().ranges(), vec![]);
}

quickcheck! {
    /// Whatever arrives, in whatever order, the node never panics and its
    /// slot table stays consistent.
    fn odd_messages_never_break_the_table(ops: Vec<(u8, u16, u64, u8)>, ticks: Vec<u16>) -> bool {
        let mut net = Net::cluster(4, 3);
        let mut ids: Vec<NodeId> = (0..4).map(|i| net.id(i)).collect();
        ids.push(NodeId::parse(&[b'a'; 40]).unwrap());
        let mut now = net.now;
        let node = &mut net.nodes[0];
        for (k, op) in ops.into_iter().enumerate() {
            now += u64::from(ticks.get(k).copied().unwrap_or(0) % 500);
            node.handle_message(now, "127.0.0.7", odd_message(&ids, op));
            node.handle_timeout(now);
            while node.poll_transmit().is_some() {}
            while node.poll_event().is_some() {}
            node.poll_save();
        }
        node.check_slot_table();
        node.debug_check();
        true
    }

    /// `ranges` (byte-wise) are the maximal runs of the slots `iter` yields.
    /// Runs of random lengths, so full, empty and mixed bytes all occur.
    fn slot_ranges_are_the_runs_of_the_slots(runs: Vec<(u16, u16)>) -> bool {
        let mut set = SlotSet::new();
        for (start, len) in runs {
            let start = start % 16384;
            for slot in start..start.saturating_add(len % 40).min(16384) {
                set.insert(slot);
            }
        }
        let mut expected: Vec<(u16, u16)> = Vec::new();
        for slot in set.iter() {
            match expected.last_mut() {
                Some((_, last)) if *last + 1 == slot => *last = slot,
                _ => expected.push((slot, slot)),
            }
        }
        set.ranges() == expected
    }
}

mod migration;
