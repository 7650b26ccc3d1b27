"""redis-py's RedisCluster against a Redstone cluster (ports as arguments).

Checks set/get across slots, MSET/MGET with hash tags, the server's CROSSSLOT
error, pipelines, scan_iter across nodes, and recovery from a stale slot
cache through MOVED. Exits non-zero on the first failure.
"""
import sys
import time

import redis
from redis.cluster import ClusterNode, RedisCluster

ports = [int(p) for p in sys.argv[1:]]
rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports])

# Set/get across many slots.
for i in range(300):
    rc.set(f"key:{i}", i)
for i in range(300):
    assert rc.get(f"key:{i}") == str(i).encode(), i

# Multi-key commands on one hash tag.
rc.mset({"{user}.name": "ada", "{user}.lang": "rust"})
assert rc.mget("{user}.name", "{user}.lang") == [b"ada", b"rust"]

# The server itself refuses keys of different slots.
owner = rc.get_node_from_key("a")
direct = redis.Redis(host="127.0.0.1", port=owner.port)
try:
    direct.execute_command("MSET", "a", "1", "b", "2")
    raise AssertionError("MSET across slots succeeded")
except redis.exceptions.ClusterCrossSlotError as e:
    # redis-py picks the exception class by the CROSSSLOT code and keeps the rest.
    assert str(e) == "Keys in request don't hash to the same slot", e

# Pipelines are split by node and reassembled in order.
pipe = rc.pipeline()
for i in range(100):
    pipe.set(f"pipe:{i}", i)
for i in range(100):
    pipe.get(f"pipe:{i}")
replies = pipe.execute()
assert replies[:100] == [True] * 100
assert replies[100:] == [str(i).encode() for i in range(100)]

# SCAN visits every node.
found = set(rc.scan_iter(match="key:*", count=50))
assert found == {f"key:{i}".encode() for i in range(300)}, len(found)

# A stale slot cache is repaired by following MOVED.
slot = rc.keyslot("key:7")
right = rc.nodes_manager.slots_cache[slot][0]
wrong = next(n for n in rc.get_primaries() if n.name != right.name)
rc.nodes_manager.slots_cache[slot] = [wrong]
assert rc.get("key:7") == b"7"
assert rc.nodes_manager.slots_cache[slot][0].name == right.name

# Pub/sub: a subscriber on one node hears what is published on every node
# (relayed over the cluster bus).
ps = rc.pubsub()
ps.subscribe("news")
for port in ports:
    redis.Redis(host="127.0.0.1", port=port).publish("news", f"from {port}")
heard = []
deadline = time.time() + 10
while len(heard) < len(ports) and time.time() < deadline:
    message = ps.get_message(timeout=1)
    if message and message["type"] == "message":
        heard.append(message["data"])
assert sorted(heard) == sorted(f"from {port}".encode() for port in ports), heard
ps.close()

print("redis-py cluster smoke test: ok")
