//! The photo at several sizes, each half the one before, and the order the reader searches
//! them in: a plate may be 60 px wide or a fifth of a 12 MP frame, and searching the whole
//! frame at full size costs time that grows with the frame. The search starts at a working
//! width where a plate of ordinary size is found, goes finer only while nothing reads surely
//! (small plates), and each row is read from the level where its characters are just above
//! the reader's size (no aliasing from sampling a large plate sparsely, no time spent on
//! pixels the reading does not need).

use image::GrayImage;

/// The narrowest level kept: below it the locator's smallest characters vanish.
const MIN_WIDTH: u32 = 400;

/// The widest the photo is searched at: a 60 px plate is found at that width in any frame
/// up to it, and the locator's 32-bit sums hold 16 million pixels.
const MAX_SEARCH_WIDTH: u32 = 4096;

/// Grey levels of one photo, full size first.
pub struct Pyramid {
    levels: Vec<GrayImage>,
}

impl Pyramid {
    /// Builds the levels by averaging 2×2 blocks until the next would be under 400 px wide.
    pub fn new(full: GrayImage) -> Pyramid {
        let mut levels = vec![full];
        while let Some(last) = levels.last()
            && last.width() / 2 >= MIN_WIDTH
            && last.height() / 2 >= 2
        {
            let half = halve(last);
            levels.push(half);
        }
        Pyramid { levels }
    }

    /// The photo at full size.
    pub fn full(&self) -> &GrayImage {
        &self.levels[0]
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether there is no level (never: the full size is always there).
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Level `i` (0 is full size, each next one half), clamped to the last.
    pub fn level(&self, i: usize) -> &GrayImage {
        &self.levels[i.min(self.levels.len() - 1)]
    }

    /// The photo `width` pixels wide (never wider than the full size), reduced from the
    /// nearest level at least as wide, and its scale from the full size.
    pub fn at_width(&self, width: u32) -> (GrayImage, f32) {
        let full = self.full();
        if width >= full.width() {
            return (full.clone(), 1.0);
        }
        let source = self
            .levels
            .iter()
            .rev()
            .find(|l| l.width() >= width)
            .unwrap_or(full);
        let scale = width as f32 / full.width() as f32;
        let height = ((full.height() as f32 * scale).round() as u32).max(1);
        let out = if source.width() == width {
            source.clone()
        } else if std::ptr::eq(source, full) {
            // Reduced from the full size (a photo under twice the width asked for): the
            // `image` crate's filter, as the locator's thresholds were set on it.
            image::imageops::resize(full, width, height, image::imageops::FilterType::Triangle)
        } else {
            resample(source, width, height)
        };
        (out, scale)
    }

    /// The coarsest level where characters `height` px tall at full size are still at least
    /// `at_least` px tall, and that level's index.
    pub fn for_characters(&self, height: f32, at_least: f32) -> usize {
        let mut i = 0;
        while i + 1 < self.levels.len() && height / (1u32 << (i + 1)) as f32 >= at_least {
            i += 1;
        }
        i
    }
}

/// The image at half size, each pixel the mean of a 2×2 block.
pub fn halve(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let src = img.as_raw();
    let stride = img.width() as usize;
    let mut out = vec![0u8; (w * h) as usize];
    for y in 0..h as usize {
        let (r0, r1) = (2 * y * stride, (2 * y + 1) * stride);
        for x in 0..w as usize {
            let s = u16::from(src[r0 + 2 * x])
                + u16::from(src[r0 + 2 * x + 1])
                + u16::from(src[r1 + 2 * x])
                + u16::from(src[r1 + 2 * x + 1]);
            out[y * w as usize + x] = ((s + 2) / 4) as u8;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
}

/// Taps of a triangle filter resampling `from` samples to `to`: for each output sample its
/// first input and the weights of the inputs from there, summing to one. The filter widens
/// with the reduction (it averages what it drops), as `image`'s `Triangle` does.
fn taps(from: u32, to: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = from as f32 / to as f32;
    let spread = ratio.max(1.0);
    (0..to)
        .map(|o| {
            let centre = (o as f32 + 0.5) * ratio;
            let left = ((centre - spread).floor() as i64).clamp(0, i64::from(from) - 1);
            let right = ((centre + spread).ceil() as i64).clamp(left + 1, i64::from(from));
            let weights: Vec<f32> = (left..right)
                .map(|i| (1.0 - ((i as f32 - (centre - 0.5)) / spread).abs()).max(0.0))
                .collect();
            let sum: f32 = weights.iter().sum();
            let weights = if sum > 0.0 {
                weights.iter().map(|w| w / sum).collect()
            } else {
                weights
            };
            (left as usize, weights)
        })
        .collect()
}

/// The image resampled to `width × height` with a triangle filter, rows first then columns,
/// on one channel (the `image` crate's `resize` goes through four float channels per pixel
/// and took most of a 12 MP photo's reading time).
pub fn resample(img: &GrayImage, width: u32, height: u32) -> GrayImage {
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    // Vertical pass: sh rows to `height`, every column.
    let mut tmp = vec![0f32; sw * height as usize];
    for (y, (first, weights)) in taps(sh as u32, height).into_iter().enumerate() {
        let out = &mut tmp[y * sw..(y + 1) * sw];
        for (k, w) in weights.iter().enumerate() {
            let row = &src[(first + k) * sw..(first + k + 1) * sw];
            for (o, &p) in out.iter_mut().zip(row) {
                *o += w * f32::from(p);
            }
        }
    }
    // Horizontal pass.
    let columns = taps(sw as u32, width);
    let mut out = vec![0u8; (width * height) as usize];
    for y in 0..height as usize {
        let row = &tmp[y * sw..(y + 1) * sw];
        for (x, (first, weights)) in columns.iter().enumerate() {
            let v: f32 = weights.iter().zip(&row[*first..]).map(|(w, p)| w * p).sum();
            out[y * width as usize + x] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| GrayImage::new(width, height))
}

/// The widths to search a photo `width` pixels wide at, in order: the working width, then
/// twice it, and so on, the last one the full size (an octave that would come within half
/// of it is replaced by it). A photo under twice the working width is searched at the
/// working width alone, as before there was a pyramid (the reader then falls back to finer
/// and coarser widths only when nothing was found).
pub fn schedule(width: u32, work_width: u32) -> Vec<u32> {
    // Past this the locator's sums would overflow (and a plate needs no more).
    let width = width.min(MAX_SEARCH_WIDTH);
    if width < 2 * work_width {
        return vec![width.min(work_width)];
    }
    let mut out = vec![work_width];
    let mut w = work_width * 2;
    while w <= width {
        out.push(w);
        w *= 2;
    }
    let last = out[out.len() - 1];
    if last < width {
        if (width as f32) < last as f32 * 1.5 {
            let n = out.len();
            out[n - 1] = width;
        } else {
            out.push(width);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn levels_halve_down_to_the_narrowest_kept() {
        let p = Pyramid::new(GrayImage::from_pixel(4032, 3024, Luma([90])));
        let widths: Vec<u32> = (0..p.len()).map(|i| p.level(i).width()).collect();
        assert_eq!(widths, vec![4032, 2016, 1008, 504]);
        assert_eq!(p.level(3).get_pixel(10, 10).0[0], 90);
        let small = Pyramid::new(GrayImage::new(640, 480));
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn halving_averages_blocks() {
        let img = GrayImage::from_raw(4, 2, vec![0, 4, 100, 100, 8, 4, 100, 101]).unwrap();
        assert_eq!(halve(&img).as_raw(), &vec![4, 100]);
    }

    #[test]
    fn resampling_matches_the_image_crates_triangle_filter() {
        // A photo-like pattern: gradients and sharp edges.
        let img = GrayImage::from_fn(1280, 720, |x, y| {
            Luma([((x * 7 + y * 3) % 256) as u8 / 2
                + if (x / 40 + y / 30) % 2 == 0 { 100 } else { 0 }])
        });
        let ours = resample(&img, 800, 450);
        let theirs = image::imageops::resize(&img, 800, 450, image::imageops::FilterType::Triangle);
        let worst = ours
            .as_raw()
            .iter()
            .zip(theirs.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 2, "{worst}");
    }

    #[test]
    fn the_search_goes_from_the_working_width_to_the_full_size() {
        assert_eq!(schedule(4032, 800), vec![800, 1600, 4032]);
        assert_eq!(schedule(1280, 800), vec![800]);
        assert_eq!(schedule(900, 800), vec![800]);
        assert_eq!(schedule(416, 800), vec![416]);
        assert_eq!(schedule(2000, 800), vec![800, 2000]);
        assert_eq!(schedule(3000, 800), vec![800, 1600, 3000]);
        assert_eq!(schedule(8000, 800), vec![800, 1600, 4096]);
    }

    #[test]
    fn rows_are_read_from_the_coarsest_level_that_keeps_their_characters() {
        let p = Pyramid::new(GrayImage::new(4032, 3024));
        // 130 px characters (a plate a fifth of the frame): level 1, 65 px.
        assert_eq!(p.for_characters(130.0, 48.0), 1);
        assert_eq!(p.for_characters(400.0, 48.0), 3);
        assert_eq!(p.for_characters(20.0, 48.0), 0);
        let (img, scale) = p.at_width(800);
        assert_eq!((img.width(), img.height()), (800, 600));
        assert!((scale - 800.0 / 4032.0).abs() < 1e-6);
    }
}
