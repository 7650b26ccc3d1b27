//! The option table. Each directive is exactly one `OptionDef` in `OPTIONS`;
//! that entry alone drives config-file / command-line parsing, CONFIG GET,
//! CONFIG SET and CONFIG REWRITE. To add an option: add a field to `Config`
//! (and its default) and one entry below.

use super::syntax::{format_memory, memtoull, quote_if_needed, repr, string2ll, strtoll_whole};
use super::{AppendFsync, BufferLimit, Config, LogLevel, OutputBufferLimits, Supervised};
use crate::notify::Flags;

/// CONFIG SET refuses it: "can't set immutable config".
pub(super) const IMMUTABLE: u8 = 1;
/// CONFIG SET refuses it: "can't set protected config" (Redis'
/// enable-protected-configs, which Redstone does not offer).
pub(super) const PROTECTED: u8 = 2;
/// Takes any number of arguments (`bind a b`, `save 900 1 300 10`).
pub(super) const MULTI_ARG: u8 = 4;

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const LLONG_MAX: i64 = i64::MAX;
const UINT_MAX: i64 = u32::MAX as i64;
const MB: u64 = 1024 * 1024;

/// Validates and normalises the arguments of a list option.
pub(super) type ListParser = fn(&[Vec<u8>]) -> Result<Vec<String>, &'static str>;

/// How an option's value is parsed, stored, shown and rewritten.
pub(super) enum Kind {
    /// `yes` / `no`.
    Bool {
        get: fn(&Config) -> bool,
        set: fn(&mut Config, bool),
    },
    /// Strict integer (Redis `string2ll`) within `min..=max`.
    Int {
        min: i64,
        max: i64,
        get: fn(&Config) -> i64,
        set: fn(&mut Config, i64),
    },
    /// Byte count with optional unit (Redis `memtoull`) within `min..=max`.
    Memory {
        min: u64,
        max: u64,
        get: fn(&Config) -> u64,
        set: fn(&mut Config, u64),
    },
    /// One of `names` (case-insensitive); accessors use the index in `names`.
    Enum {
        names: &'static [&'static str],
        get: fn(&Config) -> usize,
        set: fn(&mut Config, usize),
    },
    /// UTF-8 string, validated by `check`.
    Str {
        check: fn(&str) -> Result<(), &'static str>,
        get: fn(&Config) -> String,
        set: fn(&mut Config, String),
    },
    /// Binary-safe string (passwords).
    Bytes {
        get: fn(&Config) -> Vec<u8>,
        set: fn(&mut Config, Vec<u8>),
    },
    /// Several arguments (use with MULTI_ARG). `parse` validates and
    /// normalises them; with `accumulate`, repeated lines of the same config
    /// file append (Redis `save`) instead of replacing.
    List {
        parse: ListParser,
        accumulate: bool,
        get: fn(&Config) -> Vec<String>,
        set: fn(&mut Config, Vec<String>),
    },
}

pub(super) struct OptionDef {
    pub name: &'static str,
    /// Redis' older name for the option (`hash-max-ziplist-entries`):
    /// accepted everywhere, and listed by CONFIG GET as well.
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
}

impl OptionDef {
    const fn with_alias(self, alias: &'static str) -> OptionDef {
        OptionDef {
            alias: Some(alias),
            ..self
        }
    }

    /// The option's names: its own, then its alias.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.alias)
    }
}

/// Every option, in the order CONFIG GET and CONFIG REWRITE list them.
/// Accessors are plain closures; integer setters may cast with `as` because
/// `apply` has already checked the value against the entry's range.
#[rustfmt::skip]
pub(super) static OPTIONS: &[OptionDef] = &[
    int("port", 0, 0, 65535, |c| c.port.into(), |c, v| c.port = v as u16),
    list("bind", parse_bind, false, |c| c.bind.clone(), |c, v| c.bind = v),
    string("dir", IMMUTABLE, check_dir, |c| c.dir.to_string_lossy().into_owned(), |c, v| c.dir = v.into()),
    boolean("appendonly", 0, |c| c.appendonly, |c, v| c.appendonly = v),
    enumeration("appendfsync", 0, AppendFsync::NAMES,
        |c| c.appendfsync.index(), |c, i| c.appendfsync = AppendFsync::from_index(i)),
    list("save", parse_save, true,
        |c| c.save.split_whitespace().map(str::to_owned).collect(), |c, v| c.save = v.join(" ")),
    bytes("requirepass", 0,
        |c| c.requirepass.clone().unwrap_or_default(), |c, v| c.requirepass = (!v.is_empty()).then_some(v)),
    // Redis allows up to INT_MAX databases; we cap at 65536 so that a typo
    // cannot make the server allocate per-database state for billions.
    int("databases", IMMUTABLE, 1, 65536, |c| c.databases.into(), |c, v| c.databases = v as u32),
    int("maxclients", 0, 1, UINT_MAX, |c| c.maxclients.into(), |c, v| c.maxclients = v as u32),
    int("timeout", 0, 0, INT_MAX, |c| c.timeout as i64, |c, v| c.timeout = v as u64),
    int("tcp-keepalive", 0, 0, INT_MAX, |c| c.tcp_keepalive as i64, |c, v| c.tcp_keepalive = v as u64),
    memory("proto-max-bulk-len", 0, MB, |c| c.proto_max_bulk_len, |c, v| c.proto_max_bulk_len = v),
    memory("client-query-buffer-limit", 0, MB,
        |c| c.client_query_buffer_limit, |c, v| c.client_query_buffer_limit = v),
    // Each group of four sets one class and leaves the others alone, so
    // repeated lines in a file (one per class) all apply.
    list("client-output-buffer-limit", parse_output_buffer_limits, true,
        render_output_buffer_limits, set_output_buffer_limits),
    int("slowlog-log-slower-than", 0, -1, LLONG_MAX,
        |c| c.slowlog_log_slower_than, |c, v| c.slowlog_log_slower_than = v),
    int("slowlog-max-len", 0, 0, LLONG_MAX, |c| c.slowlog_max_len as i64, |c, v| c.slowlog_max_len = v as u64),
    enumeration("loglevel", 0, LogLevel::NAMES, |c| c.loglevel.index(), |c, i| c.loglevel = LogLevel::from_index(i)),
    string("logfile", IMMUTABLE, any_string, |c| c.logfile.clone(), |c, v| c.logfile = v),
    string("pidfile", IMMUTABLE, any_string, |c| c.pidfile.clone(), |c, v| c.pidfile = v),
    memory("storage-cache-size", IMMUTABLE, MB, |c| c.storage_cache_size, |c, v| c.storage_cache_size = v),
    memory("storage-write-buffer-size", IMMUTABLE, MB,
        |c| c.storage_write_buffer_size, |c, v| c.storage_write_buffer_size = v),
    // fjall refuses less than 64 MB.
    memory("storage-max-journal-size", IMMUTABLE, 64 * MB,
        |c| c.storage_max_journal_size, |c, v| c.storage_max_journal_size = v),
    memory("storage-row-cache-size", IMMUTABLE, 0,
        |c| c.storage_row_cache_size, |c, v| c.storage_row_cache_size = v),
    // Encoding thresholds: they only change what OBJECT ENCODING reports
    // (and SMEMBERS' order for intsets), as the data layout is the same.
    int("list-max-listpack-size", 0, INT_MIN, INT_MAX,
        |c| c.encoding.list_max_listpack_size, |c, v| c.encoding.list_max_listpack_size = v)
        .with_alias("list-max-ziplist-size"),
    int("list-compress-depth", 0, 0, INT_MAX,
        |c| c.encoding.list_compress_depth, |c, v| c.encoding.list_compress_depth = v),
    int("stream-node-max-entries", 0, 0, LLONG_MAX,
        |c| c.encoding.stream_node_max_entries as i64, |c, v| c.encoding.stream_node_max_entries = v as u64),
    memory("stream-node-max-bytes", 0, 0,
        |c| c.encoding.stream_node_max_bytes, |c, v| c.encoding.stream_node_max_bytes = v),
    int("hash-max-listpack-entries", 0, 0, LLONG_MAX,
        |c| c.encoding.hash_max_listpack_entries as i64, |c, v| c.encoding.hash_max_listpack_entries = v as u64)
        .with_alias("hash-max-ziplist-entries"),
    memory("hash-max-listpack-value", 0, 0,
        |c| c.encoding.hash_max_listpack_value, |c, v| c.encoding.hash_max_listpack_value = v)
        .with_alias("hash-max-ziplist-value"),
    int("set-max-intset-entries", 0, 0, LLONG_MAX,
        |c| c.encoding.set_max_intset_entries as i64, |c, v| c.encoding.set_max_intset_entries = v as u64),
    int("zset-max-listpack-entries", 0, 0, LLONG_MAX,
        |c| c.encoding.zset_max_listpack_entries as i64, |c, v| c.encoding.zset_max_listpack_entries = v as u64)
        .with_alias("zset-max-ziplist-entries"),
    memory("zset-max-listpack-value", 0, 0,
        |c| c.encoding.zset_max_listpack_value, |c, v| c.encoding.zset_max_listpack_value = v)
        .with_alias("zset-max-ziplist-value"),
    // Like Redis: any 0..=INT_MAX is accepted, then clamped to 1..=500.
    int("hz", 0, 0, INT_MAX, |c| c.hz.into(), |c, v| c.hz = v.clamp(1, 500) as u32),
    int("busy-reply-threshold", 0, 0, LLONG_MAX,
        |c| c.busy_reply_threshold as i64, |c, v| c.busy_reply_threshold = v as u64)
        .with_alias("lua-time-limit"),
    // Stored as flags, shown in Redis' canonical order ("KEA" reads "AKE").
    string("notify-keyspace-events", 0, check_keyspace_events,
        |c| c.notify_keyspace_events.to_string(),
        |c, v| c.notify_keyspace_events = Flags::parse(v.as_bytes()).unwrap_or_default()),
    memory("hll-sparse-max-bytes", 0, 0, |c| c.hll_sparse_max_bytes, |c, v| c.hll_sparse_max_bytes = v),

    boolean("cluster-enabled", IMMUTABLE, |c| c.cluster.enabled, |c, v| c.cluster.enabled = v),
    string("cluster-config-file", IMMUTABLE, check_cluster_config_file,
        |c| c.cluster.config_file.clone(), |c, v| c.cluster.config_file = v),
    int("cluster-node-timeout", 0, 0, LLONG_MAX,
        |c| c.cluster.node_timeout as i64, |c, v| c.cluster.node_timeout = v as u64),
    int("cluster-port", IMMUTABLE, 0, 65535, |c| c.cluster.port.into(), |c, v| c.cluster.port = v as u16),
    string("cluster-announce-ip", 0, any_string,
        |c| c.cluster.announce_ip.clone(), |c, v| c.cluster.announce_ip = v),
    int("cluster-announce-port", 0, 0, 65535,
        |c| c.cluster.announce_port.into(), |c, v| c.cluster.announce_port = v as u16),
    int("cluster-announce-bus-port", 0, 0, 65535,
        |c| c.cluster.announce_bus_port.into(), |c, v| c.cluster.announce_bus_port = v as u16),
    string("cluster-announce-hostname", 0, check_hostname,
        |c| c.cluster.announce_hostname.clone(), |c, v| c.cluster.announce_hostname = v),
    boolean("cluster-require-full-coverage", 0,
        |c| c.cluster.require_full_coverage, |c, v| c.cluster.require_full_coverage = v),
    boolean("cluster-allow-reads-when-down", 0,
        |c| c.cluster.allow_reads_when_down, |c, v| c.cluster.allow_reads_when_down = v),
    int("cluster-migration-barrier", 0, 0, INT_MAX,
        |c| c.cluster.migration_barrier.into(), |c, v| c.cluster.migration_barrier = v as u32),
    boolean("cluster-replica-no-failover", 0,
        |c| c.cluster.replica_no_failover, |c, v| c.cluster.replica_no_failover = v),

    bytes("masterauth", 0, |c| c.replication.masterauth.clone().unwrap_or_default(),
        |c, v| c.replication.masterauth = (!v.is_empty()).then_some(v)),
    string("masteruser", 0, any_string, |c| c.replication.masteruser.clone(), |c, v| c.replication.masteruser = v),
    boolean("replica-read-only", 0,
        |c| c.replication.replica_read_only, |c, v| c.replication.replica_read_only = v)
        .with_alias("slave-read-only"),
    boolean("replica-serve-stale-data", 0,
        |c| c.replication.replica_serve_stale_data, |c, v| c.replication.replica_serve_stale_data = v)
        .with_alias("slave-serve-stale-data"),
    memory("repl-backlog-size", 0, 1, |c| c.replication.repl_backlog_size, |c, v| c.replication.repl_backlog_size = v),
    int("repl-timeout", 0, 1, INT_MAX,
        |c| c.replication.repl_timeout as i64, |c, v| c.replication.repl_timeout = v as u64),
    int("repl-ping-replica-period", 0, 1, INT_MAX,
        |c| c.replication.repl_ping_replica_period as i64, |c, v| c.replication.repl_ping_replica_period = v as u64)
        .with_alias("repl-ping-slave-period"),
    int("min-replicas-to-write", 0, 0, INT_MAX,
        |c| c.replication.min_replicas_to_write as i64, |c, v| c.replication.min_replicas_to_write = v as u64)
        .with_alias("min-slaves-to-write"),
    int("min-replicas-max-lag", 0, 0, INT_MAX,
        |c| c.replication.min_replicas_max_lag as i64, |c, v| c.replication.min_replicas_max_lag = v as u64)
        .with_alias("min-slaves-max-lag"),
    boolean("repl-diskless-sync", 0,
        |c| c.replication.repl_diskless_sync, |c, v| c.replication.repl_diskless_sync = v),
    int("repl-diskless-sync-delay", 0, 0, INT_MAX,
        |c| c.replication.repl_diskless_sync_delay as i64, |c, v| c.replication.repl_diskless_sync_delay = v as u64),
    int("replica-priority", 0, 0, INT_MAX,
        |c| c.replication.replica_priority as i64, |c, v| c.replication.replica_priority = v as u64)
        .with_alias("slave-priority"),

    // Accepted for redis.conf compatibility, validated and stored, otherwise ignored.
    boolean("daemonize", IMMUTABLE, |c| c.compat.daemonize, |c, v| c.compat.daemonize = v),
    boolean("protected-mode", 0, |c| c.compat.protected_mode, |c, v| c.compat.protected_mode = v),
    int("tcp-backlog", IMMUTABLE, 0, INT_MAX, |c| c.compat.tcp_backlog.into(), |c, v| c.compat.tcp_backlog = v as u32),
    enumeration("supervised", IMMUTABLE, Supervised::NAMES,
        |c| c.compat.supervised.index(), |c, i| c.compat.supervised = Supervised::from_index(i)),
    boolean("always-show-logo", IMMUTABLE, |c| c.compat.always_show_logo, |c, v| c.compat.always_show_logo = v),
    string("appendfilename", IMMUTABLE, check_appendfilename,
        |c| c.compat.appendfilename.clone(), |c, v| c.compat.appendfilename = v),
    string("dbfilename", PROTECTED, check_dbfilename,
        |c| c.compat.dbfilename.clone(), |c, v| c.compat.dbfilename = v),
];

/// A list option always takes any number of arguments.
const fn list(
    name: &'static str,
    parse: ListParser,
    accumulate: bool,
    get: fn(&Config) -> Vec<String>,
    set: fn(&mut Config, Vec<String>),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::List {
            parse,
            accumulate,
            get,
            set,
        },
    }
}

const fn bytes(
    name: &'static str,
    flags: u8,
    get: fn(&Config) -> Vec<u8>,
    set: fn(&mut Config, Vec<u8>),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Bytes { get, set },
    }
}

const fn int(
    name: &'static str,
    flags: u8,
    min: i64,
    max: i64,
    get: fn(&Config) -> i64,
    set: fn(&mut Config, i64),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Int { min, max, get, set },
    }
}

/// Memory options all share Redis' upper bound LLONG_MAX.
const fn memory(
    name: &'static str,
    flags: u8,
    min: u64,
    get: fn(&Config) -> u64,
    set: fn(&mut Config, u64),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Memory {
            min,
            max: LLONG_MAX as u64,
            get,
            set,
        },
    }
}

const fn boolean(
    name: &'static str,
    flags: u8,
    get: fn(&Config) -> bool,
    set: fn(&mut Config, bool),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Bool { get, set },
    }
}

const fn enumeration(
    name: &'static str,
    flags: u8,
    names: &'static [&'static str],
    get: fn(&Config) -> usize,
    set: fn(&mut Config, usize),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Enum { names, get, set },
    }
}

const fn string(
    name: &'static str,
    flags: u8,
    check: fn(&str) -> Result<(), &'static str>,
    get: fn(&Config) -> String,
    set: fn(&mut Config, String),
) -> OptionDef {
    OptionDef {
        name,
        alias: None,
        flags,
        kind: Kind::Str { check, get, set },
    }
}

fn any_string(_: &str) -> Result<(), &'static str> {
    Ok(())
}

fn check_keyspace_events(v: &str) -> Result<(), &'static str> {
    Flags::parse(v.as_bytes())
        .map(|_| ())
        .ok_or(crate::notify::ERR_INVALID)
}

fn check_cluster_config_file(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        Err("cluster-config-file can't be empty")
    } else {
        Ok(())
    }
}

/// Redis `isValidAuxString` for hostnames: letters, digits, '-' and '.'.
fn check_hostname(v: &str) -> Result<(), &'static str> {
    if v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        Ok(())
    } else {
        Err("Hostnames must be less than 256 characters and only contain alphanumeric characters, '-' or '.'")
    }
}

fn check_dir(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        Err("dir can't be empty")
    } else {
        Ok(())
    }
}

/// Redis `pathIsBaseName`.
fn is_base_name(v: &str) -> bool {
    !v.contains(['/', '\\'])
}

fn check_dbfilename(v: &str) -> Result<(), &'static str> {
    if is_base_name(v) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename")
    }
}

fn check_appendfilename(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        Err("appendfilename can't be empty")
    } else if !is_base_name(v) {
        Err("appendfilename can't be a path, just a filename")
    } else {
        Ok(())
    }
}

/// Redis `setConfigBindOption`: at most 16 addresses, a single empty
/// argument means "no address". Addresses are checked when listening.
fn parse_bind(args: &[Vec<u8>]) -> Result<Vec<String>, &'static str> {
    if args.len() > 16 {
        return Err("Too many bind addresses specified.");
    }
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    args.iter()
        .map(|a| String::from_utf8(a.clone()).map_err(|_| "argument must be a valid UTF-8 string"))
        .collect()
}

/// Redis `setConfigSaveOption`: pairs of `<seconds >= 1> <changes >= 0>`
/// (parsed with strtoll), a single empty argument means "no save points".
fn parse_save(args: &[Vec<u8>]) -> Result<Vec<String>, &'static str> {
    const ERR: &str = "Invalid save parameters";
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    if args.len() % 2 == 1 {
        return Err(ERR);
    }
    let mut out = Vec::with_capacity(args.len());
    for pair in args.chunks(2) {
        let seconds = strtoll_whole(&pair[0]).filter(|v| *v >= 1).ok_or(ERR)?;
        // Redis keeps `changes` in a C int.
        let changes = strtoll_whole(&pair[1]).filter(|v| *v >= 0).ok_or(ERR)? as i32;
        out.push(seconds.to_string());
        out.push(changes.to_string());
    }
    Ok(out)
}

/// Redis `updateClientOutputBufferLimit`: groups of `<class> <hard> <soft>
/// <soft-seconds>`, class normal / replica (slave) / pubsub, sizes with
/// units (memtoull), seconds a C int parsed with strtoll. All groups are
/// checked before any applies. Normalised to `class hard soft seconds`.
fn parse_output_buffer_limits(args: &[Vec<u8>]) -> Result<Vec<String>, &'static str> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut out = Vec::with_capacity(args.len());
    for group in args.chunks(4) {
        let class = buffer_class(&group[0])
            .ok_or("Invalid client class specified in buffer limit configuration.")?;
        const BAD: &str =
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = memtoull(&group[1]).ok_or(BAD)?;
        let soft = memtoull(&group[2]).ok_or(BAD)?;
        // Redis stores the seconds in an int: larger values wrap.
        let seconds = strtoll_whole(&group[3]).ok_or(BAD)? as i32;
        if seconds < 0 {
            return Err(BAD);
        }
        out.extend([
            class.to_string(),
            hard.to_string(),
            soft.to_string(),
            seconds.to_string(),
        ]);
    }
    Ok(out)
}

/// The class name CONFIG GET shows, for a name `getClientTypeByName` knows
/// (master is refused, as in Redis).
fn buffer_class(name: &[u8]) -> Option<&'static str> {
    let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
    if is("normal") {
        Some("normal")
    } else if is("slave") || is("replica") {
        Some("slave")
    } else if is("pubsub") {
        Some("pubsub")
    } else {
        None
    }
}

fn render_output_buffer_limits(c: &Config) -> Vec<String> {
    let limits = &c.client_output_buffer_limit;
    let mut out = Vec::with_capacity(12);
    for (class, limit) in [
        ("normal", &limits.normal),
        ("slave", &limits.replica),
        ("pubsub", &limits.pubsub),
    ] {
        out.extend([
            class.to_string(),
            limit.hard.to_string(),
            limit.soft.to_string(),
            limit.soft_seconds.to_string(),
        ]);
    }
    out
}

/// Applies normalised groups (see `parse_output_buffer_limits`) on top of
/// the current limits.
fn set_output_buffer_limits(c: &mut Config, values: Vec<String>) {
    let limits: &mut OutputBufferLimits = &mut c.client_output_buffer_limit;
    for group in values.chunks_exact(4) {
        let slot = match group[0].as_str() {
            "normal" => &mut limits.normal,
            "slave" => &mut limits.replica,
            _ => &mut limits.pubsub,
        };
        let number = |s: &String| s.parse::<u64>().unwrap_or(0);
        *slot = BufferLimit {
            hard: number(&group[1]),
            soft: number(&group[2]),
            soft_seconds: number(&group[3]),
        };
    }
}

fn range_error<T: std::fmt::Display>(min: T, max: T) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

fn utf8(v: &[u8]) -> Result<String, String> {
    String::from_utf8(v.to_vec()).map_err(|_| "argument must be a valid UTF-8 string".to_string())
}

impl OptionDef {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Validate `args` and store them into `cfg`; on error `cfg` is
    /// untouched and the error is Redis' message. `append` is true for a
    /// repeated line of an accumulating option inside one config file.
    pub fn apply(&self, cfg: &mut Config, args: &[Vec<u8>], append: bool) -> Result<(), String> {
        if let Kind::List {
            parse,
            accumulate,
            get,
            set,
        } = self.kind
        {
            let mut values = parse(args)?;
            let reset = args.len() == 1 && args[0].is_empty();
            if accumulate && append && !reset {
                let mut all = get(cfg);
                all.append(&mut values);
                values = all;
            }
            set(cfg, values);
            return Ok(());
        }
        let [arg] = args else {
            return Err("wrong number of arguments".to_string());
        };
        match self.kind {
            Kind::Bool { set, .. } => {
                let v = if arg.eq_ignore_ascii_case(b"yes") {
                    true
                } else if arg.eq_ignore_ascii_case(b"no") {
                    false
                } else {
                    return Err("argument must be 'yes' or 'no'".to_string());
                };
                set(cfg, v);
            }
            Kind::Int { min, max, set, .. } => {
                let v = string2ll(arg).ok_or("argument couldn't be parsed into an integer")?;
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                set(cfg, v);
            }
            Kind::Memory { min, max, set, .. } => {
                let v = memtoull(arg).ok_or("argument must be a memory value")?;
                if v < min || v > max {
                    return Err(range_error(min, max));
                }
                set(cfg, v);
            }
            Kind::Enum { names, set, .. } => {
                let idx = names
                    .iter()
                    .position(|n| n.as_bytes().eq_ignore_ascii_case(arg));
                let idx = idx.ok_or_else(|| {
                    format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    )
                })?;
                set(cfg, idx);
            }
            Kind::Str { check, set, .. } => {
                let v = utf8(arg)?;
                check(&v)?;
                set(cfg, v);
            }
            Kind::Bytes { set, .. } => set(cfg, arg.clone()),
            Kind::List { .. } => {}
        }
        Ok(())
    }

    /// The value as CONFIG GET shows it.
    pub fn render(&self, cfg: &Config) -> String {
        match &self.kind {
            Kind::Bool { get, .. } => if get(cfg) { "yes" } else { "no" }.to_string(),
            Kind::Int { get, .. } => get(cfg).to_string(),
            Kind::Memory { get, .. } => get(cfg).to_string(),
            Kind::Enum { names, get, .. } => {
                names.get(get(cfg)).copied().unwrap_or_default().to_string()
            }
            Kind::Str { get, .. } => get(cfg),
            Kind::Bytes { get, .. } => String::from_utf8_lossy(&get(cfg)).into_owned(),
            Kind::List { get, .. } => get(cfg).join(" "),
        }
    }

    /// The value as a config file line (`name value`), which parses back to
    /// the same value. Strings are always quoted, as Redis rewrites them.
    pub fn config_line(&self, cfg: &Config) -> Vec<u8> {
        let value = match &self.kind {
            Kind::Memory { get, .. } => format_memory(get(cfg)).into_bytes(),
            Kind::Str { get, .. } => repr(get(cfg).as_bytes()),
            Kind::Bytes { get, .. } => repr(&get(cfg)),
            Kind::List { get, .. } => {
                let items = get(cfg);
                if items.is_empty() {
                    b"\"\"".to_vec()
                } else {
                    let quoted: Vec<Vec<u8>> = items
                        .iter()
                        .map(|i| quote_if_needed(i.as_bytes()))
                        .collect();
                    quoted.join(&b' ')
                }
            }
            _ => self.render(cfg).into_bytes(),
        };
        let mut line = self.name.as_bytes().to_vec();
        line.push(b' ');
        line.extend_from_slice(&value);
        line
    }
}

/// Case-insensitive lookup of an option by name.
pub(super) fn lookup(name: &[u8]) -> Option<usize> {
    OPTIONS
        .iter()
        .position(|o| o.names().any(|n| n.as_bytes().eq_ignore_ascii_case(name)))
}
