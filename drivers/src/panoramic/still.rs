//! One full-size still from the panoramic camera (§7 a: "panorâmica do veículo (automática)"):
//! the recorder's preview is small (≈2 fps, scaled down for presence and the live view), so the
//! photo is read from the camera's stream at its own size over a short second session, decoded
//! by the borescope's reader (RTSP, RTP over TCP with a UDP fallback, corrupt frames dropped),
//! and the session closed. The frame's size and quality are checked by the capture pipeline.

use std::time::Duration;

use crate::DeviceError;
use crate::borescope::{Borescope, GstBorescope};
use crate::camera::Frame;

/// The camera at `url` (RTSP), one frame, within `timeout`.
pub fn grab(url: &str, timeout: Duration) -> Result<Frame, DeviceError> {
    if !url.starts_with("rtsp://") {
        return Err(DeviceError::Fault(format!(
            "endereço de câmera panorâmica não suportado: {}",
            scheme(url)
        )));
    }
    let mut stream = GstBorescope::open_at_least(url, timeout, (1, 1))?;
    stream.grab()
}

/// The scheme of `url`, never its credentials.
fn scheme(url: &str) -> &str {
    url.split_once("://").map_or("(sem esquema)", |(s, _)| s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::panoramic::test_server::{CameraConfig, TestCamera};

    #[test]
    fn a_still_at_the_cameras_own_size_in_colour() {
        let camera = TestCamera::start(&CameraConfig {
            width: 1600,
            height: 1024,
            fps: 8,
            colour: true,
            ..CameraConfig::default()
        })
        .unwrap();
        let frame = grab(&camera.url(), Duration::from_secs(15)).unwrap();
        assert_eq!((frame.width, frame.height), (1600, 1024));
        // The coloured scene, not a grey frame decoded without its keyframe.
        let chroma = frame
            .rgb
            .chunks_exact(3)
            .step_by(97)
            .filter(|p| p[0].abs_diff(p[2]) > 20)
            .count();
        assert!(chroma > 1000, "{chroma}");
        assert!(grab("http://127.0.0.1:1/x", Duration::from_secs(1)).is_err());
    }
}
