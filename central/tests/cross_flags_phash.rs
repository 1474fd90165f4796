//! The near-duplicate photo threshold (`phash::MAX_DISTANCE`), checked on real photos: the 57
//! plate photos of `../shared/data/plates/br-openalpr` (whole cars in Brazilian streets). Every
//! copy re-encoded at quality 60, resized to half or cropped 1 % each side must match its
//! original; cropped 2 % each side, all but one; no two different photos may match. Prints the
//! distances measured. Skips, saying so, where the data folder is absent.

#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, ImageFormat};
use vistoria_central::cross_flags::phash::{MAX_DISTANCE, dhash, distance};

fn photos() -> Option<Vec<(String, Vec<u8>)>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/plates/br-openalpr");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: {} is absent (no real photos on this machine)",
            dir.display()
        );
        return None;
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    Some(out)
}

fn jpeg(image: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    image.to_rgb8().write_with_encoder(encoder).unwrap();
    out
}

/// A copy with `percent` cut off each side.
fn cropped(image: &DynamicImage, percent: u32) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    let (dx, dy) = (w * percent / 100, h * percent / 100);
    image.crop_imm(dx, dy, w - 2 * dx, h - 2 * dy)
}

#[test]
fn copies_match_and_different_cars_do_not() {
    let Some(photos) = photos() else { return };
    assert_eq!(photos.len(), 57);
    let mut copies = std::collections::BTreeMap::<&str, Vec<u32>>::new();
    let mut hashes = Vec::new();
    for (_, bytes) in &photos {
        let original = dhash(bytes).unwrap();
        let image = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).unwrap();
        let half = image.resize(
            image.width() / 2,
            image.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        for (what, copy) in [
            ("re-encoded at quality 60", jpeg(&image, 60)),
            ("resized to half", jpeg(&half, 85)),
            ("cropped 1 % each side", jpeg(&cropped(&image, 1), 85)),
            ("cropped 2 % each side", jpeg(&cropped(&image, 2), 85)),
        ] {
            let d = distance(original, dhash(&copy).unwrap());
            copies.entry(what).or_default().push(d);
        }
        hashes.push(original);
    }
    for (what, d) in &copies {
        let matched = d.iter().filter(|d| **d <= MAX_DISTANCE).count();
        eprintln!(
            "{what}: at most {} bits, {matched} of {} within {MAX_DISTANCE}",
            d.iter().max().unwrap(),
            d.len()
        );
        let allowed_misses = usize::from(*what == "cropped 2 % each side");
        assert!(matched + allowed_misses >= d.len(), "{what}: {d:?}");
    }
    let mut pairs = Vec::new();
    for (i, a) in hashes.iter().enumerate() {
        for (j, b) in hashes.iter().enumerate().skip(i + 1) {
            pairs.push((distance(*a, *b), i, j));
        }
    }
    pairs.sort();
    let (closest, i, j) = pairs[0];
    eprintln!(
        "closest different photos: {closest} bits ({} and {}); {} pairs",
        photos[i].0,
        photos[j].0,
        pairs.len()
    );
    assert!(closest > MAX_DISTANCE, "{closest} bits");
}
