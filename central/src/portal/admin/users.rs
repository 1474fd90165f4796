//! `/portal/admin/usuarios`: every portal account with its role, state and lock-out; create one
//! (name, role, station for a manager, initial password), give a new password, lock (disable:
//! its sessions end at once) and unlock. The same rules as `vistoria-central user password`
//! (`crate::users`): Argon2id, at least 12 characters, names never reused.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use crate::api::AppState;
use crate::portal::console::access::in_nav;
use crate::portal::web::layout::{badge, csrf_input, escape, html, page, when};
use crate::portal::web::{self, Viewer, form_field};
use crate::storage::portal::{PortalAccount, PortalRole};

/// Runs an account change off the async threads.
async fn run<T, F>(f: F) -> Result<anyhow::Result<T>, Response>
where
    T: Send + 'static,
    F: FnOnce() -> anyhow::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| web::internal(&e))
}

/// What the create form had (the password is never shown again).
#[derive(Debug, Default)]
struct Typed {
    name: String,
    role: String,
    station: String,
}

const ROLES: &[(&str, &str)] = &[
    ("tecnico", "Técnico do suporte (console de chamados)"),
    ("admin", "Administrador (tudo, inclusive usuários)"),
    ("detran", "Auditor do Detran (todas as estações, leitura)"),
    ("gestor", "Gestor de ECV (só a sua estação)"),
];

/// `GET /portal/admin/usuarios`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    render(
        &state,
        &viewer,
        StatusCode::OK,
        None,
        None,
        &Typed::default(),
    )
    .await
}

async fn render(
    state: &Arc<AppState>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    done: Option<&str>,
    typed: &Typed,
) -> Response {
    let meta = Arc::clone(&state.meta);
    let accounts = match run(move || crate::users::portal_accounts(meta.as_ref())).await {
        Ok(Ok(accounts)) => accounts,
        Ok(Err(e)) => return web::internal(&e),
        Err(page) => return page,
    };
    let now = Utc::now();
    let rows: String = accounts.iter().map(|a| row(viewer, a, now)).collect();
    let role_options: String = ROLES
        .iter()
        .map(|(code, label)| {
            let selected = if typed.role == *code { " selected" } else { "" };
            format!(
                "<option value=\"{code}\"{selected}>{}</option>",
                escape(label)
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<div class=\"aviso\" role=\"alert\">{}</div>", escape(e)))
        .unwrap_or_default();
    let done = done
        .map(|d| {
            format!(
                "<div class=\"ok-aviso\" role=\"status\">{}</div>",
                escape(d)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<link rel=\"stylesheet\" href=\"/portal/chamados/console.css\"><h1>Usuários do portal</h1>\
         {error}{done}<form class=\"pesquisa caixa\" method=\"post\" action=\"/portal/admin/usuarios\" \
         id=\"form-usuario\" autocomplete=\"off\">{}\
         <label>Usuário (e-mail)<input name=\"nome\" id=\"novo-usuario\" value=\"{}\" required></label>\
         <label>Papel<select name=\"papel\" id=\"papel\">{role_options}</select></label>\
         <label>Estação (só gestor)<input name=\"estacao\" id=\"nova-estacao\" value=\"{}\"></label>\
         <label>Senha inicial (12+ caracteres)<input name=\"senha\" id=\"nova-senha\" \
         type=\"password\" autocomplete=\"new-password\" required></label>\
         <button class=\"principal\" type=\"submit\" id=\"criar\">Criar conta</button></form>\
         <div class=\"caixa\"><table id=\"usuarios\"><thead><tr><th>Usuário</th><th>Papel</th>\
         <th>Situação</th><th>Desde</th><th>Nova senha</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table></div><p class=\"nota\">Bloquear encerra na hora as sessões \
         da conta; desbloquear devolve o acesso com a mesma senha. Uma senha nova também \
         encerra as sessões abertas.</p>",
        csrf_input(viewer),
        escape(&typed.name),
        escape(&typed.station),
    );
    let active = if in_nav(&viewer.account.role, "/portal/chamados/") {
        "/portal/chamados/"
    } else {
        ""
    };
    html(
        status,
        page("Usuários do portal", Some(viewer), active, &body),
    )
}

fn row(viewer: &Viewer, a: &PortalAccount, now: chrono::DateTime<Utc>) -> String {
    let situation = if a.disabled_at.is_some() {
        badge("erro", "bloqueada")
    } else if let Some(until) = a.locked_until.filter(|u| *u > now) {
        badge(
            "alerta",
            &format!("senha errada demais, até {}", when(until)),
        )
    } else {
        badge("ok", "ativa")
    };
    let name = escape(&a.name);
    let hidden = format!(
        "{}<input type=\"hidden\" name=\"nome\" value=\"{name}\">",
        csrf_input(viewer)
    );
    let toggle = if a.disabled_at.is_some() || a.locked_until.is_some_and(|u| u > now) {
        format!(
            "<form method=\"post\" action=\"/portal/admin/usuarios/desbloquear\">{hidden}\
             <button class=\"secundario\" type=\"submit\" data-desbloquear=\"{name}\">Desbloquear\
             </button></form>"
        )
    } else if a.name == viewer.account.name {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/portal/admin/usuarios/bloquear\">{hidden}\
             <button class=\"perigo\" type=\"submit\" data-bloquear=\"{name}\">Bloquear</button>\
             </form>"
        )
    };
    format!(
        "<tr data-usuario=\"{name}\"><td>{name}</td><td>{}</td><td>{situation}</td><td>{}</td>\
         <td><form method=\"post\" action=\"/portal/admin/usuarios/senha\" class=\"linha\">{hidden}\
         <input name=\"senha\" type=\"password\" autocomplete=\"new-password\" \
         aria-label=\"Nova senha de {name}\" data-senha=\"{name}\" required>\
         <button class=\"secundario\" type=\"submit\" data-trocar=\"{name}\">Trocar</button></form>\
         </td><td>{toggle}</td></tr>",
        escape(&a.role.label_pt()),
        escape(&when(a.created_at)),
    )
}

/// `POST /portal/admin/usuarios`: `nome`, `papel`, `estacao`, `senha`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let typed = Typed {
        name: form_field(&body, "nome").trim().to_owned(),
        role: form_field(&body, "papel"),
        station: form_field(&body, "estacao").trim().to_uppercase(),
    };
    let password = form_field(&body, "senha");
    let role = match (typed.role.as_str(), typed.station.is_empty()) {
        ("tecnico", true) => Ok(PortalRole::Tecnico),
        ("admin", true) => Ok(PortalRole::Admin),
        ("detran", true) => Ok(PortalRole::Detran),
        ("gestor", false) => Ok(PortalRole::Gestor {
            station: typed.station.clone(),
        }),
        ("gestor", true) => Err("Um gestor é de uma estação: informe o código da ECV."),
        ("tecnico" | "admin" | "detran", false) => {
            Err("A estação vale só para gestores; deixe-a em branco para os outros papéis.")
        }
        _ => Err("Escolha um papel da lista."),
    };
    let role = match role {
        Ok(role) => role,
        Err(message) => {
            return render(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                None,
                &typed,
            )
            .await;
        }
    };
    let meta = Arc::clone(&state.meta);
    let name = typed.name.clone();
    match run(move || crate::users::create_portal_account(meta.as_ref(), &name, &role, &password))
        .await
    {
        Ok(Ok(())) => {
            tracing::info!(admin = %viewer.account.name, user = %typed.name, "conta do portal criada");
            Redirect::to("/portal/admin/usuarios").into_response()
        }
        Ok(Err(e)) => {
            render(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&sentence(&e)),
                None,
                &typed,
            )
            .await
        }
        Err(page) => page,
    }
}

/// An error of `crate::users` as a sentence.
fn sentence(e: &anyhow::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// Runs a change on the account named in the form and shows the list with its outcome.
async fn change<F>(
    state: &Arc<AppState>,
    viewer: &Viewer,
    body: &[u8],
    done: &str,
    f: F,
) -> Response
where
    F: FnOnce(&dyn crate::storage::MetadataStore, &str) -> anyhow::Result<()> + Send + 'static,
{
    let name = form_field(body, "nome");
    let meta = Arc::clone(&state.meta);
    let who = name.clone();
    match run(move || f(meta.as_ref(), &who)).await {
        Ok(Ok(())) => {
            tracing::info!(admin = %viewer.account.name, user = %name, %done, "conta do portal alterada");
            render(
                state,
                viewer,
                StatusCode::OK,
                None,
                Some(&format!("{name}: {done}.")),
                &Typed::default(),
            )
            .await
        }
        Ok(Err(e)) => {
            render(
                state,
                viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&sentence(&e)),
                None,
                &Typed::default(),
            )
            .await
        }
        Err(page) => page,
    }
}

/// `POST /portal/admin/usuarios/senha`: `nome`, `senha`.
pub async fn reset(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let password = form_field(&body, "senha");
    change(
        &state,
        &viewer,
        &body,
        "senha trocada, sessões encerradas",
        move |meta, name| crate::users::reset_portal_password(meta, name, &password),
    )
    .await
}

/// `POST /portal/admin/usuarios/bloquear`: `nome`. Not one's own account (a lone
/// administrator would lock everyone out of this page).
pub async fn lock(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let me = viewer.account.name.clone();
    change(
        &state,
        &viewer,
        &body,
        "conta bloqueada",
        move |meta, name| {
            if name == me {
                anyhow::bail!("você não pode bloquear a própria conta; peça a outro administrador");
            }
            crate::users::lock_portal_account(meta, name)
        },
    )
    .await
}

/// `POST /portal/admin/usuarios/desbloquear`: `nome`.
pub async fn unlock(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    change(
        &state,
        &viewer,
        &body,
        "conta desbloqueada",
        |meta, name| crate::users::unlock_portal_account(meta, name),
    )
    .await
}
