//! What an audit row records: every kind of event the station writes to its audit log, named
//! once here. The stored name (`inspection.opened`, …) is the row's `action`, which the hash
//! chain covers and the central reads, so a name never changes once shipped.

use std::fmt;

/// One kind of audited event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// The vehicle query was answered and the inspection opened (§5).
    InspectionOpened,
    /// The inspector took the vehicle.
    InspectionCaptureStarted,
    /// A checklist item was answered (§13).
    InspectionItemRecorded,
    /// Concluded with the checklist's verdict.
    InspectionConcluded,
    /// Interrupted, by a person or by the system (§12).
    InspectionInterrupted,
    /// The laudo was signed (§14).
    InspectionSigned,
    /// A signature attempt failed at the card.
    InspectionSignFailed,
    /// The package went into the outbox (2s).
    InspectionQueued,
    /// An evidence file was stored with its digests (§8).
    MediaStored,
    /// Files replaced by a new one of their kind (a laudo signed again).
    MediaSuperseded,
    /// A file the database does not list was moved aside.
    MediaQuarantined,
    /// A photo nearly matches one of another inspection.
    MediaReuseSuspected,
    /// A second photo of a kind, with its reason.
    MediaRetake,
    /// A photo the station takes by itself could not be taken (§7 a's panoramic), with why.
    MediaCaptureFailed,
    /// The plate of a rear photo was read (§6).
    OcrRead,
    /// The §6 correction of a reading.
    OcrCorrected,
    /// An inspector's fingerprint was enrolled.
    BiometricsEnrolled,
    /// Enrolment captures did not agree.
    BiometricsEnrolmentRejected,
    /// An inspector's templates were removed.
    BiometricsRemoved,
    /// A fingerprint capture was refused (quality, latent print).
    BiometricsCaptureRejected,
    /// Fingerprint login accepted.
    BiometricsLogin,
    /// Fingerprint login refused.
    BiometricsLoginFailed,
    /// The §14 check before the signature passed.
    BiometricsSignatureCheck,
    /// The §14 check before the signature failed.
    BiometricsSignatureCheckFailed,
    /// Filming of the inspection started (§4).
    PanoramicStarted,
    /// Filming resumed after a restart.
    PanoramicResumed,
    /// Filming could not start.
    PanoramicStartFailed,
    /// Filming ended and the film was stored.
    PanoramicStopped,
    /// The film of an inspection a crash interrupted was stored.
    PanoramicStoppedByCrash,
    /// A recording cut by a crash was recovered.
    PanoramicRecovered,
    /// The panoramic camera's video was lost.
    PanoramicVideoLost,
    /// The panoramic camera's video came back.
    PanoramicVideoRestored,
    /// The bay looks empty (§4).
    PanoramicBayEmpty,
    /// The vehicle is seen again in the bay.
    PanoramicBayOccupied,
    /// A technician set the bay's region of the panoramic frame (§17e presence).
    PanoramicBayRegionSet,
    /// A technician captured the still of the empty bay presence is judged against.
    PanoramicBayReferenceCaptured,
    /// A delivery attempt started.
    OutboxAttemptStarted,
    /// A delivery attempt cut short resumed.
    OutboxAttemptResumed,
    /// The central's receipt was recorded.
    OutboxDelivered,
    /// A delivery attempt failed.
    OutboxAttemptFailed,
    /// A technician asked for a new attempt.
    OutboxManualRetry,
    /// The audit chain was keyed by the central.
    AuditKeyed,
    /// A staff account was created or changed (§11).
    AccountSaved,
    /// Password login accepted.
    AccountLogin,
    /// Password login refused.
    AccountLoginFailed,
    /// A staff account was deactivated: its history stays, its login stops (§11).
    AccountDeactivated,
    /// A deactivated account was reactivated.
    AccountReactivated,
    /// An account's password was replaced by an administrator or at the shell.
    AccountPasswordReset,
    /// `vistoria staff bootstrap` issued the one-time code for the first administrator.
    SetupCodeIssued,
    /// The first administrator was created with the one-time code.
    SetupCodeRedeemed,
    /// A wrong or expired one-time code was offered.
    SetupCodeRefused,
    /// A signed policy of the central was put in force at the station (§15).
    PolicyApplied,
    /// A policy from the central was not applied: bad signature, older than the one in force,
    /// or out of bounds (§15).
    PolicyRefused,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 53] = [
        AuditAction::InspectionOpened,
        AuditAction::InspectionCaptureStarted,
        AuditAction::InspectionItemRecorded,
        AuditAction::InspectionConcluded,
        AuditAction::InspectionInterrupted,
        AuditAction::InspectionSigned,
        AuditAction::InspectionSignFailed,
        AuditAction::InspectionQueued,
        AuditAction::MediaStored,
        AuditAction::MediaSuperseded,
        AuditAction::MediaQuarantined,
        AuditAction::MediaReuseSuspected,
        AuditAction::MediaRetake,
        AuditAction::MediaCaptureFailed,
        AuditAction::OcrRead,
        AuditAction::OcrCorrected,
        AuditAction::BiometricsEnrolled,
        AuditAction::BiometricsEnrolmentRejected,
        AuditAction::BiometricsRemoved,
        AuditAction::BiometricsCaptureRejected,
        AuditAction::BiometricsLogin,
        AuditAction::BiometricsLoginFailed,
        AuditAction::BiometricsSignatureCheck,
        AuditAction::BiometricsSignatureCheckFailed,
        AuditAction::PanoramicStarted,
        AuditAction::PanoramicResumed,
        AuditAction::PanoramicStartFailed,
        AuditAction::PanoramicStopped,
        AuditAction::PanoramicStoppedByCrash,
        AuditAction::PanoramicRecovered,
        AuditAction::PanoramicVideoLost,
        AuditAction::PanoramicVideoRestored,
        AuditAction::PanoramicBayEmpty,
        AuditAction::PanoramicBayOccupied,
        AuditAction::PanoramicBayRegionSet,
        AuditAction::PanoramicBayReferenceCaptured,
        AuditAction::OutboxAttemptStarted,
        AuditAction::OutboxAttemptResumed,
        AuditAction::OutboxDelivered,
        AuditAction::OutboxAttemptFailed,
        AuditAction::OutboxManualRetry,
        AuditAction::AuditKeyed,
        AuditAction::AccountSaved,
        AuditAction::AccountLogin,
        AuditAction::AccountLoginFailed,
        AuditAction::AccountDeactivated,
        AuditAction::AccountReactivated,
        AuditAction::AccountPasswordReset,
        AuditAction::SetupCodeIssued,
        AuditAction::SetupCodeRedeemed,
        AuditAction::SetupCodeRefused,
        AuditAction::PolicyApplied,
        AuditAction::PolicyRefused,
    ];

    /// The stable dotted name stored in the row.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::InspectionOpened => "inspection.opened",
            AuditAction::InspectionCaptureStarted => "inspection.capture_started",
            AuditAction::InspectionItemRecorded => "inspection.item_recorded",
            AuditAction::InspectionConcluded => "inspection.concluded",
            AuditAction::InspectionInterrupted => "inspection.interrupted",
            AuditAction::InspectionSigned => "inspection.signed",
            AuditAction::InspectionSignFailed => "inspection.sign_failed",
            AuditAction::InspectionQueued => "inspection.queued",
            AuditAction::MediaStored => "media.stored",
            AuditAction::MediaSuperseded => "media.superseded",
            AuditAction::MediaQuarantined => "media.quarantined",
            AuditAction::MediaReuseSuspected => "media.reuse_suspected",
            AuditAction::MediaRetake => "media.retake",
            AuditAction::MediaCaptureFailed => "media.capture_failed",
            AuditAction::OcrRead => "ocr.read",
            AuditAction::OcrCorrected => "ocr.corrected",
            AuditAction::BiometricsEnrolled => "biometrics.enrolled",
            AuditAction::BiometricsEnrolmentRejected => "biometrics.enrolment_rejected",
            AuditAction::BiometricsRemoved => "biometrics.removed",
            AuditAction::BiometricsCaptureRejected => "biometrics.capture_rejected",
            AuditAction::BiometricsLogin => "biometrics.login",
            AuditAction::BiometricsLoginFailed => "biometrics.login_failed",
            AuditAction::BiometricsSignatureCheck => "biometrics.signature_check",
            AuditAction::BiometricsSignatureCheckFailed => "biometrics.signature_check_failed",
            AuditAction::PanoramicStarted => "panoramic.started",
            AuditAction::PanoramicResumed => "panoramic.resumed",
            AuditAction::PanoramicStartFailed => "panoramic.start_failed",
            AuditAction::PanoramicStopped => "panoramic.stopped",
            AuditAction::PanoramicStoppedByCrash => "panoramic.stopped_by_crash",
            AuditAction::PanoramicRecovered => "panoramic.recovered",
            AuditAction::PanoramicVideoLost => "panoramic.video_lost",
            AuditAction::PanoramicVideoRestored => "panoramic.video_restored",
            AuditAction::PanoramicBayEmpty => "panoramic.bay_empty",
            AuditAction::PanoramicBayOccupied => "panoramic.bay_occupied",
            AuditAction::PanoramicBayRegionSet => "panoramic.bay_region_set",
            AuditAction::PanoramicBayReferenceCaptured => "panoramic.bay_reference_captured",
            AuditAction::OutboxAttemptStarted => "outbox.attempt_started",
            AuditAction::OutboxAttemptResumed => "outbox.attempt_resumed",
            AuditAction::OutboxDelivered => "outbox.delivered",
            AuditAction::OutboxAttemptFailed => "outbox.attempt_failed",
            AuditAction::OutboxManualRetry => "outbox.manual_retry",
            AuditAction::AuditKeyed => "audit.keyed",
            AuditAction::AccountSaved => "account.saved",
            AuditAction::AccountLogin => "account.login",
            AuditAction::AccountLoginFailed => "account.login_failed",
            AuditAction::AccountDeactivated => "account.deactivated",
            AuditAction::AccountReactivated => "account.reactivated",
            AuditAction::AccountPasswordReset => "account.password_reset",
            AuditAction::SetupCodeIssued => "setup.code_issued",
            AuditAction::SetupCodeRedeemed => "setup.code_redeemed",
            AuditAction::SetupCodeRefused => "setup.code_refused",
            AuditAction::PolicyApplied => "policy.applied",
            AuditAction::PolicyRefused => "policy.refused",
        }
    }

    /// The action a stored name stands for, if this build knows it.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} twice");
            let (area, what) = name.split_once('.').expect("dotted");
            assert!(!area.is_empty() && !what.is_empty(), "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{name}"
            );
            assert_eq!(AuditAction::parse(name), Some(action));
        }
        assert_eq!(AuditAction::parse("test.event"), None);
    }
}
