//! [`CrossFlags`] on PostgreSQL (migration 12): `inspection_profiles`, `photo_hashes`,
//! `cross_flags`, each row removed with its package.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PgMetadata, db, ms};
use crate::cross_flags::phash::{self, BANDS};
use crate::storage::cross_flags::{CrossFlagRecord, CrossFlags, InspectionProfile, PhotoHash};
use crate::storage::{PackageKey, StorageError, StorageResult, code_of, from_code};

/// Migration 13 (issue 22).
pub(super) const MIGRATION: &str = "
CREATE TABLE inspection_profiles (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    plate TEXT NOT NULL,
    local_day TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    concluded_at TIMESTAMPTZ NOT NULL,
    duration_ms BIGINT NOT NULL,
    class TEXT NOT NULL,
    inspector TEXT,
    timed BOOLEAN NOT NULL,
    analyzed_at TIMESTAMPTZ,
    PRIMARY KEY (station, inspection_id),
    FOREIGN KEY (station, inspection_id) REFERENCES packages ON DELETE CASCADE
);
CREATE INDEX profiles_by_plate ON inspection_profiles (plate, local_day);
CREATE INDEX profiles_by_inspector ON inspection_profiles (inspector, started_at);
CREATE INDEX profiles_by_class ON inspection_profiles (class, timed, concluded_at);
CREATE TABLE photo_hashes (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    name TEXT NOT NULL,
    hash BIGINT NOT NULL,
    b0 INTEGER NOT NULL,
    b1 INTEGER NOT NULL,
    b2 INTEGER NOT NULL,
    b3 INTEGER NOT NULL,
    PRIMARY KEY (station, inspection_id, name),
    FOREIGN KEY (station, inspection_id) REFERENCES packages ON DELETE CASCADE
);
CREATE INDEX photo_hashes_b0 ON photo_hashes (b0);
CREATE INDEX photo_hashes_b1 ON photo_hashes (b1);
CREATE INDEX photo_hashes_b2 ON photo_hashes (b2);
CREATE INDEX photo_hashes_b3 ON photo_hashes (b3);
CREATE TABLE cross_flags (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    dedupe TEXT NOT NULL,
    kind TEXT NOT NULL,
    other_station TEXT,
    other_inspection_id UUID,
    photo TEXT,
    other_photo TEXT,
    detail TEXT NOT NULL,
    raised_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (station, inspection_id, dedupe),
    FOREIGN KEY (station, inspection_id) REFERENCES packages ON DELETE CASCADE,
    FOREIGN KEY (other_station, other_inspection_id) REFERENCES packages ON DELETE CASCADE
);
CREATE INDEX cross_flags_by_other ON cross_flags (other_station, other_inspection_id);
CREATE INDEX cross_flags_by_time ON cross_flags (station, raised_at);
";

const PROFILE_COLUMNS: &str =
    "station, inspection_id, plate, local_day, started_at, concluded_at, class, inspector, timed";

fn profile_of(row: &Row) -> InspectionProfile {
    InspectionProfile {
        key: PackageKey::new(row.get::<_, &str>(0), row.get(1)),
        plate: row.get(2),
        local_day: row.get(3),
        started_at: row.get(4),
        concluded_at: row.get(5),
        class: row.get(6),
        inspector: row.get(7),
        timed: row.get(8),
    }
}

fn limit_of(n: usize) -> StorageResult<i64> {
    i64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl PgMetadata {
    fn profiles(
        &self,
        filter: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StorageResult<Vec<InspectionProfile>> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT {PROFILE_COLUMNS} FROM inspection_profiles WHERE {filter} \
                     ORDER BY started_at, station, inspection_id"
                ),
                args,
            )
            .map_err(db)?;
        Ok(rows.iter().map(profile_of).collect())
    }
}

impl CrossFlags for PgMetadata {
    fn put_profile(&self, profile: &InspectionProfile, photos: &[PhotoHash]) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let key = &profile.key;
        tx.execute(
            "INSERT INTO inspection_profiles (station, inspection_id, plate, local_day, \
             started_at, concluded_at, duration_ms, class, inspector, timed, analyzed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL) \
             ON CONFLICT (station, inspection_id) DO UPDATE SET plate = EXCLUDED.plate, \
             local_day = EXCLUDED.local_day, started_at = EXCLUDED.started_at, \
             concluded_at = EXCLUDED.concluded_at, duration_ms = EXCLUDED.duration_ms, \
             class = EXCLUDED.class, inspector = EXCLUDED.inspector, timed = EXCLUDED.timed, \
             analyzed_at = NULL",
            &[
                &key.station,
                &key.inspection_id,
                &profile.plate,
                &profile.local_day,
                &ms(&profile.started_at),
                &ms(&profile.concluded_at),
                &profile.duration_ms(),
                &profile.class,
                &profile.inspector,
                &profile.timed,
            ],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM photo_hashes WHERE station = $1 AND inspection_id = $2",
            &[&key.station, &key.inspection_id],
        )
        .map_err(db)?;
        for photo in photos {
            let b = phash::bands(photo.hash).map(i32::from);
            tx.execute(
                "INSERT INTO photo_hashes (station, inspection_id, name, hash, b0, b1, b2, b3) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &photo.key.station,
                    &photo.key.inspection_id,
                    &photo.name,
                    &phash::to_stored(photo.hash),
                    &b[0],
                    &b[1],
                    &b[2],
                    &b[3],
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn photos_by_bands(
        &self,
        probes: &[Vec<u16>; BANDS],
        exclude: &PackageKey,
    ) -> StorageResult<Vec<PhotoHash>> {
        let lists: Vec<Vec<i32>> = probes
            .iter()
            .map(|values| values.iter().copied().map(i32::from).collect())
            .collect();
        // `= ANY($n)` over an array keeps one statement whatever the probes; each band's index
        // answers its part (a bitmap OR).
        let rows = self
            .conn()?
            .query(
                "SELECT station, inspection_id, name, hash FROM photo_hashes \
                 WHERE (b0 = ANY($1) OR b1 = ANY($2) OR b2 = ANY($3) OR b3 = ANY($4)) \
                 AND NOT (station = $5 AND inspection_id = $6)",
                &[
                    &lists[0],
                    &lists[1],
                    &lists[2],
                    &lists[3],
                    &exclude.station,
                    &exclude.inspection_id,
                ],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|row| PhotoHash {
                key: PackageKey::new(row.get::<_, &str>(0), row.get(1)),
                name: row.get(2),
                hash: phash::from_stored(row.get(3)),
            })
            .collect())
    }

    fn same_day_plate(
        &self,
        plate: &str,
        local_day: &str,
        station: &str,
    ) -> StorageResult<Vec<InspectionProfile>> {
        self.profiles(
            "plate = $1 AND local_day = $2 AND station <> $3",
            &[&plate, &local_day, &station],
        )
    }

    fn inspector_between(
        &self,
        inspector: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        station: &str,
    ) -> StorageResult<Vec<InspectionProfile>> {
        self.profiles(
            "inspector = $1 AND started_at < $2 AND concluded_at > $3 AND station <> $4",
            &[&inspector, &ms(&to), &ms(&from), &station],
        )
    }

    fn class_durations(
        &self,
        class: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StorageResult<Vec<i64>> {
        let rows = self
            .conn()?
            .query(
                "SELECT duration_ms FROM inspection_profiles \
                 WHERE class = $1 AND timed AND concluded_at < $2 \
                 ORDER BY concluded_at DESC LIMIT $3",
                &[&class, &ms(&before), &limit_of(limit)?],
            )
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn add_cross_flags(&self, flags: &[CrossFlagRecord]) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        for flag in flags {
            let other_station = flag.other.as_ref().map(|o| o.station.clone());
            let other_id: Option<Uuid> = flag.other.as_ref().map(|o| o.inspection_id);
            tx.execute(
                "INSERT INTO cross_flags (station, inspection_id, dedupe, kind, other_station, \
                 other_inspection_id, photo, other_photo, detail, raised_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                &[
                    &flag.key.station,
                    &flag.key.inspection_id,
                    &flag.dedupe_key(),
                    &code_of(&flag.kind)?,
                    &other_station,
                    &other_id,
                    &flag.photo,
                    &flag.other_photo,
                    &flag.detail.to_string(),
                    &ms(&flag.raised_at),
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn mark_analyzed(&self, key: &PackageKey, at: DateTime<Utc>) -> StorageResult<()> {
        self.conn()?
            .execute(
                "UPDATE inspection_profiles SET analyzed_at = $3 \
                 WHERE station = $1 AND inspection_id = $2",
                &[&key.station, &key.inspection_id, &ms(&at)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn unanalyzed(&self, limit: usize) -> StorageResult<Vec<PackageKey>> {
        let rows = self
            .conn()?
            .query(
                "SELECT p.station, p.inspection_id FROM packages p \
                 LEFT JOIN inspection_profiles i \
                   ON i.station = p.station AND i.inspection_id = p.inspection_id \
                 WHERE p.status = 'verified' AND i.analyzed_at IS NULL \
                 ORDER BY p.received_at, p.station, p.inspection_id LIMIT $1",
                &[&limit_of(limit)?],
            )
            .map_err(db)?;
        Ok(rows
            .iter()
            .map(|r| PackageKey::new(r.get::<_, &str>(0), r.get(1)))
            .collect())
    }

    fn cross_flags_of(&self, key: &PackageKey) -> StorageResult<Vec<CrossFlagRecord>> {
        let rows = self
            .conn()?
            .query(
                "SELECT kind, other_station, other_inspection_id, photo, other_photo, detail, \
                 raised_at FROM cross_flags WHERE station = $1 AND inspection_id = $2 \
                 ORDER BY raised_at, dedupe",
                &[&key.station, &key.inspection_id],
            )
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                let other_station: Option<String> = row.get(1);
                let other_id: Option<Uuid> = row.get(2);
                let detail: String = row.get(5);
                Ok(CrossFlagRecord {
                    key: key.clone(),
                    kind: from_code(row.get::<_, &str>(0))?,
                    other: other_station
                        .zip(other_id)
                        .map(|(s, i)| PackageKey::new(&s, i)),
                    photo: row.get(3),
                    other_photo: row.get(4),
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StorageError::Corrupt(format!("sinal: {e}")))?,
                    raised_at: row.get(6),
                })
            })
            .collect()
    }

    fn count_cross_flags(&self, station: Option<&str>) -> StorageResult<u64> {
        let row = match station {
            Some(s) => self
                .conn()?
                .query_one("SELECT COUNT(*) FROM cross_flags WHERE station = $1", &[&s]),
            None => self
                .conn()?
                .query_one("SELECT COUNT(*) FROM cross_flags", &[]),
        }
        .map_err(db)?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }
}
