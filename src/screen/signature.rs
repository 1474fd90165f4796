//! Assinatura: the inspector's fingerprint again (§14, "conferência biométrica"), then the
//! e-CPF card's PIN (masked) and the signature of the laudo (2j). Every card problem (wrong or
//! locked PIN, no card, card removed, certificate of someone else, expired, without
//! digitalSignature) is a Portuguese message here; the inspection stays concluded until it is
//! signed, and the PIN can be typed again.

use iced::widget::{column, container, scrollable, text, text_input};
use iced::{Element, Length, Task};
use vistoria_core::domain::InspectionId;

use super::finger_picker::{self, FingerPicker};
use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, InspectionRow, Session, Signed, Station};

/// Id of the PIN field.
pub const PIN_INPUT: &str = "pin-ecpf";

/// The signature screen.
#[derive(Debug)]
pub struct State {
    session: Session,
    row: InspectionRow,
    fingers: FingerPicker,
    /// Demo mode: the demo token's PIN is shown.
    demo: bool,
    score: Option<vistoria_core::biometrics::BiometricCheck>,
    pin: String,
    busy: Option<&'static str>,
    error: Option<Failure>,
}

/// What happens on it.
// Messages carry an inspection's row by value: moved once, not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Message {
    /// Demo: the simulated reader's finger.
    Finger(finger_picker::Message),
    /// "Conferir digital".
    ReadFinger,
    /// The station's biometric check ended (kept by the station for the signature).
    Confirmed(
        InspectionId,
        Result<vistoria_core::biometrics::BiometricCheck, Failure>,
    ),
    /// The PIN field changed.
    Pin(String),
    /// "Assinar laudo".
    Sign,
    /// The signature ended (the package was queued).
    Signed(InspectionId, Result<Signed, Failure>),
    /// "Voltar".
    Back,
}

/// What the app must do.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// Signed and queued; what printing did.
    Signed(InspectionRow, String),
    /// Left without signing (it stays concluded, listed for later).
    Back,
}

impl State {
    /// The screen for a concluded inspection.
    pub fn new(kiosk: &Station, session: Session, row: InspectionRow) -> State {
        State {
            session,
            row,
            fingers: FingerPicker::new(kiosk),
            demo: kiosk.is_demo(),
            score: None,
            pin: String::new(),
            busy: None,
            error: None,
        }
    }

    /// The error shown (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// Whether the fingerprint was confirmed (tests).
    #[cfg(test)]
    pub fn confirmed(&self) -> bool {
        self.score.is_some()
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        // An answer about another inspection (this screen was left and opened again for
        // another one meanwhile) is not this laudo's.
        if let Message::Confirmed(id, _) | Message::Signed(id, _) = &message
            && *id != self.row.id
        {
            tracing::info!(%id, shown = %self.row.id, "late answer for another inspection dropped");
            return (Task::none(), None);
        }
        match message {
            Message::Finger(m) => {
                let (task, error) = self.fingers.update(m, kiosk);
                if error.is_some() {
                    self.error = error;
                }
                return (task.map(Message::Finger), None);
            }
            Message::ReadFinger => {
                if self.busy.is_none() {
                    self.busy = Some("Coloque o dedo no leitor…");
                    self.error = None;
                    let (s, id) = (self.session.clone(), self.row.id);
                    return (
                        work(
                            kiosk,
                            "biometric-check",
                            move |k| k.confirm_fingerprint(&s, id),
                            move |r| Message::Confirmed(id, r),
                        ),
                        None,
                    );
                }
            }
            Message::Confirmed(_, result) => {
                self.busy = None;
                match result {
                    Ok(check) => self.score = Some(check),
                    Err(e) => self.error = Some(e),
                }
            }
            Message::Pin(pin) => {
                // Card PINs are digits (4–12 on the cards sold here); nothing else is typed.
                self.pin = pin.chars().filter(char::is_ascii_digit).take(16).collect();
            }
            Message::Sign => {
                if let (None, Some(_), false) = (self.busy, &self.score, self.pin.is_empty()) {
                    self.busy = Some("Assinando com o cartão e-CPF e colocando na fila de envio…");
                    self.error = None;
                    let (s, id) = (self.session.clone(), self.row.id);
                    // The PIN leaves the screen with the request and is not kept.
                    let pin = std::mem::take(&mut self.pin);
                    return (
                        work(
                            kiosk,
                            "sign",
                            move |k| k.sign(&s, id, &pin),
                            move |r| Message::Signed(id, r),
                        ),
                        None,
                    );
                }
            }
            Message::Signed(_, result) => {
                self.busy = None;
                match result {
                    Ok(signed) => {
                        let printed = format!(
                            "Assinado por {} (certificado {}). {}",
                            signed.signer, signed.serial, signed.printed
                        );
                        return (Task::none(), Some(Event::Signed(signed.row, printed)));
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Message::Back => return (Task::none(), Some(Event::Back)),
        }
        (Task::none(), None)
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let r = &self.row;
        let summary = column![
            widget::heading(format!("Laudo de {}", r.plate)),
            text(format!("{} · {}", r.vehicle, r.data.class.label_pt())).size(widget::BODY),
            text(format!(
                "Resultado: {}",
                r.outcome.as_deref().unwrap_or("—")
            ))
            .size(22)
            .font(widget::BOLD),
            widget::muted(format!(
                "Vistoriador: {} · prazo {}",
                self.session.name,
                widget::local(r.deadline)
            )),
        ]
        .spacing(6);
        let step1: Element<'_, Message> = match self.score {
            Some(_) => widget::notice("1. Digital conferida com a do vistoriador logado ✓"),
            None => {
                let mut c = column![
                    widget::heading("1. Conferência biométrica (§14)"),
                    widget::muted("Coloque o mesmo dedo do acesso no leitor."),
                ]
                .spacing(8);
                if let Some(fingers) = self.fingers.view("Leitor simulado: qual dedo colocar") {
                    c = c.push(fingers.map(Message::Finger));
                }
                c.push(widget::action(
                    "Conferir digital",
                    self.busy.is_none().then_some(Message::ReadFinger),
                ))
                .into()
            }
        };
        let can_sign = self.busy.is_none() && self.score.is_some() && !self.pin.is_empty();
        let mut pin = text_input("PIN", &self.pin)
            .id(PIN_INPUT)
            .secure(true)
            .padding(10)
            .size(widget::BODY)
            .width(Length::Fixed(240.0));
        if self.busy.is_none() && self.score.is_some() {
            pin = pin.on_input(Message::Pin).on_submit(Message::Sign);
        }
        let mut step2 = column![
            widget::heading("2. Assinatura com o cartão e-CPF (§14)"),
            widget::muted(if self.score.is_some() {
                "Insira o cartão e-CPF na leitora e digite o PIN."
            } else {
                "Depois da conferência biométrica: cartão e-CPF na leitora e PIN."
            }),
        ]
        .spacing(8);
        if self.demo {
            step2 = step2.push(widget::muted(format!(
                "Cartão de demonstração (token SoftHSM2): PIN {}",
                vistoria_core::signing::test_pki::TOKEN_PIN
            )));
        }
        let step2 = step2
            .push(widget::field("PIN do cartão", pin))
            .push(widget::action(
                "Assinar laudo",
                can_sign.then_some(Message::Sign),
            ));
        let mut body = column![
            widget::title("Assinatura do laudo"),
            widget::card(summary),
            widget::card(step1),
            widget::card(step2)
        ]
        .spacing(16)
        .max_width(820);
        if let Some(b) = self.busy {
            body = body.push(widget::notice(b));
        }
        if let Some(e) = &self.error {
            // After a card error the PIN is typed again in step 2; before the fingerprint
            // check, the check is tried again.
            let mut actions = Vec::new();
            if self.score.is_none() {
                actions.push(widget::secondary(
                    "Tentar de novo",
                    Some(Message::ReadFinger),
                ));
            }
            actions.push(widget::secondary(
                "Voltar à lista (assinar depois)",
                Some(Message::Back),
            ));
            body = body.push(widget::error_box(e.to_string(), actions));
        } else {
            body = body.push(widget::secondary(
                "Voltar à lista (assinar depois)",
                Some(Message::Back),
            ));
        }
        // Scrollable: with an error or the demo's hint the page is taller than a 1280×800 kiosk.
        scrollable(container(body).padding(20).center_x(Length::Fill)).into()
    }
}
