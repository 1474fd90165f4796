//! The PostgreSQL database's schema: its versioned migrations, applied once each at start.

use super::{cross_flags, db, devices, integrity, laudos, live, portal, retention, trails};
use crate::storage::{StorageError, StorageResult};

/// Key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x5653_5452_4941_0001;

/// The migrations, in order; each runs once, in a transaction, and is recorded.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "
CREATE TABLE stations (
    code TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE queries (
    query_id UUID PRIMARY KEY,
    station TEXT NOT NULL,
    plate TEXT NOT NULL,
    queried_at TIMESTAMPTZ NOT NULL,
    deadline TIMESTAMPTZ NOT NULL
);
CREATE INDEX queries_by_time ON queries (queried_at);
CREATE TABLE packages (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    query_id UUID NOT NULL,
    plate TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    audit_sequence BIGINT,
    audit_head TEXT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    deadline TIMESTAMPTZ NOT NULL,
    late BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    rejection TEXT,
    laudo_number TEXT UNIQUE,
    received_at TIMESTAMPTZ,
    signature TEXT,
    PRIMARY KEY (station, inspection_id)
);
-- One inspection per vehicle query (§5, §9), whichever instance receives them.
CREATE UNIQUE INDEX packages_one_per_query ON packages (query_id);
CREATE INDEX packages_by_anchor ON packages (station, audit_sequence);
CREATE INDEX packages_by_plate ON packages (plate);
CREATE INDEX packages_by_time ON packages (first_seen_at);
CREATE TABLE package_files (
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size BIGINT NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    digests_match BOOLEAN,
    PRIMARY KEY (station, inspection_id, name),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages (station, inspection_id) ON DELETE CASCADE
);
CREATE TABLE audit_keys (
    station TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    start_seq BIGINT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE inspectors (
    station TEXT NOT NULL,
    cpf TEXT NOT NULL,
    name TEXT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL,
    removed_at TIMESTAMPTZ,
    PRIMARY KEY (station, cpf)
);
CREATE TABLE laudo_counters (
    year INTEGER PRIMARY KEY,
    next BIGINT NOT NULL
);
",
    ),
    (
        2,
        "
-- Leases on running uploads and commits, seen by every instance.
CREATE TABLE instances (
    id UUID PRIMARY KEY,
    alive_until TIMESTAMPTZ NOT NULL
);
CREATE TABLE claims (
    holder UUID PRIMARY KEY,
    instance UUID NOT NULL,
    station TEXT NOT NULL,
    inspection_id UUID NOT NULL,
    file TEXT NOT NULL,
    until TIMESTAMPTZ NOT NULL
);
CREATE INDEX claims_by_package ON claims (station, inspection_id);
",
    ),
    (
        3,
        "
-- Credentials of people (Detran auditors, administrators), beside the stations' tokens.
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
-- The Detran API's search: by plate, by station, or by time alone, in its keyset order. The
-- first two cover what the single-column indexes of version 1 did, which go.
CREATE INDEX packages_by_plate_in_order
    ON packages (plate, first_seen_at, station, inspection_id);
CREATE INDEX packages_by_station_in_order ON packages (station, first_seen_at, inspection_id);
CREATE INDEX packages_in_order ON packages (first_seen_at, station, inspection_id);
DROP INDEX packages_by_plate;
DROP INDEX packages_by_time;
",
    ),
    // Laudo numbers allocated at the vehicle query (issue 21).
    (4, laudos::MIGRATION),
    (5, retention::MIGRATION),
    (6, integrity::MIGRATION),
    (7, trails::MIGRATION),
    // The web portal's accounts, sessions and access log (issue 22).
    (8, portal::MIGRATION),
    // Device management: policies, releases, station inventories (§15, issue 24).
    (9, devices::MIGRATION),
    // How far retention removed each station's audit rows (§9, issue 21).
    (10, trails::MIGRATION_REMOVED),
    // Business hours and the newest live frame of each station (§7, issue 22).
    (11, live::MIGRATION),
    // Cross-station flags: profiles, photo hashes, flags (issue 22).
    (12, cross_flags::MIGRATION),
];

/// Applies the migrations this database has not seen, each once, even when several
/// instances start at the same moment (they queue on an advisory lock). A database migrated
/// by a newer release is refused.
pub(super) fn migrate(conn: &mut ::postgres::Client) -> StorageResult<()> {
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    let result = (|| {
        conn.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .map_err(db)?;
        let current: i32 = conn
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .map_err(db)?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if current > known {
            return Err(StorageError::Corrupt(format!(
                "banco na versão {current}, esta versão do servidor conhece até a {known}; \
                 atualize o servidor"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let mut tx = conn.transaction().map_err(db)?;
            tx.batch_execute(sql).map_err(db)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[version],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            tracing::info!(version, "migração do banco aplicada");
        }
        Ok(())
    })();
    conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    result
}
