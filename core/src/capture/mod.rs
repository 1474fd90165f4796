//! Evidence capture (§7, §8): for each frame from an integrated device, in this order —
//! resolution and colour check, quality checks, tarja, JPEG (96 dpi JFIF, EXIF GPS), MD5 and
//! SHA-256 of the final bytes, atomic storage with an audit row — timing each stage. A
//! perceptual hash of every photo flags reuse across inspections.
//!
//! There is no file import path: frames come in as pixels from a driver (§8).

pub mod font;
pub mod jpeg;
pub mod phash;
pub mod quality;
pub mod tarja;

use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;

use crate::clock::CentralStamp;
use crate::domain::{InspectionId, PhotoKind};
use crate::store::{AuditAction, AuditEvent, MediaRecord, NewMedia, Store, StoreError};

pub use phash::{ReuseIndex, ReuseMatch};
pub use quality::{QualityError, QualityLimits};

/// The station data burned into and embedded in every photo.
#[derive(Debug, Clone, PartialEq)]
pub struct StationInfo {
    /// Name shown on the tarja.
    pub name: String,
    /// Station code.
    pub code: String,
    /// Fixed latitude (2r).
    pub latitude: f64,
    /// Fixed longitude (2r).
    pub longitude: f64,
}

/// How long each stage took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimings {
    /// Resolution and colour check.
    pub format: Duration,
    /// Blur and exposure checks.
    pub quality: Duration,
    /// Burning the tarja.
    pub tarja: Duration,
    /// JPEG encoding.
    pub jpeg: Duration,
    /// Perceptual hash and reuse lookup.
    pub phash: Duration,
    /// Digests, durable write and audit row.
    pub store: Duration,
}

impl StageTimings {
    /// Sum of the stages.
    pub fn total(&self) -> Duration {
        self.format + self.quality + self.tarja + self.jpeg + self.phash + self.store
    }
}

/// A stored evidence photo.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The media row (with MD5 and SHA-256 of the stored bytes).
    pub record: MediaRecord,
    /// Its perceptual hash.
    pub phash: u64,
    /// A photo of another inspection it nearly matches, flagged to the inspector.
    pub reuse: Option<ReuseMatch>,
    /// Per-stage times.
    pub timings: StageTimings,
}

/// Why a frame did not become evidence.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The frame failed a check; the message tells the inspector how to retake it.
    #[error("{0}")]
    Quality(#[from] QualityError),
    /// Encoding failed.
    #[error("falha ao gerar o JPEG: {0}")]
    Encode(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reuse index could not be written.
    #[error("falha ao registrar a assinatura da foto: {0}")]
    Index(std::io::Error),
}

/// One capture request.
#[derive(Debug, Clone, Copy)]
pub struct Shot<'a> {
    /// The inspection.
    pub inspection: InspectionId,
    /// What the photo shows.
    pub kind: PhotoKind,
    /// Central time of the capture.
    pub at: CentralStamp,
    /// Who is capturing.
    pub actor: &'a str,
    /// Why a photo of this kind is taken again (the rule is [`crate::workflow::photos`]).
    pub retake_reason: Option<&'a str>,
}

/// Turns a frame into stored evidence.
pub fn capture(
    store: &mut Store,
    index: &mut ReuseIndex,
    station: &StationInfo,
    limits: &QualityLimits,
    mut frame: RgbImage,
    shot: Shot<'_>,
) -> Result<Evidence, CaptureError> {
    let mut t = StageTimings::default();
    let mut clock = Instant::now();
    let mut lap = |slot: &mut Duration| {
        let now = Instant::now();
        *slot = now - clock;
        clock = now;
    };
    quality::check_format(&frame)?;
    lap(&mut t.format);
    quality::check_quality(&frame, limits)?;
    lap(&mut t.quality);
    // The hash is taken before the tarja, which differs on every photo by design.
    let hash = phash::phash(&frame);
    let reuse = index.check(hash, shot.inspection, shot.at.at);
    lap(&mut t.phash);
    // Central time (2d) in the station's zone, as on the laudo, with the zone named.
    let when = format!(
        "{} (MT, UTC{})",
        crate::clock::station_time(shot.at.at),
        crate::clock::STATION_UTC_OFFSET_HOURS
    );
    let text = tarja::Tarja::new(
        &station.name,
        &station.code,
        &when,
        &shot.inspection.to_string(),
        shot.kind.label_pt(),
        station.latitude,
        station.longitude,
    );
    tarja::burn(&mut frame, &text);
    lap(&mut t.tarja);
    let bytes = jpeg::encode(
        frame.as_raw(),
        frame.width(),
        frame.height(),
        station.latitude,
        station.longitude,
    )
    .map_err(CaptureError::Encode)?;
    lap(&mut t.jpeg);
    let record = store.store_photo(
        NewMedia {
            inspection_id: shot.inspection,
            kind: shot.kind.code(),
            extension: "jpg",
            captured_at: shot.at,
            bytes: &bytes,
        },
        shot.actor,
        shot.retake_reason,
    )?;
    index
        .record(phash::HashEntry {
            media_id: record.id.clone(),
            inspection_id: shot.inspection,
            at: shot.at.at,
            phash: hash,
        })
        .map_err(CaptureError::Index)?;
    if let Some(m) = &reuse {
        store.audit(
            AuditEvent::new(Some(shot.at), shot.actor, AuditAction::MediaReuseSuspected)
                .inspection(shot.inspection)
                .detail(serde_json::json!({
                    "media_id": record.id,
                    "earlier_media_id": m.earlier.media_id,
                    "earlier_inspection_id": m.earlier.inspection_id,
                    "distance": m.distance,
                })),
        )?;
    }
    lap(&mut t.store);
    Ok(Evidence {
        record,
        phash: hash,
        reuse,
        timings: t,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::hashing::Digests;
    use crate::ocr::synth;
    use image::imageops::{self, FilterType};

    fn setup(dir: &std::path::Path) -> (Store, ReuseIndex, StationInfo, CentralStamp) {
        let (store, _) = Store::open(dir).unwrap();
        let index = ReuseIndex::open(&dir.join("phash.jsonl")).unwrap();
        let station = StationInfo {
            name: "ECV Teste".into(),
            code: "MT-0009".into(),
            latitude: -15.6,
            longitude: -56.1,
        };
        let at = CentralStamp {
            at: fixtures::sample_time(0),
            sync_age_ms: 0,
        };
        (store, index, station, at)
    }

    #[test]
    fn a_frame_becomes_verified_evidence_and_reuse_is_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut index, station, at) = setup(dir.path());
        let first = fixtures::sample_inspection(0);
        let second = fixtures::sample_inspection(1);
        for i in [&first, &second] {
            store
                .save_inspection(
                    i,
                    AuditEvent::new(Some(at), "op", AuditAction::InspectionOpened),
                )
                .unwrap();
        }
        let frame = synth::scene(21, 1600, 1024).image;
        let shot = |inspection: InspectionId| Shot {
            inspection,
            kind: PhotoKind::RearWithPlate,
            at,
            actor: "op",
            retake_reason: None,
        };
        let ev = capture(
            &mut store,
            &mut index,
            &station,
            &QualityLimits::default(),
            frame.clone(),
            shot(first.id()),
        )
        .unwrap();
        assert!(ev.reuse.is_none());
        assert!(ev.timings.total() > Duration::ZERO);
        let bytes = store.read_media(&ev.record).unwrap();
        assert_eq!(Digests::of(&bytes), ev.record.digests);
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (1600, 1024));
        // The same scene re-shot: resized back up from a smaller copy, recompressed, cropped.
        let cropped = imageops::crop_imm(&frame, 30, 20, 1560, 1000).to_image();
        let again = imageops::resize(
            &imageops::resize(&cropped, 1200, 770, FilterType::Triangle),
            1700,
            1090,
            FilterType::Triangle,
        );
        let ev2 = capture(
            &mut store,
            &mut index,
            &station,
            &QualityLimits::default(),
            again,
            shot(second.id()),
        )
        .unwrap();
        let m = ev2.reuse.unwrap();
        assert_eq!(m.earlier.media_id, ev.record.id);
        // A different scene is not flagged.
        let other = synth::scene(22, 1600, 1024).image;
        let ev3 = capture(
            &mut store,
            &mut index,
            &station,
            &QualityLimits::default(),
            other,
            shot(second.id()),
        )
        .unwrap();
        assert!(ev3.reuse.is_none());
    }

    #[test]
    fn rejected_frames_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut index, station, at) = setup(dir.path());
        let inspection = fixtures::sample_inspection(0);
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(Some(at), "op", AuditAction::InspectionOpened),
            )
            .unwrap();
        let shot = Shot {
            inspection: inspection.id(),
            kind: PhotoKind::Front,
            at,
            actor: "op",
            retake_reason: None,
        };
        let blurred =
            imageproc::filter::gaussian_blur_f32(&synth::scene(2, 1600, 1024).image, 12.0);
        let err = capture(
            &mut store,
            &mut index,
            &station,
            &QualityLimits::default(),
            blurred,
            shot,
        )
        .unwrap_err();
        assert!(err.to_string().contains("repita"), "{err}");
        let small = synth::scene(2, 1280, 720).image;
        let err = capture(
            &mut store,
            &mut index,
            &station,
            &QualityLimits::default(),
            small,
            shot,
        )
        .unwrap_err();
        assert!(err.to_string().contains("1280×720"), "{err}");
        assert!(store.media_of(inspection.id()).unwrap().is_empty());
        assert!(index.is_empty());
    }
}
