//! The film after a crash (§4, §17e): at start, every recording folder the previous run left
//! behind is recovered (finalised segments kept, the unfinalised one kept when it plays, the
//! time to the restart listed as a gap caused by the kiosk's interruption). An inspection still
//! open goes on being filmed on the same timeline; one the start-up recovery interrupted (or
//! that ended otherwise) has its film stored with the gap running to its interruption, and is
//! queued for the central (§12: nothing started is lost).

use serde_json::json;
use vistoria_core::clock::CentralStamp;
use vistoria_core::domain::{InspectionId, StateKind};
use vistoria_core::store::{AuditAction, AuditEvent};
use vistoria_drivers::panoramic::recovery;

use super::{Station, lock};

impl Station {
    /// Recovers the recordings the previous run left behind. Returns the inspections whose film
    /// was recovered.
    pub fn recover_panoramic(&self) -> Vec<InspectionId> {
        let Some(p) = &self.0.panoramic else {
            return Vec::new();
        };
        // A connection test's recording films the bay: not kept past a crash either.
        let _ = std::fs::remove_dir_all(p.root.join(super::panoramic_check::TEST_DIR));
        let Ok(entries) = std::fs::read_dir(&p.root) else {
            return Vec::new();
        };
        let mut done = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let dir = entry.path();
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<InspectionId>().ok())
            else {
                continue;
            };
            if !dir.is_dir() || lock(&p.running).contains_key(&id) {
                continue;
            }
            let inspection = match self.core().store.inspection(id) {
                Ok(Some(i)) => i,
                Ok(None) => {
                    tracing::warn!(%id, "recording folder of an unknown inspection left alone");
                    continue;
                }
                Err(e) => {
                    tracing::error!(%id, %e, "recording not recovered");
                    continue;
                }
            };
            let now = self.0.clock.now().ok();
            let mut found = match recovery::recover(&dir, &p.url, now) {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(%id, %e, "recording not recovered");
                    continue;
                }
            };
            let gap = found.manifest.gaps.last();
            let detail = json!({
                "segments": found.manifest.segments.len(),
                "recovered": found.recovered,
                "discarded": found.discarded,
                "gap_start_s": gap.map(|g| g.start_s),
                "gap_end_s": gap.map(|g| g.end_s),
                "still_open": inspection.is_open(),
            });
            let row = AuditEvent::new(now, super::SYSTEM, AuditAction::PanoramicRecovered)
                .inspection(id)
                .detail(detail);
            if let Err(e) = self.core().store.audit(row) {
                tracing::error!(%e, "audit of a recovered recording failed");
            }
            tracing::warn!(%id, recovered = ?found.recovered, "recording recovered after a crash");
            if inspection.is_open() {
                self.start_recording_from(id, Some(found.manifest));
            } else {
                // The film ends where the inspection did: at its interruption (or signature).
                let ended = CentralStamp {
                    at: inspection.last_event_at(),
                    sync_age_ms: now.map_or(0, |n| n.sync_age_ms),
                };
                if let Err(e) = recovery::finish(&dir, &mut found.manifest, Some(ended)) {
                    tracing::error!(%id, %e, "recovered manifest not written");
                    continue;
                }
                if let Err(e) = self.store_film(
                    id,
                    &dir,
                    &found.manifest,
                    AuditAction::PanoramicStoppedByCrash,
                ) {
                    tracing::error!(%id, %e, "recovered recording not stored");
                    continue;
                }
                if matches!(
                    inspection.state_kind(),
                    StateKind::Interrupted | StateKind::Signed
                ) && let Err(e) = self.queue(id)
                {
                    tracing::error!(%id, %e, "recovered inspection not queued");
                }
            }
            done.push(id);
        }
        done
    }
}

#[cfg(test)]
#[path = "panoramic_recovery_tests.rs"]
mod tests;
