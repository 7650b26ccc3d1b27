//! Runs the madsim suite (tests/madsim_*.rs) as part of `cargo test`: the
//! simulated build needs `--cfg madsim`, so it is a nested cargo invocation
//! with its own target directory (the first run compiles it, about two
//! minutes). A failing seed is printed with the command that replays it.
#![cfg(not(madsim))]

use std::process::Command;

/// Runs the madsim suite with `env` set; panics with the replay command on
/// failure.
fn run_madsim_suite(env: &[(&str, &str)]) {
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    let target_dir = format!("{manifest_dir}/target/madsim");
    let output = Command::new(env!("CARGO"))
        .current_dir(manifest_dir)
        .args(["test", "--test", "madsim_smoke"])
        .env("RUSTFLAGS", "--cfg madsim")
        .env("CARGO_TARGET_DIR", &target_dir)
        .envs(env.iter().copied())
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "madsim suite failed with {env:?}.\n\
         Replay a failing seed with:\n  \
         MADSIM_TEST_SEED=<seed printed below> RUSTFLAGS=\"--cfg madsim\" \
         CARGO_TARGET_DIR=target/madsim cargo test --test madsim_smoke\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(stdout.contains("test result: ok."), "{stdout}");
}

#[test]
fn madsim_suite_passes_for_many_seeds() {
    let seeds = std::env::var("MADSIM_TEST_NUM").unwrap_or_else(|_| "20".into());
    run_madsim_suite(&[("MADSIM_TEST_NUM", &seeds)]);
}

/// madsim runs the seed twice and fails if the two runs diverge.
#[test]
fn madsim_suite_is_deterministic() {
    run_madsim_suite(&[
        ("MADSIM_TEST_CHECK_DETERMINISM", "1"),
        ("MADSIM_TEST_SEED", "7"),
    ]);
}
