//! The bay's presence calibration (§17e, issue 19): the region of the panoramic frame the bay
//! takes, and the still of the bay empty that presence is judged against (see
//! `vistoria_drivers::panoramic::presence`). A technician or an administrator sets both in
//! Diagnóstico; each change is kept in the store's settings (`meta`) **in the same
//! transaction as its audit row**, so the setting never changes unaudited. The still is kept
//! there too, as a grey PNG (320×180, ≈30–60 KB, hex): one place, one transaction, backed up
//! and checked with the database, and its SHA-256 named in the audit row and in every
//! recording's manifest. Both are loaded when the station opens and apply to the recordings
//! started afterwards (a recording keeps the calibration it started with).
//!
//! Without a still, presence is **not calibrated**: recordings claim no presence (their
//! manifest says `presence_basis: null`), the photo screen shows no "vehicle absent" warning
//! (the station cannot tell), the start of each film says so in its audit row, and Diagnóstico
//! shows it. Demo mode starts calibrated with the simulated camera's known empty bay (in
//! memory only: a still captured by the demo's technician replaces it and is kept).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vistoria_core::store::{AuditAction, AuditEvent};
use vistoria_drivers::panoramic::bay_vision::BayModel;
use vistoria_drivers::panoramic::pipeline::PreviewFrame;
use vistoria_drivers::panoramic::{BayReference, GrayFrame, PresenceConfig, Region};

use super::{Failure, Session, Station, Thumbnail, lock};

/// Settings keys.
const REGION_KEY: &str = "panoramic.bay_region";
const REFERENCE_KEY: &str = "panoramic.bay_reference";
/// Stills the reference is the median of.
const STILLS: usize = 3;
/// How long a capture waits for them (the connection test included).
const CAPTURE_WAIT: Duration = Duration::from_secs(15);
/// The region demo mode starts with: the simulated bay, its vehicle well inside.
const DEMO_REGION: Region = Region {
    x: 0.1,
    y: 0.1,
    w: 0.8,
    h: 0.8,
};
/// Who set the demo's calibration.
pub const DEMO_SETTER: &str = "demonstração";

/// Who set a part of the calibration, and when (central time; `None` before the first sync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetBy {
    /// Central time.
    pub at: Option<DateTime<Utc>>,
    /// The login (or [`DEMO_SETTER`]).
    pub login: String,
}

/// The calibration the station holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct BayCalibration {
    region: Option<(Region, SetBy)>,
    reference: Option<(Arc<BayReference>, SetBy)>,
}

impl BayCalibration {
    fn region(&self) -> Region {
        self.region.as_ref().map_or(Region::FULL, |(r, _)| *r)
    }
}

/// The reference still, as Diagnóstico describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceInfo {
    /// Who captured it, when.
    pub set: SetBy,
    /// SHA-256 of its PNG.
    pub sha256: String,
    /// Size in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What the camera shows of the bay now, judged against the reference.
#[derive(Debug, Clone, PartialEq)]
pub enum BayNow {
    /// No reference: presence is not judged.
    NotCalibrated,
    /// No frame from the camera (no connection test, no recording).
    NoImage,
    /// The frames do not fit the reference (why, in Portuguese).
    Mismatch(String),
    /// The frame is no picture of the bay (lens covered, lamps out).
    Unreadable,
    /// Judged.
    Seen {
        /// A vehicle-sized difference is in the region.
        vehicle: bool,
        /// Share of the region covered by the largest blob of difference.
        share: f32,
        /// Lighting gain against the reference.
        gain: f32,
    },
}

/// The bay's presence calibration and what it sees now (Diagnóstico).
#[derive(Debug, Clone, PartialEq)]
pub struct BayPresenceInfo {
    /// The monitored region.
    pub region: Region,
    /// Who set it; `None`: the whole frame, by default.
    pub region_set: Option<SetBy>,
    /// The reference; `None`: not calibrated.
    pub reference: Option<ReferenceInfo>,
    /// Share of the region a vehicle must cover.
    pub min_vehicle_share: f32,
    /// What the camera shows now.
    pub now: BayNow,
}

impl Station {
    /// Loads the calibration from the store (at the opening). A setting that cannot be read
    /// is logged and left out (not calibrated), never guessed.
    pub(crate) fn load_bay_calibration(&self) {
        let Some(p) = &self.0.panoramic else {
            return;
        };
        let (region, reference) = {
            let core = self.core();
            (
                core.store.meta(REGION_KEY).ok().flatten(),
                core.store.meta(REFERENCE_KEY).ok().flatten(),
            )
        };
        let mut calibration = BayCalibration::default();
        if let Some(json) = region {
            match parse_region(&json) {
                Ok(r) => calibration.region = Some(r),
                Err(e) => tracing::error!(%e, "bay region setting unreadable"),
            }
        }
        if let Some(json) = reference {
            match parse_reference(&json) {
                Ok(r) => calibration.reference = Some(r),
                Err(e) => tracing::error!(%e, "bay reference setting unreadable"),
            }
        }
        if calibration.reference.is_none() && self.is_demo() {
            calibration = demo_calibration();
        }
        if calibration.reference.is_none() {
            tracing::warn!("bay presence not calibrated: set it in Diagnóstico");
        }
        *lock(&p.bay) = calibration;
    }

    /// The presence detection a recording starts with.
    pub(crate) fn presence_config(&self) -> PresenceConfig {
        let Some(p) = &self.0.panoramic else {
            return PresenceConfig::default();
        };
        let calibration = lock(&p.bay);
        PresenceConfig {
            region: calibration.region(),
            reference: calibration.reference.as_ref().map(|(r, _)| Arc::clone(r)),
            ..PresenceConfig::default()
        }
    }

    /// The calibration and what the camera shows of the bay now (the latest preview frame of
    /// the connection test or of a recording); `None` without a panoramic camera. Writes
    /// nothing.
    pub fn bay_presence_info(&self) -> Option<BayPresenceInfo> {
        let p = self.0.panoramic.as_ref()?;
        let calibration = lock(&p.bay).clone();
        let config = PresenceConfig::default();
        let frame = self.latest_preview();
        let now = match (&calibration.reference, frame) {
            (None, _) => BayNow::NotCalibrated,
            (Some(_), None) => BayNow::NoImage,
            (Some((reference, _)), Some(frame)) => {
                let gray = GrayFrame::from_rgb(frame.width, frame.height, &frame.rgb);
                match BayModel::new(&reference.frame, calibration.region())
                    .assess(&gray, config.min_vehicle_share)
                {
                    Err(e) => BayNow::Mismatch(e.to_string()),
                    Ok(a) if !a.readable => BayNow::Unreadable,
                    Ok(a) => BayNow::Seen {
                        vehicle: a.vehicle,
                        share: a.share,
                        gain: a.gain,
                    },
                }
            }
        };
        Some(BayPresenceInfo {
            region: calibration.region(),
            region_set: calibration.region.as_ref().map(|(_, s)| s.clone()),
            reference: calibration
                .reference
                .as_ref()
                .map(|(r, set)| ReferenceInfo {
                    set: set.clone(),
                    sha256: r.sha256.clone(),
                    width: r.frame.width,
                    height: r.frame.height,
                }),
            min_vehicle_share: config.min_vehicle_share,
            now,
        })
    }

    /// Sets the bay's region of the frame (technician or administrator), kept and audited.
    pub fn set_bay_region(
        &self,
        session: &Session,
        region: Region,
    ) -> Result<BayPresenceInfo, Failure> {
        // Only a technician or an administrator calibrates the bay.
        self.require(session, crate::roles::SUPPORT)?;
        let p = self.panoramic_camera()?;
        region.validate().map_err(Failure::rule)?;
        let at = self.0.clock.now().ok();
        let set = SetBy {
            at: at.map(|s| s.at),
            login: session.login.clone(),
        };
        let value = json!({
            "x": region.x, "y": region.y, "w": region.w, "h": region.h,
            "at": set.at, "by": set.login,
        });
        let event = AuditEvent::new(at, &session.login, AuditAction::PanoramicBayRegionSet)
            .detail(json!({ "region": [region.x, region.y, region.w, region.h] }));
        self.core()
            .store
            .set_meta_audited(REGION_KEY, &value.to_string(), event)
            .map_err(Failure::from)?;
        lock(&p.bay).region = Some((region, set));
        self.bay_presence_info()
            .ok_or_else(|| Failure::internal("câmera panorâmica sumiu"))
    }

    /// Takes the still of the empty bay (technician or administrator): the median of three
    /// preview frames of the connection test (started if needed), kept and audited. Refused
    /// while an inspection is being filmed (its bay is not empty) and when the frames are no
    /// picture of the bay.
    pub fn capture_bay_reference(&self, session: &Session) -> Result<BayPresenceInfo, Failure> {
        // Only a technician or an administrator calibrates the bay.
        self.require(session, crate::roles::SUPPORT)?;
        let p = self.panoramic_camera()?;
        let filming = lock(&p.running).len();
        if filming > 0 {
            return Err(Failure::rule(format!(
                "há {filming} vistoria(s) sendo filmada(s): capture a referência com a baia vazia, \
                 sem vistoria em andamento"
            )));
        }
        if lock(&p.test).is_none() {
            self.test_panoramic()?;
        }
        let stills = self.preview_stills(STILLS)?;
        let still = GrayFrame::median_of(&stills)
            .ok_or_else(|| Failure::device("a câmera mudou de tamanho durante a captura"))?;
        let region = lock(&p.bay).region();
        let check = BayModel::new(&still, region)
            .assess(&still, 1.0)
            .map_err(|e| Failure::internal(e.to_string()))?;
        if !check.readable {
            return Err(Failure::device(
                "a imagem da câmera está escura, clara ou uniforme demais para servir de referência",
            ));
        }
        let (reference, png) = BayReference::from_frame(still).map_err(Failure::internal)?;
        let at = self.0.clock.now().ok();
        let set = SetBy {
            at: at.map(|s| s.at),
            login: session.login.clone(),
        };
        let value = json!({
            "png_hex": hex(&png), "sha256": reference.sha256,
            "at": set.at, "by": set.login,
        });
        let event = AuditEvent::new(
            at,
            &session.login,
            AuditAction::PanoramicBayReferenceCaptured,
        )
        .detail(json!({
            "sha256": reference.sha256,
            "width": reference.frame.width,
            "height": reference.frame.height,
            "region": [region.x, region.y, region.w, region.h],
        }));
        self.core()
            .store
            .set_meta_audited(REFERENCE_KEY, &value.to_string(), event)
            .map_err(Failure::from)?;
        lock(&p.bay).reference = Some((Arc::new(reference), set));
        self.bay_presence_info()
            .ok_or_else(|| Failure::internal("câmera panorâmica sumiu"))
    }

    /// The reference still with the region outlined, for Diagnóstico; `None` when not
    /// calibrated.
    pub fn bay_reference_picture(&self) -> Option<Thumbnail> {
        let p = self.0.panoramic.as_ref()?;
        let calibration = lock(&p.bay).clone();
        let region = calibration.region();
        let (reference, _) = calibration.reference?;
        Some(outlined(&reference.frame, region))
    }

    fn panoramic_camera(&self) -> Result<&super::Panoramic, Failure> {
        self.0
            .panoramic
            .as_ref()
            .ok_or_else(|| Failure::rule("nenhuma câmera panorâmica configurada"))
    }

    /// The latest preview frame of the connection test, or else of a running recording.
    fn latest_preview(&self) -> Option<PreviewFrame> {
        let p = self.0.panoramic.as_ref()?;
        let from_test = lock(&p.test).as_ref().and_then(|(r, _)| r.live().preview);
        from_test.or_else(|| lock(&p.running).values().find_map(|r| r.live().preview))
    }

    /// `n` distinct preview frames of the connection test, as they come.
    fn preview_stills(&self, n: usize) -> Result<Vec<GrayFrame>, Failure> {
        let p = self.panoramic_camera()?;
        let deadline = Instant::now() + CAPTURE_WAIT;
        let mut seen: Vec<Instant> = Vec::new();
        let mut stills = Vec::new();
        while stills.len() < n {
            if Instant::now() > deadline {
                return Err(Failure::device(format!(
                    "a câmera panorâmica não enviou {n} imagens em {} s",
                    CAPTURE_WAIT.as_secs()
                )));
            }
            let frame = lock(&p.test).as_ref().and_then(|(r, _)| r.live().preview);
            match frame {
                Some(f) if !seen.contains(&f.at) => {
                    seen.push(f.at);
                    stills.push(GrayFrame::from_rgb(f.width, f.height, &f.rgb));
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        Ok(stills)
    }
}

/// Demo mode's calibration: the simulated camera's bare floor.
fn demo_calibration() -> BayCalibration {
    let frame = vistoria_drivers::panoramic::test_server::empty_bay_frame(320, 180, false);
    let set = SetBy {
        at: None,
        login: DEMO_SETTER.to_owned(),
    };
    match BayReference::from_frame(frame) {
        Ok((reference, _)) => BayCalibration {
            region: Some((DEMO_REGION, set.clone())),
            reference: Some((Arc::new(reference), set)),
        },
        Err(e) => {
            tracing::error!(%e, "demo bay reference not made");
            BayCalibration::default()
        }
    }
}

fn set_by(v: &Value) -> SetBy {
    SetBy {
        at: v
            .get("at")
            .and_then(|a| serde_json::from_value(a.clone()).ok()),
        login: v
            .get("by")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
    }
}

fn parse_region(json: &str) -> Result<(Region, SetBy), String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let region: Region = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    region.validate()?;
    Ok((region, set_by(&v)))
}

fn parse_reference(json: &str) -> Result<(Arc<BayReference>, SetBy), String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let png = unhex(v.get("png_hex").and_then(Value::as_str).unwrap_or(""))?;
    let reference = BayReference::from_png(&png)?;
    let kept = v.get("sha256").and_then(Value::as_str).unwrap_or("");
    if kept != reference.sha256 {
        return Err(format!(
            "a referência guardada não confere com o seu SHA-256 ({kept})"
        ));
    }
    Ok((Arc::new(reference), set_by(&v)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err("hexadecimal de tamanho ímpar".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| "hexadecimal inválido".to_owned())
        })
        .collect()
}

/// The still in RGBA, the region outlined in yellow (2 px).
fn outlined(frame: &GrayFrame, region: Region) -> Thumbnail {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let x0 = ((region.x * w as f32) as usize).min(w.saturating_sub(1));
    let y0 = ((region.y * h as f32) as usize).min(h.saturating_sub(1));
    let x1 = (((region.x + region.w) * w as f32) as usize).clamp(x0 + 1, w) - 1;
    let y1 = (((region.y + region.h) * h as f32) as usize).clamp(y0 + 1, h) - 1;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let on_x = (x0..=x1).contains(&x) && (y.abs_diff(y0) < 2 || y.abs_diff(y1) < 2);
            let on_y = (y0..=y1).contains(&y) && (x.abs_diff(x0) < 2 || x.abs_diff(x1) < 2);
            if on_x || on_y {
                rgba.extend_from_slice(&[0xF5, 0xC2, 0x18, 0xFF]);
            } else {
                let v = frame.luma[y * w + x];
                rgba.extend_from_slice(&[v, v, v, 0xFF]);
            }
        }
    }
    Thumbnail {
        width: frame.width,
        height: frame.height,
        rgba,
    }
}

#[cfg(test)]
#[path = "panoramic_bay_tests.rs"]
mod tests;
