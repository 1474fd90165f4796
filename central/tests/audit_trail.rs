//! The audit trail travels (issue 21): each package carries the station's audit rows since the
//! previous one; the central checks them, keeps them, shows an inspection's rows and the flags
//! read from them through the Detran API, names the holes no package has filled, and refuses a
//! package whose rows contradict rows it already has (the station's log was rewritten), whose
//! rows were altered, or whose rows do not end at its anchor. The rows come from a real station
//! store (`vistoria_core::store`), as a kiosk writes them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, bytes, error_code, manifest, registry, run};
use serde_json::{Value, json};
use vistoria_core::domain::InspectionId;
use vistoria_core::store::{AuditAction, AuditEvent, AuditRow, Store};
use vistoria_core::wire::{AUDIT_TRAIL_KEY, PackageManifest};

/// A station's audit log, in a store of its own.
struct Chain {
    _dir: tempfile::TempDir,
    store: Store,
}

impl Chain {
    fn new() -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        Chain { _dir: dir, store }
    }

    fn write(&mut self, action: AuditAction, inspection: InspectionId, detail: Value) -> u64 {
        let event = AuditEvent::new(None, "vistoriador", action)
            .inspection(inspection)
            .detail(detail);
        self.store.audit(event).unwrap().seq
    }

    /// The rows `from..=to`, as a package carries them.
    fn rows(&self, from: u64, to: u64) -> Vec<AuditRow> {
        let mut rows = self.store.audit_trail_to(to).unwrap();
        rows.retain(|r| r.seq >= from);
        rows
    }
}

/// `manifest` carrying `rows`, anchored at the last.
fn with_trail(mut manifest: PackageManifest, rows: &[AuditRow]) -> PackageManifest {
    let last = rows.last().unwrap();
    manifest.audit_sequence = Some(last.seq);
    manifest.audit_head = last.hash.clone();
    manifest.metadata.insert(
        AUDIT_TRAIL_KEY.to_owned(),
        serde_json::to_value(rows).unwrap(),
    );
    manifest
}

/// A package of one photo for a new query of the `n`th registry vehicle, for `id`.
fn package(
    server: &Server,
    n: usize,
    id: InspectionId,
) -> (PackageManifest, Vec<(String, Vec<u8>)>) {
    let query = server.query_vehicle(&registry().remove(n));
    let photo = bytes(64, u8::try_from(n).unwrap());
    let mut m = manifest(&query, "ECV-01", &[("a.jpg", &photo)]);
    m.inspection_id = id;
    (m, vec![("a.jpg".to_owned(), photo)])
}

fn auditor(server: &Server) -> String {
    let line = run(&[
        "user",
        "add",
        "--role",
        "detran",
        "--name",
        "auditora",
        "--json",
        "--data",
        server.data.to_str().unwrap(),
    ]);
    let created: Value = serde_json::from_str(line.trim()).unwrap();
    created["token"].as_str().unwrap().to_owned()
}

fn read(server: &Server, token: &str, id: InspectionId) -> Value {
    let response = server
        .client
        .get(server.api(&format!("/detran/inspections/ECV-01/{}", id.as_uuid())))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

#[test]
fn the_trail_arrives_with_its_flags_and_a_rewritten_log_is_refused() {
    let server = Server::start();
    let token = auditor(&server);
    let mut chain = Chain::new();

    // Inspection A: a §6 correction, a retake and an empty bay.
    let a = InspectionId::new();
    chain.write(AuditAction::InspectionOpened, a, json!({}));
    chain.write(
        AuditAction::OcrCorrected,
        a,
        json!({"read": "ABC1D28", "typed": "ABC1D23"}),
    );
    chain.write(
        AuditAction::MediaRetake,
        a,
        json!({"reason": "foto tremida"}),
    );
    let head = chain.write(AuditAction::PanoramicBayEmpty, a, json!({"at_s": 42}));
    let (m, files) = package(&server, 3, a);
    let m = with_trail(m, &chain.rows(1, head));
    assert_eq!(server.deliver(&m, &files).status(), 200);
    let detail = read(&server, &token, a);
    let trail = detail["audit_trail"].as_array().unwrap();
    assert_eq!(trail.len(), 4);
    assert_eq!(trail[1]["action"], "ocr.corrected");
    let kinds: Vec<&str> = detail["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["plate_corrected", "photo_retaken", "bay_empty"]);
    assert_eq!(detail["flags"][0]["seq"], 2);
    assert_eq!(detail["flags"][0]["detail"]["typed"], "ABC1D23");
    assert_eq!(detail["station_trail_holes"], json!([]));

    // Inspection B arrives before the package that carries rows 5 and 6: a hole, named.
    let b = InspectionId::new();
    let c = InspectionId::new();
    chain.write(AuditAction::InspectionQueued, a, json!({}));
    chain.write(AuditAction::InspectionOpened, c, json!({}));
    chain.write(AuditAction::InspectionOpened, b, json!({}));
    let head = chain.write(AuditAction::InspectionQueued, b, json!({}));
    let (m, files) = package(&server, 4, b);
    let m = with_trail(m, &chain.rows(7, head));
    assert_eq!(server.deliver(&m, &files).status(), 200);
    let detail = read(&server, &token, b);
    assert_eq!(detail["flags"], json!([]));
    assert_eq!(
        detail["station_trail_holes"],
        json!([{"first": 5, "last": 6}])
    );

    // Another log claiming the same positions: refused, nothing of it kept.
    let mut forged = Chain::new();
    for _ in 0..6 {
        forged.write(AuditAction::InspectionOpened, c, json!({"forjado": true}));
    }
    let (m, files) = package(&server, 6, c);
    let refused = server.deliver(&with_trail(m.clone(), &forged.rows(5, 6)), &files);
    let (status, body) = error_code(refused);
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("inconsistent_package"))
    );
    assert_eq!(body["field"], "metadata.audit_trail");
    assert!(
        body["error"].as_str().unwrap().contains("reescrito"),
        "{body}"
    );

    // A row altered after it was written, or a trail that stops short of the anchor: refused.
    let mut altered = chain.rows(5, 6);
    altered[0].detail = json!({"apagado": true}).to_string();
    let (status, body) = error_code(server.deliver(&with_trail(m.clone(), &altered), &files));
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("metadata.audit_trail"))
    );
    let mut short = with_trail(m.clone(), &chain.rows(5, 6));
    short.audit_sequence = Some(7);
    short.audit_head = chain.rows(7, 7)[0].hash.clone();
    let (status, body) = error_code(server.deliver(&short, &files));
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("metadata.audit_trail"))
    );

    // The real rows fill the hole.
    let (status, _) = (
        server
            .deliver(&with_trail(m, &chain.rows(5, 6)), &files)
            .status(),
        (),
    );
    assert_eq!(status, 200);
    assert_eq!(read(&server, &token, c)["station_trail_holes"], json!([]));
    assert_eq!(
        read(&server, &token, c)["audit_trail"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn keyed_rows_are_checked_against_the_stations_key_as_each_package_arrives() {
    let server = Server::start();
    let client = vistoria_core::central_client::CentralClient::new(
        &vistoria_core::central_client::Endpoint {
            url: server.url.clone(),
            token: server.token.clone(),
            cert_sha256: server.cert_sha256.clone(),
        },
    )
    .unwrap();
    let mut chain = Chain::new();
    let a = InspectionId::new();
    chain.write(AuditAction::InspectionOpened, a, json!({}));
    // Keyed from row 2 (the "audit.keyed" row itself).
    assert_eq!(
        vistoria_core::audit_keying::ensure_keyed(&mut chain.store, &client, None).unwrap(),
        Some(2)
    );
    let head = chain.write(AuditAction::InspectionQueued, a, json!({}));
    let (m, files) = package(&server, 3, a);
    assert_eq!(
        server
            .deliver(&with_trail(m, &chain.rows(1, head)), &files)
            .status(),
        200,
        "the package confirms the key and its keyed rows pass"
    );

    // B's package (rows 4–5) waits out its back-off; C's (rows 6–7) arrives first: each is
    // checked from the checkpoint at or before its own first row.
    let (b, c) = (InspectionId::new(), InspectionId::new());
    chain.write(AuditAction::InspectionOpened, b, json!({}));
    let b_head = chain.write(AuditAction::InspectionQueued, b, json!({}));
    chain.write(AuditAction::InspectionOpened, c, json!({}));
    let c_head = chain.write(AuditAction::InspectionQueued, c, json!({}));
    let (mc, c_files) = package(&server, 4, c);
    assert_eq!(
        server
            .deliver(&with_trail(mc, &chain.rows(b_head + 1, c_head)), &c_files)
            .status(),
        200
    );

    // B's rows with a MAC made by a guessed key (the hashes still chain): refused, naming it.
    let (mb, b_files) = package(&server, 5, b);
    let mut forged = chain.rows(4, b_head);
    forged[1].mac = Some(vistoria_core::store::row_mac(&[7u8; 32], &forged[1].hash));
    let (status, body) = error_code(server.deliver(&with_trail(mb.clone(), &forged), &b_files));
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("metadata.audit_trail")),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains("MAC"), "{body}");
    // A keyed row stripped of its MAC: refused too.
    let mut stripped = chain.rows(4, b_head);
    stripped[0].mac = None;
    let (status, _) = error_code(server.deliver(&with_trail(mb.clone(), &stripped), &b_files));
    assert_eq!(status, 422);
    // The real rows pass.
    assert_eq!(
        server
            .deliver(&with_trail(mb, &chain.rows(4, b_head)), &b_files)
            .status(),
        200
    );
}
