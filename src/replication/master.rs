//! The master side of replication as pure state (the master half of Redis'
//! `replication.c`): the replication ids, the replicas attached and what
//! they acknowledged, and the PSYNC decision: continue from the backlog
//! or resynchronise in full.
//!
//! Offsets are Redis': `master_repl_offset` is the number of bytes the
//! stream ever held (`ChangeFeed::offset`); a replica asks
//! `PSYNC <replid> <offset>` with the offset of the next byte it needs,
//! counted from 1, so it continues at our index `offset - 1`.

use super::feed::ChangeFeed;
use crate::planted::{self, Bug};
use std::collections::BTreeMap;

/// What a replica said about itself with REPLCONF before PSYNC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// `REPLCONF listening-port`: where it serves clients.
    pub listening_port: u16,
    /// `REPLCONF ip-address`, when it announced one.
    pub ip_address: Option<String>,
    /// `REPLCONF capa eof`: it reads an RDB of unknown length (`$EOF:`).
    pub capa_eof: bool,
    /// `REPLCONF capa psync2`: it understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
}

/// Where a replica's link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Receiving the snapshot (Redis' `wait_bgsave` and `send_bulk`).
    Syncing,
    /// Streaming the change feed.
    Online,
}

/// One attached replica, by the client id of its connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    /// The address it connected from.
    pub ip: String,
    pub handshake: Handshake,
    pub state: LinkState,
    /// The last offset it acknowledged (`REPLCONF ACK`).
    pub ack_offset: u64,
    /// When it last acknowledged (unix ms).
    pub ack_ms: u64,
}

/// The answer to PSYNC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Psync {
    /// `+CONTINUE`: stream the feed from `from` (an index into the feed).
    Continue { from: u64 },
    /// `+FULLRESYNC <replid> <offset>`: a snapshot, then the feed.
    FullResync,
}

pub struct Master {
    replid: String,
    /// The id this node's history had before a failover made it a master,
    /// valid up to `second_offset` (Redis' replid2 / second_replid_offset).
    replid2: String,
    second_offset: Option<u64>,
    /// `replid` was made here (a new node, a promotion), not taken from a
    /// master this node follows.
    own_replid: bool,
    replicas: BTreeMap<u64, Replica>,
}

/// Redis' "no replication id".
const NO_REPLID: &str = "0000000000000000000000000000000000000000";

impl Master {
    pub fn new(replid: String) -> Master {
        Master {
            replid,
            replid2: NO_REPLID.to_string(),
            second_offset: None,
            own_replid: true,
            replicas: BTreeMap::new(),
        }
    }

    pub fn replid(&self) -> &str {
        &self.replid
    }

    pub fn replid2(&self) -> &str {
        &self.replid2
    }

    /// `second_repl_offset`: -1 when there is no replid2.
    pub fn second_offset(&self) -> Option<u64> {
        self.second_offset
    }

    /// This node now replicates a master whose history is `replid`: its
    /// data, and so its ids, are that master's (after a full sync).
    pub fn adopt(&mut self, replid: String) {
        self.replid = replid;
        self.replid2 = NO_REPLID.to_string();
        self.second_offset = None;
        self.own_replid = false;
    }

    /// The master switched to history `replid` at `offset` (it was
    /// promoted): its old id stays valid up to there, for our replicas.
    pub fn follow_switch(&mut self, replid: String, offset: u64) {
        if replid != self.replid {
            self.replid2 = std::mem::replace(&mut self.replid, replid);
            self.second_offset = Some(offset);
        }
        self.own_replid = false;
    }

    /// This node stops replicating and starts a history of its own at
    /// `offset` (REPLICAOF NO ONE, a failover): replicas of its old master
    /// can continue with it up to `offset` (Redis' `shiftReplicationId`).
    pub fn promote(&mut self, replid: String, offset: u64) {
        self.replid2 = std::mem::replace(&mut self.replid, replid);
        self.second_offset = Some(offset);
        self.own_replid = true;
    }

    /// The history a replica whose feed stands at `offset` asks its master
    /// to continue (PSYNC): the one it follows, or, if it started a history
    /// of its own (a promotion, a restart from a replication origin) and
    /// nothing was written since, the one it left, which its data is still
    /// a point of and which a master may know.
    pub fn resume_id(&self, offset: u64) -> &str {
        if self.own_replid && self.second_offset == Some(offset) {
            &self.replid2
        } else {
            &self.replid
        }
    }

    /// Redis' `masterTryPartialResynchronization`: continue when the
    /// replica follows our history (our replid, or our replid2 up to where
    /// it was valid) and what it needs is still in the backlog.
    pub fn psync(&self, replid: &[u8], offset: &[u8], feed: &ChangeFeed) -> Psync {
        let Some(next) = std::str::from_utf8(offset)
            .ok()
            .and_then(|o| o.parse::<u64>().ok())
            .filter(|&o| o >= 1)
        else {
            return Psync::FullResync;
        };
        let from = next - 1;
        let ours = replid == self.replid.as_bytes();
        let before_failover = replid == self.replid2.as_bytes()
            && self
                .second_offset
                .is_some_and(|valid| from <= valid || planted::active(Bug::PsyncPastTheFailover));
        if !(ours || before_failover) {
            return Psync::FullResync;
        }
        if from < feed.first_offset() || from > feed.offset() {
            return Psync::FullResync;
        }
        Psync::Continue { from }
    }

    /// A replica's link starts (after PSYNC was answered).
    pub fn attach(&mut self, client: u64, ip: String, handshake: Handshake, state: LinkState) {
        let replica = Replica {
            ip,
            handshake,
            state,
            ack_offset: 0,
            ack_ms: 0,
        };
        self.replicas.insert(client, replica);
    }

    /// The snapshot is sent: the replica now streams the feed.
    pub fn online(&mut self, client: u64) {
        if let Some(replica) = self.replicas.get_mut(&client) {
            replica.state = LinkState::Online;
        }
    }

    /// `REPLCONF ACK <offset>` from a replica's link.
    pub fn ack(&mut self, client: u64, offset: u64, now_ms: u64) {
        if let Some(replica) = self.replicas.get_mut(&client) {
            replica.ack_offset = replica.ack_offset.max(offset);
            replica.ack_ms = now_ms;
        }
    }

    /// The replica's link is gone.
    pub fn detach(&mut self, client: u64) {
        self.replicas.remove(&client);
    }

    /// The attached replicas in the order they attached (by client id).
    pub fn replicas(&self) -> impl Iterator<Item = &Replica> {
        self.replicas.values()
    }

    /// How many online replicas acknowledged something within the last
    /// `max_lag_s` whole seconds before `now_ms` (`min-replicas-max-lag`).
    pub fn good_replicas(&self, now_ms: u64, max_lag_s: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state == LinkState::Online)
            .filter(|r| now_ms.saturating_sub(r.ack_ms) / 1000 <= max_lag_s)
            .count()
    }

    /// How many online replicas acknowledged at least `offset` (WAIT).
    pub fn acked(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state == LinkState::Online)
            .filter(|r| r.ack_offset >= offset || planted::active(Bug::WaitIgnoresAcknowledgements))
            .count()
    }
}

#[cfg(test)]
mod tests;
