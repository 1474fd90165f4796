//! `/portal/chamados/mensagens`: the predefined and automatic messages (seed 003: the chatbot's
//! and the notices' texts), edited by administrators; each can go back to its default.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vistoria_helpdesk::chatbot::texts::DEFAULTS;
use vistoria_helpdesk::service::ServiceError;

use super::look::{alert, respond};
use super::{call, helpdesk, message_of, refused, staff, status_of};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::form_field;
use crate::portal::web::layout::{csrf_input, escape};
use crate::storage::portal::PortalRole;

fn admins_only(viewer: &Viewer) -> Option<Response> {
    (viewer.account.role != PortalRole::Admin).then(|| {
        refused(
            viewer,
            &ServiceError::Forbidden("só administradores editam as mensagens".into()),
        )
    })
}

/// `GET /portal/chamados/mensagens`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    if let Some(page) = admins_only(&viewer) {
        return page;
    }
    page(&state, &viewer, StatusCode::OK, None, None).await
}

async fn page(
    state: &Arc<AppState>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    typed: Option<(&str, &str)>,
) -> Response {
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let texts = match call(&helpdesk, |h| h.texts()).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let forms: String = DEFAULTS
        .iter()
        .map(|(key, default, purpose)| {
            let current = match typed {
                Some((k, text)) if k == *key => text,
                _ => texts.get(key),
            };
            let edited = current != *default;
            format!(
                "<form class=\"acao caixa\" method=\"post\" action=\"/portal/chamados/mensagens\" \
                 id=\"msg-{key}\">{}<input type=\"hidden\" name=\"chave\" value=\"{key}\">\
                 <label>{} <span class=\"nota\">({key}{})</span><textarea name=\"texto\" \
                 id=\"texto-{key}\">{}</textarea></label><div class=\"linha\">\
                 <button class=\"principal\" type=\"submit\" name=\"acao\" value=\"salvar\" \
                 id=\"salvar-{key}\">Salvar</button><button class=\"secundario\" type=\"submit\" \
                 name=\"acao\" value=\"padrao\" id=\"padrao-{key}\">Voltar ao padrão</button>\
                 </div></form>",
                csrf_input(viewer),
                escape(purpose),
                if edited { ", editada" } else { "" },
                escape(current),
            )
        })
        .collect();
    let body = format!(
        "<h1>Mensagens predefinidas e automáticas</h1>{}<p class=\"nota\">Palavras entre chaves \
         (como {{nome}}, {{chamado}}, {{tecnico}}) são trocadas pelo valor na hora do envio; \
         mantenha-as.</p>{forms}",
        alert(error)
    );
    respond(
        status,
        "Mensagens",
        viewer,
        "/portal/chamados/mensagens",
        &body,
        false,
    )
}

/// `POST /portal/chamados/mensagens`: `chave`, `texto`, `acao` (`salvar` or `padrao`).
pub async fn save(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    if let Some(page) = admins_only(&viewer) {
        return page;
    }
    let Some(staff) = staff(&viewer) else {
        return super::super::web::internal(&"administrador sem papel no help desk");
    };
    let key = form_field(&body, "chave");
    let text = form_field(&body, "texto");
    let restore = form_field(&body, "acao") == "padrao";
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let (k, t) = (key.clone(), text.clone());
    let result = call(&helpdesk, move |h| {
        h.set_text(&staff, &k, if restore { None } else { Some(t.as_str()) })
    })
    .await;
    match result {
        Ok(Ok(())) => {
            Redirect::to(&format!("/portal/chamados/mensagens#msg-{key}")).into_response()
        }
        Ok(Err(e)) => {
            page(
                &state,
                &viewer,
                status_of(&e),
                Some(&message_of(&e)),
                Some((&key, &text)),
            )
            .await
        }
        Err(page) => page,
    }
}
