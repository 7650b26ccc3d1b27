//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and
//! PUBSUB, the RESP2 subscribed-mode rule, and [`deliver`], which the
//! cluster bus also calls for messages published on other nodes. The
//! registry and the subscriber outboxes are in [`crate::pubsub`].

use super::args::{err, CmdResult};
use super::{Command, Ctx, Resolved, Shared};
use crate::pubsub::{Kind, Subscriber};
use crate::resp::{Frame, Protocol};
use bytes::Bytes;
use std::sync::Arc;

const SUBSCRIBE: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const PUBLISH: &[&str] = &["pubsub", "loading", "stale", "fast", "may_replicate"];
const INTROSPECT: &[&str] = &["pubsub", "loading", "stale"];

pub static COMMANDS: &[Command] = &[
    Command::new(
        "subscribe",
        -2,
        SUBSCRIBE,
        (0, 0, 0),
        "pubsub",
        "Listen for messages published to the given channels",
        subscribe,
    ),
    Command::new(
        "unsubscribe",
        -1,
        SUBSCRIBE,
        (0, 0, 0),
        "pubsub",
        "Stop listening for messages posted to the given channels",
        unsubscribe,
    ),
    Command::new(
        "psubscribe",
        -2,
        SUBSCRIBE,
        (0, 0, 0),
        "pubsub",
        "Listen for messages published to channels matching the given patterns",
        psubscribe,
    ),
    Command::new(
        "punsubscribe",
        -1,
        SUBSCRIBE,
        (0, 0, 0),
        "pubsub",
        "Stop listening for messages posted to channels matching the given patterns",
        punsubscribe,
    ),
    Command::new(
        "publish",
        3,
        PUBLISH,
        (0, 0, 0),
        "pubsub",
        "Post a message to a channel",
        publish,
    ),
    // Shard channels are keys for routing: a cluster sends them to the
    // shard that owns their slot (CROSSSLOT if they differ).
    Command::new(
        "ssubscribe",
        -2,
        SUBSCRIBE,
        (1, -1, 1),
        "pubsub",
        "Listen for messages published to the given shard channels",
        ssubscribe,
    ),
    Command::new(
        "sunsubscribe",
        -1,
        SUBSCRIBE,
        (1, -1, 1),
        "pubsub",
        "Stop listening for messages posted to the given shard channels",
        sunsubscribe,
    ),
    Command::new(
        "spublish",
        3,
        PUBLISH,
        (1, 1, 1),
        "pubsub",
        "Post a message to a shard channel",
        spublish,
    ),
    Command::container(
        "pubsub",
        "pubsub",
        "A container for Pub/Sub commands",
        PUBSUB,
    ),
];

const PUBSUB: &[Command] = &[
    Command::new(
        "channels",
        -2,
        INTROSPECT,
        (0, 0, 0),
        "pubsub",
        "List active channels",
        channels,
    ),
    Command::new(
        "numpat",
        2,
        INTROSPECT,
        (0, 0, 0),
        "pubsub",
        "Get the count of unique patterns pattern subscriptions",
        numpat,
    ),
    Command::new(
        "numsub",
        -2,
        INTROSPECT,
        (0, 0, 0),
        "pubsub",
        "Get the count of subscribers for channels",
        numsub,
    ),
    Command::new(
        "shardchannels",
        -2,
        INTROSPECT,
        (0, 0, 0),
        "pubsub",
        "List active shard channels",
        shardchannels,
    ),
    Command::new(
        "shardnumsub",
        -2,
        INTROSPECT,
        (0, 0, 0),
        "pubsub",
        "Get the count of subscribers for shard channels",
        shardnumsub,
    ),
    Command::help("pubsub", help),
];

/// The commands a RESP2 client may run while subscribed.
const ALLOWED_WHILE_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "psubscribe",
    "unsubscribe",
    "sunsubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Redis' rule for RESP2 clients with subscriptions: their connection
/// carries messages, so only the commands above may run.
pub fn check_subscribed_mode(ctx: &Ctx, resolved: Resolved) -> Result<(), Frame> {
    if ctx.client.protocol != Protocol::Resp2
        || !ctx.client.pubsub.active()
        || (resolved.parent.is_none() && ALLOWED_WHILE_SUBSCRIBED.contains(&resolved.command.name))
    {
        return Ok(());
    }
    Err(err(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        resolved.full_name()
    )))
}

/// True for the commands whose replies are subscription confirmations:
/// the connection sends them before any message that arrived meanwhile.
pub fn changes_subscriptions(resolved: Resolved) -> bool {
    resolved.parent.is_none()
        && matches!(
            resolved.command.name,
            "subscribe"
                | "ssubscribe"
                | "psubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "punsubscribe"
                | "reset"
        )
}

impl Kind {
    fn subscribed(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribed(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// `[kind, name or nil, count]`: a push in RESP3, an array in RESP2.
fn confirmation(word: &'static str, name: Option<&Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::bulk(word),
        name.map_or(Frame::Null, |name| Frame::Bulk(name.clone())),
        Frame::Integer(count as i64),
    ])
}

/// Queues all replies but the last as extra replies, returns the last.
fn replies(ctx: &mut Ctx, mut frames: Vec<Frame>) -> CmdResult {
    let last = frames.pop().unwrap_or(Frame::NullArray);
    ctx.client.extra_replies.extend(frames);
    Ok(last)
}

/// The client's outbox, created at its first subscription.
fn subscriber(ctx: &mut Ctx) -> Arc<Subscriber> {
    let protocol = ctx.client.protocol;
    let id = ctx.client.id();
    ctx.client
        .pubsub
        .subscriber
        .get_or_insert_with(|| Arc::new(Subscriber::new(id, protocol)))
        .clone()
}

/// CLIENT LIST's `sub`, `psub`, `ssub`, `omem` and `P` flag.
fn update_info(ctx: &mut Ctx) {
    let subs = &ctx.client.pubsub;
    let counts = [
        subs.channels.len(),
        subs.patterns.len(),
        subs.shard_channels.len(),
    ];
    let subscriber = subs.subscriber.clone();
    let mut info = ctx.client.info();
    info.subscriptions = counts;
    info.subscriber = subscriber;
}

fn subscribe_to(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> CmdResult {
    let subscriber = subscriber(ctx);
    let mut frames = Vec::with_capacity(names.len());
    for name in names {
        if ctx.client.pubsub.set_mut(kind).insert(name) {
            ctx.shared.pubsub.subscribe(kind, name, &subscriber);
        }
        frames.push(confirmation(
            kind.subscribed(),
            Some(name),
            ctx.client.pubsub.count(kind),
        ));
    }
    update_info(ctx);
    replies(ctx, frames)
}

/// Unsubscribes from `names`, or from everything of `kind` when empty.
fn unsubscribe_from(ctx: &mut Ctx, kind: Kind, names: &[Bytes]) -> CmdResult {
    let names = if names.is_empty() {
        let all = ctx.client.pubsub.set(kind).to_vec();
        if all.is_empty() {
            return Ok(confirmation(
                kind.unsubscribed(),
                None,
                ctx.client.pubsub.count(kind),
            ));
        }
        all
    } else {
        names.to_vec()
    };
    let id = ctx.client.id();
    let mut frames = Vec::with_capacity(names.len());
    for name in &names {
        if ctx.client.pubsub.set_mut(kind).remove(name) {
            ctx.shared.pubsub.unsubscribe(kind, name, id);
        }
        frames.push(confirmation(
            kind.unsubscribed(),
            Some(name),
            ctx.client.pubsub.count(kind),
        ));
    }
    update_info(ctx);
    replies(ctx, frames)
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_to(ctx, Kind::Channel, &args[1..])
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_to(ctx, Kind::Pattern, &args[1..])
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    subscribe_to(ctx, Kind::Shard, &args[1..])
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_from(ctx, Kind::Channel, &args[1..])
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_from(ctx, Kind::Pattern, &args[1..])
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsubscribe_from(ctx, Kind::Shard, &args[1..])
}

/// Drops every subscription without a confirmation (RESET).
pub fn reset(ctx: &mut Ctx) {
    let id = ctx.client.id();
    ctx.shared.pubsub.remove_client(&ctx.client.pubsub, id);
    let subscriber = ctx.client.pubsub.subscriber.take();
    ctx.client.pubsub = crate::pubsub::Subscriptions {
        subscriber,
        ..Default::default()
    };
    update_info(ctx);
}

/// Removes a closing connection's subscriptions.
pub fn disconnect(shared: &Shared, client: &super::Client) {
    if client.pubsub.active() {
        shared.pubsub.remove_client(&client.pubsub, client.id());
    }
}

/// Delivers a message to this node's subscribers of `channel` (and its
/// matching patterns unless `sharded`) and returns how many received it.
/// PUBLISH and SPUBLISH call it, and so does the cluster bus for messages
/// published on other nodes. Subscribers this takes over their
/// `client-output-buffer-limit pubsub` are disconnected.
pub fn deliver(shared: &Shared, sharded: bool, channel: &[u8], message: &[u8]) -> usize {
    let limit = shared.config().client_output_buffer_limit.pubsub;
    let now_ms = crate::clock::now_ms();
    let delivery = shared
        .pubsub
        .publish(sharded, channel, message, &limit, now_ms / 1000);
    if !delivery.over_limit.is_empty() {
        for handle in shared.clients.all() {
            if delivery.over_limit.contains(&handle.id) && !handle.is_killed() {
                crate::log::warning(&format!(
                    "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    super::client_list::describe(&handle, now_ms, None)
                ));
                handle.kill();
            }
        }
    }
    delivery.receivers
}

/// Relays a publish to the other nodes of the cluster, if there is one.
fn relay(ctx: &Ctx, sharded: bool, args: &[Bytes]) {
    if let Some(cluster) = &ctx.shared.cluster {
        let _ = cluster.with_node(|node| node.publish(sharded, &args[1], &args[2]));
    }
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let receivers = deliver(ctx.shared, false, &args[1], &args[2]);
    relay(ctx, false, args);
    Ok(Frame::Integer(receivers as i64))
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let receivers = deliver(ctx.shared, true, &args[1], &args[2]);
    relay(ctx, true, args);
    Ok(Frame::Integer(receivers as i64))
}

/// Redis' `addReplySubcommandSyntaxError`.
pub(super) fn subcommand_syntax_error(args: &[Bytes]) -> Frame {
    err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

fn list_names(ctx: &mut Ctx, kind: Kind, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax_error(args));
    }
    let pattern = args.get(2).map(|p| p.as_ref());
    Ok(Frame::Array(
        ctx.shared
            .pubsub
            .names(kind, pattern)
            .into_iter()
            .map(Frame::Bulk)
            .collect(),
    ))
}

fn count_subscribers(ctx: &mut Ctx, kind: Kind, args: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity((args.len() - 2) * 2);
    for name in &args[2..] {
        out.push(Frame::Bulk(name.clone()));
        out.push(Frame::Integer(
            ctx.shared.pubsub.subscribers(kind, name) as i64
        ));
    }
    Ok(Frame::Array(out))
}

fn channels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    list_names(ctx, Kind::Channel, args)
}

fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    list_names(ctx, Kind::Shard, args)
}

fn numsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, Kind::Channel, args)
}

fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_subscribers(ctx, Kind::Shard, args)
}

fn numpat(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(ctx.shared.pubsub.len(Kind::Pattern) as i64))
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    ))
}
