//! The Detran API (issue 21): an auditor lists, searches, reads and downloads every station's
//! inspections and gets the exact bytes; each kind of token stays on its side; a revoked token
//! is refused at its next request; pages cover every row once; the OpenAPI document describes
//! exactly the routes the server has.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeSet, HashSet};

use base64::Engine as _;
use common::evidence::{Delivery, INSPECTOR_CPF, SoftSigner, pki_tools_missing};
use common::{Server, bytes, error_code, manifest, registry, run, vehicle_with};
use serde_json::Value;
use vistoria_core::hashing::sha256_hex;
use vistoria_core::wire::MediaKind;

/// A person's token made by `user add`.
fn add_user(server: &Server, role: &str, name: &str) -> String {
    let line = run(&[
        "user",
        "add",
        "--role",
        role,
        "--name",
        name,
        "--json",
        "--data",
        server.data.to_str().unwrap(),
    ]);
    let created: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(
        (created["name"].as_str(), created["role"].as_str()),
        (Some(name), Some(role))
    );
    created["token"].as_str().unwrap().to_owned()
}

fn get_as(server: &Server, token: &str, path: &str) -> reqwest::blocking::Response {
    server
        .client
        .get(server.api(path))
        .bearer_auth(token)
        .send()
        .unwrap()
}

fn json_as(server: &Server, token: &str, path: &str) -> Value {
    let response = get_as(server, token, path);
    assert_eq!(response.status(), 200, "{path}");
    response.json().unwrap()
}

/// Delivers a given-up inspection of `vehicle` with `files` (a photo and a film segment) and
/// returns its inspection id.
fn deliver_interrupted(server: &Server, vehicle: &Value, files: &[(&str, Vec<u8>)]) -> String {
    let query = server.query_vehicle(vehicle);
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let mut m = manifest(&query, "ECV-01", &refs);
    for file in &mut m.files {
        if file.name.ends_with(".mp4") {
            file.kind = MediaKind::VideoSegment;
        }
    }
    let owned: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.clone()))
        .collect();
    let response = server.deliver(&m, &owned);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    m.inspection_id.as_uuid().to_string()
}

#[test]
fn an_auditor_lists_searches_reads_and_downloads_the_exact_bytes() {
    if pki_tools_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut signer = SoftSigner::make(INSPECTOR_CPF, &dir.path().join("pki"));
    let server = signer.trusting_server();
    let auditor = add_user(&server, "detran", "auditor.silva@detran.mt.gov.br");

    // A concluded inspection: photos, laudo JSON and its .p7s.
    let car = vehicle_with(|v| v["class"] == "passenger_car");
    let query = server.query_vehicle(&car);
    let mut concluded = Delivery::concluded(&query, &car, "ECV-01");
    let concluded_files = concluded.files(&mut signer);
    let response = server.deliver(&concluded.manifest, &concluded_files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let laudo_number = response.json::<Value>().unwrap()["laudo_number"]
        .as_str()
        .unwrap()
        .to_owned();
    // A given-up one with a photo and a film segment.
    let other = registry()
        .into_iter()
        .find(|v| v["plate"] != car["plate"])
        .unwrap();
    let film = bytes(300_000, 7);
    let given_up_files = vec![("front.jpg", bytes(5_000, 3)), ("panoramic-0001.mp4", film)];
    let given_up = deliver_interrupted(&server, &other, &given_up_files);

    let all = json_as(&server, &auditor, "/detran/inspections");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{all}");
    assert_eq!(all["next_cursor"], Value::Null);
    // Newest first.
    assert_eq!(items[0]["inspection_id"], given_up.as_str());

    let plate = car["plate"].as_str().unwrap();
    let found = json_as(
        &server,
        &auditor,
        &format!("/detran/inspections?plate={plate}"),
    );
    let found = found["items"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["laudo_number"], laudo_number.as_str());
    assert_eq!(found[0]["outcome_code"], "conforming");
    assert_eq!(found[0]["status"], "verified");
    // The vehicle's other plate form (old ↔ Mercosul) finds it too.
    let parsed = vistoria_core::domain::Plate::parse(plate).unwrap();
    let other_form = match parsed.to_old() {
        Some(old) if old != parsed => old,
        _ => parsed.to_mercosul(),
    };
    assert_ne!(other_form.as_str(), plate);
    let by_other = json_as(
        &server,
        &auditor,
        &format!("/detran/inspections?plate={}", other_form.as_str()),
    );
    assert_eq!(by_other["items"][0]["laudo_number"], laudo_number.as_str());
    for (query, count) in [
        ("outcome=interrupted", 1),
        ("outcome=non_conforming", 0),
        ("station=ECV-01", 2),
        ("station=ECV-99", 0),
        ("from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", 2),
        ("from=2100-01-01T00:00:00-04:00", 0),
    ] {
        let page = json_as(&server, &auditor, &format!("/detran/inspections?{query}"));
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            count,
            "{query}: {page}"
        );
    }

    // One inspection, and every one of its files, byte for byte.
    for (href, sent) in [
        (
            found[0]["href"].as_str().unwrap().to_owned(),
            concluded_files.clone(),
        ),
        (
            format!("/api/v1/detran/inspections/ECV-01/{given_up}"),
            given_up_files
                .iter()
                .map(|(n, b)| ((*n).to_owned(), b.clone()))
                .collect(),
        ),
    ] {
        let path = href.strip_prefix("/api/v1").unwrap();
        let detail = json_as(&server, &auditor, path);
        // These test packages carry no audit trail (a station older than the trail).
        assert_eq!(detail["audit_trail"], serde_json::json!([]));
        assert!(detail["flags"].is_array());
        assert_eq!(detail["manifest"]["station"], "ECV-01");
        let listed: Vec<&str> = detail["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        let names: Vec<&str> = sent.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, names);
        for (file, (name, bytes)) in detail["files"].as_array().unwrap().iter().zip(&sent) {
            let response = get_as(
                &server,
                &auditor,
                file["href"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("/api/v1")
                    .unwrap(),
            );
            assert_eq!(response.status(), 200, "{name}");
            let digest = response.headers()["repr-digest"]
                .to_str()
                .unwrap()
                .to_owned();
            let got = response.bytes().unwrap();
            assert_eq!(sha256_hex(&got), sha256_hex(bytes), "{name}");
            assert_eq!(file["sha256"], sha256_hex(bytes).as_str());
            let raw = hex::decode(sha256_hex(bytes)).unwrap();
            assert_eq!(
                digest,
                format!(
                    "sha-256=:{}:",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            );
        }
    }

    // What is not there, and what is malformed, is said in Portuguese with its code.
    let missing = format!("/detran/inspections/ECV-01/{given_up}/files/rear.jpg");
    let (status, body) = error_code(get_as(&server, &auditor, &missing));
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown_file")));
    let (status, body) = error_code(get_as(
        &server,
        &auditor,
        &format!("/detran/inspections/ECV-02/{given_up}"),
    ));
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("inspection_not_found"))
    );
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("outcome=aprovada", "outcome"),
        ("plate=XX", "plate"),
        ("from=ontem", "from"),
        ("cursor=abc", "cursor"),
        ("renavam=1", "renavam"),
    ] {
        let (status, body) = error_code(get_as(
            &server,
            &auditor,
            &format!("/detran/inspections?{query}"),
        ));
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
}

#[test]
fn each_token_stays_on_its_side_and_a_revoked_one_is_refused_at_once() {
    if pki_tools_missing() {
        return;
    }
    let server = Server::start();
    let auditor = add_user(&server, "detran", "aud");
    let admin = add_user(&server, "admin", "adm");
    assert_eq!(
        get_as(&server, &auditor, "/detran/inspections").status(),
        200
    );
    assert_eq!(get_as(&server, &admin, "/detran/inspections").status(), 200);

    // No token, a station's token, an unknown one.
    let response = server
        .client
        .get(server.api("/detran/inspections"))
        .send()
        .unwrap();
    assert_eq!(error_code(response).0, 401);
    let (status, body) = error_code(get_as(&server, &server.token, "/detran/inspections"));
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        error_code(get_as(&server, "nada", "/detran/inspections")).0,
        401
    );
    // A person's token is no station's.
    let (status, body) = error_code(get_as(&server, &auditor, "/time"));
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let response = server
        .client
        .post(server.api("/vehicles/query"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"plate": "ABC1D23", "renavam": "1"}))
        .send()
        .unwrap();
    assert_eq!(error_code(response).0, 401);

    // Only an administrator lists the credentials, and never sees a token or its hash.
    let (status, body) = error_code(get_as(&server, &auditor, "/admin/users"));
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let users: Value = json_as(&server, &admin, "/admin/users");
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["adm", "aud"]);
    let text = users.to_string();
    assert!(!text.contains(&auditor) && !text.contains(&sha256_hex(auditor.as_bytes())));
    assert_eq!(
        error_code(get_as(&server, &server.token, "/admin/users")).0,
        403
    );

    // Revoked while the server runs: refused at the very next request.
    run(&[
        "user",
        "revoke",
        "aud",
        "--data",
        server.data.to_str().unwrap(),
    ]);
    let (status, body) = error_code(get_as(&server, &auditor, "/detran/inspections"));
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(get_as(&server, &admin, "/detran/inspections").status(), 200);
    let listed = run(&[
        "user",
        "list",
        "--json",
        "--data",
        server.data.to_str().unwrap(),
    ]);
    let listed: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["name"], "adm");
    assert!(listed[0]["revoked_at"].is_null());
    assert!(listed[1]["revoked_at"].is_string());
}

#[test]
fn pages_cover_every_inspection_once() {
    if pki_tools_missing() {
        return;
    }
    let server = Server::start();
    let auditor = add_user(&server, "detran", "aud");
    let vehicles = registry();
    let mut delivered = HashSet::new();
    for (i, vehicle) in vehicles.iter().cycle().take(7).enumerate() {
        let photo = bytes(100 + i, i as u8);
        delivered.insert(deliver_interrupted(
            &server,
            vehicle,
            &[("front.jpg", photo)],
        ));
    }
    let mut seen = Vec::new();
    let mut path = "/detran/inspections?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = json_as(&server, &auditor, &path);
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|i| i["inspection_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/detran/inspections?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), delivered);
}

/// `(method, path)` of every `.route("PATH", method(…))` in the API's source, path under the
/// API prefix.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut files = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/api"
    ))];
    let mut found = BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let rest = text[at + ".route(".len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                // The laudo page (§10) is public and lives outside the API prefix; its route is
                // built from the prefix the laudo's QR code uses, and `verify_doc.rs` tests it.
                assert!(
                    rest.starts_with("&format!(\"{VERIFY_PREFIX}/"),
                    "{}: a route whose path is not a literal",
                    path.display()
                );
                continue;
            };
            let (route, rest) = rest.split_once('"').unwrap();
            let rest = rest.trim_start().strip_prefix(',').unwrap().trim_start();
            let method = rest.split('(').next().unwrap().trim();
            found.insert((method.to_owned(), route.to_owned()));
            // Further methods chained on the same path: `get(list).post(open)`.
            let call = rest.split(".route(").next().unwrap();
            for more in ["get", "post", "put", "delete", "patch"] {
                if call.contains(&format!(").{more}(")) {
                    found.insert((more.to_owned(), route.to_owned()));
                }
            }
        }
    }
    found
}

#[test]
fn the_openapi_document_describes_exactly_the_routes_the_server_has() {
    if pki_tools_missing() {
        return;
    }
    let server = Server::start();
    let auditor = add_user(&server, "detran", "aud");
    let admin = add_user(&server, "admin", "adm");
    // Served without a token, and the same as the file in the crate.
    let served = server
        .client
        .get(server.api("/openapi.json"))
        .send()
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let doc: Value = served.json().unwrap();
    let file: Value = serde_json::from_str(vistoria_central::api::detran::OPENAPI).unwrap();
    assert_eq!(doc, file);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    let in_source = routes_in_source();
    assert!(in_source.len() >= 15, "{in_source:?}");
    assert_eq!(
        documented, in_source,
        "every route documented, every documented route real"
    );

    // Every documented operation answers, with a valid token of its kind, something other
    // than "no such route".
    let vehicle = registry().remove(0);
    let id = deliver_interrupted(&server, &vehicle, &[("front.jpg", bytes(10, 1))]);
    for (method, path) in &documented {
        let operation = &doc["paths"][path][method];
        let token = match operation["security"][0]
            .as_object()
            .and_then(|s| s.keys().next())
        {
            Some(scheme) if scheme == "stationToken" => Some(server.token.as_str()),
            // The administration's routes are the administrator's; the rest are an auditor's.
            Some(scheme) if scheme == "personToken" && operation["tags"][0] == "administração" => {
                Some(admin.as_str())
            }
            Some(scheme) if scheme == "personToken" => Some(auditor.as_str()),
            Some(other) => panic!("unknown scheme {other}"),
            None => None,
        };
        let url = server.api(
            &path
                .replace("{station}", "ECV-01")
                .replace("{id}", &id)
                .replace("{name}", "front.jpg"),
        );
        let url = if path.ends_with("/files/{name}") && method == "put" {
            format!("{url}?offset=0")
        } else {
            url
        };
        let mut request = match method.as_str() {
            "get" => server.client.get(&url),
            "post" => server.client.post(&url).json(&serde_json::json!({})),
            "put" => server.client.put(&url).json(&serde_json::json!({})),
            other => panic!("method {other}"),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let body = response.text().unwrap();
        // A release never published is a 404 of the route itself (§15), not a missing route.
        let unpublished =
            path == "/releases/{version}" && status == 404 && body.contains("não publicada");
        assert!(
            unpublished || ![404, 405, 401, 403].contains(&status),
            "{method} {path}: {status} {body}"
        );
    }
}

/// §8 (issue 19): the station names the device that took each photo and an additional photo's
/// reason in its manifest; the central keeps them and shows them with the file, and refuses a
/// name no station could have stored (422, permanent).
#[test]
fn each_photo_is_shown_with_the_device_that_took_it() {
    let server = Server::start();
    let auditor = add_user(&server, "detran", "auditor.device");
    let vehicle = registry().remove(0);
    let query = server.query_vehicle(&vehicle);
    let engine = bytes(4_000, 5);
    let extra = bytes(3_000, 6);
    let mut m = manifest(
        &query,
        "ECV-01",
        &[("engine_number.jpg", &engine), ("additional.jpg", &extra)],
    );
    m.metadata.insert(
        "media".to_owned(),
        serde_json::json!([
            {"name": "engine_number.jpg", "kind": "engine_number", "device": "Boroscópio (simulado)"},
            {"name": "additional.jpg", "kind": "additional", "device": "Câmera fotográfica",
             "reason": "numeração legível apenas com o motor desmontado"},
        ]),
    );
    let mut bad = m.clone();
    bad.metadata.get_mut("media").unwrap()[0]["device"] = Value::from("Boroscópio\u{7}");
    let (status, body) = error_code(server.post_json("/packages", &common::to_value(&bad)));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "inconsistent_package", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("metadata.media[0].device"),
        "{body}"
    );
    let files = vec![
        ("engine_number.jpg".to_owned(), engine),
        ("additional.jpg".to_owned(), extra),
    ];
    let response = server.deliver(&m, &files);
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let id = m.inspection_id.as_uuid();
    let detail = json_as(
        &server,
        &auditor,
        &format!("/detran/inspections/ECV-01/{id}"),
    );
    let shown = detail["files"].as_array().unwrap();
    assert_eq!(shown[0]["device"], "Boroscópio (simulado)");
    assert_eq!(shown[0]["reason"], Value::Null);
    assert_eq!(
        shown[1]["reason"],
        "numeração legível apenas com o motor desmontado"
    );
}
