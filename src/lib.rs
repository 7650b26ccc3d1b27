//! Redstone: a persistent, Redis-compatible key-value server.
pub mod engine;
pub mod keyspace;
pub mod slot;
