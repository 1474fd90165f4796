//! `vistoria bench central`: whole inspections made by the simulated station (the pipeline a
//! station runs: tarja, JPEG, hashes, OCR, §14 check, the demo token's signature; untimed) and
//! delivered through the station's outbox to the reference central server on loopback
//! (embedded), which re-hashes every byte and signs the receipt (timed). Prints two JSON
//! lines: throughput (with the time the central's default request limit made the outbox
//! wait), and the time from "queued" to the verified receipt.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use vistoria_central::server::{self, StorageFlags};
use vistoria_central::storage::PackageKey;
use vistoria_core::central_client::Endpoint;
use vistoria_core::wire::MediaKind;
use vistoria_station::{card, embedded_central};

use super::simulate::{self, Staff};

const STATION: &str = "ECV-BENCH-01";

/// Runs the benchmark with `packages` packages in the scratch folder `data`, the central's
/// metadata and media where `storage` says.
pub fn run(data: &Path, packages: u32, storage: &StorageFlags) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(packages > 0, "--packages deve ser maior que zero");
    let kiosk = data.join("kiosk");
    let token_dir = card::demo_token_dir(&kiosk);
    super::demo::with_softhsm_conf(&token_dir.join("softhsm2.conf"))?;
    let central_data = data.join("central");
    let token = embedded_central::station_token_in(&central_data, storage, STATION)?;
    let central =
        embedded_central::start_on(&central_data, &token_dir.join("roots"), storage.clone())?;
    // What was stored, read from the central's own metadata, whichever backend holds it.
    let (meta, _) = server::open_storage(&central_data, storage)?;
    let station = simulate::open_station(
        &kiosk,
        Endpoint {
            url: central.url.clone(),
            token,
            cert_sha256: central.cert_sha256.clone(),
        },
        STATION,
        &token_dir,
    )?;
    station.sync_clock().map_err(anyhow::Error::msg)?;
    let staff = Staff::log_in(&station)?;
    let registry = simulate::registry()?;

    let mut latencies = Vec::new();
    let mut busy = Duration::ZERO;
    let mut bytes = 0u64;
    let mut photos = 0usize;
    for n in 0..packages as u64 {
        // Untimed: the inspection up to its signature, which queues the package. Every third
        // of a simulated run is interrupted; the benchmark signs them all.
        let vehicle = &registry[n as usize % registry.len()];
        let row = simulate::inspect(&station, &staff, n * 3, vehicle)?;
        // Timed: the delivery pass, until the verified receipt.
        let started = Instant::now();
        let delivery = station.deliver_due().map_err(anyhow::Error::msg)?;
        let took = started.elapsed();
        anyhow::ensure!(
            delivery.delivered.iter().any(|(id, _)| *id == row.id),
            "pacote {n} não foi entregue: {:?}",
            delivery.failures
        );
        let key = PackageKey::new(STATION, row.id.as_uuid());
        let stored = meta
            .package(&key)?
            .ok_or_else(|| anyhow::anyhow!("o central não guardou o pacote {n}"))?;
        for file in &stored.files {
            bytes += file.size;
            photos += usize::from(file.kind == MediaKind::Photo);
        }
        latencies.push(took);
        busy += took;
    }
    let pacing = station.pacing();
    station.shutdown();
    latencies.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let backend = match (&storage.database, &storage.blobs) {
        (None, None) => "sqlite+files",
        (Some(_), None) => "postgres+files",
        (None, Some(_)) => "sqlite+s3",
        (Some(_), Some(_)) => "postgres+s3",
    };
    println!(
        "{}",
        json!({
            "bench": "central_throughput",
            "backend": backend,
            "packages": packages,
            "photos_per_package": (photos as f64 / f64::from(packages) * 10.0).round() / 10.0,
            "package_mb": (bytes as f64 / f64::from(packages) / 1e4).round() / 100.0,
            "packages_per_s": (f64::from(packages) / busy.as_secs_f64() * 100.0).round() / 100.0,
            "mb_per_s": (bytes as f64 / 1e6 / busy.as_secs_f64() * 10.0).round() / 10.0,
            "limiter_paced_s": (pacing.paced.as_secs_f64() * 100.0).round() / 100.0,
            "limiter_throttled": pacing.throttled,
            "limiter_throttled_wait_s": pacing.throttled_wait.as_secs(),
        })
    );
    println!(
        "{}",
        json!({
            "bench": "queued_to_receipt",
            "backend": backend,
            "p50_ms": ms(pct(0.5)),
            "p95_ms": ms(pct(0.95)),
            "max_ms": ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        })
    );
    Ok(ExitCode::SUCCESS)
}
