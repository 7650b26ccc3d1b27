//! Whole RDB files against a real redis-server 7.0 (installed by
//! `.ci/run`; the tests skip when it is missing): the `Reader` reads what
//! redis-server SAVEs, in every encoding it uses, and redis-server loads
//! what the `Writer` writes.

mod common;

use bytes::Bytes;
use common::real_redis::RealRedis;
use common::streams;
use redstone::rdb::file::{Item, Reader, Writer};
use redstone::rdb::{Group, Stream, StreamId, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Keys by database, with their value (collections in a canonical order)
/// and expiry (Unix time in milliseconds).
type Keyspace = BTreeMap<(usize, Bytes), (Value, Option<u64>)>;

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

fn texts(range: std::ops::Range<usize>, each: impl Fn(usize) -> String) -> Vec<Bytes> {
    range.map(|i| Bytes::from(each(i))).collect()
}

/// Sets and hashes sorted, sorted sets by member: redis-server keeps no
/// order for them.
fn canonical(value: Value) -> Value {
    match value {
        Value::Set(mut members) => {
            members.sort();
            Value::Set(members)
        }
        Value::Hash(mut pairs) => {
            pairs.sort();
            Value::Hash(pairs)
        }
        Value::ZSet(mut members) => {
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::ZSet(members)
        }
        other => other,
    }
}

/// Every type in the encodings redis-server 7.0 picks for small values
/// (int and LZF strings, intsets, listpacks) and large ones (hashtables,
/// skiplists, quicklists of several nodes), binary keys, expiries, two
/// databases.
fn keyspace(now_ms: u64) -> Keyspace {
    let hour = Some(now_ms + 3_600_000);
    let day = Some(now_ms + 86_400_000 + 17);
    let entries = vec![
        (0, b("str"), Value::String(b("hello")), hour),
        (0, b("int"), Value::String(b("12345")), None),
        (0, b("neg"), Value::String(b("-7")), None),
        (0, b("wide"), Value::String(b("1234567890123")), None),
        (0, b("lzf"), Value::String(b(&"ab".repeat(200))), day),
        (
            0,
            Bytes::from_static(b"\x00bin\xff\r\n"),
            Value::String(Bytes::from_static(b"\x00\x01\xfe\xff")),
            None,
        ),
        (
            0,
            b("list-small"),
            Value::List(vec![b("a"), b("1"), b("-100000"), b(&"b".repeat(20))]),
            None,
        ),
        (
            0,
            b("list-large"),
            Value::List(texts(0..3000, |i| {
                format!("item-{i}-{}", "x".repeat(i % 50))
            })),
            hour,
        ),
        (
            0,
            b("intset"),
            Value::Set(vec![b("1"), b("-3"), b("300000"), b("70000000000")]),
            None,
        ),
        (0, b("set-small"), Value::Set(vec![b("x"), b("y")]), None),
        (
            0,
            b("set-large"),
            Value::Set(texts(0..600, |i| i.to_string())),
            day,
        ),
        (
            0,
            b("hash-small"),
            Value::Hash(vec![
                (b("f"), b("v")),
                (b("n"), b("-5")),
                (b("big"), b("70000")),
            ]),
            None,
        ),
        (
            0,
            b("hash-large"),
            Value::Hash(
                texts(0..600, |i| format!("field{i}"))
                    .into_iter()
                    .zip(texts(0..600, |i| format!("{}", i * 7)))
                    .collect(),
            ),
            hour,
        ),
        (
            0,
            b("zset-small"),
            Value::ZSet(vec![
                (b("a"), 1.5),
                (b("b"), f64::NEG_INFINITY),
                (b("c"), 3.0),
            ]),
            None,
        ),
        (
            0,
            b("zset-large"),
            Value::ZSet(
                texts(0..200, |i| format!("m{i}"))
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| {
                        (
                            m,
                            if i == 0 {
                                f64::INFINITY
                            } else {
                                i as f64 * 0.25
                            },
                        )
                    })
                    .collect(),
            ),
            None,
        ),
        (1, b("str"), Value::String(b("in db 1")), day),
        (1, b("list"), Value::List(vec![b("only")]), None),
        (0, b("stream-small"), Value::Stream(stream(3, &[])), None),
        // Several nodes, consumer groups.
        (
            1,
            b("stream-large"),
            Value::Stream(stream(300, &[("g", 100, 100), ("late", 0, 0)])),
            hour,
        ),
    ];
    entries
        .into_iter()
        .map(|(db, key, value, expire)| ((db, key), (canonical(value), expire)))
        .collect()
}

/// A stream of `len` entries at IDs 1-0, 2-0, ..., made by XADD, with
/// groups (name, last delivered ms, entries read) that have nothing
/// pending.
fn stream(len: u64, groups: &[(&str, u64, i64)]) -> Stream {
    let id = |ms| StreamId { ms, seq: 0 };
    Stream {
        entries: (1..=len)
            .map(|i| {
                let mut pairs = vec![(b("n"), b(&(i as i64 - 50).to_string()))];
                if i % 4 == 0 {
                    pairs.push((b("text"), b(&"t".repeat(i as usize % 90))));
                }
                (id(i), pairs)
            })
            .collect(),
        last_id: id(len),
        first_id: id(1),
        max_deleted_id: id(0),
        entries_added: len,
        groups: groups
            .iter()
            .map(|(name, last, entries_read)| Group {
                name: b(name),
                last_id: id(*last),
                entries_read: *entries_read,
                pending: vec![],
                consumers: vec![],
            })
            .collect(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

fn run(con: &mut redis::Connection, args: Vec<&[u8]>) {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("a command name"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd.query(con).expect("redis-server accepts the command");
}

/// Creates `keys` in redis-server with commands.
fn fill(con: &mut redis::Connection, keys: &Keyspace) {
    for ((db, key), (value, expire)) in keys {
        run(con, vec![&b"SELECT"[..], db.to_string().as_bytes()]);
        let mut args: Vec<&[u8]> = Vec::new();
        let scores: Vec<String>;
        match value {
            Value::String(bytes) => args.extend([&b"SET"[..], &key[..], &bytes[..]]),
            Value::List(items) => {
                args.extend([&b"RPUSH"[..], &key[..]]);
                args.extend(items.iter().map(|item| &item[..]));
            }
            Value::Set(members) => {
                args.extend([&b"SADD"[..], &key[..]]);
                args.extend(members.iter().map(|member| &member[..]));
            }
            Value::Hash(pairs) => {
                args.extend([&b"HSET"[..], &key[..]]);
                args.extend(pairs.iter().flat_map(|(f, v)| [&f[..], &v[..]]));
            }
            Value::ZSet(members) => {
                scores = members.iter().map(|(_, score)| score.to_string()).collect();
                args.extend([&b"ZADD"[..], &key[..]]);
                for ((member, _), score) in members.iter().zip(&scores) {
                    args.extend([score.as_bytes(), &member[..]]);
                }
            }
            Value::Stream(stream) => streams::create(con, key, stream),
        }
        if !args.is_empty() {
            run(con, args);
        }
        if let Some(ms) = expire {
            run(
                con,
                vec![&b"PEXPIREAT"[..], &key[..], ms.to_string().as_bytes()],
            );
        }
    }
}

/// Every key of databases `dbs` in redis-server, read with plain commands.
fn read_back(con: &mut redis::Connection, dbs: &[usize]) -> Keyspace {
    let mut keys = Keyspace::new();
    for db in dbs {
        redis::cmd("SELECT").arg(db).exec(con).expect("SELECT");
        let names: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).expect("KEYS");
        for name in names {
            let kind: String = redis::cmd("TYPE").arg(&name).query(con).expect("TYPE");
            let query = |command: &str, extra: &[&str]| {
                let mut cmd = redis::cmd(command);
                cmd.arg(&name).arg(extra);
                cmd
            };
            let bytes = |items: Vec<Vec<u8>>| items.into_iter().map(Bytes::from).collect();
            let value = match kind.as_str() {
                "string" => Value::String(Bytes::from(
                    query("GET", &[]).query::<Vec<u8>>(con).expect("GET"),
                )),
                "list" => Value::List(bytes(
                    query("LRANGE", &["0", "-1"]).query(con).expect("LRANGE"),
                )),
                "set" => Value::Set(bytes(query("SMEMBERS", &[]).query(con).expect("SMEMBERS"))),
                "hash" => {
                    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                        query("HGETALL", &[]).query(con).expect("HGETALL");
                    Value::Hash(
                        pairs
                            .into_iter()
                            .map(|(f, v)| (Bytes::from(f), Bytes::from(v)))
                            .collect(),
                    )
                }
                "zset" => {
                    let members: Vec<(Vec<u8>, f64)> = query("ZRANGE", &["0", "-1", "WITHSCORES"])
                        .query(con)
                        .expect("ZRANGE");
                    Value::ZSet(
                        members
                            .into_iter()
                            .map(|(m, s)| (Bytes::from(m), s))
                            .collect(),
                    )
                }
                "stream" => Value::Stream(streams::read(con, &name)),
                other => panic!("unexpected type {other}"),
            };
            let expire: i64 = query("PEXPIRETIME", &[]).query(con).expect("PEXPIRETIME");
            let expire = u64::try_from(expire).ok();
            keys.insert((*db, Bytes::from(name)), (canonical(value), expire));
        }
    }
    keys
}

#[test]
fn the_reader_reads_what_redis_server_saves() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Compressed quicklist nodes (LZF), and LFU counters in the file.
    let extra = [
        "--list-compress-depth",
        "1",
        "--maxmemory-policy",
        "allkeys-lfu",
    ];
    let Some(real) = RealRedis::start_in(dir, &extra) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut con = real.client();
    let expected = keyspace(now_ms());
    fill(&mut con, &expected);
    // The encodings the file is meant to hold.
    redis::cmd("SELECT").arg(0).exec(&mut con).expect("SELECT");
    for (key, encoding) in [
        ("int", "int"),
        ("wide", "int"),
        ("lzf", "raw"),
        ("list-small", "quicklist"),
        ("intset", "intset"),
        ("set-small", "hashtable"),
        ("set-large", "hashtable"),
        ("hash-small", "listpack"),
        ("hash-large", "hashtable"),
        ("zset-small", "listpack"),
        ("zset-large", "skiplist"),
    ] {
        let actual: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut con)
            .expect("OBJECT ENCODING");
        assert_eq!(actual, encoding, "{key}");
    }
    // A function library: the reader gives its code.
    redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        .exec(&mut con)
        .expect("FUNCTION LOAD");
    redis::cmd("SAVE").exec(&mut con).expect("SAVE");
    let file = std::fs::read(real.dir().join("dump.rdb")).expect("dump.rdb");

    let mut reader = Reader::new();
    let mut keys = Keyspace::new();
    let mut aux = BTreeMap::new();
    let mut db = 0;
    let mut ended = false;
    let mut functions = Vec::new();
    for piece in file.chunks(1000) {
        reader.push(piece);
        while let Some(item) = reader.next().expect("a good file") {
            match item {
                Item::Aux { key, value } => {
                    aux.insert(key, value);
                }
                Item::SelectDb(selected) => db = selected,
                Item::ResizeDb { .. } => {}
                Item::Entry {
                    key,
                    value,
                    expire_at_ms,
                } => {
                    keys.insert((db, key), (canonical(value), expire_at_ms));
                }
                Item::Function(code) => functions.push(code),
                Item::End => ended = true,
            }
        }
    }
    assert!(ended, "the file ends with its checksum verified");
    assert_eq!(
        functions,
        [b(
            "#!lua name=lib\nredis.register_function('f', function() return 1 end)"
        )]
    );
    assert_eq!(reader.consumed(), file.len() as u64);
    assert_eq!(aux.get(&b("redis-bits")), Some(&b("64")));
    assert!(aux.contains_key(&b("redis-ver")));
    assert_eq!(keys, expected);
}

#[test]
fn redis_server_loads_what_the_writer_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = keyspace(now_ms());
    let mut file = Vec::new();
    let mut writer = Writer::new();
    writer.header(&mut file, now_ms() / 1000, &[("repl-stream-db", b"0")]);
    let library = "#!lua name=written\nredis.register_function('written', function() return 7 end)";
    writer.function(&mut file, library.as_bytes());
    // Databases 0, 1 and 5 (empty databases are not written).
    let mut by_db: BTreeMap<usize, Vec<_>> = BTreeMap::from([(5, vec![])]);
    for ((db, key), (value, expire)) in &expected {
        by_db.entry(*db).or_default().push((key, value, *expire));
    }
    let mut extra = Keyspace::new();
    extra.insert((5, b("five")), (Value::String(b("5")), None));
    for (db, entries) in &mut by_db {
        if *db == 5 {
            for ((_, key), (value, expire)) in &extra {
                entries.push((key, value, *expire));
            }
        }
        writer.select_db(&mut file, *db);
        let expires = entries.iter().filter(|entry| entry.2.is_some()).count();
        writer.resize_db(&mut file, entries.len() as u64, expires as u64);
        for (key, value, expire) in entries.iter() {
            writer.entry(&mut file, key, value, *expire);
        }
    }
    writer.finish(&mut file);
    std::fs::write(dir.path().join("written.rdb"), &file).expect("write the file");

    let Some(real) = RealRedis::start_in(dir, &["--dbfilename", "written.rdb"]) else {
        eprintln!("redis-server is not installed: skipping");
        return;
    };
    let mut con = real.client();
    let mut all = expected;
    all.append(&mut extra);
    assert_eq!(read_back(&mut con, &[0, 1, 2, 5]), all);
    let called: i64 = redis::cmd("FCALL")
        .arg("written")
        .arg(0)
        .query(&mut con)
        .expect("the written library is loaded");
    assert_eq!(called, 7);
}
