//! MIGRATE's network half: sends a [`MigrateJob`]'s keys to the target and
//! reads its answers, then settles them under the write lock
//! (`command::migrate::settle`), round after round while keys change in
//! flight. Each connection keeps its last link to a target for
//! [`LINK_IDLE`], as Redis caches its migration sockets, so `redis-cli
//! --cluster reshard`'s stream of MIGRATEs connects once.

use crate::command::migrate::{settle, Answers, MigrateJob, Request, Settled, MAX_ROUNDS};
use crate::command::{commit, Shared};
use crate::resp::{parse_frame, Frame};
use bytes::BytesMut;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long an unused link to a target is kept (Redis'
/// MIGRATE_SOCKET_CACHE_TTL).
const LINK_IDLE: Duration = Duration::from_secs(10);

/// A connection to a MIGRATE target.
pub struct Link {
    address: String,
    stream: TcpStream,
    /// The database selected on it, once known.
    db: Option<i64>,
    last_used: Instant,
}

/// Why a round failed on the wire.
enum Fault {
    Connect,
    Write,
    Read,
}

impl Fault {
    fn reply(&self) -> Frame {
        Frame::Error(
            match self {
                Fault::Connect => "IOERR error or timeout connecting to the client",
                Fault::Write => "IOERR error or timeout writing to target instance",
                Fault::Read => "IOERR error or timeout reading to target instance",
            }
            .into(),
        )
    }
}

/// Moves `job`'s keys and returns MIGRATE's reply; `wrote` is set when a
/// key was deleted here (the reply then waits for durability).
pub async fn run(
    shared: &Shared,
    cached: &mut Option<Link>,
    mut job: MigrateJob,
    wrote: &mut bool,
) -> Frame {
    for _ in 0..MAX_ROUNDS {
        let (request, answers, fault) = match exchange(cached, &job).await {
            Ok(done) => done,
            Err(fault) => return fault.reply(),
        };
        let mut txn = loop {
            if let Some(txn) = shared.store.try_begin(crate::clock::now_ms()) {
                break txn;
            }
            shared.store.until_writable().await;
        };
        let settled = settle(&mut txn, &job, &request, &answers);
        match commit::commit(shared, &mut txn) {
            Ok(changed) => *wrote |= changed,
            Err(e) => return crate::command::storage_error(e),
        }
        if let Some(fault) = fault {
            return fault.reply();
        }
        match settled {
            Ok(Settled::Reply(reply)) => return reply,
            Ok(Settled::Again(next)) => job = next,
            Err(reply) => return reply,
        }
    }
    Frame::Error("ERR MIGRATE gave up: the keys kept changing while they were sent".into())
}

/// One round: the request on the cached link (or a new one), and the
/// answers read, with the fault that cut them short if any. A cached
/// link that fails before any answer is replaced once, as Redis retries
/// a stale socket.
async fn exchange(
    cached: &mut Option<Link>,
    job: &MigrateJob,
) -> Result<(Request, Answers, Option<Fault>), Fault> {
    let address = format!("{}:{}", job.host, job.port);
    let timeout = Duration::from_millis(job.timeout_ms);
    let mut may_retry = true;
    loop {
        let reusable = cached
            .take()
            .filter(|link| link.address == address && link.last_used.elapsed() < LINK_IDLE);
        let fresh = reusable.is_none();
        let mut link = match reusable {
            Some(link) => link,
            None => connect(&address, timeout).await?,
        };
        let request = job.request(link.db != Some(job.target_db), crate::clock::now_ms());
        // Flushed too: a simulated stream (madsim) sends only then.
        let send = async {
            link.stream.write_all(&request.bytes).await?;
            link.stream.flush().await
        };
        let wrote = tokio::time::timeout(timeout, send).await;
        if !matches!(wrote, Ok(Ok(()))) {
            if may_retry && !fresh {
                may_retry = false;
                continue;
            }
            return Err(Fault::Write);
        }
        let (answers, fault) = read_answers(&mut link.stream, &request, timeout).await;
        let nothing_read = answers.restores.is_empty() && answers.setup_error.is_none();
        if fault.is_some() && nothing_read && may_retry && !fresh {
            may_retry = false;
            continue;
        }
        if fault.is_none() {
            let clean = answers.setup_error.is_none() && answers.restores.iter().all(Result::is_ok);
            link.db = clean.then_some(job.target_db);
            link.last_used = Instant::now();
            *cached = Some(link);
        }
        return Ok((request, answers, fault));
    }
}

/// A refused connection is reported as a failed write, a connection that
/// does not complete in time as a failed connect: what redis-server 7.0
/// answers (its non-blocking connect "succeeds" on a refused socket, and
/// the write then fails).
async fn connect(address: &str, timeout: Duration) -> Result<Link, Fault> {
    match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
        Err(_) => Err(Fault::Connect),
        Ok(Err(_)) => Err(Fault::Write),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(Link {
                address: address.to_string(),
                stream,
                db: None,
                last_used: Instant::now(),
            })
        }
    }
}

/// Reads the replies `request` asks for: AUTH's and SELECT's, then one per
/// key sent.
async fn read_answers(
    stream: &mut TcpStream,
    request: &Request,
    timeout: Duration,
) -> (Answers, Option<Fault>) {
    let mut answers = Answers::default();
    let mut input = BytesMut::new();
    let setup = usize::from(request.auth) + usize::from(request.select);
    for at in 0..setup + request.sent.len() {
        let reply = match next_reply(stream, &mut input, timeout).await {
            Some(reply) => reply,
            None => return (answers, Some(Fault::Read)),
        };
        let outcome = match reply {
            Frame::Error(line) => Err(String::from_utf8_lossy(&line).into_owned()),
            _ => Ok(()),
        };
        if at < setup {
            if let Err(line) = outcome {
                answers.setup_error.get_or_insert(line);
            }
        } else {
            answers.restores.push(outcome);
        }
    }
    (answers, None)
}

async fn next_reply(
    stream: &mut TcpStream,
    input: &mut BytesMut,
    timeout: Duration,
) -> Option<Frame> {
    loop {
        if let Some((frame, used)) = parse_frame(input).ok()? {
            let _ = input.split_to(used);
            return Some(frame);
        }
        match tokio::time::timeout(timeout, stream.read_buf(input)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
    }
}
