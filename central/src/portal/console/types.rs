//! `/portal/chamados/tipos`: the menu of ticket types (the chatbot's list, the console's and the
//! kiosk's choices), edited by administrators. The help desk's service validates the whole menu
//! as the configuration is validated and stores it; this page edits one entry at a time.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vistoria_helpdesk::config::Category;
use vistoria_helpdesk::model::TicketKind;
use vistoria_helpdesk::service::ServiceError;

use super::look::{alert, respond};
use super::{call, helpdesk, message_of, refused, staff, status_of};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::form_field;
use crate::portal::web::layout::{csrf_input, escape};
use crate::storage::portal::PortalRole;

const PATH: &str = "/portal/chamados/tipos";
/// The add form's id in [`Typed::form`].
const NEW: &str = "novo";

fn admins_only(viewer: &Viewer) -> Option<Response> {
    (viewer.account.role != PortalRole::Admin).then(|| {
        refused(
            viewer,
            &ServiceError::Forbidden("só administradores editam os tipos de chamado".into()),
        )
    })
}

/// What the person typed in one form, shown again when it is refused.
#[derive(Default)]
struct Typed {
    /// The entry's key, or [`NEW`].
    form: String,
    chave: String,
    titulo: String,
    natureza: String,
    urgencia: String,
    glpi: String,
}

impl Typed {
    fn of(body: &[u8]) -> Typed {
        let chave = form_field(body, "chave").trim().to_owned();
        Typed {
            form: if form_field(body, "acao") == "adicionar" {
                NEW.to_owned()
            } else {
                chave.clone()
            },
            chave,
            titulo: form_field(body, "titulo").trim().to_owned(),
            natureza: form_field(body, "natureza"),
            urgencia: form_field(body, "urgencia").trim().to_owned(),
            glpi: form_field(body, "glpi").trim().to_owned(),
        }
    }

    fn of_entry(c: &Category) -> Typed {
        Typed {
            form: c.key.clone(),
            chave: c.key.clone(),
            titulo: c.title.clone(),
            natureza: c.kind.code().to_owned(),
            urgencia: c.urgency.to_string(),
            glpi: c
                .glpi_category_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
        }
    }

    /// The entry typed; the fields the service cannot see (numbers, the kind) checked here.
    fn entry(&self) -> Result<Category, String> {
        let kind = TicketKind::from_code(&self.natureza)
            .ok_or("Natureza: escolha incidente ou requisição.")?;
        let urgency = self
            .urgencia
            .parse::<u8>()
            .map_err(|_| "Urgência: informe um número de 1 a 5.".to_owned())?;
        let glpi_category_id = if self.glpi.is_empty() {
            None
        } else {
            Some(self.glpi.parse::<i64>().ok().filter(|i| *i > 0).ok_or(
                "Categoria no GLPI: informe o número (id) da categoria ou deixe em branco.",
            )?)
        };
        Ok(Category {
            key: self.chave.clone(),
            title: self.titulo.clone(),
            kind,
            urgency,
            glpi_category_id,
        })
    }
}

/// The service names the menu's fields as the configuration file does (`categories[2].title`);
/// here they are named by the entry's key and in Portuguese.
fn readable(message: &str, menu: &[Category]) -> String {
    let mut text = message.to_owned();
    for (i, c) in menu.iter().enumerate() {
        let who = if c.key.trim().is_empty() {
            "Novo tipo".to_owned()
        } else {
            format!("Tipo '{}'", c.key)
        };
        for (name, label) in [
            ("key", "chave"),
            ("title", "título"),
            ("urgency", "urgência"),
        ] {
            text = text.replace(
                &format!("categories[{i}].{name}"),
                &format!("{who}, {label}"),
            );
        }
    }
    text.replace("categories: ", "").replace("Tipos: ", "")
}

/// `GET /portal/chamados/tipos`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    if let Some(page) = admins_only(&viewer) {
        return page;
    }
    page(&state, &viewer, StatusCode::OK, None, None).await
}

fn kind_options(selected: &str) -> String {
    [
        (TicketKind::Incident, "Incidente"),
        (TicketKind::Request, "Requisição"),
    ]
    .iter()
    .map(|(k, label)| {
        let code = k.code();
        let sel = if code == selected { " selected" } else { "" };
        format!("<option value=\"{code}\"{sel}>{label}</option>")
    })
    .collect()
}

fn fields(t: &Typed, id: &str) -> String {
    format!(
        "<label>Título (até 24 caracteres)<input name=\"titulo\" id=\"titulo-{id}\" value=\"{}\" \
         maxlength=\"24\" required></label><label>Natureza<select name=\"natureza\" \
         id=\"natureza-{id}\">{}</select></label><label>Urgência (1 a 5)<input name=\"urgencia\" \
         id=\"urgencia-{id}\" value=\"{}\" size=\"3\" inputmode=\"numeric\"></label>\
         <label>Categoria no GLPI (id, opcional)<input name=\"glpi\" id=\"glpi-{id}\" value=\"{}\" \
         size=\"6\" inputmode=\"numeric\"></label>",
        escape(&t.titulo),
        kind_options(&t.natureza),
        escape(&t.urgencia),
        escape(&t.glpi),
    )
}

async fn page(
    state: &Arc<AppState>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    typed: Option<&Typed>,
) -> Response {
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let menu = match call(&helpdesk, |h| h.categories()).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let forms: String = menu
        .iter()
        .map(|c| {
            let shown = match typed {
                Some(t) if t.form == c.key => fields(t, &c.key),
                _ => fields(&Typed::of_entry(c), &c.key),
            };
            let key = escape(&c.key);
            format!(
                "<form class=\"acao caixa\" method=\"post\" action=\"{PATH}\" id=\"tipo-{key}\">\
                 {}<input type=\"hidden\" name=\"chave\" value=\"{key}\"><p><strong>{key}</strong>\
                 </p>{shown}<div class=\"linha\"><button class=\"principal\" type=\"submit\" \
                 name=\"acao\" value=\"salvar\" id=\"salvar-{key}\">Salvar</button>\
                 <button class=\"perigo\" type=\"submit\" name=\"acao\" value=\"remover\" \
                 id=\"remover-{key}\">Remover</button></div></form>",
                csrf_input(viewer),
            )
        })
        .collect();
    let blank = Typed {
        natureza: TicketKind::Request.code().to_owned(),
        urgencia: "3".to_owned(),
        ..Typed::default()
    };
    let new = match typed {
        Some(t) if t.form == NEW => t,
        _ => &blank,
    };
    let body = format!(
        "<h1>Tipos de chamado</h1>{}<p class=\"nota\">A lista do chatbot do WhatsApp, do quiosque \
         e do formulário de abertura, nesta ordem. Chamados de um tipo removido continuam \
         legíveis, com a chave do tipo.</p>{forms}<form class=\"acao caixa\" method=\"post\" \
         action=\"{PATH}\" id=\"tipo-novo\">{}<h2>Novo tipo</h2><label>Chave (curta, sem espaços; \
         não muda depois)<input name=\"chave\" id=\"chave-novo\" value=\"{}\" required></label>{}\
         <div class=\"linha\"><button class=\"principal\" type=\"submit\" name=\"acao\" \
         value=\"adicionar\" id=\"adicionar\">Adicionar tipo</button></div></form>",
        alert(error),
        csrf_input(viewer),
        escape(&new.chave),
        fields(new, NEW),
    );
    respond(status, "Tipos de chamado", viewer, PATH, &body, false)
}

/// The page again with the error and what was typed.
async fn refuse(
    state: &Arc<AppState>,
    viewer: &Viewer,
    typed: &Typed,
    status: StatusCode,
    message: String,
) -> Response {
    page(state, viewer, status, Some(&message), Some(typed)).await
}

/// `POST /portal/chamados/tipos`: `acao` (`salvar`, `remover` or `adicionar`), `chave` and, but
/// for removal, `titulo`, `natureza`, `urgencia`, `glpi`.
pub async fn save(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    if let Some(page) = admins_only(&viewer) {
        return page;
    }
    let Some(staff) = staff(&viewer) else {
        return super::super::web::internal(&"administrador sem papel no help desk");
    };
    let typed = Typed::of(&body);
    let action = form_field(&body, "acao");
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let mut menu = match call(&helpdesk, |h| h.categories()).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return refused(&viewer, &e),
        Err(page) => return page,
    };
    let position = menu.iter().position(|c| c.key == typed.chave);
    match (action.as_str(), position) {
        ("remover", Some(i)) => {
            menu.remove(i);
        }
        ("salvar", Some(i)) => match typed.entry() {
            Ok(entry) => menu[i] = entry,
            Err(m) => {
                return refuse(&state, &viewer, &typed, StatusCode::UNPROCESSABLE_ENTITY, m).await;
            }
        },
        ("adicionar", _) => {
            if typed.chave.chars().any(char::is_whitespace) {
                return refuse(
                    &state,
                    &viewer,
                    &typed,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Chave: use uma palavra curta, sem espaços (por exemplo, balanca).".into(),
                )
                .await;
            }
            match typed.entry() {
                Ok(entry) => menu.push(entry),
                Err(m) => {
                    return refuse(&state, &viewer, &typed, StatusCode::UNPROCESSABLE_ENTITY, m)
                        .await;
                }
            }
        }
        _ => {
            return refuse(
                &state,
                &viewer,
                &typed,
                StatusCode::NOT_FOUND,
                "Este tipo não está mais na lista; recarregue a página.".into(),
            )
            .await;
        }
    }
    let (edited, anchor) = (menu.clone(), typed.chave.clone());
    match call(&helpdesk, move |h| h.set_categories(&staff, &edited)).await {
        Ok(Ok(())) if action == "remover" => Redirect::to(PATH).into_response(),
        Ok(Ok(())) => Redirect::to(&format!("{PATH}#tipo-{anchor}")).into_response(),
        Ok(Err(e)) => {
            let message = readable(&message_of(&e), &menu);
            refuse(&state, &viewer, &typed, status_of(&e), message).await
        }
        Err(page) => page,
    }
}
