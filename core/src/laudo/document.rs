//! The laudo as a canonical, versioned document: what the inspector signs is exactly what is
//! stored and sent (§14), so its bytes are deterministic ([`Laudo::canonical_bytes`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::biometrics::BiometricCheck;
use crate::domain::{Inspection, Outcome, Verdict};
pub use crate::film::FilmGap;
use crate::ocr::correction::PlateCorrection;

/// Version of the laudo document format. Bumped on any change to its fields.
/// 2: the §14 check with its real score, threshold, finger and time; the §6 reading and its
/// correction; the gaps of the film (§4).
pub const LAUDO_VERSION: u32 = 2;

/// The station that made the inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationInfo {
    /// ECV code at DETRAN-MT.
    pub code: String,
    /// Trade name.
    pub name: String,
    /// City/UF.
    pub city: String,
}

/// The inspector who signs (§11, §14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorInfo {
    /// Full name.
    pub name: String,
    /// CPF, 11 digits.
    pub cpf: String,
}

/// The vehicle as identified at the counter and returned by the central (§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VehicleInfo {
    /// Plate, normalised.
    pub plate: String,
    /// RENAVAM.
    pub renavam: Option<String>,
    /// Chassis (VIN).
    pub chassis: Option<String>,
    /// Make/model.
    pub make_model: String,
    /// Model year.
    pub year: u16,
    /// Colour.
    pub colour: String,
    /// Class code.
    pub class: String,
    /// Class label.
    pub class_label: String,
    /// City of registration.
    pub city: String,
}

/// One checklist line (§13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistLine {
    /// Stable item code.
    pub code: String,
    /// Group label.
    pub group: String,
    /// Item label.
    pub label: String,
    /// Whether conforming.
    pub conforming: bool,
    /// Condition label ("Conforme", "Não conforme", …).
    pub condition: String,
    /// Inspector's note.
    pub note: Option<String>,
}

/// The result (§12): a verdict or an interruption with its cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LaudoResult {
    /// Concluded.
    Concluded {
        /// "Conforme" / "Não conforme".
        label: String,
        /// Codes of the non-conforming items.
        non_conforming: Vec<String>,
    },
    /// Interrupted.
    Interrupted {
        /// Cause code.
        cause: String,
        /// Cause label.
        label: String,
        /// Note.
        note: String,
    },
}

impl LaudoResult {
    /// The big word on the laudo.
    pub fn headline_pt(&self) -> &str {
        match self {
            LaudoResult::Concluded { label, .. } => label,
            LaudoResult::Interrupted { .. } => "Interrompida",
        }
    }
}

/// A photo taken (§7), referenced by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// Photo kind code.
    pub kind: String,
    /// Kind label.
    pub label: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Central time of the capture.
    pub captured_at: DateTime<Utc>,
}

/// A panoramic video segment (§6), referenced by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    /// Order in the recording.
    pub index: u32,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The §6 reading of the rear photo and, when it differed from the typed plate or nothing was
/// read, its correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlateReadingLine {
    /// SHA-256 of the rear photo read.
    pub photo_sha256: String,
    /// What OCR read, if anything.
    pub read: Option<String>,
    /// Confidence, millionths (integers only).
    pub confidence_ppm: u32,
    /// `match`, `mismatch`, `doubtful` (read as typed, below the confidence that stands alone)
    /// or `unreadable` (`unread` when no reading was stored).
    pub result: String,
    /// The correction, with who made it, why and when.
    pub correction: Option<PlateCorrection>,
}

/// Central times of the inspection (2d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentralTimes {
    /// Vehicle query.
    pub queried_at: DateTime<Utc>,
    /// Conclusion or interruption.
    pub ended_at: DateTime<Utc>,
    /// The laudo document was made (right before signing).
    pub issued_at: DateTime<Utc>,
}

/// The laudo document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Laudo {
    /// [`LAUDO_VERSION`].
    pub version: u32,
    /// Laudo number: the one the central allocated at the vehicle query (the receipt carries
    /// the same); the station's own only for an inspection opened before the central
    /// allocated numbers.
    pub number: String,
    /// Inspection id.
    pub inspection_id: String,
    /// Station.
    pub station: StationInfo,
    /// Inspector.
    pub inspector: InspectorInfo,
    /// Vehicle.
    pub vehicle: VehicleInfo,
    /// Checklist in order.
    pub checklist: Vec<ChecklistLine>,
    /// Result.
    pub result: LaudoResult,
    /// Photos.
    pub photos: Vec<PhotoRef>,
    /// Panoramic video segments.
    pub panoramic_segments: Vec<SegmentRef>,
    /// Central times.
    pub times: CentralTimes,
    /// Biometric re-check before signing.
    pub biometric_check: BiometricCheck,
    /// The rear photo's plate reading and its correction (§6); none for an inspection
    /// interrupted before its rear photo.
    pub plate_reading: Option<PlateReadingLine>,
    /// Every stretch the panoramic film lacks (§4), in order.
    pub film_gaps: Vec<FilmGap>,
    /// Where anyone can check this laudo at the central (the QR code).
    pub verify_url: String,
}

/// Why a laudo could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaudoError {
    /// The inspection has no outcome yet.
    #[error("a vistoria ainda não foi concluída nem interrompida")]
    NotEnded,
    /// The bytes are not a laudo of a known version in canonical form.
    #[error("laudo inválido: {0}")]
    Invalid(String),
    /// PDF rendering failed.
    #[error("falha ao gerar o PDF do laudo: {0}")]
    Pdf(String),
}

/// What the inspection does not know and the laudo needs.
#[derive(Debug, Clone)]
pub struct LaudoInputs {
    /// Laudo number.
    pub number: String,
    /// Station.
    pub station: StationInfo,
    /// Inspector.
    pub inspector: InspectorInfo,
    /// Photos.
    pub photos: Vec<PhotoRef>,
    /// Panoramic segments.
    pub panoramic_segments: Vec<SegmentRef>,
    /// Biometric re-check, made by the station's matcher.
    pub biometric_check: BiometricCheck,
    /// The §6 reading and correction ([`super::stored::plate_reading`]).
    pub plate_reading: Option<PlateReadingLine>,
    /// The film's gaps (§4).
    pub film_gaps: Vec<FilmGap>,
    /// Central time now.
    pub issued_at: DateTime<Utc>,
    /// Base URL of the central's public check page ([`verify_base_url`]); the laudo number is
    /// appended.
    pub verify_base_url: String,
}

/// The base of the central's public check page for laudos ([`crate::wire::VERIFY_PREFIX`]) at
/// the central whose root URL is `central_url`, as the laudo's QR code gives it.
pub fn verify_base_url(central_url: &str) -> String {
    format!(
        "{}{}/",
        central_url.trim_end_matches('/'),
        crate::wire::VERIFY_PREFIX
    )
}

impl Laudo {
    /// Builds the laudo of an ended inspection.
    pub fn from_inspection(
        inspection: &Inspection,
        inputs: LaudoInputs,
    ) -> Result<Laudo, LaudoError> {
        let outcome = inspection.outcome().ok_or(LaudoError::NotEnded)?;
        let (result, ended_at) = match &outcome {
            Outcome::Verdict(verdict) => (
                LaudoResult::Concluded {
                    label: verdict.label_pt().to_owned(),
                    non_conforming: match verdict {
                        Verdict::Conforming => Vec::new(),
                        Verdict::NonConforming { items } => {
                            items.iter().map(|i| i.code().to_owned()).collect()
                        }
                    },
                },
                inspection.last_event_at(),
            ),
            Outcome::Interrupted(interruption) => (
                LaudoResult::Interrupted {
                    cause: interruption.cause.code().to_owned(),
                    label: interruption.cause.label_pt().to_owned(),
                    note: interruption.note.clone(),
                },
                interruption.at,
            ),
        };
        let identity = inspection.vehicle();
        let data = inspection.data();
        let checklist = inspection
            .checklist()
            .entries()
            .iter()
            .map(|entry| ChecklistLine {
                code: entry.item.code().to_owned(),
                group: entry.item.group().label_pt().to_owned(),
                label: entry.item.label_pt().to_owned(),
                conforming: entry.condition != crate::domain::Condition::NonConforming,
                condition: entry.condition.label_pt().to_owned(),
                note: entry.note.clone(),
            })
            .collect();
        let verify_url = format!(
            "{}/{}",
            inputs.verify_base_url.trim_end_matches('/'),
            inputs.number
        );
        Ok(Laudo {
            version: LAUDO_VERSION,
            number: inputs.number,
            inspection_id: inspection.id().to_string(),
            station: inputs.station,
            inspector: InspectorInfo {
                cpf: inputs
                    .inspector
                    .cpf
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect(),
                ..inputs.inspector
            },
            vehicle: VehicleInfo {
                plate: identity.plate().to_string(),
                renavam: identity.renavam().map(ToString::to_string),
                chassis: identity
                    .chassis()
                    .map(ToString::to_string)
                    .or_else(|| data.chassis.clone()),
                make_model: data.make_model.clone(),
                year: data.year,
                colour: data.colour.clone(),
                class: data.class.code().to_owned(),
                class_label: data.class.label_pt().to_owned(),
                city: data.city.clone(),
            },
            checklist,
            result,
            photos: inputs.photos,
            panoramic_segments: inputs.panoramic_segments,
            times: CentralTimes {
                queried_at: inspection.queried_at(),
                ended_at,
                issued_at: inputs.issued_at,
            },
            biometric_check: inputs.biometric_check,
            plate_reading: inputs.plate_reading,
            film_gaps: inputs.film_gaps,
            verify_url,
        })
    }

    /// The canonical bytes: UTF-8 JSON, object keys sorted by code point at every level, no
    /// insignificant whitespace, integers only. This is what is signed, stored and sent.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let value = serde_json::to_value(self).expect("a laudo always serialises");
        crate::canonical::canonical_json(&value).into_bytes()
    }

    /// Reads canonical bytes back, refusing other versions and non-canonical input (so a
    /// signature over these bytes is a signature over this laudo).
    pub fn from_canonical(bytes: &[u8]) -> Result<Laudo, LaudoError> {
        let laudo: Laudo =
            serde_json::from_slice(bytes).map_err(|e| LaudoError::Invalid(e.to_string()))?;
        if laudo.version != LAUDO_VERSION {
            return Err(LaudoError::Invalid(format!(
                "versão {} não suportada",
                laudo.version
            )));
        }
        if laudo.canonical_bytes() != bytes {
            return Err(LaudoError::Invalid("não está na forma canônica".into()));
        }
        Ok(laudo)
    }
}
