//! Sorted sets against a model: random ZADD (with NX/XX/GT/LT/CH),
//! ZINCRBY, ZREM, ZPOPMIN/ZPOPMAX, ZREMRANGEBYRANK/BYSCORE, Z*STORE,
//! ZRANGESTORE and DEL/RENAME/COPY/SET/FLUSHDB run through `execute` on the
//! memory engine, in pipelines that share one transaction (like a
//! connection's batch), some commands rolled back to their savepoint, with
//! sweeps and reopens in between. Every reply is checked against a
//! `BTreeMap` model, then every key's type, order, scores, ranks, score
//! ranges and OBJECT ENCODING; at the end the data and zscore partitions
//! hold exactly the live members.

use super::model_tests::{coll_in, expect_reply, key_name, Family, Keys, Server, Value};
use super::*;
use crate::engine::Partition;
use crate::resp::Frame;
use quickcheck::{Arbitrary, Gen};
use std::collections::BTreeMap;

const LONG: &str = "a-member-longer-than-sixty-four-bytes-so-the-set-becomes-a-skiplist";
const MEMBERS: [&str; 6] = ["a", "b", "c", "", "zz", LONG];
const SCORES: [&str; 8] = ["-inf", "-1.5", "-0", "0", "1", "2.5", "7", "+inf"];
const INCREMENTS: [&str; 5] = ["1", "-1", "0.5", "inf", "-inf"];

type ZSetModel = BTreeMap<&'static str, f64>;

/// Members and scores, and whether the encoding is `skiplist`.
type ZSet = (ZSetModel, bool);
type Model = Keys<ZSet>;

/// The sorted-set family: ZADD, ZINCRBY, ZREM, pops, range removals and
/// the STORE commands.
struct ZSets;

#[derive(Clone, Debug)]
enum Op {
    /// Flag (0 none, 1 NX, 2 XX, 3 GT, 4 LT, 5 CH), (score, member) pairs.
    ZAdd(u8, u8, Vec<(u8, u8)>),
    ZIncrBy(u8, u8, u8),
    ZRem(u8, Vec<u8>),
    /// Max or min, count.
    ZPop(u8, bool, Option<u8>),
    ZRemRangeByRank(u8, i8, i8),
    ZRemRangeByScore(u8, u8, u8),
    /// 0 ZUNIONSTORE, 1 ZINTERSTORE, 2 ZDIFFSTORE; destination; sources.
    Store(u8, u8, Vec<u8>),
    /// Destination, source, start, stop.
    RangeStore(u8, u8, i8, i8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 4;
        let member = |g: &mut Gen| u8::arbitrary(g) % MEMBERS.len() as u8;
        let score = |g: &mut Gen| u8::arbitrary(g) % SCORES.len() as u8;
        let rank = |g: &mut Gen| i8::arbitrary(g) % 4;
        let some = |g: &mut Gen, f: &dyn Fn(&mut Gen) -> u8| {
            (0..usize::arbitrary(g) % 3 + 1).map(|_| f(g)).collect()
        };
        match u8::arbitrary(g) % 21 {
            0..=7 => {
                let pairs = (0..usize::arbitrary(g) % 3 + 1)
                    .map(|_| (score(g), member(g)))
                    .collect();
                Op::ZAdd(key(g), u8::arbitrary(g) % 6, pairs)
            }
            8 | 9 => Op::ZIncrBy(key(g), u8::arbitrary(g) % INCREMENTS.len() as u8, member(g)),
            10..=12 => Op::ZRem(key(g), some(g, &member)),
            13 | 14 => Op::ZPop(
                key(g),
                bool::arbitrary(g),
                Option::<u8>::arbitrary(g).map(|n| n % 4),
            ),
            15 => Op::ZRemRangeByRank(key(g), rank(g), rank(g)),
            16 => Op::ZRemRangeByScore(key(g), score(g), score(g)),
            17..=19 => Op::Store(u8::arbitrary(g) % 3, key(g), some(g, &key)),
            _ => Op::RangeStore(key(g), key(g), rank(g), rank(g)),
        }
    }
}

fn score_of(text: &str) -> f64 {
    let score = super::args::parse_f64(text.as_bytes()).unwrap_or(0.0);
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// A sorted set of the model (None: missing), or Err(WRONGTYPE).
fn zset_in(model: &Model, k: u8) -> Result<Option<ZSet>, Frame> {
    coll_in(model, k)
}

fn put_zset(model: &mut Model, k: u8, zset: ZSetModel, skiplist: bool) {
    if zset.is_empty() {
        model.remove(&k);
    } else {
        let skiplist = skiplist || zset.len() > 128 || zset.keys().any(|m| m.len() > 64);
        model.insert(k, Value::Coll((zset, skiplist)));
    }
}

/// Entries in Redis' order: by score, then member.
fn ordered(zset: &ZSetModel) -> Vec<(&'static str, f64)> {
    let mut out: Vec<(&'static str, f64)> = zset.iter().map(|(m, s)| (*m, *s)).collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    out
}

fn flat(items: &[(&str, f64)]) -> Frame {
    Frame::Array(
        items
            .iter()
            .flat_map(|(m, s)| [Frame::bulk(m.to_string()), Frame::Double(*s)])
            .collect(),
    )
}

/// Redis' rank range `[a, b]` (negative from the end) of `entries`.
fn rank_range(entries: &[(&'static str, f64)], a: i8, b: i8) -> Vec<(&'static str, f64)> {
    let len = entries.len() as i64;
    let start = if a < 0 {
        len + i64::from(a)
    } else {
        i64::from(a)
    }
    .max(0);
    let stop = if b < 0 {
        len + i64::from(b)
    } else {
        i64::from(b)
    }
    .min(len - 1);
    if start > stop || start >= len {
        return Vec::new();
    }
    entries[start as usize..=stop as usize].to_vec()
}

/// ZUNIONSTORE (kind 0), ZINTERSTORE (1) or ZDIFFSTORE (2) with weights 1
/// and SUM.
fn combine(kind: u8, sets: Vec<Option<ZSetModel>>) -> ZSetModel {
    let sum = |a: f64, b: f64| {
        let s = a + b;
        if s.is_nan() {
            0.0
        } else {
            s
        }
    };
    let mut sets = sets.into_iter();
    let first = sets.next().flatten();
    match kind {
        0 => {
            let mut out = first.unwrap_or_default();
            for set in sets.flatten() {
                for (m, s) in set {
                    let total = out.get(m).map_or(s, |old| sum(*old, s));
                    out.insert(m, total);
                }
            }
            out
        }
        1 => {
            // Like Redis: the smallest source first (a stable sort), which
            // decides where inf + -inf (0 in a SUM) happens.
            let all: Option<Vec<ZSetModel>> = std::iter::once(first).chain(sets).collect();
            let Some(mut all) = all else {
                return ZSetModel::new();
            };
            all.sort_by_key(|set| set.len());
            let mut all = all.into_iter();
            let first = all.next().unwrap_or_default();
            let rest: Vec<ZSetModel> = all.collect();
            first
                .into_iter()
                .filter_map(|(m, s)| {
                    rest.iter()
                        .try_fold(s, |total, set| set.get(m).map(|x| sum(total, *x)))
                        .map(|total| (m, total))
                })
                .collect()
        }
        _ => {
            let rest: Vec<ZSetModel> = sets.flatten().collect();
            first
                .unwrap_or_default()
                .into_iter()
                .filter(|(m, _)| rest.iter().all(|set| !set.contains_key(m)))
                .collect()
        }
    }
}

impl Family for ZSets {
    type Coll = ZSet;
    type Op = Op;
    const TYPE: &'static str = "zset";
    const PARTITIONS: &'static [Partition] = &[Partition::Data, Partition::ZScore];

    fn words(op: &Op) -> Vec<String> {
        let member = |m: &u8| MEMBERS[*m as usize].to_string();
        match op {
            Op::ZAdd(k, flag, pairs) => {
                let mut out = vec!["ZADD".to_string(), key_name(*k)];
                if let Some(flag) = ["", "NX", "XX", "GT", "LT", "CH"].get(*flag as usize) {
                    if !flag.is_empty() {
                        out.push(flag.to_string());
                    }
                }
                for (s, m) in pairs {
                    out.push(SCORES[*s as usize].to_string());
                    out.push(member(m));
                }
                out
            }
            Op::ZIncrBy(k, i, m) => vec![
                "ZINCRBY".into(),
                key_name(*k),
                INCREMENTS[*i as usize].into(),
                member(m),
            ],
            Op::ZRem(k, ms) => {
                let mut out = vec!["ZREM".to_string(), key_name(*k)];
                out.extend(ms.iter().map(member));
                out
            }
            Op::ZPop(k, max, count) => {
                let name = if *max { "ZPOPMAX" } else { "ZPOPMIN" };
                let mut out = vec![name.to_string(), key_name(*k)];
                out.extend(count.map(|n| n.to_string()));
                out
            }
            Op::ZRemRangeByRank(k, a, b) => vec![
                "ZREMRANGEBYRANK".into(),
                key_name(*k),
                a.to_string(),
                b.to_string(),
            ],
            Op::ZRemRangeByScore(k, a, b) => vec![
                "ZREMRANGEBYSCORE".into(),
                key_name(*k),
                SCORES[*a as usize].into(),
                SCORES[*b as usize].into(),
            ],
            Op::Store(kind, dst, srcs) => {
                let name = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"][*kind as usize];
                let mut out = vec![name.to_string(), key_name(*dst), srcs.len().to_string()];
                out.extend(srcs.iter().map(|k| key_name(*k)));
                out
            }
            Op::RangeStore(dst, src, a, b) => vec![
                "ZRANGESTORE".into(),
                key_name(*dst),
                key_name(*src),
                a.to_string(),
                b.to_string(),
            ],
        }
    }

    /// Applies `op` to `model` given its `reply`; errors when the reply is not
    /// what the model predicts.
    fn apply(model: &mut Model, op: &Op, reply: &Frame) -> Result<(), String> {
        let expect = |want: Frame| expect_reply(op, reply, want);
        match op {
            Op::ZAdd(k, flag, pairs) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) if *flag == 2 => expect(Frame::Integer(0)),
                Ok(found) => {
                    let (mut zset, skiplist) = found.unwrap_or_default();
                    let (mut added, mut updated) = (0, 0);
                    for (s, m) in pairs {
                        let (score, member) = (score_of(SCORES[*s as usize]), MEMBERS[*m as usize]);
                        match zset.get(member).copied() {
                            None if *flag == 2 => {}
                            None => {
                                zset.insert(member, score);
                                added += 1;
                            }
                            Some(_) if *flag == 1 => {}
                            Some(old)
                                if (*flag == 3 && score <= old) || (*flag == 4 && score >= old) => {
                            }
                            Some(old) => {
                                if old != score {
                                    updated += 1;
                                    zset.insert(member, score);
                                }
                            }
                        }
                    }
                    put_zset(model, *k, zset, skiplist);
                    expect(Frame::Integer(if *flag == 5 {
                        added + updated
                    } else {
                        added
                    }))
                }
            },
            Op::ZIncrBy(k, i, m) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(found) => {
                    let (mut zset, skiplist) = found.unwrap_or_default();
                    let member = MEMBERS[*m as usize];
                    let score = zset.get(member).copied().unwrap_or(0.0)
                        + score_of(INCREMENTS[*i as usize]);
                    if score.is_nan() {
                        return expect(Frame::Error(Bytes::from_static(
                            super::zsets::ERR_NAN.as_bytes(),
                        )));
                    }
                    let score = if score == 0.0 { 0.0 } else { score };
                    zset.insert(member, score);
                    put_zset(model, *k, zset, skiplist);
                    expect(Frame::Double(score))
                }
            },
            Op::ZRem(k, ms) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(Frame::Integer(0)),
                Ok(Some((mut zset, skiplist))) => {
                    let removed = ms
                        .iter()
                        .filter(|m| zset.remove(MEMBERS[**m as usize]).is_some())
                        .count();
                    put_zset(model, *k, zset, skiplist);
                    expect(Frame::Integer(removed as i64))
                }
            },
            Op::ZPop(k, max, count) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(Frame::Array(Vec::new())),
                Ok(Some((mut zset, skiplist))) => {
                    let mut entries = ordered(&zset);
                    if *max {
                        entries.reverse();
                    }
                    entries.truncate(count.map_or(1, usize::from));
                    for (m, _) in &entries {
                        zset.remove(m);
                    }
                    put_zset(model, *k, zset, skiplist);
                    expect(flat(&entries))
                }
            },
            Op::ZRemRangeByRank(k, a, b) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(Frame::Integer(0)),
                Ok(Some((mut zset, skiplist))) => {
                    let entries = ordered(&zset);
                    let doomed = rank_range(&entries, *a, *b);
                    for (m, _) in &doomed {
                        zset.remove(m);
                    }
                    put_zset(model, *k, zset, skiplist);
                    expect(Frame::Integer(doomed.len() as i64))
                }
            },
            Op::ZRemRangeByScore(k, a, b) => match zset_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(Frame::Integer(0)),
                Ok(Some((mut zset, skiplist))) => {
                    let (min, max) = (score_of(SCORES[*a as usize]), score_of(SCORES[*b as usize]));
                    let before = zset.len();
                    zset.retain(|_, s| !(*s >= min && *s <= max));
                    let removed = before - zset.len();
                    put_zset(model, *k, zset, skiplist);
                    expect(Frame::Integer(removed as i64))
                }
            },
            Op::Store(kind, dst, srcs) => {
                let mut sets = Vec::new();
                for k in srcs {
                    match zset_in(model, *k) {
                        Err(e) => return expect(e),
                        Ok(found) => sets.push(found.map(|(zset, _)| zset)),
                    }
                }
                let result = combine(*kind, sets);
                let size = result.len() as i64;
                model.remove(dst);
                put_zset(model, *dst, result, false);
                expect(Frame::Integer(size))
            }
            Op::RangeStore(dst, src, a, b) => match zset_in(model, *src) {
                Err(e) => expect(e),
                Ok(found) => {
                    let zset = found.map(|(zset, _)| zset).unwrap_or_default();
                    let entries = ordered(&zset);
                    let kept: ZSetModel = rank_range(&entries, *a, *b).into_iter().collect();
                    let size = kept.len() as i64;
                    model.remove(dst);
                    put_zset(model, *dst, kept, false);
                    expect(Frame::Integer(size))
                }
            },
        }
    }

    fn check(server: &mut Server, key: &str, coll: &ZSet, now: u64) -> Result<(), String> {
        let (zset, skiplist) = (&coll.0, coll.1);
        let entries = ordered(zset);
        let mut expected: Vec<(Vec<&str>, Frame)> = vec![
            (vec!["ZRANGE", key, "0", "-1", "WITHSCORES"], flat(&entries)),
            (vec!["ZCARD", key], Frame::Integer(entries.len() as i64)),
        ];
        let rev: Vec<(&str, f64)> = entries.iter().rev().take(2).copied().collect();
        expected.push((vec!["ZREVRANGE", key, "0", "1", "WITHSCORES"], flat(&rev)));
        let positive: Vec<(&str, f64)> =
            entries.iter().filter(|(_, s)| *s > 0.0).copied().collect();
        expected.push((
            vec!["ZRANGEBYSCORE", key, "(0", "+inf", "WITHSCORES"],
            flat(&positive),
        ));
        let down: Vec<(&str, f64)> = entries
            .iter()
            .rev()
            .filter(|(_, s)| *s <= 1.0)
            .copied()
            .collect();
        expected.push((
            vec!["ZREVRANGEBYSCORE", key, "1", "-inf", "WITHSCORES"],
            flat(&down),
        ));
        let encoding = if skiplist { "skiplist" } else { "listpack" };
        expected.push((vec!["OBJECT", "ENCODING", key], Frame::bulk(encoding)));
        for (rank, (member, score)) in entries.iter().enumerate() {
            expected.push((vec!["ZSCORE", key, member], Frame::Double(*score)));
            expected.push((vec!["ZRANK", key, member], Frame::Integer(rank as i64)));
            let rev_rank = (entries.len() - 1 - rank) as i64;
            expected.push((vec!["ZREVRANK", key, member], Frame::Integer(rev_rank)));
        }
        for (words, want) in expected {
            let got = server.run(now, &words);
            if got != want {
                return Err(format!("{words:?}: {got:?} != {want:?}"));
            }
        }
        Ok(())
    }

    fn members((zset, _): &ZSet) -> usize {
        zset.len()
    }
}

#[test]
fn a_pipeline_reads_its_own_score_index_writes_in_both_directions() {
    let mut server = Server::fresh();
    let now = 1_000_000;
    server.run(now, &["ZADD", "z", "1", "a", "3", "c", "5", "e"]);
    let mut txn = Some(server.shared.store.begin(now));
    let mut run = |words: &[&str]| {
        let mut ctx = Ctx::new(&server.shared, &mut server.client, now, &mut txn);
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        execute(&mut ctx, &args)
    };
    run(&["ZADD", "z", "2", "b", "4", "d", "6", "c"]);
    run(&["ZREM", "z", "e"]);
    let members = |frame: Frame| match frame {
        Frame::Array(items) => items,
        other => vec![other],
    };
    assert_eq!(
        members(run(&["ZRANGE", "z", "0", "-1"])),
        ["a", "b", "d", "c"].map(Frame::bulk)
    );
    assert_eq!(
        members(run(&["ZRANGE", "z", "+inf", "2", "BYSCORE", "REV"])),
        ["c", "d", "b"].map(Frame::bulk)
    );
    assert_eq!(run(&["ZRANK", "z", "c"]), Frame::Integer(3));
    assert_eq!(run(&["ZCOUNT", "z", "(1", "6"]), Frame::Integer(3));
}

#[test]
fn zsets_match_a_model_under_random_pipelines_rollbacks_and_reopens() {
    super::model_tests::property::<ZSets>();
}
