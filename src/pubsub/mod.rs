//! Pub/sub: the server-wide registry of who listens to what, and message
//! delivery into each subscriber's bounded outbox.
//!
//! The registry maps channels, patterns and shard channels to their
//! subscribers. A publish encodes each distinct message once per protocol
//! and queues the shared bytes into every receiver's outbox
//! ([`Subscriber`]); the receiving connection's task writes them out. A
//! subscriber whose pending output goes over `client-output-buffer-limit
//! pubsub` is cut off ([`Push::OverLimit`]), so a client that does not read
//! cannot make the server buffer without bound.
//!
//! Invariant: no I/O and no clock here; `now` comes in, and what must be
//! disconnected is returned to the caller.

mod subscriber;
mod subscriptions;

pub use subscriber::{Push, Subscriber};
pub use subscriptions::{OrderedSet, Subscriptions};

use crate::config::BufferLimit;
use crate::glob::glob_match;
use crate::resp::Protocol;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The three namespaces: SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// Subscribers of one name, by client id.
type Members = BTreeMap<u64, Arc<Subscriber>>;

#[derive(Default)]
struct Tables {
    channels: HashMap<Bytes, Members>,
    patterns: HashMap<Bytes, Members>,
    shard_channels: HashMap<Bytes, Members>,
}

impl Tables {
    fn of(&self, kind: Kind) -> &HashMap<Bytes, Members> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn of_mut(&mut self, kind: Kind) -> &mut HashMap<Bytes, Members> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }
}

/// The outcome of a publish.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Messages queued: one per channel subscriber plus one per matching
    /// pattern subscription (PUBLISH's reply).
    pub receivers: usize,
    /// Clients this publish took over their output buffer limit: they must
    /// be disconnected.
    pub over_limit: Vec<u64>,
}

#[derive(Default)]
pub struct Registry {
    tables: RwLock<Tables>,
}

impl Registry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        crate::sync::read(&self.tables)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        crate::sync::write(&self.tables)
    }

    /// Adds `subscriber` to `name` (no-op if already there).
    pub fn subscribe(&self, kind: Kind, name: &Bytes, subscriber: &Arc<Subscriber>) {
        self.write()
            .of_mut(kind)
            .entry(name.clone())
            .or_default()
            .insert(subscriber.id, subscriber.clone());
    }

    /// Removes client `id` from `name`; a name nobody listens to is gone.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        let mut tables = self.write();
        let table = tables.of_mut(kind);
        if let Some(members) = table.get_mut(name) {
            members.remove(&id);
            if members.is_empty() {
                table.remove(name);
            }
        }
    }

    /// Removes every subscription of a client that goes away.
    pub fn remove_client(&self, subscriptions: &Subscriptions, id: u64) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in subscriptions.set(kind).to_vec() {
                self.unsubscribe(kind, &name, id);
            }
        }
    }

    /// Names with at least one subscriber, matching `pattern` if given
    /// (PUBSUB CHANNELS / SHARDCHANNELS), sorted.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let mut names: Vec<Bytes> = self
            .read()
            .of(kind)
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Subscribers of exactly `name` (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.read().of(kind).get(name).map_or(0, BTreeMap::len)
    }

    /// Distinct names with subscribers (PUBSUB NUMPAT for patterns, INFO).
    pub fn len(&self, kind: Kind) -> usize {
        self.read().of(kind).len()
    }

    /// Queues `message` for the subscribers of `channel` (and, unless
    /// `sharded`, of every matching pattern) with the `limit` of the pubsub
    /// class; `now_secs` times the soft limit.
    pub fn publish(
        &self,
        sharded: bool,
        channel: &[u8],
        message: &[u8],
        limit: &BufferLimit,
        now_secs: u64,
    ) -> Delivery {
        let tables = self.read();
        let mut delivery = Delivery::default();
        let mut send = |members: &Members, encoded: &mut Encoded| {
            for subscriber in members.values() {
                delivery.receivers += 1;
                let bytes = encoded.get(subscriber.protocol());
                if subscriber.push(bytes, limit, now_secs) == Push::OverLimit {
                    delivery.over_limit.push(subscriber.id);
                }
            }
        };
        let (kind, name): (Kind, &[u8]) = if sharded {
            (Kind::Shard, b"smessage")
        } else {
            (Kind::Channel, b"message")
        };
        if let Some(members) = tables.of(kind).get(channel) {
            send(members, &mut Encoded::new(vec![name, channel, message]));
        }
        if !sharded {
            for (pattern, members) in &tables.patterns {
                if glob_match(pattern, channel, false) {
                    let parts = vec![&b"pmessage"[..], pattern, channel, message];
                    send(members, &mut Encoded::new(parts));
                }
            }
        }
        delivery
    }
}

/// A message as a push of bulk strings, encoded at most once per protocol.
struct Encoded<'a> {
    parts: Vec<&'a [u8]>,
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl<'a> Encoded<'a> {
    fn new(parts: Vec<&'a [u8]>) -> Encoded<'a> {
        Encoded {
            parts,
            resp2: None,
            resp3: None,
        }
    }

    fn get(&mut self, protocol: Protocol) -> Bytes {
        let (slot, marker) = match protocol {
            Protocol::Resp2 => (&mut self.resp2, b'*'),
            Protocol::Resp3 => (&mut self.resp3, b'>'),
        };
        let parts = &self.parts;
        slot.get_or_insert_with(|| encode_push(marker, parts))
            .clone()
    }
}

/// `>n` (RESP3) or `*n` (RESP2) followed by bulk strings: what
/// `resp::encode` makes of a `Frame::Push` of bulks, without building one.
fn encode_push(marker: u8, parts: &[&[u8]]) -> Bytes {
    let size = 16 + parts.iter().map(|p| p.len() + 16).sum::<usize>();
    let mut out = BytesMut::with_capacity(size);
    out.put_u8(marker);
    out.extend_from_slice(parts.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for part in parts {
        out.put_u8(b'$');
        out.extend_from_slice(part.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.freeze()
}

#[cfg(test)]
mod tests;
