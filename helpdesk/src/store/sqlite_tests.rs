//! Tests of the SQLite store: one transaction per change, the queue's prerequisites, versions.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};

use super::sqlite::SqliteHelpdesk;
use super::{Change, HelpdeskStore, JobOutcome, StoreError, TicketFilter, TicketWrite};
use crate::model::{
    Channel, ContactInput, JobKind, MessageKind, NewAttachment, NewMessage, NewOutbound, NewTicket,
    OutboundBody, Purpose, Side, Status, TicketKind,
};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
        .single()
        .expect("valid")
}

fn open(store: &SqliteHelpdesk) -> crate::model::Ticket {
    let contact = store
        .add_contact(
            &ContactInput {
                name: "Ana Souza".into(),
                phone: Some("5565999990001".into()),
                station: Some("ECV-01".into()),
                ..ContactInput::default()
            },
            now(),
        )
        .unwrap();
    let change = Change {
        ticket: Some(TicketWrite::Open(NewTicket {
            channel: Channel::WhatsApp,
            contact_id: contact.id,
            station: Some("ECV-01".into()),
            category: "camera".into(),
            title: "Câmera".into(),
            description: "Não liga".into(),
            urgency: 3,
            kind: TicketKind::Incident,
        })),
        outbound: vec![NewOutbound {
            contact_id: contact.id,
            channel: Channel::WhatsApp,
            purpose: Purpose::Confirmation,
            body: OutboundBody::text("Chamado {chamado} aberto"),
            media: None,
        }],
        ..Change::default()
    };
    store.commit(&change, now()).unwrap().ticket.unwrap()
}

#[test]
fn opening_queues_glpi_and_the_confirmation_in_one_transaction() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let t = open(&store);
    assert_eq!((t.status, t.version), (Status::New, 1));
    let jobs = store
        .due_jobs(&crate::model::JobKind::ALL, now(), 10)
        .unwrap();
    let kinds: Vec<JobKind> = jobs.iter().map(|j| j.kind).collect();
    assert_eq!(kinds, vec![JobKind::GlpiCreateTicket, JobKind::Deliver]);
    let deliver = &jobs[1];
    store
        .mark_delivered(
            crate::model::OutboundId(deliver.target),
            Some("wamid.1"),
            now(),
        )
        .unwrap();
    let t2 = store.ticket(t.id).unwrap().unwrap();
    assert_eq!(t2.confirmed_at, Some(now()), "intake: confirmation sent");
    assert_eq!(t2.version, 2);
}

#[test]
fn a_stale_copy_is_refused_and_changes_nothing() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let t = open(&store);
    let mut a = t.clone();
    a.technician = Some("ana".into());
    let mut b = t.clone();
    b.technician = Some("bruno".into());
    let msg = |text: &str| NewMessage {
        kind: MessageKind::Followup,
        side: Side::Team,
        author: "x".into(),
        text: text.into(),
        glpi_id: None,
        attachments: vec![],
    };
    store
        .commit(
            &Change {
                ticket: Some(TicketWrite::Update(a)),
                messages: vec![msg("primeira")],
                ..Change::default()
            },
            now(),
        )
        .unwrap();
    let err = store
        .commit(
            &Change {
                ticket: Some(TicketWrite::Update(b)),
                messages: vec![msg("segunda")],
                ..Change::default()
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(t.id));
    let messages = store.messages(t.id).unwrap();
    assert_eq!(messages.len(), 1, "the refused change left nothing behind");
    assert_eq!(
        store.ticket(t.id).unwrap().unwrap().technician.as_deref(),
        Some("ana")
    );
}

#[test]
fn glpi_work_waits_for_the_ticket_and_uploads_wait_for_bytes() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let t = open(&store);
    let change = Change {
        ticket: Some(TicketWrite::Update(t.clone())),
        messages: vec![NewMessage {
            kind: MessageKind::Followup,
            side: Side::Requester,
            author: "Ana".into(),
            text: "foto".into(),
            glpi_id: None,
            attachments: vec![NewAttachment {
                filename: "foto.jpg".into(),
                mime: "image/jpeg".into(),
                bytes: None,
                wa_media_id: Some("media-1".into()),
            }],
        }],
        ..Change::default()
    };
    let done = store.commit(&change, now()).unwrap();
    let kinds = |at| {
        store
            .due_jobs(&JobKind::ALL, at, 20)
            .unwrap()
            .into_iter()
            .map(|j| j.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(now()),
        vec![
            JobKind::GlpiCreateTicket,
            JobKind::Deliver,
            JobKind::FetchMedia
        ],
        "followup and document wait for GLPI's id"
    );
    let mut linked = store.ticket(t.id).unwrap().unwrap();
    linked.glpi_id = Some(90);
    store
        .commit(
            &Change {
                ticket: Some(TicketWrite::Update(linked)),
                ..Change::default()
            },
            now(),
        )
        .unwrap();
    assert!(kinds(now()).contains(&JobKind::GlpiFollowup));
    assert!(
        !kinds(now()).contains(&JobKind::GlpiDocument),
        "no bytes yet"
    );
    let att = store.attachments(t.id).unwrap().remove(0);
    assert_eq!(att.message_id, Some(done.messages[0]));
    store
        .set_attachment_bytes(att.id, "image/jpeg", b"jpeg bytes")
        .unwrap();
    assert!(kinds(now()).contains(&JobKind::GlpiDocument));
    let att = store.attachment(att.id).unwrap().unwrap();
    assert_eq!(att.size, Some(10));
    assert_eq!(
        store.attachment_bytes(att.id).unwrap().unwrap(),
        b"jpeg bytes"
    );
}

#[test]
fn jobs_record_attempts_and_retry_times() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    open(&store);
    let job = store
        .due_jobs(&[JobKind::GlpiCreateTicket], now(), 1)
        .unwrap()
        .remove(0);
    assert_eq!((job.attempts, job.in_flight_since), (0, None));
    store.begin_job(job.id, now()).unwrap();
    let again = store
        .due_jobs(&[JobKind::GlpiCreateTicket], now(), 1)
        .unwrap()
        .remove(0);
    assert_eq!(
        again.in_flight_since,
        Some(now()),
        "an interrupted attempt shows"
    );
    store
        .finish_job(
            job.id,
            &JobOutcome::Retry {
                at: now() + Duration::seconds(30),
                error: "GLPI fora".into(),
            },
        )
        .unwrap();
    assert!(
        store
            .due_jobs(&[JobKind::GlpiCreateTicket], now(), 1)
            .unwrap()
            .is_empty()
    );
    let later = store
        .due_jobs(
            &[JobKind::GlpiCreateTicket],
            now() + Duration::seconds(30),
            1,
        )
        .unwrap()
        .remove(0);
    assert_eq!((later.attempts, later.in_flight_since), (1, None));
    assert_eq!(later.last_error.as_deref(), Some("GLPI fora"));
    store.finish_job(job.id, &JobOutcome::Done).unwrap();
    assert!(
        store
            .pending_jobs(later.ticket_id.unwrap(), &[])
            .unwrap()
            .iter()
            .all(|j| j.kind != JobKind::GlpiCreateTicket)
    );
}

#[test]
fn a_webhook_handled_once_and_contacts_unique_by_phone() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let change = Change {
        chat: Some(("5565".into(), Some("{}".into()))),
        inbound_id: Some("wamid.A".into()),
        ..Change::default()
    };
    store.commit(&change, now()).unwrap();
    assert!(store.inbound_seen("wamid.A").unwrap());
    assert!(matches!(
        store.commit(&change, now()),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.chat_state("5565").unwrap().as_deref(), Some("{}"));
    let input = ContactInput {
        name: "A".into(),
        phone: Some("55".into()),
        ..ContactInput::default()
    };
    let a = store.add_contact(&input, now()).unwrap();
    assert!(matches!(
        store.add_contact(&input, now()),
        Err(StoreError::AlreadyExists(_))
    ));
    store.delete_contact(a.id).unwrap();
    assert!(store.contact_by_phone("55").unwrap().is_none());
    assert!(
        store.contact(a.id).unwrap().unwrap().deleted,
        "kept for its archived tickets"
    );
    store.add_contact(&input, now()).unwrap();
}

#[test]
fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("helpdesk.sqlite");
    let id = {
        let store = SqliteHelpdesk::open(&path).unwrap();
        store.set_text("saudacao", Some("Olá!")).unwrap();
        open(&store).id
    };
    let store = SqliteHelpdesk::open(&path).unwrap();
    assert_eq!(store.ticket(id).unwrap().unwrap().title, "Câmera");
    assert_eq!(
        store.texts().unwrap().get("saudacao").map(String::as_str),
        Some("Olá!")
    );
    let open_tickets = store
        .tickets(&TicketFilter {
            statuses: vec![Status::New],
            in_glpi: Some(false),
            ..TicketFilter::default()
        })
        .unwrap();
    assert_eq!(open_tickets.len(), 1);
}

#[test]
fn a_persons_messages_wait_behind_an_earlier_failed_one() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let t = open(&store);
    let more = Change {
        ticket: Some(TicketWrite::Update(store.ticket(t.id).unwrap().unwrap())),
        outbound: vec![NewOutbound {
            contact_id: t.contact_id,
            channel: Channel::WhatsApp,
            purpose: Purpose::Reply,
            body: OutboundBody::text("segunda"),
            media: None,
        }],
        ..Change::default()
    };
    store.commit(&more, now()).unwrap();
    let deliveries = |at| store.due_jobs(&[JobKind::Deliver], at, 10).unwrap();
    let first = deliveries(now());
    assert_eq!(first.len(), 2, "both due while nothing failed");
    store.begin_job(first[0].id, now()).unwrap();
    store
        .finish_job(
            first[0].id,
            &JobOutcome::Retry {
                at: now() + Duration::seconds(60),
                error: "Meta fora".into(),
            },
        )
        .unwrap();
    assert!(
        deliveries(now()).is_empty(),
        "the second waits behind the failed first"
    );
    let later = deliveries(now() + Duration::seconds(60));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].id, first[0].id);
    store.finish_job(first[0].id, &JobOutcome::Done).unwrap();
    assert_eq!(deliveries(now()).len(), 1);
}

fn kiosk_open(
    store: &SqliteHelpdesk,
    scope: &str,
    client_id: &str,
) -> Result<super::Committed, StoreError> {
    let contact = store.kiosk_contact(scope, "ana", "Ana Souza", now())?;
    let change = Change {
        ticket: Some(TicketWrite::Open(NewTicket {
            channel: Channel::Kiosk,
            contact_id: contact.id,
            station: Some(scope.into()),
            category: "equipamento".into(),
            title: "Impressora".into(),
            description: "Não imprime".into(),
            urgency: 3,
            kind: TicketKind::Incident,
        })),
        request: Some(super::ClientRequest {
            scope: scope.into(),
            client_id: client_id.into(),
            kind: super::RequestKind::Open,
        }),
        ..Change::default()
    };
    store.commit(&change, now())
}

#[test]
fn a_client_request_is_stored_with_its_change_and_never_twice() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let first = kiosk_open(&store, "ECV-01", "u-1").unwrap().ticket.unwrap();
    let recorded = store.client_request("ECV-01", "u-1").unwrap().unwrap();
    assert_eq!(
        (recorded.kind, recorded.ticket_id, recorded.status),
        (super::RequestKind::Open, first.id, Status::New)
    );
    let jobs = store.pending_jobs(first.id, &[]).unwrap().len();
    // The same request again: refused whole, nothing of it stored.
    assert!(matches!(
        kiosk_open(&store, "ECV-01", "u-1"),
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.tickets(&TicketFilter::default()).unwrap().len(), 1);
    assert_eq!(store.pending_jobs(first.id, &[]).unwrap().len(), jobs);
    // Another station's ids are its own.
    let other = kiosk_open(&store, "ECV-02", "u-1").unwrap().ticket.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(store.client_request("ECV-01", "u-2").unwrap(), None);
    assert_eq!(
        store.opened_by("ECV-01").unwrap(),
        std::collections::BTreeMap::from([(first.id, "u-1".to_owned())])
    );
}

#[test]
fn a_kiosk_login_is_one_contact_per_station() {
    let store = SqliteHelpdesk::in_memory().unwrap();
    let ana = store
        .kiosk_contact("ECV-01", "ana", "Ana Souza", now())
        .unwrap();
    assert_eq!(
        (ana.name.as_str(), ana.station.as_deref()),
        ("Ana Souza", Some("ECV-01"))
    );
    let again = store
        .kiosk_contact("ECV-01", "ana", "Ana Souza Lima", now())
        .unwrap();
    assert_eq!(again.id, ana.id);
    assert_eq!(
        again.name, "Ana Souza Lima",
        "the station's name is kept current"
    );
    let elsewhere = store
        .kiosk_contact("ECV-02", "ana", "Ana Costa", now())
        .unwrap();
    assert_ne!(elsewhere.id, ana.id);
    // Deleted in the console: the next ticket gets a new contact, the old one stays archived.
    store.delete_contact(ana.id).unwrap();
    let new = store
        .kiosk_contact("ECV-01", "ana", "Ana Souza Lima", now())
        .unwrap();
    assert_ne!(new.id, ana.id);
    assert!(store.contact(ana.id).unwrap().unwrap().deleted);
}
