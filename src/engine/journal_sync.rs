//! Syncing fjall's journal without holding its lock, so that a group commit
//! covers every write made while the disk works.
//!
//! fjall's `persist(SyncData)` holds the journal writer's lock through the
//! whole `fdatasync`. Under `appendfsync always` that stopped every writer
//! for the length of each sync, so each sync covered only the writes that
//! came in the gap between two of them: 50 clients got a third of Redis'
//! SETs per second. Here the lock is held only to hand the journal's buffer
//! to the OS; the `fdatasync` runs on a handle of our own to the active
//! journal while writers go on appending.
//!
//! The active journal is the highest-numbered `<id>.jnl` file of the
//! database folder (fjall 3.1's layout; the version is pinned). fjall
//! creates each journal preallocated, synced, with its folder synced, and
//! syncs a journal whole before it moves to the next one, so: data handed
//! to the OS before a rotation is synced by the rotation, data after it is
//! in the newest file, which this syncs.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

pub(super) struct JournalSync {
    folder: PathBuf,
    /// The journal last synced, by id, kept open.
    active: Mutex<Option<(u64, File)>>,
}

impl JournalSync {
    pub fn new(folder: PathBuf) -> JournalSync {
        JournalSync {
            folder,
            active: Mutex::new(None),
        }
    }

    /// `fdatasync`s the active journal. The caller has handed fjall's
    /// journal buffer to the OS first.
    pub fn sync_active(&self) -> io::Result<()> {
        let id = self.active_id()?;
        let mut active = crate::sync::lock(&self.active);
        if active.as_ref().is_none_or(|(open, _)| *open != id) {
            let file = File::open(self.folder.join(format!("{id}.jnl")))?;
            *active = Some((id, file));
        }
        match active.as_ref() {
            Some((_, file)) => file.sync_data(),
            None => Ok(()),
        }
    }

    fn active_id(&self) -> io::Result<u64> {
        let mut newest = None;
        for entry in std::fs::read_dir(&self.folder)? {
            let name = entry?.file_name();
            let id = (name.to_str())
                .and_then(|name| name.strip_suffix(".jnl"))
                .and_then(|id| id.parse::<u64>().ok());
            newest = newest.max(id);
        }
        newest.ok_or_else(|| io::Error::other("no journal file in the database folder"))
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    #[test]
    fn the_active_journal_is_the_highest_numbered_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sync = JournalSync::new(dir.path().to_path_buf());
        assert!(sync.sync_active().is_err(), "no journal yet");
        for name in ["3.jnl", "12.jnl", "7.jnl", "99.tmp", "version"] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        assert_eq!(sync.active_id().expect("id"), 12, "numeric, not by name");
        sync.sync_active().expect("sync");
        // A rotation: the next sync opens the new journal.
        std::fs::write(dir.path().join("13.jnl"), b"x").expect("write");
        sync.sync_active().expect("sync");
        let active = crate::sync::lock(&sync.active);
        assert_eq!(active.as_ref().map(|(id, _)| *id), Some(13));
    }
}
