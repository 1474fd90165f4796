//! The help desk's service API: what the console, the station endpoint, the WhatsApp webhook and
//! the GLPI sync call. Each operation reads the ticket, applies the rules ([`stages`]), adds the
//! messages owed to the requester on the ticket's own channel, and stores everything as one
//! change; when another technician or the sync changed the ticket meanwhile, it starts over from
//! the stored ticket. Synchronous like the store: async callers run it on blocking threads.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::chatbot::texts::{Texts, fill};
use crate::chatbot::{self, ChatState, Context, Effect, MediaIn};
use crate::config::HelpdeskConfig;
use crate::model::{
    Attachment, Channel, Contact, ContactId, ContactInput, JobKind, MediaRef, Message, MessageId,
    MessageKind, NewAttachment, NewMessage, NewOutbound, NewTicket, Outbound, OutboundBody,
    Purpose, Side, Status, Ticket, TicketId,
};
use crate::report::{self, Report};
use crate::stages::{self, Action, TransitionError};
use crate::store::{Change, Committed, HelpdeskStore, StoreError, TicketFilter, TicketWrite};
use crate::whatsapp::webhook::{InboundMessage, StatusUpdate};

/// Where "now" comes from (tests move it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What a member of the support team may do (seed 003: "Administrador: com acesso total …
/// atender os chamados que já estão em atendimento por outra pessoa; Técnico: … apenas aos
/// chamados").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and answers tickets.
    Technician,
    /// Also takes over others' tickets, closes any ticket, edits texts.
    Administrator,
}

/// Who acts in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Login.
    pub login: String,
    /// Name shown to requesters.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Why an operation was not done. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ticket's state does not allow it.
    #[error(transparent)]
    Rule(#[from] TransitionError),
    /// Bad input, naming the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong, in Portuguese.
        message: String,
    },
    /// Not found.
    #[error("{0} não encontrado")]
    NotFound(String),
    /// Not allowed for this person.
    #[error("{0}")]
    Forbidden(String),
}

/// A ticket opened from the kiosk or by the console on behalf of a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    /// Kiosk or web.
    pub channel: Channel,
    /// The requester.
    pub contact_id: ContactId,
    /// The station it is about (GLPI location); the contact's when `None`.
    pub station: Option<String>,
    /// Category key.
    pub category: String,
    /// Title; built from the category and description when `None`.
    pub title: Option<String>,
    /// Description.
    pub description: String,
    /// Files (the kiosk's support zip, photos).
    pub attachments: Vec<NewAttachment>,
}

/// The requester's answer to a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// Solved, with a rating.
    Accept {
        /// 1–5.
        rating: Option<u8>,
        /// Comment.
        comment: Option<String>,
    },
    /// Not solved: back to the team.
    Refuse {
        /// What is still wrong.
        reason: String,
    },
}

/// A ticket with everything around it, for the console and the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    /// The ticket.
    pub ticket: Ticket,
    /// The requester.
    pub contact: Contact,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Files.
    pub attachments: Vec<Attachment>,
    /// Messages sent (or queued) to the requester about it.
    pub outbound: Vec<Outbound>,
    /// GLPI work still queued, and its last error (shown while GLPI is down).
    pub glpi_pending: usize,
    /// The last GLPI error of that work.
    pub glpi_error: Option<String>,
}

/// A note seen in GLPI, made there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlpiNote {
    /// Its GLPI id.
    pub glpi_id: i64,
    /// Who wrote it.
    pub author: String,
    /// Plain text.
    pub text: String,
}

/// What the sync saw of a ticket in GLPI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlpiObservation {
    /// GLPI's status.
    pub status: i64,
    /// Public followups made in GLPI that we do not have.
    pub followups: Vec<GlpiNote>,
    /// The latest solution, when made in GLPI and not ours.
    pub solution: Option<GlpiNote>,
}

/// The help desk.
pub struct Helpdesk {
    store: Arc<dyn HelpdeskStore>,
    config: HelpdeskConfig,
    clock: Clock,
}

/// Retries of a change refused because the ticket moved meanwhile.
const CONFLICT_RETRIES: usize = 16;

fn invalid(field: &'static str, message: &str) -> ServiceError {
    ServiceError::Invalid {
        field,
        message: message.to_owned(),
    }
}

fn title_from(category: &str, description: &str) -> String {
    let first = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut title = format!("{category}: {first}");
    if title.chars().count() > 90 {
        title = title.chars().take(89).collect::<String>() + "…";
    }
    title
}

fn attachments_of(media: &[MediaIn]) -> Vec<NewAttachment> {
    media
        .iter()
        .map(|m| NewAttachment {
            filename: m.file_name(),
            mime: m.mime.clone(),
            bytes: None,
            wa_media_id: Some(m.media_id.clone()),
        })
        .collect()
}

impl Helpdesk {
    /// A help desk over `store`, with the real clock.
    pub fn new(store: Arc<dyn HelpdeskStore>, config: HelpdeskConfig) -> Helpdesk {
        Helpdesk {
            store,
            config,
            clock: Arc::new(Utc::now),
        }
    }

    /// The same with another clock.
    pub fn with_clock(mut self, clock: Clock) -> Helpdesk {
        self.clock = clock;
        self
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn HelpdeskStore> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &HelpdeskConfig {
        &self.config
    }

    /// The messages in force (defaults and the console's edits).
    pub fn texts(&self) -> Result<Texts, ServiceError> {
        Ok(Texts::new(self.store.texts()?))
    }

    /// Edits a predefined message (administrators); `None` restores the default.
    pub fn set_text(
        &self,
        staff: &Staff,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), ServiceError> {
        if staff.role != Role::Administrator {
            return Err(ServiceError::Forbidden(
                "só administradores editam as mensagens".into(),
            ));
        }
        if !Texts::is_key(key) {
            return Err(ServiceError::NotFound(format!("mensagem '{key}'")));
        }
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(invalid("texto", "a mensagem não pode ficar vazia"));
        }
        Ok(self.store.set_text(key, value)?)
    }

    fn check_contact(input: &ContactInput) -> Result<(), ServiceError> {
        if input.name.trim().chars().count() < 2 {
            return Err(invalid("nome", "informe o nome do contato"));
        }
        if let Some(p) = &input.phone
            && (p.len() < 10 || p.len() > 15 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "telefone",
                "só dígitos com DDI e DDD, por exemplo 5565999990001",
            ));
        }
        if let Some(e) = &input.email
            && !e.contains('@')
        {
            return Err(invalid("e-mail", "e-mail inválido"));
        }
        Ok(())
    }

    /// Adds a contact to the address book.
    pub fn add_contact(&self, input: &ContactInput) -> Result<Contact, ServiceError> {
        Self::check_contact(input)?;
        Ok(self.store.add_contact(input, self.now())?)
    }

    /// Edits a contact.
    pub fn update_contact(
        &self,
        id: ContactId,
        input: &ContactInput,
    ) -> Result<Contact, ServiceError> {
        Self::check_contact(input)?;
        Ok(self.store.update_contact(id, input)?)
    }

    /// Removes a contact from the address book (its conversations stay archived).
    pub fn delete_contact(&self, id: ContactId) -> Result<(), ServiceError> {
        Ok(self.store.delete_contact(id)?)
    }

    /// The address book.
    pub fn contacts(&self) -> Result<Vec<Contact>, ServiceError> {
        Ok(self.store.contacts()?)
    }

    fn notify(ticket: &Ticket, purpose: Purpose, body: OutboundBody) -> NewOutbound {
        NewOutbound {
            contact_id: ticket.contact_id,
            channel: ticket.channel,
            purpose,
            body,
            media: None,
        }
    }

    /// Reads the ticket, builds the change with `f`, stores it; starts over when the ticket
    /// changed meanwhile. `f` returning `None` means nothing to store.
    fn change(
        &self,
        id: TicketId,
        f: impl Fn(&Ticket, DateTime<Utc>) -> Result<Option<Change>, ServiceError>,
    ) -> Result<Option<Committed>, ServiceError> {
        for _ in 0..CONFLICT_RETRIES {
            let ticket = self
                .store
                .ticket(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("chamado {id}")))?;
            let now = self.now();
            let Some(change) = f(&ticket, now)? else {
                return Ok(None);
            };
            match self.store.commit(&change, now) {
                Err(StoreError::Conflict(_)) => continue,
                other => return Ok(Some(other?)),
            }
        }
        Err(StoreError::Conflict(id).into())
    }

    fn changed(
        &self,
        id: TicketId,
        f: impl Fn(&Ticket, DateTime<Utc>) -> Result<Change, ServiceError>,
    ) -> Result<Ticket, ServiceError> {
        let done = self.change(id, |t, now| f(t, now).map(Some))?;
        done.and_then(|c| c.ticket)
            .ok_or_else(|| ServiceError::NotFound(format!("chamado {id}")))
    }

    /// Opens a ticket from the kiosk or on behalf of a caller; the confirmation with its number
    /// goes to the requester's channel (intake).
    pub fn open_ticket(&self, req: OpenRequest) -> Result<Ticket, ServiceError> {
        if req.channel == Channel::WhatsApp {
            return Err(invalid(
                "canal",
                "chamados do WhatsApp são abertos pelo chatbot",
            ));
        }
        let category = self
            .config
            .category(&req.category)
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
                .filter(|t| !t.trim().is_empty())
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
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(invalid(
                "mensagem",
                "escreva a mensagem ou anexe um arquivo",
            ));
        }
        self.changed(id, |t, now| {
            let next = stages::apply(t, &Action::RequesterMessage, now)?;
            let contact = self.store.contact(t.contact_id)?;
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages: vec![NewMessage {
                    kind: MessageKind::Followup,
                    side: Side::Requester,
                    author: contact.map(|c| c.name).unwrap_or_default(),
                    text: text.trim().to_owned(),
                    glpi_id: None,
                    attachments: attachments.clone(),
                }],
                ..Change::default()
            })
        })
    }

    fn solution_request(texts: &Texts, t: &Ticket, text: &str, purpose: Purpose) -> NewOutbound {
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

    fn feedback_change(
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
        if let Feedback::Refuse { reason } = &feedback
            && reason.trim().is_empty()
        {
            return Err(invalid("motivo", "conte o que ainda não está resolvido"));
        }
        self.changed(id, |t, now| self.feedback_change(t, &feedback, now))
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

    /// A ticket with its conversation.
    pub fn ticket_view(&self, id: TicketId) -> Result<TicketView, ServiceError> {
        let ticket = self
            .store
            .ticket(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("chamado {id}")))?;
        let contact = self
            .store
            .contact(ticket.contact_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("contato {}", ticket.contact_id.0)))?;
        let pending = self.store.pending_jobs(id, &JobKind::GLPI)?;
        let outbound = self
            .store
            .outbound_for_contact(ticket.contact_id)?
            .into_iter()
            .filter(|o| o.ticket_id == Some(id))
            .collect();
        Ok(TicketView {
            messages: self.store.messages(id)?,
            attachments: self.store.attachments(id)?,
            outbound,
            glpi_pending: pending.len(),
            glpi_error: pending.iter().find_map(|j| j.last_error.clone()),
            ticket,
            contact,
        })
    }

    /// Tickets matching a filter.
    pub fn tickets(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, ServiceError> {
        Ok(self.store.tickets(filter)?)
    }

    /// The figures per station and per technician.
    pub fn report(&self) -> Result<Report, ServiceError> {
        Ok(report::build(
            &self.store.tickets(&TicketFilter::default())?,
        ))
    }

    /// The contact of a WhatsApp number, created on the first message so replies have an
    /// address (named after the profile until the person identifies themselves).
    fn whatsapp_contact(&self, m: &InboundMessage) -> Result<Contact, ServiceError> {
        if let Some(c) = self.store.contact_by_phone(&m.from)? {
            return Ok(c);
        }
        let input = ContactInput {
            name: m
                .profile_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("WhatsApp +{}", m.from)),
            phone: Some(m.from.clone()),
            ..ContactInput::default()
        };
        match self.store.add_contact(&input, self.now()) {
            Ok(c) => Ok(c),
            Err(StoreError::AlreadyExists(_)) => self
                .store
                .contact_by_phone(&m.from)?
                .ok_or_else(|| ServiceError::NotFound(format!("contato {}", m.from))),
            Err(e) => Err(e.into()),
        }
    }

    /// A WhatsApp message: the chatbot's step, its effect and replies, stored at once (with the
    /// message id, so Meta sending it again changes nothing).
    pub fn handle_whatsapp(&self, m: &InboundMessage) -> Result<(), ServiceError> {
        if self.store.inbound_seen(&m.id)? {
            return Ok(());
        }
        let mut contact = self.whatsapp_contact(m)?;
        let state: Option<ChatState> = self
            .store
            .chat_state(&m.from)?
            .and_then(|s| serde_json::from_str(&s).ok());
        let open = self
            .store
            .tickets(&TicketFilter {
                contact_id: Some(contact.id),
                statuses: vec![Status::New, Status::Assigned, Status::Solved],
                ..TicketFilter::default()
            })?
            .into_iter()
            .next_back()
            .map(|t| (t.id, t.status));
        let texts = self.texts()?;
        let identified = contact.email.is_some() && contact.station.is_some();
        let now = self.now();
        let step = chatbot::step(
            state.as_ref(),
            &m.input,
            &Context {
                contact: identified.then_some(&contact),
                open_ticket: open,
                now,
                hours: &self.config.hours,
                texts: &texts,
                categories: &self.config.categories,
            },
        );
        if let Some(Effect::SaveContact {
            name,
            email,
            station,
        }) = &step.effect
        {
            contact = self.store.update_contact(
                contact.id,
                &ContactInput {
                    name: name.clone(),
                    email: Some(email.clone()),
                    phone: Some(m.from.clone()),
                    station: Some(station.clone()),
                    glpi_user_id: contact.glpi_user_id,
                },
            )?;
        }
        let chat = Some((
            m.from.clone(),
            step.state
                .as_ref()
                .and_then(|s| serde_json::to_string(s).ok()),
        ));
        let reference = open.map(|(id, _)| id.reference()).unwrap_or_default();
        let replies = |ticket_known: bool| -> Vec<NewOutbound> {
            step.replies
                .iter()
                .map(|r| {
                    let mut body = r.body.clone();
                    if !ticket_known && !reference.is_empty() {
                        body = fill_body(&body, &reference);
                    }
                    NewOutbound {
                        contact_id: contact.id,
                        channel: Channel::WhatsApp,
                        purpose: r.purpose,
                        body,
                        media: None,
                    }
                })
                .collect()
        };
        let base = Change {
            chat: chat.clone(),
            inbound_id: Some(m.id.clone()),
            ..Change::default()
        };
        let result: Result<(), ServiceError> = match &step.effect {
            None | Some(Effect::SaveContact { .. }) => self
                .store
                .commit(
                    &Change {
                        outbound: replies(false),
                        ..base.clone()
                    },
                    now,
                )
                .map(|_| ())
                .map_err(Into::into),
            Some(Effect::OpenTicket {
                category,
                description,
                media,
            }) => {
                let cat = self
                    .config
                    .category(category)
                    .ok_or_else(|| invalid("categoria", "tipo de chamado desconhecido"))?;
                let messages = if media.is_empty() {
                    Vec::new()
                } else {
                    vec![NewMessage {
                        kind: MessageKind::Followup,
                        side: Side::Requester,
                        author: contact.name.clone(),
                        text: String::new(),
                        glpi_id: None,
                        attachments: attachments_of(media),
                    }]
                };
                let change = Change {
                    ticket: Some(TicketWrite::Open(NewTicket {
                        channel: Channel::WhatsApp,
                        contact_id: contact.id,
                        station: contact.station.clone(),
                        category: cat.key.clone(),
                        title: title_from(&cat.title, description),
                        description: description.clone(),
                        urgency: cat.urgency,
                        kind: cat.kind,
                    })),
                    messages,
                    outbound: replies(true),
                    ..base.clone()
                };
                self.store
                    .commit(&change, now)
                    .map(|_| ())
                    .map_err(Into::into)
            }
            Some(Effect::AddMessage {
                ticket,
                text,
                media,
            }) => self
                .change(*ticket, |t, now| {
                    let next = stages::apply(t, &Action::RequesterMessage, now)?;
                    Ok(Some(Change {
                        ticket: Some(TicketWrite::Update(next)),
                        messages: vec![NewMessage {
                            kind: MessageKind::Followup,
                            side: Side::Requester,
                            author: contact.name.clone(),
                            text: text.clone(),
                            glpi_id: None,
                            attachments: attachments_of(media),
                        }],
                        outbound: replies(true),
                        ..base.clone()
                    }))
                })
                .map(|_| ()),
            Some(Effect::Accept { ticket, rating }) => self
                .change(*ticket, |t, now| {
                    let mut change = self.feedback_change(
                        t,
                        &Feedback::Accept {
                            rating: Some(*rating),
                            comment: None,
                        },
                        now,
                    )?;
                    change.outbound = replies(true);
                    change.chat = chat.clone();
                    change.inbound_id = Some(m.id.clone());
                    Ok(Some(change))
                })
                .map(|_| ()),
            Some(Effect::Refuse { ticket, reason }) => self
                .change(*ticket, |t, now| {
                    let mut change = self.feedback_change(
                        t,
                        &Feedback::Refuse {
                            reason: reason.clone(),
                        },
                        now,
                    )?;
                    change.outbound = replies(true);
                    change.chat = chat.clone();
                    change.inbound_id = Some(m.id.clone());
                    Ok(Some(change))
                })
                .map(|_| ()),
        };
        match result {
            Err(ServiceError::Rule(e)) => {
                // The ticket moved on (closed meanwhile): say so and start over; Meta must not
                // send the message again.
                let text = texts.render("erro_registro", &[("motivo", &e.to_string())]);
                let change = Change {
                    chat: Some((m.from.clone(), None)),
                    inbound_id: Some(m.id.clone()),
                    outbound: vec![NewOutbound {
                        contact_id: contact.id,
                        channel: Channel::WhatsApp,
                        purpose: Purpose::Chat,
                        body: OutboundBody::text(text),
                        media: None,
                    }],
                    ..Change::default()
                };
                self.store.commit(&change, now)?;
                Ok(())
            }
            Err(ServiceError::Store(StoreError::AlreadyExists(_))) => Ok(()),
            other => other,
        }
    }

    /// A delivery report from WhatsApp. Failures are logged for the console's follow-up.
    pub fn whatsapp_status(&self, s: &StatusUpdate) {
        if s.status == "failed" {
            tracing::warn!(id = %s.id, recipient = %s.recipient, errors = ?s.errors, "mensagem do WhatsApp não entregue");
        }
    }

    /// Records GLPI's id of a ticket (never a second one).
    pub fn glpi_linked(&self, id: TicketId, glpi_id: i64) -> Result<Ticket, ServiceError> {
        self.changed(id, |t, now| {
            let next = stages::apply(t, &Action::GlpiLinked { glpi_id }, now)?;
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                ..Change::default()
            })
        })
    }

    /// Reflects what was done in GLPI: followups and a solution made there reach the requester,
    /// status changes move our stages.
    pub fn glpi_observed(&self, id: TicketId, obs: &GlpiObservation) -> Result<(), ServiceError> {
        let texts = self.texts()?;
        self.change(id, |t, now| {
            if t.status == Status::Closed {
                return Ok(None);
            }
            let mut next = t.clone();
            let mut messages = Vec::new();
            let mut outbound = Vec::new();
            for f in &obs.followups {
                next = stages::apply(&next, &Action::TeamMessage { technician: None }, now)?;
                messages.push(NewMessage {
                    kind: MessageKind::Followup,
                    side: Side::Team,
                    author: f.author.clone(),
                    text: f.text.clone(),
                    glpi_id: Some(f.glpi_id),
                    attachments: Vec::new(),
                });
                let body = texts.render(
                    "resposta_equipe",
                    &[("autor", &f.author), ("texto", &f.text)],
                );
                outbound.push(Self::notify(t, Purpose::Reply, OutboundBody::text(body)));
            }
            if let Some(s) = &obs.solution
                && next.status != Status::Solved
            {
                next = stages::apply(&next, &Action::Solve { technician: None }, now)?;
                messages.push(NewMessage {
                    kind: MessageKind::Solution,
                    side: Side::Team,
                    author: s.author.clone(),
                    text: s.text.clone(),
                    glpi_id: Some(s.glpi_id),
                    attachments: Vec::new(),
                });
                outbound.push(Self::solution_request(
                    &texts,
                    t,
                    &s.text,
                    Purpose::FeedbackRequest,
                ));
            }
            let before = next.status;
            next = stages::apply(&next, &Action::GlpiStatus { status: obs.status }, now)?;
            match (before, next.status) {
                (Status::New, Status::Assigned) => {
                    let text =
                        texts.render("em_atendimento", &[("tecnico", "a equipe de suporte")]);
                    outbound.push(Self::notify(t, Purpose::Notice, OutboundBody::text(text)));
                }
                (Status::Solved, Status::Assigned) => {
                    outbound.push(Self::notify(
                        t,
                        Purpose::Notice,
                        OutboundBody::text(texts.get("reaberto")),
                    ));
                }
                (_, Status::Closed) if before != Status::Closed => {
                    outbound.push(Self::notify(
                        t,
                        Purpose::Notice,
                        OutboundBody::text(texts.get("fechado")),
                    ));
                }
                _ => {}
            }
            if next == *t && messages.is_empty() {
                return Ok(None);
            }
            Ok(Some(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages,
                outbound,
                ..Change::default()
            }))
        })?;
        Ok(())
    }

    /// Records the GLPI id of a message we pushed.
    pub fn message_in_glpi(&self, id: MessageId, glpi_id: i64) -> Result<(), ServiceError> {
        Ok(self.store.set_message_glpi_id(id, glpi_id)?)
    }
}

/// Replaces `{chamado}` in a body's texts.
pub fn fill_body(body: &OutboundBody, reference: &str) -> OutboundBody {
    let vars = [("chamado", reference)];
    match body {
        OutboundBody::Text { text } => OutboundBody::Text {
            text: fill(text, &vars),
        },
        OutboundBody::Buttons { text, choices } => OutboundBody::Buttons {
            text: fill(text, &vars),
            choices: choices.clone(),
        },
        OutboundBody::List {
            text,
            button,
            choices,
        } => OutboundBody::List {
            text: fill(text, &vars),
            button: button.clone(),
            choices: choices.clone(),
        },
        OutboundBody::Media {
            attachment,
            caption,
        } => OutboundBody::Media {
            attachment: *attachment,
            caption: caption.as_ref().map(|c| fill(c, &vars)),
        },
    }
}
