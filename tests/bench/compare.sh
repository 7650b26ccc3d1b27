#!/usr/bin/env bash
# Side-by-side throughput of Redstone and Debian's redis-server on this machine.
#
#   tests/bench/compare.sh                 # set,get with and without -P 16
#   TESTS=set,get,incr ROUNDS=5 tests/bench/compare.sh
#   TESTS=lpush,lpop,sadd,hset,zadd,zrangebyscore tests/bench/compare.sh
#   APPENDFSYNC=always TESTS=set tests/bench/compare.sh
#
# TESTS takes redis-benchmark's -t names, plus these, run after the built-in
# tests in this order:
#   zrangebyscore  ten members from a random score on (ZRANGEBYSCORE myzset
#                  <rand> +inf LIMIT 0 10; `zadd` fills myzset)
#   xadd           XADD mystream * field <rand> (one stream, generated IDs)
#   xrange         the ten oldest entries (XRANGE mystream - + COUNT 10)
#   xrevrange      the ten newest (XREVRANGE mystream + - COUNT 10)
#
# Both servers run at once on free ports: redis-server with appendonly yes and
# appendfsync APPENDFSYNC (everysec unless set), Redstone with its defaults
# and the same appendfsync.
# Each round runs redis-benchmark against A then B, three rounds (A B A B A B),
# and the script prints the median requests/s of each and the median ratio
# Redstone / Redis per test. Only ratios mean anything on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
TESTS=${TESTS:-set,get}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
PIPELINED_REQUESTS=${PIPELINED_REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
SIZE=${SIZE:-1000}
KEYSPACE=${KEYSPACE:-1000000}
APPENDFSYNC=${APPENDFSYNC:-everysec}

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
work=$(mktemp -d)
redis_port=$(free_port)
redstone_port=$(free_port)
cleanup() {
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  [ -n "${redstone_pid:-}" ] && kill "$redstone_pid" 2>/dev/null && wait "$redstone_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/redis" "$work/redstone"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
  --appendfsync "$APPENDFSYNC" --save '' --daemonize yes --logfile "$work/redis.log"
"$REDSTONE_BIN" --port "$redstone_port" --dir "$work/redstone" --appendfsync "$APPENDFSYNC" \
  >"$work/redstone.log" 2>&1 &
redstone_pid=$!
for port in "$redis_port" "$redstone_port"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

custom_names='zrangebyscore|xadd|xrange|xrevrange'
builtin_tests=$(echo "$TESTS" | tr ',' '\n' | { grep -Evx "$custom_names" || true; } | paste -sd, -)
custom_tests=$(echo "$TESTS" | tr ',' '\n' | grep -Ex "$custom_names" || true)

# custom NAME -> the command redis-benchmark sends
custom() {
  case $1 in
    zrangebyscore) echo "ZRANGEBYSCORE myzset __rand_int__ +inf LIMIT 0 10" ;;
    xadd) echo "XADD mystream * field __rand_int__" ;;
    xrange) echo "XRANGE mystream - + COUNT 10" ;;
    xrevrange) echo "XREVRANGE mystream + - COUNT 10" ;;
  esac
}

# bench PORT PIPELINE -> lines "test rps"
bench() {
  local port=$1 pipeline=$2 n=$REQUESTS
  [ "$pipeline" -gt 1 ] && n=$PIPELINED_REQUESTS
  local common=(-p "$port" -d "$SIZE" -r "$KEYSPACE" -c "$CLIENTS" -n "$n" -P "$pipeline" --csv)
  if [ -n "$builtin_tests" ]; then
    redis-benchmark "${common[@]}" -t "$builtin_tests" 2>/dev/null |
      awk -F'","' 'NR > 1 { gsub(/"/, "", $1); print $1, $2 }'
  fi
  for name in $custom_tests; do
    local words
    read -ra words <<<"$(custom "$name")" # no globbing of XADD's `*`
    redis-benchmark "${common[@]}" "${words[@]}" 2>/dev/null |
      awk -F'","' -v name="${name^^}" 'NR > 1 { print name, $2 }'
  done
}

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
  for pipeline in 1 16; do
    bench "$redis_port" "$pipeline" | sed "s/^/redis P$pipeline /" >>"$results"
    bench "$redstone_port" "$pipeline" | sed "s/^/redstone P$pipeline /" >>"$results"
  done
  echo "round $round done" >&2
done

python3 - "$results" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    server, pipeline, test, rps = line.split()
    runs[(test, pipeline, server)].append(float(rps))
print(f"{'test':<14}{'pipeline':>9}{'redis rps':>14}{'redstone rps':>14}{'ratio':>8}")
for (test, pipeline) in sorted({(t, p) for t, p, _ in runs}):
    redis, redstone = runs[(test, pipeline, "redis")], runs[(test, pipeline, "redstone")]
    ratios = [b / a for a, b in zip(redis, redstone) if a > 0]
    print(f"{test:<14}{pipeline:>9}{statistics.median(redis):>14.0f}{statistics.median(redstone):>14.0f}"
          f"{statistics.median(ratios):>8.2f}")
PY
