//! This test's own PostgreSQL 15 cluster and SeaweedFS S3 gateway, on free loopback ports in
//! its temporary folder. Not the suite's shared ones (`central/tests/common/services.rs`):
//! this test kills them, and other tests use those at the same time. Started with the same
//! script (`installer/test-services.sh`), so they are set up exactly as the suite's; where
//! PostgreSQL or `weed` is missing the script names the package and the test fails with it
//! (`installer/setup-dev.sh` installs both).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The bucket `test-services.sh` creates.
pub const BUCKET: &str = "vistoria-test";
/// Its credentials (`test-services.sh`'s `s3.json`).
pub const S3_KEY: (&str, &str) = ("vistoria-test", "vistoria-test-secret");

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("installer/test-services.sh")
}

/// A port the kernel just gave out and took back.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `test-services.sh ARGS…`: its stdout, or the test fails with its stderr.
fn run_script(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "test-services.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The newest PostgreSQL's binaries, as the script picks them.
fn pg_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| {
                    let v = e.file_name().to_str()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL não instalado (apt-get install postgresql-15; installer/setup-dev.sh)")
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// SIGKILL to a process that is not our child.
fn sigkill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// A PostgreSQL command as the cluster's owner (`postgres` when the test runs as root, since
/// initdb refuses root; the script makes the cluster that way).
fn as_pg(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// The test's own PostgreSQL cluster, with the database `vistoria`.
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    /// `postgres://postgres@127.0.0.1:PORT/vistoria`.
    pub url: String,
}

impl Postgres {
    pub fn start(dir: &Path) -> Postgres {
        let port = free_port();
        let admin = run_script(&["pg", "start", dir.to_str().unwrap(), &port.to_string()]);
        let url = format!("{}/vistoria", admin.rsplit_once('/').unwrap().0);
        let pg = Postgres {
            dir: dir.to_path_buf(),
            port,
            url,
        };
        pg.psql_db("postgres", "CREATE DATABASE vistoria");
        pg
    }

    /// Kills the server as a crash would (`pg_ctl stop -m immediate`: no shutdown checkpoint,
    /// crash recovery at the next start) and starts it again on the same port.
    pub fn crash_and_restart(&self) {
        let status = as_pg(&pg_bin().join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("pg/data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop failed");
        run_script(&[
            "pg",
            "start",
            self.dir.to_str().unwrap(),
            &self.port.to_string(),
        ]);
    }

    /// One SQL statement on `vistoria`; its rows, `|`-separated.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_db("vistoria", sql)
    }

    fn psql_db(&self, db: &str, sql: &str) -> String {
        let out = Command::new(pg_bin().join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// The test's own `weed mini` (S3 gateway on `port`, its other services on the next 12).
pub struct ObjectStore {
    dir: PathBuf,
    port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl ObjectStore {
    pub fn start(dir: &Path) -> ObjectStore {
        // The script uses PORT..PORT+12: take a run the kernel hands out free at its start.
        let port = loop {
            let port = free_port();
            if port < 65000 && (1..=12).all(|i| TcpListener::bind(("127.0.0.1", port + i)).is_ok())
            {
                break port;
            }
        };
        let endpoint = run_script(&["s3", "start", dir.to_str().unwrap(), &port.to_string()]);
        ObjectStore {
            dir: dir.to_path_buf(),
            port,
            endpoint,
        }
    }

    fn pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.dir.join("s3/pid")).ok()?;
        pid.trim().parse().ok()
    }

    /// SIGKILL to every SeaweedFS service at once; returns once the process is gone.
    pub fn kill(&self) {
        let pid = self.pid().expect("weed is not running");
        sigkill(pid);
        let started = Instant::now();
        // Not our child (the script started it): gone once /proc no longer shows it alive.
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "weed survived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(self.dir.join("s3/pid"));
    }

    /// Starts it again on the same ports and data.
    pub fn restart(&self) {
        let dir = self.dir.to_str().unwrap();
        let port = self.port.to_string();
        // Its ports may take a moment to be free again after the kill.
        for attempt in 0.. {
            let out = Command::new("bash")
                .arg(script())
                .args(["s3", "start", dir, &port])
                .output()
                .unwrap();
            if out.status.success() {
                return;
            }
            if let Some(pid) = self.pid() {
                sigkill(pid);
            }
            assert!(
                attempt < 5,
                "weed did not start again: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Every object (not folder) under `prefix` of the bucket, with its size, through the
    /// filer's JSON listing (the S3 API would need signed requests).
    pub fn objects(&self, prefix: &str) -> Vec<(String, u64)> {
        let mut found = Vec::new();
        let mut folders = vec![format!("/buckets/{BUCKET}/{prefix}")];
        while let Some(folder) = folders.pop() {
            let mut last = String::new();
            loop {
                let url = format!(
                    "http://127.0.0.1:{}{folder}/?limit=1000&lastFileName={last}",
                    self.port + 3
                );
                let out = Command::new("curl")
                    .args(["-sS", "-H", "Accept: application/json", &url])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{url}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let listing: serde_json::Value = match serde_json::from_slice(&out.stdout) {
                    Ok(v) => v,
                    // A folder that does not exist answers 404 with no JSON.
                    Err(_) => break,
                };
                let entries = listing["Entries"].as_array().cloned().unwrap_or_default();
                for entry in &entries {
                    let path = entry["FullPath"].as_str().unwrap().to_owned();
                    // Go's os.ModeDir.
                    if entry["Mode"].as_u64().unwrap_or(0) & (1 << 31) != 0 {
                        folders.push(path);
                    } else {
                        let size = entry["FileSize"].as_u64().unwrap_or(0);
                        let key = path
                            .strip_prefix(&format!("/buckets/{BUCKET}/"))
                            .unwrap()
                            .to_owned();
                        found.push((key, size));
                    }
                }
                if !listing["ShouldDisplayLoadMore"].as_bool().unwrap_or(false) {
                    break;
                }
                last = listing["LastFileName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
            }
        }
        found.sort();
        found
    }
}

/// Stops both (whichever was started in `dir`) when dropped, before the folder goes.
pub struct StopServices(pub PathBuf);

impl Drop for StopServices {
    fn drop(&mut self) {
        // The script's SIGTERM was seen to leave a `weed mini` running (twice in five runs),
        // its folder about to go: this one is ours to kill outright.
        if let Ok(pid) = std::fs::read_to_string(self.0.join("s3/pid"))
            && let Ok(pid) = pid.trim().parse()
        {
            sigkill(pid);
        }
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.0.to_str().unwrap()])
            .status();
    }
}
