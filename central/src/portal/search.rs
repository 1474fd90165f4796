//! `GET /portal/pesquisa`: inspections by plate, RENAVAM, station, period, outcome and flag,
//! newest first, a page at a time; `formato=csv` exports every match (up to [`CSV_ROWS`]).
//!
//! Plate, station, period and outcome are the store's indexed search (the Detran API's).
//! RENAVAM goes through the vehicle registry to the plate (packages carry the plate). The flag
//! is read from each candidate's audit trail, so pages with a flag filter scan forward in
//! batches, at most [`SCAN_ROWS`] candidates per request, and say so when they stopped early.
//! A manager's search is always limited to their own station, whatever the form says.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use uuid::Uuid;
use vistoria_core::domain::Plate;
use vistoria_core::wire::rfc3339_ms;

use super::csv::field;
use super::filters::{Fields, local_midnight, query_string, station_scope, typed_day};
use super::overview::outcome_badge;
use super::web::Viewer;
use super::web::layout::{badge, escape, html, page, when};
use super::{blocking, visible_stations};
use crate::api::AppState;
use crate::api::detran::inspections::outcome_code;
use crate::inspection_flags::{self, Flag, FlagKind};
use crate::storage::PackageRecord;
use crate::storage::directory::{InspectionFilter, OutcomeCode, SearchPosition};

/// Rows per page.
pub const PAGE_ROWS: usize = 25;
/// Rows of a CSV export at most.
pub const CSV_ROWS: usize = 10_000;
/// Candidates read per request when a flag filters in memory.
const SCAN_ROWS: usize = 2_000;
/// Rows fetched from the store at a time.
const BATCH: usize = 200;

/// The form, as typed (shown back), and what it means.
#[derive(Debug, Default, Clone)]
struct Form {
    placa: String,
    renavam: String,
    estacao: String,
    de: String,
    ate: String,
    resultado: String,
    sinal: String,
    csv: bool,
    after: Option<SearchPosition>,
}

impl Form {
    fn parse(query: Option<&str>) -> Form {
        let mut f = Fields::parse(query);
        // The position after the last row shown: all three parts, or the first page.
        let after = match (
            DateTime::parse_from_rfc3339(&f.take("apos_t")).ok(),
            Some(f.take("apos_e")).filter(|s| !s.is_empty()),
            Uuid::parse_str(&f.take("apos_id")).ok(),
        ) {
            (Some(t), Some(station), Some(inspection_id)) => Some(SearchPosition {
                first_seen_at: t.with_timezone(&Utc),
                station,
                inspection_id,
            }),
            _ => None,
        };
        Form {
            placa: f.take("placa"),
            renavam: f.take("renavam"),
            estacao: f.take("estacao"),
            de: f.take("de"),
            ate: f.take("ate"),
            resultado: f.take("resultado"),
            sinal: f.take("sinal"),
            csv: f.take("formato") == "csv",
            after,
        }
    }

    /// The query string of this search (without its position), for links.
    fn query(&self) -> String {
        query_string(&[
            ("placa", &self.placa),
            ("renavam", &self.renavam),
            ("estacao", &self.estacao),
            ("de", &self.de),
            ("ate", &self.ate),
            ("resultado", &self.resultado),
            ("sinal", &self.sinal),
        ])
    }
}

/// What the form asks of the store, plus the flag filtered in memory; or the messages saying
/// which field is wrong and how to fix it.
struct Plan {
    filter: InspectionFilter,
    flag: Option<FlagKind>,
    /// A RENAVAM the registry does not know: nothing can match.
    empty: bool,
}

/// A plate in both its forms: a converted vehicle was delivered under either (§5).
fn both_forms(plate: &Plate) -> Vec<String> {
    let mut forms = vec![plate.to_mercosul().as_str().to_owned()];
    forms.extend(plate.to_old().map(|p| p.as_str().to_owned()));
    forms.dedup();
    forms
}

fn plan(state: &AppState, viewer: &Viewer, form: &Form) -> Result<Plan, Vec<String>> {
    let mut errors = Vec::new();
    let mut filter = InspectionFilter::default();
    let mut empty = false;
    if !form.placa.is_empty() {
        match Plate::parse(&form.placa) {
            Ok(plate) => filter.plates = both_forms(&plate),
            Err(e) => errors.push(format!(
                "Placa «{}» inválida: {e}. Digite as 7 letras e números (ex.: ABC1D23).",
                form.placa
            )),
        }
    }
    if !form.renavam.is_empty() {
        match state.registry.by_renavam(&form.renavam) {
            Some(vehicle) => match Plate::parse(&vehicle.plate) {
                Ok(plate) => {
                    let forms = both_forms(&plate);
                    if filter.plates.is_empty() {
                        filter.plates = forms;
                    } else {
                        // Both given: only the vehicle that has both.
                        filter.plates.retain(|p| forms.contains(p));
                        empty |= filter.plates.is_empty();
                    }
                }
                Err(_) => empty = true,
            },
            None => empty = true,
        }
    }
    // A manager sees their station only, whatever was typed: another station's finds nothing.
    let (station, elsewhere) = station_scope(viewer, &form.estacao);
    filter.station = station;
    empty |= elsewhere;
    filter.from = typed_day(&form.de, "Data inicial", &mut errors).map(local_midnight);
    // "Até" includes the whole day typed.
    filter.to = typed_day(&form.ate, "Data final", &mut errors)
        .map(|day| local_midnight(day + chrono::Duration::days(1)));
    filter.outcome = match form.resultado.as_str() {
        "" => None,
        "conforming" => Some(OutcomeCode::Conforming),
        "non_conforming" => Some(OutcomeCode::NonConforming),
        "interrupted" => Some(OutcomeCode::Interrupted),
        other => {
            errors.push(format!(
                "Resultado «{other}» desconhecido; escolha um da lista."
            ));
            None
        }
    };
    let flag = match form.sinal.as_str() {
        "" => None,
        code => match FlagKind::ALL.into_iter().find(|k| k.code() == code) {
            Some(kind) => Some(kind),
            None => {
                errors.push(format!("Sinal «{code}» desconhecido; escolha um da lista."));
                None
            }
        },
    };
    if errors.is_empty() {
        Ok(Plan {
            filter,
            flag,
            empty,
        })
    } else {
        Err(errors)
    }
}

/// The matching rows after the plan's position, up to `want`, with their flags; and where to
/// continue (`None`: nothing left).
type Found = (Vec<(PackageRecord, Vec<Flag>)>, Option<SearchPosition>);

fn run(
    state: &AppState,
    plan: &Plan,
    want: usize,
    scan_cap: usize,
) -> Result<Found, crate::storage::StorageError> {
    let mut found = Vec::new();
    if plan.empty {
        return Ok((found, None));
    }
    let mut filter = plan.filter.clone();
    let mut scanned = 0usize;
    loop {
        // One more than wanted says whether there is a next page.
        filter.limit = if plan.flag.is_some() {
            BATCH
        } else {
            want + 1 - found.len()
        };
        let batch = state.meta.search_packages(&filter)?;
        let exhausted = batch.len() < filter.limit;
        for package in batch {
            scanned += 1;
            filter.after = Some(SearchPosition::of(&package));
            let flags = inspection_flags::all_flags(state.meta.as_ref(), &package)?;
            if plan
                .flag
                .is_some_and(|kind| !flags.iter().any(|f| f.kind == kind))
            {
                continue;
            }
            found.push((package, flags));
            if found.len() > want {
                found.truncate(want);
                let next = found.last().map(|(p, _)| SearchPosition::of(p));
                return Ok((found, next));
            }
        }
        if exhausted {
            return Ok((found, None));
        }
        if scanned >= scan_cap {
            // Stopped early: continue from the last candidate read.
            return Ok((found, filter.after));
        }
    }
}

fn options(selected: &str, choices: &[(&str, &str)]) -> String {
    choices
        .iter()
        .map(|(value, label)| {
            let mark = if *value == selected { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{mark}>{}</option>",
                escape(value),
                escape(label)
            )
        })
        .collect()
}

/// `GET /portal/pesquisa`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.as_deref());
    // Pesquisar with every field empty lists the newest; the first visit lists nothing.
    let submitted = query.as_deref().is_some_and(|q| !q.is_empty());
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let asked = form.clone();
    let result = blocking(move || {
        let stations = visible_stations(&worker, &who)?;
        let planned = plan(&worker, &who, &asked);
        let found = match &planned {
            Ok(plan) if asked.csv => Some(run(&worker, plan, CSV_ROWS, usize::MAX)?),
            Ok(plan) if submitted => {
                let mut plan_at = Plan {
                    filter: plan.filter.clone(),
                    flag: plan.flag,
                    empty: plan.empty,
                };
                plan_at.filter.after = asked.after.clone();
                Some(run(&worker, &plan_at, PAGE_ROWS, SCAN_ROWS)?)
            }
            _ => None,
        };
        Ok((stations, planned.err(), found))
    })
    .await;
    let (stations, errors, found) = match result {
        Ok(r) => r,
        Err(page) => return page,
    };
    if form.csv
        && let Some((rows, _)) = &found
    {
        return csv(rows);
    }
    let station_choices: Vec<(String, String)> =
        std::iter::once((String::new(), "Todas".to_owned()))
            .chain(stations.iter().map(|s| (s.code.clone(), s.code.clone())))
            .collect();
    let station_refs: Vec<(&str, &str)> = station_choices
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut flag_choices = vec![("", "Qualquer")];
    flag_choices.extend(FlagKind::ALL.iter().map(|k| (k.code(), k.label_pt())));
    let form_html = format!(
        "<form class=\"pesquisa caixa\" method=\"get\" action=\"/portal/pesquisa\">\
         <label>Placa<input name=\"placa\" id=\"placa\" value=\"{}\" maxlength=\"8\"></label>\
         <label>RENAVAM<input name=\"renavam\" id=\"renavam\" value=\"{}\" inputmode=\"numeric\" maxlength=\"11\"></label>\
         <label>Estação<select name=\"estacao\" id=\"estacao\">{}</select></label>\
         <label>De<input type=\"date\" name=\"de\" value=\"{}\"></label>\
         <label>Até<input type=\"date\" name=\"ate\" value=\"{}\"></label>\
         <label>Resultado<select name=\"resultado\">{}</select></label>\
         <label>Sinal<select name=\"sinal\">{}</select></label>\
         <button class=\"principal\" type=\"submit\" id=\"pesquisar\">Pesquisar</button></form>",
        escape(&form.placa),
        escape(&form.renavam),
        options(&form.estacao, &station_refs),
        escape(&form.de),
        escape(&form.ate),
        options(
            &form.resultado,
            &[
                ("", "Qualquer"),
                ("conforming", "Conforme"),
                ("non_conforming", "Não conforme"),
                ("interrupted", "Interrompida"),
            ]
        ),
        options(&form.sinal, &flag_choices),
    );
    let mut body = format!("<h1>Pesquisa de vistorias</h1>{form_html}");
    if let Some(errors) = errors {
        for error in errors {
            body.push_str(&format!(
                "<div class=\"aviso\" role=\"alert\">{}</div>",
                escape(&error)
            ));
        }
    }
    if let Some((rows, next)) = found {
        body.push_str(&results(&form, &rows, next.as_ref()));
    } else {
        body.push_str(
            "<p class=\"nota\">Preencha um ou mais campos e pesquise; sem filtros, use Pesquisar \
             para ver as mais recentes.</p>",
        );
    }
    html(
        StatusCode::OK,
        page("Pesquisa", Some(&viewer), "/portal/pesquisa", &body),
    )
}

fn results(
    form: &Form,
    rows: &[(PackageRecord, Vec<Flag>)],
    next: Option<&SearchPosition>,
) -> String {
    let lines: String = rows
        .iter()
        .map(|(p, flags)| {
            let flags = flags
                .iter()
                .map(|f| f.kind.label_pt())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|l| badge("alerta", l))
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/portal/vistorias/{}/{}\">{}</a></td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
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
                flags
            )
        })
        .collect();
    let base = form.query();
    let sep = if base.is_empty() { "" } else { "&" };
    let next_link = next.map_or_else(String::new, |pos| {
        let position = form_urlencoded::Serializer::new(String::new())
            .append_pair("apos_t", &rfc3339_ms::format(&pos.first_seen_at))
            .append_pair("apos_e", &pos.station)
            .append_pair("apos_id", &pos.inspection_id.to_string())
            .finish();
        format!(
            "<a class=\"botao secundario\" id=\"proxima\" href=\"/portal/pesquisa?{}{sep}{}\">Próxima página</a>",
            escape(&base),
            escape(&position)
        )
    });
    let first_link = if form.after.is_some() {
        format!(
            "<a class=\"botao secundario\" href=\"/portal/pesquisa?{}\">Primeira página</a>",
            escape(&base)
        )
    } else {
        String::new()
    };
    let csv_link = format!(
        "<a class=\"botao secundario\" id=\"csv\" href=\"/portal/pesquisa?{}{sep}formato=csv\">Exportar CSV</a>",
        escape(&base)
    );
    let table = if rows.is_empty() {
        "<p>Nenhuma vistoria encontrada com estes filtros.</p>".to_owned()
    } else {
        format!(
            "<table id=\"resultados\"><thead><tr><th>Recebida em</th><th>Estação</th><th>Placa</th>\
             <th>Laudo</th><th>Resultado</th><th>Sinais</th></tr></thead><tbody>{lines}</tbody></table>"
        )
    };
    format!(
        "<div class=\"caixa\">{table}<div class=\"paginas\">{first_link}{next_link}{csv_link}</div></div>"
    )
}

/// The CSV export: `;`-separated with a UTF-8 BOM, as spreadsheets set to Portuguese open it.
fn csv(rows: &[(PackageRecord, Vec<Flag>)]) -> Response {
    let mut out = String::from(
        "\u{feff}estacao;vistoria;placa;laudo;resultado;concluida_em;recebida_em;atrasada;sinais\r\n",
    );
    for (p, flags) in rows {
        let flags = flags
            .iter()
            .map(|f| f.kind.code())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(",");
        let line = [
            p.station.clone(),
            p.inspection_id.to_string(),
            p.plate.clone(),
            p.receipt
                .as_ref()
                .map(|r| r.laudo_number.clone())
                .unwrap_or_default(),
            outcome_code(&p.manifest.outcome).code().to_owned(),
            rfc3339_ms::format(&p.manifest.concluded_at),
            rfc3339_ms::format(&p.first_seen_at),
            if p.late { "sim" } else { "nao" }.to_owned(),
            flags,
        ]
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(";");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"vistorias.csv\""),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn flag_codes_are_their_serialized_names() {
        for kind in crate::inspection_flags::FlagKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::from(kind.code()))
            );
        }
    }
}
