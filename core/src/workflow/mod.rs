//! The inspection's operations as the kiosk performs them, shared by the UI and `simulate`:
//! each applies a domain event and persists the result with its audit row, so what is in memory
//! is always what is stored.
//!
//! The rules that span the inspection and its evidence are enforced here, below every screen,
//! from what the store holds (issue 18):
//! - a photo is taken only while capturing and, at a station that films, while the film runs
//!   (§4, [`crate::film`]); a second photo of a kind needs a reason ([`photos`]);
//! - no conclusion without every photo the vehicle class requires (§7) nor while the rear
//!   photo's plate reading differs from the typed plate and no correction is recorded (§6,
//!   [`crate::ocr::correction::PlateGate`]): [`apply`] refuses any event that concludes;
//! - no signature without the station's own fingerprint check of the signing inspector, made
//!   minutes before (§14, [`signature`]): [`apply`] refuses any event that signs;
//! - re-entering an inspection reads all of it back ([`view::InspectionView`]).

pub mod photos;
pub mod signature;
pub mod view;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::biometrics::CheckError;
use crate::capture::CaptureError;
use crate::clock::CentralStamp;
use crate::domain::{
    ChecklistItem, Inspection, InspectionId, PhotoKind, Site, StateKind, TransitionError,
    VehicleIdentity,
};
use crate::film::FilmDown;
use crate::ocr::correction::{CorrectionError, PlateGate};
use crate::store::{AuditAction, AuditEvent, MediaRecord, NewMedia, Store, StoreError};
use crate::wire::VehicleQueryResponse;

/// Why an operation was not done. Nothing changed, in memory or in the store.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The inspection's state does not allow it.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Photos are taken only while capturing.
    #[error("só é possível fotografar durante a captura: a vistoria está {}", .0.label_pt())]
    NotCapturing(StateKind),
    /// §4: the film of a station that films is not running.
    #[error(transparent)]
    FilmDown(#[from] FilmDown),
    /// A second photo of a kind without a reason.
    #[error(
        "já existe foto «{}» nesta vistoria: informe o motivo (ao menos {} caracteres) para fotografar de novo",
        .0.label_pt(),
        photos::MIN_REASON_CHARS
    )]
    RetakeWithoutReason(PhotoKind),
    /// The device cannot take that photo (§7 a, §8, §18; [`crate::capture::Source::may_take`]).
    #[error("{}", wrong_device(*.0, *.1))]
    WrongDevice(PhotoKind, crate::capture::Source),
    /// A reason the Portaria names, given where it does not apply.
    #[error(
        "«{}» é motivo de foto adicional de um veículo com motor",
        .0.label_pt()
    )]
    ReasonDoesNotApply(crate::domain::AdditionalReason),
    /// §7: photos the vehicle class requires are missing.
    #[error("faltam fotos exigidas para a classe do veículo (§7): {}", labels(.0))]
    MissingPhotos(Vec<PhotoKind>),
    /// §6: the rear photo's reading differs from the typed plate, or nothing was read, and no
    /// correction is recorded.
    #[error(
        "a placa da foto traseira não foi lida ou não confere com a digitada: registre a correção da leitura (§6) antes de concluir"
    )]
    PlateCorrectionPending,
    /// The checklist is not complete.
    #[error("checklist incompleto: {}", items(.0))]
    ChecklistIncomplete(Vec<ChecklistItem>),
    /// §14: no fingerprint check by the station, or one too old or of someone else.
    #[error("{0}")]
    NoBiometricCheck(String),
    /// The capture pipeline refused the frame or failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The fingerprint check did not pass.
    #[error(transparent)]
    Biometric(#[from] CheckError),
    /// The §6 correction was refused.
    #[error(transparent)]
    Correction(#[from] CorrectionError),
    /// The central's answer to the vehicle query is another inspection's (its laudo number
    /// is not this one's).
    #[error(
        "a resposta da central é da vistoria {answered}, não desta ({opening}); consulte o veículo de novo"
    )]
    AnswerOfAnotherInspection {
        /// The inspection being opened.
        opening: InspectionId,
        /// The one the answer names.
        answered: InspectionId,
    },
}

fn wrong_device(kind: PhotoKind, source: crate::capture::Source) -> String {
    use crate::capture::Source;
    match (kind, source) {
        (PhotoKind::Panoramic, Source::Panoramic) => {
            "a panorâmica do veículo (§7 a) é só da vistoria fixa, tirada pela câmera panorâmica da estação".to_owned()
        }
        (PhotoKind::Panoramic, _) => {
            "a panorâmica do veículo (§7 a) é tirada automaticamente pela câmera panorâmica da estação".to_owned()
        }
        (_, Source::Panoramic) => {
            "a câmera panorâmica tira só a panorâmica do veículo (§7 a)".to_owned()
        }
        (kind, _) => format!(
            "o boroscópio fotografa só a numeração do motor (§8, §18), não «{}»",
            kind.label_pt()
        ),
    }
}

fn labels(kinds: &[PhotoKind]) -> String {
    kinds
        .iter()
        .map(|k| k.label_pt())
        .collect::<Vec<_>>()
        .join(", ")
}

fn items(items: &[ChecklistItem]) -> String {
    items
        .iter()
        .map(|i| i.label_pt())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens an inspection from the central's answer to the vehicle query (§5); the 4 h window
/// counts from the central's query time (2b, §9). The inspection's id is `id` (a resumed run
/// reuses its own), else the one the query named and the answer echoes, else a new one. It is
/// made at `site` (a station that films it with its panoramic camera, or not: §7 a). The
/// laudo number the central allocated with the answer is kept with the inspection: the laudo
/// is printed and signed with it ([`crate::laudo::stored::laudo_number`]).
pub fn open(
    store: &mut Store,
    id: Option<InspectionId>,
    identity: VehicleIdentity,
    answer: &VehicleQueryResponse,
    site: Site,
    now: CentralStamp,
    actor: &str,
) -> Result<Inspection, WorkflowError> {
    let id = match (id, answer.inspection_id) {
        (Some(opening), Some(answered)) if opening != answered => {
            return Err(WorkflowError::AnswerOfAnotherInspection { opening, answered });
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => InspectionId::new(),
    };
    // A number without the inspection it was allocated to cannot be told apart from another
    // inspection's: only a number the answer says is this inspection's is kept.
    let laudo_number = answer
        .inspection_id
        .and(answer.laudo_number.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let inspection = Inspection::open_with_id(
        id,
        answer.query_id,
        identity,
        answer.vehicle.data.clone(),
        answer.queried_at,
    )
    .at_site(site);
    let event = AuditEvent::new(Some(now), actor, AuditAction::InspectionOpened).detail(
        serde_json::json!({
            "plate": inspection.vehicle().plate(),
            "query_id": answer.query_id,
            "deadline": inspection.deadline(),
            "laudo_number": laudo_number,
            "site": site.code(),
        }),
    );
    store.save_opened(&inspection, laudo_number, event)?;
    Ok(inspection)
}

/// Applies `event` to the inspection at central time `now` and stores the result with an audit
/// row `action`. On any error neither the inspection nor the store changes.
pub fn apply(
    store: &mut Store,
    inspection: &mut Inspection,
    now: CentralStamp,
    actor: &str,
    action: AuditAction,
    detail: Value,
    event: impl FnOnce(&mut Inspection, DateTime<Utc>) -> Result<(), TransitionError>,
) -> Result<(), WorkflowError> {
    let mut next = inspection.clone();
    // The query time comes from the central's own clock; the kiosk's estimate of central time
    // may trail it by up to half a round trip, which must not read as time going backwards.
    let at = now.at.max(inspection.last_event_at());
    event(&mut next, at)?;
    // Whatever the caller's event did, the rules of the state it reaches hold (issue 18).
    let reached = next.state_kind();
    if reached != inspection.state_kind() {
        match reached {
            StateKind::Concluded => check_conclusion(store, &next)?,
            StateKind::Signed => signature::check_signer(store, &next, actor, at)?,
            _ => {}
        }
    }
    store.save_inspection(
        &next,
        AuditEvent::new(Some(now), actor, action).detail(detail),
    )?;
    *inspection = next;
    Ok(())
}

/// What keeps `inspection` from its conclusion beyond the checklist, from what is stored: the
/// photos its class requires (§7) and the §6 plate gate.
pub fn check_conclusion(store: &Store, inspection: &Inspection) -> Result<(), WorkflowError> {
    let taken: Vec<String> = store
        .media_of(inspection.id())?
        .into_iter()
        .map(|m| m.kind)
        .collect();
    let missing: Vec<PhotoKind> = inspection
        .required_photos()
        .into_iter()
        .filter(|k| !taken.iter().any(|t| t == k.code()))
        .collect();
    if !missing.is_empty() {
        return Err(WorkflowError::MissingPhotos(missing));
    }
    if PlateGate::of(store, inspection)?.pending_correction() {
        return Err(WorkflowError::PlateCorrectionPending);
    }
    Ok(())
}

/// Concludes `inspection` with its checklist's verdict (§13), once the photos and the §6 gate
/// allow it ([`check_conclusion`]).
pub fn conclude(
    store: &mut Store,
    inspection: &mut Inspection,
    now: CentralStamp,
    actor: &str,
) -> Result<(), WorkflowError> {
    let verdict = inspection
        .checklist()
        .verdict()
        .ok_or_else(|| WorkflowError::ChecklistIncomplete(inspection.checklist().missing()))?;
    let detail = serde_json::json!({ "verdict": verdict.label_pt() });
    apply(
        store,
        inspection,
        now,
        actor,
        AuditAction::InspectionConcluded,
        detail,
        |i, at| i.conclude(verdict, at),
    )
}

/// Stores a photo of the inspection already encoded (hashes at capture, §8), if it is
/// capturing, under the same rules as a capture ([`photos::check`]): for paths whose frames do
/// not go through [`crate::capture`] (the central benchmark's incompressible bytes).
pub fn store_photo(
    store: &mut Store,
    inspection: &Inspection,
    request: photos::Request<'_>,
    jpeg: &[u8],
    now: CentralStamp,
    actor: &str,
) -> Result<MediaRecord, WorkflowError> {
    let reason = photos::check(store, inspection, request)?;
    Ok(store.store_photo(
        NewMedia {
            inspection_id: inspection.id(),
            kind: request.kind.code(),
            extension: "jpg",
            captured_at: now,
            bytes: jpeg,
        },
        actor,
        reason.as_deref(),
    )?)
}

#[cfg(test)]
mod tests;
