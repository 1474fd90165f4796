//! What an auditor should look at in an inspection, read from its audit trail (the station's
//! rows about it, whichever packages brought them) and its manifest: each flag names the row or
//! the film gap behind it, so the evidence is one click away. Flags point, they do not judge:
//! a §6 correction or a retake is allowed, and is exactly what a Detran wants to see first.

use serde::Serialize;
use serde_json::Value;
use vistoria_core::store::{AuditAction, AuditRow};
use vistoria_core::wire::PackageManifest;

use crate::storage::cross_flags::{CrossFlagRecord, CrossKind};
use crate::storage::{MetadataStore, PackageRecord, StorageResult};

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
    /// A photo nearly matches one of another inspection, any station (computed at the central:
    /// [`crate::cross_flags`], as are the three below).
    PhotoNearDuplicate,
    /// The same vehicle was inspected the same day at another station.
    PlateTwiceSameDay,
    /// The same inspector had an inspection at another station overlapping this one.
    InspectorOverlap,
    /// Much shorter than the usual time of its vehicle class.
    ShortInspection,
}

impl FlagKind {
    /// Every kind, in the order the portal lists them.
    pub const ALL: [FlagKind; 9] = [
        FlagKind::PlateCorrected,
        FlagKind::PhotoRetaken,
        FlagKind::PhotoReuseSuspected,
        FlagKind::BayEmpty,
        FlagKind::FilmGap,
        FlagKind::PhotoNearDuplicate,
        FlagKind::PlateTwiceSameDay,
        FlagKind::InspectorOverlap,
        FlagKind::ShortInspection,
    ];

    /// The stable code (as serialized).
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::PlateCorrected => "plate_corrected",
            FlagKind::PhotoRetaken => "photo_retaken",
            FlagKind::PhotoReuseSuspected => "photo_reuse_suspected",
            FlagKind::BayEmpty => "bay_empty",
            FlagKind::FilmGap => "film_gap",
            FlagKind::PhotoNearDuplicate => "photo_near_duplicate",
            FlagKind::PlateTwiceSameDay => "plate_twice_same_day",
            FlagKind::InspectorOverlap => "inspector_overlap",
            FlagKind::ShortInspection => "short_inspection",
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
            FlagKind::PhotoNearDuplicate => {
                "Foto quase igual à de outra vistoria (todas as estações)"
            }
            FlagKind::PlateTwiceSameDay => "Mesmo veículo vistoriado no mesmo dia em outra estação",
            FlagKind::InspectorOverlap => "Vistoriador em duas estações ao mesmo tempo",
            FlagKind::ShortInspection => "Vistoria bem mais curta que o usual da classe",
        }
    }

    /// The kind of a cross-station flag.
    pub fn of_cross(kind: CrossKind) -> FlagKind {
        match kind {
            CrossKind::PhotoNearDuplicate => FlagKind::PhotoNearDuplicate,
            CrossKind::PlateTwiceSameDay => FlagKind::PlateTwiceSameDay,
            CrossKind::InspectorOverlap => FlagKind::InspectorOverlap,
            CrossKind::ShortInspection => FlagKind::ShortInspection,
        }
    }
}

/// What a cross-station flag points at: the other inspection and the photos compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagLink {
    /// The other inspection's station.
    pub station: String,
    /// The other inspection.
    pub inspection_id: uuid::Uuid,
    /// This inspection's photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// The other inspection's photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_photo: Option<String>,
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
    /// The other inspection a cross-station flag points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<FlagLink>,
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
                other: None,
            })
        })
        .collect();
    match manifest.metadata.get("film_gaps") {
        Some(Value::Array(gaps)) => flags.extend(gaps.iter().map(|gap| Flag {
            kind: FlagKind::FilmGap,
            seq: None,
            at: None,
            detail: gap.clone(),
            other: None,
        })),
        // The station could not read its film's manifest and said so.
        Some(other @ Value::Object(_)) => flags.push(Flag {
            kind: FlagKind::FilmGap,
            seq: None,
            at: None,
            detail: other.clone(),
            other: None,
        }),
        _ => {}
    }
    flags
}

/// A cross-station flag as a [`Flag`]: its text and figures, and the other inspection.
pub fn of_cross(record: &CrossFlagRecord) -> Flag {
    Flag {
        kind: FlagKind::of_cross(record.kind),
        seq: None,
        at: Some(vistoria_core::wire::rfc3339_ms::format(&record.raised_at)),
        detail: record.detail.clone(),
        other: record.other.as_ref().map(|o| FlagLink {
            station: o.station.clone(),
            inspection_id: o.inspection_id,
            photo: record.photo.clone(),
            other_photo: record.other_photo.clone(),
        }),
    }
}

/// Every flag of a package: those of its trail and manifest ([`flags`]), then those the
/// central computed across stations.
pub fn all_flags(meta: &dyn MetadataStore, package: &PackageRecord) -> StorageResult<Vec<Flag>> {
    let trail = meta.inspection_trail(&package.station, package.inspection_id)?;
    let mut out = flags(&trail, &package.manifest);
    out.extend(meta.cross_flags_of(&package.key())?.iter().map(of_cross));
    Ok(out)
}
