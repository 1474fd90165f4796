//! Demo mode's borescope (§8, §18): a Wi-Fi borescope looking into an engine bay, drawn as a
//! stamped engine number on brushed metal at 1024×768 (the borescope minimum is 800×600), with
//! faults to show the refusals: frames below the minimum, the device switched off.

use std::sync::{Arc, Mutex};

use image::{Rgb, RgbImage};
use vistoria_core::capture::font;
use vistoria_drivers::borescope::Borescope;
use vistoria_drivers::camera::Frame;
use vistoria_drivers::{Device, DeviceError, DeviceStatus};

use super::lock;

/// What can go wrong with the demo borescope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BorescopeFault {
    /// It streams 640×480, below §18's 800×600.
    SmallFrames,
    /// Switched off or out of Wi-Fi range.
    Unplugged,
}

/// The size it streams when nothing is wrong.
pub const FRAME: (u32, u32) = (1024, 768);
/// The size it streams with [`BorescopeFault::SmallFrames`].
pub const SMALL_FRAME: (u32, u32) = (640, 480);

/// The demo borescope; the fault is shared with the station, which sets it.
pub struct DemoBorescope {
    fault: Arc<Mutex<Option<BorescopeFault>>>,
    shots: u64,
}

impl DemoBorescope {
    /// A borescope whose fault is `fault`.
    pub fn new(fault: Arc<Mutex<Option<BorescopeFault>>>) -> DemoBorescope {
        DemoBorescope { fault, shots: 0 }
    }
}

impl Device for DemoBorescope {
    fn name(&self) -> &str {
        "Boroscópio (simulado)"
    }

    fn status(&self) -> DeviceStatus {
        match *lock(&self.fault) {
            Some(BorescopeFault::Unplugged) => DeviceStatus::Missing,
            Some(BorescopeFault::SmallFrames) => {
                DeviceStatus::Fault("resolução abaixo do mínimo".into())
            }
            None => DeviceStatus::Ready,
        }
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        let f = self.grab()?;
        Ok(format!("quadro de {}×{} recebido", f.width, f.height))
    }
}

impl Borescope for DemoBorescope {
    fn grab(&mut self) -> Result<Frame, DeviceError> {
        let (width, height) = match *lock(&self.fault) {
            Some(BorescopeFault::Unplugged) => {
                return Err(DeviceError::Missing(
                    "boroscópio desligado ou fora do alcance do Wi-Fi".into(),
                ));
            }
            Some(BorescopeFault::SmallFrames) => SMALL_FRAME,
            None => FRAME,
        };
        self.shots += 1;
        let image = engine_number(width, height, self.shots);
        Ok(Frame {
            width,
            height,
            rgb: image.into_raw(),
        })
    }
}

/// An engine number stamped into brushed metal, lit by the borescope's LEDs; `seed` moves the
/// sensor noise, as consecutive frames of a real sensor differ.
pub fn engine_number(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 25) as i32 - 12
    };
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let reach = cx.hypot(cy);
    let mut image = RgbImage::from_fn(width, height, |x, y| {
        // Brushed streaks along x, the LED's falloff towards the corners.
        let streak = ((y as f32 * 0.9).sin() * 9.0 + (y as f32 * 0.23).sin() * 6.0) as i32;
        let light = 1.0 - 0.35 * ((x as f32 - cx).hypot(y as f32 - cy) / reach);
        let shade = |base: f32| (base * light) as i32 + streak;
        let n = noise();
        let px = |v: i32| (v + n).clamp(0, 255) as u8;
        Rgb([px(shade(150.0)), px(shade(138.0)), px(shade(112.0))])
    });
    let size = height as f32 * 0.14;
    let text = "9BD 178A3 5 MB";
    let x = (width as f32 - font::bold_width(size, text)) / 2.0;
    let y = cy - size / 2.0;
    // Stamped: a light edge below and to the right, the groove dark.
    font::draw_bold(
        &mut image,
        size,
        x + 3.0,
        y + 3.0,
        text,
        Rgb([205, 196, 172]),
    );
    font::draw_bold(&mut image, size, x, y, text, Rgb([48, 42, 34]));
    image
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vistoria_core::capture::{QualityLimits, Source, quality};

    /// The drawing is a photo the pipeline accepts from the borescope; the small frames are
    /// refused with §18's minimum; unplugged, it says so.
    #[test]
    fn the_demo_borescope_passes_the_checks_and_shows_its_faults() {
        let fault = Arc::new(Mutex::new(None));
        let mut scope = DemoBorescope::new(fault.clone());
        let frame = scope.grab().unwrap();
        let image = RgbImage::from_raw(frame.width, frame.height, frame.rgb).unwrap();
        quality::check_format_for(&image, Source::Borescope).unwrap();
        quality::check_quality(&image, &QualityLimits::default()).unwrap();
        *fault.lock().unwrap() = Some(BorescopeFault::SmallFrames);
        let frame = scope.grab().unwrap();
        let image = RgbImage::from_raw(frame.width, frame.height, frame.rgb).unwrap();
        let err = quality::check_format_for(&image, Source::Borescope).unwrap_err();
        assert!(err.to_string().contains("640×480"), "{err}");
        *fault.lock().unwrap() = Some(BorescopeFault::Unplugged);
        assert!(scope.grab().is_err());
        assert_eq!(scope.status(), DeviceStatus::Missing);
    }
}
