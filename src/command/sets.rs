//! Set commands (Redis 7.0). Members live in the data partition under the
//! key's version (`keyspace::collection`) with empty values; the member
//! count is in the metadata, so SCARD is one read.
//!
//! Single-member reads (SISMEMBER, SCARD) go straight to the engine without
//! the write lock; reads of several members or keys run in the write
//! transaction, like MGET, so they see one consistent state.
//!
//! Encoding (OBJECT ENCODING), Redis 7.0's rule: `intset` while every member
//! is an integer (`string2ll`) and there are at most 512, then `hashtable`
//! for good (`Meta::encoding` = `ENCODING_HASHTABLE`).

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::notify::Written;
use super::{member_scan, Command, Ctx, KeySpec};
use crate::config::EncodingLimits;
use crate::keyspace::encoding::ENCODING_HASHTABLE;
use crate::keyspace::{Effect, KeyRead, KeyType, Members, Meta, Txn};
use crate::notify::Class;
use crate::resp::Frame;
use crate::sds::string2ll;
use bytes::Bytes;
use std::collections::BTreeSet;

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, &["write", "denyoom", "fast"], (1, 1, 1), "set", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd).with_key_specs(&[key(&["RW", "insert"], 1, 0)]),
    Command::new("srem", -3, &["write", "fast"], (1, 1, 1), "set", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem).with_key_specs(&[key(&["RW", "delete"], 1, 0)]),
    Command::new("sismember", 3, &["readonly", "fast"], (1, 1, 1), "set", "Determines whether a member belongs to a set.", sismember).with_key_specs(&[key(&["RO"], 1, 0)]),
    Command::new("smismember", -3, &["readonly", "fast"], (1, 1, 1), "set", "Determines whether multiple members belong to a set.", smismember).with_key_specs(&[key(&["RO", "access"], 1, 0)]),
    Command::new("scard", 2, &["readonly", "fast"], (1, 1, 1), "set", "Returns the number of members in a set.", scard).with_key_specs(&[key(&["RO"], 1, 0)]),
    Command::new("smembers", 2, &["readonly"], (1, 1, 1), "set", "Returns all members of a set.", smembers).with_key_specs(&[key(&["RO", "access"], 1, 0)]).with_tips(ORDER),
    Command::new("spop", -2, &["write", "fast"], (1, 1, 1), "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop).with_key_specs(&[key(&["RW", "access", "delete"], 1, 0)]).with_tips(OUTPUT),
    Command::new("srandmember", -2, &["readonly"], (1, 1, 1), "set", "Get one or multiple random members from a set", srandmember).with_key_specs(&[key(&["RO", "access"], 1, 0)]).with_tips(OUTPUT),
    Command::new("smove", 4, &["write", "fast"], (1, 2, 1), "set", "Moves a member from one set to another.", smove).with_key_specs(&[key(&["RW", "access", "delete"], 1, 0), key(&["RW", "insert"], 2, 0)]),
    Command::new("sinter", -2, &["readonly"], (1, -1, 1), "set", "Returns the intersect of multiple sets.", sinter).with_key_specs(&[key(&["RO", "access"], 1, -1)]).with_tips(ORDER),
    Command::new("sintercard", -3, &["readonly", "movablekeys"], (0, 0, 0), "set", "Returns the number of members of the intersect of multiple sets.", sintercard).with_numkeys(1),
    Command::new("sinterstore", -3, &["write", "denyoom"], (1, -1, 1), "set", "Stores the intersect of multiple sets in a key.", sinterstore).with_key_specs(&[key(&["RW", "update"], 1, 0), key(&["RO", "access"], 2, -1)]),
    Command::new("sunion", -2, &["readonly"], (1, -1, 1), "set", "Returns the union of multiple sets.", sunion).with_key_specs(&[key(&["RO", "access"], 1, -1)]).with_tips(ORDER),
    Command::new("sunionstore", -3, &["write", "denyoom"], (1, -1, 1), "set", "Stores the union of multiple sets in a key.", sunionstore).with_key_specs(&[key(&["OW", "update"], 1, 0), key(&["RO", "access"], 2, -1)]),
    Command::new("sdiff", -2, &["readonly"], (1, -1, 1), "set", "Returns the difference of multiple sets.", sdiff).with_key_specs(&[key(&["RO", "access"], 1, -1)]).with_tips(ORDER),
    Command::new("sdiffstore", -3, &["write", "denyoom"], (1, -1, 1), "set", "Stores the difference of multiple sets in a key.", sdiffstore).with_key_specs(&[key(&["OW", "update"], 1, 0), key(&["RO", "access"], 2, -1)]),
    Command::new("sscan", -3, &["readonly"], (1, 1, 1), "set", "Iterates over members of a set.", sscan).with_key_specs(&[key(&["RO", "access"], 1, 0)]).with_tips(OUTPUT),
];

/// A key spec that finds keys from argument `index` to `lastkey` (0: just
/// that one; -1: the last argument), as Redis 7.0 declares them.
const fn key(flags: &'static [&'static str], index: i32, lastkey: i32) -> KeySpec {
    KeySpec::range(flags, index, lastkey)
}

const ORDER: &[&str] = &["nondeterministic_output_order"];
const OUTPUT: &[&str] = &["nondeterministic_output"];

/// Live metadata that must be a set, or WRONGTYPE.
fn set_of(meta: Option<Meta>) -> Result<Option<Meta>, Frame> {
    super::args::of_kind(meta, KeyType::Set)
}

/// A set being changed in a transaction: its metadata (size, encoding) is
/// written back once by [`SetWrite::finish`].
struct SetWrite {
    meta: Meta,
    members: Members,
    existed: bool,
    /// A member that is not an integer was added.
    added_non_integer: bool,
    limits: EncodingLimits,
}

impl SetWrite {
    /// Opens `key` for writing, creating an empty set (fresh version) if
    /// absent; `limits` decide its encoding when it is written back.
    fn open(
        txn: &mut Txn,
        db: usize,
        key: &[u8],
        limits: EncodingLimits,
    ) -> Result<SetWrite, Frame> {
        let found = set_of(txn.get(db, key)?)?;
        let existed = found.is_some();
        let meta = match found {
            Some(meta) => meta,
            None => Meta::collection(KeyType::Set, txn.new_version()),
        };
        let members = txn.members(db, key, &meta);
        Ok(SetWrite {
            meta,
            members,
            existed,
            added_non_integer: false,
            limits,
        })
    }

    fn contains(&self, txn: &mut Txn, member: &[u8]) -> Result<bool, Frame> {
        Ok(txn.member(&self.members, member)?.is_some())
    }

    /// Adds a member; returns whether it is new.
    fn add(&mut self, txn: &mut Txn, member: &[u8]) -> Result<bool, Frame> {
        if self.contains(txn, member)? {
            return Ok(false);
        }
        txn.member_put(&self.members, member, Bytes::new());
        self.meta.set_size(self.meta.size() + 1);
        self.added_non_integer |= string2ll(member).is_none();
        Ok(true)
    }

    /// Removes a member; returns whether it was there.
    fn remove(&mut self, txn: &mut Txn, member: &[u8]) -> Result<bool, Frame> {
        if !self.contains(txn, member)? {
            return Ok(false);
        }
        txn.member_delete(&self.members, member);
        self.meta.set_size(self.meta.size().saturating_sub(1));
        Ok(true)
    }
}

/// With a member that is not an integer or more than
/// `set-max-intset-entries` members, a set reports `hashtable` for good.
impl Written for SetWrite {
    const CLASS: Class = Class::Set;

    fn into_meta(mut self) -> (Meta, bool) {
        if self.added_non_integer || self.meta.size() > self.limits.set_max_intset_entries {
            self.meta.encoding = ENCODING_HASHTABLE;
        }
        (self.meta, self.existed)
    }
}

/// Every member of a set, in byte order.
fn members_of<R: KeyRead + ?Sized>(reader: &mut R, members: &Members) -> Result<Vec<Bytes>, Frame> {
    Ok(reader
        .all_members(members)?
        .into_iter()
        .map(|(member, _)| member)
        .collect())
}

/// Every member of the set at `key`; empty if the key is missing.
fn read_members(ctx: &mut Ctx, key: &[u8]) -> Result<Vec<Bytes>, Frame> {
    ctx.with_snapshot(|reader, db| {
        let Some(meta) = set_of(reader.meta(db, key)?)? else {
            return Ok(Vec::new());
        };
        let members = reader.members(db, key, &meta);
        let mut all = members_of(reader, &members)?;
        if meta.encoding != ENCODING_HASHTABLE {
            intset_order(&mut all);
        }
        Ok(all)
    })
}

fn set_reply(members: impl IntoIterator<Item = Bytes>) -> Frame {
    Frame::Set(members.into_iter().map(Frame::Bulk).collect())
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut set = SetWrite::open(txn, db, &args[1], limits)?;
        let mut added = 0;
        for member in &args[2..] {
            added += i64::from(set.add(txn, member)?);
        }
        if added > 0 {
            set.finish(txn, db, &args[1], "sadd")?;
        }
        Ok(Frame::Integer(added))
    })
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        if set_of(txn.get(db, &args[1])?)?.is_none() {
            return Ok(Frame::Integer(0));
        }
        let mut set = SetWrite::open(txn, db, &args[1], limits)?;
        let mut removed = 0;
        for member in &args[2..] {
            removed += i64::from(set.remove(txn, member)?);
        }
        if removed > 0 {
            set.finish(txn, db, &args[1], "srem")?;
        }
        Ok(Frame::Integer(removed))
    })
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found = ctx.with_reader(|reader, db| {
        let Some(meta) = set_of(reader.meta(db, &args[1])?)? else {
            return Ok(false);
        };
        let members = reader.members(db, &args[1], &meta);
        Ok(reader.member(&members, &args[2])?.is_some())
    })?;
    Ok(Frame::Integer(i64::from(found)))
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_snapshot(|reader, db| {
        let meta = set_of(reader.meta(db, &args[1])?)?;
        let members = meta.map(|meta| reader.members(db, &args[1], &meta));
        let mut out = Vec::with_capacity(args.len() - 2);
        for member in &args[2..] {
            let found = match &members {
                Some(members) => reader.member(members, member)?.is_some(),
                None => false,
            };
            out.push(Frame::Integer(i64::from(found)));
        }
        Ok(Frame::Array(out))
    })
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = ctx.with_reader(|reader, db| set_of(reader.meta(db, &args[1])?))?;
    Ok(Frame::Integer(meta.map_or(0, |m| m.size() as i64)))
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(set_reply(read_members(ctx, &args[1])?))
}

/// Puts the members of an `intset` encoded set (all integers) in numeric
/// order, the order Redis' intset replies in (members are stored in byte
/// order).
pub(super) fn intset_order(members: &mut [Bytes]) {
    members.sort_by_key(|m| string2ll(m).unwrap_or(0));
}

/// `count` distinct random picks out of `len` (all of them, in order, when
/// `count >= len`).
fn distinct_picks(len: usize, count: u64) -> Vec<usize> {
    if count >= len as u64 {
        return (0..len).collect();
    }
    let mut rng = rand::rng();
    rand::seq::index::sample(&mut rng, len, count as usize).into_vec()
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => match string2ll(&args[2]) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(err("ERR value is out of range, must be positive")),
        },
        _ => return Err(err(ERR_SYNTAX)),
    };
    let key = &args[1];
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let Some(meta) = set_of(txn.get(db, key)?)? else {
            return Ok(match count {
                None => Frame::Null,
                Some(_) => Frame::Set(Vec::new()),
            });
        };
        if count == Some(0) {
            return Ok(Frame::Set(Vec::new()));
        }
        let members = txn.members(db, key, &meta);
        let all = members_of(txn, &members)?;
        let picks = match count {
            None => vec![rand::random_range(0..all.len().max(1))],
            Some(count) => distinct_picks(all.len(), count),
        };
        let popped: Vec<Bytes> = picks
            .into_iter()
            .filter_map(|i| all.get(i).cloned())
            .collect();
        let mut set = SetWrite::open(txn, db, key, limits)?;
        for member in &popped {
            set.remove(txn, member)?;
        }
        // The members this node picked at random, not a pick of the replica's.
        if !popped.is_empty() {
            let mut srem = vec![Bytes::from_static(b"SREM"), key.clone()];
            srem.extend(popped.iter().cloned());
            txn.propagate(Effect::Command { db, args: srem });
        }
        set.finish(txn, db, key, "spop")?;
        Ok(match count {
            None => popped.into_iter().next().map_or(Frame::Null, Frame::Bulk),
            Some(_) => set_reply(popped),
        })
    })
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let all = read_members(ctx, &args[1])?;
        if all.is_empty() {
            return Ok(Frame::Null);
        }
        return Ok(Frame::Bulk(all[rand::random_range(0..all.len())].clone()));
    }
    if args.len() > 3 {
        return Err(err(ERR_SYNTAX));
    }
    let count = int_arg(&args[2])?;
    if count == i64::MIN {
        return Err(err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let all = read_members(ctx, &args[1])?;
    if all.is_empty() || count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let picked: Vec<Frame> = if count > 0 {
        distinct_picks(all.len(), count as u64)
            .into_iter()
            .map(|i| Frame::Bulk(all[i].clone()))
            .collect()
    } else {
        // Repeats allowed.
        (0..count.unsigned_abs())
            .map(|_| Frame::Bulk(all[rand::random_range(0..all.len())].clone()))
            .collect()
    };
    Ok(Frame::Array(picked))
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let Some(src_meta) = txn.get(db, src)? else {
            return Ok(Frame::Integer(0));
        };
        let src_meta = set_of(Some(src_meta))?;
        set_of(txn.get(db, dst)?)?;
        if src == dst {
            let Some(meta) = src_meta else {
                return Ok(Frame::Integer(0));
            };
            let members = txn.members(db, src, &meta);
            let found = txn.member(&members, member)?.is_some();
            return Ok(Frame::Integer(i64::from(found)));
        }
        let mut from = SetWrite::open(txn, db, src, limits)?;
        if !from.remove(txn, member)? {
            return Ok(Frame::Integer(0));
        }
        from.finish(txn, db, src, "srem")?;
        let mut to = SetWrite::open(txn, db, dst, limits)?;
        if to.add(txn, member)? {
            to.finish(txn, db, dst, "sadd")?;
        }
        Ok(Frame::Integer(1))
    })
}

/// The sets at `keys` (None for a missing key), every key type-checked
/// before anything is read, like Redis.
fn open_sets<R: KeyRead + ?Sized>(
    reader: &mut R,
    db: usize,
    keys: &[Bytes],
) -> Result<Vec<Option<SetRead>>, Frame> {
    let mut metas = Vec::with_capacity(keys.len());
    for key in keys {
        metas.push(set_of(reader.meta(db, key)?)?);
    }
    Ok(keys
        .iter()
        .zip(metas)
        .map(|(key, meta)| {
            meta.map(|meta| SetRead {
                size: meta.size(),
                members: reader.members(db, key, &meta),
            })
        })
        .collect())
}

struct SetRead {
    size: u64,
    members: Members,
}

/// The intersection of `sets` in byte order, at most `limit` members
/// (0: no limit). Walks the smallest set and looks its members up in the
/// others.
fn intersect<R: KeyRead + ?Sized>(
    reader: &mut R,
    sets: Vec<Option<SetRead>>,
    limit: usize,
) -> Result<Vec<Bytes>, Frame> {
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<SetRead>>>() else {
        return Ok(Vec::new()); // a missing key is an empty set
    };
    sets.sort_by_key(|set| set.size);
    let Some((smallest, others)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    const CHUNK: usize = 1024;
    let mut out = Vec::new();
    let mut after: Option<Bytes> = None;
    loop {
        let chunk = reader.member_range(&smallest.members, after.as_deref(), CHUNK)?;
        let done = chunk.len() < CHUNK;
        for (member, _) in chunk {
            let mut everywhere = true;
            for other in others {
                if reader.member(&other.members, &member)?.is_none() {
                    everywhere = false;
                    break;
                }
            }
            if everywhere {
                out.push(member.clone());
                if limit != 0 && out.len() >= limit {
                    return Ok(out);
                }
            }
            after = Some(member);
        }
        if done {
            return Ok(out);
        }
    }
}

fn union<R: KeyRead + ?Sized>(
    reader: &mut R,
    sets: Vec<Option<SetRead>>,
) -> Result<Vec<Bytes>, Frame> {
    let mut out = BTreeSet::new();
    for set in sets.into_iter().flatten() {
        out.extend(members_of(reader, &set.members)?);
    }
    Ok(out.into_iter().collect())
}

fn difference<R: KeyRead + ?Sized>(
    reader: &mut R,
    sets: Vec<Option<SetRead>>,
) -> Result<Vec<Bytes>, Frame> {
    let mut sets = sets.into_iter();
    let Some(Some(first)) = sets.next() else {
        return Ok(Vec::new());
    };
    let others: Vec<SetRead> = sets.flatten().collect();
    let mut out = Vec::new();
    for member in members_of(reader, &first.members)? {
        let mut elsewhere = false;
        for other in &others {
            if reader.member(&other.members, &member)?.is_some() {
                elsewhere = true;
                break;
            }
        }
        if !elsewhere {
            out.push(member);
        }
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

fn compute<R: KeyRead + ?Sized>(
    reader: &mut R,
    db: usize,
    op: SetOp,
    keys: &[Bytes],
) -> Result<Vec<Bytes>, Frame> {
    let sets = open_sets(reader, db, keys)?;
    match op {
        SetOp::Inter => intersect(reader, sets, 0),
        SetOp::Union => union(reader, sets),
        SetOp::Diff => difference(reader, sets),
    }
}

/// Replaces whatever is at `dst` with a set of `result` (deletes it when
/// the result is empty) and reports `event` (or `del`); returns the new
/// size.
fn store_set(
    txn: &mut Txn,
    db: usize,
    dst: &[u8],
    result: Vec<Bytes>,
    (limits, event): (EncodingLimits, &'static str),
) -> Result<i64, Frame> {
    if result.is_empty() {
        if txn.delete(db, dst)? {
            txn.notify(db, Class::Generic, "del", dst);
        }
        return Ok(0);
    }
    put_set(txn, db, dst, &result, limits)?;
    txn.notify(db, Class::Set, event, dst);
    Ok(result.len() as i64)
}

/// Writes a new set of the distinct, non-empty `members` at `key` (over
/// whatever was there), encoded by Redis 7.0's intset rule.
pub(super) fn put_set(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    members: &[Bytes],
    limits: EncodingLimits,
) -> Result<(), Frame> {
    let mut meta = Meta::collection(KeyType::Set, txn.new_version());
    let data = txn.members(db, key, &meta);
    let mut intset = members.len() as u64 <= limits.set_max_intset_entries;
    for member in members {
        intset = intset && string2ll(member).is_some();
        txn.member_put(&data, member, Bytes::new());
    }
    meta.set_size(members.len() as u64);
    if !intset {
        meta.encoding = ENCODING_HASHTABLE;
    }
    txn.put(db, key, meta)?;
    Ok(())
}

fn read_op(ctx: &mut Ctx, op: SetOp, keys: &[Bytes]) -> CmdResult {
    let result = ctx.with_snapshot(|reader, db| compute(reader, db, op, keys))?;
    Ok(set_reply(result))
}

fn store_op(ctx: &mut Ctx, op: SetOp, args: &[Bytes]) -> CmdResult {
    let limits = ctx.encoding_limits();
    let event = match op {
        SetOp::Inter => "sinterstore",
        SetOp::Union => "sunionstore",
        SetOp::Diff => "sdiffstore",
    };
    ctx.write(|txn, db| {
        let result = compute(txn, db, op, &args[2..])?;
        let stored = store_set(txn, db, &args[1], result, (limits, event))?;
        Ok(Frame::Integer(stored))
    })
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_op(ctx, SetOp::Inter, &args[1..])
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_op(ctx, SetOp::Union, &args[1..])
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_op(ctx, SetOp::Diff, &args[1..])
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    store_op(ctx, SetOp::Inter, args)
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    store_op(ctx, SetOp::Union, args)
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    store_op(ctx, SetOp::Diff, args)
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match string2ll(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(err("ERR numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys = &args[2..2 + numkeys as usize];
    let mut limit = 0usize;
    let mut i = 2 + numkeys as usize;
    while i < args.len() {
        if is(&args[i], "limit") && i + 1 < args.len() {
            limit = match string2ll(&args[i + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(err("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(err(ERR_SYNTAX));
        }
    }
    let result = ctx.with_snapshot(|reader, db| {
        let sets = open_sets(reader, db, keys)?;
        intersect(reader, sets, limit)
    })?;
    Ok(Frame::Integer(result.len() as i64))
}

fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(chunk) = member_scan::scan(ctx, args, KeyType::Set)? else {
        return Ok(member_scan::Chunk::reply(0, Vec::new()));
    };
    let mut members: Vec<Bytes> = chunk.members.iter().map(|(m, _)| m.clone()).collect();
    if chunk.compact {
        intset_order(&mut members);
    }
    let items = members
        .into_iter()
        .filter(|member| chunk.matches(member))
        .map(Frame::Bulk)
        .collect();
    Ok(member_scan::Chunk::reply(chunk.next, items))
}
