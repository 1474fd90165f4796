//! The help desk's roles in the portal's store (issue 23) on both metadata backends — SQLite
//! and a real PostgreSQL 15 (`common::services`): a technician's account keeps its role and no
//! station, sees no inspection; the administrators' page locks an account (its sessions end)
//! and unlocks it with the same password, failures and lock-out cleared.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use vistoria_central::storage::MetadataStore;
use vistoria_central::storage::portal::{FailureOutcome, PortalRole, PortalSession};
use vistoria_central::storage::postgres::PgMetadata;
use vistoria_central::storage::sqlite::SqliteMetadata;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
}

fn session(id: &str, account: &str) -> PortalSession {
    PortalSession {
        id_sha256: id.into(),
        account: account.into(),
        csrf_token: format!("csrf-{id}"),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(10),
    }
}

fn a_technician_is_stored_as_such(store: &dyn MetadataStore) {
    store
        .put_portal_account("tecnica", &PortalRole::Tecnico, "$argon2id$h", t0())
        .unwrap();
    let account = store.portal_account("tecnica").unwrap().unwrap();
    assert_eq!(account.role, PortalRole::Tecnico);
    assert_eq!(account.role.code(), "tecnico");
    assert_eq!(account.role.station(), None);
    assert!(account.role.in_helpdesk());
    assert!(!account.role.sees_inspections());
    assert!(!account.role.may_see("ECV-01"));
    assert!(PortalRole::Admin.in_helpdesk());
    assert!(!PortalRole::Detran.in_helpdesk());
    assert!(
        store
            .portal_accounts()
            .unwrap()
            .iter()
            .any(|a| a.name == "tecnica" && a.role == PortalRole::Tecnico)
    );
}

fn lock_and_unlock_keep_the_password(store: &dyn MetadataStore) {
    store
        .put_portal_account("tecnico", &PortalRole::Tecnico, "$argon2id$h", t0())
        .unwrap();
    store.create_session(&session("s1", "tecnico")).unwrap();
    for _ in 0..5 {
        store
            .record_login_failure("tecnico", t0(), 5, Duration::minutes(15))
            .unwrap();
    }
    assert!(
        store
            .portal_account("tecnico")
            .unwrap()
            .unwrap()
            .locked_until
            .is_some()
    );

    assert!(store.disable_portal_account("tecnico", t0()).unwrap());
    assert!(
        store
            .live_session("s1", t0(), Duration::minutes(30))
            .unwrap()
            .is_none(),
        "locking ends the sessions"
    );
    assert!(store.enable_portal_account("tecnico").unwrap());
    let account = store.portal_account("tecnico").unwrap().unwrap();
    assert_eq!(account.disabled_at, None);
    assert_eq!(account.locked_until, None);
    assert_eq!(account.failures, 0);
    assert_eq!(account.password_hash, "$argon2id$h");
    assert_eq!(
        store
            .record_login_failure("tecnico", t0(), 5, Duration::minutes(15))
            .unwrap(),
        FailureOutcome::Counted(1)
    );
    assert!(!store.enable_portal_account("ninguem").unwrap());
}

mod on_sqlite {
    use super::*;

    #[test]
    fn a_technician_is_stored_as_such() {
        super::a_technician_is_stored_as_such(&SqliteMetadata::in_memory().unwrap());
    }

    #[test]
    fn lock_and_unlock_keep_the_password() {
        super::lock_and_unlock_keep_the_password(&SqliteMetadata::in_memory().unwrap());
    }
}

mod on_postgres {
    use super::common::services::TestDatabase;
    use super::*;

    #[test]
    fn a_technician_is_stored_as_such() {
        let db = TestDatabase::new();
        super::a_technician_is_stored_as_such(&PgMetadata::connect(&db.url, 4).unwrap());
    }

    #[test]
    fn lock_and_unlock_keep_the_password() {
        let db = TestDatabase::new();
        super::lock_and_unlock_keep_the_password(&PgMetadata::connect(&db.url, 4).unwrap());
    }
}
