//! List commands (Redis 7.0, the non-blocking ones). Elements live in the
//! data partition under the key's version (`keyspace::collection`); the
//! metadata holds the size and the indices `[head, tail)` (see
//! [`Meta::list_bounds`]): element `i` from the left is the member whose sub
//! key is the big-endian u64 `head + i`. LPUSH decrements head, RPUSH
//! increments tail, so pushes, pops, LINDEX, LSET and LLEN are point reads
//! and writes, LRANGE one range scan.
//!
//! Invariant: the members of a list's version are exactly the indices
//! `[head, tail)`. Pops and LTRIM delete the members they remove (LTRIM
//! that empties the list deletes the key in O(1) and leaves the members to
//! the sweeper); LINSERT shifts the shorter side by one; LREM rewrites the
//! elements after the first removed one.
//!
//! Reads of one element (LLEN, LINDEX) go straight to the engine without the
//! write lock; LRANGE and LPOS run in the write transaction, like MGET, so
//! they see one consistent list.
//!
//! OBJECT ENCODING: redis-server 7.0.15 reports `quicklist` for every list
//! (the `listpack` encoding of small lists came with Redis 7.2), and so do we.

use super::args::{err, int_arg, is, CmdResult, ERR_SYNTAX};
use super::notify::Written;
use super::{wrong_arity, Command, Ctx, FindKeys, KeySpec};
use crate::keyspace::{Effect, KeyRead, KeyType, Members, Meta, Txn};
use crate::notify::Class;
use crate::resp::Frame;
use crate::sds::string2ll;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "lpush",
        -3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "Prepend one or multiple elements to a list",
        lpush,
    )
    .with_key_specs(&[key(&["RW", "insert"], 1)]),
    Command::new(
        "rpush",
        -3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "Append one or multiple elements to a list",
        rpush,
    )
    .with_key_specs(&[key(&["RW", "insert"], 1)]),
    Command::new(
        "lpushx",
        -3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "Prepend an element to a list, only if the list exists",
        lpushx,
    )
    .with_key_specs(&[key(&["RW", "insert"], 1)]),
    Command::new(
        "rpushx",
        -3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "list",
        "Append an element to a list, only if the list exists",
        rpushx,
    )
    .with_key_specs(&[key(&["RW", "insert"], 1)]),
    Command::new(
        "lpop",
        -2,
        &["write", "fast"],
        (1, 1, 1),
        "list",
        "Remove and get the first elements in a list",
        lpop,
    )
    .with_key_specs(&[key(&["RW", "access", "delete"], 1)]),
    Command::new(
        "rpop",
        -2,
        &["write", "fast"],
        (1, 1, 1),
        "list",
        "Remove and get the last elements in a list",
        rpop,
    )
    .with_key_specs(&[key(&["RW", "access", "delete"], 1)]),
    Command::new(
        "llen",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "list",
        "Get the length of a list",
        llen,
    )
    .with_key_specs(&[key(&["RO"], 1)]),
    Command::new(
        "lindex",
        3,
        &["readonly"],
        (1, 1, 1),
        "list",
        "Get an element from a list by its index",
        lindex,
    )
    .with_key_specs(&[key(&["RO", "access"], 1)]),
    Command::new(
        "lrange",
        4,
        &["readonly"],
        (1, 1, 1),
        "list",
        "Get a range of elements from a list",
        lrange,
    )
    .with_key_specs(&[key(&["RO", "access"], 1)]),
    Command::new(
        "lset",
        4,
        &["write", "denyoom"],
        (1, 1, 1),
        "list",
        "Set the value of an element in a list by its index",
        lset,
    )
    .with_key_specs(&[key(&["RW", "update"], 1)]),
    Command::new(
        "linsert",
        5,
        &["write", "denyoom"],
        (1, 1, 1),
        "list",
        "Insert an element before or after another element in a list",
        linsert,
    )
    .with_key_specs(&[key(&["RW", "insert"], 1)]),
    Command::new(
        "lrem",
        4,
        &["write"],
        (1, 1, 1),
        "list",
        "Remove elements from a list",
        lrem,
    )
    .with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new(
        "ltrim",
        4,
        &["write"],
        (1, 1, 1),
        "list",
        "Trim a list to the specified range",
        ltrim,
    )
    .with_key_specs(&[key(&["RW", "delete"], 1)]),
    Command::new(
        "lpos",
        -3,
        &["readonly"],
        (1, 1, 1),
        "list",
        "Return the index of matching elements on a list",
        lpos,
    )
    .with_key_specs(&[key(&["RO", "access"], 1)]),
    Command::new(
        "lmove",
        5,
        &["write", "denyoom"],
        (1, 2, 1),
        "list",
        "Pop an element from a list, push it to another list and return it",
        lmove,
    )
    .with_key_specs(MOVE_SPECS),
    Command::new(
        "rpoplpush",
        3,
        &["write", "denyoom"],
        (1, 2, 1),
        "list",
        "Remove the last element in a list, prepend it to another list and return it",
        rpoplpush,
    )
    .with_key_specs(MOVE_SPECS),
    Command::new(
        "lmpop",
        -4,
        &["write", "movablekeys"],
        (0, 0, 0),
        "list",
        "Pop elements from a list",
        lmpop,
    )
    .with_numkeys(1)
    .with_key_specs(&[KeySpec {
        flags: &["RW", "access", "delete"],
        index: 1,
        find: FindKeys::Keynum {
            keynumidx: 0,
            firstkey: 1,
            step: 1,
        },
        notes: "",
    }]),
];

pub(super) const MOVE_SPECS: &[KeySpec] = &[
    key(&["RW", "access", "delete"], 1),
    key(&["RW", "insert"], 2),
];

/// A key spec for the one key at argument `index`, as Redis 7.0 declares it.
const fn key(flags: &'static [&'static str], index: i32) -> KeySpec {
    KeySpec::range(flags, index, 0)
}

const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";

/// Live metadata that must be a list, or WRONGTYPE.
fn list_of(meta: Option<Meta>) -> Result<Option<Meta>, Frame> {
    super::args::of_kind(meta, KeyType::List)
}

/// The sub key of the element at absolute index `index`.
fn sub(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Up to `count` elements from absolute index `from` on.
/// Up to this many elements, [`read_from`] reads each with a point read.
const POINT_READS_MAX: u64 = 8;

fn read_from<R: KeyRead + ?Sized>(
    reader: &mut R,
    members: &Members,
    from: u64,
    count: u64,
) -> Result<Vec<Bytes>, Frame> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // A few elements are cheaper to read one by one: a range scan of an LSM
    // tree sets up and seeks a cursor in every memtable and table.
    if count <= POINT_READS_MAX {
        return (from..from + count)
            .map(|index| {
                reader
                    .member(members, &sub(index))?
                    .ok_or_else(|| err("ERR corrupt list: an element is missing"))
            })
            .collect();
    }
    let after = from.checked_sub(1).map(sub);
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    Ok(reader
        .member_range(members, after.as_ref().map(|a| &a[..]), limit)?
        .into_iter()
        .map(|(_, value)| value)
        .collect())
}

/// Redis' `LRANGE`/`LTRIM` index rule: the inclusive range `start..=end` of
/// a list of `len` elements, or `None` when it is empty.
fn clamp_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as u64, end as u64))
}

/// An index as LINDEX/LSET read it (negative from the end), if in range.
fn element_index(index: i64, len: u64) -> Option<u64> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let index = if index < 0 { len + index } else { index };
    (0..len).contains(&index).then_some(index as u64)
}

/// A list being changed in a transaction: its metadata (bounds) is written
/// back once by [`ListWrite::finish`].
struct ListWrite {
    meta: Meta,
    members: Members,
    existed: bool,
    head: u64,
    tail: u64,
}

impl ListWrite {
    fn from_meta(txn: &mut Txn, db: usize, key: &[u8], meta: Meta, existed: bool) -> ListWrite {
        let members = txn.members(db, key, &meta);
        let (head, tail) = meta.list_bounds();
        ListWrite {
            meta,
            members,
            existed,
            head,
            tail,
        }
    }

    /// Opens `key` for writing, creating an empty list (fresh version) if absent.
    fn open(txn: &mut Txn, db: usize, key: &[u8]) -> Result<ListWrite, Frame> {
        Ok(match list_of(txn.get(db, key)?)? {
            Some(meta) => ListWrite::from_meta(txn, db, key, meta, true),
            None => {
                let meta = Meta::collection(KeyType::List, txn.new_version());
                ListWrite::from_meta(txn, db, key, meta, false)
            }
        })
    }

    /// Opens `key` for writing if it holds a list.
    fn open_existing(txn: &mut Txn, db: usize, key: &[u8]) -> Result<Option<ListWrite>, Frame> {
        Ok(list_of(txn.get(db, key)?)?.map(|meta| ListWrite::from_meta(txn, db, key, meta, true)))
    }

    fn len(&self) -> u64 {
        self.tail - self.head
    }

    fn push(&mut self, txn: &mut Txn, left: bool, value: Bytes) {
        let index = if left {
            self.head -= 1;
            self.head
        } else {
            self.tail += 1;
            self.tail - 1
        };
        txn.member_put(&self.members, &sub(index), value);
    }

    /// Removes up to `count` elements from one end, in pop order.
    fn pop(&mut self, txn: &mut Txn, left: bool, count: u64) -> Result<Vec<Bytes>, Frame> {
        let count = count.min(self.len());
        let from = if left { self.head } else { self.tail - count };
        let mut items = read_from(txn, &self.members, from, count)?;
        for index in from..from + count {
            txn.member_delete(&self.members, &sub(index));
        }
        if left {
            self.head += count;
        } else {
            self.tail -= count;
            items.reverse();
        }
        Ok(items)
    }

    /// Every element, left to right.
    fn all(&self, txn: &mut Txn) -> Result<Vec<Bytes>, Frame> {
        read_from(txn, &self.members, self.head, self.len())
    }

    fn put(&self, txn: &mut Txn, position: u64, value: Bytes) {
        txn.member_put(&self.members, &sub(self.head + position), value);
    }

    /// Inserts `value` at `position` of `all` (the current elements), moving
    /// the shorter side by one.
    fn insert(&mut self, txn: &mut Txn, all: &[Bytes], position: usize, value: Bytes) {
        if position <= all.len() / 2 {
            self.head -= 1;
            for (j, item) in all[..position].iter().enumerate() {
                self.put(txn, j as u64, item.clone());
            }
        } else {
            self.tail += 1;
            for (j, item) in all.iter().enumerate().skip(position).rev() {
                self.put(txn, j as u64 + 1, item.clone());
            }
        }
        self.put(txn, position as u64, value);
    }

    /// Makes the elements from `position` on be `items`, deleting the ones
    /// beyond.
    fn rewrite_from(&mut self, txn: &mut Txn, position: u64, items: &[Bytes]) {
        let old_tail = self.tail;
        for (j, item) in items.iter().enumerate() {
            self.put(txn, position + j as u64, item.clone());
        }
        self.tail = self.head + position + items.len() as u64;
        for index in self.tail..old_tail {
            txn.member_delete(&self.members, &sub(index));
        }
    }
}

/// `finish` deletes an emptied list in O(1), leaving its remaining members
/// (if any) to the sweeper.
impl Written for ListWrite {
    const CLASS: Class = Class::List;

    fn into_meta(mut self) -> (Meta, bool) {
        self.meta.set_list_bounds(self.head, self.tail);
        (self.meta, self.existed)
    }
}

/// The event of a push to the left or the right end.
fn push_event(left: bool) -> &'static str {
    if left {
        "lpush"
    } else {
        "rpush"
    }
}

/// The event of a pop from the left or the right end.
fn pop_event(left: bool) -> &'static str {
    if left {
        "lpop"
    } else {
        "rpop"
    }
}

/// Replaces whatever is at `key` (any type, and its TTL) with a new list
/// of `items` (SORT ... STORE); `items` must not be empty.
pub(super) fn store_list(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    items: Vec<Bytes>,
) -> Result<(), Frame> {
    let meta = Meta::collection(KeyType::List, txn.new_version());
    let mut list = ListWrite::from_meta(txn, db, key, meta, false);
    for item in items {
        list.push(txn, false, item);
    }
    let (meta, _) = list.into_meta();
    txn.put(db, key, meta)?;
    Ok(())
}

fn push(ctx: &mut Ctx, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult {
    ctx.write(|txn, db| {
        let mut list = if only_existing {
            match ListWrite::open_existing(txn, db, &args[1])? {
                Some(list) => list,
                None => return Ok(Frame::Integer(0)),
            }
        } else {
            ListWrite::open(txn, db, &args[1])?
        };
        for value in &args[2..] {
            list.push(txn, left, value.clone());
        }
        let len = list.len();
        list.finish(txn, db, &args[1], push_event(left))?;
        Ok(Frame::Integer(len as i64))
    })
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push(ctx, args, false, true)
}

fn pop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(wrong_arity(if left { "lpop" } else { "rpop" }));
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match string2ll(arg) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(err(ERR_POSITIVE)),
        },
    };
    ctx.write(|txn, db| {
        let Some(items) = pop_list(txn, db, &args[1], left, count.unwrap_or(1))? else {
            return Ok(if count.is_some() {
                Frame::NullArray
            } else {
                Frame::Null
            });
        };
        Ok(match count {
            None => items.into_iter().next().map_or(Frame::Null, Frame::Bulk),
            Some(_) => Frame::Array(items.into_iter().map(Frame::Bulk).collect()),
        })
    })
}

/// Pops up to `count` elements from one end of the list at `key` (deleting
/// it once empty), in pop order; `None` when there is no such key.
pub(super) fn pop_list(
    txn: &mut Txn,
    db: usize,
    key: &[u8],
    left: bool,
    count: u64,
) -> Result<Option<Vec<Bytes>>, Frame> {
    let Some(mut list) = ListWrite::open_existing(txn, db, key)? else {
        return Ok(None);
    };
    let items = list.pop(txn, left, count)?;
    if !items.is_empty() {
        // LPOP/RPOP of what was popped, whichever command popped it
        // (BLPOP, LMPOP, ...): a replica must not block or pick a key.
        let popped = items.len().to_string();
        let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
        txn.propagate(Effect::command(db, [name, key, popped.as_bytes()]));
        list.finish(txn, db, key, pop_event(left))?;
    }
    Ok(Some(items))
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, true)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop(ctx, args, false)
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let meta = ctx.with_reader(|reader, db| list_of(reader.meta(db, &args[1])?))?;
    Ok(Frame::Integer(meta.map_or(0, |m| m.size() as i64)))
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.with_reader(|reader, db| {
        let Some(meta) = list_of(reader.meta(db, &args[1])?)? else {
            return Ok(Frame::Null);
        };
        let index = int_arg(&args[2])?;
        let Some(position) = element_index(index, meta.size()) else {
            return Ok(Frame::Null);
        };
        let members = reader.members(db, &args[1], &meta);
        let (head, _) = meta.list_bounds();
        Ok(reader
            .member(&members, &sub(head + position))?
            .map_or(Frame::Null, Frame::Bulk))
    })
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    ctx.with_snapshot(|reader, db| {
        let Some(meta) = list_of(reader.meta(db, &args[1])?)? else {
            return Ok(Frame::Array(Vec::new()));
        };
        let Some((start, end)) = clamp_range(start, end, meta.size()) else {
            return Ok(Frame::Array(Vec::new()));
        };
        let members = reader.members(db, &args[1], &meta);
        let (head, _) = meta.list_bounds();
        let items = read_from(reader, &members, head + start, end - start + 1)?;
        Ok(Frame::Array(items.into_iter().map(Frame::Bulk).collect()))
    })
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let reply = ctx.write(|txn, db| {
        let Some(list) = ListWrite::open_existing(txn, db, &args[1])? else {
            return Err(err("ERR no such key"));
        };
        let index = int_arg(&args[2])?;
        let Some(position) = element_index(index, list.len()) else {
            return Err(err("ERR index out of range"));
        };
        list.put(txn, position, args[3].clone());
        Ok(Frame::ok())
    })?;
    ctx.notify(Class::List, "lset", &args[1]);
    Ok(reply)
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(err(ERR_SYNTAX));
    };
    ctx.write(|txn, db| {
        let Some(mut list) = ListWrite::open_existing(txn, db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        let all = list.all(txn)?;
        let Some(pivot) = all.iter().position(|item| *item == args[3]) else {
            return Ok(Frame::Integer(-1));
        };
        list.insert(txn, &all, pivot + usize::from(after), args[4].clone());
        let len = list.len();
        list.finish(txn, db, &args[1], "linsert")?;
        Ok(Frame::Integer(len as i64))
    })
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = int_arg(&args[2])?;
    ctx.write(|txn, db| {
        let Some(mut list) = ListWrite::open_existing(txn, db, &args[1])? else {
            return Ok(Frame::Integer(0));
        };
        let all = list.all(txn)?;
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let matching: Vec<usize> = (0..all.len()).filter(|&i| all[i] == args[3]).collect();
        let removed: Vec<usize> = if count < 0 {
            let mut from_tail: Vec<usize> = matching.into_iter().rev().take(limit).collect();
            from_tail.reverse();
            from_tail
        } else {
            matching.into_iter().take(limit).collect()
        };
        let Some(&first) = removed.first() else {
            return Ok(Frame::Integer(0));
        };
        let kept: Vec<Bytes> = (first..all.len())
            .filter(|i| removed.binary_search(i).is_err())
            .map(|i| all[i].clone())
            .collect();
        list.rewrite_from(txn, first as u64, &kept);
        list.finish(txn, db, &args[1], "lrem")?;
        Ok(Frame::Integer(removed.len() as i64))
    })
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    ctx.write(|txn, db| {
        let Some(mut list) = ListWrite::open_existing(txn, db, &args[1])? else {
            return Ok(Frame::ok());
        };
        match clamp_range(start, end, list.len()) {
            // Emptied: the key goes in O(1), the sweeper reclaims members.
            None => list.head = list.tail,
            Some((start, end)) => {
                let (head, tail) = (list.head, list.tail);
                let (new_head, new_tail) = (head + start, head + end + 1);
                if (new_head, new_tail) == (head, tail) {
                    txn.notify(db, Class::List, "ltrim", &args[1]);
                    return Ok(Frame::ok());
                }
                for index in (head..new_head).chain(new_tail..tail) {
                    txn.member_delete(&list.members, &sub(index));
                }
                list.head = new_head;
                list.tail = new_tail;
            }
        }
        list.finish(txn, db, &args[1], "ltrim")?;
        Ok(Frame::ok())
    })
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut i = 3;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(err(ERR_SYNTAX));
        };
        if is(&args[i], "rank") {
            rank = int_arg(value)?;
            if rank == 0 {
                return Err(err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is(&args[i], "count") {
            match string2ll(value) {
                Some(n) if n >= 0 => count = Some(n as u64),
                _ => return Err(err("ERR COUNT can't be negative")),
            }
        } else if is(&args[i], "maxlen") {
            match string2ll(value) {
                Some(n) if n >= 0 => maxlen = n as u64,
                _ => return Err(err("ERR MAXLEN can't be negative")),
            }
        } else {
            return Err(err(ERR_SYNTAX));
        }
        i += 2;
    }
    ctx.with_snapshot(|reader, db| {
        let Some(meta) = list_of(reader.meta(db, &args[1])?)? else {
            return Ok(match count {
                Some(_) => Frame::Array(Vec::new()),
                None => Frame::Null,
            });
        };
        let len = meta.size();
        let window = if maxlen == 0 { len } else { maxlen.min(len) };
        let members = reader.members(db, &args[1], &meta);
        let (head, tail) = meta.list_bounds();
        let forward = rank > 0;
        // Redis 7.0 negates LLONG_MIN into itself: every match qualifies.
        let skip = match rank {
            i64::MIN => 0,
            r => r.unsigned_abs() - 1,
        };
        let from = if forward { head } else { tail - window };
        let items = read_from(reader, &members, from, window)?;
        let positions: Box<dyn Iterator<Item = u64>> = if forward {
            Box::new(0..window)
        } else {
            Box::new((len - window..len).rev())
        };
        let wanted = match count {
            None => 1,
            Some(0) => u64::MAX,
            Some(n) => n,
        };
        let mut seen = 0u64;
        let mut found = Vec::new();
        for position in positions {
            let item = &items[(position - (from - head)) as usize];
            if *item != args[2] {
                continue;
            }
            seen += 1;
            if seen > skip {
                found.push(Frame::Integer(position as i64));
                if found.len() as u64 >= wanted {
                    break;
                }
            }
        }
        Ok(match count {
            Some(_) => Frame::Array(found),
            None => found.into_iter().next().unwrap_or(Frame::Null),
        })
    })
}

/// `LEFT` (true) or `RIGHT` (false), else a syntax error.
pub(super) fn side(arg: &[u8]) -> Result<bool, Frame> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(err(ERR_SYNTAX))
    }
}

/// LMOVE's step: pops from one end of `src` and pushes onto one end of
/// `dst` (creating it), atomically; `None` when `src` does not exist.
pub(super) fn move_list(
    txn: &mut Txn,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Bytes>, Frame> {
    let Some(mut source) = ListWrite::open_existing(txn, db, src)? else {
        return Ok(None);
    };
    if source.len() > 0 {
        // LMOVE, whichever command moved it (RPOPLPUSH, BLMOVE, ...).
        let side = |left| if left { &b"LEFT"[..] } else { b"RIGHT" };
        txn.propagate(Effect::command(
            db,
            [b"LMOVE", src, dst, side(from_left), side(to_left)],
        ));
    }
    if src == dst {
        let Some(value) = source.pop(txn, from_left, 1)?.into_iter().next() else {
            return Ok(None);
        };
        source.push(txn, to_left, value.clone());
        source.finish(txn, db, src, push_event(to_left))?;
        txn.notify(db, Class::List, pop_event(from_left), src);
        return Ok(Some(value));
    }
    let mut target = ListWrite::open(txn, db, dst)?;
    let Some(value) = source.pop(txn, from_left, 1)?.into_iter().next() else {
        return Ok(None);
    };
    // Redis reports the push before the pop.
    target.push(txn, to_left, value.clone());
    target.finish(txn, db, dst, push_event(to_left))?;
    source.finish(txn, db, src, pop_event(from_left))?;
    Ok(Some(value))
}

fn move_element(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
) -> CmdResult {
    ctx.write(|txn, db| {
        Ok(move_list(txn, db, src, dst, from_left, to_left)?.map_or(Frame::Null, Frame::Bulk))
    })
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from_left = side(&args[3])?;
    let to_left = side(&args[4])?;
    move_element(ctx, &args[1], &args[2], from_left, to_left)
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    move_element(ctx, &args[1], &args[2], false, true)
}

/// The arguments of LMPOP and BLMPOP from the count of keys at
/// `numkeys_at` on: the keys, the side and COUNT (1 by default), checked in
/// Redis' order with its errors.
pub(super) fn mpop_args(args: &[Bytes], numkeys_at: usize) -> Result<(&[Bytes], bool, u64), Frame> {
    let numkeys = match string2ll(&args[numkeys_at]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(err("ERR numkeys should be greater than 0")),
    };
    let first = numkeys_at + 1;
    let where_at = match usize::try_from(numkeys) {
        Ok(n) if n < args.len() - first => n + first,
        _ => return Err(err(ERR_SYNTAX)),
    };
    let left = side(&args[where_at])?;
    let mut count: Option<u64> = None;
    let mut i = where_at + 1;
    while i < args.len() {
        match args.get(i + 1) {
            Some(value) if is(&args[i], "count") && count.is_none() => match string2ll(value) {
                Some(n) if n > 0 => count = Some(n as u64),
                _ => return Err(err("ERR count should be greater than 0")),
            },
            _ => return Err(err(ERR_SYNTAX)),
        }
        i += 2;
    }
    Ok((&args[first..where_at], left, count.unwrap_or(1)))
}

/// LMPOP's reply: the key and the elements popped from it.
pub(super) fn mpop_reply(key: &Bytes, items: Vec<Bytes>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(key.clone()),
        Frame::Array(items.into_iter().map(Frame::Bulk).collect()),
    ])
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, left, count) = mpop_args(args, 1)?;
    ctx.write(|txn, db| {
        for key in keys {
            if let Some(items) = pop_list(txn, db, key, left, count)? {
                return Ok(mpop_reply(key, items));
            }
        }
        Ok(Frame::NullArray)
    })
}
