//! Server configuration: redis.conf-style file plus `--name value` command
//! line overrides, CONFIG GET / SET / REWRITE.
//!
//! The options themselves live in one table (`options::OPTIONS`); this module
//! only implements the file format and the commands on top of it, mirroring
//! Redis 7.0 (`config.c`, `server.c` main) including its error messages.

mod options;
mod syntax;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs;
use std::io;
use std::path::PathBuf;

use crate::glob::glob_match;
use options::{lookup, IMMUTABLE, MULTI_ARG, OPTIONS, PROTECTED};
use syntax::{repr, split_args, trim};

/// Defines a config enum whose variants map to Redis' spelling, listed in
/// Redis' order (which is also the order of its "must be one of" message).
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Accepted spellings, in Redis' order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase name CONFIG GET shows.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            fn index(self) -> usize {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
            }

            fn from_index(i: usize) -> Self {
                Self::ALL.get(i).copied().unwrap_or(Self::ALL[0])
            }
        }
    };
}

config_enum!(
    /// `appendfsync`: how often the storage engine syncs its journal.
    AppendFsync { EverySec => "everysec", Always => "always", No => "no" }
);
config_enum!(
    /// `loglevel`.
    LogLevel { Debug => "debug", Verbose => "verbose", Notice => "notice", Warning => "warning" }
);
config_enum!(
    /// `supervised` (accepted for redis.conf compatibility, ignored).
    Supervised { Upstart => "upstart", Systemd => "systemd", Auto => "auto", No => "no" }
);

/// Redis options that Redstone accepts, validates and stores so that
/// existing redis.conf files load, but otherwise ignores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompatOptions {
    pub daemonize: bool,
    pub protected_mode: bool,
    pub tcp_backlog: u32,
    pub supervised: Supervised,
    pub always_show_logo: bool,
    pub appendfilename: String,
    pub dbfilename: String,
}

impl Default for CompatOptions {
    fn default() -> Self {
        CompatOptions {
            daemonize: false,
            protected_mode: true,
            tcp_backlog: 511,
            supervised: Supervised::No,
            always_show_logo: false,
            appendfilename: "appendonly.aof".to_string(),
            dbfilename: "dump.rdb".to_string(),
        }
    }
}

/// When a small collection stops reporting its compact encoding (OBJECT
/// ENCODING), with Redis 7.0's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    /// A stream node's entries (approximate trimming removes whole nodes).
    pub stream_node_max_entries: u64,
    /// Accepted for redis.conf compatibility; nodes here are counted in entries.
    pub stream_node_max_bytes: u64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
        }
    }
}

/// Replication settings, with redis.conf's names and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationOptions {
    /// Password (and user) a replica authenticates to its master with.
    pub masterauth: Option<Vec<u8>>,
    pub masteruser: String,
    pub replica_read_only: bool,
    /// Whether a replica whose link is down (or still syncing) serves
    /// its possibly stale data; with `no` it answers MASTERDOWN.
    pub replica_serve_stale_data: bool,
    /// Bytes of the stream kept for partial resyncs.
    pub repl_backlog_size: u64,
    /// Seconds without a byte from the other end before a link is dropped.
    pub repl_timeout: u64,
    /// Seconds between the PINGs a master sends an idle link.
    pub repl_ping_replica_period: u64,
    /// A master refuses writes (NOREPLICAS) unless this many replicas
    /// acknowledged within `min_replicas_max_lag` seconds; 0 disables.
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    /// Accepted for redis.conf: a full sync always streams from a storage
    /// snapshot, with no RDB file on disk, whatever these say.
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u64,
    /// Shown in INFO replication (`slave_priority`).
    pub replica_priority: u64,
}

impl Default for ReplicationOptions {
    fn default() -> Self {
        ReplicationOptions {
            masterauth: None,
            masteruser: String::new(),
            replica_read_only: true,
            replica_serve_stale_data: true,
            repl_backlog_size: 1024 * 1024,
            repl_timeout: 60,
            repl_ping_replica_period: 10,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            replica_priority: 100,
        }
    }
}

/// Cluster mode settings, with redis.conf's names and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    pub enabled: bool,
    /// nodes.conf, relative to `dir` unless absolute.
    pub config_file: String,
    /// Milliseconds without a PONG before a node is suspected (PFAIL).
    pub node_timeout: u64,
    /// Bus port; 0 means client port + 10000.
    pub port: u16,
    /// Address, ports and hostname other nodes and clients are told to use;
    /// empty / 0 means "the real one".
    pub announce_ip: String,
    pub announce_port: u16,
    pub announce_bus_port: u16,
    pub announce_hostname: String,
    pub require_full_coverage: bool,
    pub allow_reads_when_down: bool,
    pub migration_barrier: u32,
    pub replica_no_failover: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            enabled: false,
            config_file: "nodes.conf".to_string(),
            node_timeout: 15000,
            port: 0,
            announce_ip: String::new(),
            announce_port: 0,
            announce_bus_port: 0,
            announce_hostname: String::new(),
            require_full_coverage: true,
            allow_reads_when_down: false,
            migration_barrier: 1,
            replica_no_failover: false,
        }
    }
}

/// One client class's `client-output-buffer-limit`: a client whose pending
/// output reaches `hard` bytes, or stays at or above `soft` bytes for more
/// than `soft_seconds`, is disconnected. 0 disables a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl BufferLimit {
    /// Whether `used` pending bytes at `now_secs` take a client over the
    /// limit (Redis' `checkClientOutputBufferLimits`): `soft_since` is the
    /// client's own record of when it last went over the soft limit.
    pub fn exceeded(&self, used: u64, soft_since: &mut Option<u64>, now_secs: u64) -> bool {
        let hard = self.hard != 0 && used >= self.hard;
        let soft = if self.soft != 0 && used >= self.soft {
            let since = *soft_since.get_or_insert(now_secs);
            now_secs.saturating_sub(since) > self.soft_seconds
        } else {
            *soft_since = None;
            false
        };
        hard || soft
    }
}

/// `client-output-buffer-limit` for Redis' three classes: `pubsub` is
/// enforced, `replica`'s bounds what is held for a replica during its full
/// sync (after it, a replica that falls behind the backlog resyncs), and
/// normal clients get their replies in one write per batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputBufferLimits {
    pub normal: BufferLimit,
    pub replica: BufferLimit,
    pub pubsub: BufferLimit,
}

impl Default for OutputBufferLimits {
    fn default() -> Self {
        const MB: u64 = 1024 * 1024;
        OutputBufferLimits {
            normal: BufferLimit::default(),
            replica: BufferLimit {
                hard: 256 * MB,
                soft: 64 * MB,
                soft_seconds: 60,
            },
            pubsub: BufferLimit {
                hard: 32 * MB,
                soft: 8 * MB,
                soft_seconds: 60,
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// TCP port, 0..=65535.
    pub port: u16,
    /// Addresses to listen on (Redis' default is "* -::*", ours loopback).
    pub bind: Vec<String>,
    /// Data directory (created by the server at start).
    pub dir: PathBuf,
    /// Accepted for compatibility; the storage engine is always durable.
    pub appendonly: bool,
    pub appendfsync: AppendFsync,
    /// Normalised save points ("900 1 300 10"), only for CONFIG GET save.
    pub save: String,
    pub requirepass: Option<Vec<u8>>,
    /// 1..=65536 (Redis allows up to INT_MAX; we cap it).
    pub databases: u32,
    pub maxclients: u32,
    /// Seconds of client idleness before closing it; 0 = never.
    pub timeout: u64,
    /// Seconds.
    pub tcp_keepalive: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub client_output_buffer_limit: OutputBufferLimits,
    /// Microseconds; negative (-1) disables the slowlog.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub loglevel: LogLevel,
    /// "" = stdout.
    pub logfile: String,
    pub pidfile: String,
    /// `storage-cache-size`: fjall block cache bytes (filled as blocks are
    /// read, so an idle or small server uses far less).
    pub storage_cache_size: u64,
    /// `storage-write-buffer-size`: memtable size of each storage partition.
    pub storage_write_buffer_size: u64,
    /// `storage-max-journal-size`: once the journals hold more than this,
    /// the oldest memtables are flushed so their journals can be deleted.
    pub storage_max_journal_size: u64,
    /// `storage-row-cache-size`: recently read or written keys (their
    /// header and string value) kept in RAM in front of the engine; 0 for none.
    pub storage_row_cache_size: u64,
    /// Active expiry frequency, always within 1..=500.
    pub hz: u32,
    /// `busy-reply-threshold` (alias `lua-time-limit`), ms: how long a
    /// script runs before other clients get BUSY.
    pub busy_reply_threshold: u64,
    /// `notify-keyspace-events`: which keyspace events are published.
    pub notify_keyspace_events: crate::notify::Flags,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog that would grow beyond
    /// this many bytes (header included) turns dense.
    pub hll_sparse_max_bytes: u64,
    /// Absolute path of the config file we were started with (CONFIG REWRITE).
    pub config_file: Option<PathBuf>,
    /// Redis-only directives that are accepted but ignored.
    pub compat: CompatOptions,
    /// The `cluster-*` directives.
    pub cluster: ClusterOptions,
    /// Replication: `masterauth`, `repl-*`, `replica-*`, `min-replicas-*`.
    pub replication: ReplicationOptions,
    /// The `*-max-listpack-*` / `set-max-intset-entries` thresholds.
    pub encoding: EncodingLimits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".to_string()],
            dir: PathBuf::from("./data"),
            appendonly: true,
            appendfsync: AppendFsync::EverySec,
            save: String::new(),
            requirepass: None,
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_limit: OutputBufferLimits::default(),
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            pidfile: String::new(),
            storage_cache_size: 512 * 1024 * 1024,
            storage_write_buffer_size: 64 * 1024 * 1024,
            storage_max_journal_size: 128 * 1024 * 1024,
            storage_row_cache_size: 1024 * 1024 * 1024,
            hz: 10,
            busy_reply_threshold: 5000,
            notify_keyspace_events: crate::notify::Flags::default(),
            hll_sparse_max_bytes: 3000,
            config_file: None,
            compat: CompatOptions::default(),
            cluster: ClusterOptions::default(),
            replication: ReplicationOptions::default(),
            encoding: EncodingLimits::default(),
        }
    }
}

/// A fatal error while loading the configuration at startup. `Display`
/// renders it the way redis-server prints it before exiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the combined text (file lines, one blank separator
    /// line, then one line per `--option`), or None for an unreadable file.
    line: Option<usize>,
    /// The offending line, trimmed (or the file path for an open error).
    text: String,
    message: String,
}

impl ConfigError {
    /// Line number in the combined config text, None if the file could not be read.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The reason alone, e.g. "argument couldn't be parsed into an integer".
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "*** FATAL CONFIG FILE ERROR (Redstone {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}",
                env!("CARGO_PKG_VERSION"),
                line,
                self.text,
                self.message
            ),
            None => write!(f, "Fatal error, can't open config file '{}': {}", self.text, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// `strerror`-like text: io::Error's message without " (os error N)".
fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(pos) => s[..pos].to_string(),
        None => s,
    }
}

/// One directive of a config text, split and looked up.
enum Directive {
    /// Blank line or comment.
    Nothing,
    /// Known option with its (possibly re-split) values.
    Option { index: usize, values: Vec<Vec<u8>> },
}

/// Parse one (untrimmed) line; errors are Redis' messages.
fn parse_line(raw: &[u8]) -> Result<Directive, &'static str> {
    let line = trim(raw);
    if line.is_empty() || line[0] == b'#' {
        return Ok(Directive::Nothing);
    }
    let args = split_args(line).ok_or("Unbalanced quotes in configuration line")?;
    let Some((name, rest)) = args.split_first() else {
        return Ok(Directive::Nothing);
    };
    let index = lookup(name).ok_or("Bad directive or wrong number of arguments")?;
    let multi = OPTIONS[index].has(MULTI_ARG);
    if !multi && rest.len() != 1 {
        return Err("wrong number of arguments");
    }
    let values = match rest {
        // A single non-empty argument of a multi-arg option is split again,
        // so that `--save "900 1 300 10"` works (an unbalanced one yields no
        // argument at all, as in Redis).
        [one] if multi && !one.is_empty() => split_args(one).unwrap_or_default(),
        _ => rest.to_vec(),
    };
    Ok(Directive::Option { index, values })
}

impl Config {
    /// `args` = process arguments without argv[0]. The first argument, if it
    /// does not start with "--", is the config file; the rest are `--name
    /// value...` overrides applied after the file, exactly like redis-server
    /// (values may start with "--" when they directly follow an option name).
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let (file, opts) = match args.split_first() {
            Some((first, rest)) if !first.starts_with("--") => (Some(first), rest),
            _ => (None, args),
        };
        let mut text = Vec::new();
        let mut config_file = None;
        if let Some(file) = file {
            let open_err = |e: &io::Error| ConfigError {
                line: None,
                text: file.clone(),
                message: io_reason(e),
            };
            let abs = std::path::absolute(file).map_err(|e| open_err(&e))?;
            text = fs::read(&abs).map_err(|e| ConfigError {
                text: abs.to_string_lossy().into_owned(),
                ..open_err(&e)
            })?;
            config_file = Some(abs);
        }
        text.push(b'\n');
        text.extend_from_slice(&options_text(opts));
        let mut cfg = Config::load(&text)?;
        cfg.config_file = config_file;
        Ok(cfg)
    }

    /// Parse a config file's content (no file attached: REWRITE will fail).
    pub fn from_text(text: &str) -> Result<Config, ConfigError> {
        Config::load(text.as_bytes())
    }

    fn load(text: &[u8]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut seen = vec![false; OPTIONS.len()];
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let fail = |message: String| ConfigError {
                line: Some(i + 1),
                text: String::from_utf8_lossy(trim(raw)).into_owned(),
                message,
            };
            match parse_line(raw).map_err(|m| fail(m.to_string()))? {
                Directive::Nothing => {}
                Directive::Option { index, values } => {
                    OPTIONS[index]
                        .apply(&mut cfg, &values, seen[index])
                        .map_err(fail)?;
                    seen[index] = true;
                }
            }
        }
        Ok(cfg)
    }

    /// CONFIG GET: every option whose name matches one of the glob patterns
    /// (case-insensitive), each name at most once (an option and its alias are
    /// two names), in the order first matched.
    /// A pattern without `*?[` is an exact lookup and, like Redis, answers
    /// with the name as it was spelled in the request.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut add = |index: usize, name: String| {
            if !found
                .iter()
                .any(|(seen, shown)| *seen == index && shown.eq_ignore_ascii_case(&name))
            {
                found.push((index, name));
            }
        };
        for pattern in patterns {
            if pattern.iter().any(|b| b"[*?".contains(b)) {
                for (index, opt) in OPTIONS.iter().enumerate() {
                    for name in opt.names() {
                        if glob_match(pattern, name.as_bytes(), true) {
                            add(index, name.to_string());
                        }
                    }
                }
            } else if let Some(index) = lookup(pattern) {
                add(index, String::from_utf8_lossy(pattern).into_owned());
            }
        }
        found
            .into_iter()
            .map(|(i, name)| (name, OPTIONS[i].render(self)))
            .collect()
    }

    /// CONFIG SET name value [name value ...], all-or-nothing. Errors are
    /// Redis 7.0's messages without the "ERR " prefix.
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        let mut chosen = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let shown = String::from_utf8_lossy(name);
            let Some(index) = lookup(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{shown}'"
                ));
            };
            let opt = &OPTIONS[index];
            let refusal = if opt.has(IMMUTABLE) {
                Some("can't set immutable config")
            } else if opt.has(PROTECTED) {
                Some("can't set protected config")
            } else if chosen.iter().any(|(i, _)| *i == index) {
                Some("duplicate parameter")
            } else {
                None
            };
            if let Some(why) = refusal {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - {why}"
                ));
            }
            chosen.push((index, value));
        }
        let mut next = self.clone();
        for (index, value) in chosen {
            let opt = &OPTIONS[index];
            let values = if opt.has(MULTI_ARG) {
                // Redis splits multi-arg values on single spaces (sdssplitlen).
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
                }
            } else {
                vec![value.to_vec()]
            };
            opt.apply(&mut next, &values, false).map_err(|e| {
                format!(
                    "CONFIG SET failed (possibly related to argument '{}') - {e}",
                    opt.name
                )
            })?;
        }
        *self = next;
        Ok(())
    }

    /// CONFIG REWRITE: update `config_file` in place (atomically), keeping
    /// comments, blank lines and lines whose value is still current,
    /// replacing stale ones, dropping duplicates and appending options that
    /// differ from their defaults. Errors are Redis' messages.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .config_file
            .as_ref()
            .ok_or("The server is running without a config file")?;
        let fail = |e: &io::Error| format!("Rewriting config file: {}", io_reason(e));
        // Write through symlinks to the real file, as editors do.
        let path = fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let old = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(fail(&e)),
        };
        // Redis' reply names the OS error only, not the failed step.
        crate::fsutil::write_atomically(&path, &self.rewrite_text(&old)).map_err(|e| fail(e.io()))
    }

    /// The new content of a config file whose current content is `old`.
    fn rewrite_text(&self, old: &[u8]) -> Vec<u8> {
        const SIGNATURE: &[u8] = b"# Generated by CONFIG REWRITE";
        let mut lines: Vec<Option<Vec<u8>>> = Vec::new();
        let mut per_option: Vec<Vec<(usize, Vec<Vec<u8>>)>> = vec![Vec::new(); OPTIONS.len()];
        let body = old.strip_suffix(b"\n").unwrap_or(old);
        if !old.is_empty() {
            for raw in body.split(|&b| b == b'\n') {
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                match parse_line(raw) {
                    Ok(Directive::Nothing) => lines.push(Some(raw.to_vec())),
                    Ok(Directive::Option { index, values }) => {
                        per_option[index].push((lines.len(), values));
                        lines.push(Some(raw.to_vec()));
                    }
                    // Unparsable or unknown: keep it, commented out (Redis does the same).
                    Err(_) => lines.push(Some([b"# ??? ".as_slice(), trim(raw)].concat())),
                }
            }
        }
        let has_signature = lines.iter().flatten().any(|l| trim(l) == SIGNATURE);
        let defaults = Config::default();
        let mut appended = Vec::new();
        for (index, opt) in OPTIONS.iter().enumerate() {
            // Compare file lines (exact bytes), not CONFIG GET renderings.
            let current = opt.config_line(self);
            let occurrences = &per_option[index];
            let Some(((first, _), rest)) = occurrences.split_first() else {
                if current != opt.config_line(&defaults) {
                    appended.push(current);
                }
                continue;
            };
            // What the file's lines for this option evaluate to on their own.
            let mut scratch = Config::default();
            let mut ok = true;
            for (n, (_, values)) in occurrences.iter().enumerate() {
                ok &= opt.apply(&mut scratch, values, n > 0).is_ok();
            }
            let accumulates = matches!(
                opt.kind,
                options::Kind::List {
                    accumulate: true,
                    ..
                }
            );
            if ok && opt.config_line(&scratch) == current && (rest.is_empty() || accumulates) {
                continue;
            }
            lines[*first] = Some(current);
            for (line, _) in rest {
                lines[*line] = None;
            }
        }
        if !appended.is_empty() && !has_signature {
            lines.push(Some(SIGNATURE.to_vec()));
        }
        lines.extend(appended.into_iter().map(Some));
        let mut out = Vec::new();
        for line in lines.into_iter().flatten() {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        out
    }
}

/// Build the text redis-server appends after the config file for the
/// command-line options (`main()` in server.c): each `--name` starts a new
/// line, following arguments are appended quoted, `--save` without a value
/// means `save ""`.
fn options_text(args: &[String]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut handled_last = true;
    for (j, arg) in args.iter().enumerate() {
        let bytes = arg.as_bytes();
        if handled_last && bytes.starts_with(b"--") {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(&bytes[2..]);
            out.push(b' ');
            if split_args(bytes).is_some_and(|a| a.len() == 1) {
                // Only a name ("--port"): its value(s) follow.
                handled_last = false;
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                if arg.eq_ignore_ascii_case("--save") && (next_is_option || j + 1 == args.len()) {
                    out.extend_from_slice(b"\"\"");
                    handled_last = true;
                }
            } else {
                // Name and value in one argument ("--port 6380").
                handled_last = true;
            }
        } else {
            out.extend_from_slice(&repr(bytes));
            out.push(b' ');
            handled_last = true;
        }
    }
    out
}
