//! The menu of ticket types edited by an administrator: stored, validated as the configuration
//! is, and used by the chatbot and by ticket opening instead of the configuration's list.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{Helpdesk, OpenRequest, Role, ServiceError, Staff};
use crate::chatbot::Input;
use crate::config::{Category, HelpdeskConfig};
use crate::model::{Channel, ContactInput, OutboundBody, TicketKind};
use crate::store::sqlite::SqliteHelpdesk;
use crate::whatsapp::webhook::InboundMessage;

fn helpdesk() -> Helpdesk {
    let store = SqliteHelpdesk::in_memory().unwrap();
    // Monday 2 March 2026, 10:00 in Cuiabá: within the default business hours.
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).single().unwrap();
    Helpdesk::new(Arc::new(store), HelpdeskConfig::default()).with_clock(Arc::new(move || now))
}

fn staff(role: Role) -> Staff {
    Staff {
        login: "ana".into(),
        name: "Ana".into(),
        role,
    }
}

fn entry(key: &str, title: &str, kind: TicketKind, urgency: u8) -> Category {
    Category {
        key: key.into(),
        title: title.into(),
        kind,
        urgency,
        glpi_category_id: None,
    }
}

fn edited_menu() -> Vec<Category> {
    vec![
        Category {
            glpi_category_id: Some(31),
            ..entry("balanca", "Balança de frenagem", TicketKind::Incident, 5)
        },
        entry("duvida", "Dúvida de uso", TicketKind::Request, 2),
    ]
}

#[test]
fn the_configuration_is_the_menu_until_an_administrator_edits_it() {
    let h = helpdesk();
    assert_eq!(h.categories().unwrap(), h.config().categories);
    h.set_categories(&staff(Role::Administrator), &edited_menu())
        .unwrap();
    assert_eq!(h.categories().unwrap(), edited_menu());
    assert_eq!(
        h.category("balanca").unwrap().unwrap().glpi_category_id,
        Some(31)
    );
    // Removed from the menu: no longer offered.
    assert_eq!(h.category("equipamento").unwrap(), None);
}

#[test]
fn a_technician_cannot_edit_the_menu() {
    let h = helpdesk();
    let err = h
        .set_categories(&staff(Role::Technician), &edited_menu())
        .unwrap_err();
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err:?}");
    assert_eq!(h.categories().unwrap(), h.config().categories);
}

#[test]
fn a_bad_menu_is_refused_naming_the_field_and_nothing_changes() {
    let h = helpdesk();
    let admin = staff(Role::Administrator);
    let cases: Vec<(Vec<Category>, &str)> = vec![
        (Vec::new(), "informe ao menos um tipo de chamado"),
        (
            vec![entry(" ", "Sem chave", TicketKind::Request, 3)],
            "categories[0].key: obrigatória",
        ),
        (
            vec![
                entry("a", "Primeiro", TicketKind::Request, 3),
                entry("a", "Segundo", TicketKind::Request, 3),
            ],
            "categories[1].key: 'a' repetida",
        ),
        (
            vec![entry(
                "longo",
                "Um título longo demais para o WhatsApp",
                TicketKind::Request,
                3,
            )],
            "categories[0].title: de 1 a 24 caracteres",
        ),
        (
            vec![entry("urgente", "Urgente", TicketKind::Incident, 6)],
            "categories[0].urgency: de 1 a 5",
        ),
    ];
    for (menu, expected) in cases {
        match h.set_categories(&admin, &menu) {
            Err(ServiceError::Invalid { message, .. }) => {
                assert!(message.contains(expected), "{message} / {expected}")
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
    assert_eq!(h.categories().unwrap(), h.config().categories);
}

#[test]
fn opening_uses_the_edited_menu_and_old_tickets_keep_their_key() {
    let h = helpdesk();
    let contact = h
        .add_contact(&ContactInput {
            name: "Maria".into(),
            email: Some("maria@ecv.example".into()),
            station: Some("ECV-MT-0001".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let request = |category: &str| OpenRequest {
        channel: Channel::Web,
        contact_id: contact.id,
        station: None,
        category: category.into(),
        title: None,
        description: "A câmera não liga desde cedo".into(),
        attachments: Vec::new(),
    };
    let old = h.open_ticket(request("equipamento")).unwrap();
    h.set_categories(&staff(Role::Administrator), &edited_menu())
        .unwrap();
    let err = h.open_ticket(request("equipamento")).unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::Invalid {
                field: "categoria",
                ..
            }
        ),
        "{err:?}"
    );
    let t = h.open_ticket(request("balanca")).unwrap();
    assert_eq!((t.urgency, t.kind), (5, TicketKind::Incident));
    assert!(t.title.starts_with("Balança de frenagem: "), "{}", t.title);
    // The ticket of a removed type stays readable with its key.
    assert_eq!(
        h.ticket_view(old.id).unwrap().ticket.category,
        "equipamento"
    );
}

#[test]
fn the_chatbot_offers_and_opens_the_edited_menu() {
    let h = helpdesk();
    h.set_categories(&staff(Role::Administrator), &edited_menu())
        .unwrap();
    let contact = h
        .add_contact(&ContactInput {
            name: "João".into(),
            email: Some("joao@ecv.example".into()),
            phone: Some("5565999990000".into()),
            station: Some("ECV-MT-0001".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let send = |n: u32, input: Input| {
        h.handle_whatsapp(&InboundMessage {
            phone_number_id: "1".into(),
            from: "5565999990000".into(),
            profile_name: None,
            id: format!("wamid.{n}"),
            timestamp: 0,
            input,
        })
        .unwrap()
    };
    send(1, Input::Text("oi".into()));
    let sent = h.store().outbound_for_contact(contact.id).unwrap();
    let rows: Vec<String> = sent
        .iter()
        .find_map(|o| match &o.body {
            OutboundBody::List { choices, .. } => {
                Some(choices.iter().map(|c| c.title.clone()).collect())
            }
            _ => None,
        })
        .expect("the menu was sent");
    assert_eq!(rows, ["Balança de frenagem", "Dúvida de uso"]);
    send(
        2,
        Input::Choice {
            id: "cat:balanca".into(),
            title: "Balança de frenagem".into(),
        },
    );
    send(3, Input::Text("A balança não zera".into()));
    send(4, Input::Text("pronto".into()));
    let tickets = h.tickets(&crate::store::TicketFilter::default()).unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].category, "balanca");
    assert_eq!(
        (tickets[0].urgency, tickets[0].kind),
        (5, TicketKind::Incident)
    );
}

#[test]
fn a_type_removed_during_a_conversation_starts_it_over() {
    let h = helpdesk();
    let admin = staff(Role::Administrator);
    h.set_categories(&admin, &edited_menu()).unwrap();
    let contact = h
        .add_contact(&ContactInput {
            name: "João".into(),
            email: Some("joao@ecv.example".into()),
            phone: Some("5565999990000".into()),
            station: Some("ECV-MT-0001".into()),
            ..ContactInput::default()
        })
        .unwrap();
    let send = |n: u32, input: Input| {
        h.handle_whatsapp(&InboundMessage {
            phone_number_id: "1".into(),
            from: "5565999990000".into(),
            profile_name: None,
            id: format!("wamid.{n}"),
            timestamp: 0,
            input,
        })
    };
    send(1, Input::Text("oi".into())).unwrap();
    send(
        2,
        Input::Choice {
            id: "cat:balanca".into(),
            title: "Balança de frenagem".into(),
        },
    )
    .unwrap();
    send(3, Input::Text("A balança não zera".into())).unwrap();
    h.set_categories(&admin, &edited_menu()[1..]).unwrap();
    // Handled (Meta must not send it again), no ticket, the person is told and starts over.
    send(4, Input::Text("pronto".into())).unwrap();
    assert!(
        h.tickets(&crate::store::TicketFilter::default())
            .unwrap()
            .is_empty()
    );
    let last = h.store().outbound_for_contact(contact.id).unwrap();
    let text = last.last().unwrap().body.display_text().to_owned();
    assert!(text.contains("saiu da lista"), "{text}");
    assert_eq!(h.store().chat_state("5565999990000").unwrap(), None);
}

#[test]
fn the_edited_menu_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("helpdesk.sqlite");
    let open = || {
        Helpdesk::new(
            Arc::new(SqliteHelpdesk::open(&path).unwrap()),
            HelpdeskConfig::default(),
        )
    };
    open()
        .set_categories(&staff(Role::Administrator), &edited_menu())
        .unwrap();
    assert_eq!(open().categories().unwrap(), edited_menu());
}
