//! Replica elections, votes, manual failover and replica migration (Redis'
//! clusterHandleSlaveFailover, clusterSendFailoverAuthIfNeeded,
//! clusterHandleManualFailover, clusterHandleSlaveMigration).

use rand::Rng;

use crate::planted::{self, Bug};

use super::error::ClusterError;
use super::message::{Body, Header};
use super::node::{Entry, Event, FailoverMode, Node, MANUAL_FAILOVER_TIMEOUT};
use super::NodeId;

/// CLUSTER_SLAVE_MIGRATION_DELAY: how long a master must be orphaned before
/// a replica migrates to it.
const MIGRATION_DELAY: u64 = 5_000;

impl Node {
    /// CLUSTER FAILOVER [FORCE|TAKEOVER], sent to a replica.
    pub fn failover(&mut self, now: u64, mode: FailoverMode) -> Result<(), ClusterError> {
        self.tick(now);
        if self.me().is_master() {
            return Err(ClusterError::new(
                "ERR You should send CLUSTER FAILOVER to a replica",
            ));
        }
        let Some(master) = self
            .master_of_myself()
            .filter(|m| self.nodes.contains_key(m))
        else {
            return Err(ClusterError::new(
                "ERR I'm a replica but my master is unknown to me",
            ));
        };
        let master_down = self
            .nodes
            .get(&master)
            .is_none_or(|m| m.failed() || !m.link || m.timed_out());
        if mode == FailoverMode::Default && master_down {
            return Err(ClusterError::new(
                "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
            ));
        }
        self.reset_manual_failover();
        self.manual.end = self.now + MANUAL_FAILOVER_TIMEOUT;
        match mode {
            FailoverMode::Takeover => {
                // No votes: a new unique epoch and the slots, right now.
                self.log(false, "Taking over the master (user request).".to_string());
                self.bump_config_epoch_without_consensus();
                self.replace_my_master();
            }
            FailoverMode::Force => {
                self.log(false, "Forced failover user request accepted.".to_string());
                self.manual.can_start = true;
            }
            FailoverMode::Default => {
                self.log(false, "Manual failover user request accepted.".to_string());
                self.send(master, Body::MfStart);
                self.manual.asked_at = self.now;
            }
        }
        Ok(())
    }

    /// resetManualFailover.
    pub(crate) fn reset_manual_failover(&mut self) {
        if self.manual.replica.is_some() {
            self.events.push_back(Event::ClientsPaused { until: None });
        }
        self.manual = Default::default();
    }

    /// The server paused writes for the manual failover my replica asked
    /// for, and my offset (`set_repl_offset`) is final: the replica hears
    /// it at once, in a ping whose header carries `paused`.
    pub fn writes_paused(&mut self) {
        let Some(replica) = self.manual.replica else {
            return;
        };
        if self.manual.end == 0 || self.manual.paused {
            return;
        }
        self.manual.paused = true;
        let ping = Body::Ping {
            gossip: self.gossip_for(Some(replica)),
        };
        self.send(replica, ping);
    }

    /// clusterHandleManualFailover: the election may start once my offset
    /// reached the one my paused master announced.
    pub(crate) fn handle_manual_failover(&mut self) {
        if self.manual.end == 0 || self.manual.can_start {
            return;
        }
        if self.manual.master_offset.is_none() && self.now >= self.manual.asked_at + 1000 {
            if let Some(master) = self.master_of_myself() {
                self.send(master, Body::MfStart);
                self.manual.asked_at = self.now;
            }
        }
        if self.manual.master_offset == Some(self.repl_offset) {
            self.manual.can_start = true;
            self.log(
                false,
                "All master replication stream processed, manual failover can start.".to_string(),
            );
        }
    }

    /// My rank among the replicas of my master: how many have a greater
    /// replication offset (they get to try first).
    fn replica_rank(&self) -> usize {
        let Some(master) = self.master_of_myself() else {
            return 0;
        };
        self.replicas_of(master)
            .filter(|e| e.id != self.myself)
            .filter(|e| !e.flags.contains(super::NodeFlags::NOFAILOVER))
            .filter(|e| {
                if planted::active(Bug::PromoteLowestOffset) {
                    e.repl_offset < self.repl_offset
                } else {
                    e.repl_offset > self.repl_offset
                }
            })
            .count()
    }

    /// clusterHandleSlaveFailover: schedule, run and win elections.
    pub(crate) fn handle_replica_failover(&mut self) {
        let now = self.now;
        let node_timeout = self.config.node_timeout;
        let auth_timeout = (node_timeout * 2).max(2_000);
        let auth_retry_time = auth_timeout * 2;
        let manual = self.manual.end != 0 && self.manual.can_start;

        let master = self.master_of_myself().and_then(|m| self.nodes.get(&m));
        let reason = match master {
            None => 1,
            Some(m) if !m.failed() && !manual => 2,
            Some(m) if m.numslots == 0 => 3,
            Some(_) => 0,
        };
        if reason != 0 {
            self.cant_failover_reason = reason;
            return;
        }
        if self.config.replica_no_failover && !manual {
            return;
        }

        if now.saturating_sub(self.election.time) > auth_retry_time {
            // Schedule a new election: better replicas (lower rank) first.
            let rank = self.replica_rank();
            let delay = 500 + self.rng.random_range(0..500u64) + rank as u64 * 1_000;
            self.election.time = now + delay;
            self.election.count = 0;
            self.election.sent = false;
            self.election.rank = rank;
            if manual {
                self.election.time = now;
                self.election.rank = 0;
            }
            self.log(
                false,
                format!(
                    "Start of election delayed for {} milliseconds (rank #{rank}, offset {}).",
                    self.election.time - now,
                    self.repl_offset
                ),
            );
            self.broadcast_pong_to_sibling_replicas();
            return;
        }

        if !self.election.sent && !manual {
            let rank = self.replica_rank();
            if rank > self.election.rank {
                self.election.time += (rank - self.election.rank) as u64 * 1_000;
                self.election.rank = rank;
            }
        }
        if now < self.election.time {
            return;
        }
        if now - self.election.time > auth_timeout {
            // Timed out: wait for the retry time and start again.
            return;
        }
        if !self.election.sent {
            self.current_epoch += 1;
            self.election.epoch = self.current_epoch;
            self.election.sent = true;
            self.save_pending = true;
            self.log(
                false,
                format!(
                    "Starting a failover election for epoch {}.",
                    self.current_epoch
                ),
            );
            let mut header = self.header();
            header.force_ack = self.manual.end != 0;
            let targets: Vec<NodeId> = self
                .peers()
                .filter(|e| !e.in_handshake())
                .map(|e| e.id)
                .collect();
            for id in targets {
                self.send_with_header(id, header.clone(), Body::FailoverAuthRequest);
            }
            return;
        }
        let needed = self.size() / 2 + 1;
        if self.election.count >= needed {
            self.log(
                false,
                "Failover election won: I'm the new master.".to_string(),
            );
            let epoch = self.election.epoch;
            if self.me().config_epoch < epoch {
                self.me_mut().config_epoch = epoch;
                self.log(
                    false,
                    format!("configEpoch set to {epoch} after successful failover"),
                );
            }
            self.replace_my_master();
        }
    }

    /// So that the other replicas of my master rank themselves with my
    /// offset.
    fn broadcast_pong_to_sibling_replicas(&mut self) {
        let Some(master) = self.master_of_myself() else {
            return;
        };
        let targets: Vec<NodeId> = self
            .replicas_of(master)
            .filter(|e| e.id != self.myself && !e.in_handshake())
            .map(|e| e.id)
            .collect();
        for id in targets {
            let gossip = self.gossip_for(Some(id));
            self.send(id, Body::Pong { gossip });
        }
    }

    /// clusterFailoverReplaceYourMaster: become a master with my old
    /// master's slots, and tell everyone at once.
    pub(crate) fn replace_my_master(&mut self) {
        let Some(old) = self.master_of_myself() else {
            return;
        };
        let me = self.myself;
        self.set_as_master(me);
        let slots: Vec<u16> = self
            .nodes
            .get(&old)
            .map_or(Vec::new(), |e| e.slots.iter().collect());
        for slot in slots {
            self.assign_slot(slot, me);
        }
        self.slots_changed();
        self.events.push_back(Event::RoleChanged { master: None });
        self.update_state();
        self.broadcast_pong_to_all();
        self.reset_manual_failover();
    }

    /// clusterBroadcastPong(CLUSTER_BROADCAST_ALL): tells every node my new
    /// configuration at once instead of at the next pings.
    pub(crate) fn broadcast_pong_to_all(&mut self) {
        let targets: Vec<NodeId> = self
            .peers()
            .filter(|e| !e.in_handshake())
            .map(|e| e.id)
            .collect();
        for id in targets {
            let gossip = self.gossip_for(Some(id));
            self.send(id, Body::Pong { gossip });
        }
    }

    /// clusterSendFailoverAuthIfNeeded: a master votes for a replica at
    /// most once per epoch, at most once per failed master per two node
    /// timeouts, and only if the replica's claim is not stale.
    pub(crate) fn send_failover_auth_if_needed(&mut self, request: &Header) {
        if !self.me().is_voting_master() {
            return;
        }
        let requester = request.sender;
        if request.current_epoch < self.current_epoch {
            self.log(
                true,
                format!(
                    "Failover auth denied to {requester}: reqEpoch ({}) < curEpoch({})",
                    request.current_epoch, self.current_epoch
                ),
            );
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            self.log(
                true,
                format!(
                    "Failover auth denied to {requester}: already voted for epoch {}",
                    self.current_epoch
                ),
            );
            return;
        }
        let Some(node) = self.nodes.get(&requester) else {
            return;
        };
        let master = node
            .master
            .filter(|_| node.is_replica())
            .and_then(|m| self.nodes.get(&m));
        let Some(master) = master else {
            self.log(
                true,
                format!("Failover auth denied to {requester}: it is a master node or I don't know its master"),
            );
            return;
        };
        if !master.failed() && !request.force_ack {
            self.log(
                true,
                format!("Failover auth denied to {requester}: its master is up"),
            );
            return;
        }
        let now = self.now;
        if now.saturating_sub(master.voted_time) < self.config.node_timeout * 2 {
            self.log(
                true,
                format!(
                    "Failover auth denied to {requester}: can't vote about this master before {} milliseconds",
                    self.config.node_timeout * 2 - now.saturating_sub(master.voted_time)
                ),
            );
            return;
        }
        let master_id = master.id;
        let stale = request.slots.iter().find(|&slot| {
            self.slot_owner[usize::from(slot)]
                .and_then(|o| self.nodes.get(&o))
                .is_some_and(|o: &Entry| o.config_epoch > request.config_epoch)
        });
        if let Some(slot) = stale {
            self.log(
                true,
                format!(
                    "Failover auth denied to {requester}: slot {slot} epoch is greater than the request's configEpoch ({})",
                    request.config_epoch
                ),
            );
            return;
        }
        // Vote: persisted (poll_save) before the ack is transmitted.
        self.last_vote_epoch = self.current_epoch;
        if let Some(m) = self.nodes.get_mut(&master_id) {
            m.voted_time = now;
        }
        self.save_pending = true;
        self.send(requester, Body::FailoverAuthAck);
        self.log(
            false,
            format!(
                "Failover auth granted to {requester} for epoch {}",
                self.current_epoch
            ),
        );
    }

    /// FAILOVER_AUTH_ACK from a slot-owning master, for my election.
    pub(crate) fn process_auth_ack(&mut self, header: &Header) {
        let voter_ok = self
            .nodes
            .get(&header.sender)
            .is_some_and(Entry::is_voting_master);
        if voter_ok && self.election.sent && header.current_epoch >= self.election.epoch {
            self.election.count += 1;
            if self.me().is_replica() {
                self.handle_replica_failover();
            }
        }
    }

    /// clusterHandleSlaveMigration (simplified): when my master keeps more
    /// than `migration_barrier` working replicas and some master has had
    /// none for a while, the replica with the smallest id migrates to it.
    pub(crate) fn handle_replica_migration(&mut self) {
        let now = self.now;
        if !self.state_ok || self.manual.end != 0 {
            return;
        }
        let Some(my_master) = self.master_of_myself() else {
            return;
        };
        let working =
            |n: &Node, master: NodeId| n.replicas_of(master).filter(|e| e.reachable()).count();
        let ok_replicas = working(self, my_master);
        if ok_replicas <= self.config.migration_barrier as usize {
            return;
        }
        // Orphaned masters: serving slots, had replicas, none working now.
        let masters: Vec<NodeId> = self
            .nodes
            .values()
            .filter(|e| e.is_master() && e.numslots > 0 && e.reachable())
            .map(|e| e.id)
            .collect();
        let mut target = None;
        for id in masters {
            let orphaned = working(self, id) == 0
                && self
                    .nodes
                    .get(&id)
                    .is_some_and(|e| e.flags.contains(super::NodeFlags::MIGRATE_TO));
            if let Some(e) = self.nodes.get_mut(&id) {
                if orphaned {
                    if e.orphaned_time == 0 {
                        e.orphaned_time = now;
                    }
                    if target.is_none() {
                        target = Some((id, e.orphaned_time));
                    }
                } else {
                    e.orphaned_time = 0;
                }
            }
        }
        let candidate = self
            .replicas_of(my_master)
            .filter(|e| e.reachable())
            .map(|e| e.id)
            .min()
            .unwrap_or(self.myself)
            .min(self.myself);
        if let Some((id, since)) = target {
            if candidate == self.myself && now.saturating_sub(since) > MIGRATION_DELAY {
                self.log(false, format!("Migrating to orphaned master {id}"));
                self.set_my_master(id);
            }
        }
    }
}
