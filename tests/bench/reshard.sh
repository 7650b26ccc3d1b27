#!/usr/bin/env bash
# Slot migration, measured side by side with Debian's redis-server on this
# machine: a two-master cluster whose first master holds every slot and
# KEYS keys of SIZE bytes; `redis-cli --cluster reshard` moves SLOTS slots
# (and their keys) to the second master. Redstone, then redis-server
# (appendonly yes, appendfsync everysec), same data, same tool.
#
#   tests/bench/reshard.sh                    # 100k keys of 1 KB, half the slots
#   KEYS=1000000 tests/bench/reshard.sh       # the issue's 1 M keys
#
# Only ratios mean anything on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
KEYS=${KEYS:-100000}
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

# A port P below 55000 whose bus port P + 10000 is free too.
cluster_port() {
  python3 - <<'EOF'
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
EOF
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


# Makes a cluster of the two nodes, the first holding every slot and the
# keys; prints the seconds `reshard` takes to move SLOTS slots to the second.
measure() { # first_port second_port
  redis-cli -p "$1" cluster addslotsrange 0 16383 >/dev/null
  redis-cli -p "$1" cluster meet 127.0.0.1 "$2" >/dev/null
  until redis-cli --cluster check "127.0.0.1:$1" 2>/dev/null | grep -q "All nodes agree"; do sleep 0.1; done
  until redis-cli -p "$2" cluster info | grep -q "cluster_state:ok"; do sleep 0.1; done
  fill "$1"
  local from to start end
  from=$(redis-cli -p "$1" cluster myid)
  to=$(redis-cli -p "$2" cluster myid)
  start=$(date +%s.%N)
  redis-cli --cluster reshard "127.0.0.1:$1" --cluster-from "$from" --cluster-to "$to" \
    --cluster-slots "$SLOTS" --cluster-yes >"$work/reshard-$1.log" 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

p1=$(cluster_port); p2=$(cluster_port)
start_redstone "$p1" rs-a
start_redstone "$p2" rs-b
rs=$(measure "$p1" "$p2")
rs_moved=$(redis-cli -p "$p2" dbsize)
p3=$(cluster_port); p4=$(cluster_port)
start_redis "$p3" redis-a
start_redis "$p4" redis-b
rd=$(measure "$p3" "$p4")
rd_moved=$(redis-cli -p "$p4" dbsize)
echo "reshard of $SLOTS slots holding $rs_moved / $rd_moved of $KEYS keys of $SIZE bytes:"
echo "  redstone ${rs}s, redis-server ${rd}s, ratio redis/redstone $(echo "scale=2; $rd / $rs" | bc)"
