//! The panoramic camera streamed live to the central during business hours (§7: "deverá
//! transmitir o ambiente de vistoria durante todo o expediente da empresa credenciada, para
//! fins de fiscalização no Portal"), independent of the recordings: its own RTSP session with
//! the camera ([`vistoria_drivers::panoramic::live`]), small JPEGs at 3 fps, one request per
//! frame (`vistoria_core::central_client::live`).
//!
//! The central decides when: the station asks `GET /stations/self/live` and streams while the
//! answer says so; every frame's answer says it again, so the stream stops at the end of the
//! day within one frame. A lost camera or central is retried with a doubling wait (1 s up to
//! [`LiveStreamConfig::max_backoff`]), so a restarted central sees the station back by itself.
//!
//! The bitrate stays under [`LiveStreamConfig::budget_bits_per_second`]: a frame above its
//! share lowers the JPEG quality for the next ones, a frame well under it raises it again; and
//! a byte allowance refilled at the budget's rate skips the frames it cannot pay for (a scene
//! too busy even at the lowest quality, or a thin link: the frame rate drops, the bitrate
//! does not rise).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use vistoria_core::central_client::{CentralClient, ClientError};
use vistoria_drivers::panoramic::live::{LiveCamera, LiveFormat};

/// How the station streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStreamConfig {
    /// The panoramic camera (`rtsp://`).
    pub camera_url: String,
    /// Frame size, rate and initial quality.
    pub format: LiveFormat,
    /// JPEG bits per second aimed at (the limit is 300 kbit/s a station; requests' headers
    /// take about 5 kbit/s at 3 fps on top).
    pub budget_bits_per_second: u64,
    /// Longest wait between attempts after a failure.
    pub max_backoff: Duration,
    /// A camera silent this long is reopened.
    pub frame_timeout: Duration,
}

impl LiveStreamConfig {
    /// The defaults for the camera at `camera_url`: 3 fps, 480×270, 240 kbit/s, retries up to
    /// every 30 s.
    pub fn new(camera_url: &str) -> LiveStreamConfig {
        LiveStreamConfig {
            camera_url: camera_url.to_owned(),
            format: LiveFormat::default(),
            budget_bits_per_second: 240_000,
            max_backoff: Duration::from_secs(30),
            frame_timeout: Duration::from_secs(10),
        }
    }
}

/// What the streamer is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LiveState {
    /// Not asked the central yet.
    #[default]
    Starting,
    /// Outside the business hours the central holds: nothing sent.
    OutsideHours,
    /// Frames are going out.
    Streaming,
    /// The camera or the central failed; trying again (why, in Portuguese).
    Retrying(String),
}

/// Counters, for the technician and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// What it is doing now.
    pub state: LiveState,
    /// Frames the central kept.
    pub frames_sent: u64,
    /// Their JPEG bytes.
    pub bytes_sent: u64,
    /// Frames not sent because the budget could not pay for them.
    pub frames_skipped: u64,
    /// Times the stream was opened again after a failure.
    pub reconnects: u64,
    /// The JPEG quality in use.
    pub quality: u32,
}

/// The streaming thread; dropping it stops the stream (after the frame in hand).
pub struct LiveStreamer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    stats: Arc<Mutex<LiveStats>>,
    thread: Option<JoinHandle<()>>,
}

impl LiveStreamer {
    /// Starts streaming to `client`'s central, on a thread of its own.
    pub fn start(client: CentralClient, config: LiveStreamConfig) -> std::io::Result<LiveStreamer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stats = Arc::new(Mutex::new(LiveStats {
            quality: config.format.quality,
            ..LiveStats::default()
        }));
        let run = Run {
            client,
            config,
            stop: Arc::clone(&stop),
            stats: Arc::clone(&stats),
        };
        let thread = std::thread::Builder::new()
            .name("vistoria-ao-vivo".into())
            .spawn(move || run.run())?;
        Ok(LiveStreamer {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// The counters now.
    pub fn stats(&self) -> LiveStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for LiveStreamer {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        // Not joined: the thread may be inside a camera read or a request (seconds), and whoever
        // drops the streamer (the window closing) must not wait for it; it ends by itself
        // after the frame in hand.
        drop(self.thread.take());
    }
}

/// How a streaming session ended.
enum End {
    /// The streamer is stopping.
    Stopped,
    /// The central said the hours are over: ask again after this long.
    Closed(Duration),
    /// The camera or the central failed (why).
    Failed(String),
}

struct Run {
    client: CentralClient,
    config: LiveStreamConfig,
    stop: Arc<(Mutex<bool>, Condvar)>,
    stats: Arc<Mutex<LiveStats>>,
}

impl Run {
    fn run(self) {
        let mut backoff = Duration::from_secs(1);
        let mut failed_before = false;
        loop {
            let wait = match self.client.live_schedule() {
                Ok(schedule) if !schedule.stream => {
                    self.set_state(LiveState::OutsideHours);
                    backoff = Duration::from_secs(1);
                    Duration::from_secs(schedule.recheck_seconds.clamp(1, 600))
                }
                Ok(_) => {
                    if failed_before {
                        self.update(|s| s.reconnects += 1);
                    }
                    match self.session() {
                        End::Stopped => return,
                        End::Closed(wait) => {
                            failed_before = false;
                            backoff = Duration::from_secs(1);
                            self.set_state(LiveState::OutsideHours);
                            wait
                        }
                        End::Failed(why) => {
                            failed_before = true;
                            self.retrying(why, &mut backoff)
                        }
                    }
                }
                Err(e) => {
                    failed_before = true;
                    self.retrying(e.to_string(), &mut backoff)
                }
            };
            if self.sleep(wait) {
                return;
            }
        }
    }

    /// Records a failure and returns how long to wait before the next attempt (doubling).
    fn retrying(&self, why: String, backoff: &mut Duration) -> Duration {
        tracing::warn!(%why, "transmissão ao vivo interrompida; nova tentativa em {backoff:?}");
        self.set_state(LiveState::Retrying(why));
        let wait = *backoff;
        *backoff = (*backoff * 2).min(self.config.max_backoff);
        wait
    }

    /// One session with the camera, frames sent until something ends it.
    fn session(&self) -> End {
        let camera = match LiveCamera::open(&self.config.camera_url, &self.config.format) {
            Ok(camera) => camera,
            Err(e) => return End::Failed(e.to_string()),
        };
        let format = &self.config.format;
        let frame_budget = self.config.budget_bits_per_second / 8 / u64::from(format.fps.max(1));
        let mut quality = format.quality;
        // Bytes that may go out now: refilled at the budget's rate, at most half a second's
        // worth saved up; a frame is sent while it is positive (and may take it below zero).
        let rate = self.config.budget_bits_per_second as f64 / 8.0;
        let mut allowance = rate / 2.0;
        let mut refilled = std::time::Instant::now();
        loop {
            if self.stopped() {
                return End::Stopped;
            }
            let jpeg = match camera.next_jpeg(self.config.frame_timeout) {
                Ok(jpeg) => jpeg,
                Err(e) => return End::Failed(e.to_string()),
            };
            let size = jpeg.len() as u64;
            // Keep each frame within its share of the budget: a busy scene costs quality,
            // never bandwidth over the limit.
            if size > frame_budget && quality > 10 {
                quality = quality.saturating_sub(5).max(10);
                camera.set_quality(quality);
            } else if size * 10 < frame_budget * 6 && quality < 80 {
                quality += 5;
                camera.set_quality(quality);
            }
            allowance = (allowance + rate * refilled.elapsed().as_secs_f64()).min(rate / 2.0);
            refilled = std::time::Instant::now();
            if allowance <= 0.0 {
                self.update(|s| {
                    s.frames_skipped += 1;
                    s.quality = quality;
                });
                continue;
            }
            allowance -= size as f64;
            let captured_at = chrono::Utc::now().timestamp_millis();
            match self.client.send_live_frame(&jpeg, captured_at) {
                Ok(answer) if !answer.stream => {
                    return End::Closed(Duration::from_secs(answer.recheck_seconds.clamp(1, 600)));
                }
                Ok(_) => {
                    self.update(|s| {
                        s.state = LiveState::Streaming;
                        s.frames_sent += 1;
                        s.bytes_sent += size;
                        s.quality = quality;
                    });
                }
                Err(e) => return End::Failed(refusal(&e)),
            }
        }
    }

    fn stopped(&self) -> bool {
        *self.stop.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps `wait` or until stopped; whether stopped.
    fn sleep(&self, wait: Duration) -> bool {
        let (stopped, wake) = &*self.stop;
        let guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, wait, |s| !*s)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }

    fn update(&self, f: impl FnOnce(&mut LiveStats)) {
        f(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn set_state(&self, state: LiveState) {
        self.update(|s| s.state = state);
    }
}

/// A failure's text for the log and the technician.
fn refusal(e: &ClientError) -> String {
    e.to_string()
}
