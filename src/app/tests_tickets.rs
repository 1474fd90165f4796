//! Diagnóstico's help desk (issue 23) clicked through: the technician opens a ticket, sees it
//! queued, the station sends it (as its worker does) and the list shows the central's number;
//! a reply goes the same way into the ticket's conversation. Against a real embedded central
//! running a help desk.

use super::Screen;
use super::harness::*;
use crate::screen::diagnostics::{ticket_form, tickets};
use vistoria_station::tickets::QUEUED_LABEL;
use vistoria_station::{Station, demo};

fn harness_with_helpdesk() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let opening =
        vistoria_station::embedded_central::demo_opening(dir.path(), "ECV-TESTE-01", None).unwrap();
    let kiosk = Station::open(opening).unwrap();
    Harness::with_kiosk(kiosk, Some(dir))
}

fn diagnostics(h: &Harness) -> &crate::screen::diagnostics::State {
    match h.app.screen() {
        Screen::Diagnostics(s) => s,
        _ => panic!("não está no Diagnóstico"),
    }
}

#[test]
fn a_technician_opens_a_ticket_and_follows_it_in_the_stations_list() {
    let mut h = harness_with_helpdesk();
    h.login_password(demo::TECHNICIAN, demo::PASSWORD);
    h.click("Abrir chamado");
    assert!(diagnostics(&h).ticket_form().is_some());
    // The central's ticket types.
    h.click("Equipamento da estação");
    h.type_into(ticket_form::TITLE_INPUT, "Leitor não lê");
    h.click("Enviar chamado");
    // Bad input: said in Portuguese, nothing queued, the form kept.
    assert!(h.sees("Descreva o problema: o que aconteceu e o que você já tentou."));
    assert!(h.kiosk.tickets().unwrap().tickets.is_empty());
    let form = diagnostics(&h).ticket_form().unwrap();
    assert!(form.error().unwrap().starts_with("Descreva o problema"));
    h.type_into(
        ticket_form::DESCRIPTION_INPUT,
        "o leitor de digital pisca e não lê",
    );
    h.click("Enviar chamado");

    // Queued, listed at once with its mark.
    let list = diagnostics(&h).tickets().expect("a lista de chamados");
    assert!(list.error().is_none(), "{:?}", list.error());
    assert!(h.sees("Leitor não lê"));
    assert!(h.sees(QUEUED_LABEL));
    assert_eq!(list.board().unwrap().waiting, 1);

    // The worker's pass sends it; "Atualizar" shows the central's number and state.
    let pass = h.kiosk.send_tickets().unwrap();
    assert_eq!(pass.sent, 1, "{pass:?}");
    h.click("Atualizar");
    let board = h.kiosk.tickets().unwrap();
    assert_eq!(board.tickets.len(), 1, "{board:?}");
    let ticket = board.tickets[0]
        .ticket
        .clone()
        .expect("listado pela central");
    assert!(ticket.number.starts_with("VST-"));
    assert!(h.sees(&ticket.number));
    assert!(h.sees(&ticket.state_label));
    assert!(!h.sees(QUEUED_LABEL));

    // The conversation: a reply, queued then sent.
    h.click("Leitor não lê");
    h.type_into(tickets::REPLY_INPUT, "troquei o cabo USB e nada");
    h.click("Enviar resposta");
    assert!(h.sees(&format!("troquei o cabo USB e nada — {QUEUED_LABEL}")));
    assert_eq!(h.kiosk.send_tickets().unwrap().sent, 1);
    h.click("Atualizar");
    assert!(h.sees("troquei o cabo USB e nada"));
    assert!(!h.sees(&format!("troquei o cabo USB e nada — {QUEUED_LABEL}")));
}
