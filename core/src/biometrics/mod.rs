//! Fingerprint biometrics: our own minutiae extraction and matcher, templates encrypted at rest,
//! enrolment and login flows (Portaria 741/2019 items 2o and §11, §14, §16). The algorithm is
//! described in `README.md` next to this file.
//!
//! Pipeline: [`image`] → [`orientation`] → [`segmentation`] → [`frequency`] → [`enhancement`] →
//! [`minutiae`] → [`template`]; matching in [`cylinder`] and [`matcher`]; acceptance of a capture
//! in [`quality`]; storage in [`vault`]; flows in [`enrolment`].

pub mod check;
pub mod cylinder;
pub mod enhancement;
pub mod enrolment;
pub mod evaluation;
pub mod finger;
pub mod frequency;
pub mod image;
pub mod matcher;
pub mod minutiae;
pub mod orientation;
pub mod quality;
pub mod segmentation;
pub mod synthesis;
pub mod template;
pub mod vault;

pub use check::{BiometricCheck, CheckError};
pub use finger::Finger;
pub use image::GrayImage;
pub use matcher::{Prepared, THRESHOLD};
pub use template::Template;

/// Why a biometric operation failed. Messages are for the station user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BiometricError {
    /// The image could not be read.
    #[error("imagem de digital inválida: {0}")]
    BadImage(String),
    /// The template could not be read.
    #[error("modelo biométrico inválido: {0}")]
    BadTemplate(String),
    /// The capture is not good enough to use.
    #[error("captura recusada: {0}")]
    Rejected(String),
    /// Encryption or decryption failed (wrong station key or tampered file).
    #[error("falha de criptografia do modelo biométrico")]
    Crypto,
    /// Reading or writing the template store failed.
    #[error("falha ao acessar modelos biométricos: {0}")]
    Io(String),
    /// No template for this inspector.
    #[error("inspetor sem digital cadastrada: {0}")]
    NotEnrolled(String),
    /// The enrolment captures do not agree with each other.
    #[error("as capturas não conferem entre si; repita o cadastro")]
    Disagreement,
}

/// Everything extraction learns about one image, for quality checks and diagnostics.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The template.
    pub template: Template,
    /// Share of the image that is print.
    pub coverage: f32,
    /// Mean orientation coherence over the print, `0..=1`.
    pub clarity: f32,
}

/// Extracts the template of one image (500 dpi, ridges dark).
pub fn extract(img: &GrayImage) -> Template {
    analyse(img).template
}

/// Extracts the template and the image's quality figures.
pub fn analyse(img: &GrayImage) -> Analysis {
    let field = orientation::estimate(img);
    let mask = segmentation::segment(img, &field);
    let periods = frequency::estimate(img, &field, &mask);
    let enhanced = enhancement::enhance(img, &field, &mask, &periods);
    let minutiae = minutiae::extract(&enhanced, img.width, img.height, &field, &mask, &periods);
    let fg: Vec<usize> = (0..mask.fg.len()).filter(|&i| mask.fg[i]).collect();
    let clarity = if fg.is_empty() {
        0.0
    } else {
        fg.iter().map(|&i| field.coherence[i]).sum::<f32>() / fg.len() as f32
    };
    Analysis {
        template: Template::new(img.width, img.height, &minutiae),
        coverage: mask.coverage(),
        clarity,
    }
}
