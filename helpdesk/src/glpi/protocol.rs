//! GLPI 10.0's REST API (`apirest.php`, glpi-project/glpi `apirest.md`, branch 10.0) as pure
//! functions: requests built as bytes, responses parsed from bytes. No I/O here.
//!
//! What the document fixes and we follow: every call names its `Content-Type`; `initSession` is a
//! GET with `Authorization: user_token …` and answers `{"session_token": …}`; every other call
//! carries `Session-Token` (and `App-Token` when configured) as headers; GET bodies are empty;
//! items are added with `POST /:itemtype/` and `{"input": {…}}` (201 with `{"id": …}`), changed
//! with `PUT /:itemtype/:id` (200 with `[{"<id>": true, "message": ""}]`), listed with
//! `GET /:itemtype/?searchText[field]=…&range=a-b` and `GET /:itemtype/:id/:sub_itemtype`
//! (200, or 206 with `Content-Range: start-end/total`); documents are uploaded as
//! `multipart/form-data` with an `uploadManifest` JSON part. Errors are `[CODE, message]` with
//! an HTTP status; text comes back HTML-escaped ("sanitized content") unless asked otherwise.

use serde_json::{Value, json};

use crate::http::{HttpRequest, HttpResponse, Part, TransportError, multipart_body};

/// Where GLPI's API is and the application token, if the API client requires one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The `apirest.php` URL, e.g. `https://suporte.example.com.br/apirest.php`.
    pub base: String,
    /// `App-Token`, when GLPI's API client configuration has one.
    pub app_token: Option<String>,
}

/// Something GLPI did not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlpiError {
    /// No answer.
    #[error("GLPI inacessível: {0}")]
    Transport(#[from] TransportError),
    /// GLPI answered with one of its documented errors.
    #[error("GLPI respondeu {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// `ERROR_…`.
        code: String,
        /// Its message (text, or the JSON GLPI put there).
        message: String,
    },
    /// GLPI answered something the document does not describe (a proxy's error page, a PHP
    /// fatal error, a body that is not JSON).
    #[error("resposta inesperada do GLPI ({status}): {detail}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

impl GlpiError {
    /// The session token is no longer valid: log in again (document: "You should redo an Init
    /// session request").
    pub fn is_session_invalid(&self) -> bool {
        matches!(self, GlpiError::Api { code, .. } if code == "ERROR_SESSION_TOKEN_INVALID")
    }

    /// Worth trying again later as is (GLPI down, overloaded, a server error). Anything else is
    /// a refusal that needs someone (rights, configuration) but is retried too, more slowly.
    pub fn is_transient(&self) -> bool {
        match self {
            GlpiError::Transport(_) => true,
            GlpiError::Api { status, code, .. } => *status >= 500 || code == "ERROR_SQL",
            GlpiError::Unexpected { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The rows.
    pub items: Vec<Value>,
    /// `Content-Range`'s total, when sent.
    pub total: Option<u64>,
    /// `Content-Range`'s last index, when sent.
    pub end: Option<u64>,
}

fn builder(
    ep: &Endpoint,
    method: http::Method,
    path: &str,
    session: Option<&str>,
    content_type: &str,
) -> http::request::Builder {
    let base = ep.base.trim_end_matches('/');
    let mut b = http::Request::builder()
        .method(method)
        .uri(format!("{base}/{path}"))
        .header(http::header::CONTENT_TYPE, content_type);
    if let Some(app) = &ep.app_token {
        b = b.header("App-Token", app);
    }
    if let Some(s) = session {
        b = b.header("Session-Token", s);
    }
    b
}

fn finish(b: http::request::Builder, body: Vec<u8>) -> Result<HttpRequest, GlpiError> {
    b.body(body).map_err(|e| GlpiError::Unexpected {
        status: 0,
        detail: format!("pedido inválido: {e}"),
    })
}

fn json_body(input: &Value) -> Vec<u8> {
    json!({ "input": input }).to_string().into_bytes()
}

/// `GET initSession/` with the user token.
pub fn init_session(ep: &Endpoint, user_token: &str) -> Result<HttpRequest, GlpiError> {
    let b = builder(
        ep,
        http::Method::GET,
        "initSession/",
        None,
        "application/json",
    )
    .header(
        http::header::AUTHORIZATION,
        format!("user_token {user_token}"),
    );
    finish(b, Vec::new())
}

/// `GET killSession/`.
pub fn kill_session(ep: &Endpoint, session: &str) -> Result<HttpRequest, GlpiError> {
    let b = builder(
        ep,
        http::Method::GET,
        "killSession/",
        Some(session),
        "application/json",
    );
    finish(b, Vec::new())
}

/// `GET :itemtype/:id`.
pub fn get_item(
    ep: &Endpoint,
    session: &str,
    itemtype: &str,
    id: i64,
) -> Result<HttpRequest, GlpiError> {
    let b = builder(
        ep,
        http::Method::GET,
        &format!("{itemtype}/{id}"),
        Some(session),
        "application/json",
    );
    finish(b, Vec::new())
}

/// `GET :itemtype/:id/:sub_itemtype?range=start-end`.
pub fn get_sub_items(
    ep: &Endpoint,
    session: &str,
    itemtype: &str,
    id: i64,
    sub_itemtype: &str,
    range: (u64, u64),
) -> Result<HttpRequest, GlpiError> {
    let path = format!(
        "{itemtype}/{id}/{sub_itemtype}?range={}-{}",
        range.0, range.1
    );
    let b = builder(
        ep,
        http::Method::GET,
        &path,
        Some(session),
        "application/json",
    );
    finish(b, Vec::new())
}

/// `GET :itemtype/?searchText[field]=text&range=start-end`.
pub fn search_text(
    ep: &Endpoint,
    session: &str,
    itemtype: &str,
    field: &str,
    text: &str,
    range: (u64, u64),
) -> Result<HttpRequest, GlpiError> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(&format!("searchText[{field}]"), text)
        .append_pair("range", &format!("{}-{}", range.0, range.1))
        .finish();
    let b = builder(
        ep,
        http::Method::GET,
        &format!("{itemtype}/?{query}"),
        Some(session),
        "application/json",
    );
    finish(b, Vec::new())
}

/// `POST :itemtype/` with `{"input": input}`.
pub fn add_item(
    ep: &Endpoint,
    session: &str,
    itemtype: &str,
    input: &Value,
) -> Result<HttpRequest, GlpiError> {
    let b = builder(
        ep,
        http::Method::POST,
        &format!("{itemtype}/"),
        Some(session),
        "application/json",
    );
    finish(b, json_body(input))
}

/// `PUT :itemtype/:id` with `{"input": input}`.
pub fn update_item(
    ep: &Endpoint,
    session: &str,
    itemtype: &str,
    id: i64,
    input: &Value,
) -> Result<HttpRequest, GlpiError> {
    let b = builder(
        ep,
        http::Method::PUT,
        &format!("{itemtype}/{id}"),
        Some(session),
        "application/json",
    );
    finish(b, json_body(input))
}

/// `POST Document/` as `multipart/form-data`: the `uploadManifest` part holds
/// `{"input": {"name": …, "_filename": [file name]}}` as JSON, the file goes in `filename[0]`.
pub fn upload_document(
    ep: &Endpoint,
    session: &str,
    name: &str,
    filename: &str,
    mime: &str,
    bytes: &[u8],
    boundary: &str,
) -> Result<HttpRequest, GlpiError> {
    let manifest = json!({ "input": { "name": name, "_filename": [filename] } }).to_string();
    let body = multipart_body(
        boundary,
        &[
            Part {
                name: "uploadManifest",
                filename: None,
                content_type: Some("application/json"),
                body: manifest.as_bytes(),
            },
            Part {
                name: "filename[0]",
                filename: Some(filename),
                content_type: Some(mime),
                body: bytes,
            },
        ],
    );
    let b = builder(
        ep,
        http::Method::POST,
        "Document/",
        Some(session),
        &format!("multipart/form-data; boundary={boundary}"),
    );
    finish(b, body)
}

fn status(resp: &HttpResponse) -> u16 {
    resp.status().as_u16()
}

fn json_of(resp: &HttpResponse) -> Result<Value, GlpiError> {
    serde_json::from_slice(resp.body()).map_err(|e| GlpiError::Unexpected {
        status: status(resp),
        detail: format!("corpo não é JSON ({e}): {}", snippet(resp.body())),
    })
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        s.push('…');
    }
    s
}

/// The error a non-success answer carries: `[CODE, message]` (the message may be text or, for
/// partial failures, a JSON collection), or [`GlpiError::Unexpected`] for anything else.
pub fn error_of(resp: &HttpResponse) -> GlpiError {
    let status = status(resp);
    if let Ok(Value::Array(parts)) = serde_json::from_slice::<Value>(resp.body())
        && let Some(Value::String(code)) = parts.first()
        && code.starts_with("ERROR")
    {
        let message = match parts.get(1) {
            Some(Value::String(m)) => decode_sanitized(m),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return GlpiError::Api {
            status,
            code: code.clone(),
            message,
        };
    }
    GlpiError::Unexpected {
        status,
        detail: snippet(resp.body()),
    }
}

fn expect_success(resp: &HttpResponse, ok: &[u16]) -> Result<(), GlpiError> {
    if ok.contains(&status(resp)) {
        Ok(())
    } else {
        Err(error_of(resp))
    }
}

/// `initSession`'s answer: the session token.
pub fn parse_session(resp: &HttpResponse) -> Result<String, GlpiError> {
    expect_success(resp, &[200])?;
    match json_of(resp)?.get("session_token") {
        Some(Value::String(t)) if !t.is_empty() => Ok(t.clone()),
        _ => Err(GlpiError::Unexpected {
            status: status(resp),
            detail: "sem session_token".to_owned(),
        }),
    }
}

/// An answer with no content of interest (`killSession`).
pub fn parse_ok(resp: &HttpResponse) -> Result<(), GlpiError> {
    expect_success(resp, &[200, 204])
}

/// An id, as a number or a numeric string (PHP's JSON may give either).
pub fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Add item's answer: the new item's id (`201 {"id": 15, …}`; a one-element array is accepted).
pub fn parse_added(resp: &HttpResponse) -> Result<i64, GlpiError> {
    expect_success(resp, &[200, 201])?;
    let body = json_of(resp)?;
    let one = match &body {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    match one.get("id").and_then(id_of) {
        Some(id) if id > 0 => Ok(id),
        _ => Err(GlpiError::Api {
            status: status(resp),
            code: "ERROR_GLPI_ADD".to_owned(),
            message: one
                .get("message")
                .and_then(Value::as_str)
                .map(decode_sanitized)
                .unwrap_or_else(|| snippet(resp.body())),
        }),
    }
}

/// Update item's answer: every `{"<id>": bool, "message": …}` must be true.
pub fn parse_updated(resp: &HttpResponse) -> Result<(), GlpiError> {
    expect_success(resp, &[200])?;
    let body = json_of(resp)?;
    let rows = match body {
        Value::Array(rows) => rows,
        other => vec![other],
    };
    for row in rows {
        let Value::Object(map) = row else { continue };
        let refused = map
            .iter()
            .any(|(k, v)| k != "message" && matches!(v, Value::Bool(false)));
        if refused {
            return Err(GlpiError::Api {
                status: 200,
                code: "ERROR_GLPI_UPDATE".to_owned(),
                message: map
                    .get("message")
                    .and_then(Value::as_str)
                    .map(decode_sanitized)
                    .unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// Get an item's answer: the item's fields.
pub fn parse_item(resp: &HttpResponse) -> Result<Value, GlpiError> {
    expect_success(resp, &[200])?;
    match json_of(resp)? {
        v @ Value::Object(_) => Ok(v),
        other => Err(GlpiError::Unexpected {
            status: status(resp),
            detail: format!(
                "esperava um objeto, veio {}",
                snippet(other.to_string().as_bytes())
            ),
        }),
    }
}

/// Get all items' or sub items' answer: rows and `Content-Range`.
pub fn parse_items(resp: &HttpResponse) -> Result<Page, GlpiError> {
    expect_success(resp, &[200, 206])?;
    let items = match json_of(resp)? {
        Value::Array(items) => items,
        Value::Object(map) if map.is_empty() => Vec::new(),
        other => {
            return Err(GlpiError::Unexpected {
                status: status(resp),
                detail: format!(
                    "esperava uma lista, veio {}",
                    snippet(other.to_string().as_bytes())
                ),
            });
        }
    };
    let (end, total) = resp
        .headers()
        .get("Content-Range")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
        .map_or((None, None), |(_, end, total)| (Some(end), Some(total)));
    Ok(Page { items, total, end })
}

/// `start-end/total`.
pub fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = v.trim().split_once('/')?;
    let (start, end) = range.split_once('-')?;
    Some((
        start.trim().parse().ok()?,
        end.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

/// Undoes GLPI's "sanitized content" (HTML special characters encoded) of a plain field.
pub fn decode_sanitized(s: &str) -> String {
    html_escape::decode_html_entities(s).into_owned()
}

/// Our plain text as GLPI 10's rich text: paragraphs, line breaks, special characters escaped.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::new();
    for paragraph in text.replace("\r\n", "\n").split("\n\n") {
        let lines: Vec<String> = paragraph
            .lines()
            .map(|l| html_escape::encode_text(l.trim_end()).into_owned())
            .collect();
        if lines.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        out.push_str("<p>");
        out.push_str(&lines.join("<br>"));
        out.push_str("</p>");
    }
    out
}

/// GLPI's rich text (as the API returns it, sanitized or not) as plain text for a chat: tags
/// dropped, blocks and `<br>` as line breaks, entities decoded. Sanitized content has no `<` of
/// its own (every tag's is encoded), which tells the two forms apart.
pub fn html_to_text(content: &str) -> String {
    let sanitized =
        !content.contains('<') && (content.contains("&#60;") || content.contains("&lt;"));
    let html = if sanitized {
        decode_sanitized(content)
    } else {
        content.to_owned()
    };
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = after[..close]
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if matches!(
            tag.as_str(),
            "br" | "p"
                | "div"
                | "li"
                | "tr"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
        ) {
            out.push('\n');
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    let decoded = decode_sanitized(&out);
    let mut lines: Vec<&str> = Vec::new();
    for line in decoded.lines().map(str::trim) {
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        Endpoint {
            base: "http://glpi.local/apirest.php/".into(),
            app_token: Some("f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7".into()),
        }
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    fn header<'a>(r: &'a HttpRequest, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn init_session_is_the_documented_get() {
        let r = init_session(&ep(), "q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn").unwrap();
        assert_eq!(r.method(), http::Method::GET);
        assert_eq!(r.uri(), "http://glpi.local/apirest.php/initSession/");
        assert_eq!(
            header(&r, "Authorization"),
            "user_token q56hqkniwot8wntb3z1qarka5atf365taaa2uyjrn"
        );
        assert_eq!(
            header(&r, "App-Token"),
            "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7"
        );
        assert_eq!(header(&r, "Content-Type"), "application/json");
        assert!(r.headers().get("Session-Token").is_none());
        assert!(r.body().is_empty(), "GET requests must have an empty body");
        let s = parse_session(&response(
            200,
            &[],
            r#"{"session_token": "83af7e620c83a50a18d3eac2f6ed05a3ca0bea62"}"#,
        ))
        .unwrap();
        assert_eq!(s, "83af7e620c83a50a18d3eac2f6ed05a3ca0bea62");
    }

    #[test]
    fn add_ticket_sends_input_and_reads_the_id() {
        let input = json!({"name": "[VST-000001] Câmera", "status": 1});
        let r = add_item(&ep(), "tok", "Ticket", &input).unwrap();
        assert_eq!(
            (r.method().as_str(), r.uri().to_string().as_str()),
            ("POST", "http://glpi.local/apirest.php/Ticket/")
        );
        assert_eq!(header(&r, "Session-Token"), "tok");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            body,
            json!({"input": {"name": "[VST-000001] Câmera", "status": 1}})
        );
        let created = response(
            201,
            &[("Location", "http://glpi.local/api/Ticket/15")],
            r#"{"id": 15, "message": ""}"#,
        );
        assert_eq!(parse_added(&created).unwrap(), 15);
        assert_eq!(
            parse_added(&response(201, &[], r#"[{"id":"16","message":""}]"#)).unwrap(),
            16
        );
        let refused = parse_added(&response(
            201,
            &[],
            r#"[{"id":false,"message":"You don&#039;t have permission"}]"#,
        ))
        .unwrap_err();
        assert!(
            matches!(refused, GlpiError::Api { ref code, ref message, .. } if code == "ERROR_GLPI_ADD" && message == "You don't have permission")
        );
    }

    #[test]
    fn errors_are_code_and_message_pairs() {
        let e = error_of(&response(
            401,
            &[],
            r#"["ERROR_SESSION_TOKEN_INVALID","session_token seems invalid"]"#,
        ));
        assert!(e.is_session_invalid());
        assert!(!e.is_transient());
        let partial = error_of(&response(
            400,
            &[],
            r#"["ERROR_GLPI_ADD",[{"id":false,"message":"x"}]]"#,
        ));
        assert!(
            matches!(partial, GlpiError::Api { status: 400, ref message, .. } if message.contains("\"x\""))
        );
        let php = error_of(&response(500, &[], "<html>Fatal error</html>"));
        assert!(matches!(php, GlpiError::Unexpected { status: 500, .. }));
        assert!(php.is_transient());
        let e = parse_session(&response(
            401,
            &[],
            r#"["ERROR_GLPI_LOGIN_USER_TOKEN","parameter user_token seems invalid"]"#,
        ))
        .unwrap_err();
        assert!(
            matches!(e, GlpiError::Api { status: 401, ref code, .. } if code == "ERROR_GLPI_LOGIN_USER_TOKEN")
        );
    }

    #[test]
    fn listings_read_content_range() {
        let r = search_text(&ep(), "tok", "Ticket", "name", "[VST-000001]", (0, 49)).unwrap();
        assert_eq!(
            r.uri().to_string(),
            "http://glpi.local/apirest.php/Ticket/?searchText%5Bname%5D=%5BVST-000001%5D&range=0-49"
        );
        let page = parse_items(&response(
            206,
            &[
                ("Content-Range", "0-49/200"),
                ("Accept-Range", "Ticket 990"),
            ],
            r#"[{"id":1},{"id":2}]"#,
        ))
        .unwrap();
        assert_eq!(
            (page.items.len(), page.end, page.total),
            (2, Some(49), Some(200))
        );
        let sub = get_sub_items(&ep(), "tok", "Ticket", 15, "ITILFollowup", (0, 99)).unwrap();
        assert_eq!(
            sub.uri().to_string(),
            "http://glpi.local/apirest.php/Ticket/15/ITILFollowup?range=0-99"
        );
    }

    #[test]
    fn updates_report_each_item() {
        let r = update_item(&ep(), "tok", "Ticket", 10, &json!({"status": 6})).unwrap();
        assert_eq!(
            (r.method().as_str(), r.uri().to_string().as_str()),
            ("PUT", "http://glpi.local/apirest.php/Ticket/10")
        );
        assert!(parse_updated(&response(200, &[], r#"[{"10":true, "message": ""}]"#)).is_ok());
        assert!(
            parse_updated(&response(
                200,
                &[],
                r#"[{"10":false, "message": "Item not found"}]"#
            ))
            .is_err()
        );
    }

    #[test]
    fn document_upload_is_multipart_with_a_manifest() {
        let r = upload_document(
            &ep(),
            "tok",
            "VST-000001/a3 foto.jpg",
            "foto.jpg",
            "image/jpeg",
            b"JPEG",
            "XyZ",
        )
        .unwrap();
        assert_eq!(
            header(&r, "Content-Type"),
            "multipart/form-data; boundary=XyZ"
        );
        let body = String::from_utf8(r.body().clone()).unwrap();
        assert!(body.starts_with("--XyZ\r\nContent-Disposition: form-data; name=\"uploadManifest\"\r\nContent-Type: application/json\r\n\r\n"));
        assert!(
            body.contains(
                r#"{"input":{"_filename":["foto.jpg"],"name":"VST-000001/a3 foto.jpg"}}"#
            )
        );
        assert!(body.contains("name=\"filename[0]\"; filename=\"foto.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--XyZ--\r\n"));
    }

    #[test]
    fn rich_text_both_ways() {
        let html = text_to_html("Impressora <HP> & scanner\nnão imprime\n\nSegunda linha");
        assert_eq!(
            html,
            "<p>Impressora &lt;HP&gt; &amp; scanner<br>não imprime</p><p>Segunda linha</p>"
        );
        // As GLPI stores and returns it (sanitized): special characters encoded once more.
        let sanitized = "&#60;p&#62;Impressora &#38;lt;HP&#38;gt; &#38;amp; scanner&#60;br&#62;não imprime&#60;/p&#62;&#60;p&#62;Segunda linha&#60;/p&#62;";
        assert_eq!(
            html_to_text(sanitized),
            "Impressora <HP> & scanner\nnão imprime\n\nSegunda linha"
        );
        assert_eq!(
            html_to_text(&html),
            "Impressora <HP> & scanner\nnão imprime\n\nSegunda linha"
        );
        assert_eq!(decode_sanitized("Caf&#233; &#38; p&#227;o"), "Café & pão");
    }
}
