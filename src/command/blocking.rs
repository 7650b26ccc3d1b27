//! Blocking commands, the generic part: a command that finds none of its
//! keys ready blocks the client on them (`keyspace::blocking` keeps the
//! queues, `blocked::BlockedClients` the commands), and the connection waits for
//! its reply or its deadline. Whoever commits a change that makes a waited
//! key ready serves the waiters right away, still holding the write lock
//! (`command::commit::serve_ready`), with each command's own `Serve` step,
//! in the order they blocked, and hands each its reply: as in Redis, the
//! pusher's next command already sees them served, and nobody can take an
//! element in between. The list commands are in `lists_blocking.rs`; a
//! sorted set's BZPOPMIN needs only its own `Serve` and a table row.
//!
//! As in Redis 7.0: inside MULTI/EXEC a blocking command answers at once
//! (nil when nothing is ready) and the waiters are served after EXEC; a
//! blocked client runs no further command until it is answered (served,
//! timed out, CLIENT UNBLOCK); a key that becomes ready with another type
//! leaves it blocked.

use super::args::{err, is, parse_f64, CmdResult};
use super::blocked::{Blocked, Serve, Waiting};
use super::{Client, Ctx, Shared};
use crate::keyspace::KeyType;
use crate::resp::Frame;
use crate::sync::lock;
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The reply of a blocked command that timed out (Redis 7.0 answers a null
/// array for lists and sorted sets alike).
const TIMED_OUT: Frame = Frame::NullArray;
const ERR_UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// A blocking command's timeout (seconds, sub-second precision) as Redis
/// 7.0.15 reads it: the deadline on the monotonic clock
/// (`clock::monotonic_ms`, so that setting the time of day moves no
/// timeout), `None` for 0 (forever).
/// Milliseconds are rounded up; like Redis' cast to `long long`, a value
/// beyond its range counts as negative, and a deadline past it as never.
pub fn deadline(arg: &[u8], now_ms: u64) -> Result<Option<u64>, Frame> {
    let seconds =
        parse_f64(arg).ok_or_else(|| err("ERR timeout is not a float or out of range"))?;
    let ms = (seconds * 1000.0).ceil();
    // `i64::MAX as f64` is 2^63, the first value out of range.
    if !(0.0..i64::MAX as f64).contains(&ms) {
        return Err(err("ERR timeout is negative"));
    }
    let ms = ms as u64;
    if ms == 0 {
        return Ok(None);
    }
    Ok(now_ms.checked_add(ms).filter(|&at| at <= i64::MAX as u64))
}

/// Runs a blocking command: serves it from the first of `keys` that can
/// serve it, else inside MULTI/EXEC answers `empty`, else blocks the client
/// on all of `keys` until `deadline_ms`. While blocked, the reply returned
/// here is not sent.
pub fn serve_or_block(
    ctx: &mut Ctx,
    args: &[Bytes],
    keys: &[Bytes],
    kind: KeyType,
    deadline_ms: Option<u64>,
    empty: Frame,
    serve: Serve,
) -> CmdResult {
    let served = ctx.write(|txn, db| {
        for key in keys {
            if let Some(reply) = serve(txn, db, args, key)? {
                return Ok(Some(reply));
            }
        }
        Ok(None)
    })?;
    if let Some(reply) = served {
        return Ok(reply);
    }
    if ctx.client.in_exec {
        return Ok(empty);
    }
    // Still under the write lock (`ctx.write` opened the batch's
    // transaction): a push committed after this sees the registration.
    let (id, db) = (ctx.client.id(), ctx.client.db);
    let waiting = Arc::new(Waiting {
        args: args.to_vec(),
        kind,
        serve,
        reply: Mutex::new(None),
        wake: Notify::new(),
    });
    lock(&ctx.shared.blocked.waiting).insert(id, waiting.clone());
    ctx.shared.store.blocking.block(
        id,
        keys.iter().map(|key| (db, key.clone())),
        deadline_ms.is_some(),
    );
    ctx.client.blocked = Some(Blocked {
        waiting,
        deadline_ms,
    });
    ctx.client.info().blocked = true;
    Ok(Frame::Null)
}

/// The blocked client's reply, once it has one: it is not blocked any
/// more. A reply to a serve acknowledges a write (`Client::wrote`).
pub fn take_reply(shared: &Shared, client: &mut Client) -> Option<Frame> {
    let (reply, wrote) = lock(&client.blocked.as_ref()?.waiting.reply).take()?;
    client.wrote |= wrote;
    forget(shared, client);
    Some(reply)
}

/// The deadline passed: answers the timeout, unless the client was
/// answered first.
pub fn time_out(shared: &Shared, client: &Client) {
    if let Some(blocked) = &client.blocked {
        if shared.store.blocking.unblock(client.id()) {
            blocked.waiting.answer(TIMED_OUT, false);
        }
    }
}

/// The client is answered or gone: out of the registries.
pub fn forget(shared: &Shared, client: &mut Client) {
    if client.blocked.take().is_some() {
        shared.store.blocking.unblock(client.id());
        lock(&shared.blocked.waiting).remove(&client.id());
        client.info().blocked = false;
    }
}

/// CLIENT KILL of a blocked client: no serve may pick it any more.
pub fn kill(shared: &Shared, client: u64) {
    shared.store.blocking.unblock(client);
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: 1 if that client was blocked.
pub(super) fn client_unblock(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let reply = match args.get(3) {
        _ if args.len() > 4 => {
            return Err(err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
        None => TIMED_OUT,
        Some(reason) if is(reason, "timeout") => TIMED_OUT,
        Some(reason) if is(reason, "error") => err(ERR_UNBLOCKED),
        Some(_) => return Err(err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let id = super::args::int_arg(&args[2])?;
    let shared = ctx.shared;
    let unblocked = u64::try_from(id)
        .ok()
        .and_then(|id| Some(id).zip(shared.blocked.get(id)))
        .is_some_and(|(id, waiting)| {
            let won = shared.store.blocking.unblock(id);
            if won {
                waiting.answer(reply, false);
            }
            won
        });
    Ok(Frame::Integer(i64::from(unblocked)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn error_of(arg: &str) -> String {
        match deadline(arg.as_bytes(), NOW) {
            Err(Frame::Error(text)) => String::from_utf8_lossy(&text).into_owned(),
            other => panic!("{arg}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn timeouts_are_seconds_rounded_up_to_milliseconds() {
        let at = |arg: &str| deadline(arg.as_bytes(), NOW).ok().flatten();
        assert_eq!(at("0"), None);
        assert_eq!(at("0.0"), None);
        assert_eq!(at("-0.0009"), None, "rounds up to 0: forever");
        assert_eq!(at("1"), Some(NOW + 1000));
        assert_eq!(at("0.1"), Some(NOW + 100));
        assert_eq!(at("0.00001"), Some(NOW + 1));
        assert_eq!(at("1.5e3"), Some(NOW + 1_500_000));
        // A deadline past Redis' clock range never comes.
        assert_eq!(at("9223372036854775"), None);
    }

    #[test]
    fn bad_timeouts_fail_like_redis_7_0() {
        for arg in ["x", "nan", " 1", "1 ", "", "0x10"] {
            assert_eq!(error_of(arg), "ERR timeout is not a float or out of range");
        }
        // Beyond `long long` Redis' cast turns negative.
        for arg in ["-1", "-0.01", "inf", "-inf", "1e20", "9223372036854776"] {
            assert_eq!(error_of(arg), "ERR timeout is negative", "{arg}");
        }
    }
}
