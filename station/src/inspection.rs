//! The inspection as the counter and the bay drive it: open from the vehicle query (§5),
//! photographs (§7, §8), the plate check (§6), the checklist (§13), the conclusion or the
//! interruption (§12), the signature (§14) and the queue (2s).

use chrono::{DateTime, Utc};
use serde_json::json;
use vistoria_core::domain::{
    Chassis, ChecklistItem, Condition, Inspection, InspectionId, InterruptionCause, PhotoKind,
    Plate, Renavam, Site, StateKind, VehicleData, VehicleIdentity, Verdict,
};
use vistoria_core::ocr::correction::{self, CorrectionForm};
use vistoria_core::ocr::{PlateReader, PlateReading};
use vistoria_core::store::AuditAction;
use vistoria_core::wire::VehicleQuery;
use vistoria_core::{outbox, workflow};

use super::{Failure, Session, Station, lock};

/// A photo scaled down for the screen, RGBA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl Thumbnail {
    /// `image` scaled to fit `max_width`.
    pub fn of(image: &image::RgbImage, max_width: u32) -> Thumbnail {
        let scale = f64::from(max_width) / f64::from(image.width().max(1));
        let (w, h) = if scale < 1.0 {
            (
                max_width,
                ((f64::from(image.height()) * scale).round() as u32).max(1),
            )
        } else {
            (image.width(), image.height())
        };
        let small = image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle);
        let rgba = image::DynamicImage::ImageRgb8(small).to_rgba8();
        Thumbnail {
            width: w,
            height: h,
            rgba: rgba.into_raw(),
        }
    }
}

/// The plate reading of a rear photo against the typed plate (§6).
#[derive(Debug, Clone, PartialEq)]
pub struct OcrCheck {
    /// What was read, if anything.
    pub read: Option<String>,
    /// Confidence 0…1.
    pub confidence: f32,
    /// Whether the §6 correction is needed.
    pub needs_correction: bool,
    /// Why the reading could not be made (OCR engine missing), if so.
    pub error: Option<String>,
}

/// A captured photo as the inspector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoShot {
    /// The stored file.
    pub media_id: String,
    /// What it shows.
    pub kind: PhotoKind,
    /// MD5 of the stored bytes (§8).
    pub md5: String,
    /// SHA-256 of the stored bytes.
    pub sha256: String,
    /// The stored photo, with its tarja, scaled down.
    pub thumbnail: Thumbnail,
    /// A near-identical photo of another inspection, if any.
    pub reuse_warning: Option<String>,
    /// For the rear photo: the plate check.
    pub ocr: Option<OcrCheck>,
    /// Milliseconds from shutter to stored.
    pub ms: u64,
    /// The device that took it (still camera, borescope, panoramic camera), when recorded.
    pub device: Option<String>,
    /// For an additional photo, the reason the Portaria names (§8), if any.
    pub reason: Option<String>,
}

/// One inspection in the counter's list.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionRow {
    /// Id.
    pub id: InspectionId,
    /// Plate, pretty.
    pub plate: String,
    /// Make and model.
    pub vehicle: String,
    /// Vehicle data from the query.
    pub data: VehicleData,
    /// State.
    pub state: StateKind,
    /// Query time (start of the 4 h window, 2b).
    pub queried_at: DateTime<Utc>,
    /// End of the window (§9).
    pub deadline: DateTime<Utc>,
    /// Photos the class requires where it is made (§7; §7 a's panoramic at a fixed station).
    pub required: Vec<PhotoKind>,
    /// Checklist items that apply.
    pub checklist: Vec<(ChecklistItem, Option<Condition>, Option<String>)>,
    /// Outcome label, when ended.
    pub outcome: Option<String>,
}

impl InspectionRow {
    fn of(i: &Inspection) -> InspectionRow {
        let data = i.data().clone();
        InspectionRow {
            id: i.id(),
            plate: i.vehicle().plate().pretty(),
            vehicle: data.make_model.clone(),
            state: i.state_kind(),
            queried_at: i.queried_at(),
            deadline: i.deadline(),
            required: i.required_photos(),
            checklist: i
                .checklist()
                .applicable()
                .into_iter()
                .map(|item| {
                    let entry = i.checklist().get(item);
                    (
                        item,
                        entry.map(|e| e.condition),
                        entry.and_then(|e| e.note.clone()),
                    )
                })
                .collect(),
            outcome: i.outcome().map(|o| o.label_pt().to_owned()),
            data,
        }
    }
}

/// What the operator typed at the counter, checked (§5): the plate plus RENAVAM or chassis.
pub fn counter_query(
    plate: &str,
    renavam: &str,
    chassis: &str,
) -> Result<(VehicleQuery, Plate, Option<Renavam>, Option<Chassis>), Failure> {
    let plate = Plate::parse(plate).map_err(|e| Failure::rule(format!("Placa: {e}")))?;
    let renavam = match renavam.trim() {
        "" => None,
        r => Some(Renavam::parse(r).map_err(Failure::from)?),
    };
    let chassis = match chassis.trim() {
        "" => None,
        c => Some(Chassis::parse(c).map_err(|e| Failure::rule(format!("Chassi: {e}")))?),
    };
    if renavam.is_none() && chassis.is_none() {
        return Err(Failure::rule(
            "Informe o RENAVAM ou o chassi junto com a placa (§5)",
        ));
    }
    let query = VehicleQuery {
        plate: plate.as_str().to_owned(),
        renavam: renavam.as_ref().map(|r| r.as_str().to_owned()),
        chassis: chassis.as_ref().map(|c| c.as_str().to_owned()),
        inspection_id: None,
    };
    Ok((query, plate, renavam, chassis))
}

impl Station {
    pub(super) fn load(&self, id: InspectionId) -> Result<Inspection, Failure> {
        self.core().inspection(id)
    }

    /// Queries the vehicle at the central and opens its inspection (§5).
    pub fn open_inspection(
        &self,
        session: &Session,
        plate: &str,
        renavam: &str,
        chassis: &str,
    ) -> Result<InspectionRow, Failure> {
        self.require(session, crate::roles::COUNTER)?;
        // §15 a, b: below the central's minimum version, or with software the central's policy
        // forbids, nothing new starts (before the query: no laudo number is spent on it).
        if let Some(why) = self.policy_block()? {
            return Err(Failure::rule(why));
        }
        let (mut query, plate, renavam, chassis) = counter_query(plate, renavam, chassis)?;
        // The id is drawn before asking: the central allocates the laudo number to it with the
        // answer (§10). Another tap at the counter is another inspection, with its own number.
        let id = InspectionId::new();
        query.inspection_id = Some(id);
        let client = self.core().client.clone();
        let answer = client.query_vehicle(&query).map_err(Failure::from)?;
        let chassis = chassis.or_else(|| {
            answer
                .vehicle
                .data
                .chassis
                .as_deref()
                .and_then(|c| Chassis::parse(c).ok())
        });
        let identity = VehicleIdentity::new(plate, renavam, chassis).map_err(Failure::from)?;
        let now = self.now()?;
        // §7 a: a station with the panoramic camera is a fixed station; what it opens is
        // filmed (§4) and has the panoramic photo.
        let site = if self.0.panoramic.is_some() {
            Site::FixedStation
        } else {
            Site::WithoutPanoramicCamera
        };
        let mut core = self.core();
        let inspection = workflow::open(
            &mut core.store,
            Some(id),
            identity,
            &answer,
            site,
            now,
            &session.login,
        )
        .map_err(Failure::from)?;
        drop(core);
        // The film runs from the opening to the laudo (§4, §17).
        self.start_recording(inspection.id());
        Ok(InspectionRow::of(&inspection))
    }

    /// Inspections of the last day and every one still open, newest first. Writes nothing:
    /// the worker closes those past their window (2b, §9).
    pub fn inspections_today(&self) -> Result<Vec<InspectionRow>, Failure> {
        let since = self.now().ok().map(|n| n.at - chrono::Duration::hours(24));
        let mut rows: Vec<InspectionRow> = self
            .core()
            .store
            .inspections()
            .map_err(Failure::from)?
            .iter()
            .filter(|i| i.is_open() || since.is_none_or(|s| i.queried_at() >= s))
            .map(InspectionRow::of)
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.queried_at));
        Ok(rows)
    }

    /// Interrupts the open inspections past their four hours (2b, §9): the film ends (§4)
    /// and the package is queued (§12). Returns them.
    pub(crate) fn expire_deadlines(&self) -> Result<Vec<InspectionId>, Failure> {
        let now = self.now()?;
        let expired = vistoria_core::session::close_expired(&mut self.core().store, now)
            .map_err(Failure::from)?;
        for id in &expired {
            tracing::warn!(%id, "inspection interrupted: its four hours ran out");
            if let Err(e) = self.stop_recording(*id) {
                tracing::error!(%id, %e, "panoramic recording not stored");
            }
            if let Err(e) = self.queue(*id) {
                tracing::error!(%id, %e, "expired inspection not queued");
            }
        }
        Ok(expired)
    }

    /// Queues every ended inspection that is not in the outbox yet (§12: every started
    /// inspection is delivered): one the previous run's crash recovery interrupted, or one
    /// signed just before a crash took the queueing with it. Run at opening.
    pub(crate) fn queue_ended(&self) {
        let ended = self
            .core()
            .store
            .inspections_in(&[StateKind::Interrupted.name(), StateKind::Signed.name()]);
        match ended {
            Ok(ended) => {
                for inspection in ended {
                    let id = inspection.id();
                    match self.queue(id) {
                        Ok(_) => tracing::info!(%id, "ended inspection queued at opening"),
                        Err(e) => tracing::error!(%id, %e, "ended inspection not queued"),
                    }
                }
            }
            Err(e) => tracing::error!(%e, "ended inspections not listed"),
        }
    }

    /// How many inspections the store holds, whatever their state.
    pub fn inspection_count(&self) -> Result<usize, Failure> {
        Ok(self
            .core()
            .store
            .inspections()
            .map_err(Failure::from)?
            .len())
    }

    /// Loads, changes and stores the inspection under one lock, so two operations on the same
    /// inspection never overwrite each other.
    pub(super) fn apply(
        &self,
        id: InspectionId,
        actor: &str,
        action: AuditAction,
        detail: serde_json::Value,
        event: impl FnOnce(
            &mut Inspection,
            DateTime<Utc>,
        ) -> Result<(), vistoria_core::domain::TransitionError>,
    ) -> Result<InspectionRow, Failure> {
        let now = self.now()?;
        let mut core = self.core();
        let mut inspection = core.inspection(id)?;
        workflow::apply(
            &mut core.store,
            &mut inspection,
            now,
            actor,
            action,
            detail,
            event,
        )
        .map_err(Failure::from)?;
        Ok(InspectionRow::of(&inspection))
    }

    /// The inspector takes the vehicle: photographs may start. At a fixed station the
    /// panoramic photo is taken now (§7 a; [`Station::begin_capture`] says how that went).
    pub fn start_capture(
        &self,
        session: &Session,
        id: InspectionId,
    ) -> Result<InspectionRow, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        self.begin_capture(session, id).map(|started| started.row)
    }

    /// The state change of [`Station::start_capture`] alone.
    pub(crate) fn enter_capture(
        &self,
        session: &Session,
        id: InspectionId,
    ) -> Result<InspectionRow, Failure> {
        let inspection = self.load(id)?;
        if inspection.state_kind() == StateKind::Capturing {
            return Ok(InspectionRow::of(&inspection));
        }
        self.apply(
            id,
            &session.login,
            AuditAction::InspectionCaptureStarted,
            json!(null),
            |i, at| i.start_capture(at),
        )
    }

    /// Re-entering inspection `id`: its photos as stored (core's [`workflow::view`]), the rear
    /// one with its stored §6 reading, and `needs_correction` as core's gate says, so a screen
    /// rebuilt after "Continuar" or a restart shows exactly what is stored.
    pub fn stored_shots(&self, id: InspectionId) -> Result<Vec<PhotoShot>, Failure> {
        let core = self.core();
        let view = workflow::view::load(&core.store, id).map_err(Failure::from)?;
        let mut shots = Vec::with_capacity(view.photos.len());
        for taken in &view.photos {
            let bytes = core.store.read_media(&taken.media).map_err(Failure::from)?;
            let image = image::load_from_memory(&bytes)
                .map_err(|e| Failure::internal(format!("foto gravada ilegível: {e}")))?
                .to_rgb8();
            let latest_rear = view.plate.media_id.as_deref() == Some(taken.media.id.as_str());
            let ocr = latest_rear.then(|| {
                let reading = view.plate.reading.as_ref();
                OcrCheck {
                    read: reading.and_then(|r| r.read.clone()),
                    confidence: reading.map_or(0.0, |r| r.confidence),
                    needs_correction: view.pending_correction(),
                    error: reading.and_then(|r| r.error.clone()),
                }
            });
            shots.push(PhotoShot {
                media_id: taken.media.id.clone(),
                kind: taken.kind,
                md5: taken.media.digests.md5.clone(),
                sha256: taken.media.digests.sha256.clone(),
                thumbnail: Thumbnail::of(&image, 640),
                reuse_warning: None,
                ocr,
                ms: 0,
                device: taken.media.device.clone(),
                reason: taken.media.reason.clone(),
            });
        }
        Ok(shots)
    }

    /// A preview frame from the camera, scaled down (no evidence is made of it).
    pub fn preview(
        &self,
        plate: Option<Plate>,
        kind: Option<PhotoKind>,
    ) -> Result<Thumbnail, Failure> {
        if let Some(demo) = &self.0.demo {
            lock(demo).point_camera(plate, kind);
        }
        let frame = lock(&self.0.camera).capture().map_err(Failure::from)?;
        let image = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb)
            .ok_or_else(|| Failure::device("quadro da câmera com tamanho inconsistente"))?;
        Ok(Thumbnail::of(&image, 480))
    }

    /// The §6 correction of rear photo `media_id`: typed plate and RENAVAM plus a reason, by the
    /// logged-in user; core keeps the photo and takes the original reading from the store.
    pub fn correct_plate(
        &self,
        session: &Session,
        id: InspectionId,
        media_id: &str,
        plate: &str,
        renavam: &str,
        reason: &str,
    ) -> Result<(), Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let inspection = self.load(id)?;
        let now = self.now()?;
        let mut core = self.core();
        correction::record(
            &mut core.store,
            &inspection,
            media_id,
            &CorrectionForm {
                user: &session.login,
                plate,
                renavam,
                reason,
            },
            now,
        )
        .map_err(Failure::from)?;
        Ok(())
    }

    /// Records one checklist item (§13).
    pub fn set_item(
        &self,
        session: &Session,
        id: InspectionId,
        item: ChecklistItem,
        condition: Condition,
        note: Option<String>,
    ) -> Result<InspectionRow, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        self.apply(
            id,
            &session.login,
            AuditAction::InspectionItemRecorded,
            json!({ "item": item.code(), "condition": condition, "note": note }),
            |i, at| i.record_item(item, condition, note, at),
        )
    }

    /// Concludes with the checklist's verdict; core refuses it while a required photo is
    /// missing (§7) or the §6 correction is pending.
    pub fn conclude(&self, session: &Session, id: InspectionId) -> Result<InspectionRow, Failure> {
        self.require(session, crate::roles::INSPECTING)?;
        let now = self.now()?;
        let mut core = self.core();
        let mut inspection = core.inspection(id)?;
        workflow::conclude(&mut core.store, &mut inspection, now, &session.login)
            .map_err(Failure::from)?;
        Ok(InspectionRow::of(&inspection))
    }

    /// Interrupts with a cause (§12) and queues it: an interrupted inspection is delivered too.
    pub fn interrupt(
        &self,
        session: &Session,
        id: InspectionId,
        cause: InterruptionCause,
        note: &str,
    ) -> Result<InspectionRow, Failure> {
        self.require(session, crate::roles::INTERRUPTING)?;
        let note = note.to_owned();
        self.apply(
            id,
            &session.login,
            AuditAction::InspectionInterrupted,
            json!({ "cause": cause.code(), "note": note.trim() }),
            |i, at| i.interrupt(cause, &note, at),
        )?;
        if let Err(e) = self.stop_recording(id) {
            tracing::error!(%id, %e, "panoramic recording not stored");
        }
        self.queue(id)
    }

    pub(super) fn queue(&self, id: InspectionId) -> Result<InspectionRow, Failure> {
        let now = self.now()?;
        let station = self.0.station.clone();
        let mut core = self.core();
        let mut inspection = core.inspection(id)?;
        outbox::queue(&mut core.store, &station, &mut inspection, now).map_err(Failure::from)?;
        Ok(InspectionRow::of(&inspection))
    }
}

/// The verdict a complete checklist gives, for the conclusion screen.
pub fn verdict_label(row: &InspectionRow) -> Option<String> {
    if row.checklist.iter().any(|(_, c, _)| c.is_none()) {
        return None;
    }
    let bad: Vec<&str> = row
        .checklist
        .iter()
        .filter(|(_, c, _)| *c == Some(Condition::NonConforming))
        .map(|(i, _, _)| i.label_pt())
        .collect();
    Some(if bad.is_empty() {
        Verdict::Conforming.label_pt().to_owned()
    } else {
        format!("Não conforme: {}", bad.join(", "))
    })
}

/// Reads the plate, starting Tesseract the first time (it takes a moment; later reads reuse it).
pub(crate) fn read_plate(
    ocr: &mut Option<PlateReader<vistoria_core::ocr::TesseractEngine>>,
    image: &image::RgbImage,
) -> Result<PlateReading, Failure> {
    if ocr.is_none() {
        *ocr = Some(PlateReader::tesseract().map_err(Failure::from)?);
    }
    let reader = ocr
        .as_mut()
        .ok_or_else(|| Failure::internal("leitor de placas indisponível"))?;
    reader.read(image).map_err(Failure::from)
}
