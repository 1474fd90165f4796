//! Plate recognition (§5, §6, 2f): find the plate in the rear photo, read it, decode it in the
//! plate's format, and compare it with the plate typed for the vehicle query.

pub mod binary;
pub mod colour;
pub mod correction;
pub mod decode;
pub mod engine;
pub mod glyphs;
pub mod locator;
pub mod platefont;
pub mod reader;
pub mod synth;
#[cfg(test)]
mod tests;
pub mod train;

use std::time::Instant;

use image::{GrayImage, RgbImage};
use serde::Serialize;

pub use binary::Rect;
pub use engine::{Layout, Recognizer, TesseractEngine};

use crate::domain::plate::Plate;

/// Why recognition could not run at all (a photo with no plate is not an error).
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The recogniser failed.
    #[error("falha no reconhecimento de caracteres: {0}")]
    Engine(String),
    /// The image could not be decoded.
    #[error("imagem ilegível: {0}")]
    Image(String),
}

/// The outcome of reading one photo.
#[derive(Debug, Clone, Serialize)]
pub struct PlateReading {
    /// The plate, when one was read in a valid format.
    pub plate: Option<Plate>,
    /// Confidence in 0…1 (0 when nothing was read).
    pub confidence: f32,
    /// Where the plate is in the photo.
    #[serde(rename = "box")]
    pub plate_box: Option<Rect>,
    /// Time spent, in milliseconds.
    pub ms: f64,
}

/// A reading at least this confident ends the search for the plate…
const GOOD: f32 = 0.85;
/// …when none of its characters is in doubt: a row that ran into the frame can read six
/// characters well and the seventh as a guess, which another row may read properly.
const SURE: f32 = 0.6;

/// Whether a reading is good enough to end the search.
fn is_good(decoded: &decode::Decoded) -> bool {
    decoded.confidence >= GOOD && decoded.weakest >= SURE
}

/// Reads plates with one recogniser, kept for the life of the reader.
pub struct PlateReader<R: Recognizer> {
    engine: R,
    /// How many located rows are read before giving up.
    pub candidates: usize,
}

impl PlateReader<TesseractEngine> {
    /// A reader backed by Tesseract (loaded once, here).
    pub fn tesseract() -> Result<Self, OcrError> {
        Ok(PlateReader::new(TesseractEngine::new()?))
    }
}

impl<R: Recognizer> PlateReader<R> {
    /// A reader over any recogniser.
    pub fn new(engine: R) -> Self {
        PlateReader {
            engine,
            candidates: 6,
        }
    }

    /// Reads the plate in a whole colour photo. The colours tell a Mercosul plate (its blue
    /// band) before its characters are read.
    pub fn read(&mut self, photo: &RgbImage) -> Result<PlateReading, OcrError> {
        let started = Instant::now();
        // The same grey as `DynamicImage::to_luma8` (the locator's thresholds were set on it;
        // `ConvertBuffer` rounds differently).
        let gray = image::DynamicImage::ImageRgb8(photo.clone()).to_luma8();
        self.read_from(&gray, Some(photo), started)
    }

    /// Reads the plate in a grey photo (no colour: the format is told by the reading alone).
    pub fn read_gray(&mut self, gray: &GrayImage) -> Result<PlateReading, OcrError> {
        self.read_from(gray, None, Instant::now())
    }

    fn read_from(
        &mut self,
        gray: &GrayImage,
        photo: Option<&RgbImage>,
        started: Instant,
    ) -> Result<PlateReading, OcrError> {
        let found = locator::locate(gray, self.candidates);
        let mut best = self.read_candidates(gray, photo, &found, None)?;
        let mut located = found.first().cloned();
        if best.as_ref().is_none_or(|(r, _)| !is_good(&r.decoded)) {
            // Nothing read well: look again with a tight threshold (dim plates).
            let tight = locator::locate_tight(gray, self.candidates);
            best = self.read_candidates(gray, photo, &tight, best)?;
            located = located.or_else(|| tight.first().cloned());
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(match best {
            Some((r, plate_box)) => PlateReading {
                plate: Some(r.decoded.plate),
                confidence: r.decoded.confidence,
                plate_box: Some(plate_box),
                ms,
            },
            None => PlateReading {
                plate: None,
                confidence: 0.0,
                plate_box: located.map(|c| c.plate_box(gray.width(), gray.height())),
                ms,
            },
        })
    }

    /// Reads `candidates` in order and keeps the reading with the highest confidence,
    /// `best` included (what an earlier pass read), stopping at the first good one.
    fn read_candidates(
        &mut self,
        gray: &GrayImage,
        photo: Option<&RgbImage>,
        candidates: &[locator::Candidate],
        mut best: Option<(reader::RowReading, Rect)>,
    ) -> Result<Option<(reader::RowReading, Rect)>, OcrError> {
        for candidate in candidates {
            let hint = photo.and_then(|p| colour::format_hint(p, candidate));
            let Some(reading) = reader::read_row(&mut self.engine, gray, candidate, hint)? else {
                continue;
            };
            let plate_box = candidate.plate_box(gray.width(), gray.height());
            let good = is_good(&reading.decoded);
            if best
                .as_ref()
                .is_none_or(|(b, _)| reading.decoded.confidence > b.decoded.confidence)
            {
                best = Some((reading, plate_box));
            }
            if good {
                break;
            }
        }
        Ok(best)
    }

    /// Reads the plate in encoded image bytes (JPEG, PNG).
    pub fn read_bytes(&mut self, bytes: &[u8]) -> Result<PlateReading, OcrError> {
        let img = image::load_from_memory(bytes).map_err(|e| OcrError::Image(e.to_string()))?;
        self.read(&img.to_rgb8())
    }
}
