//! The §6 flow: when OCR fails or disagrees with the typed plate, the technician types the
//! plate and the RENAVAM and says why; the photo and the original reading are kept, and the
//! correction is tied to the identified user.
//!
//! Both the reading of every rear photo ([`record_reading`]) and the correction ([`record`])
//! are stored (table `plate_checks`), so the gate they make — no conclusion while the latest
//! rear photo's reading differs from the typed plate, or nothing was read, and no correction
//! is recorded ([`PlateGate`]) — survives a restart and re-entering the inspection, and the
//! reading and correction travel in the package and the laudo.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::CentralStamp;
use crate::domain::{Inspection, PhotoKind, Plate, Renavam};
use crate::store::{AuditAction, AuditEvent, AuditRow, MediaRecord, Store, StoreError};

/// How the OCR reading compares with the plate typed for the vehicle query (§5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PlateCheck {
    /// The reading is the typed plate (old and Mercosul forms of one vehicle agree).
    Match,
    /// A plate was read, and it is another one.
    Mismatch {
        /// What OCR read.
        read: Plate,
    },
    /// Nothing readable.
    Unreadable,
    /// The typed plate was read, but too unsure to stand on its own ([`super::DOUBT`]).
    Doubtful {
        /// The calibrated confidence of the reading.
        confidence: f32,
    },
}

impl PlateCheck {
    /// Whether the §6 correction is needed before going on.
    pub fn needs_correction(&self) -> bool {
        !matches!(self, PlateCheck::Match)
    }
}

/// Compares the typed plate with what OCR read.
pub fn compare(typed: &Plate, read: Option<&Plate>) -> PlateCheck {
    match read {
        Some(read) if read.same_vehicle(typed) => PlateCheck::Match,
        Some(read) => PlateCheck::Mismatch { read: read.clone() },
        None => PlateCheck::Unreadable,
    }
}

/// Compares the typed plate with a whole reading: a reading that agrees but is in doubt
/// (calibrated confidence under [`super::DOUBT`]) needs the §6 correction as a mismatch does.
pub fn check(typed: &Plate, reading: &super::PlateReading) -> PlateCheck {
    compare_reading(typed, reading.plate.as_ref(), reading.confidence)
}

/// [`check`] on a reading's parts: `read` at calibrated `confidence`.
pub fn compare_reading(typed: &Plate, read: Option<&Plate>, confidence: f32) -> PlateCheck {
    match compare(typed, read) {
        PlateCheck::Match if confidence < super::DOUBT => PlateCheck::Doubtful { confidence },
        other => other,
    }
}

/// The stored reading of one rear photo (§6): what OCR read, how sure it was, and how that
/// compares with the typed plate. `read: None` with an `error` when the reader could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateReadingRecord {
    /// The photo read.
    pub media_id: String,
    /// What was read, normalised, if anything.
    pub read: Option<String>,
    /// Confidence `0..=1`.
    pub confidence: f32,
    /// Against the typed plate.
    pub check: PlateCheck,
    /// Why nothing could be read (the OCR engine missing), if so.
    pub error: Option<String>,
    /// Central time of the reading.
    pub at: DateTime<Utc>,
}

impl PlateReadingRecord {
    /// Whether the §6 correction is needed before going on.
    pub fn needs_correction(&self) -> bool {
        self.check.needs_correction()
    }
}

/// A recorded §6 correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlateCorrection {
    /// The photo whose reading is corrected.
    pub media_id: String,
    /// The plate typed, normalised.
    pub typed_plate: String,
    /// The RENAVAM typed.
    pub typed_renavam: String,
    /// Why.
    pub reason: String,
    /// Who corrected (the identified user).
    pub user: String,
    /// Central time of the correction.
    pub at: DateTime<Utc>,
}

/// The §6 state of an inspection: its latest rear photo, that photo's reading and correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlateGate {
    /// The latest rear photo, if one was taken.
    pub media_id: Option<String>,
    /// Its reading, once made.
    pub reading: Option<PlateReadingRecord>,
    /// Its correction, once recorded.
    pub correction: Option<PlateCorrection>,
}

impl PlateGate {
    /// Whether the inspection may go on to its conclusion as far as §6 goes: the latest rear
    /// photo was read as the typed plate, or its correction is recorded. A rear photo with no
    /// stored reading (read nothing, the reader missing, a crash before the reading was kept)
    /// counts as nothing read.
    pub fn pending_correction(&self) -> bool {
        self.media_id.is_some()
            && self.correction.is_none()
            && self
                .reading
                .as_ref()
                .is_none_or(PlateReadingRecord::needs_correction)
    }

    /// The §6 state of `inspection` as stored.
    pub fn of(store: &Store, inspection: &Inspection) -> Result<PlateGate, StoreError> {
        let rear = store
            .media_of(inspection.id())?
            .into_iter()
            .rev()
            .find(|m| m.kind == PhotoKind::RearWithPlate.code());
        let Some(rear) = rear else {
            return Ok(PlateGate {
                media_id: None,
                reading: None,
                correction: None,
            });
        };
        let (reading, correction) = store.plate_check(&rear.id)?.unwrap_or_default();
        Ok(PlateGate {
            media_id: Some(rear.id),
            reading,
            correction,
        })
    }
}

/// Stores the reading of a rear photo just taken (`read`, `confidence` from the reader, or the
/// reader's `error`), compared with the typed plate, with an `ocr.read` audit row.
#[allow(clippy::too_many_arguments)]
pub fn record_reading(
    store: &mut Store,
    inspection: &Inspection,
    photo: &MediaRecord,
    read: Option<&Plate>,
    confidence: f32,
    error: Option<String>,
    at: CentralStamp,
    actor: &str,
) -> Result<PlateReadingRecord, StoreError> {
    let check = compare_reading(inspection.vehicle().plate(), read, confidence);
    let reading = PlateReadingRecord {
        media_id: photo.id.clone(),
        read: read.map(ToString::to_string),
        confidence: if read.is_some() { confidence } else { 0.0 },
        check,
        error,
        at: at.at,
    };
    let event = AuditEvent::new(Some(at), actor, AuditAction::OcrRead)
        .inspection(inspection.id())
        .detail(serde_json::json!({
            "media_id": photo.id,
            "read": reading.read,
            "confidence": reading.confidence,
            "needs_correction": reading.needs_correction(),
            "error": reading.error,
        }));
    store.record_plate_reading(inspection.id(), &reading, event)?;
    Ok(reading)
}

/// What the technician enters in the §6 form.
#[derive(Debug, Clone)]
pub struct CorrectionForm<'a> {
    /// The identified user making the correction.
    pub user: &'a str,
    /// The plate as typed.
    pub plate: &'a str,
    /// The RENAVAM as typed.
    pub renavam: &'a str,
    /// Why the reading is being corrected.
    pub reason: &'a str,
}

/// Why a correction was refused.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// §6: only an identified user may correct.
    #[error("a correção exige a identificação do usuário")]
    NoUser,
    /// The typed plate is not a plate.
    #[error("placa inválida: {0}")]
    Plate(#[from] crate::domain::PlateError),
    /// The typed RENAVAM is not a RENAVAM.
    #[error(transparent)]
    Renavam(#[from] crate::domain::RenavamError),
    /// The typed plate is not the queried vehicle's.
    #[error("a placa digitada ({typed}) não é a do veículo consultado ({queried})")]
    PlateDiffers {
        /// Typed.
        typed: String,
        /// Queried.
        queried: String,
    },
    /// The typed RENAVAM does not confirm the vehicle.
    #[error("o RENAVAM digitado não confere com o do veículo consultado")]
    RenavamDiffers,
    /// No reason given.
    #[error("informe o motivo da correção (ao menos 10 caracteres)")]
    NoReason,
    /// The photo is not one of this inspection's stored rear photos.
    #[error("a foto da leitura não é uma foto traseira desta vistoria")]
    PhotoMissing,
    /// The photo's reading is the typed plate: there is nothing to correct.
    #[error("a leitura desta foto já confere com a placa digitada; não há o que corrigir")]
    NotNeeded,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records a §6 correction of rear photo `media_id`: validates the form against the queried
/// vehicle, checks the photo is stored (it is never replaced), and stores the correction with
/// an `ocr.corrected` audit row carrying the original reading as stored at capture (never one
/// the caller passes in), the photo's digest and the user's entries.
pub fn record(
    store: &mut Store,
    inspection: &Inspection,
    media_id: &str,
    form: &CorrectionForm<'_>,
    at: CentralStamp,
) -> Result<AuditRow, CorrectionError> {
    let user = form.user.trim();
    if user.is_empty() {
        return Err(CorrectionError::NoUser);
    }
    let plate = Plate::parse(form.plate)?;
    let renavam = Renavam::parse(form.renavam)?;
    let vehicle = inspection.vehicle();
    if !plate.same_vehicle(vehicle.plate()) {
        return Err(CorrectionError::PlateDiffers {
            typed: plate.to_string(),
            queried: vehicle.plate().to_string(),
        });
    }
    if vehicle.renavam().is_some_and(|r| r != &renavam) {
        return Err(CorrectionError::RenavamDiffers);
    }
    let reason = form.reason.trim();
    if reason.chars().count() < 10 {
        return Err(CorrectionError::NoReason);
    }
    let photo = store
        .media_of(inspection.id())?
        .into_iter()
        .find(|m| m.id == media_id && m.kind == PhotoKind::RearWithPlate.code())
        .ok_or(CorrectionError::PhotoMissing)?;
    let reading = store.plate_check(&photo.id)?.and_then(|(r, _)| r);
    if reading.as_ref().is_some_and(|r| !r.needs_correction()) {
        return Err(CorrectionError::NotNeeded);
    }
    let original = reading
        .as_ref()
        .and_then(|r| r.read.as_deref())
        .and_then(|r| Plate::parse(r).ok());
    let check = compare(&plate, original.as_ref());
    let correction = PlateCorrection {
        media_id: photo.id.clone(),
        typed_plate: plate.to_string(),
        typed_renavam: renavam.as_str().to_owned(),
        reason: reason.to_owned(),
        user: user.to_owned(),
        at: at.at,
    };
    let event = AuditEvent::new(Some(at), user, AuditAction::OcrCorrected)
        .inspection(inspection.id())
        .detail(serde_json::json!({
            "photo_id": photo.id,
            "photo_sha256": photo.digests.sha256,
            "ocr_plate": original.as_ref().map(Plate::to_string),
            "ocr_confidence": reading.as_ref().map_or(0.0, |r| r.confidence),
            "check": check,
            "typed_plate": correction.typed_plate,
            "typed_renavam": correction.typed_renavam,
            "reason": reason,
        }));
    Ok(store.record_plate_correction(inspection.id(), &correction, event)?)
}
