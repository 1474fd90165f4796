//! `vistoria bench central`: whole inspections made by simulated stations (the pipeline a
//! station runs: tarja, JPEG, hashes, OCR, §14 check, the demo token's signature; untimed) and
//! delivered through each station's outbox to the reference central server on loopback
//! (embedded), which re-hashes every byte and signs the receipt (timed). Prints two JSON
//! lines: throughput (with the time the central's default request limit made the outbox
//! wait, and the CPU the stations' delivery and the rest of the process took), and the time
//! from "queued" to the verified receipt.
//!
//! With `--instances N` (N > 1) the central runs as N instances on the same metadata and
//! media (PostgreSQL and S3: `cargo xtask bench central --backend pg-s3 --instances 2`), one
//! receipt key file and one TLS certificate, behind a round-robin loopback relay. With
//! `--stations K` the benchmark runs in rounds: each of K stations makes one inspection
//! (untimed, one after the other), then the K deliver at once (timed), so the central sees
//! K deliveries at a time.

mod relay;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::time::{ClockId, clock_gettime};
use serde_json::json;
use vistoria_central::keys::ServerKey;
use vistoria_central::server::{self, Announcement, ServeOptions, StorageFlags};
use vistoria_central::storage::PackageKey;
use vistoria_core::central_client::Endpoint;
use vistoria_core::wire::MediaKind;
use vistoria_station::{Station, card, embedded_central};

use super::simulate::{self, Staff};

/// How the benchmark is run.
pub struct Setup<'a> {
    /// Scratch folder (kiosks' and central's data).
    pub data: &'a Path,
    /// Packages in all (spread over the stations, round by round).
    pub packages: u32,
    /// Stations delivering at the same time.
    pub stations: u32,
    /// Central instances behind the relay (1: no relay unless `relay`).
    pub instances: u32,
    /// Deliver through the relay even with one instance (to compare like with like).
    pub relay: bool,
    /// Where the central keeps metadata and media.
    pub storage: &'a StorageFlags,
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// CPU time of the whole process, every thread that ran (ended ones included).
fn process_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// Starts one central instance in this process on its own runtime and loopback port, as
/// `vistoria-central serve --key-file` would (no help desk: the benchmark has no tickets).
fn start_instance(
    data: &Path,
    icp_roots: &Path,
    storage: StorageFlags,
    key_file: Option<PathBuf>,
) -> anyhow::Result<Announcement> {
    let options = ServeOptions {
        key_file,
        ..embedded_central::loopback_options(data, icp_roots, storage)
    };
    embedded_central::serve_in_thread(options, "bench-central")
        .context("a instância do servidor central não iniciou")
}

/// The central: one instance as the kiosk's demo embeds it, or several sharing a key file and
/// a certificate behind the relay. The stations' endpoint (URL and pinned certificate).
fn start_central(
    setup: &Setup,
    icp_roots: &Path,
) -> anyhow::Result<(Announcement, Option<relay::RoundRobin>)> {
    let central_data = setup.data.join("central");
    if setup.instances == 1 && !setup.relay {
        let central = embedded_central::start_on(&central_data, icp_roots, setup.storage.clone())?;
        return Ok((central, None));
    }
    anyhow::ensure!(
        setup.instances == 1 || setup.storage.database.is_some() && setup.storage.blobs.is_some(),
        "várias instâncias precisam de banco e mídia compartilhados (--database e --blobs; \
         cargo xtask bench central --backend pg-s3)"
    );
    let key_file = central_data.join("receipts.key");
    if !key_file.exists() {
        std::fs::create_dir_all(&central_data)?;
        ServerKey::create_file(&key_file).context("chave de recibos compartilhada")?;
    }
    let mut announced: Vec<Announcement> = Vec::new();
    for i in 0..setup.instances {
        // The first instance in the central's folder (where the stations' tokens were made,
        // in SQLite when there is no PostgreSQL), the others beside it.
        let data = match i {
            0 => central_data.clone(),
            _ => central_data.join(format!("instance-{i}")),
        };
        // One certificate for all, as behind a real balancer: the first makes it.
        if i > 0 {
            std::fs::create_dir_all(data.join("tls"))?;
            for file in ["cert.der", "key.der"] {
                std::fs::copy(
                    central_data.join("tls").join(file),
                    data.join("tls").join(file),
                )
                .with_context(|| format!("copiando o certificado TLS ({file})"))?;
            }
        }
        let a = start_instance(
            &data,
            icp_roots,
            setup.storage.clone(),
            Some(key_file.clone()),
        )?;
        anyhow::ensure!(
            announced
                .first()
                .is_none_or(|f| f.cert_sha256 == a.cert_sha256),
            "as instâncias não compartilham o certificado"
        );
        announced.push(a);
    }
    let addrs = announced
        .iter()
        .map(|a| {
            a.url
                .trim_start_matches("https://")
                .parse()
                .with_context(|| format!("endereço da instância: {}", a.url))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let relay = relay::RoundRobin::start(addrs)?;
    let announcement = Announcement {
        url: relay.url.clone(),
        cert_sha256: announced[0].cert_sha256.clone(),
    };
    Ok((announcement, Some(relay)))
}

/// `perf record --control fifo:CTL,ACK -D -1` told when the timed part runs, so that the
/// profile holds the deliveries and not the making of inspections: the control FIFO's path in
/// `VISTORIA_BENCH_PERF_CTL`, its acknowledgement FIFO's in `VISTORIA_BENCH_PERF_ACK`.
struct Profiler(Option<(std::fs::File, std::io::BufReader<std::fs::File>)>);

impl Profiler {
    fn from_env() -> anyhow::Result<Profiler> {
        let (Some(ctl), Some(ack)) = (
            std::env::var_os("VISTORIA_BENCH_PERF_CTL"),
            std::env::var_os("VISTORIA_BENCH_PERF_ACK"),
        ) else {
            return Ok(Profiler(None));
        };
        let ctl = std::fs::OpenOptions::new().write(true).open(ctl)?;
        let ack = std::io::BufReader::new(std::fs::File::open(ack)?);
        Ok(Profiler(Some((ctl, ack))))
    }

    /// Turns sampling on or off, and waits until perf says it did.
    fn toggle(&mut self, on: bool) {
        use std::io::{BufRead as _, Write as _};
        let Some((ctl, ack)) = &mut self.0 else {
            return;
        };
        let command: &[u8] = if on { b"enable\n" } else { b"disable\n" };
        let mut answer = String::new();
        if ctl.write_all(command).is_err() || ack.read_line(&mut answer).is_err() {
            tracing::warn!("perf não respondeu; perfil sem controle");
            self.0 = None;
        }
    }
}

/// One simulated station of the benchmark.
struct Bench {
    code: String,
    station: Station,
    staff: Staff,
}

/// One package's timed delivery.
struct Delivered {
    took: Duration,
    /// CPU of the delivering thread (the station's side: reading, TLS, HTTP).
    cpu: Duration,
}

/// Runs the benchmark.
pub fn run(setup: &Setup) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(setup.packages > 0, "--packages deve ser maior que zero");
    anyhow::ensure!(setup.stations > 0, "--stations deve ser maior que zero");
    anyhow::ensure!(setup.instances > 0, "--instances deve ser maior que zero");
    let data = setup.data;
    // Every station signs with the one demo token (the first kiosk's): SoftHSM's
    // configuration is per process.
    let token_dir = card::demo_token_dir(&data.join("kiosk-01"));
    super::demo::with_softhsm_conf(&token_dir.join("softhsm2.conf"))?;
    let central_data = data.join("central");
    let codes: Vec<String> = (1..=setup.stations)
        .map(|k| format!("ECV-BENCH-{k:02}"))
        .collect();
    let tokens = codes
        .iter()
        .map(|code| embedded_central::station_token_in(&central_data, setup.storage, code))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (central, relay) = start_central(setup, &token_dir.join("roots"))?;
    // What was stored, read from the central's own metadata, whichever backend holds it.
    let (meta, _) = server::open_storage(&central_data, setup.storage)?;
    let mut benches = Vec::new();
    for (k, (code, token)) in codes.iter().zip(tokens).enumerate() {
        let station = simulate::open_station(
            &data.join(format!("kiosk-{:02}", k + 1)),
            Endpoint {
                url: central.url.clone(),
                token,
                cert_sha256: central.cert_sha256.clone(),
            },
            code,
            &token_dir,
        )?;
        station.sync_clock().map_err(anyhow::Error::msg)?;
        let staff = Staff::log_in(&station)?;
        benches.push(Bench {
            code: code.clone(),
            station,
            staff,
        });
    }
    let registry = simulate::registry()?;
    let mut profiler = Profiler::from_env()?;

    let mut latencies = Vec::new();
    let mut busy = Duration::ZERO;
    let mut process_busy_cpu = Duration::ZERO;
    let mut station_cpu = Duration::ZERO;
    let mut bytes = 0u64;
    let mut photos = 0usize;
    let mut n = 0u64;
    while n < u64::from(setup.packages) {
        // Untimed: one inspection per station up to its signature, which queues the package.
        // Every third of a simulated run is interrupted; the benchmark signs them all.
        let round: Vec<_> = benches
            .iter()
            .take((u64::from(setup.packages) - n) as usize)
            .map(|b| {
                let vehicle = &registry[n as usize % registry.len()];
                let row = simulate::inspect(&b.station, &b.staff, n * 3, vehicle);
                n += 1;
                row.map(|row| (b, row))
            })
            .collect::<anyhow::Result<_>>()?;
        // Timed: the round's deliveries at once, each until its verified receipt.
        profiler.toggle(true);
        let cpu_before = process_cpu();
        let started = Instant::now();
        let results: Vec<anyhow::Result<Delivered>> = std::thread::scope(|scope| {
            let running: Vec<_> = round
                .iter()
                .map(|(b, row)| {
                    scope.spawn(move || {
                        let cpu = thread_cpu();
                        let began = Instant::now();
                        let delivery = b.station.deliver_due().map_err(anyhow::Error::msg)?;
                        let took = began.elapsed();
                        anyhow::ensure!(
                            delivery.delivered.iter().any(|(id, _)| *id == row.id),
                            "pacote de {} não foi entregue: {:?}",
                            b.code,
                            delivery.failures
                        );
                        Ok(Delivered {
                            took,
                            cpu: thread_cpu() - cpu,
                        })
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        busy += started.elapsed();
        process_busy_cpu += process_cpu() - cpu_before;
        profiler.toggle(false);
        for ((b, row), result) in round.iter().zip(results) {
            let delivered = result?;
            let key = PackageKey::new(&b.code, row.id.as_uuid());
            let stored = meta
                .package(&key)?
                .ok_or_else(|| anyhow::anyhow!("o central não guardou o pacote de {}", b.code))?;
            for file in &stored.files {
                bytes += file.size;
                photos += usize::from(file.kind == MediaKind::Photo);
            }
            latencies.push(delivered.took);
            station_cpu += delivered.cpu;
        }
    }
    let mut pacing = (Duration::ZERO, 0u64, Duration::ZERO);
    for b in &benches {
        let p = b.station.pacing();
        pacing.0 += p.paced;
        pacing.1 += p.throttled;
        pacing.2 += p.throttled_wait;
        b.station.shutdown();
    }
    latencies.sort();
    let packages = f64::from(setup.packages);
    let mb = bytes as f64 / 1e6;
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let ms = |d: Duration| round2(d.as_secs_f64() * 1e3);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let backend = match (&setup.storage.database, &setup.storage.blobs) {
        (None, None) => "sqlite+files",
        (Some(_), None) => "postgres+files",
        (None, Some(_)) => "sqlite+s3",
        (Some(_), Some(_)) => "postgres+s3",
    };
    // The rest of this process's CPU while deliveries ran: the central's instances (and the
    // relay's copying when there is one; PostgreSQL and the S3 gateway are other processes).
    let central_cpu = process_busy_cpu.saturating_sub(station_cpu);
    println!(
        "{}",
        json!({
            "bench": "central_throughput",
            "backend": backend,
            "instances": setup.instances,
            "stations": setup.stations,
            "relay": relay.is_some(),
            "packages": setup.packages,
            "photos_per_package": (photos as f64 / packages * 10.0).round() / 10.0,
            "package_mb": round2(mb / packages),
            "packages_per_s": round2(packages / busy.as_secs_f64()),
            "mb_per_s": (mb / busy.as_secs_f64() * 10.0).round() / 10.0,
            "station_cpu_s": round2(station_cpu.as_secs_f64()),
            "central_cpu_s": round2(central_cpu.as_secs_f64()),
            "central_mb_per_cpu_s": (mb / central_cpu.as_secs_f64() * 10.0).round() / 10.0,
            "relay_connections": relay.as_ref().map(|r| r.connections()),
            "limiter_paced_s": round2(pacing.0.as_secs_f64()),
            "limiter_throttled": pacing.1,
            "limiter_throttled_wait_s": pacing.2.as_secs(),
        })
    );
    println!(
        "{}",
        json!({
            "bench": "queued_to_receipt",
            "backend": backend,
            "instances": setup.instances,
            "stations": setup.stations,
            "p50_ms": ms(pct(0.5)),
            "p95_ms": ms(pct(0.95)),
            "max_ms": ms(*latencies.last().unwrap_or(&Duration::ZERO)),
        })
    );
    Ok(ExitCode::SUCCESS)
}
