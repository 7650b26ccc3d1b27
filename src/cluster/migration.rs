//! Moving a slot between masters, Redis' way: CLUSTER SETSLOT marks a slot
//! MIGRATING on its owner and IMPORTING on the receiver, keys move one at a
//! time (MIGRATE, in the command layer), and SETSLOT NODE hands the slot
//! over. While a slot is marked, the routing guard sends a client whose key
//! is gone to the receiver (`-ASK`), which serves it only after ASKING.
//!
//! And beyond Redis, whole slots at once (CLUSTER MIGRATESLOTS, driven by
//! the server): the receiver takes the slots in one step once it holds
//! their data ([`Node::take_slots`]), and the old owner lets them go
//! ([`Node::give_slots`]).

use super::error::ClusterError;
use super::node::Node;
use super::NodeId;

/// CLUSTER SETSLOT's actions; the ids are as the client sent them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetSlot<'a> {
    Migrating(&'a [u8]),
    Importing(&'a [u8]),
    Stable,
    Node(&'a [u8]),
}

impl Node {
    /// CLUSTER SETSLOT, with Redis 7.0's checks and replies.
    /// `holds_keys` says whether this node has keys in `slot` (only NODE
    /// asks).
    pub fn set_slot(
        &mut self,
        slot: u16,
        action: SetSlot<'_>,
        holds_keys: bool,
    ) -> Result<(), ClusterError> {
        if self.me().is_replica() {
            return Err(ClusterError::new(
                "ERR Please use SETSLOT only with masters.",
            ));
        }
        let owner = self.slot_owner[usize::from(slot)];
        let mine = owner == Some(self.myself);
        match action {
            SetSlot::Migrating(id) => {
                if !mine {
                    return Err(ClusterError::new(format!(
                        "ERR I'm not the owner of hash slot {slot}"
                    )));
                }
                let to = self.master_named(id, "I don't know about node")?;
                self.migrating.insert(slot, to);
            }
            SetSlot::Importing(id) => {
                if mine {
                    return Err(ClusterError::new(format!(
                        "ERR I'm already the owner of hash slot {slot}"
                    )));
                }
                let from = self.master_named(id, "I don't know about node")?;
                self.importing.insert(slot, from);
            }
            SetSlot::Stable => {
                self.migrating.remove(&slot);
                self.importing.remove(&slot);
            }
            SetSlot::Node(id) => self.hand_slot_to(slot, id, holds_keys)?,
        }
        self.save_pending = true;
        self.update_state();
        Ok(())
    }

    /// SETSLOT NODE: `slot` is served by `id` from now on.
    fn hand_slot_to(&mut self, slot: u16, id: &[u8], holds_keys: bool) -> Result<(), ClusterError> {
        let to = self.master_named(id, "Unknown node")?;
        let me = self.myself;
        let was_mine = self.slot_owner[usize::from(slot)] == Some(me);
        if was_mine && to != me && holds_keys {
            return Err(ClusterError::new(format!(
                "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
            )));
        }
        if !holds_keys {
            self.migrating.remove(&slot);
        }
        self.assign_slot(slot, to);
        self.slots_changed();
        if was_mine && to != me {
            self.follow_if_slotless(to);
        }
        if to == me && self.importing.remove(&slot).is_some() {
            // Moved by hand, not by an election: a new epoch makes this
            // owner win wherever the old one is still believed. A collision
            // with a concurrent failover is resolved like any other.
            if self.bump_config_epoch_without_consensus() {
                self.log(
                    true,
                    format!("configEpoch updated after importing slot {slot}"),
                );
            }
            self.broadcast_pong_to_all();
        }
        Ok(())
    }

    /// The receiver's side of a whole-slot migration from `from`, once it
    /// holds the slots' data: it owns `slots` from now on, under a new
    /// config epoch (taken without consensus, as SETSLOT NODE on an
    /// importer does) that makes its claim win wherever `from` is still
    /// believed. Refused unless myself is a master and `from` still owns
    /// every one of them in my view.
    pub fn take_slots(&mut self, slots: &[u16], from: &[u8]) -> Result<(), ClusterError> {
        self.check_import(slots, from)?;
        let me = self.myself;
        for &slot in slots {
            self.migrating.remove(&slot);
            self.importing.remove(&slot);
            self.assign_slot(slot, me);
        }
        self.slots_claimed = true;
        self.slots_changed();
        if self.bump_config_epoch_without_consensus() {
            self.log(
                true,
                format!("configEpoch updated after importing {} slots", slots.len()),
            );
        }
        self.broadcast_pong_to_all();
        self.update_state();
        Ok(())
    }

    /// Whether myself may import `slots` from `from`: I am a master, and
    /// `from` serves every one of them in my view.
    pub fn check_import(&self, slots: &[u16], from: &[u8]) -> Result<(), ClusterError> {
        if self.me().is_replica() {
            return Err(ClusterError::new("ERR only a master imports slots"));
        }
        let from = self.master_named(from, "I don't know about node")?;
        match slots
            .iter()
            .find(|&&slot| self.slot_owner[usize::from(slot)] != Some(from))
        {
            Some(slot) => Err(ClusterError::new(format!(
                "ERR hash slot {slot} is not served by {from} any more"
            ))),
            None => Ok(()),
        }
    }

    /// Whether myself may move `slots` to `to` as a whole (CLUSTER
    /// MIGRATESLOTS): I am a master that serves them, none is open for a
    /// key-by-key migration, and `to` is another known master. Returns its
    /// client address.
    pub fn check_export(&self, slots: &[u16], to: &[u8]) -> Result<(String, u16), ClusterError> {
        if self.me().is_replica() {
            return Err(ClusterError::new("ERR only a master migrates slots"));
        }
        let to = self.master_named(to, "I don't know about node")?;
        if to == self.myself {
            return Err(ClusterError::new("ERR the target node is myself"));
        }
        for &slot in slots {
            if self.slot_owner[usize::from(slot)] != Some(self.myself) {
                return Err(ClusterError::new(format!(
                    "ERR I'm not the owner of hash slot {slot}"
                )));
            }
            if self.migrating.contains_key(&slot) || self.importing.contains_key(&slot) {
                return Err(ClusterError::new(format!(
                    "ERR hash slot {slot} is open for a migration by SETSLOT"
                )));
            }
        }
        self.address_of(to)
            .ok_or_else(|| ClusterError::new("ERR the target node has no address"))
    }

    /// The old owner's side of a whole-slot migration: `to` serves `slots`
    /// now. Like SETSLOT NODE on the owner: no epoch of mine changes (the
    /// receiver's claim carries a greater one), and a master left without
    /// slots follows `to`. Slots I no longer own are left as they are.
    pub fn give_slots(&mut self, slots: &[u16], to: &[u8]) -> Result<(), ClusterError> {
        let to = self.master_named(to, "Unknown node")?;
        let me = self.myself;
        for &slot in slots {
            self.migrating.remove(&slot);
            if self.slot_owner[usize::from(slot)] == Some(me) {
                self.assign_slot(slot, to);
            }
        }
        self.slots_changed();
        self.follow_if_slotless(to);
        self.update_state();
        Ok(())
    }

    /// A master left without slots follows the one that took them
    /// (cluster-allow-replica-migration, on by default).
    fn follow_if_slotless(&mut self, to: NodeId) {
        if self.me().is_master() && self.me().numslots == 0 {
            self.log(
                true,
                format!("Configuration change detected. Reconfiguring myself as a replica of {to}"),
            );
            self.set_my_master(to);
        }
    }

    /// At start, Redis' `verifyClusterConfigWithData`: a master holding
    /// keys in `slots_with_keys` that it does not serve takes those nobody
    /// serves, and marks the others importing from their owner (`redis-cli
    /// --cluster fix` then settles them). A replica's keys are its
    /// master's: it checks nothing.
    pub fn adopt_slots_with_keys(&mut self, slots_with_keys: &[u16]) {
        if self.me().is_replica() {
            return;
        }
        let me = self.myself;
        let mut claimed = Vec::new();
        for &slot in slots_with_keys {
            let owner = self.slot_owner[usize::from(slot)];
            if owner == Some(me) || self.importing.contains_key(&slot) {
                continue;
            }
            match owner {
                None => {
                    self.log(
                        true,
                        format!(
                            "I have keys for unassigned slot {slot}. Taking responsibility for it."
                        ),
                    );
                    claimed.push(slot);
                }
                Some(owner) => {
                    self.log(
                        true,
                        format!("I have keys for slot {slot}, but the slot is assigned to another node. Setting it to importing state."),
                    );
                    self.importing.insert(slot, owner);
                    self.save_pending = true;
                }
            }
        }
        if !claimed.is_empty() {
            for &slot in &claimed {
                self.assign_slot(slot, me);
            }
            self.slots_claimed = true;
            self.slots_changed();
            self.update_state();
        }
    }

    /// A known master by id, or Redis' error (`unknown` names the case).
    fn master_named(&self, id: &[u8], unknown: &str) -> Result<NodeId, ClusterError> {
        let Some(node) = NodeId::parse(id).and_then(|id| self.nodes.get(&id)) else {
            return Err(ClusterError::new(format!(
                "ERR {unknown} {}",
                String::from_utf8_lossy(id)
            )));
        };
        if node.is_replica() {
            return Err(ClusterError::new("ERR Target node is not a master"));
        }
        Ok(node.id)
    }

    /// Where myself is moving `slot`, while it is MIGRATING.
    pub fn migrating_to(&self, slot: u16) -> Option<NodeId> {
        self.migrating.get(&slot).copied()
    }

    /// Where myself is taking `slot` from, while it is IMPORTING.
    pub fn importing_from(&self, slot: u16) -> Option<NodeId> {
        self.importing.get(&slot).copied()
    }
}
