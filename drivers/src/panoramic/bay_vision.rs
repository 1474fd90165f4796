//! Does one frame show a vehicle in the bay? Judged against a still of the empty bay taken by
//! the technician (§17e), by pure arithmetic over a coarse grid of the monitored region:
//!
//! 1. **Grid.** Frame and reference are reduced to the same grid over the region (the longer
//!    side [`GRID_CELLS`] cells, each the mean of its pixels): camera noise averages out, and
//!    a reference taken at another preview size still lines up (only the aspect must match).
//! 2. **Lighting.** The frame is modelled as the reference under other light:
//!    `frame ≈ g(x, y) · reference`, with `g` a plane over the region (a global change, and a
//!    smooth one across the bay, e.g. a door opened on one side). Luma is gamma-encoded, and a
//!    power of a product is a product of powers, so a change of the light in the scene is a
//!    gain in luma too. The fit is a least-trimmed-squares fit: it keeps the half of the cells
//!    the plane explains best, so a vehicle covering less than half the region does not pull
//!    it. `g` is kept within [`GAIN_MIN`]…[`GAIN_MAX`]: beyond that it is not the same bay
//!    under other light (camera covered, moved, blinded) and the difference counts.
//! 3. **Changed cells.** A cell changed when its level departs from the lit reference by more
//!    than [`LEVEL_ABS`] + [`LEVEL_REL`] of the level (and four times the frame's own robust
//!    noise), or when its local gradient (Sobel) does (edges a vehicle brings or hides: a
//!    silver car on grey concrete differs little in level but has an outline and windows).
//! 4. **Clean-up.** Isolated cells go (fewer than two changed neighbours); a closing of radius
//!    [`CLOSE_RADIUS`] joins the parts of one vehicle; holes are filled, so an outline that
//!    closes counts with what it encloses.
//! 5. **Size.** The largest 8-connected blob's share of the region is compared with the
//!    vehicle share the caller asks for (see `PresenceConfig::min_vehicle_share`).

use super::presence::{GrayFrame, Region};

/// Cells along the longer side of the region's grid (a 320-pixel preview of a bay taking
/// most of the frame: cells of ≈4–5 pixels, ≈10 cm of floor).
pub const GRID_CELLS: usize = 64;
/// Smallest lighting gain taken for a change of light.
pub const GAIN_MIN: f32 = 0.4;
/// Largest lighting gain taken for a change of light.
pub const GAIN_MAX: f32 = 2.5;
/// A cell's level must depart by more than this (grey levels)…
pub const LEVEL_ABS: f32 = 12.0;
/// …plus this share of its expected level (tone curves are not exact powers; paint and
/// polished floors reflect more than they scatter).
pub const LEVEL_REL: f32 = 0.10;
/// …and by more than this many times the frame's robust noise (σ from the median residual).
pub const NOISE_K: f32 = 4.0;
/// The noise term is capped here, so a frame whose residuals are mostly a vehicle cannot
/// raise the threshold over the vehicle itself.
pub const NOISE_CAP: f32 = 30.0;
/// A cell's gradient (grey levels per cell) must depart by more than this…
pub const EDGE_ABS: f32 = 7.0;
/// …plus this share of the stronger of the two gradients.
pub const EDGE_REL: f32 = 0.35;
/// Radius in cells of the closing that joins a vehicle's parts (≈20 cm of floor).
pub const CLOSE_RADIUS: usize = 2;
/// A frame this flat while the reference is not, or this dark or bright, is not a picture
/// of the bay (lens covered, lamp out, camera blinded).
const FLAT_STD: f32 = 1.5;
const DARK_MEAN: f32 = 10.0;
const BRIGHT_MEAN: f32 = 248.0;
/// Aspect ratios of frame and reference may differ by this share (rounding of sizes).
const ASPECT_TOLERANCE: f32 = 0.03;

/// What one frame shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// A vehicle-sized blob of difference is in the region.
    pub vehicle: bool,
    /// Share of the region covered by the largest blob of difference (holes filled).
    pub share: f32,
    /// Share of the region's cells that changed, before the clean-up.
    pub changed: f32,
    /// Lighting gain found at the centre of the region (1 = as in the reference).
    pub gain: f32,
    /// False when the frame is no picture of the bay (see [`FLAT_STD`]); then `vehicle` is
    /// false.
    pub readable: bool,
}

/// The reference does not fit the frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a referência da baia vazia ({}×{}) não tem o formato da imagem da câmera ({}×{}): capture-a de novo",
    reference.0, reference.1, frame.0, frame.1
)]
pub struct Mismatch {
    /// Reference size.
    pub reference: (u32, u32),
    /// Frame size.
    pub frame: (u32, u32),
}

/// The empty bay reduced to the grid, ready to judge frames.
#[derive(Debug, Clone)]
pub struct BayModel {
    region: Region,
    cols: usize,
    rows: usize,
    size: (u32, u32),
    reference: Vec<f32>,
    reference_std: f32,
    /// Cell centres, in −0.5…0.5 of the region.
    coords: Vec<(f32, f32)>,
}

impl BayModel {
    /// The model of `reference` (the empty bay) over `region`.
    pub fn new(reference: &GrayFrame, region: Region) -> BayModel {
        let (x0, y0, x1, y1) = region.bounds(reference.width, reference.height);
        let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
        let (cols, rows) = if w >= h {
            let cols = GRID_CELLS.min(x1 - x0);
            (
                cols,
                ((cols as f32 * h / w).round() as usize).clamp(1, y1 - y0),
            )
        } else {
            let rows = GRID_CELLS.min(y1 - y0);
            (
                ((rows as f32 * w / h).round() as usize).clamp(1, x1 - x0),
                rows,
            )
        };
        let grid = grid(reference, &region, cols, rows);
        let coords = (0..rows)
            .flat_map(|r| {
                (0..cols).map(move |c| {
                    (
                        (c as f32 + 0.5) / cols as f32 - 0.5,
                        (r as f32 + 0.5) / rows as f32 - 0.5,
                    )
                })
            })
            .collect();
        BayModel {
            region,
            cols,
            rows,
            size: (reference.width, reference.height),
            reference_std: mean_std(&grid).1,
            reference: grid,
            coords,
        }
    }

    /// Grid size `(columns, rows)`.
    pub fn grid(&self) -> (usize, usize) {
        (self.cols, self.rows)
    }

    /// Judges `frame`: is a blob of difference covering at least `min_share` of the region
    /// there?
    pub fn assess(&self, frame: &GrayFrame, min_share: f32) -> Result<Assessment, Mismatch> {
        let aspect = |(w, h): (u32, u32)| w.max(1) as f32 / h.max(1) as f32;
        let (ra, fa) = (aspect(self.size), aspect((frame.width, frame.height)));
        if frame.luma.len() < (frame.width * frame.height) as usize
            || (fa - ra).abs() > ASPECT_TOLERANCE * ra
        {
            return Err(Mismatch {
                reference: self.size,
                frame: (frame.width, frame.height),
            });
        }
        let f = grid(frame, &self.region, self.cols, self.rows);
        let (mean, std) = mean_std(&f);
        if !(DARK_MEAN..=BRIGHT_MEAN).contains(&mean)
            || (std < FLAT_STD && self.reference_std > 4.0 * FLAT_STD)
        {
            return Ok(Assessment {
                vehicle: false,
                share: 0.0,
                changed: 0.0,
                gain: 0.0,
                readable: false,
            });
        }
        let gain = robust_gain(&f, &self.reference, &self.coords);
        let lit: Vec<f32> = self
            .reference
            .iter()
            .zip(&self.coords)
            .map(|(r, &(x, y))| gain.at(x, y) * r)
            .collect();
        let mut residuals: Vec<f32> = f.iter().zip(&lit).map(|(a, b)| (a - b).abs()).collect();
        let sigma = 1.4826 * median(&mut residuals);
        let changed = self.changed_cells(&f, &lit, sigma);
        let changed_share = changed.iter().filter(|c| **c).count() as f32 / changed.len() as f32;
        let cleaned = clean_up(&changed, self.cols, self.rows);
        let share = largest_blob(&cleaned, self.cols, self.rows) as f32 / cleaned.len() as f32;
        Ok(Assessment {
            vehicle: share >= min_share,
            share,
            changed: changed_share,
            gain: gain.at(0.0, 0.0),
            readable: true,
        })
    }

    /// Cells whose level or gradient departs from the lit reference.
    fn changed_cells(&self, f: &[f32], lit: &[f32], sigma: f32) -> Vec<bool> {
        let noise = (NOISE_K * sigma).min(NOISE_CAP);
        let gf = sobel(f, self.cols, self.rows);
        let gl = sobel(lit, self.cols, self.rows);
        f.iter()
            .zip(lit)
            .zip(gf.iter().zip(&gl))
            .map(|((a, b), (ga, gb))| {
                let level = (a - b).abs() > (LEVEL_ABS + LEVEL_REL * b).max(noise);
                let (dx, dy) = (ga.0 - gb.0, ga.1 - gb.1);
                let strongest = ga.0.hypot(ga.1).max(gb.0.hypot(gb.1));
                let edge = dx.hypot(dy) > (EDGE_ABS + EDGE_REL * strongest).max(0.5 * noise);
                level || edge
            })
            .collect()
    }
}

/// Mean of each cell of a `cols`×`rows` grid over `region` of `frame`.
fn grid(frame: &GrayFrame, region: &Region, cols: usize, rows: usize) -> Vec<f32> {
    let (x0, y0, x1, y1) = region.bounds(frame.width, frame.height);
    let edges = |start: usize, end: usize, n: usize| -> Vec<(usize, usize)> {
        (0..n)
            .map(|i| {
                let a = (start + i * (end - start) / n).min(end - 1);
                let b = (start + (i + 1) * (end - start) / n).clamp(a + 1, end);
                (a, b)
            })
            .collect()
    };
    let (xs, ys) = (edges(x0, x1, cols), edges(y0, y1, rows));
    let stride = frame.width as usize;
    let mut out = Vec::with_capacity(cols * rows);
    for &(ya, yb) in &ys {
        for &(xa, xb) in &xs {
            let mut sum = 0u32;
            for y in ya..yb {
                let row = &frame.luma[y * stride + xa..y * stride + xb];
                sum += row.iter().map(|v| u32::from(*v)).sum::<u32>();
            }
            out.push(sum as f32 / ((yb - ya) * (xb - xa)) as f32);
        }
    }
    out
}

fn mean_std(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f32;
    let mean = v.iter().sum::<f32>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
    (mean, var.sqrt())
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// Lighting as a plane of gain over the region: `a + b·x + c·y`.
#[derive(Debug, Clone, Copy)]
struct Gain {
    a: f32,
    b: f32,
    c: f32,
}

impl Gain {
    fn flat(a: f32) -> Gain {
        Gain { a, b: 0.0, c: 0.0 }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        (self.a + self.b * x + self.c * y).clamp(GAIN_MIN, GAIN_MAX)
    }
}

/// Least-squares gain plane over the cells `subset` (`None` when degenerate).
fn fit(f: &[f32], r: &[f32], coords: &[(f32, f32)], subset: &[usize]) -> Option<Gain> {
    let mut m = [[0f64; 3]; 3];
    let mut v = [0f64; 3];
    for &i in subset {
        let (x, y) = coords[i];
        let phi = [f64::from(r[i]), f64::from(x * r[i]), f64::from(y * r[i])];
        for (j, pj) in phi.iter().enumerate() {
            v[j] += pj * f64::from(f[i]);
            for (k, pk) in phi.iter().enumerate() {
                m[j][k] += pj * pk;
            }
        }
    }
    // A touch of ridge: a flat or black reference leaves the slopes undetermined.
    let ridge = 1e-6 * (m[0][0] + m[1][1] + m[2][2]) + 1e-9;
    for (j, row) in m.iter_mut().enumerate() {
        row[j] += ridge;
    }
    let s = solve3(m, v)?;
    Some(Gain {
        a: s[0] as f32,
        b: s[1] as f32,
        c: s[2] as f32,
    })
}

/// Gaussian elimination with partial pivoting.
fn solve3(mut m: [[f64; 3]; 3], mut v: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|a, b| m[*a][col].abs().total_cmp(&m[*b][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        v.swap(col, pivot);
        for row in col + 1..3 {
            let factor = m[row][col] / m[col][col];
            let pivot_row = m[col];
            for (cell, p) in m[row].iter_mut().zip(pivot_row).skip(col) {
                *cell -= factor * p;
            }
            v[row] -= factor * v[col];
        }
    }
    let mut x = [0f64; 3];
    for row in (0..3).rev() {
        let tail: f64 = (row + 1..3).map(|k| m[row][k] * x[k]).sum();
        x[row] = (v[row] - tail) / m[row][row];
    }
    Some(x)
}

/// Least-trimmed-squares gain plane: from three starts (no change, the ratio of medians, a
/// plain fit), concentration steps on the half of the cells explained best; the start that
/// ends with the smallest trimmed sum wins.
fn robust_gain(f: &[f32], r: &[f32], coords: &[(f32, f32)]) -> Gain {
    let n = f.len();
    let keep = (n / 2).max(3).min(n);
    let residual = |g: &Gain, i: usize| {
        let (x, y) = coords[i];
        (f[i] - g.at(x, y) * r[i]).abs()
    };
    let best_half = |g: &Gain| -> (Vec<usize>, f32) {
        let mut order: Vec<(f32, usize)> = (0..n).map(|i| (residual(g, i), i)).collect();
        if keep < n {
            order.select_nth_unstable_by(keep - 1, |a, b| a.0.total_cmp(&b.0));
        }
        order.truncate(keep);
        let score = order.iter().map(|(e, _)| e * e).sum();
        (order.into_iter().map(|(_, i)| i).collect(), score)
    };
    let (mut fm, mut rm) = (f.to_vec(), r.to_vec());
    let ratio = median(&mut fm) / median(&mut rm).max(1.0);
    let all: Vec<usize> = (0..n).collect();
    let mut starts = vec![Gain::flat(1.0), Gain::flat(ratio)];
    starts.extend(fit(f, r, coords, &all));
    let mut best = (Gain::flat(1.0), f32::INFINITY);
    for mut g in starts {
        for _ in 0..6 {
            let (subset, _) = best_half(&g);
            match fit(f, r, coords, &subset) {
                Some(next) => g = next,
                None => break,
            }
        }
        let (_, score) = best_half(&g);
        if score < best.1 {
            best = (g, score);
        }
    }
    best.0
}

/// Sobel gradient of a grid (borders replicated), in grey levels per cell.
fn sobel(v: &[f32], cols: usize, rows: usize) -> Vec<(f32, f32)> {
    let at = |c: isize, r: isize| {
        let c = c.clamp(0, cols as isize - 1) as usize;
        let r = r.clamp(0, rows as isize - 1) as usize;
        v[r * cols + c]
    };
    let mut out = Vec::with_capacity(v.len());
    for r in 0..rows as isize {
        for c in 0..cols as isize {
            let gx = (at(c + 1, r - 1) + 2.0 * at(c + 1, r) + at(c + 1, r + 1)
                - at(c - 1, r - 1)
                - 2.0 * at(c - 1, r)
                - at(c - 1, r + 1))
                / 8.0;
            let gy = (at(c - 1, r + 1) + 2.0 * at(c, r + 1) + at(c + 1, r + 1)
                - at(c - 1, r - 1)
                - 2.0 * at(c, r - 1)
                - at(c + 1, r - 1))
                / 8.0;
            out.push((gx, gy));
        }
    }
    out
}

/// Despeckle, close, fill holes.
fn clean_up(mask: &[bool], cols: usize, rows: usize) -> Vec<bool> {
    let neighbours = |c: usize, r: usize| {
        let mut n = 0;
        for dr in -1isize..=1 {
            for dc in -1isize..=1 {
                let (cc, rr) = (c as isize + dc, r as isize + dr);
                if (dr, dc) != (0, 0)
                    && (0..cols as isize).contains(&cc)
                    && (0..rows as isize).contains(&rr)
                    && mask[rr as usize * cols + cc as usize]
                {
                    n += 1;
                }
            }
        }
        n
    };
    let despeckled: Vec<bool> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c, r)))
        .map(|(c, r)| mask[r * cols + c] && neighbours(c, r) >= 2)
        .collect();
    // The closing runs on a grid padded by its radius, so a blob near the edge of the region
    // is neither stretched to it nor eaten from it.
    let pad = CLOSE_RADIUS;
    let (pc, pr) = (cols + 2 * pad, rows + 2 * pad);
    let mut padded = vec![false; pc * pr];
    for r in 0..rows {
        padded[(r + pad) * pc + pad..(r + pad) * pc + pad + cols]
            .copy_from_slice(&despeckled[r * cols..(r + 1) * cols]);
    }
    let dilated = morph(&padded, pc, pr, CLOSE_RADIUS, true);
    let closed = morph(&dilated, pc, pr, CLOSE_RADIUS, false);
    let cropped: Vec<bool> = (0..rows)
        .flat_map(|r| closed[(r + pad) * pc + pad..(r + pad) * pc + pad + cols].to_vec())
        .collect();
    fill_holes(&cropped, cols, rows)
}

/// Square dilation (`grow`) or erosion of radius `radius`, separably; outside the grid
/// counts as unset.
fn morph(mask: &[bool], cols: usize, rows: usize, radius: usize, grow: bool) -> Vec<bool> {
    let pass = |src: &[bool], along_rows: bool| -> Vec<bool> {
        let mut out = vec![false; src.len()];
        for r in 0..rows {
            for c in 0..cols {
                let (pos, len) = if along_rows { (c, cols) } else { (r, rows) };
                let cell = |p: isize| {
                    if !(0..len as isize).contains(&p) {
                        return false;
                    }
                    let p = p as usize;
                    if along_rows {
                        src[r * cols + p]
                    } else {
                        src[p * cols + c]
                    }
                };
                let window = pos as isize - radius as isize..=pos as isize + radius as isize;
                out[r * cols + c] = if grow {
                    window.into_iter().any(cell)
                } else {
                    window.into_iter().all(cell)
                };
            }
        }
        out
    };
    let first = pass(mask, true);
    pass(&first, false)
}

/// Unset cells not reachable from the border through unset cells (4-connected) are set.
fn fill_holes(mask: &[bool], cols: usize, rows: usize) -> Vec<bool> {
    let mut outside = vec![false; mask.len()];
    let mut stack: Vec<usize> = (0..mask.len())
        .filter(|&i| {
            let (c, r) = (i % cols, i / cols);
            (c == 0 || r == 0 || c == cols - 1 || r == rows - 1) && !mask[i]
        })
        .collect();
    for &i in &stack {
        outside[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (c, r) = (i % cols, i / cols);
        let mut visit = |j: usize| {
            if !mask[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        };
        if c > 0 {
            visit(i - 1);
        }
        if c + 1 < cols {
            visit(i + 1);
        }
        if r > 0 {
            visit(i - cols);
        }
        if r + 1 < rows {
            visit(i + cols);
        }
    }
    outside.iter().map(|o| !o).collect()
}

/// Cells in the largest 8-connected blob.
fn largest_blob(mask: &[bool], cols: usize, rows: usize) -> usize {
    let mut seen = vec![false; mask.len()];
    let mut largest = 0;
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (c, r) = ((i % cols) as isize, (i / cols) as isize);
            for dr in -1..=1 {
                for dc in -1..=1 {
                    let (cc, rr) = (c + dc, r + dr);
                    if (0..cols as isize).contains(&cc) && (0..rows as isize).contains(&rr) {
                        let j = rr as usize * cols + cc as usize;
                        if mask[j] && !seen[j] {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        largest = largest.max(size);
    }
    largest
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> GrayFrame {
        let luma = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        GrayFrame {
            width,
            height,
            luma,
        }
    }

    /// A floor with a mild texture.
    fn floor(x: u32, y: u32) -> u8 {
        (120 + ((x * 7 + y * 13) % 17) as i32 - 8) as u8
    }

    #[test]
    fn the_same_floor_under_other_light_is_no_vehicle() {
        let empty = frame(160, 90, floor);
        let model = BayModel::new(&empty, Region::FULL);
        for gain in [0.6f32, 0.8, 1.0, 1.3, 1.6] {
            let lit = frame(160, 90, |x, y| (f32::from(floor(x, y)) * gain) as u8);
            let a = model.assess(&lit, 0.12).unwrap();
            assert!(!a.vehicle && a.share < 0.02, "gain {gain}: {a:?}");
            assert!((a.gain - gain).abs() < 0.05, "gain {gain}: {a:?}");
        }
    }

    #[test]
    fn a_large_blob_is_a_vehicle_and_a_small_one_is_not() {
        let empty = frame(160, 90, floor);
        let model = BayModel::new(&empty, Region::FULL);
        let with_box = |w: u32, h: u32| {
            frame(160, 90, |x, y| {
                if (40..40 + w).contains(&x) && (20..20 + h).contains(&y) {
                    40
                } else {
                    floor(x, y)
                }
            })
        };
        let car = model.assess(&with_box(70, 45), 0.12).unwrap();
        // 22 % of the region, and the cell around it where the outline's gradient changed.
        assert!(car.vehicle && (0.2..0.3).contains(&car.share), "{car:?}");
        let person = model.assess(&with_box(8, 20), 0.12).unwrap();
        assert!(!person.vehicle && person.share < 0.04, "{person:?}");
    }

    #[test]
    fn holes_are_filled_and_specks_dropped() {
        let (cols, rows) = (12, 10);
        let mut mask = vec![false; cols * rows];
        for r in 2..8 {
            for c in 2..9 {
                mask[r * cols + c] = r == 2 || r == 7 || c == 2 || c == 8;
            }
        }
        mask[cols - 1] = true; // a lone speck in a corner
        let cleaned = clean_up(&mask, cols, rows);
        assert_eq!(largest_blob(&cleaned, cols, rows), 6 * 7);
        assert!(!cleaned[cols - 1]);
    }

    #[test]
    fn a_reference_of_another_shape_is_refused() {
        let model = BayModel::new(&frame(160, 90, floor), Region::FULL);
        assert!(model.assess(&frame(320, 180, floor), 0.12).is_ok());
        assert!(model.assess(&frame(160, 120, floor), 0.12).is_err());
    }

    #[test]
    fn a_covered_lens_is_no_picture() {
        let model = BayModel::new(&frame(160, 90, floor), Region::FULL);
        let a = model.assess(&frame(160, 90, |_, _| 3), 0.12).unwrap();
        assert!(!a.readable && !a.vehicle, "{a:?}");
    }
}
