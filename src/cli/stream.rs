//! `vistoria stream`: streams a panoramic camera live to the central without the window, with
//! the kiosk's own streaming code (§7). A technician's check of the camera, the link and the
//! station's business hours at the central, as `vistoria record` is for the recorder. Progress
//! goes to stderr in Portuguese; the result is one JSON line on stdout:
//! `{"seconds":F,"frames":N,"fps":F,"kbit_per_second":F,"skipped":N,"reconnects":N,"quality":Q,"state":"…"}`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use vistoria_core::central_client::{CentralClient, Endpoint};
use vistoria_station::live_stream::{LiveState, LiveStreamConfig, LiveStreamer};

/// Arguments of `vistoria stream`.
#[derive(Args)]
pub struct StreamArgs {
    /// Camera URL, `rtsp://[usuário:senha@]host[:porta]/caminho`.
    #[arg(long)]
    url: String,
    /// Base URL of the central server.
    #[arg(long)]
    central: String,
    /// The station's token.
    #[arg(long)]
    token: String,
    /// SHA-256 of the central's certificate (pinned).
    #[arg(long)]
    cert_sha256: Option<String>,
    /// How long to stream, in seconds.
    #[arg(long)]
    seconds: f64,
}

fn state_text(state: &LiveState) -> String {
    match state {
        LiveState::Starting => "iniciando".into(),
        LiveState::OutsideHours => "fora do expediente configurado na central".into(),
        LiveState::Streaming => "transmitindo".into(),
        LiveState::Retrying(why) => format!("tentando de novo: {why}"),
    }
}

fn state_code(state: &LiveState) -> &'static str {
    match state {
        LiveState::Starting => "starting",
        LiveState::OutsideHours => "outside_hours",
        LiveState::Streaming => "streaming",
        LiveState::Retrying(_) => "retrying",
    }
}

/// Runs `vistoria stream`.
pub fn run(args: &StreamArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds deve ser maior que zero"
    );
    let client = CentralClient::new(&Endpoint {
        url: args.central.clone(),
        token: args.token.clone(),
        cert_sha256: args.cert_sha256.clone(),
    })
    .map_err(|e| anyhow::anyhow!("central: {e}"))?;
    let streamer = LiveStreamer::start(client, LiveStreamConfig::new(&args.url))?;
    let started = Instant::now();
    let length = Duration::from_secs_f64(args.seconds);
    let mut last = String::new();
    while started.elapsed() < length {
        std::thread::sleep(Duration::from_millis(250).min(length - started.elapsed().min(length)));
        let stats = streamer.stats();
        let now = state_text(&stats.state);
        if now != last {
            eprintln!("ao vivo: {now}");
            last = now;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = streamer.stats();
    drop(streamer);
    println!(
        "{}",
        json!({
            "seconds": (seconds * 10.0).round() / 10.0,
            "frames": stats.frames_sent,
            "fps": (stats.frames_sent as f64 / seconds * 100.0).round() / 100.0,
            "kbit_per_second": (stats.bytes_sent as f64 * 8.0 / seconds / 10.0).round() / 100.0,
            "skipped": stats.frames_skipped,
            "reconnects": stats.reconnects,
            "quality": stats.quality,
            "state": state_code(&stats.state),
        })
    );
    Ok(if stats.frames_sent > 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "nenhum quadro chegou à central: confira a câmera, o token e o expediente da estação \
             (vistoria-central station hours)"
        );
        ExitCode::FAILURE
    })
}
