//! Who may open what, checked on the server for every request: the console is the support
//! team's (technicians and administrators); the Detran portal's inspection pages are not a
//! technician's (the help desk needs no citizen's evidence: LGPD, data minimisation).

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::super::web::Viewer;
use super::super::web::layout::{escape, html, page};
use crate::storage::portal::PortalRole;

/// A 403 page that points to where the person may go.
fn forbidden(viewer: &Viewer, title: &str, advice: &str, home: &str, home_label: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><div class=\"caixa\"><p>{}</p><p><a class=\"botao\" href=\"{home}\">{}</a>\
         </p></div>",
        escape(title),
        escape(advice),
        escape(home_label)
    );
    html(StatusCode::FORBIDDEN, page(title, Some(viewer), "", &body))
}

/// Behind [`super::super::web::protect`] (which put the [`Viewer`] in the request): admits
/// technicians and administrators to the console; everyone else gets a 403 page.
pub async fn console_gate(req: Request, next: Next) -> Response {
    let Some(viewer) = req.extensions().get::<Viewer>().cloned() else {
        return super::super::web::internal(&"console sem sessão verificada");
    };
    if !viewer.account.role.in_helpdesk() {
        tracing::warn!(user = %viewer.account.name, path = %req.uri().path(), "console do help desk pedido por quem não é da equipe de suporte");
        return forbidden(
            &viewer,
            "Acesso restrito à equipe de suporte",
            "O console de chamados é da equipe de suporte da empresa de sistema (técnicos e \
             administradores). Sua conta não tem esse acesso; se precisar, peça ao administrador.",
            "/portal/",
            "Voltar à visão geral",
        );
    }
    next.run(req).await
}

/// Behind `web::protect` on the Detran portal's pages: a technician asking for the overview is
/// taken to the console (where the login leaves everyone); any other of those pages is a 403.
pub async fn inspections_gate(req: Request, next: Next) -> Response {
    let Some(viewer) = req.extensions().get::<Viewer>().cloned() else {
        return super::super::web::internal(&"portal sem sessão verificada");
    };
    if viewer.account.role.sees_inspections() {
        return next.run(req).await;
    }
    if req.method() == Method::GET && req.uri().path() == "/portal/" {
        return Redirect::to(super::HOME).into_response();
    }
    tracing::warn!(user = %viewer.account.name, path = %req.uri().path(), "técnico pediu página de vistorias do portal");
    forbidden(
        &viewer,
        "Acesso restrito",
        "Técnicos do suporte não consultam vistorias nem suas evidências. Use o console de \
         chamados.",
        super::HOME,
        "Ir para os chamados",
    )
}

/// Whether the header's navigation shows `path` to `role`: the console and the
/// administration to the support team, the inspection pages to everyone else and to
/// administrators.
pub fn in_nav(role: &PortalRole, path: &str) -> bool {
    let console = path.starts_with("/portal/chamados");
    let admin = path.starts_with("/portal/admin");
    match role {
        PortalRole::Admin => true,
        PortalRole::Tecnico => console,
        PortalRole::Detran | PortalRole::Gestor { .. } => !console && !admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_sees_its_own_entries() {
        let gestor = PortalRole::Gestor {
            station: "ECV-01".into(),
        };
        assert!(in_nav(&PortalRole::Admin, "/portal/chamados/"));
        assert!(in_nav(&PortalRole::Admin, "/portal/"));
        assert!(in_nav(&PortalRole::Tecnico, "/portal/chamados/"));
        assert!(!in_nav(&PortalRole::Tecnico, "/portal/pesquisa"));
        assert!(!in_nav(&PortalRole::Detran, "/portal/chamados/"));
        assert!(!in_nav(&gestor, "/portal/admin/usuarios"));
        assert!(in_nav(&gestor, "/portal/pesquisa"));
    }
}
