//! Bitmap commands against a real server, with the replies Redis 7.0.15
//! gives: a bitmap is a string, so GET, SETRANGE and TTLs see the bits.

mod common;
mod resp;

use resp::{bulk, error, int, start, NIL, SYNTAX};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";

#[test]
fn setbit_grows_the_string_and_get_returns_its_bytes() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETBIT k 1 1"), int(0));
    assert_eq!(c.line("SETBIT k 7 1"), int(0));
    assert_eq!(c.line("SETBIT k 7 1"), int(1));
    assert_eq!(c.line("GET k"), bulk("A"));
    assert_eq!(c.line("SETBIT k 23 1"), int(0));
    assert_eq!(c.cmd_bytes(&["GET", "k"]), b"$3\r\nA\x00\x01\r\n".to_vec());
    assert_eq!(c.line("OBJECT ENCODING k"), bulk("raw"));
}

#[test]
fn setbit_keeps_the_ttl_and_rejects_bad_offsets_and_values() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k a EX 100"), "+OK\r\n");
    assert_eq!(c.line("SETBIT k 6 1"), int(0));
    assert!(c.int(&["TTL", "k"]) > 0);
    assert_eq!(c.line("GET k"), bulk("c"));
    assert_eq!(c.line("SETBIT k -1 1"), error(BIT_OFFSET));
    assert_eq!(c.line("SETBIT k 4294967296 1"), error(BIT_OFFSET));
    assert_eq!(c.line("SETBIT k x 1"), error(BIT_OFFSET));
    assert_eq!(
        c.line("SETBIT k 0 2"),
        error("ERR bit is not an integer or out of range")
    );
}

#[test]
fn bit_offsets_obey_proto_max_bulk_len() {
    let (_server, mut c) = start();
    assert_eq!(c.line("CONFIG SET proto-max-bulk-len 1mb"), "+OK\r\n");
    assert_eq!(c.line("SETBIT k 8388607 1"), int(0));
    assert_eq!(c.line("STRLEN k"), int(1024 * 1024));
    assert_eq!(c.line("SETBIT k 8388608 1"), error(BIT_OFFSET));
    assert_eq!(c.line("GETBIT k 8388608"), error(BIT_OFFSET));
}

#[test]
fn getbit_reads_zero_past_the_end_and_for_missing_keys() {
    let (_server, mut c) = start();
    assert_eq!(c.line("GETBIT missing 5"), int(0));
    assert_eq!(c.line("SET k @"), "+OK\r\n");
    assert_eq!(c.line("GETBIT k 1"), int(1));
    assert_eq!(c.line("GETBIT k 1000"), int(0));
}

#[test]
fn bitcount_counts_bytes_or_bits_ranges() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET k foobar"), "+OK\r\n");
    assert_eq!(c.line("BITCOUNT k"), int(26));
    assert_eq!(c.line("BITCOUNT k 0 0"), int(4));
    assert_eq!(c.line("BITCOUNT k 1 1"), int(6));
    assert_eq!(c.line("BITCOUNT k 5 30 BIT"), int(17));
    assert_eq!(c.line("BITCOUNT k -1 -2"), int(0));
    assert_eq!(c.line("BITCOUNT k 0"), SYNTAX);
    assert_eq!(c.line("BITCOUNT k 0 1 WORD"), SYNTAX);
    // Redis 7.0 answers for a missing key before reading the range.
    assert_eq!(c.line("BITCOUNT missing a b"), int(0));
}

#[test]
fn bitpos_finds_set_and_clear_bits() {
    let (_server, mut c) = start();
    assert_eq!(c.cmd(&[&b"SET"[..], b"k", b"\xff\xf0\x00"]), "+OK\r\n");
    assert_eq!(c.line("BITPOS k 0"), int(12));
    assert_eq!(c.line("BITPOS k 1 2"), int(-1));
    assert_eq!(c.line("BITPOS k 1 7 15 BIT"), int(7));
    assert_eq!(c.cmd(&[&b"SET"[..], b"k", b"\xff\xff"]), "+OK\r\n");
    assert_eq!(c.line("BITPOS k 0"), int(16), "zero padding on the right");
    assert_eq!(c.line("BITPOS k 0 0 -1"), int(-1), "unless an end is given");
    assert_eq!(c.line("BITPOS missing 0"), int(0));
    assert_eq!(c.line("BITPOS missing 1"), int(-1));
    assert_eq!(
        c.line("BITPOS k 2"),
        error("ERR The bit argument must be 1 or 0.")
    );
}

#[test]
fn bitop_combines_strings_and_deletes_an_empty_result() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET a abc"), "+OK\r\n");
    assert_eq!(c.line("SET b a"), "+OK\r\n");
    assert_eq!(c.line("BITOP OR d a b"), int(3));
    assert_eq!(c.line("GET d"), bulk("abc"));
    assert_eq!(c.line("BITOP AND d a b"), int(3));
    assert_eq!(c.cmd_bytes(&["GET", "d"]), b"$3\r\na\x00\x00\r\n".to_vec());
    assert_eq!(c.line("BITOP XOR d a a"), int(3));
    assert_eq!(c.line("BITOP NOT d b"), int(1));
    assert_eq!(c.cmd_bytes(&["GET", "d"]), b"$1\r\n\x9e\r\n".to_vec());
    assert_eq!(
        c.line("BITOP NOT d a b"),
        error("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(c.line("BITOP NAND d a"), SYNTAX);
    assert_eq!(c.line("BITOP OR d missing other"), int(0));
    assert_eq!(c.line("GET d"), NIL);
    assert_eq!(c.line("RPUSH l x"), int(1));
    assert_eq!(c.line("BITOP OR d a l"), WRONGTYPE);
}

#[test]
fn bitfield_gets_sets_and_increments_with_overflow_policies() {
    let (_server, mut c) = start();
    let reply = c.cmd(&[
        "BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0", "INCRBY", "u8", "0", "1",
        "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0",
        "1", "GET", "i8", "#0",
    ]);
    assert_eq!(reply, "*6\r\n:0\r\n:255\r\n:0\r\n:255\r\n$-1\r\n:-1\r\n");
    assert_eq!(
        c.line("BITFIELD k SET i64 8 -1 GET u63 8"),
        "*2\r\n:0\r\n:9223372036854775807\r\n"
    );
    assert_eq!(
        c.line("BITFIELD new OVERFLOW FAIL SET u4 0 16"),
        "*1\r\n$-1\r\n"
    );
    assert_eq!(c.cmd_bytes(&["GET", "new"]), b"$1\r\n\x00\r\n".to_vec());
    assert_eq!(c.line("BITFIELD k"), "*0\r\n");
}

#[test]
fn bitfield_errors_match_redis() {
    let (_server, mut c) = start();
    let bad_type = error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    assert_eq!(c.line("BITFIELD k GET u64 0"), bad_type);
    assert_eq!(c.line("BITFIELD k GET i65 0"), bad_type);
    assert_eq!(c.line("BITFIELD k GET I8 0"), bad_type);
    assert_eq!(c.line("BITFIELD k GET u8 #-1"), error(BIT_OFFSET));
    assert_eq!(c.line("BITFIELD k GET u8"), SYNTAX);
    assert_eq!(
        c.line("BITFIELD k OVERFLOW UP"),
        error("ERR Invalid OVERFLOW type specified")
    );
    assert_eq!(
        c.line("BITFIELD k SET u8 0 x"),
        error("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.line("BITFIELD_RO k GET u8 0 SET u8 0 1"),
        error("ERR BITFIELD_RO only supports the GET subcommand")
    );
    assert_eq!(c.line("BITFIELD_RO k GET u8 0"), "*1\r\n:0\r\n");
    assert_eq!(
        c.line("EXISTS k"),
        int(0),
        "errors and reads create nothing"
    );
    assert_eq!(c.line("RPUSH l x"), int(1));
    assert_eq!(c.line("BITFIELD l GET u8 0"), WRONGTYPE);
    assert_eq!(c.line("BITFIELD_RO l GET u8 0"), WRONGTYPE);
}

#[test]
fn bit_writes_in_a_pipeline_see_each_other() {
    let (_server, mut c) = start();
    let mut batch = Vec::new();
    for offset in 0..16 {
        batch.extend(resp::encode(&["SETBIT", "k", &offset.to_string(), "1"]));
    }
    batch.extend(resp::encode(&["BITCOUNT", "k"]));
    c.send_bytes(&batch);
    for _ in 0..16 {
        assert_eq!(c.reply(), int(0));
    }
    assert_eq!(c.reply(), int(16));
}

/// A deterministic stream of random bit commands (valid and not), each
/// sent to Redstone and to a real redis-server: the replies and, at the
/// end, every key's bytes must be the same.
#[test]
fn random_bit_commands_reply_like_redis_server() {
    let Some(real) = common::real_redis::RealRedis::start() else {
        eprintln!("redis-server is not installed: skipping the cross-check");
        return;
    };
    let mut theirs = real.client();
    let server = common::Server::start(&[]);
    let mut ours = server.client();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let keys = ["k0", "k1", "k2", "list"];
    for (con, name) in [(&mut ours, "ours"), (&mut theirs, "theirs")] {
        let pushed: Result<i64, _> = redis::cmd("RPUSH").arg("list").arg("x").query(con);
        assert_eq!(pushed.ok(), Some(1), "{name}");
    }
    for step in 0..3000 {
        let command = random_bit_command(&mut next, &keys);
        let reply = |con: &mut redis::Connection| {
            let mut cmd = redis::cmd(&command[0]);
            for arg in &command[1..] {
                cmd.arg(arg.as_bytes());
            }
            format!("{:?}", cmd.query::<redis::Value>(con))
        };
        assert_eq!(
            reply(&mut ours),
            reply(&mut theirs),
            "step {step}: {command:?}"
        );
    }
    for key in keys {
        let get = |con: &mut redis::Connection| {
            format!(
                "{:?}",
                redis::cmd("GET").arg(key).query::<redis::Value>(con)
            )
        };
        assert_eq!(get(&mut ours), get(&mut theirs), "{key}");
    }
}

fn random_bit_command(next: &mut impl FnMut(u64) -> u64, keys: &[&str]) -> Vec<String> {
    let mut pick = |options: &[&str]| options[next(options.len() as u64) as usize].to_string();
    let key = pick(keys);
    let small = |next: &mut dyn FnMut(u64) -> u64| (next(25) as i64 - 12).to_string();
    let unit = ["BIT", "BYTE", "bit", "WORD"];
    let mut words = match next(9) {
        0 | 1 => {
            let bit = if next(20) == 0 {
                "2".into()
            } else {
                next(2).to_string()
            };
            vec!["SETBIT".into(), key, next(70).to_string(), bit]
        }
        2 => vec!["GETBIT".into(), key, next(80).to_string()],
        3 => vec!["BITCOUNT".into(), key],
        4 => vec!["BITPOS".into(), key, next(3).to_string()],
        5 => {
            let op = ["AND", "OR", "XOR", "NOT", "NAND"][next(5) as usize].to_string();
            let mut words = vec!["BITOP".into(), op, keys[next(3) as usize].to_string()];
            for _ in 0..=next(3) {
                words.push(keys[next(keys.len() as u64) as usize].to_string());
            }
            words
        }
        6 => vec![
            "SET".into(),
            key,
            ["", "a", "foobar", "\u{7f}\u{1}", "12"][next(5) as usize].into(),
        ],
        _ => {
            let name = if next(4) == 0 {
                "BITFIELD_RO"
            } else {
                "BITFIELD"
            };
            let mut words = vec![name.to_string(), key];
            for _ in 0..next(4) {
                if next(4) == 0 {
                    words.extend([
                        "OVERFLOW".into(),
                        ["WRAP", "SAT", "FAIL", "NONE"][next(4) as usize].into(),
                    ]);
                }
                let action = ["GET", "SET", "INCRBY"][next(3) as usize];
                let signed = next(2) == 0;
                let bits = next(if signed { 66 } else { 65 });
                let kind = format!("{}{bits}", if signed { "i" } else { "u" });
                let offset = if next(3) == 0 {
                    format!("#{}", next(6))
                } else {
                    next(60).to_string()
                };
                words.extend([action.to_string(), kind, offset]);
                if action != "GET" {
                    let values = [
                        "-1",
                        "0",
                        "1",
                        "127",
                        "300",
                        "-9223372036854775808",
                        "9223372036854775807",
                    ];
                    let value = if next(2) == 0 {
                        values[next(7) as usize].to_string()
                    } else {
                        small(next)
                    };
                    words.push(value);
                }
            }
            words
        }
    };
    if matches!(words[0].as_str(), "BITCOUNT" | "BITPOS") {
        for _ in 0..next(4) {
            words.push(small(next));
        }
        if next(3) == 0 {
            words.push(unit[next(4) as usize].to_string());
        }
    }
    words
}

/// Writing bits that are already set changes nothing: WATCH still lets
/// the transaction through and the dirty count does not move (Redis 7.0.15).
#[test]
fn rewriting_a_bit_with_its_own_value_is_not_a_change() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SETBIT b 7 1"), int(0));
    assert_eq!(c.line("BITFIELD b SET u8 8 255"), "*1\r\n:0\r\n");
    let dirty = |c: &mut resp::Raw| {
        let info = c.line("INFO persistence");
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .map(|n| n.trim().to_string())
            .unwrap_or_default()
    };
    let before = dirty(&mut c);
    assert_eq!(c.line("WATCH b"), "+OK\r\n");
    assert_eq!(c.line("SETBIT b 7 1"), int(1));
    assert_eq!(c.line("BITFIELD b SET u8 8 255"), "*1\r\n:255\r\n");
    assert_eq!(dirty(&mut c), before);
    assert_eq!(c.line("MULTI"), "+OK\r\n");
    assert_eq!(c.line("BITCOUNT b"), "+QUEUED\r\n");
    assert_eq!(c.line("EXEC"), "*1\r\n:9\r\n");
    // A real change still counts.
    assert_eq!(c.line("SETBIT b 7 0"), int(1));
    assert_ne!(dirty(&mut c), before);
}
