//! Stream commands (Redis 7.0): XADD, XRANGE, XREVRANGE, XLEN, XDEL,
//! XTRIM and XSETID. Reading (XREAD, XREADGROUP) is `stream_read.rs`,
//! consumer groups `stream_groups.rs`, XINFO `stream_info.rs`; the
//! storage layout is `stream_value.rs`.
//!
//! What replicas get: XADD with a generated ID is recorded with the ID it
//! got, and approximate trimming (`~`) as the exact trim it did (`=` and
//! the resulting length or first ID), as Redis rewrites them; the rest is
//! deterministic and recorded as sent.

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::stream_id::{self, StreamId};
use super::stream_value::{entries_reply, Stream, Threshold, Trim, READ_IN_ONE_SCAN};
use super::{Command, Ctx, KeySpec};
use crate::keyspace::{Effect, KeyRead};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::Bytes;

/// The key specs of commands whose one key is argument 1.
pub(super) const fn key_at_1(flags: &'static [&'static str]) -> [KeySpec; 1] {
    [KeySpec::range(flags, 1, 0)]
}

const READ: &[KeySpec] = &key_at_1(&["RO", "access"]);
const UPDATE: &[KeySpec] = &key_at_1(&["RW", "update"]);
const DELETE: &[KeySpec] = &key_at_1(&["RW", "delete"]);

pub const COMMANDS: &[Command] = &[
    Command::new("xadd", -5, &["write", "denyoom", "fast"], (1, 1, 1), "stream", "Appends a new entry to a stream", xadd)
        .with_key_specs(&[KeySpec::range(&["RW", "update"], 1, 0)
            .with_notes("UPDATE instead of INSERT because of the optional trimming feature")])
        .with_tips(&["nondeterministic_output"]),
    Command::new("xrange", -4, &["readonly"], (1, 1, 1), "stream", "Return a range of elements in a stream, with IDs matching the specified IDs interval", xrange)
        .with_key_specs(READ),
    Command::new("xrevrange", -4, &["readonly"], (1, 1, 1), "stream", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", xrevrange)
        .with_key_specs(READ),
    Command::new("xlen", 2, &["readonly", "fast"], (1, 1, 1), "stream", "Return the number of entries in a stream", xlen)
        .with_key_specs(&key_at_1(&["RO"])),
    Command::new("xdel", -3, &["write", "fast"], (1, 1, 1), "stream", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", xdel)
        .with_key_specs(DELETE),
    Command::new("xtrim", -4, &["write"], (1, 1, 1), "stream", "Trims the stream to (approximately if '~' is passed) a certain size", xtrim)
        .with_key_specs(DELETE)
        .with_tips(&["nondeterministic_output"]),
    Command::new("xsetid", -3, &["write", "denyoom", "fast"], (1, 1, 1), "stream", "An internal command for replicating stream values", xsetid)
        .with_key_specs(UPDATE),
];

/// Redis' `STREAM_LISTPACK_MAX_SIZE`: the most bytes one entry may hold.
const MAX_ENTRY_BYTES: usize = 1 << 30;

/// XADD's and XTRIM's options, as `streamParseAddOrTrimArgsOrReply`
/// reads them.
struct TrimArgs {
    trim: Option<Trim>,
    /// The argument holding the MAXLEN / MINID threshold (rewritten for
    /// replicas after an approximate trim).
    threshold_at: usize,
    no_mkstream: bool,
    /// XADD: where the ID is (the fields follow it).
    id_at: usize,
    /// XADD's explicit ID, and whether its sequence was given.
    id: Option<(StreamId, bool)>,
}

fn parse_trim_args(ctx: &Ctx, args: &[Bytes], xadd: bool) -> Result<TrimArgs, Frame> {
    let mut parsed = TrimArgs {
        trim: None,
        threshold_at: 0,
        no_mkstream: false,
        id_at: args.len(),
        id: None,
    };
    let mut limit = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && &opt[..] == b"*" {
            parsed.id_at = i;
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if parsed.trim.is_some() {
                return Err(err(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let mut approx = false;
            if more >= 2 && (&args[i + 1][..] == b"~" || &args[i + 1][..] == b"=") {
                approx = &args[i + 1][..] == b"~";
                i += 1;
            }
            let threshold = if is(opt, "maxlen") {
                let max = int_arg(&args[i + 1])?;
                let max =
                    u64::try_from(max).map_err(|_| err("ERR The MAXLEN argument must be >= 0."))?;
                Threshold::MaxLen(max)
            } else {
                Threshold::MinId(stream_id::parse_strict(&args[i + 1])?)
            };
            i += 1;
            parsed.threshold_at = i;
            parsed.trim = Some(Trim {
                threshold,
                approx,
                limit: 0,
            });
        } else if is(opt, "limit") && more > 0 {
            let value = int_arg(&args[i + 1])?;
            let value =
                u64::try_from(value).map_err(|_| err("ERR The LIMIT argument must be >= 0."))?;
            limit = Some(value);
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            parsed.no_mkstream = true;
        } else if xadd {
            parsed.id = Some(stream_id::parse_add_id(opt)?);
            parsed.id_at = i;
            break;
        } else {
            return Err(err(ERR_SYNTAX));
        }
        i += 1;
    }
    let Some(trim) = parsed.trim.as_mut() else {
        if limit.is_some_and(|limit| limit != 0) {
            return Err(err(
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
            ));
        }
        if !xadd {
            return Err(err(
                "ERR syntax error, XTRIM must be called with a trimming strategy",
            ));
        }
        return Ok(parsed);
    };
    if ctx.client.is_master {
        // The master rewrote its trim to be exact.
        return Ok(parsed);
    }
    trim.limit = match limit {
        Some(_) if !trim.approx => {
            return Err(err(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ))
        }
        Some(limit) => limit,
        // At most 100 nodes' worth, as Redis bounds the work of a `~`.
        None if trim.approx => match node_entries(ctx).saturating_mul(100) {
            0 => 10_000,
            limit => limit.min(1_000_000),
        },
        None => 0,
    };
    Ok(parsed)
}

/// The args a replica runs after an approximate trim: `=` and the exact
/// threshold it came to (Redis' `streamRewriteTrimArgument`).
fn exact_trim_args(
    args: &[Bytes],
    at: usize,
    stream: &Stream,
    threshold: Threshold,
    first: Option<StreamId>,
) -> Vec<Bytes> {
    let mut exact = args.to_vec();
    exact[at - 1] = Bytes::from_static(b"=");
    exact[at] = match threshold {
        Threshold::MaxLen(_) => Bytes::from(stream.summary.length.to_string()),
        Threshold::MinId(_) => first.unwrap_or(StreamId::MIN).text(),
    };
    exact
}

fn node_entries(ctx: &Ctx) -> u64 {
    ctx.shared.config().encoding.stream_node_max_entries
}

fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let parsed = parse_trim_args(ctx, args, true)?;
    let fields = args.get(parsed.id_at + 1..).unwrap_or_default();
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(super::wrong_arity("xadd"));
    }
    if let Some((StreamId::MIN, true)) = parsed.id {
        return Err(err("ERR The ID specified in XADD must be greater than 0-0"));
    }
    let node = node_entries(ctx);
    let now = ctx.now_ms;
    ctx.write(|txn, db| {
        let key = &args[1];
        if parsed.no_mkstream && Stream::open(txn, db, key)?.is_none() {
            return Ok(Frame::Null);
        }
        let mut stream = Stream::open_or_create(txn, db, key)?;
        let last = stream.summary.last_id;
        if last == StreamId::MAX {
            return Err(err(
                "ERR The stream has exhausted the last possible ID, unable to add more items",
            ));
        }
        let id = next_id(last, parsed.id, now).ok_or_else(|| {
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        })?;
        if fields.iter().map(Bytes::len).sum::<usize>() > MAX_ENTRY_BYTES {
            return Err(err("ERR Elements are too large to be stored"));
        }
        stream.add(txn, id, fields);
        let mut effect = args.to_vec();
        let mut rewritten = !matches!(parsed.id, Some((_, true)));
        let mut trimmed = false;
        if let Some(trim) = parsed.trim {
            trimmed = stream.trim(txn, trim, node)? > 0;
            if trim.approx {
                let first = stream.edge(txn, false)?.map(|e| e.id);
                effect =
                    exact_trim_args(&effect, parsed.threshold_at, &stream, trim.threshold, first);
                rewritten = true;
            }
        }
        stream.save(txn, db, key)?;
        txn.notify(db, Class::Stream, "xadd", key);
        if trimmed {
            txn.notify(db, Class::Stream, "xtrim", key);
        }
        if rewritten {
            effect[parsed.id_at] = id.text();
            txn.propagate(Effect::Command { db, args: effect });
        }
        Ok(id.reply())
    })
}

/// The ID XADD gives its entry after `last` (Redis' `streamAppendItem`):
/// `None` when it would not be greater.
fn next_id(last: StreamId, given: Option<(StreamId, bool)>, now_ms: u64) -> Option<StreamId> {
    let id = match given {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => last.next().filter(|next| next.ms == last.ms)?,
        Some((id, false)) => id,
        None if now_ms > last.ms => StreamId::new(now_ms, 0),
        None => last.next()?,
    };
    (id > last).then_some(id)
}

fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range(ctx, args, true)
}

fn range(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let (start, end) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = stream_id::interval_start(start)?;
    let end = stream_id::interval_end(end)?;
    let mut count = None;
    let mut options = args[4..].iter();
    while let Some(option) = options.next() {
        match options.as_slice().first() {
            Some(value) if is(option, "count") => {
                count = Some(int_arg(value)?.max(0) as usize);
                options.next();
            }
            _ => return Err(err(ERR_SYNTAX)),
        }
    }
    let read = |reader: &mut dyn KeyRead, db| {
        let Some(stream) = Stream::open(reader, db, &args[1])? else {
            return Ok(Frame::Array(Vec::new()));
        };
        if count == Some(0) {
            return Ok(Frame::NullArray);
        }
        let entries = stream.range(reader, start, end, rev, count.unwrap_or(0))?;
        Ok(entries_reply(&entries))
    };
    // One scan reads the entries: the metadata read before it is of the
    // same version (a stream's entries are never rewritten), so no
    // snapshot is needed; a longer read takes one to see one point in time.
    match count {
        Some(count) if count <= READ_IN_ONE_SCAN => ctx.with_reader(read),
        _ => ctx.with_snapshot(read),
    }
}

fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_reader(|reader, db| {
        let stream = Stream::open(reader, db, &args[1])?;
        Ok(Frame::Integer(
            stream.map_or(0, |s| s.summary.length as i64),
        ))
    })
}

fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let key = &args[1];
        let Some(mut stream) = Stream::open(txn, db, key)? else {
            return Ok(Frame::Integer(0));
        };
        let ids = args[2..]
            .iter()
            .map(|arg| stream_id::parse_strict(arg))
            .collect::<Result<Vec<_>, Frame>>()?;
        let first = stream.summary.first_id;
        let mut deleted = 0;
        for id in ids {
            deleted += i64::from(stream.delete(txn, id)?);
        }
        if deleted > 0 {
            let first_gone = stream.entry(txn, first)?.is_none();
            if stream.summary.length == 0 || first_gone {
                stream.refresh_first_id(txn)?;
            }
            stream.save(txn, db, key)?;
            txn.notify(db, Class::Stream, "xdel", key);
        }
        Ok(Frame::Integer(deleted))
    })
}

fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let parsed = parse_trim_args(ctx, args, false)?;
    let Some(trim) = parsed.trim else {
        return Err(err(ERR_SYNTAX));
    };
    let node = node_entries(ctx);
    ctx.write(|txn, db| {
        let key = &args[1];
        let Some(mut stream) = Stream::open(txn, db, key)? else {
            return Ok(Frame::Integer(0));
        };
        let deleted = stream.trim(txn, trim, node)?;
        if deleted == 0 {
            return Ok(Frame::Integer(0));
        }
        txn.notify(db, Class::Stream, "xtrim", key);
        if trim.approx {
            let first = stream.edge(txn, false)?.map(|e| e.id);
            let exact = exact_trim_args(args, parsed.threshold_at, &stream, trim.threshold, first);
            txn.propagate(Effect::Command { db, args: exact });
        }
        stream.save(txn, db, key)?;
        Ok(Frame::Integer(deleted as i64))
    })
}

fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let id = stream_id::parse_strict(&args[2])?;
    let mut entries_added = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let value = args.get(i + 1).filter(|_| i + 1 < args.len());
        match value {
            Some(value) if is(&args[i], "entriesadded") => {
                let added = int_arg(value)?;
                entries_added = Some(
                    u64::try_from(added).map_err(|_| err("ERR entries_added must be positive"))?,
                );
            }
            Some(value) if is(&args[i], "maxdeletedid") => {
                max_deleted = stream_id::parse_strict(value)?;
                if id < max_deleted {
                    return Err(err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
                }
            }
            _ => return Err(err(ERR_SYNTAX)),
        }
        i += 2;
    }
    ctx.write(|txn, db| {
        let key = &args[1];
        let Some(mut stream) = Stream::open(txn, db, key)? else {
            return Err(err("ERR no such key"));
        };
        if stream.summary.length > 0 {
            let top = stream.edge(txn, true)?.map_or(StreamId::MIN, |e| e.id);
            if id < top {
                return Err(err(
                    "ERR The ID specified in XSETID is smaller than the target stream top item",
                ));
            }
            if entries_added.is_some_and(|added| stream.summary.length > added) {
                return Err(err("ERR The entries_added specified in XSETID is smaller than the target stream length"));
            }
        }
        stream.summary.last_id = id;
        if let Some(added) = entries_added {
            stream.summary.entries_added = added;
        }
        if !max_deleted.is_zero() {
            stream.summary.max_deleted_id = max_deleted;
        }
        stream.save(txn, db, key)?;
        txn.notify(db, Class::Stream, "xsetid", key);
        Ok(Frame::ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_follow_the_clock_and_the_last_id() {
        let id = StreamId::new;
        assert_eq!(next_id(id(5, 3), None, 10), Some(id(10, 0)));
        assert_eq!(next_id(id(5, 3), None, 5), Some(id(5, 4)));
        assert_eq!(
            next_id(id(5, 3), None, 1),
            Some(id(5, 4)),
            "the clock went back"
        );
        assert_eq!(next_id(id(5, u64::MAX), None, 1), Some(id(6, 0)));
        assert_eq!(
            next_id(id(5, 3), Some((id(5, 0), false)), 0),
            Some(id(5, 4))
        );
        assert_eq!(
            next_id(id(5, 3), Some((id(7, 0), false)), 0),
            Some(id(7, 0))
        );
        assert_eq!(next_id(id(5, 3), Some((id(4, 0), false)), 0), None);
        assert_eq!(next_id(id(5, u64::MAX), Some((id(5, 0), false)), 0), None);
        assert_eq!(next_id(id(5, 3), Some((id(5, 3), true)), 0), None);
        assert_eq!(next_id(id(5, 3), Some((id(5, 4), true)), 0), Some(id(5, 4)));
        assert_eq!(
            next_id(StreamId::MIN, Some((id(0, 0), false)), 0),
            Some(id(0, 1))
        );
    }
}
