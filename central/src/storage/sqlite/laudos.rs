//! [`LaudoNumbers`] on SQLite: the `laudo_numbers` table, one row per number, unique per
//! (station, inspection id), written in the same immediate transaction as the query or the
//! commit that needs it.

use chrono::{DateTime, Datelike, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::{SqliteMetadata, db, decode_query, parse_ts, parse_uuid, query_from_row, ts};
use crate::storage::laudos::{Allocated, AllocationOf, LaudoAllocation, LaudoFacts, LaudoNumbers};
use crate::storage::{QueryRecord, StorageError, StorageResult, laudo_number};

/// The table (part of the schema, version 3).
pub(super) const TABLE: &str = "
CREATE TABLE IF NOT EXISTS laudo_numbers (
    number TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    query_id TEXT NOT NULL,
    allocated_at TEXT NOT NULL,
    station_name TEXT,
    signature_verified INTEGER,
    UNIQUE (station, inspection_id)
);
CREATE INDEX IF NOT EXISTS laudo_numbers_by_query ON laudo_numbers(query_id);
";

/// Version 2 → 3: the numbers of packages verified before, kept as they were given (at commit),
/// so the check page finds them too. What their commit checked was not recorded: no facts.
pub(super) const BACKFILL: &str = "
INSERT OR IGNORE INTO laudo_numbers (number, station, inspection_id, query_id, allocated_at)
    SELECT laudo_number, station, inspection_id, query_id, received_at FROM packages
    WHERE laudo_number IS NOT NULL AND received_at IS NOT NULL;
";

const COLUMNS: &str =
    "number, station, inspection_id, query_id, allocated_at, station_name, signature_verified";

type RawAllocation = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<bool>,
);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawAllocation> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn decode(row: RawAllocation) -> StorageResult<LaudoAllocation> {
    let (number, station, inspection_id, query_id, allocated_at, station_name, verified) = row;
    Ok(LaudoAllocation {
        number,
        station,
        inspection_id: parse_uuid(&inspection_id)?,
        query_id: parse_uuid(&query_id)?,
        allocated_at: parse_ts(&allocated_at)?,
        facts: verified.map(|signature_verified| LaudoFacts {
            station_name,
            signature_verified,
        }),
    })
}

/// The allocation found by `of`.
pub(super) fn find(conn: &Connection, of: &AllocationOf) -> StorageResult<Option<LaudoAllocation>> {
    let (filter, args): (&str, Vec<String>) = match of {
        AllocationOf::Inspection(key) => (
            "station = ?1 AND inspection_id = ?2",
            vec![key.station.clone(), key.inspection_id.to_string()],
        ),
        AllocationOf::Query(query_id) => ("query_id = ?1", vec![query_id.to_string()]),
        AllocationOf::Number(number) => ("number = ?1", vec![number.clone()]),
    };
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM laudo_numbers WHERE {filter} LIMIT 1"),
        rusqlite::params_from_iter(args),
        raw,
    )
    .optional()
    .map_err(db)?
    .map(decode)
    .transpose()
}

/// Takes the next number of `year` from its counter (inside the caller's transaction).
pub(super) fn next_number(conn: &Connection, year: i32) -> StorageResult<String> {
    let next: i64 = conn
        .query_row(
            "SELECT next FROM laudo_counters WHERE year = ?1",
            [year],
            |row| row.get(0),
        )
        .optional()
        .map_err(db)?
        .unwrap_or(1);
    conn.execute(
        "INSERT INTO laudo_counters (year, next) VALUES (?1, ?2) \
         ON CONFLICT(year) DO UPDATE SET next = excluded.next",
        params![year, next + 1],
    )
    .map_err(db)?;
    Ok(laudo_number(year, next))
}

/// Records a new allocation (inside the caller's transaction).
pub(super) fn insert(
    conn: &Connection,
    number: &str,
    key: (&str, Uuid),
    query_id: Uuid,
    at: DateTime<Utc>,
) -> StorageResult<()> {
    conn.execute(
        "INSERT INTO laudo_numbers (number, station, inspection_id, query_id, allocated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            number,
            key.0,
            key.1.to_string(),
            query_id.to_string(),
            ts(&at)
        ],
    )
    .map_err(db)?;
    Ok(())
}

/// Records what the commit learnt (inside the caller's transaction).
pub(super) fn record_facts(
    conn: &Connection,
    number: &str,
    facts: &LaudoFacts,
) -> StorageResult<()> {
    conn.execute(
        "UPDATE laudo_numbers SET station_name = ?2, signature_verified = ?3 WHERE number = ?1",
        params![number, facts.station_name, facts.signature_verified],
    )
    .map_err(db)?;
    Ok(())
}

impl LaudoNumbers for SqliteMetadata {
    fn allocate_laudo_number(
        &self,
        query: &QueryRecord,
        inspection_id: Uuid,
    ) -> StorageResult<Allocated> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let key = crate::storage::PackageKey::new(&query.station, inspection_id);
        if let Some(first) = find(&tx, &AllocationOf::Inspection(key))? {
            let asked = tx
                .query_row(
                    "SELECT query_id, station, plate, queried_at, deadline FROM queries \
                     WHERE query_id = ?1",
                    [first.query_id.to_string()],
                    query_from_row,
                )
                .optional()
                .map_err(db)?
                .ok_or_else(|| {
                    StorageError::Corrupt(format!(
                        "o laudo {} aponta para a consulta {}, que não existe",
                        first.number, first.query_id
                    ))
                })?;
            return Ok(Allocated {
                query: decode_query(asked)?,
                number: first.number,
                new: false,
            });
        }
        tx.execute(
            "INSERT INTO queries (query_id, station, plate, queried_at, deadline) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                query.query_id.to_string(),
                query.station,
                query.plate,
                ts(&query.queried_at),
                ts(&query.deadline)
            ],
        )
        .map_err(db)?;
        let number = next_number(&tx, query.queried_at.year())?;
        insert(
            &tx,
            &number,
            (&query.station, inspection_id),
            query.query_id,
            query.queried_at,
        )?;
        tx.commit().map_err(db)?;
        Ok(Allocated {
            query: query.clone(),
            number,
            new: true,
        })
    }

    fn laudo_allocation(&self, of: &AllocationOf) -> StorageResult<Option<LaudoAllocation>> {
        find(&self.lock(), of)
    }
}
