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
    /// The text read and a confidence in 0…1, restricted to the characters of `whitelist`.
    fn read(
        &mut self,
        image: &GrayImage,
        layout: Layout,
        whitelist: &str,
    ) -> Result<(String, f32), OcrError>;
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
    ) -> Result<(String, f32), OcrError> {
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
        let text = api.get_text().map_err(|e| engine_err(e.to_string()));
        let conf = api.mean_text_conf();
        self.api = Some(api);
        let text: String = text?
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Ok((text, (conf.max(0) as f32 / 100.0).min(1.0)))
    }
}
