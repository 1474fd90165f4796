//! The WhatsApp channel against the Meta stand-in: the chatbot's whole conversation, media both
//! ways, out of hours, signatures, the handshake, Meta's faults.

use axum::http::StatusCode;
use serde_json::json;
use vistoria_helpdesk::chatbot::MediaKind;
use vistoria_helpdesk::model::{ContactInput, NewAttachment, Status};
use vistoria_helpdesk::standin::meta::{SentMessage, UserMedia};
use vistoria_helpdesk::store::TicketFilter;
use vistoria_helpdesk::whatsapp::webhook::sign;

use crate::harness::{APP_SECRET, Harness, STATION, VERIFY_TOKEN, cuiaba, harness, technician};

const PHONE: &str = "5565999990001";
const NAME: &str = "Ana Paula";

/// What the person received since `before` messages.
async fn replies(h: &Harness, before: usize) -> Vec<SentMessage> {
    h.settle().await;
    h.meta.sent_to(PHONE).into_iter().skip(before).collect()
}

async fn say(h: &Harness, text: &str) -> Vec<SentMessage> {
    let before = h.meta.sent_to(PHONE).len();
    assert_eq!(h.meta.user_text(PHONE, NAME, text).await, StatusCode::OK);
    replies(h, before).await
}

async fn choose(h: &Harness, id: &str, title: &str, list: bool) -> Vec<SentMessage> {
    let before = h.meta.sent_to(PHONE).len();
    assert_eq!(
        h.meta.user_choice(PHONE, NAME, id, title, list).await,
        StatusCode::OK
    );
    replies(h, before).await
}

const JPEG: &[u8] = b"\xff\xd8\xff\xe0 a small jpeg of a dead camera \xff\xd9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_conversation_opens_a_ticket_and_media_go_both_ways() {
    let h = harness().await;
    let r = say(&h, "Oi").await;
    assert_eq!(r.len(), 2);
    assert!(r[0].text().starts_with("Olá! Aqui é o suporte técnico"));
    assert!(r[1].text().contains("nome completo"));
    say(&h, "Ana Paula Souza").await;
    let r = say(&h, "ana@ecv.com.br").await;
    assert!(r[0].text().contains("ECV"));
    let r = say(&h, STATION).await;
    assert_eq!(r[0].kind, "interactive");
    assert_eq!(r[0].payload["interactive"]["type"], "list");
    assert_eq!(r[0].choice_ids()[0], "cat:equipamento");
    let contact = h.helpdesk.store().contact_by_phone(PHONE).unwrap().unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.station.as_deref()),
        ("Ana Paula Souza", Some(STATION))
    );
    let r = choose(&h, "cat:equipamento", "Equipamento da estação", true).await;
    assert!(r[0].text().contains("Descreva o problema"));
    let r = say(&h, "A câmera traseira não liga desde ontem").await;
    assert_eq!(r[0].choice_ids(), vec!["abrir", "cancelar"]);
    let before = h.meta.sent_to(PHONE).len();
    let photo = UserMedia {
        kind: MediaKind::Image,
        mime: "image/jpeg",
        bytes: JPEG,
        caption: Some("câmera apagada"),
        filename: None,
    };
    assert_eq!(h.meta.user_media(PHONE, NAME, &photo).await, StatusCode::OK);
    let r = replies(&h, before).await;
    assert!(r[0].text().contains("Recebido"));
    let r = choose(&h, "abrir", "Abrir chamado", false).await;

    let tickets = h.helpdesk.tickets(&TicketFilter::default()).unwrap();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(r.len(), 1, "confirmation only, within business hours");
    assert_eq!(
        r[0].text(),
        format!(
            "Chamado {} aberto. Guarde este número: vamos responder por aqui.",
            t.id.reference()
        )
    );
    assert_eq!(
        t.description,
        "A câmera traseira não liga desde ontem\ncâmera apagada"
    );
    assert_eq!(t.station.as_deref(), Some(STATION));
    let t = h.ticket(t.id);
    assert!(t.confirmed_at.is_some(), "intake: confirmation delivered");
    // The photo was fetched from Meta by id and reached GLPI as a document of the ticket.
    let glpi_id = t.glpi_id.unwrap();
    let atts = h.helpdesk.store().attachments(t.id).unwrap();
    assert_eq!(
        h.helpdesk
            .store()
            .attachment_bytes(atts[0].id)
            .unwrap()
            .unwrap(),
        JPEG
    );
    let link = &h.glpi_children("Document_Item", glpi_id)[0];
    assert_eq!(
        h.glpi
            .document_bytes(link["documents_id"].as_i64().unwrap())
            .unwrap(),
        JPEG
    );
    assert!(
        h.glpi.item("Ticket", glpi_id).unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("WhatsApp: +5565999990001")
    );

    // A voice note while the ticket is open joins it.
    let audio = UserMedia {
        kind: MediaKind::Audio,
        mime: "audio/ogg; codecs=opus",
        bytes: b"OggS voice",
        caption: None,
        filename: None,
    };
    assert_eq!(h.meta.user_media(PHONE, NAME, &audio).await, StatusCode::OK);
    h.settle().await;
    assert_eq!(h.helpdesk.store().attachments(t.id).unwrap().len(), 2);
    assert_eq!(h.glpi_children("Document_Item", glpi_id).len(), 2);

    // The technician answers with a photo from the console: text and image reach WhatsApp.
    let before = h.meta.sent_to(PHONE).len();
    let tech_photo = b"\x89PNG where to plug the cable".to_vec();
    h.helpdesk
        .reply(
            &technician("bruno"),
            t.id,
            "Confira este cabo.",
            vec![NewAttachment {
                filename: "cabo.png".into(),
                mime: "image/png".into(),
                bytes: Some(tech_photo.clone()),
                wa_media_id: None,
            }],
        )
        .unwrap();
    let r = replies(&h, before).await;
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0].text(),
        format!(
            "Técnico bruno (suporte), chamado {}:\nConfira este cabo.",
            t.id.reference()
        )
    );
    assert_eq!(r[1].kind, "image");
    let sent_media = h
        .meta
        .media(r[1].payload["image"]["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(sent_media, ("image/png".to_owned(), tech_photo));

    // Solution → yes → rating → closed everywhere.
    let before = h.meta.sent_to(PHONE).len();
    h.helpdesk
        .solve(&technician("bruno"), t.id, "Cabo trocado.")
        .unwrap();
    let r = replies(&h, before).await;
    assert!(r[0].text().contains("Solução do chamado") && r[0].text().contains("Cabo trocado."));
    assert_eq!(r[0].choice_ids(), vec!["sim", "nao"]);
    assert!(h.ticket(t.id).feedback_asked_at.is_some());
    let r = choose(&h, "sim", "Sim, resolvido", false).await;
    assert!(r[0].text().contains("1 a 5"));
    let r = say(&h, "5").await;
    assert_eq!(
        r[0].text(),
        format!(
            "Obrigado pela avaliação. Chamado {} encerrado.",
            t.id.reference()
        )
    );
    h.settle_and_poll().await;
    let t = h.ticket(t.id);
    assert_eq!((t.status, t.rating), (Status::Closed, Some(5)));
    assert_eq!(h.glpi.item("Ticket", glpi_id).unwrap()["status"], json!(6));
    // Archived: the whole conversation stays.
    let archived = h.helpdesk.store().outbound_for_contact(contact.id).unwrap();
    assert!(archived.len() >= 10 && archived.iter().all(|o| o.delivered_at.is_some()));
    // A new message after closing starts a new conversation.
    let r = say(&h, "Bom dia").await;
    assert!(r[0].text().starts_with("Olá, Ana!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_hours_it_takes_the_ticket_and_says_when_the_team_is_back() {
    let h = harness().await;
    h.set_now(cuiaba(7, 10, 0)); // Saturday
    h.helpdesk
        .add_contact(&ContactInput {
            name: "Ana Paula Souza".into(),
            email: Some("ana@ecv.com.br".into()),
            phone: Some(PHONE.into()),
            station: Some(STATION.into()),
            glpi_user_id: Some(7),
        })
        .unwrap();
    let r = say(&h, "Olá").await;
    assert!(r[0].text().starts_with("Olá, Ana!"));
    assert!(
        r[1].text()
            .contains("de segunda a sexta-feira, das 07:00 às 11:00 e das 13:00 às 17:00"),
        "{}",
        r[1].text()
    );
    assert!(r[1].text().contains("segunda-feira (09/03) às 07:00"));
    say(&h, "2").await;
    say(&h, "O sistema mostra erro ao concluir a vistoria").await;
    let r = say(&h, "abrir").await;
    assert_eq!(r.len(), 2);
    assert!(r[0].text().starts_with("Chamado VST-000001 aberto"));
    assert!(
        r[1].text()
            .contains("retorna segunda-feira (09/03) às 07:00")
    );
    let t = h
        .helpdesk
        .tickets(&TicketFilter::default())
        .unwrap()
        .remove(0);
    assert_eq!(t.status, Status::New);
    let g = h.glpi_tickets_for(t.id);
    assert_eq!(g.len(), 1, "taken and sent to GLPI out of hours too");
    let users = h.glpi_children("Ticket_User", g[0]["id"].as_i64().unwrap());
    assert_eq!(
        users[0]["users_id"],
        json!(7),
        "the contact's own GLPI user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_signature_is_refused_and_changes_nothing() {
    let h = harness().await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Forger"}, "wa_id": "5511900000000"}],
        "messages": [{"from": "5511900000000", "id": "wamid.forged", "timestamp": "1", "type": "text", "text": {"body": "oi"}}]}}]}]})
    .to_string();
    let wrong = sign(b"not-the-app-secret", body.as_bytes());
    assert_eq!(
        h.meta
            .post_with_signature(body.as_bytes(), Some(&wrong))
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.meta.post_with_signature(body.as_bytes(), None).await,
        StatusCode::UNAUTHORIZED
    );
    let mut tampered = body.clone().into_bytes();
    let right_for_original = sign(APP_SECRET.as_bytes(), &tampered);
    tampered.extend_from_slice(b" ");
    assert_eq!(
        h.meta
            .post_with_signature(&tampered, Some(&right_for_original))
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert!(h.helpdesk.contacts().unwrap().is_empty());
    assert!(!h.helpdesk.store().inbound_seen("wamid.forged").unwrap());
    // Correctly signed, the same body is taken; sent twice (Meta retries), handled once.
    assert_eq!(h.meta.post_signed(body.as_bytes()).await, StatusCode::OK);
    assert_eq!(h.meta.post_signed(body.as_bytes()).await, StatusCode::OK);
    assert_eq!(h.helpdesk.contacts().unwrap().len(), 1);
    assert_eq!(
        h.helpdesk
            .store()
            .outbound_for_contact(h.helpdesk.contacts().unwrap()[0].id)
            .unwrap()
            .len(),
        2
    );

    let client = reqwest::Client::new();
    let handshake = |token: &str| {
        format!(
            "{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            h.webhook_url
        )
    };
    let ok = client.get(handshake(VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let refused = client.get(handshake("guess")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_down_throttling_and_a_closed_window_lose_nothing() {
    let h = harness().await;
    let contact = h
        .helpdesk
        .add_contact(&ContactInput {
            name: "Ana Paula Souza".into(),
            email: Some("ana@ecv.com.br".into()),
            phone: Some(PHONE.into()),
            station: Some(STATION.into()),
            glpi_user_id: None,
        })
        .unwrap();
    say(&h, "oi").await;
    say(&h, "1").await;
    say(&h, "Leitor de digitais não acende").await;
    say(&h, "abrir").await;
    let t = h
        .helpdesk
        .tickets(&TicketFilter::default())
        .unwrap()
        .remove(0);
    h.meta.go_down().await;
    h.helpdesk
        .reply(&technician("bruno"), t.id, "Troque a porta USB.", vec![])
        .unwrap();
    for _ in 0..3 {
        h.settle().await;
    }
    let pending: Vec<_> = h
        .helpdesk
        .store()
        .outbound_for_contact(contact.id)
        .unwrap()
        .into_iter()
        .filter(|o| o.delivered_at.is_none())
        .collect();
    assert_eq!(pending.len(), 1, "kept while Meta is down");
    h.meta.come_back().await.unwrap();
    h.meta.throttle_next(1);
    let before = h.meta.sent_to(PHONE).len();
    let r = replies(&h, before).await;
    assert_eq!(r.len(), 1, "delivered once, after the throttling");
    assert!(r[0].text().contains("Troque a porta USB."));
    // 24 hours without a word from the person: Meta refuses for good; kept as failed for the
    // console, never retried into a loop.
    h.meta.close_window(PHONE);
    h.helpdesk
        .reply(&technician("bruno"), t.id, "Conseguiu testar?", vec![])
        .unwrap();
    let before = h.meta.sent_to(PHONE).len();
    assert!(replies(&h, before).await.is_empty());
    let failed: Vec<_> = h
        .helpdesk
        .store()
        .outbound_for_contact(contact.id)
        .unwrap()
        .into_iter()
        .filter(|o| o.failed.is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].failed.as_deref().unwrap().contains("24 hours"),
        "{:?}",
        failed[0].failed
    );
    assert!(
        h.helpdesk
            .store()
            .pending_jobs(t.id, &[vistoria_helpdesk::model::JobKind::Deliver])
            .unwrap()
            .is_empty()
    );
}
