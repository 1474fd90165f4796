//! The help desk's console (issue 23): the support team's pages in the central's web site,
//! under `/portal/chamados/`, on the portal's common layer ([`super::web`]: the same login,
//! sessions, CSRF check and look as the Detran portal).
//!
//! Technicians (`tecnico`) see and answer tickets; administrators (`admin`) also take over
//! another's ticket, give tickets to anyone, and edit contacts' and the predefined messages.
//! Detran auditors and ECV managers get a 403 page ([`access`]), checked on the server for
//! every request. The rules themselves live in the help desk's service
//! ([`vistoria_helpdesk::service::Helpdesk`]), which each action calls on a blocking thread and
//! which checks the role again.
//!
//! A page per file: the queue ([`queue`]), a ticket ([`ticket`]) with its actions
//! ([`actions`]), the reply with files ([`reply`], multipart), the files themselves
//! ([`files`]), a ticket opened on behalf of a caller ([`open`]), the contacts
//! ([`contacts`]), the predefined messages ([`texts`]), the menu of ticket types ([`types`])
//! and the stages report ([`report`]).
//! [`refresh`] keeps open tabs current.

pub mod access;
mod actions;
mod contacts;
mod files;
mod look;
mod open;
mod queue;
mod refresh;
mod reply;
mod report;
mod texts;
mod ticket;
mod types;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use vistoria_helpdesk::service::{Helpdesk, Role, ServiceError, Staff};

use super::web::layout::problem;
use super::web::{self, Viewer};
use crate::api::AppState;
use crate::storage::portal::PortalRole;

/// Where the console starts.
pub const HOME: &str = "/portal/chamados/";

/// The console's routes, to merge at the root of the central's router.
pub fn router(state: Arc<AppState>) -> Router {
    let pages = Router::new()
        .route(HOME, get(queue::show))
        .route(look::STYLE_PATH, get(look::style))
        .route(refresh::PATH, get(refresh::script))
        .route("/portal/chamados/novo", get(open::form).post(open::submit))
        .route(
            "/portal/chamados/contatos",
            get(contacts::show).post(contacts::add),
        )
        .route("/portal/chamados/contatos/{id}", post(contacts::update))
        .route(
            "/portal/chamados/contatos/{id}/excluir",
            post(contacts::delete),
        )
        .route(
            "/portal/chamados/mensagens",
            get(texts::show).post(texts::save),
        )
        .route("/portal/chamados/tipos", get(types::show).post(types::save))
        .route("/portal/chamados/relatorio", get(report::show))
        .route("/portal/chamados/{id}", get(ticket::show))
        .route("/portal/chamados/{id}/assumir", post(actions::take))
        .route("/portal/chamados/{id}/atribuir", post(actions::assign))
        .route("/portal/chamados/{id}/solucionar", post(actions::solve))
        .route("/portal/chamados/{id}/fechar", post(actions::close))
        .route(
            "/portal/chamados/{id}/anexos/{attachment}",
            get(files::attachment),
        )
        .route_layer(middleware::from_fn(access::console_gate));
    Router::new()
        .route(
            "/portal/chamados",
            get(|| async { Redirect::permanent(HOME) }),
        )
        .merge(web::protect(Arc::clone(&state), pages))
        .merge(reply::router(state))
}

/// The person acting, as the help desk's service knows them; `None` for a role that has no
/// place in the console (the gate refused those already: this is the second check).
fn staff(viewer: &Viewer) -> Option<Staff> {
    let role = match viewer.account.role {
        PortalRole::Admin => Role::Administrator,
        PortalRole::Tecnico => Role::Technician,
        PortalRole::Detran | PortalRole::Gestor { .. } => return None,
    };
    Some(Staff {
        login: viewer.account.name.clone(),
        name: viewer.account.name.clone(),
        role,
    })
}

/// The help desk this central runs, or the page saying it runs none.
fn helpdesk(state: &AppState, viewer: &Viewer) -> Result<Arc<Helpdesk>, Box<Response>> {
    state.helpdesk().cloned().ok_or_else(|| {
        Box::new(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(viewer),
            "Help desk desligado",
            "Este servidor central não está com o help desk ligado. O administrador do servidor \
             deve iniciá-lo com `vistoria-central serve --helpdesk ARQUIVO.toml`.",
        ))
    })
}

/// Runs a help-desk call on a blocking thread (the service and its store are synchronous).
async fn call<T, F>(helpdesk: &Arc<Helpdesk>, f: F) -> Result<Result<T, ServiceError>, Response>
where
    T: Send + 'static,
    F: FnOnce(&Helpdesk) -> Result<T, ServiceError> + Send + 'static,
{
    let helpdesk = Arc::clone(helpdesk);
    tokio::task::spawn_blocking(move || f(&helpdesk))
        .await
        .map_err(|e| web::internal(&e))
}

/// The status a refused help-desk call answers with, and whether it is the server's fault.
fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ServiceError::Rule(_) => StatusCode::CONFLICT,
        ServiceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
    }
}

/// What a refused call says to the person: the service's Portuguese message with the way
/// forward; a storage failure only says to try again (its cause goes to the log).
fn message_of(e: &ServiceError) -> String {
    match e {
        ServiceError::Store(cause) => {
            tracing::error!(%cause, "falha no armazenamento do help desk");
            "O help desk não conseguiu gravar agora; nada foi alterado. Tente de novo em \
             instantes."
                .to_owned()
        }
        ServiceError::Invalid { field, message } => {
            let mut text = format!("{field}: {message}");
            if let Some(first) = text.get(..1) {
                text = first.to_uppercase() + &text[1..];
            }
            format!("{text}.")
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => text,
            }
        }
    }
}

/// A page for a refused call that has no form to show again.
fn refused(viewer: &Viewer, e: &ServiceError) -> Response {
    problem(
        status_of(e),
        Some(viewer),
        "Operação não realizada",
        &message_of(e),
    )
}

/// A ticket id from the path (`42` or `VST-000042`).
fn ticket_id(text: &str) -> Option<vistoria_helpdesk::model::TicketId> {
    vistoria_helpdesk::model::TicketId::parse(text)
}

/// The page for a ticket number that does not exist.
fn no_such_ticket(viewer: &Viewer) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        Some(viewer),
        "Chamado não encontrado",
        "Não há chamado com este número. Volte à fila de chamados e escolha um da lista.",
    )
}
