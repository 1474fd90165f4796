//! The GStreamer pipeline of one connection to the camera:
//!
//! ```text
//! rtspsrc → depay → parse ─┬─ (passthrough) tee ─┬─ queue → splitmuxsink (MP4 segments)
//!                          │                     └─ queue → decode → 2 fps → RGB → appsink (preview)
//!                          └─ (re-encode) decode → tee ─┬─ queue → scale/rate → x264 → parse → splitmuxsink
//!                                                       └─ queue → 2 fps → RGB → appsink
//! ```
//!
//! What follows `parse` is chosen when the camera's caps arrive (a caps probe on the parser's
//! source pad), because only then are its frame size and rate known: a stream that already meets
//! the minimums of §7 (≥ 4 fps, ≥ 860×480) is stored as sent, anything else is brought up to them.
//! A buffer probe on the same pad feeds the watchdog.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::manifest::StreamFormat;

/// Minimum frame size and rate of a stored recording (§7 last paragraph: "no mínimo 4 quadros
/// por segundo" at "resolução mínima de 860x480").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minimums {
    /// Frames per second.
    pub fps: u32,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
}

impl Default for Minimums {
    fn default() -> Self {
        Minimums {
            fps: 4,
            width: 860,
            height: 480,
        }
    }
}

/// Video codecs the recorder accepts from a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
}

impl Codec {
    /// From the RTP `encoding-name`.
    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        match name.to_ascii_uppercase().as_str() {
            "H264" => Some(Codec::H264),
            "H265" => Some(Codec::H265),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::H264 => "H264",
            Codec::H265 => "H265",
        }
    }

    fn elements(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Codec::H264 => ("rtph264depay", "h264parse", "avdec_h264"),
            Codec::H265 => ("rtph265depay", "h265parse", "avdec_h265"),
        }
    }
}

/// What the camera sends, read from the parser's caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceInfo {
    /// Codec.
    pub codec: Codec,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frame rate as a fraction; `None` when the stream does not declare it.
    pub fps: Option<(i32, i32)>,
}

/// How the stream is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// As sent by the camera.
    Passthrough,
    /// Decoded, scaled and encoded again with x264.
    Reencode {
        /// Output width (even).
        width: u32,
        /// Output height (even).
        height: u32,
        /// Output frames per second.
        fps: u32,
    },
}

/// Frame rate used when the camera does not declare one and the stream must be re-encoded.
pub const UNDECLARED_FPS: u32 = 10;

/// Chooses passthrough when the camera already meets `min`, otherwise the smallest upscale
/// that meets it with the aspect ratio kept.
pub fn plan(info: &SourceInfo, min: &Minimums) -> Plan {
    let fps = info
        .fps
        .filter(|&(n, d)| n > 0 && d > 0)
        .map(|(n, d)| f64::from(n) / f64::from(d));
    let size_ok = info.width >= min.width && info.height >= min.height;
    let fps_ok = fps.is_some_and(|f| f >= f64::from(min.fps));
    if size_ok && fps_ok {
        return Plan::Passthrough;
    }
    let (width, height) = if size_ok || info.width == 0 || info.height == 0 {
        (info.width.max(min.width), info.height.max(min.height))
    } else {
        let scale = (f64::from(min.width) / f64::from(info.width))
            .max(f64::from(min.height) / f64::from(info.height))
            .max(1.0);
        (
            (f64::from(info.width) * scale).ceil() as u32,
            (f64::from(info.height) * scale).ceil() as u32,
        )
    };
    let even = |v: u32| v + (v % 2);
    let fps = match fps {
        Some(f) if f >= f64::from(min.fps) => f.round() as u32,
        Some(_) => min.fps,
        None => UNDECLARED_FPS.max(min.fps),
    };
    Plan::Reencode {
        width: even(width),
        height: even(height),
        fps,
    }
}

/// RTP lower transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// UDP first, TCP if UDP gets nothing (rtspsrc's default).
    #[default]
    Auto,
    /// RTP interleaved in the RTSP TCP connection (crosses NAT and firewalls).
    Tcp,
    /// RTP over UDP.
    Udp,
}

/// What a pipeline needs to know.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Camera URL (may carry credentials).
    pub url: String,
    /// Transport.
    pub transport: Transport,
    /// User, when not in the URL.
    pub user: Option<String>,
    /// Password, when not in the URL.
    pub password: Option<String>,
    /// Segment location pattern (`…/segment-%05d.mp4`).
    pub location: PathBuf,
    /// Index of the first segment this pipeline writes.
    pub start_index: u32,
    /// Segment length.
    pub segment_length: Duration,
    /// Minimums the stored video must meet.
    pub minimums: Minimums,
    /// Preview frame width (height follows the aspect ratio).
    pub preview_width: u32,
    /// Preview frames per second.
    pub preview_fps: u32,
    /// rtspsrc jitter-buffer latency.
    pub latency: Duration,
    /// Re-encode even a stream that meets the minimums (benchmark comparison).
    pub force_reencode: bool,
}

/// A preview frame, packed RGB.
#[derive(Debug, Clone)]
pub struct PreviewFrame {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// State shared between the pipeline's streaming threads and the recorder.
pub struct PipelineShared {
    /// Frames that left the parser.
    pub frames: AtomicU64,
    /// When the last one did.
    pub last_frame: Mutex<Option<Instant>>,
    /// When the first one did.
    pub first_frame: Mutex<Option<Instant>>,
    /// Format chosen once caps arrived.
    pub format: Mutex<Option<StreamFormat>>,
    /// Where to send EOS to finalise the recording branch.
    entry: Mutex<Option<gst::Pad>>,
    preview: mpsc::Sender<PreviewFrame>,
}

impl PipelineShared {
    fn new(preview: mpsc::Sender<PreviewFrame>) -> PipelineShared {
        PipelineShared {
            frames: AtomicU64::new(0),
            last_frame: Mutex::new(None),
            first_frame: Mutex::new(None),
            format: Mutex::new(None),
            entry: Mutex::new(None),
            preview,
        }
    }
}

/// One connection: the pipeline and what its threads report.
pub struct CameraPipeline {
    /// The pipeline.
    pub pipeline: gst::Pipeline,
    /// Shared state.
    pub shared: Arc<PipelineShared>,
}

/// Name of the `rtspsrc` element; errors from inside it are the camera's.
pub const SOURCE_NAME: &str = "camera";
/// Structure name of the application message posted when the camera's stream is refused.
pub const REFUSED: &str = "vistoria-refused";

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("elemento GStreamer ausente: {factory} (instale os plugins)"))
}

impl CameraPipeline {
    /// Builds the pipeline (not started).
    pub fn build(
        config: &PipelineConfig,
        preview: mpsc::Sender<PreviewFrame>,
    ) -> Result<CameraPipeline, String> {
        gst::init().map_err(|e| format!("GStreamer indisponível: {e}"))?;
        let pipeline = gst::Pipeline::with_name("panoramic");
        let src = gst::ElementFactory::make("rtspsrc")
            .name(SOURCE_NAME)
            .property("location", &config.url)
            .property(
                "latency",
                u32::try_from(config.latency.as_millis()).unwrap_or(200),
            )
            // rtspsrc's own defaults wait 20 s on a dead TCP peer; the watchdog decides instead.
            .property("teardown-timeout", 100_000_000u64)
            .property("tcp-timeout", 5_000_000u64)
            .build()
            .map_err(|_| "elemento GStreamer ausente: rtspsrc (gstreamer1.0-plugins-good)")?;
        match config.transport {
            Transport::Auto => {}
            Transport::Tcp => src.set_property_from_str("protocols", "tcp"),
            Transport::Udp => src.set_property_from_str("protocols", "udp"),
        }
        if let Some(user) = &config.user {
            src.set_property("user-id", user);
        }
        if let Some(password) = &config.password {
            src.set_property("user-pw", password);
        }
        pipeline.add(&src).map_err(|e| format!("pipeline: {e}"))?;
        let shared = Arc::new(PipelineShared::new(preview));
        let weak = pipeline.downgrade();
        let shared_cb = Arc::clone(&shared);
        let config_cb = config.clone();
        src.connect_pad_added(move |_, pad| {
            let Some(pipeline) = weak.upgrade() else {
                return;
            };
            if let Err(reason) = on_source_pad(&pipeline, pad, &config_cb, &shared_cb) {
                let s = gst::Structure::builder(REFUSED)
                    .field("reason", reason)
                    .build();
                let _ = pipeline.post_message(gst::message::Application::new(s));
            }
        });
        Ok(CameraPipeline { pipeline, shared })
    }

    /// Sends EOS into the recording branch so splitmuxsink finalises the open segment. Returns
    /// false when no segment was ever opened (nothing to finalise).
    pub fn send_eos(&self) -> bool {
        let entry = self
            .shared
            .entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match entry {
            Some(pad) => pad.send_event(gst::event::Eos::new()),
            None => false,
        }
    }
}

fn on_source_pad(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    config: &PipelineConfig,
    shared: &Arc<PipelineShared>,
) -> Result<(), String> {
    let caps = pad.current_caps().ok_or("câmera sem formato declarado")?;
    let s = caps.structure(0).ok_or("câmera sem formato declarado")?;
    let media = s.get::<&str>("media").unwrap_or("");
    if media != "video" {
        // Audio and metadata streams are not recorded; they must still be consumed.
        let sink = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            .map_err(|e| e.to_string())?;
        pipeline.add(&sink).map_err(|e| e.to_string())?;
        sink.sync_state_with_parent().map_err(|e| e.to_string())?;
        let sink_pad = sink.static_pad("sink").ok_or("fakesink sem entrada")?;
        pad.link(&sink_pad).map_err(|e| e.to_string())?;
        return Ok(());
    }
    if shared
        .entry
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
    {
        return Err("a câmera enviou mais de um fluxo de vídeo".into());
    }
    let encoding = s.get::<&str>("encoding-name").unwrap_or("?");
    let codec = Codec::from_encoding_name(encoding).ok_or_else(|| {
        format!("a câmera envia vídeo {encoding}; configure-a para H.264 ou H.265")
    })?;
    let (depay_name, parse_name, _) = codec.elements();
    let depay = make(depay_name)?;
    let parse = make(parse_name)?;
    // MP4 wants length-prefixed access units; fixing it here, before the branches exist, keeps
    // the parser from settling on byte-stream while nothing is linked downstream.
    let (media_type, stream_format) = match codec {
        Codec::H264 => ("video/x-h264", "avc"),
        Codec::H265 => ("video/x-h265", "hvc1"),
    };
    let parsed = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder(media_type)
                .field("stream-format", stream_format)
                .field("alignment", "au")
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    pipeline
        .add_many([&depay, &parse, &parsed])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([&depay, &parse, &parsed]).map_err(|e| e.to_string())?;
    parsed.sync_state_with_parent().map_err(|e| e.to_string())?;
    parse.sync_state_with_parent().map_err(|e| e.to_string())?;
    depay.sync_state_with_parent().map_err(|e| e.to_string())?;
    let parse_src = parsed.static_pad("src").ok_or("parser sem saída")?;

    let watchdog = Arc::clone(shared);
    parse_src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let now = Instant::now();
        watchdog.frames.fetch_add(1, Ordering::Relaxed);
        *watchdog
            .last_frame
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(now);
        watchdog
            .first_frame
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(now);
        gst::PadProbeReturn::Ok
    });

    let weak = pipeline.downgrade();
    let config = config.clone();
    let shared = Arc::clone(shared);
    parse_src.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |pad, info| {
        let Some(gst::PadProbeData::Event(event)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Caps(caps) = event.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(pipeline) = weak.upgrade() else {
            return gst::PadProbeReturn::Remove;
        };
        let info = source_info(codec, caps.caps());
        if let Err(reason) = build_tail(&pipeline, pad, &info, &config, &shared) {
            let s = gst::Structure::builder(REFUSED)
                .field("reason", reason)
                .build();
            let _ = pipeline.post_message(gst::message::Application::new(s));
        }
        gst::PadProbeReturn::Remove
    });

    let depay_sink = depay.static_pad("sink").ok_or("depayloader sem entrada")?;
    pad.link(&depay_sink).map_err(|e| e.to_string())?;
    Ok(())
}

fn source_info(codec: Codec, caps: &gst::CapsRef) -> SourceInfo {
    let s = caps.structure(0);
    let int = |name: &str| {
        s.and_then(|s| s.get::<i32>(name).ok())
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    };
    let fps = s
        .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
        .map(|f| (f.numer(), f.denom()))
        .filter(|&(n, d)| n > 0 && d > 0);
    SourceInfo {
        codec,
        width: int("width"),
        height: int("height"),
        fps,
    }
}

fn build_tail(
    pipeline: &gst::Pipeline,
    parse_src: &gst::Pad,
    info: &SourceInfo,
    config: &PipelineConfig,
    shared: &Arc<PipelineShared>,
) -> Result<(), String> {
    let plan = match plan(info, &config.minimums) {
        Plan::Passthrough if config.force_reencode => Plan::Reencode {
            width: info.width & !1,
            height: info.height & !1,
            fps: info.fps.map_or(UNDECLARED_FPS, |(n, d)| {
                (f64::from(n) / f64::from(d)).round() as u32
            }),
        },
        other => other,
    };
    let source_fps = info.fps.map_or(0.0, |(n, d)| f64::from(n) / f64::from(d));
    let (_, _, decoder_name) = info.codec.elements();
    let splitmux = gst::ElementFactory::make("splitmuxsink")
        .property("muxer", robust_muxer(config.segment_length)?)
        .property("location", config.location.to_string_lossy().as_ref())
        .property(
            "max-size-time",
            u64::try_from(config.segment_length.as_nanos()).unwrap_or(u64::MAX),
        )
        .property(
            "start-index",
            i32::try_from(config.start_index).unwrap_or(0),
        )
        .property(
            "send-keyframe-requests",
            matches!(plan, Plan::Reencode { .. }),
        )
        .build()
        .map_err(|_| "elemento GStreamer ausente: splitmuxsink")?;
    let rec_queue = make("queue")?;
    let preview_queue = gst::ElementFactory::make("queue")
        .property("max-size-buffers", 0u32)
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 2_000_000_000u64)
        .property_from_str("leaky", "downstream")
        .build()
        .map_err(|e| e.to_string())?;
    let tee = make("tee")?;
    let (preview_chain, preview_sink) = preview_branch(info, config, shared)?;

    let format = match plan {
        Plan::Passthrough => StreamFormat {
            source_codec: info.codec.name().into(),
            source_width: info.width,
            source_height: info.height,
            source_fps,
            passthrough: true,
            width: info.width,
            height: info.height,
            fps: source_fps,
        },
        Plan::Reencode { width, height, fps } => StreamFormat {
            source_codec: info.codec.name().into(),
            source_width: info.width,
            source_height: info.height,
            source_fps,
            passthrough: false,
            width,
            height,
            fps: f64::from(fps),
        },
    };

    let entry = match plan {
        Plan::Passthrough => {
            // tee → queue → splitmuxsink ; tee → queue → decoder → preview
            let decoder = make(decoder_name)?;
            let mut all = vec![&tee, &rec_queue, &splitmux, &preview_queue, &decoder];
            all.extend(preview_chain.iter());
            pipeline
                .add_many(all.iter().copied())
                .map_err(|e| e.to_string())?;
            gst::Element::link_many([&tee, &rec_queue, &splitmux]).map_err(|e| e.to_string())?;
            let mut prev = vec![&tee, &preview_queue, &decoder];
            prev.extend(preview_chain.iter());
            gst::Element::link_many(prev).map_err(|e| e.to_string())?;
            for e in all.iter().rev() {
                e.sync_state_with_parent().map_err(|e| e.to_string())?;
            }
            tee.static_pad("sink").ok_or("tee sem entrada")?
        }
        Plan::Reencode { width, height, fps } => {
            // decoder → tee → queue → scale/rate → x264 → parse → splitmux ; tee → queue → preview
            let decoder = make(decoder_name)?;
            let scale = make("videoscale")?;
            let rate = make("videorate")?;
            let convert = make("videoconvert")?;
            let caps = gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("width", i32::try_from(width).unwrap_or(i32::MAX))
                .field("height", i32::try_from(height).unwrap_or(i32::MAX))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .field(
                    "framerate",
                    gst::Fraction::new(i32::try_from(fps).unwrap_or(4), 1),
                )
                .build();
            let filter = gst::ElementFactory::make("capsfilter")
                .property("caps", &caps)
                .build()
                .map_err(|e| e.to_string())?;
            let encoder = gst::ElementFactory::make("x264enc")
                .property_from_str("tune", "zerolatency")
                .property_from_str("speed-preset", "veryfast")
                .property("key-int-max", fps.saturating_mul(2).max(1))
                .property("bitrate", bitrate_kbps(width, height, fps))
                .build()
                .map_err(|_| "elemento GStreamer ausente: x264enc (gstreamer1.0-plugins-ugly)")?;
            let reparse = make("h264parse")?;
            let mut all = vec![
                &decoder,
                &tee,
                &rec_queue,
                &scale,
                &rate,
                &convert,
                &filter,
                &encoder,
                &reparse,
                &splitmux,
                &preview_queue,
            ];
            all.extend(preview_chain.iter());
            pipeline
                .add_many(all.iter().copied())
                .map_err(|e| e.to_string())?;
            gst::Element::link_many([
                &decoder, &tee, &rec_queue, &scale, &rate, &convert, &filter, &encoder, &reparse,
                &splitmux,
            ])
            .map_err(|e| e.to_string())?;
            let mut prev = vec![&tee, &preview_queue];
            prev.extend(preview_chain.iter());
            gst::Element::link_many(prev).map_err(|e| e.to_string())?;
            for e in all.iter().rev() {
                e.sync_state_with_parent().map_err(|e| e.to_string())?;
            }
            decoder
                .static_pad("sink")
                .ok_or("decodificador sem entrada")?
        }
    };
    drop(preview_sink);
    *shared.format.lock().unwrap_or_else(PoisonError::into_inner) = Some(format);
    *shared.entry.lock().unwrap_or_else(PoisonError::into_inner) = Some(entry.clone());
    parse_src.link(&entry).map_err(|e| e.to_string())?;
    Ok(())
}

/// `mp4mux` in robust-muxing mode: room for the index is reserved at the start of each file and
/// the index is rewritten every second, so a segment cut by a crash or a power loss (no EOS, no
/// final index) still plays up to its last second and can be recovered at the next start.
fn robust_muxer(segment_length: Duration) -> Result<gst::Element, String> {
    // Segments end on a keyframe after their length; leave a generous margin for that.
    let reserve = segment_length + Duration::from_secs(30).max(segment_length / 2);
    gst::ElementFactory::make("mp4mux")
        .property(
            "reserved-max-duration",
            u64::try_from(reserve.as_nanos()).unwrap_or(u64::MAX),
        )
        .property("reserved-moov-update-period", 1_000_000_000u64)
        .build()
        .map_err(|_| "elemento GStreamer ausente: mp4mux (gstreamer1.0-plugins-good)".to_owned())
}

/// A bitrate that keeps a 720p scene legible without filling the disk: ~0.1 bit per pixel.
fn bitrate_kbps(width: u32, height: u32, fps: u32) -> u32 {
    let bits = u64::from(width) * u64::from(height) * u64::from(fps) / 10;
    u32::try_from(bits / 1000)
        .unwrap_or(u32::MAX)
        .clamp(500, 8000)
}

/// `videorate → videoscale → videoconvert → capsfilter → appsink`, raw video in.
fn preview_branch(
    info: &SourceInfo,
    config: &PipelineConfig,
    shared: &Arc<PipelineShared>,
) -> Result<(Vec<gst::Element>, gst_app::AppSink), String> {
    let rate = gst::ElementFactory::make("videorate")
        .property("drop-only", true)
        .property(
            "max-rate",
            i32::try_from(config.preview_fps.max(1)).unwrap_or(2),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let scale = make("videoscale")?;
    let convert = make("videoconvert")?;
    let width = config.preview_width.max(16) & !1;
    let height = if info.width > 0 {
        (u64::from(width) * u64::from(info.height) / u64::from(info.width)).max(2) as u32 & !1
    } else {
        (width * 9 / 16) & !1
    };
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", i32::try_from(width).unwrap_or(320))
        .field("height", i32::try_from(height).unwrap_or(180))
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build();
    let sink = gst_app::AppSink::builder()
        .caps(&caps)
        .max_buffers(1)
        .drop(true)
        .sync(false)
        .build();
    sink.set_property("async", false);
    let shared = Arc::clone(shared);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let Ok(map) = buffer.map_readable() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                // Rows may be padded to 4 bytes; copy them tightly.
                let stride = (width as usize * 3).div_ceil(4) * 4;
                let row = width as usize * 3;
                let mut rgb = Vec::with_capacity(row * height as usize);
                for y in 0..height as usize {
                    if let Some(line) = map.get(y * stride..y * stride + row) {
                        rgb.extend_from_slice(line);
                    }
                }
                if rgb.len() == row * height as usize {
                    let _ = shared.preview.send(PreviewFrame {
                        width,
                        height,
                        rgb,
                        at: Instant::now(),
                    });
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let convert_caps = gst::ElementFactory::make("capsfilter")
        .property("caps", &caps)
        .build()
        .map_err(|e| e.to_string())?;
    let elements = vec![rate, scale, convert, convert_caps, sink.clone().upcast()];
    Ok((elements, sink))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(width: u32, height: u32, fps: Option<(i32, i32)>) -> SourceInfo {
        SourceInfo {
            codec: Codec::H264,
            width,
            height,
            fps,
        }
    }

    #[test]
    fn a_stream_meeting_the_minimums_is_stored_as_sent() {
        let min = Minimums::default();
        assert_eq!(
            plan(&info(1280, 720, Some((15, 1))), &min),
            Plan::Passthrough
        );
        assert_eq!(plan(&info(860, 480, Some((4, 1))), &min), Plan::Passthrough);
        assert_eq!(
            plan(&info(1920, 1080, Some((30000, 1001))), &min),
            Plan::Passthrough
        );
    }

    #[test]
    fn a_slow_stream_is_brought_to_four_fps_at_its_own_size() {
        assert_eq!(
            plan(&info(1280, 720, Some((2, 1))), &Minimums::default()),
            Plan::Reencode {
                width: 1280,
                height: 720,
                fps: 4
            }
        );
    }

    #[test]
    fn a_small_stream_is_upscaled_keeping_its_aspect() {
        // 640×360 (16:9): 860/640 = 1.34375 wins over 480/360 = 1.333….
        assert_eq!(
            plan(&info(640, 360, Some((15, 1))), &Minimums::default()),
            Plan::Reencode {
                width: 860,
                height: 484,
                fps: 15
            }
        );
        // 4:3 camera at full height: only the width is short.
        assert_eq!(
            plan(&info(640, 480, Some((25, 1))), &Minimums::default()),
            Plan::Reencode {
                width: 860,
                height: 646,
                fps: 25
            }
        );
    }

    #[test]
    fn an_undeclared_rate_is_re_encoded_at_a_known_one() {
        assert_eq!(
            plan(&info(1280, 720, None), &Minimums::default()),
            Plan::Reencode {
                width: 1280,
                height: 720,
                fps: UNDECLARED_FPS
            }
        );
    }

    #[test]
    fn codecs_come_from_the_rtp_encoding_name() {
        assert_eq!(Codec::from_encoding_name("h264"), Some(Codec::H264));
        assert_eq!(Codec::from_encoding_name("H265"), Some(Codec::H265));
        assert_eq!(Codec::from_encoding_name("JPEG"), None);
    }
}
