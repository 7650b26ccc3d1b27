//! What the storage engine alone costs per SET, with no server around it:
//! the floor under Redstone's write throughput (see the README's
//! "Where the time goes"). Ignored by `cargo test`; run it with
//!
//!     cargo test --release --test engine_cost -- --ignored --nocapture
//!
//! It writes what `redis-benchmark -t set -d 1000 -r 1000000 -P 16` makes
//! the server write: batches of 16 rows of a 1 KB value under random keys of
//! a 1M keyspace, each row read first (SET reads the row it replaces) and
//! each batch handed to the OS, on the production engine with the server's
//! default options (and without the row cache: fjall alone). It prints CPU microseconds per row: on the writing
//! thread (work a single writer does in series) and on the whole process
//! (including fjall's flushes and compactions).

use redstone::config::Config;
use redstone::engine::fjall::{FjallEngine, FjallOptions};
use redstone::engine::{Batch, Engine, Partition, Reader};
use std::time::Duration;

/// The server's allocator: fjall allocates a buffer for every block it
/// reads, and glibc's malloc made those reads several times dearer.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: u64 = 1_000_000;
const BATCH: u64 = 16;
const KEYSPACE: u64 = 1_000_000;

fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(who, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// (writer thread, whole process) CPU per row, in µs.
fn cost_per_row(read_first: bool, row_cache: bool) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::default();
    let engine = FjallEngine::open(
        dir.path(),
        FjallOptions {
            cache_bytes: config.storage_cache_size,
            write_buffer_bytes: config.storage_write_buffer_size,
            max_journal_bytes: config.storage_max_journal_size,
            row_cache_bytes: if row_cache {
                config.storage_row_cache_size
            } else {
                0
            },
        },
    )
    .expect("open engine");
    let value = bytes::Bytes::from(vec![b'x'; 1000]);
    let (thread_start, process_start) =
        (cpu_time(libc::RUSAGE_THREAD), cpu_time(libc::RUSAGE_SELF));
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..ROWS / BATCH {
        let mut batch = Batch::default();
        for _ in 0..BATCH {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let key = format!("\x01\x00\x00key:{:012}", seed % KEYSPACE);
            if read_first {
                engine.get(Partition::Meta, key.as_bytes()).expect("get");
            }
            batch.put(Partition::Meta, key.into_bytes(), value.clone());
        }
        engine.write(batch).expect("write");
        engine.flush().expect("flush");
    }
    let per_row = |d: Duration| d.as_secs_f64() * 1e6 / ROWS as f64;
    (
        per_row(cpu_time(libc::RUSAGE_THREAD) - thread_start),
        per_row(cpu_time(libc::RUSAGE_SELF) - process_start),
    )
}

#[test]
#[ignore = "a measurement; run it by hand with --release"]
fn fjall_cost_per_set() {
    for (read_first, row_cache) in [(false, false), (true, false), (true, true)] {
        let (writer, process) = cost_per_row(read_first, row_cache);
        println!(
            "{}, row cache {}: writer thread {writer:.1} us/row, whole process {process:.1} us/row",
            if read_first {
                "read + put"
            } else {
                "put only  "
            },
            if row_cache { "on " } else { "off" },
        );
        assert!(writer > 0.0 && process >= writer);
    }
}
