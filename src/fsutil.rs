//! Crash-safe replacement of a small file (redis.conf by CONFIG REWRITE,
//! nodes.conf by the cluster): after a crash or power cut at any point the
//! path holds either the old content or the new, never a mix or nothing.
//!
//! One copy of the recipe, because every step matters and a missed one only
//! shows after a power cut: write a temporary file in the same directory
//! (a rename is atomic only within one file system), fsync it (else the
//! rename can reach the disk before the data), rename it over the old file,
//! then fsync the directory (else the rename itself can be lost). A leaf:
//! std only.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed step of [`write_atomically`]: which step, on which path, and
/// the OS error (kept whole, so callers that must answer with Redis' exact
/// wording can use [`WriteError::io`]).
#[derive(Debug)]
pub struct WriteError {
    step: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl WriteError {
    /// The OS error alone, without the step and path.
    pub fn io(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.step, self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Replaces the content of `path` with `data`, crash-safely (see the module
/// comment). The new file keeps the old one's permissions. On failure the
/// old file is untouched and the temporary file removed.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    replace(path, data, true)
}

/// [`write_atomically`] without the two fsyncs: a process crash still
/// leaves the old content or the new, but a power cut may take the change
/// back. For state the rest of the system can give back (a cluster node's
/// view of slots it did not decide). File systems that order a
/// rename-over after the renamed file's data (ext4's `auto_da_alloc`, XFS,
/// btrfs) never show a mix or an empty file; others might.
pub fn write_atomically_unsynced(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    replace(path, data, false)
}

fn replace(path: &Path, data: &[u8], sync: bool) -> Result<(), WriteError> {
    // Unique per process and call: concurrent writers of one path (CONFIG
    // REWRITE from two clients) must not share a temporary file.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |step: &'static str, at: &Path| {
        let path = at.to_path_buf();
        move |source| WriteError { step, path, source }
    };
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(fail("creating", &temp))?;
        if let Ok(meta) = fs::metadata(path) {
            file.set_permissions(meta.permissions())
                .map_err(fail("copying the permissions of", path))?;
        }
        file.write_all(data).map_err(fail("writing", &temp))?;
        if sync {
            file.sync_all().map_err(fail("fsyncing", &temp))?;
        }
        drop(file);
        fs::rename(&temp, path).map_err(fail("renaming over", path))?;
        if !sync {
            return Ok(());
        }
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(fail("fsyncing the directory", &dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("nodes.conf");
        write_atomically(&file, b"first\n").expect("first write");
        write_atomically(&file, b"second\n").expect("second write");
        assert_eq!(fs::read(&file).expect("read"), b"second\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("nodes.conf")]);
    }

    #[test]
    fn a_failure_names_the_step_and_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("missing/nodes.conf");
        let error = write_atomically(&file, b"x").expect_err("no such directory");
        assert_eq!(error.io().kind(), io::ErrorKind::NotFound);
        let text = error.to_string();
        assert!(text.starts_with("creating "), "{text}");
        assert!(text.contains("missing/.nodes.conf.tmp-"), "{text}");
    }
}
