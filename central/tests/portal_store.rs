//! The portal's storage contract (issue 22) on every metadata backend — SQLite and a real
//! PostgreSQL 15 (`common::services`): accounts with their roles, sessions found only by their
//! hash and only while live (idle and absolute expiry, logout, a new password, a disabled
//! account), failures counted and the lock-out stored with its end, even when two instances
//! count at once, and the access log kept per inspection.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;
use vistoria_central::storage::MetadataStore;
use vistoria_central::storage::portal::{AccessEntry, FailureOutcome, PortalRole, PortalSession};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

fn session(id: &str, account: &str, now: DateTime<Utc>) -> PortalSession {
    PortalSession {
        id_sha256: id.into(),
        account: account.into(),
        csrf_token: format!("csrf-{id}"),
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(10),
    }
}

const IDLE: Duration = Duration::minutes(30);

fn accounts_keep_their_role_and_station(store: &dyn MetadataStore) {
    let manager = PortalRole::Gestor {
        station: "ECV-02".into(),
    };
    store
        .put_portal_account("gestora", &manager, "$argon2id$h1", t0())
        .unwrap();
    store
        .put_portal_account("auditor", &PortalRole::Detran, "$argon2id$h2", t0())
        .unwrap();
    let found = store.portal_account("gestora").unwrap().unwrap();
    assert_eq!(found.role, manager);
    assert_eq!(found.password_hash, "$argon2id$h1");
    assert_eq!(
        (found.failures, found.locked_until, found.disabled_at),
        (0, None, None)
    );
    assert_eq!(found.created_at, t0());
    let names: Vec<String> = store
        .portal_accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["auditor", "gestora"]);
    assert!(store.portal_account("ninguem").unwrap().is_none());
}

fn sessions_live_until_idle_absolute_or_logout(store: &dyn MetadataStore) {
    store
        .put_portal_account("auditor", &PortalRole::Detran, "$argon2id$h", t0())
        .unwrap();
    store
        .create_session(&session("s1", "auditor", t0()))
        .unwrap();
    // Used within the idle time: live, and its last use moves.
    let later = t0() + Duration::minutes(20);
    let (s, account) = store.live_session("s1", later, IDLE).unwrap().unwrap();
    assert_eq!(
        (s.account.as_str(), s.csrf_token.as_str()),
        ("auditor", "csrf-s1")
    );
    assert_eq!((s.last_seen_at, account.name.as_str()), (later, "auditor"));
    let still = later + Duration::minutes(29);
    assert!(store.live_session("s1", still, IDLE).unwrap().is_some());
    // Idle past 30 minutes: gone, for good.
    assert!(
        store
            .live_session("s1", still + Duration::minutes(31), IDLE)
            .unwrap()
            .is_none()
    );
    assert!(store.live_session("s1", still, IDLE).unwrap().is_none());
    // Absolute expiry, however used.
    store
        .create_session(&session("s2", "auditor", t0()))
        .unwrap();
    let mut now = t0();
    while now < t0() + Duration::hours(10) - Duration::minutes(20) {
        now += Duration::minutes(20);
        assert!(
            store.live_session("s2", now, IDLE).unwrap().is_some(),
            "{now}"
        );
    }
    assert!(
        store
            .live_session("s2", t0() + Duration::hours(10), IDLE)
            .unwrap()
            .is_none()
    );
    // Logout.
    store
        .create_session(&session("s3", "auditor", t0()))
        .unwrap();
    store.end_session("s3").unwrap();
    assert!(store.live_session("s3", t0(), IDLE).unwrap().is_none());
    // A new password ends the account's sessions; disabling it too.
    store
        .create_session(&session("s4", "auditor", t0()))
        .unwrap();
    store
        .put_portal_account("auditor", &PortalRole::Detran, "$argon2id$new", t0())
        .unwrap();
    assert!(store.live_session("s4", t0(), IDLE).unwrap().is_none());
    store
        .create_session(&session("s5", "auditor", t0()))
        .unwrap();
    assert!(store.disable_portal_account("auditor", t0()).unwrap());
    assert!(store.live_session("s5", t0(), IDLE).unwrap().is_none());
    assert!(!store.disable_portal_account("ninguem", t0()).unwrap());
    // An unknown id is no session.
    assert!(store.live_session("nada", t0(), IDLE).unwrap().is_none());
}

fn failures_lock_the_account_until_a_time(store: &dyn MetadataStore) {
    store
        .put_portal_account("gestora", &PortalRole::Admin, "$argon2id$h", t0())
        .unwrap();
    let lock = Duration::minutes(15);
    for n in 1..5 {
        assert_eq!(
            store
                .record_login_failure("gestora", t0(), 5, lock)
                .unwrap(),
            FailureOutcome::Counted(n)
        );
    }
    assert_eq!(
        store.portal_account("gestora").unwrap().unwrap().failures,
        4
    );
    assert_eq!(
        store
            .record_login_failure("gestora", t0(), 5, lock)
            .unwrap(),
        FailureOutcome::Locked(t0() + lock)
    );
    let locked = store.portal_account("gestora").unwrap().unwrap();
    assert_eq!(
        (locked.failures, locked.locked_until),
        (0, Some(t0() + lock))
    );
    // A success clears the count and the lock; so does a new password.
    store
        .record_login_failure("gestora", t0(), 5, lock)
        .unwrap();
    store.record_login_success("gestora").unwrap();
    let cleared = store.portal_account("gestora").unwrap().unwrap();
    assert_eq!((cleared.failures, cleared.locked_until), (0, None));
    for _ in 0..5 {
        store
            .record_login_failure("gestora", t0(), 5, lock)
            .unwrap();
    }
    store
        .put_portal_account("gestora", &PortalRole::Admin, "$argon2id$novo", t0())
        .unwrap();
    assert_eq!(
        store
            .portal_account("gestora")
            .unwrap()
            .unwrap()
            .locked_until,
        None
    );
    // An unknown login counts nothing and locks nothing.
    assert_eq!(
        store
            .record_login_failure("ninguem", t0(), 5, lock)
            .unwrap(),
        FailureOutcome::Counted(0)
    );
}

fn the_access_log_is_kept_per_inspection(store: &dyn MetadataStore) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    for (i, (id, what)) in [(a, "inspection"), (b, "inspection"), (a, "front.jpg")]
        .into_iter()
        .enumerate()
    {
        store
            .log_access(&AccessEntry {
                at: t0() + Duration::seconds(i as i64),
                account: "auditor".into(),
                station: "ECV-01".into(),
                inspection_id: id,
                what: what.into(),
                address: "127.0.0.1".into(),
            })
            .unwrap();
    }
    let log = store.access_log("ECV-01", a).unwrap();
    let whats: Vec<&str> = log.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(whats, ["inspection", "front.jpg"]);
    assert_eq!(log[1].at, t0() + Duration::seconds(2));
    assert_eq!(log[0].address, "127.0.0.1");
    assert!(store.access_log("ECV-02", a).unwrap().is_empty());
}

/// Two instances counting failures of one account at once: every failure counts, and exactly
/// one of them locks.
fn concurrent_failures_from_two_instances(open: &dyn Fn() -> Arc<dyn MetadataStore>) {
    let first = open();
    first
        .put_portal_account("alvo", &PortalRole::Detran, "$argon2id$h", t0())
        .unwrap();
    let stores = [first, open()];
    let outcomes: Vec<FailureOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let store = Arc::clone(&stores[i % 2]);
                scope.spawn(move || {
                    store
                        .record_login_failure("alvo", t0(), 10, Duration::minutes(15))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let locks = outcomes
        .iter()
        .filter(|o| matches!(o, FailureOutcome::Locked(_)))
        .count();
    let mut counts: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| match o {
            FailureOutcome::Counted(n) => Some(*n),
            FailureOutcome::Locked(_) => None,
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(locks, 1, "{outcomes:?}");
    assert_eq!(counts, (1..10).collect::<Vec<_>>());
}

on_every_backend!(
    accounts_keep_their_role_and_station,
    sessions_live_until_idle_absolute_or_logout,
    failures_lock_the_account_until_a_time,
    the_access_log_is_kept_per_inspection;
    instances: concurrent_failures_from_two_instances,
);
