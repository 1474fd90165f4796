//! When each received inspection's bytes were last read back and found to match its manifest
//! (§9: five years of photos and film that must stay what was received). The commit is the
//! first such check; `report` re-reads only what has gone longest without one, so a store of
//! millions of inspections is re-verified a slice at a time, and a run that is stopped resumes
//! where it stopped: every check is recorded as soon as it is made.
//!
//! Both metadata backends implement [`Integrity`] (`sqlite/integrity.rs`,
//! `postgres/integrity.rs`): one row per verified package, written in the commit's transaction,
//! indexed by its time.

use chrono::{DateTime, Utc};

use super::{PackageKey, StorageResult};

/// The last check of a package's stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityCheck {
    /// When the bytes were read.
    pub checked_at: DateTime<Utc>,
    /// What did not match (empty: intact).
    pub problems: Vec<String>,
    /// Stored files the manifest does not list (extra copies: must be 0).
    pub extra_files: u32,
}

/// A package whose check is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCheck {
    /// The package.
    pub key: PackageKey,
    /// When it was last checked.
    pub checked_at: DateTime<Utc>,
}

/// Integrity checks, kept by the metadata store.
pub trait Integrity {
    /// Up to `limit` verified packages last checked before `before`, least recently checked
    /// first (ties by station and inspection id), after `after` when given.
    fn due_checks(
        &self,
        before: DateTime<Utc>,
        after: Option<&DueCheck>,
        limit: usize,
    ) -> StorageResult<Vec<DueCheck>>;

    /// Records a check of a verified package (replacing the last one).
    fn record_check(&self, key: &PackageKey, check: &IntegrityCheck) -> StorageResult<()>;

    /// The last check of every verified package.
    fn integrity_checks(&self) -> StorageResult<Vec<(PackageKey, IntegrityCheck)>>;
}
