//! [`Devices`] on SQLite: the `policies`, `releases` and `station_inventories` tables (schema
//! version 9).

use rusqlite::{OptionalExtension, params};

use super::{SqliteMetadata, db, parse_ts, parse_uuid, ts};
use crate::storage::devices::{Devices, InventoryRecord, PolicyRecord, ReleaseRecord};
use crate::storage::{StorageError, StorageResult};

/// The tables (part of the schema, version 9).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS policies (
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    signed TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE TABLE IF NOT EXISTS releases (
    version TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS station_inventories (
    station TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    inventory TEXT NOT NULL,
    policy_version INTEGER,
    offenders TEXT NOT NULL,
    offender_count INTEGER NOT NULL
);
";

fn version_of(v: i64) -> StorageResult<u64> {
    u64::try_from(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn to_i64(v: u64) -> StorageResult<i64> {
    i64::try_from(v).map_err(|e| StorageError::Corrupt(e.to_string()))
}

impl Devices for SqliteMetadata {
    fn insert_policy(&self, policy: &PolicyRecord) -> StorageResult<bool> {
        let inserted = self
            .lock()
            .execute(
                "INSERT OR IGNORE INTO policies (kind, version, published_at, signed) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    policy.kind,
                    to_i64(policy.version)?,
                    ts(&policy.published_at),
                    policy.signed
                ],
            )
            .map_err(db)?;
        Ok(inserted == 1)
    }

    fn latest_policy(&self, kind: &str) -> StorageResult<Option<PolicyRecord>> {
        let row = self
            .lock()
            .query_row(
                "SELECT version, published_at, signed FROM policies WHERE kind = ?1 \
                 ORDER BY version DESC LIMIT 1",
                params![kind],
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
        row.map(|(version, at, signed)| {
            Ok(PolicyRecord {
                kind: kind.to_owned(),
                version: version_of(version)?,
                published_at: parse_ts(&at)?,
                signed,
            })
        })
        .transpose()
    }

    fn put_release(&self, release: &ReleaseRecord) -> StorageResult<()> {
        self.lock()
            .execute(
                "INSERT INTO releases (version, sha256, size, blob, published_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (version) DO UPDATE SET \
                 sha256 = excluded.sha256, size = excluded.size, blob = excluded.blob, \
                 published_at = excluded.published_at",
                params![
                    release.version,
                    release.sha256,
                    to_i64(release.size)?,
                    release.blob.to_string(),
                    ts(&release.published_at)
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn release_record(&self, version: &str) -> StorageResult<Option<ReleaseRecord>> {
        let row = self
            .lock()
            .query_row(
                "SELECT sha256, size, blob, published_at FROM releases WHERE version = ?1",
                params![version],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(sha256, size, blob, at)| {
            Ok(ReleaseRecord {
                version: version.to_owned(),
                sha256,
                size: version_of(size)?,
                blob: parse_uuid(&blob)?,
                published_at: parse_ts(&at)?,
            })
        })
        .transpose()
    }

    fn put_inventory(&self, record: &InventoryRecord) -> StorageResult<()> {
        let policy_version = record.policy_version.map(to_i64).transpose()?;
        self.lock()
            .execute(
                "INSERT INTO station_inventories \
                 (station, received_at, inventory, policy_version, offenders, offender_count) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (station) DO UPDATE SET \
                 received_at = excluded.received_at, inventory = excluded.inventory, \
                 policy_version = excluded.policy_version, offenders = excluded.offenders, \
                 offender_count = excluded.offender_count",
                params![
                    record.station,
                    ts(&record.received_at),
                    record.inventory,
                    policy_version,
                    record.offenders,
                    record.offender_count
                ],
            )
            .map_err(db)?;
        Ok(())
    }

    fn inventory(&self, station: &str) -> StorageResult<Option<InventoryRecord>> {
        let row = self
            .lock()
            .query_row(
                "SELECT received_at, inventory, policy_version, offenders, offender_count \
                 FROM station_inventories WHERE station = ?1",
                params![station],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, u32>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(
            |(at, inventory, policy_version, offenders, offender_count)| {
                Ok(InventoryRecord {
                    station: station.to_owned(),
                    received_at: parse_ts(&at)?,
                    inventory,
                    policy_version: policy_version.map(version_of).transpose()?,
                    offenders,
                    offender_count,
                })
            },
        )
        .transpose()
    }
}
