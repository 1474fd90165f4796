//! The schema: migrations applied in order (`user_version` counts them) and the column lists the
//! queries and the row decoders share.

/// Schema migrations, applied in order; `user_version` counts those applied. The second keeps
/// the stations' request ids (idempotent ticket API) and the kiosk logins' contacts; the third the
/// menu of ticket types once an administrator edits it (empty: the configuration's menu).
pub(super) const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    station TEXT,
    glpi_user_id INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX contacts_phone ON contacts(phone) WHERE phone IS NOT NULL AND deleted = 0;
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    channel TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    station TEXT,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    technician TEXT,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    assigned_at TEXT,
    first_answer_at TEXT,
    solved_at TEXT,
    feedback_asked_at TEXT,
    closed_at TEXT,
    rating INTEGER,
    rating_comment TEXT,
    reopened INTEGER NOT NULL DEFAULT 0,
    glpi_id INTEGER UNIQUE,
    glpi_status INTEGER
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL,
    side TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    glpi_id INTEGER
);
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    message_id INTEGER REFERENCES messages(id),
    side TEXT NOT NULL,
    filename TEXT NOT NULL,
    mime TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    wa_media_id TEXT,
    glpi_document_id INTEGER,
    created_at TEXT NOT NULL,
    bytes BLOB
);
CREATE INDEX attachments_ticket ON attachments(ticket_id);
CREATE TABLE outbound (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    external_id TEXT,
    failed TEXT
);
CREATE INDEX outbound_contact ON outbound(contact_id);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets(id),
    target INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    in_flight_since TEXT,
    next_at TEXT NOT NULL,
    last_error TEXT,
    done_at TEXT
);
CREATE INDEX jobs_pending ON jobs(done_at, next_at);
CREATE TABLE chat_states (
    phone TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE inbound_seen (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE TABLE texts (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
",
    "
CREATE TABLE client_requests (
    scope TEXT NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (scope, client_id)
);
CREATE INDEX client_requests_ticket ON client_requests(ticket_id);
CREATE TABLE kiosk_contacts (
    station TEXT NOT NULL,
    login TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (station, login)
);
",
    "
CREATE TABLE categories (
    position INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    urgency INTEGER NOT NULL,
    glpi_category_id INTEGER
);
",
];

pub(super) const TICKET_COLUMNS: &str = "id, version, channel, contact_id, station, category, title, \
    description, urgency, kind, status, technician, created_at, confirmed_at, assigned_at, \
    first_answer_at, solved_at, feedback_asked_at, closed_at, rating, rating_comment, reopened, \
    glpi_id, glpi_status";
pub(super) const CONTACT_COLUMNS: &str =
    "id, name, email, phone, station, glpi_user_id, deleted, created_at";
pub(super) const MESSAGE_COLUMNS: &str =
    "id, ticket_id, kind, side, author, text, created_at, glpi_id";
pub(super) const ATTACHMENT_COLUMNS: &str = "id, ticket_id, message_id, side, filename, mime, size, sha256, \
    wa_media_id, glpi_document_id, created_at";
pub(super) const OUTBOUND_COLUMNS: &str = "id, ticket_id, contact_id, channel, purpose, body, created_at, \
    delivered_at, external_id, failed";
pub(super) const JOB_COLUMNS: &str =
    "j.id, j.kind, j.ticket_id, j.target, j.attempts, j.in_flight_since, j.next_at, j.last_error";
