//! Feeds arbitrary bytes, in an arbitrary chunking, to `RequestParser`.
//!
//! Checks: no panic; every byte fed is either consumed or still buffered;
//! no request is empty; and when neither run fails, feeding the same
//! bytes whole yields the same requests as feeding them in chunks.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use redstone::resp::{Limits, RequestParser};

/// Runs the parser over `input` cut into chunks whose sizes cycle through
/// `sizes`; returns the requests and whether it stopped on an error.
fn run(input: &[u8], sizes: &[u8], auth: bool, limits: Limits) -> (Vec<Vec<Bytes>>, bool) {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let (mut fed, mut consumed, mut pos, mut i) = (0usize, 0usize, 0usize, 0usize);
    while pos < input.len() {
        let size = match sizes.get(i % sizes.len().max(1)) {
            Some(&s) => usize::from(s).max(1),
            None => input.len(),
        };
        i += 1;
        let end = (pos + size).min(input.len());
        buf.extend_from_slice(&input[pos..end]);
        fed += end - pos;
        pos = end;
        loop {
            let before = buf.len();
            let result = parser.parse(&mut buf, auth);
            consumed += before - buf.len();
            assert_eq!(consumed + buf.len(), fed, "bytes lost or invented");
            match result {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty request returned");
                    requests.push(args);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(e.message().starts_with("Protocol error: "));
                    return (requests, true);
                }
            }
        }
    }
    (requests, false)
}

fuzz_target!(|data: &[u8]| {
    // Header: flags, then how many chunk-size bytes follow.
    let (flags, rest) = match data.split_first() {
        Some(split) => split,
        None => return,
    };
    let n_sizes = usize::from(flags >> 4);
    let (sizes, input) = rest.split_at(n_sizes.min(rest.len()));
    let auth = flags & 1 == 1;
    let limits = if flags & 2 == 2 {
        // Small limits reach the "too big" and length errors quickly.
        Limits {
            max_bulk_len: 64,
            max_inline_len: 32,
        }
    } else {
        Limits::default()
    };

    let (chunked, chunked_failed) = run(input, sizes, auth, limits);
    let (whole, whole_failed) = run(input, &[], auth, limits);
    if !chunked_failed && !whole_failed {
        assert_eq!(chunked, whole, "chunking changed the requests");
    }
});
