//! End-to-end: the offline commands (`report`, `purge` with the five-year retention of §9) and a
//! custom vehicle registry.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::{Server, bytes, manifest, registry, to_value};
use serde_json::{Value, json};

#[test]
fn purge_removes_only_what_is_older_than_five_years() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(5));
    let data = bytes(100, 6);
    let m = manifest(&query, "ECV-01", &[("a.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    server.post_json("/packages", &to_value(&m));
    server.put_file(id, "a.jpg", 0, data);
    assert_eq!(server.commit(id).status(), 200);
    let dir = server.data.to_str().unwrap().to_owned();

    // Today nothing is older than five years.
    let out = common::run(&["purge", "--data", &dir]);
    assert_eq!(out.trim(), r#"{"purged":0,"dry_run":false}"#);
    // Four years and eleven months on, still kept (§9).
    let soon = (Utc::now() + Duration::days(365 * 5 - 40)).to_rfc3339();
    let out = common::run(&["purge", "--data", &dir, "--now", &soon]);
    assert!(out.ends_with("{\"purged\":0,\"dry_run\":false}\n"), "{out}");
    // Past five years: a dry run lists it and removes nothing.
    let later = (Utc::now() + Duration::days(365 * 5 + 5)).to_rfc3339();
    let out = common::run(&["purge", "--data", &dir, "--dry-run", "--now", &later]);
    assert!(out.contains(&id.to_string()), "{out}");
    assert_eq!(server.report().last().unwrap()["inspections"], 1);
    let out = common::run(&["purge", "--data", &dir, "--now", &later]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["removed"], "inspection");
    assert_eq!(lines[0]["inspection_id"], id.to_string());
    assert!(
        !server
            .data
            .join("media")
            .join("ECV-01")
            .join(id.to_string())
            .exists()
    );
    assert_eq!(server.report().last().unwrap()["inspections"], 0);
}

#[test]
fn report_notices_media_altered_after_the_receipt() {
    let server = Server::start();
    let query = server.query_vehicle(&registry().remove(9));
    let data = bytes(4096, 7);
    let m = manifest(&query, "ECV-01", &[("a.jpg", &data), ("b.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    server.post_json("/packages", &to_value(&m));
    server.put_file(id, "a.jpg", 0, data.clone());
    server.put_file(id, "b.jpg", 0, data.clone());
    assert_eq!(server.commit(id).status(), 200);
    assert_eq!(
        server.report().pop().unwrap(),
        json!({"inspections": 1, "verified": 1, "rejected": 0, "duplicates_stored": 0})
    );

    let stored = server
        .data
        .join("media")
        .join("ECV-01")
        .join(id.to_string())
        .join("b.jpg");
    let mut altered = std::fs::read(&stored).unwrap();
    altered[0] ^= 1;
    std::fs::write(&stored, altered).unwrap();
    let lines = server.report();
    assert_eq!(lines[0]["verification"], "corrupted");
    assert!(lines[0]["problems"][0].as_str().unwrap().contains("b.jpg"));
    assert_eq!(
        lines[1],
        json!({"inspections": 1, "verified": 0, "rejected": 1, "duplicates_stored": 0})
    );
}

#[test]
fn a_custom_registry_replaces_the_demo_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vehicles.json");
    let vehicle = json!({"plate": "MTX2B26", "renavam": "00000000019", "make_model": "VW/GOL 1.0",
        "year": 2020, "colour": "BRANCA", "class": "passenger_car", "chassis": "9BWAA05U0DT000001",
        "city": "CUIABÁ/MT"});
    assert_eq!(
        vistoria_core::domain::Renavam::parse("00000000019")
            .unwrap()
            .as_str(),
        "00000000019"
    );
    std::fs::write(
        &path,
        serde_json::to_string(&vec![vehicle.clone()]).unwrap(),
    )
    .unwrap();
    let server = Server::start_with(&["--registry", path.to_str().unwrap()]);
    assert_eq!(server.query_vehicle(&vehicle)["vehicle"], vehicle);
    let demo = registry().remove(0);
    let response = server.post_json(
        "/vehicles/query",
        &json!({"plate": demo["plate"], "renavam": demo["renavam"]}),
    );
    assert_eq!(response.status(), 404);
}
