//! The station's help-desk tickets on the wire (issue 23; items 2k and 2n of the Portaria's
//! Anexo II: "sistema próprio de acompanhamento de chamados"). The kiosk opens tickets from
//! Diagnóstico, lists its station's tickets, replies and rates the closing; the central keeps
//! them in its help desk and takes them to GLPI.
//!
//! Every write carries a `client_id` the station chose when the person pressed the button and
//! kept in its outbox: the central stores one ticket (or message, or feedback) per `client_id`,
//! so a request sent again after a lost answer changes nothing and answers as the first did.
//!
//! - `POST /stations/self/tickets` ([`TicketOpen`]) → 201, or 200 when the `client_id` was
//!   already taken ([`TicketOpened`]).
//! - `GET /stations/self/tickets` → [`StationTickets`]: the station's tickets, newest first,
//!   with their conversations.
//! - `POST /stations/self/tickets/{ticket_id}/messages` ([`TicketReply`]) → 201 / 200
//!   ([`TicketAck`]).
//! - `POST /stations/self/tickets/{ticket_id}/feedback` ([`TicketFeedback`]) → 200
//!   ([`TicketAck`]).
//!
//! A ticket of another station is 404 ([`crate::wire::ErrorCode::TicketNotFound`]), as one
//! that does not exist. A central without a help
//! desk answers 503 with [`crate::wire::ErrorCode::HelpdeskUnavailable`]; the station keeps the request
//! queued and sends it later.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest sum of attachment bytes (before base64) one request may carry: the support zip
/// and a few photos.
pub const MAX_ATTACHMENT_BYTES: usize = 16 * 1024 * 1024;

/// The person at the kiosk who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPerson {
    /// Their login at the station.
    pub login: String,
    /// Their name.
    pub name: String,
}

/// A file sent with a ticket or a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFile {
    /// File name, without folders.
    pub filename: String,
    /// MIME type (`application/zip`, `image/jpeg`, …).
    pub mime: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// `POST /stations/self/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOpen {
    /// Chosen by the station once; the same ticket whatever how often it is sent.
    pub client_id: Uuid,
    /// Category key of the central's help desk (its menu of ticket types).
    pub category: String,
    /// Title; the central builds one from the category and description when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What is wrong, in the person's words.
    pub description: String,
    /// The requester.
    pub requester: TicketPerson,
    /// The devices' states as Diagnóstico shows them, as text.
    #[serde(default)]
    pub devices: String,
    /// The support zip, photos of the problem.
    #[serde(default)]
    pub attachments: Vec<TicketFile>,
}

/// Answer of `POST /stations/self/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketOpened {
    /// The ticket's id at the central.
    pub ticket_id: i64,
    /// The number people read (`VST-000042`).
    pub number: String,
}

/// `POST /stations/self/tickets/{ticket_id}/messages`: the requester's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketReply {
    /// Chosen by the station once.
    pub client_id: Uuid,
    /// Who writes.
    pub author: TicketPerson,
    /// The text (may be empty when a file is sent).
    pub text: String,
    /// Photos of the problem.
    #[serde(default)]
    pub attachments: Vec<TicketFile>,
}

/// `POST /stations/self/tickets/{ticket_id}/feedback`: the requester's answer to a solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFeedback {
    /// Chosen by the station once.
    pub client_id: Uuid,
    /// Who answers.
    pub author: TicketPerson,
    /// `true`: solved (closes the ticket); `false`: not solved (reopens it).
    pub accept: bool,
    /// 1–5 when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// A comment when accepted; what is still wrong when refused (required then).
    #[serde(default)]
    pub comment: String,
}

/// Answer of a reply or feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAck {
    /// The ticket's state code after it.
    pub state: String,
}

/// A file of a ticket, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFileInfo {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime: String,
}

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMessage {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who wrote it (a technician's name, or the requester's).
    pub author: String,
    /// `true` when the support team wrote it.
    pub from_team: bool,
    /// The text.
    pub text: String,
    /// Files sent with it.
    #[serde(default)]
    pub attachments: Vec<TicketFileInfo>,
}

/// One of the station's tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationTicket {
    /// Id at the central.
    pub ticket_id: i64,
    /// `VST-000042`.
    pub number: String,
    /// The station's `client_id` when the kiosk opened it; `None` for tickets opened by
    /// WhatsApp or the console for this station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// Category key.
    pub category: String,
    /// Title.
    pub title: String,
    /// State code (the help desk's stage).
    pub state: String,
    /// The state in Portuguese, for the screen.
    pub state_label: String,
    /// Opened at.
    pub opened_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The conversation, oldest first.
    pub messages: Vec<TicketMessage>,
    /// The team's solution, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// `true` while the team waits for the requester to accept or refuse the solution.
    pub awaiting_feedback: bool,
    /// The rating given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
}

/// A type of ticket the central's help desk takes (its menu).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCategory {
    /// Key sent in [`TicketOpen::category`].
    pub key: String,
    /// What people see.
    pub title: String,
}

/// Answer of `GET /stations/self/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationTickets {
    /// The ticket types the help desk takes now; the kiosk keeps the last list it saw, to
    /// open a ticket while offline.
    pub categories: Vec<TicketCategory>,
    /// Newest first.
    pub tickets: Vec<StationTicket>,
}
