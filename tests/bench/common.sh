# Sourced by the benchmark scripts and tests/redis_suite/run.sh: the server
# binary to run (REDSTONE_BIN, else a fresh release build) and free_port.
if [ -z "${REDSTONE_BIN:-}" ]; then
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && cargo build --release --quiet)
  REDSTONE_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/redstone-server"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
