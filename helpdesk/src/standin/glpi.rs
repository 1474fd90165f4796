//! A GLPI 10.0 stand-in written from `apirest.md` (glpi-project/glpi, branch 10.0): the REST API
//! under `/apirest.php/`, with its sessions, App-Token, `[CODE, message]` errors and statuses,
//! ranges, sanitized text, document uploads; and faults to inject: down (connection refused),
//! server errors, slow answers, answers lost after the work is done, sessions expired, refusals.
//! A real GLPI needs PHP and MariaDB, which this machine cannot install; tests run against this.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::server::LoopbackServer;

/// Itemtypes the stand-in keeps (GLPI knows hundreds; these are the help desk's).
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

/// A refusal to give instead of the next answer.
#[derive(Debug, Clone)]
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

#[derive(Default)]
struct Faults {
    server_errors: u32,
    delay: Duration,
    lose_writes: u32,
    refusals: Vec<Refusal>,
}

#[derive(Default)]
struct Glpi {
    app_token: Option<String>,
    user_tokens: HashMap<String, i64>,
    sessions: HashMap<String, i64>,
    items: BTreeMap<String, BTreeMap<i64, Map<String, Value>>>,
    next_id: HashMap<String, i64>,
    files: HashMap<i64, Vec<u8>>,
    faults: Faults,
    sessions_opened: u32,
    requests: Vec<(String, String)>,
}

type Shared = Arc<Mutex<Glpi>>;

fn lock(s: &Shared) -> MutexGuard<'_, Glpi> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running stand-in.
pub struct GlpiStandin {
    server: LoopbackServer,
    state: Shared,
}

fn now_text() -> String {
    Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// GLPI 10 stores text "sanitized": HTML special characters encoded.
fn sanitize(v: &mut Value) {
    match v {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '&' => out.push_str("&#38;"),
                    '<' => out.push_str("&#60;"),
                    '>' => out.push_str("&#62;"),
                    '"' => out.push_str("&#34;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(sanitize),
        Value::Object(o) => o.values_mut().for_each(sanitize),
        _ => {}
    }
}

fn unsanitize(v: &mut Value) {
    match v {
        Value::String(s) => *s = html_escape::decode_html_entities(s).into_owned(),
        Value::Array(a) => a.iter_mut().for_each(unsanitize),
        Value::Object(o) => o.values_mut().for_each(unsanitize),
        _ => {}
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!([code, message]))).into_response()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

impl Glpi {
    fn insert(&mut self, itemtype: &str, mut fields: Map<String, Value>) -> i64 {
        let next = self.next_id.entry(itemtype.to_owned()).or_insert(1);
        let id = *next;
        *next += 1;
        fields.insert("id".into(), json!(id));
        self.items
            .entry(itemtype.to_owned())
            .or_default()
            .insert(id, fields);
        id
    }

    fn get(&self, itemtype: &str, id: i64) -> Option<&Map<String, Value>> {
        self.items.get(itemtype).and_then(|m| m.get(&id))
    }

    fn get_mut(&mut self, itemtype: &str, id: i64) -> Option<&mut Map<String, Value>> {
        self.items.get_mut(itemtype).and_then(|m| m.get_mut(&id))
    }

    fn set_ticket_status(&mut self, id: i64, status: i64) {
        if let Some(t) = self.get_mut("Ticket", id) {
            t.insert("status".into(), json!(status));
            t.insert("date_mod".into(), json!(now_text()));
            if status == 6 {
                t.insert("closedate".into(), json!(now_text()));
            }
        }
    }

    /// Adds one item as GLPI would: checks and defaults per itemtype; the error message if not.
    fn add(
        &mut self,
        itemtype: &str,
        mut input: Map<String, Value>,
        user: i64,
    ) -> Result<i64, String> {
        let int = |m: &Map<String, Value>, k: &str| m.get(k).and_then(crate::glpi::protocol::id_of);
        let text = |m: &Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .is_some()
        };
        match itemtype {
            "Ticket" => {
                if !text(&input, "content") {
                    return Err("Description is mandatory".into());
                }
                let requester = int(&input, "_users_id_requester");
                input.retain(|k, _| !k.starts_with('_'));
                input.entry("status").or_insert(json!(1));
                input.entry("urgency").or_insert(json!(3));
                input.entry("type").or_insert(json!(1));
                input.entry("entities_id").or_insert(json!(0));
                input.insert("date".into(), json!(now_text()));
                input.insert("date_mod".into(), json!(now_text()));
                input.insert("is_deleted".into(), json!(0));
                input.insert("users_id_recipient".into(), json!(user));
                let id = self.insert("Ticket", input);
                if let Some(u) = requester {
                    let link = json!({"tickets_id": id, "users_id": u, "type": 1});
                    if let Value::Object(m) = link {
                        self.insert("Ticket_User", m);
                    }
                }
                Ok(id)
            }
            "ITILFollowup" | "ITILSolution" => {
                let parent_type = input
                    .get("itemtype")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let parent = int(&input, "items_id").unwrap_or(0);
                if self.get(&parent_type, parent).is_none() {
                    return Err("Item not found".into());
                }
                if !text(&input, "content") {
                    return Err("Content is mandatory".into());
                }
                input.retain(|k, _| !k.starts_with('_') && k != "add_reopen" && k != "add_close");
                input.insert("date".into(), json!(now_text()));
                input.insert("users_id".into(), json!(user));
                if itemtype == "ITILFollowup" {
                    input.entry("is_private").or_insert(json!(0));
                } else {
                    input.insert("status".into(), json!(2));
                    self.set_ticket_status(parent, 5);
                }
                Ok(self.insert(itemtype, input))
            }
            "Document_Item" => {
                let doc = int(&input, "documents_id").unwrap_or(0);
                let parent_type = input
                    .get("itemtype")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let parent = int(&input, "items_id").unwrap_or(0);
                if self.get("Document", doc).is_none() || self.get(&parent_type, parent).is_none() {
                    return Err("Item not found".into());
                }
                Ok(self.insert(itemtype, input))
            }
            "TicketSatisfaction" => {
                let ticket = int(&input, "tickets_id").unwrap_or(0);
                if self.get("Ticket", ticket).is_none() {
                    return Err("Item not found".into());
                }
                input.insert("date_answered".into(), json!(now_text()));
                Ok(self.insert(itemtype, input))
            }
            "Document" => Err("A file is mandatory: upload it as multipart/form-data".into()),
            _ => {
                input.retain(|k, _| !k.starts_with('_'));
                Ok(self.insert(itemtype, input))
            }
        }
    }

    fn update(&mut self, itemtype: &str, id: i64, input: Map<String, Value>) -> Result<(), String> {
        let status = input.get("status").and_then(crate::glpi::protocol::id_of);
        let Some(item) = self.get_mut(itemtype, id) else {
            return Err("Item not found".into());
        };
        for (k, v) in input {
            if k != "id" && !k.starts_with('_') {
                item.insert(k, v);
            }
        }
        item.insert("date_mod".into(), json!(now_text()));
        if itemtype == "Ticket"
            && let Some(s) = status
        {
            self.set_ticket_status(id, s);
        }
        Ok(())
    }

    /// Sub items of `parent_type`/`parent`.
    fn children(&self, parent_type: &str, parent: i64, sub: &str) -> Vec<Value> {
        let Some(items) = self.items.get(sub) else {
            return Vec::new();
        };
        let id_of =
            |m: &Map<String, Value>, k: &str| m.get(k).and_then(crate::glpi::protocol::id_of);
        items
            .values()
            .filter(|m| match (sub, parent_type) {
                ("TicketSatisfaction" | "Ticket_User", "Ticket") => {
                    id_of(m, "tickets_id") == Some(parent)
                }
                ("Document_Item", "Document") => id_of(m, "documents_id") == Some(parent),
                _ => {
                    m.get("itemtype").and_then(Value::as_str) == Some(parent_type)
                        && id_of(m, "items_id") == Some(parent)
                }
            })
            .map(|m| Value::Object(m.clone()))
            .collect()
    }
}

/// Parses `range=a-b` (default 0-49, as the document says).
fn range_of(query: &HashMap<String, String>) -> Result<(usize, usize), &'static str> {
    let Some(r) = query.get("range") else {
        return Ok((0, 49));
    };
    let parsed = r.split_once('-').and_then(|(a, b)| {
        Some((
            a.trim().parse::<usize>().ok()?,
            b.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        Some((a, b)) if a <= b => Ok((a, b)),
        _ => Err("range must be in format : [start-end] with integers"),
    }
}

/// A page of rows with the document's headers: 200 when everything fits, else 206.
fn page(itemtype: &str, rows: Vec<Value>, range: (usize, usize)) -> Response {
    let total = rows.len();
    if range.0 > total {
        return error(
            400,
            "ERROR_RANGE_EXCEED_TOTAL",
            &format!("Provided range exceed total count of data: {total}"),
        );
    }
    let end = range.1.min(total.saturating_sub(1));
    let slice: Vec<Value> = rows
        .into_iter()
        .skip(range.0)
        .take(range.1 - range.0 + 1)
        .collect();
    let status = if slice.len() < total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, Value::Array(slice));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{}-{end}/{total}", range.0)) {
        headers.insert("Content-Range", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{itemtype} 1000")) {
        headers.insert("Accept-Range", v);
    }
    response
}

fn query_map(uri: &axum::http::Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(state): State<Shared>, request: Request) -> Response {
    let (delay, fault) = {
        let mut g = lock(&state);
        g.requests.push((
            request.method().to_string(),
            request.uri().path().to_owned(),
        ));
        let fault = if g.faults.server_errors > 0 {
            g.faults.server_errors -= 1;
            Some(Err(()))
        } else if !g.faults.refusals.is_empty() {
            Some(Ok(g.faults.refusals.remove(0)))
        } else {
            None
        };
        (g.faults.delay, fault)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Some(Err(())) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Internal Server Error</h1></body></html>",
            )
                .into_response();
        }
        Some(Ok(r)) => return error(r.status, &r.code, &r.message),
        None => {}
    }
    let write = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    );
    let response = route(&state, request).await;
    let lose = write && response.status().is_success() && {
        let mut g = lock(&state);
        let lose = g.faults.lose_writes > 0;
        if lose {
            g.faults.lose_writes -= 1;
        }
        lose
    };
    if lose {
        tokio::time::sleep(LOST_ANSWER_HOLD).await;
    }
    response
}

async fn route(state: &Shared, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let query = query_map(&uri);
    let Some(path) = uri.path().strip_prefix("/apirest.php/") else {
        return error(400, "ERROR_METHOD_NOT_ALLOWED", "Method Not Allowed");
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let content_type = header_text(&headers, "Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();

    // App-Token: in header or query string (document: "could be provided in query string").
    let app_token = header_text(&headers, "App-Token")
        .map(str::to_owned)
        .or_else(|| query.get("app_token").cloned());
    let expected_app = lock(state).app_token.clone();
    if let Some(expected) = expected_app {
        match app_token {
            None => {
                return error(
                    400,
                    "ERROR_APP_TOKEN_PARAMETERS_MISSING",
                    "missing parameter app_token",
                );
            }
            Some(t) if t != expected => {
                return error(
                    400,
                    "ERROR_WRONG_APP_TOKEN_PARAMETER",
                    "parameter app_token seems wrong",
                );
            }
            Some(_) => {}
        }
    }

    if parts.first() == Some(&"initSession") {
        return init_session(state, &headers);
    }

    let session = header_text(&headers, "Session-Token")
        .map(str::to_owned)
        .or_else(|| query.get("session_token").cloned());
    let Some(session) = session.filter(|s| !s.is_empty()) else {
        return error(
            400,
            "ERROR_SESSION_TOKEN_MISSING",
            "parameter session_token is missing or empty",
        );
    };
    let Some(user) = lock(state).sessions.get(&session).copied() else {
        return error(
            401,
            "ERROR_SESSION_TOKEN_INVALID",
            "session_token seems invalid",
        );
    };
    if parts.first() == Some(&"killSession") {
        lock(state).sessions.remove(&session);
        return StatusCode::OK.into_response();
    }

    let unsanitized = header_text(&headers, "X-GLPI-Sanitized-Content")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let itemtype = parts.first().copied().unwrap_or("");
    if !ITEMTYPES.contains(&itemtype) {
        return error(
            400,
            "ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM",
            "resource not found or not an instance of CommonDBTM",
        );
    }
    let id = parts.get(1).and_then(|s| s.parse::<i64>().ok());
    let show = |mut v: Value| {
        if unsanitized {
            unsanitize(&mut v);
        }
        v
    };

    if method == Method::GET {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        if !body.is_empty() {
            return error(
                400,
                "ERROR",
                "GET Request should not have json payload (http body)",
            );
        }
        let g = lock(state);
        return match (id, parts.get(2)) {
            (Some(id), None) => {
                let wants_file = header_text(&headers, "Accept")
                    == Some("application/octet-stream")
                    || query.get("alt").map(String::as_str) == Some("media");
                if itemtype == "Document" && wants_file {
                    return match g.files.get(&id) {
                        Some(bytes) => (StatusCode::OK, bytes.clone()).into_response(),
                        None => error(404, "ERROR_ITEM_NOT_FOUND", "Item not found"),
                    };
                }
                match g.get(itemtype, id) {
                    Some(item) => json_response(StatusCode::OK, show(Value::Object(item.clone()))),
                    None => error(404, "ERROR_ITEM_NOT_FOUND", "Item not found"),
                }
            }
            (Some(id), Some(sub)) => {
                if g.get(itemtype, id).is_none() {
                    return error(404, "ERROR_ITEM_NOT_FOUND", "Item not found");
                }
                match range_of(&query) {
                    Ok(range) => page(
                        sub,
                        g.children(itemtype, id, sub)
                            .into_iter()
                            .map(show)
                            .collect(),
                        range,
                    ),
                    Err(e) => error(400, "ERROR", e),
                }
            }
            _ => {
                let filters: Vec<(String, String)> = query
                    .iter()
                    .filter_map(|(k, v)| {
                        let field = k.strip_prefix("searchText[")?.strip_suffix(']')?;
                        Some((field.to_owned(), v.to_lowercase()))
                    })
                    .collect();
                let rows: Vec<Value> = g
                    .items
                    .get(itemtype)
                    .map(|m| {
                        m.values()
                            .filter(|item| {
                                filters.iter().all(|(field, text)| {
                                    let value = match item.get(field) {
                                        Some(Value::String(s)) => s.to_lowercase(),
                                        Some(other) => other.to_string(),
                                        None => String::new(),
                                    };
                                    // Stored sanitized: search the way GLPI does, on what it stores.
                                    let mut needle = Value::String(text.clone());
                                    sanitize(&mut needle);
                                    value.contains(needle.as_str().unwrap_or(""))
                                })
                            })
                            .map(|m| show(Value::Object(m.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                match range_of(&query) {
                    Ok(range) => page(itemtype, rows, range),
                    Err(e) => error(400, "ERROR", e),
                }
            }
        };
    }

    if method == Method::POST
        && itemtype == "Document"
        && content_type.starts_with("multipart/form-data")
    {
        return upload(state, request, user).await;
    }
    if !content_type.starts_with("application/json") {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "input parameter must be an array of objects",
        );
    }
    let body: Bytes = axum::body::to_bytes(request.into_body(), 1 << 24)
        .await
        .unwrap_or_default();
    let Ok(Value::Object(mut payload)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "input parameter must be an array of objects",
        );
    };
    let Some(mut input) = payload.remove("input") else {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "input parameter must be an array of objects",
        );
    };
    sanitize(&mut input);
    let mut g = lock(state);
    match method {
        Method::POST => match input {
            Value::Object(fields) => match g.add(itemtype, fields, user) {
                Ok(new) => {
                    let mut r =
                        json_response(StatusCode::CREATED, json!({"id": new, "message": ""}));
                    if let Ok(v) = HeaderValue::from_str(&format!("/apirest.php/{itemtype}/{new}"))
                    {
                        r.headers_mut().insert(header::LOCATION, v);
                    }
                    r
                }
                Err(m) => error(400, "ERROR_GLPI_ADD", &m),
            },
            Value::Array(list) => {
                let mut results = Vec::new();
                for item in list {
                    let Value::Object(fields) = item else {
                        return error(
                            400,
                            "ERROR_BAD_ARRAY",
                            "input parameter must be an array of objects",
                        );
                    };
                    results.push(match g.add(itemtype, fields, user) {
                        Ok(new) => json!({"id": new, "message": ""}),
                        Err(m) => json!({"id": false, "message": m}),
                    });
                }
                let failed = results.iter().filter(|r| r["id"] == json!(false)).count();
                match failed {
                    0 => json_response(StatusCode::CREATED, Value::Array(results)),
                    n if n == results.len() => error_collection(400, "ERROR_GLPI_ADD", results),
                    _ => error_collection(207, "ERROR_GLPI_PARTIAL_ADD", results),
                }
            }
            _ => error(
                400,
                "ERROR_BAD_ARRAY",
                "input parameter must be an array of objects",
            ),
        },
        Method::PUT | Method::PATCH => {
            let Value::Object(mut fields) = input else {
                return error(
                    400,
                    "ERROR_BAD_ARRAY",
                    "input parameter must be an array of objects",
                );
            };
            let target = id.or_else(|| fields.get("id").and_then(crate::glpi::protocol::id_of));
            let Some(target) = target else {
                return error(400, "ERROR_BAD_ARRAY", "id is missing");
            };
            fields.remove("id");
            match g.update(itemtype, target, fields) {
                Ok(()) => json_response(
                    StatusCode::OK,
                    json!([{ target.to_string(): true, "message": "" }]),
                ),
                Err(m) => error(400, "ERROR_GLPI_UPDATE", &m),
            }
        }
        _ => error(405, "ERROR_METHOD_NOT_ALLOWED", "Method Not Allowed"),
    }
}

fn error_collection(status: u16, code: &str, results: Vec<Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!([code, results]))).into_response()
}

fn init_session(state: &Shared, headers: &HeaderMap) -> Response {
    let Some(auth) = header_text(headers, "Authorization") else {
        return error(
            400,
            "ERROR_LOGIN_PARAMETERS_MISSING",
            "parameter(s) login, password or user_token are missing",
        );
    };
    let Some(token) = auth.strip_prefix("user_token ") else {
        return error(401, "ERROR_GLPI_LOGIN", "Incorrect username or password");
    };
    let mut g = lock(state);
    let Some(user) = g.user_tokens.get(token.trim()).copied() else {
        return error(
            401,
            "ERROR_GLPI_LOGIN_USER_TOKEN",
            "parameter user_token seems invalid",
        );
    };
    let session = format!("{:040x}", rand::random::<u128>());
    g.sessions.insert(session.clone(), user);
    g.sessions_opened += 1;
    json_response(StatusCode::OK, json!({ "session_token": session }))
}

async fn upload(state: &Shared, request: Request, user: i64) -> Response {
    let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
        return error(400, "ERROR", "multipart body expected");
    };
    let mut manifest: Option<Value> = None;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return error(400, "ERROR", &format!("malformed multipart body: {e}")),
        };
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let mime = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let Ok(bytes) = field.bytes().await else {
            return error(400, "ERROR", "malformed multipart body");
        };
        if name == "uploadManifest" {
            manifest = serde_json::from_slice(&bytes).ok();
        } else if let Some(filename) = filename {
            file = Some((filename, mime, bytes.to_vec()));
        }
    }
    let Some(Value::Object(mut manifest)) = manifest else {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "uploadManifest must be a JSON object with an input",
        );
    };
    let Some(Value::Object(mut input)) = manifest.remove("input") else {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "input parameter must be an array of objects",
        );
    };
    let Some((filename, mime, bytes)) = file else {
        return error(400, "ERROR_GLPI_ADD", "No file uploaded");
    };
    let declared = input
        .get("_filename")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    if declared.as_deref() != Some(filename.as_str()) {
        return error(
            400,
            "ERROR_GLPI_ADD",
            "_filename does not name the uploaded file",
        );
    }
    input.retain(|k, _| !k.starts_with('_'));
    let mut input = Value::Object(input);
    sanitize(&mut input);
    let Value::Object(mut fields) = input else {
        return error(
            400,
            "ERROR_BAD_ARRAY",
            "input parameter must be an array of objects",
        );
    };
    let mut name_value = Value::String(filename.clone());
    sanitize(&mut name_value);
    fields.insert("filename".into(), name_value);
    fields.insert("mime".into(), json!(mime));
    fields.insert("users_id".into(), json!(user));
    fields.insert("date_creation".into(), json!(now_text()));
    let mut g = lock(state);
    let id = g.insert("Document", fields);
    g.files.insert(id, bytes);
    let mut r = json_response(
        StatusCode::CREATED,
        json!({"id": id, "message": "Document move succeeded.", "upload_result": {"filename": [{"name": filename}]}}),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("/apirest.php/Document/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
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
