//! XREAD and XREADGROUP (Redis 7.0), and serving them once blocked.
//!
//! XREAD reads without the write lock unless it may block; XREADGROUP
//! writes (the group's last delivered ID, its pending entries, the
//! consumer) in the batch's transaction. Replicas get what a read did to
//! a group as Redis sends it: one `XCLAIM ... FORCE JUSTID LASTID` per
//! entry delivered, `XGROUP SETID ... ENTRIESREAD` after the read (Redis
//! sends it after a NOACK read only, so its replicas' read counters can
//! drift), and `XGROUP CREATECONSUMER` for a consumer it created.
//!
//! A client that blocks waits on its keys with the command in a form of
//! our own ([`Blocked`]): its protocol (the reply's shape), count, group
//! and consumer, and for XREAD the IDs with `$` resolved. Unlike a list's
//! waiters, each stream waiter waits for its own ID, so the serve step of
//! one that is not satisfied does not stop the next (`commit::serve_ready`),
//! and a blocked XREADGROUP is answered with an error when its key or group
//! goes away.

use super::args::{err, int_arg, is, ms_timeout, CmdResult, ERR_SYNTAX};
use super::blocking;
use super::stream_id::{self, StreamId};
use super::stream_value::{entries_reply, Group, Pending, Stream};
use super::{Command, Ctx, FindKeys, KeySpec};
use crate::keyspace::{Effect, KeyRead, KeyType, Txn};
use crate::notify::Class;
use crate::resp::{Frame, Protocol};
use bytes::Bytes;

const fn streams_keyword(flags: &'static [&'static str], startfrom: i32) -> [KeySpec; 1] {
    [KeySpec {
        flags,
        index: startfrom,
        find: FindKeys::AfterKeyword {
            keyword: "STREAMS",
            lastkey: -1,
            step: 1,
            limit: 2,
        },
        notes: "",
    }]
}

pub const COMMANDS: &[Command] = &[
    Command::new(
        "xread",
        -4,
        &["readonly", "blocking", "movablekeys"],
        (0, 0, 0),
        "stream",
        "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
        xread,
    )
    .with_key_specs(&streams_keyword(&["RO", "access"], 1))
    .with_key_finder(read_keys),
    Command::new(
        "xreadgroup",
        -7,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "stream",
        "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
        xreadgroup,
    )
    .with_key_specs(&streams_keyword(&["RO", "access"], 4))
    .with_key_finder(read_keys),
];

/// A blocked read without COUNT is served this many entries at most.
const BLOCKED_DEFAULT_COUNT: u64 = 1000;

/// The keys of XREAD / XREADGROUP (Redis' `xreadGetKeys`): the first half
/// of what follows STREAMS.
fn read_keys(args: &[Bytes]) -> Vec<usize> {
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "block") || is(arg, "count") {
            i += 1;
        } else if is(arg, "group") {
            i += 2;
        } else if is(arg, "streams") {
            let rest = args.len() - i - 1;
            if rest == 0 || !rest.is_multiple_of(2) {
                return Vec::new();
            }
            return (i + 1..=i + rest / 2).collect();
        } else if !is(arg, "noack") {
            break;
        }
        i += 1;
    }
    Vec::new()
}

/// A parsed XREAD / XREADGROUP.
struct Request {
    block_ms: Option<u64>,
    /// 0: no limit.
    count: u64,
    /// Group and consumer.
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    keys: Vec<Bytes>,
    ids: Vec<Bytes>,
}

impl Request {
    fn parse(args: &[Bytes], readgroup: bool) -> Result<Request, Frame> {
        let mut request = Request {
            block_ms: None,
            count: 0,
            group: None,
            noack: false,
            keys: Vec::new(),
            ids: Vec::new(),
        };
        let mut streams = None;
        let mut i = 1;
        while i < args.len() {
            let more = args.len() - i - 1;
            let arg = &args[i];
            if is(arg, "block") && more > 0 {
                i += 1;
                request.block_ms = Some(ms_timeout(&args[i])?);
            } else if is(arg, "count") && more > 0 {
                i += 1;
                request.count = int_arg(&args[i])?.max(0) as u64;
            } else if is(arg, "streams") && more > 0 {
                if !more.is_multiple_of(2) {
                    return Err(err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."));
                }
                streams = Some(i + 1);
                break;
            } else if is(arg, "group") && more >= 2 {
                if !readgroup {
                    return Err(err(
                        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                request.group = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 2;
            } else if is(arg, "noack") {
                if !readgroup {
                    return Err(err(
                        "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                request.noack = true;
            } else {
                return Err(err(ERR_SYNTAX));
            }
            i += 1;
        }
        let Some(at) = streams else {
            return Err(err(ERR_SYNTAX));
        };
        if readgroup && request.group.is_none() {
            return Err(err("ERR Missing GROUP option for XREADGROUP"));
        }
        let half = (args.len() - at) / 2;
        request.keys = args[at..at + half].to_vec();
        request.ids = args[at + half..].to_vec();
        Ok(request)
    }
}

/// Where a read starts in one stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Entries after this ID.
    After(StreamId),
    /// XREADGROUP's `>`: entries never delivered to the group.
    New,
}

/// XREAD's `$` (the last ID now, 0-0 without a stream) and explicit IDs.
fn plain_start(stream: Option<&Stream>, arg: &[u8]) -> Result<StreamId, Frame> {
    if arg == b">" {
        return Err(err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
    }
    if arg == b"$" {
        return Ok(stream.map_or(StreamId::MIN, |s| s.summary.last_id));
    }
    stream_id::parse_strict(arg)
}

fn group_start(arg: &[u8]) -> Result<Start, Frame> {
    match arg {
        b"$" => Err(err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
        b">" => Ok(Start::New),
        _ => stream_id::parse_strict(arg).map(Start::After),
    }
}

/// `[[key, entries], ...]` in RESP2, `{key: entries, ...}` in RESP3.
fn streams_reply(protocol: Protocol, streams: Vec<(Bytes, Frame)>) -> Frame {
    match protocol {
        Protocol::Resp2 => Frame::Array(
            streams
                .into_iter()
                .map(|(key, entries)| Frame::Array(vec![Frame::Bulk(key), entries]))
                .collect(),
        ),
        _ => Frame::Map(
            streams
                .into_iter()
                .map(|(key, entries)| (Frame::Bulk(key), entries))
                .collect(),
        ),
    }
}

fn refuse_block_in_script(ctx: &Ctx, args: &[Bytes], request: &Request) -> Result<(), Frame> {
    if request.block_ms.is_some() && ctx.shared.script_running.runs_for(ctx.client.id()) {
        return Err(err(format!(
            "ERR {} command is not allowed with BLOCK option from scripts",
            String::from_utf8_lossy(&args[0])
        )));
    }
    Ok(())
}

fn deadline(block_ms: u64) -> Option<u64> {
    (block_ms > 0).then(|| crate::clock::monotonic_ms().saturating_add(block_ms))
}

fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = Request::parse(args, false)?;
    refuse_block_in_script(ctx, args, &request)?;
    let protocol = ctx.client.protocol;
    let Some(block_ms) = request.block_ms else {
        return ctx.with_snapshot(|reader, db| {
            let starts = plain_starts(reader, db, &request)?;
            read_plain(reader, db, &request, &starts, protocol)
        });
    };
    // Under the write lock, so that an XADD committed after this sees the
    // registration.
    let (reply, starts) = ctx.write(|txn, db| {
        let starts = plain_starts(txn, db, &request)?;
        Ok((read_plain(txn, db, &request, &starts, protocol)?, starts))
    })?;
    if reply != Frame::NullArray {
        return Ok(reply);
    }
    let blocked = Blocked {
        protocol,
        count: request.count,
        group: None,
        noack: false,
        keys: request.keys.clone(),
        ids: starts,
    };
    block(ctx, &request, blocked, block_ms)
}

fn block(ctx: &mut Ctx, request: &Request, blocked: Blocked, block_ms: u64) -> CmdResult {
    blocking::serve_or_block(
        ctx,
        &blocked.encode(),
        &request.keys,
        KeyType::Stream,
        deadline(block_ms),
        Frame::NullArray,
        serve_blocked,
    )
}

fn plain_starts(
    reader: &mut dyn KeyRead,
    db: usize,
    request: &Request,
) -> Result<Vec<StreamId>, Frame> {
    let mut starts = Vec::with_capacity(request.keys.len());
    for (key, id) in request.keys.iter().zip(&request.ids) {
        let stream = Stream::open(reader, db, key)?;
        starts.push(plain_start(stream.as_ref(), id)?);
    }
    Ok(starts)
}

/// XREAD's synchronous answer: the streams with entries after their IDs,
/// or a null array when none has any.
fn read_plain(
    reader: &mut dyn KeyRead,
    db: usize,
    request: &Request,
    starts: &[StreamId],
    protocol: Protocol,
) -> CmdResult {
    let mut served = Vec::new();
    for (key, after) in request.keys.iter().zip(starts) {
        let Some(stream) = Stream::open(reader, db, key)? else {
            continue;
        };
        if !has_entries_after(reader, &stream, *after)? {
            continue;
        }
        let Some(from) = after.next() else {
            continue;
        };
        let entries = stream.range(reader, from, StreamId::MAX, false, request.count as usize)?;
        served.push((key.clone(), entries_reply(&entries)));
    }
    if served.is_empty() {
        return Ok(Frame::NullArray);
    }
    Ok(streams_reply(protocol, served))
}

fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let request = Request::parse(args, true)?;
    refuse_block_in_script(ctx, args, &request)?;
    let protocol = ctx.client.protocol;
    let Some((group_name, consumer)) = request.group.clone() else {
        return Err(err("ERR Missing GROUP option for XREADGROUP"));
    };
    let reply = ctx.write(|txn, db| {
        // Every key and group must exist, and every ID parse, before any
        // stream is read.
        let mut starts = Vec::with_capacity(request.keys.len());
        for (key, id) in request.keys.iter().zip(&request.ids) {
            let stream = Stream::open(txn, db, key)?;
            let group = match &stream {
                Some(stream) => stream.group(txn, &group_name)?,
                None => None,
            };
            if group.is_none() {
                return Err(err(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(&group_name)
                )));
            }
            starts.push(group_start(id)?);
        }
        let mut served = Vec::new();
        for (key, start) in request.keys.iter().zip(&starts) {
            let reader = GroupReader {
                db,
                key,
                group: &group_name,
                consumer: &consumer,
                count: request.count,
                noack: request.noack,
            };
            if let Some(entries) = reader.read(txn, *start)? {
                served.push((key.clone(), entries));
            }
        }
        if served.is_empty() {
            return Ok(Frame::NullArray);
        }
        Ok(streams_reply(protocol, served))
    })?;
    let Some(block_ms) = request.block_ms.filter(|_| reply == Frame::NullArray) else {
        return Ok(reply);
    };
    let blocked = Blocked {
        protocol,
        count: request.count,
        group: Some((group_name, consumer)),
        noack: request.noack,
        keys: request.keys.clone(),
        ids: vec![StreamId::MIN; request.keys.len()],
    };
    block(ctx, &request, blocked, block_ms)
}

/// One stream's part of an XREADGROUP.
struct GroupReader<'a> {
    db: usize,
    key: &'a Bytes,
    group: &'a Bytes,
    consumer: &'a Bytes,
    /// 0: no limit.
    count: u64,
    noack: bool,
}

impl GroupReader<'_> {
    /// The entries for this stream, or `None` when there is nothing to
    /// serve from it (`>` and nothing new).
    fn read(&self, txn: &mut Txn, start: Start) -> Result<Option<Frame>, Frame> {
        let Some(mut stream) = Stream::open(txn, self.db, self.key)? else {
            return Ok(None);
        };
        let Some(mut group) = stream.group(txn, self.group)? else {
            return Ok(None);
        };
        let reply = match start {
            Start::After(after) => {
                self.consumer(txn, &mut stream, &mut group)?;
                self.history(txn, &mut stream, &mut group, after)?
            }
            Start::New => {
                if !has_entries_after(txn, &stream, group.last_id)? {
                    return Ok(None);
                }
                self.consumer(txn, &mut stream, &mut group)?;
                self.deliver_new(txn, &mut stream, &mut group)?
            }
        };
        stream.put_group(txn, &group)?;
        stream.save(txn, self.db, self.key)?;
        Ok(Some(reply))
    }

    /// Looks the consumer up (refreshing its seen time) or creates it.
    fn consumer(&self, txn: &mut Txn, stream: &mut Stream, group: &mut Group) -> Result<(), Frame> {
        let now = txn.now_ms();
        let (_, created) = stream.touch_consumer(txn, group, self.consumer, now)?;
        if created {
            txn.notify(self.db, Class::Stream, "xgroup-createconsumer", self.key);
            txn.propagate(Effect::command(
                self.db,
                [
                    b"XGROUP",
                    b"CREATECONSUMER",
                    self.key,
                    self.group,
                    self.consumer,
                ],
            ));
        } else {
            // A seen time is each server's own, as in Redis.
            txn.propagate_nothing();
        }
        Ok(())
    }

    /// `>`: entries after the group's last delivered ID, now delivered to
    /// this consumer (pending unless NOACK).
    fn deliver_new(
        &self,
        txn: &mut Txn,
        stream: &mut Stream,
        group: &mut Group,
    ) -> Result<Frame, Frame> {
        let Some(from) = group.last_id.next() else {
            return Ok(Frame::Array(Vec::new()));
        };
        let entries = stream.range(txn, from, StreamId::MAX, false, self.count as usize)?;
        let now = txn.now_ms();
        for entry in &entries {
            if entry.id > group.last_id {
                group.entries_read = stream.summary.entries_read_after(group, entry.id);
                group.last_id = entry.id;
            }
            if !self.noack {
                let pending = Pending {
                    id: entry.id,
                    delivered_ms: now,
                    deliveries: 1,
                    consumer: self.consumer.clone(),
                };
                stream.put_pending(txn, group, &pending)?;
                txn.propagate(claim_effect(self.db, self.key, group, &pending));
            }
        }
        // Redis sends this after a NOACK read only, and its replicas'
        // read counters drift (XCLAIM's LASTID moves the last ID alone);
        // sent after every read, they stay exact.
        if !entries.is_empty() {
            txn.propagate(set_id_effect(self.db, self.key, group));
        }
        Ok(entries_reply(&entries))
    }

    /// An ID: this consumer's own pending entries after it, delivered
    /// again (an entry deleted since shows as `[id, nil]`).
    fn history(
        &self,
        txn: &mut Txn,
        stream: &mut Stream,
        group: &mut Group,
        after: StreamId,
    ) -> Result<Frame, Frame> {
        let Some(from) = after.next() else {
            return Ok(Frame::Array(Vec::new()));
        };
        let limit = if self.count == 0 {
            usize::MAX
        } else {
            self.count as usize
        };
        let owned = stream.owned(txn, self.group, self.consumer, from, StreamId::MAX, limit)?;
        let now = txn.now_ms();
        let mut replies = Vec::with_capacity(owned.len());
        for id in owned {
            let Some(entry) = stream.entry(txn, id)? else {
                replies.push(Frame::Array(vec![id.reply(), Frame::NullArray]));
                continue;
            };
            replies.push(entry.reply());
            if let Some(mut pending) = stream.pending(txn, self.group, id)? {
                pending.delivered_ms = now;
                pending.deliveries += 1;
                stream.put_pending(txn, group, &pending)?;
                txn.propagate(claim_effect(self.db, self.key, group, &pending));
            }
        }
        Ok(Frame::Array(replies))
    }
}

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID
/// LASTID id`: how Redis tells replicas a pending entry's state.
pub(super) fn claim_effect(db: usize, key: &[u8], group: &Group, pending: &Pending) -> Effect {
    let (id, time, count, last) = (
        pending.id.text(),
        pending.delivered_ms.to_string(),
        pending.deliveries.to_string(),
        group.last_id.text(),
    );
    Effect::command(
        db,
        [
            b"XCLAIM",
            key,
            &group.name,
            &pending.consumer,
            b"0",
            &id,
            b"TIME",
            time.as_bytes(),
            b"RETRYCOUNT",
            count.as_bytes(),
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            &last,
        ],
    )
}

/// `XGROUP SETID key group id ENTRIESREAD n`.
pub(super) fn set_id_effect(db: usize, key: &[u8], group: &Group) -> Effect {
    let (id, read) = (group.last_id.text(), group.entries_read.to_string());
    Effect::command(
        db,
        [
            b"XGROUP",
            b"SETID",
            key,
            &group.name,
            &id,
            b"ENTRIESREAD",
            read.as_bytes(),
        ],
    )
}

/// A blocked read as its serve step sees it (`Waiting::args`).
struct Blocked {
    protocol: Protocol,
    count: u64,
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    keys: Vec<Bytes>,
    /// XREAD: entries after these; unused for a group (its last ID rules).
    ids: Vec<StreamId>,
}

impl Blocked {
    /// `protocol | count | mode | group | consumer | key id ...`, where
    /// mode is `read` (XREAD), `group` or `noack` (XREADGROUP).
    fn encode(&self) -> Vec<Bytes> {
        let (group, consumer) = self.group.clone().unwrap_or_default();
        let protocol = if self.protocol == Protocol::Resp2 {
            "2"
        } else {
            "3"
        };
        let mode: &'static [u8] = match (&self.group, self.noack) {
            (None, _) => b"read",
            (Some(_), false) => b"group",
            (Some(_), true) => b"noack",
        };
        let mut out = vec![
            Bytes::from_static(protocol.as_bytes()),
            Bytes::from(self.count.to_string()),
            Bytes::from_static(mode),
            group,
            consumer,
        ];
        for (key, id) in self.keys.iter().zip(&self.ids) {
            out.push(key.clone());
            out.push(id.text());
        }
        out
    }

    fn decode(args: &[Bytes]) -> Option<Blocked> {
        let [protocol, count, mode, group, consumer, rest @ ..] = args else {
            return None;
        };
        let mut keys = Vec::new();
        let mut ids = Vec::new();
        for pair in rest.chunks_exact(2) {
            keys.push(pair[0].clone());
            ids.push(stream_id::parse_strict(&pair[1]).ok()?);
        }
        Some(Blocked {
            protocol: if &protocol[..] == b"2" {
                Protocol::Resp2
            } else {
                Protocol::Resp3
            },
            count: std::str::from_utf8(count).ok()?.parse().ok()?,
            group: (&mode[..] != b"read").then(|| (group.clone(), consumer.clone())),
            noack: &mode[..] == b"noack",
            keys,
            ids,
        })
    }
}

/// Whether the stream's last entry comes after `id` (its last ID may be
/// that of an entry deleted since: then there is nothing to serve).
fn has_entries_after(
    reader: &mut dyn KeyRead,
    stream: &Stream,
    id: StreamId,
) -> Result<bool, Frame> {
    Ok(stream.edge(reader, true)?.is_some_and(|last| last.id > id))
}

/// Serves a blocked XREAD / XREADGROUP from `key` when it has entries
/// after what the client waits for.
fn serve_blocked(
    txn: &mut Txn,
    db: usize,
    args: &[Bytes],
    key: &Bytes,
) -> Result<Option<Frame>, Frame> {
    let blocked = Blocked::decode(args).ok_or_else(|| err("ERR corrupt blocked read"))?;
    let count = if blocked.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        blocked.count
    };
    let is_stream = txn
        .get(db, key)?
        .is_some_and(|meta| meta.kind == KeyType::Stream);
    let reply = match &blocked.group {
        Some((group, consumer)) => {
            if !is_stream {
                return Err(err("UNBLOCKED the stream key no longer exists"));
            }
            let reader = GroupReader {
                db,
                key,
                group,
                consumer,
                count,
                noack: blocked.noack,
            };
            let stream = Stream::open(txn, db, key)?;
            let Some(stream) = stream else {
                return Ok(None);
            };
            let Some(found) = stream.group(txn, group)? else {
                return Err(err(
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                ));
            };
            if !has_entries_after(txn, &stream, found.last_id)? {
                return Ok(None);
            }
            match reader.read(txn, Start::New)? {
                Some(entries) => entries,
                None => Frame::Array(Vec::new()),
            }
        }
        None => {
            if !is_stream {
                return Ok(None);
            }
            let Some(stream) = Stream::open(txn, db, key)? else {
                return Ok(None);
            };
            let at = blocked.keys.iter().position(|k| k == key);
            let after = at.map_or(StreamId::MAX, |at| blocked.ids[at]);
            if !has_entries_after(txn, &stream, after)? {
                return Ok(None);
            }
            let from = after.next().unwrap_or(StreamId::MAX);
            let entries = stream.range(txn, from, StreamId::MAX, false, count as usize)?;
            entries_reply(&entries)
        }
    };
    Ok(Some(streams_reply(
        blocked.protocol,
        vec![(key.clone(), reply)],
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> Vec<Bytes> {
        words
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn keys_are_the_first_half_after_streams() {
        assert_eq!(
            read_keys(&args("xread count 1 block 0 streams a b 0 0")),
            vec![6, 7]
        );
        assert_eq!(
            read_keys(&args("xreadgroup group g c noack streams a 0")),
            vec![6]
        );
        assert_eq!(read_keys(&args("xread streams a b 0")), Vec::<usize>::new());
        assert_eq!(
            read_keys(&args("xread bogus streams a 0")),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn blocked_reads_round_trip() {
        let blocked = Blocked {
            protocol: Protocol::Resp3,
            count: 7,
            group: Some((Bytes::from_static(b"g"), Bytes::from_static(b"c"))),
            noack: true,
            keys: vec![Bytes::from_static(b"k1"), Bytes::from_static(b"k2")],
            ids: vec![StreamId::new(1, 2), StreamId::MAX],
        };
        let back = Blocked::decode(&blocked.encode()).expect("decodes");
        assert_eq!(back.protocol, Protocol::Resp3);
        assert_eq!((back.count, back.noack), (7, true));
        assert_eq!(back.group, blocked.group);
        assert_eq!((back.keys, back.ids), (blocked.keys, blocked.ids));
        assert!(Blocked::decode(&args("2 x read g c")).is_none());
        let plain = Blocked::decode(&args("2 5 read  c k 1-1")).expect("decodes");
        assert_eq!((plain.group, plain.ids), (None, vec![StreamId::new(1, 1)]));
    }
}
