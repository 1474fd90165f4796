//! End-to-end: central time, certificate pinning, authentication, rate limit, plain HTTP.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use common::{BIN, Server, add_station, error_code, manifest, registry, to_value};
use serde_json::{Value, json};

#[test]
fn central_time_and_pinned_certificate_survive_restart() {
    let server = Server::start();
    let pin = server.cert_sha256.clone().unwrap();
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    assert_eq!(pin.len(), 64);
    // 2d: the kiosk takes its time from here.
    let body: Value = server.get("/time").send().unwrap().json().unwrap();
    let now = body["now"].as_str().unwrap();
    assert_eq!(now.len(), "2026-11-23T14:05:07.123Z".len(), "{now}");
    assert!(now.ends_with('Z'));
    let parsed: DateTime<Utc> = now.parse().unwrap();
    assert!((Utc::now() - parsed).num_seconds().abs() < 5);
    let key = base64::engine::general_purpose::STANDARD
        .decode(body["server_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);

    // A client pinned to another certificate refuses the connection.
    let wrong = common::pinned_client(&"0".repeat(64));
    assert!(
        wrong
            .get(server.api("/time"))
            .bearer_auth(&server.token)
            .send()
            .is_err()
    );

    // Same data folder, new process: same certificate and same receipt key.
    let data = server.data.clone();
    let token = server.token.clone();
    let keep = server;
    let again = Server::spawn(&data, &[], token);
    assert_eq!(again.cert_sha256.as_deref(), Some(pin.as_str()));
    let body2: Value = again.get("/time").send().unwrap().json().unwrap();
    assert_eq!(body2["server_key"], body["server_key"]);
    drop(keep);
}

#[test]
fn missing_or_wrong_token_is_401() {
    let server = Server::start();
    let response = server.client.get(server.api("/time")).send().unwrap();
    let (status, body) = error_code(response);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let response = server
        .client
        .get(server.api("/time"))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    let (status, body) = error_code(response);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let response = server
        .client
        .post(server.api("/vehicles/query"))
        .header("authorization", "Basic abc")
        .json(&json!({"plate": "ABC1234"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    // A manifest-sized body with a wrong token: the refusal is read, not a reset connection
    // (a station would take a reset for an unreachable central and retry for hours).
    let big = json!({"metadata": {"audit_trail": "x".repeat(900 * 1024)}});
    for _ in 0..3 {
        let response = server
            .client
            .post(server.api("/packages"))
            .bearer_auth("token-errado")
            .json(&big)
            .send()
            .unwrap();
        let (status, body) = error_code(response);
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    }
}

#[test]
fn rate_limit_answers_429() {
    let server = Server::start_with(&["--rate-burst", "3", "--rate-per-second", "0.01"]);
    for _ in 0..3 {
        assert_eq!(server.get("/time").send().unwrap().status(), 200);
    }
    let response = server.get("/time").send().unwrap();
    assert!(response.headers().get("retry-after").is_some());
    let (status, body) = error_code(response);
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
}

#[test]
fn plain_http_only_on_loopback_when_asked() {
    let server = Server::start_with(&["--insecure-http"]);
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert_eq!(server.cert_sha256, None);
    assert_eq!(server.get("/time").send().unwrap().status(), 200);

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--data",
            dir.path().to_str().unwrap(),
            "--addr",
            "0.0.0.0:0",
            "--insecure-http",
            "--icp-roots",
            server.data.join("test-pki/roots").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn stations_see_only_their_own_inspections() {
    let server = Server::start();
    let other_token = add_station(&server.data, "ECV-02");
    let query = server.query_vehicle(&registry().remove(6));
    let m = manifest(&query, "ECV-01", &[]);
    let id = m.inspection_id.as_uuid();
    server.post_json("/packages", &to_value(&m));
    let response = server
        .client
        .get(server.api(&format!("/inspections/{id}")))
        .bearer_auth(&other_token)
        .send()
        .unwrap();
    let (status, body) = error_code(response);
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("inspection_not_found"))
    );
    // And cannot use another station's query.
    let mut foreign = manifest(&query, "ECV-02", &[]);
    foreign.query_id = m.query_id;
    let response = server
        .client
        .post(server.api("/packages"))
        .bearer_auth(&other_token)
        .json(&to_value(&foreign))
        .send()
        .unwrap();
    assert_eq!(response.status(), 422);
}

/// Issue 17: a station learns nothing about another station's inspection ids. Ids are the
/// stations' own, so the central keys packages by (station, id): ECV-02 registering ECV-01's id
/// gets the same 201 as for any new id, and the two packages never touch each other.
#[test]
fn another_stations_inspection_id_answers_as_an_unknown_one() {
    let server = Server::start();
    let other_token = add_station(&server.data, "ECV-02");
    let data = vec![7u8; 512];
    let first = server.query_vehicle(&registry().remove(6));
    let m = manifest(&first, "ECV-01", &[("rear.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    assert_eq!(server.post_json("/packages", &to_value(&m)).status(), 201);

    let second = server.query_vehicle_as(&other_token, &registry().remove(7));
    let mut theirs = manifest(&second, "ECV-02", &[("rear.jpg", &data)]);
    theirs.inspection_id = m.inspection_id;
    // The same kind of package with an id nobody used, for a query of its own.
    let third = server.query_vehicle_as(&other_token, &registry().remove(8));
    let unknown = manifest(&third, "ECV-02", &[("rear.jpg", &data)]);
    let register = |body: &vistoria_core::wire::PackageManifest| {
        server
            .client
            .post(server.api("/packages"))
            .bearer_auth(&other_token)
            .json(&to_value(body))
            .send()
            .unwrap()
    };
    let (taken, fresh) = (register(&theirs), register(&unknown));
    assert_eq!(
        (taken.status().as_u16(), fresh.status().as_u16()),
        (201, 201)
    );
    // ECV-02's bytes land in its own package; ECV-01's package is untouched.
    let put = server
        .client
        .put(server.api(&format!("/packages/{id}/files/rear.jpg?offset=0")))
        .bearer_auth(&other_token)
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .unwrap();
    assert_eq!(put.status(), 200);
    let ours: Value = server
        .get(&format!("/packages/{id}"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(ours["files"][0]["received"], 0);
    assert!(
        server
            .data
            .join("media/ECV-02")
            .join(id.to_string())
            .join(".partial/rear.jpg")
            .exists()
    );
}
