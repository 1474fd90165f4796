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

/// One symbol read: the recogniser's choice, and the alternatives it weighed for the same
/// place with their confidences (the choice among them; empty when it gave none).
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// The symbol chosen.
    pub char: char,
    /// Confidence in the choice, 0…1.
    pub confidence: f32,
    /// Every symbol considered for this place, each with its own confidence, 0…1.
    pub alternatives: Vec<(char, f32)>,
    /// Where it was read: its first and last columns in the image, when known.
    pub columns: Option<(u32, u32)>,
}

impl Symbol {
    /// A symbol with no alternatives.
    pub fn new(char: char, confidence: f32) -> Symbol {
        Symbol {
            char,
            confidence,
            alternatives: Vec::new(),
            columns: None,
        }
    }

    /// The reading as scores: the strongest alternative at the choice's confidence, the
    /// others in proportion to theirs (they are the LSTM's best guesses at different moments
    /// of the symbol, not shares of one whole), or the choice alone. A recogniser torn between
    /// Q and O says so here, where its choice alone would claim a sure Q.
    pub fn scores(&self) -> Vec<(char, f32)> {
        let top = self.alternatives.iter().map(|a| a.1).fold(0.0, f32::max);
        if top <= 0.0 || !self.alternatives.iter().any(|a| a.0 == self.char) {
            return vec![(self.char, self.confidence)];
        }
        self.alternatives
            .iter()
            .map(|&(c, s)| (c, self.confidence * s / top))
            .collect()
    }
}

/// Recognises text in a small, clean image (dark text on white).
pub trait Recognizer {
    /// The symbols read, restricted to the characters of `whitelist`.
    fn read(
        &mut self,
        image: &GrayImage,
        layout: Layout,
        whitelist: &str,
    ) -> Result<Vec<Symbol>, OcrError>;
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
            // The LSTM's alternatives for each symbol, listed in the hOCR.
            .and_then(|a| a.set_variable("lstm_choice_mode", "2"))
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
    ) -> Result<Vec<Symbol>, OcrError> {
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
            .map(|c| Symbol::new(c, mean))
            .collect())
    }
}

/// The `ocrx_cinfo` spans of an hOCR page: a symbol is
/// `title='x_bboxes …; x_conf 97.3'>A</span>`, followed (with `lstm_choice_mode` 2) by its
/// alternatives, `id='choice_…' title='x_confs 88.9'>Q</span>`.
pub fn symbols_from_hocr(hocr: &str) -> Vec<Symbol> {
    let number = |span: &str, key: &str| {
        span.split(key)
            .nth(1)
            .and_then(|t| t.split(|c: char| c != '.' && !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<f32>().ok())
            .map(|n| (n / 100.0).clamp(0.0, 1.0))
    };
    let mut out: Vec<Symbol> = Vec::new();
    // Whether the last symbol was kept: a skipped one's alternatives are skipped with it.
    let mut kept = false;
    for span in hocr.split("class='ocrx_cinfo'").skip(1) {
        let symbol = span
            .split_once('>')
            .and_then(|(_, rest)| rest.split('<').next())
            .and_then(|t| t.chars().next())
            .filter(char::is_ascii_alphanumeric);
        if span.contains("id='choice_") {
            if let (true, Some(c), Some(conf), Some(last)) =
                (kept, symbol, number(span, "x_confs "), out.last_mut())
            {
                last.alternatives.push((c, conf));
            }
        } else if let Some(conf) = number(span, "x_conf ") {
            kept = symbol.is_some();
            if let Some(c) = symbol {
                out.push(Symbol {
                    columns: columns(span),
                    ..Symbol::new(c, conf)
                });
            }
        }
    }
    out
}

/// The left and right columns of a span's `x_bboxes x0 y0 x1 y1`.
fn columns(span: &str) -> Option<(u32, u32)> {
    let numbers: Vec<u32> = span
        .split("x_bboxes ")
        .nth(1)?
        .split(';')
        .next()?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers[..] {
        [x0, _, x1, _] => Some((x0, x1)),
        _ => None,
    }
}

/// The text of the `ocrx_word` spans of an hOCR page, concatenated.
pub fn words_from_hocr(hocr: &str) -> String {
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
            vec![
                Symbol {
                    columns: Some((10, 40)),
                    ..Symbol::new('O', 0.9925)
                },
                Symbol {
                    columns: Some((44, 80)),
                    ..Symbol::new('U', 0.125)
                },
                Symbol {
                    columns: Some((84, 120)),
                    ..Symbol::new('Z', 1.0)
                },
            ]
        );
        assert_eq!(words_from_hocr(hocr), "");
        let plain =
            "<span class='ocrx_word' id='word_1_1' title='bbox 1 2 3 4; x_wconf 80'>AB1</span>";
        assert!(symbols_from_hocr(plain).is_empty());
        assert_eq!(words_from_hocr(plain), "AB1");
    }

    #[test]
    fn the_lstm_alternatives_belong_to_the_symbol_before_them() {
        // As libtesseract 5 writes it with lstm_choice_mode 2 (taken from a plate's O).
        let hocr = "<span class='ocrx_cinfo' title='x_bboxes 16 18 48 60; x_conf 97.5'>Q</span>\
            <span class='ocrx_cinfo' id='lstm_choices_1_1_1'>\
             <span class='ocrx_cinfo' id='choice_1_1_1' title='x_confs 90'>Q</span>\
             <span class='ocrx_cinfo' id='choice_1_1_2' title='x_confs 40'>O</span>\
             <span class='ocrx_cinfo' id='choice_1_1_3' title='x_confs 0'>X</span>\
            </span>\
            <span class='ocrx_cinfo' title='x_bboxes 64 17 98 61; x_conf 96'>-</span>\
            <span class='ocrx_cinfo' id='lstm_choices_1_1_2'>\
             <span class='ocrx_cinfo' id='choice_1_1_4' title='x_confs 90'>-</span>\
             <span class='ocrx_cinfo' id='choice_1_1_5' title='x_confs 10'>K</span>\
            </span>\
            <span class='ocrx_cinfo' title='x_bboxes 64 17 98 61; x_conf 80'>K</span>";
        let symbols = symbols_from_hocr(hocr);
        assert_eq!(symbols.len(), 2, "{symbols:?}");
        assert_eq!(
            symbols[0].alternatives,
            vec![('Q', 0.9), ('O', 0.4), ('X', 0.0)]
        );
        // The dash was no symbol of ours: its K alternative does not go to the Q.
        assert_eq!(
            symbols[1],
            Symbol {
                columns: Some((64, 98)),
                ..Symbol::new('K', 0.8)
            }
        );
        // The Q keeps its confidence; the O has 4/9 of it.
        let scores = symbols[0].scores();
        assert!((scores[0].1 - 0.975).abs() < 1e-5, "{scores:?}");
        assert!((scores[1].1 - 0.975 * 0.4 / 0.9).abs() < 1e-5, "{scores:?}");
        assert_eq!(symbols[1].scores(), vec![('K', 0.8)]);
        assert_eq!(symbols[0].columns, Some((16, 48)));
    }
}
