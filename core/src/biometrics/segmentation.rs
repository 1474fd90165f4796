//! Foreground segmentation: which 8×8 blocks hold ridges. A block is print when its grey-level
//! spread and its orientation coherence are both high for this image; the mask is then cleaned
//! (majority filter, largest region, holes filled) and each block gets its distance to the
//! background, so minutiae on the print's edge can be dropped.

use super::image::GrayImage;
use super::orientation::{BLOCK, OrientationField, integral, rect};

/// Foreground blocks of one image.
#[derive(Debug, Clone)]
pub struct Mask {
    /// Blocks across.
    pub bw: usize,
    /// Blocks down.
    pub bh: usize,
    /// `true` where the block is print.
    pub fg: Vec<bool>,
    /// Distance in blocks from each block to the nearest background block (0 = background).
    pub depth: Vec<u16>,
    /// Local grey mean per block (16×16 window).
    pub mean: Vec<f32>,
    /// Local grey standard deviation per block (16×16 window).
    pub std: Vec<f32>,
}

impl Mask {
    /// Blocks from pixel (x, y) to the background.
    pub fn depth_at(&self, x: f32, y: f32) -> u16 {
        if x < 0.0 || y < 0.0 {
            return 0;
        }
        let (bx, by) = (x as usize / BLOCK, y as usize / BLOCK);
        if bx >= self.bw || by >= self.bh {
            return 0;
        }
        self.depth[by * self.bw + bx]
    }

    /// Share of the image that is print, `0..=1`.
    pub fn coverage(&self) -> f32 {
        self.fg.iter().filter(|&&f| f).count() as f32 / self.fg.len().max(1) as f32
    }
}

/// Segments `img` given its orientation field.
pub fn segment(img: &GrayImage, field: &OrientationField) -> Mask {
    let (w, h) = (img.width, img.height);
    let (bw, bh) = (field.bw, field.bh);
    let v: Vec<f32> = img.pixels.iter().map(|&p| f32::from(p)).collect();
    let v2: Vec<f32> = v.iter().map(|p| p * p).collect();
    let s1 = integral(&v, w, h);
    let s2 = integral(&v2, w, h);
    let n = bw * bh;
    let mut mean = vec![0f32; n];
    let mut std = vec![0f32; n];
    for by in 0..bh {
        for bx in 0..bw {
            let x0 = (bx * BLOCK).saturating_sub(BLOCK / 2);
            let y0 = (by * BLOCK).saturating_sub(BLOCK / 2);
            let x1 = (bx * BLOCK + BLOCK + BLOCK / 2).min(w);
            let y1 = (by * BLOCK + BLOCK + BLOCK / 2).min(h);
            let count = ((x1 - x0) * (y1 - y0)) as f64;
            let m = rect(&s1, w, x0, y0, x1, y1) / count;
            let var = (rect(&s2, w, x0, y0, x1, y1) / count - m * m).max(0.0);
            mean[by * bw + bx] = m as f32;
            std[by * bw + bx] = var.sqrt() as f32;
        }
    }
    // Thresholds relative to this image, so dry and wet prints both segment.
    let mut sorted = std.clone();
    sorted.sort_by(f32::total_cmp);
    let high = sorted[(sorted.len() - 1) * 95 / 100];
    let std_min = (0.25 * high).max(4.0);
    let mut fg: Vec<bool> = (0..n)
        .map(|i| std[i] > std_min && field.coherence[i] > 0.2)
        .collect();
    for _ in 0..2 {
        fg = majority(&fg, bw, bh);
    }
    fg = largest_region(&fg, bw, bh);
    fill_holes(&mut fg, bw, bh);
    let depth = distance(&fg, bw, bh);
    Mask {
        bw,
        bh,
        fg,
        depth,
        mean,
        std,
    }
}

fn majority(fg: &[bool], bw: usize, bh: usize) -> Vec<bool> {
    let mut out = vec![false; fg.len()];
    for y in 0..bh {
        for x in 0..bw {
            let mut on = 0;
            let mut all = 0;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < bw && (ny as usize) < bh {
                        all += 1;
                        on += usize::from(fg[ny as usize * bw + nx as usize]);
                    }
                }
            }
            out[y * bw + x] = on * 2 > all;
        }
    }
    out
}

fn neighbours4(i: usize, bw: usize, bh: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % bw, i / bw);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < bw).then(|| i + 1),
        (y > 0).then(|| i - bw),
        (y + 1 < bh).then(|| i + bw),
    ]
    .into_iter()
    .flatten()
}

fn largest_region(fg: &[bool], bw: usize, bh: usize) -> Vec<bool> {
    let mut label = vec![0u32; fg.len()];
    let mut best = (0u32, 0usize);
    let mut next = 0u32;
    for start in 0..fg.len() {
        if !fg[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        let mut stack = vec![start];
        label[start] = next;
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            for j in neighbours4(i, bw, bh) {
                if fg[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if size > best.1 {
            best = (next, size);
        }
    }
    label.iter().map(|&l| l != 0 && l == best.0).collect()
}

fn fill_holes(fg: &mut [bool], bw: usize, bh: usize) {
    let mut outside = vec![false; fg.len()];
    let mut stack: Vec<usize> = (0..fg.len())
        .filter(|&i| {
            let (x, y) = (i % bw, i / bw);
            !fg[i] && (x == 0 || y == 0 || x + 1 == bw || y + 1 == bh)
        })
        .collect();
    for &i in &stack {
        outside[i] = true;
    }
    while let Some(i) = stack.pop() {
        for j in neighbours4(i, bw, bh) {
            if !fg[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        }
    }
    for i in 0..fg.len() {
        fg[i] = !outside[i];
    }
}

/// City-block distance to the background, counting the image edge as background.
fn distance(fg: &[bool], bw: usize, bh: usize) -> Vec<u16> {
    let mut d: Vec<u16> = fg.iter().map(|&f| if f { u16::MAX } else { 0 }).collect();
    for y in 0..bh {
        for x in 0..bw {
            let i = y * bw + x;
            if d[i] == 0 {
                continue;
            }
            let up = if y == 0 { 0 } else { d[i - bw] };
            let left = if x == 0 { 0 } else { d[i - 1] };
            d[i] = d[i].min(up.saturating_add(1)).min(left.saturating_add(1));
        }
    }
    for y in (0..bh).rev() {
        for x in (0..bw).rev() {
            let i = y * bw + x;
            if d[i] == 0 {
                continue;
            }
            let down = if y + 1 == bh { 0 } else { d[i + bw] };
            let right = if x + 1 == bw { 0 } else { d[i + 1] };
            d[i] = d[i]
                .min(down.saturating_add(1))
                .min(right.saturating_add(1));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biometrics::orientation;

    #[test]
    fn print_in_the_middle_is_foreground_and_blank_edges_are_not() {
        let img = GrayImage::synthetic(160, 200, 7, (0.0, 0.0));
        let field = orientation::estimate(&img);
        let mask = segment(&img, &field);
        assert!(mask.depth_at(80.0, 100.0) >= 3);
        assert_eq!(mask.depth_at(2.0, 2.0), 0);
        let c = mask.coverage();
        assert!(c > 0.3 && c < 0.9, "coverage {c}");
    }
}
