//! The kiosk's client of the central server API (`/api/v1`, see `central/README.md`): central
//! time (2d), vehicle query (§5) and package delivery (2s, §12). Blocking (ureq); callers run it
//! off the UI thread. Every request keeps under the central's announced rate and waits out a
//! 429 instead of failing (`pacing`).

pub mod live;
mod pacing;
mod pinning;

pub use pacing::{MAX_RETRY_AFTER, MAX_WAIT_PER_CALL, PacingStats};
pub use pinning::client_config as tls_config;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::clock::{CentralClock, ClockError, SyncPoint};
use crate::domain::InspectionId;
use crate::store::MacRow;
use crate::wire::{
    API_PREFIX, AuditKeyRequest, AuditKeyResponse, AuditVerifyRequest, AuditVerifyResponse,
    ErrorBody, ErrorCode, InspectionView, InspectorList, InspectorListAck, Receipt, TimeResponse,
    UploadState, VehicleQuery, VehicleQueryResponse,
};

/// Where the central server is and how to prove who we are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL, e.g. `https://127.0.0.1:8443`.
    pub url: String,
    /// The station's bearer token.
    pub token: String,
    /// SHA-256 (hex) of the server certificate, pinned when given.
    pub cert_sha256: Option<String>,
}

/// Why a call to the central server failed. The text is for the operator, in Portuguese.
#[derive(Debug, Clone, Error)]
pub enum ClientError {
    /// No answer: network down, server down, TLS refused, timeout.
    #[error("servidor central inacessível: {0}")]
    Unreachable(String),
    /// The server answered with an error.
    #[error("o servidor central recusou: {}", .body.error)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error body.
        body: ErrorBody,
    },
    /// The server answered something this kiosk cannot read.
    #[error("resposta inválida do servidor central: {0}")]
    BadResponse(String),
    /// A local file being sent could not be read.
    #[error("arquivo local ilegível durante o envio: {0}")]
    LocalBody(String),
    /// The TLS or client setup is wrong (config).
    #[error("configuração de conexão com o servidor central inválida: {0}")]
    Setup(String),
    /// The clock could not record the sync.
    #[error(transparent)]
    Clock(#[from] ClockError),
}

impl ClientError {
    /// Whether trying again later may succeed (network, overload, server failure), as opposed
    /// to a refusal that the same request will always get.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable(_) | ClientError::BadResponse(_) => true,
            ClientError::Refused { status, body } => {
                *status >= 500
                    || matches!(
                        body.code,
                        ErrorCode::RateLimited
                            | ErrorCode::Timeout
                            | ErrorCode::UploadInProgress
                            | ErrorCode::UploadInterrupted
                            | ErrorCode::OffsetMismatch
                            | ErrorCode::Internal
                    )
            }
            ClientError::Setup(_) | ClientError::Clock(_) | ClientError::LocalBody(_) => false,
        }
    }

    /// The error code, when the server gave one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused { body, .. } => Some(body.code),
            _ => None,
        }
    }
}

/// What a request carries.
enum Body<'a> {
    /// Nothing.
    Empty,
    /// A JSON document.
    Json(&'a serde_json::Value),
    /// A local file's bytes, opened anew for each try.
    Bytes {
        name: &'a str,
        open: &'a dyn Fn() -> std::io::Result<Box<dyn Read + 'a>>,
    },
}

/// A connection to the central server (cheap to clone; connections and the pace are shared).
#[derive(Clone)]
pub struct CentralClient {
    agent: ureq::Agent,
    upload_agent: ureq::Agent,
    base: String,
    auth: String,
    pacer: Arc<pacing::Pacer>,
}

impl CentralClient {
    /// A client for `endpoint`. Nothing is sent yet.
    pub fn new(endpoint: &Endpoint) -> Result<CentralClient, ClientError> {
        let tls = pinning::client_config(endpoint.cert_sha256.as_deref())
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        let builder = || {
            ureq::AgentBuilder::new()
                .tls_config(tls.clone())
                .timeout_connect(Duration::from_secs(5))
                .timeout_write(Duration::from_secs(60))
        };
        Ok(CentralClient {
            agent: builder().timeout_read(Duration::from_secs(30)).build(),
            // Commits re-hash the whole package on the server before answering.
            upload_agent: builder().timeout_read(Duration::from_secs(600)).build(),
            base: format!("{}{API_PREFIX}", endpoint.url.trim_end_matches('/')),
            auth: format!("Bearer {}", endpoint.token),
            pacer: Arc::default(),
        })
    }

    /// `GET /time`. Adopts the request limits the central announces in it.
    pub fn time(&self) -> Result<TimeResponse, ClientError> {
        let url = self.url("/time");
        let time: TimeResponse = self.call(|| self.agent.get(&url), Body::Empty)?;
        if let Some(limits) = &time.limits {
            self.pacer.set_limits(limits);
        }
        Ok(time)
    }

    /// Asks the central its time and records it in `clock`, compensating half the round trip.
    /// Returns the sync and the server's receipt-signing key.
    pub fn sync_clock(&self, clock: &CentralClock) -> Result<(SyncPoint, String), ClientError> {
        let sent = clock.mono_now();
        let time = self.time()?;
        let received = clock.mono_now();
        let sync = clock.record_sync(time.now, &sent, &received)?;
        Ok((sync, time.server_key))
    }

    /// What keeping under the central's limit has cost so far.
    pub fn pacing(&self) -> PacingStats {
        self.pacer.stats()
    }

    /// `POST /vehicles/query` (§5).
    pub fn query_vehicle(&self, query: &VehicleQuery) -> Result<VehicleQueryResponse, ClientError> {
        self.post_json("/vehicles/query", query)
    }

    /// `POST /packages`: registers (or finds) the package and says what is still missing.
    pub fn put_manifest(&self, manifest: &serde_json::Value) -> Result<UploadState, ClientError> {
        self.post_json("/packages", manifest)
    }

    /// `PUT /packages/{id}/files/{name}?offset=N`: streams `len` bytes from what `body` opens.
    /// `body` is called again for each try (a throttled try must send the bytes anew).
    pub fn upload_file<R: Read>(
        &self,
        inspection: InspectionId,
        name: &str,
        offset: u64,
        len: u64,
        body: impl Fn() -> std::io::Result<R>,
    ) -> Result<UploadState, ClientError> {
        let url = self.url(&format!("/packages/{inspection}/files/{name}"));
        let open = || -> std::io::Result<Box<dyn Read + '_>> { Ok(Box::new(body()?)) };
        self.call(
            || {
                self.upload_agent
                    .put(&url)
                    .query("offset", &offset.to_string())
                    .set("Content-Type", "application/octet-stream")
                    .set("Content-Length", &len.to_string())
            },
            Body::Bytes { name, open: &open },
        )
    }

    /// `POST /packages/{id}/commit`: the server verifies every byte and answers the receipt.
    pub fn commit(&self, inspection: InspectionId) -> Result<Receipt, ClientError> {
        let url = self.url(&format!("/packages/{inspection}/commit"));
        self.call(|| self.upload_agent.post(&url), Body::Empty)
    }

    /// `POST /audit/key`: the first key of this station's audit chain, keying row `next_seq`.
    pub fn audit_key(&self, next_seq: u64) -> Result<AuditKeyResponse, ClientError> {
        self.post_json("/audit/key", &AuditKeyRequest { next_seq })
    }

    /// `POST /audit/verify`: the central's check of a run of audit rows.
    pub fn verify_audit(&self, rows: Vec<MacRow>) -> Result<AuditVerifyResponse, ClientError> {
        self.post_json("/audit/verify", &AuditVerifyRequest { rows })
    }

    /// `PUT /stations/self/inspectors` (§11): the station's whole current list of inspectors,
    /// whose e-CPFs alone may sign its laudos at the central.
    pub fn put_inspectors(&self, list: &InspectorList) -> Result<InspectorListAck, ClientError> {
        let body = serde_json::to_value(list).map_err(|e| ClientError::Setup(e.to_string()))?;
        let url = self.url("/stations/self/inspectors");
        self.call(|| self.agent.put(&url), Body::Json(&body))
    }

    /// `GET /policies` (§15): the central's latest signed policies, to be verified by the caller.
    pub fn policies(&self) -> Result<crate::policy::PolicySet, ClientError> {
        let url = self.url("/policies");
        self.call(|| self.agent.get(&url), Body::Empty)
    }

    /// `POST /stations/self/inventory` (§15 b): what the station holds; the answer names what
    /// the central's software policy does not allow.
    pub fn send_inventory(
        &self,
        inventory: &crate::policy::Inventory,
    ) -> Result<crate::policy::InventoryAck, ClientError> {
        self.post_json("/stations/self/inventory", inventory)
    }

    /// `POST /stations/self/tickets` (issue 23): opens a help-desk ticket; sent again with the
    /// same `client_id` it answers the same ticket.
    pub fn open_ticket(
        &self,
        ticket: &crate::tickets::TicketOpen,
    ) -> Result<crate::tickets::TicketOpened, ClientError> {
        self.post_json("/stations/self/tickets", ticket)
    }

    /// `GET /stations/self/tickets`: the station's tickets, newest first, and the categories.
    pub fn station_tickets(&self) -> Result<crate::tickets::StationTickets, ClientError> {
        let url = self.url("/stations/self/tickets");
        self.call(|| self.agent.get(&url), Body::Empty)
    }

    /// `POST /stations/self/tickets/{ticket_id}/messages`: the requester's reply.
    pub fn reply_ticket(
        &self,
        ticket_id: i64,
        reply: &crate::tickets::TicketReply,
    ) -> Result<crate::tickets::TicketAck, ClientError> {
        self.post_json(
            &format!("/stations/self/tickets/{ticket_id}/messages"),
            reply,
        )
    }

    /// `POST /stations/self/tickets/{ticket_id}/feedback`: the requester's answer to a solution.
    pub fn ticket_feedback(
        &self,
        ticket_id: i64,
        feedback: &crate::tickets::TicketFeedback,
    ) -> Result<crate::tickets::TicketAck, ClientError> {
        self.post_json(
            &format!("/stations/self/tickets/{ticket_id}/feedback"),
            feedback,
        )
    }

    /// `GET {path}` under the API (a release package, §15 a): writes at most `limit` bytes of
    /// the body to `out` and returns how many. Larger bodies are refused, not truncated.
    pub fn download(
        &self,
        path: &str,
        out: &mut dyn std::io::Write,
        limit: u64,
    ) -> Result<u64, ClientError> {
        let url = self.url(path);
        self.pacer.before_request();
        let response = self
            .upload_agent
            .get(&url)
            .set("Authorization", &self.auth)
            .call();
        let response = match response {
            Ok(r) => r,
            Err(e) => return self.json::<serde_json::Value>(Err(e)).map(|_| 0),
        };
        let mut body = response.into_reader().take(limit.saturating_add(1));
        let copied = std::io::copy(&mut body, out)
            .map_err(|e| ClientError::BadResponse(format!("download interrompido: {e}")))?;
        if copied > limit {
            return Err(ClientError::BadResponse(format!(
                "o arquivo passa de {limit} bytes; download recusado"
            )));
        }
        Ok(copied)
    }

    /// `GET /inspections/{id}`.
    pub fn inspection(&self, inspection: InspectionId) -> Result<InspectionView, ClientError> {
        let url = self.url(&format!("/inspections/{inspection}"));
        self.call(|| self.agent.get(&url), Body::Empty)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| ClientError::Setup(e.to_string()))?;
        let url = self.url(path);
        self.call(|| self.agent.post(&url), Body::Json(&body))
    }

    /// Sends the request `request` makes (authorised here) with `body`, paced under the
    /// central's limit; a 429 (or a 503 with `Retry-After`) is waited out and the request sent
    /// again, within [`MAX_WAIT_PER_CALL`].
    fn call<T: DeserializeOwned>(
        &self,
        request: impl Fn() -> ureq::Request,
        body: Body<'_>,
    ) -> Result<T, ClientError> {
        let mut waited = Duration::ZERO;
        loop {
            self.pacer.before_request();
            let request = request().set("Authorization", &self.auth);
            let response = match &body {
                Body::Empty => request.call(),
                Body::Json(value) => request.send_json(*value),
                Body::Bytes { name, open } => request
                    .send(open().map_err(|e| ClientError::LocalBody(format!("{name}: {e}")))?),
            };
            if let Err(ureq::Error::Status(status, r)) = &response {
                let retry_after = pacing::parse_retry_after(r.header("Retry-After"));
                let asked = match (*status, retry_after) {
                    (429, asked) => Some(asked.unwrap_or(Duration::from_secs(1))),
                    (503, Some(asked)) => Some(asked),
                    _ => None,
                };
                if let Some(asked) = asked {
                    tracing::info!(status, ?asked, "central asked to wait");
                    if self.pacer.after_throttled(asked, &mut waited) {
                        continue;
                    }
                }
            }
            return self.json(response);
        }
    }

    fn json<T: DeserializeOwned>(
        &self,
        response: Result<ureq::Response, ureq::Error>,
    ) -> Result<T, ClientError> {
        match response {
            Ok(r) => r
                .into_json::<T>()
                .map_err(|e| ClientError::BadResponse(e.to_string())),
            Err(ureq::Error::Status(status, r)) => {
                let text = r.into_string().unwrap_or_default();
                match serde_json::from_str::<ErrorBody>(&text) {
                    Ok(body) => Err(ClientError::Refused { status, body }),
                    Err(_) => Err(ClientError::BadResponse(format!(
                        "HTTP {status}: {}",
                        text.chars().take(200).collect::<String>()
                    ))),
                }
            }
            Err(ureq::Error::Transport(t)) => Err(ClientError::Unreachable(t.to_string())),
        }
    }
}
