//! Where a client request for a hash slot goes: a read-only snapshot of the
//! slot map that connections consult for every keyed command without taking
//! the node's lock. The driver rebuilds it whenever the node reports that
//! slots, roles or the cluster state changed.

use super::{NodeFlags, NodeId, NodeRecord};
use crate::slot::SLOT_COUNT;

/// A node clients can be redirected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub id: NodeId,
    pub ip: String,
    pub port: u16,
}

/// Why a keyed request cannot run anywhere right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    /// No node serves the slot.
    Unbound,
    /// The cluster state is `fail`.
    State,
    /// The cluster state is `fail` and only reads are allowed.
    ReadOnlyState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Local,
    Moved(u16, Endpoint),
    Down(Down),
}

impl Down {
    /// Redis' reply text for each case.
    pub fn message(self) -> &'static str {
        match self {
            Down::Unbound => "CLUSTERDOWN Hash slot not served",
            Down::State => "CLUSTERDOWN The cluster is down",
            Down::ReadOnlyState => "CLUSTERDOWN The cluster is down and only accepts read commands",
        }
    }
}

/// What kind of request asks, as far as routing cares.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access {
    /// The command only reads.
    pub read_only: bool,
    /// The command may write.
    pub write: bool,
    /// The client sent READONLY (reads may be served by a replica).
    pub client_readonly: bool,
}

pub struct Routing {
    /// Index into `endpoints` per slot; `NONE` when unassigned.
    owners: Box<[u16]>,
    endpoints: Vec<Endpoint>,
    myself: u16,
    /// My master's index when I am a replica.
    my_master: Option<u16>,
    state_ok: bool,
    allow_reads_when_down: bool,
}

const NONE: u16 = u16::MAX;

impl Routing {
    /// A table in which nothing is served (before the node is known).
    pub fn empty() -> Routing {
        Routing {
            owners: vec![NONE; usize::from(SLOT_COUNT)].into_boxed_slice(),
            endpoints: Vec::new(),
            myself: NONE,
            my_master: None,
            state_ok: false,
            allow_reads_when_down: false,
        }
    }

    /// Builds the table from the node table's rows (CLUSTER NODES' view).
    /// Only masters own slots; a FAIL master still owns its slots (clients
    /// get MOVED to it until a replica takes over, as in Redis).
    pub fn new(
        myself: NodeId,
        records: &[NodeRecord],
        state_ok: bool,
        allow_reads_when_down: bool,
    ) -> Routing {
        let mut routing = Routing::empty();
        routing.state_ok = state_ok;
        routing.allow_reads_when_down = allow_reads_when_down;
        for record in records {
            if record.flags.contains(NodeFlags::HANDSHAKE) {
                continue;
            }
            let index = routing.endpoints.len() as u16;
            routing.endpoints.push(Endpoint {
                id: record.id,
                ip: record.ip.clone(),
                port: record.port,
            });
            if record.id == myself {
                routing.myself = index;
            }
            if record.flags.contains(NodeFlags::MASTER) {
                for slot in record.slots.iter() {
                    routing.owners[usize::from(slot)] = index;
                }
            }
        }
        let me = records.iter().find(|r| r.id == myself);
        if let Some(master) = me.and_then(|r| r.master) {
            routing.my_master = routing
                .endpoints
                .iter()
                .position(|e| e.id == master)
                .map(|i| i as u16);
        }
        routing
    }

    pub fn state_ok(&self) -> bool {
        self.state_ok
    }

    /// The node serving `slot`, if any.
    pub fn owner(&self, slot: u16) -> Option<&Endpoint> {
        let index = *self.owners.get(usize::from(slot))?;
        self.endpoints.get(usize::from(index))
    }

    /// Where a request whose keys all hash to `slot` must run (Redis'
    /// `getNodeByQuery`, without migration states).
    pub fn route(&self, slot: u16, access: Access) -> Route {
        let owner = self.owners.get(usize::from(slot)).copied().unwrap_or(NONE);
        if owner == NONE {
            return Route::Down(Down::Unbound);
        }
        if !self.state_ok {
            if !self.allow_reads_when_down {
                return Route::Down(Down::State);
            }
            if access.write {
                return Route::Down(Down::ReadOnlyState);
            }
        }
        if owner == self.myself {
            return Route::Local;
        }
        if access.read_only && access.client_readonly && self.my_master == Some(owner) {
            return Route::Local;
        }
        match self.endpoints.get(usize::from(owner)) {
            Some(endpoint) => Route::Moved(slot, endpoint.clone()),
            None => Route::Down(Down::Unbound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::SlotSet;

    fn id(c: u8) -> NodeId {
        NodeId::parse(&[c; 40]).expect("hex id")
    }

    fn record(c: u8, port: u16, flags: NodeFlags, slots: &[u16]) -> NodeRecord {
        let mut set = SlotSet::new();
        for &slot in slots {
            set.insert(slot);
        }
        NodeRecord {
            id: id(c),
            ip: "127.0.0.1".into(),
            port,
            bus_port: port + 10000,
            hostname: String::new(),
            flags,
            master: None,
            ping_sent_ms: 0,
            pong_received_ms: 0,
            config_epoch: 1,
            connected: true,
            slots: set,
            migrating: Vec::new(),
            importing: Vec::new(),
        }
    }

    fn cluster(state_ok: bool, allow_reads: bool) -> Routing {
        let mut replica = record(b'c', 7002, NodeFlags::REPLICA, &[]);
        replica.master = Some(id(b'b'));
        let records = [
            record(b'a', 7000, NodeFlags::MASTER | NodeFlags::MYSELF, &[0, 1]),
            record(b'b', 7001, NodeFlags::MASTER, &[2]),
            replica,
        ];
        Routing::new(id(b'a'), &records, state_ok, allow_reads)
    }

    const READ: Access = Access {
        read_only: true,
        write: false,
        client_readonly: false,
    };
    const WRITE: Access = Access {
        read_only: false,
        write: true,
        client_readonly: false,
    };

    #[test]
    fn own_slots_run_here_and_others_are_moved() {
        let routing = cluster(true, false);
        assert_eq!(routing.route(1, WRITE), Route::Local);
        match routing.route(2, READ) {
            Route::Moved(2, endpoint) => assert_eq!(endpoint.port, 7001),
            other => panic!("expected MOVED, got {other:?}"),
        }
        assert_eq!(routing.route(3, READ), Route::Down(Down::Unbound));
    }

    #[test]
    fn a_down_cluster_refuses_or_serves_only_reads() {
        assert_eq!(
            cluster(false, false).route(0, READ),
            Route::Down(Down::State)
        );
        let reads_allowed = cluster(false, true);
        assert_eq!(reads_allowed.route(0, READ), Route::Local);
        assert_eq!(
            reads_allowed.route(0, WRITE),
            Route::Down(Down::ReadOnlyState)
        );
        // An unserved slot is reported before the cluster state.
        assert_eq!(
            cluster(false, false).route(5, READ),
            Route::Down(Down::Unbound)
        );
    }

    #[test]
    fn a_readonly_client_reads_its_masters_slots_on_a_replica() {
        let mut replica = record(b'c', 7002, NodeFlags::REPLICA | NodeFlags::MYSELF, &[]);
        replica.master = Some(id(b'b'));
        let records = [record(b'b', 7001, NodeFlags::MASTER, &[2]), replica];
        let routing = Routing::new(id(b'c'), &records, true, false);
        let readonly_read = Access {
            client_readonly: true,
            ..READ
        };
        assert_eq!(routing.route(2, readonly_read), Route::Local);
        assert!(matches!(routing.route(2, READ), Route::Moved(2, _)));
        let readonly_write = Access {
            client_readonly: true,
            ..WRITE
        };
        assert!(matches!(
            routing.route(2, readonly_write),
            Route::Moved(2, _)
        ));
    }
}
