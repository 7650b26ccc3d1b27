//! Request parser cases, each checked against Redis 7.0.15 by hand
//! (raw bytes over a socket) unless marked otherwise.

use bytes::{Bytes, BytesMut};

use super::generate::{drain, feed_chunked, multibulk};
use crate::resp::{Limits, ProtocolError, ProtocolErrorKind, RequestParser};

/// Everything `input` yields when received in one piece.
fn run(input: &[u8], auth: bool) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    feed_chunked(input, &[], auth)
}

fn requests(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let (reqs, err) = run(input, false);
    assert_eq!(err, None, "{:?}", String::from_utf8_lossy(input));
    reqs.into_iter()
        .map(|r| r.into_iter().map(|a| a.to_vec()).collect())
        .collect()
}

fn error(input: &[u8], auth: bool) -> String {
    match run(input, auth).1 {
        Some(e) => e.message().to_string(),
        None => format!("no error for {:?}", String::from_utf8_lossy(input)),
    }
}

/// Asserts the input is a valid prefix awaiting more bytes, untouched.
fn waits(input: &[u8], auth: bool) {
    let (reqs, err) = run(input, auth);
    assert_eq!(
        (reqs.len(), err),
        (0, None),
        "{:?}",
        String::from_utf8_lossy(input)
    );
}

fn v(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

const INVALID_MBULK: &str = "Protocol error: invalid multibulk length";
const INVALID_BULK: &str = "Protocol error: invalid bulk length";

#[test]
fn multibulk_count_errors() {
    for input in [
        &b"*3000000000\r\n"[..],
        b"*2147483648\r\n",
        b"*-0\r\n",
        b"*01\r\n",
        b"*\r\n",
        b"*+1\r\n",
        b"*1 \r\n",
        b"*abc\r\n",
        b"*99999999999999999999999\r\n",
    ] {
        assert_eq!(error(input, false), INVALID_MBULK, "{input:?}");
    }
    // i32::MAX itself is accepted: Redis waits for the elements.
    waits(b"*2147483647\r\n", false);
    waits(b"*20000000\r\n", false);
}

#[test]
fn too_big_count_strings() {
    let limit = Limits::default().max_inline_len;
    let mut header = b"*".to_vec();
    header.resize(limit, b'1');
    waits(&header, false); // exactly the limit: still waiting
    header.push(b'1');
    assert_eq!(
        error(&header, false),
        "Protocol error: too big mbulk count string"
    );

    let mut bulk = b"*1\r\n$".to_vec();
    bulk.resize(limit + 5, b'1');
    assert_eq!(
        error(&bulk, false),
        "Protocol error: too big bulk count string"
    );
    let mut no_dollar = b"*1\r\n".to_vec();
    no_dollar.resize(limit + 5, b'x');
    assert_eq!(
        error(&no_dollar, false),
        "Protocol error: too big bulk count string"
    );
}

#[test]
fn expected_dollar() {
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n";
    assert_eq!(error(input, false), "Protocol error: expected '$', got 'f'");
    // CR and LF are shown as spaces, as Redis' addReplyErrorFormat does.
    assert_eq!(
        error(b"*1\r\n\n\r\n", false),
        "Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        error(b"*1\r\n\r\n", false),
        "Protocol error: expected '$', got ' '"
    );
}

#[test]
fn expected_dollar_reply_carries_the_raw_byte() {
    let err = run(b"*1\r\n\xff1\r\n", false).1;
    let err = err.unwrap_or_else(|| panic!("no error"));
    assert_eq!(err.kind(), ProtocolErrorKind::ExpectedDollar(0xff));
    assert_eq!(err.message(), "Protocol error: expected '$', got '\u{ff}'");
    let mut out = BytesMut::new();
    err.write_reply(&mut out);
    assert_eq!(
        &out[..],
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
}

/// The replies redis-server 7.0.15 sent for these requests, byte for byte:
/// the found byte raw (`%c`), CR and LF turned into spaces.
#[test]
fn protocol_error_replies_are_redis_bytes() {
    for (input, reply) in [
        (
            &b"*1\r\n\xffabc\r\n"[..],
            &b"-ERR Protocol error: expected '$', got '\xff'\r\n"[..],
        ),
        (
            b"*1\r\n\x80abc\r\n",
            b"-ERR Protocol error: expected '$', got '\x80'\r\n",
        ),
        (
            b"*1\r\nAabc\r\n",
            b"-ERR Protocol error: expected '$', got 'A'\r\n",
        ),
        (
            b"*1\r\n\r\n",
            b"-ERR Protocol error: expected '$', got ' '\r\n",
        ),
        (
            b"*1\r\n\nabc\r\n",
            b"-ERR Protocol error: expected '$', got ' '\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
    ] {
        let err = run(input, false)
            .1
            .unwrap_or_else(|| panic!("no error for {input:?}"));
        let mut out = BytesMut::new();
        err.write_reply(&mut out);
        assert_eq!(&out[..], reply, "{input:?}");
    }
}

#[test]
fn bulk_length_errors() {
    for input in [
        &b"*1\r\n$-1\r\n"[..],
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$01\r\n",
        b"*1\r\n$111111111111111111111111111111\r\n",
    ] {
        assert_eq!(error(input, false), INVALID_BULK, "{input:?}");
    }
    waits(b"*1\r\n$536870912\r\n", false);
}

#[test]
fn bulk_limit_follows_set_limits() {
    let mut parser = RequestParser::new(Limits::default());
    parser.set_limits(Limits {
        max_bulk_len: 3,
        ..Limits::default()
    });
    assert_eq!(parser.limits().max_bulk_len, 3);
    let mut ok = BytesMut::from(&b"*1\r\n$3\r\nabc\r\n"[..]);
    assert!(matches!(parser.parse(&mut ok, false), Ok(Some(_))));
    let mut bad = BytesMut::from(&b"*1\r\n$4\r\nabcd\r\n"[..]);
    let err = parser
        .parse(&mut bad, false)
        .err()
        .map(|e| e.message().to_string());
    assert_eq!(err.as_deref(), Some(INVALID_BULK));
}

#[test]
fn unauthenticated_limits() {
    let mbulk = "Protocol error: unauthenticated multibulk length";
    let bulk = "Protocol error: unauthenticated bulk length";
    assert_eq!(error(b"*11\r\n", true), mbulk);
    waits(b"*10\r\n", true);
    assert_eq!(requests(b"*-11\r\nPING\r\n"), vec![v(&[b"PING"])]);
    assert_eq!(error(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n", true), bulk);
    waits(b"*2\r\n$4\r\nAUTH\r\n$16384\r\n", true);
    // Validity is checked before authentication limits.
    assert_eq!(error(b"*2\r\n$4\r\nAUTH\r\n$-1\r\n", true), INVALID_BULK);
    assert_eq!(error(b"*3000000000\r\n", true), INVALID_MBULK);
    // The same requests are fine once authenticated.
    waits(b"*11\r\n", false);
    waits(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n", false);
    // Inline requests have no such limit beyond their length.
    let inline = b"GET a a a a a a a a a a a a a a a a a a a a\r\n";
    assert_eq!(run(inline, true).0.first().map(Vec::len), Some(21));
}

#[test]
fn too_big_inline_request() {
    let limit = Limits::default().max_inline_len;
    let mut line = b"PING ".to_vec();
    line.resize(limit, b'x');
    waits(&line, false);
    line.push(b'x');
    assert_eq!(
        error(&line, false),
        "Protocol error: too big inline request"
    );
}

#[test]
fn unbalanced_quotes() {
    for input in [
        &b"ECHO \"abc\"def\r\n"[..],
        b"ECHO 'abc\r\n",
        b"ECHO \"a\\\"\r\n",
        b"ECHO 'a'b\r\n",
    ] {
        assert_eq!(
            error(input, false),
            "Protocol error: unbalanced quotes in request",
            "{input:?}"
        );
    }
}

#[test]
fn inline_quoting() {
    assert_eq!(
        requests(b"ECHO \"a\\x41\\n\"\r\n"),
        vec![v(&[b"ECHO", b"aA\n"])]
    );
    assert_eq!(requests(b"ECHO 'a\\'b'\r\n"), vec![v(&[b"ECHO", b"a'b"])]);
    assert_eq!(requests(b"ECHO a\"b c\"\r\n"), vec![v(&[b"ECHO", b"ab c"])]);
    assert_eq!(
        requests(b"ECHO \"a\"\tx\r\n"),
        vec![v(&[b"ECHO", b"a", b"x"])]
    );
    assert_eq!(requests(b"ECHO \x0bx\r\n"), vec![v(&[b"ECHO", b"x"])]);
    assert_eq!(requests(b"ECHO a\x0bb\r\n"), vec![v(&[b"ECHO", b"a\x0bb"])]);
    assert_eq!(requests(b"ECHO \"\\xZZ\"\r\n"), vec![v(&[b"ECHO", b"xZZ"])]);
    assert_eq!(requests(b"PING\rPING\r\n"), vec![v(&[b"PING", b"PING"])]);
    assert_eq!(requests(b"SET k \"\"\n"), vec![v(&[b"SET", b"k", b""])]);
}

#[test]
fn empty_requests_are_skipped() {
    assert_eq!(requests(b"\r\n\r\n   \r\nPING\r\n"), vec![v(&[b"PING"])]);
    assert_eq!(requests(b"\nPING\n"), vec![v(&[b"PING"])]);
    assert_eq!(
        requests(b"*0\r\n*-1\r\n*-10\r\nPING\r\n"),
        vec![v(&[b"PING"])]
    );
    assert_eq!(requests(b"*0\r\n\r\n"), Vec::<Vec<Vec<u8>>>::new());
}

#[test]
fn pipelined_requests() {
    let mut input = multibulk(&v(&[b"SET", b"k", b"v\r\n\0"]));
    input.extend_from_slice(b"PING\r\n");
    input.extend(multibulk(&v(&[b"ECHO", b""])));
    input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n*1\r\nx");
    assert_eq!(
        requests(&input),
        vec![
            v(&[b"SET", b"k", b"v\r\n\0"]),
            v(&[b"PING"]),
            v(&[b"ECHO", b""]),
            v(&[b"PING"])
        ]
    );
}

#[test]
fn redis_quirks_are_kept() {
    // Any byte after a header's CR passes for its LF...
    assert_eq!(requests(b"*1\rX$4\r\nPING\r\n"), vec![v(&[b"PING"])]);
    // ...and the two bytes after a payload are skipped unchecked.
    assert_eq!(
        requests(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"),
        vec![v(&[b"PING"]), v(&[b"PING"])]
    );
    // A NUL before the line end hides it, as with strchr: Redis waits.
    waits(b"PING\0\r\nPING\r\n", false);
    waits(b"*1\0\r\n$4\r\nPING\r\n", false);
    let mut stuck = b"*1\0\r\n".to_vec();
    stuck.resize(Limits::default().max_inline_len + 1, b'x');
    assert_eq!(
        error(&stuck, false),
        "Protocol error: too big mbulk count string"
    );
}

/// Splitting a pipeline at every offset, and feeding it byte by byte,
/// gives what feeding it whole gives.
#[test]
fn partial_input_at_every_offset() {
    let mut input = multibulk(&v(&[b"SET", b"key", b"a value\r\nwith crlf"]));
    input.extend_from_slice(b"*0\r\nGET \"key\" 'x'\r\n\r\n");
    input.extend(multibulk(&v(&[b"", b"\0"])));
    input.extend_from_slice(b"PING\n");
    let whole = run(&input, false);
    assert_eq!(whole.1, None);
    assert_eq!(whole.0.len(), 4);
    for split in 0..=input.len() {
        let (reqs, err) = feed_chunked(&input, &[split, input.len()], false);
        assert_eq!((&reqs, &err), (&whole.0, &whole.1), "split at {split}");
    }
    assert_eq!(feed_chunked(&input, &[1], false), whole);
}

#[test]
fn partial_request_keeps_finished_args_and_tail() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nab"[..]);
    assert_eq!(parser.parse(&mut buf, false), Ok(None));
    assert_eq!(&buf[..], b"ab");
    assert_eq!(parser.bytes_needed(&buf), 5);
    buf.extend_from_slice(b"cde\r");
    assert_eq!(parser.parse(&mut buf, false), Ok(None));
    assert_eq!(parser.bytes_needed(&buf), 1);
    buf.extend_from_slice(b"\n");
    let args = parser.parse(&mut buf, false);
    assert_eq!(
        args,
        Ok(Some(vec![Bytes::from("GET"), Bytes::from("abcde")]))
    );
    assert!(buf.is_empty());
    assert_eq!(parser.bytes_needed(&buf), 0);
}

#[test]
fn args_are_split_off_the_buffer_without_copying() {
    let input = multibulk(&v(&[b"SET", b"k", &[7u8; 4096]]));
    let mut buf = BytesMut::with_capacity(input.len());
    buf.extend_from_slice(&input);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let mut parser = RequestParser::new(Limits::default());
    let args = parser
        .parse(&mut buf, false)
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(args.len(), 3);
    for arg in &args {
        assert!(
            range.contains(&(arg.as_ptr() as usize)),
            "argument was copied"
        );
    }
    // Inline words that need no unescaping are slices of the buffer too.
    let mut inline = BytesMut::from(&b"GET somekey\r\n"[..]);
    let range = inline.as_ptr() as usize..inline.as_ptr() as usize + inline.len();
    let args = parser
        .parse(&mut inline, false)
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(args.iter().all(|a| range.contains(&(a.as_ptr() as usize))));
}

/// A header or inline line trickling in byte by byte is scanned once, not
/// once per call: with a quadratic rescan this takes minutes in debug
/// builds, linear it takes milliseconds.
#[test]
fn slow_lines_are_parsed_in_linear_time() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::new();
    for _ in 0..60_000 {
        buf.extend_from_slice(b"a");
        assert_eq!(parser.parse(&mut buf, false), Ok(None));
    }
    buf.extend_from_slice(b"\r\n");
    let args = parser
        .parse(&mut buf, false)
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(args.first().map(Bytes::len), Some(60_000));

    let big = multibulk(&[vec![b'z'; 1 << 20]]);
    let (reqs, err) = feed_chunked(&big, &[1000], false);
    assert_eq!((reqs.len(), err), (1, None));
}

#[test]
fn reset_forgets_a_partial_request() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n"[..]);
    assert_eq!(parser.parse(&mut buf, false), Ok(None));
    parser.reset();
    let mut buf = BytesMut::from(&b"PING\r\n"[..]);
    let mut out = Vec::new();
    assert_eq!(drain(&mut parser, &mut buf, false, &mut out), Ok(()));
    assert_eq!(out, vec![vec![Bytes::from("PING")]]);
}

#[test]
fn error_display_and_reply() {
    let err = run(b"*x\r\n", false)
        .1
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(err.to_string(), INVALID_MBULK);
    let mut out = BytesMut::new();
    err.write_reply(&mut out);
    assert_eq!(
        &out[..],
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
}
