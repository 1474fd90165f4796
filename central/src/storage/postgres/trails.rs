//! [`AuditTrails`] on PostgreSQL: the `audit_rows` table (migration 7).

use ::postgres::GenericClient;
use uuid::Uuid;
use vistoria_core::store::AuditRow;

use super::{PgMetadata, db, to_i64};
use crate::storage::StorageResult;
use crate::storage::trails::{AuditTrails, holes};

/// Migration 7.
pub(super) const MIGRATION: &str = "
CREATE TABLE audit_rows (
    station TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT,
    sync_age_ms BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    inspection_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT,
    PRIMARY KEY (station, seq)
);
CREATE INDEX audit_rows_by_inspection ON audit_rows (station, inspection_id, seq);
";

const COLUMNS: &str =
    "seq, at, sync_age_ms, actor, action, inspection_id, detail, prev_hash, hash, mac";

fn row_from(r: &::postgres::Row) -> AuditRow {
    AuditRow {
        seq: u64::try_from(r.get::<_, i64>(0)).unwrap_or_default(),
        at: r.get(1),
        sync_age_ms: r
            .get::<_, Option<i64>>(2)
            .and_then(|a| u64::try_from(a).ok()),
        actor: r.get(3),
        action: r.get(4),
        inspection_id: r.get(5),
        detail: r.get(6),
        prev_hash: r.get(7),
        hash: r.get(8),
        mac: r.get(9),
    }
}

fn stored(
    client: &mut impl GenericClient,
    station: &str,
    seq: u64,
) -> StorageResult<Option<(String, String)>> {
    Ok(client
        .query_opt(
            "SELECT hash, prev_hash FROM audit_rows WHERE station = $1 AND seq = $2",
            &[&station, &to_i64(seq)?],
        )
        .map_err(db)?
        .map(|r| (r.get(0), r.get(1))))
}

impl AuditTrails for PgMetadata {
    fn record_trail(&self, station: &str, rows: &[AuditRow]) -> StorageResult<Option<u64>> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(None);
        };
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        // Inserted first, compared after: an insert that meets another instance's uncommitted
        // row for the same position waits for it, then compares with what it wrote.
        for row in rows {
            tx.execute(
                &format!(
                    "INSERT INTO audit_rows (station, {COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (station, seq) DO NOTHING"
                ),
                &[
                    &station,
                    &to_i64(row.seq)?,
                    &row.at,
                    &row.sync_age_ms.map(to_i64).transpose()?,
                    &row.actor,
                    &row.action,
                    &row.inspection_id,
                    &row.detail,
                    &row.prev_hash,
                    &row.hash,
                    &row.mac,
                ],
            )
            .map_err(db)?;
            if stored(&mut tx, station, row.seq)?.is_some_and(|(hash, _)| hash != row.hash) {
                return Ok(Some(row.seq));
            }
        }
        if let Some(before) = first.seq.checked_sub(1).filter(|s| *s > 0)
            && stored(&mut tx, station, before)?.is_some_and(|(hash, _)| hash != first.prev_hash)
        {
            return Ok(Some(first.seq));
        }
        if stored(&mut tx, station, last.seq + 1)?.is_some_and(|(_, prev)| prev != last.hash) {
            return Ok(Some(last.seq + 1));
        }
        tx.commit().map_err(db)?;
        Ok(None)
    }

    fn inspection_trail(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AuditRow>> {
        Ok(self
            .conn()?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM audit_rows WHERE station = $1 AND inspection_id = $2 \
                     ORDER BY seq"
                ),
                &[&station, &inspection_id.to_string()],
            )
            .map_err(db)?
            .iter()
            .map(row_from)
            .collect())
    }

    fn trail_holes(&self, station: &str) -> StorageResult<Vec<(u64, u64)>> {
        let mut conn = self.conn()?;
        let first: Option<i64> = conn
            .query_one(
                "SELECT MIN(seq) FROM audit_rows WHERE station = $1",
                &[&station],
            )
            .map_err(db)?
            .get(0);
        let pairs = conn
            .query(
                "SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next \
                 FROM audit_rows WHERE station = $1) gaps WHERE next > seq + 1 ORDER BY seq",
                &[&station],
            )
            .map_err(db)?;
        let unsigned = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(holes(
            first.map(unsigned),
            pairs
                .iter()
                .map(|r| (unsigned(r.get(0)), unsigned(r.get(1)))),
        ))
    }
}
