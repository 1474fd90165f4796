//! What the plate's colours say about its format. A Mercosul plate carries a blue band above
//! its characters; a grey (or red, or black) plate of the old format does not. Knowing the
//! format before reading matters at the fifth place, where a Mercosul plate has a letter: its
//! O and I would otherwise read as the 0 and 1 of an old plate, which look alike in print.

use image::RgbImage;

use super::locator::{Candidate, median_height};
use crate::domain::plate::PlateFormat;

/// Share of the strip above the characters that must be blue to call the plate Mercosul: the
/// band also holds the white "BRASIL", the flag and the country code.
const BLUE_SHARE: f32 = 0.4;

/// The format the plate's colours show, when they show one. `None` means "no blue band seen":
/// a grey plate, a photo in grey light, or a band hidden by dirt; the reading then decides.
pub fn format_hint(photo: &RgbImage, candidate: &Candidate) -> Option<PlateFormat> {
    let h = median_height(&candidate.chars) as f32;
    if h < 4.0 {
        return None;
    }
    let (mut blue, mut total) = (0u32, 0u32);
    // Each character's own column, from 0.45 to 0.18 of a character height above its top:
    // inside the band on a Mercosul plate, and still inside a grey plate (its city line), so
    // the car's paint above a plate is not sampled. Per column, to follow a tilted plate.
    for r in &candidate.chars {
        let y0 = (r.y as f32 - 0.45 * h).max(0.0) as u32;
        let y1 = (r.y as f32 - 0.18 * h).max(0.0) as u32;
        for y in y0..y1.min(photo.height()) {
            for x in r.x..r.right().min(photo.width()) {
                let [red, green, b] = photo.get_pixel(x, y).0.map(i32::from);
                total += 1;
                if b - red > 35 && b - green > 5 {
                    blue += 1;
                }
            }
        }
    }
    (total > 0 && blue as f32 >= BLUE_SHARE * total as f32).then_some(PlateFormat::Mercosul)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::plate::Plate;
    use crate::ocr::binary::Rect;
    use crate::ocr::synth;

    /// The candidate a locator would find on a plate rendered front-on: the seven character
    /// boxes, found here as the dark columns of the character band.
    fn characters(plate: &RgbImage) -> Candidate {
        let (w, h) = (plate.width(), plate.height());
        let (top, bottom) = (h * 30 / 100, h * 80 / 100);
        let dark = |x: u32| (top..bottom).any(|y| plate.get_pixel(x, y).0[0] < 100);
        let mut chars = Vec::new();
        let mut x = w / 50;
        while x < w - w / 50 {
            if dark(x) {
                let start = x;
                while x < w && dark(x) {
                    x += 1;
                }
                if x - start > 2 {
                    chars.push(Rect {
                        x: start,
                        y: top,
                        w: x - start,
                        h: bottom - top,
                    });
                }
            }
            x += 1;
        }
        Candidate {
            chars,
            dark: true,
            score: 1.0,
        }
    }

    #[test]
    fn the_blue_band_marks_a_mercosul_plate() {
        let plate = synth::render_plate(&Plate::parse("BRA2E19").unwrap(), 400);
        let candidate = characters(&plate);
        assert!(candidate.chars.len() >= 5, "{:?}", candidate.chars);
        assert_eq!(format_hint(&plate, &candidate), Some(PlateFormat::Mercosul));
    }

    #[test]
    fn a_grey_plate_gives_no_hint() {
        let plate = synth::render_plate(&Plate::parse("ABC1234").unwrap(), 400);
        let candidate = characters(&plate);
        assert!(candidate.chars.len() >= 5, "{:?}", candidate.chars);
        assert_eq!(format_hint(&plate, &candidate), None);
    }

    #[test]
    fn a_blue_car_around_a_grey_plate_gives_no_hint() {
        // The band is sampled above the characters and inside the plate, not around it.
        let grey = synth::render_plate(&Plate::parse("ABC1234").unwrap(), 400);
        let mut photo = RgbImage::from_pixel(600, 400, image::Rgb([20, 40, 170]));
        image::imageops::replace(&mut photo, &grey, 100, 150);
        let mut candidate = characters(&grey);
        for r in &mut candidate.chars {
            r.x += 100;
            r.y += 150;
        }
        assert_eq!(format_hint(&photo, &candidate), None);
    }
}
