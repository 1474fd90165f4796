//! Metadata in one SQLite file (WAL, `synchronous=FULL`): every committed transaction survives a
//! power cut. One connection behind a mutex is plenty for a reference server; the API calls it
//! from blocking threads.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Datelike, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;
use vistoria_core::domain::InspectionId;
use vistoria_core::wire::{PackageManifest, PackageStatus, Receipt, rfc3339_ms};

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

pub use schema::SCHEMA_VERSION;

/// SQLite-backed [`MetadataStore`].
pub struct SqliteMetadata {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

fn ts(t: &DateTime<Utc>) -> String {
    rfc3339_ms::format(t)
}

fn parse_ts(text: &str) -> StorageResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("data «{text}»: {e}")))
}

fn parse_uuid(text: &str) -> StorageResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StorageError::Corrupt(format!("uuid «{text}»: {e}")))
}

/// A `packages` row before its files and manifest are decoded.
struct PackageRow {
    inspection_id: String,
    station: String,
    query_id: String,
    plate: String,
    manifest: String,
    manifest_sha256: String,
    first_seen_at: String,
    deadline: String,
    late: bool,
    status: String,
    rejection: Option<String>,
    laudo_number: Option<String>,
    received_at: Option<String>,
    signature: Option<String>,
}

const PACKAGE_COLUMNS: &str = "inspection_id, station, query_id, plate, manifest, manifest_sha256, \
     first_seen_at, deadline, late, status, rejection, laudo_number, received_at, signature";

impl PackageRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<PackageRow> {
        Ok(PackageRow {
            inspection_id: row.get(0)?,
            station: row.get(1)?,
            query_id: row.get(2)?,
            plate: row.get(3)?,
            manifest: row.get(4)?,
            manifest_sha256: row.get(5)?,
            first_seen_at: row.get(6)?,
            deadline: row.get(7)?,
            late: row.get(8)?,
            status: row.get(9)?,
            rejection: row.get(10)?,
            laudo_number: row.get(11)?,
            received_at: row.get(12)?,
            signature: row.get(13)?,
        })
    }
}

impl SqliteMetadata {
    fn get_audit_key(conn: &Connection, station: &str) -> StorageResult<Option<AuditKeyRecord>> {
        let row = conn
            .query_row(
                "SELECT key, start_seq, issued_at, confirmed FROM audit_keys WHERE station = ?1",
                [station],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, bool>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        let Some((key, start_seq, issued_at, confirmed)) = row else {
            return Ok(None);
        };
        let key: [u8; 32] = hex::decode(&key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| StorageError::Corrupt(format!("chave de auditoria de {station}")))?;
        Ok(Some(AuditKeyRecord {
            station: station.to_owned(),
            key,
            start_seq: start_seq as u64,
            issued_at: parse_ts(&issued_at)?,
            confirmed,
        }))
    }

    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> StorageResult<SqliteMetadata> {
        let conn = Connection::open(path).map_err(db)?;
        Self::init(conn)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> StorageResult<SqliteMetadata> {
        Self::init(Connection::open_in_memory().map_err(db)?)
    }

    fn init(conn: Connection) -> StorageResult<SqliteMetadata> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        schema::migrate(&conn)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        Ok(SqliteMetadata {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: transactions roll back.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` with `synchronous=NORMAL`: its commits reach the WAL but are not fsynced on
    /// their own; the next `FULL` commit (a manifest, a receipt, a rejection, the heartbeat
    /// within two seconds) fsyncs them with it, the WAL being appended in order. Only for what
    /// a power cut may lose without harm, and what every upload request writes (issue 21:
    /// three fsyncs a file were most of an upload's wait): leases (this file has one instance,
    /// whose leases end when it starts again) and an upload's digest check (the commit
    /// re-hashes every byte and records the check again before the receipt's `FULL` commit).
    fn unsynced<T>(&self, f: impl FnOnce(&mut Connection) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.lock();
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        let result = f(&mut conn);
        // Back to FULL whatever `f` did; if even that fails the connection is not trusted to
        // sync, so the error wins over `f`'s result.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        result
    }

    fn files_of(conn: &Connection, station: &str, id: &str) -> StorageResult<Vec<FileRecord>> {
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, kind, size, md5, sha256, digests_match FROM package_files \
                 WHERE station = ?1 AND inspection_id = ?2 ORDER BY position",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([station, id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<bool>>(5)?,
                ))
            })
            .map_err(db)?;
        let mut files = Vec::new();
        for row in rows {
            let (name, kind, size, md5, sha256, digests_match) = row.map_err(db)?;
            files.push(FileRecord {
                name,
                kind: from_code(&kind)?,
                size: u64::try_from(size).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                md5,
                sha256,
                digests_match,
            });
        }
        Ok(files)
    }

    fn decode(conn: &Connection, row: PackageRow) -> StorageResult<PackageRecord> {
        let manifest: PackageManifest = serde_json::from_str(&row.manifest)
            .map_err(|e| StorageError::Corrupt(format!("manifesto: {e}")))?;
        let inspection_id = parse_uuid(&row.inspection_id)?;
        let status: PackageStatus = from_code(&row.status)?;
        let receipt = match (row.laudo_number, row.received_at, row.signature) {
            (Some(laudo_number), Some(received_at), Some(signature)) => Some(Receipt {
                inspection_id: InspectionId::from_uuid(inspection_id),
                laudo_number,
                received_at: parse_ts(&received_at)?,
                manifest_sha256: row.manifest_sha256.clone(),
                signature,
            }),
            _ => None,
        };
        let files = Self::files_of(conn, &row.station, &row.inspection_id)?;
        Ok(PackageRecord {
            inspection_id,
            station: row.station,
            query_id: parse_uuid(&row.query_id)?,
            plate: row.plate,
            files,
            manifest,
            manifest_json: row.manifest,
            manifest_sha256: row.manifest_sha256,
            first_seen_at: parse_ts(&row.first_seen_at)?,
            deadline: parse_ts(&row.deadline)?,
            late: row.late,
            status,
            rejection: row.rejection,
            receipt,
        })
    }

    fn get_package(conn: &Connection, key: &PackageKey) -> StorageResult<Option<PackageRecord>> {
        let row = conn
            .query_row(
                &format!(
                    "SELECT {PACKAGE_COLUMNS} FROM packages WHERE station = ?1 AND inspection_id = ?2"
                ),
                params![key.station, key.inspection_id.to_string()],
                PackageRow::from_row,
            )
            .optional()
            .map_err(db)?;
        row.map(|row| Self::decode(conn, row)).transpose()
    }
}

fn query_from_row(row: &Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn decode_query(row: (String, String, String, String, String)) -> StorageResult<QueryRecord> {
    Ok(QueryRecord {
        query_id: parse_uuid(&row.0)?,
        station: row.1,
        plate: row.2,
        queried_at: parse_ts(&row.3)?,
        deadline: parse_ts(&row.4)?,
    })
}

impl MetadataStore for SqliteMetadata {
    fn add_station(&self, code: &str, token_sha256: &str, at: DateTime<Utc>) -> StorageResult<()> {
        let conn = self.lock();
        let result = conn.execute(
            "INSERT INTO stations (code, token_sha256, created_at) VALUES (?1, ?2, ?3)",
            params![code, token_sha256, ts(&at)],
        );
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StorageError::AlreadyExists(format!("estação {code}")))
            }
            Err(e) => Err(db(e)),
        }
    }

    fn station_for_token(&self, token_sha256: &str) -> StorageResult<Option<String>> {
        self.lock()
            .query_row(
                "SELECT code FROM stations WHERE token_sha256 = ?1",
                [token_sha256],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)
    }

    fn insert_query(&self, query: &QueryRecord) -> StorageResult<()> {
        self.lock()
            .execute(
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
        Ok(())
    }

    fn query(&self, query_id: Uuid) -> StorageResult<Option<QueryRecord>> {
        let row = self
            .lock()
            .query_row(
                "SELECT query_id, station, plate, queried_at, deadline FROM queries \
                 WHERE query_id = ?1",
                [query_id.to_string()],
                query_from_row,
            )
            .optional()
            .map_err(db)?;
        row.map(decode_query).transpose()
    }

    fn insert_package(&self, package: &PackageRecord) -> StorageResult<InsertOutcome> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if let Some(existing) = Self::get_package(&tx, &package.key())? {
            return Ok(InsertOutcome::Existing(Box::new(existing)));
        }
        let id = package.inspection_id.to_string();
        let other: Option<String> = tx
            .query_row(
                "SELECT inspection_id FROM packages WHERE query_id = ?1 LIMIT 1",
                params![package.query_id.to_string()],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
        if let Some(other) = other {
            return Ok(InsertOutcome::QueryUsed(
                Uuid::parse_str(&other).map_err(|e| StorageError::Corrupt(e.to_string()))?,
            ));
        }
        tx.execute(
            &format!(
                "INSERT INTO packages ({PACKAGE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL, NULL)"
            ),
            params![
                id,
                package.station,
                package.query_id.to_string(),
                package.plate,
                package.manifest_json,
                package.manifest_sha256,
                ts(&package.first_seen_at),
                ts(&package.deadline),
                package.late,
                code_of(&package.status)?,
                package.rejection,
            ],
        )
        .map_err(db)?;
        for (position, file) in package.files.iter().enumerate() {
            tx.execute(
                "INSERT INTO package_files \
                 (station, inspection_id, position, name, kind, size, md5, sha256, digests_match) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    package.station,
                    id,
                    i64::try_from(position).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    file.name,
                    code_of(&file.kind)?,
                    i64::try_from(file.size).map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    file.md5,
                    file.sha256,
                    file.digests_match,
                ],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(InsertOutcome::Inserted)
    }

    fn package(&self, key: &PackageKey) -> StorageResult<Option<PackageRecord>> {
        Self::get_package(&self.lock(), key)
    }

    fn set_file_check(
        &self,
        key: &PackageKey,
        name: &str,
        digests_match: Option<bool>,
    ) -> StorageResult<()> {
        let changed = self.unsynced(|conn| {
            conn.prepare_cached(
                "UPDATE package_files SET digests_match = ?4 \
                 WHERE station = ?1 AND inspection_id = ?2 AND name = ?3",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    key.station,
                    key.inspection_id.to_string(),
                    name,
                    digests_match
                ])
            })
            .map_err(db)
        })?;
        if changed == 0 {
            return Err(StorageError::NotFound(format!("{key}/{name}")));
        }
        Ok(())
    }

    fn set_rejected(&self, key: &PackageKey, reason: &str) -> StorageResult<()> {
        self.lock()
            .execute(
                "UPDATE packages SET status = 'rejected', rejection = ?3 \
                 WHERE station = ?1 AND inspection_id = ?2 AND status <> 'verified'",
                params![key.station, key.inspection_id.to_string(), reason],
            )
            .map_err(db)?;
        Ok(())
    }

    fn commit_package(
        &self,
        key: &PackageKey,
        received_at: DateTime<Utc>,
        facts: &LaudoFacts,
        sign: &dyn Fn(String) -> Receipt,
    ) -> StorageResult<Receipt> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let existing =
            Self::get_package(&tx, key)?.ok_or_else(|| StorageError::NotFound(key.to_string()))?;
        if let Some(receipt) = existing.receipt {
            return Ok(receipt);
        }
        let number = match laudos::find(&tx, &AllocationOf::Inspection(key.clone()))? {
            Some(allocated) => allocated.number,
            None => {
                // An inspection whose vehicle query allocated no number (a station older than
                // central-allocated numbers, or one opened before the update): numbered now,
                // as every package was before.
                let number = laudos::next_number(&tx, received_at.year())?;
                let owner = (key.station.as_str(), key.inspection_id);
                laudos::insert(&tx, &number, owner, existing.query_id, received_at)?;
                number
            }
        };
        laudos::record_facts(&tx, &number, facts)?;
        let receipt = sign(number);
        tx.execute(
            "UPDATE packages SET status = 'verified', rejection = NULL, laudo_number = ?3, \
             received_at = ?4, signature = ?5 WHERE station = ?1 AND inspection_id = ?2",
            params![
                key.station,
                key.inspection_id.to_string(),
                receipt.laudo_number,
                ts(&receipt.received_at),
                receipt.signature
            ],
        )
        .map_err(db)?;
        integrity::record_commit(&tx, key, receipt.received_at)?;
        tx.commit().map_err(db)?;
        Ok(receipt)
    }

    fn packages(&self) -> StorageResult<Vec<PackageRecord>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {PACKAGE_COLUMNS} FROM packages \
                 ORDER BY first_seen_at, station, inspection_id"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map([], PackageRow::from_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|row| Self::decode(&conn, row))
            .collect()
    }

    fn delete_package(&self, key: &PackageKey) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        let id = key.inspection_id.to_string();
        for table in ["package_files", "integrity_checks"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE station = ?1 AND inspection_id = ?2"),
                params![key.station, id],
            )
            .map_err(db)?;
        }
        tx.execute(
            "DELETE FROM packages WHERE station = ?1 AND inspection_id = ?2",
            params![key.station, id],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn delete_query(&self, query_id: Uuid) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db)?;
        for table in ["laudo_numbers", "queries"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE query_id = ?1"),
                [query_id.to_string()],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn audit_key(&self, station: &str) -> StorageResult<Option<AuditKeyRecord>> {
        Self::get_audit_key(&self.lock(), station)
    }

    fn issue_audit_key(&self, record: &AuditKeyRecord) -> StorageResult<AuditKeyRecord> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO audit_keys (station, key, start_seq, issued_at, confirmed) \
             VALUES (?1, ?2, ?3, ?4, 0) \
             ON CONFLICT(station) DO UPDATE SET start_seq = excluded.start_seq \
             WHERE audit_keys.confirmed = 0",
            params![
                record.station,
                hex::encode(record.key),
                record.start_seq as i64,
                ts(&record.issued_at)
            ],
        )
        .map_err(db)?;
        Self::get_audit_key(&conn, &record.station)?.ok_or_else(|| {
            StorageError::NotFound(format!("chave de auditoria de {}", record.station))
        })
    }

    fn confirm_audit_key(&self, station: &str) -> StorageResult<()> {
        self.lock()
            .execute(
                "UPDATE audit_keys SET confirmed = 1 WHERE station = ?1",
                [station],
            )
            .map_err(db)?;
        Ok(())
    }

    fn anchors(&self, station: &str, from: u64, to: u64) -> StorageResult<Vec<Anchor>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT inspection_id, json_extract(manifest, '$.audit_sequence'), \
                        json_extract(manifest, '$.audit_head') \
                 FROM packages WHERE station = ?1 \
                   AND json_extract(manifest, '$.audit_sequence') BETWEEN ?2 AND ?3 \
                 ORDER BY 2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![station, from as i64, to as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(db)?;
        let mut anchors = Vec::new();
        for row in rows {
            let (id, seq, head) = row.map_err(db)?;
            anchors.push(Anchor {
                inspection_id: parse_uuid(&id)?,
                seq: seq as u64,
                head,
            });
        }
        Ok(anchors)
    }

    fn outstanding_bytes(&self, station: &str) -> StorageResult<u64> {
        let sum: i64 = self
            .lock()
            .query_row(
                "SELECT COALESCE(SUM(f.size), 0) FROM package_files f \
                 JOIN packages p ON p.station = f.station AND p.inspection_id = f.inspection_id \
                 WHERE p.station = ?1 AND p.status != ?2",
                params![station, code_of(&PackageStatus::Verified)?],
                |row| row.get(0),
            )
            .map_err(db)?;
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    fn uncommitted_before(&self, cutoff: DateTime<Utc>) -> StorageResult<Vec<PackageKey>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT station, inspection_id FROM packages \
                 WHERE status != ?1 AND first_seen_at < ?2 ORDER BY first_seen_at",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![code_of(&PackageStatus::Verified)?, ts(&cutoff)],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
            )
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.iter()
            .map(|(station, id)| Ok(PackageKey::new(station, parse_uuid(id)?)))
            .collect()
    }

    fn set_station_token(&self, code: &str, token_sha256: &str) -> StorageResult<bool> {
        let changed = self
            .lock()
            .execute(
                "UPDATE stations SET token_sha256 = ?2 WHERE code = ?1",
                params![code, token_sha256],
            )
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn revoke_station(&self, code: &str) -> StorageResult<bool> {
        // Not hexadecimal, so no token's SHA-256 can ever equal it; unique per station.
        self.set_station_token(code, &format!("revogado:{code}"))
    }

    fn stations_fingerprint(&self) -> StorageResult<String> {
        let all: Option<String> = self
            .lock()
            .query_row(
                "SELECT group_concat(code || ':' || token_sha256, ',') \
                 FROM (SELECT code, token_sha256 FROM stations ORDER BY code)",
                [],
                |row| row.get(0),
            )
            .map_err(db)?;
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
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute(
            "UPDATE inspectors SET removed_at = ?2 WHERE station = ?1 AND removed_at IS NULL",
            params![station, ts(&at)],
        )
        .map_err(db)?;
        for (cpf, name) in inspectors {
            // Listed again: back on the list, keeping when it was first registered.
            tx.execute(
                "INSERT INTO inspectors (station, cpf, name, registered_at, removed_at) \
                 VALUES (?1, ?2, ?3, ?4, NULL) \
                 ON CONFLICT (station, cpf) DO UPDATE SET name = excluded.name, removed_at = NULL",
                params![station, cpf, name, ts(&at)],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn inspector(&self, station: &str, cpf: &str) -> StorageResult<Option<InspectorRecord>> {
        let row: Option<(String, String, String, Option<String>)> = self
            .lock()
            .query_row(
                "SELECT cpf, name, registered_at, removed_at FROM inspectors \
                 WHERE station = ?1 AND cpf = ?2",
                params![station, cpf],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(cpf, name, registered_at, removed_at)| {
            Ok(InspectorRecord {
                cpf,
                name,
                registered_at: parse_ts(&registered_at)?,
                removed_at: removed_at.as_deref().map(parse_ts).transpose()?,
            })
        })
        .transpose()
    }

    fn heartbeat(&self, instance: Uuid, until: DateTime<Utc>) -> StorageResult<()> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO instances (id, alive_until) VALUES (?1, ?2) \
             ON CONFLICT(id) DO UPDATE SET alive_until = excluded.alive_until",
            params![instance.to_string(), ts(&until)],
        )
        .map_err(db)?;
        // Instances gone for a day are forgotten.
        conn.execute(
            "DELETE FROM instances WHERE alive_until < ?1",
            [ts(&(until - chrono::Duration::days(1)))],
        )
        .map_err(db)?;
        Ok(())
    }

    fn retire_other_instances(&self, me: Uuid, now: DateTime<Utc>) -> StorageResult<()> {
        self.lock()
            .execute(
                "UPDATE instances SET alive_until = ?2 WHERE id <> ?1 AND alive_until > ?2",
                params![me.to_string(), ts(&now)],
            )
            .map_err(db)?;
        Ok(())
    }

    fn claim(&self, key: &PackageKey, file: Option<&str>, lease: Lease) -> StorageResult<bool> {
        self.unsynced(|conn| Self::claim_in(conn, key, file, &lease))
    }

    fn release(&self, holder: Uuid) -> StorageResult<()> {
        self.unsynced(|conn| {
            conn.prepare_cached("DELETE FROM claims WHERE holder = ?1")
                .and_then(|mut stmt| stmt.execute([holder.to_string()]))
                .map_err(db)
        })?;
        Ok(())
    }
}

impl SqliteMetadata {
    fn claim_in(
        conn: &mut Connection,
        key: &PackageKey,
        file: Option<&str>,
        lease: &Lease,
    ) -> StorageResult<bool> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let id = key.inspection_id.to_string();
        tx.execute(
            "DELETE FROM claims WHERE station = ?1 AND inspection_id = ?2 AND (until <= ?3 \
             OR instance IN (SELECT id FROM instances WHERE alive_until <= ?3))",
            params![key.station, id, ts(&lease.now)],
        )
        .map_err(db)?;
        let held = {
            let mut stmt = tx
                .prepare("SELECT file FROM claims WHERE station = ?1 AND inspection_id = ?2")
                .map_err(db)?;
            stmt.query_map(params![key.station, id], |row| row.get::<_, String>(0))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?
        };
        if claims_conflict(file, &held) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO claims (holder, instance, station, inspection_id, file, until) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                lease.holder.to_string(),
                lease.instance.to_string(),
                key.station,
                id,
                file.unwrap_or(""),
                ts(&lease.until)
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(true)
    }
}
