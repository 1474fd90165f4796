//! The WhatsApp Business Cloud API's Graph side, as Meta documents it: send a message
//! (`POST /{version}/{phone-number-id}/messages` with `messaging_product: "whatsapp"`), upload a
//! media (`POST /{version}/{phone-number-id}/media`, multipart), look a media up
//! (`GET /{version}/{media-id}` → `url`, `mime_type`, `sha256`, `file_size`) and download it
//! (`GET url` with the same bearer token). Errors are Graph's
//! `{"error": {"message", "type", "code", "error_subcode", "error_data": {"details"}, "fbtrace_id"}}`.
//! Requests and answers are pure functions over bytes; [`GraphClient`] carries them.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{
    HttpRequest, HttpResponse, HttpTransport, Part, TransportError, multipart_body, new_boundary,
};

/// Where the Graph API is and who we are there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEndpoint {
    /// `https://graph.facebook.com` (or a stand-in).
    pub base: String,
    /// `v21.0`.
    pub version: String,
    /// The business phone number's id.
    pub phone_number_id: String,
    /// The bearer token.
    pub access_token: String,
}

/// What Meta did not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// No answer.
    #[error("WhatsApp inacessível: {0}")]
    Transport(#[from] TransportError),
    /// A documented Graph error.
    #[error("WhatsApp recusou ({code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Graph's error code.
        code: i64,
        /// Its subcode.
        subcode: Option<i64>,
        /// Message (and `error_data.details` when given).
        message: String,
    },
    /// Something Meta does not document.
    #[error("resposta inesperada do WhatsApp ({status}): {detail}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

impl GraphError {
    /// Failures about the message itself, which no retry fixes: invalid parameter (100), the
    /// 24-hour customer service window closed (131047), an undeliverable or unsupported
    /// message (131026, 131051, 131052, 131053), a parameter value or size problem (131008,
    /// 131009, 131021). Everything else (outages, throttling, an expired token to be replaced)
    /// is retried.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            GraphError::Api {
                code: 100 | 131008 | 131009 | 131021 | 131026 | 131047 | 131051 | 131052 | 131053,
                ..
            }
        )
    }
}

/// A body to send, in WhatsApp's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaMessage {
    /// Text (≤ 4096 characters; longer is cut with "…").
    Text(String),
    /// Text with up to three reply buttons (titles ≤ 20 characters).
    Buttons {
        /// Body (≤ 1024).
        text: String,
        /// (id, title).
        buttons: Vec<(String, String)>,
    },
    /// Text with a list (button label ≤ 20, up to 10 rows, titles ≤ 24).
    List {
        /// Body (≤ 4096).
        text: String,
        /// Button label.
        button: String,
        /// (id, title, description).
        rows: Vec<(String, String, Option<String>)>,
    },
    /// A media already uploaded.
    Media {
        /// `image`, `audio`, `video` or `document`.
        kind: String,
        /// The uploaded media's id.
        media_id: String,
        /// Caption (not for audio).
        caption: Option<String>,
        /// File name (documents).
        filename: Option<String>,
    },
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The JSON of a message to `to`.
pub fn message_payload(to: &str, message: &WaMessage) -> Value {
    let mut payload =
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to});
    let (kind, object) = match message {
        WaMessage::Text(text) => (
            "text",
            json!({"preview_url": false, "body": cut(text, 4096)}),
        ),
        WaMessage::Buttons { text, buttons } => (
            "interactive",
            json!({
                "type": "button",
                "body": {"text": cut(text, 1024)},
                "action": {"buttons": buttons.iter().take(3).map(|(id, title)| json!({"type": "reply", "reply": {"id": id, "title": cut(title, 20)}})).collect::<Vec<_>>()}
            }),
        ),
        WaMessage::List { text, button, rows } => (
            "interactive",
            json!({
                "type": "list",
                "body": {"text": cut(text, 4096)},
                "action": {
                    "button": cut(button, 20),
                    "sections": [{"title": cut(button, 24), "rows": rows.iter().take(10).map(|(id, title, description)| {
                        let mut row = json!({"id": id, "title": cut(title, 24)});
                        if let Some(d) = description {
                            row["description"] = json!(cut(d, 72));
                        }
                        row
                    }).collect::<Vec<_>>()}]
                }
            }),
        ),
        WaMessage::Media {
            kind,
            media_id,
            caption,
            filename,
        } => {
            let mut object = json!({"id": media_id});
            if let Some(c) = caption.as_ref().filter(|_| kind != "audio") {
                object["caption"] = json!(cut(c, 1024));
            }
            if let Some(f) = filename.as_ref().filter(|_| kind == "document") {
                object["filename"] = json!(f);
            }
            (kind.as_str(), object)
        }
    };
    payload["type"] = json!(kind);
    payload[kind] = object;
    payload
}

fn authorized(ep: &GraphEndpoint, method: http::Method, url: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(url).header(
        http::header::AUTHORIZATION,
        format!("Bearer {}", ep.access_token),
    )
}

fn base(ep: &GraphEndpoint) -> String {
    format!("{}/{}", ep.base.trim_end_matches('/'), ep.version)
}

fn built(b: http::request::Builder, body: Vec<u8>) -> Result<HttpRequest, GraphError> {
    b.body(body).map_err(|e| GraphError::Unexpected {
        status: 0,
        detail: format!("pedido inválido: {e}"),
    })
}

/// `POST /{version}/{phone-number-id}/messages`.
pub fn send_message(
    ep: &GraphEndpoint,
    to: &str,
    message: &WaMessage,
) -> Result<HttpRequest, GraphError> {
    let url = format!("{}/{}/messages", base(ep), ep.phone_number_id);
    let b = authorized(ep, http::Method::POST, &url)
        .header(http::header::CONTENT_TYPE, "application/json");
    built(b, message_payload(to, message).to_string().into_bytes())
}

/// `POST /{version}/{phone-number-id}/media` (multipart: `messaging_product`, `type`, `file`).
pub fn upload_media(
    ep: &GraphEndpoint,
    mime: &str,
    filename: &str,
    bytes: &[u8],
    boundary: &str,
) -> Result<HttpRequest, GraphError> {
    let url = format!("{}/{}/media", base(ep), ep.phone_number_id);
    let body = multipart_body(
        boundary,
        &[
            Part {
                name: "messaging_product",
                filename: None,
                content_type: None,
                body: b"whatsapp",
            },
            Part {
                name: "type",
                filename: None,
                content_type: None,
                body: mime.as_bytes(),
            },
            Part {
                name: "file",
                filename: Some(filename),
                content_type: Some(mime),
                body: bytes,
            },
        ],
    );
    let b = authorized(ep, http::Method::POST, &url).header(
        http::header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    built(b, body)
}

/// `GET /{version}/{media-id}`.
pub fn get_media(ep: &GraphEndpoint, media_id: &str) -> Result<HttpRequest, GraphError> {
    built(
        authorized(ep, http::Method::GET, &format!("{}/{media_id}", base(ep))),
        Vec::new(),
    )
}

/// `GET url` of a media, with the bearer token.
pub fn download(ep: &GraphEndpoint, url: &str) -> Result<HttpRequest, GraphError> {
    built(authorized(ep, http::Method::GET, url), Vec::new())
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

/// The error an answer carries.
pub fn error_of(resp: &HttpResponse) -> GraphError {
    let status = resp.status().as_u16();
    match serde_json::from_slice::<ErrorEnvelope>(resp.body()) {
        Ok(e) => {
            let mut message = e.error.message;
            if let Some(details) = e.error.error_data.and_then(|d| d.details) {
                message = format!("{message} ({details})");
            }
            GraphError::Api {
                status,
                code: e.error.code,
                subcode: e.error.error_subcode,
                message,
            }
        }
        Err(_) => GraphError::Unexpected {
            status,
            detail: String::from_utf8_lossy(resp.body())
                .chars()
                .take(160)
                .collect(),
        },
    }
}

fn ok_json(resp: &HttpResponse) -> Result<Value, GraphError> {
    if !resp.status().is_success() {
        return Err(error_of(resp));
    }
    serde_json::from_slice(resp.body()).map_err(|e| GraphError::Unexpected {
        status: resp.status().as_u16(),
        detail: format!("corpo não é JSON: {e}"),
    })
}

/// A sent message's `wamid` (`{"messaging_product", "contacts": [...], "messages": [{"id"}]}`).
pub fn parse_sent(resp: &HttpResponse) -> Result<String, GraphError> {
    let v = ok_json(resp)?;
    v["messages"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GraphError::Unexpected {
            status: resp.status().as_u16(),
            detail: "sem messages[0].id".into(),
        })
}

/// An uploaded media's id (`{"id": "…"}`).
pub fn parse_uploaded(resp: &HttpResponse) -> Result<String, GraphError> {
    let v = ok_json(resp)?;
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GraphError::Unexpected {
            status: resp.status().as_u16(),
            detail: "sem id".into(),
        })
}

/// What Meta says about a media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// Where to download it (short-lived).
    pub url: String,
    /// Its MIME type.
    pub mime_type: String,
    /// SHA-256 (hex) of its bytes.
    pub sha256: Option<String>,
    /// Its size.
    pub file_size: Option<u64>,
}

/// A media lookup's answer.
pub fn parse_media(resp: &HttpResponse) -> Result<MediaInfo, GraphError> {
    let v = ok_json(resp)?;
    let url = v["url"].as_str().ok_or_else(|| GraphError::Unexpected {
        status: resp.status().as_u16(),
        detail: "sem url".into(),
    })?;
    let size = match &v["file_size"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    Ok(MediaInfo {
        url: url.to_owned(),
        mime_type: v["mime_type"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_owned(),
        sha256: v["sha256"].as_str().map(str::to_owned),
        file_size: size,
    })
}

/// A Graph API client.
pub struct GraphClient {
    endpoint: GraphEndpoint,
    transport: Arc<dyn HttpTransport>,
}

impl GraphClient {
    /// A client of `endpoint` over `transport`.
    pub fn new(endpoint: GraphEndpoint, transport: Arc<dyn HttpTransport>) -> GraphClient {
        GraphClient {
            endpoint,
            transport,
        }
    }

    /// Sends a message; its `wamid`.
    pub async fn send(&self, to: &str, message: &WaMessage) -> Result<String, GraphError> {
        let response = self
            .transport
            .send(send_message(&self.endpoint, to, message)?)
            .await?;
        parse_sent(&response)
    }

    /// Uploads a media; its id.
    pub async fn upload(
        &self,
        mime: &str,
        filename: &str,
        bytes: &[u8],
    ) -> Result<String, GraphError> {
        let request = upload_media(&self.endpoint, mime, filename, bytes, &new_boundary())?;
        parse_uploaded(&self.transport.send(request).await?)
    }

    /// Fetches a media's bytes by id, checking them against the SHA-256 Meta gives.
    pub async fn fetch_media(&self, media_id: &str) -> Result<(MediaInfo, Vec<u8>), GraphError> {
        let info = parse_media(
            &self
                .transport
                .send(get_media(&self.endpoint, media_id)?)
                .await?,
        )?;
        let response = self
            .transport
            .send(download(&self.endpoint, &info.url)?)
            .await?;
        if !response.status().is_success() {
            return Err(error_of(&response));
        }
        let bytes = response.into_body();
        if let Some(expected) = &info.sha256 {
            use sha2::Digest as _;
            let got = hex::encode(sha2::Sha256::digest(&bytes));
            if !got.eq_ignore_ascii_case(expected) {
                return Err(GraphError::Unexpected {
                    status: 200,
                    detail: format!(
                        "mídia {media_id} chegou alterada (SHA-256 {got}, esperado {expected})"
                    ),
                });
            }
        }
        Ok((info, bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ep() -> GraphEndpoint {
        GraphEndpoint {
            base: "https://graph.facebook.com".into(),
            version: "v21.0".into(),
            phone_number_id: "106540352242922".into(),
            access_token: "EAAG".into(),
        }
    }

    #[test]
    fn a_text_message_is_the_documented_request() {
        let r = send_message(
            &ep(),
            "5565999990001",
            &WaMessage::Text("Chamado VST-000001 aberto".into()),
        )
        .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(
            r.uri(),
            "https://graph.facebook.com/v21.0/106540352242922/messages"
        );
        assert_eq!(r.headers()["Authorization"], "Bearer EAAG");
        assert_eq!(r.headers()["Content-Type"], "application/json");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            body,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "5565999990001", "type": "text",
                   "text": {"preview_url": false, "body": "Chamado VST-000001 aberto"}})
        );
        let sent = http::Response::builder().status(200).body(br#"{"messaging_product":"whatsapp","contacts":[{"input":"5565999990001","wa_id":"5565999990001"}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}"#.to_vec()).unwrap();
        assert_eq!(
            parse_sent(&sent).unwrap(),
            "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
        );
    }

    #[test]
    fn interactive_messages_respect_the_limits() {
        let p = message_payload(
            "55",
            &WaMessage::Buttons {
                text: "O problema foi resolvido?".into(),
                buttons: vec![
                    ("sim".into(), "Sim, resolvido".into()),
                    ("nao".into(), "Não foi resolvido de jeito nenhum".into()),
                ],
            },
        );
        assert_eq!(p["type"], "interactive");
        assert_eq!(p["interactive"]["type"], "button");
        assert_eq!(
            p["interactive"]["action"]["buttons"][1]["reply"]["title"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            20
        );
        let rows: Vec<(String, String, Option<String>)> = (0..12)
            .map(|i| (format!("cat:{i}"), format!("Tipo {i}"), None))
            .collect();
        let p = message_payload(
            "55",
            &WaMessage::List {
                text: "Qual?".into(),
                button: "Tipos de chamado".into(),
                rows,
            },
        );
        assert_eq!(p["interactive"]["type"], "list");
        assert_eq!(
            p["interactive"]["action"]["sections"][0]["rows"]
                .as_array()
                .unwrap()
                .len(),
            10
        );
        let p = message_payload(
            "55",
            &WaMessage::Media {
                kind: "audio".into(),
                media_id: "9".into(),
                caption: Some("x".into()),
                filename: None,
            },
        );
        assert_eq!(
            p,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "55", "type": "audio", "audio": {"id": "9"}})
        );
        let p = message_payload(
            "55",
            &WaMessage::Media {
                kind: "document".into(),
                media_id: "8".into(),
                caption: None,
                filename: Some("laudo.pdf".into()),
            },
        );
        assert_eq!(p["document"], json!({"id": "8", "filename": "laudo.pdf"}));
    }

    #[test]
    fn media_upload_lookup_and_errors() {
        let r = upload_media(&ep(), "image/jpeg", "foto.jpg", b"JPEG", "B").unwrap();
        assert_eq!(
            r.uri(),
            "https://graph.facebook.com/v21.0/106540352242922/media"
        );
        let body = String::from_utf8(r.body().clone()).unwrap();
        assert!(body.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(body.contains("name=\"type\"\r\n\r\nimage/jpeg\r\n"));
        assert!(body.contains(
            "name=\"file\"; filename=\"foto.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n"
        ));
        let r = get_media(&ep(), "1003383421387256").unwrap();
        assert_eq!(r.uri(), "https://graph.facebook.com/v21.0/1003383421387256");
        let info = http::Response::builder().status(200).body(br#"{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1","mime_type":"image/jpeg","sha256":"81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3","file_size":"303833","id":"1003383421387256"}"#.to_vec()).unwrap();
        let info = parse_media(&info).unwrap();
        assert_eq!(info.file_size, Some(303833));
        let error = http::Response::builder().status(400).body(br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"A"}}"#.to_vec()).unwrap();
        let e = parse_sent(&error).unwrap_err();
        assert!(e.is_permanent());
        assert!(e.to_string().contains("24 hours"));
        let token = http::Response::builder().status(401).body(br#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"B"}}"#.to_vec()).unwrap();
        assert!(matches!(
            parse_sent(&token).unwrap_err(),
            GraphError::Api {
                code: 190,
                subcode: Some(463),
                ..
            }
        ));
        let html = http::Response::builder()
            .status(502)
            .body(b"<html>Bad gateway</html>".to_vec())
            .unwrap();
        assert!(!parse_sent(&html).unwrap_err().is_permanent());
    }
}
