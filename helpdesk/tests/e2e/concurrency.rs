//! Five technicians answering different tickets at once (seed 003: "no mínimo, 5 técnicos
//! logados simultaneamente"), the requester writing too and the sync running meanwhile: nothing
//! lost, nothing doubled, in our store or in GLPI.

use vistoria_helpdesk::model::{MessageKind, Side, Status, TicketId};
use vistoria_helpdesk::service::ServiceError;
use vistoria_helpdesk::stages::TransitionError;

use crate::harness::{harness, technician};

const REPLIES: usize = 10;
const REQUESTER_MESSAGES: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_technicians_answer_at_once_and_nothing_is_lost_or_doubled() {
    let h = harness().await;
    let ana = h.staff_contact("Ana Paula Souza");
    let tickets: Vec<TicketId> = (0..5)
        .map(|i| {
            h.open_from_kiosk(&ana, &format!("Problema número {i} na estação"), vec![])
                .id
        })
        .collect();
    let disputed = h
        .open_from_kiosk(&ana, "Chamado que todos querem", vec![])
        .id;

    let mut threads = Vec::new();
    for (i, id) in tickets.iter().copied().enumerate() {
        let helpdesk = h.helpdesk.clone();
        threads.push(std::thread::spawn(move || {
            let me = technician(&format!("tecnico{i}"));
            helpdesk.assign(&me, id, &me.login).unwrap();
            for n in 0..REPLIES {
                helpdesk
                    .reply(&me, id, &format!("Resposta {n} de {}", me.login), vec![])
                    .unwrap();
            }
            let took = match helpdesk.assign(&me, disputed, &me.login) {
                Ok(_) => true,
                Err(ServiceError::Rule(TransitionError::AssignedToOther(_))) => false,
                Err(e) => panic!("{e}"),
            };
            helpdesk
                .solve(&me, id, &format!("Resolvido por {}", me.login))
                .unwrap();
            took
        }));
    }
    let requester = {
        let helpdesk = h.helpdesk.clone();
        let tickets = tickets.clone();
        std::thread::spawn(move || {
            for n in 0..REQUESTER_MESSAGES {
                for id in &tickets {
                    // A ticket solved meanwhile still takes the requester's words.
                    helpdesk
                        .requester_message(*id, &format!("Complemento {n}"), vec![])
                        .unwrap();
                }
            }
            false
        })
    };
    // The sync runs while they work.
    while !threads.iter().all(|t| t.is_finished()) || !requester.is_finished() {
        h.workers.run_once().await.unwrap();
        h.workers.poll_glpi().await.unwrap();
    }
    let took: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(!requester.join().unwrap());
    assert_eq!(
        took.iter().filter(|t| **t).count(),
        1,
        "one technician got the disputed ticket"
    );
    h.settle_and_poll().await;
    h.settle_and_poll().await;

    assert_eq!(h.glpi.items("Ticket").len(), 6, "every ticket once in GLPI");
    for (i, id) in tickets.iter().enumerate() {
        let view = h.helpdesk.ticket_view(*id).unwrap();
        assert_eq!(view.ticket.status, Status::Solved);
        assert_eq!(view.ticket.technician, Some(format!("tecnico{i}")));
        let team = view
            .messages
            .iter()
            .filter(|m| m.side == Side::Team && m.kind == MessageKind::Followup)
            .count();
        let theirs = view
            .messages
            .iter()
            .filter(|m| m.side == Side::Requester)
            .count();
        assert_eq!(
            (team, theirs),
            (REPLIES, REQUESTER_MESSAGES),
            "nothing lost or doubled in our store"
        );
        assert!(view.messages.iter().all(|m| m.glpi_id.is_some()));
        let glpi_id = view.ticket.glpi_id.unwrap();
        assert_eq!(
            h.glpi_children("ITILFollowup", glpi_id).len(),
            REPLIES + REQUESTER_MESSAGES,
            "nothing doubled in GLPI"
        );
        assert_eq!(h.glpi_children("ITILSolution", glpi_id).len(), 1);
        let replies = view
            .outbound
            .iter()
            .filter(|o| o.body.display_text().contains("Resposta "))
            .count();
        assert_eq!(replies, REPLIES, "each answer reached the kiosk once");
        assert!(view.outbound.iter().all(|o| o.delivered_at.is_some()));
    }
    let report = h.helpdesk.report().unwrap();
    assert_eq!(
        report
            .by_technician
            .iter()
            .filter(|r| r.key.starts_with("tecnico"))
            .map(|r| r.tickets)
            .sum::<usize>(),
        6
    );
}
