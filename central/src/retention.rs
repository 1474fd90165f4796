//! Retention (§9: "o prazo é de 05 anos para filmagens, laudos, imagens e dados"): what is older
//! than five years is removed with its media and its laudo number, by `serve` on a schedule
//! (`api/retention.rs`) and by the `purge` command, in pages of [`BATCH`] so memory stays flat
//! over millions of inspections; then the old end of each station's audit chain that no kept
//! inspection needs (logins, staff changes and the like are data too). Every run is recorded, with what it removed and why it
//! stopped if it failed ([`RetentionRun`]): the audit record of §9's removals.
//!
//! Several instances may purge at once: each package is removed under the whole-package lease
//! the commit and the expiry take, so a package is removed by one of them, never while an upload
//! or commit of it runs, and removing what another instance already removed changes nothing.

use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use uuid::Uuid;
use vistoria_core::wire::rfc3339_ms;

use crate::storage::retention::{ExpiredPackage, RetentionRun};
use crate::storage::{BlobStore, MetadataStore, PackageKey, QueryRecord};

/// How long everything is kept (§9).
pub const RETENTION_MONTHS: u32 = 60;

/// Rows read and removed per page.
pub const BATCH: usize = 500;

/// The oldest instant still kept at `now` (five years back, §9).
pub fn retention_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(RETENTION_MONTHS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// One thing `purge` removes (or would remove, with `--dry-run`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "removed", rename_all = "snake_case")]
pub enum Purged {
    /// An inspection with its media and laudo number.
    Inspection {
        /// The inspection.
        inspection_id: Uuid,
        /// Station.
        station: String,
        /// When it was received (or first seen, if never verified).
        at: String,
    },
    /// A vehicle query no kept inspection refers to.
    Query {
        /// The query.
        query_id: Uuid,
        /// When it was made.
        at: String,
    },
    /// The old end of a station's audit chain: rows about no kept inspection (logins, staff
    /// changes, clock syncs, inspections whose package is gone), positions up to `through`.
    AuditRows {
        /// Station.
        station: String,
        /// The last position removed.
        through: u64,
        /// Rows removed.
        rows: u64,
    },
}

/// What a purge is asked to do.
pub struct PurgeRequest<'a> {
    /// Where the metadata is.
    pub meta: &'a dyn MetadataStore,
    /// Where the media are.
    pub blobs: &'a dyn BlobStore,
    /// The run's "now"; what is older than five years before it is due.
    pub now: DateTime<Utc>,
    /// Remove nothing, record nothing: only say what would be removed.
    pub dry_run: bool,
    /// Who runs it, for the record.
    pub origin: String,
}

/// Removes what is due at `request.now`: inspections whose receipt (or, never verified, whose
/// first arrival) is before the cutoff, with their media and laudo numbers, then old queries no
/// kept inspection refers to. `hold` takes the package's lease (`None`: someone is working on it;
/// it is left for the next run); `each` hears of every removal. Returns the run as recorded;
/// a run that fails midway is recorded with its failure and what it removed before.
pub fn purge<G>(
    request: &PurgeRequest<'_>,
    hold: impl Fn(&PackageKey) -> Option<G>,
    mut each: impl FnMut(&Purged) -> anyhow::Result<()>,
) -> anyhow::Result<RetentionRun> {
    let mut run = RetentionRun {
        origin: request.origin.clone(),
        at: request.now,
        cutoff: retention_cutoff(request.now),
        inspections: 0,
        queries: 0,
        skipped: 0,
        failure: None,
        audit_rows: 0,
    };
    let result = remove_due(request, &hold, &mut each, &mut run);
    if let Err(e) = &result {
        run.failure = Some(format!("{e:#}"));
    }
    if !request.dry_run {
        request.meta.record_retention_run(&run)?;
    }
    result.map(|()| run)
}

fn remove_due<G>(
    request: &PurgeRequest<'_>,
    hold: &impl Fn(&PackageKey) -> Option<G>,
    each: &mut impl FnMut(&Purged) -> anyhow::Result<()>,
    run: &mut RetentionRun,
) -> anyhow::Result<()> {
    let PurgeRequest {
        meta,
        blobs,
        dry_run,
        ..
    } = *request;
    let mut after: Option<ExpiredPackage> = None;
    loop {
        let page = meta.expired_packages(run.cutoff, after.as_ref(), BATCH)?;
        for due in &page {
            if !dry_run {
                let Some(_lease) = hold(&due.key) else {
                    run.skipped += 1;
                    continue;
                };
                // Media first: a crash in between leaves metadata pointing at nothing, which
                // the next run removes, never media without metadata.
                blobs.delete_inspection(&due.key)?;
                meta.purge_package(&due.key)?;
            }
            run.inspections += 1;
            each(&Purged::Inspection {
                inspection_id: due.key.inspection_id,
                station: due.key.station.clone(),
                at: rfc3339_ms::format(&due.at),
            })?;
        }
        if page.len() < BATCH {
            break;
        }
        after = page.last().cloned();
    }
    let mut after: Option<QueryRecord> = None;
    loop {
        let page = meta.expired_queries(run.cutoff, after.as_ref(), BATCH)?;
        for query in &page {
            if !dry_run {
                meta.delete_query(query.query_id)?;
            }
            run.queries += 1;
            each(&Purged::Query {
                query_id: query.query_id,
                at: rfc3339_ms::format(&query.queried_at),
            })?;
        }
        if page.len() < BATCH {
            break;
        }
        after = page.last().cloned();
    }
    remove_due_trails(request, each, run)
}

/// The stations' audit rows due on their own, after the inspections (whose rows went with
/// them): each station's chain loses its old end, in pages, and keeps a record of how far, so
/// the positions removed are never reported as a hole in its trail.
fn remove_due_trails(
    request: &PurgeRequest<'_>,
    each: &mut impl FnMut(&Purged) -> anyhow::Result<()>,
    run: &mut RetentionRun,
) -> anyhow::Result<()> {
    // The rows keep the time the station wrote, in this same form.
    let cutoff = rfc3339_ms::format(&run.cutoff);
    let mut station = request.meta.next_trail_station(None)?;
    while let Some(code) = station {
        let mut after = None;
        while let Some(due) = request.meta.trail_due(&code, &cutoff, after, BATCH)? {
            let rows = if request.dry_run {
                due.rows
            } else {
                request.meta.purge_trail(&code, due.through)?
            };
            run.audit_rows += rows;
            each(&Purged::AuditRows {
                station: code.clone(),
                through: due.through,
                rows,
            })?;
            after = Some(due.through);
        }
        station = request.meta.next_trail_station(Some(&code))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn cutoff_is_five_years() {
        let now = Utc.with_ymd_and_hms(2031, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(
            retention_cutoff(now),
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
        );
    }
}
