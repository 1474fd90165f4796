//! A ticket from the kiosk and one from the console, through their whole life.

use serde_json::json;
use vistoria_helpdesk::model::{Channel, ContactInput, MessageKind, NewAttachment, Side, Status};
use vistoria_helpdesk::service::{Feedback, OpenRequest};

use crate::harness::{LOCATION_ID, administrator, harness, technician};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_ticket_reaches_glpi_with_its_files_and_comes_back_solved() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let zip = b"PK\x03\x04 support zip with device states".to_vec();
    let t = h.open_from_kiosk(
        &ana,
        "A câmera traseira não responde <desde ontem> & o leitor pisca",
        vec![NewAttachment {
            filename: "suporte.zip".into(),
            mime: "application/zip".into(),
            bytes: Some(zip.clone()),
            wa_media_id: None,
        }],
    );
    assert_eq!((t.status, t.channel), (Status::New, Channel::Kiosk));
    h.settle().await;

    let t = h.ticket(t.id);
    assert!(
        t.confirmed_at.is_some(),
        "intake: the kiosk has its confirmation"
    );
    let glpi_id = t.glpi_id.expect("created in GLPI");
    let g = h.glpi.item("Ticket", glpi_id).unwrap();
    assert_eq!(g["status"], json!(1), "status 1, \"Novo\"");
    assert_eq!(
        g["name"].as_str().unwrap(),
        format!(
            "[{}] Equipamento da estação: A câmera traseira não responde <desde ontem> & o leitor pisca",
            t.id.reference()
        )
    );
    assert!(
        g["content"]
            .as_str()
            .unwrap()
            .contains("&lt;desde ontem&gt; &amp; o leitor pisca"),
        "rich text escaped once"
    );
    assert!(
        g["content"]
            .as_str()
            .unwrap()
            .contains("Solicitante: Ana Paula Souza")
    );
    assert_eq!(
        (
            g["urgency"].clone(),
            g["type"].clone(),
            g["locations_id"].clone()
        ),
        (json!(4), json!(1), json!(LOCATION_ID))
    );
    let requesters = h.glpi_children("Ticket_User", glpi_id);
    assert_eq!(requesters[0]["users_id"], json!(2), "default requester");
    let links = h.glpi_children("Document_Item", glpi_id);
    assert_eq!(links.len(), 1);
    let doc = links[0]["documents_id"].as_i64().unwrap();
    assert_eq!(h.glpi.document_bytes(doc).unwrap(), zip);
    assert!(
        h.glpi.item("Document", doc).unwrap()["name"]
            .as_str()
            .unwrap()
            .ends_with(" suporte.zip")
    );

    // A technician answers in GLPI: the kiosk sees it and the ticket is in execution.
    h.glpi
        .technician_followup(glpi_id, "Reinicie a estação, por favor.\nDepois me diga.");
    h.settle_and_poll().await;
    let view = h.helpdesk.ticket_view(t.id).unwrap();
    assert_eq!(view.ticket.status, Status::Assigned);
    assert!(view.ticket.first_answer_at.is_some());
    let answer = view.messages.iter().find(|m| m.side == Side::Team).unwrap();
    assert_eq!(
        answer.text,
        "Reinicie a estação, por favor.\nDepois me diga."
    );
    assert!(
        view.outbound
            .iter()
            .any(|o| o.body.display_text().contains("Reinicie a estação"))
    );

    // The person replies from the kiosk; it reaches GLPI once.
    h.helpdesk
        .requester_message(t.id, "Reiniciei e continua igual.", vec![])
        .unwrap();
    h.settle_and_poll().await;
    let followups = h.glpi_children("ITILFollowup", glpi_id);
    assert_eq!(followups.len(), 2);
    assert!(
        followups[1]["content"]
            .as_str()
            .unwrap()
            .contains("Reiniciei e continua igual.")
    );

    // Solved in GLPI → the requester is asked; accepted with a rating → closed in both.
    h.glpi
        .technician_solution(glpi_id, "Cabo da câmera trocado.");
    h.settle_and_poll().await;
    let t2 = h.ticket(t.id);
    assert_eq!(t2.status, Status::Solved);
    assert!(t2.feedback_asked_at.is_some(), "closing: feedback asked");
    h.helpdesk
        .feedback(
            t.id,
            Feedback::Accept {
                rating: Some(4),
                comment: Some("Rápido".into()),
            },
        )
        .unwrap();
    h.settle_and_poll().await;
    let t3 = h.ticket(t.id);
    assert_eq!((t3.status, t3.rating), (Status::Closed, Some(4)));
    assert_eq!(h.glpi.item("Ticket", glpi_id).unwrap()["status"], json!(6));
    let sat = h.glpi_children("TicketSatisfaction", glpi_id);
    assert_eq!((sat.len(), sat[0]["satisfaction"].clone()), (1, json!(4)));
    assert_eq!(h.glpi_tickets_for(t.id).len(), 1);
    let report = h.helpdesk.report().unwrap();
    assert_eq!(report.by_station[0].ratings, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_ticket_from_the_console_is_reopened_when_the_solution_is_refused() {
    let h = harness().await;
    let caller = h
        .helpdesk
        .add_contact(&ContactInput {
            name: "Carlos Lima".into(),
            phone: Some("5565988887777".into()),
            station: Some("ECV-MT-0002".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let t = h
        .helpdesk
        .open_ticket(OpenRequest {
            channel: Channel::Web,
            contact_id: caller.id,
            station: None,
            category: "acesso".into(),
            title: Some("Senha bloqueada do operador".into()),
            description: "Ligou dizendo que a senha do operador bloqueou.".into(),
            attachments: vec![],
        })
        .unwrap();
    let bruno = technician("bruno");
    h.helpdesk.assign(&bruno, t.id, "bruno").unwrap();
    assert!(
        h.helpdesk
            .assign(&technician("carla"), t.id, "carla")
            .is_err(),
        "only an administrator takes over"
    );
    h.helpdesk
        .reply(&bruno, t.id, "Desbloqueei, tente de novo.", vec![])
        .unwrap();
    h.helpdesk
        .solve(&bruno, t.id, "Senha desbloqueada.")
        .unwrap();
    h.helpdesk
        .feedback(
            t.id,
            Feedback::Refuse {
                reason: "Continua bloqueada".into(),
            },
        )
        .unwrap();
    let reopened = h.ticket(t.id);
    assert_eq!((reopened.status, reopened.reopened), (Status::Assigned, 1));
    h.settle().await;
    let glpi_id = h.ticket(t.id).glpi_id.unwrap();
    let g = h.glpi.item("Ticket", glpi_id).unwrap();
    assert_eq!(g["status"], json!(2), "reopened in GLPI too");
    assert_eq!(
        g["name"].as_str().unwrap(),
        format!("[{}] Senha bloqueada do operador", t.id.reference())
    );
    assert_eq!(h.glpi_children("ITILSolution", glpi_id).len(), 1);
    let followups = h.glpi_children("ITILFollowup", glpi_id);
    assert_eq!(followups.len(), 2, "the answer and the refusal, once each");
    assert!(
        followups[1]["content"]
            .as_str()
            .unwrap()
            .contains("Solução recusada pelo solicitante:<br>Continua bloqueada")
    );
    // An administrator takes it over and closes it.
    let admin = administrator();
    h.helpdesk.assign(&admin, t.id, "carla").unwrap();
    h.helpdesk.close(&admin, t.id).unwrap();
    h.settle_and_poll().await;
    assert_eq!(h.glpi.item("Ticket", glpi_id).unwrap()["status"], json!(6));
    let view = h.helpdesk.ticket_view(t.id).unwrap();
    assert_eq!(view.ticket.technician.as_deref(), Some("carla"));
    assert_eq!(
        view.messages
            .iter()
            .filter(|m| m.kind == MessageKind::Refusal)
            .count(),
        1
    );
    assert!(
        view.messages.iter().all(|m| m.glpi_id.is_some()),
        "every message is in GLPI"
    );
    assert_eq!(view.glpi_pending, 0);
}
