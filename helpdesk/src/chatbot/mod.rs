//! The WhatsApp chatbot as a pure state machine (seed 003: "chatbot para guiar a abertura do
//! chamado, solicitando dados necessários para identificação do usuário (tais como nome, email,
//! etc), além da exibição de um menu para identificação do tipo de chamado"). One call of
//! [`step`] takes the conversation's state and what the person sent and returns the next state,
//! the replies and at most one effect for the service to carry out; nothing else happens here.

pub mod hours;
pub mod texts;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Category;
use crate::model::{Choice, Contact, OutboundBody, Purpose, Status, TicketId};
use hours::BusinessHours;
use texts::Texts;

/// Where a conversation stands between two messages (kept in the store as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChatState {
    /// Waiting for the person's name.
    AskName,
    /// Waiting for the e-mail.
    AskEmail {
        /// Name given.
        name: String,
    },
    /// Waiting for the station code.
    AskStation {
        /// Name given.
        name: String,
        /// E-mail given.
        email: String,
    },
    /// The menu of ticket types is shown.
    Menu,
    /// Waiting for the description.
    AskDescription {
        /// Category key.
        category: String,
        /// Media sent before the description.
        media: Vec<MediaIn>,
    },
    /// Description given; more details or media may follow until "Abrir chamado".
    AskMedia {
        /// Category key.
        category: String,
        /// The description so far.
        description: String,
        /// Media so far.
        media: Vec<MediaIn>,
    },
    /// Solution accepted; waiting for the rating.
    AskRating {
        /// The ticket.
        ticket: TicketId,
    },
    /// Solution refused; waiting for what is still wrong.
    AskReason {
        /// The ticket.
        ticket: TicketId,
    },
}

/// What kind of media a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A photo.
    Image,
    /// A voice note or audio file.
    Audio,
    /// A video.
    Video,
    /// A document (PDF, spreadsheet, zip…).
    Document,
}

impl MediaKind {
    /// WhatsApp's `type` for it.
    pub fn code(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }
}

/// A media the person sent: still at Meta, fetched later by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaIn {
    /// What it is.
    pub kind: MediaKind,
    /// Meta's media id.
    pub media_id: String,
    /// Its MIME type.
    pub mime: String,
    /// The file name (documents).
    pub filename: Option<String>,
    /// The caption typed with it.
    pub caption: Option<String>,
}

impl MediaIn {
    /// A file name for the attachment.
    pub fn file_name(&self) -> String {
        if let Some(f) = &self.filename {
            return f.clone();
        }
        let ext = match self.mime.split(';').next().unwrap_or("").trim() {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/webp" => "webp",
            "video/mp4" => "mp4",
            "video/3gpp" => "3gp",
            "audio/ogg" => "ogg",
            "audio/mpeg" => "mp3",
            "audio/mp4" | "audio/aac" => "m4a",
            "application/pdf" => "pdf",
            _ => "bin",
        };
        format!("{}-{}.{ext}", self.kind.code(), self.media_id)
    }
}

/// What the person sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Typed text.
    Text(String),
    /// A button or list row chosen.
    Choice {
        /// The choice's id.
        id: String,
        /// Its title.
        title: String,
    },
    /// A photo, audio, video or document.
    Media(MediaIn),
    /// Something the bot cannot read (location, sticker, contact card…).
    Unsupported,
}

/// What the bot knows when a message arrives.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The contact with this number, if any.
    pub contact: Option<&'a Contact>,
    /// Their latest ticket that is not closed, with its status.
    pub open_ticket: Option<(TicketId, Status)>,
    /// Now.
    pub now: DateTime<Utc>,
    /// Business hours.
    pub hours: &'a BusinessHours,
    /// Messages in force.
    pub texts: &'a Texts,
    /// The menu.
    pub categories: &'a [Category],
}

/// What the service must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Add (or update) the contact with this number.
    SaveContact {
        /// Name.
        name: String,
        /// E-mail.
        email: String,
        /// Station code.
        station: String,
    },
    /// Open a ticket.
    OpenTicket {
        /// Category key.
        category: String,
        /// Description.
        description: String,
        /// Media to attach.
        media: Vec<MediaIn>,
    },
    /// Add the person's message to their open ticket.
    AddMessage {
        /// The ticket.
        ticket: TicketId,
        /// Text (may be empty with media).
        text: String,
        /// Media to attach.
        media: Vec<MediaIn>,
    },
    /// The solution is accepted, with a rating.
    Accept {
        /// The ticket.
        ticket: TicketId,
        /// 1–5.
        rating: u8,
    },
    /// The solution is refused.
    Refuse {
        /// The ticket.
        ticket: TicketId,
        /// What is still wrong.
        reason: String,
    },
}

/// A reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Why.
    pub purpose: Purpose,
    /// What.
    pub body: OutboundBody,
}

/// The outcome of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The conversation's next state (`None`: idle).
    pub state: Option<ChatState>,
    /// Replies, in order.
    pub replies: Vec<Reply>,
    /// What the service must do.
    pub effect: Option<Effect>,
}

/// Choice ids of the buttons.
pub mod choice {
    /// "Abrir chamado".
    pub const OPEN: &str = "abrir";
    /// "Cancelar".
    pub const CANCEL: &str = "cancelar";
    /// "Sim, resolvido".
    pub const YES: &str = "sim";
    /// "Não foi resolvido".
    pub const NO: &str = "nao";
    /// Prefix of a menu entry's id (`cat:` + category key).
    pub const CATEGORY: &str = "cat:";
}

fn normalise(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect::<String>()
        .trim_end_matches(['.', '!'])
        .to_owned()
}

fn is_email(s: &str) -> bool {
    let s = s.trim();
    let Some((user, domain)) = s.split_once('@') else {
        return false;
    };
    !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
        && s.matches('@').count() == 1
}

fn station_code(s: &str) -> Option<String> {
    let code = s.trim().to_uppercase();
    let ok = (3..=20).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    ok.then_some(code)
}

fn text(purpose: Purpose, t: String) -> Reply {
    Reply {
        purpose,
        body: OutboundBody::Text { text: t },
    }
}

fn chat(t: String) -> Reply {
    text(Purpose::Chat, t)
}

impl Context<'_> {
    fn out_of_hours(&self) -> Option<String> {
        (!self.hours.is_open(self.now)).then(|| {
            self.texts.render(
                "fora_do_horario",
                &[
                    ("horario", &self.hours.describe()),
                    ("retorno", &self.hours.describe_return(self.now)),
                ],
            )
        })
    }

    fn menu(&self) -> Reply {
        let mut body = self.texts.get("menu").to_owned();
        for (i, c) in self.categories.iter().enumerate() {
            body.push_str(&format!("\n{}. {}", i + 1, c.title));
        }
        Reply {
            purpose: Purpose::Chat,
            body: OutboundBody::List {
                text: body,
                button: self.texts.get("menu_botao").to_owned(),
                choices: self
                    .categories
                    .iter()
                    .map(|c| Choice {
                        id: format!("{}{}", choice::CATEGORY, c.key),
                        title: c.title.clone(),
                        description: None,
                    })
                    .collect(),
            },
        }
    }

    fn open_or_cancel(&self, key: &str) -> Reply {
        Reply {
            purpose: Purpose::Chat,
            body: OutboundBody::Buttons {
                text: self.texts.get(key).to_owned(),
                choices: vec![
                    Choice {
                        id: choice::OPEN.into(),
                        title: self.texts.get("botao_abrir").into(),
                        description: None,
                    },
                    Choice {
                        id: choice::CANCEL.into(),
                        title: self.texts.get("botao_cancelar").into(),
                        description: None,
                    },
                ],
            },
        }
    }

    /// The solution's yes/no buttons, with `text` above them.
    pub fn yes_no(&self, text: String) -> OutboundBody {
        OutboundBody::Buttons {
            text,
            choices: vec![
                Choice {
                    id: choice::YES.into(),
                    title: self.texts.get("botao_sim").into(),
                    description: None,
                },
                Choice {
                    id: choice::NO.into(),
                    title: self.texts.get("botao_nao").into(),
                    description: None,
                },
            ],
        }
    }

    fn pick_category(&self, input: &Input) -> Option<&Category> {
        match input {
            Input::Choice { id, .. } => {
                let key = id.strip_prefix(choice::CATEGORY)?;
                self.categories.iter().find(|c| c.key == key)
            }
            Input::Text(t) => {
                let n = normalise(t);
                if let Ok(i) = n.parse::<usize>() {
                    return i.checked_sub(1).and_then(|i| self.categories.get(i));
                }
                self.categories
                    .iter()
                    .find(|c| normalise(&c.title) == n || c.key == n)
            }
            _ => None,
        }
    }
}

fn step_of(state: Option<ChatState>, replies: Vec<Reply>, effect: Option<Effect>) -> Step {
    Step {
        state,
        replies,
        effect,
    }
}

fn wants_cancel(input: &Input) -> bool {
    match input {
        Input::Choice { id, .. } => id == choice::CANCEL,
        Input::Text(t) => matches!(normalise(t).as_str(), "cancelar" | "cancela" | "sair"),
        _ => false,
    }
}

fn wants_menu(input: &Input) -> bool {
    matches!(input, Input::Text(t) if matches!(normalise(t).as_str(), "menu" | "novo" | "novo chamado" | "abrir chamado"))
}

/// Handles one message of a conversation.
pub fn step(state: Option<&ChatState>, input: &Input, ctx: &Context) -> Step {
    if matches!(input, Input::Unsupported) {
        return step_of(
            state.cloned(),
            vec![chat(ctx.texts.get("tipo_nao_suportado").to_owned())],
            None,
        );
    }
    let Some(state) = state else {
        return idle(input, ctx);
    };
    if wants_cancel(input)
        && !matches!(
            state,
            ChatState::AskRating { .. } | ChatState::AskReason { .. }
        )
    {
        return step_of(
            None,
            vec![chat(ctx.texts.get("cancelado").to_owned())],
            None,
        );
    }
    match state {
        ChatState::AskName => match input {
            Input::Text(t) if t.trim().chars().filter(|c| c.is_alphabetic()).count() >= 3 => {
                let name = t.trim().to_owned();
                let ask = ctx.texts.render("pedir_email", &[("nome", &name)]);
                step_of(Some(ChatState::AskEmail { name }), vec![chat(ask)], None)
            }
            _ => step_of(
                Some(ChatState::AskName),
                vec![chat(ctx.texts.get("nome_invalido").into())],
                None,
            ),
        },
        ChatState::AskEmail { name } => match input {
            Input::Text(t) if is_email(t) => step_of(
                Some(ChatState::AskStation {
                    name: name.clone(),
                    email: t.trim().to_lowercase(),
                }),
                vec![chat(ctx.texts.get("pedir_estacao").into())],
                None,
            ),
            _ => step_of(
                Some(state.clone()),
                vec![chat(ctx.texts.get("email_invalido").into())],
                None,
            ),
        },
        ChatState::AskStation { name, email } => match input {
            Input::Text(t) => match station_code(t) {
                Some(station) => step_of(
                    Some(ChatState::Menu),
                    vec![ctx.menu()],
                    Some(Effect::SaveContact {
                        name: name.clone(),
                        email: email.clone(),
                        station,
                    }),
                ),
                None => step_of(
                    Some(state.clone()),
                    vec![chat(ctx.texts.get("estacao_invalida").into())],
                    None,
                ),
            },
            _ => step_of(
                Some(state.clone()),
                vec![chat(ctx.texts.get("estacao_invalida").into())],
                None,
            ),
        },
        ChatState::Menu => match ctx.pick_category(input) {
            Some(c) => step_of(
                Some(ChatState::AskDescription {
                    category: c.key.clone(),
                    media: Vec::new(),
                }),
                vec![chat(ctx.texts.get("pedir_descricao").into())],
                None,
            ),
            None => step_of(
                Some(ChatState::Menu),
                vec![chat(ctx.texts.get("opcao_invalida").into()), ctx.menu()],
                None,
            ),
        },
        ChatState::AskDescription { category, media } => match input {
            Input::Text(t) if t.trim().chars().count() >= 5 => step_of(
                Some(ChatState::AskMedia {
                    category: category.clone(),
                    description: t.trim().to_owned(),
                    media: media.clone(),
                }),
                vec![ctx.open_or_cancel("pedir_anexos")],
                None,
            ),
            Input::Media(m) => {
                let mut media = media.clone();
                media.push(m.clone());
                match m
                    .caption
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| c.chars().count() >= 5)
                {
                    Some(caption) => step_of(
                        Some(ChatState::AskMedia {
                            category: category.clone(),
                            description: caption.to_owned(),
                            media,
                        }),
                        vec![ctx.open_or_cancel("anexo_recebido")],
                        None,
                    ),
                    None => step_of(
                        Some(ChatState::AskDescription {
                            category: category.clone(),
                            media,
                        }),
                        vec![chat(ctx.texts.get("pedir_descricao").into())],
                        None,
                    ),
                }
            }
            _ => step_of(
                Some(state.clone()),
                vec![chat(ctx.texts.get("descricao_curta").into())],
                None,
            ),
        },
        ChatState::AskMedia {
            category,
            description,
            media,
        } => {
            let open = match input {
                Input::Choice { id, .. } => id == choice::OPEN,
                Input::Text(t) => matches!(
                    normalise(t).as_str(),
                    "abrir" | "abrir chamado" | "nao" | "pronto" | "so isso" | "ok"
                ),
                _ => false,
            };
            if open {
                let mut replies = vec![text(
                    Purpose::Confirmation,
                    ctx.texts.get("confirmacao").to_owned(),
                )];
                if let Some(notice) = ctx.out_of_hours() {
                    replies.push(chat(notice));
                }
                return step_of(
                    None,
                    replies,
                    Some(Effect::OpenTicket {
                        category: category.clone(),
                        description: description.clone(),
                        media: media.clone(),
                    }),
                );
            }
            let mut next = (description.clone(), media.clone());
            match input {
                Input::Media(m) => {
                    if let Some(c) = m.caption.as_deref().filter(|c| !c.trim().is_empty()) {
                        next.0 = format!("{}\n{}", next.0, c.trim());
                    }
                    next.1.push(m.clone());
                }
                Input::Text(t) => next.0 = format!("{}\n{}", next.0, t.trim()),
                _ => {}
            }
            step_of(
                Some(ChatState::AskMedia {
                    category: category.clone(),
                    description: next.0,
                    media: next.1,
                }),
                vec![ctx.open_or_cancel("anexo_recebido")],
                None,
            )
        }
        ChatState::AskRating { ticket } => {
            let rating = match input {
                Input::Text(t) => normalise(t)
                    .parse::<u8>()
                    .ok()
                    .filter(|r| (1..=5).contains(r)),
                _ => None,
            };
            match rating {
                Some(rating) => step_of(
                    None,
                    vec![chat(ctx.texts.get("agradecimento").into())],
                    Some(Effect::Accept {
                        ticket: *ticket,
                        rating,
                    }),
                ),
                None => step_of(
                    Some(state.clone()),
                    vec![chat(ctx.texts.get("nota_invalida").into())],
                    None,
                ),
            }
        }
        ChatState::AskReason { ticket } => match input {
            Input::Text(t) if !t.trim().is_empty() => step_of(
                None,
                vec![chat(ctx.texts.get("reaberto").into())],
                Some(Effect::Refuse {
                    ticket: *ticket,
                    reason: t.trim().to_owned(),
                }),
            ),
            Input::Media(m) => step_of(
                None,
                vec![chat(ctx.texts.get("reaberto").into())],
                Some(Effect::Refuse {
                    ticket: *ticket,
                    reason: m.caption.clone().unwrap_or_default(),
                }),
            ),
            _ => step_of(
                Some(state.clone()),
                vec![chat(ctx.texts.get("pedir_motivo").into())],
                None,
            ),
        },
    }
}

/// A message outside any guided step: greet and identify, or talk about the open ticket.
fn idle(input: &Input, ctx: &Context) -> Step {
    let Some(contact) = ctx.contact else {
        let mut replies = vec![chat(ctx.texts.get("boas_vindas").into())];
        replies.extend(ctx.out_of_hours().map(chat));
        replies.push(chat(ctx.texts.get("pedir_nome").into()));
        return step_of(Some(ChatState::AskName), replies, None);
    };
    let greet = |ctx: &Context| {
        let mut replies = vec![chat(
            ctx.texts
                .render("saudacao", &[("nome", first_name(&contact.name))]),
        )];
        replies.extend(ctx.out_of_hours().map(chat));
        replies.push(ctx.menu());
        step_of(Some(ChatState::Menu), replies, None)
    };
    let Some((ticket, status)) = ctx.open_ticket else {
        return greet(ctx);
    };
    if wants_menu(input) {
        return greet(ctx);
    }
    if status == Status::Solved {
        let answer = match input {
            Input::Choice { id, .. } => Some(id == choice::YES),
            Input::Text(t) => match normalise(t).as_str() {
                "sim" | "s" | "resolvido" | "sim, resolvido" => Some(true),
                "nao" | "n" | "nao foi resolvido" => Some(false),
                _ => None,
            },
            _ => None,
        };
        return match answer {
            Some(true) => step_of(
                Some(ChatState::AskRating { ticket }),
                vec![chat(ctx.texts.get("pedir_nota").into())],
                None,
            ),
            Some(false) => step_of(
                Some(ChatState::AskReason { ticket }),
                vec![chat(ctx.texts.get("pedir_motivo").into())],
                None,
            ),
            None => step_of(
                None,
                vec![Reply {
                    purpose: Purpose::Chat,
                    body: ctx.yes_no(ctx.texts.get("responda_sim_nao").into()),
                }],
                None,
            ),
        };
    }
    let (text_part, media) = match input {
        Input::Text(t) => (t.trim().to_owned(), Vec::new()),
        Input::Choice { title, .. } => (title.clone(), Vec::new()),
        Input::Media(m) => (m.caption.clone().unwrap_or_default(), vec![m.clone()]),
        Input::Unsupported => (String::new(), Vec::new()),
    };
    let replies = ctx.out_of_hours().map(chat).into_iter().collect();
    step_of(
        None,
        replies,
        Some(Effect::AddMessage {
            ticket,
            text: text_part,
            media,
        }),
    )
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

#[cfg(test)]
mod tests;
