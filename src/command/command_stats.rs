//! Per-command counters for `INFO commandstats`: calls, time spent, calls
//! refused before running (`rejected_calls`: a wrong arity, NOAUTH, a
//! cluster redirect, the subscribed mode) and calls that ran and answered an error
//! (`failed_calls`), as Redis keeps them. Commands queued by MULTI count
//! when EXEC runs them.
//!
//! One slot of atomics per table row (subcommands have their own, named
//! `config|get`), laid out once from the command table, so recording is a
//! lookup in an immutable map and a few relaxed additions: no lock on the
//! path every command takes. A wrong arity counts as rejected too, as in
//! Redis; an unknown command has no row to count in.

use super::{table, Resolved};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct CommandStats {
    /// (container name or "", command name) → slot.
    /// Looked up once per call, so foldhash rather than SipHash.
    index: HashMap<(&'static str, &'static str), usize, foldhash::fast::RandomState>,
    slots: Vec<Slot>,
}

struct Slot {
    /// `get`, or `config|get` for a subcommand.
    name: String,
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
}

impl Default for CommandStats {
    fn default() -> CommandStats {
        let mut index = HashMap::default();
        let mut slots = Vec::new();
        let mut add = |parent: &'static str, name: &'static str| {
            index.insert((parent, name), slots.len());
            slots.push(Slot {
                name: if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{parent}|{name}")
                },
                calls: AtomicU64::new(0),
                usec: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            });
        };
        for command in table() {
            add("", command.name);
            for sub in command.subcommands {
                add(command.name, sub.name);
            }
        }
        CommandStats { index, slots }
    }
}

impl CommandStats {
    fn slot(&self, resolved: Resolved) -> Option<&Slot> {
        let parent = resolved.parent.map_or("", |parent| parent.name);
        let index = self.index.get(&(parent, resolved.command.name))?;
        self.slots.get(*index)
    }

    /// A call that ran for `usec` microseconds; `failed` if it answered an error.
    pub fn record_call(&self, resolved: Resolved, usec: u64, failed: bool) {
        if let Some(slot) = self.slot(resolved) {
            slot.calls.fetch_add(1, Ordering::Relaxed);
            slot.usec.fetch_add(usec, Ordering::Relaxed);
            if failed {
                slot.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A blocked call, counted when it blocked, answered an error when it
    /// was woken (its group went, CLIENT UNBLOCK ERROR).
    pub fn record_late_failure(&self, resolved: Resolved) {
        if let Some(slot) = self.slot(resolved) {
            slot.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A call refused before it ran.
    pub fn record_rejected(&self, resolved: Resolved) {
        if let Some(slot) = self.slot(resolved) {
            slot.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        for slot in &self.slots {
            for counter in [&slot.calls, &slot.usec, &slot.rejected, &slot.failed] {
                counter.store(0, Ordering::Relaxed);
            }
        }
    }

    /// `INFO commandstats` lines (`cmdstat_get`, `calls=...`) for every
    /// command called or rejected since the start or the last reset.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut lines: Vec<(String, String)> = self
            .slots
            .iter()
            .filter_map(|slot| {
                let calls = slot.calls.load(Ordering::Relaxed);
                let rejected = slot.rejected.load(Ordering::Relaxed);
                let failed = slot.failed.load(Ordering::Relaxed);
                if calls == 0 && rejected == 0 && failed == 0 {
                    return None;
                }
                let usec = slot.usec.load(Ordering::Relaxed);
                let per_call = if calls == 0 {
                    0.0
                } else {
                    usec as f64 / calls as f64
                };
                Some((
                    format!("cmdstat_{}", slot.name),
                    format!(
                        "calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}"
                    ),
                ))
            })
            .collect();
        lines.sort();
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(name: &[u8]) -> Resolved {
        super::super::resolve(&[bytes::Bytes::copy_from_slice(name)]).expect("a command")
    }

    #[test]
    fn commandstats_list_only_commands_that_were_seen() {
        let stats = CommandStats::default();
        stats.record_call(resolved(b"ping"), 3, false);
        stats.record_call(resolved(b"ping"), 5, true);
        stats.record_rejected(resolved(b"ping"));
        assert_eq!(
            stats.lines(),
            vec![(
                "cmdstat_ping".to_string(),
                "calls=2,usec=8,usec_per_call=4.00,rejected_calls=1,failed_calls=1".to_string()
            )]
        );
    }

    #[test]
    fn commandstats_reset_forgets_everything() {
        let stats = CommandStats::default();
        stats.record_call(resolved(b"ping"), 3, false);
        stats.reset();
        assert!(stats.lines().is_empty());
    }
}
