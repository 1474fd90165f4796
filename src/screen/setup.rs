//! Configuração inicial (issue 19): a station with no administrator shows only this. The
//! first administrator is made with the one-time code `sudo vistoria staff bootstrap` prints
//! at the station's shell; nobody without that shell can make one. Then they are logged in.

use iced::widget::{column, container, text_input};
use iced::{Element, Length, Task};
use vistoria_core::accounts::Role;

use super::staff::person_form::{FormMessage, PersonForm};
use crate::app::work::work;
use crate::widget;
use vistoria_station::{Failure, Session, Station};

/// The code field's id (tests).
pub const CODE_INPUT: &str = "setup-codigo";

/// The setup screen.
#[derive(Debug)]
pub struct State {
    code: String,
    form: PersonForm,
    busy: bool,
    error: Option<Failure>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// Code typed.
    Code(String),
    /// The administrator's form.
    Form(FormMessage),
    /// "Cadastrar administrador".
    Submit,
    /// The station answered.
    Done(Result<Session, Failure>),
}

/// What the app must do.
#[derive(Debug, Clone)]
pub enum Event {
    /// The first administrator is in.
    LoggedIn(Session),
}

impl State {
    /// An empty setup screen.
    pub fn new() -> State {
        State {
            code: String::new(),
            form: PersonForm::new(Some(Role::Administrator)),
            busy: false,
            error: None,
        }
    }

    /// The last error, if any (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Code(s) => self.code = s,
            Message::Form(m) => self.form.update(m),
            Message::Submit if !self.busy => match self.form.take() {
                Ok(person) => {
                    self.busy = true;
                    self.error = None;
                    let code = self.code.clone();
                    let task = work(
                        kiosk,
                        "setup",
                        move |k| k.setup_first_administrator(&code, &person),
                        Message::Done,
                    );
                    return (task, None);
                }
                Err(e) => self.error = Some(e),
            },
            Message::Submit => {}
            Message::Done(Ok(session)) => {
                self.busy = false;
                return (Task::none(), Some(Event::LoggedIn(session)));
            }
            Message::Done(Err(e)) => {
                self.busy = false;
                self.error = Some(e);
            }
        }
        (Task::none(), None)
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let mut body = column![
            widget::title("Configuração inicial da estação"),
            widget::muted(
                "Esta estação ainda não tem administrador. No terminal da estação, o técnico \
                 executa «sudo vistoria staff bootstrap» e informa o código mostrado.",
            ),
            widget::field(
                "Código de instalação",
                text_input("XXXX-XXXX-XXXX", &self.code)
                    .id(CODE_INPUT)
                    .on_input(Message::Code)
                    .padding(10)
                    .size(widget::BODY)
            ),
            widget::heading("Administrador"),
            self.form.view().map(Message::Form),
            widget::action(
                "Cadastrar administrador",
                (!self.busy).then_some(Message::Submit)
            ),
        ]
        .spacing(14);
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(e.to_string(), Vec::new()));
        }
        container(container(widget::card(body)).max_width(760))
            .center_x(Length::Fill)
            .padding([30, 20])
            .into()
    }
}
