//! Presence of a vehicle in the monitored bay (§4: the vehicle stays in the monitored area
//! during the whole inspection; §17e: the camera detects presence).
//!
//! Presence is **a vehicle-sized difference from the empty bay**, not motion: the technician
//! sets, in Diagnóstico, the bay's region of the frame and takes a still of the bay empty
//! ([`BayReference`]); each preview frame (≈2 fps) is then judged against it by
//! [`super::bay_vision`] (lighting fitted out, changed cells cleaned up, the largest blob's
//! share of the region compared with [`PresenceConfig::min_vehicle_share`]). A car standing
//! still for an hour is present; a person walking through or standing in the empty bay is a
//! blob far smaller than a car and is not; the lamps dimming or flickering change the whole
//! region alike and are fitted out.
//!
//! Over time: the bay is present while a vehicle was seen (in [`PresenceConfig::confirm_frames`]
//! consecutive frames, so one odd frame does not count) within the last
//! [`PresenceConfig::hold`]; it is not called empty before the detector has watched it for
//! that long after the start or a video loss (at the opening the vehicle has just entered).
//!
//! **Not calibrated.** Without a reference the detector claims nothing: [`PresenceDetector::observe`]
//! answers `None`, the recording's presence timeline stays empty and its manifest says so
//! (`presence_basis: null`), and the station shows the bay as "not calibrated" instead of
//! guessing from motion (which called a person walking by, or a lamp flickering, a vehicle).
//! The same holds when the reference's shape no longer matches the camera's frames.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bay_vision::{Assessment, BayModel, Mismatch};
use super::manifest::{Presence, PresenceBasis, PresenceSpan};

/// A region of the frame as fractions of its width and height (0.0…1.0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Region {
    /// The whole frame.
    pub const FULL: Region = Region {
        x: 0.0,
        y: 0.0,
        w: 1.0,
        h: 1.0,
    };

    /// Smallest width or height a technician may set: a tenth of the frame.
    pub const MIN_SIDE: f32 = 0.1;

    /// Checks a region set by a person: inside the frame, at least [`Region::MIN_SIDE`] wide
    /// and high. The problem in Portuguese.
    pub fn validate(&self) -> Result<(), String> {
        let sides = [self.x, self.y, self.w, self.h];
        if sides.iter().any(|v| !v.is_finite()) {
            return Err("a região tem valores inválidos".into());
        }
        if self.x < 0.0 || self.y < 0.0 {
            return Err("a região começa fora da imagem".into());
        }
        if self.w < Region::MIN_SIDE || self.h < Region::MIN_SIDE {
            return Err("a região deve ter ao menos 10 % da largura e da altura da imagem".into());
        }
        if self.x + self.w > 1.0 + 1e-4 || self.y + self.h > 1.0 + 1e-4 {
            return Err("a região passa da borda da imagem".into());
        }
        Ok(())
    }

    /// Pixel bounds `(x0, y0, x1, y1)` (exclusive ends) in a `width`×`height` frame; never empty.
    pub(crate) fn bounds(&self, width: u32, height: u32) -> (usize, usize, usize, usize) {
        let clamp = |v: f32| v.clamp(0.0, 1.0);
        let px = |f: f32, size: u32| (clamp(f) * size as f32).round() as usize;
        let x0 = px(self.x, width).min(width.saturating_sub(1) as usize);
        let y0 = px(self.y, height).min(height.saturating_sub(1) as usize);
        let x1 = px(self.x + self.w, width).clamp(x0 + 1, width.max(1) as usize);
        let y1 = px(self.y + self.h, height).clamp(y0 + 1, height.max(1) as usize);
        (x0, y0, x1, y1)
    }
}

/// A grey (luma) frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` luma bytes, row by row.
    pub luma: Vec<u8>,
}

impl GrayFrame {
    /// Luma of a packed RGB frame (BT.601 weights).
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> GrayFrame {
        let luma = rgb
            .chunks_exact(3)
            .map(|p| {
                ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2])) >> 8) as u8
            })
            .collect();
        GrayFrame {
            width,
            height,
            luma,
        }
    }

    /// The frame as an 8-bit grey PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        let image = image::GrayImage::from_raw(self.width, self.height, self.luma.clone())
            .ok_or("quadro com tamanho inconsistente")?;
        let mut out = std::io::Cursor::new(Vec::new());
        image
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(out.into_inner())
    }

    /// A PNG (any colour type) as luma.
    pub fn from_png(bytes: &[u8]) -> Result<GrayFrame, String> {
        let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .map_err(|e| format!("PNG ilegível: {e}"))?
            .to_luma8();
        Ok(GrayFrame {
            width: image.width(),
            height: image.height(),
            luma: image.into_raw(),
        })
    }

    /// The per-pixel median of frames of one size (a still from a few preview frames: noise
    /// and anything that crossed one of them are left out). `None` if empty or sizes differ.
    pub fn median_of(frames: &[GrayFrame]) -> Option<GrayFrame> {
        let first = frames.first()?;
        if frames.iter().any(|f| {
            (f.width, f.height, f.luma.len()) != (first.width, first.height, first.luma.len())
        }) {
            return None;
        }
        let mut column = vec![0u8; frames.len()];
        let luma = (0..first.luma.len())
            .map(|i| {
                for (slot, f) in column.iter_mut().zip(frames) {
                    *slot = f.luma[i];
                }
                column.sort_unstable();
                column[column.len() / 2]
            })
            .collect();
        Some(GrayFrame {
            width: first.width,
            height: first.height,
            luma,
        })
    }
}

/// The still of the empty bay that presence is judged against, and the SHA-256 of its PNG
/// (named in the audit row that set it and in each recording's manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BayReference {
    /// The still.
    pub frame: GrayFrame,
    /// SHA-256 (hex) of its PNG.
    pub sha256: String,
}

impl BayReference {
    /// A reference from its stored PNG.
    pub fn from_png(png: &[u8]) -> Result<BayReference, String> {
        Ok(BayReference {
            frame: GrayFrame::from_png(png)?,
            sha256: sha256_hex(png),
        })
    }

    /// A reference from a still; also returns the PNG to store.
    pub fn from_frame(frame: GrayFrame) -> Result<(BayReference, Vec<u8>), String> {
        let png = frame.to_png()?;
        let sha256 = sha256_hex(&png);
        Ok((BayReference { frame, sha256 }, png))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tuning of the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceConfig {
    /// The monitored region (the bay's floor as the camera sees it).
    pub region: Region,
    /// The still of the empty bay; `None`: not calibrated, nothing is claimed.
    pub reference: Option<Arc<BayReference>>,
    /// Share of the region the largest blob of difference must cover to be a vehicle. 0.12:
    /// seen from a ceiling or wall camera a car (1.8 × 4.5 m) covers 35–60 % of its bay
    /// (≈3.5 × 6.5 m), a person (with a shadow) 2–5 %; 12 % is near their geometric middle,
    /// ≈3× from each. A motorcycle covers ≈10 % of a car's bay: a bay for motorcycles is set
    /// with its own, smaller region.
    pub min_vehicle_share: f32,
    /// Consecutive frames a vehicle must be seen in before it counts (≈1 s at 2 fps).
    pub confirm_frames: u32,
    /// How long presence is held after the vehicle was last seen.
    pub hold: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            region: Region::FULL,
            reference: None,
            min_vehicle_share: 0.12,
            confirm_frames: 2,
            hold: Duration::from_secs(10),
        }
    }
}

impl PresenceConfig {
    /// What the manifest records of this configuration (`None`: not calibrated).
    pub fn basis(&self) -> Option<PresenceBasis> {
        self.reference.as_ref().map(|r| PresenceBasis {
            reference_sha256: r.sha256.clone(),
            region: self.region,
            min_vehicle_share: self.min_vehicle_share,
        })
    }
}

/// Turns sampled frames into a presence timeline.
pub struct PresenceDetector {
    config: PresenceConfig,
    model: Option<BayModel>,
    /// The frames do not fit the reference (logged once).
    mismatch: Option<Mismatch>,
    /// The start or a loss: the next frame opens a watch of `hold` seconds.
    fresh: bool,
    last_seen_s: Option<f64>,
    streak: u32,
    last: Option<Assessment>,
    current: Option<(Presence, f64)>,
    timeline: Vec<PresenceSpan>,
}

impl PresenceDetector {
    /// A detector with no history.
    pub fn new(config: PresenceConfig) -> PresenceDetector {
        let model = config
            .reference
            .as_ref()
            .map(|r| BayModel::new(&r.frame, config.region));
        PresenceDetector {
            config,
            model,
            mismatch: None,
            fresh: true,
            last_seen_s: None,
            streak: 0,
            last: None,
            current: None,
            timeline: Vec::new(),
        }
    }

    /// Whether a reference is set (presence can be judged).
    pub fn calibrated(&self) -> bool {
        self.model.is_some()
    }

    /// Takes one frame seen at `t_s` seconds from the start; returns the state now, or
    /// `None` when presence cannot be judged (not calibrated, or the frames do not fit the
    /// reference): the timeline then claims nothing for that time.
    pub fn observe(&mut self, t_s: f64, frame: &GrayFrame) -> Option<Presence> {
        let model = self.model.as_ref()?;
        let assessment = match model.assess(frame, self.config.min_vehicle_share) {
            Ok(a) => a,
            Err(mismatch) => {
                if self.mismatch.as_ref() != Some(&mismatch) {
                    tracing::warn!(%mismatch, "presence reference does not fit the camera");
                    self.mismatch = Some(mismatch);
                }
                self.interrupt(t_s);
                return None;
            }
        };
        self.mismatch = None;
        self.last = Some(assessment);
        self.streak = if assessment.vehicle {
            self.streak.saturating_add(1)
        } else {
            0
        };
        let present_now = self.state() == Some(Presence::Present);
        let seen = assessment.vehicle && (self.streak >= self.config.confirm_frames || present_now);
        // The first frame after the start or a loss opens a watch: the bay is not called
        // empty before the detector has looked at it for the hold time.
        if seen || self.fresh {
            self.last_seen_s = Some(t_s);
        }
        self.fresh = false;
        let state = match self.last_seen_s {
            Some(last) if t_s - last <= self.config.hold.as_secs_f64() => Presence::Present,
            _ => Presence::Absent,
        };
        self.set_state(t_s, state);
        Some(state)
    }

    /// What the last frame showed (share of the region, lighting gain), if judged.
    pub fn last_assessment(&self) -> Option<Assessment> {
        self.last
    }

    /// No frames from `t_s` on (video lost): the timeline must not claim anything for it.
    pub fn interrupt(&mut self, t_s: f64) {
        self.close_span(t_s);
        self.fresh = true;
        self.streak = 0;
    }

    /// The current state, if any frame was judged since the last interruption.
    pub fn state(&self) -> Option<Presence> {
        self.current.map(|(state, _)| state)
    }

    /// The timeline up to `t_s`.
    pub fn finish(mut self, t_s: f64) -> Vec<PresenceSpan> {
        self.close_span(t_s);
        self.timeline
    }

    /// A copy of the timeline so far, the open span ending at `t_s`.
    pub fn snapshot(&self, t_s: f64) -> Vec<PresenceSpan> {
        let mut spans = self.timeline.clone();
        if let Some((state, start_s)) = self.current {
            spans.push(PresenceSpan {
                start_s,
                end_s: t_s,
                state,
            });
        }
        spans
    }

    fn set_state(&mut self, t_s: f64, state: Presence) {
        match self.current {
            Some((current, _)) if current == state => {}
            _ => {
                self.close_span(t_s);
                self.current = Some((state, t_s));
            }
        }
    }

    fn close_span(&mut self, t_s: f64) {
        if let Some((state, start_s)) = self.current.take() {
            self.timeline.push(PresenceSpan {
                start_s,
                end_s: t_s.max(start_s),
                state,
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A textured floor, optionally with a dark "car" covering a third of the frame.
    fn bay(car: bool, gain: f32) -> GrayFrame {
        let (width, height) = (160u32, 90u32);
        let luma = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| {
                let inside = car && (50..110).contains(&x) && (15..75).contains(&y);
                let v = if inside {
                    35.0
                } else {
                    110.0 + ((x * 7 + y * 13) % 11) as f32
                };
                (v * gain).min(255.0) as u8
            })
            .collect();
        GrayFrame {
            width,
            height,
            luma,
        }
    }

    fn calibrated(hold_s: u64) -> PresenceDetector {
        let (reference, _) = BayReference::from_frame(bay(false, 1.0)).unwrap();
        PresenceDetector::new(PresenceConfig {
            reference: Some(Arc::new(reference)),
            hold: Duration::from_secs(hold_s),
            ..PresenceConfig::default()
        })
    }

    #[test]
    fn without_a_reference_nothing_is_claimed() {
        let mut d = PresenceDetector::new(PresenceConfig::default());
        assert!(!d.calibrated());
        assert_eq!(d.observe(0.0, &bay(true, 1.0)), None);
        assert_eq!(d.observe(1.0, &bay(false, 1.0)), None);
        assert!(d.finish(2.0).is_empty());
    }

    #[test]
    fn a_still_vehicle_stays_present_and_an_empty_bay_is_called_after_the_hold() {
        let mut d = calibrated(3);
        // Not watched long enough to call the bay empty.
        assert_eq!(d.observe(0.0, &bay(false, 1.0)), Some(Presence::Present));
        assert_eq!(d.observe(2.0, &bay(false, 1.0)), Some(Presence::Present));
        assert_eq!(d.observe(3.5, &bay(false, 1.0)), Some(Presence::Absent));
        // One frame is not enough; two in a row are.
        assert_eq!(d.observe(4.0, &bay(true, 1.0)), Some(Presence::Absent));
        assert_eq!(d.observe(4.5, &bay(true, 1.0)), Some(Presence::Present));
        for t in 5..60 {
            assert_eq!(
                d.observe(f64::from(t), &bay(true, 1.0)),
                Some(Presence::Present)
            );
        }
        let share = d.last_assessment().unwrap().share;
        assert!((0.2..0.35).contains(&share), "{share}");
        assert_eq!(d.observe(61.0, &bay(false, 1.3)), Some(Presence::Present));
        assert_eq!(d.observe(64.5, &bay(false, 0.7)), Some(Presence::Absent));
        let states: Vec<_> = d.finish(65.0).iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [
                Presence::Present,
                Presence::Absent,
                Presence::Present,
                Presence::Absent
            ]
        );
    }

    #[test]
    fn an_interruption_leaves_a_hole_in_the_timeline() {
        let mut d = calibrated(10);
        d.observe(0.0, &bay(true, 1.0));
        d.observe(1.0, &bay(true, 1.0));
        d.interrupt(2.0);
        assert_eq!(d.state(), None);
        d.observe(6.0, &bay(true, 1.0));
        let spans = d.finish(7.0);
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start_s, spans[0].end_s), (0.0, 2.0));
        assert_eq!((spans[1].start_s, spans[1].end_s), (6.0, 7.0));
    }

    #[test]
    fn frames_of_another_shape_are_not_judged() {
        let mut d = calibrated(10);
        assert_eq!(d.observe(0.0, &bay(true, 1.0)), Some(Presence::Present));
        let square = GrayFrame {
            width: 90,
            height: 90,
            luma: vec![100; 90 * 90],
        };
        assert_eq!(d.observe(1.0, &square), None);
        assert_eq!(d.state(), None);
    }

    #[test]
    fn references_round_trip_through_png_with_their_digest() {
        let (reference, png) = BayReference::from_frame(bay(false, 1.0)).unwrap();
        let back = BayReference::from_png(&png).unwrap();
        assert_eq!(back, reference);
        assert_eq!(back.sha256.len(), 64);
    }

    #[test]
    fn a_median_still_leaves_out_what_crossed_one_frame() {
        let a = bay(false, 1.0);
        let still = GrayFrame::median_of(&[a.clone(), bay(true, 1.0), a.clone()]).unwrap();
        assert_eq!(still, a);
        assert!(GrayFrame::median_of(&[]).is_none());
    }

    #[test]
    fn regions_a_technician_sets_are_checked() {
        assert!(Region::FULL.validate().is_ok());
        let r = |x, y, w, h| Region { x, y, w, h };
        assert!(r(0.1, 0.2, 0.8, 0.7).validate().is_ok());
        assert!(r(0.5, 0.0, 0.6, 1.0).validate().is_err());
        assert!(r(0.0, 0.0, 0.05, 1.0).validate().is_err());
        assert!(r(-0.1, 0.0, 0.5, 0.5).validate().is_err());
        assert!(r(f32::NAN, 0.0, 0.5, 0.5).validate().is_err());
    }

    #[test]
    fn rgb_is_reduced_to_luma() {
        let f = GrayFrame::from_rgb(2, 1, &[255, 255, 255, 0, 0, 0]);
        assert_eq!(f.luma, [255, 0]);
    }
}
