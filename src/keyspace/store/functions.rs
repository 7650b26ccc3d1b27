//! The function libraries (FUNCTION LOAD), kept in the sys partition in
//! the same batch as the command that changed them, so that they survive a
//! restart exactly as committed: one row holding every library's code,
//! each as `len u32 | code`. Loading them into Lua is the caller's job.

use super::{corrupt, encoding, Result, Store, Txn};
use crate::engine::{Partition, Reader};
use bytes::{BufMut, Bytes, BytesMut};

const SYS_FUNCTIONS: &[u8] = b"functions";

fn encode(codes: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    for code in codes {
        out.put_u32(code.len() as u32);
        out.put_slice(code);
    }
    out.freeze()
}

fn decode(mut raw: Bytes) -> Option<Vec<Bytes>> {
    let mut codes = Vec::new();
    while !raw.is_empty() {
        let len = encoding::read_u32(raw.get(..4)?) as usize;
        let _ = raw.split_to(4);
        if raw.len() < len {
            return None;
        }
        codes.push(raw.split_to(len));
    }
    Some(codes)
}

/// The libraries' code stored in `reader` (the engine, or a snapshot of it).
pub(in crate::keyspace) fn read(reader: &dyn Reader) -> Result<Vec<Bytes>> {
    match reader.get(Partition::Sys, SYS_FUNCTIONS)? {
        Some(raw) => decode(raw).ok_or_else(|| corrupt("function libraries")),
        None => Ok(Vec::new()),
    }
}

impl Store {
    /// The libraries' code as last committed.
    pub fn functions(&self) -> Result<Vec<Bytes>> {
        read(&*self.engine.snapshot())
    }
}

impl Txn<'_> {
    /// Once committed, the libraries are `codes` (all of them). Counts as
    /// a change, so the command that did it is propagated as sent.
    pub fn set_functions(&mut self, codes: &[Bytes]) {
        match codes.is_empty() {
            true => self.batch.delete(Partition::Sys, SYS_FUNCTIONS),
            false => self.batch.put(Partition::Sys, SYS_FUNCTIONS, encode(codes)),
        }
        self.changes += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_holds_every_library_as_given() {
        let codes = vec![Bytes::from_static(b"#!lua name=a\n"), Bytes::new()];
        assert_eq!(decode(encode(&codes)), Some(codes));
        assert_eq!(decode(Bytes::from_static(b"\0\0\0\x09short")), None);
    }
}
