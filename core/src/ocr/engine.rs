//! The character recogniser behind a small trait, and its Tesseract implementation:
//! libtesseract is initialised once with the `eng` model and reused for every image.

use image::GrayImage;
use tesseract::{PageSegMode, Tesseract};

use super::OcrError;

/// How the recogniser should treat the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A single line of text (Tesseract psm 7).
    Line,
    /// A single word (psm 8).
    Word,
    /// A single character (psm 10).
    Char,
}

/// Recognises text in a small, clean image (dark text on white).
pub trait Recognizer {
    /// The symbols read, each with its own confidence in 0…1, restricted to the characters
    /// of `whitelist`.
    fn read(
        &mut self,
        image: &GrayImage,
        layout: Layout,
        whitelist: &str,
    ) -> Result<Vec<(char, f32)>, OcrError>;
}

/// Tesseract through the `tesseract` crate.
pub struct TesseractEngine {
    api: Option<Tesseract>,
    whitelist: String,
    layout: Option<Layout>,
}

impl TesseractEngine {
    /// Loads the `eng` model from the system's tessdata (or `TESSDATA_PREFIX`).
    pub fn new() -> Result<TesseractEngine, OcrError> {
        let api = Tesseract::new(None, Some("eng"))
            .map_err(|e| OcrError::Engine(format!("não foi possível iniciar o Tesseract: {e}")))?;
        let api = api
            .set_variable("load_system_dawg", "0")
            .and_then(|a| a.set_variable("load_freq_dawg", "0"))
            .and_then(|a| a.set_variable("hocr_char_boxes", "1"))
            .map_err(|e| OcrError::Engine(e.to_string()))?;
        Ok(TesseractEngine {
            api: Some(api),
            whitelist: String::new(),
            layout: None,
        })
    }
}

impl Recognizer for TesseractEngine {
    fn read(
        &mut self,
        image: &GrayImage,
        layout: Layout,
        whitelist: &str,
    ) -> Result<Vec<(char, f32)>, OcrError> {
        let engine_err = |e: String| OcrError::Engine(e);
        let mut api = self
            .api
            .take()
            .ok_or_else(|| engine_err("Tesseract indisponível após falha anterior".into()))?;
        if self.whitelist != whitelist {
            api = api
                .set_variable("tessedit_char_whitelist", whitelist)
                .map_err(|e| engine_err(e.to_string()))?;
            self.whitelist = whitelist.to_owned();
        }
        if self.layout != Some(layout) {
            api.set_page_seg_mode(match layout {
                Layout::Line => PageSegMode::PsmSingleLine,
                Layout::Word => PageSegMode::PsmSingleWord,
                Layout::Char => PageSegMode::PsmSingleChar,
            });
            self.layout = Some(layout);
        }
        let (w, h) = (image.width() as i32, image.height() as i32);
        let mut api = api
            .set_frame(image.as_raw(), w, h, 1, w)
            .map_err(|e| engine_err(e.to_string()))?
            .set_source_resolution(300)
            .recognize()
            .map_err(|e| engine_err(e.to_string()))?;
        // hOCR with character boxes carries each symbol's own confidence: a line's mean
        // would let one doubtful symbol drag down the ones read clearly.
        let hocr = api.get_hocr_text(0).map_err(|e| engine_err(e.to_string()));
        let conf = api.mean_text_conf();
        self.api = Some(api);
        let hocr = hocr?;
        let symbols = symbols_from_hocr(&hocr);
        if !symbols.is_empty() {
            return Ok(symbols);
        }
        // No character boxes (an older libtesseract): the words' text at the mean confidence.
        let mean = (conf.max(0) as f32 / 100.0).min(1.0);
        Ok(words_from_hocr(&hocr)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| (c, mean))
            .collect())
    }
}

/// The `ocrx_cinfo` spans of an hOCR page: `title='x_bboxes …; x_conf 97.3'>A</span>`.
fn symbols_from_hocr(hocr: &str) -> Vec<(char, f32)> {
    let mut out = Vec::new();
    for span in hocr.split("class='ocrx_cinfo'").skip(1) {
        let conf = span
            .split("x_conf ")
            .nth(1)
            .and_then(|t| t.split(|c: char| c != '.' && !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<f32>().ok());
        let symbol = span
            .split_once('>')
            .and_then(|(_, rest)| rest.split('<').next())
            .and_then(|t| t.chars().next());
        if let (Some(c), Some(conf)) = (symbol, conf)
            && c.is_ascii_alphanumeric()
        {
            out.push((c, (conf / 100.0).clamp(0.0, 1.0)));
        }
    }
    out
}

/// The text of the `ocrx_word` spans of an hOCR page, concatenated.
fn words_from_hocr(hocr: &str) -> String {
    hocr.split("class='ocrx_word'")
        .skip(1)
        .filter_map(|w| w.split_once('>').and_then(|(_, r)| r.split('<').next()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_their_confidences_come_from_the_character_boxes() {
        let hocr = "<span class='ocrx_word' id='word_1_1' title='bbox 10 8 200 60; x_wconf 71'>\
            <span class='ocrx_cinfo' title='x_bboxes 10 8 40 60; x_conf 99.25'>O</span>\
            <span class='ocrx_cinfo' title='x_bboxes 44 8 80 60; x_conf 12.5'>U</span>\
            <span class='ocrx_cinfo' title='x_bboxes 84 8 120 60; x_conf 100'>Z</span></span>";
        assert_eq!(
            symbols_from_hocr(hocr),
            vec![('O', 0.9925), ('U', 0.125), ('Z', 1.0)]
        );
        assert_eq!(words_from_hocr(hocr), "");
        let plain =
            "<span class='ocrx_word' id='word_1_1' title='bbox 1 2 3 4; x_wconf 80'>AB1</span>";
        assert!(symbols_from_hocr(plain).is_empty());
        assert_eq!(words_from_hocr(plain), "AB1");
    }
}
