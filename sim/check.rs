//! Ground truth the simulator keeps, and the invariants checked against it.

use std::collections::BTreeMap;

use redstone::cluster::{NodeId, SlotSet};
use redstone::slot::SLOT_COUNT;

use crate::world::World;

/// What really happened, independent of any node's view.
pub struct Ground {
    node_timeout: u64,
    /// `last_heard[to][from]`: last delivery from → to.
    last_heard: Vec<Vec<u64>>,
    /// `gaps[to][from]`: silences of at least half a node timeout, (start, end).
    gaps: Vec<Vec<Vec<(u64, u64)>>>,
    /// Winner of each election epoch.
    pub winners: BTreeMap<u64, usize>,
    /// Promotions seen: (time, replica, old master index).
    pub promotions: Vec<(u64, usize, Option<usize>)>,
    /// Each node's last reported cluster state and since when.
    pub state: Vec<(bool, u64)>,
    /// Whether each node's promotion needs no failure (manual failover).
    pub manual: Vec<bool>,
}

impl Ground {
    pub fn new(n: usize, node_timeout: u64, now: u64) -> Ground {
        Ground {
            node_timeout,
            last_heard: vec![vec![now; n]; n],
            gaps: vec![vec![Vec::new(); n]; n],
            winners: BTreeMap::new(),
            promotions: Vec::new(),
            state: vec![(false, now); n],
            manual: vec![false; n],
        }
    }

    pub fn delivered(&mut self, from: usize, to: usize, at: u64) {
        let last = self.last_heard[to][from];
        if at.saturating_sub(last) >= self.node_timeout / 2 {
            self.gaps[to][from].push((last, at));
        }
        self.last_heard[to][from] = at;
    }

    pub fn crashed(&mut self, _i: usize, _at: u64) {}

    /// A restarted node hears nothing from before its crash.
    pub fn restarted(&mut self, i: usize, at: u64) {
        for from in 0..self.last_heard.len() {
            let last = self.last_heard[i][from];
            if at.saturating_sub(last) >= self.node_timeout / 2 {
                self.gaps[i][from].push((last, at));
            }
            self.last_heard[i][from] = at;
        }
        self.state[i] = (false, at);
    }

    pub fn state_changed(&mut self, i: usize, ok: bool, at: u64) {
        self.state[i] = (ok, at);
    }

    /// The longest silence of `from` as heard by `to` overlapping
    /// `[since, now]` (an ongoing one counts up to `now`).
    fn longest_silence(&self, to: usize, from: usize, since: u64, now: u64) -> u64 {
        let ongoing = now.saturating_sub(self.last_heard[to][from]);
        self.gaps[to][from]
            .iter()
            .filter(|(_, end)| *end >= since)
            .map(|(start, end)| end - start)
            .max()
            .unwrap_or(0)
            .max(ongoing)
    }

    /// Replica `replica` just became a master, replacing `old`.
    pub fn promotion(
        &mut self,
        now: u64,
        replica: usize,
        old: Option<usize>,
        epoch: u64,
        seed: u64,
    ) {
        self.promotions.push((now, replica, old));
        if let Some(prev) = self.winners.insert(epoch, replica) {
            assert!(
                prev == replica,
                "seed {seed}: two replicas (n{prev}, n{replica}) won elections for epoch {epoch}"
            );
        }
    }
}

/// After node `i` handled an input: no two masters (by their own claims)
/// may claim one slot with the same configEpoch.
pub fn same_epoch_claims(world: &World, i: usize) {
    let Some(me) = world.node(i) else {
        return;
    };
    if me.master_of_myself().is_some() || me.my_slots().is_empty() {
        return;
    }
    for j in 0..world.nodes.len() {
        let Some(other) = world.node(j) else {
            continue;
        };
        if j == i || other.master_of_myself().is_some() {
            continue;
        }
        if other.my_config_epoch() == me.my_config_epoch()
            && other.my_slots().intersects(me.my_slots())
        {
            panic!(
                "seed {}: n{i} and n{j} both claim slots {:?} with configEpoch {}",
                world.seed,
                first_common(me.my_slots(), other.my_slots()),
                me.my_config_epoch()
            );
        }
    }
}

fn first_common(a: &SlotSet, b: &SlotSet) -> Option<u16> {
    a.iter().find(|&s| b.contains(s))
}

/// Replica `replica` just replaced `old`: as many nodes as a majority of the
/// `size` slot-owning masters (as last seen) must have been serving slots
/// recently and have heard nothing from `old` for at least a node timeout,
/// recently. The replica itself counts when it was such a master: an old
/// master back from a partition still believes it serves its slots, and
/// reports failures as one, until it learns it was replaced (as in Redis). "Recently" is a window covering failure report
/// validity, FAIL undo time and election retries: failure reports of a
/// master that just lost its slots to a failover still count, as in Redis.
pub fn promotion_justified(world: &World, replica: usize, old: Option<usize>, size: usize) {
    if world.ground.manual[replica] {
        return;
    }
    let Some(old) = old else {
        panic!(
            "seed {}: n{replica} promoted, replacing an unknown master",
            world.seed
        );
    };
    let nt = world.node_timeout;
    let window = 14 * nt + 10_000;
    let at = world.now;
    let masters: Vec<usize> = (0..world.nodes.len())
        .filter(|&j| j != old)
        .filter(|&j| world.nodes[j].last_claim + window >= at && world.nodes[j].last_claim > 0)
        .collect();
    let silent: Vec<usize> = masters
        .iter()
        .copied()
        .filter(|&j| {
            world
                .ground
                .longest_silence(j, old, at.saturating_sub(window), at)
                + 50
                >= nt
        })
        .collect();
    assert!(
        silent.len() > size / 2,
        "seed {}: n{replica} replaced n{old} at {} but only {silent:?} of recent masters {masters:?} (size {size}) lost it for {nt} ms",
        world.seed,
        at - crate::world::EPOCH_MS
    );
}

/// Converged: every live node knows every live node, all agree on one slot
/// map covering all slots, each slot's owner claims it itself, and every
/// live node reports state ok.
pub fn converged(world: &World) -> Result<(), String> {
    let live: Vec<usize> = (0..world.nodes.len()).filter(|&i| world.alive(i)).collect();
    let ids: Vec<NodeId> = live.iter().filter_map(|&i| world.id(i)).collect();
    for &i in &live {
        let node = world.node(i).expect("live");
        if !node.state_ok() {
            let view: Vec<String> = node
                .records()
                .iter()
                .map(|r| {
                    format!(
                        "{:?} {:?} slots={} ping={} pong={}",
                        r.id,
                        r.flags,
                        r.slots.len(),
                        r.ping_sent_ms,
                        r.pong_received_ms
                    )
                })
                .collect();
            return Err(format!(
                "n{i} reports cluster state fail; its view: {view:#?}"
            ));
        }
        for id in &ids {
            if *id != node.myself() && !node.knows(*id) {
                return Err(format!("n{i} does not know {id:?}"));
            }
        }
        if node.known_nodes() != live.len() {
            return Err(format!(
                "n{i} knows {} nodes, {} live",
                node.known_nodes(),
                live.len()
            ));
        }
    }
    // Each node's slot map as "master → slots".
    let mut reference: Option<(usize, BTreeMap<NodeId, SlotSet>)> = None;
    for &i in &live {
        let records = world.node(i).expect("live").records();
        // Everyone agrees on every live node's role.
        for r in &records {
            let Some(node) = world.index_of(r.id).and_then(|j| world.node(j)) else {
                continue;
            };
            if r.master != node.master_of_myself() {
                return Err(format!("n{i} thinks {:?} replicates {:?}", r.id, r.master));
            }
        }
        let map: BTreeMap<NodeId, SlotSet> = records
            .into_iter()
            .filter(|r| !r.slots.is_empty())
            .map(|r| (r.id, r.slots))
            .collect();
        match &reference {
            None => reference = Some((i, map)),
            Some((r, m)) if *m != map => {
                return Err(format!(
                    "n{i} and n{r} disagree on the slot map: {map:?} vs {m:?}"
                ));
            }
            Some(_) => {}
        }
    }
    let Some((_, map)) = reference else {
        return Err("no live node".into());
    };
    let mut covered = 0;
    for (owner, slots) in &map {
        covered += slots.len();
        let Some((j, node)) = world
            .index_of(*owner)
            .and_then(|j| Some((j, world.node(j)?)))
        else {
            return Err(format!("{owner:?} serves slots but is dead or unknown"));
        };
        if node.master_of_myself().is_some() || node.my_slots() != slots {
            return Err(format!("n{j} does not claim the slots others give it"));
        }
    }
    // Claims are one node's own view: disjoint per node, so the sum counts.
    if covered != usize::from(SLOT_COUNT) {
        return Err(format!("{covered} slots covered"));
    }
    Ok(())
}
