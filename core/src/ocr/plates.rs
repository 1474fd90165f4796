//! Plates drawn as they look on a car, in our own typefaces: the Mercosul plate (white, the
//! blue band with "BRASIL", the Mercosul emblem and the flag, the QR code and "BR" at the left,
//! the background's wavy security print) and the grey plate (its city line and dash), each
//! with embossed relief, ink that misses the relief a little, glare and dirt. Used to train the
//! glyph classifier on what the segmenter cuts out of such plates, and to build test scenes.
//! Deterministic for a generator's state.

use ab_glyph::PxScale;
use image::{Rgb, RgbImage};

use super::binary::Rect;
use super::synth::Rng;
use super::{mercosulfont, platefont};
use crate::capture::font;
use crate::domain::plate::PlateFormat;

/// A plate drawn front-on, and where each of its characters' ink is.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// The plate, 400 × 130 mm in proportion.
    pub image: RgbImage,
    /// The ink box of each character, left to right.
    pub chars: Vec<Rect>,
}

/// How strongly the plate's wear shows: 0 is a new plate in flat light, 1 the worst kept.
#[derive(Debug, Clone, Copy)]
pub struct Wear(pub f32);

/// Draws `text` (seven symbols, any of `0-9A-Z`) on a plate of `format`, `width` pixels wide.
pub fn draw(text: &str, format: PlateFormat, width: u32, wear: Wear, rng: &mut Rng) -> Drawn {
    let width = width.max(40);
    let height = ((width as f32 * 130.0 / 400.0).round() as u32).max(13);
    let (w, h) = (width as f32, height as f32);
    let mercosul = format == PlateFormat::Mercosul;
    let paper = if mercosul {
        [
            rng.range(225.0, 250.0),
            rng.range(228.0, 250.0),
            rng.range(228.0, 252.0),
        ]
    } else {
        let g = rng.range(150.0, 200.0);
        [g - 3.0, g, g + 4.0]
    };
    let mut img = RgbImage::from_fn(width, height, |_, _| Rgb(paper.map(|v| v as u8)));
    if mercosul {
        security_print(&mut img, rng);
    }
    // Characters: the coverage of the whole row, so relief and ink are one pass.
    let symbols: Vec<char> = text.chars().collect();
    let (char_h, row_left, row_right, top) = if mercosul {
        (h * 0.5, w * 0.1, w * 0.95, h * 0.36)
    } else {
        (h * 0.47, w * 0.06, w * 0.94, h * 0.38)
    };
    // A grey plate's dash takes half a cell after the letters.
    let units = symbols.len() as f32 + if mercosul { 0.0 } else { 0.5 };
    let cell = (row_right - row_left) / units;
    let mut cov = vec![0f32; (width * height) as usize];
    let mut chars = Vec::with_capacity(symbols.len());
    let stretch = rng.range(0.92, 1.08);
    let pen = |rng: &mut Rng| {
        if mercosul {
            mercosulfont::pen(char_h, stretch, rng)
        } else {
            platefont::Pen {
                height: char_h,
                aspect: rng.range(0.52, 0.64) * stretch,
                weight: rng.range(0.12, 0.17),
                roundness: rng.range(0.2, 0.45),
            }
        }
    };
    // One pen for the plate (one die set), its points moved a little per character.
    let plate_pen = pen(rng);
    let mut x = row_left;
    for (i, &c) in symbols.iter().enumerate() {
        if !mercosul && i == 3 {
            let (dx0, dx1) = (x + cell * 0.12, x + cell * 0.38);
            let (dy0, dy1) = (top + char_h * 0.46, top + char_h * 0.54);
            for yy in dy0 as u32..(dy1.ceil() as u32).min(height) {
                for xx in dx0 as u32..(dx1.ceil() as u32).min(width) {
                    cov[(yy * width + xx) as usize] = 1.0;
                }
            }
            x += cell * 0.5;
        }
        let drawn = if mercosul {
            mercosulfont::coverage(c, plate_pen, 0.03, rng)
        } else {
            platefont::coverage(c, plate_pen)
        };
        let Some((glyph, gw, gh)) = drawn else {
            x += cell;
            continue;
        };
        let ink_w = plate_pen.aspect * char_h;
        let gx = (x + (cell - ink_w) / 2.0).round() as i64;
        let gy = top.round() as i64;
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for yy in 0..gh {
            for xx in 0..gw {
                let v = glyph[yy * gw + xx];
                let (px, py) = (gx + xx as i64, gy + yy as i64);
                if v <= 0.0 || px < 0 || py < 0 || px >= width as i64 || py >= height as i64 {
                    continue;
                }
                let (px, py) = (px as u32, py as u32);
                let at = (py * width + px) as usize;
                cov[at] = cov[at].max(v);
                if v >= 0.5 {
                    (x0, y0, x1, y1) = (x0.min(px), y0.min(py), x1.max(px + 1), y1.max(py + 1));
                }
            }
        }
        if x1 > x0 {
            chars.push(Rect {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
            });
        }
        x += cell;
    }
    // Relief: the characters are stamped up, lit from one side; the ink is printed on top of
    // the relief, sometimes a little off it.
    let relief = rng.range(20.0, 70.0) * (0.5 + wear.0);
    let (lx, ly) = {
        let a = rng.range(0.0, std::f32::consts::TAU);
        (a.cos(), a.sin())
    };
    let off = (
        rng.range(-1.0, 1.0) * (w / 400.0).max(0.5),
        rng.range(-1.0, 1.0) * (w / 400.0).max(0.5),
    );
    let ink = if mercosul {
        rng.range(5.0, 45.0)
    } else {
        rng.range(5.0, 50.0)
    };
    let c_at = |x: f32, y: f32| -> f32 {
        let (xi, yi) = (x.round() as i64, y.round() as i64);
        if xi < 0 || yi < 0 || xi >= width as i64 || yi >= height as i64 {
            0.0
        } else {
            cov[(yi as u32 * width + xi as u32) as usize]
        }
    };
    let step = (w / 300.0).max(1.0);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (xf, yf) = (x as f32, y as f32);
        let shade =
            (c_at(xf - lx * step, yf - ly * step) - c_at(xf + lx * step, yf + ly * step)) * relief;
        let inked = c_at(xf - off.0, yf - off.1);
        for v in &mut p.0 {
            let base = f32::from(*v) * (1.0 - inked) + ink * inked;
            *v = (base + shade).clamp(0.0, 255.0) as u8;
        }
    }
    if mercosul {
        band(&mut img, rng);
    } else {
        city_line(&mut img, top, rng);
    }
    frame(&mut img);
    glare_and_dirt(&mut img, wear, rng);
    Drawn { image: img, chars }
}

/// The faint wavy print in a Mercosul plate's background.
fn security_print(img: &mut RgbImage, rng: &mut Rng) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let period = h * rng.range(0.12, 0.2);
    let amplitude = h * rng.range(0.03, 0.08);
    let phase = rng.range(0.0, 6.3);
    let strength = rng.range(6.0, 22.0);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let wave = (y as f32 + amplitude * (x as f32 / w * 12.0 + phase).sin()) / period;
        let line = (1.0 - (wave.fract() - 0.5).abs() * 8.0).max(0.0);
        p.0[0] = (f32::from(p.0[0]) - strength * line) as u8;
        p.0[1] = (f32::from(p.0[1]) - strength * 0.6 * line) as u8;
    }
}

fn fill(img: &mut RgbImage, x0: f32, y0: f32, x1: f32, y1: f32, colour: [u8; 3]) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    for y in y0.max(0.0) as u32..y1.min(h).max(0.0) as u32 {
        for x in x0.max(0.0) as u32..x1.min(w).max(0.0) as u32 {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

/// The Mercosul band: blue, "BRASIL" in white, the emblem at the left, the flag at the right;
/// below the emblem the country code and the QR code.
fn band(img: &mut RgbImage, rng: &mut Rng) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let bottom = h * rng.range(0.2, 0.25);
    let blue = [
        rng.range(0.0, 40.0) as u8,
        rng.range(40.0, 90.0) as u8,
        rng.range(130.0, 190.0) as u8,
    ];
    fill(img, 0.0, 0.0, w, bottom, blue);
    let font = font::bold();
    let scale = PxScale::from(bottom * 0.75);
    let tw = font::text_width(&font, scale, "BRASIL");
    font::draw_text(
        img,
        &font,
        scale,
        (w - tw) / 2.0,
        bottom * 0.02,
        "BRASIL",
        Rgb([245, 245, 245]),
    );
    // The Mercosul emblem: a white disc with the blue stars and arc.
    let r = bottom * 0.35;
    let (cx, cy) = (w * 0.06, bottom * 0.5);
    for y in (cy - r) as u32..(cy + r) as u32 {
        for x in (cx - r).max(0.0) as u32..(cx + r) as u32 {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if d < r && x < img.width() && y < img.height() {
                let arc = (d - r * 0.6).abs() < r * 0.12 && (y as f32) < cy;
                img.put_pixel(x, y, Rgb(if arc { [20, 80, 60] } else { [235, 235, 235] }));
            }
        }
    }
    // The flag: green, the yellow rhombus, the blue globe.
    let (fx0, fx1) = (w * 0.88, w * 0.96);
    let (fy0, fy1) = (bottom * 0.2, bottom * 0.8);
    let (fcx, fcy) = ((fx0 + fx1) / 2.0, (fy0 + fy1) / 2.0);
    for y in fy0 as u32..fy1 as u32 {
        for x in fx0 as u32..(fx1 as u32).min(img.width()) {
            let (dx, dy) = (
                (x as f32 - fcx) / (fx1 - fx0),
                (y as f32 - fcy) / (fy1 - fy0),
            );
            let colour = if dx * dx + dy * dy < 0.04 {
                [30, 50, 140]
            } else if dx.abs() + dy.abs() < 0.45 {
                [240, 210, 30]
            } else {
                [20, 140, 60]
            };
            img.put_pixel(x, y, Rgb(colour));
        }
    }
    // "BR" under the emblem, and the QR code below it.
    let small = PxScale::from(h * 0.1);
    font::draw_text(
        img,
        &font,
        small,
        w * 0.03,
        bottom + h * 0.04,
        "BR",
        Rgb([20, 20, 20]),
    );
    let side = h * rng.range(0.16, 0.2);
    let (qx, qy) = (w * 0.025, h * 0.52);
    let cells = 11;
    let q = side / cells as f32;
    for j in 0..cells {
        for i in 0..cells {
            let finder = (j < 3 && (i < 3 || i >= cells - 3)) || (i < 3 && j >= cells - 3);
            let on = if finder {
                !(i % (cells - 3) == 1 && j % (cells - 3) == 1)
            } else {
                rng.unit() < 0.5
            };
            if on {
                let (x0, y0) = (qx + i as f32 * q, qy + j as f32 * q);
                fill(img, x0, y0, x0 + q, y0 + q, [25, 25, 25]);
            }
        }
    }
}

/// The grey plate's city line above the characters.
fn city_line(img: &mut RgbImage, top: f32, rng: &mut Rng) {
    let w = img.width() as f32;
    let font = font::bold();
    let scale = PxScale::from(top * 0.55);
    let cities = [
        "CUIABA - MT",
        "SINOP - MT",
        "RONDONOPOLIS - MT",
        "SAO PAULO - SP",
    ];
    let text = cities[rng.below(cities.len())];
    let tw = font::text_width(&font, scale, text);
    font::draw_text(
        img,
        &font,
        scale,
        (w - tw) / 2.0,
        top * 0.22,
        text,
        Rgb([35, 35, 35]),
    );
}

/// The black rim around the plate.
fn frame(img: &mut RgbImage) {
    let (w, h) = (img.width(), img.height());
    let rim = (w / 130).max(1);
    for y in 0..h {
        for x in 0..w {
            if x < rim || y < rim || x + rim >= w || y + rim >= h {
                img.put_pixel(x, y, Rgb([25, 25, 25]));
            }
        }
    }
}

/// A bright reflection and spots of dirt, more of both on a worn plate.
fn glare_and_dirt(img: &mut RgbImage, wear: Wear, rng: &mut Rng) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if rng.unit() < 0.5 {
        let (cx, cy) = (rng.range(0.0, w), rng.range(0.0, h));
        let (rx, ry) = (w * rng.range(0.1, 0.4), h * rng.range(0.3, 1.0));
        let strength = rng.range(40.0, 150.0) * (0.4 + wear.0);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let d = ((x as f32 - cx) / rx).powi(2) + ((y as f32 - cy) / ry).powi(2);
            let k = (-d * 2.0).exp() * strength;
            for v in &mut p.0 {
                *v = (f32::from(*v) + k * (1.0 - f32::from(*v) / 300.0)).min(255.0) as u8;
            }
        }
    }
    let spots = (rng.range(0.0, 14.0) * wear.0) as usize;
    let dirt = [
        rng.range(70.0, 120.0),
        rng.range(60.0, 100.0),
        rng.range(40.0, 80.0),
    ];
    for _ in 0..spots {
        let (cx, cy) = (rng.range(0.0, w), rng.range(0.0, h));
        let r = h * rng.range(0.02, 0.12);
        let alpha = rng.range(0.1, 0.45);
        for y in (cy - r).max(0.0) as u32..((cy + r) as u32).min(img.height()) {
            for x in (cx - r).max(0.0) as u32..((cx + r) as u32).min(img.width()) {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt() / r;
                if d < 1.0 {
                    let a = alpha * (1.0 - d * d);
                    let p = img.get_pixel_mut(x, y);
                    for (v, d) in p.0.iter_mut().zip(dirt) {
                        *v = (f32::from(*v) * (1.0 - a) + d * a) as u8;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_mercosul_plate_has_its_band_qr_and_seven_characters() {
        let mut rng = Rng::new(4);
        let drawn = draw("BRA2E19", PlateFormat::Mercosul, 400, Wear(0.0), &mut rng);
        assert_eq!(drawn.image.dimensions(), (400, 130));
        assert_eq!(drawn.chars.len(), 7);
        // The band is blue across the top (away from "BRASIL", the emblem and the flag).
        let p = drawn.image.get_pixel(100, 12).0;
        assert!(p[2] > p[0] + 60, "{p:?}");
        // The characters run left to right under the band, of one height.
        for pair in drawn.chars.windows(2) {
            assert!(pair[1].x > pair[0].right());
        }
        assert!(
            drawn
                .chars
                .iter()
                .all(|r| r.y > 30 && (60..=68).contains(&r.h))
        );
        // The QR code at the left, under the band, is dark and light.
        let qr: Vec<u8> = (68..90)
            .flat_map(|y| (10..32).map(move |x| (x, y)))
            .map(|(x, y)| drawn.image.get_pixel(x, y).0[1])
            .collect();
        assert!(qr.iter().any(|&v| v < 80) && qr.iter().any(|&v| v > 150));
        // Deterministic.
        let again = draw(
            "BRA2E19",
            PlateFormat::Mercosul,
            400,
            Wear(0.0),
            &mut Rng::new(4),
        );
        assert_eq!(again.image.as_raw(), drawn.image.as_raw());
    }

    #[test]
    fn a_grey_plate_has_a_gap_after_its_letters() {
        let drawn = draw(
            "ABC1234",
            PlateFormat::Old,
            400,
            Wear(0.5),
            &mut Rng::new(9),
        );
        assert_eq!(drawn.chars.len(), 7);
        let gaps: Vec<u32> = drawn
            .chars
            .windows(2)
            .map(|p| p[1].x - p[0].right())
            .collect();
        assert!(gaps[2] > gaps[1] + 10, "{gaps:?}");
    }
}
