//! Server commands: CONFIG, INFO, TIME, SAVE/BGSAVE/LASTSAVE, SHUTDOWN,
//! SLOWLOG and MONITOR.

use super::args::{err, is, CmdResult, ERR_SYNTAX};
use super::context::{Shared, SlowEntry};
use super::{Command, Ctx};
use crate::resp::Frame;
use crate::sync::{lock, write};
use bytes::Bytes;
use std::sync::atomic::Ordering;

pub const COMMANDS: &[Command] = &[
    Command::container(
        "config",
        "server",
        "A container for server configuration commands.",
        CONFIG,
    ),
    Command::new(
        "info",
        -1,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns information and statistics about the server.",
        info,
    ),
    Command::new(
        "time",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "Returns the server time.",
        time,
    ),
    Command::new(
        "lastsave",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    Command::new(
        "save",
        1,
        &["admin", "noscript", "no_async_loading", "no_multi"],
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    Command::new(
        "bgsave",
        -1,
        &["admin", "noscript", "no_async_loading"],
        (0, 0, 0),
        "server",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    Command::new(
        "shutdown",
        -1,
        &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy",
        ],
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
    Command::container(
        "slowlog",
        "server",
        "A container for slow log commands.",
        SLOWLOG,
    ),
    Command::new(
        "monitor",
        1,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Listens for all requests received by the server in real-time.",
        monitor,
    ),
];

const CONFIG: &[Command] = &[
    Command::new(
        "get",
        -3,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns the effective values of configuration parameters.",
        config_get,
    ),
    Command::new(
        "set",
        -4,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Sets configuration parameters in-flight.",
        config_set,
    ),
    Command::new(
        "rewrite",
        2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Persists the effective configuration to file.",
        config_rewrite,
    ),
    Command::new(
        "resetstat",
        2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Resets the server's statistics.",
        config_resetstat,
    ),
    Command::help("server", config_help),
];

const SLOWLOG: &[Command] = &[
    Command::new(
        "get",
        -2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns the slow log's entries.",
        slowlog_get,
    ),
    Command::new(
        "len",
        2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns the number of entries in the slow log.",
        slowlog_len,
    ),
    Command::new(
        "reset",
        2,
        &["admin", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Clears all entries from the slow log.",
        slowlog_reset,
    ),
    Command::help("server", slowlog_help),
];

/// The reply of a `HELP` subcommand: a header line, the lines, and HELP.
pub fn help(container: &str, lines: &[&str]) -> Frame {
    let mut out = vec![Frame::simple(format!(
        "{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ))];
    out.extend(lines.iter().map(|line| Frame::simple(line.to_string())));
    out.push(Frame::simple("HELP"));
    out.push(Frame::simple("    Prints this help."));

    Frame::Array(out)
}

fn config_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| a.as_ref()).collect();
    let pairs = ctx.shared.config().get(&patterns);
    Ok(Frame::Map(
        pairs
            .into_iter()
            .map(|(name, value)| (Frame::bulk(name), Frame::bulk(value)))
            .collect(),
    ))
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(super::wrong_arity("config|set"));
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..]
        .chunks_exact(2)
        .map(|p| (p[0].as_ref(), p[1].as_ref()))
        .collect();
    // Listeners are bound once at start-up: refuse to pretend otherwise.
    for pair in &pairs {
        if is(pair.0, "port") || is(pair.0, "bind") {
            return Err(err(format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                String::from_utf8_lossy(pair.0).to_ascii_lowercase()
            )));
        }
    }
    let mut config = write(&ctx.shared.config);

    config
        .set(&pairs)
        .map_err(|message| err(format!("ERR {message}")))?;
    ctx.shared.apply_config(&config);
    crate::log::set_level(config.loglevel);
    if let Some(cluster) = &ctx.shared.cluster {
        cluster
            .apply_config(&config)
            .map_err(|e| err(format!("ERR error saving the cluster node config: {e}")))?;
    }

    Ok(Frame::ok())
}

fn config_rewrite(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.shared
        .config()
        .rewrite()
        .map_err(|message| err(format!("ERR Rewriting config file: {message}")))?;
    Ok(Frame::ok())
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.shared.stats.reset();
    let mut slowlog = lock(&ctx.shared.slowlog);
    slowlog.entries.clear();
    Ok(Frame::ok())
}

fn config_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(help(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    ))
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.commit_pending()?;
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    Ok(Frame::verbatim_text(super::info::render(ctx, &sections)))
}

fn time(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let micros = crate::clock::unix_micros();
    let _ = ctx;
    Ok(Frame::bulk_array([
        (micros / 1_000_000).to_string(),
        (micros % 1_000_000).to_string(),
    ]))
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        ctx.shared.save.last_save_unix.load(Ordering::Relaxed) as i64,
    ))
}

/// Writes a consistent copy of the whole data set to `<dir>/snapshot`, a
/// data directory a server can be started from (`--dir <dir>/snapshot`).
pub fn save_snapshot(shared: &Shared) -> Result<(), String> {
    let snapshot = shared.store.engine().snapshot();
    let result =
        crate::engine::copy::write_copy(snapshot.as_ref(), &shared.data_dir.join("snapshot"));
    shared.save.last_ok.store(result.is_ok(), Ordering::Relaxed);
    if result.is_ok() {
        shared
            .save
            .last_save_unix
            .store(crate::clock::unix_micros() / 1_000_000, Ordering::Relaxed);
        shared.save.changes_since_save.store(0, Ordering::Relaxed);
    }
    result.map_err(|e| e.to_string())
}

fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.commit_pending()?;
    if ctx.shared.save.in_progress.swap(true, Ordering::AcqRel) {
        return Err(err("ERR Background save already in progress"));
    }
    let result = save_snapshot(ctx.shared);
    ctx.shared.save.in_progress.store(false, Ordering::Release);
    result.map_err(|e| err(format!("ERR {e}")))?;
    Ok(Frame::ok())
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.get(1) {
        Some(arg) if args.len() == 2 && is(arg, "schedule") => {}
        Some(_) => return Err(err(ERR_SYNTAX)),
        None => {}
    }
    ctx.commit_pending()?;
    if ctx.shared.save.in_progress.swap(true, Ordering::AcqRel) {
        return Err(err("ERR Background save already in progress"));
    }
    let Some(shared) = ctx.shared.self_ref.upgrade() else {
        ctx.shared.save.in_progress.store(false, Ordering::Release);
        return Err(err("ERR server is shutting down"));
    };
    let work = move || {
        if let Err(e) = save_snapshot(&shared) {
            crate::log::warning(&format!("Background saving error: {e}"));
        }
        shared.save.in_progress.store(false, Ordering::Release);
    };
    // madsim forbids OS threads: a simulated BGSAVE runs to completion here.
    #[cfg(not(madsim))]
    std::thread::spawn(work);
    #[cfg(madsim)]
    work();
    Ok(Frame::simple("Background saving started"))
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut save_first = false;
    for arg in &args[1..] {
        if is(arg, "save") {
            save_first = true;
        } else if !(is(arg, "nosave") || is(arg, "now") || is(arg, "force")) {
            return Err(err(ERR_SYNTAX));
        }
    }
    ctx.commit_pending()?;
    if save_first {
        save_snapshot(ctx.shared)
            .map_err(|e| err(format!("ERR Errors trying to SHUTDOWN. Check logs. ({e})")))?;
    }
    ctx.shared.shutdown.send_replace(true);
    ctx.client.close_after_reply = true;
    ctx.client.suppress_reply = true;
    Ok(Frame::ok())
}

fn monitor(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.monitor = true;
    ctx.client.info().monitor = true;
    Ok(Frame::ok())
}

const SLOWLOG_MAX_ARGS: usize = 32;
const SLOWLOG_MAX_ARG_LEN: usize = 128;

/// Whether a command that took `micros` belongs in the slow log, given
/// `slowlog-log-slower-than` (negative disables it).
pub fn is_slow(threshold: i64, micros: u64) -> bool {
    threshold >= 0 && micros >= threshold as u64
}

/// Records a slow command, trimming its arguments like Redis does.
pub fn record_slow(shared: &Shared, client: &super::Client, args: &[Bytes], micros: u64) {
    let max_len = shared.config().slowlog_max_len;

    let mut kept: Vec<Bytes> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i == SLOWLOG_MAX_ARGS - 1 && args.len() > SLOWLOG_MAX_ARGS {
            kept.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - i
            )));
            break;
        }
        if arg.len() > SLOWLOG_MAX_ARG_LEN {
            let mut text = arg[..SLOWLOG_MAX_ARG_LEN].to_vec();
            text.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - SLOWLOG_MAX_ARG_LEN).as_bytes(),
            );
            kept.push(text.into());
        } else {
            kept.push(arg.clone());
        }
    }
    let name = client.info().name.clone().unwrap_or_default();
    let mut log = lock(&shared.slowlog);
    let id = log.next_id;
    log.next_id += 1;
    log.entries.push_front(SlowEntry {
        id,
        unix_secs: crate::clock::unix_micros() / 1_000_000,
        micros,
        args: kept,
        addr: client.handle.addr.clone(),
        name,
    });
    log.entries.truncate(max_len as usize);
}

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(err(
            "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.",
        ));
    }
    let count = match args.get(2) {
        None => 10,
        Some(arg) => {
            let n = super::args::parse_i64(arg)
                .filter(|&n| n >= -1)
                .ok_or_else(|| err("ERR count should be greater than or equal to -1"))?;

            if n == -1 {
                usize::MAX
            } else {
                n as usize
            }
        }
    };
    let log = lock(&ctx.shared.slowlog);
    Ok(Frame::Array(
        log.entries
            .iter()
            .take(count)
            .map(|e| {
                Frame::Array(vec![
                    Frame::Integer(e.id as i64),
                    Frame::Integer(e.unix_secs as i64),
                    Frame::Integer(e.micros as i64),
                    Frame::bulk_array(e.args.iter().cloned()),
                    Frame::bulk(e.addr.clone()),
                    Frame::Bulk(e.name.clone()),
                ])
            })
            .collect(),
    ))
}

fn slowlog_len(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        lock(&ctx.shared.slowlog).entries.len() as i64
    ))
}

fn slowlog_reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    lock(&ctx.shared.slowlog).entries.clear();
    Ok(Frame::ok())
}

fn slowlog_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(help(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    ))
}

/// One MONITOR line: `+<unix secs.micros> [<db> <addr>] "arg" "arg"`.
pub fn monitor_line(unix_micros: u64, db: usize, addr: &str, args: &[Bytes]) -> Bytes {
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        unix_micros / 1_000_000,
        unix_micros % 1_000_000,
        db,
        addr
    );
    for arg in args {
        line.push(' ');
        line.push_str(&String::from_utf8_lossy(&crate::sds::repr(arg)));
    }
    line.push_str("\r\n");
    Bytes::from(line)
}
