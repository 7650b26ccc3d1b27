"""Big-collection measurements against a release Redstone (issue 3's acceptance).

    python3 tests/bench/big_hash.py del      # DEL of a 1M-field hash vs a 10-field one, disk reclaimed
    python3 tests/bench/big_hash.py hget     # HGET p50/p99 on 5M fields with a small block cache

Environment: REDSTONE_BIN (default target/release/redstone-server, built if
missing), FIELDS (default 1000000 for `del`, 5000000 for `hget`), CACHE
(storage-cache-size for `hget`, default 16mb), REQUESTS (HGETs, default 200000).
Prints one line per measurement; only ratios and percentiles mean anything on
a shared machine.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIELDS_PER_COMMAND = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    path = os.environ.get("REDSTONE_BIN")
    if path:
        return path
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "redstone-server")


def start(workdir, *options):
    port = free_port()
    log = open(os.path.join(workdir, "redstone.log"), "w")
    proc = subprocess.Popen(
        [binary(), "--port", str(port), "--dir", os.path.join(workdir, "data"), *options],
        stdout=log,
        stderr=log,
    )
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc, client, port
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("redstone did not start; see " + log.name)


def disk_usage(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                # Allocated blocks, not the apparent size: fjall's journal
                # files are created 64 MB long and filled as written.
                total += os.stat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                pass  # compaction removed it while we walked
    return total


def settled_disk_usage(workdir, seconds=60):
    """The database's size (journals included) once flushes and compactions have
    stopped changing it for a few seconds, or after `seconds`."""
    db = os.path.join(workdir, "data", "db")
    sizes = [disk_usage(db)]
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(1)
        sizes.append(disk_usage(db))
        if len(sizes) >= 5 and max(sizes[-5:]) - min(sizes[-5:]) <= sizes[-1] * 0.01:
            break
    return sizes[-1]


def fill(client, key, fields, value):
    pipe = client.pipeline(transaction=False)
    for start in range(0, fields, FIELDS_PER_COMMAND):
        mapping = {f"field:{i:012d}": value for i in range(start, min(fields, start + FIELDS_PER_COMMAND))}
        pipe.hset(key, mapping=mapping)
        if len(pipe) == 50:
            pipe.execute()
    pipe.execute()


def timed_del(client, key):
    began = time.perf_counter()
    assert client.delete(key) == 1
    return time.perf_counter() - began


def measure_del():
    fields = int(os.environ.get("FIELDS", 1_000_000))
    with tempfile.TemporaryDirectory() as workdir:
        proc, client, _ = start(workdir)
        try:
            small, big = [], []
            for round in range(3):
                fill(client, f"small{round}", 10, b"v" * 10)
                began = time.perf_counter()
                fill(client, f"big{round}", fields if round == 0 else fields // 10, b"v" * 10)
                if round == 0:
                    print(f"filled {fields} fields in {time.perf_counter() - began:.1f} s")
                    filled = settled_disk_usage(workdir)
                small.append(timed_del(client, f"small{round}"))
                big.append(timed_del(client, f"big{round}"))
                if round == 0:
                    print(f"DEL of {fields} fields: {big[0] * 1e6:.0f} us, of 10 fields: {small[0] * 1e6:.0f} us")
            print(f"median DEL 10 fields {statistics.median(small) * 1e6:.0f} us,"
                  f" big hashes {statistics.median(big) * 1e6:.0f} us (rounds 2-3 hold {fields // 10} fields)")
            began = time.perf_counter()
            while int(client.info("memory").get("lazyfree_pending_objects", 0)) > 0:
                time.sleep(0.2)
            print(f"sweeper reclaimed the members in {time.perf_counter() - began:.1f} s")
            settled = settled_disk_usage(workdir)
            print(f"disk: {filled / 1e6:.1f} MB after filling, {settled / 1e6:.1f} MB after DEL and sweep")
        finally:
            proc.terminate()
            proc.wait()


def measure_hget():
    fields = int(os.environ.get("FIELDS", 5_000_000))
    cache = os.environ.get("CACHE", "16mb")
    requests = os.environ.get("REQUESTS", "200000")
    with tempfile.TemporaryDirectory() as workdir:
        proc, client, port = start(workdir, "--storage-cache-size", cache)
        try:
            began = time.perf_counter()
            fill(client, "bighash", fields, b"v" * 100)
            size = settled_disk_usage(workdir, seconds=20)
            print(f"filled {fields} fields ({size / 1e6:.0f} MB on disk, block cache {cache})"
                  f" in {time.perf_counter() - began:.0f} s")
            out = subprocess.run(
                ["redis-benchmark", "-p", str(port), "-n", requests, "-c", "50", "-r", str(fields), "--csv",
                 "HGET", "bighash", "field:__rand_int__"],
                check=True, capture_output=True, text=True,
            ).stdout.splitlines()
            header = [h.strip('"') for h in out[0].split(",")]
            row = dict(zip(header, (v.strip('"') for v in out[1].split(","))))
            print(f"HGET random field: {float(row['rps']):.0f} rps, p50 {row['p50_latency_ms']} ms,"
                  f" p99 {row['p99_latency_ms']} ms, max {row['max_latency_ms']} ms")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    {"del": measure_del, "hget": measure_hget}[sys.argv[1] if len(sys.argv) > 1 else "del"]()
