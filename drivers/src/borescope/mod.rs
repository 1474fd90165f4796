//! Borescope (§8, §18): Wi-Fi borescopes stream MJPEG over HTTP or RTSP; frames are read
//! through GStreamer and must be at least 800×600. The same reader takes the panoramic
//! camera's still ([`crate::panoramic::still`]).

pub mod mjpeg_server;

use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::camera::Frame;
use crate::{Device, DeviceError, DeviceStatus};

/// Smallest borescope image accepted (§18).
pub const MIN_WIDTH: u32 = 800;
/// Smallest borescope image accepted (§18).
pub const MIN_HEIGHT: u32 = 600;

/// A borescope that hands out still frames from its stream.
pub trait Borescope: Device {
    /// The latest frame, at least 800×600.
    fn grab(&mut self) -> Result<Frame, DeviceError>;
}

/// The GStreamer launch line for a stream URL: `http(s)://` is multipart MJPEG, `rtsp://`
/// anything `decodebin` handles. Frames end as RGB in an appsink that keeps only the newest.
///
/// RTSP goes interleaved over the TCP connection when `tcp` is set: over Wi-Fi a lost UDP
/// packet breaks a whole key frame, and a still photo needs an intact one. Otherwise rtspsrc
/// picks (UDP first), for borescopes that refuse TCP.
pub fn launch_line(url: &str, tcp: bool) -> Result<String, DeviceError> {
    let sink = "videoconvert ! video/x-raw,format=RGB ! appsink name=sink max-buffers=1 drop=true sync=false";
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(format!(
            "souphttpsrc location=\"{url}\" is-live=true ! multipartdemux ! jpegdec ! {sink}"
        ))
    } else if url.starts_with("rtsp://") {
        let protocols = if tcp { " protocols=tcp" } else { "" };
        Ok(format!(
            "rtspsrc location=\"{url}\" latency=100{protocols} ! decodebin ! {sink}"
        ))
    } else {
        Err(DeviceError::Fault(format!(
            "endereço de boroscópio não suportado: {url}"
        )))
    }
}

/// Why a grab failed when the pipeline said nothing.
const NO_IMAGE: &str = "sem imagem";

/// A running pipeline and the appsink at its end.
struct Stream {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
}

impl Stream {
    fn start(url: &str, tcp: bool) -> Result<Stream, DeviceError> {
        let pipeline = gst::parse::launch(&launch_line(url, tcp)?)
            .map_err(|e| DeviceError::Fault(format!("GStreamer: {e}")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| DeviceError::Fault("GStreamer: não é um pipeline".into()))?;
        // A photo must never be a frame decoded without its references (the grey smear of a
        // stream joined between keyframes): decoders drop those instead of handing them on.
        pipeline.connect_deep_element_added(|_, _, element| {
            if element.find_property("output-corrupt").is_some() {
                element.set_property("output-corrupt", false);
            }
        });
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| DeviceError::Fault("GStreamer: appsink ausente".into()))?;
        let stream = Stream { pipeline, sink };
        stream
            .pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| DeviceError::Missing(format!("{url}: {e}")))?;
        Ok(stream)
    }

    /// The first error the pipeline posted, if any.
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

impl Drop for Stream {
    fn drop(&mut self) {
        // Stopping can only fail if the pipeline is already gone.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The GStreamer backend.
pub struct GstBorescope {
    url: String,
    stream: Stream,
    /// RTSP still over TCP only (see [`launch_line`]).
    tcp: bool,
    timeout: Duration,
    status: DeviceStatus,
    /// Smallest frame accepted, `(width, height)`.
    min: (u32, u32),
}

impl GstBorescope {
    /// Connects to the stream and starts it.
    pub fn open(url: &str, timeout: Duration) -> Result<GstBorescope, DeviceError> {
        GstBorescope::open_at_least(url, timeout, (MIN_WIDTH, MIN_HEIGHT))
    }

    /// [`GstBorescope::open`] accepting frames from `min` up (another device's stream read the
    /// same way, whose size its caller checks).
    pub fn open_at_least(
        url: &str,
        timeout: Duration,
        min: (u32, u32),
    ) -> Result<GstBorescope, DeviceError> {
        gst::init().map_err(|e| DeviceError::Fault(format!("GStreamer: {e}")))?;
        let tcp = url.starts_with("rtsp://");
        Ok(GstBorescope {
            url: url.to_owned(),
            stream: Stream::start(url, tcp)?,
            tcp,
            timeout,
            status: DeviceStatus::Ready,
            min,
        })
    }

    /// The next frame, or why none came in time: the pipeline's error as soon as it posts one,
    /// "sem imagem" when the time runs out.
    fn pull(&self) -> Result<gst::Sample, String> {
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let slice = left.min(Duration::from_millis(100));
            let slice = gst::ClockTime::from_nseconds(slice.as_nanos() as u64);
            if let Some(sample) = self.stream.sink.try_pull_sample(slice) {
                return Ok(sample);
            }
            if let Some(reason) = self.stream.error() {
                return Err(reason);
            }
            if left.is_zero() {
                return Err(NO_IMAGE.into());
            }
        }
    }
}

/// Copies an RGB sample into a tight frame, enforcing the borescope's minimum size.
pub fn frame_from_sample(sample: &gst::Sample) -> Result<Frame, DeviceError> {
    frame_at_least(sample, (MIN_WIDTH, MIN_HEIGHT))
}

/// Copies an RGB sample into a tight frame of at least `min`.
pub fn frame_at_least(sample: &gst::Sample, min: (u32, u32)) -> Result<Frame, DeviceError> {
    let caps = sample
        .caps()
        .ok_or_else(|| DeviceError::Fault("quadro sem formato".into()))?;
    let s = caps
        .structure(0)
        .ok_or_else(|| DeviceError::Fault("quadro sem formato".into()))?;
    let width = s
        .get::<i32>("width")
        .map_err(|e| DeviceError::Fault(e.to_string()))? as u32;
    let height = s
        .get::<i32>("height")
        .map_err(|e| DeviceError::Fault(e.to_string()))? as u32;
    if width < min.0 || height < min.1 {
        return Err(DeviceError::Fault(format!(
            "imagem do boroscópio {width}×{height} abaixo do mínimo {}×{}",
            min.0, min.1
        )));
    }
    let buffer = sample
        .buffer()
        .ok_or_else(|| DeviceError::Fault("quadro vazio".into()))?;
    let map = buffer
        .map_readable()
        .map_err(|e| DeviceError::Fault(e.to_string()))?;
    let row = width as usize * 3;
    // GStreamer pads RGB rows to four bytes.
    let stride = row.div_ceil(4) * 4;
    if map.len() < stride * (height as usize - 1) + row {
        return Err(DeviceError::Fault("quadro truncado".into()));
    }
    let mut rgb = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        rgb.extend_from_slice(&map[y * stride..y * stride + row]);
    }
    Ok(Frame { width, height, rgb })
}

impl Device for GstBorescope {
    fn name(&self) -> &str {
        "Boroscópio"
    }

    fn status(&self) -> DeviceStatus {
        self.status.clone()
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        let f = self.grab()?;
        Ok(format!(
            "quadro de {}×{} recebido de {}",
            f.width, f.height, self.url
        ))
    }
}

impl Borescope for GstBorescope {
    fn grab(&mut self) -> Result<Frame, DeviceError> {
        let mut sample = self.pull();
        if let Err(reason) = &sample {
            // A borescope that refuses RTP over TCP (RTSP 461) gets asked once for UDP; one
            // that merely stays silent is not asked again.
            if self.tcp && reason != NO_IMAGE {
                tracing::warn!(url = %self.url, %reason, "borescope: TCP refused, trying UDP");
                self.stream = Stream::start(&self.url, false)?;
                self.tcp = false;
                sample = self.pull();
            }
        }
        match sample {
            Ok(sample) => {
                let frame = frame_at_least(&sample, self.min);
                self.status = match &frame {
                    Ok(_) => DeviceStatus::Ready,
                    Err(e) => DeviceStatus::Fault(e.to_string()),
                };
                frame
            }
            Err(reason) => {
                self.status = DeviceStatus::Fault(reason.clone());
                Err(DeviceError::Timeout(format!("{}: {reason}", self.url)))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::mjpeg_server::MjpegServer;
    use super::*;

    fn jpeg(w: u32, h: u32, shade: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn launch_lines_by_scheme() {
        assert!(
            launch_line("http://127.0.0.1:1/v", true)
                .unwrap()
                .contains("multipartdemux")
        );
        let rtsp = launch_line("rtsp://127.0.0.1:1/v", true).unwrap();
        assert!(
            rtsp.contains("rtspsrc") && rtsp.contains("protocols=tcp"),
            "{rtsp}"
        );
        let any = launch_line("rtsp://127.0.0.1:1/v", false).unwrap();
        assert!(!any.contains("protocols"), "{any}");
        assert!(launch_line("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn reads_mjpeg_over_http_from_a_local_server() {
        let server = MjpegServer::start(vec![jpeg(800, 600, 10), jpeg(800, 600, 200)], 20).unwrap();
        let mut scope = GstBorescope::open(&server.url(), Duration::from_secs(10)).unwrap();
        let frame = scope.grab().unwrap();
        assert_eq!((frame.width, frame.height), (800, 600));
        assert_eq!(frame.rgb.len(), 800 * 600 * 3);
        // The gradient survives: green follows x.
        let px = |x: usize, y: usize| &frame.rgb[(y * 800 + x) * 3..(y * 800 + x) * 3 + 3];
        assert!(px(200, 10)[1].abs_diff(200) < 12, "{:?}", px(200, 10));
        assert_eq!(scope.status(), DeviceStatus::Ready);
    }

    #[test]
    fn small_borescope_images_are_refused() {
        let server = MjpegServer::start(vec![jpeg(640, 480, 90)], 20).unwrap();
        let mut scope = GstBorescope::open(&server.url(), Duration::from_secs(10)).unwrap();
        let err = scope.grab().unwrap_err();
        assert!(err.to_string().contains("640×480"), "{err}");
        assert!(matches!(scope.status(), DeviceStatus::Fault(_)));
    }

    #[test]
    fn reads_rtsp_from_a_local_server() {
        use crate::panoramic::test_server::{CameraConfig, TestCamera};
        let camera = TestCamera::start(&CameraConfig {
            width: 800,
            height: 600,
            fps: 10,
            ..CameraConfig::default()
        })
        .unwrap();
        let mut scope = GstBorescope::open(&camera.url(), Duration::from_secs(15)).unwrap();
        let frame = scope.grab().unwrap();
        assert_eq!((frame.width, frame.height), (800, 600));
        assert!(scope.tcp, "RTP came over the RTSP connection");
    }

    #[test]
    fn a_borescope_refusing_tcp_is_read_over_udp() {
        use crate::panoramic::test_server::{CameraConfig, TestCamera};
        let camera = TestCamera::start(&CameraConfig {
            width: 800,
            height: 600,
            fps: 10,
            udp_only: true,
            ..CameraConfig::default()
        })
        .unwrap();
        let mut scope = GstBorescope::open(&camera.url(), Duration::from_secs(15)).unwrap();
        let frame = scope.grab().unwrap();
        assert_eq!((frame.width, frame.height), (800, 600));
        assert!(!scope.tcp);
        // Later photos stay on UDP.
        assert!(scope.grab().is_ok());
        assert_eq!(scope.status(), DeviceStatus::Ready);
    }

    #[test]
    fn a_dead_server_times_out() {
        let server = MjpegServer::start(vec![jpeg(800, 600, 10)], 20).unwrap();
        let url = server.url();
        drop(server);
        match GstBorescope::open(&url, Duration::from_secs(3)) {
            Ok(mut scope) => assert!(scope.grab().is_err()),
            Err(e) => assert!(matches!(e, DeviceError::Missing(_))),
        }
    }
}
