//! §14 at the central: the laudo's P7S is verified at commit (signature over the laudo,
//! CAdES attributes, certificate CPF = the inspector the laudo names). A good package is
//! accepted; a tampered laudo or another person's certificate is refused with its reason,
//! as a permanent 422 the kiosk shows in Envios. The test PKI is made by openssl at test time.

#![allow(clippy::unwrap_used)]

mod common;

use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, error_code, vehicle_with};

const SOMEONE_ELSE: &str = "52998224725";

fn car() -> serde_json::Value {
    vehicle_with(|v| v["class"] == "passenger_car")
}

#[test]
fn the_laudo_signature_is_verified_at_commit() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut inspector = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("inspector"));
    let mut other = SoftSigner::make(SOMEONE_ELSE, &dir.path().join("other"));
    let server = Server::start();
    let delivery = |server: &Server| {
        let vehicle = car();
        Delivery::concluded(&server.query_vehicle(&vehicle), &vehicle, "ECV-01")
    };

    // Good: the inspector's own e-CPF over the very laudo sent.
    let mut d = delivery(&server);
    let files = d.files(&mut inspector);
    let response = server.deliver(&d.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());

    // Tampered: one byte of the laudo changed after signing (the manifest lists the changed
    // bytes, so only the signature can tell).
    let mut d = delivery(&server);
    let mut files = d.files(&mut inspector);
    let laudo = files.iter_mut().find(|(n, _)| n == "laudo.json").unwrap();
    laudo.1 = String::from_utf8(laudo.1.clone())
        .unwrap()
        .replacen("Vistoria Teste", "Vistoria Tesge", 1)
        .into_bytes();
    d.relist(&files);
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_signature")),
        "{body}"
    );
    let reason = body["error"].as_str().unwrap();
    assert!(
        reason.contains("assinatura «laudo.p7s» do laudo recusada"),
        "{reason}"
    );
    // Refused for good: a retry of the commit gives the same answer, and nothing was receipted.
    let id = d.manifest.inspection_id.as_uuid();
    let (status, again) = error_code(server.commit(id));
    assert_eq!(
        (status, again["error"].clone()),
        (422, body["error"].clone())
    );

    // Another person's certificate: valid signature, wrong CPF.
    let mut d = delivery(&server);
    let files = d.files(&mut other);
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_signature")),
        "{body}"
    );
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("CPF"), "{reason}");
}
