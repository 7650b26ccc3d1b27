//! Server commands against a real server: INFO, TIME, LASTSAVE, SAVE,
//! BGSAVE, SLOWLOG, COMMAND and MONITOR, with the replies Redis 7.0.15
//! gives.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, bulks, error, int, start, strings, Raw, OK, SYNTAX};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The text of a bulk reply.
fn text(reply: &str) -> String {
    let body = reply.split_once("\r\n").map_or("", |(_, body)| body);
    body.strip_suffix("\r\n").unwrap_or(body).to_string()
}

/// The value of `name:value` in INFO text.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(str::to_string)
}

// ---- INFO ----

#[test]
fn info_has_the_redis_field_names() {
    let (server, mut c) = start();
    let info = text(&c.line("INFO"));
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(info.lines().any(|l| l == section), "no {section}");
    }
    assert_eq!(
        info_field(&info, "redis_version").as_deref(),
        Some("7.0.15")
    );
    assert_eq!(
        info_field(&info, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    for name in [
        "used_memory",
        "total_commands_processed",
        "used_cpu_sys",
        "used_cpu_user",
        "uptime_in_seconds",
        "tcp_port",
        "process_id",
        "run_id",
    ] {
        assert!(info_field(&info, name).is_some(), "no {name}");
    }
    let clients: u64 = info_field(&info, "connected_clients")
        .unwrap()
        .parse()
        .unwrap();
    assert!(clients >= 1);
    let used_memory: u64 = info_field(&info, "used_memory").unwrap().parse().unwrap();
    assert!(used_memory > 0);
    let port = info_field(&info, "tcp_port").unwrap();
    assert_eq!(port, server.port.to_string());
    let aof = info_field(&info, "aof_enabled").unwrap();
    assert!(aof == "0" || aof == "1", "aof_enabled:{aof}");
    assert!(info.ends_with("\r\n"));
}

#[test]
fn info_keyspace_lists_databases_with_keys() {
    let (_server, mut c) = start();
    assert_eq!(c.line("INFO keyspace"), bulk("# Keyspace\r\n"));
    c.line("MSET a 1 b 2 c 3");
    c.line("EXPIRE a 100");
    c.line("SELECT 2");
    c.line("SET x 1");
    let info = text(&c.line("INFO keyspace"));
    let db0 = info_field(&info, "db0").expect("db0 line");
    assert!(db0.starts_with("keys=3,expires=1,avg_ttl="), "{db0}");
    let db2 = info_field(&info, "db2").expect("db2 line");
    assert!(db2.starts_with("keys=1,expires=0,avg_ttl="), "{db2}");
    assert!(info_field(&info, "db1").is_none());
    assert!(!info.contains("# Server"));
}

#[test]
fn info_accepts_several_sections_case_insensitively() {
    let (_server, mut c) = start();
    let info = text(&c.line("INFO SERVER clients"));
    assert!(info.contains("# Server\r\n"));
    assert!(info.contains("# Clients\r\n"));
    assert!(!info.contains("# Memory"));
    assert_eq!(c.line("INFO nosuchsection"), bulk(""));
}

#[test]
fn info_commandstats_counts_calls_failures_and_rejections() {
    let server = Server::start(&["--requirepass", "pw"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("GET k"), error("NOAUTH Authentication required."));
    assert_eq!(c.line("AUTH pw"), OK);
    c.line("SET k v");
    c.line("GET k");
    c.line("LPUSH k x");
    let info = text(&c.line("INFO commandstats"));
    assert!(info.starts_with("# Commandstats\r\n"), "{info}");
    let get = info_field(&info, "cmdstat_get").unwrap();
    assert!(get.starts_with("calls=1,usec="), "{get}");
    assert!(get.ends_with(",rejected_calls=1,failed_calls=0"), "{get}");
    let lpush = info_field(&info, "cmdstat_lpush").unwrap();
    assert!(
        lpush.ends_with(",rejected_calls=0,failed_calls=1"),
        "{lpush}"
    );
}

#[test]
fn info_commandstats_counts_a_wrong_arity_as_rejected() {
    let (_server, mut c) = start();
    assert_eq!(c.line("GET"), arity("get"));
    assert_eq!(c.line("CONFIG GET"), arity("config|get"));
    let info = text(&c.line("INFO commandstats"));
    for name in ["cmdstat_get", "cmdstat_config|get"] {
        let line = info_field(&info, name).unwrap();
        assert!(line.starts_with("calls=0,usec=0,"), "{line}");
        assert!(line.ends_with(",rejected_calls=1,failed_calls=0"), "{line}");
    }
}

#[test]
fn info_all_adds_commandstats_to_the_default_sections() {
    let (_server, mut c) = start();
    c.line("CONFIG GET hz");
    for all in ["INFO all", "INFO everything"] {
        let info = text(&c.line(all));
        assert!(info.contains("# Server\r\n") && info.contains("# Commandstats\r\n"));
        assert!(info.contains("cmdstat_config|get:calls=1,"), "{info}");
    }
    for default in ["INFO", "INFO default"] {
        assert!(!text(&c.line(default)).contains("Commandstats"));
    }
}

#[test]
fn info_errorstats_counts_error_replies_by_their_code() {
    let (server, mut c) = start();
    c.line("SET k v");
    c.line("LPUSH k x");
    c.line("LPUSH k y");
    c.line("NOSUCH");
    // A blocked client's error reply counts too.
    c.line("XGROUP CREATE s g $ MKSTREAM");
    let mut b = resp::blocked(
        &server,
        &mut c,
        "XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
        0,
    );
    c.line("XGROUP DESTROY s g");
    assert!(b.reply().starts_with("-NOGROUP"));
    let info = text(&c.line("INFO errorstats"));
    assert_eq!(
        info,
        "# Errorstats\r\nerrorstat_ERR:count=1\r\nerrorstat_NOGROUP:count=1\r\nerrorstat_WRONGTYPE:count=2\r\n"
    );
    assert_eq!(
        info_field(&text(&c.line("INFO stats")), "total_error_replies").as_deref(),
        Some("4")
    );
    assert!(text(&c.line("INFO")).contains("# Errorstats\r\n"));
    // The blocked call counts once, and as failed once its error came.
    let stats = text(&c.line("INFO commandstats"));
    let xreadgroup = info_field(&stats, "cmdstat_xreadgroup").unwrap();
    assert!(xreadgroup.starts_with("calls=1,"), "{xreadgroup}");
    assert!(
        xreadgroup.ends_with(",rejected_calls=0,failed_calls=1"),
        "{xreadgroup}"
    );
    assert_eq!(c.line("CONFIG RESETSTAT"), OK);
    assert_eq!(text(&c.line("INFO errorstats")), "# Errorstats\r\n");
}

#[test]
fn config_resetstat_clears_commandstats() {
    let (_server, mut c) = start();
    c.line("PING");
    assert_eq!(c.line("CONFIG RESETSTAT"), OK);
    let info = text(&c.line("INFO commandstats"));
    assert!(!info.contains("cmdstat_ping"), "{info}");
    assert!(info.contains("cmdstat_config|resetstat:calls=1,"), "{info}");
}

#[test]
fn info_counts_commands_and_clients() {
    let (server, mut c) = start();
    let before: u64 = info_field(&text(&c.line("INFO stats")), "total_commands_processed")
        .unwrap()
        .parse()
        .unwrap();
    for _ in 0..5 {
        c.line("PING");
    }
    let _other = Raw::connect(server.port);
    let after = text(&c.line("INFO"));
    let processed: u64 = info_field(&after, "total_commands_processed")
        .unwrap()
        .parse()
        .unwrap();
    assert!(processed >= before + 5, "{before} -> {processed}");
    // The other connection is registered by the time we ask.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let clients = info_field(&text(&c.line("INFO clients")), "connected_clients").unwrap();
        if clients == "2" {
            break;
        }
        assert!(Instant::now() < deadline, "connected_clients:{clients}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- TIME / LASTSAVE ----

#[test]
fn time_returns_seconds_and_microseconds() {
    let (_server, mut c) = start();
    let parts = strings(&c.value(&["TIME"]));
    assert_eq!(parts.len(), 2);
    let secs: i64 = parts[0].parse().unwrap();
    let micros: i64 = parts[1].parse().unwrap();
    assert!((secs - unix_now()).abs() <= 2, "TIME {secs}");
    assert!((0..1_000_000).contains(&micros));
    assert_eq!(c.line("TIME x"), arity("time"));
}

#[test]
fn lastsave_starts_at_the_start_time() {
    let (_server, mut c) = start();
    let lastsave = c.int(&["LASTSAVE"]);
    assert!((lastsave - unix_now()).abs() <= 5, "LASTSAVE {lastsave}");
    assert_eq!(c.line("LASTSAVE x"), arity("lastsave"));
}

// ---- SAVE / BGSAVE ----

#[test]
fn save_writes_a_snapshot_another_server_can_serve() {
    let (server, mut c) = start();
    c.line("SET k1 v1");
    c.line("SET k2 v2 EX 1000");
    c.line("SELECT 3");
    c.line("SET k3 v3");
    assert_eq!(c.line("SAVE"), OK);
    assert!((c.int(&["LASTSAVE"]) - unix_now()).abs() <= 5);
    // Written after the snapshot: not in it.
    c.line("SET later x");
    let snapshot = server.dir.join("snapshot");
    assert!(snapshot.is_dir(), "{} is missing", snapshot.display());

    let copy = Server::start_in(&snapshot, &[]);
    let mut d = Raw::connect(copy.port);
    assert_eq!(d.line("GET k1"), bulk("v1"));
    assert_eq!(d.line("GET k2"), bulk("v2"));
    let ttl = d.int(&["TTL", "k2"]);
    assert!(ttl > 900 && ttl <= 1000, "ttl {ttl}");
    assert_eq!(d.line("DBSIZE"), int(2));
    d.line("SELECT 3");
    assert_eq!(d.line("GET k3"), bulk("v3"));
    assert_eq!(d.line("EXISTS later"), int(0));
}

#[test]
fn save_checks_its_arity() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SAVE x"), arity("save"));
}

#[test]
fn bgsave_saves_in_the_background() {
    let (server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("BGSAVE"), "+Background saving started\r\n");
    let snapshot = server.dir.join("snapshot");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = text(&c.line("INFO persistence"));
        if info_field(&info, "rdb_bgsave_in_progress").as_deref() == Some("0") && snapshot.is_dir()
        {
            assert_eq!(
                info_field(&info, "rdb_last_bgsave_status").as_deref(),
                Some("ok")
            );
            break;
        }
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(c);
    let copy = Server::start_in(&snapshot, &[]);
    let mut d = Raw::connect(copy.port);
    assert_eq!(d.line("GET k"), bulk("v"));
}

#[test]
fn bgsave_rejects_unknown_arguments() {
    let (_server, mut c) = start();
    assert_eq!(c.line("BGSAVE x"), SYNTAX);
    assert_eq!(c.line("BGSAVE SCHEDULE x"), SYNTAX);
}

// ---- SLOWLOG ----

#[test]
fn slowlog_records_commands_over_the_threshold() {
    let server = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("SLOWLOG RESET"), OK);
    c.line("CLIENT SETNAME slow-client");
    c.line("SET k v");
    let entries = c.value(&["SLOWLOG", "GET", "1"]);
    let redis::Value::Array(entries) = entries else {
        panic!("not an array: {entries:?}");
    };
    assert_eq!(entries.len(), 1);
    let redis::Value::Array(entry) = &entries[0] else {
        panic!("not an entry: {:?}", entries[0]);
    };
    assert_eq!(entry.len(), 6);
    assert!(matches!(entry[0], redis::Value::Int(id) if id >= 0));
    assert!(matches!(entry[1], redis::Value::Int(t) if (t - unix_now()).abs() <= 5));
    assert!(matches!(entry[2], redis::Value::Int(micros) if micros >= 0));
    assert_eq!(strings(&entry[3]), ["SET", "k", "v"]);
    let addr = match &entry[4] {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("addr {other:?}"),
    };
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(entry[5], redis::Value::BulkString(b"slow-client".to_vec()));
}

#[test]
fn slowlog_len_and_reset() {
    let server = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = Raw::connect(server.port);
    c.line("SET a 1");
    c.line("SET b 2");
    assert!(c.int(&["SLOWLOG", "LEN"]) >= 2);
    assert_eq!(c.line("SLOWLOG RESET"), OK);
    // SLOWLOG RESET itself is logged once it has run.
    assert_eq!(c.line("SLOWLOG LEN"), int(1));
    assert_eq!(c.line("SLOWLOG GET 0"), "*0\r\n");
    let all = c.value(&["SLOWLOG", "GET", "-1"]);
    let redis::Value::Array(all) = all else {
        panic!("{all:?}")
    };
    assert_eq!(all.len(), 3);
}

#[test]
fn slowlog_trims_long_commands() {
    let server = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = Raw::connect(server.port);
    let mut args = vec!["MSET".to_string()];
    for i in 1..=20 {
        args.push(format!("k{i}"));
        args.push(format!("v{i}"));
    }
    assert_eq!(c.cmd(&args), OK);
    let long = "x".repeat(200);
    assert_eq!(c.cmd(&["SET", "longkey", long.as_str()]), OK);
    let redis::Value::Array(entries) = c.value(&["SLOWLOG", "GET", "2"]) else {
        panic!("not an array")
    };
    assert_eq!(entries.len(), 2, "{entries:?}");
    let logged = |i: usize| match &entries[i] {
        redis::Value::Array(entry) => strings(&entry[3]),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        logged(0),
        [
            "SET".to_string(),
            "longkey".to_string(),
            format!("{}... (72 more bytes)", "x".repeat(128))
        ]
    );
    let mset = logged(1);
    assert_eq!(mset.len(), 32);
    assert_eq!(mset[0], "MSET");
    assert_eq!(mset[29], "k15");
    assert_eq!(mset[30], "v15");
    assert_eq!(mset[31], "... (10 more arguments)");
}

#[test]
fn slowlog_ignores_fast_commands_by_default() {
    let (_server, mut c) = start();
    c.line("SET k v");
    assert_eq!(c.line("SLOWLOG LEN"), int(0));
    assert_eq!(c.line("SLOWLOG GET"), "*0\r\n");
}

#[test]
fn slowlog_rejects_bad_arguments() {
    let (_server, mut c) = start();
    let count = error("ERR count should be greater than or equal to -1");
    assert_eq!(c.line("SLOWLOG GET -2"), count);
    assert_eq!(c.line("SLOWLOG GET abc"), count);
    assert_eq!(
        c.line("SLOWLOG GET 1 2"),
        error("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
    );
    assert_eq!(c.line("SLOWLOG LEN x"), arity("slowlog|len"));
    assert_eq!(c.line("SLOWLOG RESET x"), arity("slowlog|reset"));
    assert_eq!(
        c.line("SLOWLOG FOO"),
        error("ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.")
    );
    assert_eq!(c.line("SLOWLOG"), arity("slowlog"));
}

#[test]
fn slowlog_help_ends_with_the_help_line() {
    let (_server, mut c) = start();
    let help = strings(&c.value(&["SLOWLOG", "HELP"]));
    assert_eq!(
        help.first().map(String::as_str),
        Some("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    );
    assert_eq!(help[help.len() - 2..], ["HELP", "    Prints this help."]);
}

// ---- COMMAND ----

#[test]
fn command_count_matches_the_command_table() {
    let (_server, mut c) = start();
    let count = c.int(&["COMMAND", "COUNT"]);
    let redis::Value::Array(all) = c.value(&["COMMAND"]) else {
        panic!("COMMAND is not an array")
    };
    assert_eq!(count, all.len() as i64);
    assert!(count > 50, "only {count} commands");
    assert_eq!(c.line("COMMAND COUNT x"), arity("command|count"));
}

#[test]
fn command_info_describes_a_command() {
    let (_server, mut c) = start();
    let redis::Value::Array(infos) = c.value(&["COMMAND", "INFO", "get", "nosuch", "SET"]) else {
        panic!("not an array")
    };
    assert_eq!(infos.len(), 3);
    assert_eq!(infos[1], redis::Value::Nil);
    let describe = |v: &redis::Value| match v {
        redis::Value::Array(fields) => fields.clone(),
        other => panic!("{other:?}"),
    };
    let get = describe(&infos[0]);
    assert_eq!(get.len(), 10);
    assert_eq!(get[0], redis::Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], redis::Value::Int(2));
    assert_eq!(strings(&get[2]), ["readonly", "fast"]);
    assert_eq!(
        get[3..6],
        [
            redis::Value::Int(1),
            redis::Value::Int(1),
            redis::Value::Int(1)
        ]
    );
    assert_eq!(strings(&get[6]), ["@read", "@string", "@fast"]);
    let set = describe(&infos[2]);
    assert_eq!(set[0], redis::Value::BulkString(b"set".to_vec()));
    assert_eq!(set[1], redis::Value::Int(-3));
    assert_eq!(strings(&set[2]), ["write", "denyoom"]);
    assert_eq!(strings(&set[6]), ["@write", "@string", "@slow"]);
}

#[test]
fn command_info_reports_key_specs() {
    // Redis 7 describes where the keys are in field 9 (key specifications).
    let (_server, mut c) = start();
    let reply = c.line("COMMAND INFO get");
    assert!(
        reply.contains("$12\r\nbegin_search\r\n") && reply.contains("$9\r\nfind_keys\r\n"),
        "{reply:?}"
    );
}

#[test]
fn command_info_accepts_subcommand_names() {
    let (_server, mut c) = start();
    let redis::Value::Array(infos) = c.value(&["COMMAND", "INFO", "client|id"]) else {
        panic!("not an array")
    };
    let redis::Value::Array(fields) = &infos[0] else {
        panic!("client|id is not described: {:?}", infos[0]);
    };
    assert_eq!(fields[0], redis::Value::BulkString(b"client|id".to_vec()));
    assert_eq!(fields[1], redis::Value::Int(2));
}

#[test]
fn command_docs_document_a_command() {
    let (_server, mut c) = start();
    let docs = c.value(&["COMMAND", "DOCS", "get"]);
    let redis::Value::Array(items) = docs else {
        panic!("{docs:?}")
    };
    assert_eq!(items[0], redis::Value::BulkString(b"get".to_vec()));
    let redis::Value::Array(fields) = &items[1] else {
        panic!("{:?}", items[1])
    };
    let field = |name: &str| {
        fields
            .chunks(2)
            .find(|pair| pair[0] == redis::Value::BulkString(name.as_bytes().to_vec()))
            .map(|pair| pair[1].clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert!(matches!(field("summary"), redis::Value::BulkString(s) if !s.is_empty()));
    assert_eq!(field("since"), redis::Value::BulkString(b"1.0.0".to_vec()));
    assert_eq!(field("group"), redis::Value::BulkString(b"string".to_vec()));
    assert_eq!(c.line("COMMAND DOCS nosuch"), "*0\r\n");
}

#[test]
fn command_list_names_commands() {
    let (_server, mut c) = start();
    let names = strings(&c.value(&["COMMAND", "LIST"]));
    for name in ["get", "set", "del", "ping", "client", "command", "info"] {
        assert!(names.iter().any(|n| n == name), "no {name}");
    }
    assert_eq!(
        c.line("COMMAND LIST FILTERBY pattern getr*"),
        bulks(&["getrange"])
    );
    assert_eq!(c.line("COMMAND LIST FILTERBY pattern nosuch*"), "*0\r\n");
    assert_eq!(c.line("COMMAND LIST FOO"), SYNTAX);
    assert_eq!(c.line("COMMAND LIST FILTERBY pattern"), SYNTAX);
}

#[test]
fn command_list_filterby_rejects_unknown_filters() {
    let (_server, mut c) = start();
    assert_eq!(c.line("COMMAND LIST FILTERBY foo bar"), SYNTAX);
}

#[test]
fn command_getkeys_extracts_key_arguments() {
    let (_server, mut c) = start();
    assert_eq!(c.line("COMMAND GETKEYS get a"), bulks(&["a"]));
    assert_eq!(c.line("COMMAND GETKEYS set a b"), bulks(&["a"]));
    assert_eq!(c.line("COMMAND GETKEYS SET a b EX 10"), bulks(&["a"]));
    assert_eq!(c.line("COMMAND GETKEYS mset a 1 b 2"), bulks(&["a", "b"]));
    // Only the arity is checked, not the key/value pairing.
    assert_eq!(c.line("COMMAND GETKEYS mset a 1 b"), bulks(&["a", "b"]));
    assert_eq!(
        c.line("COMMAND GETKEYS mget a b c"),
        bulks(&["a", "b", "c"])
    );
    assert_eq!(c.line("COMMAND GETKEYS del a b c"), bulks(&["a", "b", "c"]));
    assert_eq!(c.line("COMMAND GETKEYS rename a b"), bulks(&["a", "b"]));
    assert_eq!(c.line("COMMAND GETKEYS copy a b"), bulks(&["a", "b"]));
    assert_eq!(c.line("COMMAND GETKEYS expire k 10"), bulks(&["k"]));
    assert_eq!(c.line("COMMAND GETKEYS object encoding k"), bulks(&["k"]));
}

#[test]
fn command_getkeys_errors() {
    let (_server, mut c) = start();
    let invalid = error("ERR Invalid command specified");
    let no_keys = error("ERR The command has no key arguments");
    let bad_count = error("ERR Invalid number of arguments specified for command");
    assert_eq!(c.line("COMMAND GETKEYS nosuch a"), invalid);
    assert_eq!(c.line("COMMAND GETKEYS ping x"), no_keys);
    assert_eq!(c.line("COMMAND GETKEYS keys *"), no_keys);
    assert_eq!(c.line("COMMAND GETKEYS client id"), no_keys);
    assert_eq!(c.line("COMMAND GETKEYS get a b"), bad_count);
    assert_eq!(c.line("COMMAND GETKEYS object encoding"), bad_count);
}

#[test]
fn command_getkeys_checks_for_keys_before_arity() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND GETKEYS time x"),
        error("ERR The command has no key arguments")
    );
    assert_eq!(
        c.line("COMMAND GETKEYS client nosuch"),
        error("ERR Invalid command specified")
    );
}

#[test]
fn command_getkeys_needs_a_command_with_arguments() {
    let (_server, mut c) = start();
    assert_eq!(c.line("COMMAND GETKEYS"), arity("command|getkeys"));
    assert_eq!(c.line("COMMAND GETKEYS get"), arity("command|getkeys"));
}

#[test]
fn command_rejects_unknown_subcommands() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND FOO"),
        error("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")
    );
    let help = strings(&c.value(&["COMMAND", "HELP"]));
    assert_eq!(
        help[0],
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
}

// ---- MONITOR ----

/// Reads monitor lines until one contains `needle`.
fn monitor_line(monitor: &mut Raw, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let line = monitor.reply();
        if line.contains(needle) {
            return line;
        }
        assert!(Instant::now() < deadline, "no monitor line with {needle}");
    }
}

#[test]
fn monitor_streams_other_clients_commands() {
    let (server, mut monitor) = start();
    assert_eq!(monitor.line("MONITOR"), OK);
    let mut other = Raw::connect(server.port);
    let addr = {
        let info = other.line("CLIENT INFO");
        info.split_whitespace()
            .find_map(|f| f.strip_prefix("addr="))
            .expect("addr")
            .to_string()
    };
    assert_eq!(other.cmd(&["SET", "k", "a \"quoted\" value\n"]), OK);
    let line = monitor_line(&mut monitor, "\"SET\"");
    // +<secs>.<micros> [<db> <addr>] "arg" ...
    let (stamp, rest) = line
        .strip_prefix('+')
        .and_then(|l| l.split_once(' '))
        .expect("a status line");
    let (secs, micros) = stamp.split_once('.').expect("secs.micros");
    assert!((secs.parse::<i64>().unwrap() - unix_now()).abs() <= 5);
    assert_eq!(micros.len(), 6);
    assert_eq!(
        rest,
        format!("[0 {addr}] \"SET\" \"k\" \"a \\\"quoted\\\" value\\n\"\r\n")
    );
}

#[test]
fn monitor_shows_the_database_a_select_switched_to() {
    let (server, mut monitor) = start();
    assert_eq!(monitor.line("MONITOR"), OK);
    let mut other = Raw::connect(server.port);
    assert_eq!(other.line("SELECT 2"), OK);
    let line = monitor_line(&mut monitor, "\"SELECT\"");
    assert!(line.contains(" [2 "), "{line:?}");
}

#[test]
fn monitor_checks_its_arity() {
    let (_server, mut c) = start();
    assert_eq!(c.line("MONITOR x"), arity("monitor"));
}
