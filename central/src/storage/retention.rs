//! Retention (§9): what is older than five years is removed, by `serve` on a schedule and by
//! the `purge` command. The store answers in keyset pages (oldest first, by an index on the age
//! of each row) so a purge over millions of inspections holds one page at a time, and every run
//! leaves a record of what it removed.
//!
//! Both metadata backends implement [`Retention`] (`sqlite/retention.rs`,
//! `postgres/retention.rs`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PackageKey, QueryRecord, StorageResult};

/// A package past the retention cutoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredPackage {
    /// The package.
    pub key: PackageKey,
    /// Its age reference: when it was received, or first seen if it was never verified.
    pub at: DateTime<Utc>,
}

/// One run of the retention purge, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionRun {
    /// What ran it: `serve` with its instance id, or the `purge` command.
    pub origin: String,
    /// The time the run took as "now".
    pub at: DateTime<Utc>,
    /// Everything before this was due.
    pub cutoff: DateTime<Utc>,
    /// Inspections removed, with their media and laudo numbers.
    pub inspections: u64,
    /// Vehicle queries removed that no inspection referred to.
    pub queries: u64,
    /// Due inspections left for the next run because an upload or commit of theirs was running
    /// (on any instance).
    pub skipped: u64,
    /// Why the run stopped early, if it did.
    pub failure: Option<String>,
    /// The stations' audit rows removed on their own: those about no kept inspection, at the
    /// old end of each station's chain.
    pub audit_rows: u64,
}

/// Retention queries and removals of the metadata store.
pub trait Retention {
    /// Up to `limit` packages whose age reference is before `cutoff`, oldest first (ties by
    /// station and inspection id), after `after` when given: the next page of a scan.
    fn expired_packages(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&ExpiredPackage>,
        limit: usize,
    ) -> StorageResult<Vec<ExpiredPackage>>;

    /// Up to `limit` vehicle queries made before `cutoff` that no package refers to, oldest
    /// first (ties by id), after `after` when given.
    fn expired_queries(
        &self,
        cutoff: DateTime<Utc>,
        after: Option<&QueryRecord>,
        limit: usize,
    ) -> StorageResult<Vec<QueryRecord>>;

    /// Removes a package, its files' records, its integrity check, its laudo number and the
    /// station's audit rows about it, in one transaction. (An unverified package that merely
    /// expired keeps its number: `delete_package`.)
    fn purge_package(&self, key: &PackageKey) -> StorageResult<()>;

    /// Keeps the record of a run.
    fn record_retention_run(&self, run: &RetentionRun) -> StorageResult<()>;

    /// The latest `limit` runs, newest first.
    fn retention_runs(&self, limit: usize) -> StorageResult<Vec<RetentionRun>>;
}

/// Reads a stored run's id-free columns back (both backends keep the same ones).
pub(super) const RUN_COLUMNS: &str =
    "origin, at, cutoff, inspections, queries, skipped, failure, audit_rows";

/// Instance ids in `origin` are for people reading the record; this makes the text.
pub fn serve_origin(instance: Uuid) -> String {
    format!("serve {instance}")
}
