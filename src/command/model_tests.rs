//! The harness the model-based properties of the collection commands share
//! (sets, lists, sorted sets): random pipelines run through `execute` on the
//! memory engine in one transaction each (like a connection's batch), some
//! commands rolled back to their savepoint, with sweeps and reopens in
//! between; every reply is checked against the family's model, then the
//! state of every key; at the end the collection partitions hold exactly
//! the live members and no reclaim is pending.

use super::*;
use crate::engine::memory::MemoryEngine;
use crate::engine::{Engine, Partition};
use crate::keyspace::testing::Pipeline;
use crate::resp::Frame;
use quickcheck::{Arbitrary, Gen, QuickCheck};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// A server state on an engine, with one client.
pub struct Server {
    pub shared: Arc<Shared>,
    pub client: Client,
}

impl Server {
    pub fn open(engine: &Arc<MemoryEngine>) -> Server {
        let shared = Shared::new(
            crate::config::Config::default(),
            engine.clone() as Arc<dyn Engine>,
            None,
            0,
        )
        .expect("state");
        let handle = shared
            .clients
            .register("127.0.0.1:1".into(), "127.0.0.1:6379".into(), 0);
        Server {
            shared,
            client: Client::new(handle, true),
        }
    }

    /// A server on a fresh memory engine.
    pub fn fresh() -> Server {
        Server::open(&Arc::new(MemoryEngine::new()))
    }

    /// Runs one command on its own (committed at once).
    pub fn run(&mut self, now_ms: u64, words: &[&str]) -> Frame {
        let mut txn = None;
        let mut ctx = Ctx::new(&self.shared, &mut self.client, now_ms, &mut txn);
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        let reply = execute(&mut ctx, &args);
        ctx.commit_pending().expect("commit");
        reply
    }
}

/// A key of the model: a string or one of the family's collections.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<C> {
    Str,
    Coll(C),
}

/// The model of database 0: keys `k0`..`k3`.
pub type Keys<C> = BTreeMap<u8, Value<C>>;

pub fn key_name(k: u8) -> String {
    format!("k{k}")
}

pub fn wrongtype() -> Frame {
    Frame::error(super::args::ERR_WRONGTYPE)
}

/// Ok when `reply` is `want`, else what `op` got and should have got.
pub fn expect_reply(op: &impl Debug, reply: &Frame, want: Frame) -> Result<(), String> {
    if *reply == want {
        Ok(())
    } else {
        Err(format!("{op:?}: got {reply:?}, want {want:?}"))
    }
}

/// The collection at `k` (None: missing), or Err(WRONGTYPE) for a string.
pub fn coll_in<C: Clone>(keys: &Keys<C>, k: u8) -> Result<Option<C>, Frame> {
    match keys.get(&k) {
        None => Ok(None),
        Some(Value::Str) => Err(wrongtype()),
        Some(Value::Coll(coll)) => Ok(Some(coll.clone())),
    }
}

/// The generic key commands every family's property mixes in.
#[derive(Clone, Debug)]
pub enum KeyOp {
    Del(u8),
    SetString(u8),
    Rename(u8, u8),
    Copy(u8, u8),
    Flush,
}

impl Arbitrary for KeyOp {
    fn arbitrary(g: &mut Gen) -> KeyOp {
        let key = |g: &mut Gen| u8::arbitrary(g) % 4;
        match u8::arbitrary(g) % 9 {
            0 | 1 => KeyOp::Del(key(g)),
            2 | 3 => KeyOp::SetString(key(g)),
            4 | 5 => KeyOp::Rename(key(g), key(g)),
            6 | 7 => KeyOp::Copy(key(g), key(g)),
            _ => KeyOp::Flush,
        }
    }
}

impl KeyOp {
    fn words(&self) -> Vec<String> {
        match self {
            KeyOp::Del(k) => vec!["DEL".into(), key_name(*k)],
            KeyOp::SetString(k) => vec!["SET".into(), key_name(*k), "s".into()],
            KeyOp::Rename(a, b) => vec!["RENAME".into(), key_name(*a), key_name(*b)],
            KeyOp::Copy(a, b) => vec!["COPY".into(), key_name(*a), key_name(*b), "REPLACE".into()],
            KeyOp::Flush => vec!["FLUSHDB".into()],
        }
    }

    /// Applies the command to `keys`; returns Redis' reply.
    fn apply<C: Clone>(&self, keys: &mut Keys<C>) -> Frame {
        match self {
            KeyOp::Del(k) => Frame::Integer(i64::from(keys.remove(k).is_some())),
            KeyOp::SetString(k) => {
                keys.insert(*k, Value::Str);
                Frame::ok()
            }
            KeyOp::Rename(a, b) => match keys.remove(a) {
                None => Frame::error("ERR no such key"),
                Some(value) => {
                    keys.insert(*b, value);
                    Frame::ok()
                }
            },
            KeyOp::Copy(a, b) if a == b => {
                Frame::error("ERR source and destination objects are the same")
            }
            KeyOp::Copy(a, _) if !keys.contains_key(a) => Frame::Integer(0),
            KeyOp::Copy(a, b) => {
                if let Some(value) = keys.get(a).cloned() {
                    keys.insert(*b, value);
                }
                Frame::Integer(1)
            }
            KeyOp::Flush => {
                keys.clear();
                Frame::ok()
            }
        }
    }
}

/// One random command: the family's own or a generic key command.
#[derive(Clone, Debug)]
pub enum Op<F> {
    Family(F),
    Key(KeyOp),
}

impl<F: Arbitrary> Arbitrary for Op<F> {
    fn arbitrary(g: &mut Gen) -> Op<F> {
        if u8::arbitrary(g) % 5 == 0 {
            Op::Key(KeyOp::arbitrary(g))
        } else {
            Op::Family(F::arbitrary(g))
        }
    }
}

/// A family of collection commands and its model.
pub trait Family: 'static {
    /// The model of one collection.
    type Coll: Clone + Debug + PartialEq;
    type Op: Arbitrary + Debug;
    /// What TYPE replies for the family's keys.
    const TYPE: &'static str;
    /// Where members live: each partition holds one entry per live member.
    const PARTITIONS: &'static [Partition] = &[Partition::Data];
    /// The command that performs `op`.
    fn words(op: &Self::Op) -> Vec<String>;
    /// Applies `op` given the server's `reply`; an error when the reply is
    /// not what the model predicts.
    fn apply(keys: &mut Keys<Self::Coll>, op: &Self::Op, reply: &Frame) -> Result<(), String>;
    /// Compares the collection at `key` with the model.
    fn check(server: &mut Server, key: &str, coll: &Self::Coll, now: u64) -> Result<(), String>;
    /// Number of members (elements) of a collection.
    fn members(coll: &Self::Coll) -> usize;
}

fn words<F: Family>(op: &Op<F::Op>) -> Vec<String> {
    match op {
        Op::Family(op) => F::words(op),
        Op::Key(op) => op.words(),
    }
}

fn apply<F: Family>(keys: &mut Keys<F::Coll>, op: &Op<F::Op>, reply: &Frame) -> Result<(), String> {
    match op {
        Op::Family(op) => F::apply(keys, op, reply),
        Op::Key(op) => {
            let want = op.apply(keys);
            expect_reply(op, reply, want)
        }
    }
}

/// Compares every key's type, and every collection, with the model.
fn check<F: Family>(server: &mut Server, keys: &Keys<F::Coll>, now: u64) -> Result<(), String> {
    for k in 0..4u8 {
        let key = key_name(k);
        let kind = server.run(now, &["TYPE", &key]);
        match keys.get(&k) {
            None if kind == Frame::simple("none") => {}
            Some(Value::Str) if kind == Frame::simple("string") => {}
            Some(Value::Coll(coll)) if kind == Frame::simple(F::TYPE) => {
                F::check(server, &key, coll, now)?
            }
            want => return Err(format!("{key}: TYPE {kind:?}, model {want:?}")),
        }
    }
    Ok(())
}

/// Runs one pipeline in one transaction and commits it.
fn run_pipeline<F: Family>(
    server: &mut Server,
    keys: &mut Keys<F::Coll>,
    pipeline: &Pipeline<Op<F::Op>>,
    now: u64,
) -> Result<(), String> {
    let mut txn = Some(server.shared.store.begin(now));
    for (op, rollback) in &pipeline.ops {
        let args: Vec<Bytes> = words::<F>(op).into_iter().map(Bytes::from).collect();
        let savepoint = txn.as_ref().map(|t| t.savepoint());
        let mut ctx = Ctx::new(&server.shared, &mut server.client, now, &mut txn);
        let reply = execute(&mut ctx, &args);
        match (rollback, savepoint, txn.as_mut()) {
            (true, Some(savepoint), Some(open)) => open.rollback_to(savepoint),
            _ => apply::<F>(keys, op, &reply)?,
        }
    }
    if let Some(txn) = txn.take() {
        txn.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs `pipelines` against a fresh server and the model of family `F`.
fn run<F: Family>(pipelines: &[Pipeline<Op<F::Op>>]) -> Result<(), String> {
    let engine = Arc::new(MemoryEngine::new());
    let mut server = Server::open(&engine);
    let mut keys = Keys::new();
    let now = 1_000_000u64;
    for pipeline in pipelines {
        run_pipeline::<F>(&mut server, &mut keys, pipeline, now)?;
        if pipeline.sweep {
            let store = &server.shared.store;
            while store.sweep_dead(7).map_err(|e| e.to_string())? > 0 {}
        }
        if pipeline.reopen {
            drop(server);
            server = Server::open(&engine);
        }
        check::<F>(&mut server, &keys, now)?;
    }
    let store = &server.shared.store;
    while store.sweep_dead(1000).map_err(|e| e.to_string())? > 0 {}
    let live: usize = keys
        .values()
        .map(|value| match value {
            Value::Coll(coll) => F::members(coll),
            Value::Str => 0,
        })
        .sum();
    for partition in F::PARTITIONS {
        let stored = store
            .partition_entries(*partition)
            .map_err(|e| e.to_string())?;
        if stored != live {
            return Err(format!("{stored} {partition:?} entries, {live} live"));
        }
    }
    if store.reclaim_pending() != 0 {
        return Err(format!("{} reclaims pending", store.reclaim_pending()));
    }
    if store.counts(0).keys != keys.len() as u64 {
        return Err(format!("{:?} vs {} keys", store.counts(0), keys.len()));
    }
    Ok(())
}

/// Checks family `F` against its model under 200 random pipeline sequences.
pub fn property<F: Family>() {
    fn prop<F: Family>(pipelines: Vec<Pipeline<Op<F::Op>>>) -> bool {
        match run::<F>(&pipelines) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}: {pipelines:?}");
                false
            }
        }
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop::<F> as fn(Vec<Pipeline<Op<F::Op>>>) -> bool);
}
