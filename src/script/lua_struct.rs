//! The `struct` library Redis ships to scripts (Roberto Ierusalimschy's
//! lua-struct): `struct.pack`, `struct.unpack` and `struct.size` over C
//! layouts, as on x86-64 (little-endian native order; short 2, int 4, long
//! and size_t 8 bytes; alignment up to 8).
//!
//! Formats: `>` `<` `=` byte order, `!n` alignment; `b/B` char, `h/H`
//! short, `l/L` long, `T` size_t, `i/In` int of n bytes (at most 32), `f`
//! float, `d` double, `s` zero-terminated string, `cn` n chars (`c0`: the
//! length is the string's on pack, the previous value on unpack), `x` a
//! zero byte, spaces ignored.

use mlua::{Lua, Table, Value, Variadic};

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Header {
        Header {
            little: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

/// A `bad argument` error as `luaL_argerror` words it.
fn bad(function: &str, arg: usize, message: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{arg} to '{function}' ({message})"))
}

/// The format, read one option at a time.
struct Format<'a> {
    text: &'a [u8],
    at: usize,
    function: &'static str,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let opt = *self.text.get(self.at)?;
        self.at += 1;
        Some(opt)
    }

    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: usize = 0;
        while let Some(digit) = self.text.get(self.at).filter(|b| b.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(digit - b'0')))
                .filter(|&n| n <= i32::MAX as usize)
                .ok_or_else(|| mlua::Error::runtime("integral size overflow"))?;
            self.at += 1;
        }
        Ok(n)
    }

    /// The size of option `opt` (0 for the control options).
    fn size(&mut self, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(mlua::Error::runtime(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// `>` `<` `=` `!n` and spaces; anything else is an invalid option.
    fn control(&mut self, opt: u8, header: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => header.little = false,
            b'<' => header.little = true,
            b'=' => header.little = cfg!(target_endian = "little"),
            b'!' => {
                let align = self.number(MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(mlua::Error::runtime(format!(
                        "alignment {align} is not a power of 2"
                    )));
                }
                header.align = align;
            }
            _ => {
                let message = format!("invalid format option '{}'", char::from(opt));
                return Err(bad(self.function, 1, &message));
            }
        }
        Ok(())
    }
}

/// Padding before an item of `size` at `at` (not for chars).
fn padding(at: usize, header: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    (size - (at & (size - 1))) & (size - 1)
}

/// A Lua number argument (numeric strings too, as luaL_checknumber).
fn number_arg(value: Option<&Value>, arg: usize, function: &str) -> mlua::Result<f64> {
    match value {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| bad(function, arg, "number expected, got string")),
        other => Err(bad(
            function,
            arg,
            &format!(
                "number expected, got {}",
                other.map_or("no value", Value::type_name)
            ),
        )),
    }
}

fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for i in 0..size {
        let index = if little { i } else { size - 1 - i };
        bytes[index] = value as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    out.extend_from_slice(&bytes);
}

fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut value: u64 = 0;
    let mut push = |b: &u8| value = value.checked_shl(8).unwrap_or(0) | u64::from(*b);
    match little {
        true => bytes.iter().rev().for_each(&mut push),
        false => bytes.iter().for_each(&mut push),
    }
    let bits = bytes.len() * 8;
    if !signed || bits == 0 || bits > 64 {
        return value as f64;
    }
    let mask = u64::MAX << (bits - 1);
    if value & mask != 0 {
        value |= mask;
    }
    value as i64 as f64
}

/// Bytes in the chosen order (floats are stored natively, then swapped).
fn ordered(mut bytes: Vec<u8>, little: bool) -> Vec<u8> {
    if little != cfg!(target_endian = "little") {
        bytes.reverse();
    }
    bytes
}

fn pack(lua: &Lua, args: Variadic<Value>) -> mlua::Result<mlua::LuaString> {
    let Some(Value::String(format)) = args.first() else {
        return Err(bad("pack", 1, "string expected"));
    };
    let format_bytes = format.as_bytes();
    let mut format = Format {
        text: &format_bytes,
        at: 0,
        function: "pack",
    };
    let mut header = Header::default();
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some(opt) = format.next() {
        let mut size = format.size(opt)?;
        let pad = padding(out.len(), &header, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(args.get(arg), arg + 1, "pack")?;
                arg += 1;
                put_integer(&mut out, n, header.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = number_arg(args.get(arg), arg + 1, "pack")? as f32;
                arg += 1;
                out.extend(ordered(n.to_ne_bytes().to_vec(), header.little));
            }
            b'd' => {
                let n = number_arg(args.get(arg), arg + 1, "pack")?;
                arg += 1;
                out.extend(ordered(n.to_ne_bytes().to_vec(), header.little));
            }
            b'c' | b's' => {
                let text = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(n)) => {
                        crate::resp::format_double_with(*n as f64, 14).into_bytes()
                    }
                    Some(Value::Number(n)) => crate::resp::format_double_with(*n, 14).into_bytes(),
                    _ => return Err(bad("pack", arg + 1, "string expected")),
                };
                arg += 1;
                if size == 0 || opt == b's' {
                    size = text.len();
                }
                if text.len() < size {
                    return Err(bad("pack", arg, "string too short"));
                }
                out.extend_from_slice(&text[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => format.control(opt, &mut header)?,
        }
    }
    lua.create_string(out)
}

fn unpack(lua: &Lua, args: Variadic<Value>) -> mlua::Result<Variadic<Value>> {
    let (Some(Value::String(format)), Some(Value::String(data))) = (args.first(), args.get(1))
    else {
        return Err(bad("unpack", 1, "string expected"));
    };
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        other => number_arg(other, 3, "unpack")?,
    };
    if start < 1.0 {
        return Err(bad("unpack", 3, "offset must be 1 or greater"));
    }
    let (format_bytes, data) = (format.as_bytes(), data.as_bytes());
    let mut format = Format {
        text: &format_bytes,
        at: 0,
        function: "unpack",
    };
    let mut header = Header::default();
    let mut at = start as usize - 1;
    let mut values: Vec<Value> = Vec::new();
    let too_short = || bad("unpack", 2, "data string too short");
    while let Some(opt) = format.next() {
        let mut size = format.size(opt)?;
        at += padding(at, &header, opt, size);
        if size > data.len() || at > data.len() - size {
            return Err(too_short());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = get_integer(
                    &data[at..at + size],
                    header.little,
                    opt.is_ascii_lowercase(),
                );
                values.push(Value::Number(n));
            }
            b'x' => {}
            b'f' => {
                let bytes = ordered(data[at..at + 4].to_vec(), header.little);
                let n = f32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                values.push(Value::Number(f64::from(n)));
            }
            b'd' => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&ordered(data[at..at + 8].to_vec(), header.little));
                values.push(Value::Number(f64::from_ne_bytes(bytes)));
            }
            b'c' => {
                if size == 0 {
                    size = match values.pop() {
                        Some(Value::Number(n)) if n >= 0.0 => n as usize,
                        _ => return Err(mlua::Error::runtime("format 'c0' needs a previous size")),
                    };
                    if size > data.len() || at > data.len() - size {
                        return Err(too_short());
                    }
                }
                values.push(Value::String(lua.create_string(&data[at..at + size])?));
            }
            b's' => {
                let Some(end) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(mlua::Error::runtime("unfinished string in data"));
                };
                values.push(Value::String(lua.create_string(&data[at..at + end])?));
                size = end + 1;
            }
            _ => format.control(opt, &mut header)?,
        }
        at += size;
    }
    values.push(Value::Number((at + 1) as f64));
    Ok(Variadic::from_iter(values))
}

fn size(format: mlua::LuaString) -> mlua::Result<usize> {
    let format_bytes = format.as_bytes();
    let mut format = Format {
        text: &format_bytes,
        at: 0,
        function: "size",
    };
    let mut header = Header::default();
    let mut at = 0;
    while let Some(opt) = format.next() {
        let size = format.size(opt)?;
        at += padding(at, &header, opt, size);
        if opt == b's' {
            return Err(bad("size", 1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(bad("size", 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            format.control(opt, &mut header)?;
        }
        at += size;
    }
    Ok(at)
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let library = lua.create_table()?;
    library.set("pack", lua.create_function(pack)?)?;
    library.set("unpack", lua.create_function(unpack)?)?;
    library.set(
        "size",
        lua.create_function(|_, format: mlua::LuaString| size(format).map(|n| n as f64))?,
    )?;
    Ok(library)
}
