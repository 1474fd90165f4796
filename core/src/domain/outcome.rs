//! What an inspection ends with (§12): a verdict, or an interruption with its cause; then the
//! inspector's signature (§11, §14) and the central's receipt.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::checklist::ChecklistItem;
use super::vehicle::{UnknownCode, parse_code};

/// The result of a completed inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Conforme: every applicable item conforming.
    Conforming,
    /// Não conforme, naming the non-conforming items (§12), in checklist order.
    NonConforming {
        /// The items found non-conforming.
        items: Vec<ChecklistItem>,
    },
}

impl Verdict {
    /// Name shown to users and printed on the laudo.
    pub fn label_pt(&self) -> &'static str {
        match self {
            Verdict::Conforming => "Conforme",
            Verdict::NonConforming { .. } => "Não conforme",
        }
    }
}

/// Why an inspection was interrupted (§12 asks for the cause to be qualified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptionCause {
    /// The vehicle left the monitored area before the end (§4).
    VehicleWithdrawn,
    /// The customer gave up.
    CustomerGaveUp,
    /// Documents missing or irregular.
    IrregularDocuments,
    /// The vehicle cannot be inspected safely or cannot move.
    VehicleUnsafe,
    /// A camera, reader or other device failed.
    EquipmentFailure,
    /// The software or the connection failed, including a kiosk crash.
    SystemFailure,
    /// The 4 hours counted from the vehicle query ran out (2b, §9). Set only by the system.
    DeadlineExpired,
    /// Anything else; the note must say what.
    Other,
}

impl InterruptionCause {
    /// Every cause, in the order the interruption screen lists them.
    pub const ALL: [InterruptionCause; 8] = [
        InterruptionCause::VehicleWithdrawn,
        InterruptionCause::CustomerGaveUp,
        InterruptionCause::IrregularDocuments,
        InterruptionCause::VehicleUnsafe,
        InterruptionCause::EquipmentFailure,
        InterruptionCause::SystemFailure,
        InterruptionCause::DeadlineExpired,
        InterruptionCause::Other,
    ];

    /// Name shown to users and printed on the laudo.
    pub fn label_pt(self) -> &'static str {
        match self {
            InterruptionCause::VehicleWithdrawn => "Veículo retirado da área de vistoria",
            InterruptionCause::CustomerGaveUp => "Desistência do cliente",
            InterruptionCause::IrregularDocuments => "Documentação irregular",
            InterruptionCause::VehicleUnsafe => "Veículo sem condições de segurança ou de rodagem",
            InterruptionCause::EquipmentFailure => "Falha de equipamento",
            InterruptionCause::SystemFailure => "Falha do sistema",
            InterruptionCause::DeadlineExpired => "Prazo de 4 horas esgotado",
            InterruptionCause::Other => "Outro motivo",
        }
    }

    /// Stable snake_case code, also the serde name.
    pub fn code(self) -> &'static str {
        match self {
            InterruptionCause::VehicleWithdrawn => "vehicle_withdrawn",
            InterruptionCause::CustomerGaveUp => "customer_gave_up",
            InterruptionCause::IrregularDocuments => "irregular_documents",
            InterruptionCause::VehicleUnsafe => "vehicle_unsafe",
            InterruptionCause::EquipmentFailure => "equipment_failure",
            InterruptionCause::SystemFailure => "system_failure",
            InterruptionCause::DeadlineExpired => "deadline_expired",
            InterruptionCause::Other => "other",
        }
    }

    /// Whether the interruption must carry a non-empty note.
    pub fn requires_note(self) -> bool {
        self == InterruptionCause::Other
    }

    /// Whether only the system may record it (a person cannot declare the deadline passed).
    pub fn is_system_only(self) -> bool {
        self == InterruptionCause::DeadlineExpired
    }
}

impl fmt::Display for InterruptionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_pt())
    }
}

impl FromStr for InterruptionCause {
    type Err = UnknownCode;

    /// Parses the stable [`InterruptionCause::code`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_code(&Self::ALL, Self::code, "causa de interrupção", s)
    }
}

/// An interruption as recorded (§12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    /// Why.
    pub cause: InterruptionCause,
    /// Free text from the inspector or the system; trimmed, may be empty unless the cause
    /// requires one.
    pub note: String,
    /// Central time of the interruption.
    pub at: DateTime<Utc>,
    /// The verdict that had been concluded but not yet signed, when the interruption came after
    /// the conclusion (a crash or the deadline before the signature). Kept so the result stays
    /// visible; it is not a signed laudo.
    pub unsigned_verdict: Option<Verdict>,
}

/// How the inspection ended: the part of the state that every later state carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Concluded with a verdict.
    Verdict(Verdict),
    /// Interrupted with a cause.
    Interrupted(Interruption),
}

impl Outcome {
    /// "Conforme", "Não conforme" or "Interrompida".
    pub fn label_pt(&self) -> &'static str {
        match self {
            Outcome::Verdict(verdict) => verdict.label_pt(),
            Outcome::Interrupted(_) => "Interrompida",
        }
    }

    /// The verdict, when concluded.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            Outcome::Verdict(verdict) => Some(verdict),
            Outcome::Interrupted(_) => None,
        }
    }

    /// The interruption, when interrupted.
    pub fn interruption(&self) -> Option<&Interruption> {
        match self {
            Outcome::Verdict(_) => None,
            Outcome::Interrupted(interruption) => Some(interruption),
        }
    }
}

/// Who signed the laudo and when (§11 fingerprint, §14 e-CPF A3). The cryptographic material
/// itself lives with the laudo package, not in the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// The inspector's identification (name and CPF, as the laudo prints it).
    pub signer: String,
    /// Central time of the signature.
    pub at: DateTime<Utc>,
    /// Subject or serial of the e-CPF certificate used, when one was.
    pub certificate: Option<String>,
}

/// The central's acknowledgement of a delivered inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Number the DETRAN system gave the laudo.
    pub laudo_number: String,
    /// Central time of receipt.
    pub received_at: DateTime<Utc>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cause_codes_round_trip_and_match_serde() {
        for cause in InterruptionCause::ALL {
            assert_eq!(cause.code().parse::<InterruptionCause>().unwrap(), cause);
            assert_eq!(
                serde_json::to_string(&cause).unwrap(),
                format!("\"{}\"", cause.code())
            );
            assert_eq!(cause.requires_note(), cause == InterruptionCause::Other);
        }
        assert_eq!(
            "tired"
                .parse::<InterruptionCause>()
                .unwrap_err()
                .to_string(),
            "código de causa de interrupção desconhecido: «tired»"
        );
    }

    #[test]
    fn verdict_serde_and_labels() {
        let v = Verdict::NonConforming {
            items: vec![ChecklistItem::Tyres],
        };
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"verdict":"non_conforming","items":["tyres"]}"#);
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
        assert_eq!(Outcome::Verdict(v).label_pt(), "Não conforme");
        assert_eq!(Outcome::Verdict(Verdict::Conforming).label_pt(), "Conforme");
    }
}
