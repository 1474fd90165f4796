//! [`Directory`] on PostgreSQL: the `users` table (migration 3) and the inspection search
//! (`packages_by_plate_in_order`, `packages_by_station_in_order`, `packages_in_order`).

use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};

use super::{PACKAGE_COLUMNS, PgMetadata, db, is_unique_violation, ms};
use crate::storage::directory::{
    Directory, InspectionFilter, Role, SearchArg, UserRecord, search_clauses,
};
use crate::storage::{PackageRecord, StorageError, StorageResult, code_of, from_code};

/// The outcome code of a manifest (see [`crate::storage::directory::OutcomeCode`]).
const OUTCOME_SQL: &str = "COALESCE(manifest::jsonb #>> '{outcome,verdict,verdict}', \
     CASE WHEN (manifest::jsonb #> '{outcome,interrupted}') IS NOT NULL \
     THEN 'interrupted' END)";

fn decode_user(row: &::postgres::Row) -> StorageResult<UserRecord> {
    Ok(UserRecord {
        name: row.get(0),
        role: from_code(row.get::<_, &str>(1))?,
        created_at: row.get(2),
        revoked_at: row.get(3),
    })
}

/// The search's statement and its parameters.
fn search_sql(filter: &InspectionFilter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let (clauses, args) = search_clauses(filter, OUTCOME_SQL, '$');
    let args = args
        .into_iter()
        .map(|arg| -> Box<dyn ToSql + Sync> {
            match arg {
                SearchArg::Text(text) => Box::new(text),
                SearchArg::Time(t) => Box::new(ms(&t)),
                SearchArg::Id(id) => Box::new(id),
            }
        })
        .collect();
    (
        format!("SELECT {PACKAGE_COLUMNS} FROM packages {clauses}"),
        args,
    )
}

impl PgMetadata {
    /// PostgreSQL's plan for `filter`'s search (`EXPLAIN`, one line per node), with sequential
    /// scans priced out as on a large table: how a test or an operator checks that a search
    /// can use an index.
    pub fn search_plan(&self, filter: &InspectionFilter) -> StorageResult<String> {
        let (sql, args) = search_sql(filter);
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        // A small table is cheaper to scan than to index; say what a large one would do.
        tx.batch_execute("SET LOCAL enable_seqscan = off")
            .map_err(db)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = tx.query(&format!("EXPLAIN {sql}"), &params).map_err(db)?;
        tx.rollback().map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

impl Directory for PgMetadata {
    fn add_user(
        &self,
        name: &str,
        role: Role,
        token_sha256: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<()> {
        match self.conn()?.execute(
            "INSERT INTO users (name, role, token_sha256, created_at) VALUES ($1, $2, $3, $4)",
            &[&name, &code_of(&role)?, &token_sha256, &ms(&at)],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                Err(StorageError::AlreadyExists(format!("usuário {name}")))
            }
            Err(e) => Err(db(e)),
        }
    }

    fn user_for_token(&self, token_sha256: &str) -> StorageResult<Option<UserRecord>> {
        self.conn()?
            .query_opt(
                "SELECT name, role, created_at, revoked_at FROM users \
                 WHERE token_sha256 = $1 AND revoked_at IS NULL",
                &[&token_sha256],
            )
            .map_err(db)?
            .as_ref()
            .map(decode_user)
            .transpose()
    }

    fn users(&self) -> StorageResult<Vec<UserRecord>> {
        self.conn()?
            .query(
                "SELECT name, role, created_at, revoked_at FROM users ORDER BY name",
                &[],
            )
            .map_err(db)?
            .iter()
            .map(decode_user)
            .collect()
    }

    fn revoke_user(&self, name: &str, at: DateTime<Utc>) -> StorageResult<bool> {
        let row = self
            .conn()?
            .query_opt(
                "UPDATE users SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1 \
                 RETURNING name",
                &[&name, &ms(&at)],
            )
            .map_err(db)?;
        Ok(row.is_some())
    }

    fn search_packages(&self, filter: &InspectionFilter) -> StorageResult<Vec<PackageRecord>> {
        let (sql, args) = search_sql(filter);
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let mut conn = self.conn()?;
        let rows = conn.query(&sql, &params).map_err(db)?;
        rows.iter()
            .map(|row| Self::decode(&mut *conn, row))
            .collect()
    }
}
