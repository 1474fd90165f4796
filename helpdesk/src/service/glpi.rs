//! What the GLPI sync records: GLPI's ids and the changes made there.

use super::{GlpiObservation, Helpdesk, ServiceError};
use crate::model::{
    MessageId, MessageKind, NewMessage, OutboundBody, Purpose, Side, Status, Ticket, TicketId,
};
use crate::stages::{self, Action};
use crate::store::{Change, TicketWrite};

impl Helpdesk {
    /// Records GLPI's id of a ticket (never a second one).
    pub fn glpi_linked(&self, id: TicketId, glpi_id: i64) -> Result<Ticket, ServiceError> {
        self.changed(id, |t, now| {
            let next = stages::apply(t, &Action::GlpiLinked { glpi_id }, now)?;
            Ok(Change {
                ticket: Some(TicketWrite::Update(next)),
                ..Change::default()
            })
        })
    }

    /// Reflects what was done in GLPI: followups and a solution made there reach the requester,
    /// status changes move our stages.
    pub fn glpi_observed(&self, id: TicketId, obs: &GlpiObservation) -> Result<(), ServiceError> {
        let texts = self.texts()?;
        self.change(id, |t, now| {
            if t.status == Status::Closed {
                return Ok(None);
            }
            let mut next = t.clone();
            let mut messages = Vec::new();
            let mut outbound = Vec::new();
            for f in &obs.followups {
                next = stages::apply(&next, &Action::TeamMessage { technician: None }, now)?;
                messages.push(NewMessage {
                    kind: MessageKind::Followup,
                    side: Side::Team,
                    author: f.author.clone(),
                    text: f.text.clone(),
                    glpi_id: Some(f.glpi_id),
                    attachments: Vec::new(),
                });
                let body = texts.render(
                    "resposta_equipe",
                    &[("autor", &f.author), ("texto", &f.text)],
                );
                outbound.push(Self::notify(t, Purpose::Reply, OutboundBody::text(body)));
            }
            if let Some(s) = &obs.solution
                && next.status != Status::Solved
            {
                next = stages::apply(&next, &Action::Solve { technician: None }, now)?;
                messages.push(NewMessage {
                    kind: MessageKind::Solution,
                    side: Side::Team,
                    author: s.author.clone(),
                    text: s.text.clone(),
                    glpi_id: Some(s.glpi_id),
                    attachments: Vec::new(),
                });
                outbound.push(Self::solution_request(
                    &texts,
                    t,
                    &s.text,
                    Purpose::FeedbackRequest,
                ));
            }
            let before = next.status;
            next = stages::apply(&next, &Action::GlpiStatus { status: obs.status }, now)?;
            match (before, next.status) {
                (Status::New, Status::Assigned) => {
                    let text =
                        texts.render("em_atendimento", &[("tecnico", "a equipe de suporte")]);
                    outbound.push(Self::notify(t, Purpose::Notice, OutboundBody::text(text)));
                }
                (Status::Solved, Status::Assigned) => {
                    outbound.push(Self::notify(
                        t,
                        Purpose::Notice,
                        OutboundBody::text(texts.get("reaberto")),
                    ));
                }
                (_, Status::Closed) if before != Status::Closed => {
                    outbound.push(Self::notify(
                        t,
                        Purpose::Notice,
                        OutboundBody::text(texts.get("fechado")),
                    ));
                }
                _ => {}
            }
            if next == *t && messages.is_empty() {
                return Ok(None);
            }
            Ok(Some(Change {
                ticket: Some(TicketWrite::Update(next)),
                messages,
                outbound,
                ..Change::default()
            }))
        })?;
        Ok(())
    }

    /// Records the GLPI id of a message we pushed.
    pub fn message_in_glpi(&self, id: MessageId, glpi_id: i64) -> Result<(), ServiceError> {
        Ok(self.store.set_message_glpi_id(id, glpi_id)?)
    }
}
