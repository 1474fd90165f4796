//! Tests of what only the SQLite store has: its file and its migrations. What every backend
//! must do is in `central/tests/storage_contract.rs`.

#![allow(clippy::unwrap_used)]

use super::*;
use chrono::TimeZone as _;
use vistoria_core::domain::{Checklist, Outcome, Plate, VehicleClass, Verdict};
use vistoria_core::wire::{ManifestFile, MediaKind, canonical_json, manifest_sha256};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

fn package(query_id: Uuid) -> PackageRecord {
    let manifest = PackageManifest {
        inspection_id: InspectionId::new(),
        station: "ECV-01".into(),
        query_id,
        plate: Plate::parse("ABC1D23").unwrap(),
        concluded_at: at(11),
        outcome: Outcome::Verdict(Verdict::Conforming),
        checklist: Checklist::new(VehicleClass::PassengerCar),
        metadata: Default::default(),
        audit_head: "a".repeat(64),
        audit_sequence: None,
        files: vec![ManifestFile {
            name: "rear.jpg".into(),
            kind: MediaKind::Photo,
            size: 3,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
        }],
    };
    let value = serde_json::to_value(&manifest).unwrap();
    PackageRecord {
        inspection_id: manifest.inspection_id.as_uuid(),
        station: "ECV-01".into(),
        query_id,
        plate: "ABC1D23".into(),
        files: vec![FileRecord {
            name: "rear.jpg".into(),
            kind: MediaKind::Photo,
            size: 3,
            md5: "0".repeat(32),
            sha256: "1".repeat(64),
            digests_match: None,
        }],
        manifest,
        manifest_json: canonical_json(&value),
        manifest_sha256: manifest_sha256(&value),
        first_seen_at: at(11),
        deadline: at(14),
        late: false,
        status: PackageStatus::Receiving,
        rejection: None,
        receipt: None,
    }
}

#[test]
fn reopening_finds_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let p = package(Uuid::new_v4());
    {
        let store = SqliteMetadata::open(&path).unwrap();
        store.add_station("ECV-01", "h1", at(1)).unwrap();
        store.insert_package(&p).unwrap();
    }
    let store = SqliteMetadata::open(&path).unwrap();
    assert_eq!(
        store.station_for_token("h1").unwrap().as_deref(),
        Some("ECV-01")
    );
    assert_eq!(store.package(&p.key()).unwrap().as_ref(), Some(&p));
}

/// The first schema (before `user_version`): packages keyed by inspection id alone.
const SCHEMA_V1: &str = "
CREATE TABLE packages (inspection_id TEXT PRIMARY KEY, station TEXT NOT NULL,
    query_id TEXT NOT NULL, plate TEXT NOT NULL, manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL, first_seen_at TEXT NOT NULL, deadline TEXT NOT NULL,
    late INTEGER NOT NULL, status TEXT NOT NULL, rejection TEXT, laudo_number TEXT UNIQUE,
    received_at TEXT, signature TEXT);
CREATE INDEX packages_by_query ON packages(query_id);
CREATE TABLE package_files (
    inspection_id TEXT NOT NULL REFERENCES packages(inspection_id) ON DELETE CASCADE,
    position INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
    md5 TEXT NOT NULL, sha256 TEXT NOT NULL, digests_match INTEGER,
    PRIMARY KEY (inspection_id, name));
";

#[test]
fn a_first_schema_file_is_migrated_with_its_packages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let p = package(Uuid::new_v4());
    {
        // Written by the v2 code, then turned into a v1 file by hand: the rows are what v1 held.
        let store = SqliteMetadata::open(&path).unwrap();
        store.insert_package(&p).unwrap();
        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "ALTER TABLE packages RENAME TO p2; ALTER TABLE package_files RENAME TO f2; \
             DROP INDEX packages_by_query; DROP INDEX packages_by_anchor; {SCHEMA_V1} \
             INSERT INTO packages SELECT * FROM p2; \
             INSERT INTO package_files SELECT inspection_id, position, name, kind, size, md5, \
             sha256, digests_match FROM f2; DROP TABLE f2; DROP TABLE p2; \
             PRAGMA user_version = 0;"
        ))
        .unwrap();
    }
    let store = SqliteMetadata::open(&path).unwrap();
    assert_eq!(store.package(&p.key()).unwrap().as_ref(), Some(&p));
    let other = PackageRecord {
        station: "ECV-02".into(),
        query_id: Uuid::new_v4(),
        ..p.clone()
    };
    assert_eq!(
        store.insert_package(&other).unwrap(),
        InsertOutcome::Inserted
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 2);
    conn.pragma_update(None, "user_version", 9).unwrap();
    drop(conn);
    assert!(matches!(
        SqliteMetadata::open(&path),
        Err(StorageError::Corrupt(_))
    ));
}
