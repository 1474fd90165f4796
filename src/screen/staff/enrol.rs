//! The fingerprint enrolment panel of Administração: the consent the inspector reads and
//! accepts, the finger, then one touch after another with each touch's result (accepted with
//! its quality, or refused with the reason: latent, too dark, blurred…) until three agree and
//! the finger is kept. The touches themselves are read and judged by the station.

use iced::Element;
use iced::widget::{checkbox, column, row, text};
use vistoria_core::biometrics::Finger;
use vistoria_station::{ENROLMENT_CONSENT, EnrolProgress, Failure};

use crate::widget;

/// The panel.
#[derive(Debug)]
pub struct Enrol {
    login: String,
    name: String,
    finger: Option<Finger>,
    consent: bool,
    reading: bool,
    accepted: usize,
    needed: usize,
    log: Vec<Result<u8, String>>,
    error: Option<Failure>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// A finger was chosen.
    Finger(Finger),
    /// The consent box.
    Consent(bool),
    /// "Iniciar leitura".
    Start,
}

/// The enrolment to start.
pub struct Start {
    /// Whose finger.
    pub login: String,
    /// Which one.
    pub finger: Finger,
}

/// What the screen does after a touch.
pub enum Next {
    /// Read another touch.
    Touch,
    /// Nothing until the person acts.
    Wait,
    /// The finger was kept.
    Done(Finger, String),
}

impl Enrol {
    /// A panel for `login`.
    pub fn new(login: String, name: String) -> Enrol {
        Enrol {
            login,
            name,
            finger: None,
            consent: false,
            reading: false,
            accepted: 0,
            needed: vistoria_core::biometrics::enrolment::ENROL_CAPTURES,
            log: Vec::new(),
            error: None,
        }
    }

    /// Each touch's result so far (tests).
    #[cfg(test)]
    pub fn touches(&self) -> &[Result<u8, String>] {
        &self.log
    }

    /// Handles a message; `Some` when the reading must start.
    pub fn update(&mut self, message: Message) -> Option<Start> {
        match message {
            Message::Finger(f) if !self.reading => self.finger = Some(f),
            Message::Finger(_) => {}
            Message::Consent(c) if !self.reading => self.consent = c,
            Message::Consent(_) => {}
            Message::Start => {
                let finger = self.finger?;
                if !self.consent || self.reading {
                    return None;
                }
                self.reading = true;
                self.accepted = 0;
                self.log.clear();
                self.error = None;
                return Some(Start {
                    login: self.login.clone(),
                    finger,
                });
            }
        }
        None
    }

    /// A touch was read (or the reading failed).
    pub fn touched(&mut self, result: Result<EnrolProgress, Failure>) -> Next {
        match result {
            Ok(progress) => {
                self.accepted = progress.accepted;
                self.needed = progress.needed;
                self.log.push(progress.last);
                if progress.done {
                    self.reading = false;
                    Next::Done(progress.finger, progress.login)
                } else {
                    Next::Touch
                }
            }
            Err(e) => {
                // The reader failed, or the touches did not agree: start again from the top.
                self.reading = false;
                self.error = Some(e);
                Next::Wait
            }
        }
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let mut fingers = column![].spacing(8);
        for hand in Finger::ALL.chunks(5) {
            let mut line = row![].spacing(8);
            for finger in hand {
                line = line.push(widget::toggle(
                    finger.label_pt(),
                    self.finger == Some(*finger),
                    Message::Finger(*finger),
                ));
            }
            fingers = fingers.push(line);
        }
        let ready = self.finger.is_some() && self.consent && !self.reading;
        let mut body = column![
            widget::heading(format!("Cadastro de digital — {}", self.name)),
            widget::field("Dedo", fingers),
            widget::card(
                column![
                    text("Termo de consentimento (LGPD)").font(widget::BOLD),
                    text(ENROLMENT_CONSENT).size(15),
                    checkbox(self.consent)
                        .label("O vistoriador leu e concorda")
                        .on_toggle(Message::Consent),
                ]
                .spacing(8)
            ),
            row![widget::action(
                "Iniciar leitura",
                ready.then_some(Message::Start)
            )]
            .spacing(12),
        ]
        .spacing(12);
        if self.reading {
            body = body.push(widget::notice(format!(
                "Coloque o dedo no leitor: {} de {} leituras aceitas",
                self.accepted, self.needed
            )));
        }
        for (i, touch) in self.log.iter().enumerate() {
            body = body.push(widget::muted(match touch {
                Ok(q) => format!("Leitura {}: aceita (qualidade {q})", i + 1),
                Err(why) => format!("Leitura {}: recusada — {why}", i + 1),
            }));
        }
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(e.to_string(), Vec::new()));
        }
        widget::card(body)
    }
}
