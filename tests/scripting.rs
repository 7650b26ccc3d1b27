//! Lua scripts through the real binary: atomicity against other clients,
//! BUSY and SCRIPT KILL, SHUTDOWN NOSAVE under a script that wrote, EVAL
//! inside MULTI, and the one-slot rule in cluster mode. Replies are
//! compared with redis-server 7.0 call by call in
//! `tests/clients/redis_py_families.py`, and script effects reach replicas
//! in `tests/replication.rs`.

mod common;
mod resp;

use common::Server;
use resp::{bulk, error, int, start, start_cluster, Raw, NIL, OK};
use std::time::{Duration, Instant};

const BUSY: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const FOREVER: &str = "local i = 0 while true do i = i + 1 end";

/// Waits until `c` gets BUSY for PING: a script of another client has run
/// past the threshold.
fn wait_busy(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.line("PING") != BUSY {
        assert!(Instant::now() < deadline, "never BUSY");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_script_is_atomic_for_other_clients() {
    let server = Server::start(&[]);
    let port = server.port;
    let mut c = Raw::connect(port);
    assert_eq!(c.line("MSET a 0 b 0"), OK);
    let reader = resp::check_pairs_untorn(port, "script");
    for i in 1..200 {
        let reply = c.cmd(&[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]); redis.call('set', KEYS[2], ARGV[1]); return 1",
            "2",
            "a",
            "b",
            &i.to_string(),
        ]);
        assert_eq!(reply, int(1));
    }
    reader.join().expect("reader");
    assert_eq!(c.line("MGET a b"), "*2\r\n$3\r\n199\r\n$3\r\n199\r\n");
}

#[test]
fn a_long_script_gets_busy_replies_and_script_kill_stops_it() {
    let (server, mut c) = start();
    assert_eq!(c.line("CONFIG SET lua-time-limit 100"), OK);
    assert_eq!(
        c.line("SCRIPT KILL"),
        error("NOTBUSY No scripts in execution right now.")
    );
    let mut looping = Raw::connect(server.port);
    looping.send(&["EVAL", FOREVER, "0"]);
    wait_busy(&mut c);
    assert_eq!(c.line("GET x"), BUSY);
    // Writes are answered at once too, not after the script; an EXEC is
    // refused whole, with the reason (Redis' execCommandAbort).
    assert_eq!(c.line("SET x 1"), BUSY);
    let mut queued = Raw::connect(server.port);
    assert_eq!(queued.line("MULTI"), OK);
    assert_eq!(queued.line("PING"), BUSY);
    assert_eq!(
        queued.line("EXEC"),
        format!(
            "-EXECABORT Transaction discarded because of: {}",
            &BUSY[1..]
        )
    );
    // Connections opened while it runs are served too (the script's
    // worker thread once kept the accepting task to itself), and one of
    // them is where SCRIPT KILL comes from, as from a new redis-cli.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut late = Raw::connect(server.port);
    assert_eq!(late.line("PING"), BUSY);
    let mut killer = Raw::connect(server.port);
    assert_eq!(killer.line("SCRIPT KILL"), OK);
    assert_eq!(
        looping.reply(),
        error(&format!(
            "ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:1.",
            redstone::script::sha1hex(FOREVER.as_bytes())
        ))
    );
    assert_eq!(c.line("PING"), "+PONG\r\n");
    assert_eq!(looping.line("PING"), "+PONG\r\n", "its client goes on");
    assert_eq!(queued.line("PING"), "+PONG\r\n", "out of the transaction");
}

#[test]
fn a_script_that_wrote_cannot_be_killed_and_shutdown_nosave_drops_its_writes() {
    let (mut server, mut c) = start();
    assert_eq!(c.line("CONFIG SET busy-reply-threshold 100"), OK);
    assert_eq!(c.line("SET before 1"), OK);
    let mut looping = Raw::connect(server.port);
    looping.send(&[
        "EVAL",
        &format!("redis.call('set', 'during', 1) {FOREVER}"),
        "0",
    ]);
    wait_busy(&mut c);
    assert!(c
        .line("SCRIPT KILL")
        .starts_with("-UNKILLABLE Sorry the script already executed write commands"));
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(server.wait_exit().success());
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("GET before"), bulk("1"));
    assert_eq!(c.line("GET during"), NIL, "half a script was kept");
}

#[test]
fn shebang_flags() {
    let (_server, mut c) = start();
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get', 'k')",
            "0"
        ]),
        NIL
    );
    let refused = c.cmd(&[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('set', 'k', 1)",
        "0",
    ]);
    assert!(
        refused.starts_with("-ERR Write commands are not allowed from read-only scripts."),
        "{refused}"
    );
    assert_eq!(
        c.cmd(&["EVAL", "#!lua flags=bogus\nreturn 1", "0"]),
        error("ERR Unexpected flag in script shebang: bogus")
    );
    assert_eq!(
        c.cmd(&["EVAL", "#!python\nreturn 1", "0"]),
        error("ERR Unexpected engine in script shebang: #!python")
    );
    // The shebang line counts in the error's line number.
    let failing = "#!lua\n\nerror('x')";
    let reply = c.cmd(&["EVAL", failing, "0"]);
    assert!(reply.contains("on @user_script:3."), "{reply}");
}

#[test]
fn scripts_inside_multi_and_commands_refused_from_scripts() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("SET k 1"), "+QUEUED\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('incr', 'k')", "0"]),
        "+QUEUED\r\n"
    );
    assert_eq!(c.line("EXEC"), format!("*2\r\n{OK}{}", int(2)));
    let refused = c.cmd(&["EVAL", "return redis.pcall('multi')", "0"]);
    assert_eq!(
        refused,
        error("ERR This Redis command is not allowed from script")
    );
    // Blocking commands are refused too, as in Redis 7.0 (NOSCRIPT).
    let refused = c.cmd(&["EVAL", "return redis.pcall('blpop', 'none', 0)", "0"]);
    assert_eq!(
        refused,
        error("ERR This Redis command is not allowed from script")
    );
    // A script's SELECT holds for the script only.
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "redis.call('select', 5); return redis.call('set', 'in5', 'x')",
            "0"
        ]),
        OK
    );
    assert_eq!(c.line("GET in5"), NIL);
    assert_eq!(c.line("SELECT 5"), OK);
    assert_eq!(c.line("GET in5"), bulk("x"));
}

/// In cluster mode: declared keys of one slot (CROSSSLOT otherwise); a
/// script with a shebang keeps to that slot, one without may touch any
/// key served here, as in Redis 7.0; `no-cluster` refuses to run.
#[test]
fn in_cluster_mode_scripts_keep_to_the_slots_served_here() {
    let (_server, mut c) = start_cluster();
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "2", "a", "b"]),
        error("CROSSSLOT Keys in request don't hash to the same slot")
    );
    let set = "return redis.call('set', KEYS[1], 'v')";
    assert_eq!(c.cmd(&["EVAL", set, "1", "{t}a"]), OK);
    let elsewhere = "#!lua\nreturn redis.call('get', 'elsewhere')";
    let sha = c.cmd(&["SCRIPT", "LOAD", elsewhere]);
    let sha = sha.lines().nth(1).expect("a sha");
    assert_eq!(
        c.cmd(&["EVAL", elsewhere, "1", "{t}a"]),
        error(&format!(
            "ERR Script attempted to access keys that do not hash to the same slot script: {sha}, on @user_script:2."
        ))
    );
    let compat = "redis.call('set', 'elsewhere', 1); return redis.call('get', KEYS[1])";
    assert_eq!(c.cmd(&["EVAL", compat, "1", "{t}a"]), bulk("v"));
    let allowed = format!("#!lua flags=allow-cross-slot-keys\n{compat}");
    assert_eq!(c.cmd(&["EVAL", &allowed, "1", "{t}a"]), bulk("v"));
    assert_eq!(
        c.cmd(&["EVAL", "#!lua flags=no-cluster\nreturn 1", "0"]),
        error("ERR Can not run script on cluster, 'no-cluster' flag is set.")
    );
}

/// cjson's 1000 levels of nesting, both ways, on the server's own threads
/// (a stack overflow would take the whole server down).
#[test]
fn deeply_nested_json_is_refused_not_a_crash() {
    let (_server, mut c) = start();
    let script = "return cjson.encode(cjson.decode(ARGV[1]))";
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // The innermost empty table comes back as an object, as lua-cjson has it.
    let back = format!("{}{{}}{}", "[".repeat(999), "]".repeat(999));
    assert!(c.cmd(&["EVAL", script, "0", &nested(1000)]) == bulk(&back));
    let refused = c.cmd(&["EVAL", script, "0", &nested(1001)]);
    assert!(
        refused.starts_with("-ERR user_script:1: Found too many nested data structures (1001)"),
        "{refused}"
    );
    let refused = c.cmd(&["EVAL", "local t = {} t[1] = t return cjson.encode(t)", "0"]);
    assert!(
        refused.starts_with("-ERR user_script:1: Cannot serialise, excessive nesting (1001)"),
        "{refused}"
    );
    assert_eq!(c.line("PING"), "+PONG\r\n");
}
