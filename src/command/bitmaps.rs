//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.
//!
//! A bitmap is a string: bit 0 is the most significant bit of the first
//! byte, and bits past the end read as zero. Reads are lock-free point
//! reads; writes load the inline value, change a copy and store it whole
//! (so a bit write costs O(length of the string), see ARCHITECTURE.md).
//! Like Redis 7.0, BITCOUNT and BITPOS answer for a missing key before
//! they look at their range arguments.

use super::args::{err, int_arg, is, of_kind, parse_i64, CmdResult, ERR_SYNTAX};
use super::{Command, Ctx, KeySpec};
use crate::keyspace::encoding::ENCODING_RAW;
use crate::keyspace::{KeyType, Meta};
use crate::notify::Class;
use crate::resp::Frame;
use bytes::Bytes;

#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("setbit", 4, &["write", "denyoom"], (1, 1, 1), "bitmap", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", setbit)
        .with_key_specs(&[KeySpec::range(&["RW", "access", "update"], 1, 0)]),
    Command::new("getbit", 3, &["readonly", "fast"], (1, 1, 1), "bitmap", "Returns a bit value by offset.", getbit)
        .with_key_specs(&[KeySpec::range(&["RO", "access"], 1, 0)]),
    Command::new("bitcount", -2, &["readonly"], (1, 1, 1), "bitmap", "Counts the number of set bits (population counting) in a string.", bitcount)
        .with_key_specs(&[KeySpec::range(&["RO", "access"], 1, 0)]),
    Command::new("bitpos", -3, &["readonly"], (1, 1, 1), "bitmap", "Finds the first set (1) or clear (0) bit in a string.", bitpos)
        .with_key_specs(&[KeySpec::range(&["RO", "access"], 1, 0)]),
    Command::new("bitop", -4, &["write", "denyoom"], (2, -1, 1), "bitmap", "Performs bitwise operations on multiple strings, and stores the result.", bitop)
        .with_key_specs(&[KeySpec::range(&["OW", "update"], 2, 0), KeySpec::range(&["RO", "access"], 3, -1)]),
];

const ERR_BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const ERR_BIT_VALUE: &str = "ERR bit is not an integer or out of range";

/// Parses a bit offset like Redis' `getBitOffsetFromArgument`. With
/// `field_bits` (BITFIELD), `#n` means `n * field_bits`. The offset's byte
/// must lie below `proto-max-bulk-len`.
pub(super) fn bit_offset(arg: &[u8], field_bits: Option<u32>, max_len: u64) -> Result<u64, Frame> {
    let (digits, scale) = match (arg.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .map(|n| n.wrapping_mul(scale))
        .ok_or_else(|| err(ERR_BIT_OFFSET))?;
    match u64::try_from(offset) {
        Ok(offset) if (offset >> 3) < max_len => Ok(offset),
        _ => Err(err(ERR_BIT_OFFSET)),
    }
}

pub(super) fn max_len(ctx: &Ctx) -> u64 {
    ctx.shared.config().proto_max_bulk_len
}

/// The bytes of the string at `key` (lock-free), None if it is missing.
pub(super) fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    Ok(of_kind(ctx.read(key)?, KeyType::String)?.map(|meta| meta.payload))
}

/// Changes the string at `key` as a bitmap: it is created or padded with
/// zero bytes so that bit `max_bit` exists, and `change` runs on its bytes
/// (told whether the string was created or grew) and says whether the
/// write counts as a change. The result is stored (keeping the TTL) if the
/// string was created or grew or changed, as Redis 7.0.15 does: a write of
/// bits that are already set touches nothing (no WATCH abort, no dirty
/// count). A change also reports the `setbit` event.
pub(super) fn write_bits<T>(
    ctx: &mut Ctx,
    key: &[u8],
    max_bit: u64,
    change: impl FnOnce(&mut [u8], bool) -> (T, bool),
) -> Result<T, Frame> {
    ctx.write(|txn, db| {
        let old = of_kind(txn.get(db, key)?, KeyType::String)?;
        let (old_bytes, expire_at) = old
            .as_ref()
            .map_or((&[][..], 0), |meta| (&meta.payload[..], meta.expire_at));
        let len = old_bytes.len().max((max_bit / 8 + 1) as usize);
        let mut value = Vec::with_capacity(len);
        value.extend_from_slice(old_bytes);
        value.resize(len, 0);
        let grown = old.is_none() || len > old_bytes.len();
        let (out, changed) = change(&mut value, grown);
        let meta = Meta {
            encoding: ENCODING_RAW,
            ..Meta::string(Bytes::from(value), expire_at)
        };
        if changed || grown {
            txn.put(db, key, meta)?;
        }
        if changed {
            txn.notify(db, Class::String, "setbit", key);
        }
        Ok(out)
    })
}

/// `bits` bits (at most 64) from bit `offset`, most significant first;
/// bits past the end of `bytes` are zero.
pub(super) fn get_bits(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |value, bit| {
        let byte = bytes.get((bit / 8) as usize).copied().unwrap_or(0);
        (value << 1) | u64::from((byte >> (7 - bit % 8)) & 1)
    })
}

/// Writes the low `bits` bits of `value` from bit `offset`, most
/// significant first (bits past the end of `bytes` are dropped).
pub(super) fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let bit = offset + i;
        let on = (value >> (u64::from(bits) - 1 - i)) & 1 == 1;
        if let Some(byte) = bytes.get_mut((bit / 8) as usize) {
            let mask = 1u8 << (7 - bit % 8);
            *byte = if on { *byte | mask } else { *byte & !mask };
        }
    }
}

/// SETBIT key offset 0|1: the bit's previous value.
fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, max_len(ctx))?;
    let on = parse_i64(&args[3])
        .filter(|value| value & !1 == 0)
        .ok_or_else(|| err(ERR_BIT_VALUE))?;
    // Like Redis 7.0, setting a bit to the value it has is no change.
    let old = write_bits(ctx, &args[1], offset, |bytes, grown| {
        let old = get_bits(bytes, offset, 1);
        set_bits(bytes, offset, 1, on as u64);
        (old, grown || old != on as u64)
    })?;
    Ok(Frame::Integer(old as i64))
}

/// GETBIT key offset.
fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, max_len(ctx))?;
    let value = read_string(ctx, &args[1])?.unwrap_or_default();
    Ok(Frame::Integer(get_bits(&value, offset, 1) as i64))
}

/// Whether a BITCOUNT/BITPOS range counts bits (BIT) or bytes (BYTE).
fn unit_is_bit(arg: &[u8]) -> Result<bool, Frame> {
    match arg {
        a if is(a, "bit") => Ok(true),
        a if is(a, "byte") => Ok(false),
        _ => Err(err(ERR_SYNTAX)),
    }
}

/// Turns a start/end range (negative counts from the end) of bits or
/// bytes into an inclusive bit range of a `len`-byte string, clamped like
/// Redis; None when it is empty.
fn bit_range(start: i64, end: i64, in_bits: bool, len: usize) -> Option<(u64, u64)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// The bits of `byte` (bit 0 = most significant) within `first..=last`
/// when the byte holds bits `base..base + 8`.
fn byte_mask(base: u64, first: u64, last: u64) -> u8 {
    let low = first.saturating_sub(base).min(8);
    let high = (last + 1).saturating_sub(base).min(8);
    let ones = |n: u64| if n >= 8 { 0xffu8 } else { !(0xffu8 >> n) };
    ones(high) & !ones(low)
}

/// Set bits of `bytes` in the inclusive bit range.
fn count_bits(bytes: &[u8], (first, last): (u64, u64)) -> u64 {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    let whole = &bytes[first_byte..=last_byte];
    let mut count: u64 = whole
        .chunks(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            u64::from(u64::from_ne_bytes(word).count_ones())
        })
        .sum();
    for edge in [first_byte, last_byte] {
        let base = edge as u64 * 8;
        count -= u64::from((bytes[edge] & !byte_mask(base, first, last)).count_ones());
        if first_byte == last_byte {
            break;
        }
    }
    count
}

/// The first bit equal to `bit` in the inclusive bit range, if any.
fn find_bit(bytes: &[u8], bit: bool, (first, last): (u64, u64)) -> Option<u64> {
    let skip = if bit { 0x00 } else { 0xff };
    (first / 8..=last / 8).find_map(|index| {
        let base = index * 8;
        let mask = byte_mask(base, first, last);
        let byte = bytes[index as usize];
        // Bits outside the range count as the value we are not after.
        let byte = if bit { byte & mask } else { byte | !mask };
        (byte != skip).then(|| {
            let lead = if bit {
                byte.leading_zeros()
            } else {
                byte.leading_ones()
            };
            base + u64::from(lead)
        })
    })
}

/// BITCOUNT key [start end [BYTE|BIT]].
fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(value) = read_string(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let range = match args.len() {
        2 => bit_range(0, -1, false, value.len()),
        4 | 5 => {
            let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
            // Redis 7.0 answers this before it looks at the unit.
            if start < 0 && end < 0 && start > end {
                return Ok(Frame::Integer(0));
            }
            let in_bits = args
                .get(4)
                .map(|a| unit_is_bit(a))
                .transpose()?
                .unwrap_or(false);
            bit_range(start, end, in_bits, value.len())
        }
        _ => return Err(err(ERR_SYNTAX)),
    };
    let count = range.map_or(0, |range| count_bits(&value, range));
    Ok(Frame::Integer(count as i64))
}

/// BITPOS key bit [start [end [BYTE|BIT]]]. Looking for a 0 without an
/// explicit end, the string counts as padded with zeroes on the right.
fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let bit = match parse_i64(&args[2]) {
        Some(bit @ (0 | 1)) => bit == 1,
        Some(_) => return Err(err("ERR The bit argument must be 1 or 0.")),
        None => return Err(err(super::args::ERR_NOT_INTEGER)),
    };
    let Some(value) = read_string(ctx, &args[1])? else {
        return Ok(Frame::Integer(if bit { -1 } else { 0 }));
    };
    if args.len() > 6 {
        return Err(err(ERR_SYNTAX));
    }
    let start = args.get(3).map(|a| int_arg(a)).transpose()?.unwrap_or(0);
    let in_bits = args
        .get(5)
        .map(|a| unit_is_bit(a))
        .transpose()?
        .unwrap_or(false);
    let end = args.get(4).map(|a| int_arg(a)).transpose()?;
    let Some(range) = bit_range(start, end.unwrap_or(-1), in_bits, value.len()) else {
        return Ok(Frame::Integer(-1));
    };
    let position = match find_bit(&value, bit, range) {
        Some(position) => position as i64,
        None if !bit && end.is_none() => range.1 as i64 + 1,
        None => -1,
    };
    Ok(Frame::Integer(position))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: the result is as long as
/// the longest source (missing bytes are zeroes); an empty result
/// deletes the destination. The destination loses its TTL.
fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let op = match &args[1] {
        a if is(a, "and") => BitOp::And,
        a if is(a, "or") => BitOp::Or,
        a if is(a, "xor") => BitOp::Xor,
        a if is(a, "not") => BitOp::Not,
        _ => return Err(err(ERR_SYNTAX)),
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(err(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    ctx.write(|txn, db| {
        let mut sources = Vec::with_capacity(args.len() - 3);
        for key in &args[3..] {
            let meta = of_kind(txn.get(db, key)?, KeyType::String)?;
            sources.push(meta.map(|meta| meta.payload).unwrap_or_default());
        }
        let len = sources.iter().map(Bytes::len).max().unwrap_or(0);
        let byte = |source: &Bytes, i: usize| source.get(i).copied().unwrap_or(0);
        let result: Vec<u8> = (0..len)
            .map(|i| {
                let mut rest = sources.iter().map(|source| byte(source, i));
                let first = rest.next().unwrap_or(0);
                match op {
                    BitOp::And => rest.fold(first, |acc, b| acc & b),
                    BitOp::Or => rest.fold(first, |acc, b| acc | b),
                    BitOp::Xor => rest.fold(first, |acc, b| acc ^ b),
                    BitOp::Not => !first,
                }
            })
            .collect();
        let dest = &args[2];
        if result.is_empty() {
            if txn.delete(db, dest)? {
                txn.notify(db, Class::Generic, "del", dest);
            }
        } else {
            let meta = Meta {
                encoding: ENCODING_RAW,
                ..Meta::string(Bytes::from(result), 0)
            };
            txn.put(db, dest, meta)?;
            txn.notify(db, Class::String, "set", dest);
        }
        Ok(Frame::Integer(len as i64))
    })
}

#[cfg(test)]
#[path = "bitmaps_tests.rs"]
mod tests;
