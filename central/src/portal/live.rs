//! The live view of the stations' panoramic cameras (§7: "deverá transmitir o ambiente de
//! vistoria durante todo o expediente da empresa credenciada, para fins de fiscalização no
//! Portal"):
//!
//! - `GET /portal/ao-vivo`: every station the person may see, side by side, each with its
//!   state ("ao vivo", "fora do expediente", "sem sinal desde 14:02") and its picture;
//! - `GET /portal/ao-vivo/{code}/mjpeg`: the picture, `multipart/x-mixed-replace` JPEGs that an
//!   `<img>` shows as they come, with no script (the portal's CSP allows none): each instance
//!   reads the newest frame from the metadata store, wherever the station's frames arrived;
//! - `GET /portal/ao-vivo/{code}/quadro.jpg`: the newest frame alone.
//!
//! Who may watch is checked on the server for every request (a manager: their station only,
//! answered "not found" for another), and every picture opened is written to the access log.
//! The grid reloads itself every minute, which refreshes the states and re-checks the session.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::web::layout::{badge, escape, html, page, problem, when};
use super::web::{Viewer, log_access};
use super::{blocking, visible_stations};
use crate::api::AppState;
use crate::storage::live::{BusinessHours, LiveStatus};

/// A station whose newest frame is older than this is shown without signal.
pub const SIGNAL_LOST_AFTER: Duration = Duration::seconds(10);
/// How often a picture stream looks for a newer frame.
const POLL: StdDuration = StdDuration::from_millis(150);
/// A picture stream ends after this long (the page reloads every minute and opens another,
/// so a session that ended stops seeing pictures within minutes).
const STREAM_FOR: StdDuration = StdDuration::from_secs(180);
/// What the access log records for a live picture (it concerns no inspection: nil id).
pub const ACCESS_WHAT: &str = "live camera";

/// A station's live state for people: a badge class and its words.
pub fn state_of(
    hours: &BusinessHours,
    status: Option<&LiveStatus>,
    now: DateTime<Utc>,
) -> (&'static str, String) {
    if !hours.is_open(now) {
        return ("neutro", "fora do expediente".into());
    }
    match status {
        Some(s) if now - s.received_at <= SIGNAL_LOST_AFTER => ("ok", "ao vivo".into()),
        Some(s) => (
            "erro",
            format!("sem sinal desde {}", clock_time(s.received_at, now)),
        ),
        None => ("erro", "sem sinal (nenhuma imagem recebida)".into()),
    }
}

/// `14:02` for today in Mato Grosso, the full date and time otherwise.
fn clock_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let full = when(t);
    if super::overview::start_of_day(now) <= t {
        // `when` writes `dd/mm/aaaa hh:mm:ss`: today needs the time alone.
        full.split_once(' ')
            .map_or(full.clone(), |(_, time)| time.chars().take(5).collect())
    } else {
        full
    }
}

/// One station's tile: its code (a link to its page), state and picture.
pub fn tile(code: &str, hours: &BusinessHours, status: Option<&LiveStatus>) -> String {
    let (class, text) = state_of(hours, status, Utc::now());
    let code_html = escape(code);
    let picture = if status.is_some() {
        format!(
            "<img class=\"ao-vivo\" src=\"/portal/ao-vivo/{code_html}/mjpeg\" \
             alt=\"Câmera panorâmica da {code_html}\" width=\"480\" height=\"270\">"
        )
    } else {
        "<p class=\"nota\">Nenhuma imagem recebida desta estação.</p>".to_owned()
    };
    format!(
        "<figure class=\"camera\" data-estacao=\"{code_html}\"><figcaption>\
         <strong><a href=\"/portal/estacoes/{code_html}\">{code_html}</a></strong> \
         <span class=\"estado-ao-vivo\">{}</span>\
         <span class=\"nota\">Expediente: {}</span></figcaption>{picture}</figure>",
        badge(class, &text),
        escape(&hours.describe())
    )
}

/// The hours and the newest frame's facts of `code`.
pub fn live_of(
    state: &AppState,
    code: &str,
) -> Result<(BusinessHours, Option<LiveStatus>), crate::storage::StorageError> {
    let hours = state.meta.business_hours(code)?.unwrap_or_default();
    Ok((hours, state.meta.live_status(code)?))
}

/// `GET /portal/ao-vivo`.
pub async fn grid(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let loaded = blocking(move || {
        let mut tiles = Vec::new();
        for station in visible_stations(&worker, &who)? {
            let (hours, status) = live_of(&worker, &station.code)?;
            tiles.push(tile(&station.code, &hours, status.as_ref()));
        }
        Ok(tiles)
    })
    .await;
    let tiles = match loaded {
        Ok(t) => t,
        Err(page) => return page,
    };
    let grid = if tiles.is_empty() {
        "<div class=\"caixa\"><p>Nenhuma estação cadastrada que você possa ver.</p></div>".into()
    } else {
        format!("<div class=\"grade-ao-vivo\">{}</div>", tiles.concat())
    };
    let body = format!(
        "<meta http-equiv=\"refresh\" content=\"60\">{}\
         <h1>Câmeras ao vivo</h1><p class=\"nota\">A câmera panorâmica de cada estação, \
         transmitida durante o expediente (Portaria 741/2019, §7). Estados de {} (a página se \
         atualiza a cada minuto).</p>{grid}",
        style_link(),
        escape(&when(Utc::now()))
    );
    html(
        StatusCode::OK,
        page("Ao vivo", Some(&viewer), "/portal/ao-vivo", &body),
    )
}

/// Where the tiles' stylesheet is served (the CSP allows no inline style).
pub const STYLE_PATH: &str = "/portal/ao-vivo/estilo.css";

/// The `<link>` to the tiles' stylesheet, for the pages that show tiles.
pub fn style_link() -> String {
    format!("<link rel=\"stylesheet\" href=\"{STYLE_PATH}\">")
}

/// `GET /portal/ao-vivo/estilo.css`.
pub async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// The tiles' look (kept here: the shared stylesheet belongs to the common layer).
pub const STYLE: &str = ".grade-ao-vivo { display: grid; gap: 1rem; \
     grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); } \
     figure.camera figcaption { display: flex; gap: .6rem; flex-wrap: wrap; align-items: center; \
     margin-bottom: .5rem; } \
     img.ao-vivo { width: 100%; height: auto; background: #1b1f24; aspect-ratio: 16 / 9; }";

/// The station `code` if `viewer` may see it; else the not-found page (a manager learns
/// nothing of other stations, not even that they exist).
async fn visible_station(
    state: &Arc<AppState>,
    viewer: &Viewer,
    code: &str,
) -> Result<(), Response> {
    let not_found = || {
        problem(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "Estação não encontrada",
            "Não há estação com este código entre as que você pode consultar. Veja a lista na \
             visão geral.",
        )
    };
    if !viewer.account.role.may_see(code) {
        tracing::warn!(user = %viewer.account.name, station = %code, "estação de outra ECV pedida no portal");
        return Err(not_found());
    }
    let worker = Arc::clone(state);
    let who = viewer.clone();
    let wanted = code.to_owned();
    let known = blocking(move || {
        Ok(visible_stations(&worker, &who)?
            .iter()
            .any(|s| s.code == wanted))
    })
    .await?;
    if known { Ok(()) } else { Err(not_found()) }
}

/// `GET /portal/ao-vivo/{code}/quadro.jpg`: the newest frame.
pub async fn frame(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(code): Path<String>,
) -> Response {
    if let Err(page) = visible_station(&state, &viewer, &code).await {
        return page;
    }
    let worker = Arc::clone(&state);
    let loaded = blocking(move || {
        log_access(&worker, &viewer, &code, Uuid::nil(), ACCESS_WHAT)?;
        worker.meta.live_frame(&code, None)
    })
    .await;
    match loaded {
        Ok(Some(frame)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (
                    header::HeaderName::from_static("x-quadro-seq"),
                    HeaderValue::from(frame.seq),
                ),
            ],
            frame.jpeg,
        )
            .into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(page) => page,
    }
}

/// `GET /portal/ao-vivo/{code}/mjpeg`: the newest frame at once, then each newer one.
pub async fn mjpeg(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(code): Path<String>,
) -> Response {
    if let Err(page) = visible_station(&state, &viewer, &code).await {
        return page;
    }
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let station = code.clone();
    if let Err(page) =
        blocking(move || log_access(&worker, &who, &station, Uuid::nil(), ACCESS_WHAT)).await
    {
        return page;
    }
    let until = tokio::time::Instant::now() + STREAM_FOR;
    let start = (state, code, None::<u64>, true);
    let parts =
        futures_util::stream::unfold(start, move |(state, code, mut last, first)| async move {
            if !first {
                tokio::time::sleep(POLL).await;
            }
            loop {
                if tokio::time::Instant::now() >= until {
                    return None;
                }
                let meta = Arc::clone(&state.meta);
                let station = code.clone();
                let newer =
                    tokio::task::spawn_blocking(move || meta.live_frame(&station, last)).await;
                match newer {
                    Ok(Ok(Some(frame))) => {
                        last = Some(frame.seq);
                        let mut part = format!(
                        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        frame.jpeg.len()
                    )
                    .into_bytes();
                        part.extend_from_slice(&frame.jpeg);
                        part.extend_from_slice(b"\r\n");
                        return Some((
                            Ok::<_, Infallible>(Bytes::from(part)),
                            (state, code, last, false),
                        ));
                    }
                    Ok(Ok(None)) => tokio::time::sleep(POLL).await,
                    Ok(Err(e)) => {
                        tracing::warn!(%e, station = %code, "quadro ao vivo ilegível no banco");
                        tokio::time::sleep(StdDuration::from_secs(1)).await;
                    }
                    Err(e) => {
                        tracing::warn!(%e, "leitura do quadro ao vivo interrompida");
                        return None;
                    }
                }
            }
        });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(concat!(
                "multipart/x-mixed-replace; boundary=",
                "quadro-ao-vivo"
            )),
        )],
        Body::from_stream(parts),
    )
        .into_response()
}

/// The parts' boundary (the `Content-Type` above names it too).
const BOUNDARY: &str = "quadro-ao-vivo";

/// The live view's and the station page's routes, behind the portal's session check.
pub fn routes() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/portal/ao-vivo", get(grid))
        .route(STYLE_PATH, get(style))
        .route("/portal/ao-vivo/{code}/mjpeg", get(mjpeg))
        .route("/portal/ao-vivo/{code}/quadro.jpg", get(frame))
        .route("/portal/estacoes/{code}", get(super::station::show))
}
