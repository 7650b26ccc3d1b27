//! MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2
//! user pw] [KEYS key ...]: moves keys to another server (what
//! `redis-cli --cluster reshard` uses), with Redis 7.0's syntax, replies
//! and errors.
//!
//! Redis blocks its whole server for the round trip; here only the
//! migrating client waits. So a key may change between being read and
//! being deleted, and the move is optimistic: the handler reads the keys
//! ([`MigrateJob`]), the connection sends them as RESTORE (or
//! RESTORE-ASKING in cluster mode) and reads the replies
//! (`server::migrate`), and [`settle`], under the write lock, deletes each
//! restored key only if it still reads exactly as sent. A key that changed
//! meanwhile is sent again, with REPLACE, until it holds still
//! ([`MAX_ROUNDS`]). Each deletion goes to replicas as DEL.

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
pub use super::migrate_job::{MigrateJob, Moving, Request};
use super::{Command, Ctx};
use crate::keyspace::{Effect, KeyRead, Txn};
use crate::notify::Class;
use crate::planted::{self, Bug};
use crate::rdb;
use crate::resp::Frame;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[Command::new(
    "migrate",
    -6,
    &["write", "movablekeys"],
    (3, 3, 1),
    "generic",
    "Atomically transfers a key from one Redis instance to another.",
    migrate,
)
.with_key_finder(migrate_keys)];

/// How many times keys that changed while in flight are sent again before
/// MIGRATE gives up on them.
pub const MAX_ROUNDS: usize = 16;

/// What the target answered to one request ([`MigrateJob::request`]).
#[derive(Debug, Default)]
pub struct Answers {
    /// The error line of AUTH or SELECT, if either failed.
    pub setup_error: Option<String>,
    /// One per key sent, in order: `Err` holds the error line.
    pub restores: Vec<Result<(), String>>,
}

/// What [`settle`] decided.
pub enum Settled {
    /// The reply to the client.
    Reply(Frame),
    /// Some keys changed while in flight: send this job (those keys, read
    /// again, with REPLACE) and settle again.
    Again(MigrateJob),
}

fn migrate(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut copy, mut replace, mut auth) = (false, false, None);
    let mut keys = &args[3..4];
    let mut options = 6;
    while options < args.len() {
        let more = args.len() - 1 - options;
        let option = &args[options];
        if is(option, "copy") {
            copy = true;
        } else if is(option, "replace") {
            replace = true;
        } else if is(option, "auth") && more >= 1 {
            auth = Some((None, args[options + 1].clone()));
            options += 1;
        } else if is(option, "auth2") && more >= 2 {
            auth = Some((Some(args[options + 1].clone()), args[options + 2].clone()));
            options += 2;
        } else if is(option, "keys") {
            if !args[3].is_empty() {
                return Err(err(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys = &args[options + 1..];
            break;
        } else {
            return Err(err(ERR_SYNTAX));
        }
        options += 1;
    }
    let timeout = int_arg(&args[5])?;
    let target_db = int_arg(&args[4])?;
    let mut job = MigrateJob {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port: String::from_utf8_lossy(&args[2]).into_owned(),
        timeout_ms: if timeout <= 0 { 1000 } else { timeout as u64 },
        target_db,
        db: ctx.client.db,
        copy,
        replace,
        auth,
        asking: ctx.shared.cluster.is_some(),
        keys: Vec::new(),
    };
    job.keys = ctx.with_snapshot(|reader, db| read_keys(reader, db, keys))?;
    if job.keys.is_empty() {
        return Ok(Frame::simple("NOKEY"));
    }
    // The connection moves them and replies (`server::migrate`).
    ctx.client.migrate = Some(job);
    Ok(Frame::Null)
}

/// The keys that exist, as they are now.
fn read_keys(reader: &mut dyn KeyRead, db: usize, keys: &[Bytes]) -> Result<Vec<Moving>, Frame> {
    let mut moving = Vec::new();
    for key in keys {
        let read = read_key(reader, db, key)?;
        if read.payload.is_some() {
            moving.push(read);
        }
    }
    Ok(moving)
}

fn read_key(reader: &mut dyn KeyRead, db: usize, key: &Bytes) -> Result<Moving, Frame> {
    let mut moving = Moving {
        key: key.clone(),
        payload: None,
        expire_at: 0,
    };
    if let Some(meta) = reader.meta(db, key)? {
        let value = super::dump::value_of(reader, db, key, &meta)?;
        moving.payload = Some(Bytes::from(rdb::dump(&value)));
        moving.expire_at = meta.expire_at;
    }
    Ok(moving)
}

/// Redis' `migrateGetKeys`: the key argument, or the keys after KEYS.
fn migrate_keys(args: &[Bytes]) -> Vec<usize> {
    let mut at = 6;
    while at < args.len() {
        if is(&args[at], "auth") {
            at += 1;
        } else if is(&args[at], "auth2") {
            at += 2;
        } else if is(&args[at], "keys") {
            if !args[3].is_empty() {
                return Vec::new();
            }
            return (at + 1..args.len()).collect();
        }
        at += 1;
    }
    vec![3]
}

/// After a round's answers, under the write lock (`txn`): deletes (unless
/// COPY) each key the target restored that still reads as it was sent,
/// recording DEL for replicas and the `del` event. Keys that changed
/// meanwhile go into [`Settled::Again`] with REPLACE (they were restored
/// already), and so do keys deleted meanwhile, sent as what they are now:
/// gone is also a value the target must end up with.
pub fn settle(
    txn: &mut Txn,
    job: &MigrateJob,
    request: &Request,
    answers: &Answers,
) -> Result<Settled, Frame> {
    if let Some(error) = &answers.setup_error {
        return Ok(Settled::Reply(target_error(error)));
    }
    let mut changed = Vec::new();
    let mut first_error = None;
    for (&at, answer) in request.sent.iter().zip(&answers.restores) {
        let sent = &job.keys[at];
        if let Err(error) = answer {
            first_error.get_or_insert_with(|| target_error(error));
            continue;
        }
        if job.copy {
            continue;
        }
        let now = read_key(txn, job.db, &sent.key)?;
        if now != *sent && !planted::active(Bug::MigrateDeletesChangedKeys) {
            changed.push(now);
        } else if now.payload.is_some() {
            txn.delete(job.db, &sent.key)?;
            txn.propagate(Effect::del(job.db, &sent.key));
            txn.notify(job.db, Class::Generic, "del", &sent.key);
        }
    }
    if let Some(error) = first_error {
        return Ok(Settled::Reply(error));
    }
    if changed.is_empty() {
        return Ok(Settled::Reply(Frame::ok()));
    }
    Ok(Settled::Again(MigrateJob {
        replace: true,
        keys: changed,
        ..job.clone()
    }))
}

/// `-ERR Target instance replied with error: <its error>`.
fn target_error(line: &str) -> Frame {
    err(format!("ERR Target instance replied with error: {line}"))
}
