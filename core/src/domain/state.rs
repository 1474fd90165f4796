//! The states of an inspection, the events that move it and the transition table, with the
//! errors an event can meet. [`super::inspection::Inspection`] applies them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::checklist::{ChecklistError, ChecklistItem};
use super::outcome::{Interruption, InterruptionCause, Outcome, Receipt, SignatureInfo, Verdict};

/// The kind of a [`State`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// Vehicle queried, waiting for the inspector.
    Opened,
    /// Photos and checklist being taken.
    Capturing,
    /// Verdict given, waiting for the signature.
    Concluded,
    /// Interrupted with a cause.
    Interrupted,
    /// Signed by the inspector.
    Signed,
    /// In the outbox, waiting for the central.
    Queued,
    /// Acknowledged by the central.
    Delivered,
}

impl StateKind {
    /// Every state, in the order an inspection goes through them.
    pub const ALL: [StateKind; 7] = [
        StateKind::Opened,
        StateKind::Capturing,
        StateKind::Concluded,
        StateKind::Interrupted,
        StateKind::Signed,
        StateKind::Queued,
        StateKind::Delivered,
    ];

    /// Stable snake_case name, also the serde name.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::Opened => "opened",
            StateKind::Capturing => "capturing",
            StateKind::Concluded => "concluded",
            StateKind::Interrupted => "interrupted",
            StateKind::Signed => "signed",
            StateKind::Queued => "queued",
            StateKind::Delivered => "delivered",
        }
    }

    /// How users read it after "a vistoria está …".
    pub fn label_pt(self) -> &'static str {
        match self {
            StateKind::Opened => "aberta",
            StateKind::Capturing => "em captura",
            StateKind::Concluded => "concluída e aguardando assinatura",
            StateKind::Interrupted => "interrompida",
            StateKind::Signed => "assinada",
            StateKind::Queued => "na fila de envio",
            StateKind::Delivered => "entregue à central",
        }
    }

    /// Open means not yet signed nor interrupted: the deadline and crash recovery apply.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            StateKind::Opened | StateKind::Capturing | StateKind::Concluded
        )
    }
}

/// The state of an inspection, with what it has accumulated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum State {
    /// See [`StateKind::Opened`].
    Opened,
    /// See [`StateKind::Capturing`].
    Capturing,
    /// See [`StateKind::Concluded`].
    Concluded(Verdict),
    /// See [`StateKind::Interrupted`].
    Interrupted(Interruption),
    /// See [`StateKind::Signed`].
    Signed {
        /// Verdict or interruption.
        outcome: Outcome,
        /// The inspector's signature.
        signature: SignatureInfo,
    },
    /// See [`StateKind::Queued`].
    Queued {
        /// Verdict or interruption.
        outcome: Outcome,
        /// `None` when the system closed an interruption without a signature.
        signature: Option<SignatureInfo>,
    },
    /// See [`StateKind::Delivered`].
    Delivered {
        /// Verdict or interruption.
        outcome: Outcome,
        /// `None` when the system closed an interruption without a signature.
        signature: Option<SignatureInfo>,
        /// The central's receipt.
        receipt: Receipt,
    },
}

impl State {
    /// Its kind.
    pub fn kind(&self) -> StateKind {
        match self {
            State::Opened => StateKind::Opened,
            State::Capturing => StateKind::Capturing,
            State::Concluded(_) => StateKind::Concluded,
            State::Interrupted(_) => StateKind::Interrupted,
            State::Signed { .. } => StateKind::Signed,
            State::Queued { .. } => StateKind::Queued,
            State::Delivered { .. } => StateKind::Delivered,
        }
    }

    /// The outcome, once there is one.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            State::Opened | State::Capturing => None,
            State::Concluded(verdict) => Some(Outcome::Verdict(verdict.clone())),
            State::Interrupted(interruption) => Some(Outcome::Interrupted(interruption.clone())),
            State::Signed { outcome, .. }
            | State::Queued { outcome, .. }
            | State::Delivered { outcome, .. } => Some(outcome.clone()),
        }
    }
}

/// What can happen to an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The inspector starts photos and checklist.
    StartCapture,
    /// A checklist item is recorded (not a transition).
    RecordItem,
    /// The inspector gives the verdict.
    Conclude,
    /// Someone interrupts, with a cause.
    Interrupt,
    /// The system finds the deadline passed.
    ExpireDeadline,
    /// The system restarts after a crash.
    RecoverAfterCrash,
    /// The inspector signs.
    Sign,
    /// The package enters the outbox.
    Queue,
    /// The central acknowledges.
    Deliver,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 9] = [
        Event::StartCapture,
        Event::RecordItem,
        Event::Conclude,
        Event::Interrupt,
        Event::ExpireDeadline,
        Event::RecoverAfterCrash,
        Event::Sign,
        Event::Queue,
        Event::Deliver,
    ];

    /// The action in the infinitive, for "não é possível …".
    pub fn label_pt(self) -> &'static str {
        match self {
            Event::StartCapture => "iniciar a captura",
            Event::RecordItem => "registrar item do checklist",
            Event::Conclude => "concluir a vistoria",
            Event::Interrupt => "interromper a vistoria",
            Event::ExpireDeadline => "encerrar por prazo esgotado",
            Event::RecoverAfterCrash => "recuperar após falha do sistema",
            Event::Sign => "assinar o laudo",
            Event::Queue => "colocar na fila de envio",
            Event::Deliver => "registrar a entrega à central",
        }
    }

    /// The state this event leads to from `from`, or `None` if it is not allowed there. This
    /// is the whole transition table; [`Event::RecordItem`] is the only self-loop.
    pub fn next(self, from: StateKind) -> Option<StateKind> {
        use StateKind as S;
        match (self, from) {
            (Event::StartCapture, S::Opened) => Some(S::Capturing),
            (Event::RecordItem, S::Capturing) => Some(S::Capturing),
            (Event::Conclude, S::Capturing) => Some(S::Concluded),
            (Event::Interrupt | Event::ExpireDeadline | Event::RecoverAfterCrash, from)
                if from.is_open() =>
            {
                Some(S::Interrupted)
            }
            (Event::Sign, S::Concluded | S::Interrupted) => Some(S::Signed),
            (Event::Queue, S::Signed | S::Interrupted) => Some(S::Queued),
            (Event::Deliver, S::Queued) => Some(S::Delivered),
            _ => None,
        }
    }

    /// Whether the event is bounded by the deadline (the inspector's work up to the signature).
    pub fn within_deadline(self) -> bool {
        matches!(
            self,
            Event::StartCapture
                | Event::RecordItem
                | Event::Conclude
                | Event::Interrupt
                | Event::Sign
        )
    }
}

/// One entry of the history: every state change, with the event and the central time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// State before.
    pub from: StateKind,
    /// State after.
    pub to: StateKind,
    /// What caused it.
    pub event: Event,
    /// Central time.
    pub at: DateTime<Utc>,
}

impl Transition {
    /// Whether it is in the transition table (and is a real change).
    pub fn is_legal(&self) -> bool {
        self.from != self.to && self.event.next(self.from) == Some(self.to)
    }
}

/// Why an event was refused. The inspection is left exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event does not apply in this state.
    #[error("não é possível {}: a vistoria está {}", event.label_pt(), state.label_pt())]
    NotAllowed {
        /// Current state.
        state: StateKind,
        /// Refused event.
        event: Event,
    },
    /// Past the 4 hours counted from the vehicle query (2b, §9).
    #[error("não é possível {}: o prazo de 4 horas desde a consulta do veículo terminou", event.label_pt())]
    DeadlineExpired {
        /// Refused event.
        event: Event,
        /// The deadline.
        deadline: DateTime<Utc>,
    },
    /// The given time is before the last recorded transition.
    #[error("horário inválido: anterior ao último registro da vistoria")]
    ClockWentBackwards {
        /// Last recorded time.
        last: DateTime<Utc>,
        /// Given time.
        at: DateTime<Utc>,
    },
    /// The checklist refused the entry.
    #[error(transparent)]
    Checklist(#[from] ChecklistError),
    /// Concluding before every applicable item was recorded (§13).
    #[error("checklist incompleto; falta registrar: {}", labels(missing))]
    ChecklistIncomplete {
        /// Items still missing.
        missing: Vec<ChecklistItem>,
    },
    /// A conforming verdict with non-conforming items in the checklist.
    #[error(
        "o resultado não pode ser conforme: há itens não conformes ({})",
        labels(items)
    )]
    HasNonConforming {
        /// The non-conforming items.
        items: Vec<ChecklistItem>,
    },
    /// A non-conforming verdict whose items are not the checklist's non-conforming ones.
    #[error(
        "os itens do resultado não conforme devem ser os não conformes do checklist ({})",
        labels(expected)
    )]
    VerdictMismatch {
        /// The checklist's non-conforming items (empty if there are none).
        expected: Vec<ChecklistItem>,
    },
    /// The cause requires a note.
    #[error("descreva o motivo da interrupção")]
    NoteRequired,
    /// A cause only the system records.
    #[error("a causa «{}» é registrada automaticamente pelo sistema", cause.label_pt())]
    SystemOnlyCause {
        /// The cause.
        cause: InterruptionCause,
    },
    /// A signature without a signer.
    #[error("identifique o vistoriador que assina o laudo")]
    MissingSigner,
    /// A receipt without a laudo number.
    #[error("o recibo da central não informa o número do laudo")]
    MissingLaudoNumber,
}

fn labels(items: &[ChecklistItem]) -> String {
    if items.is_empty() {
        return "nenhum".to_owned();
    }
    items
        .iter()
        .map(|item| item.label_pt())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [StateKind; 7] = StateKind::ALL;

    #[test]
    fn every_state_reaches_delivered_in_the_table() {
        for start in KINDS {
            let mut reached = vec![start];
            let mut frontier = vec![start];
            while let Some(kind) = frontier.pop() {
                for event in Event::ALL {
                    if let Some(next) = event.next(kind).filter(|next| !reached.contains(next)) {
                        reached.push(next);
                        frontier.push(next);
                    }
                }
            }
            assert!(
                reached.contains(&StateKind::Delivered),
                "{start:?} is stuck"
            );
        }
        assert!(
            Event::ALL
                .iter()
                .all(|e| e.next(StateKind::Delivered).is_none())
        );
    }

    #[test]
    fn closed_states_never_reopen() {
        for from in KINDS.into_iter().filter(|k| !k.is_open()) {
            for event in Event::ALL {
                assert!(
                    !event.next(from).is_some_and(StateKind::is_open),
                    "{from:?} {event:?}"
                );
            }
        }
    }

    #[test]
    fn names_and_messages() {
        let names: Vec<_> = KINDS.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "opened",
                "capturing",
                "concluded",
                "interrupted",
                "signed",
                "queued",
                "delivered"
            ]
        );
        let err = TransitionError::NotAllowed {
            state: StateKind::Delivered,
            event: Event::Sign,
        };
        assert_eq!(
            err.to_string(),
            "não é possível assinar o laudo: a vistoria está entregue à central"
        );
        assert_eq!(labels(&[]), "nenhum");
    }
}
