//! What a package must prove before it gets a laudo number: a verdict comes with its evidence,
//! and the parts of a package agree with each other and with the vehicle query it started from.
//!
//! Two moments: [`check_manifest`] when the manifest arrives (nothing uploaded yet, so a station
//! learns at once that a package can never be accepted), and [`check_laudo`] at commit, once the
//! laudo's bytes are here and verified against the manifest's digests. The inspector's signature
//! over the laudo is `signature.rs`. Every refusal is a 422 `inconsistent_package` naming the
//! field, in Portuguese: permanent, because the same package will fail again.

use std::collections::HashSet;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use vistoria_core::domain::{Outcome, Plate, VehicleClass, Verdict};
use vistoria_core::laudo::{Laudo, LaudoResult};
use vistoria_core::wire::{ErrorCode, MediaKind, PackageManifest};

use super::error::ApiError;
use crate::storage::QueryRecord;

/// How far a kiosk's clock may be from the central's. Kiosks keep central time (2d) and
/// re-synchronise, so minutes of drift mean a wrong clock or a forged time.
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(2);

/// 422 `inconsistent_package` naming `field`.
pub fn refused(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InconsistentPackage,
        message,
    )
    .with_field(field)
}

/// Names of the manifest's files of `kind`, in manifest order.
pub(super) fn files_of(manifest: &PackageManifest, kind: MediaKind) -> Vec<&str> {
    manifest
        .files
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.name.as_str())
        .collect()
}

/// Checks a new manifest against the query it names (already known to be this station's and
/// this plate's), the class of the queried vehicle (`None` when the registry no longer has it)
/// and the arrival time.
pub fn check_manifest(
    manifest: &PackageManifest,
    query: &QueryRecord,
    queried_class: Option<VehicleClass>,
    arrived_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    // 2d: the conclusion happens after the query and before the package reaches us.
    if manifest.concluded_at < query.queried_at - CLOCK_TOLERANCE {
        return Err(refused(
            "concluded_at",
            format!(
                "concluded_at {} é anterior à consulta do veículo ({}); confira o relógio da estação",
                manifest.concluded_at.to_rfc3339(),
                query.queried_at.to_rfc3339()
            ),
        ));
    }
    if manifest.concluded_at > arrived_at + CLOCK_TOLERANCE {
        return Err(refused(
            "concluded_at",
            format!(
                "concluded_at {} está no futuro (hora da central: {}); confira o relógio da estação",
                manifest.concluded_at.to_rfc3339(),
                arrived_at.to_rfc3339()
            ),
        ));
    }
    // §13: the checklist is the one of the vehicle the central returned, not of another class.
    if let Some(class) = queried_class
        && manifest.checklist.class() != class
    {
        return Err(refused(
            "checklist.class",
            format!(
                "o checklist é de {}, mas o veículo consultado é {}",
                manifest.checklist.class().label_pt(),
                class.label_pt()
            ),
        ));
    }
    let Outcome::Verdict(verdict) = &manifest.outcome else {
        // An interruption (§12) may end before any checklist, laudo or signature exists.
        return Ok(());
    };
    // §12, §13: a verdict stands on a complete checklist and says what that checklist says.
    let missing = manifest.checklist.missing();
    if !missing.is_empty() {
        return Err(refused(
            "checklist",
            format!(
                "vistoria concluída com o checklist incompleto ({} itens sem registro, como «{}»)",
                missing.len(),
                missing[0].label_pt()
            ),
        ));
    }
    if manifest.checklist.verdict().as_ref() != Some(verdict) {
        return Err(refused(
            "outcome",
            format!(
                "o resultado «{}» não é o que o checklist registra",
                verdict.label_pt()
            ),
        ));
    }
    // §10, §14: a verdict comes with exactly one laudo and the inspector's signature of it.
    for (kind, field, what) in [
        (MediaKind::Laudo, "files", "laudo"),
        (MediaKind::Signature, "files", "assinatura (.p7s) do laudo"),
    ] {
        let found = files_of(manifest, kind).len();
        if found != 1 {
            return Err(refused(
                field,
                format!(
                    "uma vistoria concluída deve trazer exatamente um arquivo de {what}; o pacote traz {found}"
                ),
            ));
        }
    }
    Ok(())
}

/// §8: what the station says of each photo in `metadata.media` — the device that took it and
/// an additional photo's reason (stations from issue 19 on) — is short text a person reads:
/// 1–120 characters, no control characters, as the station's store keeps it. Entries without
/// them (older stations, files no device took) are accepted as they are.
pub fn check_media_notes(manifest: &PackageManifest) -> Result<(), ApiError> {
    let Some(entries) = manifest
        .metadata
        .get("media")
        .and_then(serde_json::Value::as_array)
    else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        for key in ["device", "reason"] {
            let Some(value) = entry.get(key) else {
                continue;
            };
            if !value.as_str().is_some_and(vistoria_core::store::valid_note) {
                return Err(refused(
                    &format!("metadata.media[{i}].{key}"),
                    format!(
                        "metadata.media[{i}].{key} deve ser um texto de 1 a {} caracteres, sem caracteres de controle",
                        vistoria_core::store::MAX_NOTE_CHARS
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The one laudo of the manifest, if any.
pub fn laudo_file(manifest: &PackageManifest) -> Option<&str> {
    match files_of(manifest, MediaKind::Laudo).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Checks that the laudo says what the manifest says: inspection, station, vehicle, checklist,
/// result, and that every photo and film segment it attests to is in the package.
pub fn check_laudo(manifest: &PackageManifest, laudo: &Laudo) -> Result<(), ApiError> {
    if laudo.inspection_id != manifest.inspection_id.to_string() {
        return Err(refused(
            "laudo.inspection_id",
            format!("o laudo é de outra vistoria ({})", laudo.inspection_id),
        ));
    }
    if laudo.station.code != manifest.station {
        return Err(refused(
            "laudo.station",
            format!("o laudo é da estação «{}»", laudo.station.code),
        ));
    }
    let same_plate =
        Plate::parse(&laudo.vehicle.plate).is_ok_and(|p| p.same_vehicle(&manifest.plate));
    if !same_plate {
        return Err(refused(
            "laudo.vehicle.plate",
            format!(
                "o laudo é da placa {}, o pacote da placa {}",
                laudo.vehicle.plate,
                manifest.plate.as_str()
            ),
        ));
    }
    if laudo.vehicle.class != manifest.checklist.class().code() {
        return Err(refused(
            "laudo.vehicle.class",
            format!(
                "o laudo é de um veículo da classe «{}», o checklist de {}",
                laudo.vehicle.class_label,
                manifest.checklist.class().label_pt()
            ),
        ));
    }
    let lines: Vec<(&str, bool)> = laudo
        .checklist
        .iter()
        .map(|l| (l.code.as_str(), l.conforming))
        .collect();
    let entries: Vec<(&str, bool)> = manifest
        .checklist
        .entries()
        .iter()
        .map(|e| {
            (
                e.item.code(),
                e.condition != vistoria_core::domain::Condition::NonConforming,
            )
        })
        .collect();
    if lines != entries {
        return Err(refused(
            "laudo.checklist",
            "o checklist do laudo difere do checklist do pacote",
        ));
    }
    // The laudo's result is the package's; or, for an inspection interrupted after its verdict
    // was signed but before the signature was recorded (a crash, the deadline), the verdict
    // the interruption kept (`unsigned_verdict`): that laudo is evidence too, not a forgery.
    let verdict_agrees = |label: &str, non_conforming: &[String], verdict: &Verdict| {
        let codes: Vec<&str> = match verdict {
            Verdict::Conforming => Vec::new(),
            Verdict::NonConforming { items } => items.iter().map(|i| i.code()).collect(),
        };
        label == verdict.label_pt() && non_conforming.iter().map(String::as_str).eq(codes)
    };
    let result_agrees = match (&laudo.result, &manifest.outcome) {
        (
            LaudoResult::Concluded {
                label,
                non_conforming,
            },
            Outcome::Verdict(verdict),
        ) => verdict_agrees(label, non_conforming, verdict),
        (
            LaudoResult::Concluded {
                label,
                non_conforming,
            },
            Outcome::Interrupted(interruption),
        ) => interruption
            .unsigned_verdict
            .as_ref()
            .is_some_and(|verdict| verdict_agrees(label, non_conforming, verdict)),
        (LaudoResult::Interrupted { cause, .. }, Outcome::Interrupted(interruption)) => {
            cause == interruption.cause.code()
        }
        _ => false,
    };
    if !result_agrees {
        return Err(refused(
            "laudo.result",
            format!(
                "o resultado do laudo («{}») difere do resultado do pacote («{}»)",
                laudo.result.headline_pt(),
                manifest.outcome.label_pt()
            ),
        ));
    }
    // 2e, §8: what the laudo attests to by hash is exactly what was delivered.
    let hashes = |kind: MediaKind| -> HashSet<&str> {
        manifest
            .files
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.sha256.as_str())
            .collect()
    };
    let photos = hashes(MediaKind::Photo);
    if let Some(photo) = laudo
        .photos
        .iter()
        .find(|p| !photos.contains(p.sha256.as_str()))
    {
        return Err(refused(
            "laudo.photos",
            format!(
                "a foto «{}» do laudo (SHA-256 {}…) não está no pacote",
                photo.label,
                &photo.sha256[..photo.sha256.len().min(12)]
            ),
        ));
    }
    let segments = hashes(MediaKind::VideoSegment);
    if let Some(segment) = laudo
        .panoramic_segments
        .iter()
        .find(|s| !segments.contains(s.sha256.as_str()))
    {
        return Err(refused(
            "laudo.panoramic_segments",
            format!(
                "o segmento {} da filmagem citado no laudo não está no pacote",
                segment.index
            ),
        ));
    }
    // §6: the plate reading and its correction the inspector signed are the package's (a
    // station that sends them in the manifest; older ones do not).
    if let Some(sent) = manifest.metadata.get("plate_reading") {
        let signed = serde_json::to_value(&laudo.plate_reading).unwrap_or_default();
        if &signed != sent {
            return Err(refused(
                "laudo.plate_reading",
                "a leitura da placa (§6) do laudo difere da leitura do pacote",
            ));
        }
    }
    // §4: every gap of the film the laudo lists is in the package's list, which may hold more
    // (the film runs on until the laudo is signed and stored).
    if let Some(sent) = manifest
        .metadata
        .get("film_gaps")
        .and_then(|g| g.as_array())
    {
        let known = |gap: &vistoria_core::film::FilmGap| {
            sent.iter().any(|g| {
                g["start_ms"] == serde_json::json!(gap.start_ms)
                    && g["cause"] == serde_json::json!(gap.cause)
            })
        };
        if let Some(gap) = laudo.film_gaps.iter().find(|g| !known(g)) {
            return Err(refused(
                "laudo.film_gaps",
                format!(
                    "a interrupção da filmagem aos {} ms citada no laudo não está no pacote",
                    gap.start_ms
                ),
            ));
        }
    }
    Ok(())
}
