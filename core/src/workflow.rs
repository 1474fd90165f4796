//! The inspection's operations as the kiosk performs them, shared by the UI and `simulate`:
//! each applies a domain event and persists the result with its audit row, so what is in memory
//! is always what is stored.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clock::CentralStamp;
use crate::domain::{Inspection, InspectionId, StateKind, TransitionError, VehicleIdentity};
use crate::store::{AuditEvent, MediaRecord, NewMedia, Store, StoreError};
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
}

/// Opens an inspection from the central's answer to the vehicle query (§5); the 4 h window
/// counts from the central's query time (2b, §9). `id` lets a resumed run reuse its own ids.
pub fn open(
    store: &mut Store,
    id: Option<InspectionId>,
    identity: VehicleIdentity,
    answer: &VehicleQueryResponse,
    now: CentralStamp,
    actor: &str,
) -> Result<Inspection, WorkflowError> {
    let inspection = Inspection::open_with_id(
        id.unwrap_or_default(),
        answer.query_id,
        identity,
        answer.vehicle.data.clone(),
        answer.queried_at,
    );
    let event = AuditEvent::new(Some(now), actor, "inspection.opened").detail(serde_json::json!({
        "plate": inspection.vehicle().plate(),
        "query_id": answer.query_id,
        "deadline": inspection.deadline(),
    }));
    store.save_inspection(&inspection, event)?;
    Ok(inspection)
}

/// Applies `event` to the inspection at central time `now` and stores the result with an audit
/// row `action`. On any error neither the inspection nor the store changes.
pub fn apply(
    store: &mut Store,
    inspection: &mut Inspection,
    now: CentralStamp,
    actor: &str,
    action: &str,
    detail: Value,
    event: impl FnOnce(&mut Inspection, DateTime<Utc>) -> Result<(), TransitionError>,
) -> Result<(), WorkflowError> {
    let mut next = inspection.clone();
    // The query time comes from the central's own clock; the kiosk's estimate of central time
    // may trail it by up to half a round trip, which must not read as time going backwards.
    let at = now.at.max(inspection.last_event_at());
    event(&mut next, at)?;
    store.save_inspection(
        &next,
        AuditEvent::new(Some(now), actor, action).detail(detail),
    )?;
    *inspection = next;
    Ok(())
}

/// Stores a captured photo of the inspection (hashes at capture, §8), if it is capturing.
pub fn store_photo(
    store: &mut Store,
    inspection: &Inspection,
    kind: &str,
    jpeg: &[u8],
    now: CentralStamp,
    actor: &str,
) -> Result<MediaRecord, WorkflowError> {
    if inspection.state_kind() != StateKind::Capturing {
        return Err(WorkflowError::NotCapturing(inspection.state_kind()));
    }
    Ok(store.store_media(
        NewMedia {
            inspection_id: inspection.id(),
            kind,
            extension: "jpg",
            captured_at: now,
            bytes: jpeg,
        },
        actor,
    )?)
}
