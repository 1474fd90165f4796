//! The photo rules (§4, §7, §8): a photo is taken only while capturing and, at a station that
//! films, while the film runs; a second photo of a kind is taken only with a reason, which is
//! stored with it and audited (`media.retake`). Additional photos (§7 k) may be many and need
//! none; one may carry the reason the Portaria names (§8: the engine number readable only after
//! the engine was taken apart). Each device takes only its photos ([`Source::may_take`]): the
//! panoramic camera §7 a's, at a fixed station; the borescope the engine number.

use image::RgbImage;

use super::WorkflowError;
use crate::capture::{self, Evidence, QualityLimits, ReuseIndex, Shot, Source, StationInfo};
use crate::domain::{AdditionalReason, Inspection, PhotoKind, Site, StateKind};
use crate::film::{self, FilmState};
use crate::store::{Store, StoreError};

/// Shortest reason accepted for taking a photo again.
pub const MIN_REASON_CHARS: usize = 5;

/// What is asked to be photographed, and in which conditions.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// What the photo shows.
    pub kind: PhotoKind,
    /// Why a photo of this kind is taken again, when one exists.
    pub retake_reason: Option<&'a str>,
    /// The film of the inspection as the station's recorder reports it (§4).
    pub film: &'a FilmState,
    /// The device family taking it.
    pub source: Source,
    /// For an additional photo, the reason the Portaria names, if any (§8).
    pub reason: Option<AdditionalReason>,
}

/// Checks a photo may be taken now; returns the retake reason to store with it (trimmed; `None`
/// for a first photo of its kind). Nothing is written.
pub fn check(
    store: &Store,
    inspection: &Inspection,
    request: Request<'_>,
) -> Result<Option<String>, WorkflowError> {
    if inspection.state_kind() != StateKind::Capturing {
        return Err(WorkflowError::NotCapturing(inspection.state_kind()));
    }
    if !request.source.may_take(request.kind) {
        return Err(WorkflowError::WrongDevice(request.kind, request.source));
    }
    if request.kind == PhotoKind::Panoramic && inspection.site() != Site::FixedStation {
        return Err(WorkflowError::WrongDevice(request.kind, request.source));
    }
    if let Some(reason) = request.reason
        && (request.kind != PhotoKind::Additional || !reason.applies_to(inspection.data().class))
    {
        return Err(WorkflowError::ReasonDoesNotApply(reason));
    }
    film::check_capture(request.film)?;
    let reason = request
        .retake_reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let taken = store
        .media_of(inspection.id())?
        .iter()
        .any(|m| m.kind == request.kind.code());
    if !taken {
        // A first photo is not a retake: a reason typed anyway is not kept as one.
        return Ok(None);
    }
    if request.kind == PhotoKind::Additional {
        return Ok(reason);
    }
    match reason {
        Some(r) if r.chars().count() >= MIN_REASON_CHARS => Ok(Some(r)),
        _ => Err(WorkflowError::RetakeWithoutReason(request.kind)),
    }
}

/// Photographs for inspection `shot.inspection` through the capture pipeline (checks, tarja,
/// JPEG, hashes, storage), once [`check`] allows it; the retake reason is stored with the photo.
pub fn take(
    store: &mut Store,
    index: &mut ReuseIndex,
    station: &StationInfo,
    limits: &QualityLimits,
    frame: RgbImage,
    shot: Shot<'_>,
    film: &FilmState,
) -> Result<Evidence, WorkflowError> {
    let inspection = store
        .inspection(shot.inspection)?
        .ok_or(StoreError::NotFound(shot.inspection))?;
    let reason = check(
        store,
        &inspection,
        Request {
            kind: shot.kind,
            retake_reason: shot.retake_reason,
            film,
            source: shot.source,
            reason: shot.reason,
        },
    )?;
    Ok(capture::capture(
        store,
        index,
        station,
        limits,
        frame,
        Shot {
            retake_reason: reason.as_deref(),
            ..shot
        },
    )?)
}
