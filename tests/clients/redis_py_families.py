"""redis-py against Redstone and a real redis-server, side by side (hashes,
lists with their blocking pops, sets, sorted sets, bitmaps, HyperLogLog,
SORT, MULTI, Lua scripts, functions, streams).

    python3 redis_py_families.py REDSTONE_PORT REDIS_UNIX_SOCKET

Runs one table of calls per data type family through redis-py's own API (so
its reply parsing is exercised too) on both servers, in RESP2 and RESP3, and
fails on the first call whose result or error differs. Only deterministic
calls are in the table; unordered replies are compared as sets.
"""
import sys

import redis


def unordered(result):
    return sorted(result, key=repr) if isinstance(result, (list, set)) else result


# (method, args, kwargs, normalise). Each family starts from an empty database.
HASHES = [
    ("hset", ("h",), {"mapping": {"a": "1", "b": "2", "c": "x"}}, None),
    ("hset", ("h", "a", "10"), {}, None),
    ("hget", ("h", "a"), {}, None),
    ("hmget", ("h", ["a", "nope", "c"]), {}, None),
    ("hgetall", ("h",), {}, None),
    ("hkeys", ("h",), {}, unordered),
    ("hvals", ("h",), {}, unordered),
    ("hlen", ("h",), {}, None),
    ("hexists", ("h", "b"), {}, None),
    ("hstrlen", ("h", "a"), {}, None),
    ("hsetnx", ("h", "a", "0"), {}, None),
    ("hincrby", ("h", "a", 5), {}, None),
    ("hincrby", ("h", "c", 1), {}, None),
    ("hincrbyfloat", ("h", "f", "1.5"), {}, None),
    ("hincrbyfloat", ("h", "f", "-3e2"), {}, None),
    ("hdel", ("h", "a", "nope"), {}, None),
    ("hrandfield", ("missing",), {}, None),
    ("hrandfield", ("h", -5), {}, len),
    ("set", ("s", "v"), {}, None),
    ("hget", ("s", "a"), {}, None),
    ("hdel", ("h", "b", "c", "f"), {}, None),
    ("exists", ("h",), {}, None),
]

LISTS = [
    ("rpush", ("l", "a", "b", "c", "b", "d"), {}, None),
    ("lpush", ("l", "z"), {}, None),
    ("lrange", ("l", 0, -1), {}, None),
    ("lrange", ("l", -3, 100), {}, None),
    ("lindex", ("l", -1), {}, None),
    ("linsert", ("l", "BEFORE", "c", "x"), {}, None),
    ("linsert", ("l", "AFTER", "nope", "x"), {}, None),
    ("lset", ("l", 1, "A"), {}, None),
    ("lset", ("l", 99, "A"), {}, None),
    ("lpos", ("l", "b"), {}, None),
    ("lpos", ("l", "b"), {"rank": -1}, None),
    ("lpos", ("l", "b"), {"count": 0}, None),
    ("lrem", ("l", -1, "b"), {}, None),
    ("ltrim", ("l", 1, -2), {}, None),
    ("lrange", ("l", 0, -1), {}, None),
    ("lmove", ("l", "m", "LEFT", "RIGHT"), {}, None),
    ("rpoplpush", ("l", "m"), {}, None),
    ("lpop", ("l", 2), {}, None),
    ("rpop", ("m",), {}, None),
    ("lmpop", (2, "none", "m"), {"direction": "LEFT", "count": 5}, None),
    ("llen", ("l",), {}, None),
    ("lpushx", ("nope", "v"), {}, None),
    ("blpop", (["none", "l"],), {"timeout": 0.1}, None),
    ("brpop", (["l"],), {"timeout": 0.1}, None),
    ("set", ("s", "v"), {}, None),
    ("lpush", ("s", "v"), {}, None),
]

SETS = [
    ("sadd", ("a", "1", "2", "3"), {}, None),
    ("sadd", ("b", "2", "3", "x"), {}, None),
    ("smembers", ("a",), {}, None),
    ("sismember", ("a", "2"), {}, None),
    ("smismember", ("a", ["1", "9"]), {}, None),
    ("scard", ("b",), {}, None),
    ("sinter", (["a", "b"],), {}, None),
    ("sunion", (["a", "b"],), {}, None),
    ("sdiff", (["a", "b"],), {}, None),
    ("sintercard", (2, ["a", "b"]), {}, None),
    ("sinterstore", ("i", ["a", "b"]), {}, None),
    ("sunionstore", ("u", ["a", "b", "none"]), {}, None),
    ("sdiffstore", ("d", ["b", "a"]), {}, None),
    ("smembers", ("d",), {}, None),
    ("smove", ("a", "b", "1"), {}, None),
    ("srem", ("b", "x", "nope"), {}, None),
    ("srandmember", ("i", 5), {}, unordered),
    ("spop", ("d",), {}, None),
    ("exists", ("d",), {}, None),
    ("set", ("s", "v"), {}, None),
    ("sadd", ("s", "v"), {}, None),
]

SORTS = [
    ("rpush", ("l", "3", "1", "2"), {}, None),
    ("mset", ({"w_1": "30", "w_2": "20", "w_3": "10"},), {}, None),
    ("sort", ("l",), {}, None),
    ("sort", ("l",), {"by": "w_*", "get": ["#", "w_*"]}, None),
    ("sort", ("l",), {"desc": True, "start": 0, "num": 2}, None),
    ("sort", ("l",), {"alpha": True, "store": "dst"}, None),
    ("zadd", ("z", {"10": 3, "30": 1}), {}, None),
    ("sort", ("z",), {"by": "nosort"}, None),
]

ZSETS = [
    ("zadd", ("z", {"a": 1, "b": 2, "c": 3.5, "d": -1}), {}, None),
    ("zadd", ("z", {"a": 5}), {"xx": True, "ch": True}, None),
    ("zadd", ("z", {"e": 0}), {"nx": True}, None),
    ("zadd", ("z", {"a": 1}), {"gt": True, "ch": True}, None),
    ("zadd", ("z", {"a": 2}), {"incr": True}, None),
    ("zincrby", ("z", 2.5, "b"), {}, None),
    ("zscore", ("z", "c"), {}, None),
    ("zmscore", ("z", ["a", "nope"]), {}, None),
    ("zcard", ("z",), {}, None),
    ("zcount", ("z", "(0", "+inf"), {}, None),
    ("zrange", ("z", 0, -1), {"withscores": True}, None),
    ("zrange", ("z", "(1", 5), {"byscore": True, "offset": 1, "num": 2}, None),
    ("zrange", ("z", 0, 1), {"desc": True}, None),
    ("zrevrange", ("z", 0, 2), {"withscores": True}, None),
    ("zrangebyscore", ("z", "-inf", "(4"), {"withscores": True}, None),
    ("zrevrangebyscore", ("z", 10, 0), {}, None),
    ("zrank", ("z", "c"), {}, None),
    ("zrevrank", ("z", "c"), {}, None),
    ("zadd", ("lex", {"a": 0, "b": 0, "c": 0, "d": 0}), {}, None),
    ("zrangebylex", ("lex", "[b", "(d"), {}, None),
    ("zlexcount", ("lex", "-", "+"), {}, None),
    ("zremrangebylex", ("lex", "[a", "[b"), {}, None),
    ("zrangestore", ("dst", "z", 0, 1), {}, None),
    ("zunionstore", ("u", {"z": 2, "lex": 1}), {"aggregate": "MAX"}, None),
    ("zrange", ("u", 0, -1), {"withscores": True}, None),
    ("zinter", (["z", "u"],), {"withscores": True}, None),
    ("zdiff", (["z", "dst"],), {"withscores": True}, None),
    ("zintercard", (2, ["z", "u"]), {}, None),
    ("zpopmin", ("z",), {}, None),
    ("zpopmax", ("z", 2), {}, None),
    ("zmpop", (2, ["none", "z"], ), {"min": True, "count": 2}, None),
    ("zrem", ("u", "a", "nope"), {}, None),
    ("zremrangebyscore", ("u", "-inf", 2), {}, None),
    ("zremrangebyrank", ("u", 0, 0), {}, None),
    ("zadd", ("z", {"x": "nan"}), {}, None),
    ("set", ("s", "v"), {}, None),
    ("zadd", ("s", {"a": 1}), {}, None),
]

BITS = [
    ("setbit", ("b", 7, 1), {}, None),
    ("setbit", ("b", 100, 1), {}, None),
    ("getbit", ("b", 7), {}, None),
    ("get", ("b",), {}, None),
    ("bitcount", ("b",), {}, None),
    ("bitcount", ("b", 1, -1), {}, None),
    ("bitpos", ("b", 1), {}, None),
    ("bitpos", ("b", 0, 1), {}, None),
    ("set", ("c", "foobar"), {}, None),
    ("bitop", ("AND", "d", "b", "c"), {}, None),
    ("bitop", ("NOT", "e", "c"), {}, None),
    ("get", ("e",), {}, None),
    ("setbit", ("b", -1, 1), {}, None),
    ("pfadd", ("hll", "a", "b", "c"), {}, None),
    ("pfadd", ("hll2", "c", "d"), {}, None),
    ("pfcount", ("hll", "hll2"), {}, None),
    ("pfmerge", ("hll3", "hll", "hll2"), {}, None),
    ("pfcount", ("hll3",), {}, None),
    ("get", ("hll3",), {}, None),
    ("pfadd", ("c", "x"), {}, None),
]

# Replies converted both ways, errors with their script and line, the
# sandbox, EVALSHA and the script cache.
SCRIPTS = [
    ("eval", ("return {1, 'two', {3}, true, false, 2.9, {ok='fine'}}", 0), {}, None),
    ("eval", ("return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", 2, "a", "b", "c", "d"), {}, None),
    ("eval", ("redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", 1, "k", 7.5), {}, None),
    ("eval", ("return redis.call('incrby', KEYS[1], 10)", 1, "n"), {}, None),
    ("eval", ("return redis.call('incr', KEYS[1])", 1, "k"), {}, None),
    ("eval", ("return redis.pcall('incr', KEYS[1])", 1, "k"), {}, None),
    ("eval", ("local r = redis.pcall('lpush', KEYS[1], 'x'); return r.err", 1, "k"), {}, None),
    ("eval", ("return redis.call('hgetall', 'nohash')", 0), {}, None),
    ("eval", ("redis.call('hset', 'h', 'f', 'v'); return redis.call('hgetall', 'h')", 0), {}, None),
    ("eval", ("return redis.call('get', 'missing')", 0), {}, None),
    ("eval", ("return redis.call('nosuch')", 0), {}, None),
    ("eval", ("return redis.call('get')", 0), {}, None),
    ("eval", ("return redis.call('eval', 'return 1', 0)", 0), {}, None),
    ("eval", ("return {err='CUSTOM failure'}", 0), {}, None),
    ("eval", ("return redis.error_reply('My Error')", 0), {}, None),
    ("eval", ("return redis.status_reply('FINE')", 0), {}, None),
    ("eval", ("x = 1", 0), {}, None),
    ("eval", ("return undefined_global", 0), {}, None),
    ("eval", ("return redis.sha1hex('abc')", 0), {}, None),
    ("eval", ("return {bit.band(0x12345678, 0xff), bit.tohex(-1, -4), bit.lshift(1, 31), bit.tobit(2.5), bit.tobit(3.5), bit.rol(0x12345678, 12), bit.bswap(7), bit.tohex(255)}", 0), {}, None),
    ("eval", ("bit.band = nil", 0), {}, None),
    ("eval", ("return cjson.encode({1, 2.5, 'a/b\\n\"', true, {x=1}, {}, 0.1, 1e20, 123456789012345678, -0.5})", 0), {}, None),
    ("eval", ("return cjson.encode({[1]=1, [3]=3})", 0), {}, None),
    ("eval", ("local t = cjson.decode(ARGV[1]); return {t.a[1], t.a[2], t.a[3].b == cjson.null and 'null' or 'x', t.c, #t.a}", 0, '{"a":[1,2.5,{"b":null}],"c":"\\u00e9x\\ud83d\\ude00"}'), {}, None),
    ("eval", ("return cjson.encode({[20]=1})", 0), {}, None),
    ("eval", ("return cjson.encode(function() end)", 0), {}, None),
    ("eval", ("return cjson.decode('[1,2')", 0), {}, None),
    ("eval", ("return cjson.decode('{\"a\" 1}')", 0), {}, None),
    ("eval", ("return cjson.decode('nul')", 0), {}, None),
    ("eval", ("cjson.encode = nil", 0), {}, None),
    ("eval", ("redis.call('hset', KEYS[1], 'f', 'v'); redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h1"), {}, None),
    ("eval", ("redis.setresp(3); local m = redis.call('hgetall', KEYS[1]).map; return m.f", 1, "h1"), {}, None),
    ("eval", ("redis.setresp(3); return {tostring(redis.call('get', 'nokey')), tostring(redis.call('zscore', 'nozset', 'm'))}", 0), {}, None),
    ("eval", ("redis.call('zadd', 'z1', 1.5, 'm'); redis.setresp(3); return redis.call('zscore', 'z1', 'm').double * 2", 0), {}, None),
    ("eval", ("redis.setresp(3); return {true, false, {double=3.5}}", 0), {}, None),
    ("eval", ("return {double=0.25}", 0), {}, None),
    ("eval", ("redis.setresp(4)", 0), {}, None),
    ("eval", ("local p = struct.pack('>I2i4bBhHlLTfdxs c3', 513, -2, -3, 250, -300, 65000, -5, 7, 9, 1.5, -2.25, 'str', 'abcdef') local h = '' for i = 1, #p do h = h .. string.format('%02x', string.byte(p, i)) end return h", 0), {}, None),
    ("eval", ("local p = struct.pack('<!4 b i d c0 s', 1, -70000, 0.5, 'xyz', 'tail') return {struct.unpack('<!4 b i d c3 s', p)}", 0), {}, None),
    ("eval", ("return {struct.unpack('>h c0 I3', struct.pack('>h c0 I3', 3, 'abc', 70000))}", 0), {}, None),
    ("eval", ("return {struct.size('>!8 b d i2 I8'), struct.size('b h l')}", 0), {}, None),
    ("eval", ("return struct.size('s')", 0), {}, None),
    ("eval", ("return struct.pack('z', 1)", 0), {}, None),
    ("eval", ("return struct.unpack('i4', 'ab')", 0), {}, None),
    ("eval", ("return struct.pack('i33', 1)", 0), {}, None),
    ("eval", ("return struct.unpack('s', 'abc')", 0), {}, None),
    ("eval", ("redis.setresp()", 0), {}, None),
    ("eval", ("local h = '' for _, v in ipairs({0.1, 1.5, -1099511627776, 200, -100, 70000, 'x', string.rep('y', 40), true, false}) do local e = cmsgpack.pack(v) for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end h = h .. ' ' end return h", 0), {}, None),
    ("eval", ("local e = cmsgpack.pack({1, 2, {a = 'b'}}, 'x', nil) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", 0), {}, None),
    ("eval", ("local a, b, c = cmsgpack.unpack(cmsgpack.pack({1, {2, 3}}, 'two', 3.25)) return {a[1], a[2][2], b, tostring(c)}", 0), {}, None),
    ("eval", ("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}", 0), {}, None),
    ("eval", ("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", 0), {}, None),
    ("eval", ("return cmsgpack.unpack('\\205')", 0), {}, None),
    ("eval", ("return cmsgpack.unpack('\\193')", 0), {}, None),
    ("eval", ("return 1 +", 0), {}, None),
    ("eval", ("return 1", -1), {}, None),
    ("eval", ("return 1", 3, "a"), {}, None),
    ("eval", ("return tostring(redis.call('exists', KEYS[1]))", 1, "k"), {}, None),
    ("script_load", ("return ARGV[1] .. ARGV[1]",), {}, None),
    ("evalsha", ("10c9e9c3f46da585b3f3125ba6f06f6ac55c2b4b", 0, "ab"), {}, None),
    ("evalsha", ("0000000000000000000000000000000000000000", 0), {}, None),
    ("script_exists", ("10c9e9c3f46da585b3f3125ba6f06f6ac55c2b4b", "0000000000000000000000000000000000000000"), {}, None),
    ("eval_ro", ("return redis.call('get', KEYS[1])", 1, "k"), {}, None),
    ("eval_ro", ("return redis.call('del', KEYS[1])", 1, "k"), {}, None),
    ("script_flush", (), {}, None),
    ("script_exists", ("10c9e9c3f46da585b3f3125ba6f06f6ac55c2b4b",), {}, None),
]

# FUNCTION LOAD's checks (header, sandbox, register_function's arguments),
# FCALL and FCALL_RO with the flags, LIST, DUMP and RESTORE. FLUSHALL leaves
# functions: the family starts with FUNCTION FLUSH.
LIB = "#!lua name=%s\nredis.register_function('%s', function(keys, args) %s end)"
NAMED = "#!lua name=%s\nredis.register_function{function_name='%s', callback=function(keys, args) %s end, flags={%s}, description='%s'}"
# FUNCTION DUMP of redis-server 7.0.15 with LIB % ("l", "f", "return 1").
DUMPED = bytes.fromhex("f5404223216c7561206e616d653d6c0a72656469732e72656769737465725f66756e6374696f6e282766272c2066756e6374696f6e28292072657475726e203120656e64290a00629568e65f412be2")
FUNCTIONS = [
    ("function_flush", (), {}, None),
    ("function_load", (LIB % ("lib1", "echo", "return {keys[1], args[1], #keys, #args}"),), {}, None),
    ("fcall", ("echo", 1, "k", "a"), {}, None),
    ("fcall", ("ECHO", 0), {}, None),
    ("fcall", ("nosuch", 0), {}, None),
    ("fcall", ("echo", -1), {}, None),
    ("fcall", ("echo", 2, "k"), {}, None),
    ("execute_command", ("FCALL", "echo", "x"), {}, None),
    ("function_load", (LIB % ("lib1", "echo", "return 1"),), {}, None),
    ("function_load", ("#!lua name=lib1\nnot lua",), {}, None),
    ("function_load", (LIB % ("lib1", "echo", "return 'replaced'"),), {"replace": True}, None),
    ("fcall", ("echo", 0), {}, None),
    ("function_load", (LIB % ("lib2", "echo", "return 1"),), {}, None),
    ("function_load", (LIB % ("lib2", "w", "return redis.call('set', keys[1], args[1])"),), {}, None),
    ("fcall", ("w", 1, "k", "v"), {}, None),
    ("fcall_ro", ("w", 1, "k", "v"), {}, None),
    ("function_load", (NAMED % ("lib3", "r", "return redis.call('get', keys[1])", "'no-writes'", "reads"),), {}, None),
    ("fcall_ro", ("r", 1, "k"), {}, None),
    ("function_load", (NAMED % ("lib4", "sneaky", "return redis.call('del', keys[1])", "'no-writes', 'ALLOW-STALE'", "d"),), {}, None),
    ("fcall", ("sneaky", 1, "k"), {}, None),
    ("fcall", ("echo", 0, "extra"), {}, None),
    ("function_load", (LIB % ("lib5", "errs", "return redis.call('nosuch')"),), {}, None),
    ("fcall", ("errs", 0), {}, None),
    ("function_load", (LIB % ("lib6", "raises", "error('boom')"),), {}, None),
    ("fcall", ("raises", 0), {}, None),
    ("function_load", (LIB % ("lib7", "resp3", "redis.setresp(3) return redis.call('hgetall', keys[1])"),), {}, None),
    ("hset", ("h", "f", "v"), {}, None),
    ("fcall", ("resp3", 1, "h"), {}, None),
    ("function_list", (), {"library": "lib3"}, None),
    ("function_list", (), {"library": "LIB4", "withcode": True}, None),
    ("function_list", (), {"library": "nomatch*"}, None),
    ("function_list", (), {}, unordered),
    ("execute_command", ("FUNCTION", "LIST", "bad"), {}, None),
    ("execute_command", ("FUNCTION", "LIST", "LIBRARYNAME"), {}, None),
    ("execute_command", ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), {}, None),
    ("function_stats", (), {}, None),
    ("function_delete", ("lib5",), {}, None),
    ("function_delete", ("lib5",), {}, None),
    ("function_kill", (), {}, None),
    ("function_load", ("return 1",), {}, None),
    ("function_load", ("#!lua name=x",), {}, None),
    ("function_load", ("#!lua\nreturn 1",), {}, None),
    ("function_load", ("#!lua name=a name=b\nreturn 1",), {}, None),
    ("function_load", ("#!lua name=x foo=bar\nreturn 1",), {}, None),
    ("function_load", ("#!js name=x\nreturn 1",), {}, None),
    ("function_load", ("#!lua name=bad-name\nreturn 1",), {}, None),
    ("function_load", ("#!lua name=x\nreturn 1 +",), {}, None),
    ("function_load", ("#!lua name=x\nreturn 1",), {}, None),
    ("function_load", ("#!lua name=x\nredis.call('ping')",), {}, None),
    ("function_load", ("#!lua name=x\nmath.random()",), {}, None),
    ("function_load", ("#!lua name=x\ny = 1",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function('f')",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function(1, 2, 3)",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function('a-b', function() end)",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function('g', function() end) redis.register_function('g', function() end)",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function{function_name='g', callback=function() end, flags={'bad'}}",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function{function_name='g', callback=function() end, other=1}",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function{function_name='g'}",), {}, None),
    ("function_load", ("#!lua name=x\nredis.register_function('echo', function() end)",), {}, None),
    ("execute_command", ("FUNCTION", "LOAD", "bogus", "#!lua name=x\nreturn 1"), {}, None),
    ("function_flush", (), {}, None),
    ("function_load", (LIB % ("l", "f", "return 1"),), {}, None),
    ("function_dump", (), {}, None),
    ("function_restore", (DUMPED,), {}, None),
    ("function_restore", (DUMPED,), {"policy": "REPLACE"}, None),
    ("function_restore", (DUMPED,), {"policy": "FLUSH"}, None),
    ("function_restore", (DUMPED,), {"policy": "BAD"}, None),
    ("function_restore", (b"bad payload",), {}, None),
    ("execute_command", ("FUNCTION", "FLUSH", "bad"), {}, None),
    ("execute_command", ("FUNCTION", "HELP"), {}, None),
    ("fcall", ("f", 0), {}, None),
    ("function_stats", (), {}, None),
]


def without_times(result):
    """Drops what depends on the clock (idle times, delivery and seen times)."""
    times = {"time_since_delivered", "idle", "seen-time", "inactive", "active-time"}
    if isinstance(result, dict):
        return {k: without_times(v) for k, v in result.items() if k not in times and k not in {t.encode() for t in times}}
    if isinstance(result, (list, tuple)):
        return [without_times(v) for v in result]
    return result


def raw(*words):
    return ("execute_command", words, {}, None)


# Explicit IDs only (a generated one is the clock's); times are dropped.
STREAMS = [
    ("xadd", ("s", {"a": "1", "b": "2"}), {"id": "1-1"}, None),
    ("xadd", ("s", {"c": "3"}), {"id": "1-*"}, None),
    ("xadd", ("s", {"d": "4", "e": ""}), {"id": "2"}, None),
    ("xadd", ("s", {"x": "y"}), {"id": "1-5"}, None),
    ("xadd", ("s", {"x": "y"}), {"id": "0-0"}, None),
    ("xadd", ("nos", {"x": "y"}), {"id": "5", "nomkstream": True}, None),
    raw("XADD", "s", "MAXLEN", "-1", "9", "a", "b"),
    raw("XADD", "s", "LIMIT", "5", "9", "a", "b"),
    raw("XADD", "s", "MAXLEN", "5", "MINID", "1", "9", "a", "b"),
    raw("XADD", "s", "MAXLEN", "5", "LIMIT", "5", "9", "a", "b"),
    raw("XADD", "s", "9", "a"),
    raw("XADD", "s", "bad-id", "a", "b"),
    ("xlen", ("s",), {}, None),
    ("xrange", ("s",), {}, None),
    ("xrange", ("s", "(1-1", "+"), {}, None),
    ("xrange", ("s", "-", "(2"), {"count": 1}, None),
    ("xrevrange", ("s", "+", "-"), {"count": 2}, None),
    raw("XRANGE", "s", "-", "+", "COUNT", "0"),
    raw("XRANGE", "s", "(-", "+"),
    raw("XRANGE", "s", "-", "+", "LIMIT"),
    ("xrange", ("missing",), {}, None),
    ("xread", ({"s": "1-1", "missing": "0"},), {"count": 2}, None),
    ("xread", ({"s": "$"},), {}, None),
    raw("XREAD", "STREAMS", "s"),
    raw("XREAD", "STREAMS", "s", ">"),
    raw("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"),
    ("xdel", ("s", "1-2", "7-7"), {}, None),
    ("xdel", ("s", "1-1"), {}, None),
    raw("XADD", "s", "3-0", "f", "v"),
    raw("XADD", "s", "3-1", "f", "v"),
    raw("XADD", "s", "4-0", "f", "v"),
    ("xgroup_create", ("s", "g", "0"), {}, None),
    ("xgroup_create", ("s", "g", "$"), {}, None),
    ("xgroup_create", ("missing", "g", "$"), {}, None),
    ("xgroup_create", ("made", "g", "$"), {"mkstream": True}, None),
    ("xreadgroup", ("g", "alice", {"s": ">"}), {"count": 2}, None),
    ("xreadgroup", ("g", "bob", {"s": ">"}), {}, None),
    ("xreadgroup", ("g", "alice", {"s": "0"}), {}, None),
    ("xreadgroup", ("g", "alice", {"s": "$"}), {}, None),
    ("xreadgroup", ("nog", "alice", {"s": ">"}), {}, None),
    ("xpending", ("s", "g"), {}, None),
    ("xpending_range", ("s", "g", "-", "+", 10), {}, without_times),
    ("xpending_range", ("s", "g", "-", "+", 10), {"consumername": "bob"}, without_times),
    ("xack", ("s", "g", "2-0", "9-9"), {}, None),
    ("xinfo_groups", ("s",), {}, None),
    ("xclaim", ("s", "g", "carol", 0, ["3-0", "3-1"]), {"justid": True}, None),
    ("xclaim", ("s", "g", "carol", 0, ["4-0"]), {}, None),
    ("xautoclaim", ("s", "g", "dave", 0), {"count": 1}, None),
    ("xautoclaim", ("s", "g", "dave", 0, "(3-0"), {"justid": True}, None),
    ("xinfo_consumers", ("s", "g"), {}, without_times),
    ("xgroup_delconsumer", ("s", "g", "dave"), {}, None),
    ("xgroup_createconsumer", ("s", "g", "erin"), {}, None),
    ("xgroup_createconsumer", ("s", "g", "erin"), {}, None),
    ("xinfo_stream", ("s",), {}, None),
    ("xinfo_stream", ("s",), {"full": True}, without_times),
    ("xgroup_setid", ("s", "g", "$"), {}, None),
    ("xinfo_groups", ("s",), {}, None),
    ("xgroup_destroy", ("s", "g"), {}, None),
    ("xgroup_destroy", ("s", "g"), {}, None),
    ("xtrim", ("s",), {"maxlen": 1, "approximate": False}, None),
    ("xtrim", ("s",), {"minid": "5"}, None),
    raw("XTRIM", "s"),
    raw("XSETID", "s", "1-0"),
    raw("XSETID", "s", "10-0", "ENTRIESADDED", "100", "MAXDELETEDID", "5-0"),
    ("xinfo_stream", ("s",), {}, None),
    ("type", ("s",), {}, None),
    ("object", ("encoding", "s"), {}, None),
    ("set", ("str", "v"), {}, None),
    ("xadd", ("str", {"a": "b"}), {"id": "1"}, None),
    ("xlen", ("str",), {}, None),
]


def bitfield(client):
    return client.bitfield("bf").set("u8", 0, 255).incrby("i5", 100, 20).get("u4", 0).execute()


def registered_script(client):
    # redis-py's Script: EVALSHA, then SCRIPT LOAD on NOSCRIPT.
    script = client.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    return [script(keys=["counter"], args=[5]), script(keys=["counter"], args=[2])]


def transaction(client):
    pipe = client.pipeline(transaction=True)
    pipe.set("t", "1").incr("t").lpush("t", "x").get("t")
    # Errors inside EXEC come back as exception objects: compare their text.
    return [str(r) if isinstance(r, Exception) else r for r in pipe.execute(raise_on_error=False)]


CALLS = [bitfield, transaction, registered_script]


def outcome(client, method, args, kwargs, normalise):
    try:
        result = getattr(client, method)(*args, **kwargs)
    except redis.RedisError as e:
        return ("error", type(e).__name__, str(e))
    return normalise(result) if normalise else result


def main():
    redstone_port, redis_socket = int(sys.argv[1]), sys.argv[2]
    checked = 0
    for protocol in (2, 3):
        ours = redis.Redis(port=redstone_port, protocol=protocol)
        theirs = redis.Redis(unix_socket_path=redis_socket, protocol=protocol)
        for family in (HASHES, LISTS, SETS, ZSETS, BITS, SORTS, SCRIPTS, FUNCTIONS, STREAMS):
            for client in (ours, theirs):
                client.flushall()
            for method, args, kwargs, normalise in family:
                got = outcome(ours, method, args, kwargs, normalise)
                want = outcome(theirs, method, args, kwargs, normalise)
                if got != want:
                    sys.exit(f"RESP{protocol} {method}{args} {kwargs}: Redstone {got!r}, redis-server {want!r}")
                checked += 1
        for call in CALLS:
            got, want = call(ours), call(theirs)
            if got != want:
                sys.exit(f"RESP{protocol} {call.__name__}: Redstone {got!r}, redis-server {want!r}")
            checked += 1
    print(f"{checked} calls matched redis-server")


if __name__ == "__main__":
    main()
