//! `GET /portal/chamados/relatorio`: the service's stages in figures (seed 004), per station
//! and per technician: tickets, still open, mean time to the first answer and to the solution,
//! reopenings, ratings.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vistoria_helpdesk::report::ReportRow;

use super::look::respond;
use super::{call, helpdesk, refused};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::layout::escape;

/// Minutes as people read them: "42 min", "3 h 05 min", "2 d 4 h".
fn duration(minutes: Option<f64>) -> String {
    let Some(minutes) = minutes else {
        return "—".to_owned();
    };
    let total = minutes.max(0.0).round() as u64;
    match total {
        0..60 => format!("{total} min"),
        60..1440 => format!("{} h {:02} min", total / 60, total % 60),
        _ => format!("{} d {} h", total / 1440, (total % 1440) / 60),
    }
}

fn table(id: &str, first: &str, rows: &[ReportRow]) -> String {
    if rows.is_empty() {
        return format!(
            "<div class=\"caixa\" id=\"{id}\"><p class=\"nota\">Sem chamados.</p></div>"
        );
    }
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                escape(&r.key),
                r.tickets,
                r.open,
                duration(r.first_answer_minutes),
                duration(r.resolution_minutes),
                r.reopened,
                r.ratings,
                r.rating_mean
                    .map_or_else(|| "—".to_owned(), |m| format!("{m:.1}").replace('.', ","))
            )
        })
        .collect();
    format!(
        "<div class=\"caixa\"><table id=\"{id}\"><thead><tr><th>{first}</th><th>Chamados</th>\
         <th>Abertos</th><th>1ª resposta (média)</th><th>Solução (média)</th><th>Reaberturas</th>\
         <th>Avaliações</th><th>Nota média</th></tr></thead><tbody>{body}</tbody></table></div>"
    )
}

/// `GET /portal/chamados/relatorio`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let helpdesk = match helpdesk(&state, &viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let report = match call(&helpdesk, |h| h.report()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return refused(&viewer, &e),
        Err(page) => return page,
    };
    let body = format!(
        "<h1>Relatório de atendimento</h1><p class=\"nota\">Tempos contados da abertura do \
         chamado (número dado) até a primeira resposta da equipe e até a solução; médias de \
         todos os chamados.</p><h2>Por estação</h2>{}<h2>Por técnico</h2>{}",
        table("por-estacao", "Estação", &report.by_station),
        table("por-tecnico", "Técnico", &report.by_technician),
    );
    respond(
        StatusCode::OK,
        "Relatório de atendimento",
        &viewer,
        "/portal/chamados/relatorio",
        &body,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(42.4)), "42 min");
        assert_eq!(duration(Some(185.0)), "3 h 05 min");
        assert_eq!(duration(Some(3120.0)), "2 d 4 h");
    }
}
