//! Property tests (quickcheck).

use bytes::{Bytes, BytesMut};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

use super::generate::{drain, feed_chunked, same, ArbFrame, RequestStream};
use crate::resp::{encode, parse_frame, Frame, Limits, Protocol, RequestParser};

fn qc(tests: u64) -> QuickCheck {
    QuickCheck::new().tests(tests).rng(Gen::new(64))
}

fn encoded(frame: &Frame, proto: Protocol) -> BytesMut {
    let mut out = BytesMut::new();
    encode(frame, proto, &mut out);
    out
}

/// (1) Encoding in RESP3 then parsing gives the frame back, consuming
/// exactly the encoding.
#[test]
fn resp3_encode_then_parse_is_identity() {
    fn prop(f: ArbFrame) -> bool {
        let bytes = encoded(&f.0, Protocol::Resp3);
        match parse_frame(&bytes) {
            Ok(Some((back, used))) => used == bytes.len() && same(&back, &f.0),
            _ => false,
        }
    }
    qc(2000).quickcheck(prop as fn(ArbFrame) -> bool);
}

/// RESP2 output is valid RESP too, and its downgraded shape is stable.
#[test]
fn resp2_encoding_reparses_to_the_same_bytes() {
    fn prop(f: ArbFrame) -> bool {
        let bytes = encoded(&f.0, Protocol::Resp2);
        match parse_frame(&bytes) {
            Ok(Some((back, used))) => {
                used == bytes.len() && encoded(&back, Protocol::Resp2) == bytes
            }
            _ => false,
        }
    }
    qc(1000).quickcheck(prop as fn(ArbFrame) -> bool);
}

/// Every strict prefix of an encoding is reported as incomplete.
#[test]
fn prefixes_of_a_frame_are_incomplete() {
    fn prop(f: ArbFrame) -> bool {
        let bytes = encoded(&f.0, Protocol::Resp3);
        (0..bytes.len()).all(|i| matches!(parse_frame(&bytes[..i]), Ok(None)))
    }
    qc(300).quickcheck(prop as fn(ArbFrame) -> bool);
}

/// (2) Any chunking of a request stream yields the same requests as
/// feeding it whole, and both yield what was encoded.
#[test]
fn chunking_does_not_change_requests() {
    fn prop(stream: RequestStream, sizes: Vec<u8>) -> bool {
        let sizes: Vec<usize> = sizes.into_iter().map(usize::from).collect();
        let (whole, e1) = feed_chunked(&stream.bytes, &[], false);
        let (chunked, e2) = feed_chunked(&stream.bytes, &sizes, false);
        let expected: Vec<Vec<Bytes>> = stream
            .expected
            .iter()
            .map(|r| r.iter().map(|a| Bytes::copy_from_slice(a)).collect())
            .collect();
        e1.is_none() && e2.is_none() && whole == expected && chunked == expected
    }
    qc(1000).quickcheck(prop as fn(RequestStream, Vec<u8>) -> bool);
}

/// (3a) The request parser never panics, and bytes are accounted for:
/// what was fed is what was consumed plus what is left in the buffer.
#[test]
fn request_parser_survives_arbitrary_bytes() {
    fn prop(input: Vec<u8>, sizes: Vec<u8>, auth: bool) -> bool {
        let mut parser = RequestParser::new(Limits {
            max_bulk_len: 64,
            max_inline_len: 32,
        });
        let mut buf = BytesMut::new();
        let (mut fed, mut consumed) = (0usize, 0usize);
        let mut pos = 0;
        let mut sizes = sizes.into_iter().cycle();
        while pos < input.len() {
            let n = usize::from(sizes.next().unwrap_or(255)).max(1);
            let end = (pos + n).min(input.len());
            buf.extend_from_slice(&input[pos..end]);
            fed += end - pos;
            pos = end;
            loop {
                let before = buf.len();
                let result = parser.parse(&mut buf, auth);
                consumed += before - buf.len();
                match result {
                    Ok(Some(args)) if args.is_empty() => return false,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return consumed + buf.len() == fed,
                }
            }
        }
        consumed + buf.len() == fed
    }
    qc(3000).quickcheck(prop as fn(Vec<u8>, Vec<u8>, bool) -> bool);
}

/// Input that looks almost like RESP reaches deeper parser states.
#[derive(Clone, Debug)]
struct NearResp(Vec<u8>);

impl Arbitrary for NearResp {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut bytes = encoded(&ArbFrame::arbitrary(g).0, Protocol::Resp3).to_vec();
        let alphabet = b"*$+-:_,#(=%~>|!\r\n0123456789-tfx ";
        for _ in 0..(usize::arbitrary(g) % 4) {
            if bytes.is_empty() {
                break;
            }
            let at = usize::arbitrary(g) % bytes.len();
            let b = alphabet[usize::arbitrary(g) % alphabet.len()];
            match usize::arbitrary(g) % 3 {
                0 => bytes[at] = b,
                1 => bytes.insert(at, b),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        NearResp(bytes)
    }
}

/// (3b) `parse_frame` never panics, never claims more bytes than it got,
/// and whatever it accepts re-encodes to something it parses back to the
/// same encoding. (Encodings, not frames, are compared: a RESP2 null array
/// `*-1` and a null bulk `$-1` both become RESP3's one null `_`.)
#[test]
fn frame_parser_survives_arbitrary_bytes() {
    fn check(input: &[u8]) -> bool {
        match parse_frame(input) {
            Ok(Some((frame, used))) => {
                let again = encoded(&frame, Protocol::Resp3);
                used <= input.len()
                    && matches!(parse_frame(&again), Ok(Some((f2, n)))
                        if n == again.len() && encoded(&f2, Protocol::Resp3) == again)
            }
            Ok(None) | Err(_) => true,
        }
    }
    fn random(input: Vec<u8>) -> bool {
        check(&input)
    }
    fn near(input: NearResp) -> bool {
        check(&input.0)
    }
    qc(3000).quickcheck(random as fn(Vec<u8>) -> bool);
    qc(3000).quickcheck(near as fn(NearResp) -> bool);
}

/// Near-valid requests exercise the request parser's error paths.
#[test]
fn request_parser_survives_near_valid_requests() {
    fn prop(stream: RequestStream, flips: Vec<(usize, u8)>, auth: bool) -> TestResult {
        let mut bytes = stream.bytes;
        if bytes.is_empty() {
            return TestResult::discard();
        }
        for (at, b) in flips.into_iter().take(3) {
            let len = bytes.len();
            bytes[at % len] = b"*$\r\n0123-x \"'\\\0"[usize::from(b) % 15];
        }
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&bytes[..]);
        let mut out = Vec::new();
        let _ = drain(&mut parser, &mut buf, auth, &mut out);
        TestResult::from_bool(out.iter().all(|args| !args.is_empty()))
    }
    qc(2000).quickcheck(prop as fn(RequestStream, Vec<(usize, u8)>, bool) -> TestResult);
}
