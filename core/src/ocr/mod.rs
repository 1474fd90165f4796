//! Plate recognition (§5, §6, 2f): find the plate in the rear photo, read it, decode it in the
//! plate's format, and compare it with the plate typed for the vehicle query.

pub mod binary;
pub mod calibration;
pub mod colour;
pub mod correction;
pub mod decode;
pub mod engine;
pub mod glyphs;
pub mod locator;
pub mod mercosulfont;
pub mod platefont;
pub mod plates;
pub mod pyramid;
pub mod reader;
pub mod scenes;
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
    /// The chance that the plate read is right, 0…1 (0 when nothing was read): calibrated
    /// ([`calibration`]), so 0.9 means right about nine times in ten.
    pub confidence: f32,
    /// The decoder's own scores behind it: the mean of the chosen characters' and the
    /// weakest one's (what the calibration maps; kept for measuring it).
    #[serde(skip)]
    pub scores: (f32, f32),
    /// Where the plate is in the photo.
    #[serde(rename = "box")]
    pub plate_box: Option<Rect>,
    /// Time spent, in milliseconds.
    pub ms: f64,
}

/// Below this calibrated confidence a reading is in doubt: the §6 correction is asked for
/// even when it agrees with the typed plate (one time in ten or more it would be wrong).
pub const DOUBT: f32 = 0.9;

impl PlateReading {
    /// Whether the reading is too unsure to stand on its own (see [`DOUBT`]).
    pub fn in_doubt(&self) -> bool {
        self.confidence < DOUBT
    }
}

/// A reading at least this confident ends the search for the plate…
const GOOD: f32 = 0.85;
/// …when none of its characters is in doubt: a row that ran into the frame can read six
/// characters well and the seventh as a guess, which another row may read properly.
const SURE: f32 = 0.6;

/// Rows read at each width finer than the working width.
const FINE_CANDIDATES: usize = 3;

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
        self.read_from(gray, Some(photo), started)
    }

    /// Reads the plate in a grey photo (no colour: the format is told by the reading alone).
    pub fn read_gray(&mut self, gray: &GrayImage) -> Result<PlateReading, OcrError> {
        self.read_from(gray.clone(), None, Instant::now())
    }

    /// Searches the photo coarse to fine ([`pyramid::schedule`]), reading the rows found at
    /// each width and stopping at the first sure reading; only when nothing reads surely is
    /// the photo searched coarser (very large plates) and with the tight threshold (dim ones).
    fn read_from(
        &mut self,
        gray: GrayImage,
        photo: Option<&RgbImage>,
        started: Instant,
    ) -> Result<PlateReading, OcrError> {
        let (w, h) = gray.dimensions();
        let levels = pyramid::Pyramid::new(gray);
        let mut best = None;
        let mut located: Option<locator::Candidate> = None;
        let sure = |best: &Option<(reader::RowReading, Rect)>| {
            best.as_ref().is_some_and(|(r, _)| is_good(&r.decoded))
        };
        for width in pyramid::schedule(w, locator::WORK_WIDTH) {
            let (work, scale) = levels.at_width(width);
            // Finer than the working width only small plates are left to find: dark
            // characters (every plate made since 1990) and the few best rows, so a frame
            // four times the working width costs a bounded multiple of it.
            let (passes, limit) = if width > locator::WORK_WIDTH {
                (&locator::WIDE[..1], self.candidates.min(FINE_CANDIDATES))
            } else {
                (&locator::WIDE[..], self.candidates)
            };
            let found = locator::find(&work, scale, (w, h), limit, passes);
            best = self.read_candidates(&levels, photo, &found, best)?;
            located = located.or_else(|| found.first().cloned());
            if sure(&best) {
                break;
            }
        }
        // Nothing plate-like anywhere: finer (a photo under twice the working width was only
        // searched at it) and coarser (very large plates).
        let fallbacks: &[u32] = if w < 2 * locator::WORK_WIDTH {
            &[locator::WORK_WIDTH * 3 / 2, locator::WORK_WIDTH * 2 / 3]
        } else {
            &[locator::WORK_WIDTH * 2 / 3]
        };
        for &width in fallbacks {
            if located.is_some() {
                break;
            }
            let (work, scale) = levels.at_width(width);
            let found = locator::find(&work, scale, (w, h), self.candidates, &locator::WIDE);
            best = self.read_candidates(&levels, photo, &found, best)?;
            located = found.first().cloned();
        }
        if !sure(&best) {
            // Nothing read well: look again with a tight threshold (dim plates).
            let (work, scale) = levels.at_width(locator::WORK_WIDTH * 3 / 2);
            let tight = locator::find(&work, scale, (w, h), self.candidates, &locator::TIGHT);
            best = self.read_candidates(&levels, photo, &tight, best)?;
            located = located.or_else(|| tight.first().cloned());
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(match best {
            Some((r, plate_box)) => PlateReading {
                plate: Some(r.decoded.plate),
                confidence: calibration::FITTED
                    .probability(r.decoded.confidence, r.decoded.weakest),
                scores: (r.decoded.confidence, r.decoded.weakest),
                plate_box: Some(plate_box),
                ms,
            },
            None => PlateReading {
                plate: None,
                confidence: 0.0,
                scores: (0.0, 0.0),
                plate_box: located.map(|c| c.plate_box(w, h)),
                ms,
            },
        })
    }

    /// Reads `candidates` in order and keeps the reading with the highest confidence,
    /// `best` included (what an earlier pass read), stopping at the first good one. Each row
    /// is read from the coarsest level that keeps its characters at the reader's size.
    fn read_candidates(
        &mut self,
        levels: &pyramid::Pyramid,
        photo: Option<&RgbImage>,
        candidates: &[locator::Candidate],
        mut best: Option<(reader::RowReading, Rect)>,
    ) -> Result<Option<(reader::RowReading, Rect)>, OcrError> {
        let (w, h) = levels.full().dimensions();
        for candidate in candidates {
            let hint = photo.and_then(|p| colour::format_hint(p, candidate));
            let char_h = locator::median_height(&candidate.chars) as f32;
            let level = levels.for_characters(char_h, reader::CHAR_HEIGHT as f32);
            let scaled = candidate.scaled(1.0 / (1u32 << level) as f32);
            let Some(reading) =
                reader::read_row(&mut self.engine, levels.level(level), &scaled, hint)?
            else {
                continue;
            };
            let plate_box = candidate.plate_box(w, h);
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
