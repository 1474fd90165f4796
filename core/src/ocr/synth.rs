//! Synthetic plate photos for tests and demos: a plate rendered with the bundled font, placed
//! in a cluttered scene with perspective, blur, noise and uneven lighting. Deterministic for a
//! given seed.

use ab_glyph::{Font, FontRef, PxScale, point};
use image::{GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{Interpolation, Projection, warp_into};

use crate::capture::font;
use crate::domain::plate::{Plate, PlateFormat};

/// A small deterministic generator (xorshift64*), so scenes are the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next value in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Value in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    /// Index below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f32) as usize).min(n.saturating_sub(1))
    }
}

/// A random plate of the given format.
pub fn random_plate(rng: &mut Rng, format: PlateFormat) -> Plate {
    let letter = |r: &mut Rng| char::from(b'A' + r.below(26) as u8);
    let digit = |r: &mut Rng| char::from(b'0' + r.below(10) as u8);
    let mut s = String::new();
    for _ in 0..3 {
        s.push(letter(rng));
    }
    s.push(digit(rng));
    s.push(match format {
        PlateFormat::Old => digit(rng),
        PlateFormat::Mercosul => letter(rng),
    });
    s.push(digit(rng));
    s.push(digit(rng));
    // Built from the classes of each position, so it always parses.
    Plate::parse(&s).expect("placa sintética válida")
}

/// The plate alone, front-on, `width` pixels wide (400 × 130 mm proportions).
pub fn render_plate(plate: &Plate, width: u32) -> RgbImage {
    let height = (width as f32 * 130.0 / 400.0).round() as u32;
    let mercosul = plate.format() == PlateFormat::Mercosul;
    let bg = if mercosul {
        Rgb([245, 245, 242])
    } else {
        Rgb([190, 192, 195])
    };
    let mut img = RgbImage::from_pixel(width, height, bg);
    let font = font::bold();
    let border = (width / 100).max(1);
    for y in 0..height {
        for x in 0..width {
            if x < border || y < border || x >= width - border || y >= height - border {
                img.put_pixel(x, y, Rgb([30, 30, 30]));
            }
        }
    }
    let band = if mercosul {
        height * 22 / 100
    } else {
        height * 20 / 100
    };
    if mercosul {
        for y in border..band {
            for x in border..width - border {
                img.put_pixel(x, y, Rgb([20, 60, 160]));
            }
        }
        let s = PxScale::from(band as f32 * 0.8);
        let tw = font::text_width(&font, s, "BRASIL");
        font::draw_text(
            &mut img,
            &font,
            s,
            (width as f32 - tw) / 2.0,
            band as f32 * 0.05,
            "BRASIL",
            Rgb([250, 250, 250]),
        );
    } else {
        let s = PxScale::from(band as f32 * 0.7);
        let tw = font::text_width(&font, s, "CUIABA - MT");
        font::draw_text(
            &mut img,
            &font,
            s,
            (width as f32 - tw) / 2.0,
            band as f32 * 0.2,
            "CUIABA - MT",
            Rgb([40, 40, 40]),
        );
    }
    // Plate typefaces have no descenders and one width: every character fills a cell of the
    // same size (a W as narrow as the rest, a J on the baseline), the cells evenly pitched.
    let cells: Vec<Option<char>> = match plate.format() {
        PlateFormat::Old => plate
            .as_str()
            .chars()
            .take(3)
            .map(Some)
            .chain([None])
            .chain(plate.as_str().chars().skip(3).map(Some))
            .collect(),
        PlateFormat::Mercosul => plate.as_str().chars().map(Some).collect(),
    };
    let char_h = height as f32 * 0.5;
    // The separator of a grey plate takes half a cell and shows a dash.
    let units = cells
        .iter()
        .map(|c| if c.is_some() { 1.0 } else { 0.5 })
        .sum::<f32>();
    let cell_w = width as f32 * 0.82 / units;
    // On a Mercosul plate the characters sit just under the band; on a grey plate, centred
    // below the city line.
    let top = if mercosul {
        height as f32 * 0.3
    } else {
        band as f32 + (height as f32 - band as f32 - char_h) / 2.0
    };
    let ink = Rgb([15, 15, 15]);
    let mut x = (width as f32 - cell_w * units) / 2.0;
    for cell in cells {
        match cell {
            Some(c) => {
                draw_in_cell(
                    &mut img,
                    &font,
                    c,
                    (x + cell_w * 0.06, top),
                    (cell_w * 0.88, char_h),
                    ink,
                );
                x += cell_w;
            }
            None => {
                let (dx, dy) = (cell_w * 0.12, char_h * 0.47);
                for yy in (top + dy) as u32..(top + dy + char_h * 0.08) as u32 {
                    for xx in (x + dx) as u32..(x + cell_w * 0.5 - dx) as u32 {
                        img.put_pixel(xx, yy, ink);
                    }
                }
                x += cell_w * 0.5;
            }
        }
    }
    img
}

/// Paints `c` scaled to the full height of a `size` cell at `at`, no wider than the cell
/// (narrower when its own proportions are), centred across it.
fn draw_in_cell(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    c: char,
    at: (f32, f32),
    size: (f32, f32),
    colour: Rgb<u8>,
) {
    let id = font.glyph_id(c);
    let unit = PxScale::from(100.0);
    let Some(probe) = font.outline_glyph(id.with_scale_and_position(unit, point(0.0, 0.0))) else {
        return;
    };
    let b = probe.px_bounds();
    let (bw, bh) = (b.width().max(1.0), b.height().max(1.0));
    let sy = size.1 / bh;
    // Plate letters are narrower than text letters: condense to at most the cell.
    let sx = (sy * 0.8).min(size.0 / bw);
    let scale = PxScale {
        x: 100.0 * sx,
        y: 100.0 * sy,
    };
    let Some(sized) = font.outline_glyph(id.with_scale_and_position(scale, point(0.0, 0.0))) else {
        return;
    };
    let sb = sized.px_bounds();
    let origin = point(
        at.0 + (size.0 - sb.width()) / 2.0 - sb.min.x,
        at.1 - sb.min.y,
    );
    let Some(outline) = font.outline_glyph(id.with_scale_and_position(scale, origin)) else {
        return;
    };
    font::paint(img, &outline, colour);
}

/// What a synthetic scene holds.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The photo.
    pub image: RgbImage,
    /// The plate shown.
    pub plate: Plate,
    /// Corners of the plate in the photo (top-left, top-right, bottom-right, bottom-left).
    pub corners: [(f32, f32); 4],
}

/// A rear photo: clutter, the plate under perspective, blur, noise and a lighting gradient.
pub fn scene(seed: u64, width: u32, height: u32) -> Scene {
    let mut rng = Rng::new(seed);
    let format = if rng.unit() < 0.5 {
        PlateFormat::Old
    } else {
        PlateFormat::Mercosul
    };
    let plate = random_plate(&mut rng, format);
    let plate_w = (width as f32 * rng.range(0.18, 0.3)) as u32;
    let plate_img = render_plate(&plate, plate_w);
    let mut img = RgbImage::new(width, height);
    let body = [
        rng.range(30.0, 220.0),
        rng.range(30.0, 220.0),
        rng.range(30.0, 220.0),
    ];
    for (x, y, p) in img.enumerate_pixels_mut() {
        let g = (x as f32 / width as f32) * 30.0 - (y as f32 / height as f32) * 20.0;
        *p = Rgb(body.map(|c| (c + g).clamp(0.0, 255.0) as u8));
    }
    // Clutter: lamps, bumper edges, shadows.
    for _ in 0..12 {
        let (x, y) = (
            rng.below(width as usize) as u32,
            rng.below(height as usize) as u32,
        );
        let (w, h) = (
            rng.range(20.0, width as f32 / 4.0) as u32,
            rng.range(5.0, height as f32 / 6.0) as u32,
        );
        let c = Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ]);
        for yy in y..(y + h).min(height) {
            for xx in x..(x + w).min(width) {
                img.put_pixel(xx, yy, c);
            }
        }
    }
    let (pw, ph) = (plate_img.width() as f32, plate_img.height() as f32);
    let cx = rng.range(pw * 0.7, width as f32 - pw * 0.7);
    let cy = rng.range(height as f32 * 0.35, height as f32 * 0.8);
    let angle = rng.range(-0.08, 0.08);
    let (sin, cos) = angle.sin_cos();
    let mut corners = [
        (-pw / 2.0, -ph / 2.0),
        (pw / 2.0, -ph / 2.0),
        (pw / 2.0, ph / 2.0),
        (-pw / 2.0, ph / 2.0),
    ];
    let skew = rng.range(-0.12, 0.12);
    for (i, c) in corners.iter_mut().enumerate() {
        // Perspective: one side a little taller than the other.
        let side = if i == 0 || i == 3 {
            1.0 - skew
        } else {
            1.0 + skew
        };
        let (x, y) = (c.0, c.1 * side);
        *c = (
            cx + x * cos - y * sin + rng.range(-2.0, 2.0),
            cy + x * sin + y * cos + rng.range(-2.0, 2.0),
        );
    }
    let from = [(0.0, 0.0), (pw, 0.0), (pw, ph), (0.0, ph)];
    if let Some(projection) = Projection::from_control_points(from, corners) {
        let mut layer = RgbImage::new(width, height);
        let mut alpha = GrayImage::new(width, height);
        warp_into(
            &plate_img,
            &projection,
            Interpolation::Bilinear,
            Rgb([0, 0, 0]),
            &mut layer,
        );
        let white = GrayImage::from_pixel(plate_img.width(), plate_img.height(), Luma([255]));
        imageproc::geometric_transformations::warp_into(
            &white,
            &projection,
            Interpolation::Bilinear,
            Luma([0]),
            &mut alpha,
        );
        for (x, y, p) in img.enumerate_pixels_mut() {
            let a = f32::from(alpha.get_pixel(x, y).0[0]) / 255.0;
            if a > 0.0 {
                let l = layer.get_pixel(x, y);
                for k in 0..3 {
                    p.0[k] = (f32::from(p.0[k]) * (1.0 - a) + f32::from(l.0[k]) * a) as u8;
                }
            }
        }
    }
    let sigma = rng.range(0.4, 1.4);
    let mut img = imageproc::filter::gaussian_blur_f32(&img, sigma);
    let light = rng.range(0.6, 1.25);
    let gx = rng.range(-0.4, 0.4);
    let noise = rng.range(2.0, 9.0);
    for (x, _, p) in img.enumerate_pixels_mut() {
        let l = light * (1.0 + gx * (x as f32 / width as f32 - 0.5));
        let n = (rng.unit() + rng.unit() + rng.unit() - 1.5) * noise * 2.0;
        *p = Rgb(p.0.map(|c| (f32::from(c) * l + n).clamp(0.0, 255.0) as u8));
    }
    Scene {
        image: img,
        plate,
        corners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_are_deterministic_and_hold_a_plate() {
        let a = scene(7, 640, 480);
        let b = scene(7, 640, 480);
        assert_eq!(a.plate, b.plate);
        assert_eq!(a.image.as_raw(), b.image.as_raw());
        let c = scene(8, 640, 480);
        assert_ne!(a.image.as_raw(), c.image.as_raw());
        assert!(
            a.corners
                .iter()
                .all(|&(x, y)| x > 0.0 && y > 0.0 && x < 640.0 && y < 480.0)
        );
    }
}
