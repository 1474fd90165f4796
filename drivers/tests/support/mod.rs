//! Shared helpers for the drivers' end-to-end tests: re-running a test in a child process
//! with extra environment (edition 2024 forbids `set_var` without `unsafe`, and PKCS#11 and
//! PC/SC libraries read their configuration from the environment), and killing services on
//! drop.

#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Child, Command};

/// Set in the child so the test body runs there instead of re-spawning.
pub const CHILD_MARK: &str = "VISTORIA_TEST_CHILD";

/// Whether this process is the child run.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_MARK).is_some()
}

/// Re-runs test `name` of this test binary with `envs` added; panics if it fails.
pub fn run_in_child(name: &str, envs: &[(&str, String)]) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_MARK, "1")
        .envs(envs.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run of {name} failed:\n{stdout}\n{stderr}"
    );
}

/// Whether `program` can be run (`--version`/`-v`-less check: just spawnable).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Kills and reaps the child on drop.
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback TCP port (racy by nature, fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
