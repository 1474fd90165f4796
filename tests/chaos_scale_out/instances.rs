//! The central as issue 21 runs it: `vistoria-central serve` instances, each with a data folder
//! of its own (TLS certificate, LCR cache) but one PostgreSQL database, one S3 bucket, one
//! receipts key and one certificate, so the kiosk's pin holds whichever instance answers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{announcement, central_bin};
use crate::services::{BUCKET, S3_KEY};

/// What every instance and offline command shares.
pub struct Backends {
    pub database: String,
    pub s3_endpoint: String,
    /// Key prefix of this test in the bucket.
    pub prefix: String,
    pub key_file: PathBuf,
    /// The test PKI the central trusts (`simulate --pki` signs with it).
    pub pki: PathBuf,
}

impl Backends {
    fn storage_args(&self) -> Vec<String> {
        vec![
            "--database".into(),
            self.database.clone(),
            "--blobs".into(),
            format!("s3://{BUCKET}/{}", self.prefix),
            "--s3-endpoint".into(),
            self.s3_endpoint.clone(),
        ]
    }

    fn command(&self, args: &[&str], data: &Path) -> Command {
        let mut cmd = Command::new(central_bin());
        cmd.args(args)
            .arg("--data")
            .arg(data)
            .args(self.storage_args())
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1);
        cmd
    }

    /// An offline command (`station add`, `report`) on the shared backends; its stdout.
    pub fn run(&self, args: &[&str], data: &Path) -> String {
        let out = self.command(args, data).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// One running (or killed) `serve` on a fixed loopback port.
pub struct Instance {
    child: Option<Child>,
    data: PathBuf,
    pub addr: SocketAddr,
    pub cert_sha256: String,
    /// Times it ended by itself (not killed by the test).
    pub exited: Vec<String>,
}

impl Instance {
    /// Starts `serve` with `data` as its folder, on a free port.
    pub fn start(backends: &Backends, data: &Path) -> Instance {
        let mut instance = Instance {
            child: None,
            data: data.to_path_buf(),
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_sha256: String::new(),
            exited: Vec::new(),
        };
        instance.spawn(backends);
        instance
    }

    fn spawn(&mut self, backends: &Backends) {
        let key = backends.key_file.to_str().unwrap().to_owned();
        let roots = backends.pki.join("roots");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.data.with_extension("log"))
            .unwrap();
        for _ in 0..50 {
            let mut child = backends
                .command(&["serve"], &self.data)
                .args(["--addr", &self.addr.to_string(), "--key-file", &key])
                .arg("--icp-roots")
                .arg(&roots)
                .arg("--lcr-optional")
                .stdout(Stdio::piped())
                .stderr(log.try_clone().unwrap())
                .spawn()
                .unwrap();
            // A start waits for PostgreSQL and S3 while they are down: give it time.
            if let Some(announced) = announcement(&mut child, Duration::from_secs(60)) {
                let url = announced["url"].as_str().unwrap();
                self.addr = url.rsplit_once("//").unwrap().1.parse().unwrap();
                self.cert_sha256 = announced["cert_sha256"].as_str().unwrap().to_owned();
                self.child = Some(child);
                return;
            }
            // The port may still be held by the killed instance: try again shortly.
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "vistoria-central did not start on {} (see {})",
            self.addr,
            self.data.with_extension("log").display()
        );
    }

    /// SIGKILL, as a crash or a pulled cable would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts again on the same port and folder.
    pub fn restart(&mut self, backends: &Backends) {
        self.kill();
        self.spawn(backends);
    }

    /// Whether it ended by itself since the last look (it must not: a restart of the database
    /// or an outage of the object store is something an instance rides out); recorded, and
    /// started again so the run goes on.
    pub fn check_alive(&mut self, backends: &Backends) {
        let ended = match &mut self.child {
            Some(child) => child.try_wait().unwrap(),
            None => return,
        };
        if let Some(status) = ended {
            self.exited.push(status.to_string());
            self.child = None;
            self.spawn(backends);
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
