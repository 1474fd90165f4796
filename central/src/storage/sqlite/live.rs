//! [`Live`] on SQLite: the `station_hours` and `live_frames` tables (schema version 11).

use rusqlite::{OptionalExtension, params};

use super::{SqliteMetadata, db, parse_ts, ts};
use crate::storage::live::{BusinessHours, Live, LiveFrame, LiveStatus, from_stored};
use crate::storage::{StorageError, StorageResult};

/// The tables (part of the schema, version 11). One row per station in `live_frames`: the
/// newest frame replaces the last, so the table never grows past the number of stations.
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS station_hours (
    station TEXT PRIMARY KEY,
    days TEXT NOT NULL,
    periods TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_frames (
    station TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    bytes BLOB NOT NULL
);
";

fn seq_of(v: i64) -> StorageResult<u64> {
    u64::try_from(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl Live for SqliteMetadata {
    fn set_business_hours(
        &self,
        station: &str,
        hours: &BusinessHours,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StorageResult<()> {
        self.lock()
            .execute(
                "INSERT INTO station_hours (station, days, periods, utc_offset_minutes, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (station) DO UPDATE SET \
                 days = excluded.days, periods = excluded.periods, \
                 utc_offset_minutes = excluded.utc_offset_minutes, updated_at = excluded.updated_at",
                params![
                    station,
                    hours.days_text(),
                    hours.periods_text(),
                    hours.utc_offset_minutes,
                    ts(&at)
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn business_hours(&self, station: &str) -> StorageResult<Option<BusinessHours>> {
        let row = self
            .lock()
            .query_row(
                "SELECT days, periods, utc_offset_minutes FROM station_hours WHERE station = ?1",
                params![station],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i32>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(days, periods, offset)| from_stored(&days, &periods, offset))
            .transpose()
    }

    fn put_live_frame(&self, frame: &LiveFrame) -> StorageResult<u64> {
        let seq: i64 = self
            .lock()
            .query_row(
                "INSERT INTO live_frames (station, seq, captured_at, received_at, bytes) \
                 VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT (station) DO UPDATE SET \
                 seq = live_frames.seq + 1, captured_at = excluded.captured_at, \
                 received_at = excluded.received_at, bytes = excluded.bytes RETURNING seq",
                params![
                    frame.station,
                    ts(&frame.captured_at),
                    ts(&frame.received_at),
                    frame.jpeg
                ],
                |row| row.get(0),
            )
            .map_err(db)?;
        seq_of(seq)
    }

    fn live_frame(&self, station: &str, after: Option<u64>) -> StorageResult<Option<LiveFrame>> {
        let after = after
            .map(|a| i64::try_from(a).map_err(|e| StorageError::Corrupt(e.to_string())))
            .transpose()?
            .unwrap_or(-1);
        let row = self
            .lock()
            .query_row(
                "SELECT seq, captured_at, received_at, bytes FROM live_frames \
                 WHERE station = ?1 AND seq > ?2",
                params![station, after],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(seq, captured, received, jpeg)| {
            Ok(LiveFrame {
                station: station.to_owned(),
                seq: seq_of(seq)?,
                captured_at: parse_ts(&captured)?,
                received_at: parse_ts(&received)?,
                jpeg,
            })
        })
        .transpose()
    }

    fn live_status(&self, station: &str) -> StorageResult<Option<LiveStatus>> {
        let row = self
            .lock()
            .query_row(
                "SELECT seq, captured_at, received_at FROM live_frames WHERE station = ?1",
                params![station],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(seq, captured, received)| {
            Ok(LiveStatus {
                seq: seq_of(seq)?,
                captured_at: parse_ts(&captured)?,
                received_at: parse_ts(&received)?,
            })
        })
        .transpose()
    }
}
