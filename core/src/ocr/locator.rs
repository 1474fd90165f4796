//! Finds where a plate may be in a whole photo (§7b frames the surroundings too).
//!
//! Character-row grouping: the photo is reduced to a working size, binarised against the local
//! mean in both polarities (dark characters on a light plate, and the reverse), and its blobs
//! that could be characters are chained left to right when they share height and baseline and
//! sit close together. Rows of five to nine such blobs, shaped like a plate's row of seven, are
//! the candidates; the reader then decides which of them reads as a plate.

use image::GrayImage;
use image::imageops::{self, FilterType};

use super::binary::{self, Blob, Integral, Rect};

/// Width the photo is reduced to before looking for characters.
pub const WORK_WIDTH: u32 = 800;

/// A row of blobs that may be a plate's characters.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The character blobs, left to right, in the coordinates of the original photo.
    pub chars: Vec<Rect>,
    /// Whether the characters are darker than the plate.
    pub dark: bool,
    /// How plate-like the row looks (higher is better).
    pub score: f32,
}

impl Candidate {
    /// The same row in a photo scaled by `k`.
    pub fn scaled(&self, k: f32) -> Candidate {
        if k == 1.0 {
            return self.clone();
        }
        Candidate {
            chars: self
                .chars
                .iter()
                .map(|r| Rect {
                    x: (r.x as f32 * k) as u32,
                    y: (r.y as f32 * k) as u32,
                    w: ((r.w as f32 * k).round() as u32).max(1),
                    h: ((r.h as f32 * k).round() as u32).max(1),
                })
                .collect(),
            ..self.clone()
        }
    }

    /// Box around the characters with a margin, in original coordinates.
    pub fn plate_box(&self, width: u32, height: u32) -> Rect {
        let x0 = self.chars.iter().map(|r| r.x).min().unwrap_or(0);
        let y0 = self.chars.iter().map(|r| r.y).min().unwrap_or(0);
        let x1 = self.chars.iter().map(Rect::right).max().unwrap_or(0);
        let y1 = self.chars.iter().map(Rect::bottom).max().unwrap_or(0);
        let h = median_height(&self.chars);
        let mx = (h as f32 * 0.35) as u32;
        let my = (h as f32 * 0.35) as u32;
        let x = x0.saturating_sub(mx);
        let y = y0.saturating_sub(my);
        Rect {
            x,
            y,
            w: (x1 + mx).min(width) - x,
            h: (y1 + my).min(height) - y,
        }
    }
}

/// Median height of a set of boxes.
pub fn median_height(rects: &[Rect]) -> u32 {
    let mut hs: Vec<u32> = rects.iter().map(|r| r.h).collect();
    hs.sort_unstable();
    hs.get(hs.len() / 2).copied().unwrap_or(0)
}

/// Candidate rows in a grey photo, best first, at most `limit`. When nothing plate-like shows
/// at the working size, the photo is searched again finer and coarser (small or blurred
/// plates, or very large ones).
pub fn locate(gray: &GrayImage, limit: usize) -> Vec<Candidate> {
    let found = locate_at(gray, limit, WORK_WIDTH, &WIDE);
    if !found.is_empty() {
        return found;
    }
    for width in [WORK_WIDTH * 3 / 2, WORK_WIDTH * 2 / 3] {
        let found = locate_at(gray, limit, width, &WIDE);
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Candidate rows found with a tight local threshold, for when the wide one found nothing
/// that reads. A dim plate on a light car is darker than everything around it: against a
/// wide neighbourhood the whole plate falls below the mean and its characters merge with
/// it into one blob. Against a neighbourhood of about a stroke's size, the characters stand
/// out on their plate again (at the cost of more noise, hence not the first pass). Run at
/// 1.5× the working width so the thin strokes of a small plate survive the reduction.
pub fn locate_tight(gray: &GrayImage, limit: usize) -> Vec<Candidate> {
    locate_at(gray, limit, WORK_WIDTH * 3 / 2, &TIGHT)
}

/// One binarisation: the characters' polarity and the neighbourhood's radius, a fraction
/// of the working width with a floor.
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    dark: bool,
    divisor: u32,
    min: u32,
}

/// The wide passes: both polarities, a radius of 1/50 of the working width.
pub const WIDE: [Pass; 2] = [
    Pass {
        dark: true,
        divisor: 50,
        min: 6,
    },
    Pass {
        dark: false,
        divisor: 50,
        min: 6,
    },
];
/// The tight pass: dark characters, a radius of 1/200 of the working width.
pub const TIGHT: [Pass; 1] = [Pass {
    dark: true,
    divisor: 200,
    min: 3,
}];

fn locate_at(gray: &GrayImage, limit: usize, work_width: u32, passes: &[Pass]) -> Vec<Candidate> {
    let scale = if gray.width() > work_width {
        work_width as f32 / gray.width() as f32
    } else {
        1.0
    };
    let work = if scale < 1.0 {
        let h = ((gray.height() as f32 * scale).round() as u32).max(1);
        imageops::resize(gray, work_width, h, FilterType::Triangle)
    } else {
        gray.clone()
    };
    find(&work, scale, (gray.width(), gray.height()), limit, passes)
}

/// Candidate rows in `work`, the photo reduced by `scale` from its `size`, in the photo's
/// coordinates, best first, at most `limit`.
pub fn find(
    work: &GrayImage,
    scale: f32,
    size: (u32, u32),
    limit: usize,
    passes: &[Pass],
) -> Vec<Candidate> {
    let integral = Integral::new(work);
    let mut found = Vec::new();
    for &Pass { dark, divisor, min } in passes {
        let radius = (work.width() / divisor).max(min);
        let mask = binary::adaptive(work, &integral, radius, 6, dark);
        let blobs = binary::blobs(&mask);
        for (rects, score) in rows(&blobs, work.height()) {
            let chars = rects
                .iter()
                .map(|r| Rect {
                    x: (r.x as f32 / scale) as u32,
                    y: (r.y as f32 / scale) as u32,
                    w: ((r.w as f32 / scale).ceil() as u32).max(1),
                    h: ((r.h as f32 / scale).ceil() as u32).max(1),
                })
                .collect();
            // Dark text is the common case (grey and Mercosul plates); light text is a hint.
            let score = if dark { score } else { score - 0.5 };
            found.push(Candidate { chars, dark, score });
        }
    }
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    // Drop rows that overlap a better one.
    let (w, h) = size;
    let mut kept: Vec<Candidate> = Vec::new();
    for c in found {
        let bx = c.plate_box(w, h);
        if kept.iter().any(|k| k.plate_box(w, h).iou(&bx) > 0.3) {
            continue;
        }
        kept.push(c);
        if kept.len() >= limit {
            break;
        }
    }
    kept
}

fn char_like(b: &Blob, max_h: u32) -> bool {
    let (w, h) = (b.rect.w as f32, b.rect.h as f32);
    b.rect.h >= 9 && b.rect.h <= max_h && w >= 2.0 && w <= h * 1.05 && w >= h * 0.1 && {
        // A plate's 1 and I are plain bars: solid, so only wider blobs must leave holes.
        let most = if w <= h * 0.3 { 1.0 } else { 0.92 };
        (0.18..=most).contains(&b.fill())
    }
}

/// How many characters a blob of characters' height that is too wide for one is, when it
/// looks like two or three touching (blur joins neighbours, the more so where characters
/// stand close, as on the Mercosul plates we draw); `None` when it is not such a blob. The
/// reader's segmenter splits them again.
fn touching(b: &Blob, max_h: u32) -> Option<u32> {
    let (w, h) = (b.rect.w as f32, b.rect.h as f32);
    if b.rect.h < 9 || b.rect.h > max_h || w <= h * 1.05 || w > h * 2.4 {
        return None;
    }
    // Characters leave holes and gaps: a solid block is a lamp or a sticker.
    if !(0.2..=0.8).contains(&b.fill()) {
        return None;
    }
    Some(((w / (h * 0.68)).round() as u32).clamp(2, 3))
}

/// Chains character-like blobs into rows; returns each row with its score. A blob of
/// touching characters enters the chain as that many equal parts.
fn rows(blobs: &[Blob], height: u32) -> Vec<(Vec<Rect>, f32)> {
    let max_h = height / 4;
    let mut chars: Vec<Blob> = Vec::new();
    for b in blobs {
        if char_like(b, max_h) {
            chars.push(*b);
        } else if let Some(k) = touching(b, max_h) {
            let step = b.rect.w / k;
            for i in 0..k {
                let x = b.rect.x + i * step;
                let w = if i + 1 == k { b.rect.right() - x } else { step };
                chars.push(Blob {
                    rect: Rect { x, w, ..b.rect },
                    area: b.area / k,
                });
            }
        }
    }
    chars.sort_by_key(|b| b.rect.x);
    let mut used = vec![false; chars.len()];
    let mut out = Vec::new();
    for i in 0..chars.len() {
        if used[i] {
            continue;
        }
        let h0 = chars[i].rect.h as f32;
        let mut chain = vec![i];
        let mut last = i;
        for j in i + 1..chars.len() {
            let (a, b) = (&chars[last], &chars[j]);
            let gap = b.rect.x as f32 - a.rect.right() as f32;
            if gap > 1.6 * h0 {
                break;
            }
            let hr = b.rect.h as f32 / h0;
            if gap < -0.15 * h0 || !(0.78..=1.28).contains(&hr) {
                continue;
            }
            if (b.cy() - a.cy()).abs() > 0.3 * h0 {
                continue;
            }
            chain.push(j);
            last = j;
        }
        if !(5..=9).contains(&chain.len()) {
            continue;
        }
        for &k in &chain {
            used[k] = true;
        }
        let rects: Vec<Rect> = chain.iter().map(|&k| chars[k].rect).collect();
        out.push((rects.clone(), score(&rects)));
    }
    out
}

fn score(rects: &[Rect]) -> f32 {
    let n = rects.len() as f32;
    let h = median_height(rects) as f32;
    let mean_h = rects.iter().map(|r| r.h as f32).sum::<f32>() / n;
    let spread = rects
        .iter()
        .map(|r| (r.h as f32 - mean_h).abs())
        .sum::<f32>()
        / n
        / h;
    let x0 = rects.first().map(|r| r.x).unwrap_or(0) as f32;
    let x1 = rects.last().map(Rect::right).unwrap_or(0) as f32;
    let ratio = (x1 - x0) / h;
    // A row of seven plate characters is about five times as wide as it is tall.
    let shape = ((ratio / 5.2).ln()).abs();
    let count = (n - 7.0).abs();
    3.0 - count * 0.6 - spread * 4.0 - shape * 2.0 + (h / 40.0).min(1.0) * 0.3
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(x: u32, h: u32) -> Rect {
        Rect {
            x,
            y: 100,
            w: h * 6 / 10,
            h,
        }
    }

    #[test]
    fn seven_aligned_boxes_make_one_row() {
        let blobs: Vec<Blob> = [0u32, 25, 50, 90, 115, 140, 165]
            .iter()
            .map(|&x| Blob {
                rect: r(100 + x, 36),
                area: 36 * 21 / 2,
            })
            .chain(std::iter::once(Blob {
                rect: Rect {
                    x: 10,
                    y: 10,
                    w: 5,
                    h: 80,
                },
                area: 200,
            }))
            .collect();
        let found = rows(&blobs, 600);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.len(), 7);
        assert!(found[0].1 > 2.0);
    }

    #[test]
    fn touching_characters_enter_the_row_as_their_parts() {
        // 0+25 and 115+140 are two pairs joined into one blob each (blur, tight spacing).
        let joined = |x: u32| Blob {
            rect: Rect {
                x: 100 + x,
                y: 100,
                w: 25 + 36 * 6 / 10,
                h: 36,
            },
            area: 2 * 36 * 21 / 2,
        };
        let blobs: Vec<Blob> = [50u32, 90, 165]
            .iter()
            .map(|&x| Blob {
                rect: r(100 + x, 36),
                area: 36 * 21 / 2,
            })
            .chain([joined(0), joined(115)])
            .collect();
        let found = rows(&blobs, 600);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.len(), 7);
        // A solid block as wide is a lamp, not characters.
        let lamp = Blob {
            area: 46 * 36,
            ..joined(0)
        };
        assert_eq!(touching(&lamp, 150), None);
        assert_eq!(touching(&joined(0), 150), Some(2));
    }

    #[test]
    fn scattered_boxes_make_no_row() {
        let blobs: Vec<Blob> = (0..7)
            .map(|i| Blob {
                rect: Rect {
                    x: i * 100,
                    y: (i * 37) % 200,
                    w: 12,
                    h: 20 + i * 3,
                },
                area: 120,
            })
            .collect();
        assert!(rows(&blobs, 600).is_empty());
    }
}
