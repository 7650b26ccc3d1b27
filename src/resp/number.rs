//! Integer helpers shared by the parsers and the encoder.
//!
//! Parsing follows Redis' `string2ll` to the letter, because the request
//! parser must reject exactly the length fields Redis rejects (`*01`, `*-0`,
//! `*+1`, `* 1`, 21+ characters...). Formatting writes into a stack buffer so
//! the reply hot path never allocates for a number.

use bytes::{BufMut, BytesMut};

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
    fn put_i64_formats_extremes() {
        for v in [0, 1, -1, 10, -10, i64::MAX, i64::MIN, 1234567890] {
            let mut out = BytesMut::new();
            put_i64(&mut out, v);
            assert_eq!(&out[..], v.to_string().as_bytes());
        }
    }
}
