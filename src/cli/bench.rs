//! `vistoria bench …`: benchmarks, run through `cargo xtask bench …` on a release build.
//! Each prints one JSON line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Subcommand;
use vistoria_core::clock::CentralStamp;
use vistoria_core::fixtures;
use vistoria_core::hashing::Digests;
use vistoria_core::store::{AuditAction, AuditEvent, NewMedia, Store};

use super::synthetic;

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Plate recognition on labelled photos (`file x y w h plate`, paths relative to the file).
    Ocr {
        /// The labels file.
        #[arg(long, required_unless_present = "synthetic")]
        labels: Option<PathBuf>,
        /// Read the photos as other cameras might see them instead (shrunk to 70 %, turned
        /// 3.5°, darkened and recompressed): a check that the figures are not the sample's.
        #[arg(long)]
        variants: bool,
        /// Read rendered scenes instead of the labelled photos: `mercosul` or `grey` plates
        /// (made from the seed, never stored; the labels are then not read).
        #[arg(long, value_parser = ["mercosul", "grey"])]
        synthetic: Option<String>,
        /// How many scenes.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// Seed of the first scene (scene i uses seed + i).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Frame sizes, `WxH`, comma-separated; the scenes cycle through them.
        #[arg(long, default_value = "4032x3024")]
        frame: String,
        /// Also fit the confidence's calibration to this set and print it.
        #[arg(long)]
        fit_calibration: bool,
        /// Also write the scenes into this folder as JPEG with a `labels.tsv`, so that another
        /// build can read the same set with `--labels`.
        #[arg(long, requires = "synthetic")]
        save: Option<PathBuf>,
    },
    /// One 1600×1024 frame to stored evidence (checks, tarja, JPEG, hashes, fsync).
    Capture {
        /// Scratch data directory (created; the benchmark writes into it).
        #[arg(long)]
        data: PathBuf,
        /// How many frames to capture.
        #[arg(long, default_value_t = 50)]
        iterations: u32,
        /// Through the station instead, timed idle and while a 50 MB package uploads.
        #[arg(long)]
        while_delivering: bool,
    },
    /// Laudo: canonical document, A4 PDF with 12 photos and (with --module) PKCS#11 signature.
    Laudo {
        /// Iterations.
        #[arg(long, default_value_t = 20)]
        iterations: u32,
        /// PKCS#11 module (e.g. SoftHSM2's libsofthsm2.so); without it no signature is timed.
        #[arg(long)]
        module: Option<PathBuf>,
        /// Environment variable with the token PIN.
        #[arg(long, default_value = "VISTORIA_PIN")]
        pin_env: String,
        /// Token label.
        #[arg(long)]
        token: Option<String>,
    },
    /// Time to durably store one 1600×1024 JPEG with MD5, SHA-256 and its audit row.
    Store {
        /// Scratch data directory (created; the benchmark writes into it).
        #[arg(long)]
        data: PathBuf,
        /// How many photos to store.
        #[arg(long, default_value_t = 200)]
        iterations: u32,
    },
    /// Packages of 12 × 500 KB photos delivered to the central on loopback: throughput and
    /// the time from "concluded" to the verified receipt.
    Central {
        /// Scratch folder (kiosk and central data).
        #[arg(long)]
        data: PathBuf,
        /// How many packages to deliver (in all, over the stations).
        #[arg(long, default_value_t = 40)]
        packages: u32,
        /// Stations delivering at the same time, round by round (each makes one inspection,
        /// untimed, then all deliver at once, timed).
        #[arg(long, default_value_t = 1)]
        stations: u32,
        /// Central instances on the same database, bucket and key file, behind a round-robin
        /// loopback relay (more than one needs `--database` and `--blobs`).
        #[arg(long, default_value_t = 1)]
        instances: u32,
        /// Deliver through the relay even to one instance (to compare with several).
        #[arg(long)]
        relay: bool,
        /// Where the central keeps metadata and media (`--database`, `--blobs`): the scratch
        /// folder by default, PostgreSQL and S3 with `cargo xtask bench central --backend pg-s3`.
        #[command(flatten)]
        storage: vistoria_central::server::StorageFlags,
    },
    /// CPU and memory of recording a 720p 15 fps H.264 camera, stored as sent and re-encoded.
    Panoramic {
        /// Seconds recorded in each mode.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// One live-streaming station (§7): the kiosk's CPU, memory, frames/s and kbit/s against the
    /// 720p test camera and a real central on loopback; saves frames for the central's side.
    Live {
        /// The `vistoria-central` binary.
        #[arg(long)]
        central: PathBuf,
        /// Scratch folder for the central's data (created).
        #[arg(long)]
        data: PathBuf,
        /// Seconds streamed.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Where to save the kiosk's JPEG frames (for `central-live-bench --frames`).
        #[arg(long)]
        frames_out: Option<PathBuf>,
        /// How many frames to save.
        #[arg(long, default_value_t = 30)]
        frames: usize,
    },
    /// FVC protocol on one fingerprint "B" set: EER, FNMR at FMR 1 % / 0.1 %, times.
    Fingerprint {
        /// Folder with the 80 images `FFF_I.tif`.
        #[arg(long)]
        fvc: PathBuf,
        /// Make every image harder first: `tune` (one degradation each, the set changes are
        /// judged on), `held-out` (two each, another seed stream: measured, never tuned on) or
        /// `scale=F` (only rescaled by F, 0.5–2: another sensor resolution alone).
        #[arg(long)]
        synthetic: Option<String>,
        /// Seed of the synthetic degradations.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Runs one benchmark.
pub fn run(command: &BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ocr {
            labels,
            variants,
            synthetic,
            count,
            seed,
            frame,
            fit_calibration,
            save,
        } => super::ocr::bench_ocr(&super::ocr::OcrBench {
            labels: labels.clone(),
            variants: *variants,
            synthetic: synthetic.clone(),
            count: *count,
            seed: *seed,
            frames: frame.clone(),
            fit_calibration: *fit_calibration,
            save: save.clone(),
        }),
        BenchCommand::Capture {
            data,
            iterations,
            while_delivering: true,
        } => super::bench_station::capture_while_delivering(data, *iterations),
        BenchCommand::Capture {
            data,
            iterations,
            while_delivering: false,
        } => super::ocr::bench_capture(data, *iterations),
        BenchCommand::Laudo {
            iterations,
            module,
            pin_env,
            token,
        } => super::laudo::bench(*iterations, module.as_deref(), pin_env, token.as_deref()),
        BenchCommand::Store { data, iterations } => store(data, *iterations),
        BenchCommand::Central {
            data,
            packages,
            stations,
            instances,
            relay,
            storage,
        } => super::bench_central::run(&super::bench_central::Setup {
            data,
            packages: *packages,
            stations: *stations,
            instances: *instances,
            relay: *relay,
            storage,
        }),
        BenchCommand::Panoramic { seconds } => super::record::bench(*seconds),
        BenchCommand::Live {
            central,
            data,
            seconds,
            frames_out,
            frames,
        } => super::bench_live::run(central, data, *seconds, frames_out.as_deref(), *frames),
        BenchCommand::Fingerprint {
            fvc,
            synthetic,
            seed,
        } => super::fingerprint::bench(fvc, synthetic.as_deref(), *seed),
    }
}

fn store(data: &std::path::Path, iterations: u32) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(iterations > 0, "--iterations deve ser maior que zero");
    let (mut store, _) = Store::open(data)?;
    let inspection = fixtures::sample_inspection(0);
    let at = CentralStamp {
        at: fixtures::sample_time(0),
        sync_age_ms: 0,
    };
    store.save_inspection(
        &inspection,
        AuditEvent::new(Some(at), "bench", AuditAction::InspectionOpened),
    )?;
    // A few different photos, so nothing benefits from identical input.
    let photos: Vec<Vec<u8>> = (0..4)
        .map(|seed| synthetic::photo_jpeg(1600, 1024, seed))
        .collect::<anyhow::Result<_>>()?;

    let hash_only = time_it(|| {
        std::hint::black_box(Digests::of(&photos[0]));
    });
    let mut samples = Vec::with_capacity(iterations as usize);
    for i in 0..iterations as usize {
        let photo = &photos[i % photos.len()];
        let started = Instant::now();
        store.store_media(
            NewMedia {
                inspection_id: inspection.id(),
                kind: "rear_with_plate",
                extension: "jpg",
                captured_at: at,
                bytes: photo,
            },
            "bench",
        )?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    let mean = samples.iter().sum::<Duration>() / iterations;
    let line = serde_json::json!({
        "bench": "store",
        "iterations": iterations,
        "jpeg_bytes": photos.iter().map(Vec::len).sum::<usize>() / photos.len(),
        "hash_ms": ms(hash_only),
        "p50_ms": ms(pct(0.5)),
        "p95_ms": ms(pct(0.95)),
        "mean_ms": ms(mean),
        "max_ms": ms(*samples.last().unwrap_or(&Duration::ZERO)),
    });
    println!("{line}");
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

fn time_it(mut f: impl FnMut()) -> Duration {
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        f();
    }
    started.elapsed() / runs
}
