//! Test harness: starts the real `redstone-server` binary on an ephemeral
//! port with a temporary data directory, and cleans up after itself.
#![allow(dead_code)]

pub mod real_redis;
pub mod streams;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    extra: Vec<String>,
    /// Listen on this port instead of an OS-chosen one (cluster nodes: the
    /// bus port is port + 10000, which redis-cli assumes).
    fixed_port: Option<u16>,
    /// The server's log lines (stdout) so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// A server with a fresh data directory and these extra `--name value` arguments.
    pub fn start(extra: &[&str]) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let mut server = Server {
            child: None,
            port: 0,
            dir,
            _temp: Some(temp),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            fixed_port: None,
            log: Arc::default(),
        };
        server.spawn();
        server
    }

    /// A server on an existing data directory (not removed on drop).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            port: 0,
            dir: dir.to_path_buf(),
            _temp: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            fixed_port: None,
            log: Arc::default(),
        };
        server.spawn();
        server
    }

    /// Starts the binary with `--port 0` and learns the port the OS gave it
    /// from its "Ready to accept connections" log line, so that parallel
    /// tests can never race for the same port.
    fn spawn(&mut self) {
        if let Err(stderr) = self.try_spawn() {
            panic!("redstone-server exited before listening: {stderr}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        // Extra arguments first: a config file path must be the first one.
        let mut child = Command::new(env!("CARGO_BIN_EXE_redstone-server"))
            .args(&self.extra)
            .arg("--port")
            .arg(self.fixed_port.unwrap_or(0).to_string())
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start redstone-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.split("Ready to accept connections tcp ").nth(1) {
                        let port = address
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.trim().parse().ok());
                        break port.expect("a port in the ready line");
                    }
                }
                _ => {
                    let mut stderr = String::new();
                    if let Some(mut err) = child.stderr.take() {
                        let _ = err.read_to_string(&mut stderr);
                    }
                    let _ = child.wait();
                    return Err(stderr);
                }
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        self.port = port;
        self.child = Some(child);
        Ok(())
    }

    /// A cluster-enabled node on a port P whose bus port P + 10000 is free
    /// too (both probed; a start that loses a race tries another pair).
    pub fn start_cluster_node(extra: &[&str]) -> Server {
        let mut args = vec!["--cluster-enabled", "yes"];
        args.extend_from_slice(extra);
        for attempt in 0..20 {
            let port = free_port_pair(attempt);
            let temp = tempfile::tempdir().expect("temp dir");
            let mut server = Server {
                child: None,
                port: 0,
                dir: temp.path().to_path_buf(),
                _temp: Some(temp),
                extra: args.iter().map(|s| s.to_string()).collect(),
                fixed_port: Some(port),
                log: Arc::default(),
            };
            if server.try_spawn().is_ok() {
                return server;
            }
        }
        panic!("no free port pair for a cluster node");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    pub fn raw(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
    }

    /// The log lines the server printed after it was ready.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// kill -9, then wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process stays, answering nothing, until `resume`.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after `pause`.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGTERM (graceful shutdown), then wait.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("server did not exit after SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits for the process to exit by itself (after SHUTDOWN).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process again on the same directory and port.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server first");
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A port in 20000..30000 that, with port + 10000, can be bound right now.
fn free_port_pair(attempt: u64) -> u16 {
    use std::net::TcpListener;
    let seed = std::process::id() as u64 * 7919
        + attempt * 104_729
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
    for i in 0..10_000u64 {
        let port = 20000 + ((seed + i * 7) % 10_000) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free port pair");
}

/// Sends raw bytes and reads until the server closes or `timeout` passes.
pub fn exchange(stream: &mut TcpStream, bytes: &[u8], timeout: Duration) -> Vec<u8> {
    // The server may close before reading everything (that is the point of
    // some tests): a failed write still leaves its reply to read.
    let _ = stream.write_all(bytes);
    stream.set_read_timeout(Some(timeout)).expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// Runs `redis-cli -p port args...` and returns its stdout, if redis-cli is installed.
pub fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Three cluster nodes (with `extra` arguments) made into one cluster of
/// masters by `redis-cli --cluster create`, once every node reports
/// `cluster_state:ok`; `None` when redis-cli is not installed.
pub fn three_master_cluster(extra: &[&str]) -> Option<Vec<Server>> {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        eprintln!("note: redis-cli is not installed; skipping this test");
        return None;
    }
    let nodes: Vec<Server> = (0..3).map(|_| Server::start_cluster_node(extra)).collect();
    let mut args = vec!["--cluster".to_string(), "create".to_string()];
    args.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
    args.extend([
        "--cluster-replicas".into(),
        "0".into(),
        "--cluster-yes".into(),
    ]);
    let out = Command::new("redis-cli")
        .args(&args)
        .output()
        .expect("redis-cli");
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    let start = Instant::now();
    while !nodes.iter().all(|n| {
        redis_cli(n.port, &["CLUSTER", "INFO"])
            .is_some_and(|info| info.contains("cluster_state:ok"))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for cluster_state:ok"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(nodes)
}

/// Whether python3 has redis-py (with its cluster client); says so when not.
pub fn has_redis_py() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import redis.cluster"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("redis-py is not installed (pip install redis): skipped");
    }
    found
}

/// Runs `tests/clients/<script>` with `args`; fails with its output.
pub fn run_python_client(script: &str, args: &[String]) {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(path)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
