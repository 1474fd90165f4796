//! The still camera on a UVC device through `nokhwa` (V4L2 on Linux). The device offers its
//! modes; [`raw::pick`] chooses one of at least 1600×1024 (§7) and [`raw::decode`] turns
//! each MJPEG or YUYV buffer into RGB.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nokhwa::Camera;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};

use super::raw::{self, Encoding, Mode};
use super::{Frame, StillCamera};
use crate::{Device, DeviceError, DeviceStatus};

/// Frames dropped after the stream starts, while exposure and white balance settle.
const WARMUP_FRAMES: usize = 4;

/// Longest wait for a photo: warm-up plus one frame, at the slowest modes (5 q/s), with room.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(8);

/// The encodings we decode ourselves.
const ENCODINGS: [FrameFormat; 2] = [FrameFormat::MJPEG, FrameFormat::YUYV];

/// A UVC camera in the mode chosen for evidence. `nokhwa`'s camera cannot move between
/// threads, so it lives on a thread of its own and photos are asked for over a channel.
pub struct UvcCamera {
    requests: mpsc::Sender<u64>,
    frames: mpsc::Receiver<(u64, Result<Frame, DeviceError>)>,
    asked: u64,
    node: PathBuf,
    mode: Mode,
    name: String,
    fault: Option<String>,
}

impl UvcCamera {
    /// Opens the camera at `address` (`/dev/videoN` or `N`; the first camera when `None`) in
    /// its largest mode of at least 1600×1024.
    pub fn open(address: Option<&str>) -> Result<UvcCamera, DeviceError> {
        let (index, node) = parse_address(address.unwrap_or("/dev/video0"))?;
        if !node.exists() {
            return Err(DeviceError::Missing(format!(
                "nenhuma câmera em {}; verifique o cabo USB",
                node.display()
            )));
        }
        let (opened_tx, opened) = mpsc::channel();
        let (requests, request_rx) = mpsc::channel::<u64>();
        let (frame_tx, frames) = mpsc::channel();
        let thread_node = node.clone();
        std::thread::Builder::new()
            .name("uvc-camera".into())
            .spawn(move || {
                let mut device = match Opened::open(index, thread_node) {
                    Ok(device) => {
                        let _ = opened_tx.send(Ok((device.mode, device.name.clone())));
                        device
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                // Ends when the UvcCamera is dropped.
                while let Ok(seq) = request_rx.recv() {
                    if frame_tx.send((seq, device.grab())).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| DeviceError::Fault(format!("sem recursos para a câmera: {e}")))?;
        // A device that hangs while opening must not hold the kiosk's start-up.
        let (mode, name) = opened.recv_timeout(CAPTURE_TIMEOUT).map_err(|_| {
            DeviceError::Timeout(format!("a câmera em {} não abriu", node.display()))
        })??;
        tracing::info!(node = %node.display(), ?mode, "UVC camera open");
        Ok(UvcCamera {
            requests,
            frames,
            asked: 0,
            node,
            mode,
            name,
            fault: None,
        })
    }

    /// The mode in use.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Waits for the frame last asked for; a late answer to an earlier request that timed
    /// out is dropped, never handed over as this photo.
    fn answer(&self) -> Result<Frame, DeviceError> {
        let deadline = Instant::now() + CAPTURE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.frames.recv_timeout(left) {
                Ok((seq, result)) if seq == self.asked => return result,
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(DeviceError::Timeout(format!(
                        "a câmera em {} não entregou a foto em {} s",
                        self.node.display(),
                        CAPTURE_TIMEOUT.as_secs()
                    )));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(DeviceError::Fault(format!(
                        "a câmera em {} parou",
                        self.node.display()
                    )));
                }
            }
        }
    }
}

/// The open device, on its thread.
struct Opened {
    camera: Camera,
    node: PathBuf,
    mode: Mode,
    name: String,
}

impl Opened {
    fn open(index: u32, node: PathBuf) -> Result<Opened, DeviceError> {
        let request = RequestedFormat::with_formats(RequestedFormatType::None, &ENCODINGS);
        let mut camera =
            Camera::with_backend(CameraIndex::Index(index), request, ApiBackend::Video4Linux)
                .map_err(|e| fault(&node, "não abriu", e))?;
        let modes: Vec<Mode> = camera
            .compatible_camera_formats()
            .map_err(|e| fault(&node, "não informou seus modos", e))?
            .iter()
            .filter_map(|f| {
                let encoding = match f.format() {
                    FrameFormat::MJPEG => Encoding::Mjpeg,
                    FrameFormat::YUYV => Encoding::Yuyv,
                    _ => return None,
                };
                Some(Mode {
                    width: f.width(),
                    height: f.height(),
                    fps: f.frame_rate(),
                    encoding,
                })
            })
            .collect();
        let mode = raw::pick(&modes).ok_or_else(|| {
            let best = modes
                .iter()
                .max_by_key(|m| u64::from(m.width) * u64::from(m.height));
            DeviceError::Fault(match best {
                Some(m) => format!(
                    "a câmera em {} chega a {}×{}; o mínimo para fotos de vistoria é 1600×1024 (§7)",
                    node.display(),
                    m.width,
                    m.height
                ),
                None => format!("a câmera em {} não oferece MJPEG nem YUYV", node.display()),
            })
        })?;
        let format = match mode.encoding {
            Encoding::Mjpeg => FrameFormat::MJPEG,
            Encoding::Yuyv => FrameFormat::YUYV,
        };
        let exact = CameraFormat::new_from(mode.width, mode.height, format, mode.fps);
        camera
            .set_camera_requset(RequestedFormat::with_formats(
                RequestedFormatType::Exact(exact),
                &ENCODINGS,
            ))
            .map_err(|e| fault(&node, "recusou o modo escolhido", e))?;
        let name = format!("Câmera fotográfica ({})", camera.info().human_name());
        Ok(Opened {
            camera,
            node,
            mode,
            name,
        })
    }

    /// Starts the stream, lets the sensor settle, keeps one frame and stops: a stream left
    /// running between photos would hand over a frame queued long ago, not what the lens
    /// sees when the inspector presses the button.
    fn grab(&mut self) -> Result<Frame, DeviceError> {
        self.camera
            .open_stream()
            .map_err(|e| fault(&self.node, "não iniciou a transmissão", e))?;
        let result = (|| {
            for _ in 0..WARMUP_FRAMES {
                self.camera
                    .frame_raw()
                    .map_err(|e| fault(&self.node, "parou de enviar quadros", e))?;
            }
            let buffer = self
                .camera
                .frame()
                .map_err(|e| fault(&self.node, "parou de enviar quadros", e))?;
            let res = buffer.resolution();
            raw::decode(
                self.mode.encoding,
                res.width(),
                res.height(),
                buffer.buffer(),
            )
        })();
        let _ = self.camera.stop_stream();
        result
    }
}

impl Device for UvcCamera {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(&self) -> DeviceStatus {
        if !self.node.exists() {
            return DeviceStatus::Missing;
        }
        match &self.fault {
            Some(reason) => DeviceStatus::Fault(reason.clone()),
            None => DeviceStatus::Ready,
        }
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        let started = Instant::now();
        let frame = self.capture()?;
        Ok(format!(
            "quadro de {}×{} ({:?}, {} q/s) capturado em {} ms",
            frame.width,
            frame.height,
            self.mode.encoding,
            self.mode.fps,
            started.elapsed().as_millis()
        ))
    }
}

impl StillCamera for UvcCamera {
    fn resolution(&self) -> (u32, u32) {
        (self.mode.width, self.mode.height)
    }

    fn capture(&mut self) -> Result<Frame, DeviceError> {
        if !self.node.exists() {
            return Err(DeviceError::Missing(format!(
                "a câmera em {} foi desconectada",
                self.node.display()
            )));
        }
        if self.fault.is_some() {
            // The last photo failed: the camera may have been unplugged and plugged back in,
            // which leaves the open device dead. Open it afresh.
            match UvcCamera::open(Some(&self.node.to_string_lossy())) {
                Ok(fresh) => *self = fresh,
                Err(e) => {
                    self.fault = Some(e.to_string());
                    return Err(e);
                }
            }
        }
        self.asked += 1;
        let result = match self.requests.send(self.asked) {
            Ok(()) => self.answer(),
            Err(_) => Err(DeviceError::Fault(format!(
                "a câmera em {} parou",
                self.node.display()
            ))),
        };
        self.fault = result.as_ref().err().map(ToString::to_string);
        result
    }
}

fn fault(node: &Path, what: &str, e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Fault(format!("a câmera em {} {what}: {e}", node.display()))
}

/// `/dev/videoN` or `N` → (N, `/dev/videoN`).
fn parse_address(address: &str) -> Result<(u32, PathBuf), DeviceError> {
    let digits = address.strip_prefix("/dev/video").unwrap_or(address);
    digits
        .parse::<u32>()
        .map(|n| (n, PathBuf::from(format!("/dev/video{n}"))))
        .map_err(|_| {
            DeviceError::Fault(format!(
                "endereço de câmera «{address}» inválido; use /dev/videoN ou N"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_a_video_node() {
        assert_eq!(
            parse_address("/dev/video2").expect("path"),
            (2, PathBuf::from("/dev/video2"))
        );
        assert_eq!(
            parse_address("0").expect("index"),
            (0, PathBuf::from("/dev/video0"))
        );
        let err = parse_address("usb:1").expect_err("bad");
        assert!(err.to_string().contains("/dev/videoN"), "{err}");
    }

    #[test]
    fn a_missing_camera_is_reported_as_missing() {
        let err = UvcCamera::open(Some("/dev/video987"))
            .err()
            .expect("no such node");
        assert!(matches!(err, DeviceError::Missing(_)), "{err}");
        assert!(err.to_string().contains("/dev/video987"), "{err}");
    }

    /// Runs against the camera on this machine, when there is one.
    #[test]
    fn captures_an_evidence_frame_from_the_attached_camera() {
        if !Path::new("/dev/video0").exists() {
            eprintln!("SKIP: no UVC camera at /dev/video0 on this machine");
            return;
        }
        let mut camera = match UvcCamera::open(None) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIP: /dev/video0 is not a usable camera: {e}");
                return;
            }
        };
        let (w, h) = camera.resolution();
        assert!(w >= super::super::MIN_WIDTH && h >= super::super::MIN_HEIGHT);
        let frame = camera.capture().expect("frame");
        assert_eq!((frame.width, frame.height), (w, h));
        assert_eq!(frame.rgb.len(), (w * h * 3) as usize);
    }
}
