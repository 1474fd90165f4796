//! Ridge orientation field: gradient covariance per 8×8 block over a 16×16 window, averaged as
//! doubled-angle vectors (so 0 and π agree) and smoothed with a Gaussian over neighbouring blocks.

use super::image::GrayImage;

/// Side of a block in pixels: every block-level field uses it.
pub const BLOCK: usize = 8;

/// Orientation and coherence per block.
#[derive(Debug, Clone)]
pub struct OrientationField {
    /// Blocks across.
    pub bw: usize,
    /// Blocks down.
    pub bh: usize,
    /// Ridge direction per block, radians in `[0, π)`.
    pub theta: Vec<f32>,
    /// How consistent the gradients are, `0..=1` (1 = perfectly parallel ridges).
    pub coherence: Vec<f32>,
}

impl OrientationField {
    /// Ridge direction at pixel (x, y), from its block.
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let bx = ((x.max(0.0) as usize) / BLOCK).min(self.bw - 1);
        let by = ((y.max(0.0) as usize) / BLOCK).min(self.bh - 1);
        self.theta[by * self.bw + bx]
    }
}

/// Estimates the orientation field of `img`.
pub fn estimate(img: &GrayImage) -> OrientationField {
    let (w, h) = (img.width, img.height);
    let bw = w.div_ceil(BLOCK);
    let bh = h.div_ceil(BLOCK);
    // Per-pixel gradient products, then per-block sums over a window twice the block size.
    let px = |x: isize, y: isize| -> f32 {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        f32::from(img.get(x, y))
    };
    let mut gxx = vec![0f32; w * h];
    let mut gxy = vec![0f32; w * h];
    let mut gyy = vec![0f32; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let gx = (px(x + 1, y - 1) + 2.0 * px(x + 1, y) + px(x + 1, y + 1))
                - (px(x - 1, y - 1) + 2.0 * px(x - 1, y) + px(x - 1, y + 1));
            let gy = (px(x - 1, y + 1) + 2.0 * px(x, y + 1) + px(x + 1, y + 1))
                - (px(x - 1, y - 1) + 2.0 * px(x, y - 1) + px(x + 1, y - 1));
            let i = y as usize * w + x as usize;
            gxx[i] = gx * gx;
            gxy[i] = gx * gy;
            gyy[i] = gy * gy;
        }
    }
    let sxx = integral(&gxx, w, h);
    let sxy = integral(&gxy, w, h);
    let syy = integral(&gyy, w, h);
    let n = bw * bh;
    let mut vx = vec![0f32; n];
    let mut vy = vec![0f32; n];
    let mut energy = vec![0f32; n];
    for by in 0..bh {
        for bx in 0..bw {
            let x0 = (bx * BLOCK).saturating_sub(BLOCK / 2);
            let y0 = (by * BLOCK).saturating_sub(BLOCK / 2);
            let x1 = (bx * BLOCK + BLOCK + BLOCK / 2).min(w);
            let y1 = (by * BLOCK + BLOCK + BLOCK / 2).min(h);
            let a = rect(&sxx, w, x0, y0, x1, y1);
            let b = rect(&syy, w, x0, y0, x1, y1);
            let c = rect(&sxy, w, x0, y0, x1, y1);
            let i = by * bw + bx;
            vx[i] = (a - b) as f32;
            vy[i] = (2.0 * c) as f32;
            energy[i] = (a + b) as f32;
        }
    }
    let (svx, svy, se) = (
        smooth(&vx, bw, bh, 2, 1.5),
        smooth(&vy, bw, bh, 2, 1.5),
        smooth(&energy, bw, bh, 2, 1.5),
    );
    let mut theta = vec![0f32; n];
    let mut coherence = vec![0f32; n];
    for i in 0..n {
        // The gradient is across the ridge; the ridge runs at a right angle to it.
        let t = 0.5 * svy[i].atan2(svx[i]) + std::f32::consts::FRAC_PI_2;
        theta[i] = t.rem_euclid(std::f32::consts::PI);
        coherence[i] = if se[i] > 0.0 {
            (svx[i].hypot(svy[i]) / se[i]).min(1.0)
        } else {
            0.0
        };
    }
    OrientationField {
        bw,
        bh,
        theta,
        coherence,
    }
}

/// Summed-area table with a zero first row and column, in f64 to keep large sums exact enough.
pub(crate) fn integral(v: &[f32], w: usize, h: usize) -> Vec<f64> {
    let mut s = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0f64;
        for x in 0..w {
            row += f64::from(v[y * w + x]);
            s[(y + 1) * (w + 1) + x + 1] = s[y * (w + 1) + x + 1] + row;
        }
    }
    s
}

/// Sum over `[x0, x1) × [y0, y1)` from a table made by [`integral`].
pub(crate) fn rect(s: &[f64], w: usize, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
    let ww = w + 1;
    s[y1 * ww + x1] - s[y0 * ww + x1] - s[y1 * ww + x0] + s[y0 * ww + x0]
}

/// Gaussian smoothing of a block field with radius `r` blocks.
pub(crate) fn smooth(v: &[f32], bw: usize, bh: usize, r: isize, sigma: f32) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for by in 0..bh as isize {
        for bx in 0..bw as isize {
            let (mut acc, mut wsum) = (0f32, 0f32);
            for dy in -r..=r {
                for dx in -r..=r {
                    let (x, y) = (bx + dx, by + dy);
                    if x < 0 || y < 0 || x >= bw as isize || y >= bh as isize {
                        continue;
                    }
                    let g = (-((dx * dx + dy * dy) as f32) / (2.0 * sigma * sigma)).exp();
                    acc += g * v[y as usize * bw + x as usize];
                    wsum += g;
                }
            }
            out[by as usize * bw + bx as usize] = acc / wsum;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripes(angle: f32) -> GrayImage {
        let (w, h) = (64, 64);
        let (s, c) = angle.sin_cos();
        let mut pixels = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                // Distance across the ridges (along the normal).
                let d = -(x as f32) * s + y as f32 * c;
                pixels[y * w + x] = (128.0 + 100.0 * (d / 9.0 * std::f32::consts::TAU).cos()) as u8;
            }
        }
        GrayImage {
            width: w,
            height: h,
            pixels,
        }
    }

    #[test]
    fn finds_the_ridge_direction_of_stripes() {
        for deg in [0f32, 30.0, 90.0, 135.0] {
            let a = deg.to_radians();
            let f = estimate(&stripes(a));
            let t = f.at(32.0, 32.0);
            let diff = (t - a).rem_euclid(std::f32::consts::PI);
            let diff = diff.min(std::f32::consts::PI - diff);
            assert!(diff < 0.05, "{deg}°: got {}", t.to_degrees());
            assert!(f.coherence[4 * f.bw + 4] > 0.9);
        }
    }
}
