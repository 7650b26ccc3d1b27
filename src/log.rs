//! A small logger in Redis' line format: `pid:M dd Mon yyyy hh:mm:ss.mmm * message`.
//! Writes to stdout, or to `logfile` when one is configured.

use crate::config::LogLevel;
use crate::sync::lock;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

static LEVEL: AtomicU8 = AtomicU8::new(2);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Lines below `level` are dropped.
pub fn set_level(level: LogLevel) {
    let rank = match level {
        LogLevel::Debug => 0,
        LogLevel::Verbose => 1,
        LogLevel::Notice => 2,
        LogLevel::Warning => 3,
    };
    LEVEL.store(rank, Ordering::Relaxed);
}

/// Sets the level and opens `logfile` (empty = stdout).
pub fn init(level: LogLevel, logfile: &str) -> std::io::Result<()> {
    set_level(level);

    if !logfile.is_empty() {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)?;
        *lock(&FILE) = Some(file);
    }
    Ok(())
}

fn write(level: u8, mark: char, message: &str) {
    if level < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let now = crate::clock::now_ms();
    let line = format!(
        "{}:M {}.{:03} {} {}\n",
        std::process::id(),
        now / 1000,
        now % 1000,
        mark,
        message
    );
    let mut file = lock(&FILE);
    let _ = match file.as_mut() {
        Some(file) => file.write_all(line.as_bytes()),
        None => std::io::stdout().write_all(line.as_bytes()),
    };
}

pub fn verbose(message: &str) {
    write(1, '-', message);
}

pub fn notice(message: &str) {
    write(2, '*', message);
}

pub fn warning(message: &str) {
    write(3, '#', message);
}

/// In the madsim build with `SIM_TRACE` set: one line per command a
/// simulated node runs (node, simulated ms, client, request, reply), to
/// diff two runs of a seed that do not replay alike.
#[cfg(madsim)]
pub fn sim_trace(client: u64, args: &[bytes::Bytes], reply: &dyn std::fmt::Debug) {
    thread_local! {
        static ON: bool = std::env::var_os("SIM_TRACE").is_some();
    }
    if !ON.with(|on| *on) {
        return;
    }
    let request: Vec<String> = args
        .iter()
        .map(|arg| String::from_utf8_lossy(&arg[..arg.len().min(40)]).into_owned())
        .collect();
    let reply = format!("{reply:?}");
    eprintln!(
        "TRACE {:?} {} c{client} {request:?} -> {}",
        madsim::plugin::node(),
        madsim::time::TimeHandle::current().elapsed().as_millis(),
        &reply[..reply.len().min(80)]
    );
}
