//! HyperLogLog commands against a real server, and a cross-check with a
//! real redis-server 7.0 (installed by `.ci/run`): the same PFADDs give
//! the same bytes and counts, and values move between the two by GET/SET.

mod common;
mod resp;

use common::real_redis::RealRedis;
use resp::{error, int, start, Raw, OK};

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("ascii"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con).expect("reply")
}

#[test]
fn pfadd_creates_a_sparse_hll_and_reports_changes() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("PFADD h"),
        int(1),
        "creating the key counts as a change"
    );
    assert_eq!(c.line("PFADD h"), int(0));
    assert_eq!(c.line("PFADD h a b c"), int(1));
    assert_eq!(c.line("PFADD h a"), int(0));
    assert_eq!(c.line("PFCOUNT h"), int(3));
    assert_eq!(c.line("PFDEBUG ENCODING h"), "+sparse\r\n");
    assert_eq!(c.line("TYPE h"), "+string\r\n");
    assert_eq!(c.line("OBJECT ENCODING h"), "$3\r\nraw\r\n");
}

#[test]
fn pfcount_of_several_keys_counts_the_union_without_writing() {
    let (_server, mut c) = start();
    assert_eq!(c.line("PFADD a 1 2 3"), int(1));
    assert_eq!(c.line("PFADD b 3 4"), int(1));
    let before = c.cmd_bytes(&["GET", "a"]);
    assert_eq!(c.line("PFCOUNT a b missing"), int(4));
    assert_eq!(c.cmd_bytes(&["GET", "a"]), before);
    assert_eq!(c.line("PFCOUNT missing"), int(0));
}

#[test]
fn pfmerge_unions_into_the_destination_and_keeps_it_sparse() {
    let (_server, mut c) = start();
    assert_eq!(c.line("PFADD a x y"), int(1));
    assert_eq!(c.line("PFADD b z"), int(1));
    assert_eq!(c.line("PFMERGE d a b"), OK);
    assert_eq!(c.line("PFCOUNT d"), int(3));
    assert_eq!(c.line("PFDEBUG ENCODING d"), "+sparse\r\n");
    assert_eq!(c.line("PFMERGE new"), OK);
    assert_eq!(c.line("PFCOUNT new"), int(0));
    assert_eq!(c.line("PFDEBUG TODENSE a"), int(1));
    assert_eq!(c.line("PFMERGE d a"), OK);
    assert_eq!(c.line("PFDEBUG ENCODING d"), "+dense\r\n");
    assert_eq!(c.line("PFCOUNT d"), int(3));
}

#[test]
fn non_hll_values_are_refused() {
    let (_server, mut c) = start();
    assert_eq!(c.line("SET s hello"), OK);
    assert_eq!(c.line("PFADD s a"), error(NOT_HLL));
    assert_eq!(c.line("PFCOUNT s"), error(NOT_HLL));
    assert_eq!(c.line("PFMERGE d s"), error(NOT_HLL));
    assert_eq!(c.line("RPUSH l a"), int(1));
    assert_eq!(
        c.line("PFADD l a"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    let corrupt = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe";
    assert_eq!(c.cmd(&[&b"SET"[..], b"bad", corrupt]), OK);
    assert_eq!(
        c.line("PFCOUNT bad"),
        "-INVALIDOBJ Corrupted HLL object detected\r\n"
    );
    assert_eq!(
        c.line("PFDEBUG GETREG missing"),
        error("ERR The specified key does not exist")
    );
    assert_eq!(c.line("PFSELFTEST"), OK);
}

#[test]
fn hll_sparse_max_bytes_is_a_config_option() {
    let (_server, mut c) = start();
    assert_eq!(
        c.line("CONFIG GET hll-sparse-max-bytes"),
        resp::bulks(&["hll-sparse-max-bytes", "3000"])
    );
    assert_eq!(c.line("CONFIG SET hll-sparse-max-bytes 30"), OK);
    let elements: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let mut args = vec!["PFADD", "h"];
    args.extend(elements.iter().map(String::as_str));
    assert_eq!(c.cmd(&args), int(1));
    assert_eq!(c.line("PFDEBUG ENCODING h"), "+dense\r\n");
}

/// Adds the same elements to Redstone and redis-server in batches and
/// compares the stored bytes and PFCOUNT after each batch, through the
/// sparse stage, the promotion and the dense stage; then moves values
/// both ways with GET/SET.
#[test]
fn values_and_counts_match_redis_server_byte_for_byte() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server is not installed: skipping the cross-check");
        return;
    };
    let mut redis = real.client();
    let (_server, mut c) = start();
    let mut next = 0u64;
    for batch in [1, 2, 5, 20, 100, 300, 1000, 5000, 20000] {
        let mut args = vec![b"PFADD".to_vec(), b"h".to_vec()];
        for _ in 0..batch {
            args.push(format!("element-{next}").into_bytes());
            next += 1;
        }
        let ours = c.int(&args);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let theirs: i64 = query(&mut redis, &refs);
        assert_eq!(ours, theirs, "PFADD after {next}");
        compare(&mut c, &mut redis, "h", next);
        let ours = c.int(&["PFCOUNT", "h"]);
        let theirs: i64 = query(&mut redis, &[b"PFCOUNT", b"h"]);
        assert_eq!(ours, theirs, "PFCOUNT after {next}");
        compare(&mut c, &mut redis, "h", next);
    }
    // A value written by redis-server works here, and the other way round.
    let _: () = query(&mut redis, &[b"PFADD", b"theirs", b"a", b"b"]);
    let value: Vec<u8> = query(&mut redis, &[b"GET", b"theirs"]);
    assert_eq!(c.cmd(&[&b"SET"[..], b"theirs", &value]), OK);
    assert_eq!(c.line("PFADD theirs c"), int(1));
    let _: i64 = query(&mut redis, &[b"PFADD", b"theirs", b"c"]);
    compare(&mut c, &mut redis, "theirs", 3);
    assert_eq!(c.line("PFMERGE theirs h"), OK);
    let ours = c.cmd_bytes(&["GET", "theirs"]);
    let value = &ours[ours.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1)..ours.len() - 2];
    let _: () = query(&mut redis, &[b"SET", b"copied", value]);
    let _: () = query(&mut redis, &[b"PFMERGE", b"theirs", b"h"]);
    let copied: Vec<u8> = query(&mut redis, &[b"GET", b"copied"]);
    let merged: Vec<u8> = query(&mut redis, &[b"GET", b"theirs"]);
    assert_eq!(copied, merged, "PFMERGE writes the same bytes");
    let theirs: i64 = query(&mut redis, &[b"PFCOUNT", b"copied"]);
    assert_eq!(c.int(&["PFCOUNT", "theirs"]), theirs);
}

fn compare(c: &mut Raw, redis: &mut redis::Connection, key: &str, added: u64) {
    let ours = c.cmd_bytes(&["GET", key]);
    let theirs: Vec<u8> = query(redis, &[b"GET", key.as_bytes()]);
    let mut expected = format!("${}\r\n", theirs.len()).into_bytes();
    expected.extend_from_slice(&theirs);
    expected.extend_from_slice(b"\r\n");
    assert!(ours == expected, "{key} differs after {added} elements");
}

/// With a small `hll-sparse-max-bytes` on both servers, the promotion to
/// dense happens at the same addition, with the same bytes before and
/// after; PFMERGE into a sparse destination of a dense source matches too.
#[test]
fn the_sparse_limit_promotes_like_redis_server() {
    let Some(real) = RealRedis::start() else {
        eprintln!("redis-server is not installed: skipping the cross-check");
        return;
    };
    let mut redis = real.client();
    let (_server, mut c) = start();
    let _: () = query(
        &mut redis,
        &[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"120"],
    );
    assert_eq!(c.line("CONFIG SET hll-sparse-max-bytes 120"), OK);
    for i in 0..80u64 {
        let element = format!("e{i}");
        let args: [&[u8]; 3] = [b"PFADD", b"small", element.as_bytes()];
        let ours = c.int(&args);
        let theirs: i64 = query(&mut redis, &args);
        assert_eq!(ours, theirs, "PFADD e{i}");
        compare(&mut c, &mut redis, "small", i + 1);
    }
    assert_eq!(c.line("PFDEBUG ENCODING small"), "+dense\r\n");
    for args in [
        &[&b"PFADD"[..], b"sparse", b"x", b"y"][..],
        &[b"PFMERGE", b"sparse", b"small"],
        &[b"PFMERGE", b"fresh", b"sparse", b"missing"],
    ] {
        let ours = c.cmd(args);
        let theirs: redis::Value = query(&mut redis, args);
        assert!(ours.starts_with(['+', ':']), "{ours}");
        assert_ne!(theirs, redis::Value::Nil);
    }
    compare(&mut c, &mut redis, "sparse", 82);
    compare(&mut c, &mut redis, "fresh", 82);
}
