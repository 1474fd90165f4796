//! GLPI down for the whole test and back at its end (issue 23): the stations' tickets, a reply
//! and a console ticket live in the help desk's store meanwhile and the station's listing works
//! as usual; when GLPI comes back each ticket is created there exactly once and its GLPI id kept.

#![allow(clippy::unwrap_used)]

mod common;
mod helpdesk_support;

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;
use vistoria_helpdesk::model::{Channel, ContactInput, TicketId};
use vistoria_helpdesk::service::OpenRequest;

use helpdesk_support::{Desk, STATION, person, wait_until};

#[test]
fn glpi_down_for_the_whole_test_then_back_creates_each_ticket_once() {
    let desk = Desk::start(false, |d| d.rt.block_on(d.glpi.go_down()));
    let token = desk.server.token.clone();
    let mut ids = Vec::new();
    for (i, text) in [
        "Leitor biométrico não responde",
        "Câmera frontal sem imagem",
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({
            "client_id": Uuid::new_v4(),
            "category": "equipamento",
            "description": text,
            "requester": person(&format!("op{i}"), &format!("Operador {i}")),
            "devices": "",
        });
        // Each sent twice, as an outbox does after a lost answer.
        let (status, opened) = desk.post(&token, "/stations/self/tickets", &body);
        assert_eq!(status, 201, "{opened}");
        let (status, again) = desk.post(&token, "/stations/self/tickets", &body);
        assert_eq!((status, &again), (200, &opened));
        ids.push(TicketId(opened["ticket_id"].as_i64().unwrap()));
    }
    let reply = json!({"client_id": Uuid::new_v4(), "author": person("op0", "Operador 0"),
        "text": "Já reiniciei a estação"});
    let (status, _) = desk.post(
        &token,
        &format!("/stations/self/tickets/{}/messages", ids[0].0),
        &reply,
    );
    assert_eq!(status, 201);
    // A ticket opened in the console for a caller, about the same station.
    let hd = desk.helpdesk();
    let caller = hd
        .add_contact(&ContactInput {
            name: "Carlos Lima".into(),
            phone: Some("5565988887777".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let web = hd
        .open_ticket(OpenRequest {
            channel: Channel::Web,
            contact_id: caller.id,
            station: Some(STATION.into()),
            category: "duvida".into(),
            title: None,
            description: "Como reimprimir um laudo?".into(),
            attachments: vec![],
        })
        .unwrap();
    ids.push(web.id);

    // Several rounds of attempts while GLPI is down: the work waits, with its error, and the
    // station's listing shows every ticket.
    wait_until(Duration::from_secs(30), "GLPI attempts failing", || {
        ids.iter().all(|id| {
            let v = hd.ticket_view(*id).unwrap();
            v.glpi_pending > 0 && v.glpi_error.is_some()
        })
    });
    std::thread::sleep(Duration::from_secs(3));
    let list = desk.tickets(&token);
    assert_eq!(list["tickets"].as_array().unwrap().len(), 3, "{list}");
    assert!(desk.glpi.items("Ticket").is_empty());
    for id in &ids {
        assert_eq!(hd.store().ticket(*id).unwrap().unwrap().glpi_id, None);
    }

    // GLPI is back at the end: each ticket created once, its id kept.
    desk.rt.block_on(desk.glpi.come_back()).unwrap();
    wait_until(Duration::from_secs(60), "every ticket in GLPI", || {
        ids.iter()
            .all(|id| hd.ticket_view(*id).unwrap().glpi_pending == 0)
    });
    // A few more rounds and polls: nothing is created again.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(desk.glpi.items("Ticket").len(), 3);
    for id in &ids {
        let found = desk.glpi_tickets_for(&id.reference());
        assert_eq!(found.len(), 1, "{} in GLPI once: {found:?}", id.reference());
        let ours = hd.store().ticket(*id).unwrap().unwrap();
        assert_eq!(ours.glpi_id, found[0]["id"].as_i64());
    }
    let followups = desk.glpi_children(
        "ITILFollowup",
        hd.store().ticket(ids[0]).unwrap().unwrap().glpi_id.unwrap(),
    );
    assert_eq!(
        followups
            .iter()
            .filter(|f| f["content"].as_str().unwrap_or("").contains("reiniciei"))
            .count(),
        1,
        "{followups:?}"
    );
}
