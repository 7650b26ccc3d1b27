//! Redstone: a persistent, Redis-compatible key-value server. See
//! ARCHITECTURE.md for the map of modules.

pub mod clock;
pub mod cluster;
pub mod command;
pub mod config;
pub mod engine;
pub mod fsutil;
pub mod glob;
pub mod hll;
pub mod keyspace;
pub mod log;
pub mod notify;
pub mod planted;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod resp;
pub mod script;
pub mod sds;
pub mod server;
pub mod session;
pub mod slot;
pub mod sync;

/// The Redis version we answer as in INFO and HELLO: tools compare it.
pub const REDIS_VERSION: &str = "7.0.15";
