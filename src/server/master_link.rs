//! The link to this node's master, while it is a replica (REPLICAOF): the
//! handshake (`replication::replica::Handshake` decides, this sends and
//! reads), a full sync's RDB loaded into the keyspace, then the master's
//! stream applied command by command, with `REPLCONF ACK` every second and
//! whenever the master asks. A lost link is retried every second, with a
//! partial resync from where it stopped when the master still can.
//!
//! Nothing half-loaded is served: a full sync loads into staged namespaces
//! while the old data is served, and every database switches to the new
//! data in one commit (see [`full_sync`]); a failed one leaves the old data.
//! The stream's commands are committed through
//! `command::commit::commit_from_master`, so this node's feed holds its
//! master's bytes and offsets, and every commit records the history point
//! the data is, which a restart continues from.

use crate::command::context::LinkKind;
use crate::command::{self, Client, Ctx, Shared};
use crate::keyspace::{BulkStrings, Ingestion, Origin, Staged, Txn};
use crate::rdb::file::{Item, Reader};
use crate::rdb::Value;
use crate::replication::replica::{Handshake, Step};
use crate::replication::{MasterAddr, SyncProgress, UpstreamState};
use crate::resp::{Frame, Limits, RequestParser};
use crate::sync::lock;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clock::now_ms;

/// Entries of a full sync written per transaction.
const LOAD_BATCH: usize = 1024;
const READ_CHUNK: usize = 64 * 1024;

/// Follows `Shared::replica_of` for the life of the server: links to the
/// master it names, again a second after every failure, until it changes.
pub async fn run(shared: Arc<Shared>) {
    let mut changes = shared.replica_of.subscribe();
    loop {
        let master = changes.borrow_and_update().clone();
        let Some(master) = master else {
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        };
        select! {
            ended = link(&shared, &master) => {
                if let Err(why) = ended {
                    crate::log::warning(&format!(
                        "Link with MASTER {}:{} lost: {why}",
                        master.host, master.port
                    ));
                }
                *lock(&shared.upstream) = (UpstreamState::Connecting, 0);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// One link, from connecting until it fails.
async fn link(shared: &Arc<Shared>, master: &MasterAddr) -> Result<(), String> {
    crate::log::notice(&format!(
        "Connecting to MASTER {}:{}",
        master.host, master.port
    ));
    let mut stream = TcpStream::connect((master.host.as_str(), master.port))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let resume = resume_point(shared);
    let (port, auth) = {
        let config = shared.config();
        let options = &config.replication;
        let user = Some(options.masteruser.clone()).filter(|user| !user.is_empty());
        let auth = (options.masterauth.as_ref())
            .map(|password| (user, String::from_utf8_lossy(password).into_owned()));
        (config.port, auth)
    };
    let mut handshake = Handshake::new(auth, port, Some(resume.clone()));
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    write(&mut stream, &handshake.start()).await?;
    loop {
        let line = read_line(shared, &mut stream, &mut input).await?;
        if line.is_empty() {
            // A newline: the master keeps the link alive while it prepares
            // a full sync.
            continue;
        }
        match handshake.on_reply(&line) {
            Step::Send(bytes) => write(&mut stream, &bytes).await?,
            Step::FullResync { replid, offset } => {
                crate::log::notice(&format!("Full resync from master: {replid}:{offset}"));
                // The master's stream selects a database first.
                let origin = Origin {
                    replid,
                    offset,
                    db: 0,
                };
                full_sync(shared, &mut stream, &mut input, origin).await?;
                shared.stream_db.store(0, Ordering::Relaxed);
                crate::log::notice("MASTER <-> REPLICA sync: Finished with success");
                break;
            }
            Step::Continue { replid } => {
                crate::log::notice("Successful partial resynchronization with master.");
                // Without PSYNC2 the master continues the history we named.
                let replid = replid.unwrap_or(resume.0);
                let offset = lock(&shared.feed).offset();
                lock(&shared.master).follow_switch(replid, offset);
                break;
            }
            Step::Fail(why) => return Err(why),
        }
    }
    stream_from_master(shared, &mut stream, input).await
}

/// What PSYNC asks to continue (`Master::resume_id`), and from where.
fn resume_point(shared: &Shared) -> (String, u64) {
    let master = lock(&shared.master);
    let offset = lock(&shared.feed).offset();
    (master.resume_id(offset).to_string(), offset + 1)
}

/// A full sync: the master's RDB (`$<length>` or `$EOF:<mark>` framing)
/// is loaded into staged namespaces, then every database switches to it in
/// one commit that also records the master's history point and restarts
/// the feed there. Meanwhile clients read the old data, as with Redis'
/// `repl-diskless-load swapdb` (`async_loading`): what Redis refuses then
/// (`no_async_loading`: PSYNC, REPLICAOF, SAVE...) gets `-LOADING`. If
/// anything fails, the load is dropped and the old data stays as it was.
async fn full_sync(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    origin: Origin,
) -> Result<(), String> {
    *lock(&shared.upstream) = (UpstreamState::Syncing(Default::default()), now_ms());
    // A master may send newlines while it prepares the snapshot.
    let header = loop {
        let line = read_line(shared, stream, input).await?;
        if !line.is_empty() {
            break line;
        }
    };
    let framing = Framing::parse(&header)?;
    match &framing {
        Framing::Length(length) => crate::log::notice(&format!(
            "MASTER <-> REPLICA sync: receiving {length} bytes from master, loaded beside the current data"
        )),
        Framing::Eof(_) => crate::log::notice(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF, loaded beside the current data",
        ),
    }
    let started = now_ms();
    let staging = Staging::start(shared)?;
    // An ingestion still running when the load fails must end before the
    // staged data is dropped.
    let mut ingesting = Ingesting::default();
    let mut functions = Vec::new();
    let loaded = load(
        shared,
        stream,
        input,
        &framing,
        (&staging.staged, &mut functions),
        &mut ingesting,
    )
    .await;
    let ingested = ingesting.finish().await;
    let progress = loaded?;
    ingested?;
    staging.switch(origin, functions)?;
    crate::log::notice(&format!(
        "MASTER <-> REPLICA sync: loaded {} keys ({} bytes) in {} ms",
        progress.keys,
        progress.read_bytes,
        now_ms().saturating_sub(started)
    ));
    Ok(())
}

/// Shows a load's progress in INFO, and in the log every few seconds.
struct ProgressReport {
    progress: SyncProgress,
    logged_ms: u64,
}

impl ProgressReport {
    /// How often the log tells how far a load has come.
    const LOG_EVERY_MS: u64 = 5_000;

    fn new(framing: &Framing) -> ProgressReport {
        let total_bytes = match framing {
            Framing::Length(length) => Some(*length),
            Framing::Eof(_) => None,
        };
        ProgressReport {
            progress: SyncProgress {
                total_bytes,
                ..SyncProgress::default()
            },
            logged_ms: now_ms(),
        }
    }

    fn advance(&mut self, shared: &Shared, bytes: u64, keys: u64) {
        self.progress.read_bytes += bytes;
        self.progress.keys += keys;
        let now = now_ms();
        *lock(&shared.upstream) = (UpstreamState::Syncing(self.progress), now);
        if now.saturating_sub(self.logged_ms) >= Self::LOG_EVERY_MS {
            self.logged_ms = now;
            crate::log::notice(&format!(
                "MASTER <-> REPLICA sync: {} keys ({} bytes) loaded so far",
                self.progress.keys, self.progress.read_bytes
            ));
        }
    }
}

/// Reads the RDB and writes its keys into `staged` and its function
/// libraries' code into `functions`, leaving in `input` what follows the
/// file (and its end mark). Returns how much it loaded.
async fn load(
    shared: &Shared,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    framing: &Framing,
    (staged, functions): (&Staged, &mut Vec<Bytes>),
    ingesting: &mut Ingesting,
) -> Result<SyncProgress, String> {
    let mut report = ProgressReport::new(framing);
    let mut reader = Reader::new();
    let mut bulk = BulkStrings::default();
    let (mut db, mut file_bytes) = (0usize, 0u64);
    // What was pushed to the reader beyond the file's end.
    let beyond = loop {
        let left = match framing {
            Framing::Length(length) => length - file_bytes,
            Framing::Eof(_) => u64::MAX,
        };
        if left == 0 {
            return Err("the snapshot ended before its RDB file did".into());
        }
        if input.is_empty() && read(shared, stream, input).await? == 0 {
            return Err("the master closed the link during the sync".into());
        }
        let chunk = input
            .split_to(left.min(input.len() as u64) as usize)
            .freeze();
        file_bytes += chunk.len() as u64;
        reader.push(&chunk);
        let mut keys = 0;
        let mut entries = Vec::new();
        let mut ended = false;
        while let Some(item) = reader.next().map_err(|e| format!("the snapshot: {e}"))? {
            match item {
                Item::SelectDb(n) if n < shared.store.databases() => db = n,
                Item::SelectDb(n) => return Err(format!("the snapshot selects database {n}")),
                Item::Entry {
                    key,
                    value,
                    expire_at_ms,
                } => entries.push((db, key, value, expire_at_ms.unwrap_or(0))),
                Item::Function(code) => functions.push(code),
                Item::End => ended = true,
                Item::Aux { .. } | Item::ResizeDb { .. } => {}
            }
            if entries.len() == LOAD_BATCH {
                keys += LOAD_BATCH as u64;
                let batch = std::mem::take(&mut entries);
                if let Some(ingestion) = store(shared, staged, batch, &mut bulk, false)? {
                    ingesting.start(ingestion).await?;
                }
            }
        }
        keys += entries.len() as u64;
        if let Some(ingestion) = store(shared, staged, entries, &mut bulk, ended)? {
            ingesting.start(ingestion).await?;
        }
        report.advance(shared, chunk.len() as u64, keys);
        if ended {
            // The file ends in the chunk that completed it.
            let unread = (file_bytes - reader.consumed()) as usize;
            break chunk.slice(chunk.len().saturating_sub(unread)..);
        }
    };
    match framing {
        // Redis ignores what a file's declared length holds after its end.
        Framing::Length(length) => skip(shared, stream, input, length - file_bytes).await?,
        Framing::Eof(mark) => {
            let mut after = BytesMut::from(&beyond[..]);
            after.extend_from_slice(input);
            *input = after;
            while input.len() < mark.len() {
                if read(shared, stream, input).await? == 0 {
                    return Err("the master closed the link before the end mark".into());
                }
            }
            if input.split_to(mark.len())[..] != mark[..] {
                return Err("the snapshot's end mark does not match".into());
            }
        }
    }
    Ok(report.progress)
}

/// Drops the next `n` bytes of the link.
async fn skip(
    shared: &Shared,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    mut n: u64,
) -> Result<(), String> {
    loop {
        let now = n.min(input.len() as u64);
        let _ = input.split_to(now as usize);
        n -= now;
        if n == 0 {
            return Ok(());
        }
        if read(shared, stream, input).await? == 0 {
            return Err("the master closed the link during the sync".into());
        }
    }
}

/// A full sync's load in progress. Dropped before [`Staging::switch`] (a
/// failure, or the link given up for REPLICAOF or a promotion), it drops
/// what was loaded; the databases never saw any of it.
struct Staging<'a> {
    shared: &'a Shared,
    staged: Staged,
    switched: bool,
}

impl<'a> Staging<'a> {
    fn start(shared: &'a Shared) -> Result<Staging<'a>, String> {
        let staged = shared
            .store
            .stage()
            .map_err(|e| format!("staging the snapshot: {e}"))?;
        shared.async_loading.store(true, Ordering::Relaxed);
        Ok(Staging {
            shared,
            staged,
            switched: false,
        })
    }

    /// Every database switches to what was loaded, which is point `origin`
    /// of the master's history, and the function libraries are the
    /// master's (`functions`, their code) in the same commit.
    fn switch(mut self, origin: Origin, functions: Vec<Bytes>) -> Result<(), String> {
        let mut txn = master_txn(self.shared);
        command::functions::adopt(self.shared, &mut txn, functions)
            .map_err(|e| format!("loading the master's functions: {e}"))?;
        txn.switch_to_staged(&self.staged);
        command::commit::commit_full_sync(self.shared, &mut txn, origin)
            .map_err(|e| format!("switching to the snapshot: {e}"))?;
        self.switched = true;
        Ok(())
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        self.shared.async_loading.store(false, Ordering::Relaxed);
        if self.switched {
            return;
        }
        match self.shared.store.abort_staged(&self.staged) {
            Ok(()) => crate::log::notice(
                "MASTER <-> REPLICA sync: Discarding the partial load, the old data stays",
            ),
            // The markers stay: the next start reclaims the load.
            Err(e) => crate::log::warning(&format!("Discarding the partial load: {e}")),
        }
    }
}

/// How the snapshot's end is told: by its length, or by a mark.
enum Framing {
    Length(u64),
    Eof(Bytes),
}

impl Framing {
    fn parse(header: &[u8]) -> Result<Framing, String> {
        let bad = || {
            format!(
                "Bad protocol from MASTER, the first byte is not '$': {}",
                String::from_utf8_lossy(header)
            )
        };
        let rest = header.strip_prefix(b"$").ok_or_else(bad)?;
        if let Some(mark) = rest.strip_prefix(b"EOF:") {
            if mark.len() != 40 {
                return Err(bad());
            }
            return Ok(Framing::Eof(Bytes::copy_from_slice(mark)));
        }
        std::str::from_utf8(rest)
            .ok()
            .and_then(|n| n.parse().ok())
            .map(Framing::Length)
            .ok_or_else(bad)
    }
}

/// Writes a batch of the snapshot's keys into `staged`, in one commit.
/// Strings gather in `bulk`; once enough waits, or once the file has
/// `ended`, they are taken into the commit, and the returned ingestion
/// writes them.
fn store(
    shared: &Shared,
    staged: &Staged,
    entries: Vec<(usize, Bytes, Value, u64)>,
    bulk: &mut BulkStrings,
    ended: bool,
) -> Result<Option<Ingestion>, String> {
    let mut others = Vec::new();
    for (db, key, value, expire_at) in entries {
        match value {
            Value::String(bytes) => bulk.push(db, key, bytes, expire_at),
            value => others.push((db, key, value, expire_at)),
        }
    }
    let ingest = !bulk.is_empty() && (ended || bulk.is_due());
    if others.is_empty() && !ingest {
        return Ok(None);
    }
    let limits = shared.config().encoding;
    let mut txn = master_txn(shared);
    txn.load_staged(staged);
    for (db, key, value, expire_at) in others {
        command::dump::store_value(&mut txn, db, &key, value, expire_at, limits)
            .map_err(|reply| format!("loading {:?}: {reply:?}", String::from_utf8_lossy(&key)))?;
    }
    let ingestion = ingest.then(|| txn.ingest_later(bulk));
    command::commit::commit_staged(&mut txn).map_err(|e| e.to_string())?;
    Ok(ingestion)
}

/// A full sync's strings being written in bulk on a blocking thread while
/// the link reads on: one ingestion at a time.
#[derive(Default)]
struct Ingesting(Option<tokio::task::JoinHandle<Result<(), String>>>);

impl Ingesting {
    /// Starts `ingestion` once the one before has finished.
    async fn start(&mut self, ingestion: Ingestion) -> Result<(), String> {
        self.finish().await?;
        let run = super::off_the_workers(move || ingestion.run().map_err(|e| e.to_string()));
        self.0 = Some(tokio::spawn(async move { run.await? }));
        Ok(())
    }

    async fn finish(&mut self) -> Result<(), String> {
        match self.0.take() {
            Some(ingestion) => ingestion.await.map_err(|e| e.to_string())?,
            None => Ok(()),
        }
    }
}

/// A transaction for what the master sends: expired keys are still there
/// until the master deletes them, and the feed will get the master's bytes.
fn master_txn(shared: &Shared) -> Txn<'_> {
    let mut txn = shared.store.begin(now_ms());
    txn.apply_master_stream();
    txn
}

/// Applies the master's stream until the link fails: each read's complete
/// commands run in one transaction, committed with their bytes.
async fn stream_from_master(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    mut input: BytesMut,
) -> Result<(), String> {
    *lock(&shared.upstream) = (UpstreamState::Connected, now_ms());
    let handle = shared
        .clients
        .register("master".into(), "".into(), now_ms());
    lock(&handle.info).link = Some(LinkKind::Master);
    let mut master = Client::new(handle.clone(), true);
    master.is_master = true;
    // A partial resync continues the stream where it left off, in the
    // database it had selected.
    master.db = shared.stream_db.load(Ordering::Relaxed);
    let applied = apply_loop(shared, stream, &mut input, &mut master).await;
    shared.clients.unregister(handle.id);
    applied
}

async fn apply_loop(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    master: &mut Client,
) -> Result<(), String> {
    let mut parser = RequestParser::new(Limits::default());
    // The bytes received that belong to no complete command yet, and how
    // many of them the parser has taken (it keeps a command's complete
    // arguments while the rest is still to come).
    let mut raw = BytesMut::from(&input[..]);
    let mut consumed = 0;
    let mut ack = tokio::time::interval(Duration::from_secs(1));
    loop {
        let mut commands = Vec::new();
        loop {
            let before = input.len();
            let parsed = parser
                .parse(input, false)
                .map_err(|e| format!("the master's stream: {}", e.message()))?;
            consumed += before - input.len();
            match parsed {
                Some(args) => {
                    commands.push((args, raw.split_to(consumed).freeze()));
                    consumed = 0;
                }
                None => break,
            }
        }
        let getack = apply(shared, master, commands)?;
        if getack {
            send_ack(shared, stream).await?;
        }
        select! {
            read = tokio::time::timeout(timeout(shared), stream.read_buf(input)) => match read {
                Ok(Ok(0)) => return Err("the master closed the link".into()),
                Ok(Ok(n)) => {
                    raw.extend_from_slice(&input[input.len() - n..]);
                    lock(&shared.upstream).1 = now_ms();
                }
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("timeout, no data from the master".into()),
            },
            _ = ack.tick() => send_ack(shared, stream).await?,
        }
    }
}

/// Runs the commands in one transaction and commits them with their
/// bytes. Returns whether the master asked for an acknowledgement
/// (`REPLCONF GETACK`), to send once they are applied.
fn apply(
    shared: &Shared,
    master: &mut Client,
    commands: Vec<(Vec<Bytes>, Bytes)>,
) -> Result<bool, String> {
    if commands.is_empty() {
        return Ok(false);
    }
    let mut stream_bytes = Vec::new();
    let mut getack = false;
    let mut txn = Some(master_txn(shared));
    for (args, bytes) in commands {
        stream_bytes.extend_from_slice(&bytes);
        let is = |i: usize, word: &str| {
            args.get(i)
                .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
        };
        if is(0, "replconf") {
            getack |= is(1, "getack");
            continue;
        }
        let mut ctx = Ctx::new(shared, master, now_ms(), &mut txn);
        // The master gets no replies; a command it ran that fails here
        // means the data differ (or the command is not supported).
        if let Frame::Error(error) = command::execute(&mut ctx, &args) {
            crate::log::warning(&format!(
                "A command from the master failed here: {} ({})",
                String::from_utf8_lossy(&args[0]),
                String::from_utf8_lossy(&error)
            ));
        }
        if txn.is_none() {
            // A command committed on its own (it read the committed state).
            txn = Some(master_txn(shared));
        }
    }
    if let Some(mut txn) = txn {
        command::commit::commit_from_master(shared, &mut txn, &stream_bytes, master.db)
            .map_err(|e| e.to_string())?;
    }
    shared.stream_db.store(master.db, Ordering::Relaxed);
    Ok(getack)
}

async fn send_ack(shared: &Shared, stream: &mut TcpStream) -> Result<(), String> {
    let offset = lock(&shared.feed).offset().to_string();
    let ack = format!(
        "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${}\r\n{offset}\r\n",
        offset.len()
    );
    write(stream, ack.as_bytes()).await
}

/// One reply line (without CRLF) of the handshake.
async fn read_line(
    shared: &Shared,
    stream: &mut TcpStream,
    input: &mut BytesMut,
) -> Result<Vec<u8>, String> {
    loop {
        if let Some(end) = input.iter().position(|&b| b == b'\n') {
            let line = input.split_to(end + 1);
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            return Ok(line.strip_suffix(b"\r").unwrap_or(line).to_vec());
        }
        if read(shared, stream, input).await? == 0 {
            return Err("the master closed the link".into());
        }
    }
}

/// A master silent for this long is taken for gone (`repl-timeout`).
fn timeout(shared: &Shared) -> Duration {
    Duration::from_secs(shared.config().replication.repl_timeout)
}

async fn read(
    shared: &Shared,
    stream: &mut TcpStream,
    input: &mut BytesMut,
) -> Result<usize, String> {
    input.reserve(READ_CHUNK);
    match tokio::time::timeout(timeout(shared), stream.read_buf(input)).await {
        Ok(read) => read.map_err(|e| e.to_string()),
        Err(_) => Err("timeout, no data from the master".into()),
    }
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).await.map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())
}
