//! The hOCR reader (Tesseract's page output, symbols with confidences and alternatives) on
//! arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vistoria_core::ocr::engine::{symbols_from_hocr, words_from_hocr};

fuzz_target!(|data: &[u8]| {
    let Ok(hocr) = std::str::from_utf8(data) else {
        return;
    };
    for symbol in symbols_from_hocr(hocr) {
        assert!(symbol.char.is_ascii_alphanumeric());
        assert!((0.0..=1.0).contains(&symbol.confidence));
        for (c, conf) in &symbol.alternatives {
            assert!(c.is_ascii_alphanumeric());
            assert!((0.0..=1.0).contains(conf));
        }
    }
    let words = words_from_hocr(hocr);
    assert!(words.len() <= hocr.len());
});
