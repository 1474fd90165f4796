//! The service's stages as a transition table (seed 004: intake → execution → closing with
//! feedback to the requester). Pure: a ticket and an action in, the changed ticket or the reason
//! it is refused out. The service and the GLPI sync both go through [`apply`], whoever asks.

use chrono::{DateTime, Utc};

use crate::model::{Status, Ticket};

/// Something that happens to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A technician takes the ticket (only if nobody else has it).
    Assign {
        /// Login.
        technician: String,
    },
    /// An administrator gives the ticket to someone, even if another technician has it (seed
    /// 003: "atender os chamados que já estão em atendimento por outra pessoa").
    TakeOver {
        /// Login of the new technician.
        technician: String,
    },
    /// The team writes to the requester. `technician` is `None` for a followup made in GLPI.
    TeamMessage {
        /// Login, or `None` from GLPI.
        technician: Option<String>,
    },
    /// The requester writes.
    RequesterMessage,
    /// The team gives a solution; the requester's feedback will be asked.
    Solve {
        /// Login, or `None` from GLPI.
        technician: Option<String>,
    },
    /// The requester accepts the solution, with a rating.
    Accept {
        /// 1 to 5.
        rating: Option<u8>,
        /// Comment.
        comment: Option<String>,
    },
    /// The requester refuses the solution: back to execution.
    Refuse,
    /// Closed without the requester (by an administrator, or in GLPI).
    Close,
    /// The feedback request reached the requester.
    FeedbackAsked,
    /// The confirmation with the number reached the requester.
    Confirmed,
    /// GLPI created it with this id.
    GlpiLinked {
        /// GLPI's ticket id.
        glpi_id: i64,
    },
    /// GLPI shows this status (1–6).
    GlpiStatus {
        /// GLPI's status value.
        status: i64,
    },
}

/// Why an action was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The ticket is closed.
    #[error("o chamado {0} está fechado; abra um novo chamado")]
    Closed(String),
    /// Another technician has the ticket.
    #[error("o chamado está com {0}; só um administrador pode assumi-lo")]
    AssignedToOther(String),
    /// Feedback asked of a ticket that has no solution.
    #[error("o chamado {0} não tem solução aguardando a avaliação do solicitante")]
    NotSolved(String),
    /// The action does not fit the ticket's state.
    #[error("o chamado {0} está {1}: ação não permitida")]
    NotAllowed(String, &'static str),
    /// Rating out of range.
    #[error("a avaliação vai de 1 a 5")]
    InvalidRating,
    /// GLPI already has this ticket under another id (never created twice).
    #[error("o chamado já está no GLPI com o número {0}")]
    AlreadyLinked(i64),
}

/// Applies `action` at `now` to a copy of `ticket`.
pub fn apply(
    ticket: &Ticket,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<Ticket, TransitionError> {
    let mut t = ticket.clone();
    let reference = t.id.reference();
    let closed = || TransitionError::Closed(reference.clone());
    match action {
        Action::Assign { technician } => {
            if t.status == Status::Closed {
                return Err(closed());
            }
            if t.status == Status::Solved {
                return Err(TransitionError::NotAllowed(reference, t.status.label_pt()));
            }
            check_owner(&t, Some(technician))?;
            assign(&mut t, technician, now);
        }
        Action::TakeOver { technician } => {
            if t.status == Status::Closed {
                return Err(closed());
            }
            t.technician = Some(technician.clone());
            if t.status == Status::New {
                t.status = Status::Assigned;
            }
            t.assigned_at.get_or_insert(now);
        }
        Action::TeamMessage { technician } => {
            if t.status == Status::Closed {
                return Err(closed());
            }
            check_owner(&t, technician.as_ref())?;
            if let Some(login) = technician
                && t.status == Status::New
            {
                assign(&mut t, login, now);
            }
            t.first_answer_at.get_or_insert(now);
        }
        Action::RequesterMessage => {
            if t.status == Status::Closed {
                return Err(closed());
            }
        }
        Action::Solve { technician } => {
            if t.status == Status::Closed {
                return Err(closed());
            }
            if t.status == Status::Solved {
                return Err(TransitionError::NotAllowed(reference, t.status.label_pt()));
            }
            check_owner(&t, technician.as_ref())?;
            if let Some(login) = technician
                && t.technician.is_none()
            {
                t.technician = Some(login.clone());
            }
            t.assigned_at.get_or_insert(now);
            t.first_answer_at.get_or_insert(now);
            t.status = Status::Solved;
            t.solved_at = Some(now);
            t.feedback_asked_at = None;
        }
        Action::Accept { rating, comment } => {
            if t.status != Status::Solved {
                return Err(TransitionError::NotSolved(reference));
            }
            if let Some(r) = rating
                && !(1..=5).contains(r)
            {
                return Err(TransitionError::InvalidRating);
            }
            t.status = Status::Closed;
            t.closed_at = Some(now);
            t.rating = *rating;
            t.rating_comment = comment.clone();
        }
        Action::Refuse => {
            if t.status != Status::Solved {
                return Err(TransitionError::NotSolved(reference));
            }
            t.status = Status::Assigned;
            t.reopened += 1;
            t.solved_at = None;
            t.feedback_asked_at = None;
        }
        Action::Close => {
            if t.status == Status::Closed {
                return Err(closed());
            }
            t.status = Status::Closed;
            t.closed_at = Some(now);
        }
        Action::FeedbackAsked => {
            if t.status == Status::Solved {
                t.feedback_asked_at.get_or_insert(now);
            }
        }
        Action::Confirmed => {
            t.confirmed_at.get_or_insert(now);
        }
        Action::GlpiLinked { glpi_id } => match t.glpi_id {
            Some(existing) if existing != *glpi_id => {
                return Err(TransitionError::AlreadyLinked(existing));
            }
            _ => t.glpi_id = Some(*glpi_id),
        },
        Action::GlpiStatus { status } => {
            t.glpi_status = Some(*status);
            if let Some(theirs) = Status::from_glpi(*status) {
                reflect_glpi_status(&mut t, theirs, now);
            }
        }
    }
    t.version = ticket.version;
    Ok(t)
}

/// Brings our status to what GLPI shows, for changes made there. A solution is reflected by the
/// sync together with its text (see `sync`), so "solved" alone only marks the stage.
fn reflect_glpi_status(t: &mut Ticket, theirs: Status, now: DateTime<Utc>) {
    match (t.status, theirs) {
        (Status::New, Status::Assigned) => {
            t.status = Status::Assigned;
            t.assigned_at.get_or_insert(now);
        }
        (Status::Solved, Status::Assigned | Status::New) => {
            // Reopened in GLPI.
            t.status = Status::Assigned;
            t.solved_at = None;
            t.feedback_asked_at = None;
        }
        (Status::New | Status::Assigned, Status::Solved) => {
            t.status = Status::Solved;
            t.assigned_at.get_or_insert(now);
            t.first_answer_at.get_or_insert(now);
            t.solved_at = Some(now);
        }
        (Status::New | Status::Assigned | Status::Solved, Status::Closed) => {
            t.status = Status::Closed;
            t.closed_at = Some(now);
        }
        _ => {}
    }
}

fn check_owner(t: &Ticket, who: Option<&String>) -> Result<(), TransitionError> {
    match (&t.technician, who) {
        (Some(owner), Some(who)) if owner != who => {
            Err(TransitionError::AssignedToOther(owner.clone()))
        }
        _ => Ok(()),
    }
}

fn assign(t: &mut Ticket, technician: &str, now: DateTime<Utc>) {
    t.technician = Some(technician.to_owned());
    if t.status == Status::New {
        t.status = Status::Assigned;
    }
    t.assigned_at.get_or_insert(now);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{Channel, ContactId, TicketId, TicketKind};

    fn ticket() -> Ticket {
        Ticket {
            id: TicketId(7),
            version: 3,
            channel: Channel::Kiosk,
            contact_id: ContactId(1),
            station: Some("ECV-01".into()),
            category: "camera".into(),
            title: "Câmera".into(),
            description: "Não liga".into(),
            urgency: 3,
            kind: TicketKind::Incident,
            status: Status::New,
            technician: None,
            created_at: at(8, 0),
            confirmed_at: None,
            assigned_at: None,
            first_answer_at: None,
            solved_at: None,
            feedback_asked_at: None,
            closed_at: None,
            rating: None,
            rating_comment: None,
            reopened: 0,
            glpi_id: None,
            glpi_status: None,
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn a_whole_life_keeps_each_stage_time() {
        let t = ticket();
        assert_eq!(t.stage(), crate::model::Stage::Intake);
        let t = apply(&t, &Action::Confirmed, at(8, 1)).unwrap();
        let t = apply(
            &t,
            &Action::TeamMessage {
                technician: Some("ana".into()),
            },
            at(8, 10),
        )
        .unwrap();
        assert_eq!(
            t.status,
            Status::Assigned,
            "the first answer takes the ticket"
        );
        assert_eq!(t.technician.as_deref(), Some("ana"));
        assert_eq!(t.first_answer_at, Some(at(8, 10)));
        assert_eq!(t.stage(), crate::model::Stage::Execution);
        let t = apply(
            &t,
            &Action::Solve {
                technician: Some("ana".into()),
            },
            at(9, 0),
        )
        .unwrap();
        assert_eq!(t.stage(), crate::model::Stage::Closing);
        let t = apply(&t, &Action::FeedbackAsked, at(9, 1)).unwrap();
        let t = apply(&t, &Action::Refuse, at(9, 30)).unwrap();
        assert_eq!(
            (t.status, t.reopened, t.solved_at),
            (Status::Assigned, 1, None)
        );
        let t = apply(
            &t,
            &Action::Solve {
                technician: Some("ana".into()),
            },
            at(10, 0),
        )
        .unwrap();
        let t = apply(
            &t,
            &Action::Accept {
                rating: Some(5),
                comment: None,
            },
            at(10, 5),
        )
        .unwrap();
        assert_eq!(t.status, Status::Closed);
        assert_eq!(
            (
                t.confirmed_at,
                t.assigned_at,
                t.solved_at,
                t.closed_at,
                t.rating
            ),
            (
                Some(at(8, 1)),
                Some(at(8, 10)),
                Some(at(10, 0)),
                Some(at(10, 5)),
                Some(5)
            )
        );
        assert_eq!(t.version, 3, "the store bumps the version, not the rules");
    }

    #[test]
    fn another_technicians_ticket_needs_an_administrator() {
        let t = apply(
            &ticket(),
            &Action::Assign {
                technician: "ana".into(),
            },
            at(8, 0),
        )
        .unwrap();
        let e = apply(
            &t,
            &Action::Assign {
                technician: "bruno".into(),
            },
            at(8, 1),
        )
        .unwrap_err();
        assert_eq!(e, TransitionError::AssignedToOther("ana".into()));
        let e = apply(
            &t,
            &Action::TeamMessage {
                technician: Some("bruno".into()),
            },
            at(8, 1),
        );
        assert!(e.is_err());
        let t = apply(
            &t,
            &Action::TakeOver {
                technician: "bruno".into(),
            },
            at(8, 2),
        )
        .unwrap();
        assert_eq!(t.technician.as_deref(), Some("bruno"));
        assert_eq!(t.assigned_at, Some(at(8, 0)), "first assignment time kept");
    }

    #[test]
    fn closed_tickets_take_nothing_and_feedback_needs_a_solution() {
        let t = ticket();
        assert_eq!(
            apply(
                &t,
                &Action::Accept {
                    rating: Some(4),
                    comment: None
                },
                at(9, 0)
            ),
            Err(TransitionError::NotSolved("VST-000007".into()))
        );
        let t = apply(&t, &Action::Close, at(9, 0)).unwrap();
        assert!(matches!(
            apply(&t, &Action::RequesterMessage, at(9, 1)),
            Err(TransitionError::Closed(_))
        ));
        let s = apply(&ticket(), &Action::Solve { technician: None }, at(9, 0)).unwrap();
        assert_eq!(
            apply(
                &s,
                &Action::Accept {
                    rating: Some(6),
                    comment: None
                },
                at(9, 1)
            ),
            Err(TransitionError::InvalidRating)
        );
    }

    #[test]
    fn glpi_id_is_kept_once() {
        let t = apply(&ticket(), &Action::GlpiLinked { glpi_id: 40 }, at(8, 0)).unwrap();
        assert_eq!(
            apply(&t, &Action::GlpiLinked { glpi_id: 40 }, at(8, 1))
                .unwrap()
                .glpi_id,
            Some(40)
        );
        assert_eq!(
            apply(&t, &Action::GlpiLinked { glpi_id: 41 }, at(8, 1)),
            Err(TransitionError::AlreadyLinked(40))
        );
    }

    #[test]
    fn glpi_status_changes_are_reflected() {
        let t = apply(&ticket(), &Action::GlpiStatus { status: 3 }, at(8, 0)).unwrap();
        assert_eq!((t.status, t.glpi_status), (Status::Assigned, Some(3)));
        let t = apply(&t, &Action::GlpiStatus { status: 5 }, at(9, 0)).unwrap();
        assert_eq!((t.status, t.solved_at), (Status::Solved, Some(at(9, 0))));
        let t = apply(&t, &Action::GlpiStatus { status: 2 }, at(9, 30)).unwrap();
        assert_eq!(t.status, Status::Assigned, "reopened in GLPI");
        let t = apply(&t, &Action::GlpiStatus { status: 6 }, at(10, 0)).unwrap();
        assert_eq!((t.status, t.closed_at), (Status::Closed, Some(at(10, 0))));
    }
}
