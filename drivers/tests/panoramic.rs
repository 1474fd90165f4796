//! Panoramic recorder against a real RTSP server (gst-rtsp-server serving x264 `videotestsrc`),
//! results checked by demuxing with GStreamer's discoverer. §7 (≥ 4 fps, ≥ 860×480), §17e
//! (video loss detected, reported and listed), 2e/§8 (digests of every segment).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer_pbutils as pbutils;
use vistoria_core::clock::{BootClock, CentralClock};
use vistoria_core::hashing::Digests;
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};
use vistoria_drivers::panoramic::{
    GapCause, Manifest, Presence, Recorder, RecorderConfig, RecorderEvent, Transport,
};

/// What the discoverer found in one segment.
#[derive(Debug)]
struct Probe {
    duration: f64,
    width: u32,
    height: u32,
    fps: f64,
}

fn discover(path: &Path) -> Probe {
    gst::init().unwrap();
    let discoverer = pbutils::Discoverer::new(gst::ClockTime::from_seconds(10)).unwrap();
    let uri = format!("file://{}", path.canonicalize().unwrap().display());
    let info = discoverer
        .discover_uri(&uri)
        .unwrap_or_else(|e| panic!("{} is not playable: {e}", path.display()));
    let video = info.video_streams();
    let v = video.first().expect("a video stream");
    let fps = v.framerate();
    Probe {
        duration: info.duration().unwrap().nseconds() as f64 / 1e9,
        width: v.width(),
        height: v.height(),
        fps: f64::from(fps.numer()) / f64::from(fps.denom()),
    }
}

/// Checks every segment of `m` in `dir`: playable, minimums, digests. Returns total duration.
fn check_segments(dir: &Path, m: &Manifest) -> f64 {
    assert!(!m.segments.is_empty(), "no segments: {m:#?}");
    let mut total = 0.0;
    for seg in &m.segments {
        let path = dir.join(&seg.file);
        let probe = discover(&path);
        assert!(
            probe.width >= 860 && probe.height >= 480,
            "{seg:?}: {probe:?}"
        );
        assert!(probe.fps >= 4.0, "{seg:?}: {probe:?}");
        let digests = Digests::of(&std::fs::read(&path).unwrap());
        assert_eq!(digests, seg.digests, "{}", seg.file);
        assert!(seg.end_s > seg.start_s);
        total += probe.duration;
    }
    total
}

fn synced_clock() -> CentralClock {
    let clock = CentralClock::new(Arc::new(BootClock::new()), None);
    let now = clock.mono_now();
    clock
        .record_sync(vistoria_core::fixtures::sample_time(0), &now, &now)
        .unwrap();
    clock
}

fn config(url: &str, dir: &Path) -> RecorderConfig {
    let mut c = RecorderConfig::new(url, dir);
    c.segment_length = Duration::from_secs(5);
    c.clock = Some(synced_clock());
    c
}

/// Waits for an event matching `pred`; returns when it came.
fn wait_for(
    rec: &Recorder,
    timeout: Duration,
    mut pred: impl FnMut(&RecorderEvent) -> bool,
) -> Option<(Instant, RecorderEvent)> {
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rec.events().recv_timeout(left) {
            Ok(e) if pred(&e) => return Some((Instant::now(), e)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn connected(e: &RecorderEvent) -> bool {
    matches!(e, RecorderEvent::Connected(_))
}

/// The camera in its own process, so it can die like a camera does.
struct CameraProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    port: u16,
}

impl CameraProcess {
    fn spawn(port: u16) -> CameraProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vistoria-rtsp-camera"))
            .args(["--port", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("rtsp://"), "camera said {url:?}");
        let port = url
            .trim_start_matches("rtsp://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let stdin = child.stdin.take();
        CameraProcess {
            child,
            stdin,
            url,
            port,
        }
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    #[allow(dead_code)]
    fn send(&mut self, command: &str) {
        writeln!(self.stdin.as_mut().unwrap(), "{command}").unwrap();
    }
}

impl Drop for CameraProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn thirty_seconds_give_playable_segments_meeting_the_minimums_with_matching_digests() {
    let camera = TestCamera::start(&CameraConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&camera.url(), dir.path());
    c.segment_length = Duration::from_secs(10);
    // Presence calibrated with the simulated camera's empty bay, as demo mode does.
    let (reference, _) = vistoria_drivers::panoramic::BayReference::from_frame(
        vistoria_drivers::panoramic::test_server::empty_bay_frame(320, 180, false),
    )
    .unwrap();
    c.presence.reference = Some(std::sync::Arc::new(reference));
    let rec = Recorder::start(c).unwrap();
    let (_, event) = wait_for(&rec, Duration::from_secs(10), connected).expect("connected");
    let RecorderEvent::Connected(format) = event else {
        unreachable!()
    };
    assert!(format.passthrough, "{format:?}");
    assert_eq!((format.width, format.height), (1280, 720));
    std::thread::sleep(Duration::from_secs(29));
    let live = rec.live();
    assert!(live.receiving);
    let preview = live.preview.expect("a preview frame");
    assert_eq!((preview.width, preview.height), (320, 180));
    let m = rec.stop().unwrap();

    assert!(m.complete && !m.stopped_during_loss, "{m:#?}");
    assert!(m.gaps.is_empty(), "{:?}", m.gaps);
    assert!(m.segments.len() >= 3, "{:?}", m.segments);
    let total = check_segments(dir.path(), &m);
    assert!(
        (total - m.seconds).abs() <= 1.0,
        "video {total:.2} s for {:.2} s of recording",
        m.seconds
    );
    // Central stamps follow the recording.
    let first = &m.segments[0];
    let last = m.segments.last().unwrap();
    let (a, b) = (first.start_at.unwrap().at, last.end_at.unwrap().at);
    let span = (b - a).num_milliseconds() as f64 / 1000.0;
    assert!((span - (last.end_s - first.start_s)).abs() < 0.1, "{span}");
    // The simulated vehicle stands on the floor the reference shows bare: occupied all along.
    assert!(
        !m.presence.is_empty() && m.presence.iter().all(|p| p.state == Presence::Present),
        "{:?}",
        m.presence
    );
    assert!(m.presence_basis.is_some());
    assert_eq!(Manifest::read_from(dir.path()).unwrap(), m);
}

fn record_for(url: &str, seconds: u64) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(config(url, dir.path())).unwrap();
    wait_for(&rec, Duration::from_secs(10), connected).expect("connected");
    std::thread::sleep(Duration::from_secs(seconds));
    let m = rec.stop().unwrap();
    (dir, m)
}

#[test]
fn a_two_fps_camera_is_brought_up_to_four() {
    let camera = TestCamera::start(&CameraConfig {
        fps: 2,
        ..CameraConfig::default()
    })
    .unwrap();
    let (dir, m) = record_for(&camera.url(), 7);
    let format = m.format.clone().unwrap();
    assert!(!format.passthrough);
    assert_eq!(format.source_fps, 2.0);
    assert_eq!((format.width, format.height, format.fps), (1280, 720, 4.0));
    check_segments(dir.path(), &m);
}

#[test]
fn a_640x360_camera_is_upscaled_to_860x484() {
    let camera = TestCamera::start(&CameraConfig {
        width: 640,
        height: 360,
        ..CameraConfig::default()
    })
    .unwrap();
    let (dir, m) = record_for(&camera.url(), 6);
    let format = m.format.clone().unwrap();
    assert!(!format.passthrough);
    assert_eq!((format.width, format.height), (860, 484));
    check_segments(dir.path(), &m);
    let probe = discover(&dir.path().join(&m.segments[0].file));
    assert_eq!((probe.width, probe.height), (860, 484));
}

#[test]
fn a_killed_camera_is_reported_within_5_s_and_recording_resumes_when_it_returns() {
    let mut camera = CameraProcess::spawn(0);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&camera.url, dir.path());
    c.transport = Transport::Tcp;
    let rec = Recorder::start(c).unwrap();
    wait_for(&rec, Duration::from_secs(10), connected).expect("connected");
    std::thread::sleep(Duration::from_secs(6));
    camera.kill();
    let killed = Instant::now();
    let (lost_at, lost) = wait_for(&rec, Duration::from_secs(8), |e| {
        matches!(e, RecorderEvent::VideoLost { .. })
    })
    .expect("loss reported");
    assert!(
        lost_at - killed <= Duration::from_secs(5),
        "{:?}",
        lost_at - killed
    );
    let RecorderEvent::VideoLost { cause, .. } = lost else {
        unreachable!()
    };
    assert!(matches!(
        cause,
        GapCause::ConnectionLost | GapCause::NoFrames
    ));
    std::thread::sleep(Duration::from_secs(3));
    let camera = CameraProcess::spawn(camera.port);
    let restarted = Instant::now();
    wait_for(&rec, Duration::from_secs(15), |e| {
        matches!(e, RecorderEvent::VideoRestored { .. })
    })
    .expect("video back");
    std::thread::sleep(Duration::from_secs(6));
    let m = rec.stop().unwrap();
    drop(camera);

    assert_eq!(m.gaps.len(), 1, "{:?}", m.gaps);
    let gap = &m.gaps[0];
    let killed_s = m.seconds - killed.elapsed().as_secs_f64();
    let restarted_s = m.seconds - restarted.elapsed().as_secs_f64();
    assert!(
        (gap.start_s - killed_s).abs() < 1.0,
        "{gap:?} killed at {killed_s}"
    );
    assert!(
        gap.end_s > restarted_s,
        "{gap:?} restarted at {restarted_s}"
    );
    assert!(!gap.open_at_stop && !m.stopped_during_loss);
    assert!(gap.start_at.is_some() && gap.end_at.is_some());
    // Segments before and after the gap, all playable.
    assert!(m.segments.iter().any(|s| s.end_s <= gap.start_s + 0.5));
    assert!(m.segments.iter().any(|s| s.start_s >= gap.end_s - 0.5));
    let total = check_segments(dir.path(), &m);
    let expected = m.seconds - m.missing_seconds();
    assert!(
        (total - expected).abs() <= 1.5,
        "video {total:.2} s, expected {expected:.2} s"
    );
}

#[test]
fn a_frozen_camera_is_a_gap_and_recording_resumes_when_frames_return() {
    let camera = TestCamera::start(&CameraConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(config(&camera.url(), dir.path())).unwrap();
    wait_for(&rec, Duration::from_secs(10), connected).expect("connected");
    std::thread::sleep(Duration::from_secs(5));
    camera.set_frozen(true);
    let frozen = Instant::now();
    let (lost_at, lost) = wait_for(&rec, Duration::from_secs(8), |e| {
        matches!(e, RecorderEvent::VideoLost { .. })
    })
    .expect("loss reported");
    assert!(
        lost_at - frozen <= Duration::from_secs(5),
        "{:?}",
        lost_at - frozen
    );
    assert!(
        matches!(
            lost,
            RecorderEvent::VideoLost {
                cause: GapCause::NoFrames,
                ..
            }
        ),
        "{lost:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    camera.set_frozen(false);
    wait_for(&rec, Duration::from_secs(15), |e| {
        matches!(e, RecorderEvent::VideoRestored { .. })
    })
    .expect("video back");
    std::thread::sleep(Duration::from_secs(5));
    let m = rec.stop().unwrap();
    assert_eq!(m.gaps.len(), 1, "{:?}", m.gaps);
    assert_eq!(m.gaps[0].cause, GapCause::NoFrames);
    assert!(
        m.gaps[0].end_s - m.gaps[0].start_s >= 4.0,
        "{:?}",
        m.gaps[0]
    );
    check_segments(dir.path(), &m);
}

#[test]
fn stopping_during_a_loss_leaves_a_complete_manifest_that_says_so() {
    let camera = TestCamera::start(&CameraConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::start(config(&camera.url(), dir.path())).unwrap();
    wait_for(&rec, Duration::from_secs(10), connected).expect("connected");
    std::thread::sleep(Duration::from_secs(4));
    camera.set_frozen(true);
    wait_for(&rec, Duration::from_secs(8), |e| {
        matches!(e, RecorderEvent::VideoLost { .. })
    })
    .expect("loss reported");
    std::thread::sleep(Duration::from_secs(1));
    let m = rec.stop().unwrap();
    assert!(m.complete && m.stopped_during_loss, "{m:#?}");
    let gap = m.gaps.last().unwrap();
    assert!(gap.open_at_stop);
    assert!(
        (gap.end_s - m.seconds).abs() < 0.01,
        "{gap:?} vs {}",
        m.seconds
    );
    assert!(m.stopped_at.is_some());
    check_segments(dir.path(), &m);
    assert_eq!(Manifest::read_from(dir.path()).unwrap(), m);
}

#[test]
fn an_unreachable_camera_is_a_gap_from_the_start() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&format!("rtsp://127.0.0.1:{port}/camera"), dir.path());
    c.transport = Transport::Tcp;
    let rec = Recorder::start(c).unwrap();
    let (_, lost) = wait_for(&rec, Duration::from_secs(5), |e| {
        matches!(e, RecorderEvent::VideoLost { .. })
    })
    .expect("loss reported");
    assert!(
        matches!(lost, RecorderEvent::VideoLost { cause: GapCause::ConnectionLost, at_s, .. } if at_s < 0.5),
        "{lost:?}"
    );
    let m = rec.stop().unwrap();
    assert!(m.segments.is_empty() && m.stopped_during_loss && m.complete);
    assert_eq!(m.gaps.len(), 1);
    assert!(m.gaps[0].start_s < 0.5);
    assert!(m.format.is_none());
}
