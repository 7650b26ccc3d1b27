//! redis-py, a real client, against the real binary (in RESP2 and RESP3).
//! CI installs redis-py; without it the test says so and passes.

mod common;
use common::{has_redis_py, run_python_client, Server};

#[test]
fn redis_py_smoke_test_passes() {
    if !has_redis_py() {
        return;
    }
    let server = Server::start(&[]);
    run_python_client("redis_py_smoke.py", &[server.port.to_string()]);
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
    run_python_client(
        "redis_py_families.py",
        &[
            server.port.to_string(),
            redis.socket().display().to_string(),
        ],
    );
}
