//! Contextual enhancement: each print pixel is normalised by its block's grey statistics and
//! convolved with an even-symmetric Gabor kernel tuned to the local ridge direction and period.
//! Kernels come from a bank quantised to 16 directions and half-pixel periods. The result is
//! positive on ridges and negative in valleys.

use std::collections::HashMap;

use super::image::GrayImage;
use super::orientation::{BLOCK, OrientationField};
use super::segmentation::Mask;

const DIRECTIONS: usize = 16;
const RADIUS: isize = 6;

struct Kernel {
    taps: Vec<f32>,
}

fn kernel(theta: f32, period: f32) -> Kernel {
    let side = (2 * RADIUS + 1) as usize;
    let mut taps = Vec::with_capacity(side * side);
    let (s, c) = theta.sin_cos();
    // Wider along the ridge than across it: smooths breaks without merging ridges.
    let sigma_across = 0.45 * period;
    let sigma_along = 0.6 * period;
    for dy in -RADIUS..=RADIUS {
        for dx in -RADIUS..=RADIUS {
            let (x, y) = (dx as f32, dy as f32);
            let along = x * c + y * s;
            let across = -x * s + y * c;
            let g = (-0.5
                * (across * across / (sigma_across * sigma_across)
                    + along * along / (sigma_along * sigma_along)))
                .exp();
            taps.push(g * (std::f32::consts::TAU * across / period).cos());
        }
    }
    // No response to flat grey.
    let mean = taps.iter().sum::<f32>() / taps.len() as f32;
    taps.iter_mut().for_each(|t| *t -= mean);
    Kernel { taps }
}

/// Enhanced image (f32, ridges > 0) over the print; 0 on the background.
pub fn enhance(
    img: &GrayImage,
    field: &OrientationField,
    mask: &Mask,
    periods: &[f32],
) -> Vec<f32> {
    let (w, h) = (img.width, img.height);
    // Ridges are dark: flip and normalise per block so every region has unit contrast.
    let mut norm = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let b = (y / BLOCK) * field.bw + x / BLOCK;
            let sd = mask.std[b].max(1.0);
            norm[y * w + x] = (mask.mean[b] - f32::from(img.get(x, y))) / sd;
        }
    }
    let mut bank: HashMap<(usize, u32), Kernel> = HashMap::new();
    let mut out = vec![0f32; w * h];
    let side = (2 * RADIUS + 1) as usize;
    for by in 0..field.bh {
        for bx in 0..field.bw {
            let b = by * field.bw + bx;
            if !mask.fg[b] {
                continue;
            }
            let dir = ((field.theta[b] / std::f32::consts::PI * DIRECTIONS as f32).round()
                as usize)
                % DIRECTIONS;
            let half_px = (periods[b] * 2.0).round() as u32;
            let k = bank.entry((dir, half_px)).or_insert_with(|| {
                kernel(
                    dir as f32 * std::f32::consts::PI / DIRECTIONS as f32,
                    half_px as f32 / 2.0,
                )
            });
            for y in by * BLOCK..((by + 1) * BLOCK).min(h) {
                for x in bx * BLOCK..((bx + 1) * BLOCK).min(w) {
                    let mut acc = 0f32;
                    let inside = x as isize >= RADIUS
                        && y as isize >= RADIUS
                        && x as isize + RADIUS < w as isize
                        && y as isize + RADIUS < h as isize;
                    if inside {
                        for (ky, row) in k.taps.chunks_exact(side).enumerate() {
                            let start = (y + ky - RADIUS as usize) * w + x - RADIUS as usize;
                            let src = &norm[start..start + side];
                            acc += row.iter().zip(src).map(|(a, b)| a * b).sum::<f32>();
                        }
                    } else {
                        for (i, t) in k.taps.iter().enumerate() {
                            let sx = (x as isize + (i % side) as isize - RADIUS)
                                .clamp(0, w as isize - 1)
                                as usize;
                            let sy = (y as isize + (i / side) as isize - RADIUS)
                                .clamp(0, h as isize - 1)
                                as usize;
                            acc += t * norm[sy * w + sx];
                        }
                    }
                    out[y * w + x] = acc;
                }
            }
        }
    }
    out
}
