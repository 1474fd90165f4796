//! WhatsApp messages through the chatbot, each stored once with its effect and replies.

use super::{Feedback, Helpdesk, ServiceError, attachments_of, fill_body, invalid, title_from};
use crate::chatbot::{self, ChatState, Context, Effect};
use crate::model::{
    Channel, Contact, ContactInput, MessageKind, NewMessage, NewOutbound, NewTicket, OutboundBody,
    Purpose, Side, Status,
};
use crate::stages::{self, Action};
use crate::store::{Change, StoreError, TicketFilter, TicketWrite};
use crate::whatsapp::webhook::{InboundMessage, StatusUpdate};

impl Helpdesk {
    /// The contact of a WhatsApp number, created on the first message so replies have an
    /// address (named after the profile until the person identifies themselves).
    fn whatsapp_contact(&self, m: &InboundMessage) -> Result<Contact, ServiceError> {
        if let Some(c) = self.store.contact_by_phone(&m.from)? {
            return Ok(c);
        }
        let input = ContactInput {
            name: m
                .profile_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("WhatsApp +{}", m.from)),
            phone: Some(m.from.clone()),
            ..ContactInput::default()
        };
        match self.store.add_contact(&input, self.now()) {
            Ok(c) => Ok(c),
            Err(StoreError::AlreadyExists(_)) => self
                .store
                .contact_by_phone(&m.from)?
                .ok_or_else(|| ServiceError::NotFound(format!("contato {}", m.from))),
            Err(e) => Err(e.into()),
        }
    }

    /// A WhatsApp message: the chatbot's step, its effect and replies, stored at once (with the
    /// message id, so Meta sending it again changes nothing).
    pub fn handle_whatsapp(&self, m: &InboundMessage) -> Result<(), ServiceError> {
        if self.store.inbound_seen(&m.id)? {
            return Ok(());
        }
        let mut contact = self.whatsapp_contact(m)?;
        let state: Option<ChatState> = self
            .store
            .chat_state(&m.from)?
            .and_then(|s| serde_json::from_str(&s).ok());
        let open = self
            .store
            .tickets(&TicketFilter {
                contact_id: Some(contact.id),
                statuses: vec![Status::New, Status::Assigned, Status::Solved],
                ..TicketFilter::default()
            })?
            .into_iter()
            .next_back()
            .map(|t| (t.id, t.status));
        let texts = self.texts()?;
        let categories = self.categories()?;
        let identified = contact.email.is_some() && contact.station.is_some();
        let now = self.now();
        let step = chatbot::step(
            state.as_ref(),
            &m.input,
            &Context {
                contact: identified.then_some(&contact),
                open_ticket: open,
                now,
                hours: &self.config.hours,
                texts: &texts,
                categories: &categories,
            },
        );
        if let Some(Effect::SaveContact {
            name,
            email,
            station,
        }) = &step.effect
        {
            contact = self.store.update_contact(
                contact.id,
                &ContactInput {
                    name: name.clone(),
                    email: Some(email.clone()),
                    phone: Some(m.from.clone()),
                    station: Some(station.clone()),
                    glpi_user_id: contact.glpi_user_id,
                },
            )?;
        }
        let chat = Some((
            m.from.clone(),
            step.state
                .as_ref()
                .and_then(|s| serde_json::to_string(s).ok()),
        ));
        let reference = open.map(|(id, _)| id.reference()).unwrap_or_default();
        let replies = |ticket_known: bool| -> Vec<NewOutbound> {
            step.replies
                .iter()
                .map(|r| {
                    let mut body = r.body.clone();
                    if !ticket_known && !reference.is_empty() {
                        body = fill_body(&body, &reference);
                    }
                    NewOutbound {
                        contact_id: contact.id,
                        channel: Channel::WhatsApp,
                        purpose: r.purpose,
                        body,
                        media: None,
                    }
                })
                .collect()
        };
        let base = Change {
            chat: chat.clone(),
            inbound_id: Some(m.id.clone()),
            ..Change::default()
        };
        let result: Result<(), ServiceError> = match &step.effect {
            None | Some(Effect::SaveContact { .. }) => self
                .store
                .commit(
                    &Change {
                        outbound: replies(false),
                        ..base.clone()
                    },
                    now,
                )
                .map(|_| ())
                .map_err(Into::into),
            Some(Effect::OpenTicket {
                category,
                description,
                media,
            }) => 'open: {
                // Into `result`, not `?`: a type removed meanwhile restarts the conversation.
                let cat = match self.category(category) {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        break 'open Err(invalid("categoria", "tipo de chamado desconhecido"));
                    }
                    Err(e) => break 'open Err(e),
                };
                let messages = if media.is_empty() {
                    Vec::new()
                } else {
                    vec![NewMessage {
                        kind: MessageKind::Followup,
                        side: Side::Requester,
                        author: contact.name.clone(),
                        text: String::new(),
                        glpi_id: None,
                        attachments: attachments_of(media),
                    }]
                };
                let change = Change {
                    ticket: Some(TicketWrite::Open(NewTicket {
                        channel: Channel::WhatsApp,
                        contact_id: contact.id,
                        station: contact.station.clone(),
                        category: cat.key.clone(),
                        title: title_from(&cat.title, description),
                        description: description.clone(),
                        urgency: cat.urgency,
                        kind: cat.kind,
                    })),
                    messages,
                    outbound: replies(true),
                    ..base.clone()
                };
                self.store
                    .commit(&change, now)
                    .map(|_| ())
                    .map_err(Into::into)
            }
            Some(Effect::AddMessage {
                ticket,
                text,
                media,
            }) => self
                .change(*ticket, |t, now| {
                    let next = stages::apply(t, &Action::RequesterMessage, now)?;
                    Ok(Some(Change {
                        ticket: Some(TicketWrite::Update(next)),
                        messages: vec![NewMessage {
                            kind: MessageKind::Followup,
                            side: Side::Requester,
                            author: contact.name.clone(),
                            text: text.clone(),
                            glpi_id: None,
                            attachments: attachments_of(media),
                        }],
                        outbound: replies(true),
                        ..base.clone()
                    }))
                })
                .map(|_| ()),
            Some(Effect::Accept { ticket, rating }) => self
                .change(*ticket, |t, now| {
                    let mut change = self.feedback_change(
                        t,
                        &Feedback::Accept {
                            rating: Some(*rating),
                            comment: None,
                        },
                        now,
                    )?;
                    change.outbound = replies(true);
                    change.chat = chat.clone();
                    change.inbound_id = Some(m.id.clone());
                    Ok(Some(change))
                })
                .map(|_| ()),
            Some(Effect::Refuse { ticket, reason }) => self
                .change(*ticket, |t, now| {
                    let mut change = self.feedback_change(
                        t,
                        &Feedback::Refuse {
                            reason: reason.clone(),
                        },
                        now,
                    )?;
                    change.outbound = replies(true);
                    change.chat = chat.clone();
                    change.inbound_id = Some(m.id.clone());
                    Ok(Some(change))
                })
                .map(|_| ()),
        };
        let restart = match &result {
            // The ticket moved on (closed meanwhile).
            Err(ServiceError::Rule(e)) => Some(e.to_string()),
            // An administrator took the chosen type off the menu during the conversation.
            Err(ServiceError::Invalid {
                field: "categoria", ..
            }) => Some("o tipo de chamado escolhido saiu da lista; escolha outro".to_owned()),
            _ => None,
        };
        match result {
            Err(_) if restart.is_some() => {
                // Say so and start over; Meta must not send the message again.
                let motive = restart.unwrap_or_default();
                let text = texts.render("erro_registro", &[("motivo", &motive)]);
                let change = Change {
                    chat: Some((m.from.clone(), None)),
                    inbound_id: Some(m.id.clone()),
                    outbound: vec![NewOutbound {
                        contact_id: contact.id,
                        channel: Channel::WhatsApp,
                        purpose: Purpose::Chat,
                        body: OutboundBody::text(text),
                        media: None,
                    }],
                    ..Change::default()
                };
                self.store.commit(&change, now)?;
                Ok(())
            }
            Err(ServiceError::Store(StoreError::AlreadyExists(_))) => Ok(()),
            other => other,
        }
    }

    /// A delivery report from WhatsApp. Failures are logged for the console's follow-up.
    pub fn whatsapp_status(&self, s: &StatusUpdate) {
        if s.status == "failed" {
            tracing::warn!(id = %s.id, recipient = %s.recipient, errors = ?s.errors, "mensagem do WhatsApp não entregue");
        }
    }
}
