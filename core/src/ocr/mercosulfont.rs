//! The Mercosul plates' typeface, drawn by us as pen strokes (as [`super::platefont`] draws the
//! grey plates' one), for training the glyph classifier and rendering test scenes.
//!
//! Plates since 2020 (CONTRAN Res. 729/2018 and 780/2019) use a typeface of the FE-Schrift
//! family: condensed, monoline, with the shapes chosen so that one symbol cannot be painted
//! into another. Where it parts from the grey plates' typeface is where the reader went wrong
//! on Mercosul photos (W read as V, Y as N or V, H as A, P as Y, 0 as 6): the W's middle
//! strokes rise to the full height, the Y's arms meet at mid height, the 1 has a flag and no
//! foot, the 3 a flat top, the 6 and 9 a straight stroke into their bowl, and the digit 0 is a
//! narrow oval beside the letter O's rounder one. No free font has these shapes, so each symbol
//! is written here as centre lines for a pen of random width, with the corners rounded and the
//! points moved a little per drawing.

use super::platefont::{self, P, Pen, Stroke, open, r, ring, s};
use super::synth::Rng;

/// The digit 0: narrower than the letter O, and more oval.
const ZERO: &[P] = &[r(0.1, 0.0), r(0.9, 0.0), r(0.9, 1.0), r(0.1, 1.0)];
/// The letter O: the whole box.
const ROUND: &[P] = &[r(0.0, 0.0), r(1.0, 0.0), r(1.0, 1.0), r(0.0, 1.0)];

/// The centre lines of one symbol in the unit box (x right, y down).
fn strokes(c: char) -> Option<&'static [Stroke]> {
    const S_0: &[Stroke] = &[ring(ZERO)];
    const S_1: &[Stroke] = &[open(&[s(0.12, 0.28), s(0.62, 0.0), s(0.62, 1.0)])];
    const S_2: &[Stroke] = &[open(&[
        s(0.02, 0.22),
        r(0.02, 0.0),
        r(1.0, 0.0),
        r(1.0, 0.42),
        s(0.0, 1.0),
        s(1.0, 1.0),
    ])];
    // Flat top, then a diagonal into the lower bowl: a 3 cannot be painted into a B or 8.
    const S_3: &[Stroke] = &[open(&[
        s(0.0, 0.0),
        s(1.0, 0.0),
        s(0.35, 0.42),
        r(1.0, 0.42),
        r(1.0, 1.0),
        r(0.0, 1.0),
        s(0.0, 0.8),
    ])];
    const S_4: &[Stroke] = &[open(&[
        s(0.74, 1.0),
        s(0.74, 0.0),
        s(0.0, 0.7),
        s(1.0, 0.7),
    ])];
    const S_5: &[Stroke] = &[open(&[
        s(0.95, 0.0),
        s(0.05, 0.0),
        s(0.0, 0.44),
        r(1.0, 0.4),
        r(1.0, 1.0),
        r(0.0, 1.0),
        s(0.0, 0.8),
    ])];
    // A straight stroke down into a closed bowl; the 9 is the same turned over.
    const S_6: &[Stroke] = &[
        open(&[s(0.82, 0.0), s(0.04, 0.6)]),
        ring(&[r(0.0, 0.4), r(1.0, 0.4), r(1.0, 1.0), r(0.0, 1.0)]),
    ];
    const S_7: &[Stroke] = &[open(&[s(0.0, 0.0), s(1.0, 0.0), s(0.3, 1.0)])];
    const S_8: &[Stroke] = &[
        ring(&[r(0.1, 0.0), r(0.9, 0.0), r(0.9, 0.45), r(0.1, 0.45)]),
        ring(&[r(0.0, 0.45), r(1.0, 0.45), r(1.0, 1.0), r(0.0, 1.0)]),
    ];
    const S_9: &[Stroke] = &[
        ring(&[r(0.0, 0.0), r(1.0, 0.0), r(1.0, 0.6), r(0.0, 0.6)]),
        open(&[s(0.96, 0.4), s(0.18, 1.0)]),
    ];
    const S_A: &[Stroke] = &[
        open(&[s(0.0, 1.0), s(0.4, 0.0), s(0.6, 0.0), s(1.0, 1.0)]),
        open(&[s(0.14, 0.66), s(0.86, 0.66)]),
    ];
    const S_B: &[Stroke] = &[open(&[
        s(0.0, 0.46),
        r(0.9, 0.46),
        r(0.9, 0.0),
        s(0.0, 0.0),
        s(0.0, 1.0),
        r(1.0, 1.0),
        r(1.0, 0.46),
        s(0.5, 0.46),
    ])];
    const S_C: &[Stroke] = &[open(&[
        s(1.0, 0.2),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 1.0),
        r(1.0, 1.0),
        s(1.0, 0.8),
    ])];
    const S_D: &[Stroke] = &[ring(&[s(0.0, 0.0), r(1.0, 0.0), r(1.0, 1.0), s(0.0, 1.0)])];
    const S_E: &[Stroke] = &[
        open(&[s(1.0, 0.0), s(0.0, 0.0), s(0.0, 1.0), s(1.0, 1.0)]),
        open(&[s(0.0, 0.47), s(0.78, 0.47)]),
    ];
    const S_F: &[Stroke] = &[
        open(&[s(1.0, 0.0), s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(0.0, 0.47), s(0.78, 0.47)]),
    ];
    const S_G: &[Stroke] = &[open(&[
        s(1.0, 0.2),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 1.0),
        r(1.0, 1.0),
        s(1.0, 0.55),
        s(0.5, 0.55),
    ])];
    const S_H: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(1.0, 0.0), s(1.0, 1.0)]),
        open(&[s(0.0, 0.47), s(1.0, 0.47)]),
    ];
    const S_I: &[Stroke] = &[open(&[s(0.5, 0.0), s(0.5, 1.0)])];
    const S_J: &[Stroke] = &[open(&[s(1.0, 0.0), r(1.0, 1.0), r(0.0, 1.0), s(0.0, 0.72)])];
    const S_K: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(1.0, 0.0), s(0.0, 0.6)]),
        open(&[s(0.36, 0.4), s(1.0, 1.0)]),
    ];
    const S_L: &[Stroke] = &[open(&[s(0.0, 0.0), s(0.0, 1.0), s(1.0, 1.0)])];
    const S_M: &[Stroke] = &[open(&[
        s(0.0, 1.0),
        s(0.0, 0.0),
        s(0.5, 0.7),
        s(1.0, 0.0),
        s(1.0, 1.0),
    ])];
    const S_N: &[Stroke] = &[open(&[s(0.0, 1.0), s(0.0, 0.0), s(1.0, 1.0), s(1.0, 0.0)])];
    const S_O: &[Stroke] = &[ring(ROUND)];
    const S_P: &[Stroke] = &[open(&[
        s(0.0, 1.0),
        s(0.0, 0.0),
        r(1.0, 0.0),
        r(1.0, 0.54),
        s(0.0, 0.54),
    ])];
    const S_Q: &[Stroke] = &[ring(ROUND), open(&[s(0.6, 0.74), s(1.04, 1.06)])];
    const S_R: &[Stroke] = &[
        open(&[
            s(0.0, 1.0),
            s(0.0, 0.0),
            r(1.0, 0.0),
            r(1.0, 0.5),
            s(0.0, 0.5),
        ]),
        open(&[s(0.45, 0.5), s(1.0, 1.0)]),
    ];
    const S_S: &[Stroke] = &[open(&[
        s(1.0, 0.18),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 0.47),
        r(1.0, 0.5),
        r(1.0, 1.0),
        r(0.0, 1.0),
        s(0.0, 0.82),
    ])];
    const S_T: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(1.0, 0.0)]),
        open(&[s(0.5, 0.0), s(0.5, 1.0)]),
    ];
    const S_U: &[Stroke] = &[open(&[s(0.0, 0.0), r(0.0, 1.0), r(1.0, 1.0), s(1.0, 0.0)])];
    const S_V: &[Stroke] = &[open(&[s(0.0, 0.0), s(0.5, 1.0), s(1.0, 0.0)])];
    // Two Vs side by side: the middle strokes meet at the top, unlike the grey plates' W.
    const S_W: &[Stroke] = &[open(&[
        s(0.0, 0.0),
        s(0.24, 1.0),
        s(0.5, 0.05),
        s(0.76, 1.0),
        s(1.0, 0.0),
    ])];
    const S_X: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(1.0, 1.0)]),
        open(&[s(1.0, 0.0), s(0.0, 1.0)]),
    ];
    const S_Y: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.5, 0.5), s(0.5, 1.0)]),
        open(&[s(1.0, 0.0), s(0.5, 0.5)]),
    ];
    const S_Z: &[Stroke] = &[open(&[s(0.0, 0.0), s(1.0, 0.0), s(0.0, 1.0), s(1.0, 1.0)])];
    Some(match c {
        '0' => S_0,
        '1' => S_1,
        '2' => S_2,
        '3' => S_3,
        '4' => S_4,
        '5' => S_5,
        '6' => S_6,
        '7' => S_7,
        '8' => S_8,
        '9' => S_9,
        'A' => S_A,
        'B' => S_B,
        'C' => S_C,
        'D' => S_D,
        'E' => S_E,
        'F' => S_F,
        'G' => S_G,
        'H' => S_H,
        'I' => S_I,
        'J' => S_J,
        'K' => S_K,
        'L' => S_L,
        'M' => S_M,
        'N' => S_N,
        'O' => S_O,
        'P' => S_P,
        'Q' => S_Q,
        'R' => S_R,
        'S' => S_S,
        'T' => S_T,
        'U' => S_U,
        'V' => S_V,
        'W' => S_W,
        'X' => S_X,
        'Y' => S_Y,
        'Z' => S_Z,
        _ => return None,
    })
}

/// A pen for the Mercosul typeface, `height` pixels tall, drawn at random within the
/// typeface's range (characters about 0.62 as wide as tall, a pen of about a seventh of the
/// height, large round corners); `stretch` widens or narrows it.
pub fn pen(height: f32, stretch: f32, rng: &mut Rng) -> Pen {
    Pen {
        height,
        aspect: rng.range(0.56, 0.7) * stretch,
        weight: rng.range(0.11, 0.17),
        roundness: rng.range(0.3, 0.5),
    }
}

/// Ink coverage (0–1) of `c` drawn with `pen`, each point of its centre lines moved by up to
/// `jitter` of the box: row-major, with its width and height.
pub fn coverage(c: char, pen: Pen, jitter: f32, rng: &mut Rng) -> Option<(Vec<f32>, usize, usize)> {
    let strokes = strokes(c)?;
    Some(platefont::draw(strokes, pen, Some((jitter, rng))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ocr::glyphs::CLASSES;

    const PEN: Pen = Pen {
        height: 48.0,
        aspect: 0.62,
        weight: 0.14,
        roundness: 0.4,
    };

    fn draw(c: char) -> (Vec<f32>, usize, usize) {
        coverage(c, PEN, 0.0, &mut Rng::new(1)).unwrap()
    }

    /// Ink in the box `[x0, x1) × [y0, y1)` given in shares of the character's box.
    fn ink(cov: &(Vec<f32>, usize, usize), x: (f32, f32), y: (f32, f32)) -> f32 {
        let (bw, bh) = (PEN.aspect * PEN.height, PEN.height);
        let (cov, w, _) = cov;
        let mut total = 0.0;
        for yy in (y.0 * bh) as usize..(y.1 * bh) as usize {
            for xx in (x.0 * bw) as usize..(x.1 * bw) as usize {
                total += cov[yy * w + xx];
            }
        }
        total
    }

    #[test]
    fn every_symbol_is_drawn_and_the_confused_ones_differ_from_the_grey_plates() {
        for &c in CLASSES {
            let c = char::from(c);
            let (cov, _, _) = draw(c);
            let total: f32 = cov.iter().sum();
            assert!(total > 48.0 * 7.0 * 0.8, "{c}: {total}");
        }
        // The symbols the reader confused on Mercosul photos, and the ones FE-Schrift draws
        // apart, are drawn otherwise than the grey plates' typeface.
        for c in "WYHP0136789".chars() {
            assert_ne!(draw(c).0, platefont::coverage(c, PEN).unwrap().0, "{c}");
        }
    }

    #[test]
    fn the_w_rises_to_the_top_in_the_middle_and_the_v_does_not() {
        // The top fifth around the middle column: the W's middle strokes meet there.
        let top_middle = (0.4, 0.6);
        assert!(ink(&draw('W'), top_middle, (0.0, 0.2)) > 20.0);
        assert!(ink(&draw('V'), top_middle, (0.0, 0.2)) < 2.0);
        // The grey plates' W meets lower.
        let grey = platefont::coverage('W', PEN).unwrap();
        assert!(ink(&grey, top_middle, (0.0, 0.2)) < 2.0);
    }

    #[test]
    fn the_zero_is_narrower_than_the_o_and_the_one_has_a_flag() {
        let width = |cov: &(Vec<f32>, usize, usize)| {
            let (cov, w, h) = cov;
            (0..*w)
                .filter(|&x| (0..*h).any(|y| cov[y * w + x] > 0.5))
                .count()
        };
        assert!(width(&draw('0')) + 3 <= width(&draw('O')));
        // Ink at the top left: the 1's flag, not the I's bare bar.
        assert!(ink(&draw('1'), (0.1, 0.4), (0.1, 0.3)) > 10.0);
        assert!(ink(&draw('I'), (0.1, 0.4), (0.1, 0.3)) < 1.0);
    }

    #[test]
    fn jitter_changes_the_drawing_deterministically() {
        let a = coverage('K', PEN, 0.04, &mut Rng::new(5)).unwrap();
        let b = coverage('K', PEN, 0.04, &mut Rng::new(5)).unwrap();
        let c = coverage('K', PEN, 0.04, &mut Rng::new(6)).unwrap();
        assert_eq!(a.0, b.0);
        assert_ne!(a.0, c.0);
    }
}
