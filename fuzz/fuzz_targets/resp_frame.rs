//! Parses arbitrary bytes with `parse_frame`.
//!
//! Checks: no panic (including stack overflow on deep nesting); a parsed
//! frame never claims more bytes than given; re-encoding it in RESP3 and
//! parsing again gives the same frame. Frames are compared through their
//! encoding because a NaN double is not equal to itself.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redstone::resp::{encode, parse_frame, Protocol};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, used))) = parse_frame(data) {
        assert!(used <= data.len());
        let mut first = BytesMut::new();
        encode(&frame, Protocol::Resp3, &mut first);
        match parse_frame(&first) {
            Ok(Some((again, n))) => {
                assert_eq!(n, first.len(), "re-parse did not consume the encoding");
                let mut second = BytesMut::new();
                encode(&again, Protocol::Resp3, &mut second);
                assert_eq!(first, second, "re-encoded frame differs");
            }
            other => panic!("re-encoded frame did not parse: {other:?}"),
        }
    }
});
