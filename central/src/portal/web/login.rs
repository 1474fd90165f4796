//! `GET/POST /portal/entrar` (login) and `POST /portal/sair` (logout).
//!
//! Lock-out: the [`MAX_FAILURES`]-th wrong password in a row locks the account for
//! [`LOCK_FOR`], counted in the store (so every instance counts, and sees the lock); the page
//! says until when. An unknown login is checked against a dummy hash, so it takes as long as a
//! wrong password.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::layout::{escape, html, page, when};
use super::session::{self, CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE};
use super::{Viewer, internal, password};
use crate::api::AppState;
use crate::storage::portal::{FailureOutcome, PortalSession};

/// Wrong passwords in a row before the account locks.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(15);

/// Where to go after login: a path of the portal, never another site.
fn back_target(query: Option<&str>) -> String {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "volta")
        .map(|(_, value)| value.into_owned())
        .filter(|v| v.starts_with("/portal/") && !v.starts_with("//") && !v.contains('\\'))
        .unwrap_or_else(|| "/portal/".to_owned())
}

fn login_page(status: StatusCode, token: &str, back: &str, name: &str, message: &str) -> Response {
    let message = if message.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"aviso\" role=\"alert\">{}</div>",
            escape(message)
        )
    };
    let body = format!(
        "<div class=\"entrada\"><h1>Entrar no portal</h1>{message}\
         <form method=\"post\" action=\"/portal/entrar\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{token}\">\
         <input type=\"hidden\" name=\"volta\" value=\"{back}\">\
         <label>Usuário<input name=\"usuario\" id=\"usuario\" autocomplete=\"username\" \
         value=\"{name}\" required autofocus></label>\
         <label>Senha<input name=\"senha\" id=\"senha\" type=\"password\" \
         autocomplete=\"current-password\" required></label>\
         <button class=\"principal\" type=\"submit\" id=\"entrar\">Entrar</button></form>\
         <p class=\"nota\">Acesso de auditores do Detran, gestores de ECV e administradores. \
         Cada acesso às evidências de uma vistoria fica registrado (LGPD). Sem usuário? \
         Peça ao administrador do servidor central.</p></div>",
        token = escape(token),
        back = escape(back),
        name = escape(name),
    );
    let mut response = html(status, page("Entrar", None, "", &body));
    // A new double-submit token for each form shown.
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, token, 30 * 60),
    );
    response
}

/// `GET /portal/entrar`.
pub async fn form(RawQuery(query): RawQuery) -> Response {
    let back = back_target(query.as_deref());
    login_page(StatusCode::OK, &session::random_token(), &back, "", "")
}

/// `POST /portal/entrar`: `csrf`, `usuario`, `senha`, `volta`.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    let name = field("usuario").trim().to_owned();
    let given_password = field("senha");
    let back = back_target(Some(&format!(
        "volta={}",
        form_urlencoded::byte_serialize(field("volta").as_bytes()).collect::<String>()
    )));
    let fresh = session::random_token();
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !session::tokens_match(&expected, &field(CSRF_FIELD)) {
        tracing::warn!(%peer, "login do portal sem token CSRF válido");
        return login_page(
            StatusCode::FORBIDDEN,
            &fresh,
            &back,
            &name,
            "O formulário expirou ou não veio desta página (proteção contra CSRF). Digite \
             usuário e senha de novo.",
        );
    }
    if let Err(seconds) = state.take_address_token(&peer) {
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &fresh,
            &back,
            &name,
            &format!("Muitas tentativas deste endereço; tente de novo em {seconds} s."),
        );
    }
    let meta = Arc::clone(&state.meta);
    let who = name.clone();
    let checked =
        tokio::task::spawn_blocking(move || -> Result<Attempt, crate::storage::StorageError> {
            let now = Utc::now();
            let account = meta.portal_account(&who)?;
            let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
                password::verify_dummy(&given_password);
                return Ok(Attempt::Wrong);
            };
            if let Some(until) = account.locked_until.filter(|until| *until > now) {
                return Ok(Attempt::Locked(until));
            }
            if !password::verify(&account.password_hash, &given_password) {
                return Ok(
                    match meta.record_login_failure(&who, now, MAX_FAILURES, LOCK_FOR)? {
                        FailureOutcome::Locked(until) => Attempt::Locked(until),
                        FailureOutcome::Counted(_) => Attempt::Wrong,
                    },
                );
            }
            meta.record_login_success(&who)?;
            let id = session::random_token();
            meta.create_session(&PortalSession {
                id_sha256: session::id_hash(&id),
                account: who.clone(),
                csrf_token: session::random_token(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + session::ABSOLUTE,
            })?;
            Ok(Attempt::Admitted(id))
        })
        .await;
    let attempt = match checked {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(e)) => return internal(&e),
        Err(e) => return internal(&e),
    };
    match attempt {
        Attempt::Admitted(id) => {
            tracing::info!(user = %name, %peer, "entrada no portal");
            let mut response = Redirect::to(&back).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session::set_cookie(SESSION_COOKIE, &id, session::ABSOLUTE.num_seconds()),
            );
            headers.append(header::SET_COOKIE, session::set_cookie(LOGIN_COOKIE, "", 0));
            response
        }
        Attempt::Locked(until) => {
            tracing::warn!(user = %name, %peer, %until, "conta do portal bloqueada");
            login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &fresh,
                &back,
                &name,
                &format!(
                    "Conta bloqueada por tentativas de senha erradas até {} (horário de Mato \
                     Grosso). Aguarde até lá ou peça ao administrador uma nova senha \
                     (vistoria-central user password).",
                    when(until)
                ),
            )
        }
        Attempt::Wrong => {
            tracing::warn!(user = %name, %peer, "senha errada no portal");
            // The same words for an unknown login and a wrong password: the page does not
            // tell which logins exist.
            login_page(
                StatusCode::UNAUTHORIZED,
                &fresh,
                &back,
                &name,
                &format!(
                    "Usuário ou senha incorretos. Após {MAX_FAILURES} tentativas erradas seguidas \
                     a conta fica bloqueada por {} minutos.",
                    LOCK_FOR.num_minutes()
                ),
            )
        }
    }
}

/// What a login attempt came to.
enum Attempt {
    /// A new session, by its cookie value.
    Admitted(String),
    /// Locked until then.
    Locked(chrono::DateTime<Utc>),
    /// Wrong login or password.
    Wrong,
}

/// `POST /portal/sair`: ends the session everywhere (it is only in the store) and clears the
/// cookie.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let meta = Arc::clone(&state.meta);
    let hash = viewer.session.id_sha256.clone();
    match tokio::task::spawn_blocking(move || meta.end_session(&hash)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return internal(&e),
        Err(e) => return internal(&e),
    }
    tracing::info!(user = %viewer.account.name, "saída do portal");
    let mut response = Redirect::to("/portal/entrar").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, "", 0),
    );
    response
}
