//! A raw RESP client for byte-exact checks of replies: sends a command as a
//! RESP array and reads back exactly one reply, as the bytes the server
//! sent.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command without reading its reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.stream.write_all(&encode(args)).expect("write");
    }

    /// Sends bytes as they are (inline commands, pipelines).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a command and returns its reply, as raw bytes.
    pub fn cmd_bytes<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.reply_bytes()
    }

    /// Sends a command and returns its reply as text (lossy UTF-8), e.g.
    /// `"-ERR syntax error\r\n"` or `"$1\r\nv\r\n"`.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> String {
        String::from_utf8_lossy(&self.cmd_bytes(args)).into_owned()
    }

    /// Like `cmd`, with the arguments split on spaces.
    pub fn line(&mut self, command: &str) -> String {
        let args: Vec<&str> = command.split_whitespace().collect();
        self.cmd(&args)
    }

    /// Sends a command whose reply must be an integer, and returns it.
    pub fn int<A: AsRef<[u8]>>(&mut self, args: &[A]) -> i64 {
        let reply = self.cmd(args);
        reply
            .strip_prefix(':')
            .and_then(|r| r.strip_suffix("\r\n"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("expected an integer reply, got {reply:?}"))
    }

    /// Sends a command and parses its reply with the `redis` crate.
    pub fn value<A: AsRef<[u8]>>(&mut self, args: &[A]) -> redis::Value {
        let bytes = self.cmd_bytes(args);
        redis::parse_redis_value(&bytes).expect("a valid RESP reply")
    }

    /// Reads one complete reply; panics if the connection closes first.
    pub fn reply_bytes(&mut self) -> Vec<u8> {
        self.try_reply_bytes()
            .expect("the server closed the connection before replying")
    }

    pub fn reply(&mut self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }

    /// Reads one complete reply, or None if the connection closes first.
    pub fn try_reply_bytes(&mut self) -> Option<Vec<u8>> {
        let end = loop {
            if let Some(end) = reply_end(&self.buf, 0) {
                break end;
            }
            if !self.fill() {
                return None;
            }
        };
        Some(self.buf.drain(..end).collect())
    }

    /// True if the server closes the connection (after any pending replies
    /// were read) within a few seconds.
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            Err(e) => panic!("reading a reply: {e}"),
        }
    }
}

/// The end (exclusive) of the reply that starts at `at`, if it is complete.
fn reply_end(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&buf[at + 1..line_end]).ok()?;
    let after = line_end + 2;
    match buf[at] {
        b'$' | b'=' | b'!' => {
            let len: i64 = header.parse().ok()?;
            if len < 0 {
                return Some(after);
            }
            let end = after + len as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let count: i64 = header.parse().ok()?;
            let items = match buf[at] {
                b'%' | b'|' => count * 2,
                _ => count,
            };
            let mut next = after;
            for _ in 0..items.max(0) {
                next = reply_end(buf, next)?;
            }
            if buf[at] == b'|' {
                next = reply_end(buf, next)?;
            }
            Some(next)
        }
        _ => Some(after),
    }
}

/// A bulk string reply as text.
pub fn bulk(text: &str) -> String {
    format!("${}\r\n{}\r\n", text.len(), text)
}

/// An array reply of bulk strings as text.
pub fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

pub const OK: &str = "+OK\r\n";
pub const NIL: &str = "$-1\r\n";

/// The text of an `ERR` error reply.
pub fn error(message: &str) -> String {
    format!("-{message}\r\n")
}

pub fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// The items of an array reply parsed with the `redis` crate, as strings.
pub fn strings(value: &redis::Value) -> Vec<String> {
    match value {
        redis::Value::Array(items) | redis::Value::Set(items) => items
            .iter()
            .map(|item| match item {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                redis::Value::SimpleString(s) => s.clone(),
                redis::Value::Int(n) => n.to_string(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Redis' error replies that many tests expect.
pub const SYNTAX: &str = "-ERR syntax error\r\n";
pub const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";

/// A fresh server and a raw connection to it.
pub fn start() -> (crate::common::Server, Raw) {
    let server = crate::common::Server::start(&[]);
    let raw = Raw::connect(server.port);
    (server, raw)
}

/// A one-node cluster that owns every slot, once its state is ok, and a
/// raw connection to it.
pub fn start_cluster() -> (crate::common::Server, Raw) {
    let server = crate::common::Server::start_cluster_node(&[]);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("CLUSTER ADDSLOTSRANGE 0 16383"), OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.line("CLUSTER INFO").contains("cluster_state:ok") {
        assert!(
            std::time::Instant::now() < deadline,
            "cluster never became ok"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, c)
}

/// Fills `key` with `count` items, 1000 per `command` (pipelined); `item(i)`
/// gives the arguments of item `i` (a member, or a field and its value).
pub fn fill_pipelined(
    c: &mut Raw,
    command: &str,
    key: &str,
    count: usize,
    item: impl Fn(usize) -> Vec<String>,
) {
    let mut sent = 0;
    let mut start = 0;
    while start < count {
        let end = (start + 1000).min(count);
        let mut args = vec![command.to_string(), key.to_string()];
        args.extend((start..end).flat_map(&item));
        c.send(&args);
        sent += 1;
        start = end;
    }
    for _ in 0..sent {
        let reply = c.reply();
        assert!(reply.starts_with(':'), "{reply}");
    }
}

/// How long a DEL of the existing `key` takes, one round trip.
pub fn time_del(c: &mut Raw, key: &str) -> Duration {
    let started = std::time::Instant::now();
    assert_eq!(c.cmd(&["DEL", key]), int(1));
    started.elapsed()
}

/// INFO's `lazyfree_pending_objects`: dead collections not yet reclaimed.
pub fn pending(c: &mut Raw) -> u64 {
    let info = c.line("INFO memory");
    info.lines()
        .find_map(|line| line.strip_prefix("lazyfree_pending_objects:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no lazyfree_pending_objects in {info}"))
}

/// The wrong-arity error for `command` (e.g. `get` or `config|get`).
pub fn arity(command: &str) -> String {
    error(&format!(
        "ERR wrong number of arguments for '{command}' command"
    ))
}

/// The invalid-expire error SET, GETEX, EXPIRE and friends give.
pub fn invalid_expire(command: &str) -> String {
    error(&format!("ERR invalid expire time in '{command}' command"))
}

/// A reader on its own connection that for half a second checks that keys
/// `a` and `b` always hold the same value (writers set both at once, in
/// one atomic unit: `what`, named in the failure); join it when done.
pub fn check_pairs_untorn(port: u16, what: &'static str) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = Raw::connect(port);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(500) {
            let reply = r.line("MGET a b");
            let values: Vec<&str> = reply.lines().skip(2).step_by(2).collect();
            assert_eq!(values[0], values[1], "a torn {what}: {reply:?}");
        }
    })
}

/// Waits until INFO reports `n` blocked clients.
pub fn wait_blocked(c: &mut Raw, n: usize) {
    let wanted = format!("blocked_clients:{n}\r\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.line("INFO clients").contains(&wanted) {
        assert!(
            std::time::Instant::now() < deadline,
            "never {n} blocked clients"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A connection that sent `command` and is now blocked in it (`already`
/// clients were blocked before).
pub fn blocked(server: &crate::common::Server, c: &mut Raw, command: &str, already: usize) -> Raw {
    let mut b = Raw::connect(server.port);
    b.send(&command.split_whitespace().collect::<Vec<_>>());
    wait_blocked(c, already + 1);
    b
}
