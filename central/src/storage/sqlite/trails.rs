//! [`AuditTrails`] on SQLite: the `audit_rows` table (schema version 7).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;
use vistoria_core::store::{AuditRow, row_from_sql};

use super::{SqliteMetadata, db};
use crate::storage::trails::{AuditTrails, holes};
use crate::storage::{StorageError, StorageResult};

/// The table (part of the schema, version 7).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS audit_rows (
    station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT,
    sync_age_ms INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    inspection_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT,
    PRIMARY KEY (station, seq)
);
CREATE INDEX IF NOT EXISTS audit_rows_by_inspection ON audit_rows(station, inspection_id, seq);
";

/// The columns in the order `store::row_from_sql` reads them (the station's own table's).
const COLUMNS: &str =
    "seq, at, sync_age_ms, actor, action, inspection_id, detail, prev_hash, hash, mac";

fn to_i64(n: u64) -> StorageResult<i64> {
    i64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl AuditTrails for SqliteMetadata {
    fn record_trail(&self, station: &str, rows: &[AuditRow]) -> StorageResult<Option<u64>> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(None);
        };
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let stored_hash = |seq: u64| -> StorageResult<Option<(String, String)>> {
            tx.query_row(
                "SELECT hash, prev_hash FROM audit_rows WHERE station = ?1 AND seq = ?2",
                params![station, to_i64(seq)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)
        };
        // A stored neighbour must link to the run's ends.
        if let Some(before) = first.seq.checked_sub(1).filter(|s| *s > 0)
            && let Some((hash, _)) = stored_hash(before)?
            && hash != first.prev_hash
        {
            return Ok(Some(first.seq));
        }
        if let Some((_, prev_hash)) = stored_hash(last.seq + 1)?
            && prev_hash != last.hash
        {
            return Ok(Some(last.seq + 1));
        }
        for row in rows {
            tx.execute(
                &format!(
                    "INSERT INTO audit_rows (station, {COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                     ON CONFLICT (station, seq) DO NOTHING"
                ),
                params![
                    station,
                    to_i64(row.seq)?,
                    row.at,
                    row.sync_age_ms.map(to_i64).transpose()?,
                    row.actor,
                    row.action,
                    row.inspection_id,
                    row.detail,
                    row.prev_hash,
                    row.hash,
                    row.mac
                ],
            )
            .map_err(db)?;
            if stored_hash(row.seq)?.is_some_and(|(hash, _)| hash != row.hash) {
                return Ok(Some(row.seq));
            }
        }
        tx.commit().map_err(db)?;
        Ok(None)
    }

    fn inspection_trail(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AuditRow>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM audit_rows WHERE station = ?1 AND inspection_id = ?2 \
                 ORDER BY seq"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params![station, inspection_id.to_string()], row_from_sql)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows)
    }

    fn trail_holes(&self, station: &str) -> StorageResult<Vec<(u64, u64)>> {
        let conn = self.lock();
        let first: Option<i64> = conn
            .query_row(
                "SELECT MIN(seq) FROM audit_rows WHERE station = ?1",
                [station],
                |r| r.get(0),
            )
            .map_err(db)?;
        let mut stmt = conn
            .prepare(
                "SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next \
                 FROM audit_rows WHERE station = ?1) WHERE next > seq + 1 ORDER BY seq",
            )
            .map_err(db)?;
        let pairs = stmt
            .query_map([station], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        let unsigned = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(holes(
            first.map(unsigned),
            pairs.into_iter().map(|(a, b)| (unsigned(a), unsigned(b))),
        ))
    }
}
