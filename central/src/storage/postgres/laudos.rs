//! [`LaudoNumbers`] on PostgreSQL: the `laudo_numbers` table (migration 3), unique per number
//! and per (station, inspection id). Numbers come from the year's counter row, locked until the
//! transaction ends, so two instances never give one number twice and a rolled-back allocation
//! gives none away.

use ::postgres::{GenericClient, Row};
use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use super::{PgMetadata, db, ms, query_record};
use crate::storage::laudos::{Allocated, AllocationOf, LaudoAllocation, LaudoFacts, LaudoNumbers};
use crate::storage::{PackageKey, QueryRecord, StorageError, StorageResult, laudo_number};

/// Migration 3: the table, filled with the numbers of packages verified before (given at
/// commit, as they were), so the check page finds them too. What their commit checked was not
/// recorded: no facts.
pub(super) const MIGRATION: &str = "
CREATE TABLE laudo_numbers (
    number TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    query_id UUID NOT NULL,
    allocated_at TIMESTAMPTZ NOT NULL,
    station_name TEXT,
    signature_verified BOOLEAN,
    UNIQUE (station, inspection_id)
);
CREATE INDEX laudo_numbers_by_query ON laudo_numbers (query_id);
INSERT INTO laudo_numbers (number, station, inspection_id, query_id, allocated_at)
    SELECT laudo_number, station, inspection_id, query_id, received_at FROM packages
    WHERE laudo_number IS NOT NULL AND received_at IS NOT NULL;
";

const COLUMNS: &str =
    "number, station, inspection_id, query_id, allocated_at, station_name, signature_verified";

fn decode(row: &Row) -> LaudoAllocation {
    LaudoAllocation {
        number: row.get(0),
        station: row.get(1),
        inspection_id: row.get(2),
        query_id: row.get(3),
        allocated_at: row.get(4),
        facts: row
            .get::<_, Option<bool>>(6)
            .map(|signature_verified| LaudoFacts {
                station_name: row.get(5),
                signature_verified,
            }),
    }
}

/// The allocation found by `of`.
pub(super) fn find(
    client: &mut impl GenericClient,
    of: &AllocationOf,
) -> StorageResult<Option<LaudoAllocation>> {
    let sql = |filter: &str| format!("SELECT {COLUMNS} FROM laudo_numbers WHERE {filter} LIMIT 1");
    let row = match of {
        AllocationOf::Inspection(key) => client.query_opt(
            &sql("station = $1 AND inspection_id = $2"),
            &[&key.station, &key.inspection_id],
        ),
        AllocationOf::Query(query_id) => client.query_opt(&sql("query_id = $1"), &[query_id]),
        AllocationOf::Number(number) => client.query_opt(&sql("number = $1"), &[number]),
    }
    .map_err(db)?;
    Ok(row.as_ref().map(decode))
}

/// Takes the next number of `year`; its counter row stays locked until the caller's
/// transaction ends, so numbers are never given twice and never skipped by a rollback.
pub(super) fn next_number(client: &mut impl GenericClient, year: i32) -> StorageResult<String> {
    let next: i64 = client
        .query_one(
            "INSERT INTO laudo_counters (year, next) VALUES ($1, 2) \
             ON CONFLICT (year) DO UPDATE SET next = laudo_counters.next + 1 \
             RETURNING next - 1",
            &[&year],
        )
        .map_err(db)?
        .get(0);
    Ok(laudo_number(year, next))
}

/// Records a new allocation unless the inspection has one; whether it did.
pub(super) fn insert(
    client: &mut impl GenericClient,
    number: &str,
    key: &PackageKey,
    query_id: Uuid,
    at: DateTime<Utc>,
) -> StorageResult<bool> {
    let n = client
        .execute(
            "INSERT INTO laudo_numbers (number, station, inspection_id, query_id, allocated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (station, inspection_id) DO NOTHING",
            &[
                &number,
                &key.station,
                &key.inspection_id,
                &query_id,
                &ms(&at),
            ],
        )
        .map_err(db)?;
    Ok(n == 1)
}

/// Records what the commit learnt.
pub(super) fn record_facts(
    client: &mut impl GenericClient,
    number: &str,
    facts: &LaudoFacts,
) -> StorageResult<()> {
    client
        .execute(
            "UPDATE laudo_numbers SET station_name = $2, signature_verified = $3 \
             WHERE number = $1",
            &[&number, &facts.station_name, &facts.signature_verified],
        )
        .map_err(db)?;
    Ok(())
}

impl LaudoNumbers for PgMetadata {
    fn allocate_laudo_number(
        &self,
        query: &QueryRecord,
        inspection_id: Uuid,
    ) -> StorageResult<Allocated> {
        let key = PackageKey::new(&query.station, inspection_id);
        // Two instances may get the same repeated query at once: one allocation wins, the
        // other's transaction (its query row and counter step with it) is rolled back and the
        // winner's is the answer.
        for _ in 0..3 {
            let mut conn = self.conn()?;
            if let Some(first) = find(&mut *conn, &AllocationOf::Inspection(key.clone()))? {
                let asked = conn
                    .query_opt(
                        "SELECT query_id, station, plate, queried_at, deadline FROM queries \
                         WHERE query_id = $1",
                        &[&first.query_id],
                    )
                    .map_err(db)?
                    .ok_or_else(|| {
                        StorageError::Corrupt(format!(
                            "o laudo {} aponta para a consulta {}, que não existe",
                            first.number, first.query_id
                        ))
                    })?;
                return Ok(Allocated {
                    query: query_record(&asked),
                    number: first.number,
                    new: false,
                });
            }
            let mut tx = conn.transaction().map_err(db)?;
            tx.execute(
                "INSERT INTO queries (query_id, station, plate, queried_at, deadline) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &query.query_id,
                    &query.station,
                    &query.plate,
                    &ms(&query.queried_at),
                    &ms(&query.deadline),
                ],
            )
            .map_err(db)?;
            let number = next_number(&mut tx, query.queried_at.year())?;
            if insert(&mut tx, &number, &key, query.query_id, query.queried_at)? {
                tx.commit().map_err(db)?;
                return Ok(Allocated {
                    query: query.clone(),
                    number,
                    new: true,
                });
            }
            tx.rollback().map_err(db)?;
        }
        Err(StorageError::Database(format!(
            "número de laudo da vistoria {key} não se estabilizou"
        )))
    }

    fn laudo_allocation(&self, of: &AllocationOf) -> StorageResult<Option<LaudoAllocation>> {
        find(&mut *self.conn()?, of)
    }
}
