#![allow(clippy::unwrap_used)]

use chrono::TimeZone;
use rusqlite::params;

use super::*;
use crate::clock::CentralStamp;
use crate::fixtures::sample_inspection;

fn stamp(minute: u32) -> CentralStamp {
    CentralStamp {
        at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 10, minute, 0)
            .unwrap(),
        sync_age_ms: 1500,
    }
}

fn event(n: u32) -> AuditEvent {
    AuditEvent::new(
        Some(stamp(n % 60)),
        "op1",
        AuditAction::InspectionItemRecorded,
    )
    .detail(serde_json::json!({ "n": n }))
}

fn open(dir: &Path) -> Store {
    Store::open(dir).unwrap().0
}

/// A raw connection for tampering, as an attacker with file access would.
fn raw(dir: &Path) -> Connection {
    Connection::open(paths::database_in(dir)).unwrap()
}

fn with_rows(n: u32) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    for i in 1..=n {
        store.audit(event(i)).unwrap();
    }
    (dir, store)
}

#[test]
fn a_fresh_store_is_at_the_current_schema_and_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, report) = Store::open(dir.path()).unwrap();
    assert_eq!(report, OpenReport::default());
    let version: u32 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    store.close().unwrap();
    let (_, report) = Store::open(dir.path()).unwrap();
    assert!(!report.previous_run_crashed);
}

#[test]
fn a_run_that_does_not_close_is_seen_as_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let (_, report) = Store::open(dir.path()).unwrap();
    assert!(report.previous_run_crashed);
}

#[test]
fn one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Locked(_))
    ));
}

#[test]
fn inspections_round_trip_with_an_audit_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let inspection = sample_inspection(1);
    let row = store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    assert_eq!(row.inspection_id, Some(inspection.id().to_string()));
    assert_eq!(
        store.inspection(inspection.id()).unwrap(),
        Some(inspection.clone())
    );
    assert_eq!(store.inspections().unwrap(), vec![inspection.clone()]);
    assert_eq!(
        store
            .inspections_in(&[inspection.state_name()])
            .unwrap()
            .len(),
        1
    );
    assert!(store.inspections_in(&["delivered"]).unwrap().is_empty());
}

#[test]
fn media_are_stored_whole_with_their_digests_and_read_back_verified() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let inspection = sample_inspection(2);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    let bytes = vec![7u8; 300_000];
    let record = store
        .store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: "rear_with_plate",
                extension: "jpg",
                captured_at: stamp(2),
                bytes: &bytes,
            },
            "insp1",
        )
        .unwrap();
    assert_eq!(record.digests, Digests::of(&bytes));
    assert_eq!(
        store.media_of(inspection.id()).unwrap(),
        vec![record.clone()]
    );
    assert_eq!(store.read_media(&record).unwrap(), bytes);
    assert!(store.verify_media().unwrap().is_empty());
    let report = store.verify_audit().unwrap();
    assert_eq!(report.rows, 2);
    assert_eq!(report.problem, None);
}

#[test]
fn a_changed_or_missing_media_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let inspection = sample_inspection(3);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    let mut records = Vec::new();
    for kind in ["front", "odometer"] {
        records.push(
            store
                .store_media(
                    NewMedia {
                        inspection_id: inspection.id(),
                        kind,
                        extension: "jpg",
                        captured_at: stamp(2),
                        bytes: kind.as_bytes(),
                    },
                    "insp1",
                )
                .unwrap(),
        );
    }
    std::fs::write(store.media_dir().join(&records[0].file_name), b"tampered").unwrap();
    std::fs::remove_file(store.media_dir().join(&records[1].file_name)).unwrap();
    assert!(matches!(
        store.read_media(&records[0]),
        Err(StoreError::MediaCorrupted { .. })
    ));
    let problems = store.verify_media().unwrap();
    assert_eq!(problems.len(), 2);
    assert!(
        problems[0].error.contains("alterado ou corrompido"),
        "{}",
        problems[0].error
    );
    assert!(
        problems[1].error.contains("não foi encontrado"),
        "{}",
        problems[1].error
    );
}

#[test]
fn a_replacing_file_leaves_exactly_one_of_its_kind() {
    // A laudo signed again after an attempt cut short: the first laudo goes, the photo stays.
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let inspection = sample_inspection(4);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    let new = |kind, bytes| NewMedia {
        inspection_id: inspection.id(),
        kind,
        extension: "json",
        captured_at: stamp(2),
        bytes,
    };
    let photo = store.store_media(new("front", b"photo"), "insp1").unwrap();
    let first = store.store_media(new("laudo", b"first"), "insp1").unwrap();
    let second = store
        .replace_media(new("laudo", b"second"), "insp1")
        .unwrap();
    let kept: Vec<String> = store
        .media_of(inspection.id())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(kept, vec![photo.id.clone(), second.id.clone()]);
    assert!(!store.media_dir().join(&first.file_name).exists());
    assert_eq!(store.read_media(&second).unwrap(), b"second");
    assert!(store.verify_media().unwrap().is_empty());
    // Replacing when there is nothing to replace is a plain store.
    let again = store
        .replace_media(new("signature", b"p7s"), "insp1")
        .unwrap();
    assert_eq!(store.media_of(inspection.id()).unwrap().len(), 3);
    assert_eq!(again.kind, "signature");
    let conn = raw(dir.path());
    let superseded: String = conn
        .query_row(
            "SELECT detail FROM audit_log WHERE action = 'media.superseded'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(superseded.contains(&first.id), "{superseded}");
}

#[test]
fn media_need_a_known_inspection_and_safe_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let unknown = sample_inspection(4);
    let new = NewMedia {
        inspection_id: unknown.id(),
        kind: "front",
        extension: "jpg",
        captured_at: stamp(1),
        bytes: b"x",
    };
    assert!(matches!(
        store.store_media(new, "i"),
        Err(StoreError::NotFound(_))
    ));
    store
        .save_inspection(
            &unknown,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    for (kind, ext) in [
        ("../etc", "jpg"),
        ("front", "jpg/../x"),
        ("", "jpg"),
        ("front", ""),
    ] {
        let bad = NewMedia {
            kind,
            extension: ext,
            ..new
        };
        assert!(
            matches!(store.store_media(bad, "i"), Err(StoreError::Invalid(_))),
            "{kind} {ext}"
        );
    }
    assert!(store.media_of(unknown.id()).unwrap().is_empty());
}

#[test]
fn debris_of_a_crash_is_swept_and_recorded_media_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let inspection = sample_inspection(5);
    store
        .save_inspection(
            &inspection,
            AuditEvent::new(Some(stamp(1)), "op1", AuditAction::InspectionOpened),
        )
        .unwrap();
    let record = store
        .store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: "front",
                extension: "jpg",
                captured_at: stamp(2),
                bytes: b"kept",
            },
            "insp1",
        )
        .unwrap();
    let folder = store.media_dir().join(inspection.id().to_string());
    std::fs::write(folder.join(".tmp-front-x.jpg"), b"half").unwrap();
    std::fs::write(
        folder.join("front-unrecorded.jpg"),
        b"whole but never committed",
    )
    .unwrap();
    drop(store);
    let (store, report) = Store::open(dir.path()).unwrap();
    assert!(report.previous_run_crashed);
    // Issue 17: unrecorded files are quarantined with an audit row each, never deleted.
    assert_eq!(report.quarantined_files, 2);
    assert_eq!(report.removed_partial_files, 0);
    assert_eq!(store.read_media(&record).unwrap(), b"kept");
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1);
    let quarantined = dir
        .path()
        .join(media::QUARANTINE_DIR)
        .join(inspection.id().to_string());
    assert_eq!(
        std::fs::read(quarantined.join("front-unrecorded.jpg")).unwrap(),
        b"whole but never committed"
    );
    assert_eq!(
        std::fs::read(quarantined.join(".tmp-front-x.jpg")).unwrap(),
        b"half"
    );
    let rows: Vec<(String, String)> = raw(dir.path())
        .prepare("SELECT actor, detail FROM audit_log WHERE action = 'media.quarantined'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|(actor, detail)| actor == "system"
        && detail.contains("front-unrecorded.jpg")
        && detail.contains("quarantine/")));
    assert_eq!(store.verify_audit().unwrap().problem, None);
    // A second start finds nothing more to move, and the quarantine stays.
    drop(store);
    let (_store, report) = Store::open(dir.path()).unwrap();
    assert_eq!(report.quarantined_files, 0);
    assert!(quarantined.join("front-unrecorded.jpg").exists());
}

#[test]
fn the_data_folder_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _store = open(&data);
    for d in [data.clone(), data.join("media")] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
}

#[test]
fn a_file_that_is_not_a_database_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = paths::database_in(dir.path());
    let garbage =
        b"this is not sqlite, it is a photo someone saved with the wrong name".repeat(100);
    std::fs::write(&db, &garbage).unwrap();
    let err = Store::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrompido"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
    assert!(matches!(
        verify_audit_at(dir.path()),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().unwrap();
    raw(dir.path())
        .pragma_update(None, "user_version", CURRENT_VERSION + 1)
        .unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::TooNew { .. })
    ));
}

#[test]
fn a_version_5_database_is_migrated_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let inspection = sample_inspection(1);
    {
        let mut store = open(dir.path());
        store.save_inspection(&inspection, event(1)).unwrap();
        store.close().unwrap();
    }
    // What version 5 had: inspections without the central's laudo number, media without the
    // device that took them or an additional photo's reason (version 7), no ticket queue
    // (version 8).
    raw(dir.path())
        .execute_batch(
            "DROP TABLE ticket_queue;
             DROP TABLE ticket_listing;
             ALTER TABLE inspections DROP COLUMN laudo_number;
             ALTER TABLE media DROP COLUMN device;
             ALTER TABLE media DROP COLUMN reason;
             PRAGMA user_version = 5;",
        )
        .unwrap();
    let mut store = open(dir.path());
    assert_eq!(
        store.inspection(inspection.id()).unwrap(),
        Some(inspection.clone())
    );
    assert_eq!(store.laudo_number(inspection.id()).unwrap(), None);
    assert_eq!(store.verify_audit().unwrap().problem, None);
    let opened = sample_inspection(2);
    store
        .save_opened(&opened, Some("MT-2026-000007"), event(2))
        .unwrap();
    // Saved again (a later event): the number stays.
    store.save_inspection(&opened, event(3)).unwrap();
    assert_eq!(
        store.laudo_number(opened.id()).unwrap().as_deref(),
        Some("MT-2026-000007")
    );
}

#[test]
fn reserved_meta_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    assert!(store.set_meta("audit_head", "1:x").is_err());
    store.set_meta("clock_sync", "{}").unwrap();
    assert_eq!(store.meta("clock_sync").unwrap().as_deref(), Some("{}"));
}

#[test]
fn an_intact_chain_verifies() {
    let (dir, store) = with_rows(20);
    let report = store.verify_audit().unwrap();
    assert_eq!(
        report,
        AuditReport {
            rows: 20,
            problem: None
        }
    );
    drop(store);
    assert_eq!(verify_audit_at(dir.path()).unwrap().problem, None);
}

#[test]
fn an_altered_row_is_named() {
    let (dir, store) = with_rows(10);
    raw(dir.path())
        .execute("UPDATE audit_log SET actor = 'intruso' WHERE seq = 4", [])
        .unwrap();
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Altered { seq: 4 })
    );
}

#[test]
fn an_altered_and_rehashed_row_is_named() {
    let (dir, store) = with_rows(10);
    let conn = raw(dir.path());
    // The attacker fixes the row's own hash, but the next row still links to the old one.
    let mut row = read_row(&conn, 6);
    row.actor = "intruso".into();
    row.hash = recompute(&row);
    write_row(&conn, &row);
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Altered { seq: 6 })
    );
}

#[test]
fn a_removed_row_is_named() {
    let (dir, store) = with_rows(10);
    raw(dir.path())
        .execute("DELETE FROM audit_log WHERE seq = 5", [])
        .unwrap();
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Removed { first: 5, last: 5 })
    );
}

#[test]
fn a_removed_row_with_the_rest_renumbered_is_named() {
    let (dir, store) = with_rows(10);
    let conn = raw(dir.path());
    conn.execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap();
    conn.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 3", [])
        .unwrap();
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Removed { first: 3, last: 3 })
    );
}

#[test]
fn removed_last_rows_are_named() {
    let (dir, store) = with_rows(10);
    raw(dir.path())
        .execute("DELETE FROM audit_log WHERE seq >= 9", [])
        .unwrap();
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Removed { first: 9, last: 10 })
    );
}

#[test]
fn an_inserted_row_is_named() {
    let (dir, store) = with_rows(10);
    let conn = raw(dir.path());
    // Make room at 5 and slip in a well-formed row linked to row 4.
    conn.execute("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5", [])
        .unwrap();
    conn.execute("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 105", [])
        .unwrap();
    let before = read_row(&conn, 4);
    let mut forged = before.clone();
    forged.seq = 5;
    forged.actor = "intruso".into();
    forged.prev_hash = before.hash.clone();
    forged.hash = recompute(&forged);
    insert_row(&conn, &forged);
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Inserted { seq: 5 })
    );
}

#[test]
fn a_row_appended_outside_the_application_is_named() {
    let (dir, store) = with_rows(3);
    let conn = raw(dir.path());
    let last = read_row(&conn, 3);
    let mut forged = last.clone();
    forged.seq = 4;
    forged.prev_hash = last.hash.clone();
    forged.hash = recompute(&forged);
    insert_row(&conn, &forged);
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Inserted { seq: 4 })
    );
}

/// The attack the unkeyed chain could not see: edit a row, then recompute every later hash and
/// the head, as anyone with the disk and the source can. The local walk passes; the MACs, which
/// need keys the disk no longer holds, name the edited row.
#[test]
fn a_rewritten_and_rechained_log_fails_its_macs() {
    let (dir, mut store) = with_rows(3);
    let key0 = [7u8; 32];
    let start = store
        .provision_audit_key(
            &key0,
            AuditEvent::new(None, "system", AuditAction::AuditKeyed),
        )
        .unwrap();
    assert_eq!(start, 4);
    assert!(
        store
            .provision_audit_key(
                &[8u8; 32],
                AuditEvent::new(None, "system", AuditAction::AuditKeyed)
            )
            .is_err(),
        "one first key per chain"
    );
    for i in 5..=12 {
        store.audit(event(i)).unwrap();
    }
    assert_eq!(store.verify_audit().unwrap().problem, None);
    let rows = store.audit_mac_rows(start).unwrap();
    assert_eq!(check_macs(start, &key0, &rows), Ok(9));
    // The disk holds only the key of the next row: no earlier key can be read back from it.
    let on_disk: String = raw(dir.path())
        .query_row(
            "SELECT value FROM meta WHERE key = 'audit_mac_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut key = key0;
    for _ in 0..9 {
        assert!(!on_disk.contains(&hex::encode(key)));
        key = ratchet(&key);
    }
    assert_eq!(on_disk, format!("13:{}", hex::encode(key)));

    // Rewrite row 7 and re-chain 7..=12 and the head.
    let conn = raw(dir.path());
    let mut prev_hash = read_row(&conn, 6).hash;
    for seq in 7..=12 {
        let mut row = read_row(&conn, seq);
        if seq == 7 {
            row.detail = r#"{"n":"reescrito"}"#.into();
        }
        row.prev_hash = prev_hash;
        row.hash = recompute(&row);
        prev_hash = row.hash.clone();
        write_row(&conn, &row);
    }
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("12:{prev_hash}")],
    )
    .unwrap();
    assert_eq!(store.verify_audit().unwrap().problem, None, "re-chained");
    let rows = store.audit_mac_rows(start).unwrap();
    assert_eq!(check_macs(start, &key0, &rows), Err(7));
    // Dropping the MACs instead is seen locally.
    conn.execute("UPDATE audit_log SET mac = NULL WHERE seq = 9", [])
        .unwrap();
    assert_eq!(
        store.verify_audit().unwrap().problem,
        Some(AuditProblem::Altered { seq: 9 })
    );
}

fn read_row(conn: &Connection, seq: u64) -> AuditRow {
    conn.query_row(
        &format!("{} WHERE seq = ?1", audit::SELECT_ROWS),
        [seq as i64],
        audit::row_from_sql,
    )
    .unwrap()
}

fn recompute(row: &AuditRow) -> String {
    audit::hash_for_tests(row)
}

fn write_row(conn: &Connection, row: &AuditRow) {
    conn.execute("DELETE FROM audit_log WHERE seq = ?1", [row.seq as i64])
        .unwrap();
    insert_row(conn, row);
}

fn insert_row(conn: &Connection, row: &AuditRow) {
    conn.execute(
        "INSERT INTO audit_log (seq, at, sync_age_ms, actor, action, inspection_id, detail, prev_hash, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            row.seq as i64,
            row.at,
            row.sync_age_ms.map(|a| a as i64),
            row.actor,
            row.action,
            row.inspection_id,
            row.detail,
            row.prev_hash,
            row.hash,
            row.mac
        ],
    )
    .unwrap();
}

/// A package carries at most MAX_TRAIL_ROWS rows and MAX_TRAIL_BYTES of them, the newest: a
/// station that queued nothing for long sends a trail the manifest limit still takes.
#[test]
fn a_packaged_trail_keeps_the_newest_rows_within_its_limits() {
    let json_bytes = |rows: &[AuditRow]| -> usize {
        rows.iter()
            .map(|r| serde_json::to_string(r).unwrap().len() + 1)
            .sum()
    };
    let (_dir, store) = with_rows(2100);
    let rows = store.audit_trail_to(2100).unwrap();
    assert!(rows.len() as u64 <= MAX_TRAIL_ROWS);
    assert!(json_bytes(&rows) <= MAX_TRAIL_BYTES);
    assert!(rows.len() > 1000, "{}", rows.len());
    assert_eq!(rows.last().unwrap().seq, 2100);
    check_segment(&rows).unwrap();
    // A short log goes whole.
    assert_eq!(store.audit_trail_to(30).unwrap().len(), 30);

    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    let big = "x".repeat(2000);
    for _ in 0..400 {
        store
            .audit(event(1).detail(serde_json::json!({ "big": big })))
            .unwrap();
    }
    let rows = store.audit_trail_to(400).unwrap();
    assert!(json_bytes(&rows) <= MAX_TRAIL_BYTES, "{}", rows.len());
    assert!(rows.len() > 200 && rows.len() < 400, "{}", rows.len());
    assert_eq!(rows.last().unwrap().seq, 400);
}
