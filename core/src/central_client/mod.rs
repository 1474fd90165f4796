//! The kiosk's client of the central server API (`/api/v1`, see `central/README.md`): central
//! time (2d), vehicle query (§5) and package delivery (2s, §12). Blocking (ureq); callers run it
//! off the UI thread.

mod pinning;

pub use pinning::client_config as tls_config;

use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::clock::{CentralClock, ClockError, SyncPoint};
use crate::domain::InspectionId;
use crate::wire::{
    API_PREFIX, ErrorBody, ErrorCode, InspectionView, Receipt, TimeResponse, UploadState,
    VehicleQuery, VehicleQueryResponse,
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
            ClientError::Setup(_) | ClientError::Clock(_) => false,
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

/// A connection to the central server (cheap to clone; connections are pooled).
#[derive(Clone)]
pub struct CentralClient {
    agent: ureq::Agent,
    upload_agent: ureq::Agent,
    base: String,
    auth: String,
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
        })
    }

    /// `GET /time`.
    pub fn time(&self) -> Result<TimeResponse, ClientError> {
        self.json(
            self.agent
                .get(&self.url("/time"))
                .set("Authorization", &self.auth)
                .call(),
        )
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

    /// `POST /vehicles/query` (§5).
    pub fn query_vehicle(&self, query: &VehicleQuery) -> Result<VehicleQueryResponse, ClientError> {
        self.post_json(&self.agent, "/vehicles/query", query)
    }

    /// `POST /packages`: registers (or finds) the package and says what is still missing.
    pub fn put_manifest(&self, manifest: &serde_json::Value) -> Result<UploadState, ClientError> {
        self.post_json(&self.agent, "/packages", manifest)
    }

    /// `PUT /packages/{id}/files/{name}?offset=N`: streams `len` bytes from `body`.
    pub fn upload_file(
        &self,
        inspection: InspectionId,
        name: &str,
        offset: u64,
        len: u64,
        body: impl Read,
    ) -> Result<UploadState, ClientError> {
        let url = self.url(&format!("/packages/{inspection}/files/{name}"));
        let response = self
            .upload_agent
            .put(&url)
            .query("offset", &offset.to_string())
            .set("Authorization", &self.auth)
            .set("Content-Type", "application/octet-stream")
            .set("Content-Length", &len.to_string())
            .send(body);
        self.json(response)
    }

    /// `POST /packages/{id}/commit`: the server verifies every byte and answers the receipt.
    pub fn commit(&self, inspection: InspectionId) -> Result<Receipt, ClientError> {
        let url = self.url(&format!("/packages/{inspection}/commit"));
        let response = self
            .upload_agent
            .post(&url)
            .set("Authorization", &self.auth)
            .call();
        self.json(response)
    }

    /// `GET /inspections/{id}`.
    pub fn inspection(&self, inspection: InspectionId) -> Result<InspectionView, ClientError> {
        let url = self.url(&format!("/inspections/{inspection}"));
        self.json(self.agent.get(&url).set("Authorization", &self.auth).call())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post_json<T: DeserializeOwned>(
        &self,
        agent: &ureq::Agent,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| ClientError::Setup(e.to_string()))?;
        let response = agent
            .post(&self.url(path))
            .set("Authorization", &self.auth)
            .send_json(body);
        self.json(response)
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
