//! Laudo numbers (§10, issue 21): the central allocates an inspection's number when it answers
//! its vehicle query, so the paper, the PDF, the `.p7s` and the receipt carry one number. One
//! number per (station, inspection id) and per year's counter, given in the same transaction
//! that records the query; a query repeated for the same inspection (a lost answer) gets the
//! first query and number back. What the public check page (`GET /v/{number}`) says is recorded
//! with the number at commit.
//!
//! Both metadata backends implement [`LaudoNumbers`] with unique constraints and a transaction
//! (`sqlite.rs`, `postgres.rs`): never process memory, so several instances agree.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{PackageKey, QueryRecord, StorageResult};

/// A laudo number and the inspection it was allocated to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaudoAllocation {
    /// `MT-2026-000001`.
    pub number: String,
    /// The station whose inspection it is.
    pub station: String,
    /// The station's inspection id.
    pub inspection_id: Uuid,
    /// The vehicle query that allocated it (for a number given at commit: the package's).
    pub query_id: Uuid,
    /// When it was allocated (the query's time, or the commit's for a number given then).
    pub allocated_at: DateTime<Utc>,
    /// What the commit recorded; `None` until the package is verified, and for packages
    /// verified before the central kept it.
    pub facts: Option<LaudoFacts>,
}

impl LaudoAllocation {
    /// The package this number belongs to.
    pub fn key(&self) -> PackageKey {
        PackageKey::new(&self.station, self.inspection_id)
    }
}

/// What the commit of a package learnt about its laudo, kept for the public check page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaudoFacts {
    /// The station's name as its laudo prints it (`None`: the package carried no laudo).
    pub station_name: Option<String>,
    /// Whether the package carried the inspector's signature (`.p7s`) of its laudo. A package
    /// is verified only when every signature it carries verified, so `true` says the signature
    /// verified at commit.
    pub signature_verified: bool,
}

/// What [`LaudoNumbers::allocate_laudo_number`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    /// The inspection's query: the one given, or the one recorded when the station asked for
    /// this inspection before.
    pub query: QueryRecord,
    /// The inspection's laudo number.
    pub number: String,
    /// Whether this call recorded the query and allocated the number (`false`: a repeat).
    pub new: bool,
}

/// How to find an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationOf {
    /// A station's inspection.
    Inspection(PackageKey),
    /// The vehicle query that allocated it.
    Query(Uuid),
    /// Its number.
    Number(String),
}

/// Laudo numbers, kept by the metadata store.
pub trait LaudoNumbers {
    /// Records `query` for `query.station`'s inspection `inspection_id` and allocates the
    /// inspection's laudo number (the next of the query's year), in one transaction. When the
    /// station already asked for this inspection, records nothing and returns the first query
    /// and its number.
    fn allocate_laudo_number(
        &self,
        query: &QueryRecord,
        inspection_id: Uuid,
    ) -> StorageResult<Allocated>;

    /// The allocation found by `of`, if any.
    fn laudo_allocation(&self, of: &AllocationOf) -> StorageResult<Option<LaudoAllocation>>;
}
