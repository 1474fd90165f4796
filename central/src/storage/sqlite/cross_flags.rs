//! [`CrossFlags`] on SQLite: the `inspection_profiles`, `photo_hashes` and `cross_flags`
//! tables (schema version 12).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteMetadata, db, parse_ts, parse_uuid, ts};
use crate::cross_flags::phash::{self, BANDS};
use crate::storage::cross_flags::{CrossFlagRecord, CrossFlags, InspectionProfile, PhotoHash};
use crate::storage::{PackageKey, StorageError, StorageResult, code_of, from_code};

/// The tables and their indexes (part of the schema, version 12).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS inspection_profiles (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    plate TEXT NOT NULL,
    local_day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    concluded_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    class TEXT NOT NULL,
    inspector TEXT,
    timed INTEGER NOT NULL,
    analyzed_at TEXT,
    PRIMARY KEY (station, inspection_id),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages(station, inspection_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS profiles_by_plate ON inspection_profiles(plate, local_day);
CREATE INDEX IF NOT EXISTS profiles_by_inspector ON inspection_profiles(inspector, started_at);
CREATE INDEX IF NOT EXISTS profiles_by_class ON inspection_profiles(class, timed, concluded_at);
CREATE TABLE IF NOT EXISTS photo_hashes (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash INTEGER NOT NULL,
    b0 INTEGER NOT NULL,
    b1 INTEGER NOT NULL,
    b2 INTEGER NOT NULL,
    b3 INTEGER NOT NULL,
    PRIMARY KEY (station, inspection_id, name),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages(station, inspection_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS photo_hashes_b0 ON photo_hashes(b0);
CREATE INDEX IF NOT EXISTS photo_hashes_b1 ON photo_hashes(b1);
CREATE INDEX IF NOT EXISTS photo_hashes_b2 ON photo_hashes(b2);
CREATE INDEX IF NOT EXISTS photo_hashes_b3 ON photo_hashes(b3);
CREATE TABLE IF NOT EXISTS cross_flags (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    dedupe TEXT NOT NULL,
    kind TEXT NOT NULL,
    other_station TEXT,
    other_inspection_id TEXT,
    photo TEXT,
    other_photo TEXT,
    detail TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (station, inspection_id, dedupe),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages(station, inspection_id) ON DELETE CASCADE,
    FOREIGN KEY (other_station, other_inspection_id)
        REFERENCES packages(station, inspection_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS cross_flags_by_other ON cross_flags(other_station, other_inspection_id);
CREATE INDEX IF NOT EXISTS cross_flags_by_time ON cross_flags(station, raised_at);
";

const PROFILE_COLUMNS: &str =
    "station, inspection_id, plate, local_day, started_at, concluded_at, class, inspector, timed";

fn profile_of(row: &Row<'_>) -> rusqlite::Result<[Option<String>; 8]> {
    Ok([
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ])
}

fn decode_profile(cols: [Option<String>; 8], timed: bool) -> StorageResult<InspectionProfile> {
    let [
        station,
        id,
        plate,
        day,
        started,
        concluded,
        class,
        inspector,
    ] = cols;
    let text =
        |v: Option<String>| v.ok_or_else(|| StorageError::Corrupt("perfil incompleto".into()));
    Ok(InspectionProfile {
        key: PackageKey::new(&text(station)?, parse_uuid(&text(id)?)?),
        plate: text(plate)?,
        local_day: text(day)?,
        started_at: parse_ts(&text(started)?)?,
        concluded_at: parse_ts(&text(concluded)?)?,
        class: text(class)?,
        inspector,
        timed,
    })
}

fn limit_of(n: usize) -> StorageResult<i64> {
    i64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl SqliteMetadata {
    fn profiles(
        &self,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StorageResult<Vec<InspectionProfile>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {PROFILE_COLUMNS} FROM inspection_profiles WHERE {filter} \
                 ORDER BY started_at, station, inspection_id"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(args, |row| Ok((profile_of(row)?, row.get::<_, bool>(8)?)))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (cols, timed) = row.map_err(db)?;
            out.push(decode_profile(cols, timed)?);
        }
        Ok(out)
    }
}

impl CrossFlags for SqliteMetadata {
    fn put_profile(&self, profile: &InspectionProfile, photos: &[PhotoHash]) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        let id = profile.key.inspection_id.to_string();
        tx.execute(
            "INSERT OR REPLACE INTO inspection_profiles (station, inspection_id, plate, local_day, \
             started_at, concluded_at, duration_ms, class, inspector, timed, analyzed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)",
            params![
                profile.key.station,
                id,
                profile.plate,
                profile.local_day,
                ts(&profile.started_at),
                ts(&profile.concluded_at),
                profile.duration_ms(),
                profile.class,
                profile.inspector,
                profile.timed,
            ],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM photo_hashes WHERE station = ?1 AND inspection_id = ?2",
            params![profile.key.station, id],
        )
        .map_err(db)?;
        for photo in photos {
            let b = phash::bands(photo.hash);
            tx.execute(
                "INSERT INTO photo_hashes (station, inspection_id, name, hash, b0, b1, b2, b3) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    photo.key.station,
                    photo.key.inspection_id.to_string(),
                    photo.name,
                    phash::to_stored(photo.hash),
                    b[0],
                    b[1],
                    b[2],
                    b[3],
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
        // The probes are numbers: written in the statement, each band's IN list uses its index.
        let any = probes
            .iter()
            .enumerate()
            .filter(|(_, values)| !values.is_empty())
            .map(|(band, values)| {
                let list = values
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                format!("b{band} IN ({list})")
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        if any.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT station, inspection_id, name, hash FROM photo_hashes \
                 WHERE ({any}) AND NOT (station = ?1 AND inspection_id = ?2)"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![exclude.station, exclude.inspection_id.to_string()],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                },
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (station, id, name, hash) = row.map_err(db)?;
            out.push(PhotoHash {
                key: PackageKey::new(&station, parse_uuid(&id)?),
                name,
                hash: phash::from_stored(hash),
            });
        }
        Ok(out)
    }

    fn same_day_plate(
        &self,
        plate: &str,
        local_day: &str,
        station: &str,
    ) -> StorageResult<Vec<InspectionProfile>> {
        self.profiles(
            "plate = ?1 AND local_day = ?2 AND station <> ?3",
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
        // Times are RFC 3339 text with milliseconds in UTC: they order as text.
        self.profiles(
            "inspector = ?1 AND started_at < ?2 AND concluded_at > ?3 AND station <> ?4",
            &[&inspector, &ts(&to), &ts(&from), &station],
        )
    }

    fn class_durations(
        &self,
        class: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StorageResult<Vec<i64>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT duration_ms FROM inspection_profiles \
                 WHERE class = ?1 AND timed = 1 AND concluded_at < ?2 \
                 ORDER BY concluded_at DESC LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![class, ts(&before), limit_of(limit)?], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn add_cross_flags(&self, flags: &[CrossFlagRecord]) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        for flag in flags {
            tx.execute(
                "INSERT OR IGNORE INTO cross_flags (station, inspection_id, dedupe, kind, \
                 other_station, other_inspection_id, photo, other_photo, detail, raised_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    flag.key.station,
                    flag.key.inspection_id.to_string(),
                    flag.dedupe_key(),
                    code_of(&flag.kind)?,
                    flag.other.as_ref().map(|o| o.station.clone()),
                    flag.other.as_ref().map(|o| o.inspection_id.to_string()),
                    flag.photo,
                    flag.other_photo,
                    flag.detail.to_string(),
                    ts(&flag.raised_at),
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn mark_analyzed(&self, key: &PackageKey, at: DateTime<Utc>) -> StorageResult<()> {
        self.lock()
            .execute(
                "UPDATE inspection_profiles SET analyzed_at = ?3 \
                 WHERE station = ?1 AND inspection_id = ?2",
                params![key.station, key.inspection_id.to_string(), ts(&at)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn unanalyzed(&self, limit: usize) -> StorageResult<Vec<PackageKey>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT p.station, p.inspection_id FROM packages p \
                 LEFT JOIN inspection_profiles i \
                   ON i.station = p.station AND i.inspection_id = p.inspection_id \
                 WHERE p.status = 'verified' AND i.analyzed_at IS NULL \
                 ORDER BY p.received_at, p.station, p.inspection_id LIMIT ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([limit_of(limit)?], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (station, id) = row.map_err(db)?;
            out.push(PackageKey::new(&station, parse_uuid(&id)?));
        }
        Ok(out)
    }

    fn cross_flags_of(&self, key: &PackageKey) -> StorageResult<Vec<CrossFlagRecord>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT kind, other_station, other_inspection_id, photo, other_photo, detail, \
                 raised_at FROM cross_flags WHERE station = ?1 AND inspection_id = ?2 \
                 ORDER BY raised_at, dedupe",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![key.station, key.inspection_id.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, other_station, other_id, photo, other_photo, detail, raised_at) =
                row.map_err(db)?;
            let other = match (other_station, other_id) {
                (Some(s), Some(i)) => Some(PackageKey::new(&s, parse_uuid(&i)?)),
                _ => None,
            };
            out.push(CrossFlagRecord {
                key: key.clone(),
                kind: from_code(&kind)?,
                other,
                photo,
                other_photo,
                detail: serde_json::from_str(&detail)
                    .map_err(|e| StorageError::Corrupt(format!("sinal: {e}")))?,
                raised_at: parse_ts(&raised_at)?,
            });
        }
        Ok(out)
    }

    fn count_cross_flags(&self, station: Option<&str>) -> StorageResult<u64> {
        let conn = self.lock();
        let n: Option<i64> = match station {
            Some(s) => conn
                .query_row(
                    "SELECT COUNT(*) FROM cross_flags WHERE station = ?1",
                    [s],
                    |r| r.get(0),
                )
                .optional(),
            None => conn
                .query_row("SELECT COUNT(*) FROM cross_flags", [], |r| r.get(0))
                .optional(),
        }
        .map_err(db)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}
