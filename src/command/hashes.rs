//! Hash commands (Redis 7.0). Fields live in the data partition under the
//! key's version (`keyspace::collection`); the field count is in the
//! metadata, so HLEN is one read.
//!
//! A field's stored value is `order u64 | value` ([`stored_field`]): `order`
//! is a fresh store-wide version taken when the field is added (an update
//! keeps it), so it grows with insertion. A compact (listpack) hash replies
//! in that order, as Redis' listpack keeps fields in the order they came;
//! a hashtable one in field order (Redis' dict order is arbitrary anyway).
//!
//! Single-field reads (HGET, HEXISTS, HSTRLEN, HLEN) go straight to the
//! engine without the write lock; reads of several fields (HMGET, HGETALL,
//! HKEYS, HVALS, HRANDFIELD, HSCAN) read one snapshot (inside a pipeline's
//! transaction, through it), so they see one consistent hash.

use super::args::{err, int_arg, is, parse_i64, CmdResult, ERR_NOT_FLOAT, ERR_SYNTAX};
use super::long_double::{self, LongDouble};
use super::notify::Written;
use super::{member_scan, Command, Ctx};
use crate::config::EncodingLimits;
use crate::keyspace::encoding::{read_u64, ENCODING_HASHTABLE};
use crate::keyspace::{Effect, KeyRead, KeyType, Members, Meta, Txn};
use crate::notify::Class;
use crate::resp::{Frame, Protocol};
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, &["write", "denyoom", "fast"], (1, 1, 1), "hash", "Creates or modifies the value of a field in a hash.", hset),
    Command::new("hsetnx", 4, &["write", "denyoom", "fast"], (1, 1, 1), "hash", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    Command::new("hmset", -4, &["write", "denyoom", "fast"], (1, 1, 1), "hash", "Sets the values of multiple fields.", hmset),
    Command::new("hget", 3, &["readonly", "fast"], (1, 1, 1), "hash", "Returns the value of a field in a hash.", hget),
    Command::new("hmget", -3, &["readonly", "fast"], (1, 1, 1), "hash", "Returns the values of all fields in a hash.", hmget),
    Command::new("hdel", -3, &["write", "fast"], (1, 1, 1), "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel),
    Command::new("hexists", 3, &["readonly", "fast"], (1, 1, 1), "hash", "Determines whether a field exists in a hash.", hexists),
    Command::new("hlen", 2, &["readonly", "fast"], (1, 1, 1), "hash", "Returns the number of fields in a hash.", hlen),
    Command::new("hstrlen", 3, &["readonly", "fast"], (1, 1, 1), "hash", "Returns the length of the value of a field.", hstrlen),
    Command::new("hkeys", 2, &["readonly"], (1, 1, 1), "hash", "Returns all fields in a hash.", hkeys),
    Command::new("hvals", 2, &["readonly"], (1, 1, 1), "hash", "Returns all values in a hash.", hvals),
    Command::new("hgetall", 2, &["readonly"], (1, 1, 1), "hash", "Returns all fields and values in a hash.", hgetall),
    Command::new("hincrby", 4, &["write", "denyoom", "fast"], (1, 1, 1), "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    Command::new("hincrbyfloat", 4, &["write", "denyoom", "fast"], (1, 1, 1), "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    Command::new("hrandfield", -2, &["readonly"], (1, 1, 1), "hash", "Returns one or more random fields from a hash.", hrandfield),
    Command::new("hscan", -3, &["readonly"], (1, 1, 1), "hash", "Iterates over fields and values of a hash.", hscan),
];

/// Bytes of a stored field value before the value itself.
const ORDER_LEN: usize = 8;

/// What a field stores: the order it was added in, then its value.
fn stored_field(order: u64, value: &[u8]) -> Bytes {
    let mut stored = Vec::with_capacity(ORDER_LEN + value.len());
    stored.extend_from_slice(&order.to_be_bytes());
    stored.extend_from_slice(value);
    Bytes::from(stored)
}

/// A stored field's order and value.
fn split_field(stored: Bytes) -> Result<(u64, Bytes), Frame> {
    if stored.len() < ORDER_LEN {
        return Err(err("ERR corrupt hash field"));
    }
    Ok((read_u64(&stored), stored.slice(ORDER_LEN..)))
}

/// The value of a stored field.
pub(super) fn field_value(stored: Bytes) -> Result<Bytes, Frame> {
    split_field(stored).map(|(_, value)| value)
}

/// (field, value) pairs from (field, stored) ones in field order: in the
/// order the fields were added when the hash is `compact` (listpack).
pub(super) fn in_reply_order(
    compact: bool,
    stored: Vec<(Bytes, Bytes)>,
) -> Result<Vec<(Bytes, Bytes)>, Frame> {
    let mut fields = stored
        .into_iter()
        .map(|(field, stored)| split_field(stored).map(|(order, value)| (order, field, value)))
        .collect::<Result<Vec<_>, Frame>>()?;
    if compact {
        fields.sort_unstable_by_key(|(order, _, _)| *order);
    }
    Ok(fields
        .into_iter()
        .map(|(_, field, value)| (field, value))
        .collect())
}

/// Live metadata that must be a hash, or WRONGTYPE.
fn hash_of(meta: Option<Meta>) -> Result<Option<Meta>, Frame> {
    super::args::of_kind(meta, KeyType::Hash)
}

/// A hash being changed in a transaction: its metadata (size, encoding) is
/// written back once by [`HashWrite::finish`].
struct HashWrite {
    meta: Meta,
    members: Members,
    existed: bool,
    /// The longest field or value written.
    longest: u64,
    limits: EncodingLimits,
}

impl HashWrite {
    /// Opens `key` for writing, creating an empty hash (fresh version) if
    /// absent; `limits` decide its encoding when it is written back.
    fn open(
        txn: &mut Txn,
        db: usize,
        key: &[u8],
        limits: EncodingLimits,
    ) -> Result<HashWrite, Frame> {
        let found = hash_of(txn.get(db, key)?)?;
        let existed = found.is_some();
        let meta = match found {
            Some(meta) => meta,
            None => Meta::collection(KeyType::Hash, txn.new_version()),
        };
        let members = txn.members(db, key, &meta);
        Ok(HashWrite {
            meta,
            members,
            existed,
            longest: 0,
            limits,
        })
    }

    /// A field's order and value.
    fn get_stored(&self, txn: &mut Txn, field: &[u8]) -> Result<Option<(u64, Bytes)>, Frame> {
        txn.member(&self.members, field)?
            .map(split_field)
            .transpose()
    }

    fn get(&self, txn: &mut Txn, field: &[u8]) -> Result<Option<Bytes>, Frame> {
        Ok(self.get_stored(txn, field)?.map(|(_, value)| value))
    }

    /// Sets a field (a new one goes last in the insertion order); returns
    /// whether it is new.
    fn set(&mut self, txn: &mut Txn, field: &[u8], value: &[u8]) -> Result<bool, Frame> {
        let old_order = self.get_stored(txn, field)?.map(|(order, _)| order);
        let order = old_order.unwrap_or_else(|| txn.new_version());
        self.longest = self.longest.max(field.len().max(value.len()) as u64);
        txn.member_put(&self.members, field, stored_field(order, value));
        let new = old_order.is_none();
        if new {
            self.meta.set_size(self.meta.size() + 1);
        }
        Ok(new)
    }

    /// Deletes a field; returns whether it existed.
    fn delete(&mut self, txn: &mut Txn, field: &[u8]) -> Result<bool, Frame> {
        if txn.member(&self.members, field)?.is_none() {
            return Ok(false);
        }
        txn.member_delete(&self.members, field);
        self.meta.set_size(self.meta.size().saturating_sub(1));
        Ok(true)
    }
}

/// Past `hash-max-listpack-entries` fields or with a field or value longer
/// than `hash-max-listpack-value`, a hash reports `hashtable` for good.
impl Written for HashWrite {
    const CLASS: Class = Class::Hash;

    fn into_meta(mut self) -> (Meta, bool) {
        if self.meta.size() > self.limits.hash_max_listpack_entries
            || self.longest > self.limits.hash_max_listpack_value
        {
            self.meta.encoding = ENCODING_HASHTABLE;
        }
        (self.meta, self.existed)
    }
}

/// Writes a new hash of `pairs` (distinct fields, not empty) at `key`,
/// which must be free (RESTORE deletes first).
pub(super) fn put_hash(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    pairs: Vec<(Bytes, Bytes)>,
    limits: EncodingLimits,
) -> Result<(), Frame> {
    let mut hash = HashWrite::open(txn, db, key, limits)?;
    for (field, value) in pairs {
        hash.set(txn, &field, &value)?;
    }
    let (meta, _) = hash.into_meta();
    txn.put(db, key, meta)?;
    Ok(())
}

fn field_pairs(args: &[Bytes], command: &str) -> Result<(), Frame> {
    if args.len() % 2 == 1 {
        return Err(super::wrong_arity(command));
    }
    Ok(())
}

fn set_fields(ctx: &mut Ctx, args: &[Bytes]) -> Result<i64, Frame> {
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut hash = HashWrite::open(txn, db, &args[1], limits)?;
        let mut added = 0;
        for pair in args[2..].chunks_exact(2) {
            added += i64::from(hash.set(txn, &pair[0], &pair[1])?);
        }
        hash.finish(txn, db, &args[1], "hset")?;
        Ok(added)
    })
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    field_pairs(args, "hset")?;
    Ok(Frame::Integer(set_fields(ctx, args)?))
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    field_pairs(args, "hmset")?;
    set_fields(ctx, args)?;
    Ok(Frame::ok())
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut hash = HashWrite::open(txn, db, &args[1], limits)?;
        if hash.get(txn, &args[2])?.is_some() {
            return Ok(Frame::Integer(0));
        }
        hash.set(txn, &args[2], &args[3])?;
        hash.finish(txn, db, &args[1], "hset")?;
        Ok(Frame::Integer(1))
    })
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        if hash_of(txn.get(db, &args[1])?)?.is_none() {
            return Ok(Frame::Integer(0));
        }
        let mut hash = HashWrite::open(txn, db, &args[1], limits)?;
        let mut removed = 0;
        for field in &args[2..] {
            removed += i64::from(hash.delete(txn, field)?);
        }
        if removed > 0 {
            hash.finish(txn, db, &args[1], "hdel")?;
        }
        Ok(Frame::Integer(removed))
    })
}

/// Reads one field of a hash (no lock outside a pipeline transaction).
fn read_field(ctx: &mut Ctx, key: &[u8], field: &[u8]) -> Result<Option<Bytes>, Frame> {
    ctx.with_reader(|reader, db| {
        let Some(meta) = hash_of(reader.meta(db, key)?)? else {
            return Ok(None);
        };
        let members = reader.members(db, key, &meta);
        reader.member(&members, field)?.map(field_value).transpose()
    })
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(read_field(ctx, &args[1], &args[2])?.map_or(Frame::Null, Frame::Bulk))
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(i64::from(
        read_field(ctx, &args[1], &args[2])?.is_some(),
    )))
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_field(ctx, &args[1], &args[2])?.map_or(0, |v| v.len() as i64),
    ))
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = ctx.with_reader(|reader, db| hash_of(reader.meta(db, &args[1])?))?;
    Ok(Frame::Integer(meta.map_or(0, |m| m.size() as i64)))
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_snapshot(|reader, db| {
        let meta = hash_of(reader.meta(db, &args[1])?)?;
        let mut values = Vec::with_capacity(args.len() - 2);
        let members = meta.map(|meta| reader.members(db, &args[1], &meta));
        for field in &args[2..] {
            let value = match &members {
                Some(members) => reader
                    .member(members, field)?
                    .map(field_value)
                    .transpose()?,
                None => None,
            };
            values.push(value.map_or(Frame::Null, Frame::Bulk));
        }
        Ok(Frame::Array(values))
    })
}

/// Every (field, value) of a hash in reply order ([`in_reply_order`]);
/// empty if the key is missing.
fn all_fields(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<(Bytes, Bytes)>, Frame> {
    ctx.with_snapshot(|reader, db| {
        let Some(meta) = hash_of(reader.meta(db, key)?)? else {
            return Ok(Vec::new());
        };
        let members = reader.members(db, key, &meta);
        in_reply_order(
            meta.encoding != ENCODING_HASHTABLE,
            reader.all_members(&members)?,
        )
    })
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let fields = all_fields(ctx, &args[1])?;
    Ok(Frame::Array(
        fields.into_iter().map(|(f, _)| Frame::Bulk(f)).collect(),
    ))
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let fields = all_fields(ctx, &args[1])?;
    Ok(Frame::Array(
        fields.into_iter().map(|(_, v)| Frame::Bulk(v)).collect(),
    ))
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let fields = all_fields(ctx, &args[1])?;
    Ok(Frame::Map(
        fields
            .into_iter()
            .map(|(f, v)| (Frame::Bulk(f), Frame::Bulk(v)))
            .collect(),
    ))
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[3])?;
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut hash = HashWrite::open(txn, db, &args[1], limits)?;
        let current = match hash.get(txn, &args[2])? {
            Some(value) => {
                parse_i64(&value).ok_or_else(|| err("ERR hash value is not an integer"))?
            }
            None => 0,
        };
        let new = current
            .checked_add(delta)
            .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
        hash.set(txn, &args[2], new.to_string().as_bytes())?;
        hash.finish(txn, db, &args[1], "hincrby")?;
        Ok(Frame::Integer(new))
    })
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = long_double::parse(&args[3]).ok_or_else(|| err(ERR_NOT_FLOAT))?;
    if delta == LongDouble::Infinite {
        return Err(err("ERR value is NaN or Infinity"));
    }
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut hash = HashWrite::open(txn, db, &args[1], limits)?;
        let current = match hash.get(txn, &args[2])? {
            Some(value) => {
                long_double::parse(&value).ok_or_else(|| err("ERR hash value is not a float"))?
            }
            None => long_double::ZERO,
        };
        // Same arithmetic and printing as INCRBYFLOAT.
        let sum = long_double::add(current, delta)
            .ok_or_else(|| err("ERR increment would produce NaN or Infinity"))?;
        let text = Bytes::from(long_double::format(sum));
        hash.set(txn, &args[2], &text)?;
        // The sum as computed here, not recomputed by the replica.
        txn.propagate(Effect::command(db, [b"HSET", &args[1], &args[2], &text]));
        hash.finish(txn, db, &args[1], "hincrbyfloat")?;
        Ok(Frame::Bulk(text))
    })
}

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let fields = all_fields(ctx, &args[1])?;
        if fields.is_empty() {
            return Ok(Frame::Null);
        }
        let pick = rand::random_range(0..fields.len());
        return Ok(Frame::Bulk(fields[pick].0.clone()));
    }
    let count = int_arg(&args[2])?;
    if count == i64::MIN {
        return Err(err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_values = match args.get(3) {
        None => false,
        Some(arg) if args.len() == 4 && is(arg, "withvalues") => true,
        Some(_) => return Err(err(ERR_SYNTAX)),
    };
    if with_values && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(err("ERR value is out of range"));
    }
    let fields = all_fields(ctx, &args[1])?;
    if fields.is_empty() || count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let picked: Vec<&(Bytes, Bytes)> = if count > 0 {
        // Distinct fields.
        let count = (count as u64).min(fields.len() as u64) as usize;
        if count == fields.len() {
            fields.iter().collect()
        } else {
            let mut rng = rand::rng();
            rand::seq::index::sample(&mut rng, fields.len(), count)
                .into_iter()
                .map(|i| &fields[i])
                .collect()
        }
    } else {
        // Repeats allowed.
        (0..count.unsigned_abs())
            .map(|_| &fields[rand::random_range(0..fields.len())])
            .collect()
    };
    let resp3 = ctx.client.protocol != Protocol::Resp2;
    let mut out = Vec::with_capacity(picked.len() * if with_values { 2 } else { 1 });
    for (field, value) in picked {
        match (with_values, resp3) {
            (false, _) => out.push(Frame::Bulk(field.clone())),
            (true, true) => out.push(Frame::Array(vec![
                Frame::Bulk(field.clone()),
                Frame::Bulk(value.clone()),
            ])),
            (true, false) => {
                out.push(Frame::Bulk(field.clone()));
                out.push(Frame::Bulk(value.clone()));
            }
        }
    }
    Ok(Frame::Array(out))
}

fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(mut chunk) = member_scan::scan(ctx, args, KeyType::Hash)? else {
        return Ok(member_scan::Chunk::reply(0, Vec::new()));
    };
    let mut items = Vec::new();
    let members = std::mem::take(&mut chunk.members);
    for (field, value) in in_reply_order(chunk.compact, members)? {
        if chunk.matches(&field) {
            items.push(Frame::Bulk(field));
            items.push(Frame::Bulk(value));
        }
    }
    Ok(member_scan::Chunk::reply(chunk.next, items))
}
