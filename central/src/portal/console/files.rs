//! `GET /portal/chamados/{id}/anexos/{attachment}`: a file of a ticket's conversation, from the
//! help desk's store, with its own Content-Type so the browser shows or plays it inline.
//!
//! Files come from outside (WhatsApp, kiosks): only types a browser shows without running
//! anything are served inline; anything else (HTML, SVG, scripts, unknown) goes out as a
//! download (`application/octet-stream`, `attachment`), so an uploaded page never runs on the
//! console's origin.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vistoria_helpdesk::model::AttachmentId;

use super::{call, helpdesk, refused, ticket_id};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::layout::problem;

/// Types shown inline.
const INLINE: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "video/ogg",
    "video/3gpp",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/amr",
    "audio/wav",
    "audio/webm",
    "application/pdf",
    "text/plain",
];

/// The Content-Type and disposition a stored MIME type is served with.
fn served_as(mime: &str) -> (&'static str, bool) {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match INLINE.iter().find(|t| **t == base) {
        Some(&"text/plain") => ("text/plain; charset=utf-8", true),
        Some(t) => (*t, true),
        None => ("application/octet-stream", false),
    }
}

fn missing(viewer: &Viewer) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        Some(viewer),
        "Arquivo não encontrado",
        "Este chamado não tem este arquivo, ou ele ainda não chegou (mídia do WhatsApp é \
         baixada em instantes). Volte ao chamado e tente de novo.",
    )
}

/// `GET /portal/chamados/{id}/anexos/{attachment}`.
pub async fn attachment(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path((id, attachment)): Path<(String, i64)>,
) -> Response {
    let Some(id) = ticket_id(&id) else {
        return missing(&viewer);
    };
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let found = call(&helpdesk, move |h| {
        let store = h.store();
        let Some(a) = store.attachment(AttachmentId(attachment))? else {
            return Ok(None);
        };
        // The ticket in the address must be the file's: no reading files by guessing ids
        // under another ticket's page.
        if a.ticket_id != id {
            return Ok(None);
        }
        Ok(store.attachment_bytes(a.id)?.map(|bytes| (a, bytes)))
    })
    .await;
    let (a, bytes) = match found {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return missing(&viewer),
        Ok(Err(e)) => return refused(&viewer, &e),
        Err(page) => return page,
    };
    let (kind, inline) = served_as(&a.mime);
    // The file name as RFC 6266's `filename*` (UTF-8, percent-encoded), so no quote or newline
    // of a name sent from outside can break the header.
    let encoded: String = form_urlencoded::byte_serialize(a.filename.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let disposition = format!(
        "{}; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    );
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::served_as;

    #[test]
    fn only_passive_types_are_inline() {
        assert_eq!(served_as("image/jpeg"), ("image/jpeg", true));
        assert_eq!(served_as("Video/MP4; codecs=avc1"), ("video/mp4", true));
        assert_eq!(served_as("text/plain"), ("text/plain; charset=utf-8", true));
        for hostile in ["text/html", "image/svg+xml", "application/javascript", ""] {
            assert_eq!(
                served_as(hostile),
                ("application/octet-stream", false),
                "{hostile}"
            );
        }
    }
}
