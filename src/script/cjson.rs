//! The `cjson` library Redis ships to scripts (lua-cjson 2.1 with its
//! defaults): `cjson.encode`, `cjson.decode` and `cjson.null`.
//!
//! As lua-cjson: numbers are written `%.14g` and NaN or infinity refused;
//! `/` is escaped; a table whose keys are all positive integers is an
//! array (holes become null, unless excessively sparse: a largest index
//! over 10 and over twice the count), any other table an object (an empty
//! one is `{}`), its keys strings or numbers; nesting stops at 1000.
//! Its settings functions (`encode_max_depth`, `decode_max_depth`,
//! `encode_number_precision`, `encode_sparse_array`,
//! `encode_invalid_numbers`, `decode_invalid_numbers`,
//! `encode_keep_buffer`) hold for the Lua state, as in Redis; the depths
//! cannot go past 1000, which the server threads' stack is sized for.

use mlua::{LightUserData, Lua, Table, Value, Variadic};
use std::sync::{Arc, Mutex};

/// The deepest nesting either way: `script::STACK_BYTES` covers it.
const MAX_DEPTH: usize = 1000;

/// lua-cjson's settings, with its defaults.
#[derive(Clone, Copy)]
struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    /// Largest index over the count beyond which an array is sparse...
    sparse_ratio: usize,
    /// ... once it is over this.
    sparse_safe: usize,
    /// A sparse array is written as an object instead of refused.
    sparse_convert: bool,
    encode_invalid_numbers: InvalidNumbers,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
}

/// `encode_invalid_numbers`: refuse NaN and infinity, write them, or
/// write null.
#[derive(Clone, Copy, PartialEq)]
enum InvalidNumbers {
    Refuse,
    Write,
    Null,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            encode_max_depth: MAX_DEPTH,
            decode_max_depth: MAX_DEPTH,
            precision: 14,
            sparse_ratio: 2,
            sparse_safe: 10,
            sparse_convert: false,
            encode_invalid_numbers: InvalidNumbers::Refuse,
            decode_invalid_numbers: true,
            keep_buffer: true,
        }
    }
}

type Shared = Arc<Mutex<Settings>>;

/// Where a setting lives in [`Settings`].
type Field<T> = fn(&mut Settings) -> &mut T;

fn settings(shared: &Shared) -> Settings {
    *crate::sync::lock(shared)
}

/// An integer setting: sets it when given (within `1..=max`), returns it.
fn integer_option(
    lua: &Lua,
    shared: &Shared,
    max: usize,
    field: Field<usize>,
) -> mlua::Result<mlua::Function> {
    let shared = shared.clone();
    lua.create_function(move |_, value: Option<f64>| {
        let mut settings = crate::sync::lock(&shared);
        if let Some(value) = value {
            if !(1.0..=max as f64).contains(&value) {
                return Err(mlua::Error::runtime(format!(
                    "bad argument #1 (expected integer between 1 and {max})"
                )));
            }
            *field(&mut settings) = value as usize;
        }
        Ok(*field(&mut settings) as f64)
    })
}

/// A true/false setting ("on"/"off" too, as lua-cjson takes them).
fn flag(value: &Value) -> mlua::Result<Option<bool>> {
    match value {
        Value::Nil => Ok(None),
        Value::Boolean(b) => Ok(Some(*b)),
        Value::String(s) if &*s.as_bytes() == b"on" => Ok(Some(true)),
        Value::String(s) if &*s.as_bytes() == b"off" => Ok(Some(false)),
        _ => Err(mlua::Error::runtime("bad argument #1 (invalid option)")),
    }
}

/// `cjson.null`: what JSON's null decodes to (a NULL light userdata, as in
/// lua-cjson), and encodes from.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let shared = Shared::default();
    let cjson = lua.create_table()?;
    let state = shared.clone();
    cjson.set(
        "encode",
        lua.create_function(move |lua, value: Value| {
            let encoder = Encoder {
                settings: settings(&state),
            };
            let mut out = Vec::new();
            encoder
                .value(&value, 0, &mut out)
                .map_err(mlua::Error::runtime)?;
            lua.create_string(out)
        })?,
    )?;
    let state = shared.clone();
    cjson.set(
        "decode",
        lua.create_function(move |lua, text: mlua::LuaString| {
            let bytes = text.as_bytes();
            let settings = settings(&state);
            let mut parser = Parser {
                lua,
                text: &bytes,
                at: 0,
                max_depth: settings.decode_max_depth,
                invalid_numbers: settings.decode_invalid_numbers,
            };
            parser.document().map_err(mlua::Error::runtime)
        })?,
    )?;
    cjson.set("null", null())?;
    let depths: [(&str, usize, Field<usize>); 3] = [
        ("encode_max_depth", MAX_DEPTH, |s| &mut s.encode_max_depth),
        ("decode_max_depth", MAX_DEPTH, |s| &mut s.decode_max_depth),
        ("encode_number_precision", 14, |s| &mut s.precision),
    ];
    for (name, max, field) in depths {
        cjson.set(name, integer_option(lua, &shared, max, field)?)?;
    }
    let flags: [(&str, Field<bool>); 2] = [
        ("encode_keep_buffer", |s| &mut s.keep_buffer),
        ("decode_invalid_numbers", |s| &mut s.decode_invalid_numbers),
    ];
    for (name, field) in flags {
        let state = shared.clone();
        cjson.set(
            name,
            lua.create_function(move |_, value: Value| {
                let mut settings = crate::sync::lock(&state);
                if let Some(on) = flag(&value)? {
                    *field(&mut settings) = on;
                }
                Ok(*field(&mut settings))
            })?,
        )?;
    }
    let state = shared.clone();
    cjson.set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, value: Value| {
            let mut settings = crate::sync::lock(&state);
            settings.encode_invalid_numbers = match &value {
                Value::String(s) if &*s.as_bytes() == b"null" => InvalidNumbers::Null,
                _ => match flag(&value)? {
                    Some(true) => InvalidNumbers::Write,
                    Some(false) => InvalidNumbers::Refuse,
                    None => settings.encode_invalid_numbers,
                },
            };
            Ok(match settings.encode_invalid_numbers {
                InvalidNumbers::Null => Value::String(lua.create_string("null")?),
                mode => Value::Boolean(mode == InvalidNumbers::Write),
            })
        })?,
    )?;
    cjson.set(
        "encode_sparse_array",
        lua.create_function(move |_, args: Variadic<Value>| {
            let mut settings = crate::sync::lock(&shared);
            if let Some(convert) = flag(args.first().unwrap_or(&Value::Nil))? {
                settings.sparse_convert = convert;
            }
            let Settings {
                sparse_ratio,
                sparse_safe,
                ..
            } = &mut *settings;
            for (index, field) in [(1, sparse_ratio), (2, sparse_safe)] {
                match args.get(index) {
                    Some(Value::Integer(n)) if *n >= 0 => *field = *n as usize,
                    Some(Value::Number(n)) if *n >= 0.0 => *field = *n as usize,
                    None | Some(Value::Nil) => {}
                    Some(_) => return Err(mlua::Error::runtime("bad argument (expected integer)")),
                }
            }
            Ok((
                settings.sparse_convert,
                settings.sparse_ratio as f64,
                settings.sparse_safe as f64,
            ))
        })?,
    )?;
    Ok(cjson)
}

/// `cjson.encode` under the settings in force when it was called.
struct Encoder {
    settings: Settings,
}

impl Encoder {
    fn value(&self, value: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        match value {
            Value::Nil => out.extend_from_slice(b"null"),
            Value::LightUserData(data) if data.0.is_null() => out.extend_from_slice(b"null"),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            // mlua hands integral numbers over as integers; lua-cjson sees
            // doubles only (1e17 is `1e+17`).
            Value::Integer(n) => self.number(*n as f64, out)?,
            Value::Number(n) => self.number(*n, out)?,
            Value::String(s) => encode_string(&s.as_bytes(), out),
            Value::Table(table) => self.table(table, depth + 1, out)?,
            other => {
                return Err(format!(
                    "Cannot serialise {}: type not supported",
                    other.type_name()
                ))
            }
        }
        Ok(())
    }

    fn number(&self, n: f64, out: &mut Vec<u8>) -> Result<(), String> {
        if !n.is_finite() {
            match self.settings.encode_invalid_numbers {
                InvalidNumbers::Refuse => {
                    return Err("Cannot serialise number: must not be NaN or Inf".to_string())
                }
                InvalidNumbers::Null => {
                    out.extend_from_slice(b"null");
                    return Ok(());
                }
                InvalidNumbers::Write => {}
            }
        }
        let text = crate::resp::format_double_with(n, self.settings.precision);
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    /// A table's largest index if it is an array, `None` for an object.
    fn array_length(&self, table: &Table) -> Result<Option<usize>, String> {
        let (mut largest, mut count) = (0usize, 0usize);
        for pair in table.pairs::<Value, Value>() {
            let (key, _) = pair.map_err(|e| e.to_string())?;
            let index = match key {
                Value::Integer(n) if n >= 1 => usize::try_from(n).ok(),
                Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e15 => Some(n as usize),
                _ => None,
            };
            let Some(index) = index else {
                return Ok(None);
            };
            largest = largest.max(index);
            count += 1;
        }
        if count == 0 {
            return Ok(None);
        }
        let Settings {
            sparse_ratio: ratio,
            sparse_safe: safe,
            sparse_convert: convert,
            ..
        } = self.settings;
        if ratio > 0 && largest > safe && largest > count.saturating_mul(ratio) {
            return match convert {
                true => Ok(None),
                false => Err("Cannot serialise table: excessively sparse array".to_string()),
            };
        }
        Ok(Some(largest))
    }

    fn table(&self, table: &Table, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
        if depth > self.settings.encode_max_depth {
            return Err(format!("Cannot serialise, excessive nesting ({depth})"));
        }
        if let Some(length) = self.array_length(table)? {
            out.push(b'[');
            for i in 1..=length {
                if i > 1 {
                    out.push(b',');
                }
                let item: Value = table.raw_get(i).map_err(|e| e.to_string())?;
                self.value(&item, depth, out)?;
            }
            out.push(b']');
            return Ok(());
        }
        out.push(b'{');
        let mut first = true;
        for pair in table.pairs::<Value, Value>() {
            let (key, item) = pair.map_err(|e| e.to_string())?;
            if !first {
                out.push(b',');
            }
            first = false;
            match &key {
                Value::String(s) => encode_string(&s.as_bytes(), out),
                Value::Integer(_) | Value::Number(_) => {
                    let mut text = Vec::new();
                    self.value(&key, depth, &mut text)?;
                    encode_string(&text, out);
                }
                _ => {
                    return Err(
                        "Cannot serialise table: table key must be a number or string".to_string(),
                    )
                }
            }
            out.push(b':');
            self.value(&item, depth, out)?;
        }
        out.push(b'}');
        Ok(())
    }
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// A JSON text to Lua values. Errors name the byte (1-based) where the
/// text went wrong, as lua-cjson's do.
struct Parser<'a> {
    lua: &'a Lua,
    text: &'a [u8],
    at: usize,
    max_depth: usize,
    /// `nan`, `inf` and hexadecimal numbers are read (lua-cjson's
    /// `decode_invalid_numbers`, on by default).
    invalid_numbers: bool,
}

impl Parser<'_> {
    fn document(&mut self) -> Result<Value, String> {
        let value = self.value(0)?;
        self.skip_space();
        if self.at < self.text.len() {
            return Err(self.unexpected("the end"));
        }
        Ok(value)
    }

    fn skip_space(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b" \t\r\n".contains(b))
        {
            self.at += 1;
        }
    }

    /// lua-cjson's parse error: what it expected, and the token it found
    /// (by its token name) at the byte where that token starts.
    fn unexpected(&mut self, expected: &str) -> String {
        self.skip_space();
        let rest = &self.text[self.at..];
        let found = match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(_) if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            Some(_) if rest.starts_with(b"null") => "T_NULL",
            Some(_) => "invalid token",
        };
        format!(
            "Expected {expected} but found {found} at character {}",
            self.at + 1
        )
    }

    fn lua_error(e: mlua::Error) -> String {
        e.to_string()
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.skip_space();
        match self.text.get(self.at) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => {
                let bytes = self.string()?;
                self.lua
                    .create_string(bytes)
                    .map(Value::String)
                    .map_err(Self::lua_error)
            }
            Some(b't') => self.literal(b"true", Value::Boolean(true)),
            Some(b'f') => self.literal(b"false", Value::Boolean(false)),
            Some(b'n') if self.text[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(null())
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n' | b'N' | b'i' | b'I') if self.invalid_numbers => self.number(),
            _ => Err(self.unexpected("value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, String> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("value"))
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
        let (negative, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        let special = digits.starts_with(|c: char| !c.is_ascii_digit())
            || digits.starts_with("0x")
            || digits.starts_with("0X");
        let parsed = match special {
            false => text.parse::<f64>().ok(),
            true if !self.invalid_numbers => None,
            true => match digits.get(..2) {
                Some("0x" | "0X") => i64::from_str_radix(&digits[2..], 16).ok().map(|n| {
                    if negative {
                        -(n as f64)
                    } else {
                        n as f64
                    }
                }),
                _ => text.parse::<f64>().ok(),
            },
        };
        parsed.map(Value::Number).ok_or_else(|| {
            self.at = start;
            self.unexpected("value")
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| {
                format!(
                    "Expected value but found invalid unicode escape code at character {}",
                    self.at + 1
                )
            })?;
        self.at += 4;
        Ok(digits)
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.at) else {
                return Err(format!(
                    "Expected value but found unexpected end of string at character {}",
                    self.at + 1
                ));
            };
            self.at += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&escape) = self.text.get(self.at) else {
                        return Err(format!(
                            "Expected value but found unexpected end of string at character {}",
                            self.at + 1
                        ));
                    };
                    self.at += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => self.unicode_escape(&mut out)?,
                        _ => {
                            return Err(format!(
                                "Expected value but found invalid escape code at character {}",
                                self.at - 1
                            ))
                        }
                    }
                }
                _ => out.push(b),
            }
        }
    }

    /// `\uXXXX` (a surrogate pair takes two) as UTF-8.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) && self.text[self.at..].starts_with(b"\\u")
        {
            self.at += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return Err(format!(
                    "Expected value but found invalid unicode escape code at character {}",
                    self.at
                ));
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        let c = char::from_u32(code).ok_or_else(|| {
            format!(
                "Expected value but found invalid unicode escape code at character {}",
                self.at
            )
        })?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn nested(&self, depth: usize) -> Result<(), String> {
        match depth > self.max_depth {
            true => Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.at + 1
            )),
            false => Ok(()),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.nested(depth)?;
        self.at += 1;
        let table = self.lua.create_table().map_err(Self::lua_error)?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        for index in 1.. {
            let item = self.value(depth)?;
            table.raw_set(index, item).map_err(Self::lua_error)?;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.unexpected("comma or array end")),
            }
        }
        Ok(Value::Table(table))
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.nested(depth)?;
        self.at += 1;
        let table = self.lua.create_table().map_err(Self::lua_error)?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        loop {
            self.skip_space();
            if self.text.get(self.at) != Some(&b'"') {
                return Err(self.unexpected("object key string"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.text.get(self.at) != Some(&b':') {
                return Err(self.unexpected("colon"));
            }
            self.at += 1;
            let item = self.value(depth)?;
            let key = self.lua.create_string(key).map_err(Self::lua_error)?;
            table.raw_set(key, item).map_err(Self::lua_error)?;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return Err(self.unexpected("comma or object end")),
            }
        }
    }
}
