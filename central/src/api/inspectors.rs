//! `PUT /stations/self/inspectors` (§11): the station's current staff of inspectors, whose
//! CPFs alone may sign its laudos. The kiosk sends it when it syncs its clock with the
//! central (at start and on every sync), so a new inspector is known before their first laudo.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use chrono::Utc;
use vistoria_core::signing::cpf_is_valid;
use vistoria_core::wire::{InspectorList, InspectorListAck};

use super::error::ApiError;
use super::extract::{JsonValue, decode};
use super::{AppState, Station, blocking};

/// Most inspectors one station may list (a station has a handful; this bounds the work).
pub const MAX_INSPECTORS: usize = 500;
/// Longest name kept.
const MAX_NAME_CHARS: usize = 200;

/// Replaces the station's list; 400 naming the first bad entry.
pub async fn put(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Json<InspectorListAck>, ApiError> {
    let list: InspectorList = decode(body)?;
    if list.inspectors.len() > MAX_INSPECTORS {
        return Err(ApiError::field(
            "inspectors",
            format!(
                "a lista tem {} vistoriadores; o máximo é {MAX_INSPECTORS}",
                list.inspectors.len()
            ),
        ));
    }
    let mut entries: Vec<(String, String)> = Vec::with_capacity(list.inspectors.len());
    for (i, inspector) in list.inspectors.iter().enumerate() {
        let cpf: String = inspector.cpf.chars().filter(char::is_ascii_digit).collect();
        if !cpf_is_valid(&cpf) {
            return Err(ApiError::field(
                format!("inspectors[{i}].cpf"),
                format!(
                    "CPF inválido no vistoriador {} («{}»): confira os 11 dígitos",
                    i + 1,
                    inspector.name.trim()
                ),
            ));
        }
        let name = inspector.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::field(
                format!("inspectors[{i}].name"),
                format!(
                    "nome do vistoriador {} vazio ou com mais de {MAX_NAME_CHARS} caracteres",
                    i + 1
                ),
            ));
        }
        if entries.iter().any(|(c, _)| *c == cpf) {
            return Err(ApiError::field(
                format!("inspectors[{i}].cpf"),
                format!("o vistoriador {} repete um CPF já listado", i + 1),
            ));
        }
        entries.push((cpf, name.to_owned()));
    }
    let meta = Arc::clone(&state.meta);
    let registered = entries.len();
    let who = station.clone();
    blocking(move || Ok(meta.set_inspectors(&who, &entries, Utc::now())?)).await?;
    tracing::info!(%station, %registered, "lista de vistoriadores atualizada");
    Ok(Json(InspectorListAck { registered }))
}
