//! Lock acquisition that ignores poisoning, for every module's locks, and
//! the watch channel every module uses.
//!
//! A panic while a lock is held is a bug, but it must stay one connection's
//! bug: if the lock stayed poisoned, every later client touching the same
//! table (the client list, a pub/sub registry, the store's counts) would
//! panic too and the server would be as good as down. Everything behind
//! these locks is changed in steps that leave it usable, so the value is
//! taken as it is. A leaf, so that every layer can use the one rule.

#[cfg(any(madsim, test))]
pub mod ordered_watch;
/// The watch channel every module uses: tokio's, or under madsim one that
/// wakes in a fixed order (see `ordered_watch`).
#[cfg(madsim)]
pub use ordered_watch as watch;
#[cfg(not(madsim))]
pub use tokio::sync::watch;

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, taking the value even if a panicking holder poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Read-locks `rwlock`, taking the value even if it is poisoned.
pub fn read<T>(rwlock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    rwlock
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Write-locks `rwlock`, taking the value even if it is poisoned.
pub fn write<T>(rwlock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    rwlock
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
