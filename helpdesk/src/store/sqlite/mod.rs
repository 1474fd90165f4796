//! [`HelpdeskStore`] in one SQLite file (WAL, `synchronous=FULL`: a committed transaction
//! survives a power cut), schema versions in `user_version`. One connection behind a mutex is
//! plenty for a help desk; attachments are kept as BLOBs beside their rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{
    Change, Committed, HelpdeskStore, JobOutcome, RecordedRequest, StoreError, StoreResult,
    TicketFilter, TicketWrite,
};
use crate::config::Category;
use crate::model::{
    Attachment, AttachmentId, Contact, ContactId, ContactInput, Job, JobId, JobKind, Message,
    MessageId, MessageKind, Outbound, OutboundId, Purpose, Ticket, TicketId, TicketKind,
};

mod clients;
mod rows;
mod schema;
mod write;

use rows::{
    attachment_from, collect, contact_from, db, job_from, message_from, outbound_from, side_code,
    ticket_from, ts,
};
use schema::{
    ATTACHMENT_COLUMNS, CONTACT_COLUMNS, JOB_COLUMNS, MESSAGE_COLUMNS, MIGRATIONS,
    OUTBOUND_COLUMNS, TICKET_COLUMNS,
};
use write::{
    insert_attachment, insert_job, insert_outbound, is_unique_violation, len_i64, update_ticket,
};

/// SQLite-backed [`HelpdeskStore`].
pub struct SqliteHelpdesk {
    conn: Mutex<Connection>,
}

impl SqliteHelpdesk {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<SqliteHelpdesk> {
        let conn = Connection::open(path).map_err(db)?;
        Self::setup(conn, true)
    }

    /// An in-memory database (tests, demo).
    pub fn in_memory() -> StoreResult<SqliteHelpdesk> {
        let conn = Connection::open_in_memory().map_err(db)?;
        Self::setup(conn, false)
    }

    fn setup(conn: Connection, wal: bool) -> StoreResult<SqliteHelpdesk> {
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)?;
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > known {
            return Err(StoreError::Corrupt(format!(
                "o banco do help desk é de uma versão mais nova (esquema {version}, conhecido {known})"
            )));
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            let next = i64::try_from(i + 1).unwrap_or(i64::MAX);
            conn.execute_batch(&format!(
                "BEGIN; {sql} PRAGMA user_version = {next}; COMMIT;"
            ))
            .map_err(db)?;
        }
        Ok(SqliteHelpdesk {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ticket_in(conn: &Connection, id: TicketId) -> StoreResult<Option<Ticket>> {
        conn.query_row(
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"),
            [id.0],
            ticket_from,
        )
        .optional()
        .map_err(db)?
        .transpose()
    }
}

fn contact_params(
    input: &ContactInput,
) -> (String, Option<String>, Option<String>, Option<String>) {
    let clean = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    (
        input.name.trim().to_owned(),
        clean(&input.email),
        clean(&input.phone),
        clean(&input.station),
    )
}

impl HelpdeskStore for SqliteHelpdesk {
    fn add_contact(&self, input: &ContactInput, at: DateTime<Utc>) -> StoreResult<Contact> {
        let conn = self.conn();
        let (name, email, phone, station) = contact_params(input);
        conn.execute(
            "INSERT INTO contacts (name, email, phone, station, glpi_user_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, email, phone, station, input.glpi_user_id, ts(&at)],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::AlreadyExists(format!(
                    "contato com o número {}",
                    phone.clone().unwrap_or_default()
                ))
            } else {
                db(e)
            }
        })?;
        let id = ContactId(conn.last_insert_rowid());
        drop(conn);
        self.contact(id)?
            .ok_or_else(|| StoreError::NotFound(format!("contato {}", id.0)))
    }

    fn update_contact(&self, id: ContactId, input: &ContactInput) -> StoreResult<Contact> {
        let conn = self.conn();
        let (name, email, phone, station) = contact_params(input);
        let n = conn
            .execute(
                "UPDATE contacts SET name = ?2, email = ?3, phone = ?4, station = ?5, glpi_user_id = ?6 \
                 WHERE id = ?1",
                params![id.0, name, email, phone, station, input.glpi_user_id],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("contato com o número {}", phone.clone().unwrap_or_default()))
                } else {
                    db(e)
                }
            })?;
        drop(conn);
        if n == 0 {
            return Err(StoreError::NotFound(format!("contato {}", id.0)));
        }
        self.contact(id)?
            .ok_or_else(|| StoreError::NotFound(format!("contato {}", id.0)))
    }

    fn delete_contact(&self, id: ContactId) -> StoreResult<()> {
        let n = self
            .conn()
            .execute("UPDATE contacts SET deleted = 1 WHERE id = ?1", [id.0])
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("contato {}", id.0)));
        }
        Ok(())
    }

    fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>> {
        self.conn()
            .query_row(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"),
                [id.0],
                contact_from,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn contact_by_phone(&self, phone: &str) -> StoreResult<Option<Contact>> {
        self.conn()
            .query_row(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE phone = ?1 AND deleted = 0"),
                [phone],
                contact_from,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn contacts(&self) -> StoreResult<Vec<Contact>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE deleted = 0 ORDER BY name, id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([], contact_from).map_err(db)?;
        collect(rows)
    }

    fn commit(&self, change: &Change, at: DateTime<Utc>) -> StoreResult<Committed> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if let Some(id) = &change.inbound_id {
            tx.execute(
                "INSERT INTO inbound_seen (id, at) VALUES (?1, ?2)",
                params![id, ts(&at)],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::AlreadyExists(format!("mensagem {id}"))
                } else {
                    db(e)
                }
            })?;
        }
        let ticket = match &change.ticket {
            None => None,
            Some(TicketWrite::Open(new)) => {
                tx.execute(
                    "INSERT INTO tickets (version, channel, contact_id, station, category, title, \
                     description, urgency, kind, status, created_at) \
                     VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'new', ?9)",
                    params![
                        new.channel.code(),
                        new.contact_id.0,
                        new.station,
                        new.category,
                        new.title,
                        new.description,
                        new.urgency,
                        new.kind.code(),
                        ts(&at)
                    ],
                )
                .map_err(db)?;
                let id = TicketId(tx.last_insert_rowid());
                insert_job(&tx, JobKind::GlpiCreateTicket, Some(id), id.0, &at)?;
                Some(id)
            }
            Some(TicketWrite::Update(t)) => {
                update_ticket(&tx, t)?;
                Some(t.id)
            }
        };
        let need_ticket =
            || ticket.ok_or_else(|| StoreError::NotFound("mensagem sem chamado".to_owned()));
        let mut message_ids = Vec::with_capacity(change.messages.len());
        let mut attachment_ids = Vec::with_capacity(change.messages.len());
        for m in &change.messages {
            let tid = need_ticket()?;
            tx.execute(
                "INSERT INTO messages (ticket_id, kind, side, author, text, created_at, glpi_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    tid.0,
                    m.kind.code(),
                    side_code(m.side),
                    m.author,
                    m.text,
                    ts(&at),
                    m.glpi_id
                ],
            )
            .map_err(db)?;
            let mid = MessageId(tx.last_insert_rowid());
            let push = m.glpi_id.is_none();
            if push {
                let kind = match m.kind {
                    MessageKind::Solution => JobKind::GlpiSolution,
                    MessageKind::Followup | MessageKind::Refusal => JobKind::GlpiFollowup,
                };
                insert_job(&tx, kind, Some(tid), mid.0, &at)?;
            }
            let mut ids = Vec::with_capacity(m.attachments.len());
            for a in &m.attachments {
                ids.push(insert_attachment(&tx, tid, mid, m.side, a, push, &at)?);
            }
            message_ids.push(mid);
            attachment_ids.push(ids);
        }
        let mut outbound_ids = Vec::with_capacity(change.outbound.len());
        for o in &change.outbound {
            outbound_ids.push(insert_outbound(&tx, ticket, o, &attachment_ids, &at)?);
        }
        for kind in &change.jobs {
            let tid = need_ticket()?;
            insert_job(&tx, *kind, Some(tid), tid.0, &at)?;
        }
        if let Some((phone, state)) = &change.chat {
            match state {
                Some(s) => tx.execute(
                    "INSERT INTO chat_states (phone, state) VALUES (?1, ?2) \
                     ON CONFLICT(phone) DO UPDATE SET state = excluded.state",
                    params![phone, s],
                ),
                None => tx.execute("DELETE FROM chat_states WHERE phone = ?1", [phone]),
            }
            .map_err(db)?;
        }
        let stored = match ticket {
            Some(id) => Self::ticket_in(&tx, id)?,
            None => None,
        };
        if let Some(request) = &change.request {
            clients::record(&tx, request, stored.as_ref(), &at)?;
        }
        tx.commit().map_err(db)?;
        Ok(Committed {
            ticket: stored,
            messages: message_ids,
            outbound: outbound_ids,
        })
    }

    fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        Self::ticket_in(&self.conn(), id)
    }

    fn tickets(&self, filter: &TicketFilter) -> StoreResult<Vec<Ticket>> {
        let mut sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE 1 = 1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    args.push(Box::new(s.code()));
                    format!("?{}", args.len())
                })
                .collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        if let Some(c) = filter.contact_id {
            args.push(Box::new(c.0));
            sql.push_str(&format!(" AND contact_id = ?{}", args.len()));
        }
        if let Some(s) = &filter.station {
            args.push(Box::new(s.clone()));
            sql.push_str(&format!(" AND station = ?{}", args.len()));
        }
        if let Some(t) = &filter.technician {
            args.push(Box::new(t.clone()));
            sql.push_str(&format!(" AND technician = ?{}", args.len()));
        }
        match filter.in_glpi {
            Some(true) => sql.push_str(" AND glpi_id IS NOT NULL"),
            Some(false) => sql.push_str(" AND glpi_id IS NULL"),
            None => {}
        }
        sql.push_str(" ORDER BY id");
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), ticket_from)
            .map_err(db)?;
        collect(rows)
    }

    fn messages(&self, ticket: TicketId) -> StoreResult<Vec<Message>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE ticket_id = ?1 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([ticket.0], message_from).map_err(db)?;
        collect(rows)
    }

    fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        self.conn()
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"),
                [id.0],
                message_from,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn set_message_glpi_id(&self, id: MessageId, glpi_id: i64) -> StoreResult<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE messages SET glpi_id = ?2 WHERE id = ?1",
                params![id.0, glpi_id],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("mensagem {}", id.0)));
        }
        Ok(())
    }

    fn attachments(&self, ticket: TicketId) -> StoreResult<Vec<Attachment>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE ticket_id = ?1 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([ticket.0], attachment_from).map_err(db)?;
        collect(rows)
    }

    fn attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        self.conn()
            .query_row(
                &format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = ?1"),
                [id.0],
                attachment_from,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn attachment_bytes(&self, id: AttachmentId) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row("SELECT bytes FROM attachments WHERE id = ?1", [id.0], |r| {
                r.get::<_, Option<Vec<u8>>>(0)
            })
            .optional()
            .map_err(db)?
            .flatten())
    }

    fn set_attachment_bytes(&self, id: AttachmentId, mime: &str, bytes: &[u8]) -> StoreResult<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE attachments SET bytes = ?2, mime = ?3, size = ?4, sha256 = ?5 WHERE id = ?1",
                params![id.0, bytes, mime, len_i64(bytes), hex::encode(Sha256::digest(bytes))],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("anexo {}", id.0)));
        }
        Ok(())
    }

    fn set_attachment_glpi_id(&self, id: AttachmentId, glpi_id: i64) -> StoreResult<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE attachments SET glpi_document_id = ?2 WHERE id = ?1",
                params![id.0, glpi_id],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("anexo {}", id.0)));
        }
        Ok(())
    }

    fn outbound(&self, id: OutboundId) -> StoreResult<Option<Outbound>> {
        self.conn()
            .query_row(
                &format!("SELECT {OUTBOUND_COLUMNS} FROM outbound WHERE id = ?1"),
                [id.0],
                outbound_from,
            )
            .optional()
            .map_err(db)?
            .transpose()
    }

    fn outbound_for_contact(&self, contact: ContactId) -> StoreResult<Vec<Outbound>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {OUTBOUND_COLUMNS} FROM outbound WHERE contact_id = ?1 ORDER BY id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([contact.0], outbound_from).map_err(db)?;
        collect(rows)
    }

    fn mark_delivered(
        &self,
        id: OutboundId,
        external_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let row: Option<(Option<i64>, String)> = tx
            .query_row(
                "SELECT ticket_id, purpose FROM outbound WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let (ticket, purpose) =
            row.ok_or_else(|| StoreError::NotFound(format!("envio {}", id.0)))?;
        tx.execute(
            "UPDATE outbound SET delivered_at = COALESCE(delivered_at, ?2), \
             external_id = COALESCE(external_id, ?3) WHERE id = ?1",
            params![id.0, ts(&at), external_id],
        )
        .map_err(db)?;
        if let Some(ticket) = ticket {
            let column = match Purpose::from_code(&purpose) {
                Some(Purpose::Confirmation) => Some("confirmed_at"),
                Some(Purpose::FeedbackRequest) => Some("feedback_asked_at"),
                _ => None,
            };
            if let Some(column) = column {
                tx.execute(
                    &format!(
                        "UPDATE tickets SET {column} = ?2, version = version + 1 \
                         WHERE id = ?1 AND {column} IS NULL"
                    ),
                    params![ticket, ts(&at)],
                )
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    fn mark_undeliverable(&self, id: OutboundId, reason: &str) -> StoreResult<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE outbound SET failed = ?2 WHERE id = ?1",
                params![id.0, reason],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("envio {}", id.0)));
        }
        Ok(())
    }

    fn due_jobs(
        &self,
        kinds: &[JobKind],
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kind_list: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.code())).collect();
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs j \
             LEFT JOIN tickets t ON t.id = j.ticket_id \
             LEFT JOIN attachments a ON a.id = j.target AND j.kind = 'glpi_document' \
             LEFT JOIN outbound o ON o.id = j.target AND j.kind = 'deliver' \
             WHERE j.done_at IS NULL AND j.next_at <= ?1 AND j.kind IN ({kinds}) \
             AND (j.kind IN ('glpi_create_ticket', 'fetch_media', 'deliver') OR t.glpi_id IS NOT NULL) \
             AND (j.kind <> 'glpi_document' OR a.bytes IS NOT NULL) \
             AND (j.kind <> 'deliver' OR json_extract(o.body, '$.type') <> 'media' OR EXISTS \
                  (SELECT 1 FROM attachments m WHERE m.id = json_extract(o.body, '$.attachment') \
                   AND m.bytes IS NOT NULL)) \
             AND (j.kind <> 'deliver' OR NOT EXISTS \
                  (SELECT 1 FROM jobs e JOIN outbound eo ON eo.id = e.target \
                   WHERE e.kind = 'deliver' AND e.done_at IS NULL AND e.attempts > 0 \
                   AND e.id < j.id AND eo.contact_id = o.contact_id)) \
             ORDER BY j.id LIMIT ?2",
            kinds = kind_list.join(", ")
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let rows = stmt
            .query_map(
                params![ts(&now), i64::try_from(limit).unwrap_or(i64::MAX)],
                job_from,
            )
            .map_err(db)?;
        collect(rows)
    }

    fn begin_job(&self, id: JobId, at: DateTime<Utc>) -> StoreResult<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE jobs SET attempts = attempts + 1, in_flight_since = ?2 \
                 WHERE id = ?1 AND done_at IS NULL",
                params![id.0, ts(&at)],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("tarefa {}", id.0)));
        }
        Ok(())
    }

    fn finish_job(&self, id: JobId, outcome: &JobOutcome) -> StoreResult<()> {
        let conn = self.conn();
        let n = match outcome {
            JobOutcome::Done => conn.execute(
                "UPDATE jobs SET done_at = ?2, in_flight_since = NULL, last_error = NULL WHERE id = ?1",
                params![id.0, ts(&Utc::now())],
            ),
            JobOutcome::Retry { at, error } => conn.execute(
                "UPDATE jobs SET next_at = ?2, last_error = ?3, in_flight_since = NULL WHERE id = ?1",
                params![id.0, ts(at), error],
            ),
        }
        .map_err(db)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("tarefa {}", id.0)));
        }
        Ok(())
    }

    fn pending_jobs(&self, ticket: TicketId, kinds: &[JobKind]) -> StoreResult<Vec<Job>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.ticket_id = ?1 AND j.done_at IS NULL ORDER BY j.id"
            ))
            .map_err(db)?;
        let rows = stmt.query_map([ticket.0], job_from).map_err(db)?;
        let jobs = collect(rows)?;
        Ok(jobs
            .into_iter()
            .filter(|j| kinds.is_empty() || kinds.contains(&j.kind))
            .collect())
    }

    fn chat_state(&self, phone: &str) -> StoreResult<Option<String>> {
        self.conn()
            .query_row(
                "SELECT state FROM chat_states WHERE phone = ?1",
                [phone],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn inbound_seen(&self, id: &str) -> StoreResult<bool> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM inbound_seen WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some())
    }

    fn texts(&self) -> StoreResult<BTreeMap<String, String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT key, value FROM texts").map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(db)
    }

    fn set_text(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        let conn = self.conn();
        match value {
            Some(v) => conn.execute(
                "INSERT INTO texts (key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, v],
            ),
            None => conn.execute("DELETE FROM texts WHERE key = ?1", [key]),
        }
        .map_err(db)?;
        Ok(())
    }

    fn categories(&self) -> StoreResult<Option<Vec<Category>>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT key, title, kind, urgency, glpi_category_id FROM categories \
                 ORDER BY position",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(rows.len());
        for (key, title, kind, urgency, glpi_category_id) in rows {
            out.push(Category {
                kind: TicketKind::from_code(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("tipo de chamado '{kind}'")))?,
                urgency: u8::try_from(urgency)
                    .map_err(|_| StoreError::Corrupt(format!("urgência {urgency}")))?,
                key,
                title,
                glpi_category_id,
            });
        }
        Ok(Some(out))
    }

    fn set_categories(&self, categories: &[Category]) -> StoreResult<()> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM categories", []).map_err(db)?;
        for (i, c) in categories.iter().enumerate() {
            tx.execute(
                "INSERT INTO categories (position, key, title, kind, urgency, glpi_category_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    i64::try_from(i).unwrap_or(i64::MAX),
                    c.key,
                    c.title,
                    c.kind.code(),
                    i64::from(c.urgency),
                    c.glpi_category_id
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn client_request(&self, scope: &str, client_id: &str) -> StoreResult<Option<RecordedRequest>> {
        clients::lookup(&self.conn(), scope, client_id)
    }

    fn opened_by(&self, scope: &str) -> StoreResult<BTreeMap<TicketId, String>> {
        clients::opened_by(&self.conn(), scope)
    }

    fn kiosk_contact(
        &self,
        station: &str,
        login: &str,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Contact> {
        clients::kiosk_contact(&mut self.conn(), station, login, name, &at)
    }
}
