//! `COMMAND` and its subcommands, generated from the command table. Cluster
//! clients (redis-py's RedisCluster) route by these key positions.

use super::args::{err, CmdResult};
use super::{Command, Ctx};
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
        -3,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Extracts the key names from an arbitrary command.",
        getkeys,
    ),
    Command::new(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns helpful text about the different subcommands.",
        help,
    ),
];

/// ACL categories, derived from flags and group the way Redis assigns them.
fn categories(command: &Command) -> Vec<Frame> {
    let mut out = Vec::new();
    if command.has_flag("write") {
        out.push("@write");
    }
    if command.has_flag("readonly") {
        out.push("@read");
    }
    match command.group {
        "string" => out.push("@string"),
        "generic" => out.push("@keyspace"),
        "connection" => out.push("@connection"),
        "scripting" => out.push("@scripting"),
        _ => {}
    }
    if command.has_flag("admin") {
        out.extend(["@admin", "@dangerous"]);
    }
    out.push(if command.has_flag("fast") {
        "@fast"
    } else {
        "@slow"
    });
    out.into_iter().map(Frame::simple).collect()
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
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
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

fn info(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command(_ctx, args);
    }
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|name| super::lookup(name).map_or(Frame::Null, |c| describe(c, c.name)))
            .collect(),
    ))
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
    let names = super::table().map(|c| c.name);
    match &args[2..] {
        [] => Ok(Frame::bulk_array(names)),
        [filter, kind, value] if super::args::is(filter, "filterby") => {
            let kind = String::from_utf8_lossy(kind).to_ascii_lowercase();
            let matches = |c: &Command| match kind.as_str() {
                "pattern" => crate::glob::glob_match(value, c.name.as_bytes(), true),
                "aclcat" => categories(c).contains(&Frame::simple(format!(
                    "@{}",
                    String::from_utf8_lossy(value).to_ascii_lowercase()
                ))),
                _ => false,
            };
            Ok(Frame::bulk_array(
                super::table().filter(|c| matches(c)).map(|c| c.name),
            ))
        }
        _ => Err(err(super::args::ERR_SYNTAX)),
    }
}

fn getkeys(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let target = &args[2..];
    if super::lookup(&target[0]).is_none() {
        return Err(err("ERR Invalid command specified"));
    }
    let (command, _) = super::resolve(target)
        .map_err(|_| err("ERR Invalid number of arguments specified for command"))?;
    let positions = command.key_positions(target.len());
    if positions.is_empty() {
        return Err(err("ERR The command has no key arguments"));
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
