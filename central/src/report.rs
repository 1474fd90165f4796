//! Offline commands over a data folder: `station add` and `report`, whose verification of the
//! stored bytes is incremental (`storage/integrity.rs`); `purge` is `retention.rs`.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;
use vistoria_core::hashing::Digests;
use vistoria_core::wire::{PackageStatus, rfc3339_ms};

use crate::api::token_hash;
use crate::storage::integrity::{DueCheck, IntegrityCheck};
use crate::storage::{
    BlobStore, MetadataStore, PackageKey, PackageRecord, StorageError, StorageResult,
};

/// Why `station add` failed.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// Bad code.
    #[error("código de estação inválido «{0}»: use de 1 a 32 letras maiúsculas, números ou '-'")]
    BadCode(String),
    /// Storage failure, including a code already registered.
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// Registers a station and returns its new bearer token (only its hash is stored).
pub fn add_station(meta: &dyn MetadataStore, code: &str) -> Result<String, StationError> {
    // The release packages' blob folder is not a station (§15).
    if crate::names::check_station_code(code).is_err() || code == crate::storage::devices::RELEASES
    {
        return Err(StationError::BadCode(code.to_owned()));
    }
    let secret: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(secret);
    meta.add_station(code, &token_hash(&token), Utc::now())?;
    Ok(token)
}

/// Verification status of a stored inspection, as the report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Committed, and the stored bytes matched the manifest when last read back.
    Verified,
    /// The last commit was refused (bytes did not match).
    Rejected,
    /// Committed, but the stored bytes no longer match (tampering or disk fault).
    Corrupted,
    /// Manifest received; not committed yet.
    Receiving,
}

/// One line of `report --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLine {
    /// The inspection.
    pub inspection_id: Uuid,
    /// Station.
    pub station: String,
    /// Plate.
    pub plate: String,
    /// Verification status, from the last check of the stored bytes.
    pub verification: Verification,
    /// Laudo number, once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub laudo_number: Option<String>,
    /// When verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// When the stored bytes were last read back (the commit's check, then `report`'s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// Manifest hash.
    pub manifest_sha256: String,
    /// Files listed in the manifest.
    pub files: usize,
    /// Bytes listed in the manifest.
    pub bytes: u64,
    /// Concluded after the §9 deadline.
    pub late: bool,
    /// Carries the inspector's signature of the laudo (checked at commit, §14). Every verdict
    /// does; an interruption may not.
    pub signed: bool,
    /// What is wrong, if anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Last line of `report --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// Inspections stored.
    pub inspections: usize,
    /// Verified and intact.
    pub verified: usize,
    /// Rejected or corrupted.
    pub rejected: usize,
    /// Inspections stored more than once (same content under two ids, or extra stored copies
    /// of files): must be 0.
    pub duplicates_stored: usize,
    /// What this run re-read.
    pub rechecked: Rechecked,
}

/// How a `report` run re-reads stored bytes.
#[derive(Debug, Clone, Copy)]
pub struct Recheck {
    /// The run's "now".
    pub now: DateTime<Utc>,
    /// Re-read the inspections whose last check is older than this (zero: every one).
    pub older_than: chrono::Duration,
    /// Stop starting new inspections once this many bytes were read; the rest, least recently
    /// checked first, waits for the next run.
    pub budget_bytes: Option<u64>,
}

/// What a run re-read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rechecked {
    /// Inspections re-read.
    pub inspections: usize,
    /// Bytes re-read.
    pub bytes: u64,
    /// Due inspections left for the next run (the budget ran out).
    pub left: bool,
}

/// Reads a verified package's stored bytes back against its manifest.
fn check_bytes(
    package: &PackageRecord,
    blobs: &dyn BlobStore,
    now: DateTime<Utc>,
) -> StorageResult<(IntegrityCheck, u64)> {
    let mut problems = Vec::new();
    let mut read = 0;
    let sealed: HashSet<String> = blobs.sealed(&package.key())?.into_iter().collect();
    for file in &package.files {
        if !sealed.contains(&file.name) {
            problems.push(format!("{}: ausente", file.name));
            continue;
        }
        let got = Digests::of_reader(blobs.open(&package.key(), &file.name)?)?;
        read += got.size;
        if got.sha256 != file.sha256 || got.md5 != file.md5 || got.size != file.size {
            problems.push(format!("{}: bytes não conferem com o manifesto", file.name));
        }
    }
    let listed: HashSet<&str> = package.files.iter().map(|f| f.name.as_str()).collect();
    let extra = sealed
        .iter()
        .filter(|n| !listed.contains(n.as_str()))
        .count();
    let check = IntegrityCheck {
        checked_at: now,
        problems,
        extra_files: u32::try_from(extra).unwrap_or(u32::MAX),
    };
    Ok((check, read))
}

/// Re-reads the verified inspections whose last check is due, least recently checked first,
/// recording each check as soon as it is made: a run that is stopped (killed, or out of budget)
/// leaves the next one to go on from there.
pub fn recheck_due(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    recheck: &Recheck,
) -> StorageResult<Rechecked> {
    const PAGE: usize = 200;
    let before = recheck.now - recheck.older_than;
    let mut done = Rechecked::default();
    let mut after: Option<DueCheck> = None;
    loop {
        let page = meta.due_checks(before, after.as_ref(), PAGE)?;
        for due in &page {
            if recheck
                .budget_bytes
                .is_some_and(|budget| done.bytes >= budget)
            {
                done.left = true;
                return Ok(done);
            }
            // Purged or expired since the page was read: nothing to check.
            let Some(package) = meta.package(&due.key)? else {
                continue;
            };
            let (check, read) = check_bytes(&package, blobs, recheck.now)?;
            meta.record_check(&due.key, &check)?;
            done.inspections += 1;
            done.bytes += read;
        }
        if page.len() < PAGE {
            return Ok(done);
        }
        after = page.last().cloned();
    }
}

fn report_line(package: &PackageRecord, check: Option<&IntegrityCheck>) -> ReportLine {
    let mut problems = Vec::new();
    let verification = match package.status {
        PackageStatus::Receiving => Verification::Receiving,
        PackageStatus::Rejected => {
            problems.extend(package.rejection.clone());
            Verification::Rejected
        }
        PackageStatus::Verified => match check {
            Some(check) if check.problems.is_empty() => Verification::Verified,
            Some(check) => {
                problems.extend(check.problems.iter().cloned());
                Verification::Corrupted
            }
            None => {
                problems.push("nunca conferido: sem registro da conferência".into());
                Verification::Corrupted
            }
        },
    };
    ReportLine {
        inspection_id: package.inspection_id,
        station: package.station.clone(),
        plate: package.plate.clone(),
        verification,
        laudo_number: package.receipt.as_ref().map(|r| r.laudo_number.clone()),
        received_at: package
            .receipt
            .as_ref()
            .map(|r| rfc3339_ms::format(&r.received_at)),
        checked_at: check.map(|c| rfc3339_ms::format(&c.checked_at)),
        manifest_sha256: package.manifest_sha256.clone(),
        files: package.files.len(),
        bytes: package.files.iter().map(|f| f.size).sum(),
        late: package.late,
        signed: package
            .files
            .iter()
            .any(|f| f.kind == vistoria_core::wire::MediaKind::Signature),
        problems,
    }
}

/// Every stored inspection with its verification status, after re-reading the bytes of those
/// whose last check is due (`recheck`); the others are reported from their recorded check.
pub fn report(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
    recheck: &Recheck,
) -> StorageResult<(Vec<ReportLine>, ReportSummary)> {
    let rechecked = recheck_due(meta, blobs, recheck)?;
    let checks: HashMap<PackageKey, IntegrityCheck> =
        meta.integrity_checks()?.into_iter().collect();
    let packages = meta.packages()?;
    let mut lines = Vec::with_capacity(packages.len());
    let mut by_content: HashMap<&str, usize> = HashMap::new();
    let mut extra_copies = 0;
    for package in &packages {
        let check = checks.get(&package.key());
        if package.status == PackageStatus::Verified {
            *by_content
                .entry(package.manifest_sha256.as_str())
                .or_default() += 1;
            if check.is_some_and(|c| c.extra_files > 0) {
                extra_copies += 1;
            }
        }
        lines.push(report_line(package, check));
    }
    let duplicates = by_content
        .values()
        .filter(|&&n| n > 1)
        .map(|n| n - 1)
        .sum::<usize>();
    let summary = ReportSummary {
        inspections: lines.len(),
        verified: lines
            .iter()
            .filter(|l| l.verification == Verification::Verified)
            .count(),
        rejected: lines
            .iter()
            .filter(|l| {
                matches!(
                    l.verification,
                    Verification::Rejected | Verification::Corrupted
                )
            })
            .count(),
        duplicates_stored: duplicates + extra_copies,
        rechecked,
    };
    Ok((lines, summary))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn station_codes_are_checked_and_tokens_hashed() {
        let meta = crate::storage::sqlite::SqliteMetadata::in_memory().unwrap();
        assert!(matches!(
            add_station(&meta, "ecv 01"),
            Err(StationError::BadCode(_))
        ));
        let token = add_station(&meta, "ECV-01").unwrap();
        assert_eq!(
            meta.station_for_token(&token_hash(&token))
                .unwrap()
                .as_deref(),
            Some("ECV-01")
        );
        assert_eq!(
            meta.station_for_token(&token).unwrap(),
            None,
            "the token itself is not stored"
        );
        assert!(matches!(
            add_station(&meta, "ECV-01"),
            Err(StationError::Storage(_))
        ));
    }
}
