//! Redis data types encoded onto the [`crate::engine`] (DESIGN.md §3).
//!
//! Invariant: the key counts and the expire index always agree with the meta
//! partition, because every change to a key goes through [`store::Txn`].

pub mod blocking;
mod bulk;
pub mod collection;
mod directory;
pub mod effect;
pub mod encoding;
pub mod snapshot;
pub mod store;
pub mod watch;
mod write_lock;

pub use bulk::{BulkStrings, Ingestion};
pub use collection::{KeyRead, Members, Span, StoreRead};
pub use effect::Effect;
pub use encoding::{Header, KeyType, Meta};
pub use snapshot::{Snapshot, ALL_SLOTS};
pub use store::{ExpireCycle, KeyCounts, Origin, Staged, Store, Txn};

#[cfg(test)]
mod collection_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
