//! The writes a whole-slot migration must forward: every effect committed
//! since its snapshot that touches one of the slots it moves, encoded as
//! the command the receiver runs. The commit path records into it under
//! the write lock (`commit::apply`), so its order is the commit order; the
//! migration (`server::slot_export`) takes what it holds, a round at a
//! time.
//!
//! MULTI/EXEC are left out: nobody reads the slots on the receiver before
//! the handover, so the commands need not apply as a unit there. A flush
//! (FLUSHALL, FLUSHDB) becomes `CLUSTER IMPORTSLOTS FLUSH`, which empties
//! the slots on the receiver.

use crate::cluster::SlotSet;
use crate::keyspace::Effect;
use crate::replication::write_command;
use crate::slot::key_slot;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

pub struct SlotTap {
    slots: SlotSet,
    /// Encoded commands, oldest first.
    pending: VecDeque<Bytes>,
    /// Their bytes, held against `limit`.
    held: usize,
    limit: usize,
    /// More than `limit` bytes were waiting: the migration cannot catch up.
    overflowed: bool,
}

/// What one [`SlotTap::take`] handed over.
pub struct Taken {
    pub bytes: BytesMut,
    pub commands: usize,
}

impl SlotTap {
    /// A tap of `slots` holding at most `limit` bytes.
    pub fn new(slots: SlotSet, limit: usize) -> SlotTap {
        SlotTap {
            slots,
            pending: VecDeque::new(),
            held: 0,
            limit,
            overflowed: false,
        }
    }

    /// Records what a commit did to the tapped slots.
    pub fn record(&mut self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Command { args, .. } = effect else {
                continue;
            };
            let Some(name) = args.first() else {
                continue;
            };
            let mut out = BytesMut::new();
            if name.eq_ignore_ascii_case(b"flushall") || name.eq_ignore_ascii_case(b"flushdb") {
                write_command(&mut out, [&b"CLUSTER"[..], b"IMPORTSLOTS", b"FLUSH"]);
            } else if self.touches(args) {
                write_command(&mut out, args.iter().map(|a| &a[..]));
            } else {
                continue;
            }
            self.held += out.len();
            self.pending.push_back(out.freeze());
        }
        if self.held > self.limit {
            self.overflowed = true;
            self.pending.clear();
            self.held = 0;
        }
    }

    /// Whether a command's first key is in a tapped slot (in cluster mode
    /// all of a command's keys are in one slot).
    fn touches(&self, args: &[Bytes]) -> bool {
        let Ok(resolved) = super::resolve_name(args) else {
            return false;
        };
        let keys = resolved.command.keys_in(args);
        keys.first()
            .is_some_and(|&at| self.slots.contains(key_slot(&args[at])))
    }

    /// Up to about `budget` bytes of the oldest commands (at least one).
    pub fn take(&mut self, budget: usize) -> Taken {
        let mut taken = Taken {
            bytes: BytesMut::new(),
            commands: 0,
        };
        while let Some(next) = self.pending.front() {
            if taken.commands > 0 && taken.bytes.len() + next.len() > budget {
                break;
            }
            taken.bytes.extend_from_slice(next);
            taken.commands += 1;
            self.held -= next.len();
            self.pending.pop_front();
        }
        taken
    }

    /// The bytes waiting.
    pub fn held(&self) -> usize {
        self.held
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap_of(slots: &[u16], limit: usize) -> SlotTap {
        let mut set = SlotSet::new();
        for &slot in slots {
            set.insert(slot);
        }
        SlotTap::new(set, limit)
    }

    fn command(words: &[&str]) -> Effect {
        Effect::Command {
            db: 0,
            args: words.iter().map(|w| Bytes::from(w.to_string())).collect(),
        }
    }

    fn text(taken: &Taken) -> String {
        String::from_utf8_lossy(&taken.bytes).into_owned()
    }

    #[test]
    fn keeps_the_commands_of_its_slots_in_order_and_drops_the_rest() {
        let foo = key_slot(b"foo");
        let mut tap = tap_of(&[foo], 1 << 20);
        assert_ne!(key_slot(b"bar"), foo);
        tap.record(&[
            Effect::Multi,
            command(&["SET", "foo", "1"]),
            command(&["SET", "bar", "2"]),
            command(&["PUBLISH", "foo", "x"]),
            command(&["DEL", "{foo}.b", "foo"]),
            Effect::Exec,
        ]);
        let taken = tap.take(1 << 20);
        assert_eq!(taken.commands, 2);
        assert_eq!(
            text(&taken),
            "*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$1\r\n1\r\n*3\r\n$3\r\nDEL\r\n$7\r\n{foo}.b\r\n$3\r\nfoo\r\n"
        );
        assert_eq!(tap.held(), 0);
        assert_eq!(tap.take(1 << 20).commands, 0);
    }

    #[test]
    fn a_flush_empties_the_slots_on_the_receiver() {
        let mut tap = tap_of(&[1], 1 << 20);
        tap.record(&[command(&["FLUSHALL"]), command(&["flushdb", "ASYNC"])]);
        let taken = tap.take(1 << 20);
        assert_eq!(taken.commands, 2);
        assert_eq!(
            text(&taken).matches("IMPORTSLOTS\r\n$5\r\nFLUSH").count(),
            2,
            "{}",
            text(&taken)
        );
    }

    #[test]
    fn take_hands_over_whole_commands_within_the_budget() {
        let mut tap = tap_of(&[key_slot(b"k")], 1 << 20);
        for n in 0..10 {
            tap.record(&[command(&["SET", "k", &n.to_string()])]);
        }
        let one = tap.held() / 10;
        let taken = tap.take(one * 3 + 1);
        assert_eq!((taken.commands, taken.bytes.len()), (3, one * 3));
        // At least one command, whatever the budget.
        assert_eq!(tap.take(0).commands, 1);
        assert_eq!(tap.held(), one * 6);
    }

    #[test]
    fn more_than_its_limit_overflows_and_keeps_nothing() {
        let mut tap = tap_of(&[key_slot(b"k")], 100);
        tap.record(&[command(&["SET", "k", "small"])]);
        assert!(!tap.overflowed());
        tap.record(&[command(&["SET", "k", &"v".repeat(100)])]);
        assert!(tap.overflowed());
        assert_eq!(tap.held(), 0);
    }
}
