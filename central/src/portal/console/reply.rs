//! `POST /portal/chamados/{id}/responder`: the team's reply with text and files
//! (`multipart/form-data`), sent to the requester on the ticket's own channel.
//!
//! A form with a video is too large for the portal's URL-encoded CSRF check, so this route is
//! mounted with `web::protect_multipart`: the same session guard and headers, and the CSRF
//! token required as the form's FIRST part, compared before a single byte of any file is read.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use vistoria_helpdesk::model::NewAttachment;
use vistoria_helpdesk::service::ServiceError;

use super::ticket::{Drafts, render};
use super::{call, helpdesk, message_of, no_such_ticket, staff, status_of, ticket_id};
use crate::api::AppState;
use crate::portal::web::{self, Viewer};

/// Largest total of files in one reply (WhatsApp takes videos up to 16 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Room for the form's text and the parts' headers above the files.
const FORM_OVERHEAD: usize = 256 * 1024;

/// The reply route behind the portal's session guard for forms with files.
pub fn router(state: Arc<AppState>) -> Router {
    let pages = Router::new()
        .route("/portal/chamados/{id}/responder", post(submit))
        .route_layer(middleware::from_fn(super::access::console_gate))
        .layer(DefaultBodyLimit::max(MAX_BYTES + FORM_OVERHEAD));
    web::protect_multipart(state, pages)
}

/// What the form brought.
#[derive(Default)]
struct Reply {
    text: String,
    files: Vec<NewAttachment>,
}

/// Why the form was not read whole.
enum Unread {
    /// The first part was not the session's CSRF token.
    Csrf,
    /// Too large or cut: what had arrived.
    Cut(Reply),
}

/// Reads the form after its first part, the CSRF token, matched the session's.
async fn read(viewer: &Viewer, multipart: &mut Multipart) -> Result<Reply, Unread> {
    let mut reply = Reply::default();
    if !web::multipart_csrf(viewer, multipart).await {
        return Err(Unread::Csrf);
    }
    let mut total = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                tracing::info!(%e, "resposta do console cortada ou grande demais");
                return Err(Unread::Cut(reply));
            }
        };
        match field.name() {
            Some("texto") => {
                reply.text = field.text().await.unwrap_or_default();
            }
            Some("arquivo") => {
                let filename = field.file_name().unwrap_or("").trim().to_owned();
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = match field.bytes().await {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        tracing::info!(%e, "arquivo da resposta cortado ou grande demais");
                        return Err(Unread::Cut(reply));
                    }
                };
                // A file input left empty still sends a nameless, empty part.
                if filename.is_empty() && bytes.is_empty() {
                    continue;
                }
                total += bytes.len();
                if total > MAX_BYTES {
                    return Err(Unread::Cut(reply));
                }
                reply.files.push(NewAttachment {
                    filename: if filename.is_empty() {
                        "arquivo".to_owned()
                    } else {
                        filename
                    },
                    mime,
                    bytes: Some(bytes.to_vec()),
                    wa_media_id: None,
                });
            }
            _ => {}
        }
    }
    Ok(reply)
}

/// `POST /portal/chamados/{id}/responder`: `csrf` (first), `texto`, `arquivo` (any number).
pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let Some(id) = ticket_id(&id) else {
        return no_such_ticket(&viewer);
    };
    let reply = match read(&viewer, &mut multipart).await {
        Ok(reply) => reply,
        Err(Unread::Csrf) => {
            tracing::warn!(user = %viewer.account.name, "resposta do console sem token CSRF válido");
            return web::csrf_refused();
        }
        Err(Unread::Cut(partial)) => {
            let drafts = Drafts {
                reply: partial.text,
                files: partial.files.into_iter().map(|f| f.filename).collect(),
                ..Drafts::default()
            };
            let message = format!(
                "Os arquivos passam do limite de {} MiB por resposta, ou o envio foi \
                 interrompido. Nada foi enviado; mande os arquivos em respostas separadas ou \
                 menores.",
                MAX_BYTES / (1024 * 1024)
            );
            return render(
                &state,
                &viewer,
                id,
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(&message),
                &drafts,
            )
            .await;
        }
    };
    let Some(staff) = staff(&viewer) else {
        return super::refused(
            &viewer,
            &ServiceError::Forbidden("só a equipe de suporte responde chamados".into()),
        );
    };
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let drafts = Drafts {
        reply: reply.text.clone(),
        files: reply.files.iter().map(|f| f.filename.clone()).collect(),
        ..Drafts::default()
    };
    let Reply { text, files } = reply;
    match call(&helpdesk, move |h| h.reply(&staff, id, &text, files)).await {
        Ok(Ok(_)) => Redirect::to(&format!("/portal/chamados/{}", id.0)).into_response(),
        Ok(Err(ServiceError::NotFound(_))) => no_such_ticket(&viewer),
        Ok(Err(e)) => {
            render(
                &state,
                &viewer,
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
