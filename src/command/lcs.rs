//! `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`: the longest
//! common subsequence of two strings, by Redis' dynamic programming table
//! and its exact walk back through it, so the string and the match ranges
//! are the ones redis-server picks among equally long answers.

use super::args::{err, is, parse_i64, CmdResult, ERR_NOT_INTEGER, ERR_SYNTAX};
use super::{Command, Ctx};
use crate::keyspace::KeyType;
use crate::resp::Frame;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[Command::new(
    "lcs",
    -3,
    &["readonly"],
    (1, 2, 1),
    "string",
    "Finds the longest common substring.",
    lcs,
)];

/// One run of consecutive common bytes: where it is in each string
/// (inclusive ranges) and its length.
#[derive(Debug, PartialEq, Eq)]
pub struct Match {
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub len: usize,
}

/// The longest common subsequence of `a` and `b`, and its runs from the
/// end of the strings towards their start, those shorter than
/// `min_match_len` left out (as Redis emits them).
pub fn longest_common_subsequence(
    a: &[u8],
    b: &[u8],
    min_match_len: usize,
) -> (Vec<u8>, Vec<Match>) {
    let width = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let mut common = Vec::with_capacity(table[a.len() * width + b.len()] as usize);
    let mut matches = Vec::new();
    // The run being tracked, as Redis' arange/brange: start and end in each.
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common.push(a[i - 1]);
            run = match run {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, a_end, b_start, b_end)) if a_start == i && b_start == j => {
                    Some((a_start - 1, a_end, b_start - 1, b_end))
                }
                Some(other) => {
                    emit = true;
                    Some(other)
                }
            };
            if run.is_some_and(|(a_start, _, b_start, _)| a_start == 0 || b_start == 0) {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some((a_start, a_end, b_start, b_end)) = run.take() {
                let len = a_end - a_start + 1;
                if len >= min_match_len {
                    matches.push(Match {
                        a: (a_start, a_end),
                        b: (b_start, b_end),
                        len,
                    });
                }
            }
        }
    }
    common.reverse();
    (common, matches)
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Both values in one consistent view, checked before the options (as Redis).
    let (a, b) = ctx.write(|txn, db| {
        let a = txn.get(db, &args[1])?;
        let b = txn.get(db, &args[2])?;
        match (a, b) {
            (Some(m), _) | (_, Some(m)) if m.kind != KeyType::String => {
                Err(err("ERR The specified keys must contain string values"))
            }
            (a, b) => Ok((
                a.map_or_else(Bytes::new, |m| m.payload),
                b.map_or_else(Bytes::new, |m| m.payload),
            )),
        }
    })?;
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len = 0usize;
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        if is(option, "idx") {
            get_idx = true;
        } else if is(option, "len") {
            get_len = true;
        } else if is(option, "withmatchlen") {
            with_match_len = true;
        } else if is(option, "minmatchlen") && options.len() > 0 {
            let value = options.next().map(|v| parse_i64(v));
            let value = value.flatten().ok_or_else(|| err(ERR_NOT_INTEGER))?;
            min_match_len = usize::try_from(value).unwrap_or(0);
        } else {
            return Err(err(ERR_SYNTAX));
        }
    }
    if get_idx && get_len {
        return Err(err(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let table_bytes = (a.len() as u64 + 1) * (b.len() as u64 + 1) * 4;
    if table_bytes > ctx.shared.config().proto_max_bulk_len {
        return Err(err(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let (common, matches) = longest_common_subsequence(&a, &b, min_match_len);
    if get_idx {
        let pair = |(start, end): (usize, usize)| {
            Frame::Array(vec![
                Frame::Integer(start as i64),
                Frame::Integer(end as i64),
            ])
        };
        let matches = matches
            .into_iter()
            .map(|m| {
                let mut entry = vec![pair(m.a), pair(m.b)];
                if with_match_len {
                    entry.push(Frame::Integer(m.len as i64));
                }
                Frame::Array(entry)
            })
            .collect();
        return Ok(Frame::Map(vec![
            (Frame::bulk("matches"), Frame::Array(matches)),
            (Frame::bulk("len"), Frame::Integer(common.len() as i64)),
        ]));
    }
    if get_len {
        return Ok(Frame::Integer(common.len() as i64));
    }
    Ok(Frame::Bulk(Bytes::from(common)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_of_the_redis_example_strings() {
        let (common, _) = longest_common_subsequence(b"ohmytext", b"mynewtext", 0);
        assert_eq!(common, b"mytext");
    }

    #[test]
    fn lcs_ranges_run_from_the_end_like_redis() {
        let (_, matches) = longest_common_subsequence(b"ohmytext", b"mynewtext", 0);
        assert_eq!(
            matches,
            vec![
                Match {
                    a: (4, 7),
                    b: (5, 8),
                    len: 4
                },
                Match {
                    a: (2, 3),
                    b: (0, 1),
                    len: 2
                },
            ]
        );
    }

    #[test]
    fn lcs_min_match_len_drops_short_runs() {
        let (_, matches) = longest_common_subsequence(b"ohmytext", b"mynewtext", 4);
        assert_eq!(
            matches,
            vec![Match {
                a: (4, 7),
                b: (5, 8),
                len: 4
            }]
        );
    }

    #[test]
    fn lcs_of_an_empty_string_is_empty() {
        assert_eq!(
            longest_common_subsequence(b"", b"abc", 0),
            (Vec::new(), Vec::new())
        );
    }
}
