//! WhatsApp Business Cloud API webhooks, as Meta documents them: the verification handshake
//! (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`, answered with the challenge),
//! and event notifications (`POST`, JSON, signed in `X-Hub-Signature-256: sha256=<hex>` with
//! HMAC-SHA256 of the raw body under the app secret). Parsing and checking are pure; [`router`]
//! is the axum router the central nests.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::chatbot::{Input, MediaIn, MediaKind};
use crate::http::BoxFuture;

/// The header Meta signs notifications in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Answers the verification handshake: the challenge when `hub.mode` is `subscribe` and
/// `hub.verify_token` is ours, else `None` (answer 403).
pub fn verify_subscription(query: &HashMap<String, String>, verify_token: &str) -> Option<String> {
    let mode = query.get("hub.mode")?;
    let token = query.get("hub.verify_token")?;
    let challenge = query.get("hub.challenge")?;
    let token_ok = constant_time_eq(token.as_bytes(), verify_token.as_bytes());
    (mode == "subscribe" && token_ok).then(|| challenge.clone())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    // Digests first, so the comparison's time depends on neither length nor content.
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

/// `sha256=<hex>` of `body` under `app_secret`, as Meta computes it.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(app_secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Whether `header` is the right signature of the raw `body` (constant-time comparison).
pub fn signature_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A message someone sent to the business number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The business number's id it was sent to.
    pub phone_number_id: String,
    /// The sender's WhatsApp id (phone digits).
    pub from: String,
    /// The sender's profile name.
    pub profile_name: Option<String>,
    /// WhatsApp's message id (`wamid…`), unique: Meta may send a notification twice.
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// What it says.
    pub input: Input,
}

/// A delivery report of a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    /// Our message's `wamid`.
    pub id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Who it was for.
    pub recipient: String,
    /// Errors Meta reports (code, title).
    pub errors: Vec<(i64, String)>,
}

/// What a notification carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message.
    Message(InboundMessage),
    /// A status.
    Status(StatusUpdate),
}

/// The notification is not what Meta documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notificação do WhatsApp inválida: {0}")]
pub struct ParseError(pub String);

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: ChangeValue,
}

#[derive(Deserialize)]
struct ChangeValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<RawContact>,
    #[serde(default)]
    messages: Vec<RawMessage>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: String,
}

#[derive(Deserialize)]
struct RawContact {
    #[serde(default)]
    profile: Option<Profile>,
    #[serde(default)]
    wa_id: String,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    from: String,
    id: String,
    #[serde(default)]
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<RawText>,
    #[serde(default)]
    image: Option<RawMedia>,
    #[serde(default)]
    audio: Option<RawMedia>,
    #[serde(default)]
    video: Option<RawMedia>,
    #[serde(default)]
    document: Option<RawMedia>,
    #[serde(default)]
    interactive: Option<RawInteractive>,
    #[serde(default)]
    button: Option<RawButton>,
}

#[derive(Deserialize)]
struct RawText {
    body: String,
}

#[derive(Deserialize)]
struct RawMedia {
    id: String,
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Deserialize)]
struct RawInteractive {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    button_reply: Option<RawReply>,
    #[serde(default)]
    list_reply: Option<RawReply>,
}

#[derive(Deserialize)]
struct RawReply {
    id: String,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
struct RawButton {
    #[serde(default)]
    payload: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    #[serde(default)]
    recipient_id: String,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: String,
}

fn media(kind: MediaKind, raw: Option<RawMedia>) -> Result<Input, ParseError> {
    let raw = raw.ok_or_else(|| {
        ParseError(format!(
            "mensagem de {} sem o objeto {}",
            kind.code(),
            kind.code()
        ))
    })?;
    Ok(Input::Media(MediaIn {
        kind,
        media_id: raw.id,
        mime: if raw.mime_type.is_empty() {
            "application/octet-stream".into()
        } else {
            raw.mime_type
        },
        filename: raw.filename,
        caption: raw.caption,
    }))
}

fn input_of(m: RawMessage) -> Result<(String, String, String, Input), ParseError> {
    let input = match m.kind.as_str() {
        "text" => Input::Text(
            m.text
                .map(|t| t.body)
                .ok_or_else(|| ParseError("mensagem de texto sem text".into()))?,
        ),
        "image" => media(MediaKind::Image, m.image)?,
        "audio" => media(MediaKind::Audio, m.audio)?,
        "video" => media(MediaKind::Video, m.video)?,
        "document" => media(MediaKind::Document, m.document)?,
        "interactive" => {
            let i = m
                .interactive
                .ok_or_else(|| ParseError("mensagem interativa sem interactive".into()))?;
            let reply = match i.kind.as_str() {
                "button_reply" => i.button_reply,
                "list_reply" => i.list_reply,
                _ => None,
            };
            match reply {
                Some(r) => Input::Choice {
                    id: r.id,
                    title: r.title,
                },
                None => Input::Unsupported,
            }
        }
        "button" => match m.button {
            Some(b) => Input::Choice {
                id: b.payload,
                title: b.text,
            },
            None => Input::Unsupported,
        },
        _ => Input::Unsupported,
    };
    Ok((m.from, m.id, m.timestamp, input))
}

/// Parses a notification's body into events, in order. A notification of another object or
/// field yields nothing.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, ParseError> {
    let n: Notification = serde_json::from_slice(body).map_err(|e| ParseError(e.to_string()))?;
    if n.object != "whatsapp_business_account" {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for entry in n.entry {
        for change in entry.changes {
            if change.field != "messages" {
                continue;
            }
            let v = change.value;
            let phone_number_id = v.metadata.map(|m| m.phone_number_id).unwrap_or_default();
            let names: HashMap<String, Option<String>> = v
                .contacts
                .into_iter()
                .map(|c| (c.wa_id, c.profile.and_then(|p| p.name)))
                .collect();
            for m in v.messages {
                let (from, id, timestamp, input) = input_of(m)?;
                events.push(Event::Message(InboundMessage {
                    phone_number_id: phone_number_id.clone(),
                    profile_name: names.get(&from).cloned().flatten(),
                    from,
                    id,
                    timestamp: timestamp.parse().unwrap_or(0),
                    input,
                }));
            }
            for s in v.statuses {
                events.push(Event::Status(StatusUpdate {
                    id: s.id,
                    status: s.status,
                    recipient: s.recipient_id,
                    errors: s.errors.into_iter().map(|e| (e.code, e.title)).collect(),
                }));
            }
        }
    }
    Ok(events)
}

/// Takes the events of a verified notification. It must record them durably before answering:
/// an error makes the webhook answer 500 and Meta send the notification again.
pub trait InboundHandler: Send + Sync {
    /// Handles one notification's events.
    fn handle(&self, events: Vec<Event>) -> BoxFuture<'_, Result<(), String>>;
}

/// The webhook's secrets.
#[derive(Clone)]
pub struct WebhookSecrets {
    /// The app secret (signature key).
    pub app_secret: String,
    /// The verify token (handshake).
    pub verify_token: String,
}

#[derive(Clone)]
struct WebhookState {
    secrets: WebhookSecrets,
    handler: Arc<dyn InboundHandler>,
}

/// The webhook at `/`: `GET` for the handshake, `POST` for notifications. The central nests it
/// (e.g. under `/whatsapp/webhook`).
pub fn router(secrets: WebhookSecrets, handler: Arc<dyn InboundHandler>) -> Router {
    Router::new()
        .route("/", get(handshake).post(notification))
        .with_state(WebhookState { secrets, handler })
}

async fn handshake(
    State(state): State<WebhookState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match verify_subscription(&query, &state.secrets.verify_token) {
        Some(challenge) => (StatusCode::OK, challenge).into_response(),
        None => {
            tracing::warn!("verificação do webhook do WhatsApp recusada (token ou modo errado)");
            (StatusCode::FORBIDDEN, "verificação recusada").into_response()
        }
    }
}

async fn notification(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !signature_valid(state.secrets.app_secret.as_bytes(), &body, signature) {
        tracing::warn!("notificação do WhatsApp com assinatura inválida recusada");
        return (StatusCode::UNAUTHORIZED, "assinatura inválida").into_response();
    }
    let events = match parse(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(%e, "notificação do WhatsApp ilegível");
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
    };
    match state.handler.handle(events).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(%e, "notificação do WhatsApp não registrada; o Meta vai reenviar");
            (StatusCode::INTERNAL_SERVER_ERROR, "tente novamente").into_response()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret";

    #[test]
    fn handshake_answers_the_challenge_only_for_our_token() {
        let q = |mode: &str, token: &str| {
            HashMap::from([
                ("hub.mode".to_owned(), mode.to_owned()),
                ("hub.verify_token".to_owned(), token.to_owned()),
                ("hub.challenge".to_owned(), "1158201444".to_owned()),
            ])
        };
        assert_eq!(
            verify_subscription(&q("subscribe", "meatyhamhock"), "meatyhamhock").as_deref(),
            Some("1158201444")
        );
        assert_eq!(
            verify_subscription(&q("subscribe", "wrong"), "meatyhamhock"),
            None
        );
        assert_eq!(
            verify_subscription(&q("unsubscribe", "meatyhamhock"), "meatyhamhock"),
            None
        );
        assert_eq!(verify_subscription(&HashMap::new(), "meatyhamhock"), None);
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = sign(SECRET, body);
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(signature_valid(SECRET, body, Some(&header)));
        assert!(!signature_valid(b"other-secret", body, Some(&header)));
        let mut altered = body.to_vec();
        altered[3] ^= 1;
        assert!(!signature_valid(SECRET, &altered, Some(&header)));
        assert!(!signature_valid(SECRET, body, None));
        assert!(!signature_valid(SECRET, body, Some("sha1=abc")));
        assert!(!signature_valid(SECRET, body, Some("sha256=zz")));
        // A known vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign(b"key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn documented_payloads_parse() {
        let text = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}"#;
        let events = parse(text).unwrap();
        let Event::Message(m) = &events[0] else {
            panic!("message")
        };
        assert_eq!(m.from, "16505551234");
        assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(m.phone_number_id, "106540352242922");
        assert_eq!(m.timestamp, 1749416383);
        assert_eq!(
            m.input,
            Input::Text("Does it come in another color?".into())
        );

        let image = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},"contacts":[{"profile":{"name":"A"},"wa_id":"5565"}],"messages":[
            {"from":"5565","id":"wamid.1","timestamp":"1","type":"image","image":{"caption":"tela","mime_type":"image/jpeg","sha256":"abc=","id":"1003383421387256"}},
            {"from":"5565","id":"wamid.2","timestamp":"1","type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"x","id":"9","voice":true}},
            {"from":"5565","id":"wamid.3","timestamp":"1","type":"document","document":{"filename":"log.zip","mime_type":"application/zip","sha256":"x","id":"8"}},
            {"from":"5565","id":"wamid.4","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"cat:sistema","title":"Erro no sistema","description":""}}},
            {"from":"5565","id":"wamid.5","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"abrir","title":"Abrir chamado"}}},
            {"from":"5565","id":"wamid.6","timestamp":"1","type":"location","location":{"latitude":1,"longitude":2}}
        ]}}]}]}"#;
        let events = parse(image).unwrap();
        let inputs: Vec<&Input> = events
            .iter()
            .map(|e| match e {
                Event::Message(m) => &m.input,
                Event::Status(_) => panic!("status"),
            })
            .collect();
        assert!(
            matches!(inputs[0], Input::Media(MediaIn { kind: MediaKind::Image, media_id, caption: Some(c), .. }) if media_id == "1003383421387256" && c == "tela")
        );
        assert!(
            matches!(inputs[1], Input::Media(MediaIn { kind: MediaKind::Audio, mime, .. }) if mime.starts_with("audio/ogg"))
        );
        assert!(
            matches!(inputs[2], Input::Media(MediaIn { kind: MediaKind::Document, filename: Some(f), .. }) if f == "log.zip")
        );
        assert_eq!(
            inputs[3],
            &Input::Choice {
                id: "cat:sistema".into(),
                title: "Erro no sistema".into()
            }
        );
        assert_eq!(
            inputs[4],
            &Input::Choice {
                id: "abrir".into(),
                title: "Abrir chamado".into()
            }
        );
        assert_eq!(inputs[5], &Input::Unsupported);

        let status = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},"statuses":[{"id":"wamid.X","status":"failed","timestamp":"1","recipient_id":"5565","errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}"#;
        assert_eq!(
            parse(status).unwrap(),
            vec![Event::Status(StatusUpdate {
                id: "wamid.X".into(),
                status: "failed".into(),
                recipient: "5565".into(),
                errors: vec![(131047, "Re-engagement message".into())],
            })]
        );
        assert!(
            parse(b"{\"object\":\"page\",\"entry\":[]}")
                .unwrap()
                .is_empty()
        );
        assert!(parse(b"not json").is_err());
    }
}
