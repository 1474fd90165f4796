//! [`PortalStore`] on SQLite (schema version 8): `portal_accounts`, `portal_sessions`,
//! `portal_access_log`.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteMetadata, db, parse_ts, parse_uuid, ts};
use crate::storage::portal::{
    AccessEntry, FailureOutcome, PortalAccount, PortalRole, PortalSession, PortalStore,
    StationActivity,
};
use crate::storage::{StorageError, StorageResult};

/// The portal's tables (issue 22). Sessions and the log name accounts by their name, which is
/// never reused (`users.rs`), so the log stays unambiguous after an account is disabled.
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS portal_accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    station TEXT,
    password_hash TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE IF NOT EXISTS portal_sessions (
    id_sha256 TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES portal_accounts(name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_sessions_by_account ON portal_sessions(account);
CREATE TABLE IF NOT EXISTS portal_access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    account TEXT NOT NULL,
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    what TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_access_by_inspection
    ON portal_access_log(station, inspection_id, id);
";

const ACCOUNT_COLUMNS: &str =
    "name, role, station, password_hash, failures, locked_until, created_at, disabled_at";

type AccountRow = (
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    String,
    Option<String>,
);

fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

fn decode_account(row: AccountRow) -> StorageResult<PortalAccount> {
    Ok(PortalAccount {
        name: row.0,
        role: PortalRole::from_stored(&row.1, row.2)?,
        password_hash: row.3,
        failures: u32::try_from(row.4).map_err(|e| StorageError::Corrupt(e.to_string()))?,
        locked_until: row.5.as_deref().map(parse_ts).transpose()?,
        created_at: parse_ts(&row.6)?,
        disabled_at: row.7.as_deref().map(parse_ts).transpose()?,
    })
}

fn get_account(conn: &rusqlite::Connection, name: &str) -> StorageResult<Option<PortalAccount>> {
    conn.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM portal_accounts WHERE name = ?1"),
        [name],
        account_row,
    )
    .optional()
    .map_err(db)?
    .map(decode_account)
    .transpose()
}

impl PortalStore for SqliteMetadata {
    fn put_portal_account(
        &self,
        name: &str,
        role: &PortalRole,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO portal_accounts (name, role, station, password_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, station = excluded.station, \
             password_hash = excluded.password_hash, failures = 0, locked_until = NULL, \
             disabled_at = NULL",
            params![name, role.code(), role.station(), password_hash, ts(&at)],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM portal_sessions WHERE account = ?1", [name])
            .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn portal_account(&self, name: &str) -> StorageResult<Option<PortalAccount>> {
        get_account(&self.lock(), name)
    }

    fn portal_accounts(&self) -> StorageResult<Vec<PortalAccount>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM portal_accounts ORDER BY name"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map([], account_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter().map(decode_account).collect()
    }

    fn disable_portal_account(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        let changed = tx
            .execute(
                "UPDATE portal_accounts SET disabled_at = COALESCE(disabled_at, ?2) WHERE name = ?1",
                params![name, ts(&at)],
            )
            .map_err(db)?;
        tx.execute("DELETE FROM portal_sessions WHERE account = ?1", [name])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(changed == 1)
    }

    fn enable_portal_account(&self, name: &str) -> StorageResult<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE portal_accounts SET disabled_at = NULL, failures = 0, locked_until = NULL \
                 WHERE name = ?1",
                [name],
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
        let mut conn = self.lock();
        // IMMEDIATE: the read and the write are one step for every process using the file.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let failures: Option<i64> = tx
            .query_row(
                "SELECT failures FROM portal_accounts WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
        let Some(failures) = failures else {
            return Ok(FailureOutcome::Counted(0));
        };
        let failures = u32::try_from(failures + 1).unwrap_or(u32::MAX);
        let outcome = if failures >= max {
            let until = now + lock_for;
            tx.execute(
                "UPDATE portal_accounts SET failures = 0, locked_until = ?2 WHERE name = ?1",
                params![name, ts(&until)],
            )
            .map_err(db)?;
            FailureOutcome::Locked(until)
        } else {
            tx.execute(
                "UPDATE portal_accounts SET failures = ?2 WHERE name = ?1",
                params![name, failures],
            )
            .map_err(db)?;
            FailureOutcome::Counted(failures)
        };
        tx.commit().map_err(db)?;
        Ok(outcome)
    }

    fn record_login_success(&self, name: &str) -> StorageResult<()> {
        self.lock()
            .execute(
                "UPDATE portal_accounts SET failures = 0, locked_until = NULL WHERE name = ?1",
                [name],
            )
            .map_err(db)?;
        Ok(())
    }

    fn create_session(&self, session: &PortalSession) -> StorageResult<()> {
        self.lock()
            .execute(
                "INSERT INTO portal_sessions \
                 (id_sha256, account, csrf_token, created_at, last_seen_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    session.id_sha256,
                    session.account,
                    session.csrf_token,
                    ts(&session.created_at),
                    ts(&session.last_seen_at),
                    ts(&session.expires_at)
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
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT account, csrf_token, created_at, last_seen_at, expires_at \
                 FROM portal_sessions WHERE id_sha256 = ?1",
                [id_sha256],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        let Some((account, csrf_token, created_at, last_seen_at, expires_at)) = row else {
            return Ok(None);
        };
        let session = PortalSession {
            id_sha256: id_sha256.to_owned(),
            account,
            csrf_token,
            created_at: parse_ts(&created_at)?,
            last_seen_at: parse_ts(&last_seen_at)?,
            expires_at: parse_ts(&expires_at)?,
        };
        let person = get_account(&conn, &session.account)?;
        let live = now < session.expires_at && now < session.last_seen_at + idle;
        match person {
            Some(person) if live && person.disabled_at.is_none() => {
                conn.execute(
                    "UPDATE portal_sessions SET last_seen_at = ?2 WHERE id_sha256 = ?1",
                    params![id_sha256, ts(&now)],
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
                    "DELETE FROM portal_sessions WHERE id_sha256 = ?1",
                    [id_sha256],
                )
                .map_err(db)?;
                Ok(None)
            }
        }
    }

    fn end_session(&self, id_sha256: &str) -> StorageResult<()> {
        self.lock()
            .execute(
                "DELETE FROM portal_sessions WHERE id_sha256 = ?1",
                [id_sha256],
            )
            .map_err(db)?;
        Ok(())
    }

    fn log_access(&self, entry: &AccessEntry) -> StorageResult<()> {
        self.lock()
            .execute(
                "INSERT INTO portal_access_log \
                 (at, account, station, inspection_id, what, address) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    ts(&entry.at),
                    entry.account,
                    entry.station,
                    entry.inspection_id.to_string(),
                    entry.what,
                    entry.address
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn access_log(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AccessEntry>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT at, account, station, inspection_id, what, address \
                 FROM portal_access_log WHERE station = ?1 AND inspection_id = ?2 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![station, inspection_id.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(at, account, station, id, what, address)| {
                Ok(AccessEntry {
                    at: parse_ts(&at)?,
                    account,
                    station,
                    inspection_id: parse_uuid(&id)?,
                    what,
                    address,
                })
            })
            .collect()
    }

    fn station_activity(&self) -> StorageResult<Vec<StationActivity>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT s.code, s.token_sha256 LIKE 'revogado:%', \
                 (SELECT MAX(first_seen_at) FROM packages p WHERE p.station = s.code), \
                 (SELECT COUNT(*) FROM packages p WHERE p.station = s.code \
                  AND p.status <> 'verified') \
                 FROM stations s ORDER BY s.code",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, bool>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(code, revoked, last, pending)| {
                Ok(StationActivity {
                    code,
                    revoked,
                    last_package_at: last.as_deref().map(parse_ts).transpose()?,
                    pending_packages: u64::try_from(pending).unwrap_or(0),
                })
            })
            .collect()
    }
}
