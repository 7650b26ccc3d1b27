//! The `cjson` library Redis ships to scripts (lua-cjson 2.1 with its
//! defaults): `cjson.encode`, `cjson.decode` and `cjson.null`.
//!
//! As lua-cjson: numbers are written `%.14g` and NaN or infinity refused;
//! `/` is escaped; a table whose keys are all positive integers is an
//! array (holes become null, unless excessively sparse: a largest index
//! over 10 and over twice the count), any other table an object (an empty
//! one is `{}`), its keys strings or numbers; nesting stops at 1000.

use mlua::{LightUserData, Lua, Table, Value};

const MAX_DEPTH: usize = 1000;

/// `cjson.null`: what JSON's null decodes to (a NULL light userdata, as in
/// lua-cjson), and encodes from.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    cjson.set(
        "encode",
        lua.create_function(|lua, value: Value| {
            let mut out = Vec::new();
            encode(&value, 0, &mut out).map_err(mlua::Error::runtime)?;
            lua.create_string(out)
        })?,
    )?;
    cjson.set(
        "decode",
        lua.create_function(|lua, text: mlua::LuaString| {
            let bytes = text.as_bytes();
            let mut parser = Parser {
                lua,
                text: &bytes,
                at: 0,
            };
            let value = parser.document().map_err(mlua::Error::runtime)?;
            Ok(value)
        })?,
    )?;
    cjson.set("null", null())?;
    Ok(cjson)
}

fn encode(value: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(data) if data.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // mlua hands integral numbers over as integers; lua-cjson sees
        // doubles only (1e17 is `1e+17`).
        Value::Integer(n) => encode_number(*n as f64, out)?,
        Value::Number(n) => encode_number(*n, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(table) => encode_table(table, depth + 1, out)?,
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

fn encode_number(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        return Err("Cannot serialise number: must not be NaN or Inf".to_string());
    }
    out.extend_from_slice(crate::resp::format_double_with(n, 14).as_bytes());
    Ok(())
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

/// A table's largest index if it is an array, `None` for an object.
fn array_length(table: &Table) -> Result<Option<usize>, String> {
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
    if largest > 10 && largest > count * 2 {
        return Err("Cannot serialise table: excessively sparse array".to_string());
    }
    Ok(Some(largest))
}

fn encode_table(table: &Table, depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("Cannot serialise, excessive nesting ({depth})"));
    }
    if let Some(length) = array_length(table)? {
        out.push(b'[');
        for i in 1..=length {
            if i > 1 {
                out.push(b',');
            }
            let item: Value = table.raw_get(i).map_err(|e| e.to_string())?;
            encode(&item, depth, out)?;
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
                encode(&key, depth, &mut text)?;
                encode_string(&text, out);
            }
            _ => {
                return Err(
                    "Cannot serialise table: table key must be a number or string".to_string(),
                )
            }
        }
        out.push(b':');
        encode(&item, depth, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// A JSON text to Lua values. Errors name the byte (1-based) where the
/// text went wrong, as lua-cjson's do.
struct Parser<'a> {
    lua: &'a Lua,
    text: &'a [u8],
    at: usize,
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
            Some(b'n') => self.literal(b"null", null()),
            Some(b'-' | b'0'..=b'9') => self.number(),
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
            .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .map(Value::Number)
            .ok_or_else(|| {
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
        match depth > MAX_DEPTH {
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
