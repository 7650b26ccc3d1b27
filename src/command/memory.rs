//! `MEMORY USAGE`: how many bytes a key takes.
//!
//! Redstone keeps no values in memory, so the answer is an **estimate of
//! what the key occupies in the storage engine**: its meta entry (key and
//! value bytes) plus, for a collection, its members' data entries. Like
//! Redis, a collection is measured by sampling: the first `SAMPLES` members
//! (5 by default, 0 for all) are measured and the average scaled to the
//! member count; a sorted set's score index entries count too. Block compression and the LSM tree's own overhead are not
//! counted.

use super::args::{err, is, parse_i64, CmdResult, ERR_NOT_INTEGER, ERR_SYNTAX};
use super::{Command, Ctx};
use crate::keyspace::KeyType;
use crate::resp::Frame;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[Command::container(
    "memory",
    "server",
    "A container for memory diagnostics commands.",
    MEMORY,
)];

const MEMORY: &[Command] = &[
    Command::new(
        "usage",
        -3,
        &["readonly"],
        (2, 2, 1),
        "server",
        "Estimates the memory usage of a key.",
        usage,
    ),
    Command::help("server", help),
];

/// Members measured when `SAMPLES` is not given (Redis' default).
const DEFAULT_SAMPLES: usize = 5;

/// A meta entry's key: namespace, slot, then the user key.
const META_KEY_OVERHEAD: usize = 6;

fn usage(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut rest = args[3..].iter();
    while let Some(option) = rest.next() {
        match rest.next() {
            Some(count) if is(option, "samples") => {
                let count = parse_i64(count).ok_or_else(|| err(ERR_NOT_INTEGER))?;
                samples = match count {
                    0 => usize::MAX,
                    1.. => usize::try_from(count).unwrap_or(usize::MAX),
                    _ => return Err(err(ERR_SYNTAX)),
                };
            }
            _ => return Err(err(ERR_SYNTAX)),
        }
    }
    let key = &args[2];
    ctx.with_reader(|reader, db| {
        let Some(meta) = reader.meta(db, key)? else {
            return Ok(Frame::Null);
        };
        let mut bytes = META_KEY_OVERHEAD + key.len() + meta.encode().len();
        if meta.is_collection() && meta.size() > 0 {
            let members = reader.members(db, key, &meta);
            let sampled = reader.member_range(&members, None, samples)?;
            // A sorted set also indexes each member by score: one more
            // entry, its key the member's with the score's 8 bytes added.
            let index_entry = |sub: &[u8]| match meta.kind {
                KeyType::ZSet => members.key(sub).len() + 8,
                _ => 0,
            };
            let sampled_bytes: usize = sampled
                .iter()
                .map(|(sub, value)| members.key(sub).len() + value.len() + index_entry(sub))
                .sum();
            let count = sampled.len().max(1) as u128;
            let estimate = sampled_bytes as u128 * u128::from(meta.size()) / count;
            bytes = bytes.saturating_add(usize::try_from(estimate).unwrap_or(usize::MAX));
        }
        Ok(Frame::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)))
    })
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    ))
}
