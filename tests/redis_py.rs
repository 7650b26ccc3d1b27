//! redis-py, a real client, against the real binary (in RESP2 and RESP3).
//! CI installs redis-py; without it the test says so and passes.

mod common;
use common::Server;
use std::process::Command;

fn has_redis_py() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import redis"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("redis-py is not installed (pip install redis): skipped");
    }
    found
}

/// Runs `tests/clients/<script>` with `args`; fails with its output.
fn run_script(script: &str, args: &[String]) {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(path)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn redis_py_smoke_test_passes() {
    if !has_redis_py() {
        return;
    }
    let server = Server::start(&[]);
    run_script("redis_py_smoke.py", &[server.port.to_string()]);
}

/// Every data type family through redis-py, compared call by call with a
/// real redis-server (CI installs it; without it the test says so).
#[test]
fn redis_py_sees_the_same_results_as_from_redis_server() {
    if !has_redis_py() {
        return;
    }
    let Some(redis) = common::real_redis::RealRedis::start() else {
        eprintln!("redis-server is not installed: skipped");
        return;
    };
    let server = Server::start(&[]);
    run_script(
        "redis_py_families.py",
        &[
            server.port.to_string(),
            redis.socket().display().to_string(),
        ],
    );
}
