//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Append only: a migration that has shipped is never edited, a change is a new entry.

use rusqlite::Connection;

use super::StoreError;

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: inspections, media, audit log, key-value metadata.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE inspections (
        id          TEXT PRIMARY KEY,
        plate       TEXT NOT NULL,
        state       TEXT NOT NULL,
        queried_at  TEXT NOT NULL,
        deadline    TEXT NOT NULL,
        body        TEXT NOT NULL
    );
    CREATE INDEX inspections_state ON inspections(state);
    CREATE TABLE media (
        id             TEXT PRIMARY KEY,
        inspection_id  TEXT NOT NULL REFERENCES inspections(id),
        kind           TEXT NOT NULL,
        file_name      TEXT NOT NULL UNIQUE,
        size           INTEGER NOT NULL,
        md5            TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        captured_at    TEXT NOT NULL,
        sync_age_ms    INTEGER NOT NULL
    );
    CREATE INDEX media_inspection ON media(inspection_id);
    CREATE TABLE audit_log (
        seq            INTEGER PRIMARY KEY,
        at             TEXT,
        sync_age_ms    INTEGER,
        actor          TEXT NOT NULL,
        action         TEXT NOT NULL,
        inspection_id  TEXT,
        detail         TEXT NOT NULL,
        prev_hash      TEXT NOT NULL,
        hash           TEXT NOT NULL
    );
    "#,
    // 2: the outbox (2s, §12) and media purged after the central's receipt (§9).
    r#"
    ALTER TABLE media ADD COLUMN purged_at TEXT;
    CREATE TABLE outbox (
        inspection_id     TEXT PRIMARY KEY REFERENCES inspections(id),
        manifest          TEXT NOT NULL,
        manifest_sha256   TEXT NOT NULL,
        queued_at         TEXT NOT NULL,
        state             TEXT NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        first_attempt_at  TEXT,
        next_attempt_at   TEXT NOT NULL,
        in_flight         INTEGER NOT NULL DEFAULT 0,
        last_error        TEXT,
        receipt           TEXT,
        delivered_at      TEXT
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
    "#,
    // 3: the station's staff (§11): who may log in, with which role; passwords as Argon2id
    // PHC strings, never in clear. Fingerprint templates live in the biometric vault.
    r#"
    CREATE TABLE accounts (
        login          TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        role           TEXT NOT NULL,
        cpf            TEXT NOT NULL,
        password_hash  TEXT,
        active         INTEGER NOT NULL DEFAULT 1
    );
    "#,
    // 4: the keyed audit chain (issue 17): each row written after the central provisioned a key
    // carries an HMAC of its hash under a key that is replaced by its own hash at every row.
    r#"
    ALTER TABLE audit_log ADD COLUMN mac TEXT;
    "#,
    // 5: the inspection's rules kept below the screens (issue 18), so a restart or re-entering
    // an inspection cannot lose them: the reason of a second photo of a kind; the §6 plate
    // reading of each rear photo and its correction; the §14 fingerprint check the station made
    // before the signature.
    r#"
    ALTER TABLE media ADD COLUMN retake_reason TEXT;
    CREATE TABLE plate_checks (
        media_id       TEXT PRIMARY KEY REFERENCES media(id),
        inspection_id  TEXT NOT NULL REFERENCES inspections(id),
        reading        TEXT,
        correction     TEXT
    );
    CREATE INDEX plate_checks_inspection ON plate_checks(inspection_id);
    CREATE TABLE biometric_checks (
        inspection_id  TEXT PRIMARY KEY REFERENCES inspections(id),
        login          TEXT NOT NULL,
        body           TEXT NOT NULL
    );
    "#,
    // 6: the laudo number the central allocated when it answered the vehicle query (issue 21),
    // kept with the inspection from its opening so the laudo is printed and signed with it.
    // NULL for inspections opened before (or against a central that allocates none): their
    // number is given at commit, as it was.
    r#"
    ALTER TABLE inspections ADD COLUMN laudo_number TEXT;
    "#,
    // 7: the device that took each photo (still camera, borescope, panoramic camera; §8) and
    // the reason of an additional photo the Portaria names (§8: the engine number readable
    // only after the engine was taken apart). NULL for rows stored before, and for files no
    // device took (film manifests, laudos).
    r#"
    ALTER TABLE media ADD COLUMN device TEXT;
    ALTER TABLE media ADD COLUMN reason TEXT;
    "#,
    // 8: the help-desk requests the kiosk queues for the central (issue 23; 2k, 2n): a ticket
    // opened, a reply, an answer to a solution, each kept from the press of the button until
    // the central answers, with the `client_id` that makes a second sending harmless. A reply
    // to a ticket opened offline names the ticket by its open's `client_id` until the central
    // gives its id. The last listing the central gave is kept so the screen works offline.
    r#"
    CREATE TABLE ticket_queue (
        seq               INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id         TEXT NOT NULL UNIQUE,
        kind              TEXT NOT NULL,
        ticket_id         INTEGER,
        ticket_client_id  TEXT,
        login             TEXT NOT NULL,
        summary           TEXT NOT NULL,
        body              TEXT NOT NULL,
        queued_at         TEXT NOT NULL,
        state             TEXT NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        next_attempt_at   TEXT NOT NULL,
        last_error        TEXT,
        answer            TEXT,
        answer_ticket_id  INTEGER,
        answer_number     TEXT,
        sent_at           TEXT
    );
    CREATE INDEX ticket_queue_state ON ticket_queue(state, seq);
    CREATE TABLE ticket_listing (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        body        TEXT NOT NULL,
        fetched_at  TEXT NOT NULL
    );
    "#,
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`CURRENT_VERSION`], one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: CURRENT_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "store schema migrated");
    }
    Ok(())
}
