//! Bitmaps against a model: random SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/
//! BITFIELD sequences run through `execute` on the memory engine, every
//! reply checked against a `Vec<u8>`-per-key model that works bit by bit
//! (and does BITFIELD arithmetic in i128), then every key's bytes by GET.

use super::super::model_tests::Server;
use crate::engine::memory::MemoryEngine;
use crate::resp::Frame;
use quickcheck::{Arbitrary, Gen, QuickCheck};
use std::collections::BTreeMap;
use std::sync::Arc;

const KEYS: u8 = 3;

#[derive(Clone, Debug)]
struct FieldOp {
    /// 0 GET, 1 SET, 2 INCRBY.
    action: u8,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    /// 0 WRAP, 1 SAT, 2 FAIL: an OVERFLOW before this operation.
    overflow: Option<u8>,
}

#[derive(Clone, Debug)]
enum Op {
    SetBit(u8, u64, bool),
    GetBit(u8, u64),
    /// Range and whether it counts bits.
    BitCount(u8, Option<(i64, i64, Option<bool>)>),
    BitPos(u8, bool, Option<i64>, Option<i64>, Option<bool>),
    /// 0 AND, 1 OR, 2 XOR, 3 NOT; destination; sources.
    Combine(u8, u8, Vec<u8>),
    BitField(u8, Vec<FieldOp>),
}

fn small(g: &mut Gen, range: i64) -> i64 {
    i64::arbitrary(g).rem_euclid(2 * range + 1) - range
}

impl Arbitrary for FieldOp {
    fn arbitrary(g: &mut Gen) -> FieldOp {
        let signed = bool::arbitrary(g);
        let bits = u32::arbitrary(g) % if signed { 64 } else { 63 } + 1;
        let value = match u8::arbitrary(g) % 3 {
            0 => small(g, 300),
            1 => i64::arbitrary(g),
            _ => *g.choose(&[i64::MIN, i64::MAX, -1, 0, 1]).unwrap_or(&0),
        };
        FieldOp {
            action: u8::arbitrary(g) % 3,
            signed,
            bits,
            offset: u64::arbitrary(g) % 40,
            value,
            overflow: Option::<u8>::arbitrary(g).map(|o| o % 3),
        }
    }
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = |g: &mut Gen| u8::arbitrary(g) % KEYS;
        let range = |g: &mut Gen| (small(g, 12), small(g, 12), Option::<bool>::arbitrary(g));
        match u8::arbitrary(g) % 10 {
            0..=2 => Op::SetBit(key(g), u64::arbitrary(g) % 48, bool::arbitrary(g)),
            3 => Op::GetBit(key(g), u64::arbitrary(g) % 64),
            4 => Op::BitCount(key(g), Option::arbitrary(g).map(|()| range(g))),
            5 => {
                let (start, end, unit) = range(g);
                let start = bool::arbitrary(g).then_some(start);
                let end = start.and(bool::arbitrary(g).then_some(end));
                Op::BitPos(key(g), bool::arbitrary(g), start, end, end.and(unit))
            }
            6 => {
                let op = u8::arbitrary(g) % 4;
                let count = if op == 3 {
                    1
                } else {
                    usize::arbitrary(g) % 3 + 1
                };
                Op::Combine(op, key(g), (0..count).map(|_| key(g)).collect())
            }
            _ => {
                let count = usize::arbitrary(g) % 4;
                Op::BitField(key(g), (0..count).map(|_| FieldOp::arbitrary(g)).collect())
            }
        }
    }
}

fn unit_word(unit: Option<bool>) -> Option<String> {
    unit.map(|bit| if bit { "BIT" } else { "BYTE" }.to_string())
}

fn words(op: &Op) -> Vec<String> {
    let key = |k: &u8| format!("b{k}");
    let mut out: Vec<String> = Vec::new();
    match op {
        Op::SetBit(k, offset, on) => out.extend([
            "SETBIT".into(),
            key(k),
            offset.to_string(),
            u8::from(*on).to_string(),
        ]),
        Op::GetBit(k, offset) => out.extend(["GETBIT".into(), key(k), offset.to_string()]),
        Op::BitCount(k, range) => {
            out.extend(["BITCOUNT".into(), key(k)]);
            if let Some((start, end, unit)) = range {
                out.extend([start.to_string(), end.to_string()]);
                out.extend(unit_word(*unit));
            }
        }
        Op::BitPos(k, bit, start, end, unit) => {
            out.extend(["BITPOS".into(), key(k), u8::from(*bit).to_string()]);
            out.extend(start.map(|s| s.to_string()));
            out.extend(end.map(|e| e.to_string()));
            out.extend(unit_word(*unit));
        }
        Op::Combine(op, dest, sources) => {
            out.extend([
                "BITOP".into(),
                ["AND", "OR", "XOR", "NOT"][*op as usize].into(),
                key(dest),
            ]);
            out.extend(sources.iter().map(key));
        }
        Op::BitField(k, fields) => {
            out.extend(["BITFIELD".into(), key(k)]);
            for f in fields {
                if let Some(o) = f.overflow {
                    out.extend([
                        "OVERFLOW".into(),
                        ["WRAP", "SAT", "FAIL"][o as usize].into(),
                    ]);
                }
                let kind = format!("{}{}", if f.signed { "i" } else { "u" }, f.bits);
                out.extend([
                    ["GET", "SET", "INCRBY"][f.action as usize].into(),
                    kind,
                    f.offset.to_string(),
                ]);
                if f.action > 0 {
                    out.push(f.value.to_string());
                }
            }
        }
    }
    out
}

type Model = BTreeMap<u8, Vec<u8>>;

fn bit_at(bytes: &[u8], i: u64) -> bool {
    bytes
        .get((i / 8) as usize)
        .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

fn put_bit(bytes: &mut Vec<u8>, i: u64, on: bool) {
    let byte = (i / 8) as usize;
    if bytes.len() <= byte {
        bytes.resize(byte + 1, 0);
    }
    if on {
        bytes[byte] |= 0x80 >> (i % 8);
    } else {
        bytes[byte] &= !(0x80 >> (i % 8));
    }
}

/// The bit positions a start/end range selects, or an empty range.
fn selected(len: usize, start: i64, end: i64, in_bits: bool) -> std::ops::Range<u64> {
    let size = len as i64 * if in_bits { 8 } else { 1 };
    let from = if start < 0 { size + start } else { start }.max(0);
    let to = if end < 0 { size + end } else { end }.max(0).min(size - 1);
    if from > to {
        return 0..0;
    }
    let scale = if in_bits { 1 } else { 8 };
    (from * scale) as u64..((to + 1) * scale) as u64
}

/// A bitfield value after `sum` is stored per the overflow policy (0
/// WRAP, 1 SAT, 2 FAIL, 3 saturate at the maximum), or None for FAIL.
fn fit(sum: i128, signed: bool, bits: u32, overflow: u8) -> Option<i128> {
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if (min..=max).contains(&sum) {
        return Some(sum);
    }
    match overflow {
        0 => {
            let wrapped = sum.rem_euclid(1i128 << bits);
            Some(if wrapped > max {
                wrapped - (1i128 << bits)
            } else {
                wrapped
            })
        }
        1 => Some(sum.clamp(min, max)),
        3 => Some(max),
        _ => None,
    }
}

fn field_value(bytes: &[u8], f: &FieldOp) -> i128 {
    let raw = (0..u64::from(f.bits)).fold(0i128, |v, i| {
        (v << 1) | i128::from(bit_at(bytes, f.offset + i))
    });
    if f.signed && raw >= 1i128 << (f.bits - 1) {
        raw - (1i128 << f.bits)
    } else {
        raw
    }
}

/// Applies `op` to the model and returns the reply it predicts.
fn predict(model: &mut Model, op: &Op) -> Frame {
    let int = |n: i128| Frame::Integer(n as i64);
    match op {
        Op::SetBit(k, offset, on) => {
            let bytes = model.entry(*k).or_default();
            let old = bit_at(bytes, *offset);
            put_bit(bytes, *offset, *on);
            int(old.into())
        }
        Op::GetBit(k, offset) => int(model.get(k).is_some_and(|b| bit_at(b, *offset)).into()),
        Op::BitCount(k, range) => {
            let Some(bytes) = model.get(k) else {
                return int(0);
            };
            let bits = match range {
                Some((start, end, _)) if *start < 0 && *end < 0 && start > end => 0..0,
                Some((start, end, unit)) => {
                    selected(bytes.len(), *start, *end, *unit == Some(true))
                }
                None => 0..bytes.len() as u64 * 8,
            };
            int(bits.filter(|&i| bit_at(bytes, i)).count() as i128)
        }
        Op::BitPos(k, bit, start, end, unit) => {
            let Some(bytes) = model.get(k) else {
                return int(if *bit { -1 } else { 0 });
            };
            let bits = selected(
                bytes.len(),
                start.unwrap_or(0),
                end.unwrap_or(-1),
                *unit == Some(true),
            );
            let padded = !*bit && end.is_none() && !bits.is_empty();
            let past = bits.end;
            match bits.clone().find(|&i| bit_at(bytes, i) == *bit) {
                Some(i) => int(i.into()),
                None if padded => int(past.into()),
                None => int(-1),
            }
        }
        Op::Combine(op, dest, sources) => {
            let inputs: Vec<Vec<u8>> = sources
                .iter()
                .map(|s| model.get(s).cloned().unwrap_or_default())
                .collect();
            let len = inputs.iter().map(Vec::len).max().unwrap_or(0);
            let result: Vec<u8> = (0..len)
                .map(|i| {
                    let mut bytes = inputs.iter().map(|s| s.get(i).copied().unwrap_or(0));
                    let first = bytes.next().unwrap_or(0);
                    bytes.fold(if *op == 3 { !first } else { first }, |acc, b| match op {
                        0 => acc & b,
                        1 => acc | b,
                        _ => acc ^ b,
                    })
                })
                .collect();
            if result.is_empty() {
                model.remove(dest);
            } else {
                model.insert(*dest, result);
            }
            int(len as i128)
        }
        Op::BitField(k, fields) => {
            let writes = fields.iter().any(|f| f.action > 0);
            let mut bytes = model.get(k).cloned().unwrap_or_default();
            let mut overflow = 0;
            let mut replies = Vec::new();
            for f in fields {
                overflow = f.overflow.unwrap_or(overflow);
                let old = field_value(&bytes, f);
                let (sum, reply_new) = match f.action {
                    0 => {
                        replies.push(int(old));
                        continue;
                    }
                    // An unsigned SET takes the value as a u64.
                    1 if !f.signed => (i128::from(f.value as u64), false),
                    1 => (i128::from(f.value), false),
                    _ => (old + i128::from(f.value), true),
                };
                // Redis' quirk: a signed SET far below the type's range
                // (max - value overflows an i64) counts as too large.
                let quirk = f.action == 1 && f.signed && f.bits < 64;
                let too_far = quirk && ((1i128 << (f.bits - 1)) - 1 - sum) > i128::from(i64::MAX);
                let overflow = if too_far && overflow == 1 {
                    3
                } else {
                    overflow
                };
                match fit(sum, f.signed, f.bits, overflow) {
                    Some(new) => {
                        for i in 0..u64::from(f.bits) {
                            put_bit(
                                &mut bytes,
                                f.offset + i,
                                (new >> (f.bits as u64 - 1 - i)) & 1 == 1,
                            );
                        }
                        replies.push(int(if reply_new { new } else { old }));
                    }
                    None => replies.push(Frame::Null),
                }
            }
            if writes {
                let highest = fields
                    .iter()
                    .filter(|f| f.action > 0)
                    .map(|f| f.offset + u64::from(f.bits));
                let len = highest.max().unwrap_or(0).div_ceil(8) as usize;
                if bytes.len() < len {
                    bytes.resize(len, 0);
                }
                model.insert(*k, bytes);
            }
            Frame::Array(replies)
        }
    }
}

fn run(ops: &[Op]) -> Result<(), String> {
    let engine = Arc::new(MemoryEngine::new());
    let mut server = Server::open(&engine);
    let mut model = Model::new();
    let now = 1_000_000;
    for op in ops {
        let words = words(op);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let reply = server.run(now, &refs);
        let want = predict(&mut model, op);
        if reply != want {
            return Err(format!("{words:?}: got {reply:?}, want {want:?}"));
        }
    }
    for k in 0..KEYS {
        let got = server.run(now, &["GET", &format!("b{k}")]);
        let want = model
            .get(&k)
            .map_or(Frame::Null, |b| Frame::bulk(b.clone()));
        if got != want {
            return Err(format!("b{k}: {got:?} != {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn bitmaps_match_a_bit_by_bit_model() {
    fn prop(ops: Vec<Op>) -> bool {
        match run(&ops) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}");
                false
            }
        }
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<Op>) -> bool);
}

#[test]
fn bit_offsets_are_limited_by_proto_max_bulk_len() {
    let max = 512 * 1024 * 1024;
    assert_eq!(
        super::bit_offset(b"4294967295", None, max),
        Ok(4_294_967_295)
    );
    assert!(super::bit_offset(b"4294967296", None, max).is_err());
    assert!(super::bit_offset(b"-1", None, max).is_err());
    assert_eq!(super::bit_offset(b"#3", Some(8), max), Ok(24));
    assert!(super::bit_offset(b"#3", None, max).is_err());
    assert!(super::bit_offset(b"#-1", Some(8), max).is_err());
}
