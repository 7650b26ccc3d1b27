//! Replication, as pure state: the change feed every commit appends to
//! (what a replica will be streamed).

pub mod feed;

pub use feed::{ChangeFeed, Gap};
