//! The Detran API's part of the storage contract: people's credentials and the inspection
//! search, on both backends.

use super::*;
use std::collections::HashSet;
use vistoria_central::storage::directory::{InspectionFilter, OutcomeCode, Role, SearchPosition};
use vistoria_core::domain::{Interruption, InterruptionCause, Outcome, Plate, Verdict};

pub fn users_are_added_found_listed_and_revoked(store: &dyn MetadataStore) {
    store.add_user("aud", Role::Detran, "h1", at(1)).unwrap();
    store.add_user("adm", Role::Admin, "h2", at(2)).unwrap();
    // A name or a token hash is never taken twice.
    assert!(matches!(
        store.add_user("aud", Role::Admin, "h3", at(3)),
        Err(StorageError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.add_user("other", Role::Detran, "h1", at(3)),
        Err(StorageError::AlreadyExists(_))
    ));
    let aud = store.user_for_token("h1").unwrap().unwrap();
    assert_eq!((aud.name.as_str(), aud.role), ("aud", Role::Detran));
    assert_eq!(aud.created_at, at(1));
    assert_eq!(
        store.user_for_token("h2").unwrap().unwrap().role,
        Role::Admin
    );
    assert_eq!(store.user_for_token("nope").unwrap(), None);
    // Station tokens and people's tokens are apart.
    store.add_station("ECV-09", "h9", at(1)).unwrap();
    assert_eq!(store.user_for_token("h9").unwrap(), None);
    assert_eq!(store.station_for_token("h1").unwrap(), None);

    assert!(store.revoke_user("aud", at(4)).unwrap());
    assert_eq!(store.user_for_token("h1").unwrap(), None);
    // A second revocation keeps the first time; an unknown name is said so.
    assert!(store.revoke_user("aud", at(5)).unwrap());
    assert!(!store.revoke_user("nobody", at(5)).unwrap());
    let all = store.users().unwrap();
    let names: Vec<_> = all.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["adm", "aud"]);
    assert_eq!(all[1].revoked_at, Some(at(4)));
    assert_eq!(all[0].revoked_at, None);
}

/// A package of `station` for `plate`, first seen at `seen`, ending as `outcome` says.
fn variant(station: &str, plate: &str, outcome: OutcomeCode, seen: DateTime<Utc>) -> PackageRecord {
    let mut p = package(Uuid::new_v4());
    p.manifest.station = station.into();
    p.manifest.plate = Plate::parse(plate).unwrap();
    p.manifest.outcome = match outcome {
        OutcomeCode::Conforming => Outcome::Verdict(Verdict::Conforming),
        OutcomeCode::NonConforming => Outcome::Verdict(Verdict::NonConforming { items: vec![] }),
        OutcomeCode::Interrupted => Outcome::Interrupted(Interruption {
            cause: InterruptionCause::CustomerGaveUp,
            note: String::new(),
            at: seen,
            unsigned_verdict: None,
        }),
    };
    let value = serde_json::to_value(&p.manifest).unwrap();
    p.manifest_json = canonical_json(&value);
    p.manifest_sha256 = manifest_sha256(&value);
    p.station = station.into();
    p.plate = plate.into();
    p.first_seen_at = seen;
    p
}

/// Every page of `filter` (`limit` rows each), following the positions.
fn all_pages(store: &dyn MetadataStore, filter: &InspectionFilter) -> Vec<Vec<PackageRecord>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search_packages(&InspectionFilter {
                after: after.clone(),
                ..filter.clone()
            })
            .unwrap();
        if page.is_empty() {
            return pages;
        }
        after = page.last().map(SearchPosition::of);
        pages.push(page);
    }
}

fn keys(rows: &[PackageRecord]) -> Vec<PackageKey> {
    rows.iter().map(PackageRecord::key).collect()
}

pub fn search_filters_and_pages_cover_every_row_once(store: &dyn MetadataStore) {
    let outcomes = [
        OutcomeCode::Conforming,
        OutcomeCode::NonConforming,
        OutcomeCode::Interrupted,
    ];
    let mut all = Vec::new();
    for i in 0..23u32 {
        let station = if i % 2 == 0 { "ECV-01" } else { "ECV-02" };
        let plate = if i % 3 == 0 { "XYZ9A87" } else { "ABC1D23" };
        // Ties in time: the order falls back on station, then inspection id.
        let p = variant(station, plate, outcomes[(i % 3) as usize], at(i / 4));
        assert_eq!(store.insert_package(&p).unwrap(), InsertOutcome::Inserted);
        all.push(p);
    }
    // The expected order: newest first, then station and id descending.
    all.sort_by(|a, b| {
        (b.first_seen_at, &b.station, b.inspection_id).cmp(&(
            a.first_seen_at,
            &a.station,
            a.inspection_id,
        ))
    });
    let everything = InspectionFilter {
        limit: 5,
        ..InspectionFilter::default()
    };
    let pages = all_pages(store, &everything);
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().all(|p| p.len() <= 5));
    let seen: Vec<PackageKey> = pages.iter().flat_map(|p| keys(p)).collect();
    assert_eq!(seen, keys(&all), "each row once, in order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);
    // Rows come back whole.
    assert_eq!(pages[0][0], all[0]);

    let expect = |filter: InspectionFilter, want: &dyn Fn(&PackageRecord) -> bool| {
        let got: Vec<PackageKey> = all_pages(store, &filter)
            .iter()
            .flat_map(|p| keys(p))
            .collect();
        let wanted: Vec<PackageKey> = all
            .iter()
            .filter(|p| want(p))
            .map(PackageRecord::key)
            .collect();
        assert!(!wanted.is_empty(), "{filter:?} must match something");
        assert_eq!(got, wanted, "{filter:?}");
    };
    expect(
        InspectionFilter {
            plates: vec!["XYZ9A87".into()],
            limit: 2,
            ..InspectionFilter::default()
        },
        &|p| p.plate == "XYZ9A87",
    );
    expect(
        InspectionFilter {
            plates: vec!["XYZ9A87".into(), "ABC1D23".into()],
            limit: 6,
            ..InspectionFilter::default()
        },
        &|_| true,
    );
    expect(
        InspectionFilter {
            station: Some("ECV-02".into()),
            limit: 3,
            ..InspectionFilter::default()
        },
        &|p| p.station == "ECV-02",
    );
    expect(
        InspectionFilter {
            from: Some(at(2)),
            to: Some(at(4)),
            limit: 4,
            ..InspectionFilter::default()
        },
        &|p| p.first_seen_at >= at(2) && p.first_seen_at < at(4),
    );
    for outcome in outcomes {
        expect(
            InspectionFilter {
                outcome: Some(outcome),
                limit: 4,
                ..InspectionFilter::default()
            },
            &|p| match outcome {
                OutcomeCode::Conforming => {
                    p.manifest.outcome == Outcome::Verdict(Verdict::Conforming)
                }
                OutcomeCode::NonConforming => matches!(
                    p.manifest.outcome,
                    Outcome::Verdict(Verdict::NonConforming { .. })
                ),
                OutcomeCode::Interrupted => matches!(p.manifest.outcome, Outcome::Interrupted(_)),
            },
        );
    }
    expect(
        InspectionFilter {
            plates: vec!["ABC1D23".into()],
            station: Some("ECV-01".into()),
            outcome: Some(OutcomeCode::NonConforming),
            limit: 1,
            ..InspectionFilter::default()
        },
        &|p| {
            p.plate == "ABC1D23"
                && p.station == "ECV-01"
                && matches!(
                    p.manifest.outcome,
                    Outcome::Verdict(Verdict::NonConforming { .. })
                )
        },
    );
    // A committed package is found with its laudo number.
    let first = &all[0];
    store
        .commit_package(
            &first.key(),
            at(20),
            &FACTS,
            &signer(first.inspection_id, at(20)),
        )
        .unwrap();
    let found = store
        .search_packages(&InspectionFilter {
            limit: 1,
            ..InspectionFilter::default()
        })
        .unwrap();
    assert!(found[0].receipt.is_some());
    assert_eq!(found[0].key(), first.key());
}

/// The plate search is an index search on both backends.
#[test]
fn the_plate_search_uses_an_index_on_sqlite() {
    let store = SqliteMetadata::in_memory().unwrap();
    let plan = store
        .search_plan(&InspectionFilter {
            plates: vec!["ABC1D23".into()],
            limit: 100,
            ..InspectionFilter::default()
        })
        .unwrap();
    assert!(plan.contains("packages_by_plate"), "{plan}");
}

#[test]
fn the_plate_search_uses_an_index_on_postgres() {
    let db = common::services::TestDatabase::new();
    let store = PgMetadata::connect(&db.url, 2).unwrap();
    let plan = store
        .search_plan(&InspectionFilter {
            plates: vec!["ABC1D23".into()],
            limit: 100,
            ..InspectionFilter::default()
        })
        .unwrap();
    assert!(plan.contains("packages_by_plate"), "{plan}");
}
