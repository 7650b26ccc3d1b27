//! BITFIELD and BITFIELD_RO: signed (i1..i64) and unsigned (u1..u63)
//! integers at arbitrary bit offsets of a string, with GET, SET, INCRBY
//! and the OVERFLOW WRAP|SAT|FAIL policy that applies to the operations
//! after it.
//!
//! Every operation is parsed (and every error reported) before any runs.
//! With only GETs the key is read lock-free; otherwise the string is grown
//! to the highest bit written and stored once for the whole command, as
//! Redis does.

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::bitmaps::{bit_offset, get_bits, max_len, read_string, set_bits, write_bits};
use super::{Command, Ctx, KeySpec};
use crate::resp::Frame;
use bytes::Bytes;

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("bitfield", -2, &["write", "denyoom"], (1, 1, 1), "bitmap", "Performs arbitrary bitfield integer operations on strings.", bitfield)
        .with_key_specs(&[KeySpec::range(&["RW", "access", "update", "variable_flags"], 1, 0)
            .with_notes("This command allows both access and modification of the key")]),
    Command::new("bitfield_ro", -2, &["readonly", "fast"], (1, 1, 1), "bitmap", "Performs arbitrary read-only bitfield integer operations on strings.", bitfield_ro)
        .with_key_specs(&[KeySpec::range(&["RO", "access"], 1, 0)]),
];

const ERR_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// An integer type of BITFIELD: `i<bits>` or `u<bits>`.
#[derive(Clone, Copy, Debug)]
struct Field {
    signed: bool,
    bits: u32,
}

#[derive(Clone, Copy, Debug)]
struct Op {
    action: Action,
    field: Field,
    offset: u64,
    overflow: Overflow,
}

fn field_type(arg: &[u8]) -> Result<Field, Frame> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err(ERR_TYPE)),
    };
    let max = if signed { 64 } else { 63 };
    match crate::sds::string2ll(&arg[1..]) {
        Some(bits) if (1..=max).contains(&bits) => Ok(Field {
            signed,
            bits: bits as u32,
        }),
        _ => Err(err(ERR_TYPE)),
    }
}

/// Parses the operations after the key, like Redis: a keyword without
/// enough arguments is a syntax error.
fn parse(args: &[Bytes], max_len: u64) -> Result<Vec<Op>, Frame> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let (word, left) = (&args[i], args.len() - i - 1);
        if is(word, "overflow") && left >= 1 {
            overflow = match &args[i + 1] {
                a if is(a, "wrap") => Overflow::Wrap,
                a if is(a, "sat") => Overflow::Sat,
                a if is(a, "fail") => Overflow::Fail,
                _ => return Err(err("ERR Invalid OVERFLOW type specified")),
            };
            i += 2;
            continue;
        }
        let get = is(word, "get") && left >= 2;
        let set = is(word, "set") && left >= 3;
        let incrby = is(word, "incrby") && left >= 3;
        if !(get || set || incrby) {
            return Err(err(ERR_SYNTAX));
        }
        let field = field_type(&args[i + 1])?;
        let offset = bit_offset(&args[i + 2], Some(field.bits), max_len)?;
        let action = match (set, incrby) {
            (true, _) => Action::Set(int_arg(&args[i + 3])?),
            (_, true) => Action::IncrBy(int_arg(&args[i + 3])?),
            _ => Action::Get,
        };
        ops.push(Op {
            action,
            field,
            offset,
            overflow,
        });
        i += if get { 3 } else { 4 };
    }
    Ok(ops)
}

/// The field's value at `offset`, sign-extended for a signed field.
fn read_field(bytes: &[u8], field: Field, offset: u64) -> i64 {
    let raw = get_bits(bytes, offset, field.bits);
    if field.signed && field.bits < 64 && raw >> (field.bits - 1) & 1 == 1 {
        (raw | (u64::MAX << field.bits)) as i64
    } else {
        raw as i64
    }
}

/// `value + incr` in the field's range: Ok with the sum when it fits, or
/// Err with what the overflow policy stores instead (None for FAIL).
/// For SET, `value` is the new value and `incr` 0. Redis' exact rules
/// (`checkSignedBitfieldOverflow` / `checkUnsignedBitfieldOverflow`):
/// wrapping keeps the low bits, saturation picks the nearest bound, and
/// a negative SET of an unsigned field counts as too large.
fn add(field: Field, value: i64, incr: i64, overflow: Overflow) -> Result<i64, Option<i64>> {
    let bits = field.bits;
    let (fits, high) = if field.signed {
        let max = if bits == 64 {
            i64::MAX
        } else {
            (1i64 << (bits - 1)) - 1
        };
        let min = -max - 1;
        let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
        let min_incr = min.wrapping_sub(value);
        let over = value > max
            || (bits != 64 && incr > max_incr)
            || (value >= 0 && incr > 0 && incr > max_incr);
        let under = value < min
            || (bits != 64 && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr);
        (!over && !under, if over { max } else { min })
    } else {
        let (value, max) = (value as u64, (1u64 << bits) - 1);
        let over = value > max || (incr > 0 && incr > max.wrapping_sub(value) as i64);
        let under = incr < 0 && incr < (value as i64).wrapping_neg();
        (!over && !under, if over { max as i64 } else { 0 })
    };
    if fits {
        return Ok(value.wrapping_add(incr));
    }
    Err(match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(high),
        Overflow::Wrap => Some(wrap(field, value.wrapping_add(incr))),
    })
}

/// The field's value of the low `bits` bits of `sum`.
fn wrap(field: Field, sum: i64) -> i64 {
    if field.bits == 64 {
        return sum;
    }
    let mask = u64::MAX << field.bits;
    let sum = sum as u64;
    let negative = field.signed && sum >> (field.bits - 1) & 1 == 1;
    (if negative { sum | mask } else { sum & !mask }) as i64
}

/// Runs one operation on the (already grown) string.
fn apply(bytes: &mut [u8], op: &Op) -> Frame {
    let old = read_field(bytes, op.field, op.offset);
    let (new, reply) = match op.action {
        Action::Get => return Frame::Integer(old),
        Action::Set(value) => (add(op.field, value, 0, op.overflow), old),
        Action::IncrBy(incr) => {
            let new = add(op.field, old, incr, op.overflow);
            let stored = match new {
                Ok(sum) | Err(Some(sum)) => sum,
                Err(None) => old,
            };
            (new, stored)
        }
    };
    match new {
        Ok(value) | Err(Some(value)) => {
            set_bits(bytes, op.offset, op.field.bits, value as u64);
            Frame::Integer(reply)
        }
        Err(None) => Frame::Null,
    }
}

fn run(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult {
    let ops = parse(args, max_len(ctx))?;
    let highest = ops
        .iter()
        .filter(|op| !matches!(op.action, Action::Get))
        .map(|op| op.offset + u64::from(op.field.bits) - 1)
        .max();
    let Some(highest) = highest else {
        let value = read_string(ctx, &args[1])?.unwrap_or_default();
        let values = ops
            .iter()
            .map(|op| Frame::Integer(read_field(&value, op.field, op.offset)));
        return Ok(Frame::Array(values.collect()));
    };
    if read_only {
        return Err(err("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    // A SET or INCRBY that was applied (not failed by OVERFLOW FAIL) is a
    // change if the string was created or grew or the field's bits moved,
    // as Redis 7.0.15 counts them; then `setbit` is reported.
    let replies = write_bits(ctx, &args[1], highest, |bytes, grown| {
        let mut changed = false;
        let replies = ops
            .iter()
            .map(|op| {
                let old = get_bits(bytes, op.offset, op.field.bits);
                let reply = apply(bytes, op);
                let applied = !matches!(op.action, Action::Get) && reply != Frame::Null;
                changed |= applied && (grown || get_bits(bytes, op.offset, op.field.bits) != old);
                reply
            })
            .collect();
        (replies, changed)
    })?;
    Ok(Frame::Array(replies))
}

/// BITFIELD key [GET type offset | SET type offset value |
/// INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset] ...
fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(ctx, args, true)
}
