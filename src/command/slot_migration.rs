//! A whole-slot migration's state, as data: the plan and progress of one
//! that leaves (`cluster/slot_export.rs`, `server::slot_export`) and an
//! import in progress on a connection (`cluster/slot_import.rs`). Kept
//! below the command files so that `Client`, `Shared` and the cluster
//! handle can hold them without importing the commands.

use crate::cluster::SlotSet;
use crate::rdb::file::Reader;
use bytes::Bytes;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// A migration to start: what the command checked.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    pub target: String,
    pub host: String,
    pub port: u16,
    pub ranges: Vec<RangeInclusive<u16>>,
    pub slots: Vec<u16>,
}

/// Where a migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The slots' keys as of the start are being sent.
    Snapshot,
    /// The writes made since are being sent.
    CatchUp,
    /// Writes are paused while the last ones are sent and the target takes
    /// the slots.
    Handover,
    Done,
    Failed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Snapshot => "snapshot",
            Phase::CatchUp => "catch-up",
            Phase::Handover => "handover",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }

    pub fn running(self) -> bool {
        matches!(self, Phase::Snapshot | Phase::CatchUp | Phase::Handover)
    }
}

/// The last migration's progress, for INFO.
#[derive(Clone, Debug)]
pub struct ExportStatus {
    pub phase: Phase,
    pub target: String,
    pub slots: usize,
    /// Keys of the snapshot sent, and the bytes of their file.
    pub keys_sent: u64,
    pub bytes_sent: u64,
    /// Writes made during the migration and forwarded.
    pub forwarded: u64,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    /// How long writes were paused for the handover.
    pub paused_ms: u64,
    pub error: Option<String>,
}

impl ExportStatus {
    pub fn new(plan: &ExportPlan, now_ms: u64) -> ExportStatus {
        ExportStatus {
            phase: Phase::Snapshot,
            target: plan.target.clone(),
            slots: plan.slots.len(),
            keys_sent: 0,
            bytes_sent: 0,
            forwarded: 0,
            started_ms: now_ms,
            ended_ms: None,
            paused_ms: 0,
            error: None,
        }
    }

    /// INFO's `slot_migration_*` fields.
    pub fn info_fields(&self, now_ms: u64) -> Vec<(&'static str, String)> {
        let elapsed = self
            .ended_ms
            .unwrap_or(now_ms)
            .saturating_sub(self.started_ms);
        let mut fields = vec![
            ("slot_migration_state", self.phase.name().to_string()),
            ("slot_migration_target", self.target.clone()),
            ("slot_migration_slots", self.slots.to_string()),
            ("slot_migration_keys_sent", self.keys_sent.to_string()),
            ("slot_migration_bytes_sent", self.bytes_sent.to_string()),
            (
                "slot_migration_writes_forwarded",
                self.forwarded.to_string(),
            ),
            ("slot_migration_paused_ms", self.paused_ms.to_string()),
            ("slot_migration_elapsed_ms", elapsed.to_string()),
        ];
        if let Some(error) = &self.error {
            fields.push(("slot_migration_error", error.clone()));
        }
        fields
    }
}

/// A connection's import in progress.
pub struct SlotImport {
    pub from: Bytes,
    pub marker: Marker,
    pub slots: SlotSet,
    pub list: Vec<u16>,
    pub reader: Reader,
    pub loaded: u64,
    /// The RDB file has ended (and its checksum matched).
    pub ended: bool,
    /// Strings loaded and not yet written: they go to the engine in bulk
    /// (`Txn::ingest`), at the latest when the file ends.
    pub pending: crate::keyspace::BulkStrings,
}

impl SlotImport {
    /// Whether this import runs commands on `slot` here.
    pub fn covers(&self, slot: u16) -> bool {
        self.slots.contains(slot)
    }

    /// The slots, to empty if the import is abandoned.
    pub fn slots(&self) -> &[u16] {
        &self.list
    }

    /// Its marker file, to remove once they are empty.
    pub fn marker(&self) -> &Marker {
        &self.marker
    }
}

/// `slot-import-<from id>.pending` in the data directory: the slots an
/// import began to load, written (and synced) before it loads anything.
pub struct Marker {
    path: PathBuf,
}

impl Marker {
    const PREFIX: &'static str = "slot-import-";
    const SUFFIX: &'static str = ".pending";

    /// `from` is a known node's id (checked), fit for a file name.
    pub fn write(dir: &Path, from: &[u8], slots: &[u16]) -> Result<Marker, String> {
        let name = format!(
            "{}{}{}",
            Marker::PREFIX,
            String::from_utf8_lossy(from),
            Marker::SUFFIX
        );
        let path = dir.join(name);
        let text: Vec<String> = slots.iter().map(u16::to_string).collect();
        crate::fsutil::write_atomically(&path, text.join(" ").as_bytes())
            .map_err(|e| format!("ERR writing {}: {e}", path.display()))?;
        Ok(Marker { path })
    }

    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            crate::log::warning(&format!("removing {}: {e}", self.path.display()));
        }
    }

    /// The markers an earlier run left in `dir`, with their slots.
    pub fn left_in(dir: &Path) -> Vec<(Marker, Vec<u16>)> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with(Marker::PREFIX) && name.ends_with(Marker::SUFFIX)) {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let slots = (text.split_whitespace())
                .filter_map(|word| word.parse::<u16>().ok())
                .filter(|&slot| slot < crate::slot::SLOT_COUNT)
                .collect();
            found.push((Marker { path: entry.path() }, slots));
        }
        found
    }
}
