//! Accuracy figures of the matcher on a labelled set (the FVC protocol): every genuine pair
//! (two impressions of one finger) and every impostor pair (impressions of two fingers) is
//! scored; from the two score lists come the equal error rate, the false non-match rate at a
//! given false match rate, and the rates at a fixed threshold. Used by `vistoria bench
//! fingerprint`; kept here so tests can check the arithmetic.

use std::path::{Path, PathBuf};

use super::BiometricError;
use super::image::GrayImage;

/// One image of a labelled set.
#[derive(Debug, Clone)]
pub struct Impression {
    /// Finger number (`FFF` in `FFF_I.tif`).
    pub finger: u32,
    /// Impression number (`I`).
    pub impression: u32,
    /// Where it was read from.
    pub path: PathBuf,
    /// The pixels.
    pub image: GrayImage,
}

/// Reads an FVC-style set: every `FFF_I.tif` in `dir`, sorted by finger then impression.
pub fn load_fvc(dir: &Path) -> Result<Vec<Impression>, BiometricError> {
    let io = |e: std::io::Error| BiometricError::Io(format!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_tif = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"));
        let Some((finger, impression)) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.split_once('_'))
        else {
            continue;
        };
        let (Ok(finger), Ok(impression)) = (finger.parse(), impression.parse()) else {
            continue;
        };
        if !is_tif {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io)?;
        let image = GrayImage::from_tiff(&bytes)
            .map_err(|e| BiometricError::BadImage(format!("{}: {e}", path.display())))?;
        out.push(Impression {
            finger,
            impression,
            path,
            image,
        });
    }
    out.sort_by_key(|i| (i.finger, i.impression));
    Ok(out)
}

/// Genuine and impostor scores of a set and the error rates they give. A pair is accepted
/// when its score is at or above the threshold.
#[derive(Debug, Clone)]
pub struct Rates {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
    /// Equal error rate: where the false match and false non-match rates cross, `0..=1`.
    pub eer: f64,
}

impl Rates {
    /// Rates from the two score lists.
    pub fn new(genuine: &[f32], impostor: &[f32]) -> Rates {
        let mut g = genuine.to_vec();
        let mut i = impostor.to_vec();
        g.sort_by(f32::total_cmp);
        i.sort_by(f32::total_cmp);
        let mut r = Rates {
            genuine: g,
            impostor: i,
            eer: 1.0,
        };
        // Sweep every observed score as a threshold.
        let mut thresholds: Vec<f32> = r.genuine.iter().chain(&r.impostor).copied().collect();
        thresholds.push(f32::MAX);
        thresholds.sort_by(f32::total_cmp);
        thresholds.dedup();
        let mut best_gap = f64::MAX;
        for &t in &thresholds {
            let (fmr, fnmr) = (r.fmr_at(t), r.fnmr_at(t));
            let gap = (fmr - fnmr).abs();
            if gap < best_gap {
                best_gap = gap;
                r.eer = (fmr + fnmr) / 2.0;
            }
        }
        r
    }

    /// Share of impostor pairs accepted at `threshold`.
    pub fn fmr_at(&self, threshold: f32) -> f64 {
        share_at_or_above(&self.impostor, threshold)
    }

    /// Share of genuine pairs refused at `threshold`.
    pub fn fnmr_at(&self, threshold: f32) -> f64 {
        if self.genuine.is_empty() {
            return 0.0;
        }
        self.genuine.partition_point(|&s| s < threshold) as f64 / self.genuine.len() as f64
    }

    /// Lowest threshold whose false match rate is at most `fmr`.
    pub fn threshold_for(&self, fmr: f64) -> f32 {
        let n = self.impostor.len();
        let allowed = (fmr * n as f64).floor() as usize;
        // Accept strictly above the (n − allowed)-th smallest impostor score.
        let idx = n.saturating_sub(allowed + 1);
        self.impostor.get(idx).map_or(0.0, |s| s.next_up())
    }

    /// False non-match rate at the threshold that gives a false match rate of at most `fmr`
    /// (FMR100 for 1 %, FMR1000 for 0.1 %).
    pub fn fnmr_at_fmr(&self, fmr: f64) -> f64 {
        self.fnmr_at(self.threshold_for(fmr))
    }

    /// The genuine scores, lowest first.
    pub fn genuine(&self) -> &[f32] {
        &self.genuine
    }

    /// The impostor scores, lowest first.
    pub fn impostor(&self) -> &[f32] {
        &self.impostor
    }
}

fn share_at_or_above(sorted: &[f32], threshold: f32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let below = sorted.partition_point(|&s| s < threshold);
    (sorted.len() - below) as f64 / sorted.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_have_no_error() {
        let r = Rates::new(&[0.8, 0.9, 0.7], &[0.1, 0.2, 0.3, 0.2]);
        assert_eq!(r.eer, 0.0);
        assert_eq!(r.fnmr_at_fmr(0.01), 0.0);
        assert_eq!(r.fmr_at(0.5), 0.0);
        assert!((r.fnmr_at(0.75) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn overlapping_scores_give_the_crossing_point() {
        // Genuine 0.1…1.0, impostor 0.0…0.9: at 0.5, five impostors in ten pass and four
        // genuine pairs in ten fail; the rates cross there, at 0.45 on average.
        let g: Vec<f32> = (1..=10).map(|v| v as f32 / 10.0).collect();
        let i: Vec<f32> = (0..10).map(|v| v as f32 / 10.0).collect();
        let r = Rates::new(&g, &i);
        assert!((r.eer - 0.45).abs() < 0.051, "{}", r.eer);
        // FMR ≤ 10 %: only the top impostor (0.9) may pass; the threshold is just above 0.8.
        let t = r.threshold_for(0.1);
        assert!(r.fmr_at(t) <= 0.1);
        assert!(t > 0.8 && t <= 0.9, "{t}");
    }
}
