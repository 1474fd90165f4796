//! The form for one person (name, CPF, login, role, password typed twice), shared by the
//! Administração screen and the first administrator's setup. It only gathers what was typed:
//! the checks (CPF digits, login shape, password strength, unique login and CPF) are core's,
//! and their Portuguese reasons come back as the screen's error.

use iced::widget::{column, row, text_input};
use iced::{Element, Length};
use vistoria_core::accounts::Role;
use vistoria_core::staff::NewPerson;
use vistoria_station::Failure;

use crate::widget;

/// Field ids (tests).
pub const NAME_INPUT: &str = "pessoa-nome";
/// CPF field id.
pub const CPF_INPUT: &str = "pessoa-cpf";
/// Login field id.
pub const LOGIN_INPUT: &str = "pessoa-usuario";
/// Password field id.
pub const PASSWORD_INPUT: &str = "pessoa-senha";
/// Confirmation field id.
pub const CONFIRM_INPUT: &str = "pessoa-senha-confirma";

/// What was typed.
#[derive(Debug, Clone, Default)]
pub struct PersonForm {
    name: String,
    cpf: String,
    login: String,
    role: Option<Role>,
    password: String,
    confirm: String,
    /// The setup makes an administrator and nothing else.
    fixed_role: Option<Role>,
}

/// A keystroke or choice on the form.
#[derive(Debug, Clone)]
pub enum FormMessage {
    /// Name typed.
    Name(String),
    /// CPF typed.
    Cpf(String),
    /// Login typed.
    Login(String),
    /// Role chosen.
    Role(Role),
    /// Password typed.
    Password(String),
    /// Confirmation typed.
    Confirm(String),
}

impl PersonForm {
    /// An empty form; with `fixed_role` the role is not offered.
    pub fn new(fixed_role: Option<Role>) -> PersonForm {
        PersonForm {
            fixed_role,
            role: fixed_role,
            ..PersonForm::default()
        }
    }

    /// Applies a keystroke or choice.
    pub fn update(&mut self, message: FormMessage) {
        match message {
            FormMessage::Name(s) => self.name = s,
            FormMessage::Cpf(s) => self.cpf = s,
            FormMessage::Login(s) => self.login = s,
            FormMessage::Role(r) if self.fixed_role.is_none() => self.role = Some(r),
            FormMessage::Role(_) => {}
            FormMessage::Password(s) => self.password = s,
            FormMessage::Confirm(s) => self.confirm = s,
        }
    }

    /// The person, or what is missing; the passwords are forgotten either way.
    pub fn take(&mut self) -> Result<NewPerson, Failure> {
        let (password, confirm) = (
            std::mem::take(&mut self.password),
            std::mem::take(&mut self.confirm),
        );
        let Some(role) = self.role else {
            return Err(Failure::rule("Escolha a função da pessoa"));
        };
        let password = if role.uses_fingerprint() {
            None
        } else if password.is_empty() {
            return Err(Failure::rule("Digite a senha duas vezes"));
        } else if password != confirm {
            return Err(Failure::rule("As senhas digitadas não conferem"));
        } else {
            Some(password)
        };
        Ok(NewPerson {
            login: self.login.clone(),
            name: self.name.clone(),
            cpf: self.cpf.clone(),
            role,
            password,
        })
    }

    /// Draws it.
    pub fn view(&self) -> Element<'_, FormMessage> {
        let input = |placeholder: &str, value: &str, id: &'static str| {
            text_input(placeholder, value)
                .id(id)
                .padding(10)
                .size(widget::BODY)
        };
        let mut form = column![
            widget::field(
                "Nome completo",
                input("ex.: Maria da Silva", &self.name, NAME_INPUT).on_input(FormMessage::Name)
            ),
            row![
                widget::field(
                    "CPF",
                    input("somente números", &self.cpf, CPF_INPUT).on_input(FormMessage::Cpf)
                ),
                widget::field(
                    "Usuário",
                    input("ex.: maria.silva", &self.login, LOGIN_INPUT)
                        .on_input(FormMessage::Login)
                ),
            ]
            .spacing(12),
        ]
        .spacing(12);
        if self.fixed_role.is_none() {
            let mut roles = row![].spacing(8);
            for role in Role::ALL {
                roles = roles.push(widget::toggle(
                    role.label_pt(),
                    self.role == Some(role),
                    FormMessage::Role(role),
                ));
            }
            form = form.push(widget::field("Função", roles));
        }
        if self.role.is_some_and(Role::uses_fingerprint) {
            form = form.push(widget::muted(
                "Vistoriadores entram somente pela digital: cadastre dois dedos depois de salvar.",
            ));
        } else {
            form = form.push(
                row![
                    widget::field(
                        "Senha (8 caracteres ou mais)",
                        input("", &self.password, PASSWORD_INPUT)
                            .secure(true)
                            .on_input(FormMessage::Password)
                    ),
                    widget::field(
                        "Repita a senha",
                        input("", &self.confirm, CONFIRM_INPUT)
                            .secure(true)
                            .on_input(FormMessage::Confirm)
                    ),
                ]
                .spacing(12)
                .width(Length::Fill),
            );
        }
        form.into()
    }
}
