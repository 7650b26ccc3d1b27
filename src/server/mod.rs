//! The tokio driver: the only code that does network I/O. It opens the
//! engine, accepts connections, runs the background tasks (active expiry,
//! reclaiming flushed data, syncing) and shuts down cleanly.

/// `tokio::select!`, except that under madsim a seed must replay: tokio
/// picks among branches ready at once with a thread-local generator seeded
/// from a process-wide counter that madsim does not control, so a seed's
/// second run in one process (madsim's determinism check, or any seed but
/// the first of `MADSIM_TEST_NUM`) could pick otherwise, and a failing seed
/// then not replay alone. The madsim build polls the branches in order
/// (`biased`); every other build keeps tokio's fair random pick.
#[cfg(madsim)]
macro_rules! select {
    ($($branches:tt)*) => { tokio::select! { biased; $($branches)* } };
}
#[cfg(not(madsim))]
macro_rules! select {
    ($($branches:tt)*) => { tokio::select! { $($branches)* } };
}

pub mod cluster_bus;
pub mod connection;
pub mod durability;
pub mod master_link;
pub mod migrate;
pub mod replica_link;
mod slot_export;

use crate::command::context::Stats;
use crate::command::Shared;
use crate::config::Config;
use crate::engine::fjall::{FjallEngine, FjallOptions};
use crate::engine::{Engine, Partition};
use durability::Durability;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// A start-up failure, with what was being done.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Opens the data directory: the engine lives in `<dir>/db`.
pub fn open_engine(config: &Config) -> Result<Arc<dyn Engine>, StartError> {
    std::fs::create_dir_all(&config.dir).map_err(|e| {
        StartError(format!(
            "Can't create data directory {}: {e}",
            config.dir.display()
        ))
    })?;
    let options = FjallOptions {
        cache_bytes: config.storage_cache_size,
        write_buffer_bytes: config.storage_write_buffer_size,
        max_journal_bytes: config.storage_max_journal_size,
        row_cache_bytes: config.storage_row_cache_size,
    };
    let engine = FjallEngine::open(&config.dir.join("db"), options).map_err(|e| {
        StartError(format!(
            "Can't open the database in {}: {e}",
            config.dir.display()
        ))
    })?;
    Ok(Arc::new(engine))
}

async fn bind(config: &Config) -> Result<Vec<TcpListener>, StartError> {
    let mut listeners = Vec::new();
    for address in &config.bind {
        let address = address.strip_prefix('-').unwrap_or(address);
        let listener = TcpListener::bind((address, config.port))
            .await
            .map_err(|e| {
                StartError(format!(
                    "Could not create server TCP listening socket {address}:{}: {e}",
                    config.port
                ))
            })?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Applies `tcp-keepalive` (seconds; 0 = off) to an accepted socket, the way
/// Redis does: probes after that much idle time, then every third of it.
/// (Simulated sockets under madsim have no options to set.)
#[cfg(not(madsim))]
fn set_keepalive(stream: &TcpStream, seconds: u64) {
    if seconds == 0 {
        return;
    }
    let idle = Duration::from_secs(seconds);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(idle)
        .with_interval((idle / 3).max(Duration::from_secs(1)));
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

#[cfg(madsim)]
fn set_keepalive(_stream: &TcpStream, _seconds: u64) {}

fn accept_client(shared: &Arc<Shared>, durability: &Arc<Durability>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    set_keepalive(&stream, shared.config().tcp_keepalive);

    let addr = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    Stats::add(&shared.stats.total_connections_received, 1);
    let maxclients = shared.config().maxclients as usize;
    if shared.clients.count() >= maxclients {
        Stats::add(&shared.stats.rejected_connections, 1);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut stream = stream;
            let _ = stream
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
            let _ = stream.flush().await;
        });
        return;
    }
    let handle = shared.clients.register(addr, laddr, crate::clock::now_ms());
    let connection =
        connection::Connection::new(shared.clone(), durability.clone(), stream, handle);
    tokio::spawn(connection.run());
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, durability: Arc<Durability>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => accept_client(&shared, &durability, stream),
            Err(e) => {
                crate::log::warning(&format!("Accepting client connection: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// What the cluster node needs of the server: relayed messages delivered
/// here, replication following its role, and the offset it announces.
fn cluster_hooks(shared: &Arc<Shared>) -> crate::command::cluster::handle::ServerHooks {
    let (deliver_to, follow, offset_of, pauser, dropper, exporter) = (
        Arc::downgrade(shared),
        Arc::downgrade(shared),
        Arc::downgrade(shared),
        Arc::downgrade(shared),
        Arc::downgrade(shared),
        Arc::downgrade(shared),
    );
    crate::command::cluster::handle::ServerHooks {
        deliver: Box::new(move |sharded, channel, message| {
            if let Some(state) = deliver_to.upgrade() {
                crate::command::pubsub::deliver(&state, sharded, channel, message);
            }
        }),
        role_changed: Box::new(move |master| {
            if let Some(state) = follow.upgrade() {
                let master =
                    master.map(|(host, port)| crate::replication::MasterAddr { host, port });
                crate::command::replication::follow(&state, master);
            }
        }),
        repl_offset: Box::new(move || {
            offset_of
                .upgrade()
                .map_or(0, |state| crate::sync::lock(&state.feed).offset())
        }),
        pause_writes: Box::new(move |until| {
            let Some(state) = pauser.upgrade() else {
                return;
            };
            use crate::command::pause::{PauseKind, PausePurpose};
            use crate::command::pausing;
            // The node's deadline is on the cluster's clock; pauses are on
            // the time of day, as in Redis.
            let until = until.map(|at| {
                let left = at.saturating_sub(crate::clock::monotonic_ms());
                crate::clock::now_ms().saturating_add(left)
            });
            pausing::set(&state, |clients| match until {
                Some(until) => clients.pause(PausePurpose::Failover, until, PauseKind::Writes),
                None => clients.unpause(PausePurpose::Failover),
            });
            if until.is_some() {
                tokio::spawn(announce_pause(state));
            }
        }),
        export_slots: Box::new(move |plan| {
            if let Some(state) = exporter.upgrade() {
                tokio::spawn(slot_export::run(state, plan));
            }
        }),
        drop_slots: Box::new(move |slots| {
            if let Some(state) = dropper.upgrade() {
                tokio::spawn(drop_slot_keys(
                    state,
                    slots,
                    "taken over by a node with a greater config epoch",
                ));
            }
        }),
    }
}

/// Deletes what this master still holds of slots it no longer serves
/// (`why` says how they went), a thousand keys per transaction, each
/// deletion replicated as DEL (off the node's lock: the event comes from
/// inside it).
async fn drop_slot_keys(shared: Arc<Shared>, slots: Vec<u16>, why: &str) {
    let mut dropped = 0;
    for slot in slots {
        loop {
            let now = crate::clock::now_ms();
            let keys = match shared.store.slot_keys(0, slot, 1000, now) {
                Ok(keys) if keys.is_empty() => break,
                Ok(keys) => keys,
                Err(e) => {
                    crate::log::warning(&format!("dropping the keys of slot {slot}: {e}"));
                    return;
                }
            };
            let txn = loop {
                if let Some(txn) = shared.store.try_begin(now) {
                    break txn;
                }
                shared.store.until_writable().await;
            };
            match delete_keys(&shared, txn, &keys) {
                Ok(deleted) => dropped += deleted,
                Err(e) => {
                    crate::log::warning(&format!("dropping the keys of slot {slot}: {e}"));
                    return;
                }
            }
            // A million keys take seconds: without a yield between chunks
            // this task held its worker thread, and the clients whose tasks
            // sat on it (even INFO) waited for the whole deletion.
            tokio::task::yield_now().await;
        }
    }
    if dropped > 0 {
        crate::log::notice(&format!("Deleted {dropped} keys of slots {why}"));
        // Left to the LSM tree, the keys and their deletion markers stay
        // until a compaction happens to meet both; slots coming back would
        // then be ingested over them and the import pay for rewriting
        // them (a move back took 1.7x the first move).
        reclaim_disk(&shared, dropped).await;
    }
}

/// At start in cluster mode: what whole-slot imports a crash interrupted
/// loaded goes (their markers, `slot_migration::Marker`), then the slots
/// still holding keys are checked against the slots served
/// (`Node::adopt_slots_with_keys`, Redis' verifyClusterConfigWithData).
async fn check_slots_with_data(shared: Arc<Shared>) {
    let Some(cluster) = shared.cluster.clone() else {
        return;
    };
    drop_unfinished_imports(&shared, &cluster).await;
    match shared.store.slots_with_keys(0) {
        Ok(slots) => {
            if let Err(e) = cluster.with_node(|node| node.adopt_slots_with_keys(&slots)) {
                crate::log::warning(&format!("checking the slots with keys: {e}"));
            }
        }
        Err(e) => crate::log::warning(&format!("finding the slots with keys: {e}")),
    }
}

/// Deletes what whole-slot imports that a crash interrupted loaded, in the
/// slots this node does not serve.
async fn drop_unfinished_imports(
    shared: &Arc<Shared>,
    cluster: &crate::command::cluster::ClusterHandle,
) {
    use crate::command::slot_migration::Marker;
    for (marker, slots) in Marker::left_in(&shared.data_dir) {
        let myself = cluster.read(|node| node.myself());
        let foreign: Vec<u16> = cluster.read(|node| {
            (slots.into_iter())
                .filter(|&slot| node.slot_owner(slot).is_none_or(|o| o.id != myself))
                .collect()
        });
        drop_slot_keys(
            shared.clone(),
            foreign,
            "of an import a restart interrupted",
        )
        .await;
        marker.remove();
    }
}

/// Deletes `keys` in `txn` and commits, each deletion replicated as DEL;
/// how many there were.
fn delete_keys(
    shared: &Shared,
    mut txn: crate::keyspace::Txn<'_>,
    keys: &[bytes::Bytes],
) -> Result<u64, crate::engine::EngineError> {
    let mut deleted = 0;
    for key in keys {
        if txn.delete(0, key)? {
            txn.propagate(crate::keyspace::Effect::del(0, key));
            deleted += 1;
        }
    }
    crate::command::commit::commit(shared, &mut txn)?;
    Ok(deleted)
}

/// Tells the cluster node that writes are paused for its manual failover
/// once no write is in flight: a batch that took the write lock before the
/// pause began commits first, and every batch after it sees the pause
/// under the lock (`Session::execute_batch`), so the offset the node then
/// announces is final.
async fn announce_pause(shared: Arc<Shared>) {
    loop {
        if let Some(nothing) = shared.store.try_begin(crate::clock::now_ms()) {
            drop(nothing);
            break;
        }
        shared.store.until_writable().await;
    }
    if let Some(cluster) = &shared.cluster {
        if let Err(e) = cluster.with_node(|node| node.writes_paused()) {
            crate::log::warning(&format!("manual failover: {e}"));
        }
    }
}

/// Active expiry: walks the expire index in time order, `hz` times a second.
async fn expire_loop(shared: Arc<Shared>) {
    const BUDGET: usize = 256;
    loop {
        let hz = shared.config().hz.max(1);
        tokio::time::sleep(Duration::from_millis(1000 / u64::from(hz))).await;
        // A replica's keys expire when its master says so (a DEL).
        while !shared.store.is_replica() {
            let committed = shared
                .store
                .expire_cycle(crate::clock::now_ms(), BUDGET)
                .and_then(|cycle| {
                    if let Some(mut txn) = cycle.txn {
                        crate::command::commit::commit(&shared, &mut txn)?;
                    }
                    Ok(cycle.processed)
                });
            match committed {
                Ok(processed) if processed == BUDGET => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    crate::log::warning(&format!("active expiry: {e}"));
                    break;
                }
            }
        }
    }
}

/// Reclaims the data of flushed databases, a chunk at a time.
async fn sweep_loop(shared: Arc<Shared>) {
    // Entries deleted since the partitions were last compacted.
    let mut swept = 0u64;
    loop {
        match shared.store.sweep_dead(1024) {
            Ok(0) => {
                if swept > 0 {
                    reclaim_disk(&shared, std::mem::take(&mut swept)).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Ok(n) => {
                swept += n as u64;
                tokio::time::sleep(Duration::from_millis(1)).await
            }
            Err(e) => {
                crate::log::warning(&format!("reclaiming flushed data: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// After the sweeper (or a slot drop) deleted `swept` entries: the LSM tree still holds the
/// dead entries and their deletion markers until a compaction meets both,
/// which for a quiet key range may be never, and the journals stay until
/// every memtable they hold is flushed. Compacting costs a rewrite of the
/// partitions, so do it only when at least half of what they hold is dead
/// entries and markers (2 × `swept`): the rewrite then costs at most about
/// four times what was deleted.
async fn reclaim_disk(shared: &Arc<Shared>, swept: u64) {
    let engine = shared.store.engine().clone();
    let held: u64 = Partition::ALL
        .iter()
        .map(|&p| engine.approximate_len(p))
        .sum();
    if swept.saturating_mul(4) < held {
        return;
    }
    let compact = move || Partition::ALL.iter().try_for_each(|&p| engine.compact(p));
    let compacted = off_the_workers(compact).await;
    if let Err(failure) = compacted.and_then(|done| done.map_err(|e| e.to_string())) {
        crate::log::warning(&format!("compacting reclaimed data: {failure}"));
    }
}

/// Runs `work` on a blocking thread: a rewrite of data (a compaction, an
/// ingestion) must not stall the connections' workers.
#[cfg(not(madsim))]
pub(crate) async fn off_the_workers<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| e.to_string())
}

/// madsim runs `spawn_blocking` outside its scheduler, which made a seed
/// replay differently: a simulated node does the work in place.
#[cfg(madsim)]
pub(crate) async fn off_the_workers<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    Ok(work())
}

async fn termination_signal() {
    #[cfg(all(unix, not(madsim)))]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs a server on the fjall engine in `dir` until SHUTDOWN, SIGTERM or
/// SIGINT.
pub async fn run(config: Config) -> Result<(), StartError> {
    let engine = open_engine(&config)?;
    serve(config, engine).await
}

/// The background sync loop: an OS thread, or a task under madsim.
struct SyncLoop {
    stop: Arc<AtomicBool>,
    #[cfg(not(madsim))]
    thread: std::thread::JoinHandle<()>,
}

impl SyncLoop {
    fn start(durability: &Arc<Durability>, shared: &Arc<Shared>) -> Result<SyncLoop, StartError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (durability, shared, stop_flag) = (durability.clone(), shared.clone(), stop.clone());
        #[cfg(not(madsim))]
        {
            let thread = std::thread::Builder::new()
                .name("redstone-sync".into())
                .spawn(move || durability.run(shared, stop_flag))
                .map_err(|e| StartError(format!("Can't start the sync thread: {e}")))?;
            Ok(SyncLoop { stop, thread })
        }
        #[cfg(madsim)]
        {
            tokio::spawn(durability.run_task(shared, stop_flag));
            Ok(SyncLoop { stop })
        }
    }

    fn stop(self, durability: &Durability) {
        self.stop.store(true, Ordering::Release);
        durability.wake();
        #[cfg(not(madsim))]
        let _ = self.thread.join();
    }
}

/// Runs a server on `engine` (the memory engine under simulation) until
/// SHUTDOWN, SIGTERM or SIGINT.
pub async fn serve(mut config: Config, engine: Arc<dyn Engine>) -> Result<(), StartError> {
    let listeners = bind(&config).await?;
    // `port 0` asks the OS for a free port; report the one we got.
    if config.port == 0 {
        if let Some(Ok(address)) = listeners.first().map(|l| l.local_addr()) {
            config.port = address.port();
        }
    }
    let pidfile = config.pidfile.clone();
    if !pidfile.is_empty() {
        std::fs::write(&pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| StartError(format!("Can't write pidfile {pidfile}: {e}")))?;
    }
    let cluster = if config.cluster.enabled {
        Some(cluster_bus::open(&config).await?)
    } else {
        None
    };
    let shared = Shared::new(
        config,
        engine,
        cluster.as_ref().map(|(handle, _)| handle.clone()),
        crate::clock::now_ms(),
    )
    .map_err(|e| StartError(e.to_string()))?;
    if let Some((handle, _)) = &cluster {
        handle.attach(cluster_hooks(&shared));
        tokio::spawn(check_slots_with_data(shared.clone()));
    }
    if let Some((handle, bus)) = cluster {
        bus.spawn(handle);
    }
    let durability = Arc::new(Durability::new());
    let sync_loop = SyncLoop::start(&durability, &shared)?;
    for listener in listeners {
        if let Ok(addr) = listener.local_addr() {
            crate::log::notice(&format!("Ready to accept connections tcp {addr}"));
        }
        tokio::spawn(accept_loop(listener, shared.clone(), durability.clone()));
    }
    tokio::spawn(expire_loop(shared.clone()));
    tokio::spawn(sweep_loop(shared.clone()));
    tokio::spawn(master_link::run(shared.clone()));

    let mut shutdown = shared.shutdown.subscribe();
    select! {
        _ = termination_signal() => crate::log::notice("Received SIGTERM/SIGINT scheduling shutdown..."),
        _ = shutdown.wait_for(|requested| *requested) => crate::log::notice("User requested shutdown..."),
    }
    shared.shutdown.send_replace(true);
    sync_loop.stop(&durability);
    if let Err(e) = shared.store.engine().sync() {
        crate::log::warning(&format!("final sync failed: {e}"));
    }
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(Path::new(&pidfile));
    }
    crate::log::notice("Redstone is now ready to exit, bye bye...");
    Ok(())
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalive_is_set_on_accepted_sockets() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let _client = TcpStream::connect(address).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let socket = socket2::SockRef::from(&accepted);
        assert!(!socket.keepalive().expect("read option"));
        set_keepalive(&accepted, 300);
        assert!(socket.keepalive().expect("read option"));
        assert_eq!(
            socket.tcp_keepalive_time().expect("read time"),
            Duration::from_secs(300)
        );
    }
}
