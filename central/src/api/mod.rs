//! The HTTP API under `/api/v1`: authentication, rate limit, timeouts and the routes.
//! `central/README.md` documents every endpoint.

pub mod error;
pub mod extract;
mod inspectors;
pub mod limits;
mod packages;
mod signature;
mod state;
mod upload;
mod vehicles;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use uuid::Uuid;
use vistoria_core::hashing::sha256_hex;
use vistoria_core::wire::{API_PREFIX, ErrorCode};

use crate::keys::ServerKey;
use crate::registry::Registry;
use crate::storage::{BlobStore, MetadataStore};
use crate::trust::Trust;
use error::ApiError;
use limits::RateLimiter;

/// Tunable limits of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest media file a manifest may declare (bytes).
    pub max_file_bytes: u64,
    /// Longest a non-upload request may take.
    pub request_timeout: Duration,
    /// Longest an upload may go without receiving a byte.
    pub idle_timeout: Duration,
    /// Requests per second each station may sustain.
    pub rate_per_second: f64,
    /// Requests a station may make in a burst.
    pub rate_burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            rate_per_second: 20.0,
            rate_burst: 200.0,
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// Stations, queries, manifests, receipts.
    pub meta: Arc<dyn MetadataStore>,
    /// Media bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// The vehicle registry (§5).
    pub registry: Registry,
    /// Signs receipts.
    pub key: ServerKey,
    /// Limits.
    pub limits: Limits,
    /// ICP-Brasil roots and LCRs (§14).
    pub trust: Trust,
    limiter: RateLimiter,
    /// Uploads (`Some(file)`) and commits (`None`) running now, by inspection.
    busy: Mutex<HashSet<(Uuid, Option<String>)>>,
}

impl AppState {
    /// Shared state for the router.
    pub fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        registry: Registry,
        key: ServerKey,
        limits: Limits,
        trust: Trust,
    ) -> Arc<AppState> {
        let limiter = RateLimiter::new(limits.rate_per_second, limits.rate_burst);
        Arc::new(AppState {
            meta,
            blobs,
            registry,
            key,
            limits,
            trust,
            limiter,
            busy: Mutex::default(),
        })
    }

    /// Marks an upload (`file = Some`) or commit (`None`) of `id` as running; refuses if a
    /// conflicting one runs (the same file, or a commit and anything else of the inspection).
    fn claim(self: &Arc<Self>, id: Uuid, file: Option<&str>) -> Result<Claim, ApiError> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let conflict = busy.iter().any(|(other_id, other_file)| {
            *other_id == id
                && (file.is_none() || other_file.is_none() || other_file.as_deref() == file)
        });
        if conflict {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::UploadInProgress,
                "já há um envio ou confirmação desta vistoria em andamento; aguarde e tente novamente",
            ));
        }
        let key = (id, file.map(str::to_owned));
        busy.insert(key.clone());
        Ok(Claim {
            state: Arc::clone(self),
            key,
        })
    }
}

/// Releases a [`AppState::claim`] when dropped.
struct Claim {
    state: Arc<AppState>,
    key: (Uuid, Option<String>),
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = self
            .state
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        busy.remove(&self.key);
    }
}

/// The authenticated station, put in the request by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Station(pub String);

/// SHA-256 (hex) of a bearer token: what the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Runs blocking storage work off the async threads.
async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let path = req.uri().path().to_owned();
    let Some(token) = token else {
        tracing::warn!(%path, "requisição sem token de estação");
        return Err(unauthorized());
    };
    let meta = Arc::clone(&state.meta);
    let station = blocking(move || Ok(meta.station_for_token(&token_hash(&token))?)).await?;
    let Some(station) = station else {
        tracing::warn!(%path, "token de estação desconhecido");
        return Err(unauthorized());
    };
    if let Err(seconds) = state.limiter.take(&station) {
        tracing::warn!(%station, %path, "limite de requisições excedido");
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("muitas requisições desta estação; tente novamente em {seconds} s"),
        );
        e.retry_after = Some(seconds);
        return Err(e);
    }
    req.extensions_mut().insert(Station(station));
    Ok(next.run(req).await)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        "token de estação ausente ou inválido (cabeçalho Authorization: Bearer)",
    )
}

async fn time_limit(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    tokio::time::timeout(state.limits.request_timeout, next.run(req))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                "a requisição demorou demais e foi encerrada",
            )
        })
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "endereço inexistente na API",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "método HTTP não permitido neste endereço",
    )
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let bounded = Router::new()
        .route("/time", get(vehicles::time))
        .route("/vehicles/query", post(vehicles::query))
        .route("/packages", post(packages::create))
        .route("/packages/{id}", get(packages::get_upload_state))
        .route("/inspections/{id}", get(packages::inspection))
        .route("/stations/self/inspectors", put(inspectors::put))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            time_limit,
        ));
    // Uploads have no overall deadline (hundreds of MB on a slow link), only an idle timeout;
    // a commit re-reads every byte of the package, which may take longer than a JSON request.
    let uploads = Router::new()
        .route("/packages/{id}/files/{name}", put(upload::upload))
        .route("/packages/{id}/commit", post(packages::commit));
    let api = bounded
        .merge(uploads)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authenticate,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    Router::new()
        .nest(API_PREFIX, api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}
