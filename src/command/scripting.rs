//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL and FCALL_RO (Redis
//! 7.0). A function (FCALL) runs exactly as a script with a shebang does;
//! FUNCTION LOAD and the other subcommands are in `functions.rs`.
//!
//! A script runs like EXEC: in the connection's write transaction, which
//! holds the store's write lock for the whole run, so no other write comes
//! in between and readers see all of it or none. Each `redis.call` runs
//! one command through [`super::execute`] in that transaction, so the
//! script's effects reach the change feed (replicas, AOF-less durability)
//! as the commands it ran, wrapped in MULTI/EXEC, never as the script.
//!
//! The Lua side (state, sandbox, conversions) is `crate::script`. A script
//! that runs long hands its worker thread's other tasks to another thread
//! ([`super::context::hand_off_worker`]).

use super::args::{err, CmdResult};
use super::{cluster, Command, Ctx};
use crate::resp::Frame;
use crate::script::{self, KillRefused};
use crate::sync::lock;
use bytes::Bytes;

const EVAL_FLAGS: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "may_replicate",
    "no_mandatory_keys",
    "movablekeys",
];
const EVAL_RO_FLAGS: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "readonly",
    "movablekeys",
];

pub static COMMANDS: &[Command] = &[
    Command::new(
        "eval",
        -3,
        EVAL_FLAGS,
        (0, 0, 0),
        "scripting",
        "Execute a Lua script server side",
        eval,
    )
    .with_numkeys(2),
    Command::new(
        "evalsha",
        -3,
        EVAL_FLAGS,
        (0, 0, 0),
        "scripting",
        "Execute a Lua script server side",
        evalsha,
    )
    .with_numkeys(2),
    Command::new(
        "eval_ro",
        -3,
        EVAL_RO_FLAGS,
        (0, 0, 0),
        "scripting",
        "Execute a read-only Lua script server side",
        eval_ro,
    )
    .with_numkeys(2),
    Command::new(
        "evalsha_ro",
        -3,
        EVAL_RO_FLAGS,
        (0, 0, 0),
        "scripting",
        "Execute a read-only Lua script server side",
        evalsha_ro,
    )
    .with_numkeys(2),
    Command::new(
        "fcall",
        -3,
        EVAL_FLAGS,
        (0, 0, 0),
        "scripting",
        "Invoke a function",
        fcall,
    )
    .with_numkeys(2),
    Command::new(
        "fcall_ro",
        -3,
        EVAL_RO_FLAGS,
        (0, 0, 0),
        "scripting",
        "Invoke a read-only function",
        fcall_ro,
    )
    .with_numkeys(2),
    Command::container(
        "script",
        "scripting",
        "A container for Lua scripts management commands.",
        SCRIPT,
    ),
];

static SCRIPT: &[Command] = &[
    Command::new(
        "load",
        3,
        &["noscript", "stale"],
        (0, 0, 0),
        "scripting",
        "Load a script into the scripts cache, without executing it",
        script_load,
    ),
    Command::new(
        "exists",
        -3,
        &["noscript"],
        (0, 0, 0),
        "scripting",
        "Check existence of scripts in the script cache.",
        script_exists,
    ),
    Command::new(
        "flush",
        -2,
        &["noscript"],
        (0, 0, 0),
        "scripting",
        "Removes all server-side Lua scripts from the script cache.",
        script_flush,
    ),
    Command::new(
        "kill",
        2,
        &["noscript", "allow_busy"],
        (0, 0, 0),
        "scripting",
        "Kill the script currently in execution.",
        script_kill,
    ),
    Command::help("scripting", script_help),
];

/// Whether `name` runs a script: the batch takes the write lock for it
/// first, waiting for it without blocking its thread (`Session`).
pub fn runs_script(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// What runs: a script given whole or by SHA-1, or a function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Script,
    ScriptBySha,
    Function,
}

/// What runs, and whether it may write (the `_RO` variants may not).
#[derive(Clone, Copy)]
struct Invocation {
    target: Target,
    read_only: bool,
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::Script,
            read_only: false,
        },
    )
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::ScriptBySha,
            read_only: false,
        },
    )
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::Script,
            read_only: true,
        },
    )
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::ScriptBySha,
            read_only: true,
        },
    )
}

fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::Function,
            read_only: false,
        },
    )
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    run(
        ctx,
        args,
        Invocation {
            target: Target::Function,
            read_only: true,
        },
    )
}

/// `script numkeys key... arg...`: the keys and the arguments. A numkeys
/// that is no integer is `not_integer` (EVAL's and FCALL's words differ).
fn split_keys<'a>(
    args: &'a [Bytes],
    not_integer: &str,
) -> Result<(&'a [Bytes], &'a [Bytes]), Frame> {
    let numkeys = crate::sds::string2ll(&args[2]).ok_or_else(|| err(not_integer))?;
    let rest = &args[3..];
    let numkeys =
        usize::try_from(numkeys).map_err(|_| err("ERR Number of keys can't be negative"))?;
    if numkeys > rest.len() {
        return Err(err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(numkeys))
}

fn run(ctx: &mut Ctx, args: &[Bytes], invocation: Invocation) -> CmdResult {
    let shared = ctx.shared;
    // The write lock before the script lock, always in this order. Earlier
    // writes of the batch stay in the transaction: the script reads them
    // there.
    ctx.txn
        .get_or_insert_with(|| shared.store.begin(ctx.now_ms));
    let mut scripting = lock(&shared.scripting);
    // Redis looks a function up before its numkeys, a script after.
    let (name, flags, (keys, argv)) = match invocation.target {
        Target::Function => {
            let name = String::from_utf8_lossy(&args[1]).into_owned();
            let flags = scripting
                .function_flags(&name)
                .ok_or_else(|| err("ERR Function not found"))?;
            (
                name,
                flags,
                split_keys(args, "ERR Bad number of keys provided")?,
            )
        }
        target => {
            let keys = split_keys(args, "ERR value is not an integer or out of range")?;
            let sha = match target {
                Target::ScriptBySha => String::from_utf8_lossy(&args[1]).to_ascii_lowercase(),
                _ => scripting.load(&args[1])?,
            };
            let Some(flags) = scripting.flags(&sha) else {
                return Err(err("NOSCRIPT No matching script. Please use EVAL."));
            };
            (sha, flags, keys)
        }
    };
    if flags.no_cluster && shared.cluster.is_some() {
        return Err(err(
            "ERR Can not run script on cluster, 'no-cluster' flag is set.",
        ));
    }
    // A replica serving no stale data runs only scripts that allow it.
    if super::replication::stale(shared) {
        if flags.compat {
            return Err(err(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
        if !flags.allow_stale {
            return Err(err("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."));
        }
    }
    if invocation.read_only && !flags.compat && !flags.no_writes {
        return Err(err(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    // A script that declares it may write is refused up front where writes
    // are (a read-only replica, too few good replicas), as in Redis 7.0.
    if !flags.compat && !flags.no_writes && !invocation.read_only && !ctx.client.is_master {
        super::replication::admit_write(ctx)?;
    }
    let limits = Limits {
        read_only: invocation.read_only || flags.read_only(),
        one_slot: flags.one_slot(),
    };
    let (db, current, protocol) = (ctx.client.db, ctx.client.current, ctx.client.protocol);
    let nested = ctx.client.in_exec;
    ctx.client.in_exec = true;
    if !nested {
        if let Some(txn) = ctx.txn.as_mut() {
            txn.begin_atomic();
        }
    }
    let mut slot = keys.first().map(|key| crate::slot::key_slot(key));
    let (client, now_ms) = (ctx.client.id(), ctx.now_ms);
    let mut call = |command, protocol| {
        ctx.client.protocol = protocol;
        call(ctx, command, limits, &mut slot)
    };
    let target = match invocation.target {
        Target::Function => script::Target::Function {
            name: &name,
            command: args,
        },
        _ => script::Target::Script(&name),
    };
    let reply = scripting.run(target, keys, argv, client, now_ms, &mut call);
    if !nested {
        if let Some(txn) = ctx.txn.as_mut() {
            txn.end_atomic();
        }
    }
    ctx.client.in_exec = nested;
    ctx.client.protocol = protocol;
    ctx.client.current = current;
    // SELECT inside a script holds for the script only.
    ctx.client.db = db;
    Ok(reply)
}

/// What a script may do beyond what any command may.
#[derive(Clone, Copy)]
struct Limits {
    /// EVAL_RO, or a `no-writes` shebang.
    read_only: bool,
    /// In cluster mode its keys share one slot: scripts with a shebang
    /// unless `allow-cross-slot-keys` (Redis 7.0 lets a script without one
    /// touch any key served here).
    one_slot: bool,
}

/// One `redis.call` / `redis.pcall`: the checks Redis makes of a command
/// called from a script, then the command, in the script's transaction.
/// `slot` is the slot the script's keys keep to in cluster mode (that of
/// its declared keys, else of the first key it touches).
fn call(ctx: &mut Ctx, args: Vec<Bytes>, limits: Limits, slot: &mut Option<u16>) -> Frame {
    let Ok(resolved) = super::resolve_name(&args) else {
        return err("ERR Unknown Redis command called from script");
    };
    let command = resolved.command;
    if !command.arity_ok(args.len()) {
        return err("ERR Wrong number of args calling Redis command from script");
    }
    if command.has_flag("noscript") {
        return err("ERR This Redis command is not allowed from script");
    }
    if !command.has_flag("stale") && super::replication::stale(ctx.shared) {
        return err("ERR Can not execute the command on a stale replica");
    }
    let writes = command.has_flag("write");
    if writes && limits.read_only {
        return err("ERR Write commands are not allowed from read-only scripts.");
    }
    if ctx.shared.cluster.is_some() {
        if let Err(refusal) = check_cluster(ctx, resolved, &args, limits.one_slot, slot) {
            return refusal;
        }
    }
    let reply = super::execute(ctx, &args);
    if writes && !matches!(reply, Frame::Error(_)) {
        ctx.shared.script_running.note_write();
    }
    reply
}

/// In cluster mode a script touches keys served here, of one slot if it
/// must.
fn check_cluster(
    ctx: &mut Ctx,
    resolved: super::Resolved,
    args: &[Bytes],
    one_slot: bool,
    slot: &mut Option<u16>,
) -> Result<(), Frame> {
    for position in resolved.command.keys_in(args) {
        let key_slot = crate::slot::key_slot(&args[position]);
        match *slot {
            Some(first) if one_slot && first != key_slot => {
                return Err(err(
                    "ERR Script attempted to access keys that do not hash to the same slot",
                ));
            }
            None => *slot = Some(key_slot),
            Some(_) => {}
        }
    }
    // Key by key: a script without a shebang may touch keys of several
    // slots, as long as this node serves each.
    for position in resolved.command.keys_in(args) {
        cluster::route_keys(ctx, resolved.command, &[&args[position]]).map_err(|refusal| {
            match refusal {
                Frame::Error(text) if text.starts_with(b"CLUSTERDOWN") => {
                    err("ERR Script attempted to execute a command while the cluster is down")
                }
                _ => err("ERR Script attempted to access a non local key in a cluster node script"),
            }
        })?;
    }
    Ok(())
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sha = lock(&ctx.shared.scripting).load(&args[2])?;
    Ok(Frame::bulk(sha))
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let scripting = lock(&ctx.shared.scripting);
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|sha| Frame::Integer(i64::from(scripting.exists(sha))))
            .collect(),
    ))
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.get(2) {
        None => {}
        Some(mode)
            if args.len() == 3
                && (mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async")) => {}
        Some(_) => return Err(err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")),
    }
    lock(&ctx.shared.scripting)
        .flush()
        .map_err(|e| err(format!("ERR cannot start a new Lua state: {e}")))?;
    Ok(Frame::ok())
}

fn script_kill(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    kill(ctx, false)
}

/// SCRIPT KILL (`function` false) and FUNCTION KILL: each kills its own
/// kind only.
pub(super) fn kill(ctx: &mut Ctx, function: bool) -> CmdResult {
    match ctx.shared.script_running.kill(function) {
        Ok(()) => Ok(Frame::ok()),
        Err(KillRefused::NotBusy) => Err(err("NOTBUSY No scripts in execution right now.")),
        Err(KillRefused::Unkillable) => Err(err(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        )),
        Err(KillRefused::OtherKind) => Err(err(busy_message(!function))),
    }
}

/// The BUSY reply while a script (`function` false) or a function runs.
pub(super) fn busy_message(function: bool) -> &'static str {
    match function {
        true => "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
        false => "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    }
}

fn script_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    ))
}
