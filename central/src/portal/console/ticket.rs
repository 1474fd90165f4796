//! `GET /portal/chamados/{id}`: a ticket with its conversation (text, and photos, video, audio
//! and documents shown or playable inline), its stages, its GLPI state (work still queued and
//! the last error while GLPI is down), and the actions the person may take: take it, take it
//! over or give it to someone (administrators), reply with files, solve, close.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use vistoria_helpdesk::model::{Attachment, MessageKind, Side, Status, TicketId};
use vistoria_helpdesk::service::TicketView;

use super::look::{alert, respond, status_badge};
use super::{call, helpdesk, no_such_ticket, refused, ticket_id};
use crate::api::AppState;
use crate::portal::web::Viewer;
use crate::portal::web::layout::{badge, csrf_input, escape, when};
use crate::storage::portal::PortalRole;

/// What the person had typed when an action was refused: shown again, nothing lost.
#[derive(Debug, Default, Clone)]
pub struct Drafts {
    /// The reply's text.
    pub reply: String,
    /// Files that were chosen with the reply (they must be chosen again: a browser never
    /// lets a page fill a file field).
    pub files: Vec<String>,
    /// The solution's text.
    pub solution: String,
}

/// `GET /portal/chamados/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = ticket_id(&id) else {
        return no_such_ticket(&viewer);
    };
    render(
        &state,
        &viewer,
        id,
        StatusCode::OK,
        None,
        &Drafts::default(),
    )
    .await
}

/// The ticket page, with `error` (a refused action) on top and the drafts in their fields.
pub async fn render(
    state: &Arc<AppState>,
    viewer: &Viewer,
    id: TicketId,
    status: StatusCode,
    error: Option<&str>,
    drafts: &Drafts,
) -> Response {
    let helpdesk = match helpdesk(state, viewer) {
        Ok(h) => h,
        Err(page) => return *page,
    };
    let view = match call(&helpdesk, move |h| h.ticket_view(id)).await {
        Ok(Ok(view)) => view,
        Ok(Err(vistoria_helpdesk::service::ServiceError::NotFound(_))) => {
            return no_such_ticket(viewer);
        }
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    // Who the ticket can be given to: the support team's accounts in force.
    let team = if viewer.account.role == PortalRole::Admin {
        let meta = Arc::clone(&state.meta);
        match super::super::blocking(move || meta.portal_accounts()).await {
            Ok(accounts) => accounts
                .into_iter()
                .filter(|a| a.disabled_at.is_none() && a.role.in_helpdesk())
                .map(|a| a.name)
                .collect(),
            Err(page) => return page,
        }
    } else {
        Vec::new()
    };
    let t = &view.ticket;
    // A type removed from the menu keeps its tickets readable: its key is shown.
    let key = t.category.clone();
    let category = match call(&helpdesk, move |h| h.category(&key)).await {
        Ok(Ok(c)) => c.map_or_else(|| t.category.clone(), |c| c.title),
        Ok(Err(e)) => return refused(viewer, &e),
        Err(page) => return page,
    };
    let title = format!("{} · {}", t.id.reference(), t.title);
    let body = format!(
        "<h1 id=\"titulo\">{}</h1>{}<div class=\"colunas\"><section>\
         <div class=\"caixa conversa\" id=\"conversa\" data-atualiza>{}</div>{}</section>\
         <aside><div id=\"estado\" data-atualiza>{}</div>{}</aside></div>",
        escape(&title),
        alert(error),
        conversation(&view),
        reply_forms(viewer, &view, drafts),
        facts(&view, &category),
        side_actions(viewer, &view, &team),
    );
    respond(status, &title, viewer, "", &body, true)
}

fn attachment_html(ticket: TicketId, a: &Attachment) -> String {
    let url = format!("/portal/chamados/{}/anexos/{}", ticket.0, a.id.0);
    let name = escape(&a.filename);
    if a.size.is_none() {
        return format!(
            "<div class=\"anexo nota\">{name}: aguardando o arquivo chegar do WhatsApp…</div>"
        );
    }
    let shown = if a.mime.starts_with("image/") {
        format!("<img src=\"{url}\" alt=\"{name}\" loading=\"lazy\">")
    } else if a.mime.starts_with("video/") {
        format!("<video src=\"{url}\" controls preload=\"metadata\"></video>")
    } else if a.mime.starts_with("audio/") {
        format!("<audio src=\"{url}\" controls preload=\"metadata\"></audio>")
    } else {
        String::new()
    };
    let size = a
        .size
        .map(|s| format!(" · {} KiB", s.div_ceil(1024)))
        .unwrap_or_default();
    format!(
        "<div class=\"anexo\" data-anexo=\"{}\" data-tipo=\"{}\">{shown}<a href=\"{url}\" \
         download=\"{name}\">{name}</a><span class=\"nota\">{size}</span></div>",
        a.id.0,
        escape(&a.mime)
    )
}

fn conversation(view: &TicketView) -> String {
    let t = &view.ticket;
    let mut out = format!(
        "<div class=\"msg\" data-lado=\"solicitante\"><div class=\"quem\">{} · {} · abertura</div>\
         <div class=\"texto\">{}</div></div>",
        escape(&view.contact.name),
        escape(&when(t.created_at)),
        escape(&t.description)
    );
    for m in &view.messages {
        let (side_class, side) = match m.side {
            Side::Team => (" equipe", "equipe"),
            Side::Requester => ("", "solicitante"),
        };
        let (kind_class, kind) = match m.kind {
            MessageKind::Followup => ("", ""),
            MessageKind::Solution => (" solucao", " · solução"),
            MessageKind::Refusal => (" recusa", " · solução recusada"),
        };
        let files: String = view
            .attachments
            .iter()
            .filter(|a| a.message_id == Some(m.id))
            .map(|a| attachment_html(t.id, a))
            .collect();
        let text = if m.text.is_empty() {
            String::new()
        } else {
            format!("<div class=\"texto\">{}</div>", escape(&m.text))
        };
        out.push_str(&format!(
            "<div class=\"msg{side_class}{kind_class}\" data-lado=\"{side}\" data-mensagem=\"{}\">\
             <div class=\"quem\">{} · {}{kind}</div>{text}{files}</div>",
            m.id.0,
            escape(&m.author),
            escape(&when(m.created_at)),
        ));
    }
    // Files with no message (none today; kept visible should a channel add them).
    for a in view.attachments.iter().filter(|a| a.message_id.is_none()) {
        out.push_str(&attachment_html(t.id, a));
    }
    let failed: String = view
        .outbound
        .iter()
        .filter_map(|o| o.failed.as_ref().map(|why| (o, why)))
        .map(|(o, why)| {
            format!(
                "<li>{}: «{}» — {}</li>",
                escape(&when(o.created_at)),
                escape(o.body.display_text()),
                escape(why)
            )
        })
        .collect();
    if !failed.is_empty() {
        out.push_str(&format!(
            "<div class=\"aviso\" id=\"nao-entregues\">Mensagens que não chegaram ao \
             solicitante pelo {}:<ul>{failed}</ul>Fale com ele por outro meio ou peça que \
             escreva de novo (no WhatsApp, a janela de 24 horas reabre quando ele escreve).</div>",
            escape(t.channel.label_pt())
        ));
    }
    out
}

fn facts(view: &TicketView, category: &str) -> String {
    let t = &view.ticket;
    let stamp = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(|| "—".to_owned(), |at| escape(&when(at)))
    };
    let glpi = match (t.glpi_id, view.glpi_pending, &view.glpi_error) {
        (_, pending, Some(error)) if pending > 0 => format!(
            "{} <div class=\"nota\" id=\"glpi-erro\">{pending} envio(s) aguardando; último erro: \
             {}. O chamado segue aqui normalmente e vai ao GLPI quando ele voltar.</div>",
            badge("erro", "GLPI indisponível"),
            escape(error)
        ),
        (id, pending, _) if pending > 0 => format!(
            "{} <span class=\"nota\">{pending} envio(s) na fila{}</span>",
            badge("alerta", "sincronizando"),
            id.map(|id| format!(", GLPI nº {id}")).unwrap_or_default()
        ),
        (Some(id), _, _) => badge("ok", &format!("no GLPI: nº {id}")),
        (None, _, _) => badge("neutro", "sem GLPI configurado ou ainda não enviado"),
    };
    let rating = t
        .rating
        .map(|r| {
            format!(
                "{r} de 5{}",
                t.rating_comment
                    .as_deref()
                    .map(|c| format!(" — «{c}»"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "—".to_owned());
    format!(
        "<div class=\"caixa\"><dl class=\"dados\">\
         <dt>Estado</dt><dd id=\"situacao\" data-estado=\"{}\">{}</dd>\
         <dt>Técnico</dt><dd id=\"tecnico-atual\">{}</dd>\
         <dt>Solicitante</dt><dd>{}</dd><dt>Contato</dt><dd>{}</dd>\
         <dt>Canal</dt><dd>{}</dd><dt>Estação</dt><dd>{}</dd>\
         <dt>Categoria</dt><dd>{}</dd><dt>GLPI</dt><dd id=\"glpi\">{glpi}</dd></dl></div>\
         <div class=\"caixa\"><dl class=\"dados\">\
         <dt>Aberto</dt><dd>{}</dd><dt>Confirmado</dt><dd>{}</dd>\
         <dt>Atribuído</dt><dd>{}</dd><dt>1ª resposta</dt><dd>{}</dd>\
         <dt>Solucionado</dt><dd>{}</dd><dt>Fechado</dt><dd>{}</dd>\
         <dt>Reaberturas</dt><dd>{}</dd><dt>Avaliação</dt><dd>{}</dd></dl></div>",
        t.status.code(),
        status_badge(t),
        escape(t.technician.as_deref().unwrap_or("ninguém ainda")),
        escape(&view.contact.name),
        escape(
            &[view.contact.email.as_deref(), view.contact.phone.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
        ),
        escape(t.channel.label_pt()),
        escape(t.station.as_deref().unwrap_or("—")),
        escape(category),
        stamp(Some(t.created_at)),
        stamp(t.confirmed_at),
        stamp(t.assigned_at),
        stamp(t.first_answer_at),
        stamp(t.solved_at),
        stamp(t.closed_at),
        t.reopened,
        escape(&rating),
    )
}

fn reply_forms(viewer: &Viewer, view: &TicketView, drafts: &Drafts) -> String {
    let t = &view.ticket;
    if t.status == Status::Closed {
        return "<div class=\"caixa nota\" id=\"arquivado\">Chamado fechado: a conversa fica \
                arquivada. Para um problema novo, abra outro chamado.</div>"
            .to_owned();
    }
    let n = t.id.0;
    let lost_files = if drafts.files.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"nota\">Escolha de novo os arquivos: {}.</p>",
            escape(&drafts.files.join(", "))
        )
    };
    let solve = if t.status == Status::Solved {
        "<p class=\"nota\">Solução enviada; aguardando a avaliação do solicitante.</p>".to_owned()
    } else {
        format!(
            "<form class=\"acao caixa\" method=\"post\" action=\"/portal/chamados/{n}/solucionar\" \
             id=\"form-solucao\">{}<label>Solução<textarea name=\"solucao\" id=\"solucao\" \
             required>{}</textarea></label><div><button class=\"secundario\" type=\"submit\" \
             id=\"solucionar\">Solucionar e pedir avaliação</button></div></form>",
            csrf_input(viewer),
            escape(&drafts.solution)
        )
    };
    // The CSRF field first: the multipart reply is checked before any file is read.
    format!(
        "<form class=\"acao caixa\" method=\"post\" enctype=\"multipart/form-data\" \
         action=\"/portal/chamados/{n}/responder\" id=\"form-resposta\">{}\
         <label>Resposta ao solicitante (canal: {})<textarea name=\"texto\" id=\"texto\">{}</textarea>\
         </label><label>Arquivos (fotos, vídeo, áudio, documentos; até {} MiB no total)\
         <input type=\"file\" name=\"arquivo\" id=\"arquivo\" multiple></label>{lost_files}\
         <div><button class=\"principal\" type=\"submit\" id=\"responder\">Enviar resposta</button>\
         </div></form>{solve}",
        csrf_input(viewer),
        escape(t.channel.label_pt()),
        escape(&drafts.reply),
        super::reply::MAX_BYTES / (1024 * 1024),
    )
}

fn side_actions(viewer: &Viewer, view: &TicketView, team: &[String]) -> String {
    let t = &view.ticket;
    if t.status == Status::Closed {
        return String::new();
    }
    let n = t.id.0;
    let me = viewer.account.name.as_str();
    let admin = viewer.account.role == PortalRole::Admin;
    let mut out = String::from("<div class=\"caixa\"><h2>Atendimento</h2>");
    let owner = t.technician.as_deref();
    if owner != Some(me) && t.status != Status::Solved {
        let label = match owner {
            None => "Assumir o chamado".to_owned(),
            Some(other) if admin => format!("Assumir (tirar de {other})"),
            Some(other) => format!("Com {other}"),
        };
        let disabled = if owner.is_some() && !admin {
            " disabled title=\"Só um administrador assume chamado de outro técnico\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<form method=\"post\" action=\"/portal/chamados/{n}/assumir\" class=\"acao\">{}\
             <button class=\"principal\" type=\"submit\" id=\"assumir\"{disabled}>{}</button></form>",
            csrf_input(viewer),
            escape(&label)
        ));
    }
    if admin {
        let options: String = team
            .iter()
            .map(|name| {
                let selected = if Some(name.as_str()) == owner {
                    " selected"
                } else {
                    ""
                };
                format!("<option value=\"{0}\"{selected}>{0}</option>", escape(name))
            })
            .collect();
        out.push_str(&format!(
            "<form method=\"post\" action=\"/portal/chamados/{n}/atribuir\" class=\"acao\">{}\
             <label>Passar para<select name=\"para\" id=\"para\">{options}</select></label>\
             <button class=\"secundario\" type=\"submit\" id=\"atribuir\">Atribuir</button></form>",
            csrf_input(viewer)
        ));
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"/portal/chamados/{n}/fechar\" class=\"acao\">{}\
         <button class=\"perigo\" type=\"submit\" id=\"fechar\">Fechar sem avaliação</button>\
         </form></div>",
        csrf_input(viewer)
    ));
    out
}
