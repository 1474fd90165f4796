//! The station's side of the keyed audit chain: ask the central once for the first key and hand
//! it to the store, and check the chain against the central (`vistoria audit verify --central`).
//! The chain itself is `store::audit`; the central's side is `central/src/api/audit.rs`.

use crate::central_client::{CentralClient, ClientError};
use crate::clock::CentralStamp;
use crate::store::{AuditAction, AuditEvent, MacRow, Store, StoreError};
use crate::wire::{AUDIT_VERIFY_PAGE, AuditDivergence, ErrorCode};

/// Why the chain could not be keyed or checked.
#[derive(Debug, thiserror::Error)]
pub enum KeyingError {
    /// The central could not be reached or refused.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The central's answer is not a 32-byte hex key for the position asked.
    #[error("a central respondeu uma chave de auditoria inválida: {0}")]
    BadKey(String),
}

/// Keys the chain with the central's first key unless it is keyed already. `Ok(Some(seq))`:
/// keyed now from row `seq`; `Ok(None)`: it already was.
pub fn ensure_keyed(
    store: &mut Store,
    client: &CentralClient,
    now: Option<CentralStamp>,
) -> Result<Option<u64>, KeyingError> {
    if store.audit_mac_start()?.is_some() {
        return Ok(None);
    }
    let next_seq = store.audit_head()?.map_or(1, |(seq, _)| seq + 1);
    let answer = client.audit_key(next_seq)?;
    let key: [u8; 32] = hex::decode(&answer.key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| KeyingError::BadKey("não tem 32 bytes em hexadecimal".into()))?;
    if answer.start_seq != next_seq {
        return Err(KeyingError::BadKey(format!(
            "emitida para o registro {}, mas o próximo registro é o {next_seq}",
            answer.start_seq
        )));
    }
    let event = AuditEvent::new(now, "system", AuditAction::AuditKeyed)
        .detail(serde_json::json!({ "start_seq": next_seq }));
    Ok(Some(store.provision_audit_key(&key, event)?))
}

/// What the central said of the whole chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CentralCheck {
    /// First keyed row, if keyed.
    pub keyed_from: Option<u64>,
    /// Rows whose MAC the central checked.
    pub macs_checked: u64,
    /// Package anchors compared.
    pub anchors_checked: u64,
    /// The first divergence.
    pub divergence: Option<AuditDivergence>,
}

/// Sends every row's position, hash and MAC to the central, page by page, and gathers the
/// first divergence it names.
pub fn verify_with_central(
    rows: &[MacRow],
    client: &CentralClient,
) -> Result<CentralCheck, KeyingError> {
    let mut check = CentralCheck::default();
    for page in rows.chunks(AUDIT_VERIFY_PAGE) {
        let answer = client.verify_audit(page.to_vec())?;
        check.keyed_from = answer.keyed_from;
        check.macs_checked += answer.macs_checked;
        check.anchors_checked += answer.anchors_checked;
        if check.divergence.is_none() {
            check.divergence = answer.divergence;
        }
    }
    Ok(check)
}

/// Whether `e` is the central saying the key was handed out already.
pub fn already_issued(e: &KeyingError) -> bool {
    matches!(e, KeyingError::Client(c) if c.code() == Some(ErrorCode::AuditKeyIssued))
}

/// [`ensure_keyed`] after a clock sync: never fails the sync, says what happened in the log and
/// tries again at the next sync.
pub fn key_after_sync(store: &mut Store, client: &CentralClient, now: Option<CentralStamp>) {
    match ensure_keyed(store, client, now) {
        Ok(Some(start)) => tracing::info!(start, "audit chain keyed by the central"),
        Ok(None) => {}
        Err(e) if already_issued(&e) => tracing::error!(
            %e,
            "the central handed this station's audit key out before and will not again; the chain stays unkeyed until support resets it"
        ),
        Err(e) => tracing::warn!(%e, "audit chain not keyed yet; trying again at the next sync"),
    }
}
