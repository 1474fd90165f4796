//! Re-entering an inspection: everything its rules keep, read back from the store in one query,
//! so a screen rebuilt after "Continuar", a restart or another path shows exactly what is
//! stored — the photos taken (with the reasons of those taken again), what the class still
//! requires, the §6 reading and whether its correction is pending, the checklist answers and
//! the §14 check kept for the signature.

use super::WorkflowError;
use crate::biometrics::BiometricCheck;
use crate::domain::{Inspection, InspectionId, PhotoKind};
use crate::ocr::correction::PlateGate;
use crate::store::{MediaRecord, Store, StoreError};

/// A stored photo of the inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoTaken {
    /// What it shows.
    pub kind: PhotoKind,
    /// The stored file and its digests.
    pub media: MediaRecord,
    /// Why it was taken again, for a second photo of its kind.
    pub retake_reason: Option<String>,
}

impl PhotoTaken {
    /// The device that took it, when recorded.
    pub fn device(&self) -> Option<&str> {
        self.media.device.as_deref()
    }

    /// Why an additional photo was taken, when the Portaria names the case (§8).
    pub fn reason(&self) -> Option<&str> {
        self.media.reason.as_deref()
    }
}

/// An inspection and the state of its rules, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionView {
    /// The inspection (state, checklist answers, history).
    pub inspection: Inspection,
    /// Its photos, in capture order.
    pub photos: Vec<PhotoTaken>,
    /// Photos its class requires (§7) not yet taken, in §7 order.
    pub missing: Vec<PhotoKind>,
    /// The §6 state of its latest rear photo.
    pub plate: PlateGate,
    /// The §14 check kept for its signature, with the login that passed it.
    pub biometric_check: Option<(String, BiometricCheck)>,
}

impl InspectionView {
    /// Whether the §6 correction is still to be recorded.
    pub fn pending_correction(&self) -> bool {
        self.plate.pending_correction()
    }

    /// The latest photo of `kind`, if one was taken.
    pub fn latest(&self, kind: PhotoKind) -> Option<&PhotoTaken> {
        self.photos.iter().rev().find(|p| p.kind == kind)
    }
}

/// Reads inspection `id` and the state of its rules.
pub fn load(store: &Store, id: InspectionId) -> Result<InspectionView, WorkflowError> {
    let inspection = store.inspection(id)?.ok_or(StoreError::NotFound(id))?;
    let mut reasons = store.retake_reasons(id)?;
    let photos: Vec<PhotoTaken> = store
        .media_of(id)?
        .into_iter()
        .filter_map(|media| {
            let kind = PhotoKind::ALL
                .into_iter()
                .find(|k| k.code() == media.kind)?;
            Some(PhotoTaken {
                kind,
                retake_reason: reasons.remove(&media.id),
                media,
            })
        })
        .collect();
    let taken: Vec<PhotoKind> = photos.iter().map(|p| p.kind).collect();
    let missing = inspection
        .data()
        .class
        .missing_photos(inspection.site(), &taken);
    let plate = PlateGate::of(store, &inspection)?;
    let biometric_check = store.biometric_check(id)?;
    Ok(InspectionView {
        inspection,
        photos,
        missing,
        plate,
        biometric_check,
    })
}
