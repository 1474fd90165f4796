//! The tarja (§7): a band burned into the photo with the station's name and code, the central
//! date and time, the inspection, the photo type and the station's fixed coordinates (2r).

use ab_glyph::PxScale;
use image::{Rgb, RgbImage};

use super::font;

/// What the tarja says.
#[derive(Debug, Clone, PartialEq)]
pub struct Tarja {
    /// Lines of text, top to bottom.
    pub lines: Vec<String>,
}

impl Tarja {
    /// The §7 text.
    pub fn new(
        station_name: &str,
        station_code: &str,
        when: &str,
        inspection: &str,
        photo_kind: &str,
        lat: f64,
        lon: f64,
    ) -> Tarja {
        Tarja {
            lines: vec![
                format!("{station_name} — ECV {station_code}   {when} (hora central)"),
                format!("Vistoria {inspection}   {photo_kind}   Lat {lat:.6} Lon {lon:.6}"),
            ],
        }
    }
}

/// Burns the tarja into the bottom of the frame: a dark band with white text.
pub fn burn(frame: &mut RgbImage, tarja: &Tarja) {
    let (w, h) = frame.dimensions();
    let line_h = (h / 36).max(12);
    let band = line_h * (tarja.lines.len() as u32) + line_h / 2;
    let top = h.saturating_sub(band);
    for y in top..h {
        for x in 0..w {
            let p = frame.get_pixel_mut(x, y);
            *p = Rgb(p.0.map(|c| c / 5));
        }
    }
    let f = font::bold();
    let scale = PxScale::from(line_h as f32 * 0.8);
    for (i, line) in tarja.lines.iter().enumerate() {
        let y = top as f32 + line_h as f32 / 4.0 + i as f32 * line_h as f32;
        font::draw_text(
            frame,
            &f,
            scale,
            line_h as f32 / 2.0,
            y,
            line,
            Rgb([255, 255, 255]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarja_darkens_the_band_and_writes_text_in_it() {
        let mut frame = RgbImage::from_pixel(1600, 1024, Rgb([200, 200, 200]));
        let tarja = Tarja::new(
            "ECV Centro",
            "MT-001",
            "23/11/2026 14:00:00",
            "abc",
            "Traseira com placa",
            -15.6,
            -56.1,
        );
        assert!(tarja.lines[0].contains("MT-001") && tarja.lines[1].contains("-15.600000"));
        burn(&mut frame, &tarja);
        // Above the band nothing changed.
        assert!(
            frame
                .rows()
                .take(900)
                .flatten()
                .all(|p| p.0 == [200, 200, 200])
        );
        let band: Vec<&Rgb<u8>> = frame.rows().skip(990).flatten().collect();
        let white = band.iter().filter(|p| p.0[0] > 200).count();
        let dark = band.iter().filter(|p| p.0[0] < 50).count();
        assert!(white > 500, "text was drawn: {white}");
        assert!(dark > white, "band is dark");
    }
}
