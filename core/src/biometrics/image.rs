//! Grey-scale fingerprint images: the pixel buffer every stage reads, an uncompressed TIFF
//! decoder for FVC sets and raw reader frames, and a synthetic print generator for demo mode.

use super::BiometricError;

/// An 8-bit grey image, row-major, 0 = black. Ridges are dark, as on an optical prism
/// (Portaria 741/2019 §16c: 256 grey levels; §16b: 500 dpi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` bytes, row after row.
    pub pixels: Vec<u8>,
}

/// The most pixels a TIFF may declare: 64 Mpx, far beyond any fingerprint image (FVC's are
/// under 0.5 Mpx) and small enough to allocate.
pub const MAX_TIFF_PIXELS: usize = 64 * 1024 * 1024;

impl GrayImage {
    /// Wraps a pixel buffer, checking its size.
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> Result<GrayImage, BiometricError> {
        if width == 0 || height == 0 || pixels.len() != width * height {
            return Err(BiometricError::BadImage(format!(
                "{width}×{height} com {} bytes",
                pixels.len()
            )));
        }
        Ok(GrayImage {
            width,
            height,
            pixels,
        })
    }

    /// The pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    /// Decodes an uncompressed 8-bit grey TIFF (the format of the FVC sets), either byte order.
    pub fn from_tiff(bytes: &[u8]) -> Result<GrayImage, BiometricError> {
        let bad = |why: &str| BiometricError::BadImage(format!("TIFF: {why}"));
        let little = match bytes.get(..4) {
            Some([b'I', b'I', 42, 0]) => true,
            Some([b'M', b'M', 0, 42]) => false,
            _ => return Err(bad("cabeçalho inválido")),
        };
        let u16_at = |at: usize| -> Result<u32, BiometricError> {
            let b = bytes.get(at..at + 2).ok_or_else(|| bad("truncado"))?;
            let v = if little {
                u16::from_le_bytes([b[0], b[1]])
            } else {
                u16::from_be_bytes([b[0], b[1]])
            };
            Ok(u32::from(v))
        };
        let u32_at = |at: usize| -> Result<u32, BiometricError> {
            let b = bytes.get(at..at + 4).ok_or_else(|| bad("truncado"))?;
            let a = [b[0], b[1], b[2], b[3]];
            Ok(if little {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            })
        };
        let ifd = u32_at(4)? as usize;
        let entries = u16_at(ifd)? as usize;
        let (mut width, mut height, mut bits, mut compression, mut photometric) = (0, 0, 8, 1, 1);
        let mut rows_per_strip = u32::MAX;
        let mut offsets: Vec<u32> = Vec::new();
        for e in 0..entries {
            let at = ifd + 2 + 12 * e;
            let tag = u16_at(at)?;
            let kind = u16_at(at + 2)?;
            let count = u32_at(at + 4)? as usize;
            let size = if kind == 3 { 2 } else { 4 };
            // Values that fit in four bytes sit in the entry itself.
            let base = if count * size <= 4 {
                at + 8
            } else {
                u32_at(at + 8)? as usize
            };
            let value = |i: usize| {
                if kind == 3 {
                    u16_at(base + 2 * i)
                } else {
                    u32_at(base + 4 * i)
                }
            };
            match tag {
                256 => width = value(0)? as usize,
                257 => height = value(0)? as usize,
                258 => bits = value(0)?,
                259 => compression = value(0)?,
                262 => photometric = value(0)?,
                273 => {
                    offsets = (0..count).map(value).collect::<Result<_, _>>()?;
                }
                277 if value(0)? != 1 => return Err(bad("mais de um canal")),
                278 => rows_per_strip = value(0)?,
                _ => {}
            }
        }
        if bits != 8 || compression != 1 || photometric > 1 {
            return Err(bad("apenas cinza de 8 bits sem compressão"));
        }
        // The header's dimensions are only a claim: an uncompressed 8-bit image needs one byte
        // per pixel in the file, so anything larger than the file (or than any reader makes) is
        // refused before allocating (a 65535×65535 header used to ask for 4 GiB, and larger
        // products overflowed).
        let pixel_count = width
            .checked_mul(height)
            .filter(|&n| n > 0 && n <= bytes.len() && n <= MAX_TIFF_PIXELS)
            .ok_or_else(|| {
                BiometricError::BadImage(format!(
                    "TIFF: dimensões {width}×{height} impossíveis para um arquivo de {} bytes",
                    bytes.len()
                ))
            })?;
        let rows_per_strip = (rows_per_strip as usize).clamp(1, height);
        let mut pixels = Vec::with_capacity(pixel_count);
        for (strip, &offset) in offsets.iter().enumerate() {
            let done = strip.saturating_mul(rows_per_strip);
            let rows = rows_per_strip.min(height.saturating_sub(done));
            let start = offset as usize;
            let data = bytes
                .get(start..start + rows * width)
                .ok_or_else(|| bad("faixa truncada"))?;
            pixels.extend_from_slice(data);
            if pixels.len() > pixel_count {
                return Err(bad("mais dados que as dimensões declaradas"));
            }
        }
        if photometric == 0 {
            // 0 = white is black: flip to our convention.
            pixels.iter_mut().for_each(|p| *p = 255 - *p);
        }
        GrayImage::new(width, height, pixels)
    }

    /// Encodes as an uncompressed little-endian 8-bit grey TIFF (for simulator folders and
    /// diagnostics exports).
    pub fn to_tiff(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pixels.len() + 200);
        out.extend_from_slice(b"II*\0");
        let data_at = 8u32;
        let ifd_at = data_at + self.pixels.len() as u32;
        out.extend_from_slice(&ifd_at.to_le_bytes());
        out.extend_from_slice(&self.pixels);
        let entries: [(u16, u16, u32); 8] = [
            (256, 4, self.width as u32),
            (257, 4, self.height as u32),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, data_at),
            (277, 3, 1),
            (279, 4, self.pixels.len() as u32),
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out
    }

    /// A synthetic fingerprint-like image for demo mode: concentric-ish ridges around a core with a
    /// seed-dependent phase field, so different seeds give different "fingers" and the same seed
    /// with a different `shift` gives another impression of the same one.
    pub fn synthetic(width: usize, height: usize, seed: u64, shift: (f32, f32)) -> GrayImage {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (u32::MAX >> 1) as f32
        };
        let cx = width as f32 * (0.4 + 0.2 * next());
        let cy = height as f32 * (0.35 + 0.2 * next());
        // A few random phase "bumps" make ridge endings and forks appear.
        let bumps: Vec<(f32, f32, f32)> = (0..40)
            .map(|_| {
                (
                    next() * width as f32,
                    next() * height as f32,
                    if next() > 0.5 { 1.0 } else { -1.0 },
                )
            })
            .collect();
        let period = 8.5 + next();
        let mut pixels = vec![255u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let fx = x as f32 - shift.0;
                let fy = y as f32 - shift.1;
                let dx = fx - cx;
                let dy = (fy - cy) * 0.8;
                let r = (dx * dx + dy * dy).sqrt();
                let mut phase = r / period * std::f32::consts::TAU;
                for &(bx, by, sign) in &bumps {
                    phase += sign * (fy - by).atan2(fx - bx);
                }
                let ex = (x as f32 - width as f32 / 2.0) / (width as f32 * 0.42);
                let ey = (y as f32 - height as f32 / 2.0) / (height as f32 * 0.45);
                if ex * ex + ey * ey > 1.0 {
                    continue;
                }
                let v = 0.5 + 0.5 * phase.cos();
                pixels[y * width + x] = (60.0 + 160.0 * v) as u8;
            }
        }
        GrayImage {
            width,
            height,
            pixels,
        }
    }
}

/// An image of the FVC2002 DB1_B set beside the repository, for tests (this crate's and the
/// station's and kiosk's, which reach it by the same path from here); `None` (with a note)
/// when `../shared/data` is absent.
#[doc(hidden)]
pub fn fvc_sample(name: &str) -> Option<GrayImage> {
    let path = format!(
        "{}/../../shared/data/fingerprints/FVC2002_DB1_B/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read(&path) {
        Ok(bytes) => Some(GrayImage::from_tiff(&bytes).expect("an FVC2002 TIFF")),
        Err(_) => {
            eprintln!("SKIP: {path} ausente");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tiff_round_trip() {
        let img = GrayImage::synthetic(64, 48, 3, (0.0, 0.0));
        let back = GrayImage::from_tiff(&img.to_tiff()).unwrap();
        assert_eq!(back, img);
    }

    #[test]
    fn rejects_garbage_tiff() {
        assert!(GrayImage::from_tiff(b"not a tiff").is_err());
        let mut t = GrayImage::synthetic(16, 16, 1, (0.0, 0.0)).to_tiff();
        t.truncate(100);
        assert!(GrayImage::from_tiff(&t).is_err());
    }

    /// A header claiming 4 294 967 295 × 4 294 967 295 pixels (issue 17): it used to overflow
    /// the multiplication (a panic in debug builds, a capacity-overflow panic in release); and
    /// 60 000 × 60 000 in a 300-byte file asked for 3.6 GB before reading a strip.
    #[test]
    fn a_tiff_header_cannot_claim_more_pixels_than_the_file_holds() {
        let patch = |t: &mut Vec<u8>, tag: u16, value: u32| {
            let ifd = u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize;
            let entries = u16::from_le_bytes([t[ifd], t[ifd + 1]]) as usize;
            for e in 0..entries {
                let at = ifd + 2 + 12 * e;
                if u16::from_le_bytes([t[at], t[at + 1]]) == tag {
                    t[at + 8..at + 12].copy_from_slice(&value.to_le_bytes());
                }
            }
        };
        let original = GrayImage::synthetic(16, 16, 1, (0.0, 0.0)).to_tiff();
        for (w, h) in [(u32::MAX, u32::MAX), (60_000, 60_000), (16, 100), (0, 16)] {
            let mut t = original.clone();
            patch(&mut t, 256, w);
            patch(&mut t, 257, h);
            let err = GrayImage::from_tiff(&t).unwrap_err();
            assert!(err.to_string().contains("TIFF"), "{w}×{h}: {err}");
        }
        assert!(GrayImage::from_tiff(&original).is_ok());
    }

    #[test]
    fn reads_an_fvc_image_when_present() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/fingerprints/FVC2002_DB1_B/101_1.tif"
        );
        let Ok(bytes) = std::fs::read(path) else {
            eprintln!("SKIP: {path} ausente");
            return;
        };
        let img = GrayImage::from_tiff(&bytes).unwrap();
        assert_eq!((img.width, img.height), (388, 374));
    }
}
