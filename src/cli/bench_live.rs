//! `vistoria bench live` (issue 22, §7), the kiosk's side: one streaming station's CPU, memory
//! and bandwidth. A real `vistoria stream` child streams the RTSP test camera (1280×720 H.264
//! at 15 fps, as `bench panoramic` records it) to a real `vistoria-central serve` on loopback;
//! its CPU (user + system) and peak memory come from `/proc/PID` over the run, its frames and
//! bytes from its own JSON line, and the central's CPU for this one station from its `/proc`.
//! Then the kiosk's live pipeline, at the JPEG quality the stream settled at, saves frames
//! (`--frames-out`) for the central's side of the benchmark to post (`central-live-bench`).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::record::cpu_seconds;
use vistoria_drivers::panoramic::live::{LiveCamera, LiveFormat};
use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

const STATION: &str = "ECV-AOVIVO-BANCADA";

/// Peak resident memory (`VmHWM`) in kB from `/proc/PID/status`.
fn peak_rss_kb(proc: &Path) -> u64 {
    std::fs::read_to_string(proc.join("status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    (kb as f64 / 102.4).round() / 10.0
}

fn central_cmd(central: &Path, args: &[&str], data: &Path) -> anyhow::Result<String> {
    let out = Command::new(central)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "vistoria-central {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// A `vistoria-central serve` killed when dropped.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `vistoria bench live`.
pub fn run(
    central: &Path,
    data: &Path,
    seconds: u64,
    frames_out: Option<&Path>,
    frames: usize,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(seconds > 0, "--seconds deve ser maior que zero");
    std::fs::create_dir_all(data)?;
    let token = central_cmd(central, &["station", "add", STATION], data)?;
    central_cmd(
        central,
        &[
            "station",
            "hours",
            STATION,
            "--days",
            "seg-dom",
            "--periods",
            "00:00-24:00",
        ],
        data,
    )?;
    // `serve` insists on the ICP-Brasil roots laudo signatures chain to; frames need none, so
    // a throwaway test PKI's root does.
    let pki = data.join("test-pki");
    vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default())
        .map_err(anyhow::Error::msg)?;
    let mut child = Command::new(central)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--icp-roots")
        .arg(pki.join("roots"))
        .arg("--lcr-optional")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take();
    let serve = Serve(child);
    let mut line = String::new();
    if let Some(stdout) = stdout {
        std::io::BufReader::new(stdout).read_line(&mut line)?;
    }
    let announced: Value = serde_json::from_str(&line)
        .map_err(|e| anyhow::anyhow!("primeira linha inesperada de serve ({e}): {line:?}"))?;
    let (Some(url), Some(pin)) = (announced["url"].as_str(), announced["cert_sha256"].as_str())
    else {
        anyhow::bail!("serve não disse url e cert_sha256: {line}");
    };
    let central_proc = PathBuf::from(format!("/proc/{}", serve.0.id()));
    let camera = TestCamera::start(&CameraConfig::default())?;

    let central_before = cpu_seconds(&central_proc);
    let started = Instant::now();
    let mut stream = Command::new(std::env::current_exe()?)
        .args(["stream", "--url", &camera.url(), "--central", url])
        .args(["--token", &token, "--cert-sha256", pin])
        .args(["--seconds", &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = PathBuf::from(format!("/proc/{}", stream.id()));
    let (mut cpu, mut peak) = (0.0f64, 0u64);
    while stream.try_wait()?.is_none() {
        // Read until the end: the last sample before exit holds the whole run's CPU.
        cpu = cpu.max(cpu_seconds(&proc));
        peak = peak.max(peak_rss_kb(&proc));
        std::thread::sleep(Duration::from_millis(200));
    }
    let wall = started.elapsed().as_secs_f64();
    let central_cpu = cpu_seconds(&central_proc) - central_before;
    let central_peak = peak_rss_kb(&central_proc);
    let mut out = String::new();
    if let Some(mut stdout) = stream.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out)?;
    }
    let summary: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("saída inesperada de `vistoria stream` ({e}): {out}"))?;
    drop(serve);
    let sent = summary["frames"].as_u64().unwrap_or(0);
    anyhow::ensure!(sent > 0, "nenhum quadro enviado: {summary}");

    // The frames the central's side posts: the kiosk's own pipeline at the quality it settled at.
    let quality = summary["quality"].as_u64().unwrap_or(50) as u32;
    let mut saved = Vec::new();
    if let Some(dir) = frames_out {
        std::fs::create_dir_all(dir)?;
        let live = LiveCamera::open(
            &camera.url(),
            &LiveFormat {
                quality,
                ..LiveFormat::default()
            },
        )?;
        for i in 0..frames {
            let jpeg = live.next_jpeg(Duration::from_secs(10))?;
            std::fs::write(dir.join(format!("{i:03}.jpg")), &jpeg)?;
            saved.push(jpeg.len());
        }
    }
    let kbit = summary["kbit_per_second"].as_f64().unwrap_or(0.0);
    let fps = summary["fps"].as_f64().unwrap_or(0.0);
    println!(
        "{}",
        json!({
            "bench": "live",
            "side": "kiosk",
            "source": "1280x720 H.264 15 fps (videotestsrc + x264enc via gst-rtsp-server, RTP/TCP)",
            "seconds": (wall * 10.0).round() / 10.0,
            "cpu_pct_of_one_core": (cpu / wall * 1000.0).round() / 10.0,
            "peak_rss_mb": mb(peak),
            "fps": fps,
            "kbit_per_second": kbit,
            "bytes_per_frame": if sent > 0 {
                (summary["kbit_per_second"].as_f64().unwrap_or(0.0) * 1000.0 / 8.0 / fps.max(0.01)).round()
            } else {
                0.0
            },
            "quality": quality,
            "skipped": summary["skipped"],
            "state": summary["state"],
            "central_cpu_pct_of_one_core": (central_cpu / wall * 1000.0).round() / 10.0,
            "central_peak_rss_mb": mb(central_peak),
            "frames_saved": saved.len(),
            "saved_mean_bytes": if saved.is_empty() { 0 } else { saved.iter().sum::<usize>() / saved.len() },
        })
    );
    Ok(ExitCode::SUCCESS)
}
