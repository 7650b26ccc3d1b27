//! The session without sockets: bytes in, bytes out.

use super::*;
use crate::config::Config;
use crate::engine::memory::MemoryEngine;

const NOW: u64 = 1_700_000_000_000;

fn session_with(config: Config) -> Session {
    let shared = Shared::new(config, Arc::new(MemoryEngine::new()), None, NOW).expect("state");
    let handle = shared
        .clients
        .register("127.0.0.1:1".into(), "127.0.0.1:6379".into(), NOW);
    Session::new(shared, handle)
}

fn session() -> Session {
    session_with(Config::default())
}

/// Sends `bytes`, runs the batch, and returns what the session answers.
fn send(session: &mut Session, bytes: &[u8]) -> (String, Option<Close>) {
    session.input.extend_from_slice(bytes);
    let close = match session.execute_batch(NOW) {
        BatchEnd::Done(close) => close,
        BatchEnd::WaitForWriter => panic!("nobody else holds the write lock"),
    };
    let out = String::from_utf8_lossy(&session.output.split()).into_owned();
    (out, close)
}

#[test]
fn a_pipeline_is_answered_in_order_in_one_output() {
    let mut session = session();
    let (out, close) = send(
        &mut session,
        b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n",
    );
    assert_eq!(out, "+PONG\r\n+OK\r\n$1\r\nv\r\n");
    assert!(close.is_none());
    assert!(session.client.wrote, "the SET is acknowledged once durable");
}

#[test]
fn a_request_split_across_reads_runs_once_it_is_whole() {
    let mut session = session();
    assert_eq!(send(&mut session, b"*2\r\n$4\r\nECHO\r\n$5\r\nhe").0, "");
    assert!(session.has_pending_input());
    assert_eq!(send(&mut session, b"llo\r\n").0, "$5\r\nhello\r\n");
    assert!(!session.has_pending_input());
}

#[test]
fn a_protocol_error_is_answered_and_closes_after_the_reply() {
    let mut session = session();
    let (out, close) = send(&mut session, b"PING\r\n*1\r\n$x\r\n");
    assert_eq!(out, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    assert!(matches!(close, Some(Close::AfterReply)));
}

#[test]
fn quit_closes_after_its_reply() {
    let mut session = session();
    let (out, close) = send(&mut session, b"QUIT\r\nPING\r\n");
    assert_eq!(out, "+OK\r\n");
    assert!(matches!(close, Some(Close::AfterReply)));
}

#[test]
fn without_auth_only_auth_runs() {
    let mut session = session_with(Config {
        requirepass: Some(b"secret".to_vec()),
        ..Config::default()
    });
    let (out, _) = send(
        &mut session,
        b"GET k\r\nAUTH wrong\r\nAUTH secret\r\nGET k\r\n",
    );
    assert_eq!(
        out,
        "-NOAUTH Authentication required.\r\n\
         -WRONGPASS invalid username-password pair or user is disabled.\r\n\
         +OK\r\n$-1\r\n"
    );
}

#[test]
fn multi_queues_until_exec() {
    let mut session = session();
    let (out, _) = send(&mut session, b"MULTI\r\nINCR n\r\nINCR n\r\nEXEC\r\n");
    assert_eq!(out, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n");
}

#[test]
fn client_reply_off_silences_until_on() {
    let mut session = session();
    let (out, _) = send(
        &mut session,
        b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n",
    );
    assert_eq!(out, "+OK\r\n+PONG\r\n");
}

#[test]
fn a_write_behind_a_held_write_lock_waits_and_then_runs_in_order() {
    let mut session = session();
    let shared = session.shared.clone();
    let held = shared.store.begin(NOW);
    session
        .input
        .extend_from_slice(b"PING\r\nSET k 1\r\nINCR k\r\nGET k\r\n");
    assert!(matches!(
        session.execute_batch(NOW),
        BatchEnd::WaitForWriter
    ));
    assert_eq!(&session.output[..], b"+PONG\r\n", "the read before it ran");
    drop(held);
    let BatchEnd::Done(None) = session.execute_batch(NOW) else {
        panic!("the batch finishes once the lock is free");
    };
    assert_eq!(&session.output[..], b"+PONG\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
}

#[test]
fn a_blocked_command_holds_back_the_requests_behind_it() {
    let mut session = session();
    let (out, close) = send(&mut session, b"BLPOP list 0\r\nPING\r\n");
    assert_eq!(out, "", "no reply until it is served");
    assert!(close.is_none());
    assert!(session.client.blocked.is_some());
    assert!(session.has_pending_input(), "PING waits");
    assert!(!session.take_blocked_reply());

    // Another client pushes: the blocked one is served at its commit.
    let shared = session.shared.clone();
    let handle = shared
        .clients
        .register("127.0.0.1:2".into(), "127.0.0.1:6379".into(), NOW);
    let mut pusher = Session::new(shared, handle);
    assert_eq!(send(&mut pusher, b"RPUSH list a\r\n").0, ":1\r\n");
    assert!(session.take_blocked_reply());
    assert!(session.client.blocked.is_none());
    assert_eq!(
        send(&mut session, b"").0,
        "*2\r\n$4\r\nlist\r\n$1\r\na\r\n+PONG\r\n"
    );
}

#[test]
fn select_is_kept_between_batches() {
    let mut session = session();
    send(&mut session, b"SELECT 2\r\nSET k v\r\n");
    let (out, _) = send(&mut session, b"GET k\r\nSELECT 0\r\nGET k\r\n");
    assert_eq!(out, "$1\r\nv\r\n+OK\r\n$-1\r\n");
}
