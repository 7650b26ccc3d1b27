use super::*;

const ID: &str = "8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

fn sent(step: Step) -> String {
    match step {
        Step::Send(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("expected a command to send, got {other:?}"),
    }
}

#[test]
fn a_first_sync_asks_for_a_full_resync_after_the_handshake() {
    let mut handshake = Handshake::new(None, 6380, None);
    assert_eq!(handshake.start(), b"*1\r\n$4\r\nPING\r\n");
    assert_eq!(
        sent(handshake.on_reply(b"+PONG")),
        "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n"
    );
    assert_eq!(
        sent(handshake.on_reply(b"+OK")),
        "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
    );
    assert_eq!(
        sent(handshake.on_reply(b"+OK")),
        "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
    );
    assert_eq!(
        handshake.on_reply(format!("+FULLRESYNC {ID} 1234").as_bytes()),
        Step::FullResync {
            replid: ID.into(),
            offset: 1234
        }
    );
}

#[test]
fn a_known_history_asks_to_continue_and_authenticates_first() {
    let auth = Some((Some("repl".to_string()), "secret".to_string()));
    let mut handshake = Handshake::new(auth, 7000, Some((ID.into(), 501)));
    assert_eq!(
        sent(handshake.on_reply(b"-NOAUTH Authentication required.")),
        "*3\r\n$4\r\nAUTH\r\n$4\r\nrepl\r\n$6\r\nsecret\r\n"
    );
    sent(handshake.on_reply(b"+OK"));
    // An old master's error to REPLCONF is ignored.
    sent(handshake.on_reply(b"-ERR unknown command"));
    assert_eq!(
        sent(handshake.on_reply(b"+OK")),
        format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{ID}\r\n$3\r\n501\r\n")
    );
    assert_eq!(
        handshake.on_reply(format!("+CONTINUE {ID}").as_bytes()),
        Step::Continue {
            replid: Some(ID.into())
        }
    );
}

#[test]
fn refusals_fail_with_redis_words() {
    let mut handshake = Handshake::new(Some((None, "bad".into())), 1, None);
    handshake.on_reply(b"+PONG");
    assert_eq!(
        handshake.on_reply(b"-WRONGPASS invalid username-password pair"),
        Step::Fail("Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair".into())
    );
    let mut handshake = Handshake::new(None, 1, None);
    for reply in [&b"+PONG"[..], b"+OK", b"+OK"] {
        handshake.on_reply(reply);
    }
    assert!(matches!(
        handshake.on_reply(b"+FULLRESYNC short 1"),
        Step::Fail(_)
    ));
    assert!(matches!(
        Handshake::new(None, 1, None).on_reply(b"-ERR busy"),
        Step::Fail(_)
    ));
}
