//! Configuration through the real binary: files, `--name value`, start-up
//! errors, and CONFIG GET/SET/REWRITE/RESETSTAT at run time.

mod common;
use common::Server;
use redis::Commands;
use std::process::Command;

fn config_get(con: &mut redis::Connection, pattern: &str) -> Vec<String> {
    redis::cmd("CONFIG")
        .arg("GET")
        .arg(pattern)
        .query(con)
        .unwrap()
}

fn start_with_args(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_redstone-server"))
        .args(args)
        .output()
        .expect("run redstone-server")
}

#[test]
fn unknown_option_stops_start_up_naming_it() {
    let out = start_with_args(&["--no-such-option", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-option"), "{stderr}");
    assert!(
        stderr.contains("Bad directive or wrong number of arguments"),
        "{stderr}"
    );
}

#[test]
fn bad_value_in_a_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redstone.conf");
    std::fs::write(&file, "# comment\nport abc\n").unwrap();
    let out = start_with_args(&[file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at line 2"), "{stderr}");
    assert!(stderr.contains("'port abc'"), "{stderr}");
    assert!(
        stderr.contains("argument couldn't be parsed into an integer"),
        "{stderr}"
    );
}

#[test]
fn options_from_a_file_and_the_command_line_apply() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redstone.conf");
    std::fs::write(&file, "maxclients 77\ntimeout 5\n").unwrap();
    let server = Server::start(&[file.to_str().unwrap(), "--timeout", "9"]);
    let mut con = server.client();
    assert_eq!(config_get(&mut con, "maxclients"), ["maxclients", "77"]);
    assert_eq!(config_get(&mut con, "timeout"), ["timeout", "9"]);
}

#[test]
fn config_get_matches_globs() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let pairs = config_get(&mut con, "slowlog-*");
    assert_eq!(
        pairs,
        ["slowlog-log-slower-than", "10000", "slowlog-max-len", "128"]
    );
    assert_eq!(config_get(&mut con, "appendonly"), ["appendonly", "yes"]);
    assert_eq!(config_get(&mut con, "save"), ["save", ""]);
    assert!(config_get(&mut con, "nothing-matches-*").is_empty());
}

#[test]
fn config_set_is_validated_and_all_or_nothing() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let err = redis::cmd("CONFIG")
        .arg(&["SET", "maxclients", "50", "timeout", "abc"])
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("CONFIG SET failed (possibly related to argument 'timeout')"),
        "{err}"
    );
    assert_eq!(config_get(&mut con, "maxclients"), ["maxclients", "10000"]);
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxclients", "50", "timeout", "3"])
        .query(&mut con)
        .unwrap();
    assert_eq!(config_get(&mut con, "maxclients"), ["maxclients", "50"]);
    assert_eq!(config_get(&mut con, "timeout"), ["timeout", "3"]);
    let err = redis::cmd("CONFIG")
        .arg(&["SET", "port", "1234"])
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string().contains("can't set immutable config"),
        "{err}"
    );
}

#[test]
fn config_set_requirepass_takes_effect_for_new_connections() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "pw"])
        .query(&mut con)
        .unwrap();
    let mut other = server.client();
    let err = other.get::<_, Option<String>>("k").unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"));
    let _: () = redis::cmd("AUTH").arg("pw").query(&mut other).unwrap();
    assert_eq!(other.get::<_, Option<String>>("k").unwrap(), None);
}

#[test]
fn config_set_proto_max_bulk_len_limits_new_requests() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "proto-max-bulk-len", "1mb"])
        .query(&mut con)
        .unwrap();
    let mut raw = server.raw();
    let reply = common::exchange(
        &mut raw,
        b"*2\r\n$3\r\nGET\r\n$2000000\r\n",
        std::time::Duration::from_secs(3),
    );
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
}

#[test]
fn config_rewrite_writes_the_running_values_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redstone.conf");
    std::fs::write(&file, "# keep me\nmaxclients 100\n").unwrap();
    let server = Server::start(&[file.to_str().unwrap()]);
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxclients", "222", "hz", "20"])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# keep me"), "{text}");
    assert!(text.contains("maxclients 222"), "{text}");
    assert!(text.contains("hz 20"), "{text}");
}

#[test]
fn config_rewrite_without_a_file_is_an_error() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let err = redis::cmd("CONFIG")
        .arg("REWRITE")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("The server is running without a config file"),
        "{err}"
    );
}

#[test]
fn config_resetstat_clears_counters() {
    let server = Server::start(&[]);
    let mut con = server.client();
    for _ in 0..10 {
        let _: Option<String> = con.get("missing").unwrap();
    }
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    assert!(info.contains("keyspace_misses:0"), "{info}");
}

#[test]
fn function_and_script_flush_succeed() {
    let server = Server::start(&[]);
    let mut con = server.client();
    for args in [
        &["FUNCTION", "FLUSH"][..],
        &["FUNCTION", "FLUSH", "ASYNC"],
        &["SCRIPT", "FLUSH"],
        &["SCRIPT", "FLUSH", "SYNC"],
    ] {
        let reply: String = redis::cmd(args[0]).arg(&args[1..]).query(&mut con).unwrap();
        assert_eq!(reply, "OK");
    }
    let err = redis::cmd("SCRIPT")
        .arg(&["FLUSH", "BAD"])
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("SCRIPT FLUSH only support SYNC|ASYNC option"),
        "{err}"
    );
}
