//! String commands: GET, SET and friends, counters, ranges.

use super::args::{
    err, int_arg, is, parse_i64, CmdResult, ERR_NOT_FLOAT, ERR_NOT_INTEGER, ERR_SYNTAX,
    ERR_WRONGTYPE,
};
use super::long_double;
use super::{Command, Ctx};
use crate::keyspace::encoding::ENCODING_RAW;
use crate::keyspace::{Effect, Header, KeyType, Meta, Txn};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::{Bytes, BytesMut};

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, &["readonly", "fast"], (1, 1, 1), "string", "Returns the string value of a key.", get),
    Command::new("set", -3, &["write", "denyoom"], (1, 1, 1), "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    Command::new("setnx", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Set the string value of a key only when the key doesn't exist.", setnx),
    Command::new("setex", 4, &["write", "denyoom"], (1, 1, 1), "string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    Command::new("psetex", 4, &["write", "denyoom"], (1, 1, 1), "string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", psetex),
    Command::new("mget", -2, &["readonly", "fast"], (1, -1, 1), "string", "Atomically returns the string values of one or more keys.", mget),
    Command::new("mset", -3, &["write", "denyoom"], (1, -1, 2), "string", "Atomically creates or modifies the string values of one or more keys.", mset),
    Command::new("msetnx", -3, &["write", "denyoom"], (1, -1, 2), "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", msetnx),
    Command::new("getset", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Returns the previous string value of a key after setting it to a new value.", getset),
    Command::new("getdel", 2, &["write", "fast"], (1, 1, 1), "string", "Returns the string value of a key after deleting the key.", getdel),
    Command::new("getex", -2, &["write", "fast"], (1, 1, 1), "string", "Returns the string value of a key after setting its expiration time.", getex),
    Command::new("append", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", append),
    Command::new("strlen", 2, &["readonly", "fast"], (1, 1, 1), "string", "Returns the length of a string value.", strlen),
    Command::new("getrange", 4, &["readonly"], (1, 1, 1), "string", "Returns a substring of the string stored at a key.", getrange),
    Command::new("substr", 4, &["readonly"], (1, 1, 1), "string", "Returns a substring from a string value.", getrange),
    Command::new("setrange", 4, &["write", "denyoom"], (1, 1, 1), "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", setrange),
    Command::new("incr", 2, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    Command::new("decr", 2, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", decr),
    Command::new("incrby", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrby),
    Command::new("decrby", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", decrby),
    Command::new("incrbyfloat", 3, &["write", "denyoom", "fast"], (1, 1, 1), "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrbyfloat),
];

/// The string value of live metadata, or WRONGTYPE.
fn string_of(meta: Option<Meta>) -> Result<Option<Meta>, Frame> {
    match meta {
        Some(meta) if meta.kind != KeyType::String => Err(err(ERR_WRONGTYPE)),
        other => Ok(other),
    }
}

fn bulk_or_null(meta: Option<Meta>) -> Frame {
    meta.map_or(Frame::Null, |m| Frame::Bulk(m.payload))
}

fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = string_of(ctx.read(&args[1])?)?;
    let stats = &ctx.shared.stats;
    let counter = if meta.is_some() {
        &stats.keyspace_hits
    } else {
        &stats.keyspace_misses
    };
    super::context::Stats::add(counter, 1);
    Ok(bulk_or_null(meta))
}

/// When a written key expires.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// No expiry option: the key loses any TTL.
    Clear,
    /// KEEPTTL.
    Keep,
    /// An absolute unix time in ms.
    At(u64),
}

/// Turns `EX`/`PX`/`EXAT`/`PXAT` values into an absolute time in ms, with
/// Redis' checks and its error naming the command.
fn expire_at(
    unit_ms: i64,
    relative: bool,
    value: &[u8],
    now_ms: u64,
    command: &str,
) -> Result<u64, Frame> {
    let invalid = || err(format!("ERR invalid expire time in '{command}' command"));
    let value = parse_i64(value).ok_or_else(|| err(ERR_NOT_INTEGER))?;
    if value <= 0 {
        return Err(invalid());
    }
    let ms = value.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if relative {
        ms.checked_add(now_ms as i64).ok_or_else(invalid)?
    } else {
        ms
    };
    Ok(at as u64)
}

/// An expiry keyword of SET or GETEX, before its value is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryOption<'a> {
    None,
    /// KEEPTTL (SET only).
    Keep,
    /// PERSIST (GETEX only).
    Persist,
    /// EX / PX / EXAT / PXAT and the unchecked value.
    Time {
        unit_ms: i64,
        relative: bool,
        value: &'a [u8],
    },
}

impl<'a> ExpiryOption<'a> {
    /// Reads the expiry keyword at `args[i]` (and its value), or None if
    /// there is none or its value is missing.
    fn parse(args: &'a [Bytes], i: usize) -> Option<ExpiryOption<'a>> {
        let (unit_ms, relative) = match &args[i] {
            a if is(a, "keepttl") => return Some(ExpiryOption::Keep),
            a if is(a, "persist") => return Some(ExpiryOption::Persist),
            a if is(a, "ex") => (1000, true),
            a if is(a, "px") => (1, true),
            a if is(a, "exat") => (1000, false),
            a if is(a, "pxat") => (1, false),
            _ => return None,
        };
        let value = args.get(i + 1)?;
        Some(ExpiryOption::Time {
            unit_ms,
            relative,
            value,
        })
    }

    /// Like Redis, a keyword may repeat (the last value wins), but two
    /// different ones are a syntax error.
    fn can_follow(&self, current: &ExpiryOption) -> bool {
        match (current, self) {
            (ExpiryOption::None, _) => true,
            (
                ExpiryOption::Time {
                    unit_ms, relative, ..
                },
                ExpiryOption::Time {
                    unit_ms: new_unit,
                    relative: new_relative,
                    ..
                },
            ) => unit_ms == new_unit && relative == new_relative,
            (current, new) => current == new,
        }
    }

    /// How many arguments the keyword takes, itself included.
    fn width(&self) -> usize {
        match self {
            ExpiryOption::Time { .. } => 2,
            _ => 1,
        }
    }
}

/// Parses the expiry options SET (`persist` false) or GETEX (`persist`
/// true) accept at `args[*i]`, advancing `i` past them. Returns false if
/// the argument is not one of them or conflicts with `current`.
fn parse_expiry_option<'a>(
    args: &'a [Bytes],
    i: &mut usize,
    current: &mut ExpiryOption<'a>,
    persist: bool,
) -> bool {
    let accepted = ExpiryOption::parse(args, *i).filter(|option| {
        let keyword_ok = match option {
            ExpiryOption::Keep => !persist,
            ExpiryOption::Persist => persist,
            _ => true,
        };
        keyword_ok && option.can_follow(current)
    });
    match accepted {
        Some(option) => {
            *i += option.width();
            *current = option;
            true
        }
        None => false,
    }
}

/// The expiry policy an option asks for, once its value is checked.
fn resolve_expiry(option: ExpiryOption, now_ms: u64, command: &str) -> Result<Expiry, Frame> {
    Ok(match option {
        ExpiryOption::None | ExpiryOption::Persist => Expiry::Clear,
        ExpiryOption::Keep => Expiry::Keep,
        ExpiryOption::Time {
            unit_ms,
            relative,
            value,
        } => Expiry::At(expire_at(unit_ms, relative, value, now_ms, command)?),
    })
}

/// Writes a string value with the given expiry policy (SET and SETEX
/// with its `set` and `expire` events). Like Redis 7.0, a deadline already
/// in the past stores the key and lets it expire: here at once, so the
/// events are `set`, `expire`, then `expired`.
fn store_string(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    value: Bytes,
    expiry: Expiry,
    old: Option<Header>,
) -> Result<(), Frame> {
    let expire_at = match expiry {
        Expiry::Clear => 0,
        Expiry::Keep => old.map_or(0, |h| h.expire_at),
        Expiry::At(at) => at,
    };
    if let Expiry::At(at) = expiry {
        // A replica must expire it when we do, whatever its clock says.
        let at = at.to_string();
        txn.propagate(Effect::command(
            db,
            [b"SET", key, &value, b"PXAT", at.as_bytes()],
        ));
    }
    txn.put(db, key, Meta::string(value, expire_at))?;
    txn.notify(db, Class::String, "set", key);
    if let Expiry::At(_) = expiry {
        txn.notify(db, Class::Generic, "expire", key);
        // Deletes the key if the deadline has passed (lazy expiry).
        txn.header(db, key);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    IfAbsent,
    IfPresent,
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut condition = Condition::Always;
    let mut option = ExpiryOption::None;
    let mut want_old = false;
    let mut i = 3;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "nx") && condition != Condition::IfPresent {
            condition = Condition::IfAbsent;
        } else if is(arg, "xx") && condition != Condition::IfAbsent {
            condition = Condition::IfPresent;
        } else if is(arg, "get") {
            want_old = true;
        } else if parse_expiry_option(args, &mut i, &mut option, false) {
            continue;
        } else {
            return Err(err(ERR_SYNTAX));
        }
        i += 1;
    }
    // Like Redis, the expire time is checked only once the syntax is valid.
    let expiry = resolve_expiry(option, ctx.now_ms, "set")?;
    let (key, value) = (&args[1], args[2].clone());
    ctx.write(|txn, db| {
        // Only GET needs the old value: the rest is in the key's header,
        // which costs no read of the engine.
        let old_value = if want_old {
            string_of(txn.get(db, key)?)?
        } else {
            None
        };
        let old = txn.header(db, key);
        let allowed = match condition {
            Condition::Always => true,
            Condition::IfAbsent => old.is_none(),
            Condition::IfPresent => old.is_some(),
        };
        if allowed {
            store_string(txn, db, key, value, expiry, old)?;
        }
        Ok(match (want_old, allowed) {
            (true, _) => bulk_or_null(old_value),
            (false, true) => Frame::ok(),
            (false, false) => Frame::Null,
        })
    })
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        if txn.exists(db, &args[1])? {
            return Ok(Frame::Integer(0));
        }
        store_string(txn, db, &args[1], args[2].clone(), Expiry::Clear, None)?;
        Ok(Frame::Integer(1))
    })
}

fn setex_with_unit(ctx: &mut Ctx, args: &[Bytes], unit_ms: i64, command: &str) -> CmdResult {
    let at = expire_at(unit_ms, true, &args[2], ctx.now_ms, command)?;
    ctx.write(|txn, db| {
        store_string(txn, db, &args[1], args[3].clone(), Expiry::At(at), None)?;
        Ok(Frame::ok())
    })
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setex_with_unit(ctx, args, 1000, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setex_with_unit(ctx, args, 1, "psetex")
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Read through the write transaction so the values form one consistent
    // view (lazily expired keys found on the way are deleted).
    ctx.write(|txn, db| {
        let mut values = Vec::with_capacity(args.len() - 1);
        for key in &args[1..] {
            values.push(match txn.get(db, key)? {
                Some(meta) if meta.kind == KeyType::String => Frame::Bulk(meta.payload),
                _ => Frame::Null,
            });
        }
        Ok(Frame::Array(values))
    })
}

fn pairs(args: &[Bytes], command: &str) -> Result<(), Frame> {
    if args.len().is_multiple_of(2) {
        return Err(super::wrong_arity(command));
    }
    Ok(())
}

/// Sets every key/value pair of MSET or MSETNX, each with its `set` event.
fn set_pairs(txn: &mut Txn, db: usize, args: &[Bytes]) -> Result<(), Frame> {
    for pair in args[1..].chunks_exact(2) {
        store_string(txn, db, &pair[0], pair[1].clone(), Expiry::Clear, None)?;
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pairs(args, "mset")?;
    ctx.write(|txn, db| {
        set_pairs(txn, db, args)?;
        Ok(Frame::ok())
    })
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pairs(args, "msetnx")?;
    ctx.write(|txn, db| {
        for pair in args[1..].chunks_exact(2) {
            if txn.exists(db, &pair[0])? {
                return Ok(Frame::Integer(0));
            }
        }
        set_pairs(txn, db, args)?;
        Ok(Frame::Integer(1))
    })
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        store_string(txn, db, &args[1], args[2].clone(), Expiry::Clear, None)?;
        Ok(bulk_or_null(old))
    })
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        if old.is_some() {
            txn.delete(db, &args[1])?;
            txn.notify(db, Class::Generic, "del", &args[1]);
        }
        Ok(bulk_or_null(old))
    })
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut option = ExpiryOption::None;
    let mut i = 2;
    while i < args.len() {
        if !parse_expiry_option(args, &mut i, &mut option, true) {
            return Err(err(ERR_SYNTAX));
        }
    }
    let now_ms = ctx.now_ms;
    ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        // A missing key is a nil reply even with an invalid expire time.
        let Some(mut meta) = old.clone() else {
            return Ok(Frame::Null);
        };
        if option == ExpiryOption::None {
            return Ok(bulk_or_null(old));
        }
        let key = &args[1];
        // Never recorded as sent: as DEL, PEXPIREAT or PERSIST.
        match resolve_expiry(option, now_ms, "getex")? {
            Expiry::At(at) if at <= now_ms => {
                txn.delete(db, key)?;
                txn.propagate(Effect::del(db, key));
                txn.notify(db, Class::Generic, "del", key);
            }
            Expiry::At(at) => {
                meta.expire_at = at;
                txn.put(db, key, meta)?;
                let at = at.to_string();
                txn.propagate(Effect::command(db, [b"PEXPIREAT", key, at.as_bytes()]));
                txn.notify(db, Class::Generic, "expire", key);
            }
            // PERSIST: only a key that had a deadline changes.
            _ if meta.expire_at != 0 => {
                meta.expire_at = 0;
                txn.put(db, key, meta)?;
                txn.propagate(Effect::command(db, [b"PERSIST", key]));
                txn.notify(db, Class::Generic, "persist", key);
            }
            _ => {}
        }
        Ok(bulk_or_null(old))
    })
}

fn max_len(ctx: &Ctx) -> u64 {
    ctx.shared.config().proto_max_bulk_len
}

const ERR_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limit = max_len(ctx);
    let reply = ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        let (value, expire_at, encoding) = match old {
            Some(meta) => {
                if meta.payload.len() as u64 + args[2].len() as u64 > limit {
                    return Err(err(ERR_TOO_BIG));
                }
                let mut joined = BytesMut::with_capacity(meta.payload.len() + args[2].len());
                joined.extend_from_slice(&meta.payload);
                joined.extend_from_slice(&args[2]);
                (joined.freeze(), meta.expire_at, ENCODING_RAW)
            }
            None => (args[2].clone(), 0, 0),
        };
        let len = value.len() as i64;
        txn.put(
            db,
            &args[1],
            Meta {
                encoding,
                ..Meta::string(value, expire_at)
            },
        )?;
        Ok(Frame::Integer(len))
    })?;
    ctx.notify(Class::String, "append", &args[1]);
    Ok(reply)
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = string_of(ctx.read(&args[1])?)?;
    Ok(Frame::Integer(meta.map_or(0, |m| m.payload.len() as i64)))
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let value = string_of(ctx.read(&args[1])?)?
        .map(|m| m.payload)
        .unwrap_or_default();
    let len = value.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return Ok(Frame::Bulk(Bytes::new()));
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        (len + end).max(0)
    } else {
        end.min(len - 1)
    };
    if start > end {
        return Ok(Frame::Bulk(Bytes::new()));
    }
    Ok(Frame::Bulk(value.slice(start as usize..=end as usize)))
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(err("ERR offset is out of range"));
    }
    let patch = &args[3];
    let limit = max_len(ctx);
    ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        let current_len = old.as_ref().map_or(0, |m| m.payload.len());
        if patch.is_empty() {
            return Ok(Frame::Integer(current_len as i64));
        }
        if offset as u64 + patch.len() as u64 > limit {
            return Err(err(ERR_TOO_BIG));
        }
        let offset = offset as usize;
        let mut value = BytesMut::from(old.as_ref().map_or(&[][..], |m| &m.payload[..]));
        if value.len() < offset + patch.len() {
            value.resize(offset + patch.len(), 0);
        }
        value[offset..offset + patch.len()].copy_from_slice(patch);
        let len = value.len() as i64;
        let expire_at = old.map_or(0, |m| m.expire_at);
        txn.put(
            db,
            &args[1],
            Meta {
                encoding: ENCODING_RAW,
                ..Meta::string(value.freeze(), expire_at)
            },
        )?;
        txn.notify(db, Class::String, "setrange", &args[1]);
        Ok(Frame::Integer(len))
    })
}

/// Adds `delta` to the integer stored at `key`, keeping its TTL.
fn add_to_integer(ctx: &mut Ctx, key: &Bytes, delta: i64) -> CmdResult {
    let reply = ctx.write(|txn, db| {
        let old = string_of(txn.get(db, key)?)?;
        let current = match &old {
            Some(meta) => parse_i64(&meta.payload).ok_or_else(|| err(ERR_NOT_INTEGER))?,
            None => 0,
        };
        let new = current
            .checked_add(delta)
            .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
        let expire_at = old.map_or(0, |m| m.expire_at);
        txn.put(
            db,
            key,
            Meta::string(Bytes::from(new.to_string()), expire_at),
        )?;
        Ok(Frame::Integer(new))
    })?;
    ctx.notify(Class::String, "incrby", key);
    Ok(reply)
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    add_to_integer(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    add_to_integer(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[2])?;
    add_to_integer(ctx, &args[1], delta)
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[2])?;
    let delta = delta
        .checked_neg()
        .ok_or_else(|| err("ERR decrement would overflow"))?;
    add_to_integer(ctx, &args[1], delta)
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = long_double::parse(&args[2]).ok_or_else(|| err(ERR_NOT_FLOAT))?;
    let reply = ctx.write(|txn, db| {
        let old = string_of(txn.get(db, &args[1])?)?;
        let current = match &old {
            Some(meta) => long_double::parse(&meta.payload).ok_or_else(|| err(ERR_NOT_FLOAT))?,
            None => long_double::ZERO,
        };
        let sum = long_double::add(current, delta)
            .ok_or_else(|| err("ERR increment would produce NaN or Infinity"))?;
        let text = Bytes::from(long_double::format(sum));

        let expire_at = old.map_or(0, |m| m.expire_at);
        txn.put(db, &args[1], Meta::string(text.clone(), expire_at))?;
        // The sum as computed here, not recomputed by the replica.
        txn.propagate(Effect::command(db, [b"SET", &args[1], &text, b"KEEPTTL"]));
        Ok(Frame::Bulk(text))
    })?;
    ctx.notify(Class::String, "incrbyfloat", &args[1]);
    Ok(reply)
}
