//! `/portal/chamados/contatos`: the help desk's address book. The team adds and edits contacts
//! (a caller, a new ECV employee); removing one is an administrator's decision (seed 003:
//! the administrator manages contacts), and removes it from the book only: its tickets and
//! conversations stay archived.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vistoria_helpdesk::model::{Contact, ContactId, ContactInput};
use vistoria_helpdesk::service::ServiceError;

use super::look::{alert, respond};
use super::{call, helpdesk, message_of, refused, status_of};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::form_field;
use crate::portal::web::layout::{csrf_input, escape, when};
use crate::storage::portal::PortalRole;

/// A contact as typed: blanks are absent, the phone keeps its digits only (people type
/// "+55 (65) 99999-0001"), the station is upper case.
pub fn input_from(name: &str, email: &str, phone: &str, station: &str) -> ContactInput {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    ContactInput {
        name: name.trim().to_owned(),
        email: some(email),
        phone: Some(digits).filter(|d| !d.is_empty()),
        station: some(station).map(|s| s.to_uppercase()),
        glpi_user_id: None,
    }
}

fn input_of(body: &[u8]) -> ContactInput {
    input_from(
        &form_field(body, "nome"),
        &form_field(body, "email"),
        &form_field(body, "telefone"),
        &form_field(body, "estacao"),
    )
}

/// `GET /portal/chamados/contatos`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    page(
        &state,
        &viewer,
        StatusCode::OK,
        None,
        None,
        &ContactInput::default(),
    )
    .await
}

async fn page(
    state: &Arc<AppState>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    done: Option<&str>,
    typed: &ContactInput,
) -> Response {
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let contacts: Vec<Contact> = match call(&helpdesk, |h| h.contacts()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let admin = viewer.account.role == PortalRole::Admin;
    let rows: String = contacts
        .iter()
        .map(|c| {
            let n = c.id.0;
            let delete = if admin {
                format!(
                    "<form method=\"post\" action=\"/portal/chamados/contatos/{n}/excluir\">{}\
                     <button class=\"perigo\" type=\"submit\" id=\"excluir-{n}\">Excluir</button>\
                     </form>",
                    csrf_input(viewer)
                )
            } else {
                String::new()
            };
            // Each row is its own form (HTML has no form per table row: the inputs name it).
            format!(
                "<tr data-contato=\"{n}\"><td><input form=\"c{n}\" name=\"nome\" value=\"{}\" \
                 aria-label=\"Nome\"></td><td><input form=\"c{n}\" name=\"email\" value=\"{}\" \
                 aria-label=\"E-mail\"></td><td><input form=\"c{n}\" name=\"telefone\" \
                 value=\"{}\" aria-label=\"WhatsApp\"></td><td><input form=\"c{n}\" \
                 name=\"estacao\" value=\"{}\" aria-label=\"Estação\" size=\"12\"></td>\
                 <td class=\"nota\">{}</td><td><form method=\"post\" id=\"c{n}\" \
                 action=\"/portal/chamados/contatos/{n}\">{}<button class=\"secundario\" \
                 type=\"submit\" id=\"salvar-{n}\">Salvar</button></form>{delete}</td></tr>",
                escape(&c.name),
                escape(c.email.as_deref().unwrap_or("")),
                escape(c.phone.as_deref().unwrap_or("")),
                escape(c.station.as_deref().unwrap_or("")),
                escape(&when(c.created_at)),
                csrf_input(viewer),
            )
        })
        .collect();
    let done = done
        .map(|d| {
            format!(
                "<div class=\"ok-aviso\" role=\"status\">{}</div>",
                escape(d)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Contatos</h1>{}{done}\
         <form class=\"pesquisa caixa\" method=\"post\" action=\"/portal/chamados/contatos\" \
         id=\"form-contato\">{}<label>Nome<input name=\"nome\" id=\"novo-nome\" value=\"{}\" \
         required></label><label>E-mail<input name=\"email\" id=\"novo-email\" value=\"{}\"></label>\
         <label>WhatsApp (DDI+DDD+número)<input name=\"telefone\" id=\"novo-telefone\" value=\"{}\">\
         </label><label>Estação<input name=\"estacao\" id=\"novo-estacao\" value=\"{}\"></label>\
         <button class=\"principal\" type=\"submit\" id=\"adicionar\">Adicionar contato</button></form>\
         <div class=\"caixa\"><table id=\"contatos\"><thead><tr><th>Nome</th><th>E-mail</th>\
         <th>WhatsApp</th><th>Estação</th><th>Desde</th><th></th></tr></thead><tbody>{rows}\
         </tbody></table></div><p class=\"nota\">Excluir tira o contato da agenda; os chamados \
         e conversas dele continuam arquivados.</p>",
        alert(error),
        csrf_input(viewer),
        escape(&typed.name),
        escape(typed.email.as_deref().unwrap_or("")),
        escape(typed.phone.as_deref().unwrap_or("")),
        escape(typed.station.as_deref().unwrap_or("")),
    );
    respond(
        status,
        "Contatos",
        viewer,
        "/portal/chamados/contatos",
        &body,
        false,
    )
}

async fn after(
    state: &Arc<AppState>,
    viewer: &Viewer,
    result: Result<Result<(), ServiceError>, Response>,
    typed: &ContactInput,
) -> Response {
    match result {
        Ok(Ok(())) => Redirect::to("/portal/chamados/contatos").into_response(),
        Ok(Err(e)) => {
            page(
                state,
                viewer,
                status_of(&e),
                Some(&message_of(&e)),
                None,
                typed,
            )
            .await
        }
        Err(page) => page,
    }
}

/// `POST /portal/chamados/contatos`: adds a contact.
pub async fn add(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let input = input_of(&body);
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let given = input.clone();
    let result = call(&helpdesk, move |h| h.add_contact(&given).map(|_| ())).await;
    after(&state, &viewer, result, &input).await
}

/// `POST /portal/chamados/contatos/{id}`: saves a contact's row.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let input = input_of(&body);
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let given = input.clone();
    let result = call(&helpdesk, move |h| {
        h.update_contact(ContactId(id), &given).map(|_| ())
    })
    .await;
    // A refused edit comes back in the "add" form's fields, so nothing typed is lost.
    after(&state, &viewer, result, &input).await
}

/// `POST /portal/chamados/contatos/{id}/excluir` (administrators).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<i64>,
) -> Response {
    if viewer.account.role != PortalRole::Admin {
        return refused(
            &viewer,
            &ServiceError::Forbidden("só administradores excluem contatos".into()),
        );
    }
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let result = call(&helpdesk, move |h| h.delete_contact(ContactId(id))).await;
    after(&state, &viewer, result, &ContactInput::default()).await
}
