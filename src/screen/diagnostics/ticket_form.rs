//! "Abrir chamado" (issue 23; 2k, 2n): category from the list the central last gave, title,
//! description, the support zip attached by default, a photo of the problem by its path. The
//! ticket is written to the station's queue before the screen says anything; the worker sends
//! it, offline or not ([`vistoria_station::tickets`]).

use std::path::PathBuf;

use iced::widget::{checkbox, column, row, text_input};
use iced::{Element, Length, Task};
use uuid::Uuid;
use vistoria_core::store::TicketRequest;
use vistoria_core::tickets::TicketCategory;

use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, Session, Station, TicketBoard, TicketDraft};

/// Title field.
pub const TITLE_INPUT: &str = "chamado-titulo";
/// Description field.
pub const DESCRIPTION_INPUT: &str = "chamado-descricao";
/// Photo path field.
pub const PHOTO_INPUT: &str = "chamado-foto";
/// The help desk's catch-all type, offered while the kiosk has never received the list.
const FALLBACK: &str = "outro";

/// The form.
#[derive(Debug)]
pub struct State {
    session: Session,
    /// Chosen when the form opened: sending twice queues one ticket.
    client_id: Uuid,
    categories: Vec<TicketCategory>,
    category: Option<String>,
    title: String,
    description: String,
    attach_support: bool,
    photo: String,
    sending: bool,
    error: Option<String>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// The categories arrived (kept list, refreshed when the central answers).
    Loaded(Result<Box<TicketBoard>, Failure>),
    /// A category was chosen.
    Category(String),
    /// Title typed.
    Title(String),
    /// Description typed.
    Description(String),
    /// "Anexar pacote de suporte".
    AttachSupport(bool),
    /// Photo path typed.
    Photo(String),
    /// "Enviar chamado".
    Submit,
    /// The ticket is in the queue, or why not.
    Queued(Result<Box<TicketRequest>, Failure>),
    /// "Cancelar".
    Cancel,
}

/// What the diagnostics screen must do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The ticket is queued: show the station's tickets.
    Queued(Box<TicketRequest>),
    /// Back without a ticket.
    Cancelled,
}

impl State {
    /// A new form for `session`; loads the categories.
    pub fn new(kiosk: &Station, session: Session) -> (State, Task<Message>) {
        let state = State {
            session,
            client_id: Uuid::new_v4(),
            categories: Vec::new(),
            category: None,
            title: String::new(),
            description: String::new(),
            attach_support: true,
            photo: String::new(),
            sending: false,
            error: None,
        };
        // The central's list when it answers, else the one kept.
        let task = work(
            kiosk,
            "ticket-categories",
            |k| k.refresh_tickets().or_else(|_| k.tickets()).map(Box::new),
            Message::Loaded,
        );
        (state, task)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Loaded(Ok(board)) => {
                self.categories = board.categories;
                if self.categories.is_empty() {
                    self.categories.push(TicketCategory {
                        key: FALLBACK.to_owned(),
                        title: "Outro assunto".to_owned(),
                    });
                }
            }
            Message::Loaded(Err(e)) => self.error = Some(e.to_string()),
            Message::Category(key) => self.category = Some(key),
            Message::Title(t) => self.title = t,
            Message::Description(d) => self.description = d,
            Message::AttachSupport(on) => self.attach_support = on,
            Message::Photo(p) => self.photo = p,
            Message::Submit => {
                if self.sending {
                    return (Task::none(), None);
                }
                let Some(category) = self.category.clone() else {
                    self.error = Some("Escolha a categoria do chamado.".to_owned());
                    return (Task::none(), None);
                };
                self.sending = true;
                self.error = None;
                let photo = self.photo.trim();
                let draft = TicketDraft {
                    client_id: self.client_id,
                    category,
                    title: self.title.clone(),
                    description: self.description.clone(),
                    attach_support: self.attach_support,
                    photo: (!photo.is_empty()).then(|| PathBuf::from(photo)),
                };
                let session = self.session.clone();
                return (
                    work(
                        kiosk,
                        "ticket-open",
                        move |k| k.open_ticket(&session, &draft).map(Box::new),
                        Message::Queued,
                    ),
                    None,
                );
            }
            Message::Queued(Ok(request)) => {
                self.sending = false;
                return (Task::none(), Some(Event::Queued(request)));
            }
            Message::Queued(Err(e)) => {
                self.sending = false;
                self.error = Some(e.to_string());
            }
            Message::Cancel => return (Task::none(), Some(Event::Cancelled)),
        }
        (Task::none(), None)
    }

    /// The error shown (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let input = |placeholder, value: &str, id: &'static str, msg: fn(String) -> Message| {
            text_input(placeholder, value)
                .id(id)
                .on_input(msg)
                .padding(10)
                .size(widget::BODY)
        };
        let categories = self
            .categories
            .iter()
            .fold(row![].spacing(8), |r, c| {
                r.push(widget::toggle(
                    c.title.as_str(),
                    self.category.as_deref() == Some(c.key.as_str()),
                    Message::Category(c.key.clone()),
                ))
            })
            .wrap()
            .vertical_spacing(8);
        let mut form = column![
            widget::title("Abrir chamado"),
            widget::muted(format!(
                "Solicitante: {} ({}) · o chamado leva o estado dos dispositivos desta estação",
                self.session.name, self.session.login
            )),
            widget::field("Categoria", categories),
            widget::field(
                "Título (opcional)",
                input(
                    "Ex.: câmera não captura",
                    &self.title,
                    TITLE_INPUT,
                    Message::Title
                )
            ),
            widget::field(
                "Descrição",
                input(
                    "O que aconteceu e o que você já tentou",
                    &self.description,
                    DESCRIPTION_INPUT,
                    Message::Description
                )
            ),
            checkbox(self.attach_support)
                .label(
                    "Anexar pacote de suporte (registros e diagnóstico, nunca fotos de vistoria)"
                )
                .on_toggle(Message::AttachSupport),
            widget::field(
                "Anexar foto (caminho do arquivo JPEG ou PNG, opcional)",
                input(
                    "/media/pendrive/foto.jpg",
                    &self.photo,
                    PHOTO_INPUT,
                    Message::Photo
                )
            ),
        ]
        .spacing(14)
        .width(Length::Fill);
        if let Some(e) = &self.error {
            form = form.push(widget::error_box(
                e.as_str(),
                vec![widget::secondary("Tentar de novo", Some(Message::Submit))],
            ));
        }
        form.push(
            row![
                widget::action(
                    if self.sending {
                        "Registrando…"
                    } else {
                        "Enviar chamado"
                    },
                    (!self.sending).then_some(Message::Submit)
                ),
                widget::secondary("Cancelar", Some(Message::Cancel)),
            ]
            .spacing(12),
        )
        .into()
    }
}
