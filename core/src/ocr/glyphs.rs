//! Our own character classifier for segmented plate glyphs: shape features (ink density and
//! gradient orientations on a height-normalised canvas) into a small two-layer network.
//!
//! Tesseract reads general text; a plate has 36 symbols in one narrow family of typefaces, cut
//! out cleanly by the segmenter. A classifier trained for exactly that (see [`super::train`],
//! trained on rendered glyphs, never on the benchmark photos) gives a score for every symbol
//! at every position, which the format-aware decoder needs to choose between `LLL9999` and
//! `LLL9L99` and between look-alikes such as O/0, I/1, B/8.

use std::sync::OnceLock;

use image::GrayImage;

/// The symbols, in the order of the network's outputs.
pub const CLASSES: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Side of the square canvas a glyph is normalised onto.
const SIDE: usize = 48;
/// Density grid: `GRID × GRID` cells.
const GRID: usize = 12;
/// Orientation grid: `CELLS × CELLS` cells of `BINS` orientations each.
const CELLS: usize = 4;
const BINS: usize = 8;
/// Length of a feature vector.
pub const FEATURES: usize = GRID * GRID + CELLS * CELLS * BINS + 2;

const MAGIC: &[u8; 4] = b"VGM1";

/// The model shipped with the kiosk (`assets/ocr/glyphs.bin`, made by `vistoria ocr train`).
static BUNDLED: &[u8] = include_bytes!("../../../assets/ocr/glyphs.bin");

/// A two-layer network: `FEATURES → hidden (ReLU) → 36` with a softmax.
#[derive(Debug, Clone)]
pub struct GlyphModel {
    /// Hidden width.
    pub hidden: usize,
    /// `hidden × FEATURES`, row-major.
    pub w1: Vec<f32>,
    /// `hidden`.
    pub b1: Vec<f32>,
    /// `36 × hidden`, row-major.
    pub w2: Vec<f32>,
    /// `36`.
    pub b2: Vec<f32>,
}

impl GlyphModel {
    /// The bundled model, parsed once.
    pub fn bundled() -> &'static GlyphModel {
        static MODEL: OnceLock<GlyphModel> = OnceLock::new();
        MODEL.get_or_init(|| {
            // The bytes are compiled in and checked by a unit test; a bad file is a build bug.
            GlyphModel::from_bytes(BUNDLED).expect("modelo de caracteres embutido válido")
        })
    }

    /// Parses the little-endian file written by [`GlyphModel::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<GlyphModel, String> {
        let header = bytes.get(..16).ok_or("modelo de caracteres truncado")?;
        if &header[..4] != MAGIC {
            return Err("arquivo não é um modelo de caracteres".into());
        }
        let word = |i: usize| {
            u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]) as usize
        };
        let (inputs, hidden, classes) = (word(4), word(8), word(12));
        if inputs != FEATURES || classes != CLASSES.len() || hidden == 0 || hidden > 4096 {
            return Err(format!(
                "modelo de caracteres incompatível ({inputs}→{hidden}→{classes})"
            ));
        }
        let count = hidden * inputs + hidden + classes * hidden + classes;
        let body = &bytes[16..];
        if body.len() != count * 4 {
            return Err("modelo de caracteres com tamanho errado".into());
        }
        let mut values = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let mut take = |n: usize| values.by_ref().take(n).collect::<Vec<f32>>();
        Ok(GlyphModel {
            hidden,
            w1: take(hidden * inputs),
            b1: take(hidden),
            w2: take(classes * hidden),
            b2: take(classes),
        })
    }

    /// The model as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 4 * (self.w1.len() + self.w2.len() + 200));
        out.extend_from_slice(MAGIC);
        for n in [FEATURES, self.hidden, CLASSES.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        for v in self
            .w1
            .iter()
            .chain(&self.b1)
            .chain(&self.w2)
            .chain(&self.b2)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Hidden activations (after ReLU) for a feature vector.
    pub fn hidden_layer(&self, x: &[f32]) -> Vec<f32> {
        (0..self.hidden)
            .map(|j| {
                let row = &self.w1[j * FEATURES..(j + 1) * FEATURES];
                let s: f32 = row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + self.b1[j];
                s.max(0.0)
            })
            .collect()
    }

    /// Output scores before the softmax.
    pub fn logits(&self, hidden: &[f32]) -> [f32; 36] {
        let mut out = [0f32; 36];
        for (k, o) in out.iter_mut().enumerate() {
            let row = &self.w2[k * self.hidden..(k + 1) * self.hidden];
            *o = row.iter().zip(hidden).map(|(w, h)| w * h).sum::<f32>() + self.b2[k];
        }
        out
    }

    /// Probability of each symbol of [`CLASSES`] for a feature vector.
    pub fn probabilities(&self, x: &[f32]) -> [f32; 36] {
        softmax(self.logits(&self.hidden_layer(x)))
    }

    /// Probability of each symbol for a glyph image (dark ink on light).
    pub fn classify(&self, glyph: &GrayImage) -> [f32; 36] {
        self.probabilities(&features(glyph))
    }
}

/// Softmax in place.
pub fn softmax(mut z: [f32; 36]) -> [f32; 36] {
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0;
    for v in &mut z {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in &mut z {
        *v /= sum;
    }
    z
}

/// Features of a glyph image (dark ink on a light background, any size): the ink's box is
/// scaled to the canvas height keeping its aspect, then ink density per cell, gradient
/// orientation histograms per cell, and the aspect ratio itself.
pub fn features(glyph: &GrayImage) -> Vec<f32> {
    let mut out = vec![0f32; FEATURES];
    let (w, h) = (glyph.width() as usize, glyph.height() as usize);
    let raw = glyph.as_raw();
    let ink = |x: usize, y: usize| 1.0 - f32::from(raw[y * w + x]) / 255.0;
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if raw[y * w + x] < 128 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x1 <= x0 || y1 <= y0 {
        return out;
    }
    let (bw, bh) = ((x1 - x0) as f32, (y1 - y0) as f32);
    let aspect = bw / bh;
    let scale = SIDE as f32 / bh;
    let cw = (bw * scale).round().clamp(1.0, SIDE as f32);
    let sx = bw / cw;
    let left = (SIDE as f32 - cw) / 2.0;
    // Area-averaged resampling onto the canvas (box filter over the source footprint).
    let mut canvas = vec![0f32; SIDE * SIDE];
    for v in 0..SIDE {
        let ys = y0 as f32 + v as f32 / scale;
        let ye = y0 as f32 + (v + 1) as f32 / scale;
        for u in 0..SIDE {
            let fu = u as f32 - left;
            if fu < 0.0 || fu >= cw {
                continue;
            }
            let xs = x0 as f32 + fu * sx;
            let xe = x0 as f32 + (fu + 1.0) * sx;
            let (mut acc, mut n) = (0.0, 0.0);
            let mut yy = ys.floor() as usize;
            while (yy as f32) < ye && yy < y1 {
                let mut xx = xs.floor() as usize;
                while (xx as f32) < xe && xx < x1 {
                    acc += ink(xx, yy);
                    n += 1.0;
                    xx += 1;
                }
                yy += 1;
            }
            canvas[v * SIDE + u] = if n > 0.0 { acc / n } else { 0.0 };
        }
    }
    // Ink density per cell.
    let cell = SIDE / GRID;
    for gy in 0..GRID {
        for gx in 0..GRID {
            let mut s = 0.0;
            for y in gy * cell..(gy + 1) * cell {
                for x in gx * cell..(gx + 1) * cell {
                    s += canvas[y * SIDE + x];
                }
            }
            out[gy * GRID + gx] = s / (cell * cell) as f32;
        }
    }
    // Gradient orientations (signed, so the side the ink is on counts), magnitude-weighted.
    let base = GRID * GRID;
    let ocell = SIDE / CELLS;
    let at = |x: usize, y: usize| canvas[y.min(SIDE - 1) * SIDE + x.min(SIDE - 1)];
    let mut total = 0f32;
    for y in 1..SIDE - 1 {
        for x in 1..SIDE - 1 {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            let mag = (gx * gx + gy * gy).sqrt();
            if mag < 1e-3 {
                continue;
            }
            let angle = gy.atan2(gx) + std::f32::consts::PI;
            let bin = ((angle / std::f32::consts::TAU * BINS as f32) as usize).min(BINS - 1);
            let c = (y / ocell) * CELLS + x / ocell;
            out[base + c * BINS + bin] += mag;
            total += mag;
        }
    }
    if total > 0.0 {
        for v in &mut out[base..base + CELLS * CELLS * BINS] {
            *v = *v / total * (CELLS * CELLS) as f32;
        }
    }
    out[FEATURES - 2] = aspect.min(1.5);
    out[FEATURES - 1] = if aspect < 0.3 { 1.0 } else { 0.0 };
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn bundled_model_loads_and_round_trips() {
        let model = GlyphModel::bundled();
        let again = GlyphModel::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(again.w2, model.w2);
        assert!(GlyphModel::from_bytes(b"VGM1").is_err());
        assert!(GlyphModel::from_bytes(&model.to_bytes()[..100]).is_err());
    }

    #[test]
    fn features_ignore_scale_and_position() {
        // The same bar, small in a corner and large in the middle, gives the same features.
        let mut a = GrayImage::from_pixel(40, 40, Luma([255]));
        let mut b = GrayImage::from_pixel(200, 150, Luma([255]));
        for y in 2..22 {
            for x in 3..7 {
                a.put_pixel(x, y, Luma([0]));
            }
        }
        for y in 40..120 {
            for x in 90..106 {
                b.put_pixel(x, y, Luma([0]));
            }
        }
        let (fa, fb) = (features(&a), features(&b));
        let diff: f32 = fa.iter().zip(&fb).map(|(x, y)| (x - y).abs()).sum();
        assert!(diff < 0.5, "{diff}");
        assert_eq!(fa[FEATURES - 1], 1.0, "a bar is flagged as thin");
        assert!(
            features(&GrayImage::from_pixel(10, 10, Luma([255])))
                .iter()
                .all(|&v| v == 0.0)
        );
    }
}
