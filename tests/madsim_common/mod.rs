//! What the madsim scenarios share: simulated server nodes and a small
//! RESP client over the simulated network. Only in the madsim build.
#![allow(dead_code)] // each scenario file uses its own part of it

use redstone::config::Config;
use redstone::engine::memory::MemoryEngine;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client port every simulated server listens on.
pub const PORT: u16 = 6379;

/// A simulated node running the real server with `config` (its address
/// set to `ip`:[`PORT`]) on `engine`, which outlives the node's crashes (a
/// restart runs the server again on it, as on a disk).
pub fn server_node(
    handle: &madsim::runtime::Handle,
    name: &str,
    ip: IpAddr,
    engine: Arc<MemoryEngine>,
    config: Config,
) -> madsim::runtime::NodeHandle {
    let config = Config {
        bind: vec![ip.to_string()],
        port: PORT,
        ..config
    };
    handle
        .create_node()
        .name(name)
        .ip(ip)
        .init(move || {
            let (engine, config) = (engine.clone(), config.clone());
            async move {
                let _ = redstone::server::serve(config, engine).await;
            }
        })
        .build()
}

/// Reads one RESP reply (simple, error, integer or bulk; the text of an
/// error keeps its leading '-') from `stream`, within 5 s of simulated time.
pub async fn read_reply(stream: &mut TcpStream) -> Result<String, String> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(text) = complete_reply(&reply) {
            return Ok(text);
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        let n = read
            .map_err(|_| "no reply in time".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        reply.extend_from_slice(&buf[..n]);
    }
}

/// The text of a whole single reply in `bytes`, if it has arrived. An
/// array (of bulk strings: KEYS, MGET) reads as its elements, one a line.
fn complete_reply(bytes: &[u8]) -> Option<String> {
    let (text, _) = reply_at(bytes)?;
    Some(text)
}

/// The reply that starts `bytes`, and its length.
fn reply_at(bytes: &[u8]) -> Option<(String, usize)> {
    let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&bytes[1..line_end]).into_owned();
    let after_line = line_end + 2;
    match bytes[0] {
        b'$' => {
            let len: i64 = line.parse().ok()?;
            if len < 0 {
                return Some((String::new(), after_line));
            }
            let end = after_line + len as usize;
            let body = bytes.get(after_line..end)?;
            bytes.get(end..end + 2)?;
            Some((String::from_utf8_lossy(body).into_owned(), end + 2))
        }
        b'*' => {
            let count: i64 = line.parse().ok()?;
            let mut at = after_line;
            let mut elements = Vec::new();
            for _ in 0..count.max(0) {
                let (element, len) = reply_at(&bytes[at..])?;
                elements.push(element);
                at += len;
            }
            Some((elements.join("\n"), at))
        }
        b'-' => Some((format!("-{line}"), after_line)),
        _ => Some((line, after_line)),
    }
}

/// Sends one command and reads its reply.
pub async fn try_command(stream: &mut TcpStream, args: &[&str]) -> Result<String, String> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // A simulated stream delivers bytes only when flushed.
    stream.flush().await.map_err(|e| e.to_string())?;
    read_reply(stream).await
}

/// [`try_command`] where failing is a bug of the test's own setup.
pub async fn command(stream: &mut TcpStream, args: &[&str]) -> String {
    try_command(stream, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// One attempt at a connection, given up after a second.
pub async fn try_connect(address: SocketAddr) -> Option<TcpStream> {
    let attempt = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(address));
    attempt.await.ok()?.ok()
}

/// A connection, retried every 100 ms for up to `limit` (a node may be
/// restarting).
pub async fn connect(address: SocketAddr, limit: Duration) -> TcpStream {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(stream) = try_connect(address).await {
            return stream;
        }
        assert!(start.elapsed() < limit, "{address} never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A field of `INFO <section>`.
pub async fn info_field(stream: &mut TcpStream, section: &str, field: &str) -> Option<String> {
    let info = try_command(stream, &["INFO", section]).await.ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
}

/// Runs `scenario` with `bug` planted on seeds 1..=seeds until one fails
/// with a panic whose message contains `invariant`; returns that seed.
/// Each seed runs on a thread of its own, as madsim runs them, so that
/// what a thread keeps (a seeded generator) does not carry over from the
/// seed before: the seed returned replays alone.
pub fn seed_catching<Fut>(
    bug: redstone::planted::Bug,
    seeds: u64,
    invariant: &str,
    scenario: fn() -> Fut,
) -> Option<u64>
where
    Fut: std::future::Future<Output = ()> + 'static,
{
    (1..=seeds).find(|&seed| {
        let run = move || {
            let runtime =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            runtime.block_on(async move {
                redstone::planted::plant(Some(bug));
                scenario().await;
            })
        };
        let Err(panic) = std::thread::spawn(run).join() else {
            return false;
        };
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        message.contains(invariant)
    })
}

/// Makes every link of the simulated network, client, bus and replication
/// alike, slow and lossy as the seed decides: each packet takes 1 ms up to
/// `max_latency`, and up to `max_loss` of them are lost and sent again
/// (madsim's streams retransmit, like TCP, so a loss is a delay; but a
/// lost connection request is refused at once).
pub fn unreliable_network(max_latency: Duration, max_loss: f64) {
    use madsim::rand::Rng;
    let mut rng = madsim::rand::thread_rng();
    let latency = rng.gen_range(Duration::from_millis(2)..max_latency);
    let loss = rng.gen_range(0.0..=max_loss);
    madsim::net::NetSim::current().update_config(|config| {
        config.send_latency = Duration::from_millis(1)..latency;
        config.packet_loss_rate = loss;
    });
}

/// Makes every simulated node's disk slow as the seed decides: each sync
/// (an `appendfsync always` client waits for one) takes up to a latency
/// drawn up to `max`, and a power cut meanwhile loses what it was to
/// make durable.
pub fn slow_disk(max: Duration) {
    use madsim::rand::Rng;
    let latency = madsim::rand::thread_rng().gen_range(Duration::ZERO..=max);
    redstone::server::durability::set_disk_latency(latency);
}

/// A directory for one simulated node's files, removed when dropped. Its
/// name comes from a counter, not from `tempfile`, whose random names
/// draw on the simulator's randomness only the first time a thread asks
/// (madsim's determinism check runs a seed twice on one thread).
pub struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    pub fn new() -> ScratchDir {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("redstone-madsim-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a scratch directory");
        ScratchDir(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
