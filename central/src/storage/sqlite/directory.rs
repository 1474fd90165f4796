//! [`Directory`] on SQLite: the `users` table and the inspection search (`packages_by_plate`,
//! `packages_by_station`, `packages_by_time`).

use chrono::{DateTime, Utc};
use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, params};

use super::{PACKAGE_COLUMNS, PackageRow, SqliteMetadata, db, parse_ts, ts};
use crate::storage::directory::{
    Directory, InspectionFilter, Role, SearchArg, UserRecord, search_clauses,
};
use crate::storage::{PackageRecord, StorageError, StorageResult, code_of, from_code};

/// The outcome code of a manifest (see [`crate::storage::directory::OutcomeCode`]).
const OUTCOME_SQL: &str = "COALESCE(json_extract(manifest, '$.outcome.verdict.verdict'), \
     CASE WHEN json_type(manifest, '$.outcome.interrupted') IS NOT NULL \
     THEN 'interrupted' END)";

fn user(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, Option<String>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn decode_user(row: (String, String, String, Option<String>)) -> StorageResult<UserRecord> {
    Ok(UserRecord {
        name: row.0,
        role: from_code(&row.1)?,
        created_at: parse_ts(&row.2)?,
        revoked_at: row.3.as_deref().map(parse_ts).transpose()?,
    })
}

/// The search's statement and its parameters.
fn search_sql(filter: &InspectionFilter) -> (String, Vec<Box<dyn ToSql>>) {
    let (clauses, args) = search_clauses(filter, OUTCOME_SQL, '?');
    let args = args
        .into_iter()
        .map(|arg| -> Box<dyn ToSql> {
            match arg {
                SearchArg::Text(text) => Box::new(text),
                SearchArg::Time(t) => Box::new(ts(&t)),
                SearchArg::Id(id) => Box::new(id.to_string()),
            }
        })
        .collect();
    (
        format!("SELECT {PACKAGE_COLUMNS} FROM packages {clauses}"),
        args,
    )
}

impl SqliteMetadata {
    /// SQLite's plan for `filter`'s search (`EXPLAIN QUERY PLAN`, one detail per line): how a
    /// test or an operator checks that a search uses an index.
    pub fn search_plan(&self, filter: &InspectionFilter) -> StorageResult<String> {
        let (sql, args) = search_sql(filter);
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(db)?;
        let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        let rows = stmt
            .query_map(params.as_slice(), |row| row.get::<_, String>(3))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows.join("\n"))
    }
}

impl Directory for SqliteMetadata {
    fn add_user(
        &self,
        name: &str,
        role: Role,
        token_sha256: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let result = self.lock().execute(
            "INSERT INTO users (name, role, token_sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, code_of(&role)?, token_sha256, ts(&at)],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StorageError::AlreadyExists(format!("usuário {name}")))
            }
            Err(e) => Err(db(e)),
        }
    }

    fn user_for_token(&self, token_sha256: &str) -> StorageResult<Option<UserRecord>> {
        let row = self
            .lock()
            .query_row(
                "SELECT name, role, created_at, revoked_at FROM users \
                 WHERE token_sha256 = ?1 AND revoked_at IS NULL",
                [token_sha256],
                user,
            )
            .optional()
            .map_err(db)?;
        row.map(decode_user).transpose()
    }

    fn users(&self) -> StorageResult<Vec<UserRecord>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT name, role, created_at, revoked_at FROM users ORDER BY name")
            .map_err(db)?;
        let rows = stmt
            .query_map([], user)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter().map(decode_user).collect()
    }

    fn revoke_user(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE users SET revoked_at = COALESCE(revoked_at, ?2) WHERE name = ?1",
                params![name, ts(&at)],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn search_packages(&self, filter: &InspectionFilter) -> StorageResult<Vec<PackageRecord>> {
        let (sql, args) = search_sql(filter);
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        let rows = stmt
            .query_map(params.as_slice(), PackageRow::from_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|row| Self::decode(&conn, row))
            .collect()
    }
}
