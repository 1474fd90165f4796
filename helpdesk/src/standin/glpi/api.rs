//! The stand-in's HTTP side: `apirest.php`'s endpoints, checks and answers as `apirest.md`
//! documents them, and the faults served before them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::data::{Shared, lock, now_text, sanitize, unsanitize};
use super::{ITEMTYPES, LOST_ANSWER_HOLD};

fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!([code, message]))).into_response()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
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

pub(super) async fn handle(State(state): State<Shared>, request: Request) -> Response {
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
