//! The stations' kiosks as requesters (issue 23, items 2k and 2n): each person who logs in at a
//! station is a contact of that station, and every write carries an id the kiosk chose and kept
//! in its outbox. The id is recorded in the same transaction as the change, so a request sent
//! again after a lost answer (or twice at once) changes nothing and answers as the first did.

use super::{Feedback, Helpdesk, OpenRequest, ServiceError, TicketView, invalid};
use crate::model::{Channel, Contact, NewAttachment, Status, Ticket, TicketId};
use crate::store::{ClientRequest, RecordedRequest, RequestKind, StoreError, TicketFilter};

/// What a kiosk's request did, the first time or when sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskAnswer {
    /// The ticket opened or changed.
    pub ticket_id: TicketId,
    /// Its status right after the (first) request.
    pub status: Status,
    /// `false` when the request had been done before: nothing changed now.
    pub first: bool,
}

impl KioskAnswer {
    fn of(ticket: &Ticket) -> KioskAnswer {
        KioskAnswer {
            ticket_id: ticket.id,
            status: ticket.status,
            first: true,
        }
    }
}

/// The longest station code, login or client id taken (they are stored and shown).
const MAX_KEY_CHARS: usize = 120;

fn key(field: &'static str, value: &str, what: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_KEY_CHARS {
        return Err(invalid(
            field,
            &format!("informe {what} (até {MAX_KEY_CHARS} caracteres)"),
        ));
    }
    Ok(value.to_owned())
}

impl Helpdesk {
    /// The contact of `login` at `station`, created the first time (name kept current).
    pub fn kiosk_contact(
        &self,
        station: &str,
        login: &str,
        name: &str,
    ) -> Result<Contact, ServiceError> {
        let station = key("estação", station, "o código da estação")?;
        let login = key("requester.login", login, "o login de quem pede")?;
        let name = name.trim();
        if name.chars().count() < 2 {
            return Err(invalid("requester.name", "informe o nome de quem pede"));
        }
        Ok(self
            .store
            .kiosk_contact(&station, &login, name, self.now())?)
    }

    /// Runs `f` once per `(station, client_id)`: a request already done answers what it did.
    /// The same id used for another kind of request, or another ticket, is refused.
    fn once(
        &self,
        station: &str,
        client_id: &str,
        kind: RequestKind,
        ticket: Option<TicketId>,
        f: impl FnOnce(ClientRequest) -> Result<Ticket, ServiceError>,
    ) -> Result<KioskAnswer, ServiceError> {
        let station = key("estação", station, "o código da estação")?;
        let client_id = key("client_id", client_id, "o identificador do pedido")?;
        let repeated = |rec: RecordedRequest| {
            if rec.kind != kind || ticket.is_some_and(|t| t != rec.ticket_id) {
                return Err(invalid(
                    "client_id",
                    "este identificador já foi usado em outro pedido da estação; gere um novo",
                ));
            }
            Ok(KioskAnswer {
                ticket_id: rec.ticket_id,
                status: rec.status,
                first: false,
            })
        };
        if let Some(rec) = self.store.client_request(&station, &client_id)? {
            return repeated(rec);
        }
        let request = ClientRequest {
            scope: station.clone(),
            client_id: client_id.clone(),
            kind,
        };
        match f(request) {
            Ok(t) => Ok(KioskAnswer::of(&t)),
            // The same request ran at the same time and stored first.
            Err(ServiceError::Store(StoreError::AlreadyExists(what))) => {
                match self.store.client_request(&station, &client_id)? {
                    Some(rec) => repeated(rec),
                    None => Err(StoreError::AlreadyExists(what).into()),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a ticket from `station`'s kiosk once per `client_id`.
    pub fn kiosk_open(
        &self,
        station: &str,
        client_id: &str,
        req: OpenRequest,
    ) -> Result<KioskAnswer, ServiceError> {
        if req.channel != Channel::Kiosk {
            return Err(invalid("canal", "pedido de estação sem o canal da estação"));
        }
        self.once(station, client_id, RequestKind::Open, None, |request| {
            self.open_ticket_for(req, Some(request))
        })
    }

    /// The requester's message from `station`'s kiosk, written by `author`, once per
    /// `client_id`.
    pub fn kiosk_message(
        &self,
        station: &str,
        client_id: &str,
        id: TicketId,
        author: &str,
        text: &str,
        attachments: Vec<NewAttachment>,
    ) -> Result<KioskAnswer, ServiceError> {
        self.once(
            station,
            client_id,
            RequestKind::Message,
            Some(id),
            |request| {
                self.requester_message_for(id, Some(author), text, attachments, Some(request))
            },
        )
    }

    /// The requester's answer to a solution from `station`'s kiosk, once per `client_id`.
    pub fn kiosk_feedback(
        &self,
        station: &str,
        client_id: &str,
        id: TicketId,
        feedback: Feedback,
    ) -> Result<KioskAnswer, ServiceError> {
        self.once(
            station,
            client_id,
            RequestKind::Feedback,
            Some(id),
            |request| self.feedback_for(id, feedback, Some(request)),
        )
    }

    /// A ticket about `station` (opened there, or by WhatsApp or the console for it); another
    /// station's is not found, as one that does not exist.
    pub fn station_ticket(&self, station: &str, id: TicketId) -> Result<Ticket, ServiceError> {
        self.store
            .ticket(id)?
            .filter(|t| t.station.as_deref() == Some(station))
            .ok_or_else(|| ServiceError::NotFound(format!("chamado {}", id.reference())))
    }

    /// `station`'s tickets, newest first, each with its conversation and the client id the
    /// kiosk opened it with (`None` for tickets from WhatsApp or the console).
    pub fn station_tickets(
        &self,
        station: &str,
    ) -> Result<Vec<(TicketView, Option<String>)>, ServiceError> {
        let mut opened = self.store.opened_by(station)?;
        let mut tickets = self.store.tickets(&TicketFilter {
            station: Some(station.to_owned()),
            ..TicketFilter::default()
        })?;
        tickets.reverse();
        tickets
            .into_iter()
            .map(|t| Ok((self.ticket_view(t.id)?, opened.remove(&t.id))))
            .collect()
    }
}
