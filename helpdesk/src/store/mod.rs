//! Where the help desk keeps everything, behind one narrow trait so the central can swap the
//! backend: [`sqlite::SqliteHelpdesk`] now, a PostgreSQL one once the central's PostgreSQL
//! storage lands. Synchronous like the central's `MetadataStore` (`central/src/storage`): async
//! callers run it on blocking threads.
//!
//! Tickets live here first: GLPI, WhatsApp and the kiosk are reached later by jobs of the durable
//! queue, written in the same transaction as the change that needs them.

pub mod sqlite;

#[cfg(test)]
mod sqlite_tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::Category;
use crate::model::{
    Attachment, AttachmentId, Contact, ContactId, ContactInput, Job, JobId, JobKind, Message,
    MessageId, NewMessage, NewOutbound, NewTicket, Outbound, OutboundId, Status, Ticket, TicketId,
};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("banco de dados do help desk: {0}")]
    Database(String),
    /// Stored data could not be decoded (corruption or a newer schema).
    #[error("dado armazenado inválido: {0}")]
    Corrupt(String),
    /// The thing to change does not exist.
    #[error("não encontrado: {0}")]
    NotFound(String),
    /// The ticket changed since it was read (another technician, the sync): read it again.
    #[error("o chamado {0} mudou enquanto era alterado")]
    Conflict(TicketId),
    /// Something unique exists already (an inbound WhatsApp message handled before, a phone
    /// number of another contact).
    #[error("já existe: {0}")]
    AlreadyExists(String),
}

/// Result of every storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The ticket part of a [`Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketWrite {
    /// Opens a ticket (and queues its creation in GLPI).
    Open(NewTicket),
    /// Stores a changed ticket. Its `version` must be the stored one (else
    /// [`StoreError::Conflict`]); the stored version becomes `version + 1`.
    Update(Ticket),
}

/// Everything one operation changes, stored in one transaction: all of it or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The ticket opened or changed.
    pub ticket: Option<TicketWrite>,
    /// Messages added to that ticket. Each is queued for GLPI (followup or solution) unless it
    /// came from there (`glpi_id` set); each attachment is queued for upload, and for fetching
    /// first when only its WhatsApp media id is known.
    pub messages: Vec<NewMessage>,
    /// Messages to requesters, each queued for delivery. They belong to the change's ticket when
    /// there is one.
    pub outbound: Vec<NewOutbound>,
    /// Ticket-level jobs (target: the ticket), e.g. [`JobKind::GlpiStatus`].
    pub jobs: Vec<JobKind>,
    /// The chatbot's new state for a WhatsApp number (`None` forgets it).
    pub chat: Option<(String, Option<String>)>,
    /// The WhatsApp message id this change handles: recorded so a webhook Meta sends again is
    /// not handled twice ([`StoreError::AlreadyExists`] if it was).
    pub inbound_id: Option<String>,
    /// The station's request this change answers: recorded with the ticket's status after it,
    /// so the same request sent again finds it ([`StoreError::AlreadyExists`] if it was).
    pub request: Option<ClientRequest>,
}

/// A request a client (a station's kiosk) identified with an id of its own, kept in its outbox
/// and sent again after a lost answer (issue 23: nothing lost, never twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// Whose ids these are (the station's code): two stations never collide.
    pub scope: String,
    /// The client's id.
    pub client_id: String,
    /// What it does.
    pub kind: RequestKind,
}

/// What a [`ClientRequest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Opened a ticket.
    Open,
    /// Added the requester's message.
    Message,
    /// Answered a solution.
    Feedback,
}

impl RequestKind {
    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            RequestKind::Open => "open",
            RequestKind::Message => "message",
            RequestKind::Feedback => "feedback",
        }
    }

    /// Parses [`RequestKind::code`].
    pub fn from_code(code: &str) -> Option<RequestKind> {
        match code {
            "open" => Some(RequestKind::Open),
            "message" => Some(RequestKind::Message),
            "feedback" => Some(RequestKind::Feedback),
            _ => None,
        }
    }
}

/// A [`ClientRequest`] as stored, with what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// What it did.
    pub kind: RequestKind,
    /// The ticket it opened or changed.
    pub ticket_id: TicketId,
    /// The ticket's status right after it (what the first answer said).
    pub status: Status,
}

/// What [`HelpdeskStore::commit`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The ticket as stored (new version).
    pub ticket: Option<Ticket>,
    /// Ids of the messages added, in order.
    pub messages: Vec<MessageId>,
    /// Ids of the outbound messages queued, in order.
    pub outbound: Vec<OutboundId>,
}

/// Which tickets to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Only this requester's.
    pub contact_id: Option<ContactId>,
    /// Only this station's.
    pub station: Option<String>,
    /// Only this technician's.
    pub technician: Option<String>,
    /// Only those GLPI knows (`Some(true)`) or not yet (`Some(false)`).
    pub in_glpi: Option<bool>,
}

/// How an attempt at a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done for good.
    Done,
    /// Failed; try again at this time. The error is kept for the console.
    Retry {
        /// When to try again.
        at: DateTime<Utc>,
        /// Why it failed.
        error: String,
    },
}

/// The help desk's storage. Every call is durable before it returns; implementations must be
/// safe to call from several threads at once.
pub trait HelpdeskStore: Send + Sync {
    /// Adds a contact. A phone number already used by another contact is
    /// [`StoreError::AlreadyExists`].
    fn add_contact(&self, input: &ContactInput, at: DateTime<Utc>) -> StoreResult<Contact>;

    /// Replaces a contact's details.
    fn update_contact(&self, id: ContactId, input: &ContactInput) -> StoreResult<Contact>;

    /// Removes a contact from the address book; its tickets and conversations stay.
    fn delete_contact(&self, id: ContactId) -> StoreResult<()>;

    /// A contact, deleted or not.
    fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>>;

    /// The (not deleted) contact with this WhatsApp number.
    fn contact_by_phone(&self, phone: &str) -> StoreResult<Option<Contact>>;

    /// The address book (not deleted), by name.
    fn contacts(&self) -> StoreResult<Vec<Contact>>;

    /// Stores a change whole. Jobs are derived as [`Change`] says; delivery jobs for every
    /// outbound message.
    fn commit(&self, change: &Change, at: DateTime<Utc>) -> StoreResult<Committed>;

    /// A ticket.
    fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>>;

    /// Tickets matching the filter, oldest first.
    fn tickets(&self, filter: &TicketFilter) -> StoreResult<Vec<Ticket>>;

    /// A ticket's conversation, oldest first.
    fn messages(&self, ticket: TicketId) -> StoreResult<Vec<Message>>;

    /// One message.
    fn message(&self, id: MessageId) -> StoreResult<Option<Message>>;

    /// Records the GLPI followup or solution id of a message we pushed.
    fn set_message_glpi_id(&self, id: MessageId, glpi_id: i64) -> StoreResult<()>;

    /// A ticket's attachments, oldest first.
    fn attachments(&self, ticket: TicketId) -> StoreResult<Vec<Attachment>>;

    /// One attachment.
    fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>>;

    /// An attachment's bytes, once held.
    fn attachment_bytes(&self, id: AttachmentId) -> StoreResult<Option<Vec<u8>>>;

    /// Stores the fetched bytes of a WhatsApp media (size and SHA-256 computed here).
    fn set_attachment_bytes(&self, id: AttachmentId, mime: &str, bytes: &[u8]) -> StoreResult<()>;

    /// Records the GLPI document id of an uploaded attachment.
    fn set_attachment_glpi_id(&self, id: AttachmentId, glpi_id: i64) -> StoreResult<()>;

    /// One outbound message.
    fn outbound(&self, id: OutboundId) -> StoreResult<Option<Outbound>>;

    /// Everything sent (or queued) to a contact, oldest first: the conversation as the requester
    /// saw it, kept after closing.
    fn outbound_for_contact(&self, contact: ContactId) -> StoreResult<Vec<Outbound>>;

    /// The channel took the message. A confirmation marks its ticket's `confirmed_at`, a feedback
    /// request its `feedback_asked_at` (same transaction).
    fn mark_delivered(
        &self,
        id: OutboundId,
        external_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The channel refused the message for good (shown in the console; its job ends).
    fn mark_undeliverable(&self, id: OutboundId, reason: &str) -> StoreResult<()>;

    /// Jobs of these kinds due at `now` whose prerequisites hold, oldest first: GLPI work other
    /// than creating the ticket waits for the ticket's GLPI id; uploading an attachment or
    /// delivering it waits for its bytes; a delivery waits while an earlier one to the same
    /// contact has failed and is not done (a person's messages arrive in order).
    fn due_jobs(
        &self,
        kinds: &[JobKind],
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Job>>;

    /// Writes down that an attempt begins (attempts + 1, in flight since `at`) before anything is
    /// sent, so a crash leaves a trace the next attempt sees.
    fn begin_job(&self, id: JobId, at: DateTime<Utc>) -> StoreResult<()>;

    /// Ends an attempt.
    fn finish_job(&self, id: JobId, outcome: &JobOutcome) -> StoreResult<()>;

    /// Jobs not done yet, of these kinds, for a ticket (all kinds when `kinds` is empty).
    fn pending_jobs(&self, ticket: TicketId, kinds: &[JobKind]) -> StoreResult<Vec<Job>>;

    /// The chatbot's state for a WhatsApp number.
    fn chat_state(&self, phone: &str) -> StoreResult<Option<String>>;

    /// Whether this WhatsApp message id was handled already.
    fn inbound_seen(&self, id: &str) -> StoreResult<bool>;

    /// The predefined and automatic messages edited in the console (key → text).
    fn texts(&self) -> StoreResult<BTreeMap<String, String>>;

    /// Edits one text; `None` goes back to the default.
    fn set_text(&self, key: &str, value: Option<&str>) -> StoreResult<()>;

    /// The menu of ticket types edited in the console, in order; `None` before the first edit.
    fn categories(&self) -> StoreResult<Option<Vec<Category>>>;

    /// Replaces the whole menu of ticket types (validated by the service).
    fn set_categories(&self, categories: &[Category]) -> StoreResult<()>;

    /// A client's request recorded by [`Change::request`].
    fn client_request(&self, scope: &str, client_id: &str) -> StoreResult<Option<RecordedRequest>>;

    /// The client ids of the tickets a scope opened ([`RequestKind::Open`]).
    fn opened_by(&self, scope: &str) -> StoreResult<BTreeMap<TicketId, String>>;

    /// The contact of a person who logs in at a station's kiosk: found by station and login
    /// (its name kept current), created when new or when the console deleted it.
    fn kiosk_contact(
        &self,
        station: &str,
        login: &str,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Contact>;
}
