//! The Detran portal (issue 22): a web site served by the central under `/portal/`, in
//! Brazilian Portuguese, for Detran auditors (every station, read-only), ECV managers (their
//! own station) and the system company's administrators. Server-rendered HTML, no script.
//!
//! The common parts (look, login, sessions, CSRF, access log) are [`web`], which other sets of
//! pages mount too. The pages read what the Detran API reads (`api::detran`): the store's
//! search, the flags of [`crate::inspection_flags`], the audit trails, the blobs.
//!
//! Here: the overview, the search (with CSV), the inspection with its evidence (and the
//! cross-station flags of [`crate::cross_flags`]), the reports ([`reports`], CSV and PDF).

mod admin;
mod console;
mod csv;
mod evidence;
mod files;
mod film;
mod filters;
mod inspection;
mod live;
mod overview;
pub mod reports;
mod search;
mod station;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::api::AppState;
use crate::storage::PackageRecord;
use crate::storage::portal::StationActivity;
use web::Viewer;
use web::layout::problem;

/// The portal's routes, to merge at the root of the central's router.
pub fn router(state: Arc<AppState>) -> Router {
    let pages = Router::new()
        .merge(live::routes())
        .route("/portal/", get(overview::show))
        .route("/portal/pesquisa", get(search::show))
        .route("/portal/relatorios", get(reports::show))
        .route("/portal/vistorias/{station}/{id}", get(inspection::show))
        .route(
            "/portal/vistorias/{station}/{id}/arquivos/{name}",
            get(files::file),
        )
        .route(
            "/portal/vistorias/{station}/{id}/laudo.pdf",
            get(files::laudo_pdf),
        )
        .route(
            "/portal/vistorias/{station}/{id}/filme/{name}",
            get(film::segment),
        )
        .route(film::SCRIPT_PATH, get(film::script));
    Router::new()
        .route("/portal", get(|| async { Redirect::permanent("/portal/") }))
        .merge(web::routes(Arc::clone(&state)))
        .merge(console::router(Arc::clone(&state)))
        .merge(admin::router(Arc::clone(&state)))
        // A help-desk technician sees no inspection page (LGPD): checked for every one of them.
        .merge(web::protect(
            state,
            pages.route_layer(axum::middleware::from_fn(console::access::inspections_gate)),
        ))
}

/// The same page for an inspection that does not exist and one the person may not see: a
/// manager learns nothing of another station's inspections, not even that one exists.
fn not_found(viewer: &Viewer) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        Some(viewer),
        "Vistoria não encontrada",
        "Não há vistoria com este endereço entre as que você pode consultar. Use a pesquisa por \
         placa, RENAVAM ou período.",
    )
}

/// The package at `station/id` if it exists and `viewer` may see it (checked on the server
/// for every request); else the not-found page.
async fn visible_package(
    state: &Arc<AppState>,
    viewer: &Viewer,
    station: &str,
    id: &str,
) -> Result<PackageRecord, Response> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(not_found(viewer));
    };
    if !viewer.account.role.may_see(station) {
        tracing::warn!(user = %viewer.account.name, %station, %id, "vistoria de outra estação pedida no portal");
        return Err(not_found(viewer));
    }
    let meta = Arc::clone(&state.meta);
    let key = crate::storage::PackageKey::new(station, id);
    match tokio::task::spawn_blocking(move || meta.package(&key)).await {
        Ok(Ok(Some(package))) => Ok(package),
        Ok(Ok(None)) => Err(not_found(viewer)),
        Ok(Err(e)) => Err(web::internal(&e)),
        Err(e) => Err(web::internal(&e)),
    }
}

/// The stations `viewer` may see, with their activity.
fn visible_stations(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Vec<StationActivity>, crate::storage::StorageError> {
    Ok(state
        .meta
        .station_activity()?
        .into_iter()
        .filter(|s| viewer.account.role.may_see(&s.code))
        .collect())
}

/// Runs blocking store work off the async threads; a failure is the 500 page.
async fn blocking<T, F>(f: F) -> Result<T, Response>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, crate::storage::StorageError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(web::internal(&e)),
        Err(e) => Err(web::internal(&e)),
    }
}
