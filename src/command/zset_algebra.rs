//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: Redis'
//! `zunionInterDiffGenericCommand`. Sources may be sorted sets or plain
//! sets (every member scoring 1); a missing key is an empty source. Every
//! source is type-checked before the options are parsed, like Redis.
//!
//! Weighted scores that are not a number (0 × inf) count as 0, and so does
//! a SUM that is not a number (inf + -inf), as in Redis.

use super::args::{
    counted_keys, err, is, parse_f64, CmdResult, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE,
};
use super::zset_value::{members_reply, store_zset, ZSet};
use super::Ctx;
use crate::keyspace::{KeyRead, KeyType, Members};
use crate::resp::Frame;
use crate::sds::string2ll;
use bytes::Bytes;
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis' `zunionInterAggregate`.
    fn apply(self, target: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = target + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min if value < target => value,
            Aggregate::Max if value > target => value,
            Aggregate::Min | Aggregate::Max => target,
        }
    }
}

/// One input of a set operation.
enum Source {
    Missing,
    ZSet(ZSet),
    /// A plain set: every member scores 1.
    Set(Members, u64),
}

impl Source {
    fn open<R: KeyRead + ?Sized>(reader: &mut R, db: usize, key: &[u8]) -> Result<Source, Frame> {
        Ok(match reader.meta(db, key)? {
            None => Source::Missing,
            Some(meta) if meta.kind == KeyType::ZSet => {
                Source::ZSet(ZSet::new(reader, db, key, &meta))
            }
            Some(meta) if meta.kind == KeyType::Set => {
                Source::Set(reader.members(db, key, &meta), meta.size())
            }
            Some(_) => return Err(err(ERR_WRONGTYPE)),
        })
    }

    fn size(&self) -> u64 {
        match self {
            Source::Missing => 0,
            Source::ZSet(zset) => zset.size,
            Source::Set(_, size) => *size,
        }
    }

    fn score<R: KeyRead + ?Sized>(
        &self,
        reader: &mut R,
        member: &[u8],
    ) -> Result<Option<f64>, Frame> {
        match self {
            Source::Missing => Ok(None),
            Source::ZSet(zset) => zset.score(reader, member),
            Source::Set(members, _) => Ok(reader.member(members, member)?.map(|_| 1.0)),
        }
    }

    fn all<R: KeyRead + ?Sized>(&self, reader: &mut R) -> Result<Vec<(Bytes, f64)>, Frame> {
        match self {
            Source::Missing => Ok(Vec::new()),
            Source::ZSet(zset) => zset.edge(reader, false, usize::MAX),
            Source::Set(members, _) => Ok(reader
                .all_members(members)?
                .into_iter()
                .map(|(member, _)| (member, 1.0))
                .collect()),
        }
    }
}

/// What the command does with the result.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    Reply,
    Store,
    Cardinality,
}

/// The options after the keys.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    limit: u64,
}

fn parse_options(rest: &[Bytes], keys: usize, op: Op, output: Output) -> Result<Options, Frame> {
    let mut options = Options {
        weights: vec![1.0; keys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let algebra = op != Op::Diff && output != Output::Cardinality;
    let mut j = 0;
    while j < rest.len() {
        let left = rest.len() - j;
        let arg = &rest[j];
        if algebra && left > keys && is(arg, "weights") {
            for (i, weight) in rest[j + 1..=j + keys].iter().enumerate() {
                options.weights[i] =
                    parse_f64(weight).ok_or_else(|| err("ERR weight value is not a float"))?;
            }
            j += keys + 1;
        } else if algebra && left >= 2 && is(arg, "aggregate") {
            options.aggregate = match &rest[j + 1] {
                a if is(a, "sum") => Aggregate::Sum,
                a if is(a, "min") => Aggregate::Min,
                a if is(a, "max") => Aggregate::Max,
                _ => return Err(err(ERR_SYNTAX)),
            };
            j += 2;
        } else if output == Output::Reply && is(arg, "withscores") {
            options.with_scores = true;
            j += 1;
        } else if output == Output::Cardinality && left >= 2 && is(arg, "limit") {
            options.limit = match string2ll(&rest[j + 1]) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(err("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(err(ERR_SYNTAX));
        }
    }
    Ok(options)
}

/// Weighted score: not-a-number counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

/// The result of `op` over `sources`, in (score, member) order, at most
/// `limit` members for an intersection (0: no limit).
fn compute<R: KeyRead + ?Sized>(
    reader: &mut R,
    op: Op,
    sources: Vec<(Source, f64)>,
    aggregate: Aggregate,
    limit: u64,
) -> Result<Vec<(Bytes, f64)>, Frame> {
    let mut result: BTreeMap<Bytes, f64> = BTreeMap::new();
    match op {
        Op::Union => {
            for (source, weight) in &sources {
                for (member, score) in source.all(reader)? {
                    let value = weighted(score, *weight);
                    result
                        .entry(member)
                        .and_modify(|target| *target = aggregate.apply(*target, value))
                        .or_insert(value);
                }
            }
        }
        Op::Inter => {
            let mut sources = sources;
            if sources
                .iter()
                .any(|(source, _)| matches!(source, Source::Missing))
            {
                return Ok(Vec::new());
            }
            sources.sort_by_key(|(source, _)| source.size());
            let Some(((smallest, weight), others)) = sources.split_first() else {
                return Ok(Vec::new());
            };
            'members: for (member, score) in smallest.all(reader)? {
                let mut total = weighted(score, *weight);
                for (other, weight) in others {
                    let Some(score) = other.score(reader, &member)? else {
                        continue 'members;
                    };
                    total = aggregate.apply(total, score * weight);
                }
                result.insert(member, total);
                if limit != 0 && result.len() as u64 >= limit {
                    break;
                }
            }
        }
        Op::Diff => {
            let mut sources = sources.into_iter();
            let Some((first, _)) = sources.next() else {
                return Ok(Vec::new());
            };
            let others: Vec<Source> = sources.map(|(source, _)| source).collect();
            'kept: for (member, score) in first.all(reader)? {
                for other in &others {
                    if other.score(reader, &member)?.is_some() {
                        continue 'kept;
                    }
                }
                result.insert(member, score);
            }
        }
    }
    let mut items: Vec<(Bytes, f64)> = result.into_iter().collect();
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(items)
}

/// Runs `op` for the command whose numkeys argument is at `numkeys_at`
/// (the destination, if any, before it).
fn run(ctx: &mut Ctx, args: &[Bytes], numkeys_at: usize, op: Op, output: Output) -> CmdResult {
    let numkeys = string2ll(&args[numkeys_at]).ok_or_else(|| err(ERR_NOT_INTEGER))?;
    if numkeys < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(err(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let keys = counted_keys(
        args,
        numkeys_at,
        usize::try_from(numkeys).unwrap_or(usize::MAX),
    )?;
    let rest = &args[numkeys_at + 1 + keys.len()..];
    let protocol = ctx.client.protocol;
    if output != Output::Store {
        // A read of several keys at one point in time: a snapshot will do.
        let (items, options) =
            ctx.with_snapshot(|reader, db| evaluate(reader, db, keys, rest, op, output))?;
        return Ok(match output {
            Output::Cardinality => Frame::Integer(items.len() as i64),
            _ => members_reply(protocol, items, options.with_scores),
        });
    }
    let limits = ctx.encoding_limits();
    let event = match op {
        Op::Union => "zunionstore",
        Op::Inter => "zinterstore",
        Op::Diff => "zdiffstore",
    };
    ctx.write(|txn, db| {
        let (items, _) = evaluate(txn, db, keys, rest, op, output)?;
        Ok(Frame::Integer(store_zset(
            txn,
            db,
            &args[1],
            &items,
            (limits, event),
        )?))
    })
}

/// Opens every source (type-checking each key first, as Redis does), then
/// parses the options and computes the result.
fn evaluate<R: KeyRead + ?Sized>(
    reader: &mut R,
    db: usize,
    keys: &[Bytes],
    rest: &[Bytes],
    op: Op,
    output: Output,
) -> Result<(Vec<(Bytes, f64)>, Options), Frame> {
    let mut sources = Vec::with_capacity(keys.len());
    for key in keys {
        sources.push(Source::open(reader, db, key)?);
    }
    let options = parse_options(rest, keys.len(), op, output)?;
    let sources = sources
        .into_iter()
        .zip(options.weights.iter().copied())
        .collect();
    let items = compute(reader, op, sources, options.aggregate, options.limit)?;
    Ok((items, options))
}

pub(super) fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 1, Op::Union, Output::Reply)
}

pub(super) fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 1, Op::Inter, Output::Reply)
}

pub(super) fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 1, Op::Diff, Output::Reply)
}

pub(super) fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 2, Op::Union, Output::Store)
}

pub(super) fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 2, Op::Inter, Output::Store)
}

pub(super) fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 2, Op::Diff, Output::Store)
}

pub(super) fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, 1, Op::Inter, Output::Cardinality)
}
