//! Presence in the monitored region (§4: the vehicle stays in the monitored area during the
//! whole inspection; §17e). Pure functions over small frames sampled from the preview: motion
//! between consecutive frames, and, when the station saved a picture of the empty bay, the
//! difference from it (a parked vehicle does not move but is not the empty floor either).

use std::time::Duration;

use super::manifest::{Presence, PresenceSpan};

/// A region of the frame as fractions of its width and height (0.0…1.0).
#[derive(Debug, Clone, Copy, PartialEq)]
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

    /// Pixel bounds `(x0, y0, x1, y1)` (exclusive ends) in a `width`×`height` frame; never empty.
    fn bounds(&self, width: u32, height: u32) -> (usize, usize, usize, usize) {
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

    fn crop(&self, region: &Region) -> Vec<u8> {
        let (x0, y0, x1, y1) = region.bounds(self.width, self.height);
        let stride = self.width as usize;
        (y0..y1)
            .flat_map(|y| {
                let row = y * stride;
                self.luma
                    .get(row + x0..row + x1)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
            })
            .collect()
    }
}

/// Tuning of the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceConfig {
    /// The monitored region (the bay's floor as the camera sees it).
    pub region: Region,
    /// A pixel counts as changed when its luma differs by more than this.
    pub pixel_threshold: u8,
    /// The region counts as changed when more than this fraction of its pixels changed.
    pub changed_fraction: f32,
    /// How long presence is held after the last change (people stand still; cars are parked).
    pub hold: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            region: Region::FULL,
            pixel_threshold: 25,
            changed_fraction: 0.002,
            hold: Duration::from_secs(10),
        }
    }
}

/// Fraction of pixels of `a` and `b` differing by more than `threshold`.
pub fn changed_fraction(a: &[u8], b: &[u8], threshold: u8) -> f32 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let changed = a
        .iter()
        .zip(b)
        .filter(|(p, q)| p.abs_diff(**q) > threshold)
        .count();
    changed as f32 / n as f32
}

/// Turns sampled frames into a presence timeline.
pub struct PresenceDetector {
    config: PresenceConfig,
    empty_bay: Option<Vec<u8>>,
    previous: Option<Vec<u8>>,
    last_change_s: Option<f64>,
    current: Option<(Presence, f64)>,
    timeline: Vec<PresenceSpan>,
}

impl PresenceDetector {
    /// A detector with no history.
    pub fn new(config: PresenceConfig) -> PresenceDetector {
        PresenceDetector {
            config,
            empty_bay: None,
            previous: None,
            last_change_s: None,
            current: None,
            timeline: Vec::new(),
        }
    }

    /// Saves a picture of the empty bay: from then on a region that differs from it is occupied
    /// even when nothing moves.
    pub fn set_empty_bay(&mut self, frame: &GrayFrame) {
        self.empty_bay = Some(frame.crop(&self.config.region));
    }

    /// Takes one frame seen at `t_s` seconds from the start; returns the state now.
    pub fn observe(&mut self, t_s: f64, frame: &GrayFrame) -> Presence {
        let region = frame.crop(&self.config.region);
        let threshold = self.config.pixel_threshold;
        let moved = self.previous.as_ref().is_some_and(|prev| {
            changed_fraction(prev, &region, threshold) > self.config.changed_fraction
        });
        let occupied = self.empty_bay.as_ref().is_some_and(|empty| {
            changed_fraction(empty, &region, threshold) > self.config.changed_fraction
        });
        // The first frame after the start or a loss counts as a change: the detector cannot
        // call the bay empty before it has watched it for the hold time (at the opening the
        // vehicle has just entered, §4), so a recording does not start with a false alarm.
        if moved || occupied || self.previous.is_none() {
            self.last_change_s = Some(t_s);
        }
        self.previous = Some(region);
        let state = match self.last_change_s {
            Some(last) if t_s - last <= self.config.hold.as_secs_f64() => Presence::Present,
            _ => Presence::Absent,
        };
        self.set_state(t_s, state);
        state
    }

    /// No frames from `t_s` on (video lost): motion cannot be compared across the gap, and the
    /// timeline must not claim anything for it.
    pub fn interrupt(&mut self, t_s: f64) {
        self.close_span(t_s);
        self.previous = None;
    }

    /// The current state, if any frame was seen since the last interruption.
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

    fn frame_with_block(x: u32) -> GrayFrame {
        let (width, height) = (160, 90);
        let mut luma = vec![40u8; (width * height) as usize];
        for y in 30..60 {
            for dx in 0..20 {
                luma[(y * width + x + dx) as usize] = 220;
            }
        }
        GrayFrame {
            width,
            height,
            luma,
        }
    }

    fn still(value: u8) -> GrayFrame {
        GrayFrame {
            width: 160,
            height: 90,
            luma: vec![value; 160 * 90],
        }
    }

    #[test]
    fn motion_is_presence_and_it_is_held_then_released() {
        let config = PresenceConfig {
            hold: Duration::from_secs(3),
            ..PresenceConfig::default()
        };
        let mut d = PresenceDetector::new(config);
        // Not watched long enough to call the bay empty.
        assert_eq!(d.observe(0.0, &still(40)), Presence::Present);
        assert_eq!(d.observe(0.5, &frame_with_block(10)), Presence::Present);
        assert_eq!(d.observe(1.0, &frame_with_block(40)), Presence::Present);
        // Stands still: held for 3 s after the last motion, then absent.
        assert_eq!(d.observe(3.5, &frame_with_block(40)), Presence::Present);
        assert_eq!(d.observe(4.5, &frame_with_block(40)), Presence::Absent);
        let spans = d.finish(5.0);
        let states: Vec<_> = spans.iter().map(|s| s.state).collect();
        assert_eq!(states, [Presence::Present, Presence::Absent]);
        assert_eq!(spans[0].start_s, 0.0);
        assert_eq!(spans[1].start_s, 4.5);
        assert_eq!(spans[1].end_s, 5.0);
    }

    #[test]
    fn motion_outside_the_region_is_ignored() {
        let config = PresenceConfig {
            region: Region {
                x: 0.75,
                y: 0.0,
                w: 0.25,
                h: 1.0,
            },
            hold: Duration::from_secs(1),
            ..PresenceConfig::default()
        };
        let mut d = PresenceDetector::new(config);
        d.observe(0.0, &frame_with_block(10));
        assert_eq!(d.observe(1.5, &frame_with_block(40)), Presence::Absent);
        assert_eq!(d.observe(2.0, &frame_with_block(130)), Presence::Present);
    }

    #[test]
    fn a_parked_vehicle_differs_from_the_empty_bay() {
        let mut d = PresenceDetector::new(PresenceConfig {
            hold: Duration::from_secs(1),
            ..PresenceConfig::default()
        });
        d.set_empty_bay(&still(40));
        d.observe(0.0, &still(40));
        assert_eq!(d.observe(1.5, &still(40)), Presence::Absent);
        for t in 2..10 {
            assert_eq!(
                d.observe(f64::from(t), &frame_with_block(70)),
                Presence::Present
            );
        }
    }

    #[test]
    fn an_interruption_leaves_a_hole_in_the_timeline() {
        let mut d = PresenceDetector::new(PresenceConfig::default());
        d.observe(0.0, &still(40));
        d.observe(1.0, &still(40));
        d.interrupt(2.0);
        assert_eq!(d.state(), None);
        d.observe(6.0, &still(40));
        let spans = d.finish(7.0);
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start_s, spans[0].end_s), (0.0, 2.0));
        assert_eq!((spans[1].start_s, spans[1].end_s), (6.0, 7.0));
    }

    #[test]
    fn rgb_is_reduced_to_luma() {
        let f = GrayFrame::from_rgb(2, 1, &[255, 255, 255, 0, 0, 0]);
        assert_eq!(f.luma, [255, 0]);
    }
}
