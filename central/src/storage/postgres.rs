//! Metadata in PostgreSQL, for a central of several instances (issue 21): every instance talks to
//! the same database, and everything that must hold across instances is a constraint or a
//! transaction there — one package per (station, id) and per vehicle query, one laudo number per
//! inspection from a counter row locked per year (`postgres/laudos.rs`) — never process memory.
//!
//! The API calls the store from blocking threads, so the synchronous `postgres` client with an
//! `r2d2` pool fits the trait as is. Migrations are versioned (`schema_migrations`) and applied at
//! start under an advisory lock, so instances starting together apply each one once.

use ::postgres::types::ToSql;
use ::postgres::{GenericClient, NoTls, Row};
use chrono::{DateTime, Datelike, SubsecRound as _, Utc};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use uuid::Uuid;
use vistoria_core::domain::InspectionId;
use vistoria_core::wire::{PackageManifest, PackageStatus, Receipt};

use super::{
    Anchor, AuditKeyRecord, FileRecord, InsertOutcome, InspectorRecord, Lease, MetadataStore,
    PackageKey, PackageRecord, QueryRecord, StorageError, StorageResult, claims_conflict, code_of,
    from_code,
};
use crate::storage::laudos::{AllocationOf, LaudoFacts};

mod cross_flags;
mod devices;
mod directory;
mod integrity;
mod laudos;
mod live;
mod portal;
mod retention;
mod schema;
mod trails;

type Manager = PostgresConnectionManager<NoTls>;

/// PostgreSQL-backed [`MetadataStore`].
pub struct PgMetadata {
    pool: Pool<Manager>,
}

fn db(e: impl std::fmt::Display) -> StorageError {
    StorageError::Database(e.to_string())
}

/// Times are kept to the millisecond, as the wire and the SQLite store keep them, so both
/// backends give back exactly what they were given.
fn ms(t: &DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

fn to_i64(n: u64) -> StorageResult<i64> {
    i64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn to_u64(n: i64) -> StorageResult<u64> {
    u64::try_from(n).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// Whether a failed statement broke a unique constraint.
fn is_unique_violation(e: &::postgres::Error) -> bool {
    e.code() == Some(&::postgres::error::SqlState::UNIQUE_VIOLATION)
}

const PACKAGE_COLUMNS: &str = "station, inspection_id, query_id, plate, manifest, manifest_sha256, \
     first_seen_at, deadline, late, status, rejection, laudo_number, received_at, signature";

impl PgMetadata {
    /// Connects to `url` (`postgres://user@host:port/db`, as libpq takes it) with up to
    /// `max_connections` pooled connections and applies the migrations not applied yet.
    pub fn connect(url: &str, max_connections: u32) -> StorageResult<PgMetadata> {
        let config: ::postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Database(format!("URL do banco inválida: {e}")))?;
        let pool = Pool::builder()
            .max_size(max_connections)
            .connection_timeout(std::time::Duration::from_secs(15))
            .build(PostgresConnectionManager::new(config, NoTls))
            .map_err(|e| StorageError::Database(format!("não foi possível conectar: {e}")))?;
        let store = PgMetadata { pool };
        schema::migrate(&mut *store.conn()?)?;
        Ok(store)
    }

    fn conn(&self) -> StorageResult<PooledConnection<Manager>> {
        self.pool.get().map_err(db)
    }

    fn files_of(
        client: &mut impl GenericClient,
        key: &PackageKey,
    ) -> StorageResult<Vec<FileRecord>> {
        let rows = client
            .query(
                "SELECT name, kind, size, md5, sha256, digests_match FROM package_files \
                 WHERE station = $1 AND inspection_id = $2 ORDER BY position",
                &[&key.station, &key.inspection_id],
            )
            .map_err(db)?;
        rows.iter()
            .map(|row| {
                Ok(FileRecord {
                    name: row.get(0),
                    kind: from_code(row.get::<_, &str>(1))?,
                    size: to_u64(row.get(2))?,
                    md5: row.get(3),
                    sha256: row.get(4),
                    digests_match: row.get(5),
                })
            })
            .collect()
    }

    fn decode(client: &mut impl GenericClient, row: &Row) -> StorageResult<PackageRecord> {
        let station: String = row.get(0);
        let inspection_id: Uuid = row.get(1);
        let manifest_json: String = row.get(4);
        let manifest_sha256: String = row.get(5);
        let manifest: PackageManifest = serde_json::from_str(&manifest_json)
            .map_err(|e| StorageError::Corrupt(format!("manifesto: {e}")))?;
        let receipt = match (
            row.get::<_, Option<String>>(11),
            row.get::<_, Option<DateTime<Utc>>>(12),
            row.get::<_, Option<String>>(13),
        ) {
            (Some(laudo_number), Some(received_at), Some(signature)) => Some(Receipt {
                inspection_id: InspectionId::from_uuid(inspection_id),
                laudo_number,
                received_at,
                manifest_sha256: manifest_sha256.clone(),
                signature,
            }),
            _ => None,
        };
        let key = PackageKey::new(&station, inspection_id);
        Ok(PackageRecord {
            files: Self::files_of(client, &key)?,
            inspection_id,
            station,
            query_id: row.get(2),
            plate: row.get(3),
            manifest,
            manifest_json,
            manifest_sha256,
            first_seen_at: row.get(6),
            deadline: row.get(7),
            late: row.get(8),
            status: from_code(row.get::<_, &str>(9))?,
            rejection: row.get(10),
            receipt,
        })
    }

    fn get_package(
        client: &mut impl GenericClient,
        key: &PackageKey,
        for_update: bool,
    ) -> StorageResult<Option<PackageRecord>> {
        let lock = if for_update { " FOR UPDATE" } else { "" };
        let row = client
            .query_opt(
                &format!(
                    "SELECT {PACKAGE_COLUMNS} FROM packages \
                     WHERE station = $1 AND inspection_id = $2{lock}"
                ),
                &[&key.station, &key.inspection_id],
            )
            .map_err(db)?;
        row.map(|row| Self::decode(client, &row)).transpose()
    }

    fn get_audit_key(
        client: &mut impl GenericClient,
        station: &str,
    ) -> StorageResult<Option<AuditKeyRecord>> {
        let row = client
            .query_opt(
                "SELECT key, start_seq, issued_at, confirmed FROM audit_keys WHERE station = $1",
                &[&station],
            )
            .map_err(db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key: [u8; 32] = hex::decode(row.get::<_, &str>(0))
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| StorageError::Corrupt(format!("chave de auditoria de {station}")))?;
        Ok(Some(AuditKeyRecord {
            station: station.to_owned(),
            key,
            start_seq: to_u64(row.get(1))?,
            issued_at: row.get(2),
            confirmed: row.get(3),
        }))
    }

    /// Runs `f` in a transaction and commits it.
    fn in_transaction<T>(
        &self,
        f: impl FnOnce(&mut ::postgres::Transaction<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(db)?;
        let value = f(&mut tx)?;
        tx.commit().map_err(db)?;
        Ok(value)
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StorageResult<u64> {
        self.conn()?.execute(sql, params).map_err(db)
    }
}

fn query_record(row: &Row) -> QueryRecord {
    QueryRecord {
        query_id: row.get(0),
        station: row.get(1),
        plate: row.get(2),
        queried_at: row.get(3),
        deadline: row.get(4),
    }
}

impl MetadataStore for PgMetadata {
    fn add_station(&self, code: &str, token_sha256: &str, at: DateTime<Utc>) -> StorageResult<()> {
        match self.conn()?.execute(
            "INSERT INTO stations (code, token_sha256, created_at) VALUES ($1, $2, $3)",
            &[&code, &token_sha256, &ms(&at)],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StorageError::AlreadyExists(code.to_owned())),
            Err(e) => Err(db(e)),
        }
    }

    fn station_for_token(&self, token_sha256: &str) -> StorageResult<Option<String>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT code FROM stations WHERE token_sha256 = $1",
                &[&token_sha256],
            )
            .map_err(db)?
            .map(|row| row.get(0)))
    }

    fn insert_query(&self, query: &QueryRecord) -> StorageResult<()> {
        self.execute(
            "INSERT INTO queries (query_id, station, plate, queried_at, deadline) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &query.query_id,
                &query.station,
                &query.plate,
                &ms(&query.queried_at),
                &ms(&query.deadline),
            ],
        )?;
        Ok(())
    }

    fn query(&self, query_id: Uuid) -> StorageResult<Option<QueryRecord>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT query_id, station, plate, queried_at, deadline FROM queries \
                 WHERE query_id = $1",
                &[&query_id],
            )
            .map_err(db)?
            .map(|row| query_record(&row)))
    }

    fn insert_package(&self, package: &PackageRecord) -> StorageResult<InsertOutcome> {
        let key = package.key();
        // Two instances may receive the same manifest (or two for one query) at once: the
        // insert does nothing on any unique key, and what is already there is the answer.
        for _ in 0..3 {
            let inserted = self.in_transaction(|tx| {
                let audit_sequence = package.manifest.audit_sequence.map(to_i64).transpose()?;
                let n = tx
                    .execute(
                        &format!(
                            "INSERT INTO packages ({PACKAGE_COLUMNS}, audit_sequence, audit_head) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, \
                                     NULL, $12, $13) \
                             ON CONFLICT DO NOTHING"
                        ),
                        &[
                            &package.station,
                            &package.inspection_id,
                            &package.query_id,
                            &package.plate,
                            &package.manifest_json,
                            &package.manifest_sha256,
                            &ms(&package.first_seen_at),
                            &ms(&package.deadline),
                            &package.late,
                            &code_of(&package.status)?,
                            &package.rejection,
                            &audit_sequence,
                            &package.manifest.audit_head,
                        ],
                    )
                    .map_err(db)?;
                if n == 0 {
                    return Ok(false);
                }
                for (position, file) in package.files.iter().enumerate() {
                    let position = i32::try_from(position)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    tx.execute(
                        "INSERT INTO package_files (station, inspection_id, position, name, kind, \
                         size, md5, sha256, digests_match) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        &[
                            &package.station,
                            &package.inspection_id,
                            &position,
                            &file.name,
                            &code_of(&file.kind)?,
                            &to_i64(file.size)?,
                            &file.md5,
                            &file.sha256,
                            &file.digests_match,
                        ],
                    )
                    .map_err(db)?;
                }
                Ok(true)
            })?;
            if inserted {
                return Ok(InsertOutcome::Inserted);
            }
            let mut conn = self.conn()?;
            if let Some(existing) = Self::get_package(&mut *conn, &key, false)? {
                return Ok(InsertOutcome::Existing(Box::new(existing)));
            }
            if let Some(row) = conn
                .query_opt(
                    "SELECT inspection_id FROM packages WHERE query_id = $1",
                    &[&package.query_id],
                )
                .map_err(db)?
            {
                return Ok(InsertOutcome::QueryUsed(row.get(0)));
            }
            // The conflicting row was removed meanwhile (expiry): try again.
        }
        Err(StorageError::Database(format!(
            "registro do pacote {key} não se estabilizou"
        )))
    }

    fn package(&self, key: &PackageKey) -> StorageResult<Option<PackageRecord>> {
        Self::get_package(&mut *self.conn()?, key, false)
    }

    fn set_file_check(
        &self,
        key: &PackageKey,
        name: &str,
        digests_match: Option<bool>,
    ) -> StorageResult<()> {
        let changed = self.execute(
            "UPDATE package_files SET digests_match = $4 \
             WHERE station = $1 AND inspection_id = $2 AND name = $3",
            &[&key.station, &key.inspection_id, &name, &digests_match],
        )?;
        if changed == 0 {
            return Err(StorageError::NotFound(format!("{key}/{name}")));
        }
        Ok(())
    }

    fn set_rejected(&self, key: &PackageKey, reason: &str) -> StorageResult<()> {
        self.execute(
            "UPDATE packages SET status = 'rejected', rejection = $3 \
             WHERE station = $1 AND inspection_id = $2 AND status <> 'verified'",
            &[&key.station, &key.inspection_id, &reason],
        )?;
        Ok(())
    }

    fn commit_package(
        &self,
        key: &PackageKey,
        received_at: DateTime<Utc>,
        facts: &LaudoFacts,
        sign: &dyn Fn(String) -> Receipt,
    ) -> StorageResult<Receipt> {
        self.in_transaction(|tx| {
            // The row lock serialises two instances committing the same package: the second
            // finds the first one's receipt.
            let existing = Self::get_package(tx, key, true)?
                .ok_or_else(|| StorageError::NotFound(key.to_string()))?;
            if let Some(receipt) = existing.receipt {
                return Ok(receipt);
            }
            let number = match laudos::find(tx, &AllocationOf::Inspection(key.clone()))? {
                Some(allocated) => allocated.number,
                None => {
                    // An inspection whose vehicle query allocated no number (a station older
                    // than central-allocated numbers, or one opened before the update):
                    // numbered now, as every package was before. The package row is locked,
                    // so no other commit of it allocates meanwhile.
                    let number = laudos::next_number(tx, received_at.year())?;
                    laudos::insert(tx, &number, key, existing.query_id, received_at)?;
                    number
                }
            };
            laudos::record_facts(tx, &number, facts)?;
            let receipt = sign(number);
            tx.execute(
                "UPDATE packages SET status = 'verified', rejection = NULL, laudo_number = $3, \
                 received_at = $4, signature = $5 WHERE station = $1 AND inspection_id = $2",
                &[
                    &key.station,
                    &key.inspection_id,
                    &receipt.laudo_number,
                    &ms(&receipt.received_at),
                    &receipt.signature,
                ],
            )
            .map_err(db)?;
            integrity::record_commit(tx, key, receipt.received_at)?;
            Ok(receipt)
        })
    }

    fn packages(&self) -> StorageResult<Vec<PackageRecord>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {PACKAGE_COLUMNS} FROM packages \
                     ORDER BY first_seen_at, station, inspection_id"
                ),
                &[],
            )
            .map_err(db)?;
        rows.iter()
            .map(|row| Self::decode(&mut *conn, row))
            .collect()
    }

    fn delete_package(&self, key: &PackageKey) -> StorageResult<()> {
        // Its files go with it (ON DELETE CASCADE).
        self.execute(
            "DELETE FROM packages WHERE station = $1 AND inspection_id = $2",
            &[&key.station, &key.inspection_id],
        )?;
        Ok(())
    }

    fn delete_query(&self, query_id: Uuid) -> StorageResult<()> {
        self.in_transaction(|tx| {
            for table in ["laudo_numbers", "queries"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE query_id = $1"),
                    &[&query_id],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn audit_key(&self, station: &str) -> StorageResult<Option<AuditKeyRecord>> {
        Self::get_audit_key(&mut *self.conn()?, station)
    }

    fn issue_audit_key(&self, record: &AuditKeyRecord) -> StorageResult<AuditKeyRecord> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO audit_keys (station, key, start_seq, issued_at, confirmed) \
             VALUES ($1, $2, $3, $4, FALSE) \
             ON CONFLICT (station) DO UPDATE SET start_seq = excluded.start_seq \
             WHERE audit_keys.confirmed = FALSE",
            &[
                &record.station,
                &hex::encode(record.key),
                &to_i64(record.start_seq)?,
                &ms(&record.issued_at),
            ],
        )
        .map_err(db)?;
        Self::get_audit_key(&mut *conn, &record.station)?.ok_or_else(|| {
            StorageError::NotFound(format!("chave de auditoria de {}", record.station))
        })
    }

    fn confirm_audit_key(&self, station: &str) -> StorageResult<()> {
        self.execute(
            "UPDATE audit_keys SET confirmed = TRUE WHERE station = $1",
            &[&station],
        )?;
        Ok(())
    }

    fn anchors(&self, station: &str, from: u64, to: u64) -> StorageResult<Vec<Anchor>> {
        self.conn()?
            .query(
                "SELECT inspection_id, audit_sequence, audit_head FROM packages \
                 WHERE station = $1 AND audit_sequence BETWEEN $2 AND $3 \
                 ORDER BY audit_sequence, inspection_id",
                &[&station, &to_i64(from)?, &to_i64(to)?],
            )
            .map_err(db)?
            .iter()
            .map(|row| {
                Ok(Anchor {
                    inspection_id: row.get(0),
                    seq: to_u64(row.get(1))?,
                    head: row.get(2),
                })
            })
            .collect()
    }

    fn outstanding_bytes(&self, station: &str) -> StorageResult<u64> {
        let sum: i64 = self
            .conn()?
            .query_one(
                "SELECT COALESCE(SUM(f.size), 0)::BIGINT FROM package_files f \
                 JOIN packages p ON p.station = f.station AND p.inspection_id = f.inspection_id \
                 WHERE p.station = $1 AND p.status <> $2",
                &[&station, &code_of(&PackageStatus::Verified)?],
            )
            .map_err(db)?
            .get(0);
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    fn uncommitted_before(&self, cutoff: DateTime<Utc>) -> StorageResult<Vec<PackageKey>> {
        Ok(self
            .conn()?
            .query(
                "SELECT station, inspection_id FROM packages \
                 WHERE status <> $1 AND first_seen_at < $2 ORDER BY first_seen_at",
                &[&code_of(&PackageStatus::Verified)?, &cutoff],
            )
            .map_err(db)?
            .iter()
            .map(|row| PackageKey::new(row.get(0), row.get(1)))
            .collect())
    }

    fn set_station_token(&self, code: &str, token_sha256: &str) -> StorageResult<bool> {
        let changed = self.execute(
            "UPDATE stations SET token_sha256 = $2 WHERE code = $1",
            &[&code, &token_sha256],
        )?;
        Ok(changed == 1)
    }

    fn revoke_station(&self, code: &str) -> StorageResult<bool> {
        // Not hexadecimal, so no token's SHA-256 can ever equal it; unique per station.
        self.set_station_token(code, &format!("revogado:{code}"))
    }

    fn stations_fingerprint(&self) -> StorageResult<String> {
        let all: Option<String> = self
            .conn()?
            .query_one(
                "SELECT string_agg(code || ':' || token_sha256, ',' ORDER BY code) FROM stations",
                &[],
            )
            .map_err(db)?
            .get(0);
        Ok(vistoria_core::hashing::sha256_hex(
            all.unwrap_or_default().as_bytes(),
        ))
    }

    fn set_inspectors(
        &self,
        station: &str,
        inspectors: &[(String, String)],
        at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let at = ms(&at);
        self.in_transaction(|tx| {
            tx.execute(
                "UPDATE inspectors SET removed_at = $2 WHERE station = $1 AND removed_at IS NULL",
                &[&station, &at],
            )
            .map_err(db)?;
            for (cpf, name) in inspectors {
                // Listed again: back on the list, keeping when it was first registered.
                tx.execute(
                    "INSERT INTO inspectors (station, cpf, name, registered_at, removed_at) \
                     VALUES ($1, $2, $3, $4, NULL) \
                     ON CONFLICT (station, cpf) DO UPDATE SET name = excluded.name, \
                       removed_at = NULL",
                    &[&station, cpf, name, &at],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn inspector(&self, station: &str, cpf: &str) -> StorageResult<Option<InspectorRecord>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT cpf, name, registered_at, removed_at FROM inspectors \
                 WHERE station = $1 AND cpf = $2",
                &[&station, &cpf],
            )
            .map_err(db)?
            .map(|row| InspectorRecord {
                cpf: row.get(0),
                name: row.get(1),
                registered_at: row.get(2),
                removed_at: row.get(3),
            }))
    }

    fn heartbeat(&self, instance: Uuid, until: DateTime<Utc>) -> StorageResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO instances (id, alive_until) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
            &[&instance, &until],
        )
        .map_err(db)?;
        // Instances gone for a day are forgotten.
        conn.execute(
            "DELETE FROM instances WHERE alive_until < $1",
            &[&(until - chrono::Duration::days(1))],
        )
        .map_err(db)?;
        Ok(())
    }

    fn retire_other_instances(&self, me: Uuid, now: DateTime<Utc>) -> StorageResult<()> {
        self.execute(
            "UPDATE instances SET alive_until = $2 WHERE id <> $1 AND alive_until > $2",
            &[&me, &now],
        )?;
        Ok(())
    }

    fn claim(&self, key: &PackageKey, file: Option<&str>, lease: Lease) -> StorageResult<bool> {
        self.in_transaction(|tx| {
            // Decisions about one package are taken one at a time, across instances.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&key.to_string()],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM claims WHERE station = $1 AND inspection_id = $2 AND (until <= $3 \
                 OR instance IN (SELECT id FROM instances WHERE alive_until <= $3))",
                &[&key.station, &key.inspection_id, &lease.now],
            )
            .map_err(db)?;
            let held: Vec<String> = tx
                .query(
                    "SELECT file FROM claims WHERE station = $1 AND inspection_id = $2",
                    &[&key.station, &key.inspection_id],
                )
                .map_err(db)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if claims_conflict(file, &held) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO claims (holder, instance, station, inspection_id, file, until) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &lease.holder,
                    &lease.instance,
                    &key.station,
                    &key.inspection_id,
                    &file.unwrap_or(""),
                    &lease.until,
                ],
            )
            .map_err(db)?;
            Ok(true)
        })
    }

    fn release(&self, holder: Uuid) -> StorageResult<()> {
        self.execute("DELETE FROM claims WHERE holder = $1", &[&holder])?;
        Ok(())
    }
}
