//! A simulated reader that serves images from a folder (uncompressed 8-bit TIFF such as the FVC
//! sets, or binary PGM), in file-name order, looping. Faults can be injected: no finger (the
//! wait times out), a smudged capture (blurred and washed out), a latent (the previous image
//! again, or a faint residue of it), unplugged.

use std::path::{Path, PathBuf};
use std::time::Duration;
use vistoria_core::biometrics::image::GrayImage;

use super::{FingerImage, FingerprintReader};
use crate::{Device, DeviceError, DeviceStatus};

/// What the next touch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No finger arrives: waiting times out.
    NoFinger,
    /// The capture is smudged (blurred, low contrast).
    Smudged,
    /// The prism shows the previous image again (residue).
    LatentRepeat,
    /// The prism shows only a faint residue of the previous image.
    LatentFaint,
    /// The reader is unplugged.
    Unplugged,
    /// The reader gives its images at 250 dpi (a replaced unit, a wrong driver mode): §16 b.
    LowResolution,
    /// The reader gives black-and-white images (a binarising firmware): §16 c.
    Binarised,
}

/// The folder-backed simulator.
#[derive(Debug)]
pub struct SimReader {
    files: Vec<PathBuf>,
    next: usize,
    finger_on: bool,
    last: Option<FingerImage>,
    faults: Vec<Fault>,
    unplugged: bool,
}

impl SimReader {
    /// A simulator over the `.tif`/`.tiff`/`.pgm` files of `dir`.
    pub fn open(dir: &Path) -> Result<SimReader, DeviceError> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            DeviceError::Missing(format!("pasta de imagens {}: {e}", dir.display()))
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(e.to_ascii_lowercase().as_str(), "tif" | "tiff" | "pgm")
                })
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DeviceError::Missing(format!(
                "nenhuma imagem em {}",
                dir.display()
            )));
        }
        Ok(SimReader {
            files,
            next: 0,
            finger_on: false,
            last: None,
            faults: Vec::new(),
            unplugged: false,
        })
    }

    /// Serves the files in this order instead (names relative to the folder).
    pub fn select(&mut self, names: &[&str]) -> Result<(), DeviceError> {
        let Some(dir) = self
            .files
            .first()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf)
        else {
            return Err(DeviceError::Missing("sem pasta".into()));
        };
        let files: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
        if let Some(missing) = files.iter().find(|f| !f.exists()) {
            return Err(DeviceError::Missing(missing.display().to_string()));
        }
        self.files = files;
        self.next = 0;
        Ok(())
    }

    /// Queues a fault for the next touch (faults apply in order, one per touch).
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Plugs the reader back in.
    pub fn replug(&mut self) {
        self.unplugged = false;
    }

    fn check(&mut self) -> Result<(), DeviceError> {
        if self.faults.first() == Some(&Fault::Unplugged) {
            self.faults.remove(0);
            self.unplugged = true;
        }
        if self.unplugged {
            return Err(DeviceError::Missing(
                "leitor biométrico desconectado".into(),
            ));
        }
        Ok(())
    }
}

impl Device for SimReader {
    fn name(&self) -> &str {
        "Leitor biométrico (simulado)"
    }

    fn status(&self) -> DeviceStatus {
        if self.unplugged {
            DeviceStatus::Missing
        } else if self.finger_on {
            DeviceStatus::Busy
        } else {
            DeviceStatus::Ready
        }
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        self.check()?;
        let img = read_image(&self.files[0])?;
        Ok(format!(
            "simulador ok: {} imagens, primeira {}×{}",
            self.files.len(),
            img.width,
            img.height
        ))
    }
}

impl FingerprintReader for SimReader {
    fn await_finger(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        self.check()?;
        if self.faults.first() == Some(&Fault::NoFinger) {
            self.faults.remove(0);
            std::thread::sleep(timeout.min(Duration::from_millis(20)));
            return Err(DeviceError::Timeout("aguardando o dedo".into()));
        }
        self.finger_on = true;
        Ok(())
    }

    fn capture(&mut self) -> Result<FingerImage, DeviceError> {
        self.check()?;
        if !self.finger_on {
            return Err(DeviceError::Fault(
                "nenhum dedo detectado para capturar".into(),
            ));
        }
        let fault = match self.faults.first() {
            Some(
                f @ (Fault::Smudged
                | Fault::LatentRepeat
                | Fault::LatentFaint
                | Fault::LowResolution
                | Fault::Binarised),
            ) => {
                let f = *f;
                self.faults.remove(0);
                Some(f)
            }
            _ => None,
        };
        let image = match (fault, &self.last) {
            (Some(Fault::LatentRepeat), Some(last)) => last.clone(),
            (Some(Fault::LatentFaint), Some(last)) => faint(last),
            _ => {
                let path = &self.files[self.next % self.files.len()];
                self.next += 1;
                let img = read_image(path)?;
                match fault {
                    Some(Fault::Smudged) => smudge(&img),
                    Some(Fault::LowResolution) => half_resolution(&img),
                    Some(Fault::Binarised) => FingerImage {
                        pixels: img
                            .pixels
                            .iter()
                            .map(|&p| if p < 128 { 0 } else { 255 })
                            .collect(),
                        ..img
                    },
                    _ => img,
                }
            }
        };
        self.last = Some(image.clone());
        Ok(image)
    }

    fn await_removal(&mut self, _timeout: Duration) -> Result<(), DeviceError> {
        self.check()?;
        self.finger_on = false;
        Ok(())
    }
}

fn faint(img: &FingerImage) -> FingerImage {
    FingerImage {
        pixels: img
            .pixels
            .iter()
            .map(|&p| (235.0 - 0.2 * (255.0 - f32::from(p))).clamp(0.0, 255.0) as u8)
            .collect(),
        ..img.clone()
    }
}

/// Every other pixel of every other line, declared at half the resolution.
fn half_resolution(img: &FingerImage) -> FingerImage {
    let (w, h) = (img.width / 2, img.height / 2);
    let pixels = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| img.pixels[2 * y * img.width + 2 * x])
        .collect();
    FingerImage {
        width: w,
        height: h,
        pixels,
        dpi: img.dpi / 2,
    }
}

fn smudge(img: &FingerImage) -> FingerImage {
    let (w, h) = (img.width, img.height);
    let r = 4isize;
    let mut pixels = vec![0u8; w * h];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let (mut s, mut n) = (0u32, 0u32);
            for dy in -r..=r {
                for dx in -r..=r {
                    let (sx, sy) = (x + dx, y + dy);
                    if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                        s += u32::from(img.pixels[sy as usize * w + sx as usize]);
                        n += 1;
                    }
                }
            }
            pixels[y as usize * w + x as usize] = (s / n.max(1)) as u8;
        }
    }
    FingerImage {
        width: w,
        height: h,
        pixels,
        dpi: img.dpi,
    }
}

/// Resolution of the simulator's images: the FVC sets and our synthetic prints are 500 dpi
/// (PGM and our TIFF reader carry none).
pub const SIM_DPI: u16 = 500;

/// Reads an uncompressed 8-bit grey TIFF or a binary PGM.
pub fn read_image(path: &Path) -> Result<FingerImage, DeviceError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DeviceError::Missing(format!("{}: {e}", path.display())))?;
    let bad = |why: &str| DeviceError::Fault(format!("{}: {why}", path.display()));
    if bytes.starts_with(b"P5") {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
        let mut fields = text.split_ascii_whitespace().skip(1);
        let mut next = || {
            fields
                .next()
                .and_then(|f| f.parse::<usize>().ok())
                .ok_or_else(|| bad("PGM inválido"))
        };
        let (w, h, max) = (next()?, next()?, next()?);
        if max != 255 {
            return Err(bad("PGM de 16 bits"));
        }
        let start = bytes
            .len()
            .checked_sub(w * h)
            .ok_or_else(|| bad("PGM truncado"))?;
        return Ok(FingerImage {
            width: w,
            height: h,
            pixels: bytes[start..].to_vec(),
            dpi: SIM_DPI,
        });
    }
    // The same TIFF reader the matcher uses for enrolment and the benchmark.
    let image = GrayImage::from_tiff(&bytes).map_err(|e| bad(&e.to_string()))?;
    Ok(FingerImage {
        width: image.width,
        height: image.height,
        pixels: image.pixels,
        dpi: SIM_DPI,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fingerprint::capture_touch;

    fn dir() -> Option<PathBuf> {
        let d = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/fingerprints/FVC2002_DB1_B"
        ));
        if d.is_dir() {
            Some(d)
        } else {
            eprintln!("SKIP: {} ausente", d.display());
            None
        }
    }

    #[test]
    fn serves_the_folder_in_order() {
        let Some(d) = dir() else { return };
        let mut sim = SimReader::open(&d).unwrap();
        let a = capture_touch(&mut sim, Duration::from_millis(50)).unwrap();
        let b = capture_touch(&mut sim, Duration::from_millis(50)).unwrap();
        assert_eq!((a.width, a.height), (388, 374));
        assert_ne!(a, b);
        assert!(sim.self_test().unwrap().contains("80 imagens"));
    }

    #[test]
    fn faults_behave_like_the_device() {
        let Some(d) = dir() else { return };
        let mut sim = SimReader::open(&d).unwrap();
        sim.select(&["101_1.tif", "101_2.tif"]).unwrap();
        let t = Duration::from_millis(20);
        sim.inject(Fault::NoFinger);
        assert!(matches!(sim.await_finger(t), Err(DeviceError::Timeout(_))));
        let first = capture_touch(&mut sim, t).unwrap();
        sim.inject(Fault::LatentRepeat);
        assert_eq!(capture_touch(&mut sim, t).unwrap(), first);
        sim.inject(Fault::LatentFaint);
        let faint = capture_touch(&mut sim, t).unwrap();
        assert!(faint.pixels.iter().all(|&p| p >= 184));
        sim.inject(Fault::Smudged);
        let smudged = capture_touch(&mut sim, t).unwrap();
        assert_ne!(smudged, first);
        sim.inject(Fault::Unplugged);
        assert!(matches!(sim.await_finger(t), Err(DeviceError::Missing(_))));
        assert_eq!(sim.status(), DeviceStatus::Missing);
        sim.replug();
        assert!(capture_touch(&mut sim, t).is_ok());
    }

    #[test]
    fn reads_pgm() {
        let dir = std::env::temp_dir().join(format!("vistoria-fp-sim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        std::fs::write(dir.join("a.pgm"), &pgm).unwrap();
        let img = read_image(&dir.join("a.pgm")).unwrap();
        assert_eq!(
            (img.width, img.height, img.pixels.clone()),
            (3, 2, vec![1, 2, 3, 4, 5, 6])
        );
        let mut sim = SimReader::open(&dir).unwrap();
        assert_eq!(
            capture_touch(&mut sim, Duration::from_millis(5)).unwrap(),
            img
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
