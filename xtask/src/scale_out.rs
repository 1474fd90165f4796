//! The benchmarks of the central's scale-out backends (`bench central --backend pg-s3`,
//! `bench search`): PostgreSQL 15 and SeaweedFS's S3 gateway, started on loopback for the run
//! (`installer/test-services.sh`, as the tests start them) in a scratch folder and stopped
//! after it.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// PostgreSQL and S3 running for one benchmark; stopped when dropped.
pub struct Backends {
    dir: std::path::PathBuf,
    /// `--database`.
    pub database: String,
    /// `--s3-endpoint`.
    pub s3_endpoint: String,
}

/// The credentials `test-services.sh` gives its S3 gateway.
pub const S3_CREDENTIALS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "vistoria-test"),
    ("AWS_SECRET_ACCESS_KEY", "vistoria-test-secret"),
];

/// The bucket `test-services.sh` makes.
pub const BUCKET: &str = "vistoria-test";

fn service(dir: &Path, kind: &str, port: u16) -> Result<String> {
    let out = Command::new("bash")
        .arg("installer/test-services.sh")
        .args([kind, "start"])
        .arg(dir)
        .arg(port.to_string())
        .output()
        .with_context(|| format!("starting the {kind} service"))?;
    if !out.status.success() {
        bail!(
            "test-services.sh {kind} start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// A base port with `count` free ports from it, on loopback.
fn free_ports(count: u16) -> Result<u16> {
    for _ in 0..50 {
        let base = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if base.checked_add(count).is_none() {
            continue;
        }
        if (base..base + count).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no run of {count} free loopback ports")
}

impl Backends {
    /// Starts PostgreSQL, and the S3 gateway when `with_s3`, in `dir`.
    pub fn start(dir: &Path, with_s3: bool) -> Result<Backends> {
        std::fs::create_dir_all(dir)?;
        let mut backends = Backends {
            dir: dir.to_path_buf(),
            database: String::new(),
            s3_endpoint: String::new(),
        };
        backends.database = service(dir, "pg", free_ports(1)?)?;
        if with_s3 {
            backends.s3_endpoint = service(dir, "s3", free_ports(13)?)?;
        }
        Ok(backends)
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        let stopped = Command::new("bash")
            .arg("installer/test-services.sh")
            .arg("stop")
            .arg(&self.dir)
            .status();
        if !stopped.is_ok_and(|s| s.success()) {
            eprintln!(
                "xtask: could not stop the benchmark's services in {}",
                self.dir.display()
            );
        }
    }
}
