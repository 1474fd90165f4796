//! The help desk's service API: what the console, the station endpoint, the WhatsApp webhook and
//! the GLPI sync call. Each operation reads the ticket, applies the rules ([`stages`]), adds the
//! messages owed to the requester on the ticket's own channel, and stores everything as one
//! change; when another technician or the sync changed the ticket meanwhile, it starts over from
//! the stored ticket. Synchronous like the store: async callers run it on blocking threads.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::chatbot::MediaIn;
use crate::chatbot::texts::{Texts, fill};
use crate::config::{Category, HelpdeskConfig, category_problems};
use crate::model::{
    Attachment, Channel, Contact, ContactId, ContactInput, JobKind, Message, NewAttachment,
    NewOutbound, Outbound, OutboundBody, Purpose, Ticket, TicketId,
};
pub use kiosk::KioskAnswer;

use crate::report::{self, Report};
use crate::stages::TransitionError;
use crate::store::{Change, Committed, HelpdeskStore, StoreError, TicketFilter};

mod glpi;
mod kiosk;
#[cfg(test)]
mod menu_tests;
mod tickets;
mod whatsapp;

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

    /// The menu of ticket types in force: the console's edit, or the configuration's until then.
    pub fn categories(&self) -> Result<Vec<Category>, ServiceError> {
        Ok(self
            .store
            .categories()?
            .unwrap_or_else(|| self.config.categories.clone()))
    }

    /// One entry of the menu in force; `None` for a key removed from it (its tickets keep it).
    pub fn category(&self, key: &str) -> Result<Option<Category>, ServiceError> {
        Ok(self.categories()?.into_iter().find(|c| c.key == key))
    }

    /// Replaces the menu of ticket types (administrators), validated as the configuration is.
    pub fn set_categories(
        &self,
        staff: &Staff,
        categories: &[Category],
    ) -> Result<(), ServiceError> {
        if staff.role != Role::Administrator {
            return Err(ServiceError::Forbidden(
                "só administradores editam os tipos de chamado".into(),
            ));
        }
        let problems = category_problems(categories);
        if !problems.is_empty() {
            return Err(ServiceError::Invalid {
                field: "tipos",
                message: problems.join("; "),
            });
        }
        Ok(self.store.set_categories(categories)?)
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
