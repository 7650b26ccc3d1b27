//! CLUSTER and its subcommands, READONLY / READWRITE / ASKING, and the
//! routing guard every keyed command passes in cluster mode (MOVED,
//! CROSSSLOT, CLUSTERDOWN). Node changes go through [`ClusterHandle`];
//! reply shapes are in `reply`.

pub mod handle;
mod reply;
pub mod slot_export;
pub mod slot_import;

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::{Command, Ctx, Resolved};
use crate::cluster::routing::{Access, KeysHere, Route, TRY_AGAIN};
use crate::cluster::{ClusterError, FailoverMode, Node, SetSlot};
use crate::resp::Frame;
use crate::slot::{key_slot, SLOT_COUNT};
use bytes::Bytes;
pub use handle::ClusterHandle;

const DISABLED: &str = "ERR This instance has cluster support disabled";

const fn sub(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    summary: &'static str,
    handler: super::Handler,
) -> Command {
    Command::new(name, arity, flags, (0, 0, 0), "cluster", summary, handler)
}

const ADMIN: &[&str] = &["admin", "stale", "no_async_loading"];
const READ: &[&str] = &["stale"];

pub static COMMANDS: &[Command] = &[
    Command::container(
        "cluster",
        "cluster",
        "A container for Redis Cluster commands.",
        &[
            sub(
                "addslots",
                -3,
                ADMIN,
                "Assigns new hash slots to a node.",
                addslots,
            ),
            sub(
                "addslotsrange",
                -4,
                ADMIN,
                "Assigns new hash slot ranges to a node.",
                addslotsrange,
            ),
            sub(
                "bumpepoch",
                2,
                ADMIN,
                "Advances the cluster config epoch.",
                bumpepoch,
            ),
            sub(
                "count-failure-reports",
                3,
                ADMIN,
                "Returns the number of active failure reports active for a node.",
                count_failure_reports,
            ),
            sub(
                "countkeysinslot",
                3,
                READ,
                "Returns the number of keys in a hash slot.",
                countkeysinslot,
            ),
            sub(
                "delslots",
                -3,
                ADMIN,
                "Sets hash slots as unbound for a node.",
                delslots,
            ),
            sub(
                "delslotsrange",
                -4,
                ADMIN,
                "Sets hash slot ranges as unbound for a node.",
                delslotsrange,
            ),
            sub(
                "failover",
                -2,
                ADMIN,
                "Forces a replica to perform a manual failover of its master.",
                failover,
            ),
            sub(
                "flushslots",
                2,
                ADMIN,
                "Deletes all slots information from a node.",
                flushslots,
            ),
            sub(
                "forget",
                3,
                ADMIN,
                "Removes a node from the nodes table.",
                forget,
            ),
            sub(
                "getkeysinslot",
                4,
                READ,
                "Returns the key names in a hash slot.",
                getkeysinslot,
            ),
            Command::help("cluster", help),
            sub(
                "importslots",
                -3,
                &["write", "admin", "no_async_loading"],
                "Receives whole slots from a migrating master (internal).",
                slot_import::importslots,
            ),
            sub(
                "info",
                2,
                READ,
                "Returns information about the state of a node.",
                info,
            ),
            sub(
                "keyslot",
                3,
                READ,
                "Returns the hash slot for a key.",
                keyslot,
            ),
            sub(
                "links",
                2,
                READ,
                "Returns a list of all TCP links to and from peer nodes.",
                links,
            ),
            sub(
                "meet",
                -4,
                ADMIN,
                "Forces a node to handshake with another node.",
                meet,
            ),
            sub(
                "migrateslots",
                -6,
                ADMIN,
                "Moves whole hash slots to another master, in the background.",
                slot_export::migrateslots,
            ),
            sub("myid", 2, READ, "Returns the ID of a node.", myid),
            sub(
                "myshardid",
                2,
                READ,
                "Returns the shard ID of a node.",
                myshardid,
            ),
            sub(
                "nodes",
                2,
                READ,
                "Returns the cluster configuration for a node.",
                nodes,
            ),
            sub(
                "replicas",
                3,
                ADMIN,
                "Lists the replica nodes of a master node.",
                replicas,
            ),
            sub(
                "replicate",
                3,
                ADMIN,
                "Configure a node as replica of a master node.",
                replicate,
            ),
            sub(
                "reset",
                -2,
                &["admin", "stale", "noscript"],
                "Resets a node.",
                reset,
            ),
            sub(
                "saveconfig",
                2,
                ADMIN,
                "Forces a node to save the cluster configuration to disk.",
                saveconfig,
            ),
            sub(
                "set-config-epoch",
                3,
                ADMIN,
                "Sets the configuration epoch for a new node.",
                set_config_epoch,
            ),
            sub(
                "setslot",
                -4,
                ADMIN,
                "Binds a hash slot to a node.",
                setslot,
            ),
            sub(
                "shards",
                2,
                READ,
                "Returns the mapping of cluster slots to shards.",
                shards,
            ),
            sub(
                "slaves",
                3,
                ADMIN,
                "Lists the replica nodes of a master node.",
                replicas,
            ),
            sub(
                "slots",
                2,
                READ,
                "Returns the mapping of cluster slots to nodes.",
                slots,
            ),
        ],
    ),
    Command::new(
        "readonly",
        1,
        &["fast", "loading", "stale"],
        (0, 0, 0),
        "cluster",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        readonly,
    ),
    Command::new(
        "readwrite",
        1,
        &["fast", "loading", "stale"],
        (0, 0, 0),
        "cluster",
        "Enables read-write queries for a connection to a Reids Cluster replica node.",
        readwrite,
    ),
    Command::new(
        "asking",
        1,
        &["fast"],
        (0, 0, 0),
        "cluster",
        "Signals that a cluster client is following an -ASK redirect.",
        asking,
    ),
];

fn cluster<'s>(ctx: &Ctx<'_, 's>) -> Result<&'s ClusterHandle, Frame> {
    ctx.shared.cluster.as_deref().ok_or_else(|| err(DISABLED))
}

/// Runs an admin change on the node and turns its outcome into a reply.
fn change<T>(
    ctx: &Ctx,
    apply: impl FnOnce(&mut Node) -> Result<T, ClusterError>,
) -> Result<T, Frame> {
    match cluster(ctx)?.with_node(apply) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(err(error.to_string())),
        Err(io) => Err(err(format!(
            "ERR error saving the cluster node config: {io}"
        ))),
    }
}

/// The routing guard (Redis `getNodeByQuery`): in cluster mode a command
/// with keys runs here only if all its keys hash to one slot this node
/// serves, or, while the slot moves, if this node can serve its keys.
/// Returns the error reply (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN)
/// otherwise.
pub fn route(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> Result<(), Frame> {
    if ctx.shared.cluster.is_none() {
        return Ok(());
    }
    let keys: Vec<&Bytes> = resolved
        .command
        .keys_in(args)
        .into_iter()
        .map(|position| &args[position])
        .collect();
    route_keys(ctx, resolved.command, &keys)
}

/// [`route`] for `command` with these keys (a script checks each key its
/// commands touch on its own).
pub fn route_keys(ctx: &mut Ctx, command: &Command, keys: &[&Bytes]) -> Result<(), Frame> {
    let Some(cluster) = ctx.shared.cluster.as_deref() else {
        return Ok(());
    };
    // A replica applies its master's stream whatever slots it serves.
    if ctx.client.is_master {
        return Ok(());
    }
    let mut slot = None;
    let mut multiple_keys = false;
    for &key in keys {
        let key_slot = key_slot(key);
        match slot {
            Some(first) if first != key_slot => {
                return Err(err("CROSSSLOT Keys in request don't hash to the same slot"));
            }
            Some(_) => multiple_keys |= key != keys[0],
            None => slot = Some(key_slot),
        }
    }
    let Some(slot) = slot else {
        return Ok(());
    };
    // The connection of a whole-slot migration writes the slots it brings.
    if ctx
        .client
        .slot_import
        .as_ref()
        .is_some_and(|import| import.covers(slot))
    {
        return Ok(());
    }
    // Shard channel commands are served by the shard's replicas too, READONLY
    // or not (Redis' `is_pubsubshard`).
    let shard_pubsub = command.has_flag("pubsub");
    let access = Access {
        read_only: command.has_flag("readonly") || shard_pubsub,
        write: command.has_flag("write"),
        client_readonly: ctx.client.cluster_readonly || shard_pubsub,
        asking: ctx.client.asking || command.has_flag("asking"),
        multiple_keys,
        migrate: command.name == "migrate",
    };
    let routing = cluster.routing();
    let mut here = KeysHere::default();
    if routing.migration(slot).is_some() && !shard_pubsub {
        for &key in keys {
            match ctx.read(key)? {
                Some(_) => here.present += 1,
                None => here.missing += 1,
            }
        }
    }
    match routing.route(slot, access, here) {
        Route::Local => Ok(()),
        Route::Moved(slot, to) => Err(err(format!("MOVED {slot} {}:{}", to.ip, to.port))),
        Route::Ask(slot, to) => Err(err(format!("ASK {slot} {}:{}", to.ip, to.port))),
        Route::TryAgain => Err(err(TRY_AGAIN)),
        Route::Down(down) => Err(err(down.message())),
    }
}

/// Redis `getSlotOrReply`.
fn slot_arg(arg: &[u8]) -> Result<u16, Frame> {
    crate::sds::string2ll(arg)
        .and_then(|slot| u16::try_from(slot).ok())
        .filter(|&slot| slot < SLOT_COUNT)
        .ok_or_else(|| err("ERR Invalid or out of range slot"))
}

fn slot_list(args: &[Bytes]) -> Result<Vec<u16>, Frame> {
    args.iter().map(|arg| slot_arg(arg)).collect()
}

/// `start end [start end ...]` pairs, expanded, with Redis' checks.
fn slot_ranges(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<u16>, Frame> {
    if !args.len().is_multiple_of(2) {
        return Err(super::wrong_arity(&ctx.client.current.map_or_else(
            || "cluster".to_string(),
            |resolved| resolved.full_name(),
        )));
    }
    let mut slots = Vec::new();
    for pair in args.chunks(2) {
        let (start, end) = (slot_arg(&pair[0])?, slot_arg(&pair[1])?);
        if start > end {
            return Err(err(format!(
                "ERR start slot number {start} is greater than end slot number {end}"
            )));
        }
        slots.extend(start..=end);
    }
    Ok(slots)
}

fn addslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = slot_list(&args[2..])?;
    change(ctx, |node| node.add_slots(&slots)).map(|()| Frame::ok())
}

fn addslotsrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = slot_ranges(ctx, &args[2..])?;
    change(ctx, |node| node.add_slots(&slots)).map(|()| Frame::ok())
}

fn delslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = slot_list(&args[2..])?;
    change(ctx, |node| node.del_slots(&slots)).map(|()| Frame::ok())
}

fn delslotsrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let slots = slot_ranges(ctx, &args[2..])?;
    change(ctx, |node| node.del_slots(&slots)).map(|()| Frame::ok())
}

fn db_is_empty(ctx: &mut Ctx) -> Result<bool, Frame> {
    let store = ctx.commit_pending()?;
    Ok(store.counts(0).keys == 0)
}

fn flushslots(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    if !db_is_empty(ctx)? {
        return Err(err("ERR DB must be empty to perform CLUSTER FLUSHSLOTS."));
    }
    change(ctx, |node| {
        node.flush_slots();
        Ok(())
    })
    .map(|()| Frame::ok())
}

fn bumpepoch(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let (bumped, epoch) = change(ctx, |node| Ok(node.bump_epoch()))?;
    let word = if bumped { "BUMPED" } else { "STILL" };
    Ok(Frame::simple(format!("{word} {epoch}")))
}

fn set_config_epoch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    let epoch = int_arg(&args[2])?;
    let Ok(epoch) = u64::try_from(epoch) else {
        return Err(err(format!("ERR Invalid config epoch specified: {epoch}")));
    };
    change(ctx, |node| node.set_config_epoch(epoch)).map(|()| Frame::ok())
}

fn count_failure_reports(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = cluster(ctx)?.read(|node| node.count_failure_reports(&args[2]));
    count
        .map(|n| Frame::Integer(n as i64))
        .map_err(|e| err(e.to_string()))
}

fn countkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    let slot = int_arg(&args[2])?;
    let slot = u16::try_from(slot)
        .ok()
        .filter(|&s| s < SLOT_COUNT)
        .ok_or_else(|| err("ERR Invalid slot"))?;
    let count = ctx.commit_pending()?.count_slot_keys(0, slot);
    Ok(Frame::Integer(i64::from(count)))
}

fn getkeysinslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    let (slot, count) = (int_arg(&args[2])?, int_arg(&args[3])?);
    if count < 0 || slot < 0 || slot >= i64::from(SLOT_COUNT) {
        return Err(err("ERR Invalid slot or number of keys"));
    }
    let now = ctx.now_ms;
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    let keys = ctx
        .commit_pending()?
        .slot_keys(0, slot as u16, limit, now)?;
    Ok(Frame::Array(keys.into_iter().map(Frame::Bulk).collect()))
}

fn keyslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    Ok(Frame::Integer(key_slot(&args[2]).into()))
}

fn failover(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    let mode = match &args[2..] {
        [] => FailoverMode::Default,
        [word] if is(word, "force") => FailoverMode::Force,
        [word] if is(word, "takeover") => FailoverMode::Takeover,
        _ => return Err(err(ERR_SYNTAX)),
    };
    let now = crate::clock::monotonic_ms();
    change(ctx, |node| node.failover(now, mode)).map(|()| Frame::ok())
}

fn forget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let now = crate::clock::monotonic_ms();
    change(ctx, |node| node.forget(now, &args[2])).map(|()| Frame::ok())
}

fn meet(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    if args.len() > 5 {
        return Err(err(ERR_SYNTAX));
    }
    let text = |arg: &Bytes| String::from_utf8_lossy(arg).into_owned();
    let port = crate::sds::string2ll(&args[3]).ok_or_else(|| {
        err(format!(
            "ERR Invalid TCP base port specified: {}",
            text(&args[3])
        ))
    })?;
    let bus_port = match args.get(4) {
        Some(arg) => crate::sds::string2ll(arg)
            .ok_or_else(|| err(format!("ERR Invalid TCP bus port specified: {}", text(arg))))?,
        None => port + 10000,
    };
    let ip = text(&args[2]);
    let valid = ip.parse::<std::net::IpAddr>().is_ok()
        && (1..=65535).contains(&port)
        && (1..=65535).contains(&bus_port);
    if !valid {
        return Err(err(format!(
            "ERR Invalid node address specified: {ip}:{}",
            text(&args[3])
        )));
    }
    let now = crate::clock::monotonic_ms();
    change(ctx, |node| {
        node.meet(now, &ip, port as u16, bus_port as u16)
    })
    .map(|()| Frame::ok())
}

fn replicate(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let handle = cluster(ctx)?;
    // Redis: a master may only become a replica when it holds no keys.
    let i_am_master = handle.read(|node| node.master_of_myself().is_none());
    if i_am_master && !db_is_empty(ctx)? {
        return Err(err(
            "ERR To set a master the node must be empty and without assigned slots.",
        ));
    }
    change(ctx, |node| node.replicate(&args[2])).map(|()| Frame::ok())
}

fn reset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let handle = cluster(ctx)?;
    let hard = match &args[2..] {
        [] => false,
        [word] if is(word, "hard") => true,
        [word] if is(word, "soft") => false,
        _ => return Err(err(ERR_SYNTAX)),
    };
    let i_am_master = handle.read(|node| node.master_of_myself().is_none());
    if i_am_master && !db_is_empty(ctx)? {
        return Err(err(
            "ERR CLUSTER RESET can't be called with master nodes containing keys",
        ));
    }
    change(ctx, |node| {
        node.reset(hard);
        Ok(())
    })?;
    if !i_am_master {
        // A replica's data is its old master's: gone with the role, as in
        // Redis' clusterReset.
        ctx.write(|txn, _| {
            for db in 0..txn.databases() {
                txn.flush_db(db);
            }
            Ok(())
        })?;
    }
    Ok(Frame::ok())
}

fn saveconfig(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cluster(ctx)?
        .save_config()
        .map(|()| Frame::ok())
        .map_err(|e| err(format!("ERR error saving the cluster node config: {e}")))
}

fn myid(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let id = cluster(ctx)?.read(|node| node.myself());
    Ok(Frame::bulk(id.as_str().to_string()))
}

fn myshardid(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    // A shard is named after its master (Redis 7.2 has random shard ids;
    // naming it after the master keeps it stable without persisting more).
    let id = cluster(ctx)?.read(|node| node.master_of_myself().unwrap_or(node.myself()));
    Ok(Frame::bulk(id.as_str().to_string()))
}

fn nodes(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let records = cluster(ctx)?.read(|node| node.records());
    Ok(Frame::Verbatim {
        format: *b"txt",
        text: reply::nodes_text(&records).into(),
    })
}

fn replicas(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lines = cluster(ctx)?.read(|node| reply::replica_lines(node, &args[2]));
    Ok(Frame::Array(lines?.into_iter().map(Frame::bulk).collect()))
}

fn info(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let info = cluster(ctx)?.read(|node| node.info());
    Ok(Frame::Verbatim {
        format: *b"txt",
        text: reply::info_text(&info).into(),
    })
}

fn slots(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let records = cluster(ctx)?.read(|node| node.records());
    Ok(reply::slots(&records))
}

fn shards(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let records = cluster(ctx)?.read(|node| node.records());
    Ok(reply::shards(&records))
}

fn links(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    let links = cluster(ctx)?.links();
    Ok(reply::links(&links))
}

fn readonly(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    ctx.client.cluster_readonly = true;
    Ok(Frame::ok())
}

fn readwrite(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    ctx.client.cluster_readonly = false;
    Ok(Frame::ok())
}

fn asking(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult {
    cluster(ctx)?;
    ctx.client.asking = true;
    Ok(Frame::ok())
}

/// CLUSTER SETSLOT slot IMPORTING|MIGRATING node-id | STABLE | NODE node-id.
fn setslot(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let handle = cluster(ctx)?;
    if handle.read(|node| node.master_of_myself().is_some()) {
        return Err(err("ERR Please use SETSLOT only with masters."));
    }
    let slot = slot_arg(&args[2])?;
    let action = match &args[3..] {
        [word, id] if is(word, "migrating") => SetSlot::Migrating(id),
        [word, id] if is(word, "importing") => SetSlot::Importing(id),
        [word] if is(word, "stable") => SetSlot::Stable,
        [word, id] if is(word, "node") => SetSlot::Node(id),
        _ => {
            return Err(err(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ))
        }
    };
    let holds_keys = match action {
        SetSlot::Node(_) => {
            let now = ctx.now_ms;
            !(ctx.commit_pending()?.slot_keys(0, slot, 1, now)?).is_empty()
        }
        _ => false,
    };
    change(ctx, |node| node.set_slot(slot, action, holds_keys)).map(|()| Frame::ok())
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "CLUSTER",
        &[
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MYID",
            "    Return the node id.",
            "MYSHARDID",
            "    Return the node's shard id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to current node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slots which are between <start-slot> and <end-slot> to current node.",
            "BUMPEPOCH",
            "    Advance the cluster config epoch.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return number of failure reports for <node-id>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Delete slots information from current node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Delete slots information which are between <start-slot> and <end-slot>.",
            "FAILOVER [FORCE|TAKEOVER]",
            "    Promote current replica node to being a master.",
            "FORGET <node-id>",
            "    Remove a node from the cluster.",
            "FLUSHSLOTS",
            "    Delete current node own slots information.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "REPLICATE <node-id>",
            "    Configure current node as replica to <node-id>.",
            "RESET [HARD|SOFT]",
            "    Reset current node (default: soft).",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set slot state.",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set config epoch of current node.",
            "SAVECONFIG",
            "    Force saving cluster configuration on disk.",
        ],
    ))
}
