//! The kiosk's channel of the help desk over HTTP against the real central (issue 23): a ticket
//! opened once whatever how often it is sent, the station's listing, the requester's reply with
//! a photo, the team's answer and solution, the feedback (refused: reopened; accepted with a
//! rating: closed), another station's ticket not found, the attachment limit, and a central
//! without a help desk answering 503.

#![allow(clippy::unwrap_used)]

mod common;
mod helpdesk_support;

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;
use vistoria_helpdesk::model::TicketId;

use helpdesk_support::{Desk, LOCATION_ID, b64, person, technician, wait_until};

const ZIP: &[u8] = b"PK\x03\x04 the support zip of the station with its logs";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 a photo of the printer's paper jam \xff\xd9";

fn open_body(client_id: Uuid) -> Value {
    json!({
        "client_id": client_id,
        "category": "equipamento",
        "description": "A impressora não imprime o laudo desde a manhã",
        "requester": person("ana", "Ana Paula Souza"),
        "devices": "Impressora: erro (sem papel)\nCâmera traseira: ok",
        "attachments": [
            {"filename": "suporte.zip", "mime": "application/zip", "content_base64": b64(ZIP)},
            {"filename": "foto.jpg", "mime": "image/jpeg", "content_base64": b64(JPEG)},
        ],
    })
}

#[test]
fn kiosk_ticket_is_opened_once_answered_solved_refused_and_rated() {
    let desk = Desk::start(false, |_| {});
    let token = desk.server.token.clone();
    let client_id = Uuid::new_v4();

    // Opened, then sent again (the answer was lost): the same ticket, 200 the second time.
    let (status, first) = desk.post(&token, "/stations/self/tickets", &open_body(client_id));
    assert_eq!(status, 201, "{first}");
    let (status, again) = desk.post(&token, "/stations/self/tickets", &open_body(client_id));
    assert_eq!(status, 200, "{again}");
    assert_eq!(first, again);
    let id = first["ticket_id"].as_i64().unwrap();
    let number = first["number"].as_str().unwrap().to_owned();
    assert_eq!(number, TicketId(id).reference());

    // Sent twice at the same moment (two outbox workers): still one ticket.
    let racing = Uuid::new_v4();
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let a = s.spawn(|| desk.post(&token, "/stations/self/tickets", &open_body(racing)));
        let b = s.spawn(|| desk.post(&token, "/stations/self/tickets", &open_body(racing)));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 201], "{answers:?}");
    assert_eq!(answers[0].1, answers[1].1);
    let raced_id = answers[0].1["ticket_id"].as_i64().unwrap();
    let list = desk.tickets(&token);
    let tickets = list["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{list}");
    assert_eq!(tickets[0]["ticket_id"], json!(raced_id), "newest first");

    // The listing: the categories of the configuration and the ticket as opened.
    assert_eq!(list["categories"][0]["key"], "equipamento");
    let t = &tickets[1];
    assert_eq!(t["ticket_id"], json!(id));
    assert_eq!(t["number"], json!(number));
    assert_eq!(t["client_id"], json!(client_id));
    assert_eq!(t["state"], "new");
    assert_eq!(t["awaiting_feedback"], false);
    let opening = &t["messages"][0];
    assert_eq!(opening["author"], "Ana Paula Souza");
    assert_eq!(opening["from_team"], false);
    let text = opening["text"].as_str().unwrap();
    assert!(
        text.starts_with("A impressora não imprime o laudo"),
        "{text}"
    );
    assert!(
        text.contains("Impressora: erro (sem papel)"),
        "the devices: {text}"
    );
    assert_eq!(
        opening["attachments"],
        json!([
            {"filename": "suporte.zip", "mime": "application/zip"},
            {"filename": "foto.jpg", "mime": "image/jpeg"},
        ])
    );

    // GLPI got it once, at the station's location, with the zip and the photo.
    wait_until(Duration::from_secs(30), "the ticket in GLPI", || {
        desk.glpi_tickets_for(&number).len() == 1
            && desk
                .helpdesk()
                .store()
                .attachments(TicketId(id))
                .unwrap()
                .iter()
                .all(|a| a.glpi_document_id.is_some())
    });
    let glpi = &desk.glpi_tickets_for(&number)[0];
    assert_eq!(glpi["locations_id"], json!(LOCATION_ID));
    assert_eq!(glpi["status"], json!(1));
    let glpi_id = glpi["id"].as_i64().unwrap();
    let docs = desk.glpi_children("Document_Item", glpi_id);
    assert_eq!(docs.len(), 2, "{docs:?}");
    let bytes: Vec<Vec<u8>> = docs
        .iter()
        .map(|d| {
            desk.glpi
                .document_bytes(d["documents_id"].as_i64().unwrap())
                .unwrap()
        })
        .collect();
    assert!(bytes.contains(&ZIP.to_vec()) && bytes.contains(&JPEG.to_vec()));

    // The requester replies with a photo; sent twice, stored once.
    let reply_id = Uuid::new_v4();
    let reply = json!({
        "client_id": reply_id,
        "author": person("bia", "Beatriz Lima"),
        "text": "Segue a foto da bandeja",
        "attachments": [{"filename": "bandeja.jpg", "mime": "image/jpeg", "content_base64": b64(JPEG)}],
    });
    let path = format!("/stations/self/tickets/{id}/messages");
    let (status, ack) = desk.post(&token, &path, &reply);
    assert_eq!((status, ack.clone()), (201, json!({"state": "new"})));
    let (status, ack2) = desk.post(&token, &path, &reply);
    assert_eq!((status, ack2), (200, ack));

    // A technician answers and gives the solution in the console.
    let hd = desk.helpdesk();
    let bruno = technician("bruno");
    hd.assign(&bruno, TicketId(id), "bruno").unwrap();
    hd.reply(&bruno, TicketId(id), "Troque a bobina de papel.", vec![])
        .unwrap();
    hd.solve(&bruno, TicketId(id), "Bobina trocada e impressora testada.")
        .unwrap();
    let list = desk.tickets(&token);
    let t = &list["tickets"][1];
    let messages = t["messages"].as_array().unwrap();
    let texts: Vec<(&str, bool)> = messages
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap(),
                m["from_team"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        texts[1..],
        [
            ("Segue a foto da bandeja", false),
            ("Troque a bobina de papel.", true),
            ("Bobina trocada e impressora testada.", true),
        ],
        "{t}"
    );
    assert_eq!(messages[1]["author"], "Beatriz Lima");
    assert_eq!(messages[1]["attachments"][0]["filename"], "bandeja.jpg");
    assert_eq!(messages[2]["author"], "Técnico bruno");
    assert_eq!(t["solution"], "Bobina trocada e impressora testada.");
    assert_eq!(t["state"], "solved");
    assert_eq!(t["awaiting_feedback"], true);

    // Refused: back to the team.
    let feedback = format!("/stations/self/tickets/{id}/feedback");
    let refuse = json!({"client_id": Uuid::new_v4(), "author": person("ana", "Ana Paula Souza"),
        "accept": false, "comment": "Continua sem imprimir"});
    let (status, ack) = desk.post(&token, &feedback, &refuse);
    assert_eq!((status, ack), (200, json!({"state": "assigned"})));
    let t = desk.tickets(&token)["tickets"][1].clone();
    assert_eq!(t["awaiting_feedback"], false);
    assert_eq!(
        t["messages"].as_array().unwrap().last().unwrap()["text"],
        "Continua sem imprimir"
    );
    let refused = desk
        .helpdesk()
        .store()
        .ticket(TicketId(id))
        .unwrap()
        .unwrap();
    assert_eq!(refused.reopened, 1);

    // Solved again, accepted with a rating; the same feedback sent again changes nothing.
    hd.solve(&bruno, TicketId(id), "Cabo da impressora substituído.")
        .unwrap();
    let accept = json!({"client_id": Uuid::new_v4(), "author": person("ana", "Ana Paula Souza"),
        "accept": true, "rating": 5, "comment": "Resolvido, obrigada"});
    let (status, ack) = desk.post(&token, &feedback, &accept);
    assert_eq!((status, ack.clone()), (200, json!({"state": "closed"})));
    let (status, ack2) = desk.post(&token, &feedback, &accept);
    assert_eq!((status, ack2), (200, ack));
    let t = desk.tickets(&token)["tickets"][1].clone();
    assert_eq!(t["state"], "closed");
    assert_eq!(t["rating"], 5);
    assert_eq!(t["solution"], "Cabo da impressora substituído.");
    // A reply to a closed ticket is refused with the reason.
    let late = json!({"client_id": Uuid::new_v4(), "author": person("ana", "Ana Paula Souza"),
        "text": "mais uma coisa"});
    let (status, body) = desk.post(&token, &path, &late);
    assert_eq!(status, 409, "{body}");

    // GLPI follows: the reply as a followup (once), closed, rated.
    wait_until(Duration::from_secs(30), "GLPI closed and rated", || {
        desk.glpi.item("Ticket", glpi_id).unwrap()["status"] == json!(6)
            && !desk.glpi.items("TicketSatisfaction").is_empty()
    });
    let followups = desk.glpi_children("ITILFollowup", glpi_id);
    let photo_followups = followups
        .iter()
        .filter(|f| {
            f["content"]
                .as_str()
                .unwrap_or("")
                .contains("Segue a foto da bandeja")
        })
        .count();
    assert_eq!(photo_followups, 1, "{followups:?}");
    assert_eq!(desk.glpi_tickets_for(&number).len(), 1, "never twice");
}

#[test]
fn another_stations_ticket_is_not_found_and_bad_requests_name_the_field() {
    let desk = Desk::start(false, |_| {});
    let token = desk.server.token.clone();
    let (status, opened) = desk.post(&token, "/stations/self/tickets", &open_body(Uuid::new_v4()));
    assert_eq!(status, 201);
    let id = opened["ticket_id"].as_i64().unwrap();

    // The other station sees none of it and cannot write to it: as if it did not exist.
    let other = desk.other_token.clone();
    assert_eq!(desk.tickets(&other)["tickets"], json!([]));
    let reply =
        json!({"client_id": Uuid::new_v4(), "author": person("caio", "Caio Mendes"), "text": "oi"});
    for path in [
        format!("/stations/self/tickets/{id}/messages"),
        "/stations/self/tickets/999999/messages".into(),
    ] {
        let (status, body) = desk.post(&other, &path, &reply);
        assert_eq!(
            (status, body["code"].clone()),
            (404, json!("ticket_not_found")),
            "{path}"
        );
    }
    let accept = json!({"client_id": Uuid::new_v4(), "author": person("caio", "Caio Mendes"), "accept": true, "rating": 4});
    let (status, body) = desk.post(
        &other,
        &format!("/stations/self/tickets/{id}/feedback"),
        &accept,
    );
    assert_eq!(
        (status, body["code"].clone()),
        (404, json!("ticket_not_found"))
    );
    // Without a solution there is nothing to accept: the reason, not a change.
    let (status, body) = desk.post(
        &token,
        &format!("/stations/self/tickets/{id}/feedback"),
        &accept,
    );
    assert_eq!(status, 409, "{body}");

    // Bad input names the field.
    let mut unknown = open_body(Uuid::new_v4());
    unknown["category"] = json!("cafeteira");
    let (status, body) = desk.post(&token, "/stations/self/tickets", &unknown);
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("category")),
        "{body}"
    );
    let mut folder = open_body(Uuid::new_v4());
    folder["attachments"][1]["filename"] = json!("../../etc/passwd");
    let (status, body) = desk.post(&token, "/stations/self/tickets", &folder);
    assert_eq!(
        (status, body["field"].clone()),
        (400, json!("attachments[1].filename"))
    );
    let mut refuse =
        json!({"client_id": Uuid::new_v4(), "author": person("ana", "Ana"), "accept": false});
    let (status, body) = desk.post(
        &token,
        &format!("/stations/self/tickets/{id}/feedback"),
        &refuse,
    );
    assert_eq!((status, body["field"].clone()), (400, json!("comment")));
    refuse["comment"] = json!("");
    let (status, _) = desk.post(
        &token,
        &format!("/stations/self/tickets/{id}/feedback"),
        &refuse,
    );
    assert_eq!(status, 400);

    // More than MAX_ATTACHMENT_BYTES in all: 413 naming the file that crossed the limit, and
    // no ticket.
    let half = vec![7u8; vistoria_core::tickets::MAX_ATTACHMENT_BYTES / 2 + 1];
    let mut big = open_body(Uuid::new_v4());
    big["attachments"] = json!([
        {"filename": "a.zip", "mime": "application/zip", "content_base64": b64(&half)},
        {"filename": "b.zip", "mime": "application/zip", "content_base64": b64(&half)},
    ]);
    let (status, body) = desk.post(&token, "/stations/self/tickets", &big);
    assert_eq!(
        (status, body["code"].clone(), body["field"].clone()),
        (413, json!("payload_too_large"), json!("attachments[1]")),
        "{body}"
    );
    assert_eq!(desk.tickets(&token)["tickets"].as_array().unwrap().len(), 1);
}

#[test]
fn a_central_without_help_desk_answers_503() {
    let server = common::Server::start();
    let r = server.post_json("/stations/self/tickets", &open_body(Uuid::new_v4()));
    let (status, body) = common::error_code(r);
    assert_eq!(
        (status, body["code"].clone()),
        (503, json!("helpdesk_unavailable"))
    );
    let r = server.get("/stations/self/tickets").send().unwrap();
    let (status, body) = common::error_code(r);
    assert_eq!(
        (status, body["code"].clone()),
        (503, json!("helpdesk_unavailable"))
    );
}

#[test]
fn a_bad_help_desk_configuration_stops_serve_naming_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::add_station(&data, helpdesk_support::STATION);
    let pki = data.join("test-pki");
    vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default()).unwrap();
    let config = dir.path().join("helpdesk.toml");
    std::fs::write(
        &config,
        "[glpi]\nurl = \"http://glpi.example.com/apirest.php\"\nuser_token = \"\"\n\
         [whatsapp]\napp_secret = \"s\"\nverify_token = \"\"\naccess_token = \"t\"\nphone_number_id = \"1\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::BIN)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .args([
            "--icp-roots",
            pki.join("roots").to_str().unwrap(),
            "--lcr-optional",
        ])
        .args(["--helpdesk", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "never announced");
    let said = String::from_utf8_lossy(&out.stderr);
    for problem in [
        "configuração do help desk",
        "glpi.url",
        "glpi.user_token",
        "whatsapp.verify_token",
    ] {
        assert!(said.contains(problem), "{problem}: {said}");
    }
}

/// The kiosk's own client calls (`CentralClient`), as its outbox will make them.
#[test]
fn the_kiosks_client_calls_speak_the_contract() {
    use vistoria_core::central_client::{CentralClient, ClientError, Endpoint};
    use vistoria_core::tickets::{
        TicketFeedback, TicketFile, TicketOpen, TicketPerson, TicketReply,
    };
    use vistoria_core::wire::ErrorCode;

    let desk = Desk::start(false, |_| {});
    let endpoint = |token: &str| Endpoint {
        url: desk.server.url.clone(),
        token: token.to_owned(),
        cert_sha256: desk.server.cert_sha256.clone(),
    };
    let client = CentralClient::new(&endpoint(&desk.server.token)).unwrap();
    let ana = TicketPerson {
        login: "ana".into(),
        name: "Ana Paula Souza".into(),
    };
    let open = TicketOpen {
        client_id: Uuid::new_v4(),
        category: "equipamento".into(),
        title: Some("Impressora parada".into()),
        description: "A impressora não puxa o papel".into(),
        requester: ana.clone(),
        devices: "Impressora: erro".into(),
        attachments: vec![TicketFile {
            filename: "suporte.zip".into(),
            mime: "application/zip".into(),
            content_base64: b64(ZIP),
        }],
    };
    let first = client.open_ticket(&open).unwrap();
    assert_eq!(client.open_ticket(&open).unwrap(), first);
    let reply = TicketReply {
        client_id: Uuid::new_v4(),
        author: ana.clone(),
        text: "Foto anexada".into(),
        attachments: vec![TicketFile {
            filename: "foto.jpg".into(),
            mime: "image/jpeg".into(),
            content_base64: b64(JPEG),
        }],
    };
    assert_eq!(
        client.reply_ticket(first.ticket_id, &reply).unwrap().state,
        "new"
    );
    let listed = client.station_tickets().unwrap();
    assert_eq!(listed.tickets.len(), 1);
    let t = &listed.tickets[0];
    assert_eq!(
        (t.ticket_id, t.number.as_str()),
        (first.ticket_id, first.number.as_str())
    );
    assert_eq!(t.client_id, Some(open.client_id));
    assert_eq!(t.title, "Impressora parada");
    assert_eq!(t.messages.len(), 2);
    assert_eq!(t.messages[1].attachments[0].filename, "foto.jpg");

    let hd = desk.helpdesk();
    hd.solve(
        &technician("bruno"),
        TicketId(first.ticket_id),
        "Papel recolocado.",
    )
    .unwrap();
    let accept = TicketFeedback {
        client_id: Uuid::new_v4(),
        author: ana,
        accept: true,
        rating: Some(4),
        comment: String::new(),
    };
    // Another station: refused as not found, a refusal the outbox does not retry.
    let other = CentralClient::new(&endpoint(&desk.other_token)).unwrap();
    match other.ticket_feedback(first.ticket_id, &accept) {
        Err(e @ ClientError::Refused { status: 404, .. }) => {
            assert_eq!(e.code(), Some(ErrorCode::TicketNotFound));
            assert!(!e.is_transient());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client
            .ticket_feedback(first.ticket_id, &accept)
            .unwrap()
            .state,
        "closed"
    );
    assert_eq!(client.station_tickets().unwrap().tickets[0].rating, Some(4));

    // A central without a help desk: 503 helpdesk_unavailable, worth retrying later.
    let bare = common::Server::start();
    let bare_client = CentralClient::new(&Endpoint {
        url: bare.url.clone(),
        token: bare.token.clone(),
        cert_sha256: bare.cert_sha256.clone(),
    })
    .unwrap();
    match bare_client.open_ticket(&open) {
        Err(e @ ClientError::Refused { status: 503, .. }) => {
            assert_eq!(e.code(), Some(ErrorCode::HelpdeskUnavailable));
            assert!(e.is_transient(), "the kiosk keeps it queued");
        }
        other => panic!("{other:?}"),
    }
}
