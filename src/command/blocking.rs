//! Blocking commands, the generic part: a command that finds none of its
//! keys ready blocks the client on them (`keyspace::blocking` keeps the
//! queues, [`BlockedClients`] the commands), and the connection waits for
//! its reply or its deadline. Whoever commits a change that makes a waited
//! key ready serves the waiters right away, still holding the write lock
//! ([`commit`] → [`serve_ready`]), with each command's own [`Serve`] step,
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
use super::{Client, Ctx, Shared};
use crate::engine::EngineError;
use crate::keyspace::{KeyType, Txn};
use crate::resp::Frame;
use crate::sync::lock;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Serves a blocked command from `key` of database `db`: `Some(reply)`
/// once done (an error reply too), `None` when the key has nothing for it.
/// Called in a savepoint: an error leaves no trace.
pub type Serve = fn(&mut Txn, usize, &[Bytes], &Bytes) -> Result<Option<Frame>, Frame>;

/// The reply of a blocked command that timed out (Redis 7.0 answers a null
/// array for lists and sorted sets alike).
const TIMED_OUT: Frame = Frame::NullArray;
const ERR_UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// A blocked command as whoever serves it sees it, and its reply slot.
pub struct Waiting {
    args: Vec<Bytes>,
    /// Keys are served only while they hold this type.
    kind: KeyType,
    serve: Serve,
    /// The reply, and whether it acknowledges a write.
    reply: Mutex<Option<(Frame, bool)>>,
    wake: Notify,
}

impl Waiting {
    /// Hands the client its reply (the caller won `BlockingKeys::unblock`).
    fn answer(&self, reply: Frame, wrote: bool) {
        *lock(&self.reply) = Some((reply, wrote));
        self.wake.notify_one();
    }

    /// Resolves when the reply may be there.
    pub async fn answered(&self) {
        self.wake.notified().await;
    }
}

/// Every blocked client's command, by client id.
#[derive(Default)]
pub struct BlockedClients {
    waiting: Mutex<HashMap<u64, Arc<Waiting>>>,
}

impl BlockedClients {
    fn get(&self, client: u64) -> Option<Arc<Waiting>> {
        lock(&self.waiting).get(&client).cloned()
    }
}

/// A client's own side of its blocked command.
pub struct Blocked {
    waiting: Arc<Waiting>,
    /// Unix ms; `None` waits forever.
    deadline_ms: Option<u64>,
}

impl Blocked {
    pub fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }

    pub fn waiting(&self) -> Arc<Waiting> {
        self.waiting.clone()
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

/// Commits `txn` in place (it keeps the write lock) and publishes its
/// events, then serves the clients its changes made ready. Returns whether anything was written.
pub fn commit(shared: &Shared, txn: &mut Txn) -> Result<bool, EngineError> {
    let wrote = super::notify::commit(shared, txn)?;
    Ok(wrote | serve_ready(shared, txn))
}

/// Serves the clients blocked on keys that became ready, key by key in the
/// order they were signalled, each key's clients in the order they blocked,
/// under the write lock `txn` holds (with nothing pending). Each key's
/// serves are committed before their clients get their replies; a serve
/// that pushes (BLMOVE) makes its destination ready in turn. A storage
/// failure answers the clients of that key with the error and stops.
pub fn serve_ready(shared: &Shared, txn: &mut Txn) -> bool {
    let mut wrote = false;
    while let Some(((db, key), waiters)) = shared.store.blocking.next_ready() {
        let mut served = Vec::new();
        for id in waiters {
            let Some(waiting) = shared.blocked.get(id) else {
                continue;
            };
            match txn.get(db, &key) {
                Ok(Some(meta)) if meta.kind == waiting.kind => {}
                _ => break,
            }
            let savepoint = txn.savepoint();
            let (reply, keep) = match (waiting.serve)(txn, db, &waiting.args, &key) {
                Ok(None) => break,
                Ok(Some(reply)) => (reply, true),
                Err(reply) => (reply, false),
            };
            // The one decision: a client that timed out (or was unblocked)
            // meanwhile gets nothing, and its element stays.
            let won = shared.store.blocking.unblock(id);
            if !(won && keep) {
                txn.rollback_to(savepoint);
            }
            if won {
                served.push((waiting, reply, keep));
            }
        }
        match super::notify::commit(shared, txn) {
            Ok(committed) => {
                wrote |= committed;
                for (waiting, reply, keep) in served {
                    waiting.answer(reply, keep);
                }
            }
            Err(e) => {
                crate::log::warning(&format!("serving blocked clients failed: {e}"));
                let failure = super::storage_error(e);
                for (waiting, _, _) in served {
                    waiting.answer(failure.clone(), false);
                }
                break;
            }
        }
    }
    wrote
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
