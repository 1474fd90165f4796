//! A GLPI 10.0 stand-in written from `apirest.md` (glpi-project/glpi, branch 10.0): the REST API
//! under `/apirest.php/`, with its sessions, App-Token, `[CODE, message]` errors and statuses,
//! ranges, sanitized text, document uploads; and faults to inject: down (connection refused),
//! server errors, slow answers, answers lost after the work is done, sessions expired, refusals.
//! A real GLPI needs PHP and MariaDB, which this machine cannot install; tests run against this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};

use super::server::LoopbackServer;

/// Itemtypes the stand-in keeps (GLPI knows hundreds; these are the help desk's).
mod api;
mod data;

use api::handle;
use data::{Glpi, Refusal, Shared, lock, now_text, sanitize, unsanitize};

const ITEMTYPES: &[&str] = &[
    "Ticket",
    "ITILFollowup",
    "ITILSolution",
    "Document",
    "Document_Item",
    "TicketSatisfaction",
    "Ticket_User",
    "User",
    "Location",
    "ITILCategory",
];

/// How long a "lost" answer is held: longer than any client waits.
const LOST_ANSWER_HOLD: Duration = Duration::from_secs(120);

/// The running stand-in.
pub struct GlpiStandin {
    server: LoopbackServer,
    state: Shared,
}

impl GlpiStandin {
    /// Starts a stand-in that accepts `user_token` (as user 2, GLPI's "glpi" user) and, when
    /// given, requires `app_token`.
    pub async fn start(app_token: Option<&str>, user_token: &str) -> std::io::Result<GlpiStandin> {
        let glpi = Glpi {
            app_token: app_token.map(str::to_owned),
            user_tokens: HashMap::from([(user_token.to_owned(), 2)]),
            ..Glpi::default()
        };
        let state: Shared = Arc::new(Mutex::new(glpi));
        let router = Router::new().fallback(handle).with_state(state.clone());
        let server = LoopbackServer::start(router).await?;
        Ok(GlpiStandin { server, state })
    }

    /// The `apirest.php` URL.
    pub fn url(&self) -> String {
        format!("http://{}/apirest.php", self.server.addr())
    }

    /// GLPI goes down: connections refused, open ones cut.
    pub async fn go_down(&self) {
        self.server.stop().await;
    }

    /// GLPI comes back on the same address.
    pub async fn come_back(&self) -> std::io::Result<()> {
        self.server.restart().await
    }

    /// The next `n` requests fail with a 500 and an HTML page (a PHP fatal error, a proxy).
    pub fn fail_next(&self, n: u32) {
        lock(&self.state).faults.server_errors += n;
    }

    /// Every answer waits this long.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).faults.delay = delay;
    }

    /// The next `n` successful writes are done but their answers never arrive (the client's
    /// timeout runs out): a crash between GLPI's work and the client's record of it.
    pub fn lose_next_answers(&self, n: u32) {
        lock(&self.state).faults.lose_writes += n;
    }

    /// Every session token stops being valid (GLPI's session expired or was purged).
    pub fn expire_sessions(&self) {
        lock(&self.state).sessions.clear();
    }

    /// The next request is answered with this documented error instead.
    pub fn refuse_next(&self, status: u16, code: &str, message: &str) {
        lock(&self.state).faults.refusals.push(Refusal {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Sessions opened so far.
    pub fn sessions_opened(&self) -> u32 {
        lock(&self.state).sessions_opened
    }

    /// Sessions open now.
    pub fn sessions_open(&self) -> usize {
        lock(&self.state).sessions.len()
    }

    /// Requests received so far (method, path).
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.state).requests.clone()
    }

    /// Every item of a type, as stored (sanitized), by id.
    pub fn items(&self, itemtype: &str) -> Vec<Value> {
        lock(&self.state)
            .items
            .get(itemtype)
            .map(|m| m.values().map(|v| Value::Object(v.clone())).collect())
            .unwrap_or_default()
    }

    /// One item with its text decoded, as GLPI's web interface shows it.
    pub fn item(&self, itemtype: &str, id: i64) -> Option<Value> {
        let mut v = Value::Object(lock(&self.state).get(itemtype, id)?.clone());
        unsanitize(&mut v);
        Some(v)
    }

    /// A document's bytes.
    pub fn document_bytes(&self, id: i64) -> Option<Vec<u8>> {
        lock(&self.state).files.get(&id).cloned()
    }

    /// A technician answers in GLPI's web interface (rich text, stored sanitized).
    pub fn technician_followup(&self, ticket: i64, text: &str) -> Option<i64> {
        let mut content = Value::String(crate::glpi::protocol::text_to_html(text));
        sanitize(&mut content);
        let mut g = lock(&self.state);
        g.get("Ticket", ticket)?;
        let Value::Object(fields) = json!({"itemtype": "Ticket", "items_id": ticket, "content": content, "is_private": 0, "users_id": 5, "date": now_text()})
        else {
            return None;
        };
        if g.get("Ticket", ticket).and_then(|t| t.get("status")) == Some(&json!(1)) {
            g.set_ticket_status(ticket, 2);
        }
        Some(g.insert("ITILFollowup", fields))
    }

    /// A technician solves the ticket in GLPI (the ticket becomes "solved", 5).
    pub fn technician_solution(&self, ticket: i64, text: &str) -> Option<i64> {
        let mut content = Value::String(crate::glpi::protocol::text_to_html(text));
        sanitize(&mut content);
        let mut g = lock(&self.state);
        g.get("Ticket", ticket)?;
        let Value::Object(fields) = json!({"itemtype": "Ticket", "items_id": ticket, "content": content, "status": 2, "users_id": 5, "date": now_text()})
        else {
            return None;
        };
        let id = g.insert("ITILSolution", fields);
        g.set_ticket_status(ticket, 5);
        Some(id)
    }

    /// A technician changes the ticket's status in GLPI.
    pub fn set_status(&self, ticket: i64, status: i64) {
        lock(&self.state).set_ticket_status(ticket, status);
    }
}
