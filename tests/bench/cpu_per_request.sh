#!/usr/bin/env bash
# Server CPU time per request, Redstone and Debian's redis-server, one after
# the other on fresh data directories. CPU per request (utime + stime of the
# server process from /proc, divided by the requests sent) moves far less
# than requests/s on a shared machine.
#
#   tests/bench/cpu_per_request.sh
#   KEYS=1000000 FILL=400000 TESTS=set,get,sadd tests/bench/cpu_per_request.sh
#   REDSTONE_ARGS="--storage-row-cache-size 0" tests/bench/cpu_per_request.sh
#
# Each server is filled with FILL SETs of 1 KB values over KEYS keys, then
# every test of TESTS runs with -P 16 (400k requests) and without (100k).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
TESTS=${TESTS:-set,get}
KEYS=${KEYS:-100000}
FILL=${FILL:-200000}

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
one_server_at_a_time

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME PORT: one line of "test Pn rps us/request" cells.
measure() {
  local name=$1 port=$2
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-benchmark -p "$port" -d 1000 -r "$KEYS" -c 50 -n "$FILL" -P 16 -t set -q >/dev/null 2>&1
  printf '%-9s' "$name"
  for pipeline in 16 1; do
    local n=$((pipeline == 1 ? 100000 : 400000))
    for test in $(echo "$TESTS" | tr ',' ' '); do
      local before after rps hz
      hz=$(getconf CLK_TCK)
      before=$(ticks "$pid")
      rps=$(redis-benchmark -p "$port" -d 1000 -r "$KEYS" -c 50 -n "$n" -P "$pipeline" -t "$test" --csv 2>/dev/null |
        tail -1 | cut -d, -f2 | tr -d '"')
      after=$(ticks "$pid")
      printf ' | %s P%-2s %7.0f rps %5.1f us' "$test" "$pipeline" "$rps" \
        "$(echo "($after - $before) * 1000000 / $hz / $n" | bc -l)"
    done
  done
  echo
}

port=$(free_port)
mkdir -p "$work/redstone"
# shellcheck disable=SC2086
"$REDSTONE_BIN" --port "$port" --dir "$work/redstone" ${REDSTONE_ARGS:-} >"$work/redstone.log" 2>&1 &
pid=$!
measure redstone "$port"
kill "$pid" && wait "$pid" 2>/dev/null || true

port=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
  --appendfsync everysec --save '' >"$work/redis.log" 2>&1 &
pid=$!
measure redis "$port"
