//! Still camera for evidence photos (§7): a trait, the UVC backend over `nokhwa` (V4L2 on
//! Linux) and a simulator serving photos with the device's faults.

pub mod raw;
pub mod sim;
pub mod uvc;

use crate::{Device, DeviceError};

/// Smallest mode the camera is asked for (§7: at least 1600×1024).
pub const MIN_WIDTH: u32 = 1600;
/// Smallest mode the camera is asked for (§7).
pub const MIN_HEIGHT: u32 = 1024;

/// One decoded frame, RGB8, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// A cheap fingerprint of the pixels, to notice a frozen sensor.
    pub fn fingerprint(&self) -> u64 {
        // FNV-1a over a sparse sample: frames of a live sensor always differ somewhere in it.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in self.rgb.iter().step_by(61) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        h
    }
}

/// A camera that takes still photos.
pub trait StillCamera: Device {
    /// The mode in use, `(width, height)`.
    fn resolution(&self) -> (u32, u32);
    /// Takes one frame.
    fn capture(&mut self) -> Result<Frame, DeviceError>;
}

/// Wraps a camera and refuses a frame identical to the previous one: a frozen sensor keeps
/// returning its last buffer, and that must not become evidence twice.
pub struct FreezeGuard<C: StillCamera> {
    camera: C,
    last: Option<u64>,
}

impl<C: StillCamera> FreezeGuard<C> {
    /// Guards `camera`.
    pub fn new(camera: C) -> Self {
        FreezeGuard { camera, last: None }
    }

    /// Takes a frame, failing when it repeats the previous one.
    pub fn capture(&mut self) -> Result<Frame, DeviceError> {
        let frame = self.camera.capture()?;
        let print = frame.fingerprint();
        if self.last == Some(print) {
            return Err(DeviceError::Fault(
                "imagem congelada: a câmera repete o último quadro".into(),
            ));
        }
        self.last = Some(print);
        Ok(frame)
    }

    /// The guarded camera.
    pub fn inner(&mut self) -> &mut C {
        &mut self.camera
    }
}
