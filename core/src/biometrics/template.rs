//! The template: what is kept of a finger after enrolment. A compact versioned binary format;
//! the raw image is never stored. Encryption at rest is in [`super::vault`].
//!
//! Layout (little-endian): `b"VFT"`, version `1`, width `u16`, height `u16`, count `u16`, then per
//! minutia `x u16`, `y u16`, angle `u8` (units of 2π/256), kind `u8` (0 ending, 1 fork),
//! quality `u8`.

use std::f32::consts::TAU;

use super::BiometricError;
use super::minutiae::{Minutia, MinutiaKind};

const MAGIC: &[u8; 3] = b"VFT";
/// Current template format version.
pub const VERSION: u8 = 1;
const HEADER: usize = 10;
const PER_MINUTIA: usize = 7;

/// Minutiae of one impression of one finger, in image pixels at 500 dpi.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Source image width.
    pub width: u16,
    /// Source image height.
    pub height: u16,
    /// The minutiae, at the format's precision.
    pub minutiae: Vec<Minutia>,
}

impl Template {
    /// Builds a template, rounding minutiae to the precision the format stores so a template
    /// matches exactly the same before and after a round trip.
    pub fn new(width: usize, height: usize, minutiae: &[Minutia]) -> Template {
        Template {
            width: width.min(u16::MAX as usize) as u16,
            height: height.min(u16::MAX as usize) as u16,
            minutiae: minutiae.iter().map(|m| quantise(*m)).collect(),
        }
    }

    /// Serialises to the binary format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + PER_MINUTIA * self.minutiae.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&(self.minutiae.len() as u16).to_le_bytes());
        for m in &self.minutiae {
            out.extend_from_slice(&(m.x.round() as u16).to_le_bytes());
            out.extend_from_slice(&(m.y.round() as u16).to_le_bytes());
            out.push(angle_code(m.angle));
            out.push(match m.kind {
                MinutiaKind::Ending => 0,
                MinutiaKind::Bifurcation => 1,
            });
            out.push(m.quality.min(100));
        }
        out
    }

    /// Parses the binary format.
    pub fn from_bytes(bytes: &[u8]) -> Result<Template, BiometricError> {
        let bad = |why: &str| BiometricError::BadTemplate(why.to_owned());
        if bytes.len() < HEADER || &bytes[..3] != MAGIC {
            return Err(bad("cabeçalho inválido"));
        }
        if bytes[3] != VERSION {
            return Err(bad(&format!("versão {} desconhecida", bytes[3])));
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let count = u16_at(8) as usize;
        if bytes.len() != HEADER + count * PER_MINUTIA {
            return Err(bad("tamanho não confere"));
        }
        let minutiae = bytes[HEADER..]
            .chunks_exact(PER_MINUTIA)
            .map(|c| {
                let kind = match c[5] {
                    0 => MinutiaKind::Ending,
                    1 => MinutiaKind::Bifurcation,
                    _ => return Err(bad("tipo de minúcia desconhecido")),
                };
                Ok(Minutia {
                    x: f32::from(u16::from_le_bytes([c[0], c[1]])),
                    y: f32::from(u16::from_le_bytes([c[2], c[3]])),
                    angle: f32::from(c[4]) * TAU / 256.0,
                    kind,
                    quality: c[6].min(100),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Template {
            width: u16_at(4),
            height: u16_at(6),
            minutiae,
        })
    }
}

fn angle_code(angle: f32) -> u8 {
    ((angle.rem_euclid(TAU) / TAU * 256.0).round() as u32 % 256) as u8
}

fn quantise(m: Minutia) -> Minutia {
    Minutia {
        x: m.x.round().clamp(0.0, f32::from(u16::MAX)),
        y: m.y.round().clamp(0.0, f32::from(u16::MAX)),
        angle: f32::from(angle_code(m.angle)) * TAU / 256.0,
        kind: m.kind,
        quality: m.quality.min(100),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_corruption() {
        let t = Template::new(
            388,
            374,
            &[
                Minutia {
                    x: 10.4,
                    y: 20.6,
                    angle: 6.2,
                    kind: MinutiaKind::Ending,
                    quality: 80,
                },
                Minutia {
                    x: 300.0,
                    y: 5.0,
                    angle: 0.01,
                    kind: MinutiaKind::Bifurcation,
                    quality: 100,
                },
            ],
        );
        let bytes = t.to_bytes();
        assert_eq!(bytes.len(), 10 + 2 * 7);
        assert_eq!(Template::from_bytes(&bytes).unwrap(), t);
        let mut wrong = bytes.clone();
        wrong[3] = 9;
        assert!(Template::from_bytes(&wrong).is_err());
        assert!(Template::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    /// Templates already sealed in stations' vaults are version 1: they must keep reading the
    /// same (the matcher still compares them; nothing in the format changed with issue 20).
    #[test]
    fn a_stored_version_1_template_still_reads() {
        let stored: [u8; 24] = [
            b'V', b'F', b'T', 1, 0x84, 0x01, 0x76, 0x01, 2, 0, // 388 × 374, two minutiae
            10, 0, 21, 0, 0xFD, 0, 80, // (10, 21), angle 253, ending, quality 80
            0x2C, 0x01, 5, 0, 0, 1, 100, // (300, 5), angle 0, fork, quality 100
        ];
        let t = Template::from_bytes(&stored).unwrap();
        assert_eq!((t.width, t.height, t.minutiae.len()), (388, 374, 2));
        assert_eq!((t.minutiae[0].x, t.minutiae[0].y), (10.0, 21.0));
        assert!((t.minutiae[0].angle - 253.0 * TAU / 256.0).abs() < 1e-6);
        assert_eq!(t.minutiae[1].kind, MinutiaKind::Bifurcation);
        assert_eq!(t.minutiae[1].quality, 100);
        assert_eq!(t.to_bytes(), stored);
    }
}
