//! Several instances of the central on one PostgreSQL database and one S3 bucket (issue 21):
//! an upload started on one instance is resumed on another, a package committed through both
//! gets one laudo number and one receipt, signed with the one key every instance reads.

#![allow(clippy::unwrap_used)]

mod common;

use common::services::{TestBucket, TestDatabase};
use common::{Server, bytes, error_code, manifest, registry, to_value};
use serde_json::Value;
use vistoria_core::wire::{Receipt, UploadState};

/// The flags and environment of one central on the shared backends.
struct Backends {
    db: TestDatabase,
    bucket: TestBucket,
    key_file: tempfile::TempDir,
}

impl Backends {
    fn new() -> Backends {
        let key_file = tempfile::tempdir().unwrap();
        let key = key_file.path().join("receipts.key");
        common::run(&["key", "new", "--out", key.to_str().unwrap()]);
        Backends {
            db: TestDatabase::new(),
            bucket: TestBucket::new(),
            key_file,
        }
    }

    fn blobs_url(&self) -> String {
        let l = &self.bucket.options.location;
        format!("s3://{}/{}", l.bucket, l.prefix)
    }

    fn storage_args(&self) -> Vec<String> {
        vec![
            "--database".into(),
            self.db.url.clone(),
            "--blobs".into(),
            self.blobs_url(),
            "--s3-endpoint".into(),
            self.bucket.options.endpoint.clone().unwrap(),
        ]
    }

    fn env(&self) -> [(&'static str, &str); 2] {
        [
            (
                "AWS_ACCESS_KEY_ID",
                self.bucket.options.access_key_id.as_str(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.bucket.options.secret_access_key.as_str(),
            ),
        ]
    }

    /// `vistoria-central ARGS… --data DIR` on these backends.
    fn run(&self, args: &[&str], data: &std::path::Path) -> String {
        let out = std::process::Command::new(common::BIN)
            .args(args)
            .args(["--data", data.to_str().unwrap()])
            .args(self.storage_args())
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// One more instance, with a data folder of its own (certificate, LCR cache).
    fn instance(&self, token: &str) -> (Server, tempfile::TempDir) {
        let data = tempfile::tempdir().unwrap();
        let key = self.key_file.path().join("receipts.key");
        let mut args = self.storage_args();
        args.extend(["--key-file".into(), key.to_str().unwrap().to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::spawn_env(data.path(), &args, token.to_owned(), &self.env());
        (server, data)
    }
}

/// Station ECV-01 registered on fresh backends, and two instances serving them.
struct Pair {
    backends: Backends,
    /// Data folder of the offline commands (`station`, `report`).
    admin: tempfile::TempDir,
    a: Server,
    b: Server,
    _folders: [tempfile::TempDir; 2],
}

impl Pair {
    fn start() -> Pair {
        let backends = Backends::new();
        let admin = tempfile::tempdir().unwrap();
        let token = backends
            .run(&["station", "add", "ECV-01"], admin.path())
            .trim()
            .to_owned();
        let (a, da) = backends.instance(&token);
        let (b, db) = backends.instance(&token);
        Pair {
            backends,
            admin,
            a,
            b,
            _folders: [da, db],
        }
    }
}

#[test]
fn an_upload_started_on_one_instance_is_finished_on_another() {
    let Pair {
        backends,
        admin,
        a,
        b,
        _folders,
    } = Pair::start();

    let query = a.query_vehicle(&registry().remove(2));
    let film = bytes(3_000_000, 5);
    let m = manifest(&query, "ECV-01", &[("seg-0001.mp4", &film)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(a.post_json("/packages", &to_value(&m)).status(), 201);
    // The same manifest through the other instance is the same package.
    assert_eq!(b.post_json("/packages", &to_value(&m)).status(), 200);
    assert_eq!(
        a.put_file(id, "seg-0001.mp4", 0, film[..1_200_000].to_vec())
            .status(),
        200
    );
    // Instance B sees what A received and takes the rest.
    let state: UploadState = b
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(state.files[0].received, 1_200_000);
    assert_eq!(
        b.put_file(id, "seg-0001.mp4", 1_200_000, film[1_200_000..].to_vec())
            .status(),
        200
    );
    // Both commit at once: one receipt, one laudo number.
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| a.commit(id));
        let hb = s.spawn(|| b.commit(id));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    let mut receipts: Vec<Receipt> = Vec::new();
    for response in [ra, rb] {
        match response.status().as_u16() {
            200 => receipts.push(response.json().unwrap()),
            // The other instance was committing at that very moment: the station retries.
            409 => assert_eq!(
                error_code(response).1["code"].as_str(),
                Some("upload_in_progress")
            ),
            other => panic!("commit answered {other}"),
        }
    }
    assert!(!receipts.is_empty());
    let receipt: Receipt = a.commit(id).json().unwrap();
    let again: Receipt = b.commit(id).json().unwrap();
    assert_eq!(receipt, again);
    assert!(receipts.iter().all(|r| *r == receipt));
    // Signed with the shared key: both instances publish it.
    let key_a: Value = a.get("/time").send().unwrap().json().unwrap();
    let key_b: Value = b.get("/time").send().unwrap().json().unwrap();
    assert_eq!(key_a["server_key"], key_b["server_key"]);
    assert!(vistoria_central::keys::verify_receipt(
        &receipt,
        key_a["server_key"].as_str().unwrap()
    ));
    // `report` re-reads the bytes from the bucket and finds them whole.
    let report = backends.run(
        &["report", "--json", "--recheck-after-days", "0"],
        admin.path(),
    );
    let first: Value = serde_json::from_str(report.lines().next().unwrap()).unwrap();
    assert_eq!(first["inspection_id"], id.to_string());
    assert_eq!(first["verification"], "verified", "{report}");
    let totals: Value = serde_json::from_str(report.lines().last().unwrap()).unwrap();
    assert_eq!(totals["rechecked"]["inspections"], 1, "{report}");
}

#[test]
fn s3_without_credentials_says_which_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["report", "--json", "--data", dir.path().to_str().unwrap()])
        .args([
            "--blobs",
            "s3://midia",
            "--s3-endpoint",
            "http://127.0.0.1:9",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_token_revoked_anywhere_stops_working_on_every_instance() {
    let Pair {
        backends,
        admin,
        a,
        b,
        _folders,
    } = Pair::start();
    // Both instances have the token in their caches.
    for server in [&a, &b] {
        assert_eq!(server.get("/time").send().unwrap().status(), 200);
        assert!(server.query_vehicle(&registry().remove(3))["vehicle"].is_object());
    }
    backends.run(&["station", "revoke", "ECV-01"], admin.path());
    let started = std::time::Instant::now();
    for server in [&a, &b] {
        loop {
            let status = server
                .post_json("/vehicles/query", &serde_json::json!({"plate": "ABC1234"}))
                .status();
            if status == 401 {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "still accepted after {:?}",
                started.elapsed()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

#[test]
fn the_detran_api_reads_the_bucket_through_any_instance_and_a_revocation_holds_at_once() {
    let Pair {
        backends,
        admin,
        a,
        b,
        _folders,
    } = Pair::start();
    let created = backends.run(
        &["user", "add", "--role", "detran", "--name", "aud", "--json"],
        admin.path(),
    );
    let created: Value = serde_json::from_str(created.trim()).unwrap();
    let auditor = created["token"].as_str().unwrap().to_owned();
    let query = a.query_vehicle(&registry().remove(4));
    let film = bytes(2_500_000, 9);
    let m = manifest(&query, "ECV-01", &[("seg-0001.mp4", &film)]);
    let response = a.deliver(&m, &[("seg-0001.mp4".to_owned(), film.clone())]);
    assert_eq!(response.status(), 200);
    let get = |server: &Server, path: &str| {
        server
            .client
            .get(server.api(path))
            .bearer_auth(&auditor)
            .send()
            .unwrap()
    };
    // Delivered through A, found and downloaded (from the bucket) through B.
    let page: Value = get(&b, "/detran/inspections").json().unwrap();
    assert_eq!(
        page["items"][0]["inspection_id"],
        m.inspection_id.to_string()
    );
    let path = format!(
        "/detran/inspections/ECV-01/{}/files/seg-0001.mp4",
        m.inspection_id
    );
    let response = get(&b, &path);
    assert_eq!(response.status(), 200);
    let got = response.bytes().unwrap();
    assert_eq!(
        vistoria_core::hashing::sha256_hex(&got),
        vistoria_core::hashing::sha256_hex(&film)
    );
    // Revoked in the database: the very next request to either instance is refused, with no
    // wait, since people's tokens are never cached.
    backends.run(&["user", "revoke", "aud"], admin.path());
    for server in [&a, &b] {
        let (status, body) = error_code(get(server, "/detran/inspections"));
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    }
}
