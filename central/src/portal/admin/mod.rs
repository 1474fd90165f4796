//! The administration of the web site's accounts (issues 22 and 23), for administrators only:
//! `/portal/admin/usuarios` ([`users`]). Checked on the server for every request; forms carry
//! the session's CSRF token through the portal's common layer.

mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use super::web::{self, Viewer};
use crate::api::AppState;
use crate::storage::portal::PortalRole;

/// The administration's routes, to merge at the root of the central's router.
pub fn router(state: Arc<AppState>) -> Router {
    let pages = Router::new()
        .route(
            "/portal/admin/usuarios",
            get(users::show).post(users::create),
        )
        .route("/portal/admin/usuarios/senha", post(users::reset))
        .route("/portal/admin/usuarios/bloquear", post(users::lock))
        .route("/portal/admin/usuarios/desbloquear", post(users::unlock))
        .route_layer(middleware::from_fn(admins_only));
    web::protect(state, pages)
}

/// Admits administrators; everyone else gets a 403 page.
async fn admins_only(req: Request, next: Next) -> Response {
    let Some(viewer) = req.extensions().get::<Viewer>().cloned() else {
        return web::internal(&"administração sem sessão verificada");
    };
    if viewer.account.role != PortalRole::Admin {
        tracing::warn!(user = %viewer.account.name, path = %req.uri().path(), "administração de usuários pedida por quem não é administrador");
        return web::layout::problem(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "Acesso restrito a administradores",
            "Só administradores da empresa de sistema cuidam das contas do portal. Se precisa \
             de uma conta ou de uma senha nova, fale com um deles.",
        );
    }
    next.run(req).await
}
