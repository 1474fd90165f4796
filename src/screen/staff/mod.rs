//! Administração (issue 19, §11, 2o): the station's people for an administrator: add, list,
//! deactivate and reactivate, reset a password, and enrol or remove an inspector's fingers
//! from the station's reader. Every action goes through the station, which checks the
//! permission against the stored account; the screen only shows what it answers.

mod enrol;
pub mod person_form;

use iced::widget::{Space, column, container, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use vistoria_core::accounts::Role;
use vistoria_core::biometrics::Finger;
use vistoria_core::staff::StaffMember;
use vistoria_station::{EnrolProgress, Failure, Session, Station};

use crate::app::work::work;
use crate::widget;
pub use enrol::{Enrol, Message as EnrolMessage};
use person_form::{FormMessage, PersonForm};

/// New-password field ids (tests).
pub const RESET_INPUT: &str = "redefinir-senha";
/// Its confirmation.
pub const RESET_CONFIRM_INPUT: &str = "redefinir-senha-confirma";

/// The Administração screen.
#[derive(Debug)]
pub struct State {
    session: Session,
    people: Vec<StaffMember>,
    adding: Option<PersonForm>,
    reset: Option<(String, String, String)>,
    enrol: Option<Enrol>,
    busy: Option<&'static str>,
    notice: Option<String>,
    error: Option<Failure>,
}

/// What happens on it.
#[derive(Debug, Clone)]
pub enum Message {
    /// The list arrived.
    Loaded(Result<Vec<StaffMember>, Failure>),
    /// "Cadastrar pessoa".
    Add,
    /// A keystroke on the new person's form.
    Form(FormMessage),
    /// "Salvar".
    Save,
    /// "Cancelar" on a form or an enrolment.
    Cancel,
    /// "Desativar" / "Reativar".
    SetActive(String, bool),
    /// "Trocar senha" of a login.
    Reset(String),
    /// New password typed.
    ResetPassword(String),
    /// Its confirmation typed.
    ResetConfirm(String),
    /// "Salvar senha".
    SaveReset,
    /// "Cadastrar digital" of an inspector.
    Enrol(String),
    /// The enrolment panel.
    Enrolment(enrol::Message),
    /// A touch was read.
    Touched(Result<EnrolProgress, Failure>),
    /// "Remover" a finger.
    RemoveFinger(String, Finger),
    /// A change ended: what to tell the person.
    Done(Result<String, Failure>),
}

impl State {
    /// The screen for `session` (an administrator); loads the list.
    pub fn new(kiosk: &Station, session: Session) -> (State, Task<Message>) {
        let state = State {
            session,
            people: Vec::new(),
            adding: None,
            reset: None,
            enrol: None,
            busy: None,
            notice: None,
            error: None,
        };
        let load = state.load(kiosk);
        (state, load)
    }

    fn load(&self, kiosk: &Station) -> Task<Message> {
        let session = self.session.clone();
        work(kiosk, "staff", move |k| k.staff(&session), Message::Loaded)
    }

    /// The people listed (tests).
    #[cfg(test)]
    pub fn people(&self) -> &[StaffMember] {
        &self.people
    }

    /// The last error, if any (tests).
    #[cfg(test)]
    pub fn error(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// The enrolment panel, if open (tests).
    #[cfg(test)]
    pub fn enrolment(&self) -> Option<&Enrol> {
        self.enrol.as_ref()
    }

    /// Runs a change on the station, then reloads.
    fn change(
        &mut self,
        kiosk: &Station,
        busy: &'static str,
        job: impl FnOnce(&Station, &Session) -> Result<String, Failure> + Send + 'static,
    ) -> Task<Message> {
        self.busy = Some(busy);
        self.error = None;
        self.notice = None;
        let session = self.session.clone();
        work(
            kiosk,
            "staff-change",
            move |k| job(k, &session),
            Message::Done,
        )
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message, kiosk: &Station) -> Task<Message> {
        match message {
            Message::Loaded(Ok(people)) => self.people = people,
            Message::Loaded(Err(e)) => self.error = Some(e),
            Message::Add => {
                self.adding = Some(PersonForm::new(None));
                self.reset = None;
            }
            Message::Form(m) => {
                if let Some(form) = &mut self.adding {
                    form.update(m);
                }
            }
            Message::Save => {
                let Some(form) = &mut self.adding else {
                    return Task::none();
                };
                match form.take() {
                    Ok(person) => {
                        return self.change(kiosk, "Salvando…", move |k, s| {
                            k.add_person(s, &person)?;
                            Ok(format!("{} cadastrado(a)", person.name.trim()))
                        });
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            Message::Cancel => {
                self.adding = None;
                self.reset = None;
                if self.enrol.take().is_some() {
                    kiosk.cancel_enrolment();
                }
            }
            Message::SetActive(login, active) => {
                return self.change(kiosk, "Salvando…", move |k, s| {
                    k.set_person_active(s, &login, active)?;
                    Ok(if active {
                        format!("{login} reativado(a)")
                    } else {
                        format!("{login} desativado(a): não entra mais; o histórico fica")
                    })
                });
            }
            Message::Reset(login) => {
                self.reset = Some((login, String::new(), String::new()));
                self.adding = None;
            }
            Message::ResetPassword(s) => {
                if let Some(r) = &mut self.reset {
                    r.1 = s;
                }
            }
            Message::ResetConfirm(s) => {
                if let Some(r) = &mut self.reset {
                    r.2 = s;
                }
            }
            Message::SaveReset => {
                let Some((login, password, confirm)) = self.reset.take() else {
                    return Task::none();
                };
                if password != confirm {
                    self.reset = Some((login, String::new(), String::new()));
                    self.error = Some(Failure::rule("As senhas digitadas não conferem"));
                    return Task::none();
                }
                return self.change(kiosk, "Salvando…", move |k, s| {
                    k.reset_person_password(s, &login, &password)?;
                    Ok(format!("Senha de {login} trocada"))
                });
            }
            Message::Enrol(login) => {
                let name = self
                    .people
                    .iter()
                    .find(|p| p.login == login)
                    .map_or_else(|| login.clone(), |p| p.name.clone());
                self.enrol = Some(Enrol::new(login, name));
                self.error = None;
                self.notice = None;
            }
            Message::Enrolment(m) => {
                let Some(panel) = &mut self.enrol else {
                    return Task::none();
                };
                if let Some(start) = panel.update(m) {
                    let session = self.session.clone();
                    let (login, finger) = (start.login, start.finger);
                    return work(
                        kiosk,
                        "enrol",
                        move |k| {
                            k.start_enrolment(&session, &login, finger, true)?;
                            k.enrolment_touch(&session)
                        },
                        Message::Touched,
                    );
                }
            }
            Message::Touched(result) => {
                let Some(panel) = &mut self.enrol else {
                    return Task::none();
                };
                match panel.touched(result) {
                    enrol::Next::Touch => {
                        let session = self.session.clone();
                        return work(
                            kiosk,
                            "enrol",
                            move |k| k.enrolment_touch(&session),
                            Message::Touched,
                        );
                    }
                    enrol::Next::Done(finger, login) => {
                        self.enrol = None;
                        self.notice = Some(format!("{} de {login} cadastrado", finger.label_pt()));
                        return self.load(kiosk);
                    }
                    enrol::Next::Wait => {}
                }
            }
            Message::RemoveFinger(login, finger) => {
                return self.change(kiosk, "Removendo…", move |k, s| {
                    k.remove_person_finger(s, &login, finger)?;
                    Ok(format!("{} de {login} removido", finger.label_pt()))
                });
            }
            Message::Done(result) => {
                self.busy = None;
                match result {
                    Ok(notice) => {
                        self.notice = Some(notice);
                        self.adding = None;
                    }
                    Err(e) => self.error = Some(e),
                }
                return self.load(kiosk);
            }
        }
        Task::none()
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, Message> {
        let mut body = column![
            row![
                widget::title("Administração — pessoas"),
                Space::new().width(Length::Fill),
                widget::action(
                    "Cadastrar pessoa",
                    (self.adding.is_none() && self.enrol.is_none()).then_some(Message::Add)
                ),
            ]
            .align_y(iced::Alignment::Center)
        ]
        .spacing(16);
        if let Some(n) = &self.notice {
            body = body.push(widget::notice(n.as_str()));
        }
        if let Some(busy) = self.busy {
            body = body.push(widget::notice(busy));
        }
        if let Some(e) = &self.error {
            body = body.push(widget::error_box(e.to_string(), Vec::new()));
        }
        if let Some(form) = &self.adding {
            body = body.push(widget::card(
                column![
                    widget::heading("Nova pessoa"),
                    form.view().map(Message::Form),
                    row![
                        widget::action("Salvar", self.busy.is_none().then_some(Message::Save)),
                        widget::secondary("Cancelar", Some(Message::Cancel)),
                    ]
                    .spacing(12),
                ]
                .spacing(12),
            ));
        }
        if let Some(panel) = &self.enrol {
            body = body.push(panel.view().map(Message::Enrolment));
            body = body.push(widget::secondary(
                "Fechar cadastro de digital",
                Some(Message::Cancel),
            ));
        }
        if let Some((login, password, confirm)) = &self.reset {
            body = body.push(widget::card(
                column![
                    widget::heading(format!("Nova senha de {login}")),
                    row![
                        text_input("nova senha", password)
                            .id(RESET_INPUT)
                            .secure(true)
                            .on_input(Message::ResetPassword)
                            .padding(10),
                        text_input("repita", confirm)
                            .id(RESET_CONFIRM_INPUT)
                            .secure(true)
                            .on_input(Message::ResetConfirm)
                            .padding(10),
                    ]
                    .spacing(12),
                    row![
                        widget::action("Salvar senha", Some(Message::SaveReset)),
                        widget::secondary("Cancelar", Some(Message::Cancel)),
                    ]
                    .spacing(12),
                ]
                .spacing(12),
            ));
        }
        let mut list = column![].spacing(10);
        for person in &self.people {
            list = list.push(self.person_row(person));
        }
        body = body.push(list);
        scrollable(container(body).padding([20, 20]).width(Length::Fill)).into()
    }

    fn person_row<'a>(&'a self, p: &'a StaffMember) -> Element<'a, Message> {
        let me = p.login == self.session.login;
        let mut state = format!(
            "{} · {} · CPF {}",
            p.role.label_pt(),
            if p.active { "ativo" } else { "desativado" },
            p.cpf
        );
        if p.role == Role::Inspector {
            let fingers: Vec<&str> = p.fingers.iter().map(|f| f.label_pt()).collect();
            state.push_str(&match fingers.len() {
                0 => " · nenhuma digital cadastrada".to_owned(),
                _ => format!(" · digitais: {}", fingers.join(", ")),
            });
        }
        let mut actions = row![].spacing(8);
        if p.role == Role::Inspector && p.active {
            actions = actions.push(widget::secondary(
                "Cadastrar digital",
                self.enrol
                    .is_none()
                    .then(|| Message::Enrol(p.login.clone())),
            ));
            for finger in &p.fingers {
                actions = actions.push(widget::secondary(
                    format!("Remover {}", finger.label_pt()),
                    Some(Message::RemoveFinger(p.login.clone(), *finger)),
                ));
            }
        }
        if !p.role.uses_fingerprint() {
            actions = actions.push(widget::secondary(
                "Trocar senha",
                Some(Message::Reset(p.login.clone())),
            ));
        }
        if !me {
            actions = actions.push(if p.active {
                widget::danger(
                    "Desativar",
                    Some(Message::SetActive(p.login.clone(), false)),
                )
            } else {
                widget::secondary("Reativar", Some(Message::SetActive(p.login.clone(), true)))
            });
        }
        let mut info = column![
            text(format!("{} ({})", p.name, p.login))
                .size(widget::BODY)
                .font(widget::BOLD),
            widget::muted(state),
        ]
        .spacing(4);
        if p.needs_fingers() && p.active {
            info = info.push(widget::muted("Cadastre dois dedos deste vistoriador."));
        }
        widget::card(column![info, actions].spacing(10))
    }
}
