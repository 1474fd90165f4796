//! `POST /portal/chamados/{id}/responder`: the team's reply with text and files
//! (`multipart/form-data`), sent to the requester on the ticket's own channel.
//!
//! The portal's common layer checks CSRF on URL-encoded forms of at most 16 KiB, which a form
//! with a video is not; so this one route has its own guard built from the same parts: the
//! session looked up in the store exactly as `web::protect` does it, and the session's CSRF
//! token required as the form's FIRST part, compared before a single byte of any file is read.
//! The answer carries the portal's security headers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use chrono::Utc;
use vistoria_helpdesk::model::NewAttachment;
use vistoria_helpdesk::service::ServiceError;

use super::ticket::{Drafts, render};
use super::{call, helpdesk, message_of, no_such_ticket, staff, status_of, ticket_id};
use crate::api::AppState;
use crate::portal::web::layout::problem;
use crate::portal::web::session::{self, CSRF_FIELD};
use crate::portal::web::{self, Viewer};

/// Largest total of files in one reply (WhatsApp takes videos up to 16 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Room for the form's text and the parts' headers above the files.
const FORM_OVERHEAD: usize = 256 * 1024;

/// The reply route with its own session guard (see the module's documentation).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/portal/chamados/{id}/responder", post(submit))
        .route_layer(middleware::from_fn(super::access::console_gate))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            session_only,
        ))
        .layer(DefaultBodyLimit::max(MAX_BYTES + FORM_OVERHEAD))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The portal's headers (`web`'s policy): no framing, nothing foreign, no sniffing, no cache.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; \
             script-src 'self'; connect-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A live session's [`Viewer`] in the request, as `web::protect` finds it; the body is left
/// unread (the handler checks the CSRF token as the form's first part).
async fn session_only(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_default();
    let found = match session::cookie(req.headers(), session::SESSION_COOKIE) {
        Some(id) => {
            let meta = Arc::clone(&state.meta);
            let hash = session::id_hash(&id);
            match tokio::task::spawn_blocking(move || {
                meta.live_session(&hash, Utc::now(), session::IDLE)
            })
            .await
            {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => return web::internal(&e),
                Err(e) => return web::internal(&e),
            }
        }
        None => None,
    };
    let Some((session, account)) = found else {
        return problem(
            StatusCode::FORBIDDEN,
            None,
            "Sessão encerrada",
            "Sua sessão expirou ou foi encerrada. Entre novamente e envie a resposta de novo.",
        );
    };
    req.extensions_mut().insert(Viewer {
        account,
        session,
        address,
    });
    next.run(req).await
}

fn csrf_refused() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        None,
        "Formulário recusado",
        "O formulário chegou sem o código de segurança desta sessão (proteção contra CSRF). \
         Recarregue a página e envie a resposta de novo.",
    )
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
    let first = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some(CSRF_FIELD) => field.text().await.ok(),
        _ => None,
    };
    if !first.is_some_and(|token| session::tokens_match(&viewer.session.csrf_token, &token)) {
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
            return csrf_refused();
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
