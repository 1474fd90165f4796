//! `vistoria record`: records a panoramic camera without the UI, with the same recorder the
//! kiosk uses (§17). Technicians use it to check a camera; the tests and the benchmark too.
//! Progress goes to stderr in Portuguese; the result is one JSON line on stdout:
//! `{"segments":N,"seconds":F,"width":W,"height":H,"fps":F,"gaps":[{"start":F,"end":F,"cause":"..."}]}`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use vistoria_drivers::panoramic::{Manifest, Recorder, RecorderConfig, RecorderEvent, Transport};

/// Arguments of `vistoria record`.
#[derive(Args)]
pub struct RecordArgs {
    /// Camera URL, `rtsp://[usuário:senha@]host[:porta]/caminho`.
    #[arg(long)]
    url: String,
    /// How long to record, in seconds.
    #[arg(long)]
    seconds: f64,
    /// Output directory for segments and `manifest.json` (created).
    #[arg(long)]
    out: PathBuf,
    /// Segment length in seconds.
    #[arg(long, default_value_t = 60)]
    segment_seconds: u64,
    /// RTP transport: auto, tcp or udp.
    #[arg(long, default_value = "auto")]
    transport: String,
    /// Camera user (when not in the URL).
    #[arg(long)]
    user: Option<String>,
    /// Camera password (when not in the URL).
    #[arg(long)]
    password: Option<String>,
    /// Re-encode even a stream that already meets the minimums (for comparison).
    #[arg(long)]
    reencode: bool,
}

/// Runs `vistoria record`.
pub fn run(args: &RecordArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds deve ser maior que zero"
    );
    anyhow::ensure!(
        args.segment_seconds > 0,
        "--segment-seconds deve ser maior que zero"
    );
    let transport = match args.transport.as_str() {
        "auto" => Transport::Auto,
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        other => anyhow::bail!("transporte desconhecido: {other} (use auto, tcp ou udp)"),
    };
    let mut config = RecorderConfig::new(&args.url, &args.out);
    config.transport = transport;
    config.segment_length = Duration::from_secs(args.segment_seconds);
    config.user.clone_from(&args.user);
    config.password.clone_from(&args.password);
    config.force_reencode = args.reencode;
    let recorder = Recorder::start(config)?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Ok(event) = recorder.events().recv_timeout(left) {
            report(&event);
        }
    }
    let manifest = recorder.stop()?;
    println!("{}", summary(&manifest));
    Ok(if manifest.segments.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn report(event: &RecorderEvent) {
    match event {
        RecorderEvent::Connected(f) => eprintln!(
            "câmera: {} {}×{} a {:.1} quadros/s → gravando {}×{} a {:.1} quadros/s ({})",
            f.source_codec,
            f.source_width,
            f.source_height,
            f.source_fps,
            f.width,
            f.height,
            f.fps,
            if f.passthrough {
                "sem recodificar"
            } else {
                "recodificado"
            }
        ),
        RecorderEvent::VideoLost {
            at_s,
            cause,
            detail,
        } => {
            eprintln!(
                "{at_s:.1} s: PERDA DE VÍDEO — {}: {detail}",
                cause.label_pt()
            );
        }
        RecorderEvent::VideoRestored { at_s, missing_s } => {
            eprintln!("{at_s:.1} s: vídeo restabelecido ({missing_s:.1} s sem imagem)");
        }
        RecorderEvent::SegmentFinished(s) => {
            eprintln!(
                "segmento {} ({:.1}–{:.1} s) md5 {}",
                s.file, s.start_s, s.end_s, s.digests.md5
            );
        }
        RecorderEvent::PresenceChanged { .. } => {}
    }
}

/// The JSON line of the issue: counts, written format and gaps in seconds from the start.
fn summary(m: &Manifest) -> serde_json::Value {
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let format = m.format.as_ref();
    serde_json::json!({
        "segments": m.segments.len(),
        "seconds": round(m.seconds),
        "width": format.map_or(0, |f| f.width),
        "height": format.map_or(0, |f| f.height),
        "fps": round(format.map_or(0.0, |f| f.fps)),
        "gaps": m.gaps.iter().map(|g| serde_json::json!({
            "start": round(g.start_s),
            "end": round(g.end_s),
            "cause": g.cause,
        })).collect::<Vec<_>>(),
    })
}

/// `vistoria bench panoramic`: records a simulated 1280×720 15 fps H.264 camera (served from
/// this process) with `vistoria record` in a child process, once stored as sent and once
/// re-encoded, and reports the child's CPU (share of one core) and peak memory.
pub fn bench(seconds: u64) -> anyhow::Result<ExitCode> {
    use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

    anyhow::ensure!(seconds > 0, "--seconds deve ser maior que zero");
    let camera = TestCamera::start(&CameraConfig::default())?;
    let exe = std::env::current_exe()?;
    let mut results = serde_json::Map::new();
    for (mode, reencode) in [("passthrough", false), ("reencode", true)] {
        let out = std::env::temp_dir().join(format!(
            "vistoria-bench-panoramic-{}-{mode}",
            std::process::id()
        ));
        let mut command = std::process::Command::new(&exe);
        command
            .args(["record", "--url", &camera.url(), "--transport", "tcp"])
            .args(["--seconds", &seconds.to_string()])
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if reencode {
            command.arg("--reencode");
        }
        let started = Instant::now();
        let mut child = command.spawn()?;
        let usage = watch(&mut child)?;
        let wall = started.elapsed().as_secs_f64();
        let mut line = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut line)?;
        }
        let _ = std::fs::remove_dir_all(&out);
        let summary: serde_json::Value = serde_json::from_str(line.trim())
            .map_err(|e| anyhow::anyhow!("saída inesperada de `vistoria record` ({e}): {line}"))?;
        results.insert(
            mode.into(),
            serde_json::json!({
                "cpu_pct_of_one_core": (usage.cpu_seconds / wall * 1000.0).round() / 10.0,
                "peak_rss_mb": (usage.peak_rss_kb as f64 / 102.4).round() / 10.0,
                "wall_s": (wall * 100.0).round() / 100.0,
                "recorded": summary,
            }),
        );
    }
    let mut line = serde_json::json!({
        "bench": "panoramic",
        "source": "1280x720 H.264 15 fps (videotestsrc + x264enc via gst-rtsp-server, RTP/TCP)",
        "seconds": seconds,
    });
    if let Some(map) = line.as_object_mut() {
        map.extend(results);
    }
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

struct Usage {
    cpu_seconds: f64,
    peak_rss_kb: u64,
}

/// CPU seconds (user + system) of the process whose `/proc` folder is `proc`, from its `stat`:
/// utime and stime are the 12th and 13th fields after the parenthesised command name (0 when it
/// cannot be read). USER_HZ is 100 on every Linux ABI the kiosk runs on.
pub fn cpu_seconds(proc: &Path) -> f64 {
    let Ok(stat) = std::fs::read_to_string(proc.join("stat")) else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Samples `/proc/<pid>` until the child exits: CPU time (user + system) and peak RSS.
fn watch(child: &mut std::process::Child) -> anyhow::Result<Usage> {
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let mut usage = Usage {
        cpu_seconds: 0.0,
        peak_rss_kb: 0,
    };
    loop {
        usage.cpu_seconds = usage.cpu_seconds.max(cpu_seconds(&proc_dir));
        if let Ok(status) = std::fs::read_to_string(proc_dir.join("status")) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok());
            if let Some(hwm) = hwm {
                usage.peak_rss_kb = usage.peak_rss_kb.max(hwm);
            }
        }
        if child.try_wait()?.is_some() {
            return Ok(usage);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
