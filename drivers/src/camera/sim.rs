//! Simulated still camera: serves photos decoded from files (the demo frames in `assets/`),
//! adding sensor noise so no two frames are identical, and injects the device's faults.

use std::path::Path;

use super::{Frame, StillCamera};
use crate::{Device, DeviceError, DeviceStatus};

/// A fault the simulator can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraFault {
    /// The USB cable is out.
    Unplugged,
    /// The sensor keeps returning its last frame.
    Frozen,
    /// The lens is covered or the light is off.
    Dark,
    /// The camera fell back to a low mode (1280×720).
    WrongResolution,
}

/// The simulator.
pub struct SimCamera {
    photos: Vec<Frame>,
    next: usize,
    shots: u64,
    fault: Option<CameraFault>,
    last: Option<Frame>,
}

impl SimCamera {
    /// A camera serving these frames in turn.
    pub fn new(photos: Vec<Frame>) -> Result<SimCamera, DeviceError> {
        if photos.is_empty() {
            return Err(DeviceError::Missing("nenhuma foto para o simulador".into()));
        }
        Ok(SimCamera {
            photos,
            next: 0,
            shots: 0,
            fault: None,
            last: None,
        })
    }

    /// A camera serving the JPEG and PNG files of a folder, in name order.
    pub fn from_dir(dir: &Path) -> Result<SimCamera, DeviceError> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| DeviceError::Missing(format!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
            .collect();
        files.sort();
        let mut photos = Vec::new();
        for f in files {
            let img = image::open(&f)
                .map_err(|e| DeviceError::Fault(format!("{}: {e}", f.display())))?
                .to_rgb8();
            photos.push(Frame {
                width: img.width(),
                height: img.height(),
                rgb: img.into_raw(),
            });
        }
        SimCamera::new(photos)
    }

    /// Starts or stops a fault.
    pub fn set_fault(&mut self, fault: Option<CameraFault>) {
        self.fault = fault;
    }
}

impl Device for SimCamera {
    fn name(&self) -> &str {
        "Câmera fotográfica (simulada)"
    }

    fn status(&self) -> DeviceStatus {
        match self.fault {
            Some(CameraFault::Unplugged) => DeviceStatus::Missing,
            _ => DeviceStatus::Ready,
        }
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        let frame = self.capture()?;
        Ok(format!(
            "quadro de {}×{} capturado",
            frame.width, frame.height
        ))
    }
}

impl StillCamera for SimCamera {
    fn resolution(&self) -> (u32, u32) {
        match self.fault {
            Some(CameraFault::WrongResolution) => (1280, 720),
            _ => (self.photos[0].width, self.photos[0].height),
        }
    }

    fn capture(&mut self) -> Result<Frame, DeviceError> {
        match self.fault {
            Some(CameraFault::Unplugged) => {
                return Err(DeviceError::Missing("câmera desconectada".into()));
            }
            Some(CameraFault::Frozen) => {
                if let Some(last) = &self.last {
                    return Ok(last.clone());
                }
            }
            _ => {}
        }
        let mut frame = self.photos[self.next % self.photos.len()].clone();
        self.next += 1;
        self.shots += 1;
        // Sensor noise: ±1 on a sparse, shot-dependent set of bytes.
        let mut state = self.shots.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for i in (0..frame.rgb.len()).step_by(7) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = &mut frame.rgb[i];
            *b = if state & 1 == 0 {
                b.saturating_add(1)
            } else {
                b.saturating_sub(1)
            };
        }
        match self.fault {
            Some(CameraFault::Dark) => frame.rgb.iter_mut().for_each(|b| *b /= 10),
            Some(CameraFault::WrongResolution) => frame = shrink(&frame, 1280, 720),
            _ => {}
        }
        self.last = Some(frame.clone());
        Ok(frame)
    }
}

fn shrink(frame: &Frame, width: u32, height: u32) -> Frame {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let sx = (x * frame.width / width) as usize;
            let sy = (y * frame.height / height) as usize;
            let i = (sy * frame.width as usize + sx) * 3;
            rgb.extend_from_slice(&frame.rgb[i..i + 3]);
        }
    }
    Frame { width, height, rgb }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::FreezeGuard;
    use super::*;

    fn demo() -> SimCamera {
        // Rear photos rendered by core's synthetic scene generator, written as the demo
        // folder would hold them.
        let dir = tempfile::tempdir().unwrap();
        for seed in 0..2 {
            let scene = vistoria_core::ocr::synth::scene(seed, 1600, 1024);
            scene
                .image
                .save(dir.path().join(format!("rear-{seed}.jpg")))
                .unwrap();
        }
        SimCamera::from_dir(dir.path()).unwrap()
    }

    #[test]
    fn serves_demo_frames_at_the_minimum_resolution() {
        let mut cam = demo();
        assert_eq!(cam.status(), DeviceStatus::Ready);
        let a = cam.capture().unwrap();
        let b = cam.capture().unwrap();
        assert!(a.width >= 1600 && a.height >= 1024);
        assert_eq!(a.rgb.len(), (a.width * a.height * 3) as usize);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(cam.self_test().unwrap().contains('×'));
    }

    #[test]
    fn faults_behave_like_the_device() {
        let mut cam = FreezeGuard::new(demo());
        cam.capture().unwrap();
        cam.inner().set_fault(Some(CameraFault::Frozen));
        assert!(matches!(cam.capture(), Err(DeviceError::Fault(m)) if m.contains("congelada")));
        cam.inner().set_fault(Some(CameraFault::Unplugged));
        assert_eq!(cam.inner().status(), DeviceStatus::Missing);
        assert!(matches!(cam.capture(), Err(DeviceError::Missing(_))));
        cam.inner().set_fault(Some(CameraFault::WrongResolution));
        let f = cam.capture().unwrap();
        assert_eq!((f.width, f.height), (1280, 720));
        cam.inner().set_fault(Some(CameraFault::Dark));
        let f = cam.capture().unwrap();
        let mean = f.rgb.iter().map(|&b| u64::from(b)).sum::<u64>() / f.rgb.len() as u64;
        assert!(mean < 30, "{mean}");
        cam.inner().set_fault(None);
        cam.capture().unwrap();
    }
}
