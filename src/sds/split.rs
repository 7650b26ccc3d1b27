//! Splitting of inline commands (`SET k "a b"\r\n`), after Redis'
//! `sdssplitargs`, so telnet users and scripts see the same arguments.
//!
//! Rules, byte for byte as in Redis: blanks (space, `\t`, `\n`, `\v`, `\f`,
//! `\r`) separate arguments, but only space, `\t`, `\n`, `\r` end an
//! unquoted one (`a\vb` is one argument). A quote may open in the middle of
//! an argument (`a"b c"` is `ab c`). Inside "double quotes": `\n \r \t \b
//! \a`, `\xHH`, and `\<any>` for that byte. Inside 'single quotes' only
//! `\'` is an escape. A closing quote must be followed by a blank or the
//! end, and an unterminated quote is an error. A NUL byte ends the line,
//! as it ends Redis' C string.

/// One argument: a span of the line when it needed no unescaping (so the
/// caller can slice the buffer without copying), or the unescaped bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Span(usize, usize),
    Owned(Vec<u8>),
}

impl Piece {
    /// The argument's bytes, copying a span out of `line`.
    pub fn into_bytes(self, line: &[u8]) -> Vec<u8> {
        match self {
            Piece::Span(start, end) => line.get(start..end).unwrap_or_default().to_vec(),
            Piece::Owned(bytes) => bytes,
        }
    }
}

/// The argument being built. Starts as a span and becomes owned when a
/// quote shows up.
struct Token {
    start: usize,
    owned: Option<Vec<u8>>,
}

impl Token {
    fn push(&mut self, b: u8) {
        if let Some(v) = self.owned.as_mut() {
            v.push(b);
        }
    }

    /// Switches to owned bytes, keeping the unquoted part read so far.
    fn own(&mut self, line: &[u8], pos: usize) {
        if self.owned.is_none() {
            self.owned = Some(line.get(self.start..pos).unwrap_or_default().to_vec());
        }
    }

    fn finish(self, end: usize) -> Piece {
        match self.owned {
            Some(v) => Piece::Owned(v),
            None => Piece::Span(self.start, end),
        }
    }
}

/// C's `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits one line (without its line ending). `None` means unbalanced
/// quotes. An empty or all-blank line gives no arguments.
pub fn split_args(line: &[u8]) -> Option<Vec<Piece>> {
    // Reading past the end yields 0, mirroring the C string terminator.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(args);
        }
        let mut token = Token {
            start: p,
            owned: None,
        };
        let (mut in_double, mut in_single) = (false, false);
        let end = loop {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        token.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    token.push(match at(p + 1) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                    p += 2;
                    continue;
                }
                if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break p;
                }
                if c == 0 {
                    return None;
                }
                token.push(c);
                p += 1;
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    token.push(b'\'');
                    p += 2;
                    continue;
                }
                if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break p;
                }
                if c == 0 {
                    return None;
                }
                token.push(c);
                p += 1;
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        let end = p;
                        if c != 0 {
                            p += 1;
                        }
                        break end;
                    }
                    b'"' | b'\'' => {
                        token.own(line, p);
                        in_double = c == b'"';
                        in_single = c == b'\'';
                    }
                    other => token.push(other),
                }
                p += 1;
            }
        };
        args.push(token.finish(end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        let pieces = split_args(line)?;
        Some(
            pieces
                .into_iter()
                .map(|p| match p {
                    Piece::Span(a, b) => line[a..b].to_vec(),
                    Piece::Owned(v) => v,
                })
                .collect(),
        )
    }

    fn ok(line: &[u8], want: &[&[u8]]) {
        let got = split(line).unwrap_or_else(|| panic!("unbalanced: {line:?}"));
        let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn plain_words() {
        ok(b"SET key value", &[b"SET", b"key", b"value"]);
        ok(b"  GET\t k  ", &[b"GET", b"k"]);
        ok(b"", &[]);
        ok(b" \t\x0b\x0c ", &[]);
        ok(b"a\x0bb", &[b"a\x0bb"]);
        ok(b"\x0bx", &[b"x"]);
        ok(b"PING\rPING", &[b"PING", b"PING"]);
    }

    #[test]
    fn plain_words_are_spans() {
        assert_eq!(
            split_args(b"ab cd"),
            Some(vec![Piece::Span(0, 2), Piece::Span(3, 5)])
        );
    }

    #[test]
    fn double_quotes() {
        ok(br#"SET k "a b""#, &[b"SET", b"k", b"a b"]);
        ok(br#""a\x41\n""#, &[b"aA\n"]);
        ok(br#""\r\t\b\a\\\"\q""#, &[b"\r\t\x08\x07\\\"q"]);
        ok(br#""\xZZ""#, &[b"xZZ"]);
        ok(br#""\x4""#, &[b"x4"]);
        ok(br#""""#, &[b""]);
        ok(br#"a"b c""#, &[b"ab c"]);
        ok(b"\"a\"\tx", &[b"a", b"x"]);
        ok(b"\"a\"\x0bx", &[b"a", b"x"]);
    }

    #[test]
    fn single_quotes() {
        ok(br"'a\'b'", &[b"a'b"]);
        ok(br"'a\nb'", &[b"a\\nb"]);
        ok(br#"'say \"hi\"'"#, &[br#"say \"hi\""#]);
        ok(b"''", &[b""]);
    }

    #[test]
    fn unbalanced() {
        for line in [
            &br#""abc"def"#[..],
            b"'abc",
            b"\"abc",
            br#""a\""#,
            b"'a'b",
            b"\"a",
        ] {
            assert_eq!(split(line), None, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn nul_ends_the_line() {
        ok(b"a\0b c", &[b"a"]);
        assert_eq!(split(b"\"a\0\""), None);
    }
}
