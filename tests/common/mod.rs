//! The real central server as a child process, for end-to-end tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The JSON line `serve` prints once it listens (its URL and certificate), read from `child`'s
/// piped stdout within `timeout`; `None` when it did not come (the server failed to start).
pub fn announcement(child: &mut Child, timeout: Duration) -> Option<serde_json::Value> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(timeout).unwrap_or_default();
    serde_json::from_str(&line).ok()
}

/// The `vistoria-central` binary next to this package's binary, built on demand (a plain
/// `cargo test -p vistoria` does not build other packages' binaries).
pub fn central_bin() -> PathBuf {
    let dir = Path::new(env!("CARGO_BIN_EXE_vistoria"))
        .parent()
        .unwrap()
        .to_path_buf();
    let bin = dir.join("vistoria-central");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "vistoria-central",
                "--bin",
                "vistoria-central",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building vistoria-central failed");
    }
    bin
}

/// CPF of the test PKI's inspector (the tests that sign laudos in software sign as them).
pub const SIM_INSPECTOR_CPF: &str = "11144477735";

/// The test PKI in `dir` (made once): the central trusts its `roots/`. `simulate --pki`
/// makes its demo SoftHSM2 token there instead (a new root in the same place).
pub fn sim_pki(dir: &Path) -> PathBuf {
    if !vistoria_core::signing::test_pki::TestPki::exists(dir, false) {
        let options = vistoria_core::signing::test_pki::Options {
            name: Some("VISTORIADOR SIMULADO"),
            ..Default::default()
        };
        vistoria_core::signing::test_pki::make(dir, SIM_INSPECTOR_CPF, &options).unwrap();
    }
    dir.to_path_buf()
}

/// A running `vistoria-central serve`.
pub struct Central {
    child: Option<Child>,
    pub data: PathBuf,
    /// The test PKI the central trusts (`--icp-roots PKI/roots`); `simulate --pki` takes it.
    pub pki: PathBuf,
    pub url: String,
    pub cert_sha256: Option<String>,
    addr: String,
    /// More `serve` flags (limits).
    flags: Vec<String>,
}

impl Central {
    /// Starts on a free loopback port.
    pub fn start(data: &Path) -> Central {
        Central::start_with(data, &[])
    }

    /// Starts on a free loopback port with more `serve` flags.
    pub fn start_with(data: &Path, flags: &[&str]) -> Central {
        // Kept in the data folder, so it goes with the test's temporary folder.
        let pki = sim_pki(&data.join("test-pki"));
        let mut central = Central {
            child: None,
            data: data.to_path_buf(),
            pki,
            url: String::new(),
            cert_sha256: None,
            addr: "127.0.0.1:0".to_owned(),
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        };
        central.spawn();
        central
    }

    fn spawn(&mut self) {
        for _ in 0..50 {
            let mut child = Command::new(central_bin())
                .args(["serve", "--data"])
                .arg(&self.data)
                .args(["--addr", &self.addr])
                .arg("--icp-roots")
                .arg(self.pki.join("roots"))
                .arg("--lcr-optional")
                .args(&self.flags)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            if let Some(announcement) = announcement(&mut child, Duration::from_secs(30)) {
                self.url = announcement["url"].as_str().unwrap().to_owned();
                self.cert_sha256 = announcement["cert_sha256"].as_str().map(str::to_owned);
                self.addr = self.url.rsplit_once("//").unwrap().1.to_owned();
                self.child = Some(child);
                return;
            }
            // The port may still be held by the killed server: try again shortly.
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("vistoria-central did not start on {}", self.addr);
    }

    /// SIGKILL, as a crash or a pulled cable would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts again on the same port and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `station add CODE`: the new token.
    pub fn add_station(&self, code: &str) -> String {
        let out = Command::new(central_bin())
            .args(["station", "add", code, "--data"])
            .arg(&self.data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// `report --json` after re-reading every stored byte: the per-inspection lines and the
    /// totals line (without its `rechecked` part).
    pub fn report(&self) -> (Vec<serde_json::Value>, serde_json::Value) {
        let out = Command::new(central_bin())
            .args(["report", "--json", "--recheck-after-days", "0", "--data"])
            .arg(&self.data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut totals = lines.pop().unwrap();
        // Every stored byte was re-read; the totals are compared without that part.
        let rechecked = totals.as_object_mut().unwrap().remove("rechecked").unwrap();
        assert_eq!(rechecked["left"], false);
        (lines, totals)
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        self.kill();
    }
}
