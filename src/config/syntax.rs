//! Byte-level helpers reproducing the Redis/sds routines the config format
//! relies on (`sdssplitargs`, `sdscatrepr` and `string2ll` come from
//! [`crate::sds`]): `memtoull` and the
//! memory formatting used by CONFIG REWRITE.

/// C `isspace()` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits a config line into arguments like Redis' `sdssplitargs`;
/// `None` on unbalanced quotes.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let pieces = crate::sds::split_args(line)?;
    Some(
        pieces
            .into_iter()
            .map(|piece| piece.into_bytes(line))
            .collect(),
    )
}

/// `repr` only when needed: bare words stay bare (used for list items).
pub(crate) fn quote_if_needed(bytes: &[u8]) -> Vec<u8> {
    let bare = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b'\'' | b'\\'));
    if bare {
        bytes.to_vec()
    } else {
        repr(bytes)
    }
}

pub(crate) use crate::sds::{repr, string2ll};

/// C `strtoll(s, &end, 10)` followed by Redis' `*end == '\0'` check: leading
/// blanks and a sign are allowed, no digits at all parses as 0 only for the
/// empty string, overflow saturates.
pub(crate) fn strtoll_whole(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        v = if negative {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    if i == start {
        // No conversion: end pointer is the start of the string.
        return s.is_empty().then_some(0);
    }
    (i == s.len()).then_some(v)
}

/// Redis' `memtoull`: digits followed by an optional unit among b, k, kb, m,
/// mb, g, gb (case-insensitive; k/m/g are powers of 1000, kb/mb/gb of 1024).
/// No sign allowed; an empty number counts as 0 like in Redis ("mb" == 0);
/// numbers too large for u64 saturate as `strtoull` does.
pub(crate) fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (digits, unit) = s.split_at(ndigits);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let val = digits.iter().fold(0u64, |v, d| {
        v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    val.checked_mul(mul)
}

/// CONFIG REWRITE's memory rendering (Redis `rewriteConfigFormatMemory`).
pub(crate) fn format_memory(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    const GB: u64 = 1024 * MB;
    match bytes {
        0 => "0".to_string(),
        b if b % GB == 0 => format!("{}gb", b / GB),
        b if b % MB == 0 => format!("{}mb", b / MB),
        b if b % KB == 0 => format!("{}kb", b / KB),
        b => b.to_string(),
    }
}

/// Trim like `sdstrim(line, " \t\r\n")`.
pub(crate) fn trim(line: &[u8]) -> &[u8] {
    let is_trim = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|b| !is_trim(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !is_trim(b))
        .map_or(start, |e| e + 1);
    &line[start..end]
}
