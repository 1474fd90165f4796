//! [`AuditTrails`] on PostgreSQL: the `audit_rows` table (migration 7) and `audit_removed`,
//! how far retention took each station's chain, and `audit_mac_checkpoints` (migration 10).

use ::postgres::GenericClient;
use uuid::Uuid;
use vistoria_core::store::AuditRow;

use super::{PgMetadata, db, to_i64};
use crate::storage::trails::{AuditTrails, TrailDue, checkpoint_key, holes};
use crate::storage::{StorageError, StorageResult};

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

/// Migration 10.
pub(super) const MIGRATION_REMOVED: &str = "
CREATE TABLE audit_removed (
    station TEXT PRIMARY KEY,
    through_seq BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
ALTER TABLE retention_runs ADD COLUMN audit_rows BIGINT NOT NULL DEFAULT 0;
CREATE TABLE audit_mac_checkpoints (
    station TEXT NOT NULL,
    seq BIGINT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (station, seq)
);
";

/// Whether row `r` must stay whatever its age: its time is unknown or not yet due, or it is
/// about a package the central still keeps (`$3` is the cutoff, as the rows write time). The
/// rows keep the inspection id as the station wrote it; only a well-formed one is cast to
/// the packages' UUID (so the probe uses their key, and a malformed id cannot fail the purge).
const MUST_STAY: &str = "(r.at IS NULL OR r.at >= $3 OR EXISTS (SELECT 1 FROM packages p \
     WHERE p.station = r.station AND p.inspection_id = (CASE WHEN r.inspection_id ~ \
     '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' \
     THEN r.inspection_id::uuid END)))";

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
        let removed = removed_through(&mut *conn, station)?;
        let first: Option<i64> = conn
            .query_one(
                "SELECT MIN(seq) FROM audit_rows WHERE station = $1 AND seq > $2",
                &[&station, &removed],
            )
            .map_err(db)?
            .get(0);
        let pairs = conn
            .query(
                "SELECT seq, next FROM (SELECT seq, LEAD(seq) OVER (ORDER BY seq) AS next \
                 FROM audit_rows WHERE station = $1 AND seq > $2) gaps WHERE next > seq + 1 \
                 ORDER BY seq",
                &[&station, &removed],
            )
            .map_err(db)?;
        let unsigned = |n: i64| u64::try_from(n).unwrap_or_default();
        Ok(holes(
            unsigned(removed),
            first.map(unsigned),
            pairs
                .iter()
                .map(|r| (unsigned(r.get(0)), unsigned(r.get(1)))),
        ))
    }

    fn next_trail_station(&self, after: Option<&str>) -> StorageResult<Option<String>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT station FROM audit_rows WHERE station > $1 ORDER BY station LIMIT 1",
                &[&after.unwrap_or("")],
            )
            .map_err(db)?
            .map(|r| r.get(0)))
    }

    fn trail_due(
        &self,
        station: &str,
        cutoff: &str,
        after: Option<u64>,
        limit: usize,
    ) -> StorageResult<Option<TrailDue>> {
        let mut conn = self.conn()?;
        let after = match after {
            Some(after) => to_i64(after)?,
            None => removed_through(&mut *conn, station)?,
        };
        // The first row that stays bounds the run: walked in position order, so the probe
        // costs the rows due, not the station's whole chain.
        let stays: Option<i64> = conn
            .query_opt(
                &format!(
                    "SELECT r.seq FROM audit_rows r WHERE r.station = $1 AND r.seq > $2 \
                     AND {MUST_STAY} ORDER BY r.seq LIMIT 1"
                ),
                &[&station, &after, &cutoff],
            )
            .map_err(db)?
            .map(|r| r.get(0));
        let limit = i64::try_from(limit).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let row = conn
            .query_one(
                "SELECT MAX(seq), COUNT(*) FROM (SELECT seq FROM audit_rows WHERE station = $1 \
                 AND seq > $2 AND ($3::BIGINT IS NULL OR seq < $3) ORDER BY seq LIMIT $4) due",
                &[&station, &after, &stays, &limit],
            )
            .map_err(db)?;
        let through: Option<i64> = row.get(0);
        let rows: i64 = row.get(1);
        Ok(through.map(|through| TrailDue {
            through: u64::try_from(through).unwrap_or_default(),
            rows: u64::try_from(rows).unwrap_or_default(),
        }))
    }

    fn purge_trail(&self, station: &str, through: u64) -> StorageResult<u64> {
        let through = to_i64(through)?;
        self.in_transaction(|tx| {
            let rows = tx
                .execute(
                    "DELETE FROM audit_rows WHERE station = $1 AND seq <= $2",
                    &[&station, &through],
                )
                .map_err(db)?;
            tx.execute(
                "DELETE FROM audit_mac_checkpoints WHERE station = $1 AND seq <= $2 AND seq < \
                 (SELECT MAX(seq) FROM audit_mac_checkpoints WHERE station = $1)",
                &[&station, &through],
            )
            .map_err(db)?;
            let count = to_i64(rows)?;
            tx.execute(
                "INSERT INTO audit_removed (station, through_seq, rows, at) \
                 VALUES ($1, $2, $3, now()) ON CONFLICT (station) DO UPDATE SET \
                 through_seq = GREATEST(audit_removed.through_seq, excluded.through_seq), \
                 rows = audit_removed.rows + excluded.rows, at = excluded.at",
                &[&station, &through, &count],
            )
            .map_err(db)?;
            Ok(rows)
        })
    }

    fn mac_checkpoint(
        &self,
        station: &str,
        at_most: u64,
    ) -> StorageResult<Option<(u64, [u8; 32])>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT seq, key FROM audit_mac_checkpoints WHERE station = $1 AND seq <= $2 \
                 ORDER BY seq DESC LIMIT 1",
                &[&station, &to_i64(at_most)?],
            )
            .map_err(db)?;
        row.map(|r| {
            let seq: i64 = r.get(0);
            let key: String = r.get(1);
            Ok((
                u64::try_from(seq).unwrap_or_default(),
                checkpoint_key(&key)?,
            ))
        })
        .transpose()
    }

    fn save_mac_checkpoint(&self, station: &str, seq: u64, key: &[u8; 32]) -> StorageResult<()> {
        self.execute(
            "INSERT INTO audit_mac_checkpoints (station, seq, key) VALUES ($1, $2, $3) \
             ON CONFLICT (station, seq) DO NOTHING",
            &[&station, &to_i64(seq)?, &hex::encode(key)],
        )?;
        Ok(())
    }
}

/// The last position retention removed from `station`'s chain (0: none).
fn removed_through(client: &mut impl GenericClient, station: &str) -> StorageResult<i64> {
    Ok(client
        .query_opt(
            "SELECT through_seq FROM audit_removed WHERE station = $1",
            &[&station],
        )
        .map_err(db)?
        .map_or(0, |r| r.get(0)))
}
