#!/usr/bin/env bash
# Runs a libFuzzer target on the stable toolchain (no cargo-fuzz or nightly
# needed): coverage instrumentation comes from stable -C flags; only
# AddressSanitizer, which needs nightly, is left out (Rust code is memory-safe
# here; the fuzzers look for panics, hangs and wrong round trips).
#
#   fuzz/run.sh resp_request 600      # target, seconds
#   fuzz/run.sh resp_frame 600
#   fuzz/run.sh rdb_file 600       # seed corpus/rdb_file with a dump.rdb (a split byte first)
set -euo pipefail
target=${1:-resp_request}
seconds=${2:-60}
cd "$(dirname "$0")"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps the instrumentation flags away from build
# scripts and proc macros, as cargo-fuzz does.
triple=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --target "$triple" --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
"target/$triple/release/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
  -max_total_time="$seconds" -print_final_stats=1
