"""redis-py against a running Redstone: python3 redis_py_smoke.py PORT.

Exits non-zero (with the failing assertion) if any check fails.
"""
import sys

import redis

port = int(sys.argv[1])

for protocol in (2, 3):
    r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
    r.flushall()
    assert r.ping() is True
    assert r.set("k", "v", ex=100) is True
    assert r.get("k") == "v"
    assert 95 <= r.ttl("k") <= 100
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", get=True) == "v"
    assert r.incr("n") == 1
    assert r.incrbyfloat("n", 0.5) == 1.5
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget(["a", "b", "missing"]) == ["1", "2", None]
    assert r.exists("a", "b", "missing") == 2
    assert r.type("a") == "string"
    assert r.getrange("k", 0, 0) == "w"
    assert r.append("k", "xyz") == 4
    assert r.strlen("k") == 4
    assert r.expire("a", 50) is True
    assert r.persist("a") is True
    assert r.rename("a", "c") is True
    assert r.copy("c", "d") is True
    assert r.delete("c", "d", "missing") == 2

    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"p{i}", i)
    pipe.get("p99")
    results = pipe.execute()
    assert results[-1] == "99"
    assert len(list(r.scan_iter(match="p*", count=7))) == 100
    assert sorted(r.keys("p1*")) == sorted(["p1"] + [f"p1{i}" for i in range(10)])
    assert r.dbsize() == 103  # k, n, b and p0..p99

    try:
        r.incr("k")
        raise AssertionError("INCR on a non-number must fail")
    except redis.ResponseError as e:
        assert str(e) == "value is not an integer or out of range", str(e)

    assert r.config_get("maxclients") == {"maxclients": "10000"}
    info = r.info()
    assert info["redis_version"] == "7.0.15" and info["role"] == "master"
    assert r.info("keyspace")["db0"]["keys"] == 103
    r.client_setname("smoke")
    assert r.client_getname() == "smoke"
    assert any(c["name"] == "smoke" for c in r.client_list())
    assert r.command_count() > 50
    assert "get" in r.command()
    r.select(1)
    assert r.dbsize() == 0
    r.close()

print("redis-py smoke test passed")
