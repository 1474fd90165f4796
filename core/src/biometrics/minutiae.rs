//! Minutiae from the enhanced image: binarise (enhanced > 0 is ridge), thin to one-pixel
//! skeletons (Zhang–Suen), find endings and forks by crossing number, trace each along its
//! ridges to give it a direction, and drop false ones (print edge, spurs, bridges, broken ridges,
//! crowded clusters).

use std::f32::consts::{PI, TAU};

use super::orientation::{BLOCK, OrientationField};
use super::segmentation::Mask;

/// Kind of minutia. Pressure can turn one into the other, so the matcher weighs it little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinutiaKind {
    /// A ridge ends.
    Ending,
    /// A ridge forks.
    Bifurcation,
}

/// One minutia in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minutia {
    /// Column, pixels.
    pub x: f32,
    /// Row, pixels.
    pub y: f32,
    /// Direction in `[0, 2π)`: for an ending, from the ridge toward its free end; for a fork,
    /// from the fork toward the single ridge it came from (the valley ending's direction).
    pub angle: f32,
    /// Ending or fork.
    pub kind: MinutiaKind,
    /// Confidence `0..=100` from local ridge clarity and distance to the print's edge.
    pub quality: u8,
}

/// Most minutiae kept per image (best quality first).
pub const MAX_MINUTIAE: usize = 80;

// Offsets of the 8 neighbours in cyclic order, starting east, clockwise in image coordinates.
const RING: [(isize, isize); 8] = [
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
];

struct Skeleton {
    w: usize,
    h: usize,
    on: Vec<bool>,
}

impl Skeleton {
    fn at(&self, x: isize, y: isize) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.w
            && (y as usize) < self.h
            && self.on[y as usize * self.w + x as usize]
    }

    fn ring(&self, x: isize, y: isize) -> [bool; 8] {
        RING.map(|(dx, dy)| self.at(x + dx, y + dy))
    }

    fn crossing(&self, x: isize, y: isize) -> usize {
        let r = self.ring(x, y);
        (0..8).filter(|&i| r[i] != r[(i + 1) % 8]).count() / 2
    }
}

/// Extracts minutiae from an enhanced image.
pub fn extract(
    enhanced: &[f32],
    w: usize,
    h: usize,
    field: &OrientationField,
    mask: &Mask,
    periods: &[f32],
) -> Vec<Minutia> {
    let fg_at = |x: usize, y: usize| mask.fg[(y / BLOCK) * mask.bw + x / BLOCK];
    let mut on: Vec<bool> = (0..w * h)
        .map(|i| enhanced[i] > 0.0 && fg_at(i % w, i / w))
        .collect();
    thin(&mut on, w, h);
    let sk = Skeleton { w, h, on };
    let period_at = |x: f32, y: f32| {
        let b = ((y as usize / BLOCK).min(mask.bh - 1)) * mask.bw
            + (x as usize / BLOCK).min(mask.bw - 1);
        periods[b]
    };

    struct Found {
        m: Minutia,
        spurious: bool,
    }
    let mut found: Vec<Found> = Vec::new();
    for y in 1..h as isize - 1 {
        for x in 1..w as isize - 1 {
            if !sk.on[y as usize * w + x as usize] {
                continue;
            }
            let cn = sk.crossing(x, y);
            if cn != 1 && cn != 3 {
                continue;
            }
            let (fx, fy) = (x as f32, y as f32);
            if mask.depth_at(fx, fy) < 2 {
                continue;
            }
            let period = period_at(fx, fy);
            let reach = (1.5 * period).round() as usize;
            let short = (0.9 * period).round() as usize;
            let ring = sk.ring(x, y);
            // One start pixel per branch: the first pixel of each run of set neighbours.
            let starts: Vec<(isize, isize)> = (0..8)
                .filter(|&i| ring[i] && !ring[(i + 7) % 8])
                .map(|i| (x + RING[i].0, y + RING[i].1))
                .collect();
            let traces: Vec<Trace> = starts
                .iter()
                .map(|&s| trace(&sk, (x, y), s, reach))
                .collect();
            let spurious = traces.iter().any(|t| t.hit_minutia && t.len < short);
            let angle = match (cn, traces.as_slice()) {
                (1, [t]) => (fy - t.end.1).atan2(fx - t.end.0),
                (3, [a, b, c]) => {
                    let dir = |t: &Trace| (t.end.1 - fy).atan2(t.end.0 - fx);
                    let d = [dir(a), dir(b), dir(c)];
                    let gap = |i: usize, j: usize| angle_diff(d[i], d[j]).abs();
                    // The two closest branches are the fork; the third is the stem.
                    let stem = [(gap(0, 1), 2), (gap(0, 2), 1), (gap(1, 2), 0)]
                        .into_iter()
                        .min_by(|p, q| p.0.total_cmp(&q.0))
                        .map_or(0, |p| p.1);
                    d[stem]
                }
                _ => continue,
            };
            // The orientation field is smoother than a short trace: keep the traced sense,
            // take the field's direction.
            let t = field.at(fx, fy);
            let snapped = if angle_diff(angle, t).abs() < angle_diff(angle, t + PI).abs() {
                t
            } else {
                t + PI
            };
            let angle = if angle_diff(angle, snapped).abs() < PI / 4.0 {
                snapped
            } else {
                angle
            };
            let b = (y as usize / BLOCK) * mask.bw + x as usize / BLOCK;
            let depth = f32::from(mask.depth[b]);
            let quality = (100.0 * field.coherence[b] * (depth / 4.0).min(1.0)).round() as u8;
            found.push(Found {
                m: Minutia {
                    x: fx,
                    y: fy,
                    angle: angle.rem_euclid(TAU),
                    kind: if cn == 1 {
                        MinutiaKind::Ending
                    } else {
                        MinutiaKind::Bifurcation
                    },
                    quality,
                },
                spurious,
            });
        }
    }
    let n = found.len();
    let mut drop: Vec<bool> = found.iter().map(|f| f.spurious).collect();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&found[i].m, &found[j].m);
            let d = (a.x - b.x).hypot(a.y - b.y);
            let period = period_at(a.x, a.y);
            if d < 0.6 * period {
                // Too close to both be real: a hole, a bridge or skeleton noise.
                drop[i] = true;
                drop[j] = true;
            } else if a.kind == MinutiaKind::Ending
                && b.kind == MinutiaKind::Ending
                && d < 1.8 * period
                && angle_diff(a.angle, b.angle).abs() > 2.0 * PI / 3.0
            {
                // Two endings facing each other across a gap: one broken ridge.
                let link = (b.y - a.y).atan2(b.x - a.x);
                if angle_diff(link, a.angle).abs() < PI / 3.0 {
                    drop[i] = true;
                    drop[j] = true;
                }
            }
        }
    }
    let mut kept: Vec<Minutia> = found
        .into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(f, _)| f.m)
        .collect();
    // Crowds of minutiae mark smudged or scarred areas rather than real ridge detail.
    let crowded: Vec<bool> = kept
        .iter()
        .map(|a| {
            let r = 2.0 * period_at(a.x, a.y);
            kept.iter()
                .filter(|b| (a.x - b.x).hypot(a.y - b.y) < r)
                .count()
                > 4
        })
        .collect();
    let mut i = 0;
    kept.retain(|_| {
        i += 1;
        !crowded[i - 1]
    });
    kept.sort_by(|a, b| {
        b.quality
            .cmp(&a.quality)
            .then(a.y.total_cmp(&b.y))
            .then(a.x.total_cmp(&b.x))
    });
    kept.truncate(MAX_MINUTIAE);
    kept
}

/// Signed difference `a - b` wrapped to `(-π, π]`.
pub fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(TAU);
    if d > PI { d - TAU } else { d }
}

struct Trace {
    end: (f32, f32),
    len: usize,
    hit_minutia: bool,
}

fn trace(sk: &Skeleton, origin: (isize, isize), first: (isize, isize), reach: usize) -> Trace {
    let mut prev = origin;
    let mut cur = first;
    let mut len = 1;
    let mut recent = vec![origin];
    while len < reach {
        let cn = sk.crossing(cur.0, cur.1);
        if cn != 2 {
            return Trace {
                end: (cur.0 as f32, cur.1 as f32),
                len,
                hit_minutia: true,
            };
        }
        recent.push(cur);
        // Prefer 4-connected steps: Zhang–Suen leaves the odd corner pixel.
        let mut next = None;
        for (k, &(dx, dy)) in RING.iter().enumerate() {
            let p = (cur.0 + dx, cur.1 + dy);
            if !sk.at(p.0, p.1) || p == prev || recent.contains(&p) {
                continue;
            }
            let four = k % 2 == 0;
            if next.is_none() || four {
                next = Some(p);
                if four {
                    break;
                }
            }
        }
        let Some(n) = next else { break };
        prev = cur;
        cur = n;
        len += 1;
        if recent.len() > 4 {
            recent.remove(0);
        }
    }
    Trace {
        end: (cur.0 as f32, cur.1 as f32),
        len,
        hit_minutia: false,
    }
}

/// Zhang–Suen thinning in place.
fn thin(on: &mut [bool], w: usize, h: usize) {
    let mut changed = true;
    let mut remove = Vec::new();
    while changed {
        changed = false;
        for pass in 0..2 {
            remove.clear();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let i = y * w + x;
                    if !on[i] {
                        continue;
                    }
                    // P2..P9: north, then clockwise.
                    let p = [
                        on[i - w],
                        on[i - w + 1],
                        on[i + 1],
                        on[i + w + 1],
                        on[i + w],
                        on[i + w - 1],
                        on[i - 1],
                        on[i - w - 1],
                    ];
                    let b = p.iter().filter(|&&v| v).count();
                    if !(2..=6).contains(&b) {
                        continue;
                    }
                    let a = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                    if a != 1 {
                        continue;
                    }
                    let (n, e, s, wst) = (p[0], p[2], p[4], p[6]);
                    let ok = if pass == 0 {
                        !(e && s && (n || wst))
                    } else {
                        !(n && wst && (e || s))
                    };
                    if ok {
                        remove.push(i);
                    }
                }
            }
            for &i in &remove {
                on[i] = false;
            }
            changed |= !remove.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_leaves_a_one_pixel_line() {
        let (w, h) = (20, 9);
        let mut on = vec![false; w * h];
        for y in 3..6 {
            for x in 2..18 {
                on[y * w + x] = true;
            }
        }
        thin(&mut on, w, h);
        for x in 4..16 {
            let column = (0..h).filter(|&y| on[y * w + x]).count();
            assert_eq!(column, 1, "column {x}");
        }
    }

    #[test]
    fn angle_diff_wraps() {
        assert!((angle_diff(0.1, TAU - 0.1) - 0.2).abs() < 1e-5);
        assert!((angle_diff(TAU - 0.1, 0.1) + 0.2).abs() < 1e-5);
    }
}
