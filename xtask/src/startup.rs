//! `cargo xtask bench startup`: cold start of the kiosk window to its first drawn frame, under
//! a private Xvfb display. The time runs from spawning the process to the moment it reports
//! its first frame (`vistoria demo --first-frame`), so it includes loading the binary, the
//! embedded central, the store and the first layout and render.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Runs after the first (which also seeds the demo data).
const RUNS: usize = 10;

/// A private X server that dies with the benchmark.
struct Xvfb(Child, String);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xvfb() -> Result<Xvfb> {
    for n in 90..110 {
        let display = format!(":{n}");
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (package xvfb)")?;
        let socket = format!("/tmp/.X11-unix/X{n}");
        let started = Instant::now();
        while !Path::new(&socket).exists() {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("Xvfb did not start on {display}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(Xvfb(child, display));
    }
    bail!("no free X display between :90 and :109")
}

/// One start: milliseconds from spawn to the first frame.
fn once(bin: &Path, display: &str, data: &Path) -> Result<f64> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["demo", "--first-frame", "--data"])
        .arg(data)
        .env("DISPLAY", display)
        .env("VISTORIA_LOG_STDERR", "0")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting vistoria demo")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let status = child.wait()?;
    if !status.success() || !line.contains("first_frame_ms") {
        bail!("vistoria demo --first-frame failed ({status}): {line}");
    }
    Ok(elapsed)
}

/// Runs the benchmark and prints its JSON line.
pub fn bench(bin: &Path) -> Result<()> {
    let x = xvfb()?;
    let data = std::env::temp_dir().join(format!("vistoria-bench-startup-{}", std::process::id()));
    let first = once(bin, &x.1, &data)?;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        times.push(once(bin, &x.1, &data)?);
    }
    let _ = std::fs::remove_dir_all(&data);
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{{\"runs\":{},\"first_run_ms\":{first:.0},\"p50_ms\":{:.0},\"p95_ms\":{:.0},\"max_ms\":{:.0}}}",
        times.len(),
        pick(0.5),
        pick(0.95),
        pick(1.0)
    );
    Ok(())
}
