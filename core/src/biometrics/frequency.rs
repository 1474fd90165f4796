//! Ridge period per block: the grey-level profile across the ridges (an "x-signature" over a
//! 32×16 window oriented by the field) has one peak per ridge; the mean distance between peaks is
//! the period. Blocks without a clean profile take the median of their valid neighbours.

use super::image::GrayImage;
use super::orientation::{BLOCK, OrientationField};
use super::segmentation::Mask;

/// Shortest and longest plausible ridge period at 500 dpi, pixels.
pub const PERIOD_RANGE: (f32, f32) = (4.0, 16.0);

/// Ridge period per block in pixels.
pub fn estimate(img: &GrayImage, field: &OrientationField, mask: &Mask) -> Vec<f32> {
    let (bw, bh) = (field.bw, field.bh);
    let mut raw = vec![f32::NAN; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let i = by * bw + bx;
            if mask.fg[i] {
                raw[i] = block_period(img, field.theta[i], bx, by).unwrap_or(f32::NAN);
            }
        }
    }
    let mut valid: Vec<f32> = raw.iter().copied().filter(|p| p.is_finite()).collect();
    let global = median(&mut valid).unwrap_or(9.0);
    let mut out = vec![global; bw * bh];
    let r = 3isize;
    for by in 0..bh as isize {
        for bx in 0..bw as isize {
            let mut near = Vec::with_capacity(49);
            for dy in -r..=r {
                for dx in -r..=r {
                    let (x, y) = (bx + dx, by + dy);
                    if x >= 0 && y >= 0 && (x as usize) < bw && (y as usize) < bh {
                        let p = raw[y as usize * bw + x as usize];
                        if p.is_finite() {
                            near.push(p);
                        }
                    }
                }
            }
            if near.len() >= 4 {
                out[by as usize * bw + bx as usize] = median(&mut near).unwrap_or(global);
            }
        }
    }
    out
}

fn median(v: &mut [f32]) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

fn block_period(img: &GrayImage, theta: f32, bx: usize, by: usize) -> Option<f32> {
    const LEN: isize = 32;
    const WIDTH: isize = 16;
    let cx = (bx * BLOCK + BLOCK / 2) as f32;
    let cy = (by * BLOCK + BLOCK / 2) as f32;
    let (ts, tc) = theta.sin_cos();
    // Normal to the ridge.
    let (nx, ny) = (-ts, tc);
    let mut sig = [0f32; LEN as usize];
    for (k, s) in sig.iter_mut().enumerate() {
        let d = k as f32 - (LEN / 2) as f32;
        let mut acc = 0.0;
        let mut count = 0.0;
        for l in -WIDTH / 2..WIDTH / 2 {
            let x = cx + d * nx + l as f32 * tc;
            let y = cy + d * ny + l as f32 * ts;
            if x < 0.0 || y < 0.0 || x >= img.width as f32 || y >= img.height as f32 {
                continue;
            }
            acc += f32::from(img.get(x as usize, y as usize));
            count += 1.0;
        }
        if count == 0.0 {
            return None;
        }
        *s = acc / count;
    }
    // A light smoothing so noise does not make peaks.
    let mut sm = sig;
    for k in 1..sig.len() - 1 {
        sm[k] = (sig[k - 1] + 2.0 * sig[k] + sig[k + 1]) / 4.0;
    }
    let (lo, hi) = sm
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if hi - lo < 10.0 {
        return None;
    }
    let peaks: Vec<usize> = (1..sm.len() - 1)
        .filter(|&k| sm[k] > sm[k - 1] && sm[k] >= sm[k + 1] && sm[k] > (lo + hi) / 2.0)
        .collect();
    if peaks.len() < 2 {
        return None;
    }
    let period = (peaks[peaks.len() - 1] - peaks[0]) as f32 / (peaks.len() - 1) as f32;
    (PERIOD_RANGE.0..=PERIOD_RANGE.1)
        .contains(&period)
        .then_some(period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biometrics::{orientation, segmentation};

    #[test]
    fn measures_the_period_of_a_synthetic_print() {
        let img = GrayImage::synthetic(200, 200, 11, (0.0, 0.0));
        let field = orientation::estimate(&img);
        let mask = segmentation::segment(&img, &field);
        let periods = estimate(&img, &field, &mask);
        let mid = periods[(field.bh / 2) * field.bw + field.bw / 2];
        // The generator draws periods in 8.5..9.5 (the phase bumps stretch it a little).
        assert!((7.0..=11.5).contains(&mid), "period {mid}");
    }
}
