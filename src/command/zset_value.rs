//! A sorted set's value, shared by every sorted-set command file: reading
//! one version ([`ZSet`]: scores, walks of the score index, ranks), changing
//! it in a transaction ([`ZSetWrite`]), storing a computed one
//! ([`store_zset`], [`put_zset`]) and the member/score replies. It sits
//! below `zsets.rs`, `zset_ranges.rs` and `zset_algebra.rs` so that they
//! depend on it and never on each other.

use super::args::{err, of_kind};
use super::notify::Written;
use crate::config::EncodingLimits;
use crate::keyspace::collection::Span;
use crate::keyspace::encoding::{score_bytes, score_from_bytes, ENCODING_SKIPLIST};
use crate::keyspace::{KeyRead, KeyType, Members, Meta, Txn};
use crate::notify::Class;
use crate::resp::{Frame, Protocol};
use bytes::{BufMut, Bytes, BytesMut};
use std::ops::Bound;

/// Live metadata that must be a sorted set, or WRONGTYPE.
pub(super) fn zset_of(meta: Option<Meta>) -> Result<Option<Meta>, Frame> {
    of_kind(meta, KeyType::ZSet)
}

/// A score stored by [`score_bytes`], or an error for corrupt bytes.
pub(super) fn decode_score(raw: &[u8]) -> Result<f64, Frame> {
    score_from_bytes(raw).ok_or_else(|| err("ERR corrupt sorted set score"))
}

/// The score index sub key of (`score`, `member`).
fn index_key(score: f64, member: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(8 + member.len());
    out.put_slice(&score_bytes(score));
    out.put_slice(member);
    out.freeze()
}

/// One version of a sorted set, for reading.
pub(super) struct ZSet {
    pub size: u64,
    pub members: Members,
    pub index: Members,
}

impl ZSet {
    pub(super) fn new<R: KeyRead + ?Sized>(reader: &R, db: usize, key: &[u8], meta: &Meta) -> ZSet {
        let members = reader.members(db, key, meta);
        ZSet {
            size: meta.size(),
            index: members.score_index(),
            members,
        }
    }

    /// The sorted set at `key`: `None` if missing, WRONGTYPE if not a zset.
    pub(super) fn open<R: KeyRead + ?Sized>(
        reader: &mut R,
        db: usize,
        key: &[u8],
    ) -> Result<Option<ZSet>, Frame> {
        let meta = zset_of(reader.meta(db, key)?)?;
        Ok(meta.map(|meta| ZSet::new(reader, db, key, &meta)))
    }

    pub(super) fn score<R: KeyRead + ?Sized>(
        &self,
        reader: &mut R,
        member: &[u8],
    ) -> Result<Option<f64>, Frame> {
        match reader.member(&self.members, member)? {
            Some(raw) => Ok(Some(decode_score(&raw)?)),
            None => Ok(None),
        }
    }

    /// Visits the (member, score) entries of `span` of the score index in
    /// its order, until `visit` returns false. Reads in chunks that start
    /// small and double: most walks stop early (LIMIT, a rank, a pop), and
    /// every entry read costs an LSM iterator step.
    pub(super) fn walk<R: KeyRead + ?Sized>(
        &self,
        reader: &mut R,
        span: Span,
        mut visit: impl FnMut(Bytes, f64) -> bool,
    ) -> Result<(), Frame> {
        const FIRST_CHUNK: usize = 16;
        const MAX_CHUNK: usize = 1024;
        let mut chunk_size = FIRST_CHUNK;
        let mut last: Option<Bytes> = None;
        loop {
            let current = match (&last, span.rev) {
                (None, _) => span,
                (Some(last), false) => Span {
                    lower: Bound::Excluded(last),
                    ..span
                },
                (Some(last), true) => Span {
                    upper: Bound::Excluded(last),
                    ..span
                },
            };
            let chunk = reader.member_span(&self.index, current, chunk_size)?;
            let done = chunk.len() < chunk_size;
            chunk_size = (chunk_size * 2).min(MAX_CHUNK);
            for (sub, _) in chunk {
                let score = decode_score(&sub)?;
                if !visit(sub.slice(8..), score) {
                    return Ok(());
                }
                last = Some(sub);
            }
            if done {
                return Ok(());
            }
        }
    }

    /// The first `count` entries from the low end (or the high end).
    pub(super) fn edge<R: KeyRead + ?Sized>(
        &self,
        reader: &mut R,
        rev: bool,
        count: usize,
    ) -> Result<Vec<(Bytes, f64)>, Frame> {
        let mut out = Vec::new();
        let span = Span { rev, ..Span::ALL };
        self.walk(reader, span, |member, score| {
            if out.len() >= count {
                return false;
            }
            out.push((member, score));
            true
        })?;
        Ok(out)
    }

    /// The 0-based rank of `member` (whose score is `score`), counted from
    /// the low end: O(rank), a walk of the index below it.
    pub(super) fn rank<R: KeyRead + ?Sized>(
        &self,
        reader: &mut R,
        member: &[u8],
        score: f64,
    ) -> Result<u64, Frame> {
        let upper = index_key(score, member);
        let span = Span {
            upper: Bound::Excluded(&upper),
            ..Span::ALL
        };
        let mut rank = 0;
        self.walk(reader, span, |_, _| {
            rank += 1;
            true
        })?;
        Ok(rank)
    }
}

/// Every member of the sorted set `meta` describes, in score order (the
/// elements SORT starts from).
pub(super) fn members_in_order(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    meta: &Meta,
) -> Result<Vec<Bytes>, Frame> {
    let zset = ZSet::new(txn, db, key, meta);
    let size = usize::try_from(zset.size).unwrap_or(usize::MAX);
    let entries = zset.edge(txn, false, size)?;
    Ok(entries.into_iter().map(|(member, _)| member).collect())
}

/// A sorted set being changed in a transaction: its metadata (size,
/// encoding) is written back once by [`ZSetWrite::finish`].
pub(super) struct ZSetWrite {
    meta: Meta,
    pub zset: ZSet,
    existed: bool,
    /// Something changed: the metadata must be written back.
    changed: bool,
}

impl ZSetWrite {
    /// Opens the sorted set at `key` for writing: `None` if absent.
    pub(super) fn existing(
        txn: &mut Txn,
        db: usize,
        key: &[u8],
    ) -> Result<Option<ZSetWrite>, Frame> {
        let found = zset_of(txn.get(db, key)?)?;
        Ok(found.map(|meta| ZSetWrite {
            zset: ZSet::new(txn, db, key, &meta),
            meta,
            existed: true,
            changed: false,
        }))
    }

    /// Opens `key` for writing, creating an empty sorted set (fresh version)
    /// if absent.
    pub(super) fn open(txn: &mut Txn, db: usize, key: &[u8]) -> Result<ZSetWrite, Frame> {
        if let Some(zset) = ZSetWrite::existing(txn, db, key)? {
            return Ok(zset);
        }
        let meta = Meta::collection(KeyType::ZSet, txn.new_version());
        Ok(ZSetWrite {
            zset: ZSet::new(txn, db, key, &meta),
            meta,
            existed: false,
            changed: false,
        })
    }

    /// A new, empty sorted set that will replace whatever is at its key.
    pub(super) fn replace(txn: &mut Txn, db: usize, key: &[u8]) -> ZSetWrite {
        let meta = Meta::collection(KeyType::ZSet, txn.new_version());
        ZSetWrite {
            zset: ZSet::new(txn, db, key, &meta),
            meta,
            existed: true,
            changed: true,
        }
    }

    pub(super) fn score(&self, txn: &mut Txn, member: &[u8]) -> Result<Option<f64>, Frame> {
        self.zset.score(txn, member)
    }

    /// Sets the score of `member`, whose current score is `old` (`None`:
    /// not a member yet). Past `zset-max-listpack-entries` members or with
    /// a member longer than `zset-max-listpack-value`, the sorted set
    /// reports `skiplist` for good.
    pub(super) fn set(
        &mut self,
        txn: &mut Txn,
        member: &[u8],
        score: f64,
        old: Option<f64>,
        limits: EncodingLimits,
    ) {
        let stored = Bytes::copy_from_slice(&score_bytes(score));
        self.changed = true;
        match old {
            Some(old) => txn.member_delete(&self.zset.index, &index_key(old, member)),
            None => self.meta.set_size(self.meta.size() + 1),
        }
        if self.meta.size() > limits.zset_max_listpack_entries
            || member.len() as u64 > limits.zset_max_listpack_value
        {
            self.meta.encoding = ENCODING_SKIPLIST;
        }
        txn.member_put(&self.zset.members, member, stored);
        txn.member_put(&self.zset.index, &index_key(score, member), Bytes::new());
    }

    /// Removes a member whose score is `score`.
    pub(super) fn remove_scored(&mut self, txn: &mut Txn, member: &[u8], score: f64) {
        txn.member_delete(&self.zset.members, member);
        txn.member_delete(&self.zset.index, &index_key(score, member));
        self.meta.set_size(self.meta.size().saturating_sub(1));
        self.changed = true;
    }

    /// Removes a member; returns whether it was there.
    pub(super) fn remove(&mut self, txn: &mut Txn, member: &[u8]) -> Result<bool, Frame> {
        match self.score(txn, member)? {
            Some(score) => {
                self.remove_scored(txn, member, score);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes the metadata back and reports `event` if anything changed;
    /// an emptied sorted set is deleted (see [`Written::finish`]).
    pub(super) fn finish(
        self,
        txn: &mut Txn,
        db: usize,
        key: &[u8],
        event: &'static str,
    ) -> Result<(), Frame> {
        if !self.changed {
            return Ok(());
        }
        Written::finish(self, txn, db, key, event)
    }
}

impl Written for ZSetWrite {
    const CLASS: Class = Class::ZSet;

    fn into_meta(self) -> (Meta, bool) {
        (self.meta, self.existed)
    }
}

/// Writes a new sorted set of `members` (distinct, not empty) at `key`,
/// over whatever was there (RESTORE).
pub(super) fn put_zset(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    members: Vec<(Bytes, f64)>,
    limits: EncodingLimits,
) -> Result<(), Frame> {
    let mut zset = ZSetWrite::replace(txn, db, key);
    for (member, score) in members {
        zset.set(txn, &member, score, None, limits);
    }
    let (meta, _) = zset.into_meta();
    txn.put(db, key, meta)?;
    Ok(())
}

/// (member, score) pairs as Redis replies with WITHSCORES: RESP3 gets an
/// array of `[member, double]` pairs, RESP2 one flat array.
pub(super) fn scored_reply(protocol: Protocol, items: Vec<(Bytes, f64)>) -> Frame {
    match protocol {
        Protocol::Resp2 => Frame::Array(
            items
                .into_iter()
                .flat_map(|(member, score)| [Frame::Bulk(member), Frame::Double(score)])
                .collect(),
        ),
        Protocol::Resp3 => pairs_reply(items),
    }
}

/// (member, score) pairs as nested `[member, score]` arrays in both
/// protocols (ZMPOP).
pub(super) fn pairs_reply(items: Vec<(Bytes, f64)>) -> Frame {
    Frame::Array(
        items
            .into_iter()
            .map(|(member, score)| Frame::Array(vec![Frame::Bulk(member), Frame::Double(score)]))
            .collect(),
    )
}

/// Members, with their scores when `with_scores`.
pub(super) fn members_reply(
    protocol: Protocol,
    items: Vec<(Bytes, f64)>,
    with_scores: bool,
) -> Frame {
    if with_scores {
        scored_reply(protocol, items)
    } else {
        Frame::Array(
            items
                .into_iter()
                .map(|(member, _)| Frame::Bulk(member))
                .collect(),
        )
    }
}

/// Replaces whatever is at `dst` with a sorted set of `items` (deletes it
/// when there are none); returns the new size. Reports `event`, or `del`
/// when an empty result deleted an existing key, as Redis does.
pub(super) fn store_zset(
    txn: &mut Txn,
    db: usize,
    dst: &[u8],
    items: &[(Bytes, f64)],
    (limits, event): (EncodingLimits, &'static str),
) -> Result<i64, Frame> {
    if items.is_empty() {
        if txn.delete(db, dst)? {
            txn.notify(db, Class::Generic, "del", dst);
        }
        return Ok(0);
    }
    let mut zset = ZSetWrite::replace(txn, db, dst);
    for (member, score) in items {
        zset.set(txn, member, *score, None, limits);
    }
    zset.finish(txn, db, dst, event)?;
    Ok(items.len() as i64)
}
