//! Whether a capture is good enough, and whether it comes from a live finger (Portaria
//! 741/2019 §16e: latent prints must be rejected).
//!
//! Two latent tests:
//! - **Repeat**: the new image is (nearly) the same as the previous capture on this reader. A
//!   finger put down again never lands on the same pixels; a residue left on the prism does.
//!   Compared on 8×8 block means, by normalised correlation.
//! - **No live contact**: a residue shows ridge-like texture but faint, with low contrast between
//!   ridges and valleys, where a pressed finger gives strong contrast. Measured as the median
//!   grey-level spread of the print's blocks.

use super::image::GrayImage;
use super::{Analysis, BiometricError};

/// Minimum share of the image that must be print.
pub const MIN_COVERAGE: f32 = 0.20;
/// Share of the image with ridge texture above which a capture is judged live or latent.
pub const MIN_TEXTURE: f32 = 0.03;
/// Minimum mean orientation coherence over the print.
pub const MIN_CLARITY: f32 = 0.35;
/// Minimum minutiae for a usable template.
pub const MIN_MINUTIAE: usize = 12;
/// Correlation above which two captures are the same image.
pub const REPEAT_CORRELATION: f32 = 0.97;
/// Median ridge/valley grey spread below which the print is a residue, grey levels.
pub const MIN_LIVE_CONTRAST: f32 = 12.0;
/// Mean grey of a 16×16 window at or below which it is black: ridges and valleys alike.
pub const DARK_LEVEL: f32 = 45.0;
/// Share of the print's windows that may be black. FVC2002 DB1/DB2 (two optical sensors, the
/// darker DB2 included) stay far below; a touch over it has lost its valleys.
pub const MAX_DARK_SHARE: f32 = 0.5;

/// The verdict on one capture.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// Overall score `0..=100`.
    pub score: u8,
    /// Share of the image that is print.
    pub coverage: f32,
    /// Mean orientation coherence over the print.
    pub clarity: f32,
    /// Median grey spread of the print's blocks.
    pub contrast: f32,
    /// Minutiae found.
    pub minutiae: usize,
}

/// Median grey-level spread of the blocks that look like print (ridge texture), the contact
/// strength.
pub fn contact_contrast(img: &GrayImage) -> f32 {
    let field = super::orientation::estimate(img);
    let mask = super::segmentation::segment(img, &field);
    let mut spreads: Vec<f32> = (0..mask.fg.len())
        .filter(|&i| mask.fg[i])
        .map(|i| mask.std[i])
        .collect();
    if spreads.is_empty() {
        return 0.0;
    }
    spreads.sort_by(f32::total_cmp);
    spreads[spreads.len() / 2]
}

/// Normalised correlation of two images' 8×8 block means, `-1..=1` (0 when sizes differ).
pub fn similarity(a: &GrayImage, b: &GrayImage) -> f32 {
    if (a.width, a.height) != (b.width, b.height) {
        return 0.0;
    }
    let ma = block_means(a);
    let mb = block_means(b);
    let n = ma.len() as f32;
    let (sa, sb) = (ma.iter().sum::<f32>() / n, mb.iter().sum::<f32>() / n);
    let (mut num, mut da, mut db) = (0f32, 0f32, 0f32);
    for (x, y) in ma.iter().zip(&mb) {
        num += (x - sa) * (y - sb);
        da += (x - sa) * (x - sa);
        db += (y - sb) * (y - sb);
    }
    if da == 0.0 || db == 0.0 {
        // Two flat images are the same (empty prism twice).
        return if da == db { 1.0 } else { 0.0 };
    }
    num / (da.sqrt() * db.sqrt())
}

fn block_means(img: &GrayImage) -> Vec<f32> {
    let (bw, bh) = (img.width / 4, img.height / 4);
    let mut out = Vec::with_capacity(bw * bh);
    for by in 0..bh {
        for bx in 0..bw {
            let mut s = 0u32;
            for y in by * 4..by * 4 + 4 {
                for x in bx * 4..bx * 4 + 4 {
                    s += u32::from(img.get(x, y));
                }
            }
            out.push(s as f32 / 16.0);
        }
    }
    out
}

/// Checks a capture: `Err(Rejected)` with the reason in Portuguese when it must be taken again.
/// `previous` is the last image captured on the same reader, if any.
pub fn assess(
    img: &GrayImage,
    analysis: &Analysis,
    previous: Option<&GrayImage>,
) -> Result<Quality, BiometricError> {
    let reject = |why: &str| Err(BiometricError::Rejected(why.to_owned()));
    if let Some(prev) = previous
        && similarity(img, prev) >= REPEAT_CORRELATION
    {
        return reject("imagem idêntica à captura anterior (digital latente no leitor)");
    }
    // Ridges and valleys run together into black: a wet finger or one pressed too hard
    // (checked before coverage, which would call it "no finger" and send the person wrong).
    if dark_share(img) > MAX_DARK_SHARE {
        return reject(
            "imagem escura demais (dedo úmido ou pressionado com força); seque o dedo e apoie sem apertar",
        );
    }
    // Any ridge texture at all, but faint: a residue, whatever its size.
    let contrast = contact_contrast(img);
    if analysis.coverage >= MIN_TEXTURE && contrast < MIN_LIVE_CONTRAST {
        return reject("resíduo de digital sem contato de dedo vivo (latente)");
    }
    if analysis.coverage < MIN_COVERAGE {
        return reject("dedo ausente ou mal posicionado");
    }
    if analysis.clarity < MIN_CLARITY {
        return reject("imagem borrada; limpe o dedo e o leitor");
    }
    let minutiae = analysis.template.minutiae.len();
    if minutiae < MIN_MINUTIAE {
        return reject("poucos detalhes na digital; pressione o dedo por inteiro");
    }
    let score = 100.0
        * (analysis.coverage / 0.6).min(1.0)
        * (analysis.clarity / 0.7).min(1.0)
        * (minutiae as f32 / 30.0).min(1.0);
    Ok(Quality {
        score: score.round().clamp(0.0, 100.0) as u8,
        coverage: analysis.coverage,
        clarity: analysis.clarity,
        contrast,
        minutiae,
    })
}

/// Share of the print's 16×16 windows that are black (mean at or below [`DARK_LEVEL`]); the
/// print is the segmented foreground plus the black windows, which have no ridge texture left
/// for the segmentation to see.
pub fn dark_share(img: &GrayImage) -> f32 {
    let field = super::orientation::estimate(img);
    let mask = super::segmentation::segment(img, &field);
    let (mut dark, mut print) = (0usize, 0usize);
    for (fg, mean) in mask.fg.iter().zip(&mask.mean) {
        let black = *mean <= DARK_LEVEL;
        if *fg || black {
            print += 1;
        }
        if black {
            dark += 1;
        }
    }
    if print == 0 {
        return 0.0;
    }
    dark as f32 / print as f32
}

/// A too-dark copy of an image: what a wet finger does on an optical prism, the print's
/// valleys filled and near black, the background untouched (simulators and tests).
pub fn as_too_dark(img: &GrayImage) -> GrayImage {
    use super::orientation::BLOCK;
    let field = super::orientation::estimate(img);
    let mask = super::segmentation::segment(img, &field);
    let pixels = img
        .pixels
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let (bx, by) = ((i % img.width) / BLOCK, (i / img.width) / BLOCK);
            let print = bx < mask.bw && by < mask.bh && mask.fg[by * mask.bw + bx];
            // Inside the print: a faint trace of the ridges on black.
            if print { 15 + p / 10 } else { p }
        })
        .collect();
    GrayImage {
        width: img.width,
        height: img.height,
        pixels,
    }
}

/// A residue-like copy of an image: the ridges of `img` at a fraction of their contrast, on the
/// prism's background grey (for simulators and tests of the latent check).
pub fn as_latent(img: &GrayImage, strength: f32) -> GrayImage {
    let pixels = img
        .pixels
        .iter()
        .map(|&p| (235.0 - strength * (255.0 - f32::from(p))).clamp(0.0, 255.0) as u8)
        .collect();
    GrayImage {
        width: img.width,
        height: img.height,
        pixels,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::biometrics::analyse;

    fn fvc(name: &str) -> Option<GrayImage> {
        crate::biometrics::image::fvc_sample(name)
    }

    #[test]
    fn a_live_capture_passes() {
        let Some(img) = fvc("102_1.tif") else { return };
        let q = assess(&img, &analyse(&img), None).unwrap();
        assert!(q.score > 30, "{q:?}");
    }

    #[test]
    fn the_same_image_twice_is_a_latent() {
        let Some(img) = fvc("102_1.tif") else { return };
        let Some(other) = fvc("102_2.tif") else {
            return;
        };
        let a = analyse(&img);
        // Residue: the same pixels with a little sensor noise.
        let mut again = img.clone();
        for (i, p) in again.pixels.iter_mut().enumerate() {
            *p = p.saturating_add((i % 3) as u8);
        }
        let err = assess(&again, &analyse(&again), Some(&img)).unwrap_err();
        assert!(err.to_string().contains("latente"), "{err}");
        // The same finger put down again is not.
        assert!(assess(&other, &analyse(&other), Some(&img)).is_ok());
        assert!(assess(&img, &a, Some(&other)).is_ok());
    }

    #[test]
    fn a_too_dark_touch_is_refused_and_no_real_print_is() {
        let Some(img) = fvc("102_1.tif") else { return };
        let dark = as_too_dark(&img);
        let err = assess(&dark, &analyse(&dark), None).unwrap_err();
        assert!(err.to_string().contains("escura demais"), "{err}");
        // Every print of both sets, the darker DB2 sensor's included, stays under the limit.
        for db in ["FVC2002_DB1_B", "FVC2002_DB2_B"] {
            let dir = format!(
                "{}/../../shared/data/fingerprints/{db}",
                env!("CARGO_MANIFEST_DIR")
            );
            let Ok(entries) = std::fs::read_dir(&dir) else {
                eprintln!("SKIP: {dir} ausente");
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let img = GrayImage::from_tiff(&std::fs::read(&path).unwrap()).unwrap();
                let share = dark_share(&img);
                assert!(share < MAX_DARK_SHARE * 0.6, "{}: {share}", path.display());
            }
        }
    }

    #[test]
    fn a_faint_residue_is_a_latent() {
        let Some(img) = fvc("103_1.tif") else { return };
        // A residue at three quarters of the live-contact contrast.
        let strength = 0.75 * MIN_LIVE_CONTRAST / contact_contrast(&img);
        let faint = as_latent(&img, strength);
        let err = assess(&faint, &analyse(&faint), None).unwrap_err();
        assert!(err.to_string().contains("latente"), "{err}");
    }

    #[test]
    fn an_empty_prism_is_no_finger() {
        let blank = GrayImage::new(200, 200, vec![230; 40_000]).unwrap();
        let err = assess(&blank, &analyse(&blank), None).unwrap_err();
        assert!(err.to_string().contains("ausente"), "{err}");
    }
}
