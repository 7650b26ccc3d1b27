//! `COMMAND` and its subcommands, generated from the command table. Cluster
//! clients (redis-py's RedisCluster) route by these key positions.

use super::args::{err, CmdResult};
use super::{Command, Ctx, FindKeys};
use crate::resp::Frame;
use bytes::Bytes;

pub const COMMANDS: &[Command] = &[Command {
    name: "command",
    arity: -1,
    flags: &["loading", "stale"],
    keys: (0, 0, 0),
    group: "server",
    summary: "Returns detailed information about all commands.",
    handler: command,
    subcommands: SUBCOMMANDS,
    numkeys: 0,
    key_specs: &[],
    tips: &[],
    key_finder: None,
}];

const SUBCOMMANDS: &[Command] = &[
    Command::new(
        "count",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns a count of commands.",
        count,
    ),
    Command::new(
        "info",
        -2,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns information about one, multiple or all commands.",
        info,
    ),
    Command::new(
        "docs",
        -2,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns documentary information about one, multiple or all commands.",
        docs,
    ),
    Command::new(
        "list",
        -2,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns a list of command names.",
        list,
    ),
    Command::new(
        "getkeys",
        -4,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Extracts the key names from an arbitrary command.",
        getkeys,
    ),
    Command::help("server", help),
];

/// Commands of the "server" group that act on the keyspace.
const KEYSPACE_SERVER_COMMANDS: &[&str] = &["dbsize", "flushdb", "flushall", "swapdb"];
/// Non-admin commands Redis still marks @dangerous.
const DANGEROUS: &[&str] = &[
    "keys", "flushdb", "flushall", "swapdb", "info", "sort", "sort_ro",
];
/// Generic commands Redis files under the types they read instead of
/// @keyspace.
const TYPED: &[(&str, &[&str])] = &[
    ("sort", &["@set", "@sortedset", "@list"]),
    ("sort_ro", &["@set", "@sortedset", "@list"]),
];

/// ACL categories, derived from flags and group the way Redis assigns them.
fn categories(command: &Command) -> Vec<Frame> {
    let mut out = Vec::new();
    let typed = TYPED.iter().find(|(name, _)| *name == command.name);
    if (command.group == "generic" && typed.is_none())
        || KEYSPACE_SERVER_COMMANDS.contains(&command.name)
    {
        out.push("@keyspace");
    }
    if command.has_flag("write") {
        out.push("@write");
    }
    if command.has_flag("readonly") {
        out.push("@read");
    }
    // A container (SCRIPT, XGROUP) has no category of its own but @slow.
    let group = if command.subcommands.is_empty() {
        command.group
    } else {
        ""
    };
    match group {
        "string" => out.push("@string"),
        "hash" => out.push("@hash"),
        "set" => out.push("@set"),
        "list" => out.push("@list"),
        "sorted-set" => out.push("@sortedset"),
        "bitmap" => out.push("@bitmap"),
        "hyperloglog" => out.push("@hyperloglog"),
        "stream" => out.push("@stream"),
        "connection" => out.push("@connection"),
        "scripting" => out.push("@scripting"),
        _ => {}
    }
    if let Some((_, types)) = typed {
        out.extend(types.iter().copied());
    }
    if command.has_flag("pubsub") {
        out.push("@pubsub");
    }
    if command.has_flag("admin") {
        out.push("@admin");
    }
    out.push(if command.has_flag("fast") {
        "@fast"
    } else {
        "@slow"
    });
    if command.has_flag("blocking") {
        out.push("@blocking");
    }
    if command.has_flag("admin") || DANGEROUS.contains(&command.name) {
        out.push("@dangerous");
    }
    if command.group == "transactions" {
        out.push("@transaction");
    }
    out.into_iter().map(Frame::simple).collect()
}

/// Redis 7 key specifications for a command whose keys are a range
/// (first, last, step): one `index` search and one `range` find.
fn key_specs(command: &Command) -> Vec<Frame> {
    let (first, last, step) = command.keys;
    let map = |pairs: Vec<(&'static str, Frame)>| {
        Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Frame::bulk(k), v))
                .collect(),
        )
    };
    if !command.key_specs.is_empty() {
        return command
            .key_specs
            .iter()
            .map(|spec| {
                let unknown = || {
                    map(vec![
                        ("type", Frame::bulk("unknown")),
                        ("spec", map(vec![])),
                    ])
                };
                let index = || {
                    map(vec![
                        ("type", Frame::bulk("index")),
                        (
                            "spec",
                            map(vec![("index", Frame::Integer(i64::from(spec.index)))]),
                        ),
                    ])
                };
                // A `find_keys` of `kind` with these integer parameters.
                let found = |kind: &'static str, params: [(&'static str, i32); 3]| {
                    let params = params
                        .into_iter()
                        .map(|(name, value)| (name, Frame::Integer(i64::from(value))))
                        .collect();
                    map(vec![("type", Frame::bulk(kind)), ("spec", map(params))])
                };
                let (begin, find) = match spec.find {
                    FindKeys::Range {
                        lastkey,
                        step,
                        limit,
                    } => {
                        let params = [("lastkey", lastkey), ("keystep", step), ("limit", limit)];
                        (index(), found("range", params))
                    }
                    FindKeys::Keynum {
                        keynumidx,
                        firstkey,
                        step,
                    } => {
                        let params = [
                            ("keynumidx", keynumidx),
                            ("firstkey", firstkey),
                            ("keystep", step),
                        ];
                        (index(), found("keynum", params))
                    }
                    FindKeys::AfterKeyword {
                        keyword,
                        lastkey,
                        step,
                        limit,
                    } => {
                        let begin = map(vec![
                            ("type", Frame::bulk("keyword")),
                            (
                                "spec",
                                map(vec![
                                    ("keyword", Frame::bulk(keyword)),
                                    ("startfrom", Frame::Integer(i64::from(spec.index))),
                                ]),
                            ),
                        ]);
                        let params = [("lastkey", lastkey), ("keystep", step), ("limit", limit)];
                        (begin, found("range", params))
                    }
                    FindKeys::Unknown => (unknown(), unknown()),
                };
                let notes = (!spec.notes.is_empty()).then(|| ("notes", Frame::bulk(spec.notes)));
                let fields = [
                    (
                        "flags",
                        Frame::Set(spec.flags.iter().map(|f| Frame::simple(*f)).collect()),
                    ),
                    ("begin_search", begin),
                    ("find_keys", find),
                ];
                map(notes.into_iter().chain(fields).collect())
            })
            .collect();
    }
    if command.numkeys > 0 {
        // `numkeys key ...`: a keynum find after the count (SINTERCARD).
        let flags = if command.has_flag("write") {
            ["RW", "update"]
        } else {
            ["RO", "access"]
        };
        return vec![map(vec![
            (
                "flags",
                Frame::Set(flags.iter().map(|f| Frame::simple(*f)).collect()),
            ),
            (
                "begin_search",
                map(vec![
                    ("type", Frame::bulk("index")),
                    (
                        "spec",
                        map(vec![("index", Frame::Integer(command.numkeys as i64))]),
                    ),
                ]),
            ),
            (
                "find_keys",
                map(vec![
                    ("type", Frame::bulk("keynum")),
                    (
                        "spec",
                        map(vec![
                            ("keynumidx", Frame::Integer(0)),
                            ("firstkey", Frame::Integer(1)),
                            ("keystep", Frame::Integer(1)),
                        ]),
                    ),
                ]),
            ),
        ])];
    }
    if first <= 0 {
        return Vec::new();
    }
    // Shard channels are routed like keys but are not keys.
    let flags: &[&str] = if command.has_flag("pubsub") {
        &["not_key"]
    } else if command.has_flag("write") {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    let last_key = if last < 0 { last } else { last - first };
    vec![map(vec![
        (
            "flags",
            Frame::Set(flags.iter().map(|f| Frame::simple(*f)).collect()),
        ),
        (
            "begin_search",
            map(vec![
                ("type", Frame::bulk("index")),
                (
                    "spec",
                    map(vec![("index", Frame::Integer(i64::from(first)))]),
                ),
            ]),
        ),
        (
            "find_keys",
            map(vec![
                ("type", Frame::bulk("range")),
                (
                    "spec",
                    map(vec![
                        ("lastkey", Frame::Integer(i64::from(last_key))),
                        ("keystep", Frame::Integer(i64::from(step))),
                        ("limit", Frame::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

fn describe(command: &Command, full_name: &str) -> Frame {
    let (first, last, step) = command.keys;
    let subcommands = command
        .subcommands
        .iter()
        .map(|sub| describe(sub, &format!("{full_name}|{}", sub.name)))
        .collect();
    Frame::Array(vec![
        Frame::bulk(full_name.to_string()),
        Frame::Integer(i64::from(command.arity)),
        Frame::Set(command.flags.iter().map(|f| Frame::simple(*f)).collect()),
        Frame::Integer(i64::from(first)),
        Frame::Integer(i64::from(last)),
        Frame::Integer(i64::from(step)),
        Frame::Set(categories(command)),
        Frame::Array(command.tips.iter().map(|t| Frame::bulk(*t)).collect()),
        Frame::Array(key_specs(command)),
        Frame::Array(subcommands),
    ])
}

fn command(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(
        super::table().map(|c| describe(c, c.name)).collect(),
    ))
}

fn count(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(super::table().count() as i64))
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|name| by_full_name(name).map_or(Frame::Null, |(c, full)| describe(c, &full)))
            .collect(),
    ))
}

/// Finds `get` or `config|get`, with its full name.
fn by_full_name(name: &[u8]) -> Option<(&'static Command, String)> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let parent = super::lookup(parts.next()?)?;
    match parts.next() {
        None => Some((parent, parent.name.to_string())),
        Some(sub) => {
            let sub = parent
                .subcommands
                .iter()
                .find(|c| c.name.as_bytes().eq_ignore_ascii_case(sub))?;
            Some((sub, format!("{}|{}", parent.name, sub.name)))
        }
    }
}

/// Every command and subcommand with its full name, as COMMAND LIST shows them.
fn all_names() -> impl Iterator<Item = (String, &'static Command)> {
    super::table().flat_map(|c| {
        std::iter::once((c.name.to_string(), c)).chain(
            c.subcommands
                .iter()
                .map(move |sub| (format!("{}|{}", c.name, sub.name), sub)),
        )
    })
}
fn doc(command: &Command) -> Frame {
    let field = |k: &'static str, v: Frame| (Frame::bulk(k), v);
    let mut fields = vec![
        field("summary", Frame::bulk(command.summary)),
        field("since", Frame::bulk("1.0.0")),
        field("group", Frame::bulk(command.group)),
    ];
    if !command.subcommands.is_empty() {
        fields.push(field(
            "subcommands",
            Frame::Map(
                command
                    .subcommands
                    .iter()
                    .map(|sub| {
                        (
                            Frame::bulk(format!("{}|{}", command.name, sub.name)),
                            doc(sub),
                        )
                    })
                    .collect(),
            ),
        ));
    }
    Frame::Map(fields)
}

fn docs(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let commands: Vec<&Command> = if args.len() == 2 {
        super::table().collect()
    } else {
        args[2..]
            .iter()
            .filter_map(|name| super::lookup(name))
            .collect()
    };
    Ok(Frame::Map(
        commands
            .into_iter()
            .map(|c| (Frame::bulk(c.name), doc(c)))
            .collect(),
    ))
}

fn list(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let names: Vec<(String, &Command)> = match &args[2..] {
        [] => all_names().collect(),
        [filter, kind, value] if super::args::is(filter, "filterby") => {
            let wanted = String::from_utf8_lossy(value).to_ascii_lowercase();
            if super::args::is(kind, "pattern") {
                all_names()
                    .filter(|(name, _)| crate::glob::glob_match(value, name.as_bytes(), true))
                    .collect()
            } else if super::args::is(kind, "aclcat") {
                let category = Frame::simple(format!("@{wanted}"));
                all_names()
                    .filter(|(_, c)| categories(c).contains(&category))
                    .collect()
            } else if super::args::is(kind, "module") {
                Vec::new()
            } else {
                return Err(err(super::args::ERR_SYNTAX));
            }
        }
        _ => return Err(err(super::args::ERR_SYNTAX)),
    };
    Ok(Frame::bulk_array(names.into_iter().map(|(name, _)| name)))
}
/// Checks in Redis' order: a known command, one that has keys, the arity.
fn getkeys(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let target = &args[2..];
    let invalid = || err("ERR Invalid command specified");
    let mut command = super::lookup(&target[0]).ok_or_else(invalid)?;
    if !command.subcommands.is_empty() && target.len() >= 2 {
        command = command
            .subcommands
            .iter()
            .find(|c| c.name.as_bytes().eq_ignore_ascii_case(&target[1]))
            .ok_or_else(invalid)?;
    }
    // Shard channels have key specs (for routing) flagged not_key.
    if !command.has_keys() || command.has_flag("pubsub") {
        return Err(err("ERR The command has no key arguments"));
    }
    if !command.arity_ok(target.len()) {
        return Err(err("ERR Invalid number of arguments specified for command"));
    }
    let positions = command.keys_in(target);
    if positions.is_empty() {
        return Err(err(if command.numkeys > 0 {
            "ERR Invalid arguments specified for command"
        } else {
            "ERR Invalid number of arguments specified for command"
        }));
    }
    Ok(Frame::bulk_array(
        positions.into_iter().map(|i| target[i].clone()),
    ))
}
fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    ))
}
