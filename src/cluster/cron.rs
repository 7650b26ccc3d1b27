//! Periodic work (Redis' clusterCron), failure detection and the cluster
//! state (clusterUpdateState).

use rand::Rng;

use super::message::{Body, Gossip};
use super::node::{Event, Node, CRON_PERIOD};
use super::{NodeFlags, NodeId};
use crate::planted::{self, Bug};
use crate::slot::SLOT_COUNT;

/// CLUSTER_WRITABLE_DELAY: a restarted master stays FAIL this long, so it
/// learns about a possible failover before accepting writes.
const WRITABLE_DELAY: u64 = 2_000;
/// CLUSTER_MIN/MAX_REJOIN_DELAY: bounds of how long a master that was in a
/// minority partition waits before accepting writes again.
const MIN_REJOIN_DELAY: u64 = 500;
const MAX_REJOIN_DELAY: u64 = 5_000;

impl Node {
    /// clusterCron's work; does nothing before `poll_timeout()`.
    pub fn handle_timeout(&mut self, now: u64) {
        self.tick(now);
        if self.now < self.next_cron {
            // Woken for a scheduled election start: starting exactly then,
            // not at the next cron tick, keeps sibling replicas' random
            // delays apart (split votes otherwise need a retry).
            if self.election_due() {
                self.handle_replica_failover();
                self.update_state();
            }
            return;
        }
        self.next_cron = self.now + CRON_PERIOD;
        self.iteration += 1;
        self.cron();
        self.update_state();
        self.debug_check();
    }

    /// An election is scheduled and its start time has come.
    fn election_due(&self) -> bool {
        self.me().is_replica()
            && !self.election.sent
            && self.election.time != 0
            && self.now >= self.election.time
    }

    /// When `handle_timeout` wants to be called next: the next cron, or a
    /// scheduled election start if sooner.
    pub fn poll_timeout(&self) -> Option<u64> {
        let election =
            (self.me().is_replica() && !self.election.sent && self.election.time > self.now)
                .then_some(self.election.time);
        Some(election.map_or(self.next_cron, |t| t.min(self.next_cron)))
    }

    fn cron(&mut self) {
        let now = self.now;
        let node_timeout = self.config.node_timeout;
        let handshake_timeout = node_timeout.max(1_000);

        self.blacklist.retain(|_, expire| *expire > now);
        if self.manual.end != 0 && self.manual.end < now {
            self.log(true, "Manual failover timed out.".to_string());
            self.reset_manual_failover();
        }

        // Handshakes that never completed, and links to (re)open.
        let ids: Vec<NodeId> = self.peers().map(|e| e.id).collect();
        for &id in &ids {
            let Some(e) = self.nodes.get(&id) else {
                continue;
            };
            if e.in_handshake() && now.saturating_sub(e.ctime) > handshake_timeout {
                self.nodes.remove(&id);
                continue;
            }
            if e.flags.contains(NodeFlags::NOADDR) || e.link {
                continue;
            }
            // "Connect" and queue a PING (a MEET while in handshake),
            // keeping the time of a ping already pending.
            let meet = e.flags.contains(NodeFlags::MEET);
            let old_ping_sent = e.ping_sent;
            let gossip = self.gossip_for(Some(id));
            let body = if meet {
                Body::Meet { gossip }
            } else {
                Body::Ping { gossip }
            };
            self.send(id, body);
            if let Some(e) = self.nodes.get_mut(&id) {
                e.link = true;
                e.link_time = now;
                if old_ping_sent != 0 {
                    e.ping_sent = old_ping_sent;
                }
            }
        }

        // Every second, ping the node with the oldest pong among a few
        // random ones.
        if self.iteration.is_multiple_of(10) {
            let candidates: Vec<NodeId> = self.peers().map(|e| e.id).collect();
            let mut oldest: Option<(u64, NodeId)> = None;
            for _ in 0..5 {
                if candidates.is_empty() {
                    break;
                }
                let id = candidates[self.rng.random_range(0..candidates.len())];
                let Some(e) = self.nodes.get(&id) else {
                    continue;
                };
                if !e.link || e.ping_sent != 0 || e.in_handshake() {
                    continue;
                }
                if oldest.is_none_or(|(pong, _)| e.pong_received < pong) {
                    oldest = Some((e.pong_received, id));
                }
            }
            if let Some((_, id)) = oldest {
                self.send_ping(id);
            }
        }

        // Per node: keep pings flowing, detect timeouts.
        let ids: Vec<NodeId> = self.peers().map(|e| e.id).collect();
        for id in ids {
            let Some(e) = self.nodes.get(&id) else {
                continue;
            };
            if e.in_handshake() {
                continue;
            }
            let ping_delay = now.saturating_sub(e.ping_sent);
            let data_delay = now.saturating_sub(e.data_received);
            // No answer for half the timeout: "reconnect", which resends a
            // PING at the next cron. Redis also requires no data for half
            // the timeout, trusting TCP; without links a ping lost while
            // the peer was down would otherwise never be resent, and a FAIL
            // flag only clears on a PONG.
            if e.link
                && e.ping_sent != 0
                && now.saturating_sub(e.link_time) > node_timeout
                && ping_delay > node_timeout / 2
            {
                if let Some(e) = self.nodes.get_mut(&id) {
                    e.link = false;
                }
                continue;
            }
            if e.link && e.ping_sent == 0 && now.saturating_sub(e.pong_received) > node_timeout / 2
            {
                self.send_ping(id);
                continue;
            }
            if self.manual.end != 0
                && self.me().is_master()
                && self.manual.replica == Some(id)
                && e.link
            {
                self.send_ping(id);
                continue;
            }
            if e.ping_sent == 0 {
                continue;
            }
            if ping_delay.min(data_delay) > node_timeout && e.reachable() {
                if let Some(e) = self.nodes.get_mut(&id) {
                    e.flags.insert(NodeFlags::PFAIL);
                }
                self.log(false, format!("*** NODE {id} possibly failing"));
            }
        }

        if self.me().is_replica() {
            self.handle_manual_failover();
            if !self.config.replica_no_failover || self.manual.end != 0 {
                self.handle_replica_failover();
            }
            self.handle_replica_migration();
        }
    }

    pub(crate) fn send_ping(&mut self, id: NodeId) {
        let gossip = self.gossip_for(Some(id));
        self.send(id, Body::Ping { gossip });
    }

    /// A gossip section: about a tenth of the table (at least 3 when there
    /// are that many), chosen at random, plus every PFAIL node.
    pub(crate) fn gossip_for(&mut self, target: Option<NodeId>) -> Vec<Gossip> {
        let now = self.now;
        let eligible: Vec<NodeId> = self
            .peers()
            .filter(|e| Some(e.id) != target)
            .filter(|e| !e.in_handshake() && !e.flags.contains(NodeFlags::NOADDR))
            .filter(|e| e.link || e.numslots > 0)
            .map(|e| e.id)
            .collect();
        let wanted = (self.nodes.len() / 10).max(3).min(eligible.len());
        let mut chosen: Vec<NodeId> = Vec::with_capacity(wanted);
        let mut tries = wanted * 3;
        while chosen.len() < wanted && tries > 0 && !eligible.is_empty() {
            tries -= 1;
            let id = eligible[self.rng.random_range(0..eligible.len())];
            let pfail = self.nodes.get(&id).is_some_and(|e| e.timed_out());
            if !pfail && !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        chosen.extend(
            eligible
                .iter()
                .filter(|id| self.nodes.get(id).is_some_and(|e| e.timed_out())),
        );
        chosen
            .into_iter()
            .filter_map(|id| self.nodes.get(&id))
            .map(|e| Gossip {
                node: e.id,
                ping_sent_ago_ms: if e.ping_sent == 0 {
                    0
                } else {
                    now.saturating_sub(e.ping_sent)
                },
                pong_received_ago_ms: now.saturating_sub(e.pong_received),
                ip: e.ip.clone(),
                port: e.port,
                bus_port: e.bus_port,
                flags: e.flags,
            })
            .collect()
    }

    /// markNodeAsFailingIfNeeded: PFAIL in my view plus reports from a
    /// majority of slot-owning masters (myself included, when one) within
    /// the validity window → FAIL, and tell everyone.
    ///
    /// Only masters serving slots count, reporters (see `process_gossip`)
    /// and myself alike: the quorum is a majority of `size()`, which counts
    /// only those. Redis also counts masters without slots (a new empty
    /// master, or a stale one whose slots were failed over while it was cut
    /// off), so a minority of the real masters plus such a node could mark
    /// a reachable master FAIL; Valkey fixed this ("Only primary with slots
    /// has the right to mark a node as failed", valkey#634).
    pub(crate) fn mark_failing_if_needed(&mut self, id: NodeId) {
        let needed = self.size() / 2 + 1;
        let oldest = self.oldest_valid_report();
        let i_vote = self.me().is_voting_master();
        let Some(e) = self.nodes.get_mut(&id) else {
            return;
        };
        if !e.timed_out() || e.failed() {
            return;
        }
        e.failure_reports.retain(|_, at| *at >= oldest);
        let failures = e.failure_reports.len() + usize::from(i_vote);
        if failures < needed {
            return;
        }
        e.flags.remove(NodeFlags::PFAIL);
        e.flags.insert(NodeFlags::FAIL);
        e.fail_time = self.now;
        self.save_pending = true;
        self.log(
            false,
            format!("Marking node {id} as failing (quorum reached)."),
        );
        self.broadcast(Body::Fail { node: id });
    }

    /// clusterUpdateState.
    pub(crate) fn update_state(&mut self) {
        let now = self.now;
        let i_am_master = self.me().is_master();
        if i_am_master
            && !self.state_ok
            && now.saturating_sub(self.first_call_time) < WRITABLE_DELAY
        {
            return;
        }
        let mut ok = true;
        let mut size = 0;
        let mut reachable = 0;
        let mut served = 0;
        for e in self.nodes.values() {
            if e.is_master() && e.numslots > 0 {
                size += 1;
                if e.reachable() {
                    reachable += 1;
                }
                if !e.failed() {
                    served += e.numslots;
                }
            }
        }
        // Each slot has at most one owner, so this is "every slot served by
        // a master not FAIL".
        if self.config.require_full_coverage && served != usize::from(SLOT_COUNT) {
            ok = false;
        }
        if reachable < size / 2 + 1 && !planted::active(Bug::MinorityMasterKeepsWriting) {
            ok = false;
            self.among_minority_time = Some(now);
        }
        if ok == self.state_ok {
            return;
        }
        let rejoin_delay = self
            .config
            .node_timeout
            .clamp(MIN_REJOIN_DELAY, MAX_REJOIN_DELAY);
        if ok
            && i_am_master
            && self
                .among_minority_time
                .is_some_and(|t| now.saturating_sub(t) < rejoin_delay)
        {
            return;
        }
        self.state_ok = ok;
        self.log(
            !ok,
            format!("Cluster state changed: {}", if ok { "ok" } else { "fail" }),
        );
        self.events.push_back(Event::StateChanged { ok });
    }
}
