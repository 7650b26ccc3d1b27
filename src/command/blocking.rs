//! Blocking commands, the generic part: a command that finds none of its
//! keys ready blocks the client on them (`keyspace::blocking` keeps the
//! queues), the connection waits for a wake-up or the deadline, and
//! [`on_wake`] serves the client under the write lock with the command's
//! own [`Serve`] step. The list commands are in `lists_blocking.rs`; a
//! sorted set's BZPOPMIN needs only its own `Serve` and a table row.
//!
//! As in Redis 7.0: inside MULTI/EXEC a blocking command answers at once
//! (nil when nothing is ready); a blocked client runs no further command
//! until it is served, times out, or is unblocked by CLIENT UNBLOCK; a key
//! that becomes ready with another type leaves it blocked.

use super::args::{err, is, parse_f64, CmdResult};
use super::{Client, Ctx, Shared};
use crate::keyspace::blocking::{Interrupt, Woken};
use crate::keyspace::{KeyType, Txn};
use crate::resp::Frame;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::Notify;

/// Serves a blocked command from `key` of database `db`: `Some(reply)`
/// once done (an error reply too), `None` when the key has nothing for it.
/// Called in a savepoint: an error leaves no trace.
pub type Serve = fn(&mut Txn, usize, &[Bytes], &Bytes) -> Result<Option<Frame>, Frame>;

/// The reply of a blocked command that timed out (Redis 7.0 answers a null
/// array for lists and sorted sets alike).
const TIMED_OUT: Frame = Frame::NullArray;
const ERR_UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// A client's blocked command.
pub struct Blocked {
    args: Vec<Bytes>,
    /// Keys are served only while they hold this type.
    kind: KeyType,
    /// Unix ms; `None` waits forever.
    deadline_ms: Option<u64>,
    serve: Serve,
    wake: Arc<Notify>,
}

impl Blocked {
    pub fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }

    /// Notified when one of the keys may be ready, or by CLIENT UNBLOCK.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

/// A blocking command's timeout (seconds, sub-second precision) as Redis
/// 7.0.15 reads it: the deadline in unix ms, `None` for 0 (forever).
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
    let wake = Arc::new(Notify::new());
    let db = ctx.client.db;
    ctx.shared.store.blocking.block(
        ctx.client.id(),
        keys.iter().map(|key| (db, key.clone())),
        wake.clone(),
        deadline_ms.is_some(),
    );
    ctx.client.blocked = Some(Blocked {
        args: args.to_vec(),
        kind,
        deadline_ms,
        serve,
        wake,
    });
    ctx.client.info().blocked = true;
    Ok(Frame::Null)
}

/// A blocked client was woken: its reply once served (or unblocked by
/// CLIENT UNBLOCK), `None` while it stays blocked.
pub fn on_wake(shared: &Shared, client: &mut Client, now_ms: u64) -> Option<Frame> {
    let blocked = client.blocked.as_ref()?;
    let id = client.id();
    // The lock first: keys are signalled under it, so what the ready list
    // names is committed.
    let mut txn = shared.store.begin(now_ms);
    let keys = match shared.store.blocking.wake_reason(id) {
        Woken::Interrupted(why) => return Some(unblocked(client, interrupted(why))),
        Woken::Ready(keys) => keys,
    };
    let reply = keys
        .iter()
        .find_map(|(db, key)| serve_from(&mut txn, blocked, *db, key))?;
    if let Err(why) = shared.store.blocking.finish(id, &keys) {
        return Some(unblocked(client, interrupted(why)));
    }
    // Out of the queues before the commit, so that the commit (the pop)
    // wakes the next client in line.
    let reply = match txn.commit() {
        Ok(wrote) => {
            client.wrote |= wrote;
            reply
        }
        Err(e) => super::storage_error(e),
    };
    Some(unblocked(client, reply))
}

/// One attempt to serve `blocked` from `key`, in a savepoint.
fn serve_from(txn: &mut Txn, blocked: &Blocked, db: usize, key: &Bytes) -> Option<Frame> {
    match txn.get(db, key) {
        Ok(Some(meta)) if meta.kind == blocked.kind => {}
        Ok(_) => return None,
        Err(e) => return Some(super::storage_error(e)),
    }
    let savepoint = txn.savepoint();
    match (blocked.serve)(txn, db, &blocked.args, key) {
        Ok(reply) => reply,
        Err(reply) => {
            txn.rollback_to(savepoint);
            Some(reply)
        }
    }
}

/// The deadline passed: the timeout reply (unless CLIENT UNBLOCK came
/// first).
pub fn time_out(shared: &Shared, client: &mut Client) -> Frame {
    let reply = match shared.store.blocking.finish(client.id(), &[]) {
        Ok(()) => TIMED_OUT,
        Err(why) => interrupted(why),
    };
    unblocked(client, reply)
}

/// The connection ends while blocked.
pub fn disconnect(shared: &Shared, client: &mut Client) {
    if client.blocked.take().is_some() {
        shared.store.blocking.forget(client.id());
    }
}

fn interrupted(why: Interrupt) -> Frame {
    match why {
        Interrupt::Timeout => TIMED_OUT,
        Interrupt::Error => err(ERR_UNBLOCKED),
    }
}

fn unblocked(client: &mut Client, reply: Frame) -> Frame {
    client.blocked = None;
    client.info().blocked = false;
    reply
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: 1 if that client was blocked.
pub(super) fn client_unblock(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let why = match args.get(3) {
        _ if args.len() > 4 => {
            return Err(err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[1])
            )))
        }
        None => Interrupt::Timeout,
        Some(reason) if is(reason, "timeout") => Interrupt::Timeout,
        Some(reason) if is(reason, "error") => Interrupt::Error,
        Some(_) => return Err(err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let id = super::args::int_arg(&args[2])?;
    let unblocked = u64::try_from(id).is_ok_and(|id| ctx.shared.store.blocking.interrupt(id, why));
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
