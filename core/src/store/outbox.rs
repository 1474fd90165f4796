//! The outbox table: one row per queued inspection package, from the queue to the receipt.
//! Scheduling decisions live in [`crate::outbox`]; this is only the durable record.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::InspectionId;

/// Where a package stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// The central's receipt arrived.
    Delivered,
    /// Attempts exhausted or refused for good: a technician must look (never dropped).
    Stuck,
}

impl OutboxState {
    fn name(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Stuck => "stuck",
        }
    }

    fn parse(s: &str) -> Result<OutboxState, StoreError> {
        match s {
            "pending" => Ok(OutboxState::Pending),
            "delivered" => Ok(OutboxState::Delivered),
            "stuck" => Ok(OutboxState::Stuck),
            other => Err(StoreError::Decode(format!(
                "estado de envio desconhecido: {other}"
            ))),
        }
    }

    /// Portuguese label for the Envios screen.
    pub fn label_pt(self) -> &'static str {
        match self {
            OutboxState::Pending => "aguardando envio",
            OutboxState::Delivered => "entregue",
            OutboxState::Stuck => "parado — chame o técnico",
        }
    }
}

/// One package in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The inspection.
    pub inspection_id: InspectionId,
    /// The manifest JSON exactly as it is sent every time (frozen at queue time).
    pub manifest: String,
    /// SHA-256 of the canonical manifest; the receipt must carry it.
    pub manifest_sha256: String,
    /// Central time it was queued.
    pub queued_at: DateTime<Utc>,
    /// Where it stands.
    pub state: OutboxState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Central time of the first attempt; the schedule counts from it.
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Central time of the next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// An attempt was running when the kiosk stopped: resume it at once.
    pub in_flight: bool,
    /// Why the last attempt failed, in Portuguese.
    pub last_error: Option<String>,
    /// The central's receipt (JSON), once delivered.
    pub receipt: Option<String>,
    /// Central time of the receipt.
    pub delivered_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "inspection_id, manifest, manifest_sha256, queued_at, state, attempts, \
     first_attempt_at, next_attempt_at, in_flight, last_error, receipt, delivered_at";

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| StoreError::Decode(format!("data ilegível {s}: {e}")))
}

type RawRow = (
    String,
    String,
    String,
    String,
    String,
    u32,
    Option<String>,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn decode(row: RawRow) -> Result<OutboxEntry, StoreError> {
    let (
        id,
        manifest,
        manifest_sha256,
        queued,
        state,
        attempts,
        first,
        next,
        in_flight,
        last_error,
        receipt,
        delivered,
    ) = row;
    Ok(OutboxEntry {
        inspection_id: id
            .parse()
            .map_err(|_| StoreError::Decode(format!("id de vistoria ilegível: {id}")))?,
        manifest,
        manifest_sha256,
        queued_at: time(&queued)?,
        state: OutboxState::parse(&state)?,
        attempts,
        first_attempt_at: first.as_deref().map(time).transpose()?,
        next_attempt_at: time(&next)?,
        in_flight,
        last_error,
        receipt,
        delivered_at: delivered.as_deref().map(time).transpose()?,
    })
}

pub(super) fn insert(conn: &Connection, e: &OutboxEntry) -> Result<(), StoreError> {
    conn.execute(
        &format!("INSERT INTO outbox ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        params![
            e.inspection_id.to_string(),
            e.manifest,
            e.manifest_sha256,
            rfc3339(e.queued_at),
            e.state.name(),
            e.attempts,
            e.first_attempt_at.map(rfc3339),
            rfc3339(e.next_attempt_at),
            e.in_flight,
            e.last_error,
            e.receipt,
            e.delivered_at.map(rfc3339),
        ],
    )?;
    Ok(())
}

/// Writes every mutable field of an existing entry.
pub(super) fn update(conn: &Connection, e: &OutboxEntry) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE outbox SET state = ?2, attempts = ?3, first_attempt_at = ?4, next_attempt_at = ?5,
         in_flight = ?6, last_error = ?7, receipt = ?8, delivered_at = ?9 WHERE inspection_id = ?1",
        params![
            e.inspection_id.to_string(),
            e.state.name(),
            e.attempts,
            e.first_attempt_at.map(rfc3339),
            rfc3339(e.next_attempt_at),
            e.in_flight,
            e.last_error,
            e.receipt,
            e.delivered_at.map(rfc3339),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(e.inspection_id));
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, id: InspectionId) -> Result<Option<OutboxEntry>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM outbox WHERE inspection_id = ?1"),
        [id.to_string()],
        from_row,
    )
    .optional()?
    .map(decode)
    .transpose()
}

/// How many entries are in `state`, without reading them.
pub(super) fn count(conn: &Connection, state: OutboxState) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state = ?1",
        [state.name()],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Every entry (or only those in `state`), oldest queue first.
pub(super) fn list(
    conn: &Connection,
    state: Option<OutboxState>,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 \
         ORDER BY queued_at, inspection_id"
    ))?;
    let rows = stmt.query_map([state.map(OutboxState::name)], from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode(row?)?);
    }
    Ok(out)
}
