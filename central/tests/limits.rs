//! Issue 17, the limits on what the central holds and how it is run: caps per package and per
//! station (413), the free-space reserve (507 while queries answer), expiry of packages never
//! committed, a graceful stop on SIGTERM, token rotation and revocation, a given certificate.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, bytes, error_code, manifest, registry, run, to_value};
use serde_json::Value;
use vistoria_core::hashing::sha256_hex;
use vistoria_core::wire::{MediaKind, UploadState};

#[test]
fn package_caps_answer_413_naming_the_limit() {
    let server = Server::start_with(&[
        "--max-files-per-package",
        "3",
        "--max-package-bytes",
        "10000",
        "--max-outstanding-bytes",
        "15000",
        "--max-signature-bytes",
        "50",
    ]);
    let vehicles = registry();
    let query = server.query_vehicle(&vehicles[0]);
    let small = bytes(10, 1);
    let four: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("{i}.jpg"), small.clone()))
        .collect();
    let files: Vec<(&str, &[u8])> = four.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    let (status, body) =
        error_code(server.post_json("/packages", &to_value(&manifest(&query, "ECV-01", &files))));
    assert_eq!(
        (status, body["field"].as_str()),
        (413, Some("files")),
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--max-files-per-package")
    );

    let big = bytes(10_001, 2);
    let (status, body) = error_code(server.post_json(
        "/packages",
        &to_value(&manifest(&query, "ECV-01", &[("a.jpg", &big)])),
    ));
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--max-package-bytes")
    );

    // A `.p7s` the commit would read whole into memory.
    let p7s = bytes(51, 3);
    let mut m = manifest(&query, "ECV-01", &[("laudo.p7s", &p7s)]);
    m.files[0].kind = MediaKind::Signature;
    let (status, body) = error_code(server.post_json("/packages", &to_value(&m)));
    assert_eq!(
        (status, body["file"].as_str()),
        (413, Some("laudo.p7s")),
        "{body}"
    );
    assert_eq!(body["field"].as_str(), Some("files[0].size"));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--max-signature-bytes")
    );

    // Outstanding bytes per station: 8 000 + 8 000 > 15 000.
    let eight = bytes(8000, 4);
    let first = to_value(&manifest(&query, "ECV-01", &[("a.jpg", &eight)]));
    assert_eq!(server.post_json("/packages", &first).status(), 201);
    let query2 = server.query_vehicle(&vehicles[1]);
    let second = to_value(&manifest(&query2, "ECV-01", &[("b.jpg", &eight)]));
    let (status, body) = error_code(server.post_json("/packages", &second));
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--max-outstanding-bytes")
    );
    // A retry of the package already registered is not refused.
    assert_eq!(server.post_json("/packages", &first).status(), 200);
}

#[test]
fn a_full_disk_refuses_uploads_with_507_while_queries_answer() {
    let mut server = Server::start();
    let query = server.query_vehicle(&registry().remove(2));
    let data = bytes(5000, 5);
    let m = manifest(&query, "ECV-01", &[("rear.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);
    let (data_dir, token) = (server.data.clone(), server.token.clone());
    server.terminate(Duration::from_secs(30));
    // A reserve larger than any disk: the disk is "full".
    let full = Server::spawn(
        &data_dir,
        &["--disk-reserve-bytes", "18000000000000000000"],
        token,
    );
    let (status, body) = error_code(full.put_file(id, "rear.jpg", 0, data.clone()));
    assert_eq!(
        (status, body["code"].as_str()),
        (507, Some("insufficient_storage")),
        "{body}"
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--disk-reserve-bytes")
    );
    let query2 = full.query_vehicle(&registry().remove(3));
    let m2 = manifest(&query2, "ECV-01", &[("rear.jpg", &data)]);
    let (status, _) = error_code(full.post_json("/packages", &to_value(&m2)));
    assert_eq!(status, 507);
    // Queries, the clock and the state of what is stored still answer.
    assert_eq!(full.get("/time").send().unwrap().status(), 200);
    assert_eq!(
        full.get(&format!("/packages/{id}"))
            .send()
            .unwrap()
            .status(),
        200
    );
    drop(full);
}

#[test]
fn an_uncommitted_package_expires_with_its_partial_bytes() {
    let server = Server::start_with(&["--expire-uncommitted-secs", "3"]);
    let vehicles = registry();
    let data = bytes(4000, 6);
    let query = server.query_vehicle(&vehicles[4]);
    let stale = manifest(&query, "ECV-01", &[("rear.jpg", &data)]);
    let stale_id = stale.inspection_id.as_uuid();
    assert_eq!(
        server.post_json("/packages", &to_value(&stale)).status(),
        201
    );
    assert_eq!(
        server
            .put_file(stale_id, "rear.jpg", 0, data[..1500].to_vec())
            .status(),
        200
    );
    let partial_dir = server
        .data
        .join("media")
        .join("ECV-01")
        .join(stale_id.to_string());
    assert!(partial_dir.exists());
    // A committed package is never expired.
    let query2 = server.query_vehicle(&vehicles[5]);
    let done = manifest(&query2, "ECV-01", &[("rear.jpg", &data)]);
    let done_id = done.inspection_id.as_uuid();
    assert_eq!(
        server.post_json("/packages", &to_value(&done)).status(),
        201
    );
    assert_eq!(
        server
            .put_file(done_id, "rear.jpg", 0, data.clone())
            .status(),
        200
    );
    assert_eq!(server.commit(done_id).status(), 200);

    let started = Instant::now();
    loop {
        let status = server
            .get(&format!("/packages/{stale_id}"))
            .send()
            .unwrap()
            .status();
        if status == 404 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "package never expired"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(!partial_dir.exists(), "partial bytes left behind");
    assert_eq!(
        server
            .get(&format!("/packages/{done_id}"))
            .send()
            .unwrap()
            .status(),
        200
    );
    // The kiosk registers it again and delivers it.
    assert_eq!(
        server.post_json("/packages", &to_value(&stale)).status(),
        201
    );
}

#[test]
fn sigterm_stops_gracefully_and_the_partial_upload_resumes_after_restart() {
    let mut server = Server::start_with(&["--insecure-http"]);
    let query = server.query_vehicle(&registry().remove(6));
    let data = bytes(50_000, 7);
    let m = manifest(&query, "ECV-01", &[("rear.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);

    // A plain-HTTP upload that sends 20 000 bytes and then trickles.
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    let head = format!(
        "PUT /api/v1/packages/{id}/files/rear.jpg?offset=0 HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        server.addr(),
        server.token,
        data.len()
    );
    tcp.write_all(head.as_bytes()).unwrap();
    tcp.write_all(&data[..20_000]).unwrap();
    tcp.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));

    let status = server.terminate(Duration::from_secs(15));
    let status = status.expect("the server did not stop within 15 s of SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status}");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("shutting_down"), "{answer}");

    let (data_dir, token) = (server.data.clone(), server.token.clone());
    let again = Server::spawn(&data_dir, &[], token);
    let state: UploadState = again
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        state.files[0].received, 20_000,
        "the partial did not survive the stop"
    );
    let state: UploadState = again
        .put_file(id, "rear.jpg", 20_000, data[20_000..].to_vec())
        .json()
        .unwrap();
    assert_eq!(state.files[0].digests_match, Some(true));
    assert_eq!(again.commit(id).status(), 200);
    drop(server);
}

#[test]
fn rotate_and_revoke_refuse_the_old_token_at_once() {
    let server = Server::start();
    let data = server.data.to_str().unwrap().to_owned();
    let time = |token: &str| {
        server
            .client
            .get(server.api("/time"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
    };
    // Cached now.
    assert_eq!(time(&server.token), 200);
    assert_eq!(time(&server.token), 200);
    let new = run(&["station", "rotate", "ECV-01", "--data", &data])
        .trim()
        .to_owned();
    assert_ne!(new, server.token);
    assert_eq!(
        time(&server.token),
        401,
        "old token still accepted after rotate"
    );
    assert_eq!(time(&new), 200);
    run(&["station", "revoke", "ECV-01", "--data", &data]);
    assert_eq!(time(&new), 401, "token still accepted after revoke");
    let out = Command::new(common::BIN)
        .args(["station", "revoke", "ECV-99", "--data", &data])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ECV-99"));
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_uses_a_given_certificate_and_refuses_a_foreign_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    for name in ["a", "b"] {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &path(&format!("{name}.key")),
            "-out",
            &path(&format!("{name}.pem")),
            "-days",
            "30",
            "-subj",
            "/CN=central.example",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]);
    }
    openssl(&[
        "x509",
        "-in",
        &path("a.pem"),
        "-outform",
        "DER",
        "-out",
        &path("a.der"),
    ]);
    let der = std::fs::read(path("a.der")).unwrap();
    let server = Server::start_with(&["--cert", &path("a.pem"), "--key", &path("a.key")]);
    assert_eq!(
        server.cert_sha256.as_deref(),
        Some(sha256_hex(&der).as_str())
    );
    let body: Value = server.get("/time").send().unwrap().json().unwrap();
    assert!(body["now"].is_string());

    let data = tempfile::tempdir().unwrap();
    let out = Command::new(common::BIN)
        .args([
            "serve",
            "--data",
            data.path().to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .args(["--cert", &path("a.pem"), "--key", &path("b.key")])
        // Roots are required to serve; any folder with a certificate will do here.
        .args([
            "--icp-roots",
            dir.path().to_str().unwrap(),
            "--lcr-optional",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a key that is not the certificate's was accepted"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("a.pem"));
}

#[test]
fn the_data_folder_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("central");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    common::add_station(&data, "ECV-01");
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "data folder mode {mode:o}");
}
