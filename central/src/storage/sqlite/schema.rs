//! The SQLite file's schema: the tables of every version, the one migration that rebuilds
//! tables (1 → 2), and the version kept in `PRAGMA user_version`.

use rusqlite::Connection;

use super::{cross_flags, db, devices, integrity, laudos, live, portal, retention, trails};
use crate::storage::{StorageError, StorageResult};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS stations (
    code TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    query_id TEXT PRIMARY KEY,
    station TEXT NOT NULL,
    plate TEXT NOT NULL,
    queried_at TEXT NOT NULL,
    deadline TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    inspection_id TEXT NOT NULL,
    station TEXT NOT NULL,
    query_id TEXT NOT NULL,
    plate TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    late INTEGER NOT NULL,
    status TEXT NOT NULL,
    rejection TEXT,
    laudo_number TEXT UNIQUE,
    received_at TEXT,
    signature TEXT,
    PRIMARY KEY (station, inspection_id)
);
CREATE TABLE IF NOT EXISTS package_files (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    digests_match INTEGER,
    PRIMARY KEY (station, inspection_id, name),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages(station, inspection_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS audit_keys (
    station TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    start_seq INTEGER NOT NULL,
    issued_at TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inspectors (
    station TEXT NOT NULL,
    cpf TEXT NOT NULL,
    name TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    removed_at TEXT,
    PRIMARY KEY (station, cpf)
);
CREATE TABLE IF NOT EXISTS laudo_counters (
    year INTEGER PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    holder TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    file TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    alive_until TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
";

/// Indexes, made after the tables (and after a migration rebuilt them).
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS packages_by_query ON packages(query_id);
CREATE INDEX IF NOT EXISTS claims_by_package ON claims(station, inspection_id);
CREATE INDEX IF NOT EXISTS packages_by_anchor
    ON packages(station, json_extract(manifest, '$.audit_sequence'));
CREATE INDEX IF NOT EXISTS packages_by_plate
    ON packages(plate, first_seen_at, station, inspection_id);
CREATE INDEX IF NOT EXISTS packages_by_station
    ON packages(station, first_seen_at, inspection_id);
CREATE INDEX IF NOT EXISTS packages_by_time ON packages(first_seen_at, station, inspection_id);
";

/// `PRAGMA user_version` of [`SCHEMA`]. 0 is a new file or one written before versions were
/// kept (version 1: packages keyed by inspection id alone). Version 3 added `users` and the
/// search indexes, which `CREATE … IF NOT EXISTS` makes on a version 2 file; version 4 the laudo
/// numbers allocated at the vehicle query ([`laudos::TABLE`]), filled with those given before;
/// version 5 the record of retention runs and the indexes the purge walks ([`retention`]);
/// version 6 the last integrity check of each verified package ([`integrity`]), the commit's for
/// those verified before; version 7 the stations' audit rows the packages carry ([`trails`]);
/// version 8 the web portal's accounts, sessions and access log ([`portal`]); version 9 the
/// device-management policies, releases and station inventories (§15, [`devices`]); version 10
/// how far retention removed each station's audit rows, and the count in each run ([`trails`]);
/// version 11 the stations' business hours and newest live frames (§7, [`live`]); version 12
/// the cross-station flags' profiles, photo hashes and flags ([`cross_flags`]).
pub const SCHEMA_VERSION: i64 = 12;

/// Version 1 → 2: packages and their files keyed by (station, inspection id). Runs with foreign
/// keys off (SQLite's documented way to rebuild a table), inside one transaction.
const MIGRATE_1_TO_2: &str = "
CREATE TABLE packages_v2 (
    inspection_id TEXT NOT NULL,
    station TEXT NOT NULL,
    query_id TEXT NOT NULL,
    plate TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    late INTEGER NOT NULL,
    status TEXT NOT NULL,
    rejection TEXT,
    laudo_number TEXT UNIQUE,
    received_at TEXT,
    signature TEXT,
    PRIMARY KEY (station, inspection_id)
);
INSERT INTO packages_v2 SELECT inspection_id, station, query_id, plate, manifest,
    manifest_sha256, first_seen_at, deadline, late, status, rejection, laudo_number,
    received_at, signature FROM packages;
CREATE TABLE package_files_v2 (
    station TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    digests_match INTEGER,
    PRIMARY KEY (station, inspection_id, name),
    FOREIGN KEY (station, inspection_id)
        REFERENCES packages_v2(station, inspection_id) ON DELETE CASCADE
);
INSERT INTO package_files_v2 SELECT p.station, f.inspection_id, f.position, f.name, f.kind,
    f.size, f.md5, f.sha256, f.digests_match
    FROM package_files f JOIN packages p ON p.inspection_id = f.inspection_id;
DROP TABLE package_files;
DROP TABLE packages;
ALTER TABLE packages_v2 RENAME TO packages;
ALTER TABLE package_files_v2 RENAME TO package_files;
";

/// Whether `table` exists and has `column` (a missing table has none: it is made whole).
fn has_column(conn: &Connection, table: &str, column: &str) -> StorageResult<bool> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |row| row.get(0),
        )
        .map_err(db)?;
    if !exists {
        return Ok(true);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
        [table, column],
        |row| row.get(0),
    )
    .map_err(db)
}

/// Brings the file to [`SCHEMA_VERSION`]; refuses a newer one (written by a later release).
pub(super) fn migrate(conn: &Connection) -> StorageResult<()> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::Corrupt(format!(
            "banco na versão {version}, esta versão do servidor conhece até a {SCHEMA_VERSION}; \
             atualize o servidor"
        )));
    }
    let legacy: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'packages')",
            [],
            |row| row.get(0),
        )
        .map_err(db)?;
    let mut script = String::from("BEGIN IMMEDIATE;");
    if version < 2 && legacy {
        tracing::info!("migrando o banco de metadados para a versão 2 (pacotes por estação)");
        script.push_str(MIGRATE_1_TO_2);
    }
    script.push_str(SCHEMA);
    script.push_str(laudos::TABLE);
    if version < 4 && legacy {
        tracing::info!("migrando o banco de metadados para a versão 4 (números de laudo)");
        script.push_str(laudos::BACKFILL);
    }
    script.push_str(retention::TABLE);
    if !has_column(conn, "retention_runs", "audit_rows")? {
        // Runs recorded before version 10 removed no audit rows on their own.
        script.push_str(retention::ADD_AUDIT_ROWS);
    }
    script.push_str(integrity::TABLE);
    script.push_str(trails::TABLE);
    script.push_str(devices::TABLE);
    script.push_str(portal::TABLE);
    script.push_str(cross_flags::TABLE);
    script.push_str(live::TABLE);
    if version < 6 && legacy {
        script.push_str(integrity::BACKFILL);
    }
    script.push_str(INDEXES);
    script.push_str(retention::INDEX);
    script.push_str(&format!("PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"));
    conn.execute_batch(&script).map_err(db)
}
