//! The chatbot's conversations, message by message.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::config::default_categories;
use crate::model::ContactId;

struct Talk {
    state: Option<ChatState>,
    contact: Option<Contact>,
    open: Option<(TicketId, Status)>,
    now: DateTime<Utc>,
    hours: BusinessHours,
    texts: Texts,
    categories: Vec<Category>,
}

/// Monday 2 March 2026 at `h`:`m` in Cuiabá (UTC−4).
fn cuiaba(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h + 4, m, 0)
        .single()
        .unwrap()
}

impl Talk {
    fn new(now: DateTime<Utc>) -> Talk {
        Talk {
            state: None,
            contact: None,
            open: None,
            now,
            hours: BusinessHours::default(),
            texts: Texts::new(BTreeMap::new()),
            categories: default_categories(),
        }
    }

    fn send(&mut self, input: Input) -> (Vec<Reply>, Option<Effect>) {
        let ctx = Context {
            contact: self.contact.as_ref(),
            open_ticket: self.open,
            now: self.now,
            hours: &self.hours,
            texts: &self.texts,
            categories: &self.categories,
        };
        let step = step(self.state.as_ref(), &input, &ctx);
        self.state = step.state;
        (step.replies, step.effect)
    }

    fn say(&mut self, text: &str) -> (Vec<String>, Option<Effect>) {
        let (replies, effect) = self.send(Input::Text(text.into()));
        (
            replies
                .iter()
                .map(|r| r.body.display_text().to_owned())
                .collect(),
            effect,
        )
    }
}

fn contact() -> Contact {
    Contact {
        id: ContactId(1),
        name: "Ana Paula Souza".into(),
        email: Some("ana@ecv.com.br".into()),
        phone: Some("5565999990001".into()),
        station: Some("ECV-MT-0001".into()),
        glpi_user_id: None,
        deleted: false,
        created_at: cuiaba(8, 0),
    }
}

fn photo(caption: Option<&str>) -> MediaIn {
    MediaIn {
        kind: MediaKind::Image,
        media_id: "1234".into(),
        mime: "image/jpeg".into(),
        filename: None,
        caption: caption.map(str::to_owned),
    }
}

#[test]
fn a_newcomer_is_identified_then_opens_a_ticket_with_a_photo() {
    let mut t = Talk::new(cuiaba(9, 0));
    let (replies, _) = t.say("oi");
    assert_eq!(
        replies.len(),
        2,
        "welcome and the name question, no out-of-hours notice at 9:00"
    );
    assert!(replies[1].contains("nome completo"));
    let (replies, _) = t.say("a");
    assert!(
        replies[0].contains("nome completo"),
        "too short a name is asked again"
    );
    t.say("Ana Paula Souza");
    let (replies, _) = t.say("ana@ecv");
    assert!(replies[0].contains("Não reconheci"));
    let (replies, _) = t.say("Ana@ECV.com.br");
    assert!(replies[0].contains("estação"));
    let (replies, effect) = t.send(Input::Text("ecv mt 1".into()));
    assert!(effect.is_none() && replies[0].body.display_text().contains("inválido"));
    let (replies, effect) = t.send(Input::Text("ecv-mt-0001".into()));
    assert_eq!(
        effect,
        Some(Effect::SaveContact {
            name: "Ana Paula Souza".into(),
            email: "ana@ecv.com.br".into(),
            station: "ECV-MT-0001".into()
        })
    );
    let OutboundBody::List { choices, text, .. } = &replies[0].body else {
        panic!("menu is a list")
    };
    assert_eq!(choices.len(), 6);
    assert!(
        text.contains("1. Equipamento da estação"),
        "numbers for typing: {text}"
    );
    let (replies, _) = t.say("9");
    assert!(replies[0].contains("Não entendi"));
    let (_, _) = t.send(Input::Choice {
        id: "cat:equipamento".into(),
        title: "Equipamento da estação".into(),
    });
    assert!(
        matches!(t.state, Some(ChatState::AskDescription { ref category, .. }) if category == "equipamento")
    );
    let (replies, _) = t.say("A câmera traseira não liga desde ontem");
    assert!(replies[0].contains("fotos"));
    let (replies, _) = t.send(Input::Media(photo(Some("câmera apagada"))));
    let OutboundBody::Buttons { choices, .. } = &replies[0].body else {
        panic!("buttons")
    };
    assert_eq!(choices[0].id, choice::OPEN);
    let (replies, effect) = t.send(Input::Choice {
        id: choice::OPEN.into(),
        title: "Abrir chamado".into(),
    });
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].purpose, Purpose::Confirmation);
    assert!(replies[0].body.display_text().contains("{chamado}"));
    assert_eq!(
        effect,
        Some(Effect::OpenTicket {
            category: "equipamento".into(),
            description: "A câmera traseira não liga desde ontem\ncâmera apagada".into(),
            media: vec![photo(Some("câmera apagada"))],
        })
    );
    assert_eq!(t.state, None);
}

#[test]
fn out_of_hours_it_says_when_the_team_is_back_and_still_takes_the_ticket() {
    let mut t = Talk::new(cuiaba(11, 30));
    t.contact = Some(contact());
    let (replies, _) = t.say("bom dia");
    assert!(replies[0].starts_with("Olá, Ana!"));
    assert!(
        replies[1].contains("das 07:00 às 11:00 e das 13:00 às 17:00")
            && replies[1].contains("hoje às 13:00"),
        "{}",
        replies[1]
    );
    t.say("2");
    let (replies, _) = t.send(Input::Media(photo(None)));
    assert!(
        replies[0].body.display_text().contains("Descreva"),
        "a photo alone still needs a description"
    );
    t.say("Tela de assinatura travou com erro 500");
    let (replies, effect) = t.say("abrir");
    assert!(matches!(effect, Some(Effect::OpenTicket { ref media, .. }) if media.len() == 1));
    assert_eq!(replies.len(), 2);
    assert!(replies[1].contains("retorna hoje às 13:00"));
    t.now = cuiaba(18, 0);
    t.state = None;
    let (replies, _) = t.say("menu");
    assert!(replies[1].contains("amanhã às 07:00"));
}

#[test]
fn a_contact_with_an_open_ticket_talks_to_it() {
    let mut t = Talk::new(cuiaba(9, 0));
    t.contact = Some(contact());
    t.open = Some((TicketId(42), Status::Assigned));
    let (replies, effect) = t.say("Já reiniciei e continua");
    assert!(replies.is_empty());
    assert_eq!(
        effect,
        Some(Effect::AddMessage {
            ticket: TicketId(42),
            text: "Já reiniciei e continua".into(),
            media: vec![]
        })
    );
    let (_, effect) = t.send(Input::Media(photo(None)));
    assert!(matches!(effect, Some(Effect::AddMessage { ref media, .. }) if media.len() == 1));
    let (replies, effect) = t.say("novo chamado");
    assert!(
        effect.is_none() && t.state == Some(ChatState::Menu),
        "{replies:?}"
    );
}

#[test]
fn a_solution_is_accepted_with_a_rating_or_refused_with_a_reason() {
    let mut t = Talk::new(cuiaba(9, 0));
    t.contact = Some(contact());
    t.open = Some((TicketId(42), Status::Solved));
    let (replies, _) = t.say("hmm");
    assert!(replies[0].contains("foi resolvido"));
    t.send(Input::Choice {
        id: choice::YES.into(),
        title: "Sim, resolvido".into(),
    });
    let (replies, _) = t.say("10");
    assert!(replies[0].contains("1 a 5"));
    let (_, effect) = t.say("5");
    assert_eq!(
        effect,
        Some(Effect::Accept {
            ticket: TicketId(42),
            rating: 5
        })
    );

    let mut t = Talk::new(cuiaba(9, 0));
    t.contact = Some(contact());
    t.open = Some((TicketId(42), Status::Solved));
    t.say("não");
    let (replies, effect) = t.say("A câmera voltou a apagar");
    assert_eq!(
        effect,
        Some(Effect::Refuse {
            ticket: TicketId(42),
            reason: "A câmera voltou a apagar".into()
        })
    );
    assert!(replies[0].contains("reaberto"));
}

#[test]
fn cancel_unsupported_and_edited_texts() {
    let mut t = Talk::new(cuiaba(9, 0));
    t.texts = Texts::new(BTreeMap::from([(
        "pedir_nome".to_owned(),
        "Como você se chama?".to_owned(),
    )]));
    let (replies, _) = t.say("oi");
    assert_eq!(replies[1], "Como você se chama?");
    let (replies, effect) = t.send(Input::Unsupported);
    assert!(replies[0].body.display_text().contains("tipo de mensagem") && effect.is_none());
    assert_eq!(
        t.state,
        Some(ChatState::AskName),
        "unsupported input keeps the state"
    );
    let (replies, _) = t.say("Cancelar");
    assert!(replies[0].contains("nada foi registrado"));
    assert_eq!(t.state, None);
}
