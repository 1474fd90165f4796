//! What a reading's confidence means: the decoder's scores (the mean of the chosen characters'
//! scores and the weakest of them) mapped to the chance that the whole plate is right, by a
//! logistic curve fitted on rendered scenes (Platt scaling), so that a reading said to be 0.9
//! sure is right about nine times in ten and the §6 correction can be asked for on doubt,
//! not only on a mismatch. [`reliability`] measures how well that holds on any set.

use serde::Serialize;

/// The logistic map from the decoder's scores to a probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibration {
    /// Weight of the mean score.
    pub mean: f32,
    /// Weight of the weakest character's score.
    pub weakest: f32,
    /// Offset.
    pub bias: f32,
}

/// Fitted on the readings of `vistoria bench ocr --synthetic mercosul --count 120 --seed 9001
/// --frame 1024x768,1920x1080,4032x3024 --fit-calibration` and the same for `grey`, pooled (194
/// plates read, 22 of them wrong): seeds no reported benchmark uses (they start at 1), never
/// the shared photos.
pub const FITTED: Calibration = Calibration {
    mean: 3.35,
    weakest: 5.83,
    bias: -5.70,
};

impl Calibration {
    /// The probability that a reading with these scores is right.
    pub fn probability(&self, mean: f32, weakest: f32) -> f32 {
        let z = self.mean * mean + self.weakest * weakest + self.bias;
        1.0 / (1.0 + (-z).exp())
    }

    /// Fits the map to readings (`mean`, `weakest`, right or not) by Newton's method on the
    /// log-likelihood, with Platt's smoothed targets so a set without a single mistake does
    /// not drive the weights to infinity.
    pub fn fit(samples: &[(f32, f32, bool)]) -> Calibration {
        let positives = samples.iter().filter(|s| s.2).count() as f64;
        let negatives = samples.len() as f64 - positives;
        let hi = (positives + 1.0) / (positives + 2.0);
        let lo = 1.0 / (negatives + 2.0);
        let mut w = [0.0f64; 3];
        for _ in 0..50 {
            let mut g = [0.0f64; 3];
            let mut hess = [[0.0f64; 3]; 3];
            for &(m, k, right) in samples {
                let x = [f64::from(m), f64::from(k), 1.0];
                let z = w[0] * x[0] + w[1] * x[1] + w[2];
                let p = 1.0 / (1.0 + (-z).exp());
                let t = if right { hi } else { lo };
                for i in 0..3 {
                    g[i] += (p - t) * x[i];
                    for j in 0..3 {
                        hess[i][j] += p * (1.0 - p) * x[i] * x[j];
                    }
                }
            }
            // A small ridge keeps the step defined when the scores do not vary.
            for (i, row) in hess.iter_mut().enumerate() {
                row[i] += 1e-6;
            }
            let Some(step) = solve3(hess, g) else {
                break;
            };
            for i in 0..3 {
                w[i] -= step[i];
            }
            if step.iter().map(|s| s.abs()).sum::<f64>() < 1e-9 {
                break;
            }
        }
        Calibration {
            mean: w[0] as f32,
            weakest: w[1] as f32,
            bias: w[2] as f32,
        }
    }
}

/// Solves `a x = b` for a 3×3 system (Cramer's rule); `None` when singular.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut m = a;
        for i in 0..3 {
            m[i][k] = b[i];
        }
        *o = det(m) / d;
    }
    Some(out)
}

/// One row of a reliability table: the readings whose confidence fell in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// Lower end.
    pub from: f32,
    /// Upper end.
    pub to: f32,
    /// Readings in the bin.
    pub n: usize,
    /// Their mean confidence.
    pub said: f32,
    /// The share of them that was right.
    pub right: f32,
}

/// The reliability table of (confidence, right) pairs over `bins` equal bins of 0…1, empty
/// bins left out; and the expected calibration error (the bins' |said − right| weighted by
/// their share of the readings).
pub fn reliability(pairs: &[(f32, bool)], bins: usize) -> (Vec<Bin>, f32) {
    let mut table = Vec::new();
    let mut error = 0.0;
    for b in 0..bins {
        let (from, to) = (b as f32 / bins as f32, (b + 1) as f32 / bins as f32);
        let inside: Vec<&(f32, bool)> = pairs
            .iter()
            .filter(|(c, _)| *c >= from && (*c < to || (b + 1 == bins && *c <= to)))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let n = inside.len();
        let said = inside.iter().map(|p| p.0).sum::<f32>() / n as f32;
        let right = inside.iter().filter(|p| p.1).count() as f32 / n as f32;
        error += (said - right).abs() * n as f32 / pairs.len() as f32;
        table.push(Bin {
            from,
            to,
            n,
            said,
            right,
        });
    }
    (table, error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ocr::synth::Rng;

    #[test]
    fn a_fit_recovers_the_curve_that_made_the_outcomes() {
        // Outcomes drawn from a known logistic curve over the two scores.
        let truth = Calibration {
            mean: 8.0,
            weakest: 3.0,
            bias: -8.0,
        };
        let mut rng = Rng::new(11);
        let samples: Vec<(f32, f32, bool)> = (0..6000)
            .map(|_| {
                let weakest = rng.range(0.2, 1.0);
                let mean = (weakest + rng.range(0.0, 0.4)).min(1.0);
                let right = rng.unit() < truth.probability(mean, weakest);
                (mean, weakest, right)
            })
            .collect();
        let fit = Calibration::fit(&samples);
        for (m, k) in [(0.5, 0.3), (0.8, 0.6), (0.95, 0.9)] {
            let (a, b) = (fit.probability(m, k), truth.probability(m, k));
            assert!((a - b).abs() < 0.05, "{m} {k}: {a} vs {b} ({fit:?})");
        }
        // And the fitted confidences are reliable on the data: small calibration error.
        let pairs: Vec<(f32, bool)> = samples
            .iter()
            .map(|&(m, k, r)| (fit.probability(m, k), r))
            .collect();
        let (table, error) = reliability(&pairs, 10);
        assert!(error < 0.03, "{error} {table:?}");
        assert_eq!(table.iter().map(|b| b.n).sum::<usize>(), samples.len());
    }

    #[test]
    fn an_overconfident_reader_shows_in_the_table() {
        // Says 0.95 every time, is right half the time.
        let pairs: Vec<(f32, bool)> = (0..100).map(|i| (0.95, i % 2 == 0)).collect();
        let (table, error) = reliability(&pairs, 10);
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].n, 100);
        assert!((table[0].right - 0.5).abs() < 1e-6);
        assert!((error - 0.45).abs() < 1e-5);
    }

    #[test]
    fn the_fitted_map_rises_with_both_scores() {
        assert!(FITTED.probability(0.9, 0.8) > FITTED.probability(0.7, 0.8));
        assert!(FITTED.probability(0.9, 0.8) > FITTED.probability(0.9, 0.4));
    }
}
