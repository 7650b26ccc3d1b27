//! A replica's link, once its PSYNC (or SYNC) was answered: the snapshot
//! of a full sync as an RDB file, then the change feed from the offset the
//! snapshot was taken at (or, for `+CONTINUE`, from the offset the replica
//! asked for), for as long as the replica stays connected. What the
//! replica sends (`REPLCONF ACK <offset>` every second) is read meanwhile.
//!
//! A replica too slow for the backlog (its position was dropped from the
//! feed's backlog before it was sent) is disconnected, as Redis does when a
//! replica reaches its output buffer limit: it reconnects and resyncs.

use crate::command::context::ClientHandle;
use crate::command::full_sync::RdbStream;
use crate::command::Shared;
use crate::config::BufferLimit;
use crate::replication::{Gap, LinkState, SyncStart};
use crate::resp::{Limits, RequestParser};
use crate::sync::lock;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clock::now_ms;

/// Bytes of snapshot or feed written at a time.
const CHUNK: usize = 64 * 1024;

/// Serves the replica on `stream` until the link ends. `input` is what the
/// replica sent after its PSYNC, read already.
pub async fn serve(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    handle: &ClientHandle,
    ip: String,
    start: SyncStart,
    input: BytesMut,
) {
    let client = handle.id;
    let state = match start.snapshot {
        Some(_) => LinkState::Syncing,
        None => LinkState::Online,
    };
    lock(&shared.master).attach(client, ip.clone(), start.handshake.clone(), state);
    // CLIENT KILL and SHUTDOWN end the link wherever it stands.
    let mut shutdown = shared.shutdown.subscribe();
    let ended = select! {
        ended = run(shared, stream, client, start, input) => ended,
        _ = handle.kill_signal.notified() => Err("killed".to_string()),
        _ = shutdown.changed() => Ok(()),
    };
    lock(&shared.master).detach(client);
    match ended {
        Ok(()) => crate::log::notice(&format!("Connection with replica {ip} lost.")),
        Err(why) => crate::log::warning(&format!("Closing the link of replica {ip}: {why}")),
    }
}

async fn run(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    client: u64,
    start: SyncStart,
    mut input: BytesMut,
) -> Result<(), String> {
    let mut position = start.from;
    if let Some(snapshot) = start.snapshot {
        let replid = lock(&shared.master).replid().to_string();
        let rdb = RdbStream::new(snapshot, replid, start.from);
        let mut held = Held::new(shared, start.from);
        send_snapshot(shared, stream, rdb, start.handshake.capa_eof, &mut held).await?;
        position = held.from + held.bytes.len() as u64;
        write(shared, stream, &held.bytes).await?;
        lock(&shared.master).online(client);
        crate::log::notice("Synchronization with replica succeeded");
    }
    let mut parser = RequestParser::new(Limits::default());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last_ping = now_ms();
    // When the replica last sent anything (it acknowledges every second);
    // one that never does (SYNC, `redis-cli --replica`) is never timed out.
    let mut last_heard = None;
    loop {
        let grew = shared.feed_grew.notified();
        tokio::pin!(grew);
        grew.as_mut().enable();
        let chunk = lock(&shared.feed).read_from(position, CHUNK);
        match chunk {
            Ok(bytes) if !bytes.is_empty() => {
                write(shared, stream, &bytes).await?;
                position += bytes.len() as u64;
                continue;
            }
            Ok(_) => {}
            Err(Gap::Overrun) => return Err("it fell behind the backlog".into()),
            Err(Gap::Future) => return Err(format!("offset {position} is past the feed")),
        }
        select! {
            () = &mut grew => {}
            read = stream.read_buf(&mut input) => match read {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    last_heard = Some(now_ms());
                    acknowledge(shared, client, &mut parser, &mut input)?;
                }
                Err(e) => return Err(e.to_string()),
            },
            _ = tick.tick() => {
                let (ping_period, timeout) = {
                    let options = &shared.config().replication;
                    (options.repl_ping_replica_period, options.repl_timeout)
                };
                let now = now_ms();
                if last_heard.is_some_and(|heard| now.saturating_sub(heard) > timeout * 1000) {
                    return Err("timeout, no acknowledgement from the replica".into());
                }
                // An idle link gets a PING in the stream, so that the replica
                // can tell a quiet master from a dead one.
                // A replica's feed is its master's bytes, PINGs included: its
                // own would move its offsets off its master's (Redis'
                // replicas feed nothing of their own either).
                // Nor while clients are paused: the offset stands still.
                let paused = now < shared.store.paused_until();
                if now.saturating_sub(last_ping) >= ping_period * 1000
                    && !shared.store.is_replica()
                    && !paused
                {
                    last_ping = now;
                    lock(&shared.feed).append_control(&[&b"PING"[..]]);
                }
            }
        }
    }
}

/// The snapshot as an RDB file: with `capa eof`, streamed between two
/// `$EOF:<mark>` delimiters; otherwise its length must come first, so it
/// is built whole (replicas older than Redis 2.8.18).
async fn send_snapshot(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    mut rdb: RdbStream,
    capa_eof: bool,
    held: &mut Held,
) -> Result<(), String> {
    let mut chunk = Vec::with_capacity(2 * CHUNK);
    if capa_eof {
        let mark = crate::command::context::random_hex_id();
        write(shared, stream, format!("$EOF:{mark}\r\n").as_bytes()).await?;
        loop {
            chunk.clear();
            let more = rdb.next_chunk(&shared.store, &mut chunk, CHUNK)?;
            held.catch_up(shared)?;
            write(shared, stream, &chunk).await?;
            if !more {
                break;
            }
        }
        write(shared, stream, mark.as_bytes()).await
    } else {
        while rdb.next_chunk(&shared.store, &mut chunk, CHUNK)? {
            held.catch_up(shared)?;
        }
        write(shared, stream, format!("${}\r\n", chunk.len()).as_bytes()).await?;
        write(shared, stream, &chunk).await
    }
}

/// Reads what the replica sent: `REPLCONF ACK <offset>` records its offset;
/// anything else is ignored, as Redis ignores it from a replica.
fn acknowledge(
    shared: &Shared,
    client: u64,
    parser: &mut RequestParser,
    input: &mut BytesMut,
) -> Result<(), String> {
    while let Some(args) = parser
        .parse(input, false)
        .map_err(|e| e.message().to_string())?
    {
        let is = |i: usize, word: &str| {
            args.get(i)
                .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
        };
        if is(0, "replconf") && is(1, "ack") {
            let offset = args
                .get(2)
                .and_then(|o| std::str::from_utf8(o).ok()?.parse().ok());
            if let Some(offset) = offset {
                let now = now_ms();
                lock(&shared.master).ack(client, offset, now);
                shared.acked.notify_waiters();
            }
        }
    }
    Ok(())
}

/// Writes to the replica; one that has not taken the bytes within
/// `repl-timeout` (it stopped reading, its buffers are full) is dropped.
async fn write(shared: &Shared, stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    let timeout = Duration::from_secs(shared.config().replication.repl_timeout);
    let written = tokio::time::timeout(timeout, async {
        stream.write_all(bytes).await?;
        // A simulated socket sends on flush (madsim).
        stream.flush().await
    });
    match written.await {
        Ok(written) => written.map_err(|e| e.to_string()),
        Err(_) => Err("timeout, the replica stopped reading".into()),
    }
}

/// The stream written since a full sync's snapshot, held for the replica
/// until the snapshot is sent (Redis keeps it in the replica's output
/// buffer): the feed's backlog alone may drop it meanwhile. Bounded by
/// `client-output-buffer-limit replica`, hard and soft.
struct Held {
    /// The feed offset of the first held byte.
    from: u64,
    bytes: BytesMut,
    limit: BufferLimit,
    /// Since when (unix seconds) it has been over the soft limit.
    soft_since: Option<u64>,
}

impl Held {
    fn new(shared: &Shared, from: u64) -> Held {
        Held {
            from,
            bytes: BytesMut::new(),
            limit: shared.config().client_output_buffer_limit.replica,
            soft_since: None,
        }
    }

    /// Copies what the feed gained since the last call.
    fn catch_up(&mut self, shared: &Shared) -> Result<(), String> {
        loop {
            let next = self.from + self.bytes.len() as u64;
            let chunk = lock(&shared.feed)
                .read_from(next, CHUNK)
                .map_err(|gap| format!("the feed lost its position during the sync ({gap:?})"))?;
            if chunk.is_empty() {
                return Ok(());
            }
            self.bytes.extend_from_slice(&chunk);
            let (used, now_secs) = (self.bytes.len() as u64, now_ms() / 1000);
            if self.limit.exceeded(used, &mut self.soft_since, now_secs) {
                return Err("it reached client-output-buffer-limit replica during the sync".into());
            }
        }
    }
}
