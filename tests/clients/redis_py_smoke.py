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

    # Pub/sub: confirmations, messages, patterns, shard channels, PUBSUB.
    r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("n*")
    p.ssubscribe("shard")
    seen = [p.get_message(timeout=2) for _ in range(3)]
    assert [m["type"] for m in seen] == ["subscribe", "psubscribe", "ssubscribe"], seen
    assert r.publish("news", "hello") == 2
    assert p.get_message(timeout=2) == {
        "type": "message", "pattern": None, "channel": "news", "data": "hello"
    }
    assert p.get_message(timeout=2) == {
        "type": "pmessage", "pattern": "n*", "channel": "news", "data": "hello"
    }
    assert r.spublish("shard", "s") == 1
    msg = p.get_sharded_message(timeout=2)
    assert msg["type"] == "smessage" and msg["data"] == "s", msg
    assert r.pubsub_channels() == ["news"]
    assert r.pubsub_numsub("news", "none") == [("news", 1), ("none", 0)]
    assert r.pubsub_numpat() == 1
    assert r.pubsub_shardchannels() == ["shard"]
    p.unsubscribe("news")
    assert p.get_message(timeout=2)["type"] == "unsubscribe"
    p.close()
    r.close()

    # Transactions: pipeline(transaction=True) is MULTI/EXEC; WATCH aborts
    # with WatchError; run-time errors come back in place.
    r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
    r.delete("tx", "tx:str")
    with r.pipeline(transaction=True) as pipe:
        pipe.set("tx", 1).incr("tx").get("tx")
        assert pipe.execute() == [True, 2, "2"]
    with r.pipeline(transaction=True) as pipe:
        pipe.set("tx:str", "x").incr("tx:str").set("tx", 5)
        results = pipe.execute(raise_on_error=False)
        assert results[0] is True and results[2] is True, results
        assert isinstance(results[1], redis.ResponseError), results
    assert r.get("tx") == "5"
    other = redis.Redis(port=port, protocol=protocol, decode_responses=True)
    with r.pipeline(transaction=True) as pipe:
        pipe.watch("tx")
        assert pipe.get("tx") == "5"
        other.set("tx", 6)
        pipe.multi()
        pipe.set("tx", 7)
        try:
            pipe.execute()
            raise AssertionError("EXEC should have been aborted")
        except redis.WatchError:
            pass
    assert r.get("tx") == "6"

    def incr(pipe):
        value = int(pipe.get("tx"))
        pipe.multi()
        pipe.set("tx", value + 1)

    assert r.transaction(incr, "tx") == [True]
    assert r.get("tx") == "7"
    other.close()
    r.close()

print("redis-py smoke test passed")
