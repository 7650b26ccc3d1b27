//! redis-py, a real client, against the real binary (in RESP2 and RESP3).
//! CI installs redis-py; without it the test says so and passes.

mod common;
use common::Server;
use std::process::Command;

#[test]
fn redis_py_smoke_test_passes() {
    let has_redis_py = Command::new("python3")
        .args(["-c", "import redis"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_redis_py {
        eprintln!("redis-py is not installed (pip install redis): skipped");
        return;
    }
    let server = Server::start(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/redis_py_smoke.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(server.port.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
