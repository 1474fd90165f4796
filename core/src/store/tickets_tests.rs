#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::tickets::{StationTicket, TicketCategory};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 14, 0, 0).unwrap()
}

fn open_request(id: Uuid) -> NewTicketRequest<'static> {
    NewTicketRequest {
        client_id: id,
        kind: TicketRequestKind::Open,
        target: None,
        login: "tecnico",
        summary: "Câmera não liga",
        body: r#"{"client_id":"x","category":"hardware"}"#,
    }
}

#[test]
fn a_queued_request_survives_reopening_the_store_with_its_body_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let (open, reply) = (Uuid::new_v4(), Uuid::new_v4());
    {
        let mut store = Store::open(dir.path()).unwrap().0;
        store
            .queue_ticket_request(&open_request(open), now())
            .unwrap();
        let new = NewTicketRequest {
            client_id: reply,
            kind: TicketRequestKind::Reply,
            target: Some(TicketTarget::Queued(open)),
            login: "tecnico",
            summary: "segue a foto",
            body: r#"{"text":"segue a foto"}"#,
        };
        let queued = store.queue_ticket_request(&new, now()).unwrap();
        // Its ticket has no id yet: it waits for the open.
        assert_eq!(queued.ticket_id, None);
        assert_eq!(queued.ticket_client_id, Some(open));
        // No close: as a power cut would leave it.
        drop(store);
    }
    let store = Store::open(dir.path()).unwrap().0;
    let queue = store.ticket_requests().unwrap();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[0].client_id, open);
    assert_eq!(queue[0].kind, TicketRequestKind::Open);
    assert_eq!(queue[0].state, TicketQueueState::Pending);
    assert_eq!(queue[0].summary, "Câmera não liga");
    assert_eq!(queue[1].client_id, reply);
    assert!(queue[0].seq < queue[1].seq);
    assert_eq!(
        store.ticket_request_body(open).unwrap().as_deref(),
        Some(r#"{"client_id":"x","category":"hardware"}"#)
    );
}

#[test]
fn the_same_client_id_is_queued_once_and_cannot_be_reused_for_another_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap().0;
    let id = Uuid::new_v4();
    let first = store
        .queue_ticket_request(&open_request(id), now())
        .unwrap();
    let again = store
        .queue_ticket_request(&open_request(id), now() + Duration::seconds(5))
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(store.ticket_requests().unwrap().len(), 1);
    let other = NewTicketRequest {
        kind: TicketRequestKind::Reply,
        target: Some(TicketTarget::Central(7)),
        ..open_request(id)
    };
    assert!(matches!(
        store.queue_ticket_request(&other, now()),
        Err(StoreError::Invalid(_))
    ));
    // A reply needs its ticket; an open has none.
    let orphan = NewTicketRequest {
        client_id: Uuid::new_v4(),
        kind: TicketRequestKind::Feedback,
        target: None,
        ..open_request(id)
    };
    assert!(store.queue_ticket_request(&orphan, now()).is_err());
    let unknown = NewTicketRequest {
        client_id: Uuid::new_v4(),
        kind: TicketRequestKind::Reply,
        target: Some(TicketTarget::Queued(Uuid::new_v4())),
        ..open_request(id)
    };
    assert!(store.queue_ticket_request(&unknown, now()).is_err());
}

#[test]
fn only_a_refused_request_is_discarded_and_its_waiting_replies_go_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap().0;
    let (open, reply) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .queue_ticket_request(&open_request(open), now())
        .unwrap();
    let new = NewTicketRequest {
        client_id: reply,
        kind: TicketRequestKind::Reply,
        target: Some(TicketTarget::Queued(open)),
        ..open_request(open)
    };
    store.queue_ticket_request(&new, now()).unwrap();
    // Still able to reach the central: kept.
    assert!(store.discard_ticket_request(open).is_err());
    let mut refused = store.ticket_request(open).unwrap().unwrap();
    refused.state = TicketQueueState::Failed;
    refused.attempts = 1;
    refused.last_error = Some("Informe a categoria do chamado".to_owned());
    store.update_ticket_request(&refused).unwrap();
    assert_eq!(
        store.ticket_request(open).unwrap().unwrap().last_error,
        refused.last_error
    );
    assert_eq!(store.discard_ticket_request(open).unwrap(), 2);
    assert!(store.ticket_requests().unwrap().is_empty());
}

#[test]
fn the_last_listing_is_kept_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let listing = StationTickets {
        categories: vec![TicketCategory {
            key: "hardware".to_owned(),
            title: "Equipamento".to_owned(),
        }],
        tickets: vec![StationTicket {
            ticket_id: 3,
            number: "VST-000003".to_owned(),
            client_id: None,
            category: "hardware".to_owned(),
            title: "Leitor".to_owned(),
            state: "new".to_owned(),
            state_label: "Novo".to_owned(),
            opened_at: now(),
            updated_at: now(),
            messages: Vec::new(),
            solution: None,
            awaiting_feedback: false,
            rating: None,
        }],
    };
    {
        let mut store = Store::open(dir.path()).unwrap().0;
        assert_eq!(store.ticket_listing().unwrap(), None);
        store.save_ticket_listing(&listing, now()).unwrap();
        store.close().unwrap();
    }
    let store = Store::open(dir.path()).unwrap().0;
    assert_eq!(store.ticket_listing().unwrap(), Some((listing, now())));
}
