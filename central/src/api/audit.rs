//! The stations' audit chains, seen from the central: the first key of each station's keyed
//! chain (`POST /audit/key`), the anchors every package carries (`audit_sequence`,
//! `audit_head`), and the check a technician or auditor runs from the station
//! (`POST /audit/verify`, behind `vistoria audit verify --central`).
//!
//! The central keeps the first key and never the station's later ones; the station keeps only
//! the key of its next row. So a rewritten row's MAC can be recomputed by nobody at the station,
//! and the central names it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use vistoria_core::store::{check_macs, ratchet};
use vistoria_core::wire::{
    AUDIT_VERIFY_PAGE, AuditDivergence, AuditKeyRequest, AuditKeyResponse, AuditVerifyRequest,
    AuditVerifyResponse, ErrorCode, PackageManifest,
};

use super::error::ApiError;
use super::extract::{JsonValue, decode};
use super::{AppState, Station, blocking, evidence};
use crate::storage::{AuditKeyRecord, MetadataStore};

/// Most rows the central ratchets through to reach a run's first key: a run far past the
/// station's real chain is refused instead of costing the central minutes of hashing.
pub(super) const MAX_RATCHET: u64 = 50_000_000;

/// `POST /audit/key`: 201 with a new key; 200 with the same key again (for the position asked
/// now) while no package has shown the station received it; 409 `audit_key_issued` after.
pub async fn key(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Response, ApiError> {
    let request: AuditKeyRequest = decode(body)?;
    let meta = Arc::clone(&state.meta);
    blocking(move || {
        if let Some(existing) = meta.audit_key(&station)? {
            if existing.confirmed {
                tracing::warn!(%station, "chave de auditoria pedida de novo após confirmada");
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorCode::AuditKeyIssued,
                    "a chave do registro de auditoria desta estação já foi entregue e não é enviada de novo; \
                     se a estação foi reinstalada, a central precisa registrar uma nova estação",
                ));
            }
            let again = meta.issue_audit_key(&AuditKeyRecord {
                start_seq: request.next_seq.max(1),
                ..existing
            })?;
            return Ok((StatusCode::OK, Json(response(&again))).into_response());
        }
        let issued = meta.issue_audit_key(&AuditKeyRecord {
            station: station.clone(),
            key: rand::random(),
            start_seq: request.next_seq.max(1),
            issued_at: Utc::now(),
            confirmed: false,
        })?;
        tracing::info!(%station, start_seq = issued.start_seq, "chave de auditoria emitida");
        Ok((StatusCode::CREATED, Json(response(&issued))).into_response())
    })
    .await
}

fn response(record: &AuditKeyRecord) -> AuditKeyResponse {
    AuditKeyResponse {
        key: hex::encode(record.key),
        start_seq: record.start_seq,
    }
}

/// At `POST /packages`: a position already anchored with another head means the chain was
/// rewritten (422 naming `audit_sequence`); an anchor in the keyed part confirms the key.
pub fn check_anchor(
    meta: &dyn MetadataStore,
    station: &str,
    manifest: &PackageManifest,
) -> Result<(), ApiError> {
    let Some(seq) = manifest.audit_sequence else {
        return Ok(());
    };
    let id = manifest.inspection_id.as_uuid();
    if let Some(other) = meta
        .anchors(station, seq, seq)?
        .into_iter()
        .find(|a| a.inspection_id != id && a.head != manifest.audit_head)
    {
        tracing::warn!(%station, inspection_id = %id, other = %other.inspection_id, seq, "registro de auditoria reescrito");
        return Err(evidence::refused(
            "audit_sequence",
            format!(
                "a posição {seq} do registro de auditoria já chegou com outro conteúdo (vistoria {}): \
                 o registro da estação foi reescrito; chame o suporte antes de continuar",
                other.inspection_id
            ),
        ));
    }
    if let Some(key) = meta.audit_key(station)?
        && !key.confirmed
        && seq >= key.start_seq
    {
        meta.confirm_audit_key(station)?;
    }
    Ok(())
}

/// `POST /audit/verify`: checks a run of the station's rows against its key and its anchors.
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Json<AuditVerifyResponse>, ApiError> {
    let request: AuditVerifyRequest = decode(body)?;
    let rows = request.rows;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Err(ApiError::field("rows", "envie ao menos um registro"));
    };
    let (first, last) = (first.seq, last.seq);
    if rows.len() > AUDIT_VERIFY_PAGE {
        return Err(ApiError::field(
            "rows",
            format!("no máximo {AUDIT_VERIFY_PAGE} registros por requisição"),
        ));
    }
    if rows.windows(2).any(|w| w[1].seq != w[0].seq + 1) {
        return Err(ApiError::field(
            "rows",
            "os registros devem vir em ordem, sem lacunas",
        ));
    }
    let meta = Arc::clone(&state.meta);
    blocking(move || {
        let key = meta.audit_key(&station)?;
        let mut divergences = Vec::new();
        let mut macs_checked = 0;
        if let Some(key) = &key
            && last >= key.start_seq
        {
            let from = first.max(key.start_seq);
            if from - key.start_seq > MAX_RATCHET {
                return Err(ApiError::field(
                    "rows",
                    "posição além do registro que esta estação pode ter",
                ));
            }
            let mut run_key = key.key;
            for _ in key.start_seq..from {
                run_key = ratchet(&run_key);
            }
            match check_macs(from, &run_key, &rows) {
                Ok(n) => macs_checked = n,
                Err(seq) => divergences.push(AuditDivergence {
                    seq,
                    reason: format!(
                        "o registro {seq} não tem o selo (MAC) que a chave guardada na central dá: \
                         foi alterado, reescrito ou inserido fora do sistema"
                    ),
                }),
            }
        }
        let anchors = meta.anchors(&station, first, last)?;
        for anchor in &anchors {
            let row = &rows[(anchor.seq - first) as usize];
            if row.hash != anchor.head {
                divergences.push(AuditDivergence {
                    seq: anchor.seq,
                    reason: format!(
                        "o registro {} difere da cabeça enviada com a vistoria {}: o registro foi reescrito depois do envio",
                        anchor.seq, anchor.inspection_id
                    ),
                });
            }
        }
        divergences.sort_by_key(|d| d.seq);
        Ok(Json(AuditVerifyResponse {
            keyed_from: key.map(|k| k.start_seq),
            macs_checked,
            anchors_checked: anchors.len() as u64,
            divergence: divergences.into_iter().next(),
        }))
    })
    .await
}
