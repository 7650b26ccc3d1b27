//! A MIGRATE in flight, as data: what `command::migrate` read and the
//! connection sends (`server::migrate`). Kept below the command files so
//! that `Client` can hold one without importing the command.

use crate::rdb;
use crate::replication::write_command;
use bytes::{Bytes, BytesMut};

/// A MIGRATE in progress: where to, and the keys as they were read.
#[derive(Clone, Debug)]
pub struct MigrateJob {
    pub host: String,
    pub port: String,
    /// Milliseconds for each connect, write and read.
    pub timeout_ms: u64,
    /// The target's database.
    pub target_db: i64,
    /// This client's database, where the keys are.
    pub db: usize,
    pub copy: bool,
    pub replace: bool,
    /// AUTH's (username, password).
    pub auth: Option<(Option<Bytes>, Bytes)>,
    /// Send RESTORE-ASKING (cluster mode) rather than RESTORE.
    pub asking: bool,
    pub keys: Vec<Moving>,
}

/// One key on its way: its name and value as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moving {
    pub key: Bytes,
    /// The DUMP payload; `None` when the key is gone (deleted while a
    /// first copy was in flight: the target must drop that copy).
    pub payload: Option<Bytes>,
    /// Unix ms, 0 for none.
    pub expire_at: u64,
}

/// The bytes of one round and which keys it carries.
pub struct Request {
    pub bytes: BytesMut,
    /// Indexes into `MigrateJob::keys`; expired keys are left out.
    pub sent: Vec<usize>,
    /// Whether AUTH and SELECT replies come before the RESTOREs'.
    pub auth: bool,
    pub select: bool,
}

impl MigrateJob {
    /// The commands of one round: AUTH when asked, SELECT when the link's
    /// database is not `target_db` yet, then a RESTORE per key that has
    /// not expired by `now_ms` (with the time it has left).
    pub fn request(&self, select: bool, now_ms: u64) -> Request {
        let mut bytes = BytesMut::new();
        if let Some((user, password)) = &self.auth {
            let mut args = vec![&b"AUTH"[..]];
            args.extend(user.as_deref());
            args.push(password);
            write_command(&mut bytes, args.iter().copied());
        }
        if select {
            let db = self.target_db.to_string();
            write_command(&mut bytes, [&b"SELECT"[..], db.as_bytes()]);
        }
        let name: &[u8] = if self.asking {
            b"RESTORE-ASKING"
        } else {
            b"RESTORE"
        };
        let mut sent = Vec::new();
        // A key that is gone is sent as an already expired RESTORE
        // REPLACE, which deletes the target's copy and answers +OK, so
        // every key still gets one reply (Redis and Redstone alike).
        let gone = rdb::dump(&rdb::Value::String(Bytes::new()));
        for (at, moving) in self.keys.iter().enumerate() {
            let ttl = match (&moving.payload, moving.expire_at) {
                (None, _) => 1,
                (Some(_), 0) => 0,
                (Some(_), at) if at < now_ms => continue,
                (Some(_), at) => (at - now_ms).max(1),
            };
            let ttl = ttl.to_string();
            let payload = moving.payload.as_deref().unwrap_or(&gone);
            let mut args = vec![name, &moving.key, ttl.as_bytes(), payload];
            if self.replace || moving.payload.is_none() {
                args.push(b"REPLACE");
            }
            if moving.payload.is_none() {
                args.push(b"ABSTTL");
            }
            write_command(&mut bytes, args.iter().copied());
            sent.push(at);
        }
        Request {
            bytes,
            sent,
            auth: self.auth.is_some(),
            select,
        }
    }
}
