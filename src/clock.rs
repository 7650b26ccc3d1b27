//! The server's two clocks; every reading of the time goes through here.
//!
//! - [`now_ms`] / [`unix_micros`]: the time of day, for what is a time of
//!   day: expiry deadlines, INFO, logs, and client pauses (as in Redis).
//!   It can jump when the system clock is set.
//! - [`monotonic_ms`]: never steps, for timeouts that are durations: the
//!   cluster's timers (node timeouts, failure reports, elections), WAIT's
//!   and the blocking commands' timeouts. In unix milliseconds from when
//!   the process first asked, so CLUSTER NODES shows times as Redis does.
//!   Redis runs these on the time of day, where a clock set back makes an
//!   isolated master take writes past its node timeout.
//!
//! In the madsim build a scenario can make one simulated node's time of
//! day jump ([`jump`]), and the planted bug `ClusterOnWallClock` drives
//! the cluster by the time of day again, which the simulation catches.

use std::time::{SystemTime, UNIX_EPOCH};

/// The time of day in unix microseconds.
pub fn unix_micros() -> u64 {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    micros.saturating_add_signed(jumped_ms() * 1000)
}

/// The time of day in unix milliseconds.
pub fn now_ms() -> u64 {
    unix_micros() / 1000
}

/// A clock that never steps, in unix milliseconds from its first reading.
pub fn monotonic_ms() -> u64 {
    if crate::planted::active(crate::planted::Bug::ClusterOnWallClock) {
        return now_ms();
    }
    monotonic()
}

#[cfg(not(madsim))]
fn monotonic() -> u64 {
    use std::sync::LazyLock;
    use std::time::Instant;
    static START: LazyLock<(u64, Instant)> = LazyLock::new(|| (now_ms(), Instant::now()));
    START.0 + START.1.elapsed().as_millis() as u64
}

/// madsim's simulated time of day never steps by itself (only [`jump`]
/// moves a node's), so without the jumps it is the monotonic clock; a
/// process-wide start would outlive one simulation into the next.
#[cfg(madsim)]
fn monotonic() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(not(madsim))]
fn jumped_ms() -> i64 {
    0
}

#[cfg(madsim)]
thread_local! {
    /// How far each simulated node's time of day was moved, in ms.
    static JUMPS: std::cell::RefCell<std::collections::BTreeMap<madsim::task::NodeId, i64>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

#[cfg(madsim)]
fn jumped_ms() -> i64 {
    JUMPS.with(|jumps| {
        let jumps = jumps.borrow();
        // Only a simulated node's task may ask madsim which node it is.
        if jumps.is_empty() {
            return 0;
        }
        jumps.get(&madsim::plugin::node()).copied().unwrap_or(0)
    })
}

/// Moves the time of day of simulated node `node` by `by_ms` (back when
/// negative), on top of its earlier jumps.
#[cfg(madsim)]
pub fn jump(node: madsim::task::NodeId, by_ms: i64) {
    JUMPS.with(|jumps| *jumps.borrow_mut().entry(node).or_insert(0) += by_ms);
}

/// Forgets every jump: a new simulation on this thread starts with none.
#[cfg(madsim)]
pub fn reset_jumps() {
    JUMPS.with(|jumps| jumps.borrow_mut().clear());
}
