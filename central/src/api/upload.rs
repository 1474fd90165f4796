//! `PUT /packages/{id}/files/{name}?offset=N`: resumable streaming upload of one media file.

use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::sync::mpsc;
use vistoria_core::hashing::{Digests, Hasher};
use vistoria_core::wire::{ErrorCode, PackageStatus, UploadState};

use super::error::ApiError;
use super::extract::{has_content_type, wrong_content_type};
use super::packages::{current_state, file_name_error, own_package, parse_id};
use super::{AppState, Station, blocking};
use crate::names::check_file_name;
use crate::storage::FileRecord;

/// Chunks in flight between the network and the disk writer: bounds memory per upload.
const CHANNEL_DEPTH: usize = 8;

fn parse_offset(query: Option<&str>) -> Result<u64, ApiError> {
    let Some(query) = query else { return Ok(0) };
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("offset=") {
            return value.parse().map_err(|_| {
                ApiError::field(
                    "offset",
                    format!("offset deve ser um número de bytes, não «{value}»"),
                )
            });
        }
    }
    Ok(0)
}

/// Why the streaming loop stopped before the body ended.
enum Cut {
    TooLarge,
    Idle,
    Client(String),
}

/// `PUT /packages/{id}/files/{name}?offset=N`: appends the body to the file at `offset`
/// (`0` ≤ `offset` ≤ bytes received; bytes after `offset` are replaced), hashing as it goes and
/// never holding more than a few chunks in memory. A cut connection keeps what arrived, as a
/// resumable partial.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadState>, ApiError> {
    let id = parse_id(&id)?;
    check_file_name(&name).map_err(|e| file_name_error(&name, e))?;
    if !has_content_type(&headers, "application/octet-stream") {
        return Err(wrong_content_type("application/octet-stream"));
    }
    let offset = parse_offset(query.as_deref())?;
    // Claimed before reading the package, so a commit cannot slip in between.
    let _claim = state.claim(id, Some(&name))?;
    let package = own_package(&state, &station, id).await?;
    if package.status == PackageStatus::Verified {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::ManifestConflict,
            "vistoria já verificada e com recibo; seus arquivos não podem mais ser alterados",
        ));
    }
    let Some(file) = package.files.iter().find(|f| f.name == name).cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownFile,
            format!("o arquivo «{name}» não consta do manifesto desta vistoria"),
        )
        .with_file(&name));
    };
    let blobs = Arc::clone(&state.blobs);
    let held = {
        let blobs = Arc::clone(&blobs);
        let name = name.clone();
        blocking(move || Ok(blobs.len(id, &name)?)).await?
    };
    if offset > held {
        let mut e = ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::OffsetMismatch,
            format!(
                "offset {offset} além dos {held} bytes já recebidos de «{name}»; retome em {held}"
            ),
        )
        .with_file(&name);
        e.body.received = Some(held);
        return Err(e);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| offset.saturating_add(len) > file.size) {
        return Err(too_large(&file));
    }

    // The disk side runs on a blocking thread fed through a bounded channel.
    let (tx, mut rx) = mpsc::channel::<bytes::Bytes>(CHANNEL_DEPTH);
    let writer = {
        let blobs = Arc::clone(&blobs);
        let name = name.clone();
        tokio::task::spawn_blocking(move || -> Result<(Hasher, u64), ApiError> {
            let mut appender = blobs.append(id, &name, offset)?;
            let mut hasher = Hasher::default();
            if offset > 0 {
                // Resuming: the digests cover the whole file, so hash the part already held.
                let mut prefix = blobs.open(id, &name)?.take(offset);
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = prefix.read(&mut buf).map_err(ApiError::internal)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
            }
            let mut written = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                appender.write(&chunk)?;
                hasher.update(&chunk);
                written += chunk.len() as u64;
            }
            appender.finish()?;
            Ok((hasher, written))
        })
    };

    let mut body = body;
    let mut sent = 0u64;
    let mut cut = None;
    loop {
        let frame = match tokio::time::timeout(state.limits.idle_timeout, body.frame()).await {
            Err(_) => {
                cut = Some(Cut::Idle);
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                cut = Some(Cut::Client(e.to_string()));
                break;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if offset + sent + data.len() as u64 > file.size {
            cut = Some(Cut::TooLarge);
            break;
        }
        sent += data.len() as u64;
        if tx.send(data).await.is_err() {
            // The writer stopped: its own error is reported below.
            break;
        }
    }
    drop(tx);
    let (hasher, written) = writer.await.map_err(ApiError::internal)??;
    let received = offset + written;
    match cut {
        Some(Cut::TooLarge) => return Err(too_large(&file)),
        Some(Cut::Idle) => {
            tracing::warn!(%station, inspection_id = %id, file = %name, received, "envio parado; parcial mantido");
            let mut e = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                format!("envio de «{name}» parado por tempo demais; retome em {received}"),
            )
            .with_file(&name);
            e.body.received = Some(received);
            return Err(e);
        }
        Some(Cut::Client(reason)) => {
            tracing::warn!(%station, inspection_id = %id, file = %name, received, %reason, "envio interrompido; parcial mantido");
            let mut e = ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UploadInterrupted,
                format!("envio de «{name}» interrompido; retome em {received}"),
            )
            .with_file(&name);
            e.body.received = Some(received);
            return Err(e);
        }
        None => {}
    }
    let check = (received == file.size).then(|| digests_match(&hasher.finish(), &file));
    let meta = Arc::clone(&state.meta);
    let check_name = name.clone();
    blocking(move || Ok(meta.set_file_check(id, &check_name, check)?)).await?;
    tracing::info!(%station, inspection_id = %id, file = %name, received, size = file.size, "arquivo recebido");
    Ok(Json(current_state(&state, id).await?))
}

fn too_large(file: &FileRecord) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::FileTooLarge,
        format!(
            "mais bytes que os {} declarados no manifesto para «{}»",
            file.size, file.name
        ),
    )
    .with_file(&file.name)
}

pub(super) fn digests_match(got: &Digests, file: &FileRecord) -> bool {
    got.size == file.size && got.md5 == file.md5 && got.sha256 == file.sha256
}
