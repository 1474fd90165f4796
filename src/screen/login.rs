//! Entrar: user and password for operators and technicians; fingerprint for inspectors (§11,
//! 2o). Wrong credentials say so without saying which part was wrong; the kiosk locks a login
//! after repeated failures (see `vistoria_core::accounts`).

use iced::widget::{Space, column, container, row, text, text_input};
use iced::{Element, Length, Task};

use super::finger_picker::{self, FingerPicker};
use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, Session, Station};

/// How the person logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Operators, technicians, administrators.
    Password,
    /// Inspectors.
    Fingerprint,
}

/// The login screen.
#[derive(Debug)]
pub struct State {
    mode: Mode,
    login: String,
    password: String,
    inspectors: Vec<(String, String)>,
    inspector: Option<String>,
    fingers: FingerPicker,
    busy: Option<&'static str>,
    error: Option<Failure>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Tab chosen.
    ModeChosen(Mode),
    /// User typed.
    LoginChanged(String),
    /// Password typed.
    PasswordChanged(String),
    /// "Entrar" pressed.
    Submit,
    /// An inspector picked for 1:1 matching (or none for 1:N).
    InspectorChosen(Option<String>),
    /// Demo: the simulated reader's finger.
    Finger(finger_picker::Message),
    /// "Ler digital" pressed.
    ReadFinger,
    /// The inspector list arrived.
    InspectorsLoaded(Result<Vec<(String, String)>, Failure>),
    /// A login attempt ended.
    LoggedIn(Result<Session, Failure>),
}

/// What the app must do.
#[derive(Debug, Clone)]
pub enum Event {
    /// Someone logged in.
    LoggedIn(Session),
}

/// Widget ids (tests and focus).
pub const LOGIN_INPUT: &str = "login-usuario";
/// Password field id.
pub const PASSWORD_INPUT: &str = "login-senha";

impl State {
    /// A fresh login screen; loads the inspectors.
    pub fn new(kiosk: &Station) -> (State, Task<Message>) {
        let state = State {
            mode: Mode::Password,
            login: String::new(),
            password: String::new(),
            inspectors: Vec::new(),
            inspector: None,
            fingers: FingerPicker::new(kiosk),
            busy: None,
            error: None,
        };
        let load = work(
            kiosk,
            "inspectors",
            |k| k.inspectors(),
            Message::InspectorsLoaded,
        );
        (state, load)
    }

    /// The last error, if any (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::ModeChosen(mode) => {
                self.mode = mode;
                self.error = None;
            }
            Message::LoginChanged(s) => self.login = s,
            Message::PasswordChanged(s) => self.password = s,
            Message::Submit => {
                if self.busy.is_some() {
                    return (Task::none(), None);
                }
                if self.login.trim().is_empty() || self.password.is_empty() {
                    self.error = Some(Failure::rule("Informe o usuário e a senha"));
                    return (Task::none(), None);
                }
                self.busy = Some("Conferindo…");
                self.error = None;
                let (login, password) = (self.login.clone(), std::mem::take(&mut self.password));
                return (
                    work(
                        kiosk,
                        "login",
                        move |k| k.login_with_password(&login, &password),
                        Message::LoggedIn,
                    ),
                    None,
                );
            }
            Message::InspectorChosen(login) => self.inspector = login,
            Message::Finger(m) => {
                let (task, error) = self.fingers.update(m, kiosk);
                if error.is_some() {
                    self.error = error;
                }
                return (task.map(Message::Finger), None);
            }
            Message::InspectorsLoaded(Err(e)) => self.error = Some(e),
            Message::InspectorsLoaded(Ok(list)) => self.inspectors = list,
            Message::ReadFinger => {
                if self.busy.is_some() {
                    return (Task::none(), None);
                }
                self.busy = Some("Coloque o dedo no leitor…");
                self.error = None;
                let login = self.inspector.clone();
                return (
                    work(
                        kiosk,
                        "fingerprint-login",
                        move |k| k.login_with_fingerprint(login.as_deref()),
                        Message::LoggedIn,
                    ),
                    None,
                );
            }
            Message::LoggedIn(result) => {
                self.busy = None;
                match result {
                    Ok(session) => return (Task::none(), Some(Event::LoggedIn(session))),
                    Err(e) => self.error = Some(e),
                }
            }
        }
        (Task::none(), None)
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let tabs = row![
            widget::toggle(
                "Operador / Técnico",
                self.mode == Mode::Password,
                Message::ModeChosen(Mode::Password)
            ),
            widget::toggle(
                "Vistoriador (digital)",
                self.mode == Mode::Fingerprint,
                Message::ModeChosen(Mode::Fingerprint)
            ),
        ]
        .spacing(8);
        let form: Element<'_, Message> = match self.mode {
            Mode::Password => self.password_form(),
            Mode::Fingerprint => self.fingerprint_form(),
        };
        let mut body = column![widget::title("Acesso à estação"), tabs, form].spacing(18);
        if let Some(busy) = self.busy {
            body = body.push(widget::notice(busy));
        }
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(e.to_string(), Vec::new()));
        }
        container(container(widget::card(body)).max_width(600))
            .center_x(Length::Fill)
            .padding([40, 20])
            .into()
    }

    fn password_form(&self) -> Element<'_, Message> {
        let submit = (self.busy.is_none()).then_some(Message::Submit);
        column![
            widget::field(
                "Usuário",
                text_input("ex.: maria.silva", &self.login)
                    .id(LOGIN_INPUT)
                    .on_input(Message::LoginChanged)
                    .on_submit(Message::Submit)
                    .padding(10)
                    .size(widget::BODY)
            ),
            widget::field(
                "Senha",
                text_input("", &self.password)
                    .id(PASSWORD_INPUT)
                    .secure(true)
                    .on_input(Message::PasswordChanged)
                    .on_submit(Message::Submit)
                    .padding(10)
                    .size(widget::BODY)
            ),
            widget::action("Entrar", submit),
        ]
        .spacing(14)
        .into()
    }

    fn fingerprint_form(&self) -> Element<'_, Message> {
        let mut who = column![text("Quem vai entrar?").size(15).font(widget::BOLD)].spacing(6);
        let mut choices = row![widget::toggle(
            "Identificar pela digital",
            self.inspector.is_none(),
            Message::InspectorChosen(None)
        )]
        .spacing(8);
        for (login, name) in &self.inspectors {
            choices = choices.push(widget::toggle(
                name,
                self.inspector.as_deref() == Some(login),
                Message::InspectorChosen(Some(login.clone())),
            ));
        }
        who = who.push(choices);
        let mut form = column![who].spacing(14);
        if let Some(fingers) = self.fingers.view("Leitor simulado: qual dedo colocar") {
            form = form.push(fingers.map(Message::Finger));
        }
        form.push(row![
            widget::action(
                "Ler digital",
                self.busy.is_none().then_some(Message::ReadFinger)
            ),
            Space::new().width(Length::Fill),
        ])
        .into()
    }
}
