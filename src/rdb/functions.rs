//! FUNCTION DUMP's payload, as Redis 7.0 writes it: each library's code
//! after the RDB opcode FUNCTION2 (245), as an RDB string, then the RDB
//! version in 2 bytes and the CRC64 of everything before it, as a key's
//! DUMP payload ends.

use super::value::{self, Cursor, Parsed};
use bytes::Bytes;

/// The opcode before a library's code, in payloads and RDB files.
pub const OP_FUNCTION2: u8 = 0xf5;
/// The opcode of Redis 7.0's release candidates: the library's name,
/// engine, optional description and code apart.
pub const OP_FUNCTION_PRE_GA: u8 = 0xf6;

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

/// The code of the library after opcode `op` (one of the two above), as
/// FUNCTION LOAD takes it: a release candidate's parts are put together as
/// Redis does (`rdbFunctionLoad`), its description dropped.
pub(super) fn library(cursor: &mut Cursor, op: u8) -> Parsed<Bytes> {
    if op == OP_FUNCTION2 {
        return cursor.string();
    }
    let name = cursor.string()?;
    let engine = cursor.string()?;
    if cursor.len()? != 0 {
        cursor.string()?;
    }
    let body = cursor.string()?;
    let mut code = b"#!".to_vec();
    code.extend_from_slice(&engine);
    code.extend_from_slice(b" name=");
    code.extend_from_slice(&name);
    code.push(b'\n');
    code.extend_from_slice(&body);
    Ok(Bytes::from(code))
}

/// The libraries' code in a payload, after checking its version and
/// checksum.
pub fn restore(payload: &[u8]) -> Result<Vec<Bytes>, FunctionsError> {
    let body = super::unseal(payload).ok_or(FunctionsError::VersionOrChecksum)?;
    let mut cursor = Cursor::new(body);
    let mut codes = Vec::new();
    while cursor.remaining() > 0 {
        let op = match cursor.byte() {
            Ok(op @ (OP_FUNCTION2 | OP_FUNCTION_PRE_GA)) => op,
            _ => return Err(FunctionsError::NotAFunction),
        };
        codes.push(library(&mut cursor, op).map_err(|_| FunctionsError::BadPayload)?);
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

    #[test]
    fn a_release_candidates_library_is_put_together() {
        let mut body = vec![OP_FUNCTION_PRE_GA];
        for part in [&b"lib"[..], b"LUA"] {
            value::put_string(&mut body, part);
        }
        value::put_len(&mut body, 1);
        value::put_string(&mut body, b"a description");
        value::put_string(&mut body, b"redis.register_function('f', function() end)");
        super::super::seal(&mut body);
        assert_eq!(
            restore(&body),
            Ok(vec![Bytes::from_static(
                b"#!LUA name=lib\nredis.register_function('f', function() end)"
            )])
        );
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }
}
