//! Package reception (2s, §9, §12): manifest, commit with full re-verification and receipt, and
//! the read-only views of a package. The upload of each file is in `upload.rs`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{SubsecRound as _, Utc};
use uuid::Uuid;
use vistoria_core::domain::{InspectionId, Plate};
use vistoria_core::hashing::Digests;
use vistoria_core::laudo::Laudo;
use vistoria_core::wire::{
    ErrorCode, InspectionView, PackageManifest, PackageStatus, Receipt, UploadState,
    canonical_json, manifest_sha256,
};

use super::error::ApiError;
use super::extract::{JsonValue, decode};
use super::state::{inspection_view, upload_state};
use super::upload::digests_match;
use super::{AppState, Station, audit, blocking, evidence, numbers, quota, signature, trail};
use crate::names::check_file_name;
use crate::storage::{FileRecord, InsertOutcome, PackageKey, PackageRecord};

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The inspection id of a path, or 400 naming `inspection_id`.
pub(super) fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::field(
            "inspection_id",
            format!("identificador de vistoria inválido: «{text}»"),
        )
    })
}

/// 400 `invalid_file_name` naming the file.
pub(super) fn file_name_error(name: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidFileName,
        e.to_string(),
    )
    .with_file(name)
}

/// Loads the authenticated station's package (packages are keyed by station: another
/// station's inspection id is as unknown as an id nobody used).
pub(super) async fn own_package(
    state: &Arc<AppState>,
    key: &PackageKey,
) -> Result<PackageRecord, ApiError> {
    let meta = Arc::clone(&state.meta);
    let key = key.clone();
    blocking(move || Ok(meta.package(&key)?))
        .await?
        .ok_or_else(ApiError::inspection_not_found)
}

/// The upload state of a stored package.
pub(super) async fn current_state(
    state: &Arc<AppState>,
    key: &PackageKey,
) -> Result<UploadState, ApiError> {
    let state = Arc::clone(state);
    let key = key.clone();
    blocking(move || {
        let package = state
            .meta
            .package(&key)?
            .ok_or_else(ApiError::inspection_not_found)?;
        Ok(upload_state(&package, state.blobs.as_ref())?)
    })
    .await
}

/// Checks everything in the manifest that does not need the store.
fn validate_manifest(manifest: &PackageManifest, state: &AppState) -> Result<(), ApiError> {
    if !is_hex(&manifest.audit_head, 64) {
        return Err(ApiError::field(
            "audit_head",
            "audit_head deve ser um SHA-256 em hexadecimal minúsculo (64 caracteres)",
        ));
    }
    let mut names = HashSet::new();
    for (i, file) in manifest.files.iter().enumerate() {
        check_file_name(&file.name).map_err(|e| file_name_error(&file.name, e))?;
        if !names.insert(file.name.as_str()) {
            return Err(ApiError::field(
                format!("files[{i}].name"),
                format!("arquivo «{}» listado mais de uma vez", file.name),
            )
            .with_file(&file.name));
        }
        if file.size > state.limits.max_file_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::FileTooLarge,
                format!(
                    "arquivo «{}» com {} bytes excede o limite de {} bytes",
                    file.name, file.size, state.limits.max_file_bytes
                ),
            )
            .with_file(&file.name));
        }
        if !is_hex(&file.md5, 32) {
            return Err(ApiError::field(
                format!("files[{i}].md5"),
                format!(
                    "MD5 de «{}» deve ter 32 dígitos hexadecimais minúsculos",
                    file.name
                ),
            )
            .with_file(&file.name));
        }
        if !is_hex(&file.sha256, 64) {
            return Err(ApiError::field(
                format!("files[{i}].sha256"),
                format!(
                    "SHA-256 de «{}» deve ter 64 dígitos hexadecimais minúsculos",
                    file.name
                ),
            )
            .with_file(&file.name));
        }
    }
    Ok(())
}

/// `POST /packages`: registers the manifest. 201 when new, 200 when the same manifest was
/// already registered (a retry), 409 when the inspection id came with another manifest.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Response, ApiError> {
    let content_sha256 = manifest_sha256(&body);
    let manifest_json = canonical_json(&body);
    let manifest: PackageManifest = decode(body)?;
    if manifest.station != station {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!(
                "o manifesto é da estação «{}», mas o token é da estação «{station}»",
                manifest.station
            ),
        ));
    }
    validate_manifest(&manifest, &state)?;
    quota::check_manifest(&manifest, &state.limits)?;
    let id = manifest.inspection_id.as_uuid();
    let key = PackageKey::new(&station, id);
    quota::check_capacity(&state, &key, &manifest).await?;
    let meta = Arc::clone(&state.meta);
    let query_id = manifest.query_id;
    let query = blocking(move || Ok(meta.query(query_id)?)).await?;
    let query = match query {
        Some(q) if q.station == station => q,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UnknownQuery,
                "query_id desconhecido: a vistoria deve partir de uma consulta desta estação",
            )
            .with_field("query_id"));
        }
    };
    let same_plate =
        Plate::parse(&query.plate).is_ok_and(|queried| queried.same_vehicle(&manifest.plate));
    if !same_plate {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UnknownQuery,
            format!(
                "a consulta {query_id} foi da placa {}, não da placa {}",
                query.plate,
                manifest.plate.as_str()
            ),
        )
        .with_field("plate"));
    }
    let queried_class = state
        .registry
        .lookup(&manifest.plate)
        .map(|vehicle| vehicle.data.class);
    evidence::check_manifest(&manifest, &query, queried_class, Utc::now())?;
    evidence::check_media_notes(&manifest)?;
    {
        let meta = Arc::clone(&state.meta);
        let key = key.clone();
        blocking(move || numbers::check_query(meta.as_ref(), &key, query_id)).await?;
    }
    {
        let meta = Arc::clone(&state.meta);
        let station = station.clone();
        let manifest = manifest.clone();
        blocking(move || {
            audit::check_anchor(meta.as_ref(), &station, &manifest)?;
            trail::check_and_record(meta.as_ref(), &station, &manifest)
        })
        .await?;
    }
    let record = PackageRecord {
        inspection_id: id,
        station: station.clone(),
        query_id,
        plate: manifest.plate.as_str().to_owned(),
        files: manifest
            .files
            .iter()
            .map(|f| FileRecord {
                name: f.name.clone(),
                kind: f.kind,
                size: f.size,
                md5: f.md5.clone(),
                sha256: f.sha256.clone(),
                digests_match: None,
            })
            .collect(),
        // Recorded, never refused: a kiosk working offline (2c) may deliver hours later, and
        // every started inspection must reach the server (§12).
        late: manifest.concluded_at > query.deadline,
        manifest,
        manifest_json,
        manifest_sha256: content_sha256.clone(),
        first_seen_at: Utc::now(),
        deadline: query.deadline,
        status: PackageStatus::Receiving,
        rejection: None,
        receipt: None,
    };
    let meta = Arc::clone(&state.meta);
    let outcome = blocking(move || Ok(meta.insert_package(&record)?)).await?;
    let status = match outcome {
        InsertOutcome::Inserted => {
            tracing::info!(%station, inspection_id = %id, "manifesto recebido");
            StatusCode::CREATED
        }
        InsertOutcome::Existing(existing) if existing.manifest_sha256 == content_sha256 => {
            StatusCode::OK
        }
        InsertOutcome::QueryUsed(other) => {
            tracing::warn!(%station, inspection_id = %id, %other, %query_id, "segundo pacote para a mesma consulta");
            return Err(evidence::refused(
                "query_id",
                format!(
                    "a consulta {query_id} já foi usada pela vistoria {other}; cada vistoria parte de uma consulta própria"
                ),
            ));
        }
        InsertOutcome::Existing(_) => {
            tracing::warn!(%station, inspection_id = %id, "manifesto diferente para vistoria já registrada");
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::ManifestConflict,
                "esta vistoria já foi registrada com outro manifesto; um mesmo identificador não pode ter dois conteúdos",
            ));
        }
    };
    Ok((status, Json(current_state(&state, &key).await?)).into_response())
}

/// `GET /packages/{id}`: upload state, to know where to resume after a restart.
pub async fn get_upload_state(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path(id): Path<String>,
) -> Result<Json<UploadState>, ApiError> {
    let key = PackageKey::new(&station, parse_id(&id)?);
    own_package(&state, &key).await?;
    Ok(Json(current_state(&state, &key).await?))
}

/// `GET /inspections/{id}`: what was received and its verification status.
pub async fn inspection(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path(id): Path<String>,
) -> Result<Json<InspectionView>, ApiError> {
    let key = PackageKey::new(&station, parse_id(&id)?);
    let package = own_package(&state, &key).await?;
    let blobs = Arc::clone(&state.blobs);
    Ok(Json(
        blocking(move || Ok(inspection_view(&package, blobs.as_ref())?)).await?,
    ))
}

/// Runs `f` over `items`, up to eight at a time on threads of their own; the results in order.
fn each_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const AT_ONCE: usize = 8;
    let mut results = Vec::with_capacity(items.len());
    for group in items.chunks(AT_ONCE) {
        std::thread::scope(|scope| {
            let running: Vec<_> = group.iter().map(|item| scope.spawn(|| f(item))).collect();
            results.extend(running.into_iter().map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }));
        });
    }
    results
}

/// `POST /packages/{id}/commit`: re-reads and re-hashes every file; 422 naming the first file
/// whose bytes do not match (its bytes are discarded so it can be sent again), else seals the
/// files and returns the signed receipt. A retry returns the same receipt.
pub async fn commit(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let id = parse_id(&id)?;
    let key = PackageKey::new(&station, id);
    let analysis_key = key.clone();
    let package = own_package(&state, &key).await?;
    if let Some(receipt) = package.receipt {
        return Ok(Json(receipt));
    }
    let worker = Arc::clone(&state);
    let receipt = blocking(move || {
        let state = worker;
        let claim = state.claim(&key, None)?;
        let mut missing = Vec::new();
        for file in &package.files {
            // An empty file needs no upload; give it a (durable, empty) blob to seal.
            if file.size == 0 && state.blobs.len(&key, &file.name)? == 0 {
                state.blobs.append(&key, &file.name, 0)?.finish()?;
            }
            if state.blobs.len(&key, &file.name)? != file.size {
                missing.push(file.name.clone());
            }
        }
        if !missing.is_empty() {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IncompletePackage,
                format!("arquivos ainda não recebidos por completo: {}", missing.join(", ")),
            );
            e.body.file = missing.first().cloned();
            return Err(e);
        }
        let mut bad = Vec::new();
        // Files are re-read side by side: on an object store each read is a round trip, on
        // disk the hashing uses every core.
        let digests = each_in_parallel(&package.files, |file| {
            let reader = state.blobs.open(&key, &file.name)?;
            Digests::of_reader(reader).map_err(ApiError::internal)
        });
        for (file, got) in package.files.iter().zip(digests) {
            let got = got?;
            if !digests_match(&got, file) {
                tracing::warn!(%station, inspection_id = %id, file = %file.name, expected = %file.sha256, got = %got.sha256, "arquivo não confere com o manifesto");
                state.blobs.discard(&key, &file.name)?;
                state.meta.set_file_check(&key, &file.name, None)?;
                bad.push(file.name.clone());
            } else if file.digests_match != Some(true) {
                // The upload that completed it never recorded its check: its bytes were kept
                // but the instance died, or the database was away, before the row was written
                // (issue 21's faults). Just re-hashed whole: say so, or a verified package
                // would list a file as never checked.
                state.meta.set_file_check(&key, &file.name, Some(true))?;
            }
        }
        if let Some(first) = bad.first() {
            let reason = format!(
                "os bytes de {} não conferem com o MD5/SHA-256 do manifesto; reenvie {}",
                bad.iter().map(|n| format!("«{n}»")).collect::<Vec<_>>().join(", "),
                if bad.len() == 1 { "o arquivo" } else { "os arquivos" }
            );
            state.meta.set_rejected(&key, &reason)?;
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HashMismatch,
                reason,
            )
            .with_file(first));
        }
        // §14: the inspector's signature over the laudo, by the inspector's own e-CPF.
        let read = |name: &str| {
            signature::read_all(
                state
                    .blobs
                    .open(&key, name)
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            )
        };
        // §10: the laudo says what the manifest says (its bytes were just verified above),
        // with the number the central allocated to the inspection.
        let mut laudo = None;
        if let Some(name) = evidence::laudo_file(&package.manifest) {
            let bytes = read(name).map_err(ApiError::internal)?;
            let checked = Laudo::from_canonical(&bytes)
                .map_err(|e| {
                    evidence::refused("files", format!("«{name}» não é um laudo canônico: {e}"))
                })
                .and_then(|laudo| {
                    evidence::check_laudo(&package.manifest, &laudo)?;
                    numbers::check_laudo(state.meta.as_ref(), &key, &laudo)?;
                    Ok(laudo)
                });
            match checked {
                Ok(checked) => laudo = Some(checked),
                Err(e) => {
                    tracing::warn!(%station, inspection_id = %id, reason = %e.body.error, "laudo não confere com o pacote");
                    state.meta.set_rejected(&key, &e.body.error)?;
                    return Err(e);
                }
            }
        }
        if let Err(refusal) = signature::check(&state, &station, &package, &read) {
            return Err(refusal.into_api_error(&state, &key));
        }
        for sealed in each_in_parallel(&package.files, |file| state.blobs.seal(&key, &file.name)) {
            sealed?;
        }
        let manifest_sha256 = package.manifest_sha256.clone();
        let server_key = &state.key;
        let received_at = Utc::now().trunc_subsecs(3);
        let facts = numbers::facts(&package.manifest, laudo.as_ref());
        let receipt = state.meta.commit_package(&key, received_at, &facts, &|laudo_number| {
            server_key.sign(Receipt {
                inspection_id: InspectionId::from_uuid(id),
                laudo_number,
                received_at,
                manifest_sha256: manifest_sha256.clone(),
                signature: String::new(),
            })
        })?;
        tracing::info!(%station, inspection_id = %id, laudo = %receipt.laudo_number, "vistoria verificada; recibo emitido");
        claim.release()?;
        Ok(receipt)
    })
    .await?;
    // Cross-station flags (issue 22) after the answer's work, off the station's wait; a
    // failure or a kill here is caught up by a later pass (`cross_flags::catch_up`).
    let analysis = Arc::clone(&state);
    tokio::task::spawn_blocking(move || crate::cross_flags::after_commit(&analysis, &analysis_key));
    Ok(Json(receipt))
}
