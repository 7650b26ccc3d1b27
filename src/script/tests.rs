use super::*;
use quickcheck::{Arbitrary, Gen};

fn scripting() -> Scripting {
    Scripting::new(Arc::new(Running::default())).expect("a Lua state")
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

/// Runs `body` with `keys` and `argv`, its commands answered by `answer`;
/// the reply and the commands it called.
fn eval_with(
    body: &str,
    keys: &[&str],
    argv: &[&str],
    answer: impl Fn(&[Bytes]) -> Frame,
) -> (Frame, Vec<Vec<String>>) {
    let mut scripting = scripting();
    let sha = match scripting.load(&Bytes::copy_from_slice(body.as_bytes())) {
        Ok(sha) => sha,
        Err(reply) => return (reply, Vec::new()),
    };
    let to_bytes = |items: &[&str]| -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    };
    let mut called = Vec::new();
    let reply = scripting.run(
        Target::Script(&sha),
        &to_bytes(keys),
        &to_bytes(argv),
        7,
        1,
        &mut |args, _| {
            called.push(
                args.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            );
            answer(&args)
        },
    );
    (reply, called)
}

fn eval(body: &str) -> Frame {
    eval_with(body, &[], &[], |_| Frame::ok()).0
}

fn error_text(reply: &Frame) -> String {
    match reply {
        Frame::Error(text) => String::from_utf8_lossy(text).into_owned(),
        other => panic!("not an error: {other:?}"),
    }
}

#[test]
fn sha1hex_names_scripts_as_redis_does() {
    assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        sha1hex(b"Pizza & Mandolino"),
        "74822d82031af7493c20eefa13bd07ec4fada82f"
    );
    assert_eq!(
        eval("return redis.sha1hex('Pizza & Mandolino')"),
        bulk("74822d82031af7493c20eefa13bd07ec4fada82f")
    );
}

#[test]
fn lua_values_become_replies_as_in_redis() {
    assert_eq!(eval("return 'hello'"), bulk("hello"));
    assert_eq!(eval("return 100.5"), Frame::Integer(100));
    assert_eq!(eval("return -3.9"), Frame::Integer(-3));
    assert_eq!(eval("return true"), Frame::Integer(1));
    assert_eq!(eval("return false"), Frame::Null);
    assert_eq!(eval("return nil"), Frame::Null);
    assert_eq!(eval("return {ok='fine'}"), Frame::simple("fine"));
    assert_eq!(eval("return {ok='a\\r\\nb'}"), Frame::simple("a  b"));
    assert_eq!(
        eval("return {err='ERR this is an error'}"),
        Frame::error("ERR this is an error")
    );
    assert_eq!(
        eval("return {1, 2, 'three', {4}, nil, 6}"),
        Frame::Array(vec![
            Frame::Integer(1),
            Frame::Integer(2),
            bulk("three"),
            Frame::Array(vec![Frame::Integer(4)])
        ])
    );
    assert_eq!(eval("return _G"), Frame::Array(vec![]));
    assert_eq!(
        eval("return redis.status_reply('PONG')"),
        Frame::simple("PONG")
    );
    assert_eq!(
        eval("return redis.error_reply('My Error')"),
        Frame::error("My Error")
    );
    assert_eq!(
        eval("return redis.error_reply('-CODE x y')"),
        Frame::error("CODE x y")
    );
    // A metatable's __index is not consulted (raw reads, as Redis).
    assert_eq!(
        eval("local a = {}; setmetatable(a, {__index=function() error('no') end}) return a"),
        Frame::Array(vec![])
    );
}

#[test]
fn a_table_holding_itself_ends_in_an_error_not_a_crash() {
    let reply = eval("local t = {}; t[1] = t; return t");
    let mut depth = 0;
    let mut at = &reply;
    while let Frame::Array(items) = at {
        depth += 1;
        at = &items[0];
    }
    assert_eq!(depth, MAX_REPLY_DEPTH);
    assert_eq!(at, &Frame::error("ERR reached lua stack limit"));
}

#[test]
fn replies_become_lua_values_as_in_redis() {
    let answer = |args: &[Bytes]| match &args[1][..] {
        b"int" => Frame::Integer(42),
        b"nil" => Frame::Null,
        b"status" => Frame::simple("QUEUED"),
        b"error" => Frame::error("WRONGTYPE bad"),
        b"map" => Frame::Map(vec![(bulk("f"), Frame::Double(1.5))]),
        b"bool" => Frame::Boolean(true),
        _ => Frame::Array(vec![bulk("a"), Frame::NullArray]),
    };
    let script = "local out = {}
        out[1] = redis.call('x', 'int') + 1
        out[2] = tostring(redis.call('x', 'nil'))
        out[3] = redis.call('x', 'status').ok
        out[4] = redis.pcall('x', 'error').err
        local map = redis.call('x', 'map')
        out[5] = map[1] .. '=' .. map[2]
        out[6] = redis.call('x', 'bool')
        local array = redis.call('x', 'array')
        out[7] = array[1] .. tostring(array[2])
        return out";
    let (reply, _) = eval_with(script, &[], &[], answer);
    assert_eq!(
        reply,
        Frame::Array(vec![
            Frame::Integer(43),
            bulk("false"),
            bulk("QUEUED"),
            bulk("WRONGTYPE bad"),
            bulk("f=1.5"),
            Frame::Integer(1),
            bulk("afalse"),
        ])
    );
}

#[test]
fn keys_argv_and_command_arguments_reach_the_commands() {
    let (reply, called) = eval_with(
        "redis.call('set', KEYS[1], ARGV[1]); redis.call('incrby', KEYS[2], 10, 2.5, -0.0)
         return #KEYS + #ARGV",
        &["a{t}", "b{t}"],
        &["v"],
        |_| Frame::ok(),
    );
    assert_eq!(reply, Frame::Integer(3));
    assert_eq!(
        called,
        vec![
            vec!["set", "a{t}", "v"],
            vec!["incrby", "b{t}", "10", "2.5", "-0"],
        ]
    );
    let (reply, called) = eval_with("return redis.pcall('get', {})", &[], &[], |_| Frame::ok());
    assert_eq!(
        reply,
        Frame::error("ERR Lua redis lib command arguments must be strings or integers")
    );
    assert!(called.is_empty());
}

#[test]
fn errors_name_the_script_and_the_line() {
    let (reply, _) = eval_with(
        "local x = 1\nredis.call('lpush', 'k', 'v')",
        &[],
        &[],
        |_| Frame::error("WRONGTYPE Operation against a key holding the wrong kind of value"),
    );
    let sha = sha1hex(b"local x = 1\nredis.call('lpush', 'k', 'v')");
    assert_eq!(
        error_text(&reply),
        format!(
            "WRONGTYPE Operation against a key holding the wrong kind of value script: {sha}, on @user_script:2."
        )
    );
    assert!(error_text(&eval("error('boom')")).starts_with("ERR user_script:1: boom script: "));
    assert!(error_text(&eval("error({err='MY code'})")).starts_with("MY code script: "));
    assert!(
        error_text(&eval("return redis.sha1hex()")).starts_with("ERR wrong number of arguments")
    );
    assert!(error_text(&eval("redis.log(9, 'x')")).starts_with("ERR Invalid debug level."));
    assert_eq!(
        error_text(&eval("return 1 +")),
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    );
}

#[test]
fn scripts_cannot_change_globals_or_libraries() {
    let denied = |body: &str| {
        let text = error_text(&eval(body));
        assert!(
            text.contains("Attempt to modify a readonly table"),
            "{body}: {text}"
        );
    };
    denied("a = 10");
    denied("_G = {}");
    denied("redis = nil");
    denied("redis.call = function() return 1 end");
    denied("string.upper = nil");
    denied("setmetatable(_G, {})");
    denied("rawset(_G, 'a', 1)");
    denied("local g = getmetatable(_G); g.__index = {}");
    denied("loadstring('b = 1')()");
    for missing in [
        "os",
        "io",
        "loadfile",
        "dofile",
        "debug",
        "require",
        "undefined_name",
    ] {
        let text = error_text(&eval(&format!("return {missing}")));
        assert!(
            text.contains(&format!(
                "Script attempted to access nonexistent global variable '{missing}'"
            )),
            "{text}"
        );
    }
    // Local state is fine, and nothing leaks into the next run.
    assert_eq!(eval("local t = {}; t.x = 5; return t.x"), Frame::Integer(5));
    assert_eq!(eval("return string.upper('abc')"), bulk("ABC"));
}

#[test]
fn the_bit_library_is_luabitop() {
    let cases = [
        ("bit.tobit(0xffffffff)", Frame::Integer(-1)),
        ("bit.tobit(2^32 + 5)", Frame::Integer(5)),
        ("bit.tobit(2.5) + bit.tobit(3.5)", Frame::Integer(6)),
        ("bit.bnot(0)", Frame::Integer(-1)),
        ("bit.band(0x12345678, 0xff)", Frame::Integer(0x78)),
        ("bit.bor(1, 2, 4, 8)", Frame::Integer(15)),
        ("bit.bxor(0xa5, 0xff)", Frame::Integer(0x5a)),
        ("bit.lshift(1, 31)", Frame::Integer(-2_147_483_648)),
        ("bit.lshift(1, 33)", Frame::Integer(2)),
        ("bit.rshift(-1, 28)", Frame::Integer(15)),
        ("bit.arshift(-256, 8)", Frame::Integer(-1)),
        ("bit.rol(0x12345678, 12)", Frame::Integer(0x4567_8123)),
        ("bit.ror(0x12345678, 12)", Frame::Integer(0x6781_2345)),
        ("bit.bswap(0x12345678)", Frame::Integer(0x7856_3412)),
        ("bit.tohex(1)", bulk("00000001")),
        ("bit.tohex(-1, -4)", bulk("FFFF")),
        ("bit.tohex(0x12345678, 2)", bulk("78")),
    ];
    for (expression, expected) in cases {
        assert_eq!(
            eval(&format!("return {expression}")),
            expected,
            "{expression}"
        );
    }
    let text = error_text(&eval("bit.band = nil"));
    assert!(
        text.contains("Attempt to modify a readonly table"),
        "{text}"
    );
}

/// On a thread with the stack the server gives its threads.
fn with_server_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(test)
        .expect("a thread")
        .join()
        .expect("the test passes");
}

#[test]
fn cjson_encodes_and_decodes_as_lua_cjson() {
    with_server_stack(cjson_cases);
}

fn cjson_cases() {
    let cases = [
        (
            "cjson.encode({1, 'a/b', true, {}, 0.1, 1e20, 2^53})",
            "[1,\"a\\/b\",true,{},0.1,1e+20,9.007199254741e+15]",
        ),
        ("cjson.encode({[1] = 'x', [3] = 'z'})", "[\"x\",null,\"z\"]"),
        ("cjson.encode({k = {1, 2}})", "{\"k\":[1,2]}"),
        (
            "cjson.encode('\\1\\31\\127\\t')",
            "\"\\u0001\\u001f\\u007f\\t\"",
        ),
        (
            "cjson.encode(cjson.decode('[\"\\\\ud83d\\\\ude00\", null, -1.5e3]'))",
            "[\"\u{1F600}\",null,-1500]",
        ),
        (
            "cjson.decode(' {\"a\" : [true, false]} ').a[2] == false",
            "true",
        ),
    ];
    for (expression, expected) in cases {
        assert_eq!(
            eval(&format!("return tostring({expression})")),
            bulk(expected),
            "{expression}"
        );
    }
    for (body, error) in [
        (
            "cjson.encode({[11] = 1})",
            "Cannot serialise table: excessively sparse array",
        ),
        (
            "cjson.encode(0/0)",
            "Cannot serialise number: must not be NaN or Inf",
        ),
        (
            "local t = {}; t[1] = t; cjson.encode(t)",
            "Cannot serialise, excessive nesting (1001)",
        ),
        (
            "cjson.decode(string.rep('[', 1001))",
            "Found too many nested data structures (1001) at character 1001",
        ),
        (
            "cjson.decode('[1 2]')",
            "Expected comma or array end but found T_NUMBER at character 4",
        ),
        (
            "cjson.decode('{1:2}')",
            "Expected object key string but found T_NUMBER at character 2",
        ),
        (
            "cjson.decode('\"abc')",
            "Expected value but found unexpected end of string at character 5",
        ),
    ] {
        let text = error_text(&eval(body));
        assert!(
            text.starts_with(&format!("ERR user_script:1: {error}")),
            "{body}: {text}"
        );
    }
}

#[test]
fn cmsgpack_packs_as_lua_cmsgpack_and_reads_back() {
    with_server_stack(cmsgpack_cases);
}

fn cmsgpack_cases() {
    let hex = |expression: &str| {
        eval(&format!(
            "local e = cmsgpack.pack({expression}) local h = '' \
             for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"
        ))
    };
    for (expression, expected) in [
        ("0.1", "cb3fb999999999999a"),
        ("1.5", "ca3fc00000"),
        ("-1099511627776", "d3ffffff0000000000"),
        (
            "127, 128, 65535, 65536, 2^32",
            "7fcc80cdffffce00010000cf0000000100000000",
        ),
        ("-32, -33, -129, -32769", "e0d0dfd1ff7fd2ffff7fff"),
        ("'abc', nil, true, false", "a3616263c0c3c2"),
        ("{1, 2}, {a = 1}", "92010281a16101"),
        ("string.rep('x', 32)", &format!("d920{}", "78".repeat(32))),
    ] {
        assert_eq!(hex(expression), bulk(expected), "{expression}");
    }
    // Tables nested 16 deep are written as nil.
    let deep = "local t = {} local top = t for i = 1, 20 do t[1] = {} t = t[1] end";
    let reply = eval(&format!("{deep} local e = cmsgpack.pack(top) return #e"));
    assert_eq!(reply, Frame::Integer(17));
    assert_eq!(
        eval("local a, b = cmsgpack.unpack(cmsgpack.pack({x = {1, 'y'}}, -7.25)) return {a.x[2], tostring(b)}"),
        Frame::Array(vec![bulk("y"), bulk("-7.25")])
    );
    for (data, error) in [
        ("'\\205\\1'", "Missing bytes in input."),
        ("'\\193'", "Bad data format in input."),
        ("string.rep('\\145', 2000)", "Bad data format in input."),
    ] {
        let text = error_text(&eval(&format!("return cmsgpack.unpack({data})")));
        assert!(
            text.starts_with(&format!("ERR user_script:1: {error}")),
            "{data}: {text}"
        );
    }
}

#[test]
fn struct_packs_c_layouts() {
    let hex = |format: &str, args: &str| {
        eval(&format!(
            "local p = struct.pack('{format}', {args}) local h = '' \
             for i = 1, #p do h = h .. string.format('%02x', string.byte(p, i)) end return h"
        ))
    };
    assert_eq!(hex(">I2<I2", "513, 513"), bulk("02010102"));
    assert_eq!(hex("!4 b i", "1, -2"), bulk("01000000feffffff"));
    assert_eq!(hex("s c2", "'ab', 'xyz'"), bulk("6162007879"));
    assert_eq!(
        eval("return {struct.unpack('>i2 s', struct.pack('>i2 s', -5, 'hi'))}"),
        Frame::Array(vec![Frame::Integer(-5), bulk("hi"), Frame::Integer(6)])
    );
    // c0 reads as many bytes as the value before it says, and eats it.
    assert_eq!(
        eval("return {struct.unpack('b c0', struct.pack('b c0', 3, 'abc'))}"),
        Frame::Array(vec![bulk("abc"), Frame::Integer(5)])
    );
    assert_eq!(eval("return struct.size('!8 b d')"), Frame::Integer(16));
    let text = error_text(&eval("return struct.unpack('i4', 'ab')"));
    assert!(
        text.contains("bad argument #2 to 'unpack' (data string too short)"),
        "{text}"
    );
}

#[test]
fn unknown_scripts_and_kill_without_a_script() {
    let mut scripting = scripting();
    let reply = scripting.run(
        Target::Script(&"0".repeat(40)),
        &[],
        &[],
        1,
        1,
        &mut |_, _| Frame::ok(),
    );
    assert_eq!(
        reply,
        Frame::error("NOSCRIPT No matching script. Please use EVAL.")
    );
    let sha = scripting
        .load(&Bytes::from_static(b"return 1"))
        .expect("loads");
    assert!(scripting.exists(sha.as_bytes()));
    assert!(scripting.exists(sha.to_uppercase().as_bytes()));
    scripting.flush().expect("flushes");
    assert!(!scripting.exists(sha.as_bytes()));
    assert!(matches!(
        Running::default().kill(false),
        Err(KillRefused::NotBusy)
    ));
}

#[test]
fn busy_is_for_other_clients_past_the_threshold() {
    let running = Running::default();
    assert!(!running.busy_for(2, 10_000, || 0));
    running.start(1, 1000, None);
    assert!(!running.busy_for(1, 10_000, || 0), "its own commands");
    assert!(!running.busy_for(2, 1100, || 5000));
    assert!(running.busy_for(2, 6000, || 5000));
    assert!(matches!(running.kill(true), Err(KillRefused::OtherKind)));
    assert!(running.kill(false).is_ok());
    running.note_write();
    assert!(matches!(running.kill(false), Err(KillRefused::Unkillable)));
    running.stop();
    assert!(!running.busy_for(2, 10_000, || 0));
}

/// A reply made of what converts both ways unchanged under one protocol:
/// RESP2 types whose integers fit a Lua number exactly, plus booleans and
/// doubles under RESP3, where a null can only be the whole reply (inside
/// an array it is a Lua nil: the array's end, as in Redis).
#[derive(Clone, Debug)]
struct Convertible(Frame, Protocol);

impl Arbitrary for Convertible {
    fn arbitrary(g: &mut Gen) -> Convertible {
        fn frame(g: &mut Gen, depth: usize, resp3: bool) -> Frame {
            let text = |g: &mut Gen| Bytes::from(Vec::<u8>::arbitrary(g));
            let line = |g: &mut Gen| {
                let words: String = String::arbitrary(g)
                    .chars()
                    .filter(|c| !matches!(c, '\r' | '\n'))
                    .collect();
                Bytes::from(format!("CODE {words}"))
            };
            let kinds = if depth > 2 { 7 } else { 8 };
            match u8::arbitrary(g) % kinds {
                0 => Frame::Bulk(text(g)),
                1 => Frame::Integer(i64::from(i32::arbitrary(g)) * i64::from(i16::arbitrary(g))),
                2 if !resp3 || depth == 0 => Frame::Null,
                3 => Frame::Error(line(g)),
                4 => Frame::Simple(line(g)),
                5 if resp3 => Frame::Boolean(bool::arbitrary(g)),
                6 if resp3 => Frame::Double(f64::from(i32::arbitrary(g)) / 1024.0),
                7 => Frame::Array(
                    (0..usize::arbitrary(g) % 4)
                        .map(|_| frame(g, depth + 1, resp3))
                        .collect(),
                ),
                _ => Frame::Bulk(text(g)),
            }
        }
        let protocol = match bool::arbitrary(g) {
            true => Protocol::Resp3,
            false => Protocol::Resp2,
        };
        Convertible(frame(g, 0, protocol == Protocol::Resp3), protocol)
    }
}

quickcheck::quickcheck! {
    /// A command's reply returned by a script as it came is the reply
    /// itself (`return redis.pcall(...)`), at the top level.
    fn a_reply_returned_as_is_round_trips(reply: Convertible) -> bool {
        let lua = Lua::new();
        let Convertible(frame, protocol) = reply;
        let value = reply_to_lua(&lua, &frame, protocol).expect("converts");
        lua_to_reply(&value, 0, protocol) == frame
    }
}

fn fcall(scripting: &mut Scripting, name: &str, keys: &[&str], argv: &[&str]) -> Frame {
    let bytes = |items: &[&str]| -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    };
    scripting.run(
        Target::Function { name, command: &[] },
        &bytes(keys),
        &bytes(argv),
        7,
        1,
        &mut |_, _| Frame::ok(),
    )
}

#[test]
fn a_function_gets_its_keys_and_arguments_as_parameters_and_no_globals_of_them() {
    let mut scripting = scripting();
    let code = "#!lua name=lib\nlocal function n(t) return #t end\nredis.register_function('f', function(keys, args) return {keys[1], args[2], n(keys)} end)\nredis.register_function('g', function() return KEYS end)";
    assert_eq!(
        scripting.load_library(Bytes::from(code), false, true),
        Ok("lib".to_string())
    );
    assert_eq!(
        fcall(&mut scripting, "F", &["k"], &["a", "b"]),
        Frame::Array(vec![bulk("k"), bulk("b"), Frame::Integer(1)])
    );
    assert!(error_text(&fcall(&mut scripting, "g", &[], &[]))
        .contains("Script attempted to access nonexistent global variable 'KEYS'"));
    assert_eq!(
        fcall(&mut scripting, "nope", &[], &[]),
        Frame::error("ERR Function not found")
    );
}

#[test]
fn a_library_top_level_sees_only_the_library_api_and_scripts_keep_theirs() {
    let mut scripting = scripting();
    let load = |scripting: &mut Scripting, body: &str| {
        scripting.load_library(Bytes::from(format!("#!lua name=l\n{body}")), true, true)
    };
    assert_eq!(
        load(&mut scripting, "redis.call('ping')"),
        Err("Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'".into())
    );
    assert_eq!(
        load(&mut scripting, "local s = string"),
        Err("Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'".into())
    );
    assert!(load(&mut scripting, "redis.log(redis.LOG_DEBUG, redis.REDIS_VERSION) redis.register_function('f', function() return string.rep('a', 2) end)").is_ok());
    assert_eq!(fcall(&mut scripting, "f", &[], &[]), bulk("aa"));
    // SCRIPT FLUSH leaves functions; FUNCTION FLUSH leaves scripts.
    let sha = scripting
        .load(&Bytes::from_static(b"return 1"))
        .expect("loads");
    scripting.flush().expect("flushes");
    assert_eq!(fcall(&mut scripting, "f", &[], &[]), bulk("aa"));
    let sha2 = scripting
        .load(&Bytes::from_static(b"return 2"))
        .expect("loads");
    scripting.flush_functions().expect("flushes");
    assert!(!scripting.exists(sha.as_bytes()) && scripting.exists(sha2.as_bytes()));
    assert_eq!(
        fcall(&mut scripting, "f", &[], &[]),
        Frame::error("ERR Function not found")
    );
}

static HAND_OFFS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn a_long_script_hands_its_worker_off_again_and_again() {
    use std::sync::atomic::Ordering;
    // One hand-off can fail (the new thread may start after this one took
    // the worker back), so a script running on keeps trying.
    let running = Running::new(|| {
        HAND_OFFS.fetch_add(1, Ordering::Relaxed);
    });
    running.start(1, 1_700_000_000_000, None);
    let until = std::time::Instant::now() + std::time::Duration::from_millis(350);
    while std::time::Instant::now() < until {
        assert!(running.check().is_ok());
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    running.stop();
    // At 5 ms, then every 100 ms: 4 in 350 ms (3 on a slow machine).
    assert!(HAND_OFFS.load(Ordering::Relaxed) >= 3, "{HAND_OFFS:?}");
}
