//! One client connection: read, parse every complete request, execute, and
//! answer the whole batch with one write (pipelining).

use super::durability::Durability;
use crate::command::context::{ClientHandle, Stats};
use crate::command::{self, Client, Ctx, Shared};
use crate::config::AppendFsync;
use crate::keyspace::Txn;
use crate::pubsub::Subscriber;
use crate::resp::{encode, Frame, Limits, ProtocolError, RequestParser};
use crate::sync::lock;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const READ_CHUNK: usize = 16 * 1024;
/// A pipeline's shared transaction is committed once it holds this many
/// engine operations, so one client never holds the write lock for long.
const MAX_PENDING_OPS: usize = 1024;
/// How many requests [`Connection::warm_ahead`] keeps parsed at most (a
/// pipeline of 16 fits easily; the rest waits in the input buffer).
const PARSE_AHEAD_LIMIT: usize = 64;

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn limits(shared: &Shared) -> Limits {
    let config = shared.config();
    Limits {
        max_bulk_len: config.proto_max_bulk_len,
        max_inline_len: 64 * 1024,
    }
}

/// Why a connection ends.
enum Close {
    Now,
    AfterReply,
}

/// How [`Connection::execute_batch`] stopped.
enum BatchEnd {
    /// Every complete request ran (or the connection must close).
    Done(Option<Close>),
    /// The next request writes and another batch holds the write lock: wait
    /// for it without blocking the thread, then go on.
    WaitForWriter,
}

pub struct Connection {
    shared: Arc<Shared>,
    durability: Arc<Durability>,
    stream: TcpStream,
    client: Client,
    parser: RequestParser,
    input: BytesMut,
    output: BytesMut,
    monitor: Option<broadcast::Receiver<Bytes>>,
    /// Requests parsed but not run yet, oldest first: the one that waits
    /// for the write lock (see [`BatchEnd`]) and those read ahead of it
    /// (see [`Connection::warm_ahead`]).
    parsed_ahead: VecDeque<Result<Vec<Bytes>, ProtocolError>>,
}

impl Connection {
    pub fn new(
        shared: Arc<Shared>,
        durability: Arc<Durability>,
        stream: TcpStream,
        handle: Arc<ClientHandle>,
    ) -> Connection {
        let authenticated = shared.config().requirepass.is_none();
        let parser = RequestParser::new(limits(&shared));
        Connection {
            client: Client::new(handle, authenticated),
            shared,
            durability,
            stream,
            parser,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::with_capacity(READ_CHUNK),
            monitor: None,
            parsed_ahead: VecDeque::new(),
        }
    }

    pub async fn run(mut self) {
        let handle = self.client.handle.clone();
        let mut shutdown = self.shared.shutdown.subscribe();
        loop {
            if self.client.blocked.is_some() {
                if self.wait_blocked(&handle, &mut shutdown).await.is_some() {
                    break;
                }
                // Served: run what the client sent meanwhile.
                let pending = !self.input.is_empty() || !self.parsed_ahead.is_empty();
                if pending && self.handle_input().await.is_some() {
                    break;
                }
                continue;
            }
            // Like Redis, `timeout` does not apply to subscribers: they
            // listen without sending anything.
            let idle = if self.client.pubsub.active() {
                0
            } else {
                self.shared.config().timeout
            };
            let (stream, input, monitor) = (&mut self.stream, &mut self.input, &mut self.monitor);
            let read = async move {
                let read = stream.read_buf(input);
                if idle == 0 {
                    Some(read.await)
                } else {
                    tokio::time::timeout(Duration::from_secs(idle), read)
                        .await
                        .ok()
                }
            };
            let monitor = async move {
                match monitor.as_mut() {
                    Some(receiver) => receiver.recv().await.ok(),
                    None => std::future::pending().await,
                }
            };
            let subscriber = self.client.pubsub.subscriber.clone();
            let pushes = pushes_queued(subscriber.as_deref());
            tokio::select! {
                read = read => match read {
                    Some(Ok(0)) | Some(Err(_)) | None => break,
                    Some(Ok(n)) => {
                        Stats::add(&self.shared.stats.total_net_input_bytes, n as u64);
                        if self.handle_input().await.is_some() {
                            break;
                        }
                    }
                },
                line = monitor => {
                    if let Some(line) = line {
                        if self.stream.write_all(&line).await.is_err() {
                            break;
                        }
                    }
                }
                () = pushes => {
                    if let Some(subscriber) = &subscriber {
                        if !self.write_pushes(subscriber).await {
                            break;
                        }
                    }
                }
                _ = handle.kill_signal.notified() => break,
                _ = shutdown.changed() => break,
            }
            if handle.is_killed() {
                break;
            }
        }
        command::pubsub::disconnect(&self.shared, &self.client);
        command::blocking::forget(&self.shared, &mut self.client);
        command::transactions::reset(&self.shared, &mut self.client);
        let _ = self.stream.shutdown().await;
        self.shared.clients.unregister(handle.id);
    }

    /// Writes messages queued by publishers, a bounded amount at a time so
    /// that the client's own commands are still read under a flood. False
    /// when the connection must close (write failed, or killed, e.g. for
    /// going over its output buffer limit, while the client was not reading).
    async fn write_pushes(&mut self, subscriber: &Subscriber) -> bool {
        const CHUNK: usize = 64 * 1024;
        let mut chunk = BytesMut::new();
        for _ in 0..4 {
            chunk.clear();
            let taken = subscriber.take(&mut chunk, CHUNK);
            if taken == 0 {
                break;
            }
            Stats::add(&self.shared.stats.total_net_output_bytes, taken as u64);
            let written = write_unless_killed(&mut self.stream, &chunk, &self.client.handle).await;
            subscriber.written(taken);
            if !written {
                return false;
            }
        }
        !subscriber.is_closed()
    }

    /// Executes every complete request in the input buffer and writes the
    /// replies. Returns `Some` when the connection must close.
    async fn handle_input(&mut self) -> Option<Close> {
        let (limit, bulk_limit) = {
            let config = self.shared.config();
            (config.client_query_buffer_limit, config.proto_max_bulk_len)
        };
        // CONFIG SET may have changed the limit since the last batch.
        if self.parser.limits().max_bulk_len != bulk_limit {
            self.parser.set_limits(limits(&self.shared));
        }
        if self.query_buffer_full(limit) {
            return Some(Close::Now);
        }
        let close = loop {
            match self.execute_batch() {
                BatchEnd::Done(close) => break close,
                BatchEnd::WaitForWriter => self.shared.store.until_writable().await,
            }
        };
        if !self.send_replies().await {
            return Some(Close::Now);
        }
        close
    }

    /// Writes the replies in the output buffer, once the writes they
    /// acknowledge are as durable as the policy says (the flush or sync may
    /// well have been done by another client). False when the connection
    /// must close.
    async fn send_replies(&mut self) -> bool {
        if self.client.wrote {
            let seq = self.shared.store.write_seq();
            if self.shared.appendfsync() == AppendFsync::Always {
                self.durability.wait_synced(seq).await;
            } else if !self.durability.is_flushed(seq) {
                // The other clients this worker has ready run their commands
                // first, so that one write to the journal covers them all
                // (redis-server writes its AOF once per event loop turn).
                tokio::task::yield_now().await;
                self.durability.flush_upto(&self.shared, seq);
            }
            self.client.wrote = false;
        }
        if self.output.is_empty() {
            return true;
        }
        Stats::add(
            &self.shared.stats.total_net_output_bytes,
            self.output.len() as u64,
        );
        let written =
            write_unless_killed(&mut self.stream, &self.output, &self.client.handle).await;
        self.output.clear();
        written
    }

    /// Waits while the client is blocked (BLPOP ...) until it is served,
    /// times out or is unblocked, and sends that reply. What the client
    /// sends meanwhile is read, so that a disconnect is noticed, but not
    /// run. `Some` when the connection must close.
    async fn wait_blocked(
        &mut self,
        handle: &ClientHandle,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<Close> {
        // A long wait sleeps in steps: no deadline overflows the timer.
        const STEP_MS: u64 = 3_600_000;
        let limit = self.shared.config().client_query_buffer_limit;
        loop {
            let blocked = self.client.blocked.as_ref()?;
            let (waiting, deadline) = (blocked.waiting(), blocked.deadline_ms());
            // Messages to a RESP3 subscriber still flow while it is blocked.
            let subscriber = self.client.pubsub.subscriber.clone();
            let timer = async move {
                match deadline {
                    Some(at) => {
                        let left = (at + 1).saturating_sub(now_ms()).min(STEP_MS);
                        tokio::time::sleep(Duration::from_millis(left)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = waiting.answered() => {}
                () = timer => {
                    // Like Redis: past the deadline, not on it (ms are truncated).
                    if deadline.is_some_and(|at| now_ms() > at) {
                        command::blocking::time_out(&self.shared, &self.client);
                    }
                }
                read = self.stream.read_buf(&mut self.input) => match read {
                    Ok(0) | Err(_) => return Some(Close::Now),
                    Ok(n) => {
                        Stats::add(&self.shared.stats.total_net_input_bytes, n as u64);
                        if self.query_buffer_full(limit) {
                            return Some(Close::Now);
                        }
                    }
                },
                () = pushes_queued(subscriber.as_deref()) => {
                    if let Some(subscriber) = &subscriber {
                        if !self.write_pushes(subscriber).await {
                            return Some(Close::Now);
                        }
                    }
                }
                _ = handle.kill_signal.notified() => return Some(Close::Now),
                _ = shutdown.changed() => return Some(Close::Now),
            }
            let reply = command::blocking::take_reply(&self.shared, &mut self.client);
            if handle.is_killed() {
                return Some(Close::Now);
            }
            if let Some(reply) = reply {
                if matches!(reply, Frame::Error(_)) {
                    Stats::add(&self.shared.stats.total_error_replies, 1);
                }
                self.queue_replies(reply);
                return (!self.send_replies().await).then_some(Close::Now);
            }
        }
    }

    /// Whether the unparsed input is over `client-query-buffer-limit`
    /// (then the connection closes, as in Redis).
    fn query_buffer_full(&self, limit: u64) -> bool {
        let full = self.input.len() as u64 > limit;
        if full {
            crate::log::warning("Closing client that reached max query buffer length");
        }
        full
    }

    fn execute_batch(&mut self) -> BatchEnd {
        let now = now_ms();
        let mut executed = 0;
        let mut close = None;
        let mut wait_for_writer = false;
        // The write transaction this batch's commands share; it borrows the
        // shared state, hence the local handle.
        let shared = Arc::clone(&self.shared);
        let mut txn: Option<Txn> = None;

        let slow_threshold = self.shared.config().slowlog_log_slower_than;

        loop {
            let auth_required = !self.client.authenticated;
            let (parsed, read_ahead) = match self.parsed_ahead.pop_front() {
                Some(parsed) => (parsed.map(Some), true),
                None => (self.parser.parse(&mut self.input, auth_required), false),
            };
            let args = match parsed {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(error) => {
                    // Raw bytes, not a formatted frame: Redis echoes the
                    // offending byte as it came (`got '\xff'`), not as UTF-8.
                    error.write_reply(&mut self.output);
                    close = Some(Close::AfterReply);
                    break;
                }
            };
            let resolved = command::resolve_name(&args);
            if txn.is_none() && self.takes_write_lock(&resolved) {
                match shared.store.try_begin(now) {
                    Some(begun) => txn = Some(begun),
                    None => {
                        self.warm_ahead(args, read_ahead, now);
                        wait_for_writer = true;
                        break;
                    }
                }
            }
            executed += 1;
            self.client.current = None;
            let started = std::time::Instant::now();

            // Messages that arrived before this command go before its reply.
            self.drain_pushes();
            let mut ctx = Ctx {
                shared: &shared,
                client: &mut self.client,
                now_ms: now,
                txn: &mut txn,
            };
            let reply = command::execute_resolved(&mut ctx, &args, resolved);
            // A command's keyspace events go out once it is committed,
            // before its reply (and before the next command runs).
            if txn
                .as_ref()
                .is_some_and(|t| t.has_events() || t.pending_ops() >= MAX_PENDING_OPS)
                && !self.commit(&mut txn)
            {
                return BatchEnd::Done(Some(Close::Now));
            }
            let micros = started.elapsed().as_micros() as u64;
            if command::server::is_slow(slow_threshold, micros) {
                command::server::record_slow(&self.shared, &self.client, &args, micros);
            }

            self.feed_monitors(&args, now);
            if matches!(reply, Frame::Error(_)) {
                Stats::add(&self.shared.stats.total_error_replies, 1);
            }

            // So do those it caused (PUBLISH to oneself), but subscription
            // confirmations come before any message.
            let confirms = self
                .client
                .current
                .is_some_and(command::pubsub::changes_subscriptions);
            if !confirms {
                self.drain_pushes();
            }
            if self.client.blocked.is_some() {
                // Its reply comes when it is served; the commands after it
                // wait until then, as in Redis.
                break;
            }
            self.queue_replies(reply);
            if let Some(subscriber) = &self.client.pubsub.subscriber {
                subscriber.set_protocol(self.client.protocol);
            }
            if self.client.monitor && self.monitor.is_none() {
                self.monitor = Some(self.shared.monitor.subscribe());
            }
            if self.client.close_after_reply {
                close = Some(Close::AfterReply);
                break;
            }
        }
        if !self.commit(&mut txn) {
            return BatchEnd::Done(Some(Close::Now));
        }
        if executed > 0 {
            Stats::add(&self.shared.stats.total_commands_processed, executed);
            let mut info = lock(&self.client.handle.info);
            info.last_active_ms = now;
            info.db = self.client.db;
            info.last_command = self.client.current;
            info.multi = self.client.multi.as_ref().map_or(-1, |m| m.len() as i64);
        }
        if wait_for_writer {
            BatchEnd::WaitForWriter
        } else {
            BatchEnd::Done(close)
        }
    }

    /// Keeps `waiting` (a request that found the write lock taken) and the
    /// complete requests behind it, and meanwhile reads the rows of the
    /// keys they will write (and of the members SADD, HSET, ZADD and the
    /// like will add), so that the engine's point reads (the dearest part
    /// of a write) run while another batch holds the lock: the same reads
    /// under the lock then hit the row cache (metadata) or memory the other
    /// core just brought into the shared CPU cache (members). Only reads: what
    /// runs is decided under the lock as before. Requests of a client that
    /// has not authenticated parse under tighter limits, so parsing ahead
    /// stops before them, and after a command that may change that.
    ///
    /// Each request is read for once: `waiting` only if it was not read
    /// ahead already (`read_ahead`), and those still kept from an earlier
    /// call not again (the lock may be lost to another batch several times).
    fn warm_ahead(&mut self, waiting: Vec<Bytes>, read_ahead: bool, now: u64) {
        let mut more = self.client.authenticated && !changes_authentication(&waiting);
        let kept = self.parsed_ahead.len();
        self.parsed_ahead.push_front(Ok(waiting));
        while more && self.parsed_ahead.len() < PARSE_AHEAD_LIMIT {
            match self.parser.parse(&mut self.input, false) {
                Ok(Some(args)) => {
                    more = !changes_authentication(&args);
                    self.parsed_ahead.push_back(Ok(args));
                }
                Ok(None) => break,
                Err(error) => {
                    self.parsed_ahead.push_back(Err(error));
                    break;
                }
            }
        }
        let store = &self.shared.store;
        let unread = (self.parsed_ahead.iter().enumerate())
            .filter(|(at, _)| (*at == 0 && !read_ahead) || *at > kept)
            .filter_map(|(_, parsed)| parsed.as_ref().ok());
        for args in unread {
            let Ok(resolved) = command::resolve_name(args) else {
                continue;
            };
            if !resolved.command.has_flag("write") {
                continue;
            }
            let members = command::members_written(resolved.command.name, args);
            for position in resolved.command.key_positions(args.len()) {
                // A failed read fails again, and is reported, under the lock.
                let meta = store.get(self.client.db, &args[position], now);
                if let (Ok(Some(meta)), Some(members)) = (meta, &members) {
                    let _ = store.warm_members(self.client.db, &args[position], &meta, members);
                }
            }
        }
    }

    /// Whether the batch should hold the write lock before running a
    /// request: a write command that runs now (inside MULTI it is only
    /// queued).
    fn takes_write_lock(&self, resolved: &Result<command::Resolved, Frame>) -> bool {
        self.client.multi.is_none()
            && resolved
                .as_ref()
                .is_ok_and(|resolved| resolved.command.has_flag("write"))
    }

    /// Encodes a finished command's replies into the output, unless
    /// SHUTDOWN or CLIENT REPLY silenced them (pub/sub confirmations are
    /// sent all the same, as in Redis).
    fn queue_replies(&mut self, reply: Frame) {
        let extra = std::mem::take(&mut self.client.extra_replies);
        if !self.client.suppress_reply {
            let silenced = self.client.reply_mode.silenced();
            for frame in extra.into_iter().chain(std::iter::once(reply)) {
                if !silenced || matches!(frame, Frame::Push(_)) {
                    encode(&frame, self.client.protocol, &mut self.output);
                }
            }
        }
        self.client.reply_mode.command_done();
    }

    /// Appends the messages queued for this client to the batch's output.
    fn drain_pushes(&mut self) {
        if let Some(subscriber) = &self.client.pubsub.subscriber {
            subscriber.drain_into(&mut self.output);
        }
    }

    /// Commits the batch's shared transaction and publishes its keyspace
    /// events. A storage failure closes the connection without sending the
    /// replies: no write is acknowledged that did not happen.
    fn commit(&mut self, txn: &mut Option<Txn>) -> bool {
        let Some(mut pending) = txn.take() else {
            return true;
        };
        match command::blocking::commit(&self.shared, &mut pending) {
            Ok(wrote) => {
                self.client.wrote |= wrote;
                true
            }
            Err(e) => {
                crate::log::warning(&format!("closing a client after a failed commit: {e}"));
                self.output.clear();
                false
            }
        }
    }

    /// Shows a command that ran to clients in MONITOR mode, after it ran
    /// (so SELECT shows its new database), except admin commands and
    /// AUTH/HELLO whose arguments hold passwords, as Redis does.
    fn feed_monitors(&self, args: &[Bytes], now: u64) {
        if self.shared.monitor.receiver_count() == 0 {
            return;
        }
        let Some(resolved) = self.client.current else {
            return;
        };
        let command = resolved.parent.unwrap_or(resolved.command);
        if resolved.command.has_flag("admin") || matches!(command.name, "auth" | "hello") {
            return;
        }
        let line = command::server::monitor_line(
            now * 1000,
            self.client.db,
            &self.client.handle.addr,
            args,
        );
        let _ = self.shared.monitor.send(line);
    }
}

/// AUTH, HELLO (with AUTH) and RESET (which logs out) decide how the
/// requests after them parse.
fn changes_authentication(args: &[Bytes]) -> bool {
    args.first().is_some_and(|name| {
        [&b"auth"[..], b"hello", b"reset"]
            .iter()
            .any(|command| name.eq_ignore_ascii_case(command))
    })
}

/// Resolves when `subscriber` (if any) has messages queued to write.
async fn pushes_queued(subscriber: Option<&Subscriber>) {
    match subscriber {
        Some(subscriber) if !subscriber.has_queued() => subscriber.wait().await,
        Some(_) => {}
        None => std::future::pending().await,
    }
}

/// Writes all of `bytes`, unless the client is killed first (CLIENT KILL,
/// output buffer limit) while the socket cannot take them: a client that
/// does not read must not keep its connection (and its task) alive.
async fn write_unless_killed(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    handle: &ClientHandle,
) -> bool {
    while !bytes.is_empty() {
        if handle.is_killed() {
            return false;
        }
        tokio::select! {
            written = stream.write(bytes) => match written {
                Ok(0) | Err(_) => return false,
                Ok(n) => bytes = &bytes[n..],
            },
            _ = handle.kill_signal.notified() => return false,
        }
    }
    // A no-op for a real socket; a simulated one sends on flush.
    stream.flush().await.is_ok()
}
