//! The §6 flow: when OCR fails or disagrees with the typed plate, the technician types the
//! plate and the RENAVAM and says why; the photo and the original reading are kept, and the
//! correction is tied to the identified user.

use serde::Serialize;

use crate::clock::CentralStamp;
use crate::domain::{Inspection, Plate, Renavam};
use crate::store::{AuditEvent, AuditRow, MediaRecord, Store, StoreError};

/// How the OCR reading compares with the plate typed for the vehicle query (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// The photo is not one of this inspection's stored files.
    #[error("a foto da leitura não pertence a esta vistoria")]
    PhotoMissing,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records a §6 correction: validates the form against the queried vehicle, checks the photo
/// is stored (it is never replaced), and appends an `ocr.corrected` audit row carrying the
/// original reading, the photo's digest and the user's entries.
#[allow(clippy::too_many_arguments)]
pub fn record(
    store: &mut Store,
    inspection: &Inspection,
    photo: &MediaRecord,
    original: Option<&Plate>,
    confidence: f32,
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
    let stored = store.media_of(inspection.id())?;
    if !stored
        .iter()
        .any(|m| m.id == photo.id && m.digests == photo.digests)
    {
        return Err(CorrectionError::PhotoMissing);
    }
    let check = compare(&plate, original);
    let event = AuditEvent::new(Some(at), user, "ocr.corrected")
        .inspection(inspection.id())
        .detail(serde_json::json!({
            "photo_id": photo.id,
            "photo_sha256": photo.digests.sha256,
            "ocr_plate": original.map(Plate::to_string),
            "ocr_confidence": confidence,
            "check": check,
            "typed_plate": plate.to_string(),
            "typed_renavam": renavam.as_str(),
            "reason": reason,
        }));
    Ok(store.audit(event)?)
}
