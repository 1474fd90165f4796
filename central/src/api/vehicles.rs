//! `GET /time` (2d) and `POST /vehicles/query` (§5, §9), which allocates the inspection's laudo
//! number (§10, `storage/laudos.rs`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{Duration, SubsecRound as _, Utc};
use uuid::Uuid;
use vistoria_core::domain::{Chassis, InspectionId, Plate, Renavam};
use vistoria_core::wire::{
    ErrorCode, QUERY_VALIDITY_HOURS, RateLimits, TimeResponse, Vehicle, VehicleQuery,
    VehicleQueryResponse,
};

use super::error::ApiError;
use super::extract::{JsonValue, decode};
use super::{AppState, Station, blocking};
use crate::storage::QueryRecord;

/// The central clock (2d: "utilização de horário centralizado e independente do dispositivo").
pub async fn time(State(state): State<Arc<AppState>>) -> Json<TimeResponse> {
    Json(TimeResponse {
        now: Utc::now(),
        server_key: state.key.public_base64(),
        limits: Some(RateLimits {
            requests_per_second: state.limits.rate_per_second,
            burst: state.limits.rate_burst as u32,
        }),
    })
}

fn typed(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

/// Looks a plate up, confirmed by RENAVAM or chassis (§5: "confirmada com a digitação do número
/// RENAVAM ou CHASSI"), and records the query: its time starts the 4 hours of §9.
pub async fn query(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    JsonValue(body): JsonValue,
) -> Result<Json<VehicleQueryResponse>, ApiError> {
    let query: VehicleQuery = decode(body)?;
    let plate = Plate::parse(&query.plate)
        .map_err(|e| ApiError::field("plate", format!("placa inválida: {e}")))?;
    let renavam = typed(query.renavam.as_deref())
        .map(Renavam::parse)
        .transpose()
        .map_err(|e| ApiError::field("renavam", e.to_string()))?;
    let chassis = typed(query.chassis.as_deref())
        .map(Chassis::parse)
        .transpose()
        .map_err(|e| ApiError::field("chassis", format!("chassi inválido: {e}")))?;
    if renavam.is_none() && chassis.is_none() {
        return Err(ApiError::field(
            "renavam",
            "informe o RENAVAM ou o chassi para confirmar a placa",
        ));
    }
    let Some(vehicle) = state.registry.lookup(&plate) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::VehicleNotFound,
            format!("veículo de placa {} não encontrado na base", plate.pretty()),
        ));
    };
    if let Some(renavam) = &renavam
        && renavam.as_str() != vehicle.renavam
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RenavamMismatch,
            format!(
                "o RENAVAM informado não corresponde ao veículo de placa {}",
                plate.pretty()
            ),
        ));
    }
    if let Some(chassis) = &chassis
        && Some(chassis.as_str()) != vehicle.data.chassis.as_deref()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ChassisMismatch,
            format!(
                "o chassi informado não corresponde ao veículo de placa {}",
                plate.pretty()
            ),
        ));
    }
    let queried_at = Utc::now().trunc_subsecs(3);
    let record = QueryRecord {
        query_id: Uuid::new_v4(),
        station,
        plate: vehicle.plate.clone(),
        queried_at,
        deadline: queried_at + Duration::hours(QUERY_VALIDITY_HOURS),
    };
    let meta = Arc::clone(&state.meta);
    let Some(inspection_id) = query.inspection_id else {
        // A station older than central-allocated numbers: its number is given at commit.
        let stored = record.clone();
        blocking(move || Ok(meta.insert_query(&stored)?)).await?;
        tracing::info!(station = %record.station, plate = %record.plate, query_id = %record.query_id, "consulta de veículo");
        return Ok(Json(answer(&record, vehicle, None)));
    };
    let asked = record.clone();
    let allocated =
        blocking(move || Ok(meta.allocate_laudo_number(&asked, inspection_id.as_uuid())?)).await?;
    if allocated.query.plate != record.plate {
        return Err(ApiError::field(
            "inspection_id",
            format!(
                "a vistoria {inspection_id} já foi aberta com a consulta da placa {}; \
                 uma vistoria tem uma só consulta. Abra uma vistoria nova para a placa {}",
                allocated.query.plate,
                plate.pretty()
            ),
        ));
    }
    tracing::info!(
        station = %record.station, plate = %record.plate, query_id = %allocated.query.query_id,
        %inspection_id, laudo = %allocated.number, repeated = !allocated.new,
        "consulta de veículo; número de laudo atribuído"
    );
    let mut answer = answer(&allocated.query, vehicle, Some(inspection_id));
    answer.laudo_number = Some(allocated.number);
    Ok(Json(answer))
}

/// The answer to a query recorded as `record`, for `inspection_id` when the query named one.
fn answer(
    record: &QueryRecord,
    vehicle: &Vehicle,
    inspection_id: Option<InspectionId>,
) -> VehicleQueryResponse {
    VehicleQueryResponse {
        query_id: record.query_id,
        queried_at: record.queried_at,
        deadline: record.deadline,
        vehicle: vehicle.clone(),
        inspection_id,
        laudo_number: None,
    }
}
