//! A general RESP2 + RESP3 frame parser, for replies read as a client
//! (tests, replication, tools) rather than requests read as a server.
//!
//! Unlike the request parser it is stateless: each call parses from the
//! start of the slice, which is simplest for callers that hold a whole
//! reply or can retry when more bytes arrive. It is strict where the
//! encoder is canonical (CRLF after payloads, no LF inside lines, digits
//! only in lengths), so that parsing and re-encoding are inverse, and it
//! never panics: nesting is capped at [`MAX_DEPTH`] so hostile input such
//! as `*1\r\n*1\r\n...` cannot exhaust the stack.

use std::fmt;

use bytes::Bytes;

use super::frame::Frame;
use crate::sds::string2ll;

/// The deepest nesting of aggregates accepted; deeper input is an error.
pub const MAX_DEPTH: usize = 512;

/// Why a byte sequence is not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The first byte is not a known type marker.
    UnknownType(u8),
    /// A length or count is not a number, or negative where not allowed.
    InvalidLength,
    /// An integer line is not a valid `i64`.
    InvalidInteger,
    /// A double line is not a number, `inf` or `nan`.
    InvalidDouble,
    /// A boolean line is neither `t` nor `f`.
    InvalidBoolean,
    /// A big number line is not an optionally signed run of digits.
    InvalidBigNumber,
    /// A verbatim string shorter than `fmt:` or missing its colon.
    InvalidVerbatim,
    /// A null line with content after `_`.
    InvalidNull,
    /// A CR not followed by LF, or a LF inside a line.
    BadLineEnd,
    /// A bulk payload not followed by CRLF.
    MissingCrlf,
    /// Aggregates nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::UnknownType(b) => write!(f, "unknown RESP type byte 0x{b:02x}"),
            FrameError::InvalidLength => f.write_str("invalid length"),
            FrameError::InvalidInteger => f.write_str("invalid integer"),
            FrameError::InvalidDouble => f.write_str("invalid double"),
            FrameError::InvalidBoolean => f.write_str("invalid boolean"),
            FrameError::InvalidBigNumber => f.write_str("invalid big number"),
            FrameError::InvalidVerbatim => f.write_str("invalid verbatim string"),
            FrameError::InvalidNull => f.write_str("invalid null"),
            FrameError::BadLineEnd => f.write_str("line not terminated by CRLF"),
            FrameError::MissingCrlf => f.write_str("bulk payload not followed by CRLF"),
            FrameError::TooDeep => write!(f, "aggregates nested deeper than {MAX_DEPTH}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses one frame from the start of `buf`.
///
/// `Ok(Some((frame, consumed)))` on success, `Ok(None)` when `buf` is a
/// valid but incomplete prefix. `$-1` is [`Frame::Null`], `*-1`
/// [`Frame::NullArray`], `_` [`Frame::Null`]; RESP3 blob errors (`!`) become
/// [`Frame::Error`] with CR/LF replaced by spaces; attributes (`|`) are
/// parsed and dropped.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let mut parser = Parser { buf, pos: 0 };
    match parser.value(0) {
        Ok(frame) => Ok(Some((frame, parser.pos))),
        Err(Stop::Incomplete) => Ok(None),
        Err(Stop::Invalid(e)) => Err(e),
    }
}

/// Why parsing stopped early.
enum Stop {
    Incomplete,
    Invalid(FrameError),
}

impl From<FrameError> for Stop {
    fn from(e: FrameError) -> Self {
        Stop::Invalid(e)
    }
}

type Parsed<T> = Result<T, Stop>;

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn value(&mut self, depth: usize) -> Parsed<Frame> {
        loop {
            let marker = *self.buf.get(self.pos).ok_or(Stop::Incomplete)?;
            self.pos += 1;
            let frame = match marker {
                b'+' => Frame::Simple(Bytes::copy_from_slice(self.line()?)),
                b'-' => Frame::Error(Bytes::copy_from_slice(self.line()?)),
                b':' => Frame::Integer(string2ll(self.line()?).ok_or(FrameError::InvalidInteger)?),
                b'$' => match self.blob()? {
                    Some(data) => Frame::Bulk(Bytes::copy_from_slice(data)),
                    None => Frame::Null,
                },
                b'!' => match self.blob()? {
                    Some(data) => Frame::Error(without_crlf(data)),
                    None => return Err(FrameError::InvalidLength.into()),
                },
                b'=' => self.verbatim()?,
                b'_' => match self.line()? {
                    [] => Frame::Null,
                    _ => return Err(FrameError::InvalidNull.into()),
                },
                b',' => Frame::Double(parse_double(self.line()?)?),
                b'#' => match self.line()? {
                    b"t" => Frame::Boolean(true),
                    b"f" => Frame::Boolean(false),
                    _ => return Err(FrameError::InvalidBoolean.into()),
                },
                b'(' => Frame::BigNumber(parse_big_number(self.line()?)?),
                b'*' => match self.count(true)? {
                    Some(n) => Frame::Array(self.items(n, depth)?),
                    None => Frame::NullArray,
                },
                b'~' => Frame::Set(self.sized_items(depth)?),
                b'>' => Frame::Push(self.sized_items(depth)?),
                b'%' => Frame::Map(self.pairs(depth)?),
                b'|' => {
                    // Attributes annotate the value that follows: skip them.
                    self.pairs(depth)?;
                    continue;
                }
                other => return Err(FrameError::UnknownType(other).into()),
            };
            return Ok(frame);
        }
    }

    /// The rest of the current line, without its CRLF.
    fn line(&mut self) -> Parsed<&'a [u8]> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .ok_or(Stop::Incomplete)?;
        match (rest.get(end), rest.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => {}
            (Some(b'\r'), None) => return Err(Stop::Incomplete),
            _ => return Err(FrameError::BadLineEnd.into()),
        }
        self.pos += end + 2;
        Ok(rest.get(..end).unwrap_or_default())
    }

    /// An element count; `None` for `-1` when `nullable`.
    fn count(&mut self, nullable: bool) -> Parsed<Option<usize>> {
        match string2ll(self.line()?) {
            Some(-1) if nullable => Ok(None),
            Some(n) => Ok(Some(
                usize::try_from(n).map_err(|_| FrameError::InvalidLength)?,
            )),
            None => Err(FrameError::InvalidLength.into()),
        }
    }

    /// A length-prefixed payload; `None` for `-1`.
    fn blob(&mut self) -> Parsed<Option<&'a [u8]>> {
        let len = match self.count(true)? {
            Some(len) => len,
            None => return Ok(None),
        };
        let end = self.pos.checked_add(len).ok_or(FrameError::InvalidLength)?;
        let after = end.checked_add(2).ok_or(FrameError::InvalidLength)?;
        if after > self.buf.len() {
            return Err(Stop::Incomplete);
        }
        if self.buf.get(end..after) != Some(&b"\r\n"[..]) {
            return Err(FrameError::MissingCrlf.into());
        }
        let data = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = after;
        Ok(Some(data))
    }

    fn verbatim(&mut self) -> Parsed<Frame> {
        let data = self.blob()?.ok_or(FrameError::InvalidLength)?;
        match data {
            [a, b, c, b':', text @ ..] => Ok(Frame::Verbatim {
                format: [*a, *b, *c],
                text: Bytes::copy_from_slice(text),
            }),
            _ => Err(FrameError::InvalidVerbatim.into()),
        }
    }

    fn child_depth(depth: usize) -> Parsed<usize> {
        if depth >= MAX_DEPTH {
            return Err(FrameError::TooDeep.into());
        }
        Ok(depth + 1)
    }

    fn items(&mut self, n: usize, depth: usize) -> Parsed<Vec<Frame>> {
        let child = Self::child_depth(depth)?;
        // Never trust the count for allocation: each element takes at
        // least 3 bytes, so the input bounds what can really follow.
        let mut items = Vec::with_capacity(n.min(self.remaining() / 3));
        for _ in 0..n {
            items.push(self.value(child)?);
        }
        Ok(items)
    }

    fn sized_items(&mut self, depth: usize) -> Parsed<Vec<Frame>> {
        let n = self.count(false)?.ok_or(FrameError::InvalidLength)?;
        self.items(n, depth)
    }

    fn pairs(&mut self, depth: usize) -> Parsed<Vec<(Frame, Frame)>> {
        let n = self.count(false)?.ok_or(FrameError::InvalidLength)?;
        let child = Self::child_depth(depth)?;
        let mut pairs = Vec::with_capacity(n.min(self.remaining() / 6));
        for _ in 0..n {
            let key = self.value(child)?;
            let value = self.value(child)?;
            pairs.push((key, value));
        }
        Ok(pairs)
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

fn parse_double(line: &[u8]) -> Parsed<f64> {
    // Rust's float syntax also takes `inf`, `-inf`, `nan` (any case) and
    // exponents, which covers everything RESP3 servers send.
    let parsed = std::str::from_utf8(line)
        .ok()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<f64>().ok());
    parsed.ok_or_else(|| FrameError::InvalidDouble.into())
}

fn parse_big_number(line: &[u8]) -> Parsed<Bytes> {
    let digits = line.strip_prefix(b"-").unwrap_or(line);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FrameError::InvalidBigNumber.into());
    }
    Ok(Bytes::copy_from_slice(line))
}

/// Blob errors may span lines; a `Frame::Error` is one line.
fn without_crlf(data: &[u8]) -> Bytes {
    data.iter()
        .map(|&b| match b {
            b'\r' | b'\n' => b' ',
            other => other,
        })
        .collect::<Vec<u8>>()
        .into()
}
