//! Fingerprint readers (Portaria 741/2019 §16): a [`FingerprintReader`] trait with the
//! DigitalPersona U.are.U 4000B/4500 backend over USB ([`uareu`]) and a folder-backed simulator
//! with faults ([`sim`]). Images go to `vistoria_core::biometrics` for quality, latent checks and
//! matching; this module only moves pixels.

pub mod section16;
pub mod sim;
pub mod uareu;

use std::time::Duration;

use crate::{Device, DeviceError};

/// One grey image from a reader: 8 bits, row-major, ridges dark, 500 dpi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` bytes.
    pub pixels: Vec<u8>,
    /// Resolution the reader declares for this image (§16 b asks for 500 or more).
    pub dpi: u16,
}

/// What a reader does for a login or an enrolment.
pub trait FingerprintReader: Device {
    /// Blocks until a finger is on the prism, or fails with `Timeout` after `timeout`.
    fn await_finger(&mut self, timeout: Duration) -> Result<(), DeviceError>;
    /// Captures the finger that is on the prism (§16g: on finger detection, no button).
    fn capture(&mut self) -> Result<FingerImage, DeviceError>;
    /// Blocks until the finger is lifted, or fails with `Timeout`.
    fn await_removal(&mut self, timeout: Duration) -> Result<(), DeviceError>;
}

/// Waits for a finger, captures it and waits for it to be lifted: one touch.
pub fn capture_touch(
    reader: &mut dyn FingerprintReader,
    timeout: Duration,
) -> Result<FingerImage, DeviceError> {
    reader.await_finger(timeout)?;
    let image = reader.capture()?;
    reader.await_removal(timeout)?;
    Ok(image)
}
