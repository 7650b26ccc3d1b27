#!/usr/bin/env bash
# Side-by-side cluster throughput: a Redstone cluster of three masters against
# a Redis 7 cluster of three masters (Debian's redis-server, appendonly yes,
# appendfsync everysec), both on this machine, both built with
# `redis-cli --cluster create`, measured with `redis-benchmark --cluster`.
#
#   tests/bench/compare_cluster.sh
#   ROUNDS=5 REQUESTS=200000 tests/bench/compare_cluster.sh
#
# Rounds interleave the two clusters (A B A B A B); the script prints the
# median requests/s of each and the median ratio Redstone / Redis per test.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
TESTS=${TESTS:-set,get}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-100}
SIZE=${SIZE:-1000}
KEYSPACE=${KEYSPACE:-1000000}

for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"

# A port P with P and P + 10000 free (the cluster bus port).
free_pair() {
  python3 - <<'PY'
import random, socket
while True:
    p = random.randrange(20000, 30000)
    try:
        for port in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", port)); s.close()
        print(p); break
    except OSError:
        pass
PY
}

work=$(mktemp -d)
redis_ports=() redstone_ports=() pids=()
cleanup() {
  for p in "${redis_ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for i in 1 2 3; do
  p=$(free_pair); redis_ports+=("$p"); mkdir -p "$work/redis$i"
  redis-server --port "$p" --bind 127.0.0.1 --dir "$work/redis$i" --cluster-enabled yes \
    --appendonly yes --appendfsync everysec --save '' --daemonize yes --logfile "$work/redis$i.log"
  p=$(free_pair); redstone_ports+=("$p"); mkdir -p "$work/redstone$i"
  "$REDSTONE_BIN" --port "$p" --dir "$work/redstone$i" --cluster-enabled yes >"$work/redstone$i.log" 2>&1 &
  pids+=($!)
done
for p in "${redis_ports[@]}" "${redstone_ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
create() {
  local args=()
  for p in "$@"; do args+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${args[@]}" --cluster-yes >"$work/create-$1.log" 2>&1
  grep -q 'All 16384 slots covered' "$work/create-$1.log" || { cat "$work/create-$1.log" >&2; exit 1; }
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$1" cluster info | tr -d '\r' | grep cluster_state)" = cluster_state:ok ] && return
    sleep 0.1
  done
  echo "cluster on $1 never reached cluster_state:ok" >&2; exit 1
}
create "${redis_ports[@]}"
create "${redstone_ports[@]}"

# bench PORT -> lines "test rps"; errors from redis-benchmark abort the run.
bench() {
  redis-benchmark --cluster -p "$1" -t "$TESTS" -d "$SIZE" -r "$KEYSPACE" -c "$CLIENTS" \
    -n "$REQUESTS" --csv 2>"$work/bench.err" | tee -a "$work/bench.out" |
    awk -F'","' '/^"[A-Z]/ { gsub(/"/, "", $1); print $1, $2 }'
  if grep -qi 'error' "$work/bench.err"; then cat "$work/bench.err" >&2; exit 1; fi
}

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
  bench "${redis_ports[0]}" | sed "s/^/redis /" >>"$results"
  bench "${redstone_ports[0]}" | sed "s/^/redstone /" >>"$results"
  echo "round $round done" >&2
done

python3 - "$results" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    server, test, rps = line.split()
    runs[(test, server)].append(float(rps))
print(f"{'test':<8}{'redis rps':>14}{'redstone rps':>14}{'ratio':>8}   (--cluster, 3 masters each)")
for test in sorted({t for t, _ in runs}):
    redis, redstone = runs[(test, "redis")], runs[(test, "redstone")]
    ratios = [b / a for a, b in zip(redis, redstone) if a > 0]
    print(f"{test:<8}{statistics.median(redis):>14.0f}{statistics.median(redstone):>14.0f}"
          f"{statistics.median(ratios):>8.2f}")
PY
