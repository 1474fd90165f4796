//! Evidence files: written whole under `media/<inspection>/`, recorded with their MD5 and
//! SHA-256 (§8) in the same transaction as the audit row that reports them.

use std::fs;
use std::path::Path;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::{StoreError, atomic};
use crate::clock::CentralStamp;
use crate::domain::InspectionId;
use crate::hashing::Digests;

/// A stored evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    /// Unique id of the file.
    pub id: String,
    /// The inspection it belongs to.
    pub inspection_id: InspectionId,
    /// What it shows: a photo kind code (`rear_with_plate`, …) or `video_segment`.
    pub kind: String,
    /// Path relative to the media folder.
    pub file_name: String,
    /// Digests of the exact bytes stored, computed before they were written (§8).
    pub digests: Digests,
    /// Central time of the capture.
    pub captured_at: CentralStamp,
    /// For a photo: the device that took it (its name), when recorded (§8).
    pub device: Option<String>,
    /// For an additional photo: why it was taken, when the Portaria names the case (§8).
    pub reason: Option<String>,
}

/// What is kept with a photo besides its bytes ([`super::Store::store_photo_with`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PhotoMeta<'a> {
    /// Why a photo of its kind is taken again (the rule is the workflow's).
    pub retake_reason: Option<&'a str>,
    /// Why an additional photo is taken (§8: the engine number readable only after the engine
    /// was taken apart).
    pub reason: Option<&'a str>,
    /// The device family's code (`still_camera`, `borescope`, `panoramic`), for the audit row.
    pub source: Option<&'a str>,
    /// The device's own name.
    pub device: Option<&'a str>,
}

/// Longest device name or photo reason kept.
pub const MAX_NOTE_CHARS: usize = 120;

/// Checks a device name or a reason: 1–120 characters, no control characters (they go into
/// the manifest the central validates the same way).
pub fn valid_note(note: &str) -> bool {
    let n = note.chars().count();
    (1..=MAX_NOTE_CHARS).contains(&n) && !note.chars().any(char::is_control) && note.trim() == note
}

/// A file to be stored.
#[derive(Debug, Clone, Copy)]
pub struct NewMedia<'a> {
    /// The inspection it belongs to.
    pub inspection_id: InspectionId,
    /// What it shows.
    pub kind: &'a str,
    /// File extension without the dot (`jpg`, `mp4`).
    pub extension: &'a str,
    /// Central time of the capture.
    pub captured_at: CentralStamp,
    /// The bytes, final: nothing changes them after they are hashed.
    pub bytes: &'a [u8],
}

/// Checks what a caller passes in before anything touches the disk: names become paths.
pub(super) fn validate(new: &NewMedia<'_>) -> Result<(), StoreError> {
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 40
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !word(new.kind) {
        return Err(StoreError::Invalid(format!(
            "tipo de mídia inválido: {:?}",
            new.kind
        )));
    }
    if !word(new.extension) {
        return Err(StoreError::Invalid(format!(
            "extensão de arquivo inválida: {:?}",
            new.extension
        )));
    }
    Ok(())
}

pub(super) fn insert(conn: &Connection, record: &MediaRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO media (id, inspection_id, kind, file_name, size, md5, sha256, captured_at, sync_age_ms, device, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            record.id,
            record.inspection_id.to_string(),
            record.kind,
            record.file_name,
            record.digests.size as i64,
            record.digests.md5,
            record.digests.sha256,
            record.captured_at.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            record.captured_at.sync_age_ms as i64,
            record.device,
            record.reason,
        ],
    )?;
    Ok(())
}

pub(super) fn set_retake_reason(
    conn: &Connection,
    media_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE media SET retake_reason = ?2 WHERE id = ?1",
        params![media_id, reason],
    )?;
    Ok(())
}

/// The reasons given for the photos of `inspection` taken again, by media id.
pub(super) fn retake_reasons(
    conn: &Connection,
    inspection: InspectionId,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, retake_reason FROM media
         WHERE inspection_id = ?1 AND retake_reason IS NOT NULL ORDER BY rowid",
    )?;
    let rows = stmt.query_map([inspection.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn list(
    conn: &Connection,
    inspection: Option<InspectionId>,
) -> Result<Vec<MediaRecord>, StoreError> {
    let sql =
        "SELECT id, inspection_id, kind, file_name, size, md5, sha256, captured_at, sync_age_ms,
                device, reason
               FROM media WHERE (?1 IS NULL OR inspection_id = ?1) AND purged_at IS NULL ORDER BY rowid";
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([inspection.map(|i| i.to_string())], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, i64>(8)?,
            (
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, inspection_id, kind, file_name, size, md5, sha256, at, age, (device, reason)) =
            row?;
        out.push(MediaRecord {
            id,
            inspection_id: inspection_id.parse().map_err(|_| {
                StoreError::Decode(format!("id de vistoria ilegível: {inspection_id}"))
            })?,
            kind,
            file_name,
            digests: Digests {
                md5,
                sha256,
                size: size as u64,
            },
            captured_at: CentralStamp {
                at: chrono::DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| StoreError::Decode(format!("data ilegível {at}: {e}")))?
                    .to_utc(),
                sync_age_ms: age as u64,
            },
            device,
            reason,
        });
    }
    Ok(out)
}

/// Reads a stored file back and checks it against its recorded digests.
pub(super) fn read_verified(media_dir: &Path, record: &MediaRecord) -> Result<Vec<u8>, StoreError> {
    let path = media_dir.join(&record.file_name);
    let bytes = fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::MediaMissing {
            file: record.file_name.clone(),
        },
        _ => StoreError::Io {
            path: path.clone(),
            source: e,
        },
    })?;
    let found = Digests::of(&bytes);
    if found != record.digests {
        return Err(StoreError::MediaCorrupted {
            file: record.file_name.clone(),
            expected: record.digests.sha256.clone(),
            found: found.sha256,
        });
    }
    Ok(bytes)
}

/// What [`sweep`] did with the files the database does not list.
#[derive(Debug, Default)]
pub(super) struct Swept {
    /// Files of purged records deleted (their purge was committed, its deletions cut short).
    pub removed: usize,
    /// Unrecorded files moved to the quarantine: media path and quarantine path (both
    /// relative to the data folder) and size in bytes.
    pub quarantined: Vec<(String, String, u64)>,
}

/// Handles what the database does not list in the media folder. Files of purged records are
/// deleted (the purge was committed). Anything else — temporary files and whole files that were
/// never recorded (a crash between the rename and the commit), or files put there by hand — is
/// moved to `quarantine/` beside the media folder, never deleted: it may be evidence, and
/// deciding is a person's job (issue 17).
pub(super) fn sweep(
    conn: &Connection,
    data_dir: &Path,
    media_dir: &Path,
) -> Result<Swept, StoreError> {
    let io = |path: &Path, source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut swept = Swept::default();
    if !media_dir.is_dir() {
        return Ok(swept);
    }
    let mut live =
        conn.prepare("SELECT 1 FROM media WHERE file_name = ?1 AND purged_at IS NULL")?;
    let mut purged =
        conn.prepare("SELECT 1 FROM media WHERE file_name = ?1 AND purged_at IS NOT NULL")?;
    let quarantine = data_dir.join(QUARANTINE_DIR);
    for folder in fs::read_dir(media_dir).map_err(|e| io(media_dir, e))? {
        let folder = folder.map_err(|e| io(media_dir, e))?.path();
        if !folder.is_dir() {
            continue;
        }
        let folder_name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for entry in fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let entry = entry.map_err(|e| io(&folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = format!("{folder_name}/{name}");
            let temp = name.starts_with(atomic::TEMP_PREFIX);
            if !temp && live.exists([&key])? {
                continue;
            }
            if !temp && purged.exists([&key])? {
                tracing::warn!(file = %entry.path().display(), "removing the file of a purged record");
                fs::remove_file(entry.path()).map_err(|e| io(&entry.path(), e))?;
                swept.removed += 1;
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let target_dir = quarantine.join(&folder_name);
            atomic::create_dir_durable(&target_dir).map_err(|e| io(&target_dir, e))?;
            let mut target = target_dir.join(&name);
            let mut n = 1;
            while target.exists() {
                target = target_dir.join(format!("{name}.{n}"));
                n += 1;
            }
            tracing::warn!(file = %entry.path().display(), to = %target.display(), "quarantining unrecorded media");
            fs::rename(entry.path(), &target).map_err(|e| io(&entry.path(), e))?;
            atomic::sync_dir(&target_dir).map_err(|e| io(&target_dir, e))?;
            atomic::sync_dir(&folder).map_err(|e| io(&folder, e))?;
            let relative = |p: &Path| {
                p.strip_prefix(data_dir)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            };
            swept
                .quarantined
                .push((relative(&entry.path()), relative(&target), size));
        }
    }
    Ok(swept)
}

/// The folder, inside the data folder, where unrecorded media are moved at start.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Marks the live media of an inspection as purged (inside the caller's transaction) and
/// returns their records, whose files the caller deletes once the transaction commits.
pub(super) fn mark_purged(
    conn: &Connection,
    inspection: InspectionId,
    at: &str,
) -> Result<Vec<MediaRecord>, StoreError> {
    let records = list(conn, Some(inspection))?;
    conn.execute(
        "UPDATE media SET purged_at = ?2 WHERE inspection_id = ?1 AND purged_at IS NULL",
        params![inspection.to_string(), at],
    )?;
    Ok(records)
}

/// Marks the live media of one kind of an inspection as purged (inside the caller's
/// transaction) and returns their records, for [`delete_files`] after the commit.
pub(super) fn mark_superseded(
    conn: &Connection,
    inspection: InspectionId,
    kind: &str,
    at: &str,
) -> Result<Vec<MediaRecord>, StoreError> {
    let records: Vec<MediaRecord> = list(conn, Some(inspection))?
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect();
    conn.execute(
        "UPDATE media SET purged_at = ?3 WHERE inspection_id = ?1 AND kind = ?2 AND purged_at IS NULL",
        params![inspection.to_string(), kind, at],
    )?;
    Ok(records)
}

/// Deletes the files of purged records and their folder, durably.
pub(super) fn delete_files(
    media_dir: &Path,
    inspection: InspectionId,
    records: &[MediaRecord],
) -> Result<usize, StoreError> {
    let folder = media_dir.join(inspection.to_string());
    let mut removed = 0;
    for record in records {
        let path = media_dir.join(&record.file_name);
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path, source }),
        }
    }
    if folder.is_dir()
        && fs::read_dir(&folder)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
    {
        fs::remove_dir(&folder).map_err(|source| StoreError::Io {
            path: folder.clone(),
            source,
        })?;
    }
    atomic::sync_dir(media_dir).map_err(|source| StoreError::Io {
        path: media_dir.to_path_buf(),
        source,
    })?;
    Ok(removed)
}
