//! One client's session, without its socket: the bytes it sent go in
//! ([`Session::input`]), every complete request is parsed and run
//! ([`Session::execute_batch`]), and the bytes to send back come out
//! ([`Session::output`]). It holds what belongs to one connection: the
//! parser, the client's state (RESP version, authentication, MULTI queue,
//! subscriptions, CLIENT REPLY), the requests read ahead while another
//! batch holds the write lock, and its MONITOR feed; the slow log and
//! MONITOR lines are recorded as each command runs.
//!
//! It never touches a socket or waits: `server::connection` is the socket
//! loop around it, and does the waiting [`BatchEnd`] and
//! [`Session::blocked`] ask for (the write lock, a blocked command's reply,
//! the durability of the writes the replies acknowledge).

use crate::command::context::{ClientHandle, Stats};
use crate::command::{self, Client, Ctx, Shared};
use crate::keyspace::Txn;
use crate::resp::{encode, Frame, Limits, ProtocolError, RequestParser};
use crate::sync::lock;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The buffers' starting size.
const READ_CHUNK: usize = 16 * 1024;
/// A pipeline's shared transaction is committed once it holds this many
/// engine operations, so one client never holds the write lock for long.
const MAX_PENDING_OPS: usize = 1024;
/// How many requests [`Session::warm_ahead`] keeps parsed at most (a
/// pipeline of 16 fits easily; the rest waits in the input buffer).
const PARSE_AHEAD_LIMIT: usize = 64;

fn limits(shared: &Shared) -> Limits {
    let config = shared.config();
    Limits {
        max_bulk_len: config.proto_max_bulk_len,
        max_inline_len: 64 * 1024,
    }
}

/// Why a connection ends.
pub enum Close {
    Now,
    AfterReply,
}

/// How [`Session::execute_batch`] stopped.
pub enum BatchEnd {
    /// Every complete request ran (or the connection must close).
    Done(Option<Close>),
    /// The next request writes and another batch holds the write lock: wait
    /// for it without blocking the thread, then go on.
    WaitForWriter,
    /// The next request is held by a client pause (`command::pause`) until
    /// the given time (unix ms) or until the pause changes; the replies so
    /// far are in `output`.
    Paused(u64),
}

pub struct Session {
    shared: Arc<Shared>,
    pub client: Client,
    parser: RequestParser,
    /// Bytes received and not parsed yet.
    pub input: BytesMut,
    /// Bytes to send.
    pub output: BytesMut,
    /// Lines for a client in MONITOR mode, once it asked.
    pub monitor: Option<broadcast::Receiver<Bytes>>,
    /// Requests parsed but not run yet, oldest first: the one that waits
    /// for the write lock (see [`BatchEnd`]) and those read ahead of it
    /// (see [`Session::warm_ahead`]).
    parsed_ahead: VecDeque<Result<Vec<Bytes>, ProtocolError>>,
}

impl Session {
    pub fn new(shared: Arc<Shared>, handle: Arc<ClientHandle>) -> Session {
        let authenticated = shared.config().requirepass.is_none();
        let parser = RequestParser::new(limits(&shared));
        Session {
            client: Client::new(handle, authenticated),
            shared,
            parser,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::with_capacity(READ_CHUNK),
            monitor: None,
            parsed_ahead: VecDeque::new(),
        }
    }

    /// Whether requests wait to run (received while blocked, or kept
    /// while waiting for the write lock).
    pub fn has_pending_input(&self) -> bool {
        !self.input.is_empty() || !self.parsed_ahead.is_empty()
    }

    /// A blocked command's reply, once it has one (served, timed out,
    /// unblocked): queues it and returns true; the client is not blocked
    /// any more.
    pub fn take_blocked_reply(&mut self) -> bool {
        let Some(reply) = command::blocking::take_reply(&self.shared, &mut self.client) else {
            return false;
        };
        if let (Frame::Error(_), Some(resolved)) = (&reply, self.client.current) {
            self.shared.stats.commands.record_late_failure(resolved);
        }
        self.shared.stats.count_error(&reply);
        self.queue_replies(reply);
        true
    }

    /// Applies a CONFIG SET of `proto-max-bulk-len` since the last batch.
    pub fn refresh_limits(&mut self) {
        let bulk_limit = self.shared.config().proto_max_bulk_len;
        if self.parser.limits().max_bulk_len != bulk_limit {
            self.parser.set_limits(limits(&self.shared));
        }
    }

    /// Whether the unparsed input is over `client-query-buffer-limit`
    /// (then the connection closes, as in Redis).
    pub fn query_buffer_full(&self, limit: u64) -> bool {
        let full = self.input.len() as u64 > limit;
        if full {
            crate::log::warning("Closing client that reached max query buffer length");
        }
        full
    }

    /// Runs every complete request received, at `now` (unix ms), and
    /// queues the replies into [`Session::output`].
    pub fn execute_batch(&mut self, now: u64) -> BatchEnd {
        let mut executed = 0;
        let mut close = None;
        let mut wait_for_writer = false;
        let mut paused = None;
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
            // While another client's script is busy, a write is answered
            // BUSY at once (EXEC: EXECABORT) rather than wait for the lock
            // the script holds.
            if txn.is_none() && self.takes_write_lock(&resolved) && !self.script_busy(now) {
                match shared.store.try_begin(now) {
                    Some(begun) => txn = Some(begun),
                    None => {
                        self.warm_ahead(args, read_ahead, now);
                        wait_for_writer = true;
                        break;
                    }
                }
            }
            // Checked under the write lock for writes: once a pause has
            // taken the lock after it began, no write commits until it ends.
            if let Some(until) = self.held_by_pause(&args, &resolved, now) {
                self.parsed_ahead.push_front(Ok(args));
                paused = Some(until);
                break;
            }
            executed += 1;
            self.client.current = None;
            let started = std::time::Instant::now();

            // Messages that arrived before this command go before its reply.
            self.drain_pushes();
            let mut ctx = Ctx::new(&shared, &mut self.client, now, &mut txn);
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
            self.shared.stats.count_error(&reply);

            // So do those it caused (PUBLISH to oneself), but subscription
            // confirmations come before any message.
            let confirms = self
                .client
                .current
                .is_some_and(command::pubsub::changes_subscriptions);
            if !confirms {
                self.drain_pushes();
            }
            if self.client.blocked.is_some()
                || self.client.wait.is_some()
                || self.client.migrate.is_some()
            {
                // Its reply comes when it is served (or the replicas
                // acknowledged, for WAIT; the keys moved, for MIGRATE); the
                // commands after it wait until then, as in Redis.
                break;
            }
            self.queue_replies(reply);
            if self.client.sync.is_some() {
                // PSYNC: from here on the connection is a replica link.
                break;
            }
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
        } else if let Some(until) = paused {
            BatchEnd::Paused(until)
        } else {
            BatchEnd::Done(close)
        }
    }

    /// Until when a client pause holds this request back, if it does. An
    /// unknown command or a wrong number of arguments is answered at once,
    /// as in Redis.
    fn held_by_pause(
        &self,
        args: &[Bytes],
        resolved: &Result<command::Resolved, Frame>,
        now: u64,
    ) -> Option<u64> {
        let resolved = resolved.as_ref().ok()?;
        if !resolved.command.arity_ok(args.len()) {
            return None;
        }
        command::pausing::holds(&self.shared, now, || {
            command::pausing::pauses_for_writes(resolved.command, self.client.multi.as_ref())
        })
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
            let name = resolved.command.name;
            if !resolved.command.has_flag("write") || command::writes_blind(name, args) {
                continue;
            }
            let members = command::members_written(name, args);
            for position in resolved.command.key_positions(args.len()) {
                // A failed read fails again, and is reported, under the lock.
                let meta = store.get(self.client.db, &args[position], now);
                if let (Ok(Some(meta)), Some(members)) = (meta, &members) {
                    let _ = store.warm_members(self.client.db, &args[position], &meta, members);
                }
            }
        }
    }

    /// Whether a script of another client has run past
    /// `busy-reply-threshold`: commands then get BUSY (`command::admit`).
    fn script_busy(&self, now: u64) -> bool {
        self.shared
            .script_running
            .busy_for(self.client.id(), now, || {
                self.shared.config().busy_reply_threshold
            })
    }

    /// Whether the batch should hold the write lock before running a
    /// request: a write command that runs now (inside MULTI it is only
    /// queued), or EXEC of a transaction that writes.
    fn takes_write_lock(&self, resolved: &Result<command::Resolved, Frame>) -> bool {
        resolved.as_ref().is_ok_and(|resolved| {
            let command = resolved.command;
            if command.name == "exec" {
                command::pausing::pauses_for_writes(command, self.client.multi.as_ref())
            } else {
                self.client.multi.is_none()
                    && (command.has_flag("write") || command::scripting::runs_script(command.name))
            }
        })
    }

    /// Encodes a finished command's replies into the output, unless
    /// SHUTDOWN or CLIENT REPLY silenced them (pub/sub confirmations are
    /// sent all the same, as in Redis).
    pub fn queue_replies(&mut self, reply: Frame) {
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
        match command::commit::commit(&self.shared, &mut pending) {
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

#[cfg(test)]
mod tests;
