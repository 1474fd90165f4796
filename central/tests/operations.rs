//! End-to-end: the offline commands (`report`, `purge` with the five-year retention of §9, which
//! `serve` also runs on a schedule) and a custom vehicle registry.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use chrono::{Duration, Utc};
use common::{Server, bytes, manifest, registry, to_value};
use serde_json::{Value, json};
use vistoria_central::storage::retention::{Retention as _, RetentionRun};
use vistoria_central::storage::sqlite::SqliteMetadata;

/// The summary line `purge` ends with.
fn summary(out: &str) -> Value {
    serde_json::from_str(out.lines().last().unwrap()).unwrap()
}

/// Runs of the retention purge recorded in the data folder's metadata, newest first (`serve`
/// records one at start too).
fn retention_runs(data: &Path) -> Vec<RetentionRun> {
    SqliteMetadata::open(&data.join("central.sqlite"))
        .unwrap()
        .retention_runs(100)
        .unwrap()
}

/// The runs of the `purge` command.
fn command_runs(data: &Path) -> Vec<RetentionRun> {
    let mut runs = retention_runs(data);
    runs.retain(|r| r.origin == "comando purge");
    runs
}

/// Delivers one inspection and returns its id and laudo number.
fn delivered(server: &Server, vehicle: &Value) -> (uuid::Uuid, String) {
    let query = server.query_vehicle(vehicle);
    let data = bytes(100, 6);
    let m = manifest(&query, "ECV-01", &[("a.jpg", &data)]);
    let id = m.inspection_id.as_uuid();
    server.post_json("/packages", &to_value(&m));
    server.put_file(id, "a.jpg", 0, data);
    let committed = server.commit(id);
    assert_eq!(committed.status(), 200);
    let receipt: Value = committed.json().unwrap();
    (id, receipt["laudo_number"].as_str().unwrap().to_owned())
}

#[test]
fn purge_removes_only_what_is_older_than_five_years() {
    let server = Server::start();
    let (id, number) = delivered(&server, &registry().remove(5));
    assert_eq!(server.laudo_page(&number).0, 200);
    let dir = server.data.to_str().unwrap().to_owned();

    // Today nothing is older than five years.
    let out = common::run(&["purge", "--data", &dir]);
    assert_eq!(
        summary(&out),
        json!({"purged": 0, "inspections": 0, "queries": 0, "audit_rows": 0, "skipped": 0, "dry_run": false})
    );
    // Four years and eleven months on, still kept (§9).
    let soon = (Utc::now() + Duration::days(365 * 5 - 40)).to_rfc3339();
    let out = common::run(&["purge", "--data", &dir, "--now", &soon]);
    assert_eq!(summary(&out)["purged"], 0, "{out}");
    // Past five years: a dry run lists it, removes nothing and records nothing.
    let later = (Utc::now() + Duration::days(365 * 5 + 5)).to_rfc3339();
    let out = common::run(&["purge", "--data", &dir, "--dry-run", "--now", &later]);
    assert!(out.contains(&id.to_string()), "{out}");
    assert_eq!(summary(&out)["inspections"], 1, "{out}");
    assert_eq!(server.report().last().unwrap()["inspections"], 1);
    assert_eq!(command_runs(&server.data).len(), 2, "the two real runs");
    let out = common::run(&["purge", "--data", &dir, "--now", &later]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["removed"], "inspection");
    assert_eq!(lines[0]["inspection_id"], id.to_string());
    assert_eq!(lines[1]["removed"], "query");
    assert_eq!(summary(&out)["purged"], 2);
    assert!(
        !server
            .data
            .join("media")
            .join("ECV-01")
            .join(id.to_string())
            .exists()
    );
    assert_eq!(server.report().last().unwrap()["inspections"], 0);
    // The laudo number went with it: its QR code no longer resolves.
    assert_eq!(server.laudo_page(&number).0, 404);
    // And the run is on record.
    let runs = command_runs(&server.data);
    assert_eq!(runs.len(), 3);
    assert_eq!(
        (
            runs[0].origin.as_str(),
            runs[0].inspections,
            runs[0].queries
        ),
        ("comando purge", 1, 1)
    );
    assert_eq!(runs[0].failure, None);
}

#[test]
fn serve_purges_on_its_schedule_and_records_the_run() {
    let mut first = Server::start();
    let (old, old_number) = delivered(&first, &registry().remove(5));
    let (recent, recent_number) = delivered(&first, &registry().remove(9));
    assert!(
        first
            .terminate(std::time::Duration::from_secs(20))
            .is_some()
    );
    // Make the first inspection and its query six years old.
    let six_years_ago = Utc::now() - Duration::days(365 * 6);
    let stamp = vistoria_core::wire::rfc3339_ms::format(&six_years_ago);
    let conn = rusqlite::Connection::open(first.data.join("central.sqlite")).unwrap();
    let aged = conn
        .execute(
            "UPDATE packages SET first_seen_at = ?1, received_at = ?1 WHERE inspection_id = ?2",
            rusqlite::params![stamp, old.to_string()],
        )
        .unwrap();
    assert_eq!(aged, 1);
    conn.execute(
        "UPDATE queries SET queried_at = ?1 WHERE query_id = \
         (SELECT query_id FROM packages WHERE inspection_id = ?2)",
        rusqlite::params![stamp, old.to_string()],
    )
    .unwrap();
    drop(conn);
    let before = retention_runs(&first.data).len();

    // The next start purges (then every --purge-every-hours).
    let server = Server::spawn(&first.data, &[], first.token.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run = loop {
        let runs = retention_runs(&server.data);
        if runs.len() > before {
            break runs[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no purge ran at start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(run.origin.starts_with("serve "), "{run:?}");
    assert_eq!((run.inspections, run.queries, run.skipped), (1, 1, 0));
    assert_eq!(run.failure, None);
    assert_eq!(server.laudo_page(&old_number).0, 404);
    assert_eq!(server.laudo_page(&recent_number).0, 200);
    let media = server.data.join("media").join("ECV-01");
    assert!(!media.join(old.to_string()).exists());
    assert!(media.join(recent.to_string()).exists());
    let report = server.report();
    assert_eq!(report.last().unwrap()["inspections"], 1);
    assert_eq!(report[0]["inspection_id"], recent.to_string());

    // With 0 it never purges on its own.
    drop(server);
    let runs = retention_runs(&first.data).len();
    let quiet = Server::spawn(
        &first.data,
        &["--purge-every-hours", "0"],
        first.token.clone(),
    );
    assert_eq!(quiet.laudo_page(&recent_number).0, 200);
    assert_eq!(retention_runs(&quiet.data).len(), runs);
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

/// `report` with its own flags: the summary line and the per-inspection lines by id.
fn report_with(server: &Server, flags: &[&str]) -> (Value, Vec<Value>) {
    let dir = server.data.to_str().unwrap();
    let out = common::run(&[&["report", "--json", "--data", dir], flags].concat());
    let mut lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let totals = lines.pop().unwrap();
    (totals, lines)
}

#[test]
fn report_re_reads_a_slice_at_a_time_and_goes_on_where_it_stopped() {
    let server = Server::start();
    let mut ids = Vec::new();
    for n in [3, 4, 6] {
        ids.push(delivered(&server, &registry().remove(n)).0);
    }
    // The commit read every byte: by default nothing is due for thirty days.
    let (totals, lines) = report_with(&server, &[]);
    assert_eq!(
        totals["rechecked"],
        json!({"inspections": 0, "bytes": 0, "left": false})
    );
    assert_eq!(totals["verified"], 3);
    assert!(lines.iter().all(|l| l["checked_at"] == l["received_at"]));

    // Altered on disk: the report says what the last check found until a check is due.
    let id = ids[1];
    let stored = server
        .data
        .join("media/ECV-01")
        .join(id.to_string())
        .join("a.jpg");
    let mut altered = std::fs::read(&stored).unwrap();
    altered[0] ^= 1;
    std::fs::write(&stored, altered).unwrap();
    assert_eq!(report_with(&server, &[]).0["verified"], 3);

    // A budget of one byte re-reads one inspection per run, the least recently checked first,
    // each run going on from the last.
    let mut order = Vec::new();
    for _ in 0..3 {
        let (totals, lines) = report_with(
            &server,
            &["--recheck-after-days", "0", "--recheck-budget-bytes", "1"],
        );
        assert_eq!(totals["rechecked"]["inspections"], 1, "{totals}");
        assert_eq!(totals["rechecked"]["bytes"], 100);
        let newest = lines
            .iter()
            .max_by_key(|l| l["checked_at"].as_str().unwrap().to_owned())
            .unwrap();
        order.push(newest["inspection_id"].as_str().unwrap().to_owned());
    }
    order.sort();
    let mut all: Vec<String> = ids.iter().map(ToString::to_string).collect();
    all.sort();
    assert_eq!(order, all, "each inspection re-read once over three runs");
    let (totals, lines) = report_with(&server, &[]);
    assert_eq!(
        (totals["verified"].clone(), totals["rejected"].clone()),
        (json!(2), json!(1))
    );
    let corrupted = lines
        .iter()
        .find(|l| l["inspection_id"] == id.to_string())
        .unwrap();
    assert_eq!(corrupted["verification"], "corrupted");
    assert!(corrupted["problems"][0].as_str().unwrap().contains("a.jpg"));
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
