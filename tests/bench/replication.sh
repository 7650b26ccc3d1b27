#!/usr/bin/env bash
# Replication, measured side by side with Debian's redis-server on this machine:
#
# 1. Full sync: a master holding KEYS keys of SIZE bytes, a fresh replica
#    runs REPLICAOF; the time until its link is up. Redstone -> Redstone,
#    then redis-server -> redis-server (diskless, no delay), same data.
# 2. The cost of a replica: redis-benchmark SET throughput (-P 16) against a
#    Redstone master alone, then with one Redstone replica attached.
#
#   tests/bench/replication.sh                  # 200k keys of 1 KB
#   KEYS=1000000 tests/bench/replication.sh     # the issue's 1 M keys
#
# Only ratios mean anything on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-200000}
SIZE=${SIZE:-1000}
REQUESTS=${REQUESTS:-400000}

for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_redstone() { # port name
  "$REDSTONE_BIN" --port "$1" --dir "$work/$2" >"$work/$2.log" 2>&1 &
  pids+=($!)
  wait_up "$1"
}
start_redis() { # port name
  mkdir -p "$work/$2"
  redis-server --port "$1" --dir "$work/$2" --save "" --appendonly no \
    --repl-diskless-sync yes --repl-diskless-sync-delay 0 >"$work/$2.log" 2>&1 &
  pids+=($!)
  wait_up "$1"
}


# Seconds from REPLICAOF until the replica's link is up.
sync_time() { # replica_port master_port
  local start end
  start=$(date +%s.%N)
  redis-cli -p "$1" replicaof 127.0.0.1 "$2" >/dev/null
  until redis-cli -p "$1" info replication | grep -q 'master_link_status:up'; do sleep 0.05; done
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

p1=$(free_port); p2=$(free_port); p3=$(free_port); p4=$(free_port)
start_redstone "$p1" rs-master
start_redis "$p3" redis-master
echo "filling both masters with $KEYS keys of $SIZE bytes"
fill "$p1"
fill "$p3"

start_redstone "$p2" rs-replica
start_redis "$p4" redis-replica
rs=$(sync_time "$p2" "$p1")
rd=$(sync_time "$p4" "$p3")
echo "full sync of $KEYS keys: redstone ${rs}s, redis-server ${rd}s, ratio redis/redstone $(echo "scale=2; $rd / $rs" | bc)"
echo "replica key counts: redstone $(redis-cli -p "$p2" dbsize), redis-server $(redis-cli -p "$p4" dbsize)"

bench() { # port
  redis-benchmark -p "$1" -t set -d "$SIZE" -r 1000000 -c 50 -P 16 -n "$REQUESTS" --csv 2>/dev/null \
    | awk -F'","' 'NR > 1 { print $2 }'
}
# Alternate: with the replica, without (REPLICAOF NO ONE), with again
# (after its resync has settled), without again.
with=$(bench "$p1")
redis-cli -p "$p2" replicaof no one >/dev/null
without=$(bench "$p1")
sync_time "$p2" "$p1" >/dev/null
sleep 5
with2=$(bench "$p1")
redis-cli -p "$p2" replicaof no one >/dev/null
without2=$(bench "$p1")
echo "SET -P16 on the master: with a replica $with, $with2 rps; without $without, $without2 rps"
echo "cost of one replica: $(echo "scale=2; 1 - ($with + $with2) / ($without + $without2)" | bc)"
