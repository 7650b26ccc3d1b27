//! Handling of bus messages (Redis' clusterProcessPacket and helpers).
//!
//! Nothing here trusts a peer: unknown ids are ignored, self-references are
//! dropped, and no value from a message is unwrapped.

use super::message::{Body, Gossip, Header, Message};
use super::node::{Entry, Event, Node, MANUAL_FAILOVER_TIMEOUT};
use super::{NodeFlags, NodeId, SlotSet};
use crate::planted::{self, Bug};

impl Node {
    /// The driver's link to `ip:bus_port` failed (the connection was refused
    /// or reset): what was queued on it is lost. As when Redis frees a
    /// link, every node at that address is without one, so the next cron
    /// reconnects and sends a PING, or the MEET again while in handshake
    /// (a lost MEET was otherwise never resent, and the handshake expired).
    pub fn link_lost(&mut self, now: u64, ip: &str, bus_port: u16) {
        self.tick(now);
        let me = self.myself;
        for e in self.nodes.values_mut() {
            if e.id != me && e.ip == ip && e.bus_port == bus_port {
                e.link = false;
            }
        }
    }

    /// One message from the bus. `from_ip` is the peer address of the
    /// connection, used when the header announces no address.
    pub fn handle_message(&mut self, now: u64, from_ip: &str, message: Message) {
        self.tick(now);
        *self
            .stats_received
            .entry(message.body.kind_name())
            .or_insert(0) += 1;
        let Message { header, body } = message;
        let ip = if header.ip.is_empty() {
            from_ip.to_string()
        } else {
            header.ip.clone()
        };
        if header.sender == self.myself {
            // My own MEET came back (a MEET to my own address): there is no
            // one to meet.
            if matches!(body, Body::Pong { .. }) {
                self.drop_handshakes_to(&ip, from_ip, header.bus_port);
            }
            return;
        }

        let is_pong = matches!(body, Body::Pong { .. });
        let mut known = self.is_known(header.sender);
        if is_pong {
            if known {
                // A second handshake entry for a node I already know.
                self.drop_handshakes_to(&ip, from_ip, header.bus_port);
            } else {
                known = self.finish_handshake(&header, &ip, from_ip);
            }
        } else if !known && matches!(body, Body::Ping { .. } | Body::Meet { .. }) {
            // The node I am meeting got my MEET but its PONG was lost: its
            // replies travel on a connection of its own, not on mine as in
            // Redis, and a PONG is never resent. Its own handshake with me
            // (a MEET, resent while its links fail) comes from the address
            // the PONG would have, and completes my handshake the same way.
            known = self.finish_handshake(&header, &ip, from_ip);
        }
        if known {
            self.note_sender(&header);
        }

        match body {
            Body::Ping { gossip } => self.process_ping(&header, &ip, Kind::Ping, known, &gossip),
            Body::Meet { gossip } => self.process_ping(&header, &ip, Kind::Meet, known, &gossip),
            Body::Pong { gossip } => self.process_ping(&header, &ip, Kind::Pong, known, &gossip),
            Body::Fail { node } if known => self.process_fail(header.sender, node),
            Body::Publish {
                sharded,
                channel,
                message,
            } if known => self.events.push_back(Event::Publish {
                sharded,
                channel,
                message,
            }),
            Body::FailoverAuthRequest if known => self.send_failover_auth_if_needed(&header),
            Body::FailoverAuthAck if known => self.process_auth_ack(&header),
            Body::Update {
                node,
                config_epoch,
                slots,
            } if known => self.process_update(node, config_epoch, &slots),
            Body::MfStart if known => self.process_mf_start(header.sender),
            _ => {}
        }
        self.update_state();
    }

    /// A node past its handshake that I know by this id.
    pub(crate) fn is_known(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|e| !e.in_handshake())
    }

    /// What every message from a known sender tells: epochs, offset, and
    /// that it is alive.
    fn note_sender(&mut self, header: &Header) {
        let now = self.now;
        if header.current_epoch > self.current_epoch {
            self.current_epoch = header.current_epoch;
            self.save_pending = true;
        }
        let mut epoch_changed = false;
        if let Some(e) = self.nodes.get_mut(&header.sender) {
            e.data_received = now;
            e.repl_offset = header.repl_offset;
            if header.config_epoch > e.config_epoch {
                e.config_epoch = header.config_epoch;
                epoch_changed = true;
            }
        }
        if epoch_changed {
            self.save_pending = true;
        }
        // Manual failover: my master announces it paused, with its offset.
        if self.manual.end != 0
            && self.manual.master_offset.is_none()
            && header.paused
            && self.master_of_myself() == Some(header.sender)
        {
            self.manual.master_offset = Some(header.repl_offset);
            self.log(
                false,
                format!(
                    "Received replication offset for paused master manual failover: {}",
                    header.repl_offset
                ),
            );
        }
    }

    /// A PONG (or PING or MEET) from an unknown id: if it answers one of my
    /// handshakes (matched by address), the handshake entry takes the real
    /// id.
    fn finish_handshake(&mut self, header: &Header, ip: &str, from_ip: &str) -> bool {
        let Some(temp) = self.handshake_to(ip, from_ip, header.bus_port) else {
            return false;
        };
        if self.blacklist.contains_key(&header.sender) || self.nodes.contains_key(&header.sender) {
            self.nodes.remove(&temp);
            return false;
        }
        let Some(mut entry) = self.nodes.remove(&temp) else {
            return false;
        };
        entry.id = header.sender;
        entry.flags.remove(NodeFlags::HANDSHAKE);
        entry.flags.remove(NodeFlags::MEET);
        entry.flags.insert(if header.master.is_some() {
            NodeFlags::REPLICA
        } else {
            NodeFlags::MASTER
        });
        self.log(
            false,
            format!("Handshake with node {} completed.", header.sender),
        );
        self.nodes.insert(header.sender, entry);
        self.save_pending = true;
        true
    }

    fn handshake_to(&self, ip: &str, from_ip: &str, bus_port: u16) -> Option<NodeId> {
        self.nodes
            .values()
            .find(|e| e.in_handshake() && e.bus_port == bus_port && (e.ip == ip || e.ip == from_ip))
            .map(|e| e.id)
    }

    pub(crate) fn drop_handshakes_to(&mut self, ip: &str, from_ip: &str, bus_port: u16) {
        while let Some(temp) = self.handshake_to(ip, from_ip, bus_port) {
            self.nodes.remove(&temp);
        }
    }

    /// PING, PONG and MEET: liveness, roles, slot claims and gossip.
    fn process_ping(
        &mut self,
        header: &Header,
        ip: &str,
        kind: Kind,
        known: bool,
        gossip: &[Gossip],
    ) {
        let sender = header.sender;
        if !matches!(kind, Kind::Pong) {
            if !known && kind == Kind::Meet && !self.blacklist.contains_key(&sender) {
                // Learn the sender through a handshake of my own: its id is
                // only trusted once it answers my PING.
                self.start_handshake(ip, header.port, header.bus_port);
            }
            // Anyway reply with a PONG.
            let pong = Message {
                header: self.header(),
                body: Body::Pong {
                    gossip: self.gossip_for(Some(sender)),
                },
            };
            self.send_to_address(sender, ip.to_string(), header.bus_port, pong);
        }
        if !known {
            return;
        }
        let now = self.now;
        let node_timeout = self.config.node_timeout;
        let mut cleared = None;
        if let Some(e) = self.nodes.get_mut(&sender) {
            // Address and announced properties.
            if matches!(kind, Kind::Ping)
                && (e.ip != ip || e.port != header.port || e.bus_port != header.bus_port)
            {
                e.ip = ip.to_string();
                e.port = header.port;
                e.bus_port = header.bus_port;
                e.link = false;
            }
            e.hostname.clone_from(&header.hostname);
            if header.flags.contains(NodeFlags::NOFAILOVER) {
                e.flags.insert(NodeFlags::NOFAILOVER);
            } else {
                e.flags.remove(NodeFlags::NOFAILOVER);
            }
            if matches!(kind, Kind::Pong) {
                e.pong_received = now;
                e.ping_sent = 0;
                if e.timed_out() {
                    e.flags.remove(NodeFlags::PFAIL);
                    cleared = Some("is reachable again");
                } else if e.failed() {
                    // clearNodeFailureIfNeeded
                    let slotless = e.is_replica() || e.numslots == 0;
                    if slotless
                        || now.saturating_sub(e.fail_time)
                            > node_timeout * super::node::FAIL_UNDO_TIME_MULT
                    {
                        e.flags.remove(NodeFlags::FAIL);
                        cleared = Some(if slotless {
                            "is reachable again and nobody is serving its slots"
                        } else {
                            "is reachable again and no replica took over its slots"
                        });
                    }
                }
            }
        }
        if let Some(why) = cleared {
            self.log(false, format!("Clear FAIL state for node {sender}: {why}."));
            self.save_pending = true;
        }

        self.process_role(header);
        self.process_slot_claims(header);
        self.process_gossip(sender, gossip);
    }

    /// The sender's role: master, or replica of a (known) master.
    fn process_role(&mut self, header: &Header) {
        let sender = header.sender;
        match header.master {
            None => {
                if self.nodes.get(&sender).is_some_and(Entry::is_replica) {
                    self.set_as_master(sender);
                }
            }
            Some(master) if master != sender => {
                let was_master = self.nodes.get(&sender).is_some_and(Entry::is_master);
                if was_master {
                    if self.del_node_slots(sender) > 0 {
                        self.events.push_back(Event::SlotsChanged);
                    }
                    if let Some(e) = self.nodes.get_mut(&sender) {
                        e.flags.remove(NodeFlags::MASTER);
                        e.flags.remove(NodeFlags::MIGRATE_TO);
                        e.flags.insert(NodeFlags::REPLICA);
                    }
                    self.save_pending = true;
                }
                let known_master = master != self.myself || self.me().is_master();
                if self.nodes.contains_key(&master) && known_master {
                    if let Some(e) = self.nodes.get_mut(&sender) {
                        if e.master != Some(master) {
                            e.master = Some(master);
                            self.save_pending = true;
                        }
                    }
                    if let Some(m) = self.nodes.get_mut(&master) {
                        m.flags.insert(NodeFlags::MIGRATE_TO);
                    }
                }
            }
            Some(_) => {}
        }
    }

    /// The sender's slot claims: take newer ones, tell it about older ones,
    /// and resolve configEpoch collisions.
    fn process_slot_claims(&mut self, header: &Header) {
        let sender = header.sender;
        let Some(s) = self.nodes.get(&sender) else {
            return;
        };
        let sender_is_master = s.is_master();
        let sender_master = if sender_is_master {
            Some(sender)
        } else {
            s.master
        };
        let dirty = sender_master
            .and_then(|m| self.nodes.get(&m))
            .is_some_and(|m| m.slots != header.slots);
        if sender_is_master && dirty {
            self.update_slots_config_with(sender, header.config_epoch, &header.slots);
        }
        if dirty {
            // If my view of some claimed slot is newer, tell the sender.
            let stale = header.slots.iter().find_map(|slot| {
                let owner = self.slot_owner[usize::from(slot)]?;
                let e = self.nodes.get(&owner)?;
                (owner != sender && e.config_epoch > header.config_epoch).then_some(owner)
            });
            if let Some(owner) = stale {
                if let Some(e) = self.nodes.get(&owner) {
                    let body = Body::Update {
                        node: owner,
                        config_epoch: e.config_epoch,
                        slots: e.slots.clone(),
                    };
                    self.send(sender, body);
                }
            }
        }
        if sender_is_master
            && self.me().is_master()
            && !planted::active(Bug::EpochCollisionUnresolved)
        {
            self.handle_config_epoch_collision(sender);
        }
    }

    /// clusterUpdateSlotsConfigWith: `sender` claims `slots` at `epoch`;
    /// take every claimed slot whose owner has an older configEpoch. If
    /// myself (or my master) loses its last slot this way, follow the winner.
    pub(crate) fn update_slots_config_with(&mut self, sender: NodeId, epoch: u64, slots: &SlotSet) {
        if sender == self.myself {
            return;
        }
        let cur_master = self.my_master_or_me();
        let mut new_master = None;
        let mut changed = false;
        let mut lost = Vec::new();
        let claimed: Vec<u16> = slots.iter().collect();
        for slot in claimed {
            let owner = self.slot_owner[usize::from(slot)];
            // A slot being imported changes hands only by CLUSTER SETSLOT
            // (the migrating side may already claim the new owner's epoch).
            if owner == Some(sender) || self.importing.contains_key(&slot) {
                continue;
            }
            let older = match owner {
                None => true,
                Some(o) => self.nodes.get(&o).is_none_or(|e| e.config_epoch < epoch),
            };
            if older {
                if owner == Some(cur_master) {
                    new_master = Some(sender);
                }
                if owner == Some(self.myself) {
                    lost.push(slot);
                }
                self.assign_slot(slot, sender);
                changed = true;
            }
        }
        if !changed {
            return;
        }
        self.slots_changed();
        let cur_master_empty = self.nodes.get(&cur_master).is_none_or(|e| e.numslots == 0);
        if new_master.is_some() && cur_master_empty {
            self.log(
                false,
                format!(
                    "Configuration change detected. Reconfiguring myself as a replica of {sender}"
                ),
            );
            self.set_my_master(sender);
        } else if let Some(grand) = self.chained_master() {
            // My master became a replica: replicate its new master.
            self.set_my_master(grand);
        } else if !lost.is_empty() {
            // Still a master, serving others: what it holds of the slots it
            // lost is stale (a replica's full sync replaces its data).
            self.events.push_back(Event::SlotsLost { slots: lost });
        }
    }

    /// When my master is itself a replica of some other node, that node.
    fn chained_master(&self) -> Option<NodeId> {
        let master = self.master_of_myself()?;
        let m = self.nodes.get(&master)?;
        let grand = m.master.filter(|_| m.is_replica())?;
        (grand != self.myself).then_some(grand)
    }

    /// clusterHandleConfigEpochCollision: two masters with the same
    /// configEpoch; the one with the smaller id takes a new epoch.
    fn handle_config_epoch_collision(&mut self, sender: NodeId) {
        let Some(s) = self.nodes.get(&sender) else {
            return;
        };
        if s.config_epoch != self.me().config_epoch || !s.is_master() {
            return;
        }
        if sender < self.myself {
            return;
        }
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.save_pending = true;
        self.log(
            true,
            format!("configEpoch collision with node {sender}. configEpoch set to {epoch}"),
        );
    }

    /// The gossip section: failure reports from masters serving slots (as
    /// I see them, after taking the sender's claims), pong times, and nodes
    /// I did not know.
    fn process_gossip(&mut self, sender: NodeId, gossip: &[Gossip]) {
        let now = self.now;
        let sender_votes = self.nodes.get(&sender).is_some_and(Entry::is_voting_master);
        for g in gossip {
            if g.node == self.myself || g.node == sender {
                continue;
            }
            let bad = g.flags.contains(NodeFlags::PFAIL) || g.flags.contains(NodeFlags::FAIL);
            if let Some(e) = self.nodes.get_mut(&g.node) {
                if e.in_handshake() {
                    continue;
                }
                if sender_votes {
                    if bad {
                        if e.failure_reports.insert(sender, now).is_none() {
                            self.log(
                                false,
                                format!("Node {sender} reported node {} as not reachable.", g.node),
                            );
                        }
                        self.mark_failing_if_needed(g.node);
                    } else {
                        e.failure_reports.remove(&sender);
                    }
                }
                let Some(e) = self.nodes.get_mut(&g.node) else {
                    continue;
                };
                if !bad && e.ping_sent == 0 && e.failure_reports.is_empty() {
                    let pong_time = now.saturating_sub(g.pong_received_ago_ms);
                    if pong_time > e.pong_received {
                        e.pong_received = pong_time;
                    }
                }
                // An unreachable node may have moved: take the address a
                // node that can reach it sees.
                let moved = e.ip != g.ip || e.port != g.port || e.bus_port != g.bus_port;
                if !e.reachable()
                    && !bad
                    && !g.flags.contains(NodeFlags::NOADDR)
                    && moved
                    && !g.ip.is_empty()
                {
                    e.ip.clone_from(&g.ip);
                    e.port = g.port;
                    e.bus_port = g.bus_port;
                    e.link = false;
                    self.save_pending = true;
                }
            } else if !g.flags.contains(NodeFlags::NOADDR)
                && !g.flags.contains(NodeFlags::HANDSHAKE)
                && !g.ip.is_empty()
                && g.bus_port != 0
                && !self.blacklist.contains_key(&g.node)
            {
                // Learned from a known node: add it by its real id; the
                // next cron pings it.
                let role = if g.flags.contains(NodeFlags::REPLICA) {
                    NodeFlags::REPLICA
                } else {
                    NodeFlags::MASTER
                };
                let mut e = Entry::new(g.node, role, now);
                e.ip.clone_from(&g.ip);
                e.port = g.port;
                e.bus_port = g.bus_port;
                self.nodes.insert(g.node, e);
                self.save_pending = true;
            }
        }
    }

    /// FAIL: someone reached the quorum about `node`.
    fn process_fail(&mut self, sender: NodeId, node: NodeId) {
        let now = self.now;
        let Some(e) = self.nodes.get_mut(&node) else {
            return;
        };
        if e.failed() || node == self.myself || e.in_handshake() {
            return;
        }
        e.flags.remove(NodeFlags::PFAIL);
        e.flags.insert(NodeFlags::FAIL);
        e.fail_time = now;
        self.save_pending = true;
        self.log(
            false,
            format!("FAIL message received from {sender} about {node}"),
        );
    }

    /// UPDATE: my view of `node` is stale.
    fn process_update(&mut self, node: NodeId, config_epoch: u64, slots: &SlotSet) {
        let Some(e) = self.nodes.get(&node) else {
            return;
        };
        // An UPDATE about myself is nonsense: I am the authority on me.
        if e.config_epoch >= config_epoch || node == self.myself {
            return;
        }
        if e.is_replica() {
            self.set_as_master(node);
        }
        if let Some(e) = self.nodes.get_mut(&node) {
            e.config_epoch = config_epoch;
        }
        self.save_pending = true;
        self.update_slots_config_with(node, config_epoch, slots);
    }

    /// MFSTART: a replica of mine asks me to pause for a manual failover.
    fn process_mf_start(&mut self, sender: NodeId) {
        let is_my_replica = self
            .nodes
            .get(&sender)
            .is_some_and(|e| e.is_replica() && e.master == Some(self.myself));
        if !is_my_replica || !self.me().is_master() {
            return;
        }
        if self.manual.end != 0 && self.manual.replica == Some(sender) {
            // A repeat (the replica asks until it hears from me): keep
            // the pause, and say where it stands if it is in place.
            if self.manual.paused {
                let ping = Body::Ping {
                    gossip: self.gossip_for(Some(sender)),
                };
                self.send(sender, ping);
            }
            return;
        }
        self.reset_manual_failover();
        let until = self.now + MANUAL_FAILOVER_TIMEOUT;
        self.manual.end = until;
        self.manual.replica = Some(sender);
        self.events
            .push_back(Event::ClientsPaused { until: Some(until) });
        self.log(
            false,
            format!("Manual failover requested by replica {sender}."),
        );
    }
}

/// Which of PING / MEET / PONG is being processed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ping,
    Meet,
    Pong,
}
