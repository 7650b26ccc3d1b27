//! Replies of the blocking list commands that do not block: served at
//! once, inside MULTI/EXEC, and every argument error, checked against
//! redis-server 7.0.15. (Blocking itself is tested through the real server
//! in `tests/blocking.rs`.)

use super::tests::transcript;
use crate::resp::Protocol;

const SESSION: &[&[&str]] = &[
    &["RPUSH", "l", "a", "b", "c", "d"],
    &["BLPOP", "nokey", "l", "0"],
    &["BRPOP", "l", "0.5"],
    &["BLMPOP", "0", "2", "nokey", "l", "LEFT", "COUNT", "5"],
    &["RPUSH", "l", "x"],
    &["BLMOVE", "l", "dst", "RIGHT", "LEFT", "0"],
    &["RPUSH", "l", "y"],
    &["BRPOPLPUSH", "l", "dst", "0"],
    &["LRANGE", "dst", "0", "-1"],
    &["MULTI"],
    &["BLPOP", "l", "0"],
    &["BRPOP", "l", "1"],
    &["BLMOVE", "l", "dst", "LEFT", "LEFT", "0"],
    &["BRPOPLPUSH", "l", "dst", "0"],
    &["BLMPOP", "0", "1", "l", "RIGHT"],
    &["EXEC"],
    &["SET", "s", "v"],
    &["BLPOP", "nokey", "s", "0"],
    &["BLMPOP", "0", "1", "s", "LEFT"],
    &["BLMOVE", "s", "dst", "LEFT", "LEFT", "0"],
    &["RPUSH", "l", "z"],
    &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
    &["BLPOP", "l", "x"],
    &["BLPOP", "l", "-1"],
    &["BLPOP", "l", "inf"],
    &["BLPOP", "l"],
    &["BLMPOP", "0", "0", "l", "LEFT"],
    &["BLMPOP", "x", "1", "l", "LEFT"],
    &["BLMPOP", "0", "2", "l", "LEFT"],
    &["BLMPOP", "0", "1", "l", "UP"],
    &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"],
    &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "1", "COUNT", "1"],
    &["BLMOVE", "l", "d", "UP", "LEFT", "x"],
    &["BLMOVE", "l", "d", "LEFT", "LEFT", "-0.5"],
    &["BRPOPLPUSH", "l", "d", "nan"],
    &["CLIENT", "UNBLOCK", "1", "maybe"],
    &["CLIENT", "UNBLOCK", "x"],
    &["CLIENT", "UNBLOCK", "12345", "ERROR"],
    &["CLIENT", "UNBLOCK", "1", "2", "3"],
    &["client", "unblock", "1", "2", "3"],
];

/// RESP2 only: in RESP3 `COMMAND INFO` sends its tips, key specs and
/// subcommands as arrays where Redis sends sets (introspection.rs).
const COMMAND_INFO: &[&str] = &["COMMAND", "INFO", "blpop", "blmpop", "blmove"];

#[test]
fn blocking_replies_in_resp2() {
    let session = [SESSION, &[COMMAND_INFO]].concat();
    insta::assert_snapshot!(transcript(Protocol::Resp2, &session));
}

#[test]
fn blocking_replies_in_resp3() {
    insta::assert_snapshot!(transcript(Protocol::Resp3, SESSION));
}

/// Random schedules of blocking pops, pushes, moves, steals, type changes,
/// timeouts and CLIENT UNBLOCKs on one server state: after every command
/// no client waits on a list that has elements (no lost wake-up), and
/// every element pushed is delivered once or still in a list.
mod schedules {
    use super::super::{blocking, execute, Client, Ctx, Shared};
    use crate::resp::Frame;
    use bytes::Bytes;
    use quickcheck::{Arbitrary, Gen, QuickCheck};
    use std::collections::HashMap;
    use std::sync::Arc;

    const CLIENTS: usize = 4;
    const KEYS: [&str; 3] = ["a", "b", "c"];

    #[derive(Clone, Debug)]
    enum Op {
        /// BLPOP (or BRPOP, or BLMOVE into the next key) on some keys.
        Block(usize, u8, Vec<usize>),
        Push(usize, usize, u8),
        Steal(usize),
        SetString(usize),
        Del(usize),
        TimeOut(usize),
        Unblock(usize),
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Op {
            let client = |g: &mut Gen| usize::arbitrary(g) % CLIENTS;
            let key = |g: &mut Gen| usize::arbitrary(g) % KEYS.len();
            match u8::arbitrary(g) % 12 {
                0..=3 => Op::Block(
                    client(g),
                    u8::arbitrary(g) % 3,
                    (0..1 + usize::arbitrary(g) % 3).map(|_| key(g)).collect(),
                ),
                4..=7 => Op::Push(client(g), key(g), 1 + u8::arbitrary(g) % 3),
                8 => Op::Steal(key(g)),
                9 => Op::SetString(key(g)),
                10 => Op::Del(key(g)),
                _ if bool::arbitrary(g) => Op::TimeOut(client(g)),
                _ => Op::Unblock(client(g)),
            }
        }
    }

    struct World {
        shared: Arc<Shared>,
        clients: Vec<Client>,
        next_value: u32,
        /// Elements that made it into a list.
        pushed: u32,
        /// Value → how many times a reply or a steal delivered it.
        delivered: HashMap<Bytes, u32>,
    }

    impl World {
        fn run(&mut self, who: usize, words: &[String]) -> Frame {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.clone())).collect();
            let mut txn = None;
            let mut ctx = Ctx::new(
                &self.shared,
                &mut self.clients[who],
                1_700_000_000_000,
                &mut txn,
            );
            let reply = execute(&mut ctx, &args);
            ctx.commit_pending().expect("commit");
            reply
        }

        /// Counts the elements taken out of the lists by a reply: those in
        /// an array (BLPOP's `[key, value]`, LRANGE); BLMOVE's bulk reply
        /// names an element that is still in a list.
        fn count(&mut self, reply: &Frame) {
            if let Frame::Array(items) = reply {
                for item in items {
                    match item {
                        Frame::Bulk(value) if value.starts_with(b"v") => {
                            *self.delivered.entry(value.clone()).or_default() += 1;
                        }
                        nested => self.count(nested),
                    }
                }
            }
        }

        /// Replies handed to blocked clients since the last look.
        fn collect(&mut self) {
            for who in 0..CLIENTS {
                if let Some(reply) = blocking::take_reply(&self.shared, &mut self.clients[who]) {
                    self.count(&reply);
                }
            }
        }

        /// Elements still in the lists, or `None` if a client waits on a
        /// list that has some (a lost wake-up).
        fn remaining(&mut self) -> Option<u32> {
            let mut total = 0;
            for key in KEYS {
                let Frame::Integer(len) = self.run(0, &words(&format!("LLEN {key}"))) else {
                    continue;
                };
                let waited = (0, Bytes::from_static(key.as_bytes()));
                if len > 0 && self.shared.store.blocking.is_waited(&waited) {
                    return None;
                }
                total += len as u32;
            }
            Some(total)
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    fn property(ops: Vec<Op>) -> bool {
        let engine = Arc::new(crate::engine::memory::MemoryEngine::new());
        let shared = Shared::new(crate::config::Config::default(), engine, None, 0).expect("state");
        let clients = (0..CLIENTS)
            .map(|i| {
                let handle =
                    shared
                        .clients
                        .register(format!("127.0.0.1:{i}"), "127.0.0.1:6379".into(), 0);
                Client::new(handle, true)
            })
            .collect();
        let mut world = World {
            shared,
            clients,
            next_value: 0,
            pushed: 0,
            delivered: HashMap::new(),
        };
        for op in ops {
            match op {
                Op::Block(who, form, keys) => {
                    if world.clients[who].blocked.is_some() {
                        continue;
                    }
                    let names: Vec<&str> = keys.iter().map(|&k| KEYS[k]).collect();
                    let command = match form {
                        0 => format!("BLPOP {} 0", names.join(" ")),
                        1 => format!("BRPOP {} 0", names.join(" ")),
                        _ => format!(
                            "BLMOVE {} {} LEFT RIGHT 0",
                            names[0],
                            KEYS[(keys[0] + 1) % 3]
                        ),
                    };
                    let reply = world.run(who, &words(&command));
                    if world.clients[who].blocked.is_none() {
                        world.count(&reply);
                    }
                }
                Op::Push(who, key, n) => {
                    if world.clients[who].blocked.is_some() {
                        continue;
                    }
                    let mut command = vec!["RPUSH".to_string(), KEYS[key].to_string()];
                    for _ in 0..n {
                        command.push(format!("v{}", world.next_value));
                        world.next_value += 1;
                    }
                    if let Frame::Integer(_) = world.run(who, &command) {
                        world.pushed += u32::from(n);
                    }
                }
                Op::Steal(key) => {
                    let reply = world.run(0, &words(&format!("LPOP {}", KEYS[key])));
                    world.count(&Frame::Array(vec![reply]));
                }
                Op::SetString(key) | Op::Del(key) => {
                    // The elements a string overwrites or DEL drops are gone.
                    let dropped = world.run(0, &words(&format!("LRANGE {} 0 -1", KEYS[key])));
                    world.count(&dropped);
                    let command = match op {
                        Op::SetString(_) => format!("SET {} s", KEYS[key]),
                        _ => format!("DEL {}", KEYS[key]),
                    };
                    world.run(0, &words(&command));
                }
                Op::TimeOut(who) => blocking::time_out(&world.shared, &world.clients[who]),
                Op::Unblock(who) => {
                    let id = world.clients[who].id().to_string();
                    world.run(
                        (who + 1) % CLIENTS,
                        &["CLIENT".into(), "UNBLOCK".into(), id],
                    );
                }
            }
            world.collect();
            let Some(remaining) = world.remaining() else {
                return false;
            };
            let delivered: u32 = world.delivered.values().sum();
            if world.delivered.values().any(|&n| n > 1) || delivered + remaining != world.pushed {
                return false;
            }
        }
        true
    }

    #[test]
    fn no_lost_wake_up_and_every_element_delivered_once() {
        QuickCheck::new()
            .tests(300)
            .quickcheck(property as fn(Vec<Op>) -> bool);
    }
}
