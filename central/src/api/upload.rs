//! `PUT /packages/{id}/files/{name}?offset=N`: resumable streaming upload of one media file.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;
use vistoria_core::hashing::{Digests, Hasher};
use vistoria_core::wire::{ErrorCode, PackageStatus, UploadState};

use super::error::ApiError;
use super::extract::{has_content_type, wrong_content_type};
use super::limits::Limits;
use super::packages::{current_state, file_name_error, own_package, parse_id};
use super::{AppState, Station, admission, blocking};
use crate::names::check_file_name;
use crate::storage::{BlobAppender, BlobStore, FileRecord, PackageKey};

/// Bytes gathered in memory before they are written out: bounds memory per upload (two such
/// batches at most: one being written while the next arrives), and no
/// blocking thread is held between writes, so slow uploads cannot starve the pool that
/// authentication, queries and commits need (issue 17: 530 slow uploads froze the central).
const FLUSH_BYTES: usize = 256 * 1024;

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
    Slow(u64),
    Deadline,
    Stopping,
    Client(String),
    Failed(ApiError),
}

impl Cut {
    fn into_error(
        self,
        station: &str,
        id: Uuid,
        name: &str,
        received: u64,
        file: &FileRecord,
        limits: &Limits,
    ) -> ApiError {
        let (status, code, message) = match self {
            Cut::TooLarge => return too_large(file),
            Cut::Failed(e) => return e,
            Cut::Idle => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                format!("envio de «{name}» parado por tempo demais; retome em {received}"),
            ),
            Cut::Slow(got) => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                format!(
                    "envio de «{name}» lento demais ({got} bytes em {} s; mínimo de {} bytes/s em \
                     --min-upload-bytes-per-sec); retome em {received}",
                    limits.min_rate_window.as_secs(),
                    limits.min_upload_bytes_per_second
                ),
            ),
            Cut::Deadline => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::Timeout,
                format!(
                    "envio de «{name}» passou do prazo de {} s por requisição \
                     (--upload-deadline-secs); retome em {received}",
                    limits.upload_deadline.as_secs()
                ),
            ),
            Cut::Stopping => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ShuttingDown,
                format!(
                    "o servidor central está sendo reiniciado; «{name}» foi guardado até o byte {received}, retome em {received}"
                ),
            ),
            Cut::Client(reason) => {
                tracing::warn!(%station, inspection_id = %id, file = %name, received, %reason, "envio interrompido; parcial mantido");
                (
                    StatusCode::BAD_REQUEST,
                    ErrorCode::UploadInterrupted,
                    format!("envio de «{name}» interrompido; retome em {received}"),
                )
            }
        };
        tracing::warn!(%station, inspection_id = %id, file = %name, received, %message, "envio encerrado; parcial mantido");
        let mut e = ApiError::new(status, code, message).with_file(name);
        e.body.received = Some(received);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            e.retry_after = Some(30);
        }
        e
    }
}

/// The disk side of an upload: chunks gathered in memory and written, hashed and (at the end)
/// fsynced on a blocking thread only when there are enough of them. One batch is written while
/// the next arrives (issue 21: waiting for each write stalled the connection for as long as
/// the hashing took), so an upload holds at most two batches in memory.
struct Sink {
    /// The appender and the digests so far, when no write is under way (`None` after a
    /// failed write: the upload is over).
    idle: Option<(Box<dyn BlobAppender>, Hasher)>,
    /// The batch being written and hashed, which hands the appender and hasher back.
    writing: Option<JoinHandle<Result<Written, ApiError>>>,
    pending: Vec<Bytes>,
    pending_len: usize,
    /// Bytes written by the batches that ended.
    written: u64,
}

/// What a batch's write hands back: the appender, the hasher, the bytes it wrote.
type Written = (Box<dyn BlobAppender>, Hasher, u64);

/// Writes and hashes `chunks` (a blocking thread's work).
fn write_batch(
    mut appender: Box<dyn BlobAppender>,
    mut hasher: Hasher,
    chunks: &[Bytes],
) -> Result<Written, ApiError> {
    let mut n = 0u64;
    for chunk in chunks {
        appender.write(chunk)?;
        hasher.update(chunk);
        n += chunk.len() as u64;
    }
    Ok((appender, hasher, n))
}

impl Sink {
    /// Opens the partial at `offset` and hashes the part already held (the digests cover the
    /// whole file). Runs on a blocking thread.
    fn open(
        blobs: &dyn BlobStore,
        key: &PackageKey,
        name: &str,
        offset: u64,
    ) -> Result<Sink, ApiError> {
        let appender = blobs.append(key, name, offset)?;
        let mut hasher = Hasher::default();
        if offset > 0 {
            let mut prefix = blobs.open(key, name)?.take(offset);
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = prefix.read(&mut buf).map_err(ApiError::internal)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        Ok(Sink {
            idle: Some((appender, hasher)),
            writing: None,
            pending: Vec::new(),
            pending_len: 0,
            written: 0,
        })
    }

    async fn push(&mut self, data: Bytes) -> Result<(), ApiError> {
        self.pending_len += data.len();
        self.pending.push(data);
        if self.pending_len >= FLUSH_BYTES {
            self.settle().await?;
            let (appender, hasher) = self.take_idle()?;
            let chunks = std::mem::take(&mut self.pending);
            self.pending_len = 0;
            self.writing = Some(tokio::task::spawn_blocking(move || {
                write_batch(appender, hasher, &chunks)
            }));
        }
        Ok(())
    }

    /// Waits for the batch under way, if any.
    async fn settle(&mut self) -> Result<(), ApiError> {
        if let Some(writing) = self.writing.take() {
            let (appender, hasher, n) = writing.await.map_err(ApiError::internal)??;
            self.idle = Some((appender, hasher));
            self.written += n;
        }
        Ok(())
    }

    fn take_idle(&mut self) -> Result<(Box<dyn BlobAppender>, Hasher), ApiError> {
        self.idle
            .take()
            .ok_or_else(|| ApiError::internal("envio já encerrado"))
    }

    /// Writes the rest and makes it durable: the digests so far and the bytes written.
    async fn finish(mut self) -> Result<(Hasher, u64), ApiError> {
        self.settle().await?;
        let (appender, hasher) = self.take_idle()?;
        let chunks = std::mem::take(&mut self.pending);
        let (hasher, n) = blocking(move || {
            let (appender, hasher, n) = write_batch(appender, hasher, &chunks)?;
            appender.finish()?;
            Ok((hasher, n))
        })
        .await?;
        Ok((hasher, self.written + n))
    }
}

impl Drop for Sink {
    /// The handler was dropped mid-upload (the connection was torn down): what arrived is still
    /// written and fsynced, after the batch under way, so it stays a resumable partial.
    fn drop(&mut self) {
        let (writing, idle) = (self.writing.take(), self.idle.take());
        if writing.is_none() && idle.is_none() {
            return;
        }
        let chunks = std::mem::take(&mut self.pending);
        let write = move |appender: Box<dyn BlobAppender>| {
            let (appender, _, _) = write_batch(appender, Hasher::default(), &chunks)?;
            Ok::<_, ApiError>(appender.finish()?)
        };
        let failed = |e: &dyn std::fmt::Display| {
            tracing::error!(%e, "falha ao gravar parcial de envio interrompido");
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    let appender = match writing {
                        Some(writing) => match writing.await {
                            Ok(Ok((appender, _, _))) => Some(appender),
                            Ok(Err(e)) => return failed(&e.body.error),
                            Err(e) => return failed(&e),
                        },
                        None => idle.map(|(appender, _)| appender),
                    };
                    if let Some(appender) = appender {
                        match tokio::task::spawn_blocking(move || write(appender)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => failed(&e.body.error),
                            Err(e) => failed(&e),
                        }
                    }
                });
            }
            // Without a runtime no batch can be under way.
            Err(_) => {
                if let Some((appender, _)) = idle
                    && let Err(e) = write(appender)
                {
                    failed(&e.body.error);
                }
            }
        }
    }
}

/// Streams the body into `sink` until it ends or is cut: too many bytes, no byte for
/// [`Limits::idle_timeout`], fewer than the minimum rate over a window, past the upload's
/// deadline, or the server stopping. Returns the cut (if any) and the bytes accepted.
async fn receive(
    state: &AppState,
    mut body: Body,
    sink: &mut Sink,
    offset: u64,
    file: &FileRecord,
) -> (Option<Cut>, u64) {
    let limits = &state.limits;
    let mut stop = state.stop.subscribe();
    let started = Instant::now();
    let deadline = started + limits.upload_deadline;
    let window = limits.min_rate_window.max(Duration::from_secs(1));
    let window_min = (limits.min_upload_bytes_per_second as f64 * window.as_secs_f64()) as u64;
    let mut window_start = started;
    let mut window_bytes = 0u64;
    let mut last_byte = started;
    let mut sent = 0u64;
    loop {
        let idle_end = last_byte + limits.idle_timeout;
        let window_end = window_start + window;
        let wake = deadline.min(idle_end).min(window_end);
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if now >= deadline {
                    return (Some(Cut::Deadline), sent);
                }
                if now >= idle_end {
                    return (Some(Cut::Idle), sent);
                }
                if now >= window_end {
                    if window_bytes < window_min {
                        return (Some(Cut::Slow(window_bytes)), sent);
                    }
                    window_start = now;
                    window_bytes = 0;
                }
                continue;
            }
            () = super::admission::stopped(&mut stop) => return (Some(Cut::Stopping), sent),
        };
        let data = match frame {
            None => return (None, sent),
            Some(Err(e)) => return (Some(Cut::Client(e.to_string())), sent),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if offset + sent + data.len() as u64 > file.size {
            return (Some(Cut::TooLarge), sent);
        }
        let len = data.len() as u64;
        if let Err(e) = sink.push(data).await {
            return (Some(Cut::Failed(e)), sent);
        }
        sent += len;
        window_bytes += len;
        last_byte = Instant::now();
    }
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
    let key = PackageKey::new(&station, id);
    check_file_name(&name).map_err(|e| file_name_error(&name, e))?;
    if !has_content_type(&headers, "application/octet-stream") {
        return Err(wrong_content_type("application/octet-stream"));
    }
    let offset = parse_offset(query.as_deref())?;
    let _slot = state.uploads.acquire(&station, &state.limits)?;
    // Claimed before reading the package, so a commit cannot slip in between.
    let claim = {
        let (state, key, name) = (Arc::clone(&state), key.clone(), name.clone());
        blocking(move || state.claim(&key, Some(&name))).await?
    };
    let package = own_package(&state, &key).await?;
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
        {
            let key = key.clone();
            blocking(move || Ok(blobs.len(&key, &name)?)).await?
        }
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

    // Remaining bytes of this file against the free-space reserve (507, queries unaffected).
    admission::check_free_space(
        state.data_folder(),
        file.size.saturating_sub(offset),
        &state.limits,
    )?;

    let mut sink = {
        let blobs = Arc::clone(&blobs);
        let name = name.clone();
        let key = key.clone();
        blocking(move || Sink::open(blobs.as_ref(), &key, &name, offset)).await?
    };
    let (cut, _sent) = receive(&state, body, &mut sink, offset, &file).await;
    // Whatever the cut, what arrived is flushed and fsynced: it is a resumable partial.
    let (hasher, written) = sink.finish().await?;
    let received = offset + written;
    if let Some(cut) = cut {
        return Err(cut.into_error(&station, id, &name, received, &file, &state.limits));
    }
    let check = (received == file.size).then(|| digests_match(&hasher.finish(), &file));
    let meta = Arc::clone(&state.meta);
    let check_name = name.clone();
    let check_key = key.clone();
    blocking(move || {
        meta.set_file_check(&check_key, &check_name, check)?;
        claim.release()
    })
    .await?;
    tracing::info!(%station, inspection_id = %id, file = %name, received, size = file.size, "arquivo recebido");
    Ok(Json(current_state(&state, &key).await?))
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
