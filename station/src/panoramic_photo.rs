//! §7 a, "panorâmica do veículo (automática), somente para vistoria fixa": when the inspector
//! starts the photos at a fixed station (one with the panoramic camera), the station takes the
//! panoramic photo from the camera's stream by itself, through the same evidence pipeline as
//! every photo (checks, tarja, MD5 and SHA-256, stored with the camera's name). Core requires
//! it for every class at a fixed station; when the camera cannot give it the inspector sees
//! why and asks again ([`Station::take_panoramic`], "Tirar panorâmica novamente").

use std::time::{Duration, Instant};

use serde_json::json;
use vistoria_core::capture::Source;
use vistoria_core::domain::{InspectionId, PhotoKind};
use vistoria_core::film::FilmState;
use vistoria_core::store::{AuditAction, AuditEvent};
use vistoria_drivers::panoramic::still;

use super::panoramic_check::mask_credentials;
use super::photos::Taken;
use super::{Failure, InspectionRow, PhotoShot, Session, Station};

/// How long the panoramic photo waits for the film to receive frames (§4: no photo while it
/// does not), e.g. when capture starts moments after the opening started the recording.
const FILM_WAIT: Duration = Duration::from_secs(8);
/// How long it waits for the camera's frame on its own session.
const GRAB_TIMEOUT: Duration = Duration::from_secs(10);

/// What starting the photos did.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureStart {
    /// The inspection, capturing.
    pub row: InspectionRow,
    /// §7 a: the panoramic photo taken now, or why it could not be; `None` when the inspection
    /// needs none or already has it.
    pub panoramic: Option<Result<PhotoShot, Failure>>,
}

impl Station {
    /// The inspector takes the vehicle: the inspection moves to "capturing" and, at a fixed
    /// station, the panoramic photo is taken if it is still missing (also on re-entering).
    pub fn begin_capture(
        &self,
        session: &Session,
        id: InspectionId,
    ) -> Result<CaptureStart, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let row = self.enter_capture(session, id)?;
        let missing = row.required.contains(&PhotoKind::Panoramic) && !self.has_panoramic(id)?;
        let panoramic = missing.then(|| {
            let taken = self.take_panoramic(session, id);
            if let Err(e) = &taken {
                tracing::warn!(%id, %e, "panoramic photo not taken at capture start");
            }
            taken
        });
        Ok(CaptureStart { row, panoramic })
    }

    /// Takes §7 a's panoramic photo of inspection `id` from the panoramic camera's stream.
    /// Refused, with the reason to show, without the camera, while the film is down (§4), or
    /// when the frame fails the checks (size, colour, exposure); each refusal is an audit row
    /// of the inspection (`media.capture_failed`), so its trail shows why the photo came late.
    pub fn take_panoramic(
        &self,
        session: &Session,
        id: InspectionId,
    ) -> Result<PhotoShot, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let taken = self.grab_panoramic(session, id);
        if let Err(e) = &taken {
            let event = AuditEvent::new(
                self.0.clock.now().ok(),
                &session.login,
                AuditAction::MediaCaptureFailed,
            )
            .inspection(id)
            .detail(json!({"kind": PhotoKind::Panoramic.code(), "reason": e.to_string()}));
            if let Err(audit) = self.core().store.audit(event) {
                tracing::warn!(%audit, "panoramic failure not audited");
            }
        }
        taken
    }

    fn grab_panoramic(&self, session: &Session, id: InspectionId) -> Result<PhotoShot, Failure> {
        let started = Instant::now();
        let url = self
            .0
            .panoramic
            .as_ref()
            .map(|p| p.url.clone())
            .ok_or_else(|| {
                Failure::rule(
                    "nenhuma câmera panorâmica configurada nesta estação: a panorâmica do veículo (§7 a) não pode ser tirada; chame o técnico",
                )
            })?;
        let inspection = self.load(id)?;
        let film = self.film_when_recording(id);
        vistoria_core::workflow::photos::check(
            &self.core().store,
            &inspection,
            vistoria_core::workflow::photos::Request {
                kind: PhotoKind::Panoramic,
                retake_reason: None,
                film: &film,
                source: Source::Panoramic,
                reason: None,
            },
        )
        .map_err(Failure::from)?;
        let frame = still::grab(&url, GRAB_TIMEOUT).map_err(|e| {
            Failure::device(format!(
                "câmera panorâmica: {e}. Confira a câmera e tire a panorâmica novamente, ou chame o técnico."
            ))
        })?;
        let device = format!("Câmera panorâmica {}", mask_credentials(&url));
        self.store_frame(
            &inspection,
            frame,
            &film,
            Taken {
                kind: PhotoKind::Panoramic,
                source: Source::Panoramic,
                device: &device,
                retake_reason: None,
                reason: None,
                actor: &session.login,
                started,
            },
        )
        .map_err(|e| e.context("panorâmica do veículo"))
    }

    /// Whether inspection `id` has its panoramic photo.
    fn has_panoramic(&self, id: InspectionId) -> Result<bool, Failure> {
        Ok(self
            .core()
            .store
            .media_of(id)
            .map_err(Failure::from)?
            .iter()
            .any(|m| m.kind == PhotoKind::Panoramic.code()))
    }

    /// The film's state once it receives frames, waiting up to [`FILM_WAIT`] for it.
    fn film_when_recording(&self, id: InspectionId) -> FilmState {
        let deadline = Instant::now() + FILM_WAIT;
        loop {
            let film = self.film_state(id);
            if !matches!(film, FilmState::NotRecording(_)) || Instant::now() >= deadline {
                return film;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
