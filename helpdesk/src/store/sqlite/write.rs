//! Writing a change's parts inside its transaction: tickets (version-checked), attachments,
//! outbound messages, and the jobs each one needs.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::rows::{db, side_code, ts};
use crate::model::{
    AttachmentId, JobKind, MessageId, NewAttachment, NewOutbound, OutboundBody, OutboundId, Side,
    Ticket, TicketId,
};
use crate::store::{StoreError, StoreResult};

pub(super) fn insert_job(
    tx: &Transaction,
    kind: JobKind,
    ticket: Option<TicketId>,
    target: i64,
    at: &DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO jobs (kind, ticket_id, target, next_at) VALUES (?1, ?2, ?3, ?4)",
        params![kind.code(), ticket.map(|t| t.0), target, ts(at)],
    )
    .map_err(db)?;
    Ok(())
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

pub(super) fn len_i64(b: &[u8]) -> i64 {
    i64::try_from(b.len()).unwrap_or(i64::MAX)
}

pub(super) fn insert_attachment(
    tx: &Transaction,
    ticket: TicketId,
    message: MessageId,
    side: Side,
    att: &NewAttachment,
    push: bool,
    at: &DateTime<Utc>,
) -> StoreResult<AttachmentId> {
    let (size, sha) = match &att.bytes {
        Some(b) => (Some(len_i64(b)), Some(hex::encode(Sha256::digest(b)))),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO attachments (ticket_id, message_id, side, filename, mime, size, sha256, \
         wa_media_id, created_at, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            ticket.0,
            message.0,
            side_code(side),
            att.filename,
            att.mime,
            size,
            sha,
            att.wa_media_id,
            ts(at),
            att.bytes
        ],
    )
    .map_err(db)?;
    let id = AttachmentId(tx.last_insert_rowid());
    if att.bytes.is_none() && att.wa_media_id.is_some() {
        insert_job(tx, JobKind::FetchMedia, Some(ticket), id.0, at)?;
    }
    if push {
        insert_job(tx, JobKind::GlpiDocument, Some(ticket), id.0, at)?;
    }
    Ok(id)
}

pub(super) fn insert_outbound(
    tx: &Transaction,
    ticket: Option<TicketId>,
    out: &NewOutbound,
    attachments: &[Vec<AttachmentId>],
    at: &DateTime<Utc>,
) -> StoreResult<OutboundId> {
    let mut body = out.body.clone();
    if let (Some(r), OutboundBody::Media { attachment, .. }) = (out.media, &mut body) {
        *attachment = *attachments
            .get(r.message)
            .and_then(|m| m.get(r.attachment))
            .ok_or_else(|| StoreError::NotFound(format!("anexo {}:{}", r.message, r.attachment)))?;
    }
    let json = serde_json::to_string(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO outbound (ticket_id, contact_id, channel, purpose, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ticket.map(|t| t.0),
            out.contact_id.0,
            out.channel.code(),
            out.purpose.code(),
            json,
            ts(at)
        ],
    )
    .map_err(db)?;
    let id = OutboundId(tx.last_insert_rowid());
    insert_job(tx, JobKind::Deliver, ticket, id.0, at)?;
    Ok(id)
}

pub(super) fn update_ticket(tx: &Transaction, t: &Ticket) -> StoreResult<()> {
    let n = tx
        .execute(
            "UPDATE tickets SET version = version + 1, station = ?3, category = ?4, title = ?5, \
             description = ?6, urgency = ?7, kind = ?8, status = ?9, technician = ?10, \
             confirmed_at = ?11, assigned_at = ?12, first_answer_at = ?13, solved_at = ?14, \
             feedback_asked_at = ?15, closed_at = ?16, rating = ?17, rating_comment = ?18, \
             reopened = ?19, glpi_id = ?20, glpi_status = ?21 \
             WHERE id = ?1 AND version = ?2",
            params![
                t.id.0,
                t.version,
                t.station,
                t.category,
                t.title,
                t.description,
                t.urgency,
                t.kind.code(),
                t.status.code(),
                t.technician,
                t.confirmed_at.as_ref().map(ts),
                t.assigned_at.as_ref().map(ts),
                t.first_answer_at.as_ref().map(ts),
                t.solved_at.as_ref().map(ts),
                t.feedback_asked_at.as_ref().map(ts),
                t.closed_at.as_ref().map(ts),
                t.rating,
                t.rating_comment,
                t.reopened,
                t.glpi_id,
                t.glpi_status
            ],
        )
        .map_err(db)?;
    if n == 1 {
        return Ok(());
    }
    let exists: bool = tx
        .query_row("SELECT 1 FROM tickets WHERE id = ?1", [t.id.0], |_| {
            Ok(true)
        })
        .optional()
        .map_err(db)?
        .unwrap_or(false);
    Err(if exists {
        StoreError::Conflict(t.id)
    } else {
        StoreError::NotFound(t.id.reference())
    })
}
