//! The inspection as an explicit state machine.
//!
//! ```text
//! from                           event                                        to
//! Opened                         start_capture                                Capturing
//! Capturing                      record_item (checklist; not a transition)    Capturing
//! Capturing                      conclude(verdict)                            Concluded(verdict)
//! Opened, Capturing, Concluded   interrupt(cause), check_deadline (passed),   Interrupted(cause)
//!                                recover_after_crash
//! Concluded, Interrupted         sign(signature)                              Signed
//! Signed, Interrupted            queue                                        Queued
//! Queued                         deliver(receipt)                             Delivered
//! ```
//!
//! - Opened: the vehicle query was answered; the deadline is query time + 4 h (2b, §9).
//! - Interrupted may be signed by the inspector or closed by the system without a signature
//!   (queued directly): §12 requires every started inspection to reach the central, and an
//!   interruption by crash or deadline may have no inspector left to sign it.
//! - Until the signature (Opened, Capturing, Concluded) the inspection is *open*. §4 treats the
//!   biometric signature as the end of the procedure, so the 4-hour deadline and crash
//!   recovery also cover Concluded: the unsigned verdict is kept in the interruption.
//! - Every event takes the central time (2d); a time earlier than the last transition is
//!   refused. The inspector's events (start_capture, record_item, conclude, interrupt, sign)
//!   are refused past the deadline, and the caller then runs [`Inspection::check_deadline`];
//!   queue and deliver are not bounded by it, since the system keeps trying (§12).
//! - The outcome (verdict or interruption) stays visible in every later state.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::checklist::{Checklist, ChecklistItem, Condition};
use super::identity::{InspectionId, VehicleData, VehicleIdentity};
use super::outcome::{Interruption, InterruptionCause, Outcome, Receipt, SignatureInfo, Verdict};
use super::state::{Event, State, StateKind, Transition, TransitionError};
use super::vehicle::{PhotoKind, Site};

/// Time allowed from the vehicle query to the end of the inspection (2b, §9).
pub const COMPLETION_WINDOW: TimeDelta = TimeDelta::hours(4);

/// A stored inspection that breaks the state machine's invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vistoria armazenada inconsistente: {0}")]
pub struct InvalidInspection(&'static str);

/// One vehicle inspection, from the vehicle query to the central's receipt.
///
/// Fields are private: the only way to change an inspection is through its events, which
/// either apply a legal transition (recorded in the history) or fail and change nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "InspectionRepr")]
pub struct Inspection {
    id: InspectionId,
    query_id: Uuid,
    vehicle: VehicleIdentity,
    data: VehicleData,
    queried_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    checklist: Checklist,
    state: State,
    history: Vec<Transition>,
    /// Where it is made (§7 a); absent from inspections stored before it was recorded.
    #[serde(skip_serializing_if = "Site::is_default")]
    site: Site,
}

/// The stored form, validated into an [`Inspection`] on deserialize.
#[derive(Deserialize)]
struct InspectionRepr {
    id: InspectionId,
    query_id: Uuid,
    vehicle: VehicleIdentity,
    data: VehicleData,
    queried_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    checklist: Checklist,
    state: State,
    history: Vec<Transition>,
    #[serde(default)]
    site: Site,
}

impl TryFrom<InspectionRepr> for Inspection {
    type Error = InvalidInspection;

    fn try_from(r: InspectionRepr) -> Result<Self, Self::Error> {
        let inspection = Inspection {
            id: r.id,
            query_id: r.query_id,
            vehicle: r.vehicle,
            data: r.data,
            queried_at: r.queried_at,
            deadline: r.deadline,
            checklist: r.checklist,
            state: r.state,
            history: r.history,
            site: r.site,
        };
        inspection.validate()?;
        Ok(inspection)
    }
}

impl Inspection {
    /// A new inspection, opened when the central answered the vehicle query `query_id` at
    /// `queried_at` (§5; the 4 h window of §9 counts from it).
    pub fn open(
        query_id: Uuid,
        vehicle: VehicleIdentity,
        data: VehicleData,
        queried_at: DateTime<Utc>,
    ) -> Inspection {
        Inspection::open_with_id(InspectionId::new(), query_id, vehicle, data, queried_at)
    }

    /// Like [`Inspection::open`] with a given id.
    pub fn open_with_id(
        id: InspectionId,
        query_id: Uuid,
        vehicle: VehicleIdentity,
        data: VehicleData,
        queried_at: DateTime<Utc>,
    ) -> Inspection {
        Inspection {
            id,
            query_id,
            vehicle,
            checklist: Checklist::new(data.class),
            data,
            queried_at,
            deadline: queried_at + COMPLETION_WINDOW,
            state: State::Opened,
            history: Vec::new(),
            site: Site::default(),
        }
    }

    /// The same inspection, made at `site` (decided at its opening: the station films it or
    /// not).
    pub fn at_site(mut self, site: Site) -> Inspection {
        self.site = site;
        self
    }

    /// Where it is made (§7 a).
    pub fn site(&self) -> Site {
        self.site
    }

    /// The photos its class requires where it is made (§7), in §7 order.
    pub fn required_photos(&self) -> Vec<PhotoKind> {
        self.data.class.required_photos(self.site)
    }

    /// Its id.
    pub fn id(&self) -> InspectionId {
        self.id
    }

    /// The central's id of the vehicle query it was opened from (§5).
    pub fn query_id(&self) -> Uuid {
        self.query_id
    }

    /// The vehicle as identified at the counter.
    pub fn vehicle(&self) -> &VehicleIdentity {
        &self.vehicle
    }

    /// The vehicle as the central returned it.
    pub fn data(&self) -> &VehicleData {
        &self.data
    }

    /// Central time of the vehicle query.
    pub fn queried_at(&self) -> DateTime<Utc> {
        self.queried_at
    }

    /// Query time + 4 h (2b, §9).
    pub fn deadline(&self) -> DateTime<Utc> {
        self.deadline
    }

    /// The §13 checklist.
    pub fn checklist(&self) -> &Checklist {
        &self.checklist
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Every transition so far, oldest first.
    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    /// The kind of the current state.
    pub fn state_kind(&self) -> StateKind {
        self.state.kind()
    }

    /// Stable snake_case name of the current state ("opened" … "delivered").
    pub fn state_name(&self) -> &'static str {
        self.state.kind().name()
    }

    /// Not yet signed nor interrupted (see [`StateKind::is_open`]).
    pub fn is_open(&self) -> bool {
        self.state.kind().is_open()
    }

    /// Verdict or interruption, from conclusion on, in every later state.
    pub fn outcome(&self) -> Option<Outcome> {
        self.state.outcome()
    }

    /// The inspector's signature, once signed.
    pub fn signature(&self) -> Option<&SignatureInfo> {
        match &self.state {
            State::Signed { signature, .. } => Some(signature),
            State::Queued { signature, .. } | State::Delivered { signature, .. } => {
                signature.as_ref()
            }
            _ => None,
        }
    }

    /// The central's receipt, once delivered.
    pub fn receipt(&self) -> Option<&Receipt> {
        match &self.state {
            State::Delivered { receipt, .. } => Some(receipt),
            _ => None,
        }
    }

    /// Central time of the last transition, or of the query.
    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.history.last().map_or(self.queried_at, |t| t.at)
    }

    /// Events the current state allows, for the UI to offer (the deadline is not considered).
    pub fn allowed_events(&self) -> Vec<Event> {
        let kind = self.state.kind();
        Event::ALL
            .into_iter()
            .filter(|event| event.next(kind).is_some())
            .collect()
    }

    /// Opened → Capturing: the inspector takes over.
    pub fn start_capture(&mut self, at: DateTime<Utc>) -> Result<(), TransitionError> {
        self.check(Event::StartCapture, at)?;
        self.apply(Event::StartCapture, State::Capturing, at);
        Ok(())
    }

    /// Records a checklist item while capturing (§13). Not a transition.
    pub fn record_item(
        &mut self,
        item: ChecklistItem,
        condition: Condition,
        note: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.check(Event::RecordItem, at)?;
        self.checklist.set(item, condition, note)?;
        Ok(())
    }

    /// Capturing → Concluded. The checklist must be complete (§13). A conforming verdict needs
    /// no non-conforming item; a non-conforming one must list exactly the checklist's
    /// non-conforming items (§12), in any order: they are stored in checklist order.
    pub fn conclude(&mut self, verdict: Verdict, at: DateTime<Utc>) -> Result<(), TransitionError> {
        self.check(Event::Conclude, at)?;
        let missing = self.checklist.missing();
        if !missing.is_empty() {
            return Err(TransitionError::ChecklistIncomplete { missing });
        }
        let expected = self.checklist.non_conforming_items();
        let verdict = match verdict {
            Verdict::Conforming if expected.is_empty() => Verdict::Conforming,
            Verdict::Conforming => {
                return Err(TransitionError::HasNonConforming { items: expected });
            }
            Verdict::NonConforming { mut items } => {
                items.sort();
                items.dedup();
                if items.is_empty() || items != expected {
                    return Err(TransitionError::VerdictMismatch { expected });
                }
                Verdict::NonConforming { items }
            }
        };
        self.apply(Event::Conclude, State::Concluded(verdict), at);
        Ok(())
    }

    /// Opened, Capturing or Concluded → Interrupted with `cause` (§12). The note is trimmed;
    /// [`InterruptionCause::Other`] needs one, and [`InterruptionCause::DeadlineExpired`] is
    /// left to [`Inspection::check_deadline`].
    pub fn interrupt(
        &mut self,
        cause: InterruptionCause,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.check(Event::Interrupt, at)?;
        if cause.is_system_only() {
            return Err(TransitionError::SystemOnlyCause { cause });
        }
        let note = note.trim();
        if cause.requires_note() && note.is_empty() {
            return Err(TransitionError::NoteRequired);
        }
        self.apply_interruption(Event::Interrupt, cause, note.to_owned(), at);
        Ok(())
    }

    /// Concluded or Interrupted → Signed, at `signature.at`, before the deadline.
    pub fn sign(&mut self, signature: SignatureInfo) -> Result<(), TransitionError> {
        self.check(Event::Sign, signature.at)?;
        let signer = signature.signer.trim();
        if signer.is_empty() {
            return Err(TransitionError::MissingSigner);
        }
        let Some(outcome) = self.state.outcome() else {
            return Err(self.not_allowed(Event::Sign));
        };
        let signature = SignatureInfo {
            signer: signer.to_owned(),
            ..signature
        };
        let at = signature.at;
        self.apply(Event::Sign, State::Signed { outcome, signature }, at);
        Ok(())
    }

    /// Signed or Interrupted → Queued: into the outbox. From Interrupted this is the system
    /// closing the inspection without a signature. Not bounded by the deadline (§12: the
    /// system keeps trying).
    pub fn queue(&mut self, at: DateTime<Utc>) -> Result<(), TransitionError> {
        self.check(Event::Queue, at)?;
        let (outcome, signature) = match &self.state {
            State::Signed { outcome, signature } => (outcome.clone(), Some(signature.clone())),
            State::Interrupted(interruption) => (Outcome::Interrupted(interruption.clone()), None),
            _ => return Err(self.not_allowed(Event::Queue)),
        };
        self.apply(Event::Queue, State::Queued { outcome, signature }, at);
        Ok(())
    }

    /// Queued → Delivered, at `receipt.received_at`.
    pub fn deliver(&mut self, receipt: Receipt) -> Result<(), TransitionError> {
        let at = receipt.received_at;
        self.deliver_at(receipt, at)
    }

    /// Queued → Delivered, recorded at `at`: the kiosk's central-time estimate may run a few
    /// milliseconds ahead of the server's own receipt stamp, which is kept as it came.
    pub fn deliver_at(
        &mut self,
        receipt: Receipt,
        at: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.check(Event::Deliver, at)?;
        if receipt.laudo_number.trim().is_empty() {
            return Err(TransitionError::MissingLaudoNumber);
        }
        let State::Queued { outcome, signature } = &self.state else {
            return Err(self.not_allowed(Event::Deliver));
        };
        let receipt = Receipt {
            laudo_number: receipt.laudo_number.trim().to_owned(),
            ..receipt
        };
        let state = State::Delivered {
            outcome: outcome.clone(),
            signature: signature.clone(),
            receipt,
        };
        self.apply(Event::Deliver, state, at);
        Ok(())
    }

    /// If `now` is past the deadline and the inspection is still open, interrupts it with
    /// [`InterruptionCause::DeadlineExpired`]. Returns whether it changed.
    pub fn check_deadline(&mut self, now: DateTime<Utc>) -> bool {
        if !self.is_open() || now <= self.deadline {
            return false;
        }
        let at = now.max(self.last_event_at());
        let note = "prazo de 4 horas desde a consulta do veículo esgotado".to_owned();
        self.apply_interruption(
            Event::ExpireDeadline,
            InterruptionCause::DeadlineExpired,
            note,
            at,
        );
        true
    }

    /// After a kiosk restart: an open inspection lost its continuous filming (§4), so it is
    /// interrupted with [`InterruptionCause::SystemFailure`]. A time before the last record is
    /// raised to it, so recovery never fails. Returns whether it changed.
    pub fn recover_after_crash(&mut self, at: DateTime<Utc>) -> bool {
        if !self.is_open() {
            return false;
        }
        let at = at.max(self.last_event_at());
        let note = "vistoria interrompida por falha do sistema (reinício do quiosque)".to_owned();
        self.apply_interruption(
            Event::RecoverAfterCrash,
            InterruptionCause::SystemFailure,
            note,
            at,
        );
        true
    }

    fn not_allowed(&self, event: Event) -> TransitionError {
        TransitionError::NotAllowed {
            state: self.state.kind(),
            event,
        }
    }

    /// State, clock and deadline checks shared by the events.
    fn check(&self, event: Event, at: DateTime<Utc>) -> Result<(), TransitionError> {
        if event.next(self.state.kind()).is_none() {
            return Err(self.not_allowed(event));
        }
        let last = self.last_event_at();
        if at < last {
            return Err(TransitionError::ClockWentBackwards { last, at });
        }
        if event.within_deadline() && at > self.deadline {
            return Err(TransitionError::DeadlineExpired {
                event,
                deadline: self.deadline,
            });
        }
        Ok(())
    }

    fn apply_interruption(
        &mut self,
        event: Event,
        cause: InterruptionCause,
        note: String,
        at: DateTime<Utc>,
    ) {
        let unsigned_verdict = match &self.state {
            State::Concluded(verdict) => Some(verdict.clone()),
            _ => None,
        };
        let interruption = Interruption {
            cause,
            note,
            at,
            unsigned_verdict,
        };
        self.apply(event, State::Interrupted(interruption), at);
    }

    fn apply(&mut self, event: Event, to: State, at: DateTime<Utc>) {
        self.history.push(Transition {
            from: self.state.kind(),
            to: to.kind(),
            event,
            at,
        });
        self.state = to;
    }

    /// The invariants every reachable inspection satisfies.
    fn validate(&self) -> Result<(), InvalidInspection> {
        if self.checklist.class() != self.data.class {
            return Err(InvalidInspection("checklist de outra classe de veículo"));
        }
        if self.deadline < self.queried_at {
            return Err(InvalidInspection("prazo anterior à consulta"));
        }
        let mut kind = StateKind::Opened;
        let mut last = self.queried_at;
        for t in &self.history {
            if !t.is_legal() || t.from != kind || t.at < last {
                return Err(InvalidInspection("histórico de transições inválido"));
            }
            kind = t.to;
            last = t.at;
        }
        if kind != self.state.kind() {
            return Err(InvalidInspection("estado não corresponde ao histórico"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
