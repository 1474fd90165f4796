//! The kiosk's durable local store: SQLite (WAL, `synchronous=FULL`) for metadata and the audit
//! log, files for media. A crash at any moment leaves either the old state or the new one.
//!
//! One process at a time owns a data directory (an exclusive lock on `vistoria.lock`). A run
//! that ends without [`Store::close`] is noticed by the next one, which can then close the
//! inspections the crash interrupted (see [`crate::session`]).

mod accounts;
pub mod atomic;
mod audit;
mod audit_action;
mod evidence;
mod inspections;
mod media;
mod outbox;
mod rules;
mod schema;
mod tickets;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use thiserror::Error;

pub use audit::{
    AuditEvent, AuditProblem, AuditReport, AuditRow, GENESIS, MAX_TRAIL_BYTES, MAX_TRAIL_ROWS,
    MacRow, check_macs, check_macs_on, check_segment, ratchet, row_from_sql, row_mac,
};
pub use audit_action::AuditAction;
pub use media::{MAX_NOTE_CHARS, MediaRecord, NewMedia, PhotoMeta, valid_note};
pub use outbox::{OutboxEntry, OutboxState};
pub use schema::CURRENT_VERSION;
pub use tickets::{
    NewTicketRequest, TicketQueueState, TicketRequest, TicketRequestKind, TicketTarget,
};

use crate::domain::{Inspection, InspectionId};
use crate::hashing::Digests;
use crate::paths;

/// Why the store cannot do what was asked. Messages are for the technician, in Portuguese.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error("a pasta de dados {0} já está em uso por outro processo do Vistoria")]
    Locked(PathBuf),
    /// A file-system operation failed.
    #[error("falha ao acessar {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database file is damaged or is not a database; it was left untouched.
    #[error(
        "banco de dados local {path} está corrompido ou não é um banco do Vistoria ({detail}); nada foi alterado — chame o técnico"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The database was written by a newer build.
    #[error(
        "banco de dados criado por uma versão mais nova do Vistoria (esquema {found}; esta versão conhece até {known}); atualize o Vistoria"
    )]
    TooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        known: u32,
    },
    /// Any other SQLite error.
    #[error("erro no banco de dados local: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value cannot be read back.
    #[error("dado ilegível no banco de dados local: {0}")]
    Decode(String),
    /// The caller passed something the store refuses.
    #[error("pedido inválido ao armazenamento: {0}")]
    Invalid(String),
    /// A media file no longer matches its recorded digests.
    #[error(
        "arquivo de mídia {file} foi alterado ou corrompido (SHA-256 esperado {expected}, encontrado {found})"
    )]
    MediaCorrupted {
        /// Path relative to the media folder.
        file: String,
        /// Recorded SHA-256.
        expected: String,
        /// SHA-256 of what is on disk.
        found: String,
    },
    /// A recorded media file is gone.
    #[error("arquivo de mídia {file} não foi encontrado")]
    MediaMissing {
        /// Path relative to the media folder.
        file: String,
    },
    /// The inspection is not in the store.
    #[error("vistoria {0} não encontrada")]
    NotFound(InspectionId),
}

/// What opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenReport {
    /// The previous run ended without closing the store (crash, kill, power cut).
    pub previous_run_crashed: bool,
    /// Files of purged records whose deletion a crash cut short, deleted now.
    pub removed_partial_files: usize,
    /// Files in the media folder the database does not list (debris of interrupted writes,
    /// or put there by hand), moved to `quarantine/` with an audit row each.
    pub quarantined_files: usize,
    /// Copies of delivered inspections' evidence (laudo PDF, recorder folder, quarantined
    /// files) whose deletion a crash cut short, deleted now (§9).
    pub removed_evidence_copies: usize,
}

/// One media file that fails its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaProblem {
    /// The record.
    pub record: MediaRecord,
    /// What is wrong.
    pub error: String,
}

const RUNNING_KEY: &str = "running";

/// The open store. Not shared between threads: give it to one owner and send it requests.
pub struct Store {
    conn: Connection,
    data_dir: PathBuf,
    media_dir: PathBuf,
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, migrates it and cleans up after a
    /// crash. A damaged database is reported, never replaced.
    pub fn open(data_dir: &Path) -> Result<(Store, OpenReport), StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        atomic::create_dir_durable(data_dir).map_err(io(data_dir))?;
        // The data folder holds citizens' data: owner only, even if made by hand (issue 17).
        if let Err(e) = atomic::restrict_to_owner(data_dir) {
            tracing::warn!(dir = %data_dir.display(), error = %e, "cannot restrict the data folder to its owner");
        }
        let lock_path = data_dir.join("vistoria.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => StoreError::Locked(data_dir.to_path_buf()),
            std::fs::TryLockError::Error(source) => StoreError::Io {
                path: lock_path.clone(),
                source,
            },
        })?;

        let db_path = paths::database_in(data_dir);
        let mut conn = open_connection(&db_path)?;
        schema::migrate(&mut conn).map_err(|e| corrupt_if_not_db(e, &db_path))?;

        let media_dir = paths::media_dir_in(data_dir);
        atomic::create_dir_durable(&media_dir).map_err(io(&media_dir))?;
        let previous_run_crashed = get_meta(&conn, RUNNING_KEY)?.as_deref() == Some("1");
        let swept = media::sweep(&conn, data_dir, &media_dir)?;
        set_meta(&conn, RUNNING_KEY, "1")?;
        let mut store = Store {
            conn,
            data_dir: data_dir.to_path_buf(),
            media_dir,
            _lock: lock,
        };
        for (file, moved_to, size) in &swept.quarantined {
            store.audit(
                AuditEvent::new(
                    None,
                    crate::session::SYSTEM_ACTOR,
                    AuditAction::MediaQuarantined,
                )
                .detail(serde_json::json!({ "file": file, "moved_to": moved_to, "size": size })),
            )?;
        }
        // After the media sweep: what it quarantined of a delivered inspection goes too.
        let removed_evidence_copies = evidence::sweep(&store.conn, data_dir)?;
        Ok((
            store,
            OpenReport {
                previous_run_crashed,
                removed_partial_files: swept.removed,
                quarantined_files: swept.quarantined.len(),
                removed_evidence_copies,
            },
        ))
    }

    /// Closes cleanly, so the next run knows this one did not crash.
    pub fn close(self) -> Result<(), StoreError> {
        set_meta(&self.conn, RUNNING_KEY, "0")?;
        self.conn.close().map_err(|(_, e)| StoreError::Sql(e))
    }

    /// Records a clean exit without giving the store up, for a process about to end that shares
    /// it between threads (the kiosk window). Call it when nothing more will be written.
    pub fn mark_clean_exit(&mut self) -> Result<(), StoreError> {
        set_meta(&self.conn, RUNNING_KEY, "0")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The media folder.
    pub fn media_dir(&self) -> &Path {
        &self.media_dir
    }

    /// Writes an inspection (new or changed) and its audit row in one transaction.
    pub fn save_inspection(
        &mut self,
        inspection: &Inspection,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        inspections::upsert(&tx, inspection)?;
        let row = audit::append(&tx, &event.inspection(inspection.id()))?;
        tx.commit()?;
        Ok(row)
    }

    /// Writes a newly opened inspection with the laudo number the central allocated to it at
    /// the vehicle query (`None`: a central that allocates none) and its audit row, in one
    /// transaction.
    pub fn save_opened(
        &mut self,
        inspection: &Inspection,
        laudo_number: Option<&str>,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        inspections::upsert(&tx, inspection)?;
        if let Some(number) = laudo_number {
            inspections::set_laudo_number(&tx, inspection.id(), number)?;
        }
        let row = audit::append(&tx, &event.inspection(inspection.id()))?;
        tx.commit()?;
        Ok(row)
    }

    /// The laudo number the central allocated to inspection `id` at its vehicle query, if it
    /// did.
    pub fn laudo_number(&self, id: InspectionId) -> Result<Option<String>, StoreError> {
        inspections::laudo_number(&self.conn, id)
    }

    /// One inspection, if stored.
    pub fn inspection(&self, id: InspectionId) -> Result<Option<Inspection>, StoreError> {
        inspections::get(&self.conn, id)
    }

    /// Every stored inspection, oldest first.
    pub fn inspections(&self) -> Result<Vec<Inspection>, StoreError> {
        inspections::list(&self.conn, &[])
    }

    /// Stored inspections whose state is one of `states` (`Inspection::state_name` values).
    pub fn inspections_in(&self, states: &[&str]) -> Result<Vec<Inspection>, StoreError> {
        inspections::list(&self.conn, states)
    }

    /// Stores an evidence file: hashes it (§8), writes it whole, then records it with an audit
    /// row in one transaction. Returns only once all of that is durable.
    pub fn store_media(
        &mut self,
        new: NewMedia<'_>,
        actor: &str,
    ) -> Result<MediaRecord, StoreError> {
        self.store_media_as(new, actor, false, PhotoMeta::default())
    }

    /// Stores a photo like [`Store::store_media`]; a second photo of a kind carries the reason
    /// it was taken again (the rule is the workflow's: [`crate::workflow::photos`]), kept with
    /// the file and in a `media.retake` audit row of the same transaction.
    pub fn store_photo(
        &mut self,
        new: NewMedia<'_>,
        actor: &str,
        retake_reason: Option<&str>,
    ) -> Result<MediaRecord, StoreError> {
        let meta = PhotoMeta {
            retake_reason,
            ..PhotoMeta::default()
        };
        self.store_media_as(new, actor, false, meta)
    }

    /// Stores a photo like [`Store::store_photo`], with what else is kept with it: the device
    /// that took it and, for an additional photo, the reason the Portaria names (§8). Both go
    /// into the `media.stored` audit row and the package's manifest.
    pub fn store_photo_with(
        &mut self,
        new: NewMedia<'_>,
        actor: &str,
        meta: PhotoMeta<'_>,
    ) -> Result<MediaRecord, StoreError> {
        self.store_media_as(new, actor, false, meta)
    }

    /// Stores a file that takes the place of the inspection's earlier files of the same kind
    /// (a laudo signed again after an attempt cut short: the package carries exactly one). The
    /// earlier records are purged in the same transaction, with an audit row naming them.
    pub fn replace_media(
        &mut self,
        new: NewMedia<'_>,
        actor: &str,
    ) -> Result<MediaRecord, StoreError> {
        self.store_media_as(new, actor, true, PhotoMeta::default())
    }

    fn store_media_as(
        &mut self,
        new: NewMedia<'_>,
        actor: &str,
        replace: bool,
        meta: PhotoMeta<'_>,
    ) -> Result<MediaRecord, StoreError> {
        media::validate(&new)?;
        for note in [meta.device, meta.reason, meta.source]
            .into_iter()
            .flatten()
        {
            if !media::valid_note(note) {
                return Err(StoreError::Invalid(format!(
                    "dispositivo ou motivo da foto inválido: {note:?}"
                )));
            }
        }
        let retake_reason = meta.retake_reason;
        if !inspections::exists(&self.conn, new.inspection_id)? {
            return Err(StoreError::NotFound(new.inspection_id));
        }
        let digests = Digests::of(new.bytes);
        let id = uuid::Uuid::new_v4().to_string();
        let folder = new.inspection_id.to_string();
        let dir = self.media_dir.join(&folder);
        let name = format!("{}-{id}.{}", new.kind, new.extension);
        atomic::create_dir_durable(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        atomic::write_new(&dir, &name, new.bytes).map_err(|source| StoreError::Io {
            path: dir.join(&name),
            source,
        })?;
        let record = MediaRecord {
            id,
            inspection_id: new.inspection_id,
            kind: new.kind.to_owned(),
            file_name: format!("{folder}/{name}"),
            digests,
            captured_at: new.captured_at,
            device: meta.device.map(str::to_owned),
            reason: meta.reason.map(str::to_owned),
        };
        let mut detail = serde_json::json!({
            "media_id": record.id,
            "kind": record.kind,
            "size": record.digests.size,
            "md5": record.digests.md5,
            "sha256": record.digests.sha256,
        });
        // Older rows have none of these; a row without them is a file no device took.
        for (key, value) in [
            ("source", meta.source),
            ("device", meta.device),
            ("reason", meta.reason),
        ] {
            if let Some(value) = value {
                detail[key] = serde_json::json!(value);
            }
        }
        let event = AuditEvent::new(Some(new.captured_at), actor, AuditAction::MediaStored)
            .inspection(new.inspection_id)
            .detail(detail);
        let tx = self.conn.transaction()?;
        let superseded = if replace {
            let at = new.captured_at.at.to_rfc3339();
            let old = media::mark_superseded(&tx, new.inspection_id, new.kind, &at)?;
            if !old.is_empty() {
                let ids: Vec<&str> = old.iter().map(|r| r.id.as_str()).collect();
                let event =
                    AuditEvent::new(Some(new.captured_at), actor, AuditAction::MediaSuperseded)
                        .inspection(new.inspection_id)
                        .detail(serde_json::json!({
                            "kind": new.kind,
                            "media_ids": ids,
                            "by": record.id,
                        }));
                audit::append(&tx, &event)?;
            }
            old
        } else {
            Vec::new()
        };
        media::insert(&tx, &record)?;
        audit::append(&tx, &event)?;
        if let Some(reason) = retake_reason {
            media::set_retake_reason(&tx, &record.id, reason)?;
            let retake = AuditEvent::new(Some(new.captured_at), actor, AuditAction::MediaRetake)
                .inspection(new.inspection_id)
                .detail(serde_json::json!({
                    "kind": record.kind,
                    "media_id": record.id,
                    "reason": reason,
                }));
            audit::append(&tx, &retake)?;
        }
        tx.commit()?;
        if !superseded.is_empty() {
            media::delete_files(&self.media_dir, new.inspection_id, &superseded)?;
        }
        Ok(record)
    }

    /// The media of one inspection, in capture order.
    pub fn media_of(&self, inspection: InspectionId) -> Result<Vec<MediaRecord>, StoreError> {
        media::list(&self.conn, Some(inspection))
    }

    /// Reads a media file back, refusing it if its bytes no longer match the digests.
    pub fn read_media(&self, record: &MediaRecord) -> Result<Vec<u8>, StoreError> {
        media::read_verified(&self.media_dir, record)
    }

    /// Re-hashes every media file and lists those that are missing or changed.
    pub fn verify_media(&self) -> Result<Vec<MediaProblem>, StoreError> {
        let mut problems = Vec::new();
        for record in media::list(&self.conn, None)? {
            if let Err(e) = self.read_media(&record) {
                problems.push(MediaProblem {
                    error: e.to_string(),
                    record,
                });
            }
        }
        Ok(problems)
    }

    /// Where a media file lives on disk (to stream it to the central).
    pub fn media_path(&self, record: &MediaRecord) -> PathBuf {
        self.media_dir.join(&record.file_name)
    }

    /// Queues a package: the inspection (now queued) and its outbox entry, with the audit row,
    /// in one transaction. `trail_through` is the last audit position the package's trail
    /// carries ([`Store::audit_trail_to`]): the next package's trail starts after it.
    pub fn enqueue(
        &mut self,
        inspection: &Inspection,
        entry: &OutboxEntry,
        trail_through: u64,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        inspections::upsert(&tx, inspection)?;
        outbox::insert(&tx, entry)?;
        set_meta(&tx, audit::PACKAGED_KEY, &trail_through.to_string())?;
        let row = audit::append(&tx, &event.inspection(inspection.id()))?;
        tx.commit()?;
        Ok(row)
    }

    /// Every outbox entry, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        outbox::list(&self.conn, None)
    }

    /// The outbox entries in `state`, oldest queue first.
    pub fn outbox_in(&self, state: OutboxState) -> Result<Vec<OutboxEntry>, StoreError> {
        outbox::list(&self.conn, Some(state))
    }

    /// How many outbox entries are in `state` (cheap: for a status bar).
    pub fn outbox_count(&self, state: OutboxState) -> Result<usize, StoreError> {
        outbox::count(&self.conn, state)
    }

    /// One outbox entry.
    pub fn outbox_entry(&self, id: InspectionId) -> Result<Option<OutboxEntry>, StoreError> {
        outbox::get(&self.conn, id)
    }

    /// Records a change of an outbox entry with its audit row.
    pub fn update_outbox(
        &mut self,
        entry: &OutboxEntry,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        outbox::update(&tx, entry)?;
        let row = audit::append(&tx, &event.inspection(entry.inspection_id))?;
        tx.commit()?;
        Ok(row)
    }

    /// Records the central's receipt: the inspection delivered, the outbox entry closed and the
    /// media marked purged, with one audit row naming what goes, in one transaction; then
    /// deletes the media files and every other copy of the inspection's evidence (laudo PDF,
    /// recorder folder, quarantined files: see [`evidence`]), which the kiosk keeps no longer
    /// than that (§9). A crash before the deletions end is finished at the next start. Returns
    /// how many media files were deleted.
    pub fn record_delivery(
        &mut self,
        inspection: &Inspection,
        entry: &OutboxEntry,
        event: AuditEvent,
    ) -> Result<usize, StoreError> {
        let id = inspection.id();
        let at = event.at.map(|s| outbox::rfc3339(s.at)).unwrap_or_default();
        let tx = self.conn.transaction()?;
        inspections::upsert(&tx, inspection)?;
        outbox::update(&tx, entry)?;
        let purged = media::mark_purged(&tx, id, &at)?;
        let copies = evidence::copies_of(&self.data_dir, id, &purged);
        let event = evidence::describe(event, purged.len(), &copies, &self.data_dir);
        audit::append(&tx, &event.inspection(id))?;
        tx.commit()?;
        let removed = media::delete_files(&self.media_dir, id, &purged)?;
        evidence::delete(&self.data_dir, id, &copies)?;
        Ok(removed)
    }

    /// The newest audit row's position and hash, which packages carry to the central.
    pub fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        audit::read_head(&self.conn)
    }

    /// The audit rows a package anchored at `head` carries: those after the last queued
    /// package's trail, up to `head`, at most [`audit::MAX_TRAIL_ROWS`] rows and
    /// [`audit::MAX_TRAIL_BYTES`] of JSON (the newest).
    pub fn audit_trail_to(&self, head: u64) -> Result<Vec<AuditRow>, StoreError> {
        let packaged = get_meta(&self.conn, audit::PACKAGED_KEY)?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let from = (packaged + 1).max((head + 1).saturating_sub(audit::MAX_TRAIL_ROWS));
        if head < from {
            return Ok(Vec::new());
        }
        let mut rows = audit::rows_between(&self.conn, from, head)?;
        let mut bytes = 0;
        let keep = rows
            .iter()
            .rev()
            .take_while(|row| {
                bytes += serde_json::to_string(row).map_or(usize::MAX, |j| j.len() + 1);
                bytes <= audit::MAX_TRAIL_BYTES
            })
            .count();
        rows.drain(..rows.len() - keep);
        Ok(rows)
    }

    /// Appends an event that changes no other table.
    pub fn audit(&mut self, event: AuditEvent) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        let row = audit::append(&tx, &event)?;
        tx.commit()?;
        Ok(row)
    }

    /// Keys the audit chain with `key`, the first key the central provisioned for this station:
    /// the next row is the first keyed one. Refused when a key is already in place (the central
    /// hands out one first key per station). Returns the first keyed position.
    pub fn provision_audit_key(
        &mut self,
        key: &[u8; 32],
        event: AuditEvent,
    ) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        if audit::read_mac_key(&tx)?.is_some() {
            return Err(StoreError::Invalid(
                "o registro de auditoria já tem chave".to_owned(),
            ));
        }
        let start = audit::read_head(&tx)?.map_or(1, |(seq, _)| seq + 1);
        audit::write_mac_key(&tx, start, key)?;
        set_meta(&tx, audit::MAC_START, &start.to_string())?;
        audit::append(&tx, &event)?;
        tx.commit()?;
        Ok(start)
    }

    /// The first keyed position of the audit chain, once keyed.
    pub fn audit_mac_start(&self) -> Result<Option<u64>, StoreError> {
        audit::mac_start(&self.conn)
    }

    /// Position, hash and MAC of every audit row from `from` on, in order: what the central
    /// needs to check the MACs (nothing of the rows' content).
    pub fn audit_mac_rows(&self, from: u64) -> Result<Vec<audit::MacRow>, StoreError> {
        audit::mac_rows(&self.conn, from)
    }

    /// Walks the audit chain.
    pub fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        audit::verify(&self.conn)
    }

    /// One staff account, if it exists.
    pub fn account(&self, login: &str) -> Result<Option<crate::accounts::Account>, StoreError> {
        accounts::get(&self.conn, login)
    }

    /// Every staff account, by login.
    pub fn accounts(&self) -> Result<Vec<crate::accounts::Account>, StoreError> {
        accounts::list(&self.conn)
    }

    /// Creates or replaces an account, with its audit row, in one transaction.
    pub fn save_account(
        &mut self,
        account: &crate::accounts::Account,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        let tx = self.conn.transaction()?;
        accounts::upsert(&tx, account)?;
        let row = audit::append(&tx, &event)?;
        tx.commit()?;
        Ok(row)
    }

    /// A value kept between runs (last clock sync, settings), if set.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        get_meta(&self.conn, key)
    }

    /// Keeps a value between runs. The store's own bookkeeping keys are refused.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        check_settable(key)?;
        set_meta(&self.conn, key, value)
    }

    /// Keeps a setting a person changed together with its audit row, in one transaction:
    /// the setting never changes without its row, nor the row without it.
    pub fn set_meta_audited(
        &mut self,
        key: &str,
        value: &str,
        event: AuditEvent,
    ) -> Result<AuditRow, StoreError> {
        check_settable(key)?;
        let tx = self.conn.transaction()?;
        set_meta(&tx, key, value)?;
        let row = audit::append(&tx, &event)?;
        tx.commit()?;
        Ok(row)
    }
}

/// The store's own bookkeeping keys are not settings.
fn check_settable(key: &str) -> Result<(), StoreError> {
    if [
        RUNNING_KEY,
        audit::HEAD_KEY,
        audit::MAC_KEY,
        audit::MAC_START,
        audit::PACKAGED_KEY,
    ]
    .contains(&key)
    {
        return Err(StoreError::Invalid(format!("a chave {key} é reservada")));
    }
    Ok(())
}

/// Opens only the database of a data directory, read-only, without taking the lock or
/// touching anything: for `vistoria audit verify`, which may run beside a live kiosk.
pub fn verify_audit_at(data_dir: &Path) -> Result<AuditReport, StoreError> {
    let conn = open_read_only(data_dir)?;
    audit::verify(&conn).map_err(|e| corrupt_if_not_db(e, &paths::database_in(data_dir)))
}

/// The staff accounts of a data directory, read-only beside a live kiosk (`vistoria staff
/// bootstrap`); none when the kiosk has never run there.
pub fn accounts_at(data_dir: &Path) -> Result<Vec<crate::accounts::Account>, StoreError> {
    if !paths::database_in(data_dir).is_file() {
        return Ok(Vec::new());
    }
    accounts::list(&open_read_only(data_dir)?)
}

/// [`Store::audit_mac_rows`] of a data directory, read-only beside a live kiosk.
pub fn audit_mac_rows_at(data_dir: &Path) -> Result<Vec<MacRow>, StoreError> {
    audit::mac_rows(&open_read_only(data_dir)?, 1)
}

fn open_read_only(data_dir: &Path) -> Result<Connection, StoreError> {
    let db_path = paths::database_in(data_dir);
    if !db_path.is_file() {
        return Err(StoreError::Io {
            path: db_path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "arquivo não existe"),
        });
    }
    Connection::open_with_flags(&db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| corrupt_if_not_db(e.into(), &db_path))
}

fn open_connection(db_path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(db_path).map_err(|e| corrupt_if_not_db(e.into(), db_path))?;
    // Checks the header before anything writes: a damaged file must not be "repaired" by WAL setup.
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| corrupt_if_not_db(e.into(), db_path))?;
    if check != "ok" {
        return Err(StoreError::Corrupt {
            path: db_path.to_path_buf(),
            detail: check,
        });
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A retired audit key (and anything else deleted) is overwritten, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn corrupt_if_not_db(e: StoreError, db_path: &Path) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e {
        StoreError::Sql(rusqlite::Error::SqliteFailure(f, msg))
            if matches!(f.code, DatabaseCorrupt | NotADatabase) =>
        {
            StoreError::Corrupt {
                path: db_path.to_path_buf(),
                detail: msg.unwrap_or_else(|| f.to_string()),
            }
        }
        other => other,
    }
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
