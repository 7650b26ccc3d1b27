//! FUNCTION LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL and HELP
//! (Redis 7.0). FCALL is with EVAL in `scripting.rs`; the libraries and
//! their Lua state are `crate::script`'s.
//!
//! The libraries are server state, not keys: a change is committed with
//! the pipeline's transaction as the sys row of every library's code
//! (`Txn::set_functions`), which counts as a change, so the command is
//! propagated to replicas as it was sent, as in Redis. FLUSHALL leaves
//! them. In cluster mode they are per node: no slot is involved.

use super::args::{err, is, CmdResult};
use super::{Command, Ctx, Shared};
use crate::keyspace::Txn;
use crate::resp::Frame;
use crate::script::{functions::ENGINE, RestorePolicy, Scripting};
use crate::sync::lock;
use bytes::Bytes;
use std::sync::MutexGuard;

pub static COMMANDS: &[Command] = &[Command::container(
    "function",
    "scripting",
    "A container for function commands",
    FUNCTION,
)];

static FUNCTION: &[Command] = &[
    Command::new(
        "load",
        -3,
        &["write", "denyoom", "noscript"],
        (0, 0, 0),
        "scripting",
        "Create a function with the given arguments (name, code, description)",
        load,
    )
    .with_tips(ALL_SHARDS),
    Command::new(
        "list",
        -2,
        &["noscript"],
        (0, 0, 0),
        "scripting",
        "List information about all the functions",
        list,
    )
    .with_tips(&["nondeterministic_output_order"]),
    Command::new(
        "delete",
        3,
        &["write", "noscript"],
        (0, 0, 0),
        "scripting",
        "Delete a function by name",
        delete,
    )
    .with_tips(ALL_SHARDS),
    Command::new(
        "flush",
        -2,
        &["write", "noscript"],
        (0, 0, 0),
        "scripting",
        "Deleting all functions",
        flush,
    )
    .with_tips(ALL_SHARDS),
    Command::new(
        "dump",
        2,
        &["noscript"],
        (0, 0, 0),
        "scripting",
        "Dump all functions into a serialized binary payload",
        dump,
    ),
    Command::new(
        "restore",
        -3,
        &["write", "denyoom", "noscript"],
        (0, 0, 0),
        "scripting",
        "Restore all the functions on the given payload",
        restore,
    )
    .with_tips(ALL_SHARDS),
    Command::new(
        "stats",
        2,
        &["noscript", "allow_busy"],
        (0, 0, 0),
        "scripting",
        "Return information about the function currently running (name, description, duration)",
        stats,
    )
    .with_tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ]),
    Command::new(
        "kill",
        2,
        &["noscript", "allow_busy"],
        (0, 0, 0),
        "scripting",
        "Kill the function currently in execution.",
        kill,
    )
    .with_tips(&["request_policy:all_shards", "response_policy:one_succeeded"]),
    Command::help("scripting", help),
];

const ALL_SHARDS: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];

/// The functions, locked after the write lock (always in this order, as
/// a script run takes them), for a subcommand that changes them.
fn for_change<'s>(ctx: &mut Ctx<'_, 's>) -> MutexGuard<'s, Scripting> {
    let shared = ctx.shared;
    ctx.txn
        .get_or_insert_with(|| shared.store.begin(ctx.now_ms));
    lock(&shared.scripting)
}

/// Stores the libraries as they are now, with the pipeline's transaction.
fn persist(ctx: &mut Ctx, scripting: &Scripting) -> Result<(), Frame> {
    let codes = scripting.libraries().codes();
    ctx.write(|txn, _| {
        txn.set_functions(&codes);
        Ok(())
    })
}

/// A replica's full sync: the libraries become the master's (`codes`),
/// stored with `txn`, the commit that switches to the master's data.
pub fn adopt(shared: &Shared, txn: &mut Txn, codes: Vec<Bytes>) -> Result<(), String> {
    // The write lock (the transaction's) before the scripting lock.
    let mut scripting = lock(&shared.scripting);
    scripting.restore_libraries(codes, RestorePolicy::Flush)?;
    txn.set_functions(&scripting.libraries().codes());
    Ok(())
}

/// FUNCTION LOAD [REPLACE] code.
fn load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let code = &args[args.len() - 1];
    for option in &args[2..args.len() - 1] {
        if !is(option, "replace") {
            return Err(err(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(option)
            )));
        }
        replace = true;
    }
    // A master's libraries load whatever time they take, as in Redis.
    let limited = !ctx.client.is_master;
    let mut scripting = for_change(ctx);
    let name = scripting
        .load_library(code.clone(), replace, limited)
        .map_err(|e| err(format!("ERR {e}")))?;
    persist(ctx, &scripting)?;
    Ok(Frame::bulk(name))
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE], each option once; the
/// pattern matches library names without regard to case, as in Redis.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut with_code, mut pattern) = (false, None);
    let mut rest = args[2..].iter();
    while let Some(arg) = rest.next() {
        if !with_code && is(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "libraryname") {
            let given = rest
                .next()
                .ok_or_else(|| err("ERR library name argument was not given"))?;
            pattern = Some(given);
        } else {
            return Err(err(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
    }
    let scripting = lock(&ctx.shared.scripting);
    let libraries = scripting
        .libraries()
        .iter()
        .filter(|library| {
            pattern.is_none_or(|p| crate::glob::glob_match(p, library.name.as_bytes(), true))
        })
        .map(|library| {
            let functions = library
                .functions
                .iter()
                .map(|function| {
                    pairs(vec![
                        ("name", Frame::bulk(function.name.clone())),
                        (
                            "description",
                            function
                                .description
                                .clone()
                                .map_or(Frame::Null, Frame::Bulk),
                        ),
                        (
                            "flags",
                            Frame::Set(
                                function
                                    .flags
                                    .names()
                                    .into_iter()
                                    .map(Frame::simple)
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut fields = vec![
                ("library_name", Frame::bulk(library.name.clone())),
                ("engine", Frame::bulk(ENGINE)),
                ("functions", Frame::Array(functions)),
            ];
            if with_code {
                fields.push(("library_code", Frame::Bulk(library.code.clone())));
            }
            pairs(fields)
        })
        .collect();
    Ok(Frame::Array(libraries))
}

fn pairs(fields: Vec<(&'static str, Frame)>) -> Frame {
    Frame::Map(
        fields
            .into_iter()
            .map(|(name, value)| (Frame::bulk(name), value))
            .collect(),
    )
}

/// FUNCTION DELETE library.
fn delete(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut scripting = for_change(ctx);
    if !scripting.delete_library(&String::from_utf8_lossy(&args[2])) {
        return Err(err("ERR Library not found"));
    }
    persist(ctx, &scripting)?;
    Ok(Frame::ok())
}

/// FUNCTION FLUSH [ASYNC|SYNC]: both free at once here.
fn flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(super::args::subcommand_syntax_error(args));
    }
    if args
        .get(2)
        .is_some_and(|mode| !is(mode, "sync") && !is(mode, "async"))
    {
        return Err(err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    let mut scripting = for_change(ctx);
    scripting
        .flush_functions()
        .map_err(|e| err(format!("ERR cannot start a new Lua state: {e}")))?;
    persist(ctx, &scripting)?;
    Ok(Frame::ok())
}

/// FUNCTION DUMP: every library, in Redis' payload format.
fn dump(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let codes = lock(&ctx.shared.scripting).libraries().codes();
    Ok(Frame::Bulk(Bytes::from(crate::rdb::functions::dump(
        &codes,
    ))))
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: all the payload's
/// libraries or none.
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(super::args::subcommand_syntax_error(args));
    }
    let policy =
        match args.get(3) {
            None => RestorePolicy::Append,
            Some(policy) if is(policy, "append") => RestorePolicy::Append,
            Some(policy) if is(policy, "replace") => RestorePolicy::Replace,
            Some(policy) if is(policy, "flush") => RestorePolicy::Flush,
            Some(_) => return Err(err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let codes = crate::rdb::functions::restore(&args[2])
        .map_err(|e| err(format!("ERR {}", e.message())))?;
    let mut scripting = for_change(ctx);
    scripting
        .restore_libraries(codes, policy)
        .map_err(|e| err(format!("ERR {e}")))?;
    persist(ctx, &scripting)?;
    Ok(Frame::ok())
}

/// FUNCTION STATS: the function running now, if one is, and the counts.
/// It answers while a function runs (from `Running`, outside the lock the
/// function holds), but not while a script does, as in Redis.
fn stats(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let running = &ctx.shared.script_running;
    let function = running.running_function(ctx.now_ms);
    if function.is_none() && running.busy_for(0, ctx.now_ms, || 0) {
        return Err(err(super::scripting::busy_message(false)));
    }
    let running_script = match function {
        None => Frame::Null,
        Some(function) => pairs(vec![
            ("name", Frame::bulk(function.name)),
            (
                "command",
                Frame::Array(function.command.into_iter().map(Frame::Bulk).collect()),
            ),
            ("duration_ms", Frame::Integer(function.duration_ms as i64)),
        ]),
    };
    let (functions, libraries) = running.function_counts();
    let engine = pairs(vec![
        ("libraries_count", Frame::Integer(libraries as i64)),
        ("functions_count", Frame::Integer(functions as i64)),
    ]);
    Ok(pairs(vec![
        ("running_script", running_script),
        ("engines", pairs(vec![(ENGINE, engine)])),
    ]))
}

fn kill(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    super::scripting::kill(ctx, true)
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    ))
}
