//! [`PortalStore`] on PostgreSQL (migration 8): `portal_accounts`, `portal_sessions`,
//! `portal_access_log`. A failed attempt is counted with `SELECT … FOR UPDATE`, so instances
//! counting at once each count.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PgMetadata, db, ms};
use crate::storage::portal::{
    AccessEntry, FailureOutcome, PortalAccount, PortalRole, PortalSession, PortalStore,
    StationActivity,
};
use crate::storage::{StorageError, StorageResult};

/// Migration 8 (issue 22).
pub(super) const MIGRATION: &str = "
CREATE TABLE portal_accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    station TEXT,
    password_hash TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);
CREATE TABLE portal_sessions (
    id_sha256 TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES portal_accounts(name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX portal_sessions_by_account ON portal_sessions (account);
CREATE TABLE portal_access_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    account TEXT NOT NULL,
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    what TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX portal_access_by_inspection ON portal_access_log (station, inspection_id, id);
";

const ACCOUNT_COLUMNS: &str =
    "name, role, station, password_hash, failures, locked_until, created_at, disabled_at";

fn decode_account(row: &::postgres::Row) -> StorageResult<PortalAccount> {
    Ok(PortalAccount {
        name: row.get(0),
        role: PortalRole::from_stored(row.get::<_, &str>(1), row.get(2))?,
        password_hash: row.get(3),
        failures: u32::try_from(row.get::<_, i32>(4))
            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
        locked_until: row.get(5),
        created_at: row.get(6),
        disabled_at: row.get(7),
    })
}

fn get_account(
    client: &mut impl ::postgres::GenericClient,
    name: &str,
) -> StorageResult<Option<PortalAccount>> {
    client
        .query_opt(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE name = $1"),
            &[&name],
        )
        .map_err(db)?
        .as_ref()
        .map(decode_account)
        .transpose()
}

impl PortalStore for PgMetadata {
    fn put_portal_account(
        &self,
        name: &str,
        role: &PortalRole,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO portal_accounts (name, role, station, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, station = excluded.station, \
             password_hash = excluded.password_hash, failures = 0, locked_until = NULL, \
             disabled_at = NULL",
            &[
                &name,
                &role.code(),
                &role.station(),
                &password_hash,
                &ms(&at),
            ],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM portal_sessions WHERE account = $1", &[&name])
            .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn portal_account(&self, name: &str) -> StorageResult<Option<PortalAccount>> {
        get_account(&mut *self.conn()?, name)
    }

    fn portal_accounts(&self) -> StorageResult<Vec<PortalAccount>> {
        self.conn()?
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts ORDER BY name"),
                &[],
            )
            .map_err(db)?
            .iter()
            .map(decode_account)
            .collect()
    }

    fn disable_portal_account(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let changed = tx
            .execute(
                "UPDATE portal_accounts SET disabled_at = COALESCE(disabled_at, $2) WHERE name = $1",
                &[&name, &ms(&at)],
            )
            .map_err(db)?;
        tx.execute("DELETE FROM portal_sessions WHERE account = $1", &[&name])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(changed == 1)
    }

    fn enable_portal_account(&self, name: &str) -> StorageResult<bool> {
        let changed = self
            .conn()?
            .execute(
                "UPDATE portal_accounts SET disabled_at = NULL, failures = 0, locked_until = NULL \
                 WHERE name = $1",
                &[&name],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn record_login_failure(
        &self,
        name: &str,
        now: DateTime<Utc>,
        max: u32,
        lock_for: chrono::Duration,
    ) -> StorageResult<FailureOutcome> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let Some(row) = tx
            .query_opt(
                "SELECT failures FROM portal_accounts WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .map_err(db)?
        else {
            return Ok(FailureOutcome::Counted(0));
        };
        let failures = u32::try_from(row.get::<_, i32>(0) + 1).unwrap_or(u32::MAX);
        let outcome = if failures >= max {
            let until = ms(&(now + lock_for));
            tx.execute(
                "UPDATE portal_accounts SET failures = 0, locked_until = $2 WHERE name = $1",
                &[&name, &until],
            )
            .map_err(db)?;
            FailureOutcome::Locked(until)
        } else {
            let stored = i32::try_from(failures).unwrap_or(i32::MAX);
            tx.execute(
                "UPDATE portal_accounts SET failures = $2 WHERE name = $1",
                &[&name, &stored],
            )
            .map_err(db)?;
            FailureOutcome::Counted(failures)
        };
        tx.commit().map_err(db)?;
        Ok(outcome)
    }

    fn record_login_success(&self, name: &str) -> StorageResult<()> {
        self.conn()?
            .execute(
                "UPDATE portal_accounts SET failures = 0, locked_until = NULL WHERE name = $1",
                &[&name],
            )
            .map_err(db)?;
        Ok(())
    }

    fn create_session(&self, session: &PortalSession) -> StorageResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO portal_sessions \
                 (id_sha256, account, csrf_token, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &session.id_sha256,
                    &session.account,
                    &session.csrf_token,
                    &ms(&session.created_at),
                    &ms(&session.last_seen_at),
                    &ms(&session.expires_at),
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn live_session(
        &self,
        id_sha256: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> StorageResult<Option<(PortalSession, PortalAccount)>> {
        let mut conn = self.conn()?;
        let Some(row) = conn
            .query_opt(
                "SELECT account, csrf_token, created_at, last_seen_at, expires_at \
                 FROM portal_sessions WHERE id_sha256 = $1",
                &[&id_sha256],
            )
            .map_err(db)?
        else {
            return Ok(None);
        };
        let session = PortalSession {
            id_sha256: id_sha256.to_owned(),
            account: row.get(0),
            csrf_token: row.get(1),
            created_at: row.get(2),
            last_seen_at: row.get(3),
            expires_at: row.get(4),
        };
        let person = get_account(&mut *conn, &session.account)?;
        let live = now < session.expires_at && now < session.last_seen_at + idle;
        match person {
            Some(person) if live && person.disabled_at.is_none() => {
                let now = ms(&now);
                conn.execute(
                    "UPDATE portal_sessions SET last_seen_at = $2 WHERE id_sha256 = $1",
                    &[&id_sha256, &now],
                )
                .map_err(db)?;
                Ok(Some((
                    PortalSession {
                        last_seen_at: now,
                        ..session
                    },
                    person,
                )))
            }
            _ => {
                conn.execute(
                    "DELETE FROM portal_sessions WHERE id_sha256 = $1",
                    &[&id_sha256],
                )
                .map_err(db)?;
                Ok(None)
            }
        }
    }

    fn end_session(&self, id_sha256: &str) -> StorageResult<()> {
        self.conn()?
            .execute(
                "DELETE FROM portal_sessions WHERE id_sha256 = $1",
                &[&id_sha256],
            )
            .map_err(db)?;
        Ok(())
    }

    fn log_access(&self, entry: &AccessEntry) -> StorageResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO portal_access_log \
                 (at, account, station, inspection_id, what, address) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &ms(&entry.at),
                    &entry.account,
                    &entry.station,
                    &entry.inspection_id,
                    &entry.what,
                    &entry.address,
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn access_log(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AccessEntry>> {
        Ok(self
            .conn()?
            .query(
                "SELECT at, account, station, inspection_id, what, address \
                 FROM portal_access_log WHERE station = $1 AND inspection_id = $2 ORDER BY id",
                &[&station, &inspection_id],
            )
            .map_err(db)?
            .iter()
            .map(|row| AccessEntry {
                at: row.get(0),
                account: row.get(1),
                station: row.get(2),
                inspection_id: row.get(3),
                what: row.get(4),
                address: row.get(5),
            })
            .collect())
    }

    fn station_activity(&self) -> StorageResult<Vec<StationActivity>> {
        Ok(self
            .conn()?
            .query(
                "SELECT s.code, s.token_sha256 LIKE 'revogado:%', \
                 (SELECT MAX(first_seen_at) FROM packages p WHERE p.station = s.code), \
                 (SELECT COUNT(*) FROM packages p WHERE p.station = s.code \
                  AND p.status <> 'verified') \
                 FROM stations s ORDER BY s.code",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(|row| StationActivity {
                code: row.get(0),
                revoked: row.get(1),
                last_package_at: row.get(2),
                pending_packages: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
            })
            .collect())
    }
}
