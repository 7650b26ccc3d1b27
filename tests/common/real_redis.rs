//! A real redis-server for cross-checks: started on a Unix socket in a
//! temporary directory (no port to race for), killed on drop. Tests skip
//! the comparison when redis-server is not installed (`.ci/run` installs
//! it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server on a Unix socket in a temporary directory, killed on drop.
pub struct RealRedis {
    child: Child,
    socket: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl RealRedis {
    /// None when redis-server is not installed.
    pub fn start() -> Option<RealRedis> {
        RealRedis::start_with(&[])
    }

    /// [`RealRedis::start`] with extra `--name value` arguments.
    pub fn start_with(extra: &[&str]) -> Option<RealRedis> {
        RealRedis::start_in(tempfile::tempdir().ok()?, extra)
    }

    /// A redis-server whose working directory (`--dir`: where SAVE writes
    /// and the RDB file is loaded from) is `dir`, with these extra
    /// arguments; it logs to `redis.log` there. None when redis-server is
    /// not installed.
    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Option<RealRedis> {
        let socket = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(dir.path())
            .args(["--logfile", "redis.log"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RealRedis { child, socket, dir })
    }

    /// The Unix socket it listens on.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// Its working directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn client(&self) -> redis::Connection {
        let url = format!("redis+unix://{}", self.socket.display());
        match redis::Client::open(url).and_then(|client| client.get_connection()) {
            Ok(connection) => connection,
            Err(error) => {
                let log = std::fs::read_to_string(self.dir().join("redis.log"));
                panic!("connect to redis-server: {error}; its log: {log:?}")
            }
        }
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
