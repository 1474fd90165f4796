//! Frame checks before a photo becomes evidence: resolution and colour (§7; §18 for the
//! borescope), sharpness by the variance of the Laplacian, and exposure.

use image::RgbImage;

use super::Source;

/// Smallest evidence photo (§7).
pub const MIN_WIDTH: u32 = 1600;
/// Smallest evidence photo (§7).
pub const MIN_HEIGHT: u32 = 1024;
/// Smallest borescope photo (§18).
pub const BORESCOPE_MIN_WIDTH: u32 = 800;
/// Smallest borescope photo (§18).
pub const BORESCOPE_MIN_HEIGHT: u32 = 600;

/// Thresholds of the quality checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityLimits {
    /// Minimum variance of the Laplacian (on the frame reduced by 4) for a sharp photo.
    pub min_sharpness: f32,
    /// Mean luminance below this is too dark.
    pub min_brightness: f32,
    /// Mean luminance above this is too bright.
    pub max_brightness: f32,
    /// Largest fraction of clipped (pure black or white) pixels.
    pub max_clipped: f32,
}

impl Default for QualityLimits {
    fn default() -> Self {
        QualityLimits {
            min_sharpness: 25.0,
            min_brightness: 45.0,
            max_brightness: 215.0,
            max_clipped: 0.4,
        }
    }
}

/// Why a frame cannot be evidence; `Display` is the retake message for the inspector.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QualityError {
    /// Smaller than its device's minimum (1600×1024, 800×600 for the borescope).
    #[error(
        "resolução {width}×{height} abaixo do mínimo {min_width}×{min_height}: verifique {device} e repita a foto"
    )]
    Resolution {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Smallest width accepted from the device.
        min_width: u32,
        /// Smallest height accepted from the device.
        min_height: u32,
        /// The device, as the message names it ("a câmera", "o boroscópio").
        device: &'static str,
    },
    /// No colour information.
    #[error("a foto não é colorida: verifique a câmera e repita a foto")]
    NotColour,
    /// Out of focus or shaken.
    #[error("foto tremida ou fora de foco (nitidez {sharpness:.0}): segure firme e repita")]
    Blurred {
        /// Variance of the Laplacian measured.
        sharpness: f32,
    },
    /// Under-exposed.
    #[error("foto escura demais: ilumine o local e repita")]
    TooDark,
    /// Over-exposed.
    #[error("foto clara demais (estourada): evite luz direta e repita")]
    TooBright,
}

/// Measurements taken by [`check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Variance of the Laplacian.
    pub sharpness: f32,
    /// Mean luminance, 0…255.
    pub brightness: f32,
    /// Fraction of clipped pixels.
    pub clipped: f32,
}

/// §7: at least 1600×1024 and in colour.
pub fn check_format(frame: &RgbImage) -> Result<(), QualityError> {
    check_format_for(frame, Source::StillCamera)
}

/// At least the minimum of the device it comes from ([`Source::min_size`]) and in colour.
pub fn check_format_for(frame: &RgbImage, source: Source) -> Result<(), QualityError> {
    let (width, height) = frame.dimensions();
    let (min_width, min_height) = source.min_size();
    if width < min_width || height < min_height {
        return Err(QualityError::Resolution {
            width,
            height,
            min_width,
            min_height,
            device: source.label_pt(),
        });
    }
    // A colour sensor shows some chroma somewhere; a monochrome frame has none at all.
    let chroma = frame
        .pixels()
        .step_by(97)
        .filter(|p| {
            let [r, g, b] = p.0;
            r.abs_diff(g).max(g.abs_diff(b)).max(r.abs_diff(b)) > 6
        })
        .count();
    if chroma == 0 {
        return Err(QualityError::NotColour);
    }
    Ok(())
}

/// Sharpness and exposure, measured on a quarter-size luminance image for speed.
pub fn measure(frame: &RgbImage) -> Quality {
    let (w, h) = frame.dimensions();
    let (sw, sh) = ((w / 4).max(3), (h / 4).max(3));
    let mut small = vec![0f32; (sw * sh) as usize];
    for y in 0..sh {
        for x in 0..sw {
            let p = frame.get_pixel((x * 4).min(w - 1), (y * 4).min(h - 1)).0;
            small[(y * sw + x) as usize] =
                0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
        }
    }
    let n = small.len() as f32;
    let brightness = small.iter().sum::<f32>() / n;
    let clipped = small
        .iter()
        .filter(|&&v| !(3.0..=252.0).contains(&v))
        .count() as f32
        / n;
    let (mut sum, mut sq, mut count) = (0f64, 0f64, 0f64);
    for y in 1..sh - 1 {
        for x in 1..sw - 1 {
            let i = (y * sw + x) as usize;
            let l = small[i - 1] + small[i + 1] + small[i - sw as usize] + small[i + sw as usize]
                - 4.0 * small[i];
            sum += f64::from(l);
            sq += f64::from(l) * f64::from(l);
            count += 1.0;
        }
    }
    let mean = sum / count.max(1.0);
    let sharpness = (sq / count.max(1.0) - mean * mean) as f32;
    Quality {
        sharpness,
        brightness,
        clipped,
    }
}

/// Blur and exposure checks with a retake message.
pub fn check_quality(frame: &RgbImage, limits: &QualityLimits) -> Result<Quality, QualityError> {
    let q = check_exposure(frame, limits)?;
    if q.sharpness < limits.min_sharpness {
        return Err(QualityError::Blurred {
            sharpness: q.sharpness,
        });
    }
    Ok(q)
}

/// The exposure checks alone (a fixed camera's photo: [`Source::checks_sharpness`]).
pub fn check_exposure(frame: &RgbImage, limits: &QualityLimits) -> Result<Quality, QualityError> {
    let q = measure(frame);
    if q.brightness < limits.min_brightness {
        return Err(QualityError::TooDark);
    }
    if q.brightness > limits.max_brightness || q.clipped > limits.max_clipped {
        return Err(QualityError::TooBright);
    }
    Ok(q)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ocr::synth;
    use image::Rgb;

    fn scene() -> RgbImage {
        synth::scene(3, 1600, 1024).image
    }

    #[test]
    fn resolution_and_colour() {
        assert!(check_format(&scene()).is_ok());
        let small = RgbImage::from_pixel(1280, 720, Rgb([10, 200, 30]));
        assert_eq!(
            check_format(&small),
            Err(QualityError::Resolution {
                width: 1280,
                height: 720,
                min_width: 1600,
                min_height: 1024,
                device: "a câmera",
            })
        );
        // §18: the borescope's frames need only 800×600; smaller ones are refused, saying so.
        let scope = RgbImage::from_pixel(800, 600, Rgb([10, 200, 30]));
        assert!(check_format_for(&scope, Source::Borescope).is_ok());
        assert!(check_format_for(&scope, Source::StillCamera).is_err());
        let tiny = RgbImage::from_pixel(640, 480, Rgb([10, 200, 30]));
        assert_eq!(
            check_format_for(&tiny, Source::Borescope)
                .unwrap_err()
                .to_string(),
            "resolução 640×480 abaixo do mínimo 800×600: verifique o boroscópio e repita a foto"
        );
        let mut grey = scene();
        for p in grey.pixels_mut() {
            let v = p.0[1];
            *p = Rgb([v, v, v]);
        }
        assert_eq!(check_format(&grey), Err(QualityError::NotColour));
    }

    #[test]
    fn sharp_scene_passes_and_blur_is_caught() {
        let limits = QualityLimits::default();
        let sharp = scene();
        let q = check_quality(&sharp, &limits).unwrap();
        let blurred = imageproc::filter::gaussian_blur_f32(&sharp, 12.0);
        match check_quality(&blurred, &limits) {
            Err(QualityError::Blurred { sharpness }) => assert!(sharpness < q.sharpness),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exposure_is_checked() {
        let limits = QualityLimits::default();
        let mut dark = scene();
        for p in dark.pixels_mut() {
            *p = Rgb(p.0.map(|c| c / 8));
        }
        assert_eq!(check_quality(&dark, &limits), Err(QualityError::TooDark));
        let mut bright = scene();
        for p in bright.pixels_mut() {
            *p = Rgb(p.0.map(|c| c.saturating_add(200)));
        }
        assert_eq!(
            check_quality(&bright, &limits),
            Err(QualityError::TooBright)
        );
    }
}
