//! Sorted-set commands against a real server, with the replies Redis 7.0.15
//! gives (checked against redis-server 7.0.15), plus how the generic key
//! commands treat sorted sets, persistence, transactions, cluster routing
//! of the multi-key commands, and O(1) deletion of a big sorted set.

mod common;
mod resp;

use common::Server;
use resp::{arity, bulk, bulks, error, int, pending, start, Raw, NIL, OK, SYNTAX};
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn zadd_scores_and_ranges() {
    let (_server, mut c) = start();
    assert_eq!(c.line("ZADD z 1 a 2.5 b -inf c +inf d -0 e"), int(5));
    assert_eq!(c.line("ZADD z 3 b"), int(0));
    assert_eq!(c.line("ZCARD z"), int(5));
    assert_eq!(c.line("ZSCORE z b"), bulk("3"));
    assert_eq!(c.line("ZSCORE z c"), bulk("-inf"));
    assert_eq!(c.line("ZSCORE z e"), bulk("0"));
    assert_eq!(c.line("ZSCORE z nosuch"), NIL);
    assert_eq!(c.line("ZRANGE z 0 -1"), bulks(&["c", "e", "a", "b", "d"]));
    assert_eq!(
        c.line("ZRANGE z 1 2 WITHSCORES"),
        bulks(&["e", "0", "a", "1"])
    );
    assert_eq!(c.line("ZREVRANGE z 0 1"), bulks(&["d", "b"]));
    assert_eq!(c.line("ZRANGEBYSCORE z (0 3"), bulks(&["a", "b"]));
    assert_eq!(
        c.line("ZRANGEBYSCORE z -inf +inf LIMIT 1 2"),
        bulks(&["e", "a"])
    );
    assert_eq!(c.line("ZREVRANGEBYSCORE z 3 (1"), bulks(&["b"]));
    assert_eq!(
        c.line("ZRANGE z +inf (0 BYSCORE REV"),
        bulks(&["d", "b", "a"])
    );
    assert_eq!(c.line("ZCOUNT z -inf 0"), int(2));
    assert_eq!(c.line("ZRANK z a"), int(2));
    assert_eq!(c.line("ZREVRANK z a"), int(2));
    assert_eq!(c.line("ZRANK z nosuch"), NIL);
    assert_eq!(c.line("ZRANK z d WITHSCORE"), "*2\r\n:4\r\n$3\r\ninf\r\n");
    assert_eq!(c.line("ZRANK z nosuch WITHSCORE"), "*-1\r\n");
    assert_eq!(c.line("TYPE z"), "+zset\r\n");
    assert_eq!(c.line("ZREM z a nosuch"), int(1));
    assert_eq!(c.line("ZREM z b c d e"), int(4));
    assert_eq!(c.line("EXISTS z"), int(0));
}

#[test]
fn zadd_options_follow_redis() {
    let (_server, mut c) = start();
    c.line("ZADD z 5 a");
    assert_eq!(c.line("ZADD z NX 1 a 1 b"), int(1));
    assert_eq!(c.line("ZADD z XX 1 a 1 c"), int(0));
    assert_eq!(c.line("ZSCORE z a"), bulk("1"));
    assert_eq!(c.line("ZADD z GT CH 0 a 9 b"), int(1));
    assert_eq!(c.line("ZADD z LT CH 0 a 9 b"), int(1));
    assert_eq!(c.line("ZADD z INCR 2.5 a"), bulk("2.5"));
    assert_eq!(c.line("ZADD z XX INCR 1 nosuch"), NIL);
    assert_eq!(c.line("ZADD nokey XX 1 a"), int(0));
    assert_eq!(c.line("EXISTS nokey"), int(0));
    assert_eq!(
        c.line("ZADD z NX XX 1 a"),
        error("ERR XX and NX options at the same time are not compatible")
    );
    assert_eq!(
        c.line("ZADD z GT LT 1 a"),
        error("ERR GT, LT, and/or NX options at the same time are not compatible")
    );
    assert_eq!(
        c.line("ZADD z INCR 1 a 2 b"),
        error("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(c.line("ZADD z 1 a 2"), SYNTAX);
    assert_eq!(
        c.line("ZADD z nan a"),
        error("ERR value is not a valid float")
    );
    c.line("ZADD inf +inf x");
    assert_eq!(
        c.line("ZINCRBY inf -inf x"),
        error("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(c.line("ZINCRBY z 1 new"), bulk("1"));
    assert_eq!(c.line("ZADD z"), arity("zadd"));
    assert_eq!(c.line("ZRANK z"), arity("zrank"));
    assert_eq!(c.line("ZRANK z a WITHSCORE x"), arity("zrank"));
}

#[test]
fn resp3_scores_are_doubles_and_withscores_are_pairs() {
    let (_server, mut c) = start();
    c.line("ZADD z 1.5 a 2 b");
    c.line("HELLO 3");
    assert_eq!(c.line("ZSCORE z a"), ",1.5\r\n");
    assert_eq!(c.line("ZMSCORE z a nosuch"), "*2\r\n,1.5\r\n_\r\n");
    assert_eq!(
        c.line("ZRANGE z 0 -1 WITHSCORES"),
        "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    );
    assert_eq!(c.line("ZPOPMIN z"), "*2\r\n$1\r\na\r\n,1.5\r\n");
    assert_eq!(c.line("ZPOPMAX z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(c.line("ZPOPMIN z"), "*0\r\n");
    assert_eq!(c.line("ZMPOP 1 z MIN"), "_\r\n");
    assert_eq!(c.line("ZRANDMEMBER z"), "_\r\n");
}

#[test]
fn pops_and_zmpop() {
    let (_server, mut c) = start();
    c.line("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.line("ZPOPMIN z"), bulks(&["a", "1"]));
    assert_eq!(c.line("ZPOPMAX z 2"), bulks(&["d", "4", "c", "3"]));
    assert_eq!(
        c.line("ZPOPMIN z -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(c.line("ZPOPMIN z 1 2"), SYNTAX);
    assert_eq!(c.line("ZPOPMIN nokey"), "*0\r\n");
    assert_eq!(
        c.line("ZMPOP 2 nokey z MAX COUNT 5"),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.line("EXISTS z"), int(0));
    assert_eq!(c.line("ZMPOP 1 z MIN"), "*-1\r\n");
    assert_eq!(
        c.line("ZMPOP 0 z MIN"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        c.line("ZMPOP 1 z MIN COUNT 0"),
        error("ERR count should be greater than 0")
    );
    assert_eq!(c.line("ZMPOP 1 z MIN COUNT 1 COUNT 2"), SYNTAX);
    c.line("SET s x");
    assert_eq!(c.line("ZMPOP 1 s MIN"), WRONGTYPE);
}

#[test]
fn lex_ranges_and_removals() {
    let (_server, mut c) = start();
    c.line("ZADD l 0 a 0 b 0 c 0 d 0 e");
    assert_eq!(c.line("ZRANGEBYLEX l [b (d"), bulks(&["b", "c"]));
    assert_eq!(c.line("ZREVRANGEBYLEX l + (c"), bulks(&["e", "d"]));
    assert_eq!(c.line("ZRANGE l [a + BYLEX LIMIT 1 2"), bulks(&["b", "c"]));
    assert_eq!(c.line("ZLEXCOUNT l - +"), int(5));
    assert_eq!(
        c.line("ZRANGEBYLEX l a b"),
        error("ERR min or max not valid string range item")
    );
    // Mixed scores: Redis skips only the members before the first one in
    // range, in score order.
    c.line("ZADD m 1 a 2 b 0 c");
    assert_eq!(c.line("ZRANGEBYLEX m [b +"), bulks(&["c", "a", "b"]));
    c.line("ZADD n 1 b 2 a 3 d 4 c 5 e");
    assert_eq!(c.line("ZRANGEBYLEX n [b [d"), bulks(&["b", "a", "d", "c"]));
    assert_eq!(c.line("ZREVRANGEBYLEX n [d [b"), bulks(&["c", "d"]));
    assert_eq!(c.line("ZREMRANGEBYLEX l - [a"), int(1));
    assert_eq!(c.line("ZREMRANGEBYRANK l -1 -1"), int(1));
    assert_eq!(c.line("ZREMRANGEBYSCORE l 0 0"), int(3));
    assert_eq!(c.line("EXISTS l"), int(0));
    assert_eq!(
        c.line("ZREMRANGEBYSCORE l a 1"),
        error("ERR min or max is not a float")
    );
}

#[test]
fn set_algebra_weights_and_store() {
    let (_server, mut c) = start();
    c.line("ZADD a 1 x 2 y 3 z");
    c.line("ZADD b 10 y 20 z 30 w");
    c.line("SADD s x w");
    assert_eq!(
        c.line("ZUNION 2 a b WITHSCORES"),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(
        c.line("ZINTER 2 a b WEIGHTS 2 1 AGGREGATE MIN WITHSCORES"),
        bulks(&["y", "4", "z", "6"])
    );
    assert_eq!(c.line("ZINTER 2 a s WITHSCORES"), bulks(&["x", "2"]));
    assert_eq!(c.line("ZDIFF 2 a b"), bulks(&["x"]));
    assert_eq!(c.line("ZUNIONSTORE d 3 a b s"), int(4));
    assert_eq!(
        c.line("ZRANGE d 0 -1 WITHSCORES"),
        bulks(&["x", "2", "y", "12", "z", "23", "w", "31"])
    );
    assert_eq!(c.line("ZINTERSTORE d 2 a nokey"), int(0));
    assert_eq!(c.line("EXISTS d"), int(0));
    assert_eq!(c.line("ZDIFFSTORE d 2 b a"), int(1));
    assert_eq!(c.line("ZINTERCARD 2 a b LIMIT 1"), int(1));
    assert_eq!(c.line("ZRANGESTORE r b 0 1 REV"), int(2));
    assert_eq!(c.line("ZRANGE r 0 -1"), bulks(&["z", "w"]));
    assert_eq!(
        c.line("ZUNION 0 a"),
        error("ERR at least 1 input key is needed for 'zunion' command")
    );
    assert_eq!(
        c.line("ZUNION 1 a WEIGHTS x"),
        error("ERR weight value is not a float")
    );
    assert_eq!(c.line("ZDIFF 1 a WEIGHTS 1"), SYNTAX);
    c.line("SET str v");
    assert_eq!(c.line("ZUNION 2 a str WEIGHTS x"), WRONGTYPE);
}

#[test]
fn zrandmember_and_zscan() {
    let (_server, mut c) = start();
    c.line("ZADD z 3 c 1 a 2 b");
    assert_eq!(c.line("ZRANDMEMBER nokey"), NIL);
    assert_eq!(c.line("ZRANDMEMBER nokey 2"), "*0\r\n");
    let mut all = resp::strings(&c.value(&["ZRANDMEMBER", "z", "5"]));
    all.sort();
    assert_eq!(all, ["a", "b", "c"]);
    assert_eq!(
        resp::strings(&c.value(&["ZRANDMEMBER", "z", "-7"])).len(),
        7
    );
    assert_eq!(
        resp::strings(&c.value(&["ZRANDMEMBER", "z", "2", "WITHSCORES"])).len(),
        4
    );
    assert_eq!(
        c.line("ZRANDMEMBER z 9223372036854775807 WITHSCORES"),
        error("ERR value is out of range")
    );
    // A listpack is returned whole, in score order.
    assert_eq!(
        c.line("ZSCAN z 0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    // A skiplist is paged.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..300 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    c.cmd(&args);
    assert_eq!(c.line("OBJECT ENCODING big"), bulk("skiplist"));
    let mut cursor = "0".to_string();
    let mut seen = 0;
    loop {
        let reply = c.value(&["ZSCAN", "big", &cursor, "COUNT", "50"]);
        let redis::Value::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        seen += resp::strings(&parts[1]).len() / 2;
        let redis::Value::BulkString(next) = &parts[0] else {
            panic!("{parts:?}")
        };
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 300);
}

#[test]
fn object_encoding_follows_the_zset_max_listpack_settings() {
    let (_server, mut c) = start();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..128 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    c.cmd(&args);
    assert_eq!(c.line("OBJECT ENCODING z"), bulk("listpack"));
    c.line("ZADD z 1 one-more");
    assert_eq!(c.line("OBJECT ENCODING z"), bulk("skiplist"));
    c.line("ZREMRANGEBYRANK z 0 100");
    assert_eq!(c.line("OBJECT ENCODING z"), bulk("skiplist"));
    assert_eq!(c.line("CONFIG SET zset-max-listpack-entries 2"), OK);
    c.line("ZADD small 1 a 2 b");
    assert_eq!(c.line("OBJECT ENCODING small"), bulk("listpack"));
    c.line("ZADD small 3 c");
    assert_eq!(c.line("OBJECT ENCODING small"), bulk("skiplist"));
    assert_eq!(c.line("ZUNIONSTORE u 1 small"), int(3));
    assert_eq!(c.line("OBJECT ENCODING u"), bulk("skiplist"));
    c.line("ZADD long 1 a");
    c.cmd(&["ZADD", "long", "2", &"x".repeat(65)]);
    assert_eq!(c.line("OBJECT ENCODING long"), bulk("skiplist"));
}

#[test]
fn ttls_rename_copy_move_and_scan_type() {
    let (_server, mut c) = start();
    c.line("ZADD z 1 a 2 b");
    assert_eq!(c.line("EXPIRE z 100"), int(1));
    assert_eq!(c.line("RENAME z r"), OK);
    assert!(c.int(&["TTL", "r"]) > 0);
    assert_eq!(
        c.line("ZRANGE r 0 -1 WITHSCORES"),
        bulks(&["a", "1", "b", "2"])
    );
    assert_eq!(c.line("COPY r copy"), int(1));
    c.line("ZADD copy 0 first");
    assert_eq!(c.line("ZCARD r"), int(2));
    assert_eq!(c.line("ZRANGE copy 0 0"), bulks(&["first"]));
    assert_eq!(c.line("MOVE copy 2"), int(1));
    c.line("SELECT 2");
    assert_eq!(c.line("ZRANGEBYSCORE copy 1 +inf"), bulks(&["a", "b"]));
    assert_eq!(c.line("ZRANK copy b"), int(2));
    c.line("SELECT 0");
    c.line("SADD s x");
    let reply = c.value(&["SCAN", "0", "TYPE", "zset", "COUNT", "100"]);
    let redis::Value::Array(parts) = reply else {
        panic!()
    };
    assert_eq!(resp::strings(&parts[1]), ["r"]);
    assert_eq!(c.line("ZADD s 1 a"), WRONGTYPE);
    assert_eq!(c.line("SADD r x"), WRONGTYPE);
    assert_eq!(c.line("FLUSHDB"), OK);
    assert_eq!(c.line("ZCARD r"), int(0));
}

#[test]
fn transactions_see_their_own_writes_and_watch_sees_zset_changes() {
    let (server, mut c) = start();
    assert_eq!(c.line("MULTI"), OK);
    assert_eq!(c.line("ZADD z 1 a 2 b"), "+QUEUED\r\n");
    assert_eq!(c.line("ZINCRBY z 5 a"), "+QUEUED\r\n");
    assert_eq!(c.line("ZRANGE z 0 -1"), "+QUEUED\r\n");
    assert_eq!(
        c.line("EXEC"),
        "*3\r\n:2\r\n$1\r\n6\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    let mut other = Raw::connect(server.port);
    assert_eq!(c.line("WATCH z"), OK);
    assert_eq!(other.line("ZADD z XX 6 a"), int(0));
    assert_eq!(c.line("MULTI"), OK);
    c.line("ZCARD z");
    assert_eq!(c.line("EXEC"), "*1\r\n:2\r\n");
    assert_eq!(c.line("WATCH z"), OK);
    assert_eq!(other.line("ZPOPMIN z"), bulks(&["b", "2"]));
    assert_eq!(c.line("MULTI"), OK);
    c.line("ZCARD z");
    assert_eq!(c.line("EXEC"), "*-1\r\n");
}

#[test]
fn commands_through_the_redis_crate() {
    let server = Server::start(&[]);
    let mut con = server.client();
    let added: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(&["1", "a", "2.5", "b"])
        .query(&mut con)
        .unwrap();
    assert_eq!(added, 2);
    let range: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .unwrap();
    assert_eq!(range, [("a".to_string(), 1.0), ("b".to_string(), 2.5)]);
    let score: f64 = redis::cmd("ZSCORE")
        .arg("z")
        .arg("b")
        .query(&mut con)
        .unwrap();
    assert_eq!(score, 2.5);
}

#[test]
fn zsets_survive_a_restart() {
    let mut server = Server::start(&[]);
    {
        let mut c = Raw::connect(server.port);
        c.line("ZADD z 3 c 1 a 2 b");
        c.line("ZADD gone 1 a");
        c.line("DEL gone");
        assert_eq!(c.line("SAVE"), OK);
    }
    server.terminate();
    server.restart();
    let mut c = Raw::connect(server.port);
    assert_eq!(
        c.line("ZRANGE z 0 -1 WITHSCORES"),
        bulks(&["a", "1", "b", "2", "c", "3"])
    );
    assert_eq!(c.line("ZRANGEBYSCORE z (1 +inf"), bulks(&["b", "c"]));
    assert_eq!(c.line("ZRANK z c"), int(2));
    assert_eq!(c.line("EXISTS gone"), int(0));
}

#[test]
fn cluster_routing_sees_every_key_of_multi_key_zset_commands() {
    let (_server, mut c) = resp::start_cluster();
    let crossslot = error("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(c.line("ZUNIONSTORE d 2 {t}a {t}b"), crossslot);
    assert_eq!(c.line("ZINTER 2 {t}a b"), crossslot);
    assert_eq!(c.line("ZMPOP 2 {t}a b MIN"), crossslot);
    assert_eq!(c.line("ZRANGESTORE d {t}a 0 -1"), crossslot);
    c.line("ZADD {t}a 1 x");
    assert_eq!(c.line("ZUNIONSTORE {t}d 2 {t}a {t}b"), int(1));
    assert_eq!(
        c.line("COMMAND GETKEYS ZUNIONSTORE {t}d 2 {t}a {t}b"),
        bulks(&["{t}d", "{t}a", "{t}b"])
    );
}

#[test]
fn deleting_a_big_zset_is_o1_and_the_sweeper_reclaims_it() {
    let (_server, mut c) = start();
    let mut sent = 0;
    for chunk in 0..50 {
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in chunk * 1000..(chunk + 1) * 1000 {
            args.push(i.to_string());
            args.push(format!("member:{i}"));
        }
        c.send(&args);
        sent += 1;
    }
    for _ in 0..sent {
        assert_eq!(c.reply(), int(1000));
    }
    assert_eq!(c.line("ZCARD big"), int(50_000));
    let started = Instant::now();
    assert_eq!(c.line("DEL big"), int(1));
    println!("DEL of a 50000-member zset: {:?}", started.elapsed());
    assert_eq!(c.line("ZCARD big"), int(0));
    let deadline = Instant::now() + Duration::from_secs(120);
    while pending(&mut c) > 0 {
        assert!(Instant::now() < deadline, "sweeper too slow");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.line("ZADD big 1 m"), int(1));
    assert_eq!(c.line("ZRANGE big 0 -1"), bulks(&["m"]));
}

/// Byte for byte what redis-server 7.0.15 answers.
#[test]
fn command_info_matches_redis() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("COMMAND INFO zcard"),
        "*1\r\n*10\r\n$5\r\nzcard\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@sortedset\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    let info = c.line("COMMAND INFO zunionstore");
    assert!(info.contains("$11\r\nzunionstore\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n"), "{info}");
    assert!(info.contains("$6\r\nkeynum\r\n"), "{info}");
    assert_eq!(
        c.line("COMMAND INFO bzpopmin"),
        "*1\r\n*10\r\n$8\r\nbzpopmin\r\n:-3\r\n*4\r\n+write\r\n+noscript\r\n+blocking\r\n+fast\r\n:1\r\n:-2\r\n:1\r\n*4\r\n+@write\r\n+@sortedset\r\n+@fast\r\n+@blocking\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-2\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    assert_eq!(
        c.line("COMMAND INFO bzmpop"),
        "*1\r\n*10\r\n$6\r\nbzmpop\r\n:-5\r\n*3\r\n+write\r\n+blocking\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n*4\r\n+@write\r\n+@sortedset\r\n+@slow\r\n+@blocking\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n"
    );
}

/// Scores are printed as redis-server 7.0.15 prints them: `%.17g`.
#[test]
fn scores_are_printed_like_redis_7_0() {
    let (_server, mut c) = start();
    assert_eq!(c.line("ZADD dz 0.1 a 1.5 b"), int(2));
    assert_eq!(c.line("ZSCORE dz a"), bulk("0.10000000000000001"));
    assert_eq!(c.line("ZINCRBY dz 0.2 a"), bulk("0.30000000000000004"));
    assert_eq!(
        c.line("ZRANGE dz 0 -1 WITHSCORES"),
        bulks(&["a", "0.30000000000000004", "b", "1.5"])
    );
}

#[test]
fn a_pop_of_zero_members_still_checks_the_type() {
    let (_server, mut c) = start();
    c.line("RPUSH wl a");
    assert_eq!(
        c.line("ZPOPMIN wl 0"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(c.line("ZPOPMIN nokey 0"), "*0\r\n");
    c.line("ZADD z 1 a");
    assert_eq!(c.line("ZPOPMAX z 0"), "*0\r\n");
    assert_eq!(c.line("ZCARD z"), int(1));
}
