//! §9 (issue 19): nothing kept past delivery. A demo station (embedded central on loopback,
//! simulated camera and reader, the demo SoftHSM2 e-CPF, an RTSP bay camera) runs a whole
//! inspection to its signed laudo, PDF kept and film stored; the central's receipt is
//! verified; then every file under the data directory is read and any that holds evidence
//! fails the test. What may remain is an allow-list ([`ALLOWED`]), each with why it is fine.
//!
//! The signature runs in a child process of this test binary whose `SOFTHSM2_CONF` names the
//! demo token (SoftHSM2 reads it only from the environment), as the kiosk's UI tests do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};

use vistoria_core::accounts::Role;
use vistoria_core::domain::{Condition, InspectionId, PhotoKind, StateKind};
use vistoria_core::signing::test_pki::TOKEN_PIN;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

use crate::support::evidence_kind;
use crate::{Station, demo};

const STATION: &str = "ECV-TESTE-01";
/// A registry vehicle (assets/vehicles.json) and its RENAVAM.
const PLATE: &str = "QTK3308";
const RENAVAM: &str = "43787047302";

/// What may stay in the data directory after a delivery (paths relative to it; a trailing `/`
/// takes the folder's whole tree), and why it holds no evidence. Anything else fails.
const ALLOWED: &[(&str, &str)] = &[
    (
        "vistoria.db",
        "the store: the inspection's metadata and state, its media records (names, MD5 and \
         SHA-256, marked purged), the outbox row with the receipt and the audit log — no file \
         bytes (checked below: no photo's or film's bytes in it)",
    ),
    (
        "vistoria.db-wal",
        "the store's write-ahead log (same check)",
    ),
    ("vistoria.db-shm", "the store's WAL index (same check)"),
    (
        "vistoria.lock",
        "the empty file that locks the data folder to one process",
    ),
    (
        "biometrics/",
        "the staff's fingerprint templates sealed with AES-256-GCM and the station key: \
         logins and the §14 check need them; staff data, not the inspection's evidence",
    ),
    (
        "phash.jsonl",
        "64-bit perceptual hashes of past photos with their ids, for the reuse check across \
         inspections; a hash cannot be turned back into the photo",
    ),
    ("logs/", "text logs (no image bytes, checked below)"),
    (
        "suporte/",
        "support zips: logs and the diagnostics summary only (each entry checked below)",
    ),
    (
        "ecpf-demo/",
        "demo mode only: the SoftHSM2 e-CPF token and its test PKI (keys, certificates)",
    ),
    (
        "demo-dedos/",
        "demo mode only: synthetic fingerprint images drawn for the simulated reader",
    ),
];

/// Folders that hold nothing but evidence: any file left in them fails.
const EVIDENCE_DIRS: &[&str] = &["media/", "laudos/", "panoramica/", "quarantine/"];
/// Evidence kinds by their bytes (what [`evidence_kind`] names).
const EVIDENCE_KINDS: &[&str] = &["JPEG", "PNG", "PDF", "MP4", "Matroska/WebM", "MPEG-TS"];

/// Runs `test` in a child process with the demo token's `SOFTHSM2_CONF`
/// ([`crate::signing_child`]); in the child, returns its folder.
fn signing_child(test: &str) -> Option<PathBuf> {
    crate::signing_child::signing_child(&format!("retention_tests::{test}"))
}

/// Every file under `dir`, recursively (links not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Pieces of each piece of evidence (photos, film segments): a file holding one holds a copy.
/// Only varied pieces (compressed image data), never runs of padding a database shares.
fn needles(files: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let varied = |w: &[u8]| {
        let mut seen = [false; 256];
        w.iter().for_each(|b| seen[*b as usize] = true);
        seen.iter().filter(|s| **s).count() >= 40
    };
    let mut out = Vec::new();
    for bytes in files {
        for part in 1..=4 {
            let from = bytes.len() * part / 5;
            if let Some(w) = bytes[from..]
                .windows(64)
                .step_by(7)
                .take(4096)
                .find(|w| varied(w))
            {
                out.push(w.to_vec());
            }
        }
    }
    out
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    needle.len() >= 32 && bytes.windows(needle.len()).any(|w| w == needle)
}

/// Why the bytes of `name` are evidence, if they are.
fn evidence_in(name: &str, bytes: &[u8], needles: &[Vec<u8>]) -> Option<String> {
    if let Some(kind) = evidence_kind(bytes).filter(|k| EVIDENCE_KINDS.contains(k)) {
        return Some(format!("{kind} bytes"));
    }
    if needles.iter().any(|n| holds(bytes, n)) {
        return Some("a photo's or the film's bytes".to_owned());
    }
    // A blob named by its SHA-256 (as a content-addressed copy would be).
    let stem = name.split('.').next().unwrap_or_default();
    if stem.len() == 64 && stem.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some("a SHA-256-named blob".to_owned());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).ok()?;
            let entry_name = entry.name().to_owned();
            let mut inner = Vec::new();
            entry.read_to_end(&mut inner).ok()?;
            if let Some(why) = evidence_in(&entry_name, &inner, needles) {
                return Some(format!("zip entry {entry_name}: {why}"));
            }
        }
    }
    None
}

/// Every file under the data folder that is evidence or not on the allow-list, with why.
fn evidence_left(data: &Path, needles: &[Vec<u8>]) -> Vec<String> {
    let mut found = Vec::new();
    for path in files_under(data) {
        let relative = path
            .strip_prefix(data)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if EVIDENCE_DIRS.iter().any(|d| relative.starts_with(d)) {
            found.push(format!("{relative}: in an evidence folder"));
        } else if let Some(why) = evidence_in(&name, &bytes, needles) {
            found.push(format!("{relative}: {why}"));
        } else if !ALLOWED
            .iter()
            .any(|(allowed, _)| match allowed.strip_suffix('/') {
                Some(folder) => relative.starts_with(&format!("{folder}/")),
                None => relative == *allowed,
            })
        {
            found.push(format!("{relative}: not on the allow-list"));
        }
    }
    found
}

/// The whole inspection, signed with the demo token: returns its id.
fn signed_inspection(station: &Station) -> InspectionId {
    let operator = station
        .login_with_password(demo::OPERATOR, demo::PASSWORD)
        .unwrap();
    let inspector = station
        .login_with_fingerprint(Some(demo::INSPECTOR))
        .unwrap();
    assert_eq!(inspector.role, Role::Inspector);
    let row = station
        .open_inspection(&operator, PLATE, RENAVAM, "")
        .unwrap();
    let id = row.id;
    // §7 a: the bay camera takes the panoramic photo when the inspector takes the vehicle.
    let start = station.begin_capture(&inspector, id).unwrap();
    if let Some(panoramic) = start.panoramic {
        panoramic.unwrap();
    }
    let row = start.row;
    for kind in row.required.iter().filter(|k| **k != PhotoKind::Panoramic) {
        let shot = station.capture_photo(&inspector, id, *kind, None).unwrap();
        if shot.ocr.is_some_and(|o| o.needs_correction) {
            station
                .correct_plate(
                    &inspector,
                    id,
                    &shot.media_id,
                    PLATE,
                    RENAVAM,
                    "placa conferida no veículo pelo vistoriador",
                )
                .unwrap();
        }
    }
    for (item, _, _) in &row.checklist {
        station
            .set_item(&inspector, id, *item, Condition::Conforming, None)
            .unwrap();
    }
    station.conclude(&inspector, id).unwrap();
    station.confirm_fingerprint(&inspector, id).unwrap();
    let signed = station.sign(&inspector, id, TOKEN_PIN).unwrap();
    assert!(
        signed.printed.contains("laudo salvo em"),
        "{}",
        signed.printed
    );
    id
}

#[test]
fn after_delivery_no_file_under_the_data_directory_holds_evidence() {
    let Some(root) =
        signing_child("after_delivery_no_file_under_the_data_directory_holds_evidence")
    else {
        return;
    };
    let camera = TestCamera::start(&CameraConfig {
        // §7: the panoramic photo is taken from it, at the Portaria's minimum size.
        width: 1600,
        height: 1024,
        fps: 8,
        colour: true,
        ..CameraConfig::default()
    })
    .unwrap();
    let station =
        crate::embedded_central::demo_station(&root, STATION, Some(&camera.url())).unwrap();
    let data = station.data_dir();
    station.sync_clock().unwrap();
    let id = signed_inspection(&station);

    // Before the delivery: the evidence is here, and the walk sees it.
    let laudo = vistoria_core::paths::laudo_pdf_in(&data, id);
    assert!(std::fs::read(&laudo).unwrap().starts_with(b"%PDF"));
    let media: Vec<Vec<u8>> = files_under(&data.join("media"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let photos: Vec<Vec<u8>> = media
        .iter()
        .filter(|b| matches!(evidence_kind(b), Some("JPEG" | "MP4")))
        .cloned()
        .collect();
    assert!(
        media.iter().any(|b| evidence_kind(b) == Some("MP4")),
        "the film was not stored"
    );
    assert!(photos.len() >= 5, "{} photos and segments", photos.len());
    let needles = needles(&photos);
    assert!(
        needles.len() >= photos.len() * 3,
        "{} needles",
        needles.len()
    );
    for photo in &photos {
        // A copy without its header is still seen.
        assert!(evidence_in("copia", &photo[photo.len() / 3..], &needles).is_some());
    }
    let before = evidence_left(&data, &needles);
    assert!(
        before.iter().any(|f| f.starts_with("laudos/")),
        "the walk does not see the laudo: {before:#?}"
    );

    // A support zip made now, with the data folder full of evidence (and a photo dropped in
    // the log folder under a log's name), carries logs and the summary only.
    let logs = data.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("vistoria.2026-05-04.log"), b"INFO started\n").unwrap();
    let planted = [logs.join("vistoria.2026-05-05.log"), logs.join("foto.jpg")];
    for path in &planted {
        std::fs::write(path, &photos[0]).unwrap();
    }
    let zip_path = station.export_logs().unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    assert_eq!(
        {
            let mut n = names.clone();
            n.sort();
            n
        },
        ["diagnostico.txt", "logs/vistoria.2026-05-04.log"],
        "{names:?}"
    );
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert_eq!(evidence_in(&name, &bytes, &needles), None, "{name}");
    }
    for path in &planted {
        std::fs::remove_file(path).unwrap();
    }

    // The delivery: the central's receipt, verified.
    let delivery = station.deliver_due().unwrap();
    let (_, number) = delivery
        .delivered
        .iter()
        .find(|(d, _)| *d == id)
        .cloned()
        .unwrap_or_else(|| panic!("not delivered: {delivery:?}"));
    let row = station
        .inspections_today()
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    assert_eq!(row.state, StateKind::Delivered);

    // Every file under the data folder: none holds evidence.
    let left = evidence_left(&data, &needles);
    assert!(left.is_empty(), "evidence kept after delivery: {left:#?}");
    for path in files_under(&data) {
        eprintln!("kept: {}", path.strip_prefix(&data).unwrap().display());
    }

    // Reprinting says where the laudo went, and Envios no longer offers it.
    let reprint = station.print_laudo(id).unwrap_err().to_string();
    assert!(reprint.contains("entregue à central"), "{reprint}");
    assert!(reprint.contains(&format!("/v/{number}")), "{reprint}");
    let outbox = station.outbox().unwrap();
    let envios = outbox.iter().find(|r| r.id == id).unwrap();
    assert!(!envios.laudo_pdf, "{envios:?}");
    assert!(
        envios
            .verify_url
            .as_deref()
            .is_some_and(|u| u.ends_with(&format!("/v/{number}"))),
        "{envios:?}"
    );
    station.shutdown();
}
