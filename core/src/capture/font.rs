//! The bundled font (Noto Sans, SIL Open Font License in `assets/fonts/OFL.txt`) and a
//! small text painter over `image` buffers.

use ab_glyph::{Font, FontRef, OutlinedGlyph, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

static BOLD: &[u8] = include_bytes!("../../../assets/fonts/NotoSans-Bold.ttf");

/// Noto Sans Bold, parsed from the bytes compiled into the binary.
pub fn bold() -> FontRef<'static> {
    // The bytes are a fixed, valid TrueType file; parsing cannot fail at run time.
    FontRef::try_from_slice(BOLD).expect("a fonte embutida é um TrueType válido")
}

/// Width in pixels of `text` at `scale`.
pub fn text_width(font: &FontRef<'_>, scale: PxScale, text: &str) -> f32 {
    let f = font.as_scaled(scale);
    text.chars().map(|c| f.h_advance(f.glyph_id(c))).sum()
}

/// Paints `text` with its top-left corner at `(x, y)`, blending `colour` by coverage.
pub fn draw_text(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    scale: PxScale,
    x: f32,
    y: f32,
    text: &str,
    colour: Rgb<u8>,
) {
    let f = font.as_scaled(scale);
    let mut pen = x;
    for c in text.chars() {
        let id = f.glyph_id(c);
        let glyph = id.with_scale_and_position(scale, point(pen, y + f.ascent()));
        pen += f.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        paint(img, &outline, colour);
    }
}

/// [`draw_text`] in the bundled bold face at `size` pixels (for callers without `ab_glyph`:
/// the simulators' drawings).
pub fn draw_bold(img: &mut RgbImage, size: f32, x: f32, y: f32, text: &str, colour: Rgb<u8>) {
    draw_text(img, &bold(), PxScale::from(size), x, y, text, colour);
}

/// [`text_width`] in the bundled bold face at `size` pixels.
pub fn bold_width(size: f32, text: &str) -> f32 {
    text_width(&bold(), PxScale::from(size), text)
}

/// Paints a positioned glyph outline, blending `colour` by coverage; pixels outside the
/// image are skipped.
pub fn paint(img: &mut RgbImage, outline: &OutlinedGlyph, colour: Rgb<u8>) {
    let bounds = outline.px_bounds();
    let (w, h) = (img.width() as i32, img.height() as i32);
    outline.draw(|gx, gy, cov| {
        let px = bounds.min.x as i32 + gx as i32;
        let py = bounds.min.y as i32 + gy as i32;
        if px < 0 || py < 0 || px >= w || py >= h {
            return;
        }
        let p = img.get_pixel_mut(px as u32, py as u32);
        for k in 0..3 {
            let bg = f32::from(p.0[k]);
            p.0[k] = (bg + (f32::from(colour.0[k]) - bg) * cov.min(1.0)).round() as u8;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_painted_inside_its_width() {
        let font = bold();
        let scale = PxScale::from(32.0);
        let mut img = RgbImage::from_pixel(200, 50, Rgb([255, 255, 255]));
        draw_text(&mut img, &font, scale, 5.0, 5.0, "ABC", Rgb([0, 0, 0]));
        let width = text_width(&font, scale, "ABC");
        assert!(width > 40.0 && width < 90.0, "{width}");
        let dark: Vec<u32> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[0] < 128)
            .map(|(x, _, _)| x)
            .collect();
        assert!(dark.len() > 100);
        assert!(
            dark.iter()
                .all(|&x| x >= 5 && (x as f32) <= 5.0 + width + 1.0)
        );
    }
}
