//! The panoramic camera's film of each inspection (§4, §7, §17): recording starts when the
//! inspection is opened and stops when its laudo is signed or it is interrupted; every finished
//! segment (MD5 + SHA-256 at the recorder) and the recording's manifest (gaps, presence) are
//! then stored as the inspection's media, so they travel in its package like the photos.
//! Video loss and its end go into the audit log as the station's worker collects them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::json;
use vistoria_core::domain::InspectionId;
use vistoria_core::film::{FilmGap, FilmState};
use vistoria_core::laudo::SegmentRef;
use vistoria_core::store::{AuditAction, AuditEvent, NewMedia};
use vistoria_drivers::panoramic::recorder::{Recorder, RecorderConfig, RecorderEvent};
use vistoria_drivers::panoramic::{Manifest, Presence};

use super::{Failure, Station, lock};

/// The panoramic camera of the station.
pub struct Panoramic {
    pub(super) url: String,
    pub(super) root: PathBuf,
    pub(super) running: Mutex<HashMap<InspectionId, Recorder>>,
    /// Inspections whose bay looks empty now (one audit row per episode, §4).
    empty_bay: Mutex<HashSet<InspectionId>>,
    /// The technician's connection test (Diagnóstico), while its live view is kept.
    pub(super) test: Mutex<Option<(Recorder, std::time::Instant)>>,
    /// The bay's presence calibration (region, empty-bay still), loaded at the opening.
    pub(super) bay: Mutex<super::panoramic_bay::BayCalibration>,
}

impl Panoramic {
    /// The camera at `url` (RTSP), recordings kept under `root` until stored.
    pub fn new(url: &str, root: PathBuf) -> Panoramic {
        Panoramic {
            url: url.to_owned(),
            root,
            running: Mutex::new(HashMap::new()),
            empty_bay: Mutex::new(HashSet::new()),
            test: Mutex::new(None),
            bay: Mutex::new(Default::default()),
        }
    }
}

/// The panoramic camera at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanoramicStatus {
    /// Inspections being filmed.
    pub recording: usize,
    /// Whether every running recording receives frames.
    pub receiving: bool,
}

impl Station {
    /// Starts filming inspection `id`. A camera that cannot be used does not stop the
    /// inspection: the failure is logged and audited, and the manifest will show the gap.
    pub(super) fn start_recording(&self, id: InspectionId) {
        self.start_recording_from(id, None);
    }

    /// Starts filming `id`, continuing `resume` (a recording recovered after a crash) if given.
    pub(super) fn start_recording_from(&self, id: InspectionId, resume: Option<Manifest>) {
        let Some(p) = &self.0.panoramic else {
            return;
        };
        let resumed = resume.is_some();
        let mut config = RecorderConfig::new(&p.url, &p.root.join(id.to_string()));
        config.clock = Some(self.0.clock.clone());
        config.resume = resume;
        config.presence = self.presence_config();
        // Whether presence is judged in this film, and against what (§17e).
        let presence = match config.presence.basis() {
            Some(basis) => json!({
                "reference_sha256": basis.reference_sha256,
                "region": [basis.region.x, basis.region.y, basis.region.w, basis.region.h],
            }),
            None => json!("not_calibrated"),
        };
        let started = Recorder::start(config);
        let at = self.0.clock.now().ok();
        let event = match started {
            Ok(recorder) => {
                lock(&p.running).insert(id, recorder);
                let action = if resumed {
                    AuditAction::PanoramicResumed
                } else {
                    AuditAction::PanoramicStarted
                };
                AuditEvent::new(at, super::SYSTEM, action).detail(json!({ "presence": presence }))
            }
            Err(e) => {
                tracing::error!(%id, %e, "panoramic recording not started");
                AuditEvent::new(at, super::SYSTEM, AuditAction::PanoramicStartFailed)
                    .detail(json!({ "error": e.to_string() }))
            }
        };
        if let Err(e) = self.core().store.audit(event.inspection(id)) {
            tracing::error!(%e, "audit of the panoramic recording failed");
        }
    }

    /// Stops filming `id` and stores its segments and manifest as the inspection's media.
    /// Returns the segments for the laudo (empty when there was no recording).
    pub(super) fn stop_recording(&self, id: InspectionId) -> Result<Vec<SegmentRef>, Failure> {
        let Some(p) = &self.0.panoramic else {
            return Ok(Vec::new());
        };
        lock(&p.empty_bay).remove(&id);
        let Some(recorder) = lock(&p.running).remove(&id) else {
            return Ok(Vec::new());
        };
        let dir = p.root.join(id.to_string());
        let manifest = recorder
            .stop()
            .map_err(|e| Failure::device(format!("gravação panorâmica: {e}")))?;
        self.store_film(id, &dir, &manifest, AuditAction::PanoramicStopped)
    }

    /// Stores the segments and the manifest of a finished recording in `dir` as the media of
    /// `id` (each segment's digest checked against the recorder's), audits `action` and
    /// removes the folder.
    pub(super) fn store_film(
        &self,
        id: InspectionId,
        dir: &Path,
        manifest: &Manifest,
        action: AuditAction,
    ) -> Result<Vec<SegmentRef>, Failure> {
        let now = self.now()?;
        let mut core = self.core();
        let mut refs = Vec::new();
        for (index, segment) in manifest.segments.iter().enumerate() {
            let bytes = std::fs::read(dir.join(&segment.file))
                .map_err(|e| Failure::internal(format!("segmento {}: {e}", segment.file)))?;
            let stored = core
                .store
                .store_media(
                    NewMedia {
                        inspection_id: id,
                        kind: "video_segment",
                        extension: "mp4",
                        captured_at: segment.start_at.unwrap_or(now),
                        bytes: &bytes,
                    },
                    super::SYSTEM,
                )
                .map_err(Failure::from)?;
            if stored.digests.sha256 != segment.digests.sha256 {
                return Err(Failure::internal(format!(
                    "o segmento {} mudou entre a gravação e o armazenamento",
                    segment.file
                )));
            }
            refs.push(SegmentRef {
                index: index as u32,
                sha256: stored.digests.sha256,
            });
        }
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Failure::internal(e.to_string()))?;
        core.store
            .store_media(
                NewMedia {
                    inspection_id: id,
                    kind: "panoramic_manifest",
                    extension: "json",
                    captured_at: now,
                    bytes: &json,
                },
                super::SYSTEM,
            )
            .map_err(Failure::from)?;
        core.store
            .audit(
                AuditEvent::new(Some(now), super::SYSTEM, action)
                    .inspection(id)
                    .detail(json!({
                        "segments": manifest.segments.len(),
                        "seconds": manifest.seconds,
                        "gaps": manifest.gaps.len(),
                        "missing_seconds": manifest.missing_seconds(),
                        "complete": manifest.complete,
                    })),
            )
            .map_err(Failure::from)?;
        drop(core);
        // Stored in the store's own media folder now; the recorder's copies can go.
        if let Err(e) = std::fs::remove_dir_all(dir) {
            tracing::warn!(%e, dir = %dir.display(), "recording folder not removed");
        }
        Ok(refs)
    }

    /// The film of inspection `id` as core's §4 rule takes it (capture is refused unless it
    /// runs, at a station that has the camera).
    pub fn film_state(&self, id: InspectionId) -> FilmState {
        let Some(p) = &self.0.panoramic else {
            return FilmState::NoPanoramicCamera;
        };
        match lock(&p.running).get(&id) {
            None => {
                FilmState::NotRecording("a filmagem desta vistoria não está em andamento".into())
            }
            Some(recorder) if recorder.live().receiving => FilmState::Recording,
            Some(_) => FilmState::NotRecording("sem imagem da câmera panorâmica".into()),
        }
    }

    /// The gaps of the film of `id` still being recorded, from the manifest the recorder keeps
    /// on disk (the stored film's gaps are core's to read).
    pub(super) fn live_film_gaps(&self, id: InspectionId) -> Vec<FilmGap> {
        let Some(p) = &self.0.panoramic else {
            return Vec::new();
        };
        let path = p.root.join(id.to_string()).join("manifest.json");
        match std::fs::read(&path) {
            Ok(bytes) => vistoria_core::film::gaps_in_manifest(&bytes).unwrap_or_else(|e| {
                tracing::error!(%id, %e, "live film manifest unreadable");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        }
    }

    /// What the panoramic camera sees of inspection `id`'s bay now (§4, §17e); `None` when it
    /// is not being filmed, no frame has come since the last loss, or presence is not
    /// calibrated (the station cannot tell: no warning is shown).
    pub fn bay_presence(&self, id: InspectionId) -> Option<Presence> {
        let p = self.0.panoramic.as_ref()?;
        lock(&p.running).get(&id)?.live().presence
    }

    /// The camera at a glance. Writes nothing.
    pub fn panoramic_status(&self) -> Option<PanoramicStatus> {
        let p = self.0.panoramic.as_ref()?;
        let running = lock(&p.running);
        Some(PanoramicStatus {
            recording: running.len(),
            receiving: running.values().all(|r| r.live().receiving),
        })
    }

    /// Turns what the recorders reported since the last call into audit rows: video losses
    /// and returns, and the bay's empty episodes (the worker calls it every second).
    pub fn record_panoramic_events(&self) {
        let Some(p) = self.0.panoramic.as_ref() else {
            return;
        };
        let mut events = Vec::new();
        for (id, recorder) in lock(&p.running).iter() {
            while let Ok(event) = recorder.events().try_recv() {
                events.push((*id, event));
            }
        }
        let at = self.0.clock.now().ok();
        for (id, event) in events {
            let (action, detail) = match event {
                RecorderEvent::VideoLost {
                    at_s,
                    cause,
                    detail,
                } => (
                    AuditAction::PanoramicVideoLost,
                    json!({ "at_s": at_s, "cause": cause, "detail": detail }),
                ),
                RecorderEvent::VideoRestored { at_s, missing_s } => (
                    AuditAction::PanoramicVideoRestored,
                    json!({ "at_s": at_s, "missing_s": missing_s }),
                ),
                // §4: the vehicle stays in the monitored area the whole inspection. One row
                // when the bay starts looking empty, one when the vehicle is seen again.
                RecorderEvent::PresenceChanged { state, at_s } => {
                    let mut empty = lock(&p.empty_bay);
                    match state {
                        Presence::Absent if empty.insert(id) => {
                            (AuditAction::PanoramicBayEmpty, json!({ "at_s": at_s }))
                        }
                        Presence::Present if empty.remove(&id) => {
                            (AuditAction::PanoramicBayOccupied, json!({ "at_s": at_s }))
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            };
            let row = AuditEvent::new(at, super::SYSTEM, action)
                .inspection(id)
                .detail(detail);
            if let Err(e) = self.core().store.audit(row) {
                tracing::error!(%e, "audit of a video loss failed");
            }
        }
    }
}
