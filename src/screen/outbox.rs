//! Envios: every package in the outbox with its state, attempts, next attempt, the laudo
//! number of its receipt or why it is stuck (2s, §12); a stuck package can be retried.

use iced::widget::{column, container, row, scrollable, text};
use iced::{Element, Length, Task};
use vistoria_core::domain::InspectionId;
use vistoria_core::store::OutboxState;

use crate::app::work::work;
use crate::widget;
use vistoria_station::{Delivery, Failure, OutboxRow, Session, Station};

/// The outbox screen.
#[derive(Debug)]
pub struct State {
    session: Session,
    rows: Vec<OutboxRow>,
    busy: bool,
    error: Option<Failure>,
    notice: Option<String>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Reload.
    Refresh,
    /// The list arrived.
    Loaded(Result<Vec<OutboxRow>, Failure>),
    /// "Enviar agora".
    SendNow,
    /// A delivery pass ended: delivered count and failures.
    Sent(Result<Delivery, Failure>),
    /// "Tentar de novo" on a stuck package.
    Retry(InspectionId),
    /// The retry was scheduled.
    Retried(Result<(), Failure>),
    /// "Imprimir laudo".
    Print(InspectionId),
    /// Printing ended.
    Printed(Result<String, Failure>),
}

impl State {
    /// The screen; loads the list.
    pub fn new(kiosk: &Station, session: Session) -> (State, Task<Message>) {
        (
            State {
                session,
                rows: Vec::new(),
                busy: false,
                error: None,
                notice: None,
            },
            load(kiosk),
        )
    }

    /// The rows (tests).
    #[cfg(test)]
    pub fn rows(&self) -> &[OutboxRow] {
        &self.rows
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> Task<Message> {
        match message {
            Message::Refresh => return load(kiosk),
            Message::Loaded(Ok(rows)) => self.rows = rows,
            Message::Loaded(Err(e)) | Message::Retried(Err(e)) => self.error = Some(e),
            Message::SendNow => {
                if !self.busy {
                    self.busy = true;
                    self.error = None;
                    return work(kiosk, "deliver", |k| k.deliver_due(), Message::Sent);
                }
            }
            Message::Sent(result) => {
                self.busy = false;
                match result {
                    Ok(delivery) => {
                        self.notice = Some(format!(
                            "{} pacote(s) entregue(s)",
                            delivery.delivered.len()
                        ));
                        self.error = delivery.failures.first().map(|(_, f)| f.clone());
                    }
                    Err(e) => self.error = Some(e),
                }
                return load(kiosk);
            }
            Message::Retry(id) => {
                let s = self.session.clone();
                return work(
                    kiosk,
                    "retry",
                    move |k| k.retry_stuck(&s, id),
                    Message::Retried,
                );
            }
            Message::Print(id) => {
                return work(kiosk, "print", move |k| k.print_laudo(id), Message::Printed);
            }
            Message::Printed(Ok(note)) => self.notice = Some(note),
            Message::Printed(Err(e)) => self.error = Some(e),
            Message::Retried(Ok(())) => {
                self.notice = Some("Nova tentativa agendada para agora".to_owned());
                return Task::done(Message::SendNow);
            }
        }
        Task::none()
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let mut list = column![].spacing(8);
        if self.rows.is_empty() {
            list = list.push(widget::card(
                text("Nenhum pacote na fila.").size(widget::BODY),
            ));
        }
        for r in &self.rows {
            let detail = match r.state {
                OutboxState::Delivered => {
                    format!("Laudo nº {}", r.laudo_number.as_deref().unwrap_or("—"))
                }
                OutboxState::Pending => format!(
                    "{} tentativa(s) · próxima {}",
                    r.attempts,
                    r.next_attempt_at.map(widget::local).unwrap_or_default()
                ),
                OutboxState::Stuck => format!(
                    "{} tentativa(s) · {}",
                    r.attempts,
                    r.last_error.as_deref().unwrap_or("motivo não registrado")
                ),
            };
            let mut line = row![
                column![
                    text(&r.plate).size(20).font(widget::BOLD),
                    widget::muted(format!("na fila desde {}", widget::local(r.queued_at))),
                ]
                .width(Length::FillPortion(2)),
                column![
                    text(r.state.label_pt())
                        .size(widget::BODY)
                        .font(widget::BOLD),
                    widget::muted(detail),
                ]
                .width(Length::FillPortion(4)),
            ]
            .spacing(12)
            .align_y(iced::Alignment::Center);
            if r.state == OutboxState::Pending
                && let Some(e) = &r.last_error
            {
                line = line.push(widget::muted(format!("último erro: {e}")));
            }
            if r.state == OutboxState::Stuck {
                line = line.push(widget::action("Tentar de novo", Some(Message::Retry(r.id))));
            }
            // §9: the PDF is deleted on delivery; what is gone is not offered.
            if r.laudo_pdf {
                line = line.push(widget::secondary(
                    "Imprimir laudo",
                    Some(Message::Print(r.id)),
                ));
            } else if let Some(url) = &r.verify_url {
                line = line.push(widget::muted(format!(
                    "Laudo entregue: a cópia desta estação foi apagada (§9) e a via impressa é a \
                     única. Conferência em {url}"
                )));
            }
            list = list.push(widget::card(line));
        }
        let mut body = column![
            row![
                widget::title("Envios ao servidor central"),
                iced::widget::Space::new().width(Length::Fill),
                widget::secondary("Atualizar", Some(Message::Refresh)),
                widget::action(
                    if self.busy {
                        "Enviando…"
                    } else {
                        "Enviar agora"
                    },
                    (!self.busy).then_some(Message::SendNow)
                ),
            ]
            .spacing(10)
            .align_y(iced::Alignment::Center),
        ]
        .spacing(14);
        if let Some(n) = &self.notice {
            body = body.push(widget::notice(n));
        }
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(
                e.to_string(),
                vec![widget::secondary("Tentar de novo", Some(Message::SendNow))],
            ));
        }
        container(body.push(scrollable(list).height(Length::Fill)))
            .padding(20)
            .into()
    }
}

fn load(kiosk: &Station) -> Task<Message> {
    work(kiosk, "outbox", |k| k.outbox(), Message::Loaded)
}
