//! Starts the real `vistoria-central` binary on 127.0.0.1 with port 0 and talks HTTPS to it,
//! trusting exactly the certificate whose SHA-256 it announced.

#![allow(dead_code, clippy::unwrap_used)]

pub mod backends;
pub mod browser;
pub mod evidence;
pub mod records;
pub mod services;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, Utc};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use uuid::Uuid;
use vistoria_core::domain::{
    Checklist, InspectionId, Interruption, InterruptionCause, Outcome, Plate, VehicleClass,
};
use vistoria_core::hashing::{Digests, sha256_hex};
use vistoria_core::wire::{ManifestFile, MediaKind, PackageManifest};

pub const BIN: &str = env!("CARGO_BIN_EXE_vistoria-central");

/// A client that trusts only the certificate with this SHA-256.
pub fn pinned_client(cert_sha256: &str) -> Client {
    // The kiosk's own pinning, so the tests exercise what stations use.
    let config = vistoria_core::central_client::tls_config(Some(cert_sha256)).unwrap();
    Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(&config))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Runs an offline subcommand and returns its stdout.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Adds a station to `data` and returns its token.
pub fn add_station(data: &Path, code: &str) -> String {
    run(&["station", "add", code, "--data", data.to_str().unwrap()])
        .trim()
        .to_owned()
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub cert_sha256: Option<String>,
    pub client: Client,
    pub token: String,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A fresh data folder with station `ECV-01`, served over TLS.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Same, with extra `serve` arguments.
    pub fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        let token = add_station(&data, "ECV-01");
        let mut server = Server::spawn(&data, extra, token);
        server._dir = Some(dir);
        server
    }

    /// Serves an existing data folder. Without `--icp-roots` in `extra`, the root of a test
    /// PKI kept in the data folder (`test-pki/`, no LCRs) is trusted.
    pub fn spawn(data: &Path, extra: &[&str], token: String) -> Server {
        Server::spawn_env(data, extra, token, &[])
    }

    /// [`Server::spawn`] with environment variables (the S3 credentials of `--blobs`).
    pub fn spawn_env(data: &Path, extra: &[&str], token: String, env: &[(&str, &str)]) -> Server {
        let mut trust: Vec<String> = Vec::new();
        if !extra.contains(&"--icp-roots") {
            let pki = data.join("test-pki");
            if !vistoria_core::signing::test_pki::TestPki::exists(&pki, false) {
                vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default())
                    .unwrap();
            }
            trust.push("--icp-roots".into());
            trust.push(pki.join("roots").to_str().unwrap().to_owned());
            trust.push("--lcr-optional".into());
        }
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data",
                data.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ])
            .args(&trust)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(data.join("server.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let first: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(data.join("server.log")).unwrap_or_default();
            panic!("{e}: {line:?}; server said:\n{log}")
        });
        let url = first["url"].as_str().unwrap().to_owned();
        let cert_sha256 = first["cert_sha256"].as_str().map(str::to_owned);
        let client = match &cert_sha256 {
            Some(pin) => pinned_client(pin),
            None => Client::new(),
        };
        Server {
            child,
            url,
            cert_sha256,
            client,
            token,
            data: data.to_owned(),
            _dir: None,
        }
    }

    /// Peak resident memory of the server process so far (KiB), from `/proc`.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit.
    pub fn terminate(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let started = std::time::Instant::now();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// The server's socket address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url.rsplit('/').next().unwrap().parse().unwrap()
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.api(path)).bearer_auth(&self.token)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.api(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn put_file(&self, id: Uuid, name: &str, offset: u64, bytes: Vec<u8>) -> Response {
        self.client
            .put(self.api(&format!("/packages/{id}/files/{name}?offset={offset}")))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .unwrap()
    }

    /// Like [`Server::put_file`], retrying while the server still finishes an earlier, cut
    /// upload of the same file (409 `upload_in_progress`).
    pub fn put_file_when_free(&self, id: Uuid, name: &str, offset: u64, bytes: &[u8]) -> Response {
        let started = std::time::Instant::now();
        loop {
            let response = self.put_file(id, name, offset, bytes.to_vec());
            let busy = response.status() == 409
                && response.headers().get("content-type").is_some()
                && started.elapsed().as_secs() < 10;
            if !busy {
                return response;
            }
            let body: Value = response.json().unwrap();
            if body["code"] != "upload_in_progress" {
                panic!("unexpected 409: {body}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Bytes the server holds of a file, once no upload of it is running.
    pub fn held_when_settled(&self, id: Uuid, index: usize) -> u64 {
        let started = std::time::Instant::now();
        let mut last = u64::MAX;
        loop {
            let state: Value = self
                .get(&format!("/packages/{id}"))
                .send()
                .unwrap()
                .json()
                .unwrap();
            let held = state["files"][index]["received"].as_u64().unwrap();
            if (held == last && held > 0) || started.elapsed().as_secs() > 10 {
                return held;
            }
            last = held;
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Registers `manifest`, uploads `files` and commits: the commit's response, or the first
    /// refusal on the way.
    pub fn deliver(&self, manifest: &PackageManifest, files: &[(String, Vec<u8>)]) -> Response {
        let created = self.post_json("/packages", &to_value(manifest));
        if !created.status().is_success() {
            return created;
        }
        let id = manifest.inspection_id.as_uuid();
        for (name, bytes) in files {
            let put = self.put_file(id, name, 0, bytes.clone());
            if !put.status().is_success() {
                return put;
            }
        }
        self.commit(id)
    }

    pub fn commit(&self, id: Uuid) -> Response {
        self.client
            .post(self.api(&format!("/packages/{id}/commit")))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
    }

    /// Queries a registry vehicle and returns the response body.
    pub fn query_vehicle(&self, vehicle: &Value) -> Value {
        let response = self.post_json(
            "/vehicles/query",
            &serde_json::json!({"plate": vehicle["plate"], "renavam": vehicle["renavam"]}),
        );
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// Queries a registry vehicle for inspection `inspection_id`, as a kiosk does: the answer
    /// carries the laudo number the central allocated to it.
    pub fn query_vehicle_for(&self, vehicle: &Value, inspection_id: Uuid) -> Value {
        let response = self.post_json(
            "/vehicles/query",
            &serde_json::json!({
                "plate": vehicle["plate"],
                "renavam": vehicle["renavam"],
                "inspection_id": inspection_id,
            }),
        );
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// `GET /v/{number}`, the public laudo page (no token): status, content type and HTML.
    pub fn laudo_page(&self, number: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(format!("{}/v/{number}", self.url))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, kind, response.text().unwrap())
    }

    /// Queries a registry vehicle as the station of `token`.
    pub fn query_vehicle_as(&self, token: &str, vehicle: &Value) -> Value {
        let response = self
            .client
            .post(self.api("/vehicles/query"))
            .bearer_auth(token)
            .json(&serde_json::json!({"plate": vehicle["plate"], "renavam": vehicle["renavam"]}))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// `report --json` lines, every stored byte re-read (`--recheck-after-days 0`); the totals
    /// line without its `rechecked` part (`operations.rs` tests that).
    pub fn report(&self) -> Vec<Value> {
        let out = run(&[
            "report",
            "--data",
            self.data.to_str().unwrap(),
            "--json",
            "--recheck-after-days",
            "0",
        ]);
        let mut lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let totals = lines.last_mut().unwrap().as_object_mut().unwrap();
        let rechecked = totals.remove("rechecked").unwrap();
        assert_eq!(rechecked["left"], false, "{out}");
        lines
    }
}

/// The demo registry's vehicles.
pub fn registry() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/vehicles.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// A manifest for a vehicle query, with the given files: an inspection the customer gave up
/// on (§12), which needs no laudo; [`evidence::Delivery`] makes a concluded one.
pub fn manifest(query: &Value, station: &str, files: &[(&str, &[u8])]) -> PackageManifest {
    let concluded_at: DateTime<Utc> = serde_json::from_value(query["queried_at"].clone()).unwrap();
    PackageManifest {
        inspection_id: InspectionId::new(),
        station: station.to_owned(),
        query_id: serde_json::from_value(query["query_id"].clone()).unwrap(),
        plate: Plate::parse(query["vehicle"]["plate"].as_str().unwrap()).unwrap(),
        concluded_at,
        outcome: Outcome::Interrupted(Interruption {
            cause: InterruptionCause::CustomerGaveUp,
            note: String::new(),
            at: concluded_at,
            unsigned_verdict: None,
        }),
        // The queried vehicle's class: a checklist of another class is refused (§13).
        checklist: Checklist::new(
            serde_json::from_value::<VehicleClass>(query["vehicle"]["class"].clone()).unwrap(),
        ),
        metadata: [("inspector".to_owned(), Value::from("Maria Souza"))]
            .into_iter()
            .collect(),
        audit_head: sha256_hex(b"audit"),
        audit_sequence: None,
        files: files
            .iter()
            .map(|(name, data)| {
                let d = Digests::of(data);
                ManifestFile {
                    name: (*name).to_owned(),
                    kind: MediaKind::Photo,
                    size: d.size,
                    md5: d.md5,
                    sha256: d.sha256,
                }
            })
            .collect(),
    }
}

pub fn to_value(manifest: &PackageManifest) -> Value {
    serde_json::to_value(manifest).unwrap()
}

/// Status and JSON body of an error response, which must carry a message for people.
pub fn error_code(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    (status, body)
}

/// The first registry vehicle matching `pred`.
pub fn vehicle_with(pred: impl Fn(&Value) -> bool) -> Value {
    registry().into_iter().find(|v| pred(v)).unwrap()
}

/// Whether a registry vehicle has an old (grey) plate.
pub fn is_old_plate(v: &Value) -> bool {
    v["plate"].as_str().unwrap().as_bytes()[4].is_ascii_digit()
}
