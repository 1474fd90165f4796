//! Rows to values and back: timestamps, codes and the decoders of each table's rows. A row is read
//! into raw parts first (rusqlite's closures cannot return our error), then decoded.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Row;

use crate::model::{
    Attachment, AttachmentId, Channel, Contact, ContactId, Job, JobId, JobKind, Message, MessageId,
    MessageKind, Outbound, OutboundId, Purpose, Side, Status, Ticket, TicketId, TicketKind,
};
use crate::store::{StoreError, StoreResult};

pub(super) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

pub(super) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("data {s:?}: {e}")))
}

fn parse_opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

pub(super) fn side_code(side: Side) -> &'static str {
    match side {
        Side::Requester => "requester",
        Side::Team => "team",
    }
}

fn side_from(code: &str) -> StoreResult<Side> {
    match code {
        "requester" => Ok(Side::Requester),
        "team" => Ok(Side::Team),
        other => Err(corrupt("lado", other)),
    }
}

/// Reads a row into raw parts first (rusqlite's closures cannot return our error), then decodes.
pub(super) fn ticket_from(row: &Row) -> rusqlite::Result<StoreResult<Ticket>> {
    let channel: String = row.get(2)?;
    let kind: String = row.get(9)?;
    let status: String = row.get(10)?;
    let created: String = row.get(12)?;
    let times: [Option<String>; 6] = [
        row.get(13)?,
        row.get(14)?,
        row.get(15)?,
        row.get(16)?,
        row.get(17)?,
        row.get(18)?,
    ];
    let id: i64 = row.get(0)?;
    let version: i64 = row.get(1)?;
    let contact: i64 = row.get(3)?;
    let station: Option<String> = row.get(4)?;
    let category: String = row.get(5)?;
    let title: String = row.get(6)?;
    let description: String = row.get(7)?;
    let urgency: i64 = row.get(8)?;
    let technician: Option<String> = row.get(11)?;
    let rating: Option<i64> = row.get(19)?;
    let rating_comment: Option<String> = row.get(20)?;
    let reopened: i64 = row.get(21)?;
    let glpi_id: Option<i64> = row.get(22)?;
    let glpi_status: Option<i64> = row.get(23)?;
    Ok((|| {
        let [confirmed, assigned, first_answer, solved, feedback, closed] = times;
        Ok(Ticket {
            id: TicketId(id),
            version,
            channel: Channel::from_code(&channel).ok_or_else(|| corrupt("canal", &channel))?,
            contact_id: ContactId(contact),
            station,
            category,
            title,
            description,
            urgency: u8::try_from(urgency)
                .map_err(|_| corrupt("urgência", &urgency.to_string()))?,
            kind: TicketKind::from_code(&kind).ok_or_else(|| corrupt("tipo", &kind))?,
            status: Status::from_code(&status).ok_or_else(|| corrupt("situação", &status))?,
            technician,
            created_at: parse_ts(&created)?,
            confirmed_at: parse_opt_ts(confirmed)?,
            assigned_at: parse_opt_ts(assigned)?,
            first_answer_at: parse_opt_ts(first_answer)?,
            solved_at: parse_opt_ts(solved)?,
            feedback_asked_at: parse_opt_ts(feedback)?,
            closed_at: parse_opt_ts(closed)?,
            rating: rating
                .map(|r| u8::try_from(r).map_err(|_| corrupt("avaliação", &r.to_string())))
                .transpose()?,
            rating_comment,
            reopened: u32::try_from(reopened).unwrap_or(0),
            glpi_id,
            glpi_status,
        })
    })())
}

pub(super) fn contact_from(row: &Row) -> rusqlite::Result<StoreResult<Contact>> {
    let created: String = row.get(7)?;
    let contact = Contact {
        id: ContactId(row.get(0)?),
        name: row.get(1)?,
        email: row.get(2)?,
        phone: row.get(3)?,
        station: row.get(4)?,
        glpi_user_id: row.get(5)?,
        deleted: row.get::<_, i64>(6)? != 0,
        created_at: Utc::now(),
    };
    Ok(parse_ts(&created).map(|created_at| Contact {
        created_at,
        ..contact
    }))
}

pub(super) fn message_from(row: &Row) -> rusqlite::Result<StoreResult<Message>> {
    let kind: String = row.get(2)?;
    let side: String = row.get(3)?;
    let created: String = row.get(6)?;
    let id: i64 = row.get(0)?;
    let ticket: i64 = row.get(1)?;
    let author: String = row.get(4)?;
    let text: String = row.get(5)?;
    let glpi_id: Option<i64> = row.get(7)?;
    Ok((|| {
        Ok(Message {
            id: MessageId(id),
            ticket_id: TicketId(ticket),
            kind: MessageKind::from_code(&kind).ok_or_else(|| corrupt("mensagem", &kind))?,
            side: side_from(&side)?,
            author,
            text,
            created_at: parse_ts(&created)?,
            glpi_id,
        })
    })())
}

pub(super) fn attachment_from(row: &Row) -> rusqlite::Result<StoreResult<Attachment>> {
    let side: String = row.get(3)?;
    let created: String = row.get(10)?;
    let size: Option<i64> = row.get(6)?;
    let base = Attachment {
        id: AttachmentId(row.get(0)?),
        ticket_id: TicketId(row.get(1)?),
        message_id: row.get::<_, Option<i64>>(2)?.map(MessageId),
        side: Side::Requester,
        filename: row.get(4)?,
        mime: row.get(5)?,
        size: size.and_then(|s| u64::try_from(s).ok()),
        sha256: row.get(7)?,
        wa_media_id: row.get(8)?,
        glpi_document_id: row.get(9)?,
        created_at: Utc::now(),
    };
    Ok((|| {
        Ok(Attachment {
            side: side_from(&side)?,
            created_at: parse_ts(&created)?,
            ..base
        })
    })())
}

pub(super) fn outbound_from(row: &Row) -> rusqlite::Result<StoreResult<Outbound>> {
    let channel: String = row.get(3)?;
    let purpose: String = row.get(4)?;
    let body: String = row.get(5)?;
    let created: String = row.get(6)?;
    let delivered: Option<String> = row.get(7)?;
    let id: i64 = row.get(0)?;
    let ticket: Option<i64> = row.get(1)?;
    let contact: i64 = row.get(2)?;
    let external_id: Option<String> = row.get(8)?;
    let failed: Option<String> = row.get(9)?;
    Ok((|| {
        Ok(Outbound {
            id: OutboundId(id),
            ticket_id: ticket.map(TicketId),
            contact_id: ContactId(contact),
            channel: Channel::from_code(&channel).ok_or_else(|| corrupt("canal", &channel))?,
            purpose: Purpose::from_code(&purpose).ok_or_else(|| corrupt("finalidade", &purpose))?,
            body: serde_json::from_str(&body).map_err(|e| corrupt("mensagem", &e.to_string()))?,
            created_at: parse_ts(&created)?,
            delivered_at: parse_opt_ts(delivered)?,
            external_id,
            failed,
        })
    })())
}

pub(super) fn job_from(row: &Row) -> rusqlite::Result<StoreResult<Job>> {
    let kind: String = row.get(1)?;
    let in_flight: Option<String> = row.get(5)?;
    let next: String = row.get(6)?;
    let id: i64 = row.get(0)?;
    let ticket: Option<i64> = row.get(2)?;
    let target: i64 = row.get(3)?;
    let attempts: i64 = row.get(4)?;
    let last_error: Option<String> = row.get(7)?;
    Ok((|| {
        Ok(Job {
            id: JobId(id),
            kind: JobKind::from_code(&kind).ok_or_else(|| corrupt("tarefa", &kind))?,
            ticket_id: ticket.map(TicketId),
            target,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            in_flight_since: parse_opt_ts(in_flight)?,
            next_at: parse_ts(&next)?,
            last_error,
        })
    })())
}

/// Collects decoded rows, the first decoding error winning.
pub(super) fn collect<T>(
    rows: impl Iterator<Item = rusqlite::Result<StoreResult<T>>>,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db)??);
    }
    Ok(out)
}
