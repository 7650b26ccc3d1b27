//! Copies a consistent engine view into a fresh fjall directory: what SAVE
//! and BGSAVE produce. The copy is written under a temporary name and
//! renamed into place, so `dest` is always either the old or the new copy.

use super::fjall::{FjallEngine, FjallOptions};
use super::{Batch, Engine, EngineError, Partition, Reader, Result};
use std::ops::Bound;
use std::path::Path;

const BATCH_OPS: usize = 10_000;

fn io_error(context: &'static str) -> impl FnOnce(std::io::Error) -> EngineError {
    move |e| EngineError {
        context,
        message: e.to_string(),
    }
}

/// Writes every partition of `source` to `dest/db`, then syncs.
pub fn write_copy(source: &dyn Reader, dest: &Path) -> Result<()> {
    let mut temp = dest.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = Path::new(&temp);
    if temp.exists() {
        std::fs::remove_dir_all(temp).map_err(io_error("clearing an old temporary copy"))?;
    }
    {
        let options = FjallOptions {
            cache_bytes: 8 << 20,
            write_buffer_bytes: 16 << 20,
            max_journal_bytes: 64 << 20,
            row_cache_bytes: 0,
        };
        let copy = FjallEngine::open(&temp.join("db"), options)?;
        for partition in Partition::ALL {
            let mut batch = Batch::default();
            for item in source.scan(partition, (Bound::Unbounded, Bound::Unbounded)) {
                let (key, value) = item?;
                batch.put(partition, key, value);
                if batch.len() >= BATCH_OPS {
                    copy.write(std::mem::take(&mut batch))?;
                }
            }
            copy.write(batch)?;
        }
        copy.sync()?;
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(io_error("removing the previous copy"))?;
    }
    std::fs::rename(temp, dest).map_err(io_error("renaming the copy into place"))?;
    Ok(())
}
