//! WATCH bookkeeping: which clients watch which (db, key), and a dirty flag
//! per watching client that any committed change to one of its keys sets.
//!
//! [`super::Txn::commit`] reports the keys it changed here, under the store's
//! write lock and after the engine write, so a client that checks its flag
//! while holding the write lock (EXEC) sees every earlier commit. When nobody
//! watches, a commit pays one atomic load.

use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A watching client's flag: set once a watched key changed.
pub type Dirty = Arc<AtomicBool>;

#[derive(Default)]
struct Inner {
    /// (db, key) → client id → that client's flag.
    keys: HashMap<(usize, Bytes), HashMap<u64, Dirty>>,
}

#[derive(Default)]
pub struct Watches {
    /// Number of watched (db, key) entries: 0 keeps commits off the lock.
    active: AtomicUsize,
    inner: Mutex<Inner>,
}

impl Watches {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// Whether anybody watches anything.
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire) > 0
    }

    pub fn watch(&self, client: u64, dirty: &Dirty, db: usize, key: Bytes) {
        let mut inner = self.lock();
        let clients = inner.keys.entry((db, key)).or_default();
        if clients.is_empty() {
            self.active.fetch_add(1, Ordering::AcqRel);
        }
        clients.insert(client, dirty.clone());
    }

    /// Forgets `client`'s watches of `keys`.
    pub fn unwatch<'k>(&self, client: u64, keys: impl IntoIterator<Item = &'k (usize, Bytes)>) {
        let mut inner = self.lock();
        for key in keys {
            if let Some(clients) = inner.keys.get_mut(key) {
                clients.remove(&client);
                if clients.is_empty() {
                    inner.keys.remove(key);
                    self.active.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
    }

    /// Marks the watchers of the changed keys dirty, and for the databases
    /// in `remapped` (flushed or swapped) those of every key `existed` says
    /// was there before or is there now (Redis' `touchAllWatchedKeysInDb`).
    pub fn touch<'k>(
        &self,
        keys: impl IntoIterator<Item = (usize, &'k [u8])>,
        remapped: &HashSet<usize>,
        existed: impl Fn(usize, &[u8]) -> bool,
    ) {
        let inner = self.lock();
        if !remapped.is_empty() {
            for ((db, key), clients) in &inner.keys {
                if remapped.contains(db) && existed(*db, key) {
                    mark(clients);
                }
            }
        }
        for (db, key) in keys {
            // Look up without allocating the key.
            if let Some(clients) = inner.keys.get(&(db, Bytes::copy_from_slice(key))) {
                mark(clients);
            }
        }
    }

    /// The watched keys of the databases in `dbs`.
    pub fn keys_of(&self, dbs: &HashSet<usize>) -> Vec<(usize, Bytes)> {
        self.lock()
            .keys
            .keys()
            .filter(|(db, _)| dbs.contains(db))
            .cloned()
            .collect()
    }

    #[cfg(test)]
    pub fn watched_keys(&self) -> usize {
        self.lock().keys.len()
    }
}

fn mark(clients: &HashMap<u64, Dirty>) {
    for dirty in clients.values() {
        dirty.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag() -> Dirty {
        Arc::new(AtomicBool::new(false))
    }

    #[test]
    fn touch_marks_only_the_watchers_of_the_key() {
        let w = Watches::default();
        assert!(!w.active());
        let (a, b) = (flag(), flag());
        w.watch(1, &a, 0, Bytes::from_static(b"k"));
        w.watch(2, &b, 0, Bytes::from_static(b"other"));
        assert!(w.active());
        w.touch([(1, &b"k"[..])], &HashSet::new(), |_, _| true);
        assert!(!a.load(Ordering::Acquire), "same key, other db");
        w.touch([(0, &b"k"[..])], &HashSet::new(), |_, _| true);
        assert!(a.load(Ordering::Acquire));
        assert!(!b.load(Ordering::Acquire));
    }

    #[test]
    fn touching_a_database_marks_all_its_watchers() {
        let w = Watches::default();
        let (a, b) = (flag(), flag());
        w.watch(1, &a, 3, Bytes::from_static(b"x"));
        w.watch(2, &b, 4, Bytes::from_static(b"y"));
        w.touch(std::iter::empty(), &HashSet::from([3]), |_, _| false);
        assert!(!a.load(Ordering::Acquire), "the key did not exist");
        w.touch(std::iter::empty(), &HashSet::from([3]), |_, key| {
            key == b"x"
        });
        assert!(a.load(Ordering::Acquire));
        assert!(!b.load(Ordering::Acquire));
    }

    #[test]
    fn unwatch_removes_entries_and_deactivates() {
        let w = Watches::default();
        let (a, b) = (flag(), flag());
        let k = (0, Bytes::from_static(b"k"));
        w.watch(1, &a, 0, k.1.clone());
        w.watch(2, &b, 0, k.1.clone());
        w.watch(1, &a, 0, k.1.clone());
        assert_eq!(w.watched_keys(), 1);
        w.unwatch(1, [&k]);
        assert!(w.active());
        w.touch([(0, &b"k"[..])], &HashSet::new(), |_, _| true);
        assert!(!a.load(Ordering::Acquire), "unwatched");
        assert!(b.load(Ordering::Acquire));
        w.unwatch(2, [&k]);
        assert!(!w.active());
        assert_eq!(w.watched_keys(), 0);
        // Unwatching what is not watched is harmless.
        w.unwatch(2, [&k]);
        assert!(!w.active());
    }
}
