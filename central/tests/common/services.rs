//! The scale-out backends, real, on loopback: one PostgreSQL 15 (and one SeaweedFS) per test
//! suite, started by the first test that needs it with `installer/test-services.sh` and shared
//! by every test process through a lock in the target folder; each test gets its own database.
//! `cargo xtask test` stops them at the end.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

/// Where the suite's services live (shared by the test binaries of this crate).
pub fn services_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("services")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../installer/test-services.sh")
}

fn free_port() -> u16 {
    // A port the kernel just gave out and took back; the service binds it a moment later.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The URL of the suite's service `kind` (`pg`, `s3`): the running one if it answers, else one
/// started now. One process at a time decides, under an exclusive lock.
fn shared(kind: &str, answers: impl Fn(&str) -> bool) -> String {
    let dir = services_dir();
    fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join(format!("{kind}.lock"))).unwrap();
    let _guard = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .unwrap();
    let url_file = dir.join(format!("{kind}.url"));
    if let Ok(url) = fs::read_to_string(&url_file)
        && answers(url.trim())
    {
        return url.trim().to_owned();
    }
    let port = free_port();
    let out = Command::new("bash")
        .arg(script())
        .args([kind, "start", dir.to_str().unwrap(), &port.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "could not start the test {kind} server: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    fs::write(&url_file, &url).unwrap();
    url
}

fn pg_answers(url: &str) -> bool {
    let Ok(mut config) = url.parse::<postgres::Config>() else {
        return false;
    };
    config.connect_timeout(Duration::from_secs(2));
    config.connect(postgres::NoTls).is_ok()
}

/// A database of its own for one test, dropped with it.
pub struct TestDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl TestDatabase {
    /// A new empty database on the suite's PostgreSQL.
    pub fn new() -> TestDatabase {
        let admin = shared("pg", pg_answers);
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("unexpected admin URL {admin}"),
        };
        TestDatabase { admin, name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn s3_answers(url: &str) -> bool {
    // Any HTTP status (403 without credentials) means the gateway listens.
    let Some(addr) = url.strip_prefix("http://") else {
        return false;
    };
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok()
}

/// A place of its own in the suite's S3 bucket (a key prefix) for one test.
pub struct TestBucket {
    /// How to reach it.
    pub options: vistoria_central::storage::s3::S3Options,
}

impl TestBucket {
    /// A new, empty prefix of the suite's SeaweedFS bucket; waits until the bucket answers.
    pub fn new() -> TestBucket {
        use vistoria_central::storage::BlobStore as _;
        use vistoria_central::storage::s3::{S3Blobs, S3Location, S3Options};
        let endpoint = shared("s3", s3_answers);
        let options = S3Options {
            location: S3Location {
                bucket: "vistoria-test".into(),
                prefix: format!("t-{}", uuid::Uuid::new_v4().simple()),
            },
            endpoint: Some(endpoint),
            region: "us-east-1".into(),
            access_key_id: "vistoria-test".into(),
            secret_access_key: "vistoria-test-secret".into(),
        };
        // The gateway may listen a moment before the bucket exists.
        let blobs = S3Blobs::open(&options).unwrap();
        let probe = vistoria_central::storage::PackageKey::new("PROBE", uuid::Uuid::new_v4());
        let mut last = None;
        for _ in 0..60 {
            match blobs.append(&probe, "probe", 0).and_then(|w| w.finish()) {
                Ok(()) => {
                    blobs.delete_inspection(&probe).unwrap();
                    return TestBucket { options };
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("the test S3 bucket never answered: {last:?}");
    }
}
