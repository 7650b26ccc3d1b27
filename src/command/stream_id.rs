//! Stream entry IDs (`<ms>-<seq>`) as Redis 7.0 reads and writes them:
//! the strict and loose parsers, the interval forms of XRANGE and XPENDING
//! (`(` for an open end), and their exact error replies.

use super::args::{err, parse_i64};
use crate::resp::Frame;
use bytes::Bytes;

pub const ERR_INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// A stream entry ID (`rdb`'s, so a stream converts to its RDB form as
/// is); the order is the stream's order.
pub use crate::rdb::StreamId;

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// Big-endian, so that byte order is ID order.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        Some(StreamId { ms, seq })
    }

    /// The next ID (Redis' `streamIncrID`); `None` past the last one.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { seq, ..self }),
            None => Some(StreamId {
                ms: self.ms.checked_add(1)?,
                seq: 0,
            }),
        }
    }

    /// The previous ID (`streamDecrID`); `None` before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { seq, ..self }),
            None => Some(StreamId {
                ms: self.ms.checked_sub(1)?,
                seq: u64::MAX,
            }),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    pub fn text(self) -> Bytes {
        Bytes::from(format!("{}-{}", self.ms, self.seq))
    }

    pub fn reply(self) -> Frame {
        Frame::Bulk(self.text())
    }
}

/// Redis' `string2ull`: `string2ll` when that reads it (a negative value
/// is out of range), else `strtoull`'s rules (leading spaces, a sign, and
/// a minus that wraps around).
fn string2ull(text: &[u8]) -> Option<u64> {
    if let Some(value) = parse_i64(text) {
        return u64::try_from(value).ok();
    }
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let (negative, digits) = match text[start] {
        b'-' => (true, &text[start + 1..]),
        b'+' => (false, &text[start + 1..]),
        _ => (false, &text[start..]),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |value, digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// How an ID argument may be written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `-` and `+` are the smallest and largest IDs.
    Loose,
    /// `-` and `+` are invalid.
    Strict,
    /// Strict, and `<ms>-*` asks for the sequence to be generated (XADD).
    Add,
}

/// Parses `<ms>[-<seq>]`; a missing sequence is `missing_seq`. With
/// [`Form::Add`], the second value says whether a sequence was given.
fn parse(arg: &[u8], missing_seq: u64, form: Form) -> Result<(StreamId, bool), Frame> {
    let invalid = || err(ERR_INVALID_ID);
    if arg.len() > 127 {
        return Err(invalid());
    }
    // Redis copies the argument into a C string: a NUL ends it.
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    match (arg, form) {
        (b"-" | b"+", Form::Strict | Form::Add) => return Err(invalid()),
        (b"-", Form::Loose) => return Ok((StreamId::MIN, true)),
        (b"+", Form::Loose) => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms).ok_or_else(invalid)?;
    match seq {
        Some(b"*") if form == Form::Add => Ok((StreamId { ms, seq: 0 }, false)),
        Some(seq) => Ok((
            StreamId {
                ms,
                seq: string2ull(seq).ok_or_else(invalid)?,
            },
            true,
        )),
        None => Ok((
            StreamId {
                ms,
                seq: missing_seq,
            },
            true,
        )),
    }
}

/// An ID where `-` and `+` are allowed (XGROUP SETID, range ends).
pub fn parse_loose(arg: &[u8], missing_seq: u64) -> Result<StreamId, Frame> {
    parse(arg, missing_seq, Form::Loose).map(|(id, _)| id)
}

/// An ID where `-` and `+` are not (XDEL, XACK, MINID, XREAD ...).
pub fn parse_strict(arg: &[u8]) -> Result<StreamId, Frame> {
    parse(arg, 0, Form::Strict).map(|(id, _)| id)
}

/// XADD's explicit ID: the ID and whether its sequence was given (`<ms>-*`
/// leaves it to the stream).
pub fn parse_add_id(arg: &[u8]) -> Result<(StreamId, bool), Frame> {
    parse(arg, 0, Form::Add)
}

/// The first ID of an interval (XRANGE's start, XREVRANGE's end ...):
/// inclusive, or after `(id`.
pub fn interval_start(arg: &[u8]) -> Result<StreamId, Frame> {
    match exclusive(arg) {
        Some(id) => parse(id, 0, Form::Strict)?
            .0
            .next()
            .ok_or_else(|| err("ERR invalid start ID for the interval")),
        None => parse_loose(arg, 0),
    }
}

/// The last ID of an interval: inclusive (a missing sequence is the
/// largest), or before `(id`.
pub fn interval_end(arg: &[u8]) -> Result<StreamId, Frame> {
    match exclusive(arg) {
        Some(id) => parse(id, u64::MAX, Form::Strict)?
            .0
            .prev()
            .ok_or_else(|| err("ERR invalid end ID for the interval")),
        None => parse_loose(arg, u64::MAX),
    }
}

fn exclusive(arg: &[u8]) -> Option<&[u8]> {
    (arg.len() > 1 && arg[0] == b'(').then(|| &arg[1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!(parse_loose(b"5", 0), Ok(id(5, 0)));
        assert_eq!(parse_loose(b"5", u64::MAX), Ok(id(5, u64::MAX)));
        assert_eq!(parse_loose(b"5-3", 0), Ok(id(5, 3)));
        assert_eq!(parse_loose(b"-", 7), Ok(StreamId::MIN));
        assert_eq!(parse_loose(b"+", 7), Ok(StreamId::MAX));
        assert_eq!(
            parse_loose(b"18446744073709551615-18446744073709551615", 0),
            Ok(StreamId::MAX)
        );
        // strtoull's leniency: a plus sign, leading spaces, a wrapping minus.
        assert_eq!(parse_strict(b"+5"), Ok(id(5, 0)));
        assert_eq!(parse_strict(b" 5-1"), Ok(id(5, 1)));
        assert_eq!(parse_strict(b"1--01"), Ok(id(1, u64::MAX)));
        for bad in [
            &b"-"[..],
            b"+",
            b"",
            b"x",
            b"1-x",
            b"1-2-3",
            b"-1",
            b"1-",
            b"18446744073709551616",
            b"1-*",
        ] {
            assert_eq!(parse_strict(bad), Err(err(ERR_INVALID_ID)), "{bad:?}");
        }
        assert_eq!(parse_add_id(b"1-*"), Ok((id(1, 0), false)));
        assert_eq!(parse_add_id(b"1-2"), Ok((id(1, 2), true)));
        assert_eq!(parse_add_id(b"1"), Ok((id(1, 0), true)));
        assert_eq!(parse_strict(&[b'1'; 128]), Err(err(ERR_INVALID_ID)));
    }

    #[test]
    fn open_intervals_step_past_their_end() {
        assert_eq!(interval_start(b"(1-0"), Ok(id(1, 1)));
        assert_eq!(interval_start(b"(1"), Ok(id(1, 1)));
        assert_eq!(interval_end(b"(2-0"), Ok(id(1, u64::MAX)));
        assert_eq!(interval_end(b"(2"), Ok(id(2, u64::MAX - 1)));
        assert_eq!(interval_start(b"("), Err(err(ERR_INVALID_ID)));
        assert_eq!(interval_start(b"(-"), Err(err(ERR_INVALID_ID)));
        assert_eq!(
            interval_start(b"(18446744073709551615-18446744073709551615"),
            Err(err("ERR invalid start ID for the interval"))
        );
        assert_eq!(
            interval_end(b"(0-0"),
            Err(err("ERR invalid end ID for the interval"))
        );
    }

    quickcheck! {
        fn next_and_prev_are_inverse(ms: u64, seq: u64) -> bool {
            let at = id(ms, seq);
            at.next().is_none_or(|next| next > at && next.prev() == Some(at))
                && at.prev().is_none_or(|prev| prev < at && prev.next() == Some(at))
        }

        fn bytes_order_is_id_order(a: (u64, u64), b: (u64, u64)) -> bool {
            let (x, y) = (id(a.0, a.1), id(b.0, b.1));
            StreamId::from_bytes(&x.to_bytes()) == Some(x)
                && x.cmp(&y) == x.to_bytes().cmp(&y.to_bytes())
        }

        fn text_parses_back(ms: u64, seq: u64) -> bool {
            parse_strict(&id(ms, seq).text()) == Ok(id(ms, seq))
        }
    }
}
