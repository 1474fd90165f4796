//! One laudo number (§10, issue 21) through the real server: allocated when the central answers
//! the vehicle query, the same for a repeated query of one inspection, carried by the laudo and
//! by the receipt, a laudo with another number refused; and the public page the laudo's QR code
//! points to (`GET /v/{number}`): the facts of a received laudo and nothing personal, "not yet
//! received" for a number whose package has not arrived, a 404 page for an unknown number, the
//! per-address request limit.

#![allow(clippy::unwrap_used)]

mod common;

use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, error_code, vehicle_with};
use serde_json::Value;
use uuid::Uuid;
use vistoria_core::hashing::sha256_hex;
use vistoria_core::wire::Receipt;

fn car() -> Value {
    vehicle_with(|v| v["class"] == "passenger_car")
}

#[test]
fn a_repeated_query_gets_the_same_number_and_another_inspection_the_next() {
    let server = Server::start();
    let vehicle = car();
    let id = Uuid::new_v4();
    let first = server.query_vehicle_for(&vehicle, id);
    assert_eq!(
        first["inspection_id"].as_str(),
        Some(id.to_string().as_str())
    );
    let number = first["laudo_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("MT-20"), "{first}");
    // The answer was lost and the kiosk asks again for the same inspection: the same query,
    // the same four hours, the same number.
    let again = server.query_vehicle_for(&vehicle, id);
    assert_eq!(again, first);
    let other = server.query_vehicle_for(&vehicle, Uuid::new_v4());
    assert_ne!(other["laudo_number"], first["laudo_number"]);
    assert_ne!(other["query_id"], first["query_id"]);
    // A query naming no inspection (a station older than the allocation) gets no number.
    let legacy = server.query_vehicle(&vehicle);
    assert!(legacy.get("laudo_number").is_none(), "{legacy}");
    // One inspection, one vehicle: the same id for another plate is refused.
    let another = vehicle_with(|v| v["plate"] != vehicle["plate"]);
    let (status, body) = error_code(server.post_json(
        "/vehicles/query",
        &serde_json::json!({
            "plate": another["plate"], "renavam": another["renavam"], "inspection_id": id,
        }),
    ));
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (400, Some("invalid_field"), Some("inspection_id")),
        "{body}"
    );
}

fn setup() -> Option<(tempfile::TempDir, Server, SoftSigner)> {
    if pki_tools_missing() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let signer = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("pki"));
    let server = signer.trusting_server();
    Some((dir, server, signer))
}

#[test]
fn the_receipt_carries_the_allocated_number_and_the_page_shows_the_facts() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let vehicle = car();
    let query = server.query_vehicle_for(&vehicle, Uuid::new_v4());
    let number = query["laudo_number"].as_str().unwrap().to_owned();

    // Before the package arrives the number is known, the laudo not yet.
    let (status, kind, html) = server.laudo_page(&number);
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(html.contains("ainda não recebido"), "{html}");
    assert!(html.contains("ECV-01"), "{html}");

    let mut d = Delivery::concluded(&query, &vehicle, "ECV-01");
    assert_eq!(d.laudo.number, number);
    let files = d.files(&mut signer);
    let response = server.deliver(&d.manifest, &files);
    assert_eq!(response.status(), 200);
    let receipt: Receipt = response.json().unwrap();
    assert_eq!(receipt.laudo_number, number, "paper and receipt agree");

    let (status, _, html) = server.laudo_page(&number);
    assert_eq!(status, 200, "{html}");
    let sha = |name: &str| sha256_hex(&files.iter().find(|(n, _)| n == name).unwrap().1);
    let plate = vehicle["plate"].as_str().unwrap();
    let masked = format!("{}••••{}", &plate[..1], &plate[5..]);
    for shown in [
        "Laudo recebido e conferido pela central",
        &number,
        "ECV-01 — Vistoria Teste",
        d.laudo.result.headline_pt(),
        &masked,
        &sha("laudo.json"),
        &sha("laudo.p7s"),
        "Verificada pela central",
        "horário de Mato Grosso",
    ] {
        assert!(html.contains(shown), "«{shown}» missing:\n{html}");
    }
    // Nothing personal beyond the printed laudo: no CPF in any form, no RENAVAM, no chassis,
    // no inspector, not the whole plate.
    let renavam = vehicle["renavam"].as_str().unwrap();
    let mut hidden = vec![
        INSPECTOR_CPF,
        "390.533.447-05",
        "533.447",
        renavam,
        "Ana Paula",
        plate,
    ];
    if let Some(chassis) = vehicle["chassis"].as_str() {
        hidden.push(chassis);
    }
    for secret in hidden {
        assert!(!html.contains(secret), "«{secret}» shown:\n{html}");
    }
}

#[test]
fn a_laudo_with_another_number_is_refused() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let vehicle = car();
    let query = server.query_vehicle_for(&vehicle, Uuid::new_v4());
    let allocated = query["laudo_number"].as_str().unwrap().to_owned();
    let mut d = Delivery::concluded(&query, &vehicle, "ECV-01");
    // The number of another inspection of the same station.
    let stolen = server.query_vehicle_for(&vehicle, Uuid::new_v4())["laudo_number"]
        .as_str()
        .unwrap()
        .to_owned();
    d.laudo.number = stolen.clone();
    let files = d.files(&mut signer);
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("inconsistent_package"), Some("laudo.number")),
        "{body}"
    );
    let reason = body["error"].as_str().unwrap();
    assert!(
        reason.contains(&stolen) && reason.contains(&allocated) && reason.contains("suporte"),
        "{reason}"
    );
    // Nothing was numbered: the page still waits for the laudo.
    let (_, _, html) = server.laudo_page(&allocated);
    assert!(html.contains("ainda não recebido"), "{html}");
}

#[test]
fn a_package_whose_query_allocated_another_inspections_number_is_refused() {
    let server = Server::start();
    let vehicle = car();
    let query = server.query_vehicle_for(&vehicle, Uuid::new_v4());
    // Another inspection id naming that query: it would take the first one's number.
    let manifest = common::manifest(&query, "ECV-01", &[("a.jpg", b"abc")]);
    let (status, body) = error_code(server.post_json("/packages", &common::to_value(&manifest)));
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("inconsistent_package"), Some("query_id")),
        "{body}"
    );
}

#[test]
fn an_unknown_number_is_a_404_page_in_portuguese() {
    let server = Server::start();
    for asked in ["MT-2099-999999", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"] {
        let (status, kind, html) = server.laudo_page(asked);
        assert_eq!((status, kind.as_str()), (404, "text/html; charset=utf-8"));
        assert!(html.contains("Laudo não encontrado"), "{html}");
        assert!(html.contains("lang=\"pt-BR\""), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }
}

#[test]
fn the_page_is_limited_per_address_like_the_api() {
    let server = Server::start_with(&[
        "--address-rate-per-second",
        // One request per 1000 s: the bucket cannot refill while the test runs.
        "0.001",
        "--address-rate-burst",
        "3",
    ]);
    let statuses: Vec<u16> = (0..4)
        .map(|_| server.laudo_page("MT-2026-000001").0)
        .collect();
    assert_eq!(statuses, [404, 404, 404, 429]);
    let response = server
        .client
        .get(format!("{}/v/MT-2026-000001", server.url))
        .send()
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert!(response.text().unwrap().contains("Muitas consultas"));
    // The same bucket as the API's.
    assert_eq!(server.get("/time").send().unwrap().status(), 429);
}
