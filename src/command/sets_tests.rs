//! Sets against a model: random SADD/SREM/SPOP/SMOVE/S*STORE/DEL/RENAME/
//! COPY/SET/FLUSHDB commands run through `execute` on the memory engine, in
//! pipelines that share one transaction (like a connection's batch), some
//! commands rolled back to their savepoint, with sweeps and reopens in
//! between. Every reply is checked against a `BTreeSet` model, then every
//! key's type, members, SCARD and OBJECT ENCODING; at the end the data
//! partition holds exactly the live members.

use super::model_tests::{coll_in, expect_reply, key_name, Family, Keys, Server, Value};
use super::*;
use crate::resp::Frame;
use quickcheck::{Arbitrary, Gen};
use std::collections::BTreeSet;

const MEMBERS: [&str; 7] = ["1", "2", "10", "-3", "a", "b", "x1"];

/// Members, and whether the encoding is `hashtable` (else `intset`).
type Set = (BTreeSet<&'static str>, bool);
type Model = Keys<Set>;

#[derive(Clone, Debug)]
enum Op {
    SAdd(u8, Vec<u8>),
    SRem(u8, Vec<u8>),
    SPop(u8, Option<u8>),
    SMove(u8, u8, u8),
    /// 0 SINTERSTORE, 1 SUNIONSTORE, 2 SDIFFSTORE; destination; sources.
    Store(u8, u8, Vec<u8>),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 4;
        let member = |g: &mut Gen| u8::arbitrary(g) % MEMBERS.len() as u8;
        let some = |g: &mut Gen, f: &dyn Fn(&mut Gen) -> u8| {
            (0..usize::arbitrary(g) % 3 + 1).map(|_| f(g)).collect()
        };
        match u8::arbitrary(g) % 19 {
            0..=6 => Op::SAdd(key(g), some(g, &member)),
            7..=9 => Op::SRem(key(g), some(g, &member)),
            10 | 11 => Op::SPop(key(g), Option::<u8>::arbitrary(g).map(|n| n % 5)),
            12..=14 => Op::SMove(key(g), key(g), member(g)),
            _ => Op::Store(u8::arbitrary(g) % 3, key(g), some(g, &key)),
        }
    }
}

fn is_int(member: &str) -> bool {
    crate::sds::string2ll(member.as_bytes()).is_some()
}

/// A set of the model (None: missing), or Err(WRONGTYPE) for a string.
fn set_in(model: &Model, k: u8) -> Result<Option<Set>, Frame> {
    coll_in(model, k)
}

fn put_set(model: &mut Model, k: u8, members: BTreeSet<&'static str>, hashtable: bool) {
    if members.is_empty() {
        model.remove(&k);
    } else {
        model.insert(k, Value::Coll((members, hashtable)));
    }
}

fn bulks(frame: &Frame) -> Result<Vec<String>, String> {
    let items = match frame {
        Frame::Set(items) | Frame::Array(items) => items,
        Frame::Bulk(b) => return Ok(vec![String::from_utf8_lossy(b).into_owned()]),
        Frame::Null => return Ok(Vec::new()),
        other => return Err(format!("not members: {other:?}")),
    };
    items
        .iter()
        .map(|item| match item {
            Frame::Bulk(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            other => Err(format!("not a bulk: {other:?}")),
        })
        .collect()
}

/// The set family: SADD, SREM, SPOP, SMOVE and the STORE commands.
struct Sets;

impl Family for Sets {
    type Coll = Set;
    type Op = Op;
    const TYPE: &'static str = "set";

    fn words(op: &Op) -> Vec<String> {
        let member = |m: &u8| MEMBERS[*m as usize].to_string();
        let mut out: Vec<String> = match op {
            Op::SAdd(k, ms) | Op::SRem(k, ms) => {
                let name = if matches!(op, Op::SAdd(..)) {
                    "SADD"
                } else {
                    "SREM"
                };
                let mut out = vec![name.to_string(), key_name(*k)];
                out.extend(ms.iter().map(member));
                out
            }
            Op::SPop(k, None) => vec!["SPOP".into(), key_name(*k)],
            Op::SPop(k, Some(n)) => vec!["SPOP".into(), key_name(*k), n.to_string()],
            Op::SMove(a, b, m) => vec!["SMOVE".into(), key_name(*a), key_name(*b), member(m)],
            Op::Store(kind, dst, srcs) => {
                let name = ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"][*kind as usize];
                let mut out = vec![name.to_string(), key_name(*dst)];
                out.extend(srcs.iter().map(|k| key_name(*k)));
                out
            }
        };
        out.shrink_to_fit();
        out
    }

    /// Applies `op` to `model` given its `reply`; errors when the reply is not
    /// what the model predicts.
    fn apply(model: &mut Model, op: &Op, reply: &Frame) -> Result<(), String> {
        let expect = |want: Frame| expect_reply(op, reply, want);
        match op {
            Op::SAdd(k, ms) => match set_in(model, *k) {
                Err(e) => expect(e),
                Ok(found) => {
                    let (mut set, mut hashtable) = found.unwrap_or_default();
                    let mut added = 0;
                    for m in ms {
                        let m = MEMBERS[*m as usize];
                        if set.insert(m) {
                            added += 1;
                            hashtable |= !is_int(m);
                        }
                    }
                    put_set(model, *k, set, hashtable);
                    expect(Frame::Integer(added))
                }
            },
            Op::SRem(k, ms) => match set_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(Frame::Integer(0)),
                Ok(Some((mut set, hashtable))) => {
                    let removed = ms
                        .iter()
                        .filter(|m| set.remove(MEMBERS[**m as usize]))
                        .count();
                    put_set(model, *k, set, hashtable);
                    expect(Frame::Integer(removed as i64))
                }
            },
            Op::SPop(k, count) => match set_in(model, *k) {
                Err(e) => expect(e),
                Ok(None) => expect(match count {
                    None => Frame::Null,
                    Some(_) => Frame::Set(Vec::new()),
                }),
                Ok(Some((mut set, hashtable))) => {
                    let want = count.map_or(1, |n| usize::from(n).min(set.len()));
                    let popped = bulks(reply)?;
                    if popped.len() != want || (count.is_some() && !matches!(reply, Frame::Set(_)))
                    {
                        return Err(format!("{op:?}: popped {reply:?} from {set:?}"));
                    }
                    for m in &popped {
                        if !set.remove(m.as_str()) {
                            return Err(format!("{op:?}: popped {m} not in {set:?}"));
                        }
                    }
                    put_set(model, *k, set, hashtable);
                    Ok(())
                }
            },
            Op::SMove(a, b, m) => {
                let m = MEMBERS[*m as usize];
                let src = match model.get(a) {
                    None => return expect(Frame::Integer(0)),
                    Some(_) => set_in(model, *a),
                };
                let (src, dst) = match (src, set_in(model, *b)) {
                    (Err(e), _) | (_, Err(e)) => return expect(e),
                    (Ok(src), Ok(dst)) => (src, dst),
                };
                let Some((mut src, src_ht)) = src else {
                    return expect(Frame::Integer(0));
                };
                if a == b {
                    return expect(Frame::Integer(i64::from(src.contains(m))));
                }
                if !src.remove(m) {
                    return expect(Frame::Integer(0));
                }
                let (mut dst, mut dst_ht) = dst.unwrap_or_default();
                dst.insert(m);
                dst_ht |= !is_int(m);
                put_set(model, *a, src, src_ht);
                put_set(model, *b, dst, dst_ht);
                expect(Frame::Integer(1))
            }
            Op::Store(kind, dst, srcs) => {
                let mut sets = Vec::new();
                for k in srcs {
                    match set_in(model, *k) {
                        Err(e) => return expect(e),
                        Ok(found) => sets.push(found.map(|(set, _)| set)),
                    }
                }
                let result: BTreeSet<&'static str> = match kind {
                    0 => match sets.iter().cloned().collect::<Option<Vec<_>>>() {
                        None => BTreeSet::new(),
                        Some(sets) => {
                            let mut sets = sets.into_iter();
                            let first = sets.next().unwrap_or_default();
                            sets.fold(first, |acc, s| acc.intersection(&s).copied().collect())
                        }
                    },
                    1 => sets.iter().flatten().flatten().copied().collect(),
                    _ => {
                        let mut sets = sets.into_iter();
                        let first = sets.next().flatten().unwrap_or_default();
                        sets.flatten()
                            .fold(first, |acc, s| acc.difference(&s).copied().collect())
                    }
                };
                let size = result.len() as i64;
                let hashtable = result.iter().any(|m| !is_int(m));
                model.remove(dst);
                put_set(model, *dst, result, hashtable);
                expect(Frame::Integer(size))
            }
        }
    }

    fn check(server: &mut Server, key: &str, set: &Set, now: u64) -> Result<(), String> {
        let (members, hashtable) = set;
        let mut got = bulks(&server.run(now, &["SMEMBERS", key]))?;
        got.sort();
        let want: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        if got != want {
            return Err(format!("{key}: members {got:?} != {want:?}"));
        }
        let card = server.run(now, &["SCARD", key]);
        if card != Frame::Integer(members.len() as i64) {
            return Err(format!("{key}: SCARD {card:?} != {}", members.len()));
        }
        let encoding = server.run(now, &["OBJECT", "ENCODING", key]);
        let want = if *hashtable { "hashtable" } else { "intset" };
        if encoding != Frame::bulk(want) {
            return Err(format!(
                "{key}: encoding {encoding:?} != {want} ({members:?})"
            ));
        }
        Ok(())
    }

    fn members(set: &Set) -> usize {
        set.0.len()
    }
}

#[test]
fn sets_match_a_model_under_random_pipelines_rollbacks_and_reopens() {
    super::model_tests::property::<Sets>();
}

#[test]
fn store_ops_read_their_sources_before_overwriting_the_destination() {
    let mut server = Server::fresh();
    let now = 1_000_000;
    server.run(now, &["SADD", "a", "1", "2", "3"]);
    server.run(now, &["SADD", "b", "2", "3", "x"]);
    assert_eq!(
        server.run(now, &["SINTERSTORE", "a", "a", "b"]),
        Frame::Integer(2)
    );
    assert_eq!(
        server.run(now, &["OBJECT", "ENCODING", "a"]),
        Frame::bulk("intset")
    );
    assert_eq!(
        server.run(now, &["SUNIONSTORE", "b", "a", "b"]),
        Frame::Integer(3)
    );
    assert_eq!(
        server.run(now, &["OBJECT", "ENCODING", "b"]),
        Frame::bulk("hashtable")
    );
    assert_eq!(
        server.run(now, &["SDIFFSTORE", "a", "a", "b"]),
        Frame::Integer(0)
    );
    assert_eq!(server.run(now, &["EXISTS", "a"]), Frame::Integer(0));
}

#[test]
fn sintercard_key_positions_follow_numkeys() {
    let sintercard = lookup(b"sintercard").expect("sintercard");
    let args = |words: &[&str]| -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    };
    assert_eq!(
        sintercard.keys_in(&args(&["sintercard", "2", "a", "b", "LIMIT", "1"])),
        vec![2, 3]
    );
    assert!(sintercard
        .keys_in(&args(&["sintercard", "3", "a", "b"]))
        .is_empty());
    assert!(sintercard
        .keys_in(&args(&["sintercard", "0", "a"]))
        .is_empty());
    assert!(sintercard
        .keys_in(&args(&["sintercard", "x", "a"]))
        .is_empty());
    let sinterstore = lookup(b"sinterstore").expect("sinterstore");
    assert_eq!(
        sinterstore.keys_in(&args(&["sinterstore", "d", "a", "b"])),
        vec![1, 2, 3]
    );
}
