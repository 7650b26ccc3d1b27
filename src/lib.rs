//! Redstone: a persistent, Redis-compatible key-value server.
pub mod engine;
