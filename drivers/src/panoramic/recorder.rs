//! The recorder: one thread that keeps a camera pipeline running from the opening of an
//! inspection to its stop, rebuilding it whenever video is lost, and writes the manifest.
//!
//! Video loss (§17e) is declared by a watchdog when no frame has left the parser for
//! `loss_timeout` (3 s), or at once when the pipeline reports an error; the pipeline is then
//! torn down (its open segment finalised with EOS so it stays playable), and rebuilt with
//! exponential backoff until frames flow again. Each loss becomes a [`Gap`] from the last frame
//! to the first frame after reconnection.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use vistoria_core::clock::{CentralClock, CentralStamp};

use super::manifest::{Gap, GapCause, Manifest, Presence, PresenceSpan, StreamFormat};
use super::pipeline::{
    CameraPipeline, Minimums, PipelineConfig, PreviewFrame, REFUSED, SOURCE_NAME, Transport,
};
use super::presence::{GrayFrame, PresenceConfig, PresenceDetector};
use super::segments::{OpenSegments, hash_segment};

/// How to record one camera.
#[derive(Clone)]
pub struct RecorderConfig {
    /// `rtsp://[user:password@]host[:port]/path`.
    pub url: String,
    /// RTP transport.
    pub transport: Transport,
    /// User, when not in the URL.
    pub user: Option<String>,
    /// Password, when not in the URL.
    pub password: Option<String>,
    /// Directory for segments and `manifest.json` (created).
    pub out_dir: PathBuf,
    /// Segment length (default 60 s).
    pub segment_length: Duration,
    /// No frames for this long is video loss (default 3 s, §17e).
    pub loss_timeout: Duration,
    /// First wait before reconnecting.
    pub backoff_initial: Duration,
    /// Longest wait between reconnection attempts.
    pub backoff_max: Duration,
    /// Minimum stored size and rate (§7).
    pub minimums: Minimums,
    /// Presence detection.
    pub presence: PresenceConfig,
    /// Preview width in pixels.
    pub preview_width: u32,
    /// Preview frames per second.
    pub preview_fps: u32,
    /// rtspsrc jitter-buffer latency.
    pub latency: Duration,
    /// Central clock for stamps (2d); `None` records offsets only.
    pub clock: Option<CentralClock>,
    /// Re-encode even a stream that meets the minimums (benchmark comparison).
    pub force_reencode: bool,
    /// A recording a crash cut short, as [`super::recovery::recover`] left it: the new
    /// recording continues its timeline, its segment numbering and its presence timeline, and
    /// its last gap (open at the crash) closes at the first frame.
    pub resume: Option<Manifest>,
}

impl RecorderConfig {
    /// Defaults: auto transport, 60 s segments, 3 s loss timeout, 0.5…4 s backoff.
    pub fn new(url: &str, out_dir: &Path) -> RecorderConfig {
        RecorderConfig {
            url: url.to_owned(),
            transport: Transport::Auto,
            user: None,
            password: None,
            out_dir: out_dir.to_owned(),
            segment_length: Duration::from_secs(60),
            loss_timeout: Duration::from_secs(3),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(4),
            minimums: Minimums::default(),
            presence: PresenceConfig::default(),
            preview_width: 320,
            preview_fps: 2,
            latency: Duration::from_millis(200),
            clock: None,
            force_reencode: false,
            resume: None,
        }
    }
}

/// What the recorder tells the UI and the audit log, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderEvent {
    /// Frames are flowing, in this format.
    Connected(StreamFormat),
    /// Video lost (§17e): tell the inspector and the audit log at once.
    VideoLost {
        /// Seconds from the start of the last frame.
        at_s: f64,
        /// Why.
        cause: GapCause,
        /// Detail for the technician (Portuguese).
        detail: String,
    },
    /// Video back after a loss.
    VideoRestored {
        /// Seconds from the start of the first frame.
        at_s: f64,
        /// Length of the gap.
        missing_s: f64,
    },
    /// A segment was finalised and hashed.
    SegmentFinished(super::manifest::SegmentEntry),
    /// The bay became occupied or empty.
    PresenceChanged {
        /// New state.
        state: Presence,
        /// Seconds from the start.
        at_s: f64,
    },
}

/// Why recording could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The output directory is unusable.
    #[error("não foi possível usar a pasta de gravação {0}: {1}")]
    OutDir(PathBuf, std::io::Error),
    /// GStreamer is missing.
    #[error("GStreamer indisponível: {0}")]
    Gstreamer(String),
    /// The manifest could not be written.
    #[error("não foi possível gravar o manifesto da gravação: {0}")]
    Manifest(std::io::Error),
    /// The recorder thread died.
    #[error("a gravação terminou de forma inesperada")]
    Crashed,
}

/// The live state the UI reads.
#[derive(Debug, Clone, Default)]
pub struct LiveStatus {
    /// True while frames flow.
    pub receiving: bool,
    /// Format of the current connection.
    pub format: Option<StreamFormat>,
    /// Latest preview frame (≈2 fps).
    pub preview: Option<PreviewFrame>,
    /// Current presence state; `None` before the first frame, after a loss, and always
    /// when presence is not calibrated (see [`super::presence`]).
    pub presence: Option<Presence>,
    /// Segments finished so far.
    pub segments: usize,
}

/// A running recording. [`Recorder::stop`] ends it and returns the manifest.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    events: mpsc::Receiver<RecorderEvent>,
    live: Arc<Mutex<LiveStatus>>,
    thread: JoinHandle<Result<Manifest, RecorderError>>,
}

impl Recorder {
    /// Starts recording (returns at once; connection happens in the background).
    pub fn start(config: RecorderConfig) -> Result<Recorder, RecorderError> {
        gst::init().map_err(|e| RecorderError::Gstreamer(e.to_string()))?;
        std::fs::create_dir_all(&config.out_dir)
            .map_err(|e| RecorderError::OutDir(config.out_dir.clone(), e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(LiveStatus::default()));
        let (events_tx, events) = mpsc::channel();
        let thread = {
            let stop = Arc::clone(&stop);
            let live = Arc::clone(&live);
            std::thread::Builder::new()
                .name("panoramic".into())
                .spawn(move || Supervisor::new(config, stop, live, events_tx).run())
                .map_err(|e| RecorderError::Gstreamer(e.to_string()))?
        };
        Ok(Recorder {
            stop,
            events,
            live,
            thread,
        })
    }

    /// Events so far and as they come.
    pub fn events(&self) -> &mpsc::Receiver<RecorderEvent> {
        &self.events
    }

    /// A snapshot of the live state.
    pub fn live(&self) -> LiveStatus {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops: EOS into the pipeline, last segment finalised and hashed, manifest written.
    pub fn stop(self) -> Result<Manifest, RecorderError> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().map_err(|_| RecorderError::Crashed)?
    }
}

/// A loss still open.
struct OpenGap {
    start_s: f64,
    start_at: Option<CentralStamp>,
    cause: GapCause,
    detail: String,
}

/// How one connection ended.
enum SessionEnd {
    Stopped,
    Lost {
        cause: GapCause,
        detail: String,
        /// Last frame of the session, if any came.
        last_frame: Option<Instant>,
    },
}

struct Supervisor {
    config: RecorderConfig,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<LiveStatus>>,
    events: mpsc::Sender<RecorderEvent>,
    t0: Instant,
    /// Seconds of the timeline before `t0` (a resumed recording).
    offset_s: f64,
    manifest: Manifest,
    presence: PresenceDetector,
    /// Presence timeline of the recording before a crash.
    prior_presence: Vec<PresenceSpan>,
    open_gap: Option<OpenGap>,
    next_index: u32,
}

impl Supervisor {
    fn new(
        config: RecorderConfig,
        stop: Arc<AtomicBool>,
        live: Arc<Mutex<LiveStatus>>,
        events: mpsc::Sender<RecorderEvent>,
    ) -> Supervisor {
        let t0 = Instant::now();
        let started_at = config.clock.as_ref().and_then(|c| c.now().ok());
        let mut manifest = Manifest::new(&config.url, started_at);
        let mut open_gap = None;
        let mut next_index = 0;
        let mut offset_s = 0.0;
        let mut prior_presence = Vec::new();
        if let Some(resumed) = config.resume.clone() {
            manifest = resumed;
            manifest.complete = false;
            offset_s = manifest.seconds;
            prior_presence = std::mem::take(&mut manifest.presence);
            next_index = super::recovery::next_segment_index(&config.out_dir);
            if manifest.gaps.last().is_some_and(|g| g.open_at_stop) {
                open_gap = manifest.gaps.pop().map(|g| OpenGap {
                    start_s: g.start_s,
                    start_at: g.start_at,
                    cause: g.cause,
                    detail: g.detail,
                });
            }
        }
        manifest.presence_basis = config.presence.basis();
        Supervisor {
            manifest,
            presence: PresenceDetector::new(config.presence.clone()),
            prior_presence,
            config,
            stop,
            live,
            events,
            t0,
            offset_s,
            open_gap,
            next_index,
        }
    }

    fn secs(&self, at: Instant) -> f64 {
        self.offset_s + at.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// The presence timeline, the part before a crash included, the open span ending at `t_s`.
    fn presence_timeline(&self, t_s: f64) -> Vec<PresenceSpan> {
        let mut spans = self.prior_presence.clone();
        spans.extend(self.presence.snapshot(t_s));
        spans
    }

    /// Central time of a past instant: now's stamp minus the time since.
    fn stamp(&self, at: Instant) -> Option<CentralStamp> {
        let now = self.config.clock.as_ref()?.now().ok()?;
        let back = Instant::now().saturating_duration_since(at);
        let back_ms = u64::try_from(back.as_millis()).unwrap_or(u64::MAX);
        Some(CentralStamp {
            at: now.at - chrono::Duration::from_std(back).unwrap_or_default(),
            sync_age_ms: now.sync_age_ms.saturating_sub(back_ms),
        })
    }

    fn emit(&self, event: RecorderEvent) {
        let _ = self.events.send(event);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(mut self) -> Result<Manifest, RecorderError> {
        // On disk from the start, so a crash before the first segment still leaves the
        // recording's central start time for recovery.
        self.write_manifest();
        let mut backoff = self.config.backoff_initial;
        loop {
            if self.stopping() {
                break;
            }
            let attempt = Instant::now();
            let end = self.session();
            match end {
                SessionEnd::Stopped => break,
                SessionEnd::Lost {
                    cause,
                    detail,
                    last_frame,
                } => {
                    if last_frame.is_some() {
                        backoff = self.config.backoff_initial;
                    }
                    if self.open_gap.is_none() {
                        let start = last_frame.unwrap_or(attempt);
                        tracing::warn!(cause = ?cause, %detail, "perda de vídeo");
                        self.emit(RecorderEvent::VideoLost {
                            at_s: self.secs(start),
                            cause,
                            detail: detail.clone(),
                        });
                        self.presence.interrupt(self.secs(start));
                        self.set_live(|l| {
                            l.receiving = false;
                            l.presence = None;
                        });
                        self.open_gap = Some(OpenGap {
                            start_s: self.secs(start),
                            start_at: self.stamp(start),
                            cause,
                            detail,
                        });
                    }
                    let wake = Instant::now() + backoff;
                    while Instant::now() < wake && !self.stopping() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    backoff = (backoff * 2).min(self.config.backoff_max);
                }
            }
        }
        let end = Instant::now();
        let end_s = self.secs(end);
        if let Some(gap) = self.open_gap.take() {
            self.manifest.stopped_during_loss = true;
            self.close_gap(gap, end, true);
        }
        self.manifest.seconds = end_s;
        self.manifest.stopped_at = self.stamp(end);
        self.manifest.presence = self.presence_timeline(end_s);
        self.manifest.complete = true;
        self.manifest
            .write_to(&self.config.out_dir)
            .map_err(RecorderError::Manifest)?;
        Ok(self.manifest)
    }

    fn set_live(&self, f: impl FnOnce(&mut LiveStatus)) {
        f(&mut self.live.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn close_gap(&mut self, gap: OpenGap, end: Instant, open_at_stop: bool) {
        let entry = Gap {
            start_s: gap.start_s,
            end_s: self.secs(end).max(gap.start_s),
            start_at: gap.start_at,
            end_at: self.stamp(end),
            cause: gap.cause,
            detail: gap.detail,
            open_at_stop,
        };
        if !open_at_stop {
            self.emit(RecorderEvent::VideoRestored {
                at_s: entry.end_s,
                missing_s: entry.end_s - entry.start_s,
            });
        }
        self.manifest.gaps.push(entry);
        self.write_manifest();
    }

    fn write_manifest(&mut self) {
        let now_s = self.secs(Instant::now());
        self.manifest.seconds = now_s;
        self.manifest.presence = self.presence_timeline(now_s);
        if let Err(e) = self.manifest.write_to(&self.config.out_dir) {
            tracing::error!(error = %e, "manifesto da gravação");
        }
    }

    /// One connection, from build to teardown.
    fn session(&mut self) -> SessionEnd {
        let (preview_tx, preview_rx) = mpsc::channel();
        let pipeline_config = PipelineConfig {
            url: self.config.url.clone(),
            transport: self.config.transport,
            user: self.config.user.clone(),
            password: self.config.password.clone(),
            location: self.config.out_dir.join("segment-%05d.mp4"),
            start_index: self.next_index,
            segment_length: self.config.segment_length,
            minimums: self.config.minimums,
            preview_width: self.config.preview_width,
            preview_fps: self.config.preview_fps,
            latency: self.config.latency,
            force_reencode: self.config.force_reencode,
        };
        let camera = match CameraPipeline::build(&pipeline_config, preview_tx) {
            Ok(camera) => camera,
            Err(detail) => {
                return SessionEnd::Lost {
                    cause: GapCause::SystemFailure,
                    detail,
                    last_frame: None,
                };
            }
        };
        let bus = camera.pipeline.bus();
        let play_at = Instant::now();
        let mut segments = OpenSegments::new(play_at);
        if camera.pipeline.set_state(gst::State::Playing).is_err() {
            let _ = camera.pipeline.set_state(gst::State::Null);
            return SessionEnd::Lost {
                cause: GapCause::SystemFailure,
                detail: "o pipeline de gravação não iniciou".into(),
                last_frame: None,
            };
        }
        let mut connected = false;
        let end = loop {
            if self.stopping() {
                break SessionEnd::Stopped;
            }
            if let Some(msg) = bus
                .as_ref()
                .and_then(|b| b.timed_pop(gst::ClockTime::from_mseconds(100)))
                && let Some(end) = self.on_message(&msg, &mut segments, &camera)
            {
                break end;
            }
            self.drain_preview(&preview_rx);
            let last = *camera
                .shared
                .last_frame
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !connected
                && let Some(first) = *camera
                    .shared
                    .first_frame
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
            {
                connected = true;
                let format = camera
                    .shared
                    .format
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(format) = &format {
                    self.manifest.format = Some(format.clone());
                    self.emit(RecorderEvent::Connected(format.clone()));
                }
                self.set_live(|l| {
                    l.receiving = true;
                    l.format = format;
                });
                if let Some(gap) = self.open_gap.take() {
                    tracing::info!("vídeo restabelecido");
                    self.close_gap(gap, first, false);
                }
            }
            let quiet_since = last.unwrap_or(play_at);
            if quiet_since.elapsed() > self.config.loss_timeout {
                let (cause, detail) = if last.is_some() {
                    (
                        GapCause::NoFrames,
                        format!(
                            "nenhum quadro da câmera por {} s",
                            self.config.loss_timeout.as_secs_f64()
                        ),
                    )
                } else {
                    (
                        GapCause::ConnectionLost,
                        format!(
                            "a câmera não enviou imagem em {} s",
                            self.config.loss_timeout.as_secs_f64()
                        ),
                    )
                };
                break SessionEnd::Lost {
                    cause,
                    detail,
                    last_frame: last,
                };
            }
        };
        self.teardown(&camera, bus.as_ref(), &mut segments);
        self.drain_preview(&preview_rx);
        self.next_index = segments.next_index(self.next_index);
        self.write_manifest();
        match end {
            SessionEnd::Lost { cause, detail, .. } => SessionEnd::Lost {
                cause,
                detail,
                // Re-read: frames may have arrived while the bus said something else.
                last_frame: *camera
                    .shared
                    .last_frame
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            },
            SessionEnd::Stopped => SessionEnd::Stopped,
        }
    }

    /// Finalises the open segment (EOS, wait for splitmuxsink to close it) and stops.
    fn teardown(
        &mut self,
        camera: &CameraPipeline,
        bus: Option<&gst::Bus>,
        segments: &mut OpenSegments,
    ) {
        if camera.send_eos() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while segments.has_open() && Instant::now() < deadline {
                let Some(msg) = bus.and_then(|b| b.timed_pop(gst::ClockTime::from_mseconds(100)))
                else {
                    continue;
                };
                if let gst::MessageView::Error(err) = msg.view() {
                    tracing::warn!(error = %err.error(), "erro ao finalizar segmento");
                    break;
                }
                let _ = self.on_message(&msg, segments, camera);
            }
        }
        let _ = camera.pipeline.set_state(gst::State::Null);
        // Whatever splitmuxsink did not report closed: keep it if it is a playable file.
        for (location, start) in segments.take_open() {
            self.finish_segment(&location, start, Instant::now());
        }
    }

    fn on_message(
        &mut self,
        msg: &gst::Message,
        segments: &mut OpenSegments,
        camera: &CameraPipeline,
    ) -> Option<SessionEnd> {
        let last_frame = || {
            *camera
                .shared
                .last_frame
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        match msg.view() {
            gst::MessageView::Element(e) => {
                let s = e.structure()?;
                let location = s.get::<&str>("location").ok()?;
                let running = s.get::<u64>("running-time").ok().map(Duration::from_nanos);
                match s.name().as_str() {
                    "splitmuxsink-fragment-opened" => segments.opened(location, running),
                    "splitmuxsink-fragment-closed" => {
                        if let Some((start, end)) = segments.closed(location, running) {
                            self.finish_segment(location, start, end);
                        }
                    }
                    _ => {}
                }
                None
            }
            gst::MessageView::Application(a) => {
                let s = a.structure()?;
                if s.name() != REFUSED {
                    return None;
                }
                let reason = s.get::<String>("reason").unwrap_or_default();
                Some(SessionEnd::Lost {
                    cause: GapCause::SystemFailure,
                    detail: format!("fluxo da câmera recusado: {reason}"),
                    last_frame: last_frame(),
                })
            }
            gst::MessageView::Error(err) => {
                let from_camera = msg
                    .src()
                    .map(|s| s.path_string().contains(&format!(":{SOURCE_NAME}")))
                    .unwrap_or(false);
                let disk_full = err.error().matches(gst::ResourceError::NoSpaceLeft);
                let (cause, detail) = if disk_full {
                    (GapCause::SystemFailure, "disco cheio".to_owned())
                } else if from_camera {
                    (GapCause::ConnectionLost, err.error().to_string())
                } else {
                    (GapCause::SystemFailure, err.error().to_string())
                };
                tracing::debug!(debug = ?err.debug(), "erro do pipeline");
                Some(SessionEnd::Lost {
                    cause,
                    detail,
                    last_frame: last_frame(),
                })
            }
            gst::MessageView::Eos(_) => Some(SessionEnd::Lost {
                cause: GapCause::ConnectionLost,
                detail: "a câmera encerrou a transmissão".into(),
                last_frame: last_frame(),
            }),
            _ => None,
        }
    }

    fn finish_segment(&mut self, location: &str, start: Instant, end: Instant) {
        let path = Path::new(location);
        match hash_segment(path) {
            Ok(Some(digests)) => {
                let entry = super::manifest::SegmentEntry {
                    file: path
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    digests,
                    start_s: self.secs(start),
                    end_s: self.secs(end),
                    start_at: self.stamp(start),
                    end_at: self.stamp(end),
                    recovered: false,
                };
                self.emit(RecorderEvent::SegmentFinished(entry.clone()));
                self.manifest.segments.push(entry);
                let count = self.manifest.segments.len();
                self.set_live(|l| l.segments = count);
                self.write_manifest();
            }
            Ok(None) => {
                // splitmuxsink opened the file but nothing was written: not a segment.
                let _ = std::fs::remove_file(path);
            }
            Err(e) => tracing::error!(error = %e, location, "segmento ilegível"),
        }
    }

    fn drain_preview(&mut self, rx: &mpsc::Receiver<PreviewFrame>) {
        while let Ok(frame) = rx.try_recv() {
            let t = self.secs(frame.at);
            let before = self.presence.state();
            let gray = GrayFrame::from_rgb(frame.width, frame.height, &frame.rgb);
            // `None`: not calibrated (or the reference does not fit): nothing is claimed.
            let state = self.presence.observe(t, &gray);
            if let Some(state) = state.filter(|s| before != Some(*s)) {
                self.emit(RecorderEvent::PresenceChanged { state, at_s: t });
            }
            self.set_live(|l| {
                l.presence = state;
                l.preview = Some(frame);
            });
        }
    }
}
