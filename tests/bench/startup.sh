#!/usr/bin/env bash
# Time from start to serving, and resident memory, with KEYS keys: Redstone
# (which reads its key directory back from the meta rows at open) against
# Debian's redis-server (appendonly yes, appendfsync everysec, which loads
# its AOF: an RDB preamble once it has rewritten it, plus the commands
# since), one after the other on fresh data directories.
#
#   tests/bench/startup.sh                      # 10 M keys of 100 bytes
#   KEYS=1000000 SIZE=1000 tests/bench/startup.sh
#   REDSTONE_ARGS="--storage-row-cache-size 0 --storage-cache-size 8mb" tests/bench/startup.sh
#
# Each server is filled with KEYS distinct keys (key:0 ..), left to settle,
# stopped cleanly and started again; "serving" is the first PONG (redis-server
# answers -LOADING until its data is in). RSS is read from /proc after the
# fill and after the restart.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-10000000}
SIZE=${SIZE:-100}

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
one_server_at_a_time

rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# serving PORT: seconds until the server answers PONG.
serving() {
  local start
  start=$(now)
  until [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; do sleep 0.01; done
  echo "$(now) - $start" | bc -l
}

# run NAME COMMAND...: fill, settle, restart, report.
run() {
  local name=$1 port=$2
  shift 2
  "$@" >>"$work/$name.log" 2>&1 &
  pid=$!
  wait_up "$port"
  local fill_start fill_s
  fill_start=$(now)
  fill "$port"
  fill_s=$(echo "$(now) - $fill_start" | bc -l)
  settle "$port"
  local filled_rss
  filled_rss=$(rss_mb "$pid")
  kill "$pid" && wait "$pid" 2>/dev/null || true
  "$@" >>"$work/$name.log" 2>&1 &
  pid=$!
  local up_s keys
  up_s=$(serving "$port")
  keys=$(redis-cli -p "$port" dbsize)
  printf '%-9s keys %s | fill %.1f s | RSS filled %s MB | start to serving %.2f s | RSS restarted %s MB\n' \
    "$name" "$keys" "$fill_s" "$filled_rss" "$up_s" "$(rss_mb "$pid")"
  kill "$pid" && wait "$pid" 2>/dev/null || true
  pid=
}

echo "$KEYS keys of $SIZE bytes"
port=$(free_port)
mkdir -p "$work/redstone"
# shellcheck disable=SC2086
run redstone "$port" "$REDSTONE_BIN" --port "$port" --dir "$work/redstone" ${REDSTONE_ARGS:-}
port=$(free_port)
mkdir -p "$work/redis"
run redis "$port" redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" \
  --appendonly yes --appendfsync everysec --save ''
