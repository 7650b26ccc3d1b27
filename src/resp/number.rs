//! Integer helpers shared by the parsers and the encoder.
//!
//! Parsing follows Redis' `string2ll` to the letter, because the request
//! parser must reject exactly the length fields Redis rejects (`*01`, `*-0`,
//! `*+1`, `* 1`, 21+ characters...). Formatting writes into a stack buffer so
//! the reply hot path never allocates for a number.

use bytes::{BufMut, BytesMut};

/// Redis' `LONG_STR_SIZE`: a string this long or longer is never a number.
const LONG_STR_SIZE: usize = 21;

/// Parses a decimal `i64` with the exact rules of Redis' `string2ll`:
/// optional `-`, no `+`, no leading zeros (except the single digit `0`),
/// no `-0`, no surrounding spaces, shorter than 21 bytes, no overflow.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // -(i64::MIN) == i64::MAX + 1 is the largest magnitude allowed.
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Formats `v` as decimal digits into the tail of `buf`, returning the
/// used suffix. 20 bytes fit `u64::MAX`; the sign is handled by callers.
fn format_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends the decimal form of `v` without allocating.
pub(crate) fn put_i64(out: &mut BytesMut, v: i64) {
    if v < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, v.unsigned_abs());
}

/// Appends the decimal form of `v` without allocating.
pub(crate) fn put_u64(out: &mut BytesMut, v: u64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(format_u64(v, &mut buf));
}

/// Appends `<prefix><n>\r\n`, the shape of every length and integer line.
pub(crate) fn put_len_line(out: &mut BytesMut, prefix: u8, n: usize) {
    out.reserve(24);
    out.put_u8(prefix);
    put_u64(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_accepts_what_redis_accepts() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"7"), Some(7));
        assert_eq!(string2ll(b"-10"), Some(-10));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn string2ll_rejects_what_redis_rejects() {
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"000000000000000000001",
            b"18446744073709551616",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn put_i64_formats_extremes() {
        for v in [0, 1, -1, 10, -10, i64::MAX, i64::MIN, 1234567890] {
            let mut out = BytesMut::new();
            put_i64(&mut out, v);
            assert_eq!(&out[..], v.to_string().as_bytes());
        }
    }
}
