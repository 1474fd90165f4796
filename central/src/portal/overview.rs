//! `GET /portal/`: the stations the person may see with their newest package and the packages
//! still waiting for verification, today's inspections (Mato Grosso's day) with their flags,
//! and the count of flags raised today.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use vistoria_core::clock::in_station_zone;

use super::web::Viewer;
use super::web::layout::{badge, escape, html, page, when};
use super::{blocking, visible_stations};
use crate::api::AppState;
use crate::api::detran::inspections::outcome_code;
use crate::inspection_flags;
use crate::storage::directory::{InspectionFilter, OutcomeCode};

/// Today's inspections listed at most.
const TODAY_ROWS: usize = 100;

/// Midnight of `now`'s day in Mato Grosso, as a central instant.
pub fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = in_station_zone(now);
    let midnight = local.with_time(NaiveTime::MIN).single().unwrap_or(local);
    midnight.with_timezone(&Utc)
}

/// A badge for an outcome.
pub fn outcome_badge(code: OutcomeCode, label: &str) -> String {
    let class = match code {
        OutcomeCode::Conforming => "ok",
        OutcomeCode::NonConforming => "erro",
        OutcomeCode::Interrupted => "alerta",
    };
    badge(class, label)
}

/// How long ago, in words.
fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let d = now - t;
    if d < Duration::minutes(1) {
        "agora há pouco".into()
    } else if d < Duration::hours(1) {
        format!("há {} min", d.num_minutes())
    } else if d < Duration::days(2) {
        format!("há {} h", d.num_hours())
    } else {
        format!("há {} dias", d.num_days())
    }
}

/// `GET /portal/`.
async fn render(state: Arc<AppState>, viewer: Viewer) -> Result<Response, Response> {
    let now = Utc::now();
    let today = start_of_day(now);
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let (stations, rows, cross_open) = blocking(move || {
        let stations = visible_stations(&worker, &who)?;
        let filter = InspectionFilter {
            station: who.account.role.station().map(str::to_owned),
            from: Some(today),
            limit: TODAY_ROWS,
            ..InspectionFilter::default()
        };
        let mut rows = Vec::new();
        for package in worker.meta.search_packages(&filter)? {
            let flags = inspection_flags::all_flags(worker.meta.as_ref(), &package)?;
            rows.push((package, flags));
        }
        // Cross-station flags stay open until retention removes them: there is no closing yet.
        let cross_open = worker.meta.count_cross_flags(who.account.role.station())?;
        Ok((stations, rows, cross_open))
    })
    .await?;

    let count = |code: OutcomeCode| {
        rows.iter()
            .filter(|(p, _)| outcome_code(&p.manifest.outcome) == code)
            .count()
    };
    let flags_today: usize = rows.iter().map(|(_, f)| f.len()).sum();
    let more = if rows.len() >= TODAY_ROWS { "+" } else { "" };
    let cards = format!(
        "<div class=\"cartoes\">\
         <div class=\"cartao\"><div class=\"numero\" id=\"vistorias-hoje\">{}{more}</div>vistorias recebidas hoje</div>\
         <div class=\"cartao\"><div class=\"numero\">{}</div>conformes</div>\
         <div class=\"cartao\"><div class=\"numero\">{}</div>não conformes</div>\
         <div class=\"cartao\"><div class=\"numero\">{}</div>interrompidas</div>\
         <div class=\"cartao\"><div class=\"numero\">{flags_today}</div>sinais para conferir</div>\
         <div class=\"cartao\"><div class=\"numero\" id=\"sinais-abertos\">{cross_open}</div>sinais entre estações em aberto</div>\
         </div>",
        rows.len(),
        count(OutcomeCode::Conforming),
        count(OutcomeCode::NonConforming),
        count(OutcomeCode::Interrupted),
    );

    let station_rows: String = stations
        .iter()
        .map(|s| {
            let state = if s.revoked {
                badge("erro", "credencial revogada")
            } else {
                badge("ok", "credenciada")
            };
            let last = s.last_package_at.map_or_else(
                || "nenhum pacote ainda".to_owned(),
                |t| format!("{} ({})", when(t), ago(now, t)),
            );
            let pending = if s.pending_packages == 0 {
                badge("neutro", "0")
            } else {
                badge("alerta", &s.pending_packages.to_string())
            };
            format!(
                "<tr><td><a href=\"/portal/estacoes/{code}\">{code}</a></td><td>{state}</td>\
                 <td>{last}</td><td>{pending}</td></tr>",
                code = escape(&s.code),
                last = escape(&last)
            )
        })
        .collect();
    let stations_table = format!(
        "<h2>Estações</h2><div class=\"caixa\"><table id=\"estacoes\"><thead><tr><th>Estação</th>\
         <th>Situação</th><th>Último pacote recebido</th><th>Pacotes aguardando verificação</th>\
         </tr></thead><tbody>{}</tbody></table>\
         <p class=\"nota\"><a href=\"/portal/ao-vivo\">Câmeras ao vivo (§7)</a></p></div>",
        if station_rows.is_empty() {
            "<tr><td colspan=\"4\">Nenhuma estação cadastrada.</td></tr>".to_owned()
        } else {
            station_rows
        }
    );

    let inspection_rows: String = rows
        .iter()
        .map(|(p, flags)| {
            let flags = if flags.is_empty() {
                String::new()
            } else {
                badge("alerta", &format!("{} sinal(is)", flags.len()))
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/portal/vistorias/{}/{}\">{}</a></td>\
                 <td>{}</td><td>{}</td><td>{flags}</td></tr>",
                escape(&when(p.first_seen_at)),
                escape(&p.station),
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
    let today_table = format!(
        "<h2>Vistorias de hoje</h2><div class=\"caixa\"><table id=\"hoje\"><thead><tr>\
         <th>Recebida em</th><th>Estação</th><th>Placa</th><th>Laudo</th><th>Resultado</th>\
         <th>Sinais</th></tr></thead><tbody>{}</tbody></table></div>",
        if inspection_rows.is_empty() {
            "<tr><td colspan=\"6\">Nenhuma vistoria recebida hoje.</td></tr>".to_owned()
        } else {
            inspection_rows
        }
    );
    let body = format!(
        "<h1>Visão geral</h1><p class=\"nota\">Hoje: desde {} (horário de Mato Grosso).</p>\
         {cards}{stations_table}{today_table}",
        escape(&when(today))
    );
    Ok(html(
        StatusCode::OK,
        page("Visão geral", Some(&viewer), "/portal/", &body),
    ))
}

/// `GET /portal/` handler.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    render(state, viewer).await.unwrap_or_else(|e| e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::start_of_day;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_day_starts_at_midnight_in_mato_grosso() {
        // 02:00 UTC is 22:00 of the day before in Cuiabá (UTC−4).
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
        assert_eq!(
            start_of_day(now),
            Utc.with_ymd_and_hms(2026, 12, 6, 4, 0, 0).unwrap()
        );
    }
}
