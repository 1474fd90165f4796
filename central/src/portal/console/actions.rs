//! The ticket page's actions (plain forms, CSRF checked by the portal's layer): take the ticket
//! (a technician takes a free one; an administrator also one another has), give it to someone
//! (administrators), solve it, close it. Each re-checks the person's role here and again in the
//! help desk's service. Done: back to the ticket (303). Refused: the ticket page with the reason
//! and what was typed.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use vistoria_helpdesk::model::{Ticket, TicketId};
use vistoria_helpdesk::service::{Helpdesk, ServiceError, Staff};

use super::ticket::{Drafts, render};
use super::{call, helpdesk, message_of, no_such_ticket, staff, status_of, ticket_id};
use crate::api::AppState;
use crate::portal::web::{Viewer, form_field};

/// Runs `act` for the person on ticket `id`; answers with the ticket page.
async fn act<F>(
    state: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
    drafts: Drafts,
    act: F,
) -> Response
where
    F: FnOnce(&Helpdesk, &Staff, TicketId) -> Result<Ticket, ServiceError> + Send + 'static,
{
    let Some(id) = ticket_id(id) else {
        return no_such_ticket(viewer);
    };
    let Some(staff) = staff(viewer) else {
        return super::refused(
            viewer,
            &ServiceError::Forbidden("só a equipe de suporte atende chamados".into()),
        );
    };
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    match call(&helpdesk, move |h| act(h, &staff, id)).await {
        Ok(Ok(_)) => Redirect::to(&format!("/portal/chamados/{}", id.0)).into_response(),
        Ok(Err(ServiceError::NotFound(_))) => no_such_ticket(viewer),
        Ok(Err(e)) => {
            tracing::info!(user = %viewer.account.name, ticket = %id, %e, "ação no chamado recusada");
            render(
                state,
                viewer,
                id,
                status_of(&e),
                Some(&message_of(&e)),
                &drafts,
            )
            .await
        }
        Err(page) => page,
    }
}

/// `POST /portal/chamados/{id}/assumir`: the person takes the ticket (an administrator takes
/// it even from another technician; the service refuses that to a technician).
pub async fn take(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let me = viewer.account.name.clone();
    act(
        &state,
        &viewer,
        &id,
        Drafts::default(),
        move |h, staff, id| h.assign(staff, id, &me),
    )
    .await
}

/// `POST /portal/chamados/{id}/atribuir` (`para`): an administrator gives the ticket to a
/// member of the support team.
pub async fn assign(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let to = form_field(&body, "para").trim().to_owned();
    // Only to an account of the support team in force: a ticket given to a typo, or to an
    // auditor, would sit where nobody answers it.
    let meta = Arc::clone(&state.meta);
    let who = to.clone();
    let target = match super::super::blocking(move || meta.portal_account(&who)).await {
        Ok(target) => target,
        Err(page) => return page,
    };
    let valid = target.is_some_and(|a| a.disabled_at.is_none() && a.role.in_helpdesk());
    act(
        &state,
        &viewer,
        &id,
        Drafts::default(),
        move |h, staff, id| {
            if !valid {
                return Err(ServiceError::Invalid {
                    field: "passar para",
                    message: format!(
                        "«{to}» não é técnico nem administrador ativo; escolha alguém da lista"
                    ),
                });
            }
            h.assign(staff, id, &to)
        },
    )
    .await
}

/// `POST /portal/chamados/{id}/solucionar` (`solucao`).
pub async fn solve(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let text = form_field(&body, "solucao");
    let drafts = Drafts {
        solution: text.clone(),
        ..Drafts::default()
    };
    act(&state, &viewer, &id, drafts, move |h, staff, id| {
        h.solve(staff, id, &text)
    })
    .await
}

/// `POST /portal/chamados/{id}/fechar`.
pub async fn close(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    act(&state, &viewer, &id, Drafts::default(), |h, staff, id| {
        h.close(staff, id)
    })
    .await
}
