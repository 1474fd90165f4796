//! Delivery of packages to the central server (2s, §12): a durable queue in the store, five
//! attempts spread over the four hours after the first one, resumed after any restart, never
//! dropped. After the central's signed receipt the local media are deleted and the receipt
//! stays (§9).
//!
//! An attempt is recorded as started before anything is sent, so a kill in the middle leaves
//! it `in_flight`; the next run resumes that same attempt at once instead of spending another.
//! Every request is idempotent on the server (same manifest, resumable files, same receipt), so
//! resuming never stores anything twice.

use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use thiserror::Error;

use crate::central_client::{CentralClient, ClientError};
use crate::clock::{CentralClock, CentralStamp, ClockError};
use crate::config::Station;
use crate::domain::{Inspection, InspectionId, TransitionError};
use crate::package::{self, PackageError};
use crate::store::{AuditAction, AuditEvent, OutboxEntry, OutboxState, Store, StoreError};
use crate::wire::{ErrorCode, Receipt, manifest_sha256};

/// Audit actor of what the outbox does by itself.
const ACTOR: &str = "system";

/// When the attempts happen, counted from the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Offset of each attempt from the first; its length is the number of attempts.
    pub schedule: Vec<Duration>,
}

impl Default for DeliveryPolicy {
    /// Five attempts (§12) within four hours: at once, then +10 min, +40 min, +1 h 40 and
    /// +3 h 50, so a short outage costs one retry and a long one still fits the window.
    fn default() -> Self {
        DeliveryPolicy {
            schedule: [0, 10, 40, 100, 230]
                .into_iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
        }
    }
}

impl DeliveryPolicy {
    /// A policy with the given offsets (tests, simulations).
    pub fn with_schedule(schedule: Vec<Duration>) -> DeliveryPolicy {
        DeliveryPolicy { schedule }
    }

    /// How many attempts are made before the package is flagged.
    pub fn max_attempts(&self) -> u32 {
        self.schedule.len() as u32
    }

    /// When attempt number `n` (1-based) is due, for a first attempt at `first`.
    fn due(&self, first: DateTime<Utc>, n: u32) -> Option<DateTime<Utc>> {
        let offset = self.schedule.get(n.checked_sub(1)? as usize)?;
        Some(first + chrono::Duration::from_std(*offset).ok()?)
    }
}

/// Why the outbox could not do its work (as opposed to a failed attempt, which is recorded).
#[derive(Debug, Error)]
pub enum OutboxError {
    /// No central time to stamp with.
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The package could not be built.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The inspection cannot move to the next state.
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

/// What one attempt ended in.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    /// The central's receipt arrived and was verified.
    Delivered(Receipt),
    /// Failed; the next attempt is at the given central time.
    Retry {
        /// Why, in Portuguese.
        error: String,
        /// When the next attempt is due.
        next: DateTime<Utc>,
    },
    /// Failed for good or out of attempts: flagged for the technician, kept.
    Stuck(String),
}

/// Puts a concluded, interrupted or signed inspection into the outbox: it becomes queued and
/// its manifest is frozen, so every attempt sends the very same package.
pub fn queue(
    store: &mut Store,
    station: &Station,
    inspection: &mut Inspection,
    now: CentralStamp,
) -> Result<OutboxEntry, OutboxError> {
    let mut queued = inspection.clone();
    queued.queue(now.at.max(inspection.last_event_at()))?;
    let manifest = package::build_manifest(store, station, &queued)?;
    let value = manifest.to_json().map_err(PackageError::Encode)?;
    let entry = OutboxEntry {
        inspection_id: queued.id(),
        manifest: value.to_string(),
        manifest_sha256: manifest_sha256(&value),
        queued_at: now.at,
        state: OutboxState::Pending,
        attempts: 0,
        first_attempt_at: None,
        next_attempt_at: now.at,
        in_flight: false,
        last_error: None,
        receipt: None,
        delivered_at: None,
    };
    let event = AuditEvent::new(Some(now), ACTOR, AuditAction::InspectionQueued).detail(json!({
        "manifest_sha256": entry.manifest_sha256,
        "files": manifest.files.len(),
    }));
    store.enqueue(&queued, &entry, manifest.audit_sequence.unwrap_or(0), event)?;
    *inspection = queued;
    Ok(entry)
}

/// Entries whose attempt is due now: interrupted attempts first, then the oldest package first
/// (its four hours run out first).
pub fn due(store: &Store, now: DateTime<Utc>) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut due: Vec<OutboxEntry> = store
        .outbox_in(OutboxState::Pending)?
        .into_iter()
        .filter(|e| e.in_flight || e.next_attempt_at <= now)
        .collect();
    due.sort_by_key(|e| (!e.in_flight, e.queued_at));
    Ok(due)
}

/// The time of the next attempt of any pending entry, if there is one.
pub fn next_due(store: &Store) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(store
        .outbox_in(OutboxState::Pending)?
        .into_iter()
        .map(|e| e.next_attempt_at)
        .min())
}

/// Makes every attempt that is due now, one package after the other.
pub fn deliver_due(
    store: &mut Store,
    client: &CentralClient,
    clock: &CentralClock,
    policy: &DeliveryPolicy,
    server_key: &str,
) -> Result<Vec<(InspectionId, AttemptResult)>, OutboxError> {
    let now = clock.now()?;
    let mut results = Vec::new();
    for entry in due(store, now.at)? {
        let id = entry.inspection_id;
        results.push((
            id,
            attempt(store, client, clock, policy, server_key, entry)?,
        ));
    }
    Ok(results)
}

/// One attempt (or the resumption of one cut short) for one entry: [`prepare`], [`send`] and
/// [`finish`] in a row, with the store held throughout (one process, nobody else waiting).
pub fn attempt(
    store: &mut Store,
    client: &CentralClient,
    clock: &CentralClock,
    policy: &DeliveryPolicy,
    server_key: &str,
    entry: OutboxEntry,
) -> Result<AttemptResult, OutboxError> {
    let prepared = prepare(store, clock, entry)?;
    let sent = send(client, &prepared, server_key);
    finish(store, clock, policy, prepared, sent)
}

/// An attempt recorded as started, with what its sending needs from the store: the frozen
/// manifest and where each local file is. Sending it needs no store, so a station can send
/// with its store free for everything else.
#[derive(Debug)]
pub struct Prepared {
    entry: OutboxEntry,
    /// The media of the inspection: the name in the package and the local path.
    files: Result<Vec<(String, std::path::PathBuf)>, String>,
}

impl Prepared {
    /// The inspection the package belongs to.
    pub fn inspection_id(&self) -> InspectionId {
        self.entry.inspection_id
    }
}

/// What sending a prepared attempt ended in, to be recorded by [`finish`].
#[derive(Debug)]
pub struct Sent(Result<Receipt, SendError>);

/// Records the attempt as started (or resumed, if a kill cut it short) and reads what sending
/// it needs from the store.
pub fn prepare(
    store: &mut Store,
    clock: &CentralClock,
    mut entry: OutboxEntry,
) -> Result<Prepared, OutboxError> {
    let now = clock.now()?;
    if entry.in_flight {
        store.audit(
            AuditEvent::new(Some(now), ACTOR, AuditAction::OutboxAttemptResumed)
                .inspection(entry.inspection_id)
                .detail(json!({ "attempt": entry.attempts })),
        )?;
    } else {
        entry.attempts += 1;
        entry.first_attempt_at.get_or_insert(now.at);
        entry.in_flight = true;
        let event = AuditEvent::new(Some(now), ACTOR, AuditAction::OutboxAttemptStarted)
            .detail(json!({ "attempt": entry.attempts }));
        store.update_outbox(&entry, event)?;
    }
    let files = store
        .media_of(entry.inspection_id)
        .map(|media| {
            media
                .iter()
                .map(|m| (package::file_name(m).to_owned(), store.media_path(m)))
                .collect()
        })
        .map_err(|e| e.to_string());
    Ok(Prepared { entry, files })
}

/// Records how the attempt ended: the receipt (the inspection delivered, its media deleted),
/// or the failure with the next attempt or the flag for the technician.
pub fn finish(
    store: &mut Store,
    clock: &CentralClock,
    policy: &DeliveryPolicy,
    prepared: Prepared,
    sent: Sent,
) -> Result<AttemptResult, OutboxError> {
    let mut entry = prepared.entry;
    let now = clock.now()?;
    entry.in_flight = false;
    match sent.0 {
        Ok(receipt) => {
            let mut inspection = store
                .inspection(entry.inspection_id)?
                .ok_or(StoreError::NotFound(entry.inspection_id))?;
            let at = now.at.max(inspection.last_event_at());
            inspection.deliver_at(receipt.to_domain(), at)?;
            entry.state = OutboxState::Delivered;
            entry.last_error = None;
            entry.receipt = Some(serde_json::to_string(&receipt).map_err(PackageError::Encode)?);
            entry.delivered_at = Some(receipt.received_at);
            let event =
                AuditEvent::new(Some(now), ACTOR, AuditAction::OutboxDelivered).detail(json!({
                    "attempt": entry.attempts,
                    "laudo_number": receipt.laudo_number,
                    "received_at": receipt.received_at,
                }));
            store.record_delivery(&inspection, &entry, event)?;
            Ok(AttemptResult::Delivered(receipt))
        }
        Err(error) => {
            let message = error.to_string();
            let next = entry
                .first_attempt_at
                .and_then(|first| policy.due(first, entry.attempts + 1))
                .map(|t| t.max(now.at));
            let result = match next {
                Some(next) if error.is_transient() => {
                    entry.next_attempt_at = next;
                    AttemptResult::Retry {
                        error: message.clone(),
                        next,
                    }
                }
                _ => {
                    entry.state = OutboxState::Stuck;
                    let why = if error.is_transient() {
                        format!(
                            "{} tentativas esgotadas; última falha: {message}",
                            entry.attempts
                        )
                    } else {
                        message.clone()
                    };
                    AttemptResult::Stuck(why)
                }
            };
            entry.last_error = Some(match &result {
                AttemptResult::Stuck(why) => why.clone(),
                _ => message.clone(),
            });
            let event =
                AuditEvent::new(Some(now), ACTOR, AuditAction::OutboxAttemptFailed).detail(json!({
                    "attempt": entry.attempts,
                    "error": message,
                    "stuck": entry.state == OutboxState::Stuck,
                }));
            store.update_outbox(&entry, event)?;
            tracing::warn!(id = %entry.inspection_id, attempt = entry.attempts, %message, "delivery attempt failed");
            Ok(result)
        }
    }
}

/// A technician's retry of a stuck package: one more attempt, due now.
pub fn retry_stuck(
    store: &mut Store,
    id: InspectionId,
    now: CentralStamp,
    actor: &str,
) -> Result<(), OutboxError> {
    let mut entry = store.outbox_entry(id)?.ok_or(StoreError::NotFound(id))?;
    if entry.state != OutboxState::Stuck {
        return Ok(());
    }
    entry.state = OutboxState::Pending;
    entry.next_attempt_at = now.at;
    // The schedule restarts from this manual retry: one attempt now, none after it unless the
    // technician asks again.
    entry.first_attempt_at = Some(now.at);
    entry.attempts = entry.attempts.max(1);
    store.update_outbox(
        &entry,
        AuditEvent::new(Some(now), actor, AuditAction::OutboxManualRetry),
    )?;
    Ok(())
}

/// Failure of one send, kept apart from store errors so it can be recorded as an attempt.
#[derive(Debug, Error)]
enum SendError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("arquivo local da vistoria ausente ou ilegível: {0}")]
    LocalFile(String),
    #[error("recibo do servidor central inválido: {0}")]
    BadReceipt(&'static str),
}

impl SendError {
    fn is_transient(&self) -> bool {
        match self {
            SendError::Client(e) => e.is_transient(),
            // A bad receipt may come from a misbehaving proxy: try again.
            SendError::BadReceipt(_) => true,
            SendError::LocalFile(_) => false,
        }
    }
}

/// Sends a prepared attempt: the manifest, the files the central is missing, the commit, and
/// checks the receipt. Uses no store.
pub fn send(client: &CentralClient, prepared: &Prepared, server_key: &str) -> Sent {
    Sent(send_files(client, prepared, server_key))
}

fn send_files(
    client: &CentralClient,
    prepared: &Prepared,
    server_key: &str,
) -> Result<Receipt, SendError> {
    let entry = &prepared.entry;
    let manifest: serde_json::Value = serde_json::from_str(&entry.manifest)
        .map_err(|e| SendError::LocalFile(format!("manifesto: {e}")))?;
    let state = client.put_manifest(&manifest)?;
    let receipt = match state.receipt {
        Some(receipt) => receipt,
        None => {
            let media = prepared
                .files
                .as_ref()
                .map_err(|e| SendError::LocalFile(e.clone()))?;
            for file in state.files.iter().filter(|f| !f.complete) {
                let (_, path) = media
                    .iter()
                    .find(|(name, _)| *name == file.name)
                    .ok_or_else(|| SendError::LocalFile(file.name.clone()))?;
                upload(
                    client,
                    entry.inspection_id,
                    &file.name,
                    path,
                    file.received,
                    file.size,
                )?;
            }
            client.commit(entry.inspection_id)?
        }
    };
    if receipt.inspection_id != entry.inspection_id
        || receipt.manifest_sha256 != entry.manifest_sha256
    {
        return Err(SendError::BadReceipt("não corresponde ao pacote enviado"));
    }
    if !receipt.verify(server_key) {
        return Err(SendError::BadReceipt(
            "assinatura não confere com a chave do servidor",
        ));
    }
    Ok(receipt)
}

/// Streams one file from `offset`, resuming once from where the server says it stands.
fn upload(
    client: &CentralClient,
    id: InspectionId,
    name: &str,
    path: &std::path::Path,
    offset: u64,
    size: u64,
) -> Result<(), SendError> {
    let mut offset = offset;
    for _ in 0..2 {
        let len = size.saturating_sub(offset);
        let open = || -> std::io::Result<_> {
            let mut file = std::fs::File::open(path)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(file.take(len))
        };
        // Checked here first so a missing local file is told apart from the network.
        open().map_err(|e| SendError::LocalFile(format!("{name}: {e}")))?;
        match client.upload_file(id, name, offset, len, open) {
            Ok(_) => return Ok(()),
            Err(ClientError::Refused { body, .. })
                if body.code == ErrorCode::OffsetMismatch && body.received.is_some() =>
            {
                offset = body.received.unwrap_or_default();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SendError::Client(ClientError::BadResponse(format!(
        "o servidor não aceitou a posição de retomada de {name}"
    ))))
}
