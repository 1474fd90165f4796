//! The storage contract: every [`MetadataStore`] backend passes the same tests — the embedded
//! SQLite one and PostgreSQL (issue 21), the latter on a real PostgreSQL 15 started on loopback
//! once per suite (`common::services`), each test in a database of its own.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "storage_contract/directory.rs"]
mod directory;
use directory::*;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vistoria_central::storage::integrity::{DueCheck, IntegrityCheck};
use vistoria_central::storage::laudos::AllocationOf;
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_central::storage::retention::{ExpiredPackage, RetentionRun};
use vistoria_central::storage::sqlite::SqliteMetadata;
use vistoria_central::storage::{
    AuditKeyRecord, InsertOutcome, Lease, MetadataStore, PackageKey, PackageRecord, QueryRecord,
    StorageError,
};
use vistoria_core::store::{AuditAction, AuditEvent, AuditRow};
use vistoria_core::wire::{PackageStatus, Receipt, canonical_json, manifest_sha256};

use common::records::{FACTS, at, package, signer};

fn package_round_trip_and_idempotent_insert(store: &dyn MetadataStore) {
    let p = package(Uuid::new_v4());
    assert_eq!(store.insert_package(&p).unwrap(), InsertOutcome::Inserted);
    assert_eq!(store.package(&p.key()).unwrap().as_ref(), Some(&p));
    match store.insert_package(&p).unwrap() {
        InsertOutcome::Existing(existing) => assert_eq!(*existing, p),
        other => panic!("stored twice: {other:?}"),
    }
    // Another inspection for the same vehicle query is refused, naming the first.
    let second = package(p.query_id);
    assert_eq!(
        store.insert_package(&second).unwrap(),
        InsertOutcome::QueryUsed(p.inspection_id)
    );
    assert_eq!(store.packages().unwrap().len(), 1);
    store
        .set_file_check(&p.key(), "rear.jpg", Some(true))
        .unwrap();
    let got = store.package(&p.key()).unwrap().unwrap();
    assert_eq!(got.files[0].digests_match, Some(true));
    assert!(store.set_file_check(&p.key(), "nope.jpg", None).is_err());
}

fn commit_numbers_laudos_once_per_package(store: &dyn MetadataStore) {
    let (a, b) = (package(Uuid::new_v4()), package(Uuid::new_v4()));
    store.insert_package(&a).unwrap();
    store.insert_package(&b).unwrap();
    store.set_rejected(&a.key(), "bytes errados").unwrap();
    assert_eq!(
        store.package(&a.key()).unwrap().unwrap().status,
        PackageStatus::Rejected
    );
    let ra = store
        .commit_package(&a.key(), at(12), &FACTS, &signer(a.inspection_id, at(12)))
        .unwrap();
    assert_eq!(ra.laudo_number, "MT-2026-000001");
    // A second commit returns the stored receipt, without a new number.
    let again = store
        .commit_package(&a.key(), at(13), &FACTS, &signer(a.inspection_id, at(13)))
        .unwrap();
    assert_eq!(again.laudo_number, ra.laudo_number);
    assert_eq!(again.received_at, at(12));
    let rb = store
        .commit_package(&b.key(), at(12), &FACTS, &signer(b.inspection_id, at(12)))
        .unwrap();
    assert_eq!(rb.laudo_number, "MT-2026-000002");
    // Verified stays verified.
    store.set_rejected(&a.key(), "tarde demais").unwrap();
    let got = store.package(&a.key()).unwrap().unwrap();
    assert_eq!(got.status, PackageStatus::Verified);
    assert_eq!(got.rejection, None);
    assert_eq!(got.receipt.unwrap().laudo_number, "MT-2026-000001");
}

fn inspector_lists_replace_and_keep_who_left(store: &dyn MetadataStore) {
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

fn the_same_inspection_id_from_two_stations_is_two_packages(store: &dyn MetadataStore) {
    let a = package(Uuid::new_v4());
    let b = PackageRecord {
        station: "ECV-02".into(),
        query_id: Uuid::new_v4(),
        ..a.clone()
    };
    assert_eq!(store.insert_package(&a).unwrap(), InsertOutcome::Inserted);
    assert_eq!(store.insert_package(&b).unwrap(), InsertOutcome::Inserted);
    assert_eq!(store.package(&b.key()).unwrap().as_ref(), Some(&b));
    store.set_rejected(&b.key(), "de B").unwrap();
    assert_eq!(
        store.package(&a.key()).unwrap().unwrap().status,
        PackageStatus::Receiving
    );
    store.delete_package(&b.key()).unwrap();
    assert_eq!(store.package(&a.key()).unwrap().as_ref(), Some(&a));
    assert_eq!(store.packages().unwrap().len(), 1);
}

fn stations_queries_and_retention(store: &dyn MetadataStore) {
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
    let stale = store.expired_queries(at(2), None, 100).unwrap();
    assert_eq!(stale, vec![old.clone()]);
    store.delete_query(old.query_id).unwrap();
    store.delete_package(&p.key()).unwrap();
    assert_eq!(store.package(&p.key()).unwrap(), None);
    assert_eq!(store.expired_queries(at(2), None, 100).unwrap(), vec![used]);
}

/// Every expired package, read in pages of `limit`.
fn expired_in_pages(
    store: &dyn MetadataStore,
    cutoff: DateTime<Utc>,
    limit: usize,
) -> Vec<ExpiredPackage> {
    let mut all: Vec<ExpiredPackage> = Vec::new();
    loop {
        let page = store.expired_packages(cutoff, all.last(), limit).unwrap();
        assert!(page.len() <= limit);
        let done = page.len() < limit;
        all.extend(page);
        if done {
            return all;
        }
    }
}

fn retention_pages_purge_and_record(store: &dyn MetadataStore) {
    // Ages: received, or first seen when never verified.
    let aged = |first_seen: u32| {
        let mut p = package(Uuid::new_v4());
        p.first_seen_at = at(first_seen);
        store.insert_package(&p).unwrap();
        p
    };
    let (received_late, unverified, received, tied, recent) =
        (aged(1), aged(2), aged(3), aged(3), aged(8));
    for (p, h) in [(&received_late, 5), (&received, 3), (&recent, 9)] {
        store
            .commit_package(&p.key(), at(h), &FACTS, &signer(p.inspection_id, at(h)))
            .unwrap();
    }
    let mut expected = vec![
        (at(2), unverified.key()),
        (at(3), received.key()),
        (at(3), tied.key()),
        (at(5), received_late.key()),
    ];
    expected.sort_by_key(|(t, k)| (*t, k.station.clone(), k.inspection_id.to_string()));
    for limit in [1, 2, 3, 4, 100] {
        let got: Vec<(DateTime<Utc>, PackageKey)> = expired_in_pages(store, at(6), limit)
            .into_iter()
            .map(|e| (e.at, e.key))
            .collect();
        assert_eq!(got, expected, "pages of {limit}");
    }
    assert!(store.expired_packages(at(1), None, 10).unwrap().is_empty());

    // A purge takes the laudo number with the package; an expiry's delete keeps it, since the
    // station registers the package again with the number it printed.
    let number = |p: &PackageRecord| {
        store
            .laudo_allocation(&AllocationOf::Inspection(p.key()))
            .unwrap()
    };
    assert!(number(&received_late).is_some() && number(&received).is_some());
    store.purge_package(&received_late.key()).unwrap();
    assert_eq!(store.package(&received_late.key()).unwrap(), None);
    assert_eq!(number(&received_late), None);
    store.delete_package(&received.key()).unwrap();
    assert!(number(&received).is_some());
    store.purge_package(&received_late.key()).unwrap();

    // Old queries no package refers to, by time then id, in pages.
    let query = |h: u32| {
        let q = QueryRecord {
            query_id: Uuid::new_v4(),
            station: "ECV-01".into(),
            plate: "ABC1D23".into(),
            queried_at: at(h),
            deadline: at(h) + Duration::hours(4),
        };
        store.insert_query(&q).unwrap();
        q
    };
    let (a, b, used, _recent) = (query(1), query(1), query(2), query(9));
    store.insert_package(&package(used.query_id)).unwrap();
    let mut want = vec![a, b];
    want.sort_by_key(|q| q.query_id.to_string());
    let first = store.expired_queries(at(6), None, 1).unwrap();
    let second = store.expired_queries(at(6), first.last(), 1).unwrap();
    let third = store.expired_queries(at(6), second.last(), 1).unwrap();
    assert_eq!([first, second].concat(), want);
    assert!(third.is_empty());

    // Runs are kept, newest first.
    let run = |n: u64, failure: Option<&str>| RetentionRun {
        origin: format!("serve {n}"),
        at: at(10),
        cutoff: at(6),
        inspections: n,
        queries: 2 * n,
        skipped: 1,
        failure: failure.map(str::to_owned),
        audit_rows: 3 * n,
    };
    store.record_retention_run(&run(1, None)).unwrap();
    store
        .record_retention_run(&run(2, Some("banco caiu")))
        .unwrap();
    assert_eq!(
        store.retention_runs(10).unwrap(),
        vec![run(2, Some("banco caiu")), run(1, None)]
    );
    assert_eq!(store.retention_runs(1).unwrap().len(), 1);
}

fn integrity_checks_are_kept_and_due_in_order(store: &dyn MetadataStore) {
    let (a, b, pending) = (
        package(Uuid::new_v4()),
        package(Uuid::new_v4()),
        package(Uuid::new_v4()),
    );
    for p in [&a, &b, &pending] {
        store.insert_package(p).unwrap();
    }
    // The commit is the first check, at the receipt's time.
    for (p, h) in [(&a, 12), (&b, 11)] {
        store
            .commit_package(&p.key(), at(h), &FACTS, &signer(p.inspection_id, at(h)))
            .unwrap();
    }
    let due = |before: u32, limit: usize| {
        let mut all: Vec<DueCheck> = Vec::new();
        loop {
            let page = store.due_checks(at(before), all.last(), limit).unwrap();
            let done = page.len() < limit;
            all.extend(page);
            if done {
                return all
                    .into_iter()
                    .map(|d| (d.key, d.checked_at))
                    .collect::<Vec<_>>();
            }
        }
    };
    assert_eq!(due(12, 1), vec![(b.key(), at(11))]);
    assert_eq!(due(13, 1), vec![(b.key(), at(11)), (a.key(), at(12))]);
    // A new check replaces the last; the least recently checked comes first.
    let found = IntegrityCheck {
        checked_at: at(14),
        problems: vec!["rear.jpg: bytes não conferem com o manifesto".into()],
        extra_files: 1,
    };
    store.record_check(&b.key(), &found).unwrap();
    assert_eq!(due(15, 5), vec![(a.key(), at(12)), (b.key(), at(14))]);
    // Only verified packages are checked.
    store
        .record_check(
            &pending.key(),
            &IntegrityCheck {
                problems: vec![],
                ..found.clone()
            },
        )
        .unwrap();
    let mut checks = store.integrity_checks().unwrap();
    checks.sort_by_key(|(k, _)| k.inspection_id != b.inspection_id);
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0], (b.key(), found));
    assert!(checks[1].1.problems.is_empty());
    // Removed with the package.
    store.purge_package(&b.key()).unwrap();
    assert_eq!(due(15, 5), vec![(a.key(), at(12))]);
}

/// `n` rows of a real station log about `inspection` (the station writes them this way).
fn station_rows(
    n: usize,
    inspection: vistoria_core::domain::InspectionId,
    tag: &str,
) -> Vec<AuditRow> {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = vistoria_core::store::Store::open(dir.path()).unwrap();
    for i in 0..n {
        let event = AuditEvent::new(None, tag, AuditAction::InspectionItemRecorded)
            .inspection(inspection)
            .detail(serde_json::json!({ "item": i }));
        log.audit(event).unwrap();
    }
    log.audit_trail_to(u64::try_from(n).unwrap()).unwrap()
}

fn audit_trails_keep_rows_and_find_forks_and_holes(store: &dyn MetadataStore) {
    let id = vistoria_core::domain::InspectionId::new();
    let rows = station_rows(8, id, "ana");
    let other = station_rows(8, id, "forjado");
    assert_eq!(store.record_trail("ECV-01", &rows[0..3]).unwrap(), None);
    assert_eq!(store.record_trail("ECV-01", &rows[5..7]).unwrap(), None);
    assert_eq!(store.trail_holes("ECV-01").unwrap(), vec![(4, 5)]);
    // Again: nothing changes.
    assert_eq!(store.record_trail("ECV-01", &rows[0..3]).unwrap(), None);
    // Another log's rows: the same position with another hash, or a row that does not link to
    // a stored neighbour (before it, or after it).
    assert_eq!(store.record_trail("ECV-01", &other[2..4]).unwrap(), Some(3));
    assert_eq!(store.record_trail("ECV-01", &other[3..4]).unwrap(), Some(4));
    assert_eq!(store.record_trail("ECV-01", &other[4..5]).unwrap(), Some(6));
    assert_eq!(
        store.trail_holes("ECV-01").unwrap(),
        vec![(4, 5)],
        "nothing kept"
    );
    // Another station's log is its own.
    assert_eq!(store.record_trail("ECV-02", &other[1..2]).unwrap(), None);
    assert_eq!(store.trail_holes("ECV-02").unwrap(), vec![(1, 1)]);
    // The real rows fill the hole.
    assert_eq!(store.record_trail("ECV-01", &rows[3..5]).unwrap(), None);
    assert_eq!(store.trail_holes("ECV-01").unwrap(), vec![]);
    assert_eq!(
        store.inspection_trail("ECV-01", id.as_uuid()).unwrap(),
        rows[0..7].to_vec()
    );
    assert!(
        store
            .inspection_trail("ECV-01", Uuid::new_v4())
            .unwrap()
            .is_empty()
    );
}

/// Retention (§9) takes the old end of a station's chain that no kept inspection needs, in
/// pages, and what it took is not a hole.
fn trail_retention_removes_the_old_end_only(store: &dyn MetadataStore) {
    const OLD: &str = "2019-03-01T10:00:00.000Z";
    const NEW: &str = "2026-03-01T10:00:00.000Z";
    const CUTOFF: &str = "2021-12-07T00:00:00.000Z";
    let kept = package(Uuid::new_v4());
    store.insert_package(&kept).unwrap();
    let kept_id = vistoria_core::domain::InspectionId::from_uuid(kept.inspection_id);
    // Rows 1–3 about nothing, old; 4–5 about the kept package, old; 6 old; 7 of unknown
    // time; 8 old; 9–10 new. (The storage does not check the hashes: the API does.)
    let mut rows = station_rows(10, kept_id, "ana");
    for row in &mut rows {
        let seq = row.seq;
        row.at = match seq {
            7 => None,
            9 | 10 => Some(NEW.into()),
            _ => Some(OLD.into()),
        };
        if !(4..=5).contains(&seq) {
            row.inspection_id = None;
        }
    }
    assert_eq!(store.record_trail("ECV-01", &rows).unwrap(), None);
    assert_eq!(store.record_trail("ECV-02", &rows[0..2]).unwrap(), None);
    assert_eq!(
        store.next_trail_station(None).unwrap().as_deref(),
        Some("ECV-01")
    );
    assert_eq!(
        store.next_trail_station(Some("ECV-01")).unwrap().as_deref(),
        Some("ECV-02")
    );
    assert_eq!(store.next_trail_station(Some("ECV-02")).unwrap(), None);

    // Pages of two, then what is left before the kept package's rows.
    let due = |after| store.trail_due("ECV-01", CUTOFF, after, 2).unwrap();
    let first = due(None).unwrap();
    assert_eq!((first.through, first.rows), (2, 2));
    let second = due(Some(2)).unwrap();
    assert_eq!((second.through, second.rows), (3, 1));
    assert_eq!(due(Some(3)), None, "row 4 is about a kept package");
    // Key checkpoints: the newest at or before a position; saving one again changes nothing.
    store.save_mac_checkpoint("ECV-01", 2, &[2; 32]).unwrap();
    store.save_mac_checkpoint("ECV-01", 5, &[5; 32]).unwrap();
    store.save_mac_checkpoint("ECV-01", 5, &[9; 32]).unwrap();
    assert_eq!(
        store.mac_checkpoint("ECV-01", 4).unwrap(),
        Some((2, [2; 32]))
    );
    assert_eq!(
        store.mac_checkpoint("ECV-01", 9).unwrap(),
        Some((5, [5; 32]))
    );
    assert_eq!(store.mac_checkpoint("ECV-01", 1).unwrap(), None);
    assert_eq!(store.mac_checkpoint("ECV-02", 9).unwrap(), None);
    assert_eq!(store.purge_trail("ECV-01", 3).unwrap(), 3);
    assert_eq!(
        store.mac_checkpoint("ECV-01", 4).unwrap(),
        None,
        "went with its rows"
    );
    assert_eq!(store.purge_trail("ECV-01", 3).unwrap(), 0);
    store.save_mac_checkpoint("ECV-02", 1, &[1; 32]).unwrap();
    assert_eq!(
        store.trail_holes("ECV-01").unwrap(),
        vec![],
        "removed, not missing"
    );
    assert_eq!(due(None), None);

    // The package goes (with its rows): row 6 is due, row 7 (time unknown) stays.
    store.purge_package(&kept.key()).unwrap();
    let third = due(None).unwrap();
    assert_eq!((third.through, third.rows), (6, 1));
    assert_eq!(store.purge_trail("ECV-01", 6).unwrap(), 1);
    assert_eq!(due(None), None);
    assert_eq!(
        store.mac_checkpoint("ECV-01", 9).unwrap(),
        Some((5, [5; 32])),
        "the newest checkpoint stays, even below what was removed"
    );
    assert_eq!(
        store.mac_checkpoint("ECV-02", 9).unwrap(),
        Some((1, [1; 32]))
    );
    assert_eq!(store.trail_holes("ECV-01").unwrap(), vec![]);
    // Another station's chain is untouched; a hole above what was removed is still one.
    assert_eq!(store.trail_holes("ECV-02").unwrap(), vec![]);
    assert_eq!(store.record_trail("ECV-03", &rows[8..10]).unwrap(), None);
    assert_eq!(store.trail_holes("ECV-03").unwrap(), vec![(1, 8)]);
}

/// `p` anchored at `seq` with `head`, its stored JSON the manifest's.
fn anchored(mut p: PackageRecord, seq: u64, head: char) -> PackageRecord {
    p.manifest.audit_sequence = Some(seq);
    p.manifest.audit_head = head.to_string().repeat(64);
    let value = serde_json::to_value(&p.manifest).unwrap();
    p.manifest_json = canonical_json(&value);
    p.manifest_sha256 = manifest_sha256(&value);
    p
}

fn anchors_outstanding_bytes_and_expiry(store: &dyn MetadataStore) {
    let a = anchored(package(Uuid::new_v4()), 40, 'a');
    let mut b = anchored(package(Uuid::new_v4()), 12, 'b');
    b.first_seen_at = at(13);
    let mut other = anchored(package(Uuid::new_v4()), 20, 'c');
    other.station = "ECV-02".into();
    for p in [&a, &b, &other] {
        store.insert_package(p).unwrap();
    }
    let anchors = store.anchors("ECV-01", 10, 40).unwrap();
    let got: Vec<(u64, &str)> = anchors.iter().map(|x| (x.seq, x.head.as_str())).collect();
    assert_eq!(
        got,
        vec![(12, "b".repeat(64).as_str()), (40, "a".repeat(64).as_str())]
    );
    assert_eq!(anchors[0].inspection_id, b.inspection_id);
    assert!(store.anchors("ECV-01", 13, 39).unwrap().is_empty());
    // Declared bytes of unverified packages, per station.
    assert_eq!(store.outstanding_bytes("ECV-01").unwrap(), 6);
    store
        .commit_package(&a.key(), at(12), &FACTS, &signer(a.inspection_id, at(12)))
        .unwrap();
    assert_eq!(store.outstanding_bytes("ECV-01").unwrap(), 3);
    assert_eq!(store.outstanding_bytes("ECV-09").unwrap(), 0);
    // Unverified and first seen before the cutoff: b (13 h) is not, other (11 h) is.
    assert_eq!(store.uncommitted_before(at(12)).unwrap(), vec![other.key()]);
}

fn tokens_rotate_and_revoke(store: &dyn MetadataStore) {
    let empty = store.stations_fingerprint().unwrap();
    store.add_station("ECV-01", "h1", at(1)).unwrap();
    let added = store.stations_fingerprint().unwrap();
    assert_ne!(empty, added);
    assert_eq!(store.stations_fingerprint().unwrap(), added);
    assert!(store.set_station_token("ECV-01", "h2").unwrap());
    assert_eq!(store.station_for_token("h1").unwrap(), None);
    assert_eq!(
        store.station_for_token("h2").unwrap().as_deref(),
        Some("ECV-01")
    );
    let rotated = store.stations_fingerprint().unwrap();
    assert_ne!(rotated, added);
    assert!(store.revoke_station("ECV-01").unwrap());
    assert_eq!(store.station_for_token("h2").unwrap(), None);
    assert_ne!(store.stations_fingerprint().unwrap(), rotated);
    assert!(!store.revoke_station("ECV-09").unwrap());
    assert!(!store.set_station_token("ECV-09", "h3").unwrap());
}

fn audit_keys_are_issued_once(store: &dyn MetadataStore) {
    let first = AuditKeyRecord {
        station: "ECV-01".into(),
        key: [7; 32],
        start_seq: 5,
        issued_at: at(1),
        confirmed: false,
    };
    assert_eq!(store.issue_audit_key(&first).unwrap(), first);
    // Asked again before confirmation: the same key, for the position asked now.
    let again = store
        .issue_audit_key(&AuditKeyRecord {
            key: [9; 32],
            start_seq: 8,
            ..first.clone()
        })
        .unwrap();
    assert_eq!((again.key, again.start_seq), ([7; 32], 8));
    store.confirm_audit_key("ECV-01").unwrap();
    let after = store
        .issue_audit_key(&AuditKeyRecord {
            key: [9; 32],
            start_seq: 30,
            ..first.clone()
        })
        .unwrap();
    assert_eq!(
        (after.key, after.start_seq, after.confirmed),
        ([7; 32], 8, true)
    );
    assert_eq!(store.audit_key("ECV-02").unwrap(), None);
}

fn leases_exclude_what_would_collide(store: &dyn MetadataStore) {
    let key = PackageKey::new("ECV-01", Uuid::new_v4());
    let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .heartbeat(one, at(10) + Duration::seconds(10))
        .unwrap();
    store
        .heartbeat(two, at(10) + Duration::seconds(10))
        .unwrap();
    let lease = |instance: Uuid, until: DateTime<Utc>| Lease {
        holder: Uuid::new_v4(),
        instance,
        now: at(10),
        until,
    };
    let upload_a = lease(one, at(11));
    assert!(store.claim(&key, Some("a.jpg"), upload_a).unwrap());
    // The same file, or the whole package, while a.jpg is being received: refused, from any
    // instance.
    assert!(
        !store
            .claim(&key, Some("a.jpg"), lease(two, at(11)))
            .unwrap()
    );
    assert!(!store.claim(&key, None, lease(one, at(11))).unwrap());
    // Another file of it, or the same id of another station: free.
    let upload_b = lease(two, at(11));
    assert!(store.claim(&key, Some("b.jpg"), upload_b).unwrap());
    let elsewhere = PackageKey::new("ECV-02", key.inspection_id);
    assert!(store.claim(&elsewhere, None, lease(one, at(11))).unwrap());
    store.release(upload_a.holder).unwrap();
    store.release(upload_b.holder).unwrap();
    assert!(store.claim(&key, None, lease(one, at(11))).unwrap());
    assert!(
        !store
            .claim(&key, Some("a.jpg"), lease(two, at(11)))
            .unwrap()
    );
    // Instance one dies (no heartbeat past 10:00:10): its commit lease dies with it, long
    // before the lease's own time.
    let later = Lease {
        now: at(10) + Duration::seconds(30),
        ..lease(two, at(11))
    };
    store
        .heartbeat(two, later.now + Duration::seconds(10))
        .unwrap();
    assert!(store.claim(&key, Some("a.jpg"), later).unwrap());
    // A store one server owns alone: the restarted server retires its predecessor at once.
    let three = Uuid::new_v4();
    store
        .heartbeat(three, at(12) + Duration::seconds(10))
        .unwrap();
    let restarted = Lease {
        now: at(10) + Duration::seconds(31),
        ..lease(one, at(11))
    };
    store
        .heartbeat(one, restarted.now + Duration::seconds(10))
        .unwrap();
    assert!(!store.claim(&key, Some("a.jpg"), restarted).unwrap());
    store.retire_other_instances(one, restarted.now).unwrap();
    assert!(store.claim(&key, Some("a.jpg"), restarted).unwrap());
    // And a lease past its own time is gone too.
    let much_later = Lease {
        now: at(12),
        ..lease(two, at(13))
    };
    store
        .heartbeat(two, at(12) + Duration::seconds(10))
        .unwrap();
    assert!(store.claim(&key, Some("a.jpg"), much_later).unwrap());
}

/// Two instances (two stores on the same database) commit at once: every package gets one
/// number, numbers are consecutive, and a package committed by both gets one receipt.
fn concurrent_commits_from_two_instances(open: &dyn Fn() -> Arc<dyn MetadataStore>) {
    let (one, two) = (open(), open());
    let packages: Vec<PackageRecord> = (0..12).map(|_| package(Uuid::new_v4())).collect();
    for p in &packages {
        one.insert_package(p).unwrap();
    }
    let receipts: Vec<Receipt> = std::thread::scope(|scope| {
        let handles: Vec<_> = packages
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                // Each package is committed by both instances.
                [&one, &two].map(|store| {
                    let store = Arc::clone(store);
                    let key = p.key();
                    let id = p.inspection_id;
                    scope.spawn(move || {
                        let when = at(12) + Duration::seconds(i as i64);
                        store
                            .commit_package(&key, when, &FACTS, &signer(id, when))
                            .unwrap()
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for pair in receipts.chunks(2) {
        // (The stored receipt carries the stored manifest's hash; the test signer does not.)
        assert_eq!(
            (&pair[0].laudo_number, pair[0].received_at),
            (&pair[1].laudo_number, pair[1].received_at),
            "one package, one receipt"
        );
    }
    let mut numbers: Vec<String> = receipts
        .chunks(2)
        .map(|pair| pair[0].laudo_number.clone())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("MT-2026-{n:06}")).collect();
    assert_eq!(numbers, expected);
    // The same manifest registered through both instances at once: stored once.
    let fresh = package(Uuid::new_v4());
    let outcomes: Vec<InsertOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = [&one, &two]
            .map(|store| {
                let store = Arc::clone(store);
                let fresh = fresh.clone();
                scope.spawn(move || store.insert_package(&fresh).unwrap())
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == InsertOutcome::Inserted)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(one.packages().unwrap().len(), 13);
}

on_every_backend!(
    package_round_trip_and_idempotent_insert,
    commit_numbers_laudos_once_per_package,
    inspector_lists_replace_and_keep_who_left,
    the_same_inspection_id_from_two_stations_is_two_packages,
    stations_queries_and_retention,
    anchors_outstanding_bytes_and_expiry,
    tokens_rotate_and_revoke,
    audit_keys_are_issued_once,
    leases_exclude_what_would_collide,
    users_are_added_found_listed_and_revoked,
    search_filters_and_pages_cover_every_row_once,
    retention_pages_purge_and_record,
    integrity_checks_are_kept_and_due_in_order,
    audit_trails_keep_rows_and_find_forks_and_holes,
    trail_retention_removes_the_old_end_only;
    instances: concurrent_commits_from_two_instances,
);

#[test]
fn postgres_migrations_run_once_and_refuse_a_newer_database() {
    let db = common::services::TestDatabase::new();
    // Instances starting together: each migration applied once.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| PgMetadata::connect(&db.url, 2).unwrap());
        }
    });
    let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    let row = client
        .query_one(
            "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations",
            &[],
        )
        .unwrap();
    let (applied, distinct, newest): (i64, i64, i32) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(applied, distinct);
    assert!(newest >= 10, "newest migration {newest}");
    client
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .unwrap();
    assert!(matches!(
        PgMetadata::connect(&db.url, 2),
        Err(StorageError::Corrupt(_))
    ));
}

// The media side: every [`BlobStore`] backend, plain files and S3 (SeaweedFS on loopback).

use std::io::Read as _;
use vistoria_central::storage::BlobStore;
use vistoria_central::storage::files::FileBlobs;
use vistoria_central::storage::s3::S3Blobs;

fn read_all(store: &dyn BlobStore, key: &PackageKey, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open(key, name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn write(store: &dyn BlobStore, key: &PackageKey, name: &str, offset: u64, bytes: &[u8]) {
    let mut w = store.append(key, name, offset).unwrap();
    w.write(bytes).unwrap();
    w.finish().unwrap();
}

fn blob_key() -> PackageKey {
    PackageKey::new("ECV-01", Uuid::new_v4())
}

fn append_resume_seal(store: &dyn BlobStore) {
    let key = &blob_key();
    assert_eq!(store.len(key, "a.jpg").unwrap(), 0);
    write(store, key, "a.jpg", 0, b"hello ");
    assert_eq!(store.len(key, "a.jpg").unwrap(), 6);
    // A resume at an earlier offset cuts off what came after it.
    write(store, key, "a.jpg", 5, b" world");
    assert_eq!(read_all(store, key, "a.jpg"), b"hello world");
    assert!(store.sealed(key).unwrap().is_empty());
    store.seal(key, "a.jpg").unwrap();
    store.seal(key, "a.jpg").unwrap();
    assert_eq!(store.sealed(key).unwrap(), vec!["a.jpg".to_owned()]);
    // Sealed evidence cannot be appended to or replaced.
    assert!(store.append(key, "a.jpg", 0).is_err());
    assert_eq!(read_all(store, key, "a.jpg"), b"hello world");
    assert_eq!(store.len(key, "a.jpg").unwrap(), 11);
    // An empty file can be sealed too.
    store.append(key, "empty.txt", 0).unwrap().finish().unwrap();
    store.seal(key, "empty.txt").unwrap();
    assert_eq!(read_all(store, key, "empty.txt"), b"");
}

fn offset_past_the_end_is_refused(store: &dyn BlobStore) {
    let key = &blob_key();
    assert!(store.append(key, "a.jpg", 3).is_err());
    write(store, key, "a.jpg", 0, b"ab");
    assert!(store.append(key, "a.jpg", 3).is_err());
    assert_eq!(read_all(store, key, "a.jpg"), b"ab");
}

fn discard_and_delete(store: &dyn BlobStore) {
    let key = &blob_key();
    write(store, key, "a.jpg", 0, b"x");
    store.discard(key, "a.jpg").unwrap();
    assert_eq!(store.len(key, "a.jpg").unwrap(), 0);
    write(store, key, "b.jpg", 0, b"y");
    store.seal(key, "b.jpg").unwrap();
    store.discard(key, "b.jpg").unwrap();
    assert_eq!(store.len(key, "b.jpg").unwrap(), 0);
    write(store, key, "c.jpg", 0, b"z");
    store.seal(key, "c.jpg").unwrap();
    write(store, key, "d.jpg", 0, b"w");
    store.delete_inspection(key).unwrap();
    assert!(store.sealed(key).unwrap().is_empty());
    assert_eq!(store.len(key, "d.jpg").unwrap(), 0);
}

fn unsafe_names_are_refused(store: &dyn BlobStore) {
    let key = &blob_key();
    for name in ["../x", "a/b", ".partial", "", "a\0b"] {
        assert!(store.append(key, name, 0).is_err(), "{name:?}");
    }
    for station in ["..", "a/b", "", "ECV 01"] {
        let key = PackageKey::new(station, Uuid::new_v4());
        assert!(store.append(&key, "a.jpg", 0).is_err(), "{station:?}");
    }
}

fn one_stations_ids_are_not_anothers(store: &dyn BlobStore) {
    let id = Uuid::new_v4();
    let (a, b) = (PackageKey::new("ECV-01", id), PackageKey::new("ECV-02", id));
    write(store, &a, "a.jpg", 0, b"de A");
    assert_eq!(store.len(&b, "a.jpg").unwrap(), 0);
    store.seal(&a, "a.jpg").unwrap();
    assert!(store.sealed(&b).unwrap().is_empty());
    store.delete_inspection(&b).unwrap();
    assert_eq!(read_all(store, &a, "a.jpg"), b"de A");
}

/// A film of 20 MB arrives in pieces that do not line up with anything, is cut and resumed from
/// inside what was written, by another instance of the server, and is sealed whole.
fn a_large_file_resumed_on_another_instance(open: &dyn Fn() -> Box<dyn BlobStore>) {
    let (one, two) = (open(), open());
    let key = &blob_key();
    let film: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut w = one.append(key, "seg.mp4", 0).unwrap();
    for piece in film[..12_345_678].chunks(1_000_003) {
        w.write(piece).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(two.len(key, "seg.mp4").unwrap(), 12_345_678);
    // The station resumes at an earlier point (its last confirmed offset) on the other instance.
    write(two.as_ref(), key, "seg.mp4", 9_000_001, &film[9_000_001..]);
    assert_eq!(one.len(key, "seg.mp4").unwrap(), film.len() as u64);
    assert!(
        read_all(one.as_ref(), key, "seg.mp4") == film,
        "partial bytes differ"
    );
    two.seal(key, "seg.mp4").unwrap();
    assert!(
        read_all(one.as_ref(), key, "seg.mp4") == film,
        "sealed bytes differ"
    );
    // Sealing again on the first instance (a retried commit) changes nothing.
    one.seal(key, "seg.mp4").unwrap();
    assert_eq!(one.len(key, "seg.mp4").unwrap(), film.len() as u64);
}

macro_rules! blob_contract {
    ($($name:ident),* $(,)?) => {
        mod on_files {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(&FileBlobs::open(dir.path()).unwrap());
                }
            )*

            #[test]
            fn a_large_file_resumed_on_another_instance() {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().to_owned();
                super::a_large_file_resumed_on_another_instance(&|| {
                    Box::new(FileBlobs::open(&root).unwrap())
                });
            }
        }

        mod on_s3 {
            use super::*;
            use super::common::services::TestBucket;
            $(
                #[test]
                fn $name() {
                    let bucket = TestBucket::new();
                    super::$name(&S3Blobs::open(&bucket.options).unwrap());
                }
            )*

            #[test]
            fn a_large_file_resumed_on_another_instance() {
                let bucket = TestBucket::new();
                super::a_large_file_resumed_on_another_instance(&|| {
                    Box::new(S3Blobs::open(&bucket.options).unwrap())
                });
            }
        }
    };
}

blob_contract!(
    append_resume_seal,
    offset_past_the_end_is_refused,
    discard_and_delete,
    unsafe_names_are_refused,
    one_stations_ids_are_not_anothers,
);

// What only the SQLite store has: its file and its migrations.

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
    assert_eq!(version, vistoria_central::storage::sqlite::SCHEMA_VERSION);
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        SqliteMetadata::open(&path),
        Err(StorageError::Corrupt(_))
    ));
}
