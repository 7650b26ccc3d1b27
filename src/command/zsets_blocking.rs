//! The blocking sorted set commands (Redis 7.0): BZPOPMIN, BZPOPMAX and
//! BZMPOP. Each is its non-blocking twin's step (`zsets::pop`) wrapped in
//! [`blocking::serve_or_block`]: served at once when a key has members,
//! else the client blocks until a key becomes a non-empty sorted set.
//!
//! Redis' order of checks is kept: BZPOPMIN/BZPOPMAX read the timeout
//! first, BZMPOP after its numkeys, MIN|MAX and COUNT.

use super::args::CmdResult;
use super::blocked::Serve;
use super::blocking;
use super::lists_blocking::{MPOP_SPECS, POP_SPECS};
use super::zsets::{mpop_reply, pop, zmpop_args};
use super::{Command, Ctx};
use crate::keyspace::{KeyType, Txn};
use crate::resp::Frame;
use bytes::Bytes;

/// BZPOPMIN and BZPOPMAX: `key [key ...] timeout`.
const fn pop_row(name: &'static str, summary: &'static str, handler: super::Handler) -> Command {
    Command::new(
        name,
        -3,
        &["write", "noscript", "blocking", "fast"],
        (1, -2, 1),
        "sorted-set",
        summary,
        handler,
    )
    .with_key_specs(POP_SPECS)
}

pub const COMMANDS: &[Command] = &[
    pop_row(
        "bzpopmin",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        bzpopmin,
    ),
    pop_row(
        "bzpopmax",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        bzpopmax,
    ),
    Command::new(
        "bzmpop",
        -5,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "sorted-set",
        "Remove and return members with scores in a sorted set or block until one is available",
        bzmpop,
    )
    .with_numkeys(2)
    .with_key_specs(MPOP_SPECS),
];

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    block_pop(ctx, args, serve_bzpopmin)
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    block_pop(ctx, args, serve_bzpopmax)
}

/// BZPOPMIN/BZPOPMAX: `key [key ...] timeout`.
fn block_pop(ctx: &mut Ctx, args: &[Bytes], serve: Serve) -> CmdResult {
    let last = args.len() - 1;
    serve_or_block(ctx, args, &args[1..last], last, serve)
}

/// Serves the command from the first of `keys` that is a sorted set, else
/// blocks on them until the timeout in `args[timeout_at]`.
fn serve_or_block(
    ctx: &mut Ctx,
    args: &[Bytes],
    keys: &[Bytes],
    timeout_at: usize,
    serve: Serve,
) -> CmdResult {
    let deadline = blocking::deadline(&args[timeout_at], crate::clock::monotonic_ms())?;
    let empty = Frame::NullArray;
    blocking::serve_or_block(ctx, args, keys, KeyType::ZSet, deadline, empty, serve)
}

/// The lowest (or highest) member of `key`, answered as `[key, member, score]`.
fn pop_one(txn: &mut Txn, db: usize, key: &Bytes, max: bool) -> Result<Option<Frame>, Frame> {
    let Some(popped) = pop(txn, db, key, max, 1)? else {
        return Ok(None);
    };
    Ok(popped.into_iter().next().map(|(member, score)| {
        Frame::Array(vec![
            Frame::Bulk(key.clone()),
            Frame::Bulk(member),
            Frame::Double(score),
        ])
    }))
}

fn serve_bzpopmin(
    txn: &mut Txn,
    db: usize,
    _: &[Bytes],
    key: &Bytes,
) -> Result<Option<Frame>, Frame> {
    pop_one(txn, db, key, false)
}

fn serve_bzpopmax(
    txn: &mut Txn,
    db: usize,
    _: &[Bytes],
    key: &Bytes,
) -> Result<Option<Frame>, Frame> {
    pop_one(txn, db, key, true)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`.
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, _, _) = zmpop_args(args, 2)?;
    serve_or_block(ctx, args, keys, 1, serve_bzmpop)
}

fn serve_bzmpop(
    txn: &mut Txn,
    db: usize,
    args: &[Bytes],
    key: &Bytes,
) -> Result<Option<Frame>, Frame> {
    let (_, max, count) = zmpop_args(args, 2)?;
    Ok(pop(txn, db, key, max, count)?.map(|popped| mpop_reply(key.clone(), popped)))
}
