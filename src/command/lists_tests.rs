//! Lists against a model: random pushes, pops, LSET, LTRIM, LREM, LINSERT,
//! LMOVE, DEL, RENAME, COPY, SET and FLUSHDB run through `execute` on the
//! memory engine, in pipelines that share one transaction (like a
//! connection's batch), some commands rolled back to their savepoint, with
//! sweeps and reopens in between. Every reply is checked against a
//! `VecDeque` model, then every key's type, elements (LRANGE and LINDEX),
//! LLEN and OBJECT ENCODING; at the end the data partition holds exactly the
//! live elements.

use super::model_tests::{coll_in, expect_reply, key_name, Family, Keys, Server, Value};
use super::*;
use crate::resp::Frame;
use quickcheck::{Arbitrary, Gen};
use std::collections::VecDeque;

const VALUES: [&str; 4] = ["a", "b", "c", "dd"];

type List = VecDeque<&'static str>;
type Model = Keys<List>;

/// The list family: pushes, pops, LSET, LTRIM, LREM, LINSERT, LMOVE.
struct Lists;

#[derive(Clone, Debug)]
enum Op {
    /// Key, left, only if it exists (LPUSHX/RPUSHX), values.
    Push(u8, bool, bool, Vec<u8>),
    Pop(u8, bool, Option<u8>),
    Set(u8, i8, u8),
    Trim(u8, i8, i8),
    Rem(u8, i8, u8),
    /// Key, after, pivot, value.
    Insert(u8, bool, u8, u8),
    /// Source, destination, from the left, to the left.
    Move(u8, u8, bool, bool),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % 4;
        let value = |g: &mut Gen| u8::arbitrary(g) % VALUES.len() as u8;
        let index = |g: &mut Gen| i8::arbitrary(g) % 8;
        match u8::arbitrary(g) % 24 {
            0..=8 => Op::Push(
                key(g),
                bool::arbitrary(g),
                u8::arbitrary(g) % 5 == 0,
                (0..usize::arbitrary(g) % 4 + 1).map(|_| value(g)).collect(),
            ),
            9..=11 => Op::Pop(
                key(g),
                bool::arbitrary(g),
                Option::<u8>::arbitrary(g).map(|n| n % 5),
            ),
            12 | 13 => Op::Set(key(g), index(g), value(g)),
            14 | 15 => Op::Trim(key(g), index(g), index(g)),
            16 | 17 => Op::Rem(key(g), i8::arbitrary(g) % 3, value(g)),
            18..=20 => Op::Insert(key(g), bool::arbitrary(g), value(g), value(g)),
            _ => Op::Move(key(g), key(g), bool::arbitrary(g), bool::arbitrary(g)),
        }
    }
}

fn side(left: bool) -> String {
    if left { "LEFT" } else { "RIGHT" }.to_string()
}

/// A list of the model (None: missing), or Err(WRONGTYPE) for a string.
fn list_in(model: &Model, k: u8) -> Result<Option<List>, Frame> {
    coll_in(model, k)
}

fn put_list(model: &mut Model, k: u8, items: List) {
    if items.is_empty() {
        model.remove(&k);
    } else {
        model.insert(k, Value::Coll(items));
    }
}

fn bulks(items: impl IntoIterator<Item = &'static str>) -> Frame {
    Frame::Array(items.into_iter().map(Frame::bulk).collect())
}

fn index_of(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as usize)
}

/// The model's reply to `op` (and its effect on `model`).
fn apply(model: &mut Model, op: &Op) -> Frame {
    let error = |text: &'static str| Frame::Error(Bytes::from_static(text.as_bytes()));
    match op {
        Op::Push(k, left, xx, vs) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) if *xx => Frame::Integer(0),
            Ok(found) => {
                let mut list = found.unwrap_or_default();
                for v in vs {
                    let v = VALUES[*v as usize];
                    if *left {
                        list.push_front(v);
                    } else {
                        list.push_back(v);
                    }
                }
                let len = list.len() as i64;
                put_list(model, *k, list);
                Frame::Integer(len)
            }
        },
        Op::Pop(k, left, count) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) => match count {
                None => Frame::Null,
                Some(_) => Frame::NullArray,
            },
            Ok(Some(mut list)) => {
                let n = count.map_or(1, usize::from).min(list.len());
                let popped: Vec<&'static str> = (0..n)
                    .filter_map(|_| {
                        if *left {
                            list.pop_front()
                        } else {
                            list.pop_back()
                        }
                    })
                    .collect();
                put_list(model, *k, list);
                match count {
                    None => Frame::bulk(popped[0]),
                    Some(_) => bulks(popped),
                }
            }
        },
        Op::Set(k, i, v) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) => error("ERR no such key"),
            Ok(Some(mut list)) => match index_of(i64::from(*i), list.len()) {
                None => error("ERR index out of range"),
                Some(i) => {
                    list[i] = VALUES[*v as usize];
                    put_list(model, *k, list);
                    Frame::ok()
                }
            },
        },
        Op::Trim(k, a, b) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) => Frame::ok(),
            Ok(Some(list)) => {
                let len = list.len() as i64;
                let mut start = i64::from(*a);
                let mut end = i64::from(*b);
                if start < 0 {
                    start += len;
                }
                if end < 0 {
                    end += len;
                }
                let start = start.max(0);
                let kept: List = list
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| (*i as i64) >= start && (*i as i64) <= end)
                    .map(|(_, v)| v)
                    .collect();
                put_list(model, *k, kept);
                Frame::ok()
            }
        },
        Op::Rem(k, n, v) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) => Frame::Integer(0),
            Ok(Some(list)) => {
                let v = VALUES[*v as usize];
                let limit = if *n == 0 {
                    usize::MAX
                } else {
                    n.unsigned_abs() as usize
                };
                let mut removed = 0;
                let mut kept: Vec<&'static str> = Vec::new();
                let items: Vec<&'static str> = if *n < 0 {
                    list.iter().rev().copied().collect()
                } else {
                    list.iter().copied().collect()
                };
                for item in items {
                    if item == v && removed < limit {
                        removed += 1;
                    } else {
                        kept.push(item);
                    }
                }
                if *n < 0 {
                    kept.reverse();
                }
                put_list(model, *k, kept.into_iter().collect());
                Frame::Integer(removed as i64)
            }
        },
        Op::Insert(k, after, p, v) => match list_in(model, *k) {
            Err(e) => e,
            Ok(None) => Frame::Integer(0),
            Ok(Some(mut list)) => {
                let Some(at) = list.iter().position(|x| *x == VALUES[*p as usize]) else {
                    return Frame::Integer(-1);
                };
                list.insert(at + usize::from(*after), VALUES[*v as usize]);
                let len = list.len() as i64;
                put_list(model, *k, list);
                Frame::Integer(len)
            }
        },
        Op::Move(a, b, from, to) => {
            let src = match list_in(model, *a) {
                Err(e) => return e,
                Ok(None) => return Frame::Null,
                Ok(Some(src)) => src,
            };
            let dst = match list_in(model, *b) {
                Err(e) => return e,
                Ok(dst) => dst,
            };
            let mut src = src;
            let value = if *from {
                src.pop_front()
            } else {
                src.pop_back()
            };
            let Some(value) = value else {
                return Frame::Null;
            };
            let mut dst = if a == b {
                src.clone()
            } else {
                dst.unwrap_or_default()
            };
            if *to {
                dst.push_front(value);
            } else {
                dst.push_back(value);
            }
            if a != b {
                put_list(model, *a, src);
            }
            put_list(model, *b, dst);
            Frame::bulk(value)
        }
    }
}

impl Family for Lists {
    type Coll = List;
    type Op = Op;
    const TYPE: &'static str = "list";

    fn words(op: &Op) -> Vec<String> {
        let value = |v: &u8| VALUES[*v as usize].to_string();
        match op {
            Op::Push(k, left, xx, vs) => {
                let name = match (left, xx) {
                    (true, false) => "LPUSH",
                    (false, false) => "RPUSH",
                    (true, true) => "LPUSHX",
                    (false, true) => "RPUSHX",
                };
                let mut out = vec![name.to_string(), key_name(*k)];
                out.extend(vs.iter().map(value));
                out
            }
            Op::Pop(k, left, count) => {
                let mut out = vec![
                    if *left { "LPOP" } else { "RPOP" }.to_string(),
                    key_name(*k),
                ];
                out.extend(count.map(|n| n.to_string()));
                out
            }
            Op::Set(k, i, v) => vec!["LSET".into(), key_name(*k), i.to_string(), value(v)],
            Op::Trim(k, a, b) => vec!["LTRIM".into(), key_name(*k), a.to_string(), b.to_string()],
            Op::Rem(k, n, v) => vec!["LREM".into(), key_name(*k), n.to_string(), value(v)],
            Op::Insert(k, after, p, v) => vec![
                "LINSERT".into(),
                key_name(*k),
                if *after { "AFTER" } else { "BEFORE" }.into(),
                value(p),
                value(v),
            ],
            Op::Move(a, b, from, to) => {
                if !from && *to {
                    vec!["RPOPLPUSH".into(), key_name(*a), key_name(*b)]
                } else {
                    vec![
                        "LMOVE".into(),
                        key_name(*a),
                        key_name(*b),
                        side(*from),
                        side(*to),
                    ]
                }
            }
        }
    }

    fn apply(model: &mut Model, op: &Op, reply: &Frame) -> Result<(), String> {
        let want = apply(model, op);
        expect_reply(op, reply, want)
    }

    fn check(server: &mut Server, key: &str, items: &List, now: u64) -> Result<(), String> {
        let want = bulks(items.iter().copied());
        let got = server.run(now, &["LRANGE", key, "0", "-1"]);
        if got != want {
            return Err(format!("{key}: LRANGE {got:?} != {want:?}"));
        }
        let len = server.run(now, &["LLEN", key]);
        if len != Frame::Integer(items.len() as i64) {
            return Err(format!("{key}: LLEN {len:?} != {}", items.len()));
        }
        for (i, item) in items.iter().enumerate() {
            let from_end = format!("-{}", items.len() - i);
            for index in [i.to_string(), from_end] {
                let got = server.run(now, &["LINDEX", key, &index]);
                if got != Frame::bulk(*item) {
                    return Err(format!("{key}: LINDEX {index} {got:?} != {item}"));
                }
            }
        }
        let inner = server.run(now, &["LRANGE", key, "1", "-2"]);
        let want = bulks(
            items
                .iter()
                .copied()
                .skip(1)
                .take(items.len().saturating_sub(2)),
        );
        if inner != want {
            return Err(format!("{key}: LRANGE 1 -2 {inner:?} != {want:?}"));
        }
        let encoding = server.run(now, &["OBJECT", "ENCODING", key]);
        if encoding != Frame::bulk("quicklist") {
            return Err(format!("{key}: encoding {encoding:?}"));
        }
        Ok(())
    }

    fn members(items: &List) -> usize {
        items.len()
    }
}

#[test]
fn lists_match_a_model_under_random_pipelines_rollbacks_and_reopens() {
    super::model_tests::property::<Lists>();
}

#[test]
fn both_ends_grow_from_the_middle_and_copies_keep_the_bounds() {
    let mut server = Server::fresh();
    let now = 1_000_000;
    server.run(now, &["RPUSH", "l", "b", "c"]);
    server.run(now, &["LPUSH", "l", "a"]);
    let meta = server.shared.store.get(0, b"l", now).unwrap().unwrap();
    let middle = crate::keyspace::encoding::LIST_MIDDLE;
    assert_eq!(meta.list_bounds(), (middle - 1, middle + 2));
    assert_eq!(meta.size(), 3);
    assert_eq!(server.run(now, &["COPY", "l", "m"]), Frame::Integer(1));
    let copy = server.shared.store.get(0, b"m", now).unwrap().unwrap();
    assert_eq!(copy.list_bounds(), meta.list_bounds());
    assert_ne!(copy.version, meta.version);
    assert_eq!(server.run(now, &["RENAME", "m", "n"]), Frame::ok());
    assert_eq!(server.run(now, &["MOVE", "n", "1"]), Frame::Integer(1));
    server.run(now, &["SELECT", "1"]);
    assert_eq!(
        server.run(now, &["LRANGE", "n", "0", "-1"]),
        bulks(["a", "b", "c"])
    );
    assert_eq!(server.run(now, &["LPOP", "n"]), Frame::bulk("a"));
    assert_eq!(server.run(now, &["LINDEX", "n", "0"]), Frame::bulk("b"));
}

#[test]
fn lmpop_key_positions_follow_numkeys() {
    let lmpop = lookup(b"lmpop").expect("lmpop");
    let args = |words: &[&str]| -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    };
    assert_eq!(
        lmpop.keys_in(&args(&["lmpop", "2", "a", "b", "LEFT", "COUNT", "1"])),
        vec![2, 3]
    );
    assert!(lmpop.keys_in(&args(&["lmpop", "3", "a", "b"])).is_empty());
    let lmove = lookup(b"lmove").expect("lmove");
    assert_eq!(
        lmove.keys_in(&args(&["lmove", "a", "b", "LEFT", "RIGHT"])),
        vec![1, 2]
    );
}
