//! Blocked clients by key (Redis' `blocking_keys` and `ready_keys`): which
//! clients wait for which (db, key), in the order they blocked, and the
//! keys that changed since their waiters were last looked at.
//!
//! [`super::Txn`] commits report the keys whose metadata they wrote here,
//! under the store's write lock and after the engine write (like WATCH):
//! a key with waiters joins the ready list, in signal order. The committer,
//! still holding the write lock, then serves the waiters of each ready key
//! in the order they blocked (`command::blocking::serve_ready`), like Redis
//! does after every command: nobody can take an element between the push
//! and the serve, and a serve that pushes elsewhere (BLMOVE) signals that
//! key in turn.
//!
//! Leaving is one decision under this registry's lock ([`BlockingKeys::unblock`]):
//! whoever removes a client first (the serve, its timeout, CLIENT UNBLOCK,
//! a disconnect) answers it, so a client gets exactly one reply and an
//! element goes to one client only.
//!
//! What "serve" means (pop a list, pop a sorted set) is the command's
//! business: this module knows keys and client ids only. No clock, no I/O.

use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A key in one logical database.
pub type DbKey = (usize, Bytes);

#[derive(Default)]
struct Inner {
    /// (db, key) → blocked clients, longest-blocked first.
    queues: HashMap<DbKey, VecDeque<u64>>,
    /// Client → the keys it waits for, and whether it has a timeout.
    clients: HashMap<u64, (Vec<DbKey>, bool)>,
    /// Keys signalled since they were last served, in signal order.
    ready: VecDeque<DbKey>,
}

#[derive(Default)]
pub struct BlockingKeys {
    /// Number of blocked clients: 0 keeps commits off the lock.
    blocked: AtomicUsize,
    /// How many of them have a timeout.
    timed: AtomicUsize,
    /// Length of the ready list: 0 lets committers skip serving.
    ready: AtomicUsize,
    inner: Mutex<Inner>,
}

impl BlockingKeys {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// Whether any client is blocked.
    pub fn active(&self) -> bool {
        self.blocked.load(Ordering::Acquire) > 0
    }

    /// Whether some key was signalled and not served yet.
    pub fn has_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) > 0
    }

    /// INFO's `blocked_clients`.
    pub fn count(&self) -> usize {
        self.blocked.load(Ordering::Acquire)
    }

    /// INFO's `clients_in_timeout_table`: blocked clients with a timeout.
    pub fn timed(&self) -> usize {
        self.timed.load(Ordering::Acquire)
    }

    /// Blocks `client` on `keys` (duplicates count once), `timed` if it has
    /// a timeout. Call it under the store's write lock, after finding every
    /// key empty: a commit after that sees the registration.
    pub fn block(&self, client: u64, keys: impl IntoIterator<Item = DbKey>, timed: bool) {
        let mut inner = self.lock();
        let mut unique: Vec<DbKey> = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        for key in &unique {
            inner
                .queues
                .entry(key.clone())
                .or_default()
                .push_back(client);
        }
        let previous = inner.clients.insert(client, (unique, timed));
        debug_assert!(previous.is_none(), "client {client} blocked twice");
        if previous.is_none() {
            self.blocked.fetch_add(1, Ordering::AcqRel);
            self.timed.fetch_add(usize::from(timed), Ordering::AcqRel);
        }
    }

    /// A commit changed these keys (and emptied or swapped the databases in
    /// `remapped`): those with waiters join the ready list.
    pub fn signal<'k>(
        &self,
        keys: impl IntoIterator<Item = (usize, &'k [u8])>,
        remapped: &HashSet<usize>,
    ) {
        let mut inner = self.lock();
        let mut signalled: Vec<DbKey> = Vec::new();
        if !remapped.is_empty() {
            signalled.extend(
                inner
                    .queues
                    .keys()
                    .filter(|(db, _)| remapped.contains(db))
                    .cloned(),
            );
        }
        for (db, key) in keys {
            let key = (db, Bytes::copy_from_slice(key));
            if inner.queues.contains_key(&key) {
                signalled.push(key);
            }
        }
        for key in signalled {
            if !inner.ready.contains(&key) {
                inner.ready.push_back(key);
            }
        }
        self.ready.store(inner.ready.len(), Ordering::Release);
    }

    /// The next ready key, and its waiters in the order they blocked.
    pub fn next_ready(&self) -> Option<(DbKey, Vec<u64>)> {
        // Keys are signalled under the store's write lock, which whoever
        // serves holds: the count is exact, and most commits stop here.
        if !self.has_ready() {
            return None;
        }
        let mut inner = self.lock();
        while let Some(key) = inner.ready.pop_front() {
            self.ready.store(inner.ready.len(), Ordering::Release);
            if let Some(queue) = inner.queues.get(&key) {
                let waiters = queue.iter().copied().collect();
                return Some((key, waiters));
            }
        }
        None
    }

    /// Takes `client` out of every queue. True for the one caller that
    /// found it blocked: that caller answers it.
    pub fn unblock(&self, client: u64) -> bool {
        let mut inner = self.lock();
        let Some((keys, timed)) = inner.clients.remove(&client) else {
            return false;
        };
        self.blocked.fetch_sub(1, Ordering::AcqRel);
        self.timed.fetch_sub(usize::from(timed), Ordering::AcqRel);
        for key in &keys {
            if let Some(queue) = inner.queues.get_mut(key) {
                queue.retain(|&id| id != client);
                if queue.is_empty() {
                    inner.queues.remove(key);
                }
            }
        }
        true
    }

    pub fn is_blocked(&self, client: u64) -> bool {
        self.lock().clients.contains_key(&client)
    }

    /// Whether any client waits for `key`.
    #[cfg(test)]
    pub fn is_waited(&self, key: &DbKey) -> bool {
        self.lock().queues.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &'static str) -> DbKey {
        (0, Bytes::from_static(name.as_bytes()))
    }

    fn signal(b: &BlockingKeys, name: &str) {
        b.signal([(0, name.as_bytes())], &HashSet::new());
    }

    #[test]
    fn ready_keys_come_in_signal_order_with_waiters_in_blocking_order() {
        let b = BlockingKeys::default();
        b.block(1, [key("a"), key("b")], false);
        b.block(2, [key("b")], true);
        b.block(3, [key("a")], false);
        assert_eq!((b.count(), b.timed()), (3, 1));
        assert!(!b.has_ready());
        signal(&b, "b");
        signal(&b, "a");
        signal(&b, "b");
        assert!(b.has_ready());
        assert_eq!(b.next_ready(), Some((key("b"), vec![1, 2])));
        assert_eq!(b.next_ready(), Some((key("a"), vec![1, 3])));
        assert_eq!(b.next_ready(), None);
        assert!(!b.has_ready());
    }

    #[test]
    fn signals_of_keys_without_waiters_are_dropped() {
        let b = BlockingKeys::default();
        b.block(1, [key("k")], false);
        b.signal([(1, &b"k"[..]), (0, &b"other"[..])], &HashSet::new());
        assert_eq!(b.next_ready(), None);
        // A flushed or swapped database makes every waited key ready.
        b.signal(std::iter::empty(), &HashSet::from([0]));
        assert_eq!(b.next_ready(), Some((key("k"), vec![1])));
        // A key whose waiters left before it was served is skipped.
        signal(&b, "k");
        assert!(b.unblock(1));
        assert_eq!(b.next_ready(), None);
    }

    #[test]
    fn only_the_first_unblock_wins() {
        let b = BlockingKeys::default();
        b.block(7, [key("k"), key("k")], true);
        assert!(b.is_blocked(7));
        assert!(b.unblock(7));
        assert!(!b.unblock(7), "served, timed out or unblocked once");
        assert!(!b.is_blocked(7));
        assert!(!b.active());
        assert_eq!((b.count(), b.timed()), (0, 0));
        signal(&b, "k");
        assert_eq!(b.next_ready(), None);
    }
}
