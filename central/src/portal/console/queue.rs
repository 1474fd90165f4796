//! `GET /portal/chamados/`: the queue. Without a state filter, the work in three parts —
//! waiting for someone (new), in progress, awaiting the requester (solution given) — and the
//! closed tickets (the archive) on asking for them; filters by state, station and technician.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use vistoria_helpdesk::model::{ContactId, Status, Ticket};
use vistoria_helpdesk::store::TicketFilter;

use super::look::{respond, status_badge};
use super::{call, helpdesk, refused};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::layout::{escape, when};

/// The queue's filters, as the form sends them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    /// `novos`, `andamento`, `aguardando`, `fechados`, `todos`; empty: the open work.
    estado: String,
    /// Station code.
    estacao: String,
    /// A technician's login; `eu` for the person's own.
    tecnico: String,
}

const STATES: &[(&str, &str)] = &[
    ("", "Abertos (por etapa)"),
    ("novos", "Aguardando atendimento"),
    ("andamento", "Em atendimento"),
    ("aguardando", "Aguardando o solicitante"),
    ("fechados", "Fechados (arquivo)"),
    ("todos", "Todos"),
];

fn statuses(code: &str) -> Option<Vec<Status>> {
    Some(match code {
        "" => vec![Status::New, Status::Assigned, Status::Solved],
        "novos" => vec![Status::New],
        "andamento" => vec![Status::Assigned],
        "aguardando" => vec![Status::Solved],
        "fechados" => vec![Status::Closed],
        "todos" => Vec::new(),
        _ => return None,
    })
}

/// `GET /portal/chamados/`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Query(filters): Query<Filters>,
) -> Response {
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let mut problems = Vec::new();
    let wanted = statuses(&filters.estado).unwrap_or_else(|| {
        problems.push(format!(
            "Estado «{}» desconhecido; escolha um da lista.",
            filters.estado
        ));
        statuses("").unwrap_or_default()
    });
    let technician = match filters.tecnico.trim() {
        "" => None,
        "eu" => Some(viewer.account.name.clone()),
        other => Some(other.to_owned()),
    };
    let filter = TicketFilter {
        statuses: wanted,
        station: Some(filters.estacao.trim().to_uppercase()).filter(|s| !s.is_empty()),
        technician,
        ..TicketFilter::default()
    };
    let found = call(&helpdesk, move |h| {
        let tickets = h.tickets(&filter)?;
        let mut names: BTreeMap<ContactId, String> =
            h.contacts()?.into_iter().map(|c| (c.id, c.name)).collect();
        for t in &tickets {
            if !names.contains_key(&t.contact_id)
                && let Some(c) = h.store().contact(t.contact_id)?
            {
                names.insert(c.id, c.name);
            }
        }
        Ok((tickets, names))
    })
    .await;
    let (tickets, names) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return refused(&viewer, &e),
        Err(page) => return page,
    };

    let mut body = String::from("<h1>Chamados</h1>");
    for p in &problems {
        body.push_str(&super::look::alert(Some(p)));
    }
    body.push_str(&filter_form(&filters));
    body.push_str("<div id=\"fila\" data-atualiza>");
    if filters.estado.is_empty() {
        for (status, title, id) in [
            (Status::New, "Aguardando atendimento", "novos"),
            (Status::Assigned, "Em atendimento", "andamento"),
            (Status::Solved, "Aguardando o solicitante", "aguardando"),
        ] {
            let part: Vec<&Ticket> = tickets.iter().filter(|t| t.status == status).collect();
            body.push_str(&format!(
                "<h2>{} <span class=\"nota\">({})</span></h2>",
                escape(title),
                part.len()
            ));
            body.push_str(&table(id, &part, &names, &viewer));
        }
        body.push_str(
            "<p class=\"nota\">Chamados fechados ficam arquivados com a conversa inteira: \
             <a href=\"/portal/chamados/?estado=fechados\">ver o arquivo</a>.</p>",
        );
    } else {
        let all: Vec<&Ticket> = tickets.iter().collect();
        body.push_str(&format!(
            "<h2>{} <span class=\"nota\">({})</span></h2>",
            escape(
                STATES
                    .iter()
                    .find(|(code, _)| *code == filters.estado)
                    .map_or("Chamados", |(_, label)| label)
            ),
            all.len()
        ));
        body.push_str(&table("lista", &all, &names, &viewer));
    }
    body.push_str("</div>");
    respond(
        StatusCode::OK,
        "Chamados",
        &viewer,
        "/portal/chamados/",
        &body,
        true,
    )
}

fn filter_form(filters: &Filters) -> String {
    let options: String = STATES
        .iter()
        .map(|(code, label)| {
            let selected = if *code == filters.estado {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{code}\"{selected}>{}</option>",
                escape(label)
            )
        })
        .collect();
    format!(
        "<form class=\"pesquisa caixa\" method=\"get\" action=\"/portal/chamados/\" id=\"filtros\">\
         <label>Estado<select name=\"estado\" id=\"estado\">{options}</select></label>\
         <label>Estação<input name=\"estacao\" id=\"estacao\" value=\"{}\" \
         placeholder=\"ECV-…\"></label>\
         <label>Técnico<input name=\"tecnico\" id=\"tecnico\" value=\"{}\" \
         placeholder=\"login, ou eu\"></label>\
         <button class=\"principal\" type=\"submit\" id=\"filtrar\">Filtrar</button></form>",
        escape(&filters.estacao),
        escape(&filters.tecnico)
    )
}

fn table(
    id: &str,
    tickets: &[&Ticket],
    names: &BTreeMap<ContactId, String>,
    viewer: &Viewer,
) -> String {
    if tickets.is_empty() {
        return format!(
            "<div class=\"caixa\" id=\"{id}\"><p class=\"nota\">Nenhum chamado.</p></div>"
        );
    }
    let rows: String = tickets
        .iter()
        .map(|t| {
            let mine = t.technician.as_deref() == Some(viewer.account.name.as_str());
            format!(
                "<tr data-chamado=\"{n}\"><td><a href=\"/portal/chamados/{n}\">{reference}</a></td>\
                 <td>{title}</td><td>{who}</td><td>{channel}</td><td>{station}</td>\
                 <td>{technician}</td><td>{status}</td><td>{opened}</td></tr>",
                n = t.id.0,
                reference = escape(&t.id.reference()),
                title = escape(&t.title),
                who = escape(names.get(&t.contact_id).map_or("—", String::as_str)),
                channel = escape(t.channel.label_pt()),
                station = escape(t.station.as_deref().unwrap_or("—")),
                technician = if mine {
                    "<strong>você</strong>".to_owned()
                } else {
                    escape(t.technician.as_deref().unwrap_or("—"))
                },
                status = status_badge(t),
                opened = escape(&when(t.created_at)),
            )
        })
        .collect();
    format!(
        "<div class=\"caixa\"><table id=\"{id}\"><thead><tr><th>Nº</th><th>Título</th>\
         <th>Solicitante</th><th>Canal</th><th>Estação</th><th>Técnico</th><th>Estado</th>\
         <th>Aberto em</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
}
