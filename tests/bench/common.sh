# Sourced by the benchmark scripts and tests/redis_suite/run.sh: the server
# binary to run (REDSTONE_BIN, else a fresh release build), free_port,
# wait_up, fill, settle, now, one_server_at_a_time and median.
if [ -z "${REDSTONE_BIN:-}" ]; then
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && cargo build --release --quiet)
  REDSTONE_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/redstone-server"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_up() { until redis-cli -p "$1" ping >/dev/null 2>&1; do sleep 0.05; done; }

# Writes KEYS distinct keys key:0 .. key:KEYS-1 of SIZE bytes, pipelined a
# thousand at a time, to the server on port $1.
fill() { # port
  python3 - "$1" "$KEYS" "$SIZE" <<'EOF'
import socket, sys
port, keys, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
value = b"x" * size
s = socket.create_connection(("127.0.0.1", port))
batch = []
def drain(n):
    buf = b""
    while buf.count(b"\r\n") < n:
        buf += s.recv(1 << 16)
for i in range(keys):
    key = b"key:%d" % i
    batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
    if len(batch) == 1000:
        s.sendall(b"".join(batch)); drain(len(batch)); batch = []
if batch:
    s.sendall(b"".join(batch)); drain(len(batch))
EOF
}

now() { date +%s.%N; }

# For scripts that run one server at a time, whose pid they keep in $pid:
# a scratch directory $work, and at exit that server stopped and $work
# removed.
one_server_at_a_time() {
  work=$(mktemp -d)
  pid=
  trap 'stop_server_and_clean_up' EXIT
}
stop_server_and_clean_up() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}

# The median of its arguments (numbers).
median() {
  printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"
}

# Waits until the server on port $1 is idle (under 5 ticks of CPU a
# second, three seconds running): a fresh fill leaves the engine compacting
# for a while, which would compete with what is measured (a node in
# service has long settled); one quiet second can be a compaction waiting
# for its flush.
settle() { # port
  local pid prev=-100 ticks quiet=0
  pid=$(redis-cli -p "$1" info server | tr -d '\r' | sed -n 's/^process_id://p')
  while :; do
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    if [ $((ticks - prev)) -lt 5 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && return
    else
      quiet=0
    fi
    prev=$ticks
    sleep 1
  done
}
