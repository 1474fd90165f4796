//! The stations' side of the store: the request ids their kiosks chose (one ticket, message or
//! feedback per id, recorded in the transaction of the change it made) and the contact of each
//! login at a station.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::rows::{contact_from, db, ts};
use super::schema::CONTACT_COLUMNS;
use super::write::is_unique_violation;
use crate::model::{Contact, ContactId, Status, Ticket, TicketId};
use crate::store::{ClientRequest, RecordedRequest, RequestKind, StoreError, StoreResult};

/// Records `request` as done by this transaction, leaving `ticket` as it is now.
pub(super) fn record(
    tx: &Transaction,
    request: &ClientRequest,
    ticket: Option<&Ticket>,
    at: &DateTime<Utc>,
) -> StoreResult<()> {
    let ticket = ticket.ok_or_else(|| StoreError::NotFound("pedido sem chamado".to_owned()))?;
    tx.execute(
        "INSERT INTO client_requests (scope, client_id, kind, ticket_id, status, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            request.scope,
            request.client_id,
            request.kind.code(),
            ticket.id.0,
            ticket.status.code(),
            ts(at)
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists(format!("pedido {}", request.client_id))
        } else {
            db(e)
        }
    })?;
    Ok(())
}

pub(super) fn lookup(
    conn: &Connection,
    scope: &str,
    client_id: &str,
) -> StoreResult<Option<RecordedRequest>> {
    let row: Option<(String, i64, String)> = conn
        .query_row(
            "SELECT kind, ticket_id, status FROM client_requests WHERE scope = ?1 AND client_id = ?2",
            params![scope, client_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((kind, ticket, status)) = row else {
        return Ok(None);
    };
    Ok(Some(RecordedRequest {
        kind: RequestKind::from_code(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("tipo de pedido {kind:?}")))?,
        ticket_id: TicketId(ticket),
        status: Status::from_code(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("estado {status:?}")))?,
    }))
}

pub(super) fn opened_by(conn: &Connection, scope: &str) -> StoreResult<BTreeMap<TicketId, String>> {
    let mut stmt = conn
        .prepare(
            "SELECT ticket_id, client_id FROM client_requests WHERE scope = ?1 AND kind = 'open'",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([scope], |r| {
            Ok((TicketId(r.get(0)?), r.get::<_, String>(1)?))
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
        .map_err(db)
}

fn contact_in(conn: &Connection, id: ContactId) -> StoreResult<Option<Contact>> {
    conn.query_row(
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"),
        [id.0],
        contact_from,
    )
    .optional()
    .map_err(db)?
    .transpose()
}

pub(super) fn kiosk_contact(
    conn: &mut Connection,
    station: &str,
    login: &str,
    name: &str,
    at: &DateTime<Utc>,
) -> StoreResult<Contact> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let known: Option<i64> = tx
        .query_row(
            "SELECT k.contact_id FROM kiosk_contacts k JOIN contacts c ON c.id = k.contact_id \
             WHERE k.station = ?1 AND k.login = ?2 AND c.deleted = 0",
            params![station, login],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let id = match known {
        Some(id) => {
            // The station's user list is the source of the name: a renamed person's next
            // ticket carries the new one.
            tx.execute(
                "UPDATE contacts SET name = ?2 WHERE id = ?1 AND name <> ?2",
                params![id, name],
            )
            .map_err(db)?;
            ContactId(id)
        }
        None => {
            tx.execute(
                "INSERT INTO contacts (name, station, created_at) VALUES (?1, ?2, ?3)",
                params![name, station, ts(at)],
            )
            .map_err(db)?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO kiosk_contacts (station, login, contact_id) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(station, login) DO UPDATE SET contact_id = excluded.contact_id",
                params![station, login, id],
            )
            .map_err(db)?;
            ContactId(id)
        }
    };
    let contact =
        contact_in(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("contato {}", id.0)))?;
    tx.commit().map_err(db)?;
    Ok(contact)
}
