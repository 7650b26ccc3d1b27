//! Generic key commands: existence, deletion, renaming, TTLs, iteration and
//! whole-database operations.

use super::args::{
    err, int_arg, is, parse_i64, CmdResult, ERR_DB_RANGE, ERR_NOT_INTEGER, ERR_SYNTAX,
};
use super::{Command, Ctx};
use crate::glob::glob_match;
use crate::keyspace::{Effect, KeyType, Meta};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::Bytes;
use std::ops::Bound;

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, &["write"], (1, -1, 1), "generic", "Deletes one or more keys.", del),
    Command::new("unlink", -2, &["write", "fast"], (1, -1, 1), "generic", "Asynchronously deletes one or more keys.", del),
    Command::new("exists", -2, &["readonly", "fast"], (1, -1, 1), "generic", "Determines whether one or more keys exist.", exists),
    Command::new("touch", -2, &["readonly", "fast"], (1, -1, 1), "generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", exists),
    Command::new("type", 2, &["readonly", "fast"], (1, 1, 1), "generic", "Determines the type of value stored at a key.", type_),
    Command::new("rename", 3, &["write"], (1, 2, 1), "generic", "Renames a key and overwrites the destination.", rename),
    Command::new("renamenx", 3, &["write", "fast"], (1, 2, 1), "generic", "Renames a key only when the target key name doesn't exist.", renamenx),
    Command::new("copy", -3, &["write", "denyoom"], (1, 2, 1), "generic", "Copies the value of a key to a new key.", copy),
    Command::new("move", 3, &["write", "fast"], (1, 1, 1), "generic", "Moves a key to another database.", move_),
    Command::new("expire", -3, &["write", "fast"], (1, 1, 1), "generic", "Sets the expiration time of a key in seconds.", expire),
    Command::new("pexpire", -3, &["write", "fast"], (1, 1, 1), "generic", "Sets the expiration time of a key in milliseconds.", pexpire),
    Command::new("expireat", -3, &["write", "fast"], (1, 1, 1), "generic", "Sets the expiration time of a key to a Unix timestamp.", expireat),
    Command::new("pexpireat", -3, &["write", "fast"], (1, 1, 1), "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", pexpireat),
    Command::new("ttl", 2, &["readonly", "fast"], (1, 1, 1), "generic", "Returns the expiration time in seconds of a key.", ttl),
    Command::new("pttl", 2, &["readonly", "fast"], (1, 1, 1), "generic", "Returns the expiration time in milliseconds of a key.", pttl),
    Command::new("expiretime", 2, &["readonly", "fast"], (1, 1, 1), "generic", "Returns the expiration time of a key as a Unix timestamp.", expiretime),
    Command::new("pexpiretime", 2, &["readonly", "fast"], (1, 1, 1), "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", pexpiretime),
    Command::new("persist", 2, &["write", "fast"], (1, 1, 1), "generic", "Removes the expiration time of a key.", persist),
    Command::new("keys", 2, &["readonly"], (0, 0, 0), "generic", "Returns all key names that match a pattern.", keys),
    Command::new("scan", -2, &["readonly"], (0, 0, 0), "generic", "Iterates over the key names in the database.", scan),
    Command::new("randomkey", 1, &["readonly"], (0, 0, 0), "generic", "Returns a random key name from the database.", randomkey),
    Command::new("dbsize", 1, &["readonly", "fast"], (0, 0, 0), "server", "Returns the number of keys in the database.", dbsize),
    Command::new("flushdb", -1, &["write"], (0, 0, 0), "server", "Remove all keys from the current database.", flushdb),
    Command::new("flushall", -1, &["write"], (0, 0, 0), "server", "Removes all keys from all databases.", flushall),
    Command::new("swapdb", 3, &["write", "fast"], (0, 0, 0), "server", "Swaps two Redis databases.", swapdb),
    Command::container("object", "generic", "A container for object introspection commands.", OBJECT),
];

const OBJECT: &[Command] = &[
    Command::new(
        "encoding",
        3,
        &["readonly"],
        (2, 2, 1),
        "generic",
        "Returns the internal encoding of a Redis object.",
        object_encoding,
    ),
    Command::new(
        "refcount",
        3,
        &["readonly"],
        (2, 2, 1),
        "generic",
        "Returns the reference count of a value of a key.",
        object_refcount,
    ),
    Command::new(
        "idletime",
        3,
        &["readonly"],
        (2, 2, 1),
        "generic",
        "Returns the time since the last access to a Redis object.",
        object_idletime,
    ),
    Command::new(
        "freq",
        3,
        &["readonly"],
        (2, 2, 1),
        "generic",
        "Returns the logarithmic access frequency counter of a Redis object.",
        object_freq,
    ),
    Command::help("generic", object_help),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let mut deleted = 0;
        for key in &args[1..] {
            if txn.delete(db, key)? {
                txn.notify(db, Class::Generic, "del", key);
                deleted += 1;
            }
        }
        Ok(Frame::Integer(deleted))
    })
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut found = 0;
    for key in &args[1..] {
        found += i64::from(ctx.read(key)?.is_some());
    }
    Ok(Frame::Integer(found))
}

fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = ctx.read(&args[1])?.map_or("none", |m| m.kind.name());
    Ok(Frame::simple(name))
}

/// Moves `from` to `to`; `only_if_absent` is RENAMENX.
fn rename_key(ctx: &mut Ctx, args: &[Bytes], only_if_absent: bool) -> CmdResult {
    let (from, to) = (&args[1], &args[2]);
    ctx.write(|txn, db| {
        let meta = txn.get(db, from)?.ok_or_else(|| err("ERR no such key"))?;
        if from == to {
            return Ok(if only_if_absent {
                Frame::Integer(0)
            } else {
                Frame::ok()
            });
        }
        if only_if_absent && txn.exists(db, to)? {
            return Ok(Frame::Integer(0));
        }
        // A collection's members are copied under a fresh version (O(n));
        // the source's become garbage for the sweeper.
        let moved = txn.copy_value(db, from, &meta, db, to)?;
        txn.delete(db, from)?;
        // Replaced, not overwritten: the target reports `new`, as in Redis.
        txn.delete(db, to)?;
        txn.put(db, to, moved)?;
        txn.notify(db, Class::Generic, "rename_from", from);
        txn.notify(db, Class::Generic, "rename_to", to);
        Ok(if only_if_absent {
            Frame::Integer(1)
        } else {
            Frame::ok()
        })
    })
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_key(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_key(ctx, args, true)
}

/// Parses a database index argument the way SELECT, MOVE and COPY do.
pub fn db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, Frame> {
    let index = parse_i64(arg).ok_or_else(|| err(ERR_NOT_INTEGER))?;
    if index < 0 || index >= ctx.shared.store.databases() as i64 {
        return Err(err(ERR_DB_RANGE));
    }
    Ok(index as usize)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut target_db = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            target_db = db_index(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(err(ERR_SYNTAX));
        }
        i += 1;
    }
    let (from, to) = (&args[1], &args[2]);
    if from == to && target_db == ctx.db() {
        return Err(err("ERR source and destination objects are the same"));
    }
    ctx.write(|txn, db| {
        let Some(meta) = txn.get(db, from)? else {
            return Ok(Frame::Integer(0));
        };
        if txn.exists(target_db, to)? {
            if !replace {
                return Ok(Frame::Integer(0));
            }
            txn.delete(target_db, to)?;
        }
        let copied = txn.copy_value(db, from, &meta, target_db, to)?;
        txn.put(target_db, to, copied)?;
        txn.notify(target_db, Class::Generic, "copy_to", to);
        Ok(Frame::Integer(1))
    })
}

fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.shared.cluster.is_some() {
        return Err(err("ERR MOVE is not allowed in cluster mode"));
    }
    let target_db = db_index(ctx, &args[2])?;
    if target_db == ctx.db() {
        return Err(err("ERR source and destination objects are the same"));
    }
    ctx.write(|txn, db| {
        let Some(meta) = txn.get(db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        if txn.exists(target_db, &args[1])? {
            return Ok(Frame::Integer(0));
        }
        let moved = txn.copy_value(db, &args[1], &meta, target_db, &args[1])?;
        txn.delete(db, &args[1])?;
        txn.put(target_db, &args[1], moved)?;
        txn.notify(db, Class::Generic, "move_from", &args[1]);
        txn.notify(target_db, Class::Generic, "move_to", &args[1]);
        Ok(Frame::Integer(1))
    })
}

/// The NX / XX / GT / LT conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireConditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireConditions {
    fn parse(args: &[Bytes]) -> Result<ExpireConditions, Frame> {
        let mut c = ExpireConditions::default();
        for arg in args {
            match arg {
                a if is(a, "nx") => c.nx = true,
                a if is(a, "xx") => c.xx = true,
                a if is(a, "gt") => c.gt = true,
                a if is(a, "lt") => c.lt = true,
                other => {
                    return Err(err(format!(
                        "ERR Unsupported option {}",
                        String::from_utf8_lossy(other)
                    )))
                }
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(err(
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if c.gt && c.lt {
            return Err(err(
                "ERR GT and LT options at the same time are not compatible",
            ));
        }
        Ok(c)
    }

    /// Whether a key whose deadline is `current` (0 = none) may get `new`.
    fn allow(&self, current: u64, new: u64) -> bool {
        let has_ttl = current != 0;
        // No TTL counts as an infinite one for GT and LT.
        !(self.nx && has_ttl
            || self.xx && !has_ttl
            || self.gt && (!has_ttl || new <= current)
            || self.lt && has_ttl && new >= current)
    }
}

fn set_expiry(
    ctx: &mut Ctx,
    args: &[Bytes],
    unit_ms: i64,
    relative: bool,
    command: &str,
) -> CmdResult {
    let when = int_arg(&args[2])?;
    let conditions = ExpireConditions::parse(&args[3..])?;
    let invalid = || err(format!("ERR invalid expire time in '{command}' command"));
    let mut at = when.checked_mul(unit_ms).ok_or_else(invalid)?;
    if relative {
        at = at.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?;
    }
    ctx.write(|txn, db| {
        let Some(mut meta) = txn.get(db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        let at = at.max(0) as u64;
        if !conditions.allow(meta.expire_at, at) {
            return Ok(Frame::Integer(0));
        }
        // Recorded as what happened, decided here: the deletion, or the
        // absolute deadline (so a replica's clock does not matter).
        if at <= txn.now_ms() {
            txn.delete(db, &args[1])?;
            txn.propagate(Effect::del(db, &args[1]));
            txn.notify(db, Class::Generic, "del", &args[1]);
        } else {
            meta.expire_at = at;
            txn.put(db, &args[1], meta)?;
            let at = at.to_string();
            txn.propagate(Effect::command(db, [b"PEXPIREAT", &args[1], at.as_bytes()]));
            txn.notify(db, Class::Generic, "expire", &args[1]);
        }
        Ok(Frame::Integer(1))
    })
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, 1000, true, "expire")
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, 1, true, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, 1000, false, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, 1, false, "pexpireat")
}

/// TTL and friends: -2 for a missing key, -1 for no deadline, else `show`
/// of the key's deadline.
fn report_expiry(ctx: &mut Ctx, key: &[u8], show: impl Fn(u64, u64) -> i64) -> CmdResult {
    Ok(Frame::Integer(match ctx.read(key)? {
        None => -2,
        Some(meta) if meta.expire_at == 0 => -1,
        Some(meta) => show(meta.expire_at, ctx.now_ms),
    }))
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], |at, now| {
        ((at.saturating_sub(now) + 500) / 1000) as i64
    })
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], |at, now| at.saturating_sub(now) as i64)
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Rounded to the nearest second, like TTL.
    report_expiry(ctx, &args[1], |at, _| ((at + 500) / 1000) as i64)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], |at, _| at as i64)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| match txn.get(db, &args[1])? {
        Some(mut meta) if meta.expire_at != 0 => {
            meta.expire_at = 0;
            txn.put(db, &args[1], meta)?;
            txn.notify(db, Class::Generic, "persist", &args[1]);
            Ok(Frame::Integer(1))
        }
        _ => Ok(Frame::Integer(0)),
    })
}

const KEYS_CHUNK: usize = 1024;

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1];
    let match_all = pattern.as_ref() == b"*";
    let store = ctx.commit_pending()?;
    let mut found = Vec::new();

    let mut start: Option<(u16, Bytes)> = None;
    loop {
        let bound = match &start {
            Some((slot, key)) => Bound::Excluded((*slot, key.as_ref())),
            None => Bound::Unbounded,
        };
        let chunk = store.scan_keys(ctx.db(), bound, KEYS_CHUNK)?;
        let done = chunk.len() < KEYS_CHUNK;
        for (slot, key, meta) in chunk {
            if !meta.is_expired(ctx.now_ms) && (match_all || glob_match(pattern, &key, false)) {
                found.push(Frame::Bulk(key.clone()));
            }
            start = Some((slot, key));
        }
        if done {
            return Ok(Frame::Array(found));
        }
    }
}

fn type_matches(meta: &Meta, wanted: Option<&Bytes>) -> bool {
    wanted.is_none_or(|name| is(name, meta.kind.name()))
}

/// Parses a SCAN cursor like Redis' `strtoul`: an optional sign (a
/// negative value wraps around), then digits that fit in 64 bits. An empty
/// string is cursor 0.
pub(super) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or_else(|| err("ERR invalid cursor"))?;
    let mut pattern = None;
    let mut count = 10usize;
    let mut wanted_type = None;
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(err(ERR_SYNTAX));
        };
        match &args[i] {
            a if is(a, "match") => pattern = Some(value),
            a if is(a, "count") => {
                let n = int_arg(value)?;
                if n < 1 {
                    return Err(err(ERR_SYNTAX));
                }
                count = n as usize;
            }
            a if is(a, "type") => wanted_type = Some(value),
            _ => return Err(err(ERR_SYNTAX)),
        }
        i += 2;
    }
    let resume = (cursor != 0).then(|| crate::sync::lock(&ctx.shared.cursors).resume(cursor));
    let start = match &resume {
        None => Bound::Unbounded,
        Some((slot, Some(key))) => Bound::Excluded((*slot, key.as_ref())),
        Some((slot, None)) => Bound::Included((*slot, &b""[..])),
    };
    let chunk = ctx.commit_pending()?.scan_keys(ctx.db(), start, count)?;
    let next_cursor = match chunk.last() {
        Some((slot, key, _)) if chunk.len() == count => {
            crate::sync::lock(&ctx.shared.cursors).remember(*slot, key.clone())
        }
        _ => 0,
    };
    let keys = chunk
        .into_iter()
        .filter(|(_, key, meta)| {
            !meta.is_expired(ctx.now_ms)
                && type_matches(meta, wanted_type)
                && pattern.is_none_or(|p| glob_match(p, key, false))
        })
        .map(|(_, key, _)| Frame::Bulk(key))
        .collect();
    Ok(Frame::Array(vec![
        Frame::Bulk(Bytes::from(next_cursor.to_string())),
        Frame::Array(keys),
    ]))
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let store = ctx.commit_pending()?;
    if store.counts(ctx.db()).keys == 0 {
        return Ok(Frame::Null);
    }
    // Seek to a random point of the key order and take the next live key,
    // wrapping around once. Not perfectly uniform, but O(log n).
    for _ in 0..16 {
        let slot = rand::random::<u16>() % crate::slot::SLOT_COUNT;
        let from = Bound::Included((slot, &b""[..]));
        let candidates = store.scan_keys(ctx.db(), from, 1)?;
        let candidates = match candidates.is_empty() {
            true => store.scan_keys(ctx.db(), Bound::Unbounded, 1)?,
            false => candidates,
        };
        if let Some((_, key, meta)) = candidates.into_iter().next() {
            if !meta.is_expired(ctx.now_ms) {
                return Ok(Frame::Bulk(key));
            }
        }
    }
    Ok(Frame::Null)
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        ctx.commit_pending()?.counts(ctx.db()).keys as i64,
    ))
}

/// Checks the optional ASYNC / SYNC argument of FLUSHDB and FLUSHALL. Both
/// modes are O(1) here: the data is reclaimed in the background either way.
fn flush_mode(args: &[Bytes]) -> Result<(), Frame> {
    match args.get(1) {
        None => Ok(()),
        Some(mode) if args.len() == 2 && (is(mode, "async") || is(mode, "sync")) => Ok(()),
        Some(_) => Err(err(ERR_SYNTAX)),
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    ctx.write(|txn, db| {
        txn.flush_db(db);
        Ok(Frame::ok())
    })
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    ctx.write(|txn, _| {
        for db in 0..txn.databases() {
            txn.flush_db(db);
        }
        Ok(Frame::ok())
    })
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.shared.cluster.is_some() {
        return Err(err("ERR SWAPDB is not allowed in cluster mode"));
    }
    let first = parse_i64(&args[1]).ok_or_else(|| err("ERR invalid first DB index"))?;
    let second = parse_i64(&args[2]).ok_or_else(|| err("ERR invalid second DB index"))?;
    let databases = ctx.shared.store.databases() as i64;
    if !(0..databases).contains(&first) || !(0..databases).contains(&second) {
        return Err(err(ERR_DB_RANGE));
    }
    ctx.write(|txn, _| {
        txn.swap_db(first as usize, second as usize);
        Ok(Frame::ok())
    })
}

/// The encoding name Redis would report for a string value.
fn string_encoding(value: &[u8]) -> &'static str {
    if value.len() <= 20 && parse_i64(value).is_some() {
        "int"
    } else if value.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(match ctx.read(&args[2])? {
        None => Frame::Null,
        Some(meta) => Frame::bulk(match meta.kind {
            KeyType::String if meta.encoding == crate::keyspace::encoding::ENCODING_RAW => "raw",
            KeyType::String => string_encoding(&meta.payload),
            KeyType::Hash if meta.encoding == crate::keyspace::encoding::ENCODING_HASHTABLE => {
                "hashtable"
            }
            KeyType::Hash => "listpack",
            KeyType::List => "quicklist",
            KeyType::Set if meta.encoding == crate::keyspace::encoding::ENCODING_HASHTABLE => {
                "hashtable"
            }
            KeyType::Set => "intset",
            KeyType::ZSet if meta.encoding == crate::keyspace::encoding::ENCODING_SKIPLIST => {
                "skiplist"
            }
            KeyType::ZSet => "listpack",
            KeyType::Stream => "stream",
        }),
    })
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(ctx
        .read(&args[2])?
        .map_or(Frame::Null, |_| Frame::Integer(1)))
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(ctx
        .read(&args[2])?
        .map_or(Frame::Null, |_| Frame::Integer(0)))
}

/// The maxmemory policy is never an LFU one, so like Redis in that case
/// FREQ refuses (for an existing key; a missing one is nil).
fn object_freq(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match ctx.read(&args[2])? {
        None => Ok(Frame::Null),
        Some(_) => Err(err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")),
    }
}

fn object_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    ))
}
