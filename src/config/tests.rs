//! Unit tests for the config module. Error strings were checked against a
//! real redis-server 7.0.15 (config file, command line and CONFIG SET)
//! unless the test says the behaviour is Redstone's own.

use super::options::OPTIONS;
use super::syntax::{format_memory, memtoull, repr, split_args, string2ll, strtoll_whole};
use super::*;
use quickcheck::quickcheck;
use std::path::Path;

fn parse(text: &str) -> Config {
    Config::from_text(text).unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(text: &str) -> ConfigError {
    Config::from_text(text).expect_err("config should be rejected")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn from_args(args: &[&str]) -> Result<Config, ConfigError> {
    Config::from_args(&strings(args))
}

fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    cfg.set(&pairs)
}

fn get(cfg: &Config, pattern: &str) -> Vec<(String, String)> {
    cfg.get(&[pattern.as_bytes()])
}

fn get1(cfg: &Config, name: &str) -> String {
    match get(cfg, name).as_slice() {
        [(_, v)] => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

/// Every option set to a non-default value (requirepass is binary).
const NON_DEFAULT: &str = r#"
port 7000
bind 10.0.0.1 ::1
dir /var/lib/redstone
appendonly no
appendfsync always
save 900 1
save 300 10
requirepass "s3c\x00r\"t"
databases 32
maxclients 50
timeout 60
tcp-keepalive 0
proto-max-bulk-len 2mb
client-query-buffer-limit 1g
client-output-buffer-limit normal 1mb 0 0
client-output-buffer-limit pubsub 64mb 16mb 120
slowlog-log-slower-than -1
slowlog-max-len 5
loglevel warning
logfile "/tmp/redstone log.txt"
pidfile /tmp/redstone.pid
storage-cache-size 128mb
storage-write-buffer-size 16MB
storage-max-journal-size 256mb
storage-row-cache-size 64mb
hash-max-ziplist-entries 100
hash-max-listpack-value 1kb
set-max-intset-entries 10
zset-max-listpack-entries 0
zset-max-ziplist-value 32
list-max-ziplist-size 5
list-compress-depth 2
stream-node-max-entries 50
stream-node-max-bytes 8kb
hz 100
busy-reply-threshold 250
notify-keyspace-events KEA
hll-sparse-max-bytes 1kb
cluster-enabled yes
cluster-config-file nodes-7000.conf
cluster-node-timeout 5000
cluster-port 17001
cluster-announce-ip 10.1.2.3
cluster-announce-port 7100
cluster-announce-bus-port 17100
cluster-announce-hostname node-1.example
cluster-require-full-coverage no
cluster-allow-reads-when-down yes
cluster-migration-barrier 2
cluster-replica-no-failover yes
masterauth "m p"
masteruser repl
slave-read-only no
replica-serve-stale-data no
repl-backlog-size 10mb
repl-timeout 5
repl-ping-slave-period 2
min-replicas-to-write 1
min-slaves-max-lag 3
repl-diskless-sync no
repl-diskless-sync-delay 0
replica-priority 7
daemonize yes
protected-mode no
tcp-backlog 1024
supervised systemd
always-show-logo yes
appendfilename x.aof
dbfilename x.rdb
"#;

fn non_default() -> Config {
    Config {
        port: 7000,
        bind: strings(&["10.0.0.1", "::1"]),
        dir: PathBuf::from("/var/lib/redstone"),
        appendonly: false,
        appendfsync: AppendFsync::Always,
        save: "900 1 300 10".to_string(),
        requirepass: Some(b"s3c\x00r\"t".to_vec()),
        databases: 32,
        maxclients: 50,
        timeout: 60,
        tcp_keepalive: 0,
        proto_max_bulk_len: 2 * 1024 * 1024,
        client_query_buffer_limit: 1_000_000_000,
        client_output_buffer_limit: OutputBufferLimits {
            normal: BufferLimit {
                hard: 1024 * 1024,
                soft: 0,
                soft_seconds: 0,
            },
            pubsub: BufferLimit {
                hard: 64 * 1024 * 1024,
                soft: 16 * 1024 * 1024,
                soft_seconds: 120,
            },
            ..OutputBufferLimits::default()
        },
        slowlog_log_slower_than: -1,
        slowlog_max_len: 5,
        loglevel: LogLevel::Warning,
        logfile: "/tmp/redstone log.txt".to_string(),
        pidfile: "/tmp/redstone.pid".to_string(),
        storage_cache_size: 128 * 1024 * 1024,
        storage_write_buffer_size: 16 * 1024 * 1024,
        storage_max_journal_size: 256 * 1024 * 1024,
        storage_row_cache_size: 64 * 1024 * 1024,
        hz: 100,
        busy_reply_threshold: 250,
        notify_keyspace_events: crate::notify::Flags::parse(b"AKE").unwrap_or_default(),
        hll_sparse_max_bytes: 1024,
        config_file: None,
        compat: CompatOptions {
            daemonize: true,
            protected_mode: false,
            tcp_backlog: 1024,
            supervised: Supervised::Systemd,
            always_show_logo: true,
            appendfilename: "x.aof".to_string(),
            dbfilename: "x.rdb".to_string(),
        },
        cluster: ClusterOptions {
            enabled: true,
            config_file: "nodes-7000.conf".to_string(),
            node_timeout: 5000,
            port: 17001,
            announce_ip: "10.1.2.3".to_string(),
            announce_port: 7100,
            announce_bus_port: 17100,
            announce_hostname: "node-1.example".to_string(),
            require_full_coverage: false,
            allow_reads_when_down: true,
            migration_barrier: 2,
            replica_no_failover: true,
        },
        replication: ReplicationOptions {
            masterauth: Some(b"m p".to_vec()),
            masteruser: "repl".to_string(),
            replica_read_only: false,
            replica_serve_stale_data: false,
            repl_backlog_size: 10 * 1024 * 1024,
            repl_timeout: 5,
            repl_ping_replica_period: 2,
            min_replicas_to_write: 1,
            min_replicas_max_lag: 3,
            repl_diskless_sync: false,
            repl_diskless_sync_delay: 0,
            replica_priority: 7,
        },
        encoding: EncodingLimits {
            hash_max_listpack_entries: 100,
            hash_max_listpack_value: 1024,
            set_max_intset_entries: 10,
            zset_max_listpack_entries: 0,
            zset_max_listpack_value: 32,
            list_max_listpack_size: 5,
            list_compress_depth: 2,
            stream_node_max_entries: 50,
            stream_node_max_bytes: 8192,
        },
    }
}

#[test]
fn defaults() {
    let c = Config::default();
    assert_eq!(parse(""), c);
    assert_eq!(from_args(&[]).ok(), Some(c.clone()));
    let expected = [
        ("port", "6379"),
        ("bind", "127.0.0.1"),
        ("dir", "./data"),
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        ("save", ""),
        ("requirepass", ""),
        ("databases", "16"),
        ("maxclients", "10000"),
        ("timeout", "0"),
        ("tcp-keepalive", "300"),
        ("proto-max-bulk-len", "536870912"),
        ("client-query-buffer-limit", "1073741824"),
        (
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        ("slowlog-log-slower-than", "10000"),
        ("slowlog-max-len", "128"),
        ("loglevel", "notice"),
        ("logfile", ""),
        ("pidfile", ""),
        ("storage-cache-size", "536870912"),
        ("storage-write-buffer-size", "67108864"),
        ("storage-max-journal-size", "134217728"),
        ("storage-row-cache-size", "1073741824"),
        ("list-max-listpack-size", "-2"),
        ("list-max-ziplist-size", "-2"),
        ("list-compress-depth", "0"),
        ("stream-node-max-entries", "100"),
        ("stream-node-max-bytes", "4096"),
        ("hash-max-listpack-entries", "512"),
        ("hash-max-ziplist-entries", "512"),
        ("hash-max-listpack-value", "64"),
        ("hash-max-ziplist-value", "64"),
        ("set-max-intset-entries", "512"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-ziplist-entries", "128"),
        ("zset-max-listpack-value", "64"),
        ("zset-max-ziplist-value", "64"),
        ("hz", "10"),
        ("busy-reply-threshold", "5000"),
        ("lua-time-limit", "5000"),
        ("notify-keyspace-events", ""),
        ("hll-sparse-max-bytes", "3000"),
        ("cluster-enabled", "no"),
        ("cluster-config-file", "nodes.conf"),
        ("cluster-node-timeout", "15000"),
        ("cluster-port", "0"),
        ("cluster-announce-ip", ""),
        ("cluster-announce-port", "0"),
        ("cluster-announce-bus-port", "0"),
        ("cluster-announce-hostname", ""),
        ("cluster-require-full-coverage", "yes"),
        ("cluster-allow-reads-when-down", "no"),
        ("cluster-migration-barrier", "1"),
        ("cluster-replica-no-failover", "no"),
        ("masterauth", ""),
        ("masteruser", ""),
        ("replica-read-only", "yes"),
        ("slave-read-only", "yes"),
        ("replica-serve-stale-data", "yes"),
        ("slave-serve-stale-data", "yes"),
        ("repl-backlog-size", "1048576"),
        ("repl-timeout", "60"),
        ("repl-ping-replica-period", "10"),
        ("repl-ping-slave-period", "10"),
        ("min-replicas-to-write", "0"),
        ("min-slaves-to-write", "0"),
        ("min-replicas-max-lag", "10"),
        ("min-slaves-max-lag", "10"),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "5"),
        ("replica-priority", "100"),
        ("slave-priority", "100"),
        ("daemonize", "no"),
        ("protected-mode", "yes"),
        ("tcp-backlog", "511"),
        ("supervised", "no"),
        ("always-show-logo", "no"),
        ("appendfilename", "appendonly.aof"),
        ("dbfilename", "dump.rdb"),
    ];
    let all = get(&c, "*");
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        all, expected,
        "CONFIG GET * lists every option and alias once, in table order"
    );
}

#[test]
fn every_option_from_a_file() {
    assert_eq!(parse(NON_DEFAULT), non_default());
    // The fixture really exercises every table entry with a non-default value.
    let defaults = Config::default();
    let cfg = non_default();
    for opt in OPTIONS {
        assert!(
            opt.names()
                .any(|name| NON_DEFAULT.contains(&format!("\n{name} "))),
            "{} missing from fixture",
            opt.name
        );
        assert_ne!(opt.render(&cfg), opt.render(&defaults), "{}", opt.name);
    }
}

#[test]
fn every_option_from_the_command_line() {
    // Each fixture line "name a b" becomes "--name a b" (NUL can't be in argv).
    let mut args = Vec::new();
    for line in NON_DEFAULT.lines().filter(|l| !l.is_empty()) {
        let parts = split_args(line.as_bytes()).unwrap_or_default();
        args.push(format!("--{}", String::from_utf8_lossy(&parts[0])));
        let values: Vec<String> = parts[1..]
            .iter()
            .map(|p| String::from_utf8_lossy(p).replace('\0', "0"))
            .collect();
        args.extend(values);
    }
    let cfg = Config::from_args(&args).unwrap_or_else(|e| panic!("{e}"));
    let mut expected = non_default();
    expected.requirepass = Some(b"s3c0r\"t".to_vec());
    assert_eq!(cfg, expected);
}

#[test]
fn file_syntax() {
    let c = parse("  # comment\n\t\n   PORT   7001   \r\n# port 1\nHz '20'\nlogfile \"a\\tb\"\n\n");
    assert_eq!((c.port, c.hz, c.logfile.as_str()), (7001, 20, "a\tb"));
    assert_eq!(parse("port 1\nport 2").port, 2, "last one wins");
    assert_eq!(
        parse("save 900 1\nsave 300 10").save,
        "900 1 300 10",
        "save lines accumulate"
    );
    assert_eq!(
        parse("save 1 1\nsave \"\"\nsave 2 2").save,
        "2 2",
        "save \"\" resets"
    );
    assert_eq!(parse("save \"900 1 300 10\"").save, "900 1 300 10");
    assert_eq!(parse("save 1 1\nsave").save, "1 1");
    assert_eq!(
        parse("bind \"127.0.0.1 ::1\"").bind,
        strings(&["127.0.0.1", "::1"])
    );
    assert!(parse("bind").bind.is_empty());
    assert!(parse("bind \"\"").bind.is_empty());
    assert_eq!(parse("bind 1\nbind 2").bind, strings(&["2"]));
    assert_eq!(parse("requirepass \"\"").requirepass, None);
    assert_eq!(
        parse("requirepass 'it\\'s'").requirepass,
        Some(b"it's".to_vec())
    );
    assert_eq!(parse("hz 1000").hz, 500, "hz is clamped like Redis");
    assert_eq!(parse("hz 0").hz, 1);
    assert_eq!(
        parse("appendonly YES\nappendfsync No").appendfsync,
        AppendFsync::No
    );
    assert_eq!(
        parse("save \" 5\" +0").save,
        "5 0",
        "save numbers use strtoll"
    );
    assert_eq!(
        parse("proto-max-bulk-len 1048576b").proto_max_bulk_len,
        1 << 20
    );
}

#[test]
fn file_errors_match_redis() {
    let cases: &[(&str, &str)] = &[
        (
            "port \"abc\"",
            "argument couldn't be parsed into an integer",
        ),
        ("port 1 2", "wrong number of arguments"),
        ("hz", "wrong number of arguments"),
        ("requirepass a b", "wrong number of arguments"),
        ("foo bar", "Bad directive or wrong number of arguments"),
        (
            "include other.conf",
            "Bad directive or wrong number of arguments",
        ),
        ("port \"abc", "Unbalanced quotes in configuration line"),
        ("PORT \"12\"x", "Unbalanced quotes in configuration line"),
        ("port 'abc", "Unbalanced quotes in configuration line"),
        (
            "port 70000",
            "argument must be between 0 and 65535 inclusive",
        ),
        (
            "maxclients 0",
            "argument must be between 1 and 4294967295 inclusive",
        ),
        (
            "maxclients 01",
            "argument couldn't be parsed into an integer",
        ),
        (
            "maxclients +5",
            "argument couldn't be parsed into an integer",
        ),
        (
            "maxclients 99999999999999999999999",
            "argument couldn't be parsed into an integer",
        ),
        (
            "timeout -1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        (
            "notify-keyspace-events KEx?",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        (
            "tcp-keepalive -1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        (
            "tcp-backlog -1",
            "argument must be between 0 and 2147483647 inclusive",
        ),
        (
            "slowlog-log-slower-than -5",
            "argument must be between -1 and 9223372036854775807 inclusive",
        ),
        (
            "slowlog-max-len -1",
            "argument must be between 0 and 9223372036854775807 inclusive",
        ),
        ("hz abc", "argument couldn't be parsed into an integer"),
        (
            "appendfsync sometimes",
            "argument(s) must be one of the following: everysec, always, no",
        ),
        (
            "loglevel foo",
            "argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
        (
            "supervised foo",
            "argument(s) must be one of the following: upstart, systemd, auto, no",
        ),
        ("proto-max-bulk-len 1x", "argument must be a memory value"),
        ("proto-max-bulk-len -1", "argument must be a memory value"),
        (
            "proto-max-bulk-len 100",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "proto-max-bulk-len \"\"",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "client-query-buffer-limit 18446744073709551615",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        ("appendonly maybe", "argument must be 'yes' or 'no'"),
        ("daemonize maybe", "argument must be 'yes' or 'no'"),
        ("protected-mode 1", "argument must be 'yes' or 'no'"),
        ("always-show-logo x", "argument must be 'yes' or 'no'"),
        (
            "dbfilename a/b",
            "dbfilename can't be a path, just a filename",
        ),
        (
            "dbfilename \"a\\\\b\"",
            "dbfilename can't be a path, just a filename",
        ),
        ("appendfilename \"\"", "appendfilename can't be empty"),
        (
            "appendfilename a/b",
            "appendfilename can't be a path, just a filename",
        ),
        (
            "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            "Too many bind addresses specified.",
        ),
        ("save 1", "Invalid save parameters"),
        ("save 1 2 3", "Invalid save parameters"),
        ("save 0 1", "Invalid save parameters"),
        ("save 1 -1", "Invalid save parameters"),
        ("save abc 1", "Invalid save parameters"),
        // Redstone's own limits (Redis: 1..INT_MAX databases, any dir).
        (
            "databases 0",
            "argument must be between 1 and 65536 inclusive",
        ),
        (
            "databases 65537",
            "argument must be between 1 and 65536 inclusive",
        ),
        ("dir \"\"", "dir can't be empty"),
        (
            "storage-cache-size 1000",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "storage-write-buffer-size 1k",
            "argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            "storage-max-journal-size 32mb",
            "argument must be between 67108864 and 9223372036854775807 inclusive",
        ),
        ("logfile \"\\xff\"", "argument must be a valid UTF-8 string"),
    ];
    for (line, message) in cases {
        let e = load_err(&format!("# header\n{line}\n"));
        assert_eq!((e.message(), e.line()), (*message, Some(2)), "{line}");
    }
}

#[test]
fn error_display_like_redis() {
    let e = load_err("# comment\nport \"abc\"\n");
    let expected = format!(
        "*** FATAL CONFIG FILE ERROR (Redstone {}) ***\nReading the configuration file, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(e.to_string(), expected);
    // The offending line is shown trimmed.
    let e = load_err("\t  foo bar  \r\n");
    assert!(e.to_string().contains(">>> 'foo bar'\n"), "{e}");
}

#[test]
fn command_line_errors_number_lines_like_redis() {
    // Checked against `redis-server [file] --options...` 7.0.15 output.
    let e = from_args(&["--port", "abc"]).expect_err("bad port");
    assert_eq!(
        (e.line(), e.message()),
        (Some(2), "argument couldn't be parsed into an integer")
    );
    assert!(e.to_string().contains(">>> 'port \"abc\"'"), "{e}");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("r.conf");
    fs::write(&file, "hz 3\n").expect("write");
    let path = file.to_string_lossy().into_owned();
    let e = from_args(&[&path, "--maxclients", "10", "--port", "abc"]).expect_err("bad port");
    assert_eq!(e.line(), Some(4));
    assert!(e.to_string().contains(">>> 'port \"abc\"'"), "{e}");

    fs::write(&file, "hz 5").expect("write");
    let e = from_args(&[&path, "--requirepass", "--x", "--hz", "bad"]).expect_err("bad hz");
    assert_eq!(e.line(), Some(3));
    assert!(e.to_string().contains(">>> 'hz \"bad\"'"), "{e}");

    let cases: &[(&[&str], &str, &str)] = &[
        (&["--port 5 6"], "port 5 6", "wrong number of arguments"),
        (
            &["--port 5", "6"],
            "port 5 \"6\"",
            "wrong number of arguments",
        ),
        (
            &["--port", "1 2"],
            "port \"1 2\"",
            "argument couldn't be parsed into an integer",
        ),
        (&["--hz"], "hz", "wrong number of arguments"),
        (
            &["--hz", "5", "--", "x"],
            "\"x\"",
            "Bad directive or wrong number of arguments",
        ),
        (
            &["--nosuch", "1"],
            "nosuch \"1\"",
            "Bad directive or wrong number of arguments",
        ),
    ];
    for (args, text, message) in cases {
        let e = from_args(args).expect_err("should fail");
        assert_eq!(e.message(), *message, "{args:?}");
        assert!(
            e.to_string().contains(&format!(">>> '{text}'\n")),
            "{args:?}: {e}"
        );
    }
    let e = from_args(&["--save", "--hz", "bad"]).expect_err("bad hz");
    assert_eq!(e.line(), Some(3), "--save alone becomes `save \"\"`");
}

#[test]
fn command_line_forms() {
    let ok = |args: &[&str]| from_args(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(ok(&["--port", "7001"]).port, 7001);
    assert_eq!(ok(&["--PORT", "7001"]).port, 7001);
    assert_eq!(ok(&["--port 7001"]).port, 7001);
    assert_eq!(
        ok(&["--bind", "127.0.0.1", "::1"]).bind,
        strings(&["127.0.0.1", "::1"])
    );
    assert_eq!(
        ok(&["--bind", "127.0.0.1 ::1"]).bind,
        strings(&["127.0.0.1", "::1"])
    );
    assert_eq!(ok(&["--save", "900 1 300 10"]).save, "900 1 300 10");
    assert_eq!(ok(&["--save", "900", "1"]).save, "900 1");
    let c = ok(&["--save", "--port", "7002"]);
    assert_eq!((c.save.as_str(), c.port), ("", 7002));
    assert_eq!(ok(&["--port", "7003", "--save"]).save, "");
    assert_eq!(
        ok(&["--requirepass", "--x"]).requirepass,
        Some(b"--x".to_vec())
    );
    let tricky = "a\"b\\c\tñ 'q'";
    assert_eq!(
        ok(&["--requirepass", tricky]).requirepass,
        Some(tricky.as_bytes().to_vec())
    );
    assert_eq!(ok(&["--requirepass", ""]).requirepass, None);
    assert_eq!(ok(&["--hz", "5", "--"]).hz, 5);
    assert_eq!(ok(&[]).config_file, None);
}

#[test]
fn command_line_with_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("redstone.conf");
    fs::write(&file, "port 7000\nmaxclients 5\n").expect("write");
    let path = file.to_string_lossy().into_owned();
    let c = from_args(&[&path, "--port", "7100"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (c.port, c.maxclients),
        (7100, 5),
        "options override the file"
    );
    assert_eq!(c.config_file.as_deref(), Some(file.as_path()));

    // A relative path is made absolute.
    let cwd = std::env::current_dir().expect("cwd");
    let rel = pathdiff(&file, &cwd);
    let c = from_args(&[&rel]).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.config_file.as_ref().is_some_and(|p| p.is_absolute()));

    let missing = dir.path().join("missing.conf");
    let e = from_args(&[&missing.to_string_lossy()]).expect_err("missing file");
    assert_eq!(e.line(), None);
    assert_eq!(
        e.to_string(),
        format!(
            "Fatal error, can't open config file '{}': No such file or directory",
            missing.display()
        )
    );
}

/// `target` relative to `base` (both absolute), via "..".
fn pathdiff(target: &Path, base: &Path) -> String {
    let depth = base.components().count().saturating_sub(1);
    let mut rel = "../".repeat(depth);
    rel.push_str(target.to_string_lossy().trim_start_matches('/'));
    rel
}

#[test]
fn config_get_globs() {
    let mut c = Config::default();
    assert_eq!(
        get(&c, "max*"),
        vec![("maxclients".to_string(), "10000".to_string())]
    );
    assert_eq!(
        get(&c, "MAX*"),
        get(&c, "max*"),
        "patterns are case-insensitive"
    );
    assert_eq!(
        get(&c, "MAXCLIENTS"),
        vec![("MAXCLIENTS".to_string(), "10000".to_string())]
    );
    assert!(get(&c, "nosuch").is_empty());
    assert!(get(&c, "nosuch*").is_empty());
    let names = OPTIONS.iter().map(|o| o.names().count()).sum::<usize>();
    assert_eq!(get(&c, "*").len(), names);
    let several = c.get(&[b"port", b"bind", b"port", b"p*", b"*port*"]);
    let names: Vec<&str> = several.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "port",
            "bind",
            "proto-max-bulk-len",
            "pidfile",
            "protected-mode",
            "cluster-port",
            "cluster-announce-port",
            "cluster-announce-bus-port"
        ]
    );
    assert_eq!(get(&c, "storage-*").len(), 4);
    assert_eq!(get(&c, "s?ve"), vec![("save".to_string(), String::new())]);
    assert_eq!(
        get(&c, "[ab]*").len(),
        6,
        "bind appendonly appendfsync busy-reply-threshold always-show-logo appendfilename"
    );

    c.bind = strings(&["127.0.0.1", "::1"]);
    c.requirepass = Some(b"pw".to_vec());
    c.save = "900 1".to_string();
    assert_eq!(get1(&c, "bind"), "127.0.0.1 ::1");
    assert_eq!(get1(&c, "requirepass"), "pw");
    assert_eq!(get1(&c, "save"), "900 1");
    let n = non_default();
    assert_eq!(get1(&n, "client-query-buffer-limit"), "1000000000");
    assert_eq!(get1(&n, "appendfsync"), "always");
    assert_eq!(get1(&n, "loglevel"), "warning");
    assert_eq!(get1(&n, "supervised"), "systemd");
    assert_eq!(get1(&n, "appendonly"), "no");
    assert_eq!(get1(&n, "slowlog-log-slower-than"), "-1");
}

#[test]
fn config_set_values() {
    let mut c = Config::default();
    let ok = |c: &mut Config, pairs: &[(&str, &str)]| {
        set(c, pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
    };
    ok(
        &mut c,
        &[
            ("maxclients", "5000"),
            ("TIMEOUT", "10"),
            ("appendonly", "NO"),
        ],
    );
    assert_eq!((c.maxclients, c.timeout, c.appendonly), (5000, 10, false));
    ok(&mut c, &[("appendfsync", "ALWAYS"), ("loglevel", "debug")]);
    assert_eq!(
        (c.appendfsync, c.loglevel),
        (AppendFsync::Always, LogLevel::Debug)
    );
    ok(&mut c, &[("proto-max-bulk-len", "1GB")]);
    assert_eq!(get1(&c, "proto-max-bulk-len"), "1073741824");
    ok(&mut c, &[("hz", "501")]);
    assert_eq!(c.hz, 500);
    ok(&mut c, &[("hz", "0")]);
    assert_eq!(c.hz, 1);
    ok(&mut c, &[("bind", "127.0.0.1 ::1")]);
    assert_eq!(c.bind, strings(&["127.0.0.1", "::1"]));
    ok(&mut c, &[("bind", "")]);
    assert!(c.bind.is_empty());
    ok(&mut c, &[("save", "900 1 300 10")]);
    assert_eq!(c.save, "900 1 300 10");
    ok(&mut c, &[("save", "")]);
    assert_eq!(c.save, "");
    ok(&mut c, &[("requirepass", "secret")]);
    assert_eq!(c.requirepass, Some(b"secret".to_vec()));
    ok(&mut c, &[("requirepass", "")]);
    assert_eq!(c.requirepass, None);
    ok(
        &mut c,
        &[
            ("slowlog-log-slower-than", "-1"),
            ("protected-mode", "no"),
            ("port", "0"),
        ],
    );
    assert_eq!(
        (c.slowlog_log_slower_than, c.compat.protected_mode, c.port),
        (-1, false, 0)
    );
    assert!(c.set(&[]).is_ok());
}

#[test]
fn config_set_errors_match_redis() {
    let failed = |arg: &str, why: &str| {
        format!("CONFIG SET failed (possibly related to argument '{arg}') - {why}")
    };
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        (
            vec![("foo", "bar")],
            "Unknown option or number of arguments for CONFIG SET - 'foo'".to_string(),
        ),
        (
            vec![("maxclients", "abc")],
            failed("maxclients", "argument couldn't be parsed into an integer"),
        ),
        (
            vec![("MAXCLIENTS", "abc")],
            failed("maxclients", "argument couldn't be parsed into an integer"),
        ),
        (
            vec![("port", "1"), ("port", "2")],
            failed("port", "duplicate parameter"),
        ),
        (
            vec![("timeout", "5"), ("TIMEOUT", "6")],
            failed("TIMEOUT", "duplicate parameter"),
        ),
        (
            vec![("databases", "3")],
            failed("databases", "can't set immutable config"),
        ),
        (
            vec![("DATABASES", "abc")],
            failed("DATABASES", "can't set immutable config"),
        ),
        (
            vec![("hz", "5"), ("DATABASES", "5"), ("foo", "1")],
            failed("DATABASES", "can't set immutable config"),
        ),
        (
            vec![("foo", "1"), ("databases", "5")],
            "Unknown option or number of arguments for CONFIG SET - 'foo'".to_string(),
        ),
        (
            vec![("maxclients", "10"), ("foo", "20")],
            "Unknown option or number of arguments for CONFIG SET - 'foo'".to_string(),
        ),
        (
            vec![("maxclients", "abc"), ("hz", "x")],
            failed("maxclients", "argument couldn't be parsed into an integer"),
        ),
        (
            vec![("maxclients", "0")],
            failed(
                "maxclients",
                "argument must be between 1 and 4294967295 inclusive",
            ),
        ),
        (
            vec![("appendonly", "maybe")],
            failed("appendonly", "argument must be 'yes' or 'no'"),
        ),
        (
            vec![("appendfsync", "sometimes")],
            failed(
                "appendfsync",
                "argument(s) must be one of the following: everysec, always, no",
            ),
        ),
        (
            vec![("loglevel", "foo")],
            failed(
                "loglevel",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
        ),
        (
            vec![("proto-max-bulk-len", "12x")],
            failed("proto-max-bulk-len", "argument must be a memory value"),
        ),
        (
            vec![("proto-max-bulk-len", "-1")],
            failed("proto-max-bulk-len", "argument must be a memory value"),
        ),
        (
            vec![("proto-max-bulk-len", "100")],
            failed(
                "proto-max-bulk-len",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ),
        (
            vec![("client-query-buffer-limit", "100")],
            failed(
                "client-query-buffer-limit",
                "argument must be between 1048576 and 9223372036854775807 inclusive",
            ),
        ),
        (
            vec![("hz", "abc")],
            failed("hz", "argument couldn't be parsed into an integer"),
        ),
        (
            vec![("timeout", "-1")],
            failed(
                "timeout",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            vec![("tcp-keepalive", "-1")],
            failed(
                "tcp-keepalive",
                "argument must be between 0 and 2147483647 inclusive",
            ),
        ),
        (
            vec![("slowlog-log-slower-than", "-5")],
            failed(
                "slowlog-log-slower-than",
                "argument must be between -1 and 9223372036854775807 inclusive",
            ),
        ),
        (
            vec![("slowlog-max-len", "-1")],
            failed(
                "slowlog-max-len",
                "argument must be between 0 and 9223372036854775807 inclusive",
            ),
        ),
        (
            vec![("port", "70000")],
            failed("port", "argument must be between 0 and 65535 inclusive"),
        ),
        (
            vec![("port", "abc")],
            failed("port", "argument couldn't be parsed into an integer"),
        ),
        (
            vec![("daemonize", "yes")],
            failed("daemonize", "can't set immutable config"),
        ),
        (
            vec![("protected-mode", "maybe")],
            failed("protected-mode", "argument must be 'yes' or 'no'"),
        ),
        (
            vec![("tcp-backlog", "5")],
            failed("tcp-backlog", "can't set immutable config"),
        ),
        (
            vec![("supervised", "foo")],
            failed("supervised", "can't set immutable config"),
        ),
        (
            vec![("always-show-logo", "yes")],
            failed("always-show-logo", "can't set immutable config"),
        ),
        (
            vec![("appendfilename", "x")],
            failed("appendfilename", "can't set immutable config"),
        ),
        (
            vec![("dbfilename", "x/y")],
            failed("dbfilename", "can't set protected config"),
        ),
        (
            vec![("logfile", "x")],
            failed("logfile", "can't set immutable config"),
        ),
        (
            vec![("pidfile", "x")],
            failed("pidfile", "can't set immutable config"),
        ),
        (
            vec![("save", "1 2 3")],
            failed("save", "Invalid save parameters"),
        ),
        (
            vec![("save", "abc 1")],
            failed("save", "Invalid save parameters"),
        ),
        (
            vec![("save", "1  2")],
            failed("save", "Invalid save parameters"),
        ),
        (
            vec![("Bind", "a b c d e f g h i j k l m n o p q")],
            failed("bind", "Too many bind addresses specified."),
        ),
        // Redstone: the data directory and storage sizes are fixed once open
        // (Redis says "can't set protected config" for dir).
        (
            vec![("dir", "/tmp")],
            failed("dir", "can't set immutable config"),
        ),
        (
            vec![("storage-cache-size", "1gb")],
            failed("storage-cache-size", "can't set immutable config"),
        ),
        (
            vec![("storage-write-buffer-size", "1gb")],
            failed("storage-write-buffer-size", "can't set immutable config"),
        ),
    ];
    for (pairs, expected) in cases {
        let mut c = Config::default();
        assert_eq!(set(&mut c, &pairs), Err(expected), "{pairs:?}");
        assert_eq!(c, Config::default(), "{pairs:?} must not change anything");
    }
}

#[test]
fn config_set_is_all_or_nothing() {
    let mut c = Config::default();
    assert!(set(&mut c, &[("maxclients", "5"), ("hz", "abc")]).is_err());
    assert_eq!(
        c.maxclients, 10000,
        "first pair not applied when the second fails"
    );
    assert!(set(
        &mut c,
        &[
            ("maxclients", "5"),
            ("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17")
        ]
    )
    .is_err());
    assert!(set(&mut c, &[("save", "900 1"), ("nosuch", "1")]).is_err());
    assert!(set(&mut c, &[("requirepass", "x"), ("dir", "/tmp")]).is_err());
    assert_eq!(c, Config::default());
}

#[test]
fn rewrite_without_file() {
    assert_eq!(
        Config::default().rewrite(),
        Err("The server is running without a config file".to_string())
    );
}

const ORIGINAL: &str = "# Redstone config\nport 7000\n\n# limits\nproto-max-bulk-len 512mb\nmaxclients 100\nMAXCLIENTS 200\nsave 900 1\nsave 300 10\nlogfile  '/tmp/x.log'\n";

#[test]
fn rewrite_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("redstone.conf");
    fs::write(&file, ORIGINAL).expect("write");
    let path = file.to_string_lossy().into_owned();
    let mut c = from_args(&[&path, "--hz", "50"]).unwrap_or_else(|e| panic!("{e}"));
    set(
        &mut c,
        &[
            ("maxclients", "300"),
            ("timeout", "10"),
            ("requirepass", "p w\""),
        ],
    )
    .expect("set");
    c.rewrite().expect("rewrite");
    let text = fs::read_to_string(&file).expect("read");
    let expected = "# Redstone config\nport 7000\n\n# limits\nproto-max-bulk-len 512mb\nmaxclients 300\nsave 900 1\nsave 300 10\nlogfile  '/tmp/x.log'\n# Generated by CONFIG REWRITE\nrequirepass \"p w\\\"\"\ntimeout 10\nhz 50\n";
    assert_eq!(text, expected);

    let again = from_args(&[&path]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again, c,
        "re-parsing the rewritten file gives the same config"
    );
    again.rewrite().expect("second rewrite");
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        expected,
        "idempotent"
    );

    // Changed values are replaced in place, defaults written when a line exists.
    let mut c = again;
    set(
        &mut c,
        &[
            ("port", "6379"),
            ("save", ""),
            ("hz", "60"),
            ("loglevel", "debug"),
        ],
    )
    .expect("set");
    c.rewrite().expect("rewrite");
    let text = fs::read_to_string(&file).expect("read");
    assert_eq!(
        text,
        "# Redstone config\nport 6379\n\n# limits\nproto-max-bulk-len 512mb\nmaxclients 300\nsave \"\"\nlogfile  '/tmp/x.log'\n# Generated by CONFIG REWRITE\nrequirepass \"p w\\\"\"\ntimeout 10\nhz 60\nloglevel debug\n"
    );
    assert_eq!(from_args(&[&path]).ok(), Some(c));
    let leftovers = fs::read_dir(dir.path()).expect("ls").count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

#[test]
fn rewrite_keeps_permissions_and_recreates_missing_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("r.conf");
    fs::write(&file, "port 7000\n").expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut c = from_args(&[&file.to_string_lossy()]).unwrap_or_else(|e| panic!("{e}"));
    c.port = 7001;
    c.rewrite().expect("rewrite");
    let mode = fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    fs::remove_file(&file).expect("rm");
    c.rewrite().expect("rewrite of a deleted file");
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        "# Generated by CONFIG REWRITE\nport 7001\n"
    );
    c.config_file = Some(dir.path().join("no/such/dir/r.conf"));
    assert_eq!(
        c.rewrite(),
        Err("Rewriting config file: No such file or directory".to_string())
    );
}

#[test]
fn rewrite_text_edge_cases() {
    let c = parse("port 7000");
    // Unknown or broken lines are kept as comments, like Redis does.
    let out = c.rewrite_text(b"foo bar\nport \"x\nport 7000\r\n");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "# ??? foo bar\n# ??? port \"x\nport 7000\n"
    );
    // A line with an invalid value is replaced.
    let out = c.rewrite_text(b"port 99999999\n");
    assert_eq!(String::from_utf8_lossy(&out), "port 7000\n");
    // Existing signature is not repeated; file without trailing newline.
    let out = c.rewrite_text(b"# Generated by CONFIG REWRITE\nhz 10");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "# Generated by CONFIG REWRITE\nhz 10\nport 7000\n"
    );
    // Memory values use units, lists are bare words, empty list is "".
    let mut n = non_default();
    n.bind = Vec::new();
    let out = String::from_utf8_lossy(&n.rewrite_text(b"")).into_owned();
    assert!(out.contains("\nproto-max-bulk-len 2mb\n"), "{out}");
    assert!(
        out.contains("\nclient-query-buffer-limit 1000000000\n"),
        "{out}"
    );
    assert!(out.contains("\nbind \"\"\n"), "{out}");
    assert!(out.contains("\nrequirepass \"s3c\\x00r\\\"t\"\n"), "{out}");
    assert!(out.contains("\ndir \"/var/lib/redstone\"\n"), "{out}");
    assert!(out.contains("\nsave 900 1 300 10\n"), "{out}");
    assert_eq!(Config::load(&n.rewrite_text(b"")).ok(), Some(n));
    assert_eq!(Config::default().rewrite_text(b""), b"");
    // Binary passwords are compared exactly, not through a lossy rendering.
    let p = Config {
        requirepass: Some(b"\xfe".to_vec()),
        ..Config::default()
    };
    let out = p.rewrite_text(b"requirepass \"\\xff\"\n");
    assert_eq!(String::from_utf8_lossy(&out), "requirepass \"\\xfe\"\n");
}

#[test]
fn split_args_like_sdssplitargs() {
    let v = |s: &str| {
        split_args(s.as_bytes()).map(|a| {
            a.into_iter()
                .map(|x| String::from_utf8_lossy(&x).into_owned())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(v("a \"b c\" 'd e'"), Some(strings(&["a", "b c", "d e"])));
    assert_eq!(v(r#""\x41\n\t\\\"q\z""#), Some(strings(&["A\n\t\\\"qz"])));
    assert_eq!(v(r"'it\'s' 'a\nb'"), Some(strings(&["it's", "a\\nb"])));
    assert_eq!(v("ab\"cd\" x"), Some(strings(&["abcd", "x"])));
    assert_eq!(v(r#""\x4""#), Some(strings(&["x4"])));
    assert_eq!(v("  \t "), Some(vec![]));
    assert_eq!(v("\"\" ''"), Some(strings(&["", ""])));
    assert_eq!(v("a\0b"), Some(strings(&["a"])), "NUL ends the C string");
    assert_eq!(v("\"a\"b"), None);
    assert_eq!(v("'a'b"), None);
    assert_eq!(v("\"abc"), None);
    assert_eq!(v("'abc"), None);
    assert_eq!(v("\"abc\\"), None);
}

#[test]
fn numbers_like_redis() {
    for (s, v) in [
        ("0", Some(0)),
        ("-1", Some(-1)),
        ("9223372036854775807", Some(i64::MAX)),
    ] {
        assert_eq!(string2ll(s.as_bytes()), v, "{s}");
    }
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        "",
        "-",
        "01",
        "+1",
        " 1",
        "1 ",
        "-0",
        "9223372036854775808",
        "1.0",
        "0x10",
    ] {
        assert_eq!(string2ll(bad.as_bytes()), None, "{bad}");
    }
    let mem = [
        ("0", Some(0)),
        ("1024", Some(1024)),
        ("5b", Some(5)),
        ("1k", Some(1000)),
        ("1kb", Some(1024)),
        ("1KB", Some(1024)),
        ("2m", Some(2_000_000)),
        ("2mb", Some(2 << 20)),
        ("3g", Some(3_000_000_000)),
        ("3Gb", Some(3 << 30)),
        ("", Some(0)),
        ("mb", Some(0)),
        ("18446744073709551615", Some(u64::MAX)),
        ("99999999999999999999", Some(u64::MAX)),
        ("-1", None),
        ("1.5mb", None),
        (" 1mb", None),
        ("1 mb", None),
        ("1tb", None),
        ("+1", None),
        ("99999999999999999999gb", None),
    ];
    for (s, v) in mem {
        assert_eq!(memtoull(s.as_bytes()), v, "{s}");
    }
    assert_eq!(memtoull("1".repeat(128).as_bytes()), None);
    for (v, s) in [
        (0, "0"),
        (1000, "1000"),
        (1024, "1kb"),
        (1536, "1536"),
        (2 << 20, "2mb"),
        (1 << 30, "1gb"),
    ] {
        assert_eq!(format_memory(v), s);
    }
    for (s, v) in [
        ("5", Some(5)),
        (" 5", Some(5)),
        ("+5", Some(5)),
        ("-5", Some(-5)),
        ("", Some(0)),
    ] {
        assert_eq!(strtoll_whole(s.as_bytes()), v, "{s:?}");
    }
    for bad in ["5 ", " ", "+", "a", "5a"] {
        assert_eq!(strtoll_whole(bad.as_bytes()), None, "{bad:?}");
    }
}

quickcheck! {
    fn repr_round_trips(bytes: Vec<u8>) -> bool {
        split_args(&repr(&bytes)) == Some(vec![bytes])
    }

    fn rewrite_round_trips(pass: Vec<u8>, logfile: String, bind: Vec<u8>, port: u16, hz: u16) -> bool {
        let mut c = Config { port, requirepass: (!pass.is_empty()).then_some(pass), logfile, ..Config::default() };
        c.hz = u32::from(hz % 500) + 1;
        // Addresses are words; keep them plausible.
        c.bind = bind.chunks(3).map(|ch| ch.iter().map(|b| char::from(b"abc019:.-*"[usize::from(*b) % 10])).collect()).collect();
        c.bind.truncate(16);
        let text = c.rewrite_text(b"# keep me\nport 1\n");
        text.starts_with(b"# keep me\n") && Config::load(&text).ok() == Some(c)
    }

    fn loading_never_panics(text: Vec<u8>) -> bool {
        let _ = Config::load(&text);
        let _ = Config::default().rewrite_text(&text);
        true
    }

    fn set_never_panics_and_is_atomic(pairs: Vec<(u8, Vec<u8>)>) -> bool {
        let names: Vec<&str> = OPTIONS.iter().map(|o| o.name).chain(["nosuch", "MaxClients"]).collect();
        let owned: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (names[usize::from(*n) % names.len()].as_bytes(), v.as_slice())).collect();
        let mut c = Config::default();
        match c.set(&owned) {
            Ok(()) => true,
            Err(_) => c == Config::default(),
        }
    }

    fn args_never_panic(args: Vec<String>) -> bool {
        let mut args = args;
        args.insert(0, "--port".to_string());
        let _ = Config::from_args(&args);
        true
    }
}

#[test]
fn client_output_buffer_limit_sets_only_the_classes_given() {
    let mut c = Config::default();
    set(
        &mut c,
        &[("client-output-buffer-limit", "pubsub 1mb 2mb 10")],
    )
    .expect("set");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2097152 10"
    );
    set(
        &mut c,
        &[(
            "client-output-buffer-limit",
            "replica 1k 1kb 5 PUBSUB 3 4 5",
        )],
    )
    .expect("set");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 1000 1024 5 pubsub 3 4 5"
    );
    // An empty value changes nothing; seconds wrap like Redis' C int.
    set(&mut c, &[("client-output-buffer-limit", "")]).expect("set");
    set(
        &mut c,
        &[("client-output-buffer-limit", "pubsub 1 1 99999999999")],
    )
    .expect("set");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 1000 1024 5 pubsub 1 1 1215752191"
    );
    assert_eq!(c.client_output_buffer_limit.pubsub.soft_seconds, 1215752191);
}

#[test]
fn client_output_buffer_limit_errors_match_redis() {
    const COUNT: &str = "Wrong number of arguments in buffer limit configuration.";
    const CLASS: &str = "Invalid client class specified in buffer limit configuration.";
    const VALUE: &str =
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    for (value, message) in [
        ("pubsub 1", COUNT),
        ("pubsub 1  1 5", COUNT),
        ("master 1 1 1", CLASS),
        ("foo 1 1 1", CLASS),
        ("pubsub 1x 1 1", VALUE),
        ("pubsub -1 1 5", VALUE),
        ("pubsub 1 1 -1", VALUE),
        ("pubsub 1 1 1x", VALUE),
        // All groups are checked before any applies.
        ("pubsub 1 1 1 normal 1 1 x", VALUE),
    ] {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, &[("client-output-buffer-limit", value)]),
            Err(format!(
                "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {message}"
            )),
            "{value}"
        );
        assert_eq!(c, Config::default(), "{value}");
    }
    let e = load_err("client-output-buffer-limit pubsub 1 1\n");
    assert_eq!(e.message(), COUNT);
}

#[test]
fn client_output_buffer_limit_lines_in_a_file_each_apply() {
    let c = parse(
        "client-output-buffer-limit pubsub 1mb 1mb 1\nclient-output-buffer-limit \"slave 2mb 2mb 2\"\n",
    );
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 2097152 2097152 2 pubsub 1048576 1048576 1"
    );
    // What CONFIG REWRITE writes loads back to the same limits.
    let line = String::from_utf8(
        OPTIONS[super::options::lookup(b"client-output-buffer-limit").expect("option")]
            .config_line(&c),
    )
    .expect("utf8");
    assert_eq!(parse(&line), c);
}

#[test]
fn a_buffer_limit_is_exceeded_at_hard_or_after_soft_seconds_above_soft() {
    let limit = BufferLimit {
        hard: 100,
        soft: 50,
        soft_seconds: 10,
    };
    let mut since = None;
    assert!(!limit.exceeded(49, &mut since, 1000));
    assert_eq!(since, None);
    // Above soft: the clock starts, and only more than 10 s above it
    // counts.
    assert!(!limit.exceeded(60, &mut since, 1000));
    assert_eq!(since, Some(1000));
    assert!(!limit.exceeded(60, &mut since, 1010));
    // Back under soft resets the clock.
    assert!(!limit.exceeded(10, &mut since, 1011));
    assert_eq!(since, None);
    assert!(!limit.exceeded(60, &mut since, 1020));
    assert!(limit.exceeded(60, &mut since, 1031));
    // Hard is at once.
    assert!(limit.exceeded(100, &mut None, 0));
    // 0 disables a limit.
    let off = BufferLimit::default();
    assert!(!off.exceeded(u64::MAX, &mut None, 0));
}
