//! Functions through the real binary: FUNCTION LOAD, LIST, DELETE, FCALL
//! and FCALL_RO, the flags, FUNCTION KILL of a looping function, DUMP and
//! RESTORE with each policy, libraries surviving a restart and FLUSHALL.
//! Replies are compared with redis-server 7.0 call by call in
//! `tests/clients/redis_py_families.py` (FUNCTIONS), and libraries reach
//! replicas in `tests/replication.rs`.

mod common;
mod resp;

use resp::{bulk, bulks, error, int, start, start_cluster, Raw, OK};
use std::time::{Duration, Instant};

/// A library `name` whose function `function` runs `body` with
/// `KEYS` and `ARGV` as parameters.
fn library(name: &str, function: &str, body: &str) -> String {
    format!(
        "#!lua name={name}\nredis.register_function('{function}', function(KEYS, ARGV) {body} end)"
    )
}

/// The same with the named-argument form and `flags`.
fn library_with_flags(name: &str, function: &str, flags: &str, body: &str) -> String {
    format!(
        "#!lua name={name}\nredis.register_function{{function_name='{function}', callback=function(KEYS, ARGV) {body} end, flags={{{flags}}}}}"
    )
}

fn load(c: &mut Raw, code: &str) -> String {
    c.cmd(&["FUNCTION", "LOAD", code])
}

#[test]
fn a_loaded_function_is_called_with_its_keys_and_arguments_until_deleted() {
    let (_server, mut c) = start();
    let code = library(
        "lib",
        "setget",
        "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
    );
    assert_eq!(load(&mut c, &code), bulk("lib"));
    assert_eq!(
        load(&mut c, &code),
        error("ERR Library 'lib' already exists")
    );
    assert_eq!(c.cmd(&["FCALL", "SETGET", "1", "k", "v"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "WITHCODE"]),
        format!(
            "*1\r\n*8\r\n{}{}{}{}{}*1\r\n*6\r\n{}{}{}$-1\r\n{}*0\r\n{}{}",
            bulk("library_name"),
            bulk("lib"),
            bulk("engine"),
            bulk("LUA"),
            bulk("functions"),
            bulk("name"),
            bulk("setget"),
            bulk("description"),
            bulk("flags"),
            bulk("library_code"),
            bulk(&code)
        )
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"]),
        "*0\r\n"
    );
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "lib"]), OK);
    assert_eq!(
        c.cmd(&["FCALL", "setget", "1", "k", "v"]),
        error("ERR Function not found")
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "DELETE", "lib"]),
        error("ERR Library not found")
    );
}

#[test]
fn flags_limit_what_a_function_may_do() {
    let (_server, mut c) = start();
    let writes = library("w", "writes", "return redis.call('set', 'x', '1')");
    assert_eq!(load(&mut c, &writes), bulk("w"));
    assert_eq!(
        c.cmd(&["FCALL_RO", "writes", "0"]),
        error("ERR Can not execute a script with write flag using *_ro command.")
    );
    let sneaky = library_with_flags(
        "r",
        "sneaky",
        "'no-writes'",
        "return redis.call('set', 'x', '1')",
    );
    assert_eq!(load(&mut c, &sneaky), bulk("r"));
    assert!(c
        .cmd(&["FCALL", "sneaky", "0"])
        .starts_with("-ERR Write commands are not allowed from read-only scripts."));
    let reads = library_with_flags("g", "reads", "'no-writes'", "return redis.call('get', 'x')");
    assert_eq!(load(&mut c, &reads), bulk("g"));
    assert_eq!(c.cmd(&["SET", "x", "7"]), OK);
    assert_eq!(c.cmd(&["FCALL_RO", "reads", "0"]), bulk("7"));
    assert_eq!(
        load(
            &mut c,
            &library_with_flags("b", "bad", "'no-such-flag'", "return 1")
        ),
        error("ERR Error registering functions: ERR unknown flag given")
    );
}

#[test]
fn a_no_cluster_function_is_refused_in_cluster_mode() {
    let (_server, mut c) = start_cluster();
    let code = library_with_flags("nc", "nc", "'no-cluster'", "return 1");
    assert_eq!(load(&mut c, &code), bulk("nc"));
    assert_eq!(
        c.cmd(&["FCALL", "nc", "0"]),
        error("ERR Can not run script on cluster, 'no-cluster' flag is set.")
    );
}

#[test]
fn function_kill_stops_a_looping_function_and_only_a_function() {
    let (server, mut c) = start();
    assert_eq!(c.line("CONFIG SET busy-reply-threshold 100"), OK);
    let code = library("loop", "spin", "local i = 0 while true do i = i + 1 end");
    assert_eq!(load(&mut c, &code), bulk("loop"));
    assert_eq!(
        c.line("FUNCTION KILL"),
        error("NOTBUSY No scripts in execution right now.")
    );
    let mut looping = Raw::connect(server.port);
    looping.send(&["FCALL", "spin", "0"]);
    let busy = error(
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.line("PING") != busy {
        assert!(Instant::now() < deadline, "never BUSY");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.line("SCRIPT KILL"), busy, "SCRIPT KILL leaves functions");
    let stats = c.line("FUNCTION STATS");
    assert!(
        stats.contains(&format!("{}{}", bulk("name"), bulk("spin")))
            && stats.contains(&bulks(&["FCALL", "spin", "0"])),
        "{stats}"
    );
    assert_eq!(c.line("FUNCTION KILL"), OK);
    assert_eq!(
        looping.reply(),
        error("ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.")
    );
    assert_eq!(c.line("PING"), "+PONG\r\n");
    // Long enough for the kill check to run while it loads.
    let busy_top_level = "#!lua name=next\nfor i = 1, 1000000 do end\nredis.register_function('next', function() return 1 end)";
    assert_eq!(
        load(&mut c, busy_top_level),
        bulk("next"),
        "a kill is over once the function stopped"
    );

    looping.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    let busy_script = error(
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    );
    while c.line("PING") != busy_script {
        assert!(Instant::now() < deadline, "never BUSY");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        c.line("FUNCTION KILL"),
        busy_script,
        "FUNCTION KILL leaves scripts"
    );
    assert_eq!(c.line("FUNCTION STATS"), busy_script);
    assert_eq!(c.line("SCRIPT KILL"), OK);
    assert!(looping.reply().starts_with("-ERR Script killed by user"));
}

#[test]
fn a_library_whose_top_level_runs_too_long_is_not_loaded() {
    let (_server, mut c) = start();
    let started = Instant::now();
    assert_eq!(
        load(
            &mut c,
            "#!lua name=slow\nlocal i = 0 while true do i = i + 1 end"
        ),
        error("ERR Error registering functions: ERR FUNCTION LOAD timeout")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(c.line("FUNCTION LIST"), "*0\r\n");
}

#[test]
fn libraries_survive_a_restart_and_flushall() {
    let (mut server, mut c) = start();
    assert_eq!(load(&mut c, &library("a", "fa", "return 'a'")), bulk("a"));
    assert_eq!(load(&mut c, &library("b", "fb", "return 'b'")), bulk("b"));
    assert_eq!(c.line("FUNCTION DELETE b"), OK);
    assert_eq!(c.line("FLUSHALL"), OK);
    assert_eq!(c.line("FCALL fa 0"), bulk("a"), "FLUSHALL leaves functions");
    server.kill9();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("FCALL fa 0"), bulk("a"));
    assert_eq!(c.line("FCALL fb 0"), error("ERR Function not found"));
    assert_eq!(c.line("FUNCTION FLUSH"), OK);
    server.kill9();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("FUNCTION LIST"), "*0\r\n");
}

#[test]
fn dump_and_restore_follow_each_policy() {
    let (_server, mut c) = start();
    assert_eq!(load(&mut c, &library("a", "fa", "return 1")), bulk("a"));
    let payload = c.cmd_bytes(&["FUNCTION", "DUMP"]);
    let payload = dump_payload(&payload);
    let restore = |c: &mut Raw, policy: &[&[u8]]| {
        let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", &payload];
        args.extend_from_slice(policy);
        c.cmd(&args)
    };
    // APPEND (the default): a library of the same name is an error.
    assert_eq!(restore(&mut c, &[]), error("ERR Library a already exists"));
    assert_eq!(
        restore(&mut c, &[b"APPEND"]),
        error("ERR Library a already exists")
    );
    // REPLACE: it replaces the one of the same name, keeps the others.
    assert_eq!(c.line("FUNCTION DELETE a"), OK);
    assert_eq!(load(&mut c, &library("a", "old", "return 0")), bulk("a"));
    assert_eq!(load(&mut c, &library("b", "fb", "return 2")), bulk("b"));
    assert_eq!(restore(&mut c, &[b"REPLACE"]), OK);
    assert_eq!(c.line("FCALL fa 0"), int(1));
    assert_eq!(c.line("FCALL old 0"), error("ERR Function not found"));
    assert_eq!(c.line("FCALL fb 0"), int(2));
    // A function of another library that stays: an error, nothing changes.
    assert_eq!(c.line("FUNCTION DELETE a"), OK);
    assert_eq!(load(&mut c, &library("c", "fa", "return 3")), bulk("c"));
    assert_eq!(
        restore(&mut c, &[b"REPLACE"]),
        error("ERR Function fa already exists")
    );
    assert_eq!(c.line("FCALL fa 0"), int(3));
    // FLUSH: only the payload's libraries are left.
    assert_eq!(restore(&mut c, &[b"FLUSH"]), OK);
    assert_eq!(c.line("FCALL fa 0"), int(1));
    assert_eq!(c.line("FCALL fb 0"), error("ERR Function not found"));
    assert_eq!(
        restore(&mut c, &[b"bad"]),
        error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "RESTORE", "bad_payload"]),
        error("ERR DUMP payload version or checksum are wrong")
    );
    assert_eq!(
        c.line("FCALL fa 0"),
        int(1),
        "a bad payload changes nothing"
    );
}

/// The bytes of a bulk string reply.
fn dump_payload(reply: &[u8]) -> Vec<u8> {
    let header_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a bulk reply");
    let len: usize = std::str::from_utf8(&reply[1..header_end])
        .expect("a length")
        .parse()
        .expect("a length");
    reply[header_end + 2..header_end + 2 + len].to_vec()
}

#[test]
fn on_a_stale_replica_only_allow_stale_functions_run_and_only_stale_commands() {
    let (_server, mut c) = start();
    let code = "#!lua name=stale
redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}
redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}
redis.register_function{function_name='f4', callback=function() return redis.call('info', 'server') end, flags={'allow-stale', 'no-writes'}}";
    assert_eq!(load(&mut c, code), bulk("stale"));
    assert_eq!(c.line("CONFIG SET replica-serve-stale-data no"), OK);
    // A master that is not there: the link never comes up.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    assert_eq!(c.line(&format!("REPLICAOF 127.0.0.1 {port}")), OK);
    assert_eq!(
        c.line("FCALL f1 0"),
        error("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.")
    );
    assert_eq!(c.line("FCALL f2 0"), bulk("hello"));
    assert!(c
        .line("FCALL f3 0")
        .starts_with("-ERR Can not execute the command on a stale replica script: f3"));
    assert!(
        c.line("FCALL f4 0").contains("redis_version"),
        "INFO is stale"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "0"]),
        error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
    );
}

#[test]
fn a_redstone_replica_gets_the_libraries_and_refuses_to_change_them() {
    let (master, mut m) = start();
    let writes = library("w", "writes", "return redis.call('set', 'x', '1')");
    assert_eq!(load(&mut m, &writes), bulk("w"));
    let (_replica, mut r) = start();
    assert_eq!(r.line(&format!("REPLICAOF 127.0.0.1 {}", master.port)), OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !r.line("INFO replication").contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "the link never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let reads = library_with_flags("r", "reads", "'no-writes'", "return redis.call('get', 'x')");
    assert_eq!(load(&mut m, &reads), bulk("r"));
    assert_eq!(m.line("FCALL writes 0"), OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while r.line("FCALL reads 0") != bulk("1") {
        assert!(Instant::now() < deadline, "the function's write never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    let readonly = error("READONLY You can't write against a read only replica.");
    assert_eq!(r.line("FCALL writes 0"), readonly);
    assert_eq!(load(&mut r, &library("mine", "mine", "return 1")), readonly);
    assert_eq!(r.line("FUNCTION DELETE w"), readonly);
    assert_eq!(r.line("FUNCTION LIST"), m.line("FUNCTION LIST"));
}
