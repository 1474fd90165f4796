//! Unit tests of the SQLite metadata store.

#![allow(clippy::unwrap_used)]

use super::*;
use chrono::{Duration, TimeZone as _};
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

fn signer(id: Uuid, at: DateTime<Utc>) -> impl Fn(String) -> Receipt {
    move |laudo_number| Receipt {
        inspection_id: InspectionId::from_uuid(id),
        laudo_number,
        received_at: at,
        manifest_sha256: "m".into(),
        signature: "s".into(),
    }
}

#[test]
fn package_round_trip_and_idempotent_insert() {
    let store = SqliteMetadata::in_memory().unwrap();
    let p = package(Uuid::new_v4());
    assert_eq!(store.insert_package(&p).unwrap(), InsertOutcome::Inserted);
    assert_eq!(store.package(p.inspection_id).unwrap().as_ref(), Some(&p));
    match store.insert_package(&p).unwrap() {
        InsertOutcome::Existing(existing) => assert_eq!(*existing, p),
        InsertOutcome::Inserted => panic!("stored twice"),
    }
    assert_eq!(store.packages().unwrap().len(), 1);
    store
        .set_file_check(p.inspection_id, "rear.jpg", Some(true))
        .unwrap();
    let got = store.package(p.inspection_id).unwrap().unwrap();
    assert_eq!(got.files[0].digests_match, Some(true));
    assert!(
        store
            .set_file_check(p.inspection_id, "nope.jpg", None)
            .is_err()
    );
}

#[test]
fn commit_numbers_laudos_once_per_package() {
    let store = SqliteMetadata::in_memory().unwrap();
    let (a, b) = (package(Uuid::new_v4()), package(Uuid::new_v4()));
    store.insert_package(&a).unwrap();
    store.insert_package(&b).unwrap();
    store
        .set_rejected(a.inspection_id, "bytes errados")
        .unwrap();
    assert_eq!(
        store.package(a.inspection_id).unwrap().unwrap().status,
        PackageStatus::Rejected
    );
    let ra = store
        .commit_package(a.inspection_id, at(12), &signer(a.inspection_id, at(12)))
        .unwrap();
    assert_eq!(ra.laudo_number, "MT-2026-000001");
    // A second commit returns the stored receipt, without a new number.
    let again = store
        .commit_package(a.inspection_id, at(13), &signer(a.inspection_id, at(13)))
        .unwrap();
    assert_eq!(again.laudo_number, ra.laudo_number);
    assert_eq!(again.received_at, at(12));
    let rb = store
        .commit_package(b.inspection_id, at(12), &signer(b.inspection_id, at(12)))
        .unwrap();
    assert_eq!(rb.laudo_number, "MT-2026-000002");
    // Verified stays verified.
    store.set_rejected(a.inspection_id, "tarde demais").unwrap();
    let got = store.package(a.inspection_id).unwrap().unwrap();
    assert_eq!(got.status, PackageStatus::Verified);
    assert_eq!(got.rejection, None);
    assert_eq!(got.receipt.unwrap().laudo_number, "MT-2026-000001");
}

#[test]
fn stations_queries_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadata::open(&dir.path().join("c.sqlite")).unwrap();
    store.add_station("ECV-01", "h1", at(1)).unwrap();
    assert!(matches!(
        store.add_station("ECV-01", "h2", at(1)),
        Err(StorageError::AlreadyExists(_))
    ));
    assert_eq!(
        store.station_for_token("h1").unwrap().as_deref(),
        Some("ECV-01")
    );
    let old = QueryRecord {
        query_id: Uuid::new_v4(),
        station: "ECV-01".into(),
        plate: "ABC1D23".into(),
        queried_at: at(1),
        deadline: at(1) + Duration::hours(4),
    };
    let used = QueryRecord {
        query_id: Uuid::new_v4(),
        ..old.clone()
    };
    store.insert_query(&old).unwrap();
    store.insert_query(&used).unwrap();
    assert_eq!(store.query(old.query_id).unwrap().as_ref(), Some(&old));
    let p = package(used.query_id);
    store.insert_package(&p).unwrap();
    let stale = store.unreferenced_queries_before(at(2)).unwrap();
    assert_eq!(stale, vec![old.clone()]);
    store.delete_query(old.query_id).unwrap();
    store.delete_package(p.inspection_id).unwrap();
    assert_eq!(store.package(p.inspection_id).unwrap(), None);
    assert_eq!(
        store.unreferenced_queries_before(at(2)).unwrap(),
        vec![used]
    );
    // Reopening finds the same data: it was durable.
    drop(store);
    let store = SqliteMetadata::open(&dir.path().join("c.sqlite")).unwrap();
    assert_eq!(
        store.station_for_token("h1").unwrap().as_deref(),
        Some("ECV-01")
    );
}

#[test]
fn inspector_lists_replace_and_keep_who_left() {
    let store = SqliteMetadata::in_memory().unwrap();
    let ana = ("39053344705".to_owned(), "Ana Paula".to_owned());
    let joao = ("52998224725".to_owned(), "João".to_owned());
    store
        .set_inspectors("ECV-01", &[ana.clone(), joao.clone()], at(1))
        .unwrap();
    // Another station's list is its own.
    store.set_inspectors("ECV-02", &[], at(1)).unwrap();
    assert_eq!(store.inspector("ECV-02", &ana.0).unwrap(), None);
    // João leaves: kept, marked removed; Ana stays with her first registration time.
    store
        .set_inspectors("ECV-01", std::slice::from_ref(&ana), at(2))
        .unwrap();
    let got = store.inspector("ECV-01", &joao.0).unwrap().unwrap();
    assert_eq!(got.removed_at, Some(at(2)));
    let got = store.inspector("ECV-01", &ana.0).unwrap().unwrap();
    assert_eq!((got.registered_at, got.removed_at), (at(1), None));
    // And comes back.
    store
        .set_inspectors("ECV-01", &[ana, joao.clone()], at(3))
        .unwrap();
    let got = store.inspector("ECV-01", &joao.0).unwrap().unwrap();
    assert_eq!((got.registered_at, got.removed_at), (at(1), None));
}
