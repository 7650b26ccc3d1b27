//! Which point of a replication history the data is, kept in the same
//! engine batches as the data it describes, so whatever survives a crash
//! agrees with it: a replica restarted from it can continue its master's
//! stream (a partial resync) instead of loading everything again.
//!
//! The row is exact or absent: a commit that records an [`Origin`]
//! ([`Txn::set_origin`]) writes it, and a commit that changes the data
//! without recording one (a write of this node's own) deletes it.

use super::{corrupt, encoding, Result, Store, Txn};
use crate::engine::{Engine, Partition};
use bytes::{BufMut, Bytes, BytesMut};

const SYS_REPL_ORIGIN: &[u8] = b"repl_origin";

/// A point of a replication history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The history's replication id.
    pub replid: String,
    /// Where in it the data stands (`master_repl_offset`).
    pub offset: u64,
    /// The database its stream has selected there (Redis' `repl-stream-db`):
    /// the stream continues without selecting it again.
    pub db: usize,
}

impl Origin {
    /// `offset u64 | db u32 | replid`.
    fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(12 + self.replid.len());
        out.put_u64(self.offset);
        out.put_u32(self.db as u32);
        out.put_slice(self.replid.as_bytes());
        out.freeze()
    }

    fn decode(raw: &[u8]) -> Option<Origin> {
        if raw.len() < 12 {
            return None;
        }
        Some(Origin {
            offset: encoding::read_u64(&raw[..8]),
            db: encoding::read_u32(&raw[8..12]) as usize,
            replid: String::from_utf8(raw[12..].to_vec()).ok()?,
        })
    }
}

impl Store {
    /// The history point the committed data is, if it is one.
    pub fn origin(&self) -> Result<Option<Origin>> {
        read(&*self.engine)
    }
}

pub(super) fn read(engine: &dyn Engine) -> Result<Option<Origin>> {
    match engine.get(Partition::Sys, SYS_REPL_ORIGIN)? {
        Some(raw) => Origin::decode(&raw)
            .map(Some)
            .ok_or_else(|| corrupt("replication origin")),
        None => Ok(None),
    }
}

impl Txn<'_> {
    /// Once committed, the data is point `origin` of a history (a replica
    /// applied its master's stream up to there, or loaded its snapshot).
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = Some(origin);
    }

    /// At commit, before the batch is written: writes the origin this
    /// transaction records, or deletes the stored one if its writes make
    /// that untrue. Returns whether the row is stored once committed.
    pub(super) fn record_origin(&mut self) -> bool {
        let stored = self.state.origin_stored;
        let writes = !self.batch.is_empty();
        match self.origin.take() {
            // With no data written, a stored row is only behind by bytes
            // that change nothing (PING, SELECT, REPLCONF): not rewritten.
            Some(origin) if writes || !stored => {
                self.batch
                    .put(Partition::Sys, SYS_REPL_ORIGIN, origin.encode());
                true
            }
            // A staged load changes no database's data.
            None if stored && writes && self.loading_into.is_none() => {
                self.batch.delete(Partition::Sys, SYS_REPL_ORIGIN);
                false
            }
            _ => stored,
        }
    }
}
