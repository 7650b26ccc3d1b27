//! The keyspace over an [`Engine`]: logical databases, key metadata, expiry
//! bookkeeping and key counts.
//!
//! Reads go straight to the engine. Writes go through a [`Txn`], which holds
//! the store's single write lock, reads its own writes through an overlay and
//! commits one atomic engine batch. One writer at a time keeps the key counts
//! and the expire index exact without per-key locks (the engine's journal is
//! serialised anyway). Connections wait for the lock as tasks, not sleeping
//! threads ([`Store::try_begin`], [`Store::until_writable`]).
//!
//! Databases are mapped to *namespaces*: every storage key starts with the
//! namespace id of its database. FLUSHDB gives the database a fresh namespace
//! and marks the old one dead, SWAPDB swaps two mappings, so both are O(1)
//! whatever the data size; [`Store::sweep_dead`] reclaims dead namespaces in
//! the background.
//!
//! A replica's full sync loads into *staged* namespaces that no database
//! maps to, then switches every database to its staged namespace in one
//! commit (`store/staged.rs`). The sys partition may also hold the
//! replication history the data is a point of (`store/origin.rs`).
//!
//! Collections keep their members in the data partition under the key's
//! version (see `collection.rs`). Deleting or overwriting one only changes its
//! metadata and records the dead (key, version) in the sys partition;
//! [`Store::sweep_dead`] deletes those members later.

use super::directory::{Directory, SlotCountsView};
use super::effect::Effect;
use super::encoding::{self, Header, Meta};
use super::write_lock::{WriteGuard, WriteLock};
use crate::engine::{prefix_range, Batch, Engine, EngineError, Partition, Reader};
use crate::notify::{Class, Event, Flags};
use crate::sync::lock;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod functions;
mod origin;
mod staged;

pub(super) use functions::read as read_functions;
pub use origin::Origin;
pub use staged::Staged;

pub type Result<T> = std::result::Result<T, EngineError>;

/// Versions are handed out from a persisted ceiling, so they never repeat
/// across restarts: a restart starts at the last ceiling.
const VERSION_BLOCK: u64 = 1 << 20;

const SYS_NEXT_NS: &[u8] = b"next_ns";
const SYS_VERSION_CEILING: &[u8] = b"version_ceiling";
const SYS_NS_OF_DB: &[u8] = b"ns:";
/// `count: | ns`: a namespace's key counts, as stores kept them before the
/// key directory counted them at open; deleted at open.
const SYS_LEGACY_COUNTS: &[u8] = b"count:";
const SYS_DEAD_NS: &[u8] = b"dead:";
/// `gc: | data prefix` → empty: the members of a dead collection version.
pub(super) const SYS_DEAD_MEMBERS: &[u8] = b"gc:";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub keys: u64,
    pub expires: u64,
}

struct WriteState {
    next_ns: u32,
    version_next: u64,
    version_ceiling: u64,
    counts: HashMap<u32, KeyCounts>,
    /// Namespaces a full sync is loading into (see `store/staged.rs`).
    staged: HashSet<u32>,
    /// Whether the sys partition holds an [`Origin`] row.
    origin_stored: bool,
    /// Every key's header, by namespace (`keyspace::directory`).
    directory: Directory,
}

pub struct Store {
    engine: Arc<dyn Engine>,
    namespaces: Vec<AtomicU32>,
    state: WriteLock<WriteState>,
    write_seq: AtomicU64,
    expired_keys: AtomicU64,
    /// Dead collection versions whose members are not yet reclaimed.
    pub(super) reclaim_pending: AtomicU64,
    /// Dead collection versions fully reclaimed since start.
    pub(super) reclaimed: AtomicU64,
    /// Where the sweeper of dead collection members got to (see
    /// [`delete_prefixed`]).
    pub(super) sweep_resume: Mutex<Option<Resume>>,
    /// Where the sweeper of dead namespaces got to.
    ns_sweep_resume: Mutex<Option<Resume>>,
    /// The committed key counts, readable without the write lock (DBSIZE
    /// and INFO run inside EXEC, which holds it).
    counts_view: Mutex<HashMap<u32, KeyCounts>>,
    /// The directory's per-slot key counts, readable without the lock.
    slot_counts: SlotCountsView,
    /// Who WATCHes which keys; every commit reports its changes here.
    pub watches: super::watch::Watches,
    /// `notify-keyspace-events`, read by each transaction as it begins.
    notify_flags: AtomicU32,
    /// This node replicates a master: only the master deletes expired keys
    /// (`Txn::get` hides them instead), as in Redis.
    replica: AtomicBool,
    /// Clients are paused until then (unix ms): expired keys read as absent
    /// but are not deleted, so that nothing reaches the replicas.
    expiry_paused_until: AtomicU64,
    /// Who is blocked on which keys (BLPOP ...); commits wake them.
    pub blocking: super::blocking::BlockingKeys,
}

/// One step of active expiry, ready to commit.
pub struct ExpireCycle<'a> {
    /// Expire-index entries processed (the budget used).
    pub processed: usize,
    /// The transaction that deletes the keys whose time has come (with
    /// their `expired` events and `DEL` effects) and drops stale index
    /// entries: the caller commits it through the server's commit path.
    pub txn: Option<Txn<'a>>,
}

fn sys_key(prefix: &[u8], id: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(prefix.len() + 4);
    out.put_slice(prefix);
    out.put_u32(id);
    out.freeze()
}

pub(super) fn corrupt(what: &str) -> EngineError {
    EngineError {
        context: "decoding stored data",
        message: format!("corrupt {what}"),
    }
}

pub(super) fn decode_meta(bytes: Bytes) -> Result<Meta> {
    Meta::decode(bytes).ok_or_else(|| corrupt("key metadata"))
}

impl Store {
    /// Opens the keyspace on `engine` with `databases` logical databases,
    /// creating the namespace table on first use.
    pub fn open(engine: Arc<dyn Engine>, databases: u32) -> Result<Store> {
        let mut batch = Batch::default();
        let mut next_ns = match engine.get(Partition::Sys, SYS_NEXT_NS)? {
            Some(raw) if raw.len() == 4 => encoding::read_u32(&raw),
            Some(_) => return Err(corrupt("namespace counter")),
            None => 1,
        };
        let mut namespaces = Vec::with_capacity(databases as usize);
        for db in 0..databases {
            let ns = match engine.get(Partition::Sys, &sys_key(SYS_NS_OF_DB, db))? {
                Some(raw) if raw.len() == 4 => encoding::read_u32(&raw),
                Some(_) => return Err(corrupt("namespace table")),
                None => {
                    let ns = next_ns;
                    next_ns += 1;
                    batch.put(
                        Partition::Sys,
                        sys_key(SYS_NS_OF_DB, db),
                        ns.to_be_bytes().to_vec(),
                    );
                    ns
                }
            };
            namespaces.push(AtomicU32::new(ns));
        }
        let version_ceiling = match engine.get(Partition::Sys, SYS_VERSION_CEILING)? {
            Some(raw) if raw.len() == 8 => encoding::read_u64(&raw),
            Some(_) => return Err(corrupt("version ceiling")),
            None => 1,
        };
        batch.put(Partition::Sys, SYS_NEXT_NS, next_ns.to_be_bytes().to_vec());
        staged::drop_leftovers(&*engine, &mut batch)?;
        let origin_stored = origin::read(&*engine)?.is_some();
        for row in engine.scan(Partition::Sys, prefix_range(SYS_LEGACY_COUNTS)) {
            batch.delete(Partition::Sys, row?.0);
        }
        engine.write(batch)?;
        let mut reclaim_pending = 0;
        for item in engine.scan(Partition::Sys, prefix_range(SYS_DEAD_MEMBERS)) {
            item?;
            reclaim_pending += 1;
        }
        let live: Vec<u32> = namespaces
            .iter()
            .map(|ns| ns.load(Ordering::Relaxed))
            .collect();
        let directory = Directory::build(&*engine, live.iter().copied())?;
        let slot_counts = directory.view();
        let counts: HashMap<u32, KeyCounts> =
            live.iter().map(|&ns| (ns, directory.counts(ns))).collect();
        Ok(Store {
            engine,
            namespaces,
            state: WriteLock::new(WriteState {
                next_ns,
                version_next: version_ceiling,
                version_ceiling,
                counts: counts.clone(),
                staged: HashSet::new(),
                origin_stored,
                directory,
            }),
            slot_counts,
            write_seq: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            reclaim_pending: AtomicU64::new(reclaim_pending),
            reclaimed: AtomicU64::new(0),
            sweep_resume: Mutex::new(None),
            ns_sweep_resume: Mutex::new(None),
            watches: super::watch::Watches::default(),
            blocking: super::blocking::BlockingKeys::default(),
            counts_view: Mutex::new(counts),
            notify_flags: AtomicU32::new(0),
            replica: AtomicBool::new(false),
            expiry_paused_until: AtomicU64::new(0),
        })
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn databases(&self) -> usize {
        self.namespaces.len()
    }

    pub(super) fn ns(&self, db: usize) -> u32 {
        self.namespaces[db].load(Ordering::Acquire)
    }

    /// Dead collections (deleted, overwritten, expired) whose members the
    /// sweeper has not reclaimed yet: INFO's `lazyfree_pending_objects`.
    pub fn reclaim_pending(&self) -> u64 {
        self.reclaim_pending.load(Ordering::Relaxed)
    }

    /// Dead collections whose members the sweeper has reclaimed since the
    /// server started: INFO's `lazyfreed_objects`.
    pub fn reclaimed(&self) -> u64 {
        self.reclaimed.load(Ordering::Relaxed)
    }

    /// Number of committed write batches; the durability task syncs up to it.
    pub fn write_seq(&self) -> u64 {
        self.write_seq.load(Ordering::Acquire)
    }

    /// The keyspace events transactions record from now on.
    /// Whether this node replicates a master ([`Store::replica`]).
    pub fn set_replica(&self, replica: bool) {
        self.replica.store(replica, Ordering::Relaxed);
    }

    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Relaxed)
    }

    /// Clients are paused until `until_ms` (0: not paused; see
    /// `command::pause`): expired keys are kept, read as absent, until then.
    pub fn pause_until(&self, until_ms: u64) {
        self.expiry_paused_until.store(until_ms, Ordering::Release);
    }

    pub fn paused_until(&self) -> u64 {
        self.expiry_paused_until.load(Ordering::Acquire)
    }

    /// Whether a transaction begun at `now_ms` deletes the expired keys it
    /// finds: not on a replica, nor while clients are paused.
    fn deletes_expired_keys(&self, now_ms: u64) -> bool {
        !self.is_replica() && now_ms >= self.paused_until()
    }

    pub fn set_notify_flags(&self, flags: Flags) {
        self.notify_flags.store(flags.bits(), Ordering::Relaxed);
    }

    pub fn notify_flags(&self) -> Flags {
        Flags::from_bits(self.notify_flags.load(Ordering::Relaxed))
    }

    pub fn expired_keys(&self) -> u64 {
        self.expired_keys.load(Ordering::Relaxed)
    }

    /// Reads a key's live metadata without taking the write lock. Expired keys
    /// read as absent (they are deleted by a writer or by active expiry).
    pub fn get(&self, db: usize, key: &[u8], now_ms: u64) -> Result<Option<Meta>> {
        self.get_in(&*self.engine, self.ns(db), key, now_ms)
    }

    /// [`Store::get`] through `view` (the engine or one of its snapshots),
    /// in namespace `ns`.
    pub(super) fn get_in(
        &self,
        view: &dyn Reader,
        ns: u32,
        key: &[u8],
        now_ms: u64,
    ) -> Result<Option<Meta>> {
        let raw = view.get(Partition::Meta, &encoding::meta_key(ns, key))?;
        match raw {
            Some(raw) => {
                let meta = decode_meta(raw)?;
                Ok((!meta.is_expired(now_ms)).then_some(meta))
            }
            None => Ok(None),
        }
    }

    pub fn counts(&self, db: usize) -> KeyCounts {
        let ns = self.ns(db);
        lock(&self.counts_view)
            .get(&ns)
            .copied()
            .unwrap_or_default()
    }

    /// Starts a write transaction; it holds the write lock until committed
    /// or dropped, and blocks the thread while somebody else holds it.
    pub fn begin(&self, now_ms: u64) -> Txn<'_> {
        self.txn_holding(self.state.lock(), now_ms)
    }

    /// [`Store::begin`] unless the write lock is taken; then
    /// [`Store::until_writable`] lets an async caller wait without blocking
    /// its thread.
    pub fn try_begin(&self, now_ms: u64) -> Option<Txn<'_>> {
        Some(self.txn_holding(self.state.try_lock()?, now_ms))
    }

    /// Resolves once the write lock was free; [`Store::try_begin`] may
    /// still lose it to somebody else.
    pub async fn until_writable(&self) {
        self.state.until_free().await;
    }

    fn txn_holding<'s>(&'s self, state: WriteGuard<'s, WriteState>, now_ms: u64) -> Txn<'s> {
        Txn {
            version_next: state.version_next,
            version_ceiling: state.version_ceiling,
            next_ns: state.next_ns,
            store: self,
            state,
            now_ms,
            batch: Batch::default(),
            overlay: HashMap::new(),
            undo: Vec::new(),
            ingested: Vec::new(),
            ns_override: HashMap::new(),
            count_changes: HashMap::new(),
            dead: Vec::new(),
            expired: 0,
            member_writes: BTreeMap::new(),
            member_undo: Vec::new(),
            reclaims: 0,
            notify_mask: self.notify_flags().mask(),
            expired_keys: if self.deletes_expired_keys(now_ms) {
                ExpiredKeys::Delete
            } else {
                ExpiredKeys::Hide
            },
            from_master: false,
            loading_into: None,
            origin: None,
            events: Vec::new(),
            effects: Vec::new(),
            changes: 0,
            propagated: 0,
            atomic: Atomic::No,
        }
    }

    /// Keys of `db` in storage order from `start` (a (slot, key) position),
    /// at most `limit` of them, including expired ones (callers filter).
    pub fn scan_keys(
        &self,
        db: usize,
        start: Bound<(u16, &[u8])>,
        limit: usize,
    ) -> Result<Vec<(u16, Bytes, Meta)>> {
        let ns = self.ns(db);
        let (ns_start, end) = prefix_range(&encoding::ns_prefix(ns));
        let start = match start {
            Bound::Included((slot, key)) => {
                Bound::Included(encoding::meta_key_in_slot(ns, slot, key))
            }
            Bound::Excluded((slot, key)) => {
                Bound::Excluded(encoding::meta_key_in_slot(ns, slot, key))
            }
            Bound::Unbounded => ns_start,
        };
        let mut out = Vec::new();
        for item in self.engine.scan(Partition::Meta, (start, end)).take(limit) {
            let (raw_key, raw_meta) = item?;
            let (_, slot, key) =
                encoding::split_meta_key(&raw_key).ok_or_else(|| corrupt("meta key"))?;
            out.push((slot, key, decode_meta(raw_meta)?));
        }
        Ok(out)
    }

    /// Live keys of `db` in hash slot `slot`, in storage order, at most
    /// `limit`: a range read over the slot's contiguous meta keys
    /// (CLUSTER GETKEYSINSLOT, MIGRATE's callers), never a keyspace scan.
    pub fn slot_keys(&self, db: usize, slot: u16, limit: usize, now_ms: u64) -> Result<Vec<Bytes>> {
        self.live_slot_keys(db, slot, now_ms).take(limit).collect()
    }

    /// The slots in which `db` has rows of keys (expired or not), in order:
    /// one seek per slot found, not one per slot.
    pub fn slots_with_keys(&self, db: usize) -> Result<Vec<u16>> {
        let ns = self.ns(db);
        let (_, end) = prefix_range(&encoding::ns_prefix(ns));
        let mut found = Vec::new();
        let mut next = 0u32;
        while next < u32::from(crate::slot::SLOT_COUNT) {
            let (start, _) = prefix_range(&encoding::slot_prefix(ns, next as u16));
            let Some(row) = self
                .engine
                .scan(Partition::Meta, (start, end.clone()))
                .next()
            else {
                break;
            };
            let (raw_key, _) = row?;
            let (_, slot, _) =
                encoding::split_meta_key(&raw_key).ok_or_else(|| corrupt("meta key"))?;
            found.push(slot);
            next = u32::from(slot) + 1;
        }
        Ok(found)
    }

    /// How many keys `db` has in `slot`, expired ones not yet deleted
    /// included, as Redis counts them (COUNTKEYSINSLOT): O(1), from the
    /// directory.
    pub fn count_slot_keys(&self, db: usize, slot: u16) -> u32 {
        let counts = lock(&self.slot_counts).get(&self.ns(db)).cloned();
        counts.map_or(0, |counts| counts.get(slot))
    }

    fn live_slot_keys(
        &self,
        db: usize,
        slot: u16,
        now_ms: u64,
    ) -> impl Iterator<Item = Result<Bytes>> + '_ {
        let range = prefix_range(&encoding::slot_prefix(self.ns(db), slot));
        let rows = self.engine.scan(Partition::Meta, range);
        rows.filter_map(move |item| {
            let live = |(raw_key, raw_meta): (Bytes, Bytes)| {
                if decode_meta(raw_meta)?.is_expired(now_ms) {
                    return Ok(None);
                }
                let (_, _, key) =
                    encoding::split_meta_key(&raw_key).ok_or_else(|| corrupt("meta key"))?;
                Ok(Some(key))
            };
            item.and_then(live).transpose()
        })
    }

    /// Prepares one step of active expiry: the deletion of up to `budget`
    /// keys whose time has come, and how many expire-index entries that
    /// processed, so the caller can run again at once when the budget was
    /// used up.
    pub fn expire_cycle(&self, now_ms: u64, budget: usize) -> Result<ExpireCycle<'_>> {
        let end = Bound::Excluded(Bytes::copy_from_slice(&(now_ms + 1).to_be_bytes()));
        let due: Vec<Bytes> = self
            .engine
            .scan(Partition::Expire, (Bound::Unbounded, end))
            .take(budget)
            .map(|item| item.map(|(k, _)| k))
            .collect::<Result<_>>()?;
        if due.is_empty() {
            return Ok(ExpireCycle {
                processed: 0,
                txn: None,
            });
        }
        let mut txn = self.begin(now_ms);
        if txn.expired_keys != ExpiredKeys::Delete {
            // Paused (decided under the write lock): nothing expires now.
            return Ok(ExpireCycle {
                processed: 0,
                txn: None,
            });
        }
        let mut processed = 0;
        for raw in &due {
            let (expire_at, ns, key) =
                encoding::split_expire_key(raw).ok_or_else(|| corrupt("expire key"))?;
            // A staged namespace's keys are no database's yet, but not
            // stale either. Not counted, so the caller does not spin on them.
            if txn.state.staged.contains(&ns) {
                continue;
            }
            processed += 1;
            let live = (0..txn.store.databases()).find(|&db| txn.ns(db) == ns);
            let meta = match live {
                Some(db) => txn.get(db, &key)?,
                None => None,
            };
            // An entry whose key is gone or has another deadline is stale.
            if meta.is_none_or(|m| m.expire_at != expire_at) {
                txn.batch.delete(Partition::Expire, raw.clone());
            }
        }
        Ok(ExpireCycle {
            processed,
            txn: Some(txn),
        })
    }

    /// Deletes up to `budget` entries of dead namespaces, or else members
    /// of dead collection versions. Returns how many were deleted; 0 means
    /// nothing is left to reclaim.
    pub fn sweep_dead(&self, budget: usize) -> Result<usize> {
        match self.sweep_dead_namespace(budget)? {
            0 => self.sweep_dead_members(budget),
            n => Ok(n),
        }
    }

    fn sweep_dead_namespace(&self, budget: usize) -> Result<usize> {
        let dead = self
            .engine
            .scan(Partition::Sys, prefix_range(SYS_DEAD_NS))
            .next();
        let Some(item) = dead else { return Ok(0) };
        let (marker, _) = item?;
        if marker.len() != SYS_DEAD_NS.len() + 4 {
            // Not a marker we wrote: drop it rather than trip over it forever.
            let mut batch = Batch::default();
            batch.delete(Partition::Sys, marker);
            self.engine.write(batch)?;
            return Ok(1);
        }
        let ns = encoding::read_u32(&marker[SYS_DEAD_NS.len()..]);

        let prefix = encoding::ns_prefix(ns);
        let steps = [Partition::Meta, Partition::Data, Partition::ZScore]
            .map(|partition| (partition, &prefix[..]));
        let mut batch = Batch::default();
        let mut resume = lock(&self.ns_sweep_resume);
        if delete_prefixed(&*self.engine, &steps, &mut resume, budget, &mut batch)? {
            batch.delete(Partition::Sys, marker);
            *resume = None;
        }
        let deleted = batch.len();
        self.engine.write(batch)?;
        Ok(deleted.max(1))
    }
}

/// Where a sweep got to: the step (of those [`delete_prefixed`] was given)
/// and the last key it deleted there.
pub(super) type Resume = (usize, Bytes);

/// Deletes up to `budget` entries, taking `steps` (a partition and a key
/// prefix each) in order, and resuming after `resume`, the last entry a
/// previous call deleted, so that a sweep does not wade through its own
/// deletion markers again (which made sweeping a million keys take
/// minutes). Returns whether every step is empty now; then `resume` is
/// the caller's to reset.
pub(super) fn delete_prefixed(
    engine: &dyn Engine,
    steps: &[(Partition, &[u8])],
    resume: &mut Option<Resume>,
    budget: usize,
    batch: &mut Batch,
) -> Result<bool> {
    let mut left = budget;
    for (step, &(partition, prefix)) in steps.iter().enumerate() {
        if left == 0 {
            return Ok(false);
        }
        let (start, end) = prefix_range(prefix);
        let start = match &*resume {
            Some((at, last)) if last.starts_with(prefix) => match at.cmp(&step) {
                std::cmp::Ordering::Equal => Bound::Excluded(last.clone()),
                std::cmp::Ordering::Greater => continue, // swept already
                std::cmp::Ordering::Less => start,
            },
            _ => start,
        };
        let mut deleted = 0;
        for item in engine.scan(partition, (start, end)).take(left) {
            let (key, _) = item?;
            *resume = Some((step, key.clone()));
            batch.delete(partition, key);
            deleted += 1;
        }
        if deleted == left {
            return Ok(false);
        }
        left -= deleted;
    }
    Ok(true)
}

/// Databases a commit flushes or swaps, and their watched keys (see
/// `Txn::watched_in_remapped`).
#[derive(Default)]
struct Remapped {
    dbs: HashSet<usize>,
    checked: HashSet<(usize, Bytes)>,
    existed: HashSet<(usize, Bytes)>,
}

/// An overlay entry as it was before a write: `None` if it was not cached.
type OverlayUndo = ((u32, Bytes), Option<Option<Meta>>);

/// One namespace's keys read or written by a transaction.
type Overlay = HashMap<Bytes, Option<Meta>, foldhash::fast::RandomState>;
/// A member overlay entry as it was before a write: `None` if absent.
pub(super) type MemberUndo = ((Partition, Bytes), Option<Option<Bytes>>);

/// Where a transaction stood, to go back to when one command of several
/// sharing the transaction fails (see [`Txn::rollback_to`]).
pub struct Savepoint {
    batch_len: usize,
    undo_len: usize,
    ingested_len: usize,
    ns_override: HashMap<usize, u32>,
    count_changes: HashMap<u32, KeyCounts>,
    dead_len: usize,
    next_ns: u32,
    version_next: u64,
    version_ceiling: u64,
    expired: u64,
    member_undo_len: usize,
    reclaims: u64,
    events_len: usize,
    effects_len: usize,
    changes: u64,
    propagated: u64,
    atomic: Atomic,
}

/// A write transaction: reads see its own writes; nothing is visible to
/// others until [`Txn::commit`]. Dropping it discards every change. Several
/// commands may share one (a pipeline, later MULTI/EXEC); a savepoint taken
/// before each lets a failing command leave no trace.
pub struct Txn<'a> {
    pub(super) store: &'a Store,
    state: WriteGuard<'a, WriteState>,
    now_ms: u64,
    pub(super) batch: Batch,
    /// Raw (expiry-unfiltered) metadata of keys read or written, by
    /// namespace and key.
    overlay: HashMap<u32, Overlay>,
    /// What each write to `overlay` replaced, so a savepoint can be restored.
    undo: Vec<OverlayUndo>,
    /// Strings taken in bulk ([`Txn::account_absent`]), for the directory.
    ingested: Vec<(u32, Bytes, Header)>,

    /// Database → namespace changes made by this transaction.
    ns_override: HashMap<usize, u32>,
    count_changes: HashMap<u32, KeyCounts>,
    /// Namespaces this transaction flushed.
    dead: Vec<u32>,
    next_ns: u32,
    version_next: u64,
    version_ceiling: u64,
    expired: u64,
    /// Collection members (and score index entries) written by this
    /// transaction, by partition and storage key (`None`: deleted), so that
    /// it reads its own member writes.
    pub(super) member_writes: BTreeMap<(Partition, Bytes), Option<Bytes>>,
    pub(super) member_undo: Vec<MemberUndo>,
    /// Dead collection versions recorded for the sweeper.
    pub(super) reclaims: u64,
    /// The event classes to record (`Flags::mask`, read at begin).
    notify_mask: u32,
    /// Keyspace events in the order they happened, published after the
    /// commit by whoever commits.
    events: Vec<Event>,
    /// What the writes did, as commands for a replica, in order; handed to
    /// the change feed by whoever commits ([`Txn::take_effects`]).
    effects: Vec<Effect>,
    /// Logical writes made so far (Redis' `server.dirty`): key and member
    /// writes, flushes and swaps, but not the deletion of a key found
    /// expired, which records its own effect.
    pub(super) changes: u64,
    /// Effects recorded by commands ([`Txn::propagate`]) so far.
    propagated: u64,
    atomic: Atomic,
    expired_keys: ExpiredKeys,
    /// See [`Txn::apply_master_stream`].
    from_master: bool,
    /// The staged namespace of each database, when this transaction loads
    /// a full sync ([`Txn::load_staged`]): its reads and writes go there.
    loading_into: Option<Vec<u32>>,
    /// The replication history point to record with this commit
    /// ([`Txn::set_origin`]).
    origin: Option<Origin>,
}

/// What [`Txn::get`] does with a key whose deadline has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpiredKeys {
    /// Deletes it and reads it as absent (a master: lazy expiry).
    Delete,
    /// Reads it as absent and leaves it for the master's DEL (a replica).
    Hide,
    /// Reads it as live (a replica applying its master's stream, which
    /// decides when keys expire).
    Keep,
}

/// Whether the effects being recorded belong to one atomic unit (EXEC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Atomic {
    No,
    /// Inside EXEC, nothing recorded yet: the first effect opens MULTI.
    Pending,
    /// MULTI was recorded; EXEC closes it.
    Open,
}

impl<'a> Txn<'a> {
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn databases(&self) -> usize {
        self.store.databases()
    }

    /// The namespace this transaction reads and writes `db` in.
    pub(super) fn ns(&self, db: usize) -> u32 {
        match &self.loading_into {
            Some(staged) => staged[db],
            None => self.mapped_ns(db),
        }
    }

    /// The namespace `db` maps to once this transaction commits.
    fn mapped_ns(&self, db: usize) -> u32 {
        self.ns_override
            .get(&db)
            .copied()
            .unwrap_or_else(|| self.store.ns(db))
    }

    fn counts_mut(&mut self, ns: u32) -> &mut KeyCounts {
        let committed = self.state.counts.get(&ns).copied().unwrap_or_default();
        self.count_changes.entry(ns).or_insert(committed)
    }

    pub fn counts(&self, db: usize) -> KeyCounts {
        let ns = self.ns(db);
        self.count_changes
            .get(&ns)
            .or_else(|| self.state.counts.get(&ns))
            .copied()
            .unwrap_or_default()
    }

    /// `key`'s header in `ns` as this transaction sees it, expired or
    /// not: its own writes, else the directory. Never reads the engine.
    fn raw_header(&self, ns: u32, key: &[u8]) -> Option<Header> {
        match self.overlay.get(&ns).and_then(|keys| keys.get(key)) {
            Some(meta) => meta.as_ref().map(Header::from),
            None => self.state.directory.get(ns, key),
        }
    }

    /// The key's live header (what a write that replaces it needs to
    /// know). An expired key is deleted here (lazy expiry).
    pub fn header(&mut self, db: usize, key: &[u8]) -> Option<Header> {
        let ns = self.ns(db);
        let header = self.raw_header(ns, key)?;
        if !header.is_expired(self.now_ms) {
            return Some(header);
        }
        match self.expired_keys {
            ExpiredKeys::Keep => Some(header),
            ExpiredKeys::Hide => None,
            ExpiredKeys::Delete => {
                self.remove(ns, key, &header);
                self.expired += 1;
                self.notify(db, Class::Expired, "expired", key);
                // A replica deletes expired keys only when told (as in Redis).
                self.record(Effect::del(db, key));
                None
            }
        }
    }

    /// The key's live metadata. An expired key is deleted here (lazy
    /// expiry). Only a key the directory holds is read from the engine.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Result<Option<Meta>> {
        if self.header(db, key).is_none() {
            return Ok(None);
        }
        let ns = self.ns(db);
        if let Some(meta) = self.overlay.get(&ns).and_then(|keys| keys.get(key)) {
            return Ok(meta.clone());
        }
        let meta = match self
            .store
            .engine
            .get(Partition::Meta, &encoding::meta_key(ns, key))?
        {
            Some(raw) => Some(decode_meta(raw)?),
            None => None,
        };
        let keys = self.overlay.entry(ns).or_default();
        keys.insert(Bytes::copy_from_slice(key), meta.clone());
        Ok(meta)
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> Result<bool> {
        Ok(self.header(db, key).is_some())
    }

    /// Writes a key's metadata, keeping counts and the expire index exact.
    pub fn put(&mut self, db: usize, key: &[u8], meta: Meta) -> Result<()> {
        let old = self.header(db, key);
        self.put_over(db, key, meta, old);
        Ok(())
    }

    /// [`Txn::put`] of a key the caller knows holds nothing (a snapshot's
    /// key loaded into emptied slots or namespaces, a RESTORE after its
    /// delete): no read of the engine first, the dearest part of a write.
    pub fn put_absent(&mut self, db: usize, key: &[u8], meta: Meta) {
        self.put_over(db, key, meta, None);
    }

    /// Accounts for string keys the caller knows hold nothing and are
    /// distinct (a full sync's into staged namespaces, a whole-slot
    /// import's into emptied slots) as [`Txn::put_absent`] would: counts,
    /// and deadlines to the expire index. Returns their metadata rows,
    /// sorted, which the caller writes past the journal
    /// (`Engine::ingest`, see `keyspace::bulk`).
    pub(super) fn account_absent(
        &mut self,
        db: usize,
        rows: Vec<(Bytes, Meta)>,
    ) -> Vec<(Bytes, Bytes)> {
        let ns = self.ns(db);
        let mut encoded = Vec::with_capacity(rows.len());
        let mut expiring = 0;
        for (key, meta) in rows {
            if meta.expire_at != 0 {
                expiring += 1;
                self.batch.put(
                    Partition::Expire,
                    encoding::expire_key(meta.expire_at, ns, &key),
                    Bytes::new(),
                );
            }
            encoded.push((encoding::meta_key(ns, &key), meta.encode()));
            self.ingested.push((ns, key, Header::from(&meta)));
        }
        encoded.sort_by(|a, b| a.0.cmp(&b.0));
        encoded.dedup_by(|a, b| a.0 == b.0);
        let keys = encoded.len() as u64;
        self.changes += keys;
        let counts = self.counts_mut(ns);
        counts.keys += keys;
        counts.expires += expiring;
        encoded
    }

    pub(super) fn engine(&self) -> &Arc<dyn Engine> {
        &self.store.engine
    }

    /// Writes `meta` at `key`, which held `old`.
    fn put_over(&mut self, db: usize, key: &[u8], meta: Meta, old: Option<Header>) {
        let ns = self.ns(db);
        self.changes += 1;
        if old.is_none() {
            self.notify(db, Class::New, "new", key);
        }
        let counts = self.counts_mut(ns);
        match &old {
            None => counts.keys += 1,
            Some(old) if old.expire_at != 0 => counts.expires = counts.expires.saturating_sub(1),
            Some(_) => {}
        }
        if meta.expire_at != 0 {
            counts.expires += 1;
        }
        if let Some(old) = &old {
            if old.expire_at != 0 && old.expire_at != meta.expire_at {
                self.batch.delete(
                    Partition::Expire,
                    encoding::expire_key(old.expire_at, ns, key),
                );
            }
        }
        if let Some(old) = &old {
            if old.is_collection() && (old.kind != meta.kind || old.version != meta.version) {
                self.reclaim(ns, key, old.version);
            }
        }
        if meta.expire_at != 0 && old.is_none_or(|old| old.expire_at != meta.expire_at) {
            self.batch.put(
                Partition::Expire,
                encoding::expire_key(meta.expire_at, ns, key),
                Bytes::new(),
            );
        }
        self.batch
            .put(Partition::Meta, encoding::meta_key(ns, key), meta.encode());
        self.set_overlay(ns, key, Some(meta));
    }

    /// Deletes a key. Returns whether it existed.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> Result<bool> {
        let ns = self.ns(db);
        match self.header(db, key) {
            Some(header) => {
                self.remove(ns, key, &header);
                self.changes += 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn remove(&mut self, ns: u32, key: &[u8], header: &Header) {
        let counts = self.counts_mut(ns);
        counts.keys = counts.keys.saturating_sub(1);
        if header.expire_at != 0 {
            counts.expires = counts.expires.saturating_sub(1);
            self.batch.delete(
                Partition::Expire,
                encoding::expire_key(header.expire_at, ns, key),
            );
        }
        if header.is_collection() {
            self.reclaim(ns, key, header.version);
        }
        self.batch
            .delete(Partition::Meta, encoding::meta_key(ns, key));
        self.set_overlay(ns, key, None);
    }

    fn set_overlay(&mut self, ns: u32, key: &[u8], meta: Option<Meta>) {
        let key = Bytes::copy_from_slice(key);
        let previous = self
            .overlay
            .entry(ns)
            .or_default()
            .insert(key.clone(), meta);
        self.undo.push(((ns, key), previous));
    }

    /// Number of engine operations waiting to be committed.
    pub fn pending_ops(&self) -> usize {
        self.batch.len()
    }

    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            batch_len: self.batch.len(),
            undo_len: self.undo.len(),
            ingested_len: self.ingested.len(),
            ns_override: self.ns_override.clone(),
            count_changes: self.count_changes.clone(),
            dead_len: self.dead.len(),
            next_ns: self.next_ns,
            version_next: self.version_next,
            version_ceiling: self.version_ceiling,
            expired: self.expired,
            member_undo_len: self.member_undo.len(),
            reclaims: self.reclaims,
            events_len: self.events.len(),
            effects_len: self.effects.len(),
            changes: self.changes,
            propagated: self.propagated,
            atomic: self.atomic,
        }
    }

    /// Forgets every change made since `savepoint` was taken.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        self.batch.ops.truncate(savepoint.batch_len);
        while self.undo.len() > savepoint.undo_len {
            let Some(((ns, key), previous)) = self.undo.pop() else {
                break;
            };
            let keys = self.overlay.entry(ns).or_default();
            match previous {
                Some(meta) => keys.insert(key, meta),
                None => keys.remove(&key),
            };
        }
        self.ingested.truncate(savepoint.ingested_len);
        self.ns_override = savepoint.ns_override;
        self.count_changes = savepoint.count_changes;
        self.dead.truncate(savepoint.dead_len);
        self.next_ns = savepoint.next_ns;
        self.version_next = savepoint.version_next;
        self.version_ceiling = savepoint.version_ceiling;
        self.expired = savepoint.expired;
        self.undo_members(savepoint.member_undo_len);
        self.reclaims = savepoint.reclaims;
        self.events.truncate(savepoint.events_len);
        // Effects are handed over only at a commit, and no rollback
        // reaches back past one.
        debug_assert!(self.effects.len() >= savepoint.effects_len);
        self.effects.truncate(savepoint.effects_len);
        self.changes = savepoint.changes;
        self.propagated = savepoint.propagated;
        self.atomic = savepoint.atomic;
    }

    /// Records a keyspace event (`Class` as Redis classifies it, `name`
    /// its event name) if notifications of its class are on; with them off
    /// this is one branch. Events are published after the commit.
    pub fn notify(&mut self, db: usize, class: Class, name: &'static str, key: &[u8]) {
        if self.notify_mask & class.bit() == 0 {
            return;
        }
        self.events.push(Event {
            db,
            name,
            key: Bytes::copy_from_slice(key),
        });
    }

    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The events recorded so far, to publish once they are committed.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// A transaction of a replica applying its master's stream: expired
    /// keys read as live (the master decides what has expired), and no
    /// effects are recorded, since the feed gets the master's own bytes
    /// (`command::commit::commit_from_master`), whoever commits.
    pub fn apply_master_stream(&mut self) {
        self.expired_keys = ExpiredKeys::Keep;
        self.from_master = true;
    }

    /// Logical writes made so far: a command that raised it changed data.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Effects recorded by commands so far ([`Txn::propagate`]).
    pub fn propagated(&self) -> u64 {
        self.propagated
    }

    /// Records what a command did, as a command for a replica. A command
    /// that changed data and records nothing itself is recorded as it was
    /// sent (by whoever ran it).
    pub fn propagate(&mut self, effect: Effect) {
        self.propagated += 1;
        self.record(effect);
    }

    /// Says that what the command changed needs no effect: bookkeeping
    /// each server keeps for itself (a stream consumer's seen time), so the
    /// command must not be recorded as sent either.
    pub fn propagate_nothing(&mut self) {
        self.propagated += 1;
    }

    fn record(&mut self, effect: Effect) {
        if self.from_master {
            return;
        }
        if self.atomic == Atomic::Pending {
            self.effects.push(Effect::Multi);
            self.atomic = Atomic::Open;
        }
        self.effects.push(effect);
    }

    /// The effects recorded from now until [`Txn::end_atomic`] apply as
    /// one unit (EXEC): they are wrapped in MULTI/EXEC if there are any.
    pub fn begin_atomic(&mut self) {
        debug_assert_eq!(self.atomic, Atomic::No, "EXEC does not nest");
        self.atomic = Atomic::Pending;
    }

    pub fn end_atomic(&mut self) {
        if self.atomic == Atomic::Open {
            self.effects.push(Effect::Exec);
        }
        self.atomic = Atomic::No;
    }

    /// The effects recorded so far, for the change feed: taken by whoever
    /// commits, while it still holds the write lock, so that the feed is in
    /// commit order.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// A version number never handed out before, also across restarts.
    pub fn new_version(&mut self) -> u64 {
        if self.version_next >= self.version_ceiling {
            self.version_ceiling = self.version_next + VERSION_BLOCK;
            self.batch.put(
                Partition::Sys,
                SYS_VERSION_CEILING,
                self.version_ceiling.to_be_bytes().to_vec(),
            );
        }
        self.version_next += 1;
        self.version_next - 1
    }

    /// Empties a database in O(1): it gets a fresh namespace, the old one is
    /// reclaimed in the background.
    pub fn flush_db(&mut self, db: usize) {
        let new = self.next_ns;
        self.next_ns += 1;
        self.batch.put(
            Partition::Sys,
            SYS_NEXT_NS,
            self.next_ns.to_be_bytes().to_vec(),
        );
        self.count_changes.insert(new, KeyCounts::default());
        self.replace_ns(db, new);
    }

    /// Maps `db` to namespace `new` (whose counts are already known) and
    /// marks its old namespace dead, for the sweeper.
    fn replace_ns(&mut self, db: usize, new: u32) {
        self.changes += 1;
        let old = self.mapped_ns(db);
        self.batch.put(
            Partition::Sys,
            sys_key(SYS_NS_OF_DB, db as u32),
            new.to_be_bytes().to_vec(),
        );
        self.batch
            .put(Partition::Sys, sys_key(SYS_DEAD_NS, old), Bytes::new());
        self.count_changes.remove(&old);
        self.dead.push(old);
        self.ns_override.insert(db, new);
    }

    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.changes += 1;
        let (ns_a, ns_b) = (self.mapped_ns(a), self.mapped_ns(b));
        for (db, ns) in [(a, ns_b), (b, ns_a)] {
            self.batch.put(
                Partition::Sys,
                sys_key(SYS_NS_OF_DB, db as u32),
                ns.to_be_bytes().to_vec(),
            );
            self.ns_override.insert(db, ns);
        }
    }

    /// Commits every change as one atomic batch, for the keyspace's own
    /// tests: the server commits through `command::commit`, which also
    /// feeds replicas, publishes events and serves blocked clients.
    #[cfg(test)]
    pub fn commit(mut self) -> Result<bool> {
        self.commit_in_place()
    }

    /// Before a commit that flushes or swaps databases somebody watches:
    /// which of their watched keys exist in the old or the new namespace
    /// (read now, as the sweeper may reclaim a dead namespace right after
    /// the commit), and which keys were checked.
    fn watched_in_remapped(&self) -> Option<Remapped> {
        if self.ns_override.is_empty() || !self.store.watches.active() {
            return None;
        }
        let dbs = self.ns_override.keys().copied().collect();
        let checked: HashSet<(usize, Bytes)> =
            self.store.watches.keys_of(&dbs).into_iter().collect();
        let existed = checked
            .iter()
            .filter(|(db, key)| {
                [self.store.ns(*db), self.mapped_ns(*db)].iter().any(|&ns| {
                    self.store
                        .engine
                        .get(Partition::Meta, &encoding::meta_key(ns, key))
                        .map_or(true, |meta| meta.is_some())
                })
            })
            .cloned()
            .collect();
        Some(Remapped {
            dbs,
            checked,
            existed,
        })
    }

    /// The keys this transaction wrote the metadata of (and with
    /// `members`, the collections it wrote members of), by database.
    fn changed_keys(&self, members: bool) -> impl Iterator<Item = (usize, &[u8])> + '_ {
        let meta_keys = self.undo.iter().map(|((ns, key), _)| (*ns, &key[..]));
        let member_keys = self
            .member_undo
            .iter()
            .take(if members { usize::MAX } else { 0 })
            .filter_map(|((_, raw), _)| encoding::split_data_key(raw));
        // A namespace belongs to the database that had it or now has it.
        meta_keys.chain(member_keys).flat_map(move |(ns, key)| {
            (0..self.store.databases())
                .filter(move |&db| self.store.ns(db) == ns || self.mapped_ns(db) == ns)
                .map(move |db| (db, key))
        })
    }

    /// Reports the keys this transaction changed to the WATCH registry and
    /// to the blocked clients: called after the engine write (a WATCH that
    /// reads the key after registering cannot miss the change, nor can a
    /// client that blocked under the write lock), before the database
    /// mapping changes.
    fn report_changes(&self, remapped: Option<Remapped>) {
        let blocking = &self.store.blocking;
        if blocking.active() {
            // Only a meta write makes a key ready; a flush or a swap can
            // make any key of the database appear.
            let dbs: HashSet<usize> = self.ns_override.keys().copied().collect();
            blocking.signal(self.changed_keys(false), &dbs);
        }
        let watches = &self.store.watches;
        if !watches.active() {
            return;
        }
        let remapped = remapped.unwrap_or_default();
        // A key watched since the check counts as existing: a spurious
        // abort at worst.
        watches.touch(self.changed_keys(true), &remapped.dbs, |db, key| {
            let key = (db, Bytes::copy_from_slice(key));
            remapped.existed.contains(&key) || !remapped.checked.contains(&key)
        });
    }

    /// Commits every change so far as one atomic batch but keeps the write
    /// lock, so that the transaction goes on (EXEC: a command that reads
    /// the committed state must see the writes before it, and no other
    /// writer may come in between). Returns whether anything was written.
    pub fn commit_in_place(&mut self) -> Result<bool> {
        let origin_stored = self.record_origin();

        // Strings taken in bulk are written past the batch
        // (`Engine::ingest`): they are writes all the same.
        if self.batch.is_empty() && self.ingested.is_empty() {
            return Ok(false);
        }
        let remapped = self.watched_in_remapped();
        let mut batch = std::mem::take(&mut self.batch);
        batch.drop_overridden();
        if !batch.is_empty() {
            self.store.engine.write(batch)?;
        }
        self.report_changes(remapped);
        let state = &mut *self.state;
        for ((ns, key), _) in &self.undo {
            match self.overlay.get(ns).and_then(|keys| keys.get(key)) {
                Some(Some(meta)) => state.directory.insert(*ns, key, meta.into()),
                _ => state.directory.remove(*ns, key),
            }
        }
        for (ns, key, header) in self.ingested.drain(..) {
            state.directory.insert(ns, &key, header);
        }
        // What is committed cannot be rolled back; the overlays stay valid.
        self.undo.clear();
        self.member_undo.clear();
        let mut view = lock(&self.store.counts_view);
        for (ns, counts) in self.count_changes.drain() {
            state.counts.insert(ns, counts);
            view.insert(ns, counts);
        }
        for ns in self.dead.drain(..) {
            state.counts.remove(&ns);
            view.remove(&ns);
            state.directory.drop_namespace(ns);
        }
        drop(view);
        for (db, ns) in self.ns_override.drain() {
            state.staged.remove(&ns);
            self.store.namespaces[db].store(ns, Ordering::Release);
        }
        state.origin_stored = origin_stored;
        state.next_ns = self.next_ns;
        state.version_next = self.version_next;
        state.version_ceiling = self.version_ceiling;
        self.store
            .expired_keys
            .fetch_add(self.expired, Ordering::Relaxed);
        self.store
            .reclaim_pending
            .fetch_add(self.reclaims, Ordering::Relaxed);
        self.expired = 0;
        self.reclaims = 0;
        self.store.write_seq.fetch_add(1, Ordering::AcqRel);
        Ok(true)
    }
}
