//! GLPI down, slow, failing, losing answers, expiring sessions: nothing lost, nothing twice.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use vistoria_helpdesk::glpi::GlpiClient;
use vistoria_helpdesk::glpi::protocol::Endpoint;
use vistoria_helpdesk::http::ReqwestTransport;
use vistoria_helpdesk::model::{ContactInput, JobKind, Status};
use vistoria_helpdesk::service::{Feedback, OpenRequest};

use crate::harness::{APP_TOKEN, USER_TOKEN, harness, technician};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glpi_down_for_the_whole_test_then_back_creates_every_ticket_once() {
    let h = harness().await;
    h.glpi.go_down().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let caller = h
        .helpdesk
        .add_contact(&ContactInput {
            name: "Carlos Lima".into(),
            phone: Some("5565988887777".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let kiosk = h.open_from_kiosk(&ana, "Impressora não imprime o laudo", vec![]);
    let web = h
        .helpdesk
        .open_ticket(OpenRequest {
            channel: vistoria_helpdesk::model::Channel::Web,
            contact_id: caller.id,
            station: Some("ECV-MT-0003".into()),
            category: "duvida".into(),
            title: None,
            description: "Como reimprimir um laudo?".into(),
            attachments: vec![],
        })
        .unwrap();
    // The console works as usual meanwhile.
    let bruno = technician("bruno");
    h.helpdesk
        .reply(&bruno, kiosk.id, "Verifique o papel.", vec![])
        .unwrap();
    h.helpdesk
        .solve(&bruno, web.id, "Menu Envios, botão Reimprimir.")
        .unwrap();
    h.helpdesk
        .feedback(
            web.id,
            Feedback::Accept {
                rating: Some(5),
                comment: None,
            },
        )
        .unwrap();
    for _ in 0..5 {
        h.settle().await;
    }
    for id in [kiosk.id, web.id] {
        let view = h.helpdesk.ticket_view(id).unwrap();
        assert_eq!(view.ticket.glpi_id, None);
        assert!(view.glpi_pending > 0);
        assert!(
            view.glpi_error
                .as_deref()
                .unwrap_or("")
                .contains("GLPI inacessível"),
            "{:?}",
            view.glpi_error
        );
        assert!(
            view.ticket.confirmed_at.is_some(),
            "intake does not wait for GLPI"
        );
    }
    assert_eq!(h.ticket(web.id).status, Status::Closed);

    h.glpi.come_back().await.unwrap();
    h.settle_and_poll().await;
    assert_eq!(h.glpi.items("Ticket").len(), 2, "each ticket created once");
    for id in [kiosk.id, web.id] {
        let t = h.ticket(id);
        let glpi_id = t.glpi_id.expect("GLPI id kept");
        assert_eq!(h.glpi_tickets_for(id).len(), 1);
        assert_eq!(h.glpi_tickets_for(id)[0]["id"], json!(glpi_id));
        assert_eq!(h.helpdesk.ticket_view(id).unwrap().glpi_pending, 0);
    }
    let k = h.ticket(kiosk.id).glpi_id.unwrap();
    assert_eq!(h.glpi_children("ITILFollowup", k).len(), 1);
    let w = h.ticket(web.id).glpi_id.unwrap();
    assert_eq!(
        h.glpi.item("Ticket", w).unwrap()["status"],
        json!(6),
        "closed after its solution"
    );
    assert_eq!(h.glpi_children("ITILSolution", w).len(), 1);
    assert_eq!(
        h.glpi_children("TicketSatisfaction", w)[0]["satisfaction"],
        json!(5)
    );
    // Another pass changes nothing.
    h.settle_and_poll().await;
    assert_eq!(h.glpi.items("Ticket").len(), 2);
    assert_eq!(h.glpi.items("ITILFollowup").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_never_creates_anything_twice() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let t = h.open_from_kiosk(&ana, "Leitor biométrico não lê", vec![]);
    // GLPI creates the ticket but its answer never arrives (our timeout is 2 s).
    h.glpi.lose_next_answers(1);
    let round = h.workers.run_once().await.unwrap();
    assert_eq!(round.glpi.failed, 1);
    assert_eq!(h.glpi.items("Ticket").len(), 1, "GLPI did the work");
    assert_eq!(h.ticket(t.id).glpi_id, None, "we never heard of it");
    h.settle().await;
    assert_eq!(
        h.glpi.items("Ticket").len(),
        1,
        "found by its reference, not created again"
    );
    let glpi_id = h.ticket(t.id).glpi_id.unwrap();
    assert_eq!(h.glpi.items("Ticket")[0]["id"], json!(glpi_id));

    // The same for a followup: pushed, answer lost, found by its marker.
    h.helpdesk
        .reply(
            &technician("bruno"),
            t.id,
            "Limpe o sensor com pano seco.",
            vec![],
        )
        .unwrap();
    h.glpi.lose_next_answers(1);
    h.settle_and_poll().await;
    assert_eq!(h.glpi_children("ITILFollowup", glpi_id).len(), 1);
    let view = h.helpdesk.ticket_view(t.id).unwrap();
    assert!(view.messages.iter().all(|m| m.glpi_id.is_some()));
    assert_eq!(
        view.messages.len(),
        1,
        "our own followup is not imported back as the team's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_mid_run_logs_in_again_and_the_session_ends_at_stop() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let t = h.open_from_kiosk(&ana, "Tela de vistoria travada", vec![]);
    h.settle().await;
    assert_eq!(h.glpi.sessions_opened(), 1);
    h.glpi.expire_sessions();
    h.helpdesk
        .reply(&technician("bruno"), t.id, "Já verifico.", vec![])
        .unwrap();
    h.settle().await;
    let glpi_id = h.ticket(t.id).glpi_id.unwrap();
    assert_eq!(
        h.glpi_children("ITILFollowup", glpi_id).len(),
        1,
        "sent once, after logging in again"
    );
    assert_eq!(h.glpi.sessions_opened(), 2);
    let invalid = h
        .glpi
        .requests()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/ITILFollowup/"))
        .count();
    assert_eq!(
        invalid, 2,
        "refused once with ERROR_SESSION_TOKEN_INVALID, then accepted"
    );
    h.workers
        .sync
        .as_ref()
        .unwrap()
        .client()
        .kill_session()
        .await
        .unwrap();
    assert_eq!(h.glpi.sessions_open(), 0, "killSession when done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_slow_answers_and_refusals_are_retried() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let t = h.open_from_kiosk(&ana, "Sem conexão com o servidor central", vec![]);
    h.glpi.fail_next(3);
    let round = h.workers.run_once().await.unwrap();
    assert_eq!(round.glpi.failed, 1);
    let view = h.helpdesk.ticket_view(t.id).unwrap();
    assert!(view.glpi_error.unwrap().contains("500"));
    h.glpi.refuse_next(
        403,
        "ERROR_RIGHT_MISSING",
        "You don't have permission to perform this action.",
    );
    h.settle().await;
    h.glpi.set_delay(Duration::from_millis(300));
    h.settle().await;
    h.glpi.set_delay(Duration::ZERO);
    assert!(h.ticket(t.id).glpi_id.is_some());
    assert_eq!(h.glpi.items("Ticket").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_glpis_answer_and_our_write_is_found_after_the_restart() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let t = h.open_from_kiosk(&ana, "Estação reinicia sozinha", vec![]);
    // The attempt is written down, GLPI creates the ticket, and the process dies before it
    // records GLPI's id: reproduce exactly that state.
    let store = h.helpdesk.store().clone();
    let job = store
        .due_jobs(&[JobKind::GlpiCreateTicket], h.helpdesk.now(), 1)
        .unwrap()
        .remove(0);
    store.begin_job(job.id, h.helpdesk.now()).unwrap();
    let client = GlpiClient::new(
        Endpoint {
            base: h.glpi.url(),
            app_token: Some(APP_TOKEN.into()),
        },
        USER_TOKEN.into(),
        Arc::new(ReqwestTransport::new(Duration::from_secs(2)).unwrap()),
    );
    let name = format!(
        "[{}] Equipamento da estação: Estação reinicia sozinha",
        t.id.reference()
    );
    let created = client
        .add(
            "Ticket",
            &serde_json::json!({"name": name, "content": "<p>x</p>", "status": 1}),
        )
        .await
        .unwrap();
    // After the restart, another process on the same file.
    let (helpdesk, workers) = h.restarted();
    for _ in 0..3 {
        workers.run_once().await.unwrap();
    }
    assert_eq!(
        helpdesk.store().ticket(t.id).unwrap().unwrap().glpi_id,
        Some(created),
        "adopted, not created again"
    );
    assert_eq!(h.glpi.items("Ticket").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawned_workers_sync_on_their_own_and_end_the_session_when_stopped() {
    let h = harness().await;
    let (helpdesk, workers) = h.restarted();
    let running = workers.spawn(Duration::from_millis(50), Duration::from_millis(50));
    let ana = h.staff_contact("Ana Paula Souza");
    let t = h.open_from_kiosk(&ana, "Câmera panorâmica sem imagem", vec![]);
    let mut linked = None;
    for _ in 0..100 {
        linked = helpdesk.store().ticket(t.id).unwrap().unwrap().glpi_id;
        if linked.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let glpi_id = linked.expect("created by the running workers");
    h.glpi.technician_followup(glpi_id, "Verificando a câmera.");
    let mut answered = false;
    for _ in 0..100 {
        if helpdesk
            .store()
            .messages(t.id)
            .unwrap()
            .iter()
            .any(|m| m.text == "Verificando a câmera.")
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "the poll brought GLPI's answer back");
    running.stop().await;
    assert_eq!(h.glpi.sessions_open(), 0, "killSession at stop");
}
