//! GLPI 10.0.6 through its REST API: [`protocol`] builds and parses the bytes, [`GlpiClient`]
//! keeps the session (logging in again when GLPI says the token is no longer valid) and
//! [`crate::sync`] decides what to send.

pub mod protocol;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::http::{HttpRequest, HttpResponse, HttpTransport, new_boundary};
use protocol::{Endpoint, GlpiError};

/// Rows asked per page when listing.
const PAGE: u64 = 100;

/// A GLPI API client with one session, opened on first use and reopened when it expires.
pub struct GlpiClient {
    endpoint: Endpoint,
    user_token: String,
    transport: Arc<dyn HttpTransport>,
    session: Mutex<Option<String>>,
}

impl GlpiClient {
    /// A client of the API at `endpoint`, logging in with `user_token`.
    pub fn new(
        endpoint: Endpoint,
        user_token: String,
        transport: Arc<dyn HttpTransport>,
    ) -> GlpiClient {
        GlpiClient {
            endpoint,
            user_token,
            transport,
            session: Mutex::new(None),
        }
    }

    async fn session(&self) -> Result<String, GlpiError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let request = protocol::init_session(&self.endpoint, &self.user_token)?;
        let response = self.transport.send(request).await?;
        let token = protocol::parse_session(&response)?;
        tracing::info!("sessão aberta no GLPI");
        *guard = Some(token.clone());
        Ok(token)
    }

    async fn forget(&self, stale: &str) {
        let mut guard = self.session.lock().await;
        if guard.as_deref() == Some(stale) {
            *guard = None;
        }
    }

    /// Sends what `build` makes with the current session; when GLPI answers
    /// `ERROR_SESSION_TOKEN_INVALID` (nothing was done), logs in again and sends it once more.
    async fn call(
        &self,
        build: impl Fn(&str) -> Result<HttpRequest, GlpiError>,
    ) -> Result<HttpResponse, GlpiError> {
        let mut relogged = false;
        loop {
            let session = self.session().await?;
            let response = self.transport.send(build(&session)?).await?;
            if !response.status().is_success() && !relogged {
                let error = protocol::error_of(&response);
                if error.is_session_invalid() {
                    tracing::info!("sessão do GLPI expirada; entrando de novo");
                    self.forget(&session).await;
                    relogged = true;
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// Adds an item; its new id.
    pub async fn add(&self, itemtype: &str, input: &Value) -> Result<i64, GlpiError> {
        let response = self
            .call(|s| protocol::add_item(&self.endpoint, s, itemtype, input))
            .await?;
        protocol::parse_added(&response)
    }

    /// Changes an item.
    pub async fn update(&self, itemtype: &str, id: i64, input: &Value) -> Result<(), GlpiError> {
        let response = self
            .call(|s| protocol::update_item(&self.endpoint, s, itemtype, id, input))
            .await?;
        protocol::parse_updated(&response)
    }

    /// One item's fields.
    pub async fn item(&self, itemtype: &str, id: i64) -> Result<Value, GlpiError> {
        let response = self
            .call(|s| protocol::get_item(&self.endpoint, s, itemtype, id))
            .await?;
        protocol::parse_item(&response)
    }

    /// Every sub item of an item (all pages).
    pub async fn sub_items(
        &self,
        itemtype: &str,
        id: i64,
        sub: &str,
    ) -> Result<Vec<Value>, GlpiError> {
        let mut all = Vec::new();
        let mut start = 0;
        loop {
            let range = (start, start + PAGE - 1);
            let response = self
                .call(|s| protocol::get_sub_items(&self.endpoint, s, itemtype, id, sub, range))
                .await?;
            let page = protocol::parse_items(&response)?;
            let got = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
            all.extend(page.items);
            match page.total {
                Some(total) if start + got < total && got > 0 => start += got,
                _ => return Ok(all),
            }
        }
    }

    /// Items whose `field` contains `text` (GLPI's `searchText`), first page of 100.
    pub async fn search(
        &self,
        itemtype: &str,
        field: &str,
        text: &str,
    ) -> Result<Vec<Value>, GlpiError> {
        let response = self
            .call(|s| {
                protocol::search_text(&self.endpoint, s, itemtype, field, text, (0, PAGE - 1))
            })
            .await?;
        Ok(protocol::parse_items(&response)?.items)
    }

    /// Uploads a file as a Document named `name`; its id.
    pub async fn upload_document(
        &self,
        name: &str,
        filename: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<i64, GlpiError> {
        let boundary = new_boundary();
        let response = self
            .call(|s| {
                protocol::upload_document(&self.endpoint, s, name, filename, mime, bytes, &boundary)
            })
            .await?;
        protocol::parse_added(&response)
    }

    /// Ends the session (document: `killSession` when done). Nothing to do without one.
    pub async fn kill_session(&self) -> Result<(), GlpiError> {
        let Some(session) = self.session.lock().await.take() else {
            return Ok(());
        };
        let response = self
            .transport
            .send(protocol::kill_session(&self.endpoint, &session)?)
            .await?;
        protocol::parse_ok(&response)
    }
}
