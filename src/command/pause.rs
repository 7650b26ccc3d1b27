//! The client pauses in force (Redis' `pauseClients`): CLIENT PAUSE, the
//! write pause of a master during a manual cluster failover, and that of
//! a whole-slot migration's handover.
//! `pausing.rs` is the commands and the checks that use it.
//!
//! Each purpose holds its own pause, and the strongest one applies: a
//! failover's pause is not ended by CLIENT UNPAUSE, nor the other way.

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
    SlotMigration,
}

/// The pauses in force, each until a deadline (unix ms).
#[derive(Debug, Default)]
pub struct ClientPause {
    by_command: Option<(u64, PauseKind)>,
    by_failover: Option<(u64, PauseKind)>,
    by_slot_migration: Option<(u64, PauseKind)>,
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
        self.all()
            .filter(|&(until, kind)| until > now && (writes || kind == PauseKind::All))
            .map(|(until, _)| until)
            .max()
    }

    /// The latest deadline of any pause (0 when none): expired keys are
    /// kept until then.
    pub fn end(&self) -> u64 {
        self.all().map(|(until, _)| until).max().unwrap_or(0)
    }

    fn all(&self) -> impl Iterator<Item = (u64, PauseKind)> {
        [self.by_command, self.by_failover, self.by_slot_migration]
            .into_iter()
            .flatten()
    }

    fn slot(&mut self, purpose: PausePurpose) -> &mut Option<(u64, PauseKind)> {
        match purpose {
            PausePurpose::ClientCommand => &mut self.by_command,
            PausePurpose::Failover => &mut self.by_failover,
            PausePurpose::SlotMigration => &mut self.by_slot_migration,
        }
    }
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
