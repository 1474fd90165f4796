//! The ticket queue's guarantees (issue 23) on the station API, against the real embedded
//! central reached through a loopback relay the test switches off and on: a ticket opened
//! offline is kept (across a restart too) and sent once the link is back; a ticket whose
//! answer was lost is sent again and stays one ticket; a reply to a ticket opened offline
//! waits for its number; a refusal that names the field is kept with its reason until
//! discarded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use vistoria_core::accounts::Role;
use vistoria_core::store::{TicketQueueState, TicketRequestKind};
use vistoria_core::tickets::TicketOpen;

use super::*;
use crate::embedded_central::demo_opening;
use crate::{Session, Station, demo};

const STATION: &str = "ECV-TESTE-01";

fn technician() -> Session {
    Session {
        login: demo::TECHNICIAN.into(),
        name: "Técnico de demonstração".into(),
        role: Role::Technician,
        cpf: String::new(),
    }
}

/// A TCP relay to the central the test turns off (every connection closed at once, as a
/// cable pulled) and on. TLS passes through untouched.
struct Switch {
    url: String,
    online: Arc<AtomicBool>,
    /// The connections relayed, cut when the link goes down (a pooled connection too).
    open: Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Switch {
    fn start(central_url: &str) -> Switch {
        let upstream = central_url.trim_start_matches("https://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let online = Arc::new(AtomicBool::new(true));
        let on = online.clone();
        let open = Arc::new(std::sync::Mutex::new(Vec::new()));
        let conns = open.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().filter_map(Result::ok) {
                if !on.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                conns.lock().unwrap().push(client.try_clone().unwrap());
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Switch {
            url: format!("https://127.0.0.1:{port}"),
            online,
            open,
        }
    }

    fn set(&self, online: bool) {
        self.online.store(online, Ordering::SeqCst);
        if !online {
            for conn in self.open.lock().unwrap().drain(..) {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
    }
}

/// A demo station whose central is reached through a [`Switch`].
fn station_behind_switch(root: &std::path::Path) -> (Station, Switch) {
    let mut opening = demo_opening(root, STATION, None).unwrap();
    let switch = Switch::start(&opening.endpoint.url);
    opening.endpoint.url = switch.url.clone();
    (Station::open(opening).unwrap(), switch)
}

fn draft(description: &str) -> TicketDraft {
    TicketDraft {
        client_id: Uuid::new_v4(),
        category: "equipamento".into(),
        title: "Câmera não captura".into(),
        description: description.into(),
        attach_support: true,
        photo: None,
    }
}

#[test]
fn a_ticket_opened_offline_is_kept_with_its_attachments_and_survives_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let client_id;
    {
        let (station, switch) = station_behind_switch(root.path());
        switch.set(false);
        let photo = root.path().join("problema.jpg");
        std::fs::write(&photo, b"\xFF\xD8\xFF\xE0\0\x10JFIF\0foto").unwrap();
        let mut d = draft("a câmera não liga desde cedo");
        d.photo = Some(photo);
        let queued = station.open_ticket(&technician(), &d).unwrap();
        client_id = queued.client_id;
        assert_eq!(queued.state, TicketQueueState::Pending);
        // The same press again: the same request, not a second ticket.
        let again = station.open_ticket(&technician(), &d).unwrap();
        assert_eq!(again.seq, queued.seq);

        let pass = station.send_tickets().unwrap();
        assert_eq!((pass.sent, pass.refused, pass.waiting), (0, 0, 1));
        assert!(pass.stopped.is_some());
        let board = station.tickets().unwrap();
        assert_eq!(board.waiting, 1);
        let view = board.ticket(TicketKey::Queued(client_id)).unwrap();
        assert_eq!(view.state_label, QUEUED_LABEL);
        assert_eq!(view.title, "Câmera não captura");

        // What will be sent: the requester, the devices as Diagnóstico shows them, the
        // support zip and the photo.
        let body = station
            .core()
            .store
            .ticket_request_body(client_id)
            .unwrap()
            .unwrap();
        let open: TicketOpen = serde_json::from_str(&body).unwrap();
        assert_eq!(open.client_id, client_id);
        assert_eq!(open.requester.login, demo::TECHNICIAN);
        assert!(open.devices.contains("pronto"), "{}", open.devices);
        let names: Vec<&str> = open.attachments.iter().map(|f| f.mime.as_str()).collect();
        assert_eq!(names, ["application/zip", "image/jpeg"]);
        let zip = base64::engine::general_purpose::STANDARD
            .decode(&open.attachments[0].content_base64)
            .unwrap();
        assert!(zip.starts_with(b"PK"));
        station.shutdown();
    }
    // The kiosk restarted: the ticket is still queued, with its attempt counted.
    let (station, _switch) = station_behind_switch(root.path());
    let kept = station
        .core()
        .store
        .ticket_request(client_id)
        .unwrap()
        .unwrap();
    assert_eq!(kept.state, TicketQueueState::Pending);
    assert_eq!(kept.kind, TicketRequestKind::Open);
    assert_eq!(kept.attempts, 1);
    assert!(kept.last_error.is_some());
}

#[test]
fn bad_input_is_refused_before_anything_is_queued() {
    let root = tempfile::tempdir().unwrap();
    let (station, switch) = station_behind_switch(root.path());
    switch.set(false);
    let refused = |d: &TicketDraft| {
        station
            .open_ticket(&technician(), d)
            .unwrap_err()
            .to_string()
    };
    let mut d = draft("  ");
    assert!(refused(&d).contains("Descreva o problema"));
    d.description = "não liga".into();
    d.category = String::new();
    assert!(refused(&d).contains("Escolha a categoria"));
    d.category = "equipamento".into();
    d.photo = Some(root.path().join("nao-existe.jpg"));
    assert!(refused(&d).contains("Confira o caminho do arquivo"));
    let text = root.path().join("notas.txt");
    std::fs::write(&text, "não é foto").unwrap();
    d.photo = Some(text);
    assert!(refused(&d).contains("não é uma foto JPEG ou PNG"));
    // An operator is not the technician: the rule is the station's, not the screen's.
    let operator = Session {
        login: demo::OPERATOR.into(),
        name: "Operador".into(),
        role: Role::Operator,
        cpf: String::new(),
    };
    d.photo = None;
    assert!(station.open_ticket(&operator, &d).is_err());
    // A reply needs text or a photo; an accepted solution needs its stars; a refusal says why.
    let key = TicketKey::Central(1);
    let reply = ReplyDraft {
        client_id: Uuid::new_v4(),
        text: " ".into(),
        photo: None,
    };
    assert!(station.reply_ticket(&technician(), key, &reply).is_err());
    let mut feedback = FeedbackDraft {
        client_id: Uuid::new_v4(),
        accept: true,
        rating: None,
        comment: String::new(),
    };
    assert!(
        station
            .rate_ticket(&technician(), key, &feedback)
            .unwrap_err()
            .to_string()
            .contains("1 a 5")
    );
    feedback.accept = false;
    assert!(
        station
            .rate_ticket(&technician(), key, &feedback)
            .unwrap_err()
            .to_string()
            .contains("Diga o que ainda não está resolvido")
    );
    assert!(station.core().store.ticket_requests().unwrap().is_empty());
}

/// A demo station behind a [`Switch`] whose central runs a help desk.
fn helpdesk_station(root: &std::path::Path) -> (Station, Switch) {
    let mut opening = demo_opening(root, STATION, None).unwrap();
    let switch = Switch::start(&opening.endpoint.url);
    opening.endpoint.url = switch.url.clone();
    let station = Station::open(opening).unwrap();
    station.sync_clock().unwrap();
    (station, switch)
}

fn listed(station: &Station, client_id: Uuid) -> Vec<vistoria_core::tickets::StationTicket> {
    station.refresh_tickets().unwrap();
    let (listing, _) = station.core().store.ticket_listing().unwrap().unwrap();
    listing
        .tickets
        .into_iter()
        .filter(|t| t.client_id == Some(client_id))
        .collect()
}

#[test]
fn offline_then_online_the_ticket_and_the_reply_waiting_for_its_number_are_sent_once() {
    let root = tempfile::tempdir().unwrap();
    let (station, switch) = helpdesk_station(root.path());
    switch.set(false);
    let mut d = draft("o leitor de digital não responde");
    d.attach_support = false;
    let open = station.open_ticket(&technician(), &d).unwrap();
    let reply = ReplyDraft {
        client_id: Uuid::new_v4(),
        text: "reiniciei e continua".into(),
        photo: None,
    };
    let queued_reply = station
        .reply_ticket(&technician(), TicketKey::Queued(open.client_id), &reply)
        .unwrap();
    assert_eq!(queued_reply.ticket_id, None);
    let pass = station.send_tickets().unwrap();
    assert_eq!((pass.sent, pass.waiting), (0, 2));
    let board = station.tickets().unwrap();
    let view = board.ticket(TicketKey::Queued(open.client_id)).unwrap();
    assert_eq!(view.state_label, QUEUED_LABEL);
    assert_eq!(view.queued.len(), 1);
    assert_eq!(view.queued[0].summary, "reiniciei e continua");

    // The link is back, but the failed attempt's backoff is not over: nothing yet.
    switch.set(true);
    let pass = station.send_tickets().unwrap();
    assert_eq!((pass.sent, pass.waiting), (0, 2), "{pass:?}");
    // The backoff runs out (moved to now rather than slept through).
    let queue = station.core().store.ticket_requests().unwrap();
    for mut r in queue {
        r.next_attempt_at = Utc::now();
        station.core().store.update_ticket_request(&r).unwrap();
    }
    let pass = station.send_tickets().unwrap();
    assert_eq!(
        (pass.sent, pass.refused, pass.waiting),
        (2, 0, 0),
        "{pass:?}"
    );
    let sent = station
        .core()
        .store
        .ticket_request(open.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(sent.state, TicketQueueState::Sent);
    let id = sent.answer_ticket_id.unwrap();
    assert!(sent.answer_number.as_deref().unwrap().starts_with("VST-"));
    let reply_row = station
        .core()
        .store
        .ticket_request(queued_reply.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(reply_row.ticket_id, Some(id));
    assert_eq!(reply_row.state, TicketQueueState::Sent);

    // One ticket at the central, with the reply in its conversation.
    let tickets = listed(&station, open.client_id);
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].ticket_id, id);
    assert!(
        tickets[0]
            .messages
            .iter()
            .any(|m| m.text == "reiniciei e continua" && !m.from_team),
        "{:?}",
        tickets[0].messages
    );
    // Nothing left: another pass sends nothing.
    assert_eq!(station.send_tickets().unwrap().sent, 0);
    let board = station.tickets().unwrap();
    let view = board.ticket(TicketKey::Central(id)).unwrap();
    assert!(view.ticket.is_some());
    assert!(view.queued.is_empty());
    assert_eq!(board.waiting, 0);
}

/// The central took the ticket but its answer never reached the kiosk (a crash between the
/// sending and the recording, a cut link): the request is still pending, is sent again, and
/// stays one ticket.
#[test]
fn a_ticket_whose_answer_was_lost_is_sent_again_and_stays_one_ticket() {
    let root = tempfile::tempdir().unwrap();
    let (station, _switch) = helpdesk_station(root.path());
    let mut d = draft("impressora sem papel e sem aviso");
    d.attach_support = false;
    let open = station.open_ticket(&technician(), &d).unwrap();
    // The first attempt, whose answer is lost: the central stores it, the kiosk never hears.
    let body = station
        .core()
        .store
        .ticket_request_body(open.client_id)
        .unwrap()
        .unwrap();
    let first: TicketOpen = serde_json::from_str(&body).unwrap();
    let client = station.core().client.clone();
    let lost = client.open_ticket(&first).unwrap();
    assert_eq!(
        station
            .core()
            .store
            .ticket_request(open.client_id)
            .unwrap()
            .unwrap()
            .state,
        TicketQueueState::Pending
    );
    let pass = station.send_tickets().unwrap();
    assert_eq!(pass.sent, 1, "{pass:?}");
    let sent = station
        .core()
        .store
        .ticket_request(open.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(sent.answer_ticket_id, Some(lost.ticket_id));
    assert_eq!(sent.answer_number.as_deref(), Some(lost.number.as_str()));
    assert_eq!(listed(&station, open.client_id).len(), 1);
}

#[test]
fn a_refusal_naming_the_field_is_kept_with_its_reason_until_discarded() {
    let root = tempfile::tempdir().unwrap();
    let (station, _switch) = helpdesk_station(root.path());
    // Never listed yet: the kiosk cannot check the category itself; the central does.
    let mut d = draft("categoria que a central não tem");
    d.attach_support = false;
    d.category = "nao-existe".into();
    let open = station.open_ticket(&technician(), &d).unwrap();
    let reply = ReplyDraft {
        client_id: Uuid::new_v4(),
        text: "mais um detalhe".into(),
        photo: None,
    };
    station
        .reply_ticket(&technician(), TicketKey::Queued(open.client_id), &reply)
        .unwrap();
    let pass = station.send_tickets().unwrap();
    assert_eq!(pass.refused, 1, "{pass:?}");
    let refused = station
        .core()
        .store
        .ticket_request(open.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(refused.state, TicketQueueState::Failed);
    let reason = refused.last_error.clone().unwrap();
    assert!(!reason.is_empty());
    // Kept, and shown with its reason.
    let board = station.tickets().unwrap();
    let view = board.ticket(TicketKey::Queued(open.client_id)).unwrap();
    assert_eq!(view.state_label, REFUSED_LABEL);
    assert_eq!(
        view.open.as_ref().unwrap().error.as_deref(),
        Some(reason.as_str())
    );
    // Now the list is known: an unknown category is refused before queueing.
    assert!(
        station
            .open_ticket(
                &technician(),
                &TicketDraft {
                    client_id: Uuid::new_v4(),
                    ..d.clone()
                }
            )
            .unwrap_err()
            .to_string()
            .contains("Categoria desconhecida")
    );
    // The person discards it: the reply waiting for it goes too.
    assert_eq!(
        station
            .discard_ticket_request(&technician(), open.client_id)
            .unwrap(),
        2
    );
    assert!(station.core().store.ticket_requests().unwrap().is_empty());
}

/// A central without a help desk answers 503 `helpdesk_unavailable`: the ticket stays queued.
#[test]
fn a_central_without_a_help_desk_leaves_the_ticket_queued() {
    let root = tempfile::tempdir().unwrap();
    let station = Station::open(
        crate::embedded_central::demo_opening_on(root.path(), STATION, None, false).unwrap(),
    )
    .unwrap();
    let mut d = draft("sem help desk na central");
    d.attach_support = false;
    let open = station.open_ticket(&technician(), &d).unwrap();
    let pass = station.send_tickets().unwrap();
    assert_eq!(
        (pass.sent, pass.refused, pass.waiting),
        (0, 0, 1),
        "{pass:?}"
    );
    let kept = station
        .core()
        .store
        .ticket_request(open.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(kept.state, TicketQueueState::Pending);
    assert!(kept.last_error.is_some());
}

/// The worker's own loop sends the queue: the person presses "Enviar" and nothing else.
#[test]
fn the_worker_sends_a_queued_ticket_by_itself() {
    let root = tempfile::tempdir().unwrap();
    let (station, _switch) = helpdesk_station(root.path());
    let _worker = station
        .start_worker(crate::WorkerConfig {
            tick: std::time::Duration::from_millis(50),
            delivery_every: std::time::Duration::from_millis(200),
            ..crate::WorkerConfig::default()
        })
        .unwrap();
    let mut d = draft("enviado pelo trabalho de fundo");
    d.attach_support = false;
    let open = station.open_ticket(&technician(), &d).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row = station
            .core()
            .store
            .ticket_request(open.client_id)
            .unwrap()
            .unwrap();
        if row.state == TicketQueueState::Sent {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "não enviado: {row:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(listed(&station, open.client_id).len(), 1);
}
