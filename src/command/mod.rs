//! Commands: one table drives dispatch, arity checks, authentication rules
//! and the replies of `COMMAND`. Each family lives in its own file and
//! exports its slice of the table.
//!
//! Invariant: a handler never panics on client input; every failure is an
//! error reply with Redis' wording.

pub mod args;
pub mod bitfield;
pub mod bitmaps;
pub mod blocked;
pub mod blocking;
mod client_list;
pub mod cluster;
pub mod command_stats;
pub mod commit;
pub mod connection;
pub mod context;
pub mod dump;
pub mod full_sync;
pub mod functions;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod lcs;
pub mod lists;
mod lists_blocking;
mod long_double;
mod member_scan;
pub mod memory;
pub mod migrate;
mod migrate_job;
pub mod multi;
pub mod notify;
pub mod pause;
pub mod pausing;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod slot_migration;
pub mod slot_tap;
pub mod sort;
mod stream_groups;
mod stream_id;
mod stream_info;
mod stream_read;
mod stream_value;
pub mod streams;
pub mod strings;
pub mod transactions;
mod zset_algebra;
mod zset_ranges;
mod zset_value;
pub mod zsets;
mod zsets_blocking;

use crate::keyspace::{Store, Txn};
use crate::resp::Frame;
use args::{err, CmdResult};
use bytes::Bytes;
pub use context::{Client, Shared};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a handler gets: the shared server state, its connection, the time,
/// and the write transaction the commands of one pipeline share.
///
/// Consecutive commands of a pipeline write into one [`Txn`] that the
/// connection commits once, after the batch (or earlier, see
/// [`Ctx::commit_pending`]): one lock acquisition and one engine batch for
/// many commands. Each command stays atomic: a failing one is rolled back to
/// its savepoint. Nobody can observe the difference, because replies are sent
/// only after the commit.
pub struct Ctx<'c, 's> {
    pub shared: &'s Shared,
    pub client: &'c mut Client,
    pub now_ms: u64,
    pub txn: &'c mut Option<Txn<'s>>,
    /// What the command running now did, for its effect ([`execute`]).
    tally: Tally,
}

/// Whether the command running now (with the commands it ran, for EXEC)
/// changed data, and whether it recorded its effects itself.
#[derive(Clone, Copy, Default)]
struct Tally {
    changed: bool,
    propagated: bool,
}

impl<'c, 's> Ctx<'c, 's> {
    pub fn new(
        shared: &'s Shared,
        client: &'c mut Client,
        now_ms: u64,
        txn: &'c mut Option<Txn<'s>>,
    ) -> Ctx<'c, 's> {
        Ctx {
            shared,
            client,
            now_ms,
            txn,
            tally: Tally::default(),
        }
    }
}

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// One row of the command table, with the fields `COMMAND INFO` reports.
pub struct Command {
    /// Lowercase name; for a subcommand, its own word (`get` of `config get`).
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum count if negative
    /// (the command name counts).
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// First key, last key (negative counts from the end), step.
    pub keys: (i32, i32, i32),
    /// The `COMMAND DOCS` group: "string", "generic", "connection", "server".
    pub group: &'static str,
    pub summary: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [Command],
    /// For commands whose keys are counted by an argument (SINTERCARD
    /// numkeys key ...): the position of that count, the keys following it.
    /// Such commands have `keys` (0, 0, 0) and the `movablekeys` flag, like
    /// Redis; 0 means the keys are the `keys` range.
    pub numkeys: usize,
    /// Redis 7 key specifications for `COMMAND INFO`, when the ones derived
    /// from `keys`/`numkeys` are not Redis' (flags, several specs).
    pub key_specs: &'static [KeySpec],
    /// `COMMAND INFO` tips (e.g. `nondeterministic_output`).
    pub tips: &'static [&'static str],
    /// For `movablekeys` commands whose keys follow their own syntax (SORT
    /// ... STORE dst, Redis' `getkeys_proc`): the key positions of a request.
    pub key_finder: Option<KeyFinder>,
}

/// Finds the key positions of one request (the command name is 0).
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

/// One Redis 7 key specification: the flags, where the search begins (an
/// argument index) and how the keys are found from there.
pub struct KeySpec {
    pub flags: &'static [&'static str],
    pub index: i32,
    pub find: FindKeys,
    /// Redis' `notes` for the spec ("" for none).
    pub notes: &'static str,
}

impl KeySpec {
    /// A spec whose keys run from argument `index` to `lastkey` (0: just
    /// that one; negative: counted from the end), one after the other.
    pub const fn range(flags: &'static [&'static str], index: i32, lastkey: i32) -> KeySpec {
        KeySpec {
            flags,
            index,
            find: FindKeys::Range {
                lastkey,
                step: 1,
                limit: 0,
            },
            notes: "",
        }
    }

    /// The same spec with Redis' notes.
    pub const fn with_notes(self, notes: &'static str) -> KeySpec {
        KeySpec { notes, ..self }
    }
}

pub enum FindKeys {
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    /// A range after the first `keyword` at or past the spec's `index`
    /// (XREAD's STREAMS: `limit` 2 takes the first half of what follows).
    AfterKeyword {
        keyword: &'static str,
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// Keys Redis cannot locate from the arguments alone (SORT's BY, GET
    /// and STORE): `begin_search` and `find_keys` are both `unknown` and
    /// the spec's `index` is not used; its notes say why.
    Unknown,
}

impl Command {
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: &'static [&'static str],
        keys: (i32, i32, i32),
        group: &'static str,
        summary: &'static str,
        handler: Handler,
    ) -> Command {
        Command {
            name,
            arity,
            flags,
            keys,
            group,
            summary,
            handler,
            subcommands: &[],
            numkeys: 0,
            key_specs: &[],
            tips: &[],
            key_finder: None,
        }
    }

    /// The same command with explicit key specifications.
    pub const fn with_key_specs(self, key_specs: &'static [KeySpec]) -> Command {
        Command { key_specs, ..self }
    }

    /// The same command with its keys found by `finder`.
    pub const fn with_key_finder(self, finder: KeyFinder) -> Command {
        Command {
            key_finder: Some(finder),
            ..self
        }
    }

    /// The same command with `COMMAND INFO` tips.
    pub const fn with_tips(self, tips: &'static [&'static str]) -> Command {
        Command { tips, ..self }
    }

    /// The same command with its keys counted by the argument at `index`.
    pub const fn with_numkeys(self, index: usize) -> Command {
        Command {
            numkeys: index,
            ..self
        }
    }

    /// The `HELP` subcommand every container has.
    pub const fn help(group: &'static str, handler: Handler) -> Command {
        Command::new(
            "help",
            2,
            &["loading", "stale"],
            (0, 0, 0),
            group,
            "Returns helpful text about the different subcommands.",
            handler,
        )
    }

    /// A container such as CONFIG or CLIENT, whose work is done by subcommands.
    pub const fn container(
        name: &'static str,
        group: &'static str,
        summary: &'static str,
        subcommands: &'static [Command],
    ) -> Command {
        Command {
            name,
            arity: -2,
            flags: &[],
            keys: (0, 0, 0),
            group,
            summary,
            handler: |_, _| Err(err("ERR container commands run through subcommands")),
            subcommands,
            numkeys: 0,
            key_specs: &[],
            tips: &[],
            key_finder: None,
        }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Positions of the key arguments in `args` (the command name is 0).
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        let (first, last, step) = self.keys;
        if first <= 0 || step <= 0 {
            return Vec::new();
        }
        let last = if last < 0 { argc as i32 + last } else { last };
        (first..=last.min(argc as i32 - 1))
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }

    /// Whether the command has key arguments (a range, a numkeys count, or
    /// its own syntax).
    pub fn has_keys(&self) -> bool {
        self.keys.0 > 0 || self.numkeys > 0 || self.key_finder.is_some()
    }

    /// Positions of the key arguments of this very request: the `keys`
    /// range, then for a numkeys command the keys its count announces (none
    /// when the count is not a positive integer that fits in `args`), so
    /// ZUNIONSTORE's destination comes before its sources.
    pub fn keys_in(&self, args: &[Bytes]) -> Vec<usize> {
        if let Some(finder) = self.key_finder {
            return finder(args);
        }
        let mut keys = self.key_positions(args.len());
        if self.numkeys == 0 {
            return keys;
        }
        let Some(count) = args
            .get(self.numkeys)
            .and_then(|arg| crate::sds::string2ll(arg))
        else {
            return keys;
        };
        let first = self.numkeys + 1;
        if let Ok(count) = usize::try_from(count) {
            if count > 0 && count <= args.len().saturating_sub(first) {
                keys.extend(first..first + count);
            }
        }
        keys
    }
}

/// The whole table, in the order families are listed here.
pub fn table() -> impl Iterator<Item = &'static Command> {
    [
        connection::COMMANDS,
        strings::COMMANDS,
        lcs::COMMANDS,
        bitmaps::COMMANDS,
        bitfield::COMMANDS,
        hyperloglog::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        lists::COMMANDS,
        zsets::COMMANDS,
        lists_blocking::COMMANDS,
        zsets_blocking::COMMANDS,
        keys::COMMANDS,
        dump::COMMANDS,
        migrate::COMMANDS,
        replication::COMMANDS,
        sort::COMMANDS,
        server::COMMANDS,
        introspection::COMMANDS,
        memory::COMMANDS,
        cluster::COMMANDS,
        pubsub::COMMANDS,
        transactions::COMMANDS,
        scripting::COMMANDS,
        functions::COMMANDS,
        streams::COMMANDS,
        stream_read::COMMANDS,
        stream_groups::COMMANDS,
        stream_info::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

/// Every command by name: looked up once per request, so hashed with
/// foldhash rather than the standard library's SipHash.
type CommandIndex = HashMap<&'static str, &'static Command, foldhash::fast::RandomState>;

fn index() -> &'static CommandIndex {
    static INDEX: OnceLock<CommandIndex> = OnceLock::new();
    INDEX.get_or_init(|| table().map(|command| (command.name, command)).collect())
}

fn find<'t>(commands: impl IntoIterator<Item = &'t Command>, name: &[u8]) -> Option<&'t Command> {
    commands
        .into_iter()
        .find(|command| command.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&lower[..name.len()]).ok()?;
    index().get(lower).copied()
}

/// The table row a request runs, and its container when it is a subcommand.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub command: &'static Command,
    pub parent: Option<&'static Command>,
}

impl Resolved {
    /// `get`, or `config|get` for a subcommand: the name Redis reports.
    pub fn full_name(&self) -> String {
        match self.parent {
            Some(parent) => format!("{}|{}", parent.name, self.command.name),
            None => self.command.name.to_string(),
        }
    }
}

/// Resolves `args` to the command (or subcommand) that will run, or the
/// error reply Redis gives for an unknown command, subcommand or arity.
pub fn resolve(args: &[Bytes]) -> Result<Resolved, Frame> {
    let resolved = resolve_name(args)?;
    if !resolved.command.arity_ok(args.len()) {
        return Err(wrong_arity(&resolved.full_name()));
    }
    Ok(resolved)
}

/// The command (or subcommand) `args` names, whatever its arity, or the
/// error reply for an unknown command or subcommand.
pub fn resolve_name(args: &[Bytes]) -> Result<Resolved, Frame> {
    let Some(command) = args.first().and_then(|name| lookup(name)) else {
        return Err(unknown_command(args));
    };
    let resolved = if command.subcommands.is_empty() || args.len() < 2 {
        Resolved {
            command,
            parent: None,
        }
    } else {
        let Some(sub) = find(command.subcommands, &args[1]) else {
            return Err(err(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncated(&args[1]),
                command.name.to_ascii_uppercase()
            )));
        };
        Resolved {
            command: sub,
            parent: Some(command),
        }
    };
    Ok(resolved)
}

fn truncated(arg: &[u8]) -> String {
    String::from_utf8_lossy(&arg[..arg.len().min(128)]).into_owned()
}

fn unknown_command(args: &[Bytes]) -> Frame {
    let mut listed = String::new();
    for arg in args.iter().skip(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push('\'');
        listed.push_str(&truncated(&arg[..arg.len().min(room)]));
        listed.push_str("' ");
    }
    let name = args.first().map(|n| truncated(n)).unwrap_or_default();
    err(format!(
        "ERR unknown command '{name}', with args beginning with: {listed}"
    ))
}

pub fn wrong_arity(full_name: &str) -> Frame {
    err(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}

/// Runs one client request and returns its reply.
pub fn execute(ctx: &mut Ctx, args: &[Bytes]) -> Frame {
    execute_resolved(ctx, args, resolve_name(args))
}

/// [`execute`] for a request whose name the caller resolved already
/// ([`resolve_name`]), to look at the command before running it.
pub fn execute_resolved(ctx: &mut Ctx, args: &[Bytes], resolved: Result<Resolved, Frame>) -> Frame {
    let asking = resolved.as_ref().is_ok_and(|r| r.command.name == "asking");
    let reply = run(ctx, args, resolved);
    #[cfg(madsim)]
    crate::log::sim_trace(ctx.client.id(), args, &reply);
    // ASKING holds for the one command after it, or the transaction.
    if !asking && ctx.client.multi.is_none() {
        ctx.client.asking = false;
    }
    reply
}

fn run(ctx: &mut Ctx, args: &[Bytes], resolved: Result<Resolved, Frame>) -> Frame {
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(reply) => return transactions::reject(ctx, reply),
    };
    if !resolved.command.arity_ok(args.len()) {
        // A known command refused for its arity counts as rejected, as in Redis.
        ctx.shared.stats.commands.record_rejected(resolved);
        return transactions::reject(ctx, wrong_arity(&resolved.full_name()));
    }
    ctx.client.current = Some(resolved);
    if let Err(refusal) = admit(ctx, resolved, args) {
        ctx.shared.stats.commands.record_rejected(resolved);
        if resolved.command.name == "exec" {
            return transactions::abort_exec(ctx, refusal);
        }
        return transactions::reject(ctx, refusal);
    }
    if let Some(queued) = transactions::queue(ctx, resolved, args) {
        return queued;
    }
    let started = std::time::Instant::now();
    let (db, outer) = (ctx.client.db, std::mem::take(&mut ctx.tally));
    let reply = (resolved.command.handler)(ctx, args).unwrap_or_else(|reply| reply);
    ctx.record_effect(db, args, outer);
    let usec = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let failed = matches!(reply, Frame::Error(_));
    ctx.shared
        .stats
        .commands
        .record_call(resolved, usec, failed);
    reply
}

/// The refusals a known command can meet before it runs: authentication,
/// cluster routing, the RESP2 subscribed mode.
fn admit(ctx: &mut Ctx, resolved: Resolved, args: &[Bytes]) -> Result<(), Frame> {
    if !ctx.client.authenticated && !resolved.command.has_flag("no_auth") {
        return Err(err("NOAUTH Authentication required."));
    }
    // SAVE, SHUTDOWN, SYNC, PSYNC: refused, not queued, and EXEC then
    // aborts (Redis' CMD_NO_MULTI).
    if ctx.client.multi.is_some() && resolved.command.has_flag("no_multi") {
        return Err(err("ERR Command not allowed inside a transaction"));
    }
    if !resolved.command.has_flag("allow_busy")
        && ctx
            .shared
            .script_running
            .busy_for(ctx.client.id(), ctx.now_ms, || {
                ctx.shared.config().busy_reply_threshold
            })
    {
        return Err(err(scripting::busy_message(
            ctx.shared.script_running.runs_function(),
        )));
    }
    // During a full sync's load the old data is served; Redis refuses
    // these then (PSYNC, REPLICAOF, SAVE...).
    if resolved.command.has_flag("no_async_loading")
        && ctx
            .shared
            .async_loading
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(err("LOADING Redis is loading the dataset in memory"));
    }
    // A replica redirects what it does not serve before refusing writes.
    cluster::route(ctx, resolved, args)?;
    if !ctx.client.is_master && writes(ctx, resolved) {
        replication::admit_write(ctx)?;
    }
    pubsub::check_subscribed_mode(ctx, resolved)?;
    replication::admit_stale(ctx, resolved)
}

/// Whether the command writes: a write command, or EXEC of one.
fn writes(ctx: &Ctx, resolved: Resolved) -> bool {
    if resolved.command.name == "exec" {
        return ctx.client.multi.as_ref().is_some_and(|multi| {
            multi
                .queued
                .iter()
                .any(|args| resolve_name(args).is_ok_and(|r| r.command.has_flag("write")))
        });
    }
    resolved.command.has_flag("write")
}

/// Turns a storage failure into the error reply the client sees.
pub fn storage_error(error: crate::engine::EngineError) -> Frame {
    err(format!("ERR {error}"))
}

impl From<crate::engine::EngineError> for Frame {
    fn from(error: crate::engine::EngineError) -> Frame {
        storage_error(error)
    }
}

impl<'s> Ctx<'_, 's> {
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// A key's live metadata: through the pipeline's transaction when one is
    /// open (so a pipeline reads its own writes), else straight from the
    /// engine without taking the write lock.
    pub fn read(&mut self, key: &[u8]) -> Result<Option<crate::keyspace::Meta>, Frame> {
        match self.txn.as_mut() {
            Some(txn) => Ok(txn.get(self.client.db, key)?),
            None => Ok(self.shared.store.get(self.client.db, key, self.now_ms)?),
        }
    }

    /// Runs `body` with read access to keys and collection members: the
    /// pipeline's transaction when one is open (it reads its own writes),
    /// else the committed state without the write lock.
    pub fn with_reader<T>(
        &mut self,
        body: impl FnOnce(&mut dyn crate::keyspace::KeyRead, usize) -> Result<T, Frame>,
    ) -> Result<T, Frame> {
        self.read_committed(false, body)
    }

    /// Like [`Ctx::with_reader`], for a command that reads a key more than
    /// once (its metadata, then members, maybe in chunks): without a
    /// pipeline transaction it reads one engine snapshot, so it sees a
    /// single point in time as if it held the write lock, while writers and
    /// other readers go on.
    pub fn with_snapshot<T>(
        &mut self,
        body: impl FnOnce(&mut dyn crate::keyspace::KeyRead, usize) -> Result<T, Frame>,
    ) -> Result<T, Frame> {
        self.read_committed(true, body)
    }

    fn read_committed<T>(
        &mut self,
        snapshot: bool,
        body: impl FnOnce(&mut dyn crate::keyspace::KeyRead, usize) -> Result<T, Frame>,
    ) -> Result<T, Frame> {
        let db = self.client.db;
        match self.txn.as_mut() {
            Some(txn) => body(txn, db),
            None => body(
                &mut crate::keyspace::StoreRead {
                    store: &self.shared.store,
                    now_ms: self.now_ms,
                    snapshot: snapshot.then(|| self.shared.store.engine().snapshot()),
                    namespaces: None,
                },
                db,
            ),
        }
    }

    /// After a command ran (in database `db`, with `args`): a command that
    /// changed data without recording its effects is recorded as it was
    /// sent. `outer` is the tally of the EXEC running it, if any.
    fn record_effect(&mut self, db: usize, args: &[Bytes], outer: Tally) {
        let this = std::mem::replace(&mut self.tally, outer);
        if this.changed && !this.propagated {
            if let Some(txn) = self.txn.as_mut() {
                txn.propagate(crate::keyspace::Effect::Command {
                    db,
                    args: args.to_vec(),
                });
            }
        }
        self.tally.changed |= this.changed;
        self.tally.propagated |= this.changed || this.propagated;
    }

    /// The encoding thresholds a write applies (`hash-max-listpack-*` …).
    pub fn encoding_limits(&self) -> crate::config::EncodingLimits {
        self.shared.config().encoding
    }

    /// Runs `body` in the pipeline's write transaction (opening it if
    /// needed). A failing body leaves no trace.
    ///
    /// A command that changes data here is recorded in the change feed as
    /// it was sent, unless `body` records its effects itself
    /// (`Txn::propagate`: SPOP as SREM, EXPIRE as PEXPIREAT, ...).
    pub fn write<T>(
        &mut self,
        body: impl FnOnce(&mut Txn, usize) -> Result<T, Frame>,
    ) -> Result<T, Frame> {
        let (shared, now_ms, db) = (self.shared, self.now_ms, self.client.db);
        let txn = self.txn.get_or_insert_with(|| shared.store.begin(now_ms));
        let (changes, propagated) = (txn.changes(), txn.propagated());
        let savepoint = txn.savepoint();
        match body(txn, db) {
            Ok(value) => {
                if txn.changes() > changes {
                    self.tally.changed = true;
                    shared
                        .save
                        .changes_since_save
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                self.tally.propagated |= txn.propagated() > propagated;
                Ok(value)
            }
            Err(reply) => {
                txn.rollback_to(savepoint);
                Err(reply)
            }
        }
    }

    /// Commits the pipeline's transaction, if one is open. Commands that read
    /// the store other than through [`Ctx::read`] (scans, counts, snapshots)
    /// call this first so that they see every earlier write.
    pub fn commit_pending(&mut self) -> Result<&'s Store, Frame> {
        debug_assert!(
            !self.tally.changed || self.tally.propagated,
            "a command committed its writes before its effect was recorded"
        );
        if self.client.in_exec {
            // Inside EXEC: commit what came before, keep the lock.
            if let Some(txn) = self.txn.as_mut() {
                match commit::commit_within_exec(self.shared, txn) {
                    Ok(wrote) => self.client.wrote |= wrote,
                    Err(e) => {
                        // Half-applied: drop it (and the lock).
                        *self.txn = None;
                        return Err(e.into());
                    }
                }
            }
            return Ok(&self.shared.store);
        }
        if let Some(mut txn) = self.txn.take() {
            if commit::commit(self.shared, &mut txn)? {
                self.client.wrote = true;
            }
        }
        Ok(&self.shared.store)
    }
}

/// Whether a write command replaces or deletes its keys knowing only their
/// headers, which the key directory holds: it reads no row, so
/// `Session::warm_ahead` has nothing to read early for it.
pub fn writes_blind(name: &str, args: &[Bytes]) -> bool {
    match name {
        "set" => !args
            .iter()
            .skip(3)
            .any(|arg| arg.eq_ignore_ascii_case(b"get")),
        "setex" | "psetex" | "setnx" | "mset" | "msetnx" | "del" | "unlink" => true,
        _ => false,
    }
}

/// The members (hash fields, set or sorted-set members) a write command of
/// one collection adds or changes, read from its arguments ahead of its run
/// so that their rows can be read early (`Session::warm_ahead`); `None`
/// for every other command. Malformed arguments give whatever they give:
/// the command itself checks them when it runs.
pub fn members_written<'a>(name: &str, args: &'a [Bytes]) -> Option<Vec<&'a [u8]>> {
    let after_key = args.get(2..)?;
    let members = match name {
        "sadd" | "srem" | "hdel" | "zrem" => after_key.iter().map(|m| &m[..]).collect(),
        "hset" | "hmset" | "hsetnx" => after_key.iter().step_by(2).map(|f| &f[..]).collect(),
        "zadd" => {
            let flags = after_key
                .iter()
                .take_while(|arg| {
                    ["nx", "xx", "gt", "lt", "ch", "incr"]
                        .iter()
                        .any(|flag| arg.eq_ignore_ascii_case(flag.as_bytes()))
                })
                .count();
            after_key[flags..]
                .iter()
                .skip(1)
                .step_by(2)
                .map(|m| &m[..])
                .collect()
        }
        _ => return None,
    };
    Some(members)
}

#[cfg(test)]
mod blocking_tests;
#[cfg(test)]
mod feed_tests;
#[cfg(test)]
mod full_sync_tests;
#[cfg(test)]
mod lists_tests;
#[cfg(test)]
mod migrate_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod sets_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod zsets_tests;
