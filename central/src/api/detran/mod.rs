//! The Detran API (issue 21): what a Detran auditor (or the system company's administrator)
//! reads of every station's inspections, under `/api/v1/detran/`; what only an administrator
//! reads, under `/api/v1/admin/`; and the OpenAPI document of the whole `/api/v1` at
//! `/api/v1/openapi.json`.
//!
//! People authenticate with their own bearer tokens (`vistoria-central user add`), never a
//! station's: a station token is refused here, and a person's token is refused on the station
//! routes (it is no station's). People's tokens are looked up in the store at every request and
//! never cached, so a `user revoke` through any instance is refused by every instance at once.

pub(crate) mod inspections;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use vistoria_core::wire::ErrorCode;

use super::error::ApiError;
use super::{AppState, blocking, time_limit, token_hash};
use crate::storage::directory::{Role, UserRecord};

/// The OpenAPI 3.1 document of `/api/v1`, written by hand (see `central/README.md`).
pub const OPENAPI: &str = include_str!("openapi.json");

/// The person a request authenticated as, put in the request by [`authenticate_person`].
#[derive(Debug, Clone)]
pub struct Person(pub UserRecord);

/// The routes of the Detran API and the OpenAPI document, to merge under the API prefix.
pub fn router(state: Arc<AppState>) -> Router {
    let people = Router::new()
        .route("/detran/inspections", get(inspections::list))
        .route("/detran/inspections/{station}/{id}", get(inspections::read))
        .route(
            "/detran/inspections/{station}/{id}/files/{name}",
            get(inspections::download),
        )
        .route("/admin/users", get(users))
        // Bounds the time to the response's head; a download's body streams past it.
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            time_limit,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authenticate_person,
        ))
        .with_state(state);
    // The document is public: it describes, it discloses nothing.
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(people)
}

/// `GET /admin/users`: every person's credential (never a token or its hash), for an
/// administrator only.
async fn users(
    State(state): State<Arc<AppState>>,
    Extension(Person(person)): Extension<Person>,
) -> Result<Json<Vec<UserRecord>>, ApiError> {
    if person.role != Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "somente um administrador pode ver os usuários; um auditor do Detran tem acesso de \
             leitura às vistorias",
        ));
    }
    let meta = Arc::clone(&state.meta);
    Ok(Json(blocking(move || Ok(meta.users()?)).await?))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "token de auditor ou administrador ausente, inválido ou revogado (cabeçalho \
         Authorization: Bearer); peça um ao administrador do servidor central \
         (vistoria-central user add)",
    )
}

/// Admits a request bearing the token of a person in force (Detran auditor or administrator).
async fn authenticate_person(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(seconds) = state.address_limiter.take(&peer.ip().to_string())
    {
        tracing::warn!(%peer, %path, "limite de requisições por endereço excedido");
        return Err(rate_limited(seconds, "muitas requisições deste endereço"));
    }
    let Some(token) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        tracing::warn!(%path, "requisição à API do Detran sem token");
        return Err(unauthorized());
    };
    let hash = token_hash(token);
    let meta = Arc::clone(&state.meta);
    // Not cached: a revocation made through any instance must hold at the next request.
    let (person, station) = blocking(move || {
        let person = meta.user_for_token(&hash)?;
        let station = match person {
            Some(_) => None,
            None => meta.station_for_token(&hash)?,
        };
        Ok((person, station))
    })
    .await?;
    let Some(person) = person else {
        if let Some(station) = station {
            tracing::warn!(%station, %path, "token de estação usado na API do Detran");
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "este é o token de uma estação, que só dá acesso às rotas das estações; a API do \
                 Detran exige o token de um auditor ou administrador (vistoria-central user add)",
            ));
        }
        tracing::warn!(%path, "token desconhecido ou revogado na API do Detran");
        return Err(unauthorized());
    };
    if let Err(seconds) = state.limiter.take(&format!("pessoa:{}", person.name)) {
        tracing::warn!(user = %person.name, %path, "limite de requisições excedido");
        return Err(rate_limited(seconds, "muitas requisições deste usuário"));
    }
    tracing::info!(user = %person.name, role = ?person.role, %path, "acesso à API do Detran");
    req.extensions_mut().insert(Person(person));
    Ok(next.run(req).await)
}

fn rate_limited(seconds: u64, what: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        format!("{what}; tente novamente em {seconds} s"),
    );
    e.retry_after = Some(seconds);
    e
}
