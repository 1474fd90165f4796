//! The panoramic camera's live view for the Detran portal (§7: the camera "deverá transmitir o
//! ambiente de vistoria durante todo o expediente"): small JPEG frames at a low, steady rate,
//! read over a second RTSP session of their own (IP cameras serve several clients), so the
//! recorder's session and its segments never depend on the stream to the central.
//!
//! JPEG frames rather than H.264: a browser shows a JPEG with no player, every instance of the
//! central can serve the newest frame from the shared metadata store with no decoder state, and
//! a frame lost on the way costs one frame, not a group of pictures. H.264 would need fewer bits
//! for the same picture, but at 3 fps and 480×270 the JPEGs fit the 300 kbit/s budget (the
//! quality is lowered on the fly when a scene does not, [`LiveCamera::set_quality`]).

use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::DeviceError;

/// What the live frames look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveFormat {
    /// Frames per second (at least 2, §7's live view in the portal).
    pub fps: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Initial JPEG quality, 1–100.
    pub quality: u32,
}

impl Default for LiveFormat {
    /// 3 fps at 480×270 (16:9, borders added for other shapes), quality 50: about 8–12 kB a
    /// frame for a station's bay, 200–290 kbit/s.
    fn default() -> Self {
        LiveFormat {
            fps: 3,
            width: 480,
            height: 270,
            quality: 50,
        }
    }
}

/// The GStreamer launch line for `url` in `format`. RTP goes interleaved over TCP (a lost UDP
/// packet would smear a whole frame); `videorate` drops frames down to the rate before they are
/// scaled and encoded, so the camera's own rate costs no encoding.
pub fn launch_line(url: &str, format: &LiveFormat) -> Result<String, DeviceError> {
    if !url.starts_with("rtsp://") {
        let scheme = url.split_once("://").map_or("(sem esquema)", |(s, _)| s);
        return Err(DeviceError::Fault(format!(
            "endereço de câmera panorâmica não suportado para a transmissão ao vivo: {scheme}"
        )));
    }
    if url.contains('"') {
        return Err(DeviceError::Fault(
            "endereço de câmera panorâmica com aspas".into(),
        ));
    }
    Ok(format!(
        "rtspsrc location=\"{url}\" latency=200 protocols=tcp ! decodebin ! videoconvert \
         ! videorate drop-only=true ! video/x-raw,framerate={fps}/1 \
         ! videoscale add-borders=true \
         ! video/x-raw,width={w},height={h},pixel-aspect-ratio=1/1 \
         ! jpegenc name=enc quality={q} \
         ! appsink name=sink max-buffers=2 drop=true sync=false",
        fps = format.fps.max(1),
        w = format.width,
        h = format.height,
        q = format.quality.clamp(1, 100),
    ))
}

/// A running live session with the camera. Dropping it closes the session.
pub struct LiveCamera {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    encoder: gst::Element,
}

impl LiveCamera {
    /// Opens a session with the camera at `url`.
    pub fn open(url: &str, format: &LiveFormat) -> Result<LiveCamera, DeviceError> {
        gst::init().map_err(|e| DeviceError::Fault(format!("GStreamer: {e}")))?;
        let pipeline = gst::parse::launch(&launch_line(url, format)?)
            .map_err(|e| DeviceError::Fault(format!("GStreamer: {e}")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| DeviceError::Fault("GStreamer: não é um pipeline".into()))?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| DeviceError::Fault("GStreamer: appsink ausente".into()))?;
        let encoder = pipeline
            .by_name("enc")
            .ok_or_else(|| DeviceError::Fault("GStreamer: jpegenc ausente".into()))?;
        let camera = LiveCamera {
            pipeline,
            sink,
            encoder,
        };
        camera
            .pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| DeviceError::Missing(format!("câmera panorâmica: {e}")))?;
        Ok(camera)
    }

    /// The next JPEG, or why none came within `timeout`: the pipeline's error as soon as it
    /// posts one (a camera gone), a timeout when frames stop (a frozen camera).
    pub fn next_jpeg(&self, timeout: Duration) -> Result<Vec<u8>, DeviceError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = gst::ClockTime::from_nseconds(
                left.min(Duration::from_millis(100)).as_nanos() as u64,
            );
            if let Some(sample) = self.sink.try_pull_sample(slice) {
                let buffer = sample
                    .buffer()
                    .ok_or_else(|| DeviceError::Fault("quadro vazio".into()))?;
                let map = buffer
                    .map_readable()
                    .map_err(|e| DeviceError::Fault(e.to_string()))?;
                return Ok(map.as_slice().to_vec());
            }
            if let Some(reason) = self.error() {
                return Err(DeviceError::Fault(format!("câmera panorâmica: {reason}")));
            }
            if self.sink.is_eos() {
                return Err(DeviceError::Fault(
                    "câmera panorâmica: transmissão encerrada".into(),
                ));
            }
            if left.is_zero() {
                return Err(DeviceError::Timeout(
                    "câmera panorâmica sem imagem ao vivo".into(),
                ));
            }
        }
    }

    /// Changes the JPEG quality from the next frame on (1–100).
    pub fn set_quality(&self, quality: u32) {
        self.encoder
            .set_property("quality", quality.clamp(1, 100) as i32);
    }

    fn error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Error(err) = msg.view() {
                return Some(err.error().to_string());
            }
        }
        None
    }
}

impl Drop for LiveCamera {
    fn drop(&mut self) {
        // Stopping can only fail if the pipeline is already gone.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::panoramic::test_server::{CameraConfig, TestCamera};

    #[test]
    fn small_jpegs_at_the_rate_from_a_second_session() {
        let camera = TestCamera::start(&CameraConfig {
            fps: 15,
            colour: true,
            ..CameraConfig::default()
        })
        .unwrap();
        let live = LiveCamera::open(&camera.url(), &LiveFormat::default()).unwrap();
        let first = live.next_jpeg(Duration::from_secs(15)).unwrap();
        assert_eq!(&first[..2], &[0xff, 0xd8], "a JPEG");
        let start = Instant::now();
        let mut frames = 0;
        while start.elapsed() < Duration::from_secs(4) {
            live.next_jpeg(Duration::from_secs(5)).unwrap();
            frames += 1;
        }
        // 3 fps from a 15 fps camera: frames dropped before encoding, none invented.
        assert!((9..=15).contains(&frames), "{frames} quadros em 4 s");
        live.set_quality(10);
        let small = live.next_jpeg(Duration::from_secs(5)).unwrap();
        let small = small
            .len()
            .min(live.next_jpeg(Duration::from_secs(5)).unwrap().len());
        assert!(small < first.len(), "{small} >= {}", first.len());
        assert!(LiveCamera::open("http://127.0.0.1:1/x", &LiveFormat::default()).is_err());
    }
}
