//! End-to-end: the vehicle query of §5 and its errors.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Server, error_code, is_old_plate, vehicle_with};
use serde_json::{Value, json};
use vistoria_core::domain::Plate;
use vistoria_core::wire::VehicleQueryResponse;

#[test]
fn vehicle_query_found_not_found_mismatches_and_malformed() {
    let server = Server::start();
    let old = vehicle_with(is_old_plate);
    let mercosul = vehicle_with(|v| !is_old_plate(v));

    // Found by RENAVAM (§5), with the 4-hour deadline of §9.
    let body = server.query_vehicle(&old);
    assert_eq!(body["vehicle"], old);
    let typed: VehicleQueryResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(typed.vehicle.plate, old["plate"].as_str().unwrap());
    let queried_at: DateTime<Utc> = body["queried_at"].as_str().unwrap().parse().unwrap();
    let deadline: DateTime<Utc> = body["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline - queried_at, Duration::hours(4));
    assert!(body["query_id"].as_str().is_some());

    // Found by chassis, typed in lower case with separators; old plate found by its Mercosul form.
    let converted = Plate::parse(old["plate"].as_str().unwrap())
        .unwrap()
        .to_mercosul();
    let response = server.post_json(
        "/vehicles/query",
        &json!({"plate": converted.as_str(), "chassis": old["chassis"].as_str().unwrap().to_lowercase()}),
    );
    assert_eq!(response.status(), 200);
    let body: Value = response.json().unwrap();
    assert_eq!(body["vehicle"]["plate"], old["plate"]);
    let body = server.query_vehicle(&mercosul);
    assert_eq!(body["vehicle"]["class"], mercosul["class"]);

    let cases = [
        // Not in the registry.
        (
            json!({"plate": "ZZZ9Z99", "renavam": old["renavam"]}),
            404,
            "vehicle_not_found",
            None,
        ),
        // Plate exists, RENAVAM of another vehicle.
        (
            json!({"plate": old["plate"], "renavam": mercosul["renavam"]}),
            422,
            "renavam_mismatch",
            None,
        ),
        // Plate exists, chassis of another vehicle.
        (
            json!({"plate": old["plate"], "chassis": mercosul["chassis"]}),
            422,
            "chassis_mismatch",
            None,
        ),
        // Malformed input names the field.
        (
            json!({"plate": "AB12", "renavam": old["renavam"]}),
            400,
            "invalid_field",
            Some("plate"),
        ),
        (
            json!({"plate": old["plate"], "renavam": "12345678901"}),
            400,
            "invalid_field",
            Some("renavam"),
        ),
        (
            json!({"plate": old["plate"], "chassis": "9BWZZZ377VT0O4251"}),
            400,
            "invalid_field",
            Some("chassis"),
        ),
        (
            json!({"plate": old["plate"]}),
            400,
            "invalid_field",
            Some("renavam"),
        ),
        (
            json!({"renavam": old["renavam"]}),
            400,
            "invalid_field",
            Some("plate"),
        ),
        (
            json!({"plate": 7, "renavam": old["renavam"]}),
            400,
            "invalid_field",
            Some("plate"),
        ),
    ];
    for (request, status, code, field) in cases {
        let (got, body) = error_code(server.post_json("/vehicles/query", &request));
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{request} → {body}"
        );
        assert_eq!(body["field"].as_str(), field, "{request} → {body}");
    }

    // Broken JSON and the wrong content type.
    let response = server
        .client
        .post(server.api("/vehicles/query"))
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body("{\"plate\": ")
        .send()
        .unwrap();
    let (status, body) = error_code(response);
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_json")));
    let response = server
        .client
        .post(server.api("/vehicles/query"))
        .bearer_auth(&server.token)
        .header("content-type", "text/plain")
        .body(json!({"plate": old["plate"], "renavam": old["renavam"]}).to_string())
        .send()
        .unwrap();
    let (status, body) = error_code(response);
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
}
