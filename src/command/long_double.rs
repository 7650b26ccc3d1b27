//! x87 `long double` arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis reads both operands with `strtold`, adds them in `long double` (on
//! x86-64 the 80-bit extended format: a 64-bit mantissa) and prints the sum
//! with `%.17Lf`, trailing zeros removed. Its replies therefore show the
//! binary sum's digits: `123456789.123456789` plus `1e-9` is
//! `123456789.12345678999554366`, and `1e20` plus `0.5` is
//! `100000000000000000000`. Rust has no such type, so this is a software
//! one: reading and adding round to nearest (ties to even) exactly as the
//! hardware does, printing is exact, all on a small big integer.
//!
//! Not modelled: subnormal values (below about 3.4e-4932), which count as
//! zero here (they print as 0 all the same).

use std::cmp::Ordering;

/// Bits of the extended format's mantissa (its integer bit included).
const MANTISSA_BITS: u64 = 64;
/// A finite value is `mantissa * 2^exponent` with the mantissa's top bit
/// set; these bound the exponent of a normal extended value.
const MAX_EXPONENT: i64 = 16383 - 63;
const MIN_EXPONENT: i64 = -16382 - 63;
/// The smallest subnormal extended value is `2^MIN_SUBNORMAL_EXPONENT`.
const MIN_SUBNORMAL_EXPONENT: i64 = -16445;
/// Redis prints `%.17Lf`.
const DECIMALS: u32 = 17;
/// Redis refuses longer numbers (`MAX_LONG_DOUBLE_CHARS`).
const MAX_TEXT: usize = 5 * 1024;

/// A finite extended value: `(-1)^negative * mantissa * 2^exponent`; zero
/// has a zero mantissa.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extended {
    negative: bool,
    mantissa: u64,
    exponent: i64,
}

/// What `strtold` reads, as Redis accepts it (NaN and out-of-range values
/// are refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    Finite(Extended),
    Infinite,
}

/// Zero, what a missing key or field counts as.
pub const ZERO: LongDouble = LongDouble::Finite(Extended::ZERO);

/// Reads a number as Redis' `string2ld` does: no surrounding spaces, the
/// whole text, no NaN, nothing that overflows or underflows to zero.
pub fn parse(text: &[u8]) -> Option<LongDouble> {
    if text.is_empty() || text.len() >= MAX_TEXT {
        return None;
    }
    let (negative, body) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Infinite);
    }
    if let Some(hex) = body
        .strip_prefix(b"0x")
        .or_else(|| body.strip_prefix(b"0X"))
    {
        let (integer, exponent) = hex_digits(hex)?;
        return round(negative, &integer, exponent, false).map(LongDouble::Finite);
    }
    let (digits, exponent) = decimal_digits(body)?;
    let significant = digits.iter().position(|&d| d != 0);
    let Some(first) = significant else {
        return Some(ZERO);
    };
    let digits = &digits[first..];
    // The value lies in [10^(magnitude-1), 10^magnitude): refuse what is
    // far out of range before building huge integers.
    let magnitude = digits.len() as i64 + exponent;
    if !(-4960..=4940).contains(&magnitude) {
        return None;
    }
    let mut integer = Big::zero();
    for &digit in digits {
        integer.mul_small(10);
        integer.add_small(u32::from(digit));
    }
    let value = if exponent >= 0 {
        integer.mul_pow10(exponent as u32);
        round(negative, &integer, 0, false)
    } else {
        // integer / 10^-exponent, with a quotient of 66 or 67 bits to round.
        let mut divisor = Big::pow10((-exponent) as u32);
        let gap = integer.bits() as i64 - divisor.bits() as i64 - 66;
        if gap < 0 {
            integer.shl(gap.unsigned_abs());
        } else {
            divisor.shl(gap as u64);
        }
        let (quotient, exact) = integer.div_small_quotient(&divisor);
        round(negative, &Big::from_u128(quotient), gap, !exact)
    };
    value.map(LongDouble::Finite)
}

/// `[whole][.fraction][<marker>[sign]digits]` split into whole digits,
/// fraction digits (not both empty) and the exponent; the digits are not
/// checked.
fn split_number(body: &[u8], marker: u8) -> Option<(&[u8], &[u8], i64)> {
    let (number, exponent) = match body.iter().position(|b| b.to_ascii_lowercase() == marker) {
        Some(at) => (&body[..at], parse_exponent(&body[at + 1..])?),
        None => (body, 0),
    };
    let (whole, fraction) = match number.iter().position(|&b| b == b'.') {
        Some(at) => (&number[..at], &number[at + 1..]),
        None => (number, &b""[..]),
    };
    (!whole.is_empty() || !fraction.is_empty()).then_some((whole, fraction, exponent))
}

/// The decimal digits of `[digits][.digits][e[sign]digits]` and the power
/// of ten they are scaled by.
fn decimal_digits(body: &[u8]) -> Option<(Vec<u8>, i64)> {
    let (whole, fraction, exponent) = split_number(body, b'e')?;
    let digits = whole
        .iter()
        .chain(fraction)
        .map(|&b| b.is_ascii_digit().then(|| b - b'0'))
        .collect::<Option<Vec<u8>>>()?;
    Some((digits, exponent - fraction.len() as i64))
}

/// A C99 hexadecimal float after its `0x`: `[hex][.hex][p[sign]digits]`,
/// as an integer and the power of two it is scaled by.
fn hex_digits(body: &[u8]) -> Option<(Big, i64)> {
    let (whole, fraction, exponent) = split_number(body, b'p')?;
    let mut integer = Big::zero();
    for &b in whole.iter().chain(fraction) {
        integer.mul_small(16);
        integer.add_small((b as char).to_digit(16)?);
    }
    Some((integer, exponent - 4 * fraction.len() as i64))
}

/// An exponent's `[sign]digits`, saturated far beyond any finite value.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = (value * 10 + i64::from(b - b'0')).min(1 << 40);
    }
    Some(if negative { -value } else { value })
}

/// `a + b`; `None` when the sum is not finite (an infinite operand, or an
/// overflow), which Redis reports as NaN or Infinity.
pub fn add(a: LongDouble, b: LongDouble) -> Option<Extended> {
    let (LongDouble::Finite(a), LongDouble::Finite(b)) = (a, b) else {
        return None;
    };
    if a.mantissa == 0 {
        return Some(b);
    }
    if b.mantissa == 0 {
        return Some(a);
    }
    // Exact: both on the smaller exponent, then one rounding.
    let base = a.exponent.min(b.exponent);
    let mut x = Big::from_u128(u128::from(a.mantissa));
    x.shl((a.exponent - base) as u64);
    let mut y = Big::from_u128(u128::from(b.mantissa));
    y.shl((b.exponent - base) as u64);
    if a.negative == b.negative {
        x.add(&y);
        return round(a.negative, &x, base, false);
    }
    match x.cmp(&y) {
        Ordering::Equal => Some(Extended::ZERO),
        Ordering::Greater => {
            x.sub(&y);
            round(a.negative, &x, base, false)
        }
        Ordering::Less => {
            y.sub(&x);
            round(b.negative, &y, base, false)
        }
    }
}

/// `%.17Lf` with the trailing zeros (and a bare point) removed, and `-0`
/// written `0`: Redis' `ld2string` in its human mode.
pub fn format(value: Extended) -> String {
    let mut scaled = Big::from_u128(u128::from(value.mantissa));
    scaled.mul_pow10(DECIMALS);
    let units = if value.exponent >= 0 {
        scaled.shl(value.exponent as u64);
        scaled
    } else {
        shift_right_rounded(&scaled, (-value.exponent) as u64)
    };
    let digits = units.to_decimal();
    let width = DECIMALS as usize + 1;
    let padded = format!("{digits:0>width$}");
    let (whole, fraction) = padded.split_at(padded.len() - DECIMALS as usize);
    let fraction = fraction.trim_end_matches('0');
    let mut text = String::new();
    if value.negative && (whole != "0" || !fraction.is_empty()) {
        text.push('-');
    }
    text.push_str(whole);
    if !fraction.is_empty() {
        text.push('.');
        text.push_str(fraction);
    }
    text
}

impl Extended {
    const ZERO: Extended = Extended {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };
}

/// `value * 2^exponent` (plus something below its last bit if `sticky`)
/// rounded to a 64-bit mantissa, to nearest, ties to even; `None` when it
/// is out of the normal range.
fn round(negative: bool, value: &Big, exponent: i64, sticky: bool) -> Option<Extended> {
    let bits = value.bits();
    if bits == 0 {
        return Some(Extended::ZERO);
    }
    let (mut mantissa, mut exponent) = if bits <= MANTISSA_BITS {
        let up = MANTISSA_BITS - bits;
        (value.low_u64() << up, exponent - up as i64)
    } else {
        let dropped = bits - MANTISSA_BITS;
        let kept = value.shifted_right(dropped).low_u64();
        let half = value.bit(dropped - 1);
        let below = sticky || value.any_below(dropped - 1);
        let mut mantissa = kept;
        let mut exponent = exponent + dropped as i64;
        if half && (below || kept & 1 == 1) {
            mantissa = mantissa.wrapping_add(1);
            if mantissa == 0 {
                mantissa = 1 << 63;
                exponent += 1;
            }
        }
        (mantissa, exponent)
    };
    if exponent > MAX_EXPONENT {
        return None;
    }
    if exponent < MIN_EXPONENT {
        // Subnormal: kept as zero (it prints as 0 all the same). Only a
        // value below the smallest subnormal is out of range.
        return (exponent + 63 >= MIN_SUBNORMAL_EXPONENT).then_some(Extended::ZERO);
    }
    if mantissa == 0 {
        mantissa = 1 << 63;
        exponent += 1;
    }
    Some(Extended {
        negative,
        mantissa,
        exponent,
    })
}

/// `value / 2^shift` rounded to nearest, ties to even (printf's rounding).
fn shift_right_rounded(value: &Big, shift: u64) -> Big {
    let mut result = value.shifted_right(shift);
    if value.bit(shift - 1) && (value.any_below(shift - 1) || result.bit(0)) {
        result.add_small(1);
    }
    result
}

/// A non-negative big integer: little-endian 32-bit limbs, no zero limb on
/// top.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u128(mut value: u128) -> Big {
        let mut limbs = Vec::new();
        while value != 0 {
            limbs.push(value as u32);
            value >>= 32;
        }
        Big(limbs)
    }

    fn pow10(exponent: u32) -> Big {
        let mut value = Big::from_u128(1);
        value.mul_pow10(exponent);
        value
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    fn bit(&self, index: u64) -> bool {
        let limb = (index / 32) as usize;
        self.0.get(limb).is_some_and(|l| l >> (index % 32) & 1 == 1)
    }

    /// Whether any bit below `index` is set.
    fn any_below(&self, index: u64) -> bool {
        let limb = (index / 32) as usize;
        let partial = self
            .0
            .get(limb)
            .is_some_and(|l| l & ((1u32 << (index % 32)) - 1) != 0);
        partial || self.0.iter().take(limb).any(|&l| l != 0)
    }

    fn low_u64(&self) -> u64 {
        let low = u64::from(self.0.first().copied().unwrap_or(0));
        let high = u64::from(self.0.get(1).copied().unwrap_or(0));
        low | high << 32
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut exponent: u32) {
        while exponent >= 9 {
            self.mul_small(1_000_000_000);
            exponent -= 9;
        }
        self.mul_small(10u32.pow(exponent));
    }

    fn add_small(&mut self, addend: u32) {
        let mut carry = u64::from(addend);
        for limb in &mut self.0 {
            if carry == 0 {
                return;
            }
            let sum = u64::from(*limb) + carry;
            *limb = sum as u32;
            carry = sum >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn add(&mut self, other: &Big) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = 0u64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let sum = u64::from(*limb) + u64::from(other.0.get(i).copied().unwrap_or(0)) + carry;
            *limb = sum as u32;
            carry = sum >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self -= other`; `other` must not be larger.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let difference =
                i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            *limb = difference.rem_euclid(1 << 32) as u32;
            borrow = i64::from(difference < 0);
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn shl(&mut self, shift: u64) {
        if self.0.is_empty() || shift == 0 {
            return;
        }
        let (limbs, bits) = ((shift / 32) as usize, (shift % 32) as u32);
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let next = *limb >> (32 - bits);
                *limb = *limb << bits | carry;
                carry = next;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shifted_right(&self, shift: u64) -> Big {
        let (limbs, bits) = ((shift / 32) as usize, (shift % 32) as u32);
        let rest = self.0.get(limbs..).unwrap_or(&[]);
        let mut out: Vec<u32> = if bits == 0 {
            rest.to_vec()
        } else {
            (0..rest.len())
                .map(|i| rest[i] >> bits | rest.get(i + 1).map_or(0, |&n| n << (32 - bits)))
                .collect()
        };
        while out.last() == Some(&0) {
            out.pop();
        }
        Big(out)
    }

    /// `self / divisor` when the quotient fits in 128 bits, and whether
    /// the division is exact: one trial subtraction per quotient bit.
    fn div_small_quotient(&self, divisor: &Big) -> (u128, bool) {
        let mut remainder = self.clone();
        let top = remainder.bits().saturating_sub(divisor.bits()).min(127);
        let mut quotient = 0u128;
        for bit in (0..=top).rev() {
            let mut trial = divisor.clone();
            trial.shl(bit);
            if remainder.cmp(&trial) != Ordering::Less {
                remainder.sub(&trial);
                quotient |= 1 << bit;
            }
        }
        (quotient, remainder.0.is_empty())
    }

    fn to_decimal(&self) -> String {
        if self.0.is_empty() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        let mut rest = self.clone();
        while !rest.0.is_empty() {
            let mut remainder = 0u64;
            for limb in rest.0.iter_mut().rev() {
                let current = remainder << 32 | u64::from(*limb);
                *limb = (current / 1_000_000_000) as u32;
                remainder = current % 1_000_000_000;
            }
            rest.trim();
            chunks.push(remainder as u32);
        }
        let mut text = chunks.pop().map_or_else(String::new, |c| c.to_string());
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }
}

#[cfg(test)]
#[path = "long_double_tests.rs"]
mod tests;
