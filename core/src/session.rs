//! What the kiosk does around a run: at start, close what the previous run left open; while
//! running, close what passes its deadline. Nothing started is ever dropped (§12): it becomes
//! "interrupted" with its cause and goes on to delivery.

use serde_json::json;

use crate::clock::CentralStamp;
use crate::domain::{Inspection, InspectionId, StateKind};
use crate::store::{AuditAction, AuditEvent, OpenReport, Store, StoreError};

/// The actor written in audit rows for what the kiosk does by itself.
pub const SYSTEM_ACTOR: &str = "system";

/// Interrupts every inspection still open from a previous run (cause: system failure, §12).
/// A run that ends, cleanly or not, leaves no inspection open behind it: the inspector is gone
/// and the filming (§4) has been cut. Returns the ids it closed.
pub fn recover_previous_run(
    store: &mut Store,
    report: &OpenReport,
    now: CentralStamp,
) -> Result<Vec<InspectionId>, StoreError> {
    let mut closed = Vec::new();
    for mut inspection in open_inspections(store)? {
        if inspection.recover_after_crash(now.at) {
            let event =
                AuditEvent::new(Some(now), SYSTEM_ACTOR, AuditAction::InspectionInterrupted)
                    .detail(json!({
                        "cause": "system_failure",
                        "previous_run_crashed": report.previous_run_crashed,
                        "state": inspection.state_name(),
                    }));
            store.save_inspection(&inspection, event)?;
            tracing::warn!(id = %inspection.id(), "inspection left open by the previous run interrupted");
            closed.push(inspection.id());
        }
    }
    Ok(closed)
}

/// Interrupts the open inspections whose 4 h window (2b, §9) has passed. Returns their ids.
pub fn close_expired(
    store: &mut Store,
    now: CentralStamp,
) -> Result<Vec<InspectionId>, StoreError> {
    let mut closed = Vec::new();
    for mut inspection in open_inspections(store)? {
        if inspection.check_deadline(now.at) {
            let event =
                AuditEvent::new(Some(now), SYSTEM_ACTOR, AuditAction::InspectionInterrupted)
                    .detail(
                        json!({ "cause": "deadline_expired", "deadline": inspection.deadline() }),
                    );
            store.save_inspection(&inspection, event)?;
            closed.push(inspection.id());
        }
    }
    Ok(closed)
}

/// Inspections not yet signed nor interrupted (the deadline and crash recovery apply to them).
pub fn open_inspections(store: &Store) -> Result<Vec<Inspection>, StoreError> {
    let open: Vec<&str> = StateKind::ALL
        .iter()
        .filter(|k| k.is_open())
        .map(|k| k.name())
        .collect();
    store.inspections_in(&open)
}
