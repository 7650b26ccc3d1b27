//! Frame parser and encoder cases.

use bytes::{Bytes, BytesMut};

use crate::resp::*;

fn parsed(input: &[u8]) -> Frame {
    match parse_frame(input) {
        Ok(Some((frame, used))) => {
            assert_eq!(used, input.len(), "{input:?}");
            frame
        }
        other => panic!("{input:?}: {other:?}"),
    }
}

fn bad(input: &[u8]) -> FrameError {
    match parse_frame(input) {
        Err(e) => e,
        other => panic!("{input:?} parsed as {other:?}"),
    }
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

#[test]
fn parses_every_type() {
    assert_eq!(parsed(b"+OK\r\n"), Frame::ok());
    assert_eq!(parsed(b"-ERR x\r\n"), Frame::error("ERR x"));
    assert_eq!(parsed(b":-12\r\n"), Frame::Integer(-12));
    assert_eq!(parsed(b"$3\r\na\r\n\r\n"), Frame::bulk("a\r\n"));
    assert_eq!(parsed(b"$0\r\n\r\n"), Frame::bulk(""));
    assert_eq!(parsed(b"$-1\r\n"), Frame::Null);
    assert_eq!(parsed(b"*-1\r\n"), Frame::NullArray);
    assert_eq!(parsed(b"_\r\n"), Frame::Null);
    assert_eq!(parsed(b",1.5\r\n"), Frame::Double(1.5));
    assert_eq!(parsed(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
    assert_eq!(parsed(b",1e+21\r\n"), Frame::Double(1e21));
    assert!(matches!(parsed(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
    assert_eq!(parsed(b"#t\r\n"), Frame::Boolean(true));
    assert_eq!(parsed(b"#f\r\n"), Frame::Boolean(false));
    assert_eq!(parsed(b"(-123\r\n"), Frame::BigNumber(b("-123")));
    assert_eq!(parsed(b"=7\r\ntxt:abc\r\n"), Frame::verbatim_text("abc"));
    assert_eq!(
        parsed(b"*2\r\n:1\r\n*0\r\n"),
        Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![])])
    );
    assert_eq!(
        parsed(b"%1\r\n+k\r\n~1\r\n>1\r\n_\r\n"),
        Frame::Map(vec![(
            Frame::simple("k"),
            Frame::Set(vec![Frame::Push(vec![Frame::Null])])
        )])
    );
}

#[test]
fn blob_errors_become_one_line_errors() {
    assert_eq!(parsed(b"!8\r\nERR a\r\nb\r\n"), Frame::error("ERR a  b"));
}

#[test]
fn attributes_are_skipped() {
    let input = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n";
    assert_eq!(parsed(input), Frame::Array(vec![Frame::Integer(2)]));
    assert_eq!(parse_frame(b"|1\r\n+a\r\n+b\r\n"), Ok(None));
}

#[test]
fn pipelined_frames_report_consumed_bytes() {
    let input = b"+OK\r\n:5\r\n";
    assert_eq!(parse_frame(input), Ok(Some((Frame::ok(), 5))));
    assert_eq!(parse_frame(&input[5..]), Ok(Some((Frame::Integer(5), 4))));
}

#[test]
fn invalid_frames() {
    assert_eq!(bad(b"?x\r\n"), FrameError::UnknownType(b'?'));
    assert_eq!(bad(b"$x\r\n"), FrameError::InvalidLength);
    assert_eq!(bad(b"$-2\r\n"), FrameError::InvalidLength);
    assert_eq!(bad(b"~-1\r\n"), FrameError::InvalidLength);
    assert_eq!(bad(b"%-1\r\n"), FrameError::InvalidLength);
    assert_eq!(bad(b"=-1\r\n"), FrameError::InvalidLength);
    assert_eq!(bad(b":1.5\r\n"), FrameError::InvalidInteger);
    assert_eq!(
        bad(b":99999999999999999999\r\n"),
        FrameError::InvalidInteger
    );
    assert_eq!(bad(b",\r\n"), FrameError::InvalidDouble);
    assert_eq!(bad(b",abc\r\n"), FrameError::InvalidDouble);
    assert_eq!(bad(b"#x\r\n"), FrameError::InvalidBoolean);
    assert_eq!(bad(b"(12a\r\n"), FrameError::InvalidBigNumber);
    assert_eq!(bad(b"(\r\n"), FrameError::InvalidBigNumber);
    assert_eq!(bad(b"=3\r\ntxt\r\n"), FrameError::InvalidVerbatim);
    assert_eq!(bad(b"=4\r\ntxtx\r\n"), FrameError::InvalidVerbatim);
    assert_eq!(bad(b"_x\r\n"), FrameError::InvalidNull);
    assert_eq!(bad(b"+a\rb\r\n"), FrameError::BadLineEnd);
    assert_eq!(bad(b"+a\nb\r\n"), FrameError::BadLineEnd);
    assert_eq!(bad(b"$1\r\nab\r\n"), FrameError::MissingCrlf);
    assert!(!FrameError::TooDeep.to_string().is_empty());
}

#[test]
fn incomplete_frames() {
    for input in [
        &b""[..],
        b"+OK",
        b"+OK\r",
        b"$5\r\nabc",
        b"$5\r\nabcde\r",
        b"*2\r\n:1\r\n",
        b"%1\r\n+k\r\n",
        b"$99999999999\r\n",
        b"*99999999999\r\n",
    ] {
        assert_eq!(parse_frame(input), Ok(None), "{input:?}");
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| {
        let mut v = b"*1\r\n".repeat(depth);
        v.extend_from_slice(b":1\r\n");
        v
    };
    assert!(matches!(parse_frame(&nested(MAX_DEPTH)), Ok(Some(_))));
    assert_eq!(
        parse_frame(&nested(MAX_DEPTH + 1)),
        Err(FrameError::TooDeep)
    );
    // Far deeper input fails cleanly instead of overflowing the stack.
    let deep = b"*1\r\n".repeat(1_000_000);
    assert_eq!(parse_frame(&deep), Err(FrameError::TooDeep));
    let deep_maps = b"%1\r\n".repeat(100_000);
    assert_eq!(parse_frame(&deep_maps), Err(FrameError::TooDeep));
    let deep_attrs = b"|1\r\n".repeat(100_000);
    assert_eq!(parse_frame(&deep_attrs), Err(FrameError::TooDeep));
}

#[test]
fn huge_counts_do_not_preallocate() {
    assert_eq!(parse_frame(b"*2147483647\r\n:1\r\n"), Ok(None));
    assert_eq!(parse_frame(b"%9223372036854775807\r\n"), Ok(None));
}

fn enc(frame: &Frame, proto: Protocol) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, proto, &mut out);
    out.to_vec()
}

#[test]
fn resp2_downgrades() {
    use Protocol::Resp2;
    assert_eq!(enc(&Frame::Null, Resp2), b"$-1\r\n");
    assert_eq!(enc(&Frame::NullArray, Resp2), b"*-1\r\n");
    let map = Frame::Map(vec![(Frame::bulk("a"), Frame::Integer(1))]);
    assert_eq!(enc(&map, Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(
        enc(&Frame::Set(vec![Frame::Integer(1)]), Resp2),
        b"*1\r\n:1\r\n"
    );
    assert_eq!(enc(&Frame::Push(vec![]), Resp2), b"*0\r\n");
    assert_eq!(enc(&Frame::Double(1.5), Resp2), b"$3\r\n1.5\r\n");
    assert_eq!(enc(&Frame::Boolean(true), Resp2), b":1\r\n");
    assert_eq!(enc(&Frame::Boolean(false), Resp2), b":0\r\n");
    assert_eq!(enc(&Frame::BigNumber(b("12")), Resp2), b"$2\r\n12\r\n");
    assert_eq!(enc(&Frame::verbatim_text("hi"), Resp2), b"$2\r\nhi\r\n");
}

#[test]
fn resp3_forms() {
    use Protocol::Resp3;
    assert_eq!(enc(&Frame::Null, Resp3), b"_\r\n");
    assert_eq!(enc(&Frame::NullArray, Resp3), b"_\r\n");
    assert_eq!(enc(&Frame::verbatim_text("hi"), Resp3), b"=6\r\ntxt:hi\r\n");
    assert_eq!(enc(&Frame::Double(f64::INFINITY), Resp3), b",inf\r\n");
}

/// The direct writers produce what encoding the equivalent frame does.
#[test]
fn direct_writers_match_encode() {
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut out = BytesMut::new();
        write_array_header(&mut out, 2);
        write_bulk(&mut out, b"x");
        write_integer(&mut out, i64::MIN);
        write_map_header(&mut out, 1, proto);
        write_simple(&mut out, "OK");
        write_error(&mut out, "ERR no");
        write_set_header(&mut out, 1, proto);
        write_null(&mut out, proto);
        write_push_header(&mut out, 3, proto);
        write_double(&mut out, -0.0, proto);
        write_boolean(&mut out, true, proto);
        write_big_number(&mut out, b"-7", proto);
        write_verbatim(&mut out, *b"mkd", b"# t", proto);
        write_null_array(&mut out, proto);
        let frames = [
            Frame::Array(vec![Frame::bulk("x"), Frame::Integer(i64::MIN)]),
            Frame::Map(vec![(Frame::ok(), Frame::error("ERR no"))]),
            Frame::Set(vec![Frame::Null]),
            Frame::Push(vec![
                Frame::Double(-0.0),
                Frame::Boolean(true),
                Frame::BigNumber(b("-7")),
            ]),
            Frame::Verbatim {
                format: *b"mkd",
                text: b("# t"),
            },
            Frame::NullArray,
        ];
        let mut want = Vec::new();
        for frame in &frames {
            want.extend(enc(frame, proto));
        }
        assert_eq!(&out[..], &want[..], "{proto:?}");
    }
}

#[test]
fn line_elements_never_carry_crlf() {
    let mut out = BytesMut::new();
    write_error(&mut out, "ERR a\r\nb\nc");
    write_simple(&mut out, "x\ry");
    assert_eq!(&out[..], b"-ERR a  b c\r\n+x y\r\n");
}

#[test]
fn constructors() {
    assert_eq!(Frame::ok(), Frame::Simple(b("OK")));
    assert_eq!(Frame::integer(3), Frame::Integer(3));
    assert_eq!(Frame::bulk(vec![1u8]), Frame::Bulk(Bytes::from(vec![1u8])));
    assert_eq!(Protocol::from_version(3), Some(Protocol::Resp3));
    assert_eq!(Protocol::from_version(4), None);
    assert_eq!(Protocol::Resp2.version(), 2);
    assert_eq!(Protocol::default(), Protocol::Resp2);
}

/// Byte-for-byte what Redis 7.0.15 answers to `DEBUG PROTOCOL <type>` over
/// RESP2 and, after `HELLO 3`, over RESP3 (and `BLPOP` timing out for the
/// null array, `SUBSCRIBE` for a push).
#[test]
#[allow(clippy::approx_constant)] // 3.141 is the value Redis itself sends
fn matches_redis_debug_protocol() {
    let bool_map = Frame::Map(vec![
        (Frame::Integer(0), Frame::Boolean(false)),
        (Frame::Integer(1), Frame::Boolean(true)),
        (Frame::Integer(2), Frame::Boolean(false)),
    ]);
    let ints = || vec![Frame::Integer(0), Frame::Integer(1), Frame::Integer(2)];
    let cases: Vec<(Frame, &[u8], &[u8])> = vec![
        (
            Frame::bulk("Hello World"),
            b"$11\r\nHello World\r\n",
            b"$11\r\nHello World\r\n",
        ),
        (Frame::Integer(12345), b":12345\r\n", b":12345\r\n"),
        (Frame::Double(3.141), b"$5\r\n3.141\r\n", b",3.141\r\n"),
        (
            Frame::BigNumber(b("1234567999999999999999999999999999999")),
            b"$37\r\n1234567999999999999999999999999999999\r\n",
            b"(1234567999999999999999999999999999999\r\n",
        ),
        (Frame::Null, b"$-1\r\n", b"_\r\n"),
        (Frame::NullArray, b"*-1\r\n", b"_\r\n"),
        (
            Frame::Array(ints()),
            b"*3\r\n:0\r\n:1\r\n:2\r\n",
            b"*3\r\n:0\r\n:1\r\n:2\r\n",
        ),
        (
            Frame::Set(ints()),
            b"*3\r\n:0\r\n:1\r\n:2\r\n",
            b"~3\r\n:0\r\n:1\r\n:2\r\n",
        ),
        (
            bool_map,
            b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
            b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
        ),
        (
            Frame::Push(vec![
                Frame::bulk("subscribe"),
                Frame::bulk("ch"),
                Frame::Integer(1),
            ]),
            b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
            b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
        ),
        (
            Frame::verbatim_text("This is a verbatim\nstring"),
            b"$25\r\nThis is a verbatim\nstring\r\n",
            b"=29\r\ntxt:This is a verbatim\nstring\r\n",
        ),
        (Frame::Boolean(true), b":1\r\n", b"#t\r\n"),
        (Frame::Boolean(false), b":0\r\n", b"#f\r\n"),
    ];
    for (frame, resp2, resp3) in cases {
        assert_eq!(enc(&frame, Protocol::Resp2), resp2, "{frame:?}");
        assert_eq!(enc(&frame, Protocol::Resp3), resp3, "{frame:?}");
    }
}
