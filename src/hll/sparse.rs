//! The sparse encoding: run-length opcodes over the 16384 registers.
//!
//! - ZERO  `00xxxxxx`: 1..=64 zero registers;
//! - XZERO `01xxxxxx yyyyyyyy`: 1..=16384 zero registers;
//! - VAL   `1vvvvvxx`: 1..=4 registers of value 1..=32.
//!
//! Updates follow Redis' `hllSparseSet` step by step (split the opcode that
//! covers the register, then merge equal neighbouring VALs in a window of
//! five opcodes), so the same additions give the same bytes.

use super::{Corrupt, HEADER_LEN, REGISTERS};

pub const XZERO_MAX_LEN: usize = 16384;
const ZERO_MAX_LEN: usize = 64;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;

#[derive(Clone, Copy)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn len(self) -> usize {
        match self {
            Op::Zero(len) | Op::XZero(len) | Op::Val(_, len) => len,
        }
    }

    fn width(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }
}

/// The opcode at `at`; a truncated XZERO is corrupt.
fn op_at(ops: &[u8], at: usize) -> Result<Op, Corrupt> {
    let byte = *ops.get(at).ok_or(Corrupt)?;
    Ok(match byte >> 6 {
        0 => Op::Zero(usize::from(byte & 0x3f) + 1),
        1 => {
            let low = *ops.get(at + 1).ok_or(Corrupt)?;
            Op::XZero(((usize::from(byte & 0x3f) << 8) | usize::from(low)) + 1)
        }
        _ => {
            let (value, len) = val_of(byte);
            Op::Val(value, len)
        }
    })
}

/// A VAL opcode's (value, run length).
fn val_of(byte: u8) -> (u8, usize) {
    (((byte >> 2) & 0x1f) + 1, usize::from(byte & 0x3) + 1)
}

fn val(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// Appends zero registers as one ZERO or XZERO opcode (`len` <= 16384).
fn push_zero_run(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

pub fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let stored = len - 1;
    out.push(0x40 | (stored >> 8) as u8);
    out.push((stored & 0xff) as u8);
}

/// What [`set`] did.
pub enum Set {
    /// Updated in place; whether the register changed.
    Done(bool),
    /// The value needs the dense encoding (a value above 32, or the string
    /// would outgrow `hll-sparse-max-bytes`); nothing was changed.
    Promote,
}

/// Raises register `index` of the sparse HLL `hll` (header included) to
/// `count`, if that is higher.
pub fn set(hll: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Result<Set, Corrupt> {
    if count > VAL_MAX_VALUE {
        return Ok(Set::Promote);
    }
    // Step 1: the opcode covering the register, and the one before it.
    let (mut at, mut first, mut prev) = (HEADER_LEN, 0, None);
    let op = loop {
        let op = op_at(hll, at)?;
        if index < first + op.len() {
            break op;
        }
        prev = Some(at);
        at += op.width();
        first += op.len();
    };
    // Step 2: the trivial cases, changed in place.
    match op {
        Op::Val(value, _) if value >= count => return Ok(Set::Done(false)),
        Op::Val(_, 1) | Op::Zero(1) => hll[at] = val(count, 1),
        _ => {
            // Step 3: split the opcode around the register.
            let last = first + op.len() - 1;
            let mut seq = Vec::with_capacity(5);
            let push_run = |seq: &mut Vec<u8>, len| match op {
                Op::Val(value, _) => seq.push(val(value, len)),
                _ => push_zero_run(seq, len),
            };
            if index != first {
                push_run(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                push_run(&mut seq, last - index);
            }
            let grows = seq.len() > op.width();
            if grows && (hll.len() + seq.len() - op.width()) as u64 > max_bytes {
                return Ok(Set::Promote);
            }
            hll.splice(at..at + op.width(), seq);
        }
    }
    merge_neighbours(hll, prev.unwrap_or(HEADER_LEN));
    hll[HEADER_LEN - 1] |= super::STALE;
    Ok(Set::Done(true))
}

/// Step 4: merges adjacent VAL opcodes of equal value whose runs fit one
/// opcode, scanning up to five opcodes from `at`.
fn merge_neighbours(hll: &mut Vec<u8>, mut at: usize) {
    let mut budget = 5;
    while at < hll.len() && budget > 0 {
        budget -= 1;
        let byte = hll[at];
        match byte >> 6 {
            0 => at += 1,
            1 => at += 2,
            _ => {
                let (v1, l1) = val_of(byte);
                if let Some(&next) = hll.get(at + 1).filter(|&&next| next & 0x80 != 0) {
                    let (v2, l2) = val_of(next);
                    if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                        hll[at + 1] = val(v1, l1 + l2);
                        hll.remove(at);
                        // Try the merged opcode with its right neighbour.
                        continue;
                    }
                }
                at += 1;
            }
        }
    }
}

/// Calls `run(first, len, value)` for each opcode of `ops` (value 0 for
/// the zero runs). The runs must cover exactly the 16384 registers.
pub fn for_each_run(ops: &[u8], mut run: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let (mut at, mut first) = (0, 0);
    while at < ops.len() {
        let op = op_at(ops, at)?;
        if first + op.len() > REGISTERS {
            return Err(Corrupt);
        }
        let value = match op {
            Op::Val(value, _) => value,
            _ => 0,
        };
        run(first, op.len(), value);
        at += op.width();
        first += op.len();
    }
    if first == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// PFDEBUG DECODE's text: `z:len`, `Z:len`, `v:value,len`, space separated.
pub fn describe(ops: &[u8]) -> String {
    let mut words = Vec::new();
    let mut at = 0;
    while let Ok(op) = op_at(ops, at) {
        words.push(match op {
            Op::Zero(len) => format!("z:{len}"),
            Op::XZero(len) => format!("Z:{len}"),
            Op::Val(value, len) => format!("v:{value},{len}"),
        });
        at += op.width();
    }
    words.join(" ")
}
