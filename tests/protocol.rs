//! Bad input gets Redis' error reply and a closed connection; the server
//! keeps serving everyone else.

mod common;
use common::{exchange, Server};
use redis::Commands;
use std::io::{Read, Write};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(3);

fn assert_still_serving(server: &Server) {
    let mut con = server.client();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

fn reply_to(server: &Server, bytes: &[u8]) -> String {
    let mut stream = server.raw();
    String::from_utf8_lossy(&exchange(&mut stream, bytes, WAIT)).into_owned()
}

#[test]
fn invalid_multibulk_length_is_answered_and_closed() {
    let server = Server::start(&[]);
    assert_eq!(
        reply_to(&server, b"*abc\r\n"),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert_still_serving(&server);
}

#[test]
fn missing_dollar_is_answered_and_closed() {
    let server = Server::start(&[]);
    assert_eq!(
        reply_to(&server, b"*1\r\nfoo\r\n"),
        "-ERR Protocol error: expected '$', got 'f'\r\n"
    );
    assert_still_serving(&server);
}

#[test]
fn a_non_ascii_byte_where_dollar_belongs_is_echoed_raw_and_the_connection_closed() {
    let server = Server::start(&[]);
    let mut other = server.client();
    let mut stream = server.raw();
    // Redis writes the byte itself into the error (`%c`), not its UTF-8
    // encoding (C3 BF), then closes only this connection.
    assert_eq!(
        exchange(&mut stream, b"*1\r\n\xff1\r\n", WAIT),
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
    assert!(
        matches!(stream.read(&mut [0u8; 1]), Ok(0)),
        "the connection is closed"
    );
    let pong: String = redis::cmd("PING").query(&mut other).unwrap();
    assert_eq!(pong, "PONG");
    assert_still_serving(&server);
}

#[test]
fn huge_bulk_length_is_rejected() {
    let server = Server::start(&[]);
    assert_eq!(
        reply_to(&server, b"*1\r\n$99999999999999\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_eq!(
        reply_to(&server, b"*1\r\n$-5\r\n"),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert_still_serving(&server);
}

#[test]
fn unbalanced_quotes_in_inline_command() {
    let server = Server::start(&[]);
    assert_eq!(
        reply_to(&server, b"set \"a 1\r\n"),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert_still_serving(&server);
}

#[test]
fn commands_before_a_protocol_error_still_run() {
    let server = Server::start(&[]);
    let reply = reply_to(&server, b"SET a 1\r\n*1\r\n$3\r\nGET\r\n*x\r\n");
    assert_eq!(reply, "+OK\r\n-ERR wrong number of arguments for 'get' command\r\n-ERR Protocol error: invalid multibulk length\r\n");
    assert_eq!(server.client().get::<_, String>("a").unwrap(), "1");
}

#[test]
fn inline_commands_work() {
    let server = Server::start(&[]);
    let mut stream = server.raw();
    let reply = exchange(
        &mut stream,
        b"SET \"hello world\" 'it\\'s'\r\nGET \"hello world\"\r\nQUIT\r\n",
        WAIT,
    );
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "+OK\r\n$4\r\nit's\r\n+OK\r\n"
    );
}

#[test]
fn unterminated_frame_waits_without_blocking_others() {
    let server = Server::start(&[]);
    let mut partial = server.raw();
    partial
        .write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval")
        .unwrap();
    assert_still_serving(&server);
    partial.write_all(b"ue\r\n").unwrap();
    let mut buf = [0u8; 5];
    std::io::Read::read_exact(&mut partial, &mut buf).unwrap();
    assert_eq!(&buf, b"+OK\r\n");
}

#[test]
fn disconnect_mid_pipeline_leaves_server_serving() {
    let server = Server::start(&[]);
    for _ in 0..5 {
        let mut stream = server.raw();
        let mut pipeline = Vec::new();
        for i in 0..2000 {
            pipeline.extend_from_slice(
                format!("*3\r\n$3\r\nSET\r\n$6\r\nk{i:05}\r\n$1\r\nv\r\n").as_bytes(),
            );
        }
        // Cut the last command in half and hang up without reading replies.
        pipeline.truncate(pipeline.len() - 7);
        stream.write_all(&pipeline).unwrap();
        drop(stream);
    }
    assert_still_serving(&server);
}

#[test]
fn random_garbage_never_kills_the_server() {
    let server = Server::start(&[]);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..50 {
        let mut garbage = Vec::new();
        for _ in 0..512 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            const ALPHABET: &[u8] = b"*$\r\n-+:0123456789abc\x00\xff ";
            garbage.push(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
        }
        let mut stream = server.raw();
        let _ = exchange(&mut stream, &garbage, Duration::from_millis(50));
    }
    assert_still_serving(&server);
}

#[test]
fn unauthenticated_clients_get_small_limits() {
    let server = Server::start(&["--requirepass", "secret"]);
    assert_eq!(
        reply_to(&server, b"*100\r\n"),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert_eq!(
        reply_to(&server, b"*1\r\n$100000\r\n"),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = Server::start(&["--timeout", "1"]);
    let mut stream = server.raw();
    let started = std::time::Instant::now();
    let reply = exchange(&mut stream, b"", Duration::from_secs(5));
    assert!(reply.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}

#[test]
fn maxclients_rejects_extra_connections() {
    let server = Server::start(&["--maxclients", "2"]);
    let _a = server.client();
    let _b = server.client();
    assert_eq!(
        reply_to(&server, b"PING\r\n"),
        "-ERR max number of clients reached\r\n"
    );
}

#[test]
fn a_client_over_the_query_buffer_limit_is_closed() {
    let server = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut stream = server.raw();
    let mut request = b"*2\r\n$3\r\nSET\r\n$5000000\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', 2_000_000));
    let started = std::time::Instant::now();
    let reply = exchange(&mut stream, &request, WAIT);
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    // Closed by the server, not left waiting for the rest of the bulk.
    assert!(started.elapsed() < WAIT / 2, "took {:?}", started.elapsed());
    assert_still_serving(&server);
}
