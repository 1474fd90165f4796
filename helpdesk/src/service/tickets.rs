//! Tickets opened from the kiosk or the console and their life: assignment, answers, solution,
//! the requester's feedback, closing.

use chrono::{DateTime, Utc};

use super::{Feedback, Helpdesk, OpenRequest, Role, ServiceError, Staff, invalid, title_from};
use crate::chatbot::texts::Texts;
use crate::chatbot::{self};
use crate::model::{
    Channel, JobKind, MediaRef, MessageKind, NewAttachment, NewMessage, NewOutbound, NewTicket,
    OutboundBody, Purpose, Side, Ticket, TicketId,
};
use crate::stages::{self, Action, TransitionError};
use crate::store::{Change, ClientRequest, TicketWrite};

impl Helpdesk {
    /// Opens a ticket from the kiosk or on behalf of a caller; the confirmation with its number
    /// goes to the requester's channel (intake).
    pub fn open_ticket(&self, req: OpenRequest) -> Result<Ticket, ServiceError> {
        self.open_ticket_for(req, None)
    }

    /// [`Helpdesk::open_ticket`], recording the client's request with the ticket.
    pub(super) fn open_ticket_for(
        &self,
        req: OpenRequest,
        request: Option<ClientRequest>,
    ) -> Result<Ticket, ServiceError> {
        if req.channel == Channel::WhatsApp {
            return Err(invalid(
                "canal",
                "chamados do WhatsApp são abertos pelo chatbot",
            ));
        }
        let category = self
            .category(&req.category)?
            .ok_or_else(|| invalid("categoria", "escolha um tipo de chamado da lista"))?;
        let description = req.description.trim();
        if description.chars().count() < 5 {
            return Err(invalid(
                "descrição",
                "descreva o problema (ao menos 5 caracteres)",
            ));
        }
        let contact = self
            .store
            .contact(req.contact_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("contato {}", req.contact_id.0)))?;
        let texts = self.texts()?;
        let station = req.station.clone().or(contact.station.clone());
        let new = NewTicket {
            channel: req.channel,
            contact_id: contact.id,
            station,
            category: category.key.clone(),
            title: req
                .title
                .clone()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                // GLPI's ticket name holds 255 characters, our reference included.
                .map(|t| {
                    if t.chars().count() > 200 {
                        t.chars().take(199).collect::<String>() + "…"
                    } else {
                        t
                    }
                })
                .unwrap_or_else(|| title_from(&category.title, description)),
            description: description.to_owned(),
            urgency: category.urgency,
            kind: category.kind,
        };
        let mut confirmation = texts.get("confirmacao").to_owned();
        let now = self.now();
        if !self.config.hours.is_open(now) {
            confirmation.push_str("\n\n");
            confirmation.push_str(&texts.render(
                "fora_do_horario",
                &[
                    ("horario", &self.config.hours.describe()),
                    ("retorno", &self.config.hours.describe_return(now)),
                ],
            ));
        }
        let messages = if req.attachments.is_empty() {
            Vec::new()
        } else {
            vec![NewMessage {
                kind: MessageKind::Followup,
                side: Side::Requester,
                author: contact.name.clone(),
                text: String::new(),
                glpi_id: None,
                attachments: req.attachments.clone(),
            }]
        };
        let change = Change {
            ticket: Some(TicketWrite::Open(new)),
            messages,
            outbound: vec![NewOutbound {
                contact_id: contact.id,
                channel: req.channel,
                purpose: Purpose::Confirmation,
                body: OutboundBody::text(confirmation),
                media: None,
            }],
            request,
            ..Change::default()
        };
        self.store
            .commit(&change, now)?
            .ticket
            .ok_or_else(|| ServiceError::NotFound("chamado aberto".into()))
    }

    fn staff_name(&self, login: &str, staff: &Staff) -> String {
        if login == staff.login {
            staff.name.clone()
        } else {
            login.to_owned()
        }
    }

    /// Gives a ticket to `to`: a technician takes free tickets for themselves; an administrator
    /// gives any ticket to anyone, even one another technician has.
    pub fn assign(&self, staff: &Staff, id: TicketId, to: &str) -> Result<Ticket, ServiceError> {
        if staff.role != Role::Administrator && to != staff.login {
            return Err(ServiceError::Forbidden(
                "um técnico só assume chamados para si".into(),
            ));
        }
        let texts = self.texts()?;
        let name = self.staff_name(to, staff);
        self.changed(id, |t, now| {
            let action = if staff.role == Role::Administrator {
                Action::TakeOver {
                    technician: to.to_owned(),
                }
            } else {
                Action::Assign {
                    technician: to.to_owned(),
                }
            };
            let next = stages::apply(t, &action, now)?;
            let mut outbound = Vec::new();
            if t.technician.as_deref() != Some(to) {
                let text = texts.render("em_atendimento", &[("tecnico", &name)]);
                outbound.push(Self::notify(t, Purpose::Notice, OutboundBody::text(text)));
            }
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                outbound,
                ..Change::default()
            })
        })
    }

    /// The technician on the ticket, or an administrator, may act on it; a free ticket is taken.
    fn acting_as(staff: &Staff, t: &Ticket) -> Option<String> {
        match (&t.technician, staff.role) {
            (Some(owner), Role::Administrator) if *owner != staff.login => None,
            _ => Some(staff.login.clone()),
        }
    }

    /// The team answers; the answer (and its files) go to the requester's channel.
    pub fn reply(
        &self,
        staff: &Staff,
        id: TicketId,
        text: &str,
        attachments: Vec<NewAttachment>,
    ) -> Result<Ticket, ServiceError> {
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(invalid(
                "mensagem",
                "escreva a resposta ou anexe um arquivo",
            ));
        }
        let texts = self.texts()?;
        self.changed(id, |t, now| {
            let next = stages::apply(
                t,
                &Action::TeamMessage {
                    technician: Self::acting_as(staff, t),
                },
                now,
            )?;
            let mut outbound = Vec::new();
            if !text.trim().is_empty() {
                let body = texts.render(
                    "resposta_equipe",
                    &[("autor", &staff.name), ("texto", text.trim())],
                );
                outbound.push(Self::notify(t, Purpose::Reply, OutboundBody::text(body)));
            }
            for (i, a) in attachments.iter().enumerate() {
                outbound.push(NewOutbound {
                    media: Some(MediaRef {
                        message: 0,
                        attachment: i,
                    }),
                    ..Self::notify(
                        t,
                        Purpose::Reply,
                        OutboundBody::Media {
                            attachment: crate::model::AttachmentId(0),
                            caption: Some(a.filename.clone()),
                        },
                    )
                });
            }
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages: vec![NewMessage {
                    kind: MessageKind::Followup,
                    side: Side::Team,
                    author: staff.name.clone(),
                    text: text.trim().to_owned(),
                    glpi_id: None,
                    attachments: attachments.clone(),
                }],
                outbound,
                ..Change::default()
            })
        })
    }

    /// The requester writes (kiosk, or the console typing what a caller said).
    pub fn requester_message(
        &self,
        id: TicketId,
        text: &str,
        attachments: Vec<NewAttachment>,
    ) -> Result<Ticket, ServiceError> {
        self.requester_message_for(id, None, text, attachments, None)
    }

    /// [`Helpdesk::requester_message`] written by `author` (another person at the requester's
    /// station; the contact's name when `None`), recording the client's request with it.
    pub(super) fn requester_message_for(
        &self,
        id: TicketId,
        author: Option<&str>,
        text: &str,
        attachments: Vec<NewAttachment>,
        request: Option<ClientRequest>,
    ) -> Result<Ticket, ServiceError> {
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(invalid(
                "mensagem",
                "escreva a mensagem ou anexe um arquivo",
            ));
        }
        self.changed(id, |t, now| {
            let next = stages::apply(t, &Action::RequesterMessage, now)?;
            let author = match author {
                Some(a) => a.to_owned(),
                None => self
                    .store
                    .contact(t.contact_id)?
                    .map(|c| c.name)
                    .unwrap_or_default(),
            };
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages: vec![NewMessage {
                    kind: MessageKind::Followup,
                    side: Side::Requester,
                    author,
                    text: text.trim().to_owned(),
                    glpi_id: None,
                    attachments: attachments.clone(),
                }],
                request: request.clone(),
                ..Change::default()
            })
        })
    }

    pub(super) fn solution_request(
        texts: &Texts,
        t: &Ticket,
        text: &str,
        purpose: Purpose,
    ) -> NewOutbound {
        let body = texts.render("solucao", &[("texto", text)]);
        let ctx_texts = texts.clone();
        let buttons = OutboundBody::Buttons {
            text: body,
            choices: vec![
                crate::model::Choice {
                    id: chatbot::choice::YES.into(),
                    title: ctx_texts.get("botao_sim").into(),
                    description: None,
                },
                crate::model::Choice {
                    id: chatbot::choice::NO.into(),
                    title: ctx_texts.get("botao_nao").into(),
                    description: None,
                },
            ],
        };
        Self::notify(t, purpose, buttons)
    }

    /// The team gives a solution; the requester is asked whether it solved the problem.
    pub fn solve(&self, staff: &Staff, id: TicketId, text: &str) -> Result<Ticket, ServiceError> {
        if text.trim().is_empty() {
            return Err(invalid("solução", "descreva a solução"));
        }
        let texts = self.texts()?;
        self.changed(id, |t, now| {
            let next = stages::apply(
                t,
                &Action::Solve {
                    technician: Self::acting_as(staff, t),
                },
                now,
            )?;
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages: vec![NewMessage {
                    kind: MessageKind::Solution,
                    side: Side::Team,
                    author: staff.name.clone(),
                    text: text.trim().to_owned(),
                    glpi_id: None,
                    attachments: Vec::new(),
                }],
                outbound: vec![Self::solution_request(
                    &texts,
                    t,
                    text.trim(),
                    Purpose::FeedbackRequest,
                )],
                ..Change::default()
            })
        })
    }

    pub(super) fn feedback_change(
        &self,
        t: &Ticket,
        feedback: &Feedback,
        now: DateTime<Utc>,
    ) -> Result<Change, ServiceError> {
        match feedback {
            Feedback::Accept { rating, comment } => {
                let next = stages::apply(
                    t,
                    &Action::Accept {
                        rating: *rating,
                        comment: comment.clone(),
                    },
                    now,
                )?;
                let mut jobs = vec![JobKind::GlpiStatus];
                if rating.is_some() {
                    jobs.push(JobKind::GlpiSatisfaction);
                }
                Ok(Change {
                    ticket: Some(TicketWrite::Update(next)),
                    jobs,
                    ..Change::default()
                })
            }
            Feedback::Refuse { reason } => {
                let next = stages::apply(t, &Action::Refuse, now)?;
                let contact = self.store.contact(t.contact_id)?;
                Ok(Change {
                    ticket: Some(TicketWrite::Update(next)),
                    messages: vec![NewMessage {
                        kind: MessageKind::Refusal,
                        side: Side::Requester,
                        author: contact.map(|c| c.name).unwrap_or_default(),
                        text: reason.trim().to_owned(),
                        glpi_id: None,
                        attachments: Vec::new(),
                    }],
                    jobs: vec![JobKind::GlpiStatus],
                    ..Change::default()
                })
            }
        }
    }

    /// The requester's answer to the solution (closing: feedback recorded; a refusal reopens).
    pub fn feedback(&self, id: TicketId, feedback: Feedback) -> Result<Ticket, ServiceError> {
        self.feedback_for(id, feedback, None)
    }

    /// [`Helpdesk::feedback`], recording the client's request with it.
    pub(super) fn feedback_for(
        &self,
        id: TicketId,
        feedback: Feedback,
        request: Option<ClientRequest>,
    ) -> Result<Ticket, ServiceError> {
        if let Feedback::Refuse { reason } = &feedback
            && reason.trim().is_empty()
        {
            return Err(invalid("motivo", "conte o que ainda não está resolvido"));
        }
        self.changed(id, |t, now| {
            let mut change = self.feedback_change(t, &feedback, now)?;
            change.request = request.clone();
            Ok(change)
        })
    }

    /// Closes a ticket without the requester (its technician or an administrator).
    pub fn close(&self, staff: &Staff, id: TicketId) -> Result<Ticket, ServiceError> {
        let texts = self.texts()?;
        self.changed(id, |t, now| {
            if staff.role != Role::Administrator
                && t.technician.as_deref().is_some_and(|o| o != staff.login)
            {
                return Err(TransitionError::AssignedToOther(
                    t.technician.clone().unwrap_or_default(),
                )
                .into());
            }
            let next = stages::apply(t, &Action::Close, now)?;
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                outbound: vec![Self::notify(
                    t,
                    Purpose::Notice,
                    OutboundBody::text(texts.get("fechado")),
                )],
                jobs: vec![JobKind::GlpiStatus],
                ..Change::default()
            })
        })
    }
}
