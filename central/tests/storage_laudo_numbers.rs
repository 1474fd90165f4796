//! The storage contract of laudo numbers (issue 21, §10), on every metadata backend — SQLite and
//! a real PostgreSQL 15 (`common::services`): one number per (station, inspection id) given with
//! the vehicle query, the same for a repeated query, used by the commit, given at commit to an
//! inspection whose query allocated none; unique under two instances allocating at once; a
//! database of the previous schema migrated without losing the numbers it gave.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vistoria_central::storage::laudos::{AllocationOf, LaudoFacts};
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_central::storage::sqlite::SqliteMetadata;
use vistoria_central::storage::{MetadataStore, PackageKey, PackageRecord, QueryRecord};

use common::records::{FACTS, at, package, signer};

fn query(station: &str, when: DateTime<Utc>) -> QueryRecord {
    QueryRecord {
        query_id: Uuid::new_v4(),
        station: station.into(),
        plate: "ABC1D23".into(),
        queried_at: when,
        deadline: when + Duration::hours(4),
    }
}

/// The package of `inspection_id` from the answer to `query`.
fn package_of(query: &QueryRecord, inspection_id: Uuid) -> PackageRecord {
    let mut p = package(query.query_id);
    p.station = query.station.clone();
    p.inspection_id = inspection_id;
    p
}

fn numbers_are_allocated_once_per_inspection_at_the_query(store: &dyn MetadataStore) {
    let id = Uuid::new_v4();
    let first = query("ECV-01", at(10));
    let got = store.allocate_laudo_number(&first, id).unwrap();
    assert_eq!((got.number.as_str(), got.new), ("MT-2026-000001", true));
    assert_eq!(store.query(first.query_id).unwrap(), Some(first.clone()));
    // The same inspection asks again (its answer was lost): the first query and number come
    // back, and the second query is not recorded.
    let again = query("ECV-01", at(11));
    let repeated = store.allocate_laudo_number(&again, id).unwrap();
    assert_eq!(
        (repeated.number.as_str(), &repeated.query, repeated.new),
        ("MT-2026-000001", &first, false)
    );
    assert_eq!(store.query(again.query_id).unwrap(), None);
    // Another inspection, and the same id at another station: other numbers.
    let other = store
        .allocate_laudo_number(&query("ECV-01", at(10)), Uuid::new_v4())
        .unwrap();
    assert_eq!(other.number, "MT-2026-000002");
    let elsewhere = store
        .allocate_laudo_number(&query("ECV-02", at(10)), id)
        .unwrap();
    assert_eq!(elsewhere.number, "MT-2026-000003");
    // Found by inspection, query and number, with nothing recorded by a commit yet.
    let key = PackageKey::new("ECV-01", id);
    for of in [
        AllocationOf::Inspection(key.clone()),
        AllocationOf::Query(first.query_id),
        AllocationOf::Number("MT-2026-000001".into()),
    ] {
        let found = store.laudo_allocation(&of).unwrap().unwrap();
        assert_eq!(
            (found.key(), found.query_id, found.allocated_at, found.facts),
            (key.clone(), first.query_id, at(10), None),
            "{of:?}"
        );
    }
    assert_eq!(
        store
            .laudo_allocation(&AllocationOf::Number("MT-2026-000009".into()))
            .unwrap(),
        None
    );
}

fn the_commit_uses_the_allocated_number_or_gives_one(store: &dyn MetadataStore) {
    let id = Uuid::new_v4();
    let asked = query("ECV-01", at(10));
    let allocated = store.allocate_laudo_number(&asked, id).unwrap().number;
    // A package of an inspection opened before the update: its query allocated nothing.
    let legacy_query = query("ECV-01", at(10));
    store.insert_query(&legacy_query).unwrap();
    let legacy = package_of(&legacy_query, Uuid::new_v4());
    store.insert_package(&legacy).unwrap();
    let facts = LaudoFacts {
        station_name: Some("Vistoria Centro".into()),
        signature_verified: true,
    };
    let given = store
        .commit_package(
            &legacy.key(),
            at(12),
            &facts,
            &signer(legacy.inspection_id, at(12)),
        )
        .unwrap();
    assert_eq!(
        given.laudo_number, "MT-2026-000002",
        "the next one, at commit"
    );
    let p = package_of(&asked, id);
    store.insert_package(&p).unwrap();
    let receipt = store
        .commit_package(&p.key(), at(12), &facts, &signer(id, at(12)))
        .unwrap();
    assert_eq!(receipt.laudo_number, allocated);
    let found = store
        .laudo_allocation(&AllocationOf::Number(allocated.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(found.facts, Some(facts.clone()));
    // The number given at commit is kept as an allocation too, with its facts.
    let found = store
        .laudo_allocation(&AllocationOf::Inspection(legacy.key()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.number, found.query_id, found.facts),
        (given.laudo_number, legacy_query.query_id, Some(facts))
    );
    // A commit again changes nothing; the counter went on from both.
    let again = store
        .commit_package(&p.key(), at(13), &FACTS, &signer(id, at(13)))
        .unwrap();
    assert_eq!(again.laudo_number, allocated);
    let next = store
        .allocate_laudo_number(&query("ECV-01", at(14)), Uuid::new_v4())
        .unwrap();
    assert_eq!(next.number, "MT-2026-000003");
    // Retention (§9): a purged query takes its number with it.
    store.delete_package(&p.key()).unwrap();
    store.delete_query(asked.query_id).unwrap();
    assert_eq!(
        store
            .laudo_allocation(&AllocationOf::Number(allocated))
            .unwrap(),
        None
    );
}

/// Two instances (two stores on one database) allocate at once: one number per inspection,
/// however many times and through whichever instance it asks, and no number twice.
fn concurrent_allocations_from_two_instances(open: &dyn Fn() -> Arc<dyn MetadataStore>) {
    let (one, two) = (open(), open());
    let ids: Vec<Uuid> = (0..10).map(|_| Uuid::new_v4()).collect();
    let answers: Vec<(Uuid, String, Uuid)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .flat_map(|id| {
                [&one, &two, &one].map(|store| {
                    let store = Arc::clone(store);
                    let id = *id;
                    scope.spawn(move || {
                        let got = store
                            .allocate_laudo_number(&query("ECV-01", at(10)), id)
                            .unwrap();
                        (id, got.number, got.query.query_id)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for three in answers.chunks(3) {
        assert!(
            three
                .iter()
                .all(|a| (&a.1, a.2) == (&three[0].1, three[0].2)),
            "one inspection, one number and one query: {three:?}"
        );
    }
    let mut numbers: Vec<String> = answers.chunks(3).map(|a| a[0].1.clone()).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=10).map(|n| format!("MT-2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "consecutive, none twice, none skipped");
}

on_every_backend!(
    numbers_are_allocated_once_per_inspection_at_the_query,
    the_commit_uses_the_allocated_number_or_gives_one;
    instances: concurrent_allocations_from_two_instances,
);

/// A verified package in a store, as the previous release left it: committed with its number.
fn committed(store: &dyn MetadataStore) -> (PackageRecord, String) {
    let asked = query("ECV-01", at(10));
    store.insert_query(&asked).unwrap();
    let p = package_of(&asked, Uuid::new_v4());
    store.insert_package(&p).unwrap();
    let receipt = store
        .commit_package(&p.key(), at(12), &FACTS, &signer(p.inspection_id, at(12)))
        .unwrap();
    (p, receipt.laudo_number)
}

/// After the migration: the old package and its number are found, without facts (its commit
/// recorded none), its commit counted as its integrity check, and the counter goes on after it.
fn migrated_without_loss(store: &dyn MetadataStore, p: &PackageRecord, number: &str) {
    let found = store
        .laudo_allocation(&AllocationOf::Number(number.to_owned()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.key(), found.query_id, found.allocated_at, found.facts),
        (p.key(), p.query_id, at(12), None)
    );
    let stored = store.package(&p.key()).unwrap().unwrap();
    assert_eq!(stored.receipt.unwrap().laudo_number, number);
    // Its commit read every byte: that is its integrity check (schema 6).
    let checks = store.integrity_checks().unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(
        (
            &checks[0].0,
            checks[0].1.checked_at,
            checks[0].1.problems.len()
        ),
        (&p.key(), at(12), 0)
    );
    let next = store
        .allocate_laudo_number(&query("ECV-01", at(13)), Uuid::new_v4())
        .unwrap();
    assert_eq!(next.number, "MT-2026-000002");
}

#[test]
fn a_version_3_sqlite_file_keeps_its_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    let (p, number) = committed(&SqliteMetadata::open(&path).unwrap());
    // What versions 2 and 3 had: no laudo_numbers table.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE laudo_numbers; DROP TABLE integrity_checks; PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);
    migrated_without_loss(&SqliteMetadata::open(&path).unwrap(), &p, &number);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, vistoria_central::storage::sqlite::SCHEMA_VERSION);
}

#[test]
fn a_postgres_database_before_migration_4_keeps_its_numbers() {
    let db = common::services::TestDatabase::new();
    let (p, number) = committed(&PgMetadata::connect(&db.url, 2).unwrap());
    // What a database of migrations 1 to 3 had: no laudo_numbers table.
    let mut client = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(
            "DROP TABLE laudo_numbers; DROP TABLE retention_runs; DROP INDEX packages_by_age; \
             DROP INDEX queries_by_age; DROP TABLE integrity_checks; DROP TABLE audit_rows; \
             DROP TABLE portal_access_log; DROP TABLE portal_sessions; DROP TABLE portal_accounts; \
             DROP TABLE policies; DROP TABLE releases; DROP TABLE station_inventories; \
             DROP TABLE audit_removed; DROP TABLE audit_mac_checkpoints; \
             DROP TABLE station_hours; DROP TABLE live_frames; \
             DROP TABLE cross_flags; DROP TABLE photo_hashes; DROP TABLE inspection_profiles; \
             DELETE FROM schema_migrations WHERE version >= 4;",
        )
        .unwrap();
    migrated_without_loss(&PgMetadata::connect(&db.url, 2).unwrap(), &p, &number);
}
