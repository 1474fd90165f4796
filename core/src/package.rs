//! One inspection's package for the central server: the manifest (metadata, checklist, result or
//! interruption cause, §12) and every media file with the digests taken at capture (2e, §8).

use std::collections::BTreeMap;

use serde_json::json;
use thiserror::Error;

use crate::config::Station;
use crate::domain::{Event, Inspection};
use crate::store::{MediaRecord, Store, StoreError};
use crate::wire::{AUDIT_TRAIL_KEY, ManifestFile, MediaKind, PackageManifest};

/// Why a package cannot be built.
#[derive(Debug, Error)]
pub enum PackageError {
    /// The inspection has no result yet (not concluded, interrupted or signed).
    #[error("a vistoria {0} ainda não tem resultado para enviar")]
    NoOutcome(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The manifest cannot be encoded.
    #[error("manifesto não serializável: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The media kind the central knows for a stored kind code.
pub fn media_kind(kind: &str) -> MediaKind {
    match kind {
        "video_segment" => MediaKind::VideoSegment,
        // The panoramic recording's manifest (segments, gaps, presence timeline, §17e).
        "panoramic_manifest" => MediaKind::Other,
        "laudo" => MediaKind::Laudo,
        "signature" => MediaKind::Signature,
        "audit_log" => MediaKind::AuditLog,
        _ => MediaKind::Photo,
    }
}

/// The name a media file has in the package: its name in the inspection's folder.
pub fn file_name(record: &MediaRecord) -> &str {
    record
        .file_name
        .rsplit_once('/')
        .map_or(record.file_name.as_str(), |(_, name)| name)
}

/// Builds the manifest of `inspection` (which must have an outcome) from what the store holds.
pub fn build_manifest(
    store: &Store,
    station: &Station,
    inspection: &Inspection,
) -> Result<PackageManifest, PackageError> {
    let outcome = inspection
        .outcome()
        .ok_or_else(|| PackageError::NoOutcome(inspection.id().to_string()))?;
    let concluded_at = inspection
        .history()
        .iter()
        .rev()
        .find(|t| {
            matches!(
                t.event,
                Event::Conclude
                    | Event::Interrupt
                    | Event::ExpireDeadline
                    | Event::RecoverAfterCrash
            )
        })
        .map_or(inspection.last_event_at(), |t| t.at);
    let media = store.media_of(inspection.id())?;
    let files = media
        .iter()
        .map(|m| ManifestFile {
            name: file_name(m).to_owned(),
            kind: media_kind(&m.kind),
            size: m.digests.size,
            md5: m.digests.md5.clone(),
            sha256: m.digests.sha256.clone(),
        })
        .collect();
    let mut metadata = BTreeMap::new();
    metadata.insert("vehicle".to_owned(), json!(inspection.data()));
    metadata.insert("identity".to_owned(), json!(inspection.vehicle()));
    metadata.insert("queried_at".to_owned(), json!(inspection.queried_at()));
    metadata.insert("deadline".to_owned(), json!(inspection.deadline()));
    metadata.insert("history".to_owned(), json!(inspection.history()));
    metadata.insert("signature".to_owned(), json!(inspection.signature()));
    let reasons = store.retake_reasons(inspection.id())?;
    metadata.insert(
        "media".to_owned(),
        json!(
            media
                .iter()
                .map(|m| {
                    let mut entry = json!({
                        "name": file_name(m),
                        "kind": m.kind,
                        "captured_at": m.captured_at,
                    });
                    if let Some(reason) = reasons.get(&m.id) {
                        entry["retake_reason"] = json!(reason);
                    }
                    // The device that took a photo and an additional photo's reason (§8):
                    // absent for files no device took and from older stores.
                    if let Some(device) = &m.device {
                        entry["device"] = json!(device);
                    }
                    if let Some(reason) = &m.reason {
                        entry["reason"] = json!(reason);
                    }
                    entry
                })
                .collect::<Vec<_>>()
        ),
    );
    // §6: the rear photo's reading and its correction travel with the package, as in the laudo.
    metadata.insert(
        "plate_reading".to_owned(),
        json!(crate::laudo::stored::plate_reading(store, inspection)?),
    );
    // §4: every gap of the film. A film manifest that cannot be read must not keep the package
    // from the central (§12): the problem is sent in its place.
    let gaps = match crate::film::stored_gaps(store, inspection.id()) {
        Ok(gaps) => json!(gaps),
        Err(e) => json!({ "error": e.to_string() }),
    };
    metadata.insert("film_gaps".to_owned(), gaps);
    metadata.insert(
        "station".to_owned(),
        json!({
            "name": station.name,
            "address": station.address,
            "city": station.city,
            "latitude": station.latitude,
            "longitude": station.longitude,
        }),
    );
    // Captures made on simulators are marked, so the central can tell them apart (issue 17).
    if !station.simulated_devices.is_empty() {
        metadata.insert(
            "simulated_devices".to_owned(),
            json!(station.simulated_devices),
        );
    }
    // §15: the versions of the central's policies in force when the package was made.
    if let Some(policies) = crate::policy::versions_in_force(store)? {
        metadata.insert("policies".to_owned(), policies);
    }
    let (audit_sequence, audit_head) = store
        .audit_head()?
        .map_or((0, crate::store::GENESIS.to_owned()), |(seq, hash)| {
            (seq, hash)
        });
    // The station's audit rows since the last package, ending at this package's anchor: the
    // central checks that every station's chain goes on without gap or fork across packages and
    // reads the inspection's history (§6 corrections, retakes, an empty bay) from them.
    metadata.insert(
        AUDIT_TRAIL_KEY.to_owned(),
        json!(store.audit_trail_to(audit_sequence)?),
    );
    Ok(PackageManifest {
        inspection_id: inspection.id(),
        station: station.code.clone(),
        query_id: inspection.query_id(),
        plate: inspection.vehicle().plate().clone(),
        concluded_at,
        outcome,
        checklist: inspection.checklist().clone(),
        metadata,
        audit_head,
        audit_sequence: Some(audit_sequence),
        files,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures::{fill_checklist, sample_inspection, sample_time};
    use crate::store::AuditEvent;

    fn station() -> Station {
        Station {
            code: "ECV-01".into(),
            name: "Vistoria".into(),
            address: "Rua A, 1".into(),
            city: "Cuiabá/MT".into(),
            latitude: -15.6,
            longitude: -56.1,
            simulated_devices: Vec::new(),
        }
    }

    /// Issue 17: a package captured on simulators says so in its metadata.
    #[test]
    fn simulated_devices_are_named_in_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let mut inspection = sample_inspection(1);
        let start = sample_time(1) + chrono::Duration::minutes(3);
        inspection.start_capture(start).unwrap();
        fill_checklist(&mut inspection, 1, start);
        let verdict = inspection.checklist().verdict().unwrap();
        inspection
            .conclude(verdict, start + chrono::Duration::minutes(9))
            .unwrap();
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(None, "op", crate::store::AuditAction::InspectionOpened),
            )
            .unwrap();
        let mut station = station();
        let real = build_manifest(&store, &station, &inspection).unwrap();
        assert!(!real.metadata.contains_key("simulated_devices"));
        station.simulated_devices = vec!["camera".into(), "fingerprint".into()];
        let simulated = build_manifest(&store, &station, &inspection).unwrap();
        assert_eq!(
            simulated.metadata["simulated_devices"],
            json!(["camera", "fingerprint"])
        );
    }

    /// §8: a photo's device and an additional photo's reason travel in the manifest's media
    /// entries; a file no device took has neither.
    #[test]
    fn the_device_and_reason_of_a_photo_are_in_the_manifest() {
        use crate::store::{NewMedia, PhotoMeta};
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let mut inspection = sample_inspection(2);
        let start = sample_time(2) + chrono::Duration::minutes(3);
        inspection.start_capture(start).unwrap();
        let opened = AuditEvent::new(None, "op", crate::store::AuditAction::InspectionOpened);
        store.save_inspection(&inspection, opened).unwrap();
        let at = crate::clock::CentralStamp {
            at: start,
            sync_age_ms: 0,
        };
        let media = |kind, extension| NewMedia {
            inspection_id: inspection.id(),
            kind,
            extension,
            captured_at: at,
            bytes: b"bytes",
        };
        let meta = PhotoMeta {
            reason: Some("numeração legível apenas com o motor desmontado"),
            source: Some("still_camera"),
            device: Some("Câmera fotográfica (simulada)"),
            ..PhotoMeta::default()
        };
        store
            .store_photo_with(media("additional", "jpg"), "vistoriador", meta)
            .unwrap();
        store
            .store_media(media("video_segment", "mp4"), "sistema")
            .unwrap();
        // Control characters never reach the store (nor the central).
        let bad = PhotoMeta {
            device: Some("câmera\u{7}"),
            ..PhotoMeta::default()
        };
        assert!(
            store
                .store_photo_with(media("front", "jpg"), "vistoriador", bad)
                .is_err()
        );
        inspection
            .interrupt(
                crate::domain::InterruptionCause::CustomerGaveUp,
                "desistiu",
                start + chrono::Duration::minutes(1),
            )
            .unwrap();
        let manifest = build_manifest(&store, &station(), &inspection).unwrap();
        let entries = manifest.metadata["media"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["device"], "Câmera fotográfica (simulada)");
        assert_eq!(
            entries[0]["reason"],
            "numeração legível apenas com o motor desmontado"
        );
        assert!(entries[1].get("device").is_none() && entries[1].get("reason").is_none());
    }

    /// Issue 21: each queued package carries the audit rows since the previous one, through its
    /// own anchor, so the packages together carry the whole chain once.
    #[test]
    fn queued_packages_carry_the_chain_between_their_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path()).unwrap();
        let station = station();
        let mut trails = Vec::new();
        for n in 1..=3u64 {
            let mut inspection = sample_inspection(n);
            let start = sample_time(n) + chrono::Duration::minutes(3);
            inspection.start_capture(start).unwrap();
            let end = start + chrono::Duration::minutes(9);
            inspection
                .interrupt(
                    crate::domain::InterruptionCause::CustomerGaveUp,
                    "desistiu",
                    end,
                )
                .unwrap();
            let opened = AuditEvent::new(None, "op", crate::store::AuditAction::InspectionOpened);
            store.save_inspection(&inspection, opened).unwrap();
            let stamp = crate::clock::CentralStamp {
                at: end,
                sync_age_ms: 0,
            };
            let entry = crate::outbox::queue(&mut store, &station, &mut inspection, stamp).unwrap();
            let manifest: PackageManifest = serde_json::from_str(&entry.manifest).unwrap();
            let rows: Vec<crate::store::AuditRow> =
                serde_json::from_value(manifest.metadata[AUDIT_TRAIL_KEY].clone()).unwrap();
            crate::store::check_segment(&rows).unwrap();
            let last = rows.last().unwrap();
            assert_eq!(
                (Some(last.seq), last.hash.as_str()),
                (manifest.audit_sequence, manifest.audit_head.as_str())
            );
            trails.push(rows);
        }
        // Together: positions 1 to the last anchor, each once, linked across packages.
        let all: Vec<crate::store::AuditRow> = trails.concat();
        assert_eq!(all[0].seq, 1);
        crate::store::check_segment(&all).unwrap();
        // The queue row of the last package comes after its anchor: the next package brings it.
        let head = store.audit_head().unwrap().unwrap().0;
        assert_eq!(all.last().unwrap().seq + 1, head);
        assert_eq!(store.audit_trail_to(head).unwrap().len(), 1);
    }
}
