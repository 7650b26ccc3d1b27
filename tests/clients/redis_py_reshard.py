"""redis-py's RedisCluster keeps working while `redis-cli --cluster reshard`
moves slots under it (ports as arguments: the first node's slots move to the
second).

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

import redis
from redis.cluster import ClusterNode, RedisCluster

ports = [int(p) for p in sys.argv[1:]]
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
reshard = subprocess.run(
    [
        "redis-cli", "--cluster", "reshard", f"127.0.0.1:{ports[0]}",
        "--cluster-from", ids[ports[0]], "--cluster-to", ids[ports[1]],
        "--cluster-slots", str(SLOTS), "--cluster-yes",
    ],
    capture_output=True, text=True,
)
stop.set()
for t in threads:
    t.join()

if reshard.returncode != 0 or "[ERR]" in reshard.stdout:
    print(reshard.stdout[-3000:], reshard.stderr[-3000:])
    sys.exit("redis-cli --cluster reshard failed")
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
