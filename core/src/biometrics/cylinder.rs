//! Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni, 2010): each minutia gets a local
//! descriptor that is invariant to translation and rotation. Around the minutia, a disc of radius
//! [`RADIUS`] is divided into `NS × NS` spatial cells (rotated with the minutia) and [`ND`]
//! direction bins. A cell counts the neighbouring minutiae near its centre (Gaussian in space)
//! whose direction, relative to the central minutia, falls in its bin (Gaussian in angle), then
//! squashes the sum with a sigmoid. Cells outside the print (far from the convex hull of the
//! minutiae) are marked invalid so that partial overlap is not punished.

use std::f32::consts::{PI, TAU};

use super::minutiae::{Minutia, angle_diff};
use crate::geometry::segment_distance;

/// Cylinder radius, pixels (500 dpi).
pub const RADIUS: f32 = 70.0;
/// Spatial cells per side.
pub const NS: usize = 16;
/// Direction bins.
pub const ND: usize = 6;
const SIGMA_S: f32 = 28.0 / 3.0;
const SIGMA_D: f32 = 2.0 * PI / 9.0;
const MU_PSI: f32 = 0.01;
const TAU_PSI: f32 = 400.0;
/// How far beyond the minutiae's convex hull a cell still counts as print, pixels.
const HULL_MARGIN: f32 = 50.0;
const MIN_VALID_CELLS: f32 = 0.75;
const MIN_NEIGHBOURS: usize = 2;

/// The descriptor of one minutia.
#[derive(Debug, Clone)]
pub struct Cylinder {
    /// `NS·NS·ND` cell values in `0..=1`, cell-major (the `ND` bins of a cell are adjacent).
    pub cells: Vec<f32>,
    /// Per spatial cell: inside the disc and the print.
    pub valid: Vec<bool>,
    /// Count of valid spatial cells.
    pub valid_count: usize,
}

/// Maximum valid spatial cells of a cylinder (those inside the disc).
pub fn cells_in_disc() -> usize {
    let ds = 2.0 * RADIUS / NS as f32;
    let mut n = 0;
    for i in 0..NS {
        for j in 0..NS {
            let u = ds * (i as f32 + 0.5 - NS as f32 / 2.0);
            let v = ds * (j as f32 + 0.5 - NS as f32 / 2.0);
            if u.hypot(v) <= RADIUS {
                n += 1;
            }
        }
    }
    n
}

/// Cylinders of all minutiae; `None` where a cylinder has too little support to be compared.
pub fn cylinders(minutiae: &[Minutia]) -> Vec<Option<Cylinder>> {
    let hull = convex_hull(minutiae);
    let ds = 2.0 * RADIUS / NS as f32;
    let disc = cells_in_disc();
    let gauss_s = 1.0 / (SIGMA_S * (TAU).sqrt());
    let dd = TAU / ND as f32;
    minutiae
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let reach = RADIUS + 3.0 * SIGMA_S;
            // Neighbours with their per-bin directional contribution, computed once.
            let near: Vec<(f32, f32, [f32; ND])> = minutiae
                .iter()
                .enumerate()
                .filter(|&(ti, t)| ti != mi && (t.x - m.x).hypot(t.y - m.y) <= reach)
                .map(|(_, t)| {
                    let dtheta = angle_diff(m.angle, t.angle);
                    let mut cd = [0f32; ND];
                    for (k, c) in cd.iter_mut().enumerate() {
                        let phi = -PI + (k as f32 + 0.5) * dd;
                        let alpha = angle_diff(phi, dtheta);
                        *c = gaussian_area(alpha, dd);
                    }
                    (t.x, t.y, cd)
                })
                .collect();
            if near.len() < MIN_NEIGHBOURS {
                return None;
            }
            let (s, c) = m.angle.sin_cos();
            let mut cells = vec![0f32; NS * NS * ND];
            let mut valid = vec![false; NS * NS];
            let mut valid_count = 0;
            for i in 0..NS {
                for j in 0..NS {
                    let u = ds * (i as f32 + 0.5 - NS as f32 / 2.0);
                    let v = ds * (j as f32 + 0.5 - NS as f32 / 2.0);
                    if u.hypot(v) > RADIUS {
                        continue;
                    }
                    let px = m.x + c * u - s * v;
                    let py = m.y + s * u + c * v;
                    if !near_hull(&hull, px, py) {
                        continue;
                    }
                    let cell = i * NS + j;
                    valid[cell] = true;
                    valid_count += 1;
                    let mut sums = [0f32; ND];
                    for (tx, ty, cd) in &near {
                        let d2 = (tx - px) * (tx - px) + (ty - py) * (ty - py);
                        if d2 > 9.0 * SIGMA_S * SIGMA_S {
                            continue;
                        }
                        let cs = gauss_s * (-d2 / (2.0 * SIGMA_S * SIGMA_S)).exp();
                        for k in 0..ND {
                            sums[k] += cs * cd[k];
                        }
                    }
                    for k in 0..ND {
                        cells[cell * ND + k] = 1.0 / (1.0 + (-TAU_PSI * (sums[k] - MU_PSI)).exp());
                    }
                }
            }
            (valid_count as f32 >= MIN_VALID_CELLS * disc as f32).then_some(Cylinder {
                cells,
                valid,
                valid_count,
            })
        })
        .collect()
}

/// Area of a zero-mean Gaussian (σ = `SIGMA_D`) over `[alpha − width/2, alpha + width/2]`.
fn gaussian_area(alpha: f32, width: f32) -> f32 {
    let k = 1.0 / (SIGMA_D * std::f32::consts::SQRT_2);
    0.5 * (erf((alpha + width / 2.0) * k) - erf((alpha - width / 2.0) * k))
}

/// Abramowitz–Stegun 7.1.26, |error| < 1.5e-7.
fn erf(x: f32) -> f32 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t
            * (-x * x).exp();
    sign * y
}

fn convex_hull(minutiae: &[Minutia]) -> Vec<(f32, f32)> {
    let mut pts: Vec<(f32, f32)> = minutiae.iter().map(|m| (m.x, m.y)).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

fn near_hull(hull: &[(f32, f32)], x: f32, y: f32) -> bool {
    if hull.len() >= 3 {
        let inside = (0..hull.len()).all(|i| {
            let a = hull[i];
            let b = hull[(i + 1) % hull.len()];
            (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0
        });
        if inside {
            return true;
        }
    }
    (0..hull.len()).any(|i| {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        segment_distance(a, b, (x, y)) <= HULL_MARGIN
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biometrics::minutiae::MinutiaKind;

    #[test]
    fn erf_is_accurate() {
        assert!((erf(0.5) - 0.520_499_9).abs() < 1e-5);
        assert!((erf(-1.0) + 0.842_700_8).abs() < 1e-5);
    }

    #[test]
    fn cylinders_are_rotation_invariant() {
        let base: Vec<Minutia> = (0..12)
            .map(|i| {
                let a = i as f32 * 0.7;
                Minutia {
                    x: 150.0 + 40.0 * a.cos() * (1.0 + 0.1 * i as f32),
                    y: 150.0 + 40.0 * a.sin(),
                    angle: (a * 2.3).rem_euclid(TAU),
                    kind: MinutiaKind::Ending,
                    quality: 90,
                }
            })
            .collect();
        let rot = 0.9f32;
        let turned: Vec<Minutia> = base
            .iter()
            .map(|m| {
                let (dx, dy) = (m.x - 150.0, m.y - 150.0);
                Minutia {
                    x: 150.0 + dx * rot.cos() - dy * rot.sin(),
                    y: 150.0 + dx * rot.sin() + dy * rot.cos(),
                    angle: (m.angle + rot).rem_euclid(TAU),
                    ..*m
                }
            })
            .collect();
        let a = cylinders(&base);
        let b = cylinders(&turned);
        let (Some(ca), Some(cb)) = (&a[0], &b[0]) else {
            panic!("cylinder 0 should be valid");
        };
        let diff: f32 = ca
            .cells
            .iter()
            .zip(&cb.cells)
            .map(|(x, y)| (x - y).abs())
            .sum();
        let total: f32 = ca.cells.iter().sum();
        assert!(diff / total < 0.05, "diff {diff} of {total}");
    }
}
