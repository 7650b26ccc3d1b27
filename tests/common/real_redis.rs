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
    _dir: tempfile::TempDir,
}

impl RealRedis {
    /// None when redis-server is not installed.
    pub fn start() -> Option<RealRedis> {
        RealRedis::start_with(&[])
    }

    /// [`RealRedis::start`] with extra `--name value` arguments.
    pub fn start_with(extra: &[&str]) -> Option<RealRedis> {
        let dir = tempfile::tempdir().ok()?;
        let socket = dir.path().join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .args(extra)
            .arg("--unixsocket")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RealRedis {
            child,
            socket,
            _dir: dir,
        })
    }

    /// The Unix socket it listens on.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    pub fn client(&self) -> redis::Connection {
        let url = format!("redis+unix://{}", self.socket.display());
        redis::Client::open(url)
            .expect("client")
            .get_connection()
            .expect("connect to redis-server")
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
