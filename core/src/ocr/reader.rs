//! Reads one located row: rectifies it, segments its characters, and asks the recogniser about
//! each group and, where the groups disagree with the layout, each character.

use image::{GrayImage, Luma};

use super::OcrError;
use super::binary::{self, Blob, Rect};
use super::decode::{self, Decoded, Position};
use super::engine::{Layout, Recognizer, Symbol};
use super::glyphs::{CLASSES, GlyphModel};
use super::locator::{Candidate, median_height};
use crate::domain::plate::{CharClass, PLATE_LEN, PlateFormat, char_class_at};

/// Character height the row is normalised to before segmentation.
pub const CHAR_HEIGHT: u32 = 48;

/// What Tesseract may read where a letter must be: the letters, and the digits the plate
/// typeface draws as O and I. Kept from the 0 of a plate's O, its LSTM settles for a Q.
const LETTER_SHAPES: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ01";
const DIGITS: &str = "0123456789";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A decoded row and the characters it was read from.
#[derive(Debug, Clone)]
pub struct RowReading {
    /// The plate and its confidence.
    pub decoded: Decoded,
}

/// The row cut out of the photo, deskewed and scaled so characters are [`CHAR_HEIGHT`] tall,
/// with dark characters on a light background.
pub fn rectify(gray: &GrayImage, candidate: &Candidate) -> Option<GrayImage> {
    let chars = &candidate.chars;
    let h = median_height(chars) as f32;
    if h < 4.0 || chars.len() < 2 {
        return None;
    }
    // Least-squares line through the character centres gives the row's slope.
    let n = chars.len() as f32;
    let cx: Vec<f32> = chars
        .iter()
        .map(|r| r.x as f32 + r.w as f32 / 2.0)
        .collect();
    let cy: Vec<f32> = chars
        .iter()
        .map(|r| r.y as f32 + r.h as f32 / 2.0)
        .collect();
    let mx = cx.iter().sum::<f32>() / n;
    let my = cy.iter().sum::<f32>() / n;
    let sxx: f32 = cx.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f32 = cx.iter().zip(&cy).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = if sxx > 0.0 {
        (sxy / sxx).clamp(-0.4, 0.4)
    } else {
        0.0
    };
    // A row of seven is about 5.2 heights wide; when the locator chained fewer (a character
    // lost to glare or the frame), widen the strip by what is missing on both sides and let
    // segmentation find the rest.
    let left = chars.iter().map(|r| r.x).min()? as f32;
    let right = chars.iter().map(Rect::right).max()? as f32;
    let lost = PLATE_LEN.saturating_sub(chars.len()) as f32;
    let missing = (5.4 * h - (right - left)).max(0.0) + lost * 0.8 * h;
    let x0 = left - 0.45 * h - missing;
    let x1 = right + 0.45 * h + missing;
    let k = CHAR_HEIGHT as f32 / h;
    let out_w = ((x1 - x0) * k).round().max(1.0) as u32;
    let out_h = (h * 1.6 * k).round() as u32;
    let top_at = |x: f32| my + slope * (x - mx) - 0.8 * h;
    let mut out = GrayImage::new(out_w, out_h);
    let (w, hh) = (gray.width() as f32, gray.height() as f32);
    // Beyond the photo's edge there is nothing to see: the edge's pixels repeated would smear
    // a character cut by the edge into a bar, so they are painted the row's median (its
    // background) instead.
    let mut outside = Vec::new();
    let mut histogram = [0u32; 256];
    for v in 0..out_h {
        for u in 0..out_w {
            let sx = x0 + u as f32 / k;
            let sy = top_at(sx) + v as f32 / k;
            let p = bilinear(gray, sx.clamp(0.0, w - 1.0), sy.clamp(0.0, hh - 1.0));
            let p = if candidate.dark { p } else { 255 - p };
            if (0.0..=w - 1.0).contains(&sx) && (0.0..=hh - 1.0).contains(&sy) {
                histogram[usize::from(p)] += 1;
            } else {
                outside.push((u, v));
            }
            out.put_pixel(u, v, Luma([p]));
        }
    }
    if !outside.is_empty() {
        let half = histogram.iter().sum::<u32>() / 2;
        let mut seen = 0;
        let median = histogram
            .iter()
            .position(|&n| {
                seen += n;
                seen > half
            })
            .unwrap_or(255) as u8;
        for (u, v) in outside {
            out.put_pixel(u, v, Luma([median]));
        }
    }
    Some(out)
}

fn bilinear(img: &GrayImage, x: f32, y: f32) -> u8 {
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let x1 = (x0 + 1).min(img.width() - 1);
    let y1 = (y0 + 1).min(img.height() - 1);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x, y| f32::from(img.get_pixel(x, y).0[0]);
    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
    let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
    (top * (1.0 - fy) + bottom * fy).round() as u8
}

/// Splits the rectified row into its characters: blobs of character height, left to right,
/// merged when one character broke in two and split when two touch.
pub fn segment(strip: &GrayImage) -> (Vec<Rect>, binary::Mask) {
    let integral = binary::Integral::new(strip);
    let mut mask = binary::adaptive(strip, &integral, CHAR_HEIGHT * 3 / 4, 4, true);
    let mid = strip.height() as f32 / 2.0;
    let (keep_from, keep_to) = clip_to_band(&mut mask, mid);
    let mut parts: Vec<Blob> = binary::blobs(&mask)
        .into_iter()
        .filter(|b| {
            let h = b.rect.h as f32;
            // A bar cut at both edges of the band went on beyond it: the plate's frame.
            let frame =
                b.rect.y <= keep_from && b.rect.bottom() >= keep_to && (b.rect.w as f32) < 0.35 * h;
            !frame
                && h >= CHAR_HEIGHT as f32 * 0.35
                && h <= CHAR_HEIGHT as f32 * 1.3
                && (b.cy() - mid).abs() < CHAR_HEIGHT as f32 * 0.4
                && b.rect.x > 0
                && b.rect.right() < strip.width()
        })
        .collect();
    parts.sort_by_key(|b| b.rect.x);
    // Merge pieces that overlap horizontally (a broken stroke).
    let mut merged: Vec<Rect> = Vec::new();
    for b in parts {
        if let Some(last) = merged.last_mut() {
            let overlap = last.right().min(b.rect.right()) as i64 - b.rect.x as i64;
            if overlap > (b.rect.w.min(last.w) as i64) / 2 {
                let x = last.x.min(b.rect.x);
                let y = last.y.min(b.rect.y);
                let r = last.right().max(b.rect.right());
                let bo = last.bottom().max(b.rect.bottom());
                *last = Rect {
                    x,
                    y,
                    w: r - x,
                    h: bo - y,
                };
                continue;
            }
        }
        merged.push(b.rect);
    }
    let tall: Vec<Rect> = merged
        .into_iter()
        .filter(|r| r.h as f32 >= CHAR_HEIGHT as f32 * 0.7)
        .collect();
    // A bar much thinner than the row's strokes is a frame edge or a shadow line, not a 1 or an
    // I: plate characters are drawn with one pen.
    let pen = stroke_width(&mask, &tall);
    let tall: Vec<Rect> = tall
        .into_iter()
        .filter(|r| {
            let bar = (r.w as f32) < 0.3 * r.h as f32;
            !(bar && pen.is_some_and(|pen| median_run(&mask, &[r]).unwrap_or(0.0) < 0.55 * pen))
        })
        .collect();
    let mut out = Vec::new();
    for r in tall {
        // Two characters touching: split at the thinnest column near the middle.
        if r.w as f32 > r.h as f32 * 1.0 {
            let pieces = ((r.w as f32 / (r.h as f32 * 0.62)).round() as u32).max(2);
            let step = r.w / pieces;
            let mut start = r.x;
            for p in 1..pieces {
                let guess = r.x + p * step;
                let cut =
                    thinnest_column(&mask, &r, guess.saturating_sub(step / 4), guess + step / 4);
                out.push(Rect {
                    x: start,
                    y: r.y,
                    w: cut.saturating_sub(start).max(1),
                    h: r.h,
                });
                start = cut;
            }
            out.push(Rect {
                x: start,
                y: r.y,
                w: r.right().saturating_sub(start).max(1),
                h: r.h,
            });
        } else {
            out.push(r);
        }
    }
    (out, mask)
}

/// Clears the mask above and below the character band. The plate's frame, its bolts and the
/// city line often touch a character; cut off there, the character stands alone again.
/// Returns the rows kept, `[from, to)`.
fn clip_to_band(mask: &mut binary::Mask, mid: f32) -> (u32, u32) {
    let ch = CHAR_HEIGHT as f32;
    let mut tops = Vec::new();
    let mut bottoms = Vec::new();
    for b in binary::blobs(mask) {
        let h = b.rect.h as f32;
        if (0.75 * ch..=1.25 * ch).contains(&h) && (b.cy() - mid).abs() < 0.3 * ch {
            tops.push(b.rect.y);
            bottoms.push(b.rect.bottom());
        }
    }
    let (top, bottom) = if tops.len() >= 3 {
        tops.sort_unstable();
        bottoms.sort_unstable();
        (tops[tops.len() / 2], bottoms[bottoms.len() / 2])
    } else {
        ((mid - 0.5 * ch) as u32, (mid + 0.5 * ch) as u32)
    };
    let margin = CHAR_HEIGHT / 16;
    let (keep_from, keep_to) = (top.saturating_sub(margin), bottom + margin);
    for y in 0..mask.height {
        if y < keep_from || y >= keep_to {
            let row = (y * mask.width) as usize;
            mask.bits[row..row + mask.width as usize].fill(false);
        }
    }
    let keep_to = keep_to.min(mask.height);
    // A column inked across the whole band and its margins belongs to no character (their
    // tops and bottoms sit inside the margins): it is the frame, often touching the first or
    // last character, which would then read as D for O or B for 8. Clear it.
    let span = keep_to.saturating_sub(keep_from);
    for x in 0..mask.width {
        let ink = (keep_from..keep_to).filter(|&y| mask.get(x, y)).count() as u32;
        if span > 0 && ink + 1 >= span && mask.get(x, keep_from) && mask.get(x, keep_to - 1) {
            for y in keep_from..keep_to {
                mask.bits[(y * mask.width + x) as usize] = false;
            }
        }
    }
    (keep_from, keep_to)
}

/// Weight of Tesseract's reading against our classifier's when both have a say.
const TESSERACT_WEIGHT: f32 = 0.6;
/// The same on a plate whose blue band marks it Mercosul: Tesseract's `eng` model has never
/// seen the FE-Schrift shapes (it reads their W as V, Y as V or N), while the classifier is
/// trained on our drawing of them. Chosen on rendered scenes of a tuning seed range (see
/// `assets/ocr/README.md`), never on the benchmark photos (which hold no Mercosul plate).
const MERCOSUL_TESSERACT_WEIGHT: f32 = 0.3;

/// Tesseract's weight for a plate of the format the colours showed.
fn tesseract_weight(hint: Option<PlateFormat>) -> f32 {
    match hint {
        Some(PlateFormat::Mercosul) => MERCOSUL_TESSERACT_WEIGHT,
        _ => TESSERACT_WEIGHT,
    }
}

/// One position's options: Tesseract's reading and the classifier's probabilities, mixed.
/// Tesseract knows many typefaces; the classifier always has an opinion about every symbol,
/// so a position never ends up empty and look-alikes keep their second choice. Where the
/// position's class rules a symbol out, its score goes to the look-alike the class allows
/// (a 0 seen where a letter must be is evidence of an O, not of nothing).
fn fuse(
    tesseract: &[Symbol],
    probabilities: &[f32; 36],
    class: CharClass,
    weight: f32,
) -> Position {
    let fold = |c: char| decode::fold(class, c);
    let index = |c: char| CLASSES.iter().position(|&k| char::from(k) == c);
    let mut scores = [0.0f32; 36];
    for (&c, &p) in CLASSES.iter().zip(probabilities) {
        let (c, folded) = (char::from(c), fold(char::from(c)));
        if let Some(i) = index(folded) {
            scores[i] += (1.0 - weight) * p * decode::substitution_weight(c, folded);
        }
    }
    // Tesseract's readings (the group's and the lone one) share its weight. Each reading
    // scores the LSTM's alternatives too; alternatives the class folds together (0, O and Q
    // where a digit must be) count once, at the best of them, so no score passes its weight.
    for symbol in tesseract {
        let mut reading = [0.0f32; 36];
        for (c, s) in symbol.scores() {
            let folded = fold(c);
            if let Some(i) = index(folded) {
                reading[i] = reading[i].max(s * decode::substitution_weight(c, folded));
            }
        }
        for (score, r) in scores.iter_mut().zip(reading) {
            *score += weight / tesseract.len() as f32 * r;
        }
    }
    let mut options: Vec<(char, f32)> = CLASSES
        .iter()
        .zip(scores)
        .map(|(&c, s)| (char::from(c), s))
        .collect();
    options.sort_by(|a, b| b.1.total_cmp(&a.1));
    Position { options }
}

/// Whether a character's cut is a plain bar: narrow and almost solid.
fn is_bar(mask: &binary::Mask, r: &Rect) -> bool {
    if r.w * 2 > r.h {
        return false;
    }
    let ink = (r.y..r.bottom())
        .flat_map(|y| (r.x..r.right()).map(move |x| (x, y)))
        .filter(|&(x, y)| mask.get(x, y))
        .count();
    ink as f32 >= 0.85 * (r.w * r.h) as f32
}

fn ink_runs(mask: &binary::Mask, r: &Rect) -> Vec<u32> {
    let mut runs = Vec::new();
    for y in r.y + r.h / 4..r.y + r.h * 3 / 4 {
        let mut run = 0;
        for x in r.x..r.right() {
            if mask.get(x, y) {
                run += 1;
            } else if run > 0 {
                runs.push(run);
                run = 0;
            }
        }
        if run > 0 {
            runs.push(run);
        }
    }
    runs
}

/// The row's pen width: the median ink run across its wider characters, when there are
/// enough of them to tell.
fn stroke_width(mask: &binary::Mask, chars: &[Rect]) -> Option<f32> {
    let wide: Vec<&Rect> = chars
        .iter()
        .filter(|r| r.w as f32 >= 0.35 * r.h as f32)
        .collect();
    if wide.len() < 3 {
        return None;
    }
    median_run(mask, &wide)
}

/// Median length of the horizontal ink runs across the middle halves of `rects`.
fn median_run(mask: &binary::Mask, rects: &[&Rect]) -> Option<f32> {
    let mut runs: Vec<u32> = rects.iter().flat_map(|r| ink_runs(mask, r)).collect();
    runs.sort_unstable();
    runs.get(runs.len() / 2).map(|&r| r as f32)
}

fn thinnest_column(mask: &binary::Mask, r: &Rect, from: u32, to: u32) -> u32 {
    let mut best = (u32::MAX, from);
    for x in from..to.min(r.right()) {
        let count = (r.y..r.bottom()).filter(|&y| mask.get(x, y)).count() as u32;
        if count < best.0 {
            best = (count, x);
        }
    }
    best.1
}

/// Where the seven most plate-like consecutive characters start: equal heights, steady
/// spacing (with the wider gap after the letters of a grey plate, or none on a Mercosul one),
/// a plate's width.
fn pick_seven(chars: &[Rect]) -> Option<usize> {
    if chars.len() < PLATE_LEN {
        return None;
    }
    let mut best: Option<(f32, usize)> = None;
    for start in 0..=chars.len() - PLATE_LEN {
        let win = &chars[start..start + PLATE_LEN];
        let h = median_height(win) as f32;
        let spread: f32 = win.iter().map(|r| (r.h as f32 - h).abs()).sum::<f32>() / h;
        let width = (win[PLATE_LEN - 1].right() - win[0].x) as f32 / h;
        // Centre-to-centre steps: all alike except, on grey plates, the one over the separator.
        let steps: Vec<f32> = win
            .windows(2)
            .map(|p| {
                (p[1].x as f32 + p[1].w as f32 / 2.0 - p[0].x as f32 - p[0].w as f32 / 2.0) / h
            })
            .collect();
        let others: Vec<f32> = steps
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, s)| *s)
            .collect();
        let mean = others.iter().sum::<f32>() / others.len() as f32;
        let uneven = others.iter().map(|s| (s - mean).abs()).sum::<f32>() / others.len() as f32;
        // The separator step may be wider than the rest, never narrower.
        let narrow_gap = (mean - steps[2]).max(0.0);
        let cost = spread + (width / 5.2).ln().abs() * 3.0 + uneven * 4.0 + narrow_gap * 4.0;
        if best.is_none_or(|(c, _)| cost < c) {
            best = Some((cost, start));
        }
    }
    best.map(|(_, start)| start)
}

/// Whether the row goes on beyond the seven of `chars` from `start` with another character
/// of the same height at the same pitch: seven characters out of a longer line of text, such
/// as a dealer's name on the plate frame, not a plate.
fn runs_on(chars: &[Rect], start: usize) -> bool {
    let seven = &chars[start..start + PLATE_LEN];
    let h = median_height(seven) as f32;
    let centre = |r: &Rect| r.x as f32 + r.w as f32 / 2.0;
    let mut steps: Vec<f32> = seven
        .windows(2)
        .map(|p| centre(&p[1]) - centre(&p[0]))
        .collect();
    steps.sort_by(f32::total_cmp);
    let pitch = steps[steps.len() / 2];
    let alike = |a: &Rect, b: &Rect| {
        let step = (centre(b) - centre(a)).abs();
        (a.h as f32 - h).abs() < 0.15 * h
            && (b.h as f32 - h).abs() < 0.15 * h
            && (0.75 * pitch..1.3 * pitch).contains(&step)
            && (a.w as f32) > 0.3 * h
    };
    let before = start.checked_sub(1).map(|i| &chars[i]);
    let after = chars.get(start + PLATE_LEN);
    before.is_some_and(|b| alike(b, &seven[0]))
        || after.is_some_and(|a| alike(a, &seven[PLATE_LEN - 1]))
}

/// A piece of a cut smaller than this share of its largest piece is a speck, not a stroke.
const SPECK: f32 = 0.05;

/// One character, cut from the mask, as a clean black-on-white glyph with margins.
/// Only the character's own pieces are kept: the largest blob in the cut and those above or
/// below it (a broken stroke); bits of the frame, bolts and neighbours beside it are dropped,
/// and so are specks, even inside the character's box: beside an O a speck reads as the tail
/// of a Q, beside a V as the stem of an N.
fn glyph(mask: &binary::Mask, r: &Rect) -> GrayImage {
    let pad = 6;
    let local = binary::Mask {
        width: r.w,
        height: r.h,
        bits: (0..r.h)
            .flat_map(|y| (0..r.w).map(move |x| (x, y)))
            .map(|(x, y)| mask.get(r.x + x, r.y + y))
            .collect(),
    };
    let (pieces, label) = binary::labelled(&local);
    let mut out = GrayImage::from_pixel(r.w + 2 * pad, r.h + 2 * pad, Luma([255]));
    let Some(main) = pieces.iter().max_by_key(|b| b.area).copied() else {
        return out;
    };
    let keep: Vec<bool> = pieces
        .iter()
        .map(|p| {
            let cx = p.rect.x + p.rect.w / 2;
            p.area as f32 >= SPECK * main.area as f32 && cx >= main.rect.x && cx < main.rect.right()
        })
        .collect();
    for y in 0..r.h {
        for x in 0..r.w {
            let id = label[(y * r.w + x) as usize];
            if id > 0 && keep[id as usize - 1] {
                out.put_pixel(x + pad, y + pad, Luma([0]));
            }
        }
    }
    out
}

/// Glyphs laid side by side on white, evenly spaced, and the columns each one spans.
fn line(glyphs: &[GrayImage]) -> (GrayImage, Vec<(u32, u32)>) {
    let pad = 10;
    let gap = 4;
    let w = glyphs.iter().map(|g| g.width() + gap).sum::<u32>() + 2 * pad;
    let h = glyphs.iter().map(GrayImage::height).max().unwrap_or(1) + 2 * pad;
    let mut out = GrayImage::from_pixel(w, h, Luma([255]));
    let mut spans = Vec::with_capacity(glyphs.len());
    let mut x = pad;
    for g in glyphs {
        let y = (h - g.height()) / 2;
        image::imageops::replace(&mut out, g, i64::from(x), i64::from(y));
        spans.push((x, x + g.width()));
        x += g.width() + gap;
    }
    (out, spans)
}

/// Tesseract's symbols for a line of glyphs, each placed on the glyph its box falls on. A
/// glyph it skipped, merged with a neighbour or split in two gets nothing, and the others
/// keep their readings.
fn read_line<R: Recognizer>(
    engine: &mut R,
    glyphs: &[GrayImage],
    whitelist: &str,
) -> Result<Vec<Option<Symbol>>, OcrError> {
    let (image, spans) = line(glyphs);
    Ok(place(engine.read(&image, Layout::Line, whitelist)?, &spans))
}

/// Puts each symbol on the glyph (of those spanning `spans`) that its box covers.
fn place(symbols: Vec<Symbol>, spans: &[(u32, u32)]) -> Vec<Option<Symbol>> {
    if symbols.iter().any(|s| s.columns.is_none()) {
        // No boxes: only a reading of the right length can be placed.
        return if symbols.len() == spans.len() {
            symbols.into_iter().map(Some).collect()
        } else {
            vec![None; spans.len()]
        };
    }
    let mut placed: Vec<Vec<Symbol>> = vec![Vec::new(); spans.len()];
    for symbol in symbols {
        let Some((from, to)) = symbol.columns else {
            continue;
        };
        // The glyph under the symbol's centre, unless the symbol also covers half of another:
        // a merged reading of two glyphs belongs to neither. (A centre in the gap between two
        // glyphs belongs to none.)
        let centre = (from + to) / 2;
        let Some(i) = spans.iter().position(|&(a, b)| (a..b).contains(&centre)) else {
            continue;
        };
        let merged = spans
            .iter()
            .enumerate()
            .any(|(j, &(a, b))| j != i && 2 * to.min(b).saturating_sub(from.max(a)) >= b - a);
        if !merged {
            placed[i].push(symbol);
        }
    }
    placed
        .into_iter()
        .map(|mut on| if on.len() == 1 { on.pop() } else { None })
        .collect()
}

/// The seven characters of a row, cut out as the classifier sees them.
pub struct Cut {
    /// Each character as a black-on-white glyph with margins.
    pub glyphs: Vec<GrayImage>,
    /// Where each one is in the rectified strip.
    pub seven: Vec<Rect>,
    /// The strip's character mask.
    pub mask: binary::Mask,
}

/// Rectifies and segments a candidate row and cuts out its seven characters; `None` when it
/// has no seven that look like a plate's.
pub fn cut(gray: &GrayImage, candidate: &Candidate) -> Option<Cut> {
    let strip = rectify(gray, candidate)?;
    let (chars, mask) = segment(&strip);
    let start = pick_seven(&chars)?;
    if runs_on(&chars, start) {
        return None;
    }
    let seven = chars[start..start + PLATE_LEN].to_vec();
    let glyphs = seven.iter().map(|r| glyph(&mask, r)).collect();
    Some(Cut {
        glyphs,
        seven,
        mask,
    })
}

/// Whether a cut character is a plain bar (an I or a 1 of the grey plates).
pub fn cut_is_bar(cut: &Cut, index: usize) -> bool {
    is_bar(&cut.mask, &cut.seven[index])
}

/// Reads one candidate row; `None` when it does not read as a plate.
pub fn read_row<R: Recognizer>(
    engine: &mut R,
    gray: &GrayImage,
    candidate: &Candidate,
    hint: Option<PlateFormat>,
) -> Result<Option<RowReading>, OcrError> {
    let Some(Cut {
        glyphs,
        seven,
        mask,
    }) = cut(gray, candidate)
    else {
        return Ok(None);
    };
    let seven = &seven[..];
    // Group reads: the three letters, then the four remaining characters.
    let mut group = read_line(engine, &glyphs[..3], LETTER_SHAPES)?;
    group.extend(read_line(engine, &glyphs[3..], ALNUM)?);
    let model = GlyphModel::bundled();
    let mut positions: Vec<Position> = Vec::with_capacity(PLATE_LEN);
    for (i, (g, r)) in glyphs.iter().zip(seven).enumerate() {
        // A plain bar is I or 1, whatever the recognisers make of it (often nothing at all).
        if is_bar(&mask, r) {
            positions.push(Position {
                options: vec![('1', 0.9), ('I', 0.9)],
            });
            continue;
        }
        let class = char_class_at(i, hint).unwrap_or(CharClass::LetterOrDigit);
        let from_group = group[i].take();
        let probabilities = model.classify(g);
        // The classifier's choice as the class allows it, when it has a clear one.
        let choice = CLASSES
            .iter()
            .zip(&probabilities)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .filter(|(_, p)| **p >= 0.5)
            .map(|(&c, _)| decode::fold(class, char::from(c)));
        let tesseract: Vec<Symbol> = match from_group {
            // The group read fits and the classifier does not contradict it.
            Some(s)
                if class.allows(s.char)
                    && s.confidence >= 0.6
                    && choice.is_none_or(|k| k == s.char) =>
            {
                vec![s]
            }
            from_group => {
                // The group read broke the layout, was unsure, or the classifier saw another
                // symbol: a third opinion, Tesseract on this character alone, breaks the tie.
                let whitelist = match class {
                    CharClass::Letter => LETTER_SHAPES,
                    CharClass::Digit => DIGITS,
                    CharClass::LetterOrDigit => ALNUM,
                };
                let lone = engine.read(g, Layout::Char, whitelist)?;
                from_group
                    .into_iter()
                    .chain(lone.into_iter().next())
                    .collect()
            }
        };
        positions.push(fuse(
            &tesseract,
            &probabilities,
            class,
            tesseract_weight(hint),
        ));
    }
    Ok(decode::decode_hinted(&positions, hint).map(|decoded| RowReading { decoded }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The classifier's index of a symbol.
    fn at(c: u8) -> usize {
        CLASSES.iter().position(|&k| k == c).unwrap()
    }

    #[test]
    fn seven_are_picked_from_a_longer_row() {
        let mut chars: Vec<Rect> = (0..7)
            .map(|i| Rect {
                x: 10 + i * 34,
                y: 5,
                w: 28,
                h: 48,
            })
            .collect();
        chars.insert(
            0,
            Rect {
                x: 0,
                y: 5,
                w: 4,
                h: 30,
            },
        );
        chars.push(Rect {
            x: 400,
            y: 0,
            w: 20,
            h: 60,
        });
        let start = pick_seven(&chars).unwrap();
        let seven = &chars[start..start + PLATE_LEN];
        assert_eq!(seven[0].x, 10);
        assert_eq!(seven[6].x, 10 + 6 * 34);
    }

    #[test]
    fn beyond_the_photos_edge_the_strip_is_background_not_the_edge_repeated() {
        // A plate row starting at the photo's left edge, its first character cut by it: a
        // dark column at x 0..4 (what is left of a P's stem), then six characters.
        let mut photo = GrayImage::from_pixel(300, 100, Luma([190]));
        let mut chars = Vec::new();
        for i in 0..7u32 {
            let x0 = if i == 0 { 0 } else { 10 + i * 34 };
            let w = if i == 0 { 5 } else { 24 };
            for y in 26..74 {
                for x in x0..x0 + w {
                    photo.put_pixel(x, y, Luma([30]));
                }
            }
            chars.push(Rect {
                x: x0,
                y: 26,
                w,
                h: 48,
            });
        }
        let candidate = Candidate {
            chars,
            dark: true,
            score: 1.0,
        };
        let strip = rectify(&photo, &candidate).unwrap();
        // The strip starts left of the photo; there it is the plate's grey, and the cut
        // stroke stays a short stroke instead of a bar running to the strip's edge.
        let mid = strip.height() / 2;
        assert!((180..=200).contains(&strip.get_pixel(0, mid).0[0]));
        let dark_run = (0..strip.width())
            .take_while(|&x| strip.get_pixel(x, mid).0[0] > 100)
            .count();
        assert!(dark_run > 10, "background before the stroke: {dark_run} px");
    }

    #[test]
    fn seven_out_of_a_longer_line_are_not_a_plate() {
        let row = |n: u32| -> Vec<Rect> {
            (0..n)
                .map(|i| Rect {
                    x: 10 + i * 34,
                    y: 5,
                    w: 26,
                    h: 48,
                })
                .collect()
        };
        // "DE FREITAS" on a dealer's plate frame: nine letters of one size and pitch.
        let text = row(9);
        assert!(runs_on(&text, pick_seven(&text).unwrap()));
        // A plate: seven, then a bolt (short) and the frame's edge (narrow).
        let mut plate = row(7);
        plate.push(Rect {
            x: 10 + 7 * 34,
            y: 20,
            w: 20,
            h: 20,
        });
        plate.insert(
            0,
            Rect {
                x: 0,
                y: 5,
                w: 4,
                h: 48,
            },
        );
        assert!(!runs_on(&plate, pick_seven(&plate).unwrap()));
    }

    #[test]
    fn fusion_keeps_every_symbol_and_prefers_agreement() {
        let mut p = [0.0f32; 36];
        p[at(b'D')] = 0.7;
        p[at(b'O')] = 0.3;
        // Tesseract saw O: together they outweigh the classifier's D.
        let fused = fuse(
            &[Symbol::new('O', 0.9)],
            &p,
            CharClass::LetterOrDigit,
            TESSERACT_WEIGHT,
        );
        assert_eq!(fused.options.len(), 36);
        assert_eq!(fused.options[0].0, 'O');
        // Tesseract saw nothing: the classifier alone decides.
        assert_eq!(
            fuse(&[], &p, CharClass::LetterOrDigit, TESSERACT_WEIGHT).options[0].0,
            'D'
        );
    }

    #[test]
    fn a_lone_read_that_sides_with_the_classifier_outweighs_the_group_read() {
        let mut p = [0.0f32; 36];
        p[at(b'V')] = 1.0;
        // The group read alone, sure of an N, outweighs the classifier's V…
        let group_only = fuse(
            &[Symbol::new('N', 0.99)],
            &p,
            CharClass::Letter,
            TESSERACT_WEIGHT,
        );
        assert_eq!(group_only.options[0].0, 'N');
        // …but not once Tesseract, shown the character alone, also saw a V.
        let with_lone = fuse(
            &[Symbol::new('N', 0.99), Symbol::new('V', 0.9)],
            &p,
            CharClass::Letter,
            TESSERACT_WEIGHT,
        );
        assert_eq!(with_lone.options[0].0, 'V');
    }

    #[test]
    fn alternatives_folded_together_count_once() {
        // Where a digit must be, Tesseract's 0 and its O and Q alternatives are all a 0: the
        // 0 scores as the best of them, and no option scores more than both weights.
        let mut p = [0.0f32; 36];
        p[at(b'0')] = 1.0;
        let symbol = Symbol {
            alternatives: vec![('0', 0.95), ('O', 0.9), ('Q', 0.8)],
            ..Symbol::new('0', 1.0)
        };
        let fused = fuse(&[symbol], &p, CharClass::Digit, TESSERACT_WEIGHT);
        assert_eq!(fused.options[0].0, '0');
        assert!(fused.options[0].1 <= 1.0 + 1e-6, "{:?}", fused.options[0]);
    }

    #[test]
    fn a_torn_tesseract_reading_weighs_as_much_as_its_doubt() {
        // The classifier sees the plate's O (drawn as its 0); Tesseract chose Q, but its LSTM
        // weighed O almost as much.
        let mut p = [0.0f32; 36];
        p[at(b'0')] = 0.5;
        p[at(b'O')] = 0.43;
        p[at(b'Q')] = 0.07;
        let torn = Symbol {
            alternatives: vec![('Q', 0.89), ('O', 0.40), ('X', 0.0)],
            ..Symbol::new('Q', 0.98)
        };
        assert_eq!(
            fuse(&[torn], &p, CharClass::Letter, TESSERACT_WEIGHT).options[0].0,
            'O'
        );
        // The same Q with no doubt voiced outweighs the classifier.
        let sure = Symbol::new('Q', 0.98);
        assert_eq!(
            fuse(&[sure], &p, CharClass::Letter, TESSERACT_WEIGHT).options[0].0,
            'Q'
        );
    }

    #[test]
    fn symbols_go_to_the_glyph_their_box_covers() {
        let spans = [(10, 40), (44, 74), (78, 108), (112, 130)];
        let at = |c: char, from: u32, to: u32| Symbol {
            columns: Some((from, to)),
            ..Symbol::new(c, 0.9)
        };
        // The third glyph skipped, the last two read as one: the first two keep their
        // readings, the others get none.
        let placed = place(
            vec![at('9', 12, 39), at('7', 46, 72), at('4', 80, 129)],
            &spans,
        );
        let chars: Vec<Option<char>> = placed.iter().map(|s| s.as_ref().map(|s| s.char)).collect();
        assert_eq!(chars, vec![Some('9'), Some('7'), None, None]);
        // A narrow symbol (a 1 in its padded glyph) is placed by its centre; a glyph read as
        // two symbols is in doubt.
        let placed = place(vec![at('1', 52, 60)], &spans);
        assert_eq!(placed[1].as_ref().map(|s| s.char), Some('1'));
        let placed = place(
            vec![at('1', 10, 22), at('1', 26, 40), at('2', 45, 70)],
            &spans,
        );
        assert!(placed[0].is_none());
        assert_eq!(placed[1].as_ref().map(|s| s.char), Some('2'));
        // Without boxes, only a reading of the right length is placed, in order.
        let plain = vec![Symbol::new('A', 0.9); 4];
        assert!(place(plain.clone(), &spans).iter().all(Option::is_some));
        assert!(
            place(plain[..3].to_vec(), &spans)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn specks_inside_a_characters_box_are_dropped() {
        // A ring with a detached 2×6 speck inside its box (the corner beside a slanted O)
        // and a broken-off piece of stroke below it.
        let (w, h) = (40, 60);
        let mut mask = binary::Mask {
            width: w,
            height: h,
            bits: vec![false; (w * h) as usize],
        };
        let mut ink = |x: u32, y: u32| mask.bits[(y * w + x) as usize] = true;
        for y in 5..45 {
            for x in 5..30 {
                if !(11..24).contains(&x) || !(11..39).contains(&y) {
                    ink(x, y);
                }
            }
        }
        for y in 48..55 {
            for x in 10..25 {
                ink(x, y);
            }
        }
        for y in 47..53 {
            for x in 27..29 {
                ink(x, y);
            }
        }
        let r = Rect { x: 0, y: 0, w, h };
        let g = glyph(&mask, &r);
        let black = |x: u32, y: u32| g.get_pixel(x + 6, y + 6).0[0] == 0;
        assert!(black(5, 5) && black(12, 50), "the ring and its piece stay");
        assert!(!black(27, 50), "the speck is gone");
    }

    #[test]
    fn a_symbol_the_class_rules_out_counts_for_its_look_alike() {
        // The classifier hesitates between 0 and O where a letter must be: it is an O, and
        // a Q that Tesseract saw alone no longer outweighs it.
        let mut p = [0.0f32; 36];
        p[at(b'0')] = 0.6;
        p[at(b'O')] = 0.4;
        let fused = fuse(
            &[Symbol::new('Q', 0.5)],
            &p,
            CharClass::Letter,
            TESSERACT_WEIGHT,
        );
        assert_eq!(fused.options[0].0, 'O');
        // Without the class rule, the same scores leave the 0 ahead of the O.
        let free = fuse(&[], &p, CharClass::LetterOrDigit, TESSERACT_WEIGHT);
        assert_eq!(free.options[0].0, '0');
        // Tesseract's 8 where a letter must be is a weaker B than the classifier's sure S.
        let mut p = [0.0f32; 36];
        p[at(b'S')] = 1.0;
        let fused = fuse(
            &[Symbol::new('8', 0.67)],
            &p,
            CharClass::Letter,
            TESSERACT_WEIGHT,
        );
        assert_eq!(fused.options[0].0, 'S');
    }

    #[test]
    fn a_solid_narrow_cut_is_a_bar() {
        let mut strip = GrayImage::from_pixel(100, 80, Luma([230]));
        for y in 16..64 {
            for x in 20..30 {
                strip.put_pixel(x, y, Luma([10]));
            }
            // A ring: as narrow, but hollow.
            for x in 60..76 {
                if !(64..72).contains(&x) || !(22..=57).contains(&y) {
                    strip.put_pixel(x, y, Luma([10]));
                }
            }
        }
        let mask = binary::global(&strip, 128, true);
        let bar = Rect {
            x: 20,
            y: 16,
            w: 10,
            h: 48,
        };
        let ring = Rect {
            x: 60,
            y: 16,
            w: 16,
            h: 48,
        };
        assert!(is_bar(&mask, &bar));
        assert!(!is_bar(&mask, &ring));
    }

    #[test]
    fn the_frame_is_cut_away_from_a_character_it_touches() {
        // A character-sized block with a frame line touching it on the left, running from
        // top to bottom of the strip: after segmentation only the character remains.
        let (w, h) = (240, 77);
        let mut strip = GrayImage::from_pixel(w, h, Luma([220]));
        let top = 38 - CHAR_HEIGHT / 2;
        for y in 0..h {
            for x in 8..11 {
                strip.put_pixel(x, y, Luma([15]));
            }
        }
        for i in 0..4 {
            let x0 = 11 + i * 50;
            for y in top..top + CHAR_HEIGHT {
                for x in x0..x0 + 28 {
                    let hole = (x0 + 8..x0 + 20).contains(&x) && (top + 10..top + 38).contains(&y);
                    if !hole {
                        strip.put_pixel(x, y, Luma([15]));
                    }
                }
            }
        }
        let (chars, _) = segment(&strip);
        assert_eq!(chars.len(), 4, "{chars:?}");
        assert!(chars[0].x >= 10 && chars[0].w <= 30, "{:?}", chars[0]);
    }

    #[test]
    fn a_bar_thinner_than_the_pen_is_not_a_character() {
        // Four characters drawn with a 7 px pen (rings), a 1 of the same pen, and a 2 px
        // line of character height beside them: the frame's edge.
        let mut strip = GrayImage::from_pixel(300, 80, Luma([225]));
        let (top, bottom) = (16, 16 + CHAR_HEIGHT);
        for y in top..bottom {
            for i in 0..4 {
                let x0 = 20 + i * 40;
                for x in x0..x0 + 28 {
                    let hole = (x0 + 7..x0 + 21).contains(&x) && (top + 7..bottom - 7).contains(&y);
                    if !hole {
                        strip.put_pixel(x, y, Luma([15]));
                    }
                }
            }
            for x in 190..197 {
                strip.put_pixel(x, y, Luma([15]));
            }
            for x in 230..232 {
                strip.put_pixel(x, y, Luma([15]));
            }
        }
        let (chars, _) = segment(&strip);
        assert_eq!(chars.len(), 5, "{chars:?}");
        assert!(
            chars.iter().any(|r| r.x >= 188 && r.right() <= 199),
            "{chars:?}"
        );
        assert!(chars.iter().all(|r| r.x < 225), "{chars:?}");
    }

    #[test]
    fn segmentation_splits_touching_characters() {
        let mut strip = GrayImage::from_pixel(200, 80, Luma([220]));
        // Two bars joined into one blob 64 px wide and 48 tall, and one lone bar.
        for y in 16..64 {
            for x in 20..84 {
                if !(50..54).contains(&x) || y < 20 {
                    strip.put_pixel(x, y, Luma([20]));
                }
            }
            for x in 120..150 {
                strip.put_pixel(x, y, Luma([20]));
            }
        }
        let (chars, _) = segment(&strip);
        assert_eq!(chars.len(), 3, "{chars:?}");
        assert!(chars[0].right() <= 54 && chars[1].x >= 48);
    }
}
