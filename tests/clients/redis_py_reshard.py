"""redis-py's RedisCluster keeps working while `redis-cli --cluster reshard`
moves slots under it (ports as arguments: the first node's slots move to the
second). With `--migrateslots` first, the slots move as a whole by CLUSTER
MIGRATESLOTS instead.

A writer and a reader run on threads through the whole reshard: every write
is acknowledged, every read sees the last acknowledged value of its key, and
the only errors are the redirections redis-py follows itself (it raises
nothing for MOVED, ASK or TRYAGAIN). Afterwards every key is checked again.
Exits non-zero on the first failure.
"""
import random
import subprocess
import sys
import threading
import time

import redis
from redis.cluster import ClusterNode, RedisCluster

whole = sys.argv[1:2] == ["--migrateslots"]
ports = [int(p) for p in sys.argv[1 + whole:]]
SLOTS = 300
startup = [ClusterNode("127.0.0.1", p) for p in ports]
rc = RedisCluster(startup_nodes=startup, cluster_error_retry_attempts=10)

KEYS = 400
values = {}
lock = threading.Lock()
for i in range(KEYS):
    rc.set(f"key:{i}", 0)
    values[f"key:{i}"] = 0

stop = threading.Event()
failures = []
counts = {"writes": 0, "reads": 0}


def writer():
    client = RedisCluster(startup_nodes=startup, cluster_error_retry_attempts=10)
    n = 0
    while not stop.is_set():
        key = f"key:{random.randrange(KEYS)}"
        n += 1
        try:
            with lock:
                assert client.set(key, n) is True
                values[key] = n
            counts["writes"] += 1
        except Exception as e:  # noqa: BLE001 - any error is a failure here
            failures.append(f"write {key}: {e!r}")
            return


def reader():
    client = RedisCluster(startup_nodes=startup, cluster_error_retry_attempts=10)
    while not stop.is_set():
        key = f"key:{random.randrange(KEYS)}"
        try:
            with lock:
                got = client.get(key)
                expected = values[key]
            if got != str(expected).encode():
                failures.append(f"read {key}: {got!r}, expected {expected}")
                return
            counts["reads"] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"read {key}: {e!r}")
            return


threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
for t in threads:
    t.start()

ids = {p: redis.Redis(port=p).execute_command("CLUSTER MYID").decode() for p in ports}


def migrate_whole():
    """CLUSTER MIGRATESLOTS of the first SLOTS slots; '' or what went wrong."""
    source = redis.Redis(port=ports[0], decode_responses=True)
    time.sleep(0.3)  # the clients are busy first
    source.execute_command(
        "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", 0, SLOTS - 1, "NODE", ids[ports[1]])
    deadline = time.time() + 60
    while time.time() < deadline:
        info = source.info("cluster")
        state = info.get("slot_migration_state")
        if state == "done":
            time.sleep(0.3)  # and keep going on the new owner
            return ""
        if state == "failed":
            return f"the migration failed: {info}"
        time.sleep(0.02)
    return "the migration did not end"


def reshard():
    """redis-cli --cluster reshard of the first SLOTS slots."""
    done = subprocess.run(
        [
            "redis-cli", "--cluster", "reshard", f"127.0.0.1:{ports[0]}",
            "--cluster-from", ids[ports[0]], "--cluster-to", ids[ports[1]],
            "--cluster-slots", str(SLOTS), "--cluster-yes",
        ],
        capture_output=True, text=True,
    )
    if done.returncode != 0 or "[ERR]" in done.stdout:
        return f"redis-cli --cluster reshard failed: {done.stdout[-3000:]} {done.stderr[-3000:]}"
    return ""


problem = migrate_whole() if whole else reshard()
stop.set()
for t in threads:
    t.join()

if problem:
    sys.exit(problem)
if failures:
    sys.exit("; ".join(failures))
if counts["writes"] == 0 or counts["reads"] == 0:
    sys.exit(f"the clients did not run during the reshard: {counts}")

fresh = RedisCluster(startup_nodes=startup)
for key, value in values.items():
    got = fresh.get(key)
    assert got == str(value).encode(), (key, got, value)
owner = fresh.get_node_from_key("key:0")
print(f"ok: {counts['writes']} writes, {counts['reads']} reads during the reshard; "
      f"key:0 is now served by port {owner.port}")
