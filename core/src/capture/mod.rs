//! Evidence capture (§7, §8): for each frame from an integrated device, in this order —
//! resolution and colour check, quality checks, tarja, JPEG (96 dpi JFIF, EXIF GPS), MD5 and
//! SHA-256 of the final bytes, atomic storage with an audit row naming the device — timing
//! each stage. A perceptual hash of every hand-taken photo flags reuse across inspections.
//!
//! There is no file import path: frames come in as pixels from a driver (§8), from one of the
//! station's integrated devices ([`Source`]): the still camera, the borescope (§8, §18) or the
//! panoramic camera (§7 a).

pub mod font;
pub mod jpeg;
pub mod phash;
pub mod quality;
pub mod tarja;

use std::time::{Duration, Instant};

use image::RgbImage;
use serde::Serialize;

use crate::clock::CentralStamp;
use crate::domain::{AdditionalReason, InspectionId, PhotoKind};
use crate::store::{AuditAction, AuditEvent, MediaRecord, NewMedia, PhotoMeta, Store, StoreError};

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

/// The integrated device a frame comes from (§8). It decides the smallest frame accepted, the
/// checks made and which photos it may take ([`Source::may_take`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The still camera of §7 (at least 1600×1024).
    StillCamera,
    /// The borescope for engine numbers of difficult access (§8, §18; at least 800×600).
    Borescope,
    /// The fixed station's panoramic camera, for §7 a's automatic photo (at least 1600×1024).
    Panoramic,
}

impl Source {
    /// Stable snake_case code (audit rows).
    pub fn code(self) -> &'static str {
        match self {
            Source::StillCamera => "still_camera",
            Source::Borescope => "borescope",
            Source::Panoramic => "panoramic",
        }
    }

    /// The device as the retake messages name it ("verifique …").
    pub fn label_pt(self) -> &'static str {
        match self {
            Source::StillCamera => "a câmera",
            Source::Borescope => "o boroscópio",
            Source::Panoramic => "a câmera panorâmica",
        }
    }

    /// The smallest frame it may deliver, `(width, height)`: §7's 1600×1024 for the photos of
    /// §7 a–k, §18's 800×600 for the borescope.
    pub fn min_size(self) -> (u32, u32) {
        match self {
            Source::StillCamera | Source::Panoramic => (quality::MIN_WIDTH, quality::MIN_HEIGHT),
            Source::Borescope => (quality::BORESCOPE_MIN_WIDTH, quality::BORESCOPE_MIN_HEIGHT),
        }
    }

    /// Whether its photos are checked for sharpness. A fixed camera's automatic photo is not:
    /// nobody holds it, and nobody could hold it steadier.
    pub fn checks_sharpness(self) -> bool {
        self != Source::Panoramic
    }

    /// Whether its photos go through the reuse check: not the panoramic camera's, which shows
    /// the same bay at every inspection and which nobody can point at an old photo.
    pub fn checks_reuse(self) -> bool {
        self != Source::Panoramic
    }

    /// Which photos it takes: the panoramic camera only §7 a's, which nothing else takes; the
    /// borescope only the engine number (§8: "imagem de motor com numeração de difícil
    /// acesso"); the still camera everything else.
    pub fn may_take(self, kind: PhotoKind) -> bool {
        match self {
            Source::Panoramic => kind == PhotoKind::Panoramic,
            Source::Borescope => kind == PhotoKind::EngineNumber,
            Source::StillCamera => kind != PhotoKind::Panoramic,
        }
    }
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
    /// The device family the frame comes from.
    pub source: Source,
    /// The device's own name, stored with the photo (e.g. "Boroscópio (simulado)").
    pub device: &'a str,
    /// Why an additional photo was taken, when the Portaria names the case (§8).
    pub reason: Option<AdditionalReason>,
}

impl Shot<'_> {
    /// What the tarja says the photo is: its kind, the borescope or the reason when there is
    /// one ("Numeração do motor (boroscópio)", "Foto adicional (motor desmontado)").
    pub fn tarja_label(&self) -> String {
        let label = self.kind.label_pt();
        match (self.reason, self.source) {
            (Some(reason), _) => format!("{label} ({})", reason.tarja_pt()),
            (None, Source::Borescope) => format!("{label} (boroscópio)"),
            (None, _) => label.to_owned(),
        }
    }
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
    quality::check_format_for(&frame, shot.source)?;
    lap(&mut t.format);
    if shot.source.checks_sharpness() {
        quality::check_quality(&frame, limits)?;
    } else {
        quality::check_exposure(&frame, limits)?;
    }
    lap(&mut t.quality);
    // The hash is taken before the tarja, which differs on every photo by design.
    let hash = phash::phash(&frame);
    let reuse = shot
        .source
        .checks_reuse()
        .then(|| index.check(hash, shot.inspection, shot.at.at))
        .flatten();
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
        &shot.tarja_label(),
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
    let record = store.store_photo_with(
        NewMedia {
            inspection_id: shot.inspection,
            kind: shot.kind.code(),
            extension: "jpg",
            captured_at: shot.at,
            bytes: &bytes,
        },
        shot.actor,
        PhotoMeta {
            retake_reason: shot.retake_reason,
            reason: shot.reason.map(AdditionalReason::label_pt),
            source: Some(shot.source.code()),
            device: Some(shot.device),
        },
    )?;
    if shot.source.checks_reuse() {
        index
            .record(phash::HashEntry {
                media_id: record.id.clone(),
                inspection_id: shot.inspection,
                at: shot.at.at,
                phash: hash,
            })
            .map_err(CaptureError::Index)?;
    }
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
            source: Source::StillCamera,
            device: "Câmera de teste",
            reason: None,
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

    /// A scene of `w`×`h` that passes the quality checks.
    fn good_scene(w: u32, h: u32) -> RgbImage {
        (0..40)
            .map(|seed| synth::scene(seed, w, h).image)
            .find(|f| quality::check_quality(f, &QualityLimits::default()).is_ok())
            .unwrap()
    }

    /// §8, §18: a borescope frame is evidence from 800×600 up, through the same pipeline, and
    /// the stored row names the device; the panoramic camera's photo skips the reuse index.
    #[test]
    fn borescope_frames_need_800x600_and_every_photo_names_its_device() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut index, station, at) = setup(dir.path());
        let inspection = fixtures::sample_inspection(0);
        store
            .save_inspection(
                &inspection,
                AuditEvent::new(Some(at), "op", AuditAction::InspectionOpened),
            )
            .unwrap();
        let shot = |source, device| Shot {
            inspection: inspection.id(),
            kind: PhotoKind::EngineNumber,
            at,
            actor: "op",
            retake_reason: None,
            source,
            device,
            reason: None,
        };
        let limits = QualityLimits::default();
        let small = good_scene(640, 480);
        let err = capture(
            &mut store,
            &mut index,
            &station,
            &limits,
            small,
            shot(Source::Borescope, "Boroscópio de teste"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "resolução 640×480 abaixo do mínimo 800×600: verifique o boroscópio e repita a foto"
        );
        let ev = capture(
            &mut store,
            &mut index,
            &station,
            &limits,
            good_scene(800, 600),
            shot(Source::Borescope, "Boroscópio de teste"),
        )
        .unwrap();
        assert_eq!(ev.record.device.as_deref(), Some("Boroscópio de teste"));
        let stored = store.media_of(inspection.id()).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].device.as_deref(), Some("Boroscópio de teste"));
        let img = image::load_from_memory(&store.read_media(&ev.record).unwrap()).unwrap();
        assert_eq!((img.width(), img.height()), (800, 600));
        assert_eq!(
            shot(Source::Borescope, "x").tarja_label(),
            "Numeração do motor (boroscópio)"
        );
        let indexed = index.len();
        let panoramic = Shot {
            kind: PhotoKind::Panoramic,
            ..shot(Source::Panoramic, "Câmera panorâmica")
        };
        let ev = capture(
            &mut store,
            &mut index,
            &station,
            &limits,
            good_scene(1600, 1024),
            panoramic,
        )
        .unwrap();
        assert_eq!(ev.record.device.as_deref(), Some("Câmera panorâmica"));
        assert_eq!(
            index.len(),
            indexed,
            "a fixed camera's photo is not indexed"
        );
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
            source: Source::StillCamera,
            device: "Câmera de teste",
            reason: None,
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
