//! WhatsApp through the central's mounted webhook (issue 23), against the Meta stand-in: the
//! verification handshake, a forged `X-Hub-Signature-256` refused with nothing stored, the
//! chatbot's conversation opening a ticket (in GLPI once, listed for its station), the team's
//! reply delivered to the person; and a ticket the console opens for a caller reaching GLPI.

#![allow(clippy::unwrap_used)]

mod common;
mod helpdesk_support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use vistoria_helpdesk::model::{Channel, ContactInput};
use vistoria_helpdesk::service::OpenRequest;
use vistoria_helpdesk::store::TicketFilter;
use vistoria_helpdesk::whatsapp::webhook::sign;

use helpdesk_support::{Desk, LOCATION_ID, STATION, VERIFY_TOKEN, technician, wait_until};

const PHONE: &str = "5565999990001";
const NAME: &str = "Ana Paula";

fn message(wamid: &str, text: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "556533330000", "phone_number_id": helpdesk_support::PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": NAME}, "wa_id": PHONE}],
            "messages": [{"from": PHONE, "id": wamid, "timestamp": "1767000000", "type": "text",
                "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

#[test]
fn whatsapp_through_the_central_and_a_console_ticket_reach_glpi() {
    let desk = Desk::start(true, |_| {});
    let hd = desk.helpdesk();
    let webhook = format!("{}/whatsapp/webhook", desk.server.url);
    let http = reqwest::blocking::Client::new();

    // Meta's handshake: the challenge back for our verify token, 403 for another.
    let r = http
        .get(format!(
            "{webhook}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().unwrap(), "1158201444");
    let r = http
        .get(format!(
            "{webhook}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // A forged notification (signed with another secret, or unsigned): 401, nothing stored,
    // nothing answered.
    let forged = message("wamid.forged1", "Oi");
    let bad = sign(b"not-the-app-secret", &forged);
    let status = desk
        .rt
        .block_on(desk.meta.post_with_signature(&forged, Some(&bad)));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let status = desk
        .rt
        .block_on(desk.meta.post_with_signature(&forged, None));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    std::thread::sleep(Duration::from_secs(3));
    assert!(!hd.store().inbound_seen("wamid.forged1").unwrap());
    assert_eq!(hd.store().contact_by_phone(PHONE).unwrap(), None);
    assert!(hd.store().chat_state(PHONE).unwrap().is_none());
    assert!(desk.meta.sent_to(PHONE).is_empty());

    // The chatbot's conversation, signed as Meta signs.
    let say = |text: &str| {
        assert_eq!(
            desk.rt.block_on(desk.meta.user_text(PHONE, NAME, text)),
            StatusCode::OK
        );
    };
    let choose = |id: &str, title: &str, list: bool| {
        assert_eq!(
            desk.rt
                .block_on(desk.meta.user_choice(PHONE, NAME, id, title, list)),
            StatusCode::OK
        );
    };
    say("Oi");
    say("Ana Paula Souza");
    say("ana@ecv.com.br");
    say(STATION);
    choose("cat:equipamento", "Equipamento da estação", true);
    say("A câmera traseira não liga desde ontem");
    choose("abrir", "Abrir chamado", false);
    let tickets = hd.tickets(&TicketFilter::default()).unwrap();
    assert_eq!(tickets.len(), 1);
    let t = tickets[0].clone();
    assert_eq!(t.channel, Channel::WhatsApp);
    assert_eq!(t.station.as_deref(), Some(STATION));
    let confirmation = format!("Chamado {} aberto", t.id.reference());
    wait_until(
        Duration::from_secs(30),
        "the confirmation on WhatsApp",
        || {
            desk.meta
                .sent_to(PHONE)
                .iter()
                .any(|m| m.text().contains(&confirmation))
        },
    );
    wait_until(
        Duration::from_secs(30),
        "the WhatsApp ticket in GLPI",
        || desk.glpi_tickets_for(&t.id.reference()).len() == 1,
    );
    let glpi = &desk.glpi_tickets_for(&t.id.reference())[0];
    assert!(
        glpi["content"]
            .as_str()
            .unwrap()
            .contains("WhatsApp: +5565999990001")
    );
    assert_eq!(glpi["locations_id"], json!(LOCATION_ID));

    // The station sees the ticket about it, not opened by its kiosk.
    let list = desk.tickets(&desk.server.token);
    let listed = &list["tickets"][0];
    assert_eq!(listed["number"], json!(t.id.reference()));
    assert!(listed.get("client_id").is_none(), "{listed}");

    // The team's reply reaches the person on WhatsApp.
    let bruno = technician("bruno");
    hd.reply(&bruno, t.id, "Estamos verificando a câmera.", vec![])
        .unwrap();
    wait_until(Duration::from_secs(30), "the reply on WhatsApp", || {
        desk.meta
            .sent_to(PHONE)
            .iter()
            .any(|m| m.text().contains("Estamos verificando a câmera."))
    });

    // The console opens a ticket for someone who phoned: it reaches GLPI.
    let caller = hd
        .add_contact(&ContactInput {
            name: "Carlos Lima".into(),
            email: Some("carlos@ecv.com.br".into()),
            station: Some(STATION.into()),
            ..ContactInput::default()
        })
        .unwrap();
    let web = hd
        .open_ticket(OpenRequest {
            channel: Channel::Web,
            contact_id: caller.id,
            station: None,
            category: "duvida".into(),
            title: Some("Reimpressão de laudo".into()),
            description: "Como reimprimir um laudo já enviado?".into(),
            attachments: vec![],
        })
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "the console ticket in GLPI",
        || {
            hd.store()
                .ticket(web.id)
                .unwrap()
                .unwrap()
                .glpi_id
                .is_some()
        },
    );
    let found = desk.glpi_tickets_for(&web.id.reference());
    assert_eq!(found.len(), 1, "{found:?}");
    let glpi = &found[0];
    assert!(
        glpi["name"]
            .as_str()
            .unwrap()
            .contains("Reimpressão de laudo")
    );
    assert_eq!(glpi["locations_id"], json!(LOCATION_ID));
    assert_eq!(
        hd.store().ticket(web.id).unwrap().unwrap().glpi_id,
        glpi["id"].as_i64()
    );

    // A graceful stop ends the help desk's work and its GLPI session (killSession).
    assert!(desk.glpi.sessions_open() > 0);
    let mut desk = desk;
    let exit = desk.server.terminate(Duration::from_secs(20));
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
    assert_eq!(desk.glpi.sessions_open(), 0);
}
