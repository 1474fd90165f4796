#![allow(clippy::unwrap_used)]
//! §9 (issue 19): a verified receipt takes every copy of the inspection's evidence with its
//! media, and a start finishes the deletions a crash cut short.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::clock::CentralStamp;
use crate::domain::{Inspection, InterruptionCause, Receipt};
use crate::fixtures::{sample_inspection, sample_time};
use crate::paths;
use crate::store::media::QUARANTINE_DIR;
use crate::store::{AuditAction, AuditEvent, NewMedia, OutboxEntry, OutboxState, Store};

const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0 a photo of the vehicle";

fn stamp(at: DateTime<Utc>) -> CentralStamp {
    CentralStamp { at, sync_age_ms: 0 }
}

/// An interrupted inspection with one photo, queued.
fn queued(store: &mut Store, n: u64) -> (Inspection, OutboxEntry) {
    let mut inspection = sample_inspection(n);
    let at = sample_time(n);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(at)), "op", AuditAction::InspectionOpened),
        )
        .unwrap();
    store
        .store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: "front",
                extension: "jpg",
                captured_at: stamp(at),
                bytes: JPEG,
            },
            "vist",
        )
        .unwrap();
    let later = at + chrono::Duration::minutes(1);
    inspection
        .interrupt(InterruptionCause::CustomerGaveUp, "", later)
        .unwrap();
    inspection.queue(later).unwrap();
    let entry = OutboxEntry {
        inspection_id: inspection.id(),
        manifest: "{}".into(),
        manifest_sha256: "0".repeat(64),
        queued_at: later,
        state: OutboxState::Pending,
        attempts: 1,
        first_attempt_at: Some(later),
        next_attempt_at: later,
        in_flight: true,
        last_error: None,
        receipt: None,
        delivered_at: None,
    };
    store
        .enqueue(
            &inspection,
            &entry,
            0,
            AuditEvent::new(Some(stamp(later)), "system", AuditAction::InspectionQueued),
        )
        .unwrap();
    (inspection, entry)
}

fn deliver(store: &mut Store, mut inspection: Inspection, mut entry: OutboxEntry) {
    let at = inspection.last_event_at() + chrono::Duration::minutes(1);
    inspection
        .deliver_at(
            Receipt {
                laudo_number: "MT-2026-000001".into(),
                received_at: at,
            },
            at,
        )
        .unwrap();
    entry.state = OutboxState::Delivered;
    entry.in_flight = false;
    entry.receipt = Some("{}".into());
    entry.delivered_at = Some(at);
    let event = AuditEvent::new(Some(stamp(at)), "system", AuditAction::OutboxDelivered)
        .detail(serde_json::json!({ "attempt": 1 }));
    store.record_delivery(&inspection, &entry, event).unwrap();
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// The copies of `id` a station may hold besides its media records.
fn plant_copies(data: &Path, id: crate::domain::InspectionId) -> Vec<std::path::PathBuf> {
    let copies = vec![
        paths::laudo_pdf_in(data, id),
        paths::laudos_dir_in(data).join(format!(".tmp-{id}.pdf")),
        paths::film_dir_in(data)
            .join(id.to_string())
            .join("segment-00000.mp4"),
        data.join(QUARANTINE_DIR)
            .join(id.to_string())
            .join("stray.jpg"),
    ];
    for path in &copies {
        write(path, JPEG);
    }
    copies
}

#[test]
fn a_verified_receipt_deletes_the_laudo_pdf_and_every_other_copy_with_the_media() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (mut store, _) = Store::open(data).unwrap();
    let (inspection, entry) = queued(&mut store, 1);
    let id = inspection.id();
    let (other, _) = queued(&mut store, 2);
    let copies = plant_copies(data, id);
    let others = plant_copies(data, other.id());
    // Debris in the media folder no record lists.
    let debris = paths::media_dir_in(data)
        .join(id.to_string())
        .join(".tmp-x.jpg");
    write(&debris, JPEG);

    deliver(&mut store, inspection, entry);

    for path in copies.iter().chain([&debris]) {
        assert!(!path.exists(), "{} kept after delivery", path.display());
    }
    assert!(!paths::film_dir_in(data).join(id.to_string()).exists());
    assert!(!data.join(QUARANTINE_DIR).join(id.to_string()).exists());
    assert!(
        !paths::media_dir_in(data).join(id.to_string()).exists(),
        "the media folder goes with its files"
    );
    for path in &others {
        assert!(
            path.exists(),
            "another inspection's {} deleted",
            path.display()
        );
    }
    // The delivery's audit row names what went.
    let detail: String = rusqlite::Connection::open(paths::database_in(data))
        .unwrap()
        .query_row(
            "SELECT detail FROM audit_log WHERE action = ?1",
            [AuditAction::OutboxDelivered.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["attempt"], 1, "{detail}");
    assert_eq!(detail["deleted"]["media"], 1, "{detail}");
    let listed: Vec<&str> = detail["deleted"]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&format!("laudos/{id}.pdf").as_str()),
        "{detail}"
    );
    assert!(
        listed.contains(&format!("panoramica/{id}").as_str()),
        "{detail}"
    );
    assert!(
        listed.contains(&format!("quarantine/{id}").as_str()),
        "{detail}"
    );
    assert_eq!(listed.len(), 5, "{detail}");
}

#[test]
fn a_start_finishes_the_deletions_a_crash_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (mut store, _) = Store::open(data).unwrap();
    let (inspection, entry) = queued(&mut store, 1);
    let id = inspection.id();
    let (other, _) = queued(&mut store, 2);
    deliver(&mut store, inspection, entry);
    // As if the process died between the commit and the deletions.
    let copies = plant_copies(data, id);
    let others = plant_copies(data, other.id());
    drop(store);

    let (_store, report) = Store::open(data).unwrap();
    assert_eq!(report.removed_evidence_copies, 4, "{report:?}");
    for path in &copies {
        assert!(!path.exists(), "{} survived the restart", path.display());
    }
    for path in &others {
        assert!(path.exists(), "an undelivered {} deleted", path.display());
    }
}
