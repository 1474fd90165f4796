//! Training of the glyph classifier ([`super::glyphs`]) on rendered characters.
//!
//! Each sample is a character drawn from one of the given fonts and put through what a camera
//! and the segmenter do to it: stretch, slant, small rotation, blur, uneven contrast, noise, a
//! threshold that makes strokes thinner or thicker, and specks. The photos of the benchmark are
//! never used: the classifier must read plates it has not seen. Deterministic for a seed.

use ab_glyph::{Font, FontVec, PxScale, point};
use image::{GrayImage, Luma};

use super::binary::Rect;
use super::glyphs::{CLASSES, FEATURES, GlyphModel, features, softmax};
use super::locator::Candidate;
use super::synth::Rng;
use super::{platefont, reader, scenes};
use crate::domain::plate::PlateFormat;

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Samples of each symbol from each font.
    pub per_font: usize,
    /// Passes over the samples.
    pub epochs: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Seed of the sample generator and the initial weights.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            per_font: 160,
            epochs: 14,
            hidden: 96,
            seed: 7,
        }
    }
}

/// What training reached.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Samples trained on.
    pub samples: usize,
    /// Accuracy on the training samples after the last pass.
    pub train_accuracy: f32,
    /// Accuracy on fresh samples drawn with another seed.
    pub holdout_accuracy: f32,
}

/// Where training characters are drawn from.
pub enum Typeface {
    /// A TrueType/OpenType font.
    Font(FontVec),
    /// Our stroke drawing of the grey plates' typeface ([`super::platefont`]).
    GreyPlate,
    /// Whole plates of a format drawn as on a car ([`super::plates`], in our drawings of the
    /// plates' typefaces), photographed under perspective, blur and noise, and cut into
    /// characters by the reader's own segmenter: the glyphs as the classifier meets them.
    Plates(PlateFormat),
}

/// Parses a TrueType/OpenType font for training.
pub fn font(bytes: Vec<u8>) -> Option<Typeface> {
    FontVec::try_from_vec(bytes).ok().map(Typeface::Font)
}

impl Typeface {
    /// Coverage of one character, `height` pixels tall, stretched horizontally by `stretch`.
    fn coverage(
        &self,
        c: char,
        height: f32,
        stretch: f32,
        rng: &mut Rng,
    ) -> Option<(Vec<f32>, usize, usize)> {
        match self {
            Typeface::Font(font) => coverage(font, c, height, stretch),
            Typeface::Plates(_) => None,
            Typeface::GreyPlate => platefont::coverage(
                c,
                platefont::Pen {
                    height,
                    aspect: rng.range(0.52, 0.66) * stretch,
                    weight: rng.range(0.12, 0.18),
                    roundness: rng.range(0.2, 0.5),
                },
            ),
        }
    }
}

/// Coverage of one character, `height` pixels from its top to its bottom ink, stretched
/// horizontally by `stretch`.
fn coverage(
    font: &FontVec,
    c: char,
    height: f32,
    stretch: f32,
) -> Option<(Vec<f32>, usize, usize)> {
    let probe = font.outline_glyph(font.glyph_id(c).with_scale(PxScale::from(100.0)))?;
    let ph = probe.px_bounds().height().max(1.0);
    let size = 100.0 * height / ph;
    let scale = PxScale {
        x: size * stretch,
        y: size,
    };
    let glyph = font
        .glyph_id(c)
        .with_scale_and_position(scale, point(0.0, 0.0));
    let outline = font.outline_glyph(glyph)?;
    let b = outline.px_bounds();
    let (w, h) = (
        b.width().ceil() as usize + 1,
        b.height().ceil() as usize + 1,
    );
    let mut cov = vec![0f32; w * h];
    outline.draw(|x, y, v| {
        let (x, y) = (x as usize, y as usize);
        if x < w && y < h {
            cov[y * w + x] = v;
        }
    });
    Some((cov, w, h))
}

/// One training glyph: the character as the segmenter would cut it out of a photo.
pub fn sample(font: &Typeface, c: char, rng: &mut Rng) -> Option<GrayImage> {
    // In the grey plates' typeface the digit 1 is a plain bar and the letter O is the digit 0's
    // rounded rectangle; draw them that way often (a round O taught the network to call the
    // plate's O a D: its straight sides were only ever seen on D).
    let shape = match c {
        '1' if rng.unit() < 0.4 => 'I',
        'O' if rng.unit() < 0.8 => '0',
        _ => c,
    };
    let height = rng.range(24.0, 64.0);
    let stretch = rng.range(0.72, 1.25);
    let (cov, cw, ch) = font.coverage(shape, height, stretch, rng)?;
    // Slant and rotation by inverse mapping onto a canvas with margins.
    let margin = 8usize;
    let (ow, oh) = (cw + 2 * margin, ch + 2 * margin);
    let shear = rng.range(-0.12, 0.12);
    let angle = rng.range(-0.06, 0.06);
    let (sin, cos) = angle.sin_cos();
    let (mx, my) = (ow as f32 / 2.0, oh as f32 / 2.0);
    let src = |x: f32, y: f32| -> f32 {
        if x < 0.0 || y < 0.0 {
            return 0.0;
        }
        let (xi, yi) = (x as usize, y as usize);
        if xi + 1 >= cw || yi + 1 >= ch {
            return 0.0;
        }
        let (fx, fy) = (x - xi as f32, y - yi as f32);
        let p = |x: usize, y: usize| cov[y * cw + x];
        (p(xi, yi) * (1.0 - fx) + p(xi + 1, yi) * fx) * (1.0 - fy)
            + (p(xi, yi + 1) * (1.0 - fx) + p(xi + 1, yi + 1) * fx) * fy
    };
    let mut grey = vec![0f32; ow * oh];
    for v in 0..oh {
        for u in 0..ow {
            let (dx, dy) = (u as f32 - mx, v as f32 - my);
            let rx = cos * dx + sin * dy;
            let ry = -sin * dx + cos * dy;
            let sx = rx - shear * ry + cw as f32 / 2.0;
            let sy = ry + ch as f32 / 2.0;
            grey[v * ow + u] = src(sx, sy);
        }
    }
    // Optical blur, then contrast, lighting gradient and noise.
    let sigma = rng.range(0.0, 1.6) * height / 40.0;
    if sigma > 0.3 {
        grey = blur(&grey, ow, oh, sigma);
    }
    let bg = rng.range(140.0, 250.0);
    let fg = rng.range(0.0, bg - 60.0);
    let tilt = rng.range(-30.0, 30.0);
    let noise = rng.range(0.0, 18.0);
    let mut img = vec![0f32; ow * oh];
    for (i, v) in img.iter_mut().enumerate() {
        let x = (i % ow) as f32 / ow as f32;
        let light = bg + tilt * (x - 0.5);
        *v = light - (light - fg) * grey[i] + noise * (rng.unit() + rng.unit() - 1.0);
    }
    // Threshold between ink and background: the stroke comes out thinner or thicker.
    let level = fg + (bg - fg) * rng.range(0.3, 0.7);
    let mut out = GrayImage::from_pixel(ow as u32, oh as u32, Luma([255]));
    for (i, v) in img.iter().enumerate() {
        if *v < level {
            out.put_pixel((i % ow) as u32, (i / ow) as u32, Luma([0]));
        }
    }
    // A speck or two inside the cut (screw heads, dirt) now and then.
    if rng.unit() < 0.25 {
        let r = rng.range(1.0, 2.5);
        let (cx, cy) = (rng.range(0.0, ow as f32), rng.range(0.0, oh as f32));
        for y in 0..oh {
            for x in 0..ow {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                    out.put_pixel(x as u32, y as u32, Luma([0]));
                }
            }
        }
    }
    Some(out)
}

fn blur(src: &[f32], w: usize, h: usize, sigma: f32) -> Vec<f32> {
    let radius = (sigma * 2.5).ceil() as i64;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f32 = kernel.iter().sum();
    let pass = |src: &[f32], horizontal: bool| {
        let mut out = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (k, weight) in kernel.iter().enumerate() {
                    let off = k as i64 - radius;
                    let (sx, sy) = if horizontal {
                        (x as i64 + off, y as i64)
                    } else {
                        (x as i64, y as i64 + off)
                    };
                    if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                        acc += weight * src[sy as usize * w + sx as usize];
                    }
                }
                out[y * w + x] = acc / norm;
            }
        }
        out
    };
    pass(&pass(src, true), false)
}

fn dataset(fonts: &[Typeface], per_font: usize, seed: u64) -> Vec<(Vec<f32>, usize)> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for font in fonts {
        // The typefaces the plates really use weigh as much as three general fonts each.
        let rounds = match font {
            Typeface::GreyPlate | Typeface::Plates(PlateFormat::Mercosul) => 3,
            Typeface::Font(_) | Typeface::Plates(PlateFormat::Old) => 1,
        };
        if let Typeface::Plates(format) = font {
            out.extend(plate_samples(*format, per_font * rounds, &mut rng));
            continue;
        }
        for _ in 0..rounds {
            for (k, &c) in CLASSES.iter().enumerate() {
                for _ in 0..per_font {
                    if let Some(g) = sample(font, char::from(c), &mut rng) {
                        out.push((features(&g), k));
                    }
                }
            }
        }
    }
    out
}

/// `per_class` glyphs of every symbol cut from whole plates of `format` (see
/// [`Typeface::Plates`]). A plate whose cut does not line up with its seven characters (a
/// character lost to glare, the QR code taken for one) gives nothing: its labels would be
/// wrong.
fn plate_samples(format: PlateFormat, per_class: usize, rng: &mut Rng) -> Vec<(Vec<f32>, usize)> {
    let mut counts = [0usize; 36];
    let mut out = Vec::new();
    let mut attempts = 0;
    while counts.iter().any(|&n| n < per_class) && attempts < per_class * 12 {
        attempts += 1;
        // Seven of the least drawn symbols, so every symbol gets its share.
        let mut order: Vec<(usize, usize)> = (0..CLASSES.len())
            .map(|k| (counts[k] * 64 + rng.below(64), k))
            .collect();
        order.sort_unstable();
        let text: String = order[..7]
            .iter()
            .map(|&(_, k)| char::from(CLASSES[k]))
            .collect();
        let char_height = rng.range(12.0, 64.0);
        let Some((photo, boxes)) = scenes::plate_photo(&text, format, char_height, rng) else {
            continue;
        };
        if boxes.len() != 7 {
            continue;
        }
        let gray = image::DynamicImage::ImageRgb8(photo).to_luma8();
        let candidate = Candidate {
            chars: boxes.clone(),
            dark: true,
            score: 0.0,
        };
        let Some(cut) = reader::cut(&gray, &candidate) else {
            continue;
        };
        if !lines_up(&boxes, &cut.seven) {
            continue;
        }
        for (glyph, c) in cut.glyphs.iter().zip(text.bytes()) {
            let Some(k) = CLASSES.iter().position(|&x| x == c) else {
                continue;
            };
            if counts[k] < per_class {
                counts[k] += 1;
                out.push((features(glyph), k));
            }
        }
    }
    out
}

/// Whether seven cut characters (in the rectified strip) sit where the seven drawn ones are
/// (in the photo): their centres on one straight map, within a fifth of a character.
fn lines_up(drawn: &[Rect], cut: &[Rect]) -> bool {
    if drawn.len() != cut.len() || drawn.len() < 2 {
        return false;
    }
    let centre = |r: &Rect| r.x as f32 + r.w as f32 / 2.0;
    let xs: Vec<f32> = drawn.iter().map(centre).collect();
    let us: Vec<f32> = cut.iter().map(centre).collect();
    let n = xs.len() as f32;
    let (mx, mu) = (xs.iter().sum::<f32>() / n, us.iter().sum::<f32>() / n);
    let sxx: f32 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxu: f32 = xs.iter().zip(&us).map(|(x, u)| (x - mx) * (u - mu)).sum();
    if sxx <= 0.0 {
        return false;
    }
    let a = sxu / sxx;
    let h = cut.iter().map(|r| r.h as f32).sum::<f32>() / n;
    a > 0.0
        && xs
            .iter()
            .zip(&us)
            .all(|(x, u)| (mu + a * (x - mx) - u).abs() < 0.2 * h)
}

/// Trains a model on characters from `fonts` (plain SGD with momentum, cross-entropy).
pub fn train(fonts: &[Typeface], options: &TrainOptions) -> (GlyphModel, TrainReport) {
    let mut data = dataset(fonts, options.per_font, options.seed);
    let holdout = dataset(fonts, (options.per_font / 8).max(4), options.seed ^ 0xABCD);
    let mut rng = Rng::new(options.seed.wrapping_add(1));
    let hidden = options.hidden;
    let classes = CLASSES.len();
    let init = |rng: &mut Rng, n: usize, fan_in: usize| -> Vec<f32> {
        let s = (6.0 / fan_in as f32).sqrt();
        (0..n).map(|_| rng.range(-s, s)).collect()
    };
    let mut model = GlyphModel {
        hidden,
        w1: init(&mut rng, hidden * FEATURES, FEATURES),
        b1: vec![0.0; hidden],
        w2: init(&mut rng, classes * hidden, hidden),
        b2: vec![0.0; classes],
    };
    let mut velocity = GlyphModel {
        hidden,
        w1: vec![0.0; hidden * FEATURES],
        b1: vec![0.0; hidden],
        w2: vec![0.0; classes * hidden],
        b2: vec![0.0; classes],
    };
    let momentum = 0.9;
    let mut train_accuracy = 0.0;
    for epoch in 0..options.epochs {
        // Fisher–Yates with our generator keeps the run reproducible.
        for i in (1..data.len()).rev() {
            data.swap(i, rng.below(i + 1));
        }
        let lr = 0.01 * (1.0 - epoch as f32 / options.epochs as f32).max(0.05);
        let mut correct = 0usize;
        for (x, label) in &data {
            let h = model.hidden_layer(x);
            let p = softmax(model.logits(&h));
            let best = (0..classes)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0);
            correct += usize::from(best == *label);
            // Gradient of the cross-entropy at the logits.
            let mut d2 = p;
            d2[*label] -= 1.0;
            let mut dh = vec![0f32; hidden];
            for (k, &g) in d2.iter().enumerate() {
                let row = k * hidden;
                for j in 0..hidden {
                    dh[j] += model.w2[row + j] * g;
                    let v = &mut velocity.w2[row + j];
                    *v = momentum * *v - lr * g * h[j];
                    model.w2[row + j] += *v;
                }
                let v = &mut velocity.b2[k];
                *v = momentum * *v - lr * g;
                model.b2[k] += *v;
            }
            for j in 0..hidden {
                if h[j] <= 0.0 {
                    continue;
                }
                let g = dh[j];
                let row = j * FEATURES;
                for (i, xi) in x.iter().enumerate() {
                    if *xi == 0.0 {
                        continue;
                    }
                    let v = &mut velocity.w1[row + i];
                    *v = momentum * *v - lr * g * xi;
                    model.w1[row + i] += *v;
                }
                let v = &mut velocity.b1[j];
                *v = momentum * *v - lr * g;
                model.b1[j] += *v;
            }
        }
        train_accuracy = correct as f32 / data.len().max(1) as f32;
    }
    let holdout_correct = holdout
        .iter()
        .filter(|(x, label)| {
            let p = model.probabilities(x);
            (0..classes).max_by(|&a, &b| p[a].total_cmp(&p[b])) == Some(*label)
        })
        .count();
    let report = TrainReport {
        samples: data.len(),
        train_accuracy,
        holdout_accuracy: holdout_correct as f32 / holdout.len().max(1) as f32,
    };
    (model, report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_cut_glyphs_with_ink() {
        let font =
            font(include_bytes!("../../../assets/fonts/NotoSans-Bold.ttf").to_vec()).unwrap();
        let mut rng = Rng::new(3);
        for (font, c) in [&font, &Typeface::GreyPlate]
            .into_iter()
            .flat_map(|f| ['A', '1', 'O', '8', 'W'].map(|c| (f, c)))
        {
            let g = sample(font, c, &mut rng).unwrap();
            let ink = g.pixels().filter(|p| p.0[0] == 0).count();
            assert!(ink > 20, "{c}: {ink} pixels of ink");
            assert!(ink < (g.width() * g.height()) as usize, "{c} is all ink");
        }
    }

    #[test]
    fn whole_mercosul_plates_give_labelled_glyphs_of_every_symbol() {
        let mut rng = Rng::new(8);
        let samples = plate_samples(PlateFormat::Mercosul, 2, &mut rng);
        let mut counts = [0usize; 36];
        for (x, k) in &samples {
            assert_eq!(x.len(), FEATURES);
            assert!(x.iter().any(|&v| v > 0.0), "a glyph with ink");
            counts[*k] += 1;
        }
        assert!(counts.iter().all(|&n| n == 2), "{counts:?}");
        // Deterministic for the generator's state.
        let again = plate_samples(PlateFormat::Mercosul, 2, &mut Rng::new(8));
        assert_eq!(again.len(), samples.len());
        assert!(again.iter().zip(&samples).all(|(a, b)| a == b));
    }

    #[test]
    fn cut_characters_must_line_up_with_the_drawn_ones() {
        let boxes = |xs: &[u32]| -> Vec<Rect> {
            xs.iter()
                .map(|&x| Rect {
                    x,
                    y: 0,
                    w: 20,
                    h: 40,
                })
                .collect()
        };
        let drawn = boxes(&[0, 30, 60, 90, 120, 150, 180]);
        // The strip is the photo scaled and shifted: they line up.
        let cut = boxes(&[10, 70, 130, 190, 250, 310, 370]);
        assert!(lines_up(&drawn, &cut));
        // One character lost and the next one taken in its place: they do not.
        let shifted = boxes(&[10, 70, 190, 250, 310, 370, 430]);
        assert!(!lines_up(&drawn, &shifted));
    }

    /// A short run on one font learns the symbols well beyond chance (1/36): the training
    /// loop and its gradients work. The shipped model is trained longer on several fonts.
    #[test]
    fn a_short_training_run_learns_the_symbols() {
        let font =
            font(include_bytes!("../../../assets/fonts/NotoSans-Bold.ttf").to_vec()).unwrap();
        let options = TrainOptions {
            per_font: 12,
            epochs: 4,
            hidden: 48,
            seed: 1,
        };
        let (model, report) = train(&[font], &options);
        assert_eq!(report.samples, 36 * 12);
        assert!(report.holdout_accuracy > 0.6, "{report:?}");
        assert_eq!(model.hidden, 48);
        let again = GlyphModel::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(again.b2, model.b2);
    }
}
