//! Connection commands against a real server: PING, ECHO, HELLO, AUTH,
//! SELECT, QUIT, RESET, CLIENT, and the generic command errors, with the
//! replies Redis 7.0.15 gives.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, error, int, start, Raw, NIL, OK, SYNTAX};

const NOAUTH: &str = "-NOAUTH Authentication required.\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const BAD_NAME: &str =
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";

/// The HELLO reply for `proto` and connection `id`, as Redis 7.0.15 sends it
/// (a flat array in RESP2, a map in RESP3).
fn hello_reply(proto: i64, id: i64) -> String {
    let header = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
}

/// A field of a `CLIENT LIST` / `CLIENT INFO` line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

/// The text of a bulk or verbatim reply (CLIENT LIST, CLIENT INFO).
fn text(reply: &str) -> String {
    let body = reply.split_once("\r\n").map_or("", |(_, body)| body);
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

// ---- PING / ECHO ----

#[test]
fn ping_replies_pong_or_echoes_its_argument() {
    let (_server, mut c) = start();
    assert_eq!(c.line("PING"), "+PONG\r\n");
    assert_eq!(c.line("ping"), "+PONG\r\n");
    assert_eq!(c.cmd(&["PING", "hello world"]), bulk("hello world"));
    assert_eq!(c.line("PING a b"), arity("ping"));
}

#[test]
fn ping_works_through_the_redis_crate() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let echoed: String = redis::cmd("PING").arg("hi").query(&mut con).unwrap();
    assert_eq!(echoed, "hi");
}

#[test]
fn echo_returns_its_argument() {
    let (_server, mut c) = start();
    assert_eq!(c.cmd(&["ECHO", "a b"]), bulk("a b"));
    assert_eq!(c.cmd_bytes(&[&b"ECHO"[..], b"\0\r\n"]), b"$3\r\n\0\r\n\r\n");
    assert_eq!(c.cmd(&["ECHO", ""]), bulk(""));
    assert_eq!(c.line("ECHO"), arity("echo"));
    assert_eq!(c.line("ECHO a b"), arity("echo"));
}

// ---- HELLO ----

#[test]
fn hello_2_replies_with_the_server_fields() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    assert_eq!(c.line("HELLO 2"), hello_reply(2, id));
    assert_eq!(c.line("HELLO"), hello_reply(2, id));
}

#[test]
fn hello_3_switches_to_resp3() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    assert_eq!(c.line("HELLO 3"), hello_reply(3, id));
    assert_eq!(c.line("GET nokey"), "_\r\n");
    assert_eq!(c.line("HELLO"), hello_reply(3, id));
    assert_eq!(field(&text(&c.line("CLIENT INFO")), "resp"), "3");
    assert_eq!(c.line("HELLO 2"), hello_reply(2, id));
    assert_eq!(c.line("GET nokey"), NIL);
}

#[test]
fn hello_map_reply_parses_with_the_redis_crate() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    let redis::Value::Map(fields) = c.value(&["HELLO", "3"]) else {
        panic!("HELLO 3 is not a map");
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == redis::Value::BulkString(name.as_bytes().to_vec()))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} field"))
    };
    assert_eq!(get("server"), redis::Value::BulkString(b"redis".to_vec()));
    assert_eq!(get("version"), redis::Value::BulkString(b"7.0.15".to_vec()));
    assert_eq!(get("proto"), redis::Value::Int(3));
    assert_eq!(get("id"), redis::Value::Int(id));
    assert_eq!(
        get("mode"),
        redis::Value::BulkString(b"standalone".to_vec())
    );
    assert_eq!(get("role"), redis::Value::BulkString(b"master".to_vec()));
    assert_eq!(get("modules"), redis::Value::Array(vec![]));
}

#[test]
fn hello_rejects_unsupported_protocol_versions() {
    let (_server, mut c) = start();
    for version in ["1", "4", "0", "-1"] {
        assert_eq!(
            c.cmd(&["HELLO", version]),
            "-NOPROTO unsupported protocol version\r\n",
            "{version}"
        );
    }
    let not_integer = error("ERR Protocol version is not an integer or out of range");
    assert_eq!(c.line("HELLO abc"), not_integer);
    assert_eq!(c.line("HELLO 3.0"), not_integer);
    assert_eq!(c.line("GET nokey"), NIL);
}

#[test]
fn hello_rejects_bad_options() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("HELLO 2 FOO"),
        error("ERR Syntax error in HELLO option 'FOO'")
    );
    assert_eq!(
        c.line("HELLO 2 AUTH"),
        error("ERR Syntax error in HELLO option 'AUTH'")
    );
    assert_eq!(
        c.line("HELLO 2 AUTH default"),
        error("ERR Syntax error in HELLO option 'AUTH'")
    );
    assert_eq!(
        c.line("HELLO 2 SETNAME"),
        error("ERR Syntax error in HELLO option 'SETNAME'")
    );
    assert_eq!(c.cmd(&["HELLO", "3", "SETNAME", "a b"]), BAD_NAME);
    // Nothing changed: still RESP2.
    assert_eq!(c.line("GET nokey"), NIL);
}

#[test]
fn hello_setname_names_the_connection() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    assert_eq!(c.line("HELLO 2 SETNAME myname"), hello_reply(2, id));
    assert_eq!(c.line("CLIENT GETNAME"), bulk("myname"));
    assert_eq!(c.line("HELLO 2 setname x setname y"), hello_reply(2, id));
    assert_eq!(c.line("CLIENT GETNAME"), bulk("y"));
    assert_eq!(c.cmd(&["HELLO", "2", "SETNAME", ""]), hello_reply(2, id));
    assert_eq!(c.line("CLIENT GETNAME"), NIL);
}

#[test]
fn hello_auth_authenticates_with_requirepass() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(
        c.line("HELLO 2"),
        error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    );
    assert_eq!(c.line("HELLO 3 AUTH default wrong"), WRONGPASS);
    assert_eq!(c.line("GET a"), NOAUTH);
    let reply = c.line("HELLO 3 AUTH default secret SETNAME n1");
    assert!(reply.starts_with("%7\r\n"), "{reply:?}");
    assert_eq!(c.line("CLIENT GETNAME"), bulk("n1"));
    assert_eq!(c.line("GET a"), "_\r\n");
}

#[test]
fn hello_auth_accepts_any_password_without_requirepass() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    assert_eq!(c.line("HELLO 2 AUTH default anything"), hello_reply(2, id));
    assert_eq!(c.line("HELLO 2 AUTH bob anything"), WRONGPASS);
}

// ---- AUTH ----

#[test]
fn auth_without_a_configured_password_is_an_error() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("AUTH foo"),
        error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    );
    // The default user has no password: any password is accepted.
    assert_eq!(c.line("AUTH default foo"), OK);
    assert_eq!(c.line("AUTH bob foo"), WRONGPASS);
    assert_eq!(c.line("AUTH a b c"), SYNTAX);
    assert_eq!(c.line("AUTH"), arity("auth"));
}

#[test]
fn requirepass_refuses_commands_before_auth() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = Raw::connect(server.port);
    for command in ["GET a", "PING", "ECHO x", "CLIENT ID", "SELECT 1"] {
        assert_eq!(c.line(command), NOAUTH, "{command}");
    }
    // Unknown commands and wrong arity are reported before NOAUTH.
    assert_eq!(
        c.line("NOSUCHCMD"),
        error("ERR unknown command 'NOSUCHCMD', with args beginning with: ")
    );
    assert_eq!(c.line("GET"), arity("get"));
}

#[test]
fn requirepass_rejects_wrong_passwords() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("AUTH wrong"), WRONGPASS);
    assert_eq!(c.line("AUTH default wrong"), WRONGPASS);
    assert_eq!(c.line("AUTH bob secret"), WRONGPASS);
    assert_eq!(c.line("AUTH a b c"), SYNTAX);
    assert_eq!(c.line("GET a"), NOAUTH);
}

#[test]
fn auth_with_the_password_unlocks_the_connection() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("AUTH secret"), OK);
    assert_eq!(c.line("GET a"), NIL);
    let mut other = Raw::connect(server.port);
    assert_eq!(other.line("GET a"), NOAUTH);
    assert_eq!(other.line("AUTH default secret"), OK);
    assert_eq!(other.line("PING"), "+PONG\r\n");
}

#[test]
fn redis_crate_authenticates_with_a_url_password() {
    let server = Server::start(&["--requirepass", "secret"]);
    let url = format!("redis://:secret@127.0.0.1:{}/", server.port);
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
    let mut unauthenticated = server.client();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<redis::Value>(&mut unauthenticated)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"));
}

#[test]
fn reset_forgets_the_authentication() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("AUTH secret"), OK);
    assert_eq!(c.line("RESET"), "+RESET\r\n");
    assert_eq!(c.line("GET a"), NOAUTH);
    assert_eq!(c.line("AUTH default secret"), OK);
    assert_eq!(c.line("GET a"), NIL);
}

// ---- SELECT / QUIT / RESET ----

#[test]
fn select_is_per_connection() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("SELECT 1"), OK);
    c.line("SET k one");
    assert_eq!(other.line("GET k"), NIL);
    assert_eq!(other.line("SELECT 1"), OK);
    assert_eq!(other.line("GET k"), bulk("one"));
    assert_eq!(field(&text(&c.line("CLIENT INFO")), "db"), "1");
}

#[test]
fn select_rejects_bad_indexes() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SELECT 16"), error("ERR DB index is out of range"));
    assert_eq!(c.line("SELECT -1"), error("ERR DB index is out of range"));
    assert_eq!(
        c.line("SELECT x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.line("SELECT 1 2"), arity("select"));
}

#[test]
fn quit_replies_ok_and_closes_the_connection() {
    let (_server, mut c) = start();
    assert_eq!(c.line("QUIT"), OK);
    assert!(c.is_closed());
}

#[test]
fn quit_accepts_extra_arguments() {
    let (_server, mut c) = start();
    assert_eq!(c.line("QUIT now"), OK);
    assert!(c.is_closed());
}

#[test]
fn quit_discards_the_rest_of_a_pipeline() {
    let (server, mut c) = start();
    c.send_bytes(b"*1\r\n$4\r\nQUIT\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    assert_eq!(c.reply(), OK);
    assert!(c.is_closed());
    let mut other = Raw::connect(server.port);
    assert_eq!(other.line("EXISTS k"), int(0));
}

#[test]
fn reset_restores_the_connection_defaults() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    c.line("SELECT 2");
    c.line("CLIENT SETNAME me");
    c.line("HELLO 3");
    assert_eq!(c.line("RESET"), "+RESET\r\n");
    assert_eq!(c.line("CLIENT GETNAME"), NIL);
    assert_eq!(c.line("GET nokey"), NIL);
    let info = text(&c.line("CLIENT INFO"));
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "resp"), "2");
    // Same connection, same id.
    assert_eq!(c.int(&["CLIENT", "ID"]), id);
    assert_eq!(c.line("RESET x"), arity("reset"));
}

// ---- CLIENT ----

#[test]
fn client_reply_off_silences_every_reply_until_on() {
    let (_server, mut c) = start();
    c.send(&["CLIENT", "REPLY", "OFF"]);
    c.send(&["SET", "k", "v"]);
    c.send(&["INCR", "k"]); // an error reply, silenced too
    c.send(&["GET", "k"]);
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), OK);
    // The commands ran all the same.
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "MAYBE"]), SYNTAX);
    assert_eq!(c.cmd(&["CLIENT", "REPLY"]), arity("client|reply"));
}

#[test]
fn client_reply_skip_silences_only_the_next_command() {
    let (_server, mut c) = start();
    c.send(&["CLIENT", "REPLY", "SKIP"]);
    c.send(&["SET", "k", "skipped"]);
    assert_eq!(c.cmd(&["GET", "k"]), bulk("skipped"));
    // ON right after SKIP clears it and is answered.
    c.send(&["CLIENT", "REPLY", "SKIP"]);
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), OK);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    // RESET turns replies back on.
    c.send(&["CLIENT", "REPLY", "OFF"]);
    assert_eq!(c.cmd(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_reply_off_still_delivers_pubsub_messages_and_confirmations() {
    let (server, mut c) = start();
    c.line("HELLO 3");
    c.send(&["CLIENT", "REPLY", "OFF"]);
    assert_eq!(
        c.cmd(&["SUBSCRIBE", "ch"]),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    let mut publisher = Raw::connect(server.port);
    assert_eq!(publisher.cmd(&["PUBLISH", "ch", "hi"]), int(1));
    assert_eq!(c.reply(), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
}

#[test]
fn client_id_is_unique_and_increasing() {
    let (server, mut c) = start();
    let first = c.int(&["CLIENT", "ID"]);
    let mut other = Raw::connect(server.port);
    let second = other.int(&["CLIENT", "ID"]);
    assert!(first > 0);
    assert!(second > first);
    assert_eq!(c.int(&["CLIENT", "ID"]), first);
    assert_eq!(c.line("CLIENT ID x"), arity("client|id"));
}

#[test]
fn client_setname_and_getname() {
    let (_server, mut c) = start();
    assert_eq!(c.line("CLIENT GETNAME"), NIL);
    assert_eq!(c.line("CLIENT SETNAME my-conn"), OK);
    assert_eq!(c.line("CLIENT GETNAME"), bulk("my-conn"));
    assert_eq!(field(&text(&c.line("CLIENT INFO")), "name"), "my-conn");
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", ""]), OK);
    assert_eq!(c.line("CLIENT GETNAME"), NIL);
    assert_eq!(c.line("CLIENT GETNAME x"), arity("client|getname"));
    assert_eq!(c.line("CLIENT SETNAME"), arity("client|setname"));
    assert_eq!(c.line("CLIENT SETNAME a b"), arity("client|setname"));
}

#[test]
fn client_setname_rejects_spaces_and_special_characters() {
    let (_server, mut c) = start();
    c.line("CLIENT SETNAME good");
    for name in ["a b", "a\nb", "tab\there", "é", "\x7f"] {
        assert_eq!(c.cmd(&["CLIENT", "SETNAME", name]), BAD_NAME, "{name:?}");
    }
    assert_eq!(c.line("CLIENT GETNAME"), bulk("good"));
}

#[test]
fn client_list_shows_every_connection() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    other.line("CLIENT SETNAME other");
    let other_id = other.int(&["CLIENT", "ID"]);
    let my_id = c.int(&["CLIENT", "ID"]);
    let list = text(&c.line("CLIENT LIST"));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    let other_line = lines
        .iter()
        .find(|l| field(l, "id") == other_id.to_string())
        .expect("the other connection is listed");
    assert_eq!(field(other_line, "name"), "other");
    assert_eq!(field(other_line, "db"), "0");
    assert_eq!(field(other_line, "flags"), "N");
    assert!(field(other_line, "addr").starts_with("127.0.0.1:"));
    assert_eq!(
        field(other_line, "laddr"),
        format!("127.0.0.1:{}", server.port)
    );
    assert!(lines.iter().any(|l| field(l, "id") == my_id.to_string()));
    assert!(list.ends_with('\n'));
}

#[test]
fn client_list_filters_by_type_and_id() {
    let (server, mut c) = start();
    let mut other = Raw::connect(server.port);
    let other_id = other.int(&["CLIENT", "ID"]);
    let my_id = c.int(&["CLIENT", "ID"]);
    assert_eq!(text(&c.line("CLIENT LIST TYPE normal")).lines().count(), 2);
    for kind in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(
            text(&c.cmd(&["CLIENT", "LIST", "TYPE", kind])),
            "",
            "{kind}"
        );
    }
    let listed = text(&c.cmd(&["CLIENT", "LIST", "ID", &other_id.to_string()]));
    assert_eq!(listed.lines().count(), 1);
    assert_eq!(field(&listed, "id"), other_id.to_string());
    // In the order given, unknown ids skipped.
    let listed = text(&c.cmd(&[
        "CLIENT",
        "LIST",
        "ID",
        &other_id.to_string(),
        "99999",
        "0",
        &my_id.to_string(),
    ]));
    let ids: Vec<&str> = listed.lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, [other_id.to_string(), my_id.to_string()]);
}

#[test]
fn client_list_rejects_bad_filters() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("CLIENT LIST TYPE foo"),
        error("ERR Unknown client type 'foo'")
    );
    assert_eq!(c.line("CLIENT LIST ID abc"), error("ERR Invalid client ID"));
    assert_eq!(
        c.line("CLIENT LIST ID 1 abc"),
        error("ERR Invalid client ID")
    );
    for command in [
        "CLIENT LIST FOO",
        "CLIENT LIST ID",
        "CLIENT LIST TYPE",
        "CLIENT LIST TYPE normal ID 1",
        "CLIENT LIST TYPE normal TYPE normal",
    ] {
        assert_eq!(c.line(command), SYNTAX, "{command}");
    }
}

#[test]
fn client_info_describes_this_connection() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]);
    c.line("CLIENT SETNAME me");
    c.line("SELECT 3");
    let info = text(&c.line("CLIENT INFO"));
    assert_eq!(info.lines().count(), 1);
    assert_eq!(field(&info, "id"), id.to_string());
    assert_eq!(field(&info, "name"), "me");
    assert_eq!(field(&info, "db"), "3");
    assert_eq!(field(&info, "user"), "default");
    assert_eq!(field(&info, "resp"), "2");
    assert!(info.ends_with('\n'));
    assert_eq!(c.line("CLIENT INFO x"), arity("client|info"));
}

#[test]
fn client_info_reports_the_running_command() {
    // Redis sets `cmd` before running the command, with its full name.
    let (_server, mut c) = start();
    c.line("GET a");
    let info = text(&c.line("CLIENT INFO"));
    assert_eq!(field(&info, "cmd"), "client|info");
}

#[test]
fn client_info_is_a_verbatim_string_in_resp3() {
    let (_server, mut c) = start();
    c.line("HELLO 3");
    let reply = c.line("CLIENT INFO");
    assert!(reply.starts_with('='), "{reply:?}");
    assert!(reply.contains("\r\ntxt:id="), "{reply:?}");
}

#[test]
fn client_kill_by_id_closes_that_connection() {
    let (server, mut c) = start();
    let mut victim = Raw::connect(server.port);
    let victim_id = victim.int(&["CLIENT", "ID"]);
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        int(1)
    );
    assert!(victim.is_closed());
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "ID", &victim_id.to_string()]),
        int(0)
    );
    assert_eq!(c.line("PING"), "+PONG\r\n");
}

#[test]
fn client_kill_by_addr_closes_that_connection() {
    let (server, mut c) = start();
    let mut victim = Raw::connect(server.port);
    let addr = field(&text(&victim.line("CLIENT INFO")), "addr").to_string();
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ADDR", &addr]), int(1));
    assert!(victim.is_closed());
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ADDR", &addr]), int(0));
}

#[test]
fn client_kill_old_form_takes_an_address() {
    let (server, mut c) = start();
    let mut victim = Raw::connect(server.port);
    let addr = field(&text(&victim.line("CLIENT INFO")), "addr").to_string();
    assert_eq!(c.cmd(&["CLIENT", "KILL", &addr]), OK);
    assert!(victim.is_closed());
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", &addr]),
        error("ERR No such client")
    );
    assert_eq!(
        c.line("CLIENT KILL nosuchaddr"),
        error("ERR No such client")
    );
}

#[test]
fn client_kill_skips_the_caller_unless_skipme_no() {
    let (_server, mut c) = start();
    let id = c.int(&["CLIENT", "ID"]).to_string();
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ID", &id]), int(0));
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "ID", &id, "SKIPME", "yes"]),
        int(0)
    );
    assert_eq!(c.line("PING"), "+PONG\r\n");
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "ID", &id, "SKIPME", "no"]),
        int(1)
    );
    assert!(c.is_closed());
}

#[test]
fn client_kill_by_type_and_user() {
    let (server, mut c) = start();
    let mut victim = Raw::connect(server.port);
    assert_eq!(victim.line("PING"), "+PONG\r\n");
    assert_eq!(c.line("CLIENT KILL TYPE master"), int(0));
    assert_eq!(c.line("CLIENT KILL TYPE pubsub"), int(0));
    assert_eq!(c.line("CLIENT KILL USER default TYPE replica"), int(0));
    assert_eq!(victim.line("PING"), "+PONG\r\n");
    assert_eq!(c.line("CLIENT KILL TYPE normal USER default"), int(1));
    assert!(victim.is_closed());
    assert_eq!(c.line("PING"), "+PONG\r\n");
}

#[test]
fn client_kill_rejects_bad_filters() {
    let (server, mut c) = start();
    let mut bystander = Raw::connect(server.port);
    let positive = error("ERR client-id should be greater than 0");
    assert_eq!(c.line("CLIENT KILL ID abc"), positive);
    assert_eq!(c.line("CLIENT KILL ID 0"), positive);
    assert_eq!(c.line("CLIENT KILL ID -1"), positive);
    assert_eq!(
        c.line("CLIENT KILL TYPE foo"),
        error("ERR Unknown client type 'foo'")
    );
    assert_eq!(
        c.line("CLIENT KILL USER nouser"),
        error("ERR No such user 'nouser'")
    );
    for command in [
        "CLIENT KILL ID 99999 SKIPME maybe",
        "CLIENT KILL FOO bar",
        "CLIENT KILL ID 1 ADDR",
        "CLIENT KILL ID 99999 SKIPME",
        "CLIENT KILL MAXAGE 1",
    ] {
        assert_eq!(c.line(command), SYNTAX, "{command}");
    }
    assert_eq!(c.line("CLIENT KILL"), arity("client|kill"));
    assert_eq!(bystander.line("PING"), "+PONG\r\n");
}

#[test]
fn client_setinfo_sets_library_name_and_version() {
    // CLIENT SETINFO is a Redis 7.2 command that clients send on connect.
    let (_server, mut c) = start();
    assert_eq!(c.line("CLIENT SETINFO lib-name mylib"), OK);
    assert_eq!(c.line("CLIENT SETINFO LIB-VER 1.2.3"), OK);
    let info = text(&c.line("CLIENT INFO"));
    assert_eq!(field(&info, "lib-name"), "mylib");
    assert_eq!(field(&info, "lib-ver"), "1.2.3");
    assert_eq!(
        c.line("CLIENT SETINFO foo bar"),
        error("ERR Unrecognized option 'foo'")
    );
    let reply = c.cmd(&["CLIENT", "SETINFO", "lib-name", "a b"]);
    assert!(
        reply.starts_with("-ERR ")
            && reply.contains("cannot contain spaces, newlines or special characters"),
        "{reply:?}"
    );
    assert_eq!(c.line("CLIENT SETINFO lib-name"), arity("client|setinfo"));
}

// ---- command errors ----

#[test]
fn unknown_command_lists_its_arguments() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("NOSUCHCMD"),
        error("ERR unknown command 'NOSUCHCMD', with args beginning with: ")
    );
    assert_eq!(
        c.line("NOSUCHCMD a b"),
        error("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        c.cmd(&["nosuchcmd", "a b", "c"]),
        error("ERR unknown command 'nosuchcmd', with args beginning with: 'a b' 'c' ")
    );
}

#[test]
fn unknown_command_truncates_long_arguments() {
    let (_server, mut c) = start();
    let name = "Y".repeat(200);
    let first = "a".repeat(200);
    assert_eq!(
        c.cmd(&[name.as_str(), first.as_str(), "bcd"]),
        error(&format!(
            "ERR unknown command '{}', with args beginning with: '{}' ",
            "Y".repeat(128),
            "a".repeat(128)
        ))
    );
    let (a, b) = ("a".repeat(100), "b".repeat(100));
    assert_eq!(
        c.cmd(&["nosuch", a.as_str(), b.as_str(), "c"]),
        error(&format!(
            "ERR unknown command 'nosuch', with args beginning with: '{a}' '{}' ",
            "b".repeat(25)
        ))
    );
}

#[test]
fn wrong_arity_names_the_command_in_lowercase() {
    let (_server, mut c) = start();
    assert_eq!(c.line("GET"), arity("get"));
    assert_eq!(c.line("gEt a b"), arity("get"));
    assert_eq!(c.line("CLIENT"), arity("client"));
    assert_eq!(c.line("CLIENT SETNAME"), arity("client|setname"));
    assert_eq!(c.line("CLIENT HELP x"), arity("client|help"));
}

#[test]
fn unknown_subcommand_suggests_help() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("CLIENT FOO"),
        error("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    );
    assert_eq!(
        c.line("client foo bar"),
        error("ERR unknown subcommand 'foo'. Try CLIENT HELP.")
    );
    let long = "x".repeat(200);
    assert_eq!(
        c.cmd(&["CLIENT", long.as_str()]),
        error(&format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            "x".repeat(128)
        ))
    );
}

#[test]
fn errors_through_the_redis_crate_carry_code_and_detail() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let err = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("NX")
        .arg("XX")
        .query::<redis::Value>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    assert_eq!(err.detail(), Some("syntax error"));
    let err = redis::cmd("HELLO")
        .arg("4")
        .query::<redis::Value>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOPROTO"));
    assert_eq!(err.detail(), Some("unsupported protocol version"));
}
