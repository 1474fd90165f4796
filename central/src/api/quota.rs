//! What one package, and one station, may ask the central to hold (issue 17): files and bytes
//! per package, the laudo and `.p7s` sizes (the commit reads both whole into memory), bytes
//! outstanding per station, and the free-space reserve. Each refusal names the limit's flag.

use std::sync::Arc;

use axum::http::StatusCode;
use vistoria_core::wire::{ErrorCode, MediaKind, PackageManifest};

use super::error::ApiError;
use super::limits::Limits;
use super::{AppState, admission, blocking};
use crate::storage::PackageKey;

fn too_large(field: impl Into<String>, message: String) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        message,
    );
    e.body.field = Some(field.into());
    e
}

/// Caps that need only the manifest: 413 naming the field, the file and the flag.
pub fn check_manifest(manifest: &PackageManifest, limits: &Limits) -> Result<(), ApiError> {
    if manifest.files.len() > limits.max_files_per_package {
        return Err(too_large(
            "files",
            format!(
                "o pacote lista {} arquivos; o limite é {} (--max-files-per-package)",
                manifest.files.len(),
                limits.max_files_per_package
            ),
        ));
    }
    let total = manifest
        .files
        .iter()
        .fold(0u64, |sum, f| sum.saturating_add(f.size));
    if total > limits.max_package_bytes {
        return Err(too_large(
            "files",
            format!(
                "o pacote declara {total} bytes; o limite é {} bytes (--max-package-bytes)",
                limits.max_package_bytes
            ),
        ));
    }
    for (i, file) in manifest.files.iter().enumerate() {
        let cap = match file.kind {
            MediaKind::Laudo => Some((limits.max_laudo_bytes, "o laudo", "--max-laudo-bytes")),
            MediaKind::Signature => Some((
                limits.max_signature_bytes,
                "a assinatura",
                "--max-signature-bytes",
            )),
            _ => None,
        };
        if let Some((max, what, flag)) = cap
            && file.size > max
        {
            return Err(too_large(
                format!("files[{i}].size"),
                format!(
                    "{what} «{}» declara {} bytes; o limite é {max} bytes ({flag})",
                    file.name, file.size
                ),
            )
            .with_file(&file.name));
        }
    }
    Ok(())
}

/// Caps that need the store, for a package not registered yet: the bytes the station already
/// has outstanding (413) and the disk's free space (507). A retry of a registered manifest
/// passes, so a station never loses the package it already started.
pub async fn check_capacity(
    state: &Arc<AppState>,
    key: &PackageKey,
    manifest: &PackageManifest,
) -> Result<(), ApiError> {
    let declared = manifest
        .files
        .iter()
        .fold(0u64, |sum, f| sum.saturating_add(f.size));
    let meta = Arc::clone(&state.meta);
    let key = key.clone();
    let (exists, outstanding) = blocking(move || {
        if meta.package(&key)?.is_some() {
            return Ok((true, 0));
        }
        Ok((false, meta.outstanding_bytes(&key.station)?))
    })
    .await?;
    if exists {
        return Ok(());
    }
    let max = state.limits.max_outstanding_bytes_per_station;
    if outstanding.saturating_add(declared) > max {
        return Err(too_large(
            "files",
            format!(
                "a estação já tem {outstanding} bytes em pacotes não confirmados e este declara \
                 {declared}; o limite é {max} bytes (--max-outstanding-bytes); conclua os envios \
                 pendentes antes de registrar outro"
            ),
        ));
    }
    admission::check_free_space(state.data_folder(), declared, &state.limits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use uuid::Uuid;
    use vistoria_core::domain::{Checklist, InspectionId, Outcome, Plate, VehicleClass, Verdict};
    use vistoria_core::wire::ManifestFile;

    fn manifest(files: Vec<(String, MediaKind, u64)>) -> PackageManifest {
        let now = chrono::Utc::now();
        PackageManifest {
            inspection_id: InspectionId::new(),
            station: "ECV-01".into(),
            query_id: Uuid::new_v4(),
            plate: Plate::parse("ABC1D23").unwrap(),
            concluded_at: now,
            outcome: Outcome::Verdict(Verdict::Conforming),
            checklist: Checklist::new(VehicleClass::PassengerCar),
            audit_head: "0".repeat(64),
            audit_sequence: None,
            files: files
                .into_iter()
                .map(|(name, kind, size)| ManifestFile {
                    name,
                    kind,
                    size,
                    md5: "0".repeat(32),
                    sha256: "0".repeat(64),
                })
                .collect(),
            metadata: Default::default(),
        }
    }

    #[test]
    fn caps_name_the_field_and_the_flag() {
        let limits = Limits {
            max_files_per_package: 2,
            max_package_bytes: 100,
            max_laudo_bytes: 10,
            max_signature_bytes: 5,
            ..Limits::default()
        };
        let ok = manifest(vec![("a.jpg".into(), MediaKind::Photo, 50)]);
        check_manifest(&ok, &limits).unwrap();
        let many = manifest(
            (0..3)
                .map(|i| (format!("{i}.jpg"), MediaKind::Photo, 1))
                .collect(),
        );
        let e = check_manifest(&many, &limits).err().unwrap();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(e.body.error.contains("--max-files-per-package"));
        let big = manifest(vec![("a.jpg".into(), MediaKind::Photo, 101)]);
        assert!(
            check_manifest(&big, &limits)
                .err()
                .unwrap()
                .body
                .error
                .contains("--max-package-bytes")
        );
        let p7s = manifest(vec![
            ("laudo.json".into(), MediaKind::Laudo, 10),
            ("laudo.p7s".into(), MediaKind::Signature, 6),
        ]);
        let e = check_manifest(&p7s, &limits).err().unwrap();
        assert_eq!(e.body.file.as_deref(), Some("laudo.p7s"));
        assert_eq!(e.body.field.as_deref(), Some("files[1].size"));
    }
}
