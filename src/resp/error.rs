//! The request parser's error: one per condition Redis reports, with
//! Redis' exact wording, after which the connection must be closed.

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, BytesMut};

/// Which protocol rule a request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// `*` count not a number, or above `i32::MAX`.
    InvalidMultibulkLength,
    /// No CR within `max_inline_len` bytes of a `*` header.
    TooBigMultibulkCount,
    /// No CR within `max_inline_len` bytes of a `$` header.
    TooBigBulkCount,
    /// A multibulk element did not start with `$`; holds the byte found.
    ExpectedDollar(u8),
    /// `$` length negative, not a number, or above `max_bulk_len`.
    InvalidBulkLength,
    /// More than 10 elements before authentication.
    UnauthenticatedMultibulkLength,
    /// A bulk over 16384 bytes before authentication.
    UnauthenticatedBulkLength,
    /// No LF within `max_inline_len` bytes of an inline command.
    TooBigInlineRequest,
    /// An inline command with an unterminated quote, or a closing quote
    /// followed by something other than a space.
    UnbalancedQuotes,
}

/// A request Redis would refuse with `-ERR Protocol error: ...` before
/// closing the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    kind: ProtocolErrorKind,
    message: Cow<'static, str>,
}

impl ProtocolError {
    pub(crate) fn new(kind: ProtocolErrorKind) -> Self {
        use ProtocolErrorKind::*;
        let message: Cow<'static, str> = match kind {
            InvalidMultibulkLength => "Protocol error: invalid multibulk length".into(),
            TooBigMultibulkCount => "Protocol error: too big mbulk count string".into(),
            TooBigBulkCount => "Protocol error: too big bulk count string".into(),
            ExpectedDollar(got) => {
                format!("Protocol error: expected '$', got '{}'", shown(got)).into()
            }
            InvalidBulkLength => "Protocol error: invalid bulk length".into(),
            UnauthenticatedMultibulkLength => {
                "Protocol error: unauthenticated multibulk length".into()
            }
            UnauthenticatedBulkLength => "Protocol error: unauthenticated bulk length".into(),
            TooBigInlineRequest => "Protocol error: too big inline request".into(),
            UnbalancedQuotes => "Protocol error: unbalanced quotes in request".into(),
        };
        ProtocolError { kind, message }
    }

    /// The condition, for code that reacts differently to each.
    pub fn kind(&self) -> ProtocolErrorKind {
        self.kind
    }

    /// The message as Redis sends it after `-ERR `, e.g.
    /// `Protocol error: invalid multibulk length`. A non-ASCII byte in
    /// `expected '$', got 'X'` is shown as the matching Latin-1 character;
    /// [`write_reply`](Self::write_reply) sends the raw byte like Redis.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Appends the exact error reply Redis sends for this error:
    /// `-ERR <message>\r\n`.
    pub fn write_reply(&self, out: &mut BytesMut) {
        out.extend_from_slice(b"-ERR ");
        match self.kind {
            ProtocolErrorKind::ExpectedDollar(got) => {
                out.extend_from_slice(b"Protocol error: expected '$', got '");
                out.put_u8(sanitized(got));
                out.put_u8(b'\'');
            }
            _ => out.extend_from_slice(self.message.as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Redis replaces CR and LF in formatted errors with spaces.
fn sanitized(b: u8) -> u8 {
    match b {
        b'\r' | b'\n' => b' ',
        other => other,
    }
}

fn shown(b: u8) -> char {
    char::from(sanitized(b))
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProtocolError {}
