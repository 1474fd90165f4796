//! Perceptual hash of photos and the reuse check (beyond the rule: a photo of one vehicle
//! presented again for another inspection is a known fraud).
//!
//! The hash is the classic DCT pHash: luminance reduced to 32×32, 2-D DCT, the 8×8 lowest
//! frequencies compared with their median. Resizing, recompressing and slight cropping move
//! few of its 64 bits; different scenes differ in about half.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::domain::InspectionId;

/// Hamming distance at or below which two photos are taken to be the same picture.
pub const NEAR: u32 = 10;

/// The 64-bit perceptual hash of a photo.
pub fn phash(rgb: &RgbImage) -> u64 {
    let gray: GrayImage = image::DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
    phash_gray(&gray)
}

/// The hash of a grey image.
pub fn phash_gray(gray: &GrayImage) -> u64 {
    // Reduce in two steps: a box-like pre-shrink keeps it cheap on large frames.
    let pre = if gray.width() > 256 {
        let h = (gray.height() * 256 / gray.width()).max(32);
        imageops::resize(gray, 256, h, FilterType::Triangle)
    } else {
        gray.clone()
    };
    let small = imageops::resize(&pre, 32, 32, FilterType::Triangle);
    let px: Vec<f32> = small.as_raw().iter().map(|&v| f32::from(v)).collect();
    let cos: Vec<f32> = (0..8)
        .flat_map(|u| {
            (0..32)
                .map(move |x| ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 64.0).cos())
        })
        .collect();
    let mut coeffs = [0f32; 64];
    for u in 0..8 {
        for v in 0..8 {
            let mut s = 0f32;
            for y in 0..32 {
                let cy = cos[v * 32 + y];
                for x in 0..32 {
                    s += px[y * 32 + x] * cos[u * 32 + x] * cy;
                }
            }
            coeffs[v * 8 + u] = s;
        }
    }
    // The DC term only carries brightness: leave it out of the median.
    let mut sorted = coeffs[1..].to_vec();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    coeffs
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, &c)| if c > median { h | (1 << i) } else { h })
}

/// Bits that differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// One stored photo's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashEntry {
    /// The photo's media id.
    pub media_id: String,
    /// Its inspection.
    pub inspection_id: InspectionId,
    /// Central time of capture.
    pub at: DateTime<Utc>,
    /// The hash.
    pub phash: u64,
}

/// A suspected reuse: the new photo nearly matches one from another inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReuseMatch {
    /// The earlier photo.
    pub earlier: HashEntry,
    /// Bits that differ.
    pub distance: u32,
}

/// The station's photo hashes of the last 30 days, kept in an append-only file
/// (one JSON line per photo, written and synced before the photo is reported stored).
pub struct ReuseIndex {
    path: PathBuf,
    entries: Vec<HashEntry>,
}

/// How far back reuse is looked for.
pub fn window() -> Duration {
    Duration::days(30)
}

impl ReuseIndex {
    /// Opens (or starts) the index file; unreadable lines are skipped, not fatal.
    pub fn open(path: &Path) -> std::io::Result<ReuseIndex> {
        let mut entries = Vec::new();
        match File::open(path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    if let Ok(entry) = serde_json::from_str::<HashEntry>(&line?) {
                        entries.push(entry);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(ReuseIndex {
            path: path.to_owned(),
            entries,
        })
    }

    /// The closest photo of *another* inspection in the last 30 days within [`NEAR`] bits.
    pub fn check(
        &self,
        hash: u64,
        inspection: InspectionId,
        now: DateTime<Utc>,
    ) -> Option<ReuseMatch> {
        self.entries
            .iter()
            .filter(|e| e.inspection_id != inspection && now - e.at <= window())
            .map(|e| (distance(e.phash, hash), e))
            .filter(|(d, _)| *d <= NEAR)
            .min_by_key(|(d, _)| *d)
            .map(|(distance, e)| ReuseMatch {
                earlier: e.clone(),
                distance,
            })
    }

    /// Adds a photo's hash, durably.
    pub fn record(&mut self, entry: HashEntry) -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut line = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        line.push('\n');
        f.write_all(line.as_bytes())?;
        f.sync_data()?;
        self.entries.push(entry);
        Ok(())
    }

    /// How many hashes are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no hash is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ocr::synth;

    fn recompress(img: &RgbImage, quality: u8) -> RgbImage {
        let mut buf = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
            .encode_image(img)
            .unwrap();
        image::load_from_memory(&buf).unwrap().to_rgb8()
    }

    #[test]
    fn same_photo_resized_recompressed_and_cropped_is_near() {
        let original = synth::scene(11, 1600, 1024).image;
        let h0 = phash(&original);
        let resized = imageops::resize(&original, 1200, 768, FilterType::Triangle);
        let recompressed = recompress(&original, 60);
        let cropped = imageops::crop_imm(&original, 40, 25, 1600 - 80, 1024 - 50).to_image();
        let all_three = recompress(
            &imageops::resize(&cropped, 1700, 1088, FilterType::Triangle),
            70,
        );
        for (name, img) in [
            ("resized", resized),
            ("recompressed", recompressed),
            ("cropped", cropped),
            ("all", all_three),
        ] {
            let d = distance(h0, phash(&img));
            assert!(d <= NEAR, "{name}: {d} bits");
        }
        for seed in 12..20 {
            let other = synth::scene(seed, 1600, 1024).image;
            let d = distance(h0, phash(&other));
            assert!(d > NEAR, "seed {seed}: {d} bits");
        }
    }

    #[test]
    fn index_flags_other_inspections_in_the_window_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phash.jsonl");
        let now = crate::fixtures::sample_time(0);
        let (a, b) = (InspectionId::new(), InspectionId::new());
        let mut index = ReuseIndex::open(&path).unwrap();
        index
            .record(HashEntry {
                media_id: "m1".into(),
                inspection_id: a,
                at: now,
                phash: 0xF0F0,
            })
            .unwrap();
        // Same inspection: not reuse. Another inspection: reuse. Too old: not reuse.
        assert!(index.check(0xF0F1, a, now).is_none());
        let m = index.check(0xF0F1, b, now + Duration::days(2)).unwrap();
        assert_eq!((m.earlier.media_id.as_str(), m.distance), ("m1", 1));
        assert!(index.check(0xF0F1, b, now + Duration::days(31)).is_none());
        assert!(index.check(!0xF0F0, b, now).is_none());
        let reopened = ReuseIndex::open(&path).unwrap();
        assert_eq!(reopened.len(), 1);
        assert!(reopened.check(0xF0F0, b, now).is_some());
    }
}
