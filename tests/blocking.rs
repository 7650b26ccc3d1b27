//! Blocking list commands against a real server, with concurrent clients:
//! the replies, errors and orderings redis-server 7.0.15 gives.

mod common;
mod resp;

use common::Server;
use resp::{arity, blocked, bulk, bulks, error, int, start, wait_blocked, Raw, NIL, OK, SYNTAX};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const NIL_ARRAY: &str = "*-1\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_FLOAT: &str = "-ERR timeout is not a float or out of range\r\n";
const NEGATIVE: &str = "-ERR timeout is negative\r\n";

/// A fresh server, a connection to it, and a client blocked in `command`.
fn start_blocked(command: &str) -> (Server, Raw, Raw) {
    let (server, mut c) = start();
    let b = blocked(&server, &mut c, command, 0);
    (server, c, b)
}

fn pair(key: &str, value: &str) -> String {
    bulks(&[key, value])
}

/// `push` adds one element, and blocked client `b` is served it from `key`.
fn serves(c: &mut Raw, push: &str, b: &mut Raw, (key, value): (&str, &str)) {
    assert_eq!(c.line(push), int(1));
    assert_eq!(b.reply(), pair(key, value));
}

#[test]
fn data_present_answers_at_once_like_the_non_blocking_twin() {
    let (_server, mut c) = start();
    c.line("RPUSH l a b c");
    assert_eq!(c.line("BLPOP nokey l 0"), pair("l", "a"));
    assert_eq!(c.line("BRPOP l 0"), pair("l", "c"));
    assert_eq!(c.line("RPUSH l x y"), int(3));
    assert_eq!(
        c.line("BLMPOP 0 2 nokey l RIGHT COUNT 2"),
        "*2\r\n$1\r\nl\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n"
    );
    assert_eq!(c.line("BLMOVE l d LEFT RIGHT 0"), bulk("b"));
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(c.line("RPUSH l z"), int(1));
    assert_eq!(c.line("BRPOPLPUSH l d 0"), bulk("z"));
    assert_eq!(c.line("LRANGE d 0 -1"), bulks(&["z", "b"]));
}

#[test]
fn argument_errors_match_redis() {
    let (_server, mut c) = start();
    c.line("SET s x");
    for timeout in ["abc", "nan", " 1", "1 ", ""] {
        assert_eq!(c.cmd(&["BLPOP", "k", timeout]), NOT_FLOAT, "{timeout:?}");
    }
    for timeout in ["-1", "-0.001", "inf", "-inf", "1e20", "9223372036854776"] {
        assert_eq!(c.cmd(&["BLPOP", "k", timeout]), NEGATIVE, "{timeout:?}");
    }
    // The timeout is checked before the keys.
    assert_eq!(c.line("BLPOP s -1"), NEGATIVE);
    assert_eq!(c.line("BLPOP s 0"), WRONGTYPE);
    assert_eq!(c.line("BRPOP nokey s 0"), WRONGTYPE);
    assert_eq!(c.line("BLPOP"), arity("blpop"));
    assert_eq!(c.line("BLPOP k"), arity("blpop"));
    assert_eq!(
        c.line("BLMPOP 0 0 k LEFT"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.line("BLMPOP 0 x k LEFT"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(c.line("BLMPOP -1 1 k LEFT"), NEGATIVE);
    assert_eq!(c.line("BLMPOP x 1 k LEFT"), NOT_FLOAT);
    assert_eq!(c.line("BLMPOP x 2 k LEFT"), SYNTAX, "numkeys first");
    assert_eq!(c.line("BLMPOP 0 1 k MIDDLE"), SYNTAX);
    assert_eq!(
        c.line("BLMPOP 0 1 k LEFT COUNT 0"),
        error("ERR count should be greater than 0")
    );
    assert_eq!(c.line("BLMPOP 0 1 k LEFT COUNT 2 COUNT 3"), SYNTAX);
    assert_eq!(c.line("BLMPOP 0 1 k"), arity("blmpop"));
    assert_eq!(c.line("BLMPOP 0 1 s LEFT"), WRONGTYPE);
    assert_eq!(c.line("BLMOVE k d UP LEFT x"), SYNTAX, "sides first");
    assert_eq!(c.line("BLMOVE k d LEFT LEFT x"), NOT_FLOAT);
    assert_eq!(c.line("BLMOVE s d LEFT LEFT 0"), WRONGTYPE);
    assert_eq!(c.line("BRPOPLPUSH s d 0"), WRONGTYPE);
    assert_eq!(c.line("BRPOPLPUSH k d"), arity("brpoplpush"));
}

#[test]
fn client_unblock_errors_match_redis() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("CLIENT UNBLOCK 1 foo"),
        error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    );
    assert_eq!(
        c.line("CLIENT UNBLOCK x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(c.line("CLIENT UNBLOCK 99999"), int(0));
    assert_eq!(c.line("CLIENT UNBLOCK -1 TIMEOUT"), int(0));
    assert_eq!(
        c.line("client unblock 1 2 3"),
        error(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP."
        )
    );
    assert_eq!(c.line("CLIENT UNBLOCK"), arity("client|unblock"));
}

#[test]
fn sub_second_timeout_replies_nil() {
    let (server, mut c) = start();
    for command in [
        "BLPOP k 0.1",
        "BRPOP k1 k2 0.1",
        "BLMPOP 0.1 1 k LEFT",
        "BLMOVE k d LEFT LEFT 0.1",
        "BRPOPLPUSH k d 0.1",
    ] {
        let started = Instant::now();
        assert_eq!(c.line(command), NIL_ARRAY, "{command}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(100),
            "{command}: {waited:?}"
        );
        assert!(waited < Duration::from_millis(900), "{command}: {waited:?}");
    }
    let mut b = blocked(&server, &mut c, "BLPOP k 10", 0);
    let info = c.line("INFO clients");
    assert!(info.contains("clients_in_timeout_table:1"), "{info}");
    serves(&mut c, "RPUSH k v", &mut b, ("k", "v"));
    wait_blocked(&mut c, 0);
    assert!(c
        .line("INFO clients")
        .contains("clients_in_timeout_table:0"));
    // RESP3: a null.
    c.line("HELLO 3");
    assert_eq!(c.line("BLPOP k 0.01"), "_\r\n");
}

#[test]
fn blocked_clients_are_served_in_fifo_order() {
    let (server, mut c, mut first) = start_blocked("BLPOP k 0");
    let mut second = blocked(&server, &mut c, "BRPOP k 0", 1);
    let mut third = blocked(&server, &mut c, "BLPOP other k 0", 2);
    assert_eq!(c.line("RPUSH k a b c"), int(3));
    assert_eq!(first.reply(), pair("k", "a"));
    assert_eq!(second.reply(), pair("k", "c"));
    assert_eq!(third.reply(), pair("k", "b"));
    wait_blocked(&mut c, 0);
    assert_eq!(c.line("EXISTS k"), int(0));
}

#[test]
fn one_push_serves_one_client_per_element() {
    let (server, mut c, mut first) = start_blocked("BLPOP k 0");
    let mut second = blocked(&server, &mut c, "BLPOP k 0", 1);
    // Redis answers the pusher before the blocked clients are served.
    serves(&mut c, "LPUSH k foo", &mut first, ("k", "foo"));
    wait_blocked(&mut c, 1);
    serves(&mut c, "LPUSH k bar", &mut second, ("k", "bar"));
}

#[test]
fn a_client_blocked_on_several_keys_is_served_once() {
    let (server, mut c, mut b) = start_blocked("BLPOP k1 k2 k3 0");
    serves(&mut c, "RPUSH k3 x", &mut b, ("k3", "x"));
    wait_blocked(&mut c, 0);
    assert_eq!(c.line("RPUSH k1 y"), int(1));
    assert_eq!(c.line("LRANGE k1 0 -1"), bulks(&["y"]));
    // BLMPOP with a count takes up to count elements from the ready key.
    let mut m = blocked(&server, &mut c, "BLMPOP 0 2 a b RIGHT COUNT 2", 0);
    assert_eq!(c.line("RPUSH b 1 2 3"), int(3));
    assert_eq!(m.reply(), "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
}

#[test]
fn multi_exec_serves_the_final_state_and_never_blocks_inside() {
    let (_server, mut c, mut b) = start_blocked("BLPOP l 0");
    c.line("MULTI");
    c.line("LPUSH l a");
    c.line("LPUSH l b");
    c.line("LPUSH l c");
    assert_eq!(c.line("EXEC"), "*3\r\n:1\r\n:2\r\n:3\r\n");
    assert_eq!(b.reply(), pair("l", "c"));
    // Inside MULTI a blocking command on empty keys answers nil at once.
    c.line("DEL l");
    c.line("MULTI");
    for command in [
        "BLPOP l 0",
        "BLMOVE l d LEFT LEFT 0",
        "BRPOPLPUSH l d 0",
        "BLMPOP 0 1 l LEFT",
        "BLPOP l -1",
    ] {
        assert_eq!(c.line(command), "+QUEUED\r\n");
    }
    assert_eq!(
        c.line("EXEC"),
        "*5\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n-ERR timeout is negative\r\n"
    );
}

#[test]
fn blmove_pushes_and_wakes_a_chain() {
    let (server, mut c, mut last) = start_blocked("BLPOP c 0");
    let mut middle = blocked(&server, &mut c, "BRPOPLPUSH b c 0", 1);
    let mut first = blocked(&server, &mut c, "BLMOVE a b LEFT RIGHT 0", 2);
    assert_eq!(c.line("RPUSH a x"), int(1));
    assert_eq!(first.reply(), bulk("x"));
    assert_eq!(middle.reply(), bulk("x"));
    assert_eq!(last.reply(), pair("c", "x"));
    wait_blocked(&mut c, 0);
    assert_eq!(c.line("EXISTS a b c"), int(0));
    // Rotating a list onto itself.
    let mut rotate = blocked(&server, &mut c, "BLMOVE r r LEFT RIGHT 0", 0);
    assert_eq!(c.line("RPUSH r 1 2"), int(2));
    assert_eq!(rotate.reply(), bulk("1"));
    assert_eq!(c.line("LRANGE r 0 -1"), bulks(&["2", "1"]));
}

#[test]
fn a_wrong_type_destination_fails_when_served_and_keeps_the_element() {
    let (server, mut c) = start();
    c.line("SET target nolist");
    let mut failing = blocked(&server, &mut c, "BRPOPLPUSH blist target 0", 0);
    let mut next = blocked(&server, &mut c, "BRPOPLPUSH blist target2 0", 1);
    assert_eq!(c.line("RPUSH blist foo"), int(1));
    assert_eq!(failing.reply(), WRONGTYPE);
    assert_eq!(next.reply(), bulk("foo"));
    assert_eq!(c.line("LRANGE target2 0 -1"), bulks(&["foo"]));
    let mut again = blocked(&server, &mut c, "BLMOVE blist target LEFT LEFT 0", 0);
    assert_eq!(c.line("RPUSH blist a b c"), int(3));
    assert_eq!(again.reply(), WRONGTYPE);
    assert_eq!(c.line("LRANGE blist 0 -1"), bulks(&["a", "b", "c"]));
}

#[test]
fn a_key_of_another_type_leaves_the_client_blocked() {
    let (_server, mut c, mut b) = start_blocked("BLPOP k 0");
    // A string, then a list that is gone again before anyone can see it.
    let changes = ["SET k string", "DEL k", "MULTI", "RPUSH k gone", "DEL k"];
    for command in changes {
        c.line(command);
    }
    assert_eq!(c.line("EXEC"), "*2\r\n:1\r\n:1\r\n");
    wait_blocked(&mut c, 1);
    serves(&mut c, "RPUSH k here", &mut b, ("k", "here"));
}

#[test]
fn rename_copy_move_and_swapdb_make_keys_ready() {
    let (server, mut c, mut renamed) = start_blocked("BLPOP dst 0");
    c.line("RPUSH src a");
    assert_eq!(c.line("RENAME src dst"), OK);
    assert_eq!(renamed.reply(), pair("dst", "a"));
    let mut copied = blocked(&server, &mut c, "BLPOP copy 0", 0);
    c.line("RPUSH orig b");
    serves(&mut c, "COPY orig copy", &mut copied, ("copy", "b"));
    let mut other_db = Raw::connect(server.port);
    other_db.line("SELECT 1");
    other_db.send(&["BLPOP", "moved", "0"]);
    wait_blocked(&mut c, 1);
    c.line("RPUSH moved m");
    serves(&mut c, "MOVE moved 1", &mut other_db, ("moved", "m"));
    // SWAPDB brings db 1's list to the client blocked in db 0.
    let mut swapped = blocked(&server, &mut c, "BLPOP sw 0", 0);
    c.line("SELECT 1");
    c.line("RPUSH sw x");
    assert_eq!(c.line("SWAPDB 0 1"), OK);
    c.line("SELECT 0");
    assert_eq!(c.line("LLEN sw"), int(0), "served before SWAPDB's reply");
    assert_eq!(swapped.reply(), pair("sw", "x"));
}

#[test]
fn pipelined_commands_wait_until_the_client_is_served() {
    let (server, mut c) = start();
    let mut b = Raw::connect(server.port);
    b.send_bytes(b"BLPOP k 0\r\nSET after 1\r\nPING\r\n");
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("EXISTS after"), int(0), "the SET waits");
    c.line("RPUSH k v");
    assert_eq!(b.reply(), pair("k", "v"));
    assert_eq!(b.reply(), OK);
    assert_eq!(b.reply(), "+PONG\r\n");
}

#[test]
fn client_unblock_answers_as_a_timeout_or_an_error() {
    let (server, mut c) = start();
    let mut b = Raw::connect(server.port);
    let id = b.int(&["CLIENT", "ID"]);
    b.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 1);
    let list = c.line("CLIENT LIST");
    let line = list
        .lines()
        .find(|l| l.contains(&format!("id={id} ")))
        .expect("listed");
    assert!(
        line.contains(" flags=b ") && line.contains(" cmd=blpop "),
        "{line}"
    );
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id.to_string()]), int(1));
    assert_eq!(b.reply(), NIL_ARRAY);
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id.to_string()]), int(0));
    b.send(&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(
        c.cmd(&["CLIENT", "UNBLOCK", &id.to_string(), "error"]),
        int(1)
    );
    assert_eq!(
        b.reply(),
        error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    );
    wait_blocked(&mut c, 0);
    // The wake-up it would have had goes to the next client.
    assert_eq!(b.line("PING"), "+PONG\r\n");
}

#[test]
fn disconnected_and_killed_clients_leave_the_queue() {
    let (server, mut c) = start();
    let gone = blocked(&server, &mut c, "BLPOP k 0", 0);
    let mut killed = Raw::connect(server.port);
    let id = killed.int(&["CLIENT", "ID"]);
    killed.send(&["BLPOP", "k", "0"]);
    wait_blocked(&mut c, 2);
    let mut served = blocked(&server, &mut c, "BLPOP k 0", 2);
    drop(gone);
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]), int(1));
    wait_blocked(&mut c, 1);
    serves(&mut c, "RPUSH k only", &mut served, ("k", "only"));
    assert!(killed.is_closed());
    assert_eq!(c.line("EXISTS k"), int(0));
}

#[test]
fn many_blockers_and_pushers_deliver_every_element_exactly_once() {
    const CLIENTS: usize = 20;
    const EACH: usize = 20;
    let server = Server::start(&[]);
    // Half pop from the left, half from the right; pushes alternate keys.
    let consumers = on_threads(&server, CLIENTS, |i, con| {
        let command = if i % 2 == 0 { "BLPOP" } else { "BRPOP" };
        (0..EACH)
            .map(|_| {
                let (key, value): (String, String) = redis::cmd(command)
                    .arg("q1")
                    .arg("q2")
                    .arg(0)
                    .query(con)
                    .expect("served");
                assert!(key == "q1" || key == "q2");
                value
            })
            .collect::<Vec<_>>()
    });
    let producers = on_threads(&server, CLIENTS, |i, con| {
        for j in 0..EACH {
            let key = if j % 2 == 0 { "q1" } else { "q2" };
            let _: i64 = redis::cmd("RPUSH")
                .arg(key)
                .arg(format!("{i}:{j}"))
                .query(con)
                .expect("push");
        }
    });
    for producer in producers {
        producer.join().expect("producer");
    }
    let mut seen = HashSet::new();
    for consumer in consumers {
        for value in consumer.join().expect("consumer") {
            assert!(seen.insert(value.clone()), "{value} delivered twice");
        }
    }
    assert_eq!(seen.len(), CLIENTS * EACH);
    let mut c = Raw::connect(server.port);
    assert_eq!(c.line("EXISTS q1 q2"), int(0));
    assert_eq!(c.line("LPOP q1"), NIL);
}

/// Runs `body(i, connection)` for i in 0..n, each on its own thread with
/// its own connection to `server`.
fn on_threads<T: Send + 'static>(
    server: &Server,
    n: usize,
    body: fn(usize, &mut redis::Connection) -> T,
) -> Vec<std::thread::JoinHandle<T>> {
    (0..n)
        .map(|i| {
            let url = server.url();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url)
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                body(i, &mut con)
            })
        })
        .collect()
}

#[test]
fn a_blocked_resp3_subscriber_still_gets_its_messages() {
    let (server, mut c) = start();
    let mut b = Raw::connect(server.port);
    b.line("HELLO 3");
    b.send_bytes(b"SUBSCRIBE ch\r\nBLPOP k 0\r\n");
    assert_eq!(b.reply(), ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("PUBLISH ch m"), int(1));
    assert_eq!(b.reply(), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n");
    serves(&mut c, "RPUSH k v", &mut b, ("k", "v"));
}

#[test]
fn cluster_mode_blocks_on_keys_of_one_slot() {
    let node = Server::start_cluster_node(&[]);
    let mut c = Raw::connect(node.port);
    assert_eq!(c.line("CLUSTER ADDSLOTSRANGE 0 16383"), OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.line("CLUSTER INFO").contains("cluster_state:ok") {
        assert!(Instant::now() < deadline, "the node never served its slots");
        std::thread::sleep(Duration::from_millis(20));
    }
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    for command in [
        "BLPOP a b 0",
        "BLMPOP 0 2 a b LEFT",
        "BLMOVE a b LEFT LEFT 0",
    ] {
        assert_eq!(c.line(command), crossslot, "{command}");
    }
    let mut b = blocked(&node, &mut c, "BLMPOP 0 2 {t}a {t}b LEFT", 0);
    assert_eq!(c.line("RPUSH {t}b x"), int(1));
    assert_eq!(b.reply(), "*2\r\n$4\r\n{t}b\r\n*1\r\n$1\r\nx\r\n");
}

#[test]
fn the_pusher_sees_the_blocked_clients_served_when_it_gets_its_reply() {
    let (server, mut c) = start();
    let mut first = blocked(&server, &mut c, "BLMOVE list1 list2 RIGHT LEFT 0", 0);
    let mut second = blocked(&server, &mut c, "BLMOVE list2 list3 LEFT RIGHT 0", 1);
    // No waiting for the blocked clients: they are served before the
    // pusher's next command runs, as in Redis.
    assert_eq!(c.line("RPUSH list1 foo"), int(1));
    assert_eq!(c.line("EXISTS list1 list2"), int(0));
    assert_eq!(c.line("LRANGE list3 0 -1"), bulks(&["foo"]));
    assert_eq!(first.reply(), bulk("foo"));
    assert_eq!(second.reply(), bulk("foo"));
    // Likewise a pop right after the push finds nothing left.
    let mut b = blocked(&server, &mut c, "BLPOP k 0", 0);
    assert_eq!(c.line("RPUSH k v"), int(1));
    assert_eq!(c.line("LPOP k"), NIL);
    assert_eq!(b.reply(), pair("k", "v"));
}

/// BZPOPMIN, BZPOPMAX and BZMPOP: each command and the exact reply
/// redis-server 7.0.15 gave, in order.
#[test]
fn sorted_set_pops_answer_like_redis() {
    let (_server, mut c) = start();
    let transcript: &[(&str, &str)] = &[
        ("zadd z 1 a 2 b 3 c", ":3\r\n"),
        ("bzpopmin z 0", "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (
            "bzpopmax none z 0",
            "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ),
        (
            "bzmpop 0 2 none z max count 5",
            "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
        ),
        ("bzpopmin z 0.01", NIL_ARRAY),
        ("bzmpop 0.01 1 z min", NIL_ARRAY),
        ("set s x", OK),
        ("bzpopmin s 0", WRONGTYPE),
        ("bzpopmin z -1", NEGATIVE),
        ("bzpopmin z abc", NOT_FLOAT),
        (
            "bzmpop 0 0 z min",
            "-ERR numkeys should be greater than 0\r\n",
        ),
        ("bzmpop 0 1 z foo", SYNTAX),
        ("multi", OK),
        ("bzpopmin z 0", "+QUEUED\r\n"),
        ("bzmpop 0 1 z min", "+QUEUED\r\n"),
        ("exec", "*2\r\n*-1\r\n*-1\r\n"),
        (
            "command getkeys bzmpop 0 2 a b min",
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
    ];
    for (command, reply) in transcript {
        let args: Vec<&str> = command.split(' ').collect();
        assert_eq!(c.cmd(&args), *reply, "{command}");
    }
}

#[test]
fn sorted_set_pops_block_until_a_member_arrives_in_fifo_order() {
    let (server, mut c, mut first) = start_blocked("BZPOPMIN z1 z2 0");
    let mut second = blocked(&server, &mut c, "BZMPOP 0 1 z2 MAX COUNT 2", 1);
    let mut third = blocked(&server, &mut c, "BZPOPMAX z2 0", 2);
    assert_eq!(c.line("ZADD z2 1 a 2 b 3 c"), int(3));
    assert_eq!(first.reply(), "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(
        second.reply(),
        "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("EXISTS z2"), int(0));
    // A list at the key does not wake a sorted set waiter.
    assert_eq!(c.line("RPUSH z2 x"), int(1));
    wait_blocked(&mut c, 1);
    assert_eq!(c.line("DEL z2"), int(1));
    assert_eq!(c.line("ZADD z2 5 m"), int(1));
    assert_eq!(third.reply(), "*3\r\n$2\r\nz2\r\n$1\r\nm\r\n$1\r\n5\r\n");
    wait_blocked(&mut c, 0);
}
