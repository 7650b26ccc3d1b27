//! Functions (Redis 7.0): libraries of Lua code that FUNCTION LOAD runs
//! once to register named functions, which FCALL then calls with their
//! keys and arguments as parameters.
//!
//! This file holds what a library is and the checks Redis makes of it:
//! the `#!lua name=<lib>` header ([`Header`]), the arguments of
//! `redis.register_function` ([`Registration`]) and the catalogue of
//! libraries with its name rules ([`Libraries`]). Running the library's
//! code happens in `mod.rs`, in the functions' own Lua state.

use super::ScriptFlags;
use bytes::Bytes;
use mlua::{Table, Value, Variadic};
use std::collections::{BTreeMap, HashMap};

/// The one engine there is (Redis 7.0's).
pub const ENGINE: &str = "LUA";

/// How long a library's top level may run at FUNCTION LOAD (Redis'
/// `LOAD_TIMEOUT_MS`); a master's libraries have no limit.
pub const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Redis' words for a library or function name that is not
/// `[A-Za-z0-9_]+`.
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// A library's first line, `#!<engine> name=<name>`, as Redis reads it
/// (`functionExtractLibMetaData`: split like `sdssplitargs`, so the name
/// may be quoted).
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    pub engine: String,
    pub name: String,
    /// Where the code after the header starts: at the header's newline,
    /// so the code's line numbers are the library's.
    pub body: usize,
}

impl Header {
    pub fn parse(code: &[u8]) -> Result<Header, String> {
        if !code.starts_with(b"#!") {
            return Err("Missing library metadata".into());
        }
        let Some(end) = code.iter().position(|&b| b == b'\n') else {
            return Err("Invalid library metadata".into());
        };
        let line = &code[..end];
        let parts: Vec<Vec<u8>> = crate::sds::split_args(line)
            .filter(|parts| !parts.is_empty())
            .ok_or("Invalid library metadata")?
            .into_iter()
            .map(|piece| piece.into_bytes(line))
            .collect();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let mut name = None;
        for part in &parts[1..] {
            match part.get(..5) {
                Some(key) if key.eq_ignore_ascii_case(b"name=") => {
                    if name.is_some() {
                        return Err(
                            "Invalid metadata value, name argument was given multiple times".into(),
                        );
                    }
                    name = Some(text(&part[5..]));
                }
                _ => return Err(format!("Invalid metadata value given: {}", text(part))),
            }
        }
        Ok(Header {
            engine: text(parts[0].get(2..).unwrap_or_default()),
            name: name.ok_or("Library name was not given")?,
            body: end,
        })
    }
}

impl Header {
    /// The header of `code`, with a valid name and a known engine.
    pub fn checked(code: &[u8]) -> Result<Header, String> {
        let header = Header::parse(code)?;
        if !valid_name(&header.name) {
            return Err(BAD_NAME.into());
        }
        if !header.engine.eq_ignore_ascii_case(ENGINE) {
            return Err(format!("Engine '{}' not found", header.engine));
        }
        Ok(header)
    }
}

/// Library and function names: letters, digits and `_`, at least one.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One registered function.
pub struct Function {
    pub name: String,
    pub description: Option<Bytes>,
    pub flags: ScriptFlags,
    pub(super) callback: mlua::Function,
}

/// A loaded library: its code as given (header included) and its functions
/// in registration order.
pub struct Library {
    pub name: String,
    pub code: Bytes,
    pub functions: Vec<Function>,
}

/// The arguments of one `redis.register_function` call, checked as Redis
/// checks them; the error texts are Redis'.
pub struct Registration(pub Function);

impl Registration {
    pub fn read(args: Variadic<Value>) -> Result<Registration, &'static str> {
        match args.len() {
            1 => Registration::named(&args[0]),
            2 => Registration::positional(&args[0], &args[1]),
            _ => Err("wrong number of arguments to redis.register_function"),
        }
    }

    /// `redis.register_function(name, callback)`.
    fn positional(name: &Value, callback: &Value) -> Result<Registration, &'static str> {
        let name =
            lua_string(name).ok_or("first argument to redis.register_function must be a string")?;
        let Value::Function(callback) = callback else {
            return Err("second argument to redis.register_function must be a function");
        };
        Ok(Registration(Function {
            name,
            description: None,
            flags: ScriptFlags::default(),
            callback: callback.clone(),
        }))
    }

    /// `redis.register_function{function_name=..., callback=...,
    /// flags={...}, description=...}`: keys in any case, checked in the
    /// table's order.
    fn named(table: &Value) -> Result<Registration, &'static str> {
        let Value::Table(table) = table else {
            return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
        };
        let (mut name, mut description, mut callback) = (None, None, None);
        let mut flags = ScriptFlags::default();
        for pair in table.pairs::<Value, Value>() {
            let (key, value) =
                pair.map_err(|_| "unknown argument given to redis.register_function")?;
            let key = lua_string(&key)
                .ok_or("named argument key given to redis.register_function is not a string")?;
            match key.to_ascii_lowercase().as_str() {
                "function_name" => {
                    name = Some(lua_string(&value).ok_or(
                        "function_name argument given to redis.register_function must be a string",
                    )?);
                }
                "description" => {
                    description = Some(lua_bytes(&value).ok_or(
                        "description argument given to redis.register_function must be a string",
                    )?);
                }
                "callback" => {
                    match value {
                        Value::Function(f) => callback = Some(f),
                        _ => return Err(
                            "callback argument given to redis.register_function must be a function",
                        ),
                    }
                }
                "flags" => {
                    let Value::Table(list) = value else {
                        return Err("flags argument to redis.register_function must be a table representing function flags");
                    };
                    flags = read_flags(&list).ok_or("unknown flag given")?;
                }
                _ => return Err("unknown argument given to redis.register_function"),
            }
        }
        Ok(Registration(Function {
            name: name.ok_or("redis.register_function must get a function name argument")?,
            description,
            flags,
            callback: callback.ok_or("redis.register_function must get a callback argument")?,
        }))
    }
}

/// A flags list `{'no-writes', ...}`, names in any case, up to its first
/// nil; `None` on a name that is no flag.
fn read_flags(list: &Table) -> Option<ScriptFlags> {
    let mut flags = ScriptFlags::default();
    for i in 1.. {
        match list.raw_get::<Value>(i).ok()? {
            Value::Nil => break,
            value => {
                let name = lua_string(&value)?;
                if !flags.set(&name.to_ascii_lowercase()) {
                    return None;
                }
            }
        }
    }
    Some(flags)
}

/// A string argument as Lua's `lua_isstring` sees it: a string or a number.
fn lua_bytes(value: &Value) -> Option<Bytes> {
    match value {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(n) => Some(Bytes::from(n.to_string())),
        Value::Number(n) => Some(Bytes::from(crate::resp::format_double(*n))),
        _ => None,
    }
}

fn lua_string(value: &Value) -> Option<String> {
    lua_bytes(value).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// The libraries loaded, by name (case-sensitive, as in Redis), and where
/// each function is, by its name in lowercase: FCALL's names are
/// case-insensitive, so two libraries cannot hold `f` and `F`.
#[derive(Default)]
pub struct Libraries {
    libraries: BTreeMap<String, Library>,
    functions: HashMap<String, String>,
}

impl Libraries {
    pub fn get(&self, name: &str) -> Option<&Library> {
        self.libraries.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    pub fn len(&self) -> usize {
        self.libraries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.libraries.is_empty()
    }

    /// Their code, names and descriptions, in bytes.
    pub fn bytes(&self) -> usize {
        self.iter()
            .map(|library| {
                library.code.len()
                    + library.name.len()
                    + library
                        .functions
                        .iter()
                        .map(|f| f.name.len() + f.description.as_ref().map_or(0, Bytes::len))
                        .sum::<usize>()
            })
            .sum()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// The function FCALL names, whatever its case.
    pub fn function(&self, name: &str) -> Option<&Function> {
        let library = self.functions.get(&name.to_ascii_lowercase())?;
        self.libraries
            .get(library)?
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Adds `library`, replacing the one of its name if `replace` (else
    /// that is an error), unless one of its functions is another library's.
    pub fn add(&mut self, library: Library, replace: bool) -> Result<(), String> {
        if !replace && self.libraries.contains_key(&library.name) {
            return Err(format!("Library '{}' already exists", library.name));
        }
        for function in &library.functions {
            match self.functions.get(&function.name.to_ascii_lowercase()) {
                Some(owner) if *owner != library.name => {
                    return Err(format!("Function {} already exists", function.name));
                }
                _ => {}
            }
        }
        self.remove(&library.name);
        for function in &library.functions {
            self.functions
                .insert(function.name.to_ascii_lowercase(), library.name.clone());
        }
        self.libraries.insert(library.name.clone(), library);
        Ok(())
    }

    /// Adds every library of `other` (FUNCTION RESTORE APPEND or REPLACE),
    /// all or none: with `replace` one of the same name goes, else it is
    /// an error; a function of a library that stays is always an error.
    pub fn join(&mut self, other: Libraries, replace: bool) -> Result<(), String> {
        for name in other.libraries.keys() {
            if !replace && self.libraries.contains_key(name) {
                return Err(format!("Library {name} already exists"));
            }
        }
        for (function, library) in &other.functions {
            match self.functions.get(function) {
                Some(owner) if !other.libraries.contains_key(owner) => {
                    let name = other
                        .libraries
                        .get(library)
                        .and_then(|l| {
                            l.functions
                                .iter()
                                .find(|f| f.name.eq_ignore_ascii_case(function))
                        })
                        .map_or(function.as_str(), |f| f.name.as_str());
                    return Err(format!("Function {name} already exists"));
                }
                _ => {}
            }
        }
        // The libraries replaced go first: one restored may take over a
        // function of another replaced, whatever their order.
        for name in other.libraries.keys() {
            self.remove(name);
        }
        for (_, library) in other.libraries {
            self.add(library, false)?;
        }
        Ok(())
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.libraries.remove(name) {
            Some(library) => {
                for function in &library.functions {
                    self.functions.remove(&function.name.to_ascii_lowercase());
                }
                true
            }
            None => false,
        }
    }

    /// Every library's code, in name order: what is stored, dumped and
    /// sent to replicas.
    pub fn codes(&self) -> Vec<Bytes> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_in_redis() {
        assert_eq!(
            Header::parse(b"#!lua name=mylib\nreturn 1"),
            Ok(Header {
                engine: "lua".into(),
                name: "mylib".into(),
                body: 16
            })
        );
        assert_eq!(
            Header::parse(b"#!LUA NAME=\"quoted\"\n").map(|h| h.name),
            Ok("quoted".into())
        );
        assert_eq!(
            Header::parse(b"#! name=x\n").map(|h| h.engine),
            Ok(String::new())
        );
        for (code, error) in [
            (&b"return 1"[..], "Missing library metadata"),
            (b"#!lua name=x", "Invalid library metadata"),
            (b"#!lua name=\"x\n", "Invalid library metadata"),
            (b"#!lua\n", "Library name was not given"),
            (
                b"#!lua name=x foo=bar\n",
                "Invalid metadata value given: foo=bar",
            ),
            (
                b"#!lua name=a name=b\n",
                "Invalid metadata value, name argument was given multiple times",
            ),
        ] {
            assert_eq!(Header::parse(code), Err(error.to_string()), "{code:?}");
        }
    }

    #[test]
    fn names_are_letters_digits_and_underscores() {
        assert!(valid_name("my_lib_2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a-b"));
        assert!(!valid_name("a\0b"));
    }

    fn registration(lua: &mlua::Lua, args: &str) -> Result<Registration, &'static str> {
        let args: Variadic<Value> = lua
            .load(format!("return {args}"))
            .eval()
            .expect("the arguments evaluate");
        Registration::read(args)
    }

    #[test]
    fn register_function_arguments_are_checked_as_in_redis() {
        let lua = mlua::Lua::new();
        let f = "function() end";
        let ok = registration(&lua, &format!("'f1', {f}")).expect("positional");
        assert_eq!(ok.0.name, "f1");
        let ok = registration(
            &lua,
            &format!("{{FUNCTION_NAME='f2', callback={f}, description='d', flags={{'no-writes', 'ALLOW-STALE'}}}}"),
        )
        .expect("named");
        assert_eq!(ok.0.name, "f2");
        assert_eq!(ok.0.description.as_deref(), Some(&b"d"[..]));
        assert_eq!(ok.0.flags.names(), ["no-writes", "allow-stale"]);
        for (args, error) in [
            ("", "wrong number of arguments to redis.register_function"),
            ("'a', 'b', 'c'", "wrong number of arguments to redis.register_function"),
            ("'f1'", "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."),
            ("nil, function() end", "first argument to redis.register_function must be a string"),
            ("'f', 'not a function'", "second argument to redis.register_function must be a function"),
            ("{function_name={}}", "function_name argument given to redis.register_function must be a string"),
            ("{description={}}", "description argument given to redis.register_function must be a string"),
            ("{callback='x'}", "callback argument given to redis.register_function must be a function"),
            ("{flags='no-writes'}", "flags argument to redis.register_function must be a table representing function flags"),
            ("{flags={'no-writes', 'bad'}}", "unknown flag given"),
            ("{flags={{}}}", "unknown flag given"),
            ("{other=1}", "unknown argument given to redis.register_function"),
            ("{[{}]=1}", "named argument key given to redis.register_function is not a string"),
            ("{callback=function() end}", "redis.register_function must get a function name argument"),
            ("{function_name='f'}", "redis.register_function must get a callback argument"),
        ] {
            assert_eq!(registration(&lua, args).err(), Some(error), "{args}");
        }
    }

    fn library(lua: &mlua::Lua, name: &str, functions: &[&str]) -> Library {
        let callback: mlua::Function = lua
            .load("return function() end")
            .eval()
            .expect("a function");
        Library {
            name: name.into(),
            code: Bytes::from(format!("#!lua name={name}\n")),
            functions: functions
                .iter()
                .map(|f| Function {
                    name: f.to_string(),
                    description: None,
                    flags: ScriptFlags::default(),
                    callback: callback.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn function_names_are_unique_whatever_their_case() {
        let lua = mlua::Lua::new();
        let mut libraries = Libraries::default();
        libraries
            .add(library(&lua, "a", &["f1", "f2"]), false)
            .expect("added");
        assert_eq!(
            libraries.add(library(&lua, "a", &["g"]), false).err(),
            Some("Library 'a' already exists".into())
        );
        assert_eq!(
            libraries.add(library(&lua, "b", &["F1"]), false).err(),
            Some("Function F1 already exists".into())
        );
        libraries
            .add(library(&lua, "a", &["F1"]), true)
            .expect("replaced");
        assert!(libraries.function("f2").is_none());
        assert_eq!(
            libraries.function("f1").map(|f| f.name.as_str()),
            Some("F1")
        );
        let mut other = Libraries::default();
        other.add(library(&lua, "a", &["x"]), false).expect("added");
        assert_eq!(
            libraries.join(other, false).err(),
            Some("Library a already exists".into())
        );
        let mut other = Libraries::default();
        other
            .add(library(&lua, "c", &["f1"]), false)
            .expect("added");
        assert_eq!(
            libraries.join(other, true).err(),
            Some("Function f1 already exists".into())
        );
        assert_eq!(libraries.function_count(), 1);
        // "a" gives its F1 up to "0", restored before it in name order.
        let mut other = Libraries::default();
        other
            .add(library(&lua, "0", &["f1"]), false)
            .expect("added");
        other.add(library(&lua, "a", &["g"]), false).expect("added");
        libraries.join(other, true).expect("joined");
        assert_eq!(libraries.get("0").map(|l| l.functions.len()), Some(1));
        assert!(libraries.function("f1").is_some() && libraries.function("g").is_some());
        assert_eq!(libraries.function_count(), 2);
        assert!(libraries.remove("a") && libraries.remove("0") && libraries.is_empty());
    }
}
