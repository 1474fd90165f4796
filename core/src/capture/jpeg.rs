//! JPEG encoding for evidence (§7): 96 dpi in the JFIF header and the station's fixed
//! coordinates (2r) in an EXIF GPS block.

use jpeg_encoder::{ColorType, Density, Encoder};

/// JPEG quality of evidence photos.
pub const QUALITY: u8 = 88;

/// Encodes an RGB frame as a JFIF JPEG at 96 dpi with EXIF GPS for `(lat, lon)`.
pub fn encode(rgb: &[u8], width: u32, height: u32, lat: f64, lon: f64) -> Result<Vec<u8>, String> {
    let w = u16::try_from(width).map_err(|_| format!("largura {width} grande demais para JPEG"))?;
    let h =
        u16::try_from(height).map_err(|_| format!("altura {height} grande demais para JPEG"))?;
    let mut out = Vec::with_capacity(rgb.len() / 6);
    let mut encoder = Encoder::new(&mut out, QUALITY);
    encoder.set_density(Density::Inch { x: 96, y: 96 });
    encoder
        .add_app_segment(1, &exif_gps(lat, lon))
        .map_err(|e| e.to_string())?;
    encoder
        .encode(rgb, w, h, ColorType::Rgb)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Degrees as three unsigned rationals (degrees, minutes, seconds × 10000).
fn dms(value: f64) -> [(u32, u32); 3] {
    let v = value.abs();
    let d = v.floor();
    let m = ((v - d) * 60.0).floor();
    let s = ((v - d) * 60.0 - m) * 60.0;
    [
        (d as u32, 1),
        (m as u32, 1),
        ((s * 10_000.0).round() as u32, 10_000),
    ]
}

/// The APP1 payload: `Exif\0\0`, a little-endian TIFF header, IFD0 pointing to a GPS IFD with
/// version, latitude and longitude.
pub fn exif_gps(lat: f64, lon: f64) -> Vec<u8> {
    let mut t: Vec<u8> = Vec::new();
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: one entry (GPS pointer), then next-IFD = 0.
    let gps_ifd = 8 + 2 + 12 + 4;
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x8825, 4, 1, gps_ifd);
    t.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: five entries; rationals follow it.
    let n = 5u32;
    let data = gps_ifd + 2 + 12 * n + 4;
    t.extend_from_slice(&(n as u16).to_le_bytes());
    entry(&mut t, 0x0000, 1, 4, u32::from_le_bytes([2, 3, 0, 0]));
    let lat_ref = if lat < 0.0 { b'S' } else { b'N' };
    let lon_ref = if lon < 0.0 { b'W' } else { b'E' };
    entry(&mut t, 0x0001, 2, 2, u32::from(lat_ref));
    entry(&mut t, 0x0002, 5, 3, data);
    entry(&mut t, 0x0003, 2, 2, u32::from(lon_ref));
    entry(&mut t, 0x0004, 5, 3, data + 24);
    t.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in dms(lat).into_iter().chain(dms(lon)) {
        t.extend_from_slice(&num.to_le_bytes());
        t.extend_from_slice(&den.to_le_bytes());
    }
    let mut out = b"Exif\0\0".to_vec();
    out.extend_from_slice(&t);
    out
}

fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
    t.extend_from_slice(&tag.to_le_bytes());
    t.extend_from_slice(&kind.to_le_bytes());
    t.extend_from_slice(&count.to_le_bytes());
    t.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn jfif_density_is_96_dpi() {
        let rgb = vec![128u8; 64 * 48 * 3];
        let jpg = encode(&rgb, 64, 48, -15.6, -56.1).unwrap();
        // APP0 JFIF: FFD8 FFE0 len "JFIF\0" ver(2) units(1) xdens(2) ydens(2).
        let app0 = jpg.windows(5).position(|w| w == b"JFIF\0").unwrap();
        assert_eq!(jpg[app0 + 7], 1, "units are dots per inch");
        assert_eq!(u16::from_be_bytes([jpg[app0 + 8], jpg[app0 + 9]]), 96);
        assert_eq!(u16::from_be_bytes([jpg[app0 + 10], jpg[app0 + 11]]), 96);
        let back = image::load_from_memory(&jpg).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
    }

    #[test]
    fn exif_gps_reads_back_with_an_independent_parser() {
        let rgb = vec![90u8; 32 * 32 * 3];
        let jpg = encode(&rgb, 32, 32, -15.601_234, -56.097_891).unwrap();
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&jpg))
            .unwrap();
        let get = |tag| exif.get_field(tag, exif::In::PRIMARY).unwrap();
        let deg = |f: &exif::Field| match &f.value {
            exif::Value::Rational(v) => {
                v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0
            }
            other => panic!("{other:?}"),
        };
        assert!((deg(get(exif::Tag::GPSLatitude)) - 15.601_234).abs() < 1e-6);
        assert!((deg(get(exif::Tag::GPSLongitude)) - 56.097_891).abs() < 1e-6);
        assert_eq!(
            get(exif::Tag::GPSLatitudeRef).display_value().to_string(),
            "S"
        );
        assert_eq!(
            get(exif::Tag::GPSLongitudeRef).display_value().to_string(),
            "W"
        );
    }
}
