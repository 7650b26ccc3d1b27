//! Consumer groups (Redis 7.0): XGROUP, XACK, XPENDING, XCLAIM and
//! XAUTOCLAIM. XREADGROUP, which delivers to a group, is `stream_read.rs`.
//!
//! XCLAIM and XAUTOCLAIM reach replicas as Redis sends them: one
//! `XCLAIM ... TIME ms RETRYCOUNT n FORCE JUSTID LASTID id` per entry
//! claimed (or found deleted, which drops it on the replica too), and
//! `XGROUP SETID` when only the group's last ID moved. The rest is
//! deterministic and recorded as sent.

use super::args::{err, int_arg, is, parse_i64, subcommand_syntax_error, CmdResult, ERR_SYNTAX};
use super::stream_id::{self, StreamId};
use super::stream_read::{claim_effect, set_id_effect};
use super::stream_value::{Group, Pending, Stream, ENTRIES_READ_UNKNOWN};
use super::streams::key_at_1;
use super::{Command, Ctx, KeySpec};
use crate::keyspace::Txn;
use crate::notify::Class;
use crate::resp::Frame;
use bytes::Bytes;

const fn key_at_2(flags: &'static [&'static str]) -> [KeySpec; 1] {
    [KeySpec::range(flags, 2, 0)]
}

pub const COMMANDS: &[Command] = &[
    Command::container("xgroup", "stream", "A container for consumer groups commands", XGROUP),
    Command::new("xack", -4, &["write", "fast"], (1, 1, 1), "stream", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", xack)
        .with_key_specs(&key_at_1(&["RW", "update"])),
    Command::new("xpending", -3, &["readonly"], (1, 1, 1), "stream", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", xpending)
        .with_key_specs(&key_at_1(&["RO", "access"]))
        .with_tips(&["nondeterministic_output"]),
    Command::new("xclaim", -6, &["write", "fast"], (1, 1, 1), "stream", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", xclaim)
        .with_key_specs(&key_at_1(&["RW", "update"]))
        .with_tips(&["nondeterministic_output"]),
    Command::new("xautoclaim", -6, &["write", "fast"], (1, 1, 1), "stream", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", xautoclaim)
        .with_key_specs(&key_at_1(&["RW", "delete"]))
        .with_tips(&["nondeterministic_output"]),
];

const XGROUP: &[Command] = &[
    Command::new(
        "create",
        -5,
        &["write", "denyoom"],
        (2, 2, 1),
        "stream",
        "Create a consumer group.",
        xgroup_create,
    )
    .with_key_specs(&key_at_2(&["RW", "insert"])),
    Command::new(
        "setid",
        -5,
        &["write"],
        (2, 2, 1),
        "stream",
        "Set a consumer group to an arbitrary last delivered ID value.",
        xgroup_setid,
    )
    .with_key_specs(&key_at_2(&["RW", "update"])),
    Command::new(
        "destroy",
        4,
        &["write"],
        (2, 2, 1),
        "stream",
        "Destroy a consumer group.",
        xgroup_destroy,
    )
    .with_key_specs(&key_at_2(&["RW", "delete"])),
    Command::new(
        "createconsumer",
        5,
        &["write", "denyoom"],
        (2, 2, 1),
        "stream",
        "Create a consumer in a consumer group.",
        xgroup_createconsumer,
    )
    .with_key_specs(&key_at_2(&["RW", "insert"])),
    Command::new(
        "delconsumer",
        5,
        &["write"],
        (2, 2, 1),
        "stream",
        "Delete a consumer from a consumer group.",
        xgroup_delconsumer,
    )
    .with_key_specs(&key_at_2(&["RW", "delete"])),
    Command::help("stream", xgroup_help),
];

fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn no_group_for_key(group: &[u8], key: &[u8]) -> Frame {
    err(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        text(group),
        text(key)
    ))
}

fn no_key_or_group(key: &[u8], group: &[u8]) -> Frame {
    err(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

/// XGROUP CREATE / SETID's options after the ID: MKSTREAM (CREATE only)
/// and ENTRIESREAD.
fn group_options(args: &[Bytes], create: bool) -> Result<(bool, i64), Frame> {
    let (mut mkstream, mut entries_read) = (false, ENTRIES_READ_UNKNOWN);
    let mut i = 5;
    while i < args.len() {
        if create && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "entriesread") && i + 1 < args.len() {
            entries_read = int_arg(&args[i + 1])?;
            if entries_read < 0 && entries_read != ENTRIES_READ_UNKNOWN {
                return Err(err("ERR value for ENTRIESREAD must be positive or -1"));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(args));
        }
    }
    Ok((mkstream, entries_read))
}

const ERR_XGROUP_NO_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// The stream an XGROUP subcommand works on, which must exist.
fn xgroup_stream(txn: &mut Txn, db: usize, key: &[u8]) -> Result<Stream, Frame> {
    Stream::open(txn, db, key)?.ok_or_else(|| err(ERR_XGROUP_NO_KEY))
}

/// The stream and the group an XGROUP subcommand works on, which must
/// both exist.
fn xgroup_target(txn: &mut Txn, db: usize, args: &[Bytes]) -> Result<(Stream, Group), Frame> {
    let stream = xgroup_stream(txn, db, &args[2])?;
    let group = stream
        .group(txn, &args[3])?
        .ok_or_else(|| no_group_for_key(&args[3], &args[2]))?;
    Ok((stream, group))
}

fn xgroup_create(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mkstream, entries_read) = group_options(args, true)?;
    if args.len() > 8 {
        return Err(subcommand_syntax_error(args));
    }
    ctx.write(|txn, db| {
        let key = &args[2];
        let found = Stream::open(txn, db, key)?;
        if found.is_none() && !mkstream {
            return Err(err(ERR_XGROUP_NO_KEY));
        }
        let id = match &args[4][..] {
            b"$" => found.as_ref().map_or(StreamId::MIN, |s| s.summary.last_id),
            arg => stream_id::parse_strict(arg)?,
        };
        let mut stream = match found {
            Some(stream) => stream,
            None => Stream::open_or_create(txn, db, key)?,
        };
        if stream.group(txn, &args[3])?.is_some() {
            return Err(err("BUSYGROUP Consumer Group name already exists"));
        }
        stream.put_group(txn, &Group::new(args[3].clone(), id, entries_read))?;
        stream.save(txn, db, key)?;
        txn.notify(db, Class::Stream, "xgroup-create", key);
        Ok(Frame::ok())
    })
}

fn xgroup_setid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (_, entries_read) = group_options(args, false)?;
    if args.len() != 5 && args.len() != 7 {
        return Err(subcommand_syntax_error(args));
    }
    ctx.write(|txn, db| {
        let (mut stream, mut group) = xgroup_target(txn, db, args)?;
        group.last_id = match &args[4][..] {
            b"$" => stream.summary.last_id,
            arg => stream_id::parse_loose(arg, 0)?,
        };
        group.entries_read = entries_read;
        stream.put_group(txn, &group)?;
        stream.save(txn, db, &args[2])?;
        txn.notify(db, Class::Stream, "xgroup-setid", &args[2]);
        Ok(Frame::ok())
    })
}

fn xgroup_destroy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let mut stream = xgroup_stream(txn, db, &args[2])?;
        if stream.group(txn, &args[3])?.is_none() {
            return Ok(Frame::Integer(0));
        }
        stream.destroy_group(txn, &args[3])?;
        stream.save(txn, db, &args[2])?;
        txn.notify(db, Class::Stream, "xgroup-destroy", &args[2]);
        Ok(Frame::Integer(1))
    })
}

fn xgroup_createconsumer(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let (mut stream, mut group) = xgroup_target(txn, db, args)?;
        if stream.consumer(txn, &args[3], &args[4])?.is_some() {
            return Ok(Frame::Integer(0));
        }
        let now = txn.now_ms();
        stream.touch_consumer(txn, &mut group, &args[4], now)?;
        stream.put_group(txn, &group)?;
        stream.save(txn, db, &args[2])?;
        txn.notify(db, Class::Stream, "xgroup-createconsumer", &args[2]);
        Ok(Frame::Integer(1))
    })
}

fn xgroup_delconsumer(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let (mut stream, mut group) = xgroup_target(txn, db, args)?;
        if stream.consumer(txn, &args[3], &args[4])?.is_none() {
            return Ok(Frame::Integer(0));
        }
        let pending = stream.delete_consumer(txn, &mut group, &args[4])?;
        stream.put_group(txn, &group)?;
        stream.save(txn, db, &args[2])?;
        txn.notify(db, Class::Stream, "xgroup-delconsumer", &args[2]);
        Ok(Frame::Integer(pending as i64))
    })
}

fn xgroup_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    ))
}

fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.write(|txn, db| {
        let Some(mut stream) = Stream::open(txn, db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        let Some(mut group) = stream.group(txn, &args[2])? else {
            return Ok(Frame::Integer(0));
        };
        let ids = args[3..]
            .iter()
            .map(|arg| stream_id::parse_strict(arg))
            .collect::<Result<Vec<_>, Frame>>()?;
        let mut acknowledged = 0;
        for id in ids {
            acknowledged += i64::from(stream.ack(txn, &mut group, id)?);
        }
        if acknowledged > 0 {
            stream.put_group(txn, &group)?;
            stream.save(txn, db, &args[1])?;
        }
        Ok(Frame::Integer(acknowledged))
    })
}

fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return Err(err(ERR_SYNTAX));
    }
    let mut range = None;
    if args.len() >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "idle") {
            min_idle = int_arg(&args[4])?;
            if args.len() < 8 {
                return Err(err(ERR_SYNTAX));
            }
            at += 2;
        }
        let count = int_arg(&args[at + 2])?.max(0) as usize;
        let start = stream_id::interval_start(&args[at])?;
        let end = stream_id::interval_end(&args[at + 1])?;
        range = Some((min_idle, start, end, count, args.get(at + 3).cloned()));
    }
    let now = ctx.now_ms;
    ctx.with_snapshot(|reader, db| {
        let (key, name) = (&args[1], &args[2]);
        let stream = Stream::open(reader, db, key)?;
        let group = match &stream {
            Some(stream) => stream.group(reader, name)?,
            None => None,
        };
        let (Some(stream), Some(group)) = (stream, group) else {
            return Err(no_key_or_group(key, name));
        };
        let Some((min_idle, start, end, count, consumer)) = range else {
            if group.pending == 0 {
                return Ok(Frame::Array(vec![
                    Frame::Integer(0),
                    Frame::Null,
                    Frame::Null,
                    Frame::NullArray,
                ]));
            }
            let first = stream.pending_range(reader, name, StreamId::MIN, StreamId::MAX, 1)?;
            let last = stream.last_pending(reader, name)?;
            let owners = stream
                .consumers(reader, name)?
                .into_iter()
                .filter(|c| c.pending > 0)
                .map(|c| {
                    Frame::Array(vec![
                        Frame::Bulk(c.name),
                        Frame::Bulk(Bytes::from(c.pending.to_string())),
                    ])
                })
                .collect();
            let id_of = |p: Option<&Pending>| p.map_or(Frame::Null, |p| p.id.reply());
            return Ok(Frame::Array(vec![
                Frame::Integer(group.pending as i64),
                id_of(first.first()),
                id_of(last.as_ref()),
                Frame::Array(owners),
            ]));
        };
        let mut out = Vec::new();
        let mut after = start;
        'scan: while out.len() < count {
            let chunk = match &consumer {
                Some(consumer) => {
                    if stream.consumer(reader, name, consumer)?.is_none() {
                        break;
                    }
                    let ids = stream.owned(reader, name, consumer, after, end, 256)?;
                    let mut chunk = Vec::with_capacity(ids.len());
                    for id in ids {
                        chunk.extend(stream.pending(reader, name, id)?);
                    }
                    chunk
                }
                None => stream.pending_range(reader, name, after, end, 256)?,
            };
            let full = chunk.len() == 256;
            for pending in &chunk {
                let idle = now.saturating_sub(pending.delivered_ms);
                if min_idle != 0 && (idle as i64) < min_idle {
                    continue;
                }
                out.push(Frame::Array(vec![
                    pending.id.reply(),
                    Frame::Bulk(pending.consumer.clone()),
                    Frame::Integer(idle as i64),
                    Frame::Integer(pending.deliveries as i64),
                ]));
                if out.len() == count {
                    break 'scan;
                }
            }
            match chunk.last().and_then(|p| p.id.next()) {
                Some(next) if full => after = next,
                _ => break,
            }
        }
        Ok(Frame::Array(out))
    })
}

/// XCLAIM's options after its IDs.
struct ClaimOptions {
    /// Unix ms the claimed entries count as delivered at.
    delivered_ms: u64,
    retry_count: Option<u64>,
    force: bool,
    just_id: bool,
    last_id: StreamId,
}

fn claim_options(args: &[Bytes], now: u64) -> Result<ClaimOptions, Frame> {
    let mut options = ClaimOptions {
        delivered_ms: now,
        retry_count: None,
        force: false,
        just_id: false,
        last_id: StreamId::MIN,
    };
    let number = |arg: &[u8], what: &str| {
        parse_i64(arg).ok_or_else(|| err(format!("ERR Invalid {what} option argument for XCLAIM")))
    };
    let mut delivered: Option<i64> = None;
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        let opt = &args[i];
        if is(opt, "force") {
            options.force = true;
        } else if is(opt, "justid") {
            options.just_id = true;
        } else if is(opt, "idle") && has_value {
            i += 1;
            delivered = Some((now as i64).wrapping_sub(number(&args[i], "IDLE")?));
        } else if is(opt, "time") && has_value {
            i += 1;
            delivered = Some(number(&args[i], "TIME")?);
        } else if is(opt, "retrycount") && has_value {
            i += 1;
            options.retry_count = u64::try_from(number(&args[i], "RETRYCOUNT")?).ok();
        } else if is(opt, "lastid") && has_value {
            i += 1;
            options.last_id = stream_id::parse_strict(&args[i])?;
        } else {
            return Err(err(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        i += 1;
    }
    if let Some(at) = delivered {
        options.delivered_ms = u64::try_from(at)
            .ok()
            .filter(|&at| at <= now)
            .unwrap_or(now);
    }
    Ok(options)
}

fn min_idle(arg: &[u8], command: &str) -> Result<u64, Frame> {
    let idle = parse_i64(arg)
        .ok_or_else(|| err(format!("ERR Invalid min-idle-time argument for {command}")))?;
    Ok(idle.max(0) as u64)
}

/// A claim in progress: the stream, its group, and the claiming consumer
/// (looked up or created on the first entry claimed).
struct Claim<'a> {
    db: usize,
    key: &'a Bytes,
    stream: Stream,
    group: Group,
    name: &'a Bytes,
    consumer_ready: bool,
}

impl Claim<'_> {
    /// The claiming consumer exists, seen now.
    fn consumer(&mut self, txn: &mut Txn) -> Result<(), Frame> {
        if !self.consumer_ready {
            let now = txn.now_ms();
            let (_, created) = self
                .stream
                .touch_consumer(txn, &mut self.group, self.name, now)?;
            if created {
                txn.notify(self.db, Class::Stream, "xgroup-createconsumer", self.key);
            }
            self.consumer_ready = true;
        }
        Ok(())
    }

    /// A pending entry whose stream entry is gone: dropped, here and on
    /// replicas.
    fn drop_deleted(&mut self, txn: &mut Txn, pending: &Pending) -> Result<(), Frame> {
        txn.propagate(claim_effect(self.db, self.key, &self.group, pending));
        self.stream.ack(txn, &mut self.group, pending.id)?;
        Ok(())
    }

    /// Hands `pending` (updated by the caller) to the claiming consumer;
    /// the reply for it.
    fn take(&mut self, txn: &mut Txn, mut pending: Pending, just_id: bool) -> Result<Frame, Frame> {
        self.consumer(txn)?;
        pending.consumer = self.name.clone();
        self.stream.put_pending(txn, &mut self.group, &pending)?;
        txn.propagate(claim_effect(self.db, self.key, &self.group, &pending));
        if just_id {
            return Ok(pending.id.reply());
        }
        let entry = self.stream.entry(txn, pending.id)?;
        Ok(entry.map_or(Frame::NullArray, |entry| entry.reply()))
    }

    fn finish(self, txn: &mut Txn) -> Result<(), Frame> {
        let Claim {
            db,
            key,
            mut stream,
            group,
            ..
        } = self;
        stream.put_group(txn, &group)?;
        stream.save(txn, db, key)
    }
}

fn open_claim<'a>(txn: &mut Txn, db: usize, args: &'a [Bytes]) -> Result<Claim<'a>, Frame> {
    let stream = Stream::open(txn, db, &args[1])?;
    let group = match &stream {
        Some(stream) => stream.group(txn, &args[2])?,
        None => None,
    };
    let (Some(stream), Some(group)) = (stream, group) else {
        return Err(no_key_or_group(&args[1], &args[2]));
    };
    Ok(Claim {
        db,
        key: &args[1],
        stream,
        group,
        name: &args[3],
        consumer_ready: false,
    })
}

fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    ctx.write(|txn, db| {
        let mut claim = open_claim(txn, db, args)?;
        let min_idle = min_idle(&args[4], "XCLAIM")?;
        let ids: Vec<StreamId> = args[5..]
            .iter()
            .map_while(|arg| stream_id::parse_strict(arg).ok())
            .collect();
        let options = claim_options(&args[5 + ids.len()..], now)?;
        let mut moved_last_id = false;
        if options.last_id > claim.group.last_id {
            claim.group.last_id = options.last_id;
            moved_last_id = true;
        }
        let mut replies = Vec::new();
        for id in ids {
            let pending = claim.stream.pending(txn, &claim.group.name, id)?;
            if claim.stream.entry(txn, id)?.is_none() {
                if let Some(pending) = pending {
                    claim.drop_deleted(txn, &pending)?;
                    moved_last_id = false;
                }
                continue;
            }
            let pending = match pending {
                Some(pending) => {
                    let idle = now.saturating_sub(pending.delivered_ms);
                    if min_idle != 0 && idle < min_idle {
                        continue;
                    }
                    pending
                }
                None if options.force => Pending {
                    id,
                    delivered_ms: now,
                    deliveries: 1,
                    consumer: Bytes::new(),
                },
                None => continue,
            };
            let deliveries = match options.retry_count {
                Some(count) => count,
                None if !options.just_id => pending.deliveries + 1,
                None => pending.deliveries,
            };
            let pending = Pending {
                delivered_ms: options.delivered_ms,
                deliveries,
                ..pending
            };
            replies.push(claim.take(txn, pending, options.just_id)?);
            moved_last_id = false;
        }
        if moved_last_id {
            txn.propagate(set_id_effect(db, &args[1], &claim.group));
        } else {
            txn.propagate_nothing();
        }
        claim.finish(txn)?;
        Ok(Frame::Array(replies))
    })
}

fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let min_idle = min_idle(&args[4], "XAUTOCLAIM")?;
    let start = stream_id::interval_start(&args[5])?;
    let mut count: u64 = 100;
    let mut just_id = false;
    let mut i = 6;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            const MAX_COUNT: i64 = i64::MAX / 16;
            count = parse_i64(&args[i + 1])
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or_else(|| err("ERR COUNT must be > 0"))? as u64;
            i += 1;
        } else if is(&args[i], "justid") {
            just_id = true;
        } else {
            return Err(err(ERR_SYNTAX));
        }
        i += 1;
    }
    ctx.write(|txn, db| {
        let mut claim = open_claim(txn, db, args)?;
        let mut attempts = count.saturating_mul(10);
        let mut claimed = Vec::new();
        let mut deleted = Vec::new();
        let mut after = Some(start);
        'scan: while let Some(from) = after {
            let chunk =
                claim
                    .stream
                    .pending_range(txn, &claim.group.name, from, StreamId::MAX, 256)?;
            let full = chunk.len() == 256;
            for pending in chunk {
                if attempts == 0 || count == 0 {
                    break 'scan;
                }
                attempts -= 1;
                after = pending.id.next();
                if claim.stream.entry(txn, pending.id)?.is_none() {
                    claim.drop_deleted(txn, &pending)?;
                    deleted.push(pending.id.reply());
                    count -= 1;
                    continue;
                }
                if min_idle != 0 && now.saturating_sub(pending.delivered_ms) < min_idle {
                    continue;
                }
                let deliveries = pending.deliveries + u64::from(!just_id);
                let pending = Pending {
                    delivered_ms: now,
                    deliveries,
                    ..pending
                };
                claimed.push(claim.take(txn, pending, just_id)?);
                count -= 1;
            }
            if !full {
                break;
            }
        }
        // The cursor: the first pending entry not examined, or 0-0.
        let next = match after {
            Some(from) => claim
                .stream
                .pending_range(txn, &claim.group.name, from, StreamId::MAX, 1)?
                .pop(),
            None => None,
        };
        if claimed.is_empty() && deleted.is_empty() {
            txn.propagate_nothing();
        }
        claim.finish(txn)?;
        Ok(Frame::Array(vec![
            next.map_or(StreamId::MIN, |p| p.id).reply(),
            Frame::Array(claimed),
            Frame::Array(deleted),
        ]))
    })
}
