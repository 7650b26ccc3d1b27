//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! An HLL is a string in Redis' own format (`crate::hll`), so GET/SET and
//! values written by redis-server round trip. Like Redis, PFCOUNT of one
//! key caches the cardinality in the value (a write) when the cache is
//! stale; with several keys it merges into temporary registers and
//! writes nothing.

use super::args::{err, of_kind, CmdResult};
use super::{Command, Ctx, KeySpec};
use crate::hll::{Corrupt, Hll, Registers};
use crate::keyspace::encoding::ENCODING_RAW;
use crate::keyspace::{KeyType, Meta, Txn};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::Bytes;

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", -2, &["write", "denyoom", "fast"], (1, 1, 1), "hyperloglog", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", pfadd)
        .with_key_specs(&[KeySpec::range(&["RW", "insert"], 1, 0)]),
    Command::new("pfcount", -2, &["readonly", "may_replicate"], (1, -1, 1), "hyperloglog", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", pfcount)
        .with_key_specs(&[KeySpec::range(&["RW", "access"], 1, -1)
            .with_notes("RW because it may change the internal representation of the key, and propagate to replicas")]),
    Command::new("pfmerge", -2, &["write", "denyoom"], (1, -1, 1), "hyperloglog", "Merges one or more HyperLogLog values into a single key.", pfmerge)
        .with_key_specs(&[KeySpec::range(&["RW", "access", "insert"], 1, 0), KeySpec::range(&["RO", "access"], 2, -1)]),
    Command::new("pfdebug", 3, &["write", "denyoom", "admin"], (2, 2, 1), "hyperloglog", "Internal commands for debugging HyperLogLog values.", pfdebug)
        .with_key_specs(&[KeySpec::range(&["RW", "access"], 2, 0)]),
    Command::new("pfselftest", 1, &["admin"], (0, 0, 0), "hyperloglog", "An internal command for testing HyperLogLog values.", pfselftest),
];

const ERR_NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const ERR_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

impl From<Corrupt> for Frame {
    fn from(_: Corrupt) -> Frame {
        err(ERR_CORRUPT)
    }
}

/// The HLL stored at a key: WRONGTYPE for another type or a string that
/// is not an HLL.
fn hll_of(meta: Option<Meta>) -> Result<Option<(Hll, Meta)>, Frame> {
    match of_kind(meta, KeyType::String)? {
        None => Ok(None),
        Some(meta) => {
            let hll = Hll::parse(&meta.payload).ok_or_else(|| err(ERR_NOT_HLL))?;
            Ok(Some((hll, meta)))
        }
    }
}

/// Writes an HLL back, keeping the key's TTL.
fn store(txn: &mut Txn, db: usize, key: &[u8], hll: Hll, old: Option<&Meta>) -> Result<(), Frame> {
    let expire_at = old.map_or(0, |meta| meta.expire_at);
    let meta = Meta {
        encoding: ENCODING_RAW,
        ..Meta::string(Bytes::from(hll.into_bytes()), expire_at)
    };
    txn.put(db, key, meta)?;
    Ok(())
}

fn sparse_max_bytes(ctx: &Ctx) -> u64 {
    ctx.shared.config().hll_sparse_max_bytes
}

/// PFADD key [element ...]: 1 if a register changed or the key was
/// created (even with no elements), else 0.
fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max_bytes = sparse_max_bytes(ctx);
    ctx.write(|txn, db| {
        let old = hll_of(txn.get(db, &args[1])?)?;
        let created = old.is_none();
        let (mut hll, meta) = old.map_or((Hll::new(), None), |(hll, meta)| (hll, Some(meta)));
        let mut updated = created;
        for element in &args[2..] {
            updated |= hll.add(element, max_bytes)?;
        }
        if updated {
            hll.invalidate_cache();
            store(txn, db, &args[1], hll, meta.as_ref())?;
            txn.notify(db, Class::String, "pfadd", &args[1]);
        }
        Ok(Frame::Integer(i64::from(updated)))
    })
}

/// PFCOUNT key [key ...].
fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return ctx.write(|txn, db| {
            let mut union = Registers::default();
            for key in &args[1..] {
                if let Some((hll, _)) = hll_of(txn.get(db, key)?)? {
                    hll.merge_into(&mut union)?;
                }
            }
            Ok(Frame::Integer(union.count() as i64))
        });
    }
    let key = &args[1];
    // The cached count is a lock-free read; a stale one is recomputed and
    // cached in the write transaction.
    match hll_of(ctx.read(key)?)? {
        None => return Ok(Frame::Integer(0)),
        Some((hll, _)) => {
            if let Some(count) = hll.cached_count() {
                return Ok(Frame::Integer(count as i64));
            }
        }
    }
    ctx.write(|txn, db| {
        let Some((mut hll, meta)) = hll_of(txn.get(db, key)?)? else {
            return Ok(Frame::Integer(0));
        };
        let (count, changed) = hll.count()?;
        if changed {
            store(txn, db, key, hll, Some(&meta))?;
        }
        Ok(Frame::Integer(count as i64))
    })
}

/// PFMERGE destkey [sourcekey ...]: the union of every HLL named, the
/// destination included, stored at the destination. It stays sparse
/// unless one of the inputs is dense (Redis 7.0.15).
fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let max_bytes = sparse_max_bytes(ctx);
    ctx.write(|txn, db| {
        let mut union = Registers::default();
        let mut dense = false;
        let mut dest = None;
        for (i, key) in args[1..].iter().enumerate() {
            let Some((hll, meta)) = hll_of(txn.get(db, key)?)? else {
                continue;
            };
            dense |= !hll.is_sparse();
            hll.merge_into(&mut union)?;
            if i == 0 {
                dest = Some((hll, meta));
            }
        }
        let (mut hll, meta) = dest.map_or((Hll::new(), None), |(hll, meta)| (hll, Some(meta)));
        if dense {
            hll.to_dense()?;
        }
        for (index, &value) in union.0.iter().enumerate() {
            if value > 0 {
                hll.set(index, value, max_bytes)?;
            }
        }
        hll.invalidate_cache();
        store(txn, db, &args[1], hll, meta.as_ref())?;
        // Redis reports a merge as `pfadd` too.
        txn.notify(db, Class::String, "pfadd", &args[1]);
        Ok(Frame::ok())
    })
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (sub, key) = (&args[1], &args[2]);
    ctx.write(|txn, db| {
        let Some((mut hll, meta)) = hll_of(txn.get(db, key)?)? else {
            return Err(err("ERR The specified key does not exist"));
        };
        let is = |name: &str| super::args::is(sub, name);
        if is("getreg") || is("todense") {
            let converted = hll.to_dense()?;
            let registers = hll.dense_registers().unwrap_or_default();
            if converted {
                store(txn, db, key, hll, Some(&meta))?;
            }
            if is("todense") {
                return Ok(Frame::Integer(i64::from(converted)));
            }
            let values = registers.into_iter().map(|r| Frame::Integer(r.into()));
            Ok(Frame::Array(values.collect()))
        } else if is("decode") {
            let text = hll
                .decode_sparse()
                .ok_or_else(|| err("ERR HLL encoding is not sparse"))?;
            Ok(Frame::bulk(text))
        } else if is("encoding") {
            Ok(Frame::simple(if hll.is_sparse() {
                "sparse"
            } else {
                "dense"
            }))
        } else {
            Err(err(format!(
                "ERR Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(sub)
            )))
        }
    })
}

fn pfselftest(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    crate::hll::self_test().map_err(err)?;
    Ok(Frame::ok())
}
