//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT.

use super::args::{err, is, CmdResult, ERR_SYNTAX};
use super::client_list::{describe, is_pubsub};
use super::context::{ClientHandle, LinkKind};
use super::{Command, Ctx};
use crate::resp::{Frame, Protocol};
use bytes::Bytes;
use std::sync::Arc;

pub const COMMANDS: &[Command] = &[
    Command::new(
        "ping",
        -1,
        &["fast"],
        (0, 0, 0),
        "connection",
        "Returns the server's liveliness response.",
        ping,
    ),
    Command::new(
        "echo",
        2,
        &["fast"],
        (0, 0, 0),
        "connection",
        "Returns the given string.",
        echo,
    ),
    Command::new(
        "hello",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Handshakes with the Redis server.",
        hello,
    ),
    Command::new(
        "auth",
        -2,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Authenticates the connection.",
        auth,
    ),
    Command::new(
        "select",
        2,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        "connection",
        "Changes the selected database.",
        select,
    ),
    Command::new(
        "quit",
        -1,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        (0, 0, 0),
        "connection",
        "Closes the connection.",
        quit,
    ),
    Command::new(
        "reset",
        1,
        &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        (0, 0, 0),
        "connection",
        "Resets the connection.",
        reset,
    ),
    Command::container(
        "client",
        "connection",
        "A container for client connection commands.",
        CLIENT,
    ),
];

const CLIENT: &[Command] = &[
    Command::new(
        "id",
        2,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Returns the unique client ID of the connection.",
        client_id,
    ),
    Command::new(
        "setname",
        3,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Sets the connection name.",
        client_setname,
    ),
    Command::new(
        "getname",
        2,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Returns the name of the connection.",
        client_getname,
    ),
    Command::new(
        "list",
        -2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Lists open connections.",
        client_list,
    ),
    Command::new(
        "info",
        2,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Returns information about the connection.",
        client_info,
    ),
    Command::new(
        "kill",
        -3,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Terminates open connections.",
        client_kill,
    ),
    Command::new(
        "setinfo",
        4,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Sets information specific to the client or connection.",
        client_setinfo,
    ),
    Command::new(
        "reply",
        3,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Instructs the server whether to reply to commands.",
        client_reply,
    ),
    Command::new(
        "unblock",
        -3,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Unblocks a client blocked by a blocking command from a different connection.",
        super::blocking::client_unblock,
    ),
    Command::new(
        "pause",
        -3,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Suspends commands processing.",
        super::pausing::client_pause,
    ),
    Command::new(
        "unpause",
        2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "Resumes processing commands from paused clients.",
        super::pausing::client_unpause,
    ),
    Command::help("connection", client_help),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(super::wrong_arity("ping"));
    }
    // A subscribed RESP2 connection carries arrays: PING answers in kind.
    if ctx.client.protocol == Protocol::Resp2 && ctx.client.pubsub.active() {
        let payload = args.get(1).cloned().unwrap_or_default();
        return Ok(Frame::Array(vec![
            Frame::bulk("pong"),
            Frame::Bulk(payload),
        ]));
    }
    match args.len() {
        1 => Ok(Frame::simple("PONG")),
        2 => Ok(Frame::Bulk(args[1].clone())),
        _ => Err(super::wrong_arity("ping")),
    }
}

fn echo(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Bulk(args[1].clone()))
}

/// Checks a password for the `default` user.
fn check_password(ctx: &mut Ctx, user: Option<&[u8]>, password: &[u8]) -> Result<(), Frame> {
    let config = ctx.shared.config();
    let wrong = || err("WRONGPASS invalid username-password pair or user is disabled.");
    if user.is_some_and(|user| user != b"default") {
        return Err(wrong());
    }
    match &config.requirepass {
        Some(expected) if expected.as_slice() != password => Err(wrong()),
        None if user.is_none() => Err(err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")),
        _ => {
            drop(config);
            ctx.client.authenticated = true;
            Ok(())
        }
    }
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => check_password(ctx, None, &args[1])?,
        3 => check_password(ctx, Some(&args[1]), &args[2])?,
        _ => return Err(err(ERR_SYNTAX)),
    }
    Ok(Frame::ok())
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut protocol = ctx.client.protocol;
    if let Some(version) = args.get(1) {
        let version = super::args::parse_i64(version)
            .ok_or_else(|| err("ERR Protocol version is not an integer or out of range"))?;
        protocol = Protocol::from_version(version)
            .ok_or_else(|| err("NOPROTO unsupported protocol version"))?;
    }
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        if is(&args[i], "auth") && i + 2 < args.len() {
            check_password(ctx, Some(&args[i + 1]), &args[i + 2])?;
            i += 3;
        } else if is(&args[i], "setname") && i + 1 < args.len() {
            validate_name(&args[i + 1])?;
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if !ctx.client.authenticated {
        return Err(err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = name {
        ctx.client.info().name = (!name.is_empty()).then_some(name);
    }
    ctx.client.protocol = protocol;
    ctx.client.info().resp = protocol.version();
    let field = |k: &'static str, v: Frame| (Frame::bulk(k), v);
    Ok(Frame::Map(vec![
        field("server", Frame::bulk("redis")),
        field("version", Frame::bulk(crate::REDIS_VERSION)),
        field("proto", Frame::Integer(protocol.version())),
        field("id", Frame::Integer(ctx.client.id() as i64)),
        field(
            "mode",
            Frame::bulk(if ctx.shared.cluster.is_some() {
                "cluster"
            } else {
                "standalone"
            }),
        ),
        field("role", Frame::bulk("master")),
        field("modules", Frame::Array(Vec::new())),
    ]))
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let db = super::args::int_arg(&args[1])?;
    if ctx.shared.cluster.is_some() && db != 0 {
        return Err(err("ERR SELECT is not allowed in cluster mode"));
    }
    ctx.client.db = super::keys::db_index(ctx, &args[1])?;
    ctx.client.info().db = ctx.client.db;
    Ok(Frame::ok())
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Frame::ok())
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    super::pubsub::reset(ctx);
    super::transactions::reset(ctx.shared, ctx.client);
    ctx.client.db = 0;
    ctx.client.protocol = Protocol::Resp2;
    ctx.client.monitor = false;
    ctx.client.reply_mode.on();
    ctx.client.authenticated = ctx.shared.config().requirepass.is_none();
    let mut info = ctx.client.info();
    info.db = 0;
    info.name = None;
    info.resp = 2;
    info.monitor = false;
    Ok(Frame::simple("RESET"))
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP silence their own reply too.
fn client_reply(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mode = &mut ctx.client.reply_mode;
    if is(&args[2], "on") {
        mode.on();
    } else if is(&args[2], "off") {
        mode.off();
    } else if is(&args[2], "skip") {
        mode.skip();
    } else {
        return Err(err(ERR_SYNTAX));
    }
    Ok(Frame::ok())
}

fn client_id(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(ctx.client.id() as i64))
}

/// Client names, library names and versions: printable ASCII without spaces.
fn validate_name(name: &[u8]) -> Result<(), Frame> {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err(err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

fn client_setname(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    validate_name(&args[2])?;
    ctx.client.info().name = (!args[2].is_empty()).then(|| args[2].clone());
    Ok(Frame::ok())
}

fn client_getname(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(ctx
        .client
        .info()
        .name
        .clone()
        .map_or(Frame::Null, Frame::Bulk))
}

fn client_setinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let value = &args[3];
    let mut info = ctx.client.info();
    let slot = if is(&args[2], "lib-name") {
        &mut info.lib_name
    } else if is(&args[2], "lib-ver") {
        &mut info.lib_ver
    } else {
        return Err(err(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    };
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(err(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(&args[2]).to_ascii_lowercase()
        )));
    }
    *slot = (!value.is_empty()).then(|| value.clone());
    Ok(Frame::ok())
}

/// The client types of a `TYPE` filter (Redis `getClientTypeByName`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

fn client_type(kind: &[u8]) -> Result<ClientType, Frame> {
    if is(kind, "normal") {
        Ok(ClientType::Normal)
    } else if is(kind, "replica") || is(kind, "slave") {
        Ok(ClientType::Replica)
    } else if is(kind, "master") {
        Ok(ClientType::Master)
    } else if is(kind, "pubsub") {
        Ok(ClientType::PubSub)
    } else {
        Err(err(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(kind)
        )))
    }
}

/// A connection's type: no replicas or masters here, so normal or pubsub.
fn type_of(handle: &ClientHandle) -> ClientType {
    let info = crate::sync::lock(&handle.info);
    match info.link {
        Some(LinkKind::Replica) => ClientType::Replica,
        Some(LinkKind::Master) => ClientType::Master,
        None if is_pubsub(&info) => ClientType::PubSub,
        None => ClientType::Normal,
    }
}

/// The open connections; a killed one is gone, even if its task has not
/// finished yet.
fn live_clients(ctx: &Ctx) -> Vec<Arc<ClientHandle>> {
    let mut all = ctx.shared.clients.all();
    all.retain(|handle| !handle.is_killed());
    all
}

fn client_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let all = live_clients(ctx);
    // Like Redis: no filter, `TYPE <type>`, or `ID <id> [<id> ...]` (in the
    // order given, unknown ids skipped).
    let listed = match &args[2..] {
        [] => all,
        [keyword, kind] if is(keyword, "type") => {
            let kind = client_type(kind)?;
            all.into_iter().filter(|h| type_of(h) == kind).collect()
        }
        [keyword, ids @ ..] if is(keyword, "id") && !ids.is_empty() => {
            let mut listed = Vec::new();
            for id in ids {
                let id = super::args::parse_i64(id).ok_or_else(|| err("ERR Invalid client ID"))?;
                if let Some(handle) = all.iter().find(|h| h.id as i64 == id) {
                    listed.push(handle.clone());
                }
            }
            listed
        }
        _ => return Err(err(ERR_SYNTAX)),
    };
    let mut text = String::new();
    for handle in listed {
        text.push_str(&describe(
            &handle,
            ctx.now_ms,
            (handle.id == ctx.client.id())
                .then_some(ctx.client.current)
                .flatten(),
        ));
        text.push('\n');
    }
    Ok(Frame::verbatim_text(text))
}

fn client_info(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let mut line = describe(&ctx.client.handle, ctx.now_ms, ctx.client.current);
    line.push('\n');
    Ok(Frame::verbatim_text(line))
}

/// The filters of `CLIENT KILL <filter> <value> ...`.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    skip_me: bool,
    kind: Option<ClientType>,
}

impl KillFilter {
    fn parse(args: &[Bytes]) -> Result<KillFilter, Frame> {
        let mut filter = KillFilter {
            skip_me: true,
            ..KillFilter::default()
        };
        for pair in args.chunks(2) {
            let [name, value] = pair else {
                return Err(err(ERR_SYNTAX));
            };
            if is(name, "id") {
                let id = super::args::parse_i64(value)
                    .filter(|&id| id > 0)
                    .ok_or_else(|| err("ERR client-id should be greater than 0"))?;
                filter.id = Some(id as u64);
            } else if is(name, "addr") {
                filter.addr = Some(value.clone());
            } else if is(name, "laddr") {
                filter.laddr = Some(value.clone());
            } else if is(name, "skipme") {
                filter.skip_me = match value {
                    v if is(v, "yes") => true,
                    v if is(v, "no") => false,
                    _ => return Err(err(ERR_SYNTAX)),
                };
            } else if is(name, "type") {
                filter.kind = Some(client_type(value)?);
            } else if is(name, "user") {
                // Every client is authenticated as the only user, `default`.
                if value.as_ref() != b"default" {
                    return Err(err(format!(
                        "ERR No such user '{}'",
                        String::from_utf8_lossy(value)
                    )));
                }
            } else {
                return Err(err(ERR_SYNTAX));
            }
        }
        Ok(filter)
    }

    fn matches(&self, handle: &ClientHandle, me: u64) -> bool {
        self.kind.is_none_or(|kind| type_of(handle) == kind)
            && self.id.is_none_or(|id| id == handle.id)
            && self
                .addr
                .as_ref()
                .is_none_or(|a| a.as_ref() == handle.addr.as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a.as_ref() == handle.laddr.as_bytes())
            && !(self.skip_me && handle.id == me)
    }
}

fn client_kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let me = ctx.client.id();
    if args.len() == 3 {
        // The old form: CLIENT KILL addr:port.
        let target = live_clients(ctx)
            .into_iter()
            .find(|h| h.addr.as_bytes() == args[2].as_ref());
        return match target {
            Some(handle) => {
                kill(ctx, &handle, me);
                Ok(Frame::ok())
            }
            None => Err(err("ERR No such client")),
        };
    }
    let filter = KillFilter::parse(&args[2..])?;
    let mut killed = 0;
    for handle in live_clients(ctx) {
        if filter.matches(&handle, me) {
            kill(ctx, &handle, me);
            killed += 1;
        }
    }
    Ok(Frame::Integer(killed))
}

fn kill(ctx: &mut Ctx, handle: &ClientHandle, me: u64) {
    if handle.id == me {
        ctx.client.close_after_reply = true;
    } else {
        // Out of the blocked queues at once, as in Redis: no serve picks it.
        super::blocking::kill(ctx.shared, handle.id);
        handle.kill();
    }
}

fn client_help(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(super::server::help(
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME, TYPE, USER.",
            "LIST [options ...]",
            "    Return information about client connections.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
        ],
    ))
}
