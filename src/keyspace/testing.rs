//! Test support shared by the model-based properties of the keyspace and of
//! the collection commands.

use quickcheck::{Arbitrary, Gen};

/// Random operations run in one transaction, each maybe rolled back to the
/// savepoint taken before it (`true`), then maybe a sweep of dead versions
/// and a reopen of the store.
#[derive(Clone, Debug)]
pub struct Pipeline<Op> {
    pub ops: Vec<(Op, bool)>,
    pub sweep: bool,
    pub reopen: bool,
}

impl<Op: Arbitrary> Arbitrary for Pipeline<Op> {
    fn arbitrary(g: &mut Gen) -> Pipeline<Op> {
        let len = usize::arbitrary(g) % 6 + 1;
        Pipeline {
            ops: (0..len)
                .map(|_| (Op::arbitrary(g), u8::arbitrary(g) % 5 == 0))
                .collect(),
            sweep: bool::arbitrary(g),
            reopen: u8::arbitrary(g) % 4 == 0,
        }
    }
}

/// Runs one step of active expiry and commits it: how many expire-index
/// entries it processed, and its transaction's events and effects.
pub fn expire(
    store: &super::Store,
    now_ms: u64,
    budget: usize,
) -> (usize, Vec<crate::notify::Event>, Vec<super::Effect>) {
    let cycle = store.expire_cycle(now_ms, budget).expect("expire cycle");
    let (mut events, mut effects) = (Vec::new(), Vec::new());
    if let Some(mut txn) = cycle.txn {
        events = txn.take_events();
        effects = txn.take_effects();
        txn.commit().expect("commit");
    }
    (cycle.processed, events, effects)
}
