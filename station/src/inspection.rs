//! The inspection as the counter and the bay drive it: open from the vehicle query (§5),
//! photographs (§7, §8), the plate check (§6), the checklist (§13), the conclusion or the
//! interruption (§12), the signature (§14) and the queue (2s).

use chrono::{DateTime, Utc};
use serde_json::json;
use vistoria_core::capture::{self, Shot};
use vistoria_core::domain::{
    Chassis, ChecklistItem, Condition, Inspection, InspectionId, InterruptionCause, PhotoKind,
    Plate, Renavam, StateKind, VehicleData, VehicleIdentity, Verdict,
};
use vistoria_core::ocr::correction::{self, CorrectionForm, PlateCheck};
use vistoria_core::ocr::{PlateReader, PlateReading};
use vistoria_core::store::{AuditEvent, MediaRecord};
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
    /// Photos the class requires (§7).
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
            required: data.class.required_photos(),
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
        let (query, plate, renavam, chassis) = counter_query(plate, renavam, chassis)?;
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
        let mut core = self.core();
        let inspection = workflow::open(
            &mut core.store,
            None,
            identity,
            &answer,
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

    /// Loads, changes and stores the inspection under one lock, so two operations on the same
    /// inspection never overwrite each other.
    pub(super) fn apply(
        &self,
        id: InspectionId,
        actor: &str,
        action: &str,
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

    /// The inspector takes the vehicle: photographs may start.
    pub fn start_capture(
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
            "inspection.capture_started",
            json!(null),
            |i, at| i.start_capture(at),
        )
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

    /// Photographs `kind` for the inspection: checks, tarja, hashes, storage (§7, §8); for the
    /// rear photo, reads the plate (§6). A retake keeps the earlier photo and logs the reason.
    pub fn capture_photo(
        &self,
        session: &Session,
        id: InspectionId,
        kind: PhotoKind,
        retake_reason: Option<&str>,
    ) -> Result<PhotoShot, Failure> {
        let started = std::time::Instant::now();
        let inspection = self.load(id)?;
        if inspection.state_kind() != StateKind::Capturing {
            return Err(Failure::rule(format!(
                "a vistoria está {}: não é possível fotografar",
                inspection.state_kind().label_pt()
            )));
        }
        if let Some(reason) = retake_reason
            && reason.trim().chars().count() < 5
        {
            return Err(Failure::rule("Informe o motivo para refazer a foto"));
        }
        if let Some(demo) = &self.0.demo {
            lock(demo).point_camera(Some(inspection.vehicle().plate().clone()), Some(kind));
        }
        let frame = lock(&self.0.camera)
            .capture()
            .map_err(|e| Failure::device(format!("{e}. Verifique a câmera ou chame o técnico.")))?;
        let image = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb)
            .ok_or_else(|| Failure::device("quadro da câmera com tamanho inconsistente"))?;
        let now = self.now()?;
        let info = self.capture_info();
        let mut core = self.core();
        let core = &mut *core;
        let evidence = capture::capture(
            &mut core.store,
            &mut core.reuse,
            &info,
            &Self::quality_limits(),
            image.clone(),
            Shot {
                inspection: id,
                kind,
                at: now,
                actor: &session.login,
            },
        )
        .map_err(Failure::from)?;
        if let Some(reason) = retake_reason {
            core.store
                .audit(
                    AuditEvent::new(Some(now), &session.login, "media.retake")
                        .inspection(id)
                        .detail(json!({
                            "kind": kind.code(),
                            "media_id": evidence.record.id,
                            "reason": reason.trim(),
                        })),
                )
                .map_err(Failure::from)?;
        }
        let stored = core
            .store
            .read_media(&evidence.record)
            .map_err(Failure::from)?;
        let shown = image::load_from_memory(&stored)
            .map_err(|e| Failure::internal(format!("foto gravada ilegível: {e}")))?
            .to_rgb8();
        let ocr = (kind == PhotoKind::RearWithPlate).then(|| {
            let reading = read_plate(&mut core.ocr, &image);
            check(&inspection, reading)
        });
        if let Some(check) = &ocr {
            core.store
                .audit(
                    AuditEvent::new(Some(now), &session.login, "ocr.read")
                        .inspection(id)
                        .detail(json!({
                            "media_id": evidence.record.id,
                            "read": check.read,
                            "confidence": check.confidence,
                            "needs_correction": check.needs_correction,
                        })),
                )
                .map_err(Failure::from)?;
        }
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
            ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The §6 correction: typed plate and RENAVAM plus a reason, by the logged-in user; the
    /// photo and the original reading (`read`, `confidence`, as the capture reported them) are
    /// kept in the audit row.
    #[allow(clippy::too_many_arguments)]
    pub fn correct_plate(
        &self,
        session: &Session,
        id: InspectionId,
        media_id: &str,
        read: Option<&str>,
        confidence: f32,
        plate: &str,
        renavam: &str,
        reason: &str,
    ) -> Result<(), Failure> {
        let inspection = self.load(id)?;
        let now = self.now()?;
        let original = read.and_then(|r| Plate::parse(r).ok());
        let mut core = self.core();
        let photo: MediaRecord = core
            .store
            .media_of(id)
            .map_err(Failure::from)?
            .into_iter()
            .find(|m| m.id == media_id)
            .ok_or_else(|| Failure::rule("a foto da leitura não pertence a esta vistoria"))?;
        correction::record(
            &mut core.store,
            &inspection,
            &photo,
            original.as_ref(),
            confidence,
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
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        self.apply(
            id,
            &session.login,
            "inspection.item_recorded",
            json!({ "item": item.code(), "condition": condition, "note": note }),
            |i, at| i.record_item(item, condition, note, at),
        )
    }

    /// Concludes with the checklist's verdict, once every required photo is taken (§7, §13).
    pub fn conclude(&self, session: &Session, id: InspectionId) -> Result<InspectionRow, Failure> {
        let inspection = self.load(id)?;
        let taken: Vec<String> = self
            .core()
            .store
            .media_of(id)
            .map_err(Failure::from)?
            .into_iter()
            .map(|m| m.kind)
            .collect();
        let missing: Vec<&str> = inspection
            .data()
            .class
            .required_photos()
            .into_iter()
            .filter(|k| !taken.iter().any(|t| t == k.code()))
            .map(PhotoKind::label_pt)
            .collect();
        if !missing.is_empty() {
            return Err(Failure::rule(format!(
                "Faltam fotos: {}",
                missing.join(", ")
            )));
        }
        let verdict = inspection.checklist().verdict().ok_or_else(|| {
            let missing: Vec<&str> = inspection
                .checklist()
                .missing()
                .into_iter()
                .map(ChecklistItem::label_pt)
                .collect();
            Failure::rule(format!("Checklist incompleto: {}", missing.join(", ")))
        })?;
        let detail = json!({ "verdict": verdict.label_pt() });
        self.apply(
            id,
            &session.login,
            "inspection.concluded",
            detail,
            |i, at| i.conclude(verdict, at),
        )
    }

    /// Interrupts with a cause (§12) and queues it: an interrupted inspection is delivered too.
    pub fn interrupt(
        &self,
        session: &Session,
        id: InspectionId,
        cause: InterruptionCause,
        note: &str,
    ) -> Result<InspectionRow, Failure> {
        let note = note.to_owned();
        self.apply(
            id,
            &session.login,
            "inspection.interrupted",
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
fn read_plate(
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

fn check(inspection: &Inspection, reading: Result<PlateReading, Failure>) -> OcrCheck {
    match reading {
        Ok(r) => {
            let result = correction::compare(inspection.vehicle().plate(), r.plate.as_ref());
            OcrCheck {
                read: r.plate.map(|p| p.as_str().to_owned()),
                confidence: r.confidence,
                needs_correction: result.needs_correction(),
                error: None,
            }
        }
        Err(e) => OcrCheck {
            read: None,
            confidence: 0.0,
            needs_correction: PlateCheck::Unreadable.needs_correction(),
            error: Some(e.to_string()),
        },
    }
}
