//! Collections: member reads through the transaction overlay, rollback,
//! O(1) deletion with background reclaim, and a model-based property over
//! random hash operations, pipelined transactions, rollbacks and reopening.

use super::*;
use crate::engine::memory::MemoryEngine;
use crate::engine::Engine;
use bytes::Bytes;
use quickcheck::{Arbitrary, Gen, QuickCheck};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

fn open(engine: &Arc<MemoryEngine>) -> Store {
    Store::open(engine.clone() as Arc<dyn Engine>, 2).expect("open")
}

/// HSET for tests: returns whether the field is new; None on a string key.
fn hset(txn: &mut Txn, key: &[u8], field: &[u8], value: &[u8]) -> Option<bool> {
    let meta = match txn.get(0, key).expect("get") {
        Some(meta) if meta.kind != KeyType::Hash => return None,
        Some(meta) => meta,
        None => Meta::collection(KeyType::Hash, txn.new_version()),
    };
    let mut meta = meta;
    let members = txn.members(0, key, &meta);
    let new = txn.member(&members, field).expect("member").is_none();
    txn.member_put(&members, field, Bytes::copy_from_slice(value));
    if new {
        meta.set_size(meta.size() + 1);
    }
    txn.put(0, key, meta).expect("put");
    Some(new)
}

fn hdel(txn: &mut Txn, key: &[u8], field: &[u8]) -> bool {
    let Some(mut meta) = txn.get(0, key).expect("get") else {
        return false;
    };
    if meta.kind != KeyType::Hash {
        return false;
    }
    let members = txn.members(0, key, &meta);
    if txn.member(&members, field).expect("member").is_none() {
        return false;
    }
    txn.member_delete(&members, field);
    meta.set_size(meta.size() - 1);
    if meta.size() == 0 {
        txn.delete(0, key).expect("delete");
    } else {
        txn.put(0, key, meta).expect("put");
    }
    true
}

fn read_all(store: &Store, key: &[u8], now: u64) -> Option<Vec<(Bytes, Bytes)>> {
    let mut reader = StoreRead {
        store,
        now_ms: now,
        snapshot: None,
        namespaces: None,
    };
    let meta = reader.meta(0, key).expect("meta")?;
    let members = reader.members(0, key, &meta);
    Some(reader.all_members(&members).expect("members"))
}

fn sweep_all(store: &Store) {
    while store.sweep_dead(7).expect("sweep") > 0 {}
}

#[test]
fn a_transaction_reads_its_own_members_and_rollback_undoes_them() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    hset(&mut txn, b"h", b"b", b"1");
    hset(&mut txn, b"h", b"d", b"2");
    txn.commit().expect("commit");

    let mut txn = store.begin(0);
    hset(&mut txn, b"h", b"a", b"0");
    hset(&mut txn, b"h", b"c", b"3");
    let savepoint = txn.savepoint();
    assert!(hdel(&mut txn, b"h", b"b"));
    hset(&mut txn, b"h", b"e", b"4");
    let meta = txn.get(0, b"h").expect("get").expect("hash");
    let members = txn.members(0, b"h", &meta);
    let subs: Vec<Bytes> = txn
        .all_members(&members)
        .expect("all")
        .into_iter()
        .map(|(sub, _)| sub)
        .collect();
    assert_eq!(
        subs,
        ["a", "c", "d", "e"].map(|s| Bytes::from(s.as_bytes()))
    );
    // Ranges resume after a sub key, merging stored and written members.
    let tail = txn.member_range(&members, Some(b"c"), 10).expect("range");
    assert_eq!(tail.len(), 2);
    txn.rollback_to(savepoint);
    let meta = txn.get(0, b"h").expect("get").expect("hash");
    assert_eq!(meta.size(), 4);
    assert_eq!(
        txn.member(&members, b"b").expect("member"),
        Some(Bytes::from("1"))
    );
    assert_eq!(txn.member(&members, b"e").expect("member"), None);
    txn.commit().expect("commit");
    let all = read_all(&store, b"h", 0).expect("hash");
    assert_eq!(all.len(), 4);
}

#[test]
fn a_snapshot_reader_sees_one_point_in_time_across_its_chunked_reads() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    for i in 0..10_000u32 {
        hset(&mut txn, b"h", &i.to_be_bytes(), b"old");
    }
    txn.commit().expect("commit");

    let mut reader = StoreRead {
        store: &store,
        now_ms: 0,
        snapshot: Some(engine.snapshot()),
        namespaces: None,
    };
    let meta = reader.meta(0, b"h").expect("meta").expect("hash");
    let members = reader.members(0, b"h", &meta);
    let first = reader.member_range(&members, None, 10).expect("chunk");
    // Writers go on between the reader's steps: fields change, new ones
    // come, the key is deleted and swept.
    let mut txn = store.begin(0);
    for i in 0..10_000u32 {
        hset(&mut txn, b"h", &i.to_be_bytes(), b"new");
    }
    hset(&mut txn, b"h", b"late", b"new");
    txn.commit().expect("commit");
    let mut txn = store.begin(0);
    txn.delete(0, b"h").expect("delete");
    txn.commit().expect("commit");
    sweep_all(&store);

    let last = first.last().map(|(sub, _)| sub.clone());
    let rest = reader
        .member_range(&members, last.as_deref(), usize::MAX)
        .expect("rest");
    let all: Vec<_> = first.into_iter().chain(rest).collect();
    assert_eq!(all.len(), 10_000);
    assert!(all.iter().all(|(_, value)| value == "old"));
    assert_eq!(reader.meta(0, b"h").expect("meta"), Some(meta));
    // The live view has moved on.
    assert_eq!(read_all(&store, b"h", 0), None);
}

#[test]
fn deleting_a_big_hash_is_one_meta_change_and_the_sweeper_reclaims_it() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    for i in 0..5000u32 {
        hset(&mut txn, b"big", &i.to_be_bytes(), b"v");
    }
    txn.commit().expect("commit");
    assert_eq!(store.data_entries().expect("count"), 5000);

    let mut txn = store.begin(0);
    assert!(txn.delete(0, b"big").expect("delete"));
    // The meta delete and the reclaim marker (plus the key count).
    assert!(txn.pending_ops() <= 3, "{} ops", txn.pending_ops());
    txn.commit().expect("commit");
    assert_eq!(store.get(0, b"big", 0).expect("get"), None);
    assert_eq!(store.reclaim_pending(), 1);
    assert_eq!(store.sweep_dead(1000).expect("sweep"), 1000);
    assert_eq!(store.reclaim_pending(), 1);
    sweep_all(&store);
    assert_eq!(store.reclaim_pending(), 0);
    assert_eq!(store.data_entries().expect("count"), 0);
}

#[test]
fn overwrite_expiry_rename_and_flush_leave_no_garbage() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    for key in [&b"a"[..], b"b", b"c", b"d"] {
        hset(&mut txn, key, b"f", b"v");
        hset(&mut txn, key, b"g", b"w");
    }
    // Overwritten by a string.
    txn.put(0, b"a", Meta::string(Bytes::from("s"), 0))
        .expect("put");
    // Expires at 100.
    let mut meta = txn.get(0, b"b").expect("get").expect("hash");
    meta.expire_at = 100;
    txn.put(0, b"b", meta).expect("put");
    // Renamed over another hash.
    let meta = txn.get(0, b"c").expect("get").expect("hash");
    let moved = txn.copy_value(0, b"c", &meta, 0, b"d").expect("copy");
    txn.delete(0, b"c").expect("delete");
    txn.put(0, b"d", moved).expect("put");
    txn.commit().expect("commit");
    assert!(read_all(&store, b"b", 99).is_some());
    assert!(read_all(&store, b"b", 100).is_none());
    assert_eq!(super::testing::expire(&store, 100, 10).0, 1);
    sweep_all(&store);
    assert_eq!(read_all(&store, b"d", 100).expect("d").len(), 2);
    assert_eq!(store.data_entries().expect("count"), 2);

    let mut txn = store.begin(100);
    txn.flush_db(0);
    txn.commit().expect("commit");
    sweep_all(&store);
    assert_eq!(store.data_entries().expect("count"), 0);
}

#[test]
fn pending_reclaims_survive_a_reopen() {
    let engine = Arc::new(MemoryEngine::new());
    {
        let store = open(&engine);
        let mut txn = store.begin(0);
        hset(&mut txn, b"h", b"f", b"v");
        txn.commit().expect("commit");
        let mut txn = store.begin(0);
        txn.delete(0, b"h").expect("delete");
        txn.commit().expect("commit");
    }
    let store = open(&engine);
    assert_eq!(store.reclaim_pending(), 1);
    sweep_all(&store);
    assert_eq!(store.reclaim_pending(), 0);
    assert_eq!(store.data_entries().expect("count"), 0);
}

/// One step of the model-based property.
#[derive(Clone, Debug)]
enum Op {
    HSet(u8, u8, u8),
    HDel(u8, u8),
    Del(u8),
    SetString(u8),
    Expire(u8, u8),
    Persist(u8),
    Rename(u8, u8),
    Copy(u8, u8),
    Advance(u8),
    Flush,
}

/// Commands of one pipeline: one transaction, each op under a savepoint,
/// rolled back when its flag is set. Then maybe a sweep or a reopen.
type Pipeline = super::testing::Pipeline<Op>;

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 4;
        let small = |g: &mut Gen| u8::arbitrary(g) % 5;
        match u8::arbitrary(g) % 20 {
            0..=6 => Op::HSet(key(g), small(g), small(g)),
            7..=9 => Op::HDel(key(g), small(g)),
            10 => Op::Del(key(g)),
            11 => Op::SetString(key(g)),
            12 | 13 => Op::Expire(key(g), small(g) + 1),
            14 => Op::Persist(key(g)),
            15 => Op::Rename(key(g), key(g)),
            16 => Op::Copy(key(g), key(g)),
            17 | 18 => Op::Advance(small(g)),
            _ => Op::Flush,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str,
    Hash(BTreeMap<u8, u8>),
}

type Model = HashMap<u8, (Value, u64)>;

fn key_name(k: u8) -> [u8; 2] {
    [b'k', k]
}

fn live(model: &mut Model, now: u64) {
    model.retain(|_, (_, at)| *at == 0 || *at > now);
}

fn apply_model(model: &mut Model, op: &Op, now: u64) {
    live(model, now);
    match *op {
        Op::HSet(k, f, v) => match model.entry(k).or_insert((Value::Hash(BTreeMap::new()), 0)) {
            (Value::Hash(fields), _) => {
                fields.insert(f, v);
            }
            (Value::Str, _) => {}
        },
        Op::HDel(k, f) => {
            if let Some((Value::Hash(fields), _)) = model.get_mut(&k) {
                fields.remove(&f);
                if fields.is_empty() {
                    model.remove(&k);
                }
            }
        }
        Op::Del(k) => {
            model.remove(&k);
        }
        Op::SetString(k) => {
            model.insert(k, (Value::Str, 0));
        }
        Op::Expire(k, ttl) => {
            if let Some((_, at)) = model.get_mut(&k) {
                *at = now + u64::from(ttl);
            }
        }
        Op::Persist(k) => {
            if let Some((_, at)) = model.get_mut(&k) {
                *at = 0;
            }
        }
        Op::Rename(a, b) => {
            if a != b {
                if let Some(value) = model.remove(&a) {
                    model.insert(b, value);
                }
            }
        }
        Op::Copy(a, b) => {
            if a != b {
                if let Some(value) = model.get(&a).cloned() {
                    model.insert(b, value);
                }
            }
        }
        Op::Advance(_) => {}
        Op::Flush => model.clear(),
    }
}

fn set_expiry(txn: &mut Txn, k: u8, at: u64) {
    if let Some(mut meta) = txn.get(0, &key_name(k)).expect("get") {
        meta.expire_at = at;
        txn.put(0, &key_name(k), meta).expect("put");
    }
}

fn apply_store(txn: &mut Txn, op: &Op, now: u64) {
    match *op {
        Op::HSet(k, f, v) => {
            hset(txn, &key_name(k), &[f], &[v]);
        }
        Op::HDel(k, f) => {
            hdel(txn, &key_name(k), &[f]);
        }
        Op::Del(k) => {
            txn.delete(0, &key_name(k)).expect("delete");
        }
        Op::SetString(k) => txn
            .put(0, &key_name(k), Meta::string(Bytes::from("s"), 0))
            .expect("put"),
        Op::Expire(k, ttl) => set_expiry(txn, k, now + u64::from(ttl)),
        Op::Persist(k) => set_expiry(txn, k, 0),
        Op::Rename(a, b) | Op::Copy(a, b) => {
            let (from, to) = (key_name(a), key_name(b));
            if a != b {
                if let Some(meta) = txn.get(0, &from).expect("get") {
                    let value = txn.copy_value(0, &from, &meta, 0, &to).expect("copy");
                    if matches!(op, Op::Rename(..)) {
                        txn.delete(0, &from).expect("delete");
                    }
                    txn.put(0, &to, value).expect("put");
                }
            }
        }
        Op::Advance(_) => {}
        Op::Flush => txn.flush_db(0),
    }
}

fn check(store: &Store, model: &mut Model, now: u64) -> Result<(), String> {
    live(model, now);
    for k in 0..4u8 {
        let key = key_name(k);
        let meta = store.get(0, &key, now).map_err(|e| e.to_string())?;
        let want = model.get(&k);
        match (meta, want) {
            (None, None) => {}
            (Some(meta), Some((Value::Str, at))) if meta.kind == KeyType::String => {
                if meta.expire_at != *at {
                    return Err(format!("{k}: ttl {} != {at}", meta.expire_at));
                }
            }
            (Some(meta), Some((Value::Hash(fields), at))) if meta.kind == KeyType::Hash => {
                let got = read_all(store, &key, now).unwrap_or_default();
                let want: Vec<(Bytes, Bytes)> = fields
                    .iter()
                    .map(|(f, v)| (Bytes::copy_from_slice(&[*f]), Bytes::copy_from_slice(&[*v])))
                    .collect();
                if got != want || meta.size() != fields.len() as u64 || meta.expire_at != *at {
                    return Err(format!("{k}: {meta:?} {got:?} != {want:?} (ttl {at})"));
                }
            }
            (got, want) => return Err(format!("{k}: {got:?} != {want:?}")),
        }
    }
    Ok(())
}

fn run(pipelines: Vec<Pipeline>) -> Result<(), String> {
    let engine = Arc::new(MemoryEngine::new());
    let mut store = open(&engine);
    let mut model = Model::new();
    let mut now = 1000u64;
    for pipeline in &pipelines {
        // One clock reading per pipeline, like a connection's batch.
        let mut txn = store.begin(now);
        let mut advance = 0;
        for (op, rollback) in &pipeline.ops {
            if let Op::Advance(ms) = op {
                advance += u64::from(*ms);
                continue;
            }
            let savepoint = txn.savepoint();
            apply_store(&mut txn, op, now);
            if *rollback {
                txn.rollback_to(savepoint);
            } else {
                apply_model(&mut model, op, now);
            }
        }
        txn.commit().map_err(|e| e.to_string())?;
        now += advance;
        if pipeline.sweep {
            sweep_all(&store);
        }
        if pipeline.reopen {
            drop(store);
            store = open(&engine);
        }
        check(&store, &mut model, now)?;
    }
    // Garbage is reclaimed: after active expiry and a full sweep, the data
    // partition holds exactly the live members.
    super::testing::expire(&store, now, 1000);
    sweep_all(&store);
    live(&mut model, now);
    let live_members: usize = model
        .values()
        .map(|(value, _)| match value {
            Value::Hash(fields) => fields.len(),
            Value::Str => 0,
        })
        .sum();
    let stored = store.data_entries().map_err(|e| e.to_string())?;
    if stored != live_members {
        return Err(format!("{stored} members stored, {live_members} live"));
    }
    if store.reclaim_pending() != 0 {
        return Err(format!("{} reclaims pending", store.reclaim_pending()));
    }
    if store.counts(0).keys != model.len() as u64 {
        return Err(format!("{:?} vs {} keys", store.counts(0), model.len()));
    }
    Ok(())
}

#[test]
fn hashes_match_a_model_under_random_pipelines_rollbacks_and_reopens() {
    fn prop(pipelines: Vec<Pipeline>) -> bool {
        match run(pipelines.clone()) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}: {pipelines:?}");
                false
            }
        }
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<Pipeline>) -> bool);
}
