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
use quickcheck::{Arbitrary, QuickCheck};
use std::fmt::Debug;
use std::sync::Arc;

/// A server state on an engine, with one client.
pub struct Server {
    pub shared: Arc<Shared>,
    pub client: Client,
}

impl Server {
    pub fn open(engine: &Arc<MemoryEngine>) -> Server {
        let shared = crate::server::build_shared(
            crate::config::Config::default(),
            engine.clone() as Arc<dyn Engine>,
            None,
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

    /// Runs one command on its own (committed at once).
    pub fn run(&mut self, now_ms: u64, words: &[&str]) -> Frame {
        let mut txn = None;
        let mut ctx = Ctx {
            shared: &self.shared,
            client: &mut self.client,
            now_ms,
            txn: &mut txn,
        };
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        let reply = execute(&mut ctx, &args);
        ctx.commit_pending().expect("commit");
        reply
    }
}

/// A family's model of the keyspace.
pub trait FamilyModel: Default {
    type Op: Arbitrary + Debug;
    /// The command that performs `op`.
    fn words(op: &Self::Op) -> Vec<String>;
    /// Applies `op` given the server's `reply`; an error when the reply is
    /// not what the model predicts.
    fn apply(&mut self, op: &Self::Op, reply: &Frame) -> Result<(), String>;
    /// Compares every key of the server with the model.
    fn check(&self, server: &mut Server, now: u64) -> Result<(), String>;
    /// Live members (elements) of all collections.
    fn live_members(&self) -> usize;
    fn keys(&self) -> usize;
    /// Where members live: each partition holds one entry per live member.
    const PARTITIONS: &'static [Partition] = &[Partition::Data];
}

/// Runs one pipeline in one transaction and commits it.
fn run_pipeline<M: FamilyModel>(
    server: &mut Server,
    model: &mut M,
    pipeline: &Pipeline<M::Op>,
    now: u64,
) -> Result<(), String> {
    let mut txn = Some(server.shared.store.begin(now));
    for (op, rollback) in &pipeline.ops {
        let args: Vec<Bytes> = M::words(op).into_iter().map(Bytes::from).collect();
        let savepoint = txn.as_ref().map(|t| t.savepoint());
        let mut ctx = Ctx {
            shared: &server.shared,
            client: &mut server.client,
            now_ms: now,
            txn: &mut txn,
        };
        let reply = execute(&mut ctx, &args);
        match (rollback, savepoint, txn.as_mut()) {
            (true, Some(savepoint), Some(open)) => open.rollback_to(savepoint),
            _ => model.apply(op, &reply)?,
        }
    }
    if let Some(txn) = txn.take() {
        txn.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs `pipelines` against a fresh server and the model `M`.
pub fn run<M: FamilyModel>(pipelines: &[Pipeline<M::Op>]) -> Result<(), String> {
    let engine = Arc::new(MemoryEngine::new());
    let mut server = Server::open(&engine);
    let mut model = M::default();
    let now = 1_000_000u64;
    for pipeline in pipelines {
        run_pipeline(&mut server, &mut model, pipeline, now)?;
        if pipeline.sweep {
            let store = &server.shared.store;
            while store.sweep_dead(7).map_err(|e| e.to_string())? > 0 {}
        }
        if pipeline.reopen {
            drop(server);
            server = Server::open(&engine);
        }
        model.check(&mut server, now)?;
    }
    let store = &server.shared.store;
    while store.sweep_dead(1000).map_err(|e| e.to_string())? > 0 {}
    let live = model.live_members();
    for partition in M::PARTITIONS {
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
    if store.counts(0).keys != model.keys() as u64 {
        return Err(format!("{:?} vs {} keys", store.counts(0), model.keys()));
    }
    Ok(())
}

/// Checks `M` against the server under 200 random pipeline sequences.
pub fn property<M: FamilyModel + 'static>()
where
    M::Op: Clone + Send + 'static,
{
    fn prop<M: FamilyModel>(pipelines: Vec<Pipeline<M::Op>>) -> bool {
        match run::<M>(&pipelines) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}: {pipelines:?}");
                false
            }
        }
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop::<M> as fn(Vec<Pipeline<M::Op>>) -> bool);
}
