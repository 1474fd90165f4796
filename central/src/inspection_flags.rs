//! What an auditor should look at in an inspection, read from its audit trail (the station's
//! rows about it, whichever packages brought them) and its manifest: each flag names the row or
//! the film gap behind it, so the evidence is one click away. Flags point, they do not judge:
//! a §6 correction or a retake is allowed, and is exactly what a Detran wants to see first.

use serde::Serialize;
use serde_json::Value;
use vistoria_core::store::{AuditAction, AuditRow};
use vistoria_core::wire::PackageManifest;

/// A kind of flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// The rear photo's plate reading was corrected by hand (§6).
    PlateCorrected,
    /// A second photo of a kind was taken, with its reason.
    PhotoRetaken,
    /// A photo nearly matches one of another inspection at the station.
    PhotoReuseSuspected,
    /// The panoramic camera saw the bay empty while the inspection was open (§4).
    BayEmpty,
    /// The film has a gap (§4), with its cause.
    FilmGap,
}

impl FlagKind {
    /// Every kind, in the order the portal lists them.
    pub const ALL: [FlagKind; 5] = [
        FlagKind::PlateCorrected,
        FlagKind::PhotoRetaken,
        FlagKind::PhotoReuseSuspected,
        FlagKind::BayEmpty,
        FlagKind::FilmGap,
    ];

    /// The stable code (as serialized).
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::PlateCorrected => "plate_corrected",
            FlagKind::PhotoRetaken => "photo_retaken",
            FlagKind::PhotoReuseSuspected => "photo_reuse_suspected",
            FlagKind::BayEmpty => "bay_empty",
            FlagKind::FilmGap => "film_gap",
        }
    }

    /// The name the portal shows.
    pub fn label_pt(self) -> &'static str {
        match self {
            FlagKind::PlateCorrected => "Placa corrigida à mão (§6)",
            FlagKind::PhotoRetaken => "Foto refeita",
            FlagKind::PhotoReuseSuspected => "Foto parecida com a de outra vistoria",
            FlagKind::BayEmpty => "Baia vazia durante a vistoria (§4)",
            FlagKind::FilmGap => "Interrupção na filmagem (§4)",
        }
    }
}

/// One flag and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    /// What.
    pub kind: FlagKind,
    /// The audit row behind it (none for a film gap, which the film's manifest records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The row's central time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The row's details, or the gap.
    pub detail: Value,
}

/// The flags of an inspection, in the order of its trail, then its film gaps.
pub fn flags(trail: &[AuditRow], manifest: &PackageManifest) -> Vec<Flag> {
    let mut flags: Vec<Flag> = trail
        .iter()
        .filter_map(|row| {
            let kind = match AuditAction::parse(&row.action)? {
                AuditAction::OcrCorrected => FlagKind::PlateCorrected,
                AuditAction::MediaRetake => FlagKind::PhotoRetaken,
                AuditAction::MediaReuseSuspected => FlagKind::PhotoReuseSuspected,
                AuditAction::PanoramicBayEmpty => FlagKind::BayEmpty,
                _ => return None,
            };
            Some(Flag {
                kind,
                seq: Some(row.seq),
                at: row.at.clone(),
                detail: serde_json::from_str(&row.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    match manifest.metadata.get("film_gaps") {
        Some(Value::Array(gaps)) => flags.extend(gaps.iter().map(|gap| Flag {
            kind: FlagKind::FilmGap,
            seq: None,
            at: None,
            detail: gap.clone(),
        })),
        // The station could not read its film's manifest and said so.
        Some(other @ Value::Object(_)) => flags.push(Flag {
            kind: FlagKind::FilmGap,
            seq: None,
            at: None,
            detail: other.clone(),
        }),
        _ => {}
    }
    flags
}
