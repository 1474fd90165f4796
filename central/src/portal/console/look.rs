//! The console's own look on top of the portal's: a stylesheet of its own (the portal's CSP
//! allows no inline style), the console's tabs, and the badges of a ticket's state.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use vistoria_helpdesk::model::{Status, Ticket};

use super::super::web::Viewer;
use super::super::web::layout::{badge, escape, html, page};
use crate::storage::portal::PortalRole;

/// Where the console's stylesheet is served.
pub const STYLE_PATH: &str = "/portal/chamados/console.css";

const STYLE: &str = r#"
nav.abas { display: flex; gap: .4rem; flex-wrap: wrap; margin: 0 0 1rem; }
nav.abas a { padding: .45rem .9rem; border: 1px solid var(--borda); border-radius: 4px;
             background: #fff; color: var(--azul); text-decoration: none; }
nav.abas a.ativo { background: var(--azul); color: #fff; border-color: var(--azul); }
.colunas { display: grid; grid-template-columns: minmax(0, 2fr) minmax(18rem, 1fr); gap: 1rem; }
.conversa { display: flex; flex-direction: column; gap: .7rem; }
.msg { max-width: 85%; border: 1px solid var(--borda); border-radius: 8px; padding: .6rem .8rem;
       background: #fff; }
.msg.equipe { align-self: flex-end; background: #e6f0fa; border-color: #b9d1ea; }
.msg.solucao { border-left: 4px solid var(--ok); }
.msg.recusa { border-left: 4px solid var(--erro); }
.msg .quem { font-size: .85rem; color: #44505c; margin-bottom: .3rem; }
.msg .texto { white-space: pre-wrap; }
.anexo { margin-top: .5rem; }
.anexo img { max-width: 100%; max-height: 22rem; display: block; border-radius: 4px; }
.anexo video { max-width: 100%; max-height: 22rem; display: block; }
.anexo audio { width: 100%; }
form.acao { display: grid; gap: .6rem; margin-bottom: 1rem; }
textarea { font: inherit; padding: .45rem .5rem; border: 1px solid #aab4c0; border-radius: 4px;
           min-height: 5rem; resize: vertical; }
button.secundario { background: #fff; color: var(--azul); border: 1px solid var(--azul);
                    border-radius: 4px; padding: .45rem .9rem; font: inherit; cursor: pointer; }
button.perigo { background: #fff; color: var(--erro); border: 1px solid var(--erro);
                border-radius: 4px; padding: .45rem .9rem; font: inherit; cursor: pointer; }
.linha { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; }
.linha form { margin: 0; }
.ok-aviso { border-left: 4px solid var(--ok); background: #dff3e6; padding: .7rem 1rem;
            margin-bottom: 1rem; border-radius: 4px; }
td form { display: inline; margin: 0; }
aside dd, .anexo a { overflow-wrap: anywhere; min-width: 0; }
@media (max-width: 1000px) { .colunas { grid-template-columns: 1fr; } }
"#;

/// `GET /portal/chamados/console.css`.
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

/// The console's tabs: (path, label, administrators only).
const TABS: &[(&str, &str, bool)] = &[
    ("/portal/chamados/", "Fila", false),
    ("/portal/chamados/novo", "Abrir chamado", false),
    ("/portal/chamados/contatos", "Contatos", false),
    ("/portal/chamados/relatorio", "Relatório", false),
    ("/portal/chamados/mensagens", "Mensagens", true),
    ("/portal/chamados/tipos", "Tipos de chamado", true),
    ("/portal/admin/usuarios", "Usuários", true),
];

/// A console page: the portal's shell with the console's stylesheet, tabs and, when
/// `refresh`, the script that keeps the marked parts current.
pub fn console_page(
    title: &str,
    viewer: &Viewer,
    active: &str,
    body: &str,
    refresh: bool,
) -> String {
    let admin = viewer.account.role == PortalRole::Admin;
    let tabs: String = TABS
        .iter()
        .filter(|(_, _, only_admin)| admin || !only_admin)
        .map(|(path, label, _)| {
            let class = if *path == active {
                " class=\"ativo\""
            } else {
                ""
            };
            format!("<a href=\"{path}\"{class}>{}</a>", escape(label))
        })
        .collect();
    let script = if refresh {
        format!("<script src=\"{}\" defer></script>", super::refresh::PATH)
    } else {
        String::new()
    };
    let body = format!(
        "<link rel=\"stylesheet\" href=\"{STYLE_PATH}\">{script}<nav class=\"abas\" \
         aria-label=\"Console de chamados\">{tabs}</nav>{body}"
    );
    page(title, Some(viewer), "/portal/chamados/", &body)
}

/// [`console_page`] as a response.
pub fn respond(
    status: axum::http::StatusCode,
    title: &str,
    viewer: &Viewer,
    active: &str,
    body: &str,
    refresh: bool,
) -> Response {
    html(status, console_page(title, viewer, active, body, refresh))
}

/// The badge of a ticket's state, as the team calls it.
pub fn status_badge(t: &Ticket) -> String {
    match t.status {
        Status::New => badge("alerta", "aguardando atendimento"),
        Status::Assigned => badge("neutro", "em atendimento"),
        Status::Solved => badge("ok", "aguardando o solicitante"),
        Status::Closed => badge("neutro", "fechado (arquivado)"),
    }
}

/// A warning box (`role=alert`) for a refused action; empty for none.
pub fn alert(message: Option<&str>) -> String {
    message
        .map(|m| format!("<div class=\"aviso\" role=\"alert\">{}</div>", escape(m)))
        .unwrap_or_default()
}
