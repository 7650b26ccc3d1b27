//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0).
//!
//! After MULTI a client's commands are queued (`command::execute` calls
//! [`queue`]); errors found at queue time (unknown command, arity, NOAUTH,
//! cluster redirects) flag the transaction and EXEC refuses it. EXEC runs the
//! queued commands in the connection's write transaction, which holds the
//! store's write lock from before the WATCH check to the connection's commit
//! after the batch: no other write comes in between, reads see the
//! transaction's own writes, and the writes are acknowledged once durable
//! like any other batch. Each command keeps its savepoint, so a run-time
//! error undoes that command only.
//!
//! WATCH registers (db, key) in `Store::watches`; every commit that changes
//! a watched key (or flushes/swaps its database) sets the watcher's dirty
//! flag. EXEC checks the flag while holding the write lock.

use super::args::{err, CmdResult};
use super::multi::Multi;
use super::{cluster, Command, Ctx, KeySpec, Resolved};
use crate::resp::Frame;
use bytes::Bytes;
use std::sync::atomic::Ordering;

const FLAGS: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];

pub static COMMANDS: &[Command] = &[
    Command::new(
        "multi",
        1,
        FLAGS,
        (0, 0, 0),
        "transactions",
        "Mark the start of a transaction block",
        multi,
    ),
    Command::new(
        "exec",
        1,
        &["noscript", "loading", "stale", "skip_slowlog"],
        (0, 0, 0),
        "transactions",
        "Execute all commands issued after MULTI",
        exec,
    ),
    Command::new(
        "discard",
        1,
        FLAGS,
        (0, 0, 0),
        "transactions",
        "Discard all commands issued after MULTI",
        discard,
    ),
    Command::new(
        "watch",
        -2,
        FLAGS,
        (1, -1, 1),
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        watch,
    )
    .with_key_specs(&[KeySpec::range(&["RO"], 1, -1)]),
    Command::new(
        "unwatch",
        1,
        FLAGS,
        (0, 0, 0),
        "transactions",
        "Forget about all watched keys",
        unwatch,
    ),
];

/// An error reply for a command refused before it ran: inside MULTI it
/// also dooms the transaction.
pub fn reject(ctx: &mut Ctx, reply: Frame) -> Frame {
    if let Some(multi) = ctx.client.multi.as_mut() {
        multi.failed = true;
    }
    reply
}

/// EXEC refused before it ran (BUSY, MASTERDOWN, a cluster refusal ...):
/// the transaction is discarded and the reason given, as Redis'
/// `execCommandAbort` does.
pub fn abort_exec(ctx: &mut Ctx, refusal: Frame) -> Frame {
    ctx.client.multi = None;
    unwatch_all(ctx.shared, ctx.client);
    let Frame::Error(text) = refusal else {
        return refusal;
    };
    err(format!(
        "EXECABORT Transaction discarded because of: {}",
        String::from_utf8_lossy(&text)
    ))
}

/// Inside MULTI, queues every command but the ones that act on the
/// transaction itself, and returns `+QUEUED`.
pub fn queue(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> Option<Frame> {
    let multi = ctx.client.multi.as_mut()?;
    let name = resolved.parent.unwrap_or(resolved.command).name;
    if matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) {
        return None;
    }
    multi.queued.push(args.to_vec());
    Some(Frame::simple("QUEUED"))
}

fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(err("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Multi::default());
    Ok(Frame::ok())
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(err("ERR DISCARD without MULTI"));
    }
    unwatch_all(ctx.shared, ctx.client);
    Ok(Frame::ok())
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let Some(multi) = ctx.client.multi.take() else {
        return Err(err("ERR EXEC without MULTI"));
    };
    if multi.failed {
        unwatch_all(ctx.shared, ctx.client);
        return Err(err(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if let Err(reply) = route_all(ctx, &multi.queued) {
        unwatch_all(ctx.shared, ctx.client);
        return Err(reply);
    }
    // Take the write lock for the whole transaction. Writes this batch made
    // before EXEC are committed first, so that they count as changes to
    // the watched keys (as this client's own writes do in Redis).
    let (shared, now_ms) = (ctx.shared, ctx.now_ms);
    let txn = ctx.txn.get_or_insert_with(|| shared.store.begin(now_ms));
    match super::commit::commit_within_exec(shared, txn) {
        Ok(wrote) => ctx.client.wrote |= wrote,
        Err(e) => {
            *ctx.txn = None;
            unwatch_all(ctx.shared, ctx.client);
            return Err(e.into());
        }
    }
    let aborted = watched_changed(ctx);
    unwatch_all(ctx.shared, ctx.client);
    if aborted {
        return Ok(Frame::NullArray);
    }
    let current = ctx.client.current;
    ctx.client.in_exec = true;
    // The effects of the queued commands reach replicas as one unit.
    if let Some(txn) = ctx.txn.as_mut() {
        txn.begin_atomic();
    }
    let mut replies = Vec::with_capacity(multi.queued.len());
    for args in &multi.queued {
        let reply = super::execute(ctx, args);
        // Subscription confirmations beyond the first go in line.
        replies.append(&mut ctx.client.extra_replies);
        replies.push(reply);
    }
    if let Some(txn) = ctx.txn.as_mut() {
        txn.end_atomic();
    }
    ctx.client.in_exec = false;
    ctx.client.current = current;
    Ok(Frame::Array(replies))
}

/// Whether a watched key changed since WATCH: a commit touched it, or it
/// has expired since (Redis 7.0 `isWatchedKeyExpired`).
fn watched_changed(ctx: &Ctx) -> bool {
    let watch = &ctx.client.watch;
    watch.dirty.load(Ordering::Acquire)
        || watch
            .keys
            .values()
            .any(|&expire_at| expire_at != 0 && expire_at <= ctx.now_ms)
}

/// In cluster mode the queued commands must still be served here, and all
/// their keys must hash to one slot (Redis checks the whole transaction at
/// EXEC).
fn route_all(ctx: &mut Ctx, queued: &[Vec<Bytes>]) -> Result<(), Frame> {
    if ctx.shared.cluster.is_none() {
        return Ok(());
    }
    let mut slot = None;
    for args in queued {
        let Ok(resolved) = super::resolve(args) else {
            continue;
        };
        cluster::route(ctx, resolved, args)?;
        for position in resolved.command.keys_in(args) {
            let key_slot = crate::slot::key_slot(&args[position]);
            match slot {
                Some(first) if first != key_slot => {
                    return Err(err("CROSSSLOT Keys in request don't hash to the same slot"));
                }
                _ => slot = Some(key_slot),
            }
        }
    }
    Ok(())
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(err("ERR WATCH inside MULTI is not allowed"));
    }
    // Earlier writes of this batch happened before the WATCH.
    let store = ctx.commit_pending()?;
    let db = ctx.client.db;
    for key in &args[1..] {
        let entry = (db, key.clone());
        if ctx.client.watch.keys.contains_key(&entry) {
            continue;
        }
        // Registered before the read: a change in between flags the watch
        // (a spurious abort at worst, never a missed change).
        store.watches.watch(
            ctx.client.handle.id,
            &ctx.client.watch.dirty,
            db,
            key.clone(),
        );
        let expire_at = store
            .get(db, key, ctx.now_ms)?
            .map_or(0, |meta| meta.expire_at);
        ctx.client.watch.keys.insert(entry, expire_at);
    }
    Ok(Frame::ok())
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.shared, ctx.client);
    Ok(Frame::ok())
}

/// Forgets every watched key and clears the dirty flag.
pub fn unwatch_all(shared: &super::Shared, client: &mut super::Client) {
    let watch = &mut client.watch;
    if !watch.keys.is_empty() {
        shared
            .store
            .watches
            .unwatch(client.handle.id, watch.keys.keys());
        watch.keys.clear();
    }
    watch.dirty.store(false, Ordering::Release);
}

/// RESET and disconnect: the transaction is discarded, the keys unwatched.
pub fn reset(shared: &super::Shared, client: &mut super::Client) {
    client.multi = None;
    unwatch_all(shared, client);
}
