//! Where a client request for a hash slot goes: a read-only snapshot of the
//! slot map that connections consult for every keyed command without taking
//! the node's lock. The driver rebuilds it whenever the node reports that
//! slots, roles or the cluster state changed.

use super::{NodeFlags, NodeId, NodeRecord};
use crate::slot::SLOT_COUNT;
use std::collections::BTreeMap;

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
    /// The slot is migrating and the request's keys are not here: ask the
    /// node it is migrating to (which serves it after ASKING).
    Ask(u16, Endpoint),
    /// The slot is migrating or importing and only some of the request's
    /// keys are here: the client should retry once the move is over.
    TryAgain,
    Down(Down),
}

/// Redis' reply to a multi-key request split by a migration.
pub const TRY_AGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";

/// How a slot being moved concerns this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migration {
    /// I serve it and am moving it away.
    Migrating,
    /// I am taking it over from its owner.
    Importing,
}

/// A request's keys, as far as a slot being moved needs to know: how many
/// this node has, and how many it lacks (`Routing::migration` says when
/// the caller must count them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeysHere {
    pub present: usize,
    pub missing: usize,
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
    /// The client sent ASKING just before, or the command implies it
    /// (RESTORE-ASKING).
    pub asking: bool,
    /// The request names more than one distinct key.
    pub multiple_keys: bool,
    /// The command is MIGRATE, which runs where the keys are.
    pub migrate: bool,
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
    /// My slots being moved away, and to whom (index into `endpoints`).
    migrating: BTreeMap<u16, u16>,
    /// Slots I am importing.
    importing: BTreeMap<u16, u16>,
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
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
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
                // By runs: rebuilt after every change of the node, also in
                // debug builds, where walking 16384 slots one by one shows.
                for (first, last) in record.slots.ranges() {
                    routing.owners[usize::from(first)..=usize::from(last)].fill(index);
                }
            }
        }
        let me = records.iter().find(|r| r.id == myself);
        if let Some(master) = me.and_then(|r| r.master) {
            routing.my_master = routing.index_of(master);
        }
        if let Some(me) = me {
            routing.migrating = routing.indexed(&me.migrating);
            routing.importing = routing.indexed(&me.importing);
        }
        routing
    }

    fn index_of(&self, id: NodeId) -> Option<u16> {
        let index = self.endpoints.iter().position(|e| e.id == id)?;
        Some(index as u16)
    }

    fn indexed(&self, slots: &[(u16, NodeId)]) -> BTreeMap<u16, u16> {
        (slots.iter())
            .filter_map(|&(slot, id)| Some((slot, self.index_of(id)?)))
            .collect()
    }

    /// Whether `slot` is being moved from or to this node: then the caller
    /// counts which of the request's keys are here before [`Routing::route`].
    pub fn migration(&self, slot: u16) -> Option<Migration> {
        let owner = self.owners.get(usize::from(slot)).copied()?;
        if owner == self.myself && self.migrating.contains_key(&slot) {
            Some(Migration::Migrating)
        } else if self.importing.contains_key(&slot) {
            Some(Migration::Importing)
        } else {
            None
        }
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
    /// `getNodeByQuery`). `keys` matters only while [`Routing::migration`]
    /// reports the slot.
    pub fn route(&self, slot: u16, access: Access, keys: KeysHere) -> Route {
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
        let migration = self.migration(slot);
        if migration.is_some() && access.migrate {
            return Route::Local;
        }
        if migration == Some(Migration::Migrating) && keys.missing > 0 {
            if keys.present > 0 {
                return Route::TryAgain;
            }
            let to = self.migrating.get(&slot).copied().unwrap_or(NONE);
            return match self.endpoints.get(usize::from(to)) {
                Some(endpoint) => Route::Ask(slot, endpoint.clone()),
                None => Route::Down(Down::Unbound),
            };
        }
        if migration == Some(Migration::Importing) && access.asking {
            if access.multiple_keys && keys.missing > 0 {
                return Route::TryAgain;
            }
            return Route::Local;
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
        asking: false,
        multiple_keys: false,
        migrate: false,
    };
    const WRITE: Access = Access {
        read_only: false,
        write: true,
        ..READ
    };
    const NO_KEYS: KeysHere = KeysHere {
        present: 0,
        missing: 0,
    };

    #[test]
    fn own_slots_run_here_and_others_are_moved() {
        let routing = cluster(true, false);
        assert_eq!(routing.route(1, WRITE, NO_KEYS), Route::Local);
        match routing.route(2, READ, NO_KEYS) {
            Route::Moved(2, endpoint) => assert_eq!(endpoint.port, 7001),
            other => panic!("expected MOVED, got {other:?}"),
        }
        assert_eq!(routing.route(3, READ, NO_KEYS), Route::Down(Down::Unbound));
    }

    #[test]
    fn a_down_cluster_refuses_or_serves_only_reads() {
        assert_eq!(
            cluster(false, false).route(0, READ, NO_KEYS),
            Route::Down(Down::State)
        );
        let reads_allowed = cluster(false, true);
        assert_eq!(reads_allowed.route(0, READ, NO_KEYS), Route::Local);
        assert_eq!(
            reads_allowed.route(0, WRITE, NO_KEYS),
            Route::Down(Down::ReadOnlyState)
        );
        // An unserved slot is reported before the cluster state.
        assert_eq!(
            cluster(false, false).route(5, READ, NO_KEYS),
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
        assert_eq!(routing.route(2, readonly_read, NO_KEYS), Route::Local);
        assert!(matches!(
            routing.route(2, READ, NO_KEYS),
            Route::Moved(2, _)
        ));
        let readonly_write = Access {
            client_readonly: true,
            ..WRITE
        };
        assert!(matches!(
            routing.route(2, readonly_write, NO_KEYS),
            Route::Moved(2, _)
        ));
    }

    /// Node a (myself) migrates slot 0 to b and imports slot 5 from b.
    fn migrating_cluster() -> Routing {
        let mut a = record(b'a', 7000, NodeFlags::MASTER | NodeFlags::MYSELF, &[0, 1]);
        a.migrating = vec![(0, id(b'b'))];
        a.importing = vec![(5, id(b'b'))];
        let records = [a, record(b'b', 7001, NodeFlags::MASTER, &[2, 5])];
        Routing::new(id(b'a'), &records, true, false)
    }

    fn keys(present: usize, missing: usize) -> KeysHere {
        KeysHere { present, missing }
    }

    #[test]
    fn a_migrating_slot_asks_for_missing_keys_and_serves_present_ones() {
        let routing = migrating_cluster();
        assert_eq!(routing.migration(0), Some(Migration::Migrating));
        assert_eq!(routing.migration(1), None);
        assert_eq!(routing.route(0, READ, keys(1, 0)), Route::Local);
        match routing.route(0, WRITE, keys(0, 1)) {
            Route::Ask(0, endpoint) => assert_eq!(endpoint.port, 7001),
            other => panic!("expected ASK, got {other:?}"),
        }
        let multi = Access {
            multiple_keys: true,
            ..READ
        };
        assert_eq!(routing.route(0, multi, keys(1, 1)), Route::TryAgain);
        let migrate = Access {
            migrate: true,
            ..WRITE
        };
        assert_eq!(routing.route(0, migrate, keys(0, 1)), Route::Local);
    }

    #[test]
    fn an_importing_slot_serves_only_after_asking() {
        let routing = migrating_cluster();
        assert_eq!(routing.migration(5), Some(Migration::Importing));
        match routing.route(5, WRITE, keys(0, 1)) {
            Route::Moved(5, endpoint) => assert_eq!(endpoint.port, 7001),
            other => panic!("expected MOVED, got {other:?}"),
        }
        let asking = Access {
            asking: true,
            ..WRITE
        };
        assert_eq!(routing.route(5, asking, keys(0, 1)), Route::Local);
        let asking_many = Access {
            multiple_keys: true,
            ..asking
        };
        assert_eq!(routing.route(5, asking_many, keys(1, 1)), Route::TryAgain);
        assert_eq!(routing.route(5, asking_many, keys(2, 0)), Route::Local);
        // ASKING does nothing for a slot that is not being imported.
        assert!(matches!(
            routing.route(2, asking, keys(0, 0)),
            Route::Moved(2, _)
        ));
    }
}
