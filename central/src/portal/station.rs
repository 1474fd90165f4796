//! `GET /portal/estacoes/{code}`: one station — its details (credential, newest package,
//! packages waiting for verification, business hours, the software policy's findings in its
//! last inventory, §15), its live camera (§7), and its recent inspections with their flags,
//! each a link to the inspection page. A manager sees their own station only; any other code
//! is "not found", as for inspections.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::live::{live_of, style_link, tile};
use super::overview::outcome_badge;
use super::web::Viewer;
use super::web::layout::{badge, escape, html, page, problem, when};
use super::{blocking, visible_stations};
use crate::api::AppState;
use crate::api::detran::inspections::outcome_code;
use crate::inspection_flags;
use crate::storage::directory::InspectionFilter;

/// Recent inspections listed.
const RECENT: usize = 20;

/// `GET /portal/estacoes/{code}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(code): Path<String>,
) -> Response {
    let not_found = |viewer: &Viewer| {
        problem(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "Estação não encontrada",
            "Não há estação com este código entre as que você pode consultar. Veja a lista na \
             visão geral.",
        )
    };
    if !viewer.account.role.may_see(&code) {
        tracing::warn!(user = %viewer.account.name, station = %code, "estação de outra ECV pedida no portal");
        return not_found(&viewer);
    }
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let wanted = code.clone();
    let loaded = blocking(move || {
        let Some(activity) = visible_stations(&worker, &who)?
            .into_iter()
            .find(|s| s.code == wanted)
        else {
            return Ok(None);
        };
        let (hours, live) = live_of(&worker, &wanted)?;
        let inventory = worker.meta.inventory(&wanted)?;
        let filter = InspectionFilter {
            station: Some(wanted.clone()),
            limit: RECENT,
            ..InspectionFilter::default()
        };
        let mut recent = Vec::new();
        for package in worker.meta.search_packages(&filter)? {
            let flags = inspection_flags::all_flags(worker.meta.as_ref(), &package)?;
            recent.push((package, flags));
        }
        Ok(Some((activity, hours, live, inventory, recent)))
    })
    .await;
    let (activity, hours, live, inventory, recent) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&viewer),
        Err(page) => return page,
    };

    let credential = if activity.revoked {
        badge("erro", "credencial revogada")
    } else {
        badge("ok", "credenciada")
    };
    let last = activity
        .last_package_at
        .map_or_else(|| "nenhum pacote ainda".to_owned(), when);
    let pending = if activity.pending_packages == 0 {
        badge("neutro", "nenhum")
    } else {
        badge("alerta", &activity.pending_packages.to_string())
    };
    let policy = match &inventory {
        None => badge("neutro", "nenhum inventário recebido"),
        Some(i) if i.offender_count == 0 => badge(
            "ok",
            &format!("conforme (inventário de {})", when(i.received_at)),
        ),
        Some(i) => badge(
            "erro",
            &format!(
                "{} item(ns) não permitido(s) (inventário de {})",
                i.offender_count,
                when(i.received_at)
            ),
        ),
    };
    let details = format!(
        "<div class=\"caixa\"><dl class=\"dados\" id=\"dados-estacao\">\
         <dt>Código</dt><dd>{}</dd><dt>Situação</dt><dd>{credential}</dd>\
         <dt>Último pacote recebido</dt><dd>{}</dd>\
         <dt>Pacotes aguardando verificação</dt><dd>{pending}</dd>\
         <dt>Expediente</dt><dd>{}</dd>\
         <dt>Política de software (§15)</dt><dd>{policy}</dd></dl></div>",
        escape(&activity.code),
        escape(&last),
        escape(&hours.describe()),
    );

    let rows: String = recent
        .iter()
        .map(|(p, flags)| {
            let flags = if flags.is_empty() {
                String::new()
            } else {
                badge("alerta", &format!("{} sinal(is)", flags.len()))
            };
            format!(
                "<tr><td>{}</td><td><a href=\"/portal/vistorias/{}/{}\">{}</a></td><td>{}</td>\
                 <td>{}</td><td>{flags}</td></tr>",
                escape(&when(p.first_seen_at)),
                escape(&p.station),
                p.inspection_id,
                escape(&p.plate),
                escape(p.receipt.as_ref().map_or("—", |r| r.laudo_number.as_str())),
                outcome_badge(
                    outcome_code(&p.manifest.outcome),
                    p.manifest.outcome.label_pt()
                ),
            )
        })
        .collect();
    let table = format!(
        "<h2>Vistorias recentes</h2><div class=\"caixa\"><table id=\"recentes\"><thead><tr>\
         <th>Recebida em</th><th>Placa</th><th>Laudo</th><th>Resultado</th><th>Sinais</th>\
         </tr></thead><tbody>{}</tbody></table><p><a href=\"/portal/pesquisa?estacao={}\">\
         Pesquisar todas as vistorias da estação</a></p></div>",
        if rows.is_empty() {
            "<tr><td colspan=\"5\">Nenhuma vistoria recebida.</td></tr>".to_owned()
        } else {
            rows
        },
        escape(&activity.code)
    );
    let body = format!(
        "{}<h1>Estação {}</h1>{details}<h2>Câmera ao vivo (§7)</h2>\
         <div class=\"grade-ao-vivo\">{}</div>{table}\
         <p class=\"nota\">Estado da câmera às {}; recarregue a página para atualizar.</p>",
        style_link(),
        escape(&activity.code),
        tile(&activity.code, &hours, live.as_ref()),
        escape(&when(Utc::now())),
    );
    html(
        StatusCode::OK,
        page(
            &format!("Estação {}", activity.code),
            Some(&viewer),
            "",
            &body,
        ),
    )
}
