//! XINFO STREAM / GROUPS / CONSUMERS (Redis 7.0), read on one snapshot.
//!
//! `radix-tree-keys` counts the nodes the entries span (see
//! `stream_value.rs` for how nodes are modelled); `radix-tree-nodes` is
//! that plus one, as the radix tree itself does not exist here.

use super::args::{err, int_arg, is, subcommand_syntax_error, CmdResult};
use super::stream_value::{entries_reply, Group, Stream, Summary, ENTRIES_READ_UNKNOWN};
use super::{Command, Ctx, KeySpec};
use crate::keyspace::KeyRead;
use crate::resp::Frame;
use bytes::Bytes;

const fn key_at_2() -> [KeySpec; 1] {
    [KeySpec::range(&["RO", "access"], 2, 0)]
}

pub const COMMANDS: &[Command] = &[Command::container(
    "xinfo",
    "stream",
    "A container for stream introspection commands",
    XINFO,
)];

const XINFO: &[Command] = &[
    Command::new(
        "stream",
        -3,
        &["readonly"],
        (2, 2, 1),
        "stream",
        "Get information about a stream",
        xinfo_stream,
    )
    .with_key_specs(&key_at_2()),
    Command::new(
        "groups",
        3,
        &["readonly"],
        (2, 2, 1),
        "stream",
        "List the consumer groups of a stream",
        xinfo_groups,
    )
    .with_key_specs(&key_at_2()),
    Command::new(
        "consumers",
        4,
        &["readonly"],
        (2, 2, 1),
        "stream",
        "List the consumers in a consumer group",
        xinfo_consumers,
    )
    .with_key_specs(&key_at_2())
    .with_tips(&["nondeterministic_output"]),
    Command::help("stream", xinfo_help),
];

fn field(name: &'static str, value: Frame) -> (Frame, Frame) {
    (Frame::bulk(name), value)
}

fn int(n: u64) -> Frame {
    Frame::Integer(n as i64)
}

fn entries_read(group: &Group) -> Frame {
    match group.entries_read {
        ENTRIES_READ_UNKNOWN => Frame::Null,
        n => Frame::Integer(n),
    }
}

fn lag(summary: &Summary, group: &Group) -> Frame {
    summary.lag(group).map_or(Frame::Null, Frame::Integer)
}

/// The stream at `args[2]`, which must exist.
fn stream_at(reader: &mut dyn KeyRead, db: usize, args: &[Bytes]) -> Result<Stream, Frame> {
    Stream::open(reader, db, &args[2])?.ok_or_else(|| err("ERR no such key"))
}

fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let node_entries = ctx.shared.config().encoding.stream_node_max_entries;
    ctx.with_snapshot(|reader, db| {
        let stream = stream_at(reader, db, args)?;
        let options = &args[3..];
        let full = match options.len() {
            0 => None,
            1 | 3 if is(&options[0], "full") => match options.get(1) {
                None => Some(10),
                Some(word) if is(word, "count") => {
                    let count = int_arg(&options[2])?;
                    Some(if count < 0 { 10 } else { count as usize })
                }
                Some(_) => return Err(subcommand_syntax_error(args)),
            },
            _ => return Err(subcommand_syntax_error(args)),
        };
        let summary = stream.summary;
        let nodes = stream.nodes(reader, node_entries)?;
        let mut map = vec![
            field("length", int(summary.length)),
            field("radix-tree-keys", int(nodes)),
            field("radix-tree-nodes", int(nodes + 1)),
            field("last-generated-id", summary.last_id.reply()),
            field("max-deleted-entry-id", summary.max_deleted_id.reply()),
            field("entries-added", int(summary.entries_added)),
            field("recorded-first-entry-id", summary.first_id.reply()),
        ];
        let Some(count) = full else {
            let edge = |reader: &mut dyn KeyRead, rev| -> Result<Frame, Frame> {
                Ok(stream.edge(reader, rev)?.map_or(Frame::Null, |e| e.reply()))
            };
            map.push(field("groups", int(summary.groups)));
            map.push(field("first-entry", edge(reader, false)?));
            map.push(field("last-entry", edge(reader, true)?));
            return Ok(Frame::Map(map));
        };
        let entries = stream.range(
            reader,
            super::stream_id::StreamId::MIN,
            super::stream_id::StreamId::MAX,
            false,
            count,
        )?;
        map.push(field("entries", entries_reply(&entries)));
        let mut groups = Vec::new();
        for group in stream.groups(reader)? {
            groups.push(full_group(reader, &stream, &group, count)?);
        }
        map.push(field("groups", Frame::Array(groups)));
        Ok(Frame::Map(map))
    })
}

/// One group of XINFO STREAM FULL, with at most `count` (0: all) pending
/// entries for it and for each consumer.
fn full_group(
    reader: &mut dyn KeyRead,
    stream: &Stream,
    group: &Group,
    count: usize,
) -> Result<Frame, Frame> {
    use super::stream_id::StreamId;
    let limit = if count == 0 { usize::MAX } else { count };
    let pending = stream.pending_range(reader, &group.name, StreamId::MIN, StreamId::MAX, limit)?;
    let pending = pending
        .into_iter()
        .map(|p| {
            Frame::Array(vec![
                p.id.reply(),
                Frame::Bulk(p.consumer),
                int(p.delivered_ms),
                int(p.deliveries),
            ])
        })
        .collect();
    let mut consumers = Vec::new();
    for consumer in stream.consumers(reader, &group.name)? {
        let owned = stream.owned(
            reader,
            &group.name,
            &consumer.name,
            StreamId::MIN,
            StreamId::MAX,
            limit,
        )?;
        let mut entries = Vec::with_capacity(owned.len());
        for id in owned {
            let Some(p) = stream.pending(reader, &group.name, id)? else {
                continue;
            };
            entries.push(Frame::Array(vec![
                p.id.reply(),
                int(p.delivered_ms),
                int(p.deliveries),
            ]));
        }
        consumers.push(Frame::Map(vec![
            field("name", Frame::Bulk(consumer.name)),
            field("seen-time", int(consumer.seen_ms)),
            field("pel-count", int(consumer.pending)),
            field("pending", Frame::Array(entries)),
        ]));
    }
    Ok(Frame::Map(vec![
        field("name", Frame::Bulk(group.name.clone())),
        field("last-delivered-id", group.last_id.reply()),
        field("entries-read", entries_read(group)),
        field("lag", lag(&stream.summary, group)),
        field("pel-count", int(group.pending)),
        field("pending", Frame::Array(pending)),
        field("consumers", Frame::Array(consumers)),
    ]))
}

fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_snapshot(|reader, db| {
        let stream = stream_at(reader, db, args)?;
        let groups = stream.groups(reader)?;
        Ok(Frame::Array(
            groups
                .iter()
                .map(|group| {
                    Frame::Map(vec![
                        field("name", Frame::Bulk(group.name.clone())),
                        field("consumers", int(group.consumers)),
                        field("pending", int(group.pending)),
                        field("last-delivered-id", group.last_id.reply()),
                        field("entries-read", entries_read(group)),
                        field("lag", lag(&stream.summary, group)),
                    ])
                })
                .collect(),
        ))
    })
}

fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    ctx.with_snapshot(|reader, db| {
        let stream = stream_at(reader, db, args)?;
        if stream.group(reader, &args[3])?.is_none() {
            return Err(err(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                String::from_utf8_lossy(&args[3]),
                String::from_utf8_lossy(&args[2])
            )));
        }
        let consumers = stream.consumers(reader, &args[3])?;
        Ok(Frame::Array(
            consumers
                .into_iter()
                .map(|c| {
                    Frame::Map(vec![
                        field("name", Frame::Bulk(c.name)),
                        field("pending", int(c.pending)),
                        field("idle", int(now.saturating_sub(c.seen_ms))),
                    ])
                })
                .collect(),
        ))
    })
}

fn xinfo_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    ))
}
