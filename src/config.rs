// TEMPORARY STUB while the real module is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    Always,
    EverySec,
    No,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: std::path::PathBuf,
    pub appendonly: bool,
    pub appendfsync: AppendFsync,
    pub save: String,
    pub requirepass: Option<Vec<u8>>,
    pub databases: u32,
    pub maxclients: u32,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub pidfile: String,
    pub storage_cache_size: u64,
    pub storage_write_buffer_size: u64,
    pub hz: u32,
    pub config_file: Option<std::path::PathBuf>,
}
pub struct ConfigError(String);
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            dir: "./data".into(),
            appendonly: true,
            appendfsync: AppendFsync::EverySec,
            save: String::new(),
            requirepass: None,
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            proto_max_bulk_len: 512 << 20,
            client_query_buffer_limit: 1 << 30,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            pidfile: String::new(),
            storage_cache_size: 64 << 20,
            storage_write_buffer_size: 64 << 20,
            hz: 10,
            config_file: None,
        }
    }
}
impl Config {
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let mut i = 0;
        while i + 1 < args.len() {
            match args[i].as_str() {
                "--port" => {
                    c.port = args[i + 1]
                        .parse()
                        .map_err(|_| ConfigError("port".into()))?
                }
                "--dir" => c.dir = args[i + 1].clone().into(),
                "--appendfsync" => {
                    c.appendfsync = match args[i + 1].as_str() {
                        "always" => AppendFsync::Always,
                        "no" => AppendFsync::No,
                        _ => AppendFsync::EverySec,
                    }
                }
                "--requirepass" => c.requirepass = Some(args[i + 1].clone().into_bytes()),
                _ => {}
            }
            i += 2;
        }
        Ok(c)
    }
    pub fn get(&self, _patterns: &[&[u8]]) -> Vec<(String, String)> {
        vec![]
    }
    pub fn set(&mut self, _pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        Ok(())
    }
    pub fn rewrite(&self) -> Result<(), String> {
        Ok(())
    }
}
