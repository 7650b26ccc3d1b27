//! Client pauses (Redis' `pauseClients`): CLIENT PAUSE / UNPAUSE, and the
//! write pause of a master during a manual cluster failover. While a pause
//! is on, the commands it covers wait (`Session::execute_batch` returns
//! `BatchEnd::Paused`) and the keyspace deletes no expired key, so the
//! replication offset stands still (`Store::pause_expiry_until`).
//!
//! Each purpose holds its own pause, and the strongest one applies: a
//! failover's pause is not ended by CLIENT UNPAUSE, nor the other way.

use super::args::{err, CmdResult};
use super::{Command, Ctx};
use crate::resp::Frame;
use bytes::Bytes;

/// What a pause holds back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseKind {
    /// Commands that may change data or be replicated (`write`,
    /// `may_replicate`, EXEC of such), as `CLIENT PAUSE ... WRITE`.
    Writes,
    /// Every command.
    All,
}

/// Who asked for a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PausePurpose {
    ClientCommand,
    Failover,
}

/// The pauses in force, each until a deadline (unix ms).
#[derive(Debug, Default)]
pub struct ClientPause {
    by_command: Option<(u64, PauseKind)>,
    by_failover: Option<(u64, PauseKind)>,
}

impl ClientPause {
    /// Pauses for `purpose` until `until`; a pause already held for it is
    /// only extended and widened, never shortened (as in Redis).
    pub fn pause(&mut self, purpose: PausePurpose, until: u64, kind: PauseKind) {
        let slot = self.slot(purpose);
        *slot = Some(match *slot {
            Some((end, held)) => (end.max(until), held.max(kind)),
            None => (until, kind),
        });
    }

    pub fn unpause(&mut self, purpose: PausePurpose) {
        *self.slot(purpose) = None;
    }

    /// Until when a command must wait at `now`, if it must: `writes` says
    /// whether it may write or replicate.
    pub fn holds(&self, now: u64, writes: bool) -> Option<u64> {
        [self.by_command, self.by_failover]
            .into_iter()
            .flatten()
            .filter(|&(until, kind)| until > now && (writes || kind == PauseKind::All))
            .map(|(until, _)| until)
            .max()
    }

    /// The latest deadline of any pause (0 when none): expired keys are
    /// kept until then.
    pub fn end(&self) -> u64 {
        [self.by_command, self.by_failover]
            .into_iter()
            .flatten()
            .map(|(until, _)| until)
            .max()
            .unwrap_or(0)
    }

    fn slot(&mut self, purpose: PausePurpose) -> &mut Option<(u64, PauseKind)> {
        match purpose {
            PausePurpose::ClientCommand => &mut self.by_command,
            PausePurpose::Failover => &mut self.by_failover,
        }
    }
}

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

/// Until when a command must wait at `now`, if it must (`writes`: see
/// [`pauses_for_writes`]). Cheap when nothing is paused.
pub fn holds(shared: &super::Shared, now: u64, writes: bool) -> Option<u64> {
    if now >= shared.store.paused_until() {
        return None;
    }
    crate::sync::lock(&shared.pause).holds(now, writes)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_pause_holds_writes_only_until_its_end() {
        let mut pause = ClientPause::default();
        pause.pause(PausePurpose::ClientCommand, 1_000, PauseKind::Writes);
        assert_eq!(pause.holds(500, true), Some(1_000));
        assert_eq!(pause.holds(500, false), None);
        assert_eq!(pause.holds(1_000, true), None);
    }

    #[test]
    fn an_all_pause_holds_every_command() {
        let mut pause = ClientPause::default();
        pause.pause(PausePurpose::ClientCommand, 1_000, PauseKind::All);
        assert_eq!(pause.holds(0, false), Some(1_000));
        assert_eq!(pause.holds(0, true), Some(1_000));
    }

    #[test]
    fn a_pause_is_extended_and_widened_never_shortened() {
        let mut pause = ClientPause::default();
        pause.pause(PausePurpose::ClientCommand, 1_000, PauseKind::All);
        pause.pause(PausePurpose::ClientCommand, 500, PauseKind::Writes);
        assert_eq!(pause.holds(700, false), Some(1_000));
        pause.pause(PausePurpose::ClientCommand, 2_000, PauseKind::Writes);
        assert_eq!(pause.holds(1_500, false), Some(2_000));
        assert_eq!(pause.end(), 2_000);
    }

    #[test]
    fn purposes_are_paused_and_unpaused_apart() {
        let mut pause = ClientPause::default();
        pause.pause(PausePurpose::Failover, 3_000, PauseKind::Writes);
        pause.pause(PausePurpose::ClientCommand, 1_000, PauseKind::All);
        assert_eq!(pause.holds(0, false), Some(1_000));
        assert_eq!(pause.holds(0, true), Some(3_000));
        pause.unpause(PausePurpose::ClientCommand);
        assert_eq!(pause.holds(0, false), None);
        assert_eq!(pause.holds(0, true), Some(3_000));
        pause.unpause(PausePurpose::Failover);
        assert_eq!(pause.holds(0, true), None);
        assert_eq!(pause.end(), 0);
    }
}
