//! The reader's image checked at run time against Portaria 741/2019 §16: a) a capture area of at
//! least 12 × 16 mm, b) at least 500 dpi, c) 8-bit grey (256 levels). A reader is bought to
//! the rule, but a firmware, a driver or a replaced unit can quietly give less: every touch is
//! checked, and a reader that fails says which item and by how much (Diagnóstico shows it).

use super::FingerImage;

/// §16b.
pub const MIN_DPI: u16 = 500;
/// §16a, the shorter and the longer side of the capture area.
pub const MIN_AREA_MM: (f32, f32) = (12.0, 16.0);
/// Fewer distinct grey levels than this is not an 8-bit grey image (§16c) but a binarised or
/// heavily quantised one: a live print under a prism spreads over a hundred levels or more.
pub const MIN_GREY_LEVELS: usize = 32;

/// `Ok` when the image meets §16 a–c; otherwise why not, in Portuguese, naming the item.
pub fn check(image: &FingerImage) -> Result<(), String> {
    if image.pixels.len() != image.width * image.height || image.pixels.is_empty() {
        return Err(format!(
            "imagem inconsistente ({}×{} com {} bytes)",
            image.width,
            image.height,
            image.pixels.len()
        ));
    }
    if image.dpi < MIN_DPI {
        return Err(format!(
            "resolução de {} dpi, abaixo do mínimo de {MIN_DPI} dpi (§16 b)",
            image.dpi
        ));
    }
    let mm = |px: usize| px as f32 * 25.4 / f32::from(image.dpi);
    let (w, h) = (mm(image.width), mm(image.height));
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    if short < MIN_AREA_MM.0 || long < MIN_AREA_MM.1 {
        return Err(format!(
            "área de captura de {w:.1} × {h:.1} mm, abaixo do mínimo de {:.0} × {:.0} mm (§16 a)",
            MIN_AREA_MM.0, MIN_AREA_MM.1
        ));
    }
    let mut seen = [false; 256];
    for &p in &image.pixels {
        seen[usize::from(p)] = true;
    }
    let levels = seen.iter().filter(|&&s| s).count();
    if levels < MIN_GREY_LEVELS {
        return Err(format!(
            "imagem com {levels} níveis de cinza; o §16 c exige 8 bits (256 níveis)"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize, dpi: u16) -> FingerImage {
        FingerImage {
            width,
            height,
            dpi,
            pixels: (0..width * height).map(|i| (i % 251) as u8).collect(),
        }
    }

    #[test]
    fn the_readers_we_know_pass() {
        // U.are.U 4000B/4500: 384 × 290 at 500 dpi (19.5 × 14.7 mm); FVC2002 DB1: 388 × 374.
        assert_eq!(check(&gradient(384, 290, 500)), Ok(()));
        assert_eq!(check(&gradient(388, 374, 500)), Ok(()));
        // Either orientation.
        assert_eq!(check(&gradient(290, 384, 500)), Ok(()));
    }

    #[test]
    fn each_item_is_refused_with_its_reason() {
        let low = check(&gradient(192, 145, 250)).unwrap_err();
        assert!(low.contains("250 dpi") && low.contains("§16 b"), "{low}");
        // 200 × 300 px at 500 dpi is 10.2 × 15.2 mm.
        let small = check(&gradient(200, 300, 500)).unwrap_err();
        assert!(
            small.contains("10.2 × 15.2 mm") && small.contains("§16 a"),
            "{small}"
        );
        let mut binary = gradient(384, 290, 500);
        for p in &mut binary.pixels {
            *p = if *p < 128 { 0 } else { 255 };
        }
        let grey = check(&binary).unwrap_err();
        assert!(
            grey.contains("2 níveis") && grey.contains("§16 c"),
            "{grey}"
        );
        let mut short = gradient(384, 290, 500);
        short.pixels.pop();
        assert!(check(&short).unwrap_err().contains("inconsistente"));
    }
}
