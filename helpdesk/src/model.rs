//! The help desk's data: contacts, tickets, their messages and attachments, the durable work
//! queue and the messages waiting to reach a requester. Plain values; the rules that change them
//! are in [`crate::stages`], where they are kept lives behind [`crate::store::HelpdeskStore`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
    };
}

id_type!(
    /// A contact of the platform's address book.
    ContactId
);
id_type!(
    /// Our own number of a ticket, given to the requester at intake (even while GLPI is down).
    TicketId
);
id_type!(
    /// A message of a ticket's conversation.
    MessageId
);
id_type!(
    /// A file attached to a ticket.
    AttachmentId
);
id_type!(
    /// A message on its way to a requester.
    OutboundId
);
id_type!(
    /// A unit of work of the durable queue.
    JobId
);

impl TicketId {
    /// The reference people see and GLPI's ticket title starts with: `VST-000042`.
    pub fn reference(self) -> String {
        format!("VST-{:06}", self.0)
    }

    /// Parses [`TicketId::reference`]'s form back (also without the prefix).
    pub fn parse(text: &str) -> Option<TicketId> {
        let t = text.trim();
        let digits = t
            .strip_prefix("VST-")
            .or_else(|| t.strip_prefix("vst-"))
            .unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(TicketId)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reference())
    }
}

/// Where a ticket came from; replies go back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// "Abrir chamado" at a station's kiosk; the kiosk reads the answers.
    Kiosk,
    /// The WhatsApp Business number, through the chatbot.
    WhatsApp,
    /// The console, on behalf of someone who phoned.
    Web,
}

impl Channel {
    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Kiosk => "kiosk",
            Channel::WhatsApp => "whatsapp",
            Channel::Web => "web",
        }
    }

    /// Parses [`Channel::code`].
    pub fn from_code(code: &str) -> Option<Channel> {
        match code {
            "kiosk" => Some(Channel::Kiosk),
            "whatsapp" => Some(Channel::WhatsApp),
            "web" => Some(Channel::Web),
            _ => None,
        }
    }

    /// How people call it.
    pub fn label_pt(self) -> &'static str {
        match self {
            Channel::Kiosk => "estação",
            Channel::WhatsApp => "WhatsApp",
            Channel::Web => "telefone (console)",
        }
    }
}

/// A person who asks for help: ECV staff at a station, someone on WhatsApp, a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// Full name.
    pub name: String,
    /// E-mail, when given.
    pub email: Option<String>,
    /// WhatsApp number (`wa_id`: digits with country code, no `+`).
    pub phone: Option<String>,
    /// The station (ECV code) the person works at.
    pub station: Option<String>,
    /// The person's user in GLPI, when known (else the configured default requester).
    pub glpi_user_id: Option<i64>,
    /// Removed from the address book; their tickets and conversations stay archived.
    pub deleted: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A contact to add (or the new values of one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    /// Full name (required).
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// WhatsApp number.
    pub phone: Option<String>,
    /// Station code.
    pub station: Option<String>,
    /// GLPI user id.
    pub glpi_user_id: Option<i64>,
}

/// GLPI's ticket type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// Something broke (GLPI type 1).
    Incident,
    /// Something is asked for (GLPI type 2).
    Request,
}

impl TicketKind {
    /// GLPI's `type` value.
    pub fn glpi_type(self) -> i64 {
        match self {
            TicketKind::Incident => 1,
            TicketKind::Request => 2,
        }
    }

    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            TicketKind::Incident => "incident",
            TicketKind::Request => "request",
        }
    }

    /// Parses [`TicketKind::code`].
    pub fn from_code(code: &str) -> Option<TicketKind> {
        match code {
            "incident" => Some(TicketKind::Incident),
            "request" => Some(TicketKind::Request),
            _ => None,
        }
    }
}

/// Where a ticket stands. The values mirror GLPI's statuses we use (1 new, 2 assigned, 5 solved,
/// 6 closed); GLPI's "planned" (3) and "waiting" (4) count as assigned here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received, number given, nobody on it yet ("Novo").
    New,
    /// A technician is on it.
    Assigned,
    /// A solution was given; the requester's feedback is asked.
    Solved,
    /// Done.
    Closed,
}

impl Status {
    /// GLPI's status value.
    pub fn glpi(self) -> i64 {
        match self {
            Status::New => 1,
            Status::Assigned => 2,
            Status::Solved => 5,
            Status::Closed => 6,
        }
    }

    /// Our status for a GLPI status value (1–6).
    pub fn from_glpi(value: i64) -> Option<Status> {
        match value {
            1 => Some(Status::New),
            2..=4 => Some(Status::Assigned),
            5 => Some(Status::Solved),
            6 => Some(Status::Closed),
            _ => None,
        }
    }

    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }

    /// Parses [`Status::code`].
    pub fn from_code(code: &str) -> Option<Status> {
        match code {
            "new" => Some(Status::New),
            "assigned" => Some(Status::Assigned),
            "solved" => Some(Status::Solved),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }

    /// How the requester and the console call it.
    pub fn label_pt(self) -> &'static str {
        match self {
            Status::New => "novo",
            Status::Assigned => "em atendimento",
            Status::Solved => "solucionado",
            Status::Closed => "fechado",
        }
    }

    /// The service stage of the seed 004 the ticket is in.
    pub fn stage(self) -> Stage {
        match self {
            Status::New => Stage::Intake,
            Status::Assigned => Stage::Execution,
            Status::Solved | Status::Closed => Stage::Closing,
        }
    }
}

/// The three stages of a service request (seed 004: "dar entrada", "execução", "finalização …
/// feedback ao solicitante").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Received, number given, confirmation sent.
    Intake,
    /// Assigned, conversation going on.
    Execution,
    /// Solution given, feedback asked and recorded.
    Closing,
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Our number.
    pub id: TicketId,
    /// Bumped on every change; a change made from an older copy is refused (two technicians at
    /// once never overwrite each other).
    pub version: i64,
    /// Where it came from.
    pub channel: Channel,
    /// Who asked.
    pub contact_id: ContactId,
    /// The station (ECV code) it is about: GLPI's location.
    pub station: Option<String>,
    /// The menu entry chosen (key of a configured category).
    pub category: String,
    /// Short title.
    pub title: String,
    /// What the requester wrote.
    pub description: String,
    /// GLPI urgency, 1 (very low) to 5 (very high).
    pub urgency: u8,
    /// Incident or request.
    pub kind: TicketKind,
    /// Where it stands.
    pub status: Status,
    /// The technician on it (login).
    pub technician: Option<String>,
    /// Intake: received.
    pub created_at: DateTime<Utc>,
    /// Intake: the confirmation with the number reached the requester's channel.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Execution: first assigned.
    pub assigned_at: Option<DateTime<Utc>>,
    /// Execution: the team's first answer.
    pub first_answer_at: Option<DateTime<Utc>>,
    /// Closing: the last solution given.
    pub solved_at: Option<DateTime<Utc>>,
    /// Closing: the requester was asked for feedback.
    pub feedback_asked_at: Option<DateTime<Utc>>,
    /// Closing: closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The requester's rating, 1 to 5.
    pub rating: Option<u8>,
    /// The requester's comment with the rating.
    pub rating_comment: Option<String>,
    /// Times the requester refused a solution.
    pub reopened: u32,
    /// GLPI's ticket id, once created there.
    pub glpi_id: Option<i64>,
    /// GLPI's status as last seen there.
    pub glpi_status: Option<i64>,
}

impl Ticket {
    /// The service stage it is in.
    pub fn stage(&self) -> Stage {
        self.status.stage()
    }
}

/// A ticket to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    /// Where it comes from.
    pub channel: Channel,
    /// Who asks.
    pub contact_id: ContactId,
    /// The station it is about.
    pub station: Option<String>,
    /// Category key.
    pub category: String,
    /// Short title.
    pub title: String,
    /// Description.
    pub description: String,
    /// 1–5.
    pub urgency: u8,
    /// Incident or request.
    pub kind: TicketKind,
}

/// Which side wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The requester (kiosk user, WhatsApp contact, caller).
    Requester,
    /// The support team (console or GLPI).
    Team,
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Part of the conversation (GLPI followup).
    Followup,
    /// A solution (GLPI ITILSolution).
    Solution,
    /// The requester refused the solution; the ticket is reopened (GLPI followup).
    Refusal,
}

impl MessageKind {
    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            MessageKind::Followup => "followup",
            MessageKind::Solution => "solution",
            MessageKind::Refusal => "refusal",
        }
    }

    /// Parses [`MessageKind::code`].
    pub fn from_code(code: &str) -> Option<MessageKind> {
        match code {
            "followup" => Some(MessageKind::Followup),
            "solution" => Some(MessageKind::Solution),
            "refusal" => Some(MessageKind::Refusal),
            _ => None,
        }
    }
}

/// A message of a ticket's conversation; it stays archived after closing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Followup, solution or refusal.
    pub kind: MessageKind,
    /// Who wrote it.
    pub side: Side,
    /// Name shown (technician's name, requester's name, "GLPI").
    pub author: String,
    /// Plain text.
    pub text: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// GLPI's followup or solution id once pushed (or when it came from GLPI).
    pub glpi_id: Option<i64>,
}

/// A message to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Followup, solution or refusal.
    pub kind: MessageKind,
    /// Who wrote it.
    pub side: Side,
    /// Name shown.
    pub author: String,
    /// Plain text.
    pub text: String,
    /// Set when it came from GLPI (then it is not pushed back).
    pub glpi_id: Option<i64>,
    /// Files that came with it.
    pub attachments: Vec<NewAttachment>,
}

/// A file attached to a ticket (photo, video, audio, document, the kiosk's support zip).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The message it came with.
    pub message_id: Option<MessageId>,
    /// Who sent it.
    pub side: Side,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime: String,
    /// Size in bytes, once held.
    pub size: Option<u64>,
    /// SHA-256 (hex) of the bytes, once held.
    pub sha256: Option<String>,
    /// WhatsApp media id still to be fetched (the bytes are not held yet).
    pub wa_media_id: Option<String>,
    /// GLPI's document id once uploaded.
    pub glpi_document_id: Option<i64>,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

/// A file to attach: its bytes, or a WhatsApp media id to fetch them from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime: String,
    /// The bytes, when we have them.
    pub bytes: Option<Vec<u8>>,
    /// The WhatsApp media id, when the bytes are still at Meta.
    pub wa_media_id: Option<String>,
}

/// What an outbound message is for (some mark a stage when delivered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The chatbot talking.
    Chat,
    /// Intake: the confirmation with the ticket's number (sets `confirmed_at`).
    Confirmation,
    /// A team message of the conversation.
    Reply,
    /// A change of state (assigned, reopened, closed).
    Notice,
    /// Closing: the solution and the request for feedback (sets `feedback_asked_at`).
    FeedbackRequest,
}

impl Purpose {
    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            Purpose::Chat => "chat",
            Purpose::Confirmation => "confirmation",
            Purpose::Reply => "reply",
            Purpose::Notice => "notice",
            Purpose::FeedbackRequest => "feedback_request",
        }
    }

    /// Parses [`Purpose::code`].
    pub fn from_code(code: &str) -> Option<Purpose> {
        match code {
            "chat" => Some(Purpose::Chat),
            "confirmation" => Some(Purpose::Confirmation),
            "reply" => Some(Purpose::Reply),
            "notice" => Some(Purpose::Notice),
            "feedback_request" => Some(Purpose::FeedbackRequest),
            _ => None,
        }
    }
}

/// A button of an interactive message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// What comes back when it is chosen.
    pub id: String,
    /// What the person sees.
    pub title: String,
    /// A second line (list rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What an outbound message says. Text may hold `{chamado}`, replaced by the ticket's reference
/// when it is delivered (the number does not exist before the ticket is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundBody {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// Text with up to three reply buttons.
    Buttons {
        /// The text.
        text: String,
        /// The buttons.
        choices: Vec<Choice>,
    },
    /// Text with a list of options behind a button.
    List {
        /// The text.
        text: String,
        /// The button's label.
        button: String,
        /// The options.
        choices: Vec<Choice>,
    },
    /// A stored attachment, with an optional caption.
    Media {
        /// The file.
        attachment: AttachmentId,
        /// Its caption.
        caption: Option<String>,
    },
}

impl OutboundBody {
    /// Plain text.
    pub fn text(text: impl Into<String>) -> OutboundBody {
        OutboundBody::Text { text: text.into() }
    }

    /// The text shown, whatever the kind.
    pub fn display_text(&self) -> &str {
        match self {
            OutboundBody::Text { text }
            | OutboundBody::Buttons { text, .. }
            | OutboundBody::List { text, .. } => text,
            OutboundBody::Media { caption, .. } => caption.as_deref().unwrap_or(""),
        }
    }
}

/// A message to a requester, kept until its channel took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    /// Its id.
    pub id: OutboundId,
    /// The ticket it is about.
    pub ticket_id: Option<TicketId>,
    /// Who it goes to.
    pub contact_id: ContactId,
    /// How.
    pub channel: Channel,
    /// Why.
    pub purpose: Purpose,
    /// What.
    pub body: OutboundBody,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the channel took it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The channel's id for it (WhatsApp's `wamid`).
    pub external_id: Option<String>,
    /// Why it could not be delivered for good (shown in the console).
    pub failed: Option<String>,
}

/// A message to queue for a requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    /// Who it goes to.
    pub contact_id: ContactId,
    /// How.
    pub channel: Channel,
    /// Why.
    pub purpose: Purpose,
    /// What. `Media` may name an attachment of the same change by index: see [`MediaRef`].
    pub body: OutboundBody,
    /// For `Media` bodies built before the attachment exists: the attachment's position among
    /// the change's new attachments (in message order), resolved when stored.
    pub media: Option<MediaRef>,
}

/// An attachment of the same change, by position (message index, attachment index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRef {
    /// Index in the change's messages.
    pub message: usize,
    /// Index in that message's attachments.
    pub attachment: usize,
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Create the ticket in GLPI (target: the ticket).
    GlpiCreateTicket,
    /// Push a followup or refusal (target: the message).
    GlpiFollowup,
    /// Push a solution (target: the message).
    GlpiSolution,
    /// Upload and link a document (target: the attachment).
    GlpiDocument,
    /// Bring GLPI's status to ours: closed or reopened (target: the ticket).
    GlpiStatus,
    /// Record the requester's rating (target: the ticket).
    GlpiSatisfaction,
    /// Fetch a WhatsApp media's bytes (target: the attachment).
    FetchMedia,
    /// Deliver an outbound message (target: the outbound).
    Deliver,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 8] = [
        JobKind::GlpiCreateTicket,
        JobKind::GlpiFollowup,
        JobKind::GlpiSolution,
        JobKind::GlpiDocument,
        JobKind::GlpiStatus,
        JobKind::GlpiSatisfaction,
        JobKind::FetchMedia,
        JobKind::Deliver,
    ];

    /// The kinds the GLPI sync runs.
    pub const GLPI: [JobKind; 6] = [
        JobKind::GlpiCreateTicket,
        JobKind::GlpiFollowup,
        JobKind::GlpiSolution,
        JobKind::GlpiDocument,
        JobKind::GlpiStatus,
        JobKind::GlpiSatisfaction,
    ];

    /// Stable code used in storage.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::GlpiCreateTicket => "glpi_create_ticket",
            JobKind::GlpiFollowup => "glpi_followup",
            JobKind::GlpiSolution => "glpi_solution",
            JobKind::GlpiDocument => "glpi_document",
            JobKind::GlpiStatus => "glpi_status",
            JobKind::GlpiSatisfaction => "glpi_satisfaction",
            JobKind::FetchMedia => "fetch_media",
            JobKind::Deliver => "deliver",
        }
    }

    /// Parses [`JobKind::code`].
    pub fn from_code(code: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A unit of work of the durable queue. A job is written in the same transaction as the change
/// that needs it, so nothing is lost; it is done once its handler says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// The ticket it belongs to.
    pub ticket_id: Option<TicketId>,
    /// The ticket, message, attachment or outbound it works on.
    pub target: i64,
    /// Attempts begun so far.
    pub attempts: u32,
    /// Set when an attempt begins and cleared when it ends: a job claimed with this set was
    /// interrupted (crash, kill) after it may have reached the other side.
    pub in_flight_since: Option<DateTime<Utc>>,
    /// Not before.
    pub next_at: DateTime<Utc>,
    /// The last failure, for the console.
    pub last_error: Option<String>,
}
