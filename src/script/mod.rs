//! Lua scripting (EVAL, EVALSHA, SCRIPT): one Lua 5.1 state per server,
//! as in Redis, with the scripts it compiled by SHA-1.
//!
//! This module knows Lua and RESP frames, not connections: a run gets a
//! `call` closure that executes one command and returns its reply
//! (`command::scripting` gives it one that runs the command in the
//! caller's transaction). What scripts see is built by `prelude.lua`:
//! Lua's base, string, table and math libraries, `bit` (`bit.rs`), `cjson`
//! (`cjson.rs`), `cmsgpack` (`cmsgpack.rs`), `struct` (`lua_struct.rs`)
//! and the `redis` library, all read-only, and no file, OS or network access.
//!
//! Conversions follow Redis 7.0, RESP2 unless the script says
//! `redis.setresp(3)`: see [`reply_to_lua`] and [`lua_to_reply`].

mod bit;
mod cjson;
mod cmsgpack;
pub mod functions;
mod lua_struct;
mod running;
mod shebang;

use functions::{Header, Libraries, Library, Registration};
pub use running::{KillRefused, Running, RunningFunction};
pub use shebang::{ScriptFlags, FLAG_NAMES};

use crate::resp::{Frame, Protocol};
use bytes::Bytes;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, Variadic};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The version scripts see as `redis.REDIS_VERSION` (that of `INFO`).
const VERSION: &str = "7.0.15";
const VERSION_NUM: i64 = 0x07000f;

/// How deep a returned table may nest before the reply says so instead
/// of recursing further (a table can hold itself).
const MAX_REPLY_DEPTH: usize = 128;

/// The stack a thread that runs scripts needs (the server's runtime gives
/// its threads this much): cjson encodes and decodes 1000 levels of
/// nesting by recursion, up to a few KB a level in a debug build. Only the
/// pages touched are memory.
pub const STACK_BYTES: usize = 32 << 20;

/// Runs between two steps of Lua's collector.
const GC_PERIOD: u32 = 50;

/// The Lua VM instructions between two checks for SCRIPT KILL and for
/// a script running long.
const CHECK_INSTRUCTIONS: u32 = 100_000;

/// One Lua state with `prelude.lua` run in it.
struct Vm {
    lua: Lua,
    /// The hidden tables behind the read-only globals and `redis` table.
    globals: Table,
    redis: Table,
    /// `prelude.lua`'s `run`: calls a script, errors as tables.
    run: mlua::Function,
    /// `prelude.lua`'s `loading`: the globals are the library API or not.
    loading: mlua::Function,
    /// Runs, for the collector's rhythm.
    runs: u32,
}

/// What `redis.register_function` collects while a library loads (the
/// Lua state's app data, absent at any other time).
struct Loading(Vec<functions::Function>);

/// The Lua states and what was compiled in them: EVAL's scripts by SHA-1
/// in one, the functions' libraries in another, as in Redis 7.0, so that
/// SCRIPT FLUSH (a fresh state) leaves the functions, and FUNCTION FLUSH
/// the scripts.
pub struct Scripting {
    eval: Vm,
    /// Compiled scripts, with their shebang's flags, by lowercase SHA-1 hex.
    scripts: HashMap<String, (mlua::Function, ScriptFlags)>,
    functions: Vm,
    libraries: Libraries,
    running: Arc<Running>,
}

/// The lowercase hex SHA-1 of `bytes` (script names, `redis.sha1hex`).
pub fn sha1hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

/// What [`Scripting::run`] runs.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// A known script, by its SHA-1 (lowercase hex).
    Script(&'a str),
    /// A function (FCALL), with the command that called it (FUNCTION STATS).
    Function { name: &'a str, command: &'a [Bytes] },
}

/// How FUNCTION RESTORE treats the libraries already loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    /// They all go first.
    Flush,
    /// They stay; one of the same name as a restored one is an error.
    Append,
    /// They stay, but one of the same name as a restored one is replaced.
    Replace,
}

impl Vm {
    fn new(running: &Arc<Running>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let native = lua.create_table()?;
        native.set("version", VERSION)?;
        native.set("bit", bit::library(&lua)?)?;
        let killed = running.clone();
        native.set(
            "killed",
            lua.create_function(move |_, ()| Ok(killed.kill.load(Ordering::Acquire)))?,
        )?;
        let protocol = running.clone();
        native.set(
            "setresp",
            lua.create_function(move |_, version: i64| {
                protocol.resp3.store(version == 3, Ordering::Release);
                Ok(())
            })?,
        )?;
        native.set("cjson", cjson::library(&lua)?)?;
        native.set("cmsgpack", cmsgpack::library(&lua)?)?;
        native.set("struct", lua_struct::library(&lua)?)?;
        native.set("version_num", VERSION_NUM)?;
        native.set(
            "sha1hex",
            lua.create_function(|_, text: mlua::LuaString| Ok(sha1hex(&text.as_bytes())))?,
        )?;
        native.set(
            "log",
            lua.create_function(|_, (level, message): (i64, String)| {
                match level {
                    3 => crate::log::warning(&message),
                    2 => crate::log::notice(&message),
                    _ => crate::log::verbose(&message),
                }
                Ok(())
            })?,
        )?;
        native.set(
            "place",
            lua.create_function(|lua, ()| Ok(script_place(lua)))?,
        )?;
        native.set(
            "error_table",
            lua.create_function(|lua, error: Value| {
                let text = match &error {
                    Value::Error(error) => error_reply_text(lua, error),
                    _ => "ERR execution failure".to_string(),
                };
                let table = lua.create_table()?;
                table.raw_set("err", text)?;
                Ok(table)
            })?,
        )?;
        native.set("register_function", lua.create_function(register_function)?)?;
        let (globals, redis, run, loading): (Table, Table, mlua::Function, mlua::Function) = lua
            .load(include_str!("prelude.lua"))
            .set_name("@redstone")
            .call(native)?;
        let checked = running.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(CHECK_INSTRUCTIONS),
            move |_, _| checked.check(),
        )?;
        Ok(Vm {
            lua,
            globals,
            redis,
            run,
            loading,
            runs: 0,
        })
    }

    /// Runs a library's code (after its header) to collect the functions it
    /// registers, with the library API as its globals; Redis' errors.
    fn create(&self, header: &Header, code: &Bytes) -> Result<Vec<functions::Function>, String> {
        let chunk = self
            .lua
            .load(&code[header.body..])
            .set_name("@user_function")
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", lua_error_text(&e)))?;
        self.lua.set_app_data(Loading(Vec::new()));
        let outcome = self
            .loading
            .call::<()>(true)
            .and_then(|()| self.run.call::<(bool, Value)>(chunk));
        let _ = self.loading.call::<()>(false);
        let registered = self.lua.remove_app_data::<Loading>();
        match outcome {
            Ok((true, _)) => Ok(registered.map(|r| r.0).unwrap_or_default()),
            Ok((false, error)) => Err(format!(
                "Error registering functions: {}",
                error_message(&error)
            )),
            Err(e) => Err(format!(
                "Error registering functions: ERR {}",
                lua_error_text(&e)
            )),
        }
    }

    /// Calls `function` (a script's chunk, or a function's callback with
    /// `keys` and `argv` as parameters when `as_parameters`), each command
    /// it calls through `call`.
    fn call(
        &mut self,
        running: &Running,
        function: mlua::Function,
        (keys, argv): (&[Bytes], &[Bytes]),
        as_parameters: bool,
        call: &mut dyn FnMut(Vec<Bytes>, Protocol) -> Frame,
    ) -> mlua::Result<(bool, Value)> {
        let (keys, argv) = (self.array(keys)?, self.array(argv)?);
        let parameters = match as_parameters {
            true => (Value::Table(keys), Value::Table(argv)),
            false => {
                self.globals.raw_set("KEYS", keys)?;
                self.globals.raw_set("ARGV", argv)?;
                (Value::Nil, Value::Nil)
            }
        };
        // `call` and `pcall` share the closure that runs commands.
        let call = std::cell::RefCell::new(call);
        let run_command = |args: Variadic<Value>| -> Frame {
            match command_args(args) {
                Ok(args) => match call.try_borrow_mut() {
                    Ok(mut call) => call(args, running.protocol()),
                    Err(_) => Frame::error("ERR redis.call/pcall called from within a command"),
                },
                Err(reply) => reply,
            }
        };
        let outcome = self.lua.scope(|scope| {
            let pcall = scope.create_function(|lua, args: Variadic<Value>| {
                reply_to_lua(lua, &run_command(args), running.protocol())
            })?;
            let raising_call =
                scope.create_function(|lua, args: Variadic<Value>| match run_command(args) {
                    Frame::Error(text) => Err(mlua::Error::external(ErrorReply(
                        String::from_utf8_lossy(&text).into_owned(),
                    ))),
                    reply => reply_to_lua(lua, &reply, running.protocol()),
                })?;
            self.redis.raw_set("pcall", pcall)?;
            self.redis.raw_set("call", raising_call)?;
            let outcome = self
                .run
                .call::<(bool, Value)>((function, parameters.0, parameters.1));
            self.redis.raw_set("pcall", Value::Nil)?;
            self.redis.raw_set("call", Value::Nil)?;
            outcome
        });
        // Lua's incremental collector alone lets garbage pile up between
        // runs; a step every GC_PERIOD runs keeps it level (Redis' rhythm).
        self.runs = self.runs.wrapping_add(1);
        if self.runs.is_multiple_of(GC_PERIOD) {
            let _ = self.lua.gc_step();
        }
        outcome
    }

    fn array(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let table = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            table.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(table)
    }
}

/// `redis.register_function`, at FUNCTION LOAD only.
fn register_function(lua: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
    let raise = |text: &str| mlua::Error::external(ErrorReply(format!("ERR {text}")));
    let Some(mut loading) = lua.app_data_mut::<Loading>() else {
        return Err(raise(
            "redis.register_function can only be called on FUNCTION LOAD command",
        ));
    };
    let Registration(function) = Registration::read(args).map_err(raise)?;
    if !functions::valid_name(&function.name) {
        return Err(raise(functions::BAD_NAME));
    }
    if loading.0.iter().any(|f| f.name == function.name) {
        return Err(raise("Function already exists in the library"));
    }
    loading.0.push(function);
    Ok(())
}

impl Scripting {
    pub fn new(running: Arc<Running>) -> mlua::Result<Scripting> {
        let scripting = Scripting {
            eval: Vm::new(&running)?,
            scripts: HashMap::new(),
            functions: Vm::new(&running)?,
            libraries: Libraries::default(),
            running,
        };
        scripting.note_sizes();
        Ok(scripting)
    }

    /// Compiles `body` unless known (SCRIPT LOAD, EVAL); its SHA-1, or the
    /// error reply for a script that does not compile.
    pub fn load(&mut self, body: &Bytes) -> Result<String, Frame> {
        let sha = sha1hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, shebang) =
            ScriptFlags::parse(body).map_err(|e| Frame::error(format!("ERR {e}")))?;
        let function = self
            .eval
            .lua
            .load(&body[shebang..])
            .set_name("@user_script")
            .into_function()
            .map_err(|e| {
                Frame::error(format!(
                    "ERR Error compiling script (new function): {}",
                    one_line(&lua_error_text(&e))
                ))
            })?;
        self.scripts.insert(sha.clone(), (function, flags));
        self.note_sizes();
        Ok(sha)
    }

    /// What a known script declares (its shebang line).
    pub fn flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(sha).map(|(_, flags)| *flags)
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha)
            .is_ok_and(|sha| self.scripts.contains_key(&sha.to_ascii_lowercase()))
    }

    /// SCRIPT FLUSH: forgets every script and starts a fresh state.
    pub fn flush(&mut self) -> mlua::Result<()> {
        self.eval = Vm::new(&self.running)?;
        self.scripts.clear();
        self.note_sizes();
        Ok(())
    }

    /// The libraries loaded.
    pub fn libraries(&self) -> &Libraries {
        &self.libraries
    }

    /// FUNCTION LOAD: the library's name, or Redis' error (without its
    /// `ERR`). `limited`: its top level may run only `LOAD_TIMEOUT` (not
    /// so for a master's).
    pub fn load_library(
        &mut self,
        code: Bytes,
        replace: bool,
        limited: bool,
    ) -> Result<String, String> {
        // Redis' order: the header, then the name taken, then the code.
        let header = Header::checked(&code)?;
        if !replace && self.libraries.get(&header.name).is_some() {
            return Err(format!("Library '{}' already exists", header.name));
        }
        let library =
            Scripting::compile_library(&self.functions, &self.running, header, code, limited)?;
        let name = library.name.clone();
        self.libraries.add(library, replace)?;
        self.note_sizes();
        Ok(name)
    }

    /// Runs `code` (whose header is `header`) in `vm` to collect its
    /// functions.
    fn compile_library(
        vm: &Vm,
        running: &Running,
        header: Header,
        code: Bytes,
        limited: bool,
    ) -> Result<Library, String> {
        *crate::sync::lock(&running.loading_since) = limited.then(Instant::now);
        let created = vm.create(&header, &code);
        *crate::sync::lock(&running.loading_since) = None;
        let functions = created?;
        if functions.is_empty() {
            return Err("No functions registered".into());
        }
        Ok(Library {
            name: header.name,
            code,
            functions,
        })
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete_library(&mut self, name: &str) -> bool {
        let deleted = self.libraries.remove(name);
        self.note_sizes();
        deleted
    }

    /// FUNCTION FLUSH: every library goes, with the state they lived in.
    pub fn flush_functions(&mut self) -> mlua::Result<()> {
        self.functions = Vm::new(&self.running)?;
        self.libraries = Libraries::default();
        self.note_sizes();
        Ok(())
    }

    /// FUNCTION RESTORE, an RDB's functions, the stored ones at start:
    /// loads every library of `codes`, all or none, without a time limit.
    pub fn restore_libraries(
        &mut self,
        codes: Vec<Bytes>,
        policy: RestorePolicy,
    ) -> Result<(), String> {
        let fresh = match policy {
            RestorePolicy::Flush => Some(Vm::new(&self.running).map_err(|e| e.to_string())?),
            _ => None,
        };
        let vm = fresh.as_ref().unwrap_or(&self.functions);
        let mut restored = Libraries::default();
        for code in codes {
            let header = Header::checked(&code)?;
            let library = Scripting::compile_library(vm, &self.running, header, code, false)?;
            restored.add(library, false)?;
        }
        match fresh {
            Some(vm) => {
                self.functions = vm;
                self.libraries = restored;
            }
            None => self
                .libraries
                .join(restored, policy == RestorePolicy::Replace)?,
        }
        self.note_sizes();
        Ok(())
    }

    /// What a function declares, `None` if there is no such function.
    pub fn function_flags(&self, name: &str) -> Option<ScriptFlags> {
        self.libraries.function(name).map(|f| f.flags)
    }

    fn note_sizes(&self) {
        let running = &self.running;
        let store = |counter: &AtomicU64, n: usize| counter.store(n as u64, Ordering::Relaxed);
        store(&running.cached, self.scripts.len());
        store(&running.lua_bytes, self.eval.lua.used_memory());
        store(
            &running.functions_lua_bytes,
            self.functions.lua.used_memory(),
        );
        store(&running.functions, self.libraries.function_count());
        store(&running.libraries, self.libraries.len());
        store(&running.libraries_bytes, self.libraries.bytes());
    }

    /// Runs `target` with `keys` and `argv`, each command it calls through
    /// `call`; its reply. `client` and `now_ms` mark it as running for BUSY,
    /// SCRIPT KILL and FUNCTION KILL.
    pub fn run(
        &mut self,
        target: Target,
        keys: &[Bytes],
        argv: &[Bytes],
        client: u64,
        now_ms: u64,
        call: &mut dyn FnMut(Vec<Bytes>, Protocol) -> Frame,
    ) -> Frame {
        let (function, name, stats) = match target {
            Target::Script(sha) => match self.scripts.get(sha) {
                Some((function, _)) => (function.clone(), sha.to_string(), None),
                None => return Frame::error("NOSCRIPT No matching script. Please use EVAL."),
            },
            Target::Function { name, command } => match self.libraries.function(name) {
                Some(f) => (
                    f.callback.clone(),
                    f.name.clone(),
                    Some((f.name.clone(), command.to_vec())),
                ),
                None => return Frame::error("ERR Function not found"),
            },
        };
        // A function gets its keys and arguments as parameters.
        let is_function = stats.is_some();
        self.running.start(client, now_ms, stats);
        let vm = match is_function {
            true => &mut self.functions,
            false => &mut self.eval,
        };
        let outcome = vm.call(&self.running, function, (keys, argv), is_function, call);
        self.finish(outcome, &name)
    }

    /// A run's reply, `name` (a script's SHA-1, a function's name) in its
    /// errors.
    fn finish(&mut self, outcome: mlua::Result<(bool, Value)>, name: &str) -> Frame {
        let killed = self.running.kill.load(Ordering::Acquire);
        self.running.stop();
        if self
            .eval
            .runs
            .wrapping_add(self.functions.runs)
            .is_multiple_of(GC_PERIOD)
        {
            self.note_sizes();
        }
        match outcome {
            Ok((true, value)) => lua_to_reply(&value, 0, self.running.protocol()),
            // Where it was, as Redis says it, whatever the error said.
            Ok((false, error)) if killed => script_error(
                "ERR Script killed by user with SCRIPT KILL...".into(),
                &error,
                name,
            ),
            Err(_) if killed => Frame::error("ERR Script killed by user with SCRIPT KILL..."),
            Ok((false, error)) => script_error(error_message(&error), &error, name),
            Err(e) => Frame::error(format!(
                "ERR Error running script {name}: {}",
                one_line(&lua_error_text(&e))
            )),
        }
    }
}

/// The `err` of an error table, else Redis' words for an error without one.
fn error_message(error: &Value) -> String {
    match error {
        Value::Table(table) => match table.raw_get::<Value>("err") {
            Ok(Value::String(text)) => text.to_string_lossy(),
            _ => "ERR execution failure".to_string(),
        },
        _ => "ERR execution failure".to_string(),
    }
}

/// An error reply raised by `redis.call`, carried through Lua as an mlua
/// error and turned back into `{err = ...}` by the error handler.
#[derive(Debug)]
struct ErrorReply(String);

impl std::fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ErrorReply {}

/// The `err` text of a Lua error that Rust raised: a command's error reply
/// as it was; a library's error (cjson, bit) after `ERR` and the script's
/// place, as `luaL_error` words it in Redis.
fn error_reply_text(lua: &Lua, error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } => error_reply_text(lua, cause),
        mlua::Error::ExternalError(external) => match external.downcast_ref::<ErrorReply>() {
            Some(ErrorReply(text)) => text.clone(),
            None => format!("ERR {external}"),
        },
        other => {
            let place = match script_place(lua) {
                (Some(source), Some(line)) => {
                    format!("{}:{line}: ", source.strip_prefix('@').unwrap_or(&source))
                }
                _ => String::new(),
            };
            format!("ERR {place}{}", lua_error_text(other))
        }
    }
}

/// The source and line of the innermost frame running Lua code of a
/// script (`prelude.lua`'s error handler), skipping C functions and the
/// prelude's own wrappers such as `redis.call`.
fn script_place(lua: &Lua) -> (Option<String>, Option<usize>) {
    for level in 1..64 {
        let found = lua.inspect_stack(level, |frame| {
            let source = frame.source();
            let ours = source.what == "C" || source.source.as_deref() == Some("@redstone");
            (!ours).then(|| {
                let name = source.source.as_deref().unwrap_or("?").to_string();
                (name, frame.current_line())
            })
        });
        match found {
            None => break,
            Some(None) => continue,
            Some(Some((source, line))) => return (Some(source), line),
        }
    }
    (None, None)
}

/// redis.call's arguments: strings, or numbers.
fn command_args(args: Variadic<Value>) -> Result<Vec<Bytes>, Frame> {
    if args.is_empty() {
        return Err(Frame::error(
            "ERR Please specify at least one argument for this redis lib call",
        ));
    }
    // Numbers as `%.17g`, as Redis 7.0 (Lua's own `%.14g` loses digits).
    args.into_iter()
        .map(|arg| match arg {
            Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(n) => Some(Bytes::from(crate::resp::format_double(n as f64))),
            Value::Number(n) => Some(Bytes::from(crate::resp::format_double(n))),
            _ => None,
        })
        .collect::<Option<Vec<Bytes>>>()
        .ok_or_else(|| {
            Frame::error("ERR Lua redis lib command arguments must be strings or integers")
        })
}

/// A command's reply as a script sees it, as Redis 7.0 converts it:
/// status and error replies become `{ok=...}` and `{err=...}` tables,
/// aggregates arrays; a null is `false` under RESP2 and `nil` under RESP3
/// (`redis.setresp(3)`), which also gives `{map={...}}`, `{set={m=true}}`,
/// `{double=n}`, `{big_number=s}`, `{verbatim_string={format=, string=}}`
/// and booleans.
pub fn reply_to_lua(lua: &Lua, reply: &Frame, protocol: Protocol) -> mlua::Result<Value> {
    let resp3 = protocol == Protocol::Resp3;
    let string = |bytes: &[u8]| lua.create_string(bytes).map(Value::String);
    let one_field = |name: &str, value: Value| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        table.raw_set(name, value)?;
        Ok(Value::Table(table))
    };
    let array = |items: &mut dyn Iterator<Item = &Frame>| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        for (i, item) in items.enumerate() {
            table.raw_set(i + 1, reply_to_lua(lua, item, protocol)?)?;
        }
        Ok(Value::Table(table))
    };
    match reply {
        Frame::Simple(text) => one_field("ok", string(text)?),
        Frame::Error(text) => one_field("err", string(text)?),
        Frame::Integer(n) => Ok(Value::Number(*n as f64)),
        Frame::Bulk(bytes) => string(bytes),
        Frame::Null | Frame::NullArray if resp3 => Ok(Value::Nil),
        Frame::Null | Frame::NullArray => Ok(Value::Boolean(false)),
        Frame::Boolean(b) if resp3 => Ok(Value::Boolean(*b)),
        Frame::Boolean(b) => Ok(Value::Number(f64::from(u8::from(*b)))),
        Frame::Double(d) if resp3 => one_field("double", Value::Number(*d)),
        Frame::Double(d) => string(crate::resp::format_double(*d).as_bytes()),
        Frame::BigNumber(digits) if resp3 => one_field("big_number", string(digits)?),
        Frame::BigNumber(digits) => string(digits),
        Frame::Verbatim { format, text } if resp3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            one_field("verbatim_string", Value::Table(inner))
        }
        Frame::Verbatim { text, .. } => string(text),
        Frame::Map(pairs) if resp3 => {
            let inner = lua.create_table()?;
            for (key, value) in pairs {
                inner.raw_set(
                    reply_to_lua(lua, key, protocol)?,
                    reply_to_lua(lua, value, protocol)?,
                )?;
            }
            one_field("map", Value::Table(inner))
        }
        Frame::Set(members) if resp3 => {
            let inner = lua.create_table()?;
            for member in members {
                inner.raw_set(reply_to_lua(lua, member, protocol)?, true)?;
            }
            one_field("set", Value::Table(inner))
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => array(&mut items.iter()),
        Frame::Map(pairs) => array(&mut pairs.iter().flat_map(|(k, v)| [k, v])),
    }
}

/// A script's return value as a reply (Redis 7.0's conversion): numbers
/// are truncated to integers; `true` is 1 and `false` null under RESP2,
/// booleans under RESP3; `nil` is null; a table is an error (`err`), a
/// status (`ok`), a double, big number, map, set or verbatim string (as
/// [`reply_to_lua`] makes them), else an array up to its first nil.
pub fn lua_to_reply(value: &Value, depth: usize, protocol: Protocol) -> Frame {
    match value {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) if protocol == Protocol::Resp3 => Frame::Boolean(*b),
        Value::Boolean(true) => Frame::Integer(1),
        Value::Integer(n) => Frame::Integer(*n),
        Value::Number(n) => Frame::Integer(*n as i64),
        Value::Table(_) if depth >= MAX_REPLY_DEPTH => Frame::error("ERR reached lua stack limit"),
        Value::Table(table) => table_to_reply(table, depth, protocol),
        _ => Frame::Null,
    }
}

fn table_to_reply(table: &Table, depth: usize, protocol: Protocol) -> Frame {
    let field = |name: &str| table.raw_get::<Value>(name).unwrap_or(Value::Nil);
    let bytes = |s: &mlua::LuaString| Bytes::copy_from_slice(&s.as_bytes());
    if let Value::String(err) = field("err") {
        return Frame::Error(Bytes::from(one_line(&err.to_string_lossy())));
    }
    if let Value::String(ok) = field("ok") {
        return Frame::Simple(Bytes::from(one_line(&ok.to_string_lossy())));
    }
    match field("double") {
        Value::Number(d) => return Frame::Double(d),
        Value::Integer(n) => return Frame::Double(n as f64),
        _ => {}
    }
    if let Value::String(digits) = field("big_number") {
        return Frame::BigNumber(bytes(&digits));
    }
    if let Value::Table(map) = field("map") {
        let pairs = map
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| {
                (
                    lua_to_reply(&k, depth + 1, protocol),
                    lua_to_reply(&v, depth + 1, protocol),
                )
            })
            .collect();
        return Frame::Map(pairs);
    }
    if let Value::Table(set) = field("set") {
        let members = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(member, _)| lua_to_reply(&member, depth + 1, protocol))
            .collect();
        return Frame::Set(members);
    }
    if let Value::Table(verbatim) = field("verbatim_string") {
        let format = verbatim.raw_get::<Value>("format").unwrap_or(Value::Nil);
        let text = verbatim.raw_get::<Value>("string").unwrap_or(Value::Nil);
        if let (Value::String(format), Value::String(text)) = (format, text) {
            if let Ok(format) = <[u8; 3]>::try_from(&*format.as_bytes()) {
                return Frame::Verbatim {
                    format,
                    text: bytes(&text),
                };
            }
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(item) => items.push(lua_to_reply(&item, depth + 1, protocol)),
        }
    }
    Frame::Array(items)
}

/// The reply for a script that raised `error` (a table from
/// `prelude.lua`'s handler): `message` (usually the error's), then where,
/// as Redis 7.0 says it: `ERR ... script: <sha>, on @user_script:<line>.`
fn script_error(message: String, error: &Value, sha: &str) -> Frame {
    let Value::Table(table) = error else {
        return Frame::error(format!("ERR Error running script {sha}, execution failure"));
    };
    let place = match (
        table.raw_get::<Option<String>>("source"),
        table.raw_get::<Option<i64>>("line"),
    ) {
        (Ok(Some(source)), Ok(Some(line))) => format!(" script: {sha}, on {source}:{line}."),
        _ => String::new(),
    };
    Frame::Error(Bytes::from(one_line(&format!("{message}{place}"))))
}

/// mlua's text for a Lua error, without the traceback it adds to errors
/// raised in callbacks.
fn lua_error_text(error: &mlua::Error) -> String {
    match error {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(message) => message.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        other => other.to_string(),
    }
}

/// Error and status lines cannot hold CR or LF.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests;
