//! Double formatting for replies.
//!
//! Layout: Redis 7.0's `%.17g`: 17 significant digits, trailing zeros
//! dropped (so `0.1` reads `0.10000000000000001`, as redis-server 7.0.15
//! answers; 7.2 switched to the shortest round-trip digits), laid out by
//! `%g` rules: scientific notation (`1e+21`, `1.5e-05`, at least two
//! exponent digits) when the decimal exponent is below -4 or at least 17,
//! plain decimal without trailing zeros otherwise. Special values use
//! Redis' spellings: `inf`, `-inf`, `nan`, and `-0` for negative zero.
//!
//! Everything is built in a stack buffer so `write_double` does not
//! allocate on the reply hot path.

use std::fmt::{self, Write};

/// Longest output: `-1.2345678901234567e-308` is 24 bytes.
const CAP: usize = 32;

/// A fixed-capacity byte buffer usable as a `fmt::Write` target.
struct StackBuf {
    buf: [u8; CAP],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; CAP],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(CAP)]
    }
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.len + s.len() > CAP {
            return Err(fmt::Error);
        }
        self.extend(s.as_bytes());
        Ok(())
    }
}

/// The formatted text of one double, kept on the stack.
pub(crate) struct DoubleText(StackBuf);

impl DoubleText {
    pub(crate) fn new(v: f64) -> Self {
        Self::with_precision(v, 17)
    }

    /// `%.<precision>g` (1 to 17 significant digits).
    fn with_precision(v: f64, precision: usize) -> Self {
        let mut out = StackBuf::new();
        if v.is_nan() {
            out.extend(b"nan");
        } else if v.is_infinite() {
            out.extend(if v < 0.0 { b"-inf" } else { b"inf" });
        } else if v == 0.0 {
            out.extend(if v.is_sign_negative() { b"-0" } else { b"0" });
        } else {
            layout(v, precision.clamp(1, 17), &mut out);
        }
        DoubleText(out)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Formats a finite non-zero double. Rust's `{:.16e}` yields the 17
/// correctly rounded significant digits as `d.dddde<exp>`, as printf does
/// (fewer for a smaller `precision`); they are re-laid out by `%g` rules
/// without their trailing zeros.
fn layout(v: f64, precision: usize, out: &mut StackBuf) {
    let mut sci = StackBuf::new();
    if write!(sci, "{:.*e}", precision - 1, v.abs()).is_err() {
        return;
    }
    let text = sci.as_bytes();
    let (mantissa, exp_text) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b"0"[..]),
    };
    let mut digits = [0u8; 20];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    let exp = parse_exp(exp_text);

    if v < 0.0 {
        out.push(b'-');
    }
    if !(-4..precision as i32).contains(&exp) {
        scientific(digits, exp, out);
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend(digits);
            for _ in digits.len()..int_len {
                out.push(b'0');
            }
        } else {
            out.extend(&digits[..int_len]);
            out.push(b'.');
            out.extend(&digits[int_len..]);
        }
    } else {
        out.extend(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend(digits);
    }
}

/// `d[.ddd]e±XX`, the exponent padded to two digits as printf does.
fn scientific(digits: &[u8], exp: i32, out: &mut StackBuf) {
    let (first, rest) = match digits.split_first() {
        Some(split) => split,
        None => (&b'0', &[][..]),
    };
    out.push(*first);
    if !rest.is_empty() {
        out.push(b'.');
        out.extend(rest);
    }
    out.push(b'e');
    out.push(if exp < 0 { b'-' } else { b'+' });
    let e = exp.unsigned_abs();
    if e >= 100 {
        out.push(b'0' + (e / 100) as u8);
    }
    out.push(b'0' + (e / 10 % 10) as u8);
    out.push(b'0' + (e % 10) as u8);
}

fn parse_exp(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0i32, |acc, &b| {
            acc.saturating_mul(10).saturating_add(i32::from(b - b'0'))
        });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Formats a double the way replies carry it (see the module docs):
/// `1`, `1.5`, `0.1`, `-0`, `1e+21`, `1.5e-05`, `inf`, `-inf`, `nan`.
pub fn format_double(v: f64) -> String {
    format_double_with(v, 17)
}

/// C's `%.<precision>g`, as [`format_double`] lays it out (Lua's own
/// number text and lua-cjson's are `%.14g`).
pub fn format_double_with(v: f64, precision: usize) -> String {
    DoubleText::with_precision(v, precision)
        .as_bytes()
        .iter()
        .map(|&b| char::from(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::format_double;

    #[test]
    // Expected texts are C's `%.17g` (printf), as redis-server 7.0 sends.
    fn plain_values() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (-0.0, "-0"),
            (0.0, "0"),
            (-2.25, "-2.25"),
            (100.0, "100"),
            (3.25, "3.25"),
            (0.0001, "0.0001"),
            (1e16, "10000000000000000"),
            (12345678901234567.0, "12345678901234568"),
            (123.456, "123.456"),
            (1.0 / 3.0, "0.33333333333333331"),
            (0.1540377145419073, "0.15403771454190729"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_double(v), want, "{v:?}");
        }
    }

    #[test]
    fn exponent_values() {
        let cases: &[(f64, &str)] = &[
            (1e21, "1e+21"),
            (1e17, "1e+17"),
            (1.5e-5, "1.5e-05"),
            (0.00001, "1.0000000000000001e-05"),
            (-1.5e300, "-1.5000000000000001e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (123456789012345680000.0, "1.2345678901234568e+20"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_double(v), want, "{v:?}");
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(f64::NAN), "nan");
        assert_eq!(format_double(-f64::NAN), "nan");
    }

    #[test]
    fn output_round_trips() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                let parsed: f64 = format_double(v).parse().unwrap_or(f64::NAN);
                assert_eq!(parsed.to_bits(), v.to_bits(), "{v:?}");
            }
        }
    }
}
