//! [`Retention`] on PostgreSQL: keyset pages over the `packages_by_age` and `queries_by_age`
//! indexes and the `retention_runs` table (migration 5).

use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};

use super::{PgMetadata, db, ms, query_record, to_i64};
use crate::storage::retention::{ExpiredPackage, RUN_COLUMNS, Retention, RetentionRun};
use crate::storage::{PackageKey, QueryRecord, StorageError, StorageResult};

/// Migration 5.
pub(super) const MIGRATION: &str = "
CREATE TABLE retention_runs (
    id BIGSERIAL PRIMARY KEY,
    origin TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    cutoff TIMESTAMPTZ NOT NULL,
    inspections BIGINT NOT NULL,
    queries BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    failure TEXT
);
CREATE INDEX packages_by_age
    ON packages ((COALESCE(received_at, first_seen_at)), station, inspection_id);
CREATE INDEX queries_by_age ON queries (queried_at, query_id);
";

fn count(n: i64) -> StorageResult<u64> {
    u64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl Retention for PgMetadata {
    fn expired_packages(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&ExpiredPackage>,
        limit: usize,
    ) -> StorageResult<Vec<ExpiredPackage>> {
        const AGE: &str = "COALESCE(received_at, first_seen_at)";
        let cutoff = ms(&cutoff);
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let after_at = after.map(|a| ms(&a.at));
        let (filter, args): (&str, Vec<&(dyn ToSql + Sync)>) = match (after, &after_at) {
            (Some(a), Some(at)) => (
                "AND (COALESCE(received_at, first_seen_at), station, inspection_id) > ($3, $4, $5)",
                vec![&cutoff, &limit, at, &a.key.station, &a.key.inspection_id],
            ),
            _ => ("", vec![&cutoff, &limit]),
        };
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT station, inspection_id, {AGE} FROM packages WHERE {AGE} < $1 {filter} \
                     ORDER BY {AGE}, station, inspection_id LIMIT $2"
                ),
                &args,
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| ExpiredPackage {
                key: PackageKey::new(&row.get::<_, String>(0), row.get(1)),
                at: row.get(2),
            })
            .collect())
    }

    fn expired_queries(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&QueryRecord>,
        limit: usize,
    ) -> StorageResult<Vec<QueryRecord>> {
        let cutoff = ms(&cutoff);
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let after_at = after.map(|q| ms(&q.queried_at));
        let (filter, args): (&str, Vec<&(dyn ToSql + Sync)>) = match (after, &after_at) {
            (Some(q), Some(at)) => (
                "AND (queried_at, query_id) > ($3, $4)",
                vec![&cutoff, &limit, at, &q.query_id],
            ),
            _ => ("", vec![&cutoff, &limit]),
        };
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT query_id, station, plate, queried_at, deadline FROM queries q \
                     WHERE queried_at < $1 {filter} \
                     AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.query_id = q.query_id) \
                     ORDER BY queried_at, query_id LIMIT $2"
                ),
                &args,
            )
            .map_err(db)?;
        Ok(rows.iter().map(query_record).collect())
    }

    fn purge_package(&self, key: &PackageKey) -> StorageResult<()> {
        self.in_transaction(|tx| {
            // Its files go with the package (ON DELETE CASCADE).
            for table in ["packages", "laudo_numbers"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE station = $1 AND inspection_id = $2"),
                    &[&key.station, &key.inspection_id],
                )
                .map_err(db)?;
            }
            // The station's rows about it (kept as text, as the station wrote them).
            tx.execute(
                "DELETE FROM audit_rows WHERE station = $1 AND inspection_id = $2",
                &[&key.station, &key.inspection_id.to_string()],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn record_retention_run(&self, run: &RetentionRun) -> StorageResult<()> {
        self.execute(
            &format!(
                "INSERT INTO retention_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &run.origin,
                &ms(&run.at),
                &ms(&run.cutoff),
                &to_i64(run.inspections)?,
                &to_i64(run.queries)?,
                &to_i64(run.skipped)?,
                &run.failure,
                &to_i64(run.audit_rows)?,
            ],
        )?;
        Ok(())
    }

    fn retention_runs(&self, limit: usize) -> StorageResult<Vec<RetentionRun>> {
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let rows = self
            .conn()?
            .query(
                &format!("SELECT {RUN_COLUMNS} FROM retention_runs ORDER BY id DESC LIMIT $1"),
                &[&limit],
            )
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                Ok(RetentionRun {
                    origin: row.get(0),
                    at: row.get(1),
                    cutoff: row.get(2),
                    inspections: count(row.get(3))?,
                    queries: count(row.get(4))?,
                    skipped: count(row.get(5))?,
                    failure: row.get(6),
                    audit_rows: count(row.get(7))?,
                })
            })
            .collect()
    }
}
