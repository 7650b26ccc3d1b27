//! SORT and SORT_RO (Redis 7.0): the elements of a list, set or sorted set,
//! sorted numerically or (ALPHA) as binary strings, by themselves or by the
//! values of other keys (BY pattern, `pattern->field` for a hash field),
//! cut by LIMIT, projected through GET patterns, returned or (SORT only)
//! STOREd as a list.
//!
//! Redis' rules, kept on purpose: `BY` without `*` means "do not sort"
//! (lists and sorted sets keep their order, DESC reverses it; a set keeps
//! its own order, unless the result is stored, then it is sorted ALPHA so
//! the stored list is deterministic); a missing BY key sorts as 0 (or first
//! with ALPHA); a missing GET key is nil (an empty string when stored);
//! numbers are read like C's `strtod` and one that is not a number fails
//! the whole command; equal scores are ordered by the elements themselves.
//! Strings compare byte-wise (Redis' `strcoll` in the C locale). In
//! cluster mode Redis 7.0 refuses GET and a BY pattern with `*`, since
//! their keys could live anywhere.
//!
//! Everything is read in the write transaction, so the elements and the
//! keys their patterns name are one consistent state.

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX, ERR_WRONGTYPE};
use super::{Command, Ctx, FindKeys, KeySpec};
use crate::keyspace::encoding::ENCODING_HASHTABLE;
use crate::keyspace::{KeyRead, KeyType, Txn};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::{BufMut, Bytes, BytesMut};
use std::cmp::Ordering;

pub static COMMANDS: &[Command] = &[
    Command::new(
        "sort",
        -2,
        &["write", "denyoom", "movablekeys"],
        (1, 1, 1),
        "generic",
        "Sort the elements in a list, set or sorted set",
        sort,
    )
    .with_key_specs(&[SOURCE, PATTERNS, STORE])
    .with_key_finder(sort_keys),
    Command::new(
        "sort_ro",
        -2,
        &["readonly", "movablekeys"],
        (1, 1, 1),
        "generic",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        sort_ro,
    )
    .with_key_specs(&[SOURCE, PATTERNS]),
];

const SOURCE: KeySpec = KeySpec::range(&["RO", "access"], 1, 0);

const PATTERNS: KeySpec = KeySpec {
    flags: &["RO", "access"],
    index: 0,
    find: FindKeys::Unknown,
    notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
};

const STORE: KeySpec = KeySpec {
    flags: &["OW", "update"],
    index: 0,
    find: FindKeys::Unknown,
    notes: "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array",
};

/// SORT's keys (Redis' `sortGetKeys`): the sorted key, and the destination
/// of the last `STORE dst`. Options are skipped with their arguments
/// (LIMIT two, BY and GET one), anything else one word at a time.
fn sort_keys(args: &[Bytes]) -> Vec<usize> {
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "limit") {
            i += 2;
        } else if is(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        } else if is(arg, "get") || is(arg, "by") {
            i += 1;
        }
        i += 1;
    }
    std::iter::once(1).chain(store).collect()
}

/// What the options ask for.
#[derive(Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count, as given.
    limit: Option<(i64, i64)>,
    store: Option<&'a Bytes>,
    /// The last BY pattern.
    by: Option<&'a [u8]>,
    /// A BY without `*` was given: keep the source's order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

impl<'a> Options<'a> {
    /// Parses the options after the key, in order, with Redis' errors.
    fn parse(args: &'a [Bytes], read_only: bool, cluster: bool) -> Result<Options<'a>, Frame> {
        let mut options = Options::default();
        let mut i = 2;
        while i < args.len() {
            let arg = &args[i];
            let left = args.len() - i - 1;
            if is(arg, "asc") {
                options.desc = false;
            } else if is(arg, "desc") {
                options.desc = true;
            } else if is(arg, "alpha") {
                options.alpha = true;
            } else if is(arg, "limit") && left >= 2 {
                options.limit = Some((int_arg(&args[i + 1])?, int_arg(&args[i + 2])?));
                i += 2;
            } else if !read_only && is(arg, "store") && left >= 1 {
                options.store = Some(&args[i + 1]);
                i += 1;
            } else if is(arg, "by") && left >= 1 {
                let pattern = &args[i + 1][..];
                if !pattern.contains(&b'*') {
                    options.dont_sort = true;
                } else if cluster {
                    return Err(err("ERR BY option of SORT denied in Cluster mode."));
                }
                options.by = Some(pattern);
                i += 1;
            } else if is(arg, "get") && left >= 1 {
                if cluster {
                    return Err(err("ERR GET option of SORT denied in Cluster mode."));
                }
                options.gets.push(&args[i + 1]);
                i += 1;
            } else {
                return Err(err(ERR_SYNTAX));
            }
            i += 1;
        }
        Ok(options)
    }

    /// The positions `start..end` LIMIT selects out of `len` elements
    /// (Redis' clamping: a negative count means all the rest).
    fn range(&self, len: usize) -> std::ops::Range<usize> {
        let len = len as i64;
        let (offset, count) = self.limit.unwrap_or((0, -1));
        let start = offset.clamp(0, len);
        let count = count.clamp(-1, len);
        let end = if count < 0 {
            len
        } else {
            (start + count).min(len)
        };
        start as usize..end.max(start) as usize
    }
}

/// One element being sorted: its score (numeric sort) or the value it is
/// compared by (ALPHA with BY; `None` when the BY key is missing).
struct Item {
    element: Bytes,
    score: f64,
    by_value: Option<Bytes>,
}

fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, true)
}

fn run(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult {
    let mut options = Options::parse(args, read_only, ctx.shared.cluster.is_some())?;
    ctx.write(|txn, db| {
        let (kind, mut elements) = source(txn, db, &args[1])?;
        // A stored result must not depend on a set's internal order.
        if options.dont_sort && kind == KeyType::Set && options.store.is_some() {
            options.dont_sort = false;
            options.alpha = true;
            options.by = None;
        }
        if options.dont_sort {
            if options.desc && kind != KeyType::Set {
                elements.reverse();
            }
            let range = options.range(elements.len());
            elements.truncate(range.end);
            elements.drain(..range.start);
        } else {
            let mut items = score(txn, db, &options, elements)?;
            items.sort_by(|a, b| compare(&options, a, b));
            let range = options.range(items.len());
            elements = items.drain(range).map(|item| item.element).collect();
        }
        output(txn, db, &options, elements)
    })
}

/// The type of `key` and its elements in their own order (none for a
/// missing key): a list left to right, a set as SMEMBERS lists it.
fn source(txn: &mut Txn, db: usize, key: &[u8]) -> Result<(KeyType, Vec<Bytes>), Frame> {
    let Some(meta) = txn.get(db, key)? else {
        return Ok((KeyType::List, Vec::new()));
    };
    let members = txn.members(db, key, &meta);
    let elements = match meta.kind {
        // Members are keyed by position (lists) or by themselves (sets).
        KeyType::List => txn
            .all_members(&members)?
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
        KeyType::Set => {
            let mut all: Vec<Bytes> = txn
                .all_members(&members)?
                .into_iter()
                .map(|(m, _)| m)
                .collect();
            if meta.encoding != ENCODING_HASHTABLE {
                super::sets::intset_order(&mut all);
            }
            all
        }
        // In score order: a BY without `*` keeps it, like a list's.
        KeyType::ZSet => super::zset_value::members_in_order(txn, db, key, &meta)?,
        KeyType::String | KeyType::Hash | KeyType::Stream => return Err(err(ERR_WRONGTYPE)),
    };
    Ok((meta.kind, elements))
}

/// Computes what each element is compared by. Every element is looked at
/// even after one fails to convert, as Redis does; then the command fails.
fn score(
    txn: &mut Txn,
    db: usize,
    options: &Options,
    elements: Vec<Bytes>,
) -> Result<Vec<Item>, Frame> {
    let mut convertible = true;
    let mut items = Vec::with_capacity(elements.len());
    for element in elements {
        let by_value = match options.by {
            Some(pattern) => lookup(txn, db, pattern, &element)?,
            None => Some(element.clone()),
        };
        let mut item = Item {
            element,
            score: 0.0,
            by_value: None,
        };
        match by_value {
            Some(value) if options.alpha && options.by.is_some() => item.by_value = Some(value),
            // ALPHA without BY compares the elements themselves.
            Some(_) if options.alpha => {}
            Some(value) => match strtod(&value) {
                Some(score) => item.score = score,
                None => convertible = false,
            },
            None => {}
        }
        items.push(item);
    }
    if !convertible {
        return Err(err("ERR One or more scores can't be converted into double"));
    }
    Ok(items)
}

/// Redis' `sortCompare`: by score then element, or ALPHA by the BY value
/// (missing first) or the element; DESC reverses all of it.
fn compare(options: &Options, a: &Item, b: &Item) -> Ordering {
    let order = if !options.alpha {
        a.score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.cmp(&b.element))
    } else if options.by.is_some() {
        a.by_value.cmp(&b.by_value)
    } else {
        a.element.cmp(&b.element)
    };
    if options.desc {
        order.reverse()
    } else {
        order
    }
}

/// The reply, or with STORE the list written to the destination.
fn output(txn: &mut Txn, db: usize, options: &Options, elements: Vec<Bytes>) -> CmdResult {
    let mut values: Vec<Option<Bytes>> = Vec::new();
    for element in elements {
        if options.gets.is_empty() {
            values.push(Some(element));
            continue;
        }
        for pattern in &options.gets {
            values.push(lookup(txn, db, pattern, &element)?);
        }
    }
    let Some(dst) = options.store else {
        return Ok(Frame::Array(
            values
                .into_iter()
                .map(|value| value.map_or(Frame::Null, Frame::Bulk))
                .collect(),
        ));
    };
    let stored = values.len() as i64;
    if values.is_empty() {
        if txn.delete(db, dst)? {
            txn.notify(db, Class::Generic, "del", dst);
        }
    } else {
        let items = values.into_iter().map(Option::unwrap_or_default).collect();
        super::lists::store_list(txn, db, dst, items)?;
        txn.notify(db, Class::List, "sortstore", dst);
    }
    Ok(Frame::Integer(stored))
}

/// Redis' `lookupKeyByPattern`: `#` is the element itself; otherwise the
/// first `*` of `pattern` is replaced by the element and the string at
/// that key is the value, or with `key->field` (after the `*`, a non-empty
/// field) that field of the hash. A pattern without `*`, a missing key or
/// one of another type gives nothing.
fn lookup(
    txn: &mut Txn,
    db: usize,
    pattern: &[u8],
    element: &[u8],
) -> Result<Option<Bytes>, Frame> {
    if pattern == b"#" {
        return Ok(Some(Bytes::copy_from_slice(element)));
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    let after = &pattern[star + 1..];
    let arrow = after.windows(2).position(|w| w == b"->");
    let (postfix, field) = match arrow {
        Some(at) if at + 2 < after.len() => (&after[..at], Some(&after[at + 2..])),
        _ => (after, None),
    };
    let mut key = BytesMut::with_capacity(pattern.len() + element.len());
    key.put_slice(&pattern[..star]);
    key.put_slice(element);
    key.put_slice(postfix);
    let Some(meta) = txn.get(db, &key)? else {
        return Ok(None);
    };
    Ok(match (field, meta.kind) {
        (None, KeyType::String) => Some(meta.payload),
        (Some(field), KeyType::Hash) => {
            let members = txn.members(db, &key, &meta);
            txn.member(&members, field)?
                .map(super::hashes::field_value)
                .transpose()?
        }
        _ => None,
    })
}

/// A number as C's `strtod` reads it for SORT: the whole text (after
/// leading white space) must be a decimal or hexadecimal float, `inf` or
/// `infinity`; NaN and results out of range (overflow, or an underflow to
/// a subnormal or zero) are refused. The empty string is 0, as in Redis.
fn strtod(text: &[u8]) -> Option<f64> {
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let text = std::str::from_utf8(&text[start..]).ok()?;
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.starts_with(['+', '-']) {
        return None;
    }
    let (value, mantissa) = match body.get(..2) {
        Some("0x" | "0X") => hex_float(&body[2..])?,
        _ => (body.parse::<f64>().ok()?, body.split(['e', 'E']).next()?),
    };
    let literal_infinity =
        body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity");
    let out_of_range = (value.is_infinite() && !literal_infinity)
        || (value != 0.0 && value.abs() < f64::MIN_POSITIVE)
        || (value == 0.0 && mantissa.bytes().any(|b| b.is_ascii_hexdigit() && b != b'0'));
    if value.is_nan() || out_of_range {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// A hexadecimal float after its `0x`: digits, an optional fraction and an
/// optional binary exponent (`p`). Returns the value and the mantissa text.
fn hex_float(text: &str) -> Option<(f64, &str)> {
    let (mantissa, exponent) = match text.find(['p', 'P']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in int.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let scale = exponent.checked_sub(4 * i32::try_from(frac.len()).ok()?)?;
    Some((value * 2f64.powi(scale), mantissa))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Vec<usize> {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|a| Bytes::from(a.to_string()))
            .collect();
        sort_keys(&args)
    }

    #[test]
    fn store_destinations_are_keys_like_redis_sort_get_keys() {
        assert_eq!(keys("sort a"), [1]);
        assert_eq!(keys("sort a store b limit 0 1 store c"), [1, 8]);
        assert_eq!(keys("sort a by x store"), [1]);
        assert_eq!(keys("sort a limit store b"), [1]);
        assert_eq!(keys("sort a get store store d"), [1, 5]);
    }

    #[test]
    fn numbers_read_like_strtod() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 5"), Some(5.0));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"0x1p3"), Some(8.0));
        assert_eq!(strtod(b"0x.8"), Some(0.5));
        assert_eq!(strtod(b"-0X1P-1"), Some(-0.5));
        assert_eq!(strtod(b"1e2"), Some(100.0));
        assert_eq!(strtod(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"inf"), Some(f64::INFINITY));
        assert_eq!(strtod(b".5"), Some(0.5));
        assert_eq!(strtod(b"0e-500"), Some(0.0));
        // White space alone, trailing text, NaN, overflow, underflow.
        let refused = "  |5 |nan|1e400|1e-310|1e-400|0x|0x1p|+-1|abc|1e";
        for text in refused.split('|') {
            assert_eq!(strtod(text.as_bytes()), None, "{text:?}");
        }
    }

    fn limited(limit: Option<(i64, i64)>, len: usize) -> std::ops::Range<usize> {
        Options {
            limit,
            ..Options::default()
        }
        .range(len)
    }

    #[test]
    fn limit_clamps_like_redis() {
        assert_eq!(limited(None, 3), 0..3);
        assert_eq!(limited(Some((1, -5)), 3), 1..3);
        assert_eq!(limited(Some((-1, 2)), 3), 0..2);
        assert_eq!(limited(Some((2, 10)), 3), 2..3);
        assert_eq!(limited(Some((5, 1)), 3), 3..3);
        assert_eq!(limited(Some((0, 0)), 3), 0..0);
        assert_eq!(limited(Some((i64::MAX, i64::MAX)), 3), 3..3);
        assert_eq!(limited(None, 0), 0..0);
    }
}
