//! `GET/POST /portal/chamados/novo`: a ticket opened on behalf of someone who phoned (the web
//! channel): an existing contact, or a new one typed in the same form; the category, station,
//! title and description. The confirmation with the number goes to the contact like any
//! other; refused input comes back with everything typed and the reason.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vistoria_helpdesk::model::{Channel, Contact, ContactId, ContactInput};
use vistoria_helpdesk::service::{OpenRequest, ServiceError};

use super::contacts::input_from;
use super::look::{alert, respond};
use super::{call, helpdesk, message_of, refused, status_of};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::form_field;
use crate::portal::web::layout::{csrf_input, escape};

/// The form's fields (kept to show again).
#[derive(Debug, Default, Clone)]
struct Typed {
    contato: String,
    nome: String,
    email: String,
    telefone: String,
    estacao: String,
    categoria: String,
    titulo: String,
    descricao: String,
}

impl Typed {
    fn from_body(body: &[u8]) -> Typed {
        Typed {
            contato: form_field(body, "contato"),
            nome: form_field(body, "nome"),
            email: form_field(body, "email"),
            telefone: form_field(body, "telefone"),
            estacao: form_field(body, "estacao"),
            categoria: form_field(body, "categoria"),
            titulo: form_field(body, "titulo"),
            descricao: form_field(body, "descricao"),
        }
    }
}

/// `GET /portal/chamados/novo`.
pub async fn form(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    page(&state, &viewer, StatusCode::OK, None, &Typed::default()).await
}

async fn page(
    state: &Arc<AppState>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    typed: &Typed,
) -> Response {
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let categories: Vec<(String, String)> = match call(&helpdesk, |h| h.categories()).await {
        Ok(Ok(c)) => c.into_iter().map(|c| (c.key, c.title)).collect(),
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let contacts: Vec<Contact> = match call(&helpdesk, |h| h.contacts()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let contact_options: String = std::iter::once(
        "<option value=\"\">— contato novo (preencha abaixo) —</option>".to_owned(),
    )
    .chain(contacts.iter().map(|c| {
        let selected = if typed.contato == c.id.0.to_string() {
            " selected"
        } else {
            ""
        };
        format!(
            "<option value=\"{}\"{selected}>{}{}</option>",
            c.id.0,
            escape(&c.name),
            c.station
                .as_deref()
                .map(|s| format!(" ({})", escape(s)))
                .unwrap_or_default()
        )
    }))
    .collect();
    let category_options: String = categories
        .iter()
        .map(|(key, title)| {
            let selected = if typed.categoria == *key {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                escape(key),
                escape(title)
            )
        })
        .collect();
    let body = format!(
        "<h1>Abrir chamado por telefone</h1>{}\
         <form class=\"acao caixa\" method=\"post\" action=\"/portal/chamados/novo\" id=\"form-novo\">{}\
         <label>Contato<select name=\"contato\" id=\"contato\">{contact_options}</select></label>\
         <fieldset class=\"linha\"><legend>Contato novo</legend>\
         <label>Nome<input name=\"nome\" id=\"nome\" value=\"{}\"></label>\
         <label>E-mail<input name=\"email\" id=\"email\" type=\"email\" value=\"{}\"></label>\
         <label>WhatsApp (DDI+DDD+número)<input name=\"telefone\" id=\"telefone\" value=\"{}\" \
         inputmode=\"numeric\"></label></fieldset>\
         <label>Estação (código da ECV)<input name=\"estacao\" id=\"estacao\" value=\"{}\" \
         placeholder=\"a do contato, se vazio\"></label>\
         <label>Tipo<select name=\"categoria\" id=\"categoria\">{category_options}</select></label>\
         <label>Título<input name=\"titulo\" id=\"titulo-chamado\" value=\"{}\" \
         placeholder=\"opcional: feito da descrição\"></label>\
         <label>Descrição<textarea name=\"descricao\" id=\"descricao\" required>{}</textarea></label>\
         <div><button class=\"principal\" type=\"submit\" id=\"abrir\">Abrir chamado</button></div>\
         </form>",
        alert(error),
        csrf_input(viewer),
        escape(&typed.nome),
        escape(&typed.email),
        escape(&typed.telefone),
        escape(&typed.estacao),
        escape(&typed.titulo),
        escape(&typed.descricao),
    );
    respond(
        status,
        "Abrir chamado",
        viewer,
        "/portal/chamados/novo",
        &body,
        false,
    )
}

/// `POST /portal/chamados/novo`.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let typed = Typed::from_body(&body);
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let request = typed.clone();
    let opened = call(&helpdesk, move |h| {
        let contact_id = match request.contato.trim() {
            "" => {
                let input: ContactInput = input_from(
                    &request.nome,
                    &request.email,
                    &request.telefone,
                    &request.estacao,
                );
                h.add_contact(&input)?.id
            }
            id => ContactId(id.parse().map_err(|_| ServiceError::Invalid {
                field: "contato",
                message: "escolha um contato da lista".into(),
            })?),
        };
        // The contact stays (and is chosen when the form comes back) even if the ticket is
        // refused: what was typed is not lost, and it is not added twice.
        Ok((
            contact_id,
            h.open_ticket(OpenRequest {
                channel: Channel::Web,
                contact_id,
                station: Some(request.estacao.trim().to_uppercase()).filter(|s| !s.is_empty()),
                category: request.categoria.clone(),
                title: Some(request.titulo.clone()),
                description: request.descricao.clone(),
                attachments: Vec::new(),
            }),
        ))
    })
    .await;
    match opened {
        Ok(Ok((_, Ok(ticket)))) => {
            tracing::info!(user = %viewer.account.name, ticket = %ticket.id, "chamado aberto pelo console");
            Redirect::to(&format!("/portal/chamados/{}", ticket.id.0)).into_response()
        }
        Ok(Ok((contact, Err(e)))) => {
            let typed = Typed {
                contato: contact.0.to_string(),
                ..typed
            };
            page(
                &state,
                &viewer,
                status_of(&e),
                Some(&message_of(&e)),
                &typed,
            )
            .await
        }
        Ok(Err(e)) => {
            page(
                &state,
                &viewer,
                status_of(&e),
                Some(&message_of(&e)),
                &typed,
            )
            .await
        }
        Err(page) => page,
    }
}
