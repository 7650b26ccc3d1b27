//! Cross-module tests. Snapshot tests live here so their `.snap` files sit
//! in `src/resp/snapshots/`; the rest is split by subject below.

use bytes::{Bytes, BytesMut};

use super::{encode, Frame, Protocol};

mod frame_cases;
mod generate;
mod props;
mod request_cases;

/// Snapshots `frame` encoded for both protocols as escaped bytes. Module
/// names are left out of snapshot file names so they survive renaming the
/// crate.
fn snap(name: &str, frame: &Frame) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (proto, tag) in [(Protocol::Resp2, "resp2"), (Protocol::Resp3, "resp3")] {
            let mut out = BytesMut::new();
            encode(frame, proto, &mut out);
            insta::assert_snapshot!(format!("{name}_{tag}"), format!("{out:?}"));
        }
    });
}

fn bulk(s: &'static str) -> Frame {
    Frame::bulk(s)
}

#[test]
fn snapshot_simple() {
    snap("simple", &Frame::ok());
}

#[test]
fn snapshot_error() {
    snap("error", &Frame::error("ERR unknown command 'FOO'"));
}

#[test]
fn snapshot_error_with_newlines() {
    snap("error_newlines", &Frame::error("ERR bad\r\nthing\n"));
}

#[test]
fn snapshot_integer() {
    snap(
        "integer",
        &Frame::Array(vec![
            Frame::Integer(0),
            Frame::Integer(-42),
            Frame::Integer(i64::MAX),
            Frame::Integer(i64::MIN),
        ]),
    );
}

#[test]
fn snapshot_bulk() {
    snap(
        "bulk",
        &Frame::Array(vec![
            bulk("hello"),
            bulk(""),
            Frame::bulk(&b"bin\r\n\x00\xff"[..]),
        ]),
    );
}

#[test]
fn snapshot_null() {
    snap("null", &Frame::Null);
}

#[test]
fn snapshot_null_array() {
    snap("null_array", &Frame::NullArray);
}

#[test]
fn snapshot_array() {
    snap(
        "array",
        &Frame::Array(vec![
            bulk("a"),
            Frame::Integer(1),
            Frame::Null,
            Frame::Array(vec![]),
            Frame::Array(vec![Frame::NullArray]),
        ]),
    );
}

#[test]
fn snapshot_map() {
    snap(
        "map",
        &Frame::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("proto"), Frame::Integer(3)),
            (bulk("modules"), Frame::Array(vec![])),
        ]),
    );
}

#[test]
fn snapshot_set() {
    snap("set", &Frame::Set(vec![bulk("x"), bulk("y")]));
}

#[test]
fn snapshot_push() {
    snap(
        "push",
        &Frame::Push(vec![bulk("message"), bulk("chan"), bulk("hi")]),
    );
}

#[test]
fn snapshot_double() {
    snap(
        "double",
        &Frame::Array(vec![
            Frame::Double(1.25),
            Frame::Double(1.0),
            Frame::Double(-0.0),
            Frame::Double(1e21),
            Frame::Double(1.5e-5),
            Frame::Double(f64::INFINITY),
            Frame::Double(f64::NEG_INFINITY),
            Frame::Double(f64::NAN),
        ]),
    );
}

#[test]
fn snapshot_boolean() {
    snap(
        "boolean",
        &Frame::Array(vec![Frame::Boolean(true), Frame::Boolean(false)]),
    );
}

#[test]
fn snapshot_big_number() {
    snap(
        "big_number",
        &Frame::BigNumber(Bytes::from_static(
            b"3492890328409238509324850943850943825024385",
        )),
    );
}

#[test]
fn snapshot_verbatim() {
    snap("verbatim", &Frame::verbatim_text("Some string"));
}
