//! One subscribed connection as publishers see it: a bounded outbox of
//! encoded messages and the signal that wakes the connection's task.

use crate::config::BufferLimit;
use crate::resp::Protocol;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What happened to a message pushed into an outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    Queued,
    /// This message took the client over its output buffer limit: the
    /// outbox is now closed (its messages dropped) and the client must be
    /// disconnected. Reported once.
    OverLimit,
    /// The outbox was closed before: the message is dropped.
    Closed,
}

#[derive(Default)]
struct Outbox {
    queue: VecDeque<Bytes>,
    /// Queued bytes plus bytes taken but not yet reported written.
    pending: u64,
    /// When (unix seconds) pending output first reached the soft limit;
    /// None while it is below.
    soft_since: Option<u64>,
    closed: bool,
}

pub struct Subscriber {
    /// The client id.
    pub id: u64,
    resp3: AtomicBool,
    outbox: Mutex<Outbox>,
    wake: tokio::sync::Notify,
}

impl Subscriber {
    pub fn new(id: u64, protocol: Protocol) -> Subscriber {
        Subscriber {
            id,
            resp3: AtomicBool::new(protocol == Protocol::Resp3),
            outbox: Mutex::new(Outbox::default()),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// The protocol messages for this client are encoded in.
    pub fn protocol(&self) -> Protocol {
        if self.resp3.load(Ordering::Relaxed) {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        }
    }

    pub fn set_protocol(&self, protocol: Protocol) {
        self.resp3
            .store(protocol == Protocol::Resp3, Ordering::Relaxed);
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        crate::sync::lock(&self.outbox)
    }

    /// Queues an encoded message and wakes the connection, unless that
    /// takes the pending output over `limit` (Redis'
    /// `checkClientOutputBufferLimits`: hard reached, or soft reached
    /// continuously for more than `soft_seconds`; `now_secs` is the clock).
    pub fn push(&self, message: Bytes, limit: &BufferLimit, now_secs: u64) -> Push {
        let mut outbox = self.outbox();
        if outbox.closed {
            return Push::Closed;
        }
        outbox.pending += message.len() as u64;
        outbox.queue.push_back(message);
        let used = outbox.pending;
        if limit.exceeded(used, &mut outbox.soft_since, now_secs) {
            // Free the memory now; `pending` keeps the size that closed the
            // outbox, for the log line (CLIENT LIST's omem).
            outbox.closed = true;
            outbox.queue = VecDeque::new();
            drop(outbox);
            self.wake.notify_one();
            return Push::OverLimit;
        }
        drop(outbox);
        self.wake.notify_one();
        Push::Queued
    }

    /// Moves queued messages into `out`, at most about `max` bytes (at least
    /// one message). They stay counted as pending until [`written`].
    ///
    /// [`written`]: Subscriber::written
    pub fn take(&self, out: &mut BytesMut, max: usize) -> usize {
        let mut outbox = self.outbox();
        let mut taken = 0;
        while let Some(message) = outbox.queue.front() {
            if taken > 0 && taken + message.len() > max {
                break;
            }
            taken += message.len();
            out.extend_from_slice(message);
            outbox.queue.pop_front();
        }
        taken
    }

    /// Reports `n` taken bytes as written to the socket.
    pub fn written(&self, n: usize) {
        let mut outbox = self.outbox();
        if !outbox.closed {
            outbox.pending = outbox.pending.saturating_sub(n as u64);
        }
    }

    /// Takes everything queued and counts it as written at once (the caller
    /// appends it to a reply it is about to send).
    pub fn drain_into(&self, out: &mut BytesMut) {
        let n = self.take(out, usize::MAX);
        self.written(n);
    }

    pub fn has_queued(&self) -> bool {
        !self.outbox().queue.is_empty()
    }

    /// Bytes queued or being written (CLIENT LIST's `omem`).
    pub fn pending_bytes(&self) -> u64 {
        self.outbox().pending
    }

    /// The outbox went over its limit: the client is being disconnected.
    pub fn is_closed(&self) -> bool {
        self.outbox().closed
    }

    /// Waits until something was queued (or the outbox closed) since the
    /// last wake-up; a push that came before the wait is not lost.
    pub async fn wait(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(hard: u64, soft: u64, soft_seconds: u64) -> BufferLimit {
        BufferLimit {
            hard,
            soft,
            soft_seconds,
        }
    }

    #[test]
    fn queued_messages_come_out_in_order_and_count_until_written() {
        let s = Subscriber::new(1, Protocol::Resp2);
        let none = limit(0, 0, 0);
        assert_eq!(s.push(Bytes::from_static(b"ab"), &none, 0), Push::Queued);
        assert_eq!(s.push(Bytes::from_static(b"cde"), &none, 0), Push::Queued);
        assert_eq!(s.pending_bytes(), 5);
        let mut out = BytesMut::new();
        assert_eq!(s.take(&mut out, 2), 2, "at most max bytes, at least one");
        assert_eq!(&out[..], b"ab");
        assert_eq!(s.pending_bytes(), 5, "taken bytes stay pending");
        s.written(2);
        assert_eq!(s.take(&mut out, 1), 3);
        assert_eq!(&out[..], b"abcde");
        s.written(3);
        assert_eq!(s.pending_bytes(), 0);
        assert!(!s.has_queued());
    }

    #[test]
    fn the_hard_limit_closes_the_outbox_and_frees_it() {
        let s = Subscriber::new(1, Protocol::Resp2);
        let hard = limit(10, 0, 0);
        assert_eq!(s.push(Bytes::from(vec![0; 9]), &hard, 0), Push::Queued);
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &hard, 0), Push::OverLimit);
        assert!(s.is_closed());
        assert!(!s.has_queued(), "the queued messages are dropped");
        assert_eq!(s.pending_bytes(), 10, "the size that closed it");
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &hard, 0), Push::Closed);
    }

    #[test]
    fn bytes_being_written_count_against_the_limit() {
        let s = Subscriber::new(1, Protocol::Resp2);
        let hard = limit(10, 0, 0);
        s.push(Bytes::from(vec![0; 6]), &hard, 0);
        let mut out = BytesMut::new();
        s.take(&mut out, usize::MAX);
        assert_eq!(s.push(Bytes::from(vec![0; 4]), &hard, 0), Push::OverLimit);
    }

    #[test]
    fn the_soft_limit_needs_to_hold_for_longer_than_its_seconds() {
        let s = Subscriber::new(1, Protocol::Resp2);
        let soft = limit(0, 4, 10);
        assert_eq!(s.push(Bytes::from(vec![0; 5]), &soft, 100), Push::Queued);
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &soft, 110), Push::Queued);
        // Drained below the soft limit: the clock restarts.
        let mut out = BytesMut::new();
        s.drain_into(&mut out);
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &soft, 111), Push::Queued);
        assert_eq!(s.push(Bytes::from(vec![0; 4]), &soft, 112), Push::Queued);
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &soft, 122), Push::Queued);
        assert_eq!(s.push(Bytes::from(vec![0; 1]), &soft, 123), Push::OverLimit);
    }
}
