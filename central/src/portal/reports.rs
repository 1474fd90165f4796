//! `GET /portal/relatorios`: per station and per day or month of reception at the central
//! (Mato Grosso time): inspections by outcome, interruptions by cause, film gaps by cause (§4),
//! late packages (§9) and packages stuck unverified, the OCR read rate against the §5 floor of
//! 75 %, and the same per inspector; `formato=csv` and `formato=pdf` download it.
//!
//! The figures come from the packages themselves (their manifests: outcome, `film_gaps`,
//! `plate_reading`, the signer), read through the store's indexed search a batch at a time, at
//! most [`MAX_PACKAGES`] per report (the page says when it stopped there). Every package is
//! checked against what the person may see: a manager gets their station only, whatever the
//! form or the URL says.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::Value;
use vistoria_core::clock::in_station_zone;
use vistoria_core::domain::Outcome;
use vistoria_core::wire::PackageStatus;

use super::csv::field;
use super::filters::{Fields, local_midnight, query_string, station_scope, typed_day};
use super::web::Viewer;
use super::web::layout::{badge, escape, html, page, when};
use super::{blocking, visible_stations};
use crate::api::AppState;
use crate::storage::PackageRecord;
use crate::storage::directory::{InspectionFilter, OutcomeCode, SearchPosition};

/// The §5 floor: OCR must confirm at least 75 % of the plates read.
pub const OCR_FLOOR_PERCENT: u64 = 75;
/// Packages a report reads at most.
pub const MAX_PACKAGES: usize = 50_000;
/// A package not verified this long after it first arrived is stuck (it should take minutes).
pub const STUCK_AFTER: Duration = Duration::hours(1);
/// Rows read from the store at a time.
const BATCH: usize = 500;

/// Per day or per month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One row per day.
    Day,
    /// One row per month.
    Month,
}

/// The figures of one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Packages received.
    pub inspections: u64,
    /// Concluded conforming.
    pub conforming: u64,
    /// Concluded non-conforming.
    pub non_conforming: u64,
    /// Interrupted (§12).
    pub interrupted: u64,
    /// Interruptions by cause code.
    pub interruptions: BTreeMap<String, u64>,
    /// Film gaps by cause code (§4).
    pub film_gaps: BTreeMap<String, u64>,
    /// Concluded after the 4-hour deadline (§9).
    pub late: u64,
    /// Not verified [`STUCK_AFTER`] after first arriving.
    pub stuck: u64,
    /// Rear photos whose plate OCR read.
    pub ocr_readings: u64,
    /// Of those, read right without a §6 correction.
    pub ocr_matched: u64,
}

impl Figures {
    fn add(&mut self, package: &PackageRecord, now: DateTime<Utc>) {
        self.inspections += 1;
        match crate::api::detran::inspections::outcome_code(&package.manifest.outcome) {
            OutcomeCode::Conforming => self.conforming += 1,
            OutcomeCode::NonConforming => self.non_conforming += 1,
            OutcomeCode::Interrupted => self.interrupted += 1,
        }
        if let Outcome::Interrupted(i) = &package.manifest.outcome {
            let cause = crate::storage::code_of(&i.cause).unwrap_or_else(|_| "?".into());
            *self.interruptions.entry(cause).or_default() += 1;
        }
        if let Some(Value::Array(gaps)) = package.manifest.metadata.get("film_gaps") {
            for gap in gaps {
                let cause = gap
                    .get("cause")
                    .and_then(Value::as_str)
                    .unwrap_or("desconhecida");
                *self.film_gaps.entry(cause.to_owned()).or_default() += 1;
            }
        }
        if package.late {
            self.late += 1;
        }
        if package.status != PackageStatus::Verified && now - package.first_seen_at > STUCK_AFTER {
            self.stuck += 1;
        }
        if let Some(reading) = package.manifest.metadata.get("plate_reading")
            && let Some(result) = reading.get("result").and_then(Value::as_str)
        {
            // A rear photo was read (an `unread` one never reached OCR).
            if result != "unread" {
                self.ocr_readings += 1;
                let corrected = reading.get("correction").is_some_and(|c| !c.is_null());
                if result == "match" && !corrected {
                    self.ocr_matched += 1;
                }
            }
        }
    }

    /// The OCR rate in tenths of a percent, if any plate was read.
    pub fn ocr_permille(&self) -> Option<u64> {
        (self.ocr_readings > 0).then(|| self.ocr_matched * 1000 / self.ocr_readings)
    }

    /// The rate as text (`80,0 %`), or a dash.
    pub fn ocr_text(&self) -> String {
        self.ocr_permille()
            .map_or_else(|| "—".to_owned(), |p| format!("{},{} %", p / 10, p % 10))
    }

    /// Whether the rate is under the §5 floor.
    pub fn below_floor(&self) -> bool {
        self.ocr_permille()
            .is_some_and(|p| p < OCR_FLOOR_PERCENT * 10)
    }
}

/// `cause=count` pairs, comma-separated.
pub fn causes_text(causes: &BTreeMap<String, u64>) -> String {
    causes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `label: count` pairs for people (the page and the PDF), `separator` between them; the CSV
/// keeps the stable codes ([`causes_text`]).
pub fn causes_for_people(
    causes: &BTreeMap<String, u64>,
    label: fn(&str) -> String,
    separator: &str,
) -> String {
    causes
        .iter()
        .map(|(c, n)| format!("{}: {n}", label(c)))
        .collect::<Vec<_>>()
        .join(separator)
}

/// An interruption cause's Portuguese label, from its code.
pub fn interruption_label(code: &str) -> String {
    code.parse::<vistoria_core::domain::InterruptionCause>()
        .map_or_else(|_| code.to_owned(), |c| c.label_pt().to_owned())
}

/// A film gap cause's short Portuguese label, from its code (the film page says it in full:
/// "perda de conexão com a câmera", "câmera sem imagem", "falha do sistema de gravação",
/// "interrupção do quiosque").
pub fn gap_label(code: &str) -> String {
    match code {
        "connection_lost" => "conexão".into(),
        "no_frames" => "sem imagem".into(),
        "system_failure" => "gravação".into(),
        "kiosk_interrupted" => "quiosque".into(),
        other => other.to_owned(),
    }
}

/// One row: a station and a period, or a station and an inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Station code.
    pub station: String,
    /// `aaaa-mm-dd`, `aaaa-mm`, or the inspector.
    pub label: String,
    /// Its figures.
    pub figures: Figures,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// First day (Mato Grosso).
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// Per day or month.
    pub grouping: Grouping,
    /// Station, or all the person may see.
    pub station: Option<String>,
    /// Per station and period, in order.
    pub periods: Vec<Row>,
    /// Per station and inspector, over the whole range.
    pub inspectors: Vec<Row>,
    /// Every row together.
    pub total: Figures,
    /// The report stopped at [`MAX_PACKAGES`].
    pub truncated: bool,
    /// When it was made.
    pub made_at: DateTime<Utc>,
}

/// Who signed or did the inspection, as the package names them.
pub fn inspector_of(package: &PackageRecord) -> String {
    let meta = &package.manifest.metadata;
    if let Some(signer) = meta
        .get("signature")
        .and_then(|s| s.get("signer"))
        .and_then(Value::as_str)
    {
        return signer.to_owned();
    }
    match meta.get("inspector") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => "não informado".to_owned(),
    }
}

/// The report of `packages` (all already limited to what the person may see).
pub fn compute(
    packages: &[PackageRecord],
    (from, to): (NaiveDate, NaiveDate),
    grouping: Grouping,
    station: Option<String>,
    now: DateTime<Utc>,
) -> Report {
    let mut periods: BTreeMap<(String, String), Figures> = BTreeMap::new();
    let mut inspectors: BTreeMap<(String, String), Figures> = BTreeMap::new();
    let mut total = Figures::default();
    for package in packages {
        let local = in_station_zone(package.first_seen_at).date_naive();
        let label = match grouping {
            Grouping::Day => local.format("%Y-%m-%d").to_string(),
            Grouping::Month => format!("{:04}-{:02}", local.year(), local.month()),
        };
        periods
            .entry((package.station.clone(), label))
            .or_default()
            .add(package, now);
        inspectors
            .entry((package.station.clone(), inspector_of(package)))
            .or_default()
            .add(package, now);
        total.add(package, now);
    }
    let rows = |map: BTreeMap<(String, String), Figures>| {
        map.into_iter()
            .map(|((station, label), figures)| Row {
                station,
                label,
                figures,
            })
            .collect()
    };
    Report {
        from,
        to,
        grouping,
        station,
        periods: rows(periods),
        inspectors: rows(inspectors),
        total,
        truncated: false,
        made_at: now,
    }
}

/// The CSV header.
pub const CSV_HEADER: &str = "tipo;estacao;periodo_ou_vistoriador;vistorias;conformes;nao_conformes;\
interrompidas;interrupcoes_por_causa;lacunas_de_filme_por_causa;atrasadas;paradas;leituras_ocr;\
ocr_sem_correcao;taxa_ocr;abaixo_de_75";

/// The report as CSV: `;`-separated with a UTF-8 BOM (spreadsheets set to Portuguese), one
/// line per station and period (`periodo`), then per station and inspector (`vistoriador`).
pub fn csv(report: &Report) -> String {
    let mut out = format!("\u{feff}{CSV_HEADER}\r\n");
    let kinds = [
        ("periodo", &report.periods),
        ("vistoriador", &report.inspectors),
    ];
    for (kind, rows) in kinds {
        for row in rows {
            let f = &row.figures;
            let line = [
                kind.to_owned(),
                row.station.clone(),
                row.label.clone(),
                f.inspections.to_string(),
                f.conforming.to_string(),
                f.non_conforming.to_string(),
                f.interrupted.to_string(),
                causes_text(&f.interruptions),
                causes_text(&f.film_gaps),
                f.late.to_string(),
                f.stuck.to_string(),
                f.ocr_readings.to_string(),
                f.ocr_matched.to_string(),
                f.ocr_text(),
                if f.below_floor() { "sim" } else { "nao" }.to_owned(),
            ]
            .iter()
            .map(|t| field(t))
            .collect::<Vec<_>>()
            .join(";");
            out.push_str(&line);
            out.push_str("\r\n");
        }
    }
    out
}

/// The form as typed, and what it means.
#[derive(Debug, Default, Clone)]
struct Form {
    estacao: String,
    de: String,
    ate: String,
    por: String,
    formato: String,
}

impl Form {
    fn parse(query: Option<&str>) -> Form {
        let mut f = Fields::parse(query);
        Form {
            estacao: f.take("estacao"),
            de: f.take("de"),
            ate: f.take("ate"),
            por: f.take("por"),
            formato: f.take("formato"),
        }
    }

    fn query(&self) -> String {
        query_string(&[
            ("estacao", &self.estacao),
            ("de", &self.de),
            ("ate", &self.ate),
            ("por", &self.por),
        ])
    }
}

/// What the form asks: range, grouping, station; or what to fix.
type Asked = ((NaiveDate, NaiveDate), Grouping, Option<String>);

fn understand(form: &Form, viewer: &Viewer, today: NaiveDate) -> Result<Asked, Vec<String>> {
    let mut errors = Vec::new();
    let first_of_month = today.with_day(1).unwrap_or(today);
    let from = typed_day(&form.de, "Data inicial", &mut errors).unwrap_or(first_of_month);
    let to = typed_day(&form.ate, "Data final", &mut errors).unwrap_or(today);
    if to < from {
        errors.push("A data final vem antes da inicial; troque as datas.".into());
    } else if (to - from).num_days() > 366 {
        errors.push("Escolha um período de até um ano (366 dias).".into());
    }
    let grouping = match form.por.as_str() {
        "" | "dia" => Grouping::Day,
        "mes" => Grouping::Month,
        other => {
            errors.push(format!(
                "Agrupamento «{other}» desconhecido; escolha dia ou mês."
            ));
            Grouping::Day
        }
    };
    // A manager's report is their station's, whatever was typed.
    let (station, _) = station_scope(viewer, &form.estacao);
    if errors.is_empty() {
        Ok(((from, to), grouping, station))
    } else {
        Err(errors)
    }
}

/// Reads the packages of the range the person may see and computes the report.
pub fn load(
    state: &AppState,
    viewer: &Viewer,
    (from, to): (NaiveDate, NaiveDate),
    grouping: Grouping,
    station: Option<String>,
) -> Result<Report, crate::storage::StorageError> {
    let mut filter = InspectionFilter {
        station: station.clone(),
        from: Some(local_midnight(from)),
        to: Some(local_midnight(to + Duration::days(1))),
        limit: BATCH,
        ..InspectionFilter::default()
    };
    let mut packages = Vec::new();
    let mut truncated = false;
    loop {
        let batch = state.meta.search_packages(&filter)?;
        let done = batch.len() < BATCH;
        filter.after = batch.last().map(SearchPosition::of);
        packages.extend(
            batch
                .into_iter()
                .filter(|p| viewer.account.role.may_see(&p.station)),
        );
        if packages.len() >= MAX_PACKAGES {
            packages.truncate(MAX_PACKAGES);
            truncated = !done;
            break;
        }
        if done {
            break;
        }
    }
    let mut report = compute(&packages, (from, to), grouping, station, Utc::now());
    report.truncated = truncated;
    Ok(report)
}

fn download(body: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The report's file name, without extension.
pub fn file_stem(report: &Report) -> String {
    let who = report.station.as_deref().unwrap_or("todas");
    let safe: String = who
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("relatorio-{safe}-{}-{}", report.from, report.to)
}

fn table(rows: &[Row], first: &str, id: &str) -> String {
    let lines: String = rows
        .iter()
        .map(|r| {
            let f = &r.figures;
            let ocr = if f.below_floor() {
                badge("erro", &f.ocr_text())
            } else if f.ocr_permille().is_some() {
                badge("ok", &f.ocr_text())
            } else {
                "—".to_owned()
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{} {ocr}</td></tr>",
                escape(&r.station),
                escape(&r.label),
                f.inspections,
                f.conforming,
                f.non_conforming,
                f.interrupted,
                causes_for_people(&f.interruptions, interruption_label, "\n")
                    .split('\n')
                    .map(escape)
                    .collect::<Vec<_>>()
                    .join("<br>"),
                causes_for_people(&f.film_gaps, gap_label, "\n")
                    .split('\n')
                    .map(escape)
                    .collect::<Vec<_>>()
                    .join("<br>"),
                f.late,
                f.stuck,
                f.ocr_matched,
                f.ocr_readings,
            )
        })
        .collect();
    let body = if lines.is_empty() {
        "<tr><td colspan=\"11\">Nenhuma vistoria recebida neste período.</td></tr>".to_owned()
    } else {
        lines
    };
    format!(
        "<table id=\"{id}\"><thead><tr><th>Estação</th><th>{first}</th><th>Vistorias</th>\
         <th>Conf.</th><th>Não conf.</th><th>Interr.</th><th>Interrupções por causa</th>\
         <th>Lacunas de filme (§4)</th><th>Atras. (§9)</th><th>Paradas</th>\
         <th>OCR sem correção (§5)</th></tr></thead><tbody>{body}</tbody></table>"
    )
}

fn options(selected: &str, choices: &[(String, String)]) -> String {
    choices
        .iter()
        .map(|(value, label)| {
            let mark = if value == selected { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{mark}>{}</option>",
                escape(value),
                escape(label)
            )
        })
        .collect()
}

/// `GET /portal/relatorios`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.as_deref());
    let today = in_station_zone(Utc::now()).date_naive();
    let asked = understand(&form, &viewer, today);
    let worker = Arc::clone(&state);
    let who = viewer.clone();
    let wanted = asked.clone();
    let result = blocking(move || {
        let stations = visible_stations(&worker, &who)?;
        let report = match wanted {
            Ok((range, grouping, station)) => Some(load(&worker, &who, range, grouping, station)?),
            Err(_) => None,
        };
        Ok((stations, report))
    })
    .await;
    let (stations, report) = match result {
        Ok(r) => r,
        Err(page) => return page,
    };
    if let Some(report) = &report {
        match form.formato.as_str() {
            "csv" => {
                return download(
                    csv(report).into_bytes(),
                    "text/csv; charset=utf-8",
                    &format!("{}.csv", file_stem(report)),
                );
            }
            "pdf" => {
                return match crate::report_pdf::render(report) {
                    Ok(bytes) => download(
                        bytes,
                        "application/pdf",
                        &format!("{}.pdf", file_stem(report)),
                    ),
                    Err(e) => super::web::internal(&e),
                };
            }
            _ => {}
        }
    }
    let mut station_choices: Vec<(String, String)> = Vec::new();
    if viewer.account.role.station().is_none() {
        station_choices.push((String::new(), "Todas".to_owned()));
    }
    station_choices.extend(stations.iter().map(|s| (s.code.clone(), s.code.clone())));
    let por = if form.por.is_empty() {
        "dia"
    } else {
        form.por.as_str()
    };
    let shown = |text: &str, default: String| {
        if text.is_empty() {
            default
        } else {
            text.to_owned()
        }
    };
    let (default_from, default_to) = report.as_ref().map_or_else(
        || (String::new(), String::new()),
        |r| (r.from.to_string(), r.to.to_string()),
    );
    let form_html = format!(
        "<form class=\"pesquisa caixa\" method=\"get\" action=\"/portal/relatorios\">\
         <label>Estação<select name=\"estacao\" id=\"estacao\">{}</select></label>\
         <label>De<input type=\"date\" name=\"de\" id=\"de\" value=\"{}\"></label>\
         <label>Até<input type=\"date\" name=\"ate\" id=\"ate\" value=\"{}\"></label>\
         <label>Agrupar por<select name=\"por\" id=\"por\">{}</select></label>\
         <button class=\"principal\" type=\"submit\" id=\"gerar\">Gerar relatório</button></form>",
        options(&form.estacao, &station_choices),
        escape(&shown(&form.de, default_from)),
        escape(&shown(&form.ate, default_to)),
        options(
            por,
            &[("dia".into(), "Dia".into()), ("mes".into(), "Mês".into())]
        ),
    );
    let mut body = format!("<h1>Relatórios</h1>{form_html}");
    if let Err(errors) = &asked {
        for error in errors {
            body.push_str(&format!(
                "<div class=\"aviso\" role=\"alert\">{}</div>",
                escape(error)
            ));
        }
    }
    if let Some(report) = &report {
        let base = Form {
            de: report.from.to_string(),
            ate: report.to.to_string(),
            ..form.clone()
        }
        .query();
        let t = &report.total;
        let truncated = if report.truncated {
            format!(
                "<div class=\"aviso\" role=\"alert\">O relatório parou nas {MAX_PACKAGES} vistorias \
                 mais recentes do período; escolha um período menor ou uma estação.</div>"
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "{truncated}<div class=\"cartoes\">\
             <div class=\"cartao\"><div class=\"numero\" id=\"total-vistorias\">{}</div>vistorias</div>\
             <div class=\"cartao\"><div class=\"numero\">{}</div>conformes</div>\
             <div class=\"cartao\"><div class=\"numero\">{}</div>não conformes</div>\
             <div class=\"cartao\"><div class=\"numero\">{}</div>interrompidas</div>\
             <div class=\"cartao\"><div class=\"numero\">{}</div>atrasadas (§9)</div>\
             <div class=\"cartao\"><div class=\"numero\">{}</div>paradas sem verificação</div>\
             <div class=\"cartao\"><div class=\"numero\" id=\"taxa-ocr\">{}</div>OCR sem correção (mín. 75 %, §5)</div>\
             </div>\
             <h2>Por estação e {}</h2><div class=\"caixa\">{}</div>\
             <h2>Por vistoriador</h2><div class=\"caixa\">{}</div>\
             <div class=\"paginas\"><a class=\"botao secundario\" id=\"baixar-csv\" href=\"/portal/relatorios?{}&amp;formato=csv\">Baixar CSV</a>\
             <a class=\"botao secundario\" id=\"baixar-pdf\" href=\"/portal/relatorios?{}&amp;formato=pdf\">Baixar PDF</a></div>\
             <p class=\"nota\">Períodos pelo dia de recebimento na central (horário de Mato Grosso), \
             de {} a {}. Paradas: pacotes não verificados {} h depois de chegar. OCR: leituras da \
             foto traseira que conferiram com a placa sem correção manual (§6), sobre as leituras feitas. \
             Gerado em {}.</p>",
            t.inspections,
            t.conforming,
            t.non_conforming,
            t.interrupted,
            t.late,
            t.stuck,
            escape(&t.ocr_text()),
            if report.grouping == Grouping::Day { "dia" } else { "mês" },
            table(
                &report.periods,
                if report.grouping == Grouping::Day { "Dia" } else { "Mês" },
                "por-periodo"
            ),
            table(&report.inspectors, "Vistoriador", "por-vistoriador"),
            escape(&base),
            escape(&base),
            report.from.format("%d/%m/%Y"),
            report.to.format("%d/%m/%Y"),
            STUCK_AFTER.num_hours(),
            escape(&when(report.made_at)),
        ));
    }
    html(
        StatusCode::OK,
        page("Relatórios", Some(&viewer), "/portal/relatorios", &body),
    )
}
