//! Photographs (§7, §8): every photo, whichever device takes it — the still camera, the
//! borescope (§8, §18) or the panoramic camera (§7 a, [`crate::Station::take_panoramic`]) —
//! goes through core's rules and capture pipeline (checks against the device's minimum,
//! tarja, JPEG, MD5 and SHA-256, storage with the device's name); the rear photo's plate is
//! read (§6).

use vistoria_core::capture::{Shot, Source};
use vistoria_core::domain::{AdditionalReason, Inspection, InspectionId, PhotoKind};
use vistoria_core::film::FilmState;
use vistoria_core::ocr::correction;
use vistoria_core::workflow;
use vistoria_drivers::camera::Frame;

use super::inspection::read_plate;
use super::{Failure, OcrCheck, PhotoShot, Session, Station, Thumbnail, lock};

/// Which of the inspector's devices takes a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoDevice {
    /// The still camera (§7).
    Camera,
    /// The borescope, for an engine number of difficult access (§8, §18).
    Borescope,
}

/// A photo the inspector asks for.
#[derive(Debug, Clone, Copy)]
pub struct PhotoRequest<'a> {
    /// What it shows.
    pub kind: PhotoKind,
    /// Why a photo of this kind is taken again, when one exists.
    pub retake_reason: Option<&'a str>,
    /// For an additional photo, the reason the Portaria names (§8: the engine number readable
    /// only after the engine was taken apart).
    pub reason: Option<AdditionalReason>,
    /// The device that takes it.
    pub device: PhotoDevice,
}

impl PhotoDevice {
    fn source(self) -> Source {
        match self {
            PhotoDevice::Camera => Source::StillCamera,
            PhotoDevice::Borescope => Source::Borescope,
        }
    }
}

/// A frame on its way to becoming evidence.
pub(crate) struct Taken<'a> {
    pub kind: PhotoKind,
    pub source: Source,
    pub device: &'a str,
    pub retake_reason: Option<&'a str>,
    pub reason: Option<AdditionalReason>,
    pub actor: &'a str,
    pub started: std::time::Instant,
}

impl Station {
    /// Photographs `kind` with the still camera: checks, tarja, hashes, storage (§7, §8); for
    /// the rear photo, reads the plate (§6). A retake keeps the earlier photo and logs the
    /// reason.
    pub fn capture_photo(
        &self,
        session: &Session,
        id: InspectionId,
        kind: PhotoKind,
        retake_reason: Option<&str>,
    ) -> Result<PhotoShot, Failure> {
        // `take_photo` checks the session's role.
        self.take_photo(
            session,
            id,
            PhotoRequest {
                kind,
                retake_reason,
                reason: None,
                device: PhotoDevice::Camera,
            },
        )
    }

    /// Photographs what `request` asks with its device, through the same pipeline whichever
    /// it is; the stored photo names the device. Core's rules decide what each device may
    /// take (the borescope only the engine number) and check them before the shutter.
    pub fn take_photo(
        &self,
        session: &Session,
        id: InspectionId,
        request: PhotoRequest<'_>,
    ) -> Result<PhotoShot, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let started = std::time::Instant::now();
        let inspection = self.load(id)?;
        let source = request.device.source();
        // The rules (capturing, §4 film, the device, a reason for a retake) are core's;
        // checked before the shutter so a refused photo costs nothing, and again where it is
        // stored.
        let film = self.film_state(id);
        workflow::photos::check(
            &self.core().store,
            &inspection,
            workflow::photos::Request {
                kind: request.kind,
                retake_reason: request.retake_reason,
                film: &film,
                source,
                reason: request.reason,
            },
        )
        .map_err(Failure::from)?;
        let (frame, device) = match request.device {
            PhotoDevice::Camera => {
                if let Some(demo) = &self.0.demo {
                    lock(demo).point_camera(
                        Some(inspection.vehicle().plate().clone()),
                        Some(request.kind),
                    );
                }
                let mut camera = lock(&self.0.camera);
                let frame = camera.capture().map_err(|e| {
                    Failure::device(format!("{e}. Verifique a câmera ou chame o técnico."))
                })?;
                (frame, camera.name().to_owned())
            }
            PhotoDevice::Borescope => self.borescope_frame()?,
        };
        self.store_frame(
            &inspection,
            frame,
            &film,
            Taken {
                kind: request.kind,
                source,
                device: &device,
                retake_reason: request.retake_reason,
                reason: request.reason,
                actor: &session.login,
                started,
            },
        )
    }

    /// Turns `frame` into the inspection's evidence (core's rules and pipeline) and, for the
    /// rear photo, reads its plate (§6).
    pub(crate) fn store_frame(
        &self,
        inspection: &Inspection,
        frame: Frame,
        film: &FilmState,
        taken: Taken<'_>,
    ) -> Result<PhotoShot, Failure> {
        let id = inspection.id();
        let kind = taken.kind;
        let image = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb)
            .ok_or_else(|| Failure::device("quadro com tamanho inconsistente"))?;
        let now = self.now()?;
        let info = self.capture_info();
        let mut core = self.core();
        let core = &mut *core;
        let evidence = workflow::photos::take(
            &mut core.store,
            &mut core.reuse,
            &info,
            &Self::quality_limits(),
            image.clone(),
            Shot {
                inspection: id,
                kind,
                at: now,
                actor: taken.actor,
                retake_reason: taken.retake_reason,
                source: taken.source,
                device: taken.device,
                reason: taken.reason,
            },
            film,
        )
        .map_err(Failure::from)?;
        let stored = core
            .store
            .read_media(&evidence.record)
            .map_err(Failure::from)?;
        let shown = image::load_from_memory(&stored)
            .map_err(|e| Failure::internal(format!("foto gravada ilegível: {e}")))?
            .to_rgb8();
        let ocr = if kind == PhotoKind::RearWithPlate {
            // §6: the reading is stored with the photo; the gate is core's, from the store.
            let reading = read_plate(&mut core.ocr, &image);
            let (read, confidence, error) = match reading {
                Ok(r) => (r.plate, r.confidence, None),
                Err(e) => (None, 0.0, Some(e.to_string())),
            };
            let stored = correction::record_reading(
                &mut core.store,
                inspection,
                &evidence.record,
                read.as_ref(),
                confidence,
                error,
                now,
                taken.actor,
            )
            .map_err(Failure::from)?;
            Some(OcrCheck {
                needs_correction: stored.needs_correction(),
                read: stored.read,
                confidence: stored.confidence,
                error: stored.error,
            })
        } else {
            None
        };
        Ok(PhotoShot {
            media_id: evidence.record.id.clone(),
            kind,
            md5: evidence.record.digests.md5.clone(),
            sha256: evidence.record.digests.sha256.clone(),
            thumbnail: Thumbnail::of(&shown, 640),
            reuse_warning: evidence.reuse.map(|m| {
                format!(
                    "Foto quase idêntica a uma da vistoria {} ({}): confira se não é reaproveitada",
                    m.earlier.inspection_id,
                    m.earlier.at.format("%d/%m/%Y")
                )
            }),
            ocr,
            ms: taken.started.elapsed().as_millis() as u64,
            device: evidence.record.device.clone(),
            reason: evidence.record.reason.clone(),
        })
    }
}

#[cfg(test)]
#[path = "photo_devices_tests.rs"]
mod tests;
