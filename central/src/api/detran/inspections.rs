//! `GET /detran/inspections` (search, paginated), `GET /detran/inspections/{station}/{id}` (one
//! inspection) and `GET …/files/{name}` (a file's bytes, streamed from the blob store).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;
use vistoria_core::domain::{Outcome, Plate};
use vistoria_core::wire::{ErrorCode, PackageStatus, rfc3339_ms};

use super::Person;
use crate::api::error::ApiError;
use crate::api::{AppState, blocking};
use crate::inspection_flags;
use crate::storage::directory::{InspectionFilter, OutcomeCode, SearchPosition};
use crate::storage::{FileRecord, PackageKey, PackageRecord};

/// Rows per page when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;
/// Most rows per page.
pub const MAX_LIMIT: usize = 100;

/// The outcome's code, as the search filters it.
pub(crate) fn outcome_code(outcome: &Outcome) -> OutcomeCode {
    match outcome.verdict() {
        Some(vistoria_core::domain::Verdict::Conforming) => OutcomeCode::Conforming,
        Some(_) => OutcomeCode::NonConforming,
        None => OutcomeCode::Interrupted,
    }
}

fn href(package: &PackageRecord) -> String {
    format!(
        "/api/v1/detran/inspections/{}/{}",
        package.station, package.inspection_id
    )
}

/// One row of the search.
fn summary(package: &PackageRecord) -> Value {
    json!({
        "station": package.station,
        "inspection_id": package.inspection_id,
        "plate": package.plate,
        "status": package.status,
        "laudo_number": package.receipt.as_ref().map(|r| &r.laudo_number),
        "outcome_code": outcome_code(&package.manifest.outcome),
        "outcome_label": package.manifest.outcome.label_pt(),
        "concluded_at": rfc3339_ms::format(&package.manifest.concluded_at),
        "first_seen_at": rfc3339_ms::format(&package.first_seen_at),
        "received_at": package.receipt.as_ref().map(|r| rfc3339_ms::format(&r.received_at)),
        "late": package.late,
        "href": href(package),
    })
}

fn file_view(package: &PackageRecord, file: &FileRecord) -> Value {
    // §8: the device that took a photo and an additional photo's reason, as the station's
    // manifest names them (null for other files and older stations).
    let entry = package
        .manifest
        .metadata
        .get("media")
        .and_then(Value::as_array)
        .and_then(|media| media.iter().find(|m| m["name"] == file.name.as_str()));
    let note = |key: &str| {
        entry
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "name": file.name,
        "kind": file.kind,
        "size": file.size,
        "md5": file.md5,
        "sha256": file.sha256,
        "digests_match": file.digests_match,
        "device": note("device"),
        "reason": note("reason"),
        "href": format!("{}/files/{}", href(package), file.name),
    })
}

/// The search's parameters, or 400 naming the one at fault.
fn parse_query(query: Option<&str>) -> Result<InspectionFilter, ApiError> {
    let mut filter = InspectionFilter {
        limit: DEFAULT_LIMIT,
        ..InspectionFilter::default()
    };
    let time = |field: &str, value: &str| -> Result<DateTime<Utc>, ApiError> {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::field(
                    field,
                    format!(
                        "«{value}» não é uma data e hora RFC 3339 (ex.: 2026-11-23T00:00:00-04:00)"
                    ),
                )
            })
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.trim();
        match key.as_ref() {
            "plate" => {
                let plate = Plate::parse(value).map_err(|e| {
                    ApiError::field("plate", format!("placa «{value}» inválida: {e}"))
                })?;
                // A converted vehicle was delivered under either form (§5): search both.
                let mut forms = vec![plate.to_mercosul().as_str().to_owned()];
                forms.extend(plate.to_old().map(|p| p.as_str().to_owned()));
                forms.dedup();
                filter.plates = forms;
            }
            "station" => filter.station = Some(value.to_owned()),
            "from" => filter.from = Some(time("from", value)?),
            "to" => filter.to = Some(time("to", value)?),
            "outcome" => {
                filter.outcome = Some(match value {
                    "conforming" => OutcomeCode::Conforming,
                    "non_conforming" => OutcomeCode::NonConforming,
                    "interrupted" => OutcomeCode::Interrupted,
                    _ => {
                        return Err(ApiError::field(
                            "outcome",
                            format!(
                                "resultado «{value}» desconhecido; use conforming, \
                                 non_conforming ou interrupted"
                            ),
                        ));
                    }
                });
            }
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::field(
                            "limit",
                            format!("limit deve ser um número de 1 a {MAX_LIMIT}, não «{value}»"),
                        )
                    })?;
            }
            "cursor" => filter.after = Some(decode_cursor(value)?),
            other => {
                return Err(ApiError::field(
                    other,
                    format!(
                        "parâmetro «{other}» desconhecido; use plate, station, from, to, \
                         outcome, limit ou cursor"
                    ),
                ));
            }
        }
    }
    Ok(filter)
}

/// The opaque cursor of a position: `first_seen_at|station|id`, base64url.
fn encode_cursor(position: &SearchPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}|{}",
        rfc3339_ms::format(&position.first_seen_at),
        position.station,
        position.inspection_id
    ))
}

fn decode_cursor(text: &str) -> Result<SearchPosition, ApiError> {
    let bad = || {
        ApiError::field(
            "cursor",
            "cursor inválido; use o next_cursor devolvido pela página anterior, sem alterá-lo",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    // The time and the id contain no `|`; a station code between them may.
    let (time, rest) = raw.split_once('|').ok_or_else(bad)?;
    let (station, id) = rest.rsplit_once('|').ok_or_else(bad)?;
    Ok(SearchPosition {
        first_seen_at: DateTime::parse_from_rfc3339(time)
            .map_err(|_| bad())?
            .with_timezone(&Utc),
        station: station.to_owned(),
        inspection_id: Uuid::parse_str(id).map_err(|_| bad())?,
    })
}

/// `GET /detran/inspections?plate&station&from&to&outcome&limit&cursor`: newest first;
/// `next_cursor` (absent on the last page) continues after the last row.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(_person): Extension<Person>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let mut filter = parse_query(query.as_deref())?;
    let limit = filter.limit;
    // One more row than asked says whether there is a next page.
    filter.limit += 1;
    let meta = Arc::clone(&state.meta);
    let mut rows = blocking(move || Ok(meta.search_packages(&filter)?)).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last()
            .map(|last| encode_cursor(&SearchPosition::of(last)))
    } else {
        None
    };
    Ok(Json(json!({
        "items": rows.iter().map(summary).collect::<Vec<_>>(),
        "limit": limit,
        "next_cursor": next_cursor,
    })))
}

/// The package of a path, or 404.
async fn package_at(
    state: &Arc<AppState>,
    station: String,
    id: &str,
) -> Result<PackageRecord, ApiError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(ApiError::field(
            "inspection_id",
            format!("identificador de vistoria inválido: «{id}»"),
        ));
    };
    let meta = Arc::clone(&state.meta);
    let key = PackageKey::new(&station, id);
    blocking(move || Ok(meta.package(&key)?))
        .await?
        .ok_or_else(ApiError::inspection_not_found)
}

/// `GET /detran/inspections/{station}/{id}`: its record, manifest, receipt and files, the
/// station's audit rows about it with the flags read from them, and the holes in the station's
/// chain as the central holds it.
pub async fn read(
    State(state): State<Arc<AppState>>,
    Extension(_person): Extension<Person>,
    Path((station, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let package = package_at(&state, station, &id).await?;
    let manifest: Value =
        serde_json::from_str(&package.manifest_json).map_err(ApiError::internal)?;
    let (trail, holes, flags) = {
        let meta = Arc::clone(&state.meta);
        let record = package.clone();
        blocking(move || {
            let key = record.key();
            Ok((
                meta.inspection_trail(&key.station, key.inspection_id)?,
                meta.trail_holes(&key.station)?,
                // The station's own flags and the ones computed across stations.
                inspection_flags::all_flags(meta.as_ref(), &record)?,
            ))
        })
        .await?
    };
    let mut view = summary(&package);
    let extra = json!({
        "query_id": package.query_id,
        "deadline": rfc3339_ms::format(&package.deadline),
        "rejection": package.rejection,
        "manifest_sha256": package.manifest_sha256,
        "receipt": package.receipt,
        "manifest": manifest,
        "files": package.files.iter().map(|f| file_view(&package, f)).collect::<Vec<_>>(),
        "audit_trail": trail,
        "flags": flags,
        "station_trail_holes": holes
            .iter()
            .map(|(first, last)| json!({"first": first, "last": last}))
            .collect::<Vec<_>>(),
    });
    if let (Some(view), Value::Object(extra)) = (view.as_object_mut(), extra) {
        view.extend(extra);
    }
    Ok(Json(view))
}

/// The media type of a file, by its name's extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("mp4") => "video/mp4",
        Some("mkv") => "video/x-matroska",
        Some("ts") => "video/mp2t",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        Some("p7s") => "application/pkcs7-signature",
        _ => "application/octet-stream",
    }
}

/// `GET /detran/inspections/{station}/{id}/files/{name}`: the bytes of a file of a verified
/// package, streamed as read from the blob store, with its SHA-256 in `Repr-Digest` (RFC 9530)
/// so the reader can check what arrived.
pub async fn download(
    State(state): State<Arc<AppState>>,
    Extension(_person): Extension<Person>,
    Path((station, id, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let package = package_at(&state, station, &id).await?;
    let Some(file) = package.files.iter().find(|f| f.name == name).cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownFile,
            format!("a vistoria não tem o arquivo «{name}»; veja a lista em files"),
        )
        .with_file(name));
    };
    if package.status != PackageStatus::Verified {
        // Before the commit the bytes may be partial or not match their digests.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::IncompletePackage,
            "esta vistoria ainda não foi confirmada pelo servidor central; seus arquivos ficam \
             disponíveis depois da verificação (status verified)",
        )
        .with_file(name));
    }
    // File names are checked safe at reception (`names.rs`): no quote, no control character.
    let disposition = format!("attachment; filename=\"{}\"", file.name);
    stream_file(&state, &package, &file, &disposition).await
}

/// The bytes of `package`'s `file`, streamed as read from the blob store, with its media type,
/// size, `Content-Disposition`, `ETag` and `Repr-Digest` (RFC 9530). The portal's file route
/// answers with it too.
pub(crate) async fn stream_file(
    state: &Arc<AppState>,
    package: &PackageRecord,
    file: &FileRecord,
    disposition: &str,
) -> Result<Response, ApiError> {
    let blobs = Arc::clone(&state.blobs);
    let key = package.key();
    let blob = file.name.clone();
    // Opened before answering, so a missing blob is a 500 rather than a cut body.
    let reader = blocking(move || Ok(blobs.open(&key, &blob)?)).await?;
    let digest = super::super::streaming::repr_digest(&file.sha256)?;
    let mut response = super::super::streaming::body_of(reader).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file.name)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    for (name, value) in [
        (header::CONTENT_DISPOSITION, disposition.to_owned()),
        (header::ETAG, format!("\"{}\"", file.sha256)),
        (header::HeaderName::from_static("repr-digest"), digest),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(&value).map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}
