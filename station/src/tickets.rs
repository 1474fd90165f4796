//! The station's help-desk tickets (issue 23; 2k, 2n of Anexo II): Diagnóstico's "Abrir
//! chamado", the replies and the answer to a solution, and the list of the station's tickets.
//!
//! Every request is written to the store's ticket queue ([`vistoria_core::store`]) before the
//! screen says anything, with the `client_id` chosen when the person pressed the button; the
//! worker sends the queue in order ([`Station::send_tickets`], beside the deliveries). A request
//! whose answer is lost is sent again and the central, which keeps one ticket per `client_id`,
//! answers as the first time: nothing is lost and nothing is opened twice. A central that is
//! unreachable or runs no help desk leaves the queue as it is; a refusal that names what is
//! wrong marks the request refused, with the central's Portuguese reason, kept until the
//! person discards it. The last listing the central gave is kept, so the screen works offline.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use vistoria_core::central_client::ClientError;
use vistoria_core::store::{
    NewTicketRequest, TicketQueueState, TicketRequest, TicketRequestKind, TicketTarget,
};
use vistoria_core::tickets::{
    MAX_ATTACHMENT_BYTES, StationTicket, StationTickets, TicketCategory, TicketFeedback,
    TicketFile, TicketOpen, TicketOpened, TicketPerson, TicketReply,
};
use vistoria_core::wire::ErrorCode;
use vistoria_drivers::DeviceStatus;

use crate::{Failure, Session, Station};

/// Longest title the form takes.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest text (description, reply, comment) the kiosk sends.
pub const MAX_TEXT_CHARS: usize = 4000;
/// How old the kept listing may get before the worker asks the central again.
const LISTING_EVERY: StdDuration = StdDuration::from_secs(60);
/// First wait after a failed attempt; doubled at each further one, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF_S: i64 = 10;
const MAX_BACKOFF_S: i64 = 600;

/// The label of a request the central has not received yet.
pub const QUEUED_LABEL: &str = "na fila (sem conexão)";
/// The label of a request the central refused.
pub const REFUSED_LABEL: &str = "recusado pela central";

/// "Abrir chamado": what the person filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    /// Chosen when the form was opened: pressing "Enviar" twice queues one ticket.
    pub client_id: Uuid,
    /// Category key, from the kept list.
    pub category: String,
    /// Title (may be empty: the central builds one).
    pub title: String,
    /// What is wrong.
    pub description: String,
    /// "Anexar pacote de suporte".
    pub attach_support: bool,
    /// "Anexar foto": a JPEG or PNG file.
    pub photo: Option<PathBuf>,
}

/// A reply to one of the station's tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDraft {
    /// Chosen when the person pressed "Enviar".
    pub client_id: Uuid,
    /// The text (may be empty with a photo).
    pub text: String,
    /// A photo of the problem.
    pub photo: Option<PathBuf>,
}

/// The answer to the team's solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackDraft {
    /// Chosen when the person pressed the button.
    pub client_id: Uuid,
    /// Solved (`true`) or not.
    pub accept: bool,
    /// 1–5 stars, required when accepting.
    pub rating: Option<u8>,
    /// A comment; what is still wrong when refusing (required then).
    pub comment: String,
}

/// Which ticket: numbered by the central, or still only in this kiosk's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketKey {
    /// Its id at the central.
    Central(i64),
    /// Its open's `client_id` (queued, not numbered yet).
    Queued(Uuid),
}

/// A request of this kiosk the kept listing does not show yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedItem {
    /// Its `client_id`.
    pub client_id: Uuid,
    /// Reply or answer to the solution.
    pub kind: TicketRequestKind,
    /// Its line (text, rating).
    pub summary: String,
    /// Where it stands.
    pub state: TicketQueueState,
    /// The central's reason, when refused; the last problem otherwise.
    pub error: Option<String>,
    /// Who wrote it.
    pub login: String,
}

/// One ticket as the screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketView {
    /// Which ticket.
    pub key: TicketKey,
    /// `VST-000042`, once given.
    pub number: Option<String>,
    /// Title.
    pub title: String,
    /// Category key.
    pub category: String,
    /// State for the screen: the help desk's, or the queue's ([`QUEUED_LABEL`], …).
    pub state_label: String,
    /// The open itself while the central has not listed it: where it stands in the queue.
    pub open: Option<QueuedItem>,
    /// The central's view, once listed.
    pub ticket: Option<StationTicket>,
    /// This kiosk's replies and answers not listed yet.
    pub queued: Vec<QueuedItem>,
}

/// The station's tickets as the screen shows them: the kept listing and the queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketBoard {
    /// Categories to choose from (the last the central gave).
    pub categories: Vec<TicketCategory>,
    /// Queued opens first, then the listing (newest first).
    pub tickets: Vec<TicketView>,
    /// When the listing was fetched; `None`: never.
    pub listed_at: Option<DateTime<Utc>>,
    /// Requests not sent yet.
    pub waiting: usize,
}

impl TicketBoard {
    /// One ticket.
    pub fn ticket(&self, key: TicketKey) -> Option<&TicketView> {
        self.tickets.iter().find(|t| t.key == key)
    }
}

/// What a sending pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketPass {
    /// Requests the central took.
    pub sent: usize,
    /// Requests the central refused for good.
    pub refused: usize,
    /// Still queued (offline, no help desk, waiting for their ticket's number, or backing off).
    pub waiting: usize,
    /// Why the pass stopped early, when the central could not take anything.
    pub stopped: Option<String>,
}

/// What one attempt came to.
enum Outcome {
    /// Taken: the answer (JSON), and for an open, the ticket's id and number.
    Sent(String, Option<TicketOpened>),
    /// Not now: the central is out of reach, has no help desk, or failed; try again.
    Later(String),
    /// Never: the central named what is wrong.
    Refused(String),
}

fn classify(e: &ClientError) -> Outcome {
    match e {
        ClientError::Refused { status, body } => {
            let keep = e.is_transient()
                || matches!(body.code, ErrorCode::HelpdeskUnavailable)
                // The station's own credentials: the technician's to fix, not the request's.
                || matches!(status, 401 | 403);
            if keep {
                Outcome::Later(body.error.clone())
            } else {
                Outcome::Refused(body.error.clone())
            }
        }
        other => Outcome::Later(other.to_string()),
    }
}

fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(10);
    Duration::seconds((FIRST_BACKOFF_S << exp).min(MAX_BACKOFF_S))
}

/// Portuguese state of a device, as Diagnóstico shows it.
fn device_state(status: &DeviceStatus) -> String {
    match status {
        DeviceStatus::Ready => "pronto".to_owned(),
        DeviceStatus::Busy => "ocupado".to_owned(),
        DeviceStatus::Missing => "ausente".to_owned(),
        DeviceStatus::Fault(why) => format!("falha: {why}"),
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::internal(e.to_string())
}

fn check_text(text: &str, what: &str) -> Result<(), Failure> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Failure::rule(format!(
            "{what} longo demais: use até {MAX_TEXT_CHARS} caracteres (anexe um arquivo para o resto)."
        )));
    }
    Ok(())
}

/// Reads a photo the person chose, refusing what is not a JPEG or PNG.
fn photo_file(path: &Path) -> Result<(String, String, Vec<u8>), Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::rule(format!(
            "Não foi possível ler a foto {}: {e}. Confira o caminho do arquivo.",
            path.display()
        ))
    })?;
    let mime = match crate::support::evidence_kind(&bytes) {
        Some("JPEG") => "image/jpeg",
        Some("PNG") => "image/png",
        _ => {
            return Err(Failure::rule(format!(
                "O arquivo {} não é uma foto JPEG ou PNG; escolha uma foto.",
                path.display()
            )));
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "foto".to_owned());
    Ok((name, mime.to_owned(), bytes))
}

fn files(parts: Vec<(String, String, Vec<u8>)>) -> Result<Vec<TicketFile>, Failure> {
    let total: usize = parts.iter().map(|(_, _, b)| b.len()).sum();
    if total > MAX_ATTACHMENT_BYTES {
        return Err(Failure::rule(format!(
            "Os anexos somam {:.1} MB e o limite é {} MB: escolha uma foto menor.",
            total as f64 / 1e6,
            MAX_ATTACHMENT_BYTES / (1024 * 1024)
        )));
    }
    Ok(parts
        .into_iter()
        .map(|(filename, mime, bytes)| TicketFile {
            filename,
            mime,
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
        .collect())
}

fn person(session: &Session) -> TicketPerson {
    TicketPerson {
        login: session.login.clone(),
        name: session.name.clone(),
    }
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut s: String = line.chars().take(80).collect();
    if line.chars().count() > 80 || text.lines().count() > 1 {
        s.push('…');
    }
    s
}

impl Station {
    /// "Abrir chamado": queues the ticket (with the devices' states, the support zip and the
    /// photo when asked) and wakes the worker. Returns the queued request: from here the
    /// ticket is the station's to deliver.
    pub fn open_ticket(
        &self,
        session: &Session,
        draft: &TicketDraft,
    ) -> Result<TicketRequest, Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        if let Some(queued) = self.core().store.ticket_request(draft.client_id)? {
            return Ok(queued);
        }
        let category = draft.category.trim();
        if category.is_empty() {
            return Err(Failure::rule("Escolha a categoria do chamado."));
        }
        let known = self.tickets()?.categories;
        if !known.is_empty() && !known.iter().any(|c| c.key == category) {
            return Err(Failure::rule(
                "Categoria desconhecida pela central: escolha uma da lista.",
            ));
        }
        let title = draft.title.trim();
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(Failure::rule(format!(
                "Título longo demais: use até {MAX_TITLE_CHARS} caracteres."
            )));
        }
        let description = draft.description.trim();
        if description.is_empty() {
            return Err(Failure::rule(
                "Descreva o problema: o que aconteceu e o que você já tentou.",
            ));
        }
        check_text(description, "Descrição")?;
        let mut parts = Vec::new();
        if let Some(photo) = &draft.photo {
            parts.push(photo_file(photo)?);
        }
        if draft.attach_support {
            let zip = self.export_logs()?;
            let bytes =
                std::fs::read(&zip).map_err(|e| internal(format!("{}: {e}", zip.display())))?;
            let name = zip
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "suporte.zip".to_owned());
            parts.insert(0, (name, "application/zip".to_owned(), bytes));
        }
        let devices: Vec<String> = self
            .devices()
            .iter()
            .map(|d| format!("{}: {}", d.name, device_state(&d.status)))
            .collect();
        let open = TicketOpen {
            client_id: draft.client_id,
            category: category.to_owned(),
            title: (!title.is_empty()).then(|| title.to_owned()),
            description: description.to_owned(),
            requester: person(session),
            devices: devices.join("\n"),
            attachments: files(parts)?,
        };
        let summary = if title.is_empty() {
            short(description)
        } else {
            title.to_owned()
        };
        self.queue_ticket(
            session,
            draft.client_id,
            TicketRequestKind::Open,
            None,
            &summary,
            &open,
        )
    }

    /// A reply to ticket `key` (text and/or a photo), queued.
    pub fn reply_ticket(
        &self,
        session: &Session,
        key: TicketKey,
        draft: &ReplyDraft,
    ) -> Result<TicketRequest, Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        let text = draft.text.trim();
        if text.is_empty() && draft.photo.is_none() {
            return Err(Failure::rule("Escreva a resposta ou anexe uma foto."));
        }
        check_text(text, "Resposta")?;
        let photo = draft.photo.as_deref().map(photo_file).transpose()?;
        let reply = TicketReply {
            client_id: draft.client_id,
            author: person(session),
            text: text.to_owned(),
            attachments: files(photo.into_iter().collect())?,
        };
        let summary = match (&reply.attachments.first(), text.is_empty()) {
            (Some(f), true) => format!("(foto {})", f.filename),
            (Some(f), false) => format!("{} (foto {})", short(text), f.filename),
            (None, _) => short(text),
        };
        let target = Some(target(key));
        self.queue_ticket(
            session,
            draft.client_id,
            TicketRequestKind::Reply,
            target,
            &summary,
            &reply,
        )
    }

    /// The answer to ticket `key`'s solution: accepted with 1–5 stars, or refused saying what
    /// is still wrong. Queued.
    pub fn rate_ticket(
        &self,
        session: &Session,
        key: TicketKey,
        draft: &FeedbackDraft,
    ) -> Result<TicketRequest, Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        let comment = draft.comment.trim();
        check_text(comment, "Comentário")?;
        let summary = if draft.accept {
            let rating = draft
                .rating
                .filter(|r| (1..=5).contains(r))
                .ok_or_else(|| {
                    Failure::rule("Dê uma nota de 1 a 5 estrelas para aceitar a solução.")
                })?;
            format!("Solução aceita: {rating} de 5 estrelas")
        } else {
            if comment.is_empty() {
                return Err(Failure::rule(
                    "Diga o que ainda não está resolvido para recusar a solução.",
                ));
            }
            format!("Solução recusada: {}", short(comment))
        };
        let feedback = TicketFeedback {
            client_id: draft.client_id,
            author: person(session),
            accept: draft.accept,
            rating: if draft.accept { draft.rating } else { None },
            comment: comment.to_owned(),
        };
        let target = Some(target(key));
        self.queue_ticket(
            session,
            draft.client_id,
            TicketRequestKind::Feedback,
            target,
            &summary,
            &feedback,
        )
    }

    /// Removes a request the central refused, when the person says so (with an open, the
    /// replies waiting for it go too). Returns how many went.
    pub fn discard_ticket_request(
        &self,
        session: &Session,
        client_id: Uuid,
    ) -> Result<usize, Failure> {
        self.require(session, crate::roles::SUPPORT)?;
        let removed = self
            .core()
            .store
            .discard_ticket_request(client_id)
            .map_err(|e| Failure::rule(e.to_string()))?;
        tracing::info!(%client_id, removed, login = %session.login, "refused ticket request discarded");
        Ok(removed)
    }

    fn queue_ticket(
        &self,
        session: &Session,
        client_id: Uuid,
        kind: TicketRequestKind,
        target: Option<TicketTarget>,
        summary: &str,
        body: &impl serde::Serialize,
    ) -> Result<TicketRequest, Failure> {
        let body = serde_json::to_string(body).map_err(internal)?;
        let new = NewTicketRequest {
            client_id,
            kind,
            target,
            login: &session.login,
            summary,
            body: &body,
        };
        let queued = self
            .core()
            .store
            .queue_ticket_request(&new, Utc::now())
            .map_err(|e| match e {
                vistoria_core::store::StoreError::Invalid(t) => Failure::rule(t),
                other => Failure::from(other),
            })?;
        tracing::info!(%client_id, ?kind, login = %session.login, "ticket request queued");
        self.deliver_now();
        Ok(queued)
    }

    /// The station's tickets from the kept listing and the queue. No network.
    pub fn tickets(&self) -> Result<TicketBoard, Failure> {
        let core = self.core();
        let listing = core.store.ticket_listing()?;
        let queue = core.store.ticket_requests()?;
        drop(core);
        Ok(board(listing, queue))
    }

    /// Asks the central for the station's tickets now, keeps the answer, and returns the
    /// board. Offline, the kept board is still there ([`Station::tickets`]).
    pub fn refresh_tickets(&self) -> Result<TicketBoard, Failure> {
        let client = self.core().client.clone();
        let listing = client.station_tickets().map_err(Failure::from)?;
        self.core()
            .store
            .save_ticket_listing(&listing, Utc::now())?;
        self.tickets()
    }

    /// Sends what is due in the queue, in order (the worker's job, beside the deliveries),
    /// then refreshes the kept listing when something went or it is old.
    pub fn send_tickets(&self) -> Result<TicketPass, Failure> {
        let (queue, client) = {
            let core = self.core();
            (core.store.ticket_requests()?, core.client.clone())
        };
        let now = Utc::now();
        let mut pass = TicketPass::default();
        let mut numbered: std::collections::HashMap<Uuid, i64> = queue
            .iter()
            .filter_map(|r| Some((r.client_id, r.answer_ticket_id?)))
            .collect();
        for mut request in queue {
            if request.state != TicketQueueState::Pending {
                continue;
            }
            if pass.stopped.is_some() || request.next_attempt_at > now {
                pass.waiting += 1;
                continue;
            }
            if request.ticket_id.is_none()
                && let Some(open) = request.ticket_client_id
            {
                match numbered.get(&open) {
                    Some(id) => request.ticket_id = Some(*id),
                    None => {
                        // Its ticket is not numbered yet: it goes after its open.
                        pass.waiting += 1;
                        continue;
                    }
                }
            }
            let Some(body) = self.core().store.ticket_request_body(request.client_id)? else {
                continue;
            };
            request.attempts += 1;
            match send_one(&client, &request, &body) {
                Outcome::Sent(answer, opened) => {
                    if let Some(opened) = opened {
                        numbered.insert(request.client_id, opened.ticket_id);
                        request.answer_ticket_id = Some(opened.ticket_id);
                        request.answer_number = Some(opened.number);
                    }
                    request.state = TicketQueueState::Sent;
                    request.answer = Some(answer);
                    request.last_error = None;
                    request.sent_at = Some(Utc::now());
                    pass.sent += 1;
                    tracing::info!(client_id = %request.client_id, kind = ?request.kind, "ticket request sent");
                }
                Outcome::Later(why) => {
                    request.last_error = Some(why.clone());
                    request.next_attempt_at = Utc::now() + backoff(request.attempts);
                    pass.waiting += 1;
                    // In order: what follows waits for the link too.
                    pass.stopped = Some(why);
                }
                Outcome::Refused(why) => {
                    tracing::warn!(client_id = %request.client_id, %why, "ticket request refused by the central");
                    request.state = TicketQueueState::Failed;
                    request.last_error = Some(why);
                    pass.refused += 1;
                }
            }
            self.core().store.update_ticket_request(&request)?;
        }
        if pass.stopped.is_none() {
            let listed_at = self.core().store.ticket_listing()?.map(|(_, at)| at);
            let stale = listed_at
                .is_none_or(|at| (Utc::now() - at).to_std().unwrap_or_default() >= LISTING_EVERY);
            if (pass.sent > 0 || stale)
                && let Err(e) = self.refresh_tickets()
            {
                tracing::debug!(%e, "ticket listing not refreshed");
            }
        }
        Ok(pass)
    }
}

fn target(key: TicketKey) -> TicketTarget {
    match key {
        TicketKey::Central(id) => TicketTarget::Central(id),
        TicketKey::Queued(open) => TicketTarget::Queued(open),
    }
}

fn send_one(
    client: &vistoria_core::central_client::CentralClient,
    request: &TicketRequest,
    body: &str,
) -> Outcome {
    let undecodable =
        |e: serde_json::Error| Outcome::Refused(format!("pedido guardado ilegível: {e}"));
    let answer = |a: Result<String, serde_json::Error>| a.unwrap_or_default();
    match request.kind {
        TicketRequestKind::Open => {
            let open: TicketOpen = match serde_json::from_str(body) {
                Ok(o) => o,
                Err(e) => return undecodable(e),
            };
            match client.open_ticket(&open) {
                Ok(opened) => Outcome::Sent(answer(serde_json::to_string(&opened)), Some(opened)),
                Err(e) => classify(&e),
            }
        }
        TicketRequestKind::Reply | TicketRequestKind::Feedback => {
            let Some(ticket) = request.ticket_id else {
                return Outcome::Later("aguardando o número do chamado".to_owned());
            };
            let sent = if request.kind == TicketRequestKind::Reply {
                match serde_json::from_str::<TicketReply>(body) {
                    Ok(reply) => client.reply_ticket(ticket, &reply),
                    Err(e) => return undecodable(e),
                }
            } else {
                match serde_json::from_str::<TicketFeedback>(body) {
                    Ok(feedback) => client.ticket_feedback(ticket, &feedback),
                    Err(e) => return undecodable(e),
                }
            };
            match sent {
                Ok(ack) => Outcome::Sent(answer(serde_json::to_string(&ack)), None),
                Err(e) => classify(&e),
            }
        }
    }
}

fn queued_item(r: &TicketRequest) -> QueuedItem {
    QueuedItem {
        client_id: r.client_id,
        kind: r.kind,
        summary: r.summary.clone(),
        state: r.state,
        error: r.last_error.clone(),
        login: r.login.clone(),
    }
}

fn queue_label(r: &TicketRequest) -> String {
    match r.state {
        TicketQueueState::Pending => QUEUED_LABEL.to_owned(),
        TicketQueueState::Sent => "enviado".to_owned(),
        TicketQueueState::Failed => REFUSED_LABEL.to_owned(),
    }
}

/// Merges the kept listing with the queue: an open the listing shows is that ticket; replies
/// and answers the listing cannot show yet (unsent, or sent after it was fetched) hang under
/// their ticket.
fn board(
    listing: Option<(StationTickets, DateTime<Utc>)>,
    queue: Vec<TicketRequest>,
) -> TicketBoard {
    let (listing, listed_at) = match listing {
        Some((l, at)) => (l, Some(at)),
        None => (
            StationTickets {
                categories: Vec::new(),
                tickets: Vec::new(),
            },
            None,
        ),
    };
    let unlisted = |r: &TicketRequest| match (r.state, r.sent_at, listed_at) {
        (TicketQueueState::Sent, Some(sent), Some(listed)) => sent > listed,
        (TicketQueueState::Sent, _, None) => true,
        (TicketQueueState::Sent, None, Some(_)) => false,
        _ => true,
    };
    let listed = |r: &TicketRequest| {
        listing
            .tickets
            .iter()
            .any(|t| t.client_id == Some(r.client_id) || Some(t.ticket_id) == r.answer_ticket_id)
    };
    let mut tickets = Vec::new();
    let opens: Vec<&TicketRequest> = queue
        .iter()
        .filter(|r| r.kind == TicketRequestKind::Open)
        .collect();
    let belongs = |r: &TicketRequest, id: Option<i64>, open: Option<Uuid>| {
        r.kind != TicketRequestKind::Open
            && ((id.is_some() && r.ticket_id == id)
                || (open.is_some() && r.ticket_client_id == open))
    };
    for open in opens.iter().rev().filter(|r| !listed(r)) {
        let queued = queue
            .iter()
            .filter(|r| belongs(r, open.answer_ticket_id, Some(open.client_id)) && unlisted(r))
            .map(queued_item)
            .collect();
        tickets.push(TicketView {
            key: match open.answer_ticket_id {
                Some(id) => TicketKey::Central(id),
                None => TicketKey::Queued(open.client_id),
            },
            number: open.answer_number.clone(),
            title: open.summary.clone(),
            category: String::new(),
            state_label: queue_label(open),
            open: Some(queued_item(open)),
            ticket: None,
            queued,
        });
    }
    for t in &listing.tickets {
        let open = opens
            .iter()
            .find(|r| t.client_id == Some(r.client_id) || r.answer_ticket_id == Some(t.ticket_id))
            .map(|r| r.client_id);
        let queued = queue
            .iter()
            .filter(|r| belongs(r, Some(t.ticket_id), open) && unlisted(r))
            .map(queued_item)
            .collect();
        tickets.push(TicketView {
            key: TicketKey::Central(t.ticket_id),
            number: Some(t.number.clone()),
            title: t.title.clone(),
            category: t.category.clone(),
            state_label: t.state_label.clone(),
            open: None,
            ticket: Some(t.clone()),
            queued,
        });
    }
    TicketBoard {
        categories: listing.categories,
        tickets,
        listed_at,
        waiting: queue
            .iter()
            .filter(|r| r.state == TicketQueueState::Pending)
            .count(),
    }
}

#[cfg(test)]
#[path = "tickets_tests.rs"]
mod tests;
