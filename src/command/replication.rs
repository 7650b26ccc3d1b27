//! The master side of the replication commands: REPLCONF (a replica's
//! handshake), PSYNC and SYNC (answered here; the connection then becomes
//! a replica link, see `server::replica_link`), WAIT, and REPLICAOF and
//! ROLE for either side.

use super::args::{err, CmdResult, ERR_SYNTAX};
use super::context::Stats;
use super::{Command, Ctx, Shared};
use crate::replication::{MasterAddr, Psync, SyncStart, UpstreamState, WaitFor};
use crate::resp::Frame;
use crate::sync::lock;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "replconf",
        -1,
        &["admin", "noscript", "loading", "stale", "allow_busy"],
        (0, 0, 0),
        "server",
        "An internal command for configuring the replication stream",
        replconf,
    ),
    Command::new(
        "psync",
        -3,
        &["admin", "noscript", "no_async_loading", "no_multi"],
        (0, 0, 0),
        "server",
        "An internal command used in replication",
        psync,
    ),
    Command::new(
        "sync",
        1,
        &["admin", "noscript", "no_async_loading", "no_multi"],
        (0, 0, 0),
        "server",
        "An internal command used in replication",
        sync,
    ),
    Command::new(
        "wait",
        3,
        &["noscript"],
        (0, 0, 0),
        "generic",
        "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        wait,
    ),
    Command::new(
        "replicaof",
        3,
        &["admin", "noscript", "stale", "no_async_loading"],
        (0, 0, 0),
        "server",
        "Configure a server as replica of another, or promote it to a master.",
        replicaof,
    ),
    Command::new(
        "slaveof",
        3,
        &["admin", "noscript", "stale", "no_async_loading"],
        (0, 0, 0),
        "server",
        "Sets a Redis server as a replica of another, or promotes it to being a master.",
        replicaof,
    ),
    Command::new(
        "role",
        1,
        &["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "Returns the replication role.",
        role,
    ),
];

/// `REPLCONF <option> <value> ...` before PSYNC: where the replica listens
/// and what it can read. ACK and GETACK belong to an established link
/// (`server::replica_link` reads them); here they are accepted silently.
fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(err(ERR_SYNTAX));
    }
    let handshake = &mut ctx.client.replica_handshake;
    for pair in args[1..].chunks_exact(2) {
        let (option, value) = (pair[0].to_ascii_lowercase(), &pair[1]);
        match &option[..] {
            b"listening-port" => {
                handshake.listening_port = std::str::from_utf8(value)
                    .ok()
                    .and_then(|port| port.parse().ok())
                    .ok_or_else(|| err("ERR value is not an integer or out of range"))?;
            }
            b"ip-address" => {
                handshake.ip_address = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"capa" => {
                handshake.capa_eof |= value.eq_ignore_ascii_case(b"eof");
                handshake.capa_psync2 |= value.eq_ignore_ascii_case(b"psync2");
            }
            b"ack" | b"getack" => return Ok(Frame::ok()),
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                return Err(err(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&pair[0])
                )))
            }
        }
    }
    Ok(Frame::ok())
}

/// `PSYNC <replid> <offset>`: `+CONTINUE` when the replica can go on from
/// the backlog, else `+FULLRESYNC <replid> <offset>` and a snapshot taken
/// at that offset.
fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let decision = {
        let master = lock(&ctx.shared.master);
        let feed = lock(&ctx.shared.feed);
        (
            master.psync(&args[1], &args[2], &feed),
            master.replid().to_string(),
        )
    };
    match decision {
        (Psync::Continue { from }, replid) => {
            Stats::add(&ctx.shared.stats.sync_partial_ok, 1);
            let handshake = ctx.client.replica_handshake.clone();
            let reply = if handshake.capa_psync2 {
                format!("CONTINUE {replid}")
            } else {
                "CONTINUE".to_string()
            };
            ctx.client.sync = Some(SyncStart {
                snapshot: None,
                from,
                handshake,
            });
            Ok(Frame::simple(reply))
        }
        (Psync::FullResync, replid) => {
            // A replica that named a history we cannot continue tried a
            // partial resync; `?` asks for a full one.
            if &args[1][..] != b"?" {
                Stats::add(&ctx.shared.stats.sync_partial_err, 1);
            }
            let from = start_full_sync(ctx)?;
            Ok(Frame::simple(format!("FULLRESYNC {replid} {from}")))
        }
    }
}

/// `SYNC`: the pre-PSYNC protocol, a full sync with no reply line.
fn sync(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    start_full_sync(ctx)?;
    // The snapshot is the reply; nothing else is sent on this link.
    ctx.client.suppress_reply = true;
    Ok(Frame::ok())
}

/// Takes the snapshot a full sync sends, under the write lock so that it
/// holds exactly the writes before the feed's offset, and hands it to the
/// client's link. Returns that offset.
fn start_full_sync(ctx: &mut Ctx) -> Result<u64, Frame> {
    let store = ctx.commit_pending()?;
    let txn = store.begin(ctx.now_ms);
    let snapshot = txn.snapshot();
    let from = {
        let mut feed = lock(&ctx.shared.feed);
        feed.force_select();
        feed.offset()
    };
    drop(txn);
    Stats::add(&ctx.shared.stats.sync_full, 1);
    ctx.client.sync = Some(SyncStart {
        snapshot: Some(snapshot),
        from,
        handshake: ctx.client.replica_handshake.clone(),
    });
    Ok(from)
}

/// `REPLICAOF host port` starts replicating that master (the link task
/// connects, `server::master_link`); `REPLICAOF NO ONE` makes this node a
/// master again, with a history of its own that continues its master's.
fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.shared.cluster.is_some() {
        return Err(err("ERR REPLICAOF not allowed in cluster mode."));
    }
    let shared = ctx.shared;
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        follow(shared, None);
        return Ok(Frame::ok());
    }
    let port = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|port| port.parse::<u16>().ok())
        .ok_or_else(|| err("ERR Invalid master port"))?;
    let master = MasterAddr {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port,
    };
    if shared.replica_of.borrow().as_ref() == Some(&master) {
        return Ok(Frame::simple("OK Already connected to specified master"));
    }
    follow(shared, Some(master));
    Ok(Frame::ok())
}

/// Makes this node a replica of `master`, or a master (`None`): REPLICAOF,
/// and in a cluster the node's role changes. A replica promoted keeps its
/// data, under a new history whose replid2 is its old master's.
pub fn follow(shared: &Shared, master: Option<MasterAddr>) {
    match master {
        Some(master) => {
            crate::log::notice(&format!(
                "REPLICAOF {}:{} enabled",
                master.host, master.port
            ));
            shared.store.set_replica(true);
            *lock(&shared.upstream) = (UpstreamState::Connecting, 0);
            shared.replica_of.send_replace(Some(master));
        }
        None if shared.replica_of.borrow().is_some() => {
            shared.replica_of.send_replace(None);
            shared.store.set_replica(false);
            let offset = lock(&shared.feed).offset();
            lock(&shared.master).promote(super::context::random_hex_id(), offset);
            crate::log::notice("MASTER MODE enabled");
        }
        None => {}
    }
}

/// `ROLE`: of a master, its offset and each replica's address and
/// acknowledged offset; of a replica, its master, the link's state and
/// its offset.
fn role(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let offset = lock(&ctx.shared.feed).offset();
    if let Some(master) = ctx.shared.replica_of.borrow().clone() {
        let state = match lock(&ctx.shared.upstream).0 {
            UpstreamState::Connecting => "connect",
            UpstreamState::Syncing(_) => "sync",
            UpstreamState::Connected => "connected",
        };
        return Ok(Frame::Array(vec![
            Frame::bulk("slave"),
            Frame::bulk(master.host),
            Frame::Integer(i64::from(master.port)),
            Frame::bulk(state),
            Frame::Integer(offset as i64),
        ]));
    }
    let replicas = lock(&ctx.shared.master)
        .replicas()
        .map(|replica| {
            let ip = replica.handshake.ip_address.as_ref().unwrap_or(&replica.ip);
            Frame::Array(vec![
                Frame::bulk(ip.clone()),
                Frame::bulk(replica.handshake.listening_port.to_string()),
                Frame::bulk(replica.ack_offset.to_string()),
            ])
        })
        .collect();
    Ok(Frame::Array(vec![
        Frame::bulk("master"),
        Frame::Integer(offset as i64),
        Frame::Array(replicas),
    ]))
}

/// `WAIT numreplicas timeout`: how many replicas acknowledged every write
/// so far, once there are `numreplicas` of them or `timeout` ms passed (0:
/// no limit). The connection does the waiting (`Client::wait`); the
/// replicas are asked to acknowledge at once.
fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Its GETACK would go into a feed that is its master's bytes.
    if ctx.shared.replica_of.borrow().is_some() {
        return Err(err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let wanted = super::args::int_arg(&args[1])?;
    let timeout = super::args::ms_timeout(&args[2])?;
    ctx.commit_pending()?;
    let offset = lock(&ctx.shared.feed).offset();
    let acked = lock(&ctx.shared.master).acked(offset);
    let wanted = usize::try_from(wanted).unwrap_or(0);
    if acked >= wanted || ctx.client.in_exec {
        return Ok(Frame::Integer(acked as i64));
    }
    // Nothing goes into the stream while clients are paused (a manual
    // failover waits for the offset to stand still); the replicas
    // acknowledge every second anyway.
    if ctx.now_ms >= ctx.shared.store.paused_until() {
        lock(&ctx.shared.feed).append_control(&[b"REPLCONF", b"GETACK", b"*"]);
        ctx.shared.feed_grew.notify_waiters();
    }
    ctx.client.wait = Some(WaitFor {
        offset,
        replicas: wanted,
        deadline_ms: (timeout > 0).then(|| crate::clock::monotonic_ms().saturating_add(timeout)),
    });
    Ok(Frame::Null)
}

/// Refuses a client's write on a read-only replica (READONLY), or on a
/// master without `min-replicas-to-write` good replicas (NOREPLICAS).
pub(super) fn admit_write(ctx: &Ctx) -> Result<(), Frame> {
    let shared = ctx.shared;
    if shared.store.is_replica() {
        if shared.config().replication.replica_read_only {
            return Err(err("READONLY You can't write against a read only replica."));
        }
        return Ok(());
    }
    let wanted = shared
        .min_replicas_to_write
        .load(std::sync::atomic::Ordering::Relaxed);
    if wanted > 0 {
        let max_lag = shared.config().replication.min_replicas_max_lag;
        let good = lock(&shared.master).good_replicas(ctx.now_ms, max_lag);
        if (good as u64) < wanted {
            return Err(err("NOREPLICAS Not enough good replicas to write."));
        }
    }
    Ok(())
}

/// With `replica-serve-stale-data no`, a replica whose link is not up
/// answers only the commands flagged `stale` (INFO, REPLICAOF, ...).
pub(super) fn admit_stale(ctx: &Ctx, resolved: super::Resolved) -> Result<(), Frame> {
    if resolved.command.has_flag("stale") || ctx.client.is_master || !stale(ctx.shared) {
        return Ok(());
    }
    Err(err(
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    ))
}

/// Whether this is a replica whose link is not up and that serves no
/// stale data (`replica-serve-stale-data no`).
pub(super) fn stale(shared: &Shared) -> bool {
    shared.store.is_replica()
        && !shared.config().replication.replica_serve_stale_data
        && lock(&shared.upstream).0 != UpstreamState::Connected
}
