//! CLUSTER IMPORTSLOTS: the receiving end of a whole-slot migration, run
//! by the migrating master on a connection of its own (internal, as
//! Valkey's CLUSTER SYNCSLOTS):
//!
//! - `BEGIN from-id start end [start end ...]` empties the slots here and
//!   makes this connection their importer: its commands on keys of those
//!   slots run here although another node serves them (everyone else is
//!   still sent to `from`).
//! - `LOAD bytes`: the next part of an RDB file of the slots' keys, as of
//!   the migration's snapshot.
//! - then the writes made since, as the commands they were (`SlotTap`);
//!   `FLUSH` stands for a flush and empties the slots again.
//! - `FINISH` takes the slots under a new config epoch
//!   (`Node::take_slots`): from then on this node serves them.
//!
//! Strings are written in bulk, past the journal and the memtable, 64 MB
//! at a time (`Txn::ingest`, fjall's ingestion: synced tables); the
//! other types through a transaction. What is loaded goes to this node's
//! replicas as SET (strings) or RESTORE commands. A connection that closes before FINISH leaves nothing behind:
//! the server deletes what it loaded (`server::connection`). So does a
//! restart after a crash mid-import: BEGIN leaves a marker file in the
//! data directory (`slot_migration::Marker`), which FINISH and that deletion remove and
//! which the next start acts on.

use super::super::args::{err, is, CmdResult};
use super::super::slot_migration::{Marker, SlotImport};
use super::super::Ctx;
use crate::cluster::SlotSet;
use crate::keyspace::{Effect, Txn};
use crate::rdb::file::{Item, Reader};
use crate::rdb::Value;
use crate::resp::Frame;
use crate::slot::key_slot;
use bytes::Bytes;

pub(super) fn importslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cluster = super::cluster(ctx)?;
    match &args[2..] {
        [word, from, ranges @ ..] if is(word, "begin") && !ranges.is_empty() => {
            let list = super::slot_ranges(ctx, ranges)?;
            cluster
                .read(|node| node.check_import(&list, from))
                .map_err(|e| err(e.to_string()))?;
            let mut slots = SlotSet::new();
            for &slot in &list {
                slots.insert(slot);
            }
            let marker = Marker::write(&ctx.shared.data_dir, from, &list).map_err(err)?;
            empty(ctx, &list)?;
            crate::log::notice(&format!(
                "Importing {} slots from {}",
                list.len(),
                String::from_utf8_lossy(from)
            ));
            ctx.client.slot_import = Some(Box::new(SlotImport {
                from: from.clone(),
                marker,
                slots,
                list,
                reader: Reader::unchecked(),
                loaded: 0,
                ended: false,
                pending: Default::default(),
            }));
            Ok(Frame::ok())
        }
        [word, bytes] if is(word, "load") => load(ctx, bytes),
        [word] if is(word, "flush") => {
            let list = importing(ctx)?.list.clone();
            empty(ctx, &list)?;
            Ok(Frame::ok())
        }
        [word] if is(word, "finish") => finish(ctx),
        _ => Err(err(
            "ERR syntax error: CLUSTER IMPORTSLOTS BEGIN|LOAD|FLUSH|FINISH",
        )),
    }
}

fn importing<'c>(ctx: &'c mut Ctx) -> Result<&'c mut SlotImport, Frame> {
    ctx.client
        .slot_import
        .as_deref_mut()
        .ok_or_else(|| err("ERR no slot import on this connection"))
}

/// Deletes every key of `slots` here, each deletion replicated.
fn empty(ctx: &mut Ctx, slots: &[u16]) -> Result<(), Frame> {
    const BATCH: usize = 1000;
    let now = ctx.now_ms;
    for &slot in slots {
        loop {
            let keys = ctx.commit_pending()?.slot_keys(0, slot, BATCH, now)?;
            ctx.write(|txn, _| {
                for key in &keys {
                    if txn.delete(0, key)? {
                        txn.propagate(Effect::del(0, key));
                    }
                }
                Ok(())
            })?;
            if keys.len() < BATCH {
                break;
            }
        }
    }
    Ok(())
}

/// Reads the next part of the slots' RDB file and stores the keys it
/// completes.
fn load(ctx: &mut Ctx, bytes: &Bytes) -> CmdResult {
    let limits = ctx.encoding_limits();
    let now = ctx.now_ms;
    let mut import = ctx
        .client
        .slot_import
        .take()
        .ok_or_else(|| err("ERR no slot import on this connection"))?;
    let stored = ctx.write(|txn, _| {
        import.reader.push(bytes);
        while let Some(item) = import
            .reader
            .next()
            .map_err(|e| err(format!("ERR the slots' snapshot: {e}")))?
        {
            match item {
                Item::Entry {
                    key,
                    value,
                    expire_at_ms,
                } => {
                    if import.ended || !import.covers(key_slot(&key)) {
                        return Err(err("ERR the slots' snapshot holds a key of another slot"));
                    }
                    let expire_at = expire_at_ms.unwrap_or(0);
                    if expire_at == 0 || expire_at > now {
                        store(txn, &mut import, key, value, expire_at, limits)?;
                        import.loaded += 1;
                    }
                }
                Item::SelectDb(0)
                | Item::Aux { .. }
                | Item::ResizeDb { .. }
                | Item::Function(_) => {}
                Item::SelectDb(_) => return Err(err("ERR the slots' snapshot is not of db 0")),
                Item::End => import.ended = true,
            }
        }
        let due = import.ended || import.pending.is_due();
        if due && !import.pending.is_empty() {
            ingest(txn, &mut import)?;
        }
        Ok(())
    });
    ctx.client.slot_import = Some(import);
    stored.map(|()| Frame::ok())
}

/// Stores one key of the snapshot (BEGIN emptied its slot). Strings wait
/// in `import` to be written in bulk ([`ingest`]); the rest is written now
/// and recorded for the replicas as RESTORE.
fn store(
    txn: &mut Txn,
    import: &mut SlotImport,
    key: Bytes,
    value: Value,
    expire_at: u64,
    limits: crate::config::EncodingLimits,
) -> Result<(), Frame> {
    if let Value::String(bytes) = value {
        import.pending.push(0, key, bytes, expire_at);
        return Ok(());
    }
    txn.propagate(Effect::Command {
        db: 0,
        args: vec![
            Bytes::from_static(b"RESTORE"),
            key.clone(),
            Bytes::from(expire_at.to_string()),
            Bytes::from(crate::rdb::dump(&value)),
            Bytes::from_static(b"REPLACE"),
            Bytes::from_static(b"ABSTTL"),
        ],
    });
    super::super::dump::store_value(txn, 0, &key, value, expire_at, limits)
}

/// Writes the strings waiting in `import` in bulk, each recorded for the
/// replicas as SET (with PXAT when it expires).
fn ingest(txn: &mut Txn, import: &mut SlotImport) -> Result<(), Frame> {
    for (key, meta) in import.pending.of_db(0) {
        let mut args = vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            meta.payload.clone(),
        ];
        if meta.expire_at != 0 {
            args.push(Bytes::from_static(b"PXAT"));
            args.push(Bytes::from(meta.expire_at.to_string()));
        }
        txn.propagate(Effect::Command { db: 0, args });
    }
    txn.ingest(&mut import.pending)?;
    Ok(())
}

/// Takes the slots, once the whole snapshot is here.
fn finish(ctx: &mut Ctx) -> CmdResult {
    let import = importing(ctx)?;
    if !import.ended {
        return Err(err("ERR the slots' snapshot is incomplete"));
    }
    let (from, list, loaded) = (import.from.clone(), import.list.clone(), import.loaded);
    super::change(ctx, |node| node.take_slots(&list, &from))?;
    if let Some(import) = ctx.client.slot_import.take() {
        import.marker.remove();
    }
    crate::log::notice(&format!(
        "Imported {} slots from {} ({loaded} keys in the snapshot)",
        list.len(),
        String::from_utf8_lossy(&from)
    ));
    Ok(Frame::ok())
}
