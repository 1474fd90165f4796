//! Keeping GLPI in step with our store, never losing and never duplicating: tickets are created
//! there by the durable queue when GLPI is reachable, with GLPI's id kept; followups, solutions,
//! documents, status and the requester's rating follow; changes made in GLPI are polled and
//! reflected to the requester.
//!
//! Never twice: every ticket's title starts with our reference (`[VST-000042] …`), every
//! followup and solution ends with a marker (`ref. VST-000042/m17`), every document's name
//! starts with one (`VST-000042/a5 …`). A job whose earlier attempt may have reached GLPI (it
//! timed out, or the process died between GLPI's answer and our write) first searches GLPI for
//! its marker and adopts what it finds instead of sending again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::{GlpiSettings, SyncSettings};
use crate::glpi::GlpiClient;
use crate::glpi::protocol::{GlpiError, decode_sanitized, html_to_text, id_of, text_to_html};
use crate::http::ReqwestTransport;
use crate::jobs::{Attempt, Order, RunReport, blocking, run_due};
use crate::model::{
    AttachmentId, Contact, Job, JobKind, MessageId, MessageKind, Side, Status, Ticket, TicketId,
};
use crate::service::{GlpiNote, GlpiObservation, Helpdesk, ServiceError};
use crate::store::TicketFilter;

/// Why a sync step failed.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Glpi(#[from] GlpiError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The marker of one of our messages in GLPI.
pub fn message_marker(ticket: TicketId, message: MessageId) -> String {
    format!("{}/m{}", ticket.reference(), message.0)
}

/// The marker of one of our attachments in GLPI (its document's name starts with it).
pub fn attachment_marker(ticket: TicketId, attachment: AttachmentId) -> String {
    format!("{}/a{}", ticket.reference(), attachment.0)
}

/// Our message id in a GLPI text carrying `ticket`'s marker.
fn our_message(text: &str, ticket: TicketId) -> Option<MessageId> {
    let prefix = format!("{}/m", ticket.reference());
    let start = text.find(&prefix)? + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().map(MessageId)
}

/// The GLPI side of the help desk.
pub struct GlpiSync {
    helpdesk: Arc<Helpdesk>,
    client: GlpiClient,
    settings: GlpiSettings,
    pace: SyncSettings,
    names: Mutex<HashMap<i64, String>>,
}

fn channel_label(t: &Ticket) -> &'static str {
    t.channel.label_pt()
}

fn footer(parts: &[String]) -> String {
    format!(
        "<p><em>{}</em></p>",
        html_escape::encode_text(&parts.join(" · "))
    )
}

impl GlpiSync {
    /// A sync with its own client.
    pub fn new(helpdesk: Arc<Helpdesk>, client: GlpiClient, settings: GlpiSettings) -> GlpiSync {
        let pace = helpdesk.config().sync.clone();
        GlpiSync {
            helpdesk,
            client,
            settings,
            pace,
            names: Mutex::new(HashMap::new()),
        }
    }

    /// A sync reaching GLPI as `settings` says, over HTTPS.
    pub fn connect(
        helpdesk: Arc<Helpdesk>,
        settings: GlpiSettings,
    ) -> Result<GlpiSync, crate::http::TransportError> {
        let transport = ReqwestTransport::new(Duration::from_secs(settings.timeout_seconds))?;
        let client = GlpiClient::new(
            crate::glpi::protocol::Endpoint {
                base: settings.url.clone(),
                app_token: settings.app_token.clone(),
            },
            settings.user_token.clone(),
            Arc::new(transport),
        );
        Ok(GlpiSync::new(helpdesk, client, settings))
    }

    /// The client (to end its session).
    pub fn client(&self) -> &GlpiClient {
        &self.client
    }

    /// Runs the due GLPI jobs once.
    pub async fn run_jobs(&self) -> Result<RunReport, ServiceError> {
        run_due(
            &self.helpdesk,
            &JobKind::GLPI,
            &self.pace,
            Order::PerTicket,
            |job| async move {
                match self.attempt(&job).await {
                    Ok(()) => Attempt::Done,
                    Err(e) => Attempt::Retry(e.to_string()),
                }
            },
        )
        .await
    }

    async fn attempt(&self, job: &Job) -> Result<(), SyncError> {
        match job.kind {
            JobKind::GlpiCreateTicket => self.create_ticket(job).await,
            JobKind::GlpiFollowup | JobKind::GlpiSolution => self.push_message(job).await,
            JobKind::GlpiDocument => self.push_document(job).await,
            JobKind::GlpiStatus => self.push_status(job).await,
            JobKind::GlpiSatisfaction => self.push_satisfaction(job).await,
            JobKind::FetchMedia | JobKind::Deliver => Ok(()),
        }
    }

    async fn ticket(&self, id: Option<TicketId>) -> Result<Ticket, SyncError> {
        let id = id.ok_or_else(|| ServiceError::NotFound("chamado da tarefa".into()))?;
        Ok(blocking(&self.helpdesk, move |h| {
            h.store()
                .ticket(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("chamado {id}")))
        })
        .await?)
    }

    fn glpi_id(t: &Ticket) -> Result<i64, SyncError> {
        t.glpi_id
            .ok_or_else(|| ServiceError::NotFound(format!("chamado {} no GLPI", t.id)).into())
    }

    /// Whether an earlier attempt may have reached GLPI.
    fn maybe_done_before(job: &Job) -> bool {
        job.attempts > 0 || job.in_flight_since.is_some()
    }

    async fn create_ticket(&self, job: &Job) -> Result<(), SyncError> {
        let t = self.ticket(job.ticket_id).await?;
        if t.glpi_id.is_some() {
            return Ok(());
        }
        let tag = format!("[{}]", t.id.reference());
        if Self::maybe_done_before(job) {
            let found = self.client.search("Ticket", "name", &tag).await?;
            let existing = found
                .iter()
                .filter(|v| decode_sanitized(v["name"].as_str().unwrap_or("")).starts_with(&tag))
                .filter_map(|v| id_of(&v["id"]))
                .min();
            if let Some(glpi_id) = existing {
                tracing::info!(ticket = %t.id, glpi_id, "chamado já estava no GLPI; id adotado");
                let id = t.id;
                blocking(&self.helpdesk, move |h| h.glpi_linked(id, glpi_id)).await?;
                return Ok(());
            }
        }
        let contact_id = t.contact_id;
        let category = t.category.clone();
        let (contact, glpi_category) = blocking(&self.helpdesk, move |h| {
            let contact = h
                .store()
                .contact(contact_id)?
                .ok_or_else(|| ServiceError::NotFound(format!("contato {}", contact_id.0)))?;
            // The menu in force: a type removed from it sends no GLPI category.
            let glpi_category = h.category(&category)?.and_then(|c| c.glpi_category_id);
            Ok((contact, glpi_category))
        })
        .await?;
        let input = self.ticket_input(&t, &contact, &tag, glpi_category);
        let glpi_id = self.client.add("Ticket", &input).await?;
        let id = t.id;
        blocking(&self.helpdesk, move |h| h.glpi_linked(id, glpi_id)).await?;
        tracing::info!(ticket = %t.id, glpi_id, "chamado criado no GLPI");
        Ok(())
    }

    /// `POST Ticket` input: status 1 ("Novo"), title with our reference, description with who
    /// asked and from where (seed 003: "título, descrição, local do chamado ou usuário
    /// requerente").
    fn ticket_input(
        &self,
        t: &Ticket,
        contact: &Contact,
        tag: &str,
        glpi_category: Option<i64>,
    ) -> Value {
        let mut who = vec![
            format!("Solicitante: {}", contact.name),
            format!("Canal: {}", channel_label(t)),
        ];
        if let Some(s) = &t.station {
            who.push(format!("Estação: {s}"));
        }
        if let Some(e) = &contact.email {
            who.push(format!("E-mail: {e}"));
        }
        if let Some(p) = &contact.phone {
            who.push(format!("WhatsApp: +{p}"));
        }
        let content = format!("{}{}", text_to_html(&t.description), footer(&who));
        let mut input = json!({
            "name": format!("{tag} {}", t.title),
            "content": content,
            "status": 1,
            "urgency": t.urgency,
            "type": t.kind.glpi_type(),
        });
        if let Some(c) = glpi_category {
            input["itilcategories_id"] = json!(c);
        }
        if let Some(l) = t
            .station
            .as_ref()
            .and_then(|s| self.settings.locations.get(s))
        {
            input["locations_id"] = json!(l);
        }
        if let Some(u) = contact.glpi_user_id.or(self.settings.default_requester_id) {
            input["_users_id_requester"] = json!(u);
        }
        input
    }

    async fn push_message(&self, job: &Job) -> Result<(), SyncError> {
        let mid = MessageId(job.target);
        let message = blocking(&self.helpdesk, move |h| {
            h.store()
                .message(mid)?
                .ok_or_else(|| ServiceError::NotFound(format!("mensagem {}", mid.0)))
        })
        .await?;
        if message.glpi_id.is_some() || message.text.trim().is_empty() {
            return Ok(());
        }
        let t = self.ticket(job.ticket_id).await?;
        let glpi = Self::glpi_id(&t)?;
        let itemtype = if message.kind == MessageKind::Solution {
            "ITILSolution"
        } else {
            "ITILFollowup"
        };
        let marker = message_marker(t.id, message.id);
        if Self::maybe_done_before(job) {
            let existing = self.client.sub_items("Ticket", glpi, itemtype).await?;
            let found = existing
                .iter()
                .find(|v| html_to_text(v["content"].as_str().unwrap_or("")).contains(&marker))
                .and_then(|v| id_of(&v["id"]));
            if let Some(found) = found {
                blocking(&self.helpdesk, move |h| h.message_in_glpi(mid, found)).await?;
                return Ok(());
            }
        }
        let text = match message.kind {
            MessageKind::Refusal => format!("Solução recusada pelo solicitante:\n{}", message.text),
            _ => message.text.clone(),
        };
        let side = match message.side {
            Side::Requester => format!("{} ({})", message.author, channel_label(&t)),
            Side::Team => format!("{} (console do suporte)", message.author),
        };
        let content = format!(
            "{}{}",
            text_to_html(&text),
            footer(&[side, format!("ref. {marker}")])
        );
        let mut input = json!({"itemtype": "Ticket", "items_id": glpi, "content": content});
        if itemtype == "ITILFollowup" {
            input["is_private"] = json!(0);
        }
        let glpi_id = self.client.add(itemtype, &input).await?;
        blocking(&self.helpdesk, move |h| h.message_in_glpi(mid, glpi_id)).await?;
        Ok(())
    }

    async fn push_document(&self, job: &Job) -> Result<(), SyncError> {
        let aid = AttachmentId(job.target);
        let (attachment, bytes) = blocking(&self.helpdesk, move |h| {
            let a = h
                .store()
                .attachment(aid)?
                .ok_or_else(|| ServiceError::NotFound(format!("anexo {}", aid.0)))?;
            let b = h
                .store()
                .attachment_bytes(aid)?
                .ok_or_else(|| ServiceError::NotFound(format!("bytes do anexo {}", aid.0)))?;
            Ok((a, b))
        })
        .await?;
        let t = self.ticket(job.ticket_id).await?;
        let glpi = Self::glpi_id(&t)?;
        let marker = attachment_marker(t.id, aid);
        let had_document = attachment.glpi_document_id.is_some();
        let document = match attachment.glpi_document_id {
            Some(d) => d,
            None => {
                let mut found = None;
                if Self::maybe_done_before(job) {
                    let prefix = format!("{marker} ");
                    found = self
                        .client
                        .search("Document", "name", &marker)
                        .await?
                        .iter()
                        .filter(|v| {
                            decode_sanitized(v["name"].as_str().unwrap_or("")).starts_with(&prefix)
                        })
                        .filter_map(|v| id_of(&v["id"]))
                        .min();
                }
                let d = match found {
                    Some(d) => d,
                    None => {
                        let name = format!("{marker} {}", attachment.filename);
                        self.client
                            .upload_document(&name, &attachment.filename, &attachment.mime, &bytes)
                            .await?
                    }
                };
                blocking(&self.helpdesk, move |h| {
                    Ok(h.store().set_attachment_glpi_id(aid, d)?)
                })
                .await?;
                d
            }
        };
        let linked = if had_document || Self::maybe_done_before(job) {
            self.client
                .sub_items("Document", document, "Document_Item")
                .await?
                .iter()
                .any(|l| {
                    l["itemtype"].as_str() == Some("Ticket") && id_of(&l["items_id"]) == Some(glpi)
                })
        } else {
            false
        };
        if !linked {
            self.client
                .add(
                    "Document_Item",
                    &json!({"documents_id": document, "itemtype": "Ticket", "items_id": glpi}),
                )
                .await?;
        }
        Ok(())
    }

    async fn push_status(&self, job: &Job) -> Result<(), SyncError> {
        let t = self.ticket(job.ticket_id).await?;
        let glpi = Self::glpi_id(&t)?;
        let wanted = match t.status {
            Status::Closed => Status::Closed.glpi(),
            Status::Assigned => Status::Assigned.glpi(),
            Status::New | Status::Solved => return Ok(()),
        };
        let current = self.client.item("Ticket", glpi).await?;
        let now = id_of(&current["status"]).unwrap_or(0);
        let same_stage = Status::from_glpi(now) == Status::from_glpi(wanted);
        if !same_stage {
            self.client
                .update("Ticket", glpi, &json!({"status": wanted}))
                .await?;
        }
        Ok(())
    }

    async fn push_satisfaction(&self, job: &Job) -> Result<(), SyncError> {
        let t = self.ticket(job.ticket_id).await?;
        let glpi = Self::glpi_id(&t)?;
        let Some(rating) = t.rating else {
            return Ok(());
        };
        let values = json!({"satisfaction": rating, "comment": t.rating_comment.clone().unwrap_or_default()});
        let existing = self
            .client
            .sub_items("Ticket", glpi, "TicketSatisfaction")
            .await?;
        match existing.first().and_then(|s| id_of(&s["id"])) {
            Some(id) => {
                self.client
                    .update("TicketSatisfaction", id, &values)
                    .await?
            }
            None => {
                let mut input = values;
                input["tickets_id"] = json!(glpi);
                input["type"] = json!(1);
                self.client.add("TicketSatisfaction", &input).await?;
            }
        }
        Ok(())
    }

    async fn author(&self, users_id: Option<i64>) -> String {
        let fallback = "Equipe de suporte".to_owned();
        let Some(uid) = users_id.filter(|u| *u > 0) else {
            return fallback;
        };
        if let Some(name) = self.names.lock().await.get(&uid) {
            return name.clone();
        }
        let name = match self.client.item("User", uid).await {
            Ok(u) => {
                let full = format!(
                    "{} {}",
                    decode_sanitized(u["firstname"].as_str().unwrap_or("")),
                    decode_sanitized(u["realname"].as_str().unwrap_or(""))
                );
                let full = full.trim().to_owned();
                if full.is_empty() {
                    decode_sanitized(u["name"].as_str().unwrap_or(&fallback))
                } else {
                    full
                }
            }
            Err(_) => fallback,
        };
        self.names.lock().await.insert(uid, name.clone());
        name
    }

    /// Looks at every open ticket GLPI has and reflects what changed there. Tickets with GLPI
    /// work still queued are left for the next look (our own changes would look like theirs).
    pub async fn poll(&self) -> Result<usize, ServiceError> {
        let tickets = blocking(&self.helpdesk, |h| {
            Ok(h.store().tickets(&TicketFilter {
                in_glpi: Some(true),
                statuses: vec![Status::New, Status::Assigned, Status::Solved],
                ..TicketFilter::default()
            })?)
        })
        .await?;
        let mut seen = 0;
        for t in tickets {
            let id = t.id;
            let pending = blocking(&self.helpdesk, move |h| {
                Ok(h.store().pending_jobs(id, &JobKind::GLPI)?)
            })
            .await?;
            if !pending.is_empty() {
                continue;
            }
            match self.observe(&t).await {
                Ok(()) => seen += 1,
                Err(e) => tracing::warn!(ticket = %t.id, %e, "GLPI não consultado"),
            }
        }
        Ok(seen)
    }

    async fn observe(&self, t: &Ticket) -> Result<(), SyncError> {
        let glpi = Self::glpi_id(t)?;
        let item = self.client.item("Ticket", glpi).await?;
        let status = id_of(&item["status"]).unwrap_or(t.status.glpi());
        let id = t.id;
        // GLPI numbers followups and solutions separately: keep their ids apart.
        let (known_followups, known_solutions): (HashSet<i64>, HashSet<i64>) =
            blocking(&self.helpdesk, move |h| {
                let messages = h.store().messages(id)?;
                let ids = |solution: bool| {
                    messages
                        .iter()
                        .filter(|m| (m.kind == MessageKind::Solution) == solution)
                        .filter_map(|m| m.glpi_id)
                        .collect::<HashSet<i64>>()
                };
                Ok((ids(false), ids(true)))
            })
            .await?;
        let mut obs = GlpiObservation {
            status,
            ..GlpiObservation::default()
        };
        for (itemtype, is_solution) in [("ITILFollowup", false), ("ITILSolution", true)] {
            let mut rows = self.client.sub_items("Ticket", glpi, itemtype).await?;
            rows.sort_by_key(|v| id_of(&v["id"]).unwrap_or(0));
            for row in rows {
                let Some(glpi_id) = id_of(&row["id"]) else {
                    continue;
                };
                let known = if is_solution {
                    &known_solutions
                } else {
                    &known_followups
                };
                if known.contains(&glpi_id) || id_of(&row["is_private"]) == Some(1) {
                    continue;
                }
                let text = html_to_text(row["content"].as_str().unwrap_or(""));
                if let Some(ours) = our_message(&text, t.id) {
                    // Ours, pushed by an attempt whose answer was lost: keep its id.
                    blocking(&self.helpdesk, move |h| h.message_in_glpi(ours, glpi_id)).await?;
                    continue;
                }
                let note = GlpiNote {
                    glpi_id,
                    author: self.author(id_of(&row["users_id"])).await,
                    text,
                };
                if is_solution {
                    obs.solution = Some(note);
                } else {
                    obs.followups.push(note);
                }
            }
        }
        if Status::from_glpi(status) != Some(Status::Solved) {
            obs.solution = None;
        }
        blocking(&self.helpdesk, move |h| h.glpi_observed(id, &obs)).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_our_messages_and_nothing_else() {
        let t = TicketId(42);
        let m = message_marker(t, MessageId(17));
        assert_eq!(m, "VST-000042/m17");
        assert_eq!(
            our_message(&format!("Texto\nAna (WhatsApp) · ref. {m}"), t),
            Some(MessageId(17))
        );
        assert_eq!(
            our_message("ref. VST-000043/m17", t),
            None,
            "another ticket's"
        );
        assert_eq!(our_message("VST-000042/m", t), None);
        assert_eq!(attachment_marker(t, AttachmentId(5)), "VST-000042/a5");
    }
}
