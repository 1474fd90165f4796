//! [`Devices`] on PostgreSQL: the `policies`, `releases` and `station_inventories` tables
//! (migration 9).

use super::{PgMetadata, db, ms, to_i64, to_u64};
use crate::storage::devices::{Devices, InventoryRecord, PolicyRecord, ReleaseRecord};
use crate::storage::{StorageError, StorageResult};

/// Migration 9: the tables.
pub(super) const MIGRATION: &str = "
CREATE TABLE policies (
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    signed TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE TABLE releases (
    version TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    blob UUID NOT NULL,
    published_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE station_inventories (
    station TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    inventory TEXT NOT NULL,
    policy_version BIGINT,
    offenders TEXT NOT NULL,
    offender_count INTEGER NOT NULL
);
";

impl Devices for PgMetadata {
    fn insert_policy(&self, policy: &PolicyRecord) -> StorageResult<bool> {
        let inserted = self.execute(
            "INSERT INTO policies (kind, version, published_at, signed) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[
                &policy.kind,
                &to_i64(policy.version)?,
                &ms(&policy.published_at),
                &policy.signed,
            ],
        )?;
        Ok(inserted == 1)
    }

    fn latest_policy(&self, kind: &str) -> StorageResult<Option<PolicyRecord>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT version, published_at, signed FROM policies WHERE kind = $1 \
                 ORDER BY version DESC LIMIT 1",
                &[&kind],
            )
            .map_err(db)?;
        row.map(|row| {
            Ok(PolicyRecord {
                kind: kind.to_owned(),
                version: to_u64(row.get(0))?,
                published_at: row.get(1),
                signed: row.get(2),
            })
        })
        .transpose()
    }

    fn put_release(&self, release: &ReleaseRecord) -> StorageResult<()> {
        self.execute(
            "INSERT INTO releases (version, sha256, size, blob, published_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO UPDATE SET \
             sha256 = excluded.sha256, size = excluded.size, blob = excluded.blob, \
             published_at = excluded.published_at",
            &[
                &release.version,
                &release.sha256,
                &to_i64(release.size)?,
                &release.blob,
                &ms(&release.published_at),
            ],
        )?;
        Ok(())
    }

    fn release_record(&self, version: &str) -> StorageResult<Option<ReleaseRecord>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT sha256, size, blob, published_at FROM releases WHERE version = $1",
                &[&version],
            )
            .map_err(db)?;
        row.map(|row| {
            Ok(ReleaseRecord {
                version: version.to_owned(),
                sha256: row.get(0),
                size: to_u64(row.get(1))?,
                blob: row.get(2),
                published_at: row.get(3),
            })
        })
        .transpose()
    }

    fn put_inventory(&self, record: &InventoryRecord) -> StorageResult<()> {
        let policy_version = record.policy_version.map(to_i64).transpose()?;
        let count = i32::try_from(record.offender_count)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        self.execute(
            "INSERT INTO station_inventories \
             (station, received_at, inventory, policy_version, offenders, offender_count) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (station) DO UPDATE SET \
             received_at = excluded.received_at, inventory = excluded.inventory, \
             policy_version = excluded.policy_version, offenders = excluded.offenders, \
             offender_count = excluded.offender_count",
            &[
                &record.station,
                &ms(&record.received_at),
                &record.inventory,
                &policy_version,
                &record.offenders,
                &count,
            ],
        )?;
        Ok(())
    }

    fn inventory(&self, station: &str) -> StorageResult<Option<InventoryRecord>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT received_at, inventory, policy_version, offenders, offender_count \
                 FROM station_inventories WHERE station = $1",
                &[&station],
            )
            .map_err(db)?;
        row.map(|row| {
            Ok(InventoryRecord {
                station: station.to_owned(),
                received_at: row.get(0),
                inventory: row.get(1),
                policy_version: row.get::<_, Option<i64>>(2).map(to_u64).transpose()?,
                offenders: row.get(3),
                offender_count: u32::try_from(row.get::<_, i32>(4))
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            })
        })
        .transpose()
    }
}
