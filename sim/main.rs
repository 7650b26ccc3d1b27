//! Pure, seeded simulation of a Redstone cluster: `cluster::Node`s on a
//! simulated network in virtual time, with faults, checked against
//! invariants. A failing seed prints its replay command; `SIM_SEED=n` reruns
//! just that seed and `SIM_TRACE=1` prints its event trace.

mod check;
mod world;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::seq::SliceRandom;
use rand::Rng;
use redstone::cluster::{FailoverMode, NodeId, SlotSet};
use redstone::slot::SLOT_COUNT;

use world::{World, EPOCH_MS};

/// Runs `count` seeds of a scenario (or only `SIM_SEED`), turning a panic
/// into one that names the replay command.
fn run_seeds(name: &str, count: u64, scenario: fn(u64)) {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.parse().expect("SIM_SEED is a number");
        scenario(seed);
        return;
    }
    let base = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000
        * 1000;
    // Seeds are independent: spread them over the cores, so the slowest
    // scenario does not run alone on one core at the end.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let failure = std::sync::Mutex::new(None::<(u64, String)>);
    std::thread::scope(|scope| {
        for t in 0..threads as u64 {
            let failure = &failure;
            scope.spawn(move || {
                for seed in (base + t..base + count).step_by(threads) {
                    if failure.lock().map_or(true, |f| f.is_some()) {
                        return;
                    }
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| scenario(seed))) {
                        let text = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert((seed, text));
                        }
                    }
                }
            });
        }
    });
    if let Some((seed, text)) = failure.into_inner().ok().flatten() {
        panic!("{text}\nreplay: SIM_SEED={seed} cargo test --profile sim --test sim {name}");
    }
}

/// How many seeds each scenario runs (`SIM_SEEDS` scales it for soaking).
fn seeds(default: u64) -> u64 {
    std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Which master each replica follows.
struct Layout {
    masters: Vec<usize>,
    replicas: Vec<(usize, usize)>,
}

impl Layout {
    fn replicas_of(&self, master: usize) -> Vec<usize> {
        self.replicas
            .iter()
            .filter(|(_, m)| *m == master)
            .map(|(r, _)| *r)
            .collect()
    }
}

struct Setup {
    n: usize,
    masters: usize,
    node_timeout: u64,
    jitter: bool,
    set_epochs: bool,
}

impl Setup {
    fn random(seed: u64, min_nodes: usize) -> Setup {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed ^ 0x5eed);
        let n = rng.random_range(min_nodes..=10);
        let masters = if n < 6 {
            3
        } else {
            rng.random_range(3..=n / 2)
        };
        Setup {
            n,
            masters,
            node_timeout: [500, 1000, 1500, 2000][rng.random_range(0..4)],
            jitter: rng.random_bool(0.5),
            set_epochs: true,
        }
    }
}

/// Builds a cluster the way `redis-cli --cluster create` does: masters take
/// slot ranges and distinct config epochs, everyone meets node 0, replicas
/// REPLICATE once they know their master; then waits for convergence.
fn build(seed: u64, setup: &Setup) -> (World, Layout) {
    let mut world = World::new(seed, setup.n, setup.node_timeout, setup.jitter);
    let masters: Vec<usize> = (0..setup.masters).collect();
    let replicas: Vec<(usize, usize)> = (setup.masters..setup.n)
        .map(|r| (r, masters[(r - setup.masters) % setup.masters]))
        .collect();
    let total = usize::from(SLOT_COUNT);
    for (k, &m) in masters.iter().enumerate() {
        let slots: Vec<u16> = (k * total / masters.len()..(k + 1) * total / masters.len())
            .map(|s| s as u16)
            .collect();
        world.with_node(m, |node, _| node.add_slots(&slots).expect("fresh slots"));
        if setup.set_epochs {
            world.with_node(m, |node, _| {
                node.set_config_epoch(k as u64 + 1).expect("fresh node")
            });
        }
    }
    for i in 1..setup.n {
        world.with_node(i, |node, now| {
            node.meet(now, "127.0.0.1", 7000, 17000)
                .expect("valid address")
        });
    }
    let mut pending = replicas.clone();
    let deadline = world.now + 30_000;
    while !pending.is_empty() {
        assert!(
            world.now < deadline,
            "seed {seed}: replicas never learned their masters"
        );
        world.run_for(100);
        pending.retain(|&(r, m)| {
            let master = world.id(m).expect("alive");
            if !world.knows(r, master) {
                return true;
            }
            world.with_node(r, |node, _| {
                node.replicate(master.as_bytes()).expect("replicate")
            });
            false
        });
    }
    converge(&mut world, 30_000);
    (world, Layout { masters, replicas })
}

/// Runs until `check::converged` holds, or panics after `max_ms`.
fn converge(world: &mut World, max_ms: u64) -> u64 {
    let start = world.now;
    loop {
        world.run_for(250);
        match check::converged(world) {
            Ok(()) => return world.now - start,
            Err(why) if world.now - start > max_ms => {
                panic!(
                    "seed {}: no convergence {max_ms} ms after healing: {why}",
                    world.seed
                )
            }
            Err(_) => {}
        }
    }
}

/// Heals every fault, restarts crashed nodes, and checks convergence and the
/// promotion invariant.
fn heal_and_check(world: &mut World) {
    world.heal();
    for i in 0..world.nodes.len() {
        world.restart(i);
    }
    let nt = world.node_timeout;
    converge(world, 30_000 + 10 * nt);
}

/// The masters serving slots now, by their own claims.
fn claimers(world: &World) -> BTreeMap<NodeId, SlotSet> {
    (0..world.nodes.len())
        .filter_map(|i| world.node(i))
        .filter(|n| n.master_of_myself().is_none() && !n.my_slots().is_empty())
        .map(|n| (n.myself(), n.my_slots().clone()))
        .collect()
}

#[test]
fn no_faults_converge() {
    run_seeds("no_faults_converge", seeds(1200), |seed| {
        let (mut world, _) = build(seed, &Setup::random(seed, 3));
        world.run_for(5_000);
        check::converged(&world).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(
            world.ground.promotions.is_empty(),
            "seed {seed}: failover without any fault"
        );
    });
}

#[test]
fn epoch_collision_resolved() {
    run_seeds("epoch_collision_resolved", seeds(800), |seed| {
        let mut setup = Setup::random(seed, 3);
        setup.set_epochs = false;
        let (mut world, _) = build(seed, &setup);
        world.run_for(3_000);
        let claims = claimers(&world);
        let mut epochs: Vec<u64> = claims
            .keys()
            .filter_map(|id| world.index_of(*id))
            .filter_map(|i| world.node(i))
            .map(|n| n.my_config_epoch())
            .collect();
        epochs.sort_unstable();
        let len = epochs.len();
        epochs.dedup();
        assert_eq!(
            epochs.len(),
            len,
            "seed {seed}: masters still share configEpochs: {epochs:?}"
        );
    });
}

#[test]
fn lossy_network_converges() {
    run_seeds("lossy_network_converges", seeds(900), |seed| {
        let (mut world, _) = build(seed, &Setup::random(seed, 3));
        world.net.loss = world.rng.random_range(0.0..0.2);
        world.net.duplicate = world.rng.random_range(0.0..0.1);
        world.net.max_delay = world.rng.random_range(10..100);
        world.run_for(10_000);
        heal_and_check(&mut world);
    });
}

#[test]
fn master_crash_is_failed_over() {
    run_seeds("master_crash_is_failed_over", seeds(1300), |seed| {
        let (mut world, layout) = build(seed, &Setup::random(seed, 4));
        let with_replicas: Vec<usize> = layout
            .masters
            .iter()
            .copied()
            .filter(|&m| !layout.replicas_of(m).is_empty())
            .collect();
        let m = with_replicas[world.rng.random_range(0..with_replicas.len())];
        let old_slots = world.node(m).expect("alive").my_slots().clone();
        world.crash(m);
        let nt = world.node_timeout;
        let start = world.now;
        let replicas = layout.replicas_of(m);
        loop {
            world.run_for(100);
            let taken = replicas.iter().any(|&r| {
                world
                    .node(r)
                    .is_some_and(|n| n.master_of_myself().is_none() && *n.my_slots() == old_slots)
            });
            if taken {
                break;
            }
            assert!(
                world.now - start < 4 * nt + 6_000 + 1_000 * replicas.len() as u64,
                "seed {seed}: master n{m} crashed but no replica took over in {} ms",
                world.now - start
            );
        }
        heal_and_check(&mut world);
        assert!(
            world
                .node(m)
                .is_some_and(|n| n.master_of_myself().is_some()),
            "seed {seed}: the old master n{m} did not rejoin as a replica"
        );
    });
}

#[test]
fn minority_partition_stops_writes() {
    run_seeds("minority_partition_stops_writes", seeds(1300), |seed| {
        let (mut world, layout) = build(seed, &Setup::random(seed, 3));
        let m = layout.masters[world.rng.random_range(0..layout.masters.len())];
        let nt = world.node_timeout;
        world.partition(&[m]);
        let start = world.now;
        let bound = 2 * nt + 500;
        world.run_for(bound);
        let (ok, since) = world.ground.state[m];
        assert!(
            !ok,
            "seed {seed}: n{m} cut off in a minority still accepts writes after {bound} ms"
        );
        assert!(
            since >= start,
            "seed {seed}: n{m} was not ok before the partition"
        );
        let pause = world.rng.random_range(0..4 * nt);
        world.run_for(pause);
        assert!(
            !world.ground.state[m].0,
            "seed {seed}: isolated n{m} became ok again"
        );
        heal_and_check(&mut world);
    });
}

#[test]
fn partition_heal_converges() {
    run_seeds("partition_heal_converges", seeds(900), |seed| {
        let (mut world, _) = build(seed, &Setup::random(seed, 3));
        let n = world.nodes.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut world.rng);
        let cut = world.rng.random_range(1..n);
        world.partition(&order[..cut]);
        let nt = world.node_timeout;
        let pause = world.rng.random_range(nt / 2..10 * nt);
        world.run_for(pause);
        heal_and_check(&mut world);
    });
}

#[test]
fn one_way_partition() {
    run_seeds("one_way_partition", seeds(900), |seed| {
        let (mut world, _) = build(seed, &Setup::random(seed, 3));
        let n = world.nodes.len();
        for a in 0..n {
            for b in 0..n {
                if a != b && world.rng.random_bool(0.2) {
                    world.blocked[a][b] = true;
                }
            }
        }
        let nt = world.node_timeout;
        let pause = world.rng.random_range(nt..10 * nt);
        world.run_for(pause);
        heal_and_check(&mut world);
    });
}

#[test]
fn restart_keeps_config() {
    run_seeds("restart_keeps_config", seeds(900), |seed| {
        let (mut world, _) = build(seed, &Setup::random(seed, 3));
        let n = world.nodes.len();
        for _ in 0..world.rng.random_range(1..4) {
            let i = world.rng.random_range(0..n);
            let Some(node) = world.node(i) else { continue };
            let (id, epoch) = (node.myself(), node.current_epoch());
            world.crash(i);
            let down = world.rng.random_range(10..3 * world.node_timeout);
            world.run_for(down);
            world.restart(i);
            let node = world.node(i).expect("restarted");
            assert_eq!(node.myself(), id, "seed {seed}: n{i} changed id on restart");
            assert!(
                node.current_epoch() >= epoch,
                "seed {seed}: n{i} lost its epoch"
            );
            let up = world.rng.random_range(0..3 * world.node_timeout);
            world.run_for(up);
        }
        heal_and_check(&mut world);
    });
}

#[test]
fn manual_failover() {
    run_seeds("manual_failover", seeds(600), |seed| {
        let (mut world, layout) = build(seed, &Setup::random(seed, 4));
        let (r, m) = layout.replicas[world.rng.random_range(0..layout.replicas.len())];
        let mode = [
            FailoverMode::Default,
            FailoverMode::Force,
            FailoverMode::Takeover,
        ][world.rng.random_range(0..3)];
        world.ground.manual[r] = true;
        world
            .with_node(r, |node, now| node.failover(now, mode))
            .expect("alive")
            .unwrap_or_else(|e| panic!("seed {seed}: CLUSTER FAILOVER {mode:?}: {e}"));
        let start = world.now;
        while world
            .node(r)
            .is_some_and(|n| n.master_of_myself().is_some())
        {
            assert!(
                world.now - start < 6_000,
                "seed {seed}: manual failover {mode:?} never completed"
            );
            world.run_for(50);
        }
        let nt = world.node_timeout;
        converge(&mut world, 10_000 + 10 * nt);
        let old = world.node(m).expect("alive");
        assert_eq!(
            old.master_of_myself(),
            world.id(r),
            "seed {seed}: old master n{m} does not replicate the new one"
        );
    });
}

/// A mix of every fault at random (crashes, restarts, partitions, one-way
/// cuts, clocks stepped back, loss), then heal.
fn chaos(seed: u64) -> u64 {
    let (mut world, _) = build(seed, &Setup::random(seed, 3));
    let n = world.nodes.len();
    let nt = world.node_timeout;
    for _ in 0..world.rng.random_range(2..8) {
        match world.rng.random_range(0..6) {
            0 => {
                let i = world.rng.random_range(0..n);
                world.crash(i);
            }
            1 => {
                let i = world.rng.random_range(0..n);
                world.restart(i);
            }
            2 => {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut world.rng);
                let cut = world.rng.random_range(1..n);
                world.partition(&order[..cut]);
            }
            3 => {
                let (a, b) = (world.rng.random_range(0..n), world.rng.random_range(0..n));
                world.blocked[a][b] = true;
            }
            4 => {
                // An NTP step back, up to three node timeouts. (Steps
                // forward shorten the timeouts a node sees, so it may fail
                // a master over sooner than `check::promotion_justified`,
                // which measures silences in real time, allows.)
                let i = world.rng.random_range(0..n);
                let delta = world.rng.random_range(0..=3 * nt);
                world.jump_clock(i, -(delta as i64));
            }
            _ => {
                world.heal();
                world.net.loss = world.rng.random_range(0.0..0.1);
            }
        }
        let pause = world.rng.random_range(0..4 * nt);
        world.run_for(pause);
    }
    heal_and_check(&mut world);
    world.trace_hash
}

#[test]
fn chaos_converges() {
    run_seeds("chaos_converges", seeds(1200), |seed| {
        chaos(seed);
    });
}

#[test]
fn determinism() {
    run_seeds("determinism", seeds(50), |seed| {
        let first = chaos(seed);
        let second = chaos(seed);
        assert_eq!(first, second, "seed {seed}: two runs of one seed differ");
    });
}

/// A sanity check of the clocks used by the simulator itself.
#[test]
fn clocks_invert() {
    let clock = world::Clock {
        skew: -1234,
        drift_ppm: 777,
    };
    for t in [EPOCH_MS, EPOCH_MS + 1, EPOCH_MS + 123_456] {
        let local = clock.local(t);
        assert_eq!(clock.virtual_at(local), t);
    }
}
