//! Glob-style pattern matching with exactly the semantics of Redis 7.0's
//! `stringmatchlen()` (used by KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET, ...).
//!
//! Supported syntax:
//! * `*` matches any run of bytes (consecutive stars collapse into one),
//! * `?` matches exactly one byte,
//! * `[abc]`, `[^abc]`, `[a-z]` (reversed ranges such as `[z-a]` work too),
//!   `\x` inside brackets matches `x` literally (always case-sensitively),
//! * `\x` outside brackets matches `x` literally,
//! * an unterminated `[` behaves as in Redis (the class simply ends with the
//!   pattern).
//!
//! Redis quirks that are reproduced on purpose:
//! * a non-empty pattern never matches the empty string, not even `*`
//!   (Redis' KEYS special-cases a lone `*`, callers must do the same),
//! * bytes are compared as C `char` (signed), which matters only for ranges
//!   involving bytes >= 0x80; case folding is ASCII-only (C locale),
//! * a pattern needing more than 1000 nested `*` (the 1001st non-trailing
//!   star) never matches, like Redis' "protection against abusive patterns".
//!
//! Unlike Redis the implementation is iterative: Redis recurses at each `*`
//! but stops retrying earlier stars once a later one has been tried at every
//! position (`skipLongerMatches`); that is exactly "backtrack only to the
//! most recent star", so the worst case is O(pattern * string) time and O(1)
//! extra space, whatever the pattern.

/// Redis refuses to nest deeper than this many `*` (see `stringmatchlen_impl`).
const MAX_STAR_NESTING: usize = 1000;

/// The byte as a signed C `char` (x86-64, where Redis is normally built),
/// lower-cased in the C locale when `nocase` is set.
fn fold(b: u8, nocase: bool) -> i32 {
    let b = if nocase { b.to_ascii_lowercase() } else { b };
    i32::from(b as i8)
}

/// Returns true when `string` matches the glob `pattern` (Redis semantics).
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let plen = pattern.len();
    let slen = string.len();
    // C strings are NUL-terminated: reading one past the end yields 0.
    let p_at = |i: usize| pattern.get(i).copied().unwrap_or(0);

    let mut pi = 0usize;
    let mut si = 0usize;
    // Stars already entered on the current path (Redis' recursion depth).
    let mut stars = 0usize;
    // Most recent star: (pattern index after it, string index tried, depth).
    let mut last_star: Option<(usize, usize, usize)> = None;

    loop {
        // One "call" of Redis' matcher from (pi, si). `true` = matched,
        // `false` = this attempt failed (the caller star may retry).
        let matched = 'attempt: loop {
            if pi >= plen || si >= slen {
                break 'attempt pi == plen && si == slen;
            }
            let c = string[si];
            match pattern[pi] {
                b'*' => {
                    while p_at(pi + 1) == b'*' {
                        pi += 1;
                    }
                    if pi + 1 == plen {
                        return true;
                    }
                    stars += 1;
                    if stars > MAX_STAR_NESTING {
                        return false;
                    }
                    pi += 1;
                    last_star = Some((pi, si, stars));
                    continue 'attempt;
                }
                b'?' => si += 1,
                b'[' => {
                    pi += 1;
                    let not = p_at(pi) == b'^';
                    if not {
                        pi += 1;
                    }
                    let mut hit = false;
                    loop {
                        let rem = plen.saturating_sub(pi);
                        let pc = p_at(pi);
                        if pc == b'\\' && rem >= 2 {
                            pi += 1;
                            if p_at(pi) == c {
                                hit = true;
                            }
                        } else if pc == b']' {
                            break;
                        } else if rem == 0 {
                            // Unterminated class: step back so that the
                            // common "advance" below lands on the end.
                            pi -= 1;
                            break;
                        } else if rem >= 3 && p_at(pi + 1) == b'-' {
                            let (mut start, mut end) = (fold(pc, false), fold(p_at(pi + 2), false));
                            if start > end {
                                std::mem::swap(&mut start, &mut end);
                            }
                            let mut ch = fold(c, false);
                            if nocase {
                                start = lower_c(start);
                                end = lower_c(end);
                                ch = lower_c(ch);
                            }
                            pi += 2;
                            if ch >= start && ch <= end {
                                hit = true;
                            }
                        } else if fold(pc, nocase) == fold(c, nocase) {
                            hit = true;
                        }
                        pi += 1;
                    }
                    if hit == not {
                        break 'attempt false;
                    }
                    si += 1;
                }
                first => {
                    let pc = if first == b'\\' && plen - pi >= 2 {
                        pi += 1;
                        pattern[pi]
                    } else {
                        first
                    };
                    if fold(pc, nocase) != fold(c, nocase) {
                        break 'attempt false;
                    }
                    si += 1;
                }
            }
            pi += 1;
            if si == slen {
                while p_at(pi) == b'*' {
                    pi += 1;
                }
                break 'attempt pi == plen;
            }
        };
        if matched {
            return true;
        }
        // Retry the most recent star one byte further; once it has been
        // tried at every position nothing earlier can help (Redis'
        // skipLongerMatches), and no star at all means plain failure.
        match last_star {
            Some((sp, ss, depth)) if ss + 1 < slen => {
                last_star = Some((sp, ss + 1, depth));
                pi = sp;
                si = ss + 1;
                stars = depth;
            }
            _ => return false,
        }
    }
}

/// C-locale `tolower()` on a (possibly negative) C `char` value.
fn lower_c(v: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&v) {
        v + 32
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use quickcheck::{quickcheck, TestResult};

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }
    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("**", "x"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*b*", "abc"));
        assert!(!m("*b*", "ac"));
        assert!(m("*.txt", "notes.txt"));
        assert!(!m("*.txt", "notes.txt.bak"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn empty_string_never_matches_a_non_empty_pattern() {
        // Redis 7.0.15: SET "" 1; KEYS ** -> empty (KEYS * is special-cased).
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
    }

    #[test]
    fn brackets() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(m("[z-a]", "m"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a-]", "]"), "Redis reads 'a-]' as a range");
        assert!(m("[abc", "c"), "unterminated class");
        assert!(!m("[abc", "d"));
        assert!(!m("[", "x"));
        assert!(m("[^", "x"), "unterminated negated empty class");
        assert!(!m("a[", "a"), "string ends before the class");
        assert!(!m("[]", "a"));
        assert!(!m("[]]", "]"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(m("a\\", "a\\"), "trailing backslash is literal");
        assert!(m("\\\\", "\\"));
        assert!(m("\\a", "a"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HeLLo", "hello"));
        assert!(!m("HeLLo", "hello"));
        assert!(mi("max*", "MAXCLIENTS"));
        assert!(mi("[A-C]x", "bX"));
        assert!(mi("[a-c]x", "BX"));
        assert!(mi("[ABC]", "b"));
        assert!(
            !mi("[\\A]", "a"),
            "escaped class members are case-sensitive"
        );
        assert!(mi("\\A", "a"));
    }

    #[test]
    fn signed_char_ranges_like_redis() {
        // 'a' (97) to 0xff (-1 as char) swaps into -1..=97.
        assert!(glob_match(b"[a-\xff]", b"\xff", false));
        assert!(glob_match(b"[a-\xff]", b"A", false));
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(glob_match(b"\xe9*", b"\xe9t\xe9", true));
    }

    #[test]
    fn nesting_limit_like_redis_7_0_15() {
        let key = "a".repeat(3000);
        assert!(m(&"*a".repeat(1000), &key));
        assert!(!m(&"*a".repeat(1001), &key));
        assert!(m(&format!("{}*", "*a".repeat(1000)), &key));
        assert!(!m(&format!("{}*", "*a".repeat(1001)), &key));
        assert!(m(&format!("{}**a", "*a".repeat(999)), &key));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let s = "a".repeat(20_000);
        let p = format!("{}b", "a*".repeat(900));
        let t = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(!m(&"*".repeat(100_000), ""));
        assert!(m(&"*".repeat(100_000), &s));
        // Worst case for backtracking to the last star: O(pattern * string).
        let long_segment = format!("*{}b", "a".repeat(1000));
        assert!(!m(&long_segment, &s));
        let mut huge = "*a".repeat(50_000);
        huge.push('b');
        assert!(!m(&huge, &s));
        assert!(t.elapsed() < std::time::Duration::from_secs(20));
    }

    /// Straightforward reference for patterns made of `*`, `?`, `\x` and
    /// literals: classic dynamic programming, plus Redis' quirk that the
    /// empty string only matches the empty pattern.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        enum Tok {
            Star,
            Any,
            Lit(u8),
        }
        let mut toks = Vec::new();
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => toks.push(Tok::Star),
                b'?' => toks.push(Tok::Any),
                b'\\' if i + 1 < p.len() => {
                    i += 1;
                    toks.push(Tok::Lit(p[i]));
                }
                c => toks.push(Tok::Lit(c)),
            }
            i += 1;
        }
        if s.is_empty() {
            return p.is_empty();
        }
        let eq = |a: u8, b: u8| {
            if nocase {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        // dp[j] = tokens[..t] match s[..j]
        let mut dp = vec![false; s.len() + 1];
        dp[0] = true;
        for t in &toks {
            let mut next = vec![false; s.len() + 1];
            for j in 0..=s.len() {
                next[j] = match t {
                    Tok::Star => dp[j] || (j > 0 && next[j - 1]),
                    Tok::Any => j > 0 && dp[j - 1],
                    Tok::Lit(c) => j > 0 && dp[j - 1] && eq(*c, s[j - 1]),
                };
            }
            dp = next;
        }
        dp[s.len()]
    }

    fn small(bytes: &[u8], alphabet: &[u8]) -> Vec<u8> {
        bytes
            .iter()
            .take(12)
            .map(|b| alphabet[usize::from(*b) % alphabet.len()])
            .collect()
    }

    quickcheck! {
        fn matches_reference_without_brackets(p: Vec<u8>, s: Vec<u8>, nocase: bool) -> TestResult {
            let p = small(&p, b"ab*?\\A");
            let s = small(&s, b"abAB*?\\");
            TestResult::from_bool(glob_match(&p, &s, nocase) == reference(&p, &s, nocase))
        }

        fn literal_pattern_matches_itself(s: Vec<u8>) -> bool {
            let escaped: Vec<u8> = s.iter().flat_map(|&b| [b'\\', b]).collect();
            glob_match(&escaped, &s, false)
        }

        fn star_prefix_suffix(a: Vec<u8>, b: Vec<u8>, mid: Vec<u8>) -> bool {
            let a = small(&a, b"xyz");
            let b = small(&b, b"xyz");
            let mid = small(&mid, b"xyz*?[]");
            let mut p = a.clone();
            p.push(b'*');
            p.extend_from_slice(&b);
            let mut s = a.clone();
            s.extend_from_slice(&mid);
            s.extend_from_slice(&b);
            s.is_empty() || glob_match(&p, &s, false)
        }
    }
}
