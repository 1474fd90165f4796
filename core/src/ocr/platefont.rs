//! The grey plates' typeface, drawn by us as pen strokes, for training the glyph classifier.
//!
//! Brazil's grey plates (CONTRAN Res. 231/2007) use a condensed monoline typeface: one round pen,
//! characters about 0.6 as wide as tall, O drawn as the 0's rounded rectangle, 1 and I plain bars,
//! D with square corners on its stem side. No free font has those shapes, and the classifier's
//! commonest mistakes on real photos were exactly there (the plate's O read as D or B), so each
//! symbol is written here as centre lines that a pen of random width traces.

use crate::geometry::segment_distance;

/// A point of a centre line in the unit box (x right, y down); `round` rounds the corner there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct P(pub(crate) f32, pub(crate) f32, pub(crate) bool);

/// A sharp corner (or an end).
pub(crate) const fn s(x: f32, y: f32) -> P {
    P(x, y, false)
}

/// A rounded corner.
pub(crate) const fn r(x: f32, y: f32) -> P {
    P(x, y, true)
}

/// One stroke: an open polyline, or a closed one.
pub(crate) struct Stroke {
    points: &'static [P],
    closed: bool,
}

pub(crate) const fn open(points: &'static [P]) -> Stroke {
    Stroke {
        points,
        closed: false,
    }
}

pub(crate) const fn ring(points: &'static [P]) -> Stroke {
    Stroke {
        points,
        closed: true,
    }
}

/// The rounded rectangle of O and 0.
const BOX: &[P] = &[r(0.0, 0.0), r(1.0, 0.0), r(1.0, 1.0), r(0.0, 1.0)];

/// The centre lines of one symbol, or `None` for a symbol the typeface lacks.
fn strokes(c: char) -> Option<&'static [Stroke]> {
    const S_0: &[Stroke] = &[ring(BOX)];
    const S_1: &[Stroke] = &[open(&[s(0.5, 0.0), s(0.5, 1.0)])];
    const S_2: &[Stroke] = &[open(&[
        s(0.0, 0.25),
        r(0.0, 0.0),
        r(1.0, 0.0),
        r(1.0, 0.45),
        s(0.0, 1.0),
        s(1.0, 1.0),
    ])];
    const S_3: &[Stroke] = &[
        open(&[s(0.0, 0.0), r(1.0, 0.0), r(1.0, 0.47), s(0.3, 0.47)]),
        open(&[s(0.8, 0.47), r(1.0, 0.47), r(1.0, 1.0), s(0.0, 1.0)]),
    ];
    const S_4: &[Stroke] = &[open(&[
        s(0.78, 1.0),
        s(0.78, 0.0),
        s(0.0, 0.68),
        s(1.0, 0.68),
    ])];
    const S_5: &[Stroke] = &[open(&[
        s(1.0, 0.0),
        s(0.0, 0.0),
        s(0.0, 0.45),
        r(1.0, 0.42),
        r(1.0, 1.0),
        s(0.0, 1.0),
    ])];
    const S_6: &[Stroke] = &[open(&[
        s(0.95, 0.0),
        r(0.0, 0.0),
        r(0.0, 1.0),
        r(1.0, 1.0),
        r(1.0, 0.45),
        s(0.0, 0.45),
    ])];
    const S_7: &[Stroke] = &[open(&[s(0.0, 0.0), s(1.0, 0.0), s(0.25, 1.0)])];
    const S_8: &[Stroke] = &[
        ring(&[r(0.08, 0.0), r(0.92, 0.0), r(0.92, 0.46), r(0.08, 0.46)]),
        ring(&[r(0.0, 0.46), r(1.0, 0.46), r(1.0, 1.0), r(0.0, 1.0)]),
    ];
    const S_9: &[Stroke] = &[open(&[
        s(0.05, 1.0),
        r(1.0, 1.0),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 0.55),
        s(1.0, 0.55),
    ])];
    const S_A: &[Stroke] = &[
        open(&[s(0.0, 1.0), s(0.35, 0.0), s(0.65, 0.0), s(1.0, 1.0)]),
        open(&[s(0.15, 0.65), s(0.85, 0.65)]),
    ];
    const S_B: &[Stroke] = &[open(&[
        s(0.0, 0.47),
        r(0.92, 0.47),
        r(0.92, 0.0),
        s(0.0, 0.0),
        s(0.0, 1.0),
        r(1.0, 1.0),
        r(1.0, 0.47),
        s(0.5, 0.47),
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
        open(&[s(0.0, 0.48), s(0.85, 0.48)]),
    ];
    const S_F: &[Stroke] = &[
        open(&[s(1.0, 0.0), s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(0.0, 0.48), s(0.85, 0.48)]),
    ];
    const S_G: &[Stroke] = &[open(&[
        s(1.0, 0.2),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 1.0),
        r(1.0, 1.0),
        s(1.0, 0.52),
        s(0.5, 0.52),
    ])];
    const S_H: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(1.0, 0.0), s(1.0, 1.0)]),
        open(&[s(0.0, 0.48), s(1.0, 0.48)]),
    ];
    const S_J: &[Stroke] = &[open(&[s(1.0, 0.0), r(1.0, 1.0), r(0.0, 1.0), s(0.0, 0.7)])];
    const S_K: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.0, 1.0)]),
        open(&[s(1.0, 0.0), s(0.0, 0.62)]),
        open(&[s(0.3, 0.42), s(1.0, 1.0)]),
    ];
    const S_L: &[Stroke] = &[open(&[s(0.0, 0.0), s(0.0, 1.0), s(1.0, 1.0)])];
    const S_M: &[Stroke] = &[open(&[
        s(0.0, 1.0),
        s(0.0, 0.0),
        s(0.5, 0.62),
        s(1.0, 0.0),
        s(1.0, 1.0),
    ])];
    const S_N: &[Stroke] = &[open(&[s(0.0, 1.0), s(0.0, 0.0), s(1.0, 1.0), s(1.0, 0.0)])];
    const S_P: &[Stroke] = &[open(&[
        s(0.0, 1.0),
        s(0.0, 0.0),
        r(1.0, 0.0),
        r(1.0, 0.55),
        s(0.0, 0.55),
    ])];
    const S_Q: &[Stroke] = &[ring(BOX), open(&[s(0.55, 0.7), s(1.05, 1.08)])];
    const S_R: &[Stroke] = &[
        open(&[
            s(0.0, 1.0),
            s(0.0, 0.0),
            r(1.0, 0.0),
            r(1.0, 0.52),
            s(0.0, 0.52),
        ]),
        open(&[s(0.5, 0.52), s(1.0, 1.0)]),
    ];
    const S_S: &[Stroke] = &[open(&[
        s(1.0, 0.15),
        r(1.0, 0.0),
        r(0.0, 0.0),
        r(0.0, 0.46),
        r(1.0, 0.52),
        r(1.0, 1.0),
        r(0.0, 1.0),
        s(0.0, 0.85),
    ])];
    const S_T: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(1.0, 0.0)]),
        open(&[s(0.5, 0.0), s(0.5, 1.0)]),
    ];
    const S_U: &[Stroke] = &[open(&[s(0.0, 0.0), r(0.0, 1.0), r(1.0, 1.0), s(1.0, 0.0)])];
    const S_V: &[Stroke] = &[open(&[s(0.0, 0.0), s(0.5, 1.0), s(1.0, 0.0)])];
    const S_W: &[Stroke] = &[open(&[
        s(0.0, 0.0),
        s(0.2, 1.0),
        s(0.5, 0.35),
        s(0.8, 1.0),
        s(1.0, 0.0),
    ])];
    const S_X: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(1.0, 1.0)]),
        open(&[s(1.0, 0.0), s(0.0, 1.0)]),
    ];
    const S_Y: &[Stroke] = &[
        open(&[s(0.0, 0.0), s(0.5, 0.55), s(0.5, 1.0)]),
        open(&[s(1.0, 0.0), s(0.5, 0.55)]),
    ];
    const S_Z: &[Stroke] = &[open(&[s(0.0, 0.0), s(1.0, 0.0), s(0.0, 1.0), s(1.0, 1.0)])];
    Some(match c {
        '0' | 'O' => S_0,
        '1' | 'I' => S_1,
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
        'J' => S_J,
        'K' => S_K,
        'L' => S_L,
        'M' => S_M,
        'N' => S_N,
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

/// How a symbol is drawn: sizes relative to the character's height.
#[derive(Debug, Clone, Copy)]
pub struct Pen {
    /// Character height in pixels, from the top of the ink to its bottom.
    pub height: f32,
    /// Width over height of the ink box.
    pub aspect: f32,
    /// Pen width over height.
    pub weight: f32,
    /// Radius of a rounded corner over the box's width.
    pub roundness: f32,
}

/// Ink coverage (0–1) of `c` drawn with `pen`: row-major, with its width and height.
pub fn coverage(c: char, pen: Pen) -> Option<(Vec<f32>, usize, usize)> {
    Some(draw(strokes(c)?, pen, None))
}

/// Ink coverage of `strokes` drawn with `pen`; `jitter` moves every point of the centre lines
/// by up to that share of the box, each by its own amount (another hand, another die).
pub(crate) fn draw(
    strokes: &[Stroke],
    pen: Pen,
    mut jitter: Option<(f32, &mut super::synth::Rng)>,
) -> (Vec<f32>, usize, usize) {
    let half = pen.weight * pen.height / 2.0;
    let (bw, bh) = (pen.aspect * pen.height, pen.height);
    // Centre lines run inside the ink box by half a pen.
    let (iw, ih) = ((bw - 2.0 * half).max(1.0), (bh - 2.0 * half).max(1.0));
    let radius = pen.roundness * iw;
    let mut segments: Vec<[(f32, f32); 2]> = Vec::new();
    for stroke in strokes {
        let pts: Vec<(f32, f32, bool)> = stroke
            .points
            .iter()
            .map(|p| {
                let (dx, dy) = match jitter.as_mut() {
                    Some((j, rng)) => (rng.range(-*j, *j), rng.range(-*j, *j)),
                    None => (0.0, 0.0),
                };
                (half + (p.0 + dx) * iw, half + (p.1 + dy) * ih, p.2)
            })
            .collect();
        let line = rounded(&pts, stroke.closed, radius);
        segments.extend(line.windows(2).map(|w| [w[0], w[1]]));
    }
    // The Q's tail may reach past the box; the canvas grows to hold it.
    let (w, h) = (
        (bw * 1.12).ceil() as usize + 1,
        (bh * 1.1).ceil() as usize + 1,
    );
    let mut cov = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let q = (x as f32 + 0.5, y as f32 + 0.5);
            let d = segments
                .iter()
                .map(|&[a, b]| segment_distance(a, b, q))
                .fold(f32::MAX, f32::min);
            cov[y * w + x] = (half - d + 0.5).clamp(0.0, 1.0);
        }
    }
    (cov, w, h)
}

/// The polyline with each `round` corner replaced by a quadratic curve of the given radius
/// (or less, where the neighbouring segments are short).
fn rounded(pts: &[(f32, f32, bool)], closed: bool, radius: f32) -> Vec<(f32, f32)> {
    let n = pts.len();
    let mut out = Vec::new();
    for i in 0..n {
        let (x, y, round) = pts[i];
        let has_neighbours = closed || (i > 0 && i + 1 < n);
        if !round || !has_neighbours {
            out.push((x, y));
            continue;
        }
        let (px, py, _) = pts[(i + n - 1) % n];
        let (nx, ny, _) = pts[(i + 1) % n];
        let toward = |tx: f32, ty: f32| {
            let len = ((tx - x).powi(2) + (ty - y).powi(2)).sqrt().max(1e-6);
            let d = radius.min(len / 2.0);
            (x + (tx - x) * d / len, y + (ty - y) * d / len)
        };
        let (a, b) = (toward(px, py), toward(nx, ny));
        const STEPS: usize = 6;
        for k in 0..=STEPS {
            let t = k as f32 / STEPS as f32;
            let u = 1.0 - t;
            out.push((
                u * u * a.0 + 2.0 * u * t * x + t * t * b.0,
                u * u * a.1 + 2.0 * u * t * y + t * t * b.1,
            ));
        }
    }
    if closed && let Some(&first) = out.first() {
        out.push(first);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ocr::glyphs::CLASSES;

    const PEN: Pen = Pen {
        height: 48.0,
        aspect: 0.6,
        weight: 0.15,
        roundness: 0.3,
    };

    fn ink(cov: &[f32]) -> f32 {
        cov.iter().sum()
    }

    #[test]
    fn every_symbol_is_drawn_within_its_box() {
        for &c in CLASSES {
            let (cov, w, h) = coverage(char::from(c), PEN).unwrap();
            let total = ink(&cov);
            assert!(total > 48.0 * 7.0 * 0.8, "{}: {total}", char::from(c));
            // Nothing but the Q's tail leaves the 0.6 × 1 box.
            let outside: f32 = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| x as f32 > 0.6 * 48.0 + 1.0 || y as f32 > 49.0)
                .map(|(x, y)| cov[y * w + x])
                .sum();
            if c != b'Q' {
                assert!(outside < 1.0, "{}: {outside}", char::from(c));
            }
        }
    }

    #[test]
    fn the_plates_o_is_its_zero_and_d_keeps_square_corners() {
        let (o, w, _) = coverage('O', PEN).unwrap();
        assert_eq!(o, coverage('0', PEN).unwrap().0);
        let (d, _, _) = coverage('D', PEN).unwrap();
        // The top-left corner pixel is inked on D, blank on the rounded O.
        let corner = |cov: &[f32]| cov[w + 1];
        assert!(corner(&d) > 0.9 && corner(&o) < 0.1);
    }
}
