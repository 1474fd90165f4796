//! Device management for stations (§15 of Anexo II):
//!
//! - `GET /policies`: the latest signed version, software and security policies, as stored when
//!   they were published (the station reads them at every clock sync and checks the signature
//!   with the key it trusts for receipts);
//! - `GET /releases/{version}`: a published release's `.deb`, streamed from the blob store
//!   (the station checks its SHA-256 against the signed version policy before installing);
//! - `POST /stations/self/inventory`: what the station holds; compared here with the software
//!   policy in force, stored, and the offenders answered (the station is flagged while there
//!   are any: `vistoria-central station show`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use vistoria_core::policy::{
    Inventory, InventoryAck, PolicyKind, PolicySet, SignedPolicy, SoftwarePolicy,
};
use vistoria_core::wire::ErrorCode;

use super::error::ApiError;
use super::extract::{JsonValue, decode};
use super::{AppState, Station, blocking};
use crate::storage::PackageKey;
use crate::storage::devices::{InventoryRecord, RELEASES};

/// Most entries of each list an inventory may carry (a Debian desktop has ~2 000 packages).
const MAX_ENTRIES: usize = 20_000;

/// The signed policy of `kind` as stored, if any.
fn stored(state: &AppState, kind: PolicyKind) -> Result<Option<SignedPolicy>, ApiError> {
    state
        .meta
        .latest_policy(kind.as_str())?
        .map(|p| serde_json::from_str(&p.signed).map_err(ApiError::internal))
        .transpose()
}

/// `GET /policies`.
pub async fn get(State(state): State<Arc<AppState>>) -> Result<Json<PolicySet>, ApiError> {
    let set = blocking(move || {
        Ok(PolicySet {
            version: stored(&state, PolicyKind::Version)?,
            software: stored(&state, PolicyKind::Software)?,
            security: stored(&state, PolicyKind::Security)?,
        })
    })
    .await?;
    Ok(Json(set))
}

/// `GET /releases/{version}`: the package, with its size and `Repr-Digest`.
pub async fn release(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let meta = Arc::clone(&state.meta);
    let blobs = Arc::clone(&state.blobs);
    let wanted = version.clone();
    let found = blocking(move || {
        let Some(release) = meta.release_record(&wanted)? else {
            return Ok(None);
        };
        let key = PackageKey::new(RELEASES, release.blob);
        let reader = blobs.open(&key, &crate::release::blob_name(&release.version))?;
        Ok(Some((release, reader)))
    })
    .await?;
    let Some((release, reader)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("versão {version} não publicada nesta central"),
        ));
    };
    let digest = super::streaming::repr_digest(&release.sha256)?;
    let mut response = super::streaming::body_of(reader).into_response();
    let headers = response.headers_mut();
    let value = |v: String| v.parse().map_err(ApiError::internal);
    headers.insert(
        header::CONTENT_TYPE,
        value("application/vnd.debian.binary-package".into())?,
    );
    headers.insert(header::CONTENT_LENGTH, value(release.size.to_string())?);
    headers.insert("repr-digest", value(digest)?);
    Ok(response)
}

/// `POST /stations/self/inventory`.
pub async fn inventory(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Json<InventoryAck>, ApiError> {
    let inventory: Inventory = decode(body)?;
    for (field, len) in [
        ("packages", inventory.packages.len()),
        ("executables", inventory.executables.len()),
        ("modules", inventory.modules.len()),
        ("usb", inventory.usb.len()),
    ] {
        if len > MAX_ENTRIES {
            return Err(ApiError::field(
                field,
                format!("{len} itens; o máximo é {MAX_ENTRIES}"),
            ));
        }
    }
    let who = station.clone();
    let ack = blocking(move || {
        // The policy is the stored, signed one: what the station itself checks against.
        let policy = stored(&state, PolicyKind::Software)?
            .map(|signed| {
                let public = state.key.public_base64();
                signed
                    .verify::<SoftwarePolicy>(&public)
                    .map_err(ApiError::internal)
            })
            .transpose()?;
        let offenders = policy
            .as_ref()
            .map(|p| p.offenders(&inventory))
            .unwrap_or_default();
        let record = InventoryRecord {
            station: who,
            received_at: Utc::now(),
            inventory: serde_json::to_string(&inventory).map_err(ApiError::internal)?,
            policy_version: policy.as_ref().map(|p| p.version),
            offenders: serde_json::to_string(&offenders).map_err(ApiError::internal)?,
            offender_count: u32::try_from(offenders.len()).unwrap_or(u32::MAX),
        };
        state.meta.put_inventory(&record)?;
        Ok(InventoryAck {
            policy_version: record.policy_version,
            offenders,
        })
    })
    .await?;
    if ack.offenders.is_empty() {
        tracing::info!(%station, "inventário recebido, sem itens fora da política");
    } else {
        tracing::warn!(%station, offenders = ack.offenders.len(), "estação com itens fora da política de software");
    }
    Ok(Json(ack))
}
