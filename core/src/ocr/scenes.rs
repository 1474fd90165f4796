//! Test scenes in large frames: a plate drawn by [`super::plates`] put on a car's rear under
//! perspective, anywhere from 60 px wide to a fifth of the frame, with a dealer's sticker and
//! lamps around it, blur, noise, uneven light and JPEG compression. Deterministic for a seed;
//! never stored. `vistoria bench ocr --synthetic` reads them; the classifier is never trained
//! on them (its plates are cut from small canvases by [`plate_photo`], seeded apart).

use ab_glyph::PxScale;
use image::{GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{Interpolation, Projection, warp_into};

use super::binary::Rect;
use super::plates::{self, Wear};
use super::synth::{Rng, Scene, random_plate};
use crate::capture::font;
use crate::domain::plate::PlateFormat;

/// How the plate is turned to the camera.
#[derive(Debug, Clone, Copy)]
pub struct Pose {
    /// Centre in the frame.
    pub centre: (f32, f32),
    /// Plate width in pixels (before foreshortening).
    pub width: f32,
    /// Turn about the vertical axis, radians (one side nearer).
    pub yaw: f32,
    /// Turn about the camera's axis, radians.
    pub roll: f32,
}

impl Pose {
    /// Corners in the frame (top-left, top-right, bottom-right, bottom-left) of a plate
    /// `width × height` seen in this pose.
    pub fn corners(&self, aspect: f32) -> [(f32, f32); 4] {
        let (pw, ph) = (self.width, self.width * aspect);
        let near = 1.0 + self.yaw.sin() * 0.35;
        let far = 1.0 - self.yaw.sin() * 0.35;
        let half_w = pw * self.yaw.cos() / 2.0;
        let (sin, cos) = self.roll.sin_cos();
        let local = [
            (-half_w, -ph / 2.0 * far),
            (half_w, -ph / 2.0 * near),
            (half_w, ph / 2.0 * near),
            (-half_w, ph / 2.0 * far),
        ];
        local.map(|(x, y)| {
            (
                self.centre.0 + x * cos - y * sin,
                self.centre.1 + x * sin + y * cos,
            )
        })
    }
}

/// Puts `plate` into `canvas` with its corners at `corners`, only touching the plate's own
/// bounding box; returns where each of `chars` (boxes in the plate) went, and that box.
pub fn place(
    canvas: &mut RgbImage,
    plate: &RgbImage,
    chars: &[Rect],
    corners: [(f32, f32); 4],
) -> Option<(Vec<Rect>, Rect)> {
    let (cw, ch) = (canvas.width() as f32, canvas.height() as f32);
    let xs = corners.map(|c| c.0);
    let ys = corners.map(|c| c.1);
    let x0 = (xs.iter().copied().fold(f32::MAX, f32::min) - 2.0)
        .max(0.0)
        .floor();
    let y0 = (ys.iter().copied().fold(f32::MAX, f32::min) - 2.0)
        .max(0.0)
        .floor();
    let x1 = (xs.iter().copied().fold(f32::MIN, f32::max) + 2.0)
        .min(cw)
        .ceil();
    let y1 = (ys.iter().copied().fold(f32::MIN, f32::max) + 2.0)
        .min(ch)
        .ceil();
    if x1 <= x0 + 1.0 || y1 <= y0 + 1.0 {
        return None;
    }
    let (pw, ph) = (plate.width() as f32, plate.height() as f32);
    let from = [(0.0, 0.0), (pw, 0.0), (pw, ph), (0.0, ph)];
    let local = corners.map(|(x, y)| (x - x0, y - y0));
    let projection = Projection::from_control_points(from, local)?;
    let (rw, rh) = ((x1 - x0) as u32, (y1 - y0) as u32);
    let mut layer = RgbImage::new(rw, rh);
    let mut alpha = GrayImage::new(rw, rh);
    warp_into(
        plate,
        &projection,
        Interpolation::Bilinear,
        Rgb([0, 0, 0]),
        &mut layer,
    );
    let white = GrayImage::from_pixel(plate.width(), plate.height(), Luma([255]));
    warp_into(
        &white,
        &projection,
        Interpolation::Bilinear,
        Luma([0]),
        &mut alpha,
    );
    for y in 0..rh {
        for x in 0..rw {
            let a = f32::from(alpha.get_pixel(x, y).0[0]) / 255.0;
            if a <= 0.0 {
                continue;
            }
            let l = layer.get_pixel(x, y).0;
            let p = canvas.get_pixel_mut(x + x0 as u32, y + y0 as u32);
            for (v, &c) in p.0.iter_mut().zip(&l) {
                *v = (f32::from(*v) * (1.0 - a) + f32::from(c) * a).round() as u8;
            }
        }
    }
    let to_canvas = |x: f32, y: f32| {
        let (u, v) = projection * (x, y);
        (u + x0, v + y0)
    };
    let boxes = chars
        .iter()
        .map(|r| {
            let pts = [
                to_canvas(r.x as f32, r.y as f32),
                to_canvas(r.right() as f32, r.y as f32),
                to_canvas(r.right() as f32, r.bottom() as f32),
                to_canvas(r.x as f32, r.bottom() as f32),
            ];
            let bx0 = pts.iter().map(|p| p.0).fold(f32::MAX, f32::min).max(0.0);
            let by0 = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min).max(0.0);
            let bx1 = pts.iter().map(|p| p.0).fold(f32::MIN, f32::max).min(cw);
            let by1 = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max).min(ch);
            Rect {
                x: bx0 as u32,
                y: by0 as u32,
                w: ((bx1 - bx0).max(1.0)) as u32,
                h: ((by1 - by0).max(1.0)) as u32,
            }
        })
        .collect();
    let region = Rect {
        x: x0 as u32,
        y: y0 as u32,
        w: rw,
        h: rh,
    };
    Some((boxes, region))
}

/// Blurs the part of `img` around `region` (with a margin for the blur to fade in).
fn blur_region(img: &mut RgbImage, region: Rect, sigma: f32) {
    if sigma < 0.3 {
        return;
    }
    let m = (sigma * 3.0).ceil() as u32 + 1;
    let x0 = region.x.saturating_sub(m);
    let y0 = region.y.saturating_sub(m);
    let x1 = (region.right() + m).min(img.width());
    let y1 = (region.bottom() + m).min(img.height());
    let part = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    let blurred = imageproc::filter::gaussian_blur_f32(&part, sigma);
    image::imageops::replace(img, &blurred, i64::from(x0), i64::from(y0));
}

/// A plate alone on a small canvas as a camera sees it: for training, the plate's
/// characters' boxes in the canvas come with it.
pub fn plate_photo(
    text: &str,
    format: PlateFormat,
    char_height: f32,
    rng: &mut Rng,
) -> Option<(RgbImage, Vec<Rect>)> {
    // A plate's characters are half (Mercosul) or 0.47 (grey) of its 130 mm height.
    let width = char_height / 0.49 * 400.0 / 130.0;
    let wear = Wear(rng.range(0.0, 1.0));
    let drawn = plates::draw(text, format, width as u32, wear, rng);
    let (cw, ch) = ((width * 1.5) as u32, (width * 0.8) as u32);
    let bg = [
        rng.range(20.0, 230.0),
        rng.range(20.0, 230.0),
        rng.range(20.0, 230.0),
    ];
    let mut canvas = RgbImage::from_pixel(cw, ch, Rgb(bg.map(|v| v as u8)));
    let pose = Pose {
        centre: (cw as f32 / 2.0, ch as f32 / 2.0),
        width,
        yaw: rng.range(-0.5, 0.5),
        roll: rng.range(-0.08, 0.08),
    };
    let corners = pose.corners(130.0 / 400.0);
    let (chars, region) = place(&mut canvas, &drawn.image, &drawn.chars, corners)?;
    blur_region(
        &mut canvas,
        region,
        rng.range(0.0, 1.4) * char_height / 30.0,
    );
    finish(&mut canvas, rng);
    Some((canvas, chars))
}

/// Uneven light and sensor noise over the whole image.
fn finish(img: &mut RgbImage, rng: &mut Rng) {
    let light = rng.range(0.55, 1.15);
    let gx = rng.range(-0.35, 0.35);
    let noise = rng.range(1.0, 8.0);
    let w = img.width() as f32;
    let mut n = rng.clone();
    for (x, _, p) in img.enumerate_pixels_mut() {
        let l = light * (1.0 + gx * (x as f32 / w - 0.5));
        let e = (n.unit() + n.unit() - 1.0) * noise * 1.7;
        *p = Rgb(p.0.map(|c| (f32::from(c) * l + e).clamp(0.0, 255.0) as u8));
    }
    *rng = n;
}

/// A rear photo `width × height` with one plate of `format`, seeded. The plate is from
/// 60 px wide to a fifth of the frame, log-uniformly (as many small plates as large ones).
pub fn scene(format: PlateFormat, seed: u64, width: u32, height: u32) -> Scene {
    let mut rng = Rng::new(seed ^ 0x005C_E7E5);
    let plate = random_plate(&mut rng, format);
    let (w, h) = (width as f32, height as f32);
    let smallest = 60.0f32;
    let largest = (w / 5.0).max(smallest * 1.5);
    let plate_w = (smallest.ln() + rng.unit() * (largest.ln() - smallest.ln())).exp();
    // The car's body: a colour with a vertical gradient and a little grain.
    let body = [
        rng.range(20.0, 235.0),
        rng.range(20.0, 235.0),
        rng.range(20.0, 235.0),
    ];
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let g = (x as f32 / w) * 25.0 - (y as f32 / h) * 35.0;
        Rgb(body.map(|c| (c + g).clamp(0.0, 255.0) as u8))
    });
    let aspect = 130.0 / 400.0;
    let pose = Pose {
        centre: (
            rng.range(plate_w * 0.8, w - plate_w * 0.8),
            rng.range(h * 0.3, h * 0.85),
        ),
        width: plate_w,
        yaw: rng.range(-0.55, 0.55),
        roll: rng.range(-0.1, 0.1),
    };
    // Clutter: lamps, the bumper's edge, shadows, and a dealer's sticker with text.
    for _ in 0..10 {
        let (x, y) = (rng.range(0.0, w), rng.range(0.0, h));
        let (rw, rh) = (rng.range(w * 0.02, w / 4.0), rng.range(h * 0.01, h / 6.0));
        let c = [
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ];
        fill_clear_of(&mut img, (x, y, x + rw, y + rh), &pose, aspect, c);
    }
    let sticker_h = plate_w * rng.range(0.05, 0.12);
    let (sx, sy) = (rng.range(0.0, w * 0.7), rng.range(0.0, h * 0.25));
    let words = ["CONCESSIONARIA", "AUTO CENTER", "VEICULOS", "MOTORS 2020"];
    let text = words[rng.below(words.len())];
    let font = font::bold();
    let scale = PxScale::from(sticker_h);
    let tw = font::text_width(&font, scale, text);
    fill_clear_of(
        &mut img,
        (sx - 4.0, sy - 4.0, sx + tw + 4.0, sy + sticker_h * 1.3),
        &pose,
        aspect,
        [235, 235, 230],
    );
    font::draw_text(&mut img, &font, scale, sx, sy, text, Rgb([25, 25, 25]));
    let wear = Wear(rng.range(0.0, 1.0));
    let drawn = plates::draw(plate.as_str(), format, plate_w as u32, wear, &mut rng);
    let corners = pose.corners(aspect);
    if let Some((_, region)) = place(&mut img, &drawn.image, &drawn.chars, corners) {
        let sigma = rng.range(0.3, 1.3) * (plate_w / 200.0).clamp(0.5, 2.0);
        blur_region(&mut img, region, sigma);
    }
    finish(&mut img, &mut rng);
    // A phone's JPEG, decoded again.
    let quality = 70 + rng.below(26) as u8;
    let mut jpeg = Vec::new();
    let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&img)
        .is_ok();
    if encoded && let Ok(decoded) = image::load_from_memory(&jpeg) {
        img = decoded.to_rgb8();
    }
    Scene {
        image: img,
        plate,
        corners,
    }
}

/// Fills a box, except where the plate will be (clutter beside the plate, not on it).
fn fill_clear_of(
    img: &mut RgbImage,
    (x0, y0, x1, y1): (f32, f32, f32, f32),
    pose: &Pose,
    aspect: f32,
    colour: [u8; 3],
) {
    let (cx, cy) = pose.centre;
    let (hw, hh) = (pose.width * 0.7, pose.width * aspect * 0.9);
    if x0 < cx + hw && x1 > cx - hw && y0 < cy + hh && y1 > cy - hh {
        return;
    }
    let (w, h) = (img.width() as f32, img.height() as f32);
    for y in y0.max(0.0) as u32..y1.min(h).max(0.0) as u32 {
        for x in x0.max(0.0) as u32..x1.min(w).max(0.0) as u32 {
            img.put_pixel(x, y, Rgb(colour));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scenes_are_deterministic_and_hold_the_plate_inside_the_frame() {
        let a = scene(PlateFormat::Mercosul, 3, 1600, 1200);
        let b = scene(PlateFormat::Mercosul, 3, 1600, 1200);
        assert_eq!(a.plate, b.plate);
        assert_eq!(a.image.as_raw(), b.image.as_raw());
        assert_eq!(a.plate.format(), PlateFormat::Mercosul);
        assert!(
            a.corners
                .iter()
                .all(|&(x, y)| x > 0.0 && y > 0.0 && x < 1600.0 && y < 1200.0)
        );
        let grey = scene(PlateFormat::Old, 3, 1600, 1200);
        assert_eq!(grey.plate.format(), PlateFormat::Old);
    }

    #[test]
    fn plate_photos_carry_their_character_boxes() {
        let mut rng = Rng::new(2);
        let (img, chars) = plate_photo("WYH0P6Q", PlateFormat::Mercosul, 30.0, &mut rng).unwrap();
        assert_eq!(chars.len(), 7);
        for r in &chars {
            assert!(r.right() <= img.width() && r.bottom() <= img.height());
            assert!((24..=40).contains(&r.h), "{r:?}");
        }
    }
}
