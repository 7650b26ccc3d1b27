//! What one connection is subscribed to, kept by the connection itself (the
//! registry has the reverse index). Each set remembers subscription order,
//! which is the order an argument-less UNSUBSCRIBE reports them in.

use super::{Kind, Subscriber};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A set that iterates in insertion order, with O(log n) removal.
#[derive(Default)]
pub struct OrderedSet {
    next: u64,
    index: HashMap<Bytes, u64>,
    order: BTreeMap<u64, Bytes>,
}

impl OrderedSet {
    /// True if `name` was not there.
    pub fn insert(&mut self, name: &Bytes) -> bool {
        if self.index.contains_key(name) {
            return false;
        }
        self.next += 1;
        self.index.insert(name.clone(), self.next);
        self.order.insert(self.next, name.clone());
        true
    }

    /// True if `name` was there.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        match self.index.remove(name) {
            Some(seq) => {
                self.order.remove(&seq);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The members, oldest first.
    pub fn to_vec(&self) -> Vec<Bytes> {
        self.order.values().cloned().collect()
    }
}

/// A connection's subscriptions and its handle in the registry.
#[derive(Default)]
pub struct Subscriptions {
    pub channels: OrderedSet,
    pub patterns: OrderedSet,
    pub shard_channels: OrderedSet,
    /// Created at the first subscription; the connection drains it.
    pub subscriber: Option<Arc<Subscriber>>,
}

impl Subscriptions {
    pub fn set(&self, kind: Kind) -> &OrderedSet {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    pub fn set_mut(&mut self, kind: Kind) -> &mut OrderedSet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// The count (P)SUBSCRIBE / (P)UNSUBSCRIBE replies carry: channels plus
    /// patterns; SSUBSCRIBE / SUNSUBSCRIBE count shard channels alone.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::Shard => self.shard_channels.len(),
        }
    }

    /// Subscribed to anything: Redis' CLIENT_PUBSUB flag (RESP2 clients are
    /// then restricted to the pub/sub commands).
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_set_keeps_insertion_order_across_removals() {
        let mut set = OrderedSet::default();
        for name in ["b", "a", "c"] {
            assert!(set.insert(&Bytes::from(name)));
        }
        assert!(!set.insert(&Bytes::from("a")));
        assert!(set.remove(b"a"));
        assert!(!set.remove(b"a"));
        assert!(set.insert(&Bytes::from("a")));
        assert_eq!(set.to_vec(), vec!["b", "c", "a"]);
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn counts_follow_redis() {
        let mut subs = Subscriptions::default();
        subs.channels.insert(&Bytes::from("c"));
        subs.patterns.insert(&Bytes::from("p*"));
        subs.shard_channels.insert(&Bytes::from("s"));
        assert_eq!(subs.count(Kind::Channel), 2);
        assert_eq!(subs.count(Kind::Pattern), 2);
        assert_eq!(subs.count(Kind::Shard), 1);
        assert!(subs.active());
    }
}
