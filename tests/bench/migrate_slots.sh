#!/usr/bin/env bash
# Whole-slot migration against Redis' way, on this machine, in one run: a
# two-master cluster whose first master holds every slot and KEYS keys of
# SIZE bytes; half the slots (and so about half the keys) move to the
# second master.
#   1. Redstone, CLUSTER MIGRATESLOTS (until INFO says done), RUNS times
#      (default 3), the slots going back and forth; the median counts.
#   2. Redstone, redis-cli --cluster reshard (key by key, MIGRATE).
#   3. redis-server (appendonly yes, appendfsync everysec), redis-cli
#      --cluster reshard.
#
#   tests/bench/migrate_slots.sh                  # 200k keys of 1 KB
#   KEYS=2000000 tests/bench/migrate_slots.sh     # the issue's 1 M keys moved
#   SKIP_RESHARD=1 ...                            # leave out run 2
#   PERF=/tmp/prof ...     # perf record both nodes during each MIGRATESLOTS
#                          # (run-N-source.data, run-N-target.data)
#
# Only ratios mean anything on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-200000}
SIZE=${SIZE:-1000}
SLOTS=${SLOTS:-8192}

for tool in redis-server redis-cli python3 bc; do
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

cluster_port() {
  python3 - <<'PY'
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p >= 55000:
        continue
    try:
        b = socket.socket(); b.bind(("127.0.0.1", p + 10000)); b.close(); s.close()
        print(p); break
    except OSError:
        pass
PY
}
start_redstone() { # port name
  "$REDSTONE_BIN" --port "$1" --dir "$work/$2" --cluster-enabled yes >"$work/$2.log" 2>&1 &
  pids+=($!)
  wait_up "$1"
}
start_redis() { # port name
  mkdir -p "$work/$2"
  (cd "$work/$2" && exec redis-server --port "$1" --cluster-enabled yes --save "" \
    --appendonly yes --appendfsync everysec >"$work/$2.log" 2>&1) &
  pids+=($!)
  wait_up "$1"
}
# The first node takes every slot but the last, which the second keeps (a
# master without slots would turn replica when the moved slots come back);
# then the keys (those of the last slot are refused, on both servers).
form() { # first_port second_port
  redis-cli -p "$1" cluster addslotsrange 0 16382 >/dev/null
  redis-cli -p "$2" cluster addslots 16383 >/dev/null
  redis-cli -p "$1" cluster meet 127.0.0.1 "$2" >/dev/null
  until redis-cli --cluster check "127.0.0.1:$1" 2>/dev/null | grep -q "All nodes agree"; do sleep 0.1; done
  until redis-cli -p "$2" cluster info | grep -q "cluster_state:ok"; do sleep 0.1; done
  fill "$1"
}
# Seconds for redis-cli --cluster reshard of SLOTS slots from $1 to $2.
reshard() { # first_port second_port
  local start
  start=$(now)
  redis-cli --cluster reshard "127.0.0.1:$1" --cluster-from "$(redis-cli -p "$1" cluster myid)" \
    --cluster-to "$(redis-cli -p "$2" cluster myid)" --cluster-slots "$SLOTS" --cluster-yes \
    >"$work/reshard-$1.log" 2>&1
  echo "$(now) - $start" | bc
}

# Seconds for CLUSTER MIGRATESLOTS of slots 0..SLOTS-1 from $1 to $2.
migrateslots() { # first_port second_port
  local start state
  start=$(now)
  redis-cli -p "$1" cluster migrateslots slotsrange 0 $((SLOTS - 1)) \
    node "$(redis-cli -p "$2" cluster myid)" >/dev/null
  while :; do
    state=$(redis-cli -p "$1" info cluster | tr -d '\r' | sed -n 's/^slot_migration_state://p')
    case "$state" in
      done) break ;;
      failed) redis-cli -p "$1" info cluster >&2; exit 1 ;;
    esac
    sleep 0.1
  done
  echo "$(now) - $start" | bc
}

p1=$(cluster_port); p2=$(cluster_port)
start_redstone "$p1" rs-a; start_redstone "$p2" rs-b
form "$p1" "$p2"
total=$(( $(redis-cli -p "$p1" dbsize) + $(redis-cli -p "$p2" dbsize) ))
runs=()
server_ms=()
from=$p1; to=$p2
pid_of() { redis-cli -p "$1" info server | tr -d '\r' | sed -n 's/^process_id://p'; }
for run in $(seq "${RUNS:-3}"); do
  settle "$from"; settle "$to"
  perfs=()
  if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    for end in source:"$from" target:"$to"; do
      perf record -F 499 -g -p "$(pid_of "${end#*:}")" -o "$PERF/run-$run-${end%%:*}.data" >/dev/null 2>&1 &
      perfs+=($!)
    done
  fi
  runs+=("$(migrateslots "$from" "$to")")
  for perf_pid in "${perfs[@]}"; do kill -INT "$perf_pid"; wait "$perf_pid" || true; done
  paused=$(redis-cli -p "$from" info cluster | tr -d '\r' | sed -n 's/^slot_migration_paused_ms://p')
  server_ms+=("$(redis-cli -p "$from" info cluster | tr -d '\r' | sed -n 's/^slot_migration_elapsed_ms://p')")
  # The source deletes its copies in the background: let it finish.
  [ -n "${whole_moved:-}" ] || whole_moved=$(redis-cli -p "$to" dbsize)
  until [ $(( $(redis-cli -p "$from" dbsize) + $(redis-cli -p "$to" dbsize) )) -eq "$total" ]; do
    sleep 0.2
  done
  tmp=$from; from=$to; to=$tmp
done
whole=$(median "${runs[@]}")

# A fresh pair of servers started by $1 (start_redstone or start_redis),
# formed and filled; sets pair_secs and pair_moved for its reshard. Not
# in a subshell: the servers' pids must reach the cleanup.
reshard_pair() { # start_function first_name second_name
  local a b
  a=$(cluster_port); b=$(cluster_port)
  "$1" "$a" "$2"; "$1" "$b" "$3"
  form "$a" "$b"
  settle "$a"; settle "$b"
  pair_secs=$(reshard "$a" "$b")
  pair_moved=$(redis-cli -p "$b" dbsize)
}

if [ -z "${SKIP_RESHARD:-}" ]; then
  reshard_pair start_redstone rs-c rs-d
  rs=$pair_secs; rs_moved=$pair_moved
fi
reshard_pair start_redis redis-a redis-b
rd=$pair_secs; rd_moved=$pair_moved

echo "moving $SLOTS slots of $KEYS keys of $SIZE bytes:"
echo "  redstone CLUSTER MIGRATESLOTS: median ${whole}s of ${runs[*]} (about $whole_moved keys moved each time, writes paused ${paused} ms the last)"
echo "    (the source's own slot_migration_elapsed_ms: ${server_ms[*]})"
if [ -z "${SKIP_RESHARD:-}" ]; then
  echo "  redstone redis-cli reshard:    ${rs}s ($rs_moved keys moved)"
fi
echo "  redis-server redis-cli reshard: ${rd}s ($rd_moved keys moved)"
echo "  redis reshard / redstone MIGRATESLOTS: $(echo "scale=2; $rd / $whole" | bc)x"
