//! What every set of web pages at the central shares (issue 22's portal; issue 23's help-desk
//! console mounts its own pages on it): the look ([`layout`]), password login with lock-out
//! ([`login`]), sessions kept in the metadata store ([`session`]), the CSRF check of every POST,
//! the security headers, and the access log of evidence ([`log_access`]).
//!
//! A second set of pages is a `Router<Arc<AppState>>` passed through [`protect`]: each of its
//! handlers then finds the [`Viewer`] in the request's extensions, and decides on the server,
//! for every request, what that person may see (a rule of the pages, e.g.
//! [`PortalRole::may_see`](crate::storage::portal::PortalRole::may_see)).

pub mod layout;
mod login;
pub mod password;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use uuid::Uuid;

use crate::api::AppState;
use crate::storage::portal::{AccessEntry, PortalAccount, PortalSession};

/// The person behind a request, with their live session.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Their account as stored now (a role changed by `user password` holds at once).
    pub account: PortalAccount,
    /// Their session.
    pub session: PortalSession,
    /// The client's address (for the access log).
    pub address: String,
}

/// Largest form body read (search and logout forms are a few hundred bytes).
const MAX_FORM: usize = 16 * 1024;

/// The login, logout and stylesheet routes, public (the login page) or checking their own
/// session (logout); merge at the root.
pub fn routes(state: Arc<AppState>) -> Router {
    let logout = Router::new()
        .route("/portal/sair", axum::routing::post(login::logout))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_session,
        ));
    Router::new()
        .route("/portal/entrar", get(login::form).post(login::submit))
        .route(layout::STYLE_PATH, get(style))
        .merge(logout)
        .with_state(state)
        .layer(middleware::from_fn(security_headers))
}

/// `pages` behind a live session, with the CSRF check of every POST and the security headers.
pub fn protect(state: Arc<AppState>, pages: Router<Arc<AppState>>) -> Router {
    pages
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_session,
        ))
        .with_state(state)
        .layer(middleware::from_fn(security_headers))
}

/// [`protect`] for forms with files (`multipart/form-data`), too large for the URL-encoded
/// check: the session is required the same way and the body is left unread; each handler checks
/// the CSRF token with [`multipart_csrf`] before it reads a single byte of any file.
pub fn protect_multipart(state: Arc<AppState>, pages: Router<Arc<AppState>>) -> Router {
    pages
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_session_only,
        ))
        .with_state(state)
        .layer(middleware::from_fn(security_headers))
}

/// Whether the form's FIRST part is the session's CSRF token (a form with files must send it
/// first, so that nothing else is read from a forged one).
pub async fn multipart_csrf(viewer: &Viewer, multipart: &mut axum::extract::Multipart) -> bool {
    let first = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some(session::CSRF_FIELD) => field.text().await.ok(),
        _ => None,
    };
    first.is_some_and(|token| session::tokens_match(&viewer.session.csrf_token, &token))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        layout::STYLE,
    )
        .into_response()
}

/// No framing, no foreign scripts or styles, no sniffing, no referrer outside, no caching of
/// personal data (the stylesheet alone says otherwise).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The client's address as the listener saw it.
fn address_of(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string())
        .unwrap_or_default()
}

/// Admits a request with a live session, putting its [`Viewer`] in the request; a POST must
/// also carry the session's CSRF token in its form. A page asked without a session leads to
/// the login, which comes back to it.
async fn require_session(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    admit(&state, req, next, true).await
}

/// [`require_session`] without reading the body (see [`protect_multipart`]).
async fn require_session_only(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    admit(&state, req, next, false).await
}

async fn admit(state: &Arc<AppState>, req: Request, next: Next, check_form: bool) -> Response {
    let address = address_of(&req);
    let found = match session::cookie(req.headers(), session::SESSION_COOKIE) {
        Some(id) => {
            let meta = Arc::clone(&state.meta);
            let hash = session::id_hash(&id);
            let looked = tokio::task::spawn_blocking(move || {
                meta.live_session(&hash, Utc::now(), session::IDLE)
            })
            .await;
            match looked {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => return internal(&e),
                Err(e) => return internal(&e),
            }
        }
        None => None,
    };
    let Some((session, account)) = found else {
        if req.method() == Method::GET {
            let back = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let target: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("volta", &back)
                .finish();
            return Redirect::to(&format!("/portal/entrar?{target}")).into_response();
        }
        return layout::problem(
            StatusCode::FORBIDDEN,
            None,
            "Sessão encerrada",
            "Sua sessão expirou ou foi encerrada. Entre novamente e repita a operação.",
        );
    };
    let viewer = Viewer {
        account,
        session,
        address,
    };
    let req = if check_form && req.method() == Method::POST {
        match check_csrf(req, &viewer.session.csrf_token).await {
            Ok(req) => req,
            Err(refusal) => {
                tracing::warn!(user = %viewer.account.name, "POST do portal sem token CSRF válido");
                return refusal;
            }
        }
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(viewer);
    next.run(req).await
}

/// The request back with its body, if its form's `csrf` field is `expected`; else a 403 page.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let refused = csrf_refused;
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return Err(refused());
    };
    let given = form_field(&bytes, session::CSRF_FIELD);
    if !session::tokens_match(expected, &given) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The 403 page of a form without its session's CSRF token.
pub fn csrf_refused() -> Response {
    layout::problem(
        StatusCode::FORBIDDEN,
        None,
        "Formulário recusado",
        "O formulário chegou sem o código de segurança desta sessão (proteção contra CSRF). \
         Recarregue a página e envie o formulário de novo.",
    )
}

/// A field of a URL-encoded form body (empty when absent).
pub fn form_field(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// A 500 page; the cause goes to the log only.
pub fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(%e, "falha no portal");
    layout::problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "Falha no servidor central",
        "O servidor não conseguiu atender agora. Tente de novo em instantes; se persistir, avise \
         o suporte da empresa de sistema.",
    )
}

/// Writes an access to an inspection's evidence to the log (LGPD: who, what, when, from where);
/// the page is not shown if the log cannot be written.
pub fn log_access(
    state: &AppState,
    viewer: &Viewer,
    station: &str,
    inspection_id: Uuid,
    what: &str,
) -> Result<(), crate::storage::StorageError> {
    state.meta.log_access(&AccessEntry {
        at: Utc::now(),
        account: viewer.account.name.clone(),
        station: station.to_owned(),
        inspection_id,
        what: what.to_owned(),
        address: viewer.address.clone(),
    })
}
