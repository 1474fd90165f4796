//! [`Integrity`] on SQLite: the `integrity_checks` table (schema version 6).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ToSql, params};

use super::{SqliteMetadata, db, parse_ts, parse_uuid, ts};
use crate::storage::integrity::{DueCheck, Integrity, IntegrityCheck};
use crate::storage::{PackageKey, StorageError, StorageResult};

/// The table and its index (part of the schema, version 6).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS integrity_checks (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    problems TEXT NOT NULL,
    extra_files INTEGER NOT NULL,
    PRIMARY KEY (station, inspection_id)
);
CREATE INDEX IF NOT EXISTS integrity_checks_by_time
    ON integrity_checks(checked_at, station, inspection_id);
";

/// Version 5 → 6: every package verified before was checked by its commit.
pub(super) const BACKFILL: &str = "
INSERT OR IGNORE INTO integrity_checks (station, inspection_id, checked_at, problems, extra_files)
    SELECT station, inspection_id, received_at, '[]', 0 FROM packages
    WHERE status = 'verified' AND received_at IS NOT NULL;
";

/// Records the commit's check, in the commit's transaction.
pub(super) fn record_commit(
    conn: &Connection,
    key: &PackageKey,
    at: DateTime<Utc>,
) -> StorageResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO integrity_checks \
         (station, inspection_id, checked_at, problems, extra_files) VALUES (?1, ?2, ?3, '[]', 0)",
        params![key.station, key.inspection_id.to_string(), ts(&at)],
    )
    .map_err(db)?;
    Ok(())
}

fn decode_problems(text: &str) -> StorageResult<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Corrupt(format!("problemas «{text}»: {e}")))
}

impl Integrity for SqliteMetadata {
    fn due_checks(
        &self,
        before: DateTime<Utc>,
        after: Option<&DueCheck>,
        limit: usize,
    ) -> StorageResult<Vec<DueCheck>> {
        let conn = self.lock();
        let before = ts(&before);
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let after = after.map(|a| {
            (
                ts(&a.checked_at),
                a.key.station.clone(),
                a.key.inspection_id.to_string(),
            )
        });
        let (filter, args): (&str, Vec<&dyn ToSql>) = match &after {
            None => ("", vec![&before, &limit]),
            Some((at, station, id)) => (
                "AND (checked_at, station, inspection_id) > (?3, ?4, ?5)",
                vec![&before, &limit, at, station, id],
            ),
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT station, inspection_id, checked_at FROM integrity_checks \
                 WHERE checked_at < ?1 {filter} \
                 ORDER BY checked_at, station, inspection_id LIMIT ?2"
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
                Ok(DueCheck {
                    key: PackageKey::new(&station, parse_uuid(&id)?),
                    checked_at: parse_ts(&at)?,
                })
            })
            .collect()
    }

    fn record_check(&self, key: &PackageKey, check: &IntegrityCheck) -> StorageResult<()> {
        let problems = serde_json::to_string(&check.problems)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.lock()
            .execute(
                "INSERT INTO integrity_checks \
                 (station, inspection_id, checked_at, problems, extra_files) \
                 SELECT station, inspection_id, ?3, ?4, ?5 FROM packages \
                 WHERE station = ?1 AND inspection_id = ?2 AND status = 'verified' \
                 ON CONFLICT (station, inspection_id) DO UPDATE SET \
                 checked_at = excluded.checked_at, problems = excluded.problems, \
                 extra_files = excluded.extra_files",
                params![
                    key.station,
                    key.inspection_id.to_string(),
                    ts(&check.checked_at),
                    problems,
                    check.extra_files
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn integrity_checks(&self) -> StorageResult<Vec<(PackageKey, IntegrityCheck)>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT station, inspection_id, checked_at, problems, extra_files \
                 FROM integrity_checks",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, u32>(4)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(station, id, at, problems, extra_files)| {
                Ok((
                    PackageKey::new(&station, parse_uuid(&id)?),
                    IntegrityCheck {
                        checked_at: parse_ts(&at)?,
                        problems: decode_problems(&problems)?,
                        extra_files,
                    },
                ))
            })
            .collect()
    }
}
