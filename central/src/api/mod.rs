//! The HTTP API under `/api/v1`: authentication, rate limit, timeouts and the routes; and the
//! public laudo check page at `/v/{number}` (`verify.rs`).
//! `central/README.md` documents every endpoint.

pub mod admission;
mod audit;
pub mod detran;
pub mod error;
mod evidence;
pub mod expiry;
pub mod extract;
mod inspectors;
pub mod limits;
pub mod live;
mod numbers;
mod packages;
mod policy;
mod quota;
pub mod retention;
mod signature;
mod state;
pub(crate) mod streaming;
mod tickets;
mod trail;
mod upload;
mod vehicles;
pub mod verify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use uuid::Uuid;
use vistoria_core::hashing::sha256_hex;
use vistoria_core::wire::{API_PREFIX, ErrorCode, VERIFY_PREFIX};

use crate::keys::ServerKey;
use crate::registry::Registry;
use crate::storage::{BlobStore, Lease, MetadataStore, PackageKey};
use crate::trust::Trust;
use admission::{TOKEN_EPOCH_FILE, TokenCache, UploadSlots};
use error::ApiError;
pub use limits::Limits;
use limits::RateLimiter;

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
    /// Requests per client address, counted before authentication.
    address_limiter: RateLimiter,
    /// Token hash → station.
    tokens: TokenCache,
    /// Running uploads per station and overall.
    uploads: Arc<UploadSlots>,
    /// The data folder, for the free-space probe (`None`: an embedded store, not probed).
    data: Option<PathBuf>,
    /// Turns `true` when the server begins a graceful stop; running uploads then end.
    stop: tokio::sync::watch::Sender<bool>,
    /// This process among the central's instances: its leases live as long as its heartbeat.
    instance: Uuid,
    /// The help desk (issue 23), when `serve` runs one: the console, the stations' tickets and
    /// the WhatsApp webhook call it. Attached once, after the state is built.
    helpdesk: std::sync::OnceLock<Arc<vistoria_helpdesk::service::Helpdesk>>,
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
        Self::build(meta, blobs, registry, key, limits, trust, None)
    }

    /// Shared state for a server whose data folder is `data`: its free space is probed and its
    /// token epoch file watched (see [`admission::TOKEN_EPOCH_FILE`]).
    pub fn with_data_folder(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        registry: Registry,
        key: ServerKey,
        limits: Limits,
        trust: Trust,
        data: &Path,
    ) -> Arc<AppState> {
        Self::build(
            meta,
            blobs,
            registry,
            key,
            limits,
            trust,
            Some(data.to_owned()),
        )
    }

    fn build(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        registry: Registry,
        key: ServerKey,
        limits: Limits,
        trust: Trust,
        data: Option<PathBuf>,
    ) -> Arc<AppState> {
        let limiter = RateLimiter::new(limits.rate_per_second, limits.rate_burst);
        let address_limiter =
            RateLimiter::new(limits.address_rate_per_second, limits.address_rate_burst);
        let tokens = TokenCache::new(data.as_ref().map(|d| d.join(TOKEN_EPOCH_FILE)));
        Arc::new(AppState {
            meta,
            blobs,
            registry,
            key,
            limits,
            trust,
            limiter,
            address_limiter,
            tokens,
            uploads: Arc::default(),
            data,
            stop: tokio::sync::watch::Sender::new(false),
            instance: Uuid::new_v4(),
            helpdesk: std::sync::OnceLock::new(),
        })
    }

    /// Attaches the help desk; a second one is refused (returned).
    pub fn attach_helpdesk(
        &self,
        helpdesk: Arc<vistoria_helpdesk::service::Helpdesk>,
    ) -> Result<(), Arc<vistoria_helpdesk::service::Helpdesk>> {
        self.helpdesk.set(helpdesk)
    }

    /// The help desk, if this central runs one.
    pub fn helpdesk(&self) -> Option<&Arc<vistoria_helpdesk::service::Helpdesk>> {
        self.helpdesk.get()
    }

    /// Begins a graceful stop: running uploads keep (and fsync) what arrived and answer 503.
    pub fn begin_shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Turns `true` when a graceful stop begins.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Takes one request of `peer`'s address from its bucket, counted before authentication
    /// (the API and the public laudo page share it), or says how many seconds until one is free.
    pub(crate) fn take_address_token(&self, peer: &SocketAddr) -> Result<(), u64> {
        self.address_limiter.take(&peer.ip().to_string())
    }

    /// The data folder, if the server has one.
    fn data_folder(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// Marks an upload (`file = Some`) or commit (`None`) of a package as running; refuses if a
    /// conflicting one runs (the same file, or a commit and anything else of the inspection) on
    /// this or any other instance: the lease is kept in the metadata store. Blocking: call it
    /// off the async threads.
    fn claim(self: &Arc<Self>, key: &PackageKey, file: Option<&str>) -> Result<Claim, ApiError> {
        let holder = Uuid::new_v4();
        let now = chrono::Utc::now();
        // Past its lease an upload has been cut by its own deadline; a commit re-hashes and
        // seals at disk speed. An instance that dies holds nothing past its last heartbeat.
        let duration = match file {
            Some(_) => self.limits.upload_deadline + std::time::Duration::from_secs(60),
            None => COMMIT_LEASE,
        };
        let lease = Lease {
            holder,
            instance: self.instance,
            now,
            until: now + chrono::Duration::from_std(duration).map_err(ApiError::internal)?,
        };
        if !self.meta.claim(key, file, lease)? {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::UploadInProgress,
                "já há um envio ou confirmação desta vistoria em andamento; aguarde e tente novamente",
            ));
        }
        Ok(Claim {
            meta: Arc::clone(&self.meta),
            holder: Some(holder),
        })
    }
}

/// How often an instance renews its heartbeat, and how long one lasts.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
const HEARTBEAT_LASTS: chrono::Duration = chrono::Duration::seconds(10);

impl AppState {
    /// Declares this instance the only one (blocking): for a store only it uses.
    pub fn sole_instance(&self) -> Result<(), crate::storage::StorageError> {
        self.meta
            .retire_other_instances(self.instance, chrono::Utc::now())
    }

    /// Renews this instance's heartbeat (blocking).
    pub fn heartbeat(&self) -> Result<(), crate::storage::StorageError> {
        self.meta
            .heartbeat(self.instance, chrono::Utc::now() + HEARTBEAT_LASTS)
    }
}

/// Keeps this instance's heartbeat for as long as the server runs.
pub async fn keep_alive(state: Arc<AppState>) {
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        let worker = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || worker.heartbeat()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(%e, "não foi possível renovar o sinal de vida da instância")
            }
            Err(e) => tracing::warn!(%e, "não foi possível renovar o sinal de vida da instância"),
        }
    }
}

/// How long a commit's lease lasts.
const COMMIT_LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// A lease of [`AppState::claim`]: ended by [`Claim::release`], or when dropped.
struct Claim {
    meta: Arc<dyn MetadataStore>,
    holder: Option<Uuid>,
}

impl Claim {
    /// Ends the lease now (blocking): the next request of the station finds it free.
    fn release(mut self) -> Result<(), ApiError> {
        if let Some(holder) = self.holder.take() {
            self.meta.release(holder)?;
        }
        Ok(())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(holder) = self.holder.take() else {
            return;
        };
        let meta = Arc::clone(&self.meta);
        let end = move || {
            if let Err(e) = meta.release(holder) {
                tracing::warn!(%e, "não foi possível encerrar a reserva; ela expira sozinha");
            }
        };
        // An early return may drop it on an async thread, where the store must not block.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(end);
            }
            Err(_) => end(),
        }
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
    // Before anything costs a lookup: a stranger's flood is cut per address.
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(seconds) = state.take_address_token(peer)
    {
        tracing::warn!(%peer, %path, "limite de requisições por endereço excedido");
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("muitas requisições deste endereço; tente novamente em {seconds} s"),
        );
        e.retry_after = Some(seconds);
        return Err(e);
    }
    let Some(token) = token else {
        tracing::warn!(%path, "requisição sem token de estação");
        return Err(drained(&state, req, unauthorized()).await);
    };
    let station = station_of(&state, &token).await?;
    let Some(station) = station else {
        tracing::warn!(%path, "token de estação desconhecido");
        return Err(drained(&state, req, unauthorized()).await);
    };
    if let Err(seconds) = state.limiter.take(&station) {
        tracing::warn!(%station, %path, "limite de requisições excedido");
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("muitas requisições desta estação; tente novamente em {seconds} s"),
        );
        e.retry_after = Some(seconds);
        return Err(drained(&state, req, e).await);
    }
    req.extensions_mut().insert(Station(station));
    Ok(next.run(req).await)
}

/// Reads what is left of a small request body before refusing it. Closing a connection with
/// bytes still unread makes the kernel reset it, and the client, still sending, never reads the
/// refusal: a station with a wrong token would see "central inacessível" and retry for hours
/// instead of "token recusado". Bodies declared larger than a manifest (uploads) are not read:
/// their connection is closed as before. The read is bounded by the request timeout.
async fn drained(state: &AppState, req: Request, refusal: ApiError) -> ApiError {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n <= vistoria_core::wire::MAX_MANIFEST_BYTES);
    if small {
        let body = axum::body::to_bytes(req.into_body(), vistoria_core::wire::MAX_MANIFEST_BYTES);
        let _ = tokio::time::timeout(state.limits.request_timeout, body).await;
    }
    refusal
}

/// The station of a bearer token: from the cache, else from the store (then cached).
async fn station_of(state: &Arc<AppState>, token: &str) -> Result<Option<String>, ApiError> {
    let hash = token_hash(token);
    if let Some(station) = state.tokens.get(&hash, &state.limits) {
        return Ok(Some(station));
    }
    let seen = state.tokens.stamp();
    let meta = Arc::clone(&state.meta);
    let lookup = hash.clone();
    let station = blocking(move || Ok(meta.station_for_token(&lookup)?)).await?;
    if let Some(station) = &station {
        state.tokens.put(hash, station.clone(), seen);
    }
    Ok(station)
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
        .route("/audit/key", post(audit::key))
        .route("/audit/verify", post(audit::verify))
        .route("/stations/self/inspectors", put(inspectors::put))
        // Device management (§15).
        .route("/policies", get(policy::get))
        .route("/stations/self/inventory", post(policy::inventory))
        // The help desk's tickets (issue 23).
        .route(
            "/stations/self/tickets",
            get(tickets::list).post(tickets::open),
        )
        .route(
            "/stations/self/tickets/{ticket_id}/messages",
            post(tickets::reply),
        )
        .route(
            "/stations/self/tickets/{ticket_id}/feedback",
            post(tickets::feedback),
        )
        // The live view of the panoramic camera (§7).
        .route("/stations/self/live", get(live::get))
        .route("/stations/self/live/frames", post(live::frame))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            time_limit,
        ));
    // Uploads have their own deadline, minimum rate and idle timeout (`upload.rs`);
    // a commit re-reads every byte of the package, which may take longer than a JSON request.
    let uploads = Router::new()
        .route("/packages/{id}/files/{name}", put(upload::upload))
        .route("/packages/{id}/commit", post(packages::commit))
        // A release package is tens of megabytes: a download, not a JSON request.
        .route("/releases/{version}", get(policy::release));
    let api = bounded
        .merge(uploads)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authenticate,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(Arc::clone(&state))
        // People's routes have their own authentication (`detran.rs`).
        .merge(detran::router(Arc::clone(&state)));
    // The Detran portal's web pages (issue 22): their own sessions, under `/portal/`.
    let portal = crate::portal::router(Arc::clone(&state));
    // The laudo's QR code (§10): public, no token, limited per address like the API.
    let public = Router::new()
        .route(&format!("{VERIFY_PREFIX}/{{number}}"), get(verify::page))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            time_limit,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            verify::limit,
        ))
        .with_state(state);
    Router::new()
        .nest(API_PREFIX, api)
        .merge(public)
        .merge(portal)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}
