//! The stations' audit rows, as their packages carry them (issue 21): each package brings the
//! rows written since the previous one, so the central holds every station's chain and sees a
//! rewritten position (a fork) the moment a package shows it, and the holes no package has
//! filled yet. An inspection's history (§6 corrections, retakes, an empty bay, lost video) is
//! read from its rows, whichever package brought them.
//!
//! Both metadata backends implement [`AuditTrails`] (`sqlite/trails.rs`, `postgres/trails.rs`):
//! rows are inserted and then compared in one transaction, so two instances receiving
//! contradicting rows at once cannot both succeed.

use uuid::Uuid;
use vistoria_core::store::AuditRow;

use super::StorageResult;

/// The station's audit rows kept by the central.
pub trait AuditTrails {
    /// Stores a checked run of `station`'s rows (contiguous, linked: `store::check_segment`).
    /// Returns the first position where they contradict what is stored (another hash at the
    /// same position, or a broken link with a stored neighbour), storing nothing then.
    fn record_trail(&self, station: &str, rows: &[AuditRow]) -> StorageResult<Option<u64>>;

    /// The rows of one inspection, by position.
    fn inspection_trail(&self, station: &str, inspection_id: Uuid) -> StorageResult<Vec<AuditRow>>;

    /// The runs of positions no package has brought yet, `(first, last)`, below the newest
    /// position received.
    fn trail_holes(&self, station: &str) -> StorageResult<Vec<(u64, u64)>>;
}

/// The holes in an ascending list of `(seq, next seq)` pairs from the store.
pub(super) fn holes(
    first: Option<u64>,
    pairs: impl Iterator<Item = (u64, u64)>,
) -> Vec<(u64, u64)> {
    let mut holes = Vec::new();
    if let Some(first) = first
        && first > 1
    {
        holes.push((1, first - 1));
    }
    for (seq, next) in pairs {
        if next > seq + 1 {
            holes.push((seq + 1, next - 1));
        }
    }
    holes
}
