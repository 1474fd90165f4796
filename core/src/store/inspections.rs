//! Inspections as rows: the whole state machine as JSON, plus the columns lists need.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::domain::{Inspection, InspectionId};

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn upsert(conn: &Connection, inspection: &Inspection) -> Result<(), StoreError> {
    let body = serde_json::to_string(inspection)
        .map_err(|e| StoreError::Decode(format!("vistoria não serializável: {e}")))?;
    conn.execute(
        "INSERT INTO inspections (id, plate, state, queried_at, deadline, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET plate = excluded.plate, state = excluded.state, body = excluded.body",
        params![
            inspection.id().to_string(),
            inspection.vehicle().plate().to_string(),
            inspection.state_name(),
            rfc3339(inspection.queried_at()),
            rfc3339(inspection.deadline()),
            body
        ],
    )?;
    Ok(())
}

/// Keeps the laudo number the central allocated to the inspection (written once, at its
/// opening; [`upsert`] never touches it).
pub(super) fn set_laudo_number(
    conn: &Connection,
    id: InspectionId,
    number: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE inspections SET laudo_number = ?2 WHERE id = ?1",
        params![id.to_string(), number],
    )?;
    Ok(())
}

/// The laudo number the central allocated to the inspection, if it did.
pub(super) fn laudo_number(
    conn: &Connection,
    id: InspectionId,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT laudo_number FROM inspections WHERE id = ?1",
            [id.to_string()],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

pub(super) fn exists(conn: &Connection, id: InspectionId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM inspections WHERE id = ?1")?
        .exists([id.to_string()])?)
}

pub(super) fn get(conn: &Connection, id: InspectionId) -> Result<Option<Inspection>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM inspections WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| decode(&b)).transpose()
}

/// Inspections in one of `states` (all when empty), oldest query first.
pub(super) fn list(conn: &Connection, states: &[&str]) -> Result<Vec<Inspection>, StoreError> {
    let mut stmt = conn.prepare("SELECT state, body FROM inspections ORDER BY queried_at, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (state, body) = row?;
        if states.is_empty() || states.contains(&state.as_str()) {
            out.push(decode(&body)?);
        }
    }
    Ok(out)
}

fn decode(body: &str) -> Result<Inspection, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Decode(format!("vistoria ilegível no banco: {e}")))
}
