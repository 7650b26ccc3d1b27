//! The `bit` library Redis ships to scripts (LuaBitOp 1.0): bitwise
//! operations on 32-bit integers, results as signed 32-bit Lua numbers.

use mlua::{Lua, Table, Variadic};

/// A Lua number as LuaBitOp reads it: rounded to an integer (ties to
/// even, as its `2^52 + 2^51` addition does), then its low 32 bits.
fn tobit(x: f64) -> i32 {
    x.round_ties_even().rem_euclid(4_294_967_296.0) as u32 as i32
}

fn num(n: i32) -> f64 {
    f64::from(n)
}

/// `bit.tohex(x [, n])`: the low `n` nibbles (8 by default) in hex,
/// uppercase for a negative `n`.
fn tohex(x: f64, n: Option<f64>) -> String {
    let n = n.map_or(8, tobit);
    let digits = n.unsigned_abs().min(8) as usize;
    let value = tobit(x) as u32;
    let text = match n < 0 {
        true => format!("{value:08X}"),
        false => format!("{value:08x}"),
    };
    text[8 - digits..].to_string()
}

/// Folds every argument with `op` (band, bor, bxor).
fn fold(lua: &Lua, op: fn(i32, i32) -> i32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |_, (first, rest): (f64, Variadic<f64>)| {
        Ok(num(rest
            .iter()
            .fold(tobit(first), |acc, &x| op(acc, tobit(x)))))
    })
}

/// A shift or rotation by the low five bits of the count.
fn shift(lua: &Lua, op: fn(i32, u32) -> i32) -> mlua::Result<mlua::Function> {
    lua.create_function(move |_, (x, n): (f64, f64)| Ok(num(op(tobit(x), tobit(n) as u32 & 31))))
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    bit.set("tobit", lua.create_function(|_, x: f64| Ok(num(tobit(x))))?)?;
    bit.set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| Ok(tohex(x, n)))?,
    )?;
    bit.set("bnot", lua.create_function(|_, x: f64| Ok(num(!tobit(x))))?)?;
    bit.set("band", fold(lua, |a, b| a & b)?)?;
    bit.set("bor", fold(lua, |a, b| a | b)?)?;
    bit.set("bxor", fold(lua, |a, b| a ^ b)?)?;
    bit.set("lshift", shift(lua, |x, n| ((x as u32) << n) as i32)?)?;
    bit.set("rshift", shift(lua, |x, n| ((x as u32) >> n) as i32)?)?;
    bit.set("arshift", shift(lua, |x, n| x >> n)?)?;
    bit.set("rol", shift(lua, |x, n| (x as u32).rotate_left(n) as i32)?)?;
    bit.set("ror", shift(lua, |x, n| (x as u32).rotate_right(n) as i32)?)?;
    bit.set(
        "bswap",
        lua.create_function(|_, x: f64| Ok(num(tobit(x).swap_bytes())))?,
    )?;
    Ok(bit)
}
