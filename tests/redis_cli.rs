//! The server through `redis-cli`, the way people use it from a shell. The
//! outputs are those redis-cli prints against Redis 7.0.15. Each test skips
//! with a note when redis-cli is not installed (CI installs it).

mod common;

use common::{redis_cli, Server};
use std::io::Write;
use std::process::{Command, Stdio};

fn have_redis_cli() -> bool {
    let found = Command::new("redis-cli")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("note: redis-cli is not installed; skipping this test");
    }
    found
}

/// Runs redis-cli against `server` and returns its standard output.
fn cli(server: &Server, args: &[&str]) -> String {
    redis_cli(server.port, args).expect("run redis-cli")
}

/// Runs redis-cli with `input` on its standard input.
fn cli_with_input(server: &Server, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(server.port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run redis-cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let output = child.wait_with_output().expect("redis-cli output");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn cli_ping() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["ping"]), "PONG\n");
    assert_eq!(cli(&server, &["--no-raw", "ping"]), "PONG\n");
    assert_eq!(cli(&server, &["ping", "hello"]), "hello\n");
}

#[test]
fn cli_set_and_get() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["set", "k", "v"]), "OK\n");
    assert_eq!(cli(&server, &["get", "k"]), "v\n");
    assert_eq!(cli(&server, &["get", "nokey"]), "\n");
    assert_eq!(cli(&server, &["set", "spaced", "a b c"]), "OK\n");
    assert_eq!(cli(&server, &["get", "spaced"]), "a b c\n");
}

#[test]
fn cli_raw_and_formatted_output() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    cli(&server, &["set", "k", "v"]);
    assert_eq!(cli(&server, &["--raw", "get", "k"]), "v\n");
    assert_eq!(cli(&server, &["--no-raw", "get", "k"]), "\"v\"\n");
    assert_eq!(cli(&server, &["--no-raw", "get", "nokey"]), "(nil)\n");
    assert_eq!(cli(&server, &["--no-raw", "incr", "n"]), "(integer) 1\n");
    assert_eq!(cli(&server, &["incr", "n"]), "2\n");
}

#[test]
fn cli_arrays() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["mset", "a", "1", "b", "2"]), "OK\n");
    assert_eq!(cli(&server, &["mget", "a", "nokey", "b"]), "1\n\n2\n");
    assert_eq!(
        cli(&server, &["--no-raw", "mget", "a", "nokey", "b"]),
        "1) \"1\"\n2) (nil)\n3) \"2\"\n"
    );
}

#[test]
fn cli_errors() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(
        cli(&server, &["get"]),
        "ERR wrong number of arguments for 'get' command\n\n"
    );
    assert_eq!(
        cli(&server, &["--no-raw", "get"]),
        "(error) ERR wrong number of arguments for 'get' command\n"
    );
    assert_eq!(
        cli(&server, &["--no-raw", "client", "setname", "a b"]),
        "(error) ERR Client names cannot contain spaces, newlines or special characters.\n"
    );
}

#[test]
fn cli_reads_the_last_argument_from_stdin_with_x() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(
        cli_with_input(&server, &["-x", "set", "piped"], b"hello\nworld"),
        "OK\n"
    );
    assert_eq!(cli(&server, &["get", "piped"]), "hello\nworld\n");
    assert_eq!(cli(&server, &["strlen", "piped"]), "11\n");
}

#[test]
fn cli_selects_a_database_with_n() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["-n", "2", "set", "k", "x"]), "OK\n");
    assert_eq!(cli(&server, &["-n", "2", "get", "k"]), "x\n");
    assert_eq!(cli(&server, &["get", "k"]), "\n");
    assert_eq!(cli(&server, &["-n", "2", "dbsize"]), "1\n");
}

#[test]
fn cli_info_keyspace() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    cli(&server, &["mset", "a", "1", "b", "2"]);
    cli(&server, &["-n", "2", "set", "c", "3"]);
    let info = cli(&server, &["info", "keyspace"]);
    let lines: Vec<&str> = info.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines[0], "# Keyspace");
    assert!(
        lines[1].starts_with("db0:keys=2,expires=0,avg_ttl="),
        "{info:?}"
    );
    assert!(
        lines[2].starts_with("db2:keys=1,expires=0,avg_ttl="),
        "{info:?}"
    );
}

#[test]
fn cli_scan_lists_matching_keys() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    let mut args = vec!["mset".to_string()];
    for i in 0..100 {
        args.push(format!("key:{i}"));
        args.push(i.to_string());
    }
    args.extend(["other".to_string(), "x".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(cli(&server, &args), "OK\n");
    let listed = cli(&server, &["--scan", "--pattern", "key:*"]);
    let mut keys: Vec<&str> = listed.lines().collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 100);
    assert!(keys.iter().all(|k| k.starts_with("key:")));
}

#[test]
fn cli_authenticates_with_a() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&["--requirepass", "secret"]);
    assert_eq!(
        cli(&server, &["--no-raw", "get", "k"]),
        "(error) NOAUTH Authentication required.\n"
    );
    assert_eq!(
        cli(
            &server,
            &["-a", "secret", "--no-auth-warning", "set", "k", "v"]
        ),
        "OK\n"
    );
    assert_eq!(
        cli(&server, &["-a", "secret", "--no-auth-warning", "get", "k"]),
        "v\n"
    );
}

#[test]
fn cli_resp3_hello() {
    if !have_redis_cli() {
        return;
    }
    let server = Server::start(&[]);
    let hello = cli(&server, &["--no-raw", "hello", "3"]);
    let lines: Vec<&str> = hello.lines().collect();
    assert_eq!(lines[0], "1# \"server\" => \"redis\"");
    assert_eq!(lines[1], "2# \"version\" => \"7.0.15\"");
    assert_eq!(lines[2], "3# \"proto\" => (integer) 3");
    assert_eq!(cli(&server, &["-3", "--no-raw", "get", "nokey"]), "(nil)\n");
}
