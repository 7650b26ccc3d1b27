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
        BatchEnd::Paused(until) => panic!("nothing paused the clients (until {until})"),
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

/// A second client of the same server.
fn other_client(session: &Session) -> Session {
    let shared = session.shared.clone();
    let handle = shared
        .clients
        .register("127.0.0.1:3".into(), "127.0.0.1:6379".into(), NOW);
    Session::new(shared, handle)
}

#[test]
fn a_write_pause_holds_writes_and_what_follows_them_until_it_ends() {
    let mut session = session();
    let mut admin = other_client(&session);
    assert_eq!(
        send(&mut admin, b"CLIENT PAUSE 1000 WRITE\r\n").0,
        "+OK\r\n"
    );
    session
        .input
        .extend_from_slice(b"GET k\r\nSET k 1\r\nGET k\r\nPUBLISH c m\r\n");
    let BatchEnd::Paused(until) = session.execute_batch(NOW + 10) else {
        panic!("the SET waits for the pause");
    };
    assert_eq!(until, NOW + 1000);
    assert_eq!(
        &session.output.split()[..],
        b"$-1\r\n",
        "the read before it ran"
    );
    assert_eq!(send(&mut admin, b"GET k\r\n").0, "$-1\r\n", "reads go on");
    let BatchEnd::Done(None) = session.execute_batch(NOW + 1000) else {
        panic!("the pause is over");
    };
    assert_eq!(&session.output[..], b"+OK\r\n$1\r\n1\r\n:0\r\n");
}

#[test]
fn unpause_releases_the_held_clients_and_exec_of_writes_is_held() {
    let mut session = session();
    let mut admin = other_client(&session);
    assert_eq!(
        send(&mut session, b"MULTI\r\nINCR n\r\n").0,
        "+OK\r\n+QUEUED\r\n"
    );
    assert_eq!(
        send(&mut admin, b"CLIENT PAUSE 5000 WRITE\r\n").0,
        "+OK\r\n"
    );
    session.input.extend_from_slice(b"EXEC\r\n");
    assert!(matches!(
        session.execute_batch(NOW),
        BatchEnd::Paused(until) if until == NOW + 5000
    ));
    assert_eq!(send(&mut admin, b"CLIENT UNPAUSE\r\n").0, "+OK\r\n");
    assert_eq!(send(&mut session, b"").0, "*1\r\n:1\r\n");
}

#[test]
fn a_pause_for_all_holds_reads_too() {
    let mut session = session();
    let mut admin = other_client(&session);
    assert_eq!(send(&mut admin, b"CLIENT PAUSE 1000\r\n").0, "+OK\r\n");
    session.input.extend_from_slice(b"GET k\r\n");
    assert!(matches!(session.execute_batch(NOW), BatchEnd::Paused(_)));
    assert_eq!(&session.output[..], b"");
}

#[test]
fn a_paused_server_deletes_no_expired_key_so_its_offset_stands_still() {
    let mut session = session();
    assert_eq!(send(&mut session, b"SET k v PX 10\r\n").0, "+OK\r\n");
    assert_eq!(
        send(&mut session, b"CLIENT PAUSE 1000 WRITE\r\n").0,
        "+OK\r\n"
    );
    let shared = session.shared.clone();
    let offset = crate::sync::lock(&shared.feed).offset();
    session.input.extend_from_slice(b"GET k\r\nEXISTS k\r\n");
    let BatchEnd::Done(None) = session.execute_batch(NOW + 100) else {
        panic!("reads run during a write pause");
    };
    assert_eq!(&session.output.split()[..], b"$-1\r\n:0\r\n");
    let cycle = shared.store.expire_cycle(NOW + 100, 10).expect("expiry");
    assert!(cycle.txn.is_none(), "active expiry waits for the pause");
    assert_eq!(crate::sync::lock(&shared.feed).offset(), offset, "no DEL");
    // Once the pause is over, the key is expired: a DEL.
    let cycle = shared.store.expire_cycle(NOW + 1000, 10).expect("expiry");
    let mut txn = cycle.txn.expect("the key is due");
    crate::command::commit::commit(&shared, &mut txn).expect("commit");
    assert!(crate::sync::lock(&shared.feed).offset() > offset);
}

#[test]
fn client_pause_checks_its_arguments_as_redis_does() {
    let mut session = session();
    let (out, _) = send(
        &mut session,
        b"CLIENT PAUSE abc\r\nCLIENT PAUSE -1\r\nCLIENT PAUSE 10 NONE\r\nclient pause 10 ALL X\r\nCLIENT UNPAUSE X\r\n",
    );
    insta::assert_snapshot!(out, @r"
    -ERR timeout is not an integer or out of range
    -ERR timeout is negative
    -ERR CLIENT PAUSE mode must be WRITE or ALL
    -ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.
    -ERR wrong number of arguments for 'client|unpause' command
    ");
}
