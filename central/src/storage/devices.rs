//! Device management (§15): the signed policies the central published, its releases of the
//! station software, and each station's last inventory with what the software policy found in
//! it. Kept in the metadata store, like everything several instances must agree on: a policy
//! is signed once, when it is published, and every instance serves the same stored bytes.
//!
//! Both metadata backends implement [`Devices`] (`sqlite/devices.rs`, schema version 9;
//! `postgres/devices.rs`, migration 9).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StorageResult;

/// One published policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// `version`, `software` or `security` (`vistoria_core::policy::PolicyKind`).
    pub kind: String,
    /// The document's version.
    pub version: u64,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// The `SignedPolicy` as JSON, exactly as stations receive it.
    pub signed: String,
}

/// A published release of the station software.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    /// The package's Debian version.
    pub version: String,
    /// SHA-256 of the `.deb`, lowercase hex.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Where its bytes are in the blob store (under [`RELEASES`]).
    pub blob: Uuid,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// A station's last inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRecord {
    /// Station code.
    pub station: String,
    /// When the central received it.
    pub received_at: DateTime<Utc>,
    /// The inventory, JSON.
    pub inventory: String,
    /// The software policy it was compared with.
    pub policy_version: Option<u64>,
    /// What that policy does not allow, JSON list (empty: none).
    pub offenders: String,
    /// How many offenders (the station's flag: > 0).
    pub offender_count: u32,
}

/// The blob-store "station" that holds release packages. Not a valid station code (station codes
/// are `A–Z 0–9 -`, and `add` refuses this one), so it never meets a station's media.
pub const RELEASES: &str = "-RELEASES-";

/// Policies, releases and inventories, kept by the metadata store.
pub trait Devices {
    /// Stores a policy; `false`, and nothing stored, when its kind already has that version (a
    /// publication racing another: the caller signs the next version and tries again).
    fn insert_policy(&self, policy: &PolicyRecord) -> StorageResult<bool>;

    /// The highest version of `kind`.
    fn latest_policy(&self, kind: &str) -> StorageResult<Option<PolicyRecord>>;

    /// Stores a release (replacing one of the same version: a rebuilt package).
    fn put_release(&self, release: &ReleaseRecord) -> StorageResult<()>;

    /// A release by version.
    fn release_record(&self, version: &str) -> StorageResult<Option<ReleaseRecord>>;

    /// Replaces `record.station`'s last inventory.
    fn put_inventory(&self, record: &InventoryRecord) -> StorageResult<()>;

    /// A station's last inventory.
    fn inventory(&self, station: &str) -> StorageResult<Option<InventoryRecord>>;
}
