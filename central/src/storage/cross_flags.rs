//! What the cross-station flags (issue 22, [`crate::cross_flags`]) keep in the metadata store:
//! each verified inspection's profile (plate, Mato Grosso day, times, class, inspector), the
//! perceptual hash of each of its photos with the index that finds near hashes over every
//! station, and the flags raised with the other inspection they point at.
//!
//! All of it lives in the database, not in an instance's memory: several central instances
//! commit packages at once and each must see the others' photos and profiles. Rows go with
//! their package (foreign keys, `ON DELETE CASCADE`): retention (§9) removes a package's
//! profile, hashes and flags, and the flags of other inspections that point at it.
//! Both backends implement [`CrossFlags`] (`sqlite/cross_flags.rs`, `postgres/cross_flags.rs`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{PackageKey, StorageResult};

/// What the flags compare of one inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionProfile {
    /// The inspection.
    pub key: PackageKey,
    /// The vehicle's plate in its Mercosul form, so an old plate and its conversion compare equal.
    pub plate: String,
    /// The day of its conclusion in Mato Grosso (`aaaa-mm-dd`).
    pub local_day: String,
    /// When it started (the vehicle query, central time, 2d).
    pub started_at: DateTime<Utc>,
    /// When it was concluded or interrupted (central time).
    pub concluded_at: DateTime<Utc>,
    /// The vehicle class's code (`passenger_car`…).
    pub class: String,
    /// Who did it: `cpf:` and the signing e-CPF's CPF, else `id:` and what the package says.
    pub inspector: Option<String>,
    /// Whether it counts in its class's usual time (concluded with a verdict, not interrupted).
    pub timed: bool,
}

impl InspectionProfile {
    /// Its length in milliseconds.
    pub fn duration_ms(&self) -> i64 {
        (self.concluded_at - self.started_at).num_milliseconds()
    }
}

/// The perceptual hash of one stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoHash {
    /// Its inspection.
    pub key: PackageKey,
    /// The file's name.
    pub name: String,
    /// The 64-bit dHash ([`crate::cross_flags::phash`]).
    pub hash: u64,
}

/// A kind of cross-station flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossKind {
    /// A photo nearly matches a photo of another inspection (any station).
    PhotoNearDuplicate,
    /// The same vehicle was inspected the same day at another station.
    PlateTwiceSameDay,
    /// The same inspector had an inspection at another station overlapping in time.
    InspectorOverlap,
    /// Much shorter than the usual time of its vehicle class.
    ShortInspection,
}

/// One cross-station flag on an inspection, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossFlagRecord {
    /// The inspection flagged.
    pub key: PackageKey,
    /// What.
    pub kind: CrossKind,
    /// The other inspection it points at (none for a short inspection).
    pub other: Option<PackageKey>,
    /// This inspection's photo (near duplicates).
    pub photo: Option<String>,
    /// The other inspection's photo (near duplicates).
    pub other_photo: Option<String>,
    /// The figures behind it (distance, times, median…).
    pub detail: Value,
    /// When the central raised it.
    pub raised_at: DateTime<Utc>,
}

impl CrossFlagRecord {
    /// What makes it unique on its inspection: analysing a package again raises nothing twice.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            super::code_of(&self.kind).unwrap_or_default(),
            self.other
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            self.photo.as_deref().unwrap_or(""),
            self.other_photo.as_deref().unwrap_or("")
        )
    }
}

/// The cross-station flags' storage.
pub trait CrossFlags {
    /// Stores (or replaces) an inspection's profile and its photos' hashes, not yet analysed.
    /// Written before the comparisons are read, so of two packages analysed at once on two
    /// instances the later reader always sees the other.
    fn put_profile(&self, profile: &InspectionProfile, photos: &[PhotoHash]) -> StorageResult<()>;

    /// Photos of other inspections whose hash has, in some band `b`, one of `probes[b]`
    /// ([`crate::cross_flags::phash::probe_keys`]); the caller checks the distance.
    fn photos_by_bands(
        &self,
        probes: &[Vec<u16>; crate::cross_flags::phash::BANDS],
        exclude: &PackageKey,
    ) -> StorageResult<Vec<PhotoHash>>;

    /// Profiles of `plate` concluded on `local_day` at stations other than `station`.
    fn same_day_plate(
        &self,
        plate: &str,
        local_day: &str,
        station: &str,
    ) -> StorageResult<Vec<InspectionProfile>>;

    /// Profiles of `inspector` at stations other than `station` whose time overlaps
    /// `[from, to]`.
    fn inspector_between(
        &self,
        inspector: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        station: &str,
    ) -> StorageResult<Vec<InspectionProfile>>;

    /// Lengths (ms) of the `limit` latest timed inspections of `class` concluded before
    /// `before`, any station.
    fn class_durations(
        &self,
        class: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StorageResult<Vec<i64>>;

    /// Stores flags; one already stored (same inspection and [`CrossFlagRecord::dedupe_key`])
    /// is kept as it was.
    fn add_cross_flags(&self, flags: &[CrossFlagRecord]) -> StorageResult<()>;

    /// Says the inspection's flags are all stored.
    fn mark_analyzed(&self, key: &PackageKey, at: DateTime<Utc>) -> StorageResult<()>;

    /// Verified packages not analysed yet (none stored, or stopped half-way), oldest
    /// receipt first, at most `limit`.
    fn unanalyzed(&self, limit: usize) -> StorageResult<Vec<PackageKey>>;

    /// The flags of one inspection, oldest first.
    fn cross_flags_of(&self, key: &PackageKey) -> StorageResult<Vec<CrossFlagRecord>>;

    /// How many flags are stored on `station`'s inspections (`None`: every station's).
    fn count_cross_flags(&self, station: Option<&str>) -> StorageResult<u64>;
}
