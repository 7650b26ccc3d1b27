//! Argument parsing shared by command handlers, with Redis' exact rules and
//! error strings.

use crate::resp::Frame;
use bytes::Bytes;

pub const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_DB_RANGE: &str = "ERR DB index is out of range";

/// A command's reply when it fails: the error line as Redis sends it.
pub type CmdResult = Result<Frame, Frame>;

pub fn err(message: impl AsRef<str>) -> Frame {
    Frame::error(message)
}

/// Parses a signed 64-bit integer exactly like Redis' `string2ll`: optional
/// '-', no '+', no leading zeros, no spaces, at most 20 characters.
pub use crate::sds::string2ll as parse_i64;

pub fn int_arg(bytes: &[u8]) -> Result<i64, Frame> {
    parse_i64(bytes).ok_or_else(|| err(ERR_NOT_INTEGER))
}

/// A timeout in milliseconds as Redis' `getTimeoutFromObjectOrReply`
/// reads one (WAIT, CLIENT PAUSE): 0 means none.
pub fn ms_timeout(bytes: &[u8]) -> Result<u64, Frame> {
    let timeout =
        parse_i64(bytes).ok_or_else(|| err("ERR timeout is not an integer or out of range"))?;
    u64::try_from(timeout).map_err(|_| err("ERR timeout is negative"))
}

/// Parses a double like Redis' `string2ld`/`strtold`: no spaces, accepts
/// "inf", "-inf", "+inf"; rejects NaN.
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let value = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => text.parse::<f64>().ok()?,
    };
    (!value.is_nan()).then_some(value)
}

pub fn float_arg(bytes: &[u8]) -> Result<f64, Frame> {
    parse_f64(bytes).ok_or_else(|| err(ERR_NOT_FLOAT))
}

/// Redis' `addReplySubcommandSyntaxError` for `CONTAINER subcommand ...`.
pub fn subcommand_syntax_error(args: &[Bytes]) -> Frame {
    err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Live metadata that must be of `kind`, or WRONGTYPE (absent is fine).
pub fn of_kind(
    meta: Option<crate::keyspace::Meta>,
    kind: crate::keyspace::KeyType,
) -> Result<Option<crate::keyspace::Meta>, Frame> {
    match meta {
        Some(meta) if meta.kind != kind => Err(err(ERR_WRONGTYPE)),
        other => Ok(other),
    }
}

/// The keys announced by a numkeys argument of `n` at `index`: a syntax
/// error when fewer arguments follow.
pub fn counted_keys(
    args: &[bytes::Bytes],
    index: usize,
    n: usize,
) -> Result<&[bytes::Bytes], Frame> {
    let first = index + 1;
    match first.checked_add(n) {
        Some(end) if end <= args.len() => Ok(&args[first..end]),
        _ => Err(err(ERR_SYNTAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_reject_nan_and_spaces() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
