//! The stations' help-desk tickets (issue 23; items 2k and 2n of Anexo II), as
//! `vistoria_core::tickets` describes the contract: open, list, reply, answer a solution. The
//! station's token says which station asks; a ticket of another station is not found. Every
//! write is done once per `client_id` (the help desk records it with the change), so the
//! kiosk's outbox may send a request again after a lost answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use uuid::Uuid;
use vistoria_core::tickets::{
    MAX_ATTACHMENT_BYTES, StationTicket, StationTickets, TicketAck, TicketCategory, TicketFeedback,
    TicketFile, TicketFileInfo, TicketMessage, TicketOpen, TicketOpened, TicketReply,
};
use vistoria_core::wire::ErrorCode;
use vistoria_helpdesk::model::{Channel, MessageKind, NewAttachment, Side, Status, TicketId};
use vistoria_helpdesk::service::{Feedback, Helpdesk, OpenRequest, ServiceError, TicketView};
use vistoria_helpdesk::stages::TransitionError;
use vistoria_helpdesk::store::StoreError;

use super::extract::{decode, has_content_type, wrong_content_type};
use super::{ApiError, AppState, Station, blocking};

/// Largest body taken: the attachments in base64 (4 bytes per 3) and room for the texts.
const MAX_BODY_BYTES: usize = MAX_ATTACHMENT_BYTES / 3 * 4 + 4 + 1024 * 1024;

/// Longest file name and MIME type taken.
const MAX_NAME_CHARS: usize = 200;

fn helpdesk(state: &AppState) -> Result<Arc<Helpdesk>, ApiError> {
    state.helpdesk().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::HelpdeskUnavailable,
            "este servidor central não atende chamados de suporte agora; o chamado fica na fila \
             da estação e será enviado depois",
        )
    })
}

fn too_large(field: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!(
            "os anexos passam de {} MB somados; envie o pacote de suporte e menos fotos, ou fotos \
             menores",
            MAX_ATTACHMENT_BYTES / (1024 * 1024)
        ),
    );
    e.body.field = Some(field.into());
    e
}

/// The JSON body (up to [`MAX_BODY_BYTES`]), decoded naming the field at fault.
async fn body<T: DeserializeOwned>(req: Request<Body>) -> Result<T, ApiError> {
    if !has_content_type(req.headers(), "application/json") {
        return Err(wrong_content_type("application/json"));
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large("attachments")
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidJson,
                    "corpo da requisição incompleto ou interrompido",
                )
            }
        })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            format!(
                "JSON inválido (linha {}, coluna {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    decode(value)
}

/// The files decoded, refusing a bad one by its field and the request past the limit (413
/// naming the file that crossed it).
fn attachments(files: &[TicketFile]) -> Result<Vec<NewAttachment>, ApiError> {
    let mut total = 0usize;
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let field = |name: &str| format!("attachments[{i}].{name}");
        let filename = f.filename.trim();
        if filename.is_empty()
            || filename.chars().count() > MAX_NAME_CHARS
            || filename.contains(['/', '\\', '\0'])
            || filename == "."
            || filename == ".."
        {
            return Err(ApiError::field(
                field("filename"),
                format!(
                    "nome de arquivo inválido: use só o nome, sem pastas, até {MAX_NAME_CHARS} \
                     caracteres"
                ),
            ));
        }
        let mime = f.mime.trim();
        if !mime.contains('/') || mime.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::field(
                field("mime"),
                "tipo do arquivo inválido (por exemplo image/jpeg ou application/zip)",
            ));
        }
        // Refused before decoding: the estimate is exact within padding.
        if total.saturating_add(f.content_base64.len() / 4 * 3) > MAX_ATTACHMENT_BYTES + 2 {
            return Err(too_large(format!("attachments[{i}]")));
        }
        let bytes = STANDARD.decode(f.content_base64.trim()).map_err(|_| {
            ApiError::field(
                field("content_base64"),
                "conteúdo do arquivo não é base64 válido",
            )
        })?;
        total += bytes.len();
        if total > MAX_ATTACHMENT_BYTES {
            return Err(too_large(format!("attachments[{i}]")));
        }
        out.push(NewAttachment {
            filename: filename.to_owned(),
            mime: mime.to_owned(),
            bytes: Some(bytes),
            wa_media_id: None,
        });
    }
    Ok(out)
}

/// The help desk's field names (Portuguese, for the console) as the wire's.
fn wire_field(field: &str) -> &str {
    match field {
        "categoria" => "category",
        "descrição" => "description",
        "mensagem" => "text",
        "motivo" => "comment",
        other => other,
    }
}

fn service_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Invalid { field, message } => ApiError::field(wire_field(field), message),
        ServiceError::NotFound(_) => not_found(),
        ServiceError::Forbidden(m) => {
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Unauthorized, m)
        }
        ServiceError::Rule(TransitionError::InvalidRating) => {
            ApiError::field("rating", "a avaliação vai de 1 a 5")
        }
        // The ticket's state does not allow it (closed, no solution to answer…): the station
        // shows why and reads the list again.
        ServiceError::Rule(r) => {
            let mut e = ApiError::new(StatusCode::CONFLICT, ErrorCode::InvalidField, r.to_string());
            e.body.field = Some("ticket_id".into());
            e
        }
        ServiceError::Store(StoreError::Conflict(_)) => ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidField,
            "o chamado está sendo alterado pela equipe; tente novamente",
        ),
        ServiceError::Store(other) => ApiError::internal(other),
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::TicketNotFound,
        "chamado não encontrado entre os desta estação",
    )
}

fn ticket_id(id: i64) -> Result<TicketId, ApiError> {
    if id <= 0 {
        return Err(not_found());
    }
    Ok(TicketId(id))
}

fn created_or_repeated<T: serde::Serialize>(first: bool, body: T) -> Response {
    let status = if first {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

/// The description GLPI and the team read: the person's words, then the devices as
/// Diagnóstico showed them.
fn description(open: &TicketOpen) -> String {
    let devices = open.devices.trim();
    if devices.is_empty() {
        open.description.trim().to_owned()
    } else {
        format!(
            "{}\n\nEstado dos dispositivos (Diagnóstico):\n{devices}",
            open.description.trim()
        )
    }
}

/// `POST /stations/self/tickets`: 201 with the new ticket, 200 with the same one when the
/// `client_id` was taken before.
pub async fn open(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let open: TicketOpen = body(req).await?;
    let hd = helpdesk(&state)?;
    if open.description.trim().chars().count() < 5 {
        return Err(ApiError::field(
            "description",
            "descreva o problema (ao menos 5 caracteres)",
        ));
    }
    let files = attachments(&open.attachments)?;
    let answer = blocking(move || {
        let contact = hd
            .kiosk_contact(&station, &open.requester.login, &open.requester.name)
            .map_err(service_error)?;
        let request = OpenRequest {
            channel: Channel::Kiosk,
            contact_id: contact.id,
            station: Some(station.clone()),
            category: open.category.clone(),
            title: open.title.clone(),
            description: description(&open),
            attachments: files,
        };
        hd.kiosk_open(&station, &open.client_id.to_string(), request)
            .map_err(service_error)
    })
    .await?;
    Ok(created_or_repeated(
        answer.first,
        TicketOpened {
            ticket_id: answer.ticket_id.0,
            number: answer.ticket_id.reference(),
        },
    ))
}

/// `POST /stations/self/tickets/{ticket_id}/messages`.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path(id): Path<i64>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let reply: TicketReply = body(req).await?;
    let hd = helpdesk(&state)?;
    let id = ticket_id(id)?;
    if reply.author.name.trim().chars().count() < 2 {
        return Err(ApiError::field(
            "author.name",
            "informe o nome de quem escreve",
        ));
    }
    let files = attachments(&reply.attachments)?;
    let answer = blocking(move || {
        hd.station_ticket(&station, id).map_err(service_error)?;
        hd.kiosk_message(
            &station,
            &reply.client_id.to_string(),
            id,
            reply.author.name.trim(),
            &reply.text,
            files,
        )
        .map_err(service_error)
    })
    .await?;
    Ok(created_or_repeated(
        answer.first,
        TicketAck {
            state: answer.status.code().to_owned(),
        },
    ))
}

/// `POST /stations/self/tickets/{ticket_id}/feedback`: 200 whether first or repeated.
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path(id): Path<i64>,
    req: Request<Body>,
) -> Result<Json<TicketAck>, ApiError> {
    let answer: TicketFeedback = body(req).await?;
    let hd = helpdesk(&state)?;
    let id = ticket_id(id)?;
    let comment = answer.comment.trim().to_owned();
    let feedback = if answer.accept {
        if answer.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(ApiError::field("rating", "a avaliação vai de 1 a 5"));
        }
        Feedback::Accept {
            rating: answer.rating,
            comment: (!comment.is_empty()).then_some(comment),
        }
    } else {
        if comment.is_empty() {
            return Err(ApiError::field(
                "comment",
                "conte o que ainda não está resolvido",
            ));
        }
        Feedback::Refuse { reason: comment }
    };
    let done = blocking(move || {
        hd.station_ticket(&station, id).map_err(service_error)?;
        hd.kiosk_feedback(&station, &answer.client_id.to_string(), id, feedback)
            .map_err(service_error)
    })
    .await?;
    Ok(Json(TicketAck {
        state: done.status.code().to_owned(),
    }))
}

/// `GET /stations/self/tickets`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
) -> Result<Json<StationTickets>, ApiError> {
    let hd = helpdesk(&state)?;
    let (categories, views) = blocking(move || {
        let categories = hd
            .categories()
            .map_err(service_error)?
            .into_iter()
            .map(|c| TicketCategory {
                key: c.key,
                title: c.title,
            })
            .collect::<Vec<_>>();
        let views = hd.station_tickets(&station).map_err(service_error)?;
        Ok((categories, views))
    })
    .await?;
    Ok(Json(StationTickets {
        categories,
        tickets: views
            .into_iter()
            .map(|(view, client_id)| station_ticket(view, client_id))
            .collect(),
    }))
}

fn label(status: Status) -> String {
    let label = status.label_pt();
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A ticket as the kiosk shows it: the description opens the conversation (with the files sent
/// with it), then the messages both ways.
fn station_ticket(view: TicketView, client_id: Option<String>) -> StationTicket {
    let t = &view.ticket;
    let files_of = |message: vistoria_helpdesk::model::MessageId| -> Vec<TicketFileInfo> {
        view.attachments
            .iter()
            .filter(|a| a.message_id == Some(message))
            .map(|a| TicketFileInfo {
                filename: a.filename.clone(),
                mime: a.mime.clone(),
            })
            .collect()
    };
    let mut messages = vec![TicketMessage {
        at: t.created_at,
        author: view.contact.name.clone(),
        from_team: false,
        text: t.description.clone(),
        attachments: Vec::new(),
    }];
    let mut updated: DateTime<Utc> = t.created_at;
    for (i, m) in view.messages.iter().enumerate() {
        updated = updated.max(m.created_at);
        // The files sent when the ticket was opened came as a message of their own, without text.
        if i == 0
            && m.side == Side::Requester
            && m.text.is_empty()
            && m.created_at == t.created_at
            && let Some(first) = messages.first_mut()
        {
            first.attachments = files_of(m.id);
            continue;
        }
        messages.push(TicketMessage {
            at: m.created_at,
            author: m.author.clone(),
            from_team: m.side == Side::Team,
            text: m.text.clone(),
            attachments: files_of(m.id),
        });
    }
    for at in [t.assigned_at, t.solved_at, t.closed_at]
        .into_iter()
        .flatten()
    {
        updated = updated.max(at);
    }
    let solution = view
        .messages
        .iter()
        .rev()
        .find(|m| m.kind == MessageKind::Solution)
        .map(|m| m.text.clone());
    StationTicket {
        ticket_id: t.id.0,
        number: t.id.reference(),
        client_id: client_id.and_then(|c| Uuid::parse_str(&c).ok()),
        category: t.category.clone(),
        title: t.title.clone(),
        state: t.status.code().to_owned(),
        state_label: label(t.status),
        opened_at: t.created_at,
        updated_at: updated,
        messages,
        solution,
        awaiting_feedback: t.status == Status::Solved,
        rating: t.rating,
    }
}
