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

fn main() -> ExitCode {
    disable_transparent_huge_pages();
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
