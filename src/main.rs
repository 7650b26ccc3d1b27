//! `redstone-server [path/to/redstone.conf] [--name value ...]`

use redstone::config::Config;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Like redis-server (`disable-thp yes`): transparent huge pages make every
/// page fault zero 2 MB, and the allocator keeps returning and taking back
/// memory as memtables and cached blocks come and go; on the SET path that
/// cost 10-17 % of the CPU.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and only
    // changes a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// mimalloc's `mi_option_purge_delay` (its `mi_option_e` in mimalloc.h v3,
/// which libmimalloc-sys builds; the crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with the allocator before it goes back to the
/// OS: 10 s, jemalloc's default (`dirty_decay_ms`, redis-server's allocator),
/// instead of mimalloc's 1 s. fjall frees a whole memtable after each flush
/// and the next one takes the memory back; within 1 s much of it had been
/// returned (madvise) and was faulted in again: 0.06 more page faults per
/// SET, and SET cost 4 % (-P16) to 10 % (-P1) more CPU.
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

fn keep_freed_memory_a_while() {
    // SAFETY: sets one of mimalloc's integer options, which it reads on
    // every purge; any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    keep_freed_memory_a_while();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = redstone::log::init(config.loglevel, &config.logfile) {
        eprintln!("Can't open the log file {}: {error}", config.logfile);
        return ExitCode::FAILURE;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // Scripts recurse (cjson): see `script::STACK_BYTES`. madsim's runtime
    // has no threads to size.
    #[cfg(not(madsim))]
    builder.thread_stack_size(redstone::script::STACK_BYTES);
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Can't start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(redstone::server::run(config));
    // Not waiting for tasks still running: a script stuck in a loop when
    // SHUTDOWN NOSAVE came (its writes, never committed, are not kept).
    // madsim's runtime has no such call, nor threads to wait for.
    #[cfg(not(madsim))]
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            redstone::log::warning(&error.to_string());
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's index is ours to keep right: mimalloc's default purge
    /// delay is 1000 ms, and no other option defaults to 1000.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets integer options of mimalloc.
        unsafe {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            }
            keep_freed_memory_a_while();
            assert_eq!(
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
                PURGE_DELAY_MS
            );
        }
    }
}
