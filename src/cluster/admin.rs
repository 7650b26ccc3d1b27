//! CLUSTER subcommands that change the node: MEET, ADDSLOTS, DELSLOTS,
//! FLUSHSLOTS, FORGET, REPLICATE, RESET, SET-CONFIG-EPOCH, BUMPEPOCH and
//! COUNT-FAILURE-REPORTS. Argument syntax is the command layer's; semantic
//! errors carry Redis' reply texts. (FAILOVER lives in `failover`.)

use super::error::ClusterError;
use super::node::{Entry, Event, Node, BLACKLIST_TTL};
use super::{NodeFlags, NodeId, SlotSet};
use crate::slot::SLOT_COUNT;

impl Node {
    // ----- admin commands -----

    /// CLUSTER MEET: starts a handshake with the node at that address.
    pub fn meet(
        &mut self,
        now: u64,
        ip: &str,
        port: u16,
        bus_port: u16,
    ) -> Result<(), ClusterError> {
        self.tick(now);
        let normalized = match ip.parse::<std::net::IpAddr>() {
            Ok(addr) if port != 0 && bus_port != 0 => addr.to_string(),
            _ => {
                return Err(ClusterError::new(format!(
                    "ERR Invalid node address specified: {ip}:{port}"
                )))
            }
        };
        self.start_handshake(&normalized, port, bus_port);
        Ok(())
    }

    /// Adds a handshake entry for `ip:bus_port` unless one is in progress.
    pub(crate) fn start_handshake(&mut self, ip: &str, port: u16, bus_port: u16) {
        let in_progress = self
            .nodes
            .values()
            .any(|e| e.in_handshake() && e.ip == ip && e.bus_port == bus_port);
        if in_progress {
            return;
        }
        let id = self.fresh_id();
        let mut entry = Entry::new(id, NodeFlags::HANDSHAKE | NodeFlags::MEET, self.now);
        entry.ip = ip.to_string();
        entry.port = port;
        entry.bus_port = bus_port;
        self.nodes.insert(id, entry);
    }

    /// CLUSTER ADDSLOTS: all or nothing.
    pub fn add_slots(&mut self, slots: &[u16]) -> Result<(), ClusterError> {
        self.check_slots(slots, false)?;
        let me = self.myself;
        for &slot in slots {
            // Now the real owner, not importing any more.
            self.importing.remove(&slot);
            self.assign_slot(slot, me);
        }
        self.slots_claimed = true;
        self.slots_changed();
        Ok(())
    }

    /// CLUSTER DELSLOTS: all or nothing; unassigns slots whoever serves them.
    pub fn del_slots(&mut self, slots: &[u16]) -> Result<(), ClusterError> {
        self.check_slots(slots, true)?;
        for &slot in slots {
            self.importing.remove(&slot);
            self.unassign_slot(slot);
        }
        self.slots_changed();
        Ok(())
    }

    fn check_slots(&self, slots: &[u16], del: bool) -> Result<(), ClusterError> {
        let mut seen = SlotSet::new();
        for &slot in slots {
            if slot >= SLOT_COUNT {
                return Err(ClusterError::new("ERR Invalid or out of range slot"));
            }
            let owned = self.slot_owner[usize::from(slot)].is_some();
            if del && !owned {
                return Err(ClusterError::new(format!(
                    "ERR Slot {slot} is already unassigned"
                )));
            }
            if !del && owned {
                return Err(ClusterError::new(format!(
                    "ERR Slot {slot} is already busy"
                )));
            }
            if seen.contains(slot) {
                return Err(ClusterError::new(format!(
                    "ERR Slot {slot} specified multiple times"
                )));
            }
            seen.insert(slot);
        }
        Ok(())
    }

    /// CLUSTER FLUSHSLOTS (the driver checks that the database is empty).
    pub fn flush_slots(&mut self) {
        let mine: Vec<u16> = self.me().slots.iter().collect();
        for slot in mine {
            self.unassign_slot(slot);
        }
        self.slots_changed();
    }

    /// CLUSTER FORGET: drops the node and refuses to re-learn it for 60 s.
    pub fn forget(&mut self, now: u64, id: &[u8]) -> Result<(), ClusterError> {
        self.tick(now);
        let target = self.lookup(id)?;
        if target == self.myself {
            return Err(ClusterError::new(
                "ERR I tried hard but I can't forget myself...",
            ));
        }
        if self.me().is_replica() && self.me().master == Some(target) {
            return Err(ClusterError::new("ERR Can't forget my master!"));
        }
        self.blacklist.insert(target, self.now + BLACKLIST_TTL);
        self.del_node(target);
        self.update_state();
        Ok(())
    }

    /// CLUSTER REPLICATE (the driver checks that the database is empty).
    pub fn replicate(&mut self, id: &[u8]) -> Result<(), ClusterError> {
        let target = self.lookup(id)?;
        if target == self.myself {
            return Err(ClusterError::new("ERR Can't replicate myself"));
        }
        if self.nodes.get(&target).is_some_and(Entry::is_replica) {
            return Err(ClusterError::new(
                "ERR I can only replicate a master, not a replica.",
            ));
        }
        if self.me().is_master() && self.me().numslots != 0 {
            return Err(ClusterError::new(
                "ERR To set a master the node must be empty and without assigned slots.",
            ));
        }
        self.set_my_master(target);
        self.update_state();
        Ok(())
    }

    /// CLUSTER RESET SOFT|HARD (the driver checks that a master is empty).
    pub fn reset(&mut self, hard: bool) {
        if self.me().is_replica() {
            self.set_as_master(self.myself);
            self.events.push_back(Event::RoleChanged { master: None });
        }
        self.reset_manual_failover();
        self.migrating.clear();
        self.importing.clear();
        for slot in 0..SLOT_COUNT {
            if self.slot_owner[usize::from(slot)].is_some() {
                self.unassign_slot(slot);
            }
        }
        let others: Vec<NodeId> = self.peers().map(|e| e.id).collect();
        for id in others {
            self.del_node(id);
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            let new_id = self.fresh_id();
            if let Some(mut me) = self.nodes.remove(&self.myself) {
                me.config_epoch = 0;
                me.id = new_id;
                self.nodes.insert(new_id, me);
            }
            self.myself = new_id;
            self.log(false, format!("Node hard reset, now I'm {new_id}"));
        }
        self.slots_changed();
        self.update_state();
    }

    /// CLUSTER SET-CONFIG-EPOCH, for `redis-cli --cluster create`.
    pub fn set_config_epoch(&mut self, epoch: u64) -> Result<(), ClusterError> {
        if self.nodes.len() > 1 {
            return Err(ClusterError::new(
                "ERR The user can assign a config epoch only when the node does not know any other node.",
            ));
        }
        if self.me().config_epoch != 0 {
            return Err(ClusterError::new(
                "ERR Node config epoch is already non-zero",
            ));
        }
        self.me_mut().config_epoch = epoch;
        if self.current_epoch < epoch {
            self.current_epoch = epoch;
        }
        self.save_pending = true;
        Ok(())
    }

    /// CLUSTER BUMPEPOCH: `(true, epoch)` is "BUMPED epoch", `(false, epoch)`
    /// is "STILL epoch".
    pub fn bump_epoch(&mut self) -> (bool, u64) {
        let bumped = self.bump_config_epoch_without_consensus();
        (bumped, self.me().config_epoch)
    }

    /// clusterBumpConfigEpochWithoutConsensus: take a new unique epoch unless
    /// my configEpoch already is the greatest in the cluster.
    pub(crate) fn bump_config_epoch_without_consensus(&mut self) -> bool {
        let max = self.max_config_epoch().max(self.current_epoch);
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            self.save_pending = true;
            self.log(false, format!("New configEpoch set to {epoch}"));
            true
        } else {
            false
        }
    }

    /// CLUSTER COUNT-FAILURE-REPORTS.
    pub fn count_failure_reports(&self, id: &[u8]) -> Result<usize, ClusterError> {
        let target = self.lookup(id)?;
        let oldest = self.oldest_valid_report();
        Ok(self.nodes.get(&target).map_or(0, |e| {
            e.failure_reports.values().filter(|&&t| t >= oldest).count()
        }))
    }
}
