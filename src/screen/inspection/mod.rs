//! Vistoria: the inspector's photo sequence for the vehicle's class (§7 a–j) with a live
//! preview, each photo shown with its tarja, hash and device (§8), the panoramic photo the
//! station takes by itself at a fixed station (§7 a) with a retry when the camera could not
//! give it, the borescope on the engine number when the station has one (§8, §18), retakes
//! with a reason in the audit log, additional photos (2g; the engine photographed taken apart
//! with that reason, §8), the plate reading against the typed plate with the §6 correction,
//! the checklist (§13), and the conclusion or the interruption (§12).

pub mod checklist;
pub mod photos;

use std::collections::HashMap;
use std::time::Duration;

use iced::widget::image::Handle;
use iced::widget::{column, container, row};
use iced::{Element, Length, Subscription, Task};
use vistoria_core::domain::{
    AdditionalReason, ChecklistItem, Condition, InspectionId, InterruptionCause, PhotoKind,
    StateKind,
};

use crate::app::work::work;
use crate::widget;
use vistoria_drivers::panoramic::Presence;
use vistoria_station::{
    CaptureStart, Failure, InspectionRow, PhotoDevice, PhotoRequest, PhotoShot, Session, Station,
    Thumbnail,
};

/// Where the inspector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Photographs.
    Photos,
    /// Checklist.
    Checklist,
    /// Conclusion or interruption.
    Conclusion,
}

/// The §6 correction form.
#[derive(Debug, Clone, Default)]
struct Correction {
    plate: String,
    renavam: String,
    reason: String,
}

/// The inspection screen.
#[derive(Debug)]
pub struct State {
    session: Session,
    row: InspectionRow,
    step: Step,
    current: usize,
    shots: Vec<PhotoShot>,
    preview: Option<Handle>,
    preview_error: Option<Failure>,
    preview_in_flight: bool,
    capturing: bool,
    retake_reason: Option<String>,
    correction: Correction,
    corrected: bool,
    pending_non_conforming: Option<(ChecklistItem, String)>,
    /// Checklist answers not yet stored, sent one at a time so each sees the one before.
    unsaved: std::collections::VecDeque<(ChecklistItem, Condition, Option<String>)>,
    saving: bool,
    cause: Option<InterruptionCause>,
    interruption_note: String,
    busy: bool,
    error: Option<Failure>,
    notice: Option<String>,
    /// The panoramic camera sees the bay empty (§4, §17e).
    bay_empty: bool,
    /// The station's borescope, when it has one (§8, §18).
    borescope: Option<String>,
    /// Why the panoramic photo (§7 a) could not be taken, until it is.
    panoramic_error: Option<Failure>,
    /// The panoramic photo is being taken.
    panoramic_busy: bool,
}

/// What happens on it.
// Messages carry an inspection's row by value: moved once, not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Message {
    /// Capture started (the inspection moved to "capturing"; at a fixed station, the
    /// panoramic photo taken or why not).
    Started(InspectionId, Result<CaptureStart, Failure>),
    /// Time for a new preview frame.
    PreviewTick,
    /// A preview frame arrived.
    Preview(InspectionId, Result<Thumbnail, Failure>),
    /// What the panoramic camera sees of the bay (`None`: not filmed or no frames).
    BayChecked(InspectionId, Option<Presence>),
    /// Pick a photo of the sequence.
    Select(usize),
    /// "Capturar".
    Capture,
    /// "Foto adicional" (2g).
    CaptureAdditional,
    /// "Boroscópio": the engine number through the borescope (§8, §18).
    CaptureBorescope,
    /// "Motor desmontado": an additional photo of the engine number readable only with the
    /// engine taken apart (§8).
    CaptureDisassembled,
    /// "Tirar panorâmica novamente" (§7 a).
    RetakePanoramic,
    /// The panoramic photo was taken, or why not.
    Panoramic(InspectionId, Result<PhotoShot, Failure>),
    /// "Refazer": asks for the reason.
    Retake,
    /// Retake reason typed.
    RetakeReasonChanged(String),
    /// Retake cancelled.
    RetakeCancelled,
    /// A capture ended.
    Captured(InspectionId, Result<PhotoShot, Failure>),
    /// Re-entry: the photos as stored, with the §6 state core keeps.
    Restored(InspectionId, Result<Vec<PhotoShot>, Failure>),
    /// §6 form fields.
    CorrectionPlate(String),
    /// §6 RENAVAM.
    CorrectionRenavam(String),
    /// §6 reason.
    CorrectionReason(String),
    /// §6 "Registrar correção".
    SubmitCorrection,
    /// The correction was recorded.
    Corrected(InspectionId, Result<(), Failure>),
    /// Go to a step.
    Go(Step),
    /// Checklist: conforming.
    Conforming(ChecklistItem),
    /// Checklist: non-conforming, asks for the note.
    NonConforming(ChecklistItem),
    /// The note of the pending non-conformity.
    NoteChanged(String),
    /// Record the pending non-conformity.
    ConfirmNonConforming,
    /// An item was recorded.
    ItemRecorded(InspectionId, Result<InspectionRow, Failure>),
    /// "Concluir vistoria".
    Conclude,
    /// Interruption cause picked.
    CauseChosen(InterruptionCause),
    /// Interruption note typed.
    InterruptionNoteChanged(String),
    /// "Interromper vistoria".
    Interrupt,
    /// Conclusion or interruption ended.
    Ended(InspectionId, Result<InspectionRow, Failure>),
    /// Dismiss the error.
    DismissError,
}

impl Message {
    /// The inspection a worker's answer belongs to; `None` for what the person does.
    pub fn inspection(&self) -> Option<InspectionId> {
        match self {
            Message::Started(id, _)
            | Message::Preview(id, _)
            | Message::BayChecked(id, _)
            | Message::Captured(id, _)
            | Message::Panoramic(id, _)
            | Message::Restored(id, _)
            | Message::Corrected(id, _)
            | Message::ItemRecorded(id, _)
            | Message::Ended(id, _) => Some(*id),
            _ => None,
        }
    }
}

/// What the app must do.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// Concluded: go and sign.
    Concluded(InspectionRow),
    /// Interrupted and queued.
    Interrupted(InspectionRow),
}

impl State {
    /// The screen for `row`; moves the inspection to "capturing" if it is only opened.
    pub fn new(kiosk: &Station, session: Session, row: InspectionRow) -> (State, Task<Message>) {
        let id = row.id;
        let s = session.clone();
        let start = work(
            kiosk,
            "start-capture",
            move |k| k.begin_capture(&s, id),
            move |r| Message::Started(id, r),
        );
        // Re-entering shows what is stored, never an empty sequence (issue 18).
        let restore = work(
            kiosk,
            "stored-shots",
            move |k| k.stored_shots(id),
            move |r| Message::Restored(id, r),
        );
        // At a fixed station the panoramic photo is being taken as capture starts (§7 a).
        let panoramic_busy = row.required.contains(&PhotoKind::Panoramic);
        (
            State {
                session,
                row,
                step: Step::Photos,
                current: 0,
                shots: Vec::new(),
                preview: None,
                preview_error: None,
                preview_in_flight: false,
                capturing: false,
                retake_reason: None,
                correction: Correction::default(),
                corrected: false,
                pending_non_conforming: None,
                unsaved: std::collections::VecDeque::new(),
                saving: false,
                cause: None,
                interruption_note: String::new(),
                busy: false,
                error: None,
                notice: None,
                bay_empty: false,
                borescope: kiosk.borescope(),
                panoramic_error: None,
                panoramic_busy,
            },
            Task::batch([start, restore]),
        )
    }

    /// The inspection as last stored (tests).
    pub fn row(&self) -> &InspectionRow {
        &self.row
    }

    /// Photos taken (tests).
    pub fn shots(&self) -> &[PhotoShot] {
        &self.shots
    }

    /// The error shown (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// The step shown (tests).
    #[cfg(test)]
    pub fn step(&self) -> Step {
        self.step
    }

    fn kind(&self) -> Option<PhotoKind> {
        self.row.required.get(self.current).copied()
    }

    /// The next photo still missing that the inspector takes (the panoramic photo is the
    /// station's), if any.
    fn next_missing(&self) -> Option<usize> {
        self.row
            .required
            .iter()
            .position(|k| !k.is_automatic() && self.shot_of(*k).is_none())
    }

    /// Adds `shot` unless it is already shown.
    fn add_shot(&mut self, shot: PhotoShot) {
        if !self.shots.iter().any(|s| s.media_id == shot.media_id) {
            self.shots.push(shot);
        }
    }

    fn shot_of(&self, kind: PhotoKind) -> Option<&PhotoShot> {
        self.shots.iter().rev().find(|s| s.kind == kind)
    }

    /// The rear photo's reading, if it still needs the §6 correction.
    fn pending_correction(&self) -> Option<&PhotoShot> {
        if self.corrected {
            return None;
        }
        self.shot_of(PhotoKind::RearWithPlate)
            .filter(|s| s.ocr.as_ref().is_some_and(|o| o.needs_correction))
    }

    fn missing_photos(&self) -> Vec<PhotoKind> {
        self.row
            .required
            .iter()
            .copied()
            .filter(|k| self.shot_of(*k).is_none())
            .collect()
    }

    /// Live preview while photographing.
    pub fn subscription(&self) -> Subscription<Message> {
        if self.step == Step::Photos && self.row.state == StateKind::Capturing {
            iced::time::every(Duration::from_millis(700)).map(|_| Message::PreviewTick)
        } else {
            Subscription::none()
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        // A late answer about another inspection (the person left and opened this one in the
        // meantime) must not land here; the station stored what it did, under its own id.
        if let Some(id) = message.inspection()
            && id != self.row.id
        {
            tracing::info!(%id, shown = %self.row.id, "late answer for another inspection dropped");
            return (Task::none(), None);
        }
        match message {
            Message::Started(_, Ok(started)) => {
                self.row = started.row;
                self.panoramic_busy = false;
                match started.panoramic {
                    Some(Ok(shot)) => {
                        self.panoramic_error = None;
                        self.add_shot(shot);
                    }
                    Some(Err(e)) => {
                        self.panoramic_error = Some(e);
                        self.show_panoramic();
                    }
                    None => {}
                }
                return (self.request_preview(kiosk), None);
            }
            Message::Started(_, Err(e)) => {
                self.panoramic_busy = false;
                self.error = Some(e);
            }
            Message::Restored(_, Ok(shots)) => {
                // A photo that arrived meanwhile (the panoramic, taken as capture started)
                // stays: the stored list may have been read before it was stored.
                let arrived = std::mem::replace(&mut self.shots, shots);
                for shot in arrived {
                    self.add_shot(shot);
                }
                let panoramic_missing =
                    self.panoramic_error.is_some() && self.shot_of(PhotoKind::Panoramic).is_none();
                if panoramic_missing {
                    // Why the panoramic photo is missing stays in sight (§7 a).
                    self.show_panoramic();
                } else if let Some(next) = self.next_missing() {
                    self.current = next;
                }
            }
            Message::Restored(_, Err(e)) => self.error = Some(e),
            Message::Corrected(_, Err(e)) => {
                self.busy = false;
                self.error = Some(e);
            }
            Message::PreviewTick => {
                let id = self.row.id;
                let bay = work(
                    kiosk,
                    "bay-presence",
                    move |k| Ok(k.bay_presence(id)),
                    move |r: Result<Option<Presence>, Failure>| {
                        Message::BayChecked(id, r.ok().flatten())
                    },
                );
                return (Task::batch([self.request_preview(kiosk), bay]), None);
            }
            Message::BayChecked(_, presence) => self.bay_empty = presence == Some(Presence::Absent),
            Message::Preview(_, result) => {
                self.preview_in_flight = false;
                match result {
                    Ok(t) => {
                        self.preview = Some(Handle::from_rgba(t.width, t.height, t.rgba));
                        self.preview_error = None;
                    }
                    Err(e) => self.preview_error = Some(e),
                }
            }
            Message::Select(i) => {
                self.current = i.min(self.row.required.len().saturating_sub(1));
                self.retake_reason = None;
            }
            Message::Capture | Message::CaptureBorescope => {
                let device = match message {
                    Message::CaptureBorescope => PhotoDevice::Borescope,
                    _ => PhotoDevice::Camera,
                };
                if let Some(kind) = self.kind() {
                    if kind.is_automatic() {
                        return (self.retake_panoramic(kiosk), None);
                    }
                    let reason = self.retake_reason.clone();
                    if self.shot_of(kind).is_some() && reason.is_none() {
                        self.retake_reason = Some(String::new());
                        return (Task::none(), None);
                    }
                    return (self.capture(kiosk, kind, reason, None, device), None);
                }
            }
            Message::CaptureAdditional => {
                let task = self.capture(
                    kiosk,
                    PhotoKind::Additional,
                    None,
                    None,
                    PhotoDevice::Camera,
                );
                return (task, None);
            }
            Message::CaptureDisassembled => {
                let reason = Some(AdditionalReason::EngineDisassembled);
                let task = self.capture(
                    kiosk,
                    PhotoKind::Additional,
                    None,
                    reason,
                    PhotoDevice::Camera,
                );
                return (task, None);
            }
            Message::RetakePanoramic => return (self.retake_panoramic(kiosk), None),
            Message::Panoramic(_, result) => {
                self.panoramic_busy = false;
                match result {
                    Ok(shot) => {
                        self.panoramic_error = None;
                        self.add_shot(shot);
                        if let Some(next) = self.next_missing() {
                            self.current = next;
                        }
                    }
                    Err(e) => self.panoramic_error = Some(e),
                }
            }
            Message::Retake => self.retake_reason = Some(String::new()),
            Message::RetakeReasonChanged(s) => self.retake_reason = Some(s),
            Message::RetakeCancelled => self.retake_reason = None,
            Message::Captured(_, result) => {
                self.capturing = false;
                match result {
                    Ok(shot) => {
                        self.notice = shot.reuse_warning.clone();
                        if shot.kind == PhotoKind::RearWithPlate {
                            // A new rear photo is read again; an earlier correction was for
                            // the earlier photo.
                            self.corrected = false;
                        }
                        let kind = shot.kind;
                        self.shots.push(shot);
                        self.retake_reason = None;
                        self.error = None;
                        // Move on to the next photo still missing, unless the plate needs §6.
                        if kind != PhotoKind::Additional
                            && self.pending_correction().is_none()
                            && let Some(next) = self.next_missing()
                        {
                            self.current = next;
                        }
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Message::CorrectionPlate(s) => self.correction.plate = s.to_uppercase(),
            Message::CorrectionRenavam(s) => self.correction.renavam = s,
            Message::CorrectionReason(s) => self.correction.reason = s,
            Message::SubmitCorrection => {
                let Some(shot) = self.pending_correction() else {
                    return (Task::none(), None);
                };
                let (session, id, media) =
                    (self.session.clone(), self.row.id, shot.media_id.clone());
                let form = self.correction.clone();
                self.busy = true;
                return (
                    work(
                        kiosk,
                        "plate-correction",
                        move |k| {
                            k.correct_plate(
                                &session,
                                id,
                                &media,
                                &form.plate,
                                &form.renavam,
                                &form.reason,
                            )
                        },
                        move |r| Message::Corrected(id, r),
                    ),
                    None,
                );
            }
            Message::Corrected(_, Ok(())) => {
                self.busy = false;
                self.corrected = true;
                self.error = None;
                self.notice =
                    Some("Correção registrada com a foto e a leitura original (§6)".into());
                if let Some(next) = self.missing_photos().first() {
                    self.current = self
                        .row
                        .required
                        .iter()
                        .position(|k| k == next)
                        .unwrap_or(0);
                }
            }
            Message::Go(step) => {
                if step != Step::Photos && self.pending_correction().is_some() {
                    self.error = Some(Failure::rule(
                        "A placa lida não confere com a digitada: registre a correção (§6) antes de seguir",
                    ));
                } else {
                    self.step = step;
                    self.error = None;
                }
            }
            Message::Conforming(item) => {
                self.pending_non_conforming = None;
                return (self.record(kiosk, item, Condition::Conforming, None), None);
            }
            Message::NonConforming(item) => {
                let note = self
                    .row
                    .checklist
                    .iter()
                    .find(|(i, _, _)| *i == item)
                    .and_then(|(_, _, n)| n.clone())
                    .unwrap_or_default();
                self.pending_non_conforming = Some((item, note));
            }
            Message::NoteChanged(s) => {
                if let Some((_, note)) = &mut self.pending_non_conforming {
                    *note = s;
                }
            }
            Message::ConfirmNonConforming => {
                if let Some((item, note)) = self.pending_non_conforming.take() {
                    return (
                        self.record(kiosk, item, Condition::NonConforming, Some(note)),
                        None,
                    );
                }
            }
            Message::ItemRecorded(_, result) => {
                self.saving = false;
                match result {
                    Ok(row) => {
                        self.row = row;
                        self.error = None;
                    }
                    Err(e) => {
                        self.error = Some(e);
                        self.unsaved.clear();
                    }
                }
                return (self.save_next(kiosk), None);
            }
            Message::Conclude => {
                self.busy = true;
                let (s, id) = (self.session.clone(), self.row.id);
                return (
                    work(
                        kiosk,
                        "conclude",
                        move |k| k.conclude(&s, id),
                        move |r| Message::Ended(id, r),
                    ),
                    None,
                );
            }
            Message::CauseChosen(c) => self.cause = Some(c),
            Message::InterruptionNoteChanged(s) => self.interruption_note = s,
            Message::Interrupt => {
                let Some(cause) = self.cause else {
                    self.error = Some(Failure::rule("Escolha o motivo da interrupção"));
                    return (Task::none(), None);
                };
                self.busy = true;
                let (s, id, note) = (
                    self.session.clone(),
                    self.row.id,
                    self.interruption_note.clone(),
                );
                return (
                    work(
                        kiosk,
                        "interrupt",
                        move |k| k.interrupt(&s, id, cause, &note),
                        move |r| Message::Ended(id, r),
                    ),
                    None,
                );
            }
            Message::Ended(_, result) => {
                self.busy = false;
                match result {
                    Ok(row) => {
                        let event = if row.state == StateKind::Concluded {
                            Event::Concluded(row.clone())
                        } else {
                            Event::Interrupted(row.clone())
                        };
                        self.row = row;
                        return (Task::none(), Some(event));
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Message::DismissError => self.error = None,
        }
        (Task::none(), None)
    }

    fn request_preview(&mut self, kiosk: &Station) -> Task<Message> {
        if self.preview_in_flight || self.capturing || self.step != Step::Photos {
            return Task::none();
        }
        self.preview_in_flight = true;
        let plate = vistoria_core::domain::Plate::parse(&self.row.plate).ok();
        let (id, kind) = (self.row.id, self.kind());
        work(
            kiosk,
            "preview",
            move |k| k.preview(plate, kind),
            move |r| Message::Preview(id, r),
        )
    }

    fn capture(
        &mut self,
        kiosk: &Station,
        kind: PhotoKind,
        retake_reason: Option<String>,
        reason: Option<AdditionalReason>,
        device: PhotoDevice,
    ) -> Task<Message> {
        if self.capturing {
            return Task::none();
        }
        self.capturing = true;
        self.error = None;
        self.notice = None;
        let (s, id) = (self.session.clone(), self.row.id);
        work(
            kiosk,
            "capture",
            move |k| {
                let request = PhotoRequest {
                    kind,
                    retake_reason: retake_reason.as_deref(),
                    reason,
                    device,
                };
                k.take_photo(&s, id, request)
            },
            move |r| Message::Captured(id, r),
        )
    }

    /// Asks the station for the panoramic photo again (§7 a).
    fn retake_panoramic(&mut self, kiosk: &Station) -> Task<Message> {
        if self.panoramic_busy || self.shot_of(PhotoKind::Panoramic).is_some() {
            return Task::none();
        }
        self.panoramic_busy = true;
        let (s, id) = (self.session.clone(), self.row.id);
        work(
            kiosk,
            "panoramic",
            move |k| k.take_panoramic(&s, id),
            move |r| Message::Panoramic(id, r),
        )
    }

    /// Shows the panoramic step (its photo is missing and says why).
    fn show_panoramic(&mut self) {
        if let Some(i) = self.row.required.iter().position(|k| k.is_automatic()) {
            self.current = i;
            self.retake_reason = None;
        }
    }

    fn record(
        &mut self,
        kiosk: &Station,
        item: ChecklistItem,
        condition: Condition,
        note: Option<String>,
    ) -> Task<Message> {
        self.unsaved.push_back((item, condition, note));
        self.save_next(kiosk)
    }

    fn save_next(&mut self, kiosk: &Station) -> Task<Message> {
        if self.saving {
            return Task::none();
        }
        let Some((item, condition, note)) = self.unsaved.pop_front() else {
            return Task::none();
        };
        self.saving = true;
        let (s, id) = (self.session.clone(), self.row.id);
        work(
            kiosk,
            "checklist",
            move |k| k.set_item(&s, id, item, condition, note),
            move |r| Message::ItemRecorded(id, r),
        )
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let steps = row![
            widget::toggle(
                "1. Fotos",
                self.step == Step::Photos,
                Message::Go(Step::Photos)
            ),
            widget::toggle(
                "2. Checklist",
                self.step == Step::Checklist,
                Message::Go(Step::Checklist)
            ),
            widget::toggle(
                "3. Conclusão",
                self.step == Step::Conclusion,
                Message::Go(Step::Conclusion)
            ),
        ]
        .spacing(8);
        let header = row![
            column![
                widget::title(format!("Vistoria {}", self.row.plate)),
                widget::muted(format!(
                    "{} · {} · {} · prazo {}",
                    self.row.vehicle,
                    self.row.data.class.label_pt(),
                    self.row.state.label_pt(),
                    widget::local(self.row.deadline)
                )),
            ]
            .width(Length::Fill),
            steps,
        ]
        .spacing(16)
        .align_y(iced::Alignment::Center);
        let mut body = column![header].spacing(14);
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(
                e.to_string(),
                vec![widget::secondary("Fechar", Some(Message::DismissError))],
            ));
        }
        if let Some(n) = &self.notice {
            body = body.push(widget::notice(n));
        }
        let content = match self.step {
            Step::Photos => photos::view(self),
            Step::Checklist => checklist::view(self),
            Step::Conclusion => checklist::conclusion(self),
        };
        container(body.push(content)).padding(20).into()
    }

    fn notes(&self) -> HashMap<ChecklistItem, &str> {
        self.row
            .checklist
            .iter()
            .filter_map(|(i, _, n)| n.as_deref().map(|n| (*i, n)))
            .collect()
    }
}
