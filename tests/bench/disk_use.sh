#!/usr/bin/env bash
# Disk used under overwrites of random keys: Redstone's data directory
# against Debian's redis-server's (appendonly yes, appendfsync everysec,
# which rewrites its AOF when it has doubled), one after the other.
#
#   tests/bench/disk_use.sh                     # 100 k keys of 1 KB, 3 M SETs
#   KEYS=300000 ROUNDS=10 tests/bench/disk_use.sh
#
# Each server gets ROUNDS rounds of `redis-benchmark -t set -d SIZE -r KEYS
# -n STEP -P 16`; after each, `du` of its directory, and at the end its CPU
# per SET. Overwritten values must come back as the engine compacts: with
# fjall's blob files (key-value separation) the 100 k-key run grew past
# 15 times the live data and kept growing.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-100000}
SIZE=${SIZE:-1000}
STEP=${STEP:-300000}
ROUNDS=${ROUNDS:-10}

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
one_server_at_a_time

# run NAME PORT DIR COMMAND...: the rounds, one line of sizes in MB.
run() {
  local name=$1 port=$2 dir=$3
  shift 3
  "$@" >>"$work/$name.log" 2>&1 &
  pid=$!
  wait_up "$port"
  local before after sizes=""
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  for _ in $(seq "$ROUNDS"); do
    redis-benchmark -p "$port" -d "$SIZE" -r "$KEYS" -c 50 -n "$STEP" -P 16 -t set -q >/dev/null
    sizes="$sizes $(du -sm "$dir" | cut -f1)"
  done
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  printf '%-9s MB after each %s SETs:%s | CPU per SET %.1f us\n' "$name" "$STEP" "$sizes" \
    "$(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / ($STEP * $ROUNDS)" | bc -l)"
  kill "$pid" && wait "$pid" 2>/dev/null || true
  pid=
}

echo "$KEYS keys of $SIZE bytes: about $((KEYS * SIZE / 1000000)) MB live"
port=$(free_port)
mkdir -p "$work/redstone"
run redstone "$port" "$work/redstone" "$REDSTONE_BIN" --port "$port" --dir "$work/redstone"
port=$(free_port)
mkdir -p "$work/redis"
run redis "$port" "$work/redis" redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" \
  --appendonly yes --appendfsync everysec --save ''
