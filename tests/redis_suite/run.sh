#!/usr/bin/env bash
# Runs Redis 7.0.15's own Tcl test units against Redstone in external mode and
# prints unit -> passed / failed / exception. Not part of `cargo test`: the
# Redis suite judges compatibility, our own tests guard each fix.
#
#   tests/redis_suite/run.sh                          # the default units
#   tests/redis_suite/run.sh unit/type/hash unit/expire
#   REDSTONE_BIN=target/debug/redstone-server tests/redis_suite/run.sh unit/type/set
#   VERBOSE=1 tests/redis_suite/run.sh unit/type/list  # show the suite's output
#   RUNTEST_ARGS="--skiptest /stream" tests/redis_suite/run.sh unit/keyspace  # runtest options
#
# The source tarball is downloaded once into target/redis-suite/ (Debian's pool
# copy of the 7.0.15 release). Each unit gets a fresh server on a free port and
# a fresh data directory, so a unit that crashes or wedges the server cannot
# spoil the next. Tags that need a server Redstone is not (DEBUG internals,
# replication, maxmemory, RDB saves) are excluded; `external:skip` tests are
# skipped by the suite itself in external mode. Needs tclsh 8.6.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=7.0.15
URL=${REDIS_TARBALL_URL:-http://deb.debian.org/debian/pool/main/r/redis/redis_${VERSION}.orig.tar.gz}
cache="$here/target/redis-suite"
src="$cache/redis-$VERSION"
TIMEOUT=${TIMEOUT:-60}

default_units=(
  unit/type/hash unit/type/set unit/type/list unit/type/incr unit/type/string
  unit/keyspace unit/expire unit/info-command unit/protocol unit/auth unit/quit unit/acl
)
units=("$@")
[ ${#units[@]} -eq 0 ] && units=("${default_units[@]}")

command -v tclsh >/dev/null || { echo "missing tclsh (apt-get install tcl)" >&2; exit 1; }

if [ ! -x "$src/runtest" ]; then
  mkdir -p "$cache"
  tarball="$cache/redis_${VERSION}.orig.tar.gz"
  if [ ! -s "$tarball" ]; then
    curl -fsSL -o "$tarball.part" "$URL"
    mv -f "$tarball.part" "$tarball"
  fi
  tar -xzf "$tarball" -C "$cache" || { echo "cannot unpack $tarball (delete it to download again)" >&2; exit 1; }
  [ -x "$src/runtest" ] || { echo "$tarball holds no redis-$VERSION/runtest" >&2; exit 1; }
fi

# shellcheck source=../bench/common.sh
source "$here/tests/bench/common.sh"
work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

printf '%-22s %7s %7s %10s\n' unit passed failed exception
for unit in "${units[@]}"; do
  port=$(free_port)
  dir="$work/$(echo "$unit" | tr / _)"
  mkdir -p "$dir"
  "$REDSTONE_BIN" --port "$port" --dir "$dir" >"$dir.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  out="$dir.out"
  (cd "$src" && ./runtest --host 127.0.0.1 --port "$port" --single "$unit" \
    --tags -needs:debug --tags -needs:repl --tags -needs:config-maxmemory --tags -needs:save \
    --clients 1 --timeout "$TIMEOUT" ${RUNTEST_ARGS:-}) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$out" || true
  stop_server
  [ -n "${VERBOSE:-}" ] && cat "$out"
  passed=$(grep -c '^\[ok\]' "$out" || true)
  failed=$(grep -c '^\[err\]' "$out" || true)
  exception=$(grep -m1 -A3 '^\[exception\]' "$out" | sed -n 2p | cut -c1-60 || true)
  [ -z "$exception" ] && grep -q '\[TIMEOUT\]' "$out" && exception=timeout
  printf '%-22s %7s %7s %10s\n' "$unit" "$passed" "$failed" "${exception:--}"
done
