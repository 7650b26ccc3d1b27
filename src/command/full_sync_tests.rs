//! A full sync's snapshot and the RDB file made of it: exactly the writes
//! committed before PSYNC, whatever happens after, in any chunk size.

use super::full_sync::RdbStream;
use super::tests::{fresh_state, run};
use super::*;
use crate::rdb::file::{Item, Reader};
use crate::rdb::Value;

/// Every entry of the file as "db key value expiry", in file order.
fn entries(file: &[u8]) -> Vec<String> {
    let mut reader = Reader::new();
    reader.push(file);
    let (mut db, mut out) = (0, Vec::new());
    loop {
        match reader.next().expect("a valid file").expect("a whole file") {
            Item::SelectDb(n) => db = n,
            Item::Entry {
                key,
                value,
                expire_at_ms,
            } => {
                let value = match value {
                    Value::String(s) => format!("{s:?}"),
                    other => format!("{other:?}"),
                };
                out.push(format!("{db} {key:?} {value} {expire_at_ms:?}"));
            }
            Item::Function(code) => out.push(format!("function {code:?}")),
            Item::End => return out,
            Item::Aux { .. } | Item::ResizeDb { .. } => {}
        }
    }
}

fn file_of(shared: &Shared, stream: &mut RdbStream, budget: usize) -> Vec<u8> {
    let mut file = Vec::new();
    while stream
        .next_chunk(&shared.store, &mut file, budget)
        .expect("chunk")
    {}
    file
}

#[test]
fn psync_takes_a_snapshot_of_what_was_committed_before_it() {
    let (shared, mut client) = fresh_state();
    run(
        &shared,
        &mut client,
        &["SET", "s", "v", "PXAT", "1800000000000"],
    );
    run(&shared, &mut client, &["RPUSH", "l", "a", "b"]);
    run(&shared, &mut client, &["SELECT", "2"]);
    run(&shared, &mut client, &["HSET", "h", "f", "1"]);
    run(&shared, &mut client, &["SELECT", "0"]);
    let reply = run(&shared, &mut client, &["PSYNC", "?", "-1"]);
    let Frame::Simple(line) = reply else {
        panic!("{reply:?}");
    };
    let offset = crate::sync::lock(&shared.feed).offset();
    assert!(line.ends_with(format!(" {offset}").as_bytes()), "{line:?}");
    let start = client.sync.take().expect("a full sync");
    assert_eq!(start.from, offset);

    // Later writes, even a flush, are not in the snapshot.
    let mut other = another_client(&shared);
    run(&shared, &mut other, &["FLUSHALL"]);
    run(&shared, &mut other, &["SET", "late", "x"]);

    let snapshot = start.snapshot.expect("a snapshot");
    let mut stream = RdbStream::new(snapshot, "id".into(), offset);
    let mut found = entries(&file_of(&shared, &mut stream, 1));
    found.sort();
    let expected = [
        "0 b\"l\" List([b\"a\", b\"b\"]) None",
        "0 b\"s\" b\"v\" Some(1800000000000)",
        "2 b\"h\" Hash([(b\"f\", b\"1\")]) None",
    ];
    assert_eq!(found, expected);
}

#[test]
fn a_large_keyspace_streams_in_chunks_and_reads_back_whole() {
    let (shared, mut client) = fresh_state();
    for i in 0..1000 {
        let key = format!("key:{i:04}");
        run(&shared, &mut client, &["SET", &key, "value"]);
    }
    run(&shared, &mut client, &["SADD", "set", "x", "y"]);
    run(&shared, &mut client, &["PSYNC", "?", "-1"]);
    let start = client.sync.take().expect("a full sync");
    let snapshot = start.snapshot.expect("a snapshot");
    let mut stream = RdbStream::new(snapshot, "id".into(), start.from);
    let mut chunks = 0;
    let mut file = Vec::new();
    while stream
        .next_chunk(&shared.store, &mut file, 1)
        .expect("chunk")
    {
        chunks += 1;
    }
    // A step reads a few hundred keys: several steps, never all at once.
    assert!(chunks >= 3, "{chunks} chunks");
    let all = entries(&file);
    assert_eq!(all.len(), 1001);
    assert!(all.iter().any(|e| e.starts_with("0 b\"set\" Set(")));
}

fn another_client(shared: &Shared) -> Client {
    let handle = shared
        .clients
        .register("127.0.0.1:3".into(), "127.0.0.1:6379".into(), 0);
    Client::new(handle, true)
}

#[test]
fn a_full_sync_carries_the_function_libraries_as_of_its_snapshot() {
    let (shared, mut client) = fresh_state();
    let kept = "#!lua name=kept\nredis.register_function('kept', function() return 1 end)";
    let late = "#!lua name=late\nredis.register_function('late', function() return 2 end)";
    assert_eq!(
        run(&shared, &mut client, &["FUNCTION", "LOAD", kept]),
        Frame::bulk("kept")
    );
    run(&shared, &mut client, &["SET", "k", "v"]);
    run(&shared, &mut client, &["PSYNC", "?", "-1"]);
    let start = client.sync.take().expect("a full sync");
    let mut other = another_client(&shared);
    run(&shared, &mut other, &["FUNCTION", "LOAD", late]);
    let snapshot = start.snapshot.expect("a snapshot");
    let mut stream = RdbStream::new(snapshot, "id".into(), start.from);
    let found = entries(&file_of(&shared, &mut stream, 1));
    assert_eq!(
        found,
        [
            format!("function {:?}", bytes::Bytes::from_static(kept.as_bytes())),
            "0 b\"k\" b\"v\" None".to_string(),
        ]
    );
}
