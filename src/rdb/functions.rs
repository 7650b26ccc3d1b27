//! FUNCTION DUMP's payload, as Redis 7.0 writes it: each library's code
//! after the RDB opcode FUNCTION2 (245), as an RDB string, then the RDB
//! version in 2 bytes and the CRC64 of everything before it, as a key's
//! DUMP payload ends.

use super::value::{self, Cursor};
use bytes::Bytes;

/// The opcode before a library's code, in payloads and RDB files.
pub const OP_FUNCTION2: u8 = 0xf5;

/// Why a payload was refused, in Redis' words (FUNCTION RESTORE).
#[derive(Debug, PartialEq, Eq)]
pub enum FunctionsError {
    VersionOrChecksum,
    NotAFunction,
    BadPayload,
}

impl FunctionsError {
    pub fn message(&self) -> &'static str {
        match self {
            FunctionsError::VersionOrChecksum => "DUMP payload version or checksum are wrong",
            FunctionsError::NotAFunction => "given type is not a function",
            FunctionsError::BadPayload => "Failed loading library payload",
        }
    }
}

/// The payload of the libraries whose code is `codes`.
pub fn dump(codes: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OP_FUNCTION2);
        value::put_string(&mut out, code);
    }
    super::seal(&mut out);
    out
}

/// The libraries' code in a payload, after checking its version and
/// checksum.
pub fn restore(payload: &[u8]) -> Result<Vec<Bytes>, FunctionsError> {
    let body = super::unseal(payload).ok_or(FunctionsError::VersionOrChecksum)?;
    let mut cursor = Cursor::new(body);
    let mut codes = Vec::new();
    while cursor.remaining() > 0 {
        if !matches!(cursor.byte(), Ok(OP_FUNCTION2)) {
            return Err(FunctionsError::NotAFunction);
        }
        codes.push(cursor.string().map_err(|_| FunctionsError::BadPayload)?);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn payloads_round_trip(codes: Vec<Vec<u8>>) -> bool {
            let codes: Vec<Bytes> = codes.into_iter().map(Bytes::from).collect();
            restore(&dump(&codes)) == Ok(codes)
        }

        fn a_changed_byte_is_refused(codes: Vec<Vec<u8>>, at: usize, xor: u8) -> bool {
            let codes: Vec<Bytes> = codes.into_iter().map(Bytes::from).collect();
            let mut payload = dump(&codes);
            let at = at % payload.len();
            payload[at] ^= xor.max(1);
            restore(&payload).is_err()
        }
    }

    #[test]
    fn redis_servers_payload_restores() {
        // FUNCTION DUMP of redis-server 7.0.15 after FUNCTION LOAD of
        // this code.
        let code = b"#!lua name=l\nredis.register_function('f', function() return 1 end)";
        let payload = hex("f5404223216c7561206e616d653d6c0a72656469732e72656769737465725f66756e6374696f6e282766272c2066756e6374696f6e28292072657475726e203120656e64290a00629568e65f412be2");
        assert_eq!(restore(&payload), Ok(vec![Bytes::from_static(code)]));
        assert_eq!(dump(&[Bytes::from_static(code)]), payload);
        assert_eq!(
            restore(b"bad_payload"),
            Err(FunctionsError::VersionOrChecksum)
        );
        let key = crate::rdb::dump(&crate::rdb::Value::String(Bytes::from_static(b"v")));
        assert_eq!(restore(&key), Err(FunctionsError::NotAFunction));
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }
}
