//! The laudo of an inspection from what the store holds — its photos and film segments named by
//! hash (2e, §8) — and the signed laudo stored back as the kiosk stores it: exactly one laudo and
//! one `.p7s` per inspection (§10, §14), which is what the central requires of a verdict.
//!
//! The kiosk signs on the inspector's card after the §14 checks (`src/kiosk/signing.rs`);
//! `vistoria simulate`, the central benchmark and the tests sign here with a software e-CPF.

use crate::clock::CentralStamp;
use crate::domain::{Inspection, InspectionId, PhotoKind};
use crate::signing::{SignaturePolicy, Signer, SigningError, sign_detached};
use crate::store::{NewMedia, Store, StoreError};

use super::{Laudo, LaudoError, LaudoInputs, PhotoRef, PlateReadingLine, SegmentRef};
use crate::ocr::correction::PlateGate;

/// Why a laudo could not be signed and stored.
#[derive(Debug, thiserror::Error)]
pub enum StoredLaudoError {
    /// The laudo could not be made.
    #[error(transparent)]
    Laudo(#[from] LaudoError),
    /// The signature could not be made.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The number the laudo of inspection `id` is printed and signed with: the one the central
/// allocated when it answered the vehicle query, kept with the inspection at its opening, so
/// the paper, the PDF, the `.p7s` and the central's receipt agree (§10).
///
/// An inspection opened before the central allocated numbers (or against a central that
/// allocates none) has no such number: its laudo keeps the station's own number, as before,
/// and the central still takes its package, giving its number at commit.
pub fn laudo_number(
    store: &Store,
    station_code: &str,
    id: InspectionId,
) -> Result<String, StoreError> {
    Ok(store
        .laudo_number(id)?
        .unwrap_or_else(|| station_number(station_code, id)))
}

/// The station's own laudo number, for an inspection the central allocated none to: the
/// station code and the first eight characters of the inspection id.
pub fn station_number(station_code: &str, id: InspectionId) -> String {
    let short: String = id.to_string().chars().take(8).collect();
    format!("{station_code}-{}", short.to_uppercase())
}

/// The inspection's photos as the laudo names them: every stored photo of a §7 kind.
pub fn photo_refs(store: &Store, id: InspectionId) -> Result<Vec<PhotoRef>, StoreError> {
    Ok(store
        .media_of(id)?
        .into_iter()
        .filter_map(|media| {
            let kind = PhotoKind::ALL.iter().find(|k| k.code() == media.kind)?;
            Some(PhotoRef {
                kind: media.kind.clone(),
                label: kind.label_pt().to_owned(),
                sha256: media.digests.sha256.clone(),
                captured_at: media.captured_at.at,
            })
        })
        .collect())
}

/// The panoramic film's segments as stored, in order.
pub fn segment_refs(store: &Store, id: InspectionId) -> Result<Vec<SegmentRef>, StoreError> {
    Ok(store
        .media_of(id)?
        .into_iter()
        .filter(|m| m.kind == "video_segment")
        .enumerate()
        .map(|(index, m)| SegmentRef {
            index: index as u32,
            sha256: m.digests.sha256,
        })
        .collect())
}

/// The §6 reading of the inspection's latest rear photo and its correction, as stored; `None`
/// when no rear photo was taken.
pub fn plate_reading(
    store: &Store,
    inspection: &Inspection,
) -> Result<Option<PlateReadingLine>, StoreError> {
    let gate = PlateGate::of(store, inspection)?;
    let Some(media_id) = &gate.media_id else {
        return Ok(None);
    };
    let photo_sha256 = store
        .media_of(inspection.id())?
        .into_iter()
        .find(|m| &m.id == media_id)
        .map(|m| m.digests.sha256)
        .unwrap_or_default();
    let reading = gate.reading.as_ref();
    let result = match reading.map(|r| &r.check) {
        None => "unread",
        Some(crate::ocr::correction::PlateCheck::Match) => "match",
        Some(crate::ocr::correction::PlateCheck::Mismatch { .. }) => "mismatch",
        Some(crate::ocr::correction::PlateCheck::Unreadable) => "unreadable",
        Some(crate::ocr::correction::PlateCheck::Doubtful { .. }) => "doubtful",
    };
    Ok(Some(PlateReadingLine {
        photo_sha256,
        read: reading.and_then(|r| r.read.clone()),
        confidence_ppm: reading.map_or(0, |r| (r.confidence.clamp(0.0, 1.0) * 1e6).round() as u32),
        result: result.to_owned(),
        correction: gate.correction,
    }))
}

/// Stores the laudo's canonical bytes and its `.p7s`, replacing those of an earlier attempt.
pub fn store_signed(
    store: &mut Store,
    id: InspectionId,
    laudo: &[u8],
    p7s: &[u8],
    now: CentralStamp,
    actor: &str,
) -> Result<(), StoreError> {
    for (kind, extension, bytes) in [("laudo", "json", laudo), ("signature", "p7s", p7s)] {
        store.replace_media(
            NewMedia {
                inspection_id: id,
                kind,
                extension,
                captured_at: now,
                bytes,
            },
            actor,
        )?;
    }
    Ok(())
}

/// Builds the laudo of the concluded `inspection` (`inputs` without photos, segments, plate
/// reading and the stored film's gaps: they come from the store), signs it with `signer` (CAdES-BES, AD-RB, at `now`) and stores both.
pub fn sign_and_store(
    store: &mut Store,
    inspection: &Inspection,
    inputs: LaudoInputs,
    signer: &mut dyn Signer,
    now: CentralStamp,
    actor: &str,
) -> Result<Laudo, StoredLaudoError> {
    let id = inspection.id();
    let mut film_gaps = crate::film::stored_gaps(store, id)?;
    crate::film::merge(&mut film_gaps, inputs.film_gaps.clone());
    let laudo = Laudo::from_inspection(
        inspection,
        LaudoInputs {
            photos: photo_refs(store, id)?,
            panoramic_segments: segment_refs(store, id)?,
            plate_reading: plate_reading(store, inspection)?,
            film_gaps,
            ..inputs
        },
    )?;
    let content = laudo.canonical_bytes();
    let p7s = sign_detached(
        signer,
        &content,
        now.at,
        &SignaturePolicy::ad_rb_v2_3(),
        &[],
    )?;
    store_signed(store, id, &content, &p7s, now, actor)?;
    Ok(laudo)
}
