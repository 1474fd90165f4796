//! Atendimento: the operator opens an inspection with the plate and the RENAVAM or chassis,
//! sees the central's answer or its precise error (§5), and the day's inspections with their
//! state and the 4 h countdown (2b, §9). Inspectors pick the vehicle to inspect here.

use chrono::{DateTime, Utc};
use iced::widget::{Space, column, container, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use vistoria_core::accounts::Role;
use vistoria_core::domain::{InspectionId, StateKind};

use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, InspectionRow, Session, Station};

/// The counter screen.
#[derive(Debug)]
pub struct State {
    session: Session,
    plate: String,
    renavam: String,
    chassis: String,
    busy: bool,
    error: Option<Failure>,
    opened: Option<InspectionRow>,
    rows: Vec<InspectionRow>,
    list_error: Option<Failure>,
    now: Option<DateTime<Utc>>,
}

/// What happens on it.
// Messages carry an inspection's row by value: moved once, not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Message {
    /// Plate typed.
    PlateChanged(String),
    /// RENAVAM typed.
    RenavamChanged(String),
    /// Chassis typed.
    ChassisChanged(String),
    /// "Consultar e abrir".
    Submit,
    /// The query and opening ended.
    Opened(Result<InspectionRow, Failure>),
    /// Reload the list.
    Refresh,
    /// The list arrived.
    Loaded(Result<Vec<InspectionRow>, Failure>),
    /// Clock tick for the countdowns.
    Tick(Option<DateTime<Utc>>),
    /// An inspector takes (or resumes) an inspection.
    Inspect(InspectionId),
    /// An inspector signs a concluded inspection.
    Sign(InspectionId),
}

/// What the app must do.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// Go to the Vistoria screen with this inspection.
    Inspect(InspectionRow),
    /// Go to the Assinatura screen with this inspection.
    Sign(InspectionRow),
}

/// Field ids.
pub const PLATE_INPUT: &str = "atendimento-placa";
/// RENAVAM field id.
pub const RENAVAM_INPUT: &str = "atendimento-renavam";
/// Chassis field id.
pub const CHASSIS_INPUT: &str = "atendimento-chassi";

impl State {
    /// The screen for `session`; loads the list.
    pub fn new(kiosk: &Station, session: Session) -> (State, Task<Message>) {
        let state = State {
            session,
            plate: String::new(),
            renavam: String::new(),
            chassis: String::new(),
            busy: false,
            error: None,
            opened: None,
            rows: Vec::new(),
            list_error: None,
            now: kiosk.clock().now().ok().map(|n| n.at),
        };
        (state, load(kiosk))
    }

    /// The error shown, if any (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// The inspection just opened, if any (tests).
    #[cfg(test)]
    pub fn opened(&self) -> Option<&InspectionRow> {
        self.opened.as_ref()
    }

    /// The listed inspections (tests).
    pub fn rows(&self) -> &[InspectionRow] {
        &self.rows
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::PlateChanged(s) => self.plate = s.to_uppercase(),
            Message::RenavamChanged(s) => self.renavam = s,
            Message::ChassisChanged(s) => self.chassis = s.to_uppercase(),
            Message::Submit => {
                if self.busy {
                    return (Task::none(), None);
                }
                self.busy = true;
                self.error = None;
                self.opened = None;
                let (session, plate, renavam, chassis) = (
                    self.session.clone(),
                    self.plate.clone(),
                    self.renavam.clone(),
                    self.chassis.clone(),
                );
                return (
                    work(
                        kiosk,
                        "vehicle-query",
                        move |k| k.open_inspection(&session, &plate, &renavam, &chassis),
                        Message::Opened,
                    ),
                    None,
                );
            }
            Message::Opened(result) => {
                self.busy = false;
                match result {
                    Ok(row) => {
                        self.opened = Some(row);
                        self.plate.clear();
                        self.renavam.clear();
                        self.chassis.clear();
                        return (load(kiosk), None);
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Message::Refresh => return (load(kiosk), None),
            Message::Loaded(Ok(rows)) => {
                self.rows = rows;
                self.list_error = None;
            }
            Message::Loaded(Err(e)) => self.list_error = Some(e),
            Message::Tick(now) => self.now = now,
            Message::Inspect(id) => {
                if let Some(row) = self.rows.iter().find(|r| r.id == id) {
                    return (Task::none(), Some(Event::Inspect(row.clone())));
                }
            }
            Message::Sign(id) => {
                if let Some(row) = self.rows.iter().find(|r| r.id == id) {
                    return (Task::none(), Some(Event::Sign(row.clone())));
                }
            }
        }
        (Task::none(), None)
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let list = self.list();
        let content: Element<'_, Message> = if self.session.role == Role::Inspector {
            column![widget::title("Vistorias do dia"), list]
                .spacing(16)
                .into()
        } else {
            row![
                container(self.form()).width(Length::FillPortion(2)),
                container(column![widget::title("Vistorias do dia"), list].spacing(16))
                    .width(Length::FillPortion(3)),
            ]
            .spacing(24)
            .into()
        };
        container(content).padding(20).into()
    }

    fn form(&self) -> Element<'_, Message> {
        let input = |placeholder, value: &str, id: &'static str, msg: fn(String) -> Message| {
            text_input(placeholder, value)
                .id(id)
                .on_input(msg)
                .on_submit(Message::Submit)
                .padding(10)
                .size(widget::BODY)
        };
        let mut form = column![
            widget::title("Nova vistoria"),
            widget::muted("Placa e RENAVAM (ou chassi), como no documento do veículo (§5)"),
            widget::field(
                "Placa",
                input("ABC1D23", &self.plate, PLATE_INPUT, Message::PlateChanged)
            ),
            widget::field(
                "RENAVAM",
                input(
                    "11 dígitos",
                    &self.renavam,
                    RENAVAM_INPUT,
                    Message::RenavamChanged
                )
            ),
            widget::field(
                "Chassi (se não tiver o RENAVAM)",
                input(
                    "17 caracteres",
                    &self.chassis,
                    CHASSIS_INPUT,
                    Message::ChassisChanged
                )
            ),
            widget::action(
                if self.busy {
                    "Consultando o servidor central…"
                } else {
                    "Consultar e abrir vistoria"
                },
                (!self.busy).then_some(Message::Submit)
            ),
        ]
        .spacing(14);
        if let Some(e) = &self.error {
            form = form.push(widget::error_box(
                e.to_string(),
                vec![widget::secondary("Tentar de novo", Some(Message::Submit))],
            ));
        }
        if let Some(row) = &self.opened {
            let d = &row.data;
            form = form.push(widget::card(
                column![
                    widget::heading(format!("Vistoria aberta: {}", row.plate)),
                    text(format!("{} · {} · {}", d.make_model, d.year, d.colour))
                        .size(widget::BODY),
                    text(format!("Espécie: {} · {}", d.class.label_pt(), d.city))
                        .size(widget::BODY),
                    widget::muted(format!(
                        "Prazo para concluir: {} (4 h a partir da consulta)",
                        widget::local(row.deadline)
                    )),
                ]
                .spacing(6),
            ));
        }
        widget::card(form)
    }

    fn list(&self) -> Element<'_, Message> {
        if let Some(e) = &self.list_error {
            return widget::error_box(
                e.to_string(),
                vec![widget::secondary("Atualizar", Some(Message::Refresh))],
            );
        }
        if self.rows.is_empty() {
            return widget::card(text("Nenhuma vistoria hoje.").size(widget::BODY));
        }
        let mut list = column![].spacing(8);
        for r in &self.rows {
            let left = self
                .now
                .map(|now| r.deadline - now)
                .filter(|_| r.state.is_open());
            let timing = match left {
                Some(left) => format!("faltam {}", widget::countdown(left)),
                None => r.outcome.clone().unwrap_or_default(),
            };
            let mut line = row![
                column![
                    text(&r.plate).size(20).font(widget::BOLD),
                    widget::muted(format!("{} · {}", r.vehicle, r.data.class.label_pt())),
                ]
                .spacing(2)
                .width(Length::FillPortion(3)),
                column![
                    text(r.state.label_pt())
                        .size(widget::BODY)
                        .font(widget::BOLD),
                    widget::muted(timing),
                ]
                .spacing(2)
                .width(Length::FillPortion(2)),
            ]
            .spacing(12)
            .align_y(iced::Alignment::Center);
            if self.session.role == Role::Inspector {
                line = line.push(match r.state {
                    StateKind::Opened => widget::action("Vistoriar", Some(Message::Inspect(r.id))),
                    StateKind::Capturing => {
                        widget::action("Continuar", Some(Message::Inspect(r.id)))
                    }
                    StateKind::Concluded => widget::action("Assinar", Some(Message::Sign(r.id))),
                    _ => Space::new().into(),
                });
            }
            list = list.push(widget::card(line));
        }
        scrollable(list).height(Length::Fill).into()
    }
}

fn load(kiosk: &Station) -> Task<Message> {
    work(
        kiosk,
        "inspections",
        |k| k.inspections_today(),
        Message::Loaded,
    )
}
