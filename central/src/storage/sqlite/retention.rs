//! [`Retention`] on SQLite: keyset pages over the `packages_by_age` and `queries` indexes and
//! the `retention_runs` table (schema version 5).

use chrono::{DateTime, Utc};
use rusqlite::{ToSql, params};

use super::{SqliteMetadata, db, decode_query, parse_ts, parse_uuid, query_from_row, ts};
use crate::storage::retention::{ExpiredPackage, RUN_COLUMNS, Retention, RetentionRun};
use crate::storage::{PackageKey, QueryRecord, StorageError, StorageResult};

/// The table of runs and the index the scan walks (part of the schema, version 5).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS retention_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    at TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    inspections INTEGER NOT NULL,
    queries INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    failure TEXT,
    audit_rows INTEGER NOT NULL DEFAULT 0
);
";

/// Version 10: the audit rows a run removed (a file made before has the table without it).
pub(super) const ADD_AUDIT_ROWS: &str =
    "ALTER TABLE retention_runs ADD COLUMN audit_rows INTEGER NOT NULL DEFAULT 0;";

/// Made with the other indexes, after the tables.
pub(super) const INDEX: &str = "
CREATE INDEX IF NOT EXISTS packages_by_age
    ON packages(COALESCE(received_at, first_seen_at), station, inspection_id);
CREATE INDEX IF NOT EXISTS queries_by_time ON queries(queried_at, query_id);
";

fn limit_of(limit: usize) -> StorageResult<i64> {
    i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn count(n: i64) -> StorageResult<u64> {
    u64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl Retention for SqliteMetadata {
    fn expired_packages(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&ExpiredPackage>,
        limit: usize,
    ) -> StorageResult<Vec<ExpiredPackage>> {
        const AGE: &str = "COALESCE(received_at, first_seen_at)";
        let conn = self.lock();
        let cutoff = ts(&cutoff);
        let limit = limit_of(limit)?;
        let after = after.map(|a| {
            (
                ts(&a.at),
                a.key.station.clone(),
                a.key.inspection_id.to_string(),
            )
        });
        let (filter, args): (&str, Vec<&dyn ToSql>) = match &after {
            None => ("", vec![&cutoff, &limit]),
            Some((at, station, id)) => (
                "AND (COALESCE(received_at, first_seen_at), station, inspection_id) > (?3, ?4, ?5)",
                vec![&cutoff, &limit, at, station, id],
            ),
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT station, inspection_id, {AGE} FROM packages WHERE {AGE} < ?1 {filter} \
                 ORDER BY {AGE}, station, inspection_id LIMIT ?2"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(args.as_slice(), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(station, id, at)| {
                Ok(ExpiredPackage {
                    key: PackageKey::new(&station, parse_uuid(&id)?),
                    at: parse_ts(&at)?,
                })
            })
            .collect()
    }

    fn expired_queries(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&QueryRecord>,
        limit: usize,
    ) -> StorageResult<Vec<QueryRecord>> {
        let conn = self.lock();
        let cutoff = ts(&cutoff);
        let limit = limit_of(limit)?;
        let after = after.map(|q| (ts(&q.queried_at), q.query_id.to_string()));
        let (filter, args): (&str, Vec<&dyn ToSql>) = match &after {
            None => ("", vec![&cutoff, &limit]),
            Some((at, id)) => (
                "AND (queried_at, query_id) > (?3, ?4)",
                vec![&cutoff, &limit, at, id],
            ),
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT query_id, station, plate, queried_at, deadline FROM queries q \
                 WHERE queried_at < ?1 {filter} \
                 AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.query_id = q.query_id) \
                 ORDER BY queried_at, query_id LIMIT ?2"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(args.as_slice(), query_from_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter().map(decode_query).collect()
    }

    fn purge_package(&self, key: &PackageKey) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        let id = key.inspection_id.to_string();
        for table in [
            "package_files",
            "integrity_checks",
            "packages",
            "laudo_numbers",
            "audit_rows",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE station = ?1 AND inspection_id = ?2"),
                params![key.station, id],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn record_retention_run(&self, run: &RetentionRun) -> StorageResult<()> {
        self.lock()
            .execute(
                &format!(
                    "INSERT INTO retention_runs ({RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    run.origin,
                    ts(&run.at),
                    ts(&run.cutoff),
                    i64::try_from(run.inspections)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    i64::try_from(run.queries).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    i64::try_from(run.skipped).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    run.failure,
                    i64::try_from(run.audit_rows)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn retention_runs(&self, limit: usize) -> StorageResult<Vec<RetentionRun>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM retention_runs ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map([limit_of(limit)?], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, i64>(7)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(
                |(origin, at, cutoff, inspections, queries, skipped, failure, audit_rows)| {
                    Ok(RetentionRun {
                        origin,
                        at: parse_ts(&at)?,
                        cutoff: parse_ts(&cutoff)?,
                        inspections: count(inspections)?,
                        queries: count(queries)?,
                        skipped: count(skipped)?,
                        failure,
                        audit_rows: count(audit_rows)?,
                    })
                },
            )
            .collect()
    }
}
