//! The blocking list commands (Redis 7.0): BLPOP, BRPOP, BLMPOP, BLMOVE and
//! BRPOPLPUSH. Each is its non-blocking twin's step (`lists.rs`) wrapped in
//! [`blocking::serve_or_block`]: served at once when a key has elements,
//! else the client blocks until a key becomes a non-empty list.
//!
//! Redis' order of checks is kept: BLPOP/BRPOP and BLMPOP read the timeout
//! before looking at keys (BLMPOP after its numkeys, side and COUNT), BLMOVE
//! after its sides; a missing source blocks BLMOVE whatever the
//! destination, and a destination of another type found when it is served
//! answers WRONGTYPE and leaves the element where it was.

use super::args::CmdResult;
use super::blocked::Serve;
use super::blocking;
use super::lists::{move_list, mpop_args, mpop_reply, pop_list, side, MOVE_SPECS};
use super::{Command, Ctx, FindKeys, KeySpec};
use crate::keyspace::{KeyType, Txn};
use crate::resp::Frame;
use bytes::Bytes;

/// BLMPOP's and BZMPOP's keys: `timeout numkeys key [key ...] ...`.
pub(super) const MPOP_SPECS: &[KeySpec] = &[KeySpec {
    flags: &["RW", "access", "delete"],
    index: 2,
    find: FindKeys::Keynum {
        keynumidx: 0,
        firstkey: 1,
        step: 1,
    },
    notes: "",
}];

/// BLPOP's, BRPOP's, BZPOPMIN's and BZPOPMAX's keys: all but the timeout.
pub(super) const POP_SPECS: &[KeySpec] = &[KeySpec::range(&["RW", "access", "delete"], 1, -2)];

/// BLPOP and BRPOP: `key [key ...] timeout`.
const fn pop_row(name: &'static str, summary: &'static str, handler: super::Handler) -> Command {
    Command::new(
        name,
        -3,
        &["write", "noscript", "blocking"],
        (1, -2, 1),
        "list",
        summary,
        handler,
    )
    .with_key_specs(POP_SPECS)
}

/// BLMOVE and BRPOPLPUSH: `source destination ... timeout`.
const fn move_row(name: &'static str, arity: i32, handler: super::Handler) -> Command {
    Command::new(
        name,
        arity,
        &["write", "denyoom", "noscript", "blocking"],
        (1, 2, 1),
        "list",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        handler,
    )
    .with_key_specs(MOVE_SPECS)
}

pub const COMMANDS: &[Command] = &[
    pop_row(
        "blpop",
        "Remove and get the first element in a list, or block until one is available",
        blpop,
    ),
    pop_row(
        "brpop",
        "Remove and get the last element in a list, or block until one is available",
        brpop,
    ),
    Command::new(
        "blmpop",
        -5,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "list",
        "Pop elements from a list, or block until one is available",
        blmpop,
    )
    .with_numkeys(2)
    .with_key_specs(MPOP_SPECS),
    move_row("blmove", 6, blmove),
    move_row("brpoplpush", 4, brpoplpush),
];

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    block_pop(ctx, args, serve_blpop)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    block_pop(ctx, args, serve_brpop)
}

/// BLPOP/BRPOP: `key [key ...] timeout`.
fn block_pop(ctx: &mut Ctx, args: &[Bytes], serve: Serve) -> CmdResult {
    let last = args.len() - 1;
    serve_or_block(ctx, args, &args[1..last], last, Frame::NullArray, serve)
}

/// Serves the command from the first of `keys` that is a list, else blocks
/// on them until the timeout in `args[timeout_at]`; `empty` is the reply
/// inside MULTI/EXEC.
fn serve_or_block(
    ctx: &mut Ctx,
    args: &[Bytes],
    keys: &[Bytes],
    timeout_at: usize,
    empty: Frame,
    serve: Serve,
) -> CmdResult {
    let deadline = blocking::deadline(&args[timeout_at], crate::clock::monotonic_ms())?;
    blocking::serve_or_block(ctx, args, keys, KeyType::List, deadline, empty, serve)
}

/// One element from one end of `key`, answered as `[key, element]`.
fn pop_one(txn: &mut Txn, db: usize, key: &Bytes, left: bool) -> Result<Option<Frame>, Frame> {
    Ok(pop_list(txn, db, key, left, 1)?.map(|items| {
        let mut reply = vec![Frame::Bulk(key.clone())];
        reply.extend(items.into_iter().map(Frame::Bulk));
        Frame::Array(reply)
    }))
}

fn serve_blpop(txn: &mut Txn, db: usize, _: &[Bytes], key: &Bytes) -> Result<Option<Frame>, Frame> {
    pop_one(txn, db, key, true)
}

fn serve_brpop(txn: &mut Txn, db: usize, _: &[Bytes], key: &Bytes) -> Result<Option<Frame>, Frame> {
    pop_one(txn, db, key, false)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, _, _) = mpop_args(args, 2)?;
    serve_or_block(ctx, args, keys, 1, Frame::NullArray, serve_blmpop)
}

fn serve_blmpop(
    txn: &mut Txn,
    db: usize,
    args: &[Bytes],
    key: &Bytes,
) -> Result<Option<Frame>, Frame> {
    let (_, left, count) = mpop_args(args, 2)?;
    Ok(pop_list(txn, db, key, left, count)?.map(|items| mpop_reply(key, items)))
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`.
fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    side(&args[3])?;
    side(&args[4])?;
    block_move(ctx, args, 5, serve_blmove)
}

/// `BRPOPLPUSH source destination timeout`.
fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    block_move(ctx, args, 3, serve_brpoplpush)
}

fn block_move(ctx: &mut Ctx, args: &[Bytes], timeout_at: usize, serve: Serve) -> CmdResult {
    serve_or_block(ctx, args, &args[1..2], timeout_at, Frame::Null, serve)
}

fn serve_blmove(
    txn: &mut Txn,
    db: usize,
    args: &[Bytes],
    _: &Bytes,
) -> Result<Option<Frame>, Frame> {
    let (from_left, to_left) = (side(&args[3])?, side(&args[4])?);
    Ok(move_list(txn, db, &args[1], &args[2], from_left, to_left)?.map(Frame::Bulk))
}

fn serve_brpoplpush(
    txn: &mut Txn,
    db: usize,
    args: &[Bytes],
    _: &Bytes,
) -> Result<Option<Frame>, Frame> {
    Ok(move_list(txn, db, &args[1], &args[2], false, true)?.map(Frame::Bulk))
}
