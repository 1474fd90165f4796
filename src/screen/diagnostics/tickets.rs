//! "Chamados da estação" (issue 23; 2k, 2n): the station's tickets with their state and the
//! team's answers, from the listing the central last gave and the station's own queue (what is
//! not sent yet is marked "na fila (sem conexão)"); a ticket's conversation, the reply box with
//! a photo, and the answer to the team's solution (accepted with 1–5 stars, or refused saying
//! what is still wrong). Every write goes to the station's queue first.

use std::path::PathBuf;
use std::time::Duration;

use iced::widget::{Space, button, column, container, row, text, text_input};
use iced::{Element, Length, Subscription, Task};
use uuid::Uuid;
use vistoria_core::store::{TicketQueueState, TicketRequest};
use vistoria_core::tickets::StationTicket;

use crate::app::work::work;
use crate::widget;
use vistoria_station::Failure;
use vistoria_station::tickets::QueuedItem;
use vistoria_station::{
    FeedbackDraft, ReplyDraft, Session, Station, TicketBoard, TicketKey, TicketView,
};

/// Reply field.
pub const REPLY_INPUT: &str = "chamado-resposta";
/// Reply photo path field.
pub const REPLY_PHOTO_INPUT: &str = "chamado-resposta-foto";
/// Comment of the answer to a solution.
pub const COMMENT_INPUT: &str = "chamado-comentario";

/// The list and the open conversation.
#[derive(Debug)]
pub struct State {
    session: Session,
    board: Option<TicketBoard>,
    selected: Option<TicketKey>,
    notice: Option<String>,
    error: Option<String>,
    refreshing: bool,
    reply: String,
    reply_photo: String,
    rating: Option<u8>,
    comment: String,
    sending: bool,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Read the kept listing and the queue again (no network).
    Reload,
    /// "Atualizar": ask the central now.
    Refresh,
    /// A board arrived.
    Loaded(Result<Box<TicketBoard>, Failure>),
    /// A ticket of the list.
    Open(TicketKey),
    /// Back to the list.
    List,
    /// Reply typed.
    Reply(String),
    /// Reply photo path typed.
    ReplyPhoto(String),
    /// "Enviar resposta".
    SendReply,
    /// Stars given.
    Rating(u8),
    /// Comment typed.
    Comment(String),
    /// "Aceitar solução" (`true`) or "Recusar solução".
    Feedback(bool),
    /// A reply or answer is in the queue, or why not.
    Queued(Result<Box<TicketRequest>, Failure>),
    /// "Descartar" a refused request.
    Discard(Uuid),
    /// Discarded, or why not.
    Discarded(Result<usize, Failure>),
    /// "Abrir chamado".
    NewTicket,
    /// "Voltar ao diagnóstico".
    Close,
}

/// What the diagnostics screen must do.
#[derive(Debug, Clone)]
pub enum Event {
    /// Open the new-ticket form.
    NewTicket,
    /// Back to the diagnostics.
    Close,
}

fn load(kiosk: &Station, network: bool) -> Task<Message> {
    work(
        kiosk,
        "tickets",
        move |k| {
            if network {
                k.refresh_tickets()
            } else {
                k.tickets()
            }
            .map(Box::new)
        },
        Message::Loaded,
    )
}

impl State {
    /// The list for `session`, with `notice` on top (a ticket just queued); asks the central
    /// for the latest listing.
    pub fn new(
        kiosk: &Station,
        session: Session,
        notice: Option<String>,
    ) -> (State, Task<Message>) {
        let state = State {
            session,
            board: None,
            selected: None,
            notice,
            error: None,
            refreshing: true,
            reply: String::new(),
            reply_photo: String::new(),
            rating: None,
            comment: String::new(),
            sending: false,
        };
        // The kept board at once, the central's when it answers.
        (state, Task::batch([load(kiosk, false), load(kiosk, true)]))
    }

    /// The board shown (tests).
    #[cfg(test)]
    pub fn board(&self) -> Option<&TicketBoard> {
        self.board.as_ref()
    }

    /// The error shown (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The queue and the kept listing, read again every two seconds while shown: the worker
    /// sends in the background.
    pub fn subscription(&self) -> Subscription<Message> {
        iced::time::every(Duration::from_secs(2)).map(|_| Message::Reload)
    }

    fn key_of(&self, key: TicketKey) -> TicketKey {
        // A ticket opened offline keeps its place once the central numbers it.
        let Some(board) = &self.board else {
            return key;
        };
        if board.ticket(key).is_some() {
            return key;
        }
        match key {
            TicketKey::Queued(open) => board
                .tickets
                .iter()
                .find(|t| {
                    t.open.as_ref().is_some_and(|o| o.client_id == open)
                        || t.ticket.as_ref().is_some_and(|s| s.client_id == Some(open))
                })
                .map_or(key, |t| t.key),
            TicketKey::Central(_) => key,
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Reload => return (load(kiosk, false), None),
            Message::Refresh => {
                self.refreshing = true;
                return (load(kiosk, true), None);
            }
            Message::Loaded(result) => {
                match result {
                    Ok(board) => {
                        self.board = Some(*board);
                        if self.refreshing {
                            self.error = None;
                        }
                    }
                    // Offline: the kept board stays; say why it may be old.
                    Err(e) if self.refreshing => {
                        self.error = Some(format!(
                            "Não foi possível atualizar com a central ({e}); mostrando a última lista recebida."
                        ))
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                self.refreshing = false;
                self.selected = self.selected.map(|k| self.key_of(k));
            }
            Message::Open(key) => {
                self.selected = Some(key);
                self.notice = None;
                self.error = None;
                self.rating = None;
                self.comment.clear();
            }
            Message::List => self.selected = None,
            Message::Reply(t) => self.reply = t,
            Message::ReplyPhoto(p) => self.reply_photo = p,
            Message::Rating(r) => self.rating = Some(r),
            Message::Comment(c) => self.comment = c,
            Message::SendReply => {
                let Some(key) = self.selected.filter(|_| !self.sending) else {
                    return (Task::none(), None);
                };
                let photo = self.reply_photo.trim();
                let draft = ReplyDraft {
                    client_id: Uuid::new_v4(),
                    text: self.reply.clone(),
                    photo: (!photo.is_empty()).then(|| PathBuf::from(photo)),
                };
                self.sending = true;
                let session = self.session.clone();
                return (
                    work(
                        kiosk,
                        "ticket-reply",
                        move |k| k.reply_ticket(&session, key, &draft).map(Box::new),
                        Message::Queued,
                    ),
                    None,
                );
            }
            Message::Feedback(accept) => {
                let Some(key) = self.selected.filter(|_| !self.sending) else {
                    return (Task::none(), None);
                };
                let draft = FeedbackDraft {
                    client_id: Uuid::new_v4(),
                    accept,
                    rating: self.rating,
                    comment: self.comment.clone(),
                };
                self.sending = true;
                let session = self.session.clone();
                return (
                    work(
                        kiosk,
                        "ticket-feedback",
                        move |k| k.rate_ticket(&session, key, &draft).map(Box::new),
                        Message::Queued,
                    ),
                    None,
                );
            }
            Message::Queued(result) => {
                self.sending = false;
                match result {
                    Ok(_) => {
                        self.reply.clear();
                        self.reply_photo.clear();
                        self.comment.clear();
                        self.rating = None;
                        self.error = None;
                        return (load(kiosk, false), None);
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            Message::Discard(client_id) => {
                let session = self.session.clone();
                return (
                    work(
                        kiosk,
                        "ticket-discard",
                        move |k| k.discard_ticket_request(&session, client_id),
                        Message::Discarded,
                    ),
                    None,
                );
            }
            Message::Discarded(Ok(_)) => {
                self.error = None;
                return (load(kiosk, false), None);
            }
            Message::Discarded(Err(e)) => self.error = Some(e.to_string()),
            Message::NewTicket => return (Task::none(), Some(Event::NewTicket)),
            Message::Close => return (Task::none(), Some(Event::Close)),
        }
        (Task::none(), None)
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let mut body = column![
            row![
                widget::title("Chamados da estação"),
                Space::new().width(Length::Fill),
                widget::secondary(
                    if self.refreshing {
                        "Atualizando…"
                    } else {
                        "Atualizar"
                    },
                    (!self.refreshing).then_some(Message::Refresh)
                ),
                widget::action("Abrir chamado", Some(Message::NewTicket)),
                widget::secondary("Voltar ao diagnóstico", Some(Message::Close)),
            ]
            .spacing(10)
            .align_y(iced::Alignment::Center)
        ]
        .spacing(14);
        if let Some(n) = &self.notice {
            body = body.push(widget::notice(n.as_str()));
        }
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(e.as_str(), Vec::new()));
        }
        let Some(board) = &self.board else {
            return body.push(widget::muted("Carregando…")).into();
        };
        body = body.push(widget::muted(match board.listed_at {
            Some(at) => format!(
                "Lista recebida da central em {} · {} pedido(s) desta estação aguardando envio",
                widget::local(at),
                board.waiting
            ),
            None => format!(
                "A central ainda não enviou a lista · {} pedido(s) aguardando envio",
                board.waiting
            ),
        }));
        let shown = match self.selected.and_then(|k| board.ticket(k)) {
            Some(ticket) => self.conversation(ticket),
            None => list(board),
        };
        body.push(iced::widget::scrollable(shown).height(Length::Fill))
            .into()
    }

    fn conversation<'a>(&'a self, t: &'a TicketView) -> Element<'a, Message> {
        let mut col = column![
            row![
                widget::secondary("← Lista", Some(Message::List)),
                widget::heading(format!(
                    "{} · {}",
                    t.number.as_deref().unwrap_or("sem número ainda"),
                    t.title
                )),
            ]
            .spacing(12)
            .align_y(iced::Alignment::Center),
            text(format!("Estado: {}", t.state_label))
                .size(widget::BODY)
                .font(widget::BOLD),
        ]
        .spacing(10);
        if let Some(open) = &t.open {
            col = col.push(queued(open));
        }
        if let Some(s) = &t.ticket {
            col = col.push(messages(s));
        }
        for item in &t.queued {
            col = col.push(queued(item));
        }
        let refused_open = t
            .open
            .as_ref()
            .is_some_and(|o| o.state == TicketQueueState::Failed);
        if refused_open {
            return widget::card(col);
        }
        if t.ticket.as_ref().is_some_and(|s| s.awaiting_feedback) {
            col = col.push(self.feedback());
        }
        let input = |placeholder, value: &'a str, id: &'static str, msg: fn(String) -> Message| {
            text_input(placeholder, value)
                .id(id)
                .on_input(msg)
                .padding(10)
                .size(widget::BODY)
        };
        col = col.push(
            column![
                widget::field(
                    "Responder",
                    input("Sua resposta", &self.reply, REPLY_INPUT, Message::Reply)
                ),
                widget::field(
                    "Foto do problema (caminho do arquivo JPEG ou PNG, opcional)",
                    input(
                        "/media/pendrive/foto.jpg",
                        &self.reply_photo,
                        REPLY_PHOTO_INPUT,
                        Message::ReplyPhoto
                    )
                ),
                widget::action(
                    "Enviar resposta",
                    (!self.sending).then_some(Message::SendReply)
                ),
            ]
            .spacing(8),
        );
        widget::card(col)
    }

    fn feedback(&self) -> Element<'_, Message> {
        let stars = (1..=5u8).fold(row![].spacing(8), |r, n| {
            r.push(widget::toggle(
                format!("{n} ★"),
                self.rating == Some(n),
                Message::Rating(n),
            ))
        });
        container(
            column![
                widget::heading("A equipe deu uma solução: está resolvido?"),
                widget::field("Nota (para aceitar)", stars),
                widget::field(
                    "Comentário (obrigatório ao recusar: diga o que ainda não está resolvido)",
                    text_input("Comentário", &self.comment)
                        .id(COMMENT_INPUT)
                        .on_input(Message::Comment)
                        .padding(10)
                        .size(widget::BODY)
                ),
                row![
                    widget::action(
                        "Aceitar solução",
                        (!self.sending).then_some(Message::Feedback(true))
                    ),
                    widget::danger(
                        "Recusar solução",
                        (!self.sending).then_some(Message::Feedback(false))
                    ),
                ]
                .spacing(12),
            ]
            .spacing(8),
        )
        .padding(8)
        .into()
    }
}

fn list(board: &TicketBoard) -> Element<'_, Message> {
    if board.tickets.is_empty() {
        return widget::muted("Nenhum chamado desta estação.");
    }
    let rows = board.tickets.iter().fold(column![].spacing(8), |col, t| {
        let label = row![
            text(t.number.as_deref().unwrap_or("—"))
                .size(widget::BODY)
                .width(130),
            text(t.title.as_str())
                .size(widget::BODY)
                .width(Length::Fill),
            text(t.state_label.as_str())
                .size(widget::BODY)
                .font(widget::BOLD),
        ]
        .spacing(12);
        col.push(
            button(label)
                .width(Length::Fill)
                .padding(12)
                .style(button::secondary)
                .on_press(Message::Open(t.key)),
        )
    });
    widget::card(rows)
}

fn messages(s: &StationTicket) -> Element<'_, Message> {
    let mut col = column![].spacing(8);
    for m in &s.messages {
        let who = if m.from_team {
            format!("{} (suporte)", m.author)
        } else {
            m.author.clone()
        };
        let mut entry = column![
            widget::muted(format!("{} · {}", widget::local(m.at), who)),
            text(m.text.as_str()).size(widget::BODY),
        ]
        .spacing(2);
        for f in &m.attachments {
            entry = entry.push(widget::muted(format!("Anexo: {}", f.filename)));
        }
        col = col.push(entry);
    }
    if let Some(solution) = &s.solution {
        col = col.push(widget::notice(format!("Solução da equipe: {solution}")));
    }
    if let Some(r) = s.rating {
        col = col.push(widget::muted(format!("Avaliação dada: {r} de 5")));
    }
    col.into()
}

fn queued(item: &QueuedItem) -> Element<'_, Message> {
    match item.state {
        TicketQueueState::Failed => widget::error_box(
            format!(
                "{} — {}: {}",
                item.summary,
                vistoria_station::tickets::REFUSED_LABEL,
                item.error.as_deref().unwrap_or("sem motivo informado")
            ),
            vec![widget::secondary(
                "Descartar",
                Some(Message::Discard(item.client_id)),
            )],
        ),
        TicketQueueState::Pending => widget::muted(format!(
            "{} — {}",
            item.summary,
            vistoria_station::tickets::QUEUED_LABEL
        )),
        TicketQueueState::Sent => widget::muted(format!("{} — enviado", item.summary)),
    }
}
