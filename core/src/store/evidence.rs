//! Copies of an inspection's evidence kept outside the media table (§9, issue 19): the laudo
//! PDF (every photo at full size) and a half-written one, the panoramic recorder's folder
//! (segments it had not handed over yet), the files a start moved to `quarantine/` and anything
//! left in the inspection's media folder that no record lists. The kiosk keeps none of them
//! past the central's receipt: they go with the media in the same step, listed in the
//! delivery's audit row, and a start finishes what a crash cut short.
//!
//! The decision is the delivery itself (the outbox row `delivered`, committed with its audit
//! row), so the deletion needs no record of its own: whatever copy of a delivered inspection a
//! start finds is deleted, as the media sweep deletes the files of purged records.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};

use super::atomic::{self, TEMP_PREFIX};
use super::media::{MediaRecord, QUARANTINE_DIR};
use super::{AuditEvent, StoreError};
use crate::domain::InspectionId;
use crate::paths;

/// The copies of `id`'s evidence present now, outside the media records `recorded` (which
/// the media purge deletes): absolute paths, files or folders.
pub(super) fn copies_of(
    data_dir: &Path,
    id: InspectionId,
    recorded: &[MediaRecord],
) -> Vec<PathBuf> {
    let laudos = paths::laudos_dir_in(data_dir);
    let mut copies = vec![
        paths::laudo_pdf_in(data_dir, id),
        laudos.join(format!("{TEMP_PREFIX}{id}.pdf")),
        paths::film_dir_in(data_dir).join(id.to_string()),
        data_dir.join(QUARANTINE_DIR).join(id.to_string()),
    ];
    let media = paths::media_dir_in(data_dir);
    if let Ok(entries) = fs::read_dir(media.join(id.to_string())) {
        for entry in entries.flatten() {
            let key = format!("{id}/{}", entry.file_name().to_string_lossy());
            if !recorded.iter().any(|r| r.file_name == key) {
                copies.push(entry.path());
            }
        }
    }
    copies.retain(|p| p.symlink_metadata().is_ok());
    copies
}

/// The delivery's audit row with what it deletes: how many media files and which copies
/// (paths relative to the data folder).
pub(super) fn describe(
    mut event: AuditEvent,
    media: usize,
    copies: &[PathBuf],
    data_dir: &Path,
) -> AuditEvent {
    let copies: Vec<String> = copies.iter().map(|p| relative(p, data_dir)).collect();
    let deleted = json!({ "media": media, "copies": copies });
    match &mut event.detail {
        Value::Object(map) => {
            map.insert("deleted".to_owned(), deleted);
        }
        Value::Null => event.detail = json!({ "deleted": deleted }),
        other => event.detail = json!({ "detail": other.take(), "deleted": deleted }),
    }
    event
}

/// Deletes `copies` of `id`'s evidence (and its media folder, now empty), durably. Returns
/// how many paths were removed.
pub(super) fn delete(
    data_dir: &Path,
    id: InspectionId,
    copies: &[PathBuf],
) -> Result<usize, StoreError> {
    let mut removed = 0;
    for path in copies {
        if remove(path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })? {
            removed += 1;
        }
    }
    let folder = paths::media_dir_in(data_dir).join(id.to_string());
    if fs::read_dir(&folder).is_ok_and(|mut d| d.next().is_none()) {
        remove(&folder).map_err(|source| StoreError::Io {
            path: folder.clone(),
            source,
        })?;
    }
    Ok(removed)
}

/// At start: deletes every copy a delivered inspection still has (a crash between the
/// delivery's commit and the deletions). Runs after the media sweep, so what it moved to the
/// quarantine for a delivered inspection goes too. Returns how many paths were removed.
pub(super) fn sweep(conn: &Connection, data_dir: &Path) -> Result<usize, StoreError> {
    let mut delivered =
        conn.prepare("SELECT 1 FROM outbox WHERE inspection_id = ?1 AND state = 'delivered'")?;
    let mut removed = 0;
    let folders = [
        (paths::laudos_dir_in(data_dir), true),
        (paths::film_dir_in(data_dir), false),
        (data_dir.join(QUARANTINE_DIR), false),
        (paths::media_dir_in(data_dir), false),
    ];
    for (folder, pdfs) in folders {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = if pdfs {
                name.trim_start_matches(TEMP_PREFIX)
                    .strip_suffix(".pdf")
                    .unwrap_or_default()
            } else {
                name.as_str()
            };
            let Ok(id) = id.parse::<InspectionId>() else {
                continue;
            };
            if !delivered.exists([id.to_string()])? {
                continue;
            }
            let path = entry.path();
            tracing::warn!(file = %path.display(), "removing a copy of a delivered inspection's evidence (§9)");
            if remove(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Removes a file or a whole folder and makes it durable in the parent; `false` if it was
/// already gone.
fn remove(path: &Path) -> io::Result<bool> {
    let gone = match path.symlink_metadata() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    match gone {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        other => other?,
    }
    if let Some(parent) = path.parent() {
        atomic::sync_dir(parent)?;
    }
    Ok(true)
}

fn relative(path: &Path, data_dir: &Path) -> String {
    path.strip_prefix(data_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
