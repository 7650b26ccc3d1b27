//! CLUSTER SETSLOT and the migration state of the node.

use super::*;
use crate::cluster::nodes_conf;
use crate::cluster::SetSlot;

/// The slot the tests move: master 0's (0..5461 in a three-master net).
const SLOT: u16 = 100;

fn owner(net: &Net, view: usize, slot: u16) -> Option<NodeId> {
    net.nodes[view].slot_owner(slot).map(|o| o.id)
}

fn error(result: Result<(), crate::cluster::ClusterError>) -> String {
    result.expect_err("an error").to_string()
}

#[test]
fn setslot_refusals_have_redis_texts() {
    let mut net = Net::cluster(4, 3);
    let (id0, id1, id3) = (net.id(0), net.id(1), net.id(3));
    let unknown = [b'f'; 40];
    let no_keys = false;
    assert_eq!(
        error(net.nodes[3].set_slot(SLOT, SetSlot::Stable, no_keys)),
        "ERR Please use SETSLOT only with masters."
    );
    assert_eq!(
        error(net.nodes[1].set_slot(SLOT, SetSlot::Migrating(id0.as_bytes()), no_keys)),
        format!("ERR I'm not the owner of hash slot {SLOT}")
    );
    assert_eq!(
        error(net.nodes[0].set_slot(SLOT, SetSlot::Importing(id1.as_bytes()), no_keys)),
        format!("ERR I'm already the owner of hash slot {SLOT}")
    );
    assert_eq!(
        error(net.nodes[0].set_slot(SLOT, SetSlot::Migrating(&unknown), no_keys)),
        format!("ERR I don't know about node {}", "f".repeat(40))
    );
    assert_eq!(
        error(net.nodes[0].set_slot(SLOT, SetSlot::Node(b"nobody"), no_keys)),
        "ERR Unknown node nobody"
    );
    assert_eq!(
        error(net.nodes[0].set_slot(SLOT, SetSlot::Migrating(id3.as_bytes()), no_keys)),
        "ERR Target node is not a master"
    );
    assert_eq!(
        error(net.nodes[0].set_slot(SLOT, SetSlot::Node(id1.as_bytes()), true)),
        format!("ERR Can't assign hashslot {SLOT} to a different node while I still hold keys for this hash slot.")
    );
    assert_eq!(
        owner(&net, 0, SLOT),
        Some(id0),
        "a refused SETSLOT changed nothing"
    );
}

/// What `redis-cli --cluster reshard` does for one slot: IMPORTING on the
/// receiver, MIGRATING on the owner, (the keys move,) NODE on the
/// receiver, then on the owner. Everyone learns the new owner, whose new
/// config epoch is the greatest and unique.
#[test]
fn a_slot_moves_by_setslot_and_everyone_learns_it() {
    let mut net = Net::cluster(4, 3);
    let (id0, id1) = (net.id(0), net.id(1));
    net.nodes[1]
        .set_slot(SLOT, SetSlot::Importing(id0.as_bytes()), false)
        .unwrap();
    net.nodes[0]
        .set_slot(SLOT, SetSlot::Migrating(id1.as_bytes()), false)
        .unwrap();
    assert_eq!(net.nodes[1].importing_from(SLOT), Some(id0));
    assert_eq!(net.nodes[0].migrating_to(SLOT), Some(id1));
    let before = net.nodes[1].my_config_epoch();
    net.nodes[1]
        .set_slot(SLOT, SetSlot::Node(id1.as_bytes()), true)
        .unwrap();
    assert_eq!(net.nodes[1].importing_from(SLOT), None);
    assert!(net.nodes[1].my_config_epoch() > before, "no epoch bump");
    net.nodes[0]
        .set_slot(SLOT, SetSlot::Node(id1.as_bytes()), false)
        .unwrap();
    assert_eq!(net.nodes[0].migrating_to(SLOT), None);
    net.run(2_000);
    for view in 0..4 {
        assert_eq!(owner(&net, view, SLOT), Some(id1), "view of node {view}");
        net.nodes[view].check_slot_table();
    }
    let epochs: Vec<u64> = (0..3).map(|m| net.nodes[m].my_config_epoch()).collect();
    let mut unique = epochs.clone();
    unique.dedup();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "epochs {epochs:?}");
    assert_eq!(epochs.iter().max(), Some(&net.nodes[1].my_config_epoch()));
}

/// The receiver takes an importing slot only by SETSLOT: a newer claim
/// heard meanwhile is ignored there (while the others follow it).
#[test]
fn an_importing_slot_ignores_claims_from_gossip() {
    let mut net = Net::cluster(4, 3);
    let (id0, id2) = (net.id(0), net.id(2));
    net.nodes[1]
        .set_slot(SLOT, SetSlot::Importing(id0.as_bytes()), false)
        .unwrap();
    // Node 2 (epoch 3, newer than node 0's 1) claims the slot.
    net.nodes[2].del_slots(&[SLOT]).unwrap();
    net.nodes[2].add_slots(&[SLOT]).unwrap();
    net.run(2_000);
    assert_eq!(owner(&net, 1, SLOT), Some(id0), "importing view changed");
    assert_eq!(owner(&net, 0, SLOT), Some(id2));
    assert_eq!(owner(&net, 3, SLOT), Some(id2));
    // ADDSLOTS of an importing slot ends the import.
    net.nodes[1].del_slots(&[SLOT]).unwrap();
    assert_eq!(net.nodes[1].importing_from(SLOT), None);
}

#[test]
fn a_master_that_hands_over_its_last_slot_becomes_a_replica() {
    let mut net = Net::cluster(3, 2);
    let id1 = net.id(1);
    let mine: Vec<u16> = (0..8192).collect();
    // Keep one slot, hand over the rest without ceremony.
    net.nodes[0].del_slots(&mine[1..]).unwrap();
    net.nodes[0]
        .set_slot(0, SetSlot::Node(id1.as_bytes()), false)
        .unwrap();
    assert_eq!(net.nodes[0].master_of_myself(), Some(id1));
}

#[test]
fn migration_state_survives_a_restart_and_forgetting_a_node_clears_it() {
    let mut net = Net::cluster(4, 3);
    let (id1, id2) = (net.id(1), net.id(2));
    net.nodes[0]
        .set_slot(SLOT, SetSlot::Migrating(id1.as_bytes()), false)
        .unwrap();
    net.nodes[0]
        .set_slot(6000, SetSlot::Importing(id1.as_bytes()), false)
        .unwrap();
    net.nodes[0]
        .set_slot(11000, SetSlot::Importing(id2.as_bytes()), false)
        .unwrap();
    let text = nodes_conf::serialize(&net.nodes[0].persisted());
    assert!(text.contains(&format!("[{SLOT}->-{id1}]")), "{text}");
    assert!(text.contains(&format!("[6000-<-{id1}]")), "{text}");
    let saved = nodes_conf::parse(&text).unwrap();
    let mut loaded = Node::load(config(0), saved, 7, net.now).unwrap();
    assert_eq!(loaded.migrating_to(SLOT), Some(id1));
    assert_eq!(loaded.importing_from(6000), Some(id1));
    assert_eq!(loaded.importing_from(11000), Some(id2));
    let now = net.now;
    loaded.forget(now, id1.as_bytes()).unwrap();
    assert_eq!(loaded.migrating_to(SLOT), None);
    assert_eq!(loaded.importing_from(6000), None);
    assert_eq!(loaded.importing_from(11000), Some(id2));
    loaded.set_slot(11000, SetSlot::Stable, false).unwrap();
    assert_eq!(loaded.importing_from(11000), None);
}

/// A master that learns from gossip that the node it was migrating its
/// last slot to took it becomes that node's replica, and a replica moves
/// no slot: the migrating state goes (Redis' clusterCloseAllSlots). Else
/// the slot stayed open on it, as `redis-cli --cluster check` saw.
#[test]
fn a_master_that_becomes_a_replica_closes_its_open_slots() {
    let mut net = Net::cluster(3, 2);
    let (id0, id1) = (net.id(0), net.id(1));
    let mine: Vec<u16> = (1..8192).collect();
    net.nodes[0].del_slots(&mine).unwrap();
    net.nodes[1]
        .set_slot(0, SetSlot::Importing(id0.as_bytes()), false)
        .unwrap();
    net.nodes[0]
        .set_slot(0, SetSlot::Migrating(id1.as_bytes()), false)
        .unwrap();
    net.nodes[1]
        .set_slot(0, SetSlot::Node(id1.as_bytes()), false)
        .unwrap();
    net.run(2_000);
    assert_eq!(net.nodes[0].master_of_myself(), Some(id1));
    assert_eq!(net.nodes[0].migrating_to(0), None);
}

/// A master that loses a slot to a claim with a greater epoch, and keeps
/// others, tells its driver to drop the keys it holds there.
#[test]
fn a_master_losing_a_slot_to_a_newer_claim_reports_it() {
    let mut net = Net::cluster(4, 3);
    while net.nodes[0].poll_event().is_some() {}
    // Node 2 (epoch 3, newer than node 0's 1) claims node 0's slot.
    net.nodes[2].del_slots(&[SLOT]).unwrap();
    net.nodes[2].add_slots(&[SLOT]).unwrap();
    net.run(2_000);
    let events: Vec<Event> = std::iter::from_fn(|| net.nodes[0].poll_event()).collect();
    assert!(
        events.contains(&Event::SlotsLost { slots: vec![SLOT] }),
        "{events:?}"
    );
    assert_eq!(net.nodes[0].master_of_myself(), None);
}

/// A whole-slot migration: the receiver takes the slots in one step under
/// a new greatest epoch, the old owner gives them up, and every node
/// learns the new owner from gossip.
#[test]
fn whole_slots_move_by_take_and_give() {
    let mut net = Net::cluster(4, 3);
    let (id0, id1) = (net.id(0), net.id(1));
    let slots: Vec<u16> = (0..100).collect();
    let before = net.nodes[1].my_config_epoch();
    net.nodes[1].take_slots(&slots, id0.as_bytes()).unwrap();
    assert!(net.nodes[1].my_config_epoch() > before, "no epoch bump");
    assert!(net.nodes[1].poll_sync_needed(), "a claim must be synced");
    net.nodes[0].give_slots(&slots, id1.as_bytes()).unwrap();
    assert_eq!(owner(&net, 0, 0), Some(id1));
    net.run(2_000);
    for view in 0..4 {
        for &slot in &[0, 99] {
            assert_eq!(owner(&net, view, slot), Some(id1), "view of node {view}");
        }
        assert_eq!(owner(&net, view, 100), Some(id0), "view of node {view}");
        net.nodes[view].check_slot_table();
    }
}

/// The claim alone is enough: an old owner that never hears the outcome
/// from its migration learns it from gossip, and drops the keys.
#[test]
fn the_old_owner_learns_a_whole_slot_take_from_gossip() {
    let mut net = Net::cluster(4, 3);
    let (id0, id1) = (net.id(0), net.id(1));
    while net.nodes[0].poll_event().is_some() {}
    net.nodes[1]
        .take_slots(&[SLOT, SLOT + 1], id0.as_bytes())
        .unwrap();
    net.run(2_000);
    assert_eq!(owner(&net, 0, SLOT), Some(id1));
    let events: Vec<Event> = std::iter::from_fn(|| net.nodes[0].poll_event()).collect();
    assert!(
        events.contains(&Event::SlotsLost {
            slots: vec![SLOT, SLOT + 1]
        }),
        "{events:?}"
    );
}

#[test]
fn take_slots_refuses_a_replica_an_unknown_node_and_a_moved_slot() {
    let mut net = Net::cluster(4, 3);
    let (id0, id2) = (net.id(0), net.id(2));
    assert_eq!(
        error(net.nodes[3].take_slots(&[SLOT], id0.as_bytes())),
        "ERR only a master imports slots"
    );
    assert_eq!(
        error(net.nodes[1].take_slots(&[SLOT], b"nobody")),
        "ERR I don't know about node nobody"
    );
    // Slot 16000 is node 2's, not node 0's.
    assert_eq!(
        error(net.nodes[1].take_slots(&[SLOT, 16000], id0.as_bytes())),
        format!("ERR hash slot 16000 is not served by {id0} any more")
    );
    assert_eq!(owner(&net, 1, SLOT), Some(id0), "a refusal changed nothing");
    assert_eq!(owner(&net, 1, 16000), Some(id2));
}

#[test]
fn a_master_that_gives_away_its_last_slots_follows_the_taker() {
    let mut net = Net::cluster(3, 2);
    let id1 = net.id(1);
    let mine: Vec<u16> = (0..8192).collect();
    net.nodes[0].give_slots(&mine, id1.as_bytes()).unwrap();
    assert_eq!(net.nodes[0].master_of_myself(), Some(id1));
}

#[test]
fn check_export_refuses_what_migrateslots_cannot_move() {
    let mut net = Net::cluster(4, 3);
    let (id0, id1, id3) = (net.id(0), net.id(1), net.id(3));
    assert_eq!(
        error(
            net.nodes[3]
                .check_export(&[SLOT], id1.as_bytes())
                .map(|_| ())
        ),
        "ERR only a master migrates slots"
    );
    assert_eq!(
        error(
            net.nodes[0]
                .check_export(&[SLOT], id0.as_bytes())
                .map(|_| ())
        ),
        "ERR the target node is myself"
    );
    assert_eq!(
        error(
            net.nodes[0]
                .check_export(&[SLOT], id3.as_bytes())
                .map(|_| ())
        ),
        "ERR Target node is not a master"
    );
    assert_eq!(
        error(
            net.nodes[0]
                .check_export(&[SLOT, 16000], id1.as_bytes())
                .map(|_| ())
        ),
        "ERR I'm not the owner of hash slot 16000"
    );
    net.nodes[0]
        .set_slot(SLOT, SetSlot::Migrating(id1.as_bytes()), false)
        .unwrap();
    assert_eq!(
        error(
            net.nodes[0]
                .check_export(&[SLOT], id1.as_bytes())
                .map(|_| ())
        ),
        format!("ERR hash slot {SLOT} is open for a migration by SETSLOT")
    );
    let (_, port) = net.nodes[0]
        .check_export(&[SLOT + 1], id1.as_bytes())
        .unwrap();
    assert_eq!(Some(port), net.nodes[0].address_of(id1).map(|(_, p)| p));
}

/// Redis' verifyClusterConfigWithData: keys in a slot nobody serves make
/// the master take it; keys in another master's slot mark it importing;
/// a replica and slots in order are left alone.
#[test]
fn keys_in_slots_not_served_are_adopted_or_marked_importing_at_start() {
    let mut net = Net::cluster(4, 3);
    let (id0, id2) = (net.id(0), net.id(2));
    net.nodes[0].del_slots(&[SLOT]).unwrap();
    let before = net.nodes[0].my_config_epoch();
    net.nodes[0].adopt_slots_with_keys(&[SLOT, SLOT + 1, 16000]);
    assert_eq!(
        owner(&net, 0, SLOT),
        Some(id0),
        "an unassigned slot is taken"
    );
    assert!(net.nodes[0].poll_sync_needed(), "a claim must be synced");
    assert_eq!(net.nodes[0].my_config_epoch(), before);
    assert_eq!(net.nodes[0].importing_from(SLOT + 1), None, "its own slot");
    assert_eq!(net.nodes[0].importing_from(16000), Some(id2));
    assert_eq!(owner(&net, 0, 16000), Some(id2));
    let text = nodes_conf::serialize(&net.nodes[0].persisted());
    assert!(text.contains(&format!("[16000-<-{id2}]")), "{text}");
    // A replica's keys are its master's.
    net.nodes[3].adopt_slots_with_keys(&[16000]);
    assert_eq!(net.nodes[3].importing_from(16000), None);
}
