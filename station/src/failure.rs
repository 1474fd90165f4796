//! What the station answers when it cannot do something: one of five kinds, each with its
//! Portuguese text for the person at the screen. The window decides from the kind, never from
//! the words: only [`Failure::Offline`] marks the kiosk offline, a [`Failure::Rule`] is the
//! person's to fix, a [`Failure::Device`] is the technician's.

use vistoria_core::accounts::LoginError;
use vistoria_core::biometrics::BiometricError;
use vistoria_core::capture::CaptureError;
use vistoria_core::central_client::ClientError;
use vistoria_core::clock::ClockError;
use vistoria_core::domain::{
    ChassisError, IdentityError, PlateError, RenavamError, TransitionError,
};
use vistoria_core::laudo::document::LaudoError;
use vistoria_core::ocr::OcrError;
use vistoria_core::ocr::correction::CorrectionError;
use vistoria_core::outbox::OutboxError;
use vistoria_core::store::StoreError;
use vistoria_core::workflow::WorkflowError;
use vistoria_drivers::DeviceError;

/// A failure at the station boundary: cloneable so it rides in the window's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The central cannot be reached (network, TLS, no answer) or there is no central time
    /// yet: what was asked is kept or can be asked again once the link is back.
    #[error("{0}")]
    Offline(String),
    /// The central answered and said no.
    #[error("{0}")]
    Refused(String),
    /// A device (camera, reader, e-CPF card, printer, panoramic camera) failed.
    #[error("{0}")]
    Device(String),
    /// A rule (the Portaria's or the inspection's state) does not allow it; the text says
    /// what to do.
    #[error("{0}")]
    Rule(String),
    /// Something inside the station failed (store, files, a worker thread).
    #[error("falha interna: {0}")]
    Internal(String),
}

impl Failure {
    /// A rule's refusal.
    pub fn rule(text: impl Into<String>) -> Failure {
        Failure::Rule(text.into())
    }

    /// A device's failure.
    pub fn device(text: impl Into<String>) -> Failure {
        Failure::Device(text.into())
    }

    /// An internal failure.
    pub fn internal(text: impl Into<String>) -> Failure {
        Failure::Internal(text.into())
    }

    /// Whether it says the central cannot be reached.
    pub fn is_offline(&self) -> bool {
        matches!(self, Failure::Offline(_))
    }

    /// The same kind with `context` in front of its text.
    pub fn context(self, context: &str) -> Failure {
        let add = |t: String| format!("{context}: {t}");
        match self {
            Failure::Offline(t) => Failure::Offline(add(t)),
            Failure::Refused(t) => Failure::Refused(add(t)),
            Failure::Device(t) => Failure::Device(add(t)),
            Failure::Rule(t) => Failure::Rule(add(t)),
            Failure::Internal(t) => Failure::Internal(add(t)),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        let text = e.to_string();
        match e {
            // A garbled answer is what a broken link or proxy gives: as good as offline, and
            // the same request may go through later.
            ClientError::Unreachable(_) | ClientError::BadResponse(_) => Failure::Offline(text),
            ClientError::Refused { .. } => Failure::Refused(text),
            ClientError::Clock(c) => c.into(),
            ClientError::LocalBody(_) | ClientError::Setup(_) => Failure::Internal(text),
        }
    }
}

impl From<ClockError> for Failure {
    fn from(e: ClockError) -> Failure {
        match e {
            // No central time: the station must reach the central first (2d).
            ClockError::NeverSynced | ClockError::RebootedSinceSync => {
                Failure::Offline(e.to_string())
            }
            ClockError::BadSync(_) => Failure::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::NotFound(_) => Failure::Rule(e.to_string()),
            _ => Failure::Internal(e.to_string()),
        }
    }
}

impl From<TransitionError> for Failure {
    fn from(e: TransitionError) -> Failure {
        Failure::Rule(e.to_string())
    }
}

impl From<WorkflowError> for Failure {
    fn from(e: WorkflowError) -> Failure {
        match e {
            WorkflowError::Store(s) => s.into(),
            WorkflowError::Transition(t) => t.into(),
            other => Failure::Rule(other.to_string()),
        }
    }
}

impl From<OutboxError> for Failure {
    fn from(e: OutboxError) -> Failure {
        match e {
            OutboxError::Clock(c) => c.into(),
            OutboxError::Store(s) => s.into(),
            OutboxError::Transition(t) => t.into(),
            other => Failure::Internal(other.to_string()),
        }
    }
}

/// What a person typed or chose does not hold: always theirs to fix.
macro_rules! rule_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Failure {
                Failure::Rule(e.to_string())
            }
        }
    )*};
}
rule_errors!(PlateError, RenavamError, ChassisError, IdentityError);

impl From<LoginError> for Failure {
    fn from(e: LoginError) -> Failure {
        match e {
            LoginError::Store(_) => Failure::Internal(e.to_string()),
            _ => Failure::Rule(e.to_string()),
        }
    }
}

impl From<BiometricError> for Failure {
    fn from(e: BiometricError) -> Failure {
        match e {
            // A capture of bad quality: the reader's image, not the person's right to sign.
            BiometricError::Rejected(_) | BiometricError::BadImage(_) => {
                Failure::Device(e.to_string())
            }
            BiometricError::NotEnrolled(_) | BiometricError::Disagreement => {
                Failure::Rule(e.to_string())
            }
            _ => Failure::Internal(e.to_string()),
        }
    }
}

impl From<CaptureError> for Failure {
    fn from(e: CaptureError) -> Failure {
        match e {
            // The frame is too dark, too small, not in colour: the camera's output.
            CaptureError::Quality(_) => Failure::Device(e.to_string()),
            CaptureError::Store(s) => s.into(),
            _ => Failure::Internal(e.to_string()),
        }
    }
}

impl From<CorrectionError> for Failure {
    fn from(e: CorrectionError) -> Failure {
        match e {
            CorrectionError::Store(s) => s.into(),
            _ => Failure::Rule(e.to_string()),
        }
    }
}

impl From<OcrError> for Failure {
    fn from(e: OcrError) -> Failure {
        Failure::Internal(e.to_string())
    }
}

impl From<LaudoError> for Failure {
    fn from(e: LaudoError) -> Failure {
        match e {
            LaudoError::NotEnded => Failure::Rule(e.to_string()),
            _ => Failure::Internal(e.to_string()),
        }
    }
}

impl From<DeviceError> for Failure {
    fn from(e: DeviceError) -> Failure {
        Failure::Device(e.to_string())
    }
}

impl From<vistoria_core::staff::StaffError> for Failure {
    fn from(e: vistoria_core::staff::StaffError) -> Failure {
        use vistoria_core::staff::StaffError;
        match e {
            StaffError::Biometric(b) => Failure::from(b),
            StaffError::Store(s) => Failure::from(s),
            other => Failure::Rule(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_central_or_missing_central_time_is_offline() {
        assert!(Failure::from(ClientError::Unreachable("tempo esgotado".into())).is_offline());
        assert!(Failure::from(ClockError::NeverSynced).is_offline());
        assert!(!Failure::from(ClientError::Setup("certificado".into())).is_offline());
        assert!(!Failure::rule("Faltam fotos").is_offline());
        assert!(!Failure::device("câmera desconectada").is_offline());
        // The words do not decide: a refusal that mentions the network is still a refusal.
        assert!(!Failure::Refused("servidor central inacessível".into()).is_offline());
    }

    #[test]
    fn the_text_is_the_persons_and_an_internal_failure_says_so() {
        assert_eq!(Failure::rule("Faltam fotos").to_string(), "Faltam fotos");
        assert_eq!(
            Failure::internal("disco cheio").to_string(),
            "falha interna: disco cheio"
        );
        assert_eq!(
            Failure::device("sem sinal").context("Câmera").to_string(),
            "Câmera: sem sinal"
        );
    }
}
