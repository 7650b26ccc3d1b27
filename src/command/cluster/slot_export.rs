//! CLUSTER MIGRATESLOTS SLOTSRANGE start end [start end ...] NODE id:
//! moves whole slots to another master at once, beyond Redis (Valkey 9's
//! atomic slot migration has this syntax). The command checks and starts
//! the migration and answers +OK; the server runs it in the background
//! (`server::slot_export`) and shows how it goes in INFO's cluster section
//! (`slot_migration::ExportStatus`). One migration runs at a time.

use super::super::args::{err, is, CmdResult};
use super::super::slot_migration::{ExportPlan, ExportStatus};
use super::super::Ctx;
use crate::cluster::ClusterError;
use crate::resp::Frame;
use bytes::Bytes;
use std::ops::RangeInclusive;

pub(super) fn migrateslots(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (ranges, target) = parse(&args[2..])?;
    let slots: Vec<u16> = ranges.iter().flat_map(|r| r.clone()).collect();
    let cluster = super::cluster(ctx)?;
    let (host, port) = cluster
        .read(|node| node.check_export(&slots, &target))
        .map_err(|e: ClusterError| err(e.to_string()))?;
    let plan = ExportPlan {
        target: String::from_utf8_lossy(&target).into_owned(),
        host,
        port,
        ranges,
        slots,
    };
    {
        let mut status = crate::sync::lock(&ctx.shared.slot_export);
        if status.as_ref().is_some_and(|s| s.phase.running()) {
            return Err(err("ERR a slot migration is already in progress"));
        }
        *status = Some(ExportStatus::new(&plan, ctx.now_ms));
    }
    cluster.start_slot_export(plan);
    Ok(Frame::ok())
}

/// `SLOTSRANGE start end [start end ...] NODE id`: the ranges, merged
/// where they touch, and the id.
fn parse(args: &[Bytes]) -> Result<(Vec<RangeInclusive<u16>>, Bytes), Frame> {
    let syntax = || {
        err("ERR syntax error: CLUSTER MIGRATESLOTS SLOTSRANGE start end [start end ...] NODE node-id")
    };
    let [first, rest @ ..] = args else {
        return Err(syntax());
    };
    let Some(node_at) = rest.iter().position(|a| is(a, "node")) else {
        return Err(syntax());
    };
    let (pairs, [_, id]) = rest.split_at(node_at) else {
        return Err(syntax());
    };
    if !is(first, "slotsrange") || pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(syntax());
    }
    let mut ranges: Vec<RangeInclusive<u16>> = Vec::new();
    for pair in pairs.chunks(2) {
        let (start, end) = (super::slot_arg(&pair[0])?, super::slot_arg(&pair[1])?);
        if start > end {
            return Err(err(format!(
                "ERR start slot number {start} is greater than end slot number {end}"
            )));
        }
        ranges.push(start..=end);
    }
    ranges.sort_by_key(|r| *r.start());
    let mut merged: Vec<RangeInclusive<u16>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if *range.start() <= last.end().saturating_add(1) => {
                if range.start() <= last.end() {
                    return Err(err(format!(
                        "ERR Slot {} specified multiple times",
                        range.start()
                    )));
                }
                *last = *last.start()..=*range.end();
            }
            _ => merged.push(range),
        }
    }
    Ok((merged, id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Bytes> {
        text.split(' ')
            .map(|w| Bytes::from(w.to_string()))
            .collect()
    }

    fn error_of(text: &str) -> String {
        match parse(&words(text)) {
            Err(Frame::Error(e)) => String::from_utf8_lossy(&e).into_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ranges_are_sorted_and_merged() {
        let (ranges, id) = parse(&words("slotsrange 10 20 0 9 30 30 NODE abc")).unwrap();
        assert_eq!(ranges, vec![0..=20, 30..=30]);
        assert_eq!(&id[..], b"abc");
    }

    #[test]
    fn bad_requests_get_errors() {
        assert!(error_of("slotsrange 1 2").starts_with("ERR syntax error"));
        assert!(error_of("slots 1 2 node x").starts_with("ERR syntax error"));
        assert!(error_of("slotsrange 1 node x").starts_with("ERR syntax error"));
        assert!(error_of("slotsrange 1 2 node").starts_with("ERR syntax error"));
        assert!(error_of("slotsrange 1 2 node x y").starts_with("ERR syntax error"));
        assert_eq!(
            error_of("slotsrange 5 1 node x"),
            "ERR start slot number 5 is greater than end slot number 1"
        );
        assert_eq!(
            error_of("slotsrange 1 5 5 6 node x"),
            "ERR Slot 5 specified multiple times"
        );
        assert_eq!(
            error_of("slotsrange 1 16384 node x"),
            "ERR Invalid or out of range slot"
        );
    }
}
