//! [`AuditTrails`] on SQLite: the `audit_rows` table (schema version 7) and `audit_removed`,
//! how far retention took each station's chain (version 10).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;
use vistoria_core::store::{AuditRow, row_from_sql};

use super::{SqliteMetadata, db};
use crate::storage::trails::{AuditTrails, TrailDue, checkpoint_key, holes};
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
CREATE TABLE IF NOT EXISTS audit_mac_checkpoints (
    station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (station, seq)
);
CREATE TABLE IF NOT EXISTS audit_removed (
    station TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    at TEXT NOT NULL
);
";

/// Whether row `r` must stay whatever its age: its time is unknown or not yet due, or it is
/// about a package the central still keeps (`?3` is the cutoff, as the rows write time).
const MUST_STAY: &str = "(r.at IS NULL OR r.at >= ?3 OR (r.inspection_id IS NOT NULL AND EXISTS \
     (SELECT 1 FROM packages p WHERE p.station = r.station AND p.inspection_id = r.inspection_id)))";

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
        let removed = removed_through(&conn, station)?;
        let first: Option<i64> = conn
            .query_row(
                "SELECT MIN(seq) FROM audit_rows WHERE station = ?1 AND seq > ?2",
                params![station, removed],
                |r| r.get(0),
            )
            .map_err(db)?;
        let mut stmt = conn
            .prepare(
                "SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next \
                 FROM audit_rows WHERE station = ?1 AND seq > ?2) WHERE next > seq + 1 \
                 ORDER BY seq",
            )
            .map_err(db)?;
        let pairs = stmt
            .query_map(params![station, removed], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        let unsigned = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(holes(
            unsigned(removed),
            first.map(unsigned),
            pairs.into_iter().map(|(a, b)| (unsigned(a), unsigned(b))),
        ))
    }

    fn next_trail_station(&self, after: Option<&str>) -> StorageResult<Option<String>> {
        self.lock()
            .query_row(
                "SELECT station FROM audit_rows WHERE station > ?1 ORDER BY station LIMIT 1",
                [after.unwrap_or("")],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn trail_due(
        &self,
        station: &str,
        cutoff: &str,
        after: Option<u64>,
        limit: usize,
    ) -> StorageResult<Option<TrailDue>> {
        let conn = self.lock();
        let after = match after {
            Some(after) => to_i64(after)?,
            None => removed_through(&conn, station)?,
        };
        // The first row that stays bounds the run: walked in position order, so the probe
        // costs the rows due, not the station's whole chain.
        let stays: Option<i64> = conn
            .query_row(
                &format!(
                    "SELECT r.seq FROM audit_rows r WHERE r.station = ?1 AND r.seq > ?2 \
                     AND {MUST_STAY} ORDER BY r.seq LIMIT 1"
                ),
                params![station, after, cutoff],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let (through, rows): (Option<i64>, i64) = conn
            .query_row(
                "SELECT MAX(seq), COUNT(*) FROM (SELECT seq FROM audit_rows WHERE station = ?1 \
                 AND seq > ?2 AND (?3 IS NULL OR seq < ?3) ORDER BY seq LIMIT ?4)",
                params![
                    station,
                    after,
                    stays,
                    i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        Ok(through.map(|through| TrailDue {
            through: u64::try_from(through).unwrap_or_default(),
            rows: u64::try_from(rows).unwrap_or_default(),
        }))
    }

    fn purge_trail(&self, station: &str, through: u64) -> StorageResult<u64> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let through = to_i64(through)?;
        let rows = tx
            .execute(
                "DELETE FROM audit_rows WHERE station = ?1 AND seq <= ?2",
                params![station, through],
            )
            .map_err(db)?;
        tx.execute(
            "DELETE FROM audit_mac_checkpoints WHERE station = ?1 AND seq <= ?2 AND seq < \
             (SELECT MAX(seq) FROM audit_mac_checkpoints WHERE station = ?1)",
            params![station, through],
        )
        .map_err(db)?;
        let rows = i64::try_from(rows).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO audit_removed (station, through_seq, rows, at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (station) DO UPDATE SET \
             through_seq = MAX(through_seq, excluded.through_seq), \
             rows = rows + excluded.rows, at = excluded.at",
            params![station, through, rows, super::ts(&chrono::Utc::now())],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(u64::try_from(rows).unwrap_or_default())
    }

    fn mac_checkpoint(
        &self,
        station: &str,
        at_most: u64,
    ) -> StorageResult<Option<(u64, [u8; 32])>> {
        let found: Option<(i64, String)> = self
            .lock()
            .query_row(
                "SELECT seq, key FROM audit_mac_checkpoints WHERE station = ?1 AND seq <= ?2 \
                 ORDER BY seq DESC LIMIT 1",
                params![station, to_i64(at_most)?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        found
            .map(|(seq, key)| {
                Ok((
                    u64::try_from(seq).unwrap_or_default(),
                    checkpoint_key(&key)?,
                ))
            })
            .transpose()
    }

    fn save_mac_checkpoint(&self, station: &str, seq: u64, key: &[u8; 32]) -> StorageResult<()> {
        self.lock()
            .execute(
                "INSERT INTO audit_mac_checkpoints (station, seq, key) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (station, seq) DO NOTHING",
                params![station, to_i64(seq)?, hex::encode(key)],
            )
            .map_err(db)?;
        Ok(())
    }
}

/// The last position retention removed from `station`'s chain (0: none).
fn removed_through(conn: &rusqlite::Connection, station: &str) -> StorageResult<i64> {
    Ok(conn
        .query_row(
            "SELECT through_seq FROM audit_removed WHERE station = ?1",
            [station],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .unwrap_or(0))
}
