//! `cargo xtask bench live`, the central's side (issue 22, §7): how much CPU a spawned release
//! `vistoria-central serve` spends per streaming station, and how many stations one instance
//! relays on this machine.
//!
//! Stations (one task each, its own token and loopback address, one kept-alive TLS connection)
//! post the kiosk's JPEG frames (`--frames`, saved by `vistoria bench live`) at the kiosk's
//! rate (`--fps`), while `--viewers` auditors logged in to the portal each watch `--tiles`
//! stations' pictures as the live grid does. The number of stations ramps up (`--stations`);
//! each step runs `--seconds` after a short settling, and prints one JSON line: frames and
//! bytes taken, post latency, the central's CPU (user + system from `/proc/PID/stat`) in total
//! and per station, and the load generator's own CPU (it shares the machine's cores). The ramp
//! stops at the first step the central does not keep up with ([`measure::kept_up`]); a last
//! line gives the largest number of stations that held.

mod load;
mod measure;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::{Value, json};
use vistoria_central::server::{StorageFlags, open_storage};
use vistoria_central::storage::live::BusinessHours;
use vistoria_central::storage::portal::PortalRole;

use load::{Central, Counters, Station};
use measure::{Step, cpu_of, kept_up, peak_rss_mb, quantile};

/// The auditor account the viewers log in with.
const AUDITOR: &str = "auditor-bancada";
/// Its password (a throwaway scratch database's).
const PASSWORD: &str = "bancada-ao-vivo-senha-longa-2026";
/// Loopback address blocks: 127.10.x.y for stations, 127.20.x.y for viewers.
const STATIONS_NET: u8 = 10;
const VIEWERS_NET: u8 = 20;
/// Settling time after a step's new stations started, before its window.
const SETTLE: Duration = Duration::from_secs(5);

/// The central's CPU per streaming station, and how many stations one instance relays.
#[derive(Parser)]
struct Args {
    /// The `vistoria-central` binary (release).
    #[arg(long)]
    central: PathBuf,
    /// Scratch data folder (created).
    #[arg(long)]
    data: PathBuf,
    /// Folder of the kiosk's JPEG frames (`*.jpg`), posted in turn.
    #[arg(long)]
    frames: PathBuf,
    /// Frames per second each station posts (the kiosk's measured rate).
    #[arg(long, default_value_t = 3.0)]
    fps: f64,
    /// Numbers of stations to ramp through, comma-separated.
    #[arg(long, default_value = "10,50,100,200,400,600,800,1000,1250,1500,2000")]
    stations: String,
    /// Seconds measured at each step.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Portal viewers (auditors, each logged in once) watching the live grid.
    #[arg(long, default_value_t = 4)]
    viewers: usize,
    /// Live pictures each viewer watches at once: 6, as many as a browser opens to one host
    /// over HTTP/1.1.
    #[arg(long, default_value_t = 6)]
    tiles: usize,
    /// `serve --max-connections`: raised above the default (512) so the ramp finds where the
    /// machine, not the configured cap, stops the central.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    #[command(flatten)]
    storage: StorageFlags,
}

/// The central's `serve` arguments for the storage flags (PostgreSQL and S3, or the folder's).
fn storage_args(flags: &StorageFlags) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = &flags.database {
        out.extend(["--database".to_owned(), url.clone()]);
    }
    if let Some(blobs) = &flags.blobs {
        out.extend(["--blobs".to_owned(), blobs.clone()]);
    }
    if let Some(endpoint) = &flags.s3_endpoint {
        out.extend(["--s3-endpoint".to_owned(), endpoint.clone()]);
    }
    out
}

fn station_code(i: usize) -> String {
    format!("ECV-AOVIVO-{:04}", i + 1)
}

/// Registers `count` stations open all day every day, and the auditor; their tokens.
fn prepare(args: &Args, count: usize) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(&args.data)?;
    let (meta, _) = open_storage(&args.data, &args.storage)?;
    let always =
        BusinessHours::parse("seg-dom", "00:00-24:00", "-04:00").map_err(anyhow::Error::msg)?;
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let code = station_code(i);
        tokens.push(vistoria_central::report::add_station(meta.as_ref(), &code)?);
        meta.set_business_hours(&code, &always, chrono::Utc::now())?;
    }
    vistoria_central::users::set_password(meta.as_ref(), AUDITOR, &PortalRole::Detran, PASSWORD)?;
    Ok(tokens)
}

/// The JPEG frames, in name order.
fn frames(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("lendo {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    names.sort();
    let out: Vec<Vec<u8>> = names.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    if out.is_empty() {
        bail!("nenhum quadro .jpg em {}", dir.display());
    }
    Ok(out)
}

/// `serve` on a free loopback port; the process, its address and its certificate's pin.
fn serve(args: &Args) -> anyhow::Result<(Child, String, String)> {
    let log = std::fs::File::create(args.data.join("central.log"))?;
    // `serve` insists on the ICP-Brasil roots laudo signatures chain to; frames need none, so
    // a throwaway test PKI's root does.
    let pki = args.data.join("test-pki");
    vistoria_core::signing::test_pki::make(&pki, "52998224725", &Default::default())
        .map_err(anyhow::Error::msg)?;
    let mut child = Command::new(&args.central)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&args.data)
        .arg("--icp-roots")
        .arg(pki.join("roots"))
        .arg("--lcr-optional")
        .args(["--max-connections", &args.max_connections.to_string()])
        .args(storage_args(&args.storage))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("vistoria-central não iniciou")?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("sem stdout")?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let announced: Value = serde_json::from_str(&line)
        .with_context(|| format!("primeira linha inesperada de serve: {line:?}"))?;
    let url = announced["url"].as_str().context("sem url")?.to_owned();
    let pin = announced["cert_sha256"]
        .as_str()
        .context("sem cert_sha256")?
        .to_owned();
    Ok((child, url, pin))
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The machine's load averages now (other work on the machine skews the figures).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let steps: Vec<usize> = args
        .stations
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()
        .context("--stations: números separados por vírgula")?;
    anyhow::ensure!(
        !steps.is_empty() && steps.windows(2).all(|w| w[0] < w[1]),
        "--stations deve crescer"
    );
    anyhow::ensure!(args.fps > 0.0, "--fps deve ser maior que zero");
    let most = steps.last().copied().unwrap_or(0);
    let frames = Arc::new(frames(&args.frames)?);
    let tokens = prepare(&args, most)?;
    let (mut child, url, pin) = serve(&args)?;
    let result = ramp(&args, &steps, tokens, frames, &child, &url, &pin).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Ramps the stations up, one JSON line a step and a last one with the capacity.
async fn ramp(
    args: &Args,
    steps: &[usize],
    tokens: Vec<String>,
    frames: Arc<Vec<Vec<u8>>>,
    child: &Child,
    url: &str,
    pin: &str,
) -> anyhow::Result<()> {
    let central = Arc::new(Central {
        addr: url.trim_start_matches("https://").parse()?,
        tls: tokio_rustls::TlsConnector::from(vistoria_core::central_client::tls_config(Some(
            pin,
        ))?),
    });
    let proc = PathBuf::from(format!("/proc/{}", child.id()));
    let me = PathBuf::from("/proc/self");
    let counters = Arc::new(Counters::default());
    let interval = Duration::from_secs_f64(1.0 / args.fps);
    let mean_frame = frames.iter().map(Vec::len).sum::<usize>() as f64 / frames.len() as f64;

    // The viewers log in once each, then watch the first stations' pictures.
    let tiles = args.tiles.min(steps[0]);
    for v in 0..args.viewers {
        let local = load::address(VIEWERS_NET, v);
        let session = load::log_in(&central, local, AUDITOR, PASSWORD).await?;
        for t in 0..tiles {
            tokio::spawn(load::viewer(
                Arc::clone(&central),
                local,
                session.clone(),
                station_code((v * tiles + t) % steps[0]),
                Arc::clone(&counters),
            ));
        }
    }

    let idle_cpu = {
        let before = cpu_of(&proc);
        tokio::time::sleep(Duration::from_secs(5)).await;
        (cpu_of(&proc) - before) / 5.0 * 100.0
    };
    println!(
        "{}",
        json!({
            "bench": "live",
            "side": "central-setup",
            "backend": if args.storage.database.is_some() { "pg-s3" } else { "sqlite-files" },
            "frames": frames.len(),
            "mean_frame_bytes": mean_frame.round(),
            "fps_per_station": args.fps,
            "viewer_streams": args.viewers * tiles,
            "central_cpu_pct_viewers_only": round(idle_cpu, 1),
            "max_connections": args.max_connections,
        })
    );

    let mut running = 0;
    let mut held: Option<Value> = None;
    let mut failed: Option<(usize, String)> = None;
    for &n in steps {
        while running < n {
            let me_station = Station {
                token: tokens[running].clone(),
                local: load::address(STATIONS_NET, running),
                first_frame: running,
                phase: interval.mul_f64((running % 97) as f64 / 97.0),
            };
            tokio::spawn(load::station(
                Arc::clone(&central),
                me_station,
                Arc::clone(&frames),
                interval,
                Arc::clone(&counters),
            ));
            running += 1;
        }
        tokio::time::sleep(SETTLE).await;
        // The window: counters emptied, CPU read at both ends.
        let delivered0 = counters.delivered.load(Ordering::Relaxed);
        let bytes0 = counters.bytes.load(Ordering::Relaxed);
        let errors0 = counters.errors.load(Ordering::Relaxed);
        let skipped0 = counters.skipped.load(Ordering::Relaxed);
        let viewed0 = counters.viewer_frames.load(Ordering::Relaxed);
        let viewer_errors0 = counters.viewer_errors.load(Ordering::Relaxed);
        counters.take_latencies();
        let (central0, self0, started) = (cpu_of(&proc), cpu_of(&me), Instant::now());
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let wall = started.elapsed().as_secs_f64();
        let central_pct = (cpu_of(&proc) - central0) / wall * 100.0;
        let self_pct = (cpu_of(&me) - self0) / wall * 100.0;
        let mut latencies = counters.take_latencies();
        latencies.sort_unstable();
        let ms = |q: f64| f64::from(quantile(&latencies, q)) / 1000.0;
        let delivered = counters.delivered.load(Ordering::Relaxed) - delivered0;
        let errors = counters.errors.load(Ordering::Relaxed) - errors0;
        let viewed = counters.viewer_frames.load(Ordering::Relaxed) - viewed0;
        let viewer_errors = counters.viewer_errors.load(Ordering::Relaxed) - viewer_errors0;
        let step = Step {
            expected: n as f64 * args.fps * wall,
            delivered,
            errors,
            p95_ms: ms(0.95),
            interval_ms: 1000.0 / args.fps,
            viewer_expected: (args.viewers * tiles) as f64 * args.fps * wall,
            viewer_frames: viewed,
            viewer_errors,
        };
        let verdict = kept_up(&step);
        let line = json!({
            "bench": "live",
            "side": "central",
            "stations": n,
            "seconds": round(wall, 1),
            "frames_per_s": round(delivered as f64 / wall, 1),
            "fps_per_station": round(delivered as f64 / wall / n as f64, 2),
            "kbit_per_s_in": round(
                (counters.bytes.load(Ordering::Relaxed) - bytes0) as f64 * 8.0 / wall / 1000.0,
                0,
            ),
            "post_p50_ms": round(ms(0.5), 1),
            "post_p95_ms": round(ms(0.95), 1),
            "post_p99_ms": round(ms(0.99), 1),
            "post_max_ms": round(ms(1.0), 1),
            "errors": errors,
            "skipped": counters.skipped.load(Ordering::Relaxed) - skipped0,
            "viewer_frames_per_s": round(viewed as f64 / wall, 1),
            "viewer_errors": viewer_errors,
            "central_cpu_pct_of_one_core": round(central_pct, 1),
            "central_cpu_pct_per_station": round(central_pct / n as f64, 3),
            "central_peak_rss_mb": peak_rss_mb(&proc),
            "loadgen_cpu_pct_of_one_core": round(self_pct, 1),
            "loadavg": loadavg(),
            "kept_up": verdict.is_ok(),
            "why_not": verdict.as_ref().err(),
            "last_error": if errors > 0 {
                counters.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
            } else {
                None
            },
        });
        println!("{line}");
        match verdict {
            Ok(()) => held = Some(line),
            Err(why) => {
                failed = Some((n, why));
                break;
            }
        }
    }
    let summary = json!({
        "bench": "live",
        "side": "capacity",
        "largest_stations_kept_up": held.as_ref().map(|l| l["stations"].clone()),
        "at_that_step": held.as_ref().map(|l| json!({
            "central_cpu_pct_of_one_core": l["central_cpu_pct_of_one_core"],
            "central_cpu_pct_per_station": l["central_cpu_pct_per_station"],
            "loadgen_cpu_pct_of_one_core": l["loadgen_cpu_pct_of_one_core"],
            "post_p95_ms": l["post_p95_ms"],
        })),
        "first_step_not_kept_up": failed.as_ref().map(|(n, _)| n),
        "why": failed.as_ref().map(|(_, why)| why),
        "rule": format!(
            "a step holds when no post fails, at least {:.0} % of the frames due are delivered, \
             the p95 post takes at most one frame interval, and no viewer stream fails and the \
             viewers get at least {:.0} % of their stations' frames",
            measure::MIN_DELIVERED_SHARE * 100.0,
            measure::MIN_VIEWED_SHARE * 100.0
        ),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    println!("{summary}");
    Ok(())
}
