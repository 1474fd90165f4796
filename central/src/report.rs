//! Offline commands over a data folder: `station add` and `report` (`purge` is `retention.rs`).

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;
use vistoria_core::hashing::Digests;
use vistoria_core::wire::{PackageStatus, rfc3339_ms};

use crate::api::token_hash;
use crate::storage::{BlobStore, MetadataStore, PackageRecord, StorageError, StorageResult};

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
    if crate::names::check_station_code(code).is_err() {
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
    /// Committed, and the stored bytes still match the manifest.
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
    /// Verification status, re-checked against the stored bytes.
    pub verification: Verification,
    /// Laudo number, once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub laudo_number: Option<String>,
    /// When verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
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
}

fn check_package(package: &PackageRecord, blobs: &dyn BlobStore) -> StorageResult<ReportLine> {
    let mut problems = Vec::new();
    let verification = match package.status {
        PackageStatus::Receiving => Verification::Receiving,
        PackageStatus::Rejected => {
            problems.extend(package.rejection.clone());
            Verification::Rejected
        }
        PackageStatus::Verified => {
            let sealed: HashSet<String> = blobs.sealed(&package.key())?.into_iter().collect();
            for file in &package.files {
                if !sealed.contains(&file.name) {
                    problems.push(format!("{}: ausente", file.name));
                    continue;
                }
                let got = Digests::of_reader(blobs.open(&package.key(), &file.name)?)?;
                if got.sha256 != file.sha256 || got.md5 != file.md5 || got.size != file.size {
                    problems.push(format!("{}: bytes não conferem com o manifesto", file.name));
                }
            }
            if problems.is_empty() {
                Verification::Verified
            } else {
                Verification::Corrupted
            }
        }
    };
    Ok(ReportLine {
        inspection_id: package.inspection_id,
        station: package.station.clone(),
        plate: package.plate.clone(),
        verification,
        laudo_number: package.receipt.as_ref().map(|r| r.laudo_number.clone()),
        received_at: package
            .receipt
            .as_ref()
            .map(|r| rfc3339_ms::format(&r.received_at)),
        manifest_sha256: package.manifest_sha256.clone(),
        files: package.files.len(),
        bytes: package.files.iter().map(|f| f.size).sum(),
        late: package.late,
        signed: package
            .files
            .iter()
            .any(|f| f.kind == vistoria_core::wire::MediaKind::Signature),
        problems,
    })
}

/// Every stored inspection, re-verified against its stored bytes, and the totals.
pub fn report(
    meta: &dyn MetadataStore,
    blobs: &dyn BlobStore,
) -> StorageResult<(Vec<ReportLine>, ReportSummary)> {
    let packages = meta.packages()?;
    let mut lines = Vec::with_capacity(packages.len());
    let mut by_content: HashMap<&str, usize> = HashMap::new();
    let mut extra_copies = 0;
    for package in &packages {
        let line = check_package(package, blobs)?;
        if package.status == PackageStatus::Verified {
            *by_content
                .entry(package.manifest_sha256.as_str())
                .or_default() += 1;
            let listed: HashSet<&str> = package.files.iter().map(|f| f.name.as_str()).collect();
            let sealed = blobs.sealed(&package.key())?;
            if sealed.iter().any(|name| !listed.contains(name.as_str())) {
                extra_copies += 1;
            }
        }
        lines.push(line);
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
