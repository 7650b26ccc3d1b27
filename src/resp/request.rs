//! Incremental server-side request parsing: Redis' `processMultibulkBuffer`
//! and `processInlineBuffer`, made sans-IO.
//!
//! The caller appends received bytes to a `BytesMut` and calls
//! [`RequestParser::parse`] until it returns `Ok(None)`. Arguments are split
//! off the front of that buffer (`split_to(..).freeze()`), so bulk payloads
//! are never copied. A partially received multibulk keeps its finished
//! arguments, the element count still expected and the length of the bulk
//! being read inside the parser, and the position up to which the buffer
//! was already searched for a line end; each byte is therefore examined a
//! bounded number of times however the request is chunked.
//!
//! Quirks kept from Redis 7 on purpose, because clients and tests rely on
//! Redis' exact behaviour:
//! - the two bytes after a bulk payload are skipped, not checked for CRLF;
//!   likewise any byte after the CR of a `*`/`$` line is taken as its LF;
//! - line ends are searched with C's `strchr`, which stops at a NUL byte, so
//!   a NUL before the CR (LF for inline) makes the request wait for more
//!   data until the buffer exceeds `max_inline_len`, then fails as "too big";
//! - whether a long inline line or header fails as "too big" depends on how
//!   many bytes were buffered when `parse` ran, as it depends on read sizes
//!   in Redis (which reads 16 KiB at a time).

use bytes::{Buf, Bytes, BytesMut};

use super::error::{ProtocolError, ProtocolErrorKind};
use crate::sds::string2ll;
use crate::sds::{split_args, Piece};

/// Redis' cap on the element count of a request from a client that must
/// still authenticate.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Redis' cap on one bulk from a client that must still authenticate.
const UNAUTH_MAX_BULK: i64 = 16384;
/// Never reserve more argument slots up front than this, whatever the
/// header claims (Redis does the same): a `*2147483647` costs nothing.
const MAX_PREALLOCATED_ARGS: usize = 1024;

/// Size limits, as set by the server configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest accepted bulk argument.
    pub max_bulk_len: u64,
    /// The longest inline command, or `*`/`$` header, looked for before
    /// giving up (Redis' `PROTO_INLINE_MAX_SIZE`).
    pub max_inline_len: usize,
}

impl Default for Limits {
    /// Redis' defaults: 512 MiB bulks, 64 KiB inline requests.
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// Parses the requests of one connection.
///
/// Between calls the buffer may only grow at the back. After an error the
/// connection is meant to be closed (as Redis does); call
/// [`reset`](Self::reset) before reusing the parser.
#[derive(Debug, Default)]
pub struct RequestParser {
    limits: Limits,
    /// Elements still expected by the multibulk being read; 0 between
    /// requests.
    remaining: usize,
    /// Length of the bulk whose payload is awaited, once its `$` line was
    /// read.
    bulk_len: Option<usize>,
    /// Arguments of the current multibulk already split off the buffer.
    args: Vec<Bytes>,
    /// The front `scanned` bytes of the buffer hold no line end (or the
    /// search stopped at a NUL there): a later call resumes from here
    /// instead of re-reading a header that arrives in many pieces.
    scanned: usize,
}

/// What a `*` header turned out to be.
enum Header {
    NeedMore,
    /// `*0`, `*-1` and other counts below 1: nothing to run.
    Empty,
    Started,
}

impl RequestParser {
    /// A parser with no request in progress.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            ..RequestParser::default()
        }
    }

    /// Applies new limits (`CONFIG SET`); they take effect from the next
    /// header read.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Forgets any partially parsed request, keeping the limits.
    pub fn reset(&mut self) {
        *self = RequestParser::new(self.limits);
    }

    /// How many more bytes the buffer needs before the bulk being read is
    /// complete, or 0 when unknown. Lets the caller reserve the whole
    /// payload at once, like Redis does for big arguments.
    pub fn bytes_needed(&self, buf: &BytesMut) -> usize {
        match self.bulk_len {
            Some(len) => len.saturating_add(2).saturating_sub(buf.len()),
            None => 0,
        }
    }

    /// Consumes complete requests from the front of `buf`.
    ///
    /// Returns `Ok(Some(args))` for the next non-empty request (`args` is
    /// never empty), `Ok(None)` when more bytes are needed (`buf` then keeps
    /// the unconsumed tail; arguments already complete are held by the
    /// parser). Empty requests (`*0`, `*-1`, blank inline lines) are skipped
    /// as Redis does. `auth_required` is true while a password is set and
    /// the client has not authenticated: Redis then refuses more than 10
    /// elements and bulks over 16384 bytes.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        auth_required: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => match self.read_header(buf, auth_required)? {
                        Header::NeedMore => return Ok(None),
                        Header::Empty => continue,
                        Header::Started => {}
                    },
                    Some(_) => match self.read_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    },
                }
            }
            return self.read_bulks(buf, auth_required);
        }
    }

    /// Drops `n` bytes from the front of `buf`, invalidating the scan mark.
    fn consume(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n.min(buf.len()));
        self.scanned = 0;
    }

    /// Finds the first `delim` in `buf` the way `strchr` would: the search
    /// stops at a NUL byte and then reports nothing.
    fn find(&mut self, buf: &[u8], delim: u8) -> Option<usize> {
        let from = self.scanned.min(buf.len());
        let rest = buf.get(from..).unwrap_or_default();
        match rest.iter().position(|&b| b == delim || b == 0) {
            Some(i) => {
                let at = from + i;
                // Stay on the hit: it is found again at once next time.
                self.scanned = at;
                (buf.get(at) == Some(&delim)).then_some(at)
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// Finds the CR ending a `*` or `$` line and checks one more byte (its
    /// LF, unchecked as in Redis) is there. `Ok(None)`: need more bytes.
    fn find_header_end(
        &mut self,
        buf: &[u8],
        too_big: ProtocolErrorKind,
    ) -> Result<Option<usize>, ProtocolError> {
        match self.find(buf, b'\r') {
            None if buf.len() > self.limits.max_inline_len => Err(ProtocolError::new(too_big)),
            Some(cr) if cr + 2 <= buf.len() => Ok(Some(cr)),
            _ => Ok(None),
        }
    }

    fn read_header(
        &mut self,
        buf: &mut BytesMut,
        auth_required: bool,
    ) -> Result<Header, ProtocolError> {
        let cr = match self.find_header_end(buf, ProtocolErrorKind::TooBigMultibulkCount)? {
            Some(cr) => cr,
            None => return Ok(Header::NeedMore),
        };
        let count = match string2ll(buf.get(1..cr).unwrap_or_default()) {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => {
                return Err(ProtocolError::new(
                    ProtocolErrorKind::InvalidMultibulkLength,
                ))
            }
        };
        if count > UNAUTH_MAX_MULTIBULK && auth_required {
            return Err(ProtocolError::new(
                ProtocolErrorKind::UnauthenticatedMultibulkLength,
            ));
        }
        self.consume(buf, cr + 2);
        if count <= 0 {
            return Ok(Header::Empty);
        }
        // 1 <= count <= i32::MAX, so it fits a usize on every target.
        self.remaining = usize::try_from(count).unwrap_or(usize::MAX);
        self.args = Vec::with_capacity(self.remaining.min(MAX_PREALLOCATED_ARGS));
        Ok(Header::Started)
    }

    fn read_bulks(
        &mut self,
        buf: &mut BytesMut,
        auth_required: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match self.read_bulk_len(buf, auth_required)? {
                    Some(len) => len,
                    None => return Ok(None),
                },
            };
            if buf.len() < len.saturating_add(2) {
                return Ok(None);
            }
            let arg = buf.split_to(len).freeze();
            self.consume(buf, 2);
            self.args.push(arg);
            self.bulk_len = None;
            self.remaining -= 1;
        }
        Ok(Some(std::mem::take(&mut self.args)))
    }

    /// Reads a `$len` line, returning the length once it is complete.
    fn read_bulk_len(
        &mut self,
        buf: &mut BytesMut,
        auth_required: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let cr = match self.find_header_end(buf, ProtocolErrorKind::TooBigBulkCount)? {
            Some(cr) => cr,
            None => return Ok(None),
        };
        match buf.first() {
            Some(b'$') => {}
            Some(&got) => return Err(ProtocolError::new(ProtocolErrorKind::ExpectedDollar(got))),
            None => return Ok(None),
        }
        let len = string2ll(buf.get(1..cr).unwrap_or_default())
            .filter(|&n| n >= 0 && n as u64 <= self.limits.max_bulk_len)
            .and_then(|n| usize::try_from(n).ok().map(|len| (n, len)));
        let (n, len) = match len {
            Some(pair) => pair,
            None => return Err(ProtocolError::new(ProtocolErrorKind::InvalidBulkLength)),
        };
        if n > UNAUTH_MAX_BULK && auth_required {
            return Err(ProtocolError::new(
                ProtocolErrorKind::UnauthenticatedBulkLength,
            ));
        }
        self.consume(buf, cr + 2);
        self.bulk_len = Some(len);
        Ok(Some(len))
    }

    /// Reads one inline command line. `Ok(Some(vec![]))` for a blank line.
    fn read_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let lf = match self.find(buf, b'\n') {
            Some(lf) => lf,
            None if buf.len() > self.limits.max_inline_len => {
                return Err(ProtocolError::new(ProtocolErrorKind::TooBigInlineRequest));
            }
            None => return Ok(None),
        };
        let end = if lf > 0 && buf.get(lf - 1) == Some(&b'\r') {
            lf - 1
        } else {
            lf
        };
        let pieces = split_args(buf.get(..end).unwrap_or_default())
            .ok_or_else(|| ProtocolError::new(ProtocolErrorKind::UnbalancedQuotes))?;
        let line = buf.split_to(lf + 1).freeze();
        self.scanned = 0;
        let args = pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Span(from, to) => line.slice(from..to),
                Piece::Owned(bytes) => Bytes::from(bytes),
            })
            .collect();
        Ok(Some(args))
    }
}
