//! The station's help-desk queue (issue 23; 2k, 2n): every ticket opened, reply written and
//! answer to a solution given at the kiosk is written here before the screen says "na fila" or
//! "enviado", and stays until the central answers. Each carries the `client_id` chosen when
//! the person pressed the button (see [`crate::tickets`]): sending it again after a lost answer
//! is harmless, so the queue can always send again and never loses anything. Sending is the
//! station's (`vistoria-station`'s `tickets` module); this is only the durable record.
//!
//! The last listing of the station's tickets the central gave is kept beside it, so the
//! screen shows the tickets and the categories to choose from while the kiosk is offline.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::outbox::rfc3339;
use super::{Store, StoreError};
use crate::tickets::StationTickets;

/// What a queued request asks the central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketRequestKind {
    /// `POST /stations/self/tickets`.
    Open,
    /// `POST /stations/self/tickets/{id}/messages`.
    Reply,
    /// `POST /stations/self/tickets/{id}/feedback`.
    Feedback,
}

impl TicketRequestKind {
    fn name(self) -> &'static str {
        match self {
            TicketRequestKind::Open => "open",
            TicketRequestKind::Reply => "reply",
            TicketRequestKind::Feedback => "feedback",
        }
    }

    fn parse(s: &str) -> Result<TicketRequestKind, StoreError> {
        match s {
            "open" => Ok(TicketRequestKind::Open),
            "reply" => Ok(TicketRequestKind::Reply),
            "feedback" => Ok(TicketRequestKind::Feedback),
            other => Err(StoreError::Decode(format!(
                "tipo de pedido de chamado desconhecido: {other}"
            ))),
        }
    }
}

/// Where a queued request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketQueueState {
    /// Waiting to be sent (never sent, or no answer yet).
    Pending,
    /// The central answered and took it.
    Sent,
    /// The central refused it for good; kept, with its reason, until the person discards it.
    Failed,
}

impl TicketQueueState {
    fn name(self) -> &'static str {
        match self {
            TicketQueueState::Pending => "pending",
            TicketQueueState::Sent => "sent",
            TicketQueueState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<TicketQueueState, StoreError> {
        match s {
            "pending" => Ok(TicketQueueState::Pending),
            "sent" => Ok(TicketQueueState::Sent),
            "failed" => Ok(TicketQueueState::Failed),
            other => Err(StoreError::Decode(format!(
                "estado de pedido de chamado desconhecido: {other}"
            ))),
        }
    }
}

/// The ticket a reply or feedback goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketTarget {
    /// A ticket the central already numbered (its id).
    Central(i64),
    /// A ticket opened from this queue whose id the central has not given yet (its open's
    /// `client_id`); the request waits for it.
    Queued(Uuid),
}

/// A request to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicketRequest<'a> {
    /// Chosen once, when the person pressed the button.
    pub client_id: Uuid,
    /// What it asks.
    pub kind: TicketRequestKind,
    /// The ticket it goes to; `None` for an open.
    pub target: Option<TicketTarget>,
    /// Who asked (their login).
    pub login: &'a str,
    /// A line for the screen (the title, the reply's first words, the rating).
    pub summary: &'a str,
    /// The request's JSON, exactly as it will be sent every time.
    pub body: &'a str,
}

/// One queued request (its body apart: [`Store::ticket_request_body`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRequest {
    /// Queue order.
    pub seq: i64,
    /// The request's `client_id`.
    pub client_id: Uuid,
    /// What it asks.
    pub kind: TicketRequestKind,
    /// The central's id of the ticket it goes to, once known.
    pub ticket_id: Option<i64>,
    /// The open this request waits for, when it went to a ticket opened offline.
    pub ticket_client_id: Option<Uuid>,
    /// Who asked.
    pub login: String,
    /// The line for the screen.
    pub summary: String,
    /// When it was queued (this machine's clock: only for ordering and display).
    pub queued_at: DateTime<Utc>,
    /// Where it stands.
    pub state: TicketQueueState,
    /// Attempts made.
    pub attempts: u32,
    /// Not before.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not go through, in Portuguese.
    pub last_error: Option<String>,
    /// The central's answer (JSON), once sent.
    pub answer: Option<String>,
    /// With an open: the ticket's id at the central, once sent.
    pub answer_ticket_id: Option<i64>,
    /// With an open: the number people read, once sent.
    pub answer_number: Option<String>,
    /// When the central's answer arrived.
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "seq, client_id, kind, ticket_id, ticket_client_id, login, summary, \
     queued_at, state, attempts, next_attempt_at, last_error, answer, answer_ticket_id, \
     answer_number, sent_at";

fn time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| StoreError::Decode(format!("data ilegível {s}: {e}")))
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Decode(format!("identificador ilegível: {s}")))
}

/// The columns as SQLite holds them, decoded after the statement ends.
struct RawRow {
    seq: i64,
    client_id: String,
    kind: String,
    ticket_id: Option<i64>,
    ticket_client_id: Option<String>,
    login: String,
    summary: String,
    queued_at: String,
    state: String,
    attempts: u32,
    next_attempt_at: String,
    last_error: Option<String>,
    answer: Option<String>,
    answer_ticket_id: Option<i64>,
    answer_number: Option<String>,
    sent_at: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: r.get(0)?,
        client_id: r.get(1)?,
        kind: r.get(2)?,
        ticket_id: r.get(3)?,
        ticket_client_id: r.get(4)?,
        login: r.get(5)?,
        summary: r.get(6)?,
        queued_at: r.get(7)?,
        state: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        last_error: r.get(11)?,
        answer: r.get(12)?,
        answer_ticket_id: r.get(13)?,
        answer_number: r.get(14)?,
        sent_at: r.get(15)?,
    })
}

fn decode(r: RawRow) -> Result<TicketRequest, StoreError> {
    Ok(TicketRequest {
        seq: r.seq,
        client_id: uuid(&r.client_id)?,
        kind: TicketRequestKind::parse(&r.kind)?,
        ticket_id: r.ticket_id,
        ticket_client_id: r.ticket_client_id.as_deref().map(uuid).transpose()?,
        login: r.login,
        summary: r.summary,
        queued_at: time(&r.queued_at)?,
        state: TicketQueueState::parse(&r.state)?,
        attempts: r.attempts,
        next_attempt_at: time(&r.next_attempt_at)?,
        last_error: r.last_error,
        answer: r.answer,
        answer_ticket_id: r.answer_ticket_id,
        answer_number: r.answer_number,
        sent_at: r.sent_at.as_deref().map(time).transpose()?,
    })
}

fn get(conn: &Connection, client_id: Uuid) -> Result<Option<TicketRequest>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM ticket_queue WHERE client_id = ?1"),
        [client_id.to_string()],
        from_row,
    )
    .optional()?
    .map(decode)
    .transpose()
}

fn list(conn: &Connection) -> Result<Vec<TicketRequest>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM ticket_queue ORDER BY seq"))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode(row?)?);
    }
    Ok(out)
}

impl Store {
    /// Queues a request, durably, before anything is sent. The same `client_id` queued again
    /// (a double press, a retry of the screen) returns the request already queued and changes
    /// nothing; with another kind or ticket it is refused. A reply or feedback to a queued open
    /// needs that open in the queue.
    pub fn queue_ticket_request(
        &mut self,
        new: &NewTicketRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<TicketRequest, StoreError> {
        let (ticket_id, ticket_client_id) = match (new.kind, new.target) {
            (TicketRequestKind::Open, None) => (None, None),
            (TicketRequestKind::Open, Some(_)) => {
                return Err(StoreError::Invalid(
                    "um chamado novo não pertence a outro chamado".to_owned(),
                ));
            }
            (_, None) => {
                return Err(StoreError::Invalid(
                    "resposta ou avaliação sem o chamado a que se refere".to_owned(),
                ));
            }
            (_, Some(TicketTarget::Central(id))) => (Some(id), None),
            (_, Some(TicketTarget::Queued(open))) => {
                let Some(found) = get(&self.conn, open)? else {
                    return Err(StoreError::Invalid(format!(
                        "o chamado {open} não está na fila desta estação"
                    )));
                };
                if found.kind != TicketRequestKind::Open {
                    return Err(StoreError::Invalid(format!(
                        "{open} não é a abertura de um chamado"
                    )));
                }
                // Already numbered: go straight to it.
                (found.answer_ticket_id, Some(open))
            }
        };
        let tx = self.conn.transaction()?;
        if let Some(existing) = get(&tx, new.client_id)? {
            let same = existing.kind == new.kind
                && (existing.ticket_client_id == ticket_client_id
                    && (ticket_client_id.is_some() || existing.ticket_id == ticket_id));
            return if same {
                Ok(existing)
            } else {
                Err(StoreError::Invalid(format!(
                    "o identificador {} já foi usado em outro pedido",
                    new.client_id
                )))
            };
        }
        tx.execute(
            "INSERT INTO ticket_queue (client_id, kind, ticket_id, ticket_client_id, login, \
             summary, body, queued_at, state, attempts, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?8)",
            params![
                new.client_id.to_string(),
                new.kind.name(),
                ticket_id,
                ticket_client_id.map(|u| u.to_string()),
                new.login,
                new.summary,
                new.body,
                rfc3339(now),
            ],
        )?;
        let queued = get(&tx, new.client_id)?
            .ok_or_else(|| StoreError::Decode("pedido recém-gravado não encontrado".to_owned()))?;
        tx.commit()?;
        Ok(queued)
    }

    /// Every queued request, in queue order (bodies apart).
    pub fn ticket_requests(&self) -> Result<Vec<TicketRequest>, StoreError> {
        list(&self.conn)
    }

    /// One queued request.
    pub fn ticket_request(&self, client_id: Uuid) -> Result<Option<TicketRequest>, StoreError> {
        get(&self.conn, client_id)
    }

    /// The JSON a request sends, exactly as queued.
    pub fn ticket_request_body(&self, client_id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT body FROM ticket_queue WHERE client_id = ?1",
                [client_id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Writes what an attempt changed: state, attempts, schedule, error, the central's answer,
    /// and the ticket's id once the open it waited for was numbered.
    pub fn update_ticket_request(&mut self, r: &TicketRequest) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE ticket_queue SET ticket_id = ?2, state = ?3, attempts = ?4, \
             next_attempt_at = ?5, last_error = ?6, answer = ?7, answer_ticket_id = ?8, \
             answer_number = ?9, sent_at = ?10 WHERE client_id = ?1",
            params![
                r.client_id.to_string(),
                r.ticket_id,
                r.state.name(),
                r.attempts,
                rfc3339(r.next_attempt_at),
                r.last_error,
                r.answer,
                r.answer_ticket_id,
                r.answer_number,
                r.sent_at.map(rfc3339),
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!(
                "pedido {} não está na fila",
                r.client_id
            )));
        }
        Ok(())
    }

    /// Removes a request the central refused for good, when the person says so; with an open,
    /// the replies and answers queued for that ticket go with it (they could never be sent).
    /// Only a refused request can go: one that may still reach the central stays. Returns how
    /// many requests were removed.
    pub fn discard_ticket_request(&mut self, client_id: Uuid) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let Some(found) = get(&tx, client_id)? else {
            return Ok(0);
        };
        if found.state != TicketQueueState::Failed {
            return Err(StoreError::Invalid(
                "só um pedido recusado pela central pode ser descartado".to_owned(),
            ));
        }
        let dependants = tx.execute(
            "DELETE FROM ticket_queue WHERE ticket_client_id = ?1 AND state != 'sent'",
            [client_id.to_string()],
        )?;
        let own = tx.execute(
            "DELETE FROM ticket_queue WHERE client_id = ?1",
            [client_id.to_string()],
        )?;
        tx.commit()?;
        Ok(own + dependants)
    }

    /// Keeps the central's latest listing of the station's tickets (and its categories).
    pub fn save_ticket_listing(
        &mut self,
        listing: &StationTickets,
        fetched_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(listing)
            .map_err(|e| StoreError::Invalid(format!("lista de chamados: {e}")))?;
        self.conn.execute(
            "INSERT INTO ticket_listing (id, body, fetched_at) VALUES (1, ?1, ?2) \
             ON CONFLICT(id) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
            params![body, rfc3339(fetched_at)],
        )?;
        Ok(())
    }

    /// The last listing kept, with when it was fetched.
    pub fn ticket_listing(&self) -> Result<Option<(StationTickets, DateTime<Utc>)>, StoreError> {
        let found: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT body, fetched_at FROM ticket_listing WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((body, at)) = found else {
            return Ok(None);
        };
        let listing = serde_json::from_str(&body)
            .map_err(|e| StoreError::Decode(format!("lista de chamados guardada: {e}")))?;
        Ok(Some((listing, time(&at)?)))
    }
}

#[cfg(test)]
#[path = "tickets_tests.rs"]
mod tests;
