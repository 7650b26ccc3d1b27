//! DUMP and RESTORE: a key's value as Redis' serialized payload
//! (`crate::rdb`), so values move between Redstone and redis-server.
//!
//! DUMP writes the plain RDB types (string, list, set, hash, sorted set);
//! RESTORE also reads what redis-server 7.0 dumps for small values
//! (intsets, listpacks, quicklists, integer and LZF strings) and the
//! ziplists of older servers; streams and modules are refused ("Bad data
//! format").

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::{Command, Ctx};
use crate::config::EncodingLimits;
use crate::keyspace::encoding::{score_from_bytes, ENCODING_HASHTABLE};
use crate::keyspace::{Effect, KeyRead, KeyType, Meta, Txn};
use crate::notify::Class;
use crate::rdb::{self, RestoreError, Value};
use crate::resp::Frame;
use bytes::Bytes;
use std::collections::HashSet;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "dump",
        2,
        &["readonly"],
        (1, 1, 1),
        "generic",
        "Returns a serialized representation of the value stored at a key.",
        dump,
    ),
    Command::new(
        "restore",
        -4,
        &["write", "denyoom"],
        (1, 1, 1),
        "generic",
        "Creates a key from the serialized representation of a value.",
        restore,
    ),
    // What MIGRATE sends in cluster mode: RESTORE, served by a node that
    // is importing the key's slot without a separate ASKING.
    Command::new(
        "restore-asking",
        -4,
        &["write", "denyoom", "asking"],
        (1, 1, 1),
        "server",
        "An internal command for migrating keys in a cluster.",
        restore,
    ),
];

const ERR_BAD_FORMAT: &str = "ERR Bad data format";

fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_reader(|reader, db| {
        let Some(meta) = reader.meta(db, &args[1])? else {
            return Ok(Frame::Null);
        };
        let value = value_of(reader, db, &args[1], &meta)?;
        Ok(Frame::Bulk(Bytes::from(rdb::dump(&value))))
    })
}

/// The value of `key` (whose metadata is `meta`) as RDB serialises it, in
/// the order Redis would reply it: DUMP's payload, and a full sync's.
pub fn value_of(
    reader: &mut dyn KeyRead,
    db: usize,
    key: &[u8],
    meta: &Meta,
) -> Result<Value, Frame> {
    match meta.kind {
        KeyType::String => return Ok(Value::String(meta.payload.clone())),
        KeyType::Stream => {
            let stream = super::stream_value::Stream::open(reader, db, key)?
                .ok_or_else(|| err("ERR corrupt stream record"))?;
            return Ok(Value::Stream(stream.to_rdb(reader)?));
        }
        _ => {}
    }
    let members = reader.members(db, key, meta);
    let all = reader.all_members(&members)?;
    Ok(match meta.kind {
        KeyType::Hash => Value::Hash(super::hashes::in_reply_order(
            meta.encoding != ENCODING_HASHTABLE,
            all,
        )?),
        KeyType::Set => Value::Set(all.into_iter().map(|(m, _)| m).collect()),
        KeyType::ZSet => Value::ZSet(
            all.into_iter()
                .map(|(member, score)| {
                    let score = score_from_bytes(&score)
                        .ok_or_else(|| err("ERR corrupt sorted set score"))?;
                    Ok((member, score))
                })
                .collect::<Result<_, Frame>>()?,
        ),
        _ => Value::List(all.into_iter().map(|(_, item)| item).collect()),
    })
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]:
/// Redis' checks in Redis' order. IDLETIME and FREQ are validated and
/// ignored (no eviction policy uses them here).
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idletime, mut freq) = (false, false);
    let mut options = args[4..].iter();
    while let Some(option) = options.next() {
        if is(option, "replace") {
            replace = true;
        } else if is(option, "absttl") {
            absttl = true;
        } else if is(option, "idletime") && !freq && options.len() > 0 {
            idletime = true;
            if options.next().map_or(Ok(0), |v| int_arg(v))? < 0 {
                return Err(err("ERR Invalid IDLETIME value, must be >= 0"));
            }
        } else if is(option, "freq") && !idletime && options.len() > 0 {
            freq = true;
            if !(0..=255).contains(&options.next().map_or(Ok(0), |v| int_arg(v))?) {
                return Err(err("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
        } else {
            return Err(err(ERR_SYNTAX));
        }
    }
    let limits = ctx.encoding_limits();
    let now_ms = ctx.now_ms;
    let key = &args[1];
    ctx.write(|txn, db| {
        if !replace && txn.get(db, key)?.is_some() {
            return Err(err("BUSYKEY Target key name already exists."));
        }
        let ttl = int_arg(&args[2])?;
        if ttl < 0 {
            return Err(err("ERR Invalid TTL value, must be >= 0"));
        }
        let value = rdb::restore(&args[3]).map_err(|e| match e {
            RestoreError::VersionOrChecksum => {
                err("ERR DUMP payload version or checksum are wrong")
            }
            RestoreError::BadFormat => err(ERR_BAD_FORMAT),
        })?;
        check_members(&value)?;
        let deleted = replace && txn.delete(db, key)?;
        let expire_at = match (ttl, absttl) {
            (0, _) => 0,
            (at, true) => at as u64,
            (ttl, false) => now_ms.saturating_add(ttl as u64),
        };
        if expire_at != 0 && expire_at <= now_ms {
            if deleted {
                txn.propagate(Effect::del(db, key));
                txn.notify(db, Class::Generic, "del", key);
            }
            return Ok(Frame::ok());
        }
        if expire_at != 0 && !absttl {
            // The deadline as a time, not a delay from whenever a replica
            // runs it.
            let mut absolute = args.to_vec();
            absolute[2] = Bytes::from(expire_at.to_string());
            absolute.push(Bytes::from_static(b"ABSTTL"));
            txn.propagate(Effect::Command { db, args: absolute });
        }
        store_value(txn, db, key, value, expire_at, limits)?;
        txn.notify(db, Class::Generic, "restore", key);
        Ok(Frame::ok())
    })
}

/// Redis refuses empty collections and repeated set members or hash fields.
fn check_members(value: &Value) -> Result<(), Frame> {
    let distinct = |items: Vec<&Bytes>| {
        let count = items.len();
        count > 0 && items.into_iter().collect::<HashSet<_>>().len() == count
    };
    let ok = match value {
        Value::String(_) => true,
        Value::List(items) => !items.is_empty(),
        Value::Set(members) => distinct(members.iter().collect()),
        Value::Hash(pairs) => distinct(pairs.iter().map(|(field, _)| field).collect()),
        Value::ZSet(members) => distinct(members.iter().map(|(member, _)| member).collect()),
        // The reader checked a stream's consistency; an empty one is valid.
        Value::Stream(_) => true,
    };
    if ok {
        Ok(())
    } else {
        Err(err(ERR_BAD_FORMAT))
    }
}

/// Writes `value` at `key` (which holds nothing) with its deadline (0:
/// none), through each family's own constructor so that encodings follow
/// the same rules as its commands: RESTORE, and a replica loading its
/// master's snapshot.
pub fn store_value(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    value: Value,
    expire_at: u64,
    limits: EncodingLimits,
) -> Result<(), Frame> {
    match value {
        Value::String(bytes) => {
            txn.put_absent(db, key, Meta::string(bytes, expire_at));
            return Ok(());
        }
        Value::List(items) => super::lists::store_list(txn, db, key, items)?,
        Value::Set(members) => super::sets::put_set(txn, db, key, &members, limits)?,
        Value::Hash(pairs) => super::hashes::put_hash(txn, db, key, pairs, limits)?,
        Value::ZSet(members) => super::zset_value::put_zset(txn, db, key, members, limits)?,
        Value::Stream(stream) => super::stream_value::Stream::restore(txn, db, key, stream)?,
    }
    if expire_at != 0 {
        if let Some(mut meta) = txn.get(db, key)? {
            meta.expire_at = expire_at;
            txn.put(db, key, meta)?;
        }
    }
    Ok(())
}
