//! Sorted-set commands (Redis 7.0, plus 7.2's ZRANK/ZREVRANK WITHSCORE; the
//! blocking forms live with the other blocking commands and reuse [`pop`]).
//!
//! A sorted set is two views of one collection version
//! (`keyspace::collection`): in the data partition member → score, so
//! ZSCORE and ZADD's lookups are point reads; in the zscore partition the
//! score index `score | member` → empty (`Members::score_index`), so
//! score order is key order and ZRANGE BYSCORE, ZPOPMIN and friends are
//! range scans. Scores are stored as `encoding::score_bytes` in both (-0 is
//! stored as 0: Redis treats them as one score). The member count is in the
//! metadata (ZCARD is one read).
//!
//! Rank operations (ZRANK, ZRANGE by index, ZREMRANGEBYRANK) walk the index
//! from the nearer end: O(rank), where Redis' skiplist is O(log n); BYLEX
//! ranges walk from the edge of the set (O(skipped + returned)).
//!
//! Single-member reads (ZSCORE, ZCARD, ZRANK) go straight to the engine
//! without the write lock; reads of several members or of ranges run in
//! the write transaction, like MGET, so they see one consistent state.
//!
//! OBJECT ENCODING, Redis 7.0's rule: `listpack` while there are at most
//! `zset-max-listpack-entries` (128) members of at most
//! `zset-max-listpack-value` (64) bytes, then `skiplist` for good.

use super::args::{counted_keys, err, float_arg, is, CmdResult, ERR_SYNTAX};
use super::{member_scan, wrong_arity, Command, Ctx, FindKeys, KeySpec};
use crate::config::EncodingLimits;
use crate::keyspace::{Effect, KeyType, Txn};
use crate::resp::Frame;
use crate::sds::string2ll;
use bytes::Bytes;

use super::zset_algebra::{
    zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore,
};
use super::zset_ranges::{
    zcount, zlexcount, zrange, zrangebylex, zrangebyscore, zrangestore, zremrangebylex,
    zremrangebyrank, zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore,
};
use super::zset_value::{
    decode_score, members_reply, pairs_reply, scored_reply, zset_of, ZSet, ZSetWrite,
};

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, &["write", "denyoom", "fast"], (1, 1, 1), "sorted-set", "Add one or more members to a sorted set, or update its score if it already exists", zadd).with_key_specs(&[key(&["RW", "update"], 1)]),
    Command::new("zincrby", 4, &["write", "denyoom", "fast"], (1, 1, 1), "sorted-set", "Increment the score of a member in a sorted set", zincrby).with_key_specs(&[key(&["RW", "access", "update"], 1)]),
    Command::new("zrem", -3, &["write", "fast"], (1, 1, 1), "sorted-set", "Remove one or more members from a sorted set", zrem).with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new("zcard", 2, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Get the number of members in a sorted set", zcard).with_key_specs(&[key(&["RO"], 1)]),
    Command::new("zcount", 4, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Count the members in a sorted set with scores within the given values", zcount).with_key_specs(READ),
    Command::new("zlexcount", 4, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Count the number of members in a sorted set between a given lexicographical range", zlexcount).with_key_specs(READ),
    Command::new("zscore", 3, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Get the score associated with the given member in a sorted set", zscore).with_key_specs(READ),
    Command::new("zmscore", -3, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Get the score associated with the given members in a sorted set", zmscore).with_key_specs(READ),
    Command::new("zrank", -3, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Determine the index of a member in a sorted set", zrank).with_key_specs(READ),
    Command::new("zrevrank", -3, &["readonly", "fast"], (1, 1, 1), "sorted-set", "Determine the index of a member in a sorted set, with scores ordered from high to low", zrevrank).with_key_specs(READ),
    Command::new("zrange", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set", zrange).with_key_specs(READ),
    Command::new("zrangestore", -5, &["write", "denyoom"], (1, 2, 1), "sorted-set", "Store a range of members from sorted set into another key", zrangestore).with_key_specs(&[key(&["OW", "update"], 1), key(&["RO", "access"], 2)]),
    Command::new("zrevrange", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set, by index, with scores ordered from high to low", zrevrange).with_key_specs(READ),
    Command::new("zrangebyscore", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set, by score", zrangebyscore).with_key_specs(READ),
    Command::new("zrevrangebyscore", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set, by score, with scores ordered from high to low", zrevrangebyscore).with_key_specs(READ),
    Command::new("zrangebylex", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set, by lexicographical range", zrangebylex).with_key_specs(READ),
    Command::new("zrevrangebylex", -4, &["readonly"], (1, 1, 1), "sorted-set", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", zrevrangebylex).with_key_specs(READ),
    Command::new("zremrangebyrank", 4, &["write"], (1, 1, 1), "sorted-set", "Remove all members in a sorted set within the given indexes", zremrangebyrank).with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new("zremrangebyscore", 4, &["write"], (1, 1, 1), "sorted-set", "Remove all members in a sorted set within the given scores", zremrangebyscore).with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new("zremrangebylex", 4, &["write"], (1, 1, 1), "sorted-set", "Remove all members in a sorted set between the given lexicographical range", zremrangebylex).with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new("zpopmin", -2, &["write", "fast"], (1, 1, 1), "sorted-set", "Remove and return members with the lowest scores in a sorted set", zpopmin).with_key_specs(&[key(&["RW", "access", "delete"], 1)]),
    Command::new("zpopmax", -2, &["write", "fast"], (1, 1, 1), "sorted-set", "Remove and return members with the highest scores in a sorted set", zpopmax).with_key_specs(&[key(&["RW", "access", "delete"], 1)]),
    Command::new("zmpop", -4, &["write", "movablekeys"], (0, 0, 0), "sorted-set", "Remove and return members with scores in a sorted set", zmpop).with_numkeys(1).with_key_specs(&[keynum(&["RW", "access", "delete"], 1)]),
    Command::new("zrandmember", -2, &["readonly"], (1, 1, 1), "sorted-set", "Get one or multiple random elements from a sorted set", zrandmember).with_key_specs(READ).with_tips(OUTPUT),
    Command::new("zunion", -3, &["readonly", "movablekeys"], (0, 0, 0), "sorted-set", "Add multiple sorted sets", zunion).with_numkeys(1).with_key_specs(&[keynum(&["RO", "access"], 1)]),
    Command::new("zinter", -3, &["readonly", "movablekeys"], (0, 0, 0), "sorted-set", "Intersect multiple sorted sets", zinter).with_numkeys(1).with_key_specs(&[keynum(&["RO", "access"], 1)]),
    Command::new("zdiff", -3, &["readonly", "movablekeys"], (0, 0, 0), "sorted-set", "Subtract multiple sorted sets", zdiff).with_numkeys(1).with_key_specs(&[keynum(&["RO", "access"], 1)]),
    Command::new("zunionstore", -4, &["write", "denyoom", "movablekeys"], (1, 1, 1), "sorted-set", "Add multiple sorted sets and store the resulting sorted set in a new key", zunionstore).with_numkeys(2).with_key_specs(STORE),
    Command::new("zinterstore", -4, &["write", "denyoom", "movablekeys"], (1, 1, 1), "sorted-set", "Intersect multiple sorted sets and store the resulting sorted set in a new key", zinterstore).with_numkeys(2).with_key_specs(STORE),
    Command::new("zdiffstore", -4, &["write", "denyoom", "movablekeys"], (1, 1, 1), "sorted-set", "Subtract multiple sorted sets and store the resulting sorted set in a new key", zdiffstore).with_numkeys(2).with_key_specs(STORE),
    Command::new("zintercard", -3, &["readonly", "movablekeys"], (0, 0, 0), "sorted-set", "Intersect multiple sorted sets and return the cardinality of the result", zintercard).with_numkeys(1).with_key_specs(&[keynum(&["RO", "access"], 1)]),
    Command::new("zscan", -3, &["readonly"], (1, 1, 1), "sorted-set", "Incrementally iterate sorted sets elements and associated scores", zscan).with_key_specs(READ).with_tips(OUTPUT),
];

/// The one key at argument `index`, as Redis 7.0 declares it.
const fn key(flags: &'static [&'static str], index: i32) -> KeySpec {
    KeySpec::range(flags, index, 0)
}

/// Keys counted by the argument at `index`, following it.
const fn keynum(flags: &'static [&'static str], index: i32) -> KeySpec {
    KeySpec {
        flags,
        index,
        find: FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            step: 1,
        },
        notes: "",
    }
}

const READ: &[KeySpec] = &[key(&["RO", "access"], 1)];
const STORE: &[KeySpec] = &[key(&["OW", "update"], 1), keynum(&["RO", "access"], 2)];
const OUTPUT: &[&str] = &["nondeterministic_output"];

pub const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";
const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";

/// How ZADD treats members that exist (or not) and what it replies.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut flags = AddFlags::default();
    let mut i = 2;
    while let Some(arg) = args.get(i) {
        let flag = match arg {
            a if is(a, "nx") => &mut flags.nx,
            a if is(a, "xx") => &mut flags.xx,
            a if is(a, "gt") => &mut flags.gt,
            a if is(a, "lt") => &mut flags.lt,
            a if is(a, "ch") => &mut flags.ch,
            a if is(a, "incr") => &mut flags.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(err(ERR_SYNTAX));
    }
    if flags.nx && flags.xx {
        return Err(err(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if [flags.gt, flags.lt, flags.nx]
        .iter()
        .filter(|f| **f)
        .count()
        > 1
    {
        return Err(err(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && pairs.len() > 2 {
        return Err(err(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scored = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        scored.push((float_arg(&pair[0])?, &pair[1]));
    }
    let key = &args[1];
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let exists = zset_of(txn.get(db, key)?)?.is_some();
        if flags.xx && !exists {
            return Ok(if flags.incr {
                Frame::Null
            } else {
                Frame::Integer(0)
            });
        }
        let mut zset = ZSetWrite::open(txn, db, key)?;
        let (mut added, mut updated) = (0, 0);
        let mut last = None;
        for (score, member) in scored {
            match add(txn, &mut zset, &flags, member, score, limits)? {
                Added::New(score) => {
                    added += 1;
                    last = Some(score);
                }
                Added::Updated(score) => {
                    updated += 1;
                    last = Some(score);
                }
                Added::Same(score) => last = Some(score),
                Added::Skipped => last = None,
            }
        }
        zset.finish(txn, db, key, if flags.incr { "zincr" } else { "zadd" })?;
        Ok(match (flags.incr, last) {
            (true, Some(score)) => Frame::Double(score),
            (true, None) => Frame::Null,
            (false, _) if flags.ch => Frame::Integer(added + updated),
            (false, _) => Frame::Integer(added),
        })
    })
}

/// What [`add`] did, with the member's score after it.
enum Added {
    New(f64),
    Updated(f64),
    Same(f64),
    Skipped,
}

/// Redis' `zsetAdd`: one member of ZADD (or ZINCRBY, as ZADD INCR).
fn add(
    txn: &mut Txn,
    zset: &mut ZSetWrite,
    flags: &AddFlags,
    member: &[u8],
    score: f64,
    limits: EncodingLimits,
) -> Result<Added, Frame> {
    match zset.score(txn, member)? {
        Some(_) if flags.nx => Ok(Added::Skipped),
        Some(current) => {
            let score = if flags.incr { current + score } else { score };
            if score.is_nan() {
                return Err(err(ERR_NAN));
            }
            if (flags.lt && score >= current) || (flags.gt && score <= current) {
                return Ok(Added::Skipped);
            }
            if score == current {
                return Ok(Added::Same(score));
            }
            zset.set(txn, member, score, Some(current), limits);
            Ok(Added::Updated(score))
        }
        None if flags.xx => Ok(Added::Skipped),
        None => {
            zset.set(txn, member, score, None, limits);
            Ok(Added::New(score))
        }
    }
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let increment = float_arg(&args[2])?;
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let mut zset = ZSetWrite::open(txn, db, &args[1])?;
        let reply = match add(txn, &mut zset, &flags, &args[3], increment, limits)? {
            Added::New(score) | Added::Updated(score) | Added::Same(score) => Frame::Double(score),
            Added::Skipped => Frame::Null,
        };
        zset.finish(txn, db, &args[1], "zincr")?;
        Ok(reply)
    })
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let Some(mut zset) = ZSetWrite::existing(txn, db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        let removed = args[2..]
            .iter()
            .map(|member| zset.remove(txn, member))
            .collect::<Result<Vec<bool>, Frame>>()?;
        zset.finish(txn, db, &args[1], "zrem")?;
        Ok(Frame::Integer(removed.iter().filter(|r| **r).count() as i64))
    })
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = ctx.with_reader(|reader, db| zset_of(reader.meta(db, &args[1])?))?;
    Ok(Frame::Integer(meta.map_or(0, |m| m.size() as i64)))
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let score = ctx.with_reader(|reader, db| match ZSet::open(reader, db, &args[1])? {
        Some(zset) => zset.score(reader, &args[2]),
        None => Ok(None),
    })?;
    Ok(score.map_or(Frame::Null, Frame::Double))
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_snapshot(|reader, db| {
        let zset = ZSet::open(reader, db, &args[1])?;
        let mut out = Vec::with_capacity(args.len() - 2);
        for member in &args[2..] {
            let score = match &zset {
                Some(zset) => zset.score(reader, member)?,
                None => None,
            };
            out.push(score.map_or(Frame::Null, Frame::Double));
        }
        Ok(Frame::Array(out))
    })
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_of(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_of(ctx, args, true)
}

/// ZRANK / ZREVRANK key member [WITHSCORE] (WITHSCORE is Redis 7.2's).
fn rank_of(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(wrong_arity(if rev { "zrevrank" } else { "zrank" }));
    }
    let with_score = match args.get(3) {
        None => false,
        Some(arg) if is(arg, "withscore") => true,
        Some(_) => return Err(err(ERR_SYNTAX)),
    };
    let found = ctx.with_reader(|reader, db| {
        let Some(zset) = ZSet::open(reader, db, &args[1])? else {
            return Ok(None);
        };
        let Some(score) = zset.score(reader, &args[2])? else {
            return Ok(None);
        };
        let rank = zset.rank(reader, &args[2], score)?;
        let rank = if rev {
            zset.size.saturating_sub(rank + 1)
        } else {
            rank
        };
        Ok(Some((rank as i64, score)))
    })?;
    Ok(match (found, with_score) {
        (Some((rank, score)), true) => {
            Frame::Array(vec![Frame::Integer(rank), Frame::Double(score)])
        }
        (Some((rank, _)), false) => Frame::Integer(rank),
        (None, true) => Frame::NullArray,
        (None, false) => Frame::Null,
    })
}

/// Removes and returns up to `count` members with the lowest scores (the
/// highest when `max`) from the sorted set at `key`, deleting it when it
/// empties. `None` when the key does not exist. ZPOPMIN, ZPOPMAX, ZMPOP
/// and the blocking forms share it.
pub fn pop(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Bytes, f64)>>, Frame> {
    let Some(mut zset) = ZSetWrite::existing(txn, db, key)? else {
        return Ok(None);
    };
    let popped = zset.zset.edge(txn, max, count)?;
    for (member, score) in &popped {
        zset.remove_scored(txn, member, *score);
    }
    if !popped.is_empty() {
        // ZPOPMIN/ZPOPMAX of what was popped, whichever command popped it
        // (BZPOPMIN, ZMPOP, ...): a replica must not block or pick a key.
        let count = popped.len().to_string();
        let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        txn.propagate(Effect::command(db, [name, key, count.as_bytes()]));
    }
    zset.finish(txn, db, key, if max { "zpopmax" } else { "zpopmin" })?;
    Ok(Some(popped))
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, true)
}

/// ZPOPMIN / ZPOPMAX key [count]: without a count one flat
/// `[member, score]`, with one the WITHSCORES shape.
fn pop_command(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => match string2ll(&args[2]) {
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Err(err(ERR_POSITIVE)),
        },
        _ => return Err(err(ERR_SYNTAX)),
    };
    // A count of 0 still checks the key's type first, as Redis does.
    let popped = ctx.write(|txn, db| pop(txn, db, &args[1], max, count.unwrap_or(1)))?;
    let popped = popped.unwrap_or_default();
    Ok(match count {
        Some(_) => scored_reply(ctx.client.protocol, popped),
        None => Frame::Array(
            popped
                .into_iter()
                .flat_map(|(member, score)| [Frame::Bulk(member), Frame::Double(score)])
                .collect(),
        ),
    })
}

/// A count argument in `1..=i64::MAX`, or `message` (also for a
/// non-integer, like Redis' `getRangeLongFromObjectOrReply` with a message).
fn positive(arg: &[u8], message: &str) -> Result<usize, Frame> {
    match string2ll(arg) {
        Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(err(message)),
    }
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = zmpop_args(args, 1)?;
    let popped = ctx.write(|txn, db| {
        for key in keys {
            if let Some(popped) = pop(txn, db, key, max, count)? {
                return Ok(Some((key.clone(), popped)));
            }
        }
        Ok(None)
    })?;
    Ok(popped.map_or(Frame::NullArray, |(key, popped)| mpop_reply(key, popped)))
}

/// ZMPOP's (and BZMPOP's, numkeys at 2) arguments after the command name
/// and timeout: `numkeys key [key ...] MIN|MAX [COUNT count]` → the keys,
/// whether from the top, and the count.
pub(super) fn zmpop_args(
    args: &[Bytes],
    numkeys_at: usize,
) -> Result<(&[Bytes], bool, usize), Frame> {
    let numkeys = positive(&args[numkeys_at], "ERR numkeys should be greater than 0")?;
    let keys = counted_keys(args, numkeys_at, numkeys)?;
    let mut rest = args[numkeys_at + 1 + keys.len()..].iter();
    let max = match rest.next() {
        Some(arg) if is(arg, "min") => false,
        Some(arg) if is(arg, "max") => true,
        _ => return Err(err(ERR_SYNTAX)),
    };
    let mut count = None;
    while let Some(arg) = rest.next() {
        match rest.next() {
            Some(value) if is(arg, "count") && count.is_none() => {
                count = Some(positive(value, "ERR count should be greater than 0")?);
            }
            _ => return Err(err(ERR_SYNTAX)),
        }
    }
    Ok((keys, max, count.unwrap_or(1)))
}

/// ZMPOP's (and BZMPOP's) reply: `[key, [[member, score], ...]]` in both
/// protocols.
pub fn mpop_reply(key: Bytes, popped: Vec<(Bytes, f64)>) -> Frame {
    Frame::Array(vec![Frame::Bulk(key), pairs_reply(popped)])
}

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let read_all = |ctx: &mut Ctx| {
        ctx.with_snapshot(|reader, db| match ZSet::open(reader, db, key)? {
            Some(zset) => zset.edge(reader, false, usize::MAX),
            None => Ok(Vec::new()),
        })
    };
    let Some(count) = args.get(2) else {
        let all = read_all(ctx)?;
        if all.is_empty() {
            return Ok(Frame::Null);
        }
        return Ok(Frame::Bulk(all[rand::random_range(0..all.len())].0.clone()));
    };
    let count = match string2ll(count) {
        Some(i64::MIN) => {
            return Err(err(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        Some(n) => n,
        None => return Err(err(super::args::ERR_NOT_INTEGER)),
    };
    let with_scores = match args.get(3) {
        None => false,
        Some(arg) if args.len() == 4 && is(arg, "withscores") => true,
        Some(_) => return Err(err(ERR_SYNTAX)),
    };
    if with_scores && count.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Err(err("ERR value is out of range"));
    }
    let all = read_all(ctx)?;
    if all.is_empty() || count == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let picked: Vec<(Bytes, f64)> = if count > 0 {
        let count = (count as u64).min(all.len() as u64) as usize;
        if count == all.len() {
            all
        } else {
            let mut rng = rand::rng();
            rand::seq::index::sample(&mut rng, all.len(), count)
                .into_iter()
                .map(|i| all[i].clone())
                .collect()
        }
    } else {
        // Repeats allowed.
        (0..count.unsigned_abs())
            .map(|_| all[rand::random_range(0..all.len())].clone())
            .collect()
    };
    Ok(members_reply(ctx.client.protocol, picked, with_scores))
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(chunk) = member_scan::scan(ctx, args, KeyType::ZSet)? else {
        return Ok(member_scan::Chunk::reply(0, Vec::new()));
    };
    let mut scored = Vec::with_capacity(chunk.members.len());
    for (member, raw) in &chunk.members {
        if chunk.matches(member) {
            scored.push((member.clone(), decode_score(raw)?));
        }
    }
    if chunk.compact {
        // A listpack is in score order.
        scored.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    }
    let items = scored
        .into_iter()
        .flat_map(|(member, score)| {
            [
                Frame::Bulk(member),
                Frame::Bulk(crate::resp::format_double(score).into()),
            ]
        })
        .collect();
    Ok(member_scan::Chunk::reply(chunk.next, items))
}
