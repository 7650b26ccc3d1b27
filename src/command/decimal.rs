//! Exact decimal addition for INCRBYFLOAT.
//!
//! Redis adds in `long double` and prints with `%.17Lf`, so `0.1 + 0.2`
//! reads back as `0.3`. Rust has no long double; adding the two decimal
//! texts exactly and rounding to 17 decimals gives Redis' answer whenever
//! both operands are plain decimals of modest size, which is what clients
//! send. Anything else falls back to f64 arithmetic (see `args::format_float`).

/// A decimal `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    mantissa: i128,
    scale: u32,
}

const MAX_DIGITS: usize = 30;
const MAX_SCALE: u32 = 34;
/// Redis prints `%.17Lf`.
const PRINTED_DECIMALS: u32 = 17;

fn parse(text: &[u8]) -> Option<Decimal> {
    let (negative, rest) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (
            &rest[..i],
            std::str::from_utf8(&rest[i + 1..])
                .ok()?
                .parse::<i32>()
                .ok()?,
        ),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match number.iter().position(|&b| b == b'.') {
        Some(i) => (&number[..i], &number[i + 1..]),
        None => (number, &b""[..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = int_part.iter().chain(frac_part);
    if int_part.len() + frac_part.len() > MAX_DIGITS {
        return None;
    }
    let mut mantissa: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + i128::from(d - b'0');
    }
    let mut scale = frac_part.len() as i32 - exponent;
    while scale < 0 {
        mantissa = mantissa.checked_mul(10)?;
        scale += 1;
    }
    if scale as u32 > MAX_SCALE {
        return None;
    }
    Some(Decimal {
        mantissa: if negative { -mantissa } else { mantissa },
        scale: scale as u32,
    })
}

fn rescale(d: Decimal, scale: u32) -> Option<i128> {
    d.mantissa.checked_mul(10i128.checked_pow(scale - d.scale)?)
}

/// `a + b` as Redis would print it, if both are plain decimals.
pub fn exact_sum(a: &[u8], b: &[u8]) -> Option<String> {
    let (a, b) = (parse(a)?, parse(b)?);
    let scale = a.scale.max(b.scale);
    let mut sum = Decimal {
        mantissa: rescale(a, scale)?.checked_add(rescale(b, scale)?)?,
        scale,
    };
    if sum.scale > PRINTED_DECIMALS {
        let divisor = 10i128.pow(sum.scale - PRINTED_DECIMALS);
        let half = divisor / 2;
        let rounded = if sum.mantissa >= 0 {
            (sum.mantissa + half) / divisor
        } else {
            (sum.mantissa - half) / divisor
        };
        sum = Decimal {
            mantissa: rounded,
            scale: PRINTED_DECIMALS,
        };
    }
    Some(render(sum))
}

fn render(d: Decimal) -> String {
    if d.mantissa == 0 {
        return "0".to_string();
    }
    let digits = d.mantissa.unsigned_abs().to_string();
    let scale = d.scale as usize;
    let (int_part, frac_part) = if digits.len() > scale {
        (
            digits[..digits.len() - scale].to_string(),
            digits[digits.len() - scale..].to_string(),
        )
    } else {
        (
            "0".to_string(),
            format!("{}{}", "0".repeat(scale - digits.len()), digits),
        )
    };
    let frac_part = frac_part.trim_end_matches('0');
    let sign = if d.mantissa < 0 { "-" } else { "" };
    if frac_part.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_read_like_long_double_results() {
        assert_eq!(exact_sum(b"0.1", b"0.2").as_deref(), Some("0.3"));
        assert_eq!(exact_sum(b"10.5", b"0.1").as_deref(), Some("10.6"));
        assert_eq!(exact_sum(b"5.0e3", b"0").as_deref(), Some("5000"));
        assert_eq!(exact_sum(b"1e-20", b"0").as_deref(), Some("0"));
        assert_eq!(exact_sum(b"-3", b"1.5").as_deref(), Some("-1.5"));
        assert_eq!(exact_sum(b"0.00001", b"0").as_deref(), Some("0.00001"));
        assert_eq!(
            exact_sum(b"1.000000000000000005", b"0").as_deref(),
            Some("1.00000000000000001")
        );
    }

    #[test]
    fn non_decimals_fall_back() {
        assert_eq!(exact_sum(b"inf", b"1"), None);
        assert_eq!(exact_sum(b"0x10", b"1"), None);
        assert_eq!(exact_sum(b"1e400", b"1"), None);
        assert_eq!(exact_sum(b".", b"1"), None);
    }
}
