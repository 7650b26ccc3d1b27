//! The value model shared by the encoder and the general frame parser.

use bytes::Bytes;

/// One RESP2 or RESP3 value.
///
/// A single type covers both protocol versions: command code builds RESP3
/// shaped replies and [`encode`](super::encode) downgrades them for RESP2
/// clients exactly as Redis 7 does, so commands never branch on the
/// protocol themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+text`: a status reply. Must not contain CR or LF.
    Simple(Bytes),
    /// `-CODE message`: the full error line without the leading `-`.
    Error(Bytes),
    /// `:n`.
    Integer(i64),
    /// `$len` + payload: binary safe.
    Bulk(Bytes),
    /// The null of a missing string: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// The null of a missing aggregate: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `*n`.
    Array(Vec<Frame>),
    /// `%n` (RESP3); a flat array of `2n` elements in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `~n` (RESP3); an array in RESP2.
    Set(Vec<Frame>),
    /// `>n` out-of-band data (RESP3); an array in RESP2.
    Push(Vec<Frame>),
    /// `,value` (RESP3); a bulk string in RESP2.
    Double(f64),
    /// `#t` / `#f` (RESP3); `:1` / `:0` in RESP2.
    Boolean(bool),
    /// `(digits` (RESP3); a bulk string in RESP2.
    BigNumber(Bytes),
    /// `=len` + `fmt:text` (RESP3); a bulk string of `text` in RESP2.
    Verbatim {
        /// Three-byte format tag such as `txt` or `mkd`.
        format: [u8; 3],
        /// The payload after the `fmt:` prefix.
        text: Bytes,
    },
}

impl Frame {
    /// `+OK`, the most common reply; built without allocating.
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// A status reply.
    pub fn simple(text: impl Into<Bytes>) -> Frame {
        Frame::Simple(text.into())
    }

    /// An error reply. `msg` is the full line without the leading `-`,
    /// error code included, e.g. `Frame::error("ERR syntax error")`.
    pub fn error(msg: impl AsRef<str>) -> Frame {
        Frame::Error(Bytes::copy_from_slice(msg.as_ref().as_bytes()))
    }

    /// A bulk string; takes ownership of `Vec<u8>`, `String`, `Bytes` or
    /// a `&'static` slice without copying.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// An integer reply.
    pub fn integer(n: i64) -> Frame {
        Frame::Integer(n)
    }

    /// An array of bulk strings, the usual shape of multi-value replies.
    pub fn bulk_array<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    /// A plain-text verbatim string (`txt:`), as Redis uses for `INFO`-like
    /// human-readable replies.
    pub fn verbatim_text(text: impl Into<Bytes>) -> Frame {
        Frame::Verbatim {
            format: *b"txt",
            text: text.into(),
        }
    }
}

/// The protocol a connection speaks, chosen with `HELLO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The default for every new connection.
    #[default]
    Resp2,
    /// After `HELLO 3`.
    Resp3,
}

impl Protocol {
    /// Maps the `protover` argument of `HELLO` to a protocol; `None` for
    /// versions Redis rejects with `NOPROTO`.
    pub fn from_version(version: i64) -> Option<Protocol> {
        match version {
            2 => Some(Protocol::Resp2),
            3 => Some(Protocol::Resp3),
            _ => None,
        }
    }

    /// The number `HELLO` reports in its `proto` field.
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}
