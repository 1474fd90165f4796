//! The stations' audit rows, as their packages carry them (issue 21): each package brings the
//! rows written since the previous one, so the central holds every station's chain and sees a
//! rewritten position (a fork) the moment a package shows it, and the holes no package has
//! filled yet. An inspection's history (§6 corrections, retakes, an empty bay, lost video) is
//! read from its rows, whichever package brought them.
//!
//! Rows from the position the station's key was issued at carry a MAC only the central can check
//! (issue 17); each package's rows are checked on arrival, from a key checkpoint the central
//! keeps per station (the key of the row after the last checked), so a package costs its own
//! rows, not a ratchet from the first key over years of rows.
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
    /// position received and above what retention removed.
    fn trail_holes(&self, station: &str) -> StorageResult<Vec<(u64, u64)>>;

    /// The station after `after` (in code order) that has rows kept: retention walks the
    /// stations this way, one index probe each.
    fn next_trail_station(&self, after: Option<&str>) -> StorageResult<Option<String>>;

    /// The next run of `station`'s rows due for removal (§9), after position `after` (or after
    /// what was already removed), at most `limit` of them: rows written before `cutoff` that no
    /// kept package is about, up to the first row that must stay (newer, of unknown time, or
    /// about a kept package), so what is removed is always the chain's oldest part and the
    /// rest stays contiguous. `None` when nothing is due.
    fn trail_due(
        &self,
        station: &str,
        cutoff: &str,
        after: Option<u64>,
        limit: usize,
    ) -> StorageResult<Option<TrailDue>>;

    /// Removes `station`'s rows up to position `through` and records that retention removed
    /// them (so their absence is not a hole), in one transaction. The newest MAC checkpoint
    /// stays whatever its position.
    fn purge_trail(&self, station: &str, through: u64) -> StorageResult<u64>;

    /// The newest key checkpoint of `station`'s keyed chain at or before position `at_most`:
    /// `(seq, key of row seq)`.
    fn mac_checkpoint(&self, station: &str, at_most: u64)
    -> StorageResult<Option<(u64, [u8; 32])>>;

    /// Keeps the key of row `seq` of `station`'s chain (a package's rows were checked up to
    /// the row before). Saving the same position again changes nothing.
    fn save_mac_checkpoint(&self, station: &str, seq: u64, key: &[u8; 32]) -> StorageResult<()>;
}

/// A run of a station's audit rows due for removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailDue {
    /// The last position of the run.
    pub through: u64,
    /// Rows in it.
    pub rows: u64,
}

/// The holes in an ascending list of `(seq, next seq)` pairs from the store, whose first kept
/// row is `first`; positions up to `removed` were taken by retention, not missing.
pub(super) fn holes(
    removed: u64,
    first: Option<u64>,
    pairs: impl Iterator<Item = (u64, u64)>,
) -> Vec<(u64, u64)> {
    let mut holes = Vec::new();
    if let Some(first) = first
        && first > removed + 1
    {
        holes.push((removed + 1, first - 1));
    }
    for (seq, next) in pairs {
        if next > seq + 1 {
            holes.push((seq + 1, next - 1));
        }
    }
    holes
}

/// A stored checkpoint key (hex) back to its bytes.
pub(super) fn checkpoint_key(hex_key: &str) -> StorageResult<[u8; 32]> {
    hex::decode(hex_key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            super::StorageError::Corrupt("chave de verificação do registro ilegível".into())
        })
}
