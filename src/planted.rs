//! Known bugs that the simulation must catch: each invariant of the
//! madsim scenarios is proved live by a test that plants one of these and
//! shows a seed that fails. They exist only in the madsim build, where a
//! scenario plants one for the simulation running on its thread; in every
//! other build [`active`] is a constant `false` and compiles away.

/// A bug that can be planted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// WAIT counts every online replica, whether or not it acknowledged
    /// the offset (`replication::Master::acked`).
    WaitIgnoresAcknowledgements,
    /// Elections rank replicas backwards: the one with the lowest
    /// replication offset tries first (`cluster::failover`).
    PromoteLowestOffset,
    /// A master that reaches no majority of the masters keeps its cluster
    /// state ok, so it goes on taking writes (`Node::update_state`).
    MinorityMasterKeepsWriting,
    /// A partial resync continues a replica in the history its master
    /// left at a failover even past the point where that history ended
    /// (`replication::Master::psync` ignores `second_offset`): a replica
    /// that was ahead of the promoted one keeps writes its new master
    /// never had.
    PsyncPastTheFailover,
    /// Two masters with the same configEpoch stay so: the collision is
    /// never resolved (`Node::handle_config_epoch_collision` is skipped).
    EpochCollisionUnresolved,
    /// With `appendfsync always`, a connection replies to a write once it
    /// is flushed, without waiting for the sync (`server::connection`): a
    /// power cut loses writes it acknowledged.
    ReplyBeforeSync,
    /// MIGRATE deletes every key the target restored, also one written
    /// after it was read (`command::migrate::settle` skips its check): the
    /// write made while the key was in flight is lost.
    MigrateDeletesChangedKeys,
    /// The cluster's timers run on the time of day, which can jump
    /// (`clock::monotonic_ms` reads `clock::now_ms`): a master whose clock
    /// is set back while it is cut off takes writes past its node timeout.
    ClusterOnWallClock,
}

#[cfg(madsim)]
thread_local! {
    static PLANTED: std::cell::Cell<Option<Bug>> = const { std::cell::Cell::new(None) };
}

/// Plants `bug` (or none) for the simulation run on this thread.
#[cfg(madsim)]
pub fn plant(bug: Option<Bug>) {
    PLANTED.with(|planted| planted.set(bug));
}

/// Whether `bug` is planted.
#[inline]
pub fn active(bug: Bug) -> bool {
    #[cfg(madsim)]
    {
        PLANTED.with(|planted| planted.get() == Some(bug))
    }
    #[cfg(not(madsim))]
    {
        let _ = bug;
        false
    }
}
