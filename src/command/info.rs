//! The text of `INFO`, with Redis' section and field names.

use super::Ctx;
use crate::pubsub::Kind as PubSubKind;
use crate::sync::lock;
use std::fmt::Write;
use std::sync::atomic::Ordering;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Renders the requested sections: the default ones when none are named
/// (or `default`), those plus `commandstats` for `all` and `everything`.
pub fn render(ctx: &Ctx, requested: &[String]) -> String {
    let asked = |name: &str| requested.iter().any(|s| s == name);
    let all = asked("all") || asked("everything");
    let defaults = requested.is_empty() || all || asked("default");
    let mut out = String::new();
    for &section in DEFAULT_SECTIONS {
        if !defaults && !asked(section) {
            continue;
        }
        let title = match section {
            "cpu" => "CPU".to_string(),
            _ => format!("{}{}", section[..1].to_ascii_uppercase(), &section[1..]),
        };
        let lines: Vec<(String, String)> = match section {
            // Its field names are numbered (slave0, slave1, ...).
            "replication" => replication(ctx),
            "errorstats" => lock(&ctx.shared.stats.errors)
                .iter()
                .map(|(kind, count)| (format!("errorstat_{kind}"), format!("count={count}")))
                .collect(),
            _ => fields(ctx, section)
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        };
        write_section(&mut out, &title, lines.into_iter());
    }
    if all || asked("commandstats") {
        let lines = ctx.shared.stats.commands.lines();
        write_section(&mut out, "Commandstats", lines.into_iter());
    }
    out
}

fn write_section(out: &mut String, title: &str, lines: impl Iterator<Item = (String, String)>) {
    if !out.is_empty() {
        out.push_str("\r\n");
    }
    let _ = write!(out, "# {title}\r\n");
    for (name, value) in lines {
        let _ = write!(out, "{name}:{value}\r\n");
    }
}

fn fields(ctx: &Ctx, section: &str) -> Vec<(&'static str, String)> {
    let shared = ctx.shared;
    let stat = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed).to_string();
    let config = shared.config();
    match section {
        "server" => {
            let uptime = ctx.now_ms.saturating_sub(shared.started_ms) / 1000;
            vec![
                ("redis_version", crate::REDIS_VERSION.into()),
                ("redstone_version", env!("CARGO_PKG_VERSION").into()),
                ("redis_git_sha1", "00000000".into()),
                ("redis_git_dirty", "0".into()),
                ("redis_build_id", "0".into()),
                (
                    "redis_mode",
                    if config.cluster.enabled {
                        "cluster"
                    } else {
                        "standalone"
                    }
                    .into(),
                ),
                (
                    "os",
                    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
                ),
                ("arch_bits", "64".into()),
                ("multiplexing_api", "epoll".into()),
                ("process_id", std::process::id().to_string()),
                ("process_supervised", "no".into()),
                ("run_id", shared.run_id.clone()),
                ("tcp_port", config.port.to_string()),
                ("server_time_usec", crate::clock::unix_micros().to_string()),
                ("uptime_in_seconds", uptime.to_string()),
                ("uptime_in_days", (uptime / 86_400).to_string()),
                ("hz", config.hz.to_string()),
                ("configured_hz", config.hz.to_string()),
                (
                    "executable",
                    std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                ),
                (
                    "config_file",
                    config
                        .config_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                ),
            ]
        }
        "clients" => vec![
            ("connected_clients", shared.clients.count().to_string()),
            ("cluster_connections", "0".into()),
            ("maxclients", config.maxclients.to_string()),
            ("client_recent_max_input_buffer", "0".into()),
            ("client_recent_max_output_buffer", "0".into()),
            (
                "blocked_clients",
                (shared.store.blocking.count() as u64
                    + shared.paused_clients.load(Ordering::Relaxed))
                .to_string(),
            ),
            ("tracking_clients", "0".into()),
            (
                "clients_in_timeout_table",
                shared.store.blocking.timed().to_string(),
            ),
        ],
        "memory" => {
            let rss = resident_bytes();
            let engine = shared.store.engine().stats();
            vec![
                ("used_memory", rss.to_string()),
                ("used_memory_human", human(rss)),
                ("used_memory_rss", rss.to_string()),
                ("used_memory_rss_human", human(rss)),
                ("used_memory_peak", rss.to_string()),
                ("maxmemory", "0".into()),
                ("maxmemory_human", "0B".into()),
                ("maxmemory_policy", "noeviction".into()),
                ("mem_allocator", "libc".into()),
                (
                    "used_memory_lua",
                    shared.script_running.lua_bytes().to_string(),
                ),
                (
                    "used_memory_lua_human",
                    human(shared.script_running.lua_bytes()),
                ),
                (
                    "number_of_cached_scripts",
                    shared.script_running.cached_scripts().to_string(),
                ),
            ]
            .into_iter()
            .chain(functions_memory(&shared.script_running))
            .chain([
                // Dead collections whose members the background sweeper
                // has yet to delete (DEL/UNLINK/overwrite/expiry are O(1)).
                (
                    "lazyfree_pending_objects",
                    shared.store.reclaim_pending().to_string(),
                ),
                ("lazyfreed_objects", shared.store.reclaimed().to_string()),
                ("storage_cache_capacity", engine.cache_capacity.to_string()),
                ("storage_cache_used", engine.cache_bytes.to_string()),
                (
                    "storage_write_buffer",
                    engine.write_buffer_bytes.to_string(),
                ),
                ("storage_row_cache_used", engine.row_cache_bytes.to_string()),
                ("storage_disk_bytes", engine.disk_bytes.to_string()),
            ])
            .collect()
        }
        "persistence" => {
            let save = &shared.save;
            vec![
                ("loading", "0".into()),
                (
                    "async_loading",
                    u8::from(shared.async_loading.load(Ordering::Relaxed)).to_string(),
                ),
                (
                    "rdb_changes_since_last_save",
                    stat(&save.changes_since_save),
                ),
                (
                    "rdb_bgsave_in_progress",
                    u8::from(save.in_progress.load(Ordering::Relaxed)).to_string(),
                ),
                ("rdb_last_save_time", stat(&save.last_save_unix)),
                (
                    "rdb_last_bgsave_status",
                    if save.last_ok.load(Ordering::Relaxed) {
                        "ok"
                    } else {
                        "err"
                    }
                    .into(),
                ),
                ("aof_enabled", u8::from(config.appendonly).to_string()),
                ("aof_rewrite_in_progress", "0".into()),
                ("aof_last_write_status", "ok".into()),
                (
                    "appendfsync",
                    config
                        .get(&[b"appendfsync"])
                        .into_iter()
                        .next()
                        .map(|(_, v)| v)
                        .unwrap_or_default(),
                ),
            ]
        }
        "stats" => {
            let s = &shared.stats;
            vec![
                (
                    "total_connections_received",
                    stat(&s.total_connections_received),
                ),
                (
                    "total_commands_processed",
                    stat(&s.total_commands_processed),
                ),
                ("instantaneous_ops_per_sec", "0".into()),
                ("total_net_input_bytes", stat(&s.total_net_input_bytes)),
                ("total_net_output_bytes", stat(&s.total_net_output_bytes)),
                ("rejected_connections", stat(&s.rejected_connections)),
                ("sync_full", stat(&s.sync_full)),
                ("sync_partial_ok", stat(&s.sync_partial_ok)),
                ("sync_partial_err", stat(&s.sync_partial_err)),
                ("expired_keys", shared.store.expired_keys().to_string()),
                ("evicted_keys", "0".into()),
                ("keyspace_hits", stat(&s.keyspace_hits)),
                ("keyspace_misses", stat(&s.keyspace_misses)),
                (
                    "pubsub_channels",
                    shared.pubsub.len(PubSubKind::Channel).to_string(),
                ),
                (
                    "pubsub_patterns",
                    shared.pubsub.len(PubSubKind::Pattern).to_string(),
                ),
                (
                    "pubsubshard_channels",
                    shared.pubsub.len(PubSubKind::Shard).to_string(),
                ),
                ("total_error_replies", stat(&s.total_error_replies)),
            ]
        }
        "cpu" => {
            let (user, system) = cpu_seconds();
            vec![
                ("used_cpu_sys", format!("{system:.6}")),
                ("used_cpu_user", format!("{user:.6}")),
            ]
        }
        "cluster" => {
            let mut fields = vec![(
                "cluster_enabled",
                u8::from(config.cluster.enabled).to_string(),
            )];
            if let Some(status) = lock(&shared.slot_export).as_ref() {
                fields.extend(status.info_fields(ctx.now_ms));
            }
            fields
        }
        "keyspace" => (0..shared.store.databases())
            .filter_map(|db| {
                let counts = shared.store.counts(db);
                (counts.keys > 0).then(|| {
                    (
                        db_name(db),
                        format!("keys={},expires={},avg_ttl=0", counts.keys, counts.expires),
                    )
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `db0` … `db15` as static names, others leaked once (databases is fixed).
fn db_name(db: usize) -> &'static str {
    const NAMES: [&str; 16] = [
        "db0", "db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8", "db9", "db10", "db11",
        "db12", "db13", "db14", "db15",
    ];
    NAMES.get(db).copied().unwrap_or("db")
}
/// INFO memory's function fields, as Redis 7.0 names them.
fn functions_memory(running: &crate::script::Running) -> [(&'static str, String); 6] {
    let (functions, libraries) = running.function_counts();
    let vm_total = running.lua_bytes() + running.functions_lua_bytes();
    [
        ("number_of_functions", functions.to_string()),
        ("number_of_libraries", libraries.to_string()),
        (
            "used_memory_vm_functions",
            running.functions_lua_bytes().to_string(),
        ),
        ("used_memory_vm_total", vm_total.to_string()),
        ("used_memory_vm_total_human", human(vm_total)),
        (
            "used_memory_functions",
            running.libraries_bytes().to_string(),
        ),
    ]
}

fn human(bytes: u64) -> String {
    let units = ["B", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.2}{}", units[unit])
    }
}

/// Resident set size from /proc (0 where it is not available).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// (user, system) CPU seconds from /proc/self/stat, in clock ticks of 1/100 s.
fn cpu_seconds() -> (f64, f64) {
    let Ok(text) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = text.rsplit(')').next() else {
        return (0.0, 0.0);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}

/// `INFO replication` of a master, field for field as Redis prints it.
/// The `master_sync_*` fields of a full sync in progress, as Redis prints
/// them (an `$EOF:` stream has no known total: -1).
fn sync_progress(
    progress: &crate::replication::SyncProgress,
    idle_ms: u64,
) -> Vec<(String, String)> {
    let read = progress.read_bytes;
    let (total, left, percent) = match progress.total_bytes {
        Some(total) => (
            total as i64,
            total.saturating_sub(read) as i64,
            read as f64 * 100.0 / total.max(1) as f64,
        ),
        None => (-1, -1, 0.0),
    };
    [
        ("master_sync_total_bytes", total.to_string()),
        ("master_sync_read_bytes", read.to_string()),
        ("master_sync_left_bytes", left.to_string()),
        ("master_sync_perc", format!("{percent:.2}")),
        (
            "master_sync_last_io_seconds_ago",
            (idle_ms / 1000).to_string(),
        ),
    ]
    .map(|(name, value)| (name.to_string(), value))
    .to_vec()
}

fn replication(ctx: &Ctx) -> Vec<(String, String)> {
    let master = lock(&ctx.shared.master);
    let (offset, first, capacity, held) = {
        let feed = lock(&ctx.shared.feed);
        (
            feed.offset(),
            feed.first_offset(),
            feed.capacity(),
            feed.held(),
        )
    };
    let options = ctx.shared.config().replication.clone();
    let mut fields = vec![];
    match ctx.shared.replica_of.borrow().clone() {
        None => fields.push(("role".to_string(), "master".to_string())),
        Some(upstream) => {
            let (state, last_io_ms) = *lock(&ctx.shared.upstream);
            let up = state == crate::replication::UpstreamState::Connected;
            let progress = match state {
                crate::replication::UpstreamState::Syncing(progress) => Some(progress),
                _ => None,
            };
            let last_io = match up {
                true => (ctx.now_ms.saturating_sub(last_io_ms) / 1000).to_string(),
                false => "-1".to_string(),
            };
            let replica = [
                ("role", "slave".to_string()),
                ("master_host", upstream.host),
                ("master_port", upstream.port.to_string()),
                (
                    "master_link_status",
                    if up { "up" } else { "down" }.to_string(),
                ),
                ("master_last_io_seconds_ago", last_io),
                (
                    "master_sync_in_progress",
                    u8::from(progress.is_some()).to_string(),
                ),
                ("slave_read_repl_offset", offset.to_string()),
                ("slave_repl_offset", offset.to_string()),
            ];
            fields.extend(replica.map(|(name, value)| (name.to_string(), value)));
            if let Some(progress) = progress {
                fields.extend(sync_progress(&progress, ctx.now_ms - last_io_ms));
            }
            let replica = [
                ("slave_priority", options.replica_priority.to_string()),
                (
                    "slave_read_only",
                    u8::from(options.replica_read_only).to_string(),
                ),
                ("replica_announced", "1".to_string()),
            ];
            fields.extend(replica.map(|(name, value)| (name.to_string(), value)));
        }
    }
    fields.push((
        "connected_slaves".to_string(),
        master.replicas().count().to_string(),
    ));
    if options.min_replicas_to_write > 0 && options.min_replicas_max_lag > 0 {
        let good = master.good_replicas(ctx.now_ms, options.min_replicas_max_lag);
        fields.push(("min_slaves_good_slaves".to_string(), good.to_string()));
    }
    for (n, replica) in master.replicas().enumerate() {
        let ip = replica.handshake.ip_address.as_ref().unwrap_or(&replica.ip);
        let state = match replica.state {
            crate::replication::LinkState::Syncing => "wait_bgsave",
            crate::replication::LinkState::Online => "online",
        };
        let lag = ctx.now_ms.saturating_sub(replica.ack_ms) / 1000;
        fields.push((
            format!("slave{n}"),
            format!(
                "ip={ip},port={},state={state},offset={},lag={lag}",
                replica.handshake.listening_port, replica.ack_offset
            ),
        ));
    }
    let named = [
        ("master_failover_state", "no-failover".to_string()),
        ("master_replid", master.replid().to_string()),
        ("master_replid2", master.replid2().to_string()),
        ("master_repl_offset", offset.to_string()),
        (
            "second_repl_offset",
            master
                .second_offset()
                .map_or("-1".to_string(), |o| (o + 1).to_string()),
        ),
        ("repl_backlog_active", "1".to_string()),
        ("repl_backlog_size", capacity.to_string()),
        ("repl_backlog_first_byte_offset", (first + 1).to_string()),
        ("repl_backlog_histlen", held.to_string()),
    ];
    fields.extend(named.map(|(name, value)| (name.to_string(), value)));
    fields
}
