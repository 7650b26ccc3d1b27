//! CLIENT PAUSE / UNPAUSE and the checks of the pauses in force
//! (`pause.rs`). While a pause is on, the commands it covers wait
//! (`Session::execute_batch` returns `BatchEnd::Paused`) and the keyspace
//! deletes no expired key, so the replication offset stands still
//! (`Store::pause_until`).

use super::args::{err, CmdResult};
use super::pause::{ClientPause, PauseKind, PausePurpose};
use super::{Command, Ctx};
use crate::resp::Frame;
use bytes::Bytes;

/// `CLIENT PAUSE timeout [WRITE|ALL]`.
pub(super) fn client_pause(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let kind = match args.get(3) {
        None => PauseKind::All,
        Some(mode) if mode.eq_ignore_ascii_case(b"write") => PauseKind::Writes,
        Some(mode) if mode.eq_ignore_ascii_case(b"all") => PauseKind::All,
        Some(_) => return Err(err("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let timeout = super::args::ms_timeout(&args[2])?;
    let until = if timeout > 0 {
        ctx.now_ms.saturating_add(timeout)
    } else {
        0
    };
    set(ctx.shared, |pause| {
        pause.pause(PausePurpose::ClientCommand, until, kind)
    });
    Ok(Frame::ok())
}

/// `CLIENT UNPAUSE`.
pub(super) fn client_unpause(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    set(ctx.shared, |pause| {
        pause.unpause(PausePurpose::ClientCommand)
    });
    Ok(Frame::ok())
}

/// Changes the server's pauses, tells the keyspace how long to keep
/// expired keys, and wakes the paused connections to look again.
pub fn set(shared: &super::Shared, change: impl FnOnce(&mut ClientPause)) {
    let mut pause = crate::sync::lock(&shared.pause);
    change(&mut pause);
    shared.store.pause_until(pause.end());
    drop(pause);
    shared.unpaused.notify_waiters();
}

/// Until when a command must wait at `now`, if it must (`writes` tells
/// whether it may write: see [`pauses_for_writes`]). When nothing is
/// paused, one atomic load: `writes` is not even asked.
pub fn holds(shared: &super::Shared, now: u64, writes: impl FnOnce() -> bool) -> Option<u64> {
    if now >= shared.store.paused_until() {
        return None;
    }
    crate::sync::lock(&shared.pause).holds(now, writes())
}

/// Whether `command` waits under a write pause (Redis'
/// `is_may_replicate_command`): EXEC does when it would run such a command.
pub fn pauses_for_writes(command: &Command, multi: Option<&super::multi::Multi>) -> bool {
    let writes = |c: &Command| c.has_flag("write") || c.has_flag("may_replicate");
    if command.name == "exec" {
        return multi.is_some_and(|multi| {
            multi.queued.iter().any(|args| {
                super::resolve_name(args).is_ok_and(|resolved| writes(resolved.command))
            })
        });
    }
    writes(command)
}
