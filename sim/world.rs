//! The simulated world: nodes, their clocks, a lossy network and a virtual
//! time event queue ordered by (time, sequence). Everything random comes
//! from one seeded RNG, so a seed replays exactly.
//!
//! Nodes are driven exactly as the production bus drives them: after every
//! input `cluster::shell::drain` says what to do, messages travel as the
//! wire codec's bytes, and a restart reads the nodes.conf text the node last
//! saved through `cluster::shell::start`.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redstone::cluster::shell::{self, Plan};
use redstone::cluster::{codec, Config, Event, Node, NodeId};

use crate::check::Ground;

/// Virtual time starts at a unix-like instant, as the real driver's does.
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// How messages travel.
#[derive(Clone, Debug)]
pub struct NetParams {
    pub loss: f64,
    pub duplicate: f64,
    pub min_delay: u64,
    pub max_delay: u64,
}

impl Default for NetParams {
    fn default() -> NetParams {
        NetParams {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: 1,
            max_delay: 10,
        }
    }
}

/// A node's clock: local = t + skew + (t - EPOCH) * drift_ppm / 1e6.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub skew: i64,
    pub drift_ppm: i64,
}

impl Clock {
    pub fn local(&self, t: u64) -> u64 {
        let elapsed = (t - EPOCH_MS) as i64;
        (t as i64 + self.skew + elapsed * self.drift_ppm / 1_000_000) as u64
    }

    /// The first virtual time whose local time is at least `local`.
    pub fn virtual_at(&self, local: u64) -> u64 {
        let rel = local as i64 - self.skew - EPOCH_MS as i64;
        let mut t =
            (EPOCH_MS as i64 + rel * 1_000_000 / (1_000_000 + self.drift_ppm)).max(0) as u64;
        while self.local(t) < local {
            t += 1;
        }
        while t > EPOCH_MS && self.local(t - 1) >= local {
            t -= 1;
        }
        t
    }
}

pub struct SimNode {
    pub node: Option<Node>,
    pub config: Config,
    /// The nodes.conf text the node last saved with a sync: what it
    /// restarts from after a power cut.
    pub nodes_conf: Option<String>,
    /// A later save written without a sync (`Plan::sync`): what it
    /// restarts from after a process crash, lost in a power cut.
    pub unsynced: Option<String>,
    pub clock: Clock,
    /// Virtual time of the scheduled timer and its generation.
    pub timer: Option<u64>,
    pub timer_gen: u64,
    pub restarts: u64,
    /// The node's id as last seen (kept while it is down).
    pub last_id: NodeId,
    /// Whether it was a master serving slots, as last seen.
    pub claims_slots: bool,
    /// Last virtual time it was seen as a master serving slots.
    pub last_claim: u64,
}

enum Ev {
    Deliver {
        from: usize,
        to: usize,
        /// One frame of the wire codec, as the node's drain encoded it.
        frame: Vec<u8>,
    },
    Timer {
        node: usize,
        gen: u64,
    },
}

pub struct World {
    pub seed: u64,
    pub rng: StdRng,
    pub now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    pub nodes: Vec<SimNode>,
    pub net: NetParams,
    /// `blocked[from][to]`: messages from → to are dropped.
    pub blocked: Vec<Vec<bool>>,
    addresses: HashMap<(String, u16), usize>,
    pub ground: Ground,
    pub trace: bool,
    /// FNV-1a over every processed event: the determinism fingerprint.
    pub trace_hash: u64,
    pub node_timeout: u64,
}

impl World {
    pub fn new(seed: u64, n: usize, node_timeout: u64, jitter: bool) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut nodes = Vec::new();
        let mut addresses = HashMap::new();
        for i in 0..n {
            let config = Config {
                node_timeout,
                require_full_coverage: true,
                migration_barrier: 1,
                replica_no_failover: false,
                ip: format!("127.0.0.{}", i + 1),
                port: 7000 + i as u16,
                bus_port: 17000 + i as u16,
                hostname: String::new(),
            };
            addresses.insert((config.ip.clone(), config.bus_port), i);
            let clock = if jitter {
                Clock {
                    skew: rng.random_range(-5_000..5_000),
                    drift_ppm: rng.random_range(-1_000..1_000),
                }
            } else {
                Clock {
                    skew: 0,
                    drift_ppm: 0,
                }
            };
            let node = shell::start(config.clone(), None, rng.random(), clock.local(EPOCH_MS))
                .expect("a fresh node always starts");
            let last_id = node.myself();
            nodes.push(SimNode {
                last_id,
                claims_slots: false,
                last_claim: 0,
                node: Some(node),
                config,
                nodes_conf: None,
                unsynced: None,
                clock,
                timer: None,
                timer_gen: 0,
                restarts: 0,
            });
        }
        let mut world = World {
            seed,
            rng,
            now: EPOCH_MS,
            seq: 0,
            queue: BTreeMap::new(),
            nodes,
            net: NetParams::default(),
            blocked: vec![vec![false; n]; n],
            addresses,
            ground: Ground::new(n, node_timeout, EPOCH_MS),
            trace: std::env::var("SIM_TRACE").is_ok_and(|v| v == "1"),
            trace_hash: 0xcbf29ce484222325,
            node_timeout,
        };
        for i in 0..n {
            world.drain(i);
        }
        world
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at, self.seq), ev);
    }

    fn hash(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.trace_hash ^= u64::from(b);
            self.trace_hash = self.trace_hash.wrapping_mul(0x100000001b3);
        }
    }

    pub fn local_now(&self, i: usize) -> u64 {
        self.nodes[i].clock.local(self.now)
    }

    pub fn node(&self, i: usize) -> Option<&Node> {
        self.nodes[i].node.as_ref()
    }

    pub fn alive(&self, i: usize) -> bool {
        self.nodes[i].node.is_some()
    }

    pub fn id(&self, i: usize) -> Option<NodeId> {
        self.node(i).map(Node::myself)
    }

    /// Runs `f` on node `i` (if alive), then drains its outputs and checks
    /// the invariants an input can break.
    pub fn with_node<T>(&mut self, i: usize, f: impl FnOnce(&mut Node, u64) -> T) -> Option<T> {
        let local = self.local_now(i);
        let node = self.nodes[i].node.as_mut()?;
        let master_before = node.master_of_myself();
        let out = f(node, local);
        let master_after = node.master_of_myself();
        let is_master = master_after.is_none();
        let epoch = node.my_config_epoch();
        if let (Some(old), true) = (master_before, is_master) {
            let promoted = self.index_of(old);
            let masters: Vec<usize> = (0..self.nodes.len())
                .filter(|&j| j != i && self.nodes[j].claims_slots)
                .collect();
            self.ground
                .promotion(self.now, i, promoted, epoch, self.seed);
            crate::check::promotion_justified(self, i, promoted, masters.len());
        }
        self.drain(i);
        crate::check::same_epoch_claims(self, i);
        Some(out)
    }

    /// The node that has (or had, if it is down) this id.
    pub fn index_of(&self, id: NodeId) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.nodes[i].last_id == id)
    }

    /// The driver's turn after an input: `shell::drain`, then its plan in
    /// order (save, send, events, timer), as the production bus does.
    fn drain(&mut self, i: usize) {
        let Some(node) = self.nodes[i].node.as_mut() else {
            return;
        };
        let id = node.myself();
        let claims = node.master_of_myself().is_none() && !node.my_slots().is_empty();
        let Plan {
            save,
            sync,
            sends,
            events,
            wake_at,
        } = shell::drain(node);
        self.nodes[i].last_id = id;
        self.nodes[i].claims_slots = claims;
        if claims {
            self.nodes[i].last_claim = self.now;
        }
        // Written at once; synced or not, as the plan says (see `crash`).
        if save.is_some() {
            if sync {
                self.nodes[i].nodes_conf = save;
                self.nodes[i].unsynced = None;
            } else {
                self.nodes[i].unsynced = save;
            }
        }
        for out in sends {
            let Some(&to) = self.addresses.get(&(out.ip, out.bus_port)) else {
                continue;
            };
            self.send(i, to, out.frame);
        }
        let mut paused = false;
        for e in events {
            if self.trace {
                match &e {
                    Event::Log { text, .. } => eprintln!("{:>8} n{i}: {text}", self.now - EPOCH_MS),
                    other => eprintln!("{:>8} n{i}: {other:?}", self.now - EPOCH_MS),
                }
            }
            match e {
                Event::StateChanged { ok } => self.ground.state_changed(i, ok, self.now),
                // This driver has no writes in flight: paused at once.
                Event::ClientsPaused { until: Some(_) } => paused = true,
                _ => {}
            }
        }
        if let Some(local) = wake_at {
            let at = self.nodes[i].clock.virtual_at(local).max(self.now);
            if self.nodes[i].timer != Some(at) {
                self.nodes[i].timer = Some(at);
                self.nodes[i].timer_gen += 1;
                let gen = self.nodes[i].timer_gen;
                self.push(at, Ev::Timer { node: i, gen });
            }
        }
        if paused {
            if let Some(node) = self.nodes[i].node.as_mut() {
                node.writes_paused();
                self.drain(i);
            }
        }
    }

    fn send(&mut self, from: usize, to: usize, frame: Vec<u8>) {
        if self.blocked[from][to] || self.rng.random_bool(self.net.loss) {
            return;
        }
        let copies = if self.rng.random_bool(self.net.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self
                .rng
                .random_range(self.net.min_delay..=self.net.max_delay);
            self.push(
                self.now + delay,
                Ev::Deliver {
                    from,
                    to,
                    frame: frame.clone(),
                },
            );
        }
    }

    /// Processes events up to virtual time `until`.
    pub fn run_until(&mut self, until: u64) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > until {
                break;
            }
            let ((at, _), ev) = entry.remove_entry();
            self.now = at;
            match ev {
                Ev::Deliver { from, to, frame } => {
                    if self.blocked[from][to] || !self.alive(to) || !self.alive(from) {
                        continue;
                    }
                    // Our own codec wrote this frame: failing to read it
                    // back is a bug, never a network fault to tolerate.
                    let message = match codec::decode(&frame) {
                        Ok(Some((message, used))) if used == frame.len() => message,
                        other => panic!(
                            "seed {}: n{from} -> n{to}: a frame of {} bytes does not decode \
                             to one message: {other:?}",
                            self.seed,
                            frame.len()
                        ),
                    };
                    self.ground.delivered(from, to, at);
                    let kind = message.body.kind_name();
                    let mut h = Vec::with_capacity(64);
                    h.extend_from_slice(&at.to_le_bytes());
                    h.extend_from_slice(&[from as u8, to as u8]);
                    h.extend_from_slice(kind.as_bytes());
                    self.hash(&h);
                    if self.trace && kind != "ping" && kind != "pong" {
                        eprintln!("{:>8} n{from} -> n{to}: {kind}", at - EPOCH_MS);
                    }
                    let ip = self.nodes[from].config.ip.clone();
                    self.with_node(to, |node, now| node.handle_message(now, &ip, message));
                }
                Ev::Timer { node, gen } => {
                    if self.nodes[node].timer_gen != gen || !self.alive(node) {
                        continue;
                    }
                    self.nodes[node].timer = None;
                    let mut h = at.to_le_bytes().to_vec();
                    h.push(node as u8);
                    self.hash(&h);
                    self.with_node(node, |n, now| n.handle_timeout(now));
                }
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now + ms);
    }

    pub fn crash(&mut self, i: usize) {
        if self.trace {
            eprintln!("{:>8} n{i}: CRASH", self.now - EPOCH_MS);
        }
        // Half the crashes are power cuts, which lose the unsynced save.
        let unsynced = self.nodes[i].unsynced.take();
        if unsynced.is_some() && self.rng.random_bool(0.5) {
            self.nodes[i].nodes_conf = unsynced;
        }
        self.nodes[i].node = None;
        self.nodes[i].timer = None;
        self.nodes[i].timer_gen += 1;
        self.ground.crashed(i, self.now);
    }

    /// Restarts from the nodes.conf text the node last saved, read as the
    /// production start-up reads it.
    pub fn restart(&mut self, i: usize) {
        if self.alive(i) {
            return;
        }
        let seed = self.rng.random();
        let local = self.local_now(i);
        let text = self.nodes[i].nodes_conf.as_deref();
        assert!(text.is_some(), "seed {}: n{i} never saved", self.seed);
        let node = shell::start(self.nodes[i].config.clone(), text, seed, local)
            .unwrap_or_else(|e| panic!("seed {}: n{i} cannot restart: {e}", self.seed));
        if self.trace {
            eprintln!("{:>8} n{i}: RESTART", self.now - EPOCH_MS);
        }
        self.nodes[i].node = Some(node);
        self.nodes[i].restarts += 1;
        self.ground.restarted(i, self.now);
        self.drain(i);
    }

    /// Steps node i's clock by `delta` ms (an NTP step, a resumed VM).
    /// The node's time never runs backwards (`Node::tick` keeps the
    /// latest), so a step back makes it stand still a while.
    pub fn jump_clock(&mut self, i: usize, delta: i64) {
        if self.trace {
            eprintln!("{:>8} n{i}: CLOCK {delta:+} ms", self.now - EPOCH_MS);
        }
        self.nodes[i].clock.skew += delta;
    }

    /// Cuts or restores both directions between the two groups.
    pub fn partition(&mut self, group: &[usize]) {
        let n = self.nodes.len();
        for a in 0..n {
            for b in 0..n {
                if group.contains(&a) != group.contains(&b) {
                    self.blocked[a][b] = true;
                }
            }
        }
    }

    pub fn heal(&mut self) {
        for row in &mut self.blocked {
            row.fill(false);
        }
        self.net = NetParams::default();
    }

    /// Whether a majority (by count) of the other live masters have `i` in
    /// their table as a known node: used by setup.
    pub fn knows(&self, i: usize, id: NodeId) -> bool {
        self.node(i).is_some_and(|n| n.knows(id))
    }
}
