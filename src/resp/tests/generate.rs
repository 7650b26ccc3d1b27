//! Test helpers: random frames and request streams for the properties,
//! and a driver that runs a `RequestParser` to exhaustion.

use bytes::{Bytes, BytesMut};
use quickcheck::{Arbitrary, Gen};

use crate::resp::{Frame, Limits, ProtocolError, RequestParser};

/// Parses every complete request in `buf`, stopping at the first error.
pub(super) fn drain(
    parser: &mut RequestParser,
    buf: &mut BytesMut,
    auth: bool,
    out: &mut Vec<Vec<Bytes>>,
) -> Result<(), ProtocolError> {
    while let Some(args) = parser.parse(buf, auth)? {
        out.push(args);
    }
    Ok(())
}

/// Feeds `input` in chunks of the given sizes (cycled; 0 counts as 1) and
/// returns the requests and the first error, if any.
pub(super) fn feed_chunked(
    input: &[u8],
    sizes: &[usize],
    auth: bool,
) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < input.len() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(input.len())
            .max(1);
        let end = (pos + size).min(input.len());
        buf.extend_from_slice(&input[pos..end]);
        pos = end;
        i += 1;
        if let Err(e) = drain(&mut parser, &mut buf, auth, &mut out) {
            return (out, Some(e));
        }
    }
    (out, None)
}

/// Encodes a request the way clients do.
pub(super) fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn below(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n.max(1)
}

fn bytes(g: &mut Gen) -> Bytes {
    Bytes::from(Vec::<u8>::arbitrary(g))
}

/// Text allowed on a line: no CR or LF.
fn line(g: &mut Gen) -> Bytes {
    let v: Vec<u8> = Vec::<u8>::arbitrary(g)
        .into_iter()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    Bytes::from(v)
}

fn big_number(g: &mut Gen) -> Bytes {
    let len = 1 + below(g, 60);
    let mut s = String::new();
    if bool::arbitrary(g) {
        s.push('-');
    }
    for _ in 0..len {
        s.push(char::from(b'0' + below(g, 10) as u8));
    }
    Bytes::from(s)
}

fn double(g: &mut Gen) -> f64 {
    match below(g, 4) {
        0 => f64::arbitrary(g),
        1 => f64::from_bits(u64::arbitrary(g)),
        2 => i32::arbitrary(g) as f64 / 8.0,
        _ => *g
            .choose(&[
                0.0,
                -0.0,
                0.1,
                1e21,
                1e17,
                1.5e-5,
                f64::INFINITY,
                f64::NAN,
                5e-324,
            ])
            .unwrap_or(&0.0),
    }
}

/// A random frame nested at most `depth` aggregates deep. `NullArray` is
/// left out: RESP3 has a single null, so it reads back as `Null`.
pub(super) fn frame(g: &mut Gen, depth: usize) -> Frame {
    let kinds = if depth == 0 { 10 } else { 14 };
    let width = |g: &mut Gen| below(g, 5);
    match below(g, kinds) {
        0 => Frame::Simple(line(g)),
        1 => Frame::Error(line(g)),
        2 => Frame::Integer(i64::arbitrary(g)),
        3 => Frame::Bulk(bytes(g)),
        4 => Frame::Null,
        5 => Frame::Double(double(g)),
        6 => Frame::Boolean(bool::arbitrary(g)),
        7 => Frame::BigNumber(big_number(g)),
        8 => Frame::Verbatim {
            format: [u8::arbitrary(g), u8::arbitrary(g), u8::arbitrary(g)],
            text: bytes(g),
        },
        9 => Frame::Bulk(Bytes::from_static(b"")),
        10 => Frame::Array((0..width(g)).map(|_| frame(g, depth - 1)).collect()),
        11 => Frame::Set((0..width(g)).map(|_| frame(g, depth - 1)).collect()),
        12 => Frame::Push((0..width(g)).map(|_| frame(g, depth - 1)).collect()),
        _ => Frame::Map(
            (0..width(g))
                .map(|_| (frame(g, depth - 1), frame(g, depth - 1)))
                .collect(),
        ),
    }
}

#[derive(Clone, Debug)]
pub(super) struct ArbFrame(pub Frame);

impl Arbitrary for ArbFrame {
    fn arbitrary(g: &mut Gen) -> Self {
        ArbFrame(frame(g, 3))
    }
}

/// Frame equality where doubles compare bitwise and any NaN equals any NaN.
pub(super) fn same(a: &Frame, b: &Frame) -> bool {
    let all =
        |x: &[Frame], y: &[Frame]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q));
    match (a, b) {
        (Frame::Double(x), Frame::Double(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Frame::Array(x), Frame::Array(y))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => all(x, y),
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        _ => a == b,
    }
}

/// A stream of requests in mixed forms, with the requests it must yield.
#[derive(Clone, Debug)]
pub(super) struct RequestStream {
    pub bytes: Vec<u8>,
    pub expected: Vec<Vec<Vec<u8>>>,
}

impl Arbitrary for RequestStream {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..below(g, 8) {
            match below(g, 5) {
                0 | 1 => {
                    let mut args: Vec<Vec<u8>> = Vec::arbitrary(g);
                    args.truncate(12);
                    if args.is_empty() {
                        args.push(b"PING".to_vec());
                    }
                    bytes.extend(multibulk(&args));
                    expected.push(args);
                }
                2 => {
                    // Inline: plain words need no quoting.
                    let words = 1 + below(g, 4);
                    let args: Vec<Vec<u8>> = (0..words)
                        .map(|_| {
                            let n = 1 + below(g, 10);
                            (0..n).map(|_| b'a' + below(g, 26) as u8).collect()
                        })
                        .collect();
                    bytes.extend(args.join(&b' '));
                    bytes.extend_from_slice(if bool::arbitrary(g) { b"\r\n" } else { b"\n" });
                    expected.push(args);
                }
                3 => {
                    // Inline with quoting.
                    bytes.extend_from_slice(b"SET \"a b\\x41\" 'c\\'d'\r\n");
                    expected.push(vec![b"SET".to_vec(), b"a bA".to_vec(), b"c'd".to_vec()]);
                }
                _ => {
                    let noise: &[u8] = g
                        .choose(&[&b"*0\r\n"[..], b"*-1\r\n", b"\r\n", b"   \n", b"*-7\r\n"])
                        .copied()
                        .unwrap_or(b"\r\n");
                    bytes.extend_from_slice(noise);
                }
            }
        }
        RequestStream { bytes, expected }
    }
}
