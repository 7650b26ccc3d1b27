//! One client connection: the socket loop around its [`Session`]. It reads
//! into the session, has it run every complete request, and writes the
//! whole batch's replies with one write (pipelining), once the writes they
//! acknowledge are as durable as `appendfsync` asks. It does the waiting:
//! for the write lock another batch holds, for a blocked command's reply,
//! for MONITOR lines and pub/sub messages, for a kill or a shutdown.

use super::durability::Durability;
use crate::clock::{monotonic_ms, now_ms};
use crate::command::context::{ClientHandle, LinkKind, Stats};
use crate::command::{self, Shared};
use crate::config::AppendFsync;
use crate::planted::{self, Bug};
use crate::pubsub::Subscriber;
use crate::replication::WaitFor;
use crate::resp::Frame;
use crate::session::{BatchEnd, Close, Session};
use crate::sync::lock;
use bytes::BytesMut;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Connection {
    shared: Arc<Shared>,
    durability: Arc<Durability>,
    stream: TcpStream,
    session: Session,
    /// This client's last MIGRATE target, kept for the next MIGRATE.
    migrate_link: Option<super::migrate::Link>,
}

impl Connection {
    pub fn new(
        shared: Arc<Shared>,
        durability: Arc<Durability>,
        stream: TcpStream,
        handle: Arc<ClientHandle>,
    ) -> Connection {
        Connection {
            session: Session::new(shared.clone(), handle),
            shared,
            durability,
            stream,
            migrate_link: None,
        }
    }

    pub async fn run(mut self) {
        let handle = self.session.client.handle.clone();
        let mut shutdown = self.shared.shutdown.subscribe();
        loop {
            let client = &mut self.session.client;
            if client.blocked.is_some() || client.wait.is_some() || client.migrate.is_some() {
                let answered = match (client.wait.take(), client.migrate.take()) {
                    (Some(wait), _) => self.wait_replicas(wait, &handle, &mut shutdown).await,
                    (None, Some(job)) => self.migrate(job).await,
                    (None, None) => self.wait_blocked(&handle, &mut shutdown).await,
                };
                if answered.is_some() {
                    break;
                }
                // Served: run what the client sent meanwhile.
                if self.session.has_pending_input() && self.handle_input().await.is_some() {
                    break;
                }
                continue;
            }
            // Like Redis, `timeout` does not apply to subscribers: they
            // listen without sending anything.
            let idle = if self.session.client.pubsub.active() {
                0
            } else {
                self.shared.config().timeout
            };
            let (stream, input, monitor) = (
                &mut self.stream,
                &mut self.session.input,
                &mut self.session.monitor,
            );
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
            let subscriber = self.session.client.pubsub.subscriber.clone();
            let pushes = pushes_queued(subscriber.as_deref());
            select! {
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
        command::pubsub::disconnect(&self.shared, &self.session.client);
        command::blocking::forget(&self.shared, &mut self.session.client);
        command::transactions::reset(&self.shared, &mut self.session.client);
        if let Some(import) = self.session.client.slot_import.take() {
            // A whole-slot migration that did not finish: what it brought
            // goes (the slots are still the other master's).
            let shared = self.shared.clone();
            tokio::spawn(async move {
                let slots = import.slots().to_vec();
                super::drop_slot_keys(shared, slots, "of an unfinished import").await;
                import.marker().remove();
            });
        }
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
            let written =
                write_unless_killed(&mut self.stream, &chunk, &self.session.client.handle).await;
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
        let limit = self.shared.config().client_query_buffer_limit;
        self.session.refresh_limits();
        if self.session.query_buffer_full(limit) {
            return Some(Close::Now);
        }
        let close = loop {
            match self.session.execute_batch(now_ms()) {
                BatchEnd::Done(close) => break close,
                BatchEnd::WaitForWriter => self.shared.store.until_writable().await,
                BatchEnd::Paused(until) => {
                    if !self.send_replies().await {
                        return Some(Close::Now);
                    }
                    until_unpaused(&self.shared, until).await;
                }
            }
        };
        if !self.send_replies().await {
            return Some(Close::Now);
        }
        if let Some(start) = self.session.client.sync.take() {
            // PSYNC answered: the connection is a replica link until it ends.
            let (handle, ip) = (self.session.client.handle.clone(), self.peer_ip());
            lock(&handle.info).link = Some(LinkKind::Replica);
            let input = self.session.input.split();
            super::replica_link::serve(&self.shared, &mut self.stream, &handle, ip, start, input)
                .await;
            return Some(Close::Now);
        }
        close
    }

    /// The address the client connected from, without its port.
    fn peer_ip(&self) -> String {
        let addr = &self.session.client.handle.addr;
        addr.rsplit_once(':')
            .map_or(addr.as_str(), |(ip, _)| ip)
            .to_string()
    }

    /// Writes the replies in the output buffer, once the writes they
    /// acknowledge are as durable as the policy says (the flush or sync may
    /// well have been done by another client). False when the connection
    /// must close.
    async fn send_replies(&mut self) -> bool {
        if self.session.client.wrote {
            let seq = self.shared.store.write_seq();
            if self.shared.appendfsync() == AppendFsync::Always
                && !planted::active(Bug::ReplyBeforeSync)
            {
                self.durability.wait_synced(seq).await;
            } else if !self.durability.is_flushed(seq) {
                // The other clients this worker has ready run their commands
                // first, so that one write to the journal covers them all
                // (redis-server writes its AOF once per event loop turn).
                tokio::task::yield_now().await;
                self.durability.flush_upto(&self.shared, seq);
            }
            self.session.client.wrote = false;
        }
        if self.session.output.is_empty() {
            return true;
        }
        Stats::add(
            &self.shared.stats.total_net_output_bytes,
            self.session.output.len() as u64,
        );
        let written = write_unless_killed(
            &mut self.stream,
            &self.session.output,
            &self.session.client.handle,
        )
        .await;
        self.session.output.clear();
        written
    }

    /// MIGRATE: moves the keys, then replies. `Some` when the connection
    /// must close.
    async fn migrate(&mut self, job: crate::command::migrate::MigrateJob) -> Option<Close> {
        let client = &mut self.session.client;
        let reply =
            super::migrate::run(&self.shared, &mut self.migrate_link, job, &mut client.wrote).await;
        self.shared.stats.count_error(&reply);
        self.session.queue_replies(reply);
        (!self.send_replies().await).then_some(Close::Now)
    }

    /// WAIT: answers how many replicas acknowledged `wait.offset`, once
    /// enough did or the deadline passed. What the client sends meanwhile
    /// is read (a disconnect is noticed) but not run. `Some` when the
    /// connection must close.
    async fn wait_replicas(
        &mut self,
        wait: WaitFor,
        handle: &ClientHandle,
        shutdown: &mut crate::sync::watch::Receiver<bool>,
    ) -> Option<Close> {
        let limit = self.shared.config().client_query_buffer_limit;
        let shared = self.shared.clone();
        loop {
            let acked_signal = shared.acked.notified();
            tokio::pin!(acked_signal);
            acked_signal.as_mut().enable();
            let acked = lock(&self.shared.master).acked(wait.offset);
            // Strictly after: `now_ms` truncates, so `>=` could answer up
            // to a millisecond before the timeout has passed.
            let timed_out = wait.deadline_ms.is_some_and(|at| monotonic_ms() > at);
            if acked >= wait.replicas || timed_out {
                self.session.queue_replies(Frame::Integer(acked as i64));
                return (!self.send_replies().await).then_some(Close::Now);
            }
            let deadline = wait.deadline_ms;
            let timer = async move {
                match deadline {
                    Some(at) => {
                        let left = at.saturating_add(1).saturating_sub(monotonic_ms());
                        tokio::time::sleep(Duration::from_millis(left)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            select! {
                () = &mut acked_signal => {}
                () = timer => {}
                read = self.stream.read_buf(&mut self.session.input) => match read {
                    Ok(0) | Err(_) => return Some(Close::Now),
                    Ok(n) => {
                        Stats::add(&self.shared.stats.total_net_input_bytes, n as u64);
                        if self.session.query_buffer_full(limit) {
                            return Some(Close::Now);
                        }
                    }
                },
                _ = handle.kill_signal.notified() => return Some(Close::Now),
                _ = shutdown.changed() => return Some(Close::Now),
            }
        }
    }

    /// Waits while the client is blocked (BLPOP ...) until it is served,
    /// times out or is unblocked, and sends that reply. What the client
    /// sends meanwhile is read, so that a disconnect is noticed, but not
    /// run. `Some` when the connection must close.
    async fn wait_blocked(
        &mut self,
        handle: &ClientHandle,
        shutdown: &mut crate::sync::watch::Receiver<bool>,
    ) -> Option<Close> {
        // A long wait sleeps in steps: no deadline overflows the timer.
        const STEP_MS: u64 = 3_600_000;
        let limit = self.shared.config().client_query_buffer_limit;
        loop {
            let blocked = self.session.client.blocked.as_ref()?;
            let (waiting, deadline) = (blocked.waiting(), blocked.deadline_ms());
            // Messages to a RESP3 subscriber still flow while it is blocked.
            let subscriber = self.session.client.pubsub.subscriber.clone();
            let timer = async move {
                match deadline {
                    Some(at) => {
                        let left = (at + 1).saturating_sub(monotonic_ms()).min(STEP_MS);
                        tokio::time::sleep(Duration::from_millis(left)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            select! {
                () = waiting.answered() => {}
                () = timer => {
                    // Like Redis: past the deadline, not on it (ms are truncated).
                    if deadline.is_some_and(|at| monotonic_ms() > at) {
                        command::blocking::time_out(&self.shared, &self.session.client);
                    }
                }
                read = self.stream.read_buf(&mut self.session.input) => match read {
                    Ok(0) | Err(_) => return Some(Close::Now),
                    Ok(n) => {
                        Stats::add(&self.shared.stats.total_net_input_bytes, n as u64);
                        if self.session.query_buffer_full(limit) {
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
            let answered = self.session.take_blocked_reply();
            if handle.is_killed() {
                return Some(Close::Now);
            }
            if answered {
                return (!self.send_replies().await).then_some(Close::Now);
            }
        }
    }
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
        select! {
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

/// Waits until `until` or until the pauses change (the session looks
/// again either way; a change missed between its look and this wait is
/// caught by the poll).
async fn until_unpaused(shared: &Shared, until: u64) {
    const POLL: Duration = Duration::from_millis(100);
    let left = Duration::from_millis(until.saturating_sub(now_ms()));
    shared.paused_clients.fetch_add(1, Ordering::Relaxed);
    let _ = tokio::time::timeout(left.min(POLL), shared.unpaused.notified()).await;
    shared.paused_clients.fetch_sub(1, Ordering::Relaxed);
}
