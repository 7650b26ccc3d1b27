//! The cursor walk HSCAN, SSCAN and ZSCAN share: Redis' argument
//! rules, a compact collection returned whole, a big one in COUNT-sized
//! chunks resumed through the server's cursor table.

use super::args::{err, int_arg, is, ERR_SYNTAX};
use super::Ctx;
use crate::glob::glob_match;
use crate::keyspace::encoding::ENCODING_HASHTABLE;
use crate::keyspace::{KeyType, Meta};
use crate::resp::Frame;
use bytes::Bytes;

/// One chunk of a collection scan.
pub struct Chunk {
    /// The cursor to reply (0 when the walk is complete).
    pub next: u64,
    /// (member, value) pairs in storage order, not yet filtered by MATCH.
    pub members: Vec<(Bytes, Bytes)>,
    /// The collection is compact (listpack/intset) and was returned whole.
    pub compact: bool,
    pattern: Option<Bytes>,
}

impl Chunk {
    /// Whether `member` passes the MATCH pattern.
    pub fn matches(&self, member: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, member, false))
    }

    /// The reply: `[cursor, items]`.
    pub fn reply(next: u64, items: Vec<Frame>) -> Frame {
        Frame::Array(vec![
            Frame::Bulk(Bytes::from(next.to_string())),
            Frame::Array(items),
        ])
    }
}

/// Runs `<cmd> key cursor [MATCH p] [COUNT n]` over a collection of `kind`.
/// `None` means the key does not exist (Redis answers that before it looks
/// at the options).
pub fn scan(ctx: &mut Ctx, args: &[Bytes], kind: KeyType) -> Result<Option<Chunk>, Frame> {
    let cursor = super::keys::parse_cursor(&args[2]).ok_or_else(|| err("ERR invalid cursor"))?;
    let key = &args[1];
    let of_kind = |meta: Option<Meta>| super::args::of_kind(meta, kind);
    let Some(meta) = ctx.with_reader(|reader, db| of_kind(reader.meta(db, key)?))? else {
        return Ok(None);
    };
    let mut pattern = None;
    let mut count = 10usize;
    let mut i = 3;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(err(ERR_SYNTAX));
        };
        match &args[i] {
            a if is(a, "match") => pattern = Some(value.clone()),
            a if is(a, "count") => {
                let n = int_arg(value)?;
                if n < 1 {
                    return Err(err(ERR_SYNTAX));
                }
                count = n as usize;
            }
            _ => return Err(err(ERR_SYNTAX)),
        }
        i += 2;
    }
    // A compact collection is returned whole, like Redis does.
    let compact = meta.encoding != ENCODING_HASHTABLE;
    let after = match cursor {
        0 => None,
        _ if compact => None,
        cursor => crate::sync::lock(&ctx.shared.cursors).resume(cursor).1,
    };
    let limit = if compact { usize::MAX } else { count };
    let members = ctx.with_snapshot(|reader, db| {
        let Some(meta) = of_kind(reader.meta(db, key)?)? else {
            return Ok(Vec::new());
        };
        let members = reader.members(db, key, &meta);
        Ok(reader.member_range(&members, after.as_deref(), limit)?)
    })?;
    let next = match members.last() {
        Some((member, _)) if !compact && members.len() == limit => {
            crate::sync::lock(&ctx.shared.cursors).remember(0, member.clone())
        }
        _ => 0,
    };
    Ok(Some(Chunk {
        next,
        members,
        compact,
        pattern,
    }))
}
