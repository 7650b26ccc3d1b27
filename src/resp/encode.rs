//! Reply encoding, with Redis 7's downgrade rules for RESP2 clients.
//!
//! [`encode`] serialises a whole [`Frame`]; the `write_*` functions write
//! one element directly so hot commands (GET, INCR, LRANGE...) can reply
//! without building a `Frame` tree first. Numbers are formatted in stack
//! buffers: nothing here allocates beyond growing `out`.
//!
//! Line-based elements (simple strings, errors, big numbers) cannot carry
//! CR or LF; like Redis' `addReplyErrorFormat` they are replaced by spaces
//! so a careless message can never desynchronise the client.

use bytes::{BufMut, BytesMut};

use super::double::DoubleText;
use super::frame::{Frame, Protocol};
use super::number::{put_i64, put_len_line};

/// Appends `frame` as `proto` expects it.
///
/// RESP2 downgrades: `Null` → `$-1`, `NullArray` → `*-1`, `Map` → flat
/// array of `2n`, `Set`/`Push` → array, `Double`/`BigNumber` → bulk string,
/// `Boolean` → `:1`/`:0`, `Verbatim` → bulk string of the text only.
pub fn encode(frame: &Frame, proto: Protocol, out: &mut BytesMut) {
    match frame {
        Frame::Simple(s) => write_line(out, b'+', s),
        Frame::Error(e) => write_line(out, b'-', e),
        Frame::Integer(n) => write_integer(out, *n),
        Frame::Bulk(b) => write_bulk(out, b),
        Frame::Null => write_null(out, proto),
        Frame::NullArray => write_null_array(out, proto),
        Frame::Array(items) => {
            write_array_header(out, items.len());
            encode_all(items, proto, out);
        }
        Frame::Map(pairs) => {
            write_map_header(out, pairs.len(), proto);
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Frame::Set(items) => {
            write_set_header(out, items.len(), proto);
            encode_all(items, proto, out);
        }
        Frame::Push(items) => {
            write_push_header(out, items.len(), proto);
            encode_all(items, proto, out);
        }
        Frame::Double(d) => write_double(out, *d, proto),
        Frame::Boolean(b) => write_boolean(out, *b, proto),
        Frame::BigNumber(n) => write_big_number(out, n, proto),
        Frame::Verbatim { format, text } => write_verbatim(out, *format, text, proto),
    }
}

fn encode_all(items: &[Frame], proto: Protocol, out: &mut BytesMut) {
    for item in items {
        encode(item, proto, out);
    }
}

/// `<prefix><text>\r\n`, with CR and LF in `text` replaced by spaces.
fn write_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        out.extend(text.iter().map(|&b| match b {
            b'\r' | b'\n' => b' ',
            other => other,
        }));
    } else {
        out.extend_from_slice(text);
    }
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\n<data>\r\n`.
pub fn write_bulk(out: &mut BytesMut, data: &[u8]) {
    put_len_line(out, b'$', data.len());
    out.reserve(data.len() + 2);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The missing-string null: `$-1\r\n` in RESP2, `_\r\n` in RESP3.
pub fn write_null(out: &mut BytesMut, proto: Protocol) {
    out.extend_from_slice(match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// The missing-aggregate null: `*-1\r\n` in RESP2, `_\r\n` in RESP3.
pub fn write_null_array(out: &mut BytesMut, proto: Protocol) {
    out.extend_from_slice(match proto {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// `:n\r\n`.
pub fn write_integer(out: &mut BytesMut, n: i64) {
    out.reserve(23);
    out.put_u8(b':');
    put_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `+text\r\n`; CR/LF in `text` become spaces.
pub fn write_simple(out: &mut BytesMut, text: &str) {
    write_line(out, b'+', text.as_bytes());
}

/// `-msg\r\n`. `msg` is given without the leading `-` and includes the
/// error code (`"ERR syntax error"`); CR/LF become spaces, as in Redis.
pub fn write_error(out: &mut BytesMut, msg: &str) {
    write_line(out, b'-', msg.as_bytes());
}

/// `*n\r\n`, followed by `n` elements written by the caller.
pub fn write_array_header(out: &mut BytesMut, len: usize) {
    put_len_line(out, b'*', len);
}

/// `%n\r\n` in RESP3; `*2n\r\n` in RESP2. Followed by `n` key/value pairs.
pub fn write_map_header(out: &mut BytesMut, pairs: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_len_line(out, b'*', pairs.saturating_mul(2)),
        Protocol::Resp3 => put_len_line(out, b'%', pairs),
    }
}

/// `~n\r\n` in RESP3; `*n\r\n` in RESP2.
pub fn write_set_header(out: &mut BytesMut, len: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_len_line(out, b'*', len),
        Protocol::Resp3 => put_len_line(out, b'~', len),
    }
}

/// `>n\r\n` in RESP3; `*n\r\n` in RESP2 (how pub/sub messages look there).
pub fn write_push_header(out: &mut BytesMut, len: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => put_len_line(out, b'*', len),
        Protocol::Resp3 => put_len_line(out, b'>', len),
    }
}

/// `,<double>\r\n` in RESP3; a bulk string in RESP2. Text as
/// [`format_double`](super::format_double), built without allocating.
pub fn write_double(out: &mut BytesMut, d: f64, proto: Protocol) {
    let text = DoubleText::new(d);
    match proto {
        Protocol::Resp2 => write_bulk(out, text.as_bytes()),
        Protocol::Resp3 => write_line(out, b',', text.as_bytes()),
    }
}

/// `#t\r\n` / `#f\r\n` in RESP3; `:1\r\n` / `:0\r\n` in RESP2.
pub fn write_boolean(out: &mut BytesMut, b: bool, proto: Protocol) {
    out.extend_from_slice(match (proto, b) {
        (Protocol::Resp2, true) => b":1\r\n",
        (Protocol::Resp2, false) => b":0\r\n",
        (Protocol::Resp3, true) => b"#t\r\n",
        (Protocol::Resp3, false) => b"#f\r\n",
    });
}

/// `(digits\r\n` in RESP3; a bulk string in RESP2.
pub fn write_big_number(out: &mut BytesMut, digits: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => write_bulk(out, digits),
        Protocol::Resp3 => write_line(out, b'(', digits),
    }
}

/// `=len\r\nfmt:text\r\n` in RESP3; a bulk string of `text` in RESP2.
pub fn write_verbatim(out: &mut BytesMut, format: [u8; 3], text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp2 => write_bulk(out, text),
        Protocol::Resp3 => {
            put_len_line(out, b'=', text.len().saturating_add(4));
            out.reserve(text.len() + 6);
            out.extend_from_slice(&format);
            out.put_u8(b':');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}
