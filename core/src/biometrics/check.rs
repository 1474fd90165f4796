//! The station's own fingerprint check of the inspector right before the signature (§14,
//! "conferência biométrica"): what the laudo carries is the matcher's real score, the threshold
//! it was held to, the enrolled impression that matched and the central time of the touch.
//!
//! A [`BiometricCheck`] is made only by [`BiometricCheck::confirm`], from a capture and the
//! inspector's enrolled templates; its fields are private, so no caller can write a score in.
//! Reading one back (a signed laudo at the central) goes through the same invariant: a check
//! whose score is below its threshold, or whose threshold is below the station's, is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::image::GrayImage;
use super::matcher::{self, Prepared, THRESHOLD};
use super::template::Template;
use super::{BiometricError, analyse, quality};

/// Scores and thresholds are kept in millionths: the canonical laudo holds integers only.
const SCALE: f32 = 1_000_000.0;

fn ppm(x: f32) -> u32 {
    (x.clamp(0.0, 1.0) * SCALE).round() as u32
}

/// A passed §14 check, as the laudo and the signature's audit row carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CheckRepr")]
pub struct BiometricCheck {
    /// Matcher score, millionths (`0..=1_000_000`).
    score_ppm: u32,
    /// The threshold it passed, millionths.
    threshold_ppm: u32,
    /// Which of the inspector's enrolled impressions matched best, from 1 (enrolment takes
    /// one finger in several impressions: this names the reference the capture was held to).
    finger: u8,
    /// Central time of the touch.
    at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct CheckRepr {
    score_ppm: u32,
    threshold_ppm: u32,
    finger: u8,
    at: DateTime<Utc>,
}

impl TryFrom<CheckRepr> for BiometricCheck {
    type Error = String;

    fn try_from(r: CheckRepr) -> Result<Self, Self::Error> {
        if r.threshold_ppm < ppm(THRESHOLD) || r.score_ppm < r.threshold_ppm {
            return Err(format!(
                "conferência biométrica inválida: escore {} abaixo do limiar {}",
                r.score_ppm, r.threshold_ppm
            ));
        }
        if r.score_ppm > SCALE as u32 || r.finger == 0 {
            return Err("conferência biométrica inválida".to_owned());
        }
        Ok(BiometricCheck {
            score_ppm: r.score_ppm,
            threshold_ppm: r.threshold_ppm,
            finger: r.finger,
            at: r.at,
        })
    }
}

/// Why the check did not pass: a capture to repeat, or a finger that is not the inspector's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// The capture could not be used (quality, latent print, no template): take it again.
    #[error(transparent)]
    Capture(#[from] BiometricError),
    /// The finger does not match the inspector's enrolled templates.
    #[error(
        "a digital não confere com a do vistoriador logado (escore {score:.3}, mínimo {threshold:.3}); coloque o dedo cadastrado de novo"
    )]
    NoMatch {
        /// Best score found.
        score: f32,
        /// The threshold.
        threshold: f32,
    },
}

impl BiometricCheck {
    /// Holds `capture` (quality-checked against `previous`, the reader's last image, so a
    /// latent print left on the glass is refused) to the inspector's `enrolled` templates at
    /// the station's [`THRESHOLD`]. The only way to make a check.
    pub fn confirm(
        capture: &GrayImage,
        previous: Option<&GrayImage>,
        enrolled: &[Template],
        at: DateTime<Utc>,
    ) -> Result<BiometricCheck, CheckError> {
        if enrolled.is_empty() {
            return Err(CheckError::Capture(BiometricError::NotEnrolled(
                "sem modelos cadastrados".to_owned(),
            )));
        }
        let analysis = analyse(capture);
        quality::assess(capture, &analysis, previous)?;
        let probe = Prepared::new(&analysis.template);
        Self::confirm_prepared(&probe, enrolled, at)
    }

    /// [`BiometricCheck::confirm`] for a probe already extracted and quality-checked (a
    /// simulated reader's finger, extracted once per run).
    pub fn confirm_prepared(
        probe: &Prepared,
        enrolled: &[Template],
        at: DateTime<Utc>,
    ) -> Result<BiometricCheck, CheckError> {
        let (finger, score) = enrolled
            .iter()
            .enumerate()
            .map(|(i, t)| (i, matcher::score(probe, &Prepared::new(t))))
            .fold((0, f32::MIN), |best, s| if s.1 > best.1 { s } else { best });
        if score < THRESHOLD {
            return Err(CheckError::NoMatch {
                score: score.max(0.0),
                threshold: THRESHOLD,
            });
        }
        Ok(BiometricCheck {
            score_ppm: ppm(score),
            threshold_ppm: ppm(THRESHOLD),
            finger: u8::try_from(finger + 1).unwrap_or(u8::MAX),
            at,
        })
    }

    /// The matcher's score, `0..=1`.
    pub fn score(&self) -> f32 {
        self.score_ppm as f32 / SCALE
    }

    /// The threshold it passed, `0..=1`.
    pub fn threshold(&self) -> f32 {
        self.threshold_ppm as f32 / SCALE
    }

    /// The enrolled impression that matched best, from 1.
    pub fn finger(&self) -> u8 {
        self.finger
    }

    /// Central time of the touch.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Impression `i` of a synthetic finger, as demo mode's reader makes them.
    fn finger(seed: u64, i: usize) -> GrayImage {
        let shift = [(0.0, 0.0), (6.0, -4.0), (-5.0, 5.0), (3.0, 7.0)][i % 4];
        GrayImage::synthetic(320, 400, seed, shift)
    }

    #[test]
    fn a_check_holds_the_real_score_and_only_a_match_makes_one() {
        let at = crate::fixtures::sample_time(0);
        let enrolled: Vec<Template> = (0..3)
            .map(|i| crate::biometrics::extract(&finger(7, i)))
            .collect();
        let check = BiometricCheck::confirm(&finger(7, 3), None, &enrolled, at).unwrap();
        assert!(check.score() >= THRESHOLD, "{}", check.score());
        assert!((check.threshold() - THRESHOLD).abs() < 1e-6);
        assert!((1..=3).contains(&check.finger()));
        assert_eq!(check.at(), at);
        // The score is the matcher's own, not a constant.
        let probe = Prepared::new(&crate::biometrics::extract(&finger(7, 3)));
        let best = enrolled
            .iter()
            .map(|t| matcher::score(&probe, &Prepared::new(t)))
            .fold(0.0, f32::max);
        assert_eq!(check.score_ppm, ppm(best));
        // Another person's finger makes no check.
        let other = BiometricCheck::confirm(&finger(99, 3), None, &enrolled, at).unwrap_err();
        assert!(matches!(other, CheckError::NoMatch { .. }), "{other}");
        // Nor does the same capture again (a latent print left on the glass).
        let same = finger(7, 3);
        assert!(matches!(
            BiometricCheck::confirm(&same, Some(&same), &enrolled, at),
            Err(CheckError::Capture(_))
        ));
    }

    #[test]
    fn a_failed_or_forged_check_cannot_be_read_back() {
        let at = "2026-11-23T10:00:00Z";
        let good = format!(
            r#"{{"score_ppm":41000,"threshold_ppm":{},"finger":2,"at":"{at}"}}"#,
            ppm(THRESHOLD)
        );
        assert!(serde_json::from_str::<BiometricCheck>(&good).is_ok());
        let below = format!(
            r#"{{"score_ppm":1000,"threshold_ppm":{},"finger":2,"at":"{at}"}}"#,
            ppm(THRESHOLD)
        );
        assert!(serde_json::from_str::<BiometricCheck>(&below).is_err());
        let lowered = format!(r#"{{"score_ppm":1000,"threshold_ppm":500,"finger":2,"at":"{at}"}}"#);
        assert!(serde_json::from_str::<BiometricCheck>(&lowered).is_err());
    }
}
