//! 1:1 matching of two templates: MCC local similarities between every pair of minutiae, then
//! global consolidation by relaxation (LSS-R in Cappelli et al. 2010). The best one-to-one pairs
//! by local similarity are relaxed against each other: a pair keeps its similarity only if other
//! pairs agree with it on distances, relative directions and relative angles. The score is the
//! mean relaxed similarity of the pairs that kept the most of theirs, each weighed by the
//! quality of its two minutiae (a pair on a smudge or at the print's edge counts less), `0..=1`.

use std::f32::consts::PI;

use super::cylinder::{self, Cylinder, ND, NS};
use super::minutiae::{Minutia, angle_diff};
use super::template::Template;

/// Score at or above which two templates are the same finger, for FMR ≤ 0.1 %. Relaxation
/// leaves scores in a narrow band (impostors ≈ 0.015, genuine pairs up to ≈ 0.1). Chosen from
/// the impostor scores of four sets pooled (11 520 pairs): the two FVC2002 B sets and their
/// synthetic `tune` versions (`synthesis.rs`: another resolution, dry, wet, partial, turned,
/// faint, stretched, noisy), whose 0.1 % quantiles ranged 0.023–0.030: pooling sensors and
/// conditions keeps the false match rate bounded on a sensor whose tail is heavier than the
/// shared sets' (README.md, figures).
pub const THRESHOLD: f32 = 0.026;
/// Lower bar for the captures of one enrolment to agree (FMR ≈ 1 %): an administrator watches
/// the enrolment, so a stricter bar would only make inspectors repeat it.
pub const ENROL_AGREEMENT: f32 = 0.021;

const MAX_ANGLE: f32 = PI / 2.0;
const MIN_MATCHABLE: f32 = 0.60;
const MIN_NP: usize = 4;
const MAX_NP: usize = 12;
const MU_P: f32 = 20.0;
const TAU_P: f32 = 0.4;
const RELAX_ROUNDS: usize = 5;
const RELAX_WEIGHT: f32 = 0.5;
/// Weight of a pair whose minutiae both have quality 0: low, not nothing, so a print of poor
/// quality throughout can still match.
const QUALITY_FLOOR: f32 = 0.05;

/// A template ready for matching: its minutiae and their cylinders, computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    minutiae: Vec<Minutia>,
    cylinders: Vec<(usize, Cylinder)>,
}

impl Prepared {
    /// Computes the cylinders of a template.
    pub fn new(template: &Template) -> Prepared {
        let minutiae = template.minutiae.clone();
        let cylinders = cylinder::cylinders(&minutiae)
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| (i, c)))
            .collect();
        Prepared {
            minutiae,
            cylinders,
        }
    }

    /// How many minutiae have a usable descriptor.
    pub fn usable(&self) -> usize {
        self.cylinders.len()
    }
}

fn local_similarity(a: &Cylinder, b: &Cylinder, min_cells: usize) -> f32 {
    let mut matchable = 0;
    let (mut diff, mut na, mut nb) = (0f32, 0f32, 0f32);
    for cell in 0..NS * NS {
        if !(a.valid[cell] && b.valid[cell]) {
            continue;
        }
        matchable += 1;
        let (ca, cb) = (
            &a.cells[cell * ND..(cell + 1) * ND],
            &b.cells[cell * ND..(cell + 1) * ND],
        );
        for k in 0..ND {
            let d = ca[k] - cb[k];
            diff += d * d;
            na += ca[k] * ca[k];
            nb += cb[k] * cb[k];
        }
    }
    let norm = na.sqrt() + nb.sqrt();
    if matchable < min_cells || norm == 0.0 {
        return 0.0;
    }
    1.0 - diff.sqrt() / norm
}

fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// Similarity of two prepared templates, `0..=1`; symmetric up to rounding.
pub fn score(a: &Prepared, b: &Prepared) -> f32 {
    let (na, nb) = (a.cylinders.len(), b.cylinders.len());
    if na < 2 || nb < 2 {
        return 0.0;
    }
    let min_cells = (MIN_MATCHABLE * cylinder::cells_in_disc() as f32).round() as usize;
    let mut pairs: Vec<(f32, usize, usize)> = Vec::with_capacity(na * nb);
    for &(ia, ref ca) in &a.cylinders {
        let ma = &a.minutiae[ia];
        for &(ib, ref cb) in &b.cylinders {
            let mb = &b.minutiae[ib];
            if angle_diff(ma.angle, mb.angle).abs() > MAX_ANGLE {
                continue;
            }
            let s = local_similarity(ca, cb, min_cells);
            if s > 0.0 {
                pairs.push((s, ia, ib));
            }
        }
    }
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)).then(p.2.cmp(&q.2)));
    let n_r = na.min(nb);
    let mut used_a = vec![false; a.minutiae.len()];
    let mut used_b = vec![false; b.minutiae.len()];
    let mut chosen: Vec<(f32, usize, usize)> = Vec::with_capacity(n_r);
    for &(s, ia, ib) in &pairs {
        if chosen.len() == n_r {
            break;
        }
        if used_a[ia] || used_b[ib] {
            continue;
        }
        used_a[ia] = true;
        used_b[ib] = true;
        chosen.push((s, ia, ib));
    }
    let n = chosen.len();
    if n < 2 {
        return 0.0;
    }
    let n_p =
        MIN_NP + (sigmoid(n_r as f32, MU_P, TAU_P) * (MAX_NP - MIN_NP) as f32).round() as usize;
    let n_p = n_p.min(n);
    // Pairwise compatibility of the chosen pairs.
    let mut rho = vec![0f32; n * n];
    for r in 0..n {
        for k in r + 1..n {
            let (a1, b1) = (&a.minutiae[chosen[r].1], &b.minutiae[chosen[r].2]);
            let (a2, b2) = (&a.minutiae[chosen[k].1], &b.minutiae[chosen[k].2]);
            let da = (a1.x - a2.x).hypot(a1.y - a2.y);
            let db = (b1.x - b2.x).hypot(b1.y - b2.y);
            let d1 = (da - db).abs();
            let d2 = angle_diff(
                angle_diff(a1.angle, a2.angle),
                angle_diff(b1.angle, b2.angle),
            )
            .abs();
            let radial =
                |m1: &Minutia, m2: &Minutia| angle_diff(m1.angle, (m2.y - m1.y).atan2(m2.x - m1.x));
            let d3 = angle_diff(radial(a1, a2), radial(b1, b2)).abs();
            let v = sigmoid(d1, 5.0, -1.6)
                * sigmoid(d2, PI / 12.0, -30.0)
                * sigmoid(d3, PI / 12.0, -30.0);
            rho[r * n + k] = v;
            rho[k * n + r] = v;
        }
    }
    let initial: Vec<f32> = chosen.iter().map(|c| c.0).collect();
    let mut lambda = initial.clone();
    for _ in 0..RELAX_ROUNDS {
        let next: Vec<f32> = (0..n)
            .map(|r| {
                let support: f32 = (0..n)
                    .filter(|&k| k != r)
                    .map(|k| rho[r * n + k] * lambda[k])
                    .sum();
                RELAX_WEIGHT * lambda[r] + (1.0 - RELAX_WEIGHT) * support / (n - 1) as f32
            })
            .collect();
        lambda = next;
    }
    let mut efficiency: Vec<(f32, usize)> = (0..n).map(|r| (lambda[r] / initial[r], r)).collect();
    efficiency.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
    // Quality-weighted mean: a pair counts by the geometric mean of its minutiae's qualities.
    let weight = |r: usize| {
        let qa = f32::from(a.minutiae[chosen[r].1].quality);
        let qb = f32::from(b.minutiae[chosen[r].2].quality);
        (qa * qb).sqrt() / 100.0 + QUALITY_FLOOR
    };
    let (mut num, mut den) = (0f32, 0f32);
    for &(_, r) in &efficiency[..n_p] {
        num += weight(r) * lambda[r];
        den += weight(r);
    }
    num / den.max(f32::MIN_POSITIVE)
}

/// Whether two templates are the same finger at [`THRESHOLD`].
pub fn verify(probe: &Prepared, reference: &Prepared) -> (bool, f32) {
    let s = score(probe, reference);
    (s >= THRESHOLD, s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::biometrics::{GrayImage, extract};

    fn prepared(name: &str) -> Option<Prepared> {
        let image = crate::biometrics::image::fvc_sample(name)?;
        Some(Prepared::new(&extract(&image)))
    }

    #[test]
    fn same_finger_matches_and_other_fingers_do_not() {
        let names = [
            "101_1.tif",
            "101_2.tif",
            "101_3.tif",
            "103_1.tif",
            "104_1.tif",
        ];
        let Some(p) = names
            .iter()
            .map(|n| prepared(n))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        assert!(p[0].usable() >= 12);
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            assert!(verify(&p[a], &p[b]).0, "{a}×{b}: {}", score(&p[a], &p[b]));
        }
        for (a, b) in [(0, 3), (0, 4), (1, 3), (3, 4)] {
            assert!(!verify(&p[a], &p[b]).0, "{a}×{b}: {}", score(&p[a], &p[b]));
        }
        // Deterministic, and a template matches itself best.
        assert_eq!(score(&p[0], &p[1]).to_bits(), score(&p[0], &p[1]).to_bits());
        assert!(score(&p[0], &p[0]) > score(&p[0], &p[1]));
    }

    #[test]
    fn a_template_survives_its_binary_form() {
        let path = format!(
            "{}/../../shared/data/fingerprints/FVC2002_DB1_B/102_3.tif",
            env!("CARGO_MANIFEST_DIR")
        );
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("SKIP: {path} ausente");
            return;
        };
        let t = extract(&GrayImage::from_tiff(&bytes).unwrap());
        let back = Template::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back, t);
        let (a, b) = (Prepared::new(&t), Prepared::new(&back));
        assert_eq!(score(&a, &b).to_bits(), score(&a, &a).to_bits());
    }
}
