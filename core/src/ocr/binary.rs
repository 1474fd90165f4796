//! Binarisation and connected components: the low-level pieces the locator and the reader share.

use image::GrayImage;

/// An axis-aligned box in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    /// Right edge (exclusive).
    pub fn right(&self) -> u32 {
        self.x + self.w
    }
    /// Bottom edge (exclusive).
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }
    /// Intersection over union with another box.
    pub fn iou(&self, other: &Rect) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = self.right().min(other.right());
        let y1 = self.bottom().min(other.bottom());
        if x1 <= x0 || y1 <= y0 {
            return 0.0;
        }
        let inter = ((x1 - x0) * (y1 - y0)) as f32;
        let union = (self.w * self.h + other.w * other.h) as f32 - inter;
        inter / union
    }
}

/// One connected blob of foreground pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// Bounding box.
    pub rect: Rect,
    /// Number of pixels.
    pub area: u32,
}

impl Blob {
    /// Vertical centre.
    pub fn cy(&self) -> f32 {
        self.rect.y as f32 + self.rect.h as f32 / 2.0
    }
    /// Fraction of the box that is foreground.
    pub fn fill(&self) -> f32 {
        self.area as f32 / (self.rect.w * self.rect.h).max(1) as f32
    }
}

/// Summed-area table of a grey image, for local means in constant time.
pub struct Integral {
    width: usize,
    sums: Vec<u32>,
}

impl Integral {
    /// Builds the table.
    pub fn new(image: &GrayImage) -> Integral {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let stride = w + 1;
        let mut sums = vec![0u32; stride * (h + 1)];
        let raw = image.as_raw();
        for y in 0..h {
            let mut row = 0u32;
            for x in 0..w {
                row += u32::from(raw[y * w + x]);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row;
            }
        }
        Integral { width: w, sums }
    }

    /// Mean over the box `[x0, x1) × [y0, y1)`.
    pub fn mean(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> u32 {
        let s = self.width + 1;
        let total = self.sums[y1 * s + x1] + self.sums[y0 * s + x0]
            - self.sums[y0 * s + x1]
            - self.sums[y1 * s + x0];
        let n = ((x1 - x0) * (y1 - y0)).max(1) as u32;
        total / n
    }
}

/// A binary mask: `true` is foreground.
pub struct Mask {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Row-major pixels.
    pub bits: Vec<bool>,
}

impl Mask {
    /// Whether `(x, y)` is foreground.
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.bits[(y * self.width + x) as usize]
    }
}

/// Local-mean threshold: a pixel is foreground when it is darker (`dark = true`) or brighter
/// than the mean of its `(2r+1)²` neighbourhood by more than `offset`.
pub fn adaptive(
    image: &GrayImage,
    integral: &Integral,
    radius: u32,
    offset: i32,
    dark: bool,
) -> Mask {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let r = radius as usize;
    let raw = image.as_raw();
    let mut bits = vec![false; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(r);
        let y1 = (y + r + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(r);
            let x1 = (x + r + 1).min(w);
            let mean = integral.mean(x0, y0, x1, y1) as i32;
            let p = i32::from(raw[y * w + x]);
            bits[y * w + x] = if dark {
                p < mean - offset
            } else {
                p > mean + offset
            };
        }
    }
    Mask {
        width: w as u32,
        height: h as u32,
        bits,
    }
}

/// Global threshold (e.g. Otsu's level).
pub fn global(image: &GrayImage, level: u8, dark: bool) -> Mask {
    let bits = image
        .as_raw()
        .iter()
        .map(|&p| if dark { p <= level } else { p > level })
        .collect();
    Mask {
        width: image.width(),
        height: image.height(),
        bits,
    }
}

/// Otsu's threshold over a grey image.
pub fn otsu(image: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for &p in image.as_raw() {
        hist[p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut level) = (0u64, 0f64, -1f64, 0u8);
    for (t, &n) in hist.iter().enumerate() {
        w_b += n;
        if w_b == 0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0 {
            break;
        }
        sum_b += t as f64 * n as f64;
        let m_b = sum_b / w_b as f64;
        let m_f = (sum_all - sum_b) / w_f as f64;
        let between = w_b as f64 * w_f as f64 * (m_b - m_f).powi(2);
        if between > best {
            best = between;
            level = t as u8;
        }
    }
    level
}

/// 8-connected components of the foreground, with boxes and areas.
pub fn blobs(mask: &Mask) -> Vec<Blob> {
    labelled(mask).0
}

/// The foreground's 8-connected components and, for every pixel, the index of its component
/// in the list plus one (0 for background): a box alone cannot tell a component from a speck
/// lying inside it.
pub fn labelled(mask: &Mask) -> (Vec<Blob>, Vec<u32>) {
    let (w, h) = (mask.width as usize, mask.height as usize);
    let mut label = vec![0u32; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask.bits[start] || label[start] != 0 {
            continue;
        }
        let id = out.len() as u32 + 1;
        label[start] = id;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1, mut area) = (w, h, 0, 0, 0u32);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            area += 1;
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            for dy in [-1i64, 0, 1] {
                for dx in [-1i64, 0, 1] {
                    let nx = x as i64 + dx;
                    let ny = y as i64 + dy;
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask.bits[j] && label[j] == 0 {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(Blob {
            rect: Rect {
                x: x0 as u32,
                y: y0 as u32,
                w: (x1 - x0 + 1) as u32,
                h: (y1 - y0 + 1) as u32,
            },
            area,
        });
    }
    (out, label)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn blobs_find_separate_shapes() {
        let mut img = GrayImage::from_pixel(40, 20, Luma([200]));
        for y in 5..15 {
            for x in 5..9 {
                img.put_pixel(x, y, Luma([20]));
            }
            for x in 20..26 {
                img.put_pixel(x, y, Luma([20]));
            }
        }
        let level = otsu(&img);
        assert!((20..200).contains(&level));
        let mut found = blobs(&global(&img, level, true));
        found.sort_by_key(|b| b.rect.x);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].rect,
            Rect {
                x: 5,
                y: 5,
                w: 4,
                h: 10
            }
        );
        assert_eq!(found[1].area, 60);
        let integral = Integral::new(&img);
        let local = blobs(&adaptive(&img, &integral, 6, 10, true));
        assert_eq!(local.len(), 2);
    }

    #[test]
    fn iou_of_boxes() {
        let a = Rect {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
        };
        let b = Rect {
            x: 5,
            y: 0,
            w: 10,
            h: 10,
        };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(
            a.iou(&Rect {
                x: 20,
                y: 20,
                w: 1,
                h: 1
            }),
            0.0
        );
    }
}
