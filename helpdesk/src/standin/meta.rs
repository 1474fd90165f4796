//! A stand-in for Meta's WhatsApp Business Cloud API, written from Meta's documentation: the
//! Graph side (`POST /{version}/{phone-number-id}/messages` and `/media`, `GET /{version}/{media-id}`
//! and the download URL it gives, all behind the bearer token, errors in Graph's format, the
//! 24-hour customer service window), and a driver that plays the people: it posts the webhook
//! notifications Meta would, signed with the app secret. Faults: down, server errors, throttling,
//! slow answers, a revoked token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::server::LoopbackServer;
use crate::chatbot::MediaKind;
use crate::whatsapp::webhook::{SIGNATURE_HEADER, sign};

/// A message the business sent, as Meta received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// Recipient.
    pub to: String,
    /// `text`, `interactive`, `image`, …
    pub kind: String,
    /// The whole JSON sent.
    pub payload: Value,
    /// The `wamid` given back.
    pub wamid: String,
}

impl SentMessage {
    /// The text a person reads (text body, interactive body, media caption).
    pub fn text(&self) -> String {
        let p = &self.payload;
        let t = match self.kind.as_str() {
            "text" => &p["text"]["body"],
            "interactive" => &p["interactive"]["body"]["text"],
            other => &p[other]["caption"],
        };
        t.as_str().unwrap_or("").to_owned()
    }

    /// Ids of the buttons or list rows offered.
    pub fn choice_ids(&self) -> Vec<String> {
        let i = &self.payload["interactive"];
        let from = |v: &Value| v.as_str().unwrap_or("").to_owned();
        match i["type"].as_str() {
            Some("button") => i["action"]["buttons"]
                .as_array()
                .map(|b| b.iter().map(|b| from(&b["reply"]["id"])).collect()),
            Some("list") => i["action"]["sections"][0]["rows"]
                .as_array()
                .map(|r| r.iter().map(|r| from(&r["id"])).collect()),
            _ => None,
        }
        .unwrap_or_default()
    }
}

#[derive(Default)]
struct Faults {
    server_errors: u32,
    throttled: u32,
    delay: Duration,
}

struct Meta {
    access_token: String,
    phone_number_id: String,
    app_secret: String,
    webhook_url: Option<String>,
    media: HashMap<String, (String, Vec<u8>)>,
    next: u64,
    sent: Vec<SentMessage>,
    windows: HashMap<String, DateTime<Utc>>,
    faults: Faults,
}

type Shared = Arc<Mutex<Meta>>;

fn lock(s: &Shared) -> MutexGuard<'_, Meta> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Meta {
    fn next_id(&mut self) -> u64 {
        self.next += 1;
        1_000_000_000_000_000 + self.next
    }
}

/// Graph's error body.
fn graph_error(status: u16, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfStandin"});
    if let Some(d) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": d});
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({ "error": error }))).into_response()
}

fn invalid(message: &str) -> Response {
    graph_error(400, 100, &format!("(#100) {message}"), None)
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Checks a message's JSON as the Cloud API does; the error to answer, if any.
fn check_message(p: &Value, media: &HashMap<String, (String, Vec<u8>)>) -> Option<Response> {
    if p["messaging_product"] != "whatsapp" {
        return Some(invalid("The parameter messaging_product is required."));
    }
    let to = p["to"].as_str().unwrap_or("");
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Some(invalid("Invalid parameter: to"));
    }
    let kind = p["type"].as_str().unwrap_or("text");
    let object = &p[kind];
    if !object.is_object() {
        return Some(invalid(&format!("The parameter {kind} is required.")));
    }
    match kind {
        "text" => {
            let n = chars(&object["body"]);
            if n == 0 || n > 4096 {
                return Some(invalid(
                    "Param text['body'] must be between 1 and 4096 characters",
                ));
            }
        }
        "interactive" => {
            if chars(&object["body"]["text"]) == 0 {
                return Some(invalid(
                    "The parameter interactive['body']['text'] is required.",
                ));
            }
            match object["type"].as_str() {
                Some("button") => {
                    let buttons = object["action"]["buttons"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if buttons.is_empty() || buttons.len() > 3 {
                        return Some(invalid(
                            "Param interactive['action']['buttons'] must have 1 to 3 items",
                        ));
                    }
                    if buttons.iter().any(|b| {
                        b["type"] != "reply"
                            || chars(&b["reply"]["title"]) == 0
                            || chars(&b["reply"]["title"]) > 20
                    }) {
                        return Some(invalid("Button title length invalid. Max length is 20"));
                    }
                }
                Some("list") => {
                    let label = chars(&object["action"]["button"]);
                    if label == 0 || label > 20 {
                        return Some(invalid(
                            "Param interactive['action']['button'] must be between 1 and 20 characters",
                        ));
                    }
                    let rows: Vec<Value> = object["action"]["sections"]
                        .as_array()
                        .map(|s| {
                            s.iter()
                                .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
                                .collect()
                        })
                        .unwrap_or_default();
                    if rows.is_empty() || rows.len() > 10 {
                        return Some(invalid("Total row count exceed max allowed count: 10"));
                    }
                    if rows
                        .iter()
                        .any(|r| chars(&r["title"]) == 0 || chars(&r["title"]) > 24)
                    {
                        return Some(invalid("Row title length invalid. Max length is 24"));
                    }
                }
                _ => return Some(invalid("Invalid interactive type")),
            }
        }
        "image" | "audio" | "video" | "document" => {
            let id = object["id"].as_str().unwrap_or("");
            if !media.contains_key(id) {
                return Some(invalid(&format!("Invalid parameter: media id {id}")));
            }
        }
        _ => return Some(invalid(&format!("Unsupported message type {kind}"))),
    }
    None
}

async fn handle(State(state): State<Shared>, request: Request) -> Response {
    let (delay, fault) = {
        let mut g = lock(&state);
        let fault = if g.faults.server_errors > 0 {
            g.faults.server_errors -= 1;
            Some(graph_error(500, 1, "An unknown error occurred", None))
        } else if g.faults.throttled > 0 {
            g.faults.throttled -= 1;
            Some(graph_error(
                429,
                130429,
                "(#130429) Rate limit hit",
                Some("Cloud API message throughput has been reached."),
            ))
        } else {
            None
        };
        (g.faults.delay, fault)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(f) = fault {
        return f;
    }
    let (token, pnid) = {
        let g = lock(&state);
        (g.access_token.clone(), g.phone_number_id.clone())
    };
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {token}"));
    if !authorized {
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    }
    let path: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let method = request.method().clone();
    match (method, path.as_slice()) {
        (Method::POST, [_version, id, what]) if *id == pnid && what == "messages" => {
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
                return invalid("Request body is not valid JSON");
            };
            let mut g = lock(&state);
            if let Some(error) = check_message(&payload, &g.media) {
                return error;
            }
            let to = payload["to"].as_str().unwrap_or("").to_owned();
            let open = g
                .windows
                .get(&to)
                .is_some_and(|last| Utc::now() - *last < chrono::Duration::hours(24));
            if !open {
                return graph_error(
                    400,
                    131047,
                    "(#131047) Re-engagement message",
                    Some(
                        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                    ),
                );
            }
            let wamid = format!("wamid.standin{}", g.next_id());
            g.sent.push(SentMessage {
                to: to.clone(),
                kind: payload["type"].as_str().unwrap_or("text").to_owned(),
                payload,
                wamid: wamid.clone(),
            });
            (
                StatusCode::OK,
                axum::Json(json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]})),
            )
                .into_response()
        }
        (Method::POST, [_version, id, what]) if *id == pnid && what == "media" => {
            upload(&state, request).await
        }
        (Method::GET, [what, id]) if what == "download" => {
            match lock(&state).media.get(id.as_str()) {
                Some((mime, bytes)) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, mime.clone())],
                    bytes.clone(),
                )
                    .into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        (Method::GET, [_version, id]) => {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1")
                .to_owned();
            match lock(&state).media.get(id.as_str()) {
                Some((mime, bytes)) => (
                    StatusCode::OK,
                    axum::Json(json!({
                        "messaging_product": "whatsapp",
                        "url": format!("http://{host}/download/{id}"),
                        "mime_type": mime,
                        "sha256": hex::encode(Sha256::digest(bytes)),
                        "file_size": bytes.len(),
                        "id": id,
                    })),
                )
                    .into_response(),
                None => invalid(&format!(
                    "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
                )),
            }
        }
        _ => invalid("Unknown path components"),
    }
}

async fn upload(state: &Shared, request: Request) -> Response {
    let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
        return invalid("The parameter file is required.");
    };
    let mut product = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        let mime = field.content_type().map(str::to_owned);
        let Ok(bytes) = field.bytes().await else {
            return invalid("Malformed multipart body");
        };
        match name.as_str() {
            "messaging_product" => product = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => {
                file = Some((
                    mime.unwrap_or_else(|| "application/octet-stream".into()),
                    bytes.to_vec(),
                ))
            }
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return invalid("The parameter messaging_product is required.");
    }
    let Some((mime, bytes)) = file else {
        return invalid("The parameter file is required.");
    };
    let mut g = lock(state);
    let id = g.next_id().to_string();
    g.media.insert(id.clone(), (mime, bytes));
    (StatusCode::OK, axum::Json(json!({ "id": id }))).into_response()
}

/// A file someone sends.
#[derive(Debug, Clone, Copy)]
pub struct UserMedia<'a> {
    /// Photo, audio, video or document.
    pub kind: MediaKind,
    /// Its MIME type.
    pub mime: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Caption typed with it.
    pub caption: Option<&'a str>,
    /// File name (documents).
    pub filename: Option<&'a str>,
}

/// The running stand-in.
pub struct MetaStandin {
    server: LoopbackServer,
    state: Shared,
    http: reqwest::Client,
}

impl MetaStandin {
    /// Starts the Graph side for one business number.
    pub async fn start(
        access_token: &str,
        phone_number_id: &str,
        app_secret: &str,
    ) -> std::io::Result<MetaStandin> {
        let state: Shared = Arc::new(Mutex::new(Meta {
            access_token: access_token.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            app_secret: app_secret.to_owned(),
            webhook_url: None,
            media: HashMap::new(),
            next: 0,
            sent: Vec::new(),
            windows: HashMap::new(),
            faults: Faults::default(),
        }));
        let router = Router::new().fallback(handle).with_state(state.clone());
        let server = LoopbackServer::start(router).await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(MetaStandin {
            server,
            state,
            http,
        })
    }

    /// The Graph API base URL (`graph_url` in the settings).
    pub fn graph_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Where notifications go (the app's webhook callback URL).
    pub fn set_webhook(&self, url: &str) {
        lock(&self.state).webhook_url = Some(url.to_owned());
    }

    /// Meta is unreachable.
    pub async fn go_down(&self) {
        self.server.stop().await;
    }

    /// Meta is back.
    pub async fn come_back(&self) -> std::io::Result<()> {
        self.server.restart().await
    }

    /// The next `n` Graph calls fail with a 500 (code 1).
    pub fn fail_next(&self, n: u32) {
        lock(&self.state).faults.server_errors += n;
    }

    /// The next `n` Graph calls are throttled (code 130429).
    pub fn throttle_next(&self, n: u32) {
        lock(&self.state).faults.throttled += n;
    }

    /// Every Graph answer waits this long.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).faults.delay = delay;
    }

    /// Replaces the valid access token (ours stops working: code 190).
    pub fn set_access_token(&self, token: &str) {
        lock(&self.state).access_token = token.to_owned();
    }

    /// The person has not written for more than 24 hours: only templates would reach them.
    pub fn close_window(&self, phone: &str) {
        lock(&self.state).windows.remove(phone);
    }

    /// Everything the business sent.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.state).sent.clone()
    }

    /// What the business sent to `phone`.
    pub fn sent_to(&self, phone: &str) -> Vec<SentMessage> {
        self.sent().into_iter().filter(|m| m.to == phone).collect()
    }

    /// The bytes and MIME type of an uploaded or user media.
    pub fn media(&self, id: &str) -> Option<(String, Vec<u8>)> {
        lock(&self.state).media.get(id).cloned()
    }

    fn envelope(&self, from: &str, name: &str, message: Value) -> Value {
        let pnid = lock(&self.state).phone_number_id.clone();
        json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": "102290129340398",
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "556533330000", "phone_number_id": pnid},
                        "contacts": [{"profile": {"name": name}, "wa_id": from}],
                        "messages": [message]
                    },
                    "field": "messages"
                }]
            }]
        })
    }

    fn message_base(&self, from: &str, kind: &str) -> (String, Value) {
        let id = format!("wamid.user{}", lock(&self.state).next_id());
        let base = json!({"from": from, "id": id, "timestamp": Utc::now().timestamp().to_string(), "type": kind});
        (id, base)
    }

    /// Posts `body` to the webhook with the signature Meta would compute; the webhook's status.
    pub async fn post_signed(&self, body: &[u8]) -> StatusCode {
        let secret = lock(&self.state).app_secret.clone();
        let signature = sign(secret.as_bytes(), body);
        self.post_with_signature(body, Some(&signature)).await
    }

    /// Posts `body` with any signature header (or none): what a forger would do.
    pub async fn post_with_signature(&self, body: &[u8], signature: Option<&str>) -> StatusCode {
        let Some(url) = lock(&self.state).webhook_url.clone() else {
            return StatusCode::SERVICE_UNAVAILABLE;
        };
        let mut request = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            request = request.header(SIGNATURE_HEADER, s);
        }
        match request.send().await {
            Ok(r) => r.status(),
            Err(_) => StatusCode::BAD_GATEWAY,
        }
    }

    async fn notify_from_user(&self, from: &str, name: &str, message: Value) -> StatusCode {
        lock(&self.state)
            .windows
            .insert(from.to_owned(), Utc::now());
        let body = self.envelope(from, name, message).to_string();
        self.post_signed(body.as_bytes()).await
    }

    /// Someone sends a text; the webhook's status.
    pub async fn user_text(&self, from: &str, name: &str, text: &str) -> StatusCode {
        let (_, mut m) = self.message_base(from, "text");
        m["text"] = json!({ "body": text });
        self.notify_from_user(from, name, m).await
    }

    /// Someone taps a reply button (`list`: a list row instead).
    pub async fn user_choice(
        &self,
        from: &str,
        name: &str,
        id: &str,
        title: &str,
        list: bool,
    ) -> StatusCode {
        let (_, mut m) = self.message_base(from, "interactive");
        m["interactive"] = if list {
            json!({"type": "list_reply", "list_reply": {"id": id, "title": title, "description": ""}})
        } else {
            json!({"type": "button_reply", "button_reply": {"id": id, "title": title}})
        };
        self.notify_from_user(from, name, m).await
    }

    /// Someone sends a photo, audio, video or document (kept here until fetched by id).
    pub async fn user_media(&self, from: &str, name: &str, media: &UserMedia<'_>) -> StatusCode {
        let media_id = {
            let mut g = lock(&self.state);
            let id = g.next_id().to_string();
            g.media
                .insert(id.clone(), (media.mime.to_owned(), media.bytes.to_vec()));
            id
        };
        let kind = media.kind;
        let (_, mut m) = self.message_base(from, kind.code());
        let mut object = json!({"id": media_id, "mime_type": media.mime, "sha256": hex::encode(Sha256::digest(media.bytes))});
        if let Some(c) = media.caption {
            object["caption"] = json!(c);
        }
        if let Some(f) = media.filename {
            object["filename"] = json!(f);
        }
        if kind == MediaKind::Audio {
            object["voice"] = json!(true);
        }
        m[kind.code()] = object;
        self.notify_from_user(from, name, m).await
    }

    /// A delivery report for a message the business sent.
    pub async fn status(&self, wamid: &str, status: &str, recipient: &str) -> StatusCode {
        let pnid = lock(&self.state).phone_number_id.clone();
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "556533330000", "phone_number_id": pnid},
                "statuses": [{"id": wamid, "status": status, "timestamp": Utc::now().timestamp().to_string(), "recipient_id": recipient}]
            }}]}]
        })
        .to_string();
        self.post_signed(body.as_bytes()).await
    }
}
