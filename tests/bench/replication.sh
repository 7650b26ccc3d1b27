#!/usr/bin/env bash
# Replication, measured side by side with Debian's redis-server on this
# machine, RUNS times each (default 3), medians reported:
#
# 1. Full sync: a master holding KEYS keys of SIZE bytes, a fresh replica
#    runs REPLICAOF; the time until its link is up. Redstone -> Redstone,
#    then redis-server -> redis-server (diskless, no delay), same data.
# 2. The cost of a replica: redis-benchmark SET throughput (-P 16) against
#    the master with its replica attached, then without (REPLICAOF NO
#    ONE), alternating; Redstone, then redis-server. The replica shares
#    the machine's cores with the master and the benchmark, so the
#    master's own CPU per request is reported too: what the replica
#    costs the master itself.
#
#   tests/bench/replication.sh                  # 200k keys of 1 KB
#   KEYS=1000000 tests/bench/replication.sh     # the issue's 1 M keys
#
# Servers settle (go idle) before each measurement. Only ratios mean
# anything on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-200000}
SIZE=${SIZE:-1000}
REQUESTS=${REQUESTS:-400000}
RUNS=${RUNS:-3}

for tool in redis-server redis-benchmark redis-cli python3 bc; do
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
stop() { # port
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
}

# Seconds from REPLICAOF until the replica's link is up.
sync_time() { # replica_port master_port
  local start
  start=$(now)
  redis-cli -p "$1" replicaof 127.0.0.1 "$2" >/dev/null
  until redis-cli -p "$1" info replication | grep -q 'master_link_status:up'; do sleep 0.05; done
  echo "$(now) - $start" | bc
}

# A fresh replica of the master on port $2 started by $1, synced, checked
# and stopped; sets sync_secs to the seconds the sync took. Not in a
# subshell: the server's pid must reach the cleanup.
fresh_sync() { # start_function master_port name
  local port
  port=$(free_port)
  "$1" "$port" "$3"
  settle "$2"
  sync_secs=$(sync_time "$port" "$2")
  [ "$(redis-cli -p "$port" dbsize)" -eq "$KEYS" ] || { echo "$3 holds $(redis-cli -p "$port" dbsize) keys" >&2; exit 1; }
  stop "$port"
  rm -rf "${work:?}/$3"
}

m1=$(free_port); m2=$(free_port)
start_redstone "$m1" rs-master
start_redis "$m2" redis-master
echo "filling both masters with $KEYS keys of $SIZE bytes"
fill "$m1"
fill "$m2"

rs_runs=(); rd_runs=()
for run in $(seq "$RUNS"); do
  fresh_sync start_redstone "$m1" "rs-replica-$run"; rs_runs+=("$sync_secs")
  fresh_sync start_redis "$m2" "redis-replica-$run"; rd_runs+=("$sync_secs")
done
rs=$(median "${rs_runs[@]}"); rd=$(median "${rd_runs[@]}")
echo "full sync of $KEYS keys: redstone median ${rs}s (${rs_runs[*]}), redis-server median ${rd}s (${rd_runs[*]})"
echo "  redis-server / redstone: $(echo "scale=2; $rd / $rs" | bc)"

# Throughput (requests/s) of SET on port $1, and the server's CPU per
# request (µs, from /proc) as "rps cpu".
bench() { # port
  local pid before after rps
  pid=$(redis-cli -p "$1" info server | tr -d '\r' | sed -n 's/^process_id://p')
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rps=$(redis-benchmark -p "$1" -t set -d "$SIZE" -r 1000000 -c 50 -P 16 -n "$REQUESTS" --csv 2>/dev/null \
    | awk -F'","' 'NR > 1 { print $2 }')
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo "$rps $(echo "scale=2; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $REQUESTS" | bc)"
}
# SET throughput on the master on port $2 with a replica (started by $1)
# attached and without, alternating; prints the medians and the cost, in
# requests/s and in the master's CPU per request.
replica_cost() { # start_function master_port name
  local replica with=() without=() cpu_with=() cpu_without=() w wo cw cwo run
  replica=$(free_port)
  "$1" "$replica" "$3"
  sync_time "$replica" "$2" >/dev/null
  for _ in $(seq "$RUNS"); do
    settle "$2"; settle "$replica"
    read -r -a run <<<"$(bench "$2")"
    with+=("${run[0]}"); cpu_with+=("${run[1]}")
    redis-cli -p "$replica" replicaof no one >/dev/null
    settle "$2"; settle "$replica"
    read -r -a run <<<"$(bench "$2")"
    without+=("${run[0]}"); cpu_without+=("${run[1]}")
    sync_time "$replica" "$2" >/dev/null
  done
  stop "$replica"
  w=$(median "${with[@]}"); wo=$(median "${without[@]}")
  cw=$(median "${cpu_with[@]}"); cwo=$(median "${cpu_without[@]}")
  echo "$3: SET -P16 on the master with a replica median $w rps (${with[*]}), without median $wo rps (${without[*]})"
  echo "  cost of one replica in throughput: $(echo "scale=3; 1 - $w / $wo" | bc)"
  echo "  master CPU per SET with a replica median $cw us (${cpu_with[*]}), without $cwo us (${cpu_without[*]}): cost $(echo "scale=3; $cw / $cwo - 1" | bc)"
}
replica_cost start_redstone "$m1" redstone
replica_cost start_redis "$m2" redis-server
