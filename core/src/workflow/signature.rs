//! §14: the station itself takes the inspector's fingerprint and matches it right before the
//! signature. The caller hands over the reader's image, never a score; the passed check is kept
//! for the inspection (table `biometric_checks`), the laudo carries it, and no event that signs
//! is applied without a check of the signing inspector made within [`CHECK_VALIDITY`].

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::WorkflowError;
use crate::biometrics::vault::Vault;
use crate::biometrics::{BiometricCheck, CheckError, GrayImage};
use crate::clock::CentralStamp;
use crate::domain::{Event, Inspection};
use crate::store::{AuditAction, AuditEvent, Store};

/// How long a fingerprint check stands for the signature that follows it: the inspector types
/// the card's PIN in between, and may have to type it again.
pub const CHECK_VALIDITY: TimeDelta = TimeDelta::minutes(10);

/// Holds the fingerprint `capture`, just taken by the station's reader, to `login`'s enrolled
/// templates; a passed check is kept for `inspection` with an audit row, a failed one audited.
#[allow(clippy::too_many_arguments)]
pub fn confirm_fingerprint(
    store: &mut Store,
    vault: &Vault,
    inspection: &Inspection,
    login: &str,
    capture: &GrayImage,
    previous: Option<&GrayImage>,
    now: CentralStamp,
) -> Result<BiometricCheck, WorkflowError> {
    if !inspection.allowed_events().contains(&Event::Sign) {
        return Err(WorkflowError::NoBiometricCheck(format!(
            "a vistoria está {}: não há laudo a assinar",
            inspection.state_kind().label_pt()
        )));
    }
    let result = vault
        .load(login)
        .map_err(CheckError::from)
        .and_then(|templates| BiometricCheck::confirm(capture, previous, &templates, now.at));
    match result {
        Ok(check) => {
            let event = AuditEvent::new(Some(now), login, AuditAction::BiometricsSignatureCheck)
                .detail(json!({
                    "score": check.score(),
                    "threshold": check.threshold(),
                    "finger": check.finger(),
                }));
            store.save_biometric_check(inspection.id(), login, &check, event)?;
            Ok(check)
        }
        Err(e) => {
            let (action, detail) = match &e {
                CheckError::NoMatch { score, threshold } => (
                    AuditAction::BiometricsSignatureCheckFailed,
                    json!({ "score": score, "threshold": threshold }),
                ),
                CheckError::Capture(why) => (
                    AuditAction::BiometricsCaptureRejected,
                    json!({ "reason": why.to_string() }),
                ),
            };
            store.audit(
                AuditEvent::new(Some(now), login, action)
                    .inspection(inspection.id())
                    .detail(detail),
            )?;
            Err(e.into())
        }
    }
}

/// The check that stands for `login` signing `inspection` at `at`: the latest one kept for it,
/// passed by that inspector no more than [`CHECK_VALIDITY`] before.
pub fn check_for_signature(
    store: &Store,
    inspection: &Inspection,
    login: &str,
    at: DateTime<Utc>,
) -> Result<BiometricCheck, WorkflowError> {
    let missing = || {
        WorkflowError::NoBiometricCheck(
            "confira a digital do vistoriador no leitor da estação antes de assinar (§14)"
                .to_owned(),
        )
    };
    let (who, check) = store
        .biometric_check(inspection.id())?
        .ok_or_else(missing)?;
    if who != login {
        return Err(missing());
    }
    if at - check.at() > CHECK_VALIDITY {
        return Err(WorkflowError::NoBiometricCheck(format!(
            "a conferência da digital foi há mais de {} minutos: confira a digital de novo antes de assinar (§14)",
            CHECK_VALIDITY.num_minutes()
        )));
    }
    Ok(check)
}

pub(super) fn check_signer(
    store: &Store,
    inspection: &Inspection,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    check_for_signature(store, inspection, actor, at).map(drop)
}
