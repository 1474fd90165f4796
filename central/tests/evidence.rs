//! A verdict needs its evidence, and the parts of a package agree (§10, §12, §13, §14, 2d):
//! each contradiction an attacker delivered to the old central, which committed and numbered
//! it, is now a 422 `inconsistent_package` naming the field; the consistent package next to it
//! still gets its laudo number.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, error_code, vehicle_with};
use serde_json::Value;
use vistoria_core::domain::{Checklist, Outcome, VehicleClass, Verdict};
use vistoria_core::laudo::LaudoResult;

fn car() -> Value {
    vehicle_with(|v| v["class"] == "passenger_car")
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

/// A fresh query of `vehicle` and its consistent, concluded delivery.
fn delivery(server: &Server, vehicle: &Value) -> Delivery {
    let query = server.query_vehicle(vehicle);
    Delivery::concluded(&query, vehicle, "ECV-01")
}

/// Delivers and expects a 422 `inconsistent_package` naming `field`.
fn refused(server: &Server, mut d: Delivery, signer: &mut SoftSigner, field: &str) -> String {
    let files = d.files(signer);
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("inconsistent_package"), Some(field)),
        "{body}"
    );
    body["error"].as_str().unwrap().to_owned()
}

#[test]
fn a_consistent_concluded_package_gets_its_laudo_number() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let mut d = delivery(&server, &car());
    let files = d.files(&mut signer);
    let response = server.deliver(&d.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let line = server
        .report()
        .into_iter()
        .find(|l| l["inspection_id"] == d.manifest.inspection_id.to_string())
        .unwrap();
    assert_eq!(
        (line["verification"].as_str(), line["signed"].as_bool()),
        (Some("verified"), Some(true)),
        "{line}"
    );
}

#[test]
fn a_verdict_without_its_laudo_and_signature_is_refused() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let mut d = delivery(&server, &car());
    let mut files = d.files(&mut signer);
    // No laudo, no .p7s: only the photos.
    files.truncate(2);
    d.manifest.files.truncate(2);
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("files")),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains("laudo"), "{body}");

    // The laudo without its signature.
    let mut d = delivery(&server, &car());
    let mut files = d.files(&mut signer);
    files.pop();
    d.manifest.files.pop();
    let (status, body) = error_code(server.deliver(&d.manifest, &files));
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("files")),
        "{body}"
    );
    assert!(body["error"].as_str().unwrap().contains(".p7s"), "{body}");
}

#[test]
fn a_checklist_of_another_class_is_refused() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    // A motorcycle's checklist, all conforming, on a passenger car.
    let mut d = delivery(&server, &car());
    let mut checklist = Checklist::new(VehicleClass::Motorcycle);
    for item in checklist.applicable() {
        checklist
            .set(item, vistoria_core::domain::Condition::Conforming, None)
            .unwrap();
    }
    d.manifest.checklist = checklist;
    let reason = refused(&server, d, &mut signer, "checklist.class");
    assert!(reason.contains("Motocicleta"), "{reason}");
}

#[test]
fn a_verdict_on_an_empty_or_contradicting_checklist_is_refused() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let mut d = delivery(&server, &car());
    d.manifest.checklist = Checklist::new(VehicleClass::PassengerCar);
    refused(&server, d, &mut signer, "checklist");

    // Complete checklist with a non-conforming item, but "Conforme" as the verdict.
    let vehicle = car();
    let query = server.query_vehicle(&vehicle);
    let mut d = Delivery::concluded(&query, &vehicle, "ECV-01");
    let first = d.manifest.checklist.applicable()[0];
    d.manifest
        .checklist
        .set(
            first,
            vistoria_core::domain::Condition::NonConforming,
            Some("trinca".into()),
        )
        .unwrap();
    assert_eq!(d.manifest.outcome, Outcome::Verdict(Verdict::Conforming));
    refused(&server, d, &mut signer, "outcome");
}

#[test]
fn a_laudo_that_disagrees_with_its_package_is_refused_though_signed() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    // Another plate in the laudo (signed by the inspector all the same).
    let mut d = delivery(&server, &car());
    d.laudo.vehicle.plate = "ABC1D23".into();
    let reason = refused(&server, d, &mut signer, "laudo.vehicle.plate");
    assert!(reason.contains("ABC1D23"), "{reason}");

    // Another result.
    let mut d = delivery(&server, &car());
    d.laudo.result = LaudoResult::Concluded {
        label: "Não conforme".into(),
        non_conforming: vec!["lights".into()],
    };
    refused(&server, d, &mut signer, "laudo.result");

    // A photo the laudo attests to that the package does not carry.
    let mut d = delivery(&server, &car());
    d.photos.pop();
    refused(&server, d, &mut signer, "laudo.photos");

    // Another station's laudo.
    let mut d = delivery(&server, &car());
    d.laudo.station.code = "ECV-02".into();
    refused(&server, d, &mut signer, "laudo.station");

    // §6: the package says the plate reading was corrected; the signed laudo says nothing.
    let mut d = delivery(&server, &car());
    d.manifest.metadata.insert(
        "plate_reading".into(),
        serde_json::json!({"photo_sha256": "ab", "read": null, "confidence_ppm": 0,
            "result": "unreadable", "correction": null}),
    );
    refused(&server, d, &mut signer, "laudo.plate_reading");

    // §4: a gap of the film the laudo lists and the package does not.
    let mut d = delivery(&server, &car());
    d.laudo.film_gaps = vec![vistoria_core::film::FilmGap {
        start_ms: 4_000,
        end_ms: 9_000,
        cause: "no_frames".into(),
        open_at_stop: false,
    }];
    d.manifest
        .metadata
        .insert("film_gaps".into(), serde_json::json!([]));
    refused(&server, d, &mut signer, "laudo.film_gaps");
}

#[test]
fn one_vehicle_query_makes_one_inspection() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let vehicle = car();
    let query = server.query_vehicle(&vehicle);
    let mut first = Delivery::concluded(&query, &vehicle, "ECV-01");
    let files = first.files(&mut signer);
    assert_eq!(server.deliver(&first.manifest, &files).status(), 200);
    // A retry of the same manifest is still the same package.
    assert_eq!(
        server
            .post_json("/packages", &common::to_value(&first.manifest))
            .status(),
        200
    );
    let second = Delivery::concluded(&query, &vehicle, "ECV-01");
    let reason = refused(&server, second, &mut signer, "query_id");
    assert!(
        reason.contains(&first.manifest.inspection_id.to_string()),
        "{reason}"
    );
}

#[test]
fn a_conclusion_outside_the_query_window_is_refused() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    for year in [2001, 2099] {
        let mut d = delivery(&server, &car());
        d.manifest.concluded_at = Utc.with_ymd_and_hms(year, 6, 1, 12, 0, 0).unwrap();
        let reason = refused(&server, d, &mut signer, "concluded_at");
        assert!(reason.contains("relógio"), "{reason}");
    }
}

/// A crash (or the deadline) between the signature and its record leaves an inspection
/// interrupted with its verdict kept as `unsigned_verdict` and a signed laudo of that verdict
/// in its media: delivered and kept, not refused. Without that kept verdict, a concluded laudo
/// on an interruption is a contradiction.
#[test]
fn an_inspection_interrupted_after_its_signature_is_still_delivered() {
    let Some((_dir, server, mut signer)) = setup() else {
        return;
    };
    let interrupted = |d: &mut Delivery, kept: Option<Verdict>| {
        d.manifest.outcome = Outcome::Interrupted(vistoria_core::domain::Interruption {
            cause: vistoria_core::domain::InterruptionCause::SystemFailure,
            note: "estação reiniciada".into(),
            at: d.manifest.concluded_at,
            unsigned_verdict: kept,
        });
    };
    let mut d = delivery(&server, &car());
    interrupted(&mut d, Some(Verdict::Conforming));
    let files = d.files(&mut signer);
    let response = server.deliver(&d.manifest, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());

    let mut d = delivery(&server, &car());
    interrupted(&mut d, None);
    refused(&server, d, &mut signer, "laudo.result");
}
