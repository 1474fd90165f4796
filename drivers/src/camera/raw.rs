//! What a UVC camera sends, turned into a [`Frame`]: packed YUYV 4:2:2 or MJPEG. Pure code,
//! tested on bytes; the device side lives in `uvc.rs`.

use super::Frame;
use crate::DeviceError;

/// How a mode encodes its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// Motion JPEG: one JPEG per frame, often without Huffman tables.
    Mjpeg,
    /// Packed YUV 4:2:2, `Y0 U Y1 V` per pair of pixels, uncompressed.
    Yuyv,
}

/// One mode a camera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Encoding of the frames.
    pub encoding: Encoding,
}

/// Picks the mode for evidence photos: the largest at least
/// [`super::MIN_WIDTH`]×[`super::MIN_HEIGHT`] (§7), then the faster, then YUYV over MJPEG
/// at equal size and rate (uncompressed is the better evidence).
pub fn pick(modes: &[Mode]) -> Option<Mode> {
    modes
        .iter()
        .copied()
        .filter(|m| m.width >= super::MIN_WIDTH && m.height >= super::MIN_HEIGHT)
        .max_by_key(|m| {
            (
                u64::from(m.width) * u64::from(m.height),
                m.fps,
                m.encoding == Encoding::Yuyv,
            )
        })
}

/// Decodes one frame of `width`×`height` sent in `encoding`.
pub fn decode(
    encoding: Encoding,
    width: u32,
    height: u32,
    bytes: &[u8],
) -> Result<Frame, DeviceError> {
    match encoding {
        Encoding::Yuyv => yuyv(width, height, bytes),
        Encoding::Mjpeg => mjpeg(width, height, bytes),
    }
}

fn yuyv(width: u32, height: u32, bytes: &[u8]) -> Result<Frame, DeviceError> {
    if !width.is_multiple_of(2) {
        return Err(DeviceError::Fault(format!(
            "modo YUYV com largura ímpar ({width}) não existe"
        )));
    }
    let pixels = width as usize * height as usize;
    let need = pixels * 2;
    if bytes.len() < need {
        return Err(DeviceError::Fault(format!(
            "quadro incompleto: {} de {need} bytes; a câmera pode estar mal conectada",
            bytes.len()
        )));
    }
    let mut rgb = Vec::with_capacity(pixels * 3);
    for quad in bytes[..need].chunks_exact(4) {
        let (u, v) = (quad[1], quad[3]);
        rgb.extend_from_slice(&bt601(quad[0], u, v));
        rgb.extend_from_slice(&bt601(quad[2], u, v));
    }
    Ok(Frame { width, height, rgb })
}

/// ITU-R BT.601 limited range (Y 16–235, Cb/Cr 16–240), the range UVC cameras send, in
/// fixed point with 8 fraction bits.
fn bt601(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (i32::from(y) - 16) * 298;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

fn mjpeg(width: u32, height: u32, bytes: &[u8]) -> Result<Frame, DeviceError> {
    let jpeg = complete_jpeg(bytes)?;
    let image = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .map_err(|e| DeviceError::Fault(format!("quadro MJPEG ilegível: {e}")))?
        .into_rgb8();
    if image.dimensions() != (width, height) {
        return Err(DeviceError::Fault(format!(
            "a câmera enviou {}×{} no modo {width}×{height}",
            image.width(),
            image.height()
        )));
    }
    Ok(Frame {
        width,
        height,
        rgb: image.into_raw(),
    })
}

/// A frame as a decodable JPEG: it must start with SOI and end with EOI (a frame cut short
/// by the USB bus decodes into grey rows, which must not become evidence), and when it
/// carries no Huffman tables (MJPEG leaves them out: the standard tables of JPEG Annex K are
/// implied) it gets the `AVI1` APP0 marker that tells the decoder to use those.
fn complete_jpeg(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DeviceError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(DeviceError::Fault(
            "quadro MJPEG sem cabeçalho JPEG (SOI)".into(),
        ));
    }
    // Some cameras pad the buffer with zeros after EOI.
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end < 4 || bytes[end - 2..end] != [0xFF, 0xD9] {
        return Err(DeviceError::Fault(
            "quadro MJPEG incompleto (sem EOI); a câmera pode estar mal conectada".into(),
        ));
    }
    if has_huffman_tables(&bytes[..end])? {
        return Ok(std::borrow::Cow::Borrowed(&bytes[..end]));
    }
    let mut out = Vec::with_capacity(end + AVI1_APP0.len());
    out.extend_from_slice(&bytes[..2]);
    out.extend_from_slice(&AVI1_APP0);
    out.extend_from_slice(&bytes[2..end]);
    Ok(std::borrow::Cow::Owned(out))
}

/// APP0 segment of AVI MJPEG (length 16: "AVI1", polarity, reserved, field sizes).
const AVI1_APP0: [u8; 18] = [
    0xFF, 0xE0, 0x00, 0x10, b'A', b'V', b'I', b'1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// Walks the header segments up to the first scan and tells whether a DHT came before it.
fn has_huffman_tables(jpeg: &[u8]) -> Result<bool, DeviceError> {
    let broken = || DeviceError::Fault("quadro MJPEG com cabeçalho corrompido".into());
    let mut at = 2;
    loop {
        let marker = *jpeg
            .get(at + 1)
            .filter(|_| jpeg[at] == 0xFF)
            .ok_or_else(broken)?;
        match marker {
            0xC4 => return Ok(true),
            0xDA => return Ok(false),
            // Fill bytes before a marker.
            0xFF => at += 1,
            _ => {
                let len = jpeg.get(at + 2..at + 4).ok_or_else(broken)?;
                at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;

    fn mode(width: u32, height: u32, fps: u32, encoding: Encoding) -> Mode {
        Mode {
            width,
            height,
            fps,
            encoding,
        }
    }

    #[test]
    fn picks_the_largest_mode_above_the_minimum_then_the_faster_then_uncompressed() {
        use Encoding::*;
        let modes = [
            mode(640, 480, 30, Yuyv),
            mode(1920, 1080, 5, Yuyv),
            mode(1920, 1080, 30, Mjpeg),
            mode(1600, 1200, 15, Mjpeg),
            mode(1280, 720, 60, Mjpeg),
        ];
        assert_eq!(pick(&modes), Some(mode(1920, 1080, 30, Mjpeg)));
        let tie = [mode(1600, 1200, 5, Mjpeg), mode(1600, 1200, 5, Yuyv)];
        assert_eq!(pick(&tie), Some(mode(1600, 1200, 5, Yuyv)));
        // §7: nothing under 1600×1024 is acceptable, however fast.
        assert_eq!(
            pick(&[mode(1280, 720, 30, Mjpeg), mode(1600, 900, 30, Yuyv)]),
            None
        );
    }

    #[test]
    fn yuyv_converts_limited_range_bt601() {
        // Black, white, then a saturated red pair (Y 81, Cb 90, Cr 240 is BT.601 red).
        let bytes = [16, 128, 235, 128, 81, 90, 81, 240];
        let frame = decode(Encoding::Yuyv, 2, 2, &bytes).expect("decodes");
        assert_eq!(&frame.rgb[0..3], &[0, 0, 0]);
        assert_eq!(&frame.rgb[3..6], &[255, 255, 255]);
        let red = &frame.rgb[6..9];
        assert!(red[0] >= 250 && red[1] <= 5 && red[2] <= 5, "{red:?}");
        assert_eq!(frame.rgb.len(), 12);
    }

    #[test]
    fn a_short_yuyv_frame_is_a_fault_not_a_photo() {
        let err = decode(Encoding::Yuyv, 4, 2, &[16; 10]).expect_err("short");
        assert!(err.to_string().contains("quadro incompleto"), "{err}");
    }

    fn sample_jpeg() -> (Vec<u8>, image::RgbImage) {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .expect("encode");
        let decoded = image::load_from_memory(&jpeg).expect("decode").into_rgb8();
        (jpeg, decoded)
    }

    /// Removes every DHT segment, as MJPEG cameras send their frames.
    fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut at = 2;
        while jpeg[at + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if jpeg[at + 1] != 0xC4 {
                out.extend_from_slice(&jpeg[at..at + 2 + len]);
            }
            at += 2 + len;
        }
        out.extend_from_slice(&jpeg[at..]);
        out
    }

    #[test]
    fn mjpeg_decodes_with_and_without_huffman_tables() {
        let (jpeg, expected) = sample_jpeg();
        let frame = decode(Encoding::Mjpeg, 64, 48, &jpeg).expect("full JPEG");
        assert_eq!(frame.rgb, expected.as_raw().as_slice());

        let bare = strip_huffman_tables(&jpeg);
        assert!(bare.len() < jpeg.len() - 400, "the DHT segments are gone");
        assert!(
            image::load_from_memory(&bare).is_err(),
            "plain JPEG needs its tables"
        );
        // The encoder used the Annex K tables, so the implied ones give the same pixels.
        let frame = decode(Encoding::Mjpeg, 64, 48, &bare).expect("MJPEG frame");
        assert_eq!(frame.rgb, expected.as_raw().as_slice());

        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 100]);
        assert!(
            decode(Encoding::Mjpeg, 64, 48, &padded).is_ok(),
            "zero padding after EOI"
        );
    }

    #[test]
    fn a_cut_or_foreign_mjpeg_frame_is_a_fault() {
        let (jpeg, _) = sample_jpeg();
        let cut = decode(Encoding::Mjpeg, 64, 48, &jpeg[..jpeg.len() / 2]).expect_err("cut");
        assert!(cut.to_string().contains("incompleto"), "{cut}");
        let foreign = decode(Encoding::Mjpeg, 64, 48, b"not a jpeg at all").expect_err("foreign");
        assert!(foreign.to_string().contains("SOI"), "{foreign}");
        let wrong = decode(Encoding::Mjpeg, 1600, 1200, &jpeg).expect_err("size");
        assert!(wrong.to_string().contains("64×48"), "{wrong}");
        // A segment whose length runs past the end of the frame.
        let broken = [0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0x00, 0xFF, 0xD9];
        let err = decode(Encoding::Mjpeg, 64, 48, &broken).expect_err("broken");
        assert!(err.to_string().contains("corrompido"), "{err}");
    }
}
