//! Range queries over sorted sets: by rank, by score or by lex, forward or
//! reversed, with LIMIT. ZRANGE and its legacy forms (ZREVRANGE,
//! Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX), ZRANGESTORE, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBY{RANK,SCORE,LEX} all parse into one [`Query`], answered by a
//! walk of the score index ([`ZSet::walk`]).
//!
//! A score range becomes byte bounds on the index (scores are stored
//! order-preserving), so it is one range scan. Rank ranges are O(rank)
//! walks from one end. Lex ranges assume, like Redis, that every member has
//! the same score: then (the lowest and highest scores are equal) the lex
//! bounds are score index bounds, one range scan; otherwise the walk skips
//! members before the range and stops at the first one after it.

use super::args::{err, int_arg, is, parse_f64, CmdResult, ERR_SYNTAX};
use super::zset_value::{members_reply, store_zset, ZSet, ZSetWrite};
use super::Ctx;
use crate::keyspace::collection::Span;
use crate::keyspace::encoding::score_bytes;
use crate::keyspace::KeyRead;
use crate::resp::Frame;
use bytes::Bytes;
use std::ops::Bound;

const ERR_SCORE_RANGE: &str = "ERR min or max is not a float";
const ERR_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// `min max` of a score range: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
#[derive(Clone, Copy, Debug)]
pub(super) struct ScoreRange {
    min: f64,
    min_excluded: bool,
    max: f64,
    max_excluded: bool,
}

impl ScoreRange {
    pub(super) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, Frame> {
        let bound = |arg: &[u8]| match arg.strip_prefix(b"(") {
            Some(rest) => parse_f64(rest).map(|v| (v, true)),
            None => parse_f64(arg).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, min_excluded)), Some((max, max_excluded))) => Ok(ScoreRange {
                min,
                min_excluded,
                max,
                max_excluded,
            }),
            _ => Err(err(ERR_SCORE_RANGE)),
        }
    }

    /// The score index bounds of the range: the sub keys of every member
    /// whose score is in it lie in `[lower, upper)`. `None` when the range
    /// is empty.
    fn bounds(&self) -> Option<([u8; 8], Option<[u8; 8]>)> {
        let ordered = |score: f64| u64::from_be_bytes(score_bytes(score));
        let lower = match self.min_excluded {
            false => ordered(self.min),
            true => ordered(self.min).checked_add(1)?,
        };
        let upper = match self.max_excluded {
            false => ordered(self.max).checked_add(1),
            true => Some(ordered(self.max)),
        };
        if upper.is_some_and(|upper| upper <= lower) {
            return None;
        }
        Some((lower.to_be_bytes(), upper.map(u64::to_be_bytes)))
    }
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug, PartialEq)]
enum LexBound {
    Lowest,
    Highest,
    Included(Bytes),
    Excluded(Bytes),
}

impl LexBound {
    fn parse(arg: &Bytes) -> Option<LexBound> {
        match arg.first()? {
            b'-' if arg.len() == 1 => Some(LexBound::Lowest),
            b'+' if arg.len() == 1 => Some(LexBound::Highest),
            b'[' => Some(LexBound::Included(arg.slice(1..))),
            b'(' => Some(LexBound::Excluded(arg.slice(1..))),
            _ => None,
        }
    }

    /// The bound's value, `-` below every string and `+` above, and
    /// whether the value itself is out of the range.
    fn value(&self) -> (std::cmp::Ordering, &[u8], bool) {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            LexBound::Lowest => (Less, &[], true),
            LexBound::Highest => (Greater, &[], true),
            LexBound::Included(v) => (Equal, v, false),
            LexBound::Excluded(v) => (Equal, v, true),
        }
    }
}

impl LexBound {
    /// The score index bound of this lex bound when every member scores
    /// `score` (`None`: unbounded).
    fn sub_key(&self, score: f64) -> Option<Bound<Bytes>> {
        let key = |member: &Bytes| {
            let mut out = score_bytes(score).to_vec();
            out.extend_from_slice(member);
            Bytes::from(out)
        };
        match self {
            LexBound::Lowest | LexBound::Highest => None,
            LexBound::Included(member) => Some(Bound::Included(key(member))),
            LexBound::Excluded(member) => Some(Bound::Excluded(key(member))),
        }
    }
}

/// The score every member has, if they all have the same (the lowest and
/// the highest are equal): then a lex range is a range of the score index.
fn uniform_score<R: KeyRead + ?Sized>(reader: &mut R, zset: &ZSet) -> Result<Option<f64>, Frame> {
    let lowest = zset.edge(reader, false, 1)?;
    let highest = zset.edge(reader, true, 1)?;
    Ok(match (lowest.first(), highest.first()) {
        (Some((_, low)), Some((_, high))) if low == high => Some(*low),
        _ => None,
    })
}

#[derive(Clone, Debug)]
pub(super) struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    pub(super) fn parse(min: &Bytes, max: &Bytes) -> Result<LexRange, Frame> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(err(ERR_LEX_RANGE)),
        }
    }

    fn above_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::Lowest => true,
            LexBound::Highest => false,
            LexBound::Included(min) => member >= &min[..],
            LexBound::Excluded(min) => member > &min[..],
        }
    }

    fn below_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Included(max) => member <= &max[..],
            LexBound::Excluded(max) => member < &max[..],
        }
    }

    /// Redis' test for ranges that are always empty (`min > max`, or
    /// equal with an exclusive end).
    fn is_empty(&self) -> bool {
        let (min_rank, min, min_excluded) = self.min.value();
        let (max_rank, max, max_excluded) = self.max.value();
        let order = min_rank.cmp(&max_rank).then_with(|| match min_rank {
            std::cmp::Ordering::Equal => min.cmp(max),
            _ => std::cmp::Ordering::Equal,
        });
        order.is_gt() || (order.is_eq() && (min_excluded || max_excluded))
    }
}

#[derive(Clone, Debug)]
pub(super) enum By {
    /// 0-based start and stop, negative from the end.
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A range of a sorted set: which entries, in which direction, and LIMIT
/// (offset, count; a negative count means all).
#[derive(Clone, Debug)]
pub(super) struct Query {
    pub by: By,
    pub rev: bool,
    pub offset: i64,
    pub count: i64,
}

impl Query {
    pub(super) fn all_of(by: By) -> Query {
        Query {
            by,
            rev: false,
            offset: 0,
            count: -1,
        }
    }
}

/// Visits the entries `query` selects, in its order.
pub(super) fn visit<R: KeyRead + ?Sized>(
    reader: &mut R,
    zset: &ZSet,
    query: &Query,
    mut f: impl FnMut(Bytes, f64),
) -> Result<(), Frame> {
    let rev = query.rev;
    let (skip, mut left) = match &query.by {
        By::Rank(start, stop) => {
            let len = i64::try_from(zset.size).unwrap_or(i64::MAX);
            let start = if *start < 0 { len + start } else { *start }.max(0);
            let stop = if *stop < 0 { len + stop } else { *stop }.min(len - 1);
            if start > stop || start >= len {
                return Ok(());
            }
            (start as u64, (stop - start + 1) as u64)
        }
        _ if query.offset < 0 => return Ok(()),
        _ => (
            query.offset as u64,
            u64::try_from(query.count).unwrap_or(u64::MAX),
        ),
    };
    if left == 0 {
        return Ok(());
    }
    let mut skip = skip;
    let mut take = |member: Bytes, score: f64| {
        if skip > 0 {
            skip -= 1;
            return true;
        }
        f(member, score);
        left -= 1;
        left > 0
    };
    match &query.by {
        By::Rank(..) => zset.walk(reader, Span { rev, ..Span::ALL }, take),
        By::Score(range) => {
            let Some((lower, upper)) = range.bounds() else {
                return Ok(());
            };
            let span = Span {
                lower: Bound::Included(&lower),
                upper: upper
                    .as_ref()
                    .map_or(Bound::Unbounded, |u| Bound::Excluded(u)),
                rev,
            };
            zset.walk(reader, span, take)
        }
        By::Lex(range) => {
            if range.is_empty() {
                return Ok(());
            }
            // Before the range in the walk's direction, or past it.
            let before = |m: &[u8]| {
                if rev {
                    !range.below_max(m)
                } else {
                    !range.above_min(m)
                }
            };
            let after = |m: &[u8]| {
                if rev {
                    !range.above_min(m)
                } else {
                    !range.below_max(m)
                }
            };
            let (lower, upper) = match uniform_score(reader, zset)? {
                Some(score) => (range.min.sub_key(score), range.max.sub_key(score)),
                None => (None, None),
            };
            let span = Span {
                lower: lower
                    .as_ref()
                    .map_or(Bound::Unbounded, |b| b.as_ref().map(|k| &k[..])),
                upper: upper
                    .as_ref()
                    .map_or(Bound::Unbounded, |b| b.as_ref().map(|k| &k[..])),
                rev,
            };
            // Like Redis, only the members before the first one in range are
            // skipped (with mixed scores, later ones are not checked again).
            let mut started = false;
            zset.walk(reader, span, |member, score| {
                if !started && before(&member) {
                    return true;
                }
                started = true;
                if after(&member) {
                    return false;
                }
                take(member, score)
            })
        }
    }
}

/// The entries `query` selects.
pub(super) fn select<R: KeyRead + ?Sized>(
    reader: &mut R,
    zset: &ZSet,
    query: &Query,
) -> Result<Vec<(Bytes, f64)>, Frame> {
    let mut out = Vec::new();
    visit(reader, zset, query, |member, score| {
        out.push((member, score))
    })?;
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// Parses `min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// [WITHSCORES]` from `args[at..]` like Redis' `zrangeGenericCommand`;
/// the legacy commands come with their kind and direction fixed, which
/// makes those options syntax errors. Returns the query and WITHSCORES.
fn parse_range(
    args: &[Bytes],
    at: usize,
    mut kind: Option<Kind>,
    mut rev: Option<bool>,
    store: bool,
) -> Result<(Query, bool), Frame> {
    let mut with_scores = false;
    let (mut offset, mut count) = (0, -1);
    let mut j = at + 2;
    while j < args.len() {
        let arg = &args[j];
        let left = args.len() - j - 1;
        if !store && is(arg, "withscores") {
            with_scores = true;
        } else if is(arg, "limit") && left >= 2 {
            offset = int_arg(&args[j + 1])?;
            count = int_arg(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(arg, "rev") {
            rev = Some(true);
        } else if kind.is_none() && is(arg, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && is(arg, "byscore") {
            kind = Some(Kind::Score);
        } else {
            return Err(err(ERR_SYNTAX));
        }
        j += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    let rev = rev.unwrap_or(false);
    if count != -1 && kind == Kind::Rank {
        return Err(err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == Kind::Lex {
        return Err(err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min, mut max) = (&args[at], &args[at + 1]);
    if rev && kind != Kind::Rank {
        // The range comes as max, min.
        std::mem::swap(&mut min, &mut max);
    }
    let by = match kind {
        Kind::Rank => By::Rank(int_arg(min)?, int_arg(max)?),
        Kind::Score => By::Score(ScoreRange::parse(min, max)?),
        Kind::Lex => By::Lex(LexRange::parse(min, max)?),
    };
    Ok((
        Query {
            by,
            rev,
            offset,
            count,
        },
        with_scores,
    ))
}

/// ZRANGE and its legacy forms: `key min max ...` with a fixed kind and
/// direction, or none (ZRANGE).
fn range_command(
    ctx: &mut Ctx,
    args: &[Bytes],
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult {
    let (query, with_scores) = parse_range(args, 2, kind, rev, false)?;
    let key = &args[1];
    let items = ctx.with_snapshot(|reader, db| match ZSet::open(reader, db, key)? {
        Some(zset) => select(reader, &zset, &query),
        None => Ok(Vec::new()),
    })?;
    Ok(members_reply(ctx.client.protocol, items, with_scores))
}

pub(super) fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, None, None)
}

pub(super) fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, Some(Kind::Rank), Some(true))
}

pub(super) fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, Some(Kind::Score), Some(false))
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, Some(Kind::Score), Some(true))
}

pub(super) fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, Some(Kind::Lex), Some(false))
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, Some(Kind::Lex), Some(true))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
pub(super) fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (query, _) = parse_range(args, 3, None, None, true)?;
    let limits = ctx.encoding_limits();
    ctx.write(|txn, db| {
        let items = match ZSet::open(txn, db, &args[2])? {
            Some(zset) => select(txn, &zset, &query)?,
            None => Vec::new(),
        };
        Ok(Frame::Integer(store_zset(
            txn,
            db,
            &args[1],
            &items,
            (limits, "zrangestore"),
        )?))
    })
}

/// Counts the entries of `by` in the sorted set at `key` (lock-free).
fn count_of(ctx: &mut Ctx, key: &[u8], by: By) -> CmdResult {
    let query = Query::all_of(by);
    let count = ctx.with_reader(|reader, db| {
        let Some(zset) = ZSet::open(reader, db, key)? else {
            return Ok(0);
        };
        let mut count = 0;
        visit(reader, &zset, &query, |_, _| count += 1)?;
        Ok(count)
    })?;
    Ok(Frame::Integer(count))
}

pub(super) fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    count_of(ctx, &args[1], By::Score(range))
}

pub(super) fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    count_of(ctx, &args[1], By::Lex(range))
}

/// Removes the entries of `by` from the sorted set at `key`.
fn remove_range(ctx: &mut Ctx, key: &[u8], by: By) -> CmdResult {
    let event = match by {
        By::Rank(..) => "zremrangebyrank",
        By::Score(_) => "zremrangebyscore",
        By::Lex(_) => "zremrangebylex",
    };
    let query = Query::all_of(by);
    ctx.write(|txn, db| {
        let Some(mut zset) = ZSetWrite::existing(txn, db, key)? else {
            return Ok(Frame::Integer(0));
        };
        let doomed = select(txn, &zset.zset, &query)?;
        for (member, score) in &doomed {
            zset.remove_scored(txn, member, *score);
        }
        zset.finish(txn, db, key, event)?;
        Ok(Frame::Integer(doomed.len() as i64))
    })
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = By::Rank(int_arg(&args[2])?, int_arg(&args[3])?);
    remove_range(ctx, &args[1], by)
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    remove_range(ctx, &args[1], By::Score(range))
}

pub(super) fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    remove_range(ctx, &args[1], By::Lex(range))
}
