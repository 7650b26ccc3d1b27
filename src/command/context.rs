//! The state commands act on: what every connection shares ([`Shared`]) and
//! what belongs to one connection ([`Client`]).

use crate::config::{AppendFsync, Config};
use crate::engine::{Engine, EngineError};
use crate::keyspace::{Origin, Store};
use crate::replication::feed::{ChangeFeed, DEFAULT_BACKLOG};
use crate::replication::Master;
use crate::resp::{Frame, Protocol};
use crate::sync::{lock, read};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

/// A run id or node id: 40 random hex digits.
pub fn random_hex_id() -> String {
    (0..40)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
        .collect()
}

/// Server-wide counters shown by `INFO stats`.
#[derive(Default)]
pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub total_net_input_bytes: AtomicU64,
    pub total_net_output_bytes: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Full syncs served, PSYNCs continued, and PSYNCs refused (`INFO
    /// stats` sync_full, sync_partial_ok, sync_partial_err).
    pub sync_full: AtomicU64,
    pub sync_partial_ok: AtomicU64,
    pub sync_partial_err: AtomicU64,
    /// `INFO commandstats`.
    pub commands: super::command_stats::CommandStats,
    /// `INFO errorstats`: error replies by their first word (`ERR`,
    /// `WRONGTYPE` ...), at most [`MAX_ERROR_KINDS`] kinds as in Redis.
    pub errors: Mutex<BTreeMap<String, u64>>,
}

/// Redis tracks at most this many kinds of errors (more would be a client
/// inventing error codes); later new kinds are counted in the total only.
const MAX_ERROR_KINDS: usize = 128;

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// An error reply sent to a client (`total_error_replies`, errorstats).
    pub fn count_error(&self, reply: &Frame) {
        let Frame::Error(text) = reply else {
            return;
        };
        Stats::add(&self.total_error_replies, 1);
        let kind = text.split(|&b| b == b' ').next().unwrap_or_default();
        let kind = String::from_utf8_lossy(kind).into_owned();
        let mut errors = lock(&self.errors);
        let known = errors.len();
        match errors.get_mut(&kind) {
            Some(count) => *count += 1,
            None if known < MAX_ERROR_KINDS => {
                errors.insert(kind, 1);
            }
            None => {}
        }
    }

    pub fn reset(&self) {
        for counter in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.total_net_input_bytes,
            &self.total_net_output_bytes,
            &self.total_error_replies,
            &self.sync_full,
            &self.sync_partial_ok,
            &self.sync_partial_err,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.commands.reset();
        lock(&self.errors).clear();
    }
}

/// What `CLIENT LIST` shows of a connection, updated by its task.
#[derive(Clone, Default)]
pub struct ClientInfo {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub last_command: Option<super::Resolved>,

    pub last_active_ms: u64,
    pub monitor: bool,
    pub resp: i64,
    /// Channel, pattern and shard channel subscriptions (`sub`, `psub`,
    /// `ssub`), and the outbox whose size is `omem`.
    pub subscriptions: [usize; 3],
    pub subscriber: Option<Arc<crate::pubsub::Subscriber>>,
    /// Commands queued since MULTI, -1 outside a transaction.
    pub multi: i64,
    /// The client's WATCH dirty flag (CLIENT LIST's `d`).
    pub watch_dirty: Option<crate::keyspace::watch::Dirty>,
    /// Blocked in BLPOP & co (CLIENT LIST's `b`).
    pub blocked: bool,
    /// Whether it is a replication link (CLIENT LIST's `S` and `M`,
    /// CLIENT KILL TYPE replica / master).
    pub link: Option<LinkKind>,
}

/// The two ends of a replication link as clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// A replica's connection to this node, once it sent PSYNC or SYNC.
    Replica,
    /// This node's link to its master, applying the master's stream.
    Master,
}

/// A connection as the rest of the server sees it.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created_ms: u64,
    pub info: Mutex<ClientInfo>,
    killed: AtomicBool,
    /// Wakes the connection's task when it is killed.
    pub kill_signal: tokio::sync::Notify,
}

impl ClientHandle {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill_signal.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// Every open connection, by id.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl ClientRegistry {
    pub fn register(&self, addr: String, laddr: String, now_ms: u64) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created_ms: now_ms,
            info: Mutex::new(ClientInfo {
                last_active_ms: now_ms,
                resp: 2,
                multi: -1,
                ..ClientInfo::default()
            }),
            killed: AtomicBool::new(false),
            kill_signal: tokio::sync::Notify::new(),
        });
        lock(&self.clients).insert(id, handle.clone());
        handle
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.clients).remove(&id);
    }

    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        lock(&self.clients).values().cloned().collect()
    }

    pub fn count(&self) -> usize {
        lock(&self.clients).len()
    }
}

/// One `SLOWLOG` entry.
#[derive(Clone, Debug)]
pub struct SlowEntry {
    pub id: u64,
    pub unix_secs: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

#[derive(Default)]
pub struct SlowLog {
    pub next_id: u64,
    pub entries: VecDeque<SlowEntry>,
}

/// Where SAVE/BGSAVE write, and how the last one went.
#[derive(Default)]
pub struct SaveState {
    pub last_save_unix: AtomicU64,
    pub in_progress: AtomicBool,
    pub last_ok: AtomicBool,
    pub changes_since_save: AtomicU64,
}

/// Server-side SCAN cursors: cursor id → the last (slot, key) returned.
/// The low 14 bits of a cursor are the slot, so an evicted cursor still
/// resumes at the start of its slot (keys may repeat, none are skipped).
#[derive(Default)]
pub struct CursorTable {
    next: u64,
    positions: HashMap<u64, Bytes>,
    order: VecDeque<u64>,
}

const MAX_CURSORS: usize = 16_384;

impl CursorTable {
    pub fn remember(&mut self, slot: u16, key: Bytes) -> u64 {
        self.next += 1;
        let cursor = (self.next << 14) | u64::from(slot);
        if self.order.len() >= MAX_CURSORS {
            if let Some(old) = self.order.pop_front() {
                self.positions.remove(&old);
            }
        }
        self.positions.insert(cursor, key);
        self.order.push_back(cursor);
        cursor
    }

    /// The position to resume after: (slot, key), or the start of the slot
    /// when the cursor is no longer remembered.
    pub fn resume(&self, cursor: u64) -> (u16, Option<Bytes>) {
        let slot = (cursor & 0x3fff) as u16;
        (slot, self.positions.get(&cursor).cloned())
    }
}

/// Everything the connections share.
pub struct Shared {
    pub store: Store,
    pub config: RwLock<Config>,
    pub appendfsync: AtomicU8,
    pub stats: Stats,
    pub clients: ClientRegistry,
    pub slowlog: Mutex<SlowLog>,
    pub save: SaveState,
    pub cursors: Mutex<CursorTable>,
    pub started_ms: u64,
    pub run_id: String,
    pub data_dir: PathBuf,
    /// Set by SHUTDOWN; the server stops when it flips.
    pub shutdown: crate::sync::watch::Sender<bool>,
    /// Lines for clients in MONITOR mode.
    pub monitor: tokio::sync::broadcast::Sender<Bytes>,
    /// Lets a command hand the shared state to a background thread (BGSAVE).
    pub self_ref: std::sync::Weak<Shared>,
    /// The cluster node, when `cluster-enabled yes`.
    pub cluster: Option<Arc<super::cluster::ClusterHandle>>,
    /// Who is subscribed to which channels and patterns.
    pub pubsub: crate::pubsub::Registry,
    /// The commands of blocked clients (BLPOP ...), by client id.
    pub blocked: super::blocked::BlockedClients,
    /// Every committed write's effects, in commit order: what replicas
    /// are streamed (`command::commit` appends to it).
    pub feed: Mutex<crate::replication::ChangeFeed>,
    /// While a whole-slot migration runs: the writes to its slots since its
    /// snapshot, recorded by the commit path like the feed.
    pub slot_tap: Mutex<Option<super::slot_tap::SlotTap>>,
    /// The last whole-slot migration's progress (INFO).
    pub slot_export: Mutex<Option<super::slot_migration::ExportStatus>>,
    /// Signalled after every append to the feed: replica links wait on it.
    pub feed_grew: tokio::sync::Notify,
    /// The master side of replication: ids and attached replicas.
    pub master: Mutex<crate::replication::Master>,
    /// Signalled when a replica acknowledges an offset: WAIT waits on it.
    pub acked: tokio::sync::Notify,
    /// The master this node replicates (REPLICAOF), watched by the link
    /// task (`server::master_link`).
    pub replica_of: crate::sync::watch::Sender<Option<crate::replication::MasterAddr>>,
    /// How that link stands, and when the master last sent anything.
    pub upstream: Mutex<(crate::replication::UpstreamState, u64)>,
    /// CLIENT PAUSE and a manual failover's write pause (`command::pause`).
    pub pause: Mutex<super::pause::ClientPause>,
    /// Signalled when a pause changes: paused connections look again.
    pub unpaused: tokio::sync::Notify,
    /// Connections waiting for a pause to end (counted in INFO's
    /// `blocked_clients`, as Redis counts them).
    pub paused_clients: AtomicU64,
    /// `min-replicas-to-write`, read by every write (0: no check).
    pub min_replicas_to_write: AtomicU64,
    /// A full sync is being loaded beside the data clients read (Redis'
    /// `async_loading`): commands flagged `no_async_loading` get `-LOADING`.
    pub async_loading: AtomicBool,
    /// The database the master's stream has selected where the feed
    /// stands: a partial resync continues in it (`server::master_link`).
    pub stream_db: AtomicUsize,
    /// The Lua state and its scripts (EVAL, SCRIPT); a running script
    /// holds it, after the write lock.
    pub scripting: Mutex<crate::script::Scripting>,
    /// The script running now, readable while it holds `scripting`.
    pub script_running: Arc<crate::script::Running>,
}

/// The feed and the replication ids at start. Data that is a point of a
/// replication history (a replica's, see `keyspace::Origin`) restarts the
/// feed at its offset, with that history as our replid2 and an id of our
/// own, as REPLICAOF NO ONE would leave it: a master it was a replica of
/// can continue it (`server::master_link` asks to, if nothing was written
/// since), while writes made here before then start a history of their
/// own instead of claiming offsets of the master's.
fn replication_state(origin: Option<&Origin>) -> (ChangeFeed, Master) {
    let mut feed = ChangeFeed::new(DEFAULT_BACKLOG);
    let Some(origin) = origin else {
        return (feed, Master::new(random_hex_id()));
    };
    feed.restart_at(origin.offset);
    let mut master = Master::new(origin.replid.clone());
    master.promote(random_hex_id(), origin.offset);
    (feed, master)
}

/// Called from a script that has run a few milliseconds: moves this
/// worker thread's other tasks to another thread, so that other clients
/// are served (BUSY, SCRIPT KILL) while the script runs on here. Without
/// it tokio serves nothing queued on this worker, its I/O included.
///
/// tokio's `block_in_place` hands the worker's core to a new thread and
/// takes it back at the end of its closure if it is still there; waiting a
/// moment lets the new thread take it for good. madsim has one thread and
/// no such call: there a script runs to its end.
fn hand_off_worker() {
    #[cfg(not(madsim))]
    if tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    {
        tokio::task::block_in_place(|| std::thread::sleep(std::time::Duration::from_millis(2)));
    }
}

impl Shared {
    /// The server state over `engine`, at `now_ms` (unix ms): its start
    /// time and the time of the last save. The cluster handle, if any, is
    /// the node's (`server::cluster_bus` opens it first).
    pub fn new(
        config: Config,
        engine: Arc<dyn Engine>,
        cluster: Option<Arc<super::cluster::ClusterHandle>>,
        now_ms: u64,
    ) -> Result<Arc<Shared>, EngineError> {
        let store = Store::open(engine, config.databases)?;
        // A database the configuration no longer has: not a point to resume.
        let origin = store.origin()?.filter(|o| o.db < store.databases());
        let (feed, master) = replication_state(origin.as_ref());
        let data_dir = config.dir.clone();
        let script_running = Arc::new(crate::script::Running::new(hand_off_worker));
        let mut scripting =
            crate::script::Scripting::new(script_running.clone()).map_err(|e| EngineError {
                context: "starting the Lua state",
                message: e.to_string(),
            })?;
        // The function libraries as last committed (FUNCTION LOAD & co).
        scripting
            .restore_libraries(store.functions()?, crate::script::RestorePolicy::Flush)
            .map_err(|message| EngineError {
                context: "loading the stored function libraries",
                message,
            })?;
        Ok(Arc::new_cyclic(|self_ref| {
            let shared = Shared {
                store,
                appendfsync: AtomicU8::new(0),
                stats: Stats::default(),
                clients: ClientRegistry::default(),
                slowlog: Mutex::new(SlowLog::default()),
                save: SaveState::default(),
                cursors: Mutex::new(CursorTable::default()),
                started_ms: now_ms,
                run_id: random_hex_id(),
                data_dir,
                shutdown: crate::sync::watch::channel(false).0,
                monitor: tokio::sync::broadcast::channel(4096).0,
                self_ref: self_ref.clone(),
                cluster,
                pubsub: crate::pubsub::Registry::default(),
                blocked: super::blocked::BlockedClients::default(),
                feed: Mutex::new(feed),
                slot_tap: Mutex::new(None),
                slot_export: Mutex::new(None),
                feed_grew: tokio::sync::Notify::new(),
                master: Mutex::new(master),
                acked: tokio::sync::Notify::new(),
                replica_of: crate::sync::watch::channel(None).0,
                upstream: Mutex::new(Default::default()),
                pause: Mutex::new(Default::default()),
                unpaused: tokio::sync::Notify::new(),
                paused_clients: AtomicU64::new(0),
                min_replicas_to_write: AtomicU64::new(0),
                async_loading: AtomicBool::new(false),
                stream_db: AtomicUsize::new(origin.map_or(0, |origin| origin.db)),
                scripting: Mutex::new(scripting),
                script_running,
                config: RwLock::new(config),
            };
            shared.apply_config(&shared.config());
            shared
                .save
                .last_save_unix
                .store(now_ms / 1000, Ordering::Relaxed);
            shared.save.last_ok.store(true, Ordering::Relaxed);
            shared
        }))
    }

    /// Puts into effect the settings kept outside `config` (at start and
    /// after CONFIG SET).
    pub fn apply_config(&self, config: &Config) {
        self.set_appendfsync(config.appendfsync);
        self.store.set_notify_flags(config.notify_keyspace_events);
        self.min_replicas_to_write
            .store(config.replication.min_replicas_to_write, Ordering::Relaxed);
        let backlog = usize::try_from(config.replication.repl_backlog_size).unwrap_or(usize::MAX);
        let mut feed = lock(&self.feed);
        if feed.capacity() != backlog {
            feed.set_capacity(backlog);
        }
    }

    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        read(&self.config)
    }

    pub fn appendfsync(&self) -> AppendFsync {
        match self.appendfsync.load(Ordering::Relaxed) {
            0 => AppendFsync::Always,
            1 => AppendFsync::EverySec,
            _ => AppendFsync::No,
        }
    }

    pub fn set_appendfsync(&self, policy: AppendFsync) {
        let code = match policy {
            AppendFsync::Always => 0,
            AppendFsync::EverySec => 1,
            AppendFsync::No => 2,
        };
        self.appendfsync.store(code, Ordering::Relaxed);
    }
}

/// Which replies a client gets (CLIENT REPLY). Pub/sub messages and
/// subscription confirmations are sent whatever the mode, as in Redis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplyMode {
    /// CLIENT REPLY OFF: no reply until CLIENT REPLY ON.
    off: bool,
    /// The command running now gets no reply.
    skip_this: bool,
    /// CLIENT REPLY SKIP ran: the next command gets no reply.
    skip_next: bool,
}

impl ReplyMode {
    /// CLIENT REPLY ON, and RESET: every reply is sent again.
    pub fn on(&mut self) {
        *self = ReplyMode::default();
    }

    /// CLIENT REPLY OFF, which gets no reply itself.
    pub fn off(&mut self) {
        self.off = true;
    }

    /// CLIENT REPLY SKIP: neither it nor the next command gets a reply.
    pub fn skip(&mut self) {
        self.skip_this = true;
        self.skip_next = !self.off;
    }

    /// Whether the reply of the command running now is dropped.
    pub fn silenced(&self) -> bool {
        self.off || self.skip_this
    }

    /// Called once each command is over (its reply sent or dropped).
    pub fn command_done(&mut self) {
        self.skip_this = std::mem::take(&mut self.skip_next);
    }
}

/// The state of one connection.
pub struct Client {
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// Reply to this command, then close the connection (QUIT, errors).
    pub close_after_reply: bool,
    /// Close without sending this command's reply (SHUTDOWN).
    pub suppress_reply: bool,
    /// CLIENT REPLY ON, OFF or SKIP.
    pub reply_mode: ReplyMode,
    /// A command of the current batch wrote: with `appendfsync always` the
    /// replies wait for the sync.
    pub wrote: bool,
    pub monitor: bool,
    /// The command running now (or last run): CLIENT LIST's `cmd` field.
    pub current: Option<super::Resolved>,
    /// READONLY was sent: a replica serves this client's reads of its
    /// master's slots instead of redirecting them.
    pub cluster_readonly: bool,
    /// ASKING was sent: the next command (or transaction) may run here on a
    /// slot this node is importing.
    pub asking: bool,
    /// Channels, patterns and shard channels this client is subscribed to.
    pub pubsub: crate::pubsub::Subscriptions,
    /// Replies a command sends before the one its handler returns (one
    /// confirmation per channel of SUBSCRIBE a b c); the connection sends
    /// and clears them.
    pub extra_replies: Vec<crate::resp::Frame>,
    /// Commands queued since MULTI, or `None` outside a transaction.
    pub multi: Option<super::multi::Multi>,
    /// EXEC is running the queued commands: `Ctx::commit_pending` keeps
    /// the write lock.
    pub in_exec: bool,
    /// WATCHed keys and whether one of them changed since.
    pub watch: super::multi::WatchState,
    /// The blocking command this client waits in (BLPOP ...), if any: the
    /// connection runs nothing else until it is over.
    pub blocked: Option<super::blocked::Blocked>,
    /// What this client said with REPLCONF, should it become a replica.
    pub replica_handshake: crate::replication::Handshake,
    /// PSYNC or SYNC was answered: the connection becomes a replica link.
    pub sync: Option<crate::replication::SyncStart>,
    /// WAIT is waiting for replicas: the connection runs nothing else until
    /// it is answered.
    pub wait: Option<crate::replication::WaitFor>,
    /// MIGRATE read its keys: the connection sends them and replies
    /// (`command::migrate`), running nothing else meanwhile.
    pub migrate: Option<super::migrate_job::MigrateJob>,
    /// This is the link from our master, applying its stream: it may write
    /// on a read-only replica.
    pub is_master: bool,
    /// This connection brings whole slots from their migrating master
    /// (CLUSTER IMPORTSLOTS BEGIN): its commands on them run here.
    pub slot_import: Option<Box<super::slot_migration::SlotImport>>,
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Client {
        let watch = super::multi::WatchState::default();
        lock(&handle.info).watch_dirty = Some(watch.dirty().clone());
        Client {
            handle,
            db: 0,
            protocol: Protocol::Resp2,
            authenticated,
            close_after_reply: false,
            suppress_reply: false,
            reply_mode: ReplyMode::default(),
            wrote: false,
            monitor: false,
            current: None,
            cluster_readonly: false,
            asking: false,
            pubsub: crate::pubsub::Subscriptions::default(),
            extra_replies: Vec::new(),
            multi: None,
            in_exec: false,
            watch,
            blocked: None,
            replica_handshake: crate::replication::Handshake::default(),
            sync: None,
            wait: None,
            migrate: None,
            is_master: false,
            slot_import: None,
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }

    pub fn info(&self) -> MutexGuard<'_, ClientInfo> {
        lock(&self.handle.info)
    }
}
