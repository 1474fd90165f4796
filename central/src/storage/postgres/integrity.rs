//! [`Integrity`] on PostgreSQL: the `integrity_checks` table (migration 6).

use ::postgres::GenericClient;
use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};

use super::{PgMetadata, db, ms};
use crate::storage::integrity::{DueCheck, Integrity, IntegrityCheck};
use crate::storage::{PackageKey, StorageError, StorageResult};

/// Migration 6: the table, with the check every package verified before had at its commit.
pub(super) const MIGRATION: &str = "
CREATE TABLE integrity_checks (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    problems TEXT NOT NULL,
    extra_files INTEGER NOT NULL,
    PRIMARY KEY (station, inspection_id),
    FOREIGN KEY (station, inspection_id) REFERENCES packages ON DELETE CASCADE
);
CREATE INDEX integrity_checks_by_time ON integrity_checks (checked_at, station, inspection_id);
INSERT INTO integrity_checks (station, inspection_id, checked_at, problems, extra_files)
    SELECT station, inspection_id, received_at, '[]', 0 FROM packages
    WHERE status = 'verified' AND received_at IS NOT NULL;
";

/// Records the commit's check, in the commit's transaction.
pub(super) fn record_commit(
    client: &mut impl GenericClient,
    key: &PackageKey,
    at: DateTime<Utc>,
) -> StorageResult<()> {
    client
        .execute(
            "INSERT INTO integrity_checks \
             (station, inspection_id, checked_at, problems, extra_files) \
             VALUES ($1, $2, $3, '[]', 0) ON CONFLICT DO NOTHING",
            &[&key.station, &key.inspection_id, &ms(&at)],
        )
        .map_err(db)?;
    Ok(())
}

impl Integrity for PgMetadata {
    fn due_checks(
        &self,
        before: DateTime<Utc>,
        after: Option<&DueCheck>,
        limit: usize,
    ) -> StorageResult<Vec<DueCheck>> {
        let before = ms(&before);
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let after_at = after.map(|a| ms(&a.checked_at));
        let (filter, args): (&str, Vec<&(dyn ToSql + Sync)>) = match (after, &after_at) {
            (Some(a), Some(at)) => (
                "AND (checked_at, station, inspection_id) > ($3, $4, $5)",
                vec![&before, &limit, at, &a.key.station, &a.key.inspection_id],
            ),
            _ => ("", vec![&before, &limit]),
        };
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT station, inspection_id, checked_at FROM integrity_checks \
                     WHERE checked_at < $1 {filter} \
                     ORDER BY checked_at, station, inspection_id LIMIT $2"
                ),
                &args,
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| DueCheck {
                key: PackageKey::new(&row.get::<_, String>(0), row.get(1)),
                checked_at: row.get(2),
            })
            .collect())
    }

    fn record_check(&self, key: &PackageKey, check: &IntegrityCheck) -> StorageResult<()> {
        let problems = serde_json::to_string(&check.problems)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let extra =
            i32::try_from(check.extra_files).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.execute(
            "INSERT INTO integrity_checks \
             (station, inspection_id, checked_at, problems, extra_files) \
             SELECT station, inspection_id, $3, $4, $5 FROM packages \
             WHERE station = $1 AND inspection_id = $2 AND status = 'verified' \
             ON CONFLICT (station, inspection_id) DO UPDATE SET \
             checked_at = excluded.checked_at, problems = excluded.problems, \
             extra_files = excluded.extra_files",
            &[
                &key.station,
                &key.inspection_id,
                &ms(&check.checked_at),
                &problems,
                &extra,
            ],
        )?;
        Ok(())
    }

    fn integrity_checks(&self) -> StorageResult<Vec<(PackageKey, IntegrityCheck)>> {
        let rows = self
            .conn()?
            .query(
                "SELECT station, inspection_id, checked_at, problems, extra_files \
                 FROM integrity_checks",
                &[],
            )
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let problems: String = row.get(3);
                Ok((
                    PackageKey::new(&row.get::<_, String>(0), row.get(1)),
                    IntegrityCheck {
                        checked_at: row.get(2),
                        problems: serde_json::from_str(&problems)
                            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                        extra_files: u32::try_from(row.get::<_, i32>(4))
                            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    },
                ))
            })
            .collect()
    }
}
