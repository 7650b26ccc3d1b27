//! Reads arbitrary bytes as a whole RDB file with `rdb::file::Reader`, in
//! two pieces split where the first byte says, and as a DUMP payload with
//! `rdb::restore`.
//!
//! Checks: no panic, no hang, no allocation beyond what the input holds;
//! the reader never claims to have parsed more bytes than it was given,
//! and gives the same items however the input is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redstone::rdb::file::{FileError, Item, Reader};

/// The items read (up to the first error) and the bytes parsed.
fn read(pieces: &[&[u8]]) -> (Vec<Item>, Option<FileError>, u64) {
    let mut reader = Reader::new();
    let mut items = Vec::new();
    for piece in pieces {
        reader.push(piece);
        loop {
            match reader.next() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(error) => return (items, Some(error), reader.consumed()),
            }
        }
    }
    (items, None, reader.consumed())
}

fuzz_target!(|data: &[u8]| {
    let _ = redstone::rdb::restore(data);
    let Some((&split, file)) = data.split_first() else {
        return;
    };
    let (head, tail) = file.split_at(usize::from(split).min(file.len()));
    let whole = read(&[file]);
    assert!(whole.2 <= file.len() as u64);
    let pieces = read(&[head, tail]);
    assert!(
        whole.0 == pieces.0 && whole.1 == pieces.1 && whole.2 == pieces.2,
        "splitting the input changed what was read"
    );
});
