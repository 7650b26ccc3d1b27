//! The `cmsgpack` library Redis ships to scripts (lua-cmsgpack 0.4):
//! `pack`, `unpack`, `unpack_one` and `unpack_limit`, with its encodings.
//!
//! As lua-cmsgpack: a number that is an integer is written in the
//! smallest integer form, any other as a float when a float holds it
//! exactly, else a double; a table whose keys are exactly 1..n is an
//! array, any other a map; tables nested 16 deep are written as nil.
//! Unlike it, reading stops at 1000 levels of nesting (a few bytes could
//! otherwise nest deep enough to overflow the thread's stack).

use mlua::{Lua, Table, Value, Variadic};

const MAX_PACK_NESTING: usize = 16;
const MAX_UNPACK_NESTING: usize = 1000;

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    cmsgpack.set(
        "pack",
        lua.create_function(|lua, values: Variadic<Value>| {
            if values.is_empty() {
                return Err(mlua::Error::runtime(
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for value in values.iter() {
                pack(value, 0, &mut out)?;
            }
            lua.create_string(out)
        })?,
    )?;
    cmsgpack.set(
        "unpack",
        lua.create_function(|lua, data: mlua::LuaString| {
            let (_, values) = unpack(lua, &data.as_bytes(), usize::MAX, 0)?;
            Ok(Variadic::from_iter(values))
        })?,
    )?;
    cmsgpack.set(
        "unpack_one",
        lua.create_function(|lua, (data, offset): (mlua::LuaString, Option<i64>)| {
            unpack_counted(lua, &data.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    cmsgpack.set(
        "unpack_limit",
        lua.create_function(
            |lua, (data, limit, offset): (mlua::LuaString, i64, Option<i64>)| {
                unpack_counted(lua, &data.as_bytes(), limit, offset.unwrap_or(0))
            },
        )?,
    )?;
    Ok(cmsgpack)
}

/// unpack_one / unpack_limit: the offset after what was read (-1 at the
/// end), then the values.
fn unpack_counted(
    lua: &Lua,
    data: &[u8],
    limit: i64,
    offset: i64,
) -> mlua::Result<Variadic<Value>> {
    let (Ok(limit), Ok(start)) = (usize::try_from(limit), usize::try_from(offset)) else {
        return Err(mlua::Error::runtime(format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            data.len()
        )));
    };
    // lua-cmsgpack reads everything when both are 0.
    let limit = if limit == 0 && start == 0 {
        usize::MAX
    } else {
        limit
    };
    let (next, values) = unpack(lua, data, limit, start)?;
    let next = if next == data.len() {
        -1.0
    } else {
        next as f64
    };
    Ok(std::iter::once(Value::Number(next)).chain(values).collect())
}

fn pack(value: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::String(s) => pack_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => pack_int(*n, out),
        Value::Number(n) => {
            if n.is_finite() && (*n as i64) as f64 == *n {
                pack_int(*n as i64, out)
            } else {
                pack_float(*n, out)
            }
        }
        Value::Table(table) if level < MAX_PACK_NESTING => pack_table(table, level, out)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

/// A header byte, then `len` in `width` big-endian bytes.
fn header(out: &mut Vec<u8>, marker: u8, len: u64, width: usize) {
    out.push(marker);
    out.extend_from_slice(&len.to_be_bytes()[8 - width..]);
}

fn pack_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = bytes.len() as u64;
    match len {
        0..=31 => out.push(0xa0 | len as u8),
        32..=0xff => header(out, 0xd9, len, 1),
        0x100..=0xffff => header(out, 0xda, len, 2),
        _ => header(out, 0xdb, len, 4),
    }
    out.extend_from_slice(bytes);
}

fn pack_int(n: i64, out: &mut Vec<u8>) {
    let bits = n as u64;
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => header(out, 0xcc, bits, 1),
        0x100..=0xffff => header(out, 0xcd, bits, 2),
        0x1_0000..=0xffff_ffff => header(out, 0xce, bits, 4),
        0x1_0000_0000.. => header(out, 0xcf, bits, 8),
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => header(out, 0xd0, bits, 1),
        -32768..=-129 => header(out, 0xd1, bits, 2),
        -2_147_483_648..=-32769 => header(out, 0xd2, bits, 4),
        _ => header(out, 0xd3, bits, 8),
    }
}

fn pack_float(n: f64, out: &mut Vec<u8>) {
    let single = n as f32;
    if f64::from(single) == n {
        out.push(0xca);
        out.extend_from_slice(&single.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Whether the keys are exactly 1..n, and n.
fn array_length(table: &Table) -> mlua::Result<Option<u64>> {
    let (mut count, mut largest) = (0u64, 0u64);
    for pair in table.pairs::<Value, Value>() {
        let index = match pair?.0 {
            Value::Integer(n) if (1..=i64::from(i32::MAX)).contains(&n) => n as u64,
            Value::Number(n) if n > 0.0 && n.fract() == 0.0 && n <= f64::from(i32::MAX) => n as u64,
            _ => return Ok(None),
        };
        largest = largest.max(index);
        count += 1;
    }
    Ok((largest == count).then_some(count))
}

/// Packs entry by entry: mlua's handles to Lua values take slots of a
/// fixed-size stack, so a big table is never held as a Vec of values.
fn pack_table(table: &Table, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    let array = array_length(table)?;
    let len = match array {
        Some(len) => len,
        None => table
            .pairs::<Value, Value>()
            .try_fold(0u64, |n, pair| pair.map(|_| n + 1))?,
    };
    let (small, sixteen, thirty_two) = match array {
        Some(_) => (0x90, 0xdc, 0xdd),
        None => (0x80, 0xde, 0xdf),
    };
    match len {
        0..=15 => out.push(small | len as u8),
        16..=0xffff => header(out, sixteen, len, 2),
        _ => header(out, thirty_two, len, 4),
    }
    if array.is_some() {
        for i in 1..=len {
            pack(&table.raw_get::<Value>(i)?, level + 1, out)?;
        }
        return Ok(());
    }
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair?;
        pack(&key, level + 1, out)?;
        pack(&value, level + 1, out)?;
    }
    Ok(())
}

/// Why a read stopped.
enum Bad {
    Missing,
    Format,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Bad {
    fn from(e: mlua::Error) -> Bad {
        Bad::Lua(e)
    }
}

/// Up to `limit` values from `data[start..]`; the offset after them.
fn unpack(lua: &Lua, data: &[u8], limit: usize, start: usize) -> mlua::Result<(usize, Vec<Value>)> {
    if start > data.len() {
        return Err(mlua::Error::runtime(format!(
            "Start offset {start} greater than input length {}.",
            data.len()
        )));
    }
    let mut reader = Reader {
        lua,
        data,
        at: start,
    };
    let mut values = Vec::new();
    while reader.at < data.len() && values.len() < limit {
        match reader.value(0) {
            Ok(value) => values.push(value),
            Err(Bad::Missing) => return Err(mlua::Error::runtime("Missing bytes in input.")),
            Err(Bad::Format) => return Err(mlua::Error::runtime("Bad data format in input.")),
            Err(Bad::Lua(e)) => return Err(e),
        }
    }
    Ok((reader.at, values))
}

struct Reader<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.at.checked_add(n).ok_or(Bad::Missing)?;
        let bytes = self.data.get(self.at..end).ok_or(Bad::Missing)?;
        self.at = end;
        Ok(bytes)
    }

    fn uint(&mut self, width: usize) -> Result<u64, Bad> {
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    /// A two's-complement integer of `width` bytes.
    fn int(&mut self, width: usize) -> Result<i64, Bad> {
        let shift = 64 - 8 * width as u32;
        Ok(((self.uint(width)? << shift) as i64) >> shift)
    }

    fn string(&mut self, len: u64) -> Result<Value, Bad> {
        let len = usize::try_from(len).map_err(|_| Bad::Missing)?;
        let bytes = self.take(len)?;
        Ok(Value::String(self.lua.create_string(bytes)?))
    }

    fn value(&mut self, depth: usize) -> Result<Value, Bad> {
        let marker = self.take(1)?[0];
        let number = |n: f64| Ok(Value::Number(n));
        match marker {
            0x00..=0x7f => number(f64::from(marker)),
            0xe0..=0xff => number(f64::from(marker as i8)),
            0xa0..=0xbf => self.string(u64::from(marker & 0x1f)),
            0x90..=0x9f => self.array(u64::from(marker & 0x0f), depth),
            0x80..=0x8f => self.map(u64::from(marker & 0x0f), depth),
            0xc0 => Ok(Value::Nil),
            0xc2 => Ok(Value::Boolean(false)),
            0xc3 => Ok(Value::Boolean(true)),
            0xcc => number(self.uint(1)? as f64),
            0xcd => number(self.uint(2)? as f64),
            0xce => number(self.uint(4)? as f64),
            0xcf => number(self.uint(8)? as f64),
            0xd0 => number(self.int(1)? as f64),
            0xd1 => number(self.int(2)? as f64),
            0xd2 => number(self.int(4)? as f64),
            0xd3 => number(self.int(8)? as f64),
            0xca => number(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => number(f64::from_bits(self.uint(8)?)),
            0xd9 => {
                let len = self.uint(1)?;
                self.string(len)
            }
            0xda => {
                let len = self.uint(2)?;
                self.string(len)
            }
            0xdb => {
                let len = self.uint(4)?;
                self.string(len)
            }
            0xdc => {
                let len = self.uint(2)?;
                self.array(len, depth)
            }
            0xdd => {
                let len = self.uint(4)?;
                self.array(len, depth)
            }
            0xde => {
                let len = self.uint(2)?;
                self.map(len, depth)
            }
            0xdf => {
                let len = self.uint(4)?;
                self.map(len, depth)
            }
            _ => Err(Bad::Format),
        }
    }

    fn array(&mut self, len: u64, depth: usize) -> Result<Value, Bad> {
        if depth >= MAX_UNPACK_NESTING {
            return Err(Bad::Format);
        }
        let table = self.lua.create_table()?;
        for index in 1..=len {
            let value = self.value(depth + 1)?;
            table.raw_set(index, value)?;
        }
        Ok(Value::Table(table))
    }

    fn map(&mut self, len: u64, depth: usize) -> Result<Value, Bad> {
        if depth >= MAX_UNPACK_NESTING {
            return Err(Bad::Format);
        }
        let table = self.lua.create_table()?;
        for _ in 0..len {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            // A nil key (or NaN) cannot be set: lua-cmsgpack's settable
            // would raise; refuse the input instead.
            if matches!(key, Value::Nil) || matches!(key, Value::Number(n) if n.is_nan()) {
                return Err(Bad::Format);
            }
            table.raw_set(key, value)?;
        }
        Ok(Value::Table(table))
    }
}
