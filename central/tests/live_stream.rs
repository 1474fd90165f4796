//! The live view end to end (§7), with the station's own streaming code
//! (`vistoria_station::live_stream`) reading a real RTSP camera (the drivers' gst-rtsp-server
//! test camera, 1280×720 at 15 fps) and sending to the real `vistoria-central serve` over
//! pinned TLS:
//!
//! - inside business hours frames arrive at the central at ≥ 2 fps and ≤ 300 kbit/s (JPEG
//!   bytes measured over 10 s at the station and checked against what the central numbered);
//! - the central killed and started again on the same address: the station comes back by
//!   itself and frames flow again;
//! - the hours changed at the central to exclude now: the station stops within a frame and
//!   the central keeps nothing more.
//! - a tight budget (60 kbit/s, starting at quality 90): the station lowers the JPEG quality to
//!   its floor and then skips the frames the budget cannot pay for; the bitrate stays within it.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use common::{BIN, add_station, run};
use serde_json::Value;
use vistoria_central::storage::live::{DAY_NAMES, Live};
use vistoria_central::storage::sqlite::SqliteMetadata;
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};
use vistoria_station::live_stream::{LiveState, LiveStats, LiveStreamConfig, LiveStreamer};

/// `serve` on a fixed port (a restart must come back where the station looks), killed when
/// dropped.
struct Central {
    child: Child,
    cert_sha256: String,
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, port: u16) -> Central {
    let pki = data.join("test-pki");
    if !vistoria_core::signing::test_pki::TestPki::exists(&pki, false) {
        vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default()).unwrap();
    }
    let mut child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap()])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--icp-roots", pki.join("roots").to_str().unwrap()])
        .arg("--lcr-optional")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let first: Value = serde_json::from_str(&line).unwrap();
    Central {
        child,
        cert_sha256: first["cert_sha256"].as_str().unwrap().to_owned(),
    }
}

fn hours(data: &Path, days: &str, periods: &str) {
    let said = run(&[
        "station",
        "hours",
        "ECV-01",
        "--days",
        days,
        "--periods",
        periods,
        "--utc-offset",
        "-04:00",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(said.starts_with("ECV-01: "), "{said}");
}

fn wait_for(
    streamer: &LiveStreamer,
    what: &str,
    within: Duration,
    ok: impl Fn(&LiveStats) -> bool,
) {
    let started = Instant::now();
    while started.elapsed() < within {
        if ok(&streamer.stats()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} não ocorreu em {within:?}: {:?}", streamer.stats());
}

#[test]
fn a_station_streams_in_its_hours_at_the_rate_and_budget_and_comes_back_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let token = add_station(data, "ECV-01");
    // Every day, all day: the test must not depend on when it runs.
    hours(data, "seg-dom", "00:00-24:00");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let central = serve(data, port);
    let camera = TestCamera::start(&CameraConfig {
        fps: 15,
        colour: true,
        ..CameraConfig::default()
    })
    .unwrap();
    let client = CentralClient::new(&Endpoint {
        url: format!("https://127.0.0.1:{port}"),
        token: token.clone(),
        cert_sha256: Some(central.cert_sha256.clone()),
    })
    .unwrap();
    let mut config = LiveStreamConfig::new(&camera.url());
    config.max_backoff = Duration::from_secs(2);
    let streamer = LiveStreamer::start(client, config).unwrap();

    // Frames arrive; then measured over 10 s, once the quality has settled.
    wait_for(&streamer, "primeiro quadro", Duration::from_secs(30), |s| {
        s.frames_sent >= 6
    });
    let (before, t0) = (streamer.stats(), Instant::now());
    let store = SqliteMetadata::open(&data.join("central.sqlite")).unwrap();
    let seq0 = store.live_status("ECV-01").unwrap().unwrap().seq;
    std::thread::sleep(Duration::from_secs(10));
    let (after, elapsed) = (streamer.stats(), t0.elapsed().as_secs_f64());
    let seq1 = store.live_status("ECV-01").unwrap().unwrap().seq;
    let frames = after.frames_sent - before.frames_sent;
    let fps = frames as f64 / elapsed;
    let bits_per_second = (after.bytes_sent - before.bytes_sent) as f64 * 8.0 / elapsed;
    eprintln!(
        "ao vivo: {fps:.2} quadros/s, {:.0} kbit/s, qualidade {}, {} bytes/quadro",
        bits_per_second / 1000.0,
        after.quality,
        (after.bytes_sent - before.bytes_sent) / frames.max(1)
    );
    assert!(fps >= 2.0, "{fps} quadros/s");
    assert!(bits_per_second <= 300_000.0, "{bits_per_second} bit/s");
    // What the station counted is what the central numbered (one row, replaced each time).
    assert!(
        (seq1 - seq0).abs_diff(frames) <= 2,
        "{} na central, {frames} na estação",
        seq1 - seq0
    );
    let newest = store.live_frame("ECV-01", None).unwrap().unwrap();
    assert_eq!(&newest.jpeg[..2], &[0xff, 0xd8]);
    assert!(Utc::now() - newest.received_at < chrono::Duration::seconds(3));
    let decoded = image::load_from_memory(&newest.jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (480, 270));

    // The central killed: the station retries; started again, it streams again by itself.
    drop(central);
    wait_for(&streamer, "falha percebida", Duration::from_secs(15), |s| {
        matches!(s.state, LiveState::Retrying(_))
    });
    let lost = streamer.stats().frames_sent;
    std::thread::sleep(Duration::from_secs(2));
    let central = serve(data, port);
    let back = Instant::now();
    wait_for(&streamer, "retomada", Duration::from_secs(30), |s| {
        s.frames_sent >= lost + 3 && s.reconnects >= 1
    });
    eprintln!(
        "ao vivo retomado {:?} após o reinício da central",
        back.elapsed()
    );

    // Hours that exclude today (Cuiabá's day): the next frame's answer stops the station.
    let today = (Utc::now() - chrono::Duration::hours(4))
        .weekday()
        .num_days_from_monday() as usize;
    hours(data, DAY_NAMES[(today + 1) % 7], "00:00-24:00");
    wait_for(
        &streamer,
        "fora do expediente",
        Duration::from_secs(10),
        |s| s.state == LiveState::OutsideHours,
    );
    let (stopped_at, seq_stopped) = (
        streamer.stats().frames_sent,
        store.live_status("ECV-01").unwrap().unwrap().seq,
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(streamer.stats().frames_sent, stopped_at);
    assert_eq!(streamer.stats().state, LiveState::OutsideHours);
    assert_eq!(
        store.live_status("ECV-01").unwrap().unwrap().seq,
        seq_stopped
    );
    drop(streamer);

    // A tight budget (a busy scene, a thin link): the quality goes down until frames fit.
    hours(data, "seg-dom", "00:00-24:00");
    let client = CentralClient::new(&Endpoint {
        url: format!("https://127.0.0.1:{port}"),
        token: token.clone(),
        cert_sha256: Some(central.cert_sha256.clone()),
    })
    .unwrap();
    let mut config = LiveStreamConfig::new(&camera.url());
    config.format.quality = 90;
    config.budget_bits_per_second = 60_000;
    let streamer = LiveStreamer::start(client, config).unwrap();
    wait_for(
        &streamer,
        "qualidade ajustada",
        Duration::from_secs(40),
        |s| s.frames_sent >= 24,
    );
    let (before, t0) = (streamer.stats(), Instant::now());
    std::thread::sleep(Duration::from_secs(8));
    let (after, elapsed) = (streamer.stats(), t0.elapsed().as_secs_f64());
    let bits_per_second = (after.bytes_sent - before.bytes_sent) as f64 * 8.0 / elapsed;
    eprintln!(
        "orçamento de 60 kbit/s: {:.0} kbit/s, {:.2} quadros/s, qualidade {}, {} pulados",
        bits_per_second / 1000.0,
        (after.frames_sent - before.frames_sent) as f64 / elapsed,
        after.quality,
        after.frames_skipped - before.frames_skipped
    );
    assert!(after.quality < 90, "{after:?}");
    assert!(bits_per_second <= 66_000.0, "{bits_per_second} bit/s");
    drop(streamer);
    drop(central);
}
