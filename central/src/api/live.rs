//! The stations' live view (§7: the panoramic camera "deverá transmitir o ambiente de vistoria
//! durante todo o expediente da empresa credenciada, para fins de fiscalização no Portal"):
//!
//! - `GET /stations/self/live`: whether the station is inside its business hours now (set by
//!   `vistoria-central station hours`, Monday–Friday 07:00–18:00 at UTC−4 when never set), and
//!   its hours; the station asks before it streams and again every
//!   [`RECHECK_SECONDS`] while it does not;
//! - `POST /stations/self/live/frames?captured_at=MS`: one JPEG (`image/jpeg`, at most
//!   [`MAX_LIVE_FRAME_BYTES`]). Inside the hours it replaces the station's newest frame in the
//!   metadata store, which every instance reads (`portal/live.rs`); outside them it is dropped
//!   and the answer says to stop (`stream: false`).
//!
//! The hours are the central's rule, evaluated with the central's clock: a station with a wrong
//! clock neither streams at night nor stops at noon.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use vistoria_core::central_client::live::{LiveSchedule, MAX_LIVE_FRAME_BYTES};
use vistoria_core::wire::ErrorCode;

use super::error::ApiError;
use super::{AppState, Station, blocking};
use crate::storage::MetadataStore;
use crate::storage::live::{BusinessHours, LiveFrame};

/// How often a station outside its hours asks again.
pub const RECHECK_SECONDS: u64 = 30;

/// A station's hours as they apply: the configured ones, else the default.
pub fn hours_of(meta: &dyn MetadataStore, station: &str) -> Result<BusinessHours, ApiError> {
    Ok(meta.business_hours(station)?.unwrap_or_default())
}

fn schedule(hours: &BusinessHours, now: DateTime<Utc>, seq: Option<u64>) -> LiveSchedule {
    LiveSchedule {
        stream: hours.is_open(now),
        hours: hours.describe(),
        recheck_seconds: RECHECK_SECONDS,
        seq,
    }
}

/// `GET /stations/self/live`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
) -> Result<Json<LiveSchedule>, ApiError> {
    let hours = blocking(move || hours_of(state.meta.as_ref(), &station)).await?;
    Ok(Json(schedule(&hours, Utc::now(), None)))
}

/// The frame's query string.
#[derive(Debug, Deserialize)]
pub struct FrameQuery {
    /// When the station captured it, Unix milliseconds.
    captured_at: i64,
}

/// `POST /stations/self/live/frames`.
pub async fn frame(
    State(state): State<Arc<AppState>>,
    Extension(Station(station)): Extension<Station>,
    Query(query): Query<FrameQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<LiveSchedule>, ApiError> {
    let jpeg_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("image/jpeg"));
    if !jpeg_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "o quadro ao vivo deve ser enviado como image/jpeg",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "quadro ao vivo maior que {} KiB; reduza a resolução ou a qualidade",
                MAX_LIVE_FRAME_BYTES / 1024
            ),
        )
    };
    let jpeg = axum::body::to_bytes(body, MAX_LIVE_FRAME_BYTES)
        .await
        .map_err(|_| too_large())?;
    if jpeg.len() < 4 || jpeg[..2] != [0xff, 0xd8] {
        return Err(ApiError::field(
            "body",
            "o quadro ao vivo não é um JPEG (deve começar por FF D8)",
        ));
    }
    let captured_at = DateTime::from_timestamp_millis(query.captured_at).ok_or_else(|| {
        ApiError::field(
            "captured_at",
            "captured_at deve ser um instante em milissegundos Unix",
        )
    })?;
    let received_at = Utc::now();
    let answer = blocking(move || {
        let hours = hours_of(state.meta.as_ref(), &station)?;
        if !hours.is_open(received_at) {
            // Outside the hours nothing is kept: §7 asks for the working day, and a camera
            // left streaming at night would show people who are not being inspected.
            return Ok(schedule(&hours, received_at, None));
        }
        let seq = state.meta.put_live_frame(&LiveFrame {
            station,
            seq: 0,
            captured_at,
            received_at,
            jpeg: jpeg.to_vec(),
        })?;
        Ok(schedule(&hours, received_at, Some(seq)))
    })
    .await?;
    Ok(Json(answer))
}
