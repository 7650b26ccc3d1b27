use super::*;
use crate::engine::memory::MemoryEngine;
use crate::engine::{Engine, Partition, Reader};
use bytes::Bytes;
use quickcheck::{quickcheck, Arbitrary, Gen};
use std::collections::HashMap;
use std::sync::Arc;

fn value(s: &str) -> Meta {
    Meta::string(Bytes::copy_from_slice(s.as_bytes()), 0)
}

fn open(engine: &Arc<MemoryEngine>) -> Store {
    Store::open(engine.clone() as Arc<dyn Engine>, 4).expect("open")
}

fn set(store: &Store, db: usize, key: &str, meta: Meta, now: u64) {
    let mut txn = store.begin(now);
    txn.put(db, key.as_bytes(), meta).expect("put");
    txn.commit().expect("commit");
}

#[test]
fn writes_are_visible_after_commit_only() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    txn.put(0, b"k", value("v")).expect("put");
    assert_eq!(txn.get(0, b"k").expect("get"), Some(value("v")));
    drop(txn);
    assert_eq!(store.get(0, b"k", 0).expect("get"), None);
    set(&store, 0, "k", value("v"), 0);
    assert_eq!(store.get(0, b"k", 0).expect("get"), Some(value("v")));
    assert_eq!(store.get(1, b"k", 0).expect("get"), None);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 1,
            expires: 0
        }
    );
}

fn event_names(events: &[crate::notify::Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {} {}", e.db, e.name, String::from_utf8_lossy(&e.key)))
        .collect()
}

#[test]
fn transactions_record_new_and_expired_keys_when_asked() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 1, "old", Meta::string(Bytes::from("v"), 100), 0);
    store.set_notify_flags(crate::notify::Flags::parse(b"Exn").expect("flags"));
    let mut txn = store.begin(200);
    txn.put(0, b"k", value("v")).expect("put");
    txn.put(0, b"k", value("w")).expect("overwrite");
    assert_eq!(txn.get(1, b"old").expect("get"), None);
    txn.notify(0, crate::notify::Class::String, "set", b"k");
    assert_eq!(
        event_names(&txn.take_events()),
        ["0 new k", "1 expired old"]
    );
}

#[test]
fn a_rollback_forgets_the_events_after_its_savepoint() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    store.set_notify_flags(crate::notify::Flags::parse(b"KA").expect("flags"));
    let mut txn = store.begin(0);
    txn.notify(0, crate::notify::Class::Hash, "hset", b"a");
    let savepoint = txn.savepoint();
    txn.notify(0, crate::notify::Class::Hash, "hdel", b"a");
    txn.rollback_to(savepoint);
    assert!(txn.has_events());
    assert_eq!(event_names(&txn.take_events()), ["0 hset a"]);
    assert!(!txn.has_events());
}

#[test]
fn active_expiry_returns_expired_events() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 2, "k", Meta::string(Bytes::from("v"), 100), 0);
    store.set_notify_flags(crate::notify::Flags::parse(b"Ex").expect("flags"));
    let (_, events, effects) = super::testing::expire(&store, 150, 100);
    assert_eq!(event_names(&events), ["2 expired k"]);
    assert_eq!(effects, [Effect::del(2, b"k")]);
}

#[test]
fn without_notifications_nothing_is_recorded() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 0, "k", Meta::string(Bytes::from("v"), 100), 0);
    let mut txn = store.begin(200);
    txn.put(0, b"n", value("v")).expect("put");
    assert_eq!(txn.get(0, b"k").expect("get"), None);
    txn.notify(0, crate::notify::Class::Generic, "del", b"n");
    assert!(!txn.has_events());
}

#[test]
fn expired_keys_read_as_absent_and_are_reaped() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 0, "short", Meta::string(Bytes::from("v"), 100), 0);
    set(&store, 0, "long", Meta::string(Bytes::from("v"), 10_000), 0);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 2,
            expires: 2
        }
    );
    assert!(store.get(0, b"short", 99).expect("get").is_some());
    assert!(store.get(0, b"short", 100).expect("get").is_none());
    assert_eq!(super::testing::expire(&store, 150, 100).0, 1);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 1,
            expires: 1
        }
    );
    assert_eq!(store.expired_keys(), 1);
    assert_eq!(super::testing::expire(&store, 150, 100).0, 0);
}

#[test]
fn changing_a_deadline_moves_its_index_entry() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 0, "k", Meta::string(Bytes::from("v"), 100), 0);
    set(&store, 0, "k", Meta::string(Bytes::from("v"), 0), 0);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 1,
            expires: 0
        }
    );
    assert_eq!(super::testing::expire(&store, 1000, 100).0, 0);
    assert!(store.get(0, b"k", 1000).expect("get").is_some());
}

#[test]
fn flush_and_swap_are_namespace_changes() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 0, "a", value("0"), 0);
    set(&store, 1, "b", value("1"), 0);
    let mut txn = store.begin(0);
    txn.swap_db(0, 1);
    txn.commit().expect("commit");
    assert!(store.get(0, b"b", 0).expect("get").is_some());
    assert!(store.get(1, b"a", 0).expect("get").is_some());
    let mut txn = store.begin(0);
    txn.flush_db(1);
    txn.commit().expect("commit");
    assert!(store.get(1, b"a", 0).expect("get").is_none());
    assert_eq!(store.counts(1), KeyCounts::default());
    assert_eq!(store.counts(0).keys, 1);
    // The dead namespace is reclaimed by the sweeper.
    while store.sweep_dead(1).expect("sweep") > 0 {}
    assert_eq!(
        engine
            .scan(
                Partition::Meta,
                (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)
            )
            .count(),
        1
    );
}

#[test]
fn namespaces_counts_and_versions_survive_reopen() {
    let engine = Arc::new(MemoryEngine::new());
    let first_version = {
        let store = open(&engine);
        set(&store, 2, "k", value("v"), 0);
        let mut txn = store.begin(0);
        txn.swap_db(2, 3);
        let version = txn.new_version();
        txn.commit().expect("commit");
        version
    };
    let store = open(&engine);
    assert!(store.get(3, b"k", 0).expect("get").is_some());
    assert_eq!(store.counts(3).keys, 1);
    let mut txn = store.begin(0);
    assert!(txn.new_version() > first_version);
}

/// Operations of the model-based property below.
#[derive(Clone, Debug)]
enum Op {
    Set {
        db: usize,
        key: u8,
        value: u8,
        ttl: Option<u8>,
    },
    Del {
        db: usize,
        key: u8,
    },
    Flush {
        db: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    Tick {
        ms: u8,
    },
    Expire,
    Reopen,
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let db = usize::arbitrary(g) % 4;
        let key = u8::arbitrary(g) % 8;
        match u8::arbitrary(g) % 12 {
            0..=4 => Op::Set {
                db,
                key,
                value: u8::arbitrary(g),
                ttl: Option::arbitrary(g),
            },
            5 | 6 => Op::Del { db, key },
            7 => Op::Flush { db },
            8 => Op::Swap {
                a: db,
                b: usize::arbitrary(g) % 4,
            },
            9 => Op::Tick {
                ms: u8::arbitrary(g),
            },
            10 => Op::Expire,
            _ => Op::Reopen,
        }
    }
}

quickcheck! {
    /// The store behaves like a map per database with deadlines, and its key
    /// counts always equal the number of stored keys.
    fn store_matches_a_simple_model(ops: Vec<Op>) -> bool {
        let engine = Arc::new(MemoryEngine::new());
        let mut store = open(&engine);
        let mut model: Vec<HashMap<u8, (u8, u64)>> = vec![HashMap::new(); 4];
        let mut now = 1_000u64;
        for op in ops {
            match op {
                Op::Set { db, key, value, ttl } => {
                    let expire_at = ttl.map_or(0, |t| now + u64::from(t) + 1);
                    set(&store, db, &key.to_string(), Meta::string(Bytes::from(vec![value]), expire_at), now);
                    model[db].insert(key, (value, expire_at));
                }
                Op::Del { db, key } => {
                    let mut txn = store.begin(now);
                    txn.delete(db, key.to_string().as_bytes()).expect("del");
                    txn.commit().expect("commit");
                    model[db].remove(&key);
                }
                Op::Flush { db } => {
                    let mut txn = store.begin(now);
                    txn.flush_db(db);
                    txn.commit().expect("commit");
                    model[db].clear();
                }
                Op::Swap { a, b } => {
                    let mut txn = store.begin(now);
                    txn.swap_db(a, b);
                    txn.commit().expect("commit");
                    model.swap(a, b);
                }
                Op::Tick { ms } => now += u64::from(ms),
                Op::Expire => {
                    super::testing::expire(&store, now, 1000);
                    for db in &mut model {
                        db.retain(|_, (_, at)| *at == 0 || *at > now);
                    }
                }
                Op::Reopen => store = open(&engine),
            }
            let mut txn = store.begin(now);
            for (db, entries) in model.iter().enumerate() {
                let stored = store.counts(db).keys as usize;
                if stored != entries.len() { return false; }
                for key in 0..8u8 {
                    let got = store.get(db, key.to_string().as_bytes(), now).expect("get");
                    let want = entries.get(&key).filter(|(_, at)| *at == 0 || *at > now);
                    if got.map(|m| m.payload[0]) != want.map(|(v, _)| *v) { return false; }
                    // The directory agrees (a transaction's reads go there).
                    let header = txn.header(db, key.to_string().as_bytes());
                    if header.map(|h| h.expire_at) != want.map(|(_, at)| *at) { return false; }
                    // Per slot too (some keys share one), expired keys
                    // not yet deleted included, as Redis counts them.
                    let slot = crate::slot::key_slot(key.to_string().as_bytes());
                    let in_slot = entries
                        .keys()
                        .filter(|k| crate::slot::key_slot(k.to_string().as_bytes()) == slot)
                        .count();
                    if store.count_slot_keys(db, slot) as usize != in_slot { return false; }
                }
            }
            drop(txn);
        }
        super::testing::expire(&store, u64::MAX - 1, 100_000);
        (0..4).all(|db| {
            let persistent = model[db].values().filter(|(_, at)| *at == 0).count();
            store.counts(db) == KeyCounts { keys: persistent as u64, expires: 0 }
        })
    }
}

#[test]
fn rollback_to_a_savepoint_forgets_later_changes_only() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 1, "in-db-1", value("x"), 0);
    let mut txn = store.begin(0);
    txn.put(0, b"a", value("1")).expect("put");
    let savepoint = txn.savepoint();
    txn.put(0, b"b", value("2")).expect("put");
    txn.put(0, b"a", Meta::string(Bytes::from("changed"), 500))
        .expect("put");
    txn.flush_db(1);
    txn.new_version();
    txn.rollback_to(savepoint);
    assert_eq!(txn.get(0, b"a").expect("get"), Some(value("1")));
    assert_eq!(txn.get(0, b"b").expect("get"), None);
    assert_eq!(
        txn.counts(0),
        KeyCounts {
            keys: 1,
            expires: 0
        }
    );
    assert!(txn.exists(1, b"in-db-1").expect("exists"));
    txn.commit().expect("commit");
    assert_eq!(store.get(0, b"a", 0).expect("get"), Some(value("1")));
    assert_eq!(store.get(0, b"b", 0).expect("get"), None);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 1,
            expires: 0
        }
    );
    assert_eq!(store.counts(1).keys, 1);
    // Nothing of the rolled-back deadline reached the expire index.
    assert_eq!(super::testing::expire(&store, 10_000, 100).0, 0);
}

fn dirty_flag() -> watch::Dirty {
    Arc::new(std::sync::atomic::AtomicBool::new(false))
}

fn is_dirty(flag: &watch::Dirty) -> bool {
    flag.load(std::sync::atomic::Ordering::Acquire)
}

#[test]
fn commits_touch_watched_keys_but_not_rolled_back_writes() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let flag = dirty_flag();
    store.watches.watch(1, &flag, 0, Bytes::from_static(b"k"));

    let mut txn = store.begin(0);
    let savepoint = txn.savepoint();
    txn.put(0, b"k", value("undone")).expect("put");
    txn.rollback_to(savepoint);
    txn.put(0, b"other", value("v")).expect("put");
    txn.put(1, b"k", value("v")).expect("put");
    txn.commit().expect("commit");
    assert!(!is_dirty(&flag), "rolled back, other key, other db");

    set(&store, 0, "k", value("v"), 0);
    assert!(is_dirty(&flag));
}

#[test]
fn flushing_touches_only_watched_keys_that_existed() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    set(&store, 1, "a", value("v"), 0);
    let (a, b) = (dirty_flag(), dirty_flag());
    store.watches.watch(1, &a, 1, Bytes::from_static(b"a"));
    store.watches.watch(2, &b, 1, Bytes::from_static(b"b"));
    let mut txn = store.begin(0);
    txn.flush_db(1);
    txn.commit().expect("commit");
    assert!(is_dirty(&a));
    assert!(!is_dirty(&b));
}

#[test]
fn commit_in_place_publishes_and_keeps_going() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let mut txn = store.begin(0);
    txn.put(0, b"k", value("v")).expect("put");
    assert!(txn.commit_in_place().expect("commit"));
    // Visible to lock-free readers, and the counts need no lock.
    assert_eq!(store.get(0, b"k", 0).expect("get"), Some(value("v")));
    assert_eq!(store.counts(0).keys, 1);
    assert!(!txn.commit_in_place().expect("nothing left"));
    txn.put(0, b"k2", value("w")).expect("put");
    assert!(txn.commit().expect("commit"));
    assert_eq!(store.counts(0).keys, 2);
}

/// Engine rows under namespace `ns` (metadata, members, score index).
fn rows_of(engine: &MemoryEngine, ns: u32) -> usize {
    [Partition::Meta, Partition::Data, Partition::ZScore]
        .iter()
        .map(|&p| {
            let range = crate::engine::prefix_range(&encoding::ns_prefix(ns));
            engine.scan(p, range).count()
        })
        .sum()
}

fn sys_rows(engine: &MemoryEngine, prefix: &[u8]) -> usize {
    engine
        .scan(Partition::Sys, crate::engine::prefix_range(prefix))
        .count()
}

/// A full sync's load into `staged`, in commits of 10 keys: in databases
/// 0 and 2, `new:i` strings (every third with a deadline of 500) and a
/// hash `h` with two fields in database 0.
fn load_staged(store: &Store, staged: &Staged, keys: usize) {
    for chunk in (0..keys).collect::<Vec<_>>().chunks(10) {
        let mut txn = store.begin(0);
        txn.apply_master_stream();
        txn.load_staged(staged);
        for &i in chunk {
            let expire_at = if i % 3 == 0 { 500 } else { 0 };
            let meta = Meta::string(Bytes::from(format!("v{i}")), expire_at);
            txn.put(i % 2 * 2, format!("new:{i}").as_bytes(), meta)
                .expect("put");
        }
        txn.commit().expect("commit");
    }
    let mut txn = store.begin(0);
    txn.load_staged(staged);
    let mut meta = Meta::collection(encoding::KeyType::Hash, txn.new_version());
    meta.set_size(2);
    txn.put(0, b"h", meta.clone()).expect("put");
    let members = txn.members(0, b"h", &meta);
    txn.member_put(&members, b"f1", Bytes::from("a"));
    txn.member_put(&members, b"f2", Bytes::from("b"));
    txn.commit().expect("commit");
}

/// Two databases of old data: `old` (with a deadline of 400) and `keep`.
fn old_data(store: &Store) {
    set(store, 0, "old", Meta::string(Bytes::from("o"), 400), 0);
    set(store, 2, "keep", value("k"), 0);
}

fn assert_old_data(store: &Store) {
    assert_eq!(
        store.get(0, b"old", 0).expect("get"),
        Some(Meta::string(Bytes::from("o"), 400))
    );
    assert_eq!(store.get(2, b"keep", 0).expect("get"), Some(value("k")));
    assert_eq!(store.get(0, b"new:0", 0).expect("get"), None);
    assert_eq!(store.get(0, b"h", 0).expect("get"), None);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 1,
            expires: 1
        }
    );
    assert_eq!(
        store.counts(2),
        KeyCounts {
            keys: 1,
            expires: 0
        }
    );
}

#[test]
fn a_staged_load_is_invisible_and_an_aborted_one_leaves_the_old_data() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    old_data(&store);
    let staged = store.stage().expect("stage");
    load_staged(&store, &staged, 25);
    // Loaded and committed, yet no database shows any of it.
    assert_old_data(&store);
    assert!(staged
        .namespaces()
        .iter()
        .any(|&ns| rows_of(&engine, ns) > 0));
    // Active expiry leaves the staged deadlines alone (they are not stale).
    let expire_len = || {
        engine
            .scan(
                Partition::Expire,
                (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
            )
            .count()
    };
    let before = expire_len();
    let (processed, _, _) = testing::expire(&store, 550, 100);
    assert_eq!(processed, 1, "only the old key's deadline counts");
    assert_eq!(expire_len(), before - 1);
    set(&store, 0, "old", Meta::string(Bytes::from("o"), 400), 0);

    let namespaces = staged.namespaces().to_vec();
    store.abort_staged(&staged).expect("abort");
    assert_old_data(&store);
    assert_eq!(slot_total(&store, 0), 1, "the directory forgot the load");
    while store.sweep_dead(7).expect("sweep") > 0 {}
    for ns in namespaces {
        assert_eq!(rows_of(&engine, ns), 0, "namespace {ns} reclaimed");
    }
    assert_eq!(sys_rows(&engine, b"staged:"), 0);
    assert_eq!(sys_rows(&engine, b"dead:"), 0);
    assert_old_data(&open(&engine));
}

#[test]
fn switching_to_a_staged_load_shows_it_whole_with_its_counts() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    old_data(&store);
    let old_namespaces: Vec<u32> = (0..4).map(|db| store.ns(db)).collect();
    let staged = store.stage().expect("stage");
    load_staged(&store, &staged, 25);
    let mut txn = store.begin(0);
    txn.switch_to_staged(&staged);
    txn.commit().expect("commit");

    for store in [&store, &open(&engine)] {
        assert_eq!(store.get(0, b"old", 0).expect("get"), None);
        assert_eq!(store.get(2, b"keep", 0).expect("get"), None);
        assert_eq!(
            store.get(0, b"new:0", 0).expect("get"),
            Some(Meta::string(Bytes::from("v0"), 500))
        );
        assert_eq!(store.get(2, b"new:1", 0).expect("get"), Some(value("v1")));
        let read = |db, key: &[u8]| {
            let mut read = StoreRead {
                store,
                now_ms: 0,
                snapshot: None,
                namespaces: None,
            };
            let meta = read.meta(db, key).expect("meta").expect("a key");
            let members = read.members(db, key, &meta);
            read.member(&members, b"f2").expect("member")
        };
        assert_eq!(read(0, b"h"), Some(Bytes::from("b")));
        // 13 even keys and the hash in 0, 12 odd ones in 2; deadlines on
        // every third of 0..25.
        assert_eq!(
            store.counts(0),
            KeyCounts {
                keys: 14,
                expires: 5
            }
        );
        assert_eq!(
            store.counts(2),
            KeyCounts {
                keys: 12,
                expires: 4
            }
        );
        assert_eq!(store.counts(1), KeyCounts::default());
        assert_eq!((slot_total(store, 0), slot_total(store, 2)), (14, 12));
        let mut txn = store.begin(0);
        assert_eq!(txn.header(0, b"new:0").map(|h| h.expire_at), Some(500));
        assert_eq!(txn.header(0, b"old"), None);
    }
    assert_eq!(sys_rows(&engine, b"staged:"), 0);
    // The expire index follows the switch: the loaded deadlines expire.
    testing::expire(&store, 600, 100);
    assert_eq!(
        store.counts(0),
        KeyCounts {
            keys: 9,
            expires: 0
        }
    );
    assert_eq!(
        store.counts(2),
        KeyCounts {
            keys: 8,
            expires: 0
        }
    );
    // The old namespaces are dead and reclaimed like flushed ones.
    while store.sweep_dead(7).expect("sweep") > 0 {}
    for ns in old_namespaces {
        assert_eq!(rows_of(&engine, ns), 0, "namespace {ns} reclaimed");
    }
}

#[test]
fn a_load_interrupted_by_a_crash_is_reclaimed_at_open() {
    let engine = Arc::new(MemoryEngine::new());
    let namespaces = {
        let store = open(&engine);
        old_data(&store);
        let staged = store.stage().expect("stage");
        load_staged(&store, &staged, 25);
        staged.namespaces().to_vec()
    };
    let store = open(&engine);
    assert_old_data(&store);
    assert_eq!(sys_rows(&engine, b"staged:"), 0);
    while store.sweep_dead(7).expect("sweep") > 0 {}
    for ns in namespaces {
        assert_eq!(rows_of(&engine, ns), 0, "namespace {ns} reclaimed");
    }
}

#[test]
fn the_origin_row_is_exact_or_absent() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    assert_eq!(store.origin().expect("origin"), None);
    let origin = |offset| Origin {
        replid: "a".repeat(40),
        offset,
        db: 3,
    };
    let mut txn = store.begin(0);
    txn.apply_master_stream();
    txn.put(0, b"k", value("v")).expect("put");
    txn.set_origin(origin(10));
    txn.commit().expect("commit");
    assert_eq!(open(&engine).origin().expect("origin"), Some(origin(10)));
    // With nothing written it is not rewritten; a staged load is no write.
    let mut txn = store.begin(0);
    txn.set_origin(origin(24));
    txn.commit().expect("commit");
    let staged = store.stage().expect("stage");
    load_staged(&store, &staged, 3);
    store.abort_staged(&staged).expect("abort");
    assert_eq!(store.origin().expect("origin"), Some(origin(10)));
    let mut txn = store.begin(0);
    txn.put(0, b"k", value("w")).expect("put");
    txn.set_origin(origin(40));
    txn.commit().expect("commit");
    assert_eq!(store.origin().expect("origin"), Some(origin(40)));
    // A write of this node's own makes it untrue: gone.
    set(&store, 1, "mine", value("x"), 0);
    assert_eq!(store.origin().expect("origin"), None);
    assert_eq!(open(&engine).origin().expect("origin"), None);
    // Recorded again when missing, even with nothing else written.
    let mut txn = store.begin(0);
    txn.set_origin(origin(41));
    txn.commit().expect("commit");
    assert_eq!(store.origin().expect("origin"), Some(origin(41)));
}

/// Every key of `db` by the directory's per-slot counts.
fn slot_total(store: &Store, db: usize) -> u64 {
    (0..crate::slot::SLOT_COUNT)
        .map(|slot| u64::from(store.count_slot_keys(db, slot)))
        .sum()
}

/// Strings taken in bulk (a full sync's, `Txn::ingest`) reach the key
/// directory like any other write: a transaction finds them, the slots
/// count them, and a reopen reads them back from the meta rows.
#[test]
fn bulk_strings_reach_the_directory() {
    let engine = Arc::new(MemoryEngine::new());
    let store = open(&engine);
    let staged = store.stage().expect("stage");
    let mut strings = super::BulkStrings::default();
    for i in 0..20 {
        let expire_at = if i < 5 { 900 } else { 0 };
        strings.push(0, Bytes::from(format!("k{i}")), Bytes::from("v"), expire_at);
    }
    let mut txn = store.begin(0);
    txn.load_staged(&staged);
    txn.ingest(&mut strings).expect("ingest");
    txn.commit().expect("commit");
    let mut txn = store.begin(0);
    txn.switch_to_staged(&staged);
    txn.commit().expect("commit");
    for store in [&store, &open(&engine)] {
        let mut txn = store.begin(0);
        assert_eq!(txn.header(0, b"k3").map(|h| h.expire_at), Some(900));
        assert_eq!(txn.header(0, b"k7").map(|h| h.expire_at), Some(0));
        drop(txn);
        assert_eq!(slot_total(store, 0), 20);
        assert_eq!(
            store.counts(0),
            KeyCounts {
                keys: 20,
                expires: 5
            }
        );
    }
}
