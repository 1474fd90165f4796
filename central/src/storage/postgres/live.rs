//! [`Live`] on PostgreSQL: the `station_hours` and `live_frames` tables (migration 11).

use super::{PgMetadata, db, ms, to_i64, to_u64};
use crate::storage::StorageResult;
use crate::storage::live::{BusinessHours, Live, LiveFrame, LiveStatus, from_stored};

/// Migration 12: the tables. One row per station in `live_frames`: the newest frame replaces
/// the last (an update in place, two a second per streaming station).
pub(super) const MIGRATION: &str = "
CREATE TABLE station_hours (
    station TEXT PRIMARY KEY,
    days TEXT NOT NULL,
    periods TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE live_frames (
    station TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    captured_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    bytes BYTEA NOT NULL
);
";

impl Live for PgMetadata {
    fn set_business_hours(
        &self,
        station: &str,
        hours: &BusinessHours,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<()> {
        self.execute(
            "INSERT INTO station_hours (station, days, periods, utc_offset_minutes, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (station) DO UPDATE SET \
             days = excluded.days, periods = excluded.periods, \
             utc_offset_minutes = excluded.utc_offset_minutes, updated_at = excluded.updated_at",
            &[
                &station,
                &hours.days_text(),
                &hours.periods_text(),
                &hours.utc_offset_minutes,
                &ms(&at),
            ],
        )?;
        Ok(())
    }

    fn business_hours(&self, station: &str) -> StorageResult<Option<BusinessHours>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT days, periods, utc_offset_minutes FROM station_hours WHERE station = $1",
                &[&station],
            )
            .map_err(db)?;
        row.map(|row| from_stored(row.get(0), row.get(1), row.get(2)))
            .transpose()
    }

    fn put_live_frame(&self, frame: &LiveFrame) -> StorageResult<u64> {
        let row = self
            .conn()?
            .query_one(
                "INSERT INTO live_frames (station, seq, captured_at, received_at, bytes) \
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (station) DO UPDATE SET \
                 seq = live_frames.seq + 1, captured_at = excluded.captured_at, \
                 received_at = excluded.received_at, bytes = excluded.bytes RETURNING seq",
                &[
                    &frame.station,
                    &ms(&frame.captured_at),
                    &ms(&frame.received_at),
                    &frame.jpeg,
                ],
            )
            .map_err(db)?;
        to_u64(row.get(0))
    }

    fn live_frame(&self, station: &str, after: Option<u64>) -> StorageResult<Option<LiveFrame>> {
        let after = after.map(to_i64).transpose()?.unwrap_or(-1);
        let row = self
            .conn()?
            .query_opt(
                "SELECT seq, captured_at, received_at, bytes FROM live_frames \
                 WHERE station = $1 AND seq > $2",
                &[&station, &after],
            )
            .map_err(db)?;
        row.map(|row| {
            Ok(LiveFrame {
                station: station.to_owned(),
                seq: to_u64(row.get(0))?,
                captured_at: row.get(1),
                received_at: row.get(2),
                jpeg: row.get(3),
            })
        })
        .transpose()
    }

    fn live_status(&self, station: &str) -> StorageResult<Option<LiveStatus>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT seq, captured_at, received_at FROM live_frames WHERE station = $1",
                &[&station],
            )
            .map_err(db)?;
        row.map(|row| {
            Ok(LiveStatus {
                seq: to_u64(row.get(0))?,
                captured_at: row.get(1),
                received_at: row.get(2),
            })
        })
        .transpose()
    }
}
