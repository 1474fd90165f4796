//! Photo-like frames for demo mode and benchmarks until the camera simulator serves real ones:
//! smooth shading plus sensor-like noise, so a JPEG of it is as large as a real photo's.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

/// A `width`×`height` JPEG (quality 90) that differs for every `seed`.
pub fn photo_jpeg(width: u32, height: u32, seed: u64) -> anyhow::Result<Vec<u8>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        // xorshift64: cheap, deterministic per seed.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 24) as i32 - 12
    };
    let tint = (seed % 97) as i32;
    let image = RgbImage::from_fn(width, height, |x, y| {
        let base_r = (x * 255 / width.max(1)) as i32;
        let base_g = (y * 255 / height.max(1)) as i32;
        let base_b = (((x + y) / 8) % 256) as i32;
        let mut px = |v: i32| (v + noise()).clamp(0, 255) as u8;
        Rgb([
            px(base_r / 2 + tint),
            px(base_g / 2 + 60),
            px(base_b / 3 + 40),
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_decodable_jpeg_of_the_size_asked() {
        let bytes = photo_jpeg(320, 200, 7).expect("encode");
        let decoded = image::load_from_memory(&bytes).expect("decode");
        assert_eq!((decoded.width(), decoded.height()), (320, 200));
        assert_ne!(bytes, photo_jpeg(320, 200, 8).expect("encode"));
    }
}
